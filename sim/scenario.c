/* scenario.c — parses and writes scenario files (grammar in scenario.h).
 *
 * The parser works a line at a time: it cuts the comment, splits the line
 * into words remembering each word's column, and hands the words to the
 * statement's function. Every error names file:line:col and what was
 * expected there; the first error ends the parse. Checks that need the
 * whole file (a consumer's stream exists, a worker number is in range, a
 * publish subject is captured by a stream) run at the end, pointing at the
 * statement that fails them.
 *
 * Not here: running a scenario (the engine) or drawing its random
 * parameters (the run's seed does that).
 */
#include "scenario.h"
#include "workload.h"

#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ps_clock.h"
#include "ps_rand.h"
#include "ps_subject.h"
#include "ps_backend_impl.h"

#define MAX_WORDS 64
#define SIM_FILE_MAX (4 * 1024 * 1024)

typedef struct word {
    const char *s;
    size_t len;
    int col;
} word;

typedef struct parser {
    const char *file;
    int line;
    word w[MAX_WORDS];
    int nw;
    int end_col; /* column just past the line's last character */
    sim_scenario *sc;
    const char *label; /* the option being read ("replicas="), named in value errors; or NULL */
    int err_col;       /* the column of the last error */
} parser;

/* ---- errors ------------------------------------------------------------------ */

/* Sets the message and remembers where it points (a fault whose keywords
 * fit two rows reports the row that read further). */
static ps_status fail_at(parser *p, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static ps_status fail_at(parser *p, int line, int col, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->err_col = col;
    return ps_error(PS_ERR_INVALID_ARG, 0, "%s:%d:%d: %s", p->file, line, col, msg);
}

#define FAIL(p, col, ...) fail_at((p), (p)->line, (col), __VA_ARGS__)

/* A word quoted for a message: printable, at most 40 bytes shown. */
static const char *shown(const char *s, size_t len, char *buf, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i == 40) {
            memcpy(buf + n, "...", 3);
            n += 3;
            break;
        }
        buf[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    buf[n] = '\0';
    return buf;
}

static ps_status expected(parser *p, const word *w, const char *what)
{
    char b[64];
    if (!w)
        return FAIL(p, p->end_col, "expected %s, got the end of the line", what);
    return FAIL(p, w->col, "expected %s, got '%s'", what, shown(w->s, w->len, b, sizeof b));
}

/* ---- words and values ------------------------------------------------------------ */

static bool is(const word *w, const char *lit)
{
    return w && w->len == strlen(lit) && memcmp(w->s, lit, w->len) == 0;
}

static bool starts(const word *w, const char *prefix)
{
    size_t n = strlen(prefix);
    return w && w->len >= n && memcmp(w->s, prefix, n) == 0;
}

/* Word i of the line, NULL past its end. */
static const word *word_at(const parser *p, int i)
{
    return i < p->nw ? &p->w[i] : NULL;
}

/* A value (part of a word) with the column where it starts. */
typedef struct value {
    const char *s;
    size_t len;
    int col;
} value;

static value whole(const word *w)
{
    return (value){w->s, w->len, w->col};
}

/* The part of w after its first n bytes ("node=" of "node=2"). */
static value after(const word *w, size_t n)
{
    return (value){w->s + n, w->len - n, w->col + (int)n};
}

/* Every value error names what was expected and, inside an option, the
 * option ("... for replicas=, got '7'"). */
static ps_status bad_value(parser *p, value v, const char *what)
{
    char b[64], named[256];
    if (p->label) {
        snprintf(named, sizeof named, "%s for %s", what, p->label);
        what = named;
    }
    if (v.len == 0)
        return FAIL(p, v.col, "expected %s, got nothing", what);
    return FAIL(p, v.col, "expected %s, got '%s'", what, shown(v.s, v.len, b, sizeof b));
}

static ps_status get_int(parser *p, value v, int64_t lo, int64_t hi, int64_t *out)
{
    char buf[32], what[96];
    snprintf(what, sizeof what, "an integer from %" PRId64 " to %" PRId64, lo, hi);
    if (v.len == 0 || v.len >= sizeof buf)
        return bad_value(p, v, what);
    for (size_t i = 0; i < v.len; i++)
        if (v.s[i] < '0' || v.s[i] > '9')
            return bad_value(p, v, what);
    memcpy(buf, v.s, v.len);
    buf[v.len] = '\0';
    errno = 0;
    long long x = strtoll(buf, NULL, 10);
    if (errno || x < lo || x > hi)
        return bad_value(p, v, what);
    *out = x;
    return PS_OK;
}

static ps_status get_dur(parser *p, value v, int64_t *out, bool zero_ok)
{
    char buf[48];
    const char *what = zero_ok ? "a duration such as 250ms, 30s or 2m"
                               : "a positive duration such as 250ms, 30s or 2m";
    if (v.len == 0 || v.len >= sizeof buf)
        return bad_value(p, v, what);
    memcpy(buf, v.s, v.len);
    buf[v.len] = '\0';
    int64_t ns = 0;
    if (ps_duration_parse(buf, &ns) != PS_OK || ns < 0 || (!zero_ok && ns == 0))
        return bad_value(p, v, what);
    if (ns > SIM_DURATION_MAX_NS)
        return bad_value(p, v, "a duration of at most 87600h (ten years)");
    *out = ns;
    return PS_OK;
}

/* "12%", "0.5%", "100%": basis points. */
static ps_status get_pct(parser *p, value v, int *bp)
{
    const char *what = "a percentage such as 5% or 0.25%";
    if (v.len < 2 || v.s[v.len - 1] != '%')
        return bad_value(p, v, what);
    int64_t whole_part = 0, frac = 0;
    size_t i = 0, digits = 0, fdigits = 0;
    /* At most three digits are read: more would overflow, and are refused. */
    for (; i < v.len - 1 && v.s[i] >= '0' && v.s[i] <= '9' && digits <= 3; i++, digits++)
        whole_part = whole_part * 10 + (v.s[i] - '0');
    if (digits == 0 || digits > 3)
        return bad_value(p, v, "a percentage from 0% to 100%");
    if (i < v.len - 1 && v.s[i] == '.') {
        for (i++; i < v.len - 1 && v.s[i] >= '0' && v.s[i] <= '9'; i++, fdigits++)
            if (fdigits < 2)
                frac = frac * 10 + (v.s[i] - '0');
            else
                return bad_value(p, v, "a percentage with at most two decimals");
        if (fdigits == 0)
            return bad_value(p, v, what);
        if (fdigits == 1)
            frac *= 10;
    }
    if (i != v.len - 1)
        return bad_value(p, v, what);
    int64_t total = whole_part * 100 + frac;
    if (total > 10000)
        return bad_value(p, v, "a percentage from 0% to 100%");
    *bp = (int)total;
    return PS_OK;
}

static ps_status get_text(parser *p, value v, char *dst, const char *what)
{
    if (v.len == 0 || v.len >= SIM_TEXT_MAX)
        return bad_value(p, v, what);
    memcpy(dst, v.s, v.len);
    dst[v.len] = '\0';
    return PS_OK;
}

static ps_status get_choice(parser *p, value v, const char *const *names, int n, int *out)
{
    char what[160] = "one of";
    for (int i = 0; i < n; i++) {
        if (v.len == strlen(names[i]) && memcmp(v.s, names[i], v.len) == 0) {
            *out = i;
            return PS_OK;
        }
        size_t k = strlen(what);
        snprintf(what + k, sizeof what - k, "%s %s", i ? "," : "", names[i]);
    }
    return bad_value(p, v, what);
}

/* ---- option tables -------------------------------------------------------------------- */

/* An option of a statement is a row: its name, where its value lives in
 * the statement's struct, how the value is read and written, and its
 * range. One walker reads `name=value` words against a table and one
 * writer prints a table back, in the table's order (the canonical order
 * shrink writes). */
typedef enum opt_kind {
    OPT_INT,       /* int64_t from min to max */
    OPT_DUR,       /* int64_t ns from min (0 or 1) to SIM_DURATION_MAX_NS */
    OPT_PCT,       /* int basis points, 0% to 100% */
    OPT_CHOICE,    /* an enum: names[i] sets i, i from min to max */
    OPT_BOOL,      /* bool: no or yes */
    OPT_FLAG,      /* bool: set by the bare name (expect's checks) */
    OPT_RATE,      /* double: N/s, N from min to max */
    OPT_SUBJECTS,  /* char[][SIM_TEXT_MAX]: valid subjects a,b; at most max; the int count at aux */
    OPT_DURS,      /* int64_t[]: positive durations a,b; at most max; the int count at aux */
    OPT_FILTER,    /* char[SIM_TEXT_MAX]: a valid subject */
    OPT_TRANSFORM, /* char[SIM_TEXT_MAX]: SRC=>DST, as sim/workload.h reads it */
    OPT_REF,       /* char[SIM_TEXT_MAX] STREAM/NAME: the stream here, NAME at aux */
    OPT_SPAN,      /* int64_t ns DUR[..DUR]: the shortest here, the longest at aux */
    OPT_NAME       /* char[SIM_TEXT_MAX]: letters, digits, '_', '-', '.' (a handler, a payload maker) */
} opt_kind;

enum {
    OPT_ALWAYS = 1 << 0, /* written even when zero or empty */
    OPT_REPLAY = 1 << 1  /* replay statements only */
};

typedef struct option {
    const char *name;
    size_t off;               /* offsetof the field in the statement's struct */
    opt_kind kind;
    int64_t min, max;         /* the range, as the kind reads it (above) */
    const char *sep;          /* between name and value: NULL for "=" */
    const char *const *names; /* OPT_CHOICE: the values, max + 1 of them */
    size_t aux;               /* offsetof a second field: a list's count, REF's name, SPAN's longest */
    unsigned flags;           /* OPT_ALWAYS, OPT_REPLAY */
} option;

#define NOPTS(t) (sizeof(t) / sizeof(t)[0])

static const char *const retention_names[] = {"limits", "interest", "workqueue"};
static const char *const storage_names[] = {"file", "memory"};
static const char *const discard_names[] = {"old", "new"};
static const char *const deliver_names[] = {"all", "last", "new"};
static const char *const msg_id_names[] = {"job", "none"};
static const char *const commit_names[] = {"before_ack", "after_ack"};
static const char *const bool_names[] = {"no", "yes"};
static const char *const restart_names[] = {"graceful", "crash", "power_loss"};

/* OPT_CHOICE stores an enum through an int. */
_Static_assert(sizeof(ps_retention) == sizeof(int) && sizeof(ps_storage) == sizeof(int) &&
                   sizeof(ps_discard) == sizeof(int) && sizeof(ps_deliver_policy) == sizeof(int) &&
                   sizeof(sim_msg_id) == sizeof(int) && sizeof(sim_commit) == sizeof(int),
               "scenario enums are int-sized");
_Static_assert(PS_DELIVER_ALL == 0 && PS_DELIVER_LAST == 1 && PS_DELIVER_NEW == 2,
               "deliver_names follows ps_deliver_policy");

#define CHOICE(type, field, list)                                                                  \
    .off = offsetof(type, field), .kind = OPT_CHOICE, .max = NOPTS(list) - 1, .names = list,      \
    .flags = OPT_ALWAYS

static const option stream_opts[] = {
    {.name = "subjects", .off = offsetof(sim_stream, subjects), .kind = OPT_SUBJECTS, .min = 1,
     .max = SIM_MAX_SUBJECTS, .aux = offsetof(sim_stream, nsubjects)},
    {.name = "retention", CHOICE(sim_stream, retention, retention_names)},
    {.name = "storage", CHOICE(sim_stream, storage, storage_names)},
    {.name = "discard", CHOICE(sim_stream, discard, discard_names)},
    {.name = "dupe_window", .off = offsetof(sim_stream, dupe_window_ns), .kind = OPT_DUR, .min = 1,
     .max = SIM_DURATION_MAX_NS},
    {.name = "max_msgs", .off = offsetof(sim_stream, max_msgs), .kind = OPT_INT, .min = 1, .max = INT64_MAX},
    {.name = "max_bytes", .off = offsetof(sim_stream, max_bytes), .kind = OPT_INT, .min = 1, .max = INT64_MAX},
    {.name = "max_age", .off = offsetof(sim_stream, max_age_ns), .kind = OPT_DUR, .min = 1,
     .max = SIM_DURATION_MAX_NS},
    {.name = "replicas", .off = offsetof(sim_stream, replicas), .kind = OPT_INT, .min = 1, .max = 5},
};

static const option consumer_opts[] = {
    {.name = "deliver", CHOICE(sim_consumer, deliver, deliver_names)},
    {.name = "ack_wait", .off = offsetof(sim_consumer, ack_wait_ns), .kind = OPT_DUR, .min = 1,
     .max = SIM_DURATION_MAX_NS},
    {.name = "max_deliver", .off = offsetof(sim_consumer, max_deliver), .kind = OPT_INT, .min = 1,
     .max = 1000000},
    {.name = "max_ack_pending", .off = offsetof(sim_consumer, max_ack_pending), .kind = OPT_INT, .min = 1,
     .max = 10000000},
    {.name = "filter", .off = offsetof(sim_consumer, filter), .kind = OPT_FILTER},
    {.name = "backoff", .off = offsetof(sim_consumer, backoff_ns), .kind = OPT_DURS, .min = 1,
     .max = SIM_MAX_BACKOFF, .aux = offsetof(sim_consumer, nbackoff)},
};

/* publish and replay: a publish's rate and count are never 0, so both
 * are written; a replay's are left out when 0 (the workload's own). */
static const option publish_opts[] = {
    {.name = "rate", .off = offsetof(sim_publisher, rate_per_s), .kind = OPT_RATE, .min = 1, .max = 100000000},
    {.name = "count", .off = offsetof(sim_publisher, count), .kind = OPT_INT, .min = 1, .max = 100000000},
    {.name = "transform", .off = offsetof(sim_publisher, transform), .kind = OPT_TRANSFORM,
     .flags = OPT_REPLAY},
    {.name = "msg_id", CHOICE(sim_publisher, msg_id, msg_id_names)},
    {.name = "retry", .off = offsetof(sim_publisher, retry), .kind = OPT_INT, .min = 0, .max = 1000,
     .flags = OPT_ALWAYS},
    {.name = "retry_wait", .off = offsetof(sim_publisher, retry_wait_ns), .kind = OPT_DUR, .min = 0,
     .max = SIM_DURATION_MAX_NS, .flags = OPT_ALWAYS},
    {.name = "keys", .off = offsetof(sim_publisher, keys), .kind = OPT_INT, .min = 1, .max = 100000000},
    {.name = "payload", .off = offsetof(sim_publisher, payload), .kind = OPT_NAME},
};

static const option workers_opts[] = {
    {.name = "consumer", .off = offsetof(sim_workers, stream), .kind = OPT_REF,
     .aux = offsetof(sim_workers, consumer), .flags = OPT_ALWAYS},
    {.name = "batch", .off = offsetof(sim_workers, batch), .kind = OPT_INT, .min = 1, .max = 10000,
     .flags = OPT_ALWAYS},
    {.name = "handle", .off = offsetof(sim_workers, handle_min_ns), .kind = OPT_SPAN, .min = 0,
     .max = SIM_DURATION_MAX_NS, .aux = offsetof(sim_workers, handle_max_ns), .flags = OPT_ALWAYS},
    {.name = "fail", .off = offsetof(sim_workers, fail_bp), .kind = OPT_PCT, .flags = OPT_ALWAYS},
    {.name = "idempotent", .off = offsetof(sim_workers, idempotent), .kind = OPT_BOOL, .flags = OPT_ALWAYS},
    {.name = "commit", CHOICE(sim_workers, commit, commit_names)},
    {.name = "handler", .off = offsetof(sim_workers, handler), .kind = OPT_NAME},
};

static const option service_opts[] = {
    {.name = "latency", .off = offsetof(sim_service, latency_min_ns), .kind = OPT_SPAN, .min = 0,
     .max = SIM_DURATION_MAX_NS, .aux = offsetof(sim_service, latency_max_ns), .flags = OPT_ALWAYS},
    {.name = "fail", .off = offsetof(sim_service, fail_bp), .kind = OPT_PCT},
    {.name = "timeout", .off = offsetof(sim_service, timeout_ns), .kind = OPT_DUR, .min = 1,
     .max = SIM_DURATION_MAX_NS},
};


static const option expect_opts[] = {
    {.name = "no_loss", .off = offsetof(sim_expect, no_loss), .kind = OPT_FLAG, .sep = ""},
    {.name = "no_double_completion", .off = offsetof(sim_expect, no_double_completion), .kind = OPT_FLAG,
     .sep = ""},
    {.name = "attempts", .off = offsetof(sim_expect, attempts_max), .kind = OPT_INT, .min = 1,
     .max = 1000000, .sep = "<="},
    {.name = "per_key_order", .off = offsetof(sim_expect, per_key_order), .kind = OPT_FLAG, .sep = ""},
    {.name = "dedup", .off = offsetof(sim_expect, dedup), .kind = OPT_FLAG, .sep = ""},
    {.name = "drained_within", .off = offsetof(sim_expect, drained_within_ns), .kind = OPT_DUR, .min = 1,
     .max = SIM_DURATION_MAX_NS},
};

static const char *sep_of(const option *o)
{
    return o->sep ? o->sep : "=";
}

#define AT(base, o, type) ((type *)((char *)(base) + (o)->off))
#define AUX(base, o, type) ((type *)((char *)(base) + (o)->aux))

/* "a,b,c": calls one() for each part, with its column. */
static ps_status each_listed(parser *p, const option *o, void *base, value v,
                             ps_status (*one)(parser *, const option *, void *, value))
{
    for (size_t i = 0, start = 0; i <= v.len; i++) {
        if (i < v.len && v.s[i] != ',')
            continue;
        value part = {v.s + start, i - start, v.col + (int)start};
        int *n = AUX(base, o, int);
        if (*n == o->max) {
            char what[64];
            snprintf(what, sizeof what, "at most %" PRId64 " values", o->max);
            return bad_value(p, part, what);
        }
        ps_status s = one(p, o, base, part);
        if (s != PS_OK)
            return s;
        ++*n;
        start = i + 1;
    }
    return PS_OK;
}

typedef char text_field[SIM_TEXT_MAX];

static ps_status one_subject(parser *p, const option *o, void *base, value v)
{
    char *dst = AT(base, o, text_field)[*AUX(base, o, int)];
    ps_status s = get_text(p, v, dst, "a subject");
    if (s == PS_OK && !ps_subject_valid(dst))
        s = bad_value(p, v, "a valid subject (tokens separated by '.', wildcards * and >)");
    return s;
}

static ps_status one_dur(parser *p, const option *o, void *base, value v)
{
    return get_dur(p, v, &AT(base, o, int64_t)[*AUX(base, o, int)], false);
}

static ps_status read_rate(parser *p, const option *o, void *base, value v)
{
    const char *slash = memchr(v.s, '/', v.len);
    if (!slash || (size_t)(v.s + v.len - slash) != 2 || slash[1] != 's')
        return bad_value(p, v, "a rate such as 500/s");
    int64_t n = 0;
    ps_status s = get_int(p, (value){v.s, (size_t)(slash - v.s), v.col}, o->min, o->max, &n);
    if (s == PS_OK)
        *AT(base, o, double) = (double)n;
    return s;
}

static ps_status read_ref(parser *p, const option *o, void *base, value v)
{
    const char *slash = memchr(v.s, '/', v.len);
    if (!slash)
        return bad_value(p, v, "STREAM/CONSUMER");
    value a = {v.s, (size_t)(slash - v.s), v.col};
    value b = {slash + 1, v.len - a.len - 1, v.col + (int)a.len + 1};
    ps_status s = get_text(p, a, AT(base, o, char), "a stream name");
    return s == PS_OK ? get_text(p, b, AUX(base, o, char), "a consumer name") : s;
}

/* DUR or DUR..DUR. */
static ps_status read_span(parser *p, const option *o, void *base, value v)
{
    int64_t *lo = AT(base, o, int64_t), *hi = AUX(base, o, int64_t);
    const char *dots = NULL;
    for (size_t i = 0; i + 1 < v.len; i++)
        if (v.s[i] == '.' && v.s[i + 1] == '.')
            dots = v.s + i;
    if (!dots) {
        ps_status s = get_dur(p, v, lo, o->min == 0);
        *hi = *lo;
        return s;
    }
    value a = {v.s, (size_t)(dots - v.s), v.col};
    value b = {dots + 2, v.len - a.len - 2, v.col + (int)a.len + 2};
    ps_status s = get_dur(p, a, lo, o->min == 0);
    if (s == PS_OK)
        s = get_dur(p, b, hi, o->min == 0);
    if (s == PS_OK && *hi < *lo)
        s = bad_value(p, b, "a longest handling time no shorter than the shortest");
    return s;
}

/* Reads v into the option's field of the statement at base. */
static ps_status read_option(parser *p, const option *o, void *base, value v)
{
    int ch = 0;
    ps_status s;
    switch (o->kind) {
    case OPT_INT: return get_int(p, v, o->min, o->max, AT(base, o, int64_t));
    case OPT_DUR: return get_dur(p, v, AT(base, o, int64_t), o->min == 0);
    case OPT_PCT: return get_pct(p, v, AT(base, o, int));
    case OPT_CHOICE:
        if ((s = get_choice(p, v, o->names, (int)o->max + 1, &ch)) == PS_OK)
            *AT(base, o, int) = ch;
        return s;
    case OPT_BOOL:
        if ((s = get_choice(p, v, bool_names, 2, &ch)) == PS_OK)
            *AT(base, o, bool) = ch == 1;
        return s;
    case OPT_FLAG: *AT(base, o, bool) = true; return PS_OK;
    case OPT_RATE: return read_rate(p, o, base, v);
    case OPT_SUBJECTS: return each_listed(p, o, base, v, one_subject);
    case OPT_DURS: return each_listed(p, o, base, v, one_dur);
    case OPT_FILTER:
        if ((s = get_text(p, v, AT(base, o, char), "a filter subject")) != PS_OK)
            return s;
        return ps_subject_valid(AT(base, o, char)) ? PS_OK : bad_value(p, v, "a valid filter subject");
    case OPT_TRANSFORM:
        if ((s = get_text(p, v, AT(base, o, char), "a subject transform SRC=>DST")) != PS_OK)
            return s;
        if (sim_workload_transform_check(AT(base, o, char)) != PS_OK)
            return bad_value(p, v, "a subject transform SRC=>DST (SRC a subject with *s and a final >, DST "
                                   "using $1, $2 ... for the *s)");
        return PS_OK;
    case OPT_REF: return read_ref(p, o, base, v);
    case OPT_SPAN: return read_span(p, o, base, v);
    case OPT_NAME:
        if ((s = get_text(p, v, AT(base, o, char), "a name")) != PS_OK)
            return s;
        if (strspn(AT(base, o, char), "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != v.len)
            return bad_value(p, v, "a name of letters, digits, '_', '-' and '.'");
        return PS_OK;
    }
    return bad_value(p, v, "a known kind of value");
}

/* The option word w names (name, separator, value), or NULL. */
static const option *option_named(const word *w, const option *opts, size_t n, unsigned skip)
{
    for (size_t k = 0; k < n; k++) {
        size_t nl = strlen(opts[k].name), sl = strlen(sep_of(&opts[k]));
        if (opts[k].flags & skip || w->len < nl + sl || memcmp(w->s, opts[k].name, nl) != 0 ||
            memcmp(w->s + nl, sep_of(&opts[k]), sl) != 0)
            continue;
        if (opts[k].kind != OPT_FLAG || w->len == nl) /* a flag is the bare name */
            return &opts[k];
    }
    return NULL;
}

/* "an option (subjects=, retention=, ...)". */
static const char *option_list(const char *noun, const option *opts, size_t n, unsigned skip, char *buf,
                               size_t cap)
{
    snprintf(buf, cap, "%s (", noun);
    for (size_t k = 0, listed = 0; k < n; k++) {
        if (opts[k].flags & skip)
            continue;
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s%s", listed++ ? ", " : "", opts[k].name, sep_of(&opts[k]));
    }
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len, ")");
    return buf;
}

/* Reads the words from `first` on as options of the table (rows with a
 * flag in `skip` left out) into the statement at base. An unknown or
 * repeated option is an error, as is a value out of its row's range:
 * the message names the option. */
static ps_status options(parser *p, int first, const option *opts, size_t n, unsigned skip,
                         const char *noun, void *base)
{
    bool seen[16] = {false};
    for (int i = first; i < p->nw; i++) {
        const word *w = &p->w[i];
        const option *o = option_named(w, opts, n, skip);
        if (!o) {
            char what[320];
            return expected(p, w, option_list(noun, opts, n, skip, what, sizeof what));
        }
        if (seen[o - opts])
            return FAIL(p, w->col, "option %s%s is given twice", o->name, sep_of(o));
        seen[o - opts] = true;
        char label[48];
        snprintf(label, sizeof label, "%s%s", o->name, sep_of(o));
        p->label = label;
        ps_status s = read_option(p, o, base, after(w, strlen(label)));
        p->label = NULL;
        if (s != PS_OK)
            return s;
    }
    return PS_OK;
}

/* ---- statements ------------------------------------------------------------------------ */

static ps_status name_word(parser *p, int i, char *dst, const char *what)
{
    if (i >= p->nw)
        return expected(p, NULL, what);
    ps_status s = get_text(p, whole(&p->w[i]), dst, what);
    if (s == PS_OK && (strpbrk(dst, ".*>/\\") || ps_name_check(what, dst) != PS_OK))
        return expected(p, &p->w[i], "a name without '.', '*', '>', '/' or '\\'");
    return s;
}

static ps_status parse_stream(parser *p)
{
    sim_scenario *sc = p->sc;
    if (sc->nstreams == SIM_MAX_STREAMS)
        return FAIL(p, p->w[0].col, "at most %d streams", SIM_MAX_STREAMS);
    sim_stream *st = &sc->streams[sc->nstreams];
    memset(st, 0, sizeof *st);
    st->pos = (sim_pos){p->line, p->w[0].col};
    ps_status s = name_word(p, 1, st->name, "a stream name");
    if (s == PS_OK)
        s = options(p, 2, stream_opts, NOPTS(stream_opts), 0, "an option", st);
    if (s == PS_OK && st->nsubjects == 0)
        s = FAIL(p, p->end_col, "expected subjects=... for stream %s", st->name);
    for (int i = 0; s == PS_OK && i < sc->nstreams; i++)
        if (strcmp(sc->streams[i].name, st->name) == 0)
            s = FAIL(p, p->w[1].col, "stream %s is declared twice (first at line %d)", st->name,
                     sc->streams[i].pos.line);
    if (s == PS_OK)
        sc->nstreams++;
    return s;
}

static ps_status parse_consumer(parser *p)
{
    sim_scenario *sc = p->sc;
    if (sc->nconsumers == SIM_MAX_CONSUMERS)
        return FAIL(p, p->w[0].col, "at most %d consumers", SIM_MAX_CONSUMERS);
    sim_consumer *c = &sc->consumers[sc->nconsumers];
    memset(c, 0, sizeof *c);
    c->pos = (sim_pos){p->line, p->w[0].col};
    ps_status s = name_word(p, 1, c->stream, "a stream name");
    if (s == PS_OK)
        s = name_word(p, 2, c->name, "a consumer name");
    if (s == PS_OK)
        s = options(p, 3, consumer_opts, NOPTS(consumer_opts), 0, "an option", c);
    if (s == PS_OK && c->nbackoff > 0 && c->max_deliver != 0 && c->max_deliver <= c->nbackoff)
        s = FAIL(p, c->pos.col, "max_deliver must be more than the %d backoff durations", c->nbackoff);
    if (s == PS_OK)
        sc->nconsumers++;
    return s;
}

/* The next publisher slot, zeroed, with the defaults publish and replay
 * share; NULL (the error set) when the scenario has as many as it may. */
static sim_publisher *new_publisher(parser *p)
{
    sim_scenario *sc = p->sc;
    if (sc->npublishers == SIM_MAX_PUBLISHERS) {
        FAIL(p, p->w[0].col, "at most %d publish and replay statements", SIM_MAX_PUBLISHERS);
        return NULL;
    }
    sim_publisher *pub = &sc->publishers[sc->npublishers];
    memset(pub, 0, sizeof *pub);
    pub->pos = (sim_pos){p->line, p->w[0].col};
    pub->retry = 3;
    pub->retry_wait_ns = 100 * PS_NS_PER_MS;
    return pub;
}

static ps_status parse_publish(parser *p)
{
    sim_scenario *sc = p->sc;
    sim_publisher *pub = new_publisher(p);
    if (!pub)
        return PS_ERR_INVALID_ARG;
    pub->rate_per_s = 1000;
    pub->count = 1000;
    if (p->nw < 2)
        return expected(p, NULL, "a subject to publish on");
    ps_status s = get_text(p, whole(&p->w[1]), pub->subject, "a subject to publish on");
    if (s == PS_OK && !ps_subject_is_literal(pub->subject))
        s = expected(p, &p->w[1], "a literal subject (no wildcards) to publish on");
    if (s == PS_OK)
        s = options(p, 2, publish_opts, NOPTS(publish_opts), OPT_REPLAY, "an option", pub);
    if (s == PS_OK)
        sc->npublishers++;
    return s;
}

/* A file named at v, relative to the scenario's own directory, into dst
 * (SIM_PATH_MAX): kept absolute, so that a scenario written elsewhere
 * (shrink) still names the same file. */
static ps_status resolve_path(parser *p, value v, char *dst)
{
    char base[SIM_PATH_MAX] = "";
    if (v.len == 0)
        return bad_value(p, v, "a file name");
    if (v.s[0] != '/') {
        if (p->file[0] != '/' && !getcwd(base, sizeof base - 1))
            base[0] = '\0';
        size_t n = strlen(base);
        if (n && base[n - 1] != '/')
            base[n++] = '/', base[n] = '\0';
        const char *slash = strrchr(p->file, '/');
        size_t dir = slash ? (size_t)(slash - p->file) + 1 : 0;
        if (n + dir >= sizeof base)
            return bad_value(p, v, "a shorter path");
        memcpy(base + n, p->file, dir);
        base[n + dir] = '\0';
    }
    size_t nb = strlen(base);
    if (nb + v.len >= SIM_PATH_MAX)
        return bad_value(p, v, "a shorter path");
    memcpy(dst, base, nb);
    memcpy(dst + nb, v.s, v.len);
    dst[nb + v.len] = '\0';
    return PS_OK;
}

/* "replay FILE ...": FILE relative to the scenario's own directory. */
static ps_status parse_replay(parser *p)
{
    sim_scenario *sc = p->sc;
    sim_publisher *pub = new_publisher(p);
    if (!pub)
        return PS_ERR_INVALID_ARG;
    if (p->nw < 2)
        return expected(p, NULL, "a workload file (from jetsim capture)");
    ps_status s = resolve_path(p, whole(&p->w[1]), pub->workload);
    if (s == PS_OK)
        s = options(p, 2, publish_opts, NOPTS(publish_opts), 0, "an option", pub);
    if (s == PS_OK)
        sc->npublishers++;
    return s;
}

/* database [schema=FILE] */
static ps_status parse_database(parser *p)
{
    sim_scenario *sc = p->sc;
    if (sc->has_database)
        return FAIL(p, p->w[0].col, "only one database statement (the first is at line %d)", sc->db_pos.line);
    sc->db_pos = (sim_pos){p->line, p->w[0].col};
    for (int i = 1; i < p->nw; i++) {
        const word *w = &p->w[i];
        if (!starts(w, "schema=") || sc->db_schema[0])
            return expected(p, w, sc->db_schema[0] ? "the end of the line" : "schema=FILE or the end of the line");
        ps_status s = resolve_path(p, after(w, 7), sc->db_schema);
        if (s != PS_OK)
            return s;
    }
    sc->has_database = true;
    return PS_OK;
}

/* service NAME latency=DUR[..DUR] [fail=P%] [timeout=DUR] */
static ps_status parse_service(parser *p)
{
    sim_scenario *sc = p->sc;
    if (sc->nservices == SIM_MAX_SERVICES)
        return FAIL(p, p->w[0].col, "at most %d services", SIM_MAX_SERVICES);
    sim_service *sv = &sc->services[sc->nservices];
    memset(sv, 0, sizeof *sv);
    sv->pos = (sim_pos){p->line, p->w[0].col};
    sv->latency_min_ns = sv->latency_max_ns = 10 * PS_NS_PER_MS;
    ps_status s = name_word(p, 1, sv->name, "a service name");
    for (int i = 0; s == PS_OK && i < sc->nservices; i++)
        if (strcmp(sc->services[i].name, sv->name) == 0)
            s = FAIL(p, p->w[1].col, "service %s is declared twice (first at line %d)", sv->name,
                     sc->services[i].pos.line);
    if (s == PS_OK)
        s = options(p, 2, service_opts, NOPTS(service_opts), 0, "an option", sv);
    if (s == PS_OK)
        sc->nservices++;
    return s;
}

static ps_status parse_workers(parser *p)
{
    sim_scenario *sc = p->sc;
    if (sc->nworkers == SIM_MAX_WORKER_GROUPS)
        return FAIL(p, p->w[0].col, "at most %d workers statements", SIM_MAX_WORKER_GROUPS);
    sim_workers *wk = &sc->workers[sc->nworkers];
    memset(wk, 0, sizeof *wk);
    wk->pos = (sim_pos){p->line, p->w[0].col};
    wk->batch = 10;
    wk->handle_min_ns = wk->handle_max_ns = 5 * PS_NS_PER_MS;
    wk->idempotent = true;
    if (p->nw < 2)
        return expected(p, NULL, "the number of workers");
    ps_status s = get_int(p, whole(&p->w[1]), 1, 1000, &wk->count);
    if (s == PS_OK)
        s = options(p, 2, workers_opts, NOPTS(workers_opts), 0, "an option", wk);
    if (s == PS_OK)
        sc->nworkers++;
    return s;
}

/* sql "QUERY" empty | sql "QUERY" =N at word i (the word sql); *i moves
 * past it. */
static ps_status sql_check(parser *p, int *i)
{
    sim_scenario *sc = p->sc;
    if (sc->nsql == SIM_MAX_SQL)
        return FAIL(p, p->w[*i].col, "at most %d sql checks", SIM_MAX_SQL);
    sim_sql_expect *x = &sc->sql[sc->nsql];
    memset(x, 0, sizeof *x);
    x->pos = (sim_pos){p->line, p->w[*i].col};
    const word *q = word_at(p, *i + 1);
    if (!q || q->len < 2 || q->s[0] != '"')
        return expected(p, q, "a query in double quotes after sql");
    if (q->len - 2 >= sizeof x->sql)
        return expected(p, q, "a query of at most 1023 characters");
    memcpy(x->sql, q->s + 1, q->len - 2);
    x->sql[q->len - 2] = '\0';
    const word *want = word_at(p, *i + 2);
    if (is(want, "empty")) {
        x->empty = true;
    } else if (want && want->len > 1 && want->s[0] == '=') {
        p->label = "=";
        ps_status s = get_int(p, after(want, 1), INT64_MIN + 1, INT64_MAX, &x->equals);
        p->label = NULL;
        if (s != PS_OK)
            return s;
    } else {
        return expected(p, want, "empty or =N after the query");
    }
    *i += 3;
    sc->nsql++;
    return PS_OK;
}

static ps_status parse_expect(parser *p)
{
    sim_scenario *sc = p->sc;
    sim_expect *e = &sc->expect;
    /* The sql checks come out first; what is left are the options. */
    int kept = 1;
    for (int i = 1; i < p->nw;) {
        if (is(&p->w[i], "sql")) {
            ps_status s = sql_check(p, &i);
            if (s != PS_OK)
                return s;
        } else {
            p->w[kept++] = p->w[i++];
        }
    }
    bool only_sql = kept == 1 && p->nw > 1;
    p->nw = kept;
    if (only_sql)
        return PS_OK; /* expect sql ... lines may follow the expect line */
    if (sc->has_expect)
        return FAIL(p, p->w[0].col, "only one expect statement (the first is at line %d)", e->pos.line);
    memset(e, 0, sizeof *e);
    e->pos = (sim_pos){p->line, p->w[0].col};
    if (p->nw < 2) {
        char what[320];
        return expected(p, NULL, option_list("a check", expect_opts, NOPTS(expect_opts), 0, what, sizeof what));
    }
    ps_status s = options(p, 1, expect_opts, NOPTS(expect_opts), 0, "a check", e);
    if (s == PS_OK)
        sc->has_expect = true;
    return s;
}

/* ---- at TIME FAULT ------------------------------------------------------------------------ */

#define SIM_FAULT_ROW_(kind, verb, object, args, reach) {verb, object, verb " " object, args, reach},
static const sim_fault_info fault_rows[SIM_FAULT_KIND_COUNT] = {SIM_FAULTS(SIM_FAULT_ROW_)};
#undef SIM_FAULT_ROW_

const sim_fault_info *sim_fault_info_of(sim_fault_kind k)
{
    return (unsigned)k < SIM_FAULT_KIND_COUNT ? &fault_rows[k] : NULL;
}

const char *sim_fault_name(sim_fault_kind k)
{
    return (unsigned)k < SIM_FAULT_KIND_COUNT ? fault_rows[k].name : "?";
}

/* The pieces of SIM_FARG_*, in their order, as the syntax shows them. */
static const struct {
    unsigned arg;
    const char *shown;
} arg_syntax[] = {
    {SIM_FARG_WORKER, "N"},
    {SIM_FARG_AFTER_COMMIT, "after_commit"},
    {SIM_FARG_HANDLE, "handle=DUR"},
    {SIM_FARG_PCT, "P%"},
    {SIM_FARG_RESTART, "[graceful|crash|power_loss]"},
    {SIM_FARG_DELAY, "DUR"},
    {SIM_FARG_FOR, "for DUR"},
    {SIM_FARG_FOR_OPT, "[for DUR]"},
    {SIM_FARG_NODE, "[node=N|node=leader]"},
};

const char *sim_fault_syntax(sim_fault_kind k, char *buf, size_t cap)
{
    if (cap == 0)
        return buf;
    buf[0] = '\0';
    if ((unsigned)k >= SIM_FAULT_KIND_COUNT)
        return buf;
    snprintf(buf, cap, "%s", fault_rows[k].name);
    for (size_t i = 0; i < sizeof arg_syntax / sizeof arg_syntax[0]; i++)
        if (fault_rows[k].args & arg_syntax[i].arg) {
            size_t n = strlen(buf);
            snprintf(buf + n, cap - n, " %s", arg_syntax[i].shown);
        }
    return buf;
}

/* Appends "what, " to the list of optional pieces that could still come. */
static void could_come(char *pending, size_t cap, const char *what)
{
    size_t n = strlen(pending);
    snprintf(pending + n, cap - n, "%s, ", what);
}

/* "for DUR" at word i; *i moves past it. */
static ps_status for_dur(parser *p, int *i, sim_fault *f)
{
    if (*i + 1 >= p->nw)
        return expected(p, NULL, "a duration after 'for'");
    ps_status s = get_dur(p, whole(&p->w[*i + 1]), &f->duration_ns, false);
    *i += 2;
    return s;
}

/* node=N or node=leader at word i. */
static ps_status node_arg(parser *p, const word *w, sim_fault *f)
{
    value v = after(w, 5);
    if (v.len == 6 && memcmp(v.s, "leader", 6) == 0) {
        f->node = -1;
        return PS_OK;
    }
    p->label = "node=";
    ps_status s = get_int(p, v, 1, 5, &f->node);
    p->label = NULL;
    return s;
}

/* The pieces up to the restart kind: service, worker, after_commit,
 * before_handle, at_db_write=, handle=, P%. */
static ps_status worker_and_pct_args(parser *p, int *i, sim_fault *f, unsigned args)
{
    ps_status s = PS_OK;
    if (args & SIM_FARG_SERVICE) {
        const word *w = word_at(p, *i);
        if (!w)
            return expected(p, NULL, "a service name");
        for (f->service = 0; f->service < p->sc->nservices; f->service++)
            if (is(w, p->sc->services[f->service].name))
                break;
        if (f->service == p->sc->nservices)
            return expected(p, w, p->sc->nservices ? "a service declared above" : "a service (declare it above "
                                                                                   "with a service statement)");
        ++*i;
    }
    if (args & SIM_FARG_WORKER) {
        if (*i >= p->nw)
            return expected(p, NULL, "a worker number");
        if ((s = get_int(p, whole(&p->w[(*i)++]), 1, 1000000, &f->worker)) != PS_OK)
            return s;
    }
    if (args & SIM_FARG_AFTER_COMMIT) {
        if (!is(word_at(p, *i), "after_commit"))
            return expected(p, word_at(p, *i), "after_commit");
        ++*i;
    }
    if (args & SIM_FARG_BEFORE_HANDLE) {
        if (!is(word_at(p, *i), "before_handle"))
            return expected(p, word_at(p, *i), "before_handle");
        ++*i;
    }
    if (args & SIM_FARG_AT_WRITE) {
        if (!starts(word_at(p, *i), "at_db_write="))
            return expected(p, word_at(p, *i), "at_db_write=N");
        p->label = "at_db_write=";
        s = get_int(p, after(&p->w[(*i)++], 12), 1, 1000000, &f->count);
        p->label = NULL;
        if (s != PS_OK)
            return s;
    }
    if (args & SIM_FARG_HANDLE) {
        if (!starts(word_at(p, *i), "handle="))
            return expected(p, word_at(p, *i), "handle=DURATION");
        p->label = "handle=";
        s = get_dur(p, after(&p->w[(*i)++], 7), &f->handle_ns, false);
        p->label = NULL;
        if (s != PS_OK)
            return s;
    }
    if (args & SIM_FARG_PCT) {
        if (*i >= p->nw)
            return expected(p, NULL, "a percentage such as 5%");
        s = get_pct(p, whole(&p->w[(*i)++]), &f->bp);
    }
    return s;
}

/* Reads the words from i on as the pieces of f->kind's row, then wants the
 * end of the line (or one of the optional pieces that could still come). */
static ps_status fault_args(parser *p, int i, sim_fault *f)
{
    unsigned args = fault_rows[f->kind].args;
    char pending[128] = "";
    ps_status s = worker_and_pct_args(p, &i, f, args);
    if (s != PS_OK)
        return s;
    if (args & SIM_FARG_RESTART) {
        f->restart = PS_RESTART_CRASH;
        int ch = 0;
        if (i < p->nw && !starts(&p->w[i], "node=")) {
            if ((s = get_choice(p, whole(&p->w[i++]), restart_names, 3, &ch)) != PS_OK)
                return s;
            f->restart = (ps_restart_kind)ch;
        }
    }
    if (args & SIM_FARG_DELAY) {
        if (i >= p->nw)
            return expected(p, NULL, "a delay such as 50ms");
        if ((s = get_dur(p, whole(&p->w[i++]), &f->delay_ns, false)) != PS_OK)
            return s;
    }
    if (args & (SIM_FARG_FOR | SIM_FARG_FOR_OPT)) {
        if (is(word_at(p, i), "for")) {
            if ((s = for_dur(p, &i, f)) != PS_OK)
                return s;
        } else if (args & SIM_FARG_FOR) {
            return expected(p, word_at(p, i), "for DURATION");
        } else {
            could_come(pending, sizeof pending, "for DURATION");
        }
    }
    if (args & SIM_FARG_NODE) {
        if (starts(word_at(p, i), "node=")) {
            if ((s = node_arg(p, &p->w[i++], f)) != PS_OK)
                return s;
            pending[0] = '\0';
        } else {
            could_come(pending, sizeof pending, "node=N, node=leader");
        }
    }
    if (i < p->nw) {
        char what[160];
        size_t n = strlen(pending);
        if (n) /* "for DURATION, " -> "for DURATION or the end of the line" */
            snprintf(what, sizeof what, "%.*s or the end of the line", (int)(n - 2), pending);
        else
            snprintf(what, sizeof what, "the end of the line");
        return expected(p, &p->w[i], what);
    }
    return PS_OK;
}

/* Neither verb nor object fits: names what would have. */
static ps_status unknown_fault(parser *p, const word *verb, const word *obj)
{
    char what[400] = "";
    bool verb_known = false;
    for (int k = 0; k < SIM_FAULT_KIND_COUNT; k++)
        verb_known |= is(verb, fault_rows[k].verb);
    for (int k = 0; k < SIM_FAULT_KIND_COUNT; k++) {
        const sim_fault_info *r = &fault_rows[k];
        if (verb_known ? !is(verb, r->verb) : false)
            continue;
        const char *item = verb_known ? r->object : r->name;
        char quoted[64];
        snprintf(quoted, sizeof quoted, verb_known ? "'%s'" : "%s", item);
        if (strstr(what, quoted)) /* crash worker: two rows */
            continue;
        size_t n = strlen(what);
        snprintf(what + n, sizeof what - n, "%s%s", n ? (verb_known ? " or " : ", ") : "", quoted);
    }
    if (verb_known)
        return expected(p, obj, what);
    char list[440];
    snprintf(list, sizeof list, "a fault (%s)", what);
    return expected(p, verb, list);
}

/* "at TIME VERB OBJECT ...": the rows whose keywords fit are tried in
 * order; the first whose pieces read is taken, else the error of the one
 * that read furthest. */
static ps_status parse_fault(parser *p, sim_fault *f)
{
    const word *verb = word_at(p, 2), *obj = word_at(p, 3);
    int best = -1, best_col = -1;
    for (int k = 0; k < SIM_FAULT_KIND_COUNT; k++) {
        if (!is(verb, fault_rows[k].verb) || !is(obj, fault_rows[k].object))
            continue;
        sim_fault trial = *f;
        trial.kind = (sim_fault_kind)k;
        if (fault_args(p, 4, &trial) == PS_OK) {
            *f = trial;
            return PS_OK;
        }
        if (p->err_col > best_col)
            best = k, best_col = p->err_col;
    }
    if (best < 0)
        return unknown_fault(p, verb, obj);
    f->kind = (sim_fault_kind)best;
    return fault_args(p, 4, f); /* again, for its message */
}

static ps_status parse_at(parser *p)
{
    sim_scenario *sc = p->sc;
    if (sc->nfaults == SIM_MAX_FAULTS)
        return FAIL(p, p->w[0].col, "at most %d faults", SIM_MAX_FAULTS);
    sim_fault *f = &sc->faults[sc->nfaults];
    memset(f, 0, sizeof *f);
    f->pos = (sim_pos){p->line, p->w[0].col};
    if (p->nw < 2)
        return expected(p, NULL, "a time such as 10s");
    ps_status s = get_dur(p, whole(&p->w[1]), &f->at_ns, true);
    if (s == PS_OK)
        s = parse_fault(p, f);
    if (s == PS_OK)
        sc->nfaults++;
    return s;
}

/* ---- lines ------------------------------------------------------------------------------------- */

static ps_status split_line(parser *p, const char *line, size_t len)
{
    p->nw = 0;
    size_t end = len;
    bool quoted = false; /* a '#' inside "..." is not a comment */
    for (size_t i = 0; i < len; i++) {
        if (line[i] == '"')
            quoted = !quoted;
        if (line[i] == '#' && !quoted) {
            end = i;
            break;
        }
    }
    for (size_t i = 0; i < end; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c < 0x20 && c != '\t')
            return FAIL(p, (int)i + 1, "expected text, got control character 0x%02x", c);
        if (c >= 0x7f)
            return FAIL(p, (int)i + 1, "expected ASCII text, got byte 0x%02x", c);
    }
    size_t i = 0;
    while (i < end) {
        while (i < end && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == end)
            break;
        if (p->nw == MAX_WORDS)
            return FAIL(p, (int)i + 1, "expected at most %d words on a line", MAX_WORDS);
        word *w = &p->w[p->nw++];
        w->s = line + i;
        w->col = (int)i + 1;
        if (line[i] == '"') { /* "a quoted word", quotes kept, spaces inside */
            const char *close = memchr(line + i + 1, '"', end - i - 1);
            if (!close)
                return FAIL(p, (int)i + 1, "expected a closing '\"' on the line");
            i = (size_t)(close - line) + 1;
            if (i < end && line[i] != ' ' && line[i] != '\t')
                return FAIL(p, (int)i + 1, "expected a space after the closing '\"'");
        }
        while (i < end && line[i] != ' ' && line[i] != '\t')
            i++;
        w->len = (size_t)(line + i - w->s);
    }
    while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t'))
        end--;
    p->end_col = (int)end + 1;
    return PS_OK;
}

static ps_status statement(parser *p)
{
    const word *k = &p->w[0];
    if (is(k, "stream"))
        return parse_stream(p);
    if (is(k, "consumer"))
        return parse_consumer(p);
    if (is(k, "publish"))
        return parse_publish(p);
    if (is(k, "replay"))
        return parse_replay(p);
    if (is(k, "workers"))
        return parse_workers(p);
    if (is(k, "at"))
        return parse_at(p);
    if (is(k, "expect"))
        return parse_expect(p);
    if (is(k, "database"))
        return parse_database(p);
    if (is(k, "service"))
        return parse_service(p);
    return expected(p, k, "a statement (stream, consumer, publish, replay, workers, database, service, at, expect)");
}

/* ---- whole-file checks ----------------------------------------------------------------------- */

static const sim_stream *find_stream(const sim_scenario *sc, const char *name)
{
    for (int i = 0; i < sc->nstreams; i++)
        if (strcmp(sc->streams[i].name, name) == 0)
            return &sc->streams[i];
    return NULL;
}

static ps_status check_whole(parser *p)
{
    sim_scenario *sc = p->sc;
    int last = p->line;
    if (sc->nstreams == 0)
        return fail_at(p, last, 1, "expected a stream statement somewhere in the file");
    for (int i = 0; i < sc->nconsumers; i++) {
        const sim_consumer *c = &sc->consumers[i];
        if (!find_stream(sc, c->stream))
            return fail_at(p, c->pos.line, c->pos.col + 9, "expected a declared stream, got '%s'", c->stream);
        for (int j = 0; j < i; j++)
            if (!strcmp(sc->consumers[j].stream, c->stream) && !strcmp(sc->consumers[j].name, c->name))
                return fail_at(p, c->pos.line, c->pos.col, "consumer %s/%s is declared twice", c->stream, c->name);
    }
    for (int i = 0; i < sc->npublishers; i++) {
        const sim_publisher *pub = &sc->publishers[i];
        if (pub->workload[0])
            continue; /* a replay's subjects are checked when its workload is read (engine) */
        bool captured = false;
        for (int j = 0; j < sc->nstreams; j++)
            for (int k = 0; k < sc->streams[j].nsubjects; k++)
                captured |= ps_subject_matches(sc->streams[j].subjects[k], pub->subject);
        if (!captured)
            return fail_at(p, pub->pos.line, pub->pos.col + 8,
                           "expected a subject some stream captures, got '%s'", pub->subject);
    }
    if (sc->nconsumers == 0)
        return fail_at(p, last, 1, "expected a consumer statement somewhere in the file");
    if (sc->npublishers == 0)
        return fail_at(p, last, 1, "expected a publish statement somewhere in the file");
    if (sc->nworkers == 0)
        return fail_at(p, last, 1, "expected a workers statement somewhere in the file");
    int64_t total_workers = 0;
    for (int i = 0; i < sc->nworkers; i++) {
        sim_workers *wk = &sc->workers[i];
        total_workers += wk->count;
        if (!wk->consumer[0]) {
            if (sc->nconsumers != 1)
                return fail_at(p, wk->pos.line, wk->pos.col,
                               "expected consumer=STREAM/NAME: the scenario has %d consumers", sc->nconsumers);
            snprintf(wk->stream, sizeof wk->stream, "%s", sc->consumers[0].stream);
            snprintf(wk->consumer, sizeof wk->consumer, "%s", sc->consumers[0].name);
        }
        bool found = false;
        for (int j = 0; j < sc->nconsumers; j++)
            found |= !strcmp(sc->consumers[j].stream, wk->stream) && !strcmp(sc->consumers[j].name, wk->consumer);
        if (!found)
            return fail_at(p, wk->pos.line, wk->pos.col, "expected a declared consumer, got '%s/%s'",
                           wk->stream, wk->consumer);
    }
    for (int i = 0; i < sc->nfaults; i++) {
        const sim_fault *f = &sc->faults[i];
        if ((f->kind == SIM_FAULT_POWER_LOSS_DB || f->kind == SIM_FAULT_CRASH_AT_DB_WRITE) && !sc->has_database)
            return fail_at(p, f->pos.line, f->pos.col, "expected a database statement: '%s' faults the user's "
                           "database", sim_fault_name(f->kind));
        bool per_worker = sim_fault_info_of(f->kind)->args & SIM_FARG_WORKER;
        if (per_worker && f->worker > total_workers)
            return fail_at(p, f->pos.line, f->pos.col, "expected a worker from 1 to %" PRId64 ", got %" PRId64,
                           total_workers, f->worker);
    }
    return PS_OK;
}

/* ---- entry points -------------------------------------------------------------------------------- */

sim_scenario *sim_scenario_new(void)
{
    sim_scenario *sc = calloc(1, sizeof *sc);
    if (!sc)
        ps_error(PS_ERR_NO_MEMORY, 0, "scenario: out of memory");
    return sc;
}

void sim_scenario_free(sim_scenario *sc)
{
    free(sc);
}

ps_status sim_scenario_parse(sim_scenario *out, const char *file, const char *text, size_t len)
{
    if (!out || (!text && len))
        return ps_error(PS_ERR_INVALID_ARG, 0, "sim_scenario_parse: NULL argument");
    memset(out, 0, sizeof *out);
    parser p = {.file = file ? file : "<scenario>", .line = 0, .sc = out};
    snprintf(out->file, sizeof out->file, "%s", p.file);
    size_t pos = 0;
    while (pos < len || (pos == len && p.line == 0)) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t n = end - pos;
        if (n > 0 && text[pos + n - 1] == '\r')
            n--;
        p.line++;
        ps_status s = split_line(&p, text + pos, n);
        if (s == PS_OK && p.nw > 0)
            s = statement(&p);
        if (s != PS_OK)
            return s;
        pos = end + 1;
        if (!nl)
            break;
    }
    return check_whole(&p);
}

ps_status sim_scenario_load(sim_scenario *out, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ps_error(PS_ERR_IO, 0, "%s: cannot open: %s", path, strerror(errno));
    char *buf = malloc(SIM_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        return ps_error(PS_ERR_NO_MEMORY, 0, "%s: out of memory", path);
    }
    size_t n = fread(buf, 1, SIM_FILE_MAX + 1, f);
    int err = ferror(f) ? errno : 0; /* EISDIR for a directory */
    fclose(f);
    ps_status s;
    if (err)
        s = ps_error(PS_ERR_IO, 0, "%s: read error: %s", path, strerror(err));
    else if (n > SIM_FILE_MAX)
        s = ps_error(PS_ERR_INVALID_ARG, 0, "%s:1:1: expected a scenario of at most 4 MiB", path);
    else
        s = sim_scenario_parse(out, path, buf, n);
    free(buf);
    return s;
}

/* ---- writing ------------------------------------------------------------------------------------- */

/* A duration the parser reads back: whole milliseconds in Go form
 * ("1m30s", "250ms"), anything finer in nanoseconds (the Go form would
 * use "µs", which is not ASCII). */
static const char *dur(int64_t ns, char *buf)
{
    if (ns % PS_NS_PER_MS == 0)
        return ps_duration_format(ns, buf, 32);
    snprintf(buf, 32, "%" PRId64 "ns", ns);
    return buf;
}

static void write_pct(FILE *f, int bp)
{
    if (bp % 100 == 0)
        fprintf(f, "%d%%", bp / 100);
    else
        fprintf(f, "%d.%02d%%", bp / 100, bp % 100);
}

/* Whether the option holds its zero value (then it is left out, unless
 * OPT_ALWAYS). */
static bool option_is_zero(const option *o, const void *base)
{
    void *b = (void *)base;
    switch (o->kind) {
    case OPT_INT:
    case OPT_DUR: return *AT(b, o, int64_t) == 0;
    case OPT_PCT:
    case OPT_CHOICE: return *AT(b, o, int) == 0;
    case OPT_BOOL:
    case OPT_FLAG: return !*AT(b, o, bool);
    case OPT_RATE: return *AT(b, o, double) == 0;
    case OPT_SUBJECTS:
    case OPT_DURS: return *AUX(b, o, int) == 0;
    case OPT_FILTER:
    case OPT_TRANSFORM:
    case OPT_NAME:
    case OPT_REF: return *AT(b, o, char) == '\0';
    case OPT_SPAN: return *AT(b, o, int64_t) == 0 && *AUX(b, o, int64_t) == 0;
    }
    return true;
}

static void write_value(FILE *f, const option *o, const void *base)
{
    void *b = (void *)base;
    char t1[32], t2[32];
    switch (o->kind) {
    case OPT_INT: fprintf(f, "%" PRId64, *AT(b, o, int64_t)); break;
    case OPT_DUR: fputs(dur(*AT(b, o, int64_t), t1), f); break;
    case OPT_PCT: write_pct(f, *AT(b, o, int)); break;
    case OPT_CHOICE: fputs(o->names[*AT(b, o, int)], f); break;
    case OPT_BOOL: fputs(bool_names[*AT(b, o, bool)], f); break;
    case OPT_FLAG: break;
    case OPT_RATE: fprintf(f, "%.0f/s", *AT(b, o, double)); break;
    case OPT_SUBJECTS:
        for (int k = 0; k < *AUX(b, o, int); k++)
            fprintf(f, "%s%s", k ? "," : "", AT(b, o, text_field)[k]);
        break;
    case OPT_DURS:
        for (int k = 0; k < *AUX(b, o, int); k++)
            fprintf(f, "%s%s", k ? "," : "", dur(AT(b, o, int64_t)[k], t1));
        break;
    case OPT_FILTER:
    case OPT_NAME:
    case OPT_TRANSFORM: fputs(AT(b, o, char), f); break;
    case OPT_REF: fprintf(f, "%s/%s", AT(b, o, char), AUX(b, o, char)); break;
    case OPT_SPAN: fprintf(f, "%s..%s", dur(*AT(b, o, int64_t), t1), dur(*AUX(b, o, int64_t), t2)); break;
    }
}

/* " name=value" for every option of the table that is set or OPT_ALWAYS. */
static void write_options(FILE *f, const option *opts, size_t n, const void *base)
{
    for (size_t k = 0; k < n; k++) {
        if (!(opts[k].flags & OPT_ALWAYS) && option_is_zero(&opts[k], base))
            continue;
        fprintf(f, " %s%s", opts[k].name, opts[k].kind == OPT_FLAG ? "" : sep_of(&opts[k]));
        write_value(f, &opts[k], base);
    }
}

static void write_fault(FILE *f, const sim_scenario *s, const sim_fault *x)
{
    char a[32];
    const sim_fault_info *r = sim_fault_info_of(x->kind);
    if (!r)
        return;
    fprintf(f, "at %s %s", dur(x->at_ns, a), r->name);
    if (r->args & SIM_FARG_SERVICE && x->service >= 0 && x->service < s->nservices)
        fprintf(f, " %s", s->services[x->service].name);
    if (r->args & SIM_FARG_WORKER)
        fprintf(f, " %" PRId64, x->worker);
    if (r->args & SIM_FARG_AFTER_COMMIT)
        fputs(" after_commit", f);
    if (r->args & SIM_FARG_BEFORE_HANDLE)
        fputs(" before_handle", f);
    if (r->args & SIM_FARG_AT_WRITE)
        fprintf(f, " at_db_write=%" PRId64, x->count);
    if (r->args & SIM_FARG_HANDLE)
        fprintf(f, " handle=%s", dur(x->handle_ns, a));
    if (r->args & SIM_FARG_PCT) {
        fputc(' ', f);
        write_pct(f, x->bp);
    }
    if (r->args & SIM_FARG_RESTART)
        fprintf(f, " %s", restart_names[x->restart]);
    if (r->args & SIM_FARG_DELAY)
        fprintf(f, " %s", dur(x->delay_ns, a));
    if (r->args & (SIM_FARG_FOR | SIM_FARG_FOR_OPT) && x->duration_ns)
        fprintf(f, " for %s", dur(x->duration_ns, a));
    if (r->args & SIM_FARG_NODE && x->node)
        x->node < 0 ? fprintf(f, " node=leader") : fprintf(f, " node=%" PRId64, x->node);
    fputc('\n', f);
}

void sim_scenario_write(const sim_scenario *s, FILE *f)
{
    for (int i = 0; i < s->nstreams; i++) {
        fprintf(f, "stream %s", s->streams[i].name);
        write_options(f, stream_opts, NOPTS(stream_opts), &s->streams[i]);
        fputc('\n', f);
    }
    for (int i = 0; i < s->nconsumers; i++) {
        fprintf(f, "consumer %s %s", s->consumers[i].stream, s->consumers[i].name);
        write_options(f, consumer_opts, NOPTS(consumer_opts), &s->consumers[i]);
        fputc('\n', f);
    }
    for (int i = 0; i < s->npublishers; i++) {
        const sim_publisher *pub = &s->publishers[i];
        if (pub->workload[0])
            fprintf(f, "replay %s", pub->workload);
        else
            fprintf(f, "publish %s", pub->subject);
        write_options(f, publish_opts, NOPTS(publish_opts), pub);
        fputc('\n', f);
    }
    for (int i = 0; i < s->nworkers; i++) {
        fprintf(f, "workers %" PRId64, s->workers[i].count);
        write_options(f, workers_opts, NOPTS(workers_opts), &s->workers[i]);
        fputc('\n', f);
    }
    if (s->has_database)
        fprintf(f, "database%s%s\n", s->db_schema[0] ? " schema=" : "", s->db_schema);
    for (int i = 0; i < s->nservices; i++) {
        fprintf(f, "service %s", s->services[i].name);
        write_options(f, service_opts, NOPTS(service_opts), &s->services[i]);
        fputc('\n', f);
    }
    for (int i = 0; i < s->nfaults; i++)
        write_fault(f, s, &s->faults[i]);
    if (s->has_expect) {
        fprintf(f, "expect");
        write_options(f, expect_opts, NOPTS(expect_opts), &s->expect);
        fputc('\n', f);
    }
    for (int i = 0; i < s->nsql; i++) {
        fprintf(f, "expect sql \"%s\" ", s->sql[i].sql);
        if (s->sql[i].empty)
            fputs("empty\n", f);
        else
            fprintf(f, "=%" PRId64 "\n", s->sql[i].equals);
    }
}

/* ---- fault mixes ------------------------------------------------------------------------------ */

static int64_t scaled(ps_rand *r, int64_t v)
{
    return (int64_t)((double)v * (0.5 + ps_rand_double(r)));
}

void sim_scenario_mix(sim_scenario *s, uint64_t seed)
{
    ps_rand r = ps_rand_derive(seed, 0x313);
    int n = 0;
    for (int i = 0; i < s->nfaults; i++) {
        sim_fault f = s->faults[i];
        if (ps_rand_below(&r, 4) == 0)
            continue; /* dropped from this mix */
        f.at_ns = scaled(&r, f.at_ns);
        if (f.duration_ns)
            f.duration_ns = scaled(&r, f.duration_ns) + 1;
        if (f.bp) {
            int64_t bp = scaled(&r, f.bp);
            f.bp = (int)(bp > 10000 ? 10000 : bp < 1 ? 1 : bp);
        }
        s->faults[n++] = f;
    }
    s->nfaults = n;
    s->mixed = true;
}
