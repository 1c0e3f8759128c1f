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

#endif
