/* diff.c — the equivalence rule of `jetsim diff` over two run databases
 * (diff.h). Each rule is one SQL query run on both databases; the two
 * result lists are compared row by row and the first difference named.
 */
#include "diff.h"
#include "ps_backend_impl.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* A query's rows, each a few integers. */
typedef struct rows {
    int64_t *v;
    size_t n, cols, cap;
} rows;

static int fetch(sqlite3 *db, const char *sql, rows *out)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        ps_error(PS_ERR_IO, 0, "diff: %s", sqlite3_errmsg(db));
        return -1;
    }
    out->cols = (size_t)sqlite3_column_count(st);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((out->n + 1) * out->cols > out->cap) {
            size_t ncap = out->cap ? out->cap * 2 : 1024;
            while (ncap < (out->n + 1) * out->cols)
                ncap *= 2;
            int64_t *nv = realloc(out->v, ncap * sizeof *nv);
            if (!nv)
                break;
            out->v = nv;
            out->cap = ncap;
        }
        for (size_t c = 0; c < out->cols; c++)
            out->v[out->n * out->cols + c] = sqlite3_column_type(st, (int)c) == SQLITE_NULL
                                                 ? -1
                                                 : sqlite3_column_int64(st, (int)c);
        out->n++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        ps_error(PS_ERR_IO, 0, "diff: reading rows: %s", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

static void row_text(const rows *r, size_t i, char *buf, size_t cap)
{
    if (i >= r->n) {
        snprintf(buf, cap, "(nothing)");
        return;
    }
    size_t off = 0;
    for (size_t c = 0; c < r->cols && off < cap; c++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%" PRId64, c ? " " : "", r->v[i * r->cols + c]);
}

typedef struct rule {
    const char *name, *columns, *sql;
} rule;

static const rule rules[] = {
    {"acknowledged set", "job", "SELECT DISTINCT job FROM trace WHERE kind = 0 ORDER BY job"},
    {"final job states", "row state completions", "SELECT id, state, completions FROM jobs ORDER BY id"},
    {"delivery-count histogram", "deliveries jobs",
     "SELECT n, count(*) FROM (SELECT job, max(arg) AS n FROM trace WHERE kind = 2 GROUP BY job)"
     " GROUP BY n ORDER BY n"},
    {"per-key order", "key row", "SELECT key, id FROM jobs WHERE state = 2 AND key IS NOT NULL"
                                 " ORDER BY key, done_ns, id"},
};

/* Prints rule k's line and keeps it in res[k] (res may be NULL). */
static void say(FILE *out, sim_diff_rule_result *res, size_t k, int outcome, const char *line)
{
    fprintf(out, "  %-26s %s\n", rules[k].name, line);
    if (res) {
        res[k].outcome = outcome;
        snprintf(res[k].detail, sizeof res[k].detail, "%s", line);
    }
}

int sim_diff_dbs(const char *model_db, const char *server_db, const sim_scenario *sc, FILE *out)
{
    return sim_diff_dbs_rules(model_db, server_db, sc, out, NULL);
}

int sim_diff_dbs_rules(const char *model_db, const char *server_db, const sim_scenario *sc, FILE *out,
                       sim_diff_rule_result res[SIM_DIFF_RULES])
{
    sqlite3 *a = NULL, *b = NULL;
    for (size_t k = 0; res && k < SIM_DIFF_RULES; k++)
        res[k] = (sim_diff_rule_result){.name = rules[k].name, .outcome = -1, .detail = "not reached"};
    int diverged = 0;
    if (sqlite3_open_v2(model_db, &a, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_open_v2(server_db, &b, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        ps_error(PS_ERR_IO, 0, "diff: cannot open %s or %s", model_db, server_db);
        diverged = -1;
    }
    for (size_t k = 0; k < sizeof rules / sizeof rules[0] && diverged >= 0; k++) {
        if (k == 3 && !sc->expect.per_key_order) {
            say(out, res, k, -1, "not compared (the scenario does not expect per_key_order)");
            continue;
        }
        rows ra = {0}, rb = {0};
        if (fetch(a, rules[k].sql, &ra) || fetch(b, rules[k].sql, &rb)) {
            free(ra.v);
            free(rb.v);
            diverged = -1;
            break;
        }
        size_t i = 0, n = ra.n > rb.n ? ra.n : rb.n;
        while (i < n && i < ra.n && i < rb.n &&
               memcmp(&ra.v[i * ra.cols], &rb.v[i * rb.cols], ra.cols * sizeof(int64_t)) == 0)
            i++;
        char line[400];
        if (i == n && k == 2) { /* the histogram is short: show it */
            size_t off = (size_t)snprintf(line, sizeof line, "same:");
            for (size_t r = 0; r < ra.n && off < sizeof line; r++)
                off += (size_t)snprintf(line + off, sizeof line - off, " %" PRId64 " job(s) delivered %" PRId64 "x%s",
                                        ra.v[2 * r + 1], ra.v[2 * r], r + 1 < ra.n ? "," : "");
            say(out, res, k, 0, line);
        } else if (i == n) {
            snprintf(line, sizeof line, "same (%zu rows)", ra.n);
            say(out, res, k, 0, line);
        } else {
            char x[128], y[128];
            row_text(&ra, i, x, sizeof x);
            row_text(&rb, i, y, sizeof y);
            snprintf(line, sizeof line, "DIVERGE at row %zu (%s): model %s, server %s (%zu vs %zu rows)", i + 1,
                     rules[k].columns, x, y, ra.n, rb.n);
            say(out, res, k, 1, line);
            diverged++;
        }
        free(ra.v);
        free(rb.v);
    }
    sqlite3_close(a);
    sqlite3_close(b);
    return diverged;
}
