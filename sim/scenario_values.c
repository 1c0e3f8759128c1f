/* scenario_values.c — the scenario parser's readers of values: errors that
 * point at file:line:col, integers, durations, percentages, names and
 * choices, and the option tables of the statements with the one walker
 * that reads `name=value` words against a table (scenario_internal.h).
 *
 * Not here: the statements that call these (scenario.c), the faults
 * (scenario_faults.c), or printing a table back (scenario_write.c).
 */
#include "scenario_internal.h"
#include "workload.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <strings.h>

#include "ps_clock.h"
#include "ps_subject.h"
#include "ps_backend_impl.h"

/* ---- errors ------------------------------------------------------------------ */

ps_status scn_fail_at(parser *p, int line, int col, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->err_col = col;
    return ps_error(PS_ERR_INVALID_ARG, 0, "%s:%d:%d: %s", p->file, line, col, msg);
}

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

ps_status scn_expected(parser *p, const word *w, const char *what)
{
    char b[64];
    if (!w)
        return FAIL(p, p->end_col, "expected %s, got the end of the line", what);
    return FAIL(p, w->col, "expected %s, got '%s'", what, shown(w->s, w->len, b, sizeof b));
}

/* ---- values ------------------------------------------------------------------ */

/* Every value error names what was expected and, inside an option, the
 * option ("... for replicas=, got '7'"). */
ps_status scn_bad_value(parser *p, value v, const char *what)
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

ps_status scn_get_int(parser *p, value v, int64_t lo, int64_t hi, int64_t *out)
{
    char buf[32], what[96];
    snprintf(what, sizeof what, "an integer from %" PRId64 " to %" PRId64, lo, hi);
    if (v.len == 0 || v.len >= sizeof buf)
        return scn_bad_value(p, v, what);
    for (size_t i = 0; i < v.len; i++)
        if (v.s[i] < '0' || v.s[i] > '9')
            return scn_bad_value(p, v, what);
    memcpy(buf, v.s, v.len);
    buf[v.len] = '\0';
    errno = 0;
    long long x = strtoll(buf, NULL, 10);
    if (errno || x < lo || x > hi)
        return scn_bad_value(p, v, what);
    *out = x;
    return PS_OK;
}

ps_status scn_get_dur(parser *p, value v, int64_t *out, bool zero_ok)
{
    char buf[48];
    const char *what = zero_ok ? "a duration such as 250ms, 30s or 2m"
                               : "a positive duration such as 250ms, 30s or 2m";
    if (v.len == 0 || v.len >= sizeof buf)
        return scn_bad_value(p, v, what);
    memcpy(buf, v.s, v.len);
    buf[v.len] = '\0';
    int64_t ns = 0;
    if (ps_duration_parse(buf, &ns) != PS_OK || ns < 0 || (!zero_ok && ns == 0))
        return scn_bad_value(p, v, what);
    if (ns > SIM_DURATION_MAX_NS)
        return scn_bad_value(p, v, "a duration of at most 87600h (ten years)");
    *out = ns;
    return PS_OK;
}

/* "12%", "0.5%", "100%": basis points. */
ps_status scn_get_pct(parser *p, value v, int *bp)
{
    const char *what = "a percentage such as 5% or 0.25%";
    if (v.len < 2 || v.s[v.len - 1] != '%')
        return scn_bad_value(p, v, what);
    int64_t whole_part = 0, frac = 0;
    size_t i = 0, digits = 0, fdigits = 0;
    /* At most three digits are read: more would overflow, and are refused. */
    for (; i < v.len - 1 && v.s[i] >= '0' && v.s[i] <= '9' && digits <= 3; i++, digits++)
        whole_part = whole_part * 10 + (v.s[i] - '0');
    if (digits == 0 || digits > 3)
        return scn_bad_value(p, v, "a percentage from 0% to 100%");
    if (i < v.len - 1 && v.s[i] == '.') {
        for (i++; i < v.len - 1 && v.s[i] >= '0' && v.s[i] <= '9'; i++, fdigits++)
            if (fdigits < 2)
                frac = frac * 10 + (v.s[i] - '0');
            else
                return scn_bad_value(p, v, "a percentage with at most two decimals");
        if (fdigits == 0)
            return scn_bad_value(p, v, what);
        if (fdigits == 1)
            frac *= 10;
    }
    if (i != v.len - 1)
        return scn_bad_value(p, v, what);
    int64_t total = whole_part * 100 + frac;
    if (total > 10000)
        return scn_bad_value(p, v, "a percentage from 0% to 100%");
    *bp = (int)total;
    return PS_OK;
}

ps_status scn_get_text(parser *p, value v, char *dst, const char *what)
{
    if (v.len == 0 || v.len >= SIM_TEXT_MAX)
        return scn_bad_value(p, v, what);
    memcpy(dst, v.s, v.len);
    dst[v.len] = '\0';
    return PS_OK;
}

ps_status scn_get_choice(parser *p, value v, const char *const *names, int n, int *out)
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
    return scn_bad_value(p, v, what);
}

/* ---- option tables -------------------------------------------------------------------- */

#define NOPTS(t) (sizeof(t) / sizeof(t)[0])

static const char *const retention_names[] = {"limits", "interest", "workqueue"};
static const char *const storage_names[] = {"file", "memory"};
static const char *const discard_names[] = {"old", "new"};
static const char *const deliver_names[] = {"all", "last", "new", "by_start_seq", "by_start_time"};
static const char *const ack_names[] = {"explicit", "none", "all"};
static const char *const msg_id_names[] = {"job", "none"};
static const char *const commit_names[] = {"before_ack", "after_ack"};
const char *const scn_bool_names[] = {"no", "yes"};
const char *const scn_restart_names[] = {"graceful", "crash", "power_loss"};

/* OPT_CHOICE stores an enum through an int. */
_Static_assert(sizeof(ps_retention) == sizeof(int) && sizeof(ps_storage) == sizeof(int) &&
                   sizeof(ps_discard) == sizeof(int) && sizeof(ps_deliver_policy) == sizeof(int) &&
                   sizeof(sim_msg_id) == sizeof(int) && sizeof(sim_commit) == sizeof(int),
               "scenario enums are int-sized");
_Static_assert(PS_DELIVER_ALL == 0 && PS_DELIVER_LAST == 1 && PS_DELIVER_NEW == 2 &&
                   PS_DELIVER_BY_START_SEQ == 3 && PS_DELIVER_BY_START_TIME == 4,
               "deliver_names follows ps_deliver_policy");
_Static_assert(PS_ACK_EXPLICIT == 0 && PS_ACK_NONE == 1 && PS_ACK_ALL == 2 && sizeof(ps_ack_policy) == sizeof(int),
               "ack_names follows ps_ack_policy");

#define CHOICE(type, field, list)                                                                  \
    .off = offsetof(type, field), .kind = OPT_CHOICE, .max = NOPTS(list) - 1, .names = list,      \
    .flags = OPT_ALWAYS

static const option stream_rows[] = {
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

static const option consumer_rows[] = {
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
    {.name = "start_seq", .off = offsetof(sim_consumer, start_seq), .kind = OPT_INT, .min = 1, .max = INT64_MAX},
    {.name = "start_time", .off = offsetof(sim_consumer, start_time_ns), .kind = OPT_DUR, .min = 0,
     .max = SIM_DURATION_MAX_NS},
    /* not written when explicit, so that scenarios written before it read the same */
    {.name = "ack", .off = offsetof(sim_consumer, ack), .kind = OPT_CHOICE, .max = NOPTS(ack_names) - 1,
     .names = ack_names},
};

/* publish and replay: a publish's rate and count are never 0, so both
 * are written; a replay's are left out when 0 (the workload's own). */
static const option publish_rows[] = {
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
    {.name = "delay", .off = offsetof(sim_publisher, delay_min_ns), .kind = OPT_SPAN, .min = 0,
     .max = SIM_DURATION_MAX_NS, .aux = offsetof(sim_publisher, delay_max_ns)},
    {.name = "header", .off = offsetof(sim_publisher, header), .kind = OPT_HEADER},
    {.name = "key_header", .off = offsetof(sim_publisher, key_header), .kind = OPT_NAME},
    {.name = "start", .off = offsetof(sim_publisher, start_ns), .kind = OPT_DUR, .min = 0,
     .max = SIM_DURATION_MAX_NS},
};

static const option workers_rows[] = {
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
    {.name = "max_in_flight", .off = offsetof(sim_workers, max_in_flight), .kind = OPT_INT, .min = 1,
     .max = 10000},
    {.name = "backoff", .off = offsetof(sim_workers, backoff_ns), .kind = OPT_DURS, .min = 1,
     .max = SIM_MAX_BACKOFF, .aux = offsetof(sim_workers, nbackoff)},
    {.name = "dead_letter", .off = offsetof(sim_workers, dead_letter), .kind = OPT_LITERAL},
    {.name = "dead_letter_after", .off = offsetof(sim_workers, dead_letter_after), .kind = OPT_INT, .min = 1,
     .max = 1000000},
    {.name = "key_header", .off = offsetof(sim_workers, key_header), .kind = OPT_NAME},
    {.name = "ignore_not_before", .off = offsetof(sim_workers, ignore_not_before), .kind = OPT_BOOL},
};

static const option service_rows[] = {
    {.name = "latency", .off = offsetof(sim_service, latency_min_ns), .kind = OPT_SPAN, .min = 0,
     .max = SIM_DURATION_MAX_NS, .aux = offsetof(sim_service, latency_max_ns), .flags = OPT_ALWAYS},
    {.name = "fail", .off = offsetof(sim_service, fail_bp), .kind = OPT_PCT},
    {.name = "timeout", .off = offsetof(sim_service, timeout_ns), .kind = OPT_DUR, .min = 1,
     .max = SIM_DURATION_MAX_NS},
};

static const option expect_rows[] = {
    {.name = "no_loss", .off = offsetof(sim_expect, no_loss), .kind = OPT_FLAG, .sep = ""},
    {.name = "no_double_completion", .off = offsetof(sim_expect, no_double_completion), .kind = OPT_FLAG,
     .sep = ""},
    {.name = "attempts", .off = offsetof(sim_expect, attempts_max), .kind = OPT_INT, .min = 1,
     .max = 1000000, .sep = "<="},
    {.name = "per_key_order", .off = offsetof(sim_expect, per_key_order), .kind = OPT_FLAG, .sep = ""},
    {.name = "dedup", .off = offsetof(sim_expect, dedup), .kind = OPT_FLAG, .sep = ""},
    {.name = "drained_within", .off = offsetof(sim_expect, drained_within_ns), .kind = OPT_DUR, .min = 1,
     .max = SIM_DURATION_MAX_NS},
    {.name = "dead_or_done", .off = offsetof(sim_expect, dead_or_done), .kind = OPT_FLAG, .sep = ""},
    {.name = "not_early", .off = offsetof(sim_expect, not_early), .kind = OPT_FLAG, .sep = ""},
};

#define TABLE(rows) {rows, NOPTS(rows)}
const option_table scn_stream_opts = TABLE(stream_rows), scn_consumer_opts = TABLE(consumer_rows),
                   scn_publish_opts = TABLE(publish_rows), scn_workers_opts = TABLE(workers_rows),
                   scn_service_opts = TABLE(service_rows), scn_expect_opts = TABLE(expect_rows);

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
            return scn_bad_value(p, part, what);
        }
        ps_status s = one(p, o, base, part);
        if (s != PS_OK)
            return s;
        ++*n;
        start = i + 1;
    }
    return PS_OK;
}

static ps_status one_subject(parser *p, const option *o, void *base, value v)
{
    char *dst = AT(base, o, text_field)[*AUX(base, o, int)];
    ps_status s = scn_get_text(p, v, dst, "a subject");
    if (s == PS_OK && !ps_subject_valid(dst))
        s = scn_bad_value(p, v, "a valid subject (tokens separated by '.', wildcards * and >)");
    return s;
}

static ps_status one_dur(parser *p, const option *o, void *base, value v)
{
    return scn_get_dur(p, v, &AT(base, o, int64_t)[*AUX(base, o, int)], false);
}

static ps_status read_rate(parser *p, const option *o, void *base, value v)
{
    const char *slash = memchr(v.s, '/', v.len);
    if (!slash || (size_t)(v.s + v.len - slash) != 2 || slash[1] != 's')
        return scn_bad_value(p, v, "a rate such as 500/s");
    int64_t n = 0;
    ps_status s = scn_get_int(p, (value){v.s, (size_t)(slash - v.s), v.col}, o->min, o->max, &n);
    if (s == PS_OK)
        *AT(base, o, double) = (double)n;
    return s;
}

static ps_status read_ref(parser *p, const option *o, void *base, value v)
{
    const char *slash = memchr(v.s, '/', v.len);
    if (!slash)
        return scn_bad_value(p, v, "STREAM/CONSUMER");
    value a = {v.s, (size_t)(slash - v.s), v.col};
    value b = {slash + 1, v.len - a.len - 1, v.col + (int)a.len + 1};
    ps_status s = scn_get_text(p, a, AT(base, o, char), "a stream name");
    return s == PS_OK ? scn_get_text(p, b, AUX(base, o, char), "a consumer name") : s;
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
        ps_status s = scn_get_dur(p, v, lo, o->min == 0);
        *hi = *lo;
        return s;
    }
    value a = {v.s, (size_t)(dots - v.s), v.col};
    value b = {dots + 2, v.len - a.len - 2, v.col + (int)a.len + 2};
    ps_status s = scn_get_dur(p, a, lo, o->min == 0);
    if (s == PS_OK)
        s = scn_get_dur(p, b, hi, o->min == 0);
    if (s == PS_OK && *hi < *lo)
        s = scn_bad_value(p, b, "a longest handling time no shorter than the shortest");
    return s;
}

/* NAME:VALUE: a header name as OPT_NAME reads it (not a JetStream Nats-
 * one), a value of printable characters (a word has no spaces). */
static ps_status read_header(parser *p, const option *o, void *base, value v)
{
    const char *what = "NAME:VALUE (NAME of letters, digits, '_', '-' and '.', not Nats-...; VALUE printable)";
    ps_status s = scn_get_text(p, v, AT(base, o, char), what);
    if (s != PS_OK)
        return s;
    const char *h = AT(base, o, char), *colon = strchr(h, ':');
    size_t nl = colon ? (size_t)(colon - h) : 0;
    bool ok = colon && nl > 0 && colon[1] &&
              strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") == nl &&
              strncasecmp(h, "Nats-", 5) != 0;
    for (const char *c = colon ? colon + 1 : ""; ok && *c; c++)
        ok = *c > ' ' && *c < 0x7f;
    return ok ? PS_OK : scn_bad_value(p, v, what);
}

/* Reads v into the option's field of the statement at base. */
static ps_status read_option(parser *p, const option *o, void *base, value v)
{
    int ch = 0;
    ps_status s;
    switch (o->kind) {
    case OPT_INT: return scn_get_int(p, v, o->min, o->max, AT(base, o, int64_t));
    case OPT_DUR: return scn_get_dur(p, v, AT(base, o, int64_t), o->min == 0);
    case OPT_PCT: return scn_get_pct(p, v, AT(base, o, int));
    case OPT_CHOICE:
        if ((s = scn_get_choice(p, v, o->names, (int)o->max + 1, &ch)) == PS_OK)
            *AT(base, o, int) = ch;
        return s;
    case OPT_BOOL:
        if ((s = scn_get_choice(p, v, scn_bool_names, 2, &ch)) == PS_OK)
            *AT(base, o, bool) = ch == 1;
        return s;
    case OPT_FLAG: *AT(base, o, bool) = true; return PS_OK;
    case OPT_RATE: return read_rate(p, o, base, v);
    case OPT_SUBJECTS: return each_listed(p, o, base, v, one_subject);
    case OPT_DURS: return each_listed(p, o, base, v, one_dur);
    case OPT_FILTER:
        if ((s = scn_get_text(p, v, AT(base, o, char), "a filter subject")) != PS_OK)
            return s;
        return ps_subject_valid(AT(base, o, char)) ? PS_OK : scn_bad_value(p, v, "a valid filter subject");
    case OPT_TRANSFORM:
        if ((s = scn_get_text(p, v, AT(base, o, char), "a subject transform SRC=>DST")) != PS_OK)
            return s;
        if (sim_workload_transform_check(AT(base, o, char)) != PS_OK)
            return scn_bad_value(p, v, "a subject transform SRC=>DST (SRC a subject with *s and a final >, DST "
                                   "using $1, $2 ... for the *s)");
        return PS_OK;
    case OPT_REF: return read_ref(p, o, base, v);
    case OPT_SPAN: return read_span(p, o, base, v);
    case OPT_NAME:
        if ((s = scn_get_text(p, v, AT(base, o, char), "a name")) != PS_OK)
            return s;
        if (strspn(AT(base, o, char), "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != v.len)
            return scn_bad_value(p, v, "a name of letters, digits, '_', '-' and '.'");
        return PS_OK;
    case OPT_LITERAL:
        if ((s = scn_get_text(p, v, AT(base, o, char), "a subject")) != PS_OK)
            return s;
        return ps_subject_is_literal(AT(base, o, char)) ? PS_OK
                                                        : scn_bad_value(p, v, "a literal subject (no wildcards)");
    case OPT_HEADER: return read_header(p, o, base, v);
    }
    return scn_bad_value(p, v, "a known kind of value");
}

/* The option word w names (name, separator, value), or NULL. */
static const option *option_named(const word *w, const option_table *t, unsigned skip)
{
    for (size_t k = 0; k < t->n; k++) {
        const option *o = &t->rows[k];
        size_t nl = strlen(o->name), sl = strlen(sep_of(o));
        if (o->flags & skip || w->len < nl + sl || memcmp(w->s, o->name, nl) != 0 ||
            memcmp(w->s + nl, sep_of(o), sl) != 0)
            continue;
        if (o->kind != OPT_FLAG || w->len == nl) /* a flag is the bare name */
            return o;
    }
    return NULL;
}

const char *scn_option_list(const char *noun, const option_table *t, unsigned skip, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s (", noun);
    for (size_t k = 0, listed = 0; k < t->n; k++) {
        if (t->rows[k].flags & skip)
            continue;
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s%s", listed++ ? ", " : "", t->rows[k].name, sep_of(&t->rows[k]));
    }
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len, ")");
    return buf;
}

ps_status scn_options(parser *p, int first, const option_table *t, unsigned skip, const char *noun,
                      void *base)
{
    bool seen[16] = {false};
    for (int i = first; i < p->nw; i++) {
        const word *w = &p->w[i];
        const option *o = option_named(w, t, skip);
        if (!o) {
            char what[320];
            return scn_expected(p, w, scn_option_list(noun, t, skip, what, sizeof what));
        }
        if (seen[o - t->rows])
            return FAIL(p, w->col, "option %s%s is given twice", o->name, sep_of(o));
        seen[o - t->rows] = true;
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
