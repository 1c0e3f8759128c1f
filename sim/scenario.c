/* scenario.c — parses scenario files (grammar in scenario.h): the entry
 * points, the statements and the checks that need the whole file.
 *
 * The parser works a line at a time: it cuts the comment, splits the line
 * into words remembering each word's column, and hands the words to the
 * statement's function. Every error names file:line:col and what was
 * expected there; the first error ends the parse. Checks that need the
 * whole file (a consumer's stream exists, a worker number is in range, a
 * publish subject is captured by a stream) run at the end, pointing at the
 * statement that fails them. The readers of values and the option tables
 * are in scenario_values.c, the faults in scenario_faults.c, the writer in
 * scenario_write.c (scenario_internal.h is what they share).
 *
 * Not here: running a scenario (the engine) or drawing its random
 * parameters (the run's seed does that).
 */
#include "scenario_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

#include "ps_clock.h"
#include "ps_subject.h"
#include "ps_backend_impl.h"

#define SIM_FILE_MAX (4 * 1024 * 1024)

/* ---- statements ------------------------------------------------------------------------ */

static ps_status name_word(parser *p, int i, char *dst, const char *what)
{
    if (i >= p->nw)
        return scn_expected(p, NULL, what);
    ps_status s = scn_get_text(p, whole(&p->w[i]), dst, what);
    if (s == PS_OK && (strpbrk(dst, ".*>/\\") || ps_name_check(what, dst) != PS_OK))
        return scn_expected(p, &p->w[i], "a name without '.', '*', '>', '/' or '\\'");
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
        s = scn_options(p, 2, &scn_stream_opts, 0, "an option", st);
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
        s = scn_options(p, 3, &scn_consumer_opts, 0, "an option", c);
    if (s == PS_OK && c->nbackoff > 0 && c->max_deliver != 0 && c->max_deliver <= c->nbackoff)
        s = FAIL(p, c->pos.col, "max_deliver must be more than the %d backoff durations", c->nbackoff);
    if (s == PS_OK && (c->deliver == PS_DELIVER_BY_START_SEQ) != (c->start_seq != 0))
        s = FAIL(p, c->pos.col, c->start_seq ? "start_seq= goes with deliver=by_start_seq"
                                             : "deliver=by_start_seq needs start_seq=N");
    if (s == PS_OK && c->start_time_ns && c->deliver != PS_DELIVER_BY_START_TIME)
        s = FAIL(p, c->pos.col, "start_time= goes with deliver=by_start_time");
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
        return scn_expected(p, NULL, "a subject to publish on");
    ps_status s = scn_get_text(p, whole(&p->w[1]), pub->subject, "a subject to publish on");
    if (s == PS_OK && !ps_subject_is_literal(pub->subject))
        s = scn_expected(p, &p->w[1], "a literal subject (no wildcards) to publish on");
    if (s == PS_OK)
        s = scn_options(p, 2, &scn_publish_opts, OPT_REPLAY, "an option", pub);
    if (s == PS_OK && pub->key_header[0] && !pub->keys)
        s = FAIL(p, pub->pos.col, "key_header= needs keys=N (the keys it carries)");
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
        return scn_bad_value(p, v, "a file name");
    if (v.s[0] != '/') {
        if (p->file[0] != '/' && !getcwd(base, sizeof base - 1))
            base[0] = '\0';
        size_t n = strlen(base);
        if (n && base[n - 1] != '/')
            base[n++] = '/', base[n] = '\0';
        const char *slash = strrchr(p->file, '/');
        size_t dir = slash ? (size_t)(slash - p->file) + 1 : 0;
        if (n + dir >= sizeof base)
            return scn_bad_value(p, v, "a shorter path");
        memcpy(base + n, p->file, dir);
        base[n + dir] = '\0';
    }
    size_t nb = strlen(base);
    if (nb + v.len >= SIM_PATH_MAX)
        return scn_bad_value(p, v, "a shorter path");
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
        return scn_expected(p, NULL, "a workload file (from jetsim capture)");
    ps_status s = resolve_path(p, whole(&p->w[1]), pub->workload);
    if (s == PS_OK)
        s = scn_options(p, 2, &scn_publish_opts, 0, "an option", pub);
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
            return scn_expected(p, w, sc->db_schema[0] ? "the end of the line" : "schema=FILE or the end of the line");
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
        s = scn_options(p, 2, &scn_service_opts, 0, "an option", sv);
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
        return scn_expected(p, NULL, "the number of workers");
    ps_status s = scn_get_int(p, whole(&p->w[1]), 1, 1000, &wk->count);
    if (s == PS_OK)
        s = scn_options(p, 2, &scn_workers_opts, 0, "an option", wk);
    if (s == PS_OK && wk->dead_letter_after && !wk->dead_letter[0])
        s = FAIL(p, wk->pos.col, "dead_letter_after= needs dead_letter=SUBJECT");
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
        return scn_expected(p, q, "a query in double quotes after sql");
    if (q->len - 2 >= sizeof x->sql)
        return scn_expected(p, q, "a query of at most 1023 characters");
    memcpy(x->sql, q->s + 1, q->len - 2);
    x->sql[q->len - 2] = '\0';
    const word *want = word_at(p, *i + 2);
    if (is(want, "empty")) {
        x->empty = true;
    } else if (want && want->len > 1 && want->s[0] == '=') {
        p->label = "=";
        ps_status s = scn_get_int(p, after(want, 1), INT64_MIN + 1, INT64_MAX, &x->equals);
        p->label = NULL;
        if (s != PS_OK)
            return s;
    } else {
        return scn_expected(p, want, "empty or =N after the query");
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
        return scn_expected(p, NULL, scn_option_list("a check", &scn_expect_opts, 0, what, sizeof what));
    }
    ps_status s = scn_options(p, 1, &scn_expect_opts, 0, "a check", e);
    if (s == PS_OK)
        sc->has_expect = true;
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
        return scn_parse_at(p);
    if (is(k, "expect"))
        return parse_expect(p);
    if (is(k, "database"))
        return parse_database(p);
    if (is(k, "service"))
        return parse_service(p);
    return scn_expected(p, k, "a statement (stream, consumer, publish, replay, workers, database, service, at, expect)");
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
        return scn_fail_at(p, last, 1, "expected a stream statement somewhere in the file");
    for (int i = 0; i < sc->nconsumers; i++) {
        const sim_consumer *c = &sc->consumers[i];
        if (!find_stream(sc, c->stream))
            return scn_fail_at(p, c->pos.line, c->pos.col + 9, "expected a declared stream, got '%s'", c->stream);
        for (int j = 0; j < i; j++)
            if (!strcmp(sc->consumers[j].stream, c->stream) && !strcmp(sc->consumers[j].name, c->name))
                return scn_fail_at(p, c->pos.line, c->pos.col, "consumer %s/%s is declared twice", c->stream, c->name);
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
            return scn_fail_at(p, pub->pos.line, pub->pos.col + 8,
                           "expected a subject some stream captures, got '%s'", pub->subject);
    }
    if (sc->nconsumers == 0)
        return scn_fail_at(p, last, 1, "expected a consumer statement somewhere in the file");
    if (sc->npublishers == 0)
        return scn_fail_at(p, last, 1, "expected a publish statement somewhere in the file");
    if (sc->nworkers == 0)
        return scn_fail_at(p, last, 1, "expected a workers statement somewhere in the file");
    int64_t total_workers = 0;
    for (int i = 0; i < sc->nworkers; i++) {
        sim_workers *wk = &sc->workers[i];
        total_workers += wk->count;
        if (!wk->consumer[0]) {
            if (sc->nconsumers != 1)
                return scn_fail_at(p, wk->pos.line, wk->pos.col,
                               "expected consumer=STREAM/NAME: the scenario has %d consumers", sc->nconsumers);
            snprintf(wk->stream, sizeof wk->stream, "%s", sc->consumers[0].stream);
            snprintf(wk->consumer, sizeof wk->consumer, "%s", sc->consumers[0].name);
        }
        const sim_consumer *wc = NULL;
        for (int j = 0; j < sc->nconsumers; j++)
            if (!strcmp(sc->consumers[j].stream, wk->stream) && !strcmp(sc->consumers[j].name, wk->consumer))
                wc = &sc->consumers[j];
        if (!wc)
            return scn_fail_at(p, wk->pos.line, wk->pos.col, "expected a declared consumer, got '%s/%s'",
                           wk->stream, wk->consumer);
        /* Past max_deliver the server delivers the job no more: it would
         * stay in the stream, neither done nor dead-lettered. */
        if (wk->dead_letter_after && wc->max_deliver && wk->dead_letter_after > wc->max_deliver)
            return scn_fail_at(p, wk->pos.line, wk->pos.col,
                               "expected dead_letter_after= at most the consumer's max_deliver=%" PRId64
                               ", got %" PRId64 " (past it the server stops delivering and the job stays "
                               "in the stream)", (int64_t)wc->max_deliver, wk->dead_letter_after);
        /* Per-key order holds within one worker (ps_worker.h, key_header):
         * two workers on one consumer interleave a key's jobs. */
        if (wk->key_header[0]) {
            int64_t on_it = 0;
            for (int j = 0; j < sc->nworkers; j++) {
                const sim_workers *o = &sc->workers[j];
                bool same = o->consumer[0] ? !strcmp(o->stream, wk->stream) && !strcmp(o->consumer, wk->consumer)
                                           : sc->nconsumers == 1;
                on_it += same ? o->count : 0;
            }
            if (on_it > 1)
                return scn_fail_at(p, wk->pos.line, wk->pos.col,
                                   "expected one worker on consumer %s/%s with key_header=, got %" PRId64
                                   " (per-key order holds within one worker; partition the keys over "
                                   "consumers for more)", wk->stream, wk->consumer, on_it);
        }
        bool captured = !wk->dead_letter[0];
        for (int j = 0; j < sc->nstreams; j++)
            for (int k = 0; k < sc->streams[j].nsubjects; k++)
                captured |= ps_subject_matches(sc->streams[j].subjects[k], wk->dead_letter);
        if (!captured)
            return scn_fail_at(p, wk->pos.line, wk->pos.col,
                               "expected a dead_letter= subject some stream captures, got '%s'", wk->dead_letter);
    }
    for (int i = 0; i < sc->nfaults; i++) {
        const sim_fault *f = &sc->faults[i];
        if ((f->kind == SIM_FAULT_POWER_LOSS_DB || f->kind == SIM_FAULT_CRASH_AT_DB_WRITE) && !sc->has_database)
            return scn_fail_at(p, f->pos.line, f->pos.col, "expected a database statement: '%s' faults the user's "
                           "database", sim_fault_name(f->kind));
        bool per_worker = sim_fault_info_of(f->kind)->args & SIM_FARG_WORKER;
        if (per_worker && f->worker > total_workers)
            return scn_fail_at(p, f->pos.line, f->pos.col, "expected a worker from 1 to %" PRId64 ", got %" PRId64,
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
