/* conformance_main.c — the one list of conformance tests, and the runner.
 *
 * Every test of tests/conformance/conf_*.c is listed here exactly once, in
 * the order of the rules of docs/MODEL.md. conf_run_all() runs them
 * against a fixture: each test gets a fresh backend from f->setup and loses it in
 * f->teardown, after the suite has released what the test's helpers handed
 * out.
 *
 * Environment: CONF_FILTER=<glob> runs only matching tests (for example
 * CONF_FILTER='test_js6_*'), CONF_SKIP=<glob> leaves matching tests out.
 */
#include "conformance.h"

#include <stdlib.h>

#define CONF_TESTS(X)                                                        \
    /* conf_stream.c */                                                      \
    X(test_js1_3_full_wildcard_does_not_match_its_prefix)                    \
    X(test_js1_3_gt_not_last_is_invalid_subject)                             \
    X(test_js1_2_partial_wildcard_token_is_literal)                          \
    X(test_js1_1_subjects_are_case_sensitive)                                \
    X(test_js1_5_different_token_counts_do_not_collide)                      \
    X(test_js2_1_stream_defaults_applied)                                    \
    X(test_js2_1_duplicates_default_to_shorter_max_age)                      \
    X(test_js2_1_stream_info_reports_state)                                  \
    X(test_js2_2_name_with_wildcard_rejected)                                \
    X(test_js2_2_name_too_long_rejected)                                     \
    X(test_js2_2_name_with_path_separator_10128)                             \
    X(test_js2_2_duplicate_subjects_rejected)                                \
    X(test_js2_2_colliding_subjects_in_one_stream_rejected)                  \
    X(test_js2_2_subject_in_jetstream_api_rejected)                          \
    X(test_js2_2_subject_overlapping_other_stream_10065)                     \
    X(test_js2_2_max_age_below_100ms_rejected)                               \
    X(test_js2_2_duplicates_larger_than_max_age_rejected)                    \
    X(test_js2_2_duplicates_below_100ms_rejected)                            \
    X(test_js2_2_rollup_requires_purge_permission)                           \
    X(test_js2_2_discard_new_per_subject_requirements)                       \
    X(test_js2_2_replicas_need_a_cluster_10074)                              \
    X(test_js2_2_sealed_on_create_rejected)                                  \
    X(test_js2_3_identical_create_is_idempotent)                             \
    X(test_js2_3_different_config_is_name_in_use_10058)                      \
    X(test_js2_3_description_is_part_of_the_config_10058)                    \
    X(test_js2_4_update_lowers_limits_immediately)                           \
    X(test_js2_4_update_cannot_change_storage)                               \
    X(test_js2_4_update_cannot_change_retention)                             \
    X(test_js2_4_update_cannot_change_max_consumers)                         \
    X(test_js2_4_update_cannot_clear_deny_delete)                            \
    X(test_js2_4_update_cannot_clear_deny_purge)                             \
    X(test_js2_4_update_cannot_unseal)                                       \
    X(test_js2_4_update_missing_stream_10059)                                \
    X(test_js2_4_update_overlap_excludes_itself)                             \
    X(test_js2_5_delete_removes_stream_and_consumers)                        \
    X(test_js2_5_delete_missing_stream_10059)                                \
    X(test_js2_5_recreated_stream_starts_at_seq_1)                           \
    X(test_js2_6_seal_forces_settings_and_rejects_publish)                   \
    X(test_js2_6_sealed_rejects_delete_and_purge)                            \
    X(test_js2_6_deny_delete_10057)                                          \
    X(test_js2_6_deny_purge_10110)                                           \
    /* conf_publish.c */                                                     \
    X(test_js3_2_puback_names_stream_and_sequence)                           \
    X(test_js3_2_async_publish_reports_each_puback)                          \
    X(test_js3_1_published_message_is_stored)                                \
    X(test_js3_3_no_stream_is_no_responders)                                 \
    X(test_js3_4_sealed_checked_before_expected_stream)                      \
    X(test_js3_4_expected_stream_mismatch_10060)                             \
    X(test_js3_4_expected_stream_checked_before_dedup)                       \
    X(test_js3_4_duplicate_wins_over_wrong_expectations)                     \
    X(test_js3_4_subject_seq_checked_before_last_seq)                        \
    X(test_js3_4_last_seq_checked_before_last_msg_id)                        \
    X(test_js3_4_expectations_checked_before_max_msg_size)                   \
    X(test_js3_4_max_msg_size_counts_headers_10054)                          \
    X(test_js3_4_header_over_64k_10097)                                      \
    X(test_js3_4_failed_checks_consume_no_sequence)                          \
    X(test_js3_4_failed_expectation_does_not_record_msg_id)                  \
    X(test_js3_5_expected_last_seq_uses_last_assigned)                       \
    X(test_js3_5_expected_subject_seq_zero_means_none)                       \
    X(test_js3_5_expected_subject_seq_ignores_other_subjects)                \
    X(test_js3_5_expected_last_msg_id_10070)                                 \
    X(test_js3_5_message_without_id_resets_last_msg_id)                      \
    X(test_js3_6_duplicate_returns_original_seq)                             \
    X(test_js3_6_dedup_ignores_subject)                                      \
    X(test_js3_6_dedup_entry_expires_after_window)                           \
    X(test_js3_6_dedup_survives_delete_and_purge)                            \
    X(test_js3_6_workqueue_reenqueue_after_ack_is_duplicate)                 \
    X(test_js3_6_interest_without_consumer_duplicate_has_seq_0)              \
    X(test_js3_12_no_ack_stream_stores_without_puback)                       \
    /* conf_limits.c */                                                      \
    X(test_js3_7_max_msgs_discard_old_drops_oldest)                          \
    X(test_js3_7_max_bytes_discard_old_drops_oldest)                         \
    X(test_js3_7_max_msgs_per_subject_drops_oldest_of_subject)               \
    X(test_js3_8_max_msgs_discard_new_rejects_10077)                         \
    X(test_js3_8_max_bytes_discard_new_rejects_10077)                        \
    X(test_js3_8_max_bytes_discard_new_uses_greater_or_equal)                \
    X(test_js3_8_per_subject_limit_replaces_without_discard_new_per_subject) \
    X(test_js3_8_discard_new_per_subject_rejects_10077)                      \
    X(test_js3_9_memory_bytes_formula)                                       \
    X(test_js3_9_file_bytes_formula)                                         \
    X(test_js3_10_max_age_removes_expired_messages)                          \
    X(test_js3_11_purge_keeps_last_seq)                                      \
    X(test_js3_11_deleted_stream_reports_first_last_plus_one)                \
    X(test_js4_7_limits_apply_to_workqueue_streams)                          \
    /* conf_retention.c */                                                   \
    X(test_js4_1_limits_ack_keeps_message)                                   \
    X(test_js4_2_workqueue_ack_removes_message)                              \
    X(test_js4_2_workqueue_term_removes_message)                             \
    X(test_js4_2_workqueue_nak_and_wpi_keep_message)                         \
    X(test_js4_2_workqueue_ack_wait_expiry_keeps_message)                    \
    X(test_js4_2_workqueue_max_deliver_keeps_message)                        \
    X(test_js4_4_stale_ack_removes_redelivered_message)                      \
    X(test_js4_5_interest_removed_after_all_consumers_ack)                   \
    X(test_js4_5_interest_consumer_delete_removes_unneeded)                  \
    X(test_js4_5_interest_filtered_consumer_needs_only_matches)              \
    X(test_js4_5_interest_ack_none_removes_on_delivery)                      \
    X(test_js4_6_interest_without_consumer_skips_sequence)                   \
    X(test_js4_6_interest_non_matching_filter_skips_sequence)                \
    X(test_js4_8_eviction_of_pending_message_acts_as_term)                   \
    X(test_js4_8_delete_of_pending_message_acts_as_term)                     \
    /* conf_consumer.c */                                                    \
    X(test_js4_3_workqueue_ack_none_10084)                                   \
    X(test_js4_3_workqueue_ack_all_10098)                                    \
    X(test_js4_3_workqueue_second_unfiltered_10099)                          \
    X(test_js4_3_workqueue_overlapping_filters_10100)                        \
    X(test_js5_2_refused_create_is_refused_every_time)                      \
    X(test_js4_3_workqueue_colliding_filters_both_deliver)                   \
    X(test_js4_3_workqueue_requires_deliver_all_10101)                       \
    X(test_js4_3_workqueue_checks_in_order)                                  \
    X(test_js4_3_workqueue_recreate_same_durable_allowed)                    \
    X(test_js5_1_consumer_defaults)                                          \
    X(test_js5_1_ack_policy_dependent_defaults)                              \
    X(test_js5_1_backoff_overrides_ack_wait)                                 \
    X(test_js5_1_ephemeral_defaults)                                         \
    X(test_js5_2_backoff_requires_max_deliver_10116)                         \
    X(test_js5_2_filter_must_match_stream_subjects_10093)                    \
    X(test_js5_2_deliver_policy_conflicts_10094)                             \
    X(test_js5_2_last_per_subject_requires_filter_10094)                     \
    X(test_js5_2_durable_name_with_path_separator_10127)                     \
    X(test_js5_2_durable_name_too_long_10102)                                \
    X(test_js5_2_max_consumers_reached_10026)                                \
    X(test_js5_2_missing_stream_10059)                                       \
    X(test_js5_5_bind_missing_consumer_not_found)                            \
    X(test_js5_3_update_cannot_change_deliver_policy_10012)                  \
    X(test_js5_3_update_cannot_change_ack_policy_10012)                      \
    X(test_js5_3_update_cannot_change_max_waiting_10012)                     \
    X(test_js5_3_update_ack_wait_reschedules_redelivery)                     \
    X(test_js5_3_update_reverts_omitted_fields_to_defaults)                  \
    X(test_js5_3_update_max_ack_pending_resumes_delivery)                    \
    X(test_js5_3_update_of_literal_filter_replaces_or_is_rejected)           \
    X(test_js5_4_idle_ephemeral_deleted_durable_kept)                        \
    X(test_js5_5_deleted_consumer_not_found_10014)                           \
    X(test_js5_5_ack_after_consumer_delete_no_responders)                    \
    X(test_js5_5_fetch_after_consumer_delete_times_out)                      \
    /* conf_policy.c */                                                      \
    X(test_js6_2_deliver_all_starts_at_first)                                \
    X(test_js6_2_deliver_last_starts_at_last)                                \
    X(test_js6_2_deliver_last_with_filter_uses_last_match)                   \
    X(test_js6_2_deliver_new_skips_existing)                                 \
    X(test_js6_2_by_start_seq_starts_there)                                  \
    X(test_js6_2_by_start_seq_beyond_last_is_clamped)                        \
    X(test_js6_2_by_start_seq_below_first_is_clamped)                        \
    X(test_js6_2_by_start_time_starts_at_first_newer)                        \
    X(test_js6_2_by_start_time_early_in_the_second)                          \
    X(test_js6_2_last_per_subject_then_new)                                  \
    /* conf_delivery.c */                                                    \
    X(test_js6_9_first_delivery_metadata)                                    \
    X(test_js6_10_reply_is_v1_ack_subject)                                   \
    X(test_js6_9_consumer_seq_counts_redeliveries)                           \
    X(test_js6_10_metadata_pending_excludes_redeliveries)                    \
    X(test_js6_4_nak_redelivered_before_new_messages)                        \
    X(test_js6_4_naks_redelivered_in_fifo_order)                             \
    X(test_js6_4_expiries_redelivered_in_expiry_order)                       \
    X(test_js6_5_redelivery_after_ack_wait)                                  \
    X(test_js6_5_expired_message_stays_pending_until_redelivered)            \
    X(test_js6_5_redelivery_resets_the_wait)                                 \
    X(test_js6_6_backoff_timeline)                                           \
    X(test_js6_7_max_deliver_exhaustion_is_lazy)                             \
    X(test_js6_7_max_delivered_message_not_redelivered)                      \
    X(test_js6_8_max_ack_pending_stalls_without_error)                       \
    X(test_js6_3_redeliveries_ignore_max_ack_pending)                        \
    X(test_js6_12_headers_only_sends_size_header)                            \
    X(test_js12_1_filtered_first_deliveries_in_seq_order)                    \
    X(test_js12_3_competing_pullers_get_disjoint_messages)                   \
    /* conf_ack.c */                                                         \
    X(test_js7_3_ack_floor_moves_over_contiguous_acks)                       \
    X(test_js7_3_floor_jumps_when_pending_empties)                           \
    X(test_js7_9_double_ack_is_harmless)                                     \
    X(test_js7_9_late_ack_of_superseded_delivery_acks_current)               \
    X(test_js7_4_ack_all_acks_everything_below)                              \
    X(test_js7_4_ack_all_below_floor_ignored)                                \
    X(test_js7_5_ack_none_floor_moves_on_delivery)                           \
    X(test_js7_6_nak_delay_shorter_than_ack_wait)                            \
    X(test_js7_6_nak_delay_longer_than_ack_wait)                             \
    X(test_js7_6_nak_delay_with_backoff)                                     \
    X(test_js7_6_nak_of_acked_delivery_ignored)                              \
    X(test_js7_7_in_progress_restarts_ack_wait)                              \
    X(test_js7_7_in_progress_repeats_then_ack_counts)                        \
    X(test_js7_8_term_stops_redelivery)                                      \
    X(test_js14_2_ack_after_nak_on_same_message_is_noop)                     \
    X(test_js14_2_nak_after_ack_on_same_message_is_noop)                     \
    /* conf_apull.c */                                                       \
    X(test_js8_3_waiting_pull_is_served_by_later_publishes)                  \
    X(test_js8_4_expiry_408_carries_pending_messages_and_bytes)              \
    X(test_js8_2_pull_beyond_max_waiting_409)                                \
    X(test_js5_5_consumer_deleted_while_a_pull_waits_409)                    \
    X(test_js2_5_stream_deleted_while_a_pull_waits_409)                      \
    X(test_js8_2_no_wait_pull_on_empty_consumer_404)                         \
    X(test_js8_4_no_wait_one_shot_ends_408_after_what_is_there)              \
    X(test_js8_3_waiting_pulls_take_turns)                                   \
    X(test_js8_3_waiting_pull_receives_an_ack_wait_redelivery)               \
    X(test_js8_2_no_wait_behind_larger_waiting_requests_408_requests_pending) \
    X(test_js8_4_one_shot_waits_while_max_ack_pending_stalls)                \
    X(test_js8_4_freed_pull_is_dropped_from_the_queue)                       \
    /* conf_ack_send.c */                                                    \
    X(test_js7_9_second_ack_is_answered_and_changes_nothing)                 \
    X(test_js7_6_nak_sent_after_ack_is_ignored)                              \
    X(test_js7_8_term_sent_after_ack_still_advises)                          \
    X(test_js7_3_ack_sent_after_nak_cancels_the_redelivery)                  \
    X(test_js7_9_ack_of_a_stale_delivery_acks_the_message)                   \
    X(test_js7_6_nak_of_a_stale_delivery_above_the_floor_redelivers)         \
    X(test_js7_4_ack_all_repeated_acks_below_the_floor_are_ignored)          \
    X(test_js7_7_in_progress_after_ack_does_nothing)                         \
    /* conf_pull.c */                                                        \
    X(test_js8_2_batch_above_max_request_batch_rejected)                     \
    X(test_js8_2_expires_above_max_request_expires_rejected)                 \
    X(test_js8_2_max_bytes_above_max_request_max_bytes_rejected)             \
    X(test_js8_2_admission_checks_batch_first)                               \
    X(test_js8_2_no_wait_with_nothing_is_no_messages)                        \
    X(test_js8_2_no_wait_counts_redeliveries_as_available)                   \
    X(test_js8_2_no_wait_returns_what_is_available)                          \
    X(test_js8_4_no_wait_with_expires_and_nothing_times_out)                 \
    X(test_js8_3_batch_caps_the_count)                                       \
    X(test_js8_3_message_with_a_status_header_is_delivered)                  \
    X(test_js8_3_first_message_over_max_bytes_409)                           \
    X(test_js8_3_max_bytes_limits_the_batch)                                 \
    X(test_js8_4_expiry_times_out_or_returns_partial_batch)                  \
    X(test_js8_5_num_waiting_excludes_completed_requests)                    \
    X(test_js2_5_fetch_after_stream_delete_times_out)                        \
    /* conf_info.c */                                                        \
    X(test_js9_fresh_consumer_counters)                                      \
    X(test_js9_delivered_counts_every_delivery)                              \
    X(test_js9_num_pending_recomputed_from_store)                            \
    X(test_js9_num_pending_respects_filter)                                  \
    X(test_js9_num_redelivered_counts_distinct_messages)                     \
    X(test_js9_num_ack_pending_tracks_unacked)                               \
    X(test_js9_info_of_deleted_consumer_not_found)                           \
    /* conf_data.c */                                                        \
    X(test_js10_1_get_by_sequence)                                           \
    X(test_js10_1_get_last_by_subject)                                       \
    X(test_js10_1_get_missing_message_10037)                                 \
    X(test_js10_1_get_on_missing_stream_10059)                               \
    X(test_js10_2_delete_missing_seq_memory_10043)                           \
    X(test_js10_2_delete_missing_seq_file_10057)                             \
    X(test_js10_2_delete_first_and_interior)                                 \
    X(test_js10_3_purge_by_subject)                                          \
    X(test_js10_3_purge_below_sequence)                                      \
    X(test_js10_3_purge_keep_newest)                                         \
    X(test_js10_3_purge_seq_and_keep_invalid)                                \
    X(test_js10_3_purge_resets_consumer_state)                               \
    X(test_js10_3_purge_keep_consumer_example)                               \
    X(test_js10_3_purge_strands_kept_pending_message)                        \
    /* conf_advisory.c */                                                    \
    X(test_js11_stream_lifecycle_advisories)                                 \
    X(test_js11_consumer_lifecycle_advisories)                               \
    X(test_js11_max_deliveries_advisory_fields)                              \
    X(test_js11_msg_naked_advisory_fields)                                   \
    X(test_js11_msg_terminated_advisory_on_term)                             \
    X(test_js4_8_eviction_of_pending_emits_terminated)                       \
    X(test_js4_8_max_age_removal_of_pending_emits_terminated)                \
    X(test_js4_8_terminated_only_for_consumers_holding_it)                   \
    /* conf_restart.c */                                                     \
    X(test_js13_1_memory_stream_lost_file_stream_kept)                       \
    X(test_js13_1_graceful_restart_keeps_file_stream)                        \
    X(test_js13_1_graceful_restart_keeps_consumer_state)                     \
    X(test_js13_1_plain_nak_lost_on_restart)                                 \
    X(test_js13_1_dedup_and_last_msg_id_rebuilt)                             \
    X(test_js13_1_last_msg_id_outside_window_not_rebuilt)                    \
    X(test_js13_1_dedup_of_removed_message_lost_on_restart)                  \
    X(test_js13_1_memory_storage_consumer_lost)                              \
    X(test_js13_1_graceful_restart_keeps_workqueue_removals)                 \
    X(test_js13_1_crash_keeps_acknowledged_publishes)                        \
    X(test_js13_1_crash_rolls_consumer_state_back_only)                      \
    X(test_js13_1_power_loss_keeps_config_and_consistent_sequences)         \
    /* conf_difftest.c: found by the differential tester */                \
    X(test_dt_new_stream_first_seq_is_0_until_a_store_or_purge)             \
    X(test_dt_purge_seq_1_purges_everything)                                \
    X(test_dt_purge_seq_past_the_end_moves_the_next_publish)                \
    X(test_dt_purge_keep_without_filter_counts_sequences)                   \
    X(test_dt_purge_seq_on_a_gap_fails_on_memory_storage_10051)             \
    X(test_dt_keep_purge_leaves_filtered_consumers_alone)                   \
    X(test_dt_filtered_purge_of_nothing_moves_unfiltered_consumers_past_the_end) \
    X(test_dt_ack_none_on_workqueue_is_checked_first_10084)                 \
    X(test_dt_delete_below_first_seq_on_file_storage_10057)                 \
    X(test_dt_deliver_last_with_unmatched_filter_starts_at_first_seq)       \
    X(test_dt_last_per_subject_with_no_subject_starts_at_last_seq)          \
    X(test_dt_purge_moves_the_reported_ack_floor_before_any_ack)            \
    X(test_dt_last_per_subject_num_pending_counts_subjects)                 \
    X(test_dt_ack_metadata_pending_stays_stale_after_an_eviction)           \
    X(test_dt_interest_consumer_delete_rechecks_from_the_reported_floor)    \
    X(test_dt_per_subject_limit_evicts_before_max_msgs)                     \
    X(test_dt_update_from_unlimited_per_subject_trims_nothing)              \
    X(test_dt_discard_new_accepts_a_subject_at_its_limit)                   \
    X(test_dt_filter_update_to_a_wildcard_delivers_nothing)                 \
    X(test_dt_ack_all_consumer_holds_older_messages_until_it_acks)          \
    X(test_dt_memory_compact_keeps_purged_subjects_counted)                 \
    X(test_dt_memory_compact_stalls_the_per_subject_limit)                  \
    X(test_dt_expected_last_seq_counts_stores_after_a_purge_past_the_end)   \
    X(test_dt_by_start_time_consumer_cannot_be_updated)                     \
    X(test_dt_max_bytes_409_turns_a_redelivery_into_a_new_delivery)         \
    X(test_dt_skipped_publish_msg_id_goes_at_the_next_dedup_purge)          \
    X(test_dt_headers_only_delivery_is_sized_without_its_payload)           \
    X(test_dt_ack_floor_walks_by_the_first_delivery_sequence)               \
    X(test_dt_filter_covering_the_stream_is_rechecked_after_a_stream_update) \
    X(test_dt_max_bytes_equal_to_the_delivery_delivers_it)                  \
    X(test_dt_waiting_pull_is_not_woken_by_another_subject)                 \
    X(test_dt_removed_pending_message_wakes_a_stalled_pull)                 \
    X(test_dt_old_handle_reaches_a_consumer_recreated_under_its_name)      \
    X(test_dt_file_store_get_last_stays_on_a_removed_message)              \
    X(test_dt_another_requests_expiry_ends_a_stalled_one_shot)           \
    X(test_dt_a_fetch_of_what_is_there_ends_a_stalled_one_shot)          \
    X(test_dt_nak_with_nothing_pending_queues_a_redelivery)              \
    X(test_dt_no_wait_pull_asks_the_cached_pending_count)                \
    X(test_dt_a_fetch_waits_behind_an_older_pull)

#define CONF_DECLARE(name) void name(void **state);
CONF_TESTS(CONF_DECLARE)
#undef CONF_DECLARE

static conf_fixture *g_fixture;

static int conf_setup(void **state)
{
    conf_track_begin();
    ps_error_clear();
    ps_status s = g_fixture->setup(g_fixture);
    if (s != PS_OK) {
        print_error("fixture %s: setup failed: %s: %s\n", g_fixture->name, ps_status_name(s),
                    ps_last_error());
        return -1;
    }
    *state = g_fixture;
    return 0;
}

static int conf_teardown(void **state)
{
    (void)state;
    conf_track_end(g_fixture);
    ps_status s = g_fixture->check ? g_fixture->check(g_fixture) : PS_OK;
    if (s != PS_OK)
        print_error("fixture %s: consistency check failed after the test: %s: %s\n", g_fixture->name,
                    ps_status_name(s), ps_last_error());
    g_fixture->teardown(g_fixture);
    return s == PS_OK ? 0 : -1;
}

int conf_run_all(conf_fixture *f)
{
#define CONF_ENTRY(name) cmocka_unit_test_setup_teardown(name, conf_setup, conf_teardown),
    const struct CMUnitTest tests[] = {CONF_TESTS(CONF_ENTRY)};
#undef CONF_ENTRY
    g_fixture = f;
    const char *only = getenv("CONF_FILTER");
    const char *leave_out = getenv("CONF_SKIP");
    if (only && *only)
        cmocka_set_test_filter(only);
    if (leave_out && *leave_out)
        cmocka_set_skip_filter(leave_out);
    print_message("conformance suite: %zu tests on backend \"%s\" (%s clock, restarts %s)\n",
                  sizeof tests / sizeof tests[0], f->name, f->real_time ? "real" : "manual",
                  f->restart ? "available" : "not available");
    return cmocka_run_group_tests_name(f->name, tests, NULL, NULL);
}
