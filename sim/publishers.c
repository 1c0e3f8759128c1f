/* publishers.c — the simulated publishers: each publishes its jobs at its
 * rate, with a message id per job when the scenario says so, and retries a
 * failed publish after retry_wait up to `retry` times. A job counts as
 * published once its PubAck came back. A replay publishes a captured
 * workload's messages instead (their subjects through the transform,
 * their sizes and headers), at the workload's own pace or at rate=.
 *
 * Not: the jobs' processing (workers.c).
 */
#include "engine_internal.h"
#include "job_arrays.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ps_subject.h"
#include "ps_backend_impl.h"

/* ---- publishing --------------------------------------------------------------------- */

static const char *subject_of(const pubstate *ps, int64_t i)
{
    return ps->p->workload[0] ? ps->subjects[i] : ps->p->subject;
}

/* Reads a replay's workload: subjects mapped and checked against the
 * streams, JetStream's own headers left out (the scenario's msg_id rules),
 * due times from the gaps or the rate. */
static ps_status load_replay(engine *e, pubstate *ps)
{
    const sim_publisher *p = ps->p;
    ps_status s = sim_workload_load(&ps->wl, p->workload);
    if (s) /* bad input, whether the file is missing or malformed */
        return ps_error(s == PS_ERR_NO_MEMORY ? s : PS_ERR_INVALID_ARG, 0, "line %d: %s", p->pos.line,
                        ps_last_error());
    size_t n = ps->wl.count;
    if (p->count && (size_t)p->count < n)
        n = (size_t)p->count;
    if (n == 0)
        return ps_error(PS_ERR_INVALID_ARG, 0, "line %d: workload %s has no messages", p->pos.line, p->workload);
    ps->count = (int64_t)n;
    ps->subjects = calloc(n, sizeof *ps->subjects);
    ps->headers = calloc(n, sizeof *ps->headers);
    ps->at_ns = calloc(n, sizeof *ps->at_ns);
    if (!ps->subjects || !ps->headers || !ps->at_ns)
        return ps_error(PS_ERR_NO_MEMORY, 0, "engine: out of memory");
    int64_t t = 0;
    for (size_t i = 0; i < n; i++) {
        const sim_workload_msg *m = &ps->wl.msgs[i];
        ps->subjects[i] = p->transform[0] ? sim_workload_transform(p->transform, m->subject) : strdup(m->subject);
        if (!ps->subjects[i])
            return ps_error(PS_ERR_INVALID_ARG, 0, "line %d: workload %s message %zu: subject %s does not match "
                            "the transform %s", p->pos.line, p->workload, i + 1, m->subject, p->transform);
        bool captured = false;
        for (int k = 0; k < e->sc->nstreams; k++)
            for (int j = 0; j < e->sc->streams[k].nsubjects; j++)
                captured |= ps_subject_matches(e->sc->streams[k].subjects[j], ps->subjects[i]);
        if (!captured)
            return ps_error(PS_ERR_INVALID_ARG, 0, "line %d: workload %s message %zu: no stream captures %s",
                            p->pos.line, p->workload, i + 1, ps->subjects[i]);
        for (int h = 0; h < m->nheaders; h++) {
            if (!strncasecmp(m->names[h], "Nats-Msg-Id", 11) || !strncasecmp(m->names[h], "Nats-Expected-", 14))
                continue;
            if (!ps->headers[i] && !(ps->headers[i] = ps_headers_new()))
                return ps_error(PS_ERR_NO_MEMORY, 0, "engine: out of memory");
            if ((s = ps_headers_add(ps->headers[i], m->names[h], m->values[h])) != PS_OK)
                return ps_error(s, 0, "line %d: workload %s message %zu: header %s: %s", p->pos.line,
                                p->workload, i + 1, m->names[h], ps_last_error());
        }
        t = p->rate_per_s > 0 ? (int64_t)((double)i * 1e9 / p->rate_per_s) : t + (i ? m->gap_ns : 0);
        if (t > INT64_C(3650) * 86400 * PS_NS_PER_SEC)
            return ps_error(PS_ERR_INVALID_ARG, 0, "line %d: workload %s message %zu: more than ten years from "
                            "the first message", p->pos.line, p->workload, i + 1);
        ps->at_ns[i] = t;
        if (m->size > e->payload_cap) {
            char *b = realloc(e->payload, m->size);
            if (!b)
                return ps_error(PS_ERR_NO_MEMORY, 0, "engine: out of memory");
            memset(b, 'x', m->size);
            e->payload = b;
            e->payload_cap = m->size;
        }
    }
    return PS_OK;
}

ps_status eng_publishers_setup(engine *e, uint64_t seed)
{
    ps_status s = PS_OK;
    for (int i = 0; i < e->sc->npublishers && !s; i++) {
        pubstate *ps = &e->pub[i];
        ps->p = &e->sc->publishers[i];
        ps->count = ps->p->count;
        ps->rng = ps_rand_derive(seed, 100 + (uint64_t)i);
        /* retries are spread over virtual time here, not in the layer */
        ps_publisher_config pc = {.max_retries = 0, .clock = e->clock};
        s = ps_publisher_new(&ps->pw, e->b, &pc);
        if (!s && ps->p->workload[0])
            s = load_replay(e, ps);
        e->job_headers |= ps->p->workload[0] != '\0' || sim_user_has_payload(e->user, i);
        if (!s)
            s = sim_events_push(&e->q, e->base + ps->p->start_ns, EV_PUBLISH, i, 0);
    }
    return s;
}

void eng_publishers_free(engine *e)
{
    for (int i = 0; i < e->sc->npublishers; i++) {
        pubstate *ps = &e->pub[i];
        for (int64_t k = 0; ps->subjects && k < ps->count; k++) {
            free(ps->subjects[k]);
            ps_headers_free(ps->headers[k]);
        }
        free(ps->subjects);
        free(ps->headers);
        free(ps->at_ns);
        ps_headers_free(ps->jobhdr);
        sim_workload_free(&ps->wl);
        ps_publisher_free(ps->pw);
    }
    free(e->payload);
}

/* A delayed job's Jetsim-Not-Before on the broker's clock: its first
 * publish plus a delay from the publisher's delay= span, a pure function
 * of the seed and the job (as handler_fails in workers.c), so that `jetsim
 * diff` sees the same delays on the model and on a server. 0: no delay=. */
static int64_t not_before_of(const engine *e, const sim_publisher *p, uint64_t job)
{
    if (p->delay_max_ns <= 0)
        return 0;
    uint64_t x = e->seed ^ (job * UINT64_C(0xD6E8FEB86659FD93)) ^ UINT64_C(0x5DE1A7ED);
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9); /* splitmix64's finaliser */
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    x ^= x >> 31;
    uint64_t span = (uint64_t)(p->delay_max_ns - p->delay_min_ns) + 1;
    return ps_clock_now(e->bclock) + eng_scaled(e, p->delay_min_ns + (int64_t)(x % span));
}

/* The headers of a job's message when the publisher adds some (header=,
 * key_header=, delay=): a copy of `base` (may be NULL) with them; *out
 * stays NULL when it adds none. */
static ps_status job_headers(const engine *e, const sim_publisher *p, uint64_t job, const ps_headers *base,
                             ps_headers **out)
{
    *out = NULL;
    if (!p->header[0] && !(p->key_header[0] && e->keys[job] >= 0) && !e->not_before[job])
        return PS_OK;
    ps_headers *h = ps_headers_new();
    if (!h)
        return ps_error(PS_ERR_NO_MEMORY, 0, "engine: out of memory");
    ps_status s = PS_OK;
    for (int i = 0; base && s == PS_OK && i < ps_headers_count(base); i++)
        s = ps_headers_add(h, ps_headers_name_at(base, i), ps_headers_value_at(base, i));
    char v[SIM_TEXT_MAX];
    if (s == PS_OK && p->header[0]) {
        const char *colon = strchr(p->header, ':'); /* the parser saw to it */
        snprintf(v, sizeof v, "%.*s", (int)(colon - p->header), p->header);
        s = ps_headers_set(h, v, colon + 1);
    }
    if (s == PS_OK && p->key_header[0] && e->keys[job] >= 0) {
        snprintf(v, sizeof v, "%" PRId32, e->keys[job]);
        s = ps_headers_set(h, p->key_header, v);
    }
    if (s == PS_OK && e->not_before[job]) {
        snprintf(v, sizeof v, "%" PRId64, e->not_before[job]);
        s = ps_headers_set(h, PS_NOT_BEFORE_HEADER, v);
    }
    if (s != PS_OK) {
        ps_headers_free(h);
        return s;
    }
    *out = h;
    return PS_OK;
}

/* Whether consumer ci is owed a job published on `subject`: its stream
 * stores the subject and its filter, if any, takes it. */
static bool owed_by(const engine *e, int ci, const char *subject)
{
    const sim_consumer *c = &e->sc->consumers[ci];
    bool owed = false;
    for (int s = 0; s < e->sc->nstreams; s++) {
        const sim_stream *st = &e->sc->streams[s];
        if (strcmp(st->name, c->stream) != 0)
            continue;
        for (int k = 0; k < st->nsubjects; k++)
            owed |= ps_subject_matches(st->subjects[k], subject);
    }
    return c->filter[0] ? owed && ps_subject_matches(c->filter, subject) : owed;
}

/* The per-job arrays, each with its element size and how many elements
 * a capacity of `cap` jobs takes (rows: one per job and consumer, and
 * [0] unused). */
#define JOB_ARRAYS 8

static void job_arrays(engine *e, void ***p, size_t *elem)
{
    void **a[JOB_ARRAYS] = {(void **)&e->acked, (void **)&e->tries, (void **)&e->pubidx, (void **)&e->pubseq,
                            (void **)&e->msgidx, (void **)&e->keys, (void **)&e->not_before, (void **)&e->rows};
    size_t sz[JOB_ARRAYS] = {sizeof *e->acked, sizeof *e->tries, sizeof *e->pubidx, sizeof *e->pubseq,
                             sizeof *e->msgidx, sizeof *e->keys, sizeof *e->not_before, sizeof *e->rows};
    memcpy(p, a, sizeof a);
    memcpy(elem, sz, sizeof sz);
}

static uint64_t job_array_len(const engine *e, int i, uint64_t cap)
{
    return i == JOB_ARRAYS - 1 ? (cap ? cap * (uint64_t)e->nc + 1 : 0) : cap;
}

/* Doubles the per-job arrays, all or none (job_arrays.h: they come from
 * memory the process reuses from run to run). */
static ps_status grow_jobs(engine *e)
{
    uint64_t ncap = e->capjobs ? e->capjobs * 2 : 4096;
    void **p[JOB_ARRAYS], *n[JOB_ARRAYS];
    size_t elem[JOB_ARRAYS];
    job_arrays(e, p, elem);
    int i = 0;
    for (; i < JOB_ARRAYS; i++) {
        uint64_t old = job_array_len(e, i, e->capjobs), len = job_array_len(e, i, ncap);
        if (*p[i] && sim_job_array_bytes(elem[i], old) == sim_job_array_bytes(elem[i], len))
            n[i] = *p[i]; /* its region holds the new size too */
        else if (!(n[i] = sim_job_array_grow(NULL, elem[i], 0, len)))
            break;
    }
    if (i < JOB_ARRAYS) {
        while (i-- > 0)
            if (n[i] != *p[i])
                sim_job_array_free(n[i], elem[i], job_array_len(e, i, ncap));
        return ps_error(PS_ERR_NO_MEMORY, 0, "engine: out of memory");
    }
    for (i = 0; i < JOB_ARRAYS; i++) {
        uint64_t old = job_array_len(e, i, e->capjobs);
        if (n[i] == *p[i])
            continue;
        if (*p[i])
            memcpy(n[i], *p[i], elem[i] * old);
        sim_job_array_free(*p[i], elem[i], old);
        *p[i] = n[i];
    }
    e->capjobs = ncap;
    return PS_OK;
}

void eng_jobs_free(engine *e)
{
    void **p[JOB_ARRAYS];
    size_t elem[JOB_ARRAYS];
    job_arrays(e, p, elem);
    for (int i = 0; i < JOB_ARRAYS; i++) {
        sim_job_array_free(*p[i], elem[i], job_array_len(e, i, e->capjobs));
        *p[i] = NULL;
    }
    e->capjobs = 0;
}

static ps_status new_job(engine *e, int pi, uint64_t *out)
{
    ps_status grown;
    if (e->njobs + 1 >= e->capjobs && (grown = grow_jobs(e)) != PS_OK)
        return grown;
    uint64_t job = ++e->njobs;
    e->acked[job] = 0;
    e->tries[job] = 0;
    e->pubidx[job] = (uint32_t)pi;
    e->pubseq[job] = 0;
    e->msgidx[job] = (uint32_t)e->pub[pi].sent;
    const sim_publisher *p = e->pub[pi].p;
    const char *subject = subject_of(&e->pub[pi], e->pub[pi].sent);
    int64_t key = p->keys ? (int64_t)ps_rand_below(&e->pub[pi].rng, (uint64_t)p->keys) : -1;
    e->keys[job] = (int32_t)key;
    e->not_before[job] = not_before_of(e, p, job);
    int64_t now = ps_clock_now(e->clock);
    pubstate *ps = &e->pub[pi];
    if (!p->workload[0] && !ps->owed_known) {
        for (int ci = 0; ci < e->nc; ci++)
            ps->owed[ci] = owed_by(e, ci, subject);
        ps->owed_known = true;
    }
    for (int ci = 0; ci < e->nc; ci++) {
        bool owed = p->workload[0] ? owed_by(e, ci, subject) : ps->owed[ci];
        uint64_t r = eng_row_of(e, job, ci);
        e->rows[r] = (row){.owed = owed};
        ps_status s = sim_master_job_add(e->m, r, key, now, owed);
        if (s)
            return s;
    }
    *out = job;
    return PS_OK;
}

/* Writes `v` in decimal and a NUL to `out` (room for 21 bytes): what
 * snprintf "%" PRIu64 writes, at a tenth of its cost, once per publish. */
static void format_u64(char *out, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}

ps_status eng_on_publish(engine *e, int pi, uint64_t job)
{
    pubstate *ps = &e->pub[pi];
    const sim_publisher *p = ps->p;
    int64_t now = ps_clock_now(e->clock);
    if (job == 0) {
        if (ps->sent >= ps->count)
            return PS_OK;
        ps_status s = new_job(e, pi, &job);
        if (s)
            return s;
        ps->sent++;
        if (ps->sent < ps->count) {
            int64_t next = e->base + p->start_ns + (p->workload[0] ? ps->at_ns[ps->sent]
                                                     : (int64_t)((double)ps->sent * 1e9 / p->rate_per_s));
            /* A loop that has fallen behind real time (on a server) would
             * run every overdue publish before any worker; the publisher
             * waits its turn instead, and the rate is what the loop can
             * keep. (On the model the clock is the event's: never behind.) */
            if (next < now)
                next = now;
            eng_push(e, next, EV_PUBLISH, pi, 0);
        } else {
            e->publishers_done++;
            if (now > e->quiet_after)
                e->quiet_after = now;
        }
    }
    char data[24], id[32] = "job-";
    format_u64(data, job);
    memcpy(id + 4, data, strlen(data) + 1);
    uint32_t mi = e->msgidx[job];
    ps_out_msg m = {.subject = subject_of(ps, mi), .data = data, .len = strlen(data),
                    .msg_id = p->msg_id == SIM_MSG_ID_JOB ? id : NULL};
    if (p->workload[0]) { /* the captured size: the job id, then padding */
        size_t size = ps->wl.msgs[mi].size;
        if (size > m.len) {
            memcpy(e->payload, data, m.len);
            e->payload[m.len] = ' ';
            m.data = e->payload;
            m.len = size;
        }
        m.headers = ps->headers[mi];
    }
    if (sim_user_has_payload(e->user, pi)) { /* the user's payload; the job travels in a header */
        size_t len = 0;
        ps_status s = sim_user_payload(e->user, pi, job, e->keys[job], now, e->upayload, sizeof e->upayload, &len);
        if (!s && !ps->jobhdr && !(ps->jobhdr = ps_headers_new()))
            s = ps_error(PS_ERR_NO_MEMORY, 0, "engine: out of memory");
        if (!s)
            s = ps_headers_set(ps->jobhdr, SIM_JOB_HEADER, data);
        if (s)
            return s; /* the user's payload maker failed: the run cannot go on as written */
        m.data = e->upayload;
        m.len = len;
        m.headers = ps->jobhdr;
    }
    ps_headers *extra = NULL;
    ps_status hs = job_headers(e, p, job, m.headers, &extra);
    if (hs)
        return hs;
    if (extra)
        m.headers = extra;
    e->tries[job]++;
    ps_pub_ack ack;
    ps_status st = ps_publisher_publish(ps->pw, &m, &ack); /* the application's publisher layer */
    ps_headers_free(extra);
    if (st == PS_ERR_NO_MEMORY)
        return st; /* the harness's failure, not a lost publish */
    for (int ci = 0; ci < e->nc; ci++) /* stored (a lost PubAck too): a waiting worker of each consumer owed it */
        if (e->rows[eng_row_of(e, job, ci)].owed)
            eng_wake(e, ci);
    if (st == PS_OK) {
        e->pubseq[job] = ack.seq;
        bool first = !e->acked[job];
        if (first) {
            e->acked[job] = 1;
            e->res->jobs_published++;
            for (int ci = 0; ci < e->nc; ci++) {
                row *r = &e->rows[eng_row_of(e, job, ci)];
                if (r->owed && !r->settled)
                    e->open++;
            }
        }
        eng_trace(e, SIM_TR_PUBLISH, job, -1, (int64_t)ack.seq);
        for (int ci = 0; first && e->not_before[job] && ci < e->nc; ci++) /* for the story of a delayed job */
            if (e->rows[eng_row_of(e, job, ci)].owed)
                eng_trace(e, SIM_TR_DELAYED, eng_row_of(e, job, ci), -1,
                          eng_unscaled(e, e->not_before[job] - ps_clock_now(e->bclock)));
    } else if (e->tries[job] <= p->retry) {
        eng_trace(e, SIM_TR_PUBLISH_FAILED, job, -1, e->tries[job]);
        eng_push(e, now + p->retry_wait_ns, EV_PUBLISH, pi, job);
    } else {
        eng_trace(e, SIM_TR_PUBLISH_FAILED, job, -1, e->tries[job]);
        e->res->publish_failures++;
    }
    return PS_OK;
}
