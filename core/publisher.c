/* publisher.c — prefix, auto-create, retries and metrics over ps_publish
 * (ps_publisher.h).
 *
 * Not a backend and not simulation code: the same loop runs in production
 * and under the simulator. Its only contact with time is the configured
 * ps_clock (latency) and, on a clock that is not manual, a sleep between
 * retries.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ps_publisher.h"
#include "ps_subject.h"
#include "ps_backend_impl.h"

struct ps_publisher {
    ps_backend *b;
    ps_clock *clock;
    char *prefix;      /* NULL: none */
    size_t prefix_len;
    bool has_create;
    ps_stream_config create;   /* strings below are its own */
    char *create_name;
    char **create_subjects;
    int max_retries;
    int64_t retry_wait_ns;
    ps_on_publish_fn on_publish;
    void *user;
    char *subj;        /* prefixed subject, reused between calls */
    size_t subj_cap;
    ps_publisher_stats stats;
};

/* ---- construction ------------------------------------------------------------ */

static char *pub_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

static ps_status pub_check_config(const ps_publisher_config *cfg)
{
    const char *fn = "ps_publisher_new";
    if (cfg->max_retries < 0)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: max_retries is negative (%d)", fn, cfg->max_retries);
    if (cfg->retry_wait_ns < 0)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: retry_wait_ns is negative", fn);
    if (cfg->subject_prefix && *cfg->subject_prefix) {
        ps_status s = ps_subject_check("subject prefix", cfg->subject_prefix, false);
        if (s)
            return s;
    }
    const ps_stream_config *sc = cfg->auto_create;
    if (!sc)
        return PS_OK;
    if (!sc->name || !*sc->name)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: auto_create has no stream name", fn);
    if (sc->subjects_len < 0 || (sc->subjects_len > 0 && !sc->subjects))
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: auto_create subjects_len is %d but subjects is %s",
                        fn, sc->subjects_len, sc->subjects ? "set" : "NULL");
    for (int i = 0; i < sc->subjects_len; i++)
        if (!sc->subjects[i])
            return ps_error(PS_ERR_INVALID_ARG, 0, "%s: auto_create subjects[%d] is NULL", fn, i);
    return PS_OK;
}

/* Deep copy of the stream to create: the caller's config is borrowed for
 * ps_publisher_new only. */
static bool pub_copy_stream(ps_publisher *p, const ps_stream_config *sc)
{
    p->create = *sc;
    p->create_name = pub_strdup(sc->name);
    if (!p->create_name)
        return false;
    p->create.name = p->create_name;
    if (sc->subjects_len > 0) {
        p->create_subjects = calloc((size_t)sc->subjects_len, sizeof *p->create_subjects);
        if (!p->create_subjects)
            return false;
        for (int i = 0; i < sc->subjects_len; i++)
            if (!(p->create_subjects[i] = pub_strdup(sc->subjects[i])))
                return false;
    }
    p->create.subjects = (const char *const *)p->create_subjects;
    p->has_create = true;
    return true;
}

ps_status ps_publisher_new(ps_publisher **out, ps_backend *b, const ps_publisher_config *cfg)
{
    const char *fn = "ps_publisher_new";
    ps_error_clear();
    if (!out)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: out is NULL", fn);
    if (!b)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: backend is NULL", fn);
    ps_publisher_config none = {0};
    if (!cfg)
        cfg = &none;
    ps_status s = pub_check_config(cfg);
    if (s)
        return s;
    ps_publisher *p = calloc(1, sizeof *p);
    if (!p)
        return ps_error(PS_ERR_NO_MEMORY, 0, "%s: out of memory", fn);
    p->b = b;
    p->clock = cfg->clock ? cfg->clock : ps_clock_real();
    p->max_retries = cfg->max_retries;
    p->retry_wait_ns = cfg->retry_wait_ns;
    p->on_publish = cfg->on_publish;
    p->user = cfg->user;
    bool ok = true;
    if (cfg->subject_prefix && *cfg->subject_prefix) {
        ok = (p->prefix = pub_strdup(cfg->subject_prefix)) != NULL;
        p->prefix_len = ok ? strlen(p->prefix) : 0;
    }
    if (ok && cfg->auto_create)
        ok = pub_copy_stream(p, cfg->auto_create);
    if (!ok) {
        ps_publisher_free(p);
        return ps_error(PS_ERR_NO_MEMORY, 0, "%s: out of memory", fn);
    }
    *out = p;
    return PS_OK;
}

void ps_publisher_free(ps_publisher *p)
{
    if (!p)
        return;
    if (p->create_subjects)
        for (int i = 0; i < p->create.subjects_len; i++)
            free(p->create_subjects[i]);
    free(p->create_subjects);
    free(p->create_name);
    free(p->prefix);
    free(p->subj);
    free(p);
}

ps_status ps_publisher_stats_get(const ps_publisher *p, ps_publisher_stats *out)
{
    ps_error_clear();
    if (!p || !out)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_publisher_stats_get: %s is NULL",
                        p ? "out" : "publisher");
    *out = p->stats;
    return PS_OK;
}

/* ---- publishing ------------------------------------------------------------------ */

/* "<prefix>.<subject>" in the publisher's buffer, or the subject itself. The
 * backend judges whether the result is a valid subject. */
static ps_status pub_subject(ps_publisher *p, const char *subject, const char **full)
{
    if (!p->prefix) {
        *full = subject;
        return PS_OK;
    }
    size_t n = strlen(subject);
    size_t need = p->prefix_len + 1 + n + 1;
    if (need > p->subj_cap) {
        char *nb = realloc(p->subj, need);
        if (!nb)
            return ps_error(PS_ERR_NO_MEMORY, 0, "ps_publisher_publish: out of memory");
        p->subj = nb;
        p->subj_cap = need;
    }
    memcpy(p->subj, p->prefix, p->prefix_len);
    p->subj[p->prefix_len] = '.';
    memcpy(p->subj + p->prefix_len + 1, subject, n + 1);
    *full = p->subj;
    return PS_OK;
}

/* Failures worth another attempt: the request may not have reached a
 * server, or the server was briefly unable to answer. NO_RESPONDERS is one
 * only once this call has created the stream (a new stream may take a
 * moment to be served in a cluster); before that it means "no stream". */
static bool pub_transient(ps_status s, bool created)
{
    switch (s) {
    case PS_ERR_TIMEOUT:
    case PS_ERR_UNAVAILABLE:
    case PS_ERR_IO:
        return true;
    case PS_ERR_NO_RESPONDERS:
        return created;
    default:
        return false;
    }
}

/* The wait between retries. Never on a manual clock: nothing would move it
 * while we waited (the simulator schedules its own retries instead). */
static void pub_wait(const ps_publisher *p)
{
    if (p->retry_wait_ns <= 0 || ps_clock_is_manual(p->clock))
        return;
    struct timespec ts = {.tv_sec = (time_t)(p->retry_wait_ns / PS_NS_PER_SEC),
                          .tv_nsec = (long)(p->retry_wait_ns % PS_NS_PER_SEC)};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* The last-error detail survives the on_publish callback, which may call
 * other jetsim functions on this thread. */
typedef struct pub_saved_error {
    ps_status status;
    int js_code;
    int native_code;
    char msg[512];
} pub_saved_error;

static void pub_error_save(pub_saved_error *e)
{
    e->status = ps_last_status();
    e->js_code = ps_last_error_code();
    e->native_code = ps_last_native_code();
    snprintf(e->msg, sizeof e->msg, "%s", ps_last_error());
}

static void pub_error_restore(const pub_saved_error *e)
{
    if (e->status == PS_OK) {
        ps_error_clear();
        return;
    }
    ps_error(e->status, e->js_code, "%s", e->msg);
    ps_error_set_native(e->native_code);
}

/* Runs the attempts of one call (see ps_publisher_publish); returns the last
 * status and counts the attempts. */
static ps_status pub_attempts(ps_publisher *p, const ps_out_msg *m, ps_pub_ack *ack, int *attempts)
{
    bool created = false;
    int retries = 0;
    for (;;) {
        ps_status s = ps_publish(p->b, m, ack);
        ++*attempts;
        if (s == PS_ERR_NO_RESPONDERS && p->has_create && !created) {
            s = ps_stream_add(p->b, &p->create, NULL);
            if (s == PS_OK) {
                created = true;
                p->stats.streams_created++;
                continue; /* the re-publish after creation is not a retry */
            }
        }
        if (s == PS_OK || !pub_transient(s, created) || retries >= p->max_retries)
            return s;
        retries++;
        p->stats.retries++;
        pub_wait(p);
    }
}

ps_status ps_publisher_publish(ps_publisher *p, const ps_out_msg *m, ps_pub_ack *out)
{
    const char *fn = "ps_publisher_publish";
    ps_error_clear();
    if (!p)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: publisher is NULL", fn);
    if (!m)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: message is NULL", fn);
    if (!m->subject)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: subject is NULL", fn);
    ps_out_msg sent = *m;
    ps_status s = pub_subject(p, m->subject, &sent.subject);
    if (s)
        return s;

    int64_t start_ns = ps_clock_now(p->clock);
    ps_pub_ack ack;
    memset(&ack, 0, sizeof ack);
    int attempts = 0;
    s = pub_attempts(p, &sent, &ack, &attempts);
    int64_t latency_ns = ps_clock_now(p->clock) - start_ns;
    if (latency_ns < 0) /* the real clock is CLOCK_REALTIME and may step back */
        latency_ns = 0;

    if (s == PS_OK) {
        p->stats.published++;
        if (ack.duplicate)
            p->stats.duplicates++;
    } else {
        p->stats.failed++;
    }
    if (p->on_publish) {
        pub_saved_error e;
        pub_error_save(&e);
        p->on_publish(p->user, &sent, s, s == PS_OK ? &ack : NULL, latency_ns, attempts);
        pub_error_restore(&e);
    }
    if (s == PS_OK && out)
        *out = ack;
    return s;
}
