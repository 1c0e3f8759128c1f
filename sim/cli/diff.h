/* diff.h — `jetsim diff`: one scenario and seed run on the memory model
 * and on a real nats-server, and the two histories compared under one
 * equivalence rule, read from the two master databases:
 *
 *   1. the acknowledged set: the jobs whose publish got a PubAck;
 *   2. final job states: every master row's state and completion count;
 *   3. the delivery-count histogram: how many jobs were delivered at most
 *      once, twice, ... (the highest num_delivered seen per row);
 *   4. per-key order, when the scenario expects per_key_order: the jobs of
 *      each key in completion order.
 *
 * Timing is not compared (the real server runs in scaled real time), nor
 * which worker handled what. A fault-free scenario must match on all four;
 * with faults the model and the server may part, and the first divergence
 * of each rule is reported.
 *
 * Not: the runs themselves (engine.h) nor a spawner (servers.h).
 */
#ifndef SIM_DIFF_H
#define SIM_DIFF_H

#include <stdio.h>

#include "engine.h"

/* Compares two run databases under the rule above; prints each rule's
 * outcome to `out`. Returns the number of rules that diverge, or -1 when
 * a database cannot be read (ps_last_error() says why). */
int sim_diff_dbs(const char *model_db, const char *server_db, const sim_scenario *sc, FILE *out);

/* The rules above, in that order. */
#define SIM_DIFF_RULES 4

/* One rule's outcome, for a report besides the printed lines (CI). */
typedef struct sim_diff_rule_result {
    const char *name; /* "acknowledged set", ... */
    int outcome;      /* 0 the same, 1 diverged, -1 not compared (or not reached: a database unreadable) */
    char detail[400]; /* the line printed for it, without the name */
} sim_diff_rule_result;

/* sim_diff_dbs, also filling res[0..SIM_DIFF_RULES-1]. */
int sim_diff_dbs_rules(const char *model_db, const char *server_db, const sim_scenario *sc, FILE *out,
                       sim_diff_rule_result res[SIM_DIFF_RULES]);

#endif
