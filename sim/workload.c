/* workload.c — workload files and subject transforms (workload.h).
 *
 * Not: capture (capture.c) nor publishing a workload (publishers.c).
 */
#include "workload.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ps_subject.h"
#include "ps_backend_impl.h"

#define WORKLOAD_FILE_MAX (256u << 20)
#define PAYLOAD_MAX (64u << 20) /* larger than any server's max_payload */

/* ---- building ------------------------------------------------------------------------ */

static void msg_free(sim_workload_msg *m)
{
    free(m->subject);
    for (int i = 0; i < m->nheaders; i++) {
        free(m->names[i]);
        free(m->values[i]);
    }
    free(m->names);
    free(m->values);
    memset(m, 0, sizeof *m);
}

void sim_workload_free(sim_workload *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->count; i++)
        msg_free(&w->msgs[i]);
    free(w->msgs);
    w->msgs = NULL;
    w->count = 0;
}

/* Appends *m, taking what it owns; on failure frees it. */
static ps_status wl_push(sim_workload *w, sim_workload_msg *m)
{
    if ((w->count & (w->count - 1)) == 0) { /* capacity is count's next power of two */
        sim_workload_msg *n = realloc(w->msgs, (w->count ? w->count * 2 : 1) * sizeof *n);
        if (!n) {
            msg_free(m);
            return ps_error(PS_ERR_NO_MEMORY, 0, "workload: out of memory");
        }
        w->msgs = n;
    }
    w->msgs[w->count++] = *m;
    return PS_OK;
}

/* Makes room for one more header in *m. */
static bool msg_grow(sim_workload_msg *m)
{
    size_t n = (size_t)m->nheaders + 1;
    char **names = realloc(m->names, n * sizeof *names);
    if (names)
        m->names = names;
    char **values = names ? realloc(m->values, n * sizeof *values) : NULL;
    if (values)
        m->values = values;
    return names && values;
}

ps_status sim_workload_add(sim_workload *w, int64_t gap_ns, const char *subject, uint32_t size, int nheaders,
                           const char *const *names, const char *const *values)
{
    if (!w || !subject || nheaders < 0 || (nheaders && (!names || !values)))
        return ps_error(PS_ERR_INVALID_ARG, 0, "sim_workload_add: NULL argument");
    sim_workload_msg m = {.gap_ns = gap_ns, .size = size, .subject = strdup(subject)};
    bool ok = m.subject != NULL;
    for (int i = 0; ok && i < nheaders; i++) {
        ok = names[i] && values[i] && msg_grow(&m);
        char *n = ok ? strdup(names[i]) : NULL, *v = n ? strdup(values[i]) : NULL;
        if (v) {
            m.names[m.nheaders] = n;
            m.values[m.nheaders++] = v;
        } else {
            free(n);
            ok = false;
        }
    }
    if (!ok) {
        msg_free(&m);
        return ps_error(PS_ERR_NO_MEMORY, 0, "workload: out of memory (or a NULL header)");
    }
    return wl_push(w, &m);
}

/* ---- reading ------------------------------------------------------------------------- */

typedef struct reader {
    const char *name;
    int line;
} reader;

static ps_status bad(const reader *r, size_t col, const char *what, const char *got, size_t got_len)
{
    if (!got)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s:%d:%zu: expected %s, got the end of the line", r->name, r->line,
                        col, what);
    return ps_error(PS_ERR_INVALID_ARG, 0, "%s:%d:%zu: expected %s, got '%.*s'", r->name, r->line, col, what,
                    (int)(got_len > 60 ? 60 : got_len), got);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The %XX-decoded copy of the word w[0..n), which starts at column col;
 * NULL with a positioned error for a bad escape (or no memory). %00 is
 * refused: the strings are C strings. */
static char *unescape(const reader *r, size_t col, const char *w, size_t n, ps_status *s)
{
    char *out = malloc(n + 1);
    if (!out) {
        *s = ps_error(PS_ERR_NO_MEMORY, 0, "workload: out of memory");
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i] != '%') {
            out[o++] = w[i];
            continue;
        }
        int a = i + 2 < n ? hexval(w[i + 1]) : -1, b = a >= 0 ? hexval(w[i + 2]) : -1;
        if (a < 0 || b < 0 || (a == 0 && b == 0)) {
            free(out);
            *s = bad(r, col + i, "an escape %XX (two hex digits, not %00)", w + i, n - i < 3 ? n - i : 3);
            return NULL;
        }
        out[o++] = (char)(a * 16 + b);
        i += 2;
    }
    out[o] = '\0';
    return out;
}

static bool parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    if (n == 0 || n > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (max - (uint64_t)(s[i] - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* The next word of line[*i..len) (split on spaces and tabs) into *w, *wl;
 * false when none is left. */
static bool next_word(const char *line, size_t len, size_t *i, const char **w, size_t *wl)
{
    while (*i < len && (line[*i] == ' ' || line[*i] == '\t'))
        (*i)++;
    if (*i == len)
        return false;
    size_t s = *i;
    while (*i < len && line[*i] != ' ' && line[*i] != '\t')
        (*i)++;
    *w = line + s;
    *wl = *i - s;
    return true;
}

/* One name=value word into m's headers. */
static ps_status parse_header(sim_workload_msg *m, const reader *r, size_t col, const char *w, size_t wl)
{
    const char *eq = memchr(w, '=', wl);
    if (!eq || eq == w)
        return bad(r, col, "a header as name=value", w, wl);
    size_t nl = (size_t)(eq - w);
    ps_status s = PS_OK;
    char *name = unescape(r, col, w, nl, &s);
    char *value = name ? unescape(r, col + nl + 1, eq + 1, wl - nl - 1, &s) : NULL;
    if (value && !msg_grow(m))
        s = ps_error(PS_ERR_NO_MEMORY, 0, "workload: out of memory");
    if (s) {
        free(name);
        free(value);
        return s;
    }
    m->names[m->nheaders] = name;
    m->values[m->nheaders++] = value;
    return PS_OK;
}

/* One line, comment removed: "gap_us subject size [name=value ...]" or blank. */
static ps_status parse_line(sim_workload *out, const reader *r, const char *line, size_t len)
{
    const char *w[3];
    size_t wl[3], i = 0;
    int n = 0;
    while (n < 3 && next_word(line, len, &i, &w[n], &wl[n]))
        n++;
    if (n == 0)
        return PS_OK;
#define COL(k) ((size_t)(w[k] - line) + 1)
    uint64_t gap_us = 0, size = 0;
    /* a day at most between two messages: a replay's times must add up
     * without overflow */
    if (!parse_u64(w[0], wl[0], UINT64_C(86400000000), &gap_us))
        return bad(r, COL(0), "a gap in microseconds (0 to 86400000000, a day)", w[0], wl[0]);
    if (n < 2)
        return bad(r, len + 1, "a subject", NULL, 0);
    ps_status s = PS_OK;
    sim_workload_msg m = {.gap_ns = (int64_t)gap_us * 1000, .subject = unescape(r, COL(1), w[1], wl[1], &s)};
    if (s)
        return s;
    if (!ps_subject_is_literal(m.subject))
        s = bad(r, COL(1), "a literal subject (non-empty tokens separated by '.', no wildcards)", w[1], wl[1]);
    else if (n < 3)
        s = bad(r, len + 1, "a payload size in bytes", NULL, 0);
    else if (!parse_u64(w[2], wl[2], PAYLOAD_MAX, &size))
        s = bad(r, COL(2), "a payload size from 0 to 67108864 bytes", w[2], wl[2]);
    m.size = (uint32_t)size;
    const char *h;
    size_t hl;
    while (!s && next_word(line, len, &i, &h, &hl))
        s = parse_header(&m, r, (size_t)(h - line) + 1, h, hl);
#undef COL
    if (s) {
        msg_free(&m);
        return s;
    }
    return wl_push(out, &m);
}

/* Only tabs and printable ASCII: other bytes are written %XX. */
static ps_status check_text(const reader *r, const char *line, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)line[k];
        if ((c < 0x20 && c != '\t') || c >= 0x7f)
            return ps_error(PS_ERR_INVALID_ARG, 0,
                            "%s:%d:%zu: expected printable ASCII (other bytes escaped as %%XX), got byte 0x%02x",
                            r->name, r->line, k + 1, c);
    }
    return PS_OK;
}

ps_status sim_workload_parse(sim_workload *out, const char *name, const char *text, size_t len)
{
    if (!out || (!text && len))
        return ps_error(PS_ERR_INVALID_ARG, 0, "sim_workload_parse: NULL argument");
    memset(out, 0, sizeof *out);
    reader r = {name ? name : "workload", 0};
    ps_status s = PS_OK;
    for (size_t i = 0; i < len && !s;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len, n = end - i;
        r.line++;
        if (n && text[i + n - 1] == '\r')
            n--;
        /* '#' starts a comment anywhere (the writer escapes it in words);
         * a comment may hold any bytes but a newline */
        const char *hash = memchr(text + i, '#', n);
        if (hash)
            n = (size_t)(hash - (text + i));
        if (!(s = check_text(&r, text + i, n)))
            s = parse_line(out, &r, text + i, n);
        i = end + 1;
    }
    if (s)
        sim_workload_free(out);
    return s;
}

/* Reads the whole file into *buf (malloc'd), *len bytes. */
static ps_status read_all(FILE *f, const char *path, char **buf, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    for (;;) {
        if (!b)
            return ps_error(PS_ERR_NO_MEMORY, 0, "workload %s: out of memory", path);
        n += fread(b + n, 1, cap - n, f);
        if (n < cap)
            break;
        if (cap >= WORKLOAD_FILE_MAX) {
            free(b);
            return ps_error(PS_ERR_INVALID_ARG, 0, "workload %s: larger than 256 MiB", path);
        }
        char *g = realloc(b, cap * 2);
        if (!g)
            free(b);
        b = g;
        cap *= 2;
    }
    if (ferror(f)) {
        free(b);
        return ps_error(PS_ERR_IO, 0, "workload %s: read error: %s", path, strerror(errno));
    }
    *buf = b;
    *len = n;
    return PS_OK;
}

ps_status sim_workload_load(sim_workload *out, const char *path)
{
    if (!out || !path)
        return ps_error(PS_ERR_INVALID_ARG, 0, "sim_workload_load: NULL argument");
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return ps_error(PS_ERR_IO, 0, "workload %s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0;
    ps_status s = read_all(f, path, &buf, &len);
    fclose(f);
    if (!s)
        s = sim_workload_parse(out, path, buf, len);
    free(buf);
    return s;
}

/* ---- writing ------------------------------------------------------------------------- */

/* What the reader splits or decodes on, and what is not printable ASCII. */
static void put_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c >= 0x7f || c == '=' || c == '%' || c == '#')
            fprintf(f, "%%%02X", c);
        else
            fputc(c, f);
    }
}

/* The writer refuses what the reader would, so a written file always
 * reads back. */
static ps_status check_msg(const sim_workload_msg *m, size_t i)
{
    if (m->gap_ns < 0)
        return ps_error(PS_ERR_INVALID_ARG, 0, "workload message %zu: negative gap %" PRId64 " ns", i + 1, m->gap_ns);
    if (!ps_subject_is_literal(m->subject))
        return ps_error(PS_ERR_INVALID_ARG, 0, "workload message %zu: '%s' is not a literal subject", i + 1,
                        m->subject ? m->subject : "(null)");
    if (m->size > PAYLOAD_MAX)
        return ps_error(PS_ERR_INVALID_ARG, 0, "workload message %zu: size %" PRIu32 " above 64 MiB", i + 1,
                        m->size);
    for (int k = 0; k < m->nheaders; k++)
        if (!m->names[k] || !m->names[k][0] || !m->values[k])
            return ps_error(PS_ERR_INVALID_ARG, 0, "workload message %zu: header %d has no name", i + 1, k + 1);
    return PS_OK;
}

ps_status sim_workload_write(const sim_workload *w, FILE *f, const char *header_comment)
{
    if (!w || !f)
        return ps_error(PS_ERR_INVALID_ARG, 0, "sim_workload_write: NULL argument");
    for (size_t i = 0; i < w->count; i++) {
        ps_status s = check_msg(&w->msgs[i], i);
        if (s)
            return s;
    }
    if (header_comment) { /* each of its lines a comment */
        fputs("# ", f);
        for (const char *c = header_comment; *c; c++)
            fputs(*c == '\n' ? "\n# " : (char[]){*c, '\0'}, f);
        fputc('\n', f);
    }
    fputs("# gap_us subject size [header-name=value ...]\n", f);
    for (size_t i = 0; i < w->count; i++) {
        const sim_workload_msg *m = &w->msgs[i];
        fprintf(f, "%" PRId64 " ", m->gap_ns / 1000);
        put_escaped(f, m->subject);
        fprintf(f, " %" PRIu32, m->size);
        for (int k = 0; k < m->nheaders; k++) {
            fputc(' ', f);
            put_escaped(f, m->names[k]);
            fputc('=', f);
            put_escaped(f, m->values[k]);
        }
        fputc('\n', f);
    }
    return ferror(f) ? ps_error(PS_ERR_IO, 0, "workload: write error") : PS_OK;
}

/* ---- subject transforms -------------------------------------------------------------- */

/* A spec split at its first "=>". */
typedef struct xform {
    char *src, *dst;
    int stars;     /* '*' tokens in src */
    bool src_tail; /* src ends with '>' */
} xform;

/* The length of the token at *p; moves *p past it and its dot. */
static size_t tok_next(const char **p)
{
    size_t n = strcspn(*p, ".");
    *p += n;
    if (**p == '.')
        (*p)++;
    return n;
}

/* Is the token t[0..n) "$N"? Then *k = N (0 when N is too large). */
static bool tok_ref(const char *t, size_t n, int *k)
{
    if (n < 2 || t[0] != '$' || t[1] < '0' || t[1] > '9')
        return false;
    long v = 0;
    for (size_t i = 1; i < n; i++)
        v = t[i] >= '0' && t[i] <= '9' && v < 100000 ? v * 10 + (t[i] - '0') : 1000000;
    *k = v <= 100000 ? (int)v : 0;
    return true;
}

static ps_status xform_dst_check(const xform *x, const char *spec)
{
    if (!ps_subject_valid(x->dst))
        return ps_error(PS_ERR_INVALID_ARG, 0, "transform '%s': DST '%s' is not a subject (non-empty tokens "
                        "separated by '.', no spaces)", spec, x->dst);
    for (const char *p = x->dst; *p;) {
        const char *t = p;
        size_t n = tok_next(&p);
        int k = 0;
        if (tok_ref(t, n, &k) && (k < 1 || k > x->stars))
            return ps_error(PS_ERR_INVALID_ARG, 0, "transform '%s': %.*s names no '*' of SRC (it has %d)", spec,
                            (int)n, t, x->stars);
        if (n == 1 && *t == '*')
            return ps_error(PS_ERR_INVALID_ARG, 0, "transform '%s': DST may not hold '*' (write $1, $2 ... for "
                            "what SRC's '*'s matched)", spec);
        if (n == 1 && *t == '>' && !x->src_tail)
            return ps_error(PS_ERR_INVALID_ARG, 0, "transform '%s': DST may end with '>' only when SRC does", spec);
    }
    return PS_OK;
}

static void xform_free(xform *x)
{
    free(x->src);
    free(x->dst);
}

static ps_status xform_parse(xform *x, const char *spec)
{
    memset(x, 0, sizeof *x);
    const char *arrow = spec ? strstr(spec, "=>") : NULL;
    if (!arrow)
        return ps_error(PS_ERR_INVALID_ARG, 0, "transform '%s': expected SRC=>DST", spec ? spec : "");
    x->src = strndup(spec, (size_t)(arrow - spec));
    x->dst = strdup(arrow + 2);
    if (!x->src || !x->dst) {
        xform_free(x);
        return ps_error(PS_ERR_NO_MEMORY, 0, "transform: out of memory");
    }
    ps_status s = PS_OK;
    if (!ps_subject_valid(x->src))
        s = ps_error(PS_ERR_INVALID_ARG, 0, "transform '%s': SRC '%s' is not a subject pattern", spec, x->src);
    for (const char *p = x->src; !s && *p;) {
        const char *t = p;
        size_t n = tok_next(&p);
        x->stars += n == 1 && *t == '*';
        x->src_tail = n == 1 && *t == '>';
    }
    if (!s)
        s = xform_dst_check(x, spec);
    if (s)
        xform_free(x);
    return s;
}

ps_status sim_workload_transform_check(const char *spec)
{
    xform x;
    ps_status s = xform_parse(&x, spec);
    if (!s)
        xform_free(&x);
    return s;
}

/* DST with SRC's matches put in; `subject` matches SRC. */
static char *xform_apply(const xform *x, const char *subject)
{
    const char **star = calloc((size_t)x->stars + 1, sizeof *star);
    size_t *star_len = calloc((size_t)x->stars + 1, sizeof *star_len);
    const char *tail = "", *sp = x->src, *tp = subject;
    for (int k = 0; star && star_len && *sp;) {
        const char *st = sp, *tt = tp;
        size_t sn = tok_next(&sp), tn = tok_next(&tp);
        if (sn == 1 && *st == '>')
            tail = tt; /* '>' matched the rest of the subject */
        else if (sn == 1 && *st == '*') {
            star[k] = tt;
            star_len[k++] = tn;
        }
    }
    char *out = NULL;
    size_t len = 0;
    FILE *f = star && star_len ? open_memstream(&out, &len) : NULL;
    for (const char *dp = x->dst; f && *dp;) {
        const char *d = dp;
        size_t dn = tok_next(&dp);
        int k = 0;
        if (d != x->dst)
            fputc('.', f);
        if (dn == 1 && *d == '>')
            fputs(tail, f);
        else if (tok_ref(d, dn, &k))
            fwrite(star[k - 1], 1, star_len[k - 1], f);
        else
            fwrite(d, 1, dn, f);
    }
    if (f && fclose(f) != 0) {
        free(out);
        out = NULL;
    }
    free(star);
    free(star_len);
    if (!out)
        ps_error(PS_ERR_NO_MEMORY, 0, "transform: out of memory");
    return out;
}

char *sim_workload_transform(const char *spec, const char *subject)
{
    xform x;
    if (xform_parse(&x, spec) != PS_OK)
        return NULL;
    char *out = NULL;
    if (!ps_subject_is_literal(subject) || !ps_subject_matches(x.src, subject))
        ps_error(PS_ERR_INVALID_ARG, 0, "transform '%s': subject '%s' does not match '%s'", spec,
                 subject ? subject : "(null)", x.src);
    else
        out = xform_apply(&x, subject);
    xform_free(&x);
    return out;
}
