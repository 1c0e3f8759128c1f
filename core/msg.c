/* msg.c — headers with their NATS wire encoding, outgoing JetStream headers,
 * received messages (lazy headers and ack subject) and message lists.
 *
 * A message list reuses its messages' buffers from one fetch to the next,
 * so a steady fetch loop allocates nothing.
 *
 * Not a transport: backends fill lists through ps_msg_list_push.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_msg.h"
#include "ps_backend_impl.h"

#define NATS_HDR_LINE "NATS/1.0\r\n"
#define NATS_HDR_LINE_LEN 10

struct ps_headers {
    int n, cap;
    char **names;
    char **values;
};

ps_headers *ps_headers_new(void)
{
    ps_headers *h = calloc(1, sizeof(ps_headers));
    if (!h)
        ps_error(PS_ERR_NO_MEMORY, 0, "ps_headers_new: out of memory");
    return h;
}

void ps_headers_free(ps_headers *h)
{
    if (!h)
        return;
    for (int i = 0; i < h->n; i++) {
        free(h->names[i]);
        free(h->values[i]);
    }
    free(h->names);
    free(h->values);
    free(h);
}

static ps_status check_pair(const char *name, const char *value)
{
    if (!name || !*name)
        return ps_error(PS_ERR_INVALID_ARG, 0, "header name is %s", name ? "empty" : "NULL");
    if (!value)
        return ps_error(PS_ERR_INVALID_ARG, 0, "header %s: value is NULL", name);
    for (const char *p = name; *p; p++)
        if (*p == ':' || (unsigned char)*p <= ' ' || *p == 0x7f)
            return ps_error(PS_ERR_INVALID_ARG, 0, "header name \"%s\" contains '%c' at column %zu "
                            "(no ':', whitespace or control characters)", name, *p == ':' ? ':' : '?',
                            (size_t)(p - name) + 1);
    for (const char *p = value; *p; p++)
        if (*p == '\r' || *p == '\n')
            return ps_error(PS_ERR_INVALID_ARG, 0, "header %s: value contains CR or LF at column %zu",
                            name, (size_t)(p - value) + 1);
    return PS_OK;
}

static ps_status append_pair(ps_headers *h, const char *name, size_t nlen, const char *value,
                             size_t vlen)
{
    if (h->n == h->cap) {
        int ncap = h->cap ? h->cap * 2 : 4;
        char **nn = realloc(h->names, (size_t)ncap * sizeof *nn);
        if (!nn)
            return ps_error(PS_ERR_NO_MEMORY, 0, "headers: out of memory");
        h->names = nn;
        char **nv = realloc(h->values, (size_t)ncap * sizeof *nv);
        if (!nv)
            return ps_error(PS_ERR_NO_MEMORY, 0, "headers: out of memory");
        h->values = nv;
        h->cap = ncap;
    }
    char *n = malloc(nlen + 1), *v = malloc(vlen + 1);
    if (!n || !v) {
        free(n);
        free(v);
        return ps_error(PS_ERR_NO_MEMORY, 0, "headers: out of memory");
    }
    memcpy(n, name, nlen);
    n[nlen] = '\0';
    memcpy(v, value, vlen);
    v[vlen] = '\0';
    h->names[h->n] = n;
    h->values[h->n] = v;
    h->n++;
    return PS_OK;
}

ps_status ps_headers_add(ps_headers *h, const char *name, const char *value)
{
    if (!h)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_headers_add: headers is NULL");
    ps_status s = check_pair(name, value);
    return s ? s : append_pair(h, name, strlen(name), value, strlen(value));
}

ps_status ps_headers_set(ps_headers *h, const char *name, const char *value)
{
    if (!h)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_headers_set: headers is NULL");
    ps_status s = check_pair(name, value);
    if (s)
        return s;
    int w = 0;
    for (int i = 0; i < h->n; i++) {
        if (strcmp(h->names[i], name) == 0) {
            free(h->names[i]);
            free(h->values[i]);
            continue;
        }
        h->names[w] = h->names[i];
        h->values[w] = h->values[i];
        w++;
    }
    h->n = w;
    return append_pair(h, name, strlen(name), value, strlen(value));
}

const char *ps_headers_get(const ps_headers *h, const char *name)
{
    if (!h || !name)
        return NULL;
    for (int i = 0; i < h->n; i++)
        if (strcmp(h->names[i], name) == 0)
            return h->values[i];
    return NULL;
}

int ps_headers_count(const ps_headers *h) { return h ? h->n : 0; }

const char *ps_headers_name_at(const ps_headers *h, int i)
{
    return h && i >= 0 && i < h->n ? h->names[i] : NULL;
}

const char *ps_headers_value_at(const ps_headers *h, int i)
{
    return h && i >= 0 && i < h->n ? h->values[i] : NULL;
}

size_t ps_headers_wire_len(const ps_headers *h)
{
    if (!h || h->n == 0)
        return 0;
    size_t n = NATS_HDR_LINE_LEN + 2;
    for (int i = 0; i < h->n; i++)
        n += strlen(h->names[i]) + 2 + strlen(h->values[i]) + 2;
    return n;
}

/* Parses "NATS/1.0[ status]\r\n(Name: value\r\n)*\r\n". */
ps_status ps_headers_decode(ps_headers **out, const char *buf, size_t len)
{
    if (!out || !buf)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_headers_decode: NULL argument");
    if (len < NATS_HDR_LINE_LEN - 2 || memcmp(buf, "NATS/1.0", 8) != 0)
        return ps_error(PS_ERR_INVALID_ARG, 0, "header block does not start with NATS/1.0");
    const char *end = buf + len;
    const char *p = memchr(buf, '\n', len);
    if (!p)
        return ps_error(PS_ERR_INVALID_ARG, 0, "header block has no line end");
    ps_headers *h = ps_headers_new();
    if (!h)
        return ps_error(PS_ERR_NO_MEMORY, 0, "headers: out of memory");
    for (p++; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol ? eol : end;
        const char *le = line_end > p && line_end[-1] == '\r' ? line_end - 1 : line_end;
        if (le == p)
            break; /* the empty line ends the block */
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (!colon || colon == p) {
            ps_headers_free(h);
            return ps_error(PS_ERR_INVALID_ARG, 0, "malformed header line at offset %zu", (size_t)(p - buf));
        }
        const char *v = colon + 1;
        while (v < le && (*v == ' ' || *v == '\t'))
            v++;
        if (append_pair(h, p, (size_t)(colon - p), v, (size_t)(le - v)) != PS_OK) {
            ps_headers_free(h);
            return PS_ERR_NO_MEMORY;
        }
        p = eol ? eol + 1 : end;
    }
    *out = h;
    return PS_OK;
}

/* ---- outgoing messages ------------------------------------------------------ */

typedef struct jsfield {
    const char *name;
    const char *value;
    size_t name_len, value_len; /* measured once: a publish with an id pays for each strlen */
    char num[24];
} jsfield;

static void js_field(jsfield *f, const char *name, const char *value)
{
    f->name = name;
    f->name_len = strlen(name);
    f->value = value;
    f->value_len = strlen(value);
}

static void js_field_num(jsfield *f, const char *name, uint64_t v)
{
    snprintf(f->num, sizeof f->num, "%" PRIu64, v);
    js_field(f, name, f->num);
}

/* The JetStream headers of `m`, in wire order; returns how many. Only the
 * fields returned are written (no zero fill: this runs on every publish
 * with a msg id). */
static int js_fields(const ps_out_msg *m, jsfield f[5])
{
    int n = 0;
    if (m->msg_id)
        js_field(&f[n++], PS_HDR_MSG_ID, m->msg_id);
    if (m->expected_stream)
        js_field(&f[n++], PS_HDR_EXPECTED_STREAM, m->expected_stream);
    if (m->has_expected_last_seq)
        js_field_num(&f[n++], PS_HDR_EXPECTED_LAST_SEQ, m->expected_last_seq);
    if (m->has_expected_last_subject_seq)
        js_field_num(&f[n++], PS_HDR_EXPECTED_LAST_SUBJ_SEQ, m->expected_last_subject_seq);
    if (m->expected_last_msg_id)
        js_field(&f[n++], PS_HDR_EXPECTED_LAST_MSG_ID, m->expected_last_msg_id);
    return n;
}


/* The encoded length of the n fields of `f` and m's other headers. */
static size_t fields_len(const ps_out_msg *m, const jsfield *f, int n)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += f[i].name_len + 2 + f[i].value_len + 2;
    size_t other = ps_headers_wire_len(m->headers);
    if (other)
        len += other - NATS_HDR_LINE_LEN - 2;
    return len ? NATS_HDR_LINE_LEN + len + 2 : 0;
}

/* A msg id and nothing else: the one header a publish with an id has,
 * which the general path measures field by field. */
static bool id_only(const ps_out_msg *m)
{
    return m->msg_id && !m->headers && !m->expected_stream && !m->expected_last_msg_id &&
           !m->has_expected_last_seq && !m->has_expected_last_subject_seq;
}

#define ID_NAME_LEN (sizeof PS_HDR_MSG_ID - 1)

size_t ps_out_msg_header_len(const ps_out_msg *m)
{
    if (!m || !ps_out_msg_has_headers(m))
        return 0;
    if (id_only(m))
        return NATS_HDR_LINE_LEN + ID_NAME_LEN + 2 + strlen(m->msg_id) + 2 + 2;
    jsfield f[5];
    int n = js_fields(m, f);
    return fields_len(m, f, n);
}

static char *put_n(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static char *put(char *p, const char *s)
{
    return put_n(p, s, strlen(s));
}

/* The header block of an id-only message (as the general path below
 * writes it with the one field), `len` the id's length. */
static size_t put_id_only(char *buf, const char *id, size_t len)
{
    char *p = put_n(buf, NATS_HDR_LINE PS_HDR_MSG_ID ": ", NATS_HDR_LINE_LEN + ID_NAME_LEN + 2);
    p = put_n(p, id, len);
    p = put_n(p, "\r\n\r\n", 4);
    return (size_t)(p - buf);
}

size_t ps_out_msg_header_encode(const ps_out_msg *m, char *buf)
{
    if (!m || !ps_out_msg_has_headers(m))
        return 0;
    if (id_only(m))
        return put_id_only(buf, m->msg_id, strlen(m->msg_id));
    jsfield f[5];
    int n = js_fields(m, f);
    if (!fields_len(m, f, n))
        return 0;
    char *p = put_n(buf, NATS_HDR_LINE, NATS_HDR_LINE_LEN);
    for (int i = 0; i < n; i++) {
        p = put_n(p, f[i].name, f[i].name_len);
        p = put_n(p, ": ", 2);
        p = put_n(p, f[i].value, f[i].value_len);
        p = put_n(p, "\r\n", 2);
    }
    for (int i = 0; m->headers && i < m->headers->n; i++)
        p = put(put(put(put(p, m->headers->names[i]), ": "), m->headers->values[i]), "\r\n");
    p = put_n(p, "\r\n", 2);
    return (size_t)(p - buf);
}

size_t ps_out_msg_header_encode_n(const ps_out_msg *m, char *buf, size_t cap)
{
    if (!m || !ps_out_msg_has_headers(m))
        return 0;
    if (id_only(m)) { /* measured once */
        size_t len = strlen(m->msg_id);
        size_t n = NATS_HDR_LINE_LEN + ID_NAME_LEN + 2 + len + 2 + 2;
        return n <= cap ? put_id_only(buf, m->msg_id, len) : n;
    }
    size_t n = ps_out_msg_header_len(m);
    if (n && n <= cap)
        ps_out_msg_header_encode(m, buf);
    return n;
}

/* ---- received messages ------------------------------------------------------ */

const ps_headers *ps_msg_headers(ps_msg *m)
{
    if (!m || !m->hdr || !m->hdr_len)
        return NULL;
    if (!m->headers_ && ps_headers_decode(&m->headers_, m->hdr, m->hdr_len) != PS_OK)
        return NULL;
    return m->headers_;
}

const char *ps_msg_header(ps_msg *m, const char *name)
{
    return ps_headers_get(ps_msg_headers(m), name);
}

const char *ps_msg_reply(ps_msg *m)
{
    if (!m || !m->meta.stream || !m->meta.consumer)
        return NULL;
    if (!m->reply_) {
        const ps_msg_meta *d = &m->meta;
        size_t n = strlen(d->stream) + strlen(d->consumer) + 8 + 5 * 21 + 8;
        if (!(m->reply_ = malloc(n))) {
            ps_error(PS_ERR_NO_MEMORY, 0, "ps_msg_reply: out of memory");
            return NULL;
        }
        snprintf(m->reply_, n, "$JS.ACK.%s.%s.%" PRIu64 ".%" PRIu64 ".%" PRIu64 ".%" PRId64 ".%" PRIu64,
                 d->stream, d->consumer, d->num_delivered, d->stream_seq, d->consumer_seq,
                 d->timestamp_ns, d->num_pending);
    }
    return m->reply_;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    if (!*s)
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

ps_status ps_ack_subject_parse(const char *reply, ps_msg_meta *out, char *scratch, size_t scratch_len)
{
    if (!reply || !out || !scratch)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_ack_subject_parse: NULL argument");
    size_t n = strlen(reply);
    if (n + 1 > scratch_len)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ack subject: scratch buffer too small");
    memcpy(scratch, reply, n + 1);
    char *tok[13];
    int nt = 0;
    for (char *p = scratch; nt < 13;) {
        tok[nt++] = p;
        char *dot = strchr(p, '.');
        if (!dot)
            break;
        *dot = '\0';
        p = dot + 1;
    }
    /* JS 6.10: v1 has 9 tokens, v2 12; like the NATS clients, also accept
     * v2 without its trailing random token (11). */
    if ((nt != 9 && nt != 11 && nt != 12) || strcmp(tok[0], "$JS") != 0 || strcmp(tok[1], "ACK") != 0)
        return ps_error(PS_ERR_INVALID_ARG, 0, "\"%.200s\" is not a JetStream ack subject", reply);
    int b = nt == 9 ? 2 : 4; /* v2 adds domain and account hash */
    ps_msg_meta md = {0};
    md.stream = tok[b];
    md.consumer = tok[b + 1];
    if (!*md.stream || !*md.consumer)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ack subject \"%.200s\" has an empty %s token", reply,
                        *md.stream ? "consumer" : "stream");
    uint64_t ts;
    if (!parse_u64(tok[b + 2], &md.num_delivered) || !parse_u64(tok[b + 3], &md.stream_seq) ||
        !parse_u64(tok[b + 4], &md.consumer_seq) || !parse_u64(tok[b + 5], &ts) ||
        !parse_u64(tok[b + 6], &md.num_pending) || ts > (uint64_t)INT64_MAX)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ack subject \"%.200s\" has a malformed number", reply);
    md.timestamp_ns = (int64_t)ts;
    *out = md;
    return PS_OK;
}

/* ---- lists ------------------------------------------------------------------- */

/* Slots [0, count) hold the fetched messages, [count, count + pool_) hold
 * released ones waiting for reuse, the rest are NULL. */

/* Tested first: on a fetch loop's every push both are usually NULL. */
static void msg_release_lazy(ps_msg *m)
{
    if (m->headers_) {
        ps_headers_free(m->headers_);
        m->headers_ = NULL;
    }
    if (m->reply_) {
        free(m->reply_);
        m->reply_ = NULL;
    }
}

/* Frees nothing: a steady fetch loop must not allocate, so the messages and
 * their buffers (lazy headers and reply included) wait for the next push. */
void ps_msg_list_clear(ps_msg_list *l)
{
    if (!l)
        return;
    l->pool_ += l->count;
    l->count = 0;
}

void ps_msg_list_free(ps_msg_list *l)
{
    if (!l)
        return;
    for (int i = 0; i < l->cap_; i++) {
        ps_msg *m = l->msgs[i];
        if (!m)
            continue;
        msg_release_lazy(m);
        free(m->buf_);
        free(m);
    }
    free(l->msgs);
    memset(l, 0, sizeof *l);
}

static bool list_grow(ps_msg_list *l)
{
    int ncap = l->cap_ ? l->cap_ * 2 : 16;
    ps_msg **nm = realloc(l->msgs, (size_t)ncap * sizeof *nm);
    if (!nm)
        return false;
    memset(nm + l->cap_, 0, (size_t)(ncap - l->cap_) * sizeof *nm);
    l->msgs = nm;
    l->cap_ = ncap;
    return true;
}

/* The message for slot `count`: a pooled one when there is one. */
static ps_msg *list_slot(ps_msg_list *l)
{
    if (l->pool_ > 0)
        return l->msgs[l->count];
    if (l->count == l->cap_ && !list_grow(l))
        return NULL;
    ps_msg *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    l->msgs[l->count] = m;
    l->pool_ = 1; /* counted as pooled until the push succeeds */
    return m;
}

static bool msg_reserve(ps_msg *m, size_t need)
{
    if (m->cap_ >= need)
        return true;
    size_t ncap = need < 256 ? 256 : need;
    char *nb = realloc(m->buf_, ncap);
    if (!nb)
        return false;
    m->buf_ = nb;
    m->cap_ = ncap;
    return true;
}

/* Lays out "subject\0[hdr\0]data\0" in the message's buffer. */
static void msg_fill(ps_msg *m, const char *subject, size_t subj_len, const void *hdr,
                     size_t hdr_len, const void *data, size_t len)
{
    char *p = m->buf_;
    memcpy(p, subject, subj_len);
    p[subj_len] = '\0';
    m->subject = p;
    p += subj_len + 1;
    m->hdr = NULL;
    if (hdr_len) {
        memcpy(p, hdr, hdr_len);
        p[hdr_len] = '\0';
        m->hdr = p;
        p += hdr_len + 1;
    }
    m->hdr_len = hdr_len;
    if (len)
        memcpy(p, data, len);
    p[len] = '\0';
    m->data = p;
    m->len = len;
}

ps_msg *ps_msg_list_push(ps_msg_list *l, const char *subject, size_t subj_len, const void *hdr,
                         size_t hdr_len, const void *data, size_t len)
{
    if (!l || !subject || (hdr_len && !hdr) || (len && !data))
        return NULL;
    ps_msg *m = list_slot(l);
    if (!m || !msg_reserve(m, subj_len + 1 + hdr_len + 1 + len + 1))
        return NULL;
    msg_fill(m, subject, subj_len, hdr, hdr_len, data, len);
    memset(&m->meta, 0, sizeof m->meta);
    m->consumer_ = NULL;
    m->backend_ref_ = NULL;
    m->acked_ = false;
    msg_release_lazy(m); /* left over from the message's previous use */
    l->count++;
    l->pool_--;
    return m;
}
