/* workload.c — workload files and subject transforms (workload.h). */
#include "workload.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ps_subject.h"

#define WORKLOAD_FILE_MAX (256u << 20)
#define MAX_HEADERS 64

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

ps_status sim_workload_add(sim_workload *w, int64_t gap_ns, const char *subject, uint32_t size, int nheaders,
                           const char *const *names, const char *const *values)
{
    if ((w->count & (w->count - 1)) == 0) { /* grow at powers of two */
        sim_workload_msg *n = realloc(w->msgs, (w->count ? w->count * 2 : 1) * sizeof *n);
        if (!n)
            return ps_error(PS_ERR_NO_MEMORY, 0, "workload: out of memory");
        w->msgs = n;
    }
    sim_workload_msg *m = &w->msgs[w->count];
    memset(m, 0, sizeof *m);
    m->gap_ns = gap_ns;
    m->size = size;
    m->subject = strdup(subject);
    if (nheaders) {
        m->names = calloc((size_t)nheaders, sizeof *m->names);
        m->values = calloc((size_t)nheaders, sizeof *m->values);
    }
    bool ok = m->subject && (!nheaders || (m->names && m->values));
    for (int i = 0; ok && i < nheaders; i++) {
        m->names[i] = strdup(names[i]);
        m->values[i] = strdup(values[i]);
        m->nheaders = i + 1;
        ok = m->names[i] && m->values[i];
    }
    if (!ok) {
        msg_free(m);
        return ps_error(PS_ERR_NO_MEMORY, 0, "workload: out of memory");
    }
    w->count++;
    return PS_OK;
}

/* ---- reading ------------------------------------------------------------------------- */

typedef struct reader {
    const char *name;
    int line;
} reader;

static ps_status bad(const reader *r, int col, const char *what, const char *got, size_t got_len)
{
    if (!got)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s:%d:%d: expected %s, got the end of the line", r->name, r->line,
                        col, what);
    return ps_error(PS_ERR_INVALID_ARG, 0, "%s:%d:%d: expected %s, got '%.*s'", r->name, r->line, col, what,
                    (int)(got_len > 60 ? 60 : got_len), got);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* %XX-decodes w[0..n) into out (n+1 bytes); the offset of a bad escape
 * into *badat, or -1. */
static void unescape(const char *w, size_t n, char *out, int *badat)
{
    size_t o = 0;
    *badat = -1;
    for (size_t i = 0; i < n; i++) {
        if (w[i] != '%') {
            out[o++] = w[i];
            continue;
        }
        int a = i + 2 < n ? hexval(w[i + 1]) : -1;
        int b = i + 2 < n ? hexval(w[i + 2]) : -1;
        if (a < 0 || b < 0 || (a == 0 && b == 0)) {
            *badat = (int)i;
            return;
        }
        out[o++] = (char)(a * 16 + b);
        i += 2;
    }
    out[o] = '\0';
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

/* One line's words: [start, len) pairs, split on spaces and tabs. */
static int split(const char *line, size_t len, const char **w, size_t *wl, int max)
{
    int n = 0;
    for (size_t i = 0; i < len;) {
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == len)
            break;
        size_t s = i;
        while (i < len && line[i] != ' ' && line[i] != '\t')
            i++;
        if (n == max)
            return -1;
        w[n] = line + s;
        wl[n++] = i - s;
    }
    return n;
}

static ps_status parse_line(sim_workload *out, reader *r, const char *line, size_t len)
{
    const char *w[3 + MAX_HEADERS];
    size_t wl[3 + MAX_HEADERS];
    int n = split(line, len, w, wl, 3 + MAX_HEADERS);
    if (n == 0)
        return PS_OK;
    if (n < 0)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s:%d:1: expected at most %d headers", r->name, r->line,
                        MAX_HEADERS);
#define COL(k) ((int)(w[k] - line) + 1)
    uint64_t gap_us = 0, size = 0;
    if (!parse_u64(w[0], wl[0], (uint64_t)INT64_MAX / 1000, &gap_us))
        return bad(r, COL(0), "a gap in microseconds (0 or more)", w[0], wl[0]);
    if (n < 2)
        return bad(r, (int)len + 1, "a subject", NULL, 0);
    char subject[1024];
    if (wl[1] >= sizeof subject)
        return bad(r, COL(1), "a subject of at most 1023 bytes", w[1], wl[1]);
    memcpy(subject, w[1], wl[1]);
    subject[wl[1]] = '\0';
    if (!ps_subject_is_literal(subject))
        return bad(r, COL(1), "a literal subject (tokens separated by '.', no wildcards)", w[1], wl[1]);
    if (n < 3)
        return bad(r, (int)len + 1, "a payload size in bytes", NULL, 0);
    if (!parse_u64(w[2], wl[2], 64u << 20, &size))
        return bad(r, COL(2), "a payload size from 0 to 67108864 bytes", w[2], wl[2]);
    char *names[MAX_HEADERS], *values[MAX_HEADERS];
    int nh = 0;
    ps_status s = PS_OK;
    for (int k = 3; k < n && !s; k++) {
        const char *eq = memchr(w[k], '=', wl[k]);
        if (!eq || eq == w[k])
            s = bad(r, COL(k), "a header as name=value", w[k], wl[k]);
        size_t nl = eq ? (size_t)(eq - w[k]) : 0, vl = eq ? wl[k] - nl - 1 : 0;
        char *name = s ? NULL : malloc(nl + 1), *value = s ? NULL : malloc(vl + 1);
        int bn = -1, bv = -1;
        if (!s && (!name || !value))
            s = ps_error(PS_ERR_NO_MEMORY, 0, "workload: out of memory");
        if (!s) {
            unescape(w[k], nl, name, &bn);
            unescape(eq + 1, vl, value, &bv);
            if (bn >= 0 || bv >= 0)
                s = bad(r, COL(k) + (bn >= 0 ? bn : (int)nl + 1 + bv), "an escape %XX (two hex digits, not %00)",
                        w[k], wl[k]);
        }
        if (s) {
            free(name);
            free(value);
            break;
        }
        names[nh] = name;
        values[nh++] = value;
    }
    if (!s)
        s = sim_workload_add(out, (int64_t)gap_us * 1000, subject, (uint32_t)size, nh, (const char *const *)names,
                             (const char *const *)values);
    for (int k = 0; k < nh; k++) {
        free(names[k]);
        free(values[k]);
    }
    return s;
#undef COL
}

ps_status sim_workload_parse(sim_workload *out, const char *name, const char *text, size_t len)
{
    memset(out, 0, sizeof *out);
    reader r = {name ? name : "workload", 0};
    ps_status s = PS_OK;
    for (size_t i = 0; i <= len && !s;) {
        size_t end = i;
        while (end < len && text[end] != '\n')
            end++;
        r.line++;
        size_t n = end - i;
        if (n && text[i + n - 1] == '\r')
            n--;
        for (size_t k = 0; k < n && !s; k++)
            if ((unsigned char)text[i + k] < 0x20 && text[i + k] != '\t')
                s = ps_error(PS_ERR_INVALID_ARG, 0, "%s:%d:%zu: expected text, got control character 0x%02x",
                             r.name, r.line, k + 1, (unsigned char)text[i + k]);
            else if ((unsigned char)text[i + k] >= 0x7f)
                s = ps_error(PS_ERR_INVALID_ARG, 0, "%s:%d:%zu: expected ASCII text (escape other bytes as %%XX)",
                             r.name, r.line, k + 1);
        const char *hash = memchr(text + i, '#', n);
        if (!s)
            s = parse_line(out, &r, text + i, hash ? (size_t)(hash - (text + i)) : n);
        if (end >= len)
            break;
        i = end + 1;
    }
    if (s)
        sim_workload_free(out);
    return s;
}

ps_status sim_workload_load(sim_workload *out, const char *path)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return ps_error(PS_ERR_IO, 0, "workload %s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ps_status s = PS_OK;
    while (buf && !s) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap)
            break;
        if (cap >= WORKLOAD_FILE_MAX) {
            s = ps_error(PS_ERR_INVALID_ARG, 0, "workload %s: larger than 256 MiB", path);
            break;
        }
        char *n = realloc(buf, cap * 2);
        if (!n)
            break;
        buf = n;
        cap *= 2;
    }
    if (!s && (!buf || ferror(f)))
        s = buf ? ps_error(PS_ERR_IO, 0, "workload %s: read error", path)
                : ps_error(PS_ERR_NO_MEMORY, 0, "workload %s: out of memory", path);
    fclose(f);
    if (!s)
        s = sim_workload_parse(out, path, buf, len);
    free(buf);
    return s;
}

/* ---- writing ------------------------------------------------------------------------- */

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

ps_status sim_workload_write(const sim_workload *w, FILE *f, const char *header_comment)
{
    if (header_comment)
        fprintf(f, "# %s\n", header_comment);
    fprintf(f, "# gap_us subject size [header-name=value ...]\n");
    for (size_t i = 0; i < w->count; i++) {
        const sim_workload_msg *m = &w->msgs[i];
        fprintf(f, "%" PRId64 " %s %" PRIu32, m->gap_ns / 1000, m->subject, m->size);
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

/* Splits "a.b.c" into tokens (pointers into buf, which it modifies). */
static int tokens(char *buf, char **tok, int max)
{
    int n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ".", &save); t; t = strtok_r(NULL, ".", &save))
        if (n < max)
            tok[n++] = t;
        else
            return -1;
    return n;
}

ps_status sim_workload_transform_check(const char *spec)
{
    const char *arrow = spec ? strstr(spec, "=>") : NULL;
    if (!arrow)
        return ps_error(PS_ERR_INVALID_ARG, 0, "transform '%s': expected SRC=>DST", spec ? spec : "");
    char src[512], dst[512];
    if ((size_t)(arrow - spec) >= sizeof src || strlen(arrow + 2) >= sizeof dst)
        return ps_error(PS_ERR_INVALID_ARG, 0, "transform '%s': too long", spec);
    snprintf(src, sizeof src, "%.*s", (int)(arrow - spec), spec);
    snprintf(dst, sizeof dst, "%s", arrow + 2);
    if (!ps_subject_valid(src))
        return ps_error(PS_ERR_INVALID_ARG, 0, "transform '%s': SRC '%s' is not a subject pattern", spec, src);
    int stars = 0;
    char *t[128];
    int n = tokens(src, t, 128);
    for (int i = 0; i < n; i++)
        stars += strcmp(t[i], "*") == 0;
    bool src_tail = n > 0 && strcmp(t[n - 1], ">") == 0;
    n = tokens(dst, t, 128);
    if (n <= 0)
        return ps_error(PS_ERR_INVALID_ARG, 0, "transform '%s': DST is empty", spec);
    for (int i = 0; i < n; i++) {
        if (t[i][0] == '$') {
            char *end = NULL;
            long k = strtol(t[i] + 1, &end, 10);
            if (!end || *end || k < 1 || k > stars)
                return ps_error(PS_ERR_INVALID_ARG, 0, "transform '%s': %s names no '*' of SRC (it has %d)", spec,
                                t[i], stars);
        } else if (strcmp(t[i], ">") == 0) {
            if (i != n - 1 || !src_tail)
                return ps_error(PS_ERR_INVALID_ARG, 0, "transform '%s': DST may hold '>' only last, and only "
                                "when SRC ends with '>'", spec);
        } else if (strchr(t[i], '*') || strchr(t[i], '>')) {
            return ps_error(PS_ERR_INVALID_ARG, 0, "transform '%s': bad DST token '%s'", spec, t[i]);
        }
    }
    return PS_OK;
}

char *sim_workload_transform(const char *spec, const char *subject)
{
    if (sim_workload_transform_check(spec) != PS_OK)
        return NULL;
    const char *arrow = strstr(spec, "=>");
    char src[512], dst[512], subj[1024];
    snprintf(src, sizeof src, "%.*s", (int)(arrow - spec), spec);
    snprintf(dst, sizeof dst, "%s", arrow + 2);
    if (strlen(subject) >= sizeof subj || !ps_subject_matches(src, subject))
        return NULL;
    snprintf(subj, sizeof subj, "%s", subject);
    char *st[128], *tt[128], *dt[128];
    int ns = tokens(src, st, 128), nt = tokens(subj, tt, 128), nd = tokens(dst, dt, 128);
    if (ns < 0 || nt < 0 || nd < 0)
        return NULL;
    const char *star[128];
    int nstar = 0;
    for (int i = 0; i < ns && i < nt; i++)
        if (strcmp(st[i], "*") == 0)
            star[nstar++] = tt[i];
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return NULL;
    for (int i = 0; i < nd; i++) {
        if (i)
            fputc('.', f);
        if (strcmp(dt[i], ">") == 0) { /* what SRC's '>' matched: the subject's tokens from there on */
            for (int k = ns - 1; k < nt; k++)
                fprintf(f, "%s%s", k > ns - 1 ? "." : "", tt[k]);
        } else {
            fputs(dt[i][0] == '$' ? star[atoi(dt[i] + 1) - 1] : dt[i], f);
        }
    }
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}
