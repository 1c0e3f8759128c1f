/* htmlreport.c — `jetsim report RUN.db --html FILE` (see htmlreport.h).
 *
 * The run database is read in three passes: its head (run row, faults,
 * the scenario text for the workers and the nodes of server faults), its
 * jobs (which rows the page lists), then the trace once in order, which
 * fills the lanes' densities, the delivery marks and the listed jobs'
 * steps. Only then is the page written, so a page is never half a page
 * because of a read error: a read error writes nothing.
 *
 * Every text that comes from the database (scenario, violation, target)
 * goes through html_text; numbers are printed by printf.
 */
#include "htmlreport.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "engine.h"
#include "master.h"
#include "report.h"
#include "rundb.h"

/* Timeline geometry, in SVG user units (= CSS pixels). */
#define LABEL_W 110
#define PLOT_W 960
#define LANE_H 20
#define LANE_GAP 3
#define AXIS_H 20
#define BUCKETS 240         /* density columns per lane, at most */
#define DENSITY_CELLS 4800  /* density columns of all lanes, at most: many workers get fewer each */
#define STEPS_PER_JOB 12    /* steps listed per job; more are counted */
#define STEPS_FAILING 400   /* ... and for the failing job, whose every step matters */

/* One step of a listed job, or one mark on the timeline. */
typedef struct step {
    int64_t t_ns, arg;
    int kind, worker, list; /* list: index into page.list */
    int seq;                /* trace order, for a stable sort */
    int attempt;            /* a delivery: the handler's attempt (arg: the stream's delivery count) */
} step;

/* What the page lists of one job row, read from the jobs table. */
typedef struct listed {
    int64_t row, key, pub_ns, done_ns;
    int state, attempts, completions, nsteps, more;
    bool has_key, has_done, bad;
    int holder, acked_by; /* walking the trace: who holds it, who acked it (0 none) */
    int handed;           /* deliveries to a handler so far: attempts */
    int64_t ack_t;        /* when acked_by acked it */
    bool committed;
} listed;

typedef struct page {
    sqlite3 *db;
    const char *db_path; /* as the user named it: the page's explain command line */
    /* the run */
    uint64_t seed, bad_job;
    bool mix, finished;
    int consumers, workers, nodes;
    int64_t start_ns, end_ns, rows, trace_rows;
    char backend[400], verdict[16], why[600];
    char *scenario;
    sim_scenario *sc; /* the scenario parsed, NULL when its text no longer parses */
    int bad_ci;       /* the consumer the first violation names, -1 none */
    sim_rundb_fault *faults;
    int nfaults;
    int64_t by_state[4];
    int64_t not_for;  /* rows of jobs their consumer's filter does not take */
    uint8_t *row_not_for; /* per jobs row 1..rows: 1 not for its consumer (rundb.h) */
    /* the jobs listed */
    int *list_of;   /* per jobs row 1..rows: index into list + 1, 0 not listed */
    listed *list;
    int nlist;
    int64_t candidates; /* rows worth listing, before the cap */
    /* the trace */
    step *steps, *marks;
    int nsteps, capsteps, nmarks, capmarks;
    int64_t deliveries;
    uint32_t *density; /* lanes x BUCKETS */
    uint32_t density_max;
} page;

static const char *const state_names[] = {"published", "running", "done", "failed"};

/* `s` as HTML text or a double-quoted attribute value: the five
 * characters HTML gives a meaning escaped, control characters but
 * newline and tab dropped (a page renders what it shows, nothing else). */
static void html_text(FILE *o, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", o); break;
        case '<': fputs("&lt;", o); break;
        case '>': fputs("&gt;", o); break;
        case '"': fputs("&quot;", o); break;
        case '\'': fputs("&#39;", o); break;
        default:
            if (*p >= 0x20 || *p == '\n' || *p == '\t')
                fputc(*p, o);
        }
    }
}

/* ---- reading ------------------------------------------------------------ */

static bool read_head(page *p)
{
    sqlite3_stmt *st = NULL;
    bool ok = sqlite3_prepare_v2(p->db, "SELECT seed, backend, mix, finished, coalesce(verdict, ''),"
                                        " coalesce(first_violation, ''), coalesce(first_bad_job, 0), consumers,"
                                        " coalesce(start_ns, 0), scenario, (SELECT count(*) FROM jobs),"
                                        " (SELECT count(*) FROM trace), (SELECT max(t_ns) FROM trace),"
                                        " (SELECT max(worker) FROM trace) FROM run", -1, &st, NULL) == SQLITE_OK &&
              sqlite3_step(st) == SQLITE_ROW;
    if (ok) {
        p->seed = (uint64_t)sqlite3_column_int64(st, 0);
        sim_rundb_text(st, 1, p->backend, sizeof p->backend);
        p->mix = sqlite3_column_int(st, 2) != 0;
        p->finished = sqlite3_column_int(st, 3) != 0;
        sim_rundb_text(st, 4, p->verdict, sizeof p->verdict);
        sim_rundb_text(st, 5, p->why, sizeof p->why);
        p->bad_job = (uint64_t)sqlite3_column_int64(st, 6);
        p->consumers = sqlite3_column_int(st, 7) > 0 ? sqlite3_column_int(st, 7) : 1;
        p->start_ns = sqlite3_column_int64(st, 8);
        const unsigned char *text = sqlite3_column_text(st, 9);
        p->scenario = strdup(text ? (const char *)text : "");
        p->rows = sqlite3_column_int64(st, 10);
        p->trace_rows = sqlite3_column_int64(st, 11);
        p->end_ns = sqlite3_column_type(st, 12) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 12) - p->start_ns;
        p->workers = sqlite3_column_int(st, 13);
        ok = p->scenario != NULL;
    }
    sqlite3_finalize(st);
    return ok;
}

/* What the faults table does not keep, from the scenario text it
 * recorded: how many workers the run had (one who never got a message
 * still has a lane) and which node a server fault hit (matched by its
 * line). A text that no longer parses (a schema file gone) leaves the
 * trace's count and the default node. */
static void read_scenario(page *p)
{
    sim_scenario *sc = sim_scenario_new();
    if (sc && sim_scenario_parse(sc, "scenario", p->scenario, strlen(p->scenario)) == PS_OK) {
        p->sc = sc;
        int64_t n = 0;
        for (int i = 0; i < sc->nworkers; i++)
            n += sc->workers[i].count;
        if (n > p->workers && n < 100000)
            p->workers = (int)n;
        sim_rundb_name_faults(sc, p->faults, p->nfaults);
    } else {
        sim_scenario_free(sc);
    }
    p->nodes = strstr(p->backend, "3-node cluster") ? 3 : 1;
    for (int k = 0; k < p->nfaults; k++) /* a worker fault names a worker that had a lane */
        if (p->faults[k].worker > p->workers && p->faults[k].worker < 100000)
            p->workers = (int)p->faults[k].worker;
}

static bool row_is_bad(const page *p, int64_t row)
{
    int ci = (int)((row - 1) % p->consumers);
    return p->bad_job && (uint64_t)((row - 1) / p->consumers + 1) == p->bad_job && !p->row_not_for[row] &&
           (p->bad_ci < 0 || ci == p->bad_ci);
}

/* The consumer a violation names ("no_loss: job 12 (consumer b) ..."),
 * -1 when it names none (then every row of its job the job is for is
 * the failing one). */
static int violating_consumer(const page *p)
{
    const char *at = strstr(p->why, "(consumer ");
    if (!at || !p->sc)
        return -1;
    at += strlen("(consumer ");
    size_t n = strcspn(at, ")");
    for (int ci = 0; ci < p->sc->nconsumers; ci++)
        if (strlen(p->sc->consumers[ci].name) == n && !strncmp(p->sc->consumers[ci].name, at, n))
            return ci;
    return -1;
}

/* p->row_not_for (rundb.h), and the consumer the violation names. */
static bool read_not_for(page *p)
{
    p->row_not_for = calloc((size_t)p->rows + 1, 1);
    if (!p->row_not_for)
        return false;
    p->bad_ci = violating_consumer(p);
    return sim_rundb_not_for(p->db, p->rows, p->row_not_for);
}

/* Whether a row is worth listing in a large run: it did not end as a
 * job should (done, once), or needed more than one attempt. */
static bool row_is_notable(int state, int attempts, int completions)
{
    return state != SIM_JOB_DONE || completions != 1 || attempts > 1;
}

static void list_add(page *p, sqlite3_stmt *st, int64_t row)
{
    listed *l = &p->list[p->nlist];
    *l = (listed){.row = row, .state = sqlite3_column_int(st, 1), .attempts = sqlite3_column_int(st, 2),
                  .completions = sqlite3_column_int(st, 3), .has_key = sqlite3_column_type(st, 4) != SQLITE_NULL,
                  .key = sqlite3_column_int64(st, 4), .pub_ns = sqlite3_column_int64(st, 5) - p->start_ns,
                  .has_done = sqlite3_column_type(st, 6) != SQLITE_NULL,
                  .done_ns = sqlite3_column_int64(st, 6) - p->start_ns, .bad = row_is_bad(p, row)};
    p->list_of[row] = ++p->nlist;
}

/* Whether the i-th (0-based) of n candidates is one of the `keep` taken
 * evenly from them (all when keep >= n): exactly min(keep, n) are. */
static bool evenly(int64_t i, int64_t n, int64_t keep)
{
    return keep >= n || (i * keep) % n < keep;
}

/* Two passes over the jobs: the failing job's rows first (and counting
 * the candidates), then the rest: all of them in a small run, in a large
 * one the notable ones, evenly taken when they are more than
 * HTML_JOBS_LISTED, so that the listed jobs span the whole run. */
static bool read_jobs(page *p)
{
    p->list_of = calloc((size_t)p->rows + 1, sizeof *p->list_of);
    p->list = calloc(HTML_JOBS_LISTED + (size_t)p->consumers, sizeof *p->list);
    if (!p->list_of || !p->list)
        return false;
    bool all = p->rows <= HTML_JOBS_LISTED;
    int64_t room = 0, seen = 0;
    for (int pass = 0; pass < 2; pass++) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(p->db, "SELECT id, state, attempts, completions, key, published_ns, done_ns"
                                      " FROM jobs ORDER BY id", -1, &st, NULL) != SQLITE_OK)
            return false;
        while (sqlite3_step(st) == SQLITE_ROW) {
            int64_t row = sqlite3_column_int64(st, 0);
            int state = sqlite3_column_int(st, 1);
            if (row < 1 || row > p->rows || p->list_of[row])
                continue;
            if (p->row_not_for[row]) { /* its consumer's filter does not take it: not a job of that consumer */
                p->not_for += pass == 0;
                continue;
            }
            bool bad = row_is_bad(p, row);
            if (pass == 0) {
                p->by_state[state >= 0 && state < 4 ? state : 0]++;
                p->candidates += !bad && (all || row_is_notable(state, sqlite3_column_int(st, 2),
                                                                sqlite3_column_int(st, 3)));
                if (bad)
                    list_add(p, st, row);
            } else if ((all || row_is_notable(state, sqlite3_column_int(st, 2), sqlite3_column_int(st, 3))) &&
                       evenly(seen++, p->candidates, room) && p->nlist < HTML_JOBS_LISTED) {
                list_add(p, st, row);
            }
        }
        sqlite3_finalize(st);
        room = HTML_JOBS_LISTED - p->nlist;
    }
    return true;
}

static bool push(step **a, int *n, int *cap, step s)
{
    if (*n == *cap) {
        int ncap = *cap ? *cap * 2 : 1024;
        step *g = realloc(*a, (size_t)ncap * sizeof *g);
        if (!g)
            return false;
        *a = g;
        *cap = ncap;
    }
    (*a)[(*n)++] = s;
    return true;
}

/* Lanes: 0 the publishers, 1..workers, then the server nodes, then the
 * databases (the master's and the user's). */
static int lanes(const page *p)
{
    return 1 + p->workers + p->nodes + 1;
}

static int lane_of_worker(const page *p, int w)
{
    return w >= 1 && w <= p->workers ? w : -1;
}

/* Density columns per lane: BUCKETS, fewer when the lanes are many, so
 * that the page's size does not grow with the workers. */
static int buckets(const page *p)
{
    int b = DENSITY_CELLS / lanes(p);
    return b > BUCKETS ? BUCKETS : b < 8 ? 8 : b;
}

static void count(page *p, int lane, int64_t t_ns)
{
    if (lane < 0 || lane >= lanes(p) || p->end_ns <= 0)
        return;
    int nb = buckets(p);
    int64_t b = t_ns * nb / (p->end_ns + 1);
    b = b < 0 ? 0 : b >= nb ? nb - 1 : b;
    uint32_t v = ++p->density[(size_t)lane * (size_t)nb + (size_t)b];
    if (v > p->density_max)
        p->density_max = v;
}

/* Whether worker `w` has job `l` in hand at t_ns: delivered to it, or
 * acked by it at this very instant and not yet committed (a crash after
 * the ack of commit=after_ack). An ack at an earlier time is an answer
 * the worker already gave (an idempotent worker acks a job done before
 * without committing): a later crash does not hold it (as explain's
 * in_hand). */
static bool holds(const listed *l, int w, int64_t t_ns)
{
    return l->holder == w || (l->acked_by == w && !l->committed && l->ack_t == t_ns);
}

/* A crash of worker `s->worker`: a step of every listed job it had in
 * hand (holds). */
static bool crash_steps(page *p, step s)
{
    for (int i = 0; i < p->nlist; i++) {
        listed *l = &p->list[i];
        if (!holds(l, s.worker, s.t_ns))
            continue;
        l->holder = 0;
        l->acked_by = 0;
        s.list = i;
        if (l->nsteps >= (l->bad ? STEPS_FAILING : STEPS_PER_JOB)) {
            l->more++;
            continue;
        }
        l->nsteps++;
        if (!push(&p->steps, &p->nsteps, &p->capsteps, s) ||
            (l->bad && !push(&p->marks, &p->nmarks, &p->capmarks, s)))
            return false;
    }
    return true;
}

/* One trace row: its lane's density, its job's step, its mark. */
static bool take(page *p, step s, int64_t job)
{
    bool pub = s.kind == SIM_TR_PUBLISH || s.kind == SIM_TR_PUBLISH_FAILED;
    count(p, pub ? 0 : s.kind == SIM_TR_COMMIT || s.kind == SIM_TR_STALE || s.kind == SIM_TR_DB_ERROR
                           ? lanes(p) - 1 : s.kind == SIM_TR_DELIVER ? lane_of_worker(p, s.worker) : -1,
          s.t_ns);
    if (s.kind == SIM_TR_FAULT)
        /* a worker dies as crash worker; the other crash faults are traced when they are armed */
        return s.worker > 0 && s.arg == SIM_FAULT_CRASH_WORKER ? crash_steps(p, s) : true;
    /* a publish names the job; its first listed row carries it */
    int64_t row = job;
    for (int ci = 0; pub && ci < p->consumers; ci++)
        if ((row = (job - 1) * p->consumers + ci + 1) >= 1 && row <= p->rows && p->list_of[row])
            break;
    if (row < 1 || row > p->rows || !p->list_of[row])
        return true;
    s.list = p->list_of[row] - 1;
    listed *l = &p->list[s.list];
    if (s.kind == SIM_TR_DELIVER) {
        p->deliveries++;
        s.attempt = ++l->handed;
        l->holder = s.worker;
        l->committed = false;
    } else if (s.kind == SIM_TR_ACK) {
        l->holder = 0;
        l->acked_by = s.worker;
        l->ack_t = s.t_ns;
    } else if (s.kind == SIM_TR_COMMIT) {
        l->committed = true;
    } else if (s.kind == SIM_TR_NAK || s.kind == SIM_TR_TERM || s.kind == SIM_TR_UNSENT) {
        l->holder = 0;
    }
    if (l->nsteps >= (l->bad ? STEPS_FAILING : STEPS_PER_JOB))
        l->more++;
    else if (++l->nsteps, !push(&p->steps, &p->nsteps, &p->capsteps, s))
        return false;
    /* every candidate is kept; write_marks thins them out evenly over the run */
    bool mark = l->bad || s.kind == SIM_TR_DELIVER;
    return !mark || push(&p->marks, &p->nmarks, &p->capmarks, s);
}

static bool read_trace(page *p)
{
    p->density = calloc((size_t)lanes(p) * (size_t)buckets(p), sizeof *p->density);
    if (!p->density)
        return false;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(p->db, "SELECT t_ns - ?1, kind, coalesce(job, 0), coalesce(worker, 0), coalesce(arg, 0)"
                                  " FROM trace ORDER BY rowid", -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_int64(st, 1, p->start_ns);
    bool ok = true;
    int seq = 0;
    step prev = {.kind = -1};
    while (ok && sqlite3_step(st) == SQLITE_ROW) {
        step s = {.t_ns = sqlite3_column_int64(st, 0), .kind = sqlite3_column_int(st, 1),
                  .worker = sqlite3_column_int(st, 3), .arg = sqlite3_column_int64(st, 4), .seq = seq++};
        bool twice = s.kind == SIM_TR_FAULT && prev.kind == SIM_TR_FAULT && prev.t_ns == s.t_ns &&
                     prev.worker == s.worker && prev.arg == s.arg; /* a scheduled crash is traced twice */
        prev = s;
        if (!twice)
            ok = take(p, s, sqlite3_column_int64(st, 2));
    }
    sqlite3_finalize(st);
    return ok;
}

static int by_job(const void *a, const void *b)
{
    const step *x = a, *y = b;
    if (x->list != y->list)
        return x->list < y->list ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ---- writing ------------------------------------------------------------ */

static const char css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:1300px}"
    "h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.4em 0 .4em}"
    ".verdict{font-size:1.15em;padding:.5em .8em;border-radius:4px;font-weight:600}"
    ".pass{background:#e3f5e1;color:#1b5e20}.fail{background:#fde2e1;color:#8e1b12}"
    ".open{background:#fff3cd;color:#6b4e00}"
    "table{border-collapse:collapse}td,th{padding:2px 8px;text-align:left;vertical-align:top;"
    "border-bottom:1px solid #eee}th{background:#f4f4f4}"
    "table.summary th{background:none;font-weight:600;width:11em}"
    "pre{background:#f7f7f7;padding:.6em;overflow:auto}"
    ".note{color:#555;font-size:.92em}"
    "svg{border:1px solid #ddd;background:#fff}svg text{font:11px sans-serif;fill:#333}"
    ".lane{fill:#fafafa}.den{fill:#5b8def}.fault{fill:#e8710a;fill-opacity:.22;stroke:#e8710a;"
    "stroke-opacity:.7}.ev{fill:#1f4e9c}.ev.k6{fill:#2e7d32}.ev.k4{fill:#6a1b9a}.ev.k7,.ev.k8,.ev.k11"
    "{fill:#c77700}.ev.k9{fill:#c62828}.ev.bad{stroke:#c62828;stroke-width:1.5}"
    "tr.bad{background:#fde2e1}tr:target{outline:2px solid #1f4e9c;background:#e8f0fe}"
    ".steps span{display:inline-block;margin-right:.9em;white-space:nowrap}"
    ".legend span{margin-right:1.2em}.sw{display:inline-block;width:10px;height:10px;margin-right:4px}";

static void job_id(FILE *o, const page *p, const listed *l)
{
    if (l->bad && l == &p->list[0]) { /* the failing job's rows are listed first */
        fputs("failing-job", o);
        return;
    }
    fprintf(o, "job-%" PRId64, (l->row - 1) / p->consumers + 1);
    if ((l->row - 1) % p->consumers)
        fprintf(o, "-c%" PRId64, (l->row - 1) % p->consumers + 1);
}

/* Which target ran: the model's runs record "memory" as their backend, a
 * server's runs where the server was. diff --reports writes a page of
 * each for the same seed: the title tells them apart. */
static const char *target_word(const page *p)
{
    return p->backend[0] == '\0' || strcmp(p->backend, "memory") == 0 ? "model" : "server";
}

static void write_head(FILE *o, const page *p)
{
    bool pass = p->finished && strcmp(p->verdict, "pass") == 0;
    fprintf(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>jetsim run on the %s, "
            "seed %" PRIu64 ": %s</title>\n<style>%s</style></head>\n<body>\n", target_word(p), p->seed,
            !p->finished ? "did not finish" : pass ? "PASS" : "FAIL", css);
    fprintf(o, "<h1>jetsim run on the %s, seed %" PRIu64 "</h1>\n<p id=\"verdict\" class=\"verdict %s\">",
            target_word(p), p->seed, !p->finished ? "open" : pass ? "pass" : "fail");
    if (!p->finished)
        fputs("The run did not finish (killed, or a harness error): this is what it committed.", o);
    else if (pass)
        fputs("PASS: every check held.", o);
    else {
        fputs("FAIL (", o);
        html_text(o, p->verdict);
        fputs("): ", o);
        html_text(o, p->why);
    }
    fputs("</p>\n", o);
}

/* The scenario's first comment line names it ("# steady_workqueue.scn —
 * ..."); a scenario without one is "(see below)". */
static void scenario_name(FILE *o, const char *text)
{
    if (text[0] != '#') {
        fputs("(its text is below)", o);
        return;
    }
    const char *s = text + 1 + strspn(text + 1, " ");
    size_t n = strcspn(s, "\n");
    char line[300];
    snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line - 1 ? n : sizeof line - 1), s);
    html_text(o, line);
}

static void write_summary(FILE *o, const page *p)
{
    fputs("<table class=\"summary\">\n<tr><th>scenario</th><td>", o);
    scenario_name(o, p->scenario);
    fprintf(o, "</td></tr>\n<tr><th>seed</th><td>%" PRIu64 "%s</td></tr>\n<tr><th>target</th><td>", p->seed,
            p->mix ? " (with its fault mix, as jetsim swarm runs it)" : "");
    html_text(o, p->backend);
    fprintf(o, "</td></tr>\n<tr><th>jobs</th><td>%" PRId64 "%s: %" PRId64 " done, %" PRId64 " failed, %" PRId64
            " running, %" PRId64 " published only", p->rows / p->consumers,
            p->consumers > 1 ? " (a row per consumer)" : "", p->by_state[SIM_JOB_DONE], p->by_state[SIM_JOB_FAILED],
            p->by_state[SIM_JOB_RUNNING], p->by_state[SIM_JOB_PUBLISHED]);
    if (p->not_for)
        fprintf(o, "; %" PRId64 " rows not for their consumer (its filter does not take the job's subject), "
                "left out", p->not_for);
    fputs("</td></tr>\n", o);
    fprintf(o, "<tr><th>workers, nodes</th><td>%d workers, %d server node%s</td></tr>\n", p->workers, p->nodes,
            p->nodes == 1 ? "" : "s");
    fprintf(o, "<tr><th>trace</th><td>%" PRId64 " rows over %.3f s, %" PRId64 " deliveries of listed jobs, %d "
            "faults</td></tr>\n", p->trace_rows, (double)p->end_ns / 1e9, p->deliveries, p->nfaults);
    fputs("<tr><th>first violation</th><td>", o);
    html_text(o, p->why[0] ? p->why : "none");
    fputs("</td></tr>\n", o);
    if (p->bad_job) {
        fprintf(o, "<tr><th>failing job</th><td><a href=\"#failing-job\">job %" PRIu64 "</a> (its row below; "
                "<code>jetsim explain ", p->bad_job);
        html_text(o, p->db_path);
        fputs("</code> tells its story)</td></tr>\n", o);
    }
    fputs("</table>\n<details><summary>scenario text</summary><pre>", o);
    html_text(o, p->scenario);
    fputs("</pre></details>\n", o);
}

static double x_of(const page *p, int64_t t_ns)
{
    int64_t end = p->end_ns > 0 ? p->end_ns : 1;
    double x = (double)t_ns * PLOT_W / (double)end;
    return LABEL_W + (x < 0 ? 0 : x > PLOT_W ? PLOT_W : x);
}

static int lane_y(int lane)
{
    return AXIS_H + lane * (LANE_H + LANE_GAP);
}

/* "drop acks 5% for 30.000 s (line 9)", "restart server graceful (line
 * 11)": the fault as its line has it, with the values the run drew. */
static void fault_words(FILE *o, const sim_rundb_fault *f)
{
    char w[256];
    html_text(o, sim_rundb_fault_words(f, w, sizeof w));
    fprintf(o, " (line %d)", f->line);
}

/* The lanes a fault hits, [*lo, *hi]. */
static void fault_lanes(const page *p, const sim_rundb_fault *f, int *lo, int *hi)
{
    int node0 = 1 + p->workers, db = lanes(p) - 1;
    switch (f->kind) {
    case SIM_FAULT_LOSE_PUBACKS:
    case SIM_FAULT_DUPLICATE_PUBLISHES: *lo = *hi = 0; break;
    case SIM_FAULT_DROP_ACKS:
    case SIM_FAULT_NAK_STORM:
    case SIM_FAULT_TERM_STORM:
    case SIM_FAULT_FAIL_SERVICE:
    case SIM_FAULT_SLOW_SERVICE:
        *lo = 1;
        *hi = p->workers > 0 ? p->workers : 1;
        break;
    case SIM_FAULT_RESTART_SERVER:
    case SIM_FAULT_PAUSE_SERVER:
        *lo = f->node >= 1 && f->node <= p->nodes ? node0 + (int)f->node - 1 : node0;
        *hi = f->node >= 1 && f->node <= p->nodes ? *lo : node0 + p->nodes - 1;
        break;
    case SIM_FAULT_CUT_CONNECTIONS:
    case SIM_FAULT_DROP_CONNECTIONS:
    case SIM_FAULT_DELAY_CONNECTIONS:
        *lo = 0;
        *hi = node0 + p->nodes - 1;
        break;
    case SIM_FAULT_FAIL_DB:
    case SIM_FAULT_LOCK_DB:
    case SIM_FAULT_POWER_LOSS_DB: *lo = *hi = db; break;
    default: *lo = *hi = f->worker >= 1 && f->worker <= p->workers ? (int)f->worker : 1; break;
    }
}

static void write_lanes(FILE *o, const page *p)
{
    for (int l = 0; l < lanes(p); l++) {
        int y = lane_y(l);
        fprintf(o, "<rect class=\"lane\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>", LABEL_W, y, PLOT_W, LANE_H);
        fprintf(o, "<text x=\"4\" y=\"%d\">", y + 14);
        if (l == 0)
            fputs("publishers", o);
        else if (l <= p->workers)
            fprintf(o, "worker %d", l);
        else if (l < lanes(p) - 1)
            p->nodes == 1 ? fputs("server", o) : fprintf(o, "server node %d", l - p->workers);
        else
            fputs("databases", o);
        fputs("</text>\n", o);
        int nb = buckets(p);
        for (int b = 0; b < nb && p->density_max; b++) {
            uint32_t v = p->density[(size_t)l * (size_t)nb + (size_t)b];
            if (v)
                fprintf(o, "<rect class=\"den\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill-opacity=\""
                        "%.2f\"/>", LABEL_W + (double)b * PLOT_W / nb, y, (double)PLOT_W / nb, LANE_H,
                        0.08 + 0.5 * v / p->density_max);
        }
    }
}

static void write_axis(FILE *o, const page *p, int height)
{
    for (int i = 0; i <= 10; i++) {
        int64_t t = p->end_ns * i / 10;
        double x = x_of(p, t);
        fprintf(o, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#ddd\"/><text x=\"%.1f\" y=\"13\" "
                "text-anchor=\"%s\">%.3g s</text>\n", x, x, AXIS_H - 4, height, x,
                i == 0 ? "start" : i == 10 ? "end" : "middle", (double)t / 1e9);
    }
}

static void write_faults_svg(FILE *o, const page *p)
{
    for (int i = 0; i < p->nfaults; i++) {
        const sim_rundb_fault *f = &p->faults[i];
        int lo, hi;
        fault_lanes(p, f, &lo, &hi);
        double x0 = x_of(p, f->at_ns), x1 = x_of(p, f->at_ns + f->dur_ns);
        fprintf(o, "<rect class=\"fault\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\"><title>", x0, lane_y(lo),
                x1 - x0 < 3 ? 3 : x1 - x0, lane_y(hi) + LANE_H - lane_y(lo));
        fault_words(o, f);
        fputs("</title></rect>\n", o);
    }
}

static const char *kind_word(int kind)
{
    static const char *const w[] = {"published", "publish failed", "delivered", "started", "committed",
                                    "stale commit", "acked", "nak'ed", "terminated", "crashed", "db error",
                                    "answer never sent", "dead-lettered", "handled before its time",
                                    "published delayed", "restarted"};
    _Static_assert(sizeof w / sizeof w[0] == SIM_TR_KIND_COUNT, "a word for every trace kind");
    return kind >= 0 && kind < (int)(sizeof w / sizeof w[0]) ? w[kind] : "step";
}

/* " (attempt 1, the stream's delivery 2)": a delivery as explain counts
 * it, the stream's count when it differs (the worker layer's naks of a
 * delayed job, a batch lost in a crash: deliveries no handler saw). */
static void attempt_words(FILE *o, const step *s)
{
    fprintf(o, " (attempt %d", s->attempt);
    if (s->arg != s->attempt)
        fprintf(o, ", the stream's delivery %" PRId64, s->arg);
    fputs(")", o);
}

/* The marks: the failing job's steps, and the deliveries of listed jobs,
 * HTML_MARKS_MAX of them evenly taken when they are more (so the marks
 * cover the whole run). Returns how many deliveries were left out. */
static int64_t write_marks(FILE *o, const page *p)
{
    int64_t plain = 0, left_out = 0, seen = 0;
    for (int i = 0; i < p->nmarks; i++)
        plain += !p->list[p->marks[i].list].bad;
    for (int i = 0; i < p->nmarks; i++) {
        const step *s = &p->marks[i];
        const listed *l = &p->list[s->list];
        if (!l->bad && !evenly(seen++, plain, HTML_MARKS_MAX)) {
            left_out++;
            continue;
        }
        bool pub = s->kind == SIM_TR_PUBLISH || s->kind == SIM_TR_PUBLISH_FAILED;
        int lane = pub ? 0 : s->kind == SIM_TR_COMMIT || s->kind == SIM_TR_STALE ? lanes(p) - 1
                                                                                  : lane_of_worker(p, s->worker);
        if (lane < 0)
            continue;
        int h = l->bad ? LANE_H : LANE_H - 6;
        fputs("<a href=\"#", o);
        job_id(o, p, l);
        fprintf(o, "\"><rect class=\"ev k%d%s\" x=\"%.1f\" y=\"%d\" width=\"%d\" height=\"%d\"><title>job %" PRId64
                " %s", s->kind, l->bad ? " bad" : "", x_of(p, s->t_ns) - 1, lane_y(lane) + (LANE_H - h) / 2,
                l->bad ? 4 : 2, h, (l->row - 1) / p->consumers + 1, kind_word(s->kind));
        if (s->kind == SIM_TR_DELIVER)
            attempt_words(o, s);
        fprintf(o, " at +%.3f s</title></rect></a>\n", (double)s->t_ns / 1e9);
    }
    return left_out;
}

static void write_timeline(FILE *o, const page *p)
{
    int height = lane_y(lanes(p)) + 2;
    fputs("<h2>Timeline</h2>\n<p class=\"legend note\"><span><i class=\"sw\" style=\"background:#5b8def\"></i>"
          "how busy a lane was (publishes, deliveries, commits)</span><span><i class=\"sw\" style=\"background:"
          "#f6c89f\"></i>a fault, across the lanes it hit</span><span><i class=\"sw\" style=\"background:#1f4e9c\">"
          "</i>a delivery (click: the job)</span><span><i class=\"sw\" style=\"background:#c62828\"></i>the failing "
          "job's steps</span></p>\n", o);
    fprintf(o, "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 "
            "%d %d\">\n", LABEL_W + PLOT_W + 10, height, LABEL_W + PLOT_W + 10, height);
    write_axis(o, p, height);
    write_lanes(o, p);
    write_faults_svg(o, p);
    int64_t left_out = write_marks(o, p);
    fputs("</svg>\n", o);
    if (left_out)
        fprintf(o, "<p class=\"note\">%" PRId64 " of the %" PRId64 " deliveries of listed jobs are not marked (the page "
                "marks at most %d, evenly over the run, to stay small); the lanes' shading counts every delivery."
                "</p>\n", left_out, p->deliveries, HTML_MARKS_MAX);
}

static void write_fault_table(FILE *o, const page *p)
{
    fputs("<h2>Faults</h2>\n", o);
    if (!p->nfaults) {
        fputs("<p>none</p>\n", o);
        return;
    }
    fputs("<table id=\"faults\"><tr><th>at</th><th>fault</th></tr>\n", o);
    for (int i = 0; i < p->nfaults; i++) {
        fprintf(o, "<tr><td>+%.3f s</td><td>", (double)p->faults[i].at_ns / 1e9);
        fault_words(o, &p->faults[i]);
        fputs("</td></tr>\n", o);
    }
    fputs("</table>\n", o);
}

static void write_step(FILE *o, const step *s)
{
    fprintf(o, "<span>+%.3f s ", (double)s->t_ns / 1e9);
    switch (s->kind) {
    case SIM_TR_PUBLISH: fprintf(o, "published, stream seq %" PRId64, s->arg); break;
    case SIM_TR_PUBLISH_FAILED: fprintf(o, "publish try %" PRId64 ": no PubAck", s->arg); break;
    case SIM_TR_DELIVER:
        fprintf(o, "<b>delivered to worker %d</b>", s->worker);
        attempt_words(o, s);
        break;
    case SIM_TR_COMMIT: fprintf(o, "committed by worker %d (version %" PRId64 ")", s->worker, s->arg); break;
    case SIM_TR_STALE: fprintf(o, "worker %d's commit refused (stale)", s->worker); break;
    case SIM_TR_ACK: /* arg: what the fault shim made of it (master.h) */
        fprintf(o, "acked by worker %d%s", s->worker,
                s->arg == SIM_ACK_LOST      ? " <b>(the ack was lost: drop acks)</b>"
                : s->arg == SIM_ACK_AS_NAK  ? " <b>(it arrived as a NAK: nak storm)</b>"
                : s->arg == SIM_ACK_AS_TERM ? " <b>(it arrived as a TERM: term storm)</b>"
                                            : "");
        break;
    case SIM_TR_NAK: fprintf(o, "nak'ed by worker %d", s->worker); break;
    case SIM_TR_TERM: fprintf(o, "terminated by worker %d", s->worker); break;
    case SIM_TR_FAULT: fprintf(o, "<b>worker %d crashed holding it</b>", s->worker); break;
    case SIM_TR_DB_ERROR: fprintf(o, "worker %d's commit failed (db error)", s->worker); break;
    case SIM_TR_UNSENT: fprintf(o, "worker %d's answer never reached the server", s->worker); break;
    case SIM_TR_DELAYED: fprintf(o, "delayed: not to be handled for %.3f s", (double)s->arg / 1e9); break;
    case SIM_TR_EARLY:
        fprintf(o, "<b>handed to worker %d's handler %.3f s before its time</b>", s->worker, (double)s->arg / 1e9);
        break;
    default: fprintf(o, "%s, worker %d", kind_word(s->kind), s->worker); break;
    }
    fputs("</span>", o);
}

static void write_jobs(FILE *o, const page *p)
{
    fprintf(o, "<h2>Jobs</h2>\n<p class=\"note\">%d of %" PRId64 " job rows listed", p->nlist, p->rows);
    if (p->rows > HTML_JOBS_LISTED)
        fprintf(o, ": %sthose not done once or tried more than once (%" PRId64 " such; at most %d, evenly "
                "spread); the counts above cover every job", p->bad_job ? "the failing job, then " : "", p->candidates, HTML_JOBS_LISTED);
    fputs(".</p>\n<table id=\"jobs\"><tr><th>job</th><th>key</th><th>end state</th><th>attempts</th><th>"
          "completions</th><th>steps</th></tr>\n", o);
    int k = 0;
    for (int i = 0; i < p->nlist; i++) {
        const listed *l = &p->list[i];
        fputs(l->bad ? "<tr class=\"bad\" id=\"" : "<tr id=\"", o);
        job_id(o, p, l);
        fprintf(o, "\"><td>%" PRId64, (l->row - 1) / p->consumers + 1);
        if (p->consumers > 1)
            fprintf(o, " c%" PRId64, (l->row - 1) % p->consumers + 1);
        fputs(l->bad ? " (failing)</td><td>" : "</td><td>", o);
        if (l->has_key)
            fprintf(o, "%" PRId64, l->key);
        fprintf(o, "</td><td>%s</td><td>%d</td><td>%d</td><td class=\"steps\">",
                l->state >= 0 && l->state < 4 ? state_names[l->state] : "?", l->attempts, l->completions);
        for (; k < p->nsteps && p->steps[k].list == i; k++)
            write_step(o, &p->steps[k]);
        if (l->more)
            fprintf(o, "<span>... and %d more steps</span>", l->more);
        fputs("</td></tr>\n", o);
    }
    fputs("</table>\n", o);
}

static bool write_page(const page *p, const char *html_path)
{
    FILE *o = fopen(html_path, "w");
    if (!o) {
        fprintf(stderr, "jetsim report: harness error: cannot write %s: %s\n", html_path, strerror(errno));
        return false;
    }
    write_head(o, p);
    write_summary(o, p);
    write_timeline(o, p);
    write_fault_table(o, p);
    write_jobs(o, p);
    fputs("<p class=\"note\">Written by jetsim report from the run database; the same facts in SQL: the views "
          "story, jobs_named and faults_named.</p>\n</body></html>\n", o);
    bool ok = !ferror(o);
    ok &= fclose(o) == 0;
    if (!ok) {
        fprintf(stderr, "jetsim report: harness error: writing %s failed\n", html_path);
        unlink(html_path);
    }
    return ok;
}

static void page_free(page *p)
{
    sqlite3_close(p->db);
    free(p->scenario);
    sim_scenario_free(p->sc);
    free(p->row_not_for);
    free(p->faults);
    free(p->list_of);
    free(p->list);
    free(p->steps);
    free(p->marks);
    free(p->density);
}

int sim_html_report(const char *db_path, const char *html_path)
{
    page p = {.db_path = db_path};
    bool oom = false;
    if (!sim_rundb_open(&p.db, "jetsim report", db_path))
        return SIM_EXIT_USAGE;
    if (!read_head(&p) || !sim_rundb_faults(p.db, &p.faults, &p.nfaults, &oom)) {
        if (oom) {
            fprintf(stderr, "jetsim report: harness error: reading %s: out of memory\n", db_path);
            page_free(&p);
            return SIM_EXIT_HARNESS;
        }
        sim_rundb_not_ours("jetsim report", db_path, p.db);
        page_free(&p);
        return SIM_EXIT_USAGE;
    }
    read_scenario(&p);
    if (!read_not_for(&p) || !read_jobs(&p) || !read_trace(&p)) {
        int ec = sqlite3_errcode(p.db); /* a read that failed with no SQLite error ran out of memory */
        fprintf(stderr, "jetsim report: harness error: reading %s: %s\n", db_path,
                ec == SQLITE_OK || ec == SQLITE_ROW || ec == SQLITE_DONE ? "out of memory" : sqlite3_errmsg(p.db));
        page_free(&p);
        return SIM_EXIT_HARNESS;
    }
    if (p.nsteps)
        qsort(p.steps, (size_t)p.nsteps, sizeof *p.steps, by_job);
    bool ok = write_page(&p, html_path);
    page_free(&p);
    return ok ? 0 : SIM_EXIT_HARNESS;
}

/* ---- swarm and diff ----------------------------------------------------- */

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            char *g = realloc(buf, cap = cap * 2 + 8192);
            if (!g) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = g;
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got < 4096)
            break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

int sim_html_report_seed(const sim_scenario *sc, const char *path, uint64_t seed, const char *dir, char *out,
                         size_t cap)
{
    char db[4200];
    snprintf(db, sizeof db, "%s/seed-%" PRIu64 ".db", dir, seed);
    snprintf(out, cap, "%s/seed-%" PRIu64 ".html", dir, seed);
    char *text = read_text(path);
    sim_scenario *mixed = sim_scenario_new();
    sim_result r;
    int rc = 0;
    if (!text || !mixed) {
        fprintf(stderr, "jetsim: harness error: %s: %s\n", path, text ? "out of memory" : strerror(errno));
        rc = SIM_EXIT_HARNESS;
    } else {
        *mixed = *sc;
        sim_scenario_mix(mixed, seed);
        if (sim_run(mixed, text, seed, db, NULL, &r) != PS_OK) {
            fprintf(stderr, "jetsim: harness error: seed %" PRIu64 " into %s: %s\n", seed, db, ps_last_error());
            rc = SIM_EXIT_HARNESS;
        } else {
            rc = sim_html_report(db, out);
        }
    }
    sim_scenario_free(mixed);
    free(text);
    return rc;
}

int sim_html_report_diff(const char *dir, uint64_t seed)
{
    char db[4200], html[4200];
    static const char *const side[2] = {"server", "model"};
    int worst = 0;
    for (int i = 0; i < 2; i++) {
        snprintf(db, sizeof db, "%s/%s.db", dir, side[i]);
        snprintf(html, sizeof html, "%s/seed-%" PRIu64 "%s.html", dir, seed, i ? "-model" : "");
        int rc = sim_html_report(db, html);
        if (rc == 0)
            printf("  report of seed %" PRIu64 " on the %s: %s\n", seed, side[i], html);
        worst = rc > worst ? rc : worst;
    }
    return worst;
}
