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
} parser;

/* ---- errors ------------------------------------------------------------------ */

static ps_status fail_at(const parser *p, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static ps_status fail_at(const parser *p, int line, int col, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
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

static ps_status expected(const parser *p, const word *w, const char *what)
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

static ps_status bad_value(const parser *p, value v, const char *what)
{
    char b[64];
    if (v.len == 0)
        return FAIL(p, v.col, "expected %s, got nothing", what);
    return FAIL(p, v.col, "expected %s, got '%s'", what, shown(v.s, v.len, b, sizeof b));
}

static ps_status get_int(const parser *p, value v, int64_t lo, int64_t hi, int64_t *out)
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

static ps_status get_dur(const parser *p, value v, int64_t *out, bool zero_ok)
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
static ps_status get_pct(const parser *p, value v, int *bp)
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

static ps_status get_text(const parser *p, value v, char *dst, const char *what)
{
    if (v.len == 0 || v.len >= SIM_TEXT_MAX)
        return bad_value(p, v, what);
    memcpy(dst, v.s, v.len);
    dst[v.len] = '\0';
    return PS_OK;
}

static ps_status get_choice(const parser *p, value v, const char *const *names, int n, int *out)
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

static ps_status get_bool(const parser *p, value v, bool *out)
{
    static const char *const yn[] = {"no", "yes"};
    int i = 0;
    ps_status s = get_choice(p, v, yn, 2, &i);
    if (s == PS_OK)
        *out = i == 1;
    return s;
}

/* ---- options (key=value) ----------------------------------------------------------------- */

/* Walks the words from `first` as key=value options; for each calls
 * `fn(p, key-index, value)`. Unknown and repeated keys are errors. */
typedef ps_status (*option_fn)(parser *p, void *target, int key, value v);

static ps_status options(parser *p, int first, const char *const *keys, int nkeys, option_fn fn,
                         void *target)
{
    bool seen[32] = {false};
    for (int i = first; i < p->nw; i++) {
        const word *w = &p->w[i];
        const char *eq = memchr(w->s, '=', w->len);
        char what[320] = "an option (";
        for (int k = 0; k < nkeys; k++) {
            size_t n = strlen(what);
            snprintf(what + n, sizeof what - n, "%s%s=", k ? ", " : "", keys[k]);
        }
        size_t n = strlen(what);
        snprintf(what + n, sizeof what - n, ")");
        if (!eq)
            return expected(p, w, what);
        size_t klen = (size_t)(eq - w->s);
        int key = -1;
        for (int k = 0; k < nkeys; k++)
            if (klen == strlen(keys[k]) && memcmp(w->s, keys[k], klen) == 0)
                key = k;
        if (key < 0)
            return expected(p, w, what);
        if (seen[key])
            return FAIL(p, w->col, "option %s= is given twice", keys[key]);
        seen[key] = true;
        value v = {eq + 1, w->len - klen - 1, w->col + (int)klen + 1};
        ps_status s = fn(p, target, key, v);
        if (s != PS_OK)
            return s;
    }
    return PS_OK;
}

/* ---- stream ------------------------------------------------------------------------------ */

static const char *const stream_keys[] = {"subjects", "retention", "storage", "dupe_window",
                                          "max_msgs", "max_bytes", "max_age", "discard", "replicas"};
static const char *const retention_names[] = {"limits", "interest", "workqueue"};
static const char *const storage_names[] = {"file", "memory"};
static const char *const discard_names[] = {"old", "new"};

static ps_status stream_opt(parser *p, void *target, int key, value v)
{
    sim_stream *st = target;
    int c = 0;
    ps_status s = PS_OK;
    switch (key) {
    case 0: /* subjects=a.>,b */
        for (size_t i = 0, start = 0; i <= v.len; i++) {
            if (i < v.len && v.s[i] != ',')
                continue;
            value one = {v.s + start, i - start, v.col + (int)start};
            if (st->nsubjects == SIM_MAX_SUBJECTS)
                return bad_value(p, one, "at most 8 subjects");
            char *dst = st->subjects[st->nsubjects];
            if ((s = get_text(p, one, dst, "a subject")) != PS_OK)
                return s;
            if (!ps_subject_valid(dst))
                return bad_value(p, one, "a valid subject (tokens separated by '.', wildcards * and >)");
            st->nsubjects++;
            start = i + 1;
        }
        return PS_OK;
    case 1:
        s = get_choice(p, v, retention_names, 3, &c);
        st->retention = (ps_retention)c;
        return s;
    case 2:
        s = get_choice(p, v, storage_names, 2, &c);
        st->storage = (ps_storage)c;
        return s;
    case 3: return get_dur(p, v, &st->dupe_window_ns, false);
    case 4: return get_int(p, v, 1, INT64_MAX, &st->max_msgs);
    case 5: return get_int(p, v, 1, INT64_MAX, &st->max_bytes);
    case 6: return get_dur(p, v, &st->max_age_ns, false);
    case 8: return get_int(p, v, 1, 5, &st->replicas);
    default:
        s = get_choice(p, v, discard_names, 2, &c);
        st->discard = (ps_discard)c;
        return s;
    }
}

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
        s = options(p, 2, stream_keys, 9, stream_opt, st);
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

/* ---- consumer ---------------------------------------------------------------------------- */

static const char *const consumer_keys[] = {"ack_wait", "max_deliver", "backoff",
                                            "max_ack_pending", "filter", "deliver"};
static const char *const deliver_names[] = {"all", "last", "new"};

static ps_status consumer_opt(parser *p, void *target, int key, value v)
{
    sim_consumer *c = target;
    int ch = 0;
    ps_status s;
    switch (key) {
    case 0: return get_dur(p, v, &c->ack_wait_ns, false);
    case 1: return get_int(p, v, 1, 1000000, &c->max_deliver);
    case 2:
        for (size_t i = 0, start = 0; i <= v.len; i++) {
            if (i < v.len && v.s[i] != ',')
                continue;
            value one = {v.s + start, i - start, v.col + (int)start};
            if (c->nbackoff == SIM_MAX_BACKOFF)
                return bad_value(p, one, "at most 16 backoff durations");
            if ((s = get_dur(p, one, &c->backoff_ns[c->nbackoff], false)) != PS_OK)
                return s;
            c->nbackoff++;
            start = i + 1;
        }
        return PS_OK;
    case 3: return get_int(p, v, 1, 10000000, &c->max_ack_pending);
    case 4:
        if ((s = get_text(p, v, c->filter, "a filter subject")) != PS_OK)
            return s;
        return ps_subject_valid(c->filter) ? PS_OK : bad_value(p, v, "a valid filter subject");
    default:
        s = get_choice(p, v, deliver_names, 3, &ch);
        c->deliver = ch == 0 ? PS_DELIVER_ALL : ch == 1 ? PS_DELIVER_LAST : PS_DELIVER_NEW;
        return s;
    }
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
        s = options(p, 3, consumer_keys, 6, consumer_opt, c);
    if (s == PS_OK && c->nbackoff > 0 && c->max_deliver != 0 && c->max_deliver <= c->nbackoff)
        s = FAIL(p, c->pos.col, "max_deliver must be more than the %d backoff durations", c->nbackoff);
    if (s == PS_OK)
        sc->nconsumers++;
    return s;
}

/* ---- publish ----------------------------------------------------------------------------- */

static const char *const publish_keys[] = {"rate", "count", "msg_id", "keys", "retry", "retry_wait",
                                           "transform"};
static const char *const msg_id_names[] = {"job", "none"};

static ps_status publish_opt(parser *p, void *target, int key, value v)
{
    sim_publisher *pub = target;
    int ch = 0;
    ps_status s;
    switch (key) {
    case 0: {
        const char *what = "a rate such as 500/s";
        const char *slash = memchr(v.s, '/', v.len);
        if (!slash || (size_t)(v.s + v.len - slash) != 2 || slash[1] != 's')
            return bad_value(p, v, what);
        int64_t n = 0;
        value num = {v.s, (size_t)(slash - v.s), v.col};
        if ((s = get_int(p, num, 1, 100000000, &n)) != PS_OK)
            return s;
        pub->rate_per_s = (double)n;
        return PS_OK;
    }
    case 1: return get_int(p, v, 1, 100000000, &pub->count);
    case 2:
        s = get_choice(p, v, msg_id_names, 2, &ch);
        pub->msg_id = (sim_msg_id)ch;
        return s;
    case 3: return get_int(p, v, 1, 100000000, &pub->keys);
    case 4: return get_int(p, v, 0, 1000, &pub->retry);
    case 5: return get_dur(p, v, &pub->retry_wait_ns, true);
    default:
        if ((s = get_text(p, v, pub->transform, "a subject transform SRC=>DST")) != PS_OK)
            return s;
        if (sim_workload_transform_check(pub->transform) != PS_OK)
            return bad_value(p, v, "a subject transform SRC=>DST (SRC a subject with *s and a final >, DST "
                                   "using $1, $2 ... for the *s)");
        return PS_OK;
    }
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
        s = options(p, 2, publish_keys, 6, publish_opt, pub);
    if (s == PS_OK)
        sc->npublishers++;
    return s;
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
    /* kept absolute, so that a scenario written elsewhere (shrink) still
     * names the same file */
    const word *f = &p->w[1];
    char base[SIM_PATH_MAX] = "";
    if (f->s[0] != '/') {
        if (p->file[0] != '/' && !getcwd(base, sizeof base - 1))
            base[0] = '\0';
        size_t n = strlen(base);
        if (n && base[n - 1] != '/')
            base[n++] = '/', base[n] = '\0';
        const char *slash = strrchr(p->file, '/');
        size_t dir = slash ? (size_t)(slash - p->file) + 1 : 0;
        if (n + dir >= sizeof base)
            return expected(p, f, "a shorter path");
        memcpy(base + n, p->file, dir);
        base[n + dir] = '\0';
    }
    size_t nb = strlen(base);
    if (nb + f->len >= sizeof pub->workload)
        return expected(p, f, "a shorter path");
    memcpy(pub->workload, base, nb);
    memcpy(pub->workload + nb, f->s, f->len);
    pub->workload[nb + f->len] = '\0';
    ps_status s = options(p, 2, publish_keys, 7, publish_opt, pub);
    if (s == PS_OK)
        sc->npublishers++;
    return s;
}

/* ---- workers ----------------------------------------------------------------------------- */

static const char *const workers_keys[] = {"consumer", "batch", "handle", "fail", "idempotent", "commit"};
static const char *const commit_names[] = {"before_ack", "after_ack"};

static ps_status workers_opt(parser *p, void *target, int key, value v)
{
    sim_workers *wk = target;
    int ch = 0;
    ps_status s;
    switch (key) {
    case 0: {
        const char *slash = memchr(v.s, '/', v.len);
        if (!slash)
            return bad_value(p, v, "STREAM/CONSUMER");
        value a = {v.s, (size_t)(slash - v.s), v.col};
        value b = {slash + 1, v.len - a.len - 1, v.col + (int)a.len + 1};
        if ((s = get_text(p, a, wk->stream, "a stream name")) != PS_OK)
            return s;
        return get_text(p, b, wk->consumer, "a consumer name");
    }
    case 1: return get_int(p, v, 1, 10000, &wk->batch);
    case 2: {
        const char *dots = NULL;
        for (size_t i = 0; i + 1 < v.len; i++)
            if (v.s[i] == '.' && v.s[i + 1] == '.')
                dots = v.s + i;
        if (!dots) {
            s = get_dur(p, v, &wk->handle_min_ns, true);
            wk->handle_max_ns = wk->handle_min_ns;
            return s;
        }
        value a = {v.s, (size_t)(dots - v.s), v.col};
        value b = {dots + 2, v.len - a.len - 2, v.col + (int)a.len + 2};
        if ((s = get_dur(p, a, &wk->handle_min_ns, true)) != PS_OK ||
            (s = get_dur(p, b, &wk->handle_max_ns, true)) != PS_OK)
            return s;
        return wk->handle_max_ns >= wk->handle_min_ns
                   ? PS_OK
                   : bad_value(p, b, "a longest handling time no shorter than the shortest");
    }
    case 3: return get_pct(p, v, &wk->fail_bp);
    case 4: return get_bool(p, v, &wk->idempotent);
    default:
        s = get_choice(p, v, commit_names, 2, &ch);
        wk->commit = (sim_commit)ch;
        return s;
    }
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
        s = options(p, 2, workers_keys, 6, workers_opt, wk);
    if (s == PS_OK)
        sc->nworkers++;
    return s;
}

/* ---- at TIME FAULT ------------------------------------------------------------------------ */

static const char *const restart_names[] = {"graceful", "crash", "power_loss"};

/* Reads "for DUR" at word i; required or not. */
static ps_status for_dur(parser *p, int i, sim_fault *f, bool required)
{
    if (i >= p->nw && !required)
        return PS_OK;
    if (i >= p->nw || !is(&p->w[i], "for"))
        return expected(p, i < p->nw ? &p->w[i] : NULL, required ? "for DURATION" : "for DURATION or the end of the line");
    if (i + 1 >= p->nw)
        return expected(p, NULL, "a duration after 'for'");
    ps_status s = get_dur(p, whole(&p->w[i + 1]), &f->duration_ns, false);
    if (s == PS_OK && i + 2 < p->nw)
        s = expected(p, &p->w[i + 2], "the end of the line");
    return s;
}

static bool starts(const word *w, const char *prefix)
{
    size_t n = strlen(prefix);
    return w && w->len >= n && memcmp(w->s, prefix, n) == 0;
}

/* "for DUR" at word i, followed by more words (an option may come next). */
static ps_status for_dur_then(parser *p, int i, sim_fault *f)
{
    if (i >= p->nw || !is(&p->w[i], "for"))
        return expected(p, i < p->nw ? &p->w[i] : NULL, "for DURATION");
    if (i + 1 >= p->nw)
        return expected(p, NULL, "a duration after 'for'");
    return get_dur(p, whole(&p->w[i + 1]), &f->duration_ns, false);
}

/* An optional node=N|node=leader at word i, then the end of the line. */
static ps_status node_opt(parser *p, int i, sim_fault *f, bool required)
{
    if (i >= p->nw)
        return required ? expected(p, NULL, "node=N or node=leader") : PS_OK;
    const word *w = &p->w[i];
    if (!starts(w, "node="))
        return expected(p, w, "node=N, node=leader or the end of the line");
    value v = {w->s + 5, w->len - 5, w->col + 5};
    ps_status s = PS_OK;
    if (v.len == 6 && memcmp(v.s, "leader", 6) == 0)
        f->node = -1;
    else
        s = get_int(p, v, 1, 5, &f->node);
    if (s == PS_OK && i + 1 < p->nw)
        s = expected(p, &p->w[i + 1], "the end of the line");
    return s;
}

/* "drop acks 5% for 10s" and friends: the words after the two keywords. */
static ps_status pct_for(parser *p, int i, sim_fault *f)
{
    if (i >= p->nw)
        return expected(p, NULL, "a percentage such as 5%");
    ps_status s = get_pct(p, whole(&p->w[i]), &f->bp);
    return s == PS_OK ? for_dur(p, i + 1, f, true) : s;
}

static ps_status worker_fault(parser *p, sim_fault *f)
{
    /* at T <verb> worker N ... */
    if (p->nw < 4 || !is(&p->w[3], "worker"))
        return expected(p, p->nw > 3 ? &p->w[3] : NULL, "'worker'");
    if (p->nw < 5)
        return expected(p, NULL, "a worker number");
    ps_status s = get_int(p, whole(&p->w[4]), 1, 1000000, &f->worker);
    if (s != PS_OK)
        return s;
    switch (f->kind) {
    case SIM_FAULT_CRASH_WORKER:
        if (p->nw > 5 && is(&p->w[5], "after_commit")) {
            f->kind = SIM_FAULT_CRASH_AFTER_COMMIT;
            return p->nw > 6 ? expected(p, &p->w[6], "the end of the line") : PS_OK;
        }
        return for_dur(p, 5, f, false);
    case SIM_FAULT_SLOW_WORKER: {
        if (p->nw < 6 || p->w[5].len < 7 || memcmp(p->w[5].s, "handle=", 7) != 0)
            return expected(p, p->nw > 5 ? &p->w[5] : NULL, "handle=DURATION");
        value v = {p->w[5].s + 7, p->w[5].len - 7, p->w[5].col + 7};
        if ((s = get_dur(p, v, &f->handle_ns, false)) != PS_OK)
            return s;
        return for_dur(p, 6, f, true);
    }
    default: /* partition */
        return for_dur(p, 5, f, true);
    }
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
    if (s != PS_OK)
        return s;
    const word *verb = p->nw > 2 ? &p->w[2] : NULL;
    const word *obj = p->nw > 3 ? &p->w[3] : NULL;
    static const char *const faults =
        "a fault (crash worker, slow worker, partition worker, drop acks, lose pubacks, "
        "duplicate publishes, nak storm, term storm, restart server, pause server, "
        "cut connections, drop connections, delay connections, fail db, lock db)";
    if (is(verb, "crash") || is(verb, "slow") || is(verb, "partition")) {
        f->kind = is(verb, "crash") ? SIM_FAULT_CRASH_WORKER
                : is(verb, "slow")  ? SIM_FAULT_SLOW_WORKER
                                    : SIM_FAULT_PARTITION_WORKER;
        s = worker_fault(p, f);
    } else if (is(verb, "drop") && is(obj, "acks")) {
        f->kind = SIM_FAULT_DROP_ACKS;
        s = pct_for(p, 4, f);
    } else if (is(verb, "lose") && is(obj, "pubacks")) {
        f->kind = SIM_FAULT_LOSE_PUBACKS;
        s = pct_for(p, 4, f);
    } else if (is(verb, "duplicate") && is(obj, "publishes")) {
        f->kind = SIM_FAULT_DUPLICATE_PUBLISHES;
        s = pct_for(p, 4, f);
    } else if ((is(verb, "nak") || is(verb, "term")) && is(obj, "storm")) {
        f->kind = is(verb, "nak") ? SIM_FAULT_NAK_STORM : SIM_FAULT_TERM_STORM;
        s = pct_for(p, 4, f);
    } else if ((is(verb, "fail") || is(verb, "lock")) && is(obj, "db")) {
        f->kind = is(verb, "fail") ? SIM_FAULT_FAIL_DB : SIM_FAULT_LOCK_DB;
        s = pct_for(p, 4, f);
    } else if (is(verb, "restart") && is(obj, "server")) {
        f->kind = SIM_FAULT_RESTART_SERVER;
        f->restart = PS_RESTART_CRASH;
        int i = 4;
        if (p->nw > i && !starts(&p->w[i], "node=")) {
            int ch = 0;
            s = get_choice(p, whole(&p->w[i]), restart_names, 3, &ch);
            f->restart = (ps_restart_kind)ch;
            i++;
        }
        if (s == PS_OK)
            s = node_opt(p, i, f, false);
    } else if (is(verb, "pause") && is(obj, "server")) {
        f->kind = SIM_FAULT_PAUSE_SERVER;
        s = for_dur_then(p, 4, f);
        if (s == PS_OK)
            s = node_opt(p, 6, f, false);
    } else if ((is(verb, "cut") || is(verb, "drop")) && is(obj, "connections")) {
        f->kind = is(verb, "cut") ? SIM_FAULT_CUT_CONNECTIONS : SIM_FAULT_DROP_CONNECTIONS;
        s = for_dur(p, 4, f, true);
    } else if (is(verb, "delay") && is(obj, "connections")) {
        f->kind = SIM_FAULT_DELAY_CONNECTIONS;
        if (p->nw < 5)
            return expected(p, NULL, "a delay such as 50ms");
        s = get_dur(p, whole(&p->w[4]), &f->delay_ns, false);
        if (s == PS_OK)
            s = for_dur(p, 5, f, true);
    } else if (verb && (is(verb, "drop") || is(verb, "lose") || is(verb, "duplicate") ||
                        is(verb, "nak") || is(verb, "term") || is(verb, "fail") ||
                        is(verb, "lock") || is(verb, "restart") || is(verb, "pause") ||
                        is(verb, "cut") || is(verb, "delay"))) {
        static const char *const objects[][2] = {
            {"drop", "'acks' or 'connections'"}, {"lose", "'pubacks'"}, {"duplicate", "'publishes'"},
            {"nak", "'storm'"}, {"term", "'storm'"},   {"fail", "'db'"},
            {"lock", "'db'"},   {"restart", "'server'"}, {"pause", "'server'"},
            {"cut", "'connections'"}, {"delay", "'connections'"}};
        for (size_t i = 0; i < sizeof objects / sizeof objects[0]; i++)
            if (is(verb, objects[i][0]))
                return expected(p, obj, objects[i][1]);
    } else {
        return expected(p, verb, faults);
    }
    if (s == PS_OK)
        sc->nfaults++;
    return s;
}

/* ---- expect -------------------------------------------------------------------------------- */

static ps_status parse_expect(parser *p)
{
    sim_scenario *sc = p->sc;
    sim_expect *e = &sc->expect;
    if (sc->has_expect)
        return FAIL(p, p->w[0].col, "only one expect statement (the first is at line %d)", e->pos.line);
    memset(e, 0, sizeof *e);
    e->pos = (sim_pos){p->line, p->w[0].col};
    if (p->nw < 2)
        return expected(p, NULL, "a check (no_loss, no_double_completion, attempts<=N, "
                                 "per_key_order, dedup, drained_within=DUR)");
    for (int i = 1; i < p->nw; i++) {
        const word *w = &p->w[i];
        ps_status s = PS_OK;
        if (is(w, "no_loss"))
            e->no_loss = true;
        else if (is(w, "no_double_completion"))
            e->no_double_completion = true;
        else if (is(w, "per_key_order"))
            e->per_key_order = true;
        else if (is(w, "dedup"))
            e->dedup = true;
        else if (w->len > 10 && memcmp(w->s, "attempts<=", 10) == 0)
            s = get_int(p, (value){w->s + 10, w->len - 10, w->col + 10}, 1, 1000000, &e->attempts_max);
        else if (w->len > 15 && memcmp(w->s, "drained_within=", 15) == 0)
            s = get_dur(p, (value){w->s + 15, w->len - 15, w->col + 15}, &e->drained_within_ns, false);
        else
            s = expected(p, w, "a check (no_loss, no_double_completion, attempts<=N, "
                               "per_key_order, dedup, drained_within=DUR)");
        if (s != PS_OK)
            return s;
    }
    sc->has_expect = true;
    return PS_OK;
}

/* ---- lines ------------------------------------------------------------------------------------- */

static ps_status split_line(parser *p, const char *line, size_t len)
{
    p->nw = 0;
    size_t end = len;
    for (size_t i = 0; i < len; i++)
        if (line[i] == '#') {
            end = i;
            break;
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
    return expected(p, k, "a statement (stream, consumer, publish, replay, workers, at, expect)");
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
        bool per_worker = f->kind == SIM_FAULT_CRASH_WORKER || f->kind == SIM_FAULT_CRASH_AFTER_COMMIT ||
                          f->kind == SIM_FAULT_SLOW_WORKER || f->kind == SIM_FAULT_PARTITION_WORKER;
        if (per_worker && f->worker > total_workers)
            return fail_at(p, f->pos.line, f->pos.col, "expected a worker from 1 to %" PRId64 ", got %" PRId64,
                           total_workers, f->worker);
    }
    return PS_OK;
}

/* ---- entry points -------------------------------------------------------------------------------- */

ps_status sim_scenario_parse(sim_scenario *out, const char *file, const char *text, size_t len)
{
    if (!out || (!text && len))
        return ps_error(PS_ERR_INVALID_ARG, 0, "sim_scenario_parse: NULL argument");
    memset(out, 0, sizeof *out);
    parser p = {.file = file ? file : "<scenario>", .line = 0, .sc = out};
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

static const char *const fault_names[SIM_FAULT_KIND_COUNT] = {
    "crash worker", "crash worker", "slow worker", "partition worker", "drop acks",
    "lose pubacks", "duplicate publishes", "nak storm", "term storm", "restart server",
    "fail db", "lock db", "pause server", "cut connections", "drop connections", "delay connections"};

const char *sim_fault_name(sim_fault_kind k)
{
    return (unsigned)k < SIM_FAULT_KIND_COUNT ? fault_names[k] : "?";
}

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

void sim_scenario_write(const sim_scenario *s, FILE *f)
{
    char a[32], b[32];
    for (int i = 0; i < s->nstreams; i++) {
        const sim_stream *st = &s->streams[i];
        fprintf(f, "stream %s subjects=", st->name);
        for (int k = 0; k < st->nsubjects; k++)
            fprintf(f, "%s%s", k ? "," : "", st->subjects[k]);
        fprintf(f, " retention=%s storage=%s discard=%s", retention_names[st->retention],
                storage_names[st->storage], discard_names[st->discard]);
        if (st->dupe_window_ns)
            fprintf(f, " dupe_window=%s", dur(st->dupe_window_ns, a));
        if (st->max_msgs)
            fprintf(f, " max_msgs=%" PRId64, st->max_msgs);
        if (st->max_bytes)
            fprintf(f, " max_bytes=%" PRId64, st->max_bytes);
        if (st->max_age_ns)
            fprintf(f, " max_age=%s", dur(st->max_age_ns, a));
        if (st->replicas)
            fprintf(f, " replicas=%" PRId64, st->replicas);
        fputc('\n', f);
    }
    for (int i = 0; i < s->nconsumers; i++) {
        const sim_consumer *c = &s->consumers[i];
        fprintf(f, "consumer %s %s deliver=%s", c->stream, c->name,
                c->deliver == PS_DELIVER_LAST ? "last" : c->deliver == PS_DELIVER_NEW ? "new" : "all");
        if (c->ack_wait_ns)
            fprintf(f, " ack_wait=%s", dur(c->ack_wait_ns, a));
        if (c->max_deliver)
            fprintf(f, " max_deliver=%" PRId64, c->max_deliver);
        if (c->max_ack_pending)
            fprintf(f, " max_ack_pending=%" PRId64, c->max_ack_pending);
        if (c->filter[0])
            fprintf(f, " filter=%s", c->filter);
        for (int k = 0; k < c->nbackoff; k++)
            fprintf(f, "%s%s", k ? "," : " backoff=", dur(c->backoff_ns[k], a));
        fputc('\n', f);
    }
    for (int i = 0; i < s->npublishers; i++) {
        const sim_publisher *pub = &s->publishers[i];
        if (pub->workload[0]) {
            fprintf(f, "replay %s", pub->workload);
            if (pub->rate_per_s > 0)
                fprintf(f, " rate=%.0f/s", pub->rate_per_s);
            if (pub->count)
                fprintf(f, " count=%" PRId64, pub->count);
            if (pub->transform[0])
                fprintf(f, " transform=%s", pub->transform);
            fprintf(f, " msg_id=%s retry=%" PRId64 " retry_wait=%s", msg_id_names[pub->msg_id], pub->retry,
                    dur(pub->retry_wait_ns, a));
        } else {
            fprintf(f, "publish %s rate=%.0f/s count=%" PRId64 " msg_id=%s retry=%" PRId64 " retry_wait=%s",
                    pub->subject, pub->rate_per_s, pub->count, msg_id_names[pub->msg_id], pub->retry,
                    dur(pub->retry_wait_ns, a));
        }
        if (pub->keys)
            fprintf(f, " keys=%" PRId64, pub->keys);
        fputc('\n', f);
    }
    for (int i = 0; i < s->nworkers; i++) {
        const sim_workers *w = &s->workers[i];
        fprintf(f, "workers %" PRId64 " consumer=%s/%s batch=%" PRId64 " handle=%s..%s fail=", w->count,
                w->stream, w->consumer, w->batch, dur(w->handle_min_ns, a), dur(w->handle_max_ns, b));
        write_pct(f, w->fail_bp);
        fprintf(f, " idempotent=%s commit=%s\n", w->idempotent ? "yes" : "no", commit_names[w->commit]);
    }
    for (int i = 0; i < s->nfaults; i++) {
        const sim_fault *x = &s->faults[i];
        fprintf(f, "at %s %s", dur(x->at_ns, a), fault_names[x->kind]);
        switch (x->kind) {
        case SIM_FAULT_CRASH_WORKER:
        case SIM_FAULT_PARTITION_WORKER:
            fprintf(f, " %" PRId64, x->worker);
            break;
        case SIM_FAULT_CRASH_AFTER_COMMIT:
            fprintf(f, " %" PRId64 " after_commit", x->worker);
            break;
        case SIM_FAULT_SLOW_WORKER:
            fprintf(f, " %" PRId64 " handle=%s", x->worker, dur(x->handle_ns, b));
            break;
        case SIM_FAULT_RESTART_SERVER:
            fprintf(f, " %s", restart_names[x->restart]);
            break;
        case SIM_FAULT_PAUSE_SERVER:
        case SIM_FAULT_CUT_CONNECTIONS:
        case SIM_FAULT_DROP_CONNECTIONS:
            break;
        case SIM_FAULT_DELAY_CONNECTIONS:
            fprintf(f, " %s", dur(x->delay_ns, b));
            break;
        default:
            fputc(' ', f);
            write_pct(f, x->bp);
            break;
        }
        if (x->duration_ns)
            fprintf(f, " for %s", dur(x->duration_ns, a));
        if (x->node)
            x->node < 0 ? fprintf(f, " node=leader") : fprintf(f, " node=%" PRId64, x->node);
        fputc('\n', f);
    }
    if (s->has_expect) {
        const sim_expect *e = &s->expect;
        fprintf(f, "expect");
        if (e->no_loss)
            fprintf(f, " no_loss");
        if (e->no_double_completion)
            fprintf(f, " no_double_completion");
        if (e->attempts_max)
            fprintf(f, " attempts<=%" PRId64, e->attempts_max);
        if (e->per_key_order)
            fprintf(f, " per_key_order");
        if (e->dedup)
            fprintf(f, " dedup");
        if (e->drained_within_ns)
            fprintf(f, " drained_within=%s", dur(e->drained_within_ns, a));
        fputc('\n', f);
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
