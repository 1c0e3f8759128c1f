/* htmlreport.h — `jetsim report RUN.db --html FILE`: one self-contained
 * HTML page of a run, from its run database (jetsim run --db), for a
 * person to open in a browser or attach to a CI build: no network, no
 * external script, font or image, no script at all (links and CSS
 * :target do the navigation, SVG <title> the hovering).
 *
 * The page, top to bottom: the verdict and the first violation; a summary
 * (seed, fault mix, target, jobs by final state, trace rows, the failing
 * job with a link to it); a timeline with a lane for the publishers, one
 * per worker, one per server node and one for the databases, each fault
 * shaded across the lanes it hits (node faults on the node's lane), the
 * density of every lane's events drawn behind, and each delivery of a
 * listed job a mark linking to that job's row; the faults as a table; the
 * jobs as a table, a row per job (and consumer) with its steps in order.
 * The failing job (run.first_bad_job) is highlighted and its row has
 * id="failing-job"; other rows have id="job-N" (id="job-N-cC" for
 * consumer C > 1 when the scenario has several).
 *
 * Size: a run of thousands of jobs lists only the jobs worth reading
 * (the failing one, then those not done, done more than once, or tried
 * more than once; at most HTML_JOBS_LISTED rows) and marks at most
 * HTML_MARKS_MAX deliveries; the page says what it left out. A
 * 20,000-job run's page stays well under 5 MB (tests/cli/html_report.sh).
 *
 * Not: the run (engine.h), nor the story in words (explain.h).
 */
#ifndef SIM_HTMLREPORT_H
#define SIM_HTMLREPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scenario.h"

/* Rows of the jobs table, at most; a run with more lists a selection. */
#define HTML_JOBS_LISTED 2000
/* Delivery marks on the timeline, at most (the failing job's always). */
#define HTML_MARKS_MAX 4000

/* Writes the page of the run database `db_path` to `html_path`
 * (replaced). Exit codes (report.h): 0 written, 2 bad input (not a run
 * database of this jetsim), 4 harness error (the file cannot be written,
 * out of memory); the reason goes to stderr, as jetsim report's. */
int sim_html_report(const char *db_path, const char *html_path);

/* For swarm --reports: runs the scenario `sc`, loaded from the file
 * `path` (its text is recorded in the run database), with `seed` and the
 * seed's fault mix on the model, as swarm ran it, into DIR/seed-N.db,
 * then writes DIR/seed-N.html from it. The page's path goes into out
 * (cap bytes). 0 written, else an exit code as above (said on stderr). */
int sim_html_report_seed(const sim_scenario *sc, const char *path, uint64_t seed, const char *dir, char *out,
                         size_t cap);

/* For diff --reports: the two run databases diff kept in `dir`
 * (model.db, server.db) of seed `seed` become DIR/seed-N.html (the
 * server's run) and DIR/seed-N-model.html; prints their paths. 0
 * written, else an exit code as above. */
int sim_html_report_diff(const char *dir, uint64_t seed);

#endif
