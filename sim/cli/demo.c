/* demo.c — `jetsim demo` (see demo.h): the built-in scenario, run on the
 * engine like any scenario file.
 */
#include "demo.h"

#include <inttypes.h>
#include <stdio.h>

#include "report.h"

int demo_scenario(char *buf, size_t cap, long jobs)
{
    return snprintf(buf, cap,
                    "# jetsim demo: %ld jobs through a work queue, with lost PubAcks, failing\n"
                    "# handlers and lost acks\n"
                    "stream   JOBS subjects=jobs.> retention=workqueue storage=file\n"
                    "consumer JOBS WORKERS ack_wait=30s backoff=30s,1m,2m,5m max_deliver=5\n"
                    "publish  jobs.created rate=10000/s count=%ld msg_id=job retry=5 retry_wait=100ms\n"
                    "workers  4 batch=25 handle=1ms..5ms fail=10%% idempotent=yes\n"
                    "at 0s lose pubacks 5%% for 30s\n"
                    "at 0s drop acks 1%% for 30s\n"
                    "expect no_loss no_double_completion dedup attempts<=5 drained_within=1h\n",
                    jobs, jobs);
}

int demo_run(long jobs, uint64_t seed)
{
    char text[1024];
    demo_scenario(text, sizeof text, jobs);
    printf("jetsim demo: seed %" PRIu64 ", the scenario (save it as a .scn file to change it and `jetsim run` "
           "it):\n\n%s\n",
           seed, text);
    return sim_report_run_text("demo", text, seed, NULL);
}
