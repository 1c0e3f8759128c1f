/* mem_stream.c — stream administration: create, update, info, delete, purge,
 * get and delete by sequence (docs/MODEL.md, JS 2, 10).
 *
 * Configs are validated and normalised as the server's checkStreamCfg does
 * (JS 2.1, 2.2), with the server's err_codes and descriptions. Message
 * storage itself is in mem_store.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem_internal.h"
#include "ps_subject.h"

#define CFG_ERR(...) ps_error(PS_ERR_STREAM_CONFIG, 10052, __VA_ARGS__)

mem_stream *mem_stream_find(mem_backend *mb, const char *name)
{
    for (int i = 0; i < mb->nstreams; i++)
        if (strcmp(mb->streams[i]->name, name) == 0)
            return mb->streams[i];
    return NULL;
}

mem_stream *mem_stream_for_subject_slow(mem_backend *mb, const char *subject, size_t len)
{
    for (int i = 0; i < mb->nstreams; i++) {
        mem_stream *st = mb->streams[i];
        for (int j = 0; j < st->cfg.subjects_len; j++)
            if (ps_subject_matches(st->subjects[j], subject)) {
                if (len < sizeof mb->pub_subject) {
                    memcpy(mb->pub_subject, subject, len + 1);
                    mb->pub_subject_len = len;
                    mb->pub_stream = st;
                }
                return st;
            }
    }
    return NULL;
}

static ps_status not_found(const char *name)
{
    return ps_error(PS_ERR_STREAM_NOT_FOUND, 10059, "stream not found: %s", name);
}

/* ---- validation (JS 2.1, 2.2) ------------------------------------------------ */

static ps_status check_subjects(const ps_stream_config *c, const char *const *subs, int n)
{
    for (int i = 0; i < n; i++) {
        if (!ps_subject_valid(subs[i]))
            return CFG_ERR("stream %s: invalid subject \"%s\"", c->name, subs[i] ? subs[i] : "");
        if (ps_subjects_collide(subs[i], "$JS.API.>"))
            return CFG_ERR("stream %s: subjects overlap with jetstream api", c->name);
    }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(subs[i], subs[j]) == 0)
                return CFG_ERR("stream %s: duplicate subjects detected", c->name);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (ps_subjects_collide(subs[i], subs[j]))
                return CFG_ERR("stream %s: subject \"%s\" overlaps with \"%s\"",
                               c->name, subs[i], subs[j]);
    return PS_OK;
}

static int64_t unlimited(int64_t v) { return v <= 0 ? -1 : v; }

static ps_status check_numbers(ps_stream_config *n)
{
    const int64_t ms100 = 100 * PS_NS_PER_MS;
    if (n->max_age_ns < 0)
        return CFG_ERR("stream %s: max age can not be negative", n->name);
    if (n->max_age_ns > 0 && n->max_age_ns < ms100)
        return CFG_ERR("stream %s: max age needs to be >= 100ms", n->name);
    if (n->duplicates_ns < 0)
        return CFG_ERR("stream %s: duplicates window can not be negative", n->name);
    if (n->duplicates_ns == 0) {
        n->duplicates_ns = 120 * PS_NS_PER_SEC;
        if (n->max_age_ns > 0 && n->max_age_ns < n->duplicates_ns)
            n->duplicates_ns = n->max_age_ns;
    } else if (n->duplicates_ns < ms100) {
        return CFG_ERR("stream %s: duplicates window needs to be >= 100ms", n->name);
    } else if (n->max_age_ns > 0 && n->duplicates_ns > n->max_age_ns) {
        return CFG_ERR("stream %s: duplicates window can not be larger then max age", n->name);
    }
    if (n->replicas < 0)
        return ps_error(PS_ERR_STREAM_CONFIG, 10133, "stream %s: replicas count cannot be negative", n->name);
    if (n->replicas > 5)
        return CFG_ERR("stream %s: maximum replicas is 5", n->name);
    if (n->replicas > 1)
        return ps_error(PS_ERR_STREAM_CONFIG, 10074,
                        "stream %s: replicas > 1 not supported in non-clustered mode", n->name);
    return PS_OK;
}

/* Fills `n` with the normalised form of `c`; subjects stay borrowed. */
static ps_status normalise(const ps_stream_config *c, ps_stream_config *n,
                           const char **self, const char *const **subs, int *nsubs)
{
    if (!c->name || !*c->name)
        return CFG_ERR("stream name is required and can not contain '.', '*', '>'");
    if (strlen(c->name) > PS_NAME_MAX)
        return CFG_ERR("stream name is too long, maximum allowed is 255");
    if (strpbrk(c->name, "/\\"))
        return ps_error(PS_ERR_STREAM_CONFIG, 10128, "Stream name can not contain path separators");
    if (ps_name_check("stream name", c->name) != PS_OK)
        return CFG_ERR("stream name is required and can not contain '.', '*', '>'");
    *n = *c;
    if (n->description && !*n->description)
        n->description = NULL; /* "" and NULL are the same: no description */
    if (n->description && strlen(n->description) > 4096)
        return CFG_ERR("stream description is too long, maximum allowed is 4096");
    n->max_msgs = unlimited(c->max_msgs);
    n->max_bytes = unlimited(c->max_bytes);
    n->max_msgs_per_subject = unlimited(c->max_msgs_per_subject);
    n->max_msg_size = c->max_msg_size <= 0 ? -1 : c->max_msg_size;
    n->max_consumers = c->max_consumers <= 0 ? -1 : c->max_consumers;
    if (n->replicas == 0)
        n->replicas = 1;
    if (c->subjects_len < 0 || (c->subjects_len > 0 && !c->subjects))
        return CFG_ERR("stream %s: subjects_len %d without subjects", c->name, c->subjects_len);
    if (c->subjects_len == 0) {
        self[0] = c->name;
        *subs = self;
        *nsubs = 1;
    } else {
        *subs = c->subjects;
        *nsubs = c->subjects_len;
    }
    ps_status s = check_subjects(n, *subs, *nsubs);
    if (s == PS_OK)
        s = check_numbers(n);
    if (s != PS_OK)
        return s;
    if (n->deny_purge && n->allow_rollup)
        return CFG_ERR("stream %s: roll-ups require the purge permission", n->name);
    if (n->discard_new_per_subject && n->discard != PS_DISCARD_NEW)
        return CFG_ERR("stream %s: discard new per subject requires discard new policy to be set", n->name);
    if (n->discard_new_per_subject && n->max_msgs_per_subject <= 0)
        return CFG_ERR("stream %s: discard new per subject requires max msgs per subject > 0", n->name);
    return PS_OK;
}

/* JS 2.2: 10065 when a subject collides with another stream's. */
static ps_status check_overlap(mem_backend *mb, const char *name,
                               const char *const *subs, int nsubs)
{
    for (int i = 0; i < mb->nstreams; i++) {
        mem_stream *o = mb->streams[i];
        if (strcmp(o->name, name) == 0)
            continue;
        for (int j = 0; j < o->cfg.subjects_len; j++)
            for (int k = 0; k < nsubs; k++)
                if (ps_subjects_collide(o->subjects[j], subs[k]))
                    return ps_error(PS_ERR_STREAM_SUBJECT_OVERLAP, 10065,
                                    "stream %s: subject \"%s\" overlaps with stream %s "
                                    "(subjects overlap with an existing stream)",
                                    name, subs[k], o->name);
    }
    return PS_OK;
}

static bool set_subjects(mem_stream *st, const char *const *subs, int nsubs)
{
    char **copy = calloc((size_t)nsubs, sizeof *copy);
    if (!copy)
        return false;
    for (int i = 0; i < nsubs; i++)
        if (!(copy[i] = mem_strdup(subs[i]))) {
            while (i--)
                free(copy[i]);
            free(copy);
            return false;
        }
    if (st->subjects)
        for (int i = 0; i < st->cfg.subjects_len; i++)
            free(st->subjects[i]);
    free(st->subjects);
    st->subjects = copy;
    st->cfg.subjects = (const char *const *)copy;
    st->cfg.subjects_len = nsubs;
    return true;
}

static bool same_config(const mem_stream *st, const ps_stream_config *n,
                        const char *const *subs, int nsubs)
{
    const ps_stream_config *o = &st->cfg;
    if (o->subjects_len != nsubs)
        return false;
    for (int i = 0; i < nsubs; i++)
        if (strcmp(o->subjects[i], subs[i]) != 0)
            return false;
    return o->retention == n->retention && o->storage == n->storage &&
           o->discard == n->discard && o->discard_new_per_subject == n->discard_new_per_subject &&
           o->max_msgs == n->max_msgs && o->max_bytes == n->max_bytes &&
           o->max_age_ns == n->max_age_ns && o->max_msgs_per_subject == n->max_msgs_per_subject &&
           o->max_msg_size == n->max_msg_size && o->max_consumers == n->max_consumers &&
           o->duplicates_ns == n->duplicates_ns && o->replicas == n->replicas &&
           o->no_ack == n->no_ack && o->sealed == n->sealed && o->deny_delete == n->deny_delete &&
           o->deny_purge == n->deny_purge && o->allow_rollup == n->allow_rollup &&
           strcmp(o->description ? o->description : "", n->description ? n->description : "") == 0;
}

/* ---- info --------------------------------------------------------------------- */

static ps_status fill_info(const mem_stream *st, ps_stream_info *out)
{
    const char *desc = st->description ? st->description : "";
    size_t need = (size_t)st->cfg.subjects_len * sizeof(char *) + strlen(st->name) + 1 + strlen(desc) + 1;
    for (int i = 0; i < st->cfg.subjects_len; i++)
        need += strlen(st->subjects[i]) + 1;
    char *block = malloc(need);
    if (!block)
        return ps_error(PS_ERR_NO_MEMORY, 0, "stream info: out of memory");
    const char **arr = (const char **)block;
    char *p = block + (size_t)st->cfg.subjects_len * sizeof(char *);
    for (int i = 0; i < st->cfg.subjects_len; i++) {
        size_t n = strlen(st->subjects[i]) + 1;
        memcpy(p, st->subjects[i], n);
        arr[i] = p;
        p += n;
    }
    strcpy(p, st->name);
    char *d = p + strlen(p) + 1;
    strcpy(d, desc);
    memset(out, 0, sizeof *out);
    out->config = st->cfg;
    out->config.name = p;
    out->config.description = st->description ? d : NULL;
    out->config.subjects = arr;
    out->owned_ = block;
    out->created_ns = st->created_ns;
    ps_stream_state *s = &out->state;
    s->msgs = st->msgs;
    s->bytes = st->bytes;
    /* nats-server reports FirstSeq 0 until the first store or purge. */
    s->first_seq = st->msgs ? st->first_seq : st->last_seq == 0 && !st->purged_once ? 0 : st->last_seq + 1;
    s->last_seq = st->last_seq;
    if (st->msgs) {
        s->first_ts_ns = mem_store_get(st, st->first_seq)->ts;
        s->last_ts_ns = st->last_ts;
        s->num_deleted = st->last_seq - st->first_seq + 1 - st->msgs;
    }
    s->num_subjects = mem_is_file(st) ? st->num_subjects : st->fss_subjects;
    s->consumers = st->nconsumers;
    return PS_OK;
}

/* ---- create / update / delete ------------------------------------------------- */

static ps_status stream_new(mem_backend *mb, const ps_stream_config *n,
                            const char *const *subs, int nsubs, mem_stream **out)
{
    if (mb->nstreams == mb->streams_cap) {
        int ncap = mb->streams_cap ? mb->streams_cap * 2 : 8;
        mem_stream **ns = realloc(mb->streams, (size_t)ncap * sizeof *ns);
        if (!ns)
            return ps_error(PS_ERR_NO_MEMORY, 0, "stream create: out of memory");
        mb->streams = ns;
        mb->streams_cap = ncap;
    }
    mem_stream *st = calloc(1, sizeof *st);
    if (!st || !(st->name = mem_strdup(n->name))) {
        free(st);
        return ps_error(PS_ERR_NO_MEMORY, 0, "stream create: out of memory");
    }
    st->mb = mb;
    st->last_msgid = (char *)"";
    st->cfg = *n;
    st->cfg.name = st->name;
    st->cfg.subjects_len = 0;
    st->cfg.description = NULL;
    if (n->description && !(st->description = mem_strdup(n->description))) {
        mem_stream_free(st);
        return ps_error(PS_ERR_NO_MEMORY, 0, "stream create: out of memory");
    }
    st->cfg.description = st->description;
    if (!set_subjects(st, subs, nsubs)) {
        mem_stream_free(st);
        return ps_error(PS_ERR_NO_MEMORY, 0, "stream create: out of memory");
    }
    st->created_ns = mem_now(mb);
    st->index_write_ns = st->created_ns;
    st->first_seq = 1;
    mb->streams[mb->nstreams++] = st;
    *out = st;
    return PS_OK;
}

ps_status mem_stream_add(ps_backend *b, const ps_stream_config *cfg, ps_stream_info *out)
{
    mem_backend *mb = (mem_backend *)b;
    ps_stream_config n;
    const char *self[1];
    const char *const *subs;
    int nsubs;
    ps_status s = normalise(cfg, &n, self, &subs, &nsubs);
    if (s != PS_OK)
        return s;
    if (n.sealed)
        return CFG_ERR("stream %s: stream configuration for create can not be sealed", n.name);
    mem_lock(mb);
    mem_run_timers(mb, mem_now(mb));
    mem_stream *st = mem_stream_find(mb, n.name);
    if (st) {
        /* JS 2.3: identical config is an idempotent success. */
        s = same_config(st, &n, subs, nsubs)
                ? PS_OK
                : ps_error(PS_ERR_STREAM_NAME_IN_USE, 10058,
                           "stream %s: stream name already in use with a different configuration",
                           n.name);
    } else if ((s = check_overlap(mb, n.name, subs, nsubs)) == PS_OK) {
        s = stream_new(mb, &n, subs, nsubs, &st);
        if (s == PS_OK)
            mem_adv_stream_action(mb, PS_ADV_STREAM_CREATED, st->name);
    }
    if (s == PS_OK && out)
        s = fill_info(st, out);
    mem_unlock(mb);
    return s;
}

/* JS 2.4: what an update may not change. */
static ps_status check_update(const mem_stream *st, const ps_stream_config *n)
{
    const ps_stream_config *o = &st->cfg;
    const char *what = NULL;
    if (o->storage != n->storage)
        what = "can not change storage type";
    else if (o->retention != n->retention)
        what = "can not change retention policy";
    else if (o->max_consumers != n->max_consumers)
        what = "can not change MaxConsumers";
    else if (o->sealed && !n->sealed)
        what = "can not unseal a sealed stream";
    else if (o->deny_delete && !n->deny_delete)
        what = "can not cancel deny message deletes";
    else if (o->deny_purge && !n->deny_purge)
        what = "can not cancel deny purge";
    if (what)
        return CFG_ERR("stream %s: stream configuration update %s", o->name, what);
    return PS_OK;
}

static void apply_update(mem_stream *st, ps_stream_config *n, int64_t now)
{
    if (n->sealed) { /* JS 2.6: sealing forces these */
        n->max_age_ns = 0;
        n->discard = PS_DISCARD_NEW;
        n->deny_delete = n->deny_purge = true;
        n->allow_rollup = false;
    }
    char *name = st->name;
    const char *const *subs = st->cfg.subjects;
    int nsubs = st->cfg.subjects_len;
    int64_t old_per_subject = st->cfg.max_msgs_per_subject;
    bool window_changed = st->cfg.duplicates_ns != n->duplicates_ns;
    st->cfg = *n;
    if (window_changed)
        mem_stream_dedup_window_changed(st, now);
    st->cfg.name = name;
    st->cfg.subjects = subs;
    st->cfg.subjects_len = nsubs;
    mem_store_enforce_limits(st, now, NULL);
    /* Both stores trim subjects only when the limit went DOWN from a limit:
     * from unlimited (-1) to a limit nothing is trimmed (UpdateConfig). */
    if (n->max_msgs_per_subject > 0 && n->max_msgs_per_subject < old_per_subject)
        mem_store_enforce_per_subject(st, now);
    mem_store_expire(st, now);
    for (int i = 0; i < st->nconsumers; i++)
        mem_consumer_recount(st->consumers[i]);
}

ps_status mem_stream_update(ps_backend *b, const ps_stream_config *cfg, ps_stream_info *out)
{
    mem_backend *mb = (mem_backend *)b;
    ps_stream_config n;
    const char *self[1];
    const char *const *subs;
    int nsubs;
    ps_status s = normalise(cfg, &n, self, &subs, &nsubs);
    if (s != PS_OK)
        return s;
    mem_lock(mb);
    int64_t now = mem_now(mb);
    mem_run_timers(mb, now);
    mem_stream *st = mem_stream_find(mb, n.name);
    if (!st)
        s = not_found(n.name);
    else if ((s = check_update(st, &n)) == PS_OK &&
             (s = check_overlap(mb, n.name, subs, nsubs)) == PS_OK) {
        mb->pub_stream = NULL; /* the subjects may change */
        char *desc = n.description ? mem_strdup(n.description) : NULL;
        if ((n.description && !desc) || !set_subjects(st, subs, nsubs)) {
            free(desc);
            s = ps_error(PS_ERR_NO_MEMORY, 0, "stream update: out of memory");
        } else {
            /* A filter that covered every subject may not any more (found
             * by difftest, seed 9347): the server matches the filter itself. */
            for (int i = 0; i < st->nconsumers; i++)
                mem_consumer_refilter(st->consumers[i]);
            apply_update(st, &n, now);
            free(st->description); /* JS 2.4: the description may change */
            st->description = desc;
            st->cfg.description = desc;
            mem_adv_stream_action(mb, PS_ADV_STREAM_UPDATED, st->name);
            mem_signal(mb); /* lowered limits may have removed pending messages */
            if (out)
                s = fill_info(st, out);
        }
    }
    mem_unlock(mb);
    return s;
}

ps_status mem_stream_info(ps_backend *b, const char *stream, ps_stream_info *out)
{
    mem_backend *mb = (mem_backend *)b;
    mem_lock(mb);
    mem_run_timers(mb, mem_now(mb));
    mem_stream *st = mem_stream_find(mb, stream);
    ps_status s = st ? fill_info(st, out) : not_found(stream);
    mem_unlock(mb);
    return s;
}

void mem_stream_free(mem_stream *st)
{
    if (!st)
        return;
    while (st->nconsumers)
        mem_consumer_free(st->consumers[--st->nconsumers]);
    free(st->consumers);
    mem_store_free_all(st);
    free(st->tombs);
    mem_store_free_ring(st);
    mem_strmap_free(&st->subj_map);
    mem_stream_dedup_clear(st);
    if (st->subjects)
        for (int i = 0; i < st->cfg.subjects_len; i++)
            free(st->subjects[i]);
    free(st->subjects);
    if (st->last_msgid_cap)
        free(st->last_msgid);
    free(st->description);
    free(st->name);
    free(st);
}

/* Unlinks a stream from the backend and frees it with its consumers
 * (JS 2.5). Waiting pulls see "Consumer Deleted" through the epoch. */
void mem_stream_destroy(mem_backend *mb, mem_stream *st)
{
    for (int i = 0; i < mb->nstreams; i++)
        if (mb->streams[i] == st) {
            memmove(&mb->streams[i], &mb->streams[i + 1],
                    (size_t)(mb->nstreams - i - 1) * sizeof *mb->streams);
            mb->nstreams--;
            break;
        }
    while (st->nconsumers)
        mem_consumer_destroy(st->consumers[st->nconsumers - 1], false);
    mb->epoch++;
    mb->pub_stream = NULL;
    mem_stream_free(st);
    mem_signal(mb);
}

ps_status mem_stream_delete(ps_backend *b, const char *stream)
{
    mem_backend *mb = (mem_backend *)b;
    mem_lock(mb);
    mem_stream *st = mem_stream_find(mb, stream);
    ps_status s = PS_OK;
    if (!st) {
        s = not_found(stream);
    } else {
        char name[PS_NAME_MAX_BUF];
        snprintf(name, sizeof name, "%s", st->name);
        mem_stream_destroy(mb, st);
        mem_adv_stream_action(mb, PS_ADV_STREAM_DELETED, name);
    }
    mem_unlock(mb);
    return s;
}

/* ---- purge (JS 10.3) ------------------------------------------------------------ */

static bool purge_matches(const mem_smsg *m, const char *filter)
{
    return !filter || ps_subject_matches(filter, m->subj->name);
}

/* Removes every message below `below` (all of them for UINT64_MAX). */
static uint64_t purge_below(mem_stream *st, uint64_t below, int64_t now)
{
    uint64_t purged = 0;
    for (uint64_t s = st->first_seq; st->msgs && s <= st->last_seq && s < below; s++) {
        if (mem_store_get(st, s)) {
            mem_store_remove(st, s, MEM_RM_PURGE, now);
            purged++;
        }
    }
    if (!st->msgs)
        st->first_seq = st->last_seq + 1;
    st->purged_once = true;
    return purged;
}

/* The store's Compact(seq) of nats-server 2.9.10: everything below seq
 * goes. Past the last sequence the stream empties and the next publish
 * lands at seq. On memory storage a seq in range that holds no message is
 * an error (memStore.Compact: ErrStoreMsgNotFound, 10051). */
static ps_status purge_compact(mem_stream *st, uint64_t seq, int64_t now, uint64_t *purged)
{
    if (seq > st->last_seq) {
        if (!st->lseq_behind) {
            st->lseq_behind = true;
            st->lseq_seen = st->last_seq;
        }
        *purged = purge_below(st, UINT64_MAX, now);
        st->last_seq = seq - 1;
        st->first_seq = seq;
        return PS_OK;
    }
    if (!mem_is_file(st) && !mem_store_get(st, seq))
        return ps_error(PS_ERR_STREAM_CONFIG, 10051, "stream %s: no message found", st->name);
    *purged = seq < st->first_seq ? 0 : purge_below(st, seq, now);
    return PS_OK;
}

/* The store side of a purge, as nats-server 2.9.10's PurgeEx: without a
 * filter (or with ">") seq 0 or 1 purges all, a larger seq compacts, keep
 * compacts to the last `keep` SEQUENCES (interior gaps count); with a
 * filter, keep counts matching messages and seq bounds the scan. */
static ps_status purge_messages(mem_stream *st, const ps_purge_opts *o, int64_t now, uint64_t *purged)
{
    const char *filter = o && o->filter && *o->filter && strcmp(o->filter, ">") != 0 ? o->filter : NULL;
    uint64_t seq = o ? o->seq : 0, keep = o ? o->keep : 0;
    *purged = 0;
    if (!filter) {
        if (keep == 0 && seq <= 1) {
            if (!mem_is_file(st))
                mem_fss_reset(st); /* memStore.Purge starts a new map */
            else
                mem_blk_clear(st); /* fileStore.purge drops the blocks and their records */
            *purged = purge_below(st, UINT64_MAX, now);
            return PS_OK;
        }
        if (seq > 1)
            return purge_compact(st, seq, now, purged);
        if (keep >= st->msgs)
            return PS_OK;
        return purge_compact(st, st->last_seq - keep + 1, now, purged);
    }
    uint64_t matching = 0;
    for (uint64_t s = st->first_seq; st->msgs && s <= st->last_seq; s++) {
        mem_smsg *m = mem_store_get(st, s);
        matching += m && purge_matches(m, filter);
    }
    if (keep >= matching && keep > 0)
        return PS_OK;
    uint64_t limit = matching - keep; /* how many matching messages may go */
    uint64_t below = seq > 1 ? seq : UINT64_MAX;
    for (uint64_t s = st->first_seq; st->msgs && s <= st->last_seq && *purged < limit && s < below; s++) {
        mem_smsg *m = mem_store_get(st, s);
        if (m && purge_matches(m, filter)) {
            /* memStore.PurgeEx removes a filtered purge's messages one by
             * one, each reported to the consumers; the file store does not. */
            if (!mem_is_file(st)) {
                mem_npc_removed(st, m);
                mem_fss_removed(st, m);
            }
            mem_store_remove(st, s, MEM_RM_PURGE, now);
            (*purged)++;
        }
    }
    return PS_OK;
}

/* The first stored message on `filter` (0 when none): where a filtered
 * purge moves the consumers it touches (nats-server's stream.purge). */
static uint64_t first_matching(const mem_stream *st, const char *filter)
{
    for (uint64_t s = st->first_seq; st->msgs && s <= st->last_seq; s++) {
        mem_smsg *m = mem_store_get(st, s);
        if (m && purge_matches(m, filter))
            return s;
    }
    return 0;
}

/* Which consumers a purge resets (nats-server 2.9.10 stream.purge): all of
 * them for a request without options; otherwise those without a filter,
 * with the purge's subject as their filter, or a wildcard filter covering
 * it, so a seq or keep purge (subject "") leaves filtered consumers alone. */
static bool purge_touches(const mem_consumer *c, const ps_purge_opts *o, bool has_req)
{
    if (!has_req || !c->filter)
        return true;
    const char *subj = o->filter ? o->filter : "";
    if (!c->filter_wc) /* isFilteredMatch with the filterWC of creation */
        return strcmp(subj, c->filter) == 0;
    return *subj && ps_subject_is_subset(subj, c->filter);
}

/* The consumer side of a purge, as the server's consumer.purge does: the
 * scan position and floor move up to the new first sequence and ALL of
 * pending is cleared, kept messages included (JS 10.3 quirk). */
static void purge_consumer(mem_consumer *c, uint64_t first)
{
    if (c->sseq < first)
        c->sseq = first;
    if (c->floor.stream_seq < first) {
        c->floor.stream_seq = first - 1;
        c->floor.consumer_seq = c->dseq - 1;
    }
    /* The floor the server reports starts at (0,0) (mem_consumer.c), so
     * the purge moves it whenever it is below `first`. */
    if (c->zero_floor.stream_seq < first)
        c->zero_floor = (ps_seq_pair){c->dseq - 1, first - 1};
    mem_pend_clear(c);
    uint32_t n = c->rdq.len;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t seq;
        mem_fifo_pop(&c->rdq, &seq);
        if (seq >= c->sseq)
            mem_fifo_push(&c->rdq, seq);
    }
    mem_consumer_recount(c);
}

ps_status mem_stream_purge(ps_backend *b, const char *stream, const ps_purge_opts *o,
                           uint64_t *purged)
{
    mem_backend *mb = (mem_backend *)b;
    mem_lock(mb);
    int64_t now = mem_now(mb);
    mem_run_timers(mb, now);
    mem_stream *st = mem_stream_find(mb, stream);
    ps_status s = PS_OK;
    if (!st)
        s = not_found(stream);
    else if (st->cfg.sealed)
        s = ps_error(PS_ERR_STREAM_SEALED, 10109, "stream %s: invalid operation on sealed stream", stream);
    else if (st->cfg.deny_purge)
        s = ps_error(PS_ERR_NOT_PERMITTED, 10110, "stream %s: stream purge not permitted", stream);
    uint64_t n = 0;
    if (s == PS_OK)
        s = purge_messages(st, o, now, &n);
    if (s == PS_OK) {
        bool has_req = o && (o->filter || o->seq || o->keep);
        uint64_t first = st->msgs ? st->first_seq : st->last_seq + 1;
        if (has_req && o->filter && *o->filter)
            first = first_matching(st, o->filter);
        if (first == 0)
            first = st->last_seq + 1;
        for (int i = 0; i < st->nconsumers; i++) {
            mem_consumer *c = st->consumers[i];
            if (purge_touches(c, o, has_req))
                purge_consumer(c, first);
        }
        if (purged)
            *purged = n;
        mem_signal(mb);
    }
    mem_unlock(mb);
    return s;
}

/* ---- get and delete by sequence (JS 10.1, 10.2) ------------------------------------- */

static ps_status copy_stored(const mem_smsg *m, ps_stored_msg *out)
{
    ps_stored_msg r = {0};
    r.subject = mem_strdup(m->subj->name);
    r.data = malloc(m->data_len + 1);
    if (m->hdr_len)
        r.hdr = malloc(m->hdr_len + 1);
    if (!r.subject || !r.data || (m->hdr_len && !r.hdr)) {
        ps_stored_msg_clear(&r);
        return ps_error(PS_ERR_NO_MEMORY, 0, "msg get: out of memory");
    }
    if (m->hdr_len) {
        memcpy(r.hdr, m->bytes, m->hdr_len);
        r.hdr[m->hdr_len] = '\0';
    }
    memcpy(r.data, m->bytes + m->hdr_len, m->data_len);
    r.data[m->data_len] = '\0';
    r.hdr_len = m->hdr_len;
    r.len = m->data_len;
    r.seq = m->seq;
    r.timestamp_ns = m->ts;
    *out = r;
    return PS_OK;
}

ps_status mem_msg_get(ps_backend *b, const char *stream, uint64_t seq,
                      const char *last_by_subj, ps_stored_msg *out)
{
    mem_backend *mb = (mem_backend *)b;
    mem_lock(mb);
    mem_run_timers(mb, mem_now(mb));
    mem_stream *st = mem_stream_find(mb, stream);
    ps_status s;
    if (!st) {
        s = not_found(stream);
    } else {
        if (last_by_subj) /* the file store answers from its block's per-subject Last */
            seq = mem_is_file(st) ? mem_blk_last_seq(st, last_by_subj) : mem_subject_last_seq(st, last_by_subj);
        mem_smsg *m = seq ? mem_store_get(st, seq) : NULL;
        s = m ? copy_stored(m, out)
              : ps_error(PS_ERR_MSG_NOT_FOUND, 10037, "stream %s: no message found", stream);
    }
    mem_unlock(mb);
    return s;
}

ps_status mem_msg_delete(ps_backend *b, const char *stream, uint64_t seq, bool erase)
{
    (void)erase; /* nothing is on a disk to overwrite */
    mem_backend *mb = (mem_backend *)b;
    mem_lock(mb);
    int64_t now = mem_now(mb);
    mem_run_timers(mb, now);
    mem_stream *st = mem_stream_find(mb, stream);
    ps_status s = PS_OK;
    if (!st)
        s = not_found(stream);
    else if (st->cfg.sealed)
        s = ps_error(PS_ERR_STREAM_SEALED, 10109, "stream %s: invalid operation on sealed stream", stream);
    else if (st->cfg.deny_delete)
        s = ps_error(PS_ERR_NOT_PERMITTED, 10057, "stream %s: message delete not permitted", stream);
    else if (!mem_store_get(st, seq))
        /* JS 10.2, as nats-server 2.9.10 answers: a file store reports a seq
         * outside [FirstSeq, LastSeq] as 10057 (no block holds it: "stream
         * store EOF" past the last, "no message found" below the first); an
         * interior gap (and every missing seq on memory storage) is 10043. */
        s = mem_is_file(st) && (seq > st->last_seq || seq < (st->msgs ? st->first_seq : st->last_seq + 1))
                ? ps_error(PS_ERR_MSG_NOT_FOUND, 10057, "stream %s: stream store EOF", stream)
                : ps_error(PS_ERR_MSG_NOT_FOUND, 10043, "stream %s: sequence %llu not found",
                           stream, (unsigned long long)seq);
    else {
        mem_store_remove(st, seq, MEM_RM_DELETE, now);
        mem_signal(mb);
    }
    mem_unlock(mb);
    return s;
}
