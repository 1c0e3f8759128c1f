/* dist_common.c — what the distributed swarm (dist_swarm.c) and its agents
 * (dist_agent.c) share: stop signals, run ids, scenario hashes, --queue
 * URLs, the connection and the three streams, and publishing that
 * retries what a cluster refuses for a moment (dist_internal.h).
 */
#include "dist_internal.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "ps_jetstream.h"
#include "ps_backend_impl.h"
#include "ps_url.h"

volatile sig_atomic_t dist_stop_signal;

/* tries of a stream setup a cluster answers late: a minute */
#define STARTUP_TRIES 300

bool dist_retry_pause(int i, int tries)
{
    if (i >= tries || dist_stop_signal)
        return false;
    struct timespec ts = {0, 200 * 1000000};
    nanosleep(&ts, NULL);
    return true;
}

static void on_stop(int sig)
{
    dist_stop_signal = sig;
}

/* SIGINT and SIGTERM set dist_stop_signal instead of ending the process, so
 * that the jobs held or queued are handed back first. */
void dist_catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

double dist_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 64-bit FNV-1a, as 16 hex digits: the key a scenario's message is stored
 * under. The agent checks the message it reads against it. */
void dist_content_hash(const char *text, size_t len, char out[17])
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)text[i];
        h *= UINT64_C(1099511628211);
    }
    snprintf(out, 17, "%016" PRIx64, h);
}

/* A run id is a subject token and part of a msg id. */
bool dist_run_id_ok(const char *id)
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
void dist_new_run_id(char *out, size_t cap)
{
    time_t t = time(NULL);
    struct tm tm;
    char when[32];
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = (uint32_t)getpid() ^ (uint32_t)(dist_now_s() * 1e6);
    strftime(when, sizeof when, "%Y%m%dT%H%M%S", gmtime_r(&t, &tm));
    snprintf(out, cap, "%s-%06x", when, r & 0xffffff);
}

/* ---- the server and its streams ------------------------------------------ */

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

/* Connects as `name`; `shown` receives the URL without secrets. */
ps_status dist_connect(const sim_dist_options *d, const char *name, ps_backend **out, char *shown, size_t cap)
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
bool dist_transient(ps_status s)
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
ps_status dist_ensure_streams(ps_backend *b, int replicas)
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
        for (int tries = 0; dist_transient(s) && dist_retry_pause(tries, STARTUP_TRIES); tries++)
            s = ensure_stream(b, &cfg[i]);
        if (s)
            return ps_error(s, ps_last_error_code(), "stream %s: %s", cfg[i].name, ps_last_error());
    }
    return PS_OK;
}

/* Retries what a cluster's leader change or a lost PubAck makes fail for a
 * moment; msg ids make the retries safe. */
ps_status dist_new_publisher(ps_backend *b, ps_publisher **out)
{
    ps_publisher_config pc = {.max_retries = 10, .retry_wait_ns = NS_PER_S / 2};
    return ps_publisher_new(out, b, &pc);
}

/* ps_publisher_publish, also retrying "no responders" for up to 10 s: a
 * stream another process has just created on a cluster takes a moment to
 * be reachable from every node (the publisher retries it only after a
 * creation of its own). */
ps_status dist_publish(ps_publisher *pub, const ps_out_msg *m, ps_pub_ack *ack)
{
    ps_status s = ps_publisher_publish(pub, m, ack);
    for (int i = 0; s == PS_ERR_NO_RESPONDERS && dist_retry_pause(i, 50); i++)
        s = ps_publisher_publish(pub, m, ack);
    return s;
}

/* Closes without losing the reason of a failure to the close. */
void dist_close_keeping_error(ps_backend *b)
{
    ps_error_saved why;
    ps_error_save(&why);
    ps_backend_close(b);
    ps_error_restore(&why);
}
