/* dist_swarm.c — jetsim swarm --queue: submits a run's jobs (its scenario
 * by content hash, one job per seed), collects the agents' verdicts into
 * the swarm's tally, and withdraws jobs no agent took (dist.h).
 *
 * Not: the agents (dist_agent.c), the grouping and printing of findings
 * (swarm.c, through its tally).
 */
#include "dist_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ps_backend_impl.h"
#include "report.h"
#include "scenario.h"

/* A swarm that hears no verdict for this long says what it waits for. */
#define QUIET_S 10

/* ---- swarm --queue: submit and collect -------------------------------------- */

/* Reads a whole scenario file (at most SCENARIO_MAX bytes) into *out. */
static ps_status read_text(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ps_error(PS_ERR_IO, 0, "cannot read %s: %s", path, strerror(errno));
    char *buf = malloc(SCENARIO_MAX + 1);
    size_t n = buf ? fread(buf, 1, SCENARIO_MAX + 1, f) : 0;
    bool bad = ferror(f);
    fclose(f);
    if (!buf)
        return ps_error(PS_ERR_NO_MEMORY, 0, "out of memory reading %s", path);
    if (bad || n > SCENARIO_MAX) {
        free(buf);
        return ps_error(bad ? PS_ERR_IO : PS_ERR_INVALID_ARG, 0, "%s: %s", path,
                        bad ? "read error" : "larger than 1 MiB, too big for one message");
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return PS_OK;
}

/* Jobs submitted without waiting for each PubAck: a window of them goes
 * out back to back, then its PubAcks are collected together. One round
 * trip a job cost the server more than the job's whole run on an agent. */
#define SUBMIT_WINDOW 256

/* The PubAcks of one window of jobs (ps_pub_result_fn's user). */
typedef struct submit_acks {
    uint64_t already;                /* duplicates: submitted before */
    uint64_t failed[SUBMIT_WINDOW];  /* seeds whose async publish failed */
    int nfailed;
} submit_acks;

static void on_submit_ack(void *user, const ps_pub_result *r)
{
    submit_acks *sa = user;
    if (r->status == PS_OK)
        sa->already += r->ack.duplicate;
    else if (sa->nfailed < SUBMIT_WINDOW)
        sa->failed[sa->nfailed++] = r->token;
}

/* The job of `seed` into m (subject, job and id are its buffers). */
static void job_msg(ps_out_msg *m, const char *subject, const char *run, const char *hash, uint64_t seed,
                    char job[256], char id[128])
{
    snprintf(id, 128, "%s.%" PRIu64, run, seed);
    int n = snprintf(job, 256, "v1 %s %" PRIu64 " %s", run, seed, hash);
    *m = (ps_out_msg){.subject = subject, .data = job, .len = (size_t)n, .msg_id = id};
}

/* Submits the jobs of seeds first..first+n-1 (n <= SUBMIT_WINDOW): all
 * asynchronously, then those that failed so (a leader change, a stream
 * not yet reachable) one by one through the retrying publisher; msg ids
 * make a second try of a stored job a duplicate, never a second job. */
static ps_status submit_window(ps_backend *b, ps_publisher *pub, const char *subject, const char *run,
                               const char *hash, uint64_t first, uint64_t n, uint64_t *already)
{
    char id[128], job[256];
    ps_out_msg m;
    submit_acks sa = {0};
    ps_backend_set_pub_result_handler(b, on_submit_ack, &sa);
    for (uint64_t seed = first; seed < first + n; seed++) {
        job_msg(&m, subject, run, hash, seed, job, id);
        if (ps_publish_async(b, &m, seed) != PS_OK)
            sa.failed[sa.nfailed++] = seed; /* no result comes for it */
    }
    ps_publish_async_complete(b, 0); /* those without a PubAck by then are failed */
    ps_backend_set_pub_result_handler(b, NULL, NULL);
    ps_status s = PS_OK;
    for (int i = 0; i < sa.nfailed && !s; i++) {
        ps_pub_ack ack;
        job_msg(&m, subject, run, hash, sa.failed[i], job, id);
        s = dist_publish(pub, &m, &ack);
        if (s)
            s = ps_error(s, ps_last_error_code(), "submitting seed %" PRIu64 ": %s", sa.failed[i],
                         ps_last_error());
        else
            sa.already += ack.duplicate;
    }
    *already += sa.already;
    return s;
}

/* A run id belongs to the scenario it was first submitted with: the run's
 * record ("<hash> <path>") is stored once, and another scenario under the
 * same id is refused (*refused), as the verdicts stored for the run's
 * seeds would be counted as this scenario's. Two swarms claiming one id
 * at once: the msg id keeps the first record, and the second reads it. */
static ps_status claim_run(ps_backend *b, ps_publisher *pub, const char *run, const char *hash,
                           const char *path, bool *refused)
{
    char subject[128], id[128], record[SIM_PATH_MAX + 32];
    snprintf(subject, sizeof subject, SUBJ_SCN ".run.%s", run);
    snprintf(id, sizeof id, "run.%s", run);
    int n = snprintf(record, sizeof record, "%s %s", hash, path);
    for (int round = 0;; round++) {
        ps_stored_msg sm = {0};
        ps_status s = ps_msg_get(b, SIM_DIST_SCENARIOS_STREAM, 0, subject, &sm);
        /* a stream just created on a cluster answers late for a moment, as
         * dist_publish (above) allows for */
        for (int i = 0; dist_transient(s) && dist_retry_pause(i, 50); i++)
            s = ps_msg_get(b, SIM_DIST_SCENARIOS_STREAM, 0, subject, &sm);
        if (s == PS_OK) {
            bool same = sm.len >= 16 && memcmp(sm.data, hash, 16) == 0;
            if (!same)
                ps_error(PS_ERR_INVALID_ARG, 0, "run %s was submitted with another scenario (%s): choose another "
                         "--run-id, or leave it out for a new one", run, sm.len > 17 ? sm.data + 17 : "unknown");
            ps_stored_msg_clear(&sm);
            *refused = !same;
            return same ? PS_OK : PS_ERR_INVALID_ARG;
        }
        if (s != PS_ERR_MSG_NOT_FOUND || round > 0)
            return ps_error(s ? s : PS_ERR_INTERNAL, ps_last_error_code(), "reading the record of run %s: %s", run,
                            s ? ps_last_error() : "not found after storing it");
        ps_out_msg m = {.subject = subject, .data = record, .len = (size_t)n, .msg_id = id};
        if ((s = dist_publish(pub, &m, NULL)) != PS_OK)
            return ps_error(s, ps_last_error_code(), "storing the record of run %s: %s", run, ps_last_error());
    }
}

/* Claims the run, stores the scenario's message ("<path>\n<text>") under
 * its hash, then one job per seed. */
static ps_status submit(ps_backend *b, const char *run, const char *msg, size_t len, const char *hash,
                        const char *path, uint64_t first, uint64_t count, uint64_t *already, bool *refused)
{
    ps_publisher *pub = NULL;
    ps_status s = dist_new_publisher(b, &pub);
    if (!s)
        s = claim_run(b, pub, run, hash, path, refused);
    char subject[128];
    snprintf(subject, sizeof subject, SUBJ_SCN ".%s", hash);
    ps_out_msg m = {.subject = subject, .data = msg, .len = len, .msg_id = hash};
    if (!s) {
        s = dist_publish(pub, &m, NULL);
        if (s)
            s = ps_error(s, ps_last_error_code(), "storing the scenario: %s", ps_last_error());
    }
    snprintf(subject, sizeof subject, SUBJ_JOBS ".%s", run);
    bool tty = isatty(STDERR_FILENO);
    *already = 0;
    for (uint64_t seed = first; !s && seed < first + count && !dist_stop_signal; seed += SUBMIT_WINDOW) {
        uint64_t n = first + count - seed < SUBMIT_WINDOW ? first + count - seed : SUBMIT_WINDOW;
        s = submit_window(b, pub, subject, run, hash, seed, n, already);
        if (tty)
            fprintf(stderr, "\rsubmitted %" PRIu64 "/%" PRIu64 " seeds", seed - first + n, count);
    }
    if (tty)
        fputc('\n', stderr);
    ps_publisher_free(pub);
    return s;
}

/* "v1 <seed> <verdict> <violation>" into *r; false if it is not one. */
static bool parse_verdict(const ps_msg *m, sim_swarm_record *r)
{
    char buf[sizeof r->why + 64];
    size_t n = m->len < sizeof buf - 1 ? m->len : sizeof buf - 1;
    memcpy(buf, m->data, n);
    buf[n] = '\0';
    int at = 0;
    memset(r, 0, sizeof *r);
    if (sscanf(buf, "v1 %" SCNu64 " %d %n", &r->seed, &r->verdict, &at) != 2 || at == 0)
        return false;
    snprintf(r->why, sizeof r->why, "%s", buf + at);
    return true;
}

/* A consumer of this run's verdicts, from the first: ephemeral, so a
 * collector that comes back (a retried submission) reads them all again. */
static ps_status open_verdicts(ps_backend *b, const char *run, ps_consumer **out)
{
    char filter[128];
    snprintf(filter, sizeof filter, SUBJ_RESULTS ".%s", run);
    ps_consumer_config cc = {.filter_subject = filter, .ack_policy = PS_ACK_NONE,
                             .inactive_threshold_ns = 60 * NS_PER_S};
    return ps_consumer_add(b, SIM_DIST_RESULTS_STREAM, &cc, out);
}

/* Reads verdicts until every seed has one (or a signal): each seed counted
 * once. *dups counts the verdicts of seeds already counted. */
static ps_status collect(ps_backend *b, const char *run, uint64_t first, uint64_t count, sim_swarm_tally *t,
                         uint64_t *dups)
{
    unsigned char *seen = calloc(count, 1);
    ps_consumer *c = NULL;
    ps_msg_list l = {0};
    ps_status s = seen ? open_verdicts(b, run, &c) : ps_error(PS_ERR_NO_MEMORY, 0, "out of memory");
    int failures = 0; /* in a row: a cluster electing a leader fails for seconds */
    double quiet_since = dist_now_s(); /* the last verdict, or the start */
    bool told = false;            /* of this quiet stretch */
    while (!s && sim_swarm_tally_done(t) < count && !dist_stop_signal) {
        if (!told && dist_now_s() - quiet_since >= QUIET_S) {
            fprintf(stderr, "%sswarm: no verdict in %d s (%" PRIu64 " of %" PRIu64 " in): the jobs wait for an "
                    "agent (jetsim agent --queue URL), or for AckWait if one died holding them\n",
                    isatty(STDERR_FILENO) && sim_swarm_tally_done(t) ? "\n" : "", QUIET_S,
                    sim_swarm_tally_done(t), count);
            told = true;
        }
        /* A request ends when its batch is full or at its expiry: asking
         * for no more than the verdicts still missing ends the last one
         * when the last verdict comes, not up to WAIT_MS later. */
        uint64_t missing = count - sim_swarm_tally_done(t);
        ps_fetch_request req = {.batch = missing < 256 ? (int)missing : 256,
                                .expires_ns = WAIT_MS * INT64_C(1000000)};
        ps_status f = ps_fetch(c, &req, &l);
        if (f == PS_ERR_TIMEOUT || f == PS_ERR_NO_MESSAGES)
            continue;
        if (f) {
            /* the server away, a leader being elected, the ephemeral
             * reaped: start again from the first verdict (seen[] counts
             * each seed once), for a minute at most */
            if (++failures >= 60) {
                s = ps_error(f, ps_last_error_code(), "reading verdicts: %s", ps_last_error());
                break;
            }
            ps_consumer_free(c);
            c = NULL;
            sleep(1);
            while (!c && failures < 60 && !dist_stop_signal && open_verdicts(b, run, &c) != PS_OK) {
                failures++;
                sleep(1);
            }
            if (!c && !dist_stop_signal)
                s = ps_error(PS_ERR_IO, 0, "reading verdicts: %s", ps_last_error());
            continue;
        }
        failures = 0;
        for (int i = 0; i < l.count; i++) {
            sim_swarm_record r;
            if (!parse_verdict(l.msgs[i], &r) || r.seed < first || r.seed - first >= count) {
                continue; /* not this swarm's: another submission of the run with other seeds */
            }
            if (seen[r.seed - first]) {
                ++*dups;
                continue;
            }
            seen[r.seed - first] = 1;
            sim_swarm_tally_add(t, &r);
            quiet_since = dist_now_s();
            told = false;
        }
    }
    ps_msg_list_free(&l);
    if (c) {
        ps_error_saved why;
        ps_error_save(&why);
        ps_consumer_delete(b, SIM_DIST_RESULTS_STREAM, c->name);
        ps_consumer_free(c);
        ps_error_restore(&why);
    }
    free(seen);
    return s;
}

/* After SIGINT/SIGTERM, or --withdraw: withdraws the jobs of the run that
 * no agent took. */
static ps_status withdraw(ps_backend *b, const char *run)
{
    char filter[128];
    uint64_t purged = 0;
    snprintf(filter, sizeof filter, SUBJ_JOBS ".%s", run);
    ps_purge_opts po = {.filter = filter};
    ps_status s = ps_stream_purge(b, SIM_DIST_JOBS_STREAM, &po, &purged);
    if (s == PS_OK)
        fprintf(stderr, "jetsim swarm: %s%" PRIu64 " jobs of run %s not yet taken were withdrawn\n",
                dist_stop_signal ? "interrupted: " : "", purged, run);
    else
        fprintf(stderr, "jetsim swarm: %swithdrawing the jobs of run %s failed: %s\n",
                dist_stop_signal ? "interrupted; " : "", run, ps_last_error());
    return s;
}

int sim_dist_withdraw(const char *run, const sim_dist_options *d)
{
    if (!dist_run_id_ok(run)) {
        fprintf(stderr, "jetsim swarm: --withdraw wants a run id of 1 to %d of A-Z a-z 0-9 _ -, not '%s'\n",
                SIM_DIST_RUN_ID_MAX, run);
        return SIM_EXIT_USAGE;
    }
    char shown[400];
    ps_backend *b = NULL;
    ps_status s = dist_connect(d, "jetsim-swarm", &b, shown, sizeof shown);
    if (!s)
        s = withdraw(b, run);
    else
        fprintf(stderr, "jetsim swarm: harness error: %s\n", ps_last_error());
    ps_backend_close(b);
    return s ? SIM_EXIT_HARNESS : 0;
}

int sim_dist_swarm(const char *path, uint64_t first, uint64_t count, const sim_swarm_options *o,
                   const sim_dist_options *d)
{
    char run[SIM_DIST_RUN_ID_MAX + 1], hash[17], shown[400];
    if (d->run_id && !dist_run_id_ok(d->run_id)) {
        fprintf(stderr, "jetsim swarm: --run-id wants 1 to %d of A-Z a-z 0-9 _ -, not '%s'\n", SIM_DIST_RUN_ID_MAX,
                d->run_id);
        return SIM_EXIT_USAGE;
    }
    char *text = NULL;
    size_t len = 0;
    sim_scenario *sc = sim_scenario_new();
    ps_status s = sc ? read_text(path, &text, &len) : PS_ERR_NO_MEMORY;
    if (!s)
        s = sim_scenario_parse(sc, path, text, len); /* an agent must not be the first to see it is bad */
    if (s) {
        fprintf(stderr, "jetsim swarm: %s\n", ps_last_error());
        sim_scenario_free(sc);
        free(text);
        return s == PS_ERR_NO_MEMORY ? SIM_EXIT_HARNESS : SIM_EXIT_USAGE;
    }
    /* The message: the scenario's absolute path, a newline, its text. */
    char abs[PATH_MAX], *msg = NULL;
    const char *where = realpath(path, abs) ? abs : path;
    size_t mlen = strlen(where) + 1 + len;
    if (strlen(where) >= SIM_PATH_MAX || mlen > SCENARIO_MAX) {
        fprintf(stderr, "jetsim swarm: %s: %s\n", path,
                strlen(where) >= SIM_PATH_MAX ? "its path is too long to travel with it"
                                              : "with its path, larger than 1 MiB, too big for one message");
        sim_scenario_free(sc);
        free(text);
        return SIM_EXIT_USAGE;
    }
    if (!(msg = malloc(mlen + 1))) {
        fprintf(stderr, "jetsim swarm: out of memory\n");
        sim_scenario_free(sc);
        free(text);
        return SIM_EXIT_HARNESS;
    }
    snprintf(msg, mlen + 1, "%s\n%s", where, text);
    memcpy(msg + strlen(where) + 1, text, len); /* the text may hold a NUL */
    msg[mlen] = '\0';
    free(text);
    text = msg;
    len = mlen;
    dist_content_hash(text, len, hash);
    if (d->run_id)
        snprintf(run, sizeof run, "%s", d->run_id);
    else
        dist_new_run_id(run, sizeof run);
    sim_swarm_tally *t = sim_swarm_tally_new(first, count, o);
    ps_backend *b = NULL;
    if (!t || (s = dist_connect(d, "jetsim-swarm", &b, shown, sizeof shown)) != PS_OK ||
        (s = dist_ensure_streams(b, d->replicas)) != PS_OK) {
        fprintf(stderr, "jetsim swarm: harness error: %s\n", t ? ps_last_error() : "out of memory");
        dist_close_keeping_error(b);
        sim_swarm_tally_free(t);
        sim_scenario_free(sc);
        free(text);
        return SIM_EXIT_HARNESS;
    }
    dist_catch_stop_signals();
    printf("swarm: %s, seeds %" PRIu64 "..%" PRIu64 ", on the agents of %s (run %s)\n", path, first,
           first + count - 1, shown, run);
    fflush(stdout);
    double t0 = dist_now_s();
    uint64_t already = 0, dups = 0;
    bool refused = false;
    s = submit(b, run, text, len, hash, where, first, count, &already, &refused);
    free(text);
    if (refused) {
        fprintf(stderr, "jetsim swarm: %s\n", ps_last_error());
        sim_swarm_tally_free(t);
        sim_scenario_free(sc);
        ps_backend_close(b);
        return SIM_EXIT_USAGE;
    }
    if (!s && already)
        printf("swarm: %" PRIu64 " of the jobs were there already (run %s submitted before): not added twice\n",
               already, run);
    if (!s && !dist_stop_signal)
        s = collect(b, run, first, count, t, &dups);
    int rc;
    if (dist_stop_signal) {
        if (isatty(STDERR_FILENO) && sim_swarm_tally_done(t) > 0)
            fputc('\n', stderr); /* after the progress line */
        withdraw(b, run);
        rc = SIM_EXIT_INTERRUPTED;
    } else {
        if (s)
            fprintf(stderr, "jetsim swarm: harness error: %s\n", ps_last_error());
        rc = sim_swarm_tally_report(t, sc, path, dist_now_s() - t0); /* sc: --reports reruns seeds here */
        if (dups)
            printf("swarm: %" PRIu64 " seeds were finished twice (an agent stopped between its verdict and "
                   "its ack); each was counted once\n", dups);
        if (sim_swarm_tally_done(t) < count)
            fprintf(stderr, "jetsim swarm: harness error: %" PRIu64 " of %" PRIu64 " seeds got no verdict\n",
                    count - sim_swarm_tally_done(t), count);
    }
    sim_swarm_tally_free(t);
    sim_scenario_free(sc);
    ps_backend_close(b);
    return rc;
}
