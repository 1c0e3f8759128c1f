/* mem_consumer.c — consumer administration: defaults and validation (JS 5.1,
 * 5.2, 4.3), create-or-update (JS 5.3), start position (JS 6.2), info
 * (JS 9), delete (JS 5.5) and the handles applications hold.
 *
 * This file is not: the delivery engine (mem_deliver.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem_internal.h"
#include "ps_subject.h"

#define CC_ERR(code, ...) ps_error(PS_ERR_CONSUMER_CONFIG, code, __VA_ARGS__)

bool mem_consumer_matches_filter(const mem_consumer *c, const mem_subj *subj)
{
    if (!c->filter_wc) /* LoadNextMsg(filter, filterWC=false): equality */
        return strcmp(c->filter, subj->name) == 0;
    return ps_subject_matches(c->filter, subj->name);
}

bool mem_consumer_signalled(const mem_consumer *c, const mem_subj *subj)
{
    return !c->sig_filter || ps_subject_matches(c->sig_filter, subj->name);
}

/* NumPending from scratch (JS 9): matching messages at or above sseq, plus
 * what remains of a last-per-subject skip list. */
uint64_t mem_consumer_count_pending(const mem_consumer *c)
{
    const mem_stream *st = c->st;
    uint64_t n = 0;
    uint64_t from = c->sseq;
    if (c->lps && c->lps_pos < c->lps_len) {
        n = c->lps_len - c->lps_pos;
        from = c->lps_resume + 1;
    }
    if (st->msgs)
        for (uint64_t s = from > st->first_seq ? from : st->first_seq; s <= st->last_seq; s++) {
            const mem_smsg *m = mem_store_get(st, s);
            n += m && mem_consumer_matches(c, m->subj);
        }
    return n;
}

void mem_consumer_recount(mem_consumer *c)
{
    c->npend_new = mem_consumer_count_pending(c);
}

/* streamNumPending of nats-server 2.9.10: matching messages at or above
 * sseq, npcm the last of them; for last-per-subject, the matching subjects
 * whose last message is at or above sseq, npcm the highest such last. */
/* FilteredState and SubjectsState match the filter for real, whatever
 * filterWC says (see filter_wc). */
static bool npc_matches(const mem_consumer *c, const mem_subj *subj)
{
    return !c->filter || ps_subject_matches(c->filter, subj->name);
}

static void npc_count(const mem_consumer *c, int64_t *npc, uint64_t *npcm)
{
    const mem_stream *st = c->st;
    bool lps = c->cfg.deliver_policy == PS_DELIVER_LAST_PER_SUBJECT;
    *npc = 0;
    *npcm = 0;
    /* Fast path: npend_new already counts the matches at or above sseq when
     * delivery matches for real (no stale filterWC) and there is no skip
     * list; npcm is then the last of them, found from the end. */
    if (!lps && !c->lps && (!c->filter || c->filter_wc || ps_subject_is_literal(c->filter))) {
        *npc = (int64_t)c->npend_new;
        for (uint64_t s = st->last_seq; c->npend_new && st->msgs && s >= c->sseq && s >= st->first_seq; s--) {
            const mem_smsg *m = mem_store_get(st, s);
            if (m && npc_matches(c, m->subj)) {
                *npcm = s;
                break;
            }
        }
        return;
    }
    for (uint64_t s = c->sseq > st->first_seq ? c->sseq : st->first_seq; st->msgs && s <= st->last_seq; s++) {
        const mem_smsg *m = mem_store_get(st, s);
        if (!m || !npc_matches(c, m->subj) || (lps && m->subj->last_seq != s))
            continue;
        (*npc)++;
        *npcm = s;
    }
}

void mem_consumer_npc_reset(mem_consumer *c)
{
    npc_count(c, &c->npc, &c->npcm);
}

uint64_t mem_consumer_npc_peek(const mem_consumer *c, bool first_delivery)
{
    int64_t v = c->npc;
    if (c->npcm == 0) {
        uint64_t m;
        npc_count(c, &v, &m);
    } else if (first_delivery) {
        v--;
    }
    return v < 0 ? 0 : (uint64_t)v; /* the server reads a wrapped count as 0 */
}

/* JS 4.5: does this consumer still need `seq` on an Interest stream? */
bool mem_consumer_needs(const mem_consumer *c, uint64_t seq, const mem_subj *subj)
{
    /* needAck compares with the server's asflr, the floor it reports ((0,0)
     * before the first ack), so an AckAll or AckNone consumer needs even
     * the messages below its start position until it acks (difftest). */
    uint64_t asflr = c->floor.consumer_seq ? c->floor.stream_seq : c->zero_floor.stream_seq;
    if (!mem_consumer_matches(c, subj) || seq <= asflr)
        return false;
    if (c->cfg.ack_policy != PS_ACK_EXPLICIT)
        return true;
    return seq >= c->sseq || mem_pend_has(c, seq);
}

/* ---- defaults and validation ------------------------------------------------- */

static const char *policy_name(ps_deliver_policy p)
{
    switch (p) {
    case PS_DELIVER_ALL: return "deliver all";
    case PS_DELIVER_LAST: return "deliver last";
    case PS_DELIVER_NEW: return "deliver new";
    case PS_DELIVER_BY_START_SEQ: return "deliver by start sequence";
    case PS_DELIVER_BY_START_TIME: return "deliver by start time";
    case PS_DELIVER_LAST_PER_SUBJECT: return "deliver last per subject";
    }
    return "unknown";
}

/* JS 5.2, DeliverPolicy / OptStartSeq / OptStartTime conflicts: 10094. */
static ps_status check_deliver(const ps_consumer_config *c)
{
    const char *p = policy_name(c->deliver_policy);
    bool want_seq = c->deliver_policy == PS_DELIVER_BY_START_SEQ;
    bool want_time = c->deliver_policy == PS_DELIVER_BY_START_TIME;
    if ((unsigned)c->deliver_policy > PS_DELIVER_LAST_PER_SUBJECT)
        return CC_ERR(10094, "consumer delivery policy %d is unknown", (int)c->deliver_policy);
    if (want_seq && c->opt_start_seq == 0)
        return CC_ERR(10094, "consumer delivery policy is %s, but optional start sequence is not set", p);
    if (want_time && c->opt_start_time_ns == 0)
        return CC_ERR(10094, "consumer delivery policy is %s, but optional start time is not set", p);
    if (!want_seq && c->opt_start_seq != 0)
        return CC_ERR(10094, "consumer delivery policy is %s, but optional start sequence is also set", p);
    if (!want_time && c->opt_start_time_ns != 0)
        return CC_ERR(10094, "consumer delivery policy is %s, but optional start time is also set", p);
    if (c->deliver_policy == PS_DELIVER_LAST_PER_SUBJECT && !c->filter_subject)
        return CC_ERR(10094, "consumer delivery policy is %s, but optional filter subject is not set", p);
    return PS_OK;
}

static bool filter_ok(const mem_stream *st, const char *f)
{
    bool wild = !ps_subject_is_literal(f);
    for (int i = 0; i < st->cfg.subjects_len; i++)
        if (ps_subject_is_subset(f, st->subjects[i]) ||
            (wild && ps_subject_is_subset(st->subjects[i], f)))
            return true;
    return false;
}

/* JS 5.1 defaults, then the checks of JS 5.2 that need no other consumer. */
/* JS 5.2: the server's own checks of a durable name. */
static ps_status check_durable(const char *d)
{
    if (!d)
        return PS_OK;
    if (strlen(d) > PS_NAME_MAX)
        return CC_ERR(10102, "consumer name is too long, maximum allowed is 255");
    if (strpbrk(d, "/\\"))
        return CC_ERR(10127, "Consumer name can not contain path separators");
    if (ps_name_check("durable name", d) != PS_OK)
        return CC_ERR(10103, "durable name can not contain '.', '*', '>'");
    return PS_OK;
}

static ps_status normalise(const mem_stream *st, const ps_consumer_config *in,
                           ps_consumer_config *n)
{
    ps_status s = check_durable(in->durable);
    if (s != PS_OK)
        return s;
    *n = *in;
    if ((unsigned)n->ack_policy > PS_ACK_ALL)
        return CC_ERR(10012, "ack policy %d is unknown", (int)n->ack_policy);
    if (n->backoff_len > 0 && n->max_deliver <= n->backoff_len)
        return CC_ERR(10116, "max deliver is required to be > length of backoff values");
    /* The server's checkConsumerCfg refuses AckNone on a work queue before
     * it looks at the filter, the deliver policy or MaxConsumers. */
    if (n->ack_policy == PS_ACK_NONE && st->cfg.retention == PS_RETENTION_WORKQUEUE)
        return CC_ERR(10084, "consumer in pull mode requires ack policy");
    if (n->ack_policy != PS_ACK_NONE && n->ack_wait_ns == 0)
        n->ack_wait_ns = 30 * PS_NS_PER_SEC;
    if (n->backoff_len > 0)
        n->ack_wait_ns = n->backoff_ns[0];
    if (n->max_deliver == 0)
        n->max_deliver = -1;
    if (n->max_ack_pending == 0 && n->ack_policy != PS_ACK_NONE)
        n->max_ack_pending = 1000;
    if (n->max_waiting == 0)
        n->max_waiting = 512;
    if (!n->durable && n->inactive_threshold_ns == 0)
        n->inactive_threshold_ns = 5 * PS_NS_PER_SEC;
    if (n->filter_subject && !*n->filter_subject)
        n->filter_subject = NULL;
    if (n->filter_subject && (!ps_subject_valid(n->filter_subject) || !filter_ok(st, n->filter_subject)))
        return CC_ERR(10093, "consumer filter subject \"%s\" is not a valid subset of the interest subjects",
                      n->filter_subject);
    s = check_deliver(n);
    if (s != PS_OK)
        return s;
    if (n->max_request_expires_ns > 0 && n->max_request_expires_ns < PS_NS_PER_MS)
        return CC_ERR(10115, "consumer max request expires needs to be >= 1ms");
    if (n->replay_policy == PS_REPLAY_ORIGINAL)
        return ps_error(PS_ERR_NOT_SUPPORTED, 0,
                        "replay policy original is not modelled by the memory backend");
    return PS_OK;
}

/* JS 4.3, in the server's order (AckNone was refused by normalise). */
static ps_status check_workqueue(const mem_stream *st, const ps_consumer_config *n)
{
    if (n->ack_policy != PS_ACK_EXPLICIT)
        return CC_ERR(10098, "workqueue stream requires explicit ack");
    if (st->nconsumers > 0 && !n->filter_subject)
        return CC_ERR(10099, "multiple non-filtered consumers not allowed on workqueue stream");
    for (int i = 0; i < st->nconsumers; i++) {
        const char *f = st->consumers[i]->filter;
        /* Only subset/superset counts, not collision (JS 4.3 quirk). */
        if (!f || ps_subject_is_subset(f, n->filter_subject) ||
            ps_subject_is_subset(n->filter_subject, f))
            return CC_ERR(10100, "filtered consumer not unique on workqueue stream");
    }
    if (n->deliver_policy != PS_DELIVER_ALL)
        return CC_ERR(10101, "consumer must be deliver all on workqueue stream");
    return PS_OK;
}

/* JS 5.3: what an update may not change (10012). */
static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* reflect.DeepEqual of two normalised configs, as checkNewConsumerConfig
 * starts with. */
static bool config_equal(const ps_consumer_config *a, const ps_consumer_config *b)
{
    bool backoff = a->backoff_len == b->backoff_len &&
                   (a->backoff_len <= 0 ||
                    memcmp(a->backoff_ns, b->backoff_ns, (size_t)a->backoff_len * sizeof(int64_t)) == 0);
    return backoff && str_eq(a->durable, b->durable) && str_eq(a->filter_subject, b->filter_subject) &&
           a->deliver_policy == b->deliver_policy && a->opt_start_seq == b->opt_start_seq &&
           a->opt_start_time_ns == b->opt_start_time_ns && a->ack_policy == b->ack_policy &&
           a->replay_policy == b->replay_policy && a->ack_wait_ns == b->ack_wait_ns &&
           a->max_deliver == b->max_deliver && a->max_ack_pending == b->max_ack_pending &&
           a->max_waiting == b->max_waiting && a->max_request_batch == b->max_request_batch &&
           a->max_request_expires_ns == b->max_request_expires_ns &&
           a->max_request_max_bytes == b->max_request_max_bytes &&
           a->inactive_threshold_ns == b->inactive_threshold_ns &&
           a->headers_only == b->headers_only && a->memory_storage == b->memory_storage &&
           a->replicas == b->replicas;
}

static ps_status check_update(const mem_consumer *c, const ps_consumer_config *n)
{
    const ps_consumer_config *o = &c->cfg;
    const char *what = NULL;
    if (config_equal(o, n))
        return PS_OK;
    if (o->deliver_policy != n->deliver_policy)
        what = "deliver policy";
    else if (o->opt_start_seq != n->opt_start_seq)
        what = "start sequence";
    /* The server compares the two *time.Time pointers, which differ
     * whenever either is set: a by-start-time consumer cannot be updated
     * unless nothing changes (found by difftest, seed 920). */
    else if (o->opt_start_time_ns || n->opt_start_time_ns)
        what = "start time";
    else if (o->ack_policy != n->ack_policy)
        what = "ack policy";
    else if (o->replay_policy != n->replay_policy)
        what = "replay policy";
    else if (o->max_waiting != n->max_waiting)
        what = "max waiting";
    /* A new filter subject is accepted, as nats-server 2.9.10 does, with its
     * quirks (filter_wc, sig_filter): found by the differential tester. */
    if (what)
        return CC_ERR(10012, "consumer %s: %s can not be updated", c->name, what);
    return PS_OK;
}

/* ---- owned copies of the config --------------------------------------------------- */

static bool own_config(mem_consumer *c, const ps_consumer_config *n)
{
    char *durable = n->durable ? mem_strdup(n->durable) : NULL;
    char *filter = n->filter_subject ? mem_strdup(n->filter_subject) : NULL;
    int64_t *backoff = NULL;
    if (n->backoff_len > 0 && (backoff = malloc((size_t)n->backoff_len * sizeof *backoff)))
        memcpy(backoff, n->backoff_ns, (size_t)n->backoff_len * sizeof *backoff);
    if ((n->durable && !durable) || (n->filter_subject && !filter) ||
        (n->backoff_len > 0 && !backoff)) {
        free(durable);
        free(filter);
        free(backoff);
        return false;
    }
    free(c->durable);
    free(c->filter);
    free(c->backoff);
    c->durable = durable;
    c->filter = filter;
    c->backoff = backoff;
    c->cfg = *n;
    c->cfg.durable = durable;
    c->cfg.filter_subject = filter;
    c->cfg.backoff_ns = backoff;
    mem_consumer_refilter(c);
    return true;
}

void mem_consumer_refilter(mem_consumer *c)
{
    const char *filter = c->filter;
    c->filter_all = true;
    if (filter && !c->filter_wc && !ps_subject_is_literal(filter))
        c->filter_all = false; /* a stale literal match: see filter_wc */
    else if (filter)
        for (int i = 0; i < c->st->cfg.subjects_len; i++)
            if (!ps_subject_is_subset(c->st->subjects[i], filter))
                c->filter_all = false;
}

/* ---- start position (JS 6.2) ------------------------------------------------------- */

static uint64_t last_matching(const mem_consumer *c)
{
    const mem_stream *st = c->st;
    for (uint64_t s = st->last_seq; st->msgs && s >= st->first_seq; s--) {
        const mem_smsg *m = mem_store_get(st, s);
        if (m && mem_consumer_matches(c, m->subj))
            return s;
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The skip list: the last sequence of every matching subject, sorted. */
static bool build_lps(mem_consumer *c)
{
    const mem_stream *st = c->st;
    size_t n = 0, cap = 16;
    uint64_t *seqs = malloc(cap * sizeof *seqs);
    if (!seqs)
        return false;
    for (uint64_t s = st->first_seq; st->msgs && s <= st->last_seq; s++) {
        const mem_smsg *m = mem_store_get(st, s);
        if (!m || m->subj->last_seq != s || !mem_consumer_matches(c, m->subj))
            continue;
        if (n == cap) {
            uint64_t *ns = realloc(seqs, (cap *= 2) * sizeof *ns);
            if (!ns) {
                free(seqs);
                return false;
            }
            seqs = ns;
        }
        seqs[n++] = s;
    }
    qsort(seqs, n, sizeof *seqs, cmp_u64);
    c->lps = seqs;
    c->lps_len = (uint32_t)n;
    c->lps_pos = 0;
    c->lps_resume = st->last_seq;
    return true;
}

static bool start_position(mem_consumer *c)
{
    const mem_stream *st = c->st;
    uint64_t first = st->msgs ? st->first_seq : st->last_seq + 1;
    uint64_t s = first;
    switch (c->cfg.deliver_policy) {
    case PS_DELIVER_ALL:
        break;
    case PS_DELIVER_LAST:
        /* nats-server 2.9.10 (selectStartingSeqNo): the last matching
         * sequence; with a filter that matches nothing that is 0, which
         * the clamp below turns into the FIRST sequence. */
        s = c->filter_all ? st->last_seq : last_matching(c);
        break;
    case PS_DELIVER_NEW:
        s = st->last_seq + 1;
        break;
    case PS_DELIVER_BY_START_SEQ:
        s = c->cfg.opt_start_seq;
        if (s < first)
            s = first;
        if (s > st->last_seq + 1)
            s = st->last_seq + 1;
        break;
    case PS_DELIVER_BY_START_TIME:
        s = st->last_seq + 1;
        for (uint64_t q = first; st->msgs && q <= st->last_seq; q++) {
            const mem_smsg *m = mem_store_get(st, q);
            if (m && m->ts >= c->cfg.opt_start_time_ns) {
                s = q;
                break;
            }
        }
        break;
    case PS_DELIVER_LAST_PER_SUBJECT:
        if (!build_lps(c))
            return false;
        /* No matching subject: the server starts at LastSeq itself. */
        s = c->lps_len ? c->lps[0] : st->last_seq;
        break;
    }
    /* The server's clamp: a stream that never stored anything starts at 1. */
    if (st->last_seq == 0 && !st->purged_once)
        s = 1;
    else if (s < first)
        s = first;
    else if (s > st->last_seq)
        s = st->last_seq + 1;
    c->sseq = s;
    c->dseq = 1;
    c->floor = (ps_seq_pair){0, s - 1};
    mem_consumer_recount(c);
    mem_consumer_npc_reset(c);
    return true;
}

/* ---- create, update, delete ------------------------------------------------------- */

static void gen_name(mem_backend *mb, char out[9])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    for (int i = 0; i < 8; i++)
        out[i] = alphabet[ps_rand_below(&mb->rng, sizeof alphabet - 1)];
    out[8] = '\0';
}

static mem_consumer *find(const mem_stream *st, const char *name)
{
    for (int i = 0; i < st->nconsumers; i++)
        if (strcmp(st->consumers[i]->name, name) == 0)
            return st->consumers[i];
    return NULL;
}

static ps_status create(mem_stream *st, const ps_consumer_config *n, const char *name,
                        mem_consumer **out)
{
    if (st->nconsumers == st->consumers_cap) {
        int ncap = st->consumers_cap ? st->consumers_cap * 2 : 4;
        mem_consumer **nc = realloc(st->consumers, (size_t)ncap * sizeof *nc);
        if (!nc)
            return ps_error(PS_ERR_NO_MEMORY, 0, "consumer create: out of memory");
        st->consumers = nc;
        st->consumers_cap = ncap;
    }
    mem_consumer *c = calloc(1, sizeof *c);
    if (!c)
        return ps_error(PS_ERR_NO_MEMORY, 0, "consumer create: out of memory");
    c->st = st;
    c->pend_free = UINT32_MAX;
    c->uid = ++st->mb->next_uid;
    c->ephemeral = n->durable == NULL;
    int64_t now = mem_now(st->mb);
    c->created_ns = c->last_activity_ns = c->snap_ns = c->changed_ns = now;
    c->filter_wc = n->filter_subject && !ps_subject_is_literal(n->filter_subject);
    bool sig_ok = !n->filter_subject || (c->sig_filter = mem_strdup(n->filter_subject));
    if (!sig_ok || !(c->name = mem_strdup(name)) || !own_config(c, n) || !start_position(c)) {
        mem_consumer_free(c);
        return ps_error(PS_ERR_NO_MEMORY, 0, "consumer create: out of memory");
    }
    st->consumers[st->nconsumers++] = c;
    *out = c;
    return PS_OK;
}

static ps_status update(mem_consumer *c, const ps_consumer_config *n)
{
    ps_status s = check_update(c, n);
    if (s != PS_OK)
        return s;
    int64_t old_wait = c->cfg.ack_wait_ns;
    if (!own_config(c, n))
        return ps_error(PS_ERR_NO_MEMORY, 0, "consumer update: out of memory");
    if (old_wait != c->cfg.ack_wait_ns || c->cfg.backoff_len) {
        /* JS 5.3: a new AckWait reschedules the redelivery timer. */
        mem_timers_rearm_all(c);
    }
    mem_consumer_recount(c); /* the filter may have changed */
    c->wake = c->npulls > 0;
    mem_signal(c->st->mb); /* MaxAckPending may have grown */
    return PS_OK;
}

static ps_status handle_new(mem_backend *mb, const char *stream, const char *name,
                            ps_consumer **out)
{
    size_t ls = strlen(stream) + 1, ln = strlen(name) + 1;
    mem_handle *h = calloc(1, sizeof *h + ls + ln);
    if (!h)
        return ps_error(PS_ERR_NO_MEMORY, 0, "consumer handle: out of memory");
    char *p = (char *)(h + 1);
    memcpy(p, stream, ls);
    memcpy(p + ls, name, ln);
    h->base.backend = &mb->base;
    h->base.stream = p;
    h->base.name = p + ls;
    h->mb = mb;
    h->epoch = UINT64_MAX;
    *out = &h->base;
    return PS_OK;
}

static ps_status add_locked(mem_backend *mb, const char *stream,
                            const ps_consumer_config *cfg, char *name_out)
{
    mem_stream *st = mem_stream_find(mb, stream);
    if (!st)
        return ps_error(PS_ERR_STREAM_NOT_FOUND, 10059, "stream not found: %s", stream);
    ps_consumer_config n;
    ps_status s = normalise(st, cfg, &n);
    if (s != PS_OK)
        return s;
    mem_consumer *c = n.durable ? find(st, n.durable) : NULL;
    if (c) {
        snprintf(name_out, PS_NAME_MAX_BUF, "%s", c->name);
        return update(c, &n);
    }
    if (st->cfg.max_consumers > 0 && st->nconsumers >= st->cfg.max_consumers)
        return ps_error(PS_ERR_MAX_CONSUMERS, 10026, "stream %s: maximum consumers limit reached", stream);
    if (st->cfg.retention == PS_RETENTION_WORKQUEUE && (s = check_workqueue(st, &n)) != PS_OK)
        return s;
    char gen[9];
    if (!n.durable)
        do
            gen_name(mb, gen);
        while (find(st, gen));
    s = create(st, &n, n.durable ? n.durable : gen, &c);
    if (s != PS_OK)
        return s;
    snprintf(name_out, PS_NAME_MAX_BUF, "%s", c->name);
    mem_adv_consumer_action(mb, PS_ADV_CONSUMER_CREATED, st->name, c->name);
    return PS_OK;
}

ps_status mem_consumer_add(ps_backend *b, const char *stream, const ps_consumer_config *cfg,
                           ps_consumer **out)
{
    mem_backend *mb = (mem_backend *)b;
    char name[PS_NAME_MAX_BUF];
    mem_lock(mb);
    mem_run_timers(mb, mem_now(mb));
    ps_status s = add_locked(mb, stream, cfg, name);
    mem_unlock(mb);
    return s == PS_OK ? handle_new(mb, stream, name, out) : s;
}

ps_status mem_consumer_bind(ps_backend *b, const char *stream, const char *name, ps_consumer **out)
{
    mem_backend *mb = (mem_backend *)b;
    mem_lock(mb);
    mem_run_timers(mb, mem_now(mb));
    mem_stream *st = mem_stream_find(mb, stream);
    ps_status s = PS_OK;
    if (!st)
        s = ps_error(PS_ERR_STREAM_NOT_FOUND, 10059, "stream not found: %s", stream);
    else if (!find(st, name))
        s = ps_error(PS_ERR_CONSUMER_NOT_FOUND, 10014, "consumer not found: %s on stream %s", name, stream);
    mem_unlock(mb);
    return s == PS_OK ? handle_new(mb, stream, name, out) : s;
}

void mem_consumer_free_handle(ps_consumer *c)
{
    free(c);
}

mem_consumer *mem_handle_lookup(mem_handle *h)
{
    mem_backend *mb = h->mb;
    /* The epoch moves only when something goes away, so a miss is looked
     * up again (mem_handle_resolve): the consumer may have been created
     * (again) since. */
    mem_stream *st = mem_stream_find(mb, h->base.stream);
    h->cached = st ? find(st, h->base.name) : NULL;
    h->epoch = mb->epoch;
    return h->cached;
}

void mem_consumer_free(mem_consumer *c)
{
    if (!c)
        return;
    mem_pulls_consumer_gone(c, false);
    free(c->sig_filter);
    mem_pend_free_all(c);
    mem_u64map_free(&c->rdc);
    mem_u64map_free(&c->rdq_bare);
    mem_fifo_free(&c->rdq);
    free(c->lps);
    mem_snap_free(&c->snap);
    free(c->durable);
    free(c->filter);
    free(c->backoff);
    free(c->name);
    free(c);
}

/* Unlinks and frees. On an Interest stream the messages from the ack floor
 * (included) up are re-evaluated, and those nobody else needs go (JS 4.5). */
void mem_consumer_destroy(mem_consumer *c, bool advisory)
{
    mem_stream *st = c->st;
    mem_backend *mb = st->mb;
    mem_pulls_consumer_gone(c, true); /* JS 5.5: 409 Consumer Deleted */
    for (int i = 0; i < st->nconsumers; i++)
        if (st->consumers[i] == c) {
            memmove(&st->consumers[i], &st->consumers[i + 1],
                    (size_t)(st->nconsumers - i - 1) * sizeof *st->consumers);
            st->nconsumers--;
            break;
        }
    mb->epoch++;
    /* The server starts at its asflr itself (the floor it reports, (0,0)
     * before the first ack), not above it (consumer.stopWithFlags). */
    uint64_t from = c->floor.consumer_seq ? c->floor.stream_seq : c->zero_floor.stream_seq;
    char name[PS_NAME_MAX_BUF];
    snprintf(name, sizeof name, "%s", c->name);
    mem_consumer_free(c);
    if (st->cfg.retention == PS_RETENTION_INTEREST) {
        int64_t now = mem_now(mb);
        for (uint64_t s = from > st->first_seq ? from : st->first_seq; st->msgs && s <= st->last_seq; s++)
            mem_stream_ack(st, s, now);
    }
    if (advisory)
        mem_adv_consumer_action(mb, PS_ADV_CONSUMER_DELETED, st->name, name);
    mem_signal(mb);
}

ps_status mem_consumer_delete(ps_backend *b, const char *stream, const char *name)
{
    mem_backend *mb = (mem_backend *)b;
    mem_lock(mb);
    mem_run_timers(mb, mem_now(mb));
    mem_stream *st = mem_stream_find(mb, stream);
    mem_consumer *c = st ? find(st, name) : NULL;
    ps_status s = PS_OK;
    if (!st)
        s = ps_error(PS_ERR_STREAM_NOT_FOUND, 10059, "stream not found: %s", stream);
    else if (!c)
        s = ps_error(PS_ERR_CONSUMER_NOT_FOUND, 10014, "consumer not found: %s on stream %s", name, stream);
    else
        mem_consumer_destroy(c, true);
    mem_unlock(mb);
    return s;
}

/* ---- info (JS 9) ------------------------------------------------------------------- */

static ps_status fill_info(const mem_consumer *c, ps_consumer_info *out)
{
    size_t nb = (size_t)c->cfg.backoff_len * sizeof(int64_t);
    size_t ld = c->durable ? strlen(c->durable) + 1 : 0;
    size_t lf = c->filter ? strlen(c->filter) + 1 : 0;
    char *block = malloc(nb + ld + lf + 1);
    if (!block)
        return ps_error(PS_ERR_NO_MEMORY, 0, "consumer info: out of memory");
    memset(out, 0, sizeof *out);
    out->config = c->cfg;
    if (nb) {
        memcpy(block, c->backoff, nb);
        out->config.backoff_ns = (const int64_t *)(void *)block;
    }
    char *p = block + nb;
    if (ld) {
        memcpy(p, c->durable, ld);
        out->config.durable = p;
        p += ld;
    }
    if (lf) {
        memcpy(p, c->filter, lf);
        out->config.filter_subject = p;
    }
    out->owned_ = block;
    snprintf(out->stream, sizeof out->stream, "%s", c->st->name);
    snprintf(out->name, sizeof out->name, "%s", c->name);
    out->created_ns = c->created_ns;
    out->delivered = (ps_seq_pair){c->dseq - 1, c->sseq - 1};
    /* JS 9, as the server reports it: the floor reads (0,0) until the
     * first message at the start position is acknowledged, whatever the
     * deliver policy, unless a purge moved it (zero_floor). */
    out->ack_floor = c->floor.consumer_seq ? c->floor : c->zero_floor;
    out->num_ack_pending = c->pend_len;
    out->num_redelivered = c->rdc.len;
    out->num_waiting = (uint64_t)(c->nwaiting + c->npulls);
    out->num_pending = c->npc < 0 ? 0 : (uint64_t)c->npc; /* just recounted */
    return PS_OK;
}

ps_status mem_consumer_info(ps_consumer *hc, ps_consumer_info *out)
{
    mem_handle *h = (mem_handle *)hc;
    mem_backend *mb = h->mb;
    mem_lock(mb);
    mem_run_timers(mb, mem_now(mb));
    mem_consumer *c = mem_handle_resolve(h);
    ps_status s;
    if (c)
        mem_consumer_npc_reset(c); /* the server's info recounts NumPending */
    if (c)
        s = fill_info(c, out);
    else if (!mem_stream_find(mb, hc->stream))
        s = ps_error(PS_ERR_STREAM_NOT_FOUND, 10059, "stream not found: %s", hc->stream);
    else
        s = ps_error(PS_ERR_CONSUMER_NOT_FOUND, 10014, "consumer not found: %s on stream %s",
                     hc->name, hc->stream);
    mem_unlock(mb);
    return s;
}
