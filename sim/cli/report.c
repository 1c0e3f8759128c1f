/* report.c — `jetsim run` (see report.h): what a user reads first is the
 * seed (to replay the run), then a summary table, then the verdict with
 * the first job that broke a check.
 */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>
#include <unistd.h>

#include "diff.h"
#include "handlers.h"
#include "engine.h"
#include "master.h"
#include "ps_url.h"
#include "scenario.h"
#include "real.h"
#include "rundb.h"
#include "servers.h"
#include "ps_backend_impl.h"

/* The largest scenario file read (the parser's own limit is the same). */
#define REPORT_FILE_MAX (4u << 20)

/* Reads a scenario file into a NUL-terminated malloc'd string. On failure
 * returns NULL with the reason in ps_last_error(): cannot open, a
 * directory, a read error, or more than REPORT_FILE_MAX bytes (so
 * /dev/zero or a log file is refused, not read until memory runs out). */
static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ps_error(PS_ERR_IO, 0, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fclose(f);
        ps_error(PS_ERR_INVALID_ARG, 0, "%s: is a directory, not a scenario file", path);
        return NULL;
    }
    char *buf = malloc(REPORT_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        ps_error(PS_ERR_NO_MEMORY, 0, "%s: out of memory", path);
        return NULL;
    }
    size_t len = fread(buf, 1, REPORT_FILE_MAX + 1, f);
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (err || len > REPORT_FILE_MAX) {
        if (err)
            ps_error(PS_ERR_IO, 0, "%s: read error: %s", path, strerror(err));
        else
            ps_error(PS_ERR_INVALID_ARG, 0, "%s: larger than 4 MiB, the most a scenario may be", path);
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

static int report(const sim_result *r, const char *db_path);

/* Where a command's runs happen: the model (t NULL), or a server target
 * over spawned servers or the one --url (else $NATS_URL) names. */
typedef struct cli_target {
    sim_target *t;
    sim_servers *servers;
    const char *ns; /* the scenario's namespace, or NULL */
} cli_target;

/* The server a --backend jetstream run uses without --url or --spawn: the
 * one place NATS_URL is read. */
static const char *default_url(void)
{
    const char *url = getenv("NATS_URL");
    return url && *url ? url : "nats://127.0.0.1:4222";
}

/* Servers for a run away from the model: spawned (and the signal trap
 * set, so a Ctrl-C leaves none behind) or named by --url. */
static int target_open(const sim_where *w, const char *replay_cmd, cli_target *ct)
{
    memset(ct, 0, sizeof *ct);
    ct->ns = w ? w->ns : NULL;
    if (!w || !w->jetstream)
        return 0;
    sim_servers_trap_signals(); /* a Ctrl-C ends the run cleanly: servers stopped, or the run's streams deleted */
    if (w->spawn && sim_servers_start(&ct->servers, w->spawn, stdout) != PS_OK) {
        fprintf(stderr, "jetsim: harness error: cannot start nats-server: %s\n", ps_last_error());
        return sim_servers_interrupted() ? SIM_EXIT_INTERRUPTED : SIM_EXIT_HARNESS;
    }
    sim_real_options o = {.url = w->spawn ? w->url : w->url ? w->url : default_url(),
                          .servers = ct->servers,
                          .time_scale = w->time_scale >= 1 ? w->time_scale : 1,
                          .creds = &w->creds,
                          .ns = w->ns,
                          .replay_cmd = replay_cmd};
    if (sim_target_real_new(&ct->t, &o) != PS_OK) {
        fprintf(stderr, "jetsim: harness error: %s\n", ps_last_error());
        return SIM_EXIT_HARNESS;
    }
    return 0;
}

static void target_close(cli_target *ct)
{
    sim_target_free(ct->t);
    ct->t = NULL;
    sim_servers_stop(ct->servers);
    ct->servers = NULL;
}

static const char *target_name(const sim_where *w)
{
    if (!w || !w->jetstream)
        return "memory model, virtual time";
    return w->spawn == 3 ? "jetstream, 3-node cluster spawned by jetsim"
         : w->spawn      ? "jetstream, nats-server spawned by jetsim"
                         : "jetstream, existing server";
}

/* A scenario from sim_scenario_new, or NULL with the harness error
 * reported as `who`'s. */
static sim_scenario *new_scenario(const char *who)
{
    sim_scenario *sc = sim_scenario_new();
    if (!sc)
        fprintf(stderr, "%s: harness error: %s\n", who, ps_last_error());
    return sc;
}

/* Parses `text` into *sc and, with `mix`, draws the seed's fault mix
 * (printing it). SIM_EXIT_USAGE (reported) or -1. */
static int parse_text(sim_scenario *sc, const char *name, const char *text, uint64_t seed, bool mix)
{
    if (sim_scenario_parse(sc, name, text, strlen(text)) != PS_OK) {
        fprintf(stderr, "jetsim: %s\n", ps_last_error());
        return SIM_EXIT_USAGE;
    }
    cli_handlers_attach(sc);
    if (mix) {
        sim_scenario_mix(sc, seed);
        printf("fault mix for seed %" PRIu64 ":\n", seed);
        for (int i = 0; i < sc->nfaults; i++)
            printf("  at %.3f s %s (line %d)\n", (double)sc->faults[i].at_ns / 1e9,
                   sim_fault_name(sc->faults[i].kind), sc->faults[i].pos.line);
    }
    return -1;
}

/* Runs a parsed scenario; -1 when the run ended (verdict in *r), else an
 * exit code (reported). */
static int run_parsed(const sim_scenario *sc, const char *name, const char *text, uint64_t seed,
                      const char *db_path, sim_result *r, bool record, sim_target *t)
{
    ps_status s = record ? sim_run_recorded(sc, text, seed, db_path ? db_path : ":memory:", stdout, r)
                         : sim_run_on(sc, text, seed, db_path ? db_path : ":memory:", stdout, t, r);
    if (s != PS_OK && sim_servers_interrupted()) {
        fprintf(stderr, "jetsim: interrupted: the run stopped (spawned servers stopped, the streams a --url run "
                        "created deleted)\n");
        return SIM_EXIT_INTERRUPTED;
    }
    if (s != PS_OK) { /* bad input names the scenario; anything else kept the run from happening */
        fprintf(stderr, "jetsim: %s: %s: %s\n", s == PS_ERR_INVALID_ARG ? name : "harness error",
                ps_status_name(s), ps_last_error());
        return s == PS_ERR_INVALID_ARG ? SIM_EXIT_USAGE : SIM_EXIT_HARNESS;
    }
    return -1;
}

static int run_text(const char *name, const char *text, uint64_t seed, const char *db_path, sim_result *r,
                    bool mix, const cli_target *ct)
{
    sim_scenario *sc = new_scenario("jetsim");
    int rc = sc ? parse_text(sc, name, text, seed, mix) : SIM_EXIT_HARNESS;
    if (rc < 0 && ct->ns && sim_scenario_namespace(sc, ct->ns) != PS_OK) {
        fprintf(stderr, "jetsim: %s: %s\n", name, ps_last_error());
        rc = SIM_EXIT_USAGE;
    }
    if (rc < 0)
        rc = run_parsed(sc, name, text, seed, db_path, r, false, ct->t);
    sim_scenario_free(sc);
    return rc;
}

/* Appends " FLAG VALUE" when `value` is set; the length so far, as
 * snprintf counts it. */
static size_t hint_add(char *out, size_t cap, size_t n, const char *flag, const char *value)
{
    if (!value || n >= cap)
        return n;
    int k = snprintf(out + n, cap - n, " %s %s", flag, value);
    return k < 0 ? n : n + (size_t)k;
}

/* The command that runs this again: the scenario, the seed, the mix, and
 * where (a real server's flags, the URL with its secrets masked, the
 * credential files by name: a replay on the model is not that run). */
static void replay_hint(char *out, size_t cap, const char *path, uint64_t seed, bool mix, const sim_where *w)
{
    int k = snprintf(out, cap, "jetsim run %s --seed %" PRIu64 "%s%s%s", path, seed, mix ? " --mix" : "",
                     cli_handlers_path() ? " --handlers " : "", cli_handlers_path() ? cli_handlers_path() : "");
    size_t n = k < 0 ? 0 : (size_t)k;
    if (!w || !w->jetstream || n >= cap)
        return;
    char url[512];
    ps_url_redact(url, sizeof url, w->url);
    char scale[32];
    snprintf(scale, sizeof scale, "%g", w->time_scale >= 1 ? w->time_scale : 1);
    n = hint_add(out, cap, n, w->spawn == 3 ? "--spawn" : w->spawn ? "--spawn" : w->url ? "--url" : "--backend",
                 w->spawn == 3 ? "cluster" : w->spawn ? "single" : w->url ? url : "jetstream");
    n = hint_add(out, cap, n, "--namespace", w->ns);
    n = hint_add(out, cap, n, "--creds", w->creds.creds_file);
    n = hint_add(out, cap, n, "--user", w->creds.user);
    n = hint_add(out, cap, n, "--password-file", w->creds.password_file);
    n = hint_add(out, cap, n, "--token-file", w->creds.token_file);
    n = hint_add(out, cap, n, "--tls-ca", w->creds.tls_ca_file);
    n = hint_add(out, cap, n, "--tls-cert", w->creds.tls_cert_file);
    n = hint_add(out, cap, n, "--tls-key", w->creds.tls_key_file);
    hint_add(out, cap, n, "--time-scale", scale);
}

int sim_report_run_text(const char *name, const char *text, uint64_t seed, const char *db_path)
{
    cli_target t = {0};
    sim_result r;
    int rc = run_text(name, text, seed, db_path, &r, false, &t);
    return rc >= 0 ? rc : report(&r, db_path);
}

/* Seconds on the monotonic clock: how long a command took, for CI. */
static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The run for CI (ciout.h): JSON, JUnit XML. `r` NULL: the run got no
 * verdict (exit code `rc` says why). false when a file could not be
 * written. */
static bool run_ci(const sim_ci_outputs *out, const char *path, uint64_t seed, bool mix, const char *hint,
                   const sim_where *where, const sim_result *r, const char *db_path, int rc, double seconds)
{
    const char *verdict = !r ? "error" : r->verdict == SIM_PASS ? "pass"
                                       : r->verdict == SIM_SAFETY_VIOLATION ? "safety" : "liveness";
    bool ok = true;
    FILE *o;
    if (out && out->json && (ok = (o = ci_open(out->json, "jetsim run")) != NULL)) {
        fputs("{\"command\": \"run\", \"scenario\": ", o);
        ci_json_string(o, path);
        fprintf(o, ", \"seed\": %" PRIu64 ", \"mix\": %s, \"backend\": ", seed, mix ? "true" : "false");
        ci_json_string(o, target_name(where));
        fprintf(o, ", \"verdict\": \"%s\", \"exit_code\": %d, \"first_violation\": ", verdict, rc);
        ci_json_string(o, r && r->first_violation[0] ? r->first_violation : NULL);
        if (r)
            fprintf(o, ", \"first_bad_job\": %" PRIu64 ", \"jobs_published\": %" PRIu64 ", \"publishes_given_up\": %"
                    PRIu64 ", \"jobs_done\": %" PRIu64 ", \"jobs_failed\": %" PRIu64 ", \"lost\": %" PRIu64
                    ", \"completed_twice\": %" PRIu64 ", \"over_attempts\": %" PRIu64 ", \"stored_twice\": %" PRIu64
                    ", \"out_of_key_order\": %" PRIu64 ", \"virtual_time_s\": %.3f, \"events\": %" PRIu64
                    ", \"trace_hash\": \"%016" PRIx64 "\"", r->first_bad_job, r->jobs_published, r->publish_failures,
                    r->jobs_done, r->jobs_failed, r->lost, r->double_completed, r->over_attempts, r->dedup_failures,
                    r->order_failures, (double)r->end_ns / 1e9, r->events, r->trace_hash);
        fputs(", \"database\": ", o);
        ci_json_string(o, db_path);
        fputs(", \"replay\": ", o);
        ci_json_string(o, hint);
        fputs("}\n", o);
        ok = ci_close(o, out->json, "jetsim run");
    }
    if (out && out->junit && (o = ci_open(out->junit, "jetsim run")) != NULL) {
        char suite[1100], name[64], detail[2400];
        snprintf(suite, sizeof suite, "jetsim run %s", path);
        snprintf(name, sizeof name, "seed %" PRIu64, seed);
        bool failed = !r || r->verdict != SIM_PASS;
        const char *why = r ? r->first_violation : "the run got no verdict (see its error output)";
        snprintf(detail, sizeof detail, "%s\nreplay: %s", why, hint);
        ci_junit_begin(o, suite, 1, failed && r, !r, 0, seconds);
        ci_junit_case(o, "jetsim.run", name, r ? verdict : "harness error", failed ? why : NULL, detail);
        ci_junit_end(o);
        ok = ci_close(o, out->junit, "jetsim run") && ok;
    } else if (out && out->junit) {
        ok = false;
    }
    return ok;
}

int sim_report_run(const char *path, uint64_t seed, const char *db_path, bool mix, const sim_where *where,
                   const sim_ci_outputs *out)
{
    char *text = read_all(path);
    if (!text) {
        fprintf(stderr, "jetsim run: %s\n", ps_last_error());
        return SIM_EXIT_USAGE;
    }
    double t0 = wall_s();
    char hint[1200];
    replay_hint(hint, sizeof hint, path, seed, mix, where);
    printf("seed: %" PRIu64 "  (replay: %s)\n", seed, hint);
    printf("backend: %s", target_name(where));
    if (where && where->jetstream)
        printf(", time scale %g (not deterministic: the seed fixes the workload and faults, not the timing)",
               where->time_scale >= 1 ? where->time_scale : 1);
    printf("\n");
    cli_target t;
    int rc = target_open(where, hint, &t);
    sim_result r;
    if (rc == 0)
        rc = run_text(path, text, seed, db_path, &r, mix, &t);
    target_close(&t);
    free(text);
    bool verdict = rc < 0;
    if (verdict)
        rc = report(&r, db_path);
    if (!run_ci(out, path, seed, mix, hint, where, verdict ? &r : NULL, db_path, rc, wall_s() - t0) &&
        rc == SIM_EXIT_PASS)
        rc = SIM_EXIT_HARNESS; /* CI asked for a file it will not find: not a pass */
    return rc;
}

/* The diff for CI (ciout.h): JSON, and JUnit XML with a testcase per
 * compared rule. `res` NULL: no comparison happened (exit code `rc`).
 * false when a file could not be written. */
static bool diff_ci(const sim_ci_outputs *out, const char *path, uint64_t seed, bool strip,
                    const sim_diff_rule_result *res, const sim_result *ra, const sim_result *rb, int rc, double seconds)
{
    bool ok = true;
    FILE *o;
    char replay[1200];
    snprintf(replay, sizeof replay, "jetsim diff %s --seed %" PRIu64 "%s", path, seed, strip ? " --without-faults" : "");
    if (out && out->json && (ok = (o = ci_open(out->json, "jetsim diff")) != NULL)) {
        fputs("{\"command\": \"diff\", \"scenario\": ", o);
        ci_json_string(o, path);
        fprintf(o, ", \"seed\": %" PRIu64 ", \"without_faults\": %s, \"exit_code\": %d, \"diverged\": %s", seed,
                strip ? "true" : "false", rc, rc == 1 ? "true" : "false");
        if (res) {
            fprintf(o, ", \"model_verdict\": \"%s\", \"server_verdict\": \"%s\", \"rules\": [",
                    ra->verdict == SIM_PASS ? "pass" : "fail", rb->verdict == SIM_PASS ? "pass" : "fail");
            for (int k = 0; k < SIM_DIFF_RULES; k++) {
                fprintf(o, "%s{\"rule\": ", k ? ", " : "");
                ci_json_string(o, res[k].name);
                fprintf(o, ", \"outcome\": \"%s\", \"detail\": ",
                        res[k].outcome == 0 ? "same" : res[k].outcome > 0 ? "diverged" : "not compared");
                ci_json_string(o, res[k].detail);
                fputc('}', o);
            }
            fputc(']', o);
        }
        fputs(", \"replay\": ", o);
        ci_json_string(o, replay);
        fputs("}\n", o);
        ok = ci_close(o, out->json, "jetsim diff");
    }
    if (out && out->junit && (o = ci_open(out->junit, "jetsim diff")) != NULL) {
        char suite[1100], detail[1700];
        snprintf(suite, sizeof suite, "jetsim diff %s seed %" PRIu64, path, seed);
        int failures = 0;
        for (int k = 0; res && k < SIM_DIFF_RULES; k++)
            failures += res[k].outcome > 0;
        int skipped = 0;
        for (int k = 0; res && k < SIM_DIFF_RULES; k++)
            skipped += res[k].outcome < 0;
        ci_junit_begin(o, suite, res ? SIM_DIFF_RULES : 1, (unsigned)failures, !res, (unsigned)skipped, seconds);
        for (int k = 0; res && k < SIM_DIFF_RULES; k++) {
            snprintf(detail, sizeof detail, "%s\nreplay: %s", res[k].detail, replay);
            if (res[k].outcome < 0)
                ci_junit_skip(o, "jetsim.diff", res[k].name, res[k].detail);
            else
                ci_junit_case(o, "jetsim.diff", res[k].name, "divergence", res[k].outcome > 0 ? res[k].detail : NULL,
                              detail);
        }
        if (!res)
            ci_junit_case(o, "jetsim.diff", "comparison", "harness error", "the runs did not finish (see the error "
                          "output)", NULL);
        ci_junit_end(o);
        ok = ci_close(o, out->junit, "jetsim diff") && ok;
    } else if (out && out->junit) {
        ok = false;
    }
    return ok;
}

int sim_report_diff(const char *path, uint64_t seed, const sim_where *where, bool strip_faults, const char *keep_dir,
                    const sim_ci_outputs *out)
{
    sim_scenario *sc = new_scenario("jetsim diff");
    if (!sc)
        return SIM_EXIT_HARNESS;
    char *text = read_all(path);
    if (!text || sim_scenario_parse(sc, path, text, strlen(text)) != PS_OK) {
        fprintf(stderr, "jetsim diff: %s\n", ps_last_error());
        free(text);
        sim_scenario_free(sc);
        return SIM_EXIT_USAGE;
    }
    cli_handlers_attach(sc);
    if (strip_faults)
        sc->nfaults = 0;
    if (where && where->ns && sim_scenario_namespace(sc, where->ns) != PS_OK) { /* both sides alike */
        fprintf(stderr, "jetsim diff: %s: %s\n", path, ps_last_error());
        free(text);
        sim_scenario_free(sc);
        return SIM_EXIT_USAGE;
    }
    char dir[512], a[600], b[600];
    struct stat sb;
    if (keep_dir && (stat(keep_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        /* Refused before any run: the databases could not be kept there. */
        fprintf(stderr, "jetsim diff: --keep %s: %s\n", keep_dir,
                errno == ENOENT || errno == 0 ? "no such directory" : strerror(errno));
        free(text);
        sim_scenario_free(sc);
        return SIM_EXIT_USAGE;
    }
    if (keep_dir) {
        snprintf(dir, sizeof dir, "%s", keep_dir);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/jetsim-diff-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
            fprintf(stderr, "jetsim diff: harness error: cannot create %s: %s\n", dir, strerror(errno));
            free(text);
            sim_scenario_free(sc);
            return SIM_EXIT_HARNESS;
        }
    }
    snprintf(a, sizeof a, "%s/model.db", dir);
    snprintf(b, sizeof b, "%s/server.db", dir);
    double t0 = wall_s();
    printf("diff: %s seed %" PRIu64 "%s: the memory model against %s\n", path, seed,
           strip_faults ? " without its faults" : "", target_name(where));
    cli_target t;
    int rc = target_open(where, NULL, &t);
    sim_result ra, rb;
    sim_diff_rule_result res[SIM_DIFF_RULES];
    bool compared = false;
    ps_status s = PS_OK;
    if (rc == 0) {
        s = sim_run_on(sc, text, seed, a, NULL, NULL, &ra);
        if (!s)
            s = sim_run_on(sc, text, seed, b, stdout, t.t, &rb);
        if (s)
            rc = sim_servers_interrupted() ? SIM_EXIT_INTERRUPTED
               : s == PS_ERR_INVALID_ARG   ? SIM_EXIT_USAGE
                                           : SIM_EXIT_HARNESS;
    }
    ps_error_saved why; /* stopping the servers must not wipe the reason */
    ps_error_save(&why);
    target_close(&t);
    ps_error_restore(&why);
    if (s)
        fprintf(stderr, "jetsim diff: %s: %s\n", rc == SIM_EXIT_HARNESS ? "harness error" : path, ps_last_error());
    if (rc == 0) {
        printf("  %-26s model %s, server %s\n", "verdicts", ra.verdict == SIM_PASS ? "PASS" : "FAIL",
               rb.verdict == SIM_PASS ? "PASS" : "FAIL");
        if (ra.verdict != SIM_PASS) /* why, so that a divergence below can be read against it */
            printf("  %-26s %s\n", "model failed", ra.first_violation);
        if (rb.verdict != SIM_PASS)
            printf("  %-26s %s\n", "server failed", rb.first_violation);
        int d = sim_diff_dbs_rules(a, b, sc, stdout, res);
        if (d < 0) {
            fprintf(stderr, "jetsim diff: harness error: %s\n", ps_last_error());
            rc = SIM_EXIT_HARNESS;
        } else {
            printf("%s\n", d == 0 ? "no divergence" : "DIVERGED");
            rc = d == 0 ? 0 : 1;
            compared = true;
        }
    }
    if (keep_dir) {
        if (s == PS_OK && rc != SIM_EXIT_USAGE)
            printf("run databases: %s, %s\n", a, b);
        else
            printf("run databases: not complete (the runs did not finish)\n");
    } else {
        unlink(a);
        unlink(b);
        rmdir(dir);
    }
    free(text);
    sim_scenario_free(sc);
    if (rc != SIM_EXIT_USAGE &&
        !diff_ci(out, path, seed, strip_faults, compared ? res : NULL, &ra, &rb, rc, wall_s() - t0) && rc == 0)
        rc = SIM_EXIT_HARNESS; /* CI asked for a file it will not find: not a pass */
    return rc;
}

/* "  first run : at 0.020 s, nak of job 3 by worker 2 (arg 0)": trace
 * event `i` (0-based) of a run database. */
static void print_trace_event(const char *who, const char *path, size_t i)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h,
                           "SELECT t.t_ns - (SELECT min(t_ns) FROM trace), coalesce(k.name, t.kind), t.job, t.worker,"
                           " t.arg FROM trace t LEFT JOIN trace_kinds k ON k.kind = t.kind ORDER BY t.rowid"
                           " LIMIT 1 OFFSET ?",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)i);
        if (sqlite3_step(st) == SQLITE_ROW)
            printf("  %s: at %.6f s, %s, job %lld, worker %lld, arg %lld\n", who,
                   (double)sqlite3_column_int64(st, 0) / 1e9, (const char *)sqlite3_column_text(st, 1),
                   (long long)sqlite3_column_int64(st, 2), (long long)sqlite3_column_int64(st, 3),
                   (long long)sqlite3_column_int64(st, 4));
        else
            printf("  %s: no event %zu (its run ended there)\n", who, i + 1);
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
}

int sim_report_check_determinism(const char *path, uint64_t seed, bool mix)
{
    sim_scenario *sc = new_scenario("jetsim run");
    if (!sc)
        return SIM_EXIT_HARNESS;
    char *text = read_all(path);
    if (!text || sim_scenario_parse(sc, path, text, strlen(text)) != PS_OK) {
        fprintf(stderr, "jetsim run: %s\n", ps_last_error());
        free(text);
        sim_scenario_free(sc);
        return SIM_EXIT_USAGE;
    }
    cli_handlers_attach(sc);
    if (mix)
        sim_scenario_mix(sc, seed); /* the run swarm made, not the unmixed one */
    sim_result a, b;
    char dir[512], da[600], db[600];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/jetsim-determinism-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    bool kept = mkdtemp(dir) != NULL; /* the two traces, to name the event where they part */
    snprintf(da, sizeof da, "%s/a.db", dir);
    snprintf(db, sizeof db, "%s/b.db", dir);
    ps_status s = sim_run_recorded(sc, text, seed, kept ? da : ":memory:", NULL, &a);
    if (!s)
        s = sim_run_recorded(sc, text, seed, kept ? db : ":memory:", NULL, &b);
    free(text);
    sim_scenario_free(sc);
    if (s) {
        fprintf(stderr, "jetsim run: %s: %s\n", s == PS_ERR_INVALID_ARG ? path : "harness error", ps_last_error());
        free(a.hashes);
        return s == PS_ERR_INVALID_ARG ? SIM_EXIT_USAGE : SIM_EXIT_HARNESS;
    }
    size_t n = a.nhashes < b.nhashes ? a.nhashes : b.nhashes, i = 0;
    while (i < n && a.hashes[i] == b.hashes[i])
        i++;
    int rc;
    if (i == n && a.nhashes == b.nhashes) {
        printf("deterministic: two runs with seed %" PRIu64 "%s gave the same %zu trace events (hash %016" PRIx64
               ")\n", seed, mix ? " and its fault mix" : "", a.nhashes, a.trace_hash);
        rc = 0;
    } else {
        printf("NOT deterministic: the runs part at trace event %zu (of %zu and %zu):\n", i + 1, a.nhashes,
               b.nhashes);
        if (kept) {
            print_trace_event("first run ", da, i);
            print_trace_event("second run", db, i);
        }
        printf("everything before it was the same. Code run at that event depends on something besides the\n"
               "seed: the wall clock, rand(), the environment, threads, I/O not made through the\n"
               "simulation (ps_sim.h: take time from ps_sim_now, randomness from ps_sim_rand).\n");
        rc = 1;
    }
    if (kept) {
        unlink(da);
        unlink(db);
        rmdir(dir);
    }
    free(a.hashes);
    free(b.hashes);
    return rc;
}

/* What a run database says about its run. */
typedef struct recorded {
    char *text;
    uint64_t seed;
    bool mix, finished;
    int64_t rows;
    char backend[400], verdict[16], why[512], hash[17], replay[1200];
} recorded;

static void column_copy(sqlite3_stmt *st, int col, char *out, size_t cap)
{
    const unsigned char *v = sqlite3_column_text(st, col);
    snprintf(out, cap, "%s", v ? (const char *)v : "");
}

static bool read_run(sqlite3 *db, recorded *rec)
{
    sqlite3_stmt *st = NULL;
    bool ok = sqlite3_prepare_v2(db, "SELECT scenario, seed, (SELECT count(*) FROM trace), backend, mix, finished,"
                                     " verdict, first_violation, trace_hash, replay FROM run", -1, &st, NULL) ==
                  SQLITE_OK && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0);
    if (ok) {
        rec->text = strdup((const char *)sqlite3_column_text(st, 0));
        rec->seed = (uint64_t)sqlite3_column_int64(st, 1);
        rec->rows = sqlite3_column_int64(st, 2);
        /* masked again: a database written before URLs were masked may hold a password */
        ps_url_redact(rec->backend, sizeof rec->backend, (const char *)sqlite3_column_text(st, 3));
        rec->mix = sqlite3_column_int(st, 4) != 0;
        rec->finished = sqlite3_column_int(st, 5) != 0;
        column_copy(st, 6, rec->verdict, sizeof rec->verdict);
        column_copy(st, 7, rec->why, sizeof rec->why);
        column_copy(st, 8, rec->hash, sizeof rec->hash);
        column_copy(st, 9, rec->replay, sizeof rec->replay);
        ok = rec->text != NULL;
    }
    sqlite3_finalize(st);
    return ok;
}

/* Points the scenario's replays at the workload files the run read (the
 * text names them relative to a scenario file the database is not next
 * to) and refuses a file that changed since. SIM_EXIT_USAGE (reported)
 * or -1. */
static int use_recorded_workloads(sqlite3 *db, const char *db_path, sim_scenario *sc)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT publisher, path, hash FROM workloads", -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "jetsim replay: %s: %s\n", db_path, sqlite3_errmsg(db));
        return SIM_EXIT_USAGE;
    }
    int rc = -1;
    while (rc < 0 && sqlite3_step(st) == SQLITE_ROW) {
        int p = sqlite3_column_int(st, 0);
        char path[SIM_PATH_MAX], want[17], got[17];
        column_copy(st, 1, path, sizeof path);
        column_copy(st, 2, want, sizeof want);
        uint64_t h = 0;
        if (p < 0 || p >= sc->npublishers || !sc->publishers[p].workload[0]) {
            fprintf(stderr, "jetsim replay: %s: workload of publisher %d does not fit the scenario\n", db_path, p);
            rc = SIM_EXIT_USAGE;
        } else if (sim_master_file_hash(path, &h) != PS_OK) {
            fprintf(stderr, "jetsim replay: %s\n", ps_last_error());
            rc = SIM_EXIT_USAGE;
        } else if (snprintf(got, sizeof got, "%016" PRIx64, h), strcmp(got, want) != 0) {
            fprintf(stderr, "jetsim replay: workload %s changed since the run (hash %s then, %s now): cannot "
                            "reproduce it\n", path, want, got);
            rc = SIM_EXIT_USAGE;
        } else {
            snprintf(sc->publishers[p].workload, sizeof sc->publishers[p].workload, "%s", path);
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* A run that cannot be replayed on the model at all, said before anything
 * runs (a rerun's PASS would only mislead): SIM_EXIT_NOT_REPRODUCED, or -1. */
static int unreplayable(const recorded *rec)
{
    if (!rec->finished) {
        printf("NOT REPRODUCED: the recorded run did not finish (killed, or stopped by a harness error): its "
               "database holds no verdict or trace hash to compare with\n");
        return SIM_EXIT_NOT_REPRODUCED;
    }
    if (strcmp(rec->backend, "memory") != 0) {
        printf("NOT REPRODUCED: the run was on a real server (%s): its timing is not in the seed; rerun it "
               "there: %s\n", rec->backend, rec->replay[0] ? rec->replay : "(no command recorded)");
        return SIM_EXIT_NOT_REPRODUCED;
    }
    return -1;
}

/* Reproduced means the same trace (hash), the same verdict and the same
 * first violation; anything else is said loudly and is not a pass. */
static int compare_replay(const recorded *rec, const sim_result *r)
{
    char hash[17];
    snprintf(hash, sizeof hash, "%016" PRIx64, r->trace_hash);
    const char *verdict = r->verdict == SIM_PASS ? "pass" : r->verdict == SIM_SAFETY_VIOLATION ? "safety" : "liveness";
    printf("%-28s %" PRId64 " recorded, %" PRIu64 " replayed\n", "trace rows", rec->rows, r->trace_events);
    if (strcmp(rec->hash, hash) != 0 || strcmp(rec->verdict, verdict) != 0 || strcmp(rec->why, r->first_violation)) {
        printf("NOT REPRODUCED: the replay differs from the run\n"
               "  recorded: trace hash %s, %" PRId64 " trace rows, %s%s%s\n"
               "  replayed: trace hash %s, %" PRIu64 " trace rows, %s%s%s\n",
               rec->hash, rec->rows, rec->verdict, rec->why[0] ? ": " : "", rec->why, hash, r->trace_events,
               verdict, r->first_violation[0] ? ": " : "", r->first_violation);
        return SIM_EXIT_NOT_REPRODUCED;
    }
    printf("reproduced: the same trace (hash %s), verdict and first violation\n", hash);
    return -1;
}

int sim_report_replay(const char *db_path)
{
    sqlite3 *db = NULL;
    recorded rec = {0};
    if (!sim_rundb_open(&db, "jetsim replay", db_path))
        return SIM_EXIT_USAGE;
    if (!read_run(db, &rec)) {
        sim_rundb_not_ours("jetsim replay", db_path, db);
        sqlite3_close(db);
        free(rec.text);
        return SIM_EXIT_USAGE;
    }
    char name[512];
    snprintf(name, sizeof name, "%s(scenario)", db_path);
    printf("replaying %s: seed %" PRIu64 "%s\n", db_path, rec.seed, rec.mix ? " with its fault mix" : "");
    int rc = unreplayable(&rec);
    if (rc >= 0) {
        sqlite3_close(db);
        free(rec.text);
        return rc;
    }
    sim_scenario *sc = new_scenario("jetsim replay");
    rc = sc ? parse_text(sc, name, rec.text, rec.seed, rec.mix) : SIM_EXIT_HARNESS;
    if (rc < 0)
        rc = use_recorded_workloads(db, db_path, sc);
    sqlite3_close(db);
    sim_result r;
    if (rc < 0)
        rc = run_parsed(sc, name, rec.text, rec.seed, NULL, &r, true, NULL);
    free(rec.text);
    sim_scenario_free(sc);
    if (rc >= 0)
        return rc;
    free(r.hashes);
    int verdict = report(&r, NULL);
    rc = compare_replay(&rec, &r);
    return rc >= 0 ? rc : verdict;
}

static int report(const sim_result *rp, const char *db_path)
{
    sim_result r = *rp;
    printf("%-28s %" PRIu64 "\n", "jobs published (PubAck)", r.jobs_published);
    printf("%-28s %" PRIu64 "\n", "publishes given up", r.publish_failures);
    printf("%-28s %" PRIu64 "\n", "jobs done", r.jobs_done);
    printf("%-28s %" PRIu64 "\n", "jobs failed (terminated)", r.jobs_failed);
    printf("%-28s %" PRIu64 "\n", "lost", r.lost);
    printf("%-28s %" PRIu64 "\n", "completed twice", r.double_completed);
    printf("%-28s %" PRIu64 "\n", "over attempts", r.over_attempts);
    printf("%-28s %" PRIu64 "\n", "stored twice (dedup)", r.dedup_failures);
    printf("%-28s %" PRIu64 "\n", "out of key order", r.order_failures);
    if (r.dead_lettered || r.not_dead_or_done) /* only scenarios with dead letters or the check */
        printf("%-28s %" PRIu64 " (neither done nor dead-lettered: %" PRIu64 ")\n", "dead-lettered",
               r.dead_lettered, r.not_dead_or_done);
    if (r.early)
        printf("%-28s %" PRIu64 "\n", "handled before due", r.early);
    printf("%-28s %.3f s\n", "virtual time", (double)r.end_ns / 1e9);
    printf("%-28s %" PRIu64 "\n", "events", r.events);
    printf("%-28s %016" PRIx64 "\n", "trace hash", r.trace_hash);
    if (db_path)
        printf("%-28s %s\n", "database", db_path);
    switch (r.verdict) {
    case SIM_PASS:
        printf("PASS\n");
        return SIM_EXIT_PASS;
    case SIM_SAFETY_VIOLATION:
        printf("FAIL (safety): %s\n", r.first_violation);
        return SIM_EXIT_SAFETY;
    default:
        printf("FAIL (liveness): %s\n", r.first_violation);
        return SIM_EXIT_LIVENESS;
    }
}

void sim_usage_brief(const char *usage)
{
    const char *end = strstr(usage, "\n\n");
    fwrite(usage, 1, end ? (size_t)(end - usage) + 1 : strlen(usage), stderr);
    const char *cmd = strncmp(usage, "usage: jetsim ", 14) == 0 ? usage + 14 : "";
    size_t n = strcspn(cmd, " \n");
    if (n > 0 && cmd[0] != '<' && cmd[0] != '[')
        fprintf(stderr, "(jetsim help %.*s for every option)\n", (int)n, cmd);
    else
        fputs("(jetsim --help for the commands)\n", stderr);
}
