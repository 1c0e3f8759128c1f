/* mem_publish.c — the publish pipeline of a stream leader (docs/MODEL.md, JS 3).
 *
 * Checks run in the server's order (JS 3.4); the first failing one decides
 * the answer, and a failed check consumes no sequence and records no
 * Msg-Id. Storage and limits are mem_store.c's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem_internal.h"

static void set_ack(ps_pub_ack *out, const mem_stream *st, uint64_t seq, bool dup)
{
    if (!out)
        return;
    size_t n = strlen(st->name);
    memcpy(out->stream, st->name, n + 1);
    out->seq = seq;
    out->duplicate = dup;
}

/* Steps 4-6 of JS 3.4: the expectation headers. */
static ps_status check_expectations(const mem_stream *st, const ps_out_msg *m)
{
    if (m->has_expected_last_subject_seq) {
        uint64_t last = mem_subject_last_seq(st, m->subject);
        if (last != m->expected_last_subject_seq)
            return ps_error(PS_ERR_WRONG_LAST_SEQUENCE, 10071, "wrong last sequence: %" PRIu64, last);
    }
    uint64_t lseq = st->lseq_behind ? st->lseq_seen : st->last_seq; /* mset.lseq */
    if (m->has_expected_last_seq && m->expected_last_seq != lseq)
        return ps_error(PS_ERR_WRONG_LAST_SEQUENCE, 10071, "wrong last sequence: %" PRIu64, lseq);
    if (m->expected_last_msg_id && strcmp(m->expected_last_msg_id, st->last_msgid) != 0)
        return ps_error(PS_ERR_WRONG_LAST_MSG_ID, 10070, "wrong last msg ID: %s", st->last_msgid);
    return PS_OK;
}

/* The stored size of the oldest message on `r` (0 when none). */
static uint64_t oldest_size_on(const mem_stream *st, const mem_subj *r)
{
    uint64_t s = r->first_hint > st->first_seq ? r->first_hint : st->first_seq;
    for (; st->msgs && s <= st->last_seq; s++) {
        const mem_smsg *m = mem_store_get(st, s);
        if (m && m->subj == r)
            return mem_msg_bytes(st, m);
    }
    return 0;
}

/* Step 12 of JS 3.4 with JS 3.8: Discard=New limits, in the order of
 * nats-server 2.9.10's storeRawMsg. A subject at its per-subject limit
 * ("asl") will replace its oldest message, so MaxMsgs does not refuse it,
 * and MaxBytes only when dropping that oldest does not make room (memory
 * storage: it is smaller than the new one; file storage: not larger). */
static ps_status check_discard_new(const mem_stream *st, const ps_out_msg *m, size_t hdr_len)
{
    const ps_stream_config *c = &st->cfg;
    const mem_subj *r = c->max_msgs_per_subject > 0
                            ? mem_strmap_get(&st->subj_map, m->subject, strlen(m->subject))
                            : NULL;
    bool file = mem_is_file(st);
    /* Memory storage counts with the server's (possibly stale) record. */
    bool asl = r && (file ? r->count : r->fss_msgs) >= (uint64_t)c->max_msgs_per_subject;
    if (asl && c->discard_new_per_subject)
        return ps_error(PS_ERR_STORE_FAILED, 10077, "maximum messages per subject exceeded");
    if (c->discard != PS_DISCARD_NEW)
        return PS_OK;
    if (c->max_msgs > 0 && st->msgs >= (uint64_t)c->max_msgs && !asl)
        return ps_error(PS_ERR_STORE_FAILED, 10077, "maximum messages exceeded");
    /* The new message counts without overhead, stored bytes with it. */
    uint64_t len = hdr_len + m->len;
    if (c->max_bytes > 0 && st->bytes + len >= (uint64_t)c->max_bytes) {
        uint64_t oldest = 0;
        if (asl && file) {
            oldest = oldest_size_on(st, r);
        } else if (asl) {
            const mem_smsg *f = mem_store_get(st, r->fss_first);
            oldest = f ? mem_msg_bytes(st, f) : 0; /* gone: no room made */
        }
        if (!asl || (file ? oldest <= len : oldest < len))
            return ps_error(PS_ERR_STORE_FAILED, 10077, "maximum bytes exceeded");
    }
    return PS_OK;
}

/* JS 4.6: does any consumer of an Interest stream want this subject? */
static bool has_interest(const mem_stream *st, const char *subject)
{
    for (int i = 0; i < st->nconsumers; i++) {
        const mem_consumer *c = st->consumers[i];
        if (c->filter_all || ps_subject_matches(c->filter, subject))
            return true;
    }
    return false;
}

/* Copied in place: this runs on every publish with a Msg-Id. `len`: the
 * id's, measured already. */
static ps_status set_last_msgid_n(mem_stream *st, const char *id, size_t len)
{
    size_t n = len + 1;
    if (n > st->last_msgid_cap) {
        size_t cap = n < 64 ? 64 : n;
        char *d = st->last_msgid_cap ? realloc(st->last_msgid, cap) : malloc(cap);
        if (!d)
            return ps_error(PS_ERR_NO_MEMORY, 0, "publish: out of memory");
        st->last_msgid = d;
        st->last_msgid_cap = cap;
    }
    memcpy(st->last_msgid, id, n);
    return PS_OK;
}

ps_status mem_set_last_msgid(mem_stream *st, const char *id)
{
    if (!id && !st->last_msgid[0])
        return PS_OK;
    id = id ? id : "";
    return set_last_msgid_n(st, id, strlen(id));
}

/* The id of a message stored or skipped: `id` is m->msg_id measured. */
static ps_status set_last_msgid_key(mem_stream *st, const mem_key *id)
{
    return id ? set_last_msgid_n(st, id->s, id->len) : mem_set_last_msgid(st, NULL);
}

/* `id`: m->msg_id measured and hashed (NULL when it has none). */
static inline __attribute__((always_inline)) ps_status
store(mem_stream *st, const ps_out_msg *m, size_t subj_len, const mem_key *id, const char *hdr,
      size_t hdr_len, int64_t now, ps_pub_ack *out)
{
    uint64_t seq = st->last_seq + 1;
    int64_t ts = now > st->last_ts ? now : st->last_ts;
    if (st->cfg.retention == PS_RETENTION_INTEREST && !has_interest(st, m->subject)) {
        /* Not stored, but the sequence is used; a duplicate of this id
         * later answers with seq 0 (JS 3.6 quirk). */
        mem_store_skip(st, seq, ts);
        /* processJetStreamMsg keeps a skipped message's id with ts 0. */
        if (id && !mem_stream_dedup_add_key(st, id, 0, 0))
            return ps_error(PS_ERR_NO_MEMORY, 0, "publish: out of memory");
        set_ack(out, st, seq, false);
        return set_last_msgid_key(st, id);
    }
    if (!mem_store_append(st, seq, ts, m->subject, subj_len, hdr, hdr_len, m->data, m->len))
        return ps_error(PS_ERR_NO_MEMORY, 0, "publish: out of memory storing message");
    if (id && !mem_stream_dedup_add_key(st, id, seq, ts))
        return ps_error(PS_ERR_NO_MEMORY, 0, "publish: out of memory");
    ps_status s = set_last_msgid_key(st, id);
    mem_store_enforce_limits(st, now, st->cfg.max_msgs_per_subject > 0 ? m->subject : NULL);
    set_ack(out, st, seq, false);
    return s;
}

static inline __attribute__((always_inline)) ps_status
publish_locked(mem_backend *mb, const ps_out_msg *m, const mem_key *id, const char *hdr,
               size_t hdr_len, ps_pub_ack *out)
{
    /* The id's place in a large dedup index is a cache miss: start loading it
     * now (on the stream of the last publish, most likely this one's), so
     * that it arrives while the timers run and the stream is found. A
     * backend without a lock started it before the header was encoded. */
    if (id && mb->pub_stream && mb->locking)
        mem_stream_dedup_prefetch(mb->pub_stream, id);
    int64_t now = mem_now(mb);
    uint64_t entry = mb->entries;
    bool timers_done = mem_run_timers_after(mb, entry, now) == PS_OK;
    size_t subj_len = strlen(m->subject);
    mem_stream *st = mem_stream_for_subject(mb, m->subject, subj_len);
    if (!st)
        return ps_error(PS_ERR_NO_RESPONDERS, 10076,
                        "no stream captures subject \"%s\" (no responders)", m->subject);
    if (st->cfg.sealed)
        return ps_error(PS_ERR_STREAM_SEALED, 10109, "stream %s: invalid operation on sealed stream",
                        st->name);
    if (m->expected_stream && strcmp(m->expected_stream, st->name) != 0)
        return ps_error(PS_ERR_WRONG_EXPECTED_STREAM, 10060, "expected stream does not match");
    if (id) {
        const mem_dedup *d = mem_stream_dedup_find(st, id);
        if (d) { /* JS 3.4 step 3: a duplicate wins over everything after it */
            set_ack(out, st, d->seq, true);
            return PS_OK;
        }
    }
    ps_status s = hdr_len ? check_expectations(st, m) : PS_OK; /* they travel as headers */
    if (s != PS_OK)
        return s;
    if (st->cfg.max_msg_size > 0 && hdr_len + m->len > (size_t)st->cfg.max_msg_size)
        return ps_error(PS_ERR_MSG_TOO_LARGE, 10054, "message size exceeds maximum allowed");
    if (hdr_len > 65535)
        return ps_error(PS_ERR_MSG_TOO_LARGE, 10097, "header size exceeds maximum allowed of 64k");
    bool discard_new = st->cfg.discard == PS_DISCARD_NEW || st->cfg.discard_new_per_subject;
    if (discard_new && (s = check_discard_new(st, m, hdr_len)) != PS_OK) {
        st->lseq_behind = false; /* a failed store resets mset.lseq to the store's */
        return s;
    }
    if ((s = store(st, m, subj_len, id, hdr, hdr_len, now, out)) != PS_OK)
        return s;
    mem_signal(mb);
    /* A store adds timed work on its stream only (a dedup entry, a MaxAge
     * expiry, both later than now unless st says otherwise), and its limits
     * only take pending records away: with the timed work done at entry,
     * nothing else can be due now. */
    if (timers_done)
        mem_timers_quiet_stream(mb, st, entry, now);
    if (st->cfg.no_ack) /* JS 3.12: stored, but the request gets no answer */
        return ps_error(PS_ERR_TIMEOUT, 0, "stream %s has no_ack set: no PubAck was sent", st->name);
    return PS_OK;
}

/* The publish under the backend's lock; `*out` is written on success
 * only (no copy of the stream's name without one). Inlined into both
 * paths of mem_publish: the one without a header block gets a copy with
 * the id and header steps folded away. */
static inline __attribute__((always_inline)) ps_status
publish_unlocked(mem_backend *mb, const ps_out_msg *m, const mem_key *id, const char *hdr,
                 size_t hdr_len, ps_pub_ack *out)
{
    if ((int64_t)(hdr_len + m->len) > mb->max_payload)
        return ps_error(PS_ERR_MAX_PAYLOAD, 0, "message of %zu bytes exceeds max_payload %" PRId64,
                        hdr_len + m->len, mb->max_payload);
    ps_pub_ack ack;
    mem_lock(mb);
    ps_status s = publish_locked(mb, m, id, hdr, hdr_len, out ? &ack : NULL);
    mem_unlock(mb);
    if (s == PS_OK && out)
        *out = ack;
    return s;
}

/* A message with a header block: its id measured and hashed, the block
 * encoded (on the stack when it fits). */
static ps_status publish_with_headers(mem_backend *mb, const ps_out_msg *m, ps_pub_ack *out)
{
    mem_key id = m->msg_id ? mem_key_of(m->msg_id) : (mem_key){0};
    /* Single-threaded (no lock), the stream is only ours to read: the
     * prefetch goes out before the header is encoded, further ahead. */
    if (m->msg_id && !mb->locking && mb->pub_stream)
        mem_stream_dedup_prefetch(mb->pub_stream, &id);
    char small[1024];
    size_t hdr_len = ps_out_msg_header_encode_n(m, small, sizeof small);
    char *hdr = small;
    if (hdr_len > sizeof small) {
        if (!(hdr = malloc(hdr_len)))
            return ps_error(PS_ERR_NO_MEMORY, 0, "publish: out of memory");
        ps_out_msg_header_encode(m, hdr);
    }
    ps_status s = publish_unlocked(mb, m, m->msg_id ? &id : NULL, hdr, hdr_len, out);
    if (hdr != small)
        free(hdr);
    return s;
}

ps_status mem_publish(ps_backend *b, const ps_out_msg *m, ps_pub_ack *out)
{
    mem_backend *mb = (mem_backend *)b;
    if (ps_out_msg_has_headers(m))
        return publish_with_headers(mb, m, out);
    return publish_unlocked(mb, m, NULL, NULL, 0, out);
}
