/* rundb.c — reading a run database for explain and report (rundb.h). */
#include "rundb.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


bool sim_rundb_open(sqlite3 **out, const char *who, const char *path)
{
    struct stat sb;
    *out = NULL;
    /* SQLite's own words for these ("unable to open database file", "disk
     * I/O error") do not say what is wrong with the path */
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT)
            fprintf(stderr, "%s: %s: no such file (`jetsim run --db FILE` writes a run database)\n", who, path);
        else
            fprintf(stderr, "%s: %s: cannot read: %s\n", who, path, strerror(errno));
        return false;
    }
    if (S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "%s: %s: is a directory, not a run database\n", who, path);
        return false;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s: cannot open: %s\n", who, path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return false;
    }
    /* The newest column the readers need: a database of an older jetsim
     * is refused here, before anything is printed, not half-way through a
     * story. */
    sqlite3_stmt *probe = NULL;
    if (sqlite3_prepare_v2(db, "SELECT for_consumer FROM jobs LIMIT 0", -1, &probe, NULL) != SQLITE_OK) {
        sim_rundb_not_ours(who, path, db);
        sqlite3_close(db);
        return false;
    }
    sqlite3_finalize(probe);
    *out = db;
    return true;
}

void sim_rundb_not_ours(const char *who, const char *path, sqlite3 *db)
{
    fprintf(stderr, "%s: %s: not a run database of this jetsim (%s); `jetsim run --db FILE` writes one\n", who, path,
            db ? sqlite3_errmsg(db) : "it cannot be read");
}

void sim_rundb_text(sqlite3_stmt *st, int col, char *out, size_t cap)
{
    const unsigned char *v = sqlite3_column_text(st, col);
    snprintf(out, cap, "%s", v ? (const char *)v : "");
}

bool sim_rundb_faults(sqlite3 *db, sim_rundb_fault **out, int *n, bool *oom)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT kind, at_ns, duration_ns, coalesce(worker, 0), coalesce(pct, 0),"
                               " coalesce(line, 0) FROM faults ORDER BY at_ns, fault", -1, &st, NULL) != SQLITE_OK)
        return false;
    bool ok = true;
    while (ok && sqlite3_step(st) == SQLITE_ROW) {
        sim_rundb_fault *f = realloc(*out, (size_t)(*n + 1) * sizeof *f);
        if (!f) {
            ok = false;
            *oom = true;
            break;
        }
        *out = f;
        (*out)[(*n)++] = (sim_rundb_fault){.kind = sqlite3_column_int(st, 0), .line = sqlite3_column_int(st, 5),
                                           .at_ns = sqlite3_column_int64(st, 1),
                                           .dur_ns = sqlite3_column_int64(st, 2),
                                           .worker = sqlite3_column_int64(st, 3),
                                           .pct = sqlite3_column_double(st, 4)};
    }
    sqlite3_finalize(st);
    return ok;
}

void sim_rundb_name_faults(const sim_scenario *sc, sim_rundb_fault *f, int n)
{
    for (int k = 0; sc && k < n; k++)
        for (int i = 0; i < sc->nfaults; i++)
            if (sc->faults[i].pos.line == f[k].line && (int)sc->faults[i].kind == f[k].kind) {
                f[k].node = sc->faults[i].node;
                sim_fault_words(sc, &sc->faults[i], false, f[k].words, sizeof f[k].words);
            }
}

static void add(char *buf, size_t cap, int *n, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Appends to buf at *n (snprintf's way: once *n reaches cap nothing more goes). */
static void add(char *buf, size_t cap, int *n, const char *fmt, ...)
{
    if (*n < 0 || (size_t)*n >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    *n += vsnprintf(buf + *n, cap - (size_t)*n, fmt, ap);
    va_end(ap);
}

const char *sim_rundb_fault_words(const sim_rundb_fault *f, char *buf, size_t cap)
{
    const sim_fault_info *fi = sim_fault_info_of((sim_fault_kind)f->kind);
    int n = 0;
    if (cap)
        buf[0] = '\0';
    if (f->words[0]) {
        add(buf, cap, &n, "%s", f->words); /* the worker, the node and the rest, as written */
    } else if (!fi) {
        add(buf, cap, &n, "fault kind %d", f->kind);
    } else { /* a scenario text that no longer parses: what the faults table has */
        add(buf, cap, &n, "%s", fi->name);
        if (fi->args & SIM_FARG_WORKER)
            add(buf, cap, &n, " %" PRId64, f->worker);
        if (fi->args & SIM_FARG_AFTER_COMMIT)
            add(buf, cap, &n, " after_commit");
        if (fi->args & SIM_FARG_BEFORE_HANDLE)
            add(buf, cap, &n, " before_handle");
        if ((fi->args & SIM_FARG_NODE) && f->node < 0)
            add(buf, cap, &n, " node=leader");
        else if ((fi->args & SIM_FARG_NODE) && f->node > 0)
            add(buf, cap, &n, " node=%" PRId64, f->node);
    }
    if (f->pct > 0)
        add(buf, cap, &n, " %g%%", f->pct);
    if (f->dur_ns > 0)
        add(buf, cap, &n, " for %.3f s", (double)f->dur_ns / 1e9);
    return buf;
}

/* The engine records it when it adds the rows (jobs.for_consumer). */
bool sim_rundb_not_for(sqlite3 *db, int64_t rows, uint8_t *out)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT id FROM jobs WHERE for_consumer = 0", -1, &st, NULL) != SQLITE_OK)
        return false;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t row = sqlite3_column_int64(st, 0);
        if (row >= 1 && row <= rows)
            out[row] = 1;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE;
}

bool sim_rundb_row_not_for(sqlite3 *db, int64_t row)
{
    sqlite3_stmt *st = NULL;
    bool not_for = false;
    if (sqlite3_prepare_v2(db, "SELECT for_consumer = 0 FROM jobs WHERE id = ?1", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, row);
        not_for = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
    }
    sqlite3_finalize(st);
    return not_for;
}
