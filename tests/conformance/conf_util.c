/* conf_util.c — the conformance suite's shared helpers.
 *
 * Short helpers that assert as they go, so a test reads as the rule it
 * checks. A failure inside a helper is reported at the calling test's line
 * (conf_here). Everything the helpers hand out is tracked here and released
 * after the test (conf_track_end), so a failing test leaks nothing under
 * ASan/LeakSanitizer.
 * Not: assertions about any one rule; those live in the conf_*.c files.
 */
#include "conformance.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- caller location ---------------------------------------------------------- */

static const char *g_file = __FILE__;
static int g_line;

void conf_here(const char *file, int line)
{
    g_file = file;
    g_line = line;
}

void conf_failf(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    print_error("%s\n", buf);
    _fail(g_file, g_line);
}

/* ---- tracking ------------------------------------------------------------------ */

typedef enum conf_kind {
    TRACK_LIST,
    TRACK_CONSUMER,
    TRACK_SINFO,
    TRACK_CINFO,
    TRACK_STORED,
    TRACK_HEADERS,
    TRACK_PULL
} conf_kind;

typedef struct conf_tracked {
    conf_kind kind;
    void *ptr;
} conf_tracked;

static conf_tracked *g_tracked;
static int g_ntracked, g_cap;
static conf_adv_log g_adv;

static void *track(conf_kind kind, void *ptr)
{
    if (!ptr)
        conf_failf("out of memory in the conformance suite");
    if (g_ntracked == g_cap) {
        int ncap = g_cap ? 2 * g_cap : 64;
        conf_tracked *n = realloc(g_tracked, (size_t)ncap * sizeof *n);
        if (!n)
            conf_failf("out of memory in the conformance suite");
        g_tracked = n;
        g_cap = ncap;
    }
    g_tracked[g_ntracked++] = (conf_tracked){kind, ptr};
    return ptr;
}

static void release_kind(conf_kind kind)
{
    for (int i = 0; i < g_ntracked; i++) {
        conf_tracked *t = &g_tracked[i];
        if (t->kind != kind || !t->ptr)
            continue;
        switch (kind) {
        case TRACK_LIST:
            ps_msg_list_free(t->ptr);
            free(t->ptr);
            break;
        case TRACK_CONSUMER:
            ps_consumer_free(t->ptr); /* the backend's handle: not ours to free() */
            break;
        case TRACK_SINFO:
            ps_stream_info_clear(t->ptr);
            free(t->ptr);
            break;
        case TRACK_CINFO:
            ps_consumer_info_clear(t->ptr);
            free(t->ptr);
            break;
        case TRACK_STORED:
            ps_stored_msg_clear(t->ptr);
            free(t->ptr);
            break;
        case TRACK_HEADERS:
            ps_headers_free(t->ptr);
            break;
        case TRACK_PULL:
            ps_pull_free(t->ptr);
            break;
        }
        t->ptr = NULL;
    }
}

void conf_track_begin(void)
{
    g_ntracked = 0;
    g_file = __FILE__;
    g_line = 0;
    memset(&g_adv, 0, sizeof g_adv);
}

void conf_track_end(conf_fixture *f)
{
    if (f->b)
        ps_backend_set_advisory_handler(f->b, NULL, NULL);
    /* Messages go before the handles they were fetched through. */
    release_kind(TRACK_LIST);
    release_kind(TRACK_SINFO);
    release_kind(TRACK_CINFO);
    release_kind(TRACK_STORED);
    release_kind(TRACK_HEADERS);
    release_kind(TRACK_PULL); /* pulls before the handles they were started from */
    release_kind(TRACK_CONSUMER);
    free(g_tracked);
    g_tracked = NULL;
    g_ntracked = g_cap = 0;
}

/* ---- errors ---------------------------------------------------------------------- */

void conf_ok_impl(ps_status s, const char *what)
{
    if (s != PS_OK)
        conf_failf("%s returned %s (err_code %d): %s", what, ps_status_name(s),
                   ps_last_error_code(), ps_last_error());
}

void conf_expect_error_impl(ps_status got, ps_status want, int code, const char *text)
{
    if (got != want)
        conf_failf("expected %s, got %s (err_code %d): %s", ps_status_name(want),
                   ps_status_name(got), ps_last_error_code(), ps_last_error());
    if (code != 0 && ps_last_error_code() != code)
        conf_failf("expected err_code %d, got %d: %s", code, ps_last_error_code(),
                   ps_last_error());
    if (text && !strstr(ps_last_error(), text))
        conf_failf("expected the error to contain \"%s\", got \"%s\"", text, ps_last_error());
}

/* ---- streams ------------------------------------------------------------------------- */

ps_stream_info *conf_stream_cfg_impl(conf_fixture *f, const ps_stream_config *c)
{
    ps_stream_info *si = track(TRACK_SINFO, calloc(1, sizeof *si));
    conf_ok_impl(ps_stream_add(f->b, c, si), "ps_stream_add");
    return si;
}

ps_stream_info *conf_stream_update_impl(conf_fixture *f, const ps_stream_config *c)
{
    ps_stream_info *si = track(TRACK_SINFO, calloc(1, sizeof *si));
    conf_ok_impl(ps_stream_update(f->b, c, si), "ps_stream_update");
    return si;
}

void conf_stream_impl(conf_fixture *f, const char *name, const char *subject, ps_retention r)
{
    ps_stream_config c = {.name = name, CONF_SUBJ(subject), .retention = r};
    conf_stream_cfg_impl(f, &c);
}

ps_stream_info *conf_sinfo_impl(conf_fixture *f, const char *stream)
{
    ps_stream_info *si = track(TRACK_SINFO, calloc(1, sizeof *si));
    conf_ok_impl(ps_stream_info_get(f->b, stream, si), "ps_stream_info_get");
    return si;
}

ps_stored_msg *conf_msg_get_impl(conf_fixture *f, const char *stream, uint64_t seq,
                                 const char *last_by_subject)
{
    ps_stored_msg *m = track(TRACK_STORED, calloc(1, sizeof *m));
    conf_ok_impl(ps_msg_get(f->b, stream, seq, last_by_subject, m), "ps_msg_get");
    return m;
}

ps_headers *conf_headers_impl(void)
{
    return track(TRACK_HEADERS, ps_headers_new());
}

/* ---- publishing ------------------------------------------------------------------------ */

ps_pub_ack conf_pub_id_impl(conf_fixture *f, const char *subject, const char *data, const char *id)
{
    ps_pub_ack pa;
    conf_ok_impl(ps_publish_data(f->b, subject, data, strlen(data), id, &pa), "ps_publish_data");
    return pa;
}

uint64_t conf_pub_impl(conf_fixture *f, const char *subject, const char *data)
{
    ps_pub_ack pa = conf_pub_id_impl(f, subject, data, NULL);
    if (pa.duplicate || pa.seq == 0)
        conf_failf("publish on %s: unexpected PubAck seq %" PRIu64 " duplicate %d", subject,
                   pa.seq, (int)pa.duplicate);
    return pa.seq;
}

uint64_t conf_pub_n_impl(conf_fixture *f, const char *subject, int n)
{
    uint64_t first = 0;
    for (int i = 1; i <= n; i++) {
        char data[32];
        snprintf(data, sizeof data, "m%d", i);
        uint64_t seq = conf_pub_impl(f, subject, data);
        if (i == 1)
            first = seq;
        else if (seq != first + (uint64_t)(i - 1))
            conf_failf("publish %d on %s got seq %" PRIu64 ", expected %" PRIu64, i, subject, seq,
                       first + (uint64_t)(i - 1));
    }
    return first;
}

void conf_pub_fail_impl(conf_fixture *f, const ps_out_msg *m, ps_status want, int code,
                        const char *text)
{
    ps_pub_ack pa;
    conf_expect_error_impl(ps_publish(f->b, m, &pa), want, code, text);
}

/* ---- consumers ------------------------------------------------------------------------------ */

ps_consumer *conf_consumer_impl(conf_fixture *f, const char *stream, const ps_consumer_config *cc)
{
    ps_consumer *c = NULL;
    conf_ok_impl(ps_consumer_add(f->b, stream, cc, &c), "ps_consumer_add");
    return track(TRACK_CONSUMER, c);
}

ps_consumer *conf_durable_impl(conf_fixture *f, const char *stream, const char *name,
                               int64_t ack_wait_ns)
{
    ps_consumer_config cc = {.durable = name, .ack_wait_ns = ack_wait_ns};
    return conf_consumer_impl(f, stream, &cc);
}

void conf_consumer_fail_impl(conf_fixture *f, const char *stream, const ps_consumer_config *cc,
                             ps_status want, int code, const char *text)
{
    ps_consumer *c = NULL;
    ps_status s = ps_consumer_add(f->b, stream, cc, &c);
    if (s == PS_OK)
        track(TRACK_CONSUMER, c);
    conf_expect_error_impl(s, want, code, text);
}

ps_consumer *conf_bind_impl(conf_fixture *f, const char *stream, const char *name)
{
    ps_consumer *c = NULL;
    conf_ok_impl(ps_consumer_bind(f->b, stream, name, &c), "ps_consumer_bind");
    return track(TRACK_CONSUMER, c);
}

ps_consumer_info *conf_cinfo_impl(ps_consumer *c)
{
    ps_consumer_info *ci = track(TRACK_CINFO, calloc(1, sizeof *ci));
    conf_ok_impl(ps_consumer_info_get(c, ci), "ps_consumer_info_get");
    return ci;
}

void conf_expect_counts_impl(ps_consumer *c, uint64_t num_pending, uint64_t num_ack_pending,
                             uint64_t num_redelivered)
{
    const ps_consumer_info *ci = conf_cinfo_impl(c);
    if (ci->num_pending != num_pending || ci->num_ack_pending != num_ack_pending ||
        ci->num_redelivered != num_redelivered)
        conf_failf("consumer %s: expected num_pending=%" PRIu64 " num_ack_pending=%" PRIu64
                   " num_redelivered=%" PRIu64 ", got %" PRIu64 " %" PRIu64 " %" PRIu64,
                   ci->name, num_pending, num_ack_pending, num_redelivered, ci->num_pending,
                   ci->num_ack_pending, ci->num_redelivered);
}

/* ---- fetching and acking ------------------------------------------------------------------- */

ps_status conf_fetch_req(ps_consumer *c, const ps_fetch_request *req, ps_msg_list **out)
{
    ps_msg_list *l = track(TRACK_LIST, calloc(1, sizeof *l));
    *out = l;
    return ps_fetch(c, req, l);
}

static uint64_t first_seq_of(const ps_msg_list *l)
{
    return l->count ? l->msgs[0]->meta.stream_seq : 0;
}

ps_msg_list *conf_fetch_impl(ps_consumer *c, int batch, int expect)
{
    ps_fetch_request req = {.batch = batch, .expires_ns = CONF_EXPIRES_NS};
    ps_msg_list *l;
    ps_status s = conf_fetch_req(c, &req, &l);
    ps_status want = expect > 0 ? PS_OK : PS_ERR_TIMEOUT;
    if (s != want || l->count != expect)
        conf_failf("fetch(batch %d): expected %s with %d message(s), got %s with %d "
                   "(first seq %" PRIu64 "): %s",
                   batch, ps_status_name(want), expect, ps_status_name(s), l->count,
                   first_seq_of(l), s == PS_OK ? "" : ps_last_error());
    return l;
}

ps_msg_list *conf_fetch_seqs_impl(ps_consumer *c, int batch, const uint64_t *seqs, int n)
{
    ps_msg_list *l = conf_fetch_impl(c, batch, n);
    for (int i = 0; i < n; i++)
        if (l->msgs[i]->meta.stream_seq != seqs[i])
            conf_failf("fetch: message %d has stream seq %" PRIu64 ", expected %" PRIu64, i,
                       l->msgs[i]->meta.stream_seq, seqs[i]);
    return l;
}

ps_msg *conf_fetch_one_impl(ps_consumer *c, uint64_t seq, uint64_t dc)
{
    ps_msg *m = conf_fetch_impl(c, 1, 1)->msgs[0];
    if (m->meta.stream_seq != seq || m->meta.num_delivered != dc)
        conf_failf("fetch: expected seq %" PRIu64 " delivery %" PRIu64 ", got seq %" PRIu64
                   " delivery %" PRIu64, seq, dc, m->meta.stream_seq, m->meta.num_delivered);
    return m;
}

void conf_fetch_none_impl(ps_consumer *c)
{
    ps_fetch_request req = {.batch = 1, .expires_ns = CONF_NONE_EXPIRES_NS};
    ps_msg_list *l;
    ps_status s = conf_fetch_req(c, &req, &l);
    if (s != PS_ERR_TIMEOUT || l->count != 0)
        conf_failf("fetch: expected nothing deliverable (PS_ERR_TIMEOUT), got %s with %d "
                   "message(s) (first seq %" PRIu64 ", delivery %" PRIu64 ")",
                   ps_status_name(s), l->count, first_seq_of(l),
                   l->count ? l->msgs[0]->meta.num_delivered : 0);
}

void conf_ack_impl(ps_msg *m, ps_ack_kind kind, int64_t nak_delay_ns)
{
    ps_status s = ps_ack(m, kind, nak_delay_ns);
    if (s != PS_OK)
        conf_failf("ack kind %d of seq %" PRIu64 ": %s: %s", (int)kind, m->meta.stream_seq,
                   ps_status_name(s), ps_last_error());
}

void conf_ack_all_impl(ps_msg_list *l, ps_ack_kind kind)
{
    for (int i = 0; i < l->count; i++)
        conf_ack_impl(l->msgs[i], kind, 0);
}

/* ---- asynchronous pulls ----------------------------------------------------------------- */

ps_pull *conf_pull_start_impl(ps_consumer *c, ps_fetch_request req)
{
    ps_pull *p = NULL;
    conf_ok_impl(ps_pull_start(c, &req, &p), "ps_pull_start");
    return track(TRACK_PULL, p);
}

/* One poll; its messages join `out`. */
static void poll_once(ps_pull *p, conf_pulled *out)
{
    ps_msg_list *l = track(TRACK_LIST, calloc(1, sizeof *l));
    ps_pull_end end;
    conf_ok_impl(ps_pull_poll(p, l, &end), "ps_pull_poll");
    for (int i = 0; i < l->count; i++) {
        if (out->count == CONF_PULLED_MAX)
            conf_failf("a pull returned more than %d messages", CONF_PULLED_MAX);
        out->msgs[out->count++] = l->msgs[i];
    }
    out->end = end;
}

void conf_pull_collect_impl(conf_fixture *f, ps_pull *p, bool until_done, conf_pulled *out)
{
    memset(out, 0, sizeof *out);
    poll_once(p, out);
    /* A server's answers take a moment: poll a while, or until the end. */
    int budget_ms = until_done ? 2000 : CONF_PULL_SETTLE_MS;
    for (int waited = 0; f->real_time && waited < budget_ms && !out->end.done; waited += 10) {
        f->advance(f, 10 * CONF_MS);
        poll_once(p, out);
    }
    if (until_done && !out->end.done)
        conf_failf("the pull did not end (%d message(s) came)", out->count);
}

void conf_expect_pull_end_impl(const conf_pulled *r, ps_status status, int code, const char *desc)
{
    if (!r->end.done)
        conf_failf("the pull is still waiting; expected it ended with %s", ps_status_name(status));
    if (r->end.status != status || r->end.code != code || strcmp(r->end.description, desc) != 0)
        conf_failf("the pull ended with %s, %d \"%s\"; expected %s, %d \"%s\"",
                   ps_status_name(r->end.status), r->end.code, r->end.description,
                   ps_status_name(status), code, desc);
}

/* ---- time ------------------------------------------------------------------------------------ */

void conf_advance_ms(conf_fixture *f, int64_t ms)
{
    f->advance(f, ms * CONF_MS);
}

void conf_settle(conf_fixture *f)
{
    /* The manual clock must not move here, or timing tests would drift;
     * a zero advance still runs the backend's due work. */
    f->advance(f, f->real_time ? CONF_SETTLE_MS * CONF_MS : 0);
}

/* ---- advisories ---------------------------------------------------------------------------------- */

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static void on_advisory(void *user, const ps_advisory *adv)
{
    conf_adv_log *log = user;
    if (log->count >= CONF_ADV_MAX)
        return;
    conf_adv *r = &log->recs[log->count++];
    r->kind = adv->kind;
    copy_str(r->subject, sizeof r->subject, adv->subject);
    copy_str(r->type, sizeof r->type, adv->type);
    copy_str(r->stream, sizeof r->stream, adv->stream);
    copy_str(r->consumer, sizeof r->consumer, adv->consumer);
    r->stream_seq = adv->stream_seq;
    r->consumer_seq = adv->consumer_seq;
    r->deliveries = adv->deliveries;
}

conf_adv_log *conf_adv_capture(conf_fixture *f)
{
    memset(&g_adv, 0, sizeof g_adv);
    ps_backend_set_advisory_handler(f->b, on_advisory, &g_adv);
    conf_settle(f); /* a server's advisory subscription needs a moment */
    return &g_adv;
}

int conf_adv_count(const conf_adv_log *log, ps_advisory_kind kind, const char *consumer)
{
    int n = 0;
    for (int i = 0; i < log->count; i++)
        if (log->recs[i].kind == kind && (!consumer || strcmp(consumer, log->recs[i].consumer) == 0))
            n++;
    return n;
}

const conf_adv *conf_adv_find(const conf_adv_log *log, ps_advisory_kind kind, int nth)
{
    for (int i = 0; i < log->count; i++)
        if (log->recs[i].kind == kind && nth-- == 0)
            return &log->recs[i];
    return NULL;
}

/* ---- restarts --------------------------------------------------------------------------------------- */

void conf_require_restart(conf_fixture *f)
{
    if (!f->restart) {
        print_message("[  SKIPPED ] fixture \"%s\" has no restart hook (JS 13.1 not checked)\n",
                      f->name);
        skip();
    }
}

void conf_restart_impl(conf_fixture *f, ps_restart_kind kind)
{
    ps_status s = f->restart(f, kind);
    if (s == PS_ERR_NOT_SUPPORTED) {
        print_message("[  SKIPPED ] fixture \"%s\" cannot perform restart kind %d: %s\n",
                      f->name, (int)kind, ps_last_error());
        skip();
    }
    conf_ok_impl(s, "restart");
}

void conf_expect_no_consumer_impl(conf_fixture *f, const char *stream)
{
    int waited_ms = 0;
    for (;;) {
        ps_stream_info si = {0};
        ps_status s = ps_stream_info_get(f->b, stream, &si);
        int n = si.state.consumers;
        ps_stream_info_clear(&si);
        if (s != PS_OK)
            conf_failf("stream info %s: %s: %s", stream, ps_status_name(s), ps_last_error());
        if (n == 0)
            return;
        if (!f->real_time || waited_ms >= 1000)
            conf_failf("stream %s has %d consumer(s) after a refused create, expected none", stream, n);
        f->advance(f, 50 * CONF_MS);
        waited_ms += 50;
    }
}
