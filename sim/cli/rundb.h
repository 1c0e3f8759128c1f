/* rundb.h — reading what a run database records (sim/master.h) for the
 * commands that tell a run to a person: jetsim explain (explain.c) and
 * jetsim report (htmlreport.c). One reader, so the story in words and the
 * page say the same of a fault and of a consumer's rows.
 *
 * Not: writing the database (sim/master.c), nor replaying a run (report.c).
 */
#ifndef SIM_RUNDB_H
#define SIM_RUNDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "scenario.h"

/* A row of the faults table, completed from the scenario the run recorded. */
typedef struct sim_rundb_fault {
    int kind, line;
    int64_t at_ns, dur_ns, worker;
    int64_t node;    /* from the scenario: 0 the default server, -1 the stream leader, else 1-based */
    double pct;
    char words[160]; /* as its line has it, but P% and "for" (sim_fault_words); "" when not found */
} sim_rundb_fault;

/* Opens the run database at `path` read-only for the command `who`
 * ("jetsim explain"), once the path is seen to be a file and to have the
 * schema this jetsim writes (its newest column). false: it said why on
 * stderr, the same words for every command ("no such file", "is a
 * directory", "cannot read", "cannot open", "not a run database of this
 * jetsim"), and *out is NULL. */
bool sim_rundb_open(sqlite3 **out, const char *who, const char *path);

/* Says on stderr, for `who`, that `path` is not a run database of this
 * jetsim (the reason: db's last error, when db is not NULL). */
void sim_rundb_not_ours(const char *who, const char *path, sqlite3 *db);

/* Column `col` of the current row as text into out (cap bytes); "" for NULL. */
void sim_rundb_text(sqlite3_stmt *st, int col, char *out, size_t cap);

/* The faults table in time order into *out (*n of them; the caller
 * frees *out). false: the table cannot be read, or out of memory
 * (*oom set; then *out holds what was read). */
bool sim_rundb_faults(sqlite3 *db, sim_rundb_fault **out, int *n, bool *oom);

/* Fills each fault's words and node from `sc`, the scenario recorded in
 * the run, matched by line and kind (the faults table keeps no restart
 * mode, service, delay or node). NULL sc leaves them as the table has. */
void sim_rundb_name_faults(const sim_scenario *sc, sim_rundb_fault *f, int n);

/* "drop acks 5% for 30.000 s", "restart server graceful": the fault as
 * its line has it with the values the run drew, or what the table has
 * when its line was not found. Returns buf. */
const char *sim_rundb_fault_words(const sim_rundb_fault *f, char *buf, size_t cap);

/* Rows of the jobs table whose consumer is not owed the job (its stream
 * or filter does not take the job's subject: a consumer with a filter gets
 * a row of every job, owed or not), as the engine recorded them
 * (jobs.for_consumer). explain and report leave such rows out, as the
 * checkers do. sim_rundb_not_for: out[row] = 1 for each of rows 1..rows
 * (out has rows + 1 bytes, zeroed by the caller); false when the jobs
 * table cannot be read. sim_rundb_row_not_for: one row's answer (false
 * when it cannot be read). */
bool sim_rundb_not_for(sqlite3 *db, int64_t rows, uint8_t *out);
bool sim_rundb_row_not_for(sqlite3 *db, int64_t row);

#endif
