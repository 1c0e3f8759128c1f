/* dt_exec.c — runs an operation sequence on one backend and writes one
 * normalised result line per operation.
 *
 * A result line holds what a client can observe and both backends must
 * agree on: the status and JetStream err_code of a failure, sequences,
 * counts, normalised configs, delivery metadata. It leaves out what is
 * free to differ: error texts, timestamps, generated (ephemeral) names.
 * Consumer handles live in slots; every fetched message is held until the
 * end, so that an ack may name a stale delivery or a deleted consumer's.
 *
 * Not: a judge of which answer is right (difftest.c compares; the server
 * is the truth).
 */
#include "difftest.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ps_memory.h"

static const char *const stream_names[DT_STREAMS] = {"DA", "DB"};

/* The manual clock's start: fixed, so memory runs are pure functions of
 * the sequence (no result line shows an absolute time). */
#define DT_CLOCK_START_NS INT64_C(1700000000000000000)

typedef struct dt_ctx {
    ps_backend *b;
    ps_clock *clock; /* the memory backend's manual clock; NULL on a server */
    ps_consumer *slot[DT_SLOTS];
    ps_pull *pull[DT_PULLS];
    bool pull_over[DT_PULLS]; /* the slot's pull was seen ending */
    ps_consumer **retired; /* replaced handles, freed at the end */
    int nretired, capretired;
    ps_msg_list **lists;   /* every fetch's list, freed at the end */
    int nlists, caplists;
    ps_msg **held;         /* every fetched message, in fetch order */
    int nheld, capheld;
    const int64_t *at_ns;  /* memory, timed: the server's instant of each op */
    int64_t *rec_ns;       /* server, timed: where to record them */
    char line[8192];
    size_t len;
    /* Server: the first answer the tester cannot compare (PS_ERR_INTERNAL:
     * an err_code jetsim does not map, such as a server's storage limit,
     * or a reply it could not read), with the server's words. */
    bool uncomparable;
    int uncomparable_code;
    char uncomparable_text[256];
} dt_ctx;

static int grow(void *arrp, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return 0;
    int ncap = *cap ? *cap * 2 : 32;
    while (ncap < need)
        ncap *= 2;
    void *n = realloc(*(void **)arrp, (size_t)ncap * elem);
    if (!n)
        return -1;
    *(void **)arrp = n;
    *cap = ncap;
    return 0;
}

static void out(dt_ctx *x, const char *fmt, ...)
{
    if (x->len >= sizeof x->line)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(x->line + x->len, sizeof x->line - x->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        x->len += (size_t)n;
}

/* "err PS_ERR_X/10071" for a failure. */
static void out_status(dt_ctx *x, ps_status s)
{
    if (s == PS_OK) {
        out(x, "ok");
        return;
    }
    out(x, "err %s/%d", ps_status_name(s), ps_last_error_code());
    /* The model never answers PS_ERR_INTERNAL: on a server it says
     * something about the server (a limit, its version), not the model. */
    if (s == PS_ERR_INTERNAL && !x->clock && !x->uncomparable) {
        x->uncomparable = true;
        x->uncomparable_code = ps_last_error_code();
        snprintf(x->uncomparable_text, sizeof x->uncomparable_text, "%s", ps_last_error());
    }
}

/* ---- streams ------------------------------------------------------------------ */

static int split_subjects(char *buf, const char *list, const char **v, int max)
{
    strcpy(buf, list);
    int n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && n < max; t = strtok_r(NULL, ",", &save))
        v[n++] = t;
    return n;
}

static void stream_config(const dt_op *op, ps_stream_config *c, char *buf, const char **subj)
{
    memset(c, 0, sizeof *c);
    c->name = stream_names[op->st % DT_STREAMS];
    c->subjects_len = split_subjects(buf, op->subjects, subj, 4);
    c->subjects = c->subjects_len ? subj : NULL;
    c->retention = (ps_retention)op->ret;
    c->storage = (ps_storage)op->sto;
    c->discard = (ps_discard)op->disc;
    c->discard_new_per_subject = op->dnps;
    c->max_msgs = op->mmsgs;
    c->max_bytes = op->mbytes;
    c->max_age_ns = op->mage_ms * PS_NS_PER_MS;
    c->max_msgs_per_subject = op->mmps;
    c->max_msg_size = (int32_t)op->msize;
    c->max_consumers = (int32_t)op->mcons;
    c->duplicates_ns = op->dup_ms * PS_NS_PER_MS;
    c->sealed = op->sealed;
    c->deny_delete = op->ddel;
    c->deny_purge = op->dpur;
    c->allow_rollup = op->rollup;
}

static void out_stream_info(dt_ctx *x, const ps_stream_info *i)
{
    const ps_stream_config *c = &i->config;
    out(x, " subjects=");
    for (int k = 0; k < c->subjects_len; k++)
        out(x, "%s%s", k ? "," : "", c->subjects[k]);
    out(x, " ret=%d sto=%d disc=%d dnps=%d mmsgs=%" PRId64 " mbytes=%" PRId64 " mage=%" PRId64
           " mmps=%" PRId64 " msize=%d mcons=%d dup=%" PRId64 " sealed=%d ddel=%d dpur=%d rollup=%d",
        c->retention, c->storage, c->discard, c->discard_new_per_subject, c->max_msgs, c->max_bytes,
        c->max_age_ns, c->max_msgs_per_subject, c->max_msg_size, c->max_consumers, c->duplicates_ns,
        c->sealed, c->deny_delete, c->deny_purge, c->allow_rollup);
    const ps_stream_state *s = &i->state;
    out(x, " | msgs=%" PRIu64 " bytes=%" PRIu64 " first=%" PRIu64 " last=%" PRIu64 " deleted=%" PRIu64
           " subjects=%" PRIu64 " consumers=%d",
        s->msgs, s->bytes, s->first_seq, s->last_seq, s->num_deleted, s->num_subjects, s->consumers);
}

static void do_stream_add(dt_ctx *x, const dt_op *op)
{
    ps_stream_config c;
    char buf[DT_STR];
    const char *subj[4];
    stream_config(op, &c, buf, subj);
    ps_stream_info info = {0};
    ps_status s = op->kind == DT_STREAM_ADD ? ps_stream_add(x->b, &c, &info)
                                            : ps_stream_update(x->b, &c, &info);
    out_status(x, s);
    if (s == PS_OK)
        out_stream_info(x, &info);
    ps_stream_info_clear(&info);
}

static void do_stream_info(dt_ctx *x, const dt_op *op)
{
    ps_stream_info info = {0};
    ps_status s = ps_stream_info_get(x->b, stream_names[op->st % DT_STREAMS], &info);
    out_status(x, s);
    if (s == PS_OK)
        out_stream_info(x, &info);
    ps_stream_info_clear(&info);
}

/* ---- messages -------------------------------------------------------------------- */

static void do_publish(dt_ctx *x, const dt_op *op)
{
    char data[128], id[16], elid[16];
    size_t len = (size_t)op->size < sizeof data ? (size_t)op->size : sizeof data;
    for (size_t i = 0; i < len; i++)
        data[i] = (char)('a' + i % 26);
    ps_out_msg m = {.subject = op->subj, .data = data, .len = len};
    if (op->id) {
        snprintf(id, sizeof id, "id%" PRId64, op->id);
        m.msg_id = id;
    }
    if (op->es)
        m.expected_stream = stream_names[(op->st + op->es - 1) % DT_STREAMS];
    if (op->els) {
        m.has_expected_last_seq = true;
        m.expected_last_seq = (uint64_t)op->els - 1;
    }
    if (op->elss) {
        m.has_expected_last_subject_seq = true;
        m.expected_last_subject_seq = (uint64_t)op->elss - 1;
    }
    if (op->elid) {
        snprintf(elid, sizeof elid, "id%" PRId64, op->elid);
        m.expected_last_msg_id = elid;
    }
    ps_pub_ack ack = {0};
    ps_status s = ps_publish(x->b, &m, &ack);
    out_status(x, s);
    if (s == PS_OK)
        out(x, " stream=%s seq=%" PRIu64 " dup=%d", ack.stream, ack.seq, ack.duplicate);
}

static void do_purge(dt_ctx *x, const dt_op *op)
{
    ps_purge_opts o = {.filter = op->subj[0] ? op->subj : NULL, .seq = (uint64_t)op->seq,
                       .keep = (uint64_t)op->keep};
    uint64_t purged = 0;
    ps_status s = ps_stream_purge(x->b, stream_names[op->st % DT_STREAMS], &o, &purged);
    out_status(x, s);
    if (s == PS_OK)
        out(x, " purged=%" PRIu64, purged);
}

static void do_msg_delete(dt_ctx *x, const dt_op *op)
{
    out_status(x, ps_msg_delete(x->b, stream_names[op->st % DT_STREAMS], (uint64_t)op->seq, op->erase));
}

static void do_msg_get(dt_ctx *x, const dt_op *op)
{
    ps_stored_msg m = {0};
    ps_status s = ps_msg_get(x->b, stream_names[op->st % DT_STREAMS], (uint64_t)op->seq,
                             op->subj[0] ? op->subj : NULL, &m);
    out_status(x, s);
    if (s == PS_OK)
        out(x, " subj=%s seq=%" PRIu64 " len=%zu hdr=%zu", m.subject, m.seq, m.len, m.hdr_len);
    ps_stored_msg_clear(&m);
}

/* ---- consumers --------------------------------------------------------------------- */

static int split_backoff(const char *list, int64_t *v, int max)
{
    int n = 0;
    for (const char *p = list; *p && n < max;) {
        v[n++] = strtoll(p, (char **)&p, 10) * PS_NS_PER_MS;
        if (*p == ',')
            p++;
    }
    return n;
}

static void out_consumer_info(dt_ctx *x, const ps_consumer_info *i, bool with_config)
{
    if (with_config) {
        const ps_consumer_config *c = &i->config;
        out(x, " filter=%s dp=%d oss=%" PRIu64 " ap=%d aw=%" PRId64 " md=%" PRId64 " bo=%d mack=%" PRId64
               " mwait=%" PRId64 " mrb=%" PRId64 " hdro=%d |",
            c->filter_subject ? c->filter_subject : "", c->deliver_policy, c->opt_start_seq,
            c->ack_policy, c->ack_wait_ns, c->max_deliver, c->backoff_len, c->max_ack_pending,
            c->max_waiting, c->max_request_batch, c->headers_only);
    }
    out(x, " delivered=%" PRIu64 "/%" PRIu64 " floor=%" PRIu64 "/%" PRIu64 " ack_pending=%" PRIu64
           " redelivered=%" PRIu64 " waiting=%" PRIu64 " pending=%" PRIu64,
        i->delivered.consumer_seq, i->delivered.stream_seq, i->ack_floor.consumer_seq,
        i->ack_floor.stream_seq, i->num_ack_pending, i->num_redelivered, i->num_waiting,
        i->num_pending);
}

/* On a server, while a pull may wait, what the previous operation set off
 * (a delivery to the pull, its scan of the stream, a 409) happens on the
 * consumer's own goroutine a moment later; the next operation waits for
 * it, or it would race that goroutine. The model does it at once. */
#define DT_PULL_SETTLE_MS 5

static void settle_pulls(const dt_ctx *x)
{
    bool live = false;
    for (int i = 0; i < DT_PULLS; i++)
        live |= x->pull[i] && !x->pull_over[i];
    struct timespec ts = {0, DT_PULL_SETTLE_MS * 1000 * 1000};
    if (live && !x->clock)
        nanosleep(&ts, NULL);
}

static int retire(dt_ctx *x, int slot)
{
    if (!x->slot[slot])
        return 0;
    if (grow(&x->retired, &x->capretired, x->nretired + 1, sizeof *x->retired) != 0)
        return -1;
    x->retired[x->nretired++] = x->slot[slot];
    x->slot[slot] = NULL;
    return 0;
}

static int do_consumer_add(dt_ctx *x, const dt_op *op)
{
    int slot = (int)(op->cs % DT_SLOTS);
    char name[8];
    snprintf(name, sizeof name, "C%d", slot);
    int64_t bo[8];
    ps_consumer_config c = {
        .durable = op->dur ? name : NULL,
        .filter_subject = op->subj[0] ? op->subj : NULL,
        .deliver_policy = (ps_deliver_policy)op->dp,
        .opt_start_seq = (uint64_t)op->oss,
        .opt_start_time_ns = op->ost * PS_NS_PER_SEC,
        .ack_policy = (ps_ack_policy)op->ap,
        .ack_wait_ns = op->aw_ms * PS_NS_PER_MS,
        .max_deliver = op->md,
        .backoff_ns = bo,
        .backoff_len = split_backoff(op->bo, bo, 8),
        .max_ack_pending = op->mack,
        .max_waiting = op->mwait,
        .max_request_batch = op->mrb,
        .inactive_threshold_ns = op->inact_ms * PS_NS_PER_MS,
        .headers_only = op->hdro,
    };
    if (c.backoff_len == 0)
        c.backoff_ns = NULL;
    ps_consumer *h = NULL;
    ps_status s = ps_consumer_add(x->b, stream_names[op->st % DT_STREAMS], &c, &h);
    out_status(x, s);
    if (s != PS_OK)
        return 0;
    if (retire(x, slot) != 0) {
        ps_consumer_free(h);
        return -1;
    }
    x->slot[slot] = h;
    settle_pulls(x); /* an update may have let a waiting pull be served */
    ps_consumer_info info = {0};
    s = ps_consumer_info_get(h, &info);
    out(x, " name=%s info:", op->dur ? h->name : "eph");
    out_status(x, s);
    if (s == PS_OK)
        out_consumer_info(x, &info, true);
    ps_consumer_info_clear(&info);
    return 0;
}

static void do_consumer_info(dt_ctx *x, const dt_op *op)
{
    ps_consumer *h = x->slot[op->cs % DT_SLOTS];
    if (!h) {
        out(x, "no handle");
        return;
    }
    ps_consumer_info info = {0};
    ps_status s = ps_consumer_info_get(h, &info);
    out_status(x, s);
    if (s == PS_OK)
        out_consumer_info(x, &info, false);
    ps_consumer_info_clear(&info);
}

static void do_consumer_delete(dt_ctx *x, const dt_op *op)
{
    ps_consumer *h = x->slot[op->cs % DT_SLOTS];
    if (!h) {
        out(x, "no handle");
        return;
    }
    out_status(x, ps_consumer_delete(x->b, h->stream, h->name));
}

static int do_fetch(dt_ctx *x, const dt_op *op)
{
    ps_consumer *h = x->slot[op->cs % DT_SLOTS];
    if (!h) {
        out(x, "no handle");
        return 0;
    }
    ps_msg_list *l = calloc(1, sizeof *l);
    if (!l || grow(&x->lists, &x->caplists, x->nlists + 1, sizeof *x->lists) != 0) {
        free(l);
        return -1;
    }
    x->lists[x->nlists++] = l;
    ps_fetch_request req = {.batch = (int)op->batch, .expires_ns = op->exp_ms * PS_NS_PER_MS,
                            .max_bytes = op->mb, .no_wait = op->nw};
    ps_status s = ps_fetch(h, &req, l);
    out_status(x, s);
    if (s != PS_OK)
        return 0;
    if (grow(&x->held, &x->capheld, x->nheld + l->count, sizeof *x->held) != 0)
        return -1;
    out(x, " n=%d", l->count);
    for (int i = 0; i < l->count; i++) {
        const ps_msg *m = l->msgs[i];
        out(x, " [%s s%" PRIu64 " d%" PRIu64 " n%" PRIu64 " p%" PRIu64 " len%zu]", m->subject,
            m->meta.stream_seq, m->meta.consumer_seq, m->meta.num_delivered, m->meta.num_pending,
            m->len);
        x->held[x->nheld++] = l->msgs[i];
    }
    return 0;
}

static void do_ack(dt_ctx *x, const dt_op *op)
{
    if (x->nheld == 0) {
        out(x, "nothing held");
        return;
    }
    ps_msg *m = x->held[op->m % x->nheld];
    out(x, "s%" PRIu64 " d%" PRIu64 " ", m->meta.stream_seq, m->meta.consumer_seq);
    ps_ack_kind kind = (ps_ack_kind)op->ack;
    int64_t delay = op->delay_ms * PS_NS_PER_MS;
    out_status(x, op->rs ? ps_ack_send(m, kind, delay) : ps_ack(m, kind, delay));
}

/* ---- asynchronous pulls ----------------------------------------------------------- */

static void do_pull_start(dt_ctx *x, const dt_op *op)
{
    ps_consumer *h = x->slot[op->cs % DT_SLOTS];
    if (!h) {
        out(x, "no handle");
        return;
    }
    int ps = (int)(op->ps % DT_PULLS);
    ps_pull_free(x->pull[ps]); /* the one in the slot is withdrawn */
    x->pull[ps] = NULL;
    x->pull_over[ps] = false;
    ps_fetch_request req = {.batch = (int)op->batch, .expires_ns = op->exp_ms * PS_NS_PER_MS,
                            .max_bytes = op->mb, .no_wait = op->nw};
    out_status(x, ps_pull_start(h, &req, &x->pull[ps]));
}

/* One poll; its messages are held for later acks and written out. */
static int poll_once(dt_ctx *x, ps_pull *p, ps_pull_end *end, int *count)
{
    ps_msg_list *l = calloc(1, sizeof *l);
    if (!l || grow(&x->lists, &x->caplists, x->nlists + 1, sizeof *x->lists) != 0) {
        free(l);
        return -1;
    }
    x->lists[x->nlists++] = l;
    ps_status s = ps_pull_poll(p, l, end);
    if (s != PS_OK) {
        out_status(x, s);
        return 1;
    }
    if (grow(&x->held, &x->capheld, x->nheld + l->count, sizeof *x->held) != 0)
        return -1;
    for (int i = 0; i < l->count; i++) {
        const ps_msg *m = l->msgs[i];
        out(x, " [%s s%" PRIu64 " d%" PRIu64 " n%" PRIu64 " p%" PRIu64 " len%zu]", m->subject,
            m->meta.stream_seq, m->meta.consumer_seq, m->meta.num_delivered, m->meta.num_pending,
            m->len);
        x->held[x->nheld++] = l->msgs[i];
    }
    *count += l->count;
    return 0;
}

/* On a server, deliveries and statuses are in flight for a moment after the
 * operation that caused them: a poll listens this long. */
#define DT_POLL_SETTLE_MS 15

static int do_pull_poll(dt_ctx *x, const dt_op *op)
{
    ps_pull *p = x->pull[op->ps % DT_PULLS];
    if (!p) {
        out(x, "no pull");
        return 0;
    }
    ps_pull_end end = {0};
    int count = 0, rc = 0;
    out(x, "got");
    for (int waited = 0; rc == 0 && !end.done; waited += 3) {
        rc = poll_once(x, p, &end, &count);
        if (x->clock || waited >= DT_POLL_SETTLE_MS)
            break;
        struct timespec ts = {0, 3 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    out(x, " n=%d", count);
    x->pull_over[op->ps % DT_PULLS] = end.done;
    if (!end.done) {
        out(x, " waiting");
        return 0;
    }
    out(x, " end=%s/%d/", ps_status_name(end.status), end.code);
    for (const char *c = end.description; *c; c++)
        out(x, "%c", *c == ' ' ? '_' : *c);
    out(x, "/%" PRId64 "/%" PRId64, end.pending_msgs, end.pending_bytes);
    return 0;
}

static void do_wait(dt_ctx *x, const dt_op *op)
{
    int64_t ns = op->ms * PS_NS_PER_MS;
    if (x->clock) {
        /* With recorded instants the next op's clock covers the wait. */
        if (!x->at_ns)
            ps_clock_advance(x->clock, ns);
        out_status(x, ps_backend_tick(x->b));
        return;
    }
    struct timespec ts = {.tv_sec = ns / PS_NS_PER_SEC, .tv_nsec = ns % PS_NS_PER_SEC};
    while (nanosleep(&ts, &ts) != 0)
        ;
    out(x, "ok");
}

/* ---- running a sequence ------------------------------------------------------------- */

static int run_one(dt_ctx *x, const dt_op *op)
{
    switch (op->kind) {
    case DT_STREAM_ADD:
    case DT_STREAM_UPDATE: do_stream_add(x, op); return 0;
    case DT_STREAM_DELETE: out_status(x, ps_stream_delete(x->b, stream_names[op->st % DT_STREAMS])); return 0;
    case DT_STREAM_INFO: do_stream_info(x, op); return 0;
    case DT_PUBLISH: do_publish(x, op); return 0;
    case DT_PURGE: do_purge(x, op); return 0;
    case DT_MSG_DELETE: do_msg_delete(x, op); return 0;
    case DT_MSG_GET: do_msg_get(x, op); return 0;
    case DT_CONSUMER_ADD: return do_consumer_add(x, op);
    case DT_CONSUMER_INFO: do_consumer_info(x, op); return 0;
    case DT_CONSUMER_DELETE: do_consumer_delete(x, op); return 0;
    case DT_FETCH: return do_fetch(x, op);
    case DT_ACK: do_ack(x, op); return 0;
    case DT_WAIT: do_wait(x, op); return 0;
    case DT_PULL_START: do_pull_start(x, op); return 0;
    case DT_PULL_POLL: return do_pull_poll(x, op);
    case DT_KIND_COUNT: break;
    }
    out(x, "bad op");
    return 0;
}

static void release(dt_ctx *x)
{
    for (int i = 0; i < DT_PULLS; i++)
        ps_pull_free(x->pull[i]); /* before the handles they were started from */
    for (int i = 0; i < x->nlists; i++) {
        ps_msg_list_free(x->lists[i]);
        free(x->lists[i]);
    }
    for (int i = 0; i < DT_SLOTS; i++)
        ps_consumer_free(x->slot[i]);
    for (int i = 0; i < x->nretired; i++)
        ps_consumer_free(x->retired[i]);
    free(x->lists);
    free(x->retired);
    free(x->held);
}

static int run(dt_ctx *x, const dt_seq *seq, dt_transcript *t)
{
    memset(t, 0, sizeof *t);
    t->lines = calloc((size_t)seq->n + 1, sizeof *t->lines);
    int rc = t->lines ? 0 : -1;
    int64_t t0 = ps_clock_now(ps_clock_real());
    for (int i = 0; rc == 0 && i < seq->n; i++) {
        x->len = 0;
        x->line[0] = 0;
        settle_pulls(x);
        if (x->rec_ns)
            x->rec_ns[i] = ps_clock_now(ps_clock_real()) - t0;
        if (x->at_ns && x->clock) {
            int64_t when = DT_CLOCK_START_NS + x->at_ns[i];
            if (when > ps_clock_now(x->clock))
                ps_clock_set(x->clock, when);
        }
        rc = run_one(x, &seq->ops[i]);
        if (rc == 0 && !(t->lines[t->n++] = strdup(x->line)))
            rc = -1;
        if (rc == 0 && x->uncomparable) {
            char op[1024];
            dt_op_format(&seq->ops[i], op, sizeof op);
            fprintf(stderr, "difftest: op %d (%s): the server answered err_code %d (\"%s\"), which jetsim maps "
                            "to PS_ERR_INTERNAL: the tester cannot compare it with the model. A limit or state "
                            "of this server (10047 and 10028 are storage limits), not a divergence\n",
                    i + 1, op, x->uncomparable_code, x->uncomparable_text);
            rc = -1;
        }
    }
    release(x);
    return rc;
}

void dt_transcript_free(dt_transcript *t)
{
    for (int i = 0; i < t->n; i++)
        free(t->lines[i]);
    free(t->lines);
    memset(t, 0, sizeof *t);
}

int dt_run_memory(const dt_seq *seq, const int64_t *at_ns, dt_transcript *t)
{
    dt_ctx *x = calloc(1, sizeof *x);
    if (!x)
        return -1;
    x->at_ns = at_ns;
    x->clock = ps_clock_manual_new(DT_CLOCK_START_NS);
    ps_memory_options o = {.clock = x->clock, .seed = 1};
    if (!x->clock || ps_memory_new(&x->b, &o) != PS_OK) {
        ps_clock_free(x->clock);
        free(x);
        return -1;
    }
    int rc = run(x, seq, t);
    ps_backend_close(x->b);
    ps_clock_free(x->clock);
    free(x);
    return rc;
}

int dt_run_server(ps_backend *b, const dt_seq *seq, int64_t *at_ns, dt_transcript *t)
{
    dt_ctx *x = calloc(1, sizeof *x);
    if (!x)
        return -1;
    x->b = b;
    x->rec_ns = at_ns;
    for (int i = 0; i < DT_STREAMS; i++)
        (void)ps_stream_delete(b, stream_names[i]); /* a clean server: missing is fine */
    int rc = run(x, seq, t);
    free(x);
    return rc;
}
