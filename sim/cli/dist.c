/* dist.c — the distributed swarm and its agents (dist.h).
 *
 * Not: the grouping and printing of findings (swarm.c, through its tally).
 */
#include "dist.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "ps_backend_impl.h"
#include "ps_jetstream.h"
#include "ps_publisher.h"
#include "ps_url.h"
#include "ps_worker.h"
#include "report.h"
#include "scenario.h"
#include "seedrunner.h"

#define SUBJ_JOBS "jetsim.swarm.jobs"
#define SUBJ_RESULTS "jetsim.swarm.results"
#define SUBJ_SCN "jetsim.swarm.scn"
#define NS_PER_S INT64_C(1000000000)
#define DAY_NS (INT64_C(86400) * NS_PER_S)
/* A scenario travels in one message: the server's default max_payload. */
#define SCENARIO_MAX (1024 * 1024)
/* Parsed scenarios an agent keeps, by hash (runs of several swarms at once). */
#define CACHE_MAX 8
/* How long a collector's or an idle agent's wait lasts before it looks
 * at the signal flag again: a signal may land on one of cnats's threads
 * and interrupt nothing. */
#define WAIT_MS 100
/* A swarm that hears no verdict for this long says what it waits for. */
#define QUIET_S 10
/* tries, half a second apart, of a stream setup a cluster answers late */
#define STARTUP_TRIES 120

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
    stop_signal = sig;
}

/* SIGINT and SIGTERM set stop_signal instead of ending the process, so
 * that the jobs held or queued are handed back first. */
static void catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 64-bit FNV-1a, as 16 hex digits: the key a scenario's message is stored
 * under. The agent checks the message it reads against it. */
static void content_hash(const char *text, size_t len, char out[17])
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)text[i];
        h *= UINT64_C(1099511628211);
    }
    snprintf(out, 17, "%016" PRIx64, h);
}

/* A run id is a subject token and part of a msg id. */
static bool run_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > SIM_DIST_RUN_ID_MAX)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '-'))
            return false;
    return true;
}

/* "20261202T064900-3fa9c1": when, and enough chance to tell two
 * submissions of the same second apart. */
static void new_run_id(char *out, size_t cap)
{
    time_t t = time(NULL);
    struct tm tm;
    char when[32];
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = (uint32_t)getpid() ^ (uint32_t)(now_s() * 1e6);
    strftime(when, sizeof when, "%Y%m%dT%H%M%S", gmtime_r(&t, &tm));
    snprintf(out, cap, "%s-%06x", when, r & 0xffffff);
}

/* ---- the server and its streams ------------------------------------------ */

/* Connects as `name`; `shown` receives the URL without secrets. */
bool sim_dist_urls_ok(const char *urls, char *why, size_t cap)
{
    if (!*urls) {
        snprintf(why, cap, "is empty");
        return false;
    }
    for (const char *p = urls;;) {
        const char *comma = strchr(p, ','), *e = comma ? comma : p + strlen(p);
        const char *sep = memmem(p, (size_t)(e - p), "://", 3), *h = p, *at = NULL;
        if (sep) { /* none: HOST:PORT, as cnats takes it */
            size_t sl = (size_t)(sep - p);
            if (!(sl == 4 && strncasecmp(p, "nats", 4) == 0) && !(sl == 3 && strncasecmp(p, "tls", 3) == 0)) {
                snprintf(why, cap, "scheme '%.*s://' is not nats:// or tls://", (int)sl, p);
                return false;
            }
            h = sep + 3;
        }
        for (const char *q = h; q < e; q++)
            if (*q == '@')
                at = q;
        h = at ? at + 1 : h;
        const char *colon = NULL, *hend = e;
        if (h < e && *h == '[') { /* [IPv6] */
            const char *rb = memchr(h, ']', (size_t)(e - h));
            hend = rb ? rb + 1 : e;
            colon = rb && rb + 1 < e && rb[1] == ':' ? rb + 1 : NULL;
        } else {
            colon = memchr(h, ':', (size_t)(e - h));
            hend = colon ? colon : e;
        }
        if (hend == h) {
            snprintf(why, cap, "a URL has no host");
            return false;
        }
        if (memchr(h, '/', (size_t)(hend - h))) {
            snprintf(why, cap, "'%.*s' is not a host: nats://HOST:PORT", (int)(hend - h), h);
            return false;
        }
        if (colon) {
            const char *d = colon + 1;
            unsigned long port = 0;
            bool digits = d < e;
            for (const char *q = d; q < e && digits; q++) {
                digits = *q >= '0' && *q <= '9';
                port = port * 10 + (unsigned long)(*q - '0');
                if (port > 65535)
                    digits = false;
            }
            if (!digits || port == 0) {
                snprintf(why, cap, "invalid port '%.*s' (1 to 65535)", (int)(e - d), d);
                return false;
            }
        }
        if (!comma)
            return true;
        p = comma + 1;
    }
}

static ps_status dist_connect(const sim_dist_options *d, const char *name, ps_backend **out, char *shown,
                              size_t cap)
{
    const char *env = getenv("NATS_URL");
    const char *url = d->url ? d->url : env && *env ? env : "nats://127.0.0.1:4222";
    ps_url_redact(shown, cap, url);
    const char *urls[] = {url};
    ps_jetstream_options o = {.urls = urls, .urls_len = 1, .client_name = name};
    sim_credentials_apply(d->creds, &o);
    return ps_jetstream_new(out, &o);
}

/* What a JetStream API request can fail with for a moment while a cluster
 * elects a leader or is slow to answer. */
static bool transient(ps_status s)
{
    return s == PS_ERR_TIMEOUT || s == PS_ERR_UNAVAILABLE || s == PS_ERR_NO_RESPONDERS;
}

/* Uses the stream if it exists, whatever its settings; creates it if not. */
static ps_status ensure_stream(ps_backend *b, const ps_stream_config *cfg)
{
    ps_stream_info info = {0};
    ps_status s = ps_stream_info_get(b, cfg->name, &info);
    if (s == PS_OK) {
        ps_stream_info_clear(&info);
        return PS_OK;
    }
    if (s != PS_ERR_STREAM_NOT_FOUND)
        return s;
    s = ps_stream_add(b, cfg, NULL);
    /* another agent or swarm made it meanwhile, with other replicas: use it */
    return s == PS_ERR_STREAM_NAME_IN_USE ? PS_OK : s;
}

/* The three streams of dist.h. Jobs and verdicts are kept a week at most,
 * so an abandoned run does not stay forever; msg ids are remembered a day
 * (a resubmission within the day adds nothing). */
static ps_status ensure_streams(ps_backend *b, int replicas)
{
    const char *jobs[] = {SUBJ_JOBS ".>"}, *results[] = {SUBJ_RESULTS ".>"}, *scn[] = {SUBJ_SCN ".>"};
    int32_t r = replicas > 0 ? replicas : 1;
    const ps_stream_config cfg[3] = {
        {.name = SIM_DIST_JOBS_STREAM, .subjects = jobs, .subjects_len = 1, .retention = PS_RETENTION_WORKQUEUE,
         .max_age_ns = 7 * DAY_NS, .duplicates_ns = DAY_NS, .replicas = r,
         .description = "jetsim swarm --queue: one job per seed, taken by jetsim agent"},
        {.name = SIM_DIST_RESULTS_STREAM, .subjects = results, .subjects_len = 1, .max_age_ns = 7 * DAY_NS,
         .duplicates_ns = DAY_NS, .replicas = r,
         .description = "jetsim swarm --queue: one verdict per seed, by jetsim agent"},
        {.name = SIM_DIST_SCENARIOS_STREAM, .subjects = scn, .subjects_len = 1, .max_msgs_per_subject = 1,
         .max_age_ns = 7 * DAY_NS, .duplicates_ns = DAY_NS, .replicas = r,
         .description = "jetsim swarm --queue: scenario texts by content hash"},
    };
    for (int i = 0; i < 3; i++) {
        ps_status s = ensure_stream(b, &cfg[i]);
        /* A cluster electing its meta leader, or a loaded one, answers a
         * JetStream API request late or not at all for a while: an agent
         * (or a swarm) started then waits for it, up to a minute, instead of
         * giving up on the first timeout. */
        for (int tries = 0; transient(s) && tries < STARTUP_TRIES && !stop_signal; tries++) {
            struct timespec ts = {0, 500 * 1000000};
            nanosleep(&ts, NULL);
            s = ensure_stream(b, &cfg[i]);
        }
        if (s)
            return ps_error(s, ps_last_error_code(), "stream %s: %s", cfg[i].name, ps_last_error());
    }
    return PS_OK;
}

/* Retries what a cluster's leader change or a lost PubAck makes fail for a
 * moment; msg ids make the retries safe. */
static ps_status new_publisher(ps_backend *b, ps_publisher **out)
{
    ps_publisher_config pc = {.max_retries = 10, .retry_wait_ns = NS_PER_S / 2};
    return ps_publisher_new(out, b, &pc);
}

/* ps_publisher_publish, also retrying "no responders" for up to 10 s: a
 * stream another process has just created on a cluster takes a moment to
 * be reachable from every node (the publisher retries it only after a
 * creation of its own). */
static ps_status publish(ps_publisher *pub, const ps_out_msg *m, ps_pub_ack *ack)
{
    ps_status s = ps_publisher_publish(pub, m, ack);
    for (int i = 0; s == PS_ERR_NO_RESPONDERS && i < 50 && !stop_signal; i++) {
        struct timespec ts = {0, 200 * 1000000};
        nanosleep(&ts, NULL);
        s = ps_publisher_publish(pub, m, ack);
    }
    return s;
}

/* Closes without losing the reason of a failure to the close. */
static void close_keeping_error(ps_backend *b)
{
    ps_error_saved why;
    ps_error_save(&why);
    ps_backend_close(b);
    ps_error_restore(&why);
}

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
        s = publish(pub, &m, &ack);
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
         * publish (above) allows for */
        for (int i = 0; transient(s) && i < 50 && !stop_signal; i++) {
            struct timespec ts = {0, 200 * 1000000};
            nanosleep(&ts, NULL);
            s = ps_msg_get(b, SIM_DIST_SCENARIOS_STREAM, 0, subject, &sm);
        }
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
        if ((s = publish(pub, &m, NULL)) != PS_OK)
            return ps_error(s, ps_last_error_code(), "storing the record of run %s: %s", run, ps_last_error());
    }
}

/* Claims the run, stores the scenario's message ("<path>\n<text>") under
 * its hash, then one job per seed. */
static ps_status submit(ps_backend *b, const char *run, const char *msg, size_t len, const char *hash,
                        const char *path, uint64_t first, uint64_t count, uint64_t *already, bool *refused)
{
    ps_publisher *pub = NULL;
    ps_status s = new_publisher(b, &pub);
    if (!s)
        s = claim_run(b, pub, run, hash, path, refused);
    char subject[128];
    snprintf(subject, sizeof subject, SUBJ_SCN ".%s", hash);
    ps_out_msg m = {.subject = subject, .data = msg, .len = len, .msg_id = hash};
    if (!s) {
        s = publish(pub, &m, NULL);
        if (s)
            s = ps_error(s, ps_last_error_code(), "storing the scenario: %s", ps_last_error());
    }
    snprintf(subject, sizeof subject, SUBJ_JOBS ".%s", run);
    bool tty = isatty(STDERR_FILENO);
    *already = 0;
    for (uint64_t seed = first; !s && seed < first + count && !stop_signal; seed += SUBMIT_WINDOW) {
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
    double quiet_since = now_s(); /* the last verdict, or the start */
    bool told = false;            /* of this quiet stretch */
    while (!s && sim_swarm_tally_done(t) < count && !stop_signal) {
        if (!told && now_s() - quiet_since >= QUIET_S) {
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
            while (!c && failures < 60 && !stop_signal && open_verdicts(b, run, &c) != PS_OK) {
                failures++;
                sleep(1);
            }
            if (!c && !stop_signal)
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
            quiet_since = now_s();
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
                stop_signal ? "interrupted: " : "", purged, run);
    else
        fprintf(stderr, "jetsim swarm: %swithdrawing the jobs of run %s failed: %s\n",
                stop_signal ? "interrupted; " : "", run, ps_last_error());
    return s;
}

int sim_dist_withdraw(const char *run, const sim_dist_options *d)
{
    if (!run_id_ok(run)) {
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
    if (d->run_id && !run_id_ok(d->run_id)) {
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
    content_hash(text, len, hash);
    if (d->run_id)
        snprintf(run, sizeof run, "%s", d->run_id);
    else
        new_run_id(run, sizeof run);
    sim_swarm_tally *t = sim_swarm_tally_new(first, count, o);
    ps_backend *b = NULL;
    if (!t || (s = dist_connect(d, "jetsim-swarm", &b, shown, sizeof shown)) != PS_OK ||
        (s = ensure_streams(b, d->replicas)) != PS_OK) {
        fprintf(stderr, "jetsim swarm: harness error: %s\n", t ? ps_last_error() : "out of memory");
        close_keeping_error(b);
        sim_swarm_tally_free(t);
        sim_scenario_free(sc);
        free(text);
        return SIM_EXIT_HARNESS;
    }
    catch_stop_signals();
    printf("swarm: %s, seeds %" PRIu64 "..%" PRIu64 ", on the agents of %s (run %s)\n", path, first,
           first + count - 1, shown, run);
    fflush(stdout);
    double t0 = now_s();
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
    if (!s && !stop_signal)
        s = collect(b, run, first, count, t, &dups);
    int rc;
    if (stop_signal) {
        if (isatty(STDERR_FILENO) && sim_swarm_tally_done(t) > 0)
            fputc('\n', stderr); /* after the progress line */
        withdraw(b, run);
        rc = SIM_EXIT_INTERRUPTED;
    } else {
        if (s)
            fprintf(stderr, "jetsim swarm: harness error: %s\n", ps_last_error());
        rc = sim_swarm_tally_report(t, sc, path, now_s() - t0); /* sc: --reports reruns seeds here */
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

/* ---- agent ------------------------------------------------------------------ */

/* A runner (seedrunner.h) goes from one seed to the next at once when the
 * next is already queued in it; the agent meanwhile stores the verdict,
 * acks and fetches (round trips to the server). How many seeds a
 * runner may have, the one it runs included, follows how long its last
 * seed ran: 3 under SEED_SHORT_S, 2 under SEED_LONG_S, else 1 (and 1 for
 * a new runner). A longer seed would keep the one queued behind it from
 * an agent that may be idle meanwhile, for the length of a seed, to save
 * round trips that are nothing beside it. */
#define SLOT_DEPTH_MAX 3
/* The longest an agent waits for runners while verdicts it sent are not
 * yet acked (tend). */
#define AWAIT_MS 5
/* A round trip to a loaded server takes a millisecond or two: one seed
 * queued behind the running one covers it for seeds of 5 ms and more, and
 * a second helps only shorter ones. A longer queue than needed makes the
 * end of a swarm uneven: one agent still holds three seeds while another
 * has none. */
#define SEED_SHORT_S 0.005
#define SEED_LONG_S 1.0

/* A job the agent holds. */
typedef struct job {
    ps_msg *m;
    uint64_t seed;
    char run[SIM_DIST_RUN_ID_MAX + 1];
    char hash[17];
    double last_wpi; /* when its ack wait last restarted */
} job;

/* A runner and the jobs sent to it, oldest first: q[0] runs, the others
 * wait in the runner's socket. */
typedef struct slot {
    sim_runner *r; /* NULL: none */
    char hash[17]; /* the scenario r runs */
    job q[SLOT_DEPTH_MAX];
    int n;
    int depth;   /* the jobs it may have, 1..SLOT_DEPTH_MAX */
    bool broken; /* a send to r failed: what it answers is read, nothing more sent */
} slot;

typedef struct cached {
    char hash[17];
    sim_scenario *sc;
} cached;

/* A job whose verdict went out with ps_publish_async and whose PubAck the
 * agent has not seen yet: it is acked only once that comes (drain). */
typedef struct awaiting {
    job j;
    sim_swarm_record r;
    bool done;        /* its result came (on_verdict_ack) */
    ps_status status; /* of the publish, when done */
    bool duplicate;   /* the results stream had it already */
} awaiting;

typedef struct agent {
    ps_backend *b;
    ps_worker *w;
    ps_publisher *pub;
    slot *slots;
    int k;
    job *pending; /* taken and not yet sent to a runner, oldest first */
    int npending, pending_cap;
    awaiting *await; /* verdicts published, PubAcks not yet seen; token = index */
    int nawait;
    double wpi_every_s;
    cached cache[CACHE_MAX];
    int cache_next; /* the entry to replace next */
    uint64_t ran, published, unpublished;
    uint64_t twice; /* verdicts the results stream had already (by msg id) */
    /* When the current poll's fetch was sent: the server's AckWait of what
     * it delivers started after it, so this is a safe "last restart" for a
     * job that waited in the agent before its first in-progress ack. */
    double poll_started;
    /* Where the agent's thread spent its time: waiting on the server
     * (fetches, PubAcks, acks), waiting for runners, and, idle, waiting
     * for jobs; printed when it stops. */
    double server_s, runners_s;
    double idle_s; /* in the waiting fetches of an idle agent: waiting for jobs */
    uint64_t fetches;
} agent;

/* "v1 <run> <seed> <hash>"; false if the job is not one. */
static bool parse_job(const ps_msg *m, char run[SIM_DIST_RUN_ID_MAX + 1], uint64_t *seed, char hash[17])
{
    char buf[256];
    if (m->len >= sizeof buf)
        return false;
    memcpy(buf, m->data, m->len);
    buf[m->len] = '\0';
    return sscanf(buf, "v1 %64s %" SCNu64 " %16s", run, seed, hash) == 3 && run_id_ok(run) && strlen(hash) == 16;
}

/* The parsed scenario stored under `hash`, from the cache or the stream.
 * NULL with the last error set: PS_ERR_MSG_NOT_FOUND, PS_ERR_INVALID_ARG
 * (a text that does not parse or does not match its hash) or a failure to
 * read it. */
static const sim_scenario *scenario_get(agent *a, const char *hash)
{
    for (int i = 0; i < CACHE_MAX; i++)
        if (a->cache[i].sc && strcmp(a->cache[i].hash, hash) == 0)
            return a->cache[i].sc;
    char subject[64], name[SIM_PATH_MAX], got[17];
    snprintf(subject, sizeof subject, SUBJ_SCN ".%s", hash);
    ps_stored_msg sm = {0};
    if (ps_msg_get(a->b, SIM_DIST_SCENARIOS_STREAM, 0, subject, &sm) != PS_OK)
        return NULL;
    content_hash(sm.data, sm.len, got);
    sim_scenario *sc = sim_scenario_new();
    /* "<path>\n<text>": parsed under the swarm's own path, so that its
     * messages name the file and the files it names resolve as they did
     * there (the same host, or one with the same layout) */
    const char *nl = memchr(sm.data, '\n', sm.len);
    size_t plen = nl ? (size_t)(nl - sm.data) : 0;
    snprintf(name, sizeof name, "%.*s", (int)plen, sm.data);
    ps_status s = strcmp(got, hash) != 0 ? ps_error(PS_ERR_INVALID_ARG, 0, "its message hashes to %s", got)
                  : !nl || plen == 0 || plen >= sizeof name
                      ? ps_error(PS_ERR_INVALID_ARG, 0, "its message does not start with the scenario's path")
                  : !sc ? PS_ERR_NO_MEMORY
                        : sim_scenario_parse(sc, name, nl + 1, sm.len - plen - 1);
    ps_stored_msg_clear(&sm);
    if (s) {
        sim_scenario_free(sc);
        return NULL;
    }
    cached *c = &a->cache[a->cache_next];
    a->cache_next = (a->cache_next + 1) % CACHE_MAX;
    sim_scenario_free(c->sc);
    c->sc = sc;
    snprintf(c->hash, sizeof c->hash, "%s", hash);
    return sc;
}

/* A verdict's message: subject, body and id are its buffers. */
typedef struct verdict_msg {
    char subject[128], id[128], body[sizeof(((sim_swarm_record *)0)->why) + 64];
    ps_out_msg m;
} verdict_msg;

static void verdict_msg_make(verdict_msg *v, const char *run, const sim_swarm_record *r)
{
    snprintf(v->subject, sizeof v->subject, SUBJ_RESULTS ".%s", run);
    snprintf(v->id, sizeof v->id, "%s.%" PRIu64, run, r->seed);
    int n = snprintf(v->body, sizeof v->body, "v1 %" PRIu64 " %d %s", r->seed, r->verdict, r->why);
    v->m = (ps_out_msg){.subject = v->subject, .data = v->body, .len = (size_t)n, .msg_id = v->id};
}

/* Counts a stored verdict, and says when the stream had it already. */
static void verdict_stored(agent *a, const char *run, uint64_t seed, bool duplicate)
{
    a->published++;
    if (duplicate) { /* said: a seed should run once, unless an agent died */
        a->twice++;
        fprintf(stderr, "jetsim agent: seed %" PRIu64 " of run %s: its verdict was stored already (another agent "
                "ran it too, or ran it before dying)\n", seed, run);
    }
}

/* Publishes a seed's verdict and waits for its PubAck (retrying). */
static ps_status publish_verdict(agent *a, const char *run, const sim_swarm_record *r)
{
    verdict_msg v;
    verdict_msg_make(&v, run, r);
    ps_pub_ack ack = {0};
    double t0 = now_s();
    ps_status s = publish(a->pub, &v.m, &ack);
    a->server_s += now_s() - t0;
    if (s == PS_OK)
        verdict_stored(a, run, r->seed, ack.duplicate);
    else
        a->unpublished++;
    return s;
}

/* The PubAck (or failure) of an awaiting verdict: only noted here (a
 * result handler must not call into the backend); drain acts on it. */
static void on_verdict_ack(void *user, const ps_pub_result *r)
{
    agent *a = user;
    if (r->token >= (uint64_t)a->nawait)
        return; /* cannot happen: every token is an index of a->await */
    awaiting *w = &a->await[r->token];
    w->done = true;
    w->status = r->status;
    w->duplicate = r->status == PS_OK && r->ack.duplicate;
}

/* Completes the awaiting jobs: waits for the PubAcks still out (usually
 * none by now: they came while the runners ran), acks each job whose
 * verdict is stored, and stores again, waiting and retrying, a verdict
 * whose async publish failed (its msg id makes that safe), naking its job
 * if that fails too. Never acks a job before its verdict's PubAck. */
static void drain(agent *a)
{
    if (a->nawait == 0)
        return;
    double t0 = now_s();
    ps_publish_async_complete(a->b, 0); /* what did not come is reported as a timeout */
    a->server_s += now_s() - t0;
    for (int i = 0; i < a->nawait; i++) {
        awaiting *w = &a->await[i];
        ps_status pub = w->done ? w->status : PS_ERR_TIMEOUT;
        if (pub == PS_OK)
            verdict_stored(a, w->j.run, w->r.seed, w->duplicate);
        else
            pub = publish_verdict(a, w->j.run, &w->r);
        if (pub)
            fprintf(stderr, "jetsim agent: seed %" PRIu64 " of run %s: verdict not stored (%s): naked, to run "
                    "again\n", w->j.seed, w->j.run, ps_last_error());
        t0 = now_s();
        ps_worker_complete(a->w, w->j.m, pub == PS_OK ? PS_HANDLE_ACK : PS_HANDLE_RETRY);
        a->server_s += now_s() - t0;
    }
    a->nawait = 0;
}

/* Sends j's verdict without waiting for its PubAck: drain acks j when it
 * has come. */
static void publish_verdict_async(agent *a, const job *j, const sim_swarm_record *r)
{
    if (a->nawait == a->pending_cap) /* cannot happen: drained before each round of answers */
        drain(a);
    awaiting *w = &a->await[a->nawait];
    *w = (awaiting){.j = *j, .r = *r};
    verdict_msg v;
    verdict_msg_make(&v, j->run, r);
    if (ps_publish_async(a->b, &v.m, (uint64_t)a->nawait) != PS_OK) {
        w->done = true; /* not sent: drain stores it the waiting way */
        w->status = ps_last_status();
    }
    a->nawait++;
}

/* The worker's handler: checks the job and its scenario, and keeps it
 * (PS_HANDLE_DEFER) among the pending, for dispatch to send to a runner;
 * it is completed once its verdict is stored. */
static ps_handle_result on_job(void *user, ps_msg *m)
{
    agent *a = user;
    job j = {.m = m, .last_wpi = a->poll_started};
    if (!parse_job(m, j.run, &j.seed, j.hash)) {
        fprintf(stderr, "jetsim agent: a message on %s is not a job: terminated\n", m->subject);
        return PS_HANDLE_TERM;
    }
    if (!scenario_get(a, j.hash)) {
        ps_status why = ps_last_status();
        if (why != PS_ERR_MSG_NOT_FOUND && why != PS_ERR_INVALID_ARG) {
            fprintf(stderr, "jetsim agent: seed %" PRIu64 " of run %s: reading scenario %s: %s (to try again)\n",
                    j.seed, j.run, j.hash, ps_last_error());
            return PS_HANDLE_RETRY;
        }
        /* it will never run: the swarm must hear why */
        sim_swarm_record r = {.seed = j.seed, .verdict = -1};
        snprintf(r.why, sizeof r.why, "agent: scenario %s: %s", j.hash,
                 why == PS_ERR_MSG_NOT_FOUND ? "not in " SIM_DIST_SCENARIOS_STREAM : ps_last_error());
        return publish_verdict(a, j.run, &r) == PS_OK ? PS_HANDLE_ACK : PS_HANDLE_RETRY;
    }
    if (a->npending == a->pending_cap) { /* cannot happen: max_in_flight is pending_cap */
        fprintf(stderr, "jetsim agent: seed %" PRIu64 ": no room to hold it\n", j.seed);
        return PS_HANDLE_RETRY;
    }
    a->pending[a->npending++] = j;
    return PS_HANDLE_DEFER;
}

/* Sends j to s's runner, first starting one for j's scenario when s has
 * none or one of another (s is idle then). False: j stays pending. */
static bool send_job(agent *a, slot *s, const job *j)
{
    if (!s->r || strcmp(s->hash, j->hash) != 0) {
        sim_runner_free(s->r);
        s->r = NULL;
        const sim_scenario *sc = scenario_get(a, j->hash); /* cached: on_job read it */
        ps_status st = sc ? sim_runner_new(&s->r, sc) : ps_last_status();
        if (st) {
            fprintf(stderr, "jetsim agent: seed %" PRIu64 " of run %s: %s (naked, to run again)\n", j->seed,
                    j->run, ps_last_error());
            ps_worker_complete(a->w, j->m, PS_HANDLE_RETRY);
            return true;
        }
        snprintf(s->hash, sizeof s->hash, "%s", j->hash);
        s->depth = 1;
        s->broken = false;
    }
    if (sim_runner_send(s->r, j->seed) != PS_OK) {
        if (s->n == 0) { /* gone while idle: the next dispatch starts another */
            sim_runner_free(s->r);
            s->r = NULL;
        } else {
            s->broken = true; /* tend reads what it answered, then its end */
        }
        return false;
    }
    s->q[s->n++] = *j;
    return true;
}

/* The slot for a job of scenario `hash`: an idle runner of that scenario,
 * else a slot without a runner, else an idle runner of another scenario
 * (replaced), else the least busy runner of that scenario with room in
 * its queue: a job waits behind another only when no runner is idle. */
static slot *pick_slot(agent *a, const char *hash)
{
    slot *same_idle = NULL, *empty = NULL, *other_idle = NULL, *queue = NULL;
    for (int i = 0; i < a->k; i++) {
        slot *s = &a->slots[i];
        bool same = s->r && !s->broken && strcmp(s->hash, hash) == 0;
        if (same && s->n == 0)
            same_idle = s;
        else if (!s->r)
            empty = s;
        else if (s->n == 0)
            other_idle = s;
        else if (same && s->n < s->depth && (!queue || s->n < queue->n))
            queue = s;
    }
    return same_idle ? same_idle : empty ? empty : other_idle ? other_idle : queue;
}

/* Sends the pending jobs that a runner has room for, oldest first. */
static void dispatch(agent *a)
{
    int kept = 0;
    for (int i = 0; i < a->npending; i++) {
        job j = a->pending[i];
        slot *s = pick_slot(a, j.hash);
        if (!s || !send_job(a, s, &j))
            a->pending[kept++] = j;
    }
    a->npending = kept;
}

/* The runner of s answered (or ended): stores the verdict of its oldest
 * job, and acks the job only once the verdict's PubAck came; else naks it.
 * A runner that ended without answering gives its running seed that as
 * a harness error; the seeds queued behind it never started, and go back
 * to the pending to run elsewhere. */
static void finish(agent *a, slot *s)
{
    job j = s->q[0];
    sim_swarm_record r;
    int64_t run_ns = 0;
    ps_status st = sim_runner_read(s->r, j.seed, &r, &run_ns);
    if (st) {
        sim_runner_free(s->r);
        s->r = NULL;
    } else {
        double run_s = (double)run_ns / 1e9;
        s->depth = run_s < SEED_SHORT_S ? 3 : run_s < SEED_LONG_S ? 2 : 1;
    }
    int back = st ? s->n - 1 : 0; /* never started: first in line again */
    if (back > 0) {
        memmove(a->pending + back, a->pending, (size_t)a->npending * sizeof *a->pending);
        memcpy(a->pending, s->q + 1, (size_t)back * sizeof *a->pending);
        a->npending += back;
    }
    s->n -= 1 + back;
    memmove(s->q, s->q + 1 + back, (size_t)s->n * sizeof *s->q);
    if (!s->r)
        s->broken = false;
    a->ran++;
    publish_verdict_async(a, &j, &r);
}

static void in_progress(agent *a, job *j, double now)
{
    if (now - j->last_wpi >= a->wpi_every_s) {
        ps_worker_in_progress(a->w, j->m); /* failed: AckWait will tell, and the seed runs again */
        j->last_wpi = now;
    }
}

/* Waits up to `ms` for runners, finishes the seeds they answered, and
 * restarts the ack wait of the jobs held longer than a third of AckWait
 * (running, queued in a runner or pending). */
static void tend(agent *a, int ms)
{
    struct pollfd pf[256];
    int map[256], n = 0;
    for (int i = 0; i < a->k && n < 256; i++)
        if (a->slots[i].n > 0) {
            pf[n] = (struct pollfd){sim_runner_fd(a->slots[i].r), POLLIN, 0};
            map[n++] = i;
        }
    /* Verdicts sent in the last round are acked after this wait, not
     * before it: their PubAcks come meanwhile (the runners run their
     * queued seeds), so the agent seldom waits on them. A short wait, when
     * there are some, so that their jobs are not held long. */
    if (a->nawait > 0 && ms > AWAIT_MS)
        ms = AWAIT_MS;
    double t0 = now_s();
    int ready = poll(pf, (nfds_t)n, ms);
    a->runners_s += now_s() - t0;
    drain(a);
    if (ready > 0)
        for (int i = 0; i < n; i++)
            if (pf[i].revents)
                finish(a, &a->slots[map[i]]);
    double now = now_s();
    for (int i = 0; i < a->k; i++)
        for (int q = 0; q < a->slots[i].n; q++)
            in_progress(a, &a->slots[i].q[q], now);
    for (int i = 0; i < a->npending; i++)
        in_progress(a, &a->pending[i], now);
}

static void on_worker_error(void *user, const ps_msg *m, ps_ack_kind kind, ps_status st, const char *detail)
{
    (void)user;
    (void)st;
    fprintf(stderr, "jetsim agent: %s of stream sequence %" PRIu64 " refused: %s (it comes back after AckWait)\n",
            kind == PS_ACK ? "ack" : kind == PS_NAK ? "nak" : "term", m->meta.stream_seq, detail);
}

/* Stops: kills the runners, naks every job held (ps_worker_stop). */
static void agent_stop(agent *a)
{
    for (int i = 0; i < a->k; i++) {
        sim_runner_free(a->slots[i].r);
        a->slots[i].r = NULL;
        a->slots[i].n = 0;
    }
    a->npending = 0;
    ps_worker_stop(a->w);
}

/* How many jobs the runners have room for, and how many are held. */
static int room(const agent *a)
{
    int r = -a->npending;
    for (int i = 0; i < a->k; i++)
        r += a->slots[i].depth - a->slots[i].n;
    return r;
}

/* Whether a runner will be idle once its running seed ends (or has no
 * seed): then the agent fetches even a single job. */
static bool short_of_work(const agent *a)
{
    if (a->npending > 0)
        return false;
    for (int i = 0; i < a->k; i++)
        if (!a->slots[i].broken && a->slots[i].n <= 1)
            return true;
    return false;
}

/* Nothing held: no runner has a seed, none is pending or awaits its
 * verdict's PubAck. */
static bool idle(const agent *a)
{
    if (a->npending > 0 || a->nawait > 0)
        return false;
    for (int i = 0; i < a->k; i++)
        if (a->slots[i].n > 0)
            return false;
    return true;
}

static int agent_loop(agent *a)
{
    ps_status last = PS_OK;
    while (!stop_signal) {
        ps_status s = PS_OK;
        int handled = 1;
        bool waited = false;
        dispatch(a);
        /* At most the jobs the runners have room for, in one fetch, and a
         * fetch only when there is room for two or a runner is about to
         * run dry: a fetch a seed cost the agent and the server a round
         * trip each; a runner with a seed queued behind the running one
         * can wait for a second free place. An idle agent waits in a pull
         * request for one job, which the server answers the moment one is
         * submitted (asking again every WAIT_MS instead left new jobs
         * unseen for 50 ms on average: a large part of a short swarm). */
        while (!stop_signal && handled > 0 && (room(a) >= 2 || (room(a) > 0 && short_of_work(a)))) {
            a->poll_started = now_s();
            waited = idle(a);
            s = waited ? ps_worker_poll_wait(a->w, 1, WAIT_MS * INT64_C(1000000), &handled)
                       : ps_worker_poll_max(a->w, room(a), &handled);
            *(waited ? &a->idle_s : &a->server_s) += now_s() - a->poll_started;
            a->fetches++;
            if (s)
                break;
            dispatch(a);
        }
        if (s != PS_OK && s != last) /* said once, not at every poll while the server is away */
            fprintf(stderr, "jetsim agent: fetching jobs: %s (trying again)\n", ps_last_error());
        last = s;
        /* busy runners wake the agent when they answer; an agent whose
         * waiting fetch came back empty asks again at once */
        tend(a, s ? 1000 : waited && handled == 0 ? 0 : WAIT_MS);
    }
    drain(a); /* verdicts sent: ack their jobs rather than hand them back */
    return 0;
}

int sim_dist_agent(const sim_dist_options *d)
{
    agent a = {.k = d->parallel};
    if (a.k <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        a.k = n > 0 ? (int)n : 1;
    }
    int64_t ack_wait = d->ack_wait_ns ? d->ack_wait_ns : 30 * NS_PER_S;
    a.wpi_every_s = (double)ack_wait / 3e9;
    a.pending_cap = a.k * SLOT_DEPTH_MAX;
    char shown[400];
    const int64_t backoff[] = {NS_PER_S}; /* a seed that could not start waits a second */
    ps_worker_config wc = {
        .stream = SIM_DIST_JOBS_STREAM,
        .consumer = {.durable = SIM_DIST_AGENTS, .ack_wait_ns = ack_wait},
        .batch = a.pending_cap,
        /* what the runners hold or wait for, and the jobs whose verdicts
         * await their PubAcks (as many again at most) */
        .max_in_flight = 2 * a.pending_cap,
        .handler = on_job,
        .nak_backoff_ns = backoff,
        .nak_backoff_len = 1,
        .on_error = on_worker_error,
        .user = &a,
        .fetch_no_wait = true,
    };
    a.slots = calloc((size_t)a.k, sizeof *a.slots);
    a.pending = calloc((size_t)a.pending_cap, sizeof *a.pending);
    a.await = calloc((size_t)a.pending_cap, sizeof *a.await);
    for (int i = 0; a.slots && i < a.k; i++)
        a.slots[i].depth = 1;
    ps_status s = a.slots && a.pending && a.await ? dist_connect(d, "jetsim-agent", &a.b, shown, sizeof shown)
                                       : ps_error(PS_ERR_NO_MEMORY, 0, "out of memory");
    if (!s)
        s = ensure_streams(a.b, d->replicas);
    if (!s)
        s = new_publisher(a.b, &a.pub);
    if (!s)
        ps_backend_set_pub_result_handler(a.b, on_verdict_ack, &a);
    if (!s && (s = ps_worker_new(&a.w, a.b, &wc)) != PS_OK)
        s = ps_error(s, ps_last_error_code(), "consumer %s on %s: %s", SIM_DIST_AGENTS, SIM_DIST_JOBS_STREAM,
                     ps_last_error());
    int rc = 0;
    if (s) {
        fprintf(stderr, "jetsim agent: harness error: %s\n", ps_last_error());
        rc = SIM_EXIT_HARNESS;
    } else {
        catch_stop_signals();
        printf("agent: running seeds from %s on %s, %d at a time, AckWait %.3g s\n", SIM_DIST_JOBS_STREAM, shown,
               a.k, (double)ack_wait / 1e9);
        fflush(stdout);
        rc = agent_loop(&a);
        agent_stop(&a);
        ps_worker_stats st = {0};
        ps_worker_stats_get(a.w, &st);
        printf("agent: stopped by %s: %" PRIu64 " seeds run, %" PRIu64 " verdicts stored (%" PRIu64
               " of them there already), %" PRIu64 " jobs handed back\n", stop_signal == SIGINT ? "SIGINT" : "SIGTERM",
               a.ran, a.published, a.twice, st.naked);
        printf("agent: waited %.3f s on the server (%" PRIu64 " fetches, %" PRIu64 " jobs), %.3f s for runners, "
               "%.3f s idle for jobs\n", a.server_s, a.fetches, st.fetched, a.runners_s, a.idle_s);
    }
    ps_worker_free(a.w);
    ps_publisher_free(a.pub);
    for (int i = 0; i < CACHE_MAX; i++)
        sim_scenario_free(a.cache[i].sc);
    for (int i = 0; a.slots && i < a.k; i++)
        sim_runner_free(a.slots[i].r);
    free(a.slots);
    free(a.pending);
    free(a.await);
    ps_backend_close(a.b);
    return rc;
}
