/* conf_stream.c — streams: subjects, defaults, validation, create, update,
 * delete, sealed and deny flags (docs/MODEL.md, JS 1 and 2).
 *
 * Not here: what happens to the messages of a stream (conf_limits.c,
 * conf_data.c) or to its consumers (conf_consumer.c).
 */
#include "conformance.h"

#include <string.h>

static void add_fails(conf_fixture *f, const ps_stream_config *c, ps_status want, int code,
                      const char *text)
{
    ps_stream_info si = {0};
    ps_status s = ps_stream_add(f->b, c, &si);
    if (s == PS_OK)
        ps_stream_info_clear(&si);
    conf_expect_error(s, want, code, text);
}

static void update_fails(conf_fixture *f, const ps_stream_config *c, ps_status want, int code,
                         const char *text)
{
    ps_stream_info si = {0};
    ps_status s = ps_stream_update(f->b, c, &si);
    if (s == PS_OK)
        ps_stream_info_clear(&si);
    conf_expect_error(s, want, code, text);
}

/* ---- §1 subjects ------------------------------------------------------------ */

/* JS 1.3: ">" needs at least one token after the prefix. */
CONF_TEST(test_js1_3_full_wildcard_does_not_match_its_prefix)
{
    conf_stream(f, "FW", "fw.>", PS_RETENTION_LIMITS);
    conf_expect_error(ps_publish_data(f->b, "fw", "x", 1, NULL, NULL), PS_ERR_NO_RESPONDERS, 0,
                      NULL);
    conf_pub(f, "fw.a.b.c", "x");
    assert_int_equal(conf_state(f, "FW").msgs, 1);
}

/* JS 1.3: ">" in the middle makes the subject invalid: 10052. */
CONF_TEST(test_js1_3_gt_not_last_is_invalid_subject)
{
    ps_stream_config c = {.name = "IV", CONF_SUBJ("foo.>.bar")};
    add_fails(f, &c, PS_ERR_STREAM_CONFIG, 10052, "invalid subject");
    ps_stream_config d = {.name = "IV", CONF_SUBJ("a..b")};
    add_fails(f, &d, PS_ERR_STREAM_CONFIG, 10052, "invalid subject");
}

/* JS 1.2: "a*" is a literal token, not a wildcard. */
CONF_TEST(test_js1_2_partial_wildcard_token_is_literal)
{
    conf_stream(f, "PW", "pw.a*", PS_RETENTION_LIMITS);
    conf_expect_error(ps_publish_data(f->b, "pw.ab", "x", 1, NULL, NULL), PS_ERR_NO_RESPONDERS,
                      0, NULL);
    conf_pub(f, "pw.a*", "x");
}

/* JS 1.1: subjects are case-sensitive. */
CONF_TEST(test_js1_1_subjects_are_case_sensitive)
{
    conf_stream(f, "CS", "Case.A", PS_RETENTION_LIMITS);
    conf_expect_error(ps_publish_data(f->b, "case.a", "x", 1, NULL, NULL), PS_ERR_NO_RESPONDERS,
                      0, NULL);
    conf_pub(f, "Case.A", "x");
}

/* JS 1.5: "w.*" and "w.a.b" cannot match the same subject; each stream
 * captures its own. */
CONF_TEST(test_js1_5_different_token_counts_do_not_collide)
{
    conf_stream(f, "W1", "w.*", PS_RETENTION_LIMITS);
    conf_stream(f, "W2", "w.a.b", PS_RETENTION_LIMITS);
    ps_pub_ack pa = conf_pub_id(f, "w.a.b", "x", NULL);
    assert_string_equal(pa.stream, "W2");
    pa = conf_pub_id(f, "w.a", "x", NULL);
    assert_string_equal(pa.stream, "W1");
}

/* ---- §2.1 defaults ------------------------------------------------------------ */

/* JS 2.1: zero fields take the server's defaults; no subjects -> [name]. */
CONF_TEST(test_js2_1_stream_defaults_applied)
{
    ps_stream_config c = {.name = "DEF"};
    conf_stream_cfg(f, &c);
    const ps_stream_config *n = &conf_sinfo(f, "DEF")->config;
    assert_int_equal(n->subjects_len, 1);
    assert_string_equal(n->subjects[0], "DEF");
    assert_int_equal(n->retention, PS_RETENTION_LIMITS);
    assert_int_equal(n->storage, PS_STORAGE_FILE);
    assert_int_equal(n->discard, PS_DISCARD_OLD);
    assert_int_equal(n->replicas, 1);
    assert_int_equal(n->max_msgs, -1);
    assert_int_equal(n->max_bytes, -1);
    assert_int_equal(n->max_msg_size, -1);
    assert_int_equal(n->max_consumers, -1);
    assert_int_equal(n->max_msgs_per_subject, -1);
    assert_int_equal(n->max_age_ns, 0);
    assert_int_equal(n->duplicates_ns, 120 * PS_NS_PER_SEC);
    /* The stream captures its own name. */
    assert_int_equal(conf_pub(f, "DEF", "x"), 1);
}

/* JS 2.1: 0 < MaxAge < 2 min makes the dedup window MaxAge. */
CONF_TEST(test_js2_1_duplicates_default_to_shorter_max_age)
{
    ps_stream_config c = {.name = "DMA", CONF_SUBJ("dma"), .max_age_ns = PS_NS_PER_SEC};
    conf_stream_cfg(f, &c);
    assert_int_equal(conf_sinfo(f, "DMA")->config.duplicates_ns, PS_NS_PER_SEC);
}

/* JS 2.1 / 9: the info reports state and counts consumers. */
CONF_TEST(test_js2_1_stream_info_reports_state)
{
    conf_stream(f, "SI", "si.>", PS_RETENTION_LIMITS);
    conf_durable(f, "SI", "C", 0);
    conf_pub(f, "si.a", "one");
    conf_advance_ms(f, 10);
    conf_pub(f, "si.b", "two");
    conf_pub(f, "si.a", "three");
    ps_stream_state st = conf_state(f, "SI");
    assert_int_equal(st.msgs, 3);
    assert_int_equal(st.first_seq, 1);
    assert_int_equal(st.last_seq, 3);
    assert_int_equal(st.num_subjects, 2);
    assert_int_equal(st.num_deleted, 0);
    assert_int_equal(st.consumers, 1);
    assert_true(st.bytes > 0);
    assert_true(st.first_ts_ns > 0);
    assert_true(st.last_ts_ns > st.first_ts_ns);
}

/* ---- §2.2 validation ------------------------------------------------------------ */

/* JS 2.2: '*' or '>' in a stream name -> 10052. ('.' is rejected by cnats
 * before the server sees it, so it is not a portable case.) */
CONF_TEST(test_js2_2_name_with_wildcard_rejected)
{
    ps_stream_config c = {.name = "A*B", CONF_SUBJ("nw.a")};
    add_fails(f, &c, PS_ERR_STREAM_CONFIG, 10052, "can not contain");
    ps_stream_config d = {.name = "A>B", CONF_SUBJ("nw.a")};
    add_fails(f, &d, PS_ERR_STREAM_CONFIG, 10052, "can not contain");
}

/* JS 2.2: a name longer than 255 bytes -> 10052. */
CONF_TEST(test_js2_2_name_too_long_rejected)
{
    char name[300];
    memset(name, 'N', 256);
    name[256] = '\0';
    ps_stream_config c = {.name = name, CONF_SUBJ("nl.a")};
    add_fails(f, &c, PS_ERR_STREAM_CONFIG, 10052, "too long");
}

/* JS 2.2: path separators in a name -> 10128. */
CONF_TEST(test_js2_2_name_with_path_separator_10128)
{
    ps_stream_config c = {.name = "A/B", CONF_SUBJ("ps.a")};
    add_fails(f, &c, PS_ERR_STREAM_CONFIG, 10128, "path separators");
    ps_stream_config d = {.name = "A\\B", CONF_SUBJ("ps.a")};
    add_fails(f, &d, PS_ERR_STREAM_CONFIG, 10128, "path separators");
}

/* JS 2.2: the same subject twice -> 10052. */
CONF_TEST(test_js2_2_duplicate_subjects_rejected)
{
    ps_stream_config c = {.name = "DS", CONF_SUBJ("ds.a", "ds.a")};
    add_fails(f, &c, PS_ERR_STREAM_CONFIG, 10052, "duplicate subjects");
}

/* JS 2.2: two subjects of one stream that collide -> 10052. */
CONF_TEST(test_js2_2_colliding_subjects_in_one_stream_rejected)
{
    ps_stream_config c = {.name = "OV", CONF_SUBJ("c.>", "c.x")};
    add_fails(f, &c, PS_ERR_STREAM_CONFIG, 10052, "overlaps with");
}

/* JS 2.2: subjects inside $JS.API.> -> 10052. */
CONF_TEST(test_js2_2_subject_in_jetstream_api_rejected)
{
    ps_stream_config c = {.name = "API", CONF_SUBJ("$JS.API.X")};
    add_fails(f, &c, PS_ERR_STREAM_CONFIG, 10052, "jetstream api");
}

/* JS 2.2 / 1.5: a subject colliding with another stream's -> 10065. */
CONF_TEST(test_js2_2_subject_overlapping_other_stream_10065)
{
    conf_stream(f, "B1", "b.*", PS_RETENTION_LIMITS);
    ps_stream_config c = {.name = "B2", CONF_SUBJ("b.x")};
    add_fails(f, &c, PS_ERR_STREAM_SUBJECT_OVERLAP, 10065, "overlap with an existing stream");
    ps_stream_config d = {.name = "B3", CONF_SUBJ("b.>")};
    add_fails(f, &d, PS_ERR_STREAM_SUBJECT_OVERLAP, 10065, NULL);
    ps_stream_config e = {.name = "B4", CONF_SUBJ("*.x")};
    add_fails(f, &e, PS_ERR_STREAM_SUBJECT_OVERLAP, 10065, NULL);
}

/* JS 2.2: 0 < MaxAge < 100ms -> 10052. */
CONF_TEST(test_js2_2_max_age_below_100ms_rejected)
{
    ps_stream_config c = {.name = "MA", CONF_SUBJ("ma"), .max_age_ns = 50 * CONF_MS};
    add_fails(f, &c, PS_ERR_STREAM_CONFIG, 10052, "max age needs to be >= 100ms");
}

/* JS 2.2: Duplicates > MaxAge -> 10052. */
CONF_TEST(test_js2_2_duplicates_larger_than_max_age_rejected)
{
    ps_stream_config c = {.name = "DL", CONF_SUBJ("dl"), .max_age_ns = PS_NS_PER_SEC,
                          .duplicates_ns = 2 * PS_NS_PER_SEC};
    add_fails(f, &c, PS_ERR_STREAM_CONFIG, 10052, "duplicates window can not be larger");
}

/* JS 2.2: 0 < Duplicates < 100ms -> 10052. */
CONF_TEST(test_js2_2_duplicates_below_100ms_rejected)
{
    ps_stream_config c = {.name = "DB", CONF_SUBJ("db"), .duplicates_ns = 10 * CONF_MS};
    add_fails(f, &c, PS_ERR_STREAM_CONFIG, 10052, "duplicates window needs to be >= 100ms");
}

/* JS 2.2: DenyPurge with AllowRollup -> 10052. */
CONF_TEST(test_js2_2_rollup_requires_purge_permission)
{
    ps_stream_config c = {.name = "RP", CONF_SUBJ("rp"), .deny_purge = true, .allow_rollup = true};
    add_fails(f, &c, PS_ERR_STREAM_CONFIG, 10052, "roll-ups require the purge permission");
}

/* JS 2.2: DiscardNewPerSubject needs Discard=New and MaxMsgsPerSubject > 0. */
CONF_TEST(test_js2_2_discard_new_per_subject_requirements)
{
    ps_stream_config c = {.name = "DN", CONF_SUBJ("dn"), .discard_new_per_subject = true,
                          .max_msgs_per_subject = 1};
    add_fails(f, &c, PS_ERR_STREAM_CONFIG, 10052, "discard new per subject requires");
    ps_stream_config d = {.name = "DN", CONF_SUBJ("dn"), .discard_new_per_subject = true,
                          .discard = PS_DISCARD_NEW};
    add_fails(f, &d, PS_ERR_STREAM_CONFIG, 10052, "discard new per subject requires");
}

/* JS 2.2: Replicas > 1 on a single server -> 10074. Assumes the fixture's
 * server is not clustered, as the memory backend and the single
 * nats-server of the JetStream fixture are not. */
CONF_TEST(test_js2_2_replicas_need_a_cluster_10074)
{
    ps_stream_config c = {.name = "R3", CONF_SUBJ("r3"), .replicas = 3};
    add_fails(f, &c, PS_ERR_STREAM_CONFIG, 10074, "replicas > 1 not supported");
}

/* JS 2.2: a stream cannot be created sealed. */
CONF_TEST(test_js2_2_sealed_on_create_rejected)
{
    ps_stream_config c = {.name = "SC", CONF_SUBJ("sc"), .sealed = true};
    add_fails(f, &c, PS_ERR_STREAM_CONFIG, 10052, "can not be sealed");
}

/* ---- §2.3 create ---------------------------------------------------------------- */

/* JS 2.3: re-creating with the identical config returns the existing
 * stream, messages included. */
CONF_TEST(test_js2_3_identical_create_is_idempotent)
{
    ps_stream_config c = {.name = "ID", CONF_SUBJ("id.>"), .max_msgs = 10};
    conf_stream_cfg(f, &c);
    conf_pub_n(f, "id.a", 2);
    int64_t created = conf_sinfo(f, "ID")->created_ns;
    const ps_stream_info *again = conf_stream_cfg(f, &c);
    assert_int_equal(again->state.msgs, 2);
    assert_int_equal(again->created_ns, created);
}

/* JS 2.3: the same name with a different config -> 10058. */
CONF_TEST(test_js2_3_different_config_is_name_in_use_10058)
{
    conf_stream(f, "NU", "nu.>", PS_RETENTION_LIMITS);
    ps_stream_config c = {.name = "NU", CONF_SUBJ("nu.>"), .max_msgs = 5};
    add_fails(f, &c, PS_ERR_STREAM_NAME_IN_USE, 10058, "already in use");
}

/* JS 2.3: the description is part of the config: the same one is
 * idempotent, another one (or none) is 10058; info returns it. This is how
 * a caller tells a stream it created from one someone else made. */
CONF_TEST(test_js2_3_description_is_part_of_the_config_10058)
{
    ps_stream_config c = {.name = "DS", CONF_SUBJ("ds.>"), .description = "jetsim run 1"};
    const ps_stream_info *si = conf_stream_cfg(f, &c);
    assert_non_null(si->config.description);
    assert_string_equal(si->config.description, "jetsim run 1");
    assert_string_equal(conf_stream_cfg(f, &c)->config.description, "jetsim run 1");
    ps_stream_config other = c;
    other.description = "jetsim run 2";
    add_fails(f, &other, PS_ERR_STREAM_NAME_IN_USE, 10058, "already in use");
    other.description = NULL;
    add_fails(f, &other, PS_ERR_STREAM_NAME_IN_USE, 10058, "already in use");
    assert_string_equal(conf_sinfo(f, "DS")->config.description, "jetsim run 1");
}

/* ---- §2.4 update ------------------------------------------------------------------ */

/* JS 2.4: lowering a limit applies at once and may delete messages. */
CONF_TEST(test_js2_4_update_lowers_limits_immediately)
{
    conf_stream(f, "UL", "ul", PS_RETENTION_LIMITS);
    conf_pub_n(f, "ul", 5);
    ps_stream_config c = {.name = "UL", CONF_SUBJ("ul"), .max_msgs = 2};
    assert_int_equal(conf_stream_update(f, &c)->config.max_msgs, 2);
    ps_stream_state st = conf_state(f, "UL");
    assert_int_equal(st.msgs, 2);
    assert_int_equal(st.first_seq, 4);
    assert_int_equal(st.last_seq, 5);
}

/* JS 2.4: the storage type cannot change. */
CONF_TEST(test_js2_4_update_cannot_change_storage)
{
    conf_stream(f, "US", "us", PS_RETENTION_LIMITS);
    ps_stream_config c = {.name = "US", CONF_SUBJ("us"), .storage = PS_STORAGE_MEMORY};
    update_fails(f, &c, PS_ERR_STREAM_CONFIG, 10052, "can not change storage type");
}

/* JS 2.4: the retention policy cannot change. */
CONF_TEST(test_js2_4_update_cannot_change_retention)
{
    conf_stream(f, "UR", "ur", PS_RETENTION_LIMITS);
    ps_stream_config c = {.name = "UR", CONF_SUBJ("ur"), .retention = PS_RETENTION_WORKQUEUE};
    update_fails(f, &c, PS_ERR_STREAM_CONFIG, 10052, "can not change retention policy");
}

/* JS 2.4: MaxConsumers cannot change. */
CONF_TEST(test_js2_4_update_cannot_change_max_consumers)
{
    conf_stream(f, "UM", "um", PS_RETENTION_LIMITS);
    ps_stream_config c = {.name = "UM", CONF_SUBJ("um"), .max_consumers = 3};
    update_fails(f, &c, PS_ERR_STREAM_CONFIG, 10052, NULL);
}

/* JS 2.4: DenyDelete cannot be cleared. */
CONF_TEST(test_js2_4_update_cannot_clear_deny_delete)
{
    ps_stream_config c = {.name = "UD", CONF_SUBJ("ud"), .deny_delete = true};
    conf_stream_cfg(f, &c);
    c.deny_delete = false;
    update_fails(f, &c, PS_ERR_STREAM_CONFIG, 10052, NULL);
}

/* JS 2.4: DenyPurge cannot be cleared. */
CONF_TEST(test_js2_4_update_cannot_clear_deny_purge)
{
    ps_stream_config c = {.name = "UP", CONF_SUBJ("up"), .deny_purge = true};
    conf_stream_cfg(f, &c);
    c.deny_purge = false;
    update_fails(f, &c, PS_ERR_STREAM_CONFIG, 10052, NULL);
}

/* JS 2.4: a sealed stream cannot be unsealed. */
CONF_TEST(test_js2_4_update_cannot_unseal)
{
    ps_stream_config c = {.name = "UU", CONF_SUBJ("uu")};
    conf_stream_cfg(f, &c);
    c.sealed = true;
    conf_stream_update(f, &c);
    c.sealed = false;
    update_fails(f, &c, PS_ERR_STREAM_CONFIG, 10052, NULL);
}

/* JS 2.4: updating a missing stream -> 10059. */
CONF_TEST(test_js2_4_update_missing_stream_10059)
{
    ps_stream_config c = {.name = "NOPE", CONF_SUBJ("nope")};
    update_fails(f, &c, PS_ERR_STREAM_NOT_FOUND, 10059, NULL);
}

/* JS 2.4: the overlap check on update ignores the stream itself, not the
 * others. */
CONF_TEST(test_js2_4_update_overlap_excludes_itself)
{
    conf_stream(f, "U1", "u.a", PS_RETENTION_LIMITS);
    conf_stream(f, "V1", "v.>", PS_RETENTION_LIMITS);
    ps_stream_config c = {.name = "U1", CONF_SUBJ("u.>")};
    conf_stream_update(f, &c);
    conf_pub(f, "u.b", "x");
    ps_stream_config d = {.name = "U1", CONF_SUBJ("u.>", "v.x")};
    update_fails(f, &d, PS_ERR_STREAM_SUBJECT_OVERLAP, 10065, NULL);
}

/* ---- §2.5 delete ---------------------------------------------------------------------- */

/* JS 2.5: delete removes the stream, its messages and its consumers. */
CONF_TEST(test_js2_5_delete_removes_stream_and_consumers)
{
    conf_stream(f, "DEL", "del.>", PS_RETENTION_LIMITS);
    conf_durable(f, "DEL", "C", 0);
    conf_pub_n(f, "del.a", 3);
    conf_ok(ps_stream_delete(f->b, "DEL"));
    ps_stream_info si = {0};
    conf_expect_error(ps_stream_info_get(f->b, "DEL", &si), PS_ERR_STREAM_NOT_FOUND, 10059, NULL);
    ps_consumer *c = NULL;
    conf_expect_error(ps_consumer_bind(f->b, "DEL", "C", &c), PS_ERR_STREAM_NOT_FOUND, 10059,
                      NULL);
    conf_expect_error(ps_publish_data(f->b, "del.a", "x", 1, NULL, NULL), PS_ERR_NO_RESPONDERS, 0,
                      NULL);
}

/* JS 2.5: deleting a missing stream -> 10059. */
CONF_TEST(test_js2_5_delete_missing_stream_10059)
{
    conf_expect_error(ps_stream_delete(f->b, "GHOST"), PS_ERR_STREAM_NOT_FOUND, 10059, NULL);
}

/* JS 2.5 / 3.11: a stream re-created under the same name starts over. */
CONF_TEST(test_js2_5_recreated_stream_starts_at_seq_1)
{
    conf_stream(f, "RC", "rc", PS_RETENTION_LIMITS);
    conf_pub_n(f, "rc", 3);
    conf_ok(ps_stream_delete(f->b, "RC"));
    conf_stream(f, "RC", "rc", PS_RETENTION_LIMITS);
    assert_int_equal(conf_pub(f, "rc", "x"), 1);
    assert_int_equal(conf_state(f, "RC").msgs, 1);
}

/* ---- §2.6 sealed, DenyDelete, DenyPurge -------------------------------------------------- */

/* JS 2.6: sealing via update forces MaxAge=0, Discard=New, DenyDelete,
 * DenyPurge and no rollups; publishing then fails with 10109. */
CONF_TEST(test_js2_6_seal_forces_settings_and_rejects_publish)
{
    ps_stream_config c = {.name = "SE", CONF_SUBJ("se"), .max_age_ns = 10 * PS_NS_PER_SEC};
    conf_stream_cfg(f, &c);
    conf_pub(f, "se", "x");
    c.sealed = true;
    const ps_stream_config *n = &conf_stream_update(f, &c)->config;
    assert_true(n->sealed);
    assert_int_equal(n->max_age_ns, 0);
    assert_int_equal(n->discard, PS_DISCARD_NEW);
    assert_true(n->deny_delete);
    assert_true(n->deny_purge);
    assert_false(n->allow_rollup);
    conf_expect_error(ps_publish_data(f->b, "se", "y", 1, NULL, NULL), PS_ERR_STREAM_SEALED,
                      10109, "sealed");
    ps_stream_state st = conf_state(f, "SE");
    assert_int_equal(st.msgs, 1);
    assert_int_equal(st.last_seq, 1);
}

/* JS 2.6: msg-delete and purge on a sealed stream -> 10109. */
CONF_TEST(test_js2_6_sealed_rejects_delete_and_purge)
{
    ps_stream_config c = {.name = "SD", CONF_SUBJ("sd")};
    conf_stream_cfg(f, &c);
    conf_pub_n(f, "sd", 2);
    c.sealed = true;
    conf_stream_update(f, &c);
    conf_expect_error(ps_msg_delete(f->b, "SD", 1, false), PS_ERR_STREAM_SEALED, 10109, NULL);
    conf_expect_error(ps_stream_purge(f->b, "SD", NULL, NULL), PS_ERR_STREAM_SEALED, 10109, NULL);
    assert_int_equal(conf_state(f, "SD").msgs, 2);
}

/* JS 2.6: DenyDelete -> 10057 "message delete not permitted". */
CONF_TEST(test_js2_6_deny_delete_10057)
{
    ps_stream_config c = {.name = "DD", CONF_SUBJ("dd"), .deny_delete = true};
    conf_stream_cfg(f, &c);
    conf_pub(f, "dd", "x");
    conf_expect_error(ps_msg_delete(f->b, "DD", 1, false), PS_ERR_NOT_PERMITTED, 10057,
                      "message delete not permitted");
    assert_int_equal(conf_state(f, "DD").msgs, 1);
}

/* JS 2.6: DenyPurge -> 10110 "stream purge not permitted". */
CONF_TEST(test_js2_6_deny_purge_10110)
{
    ps_stream_config c = {.name = "DP", CONF_SUBJ("dp"), .deny_purge = true};
    conf_stream_cfg(f, &c);
    conf_pub(f, "dp", "x");
    conf_expect_error(ps_stream_purge(f->b, "DP", NULL, NULL), PS_ERR_NOT_PERMITTED, 10110,
                      "stream purge not permitted");
    assert_int_equal(conf_state(f, "DP").msgs, 1);
}
