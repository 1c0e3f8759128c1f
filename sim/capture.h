/* capture.h — `jetsim capture`: reads a live stream's messages (subjects,
 * headers, payload sizes, the time between them) into a workload file
 * (workload.h) that a scenario's `replay` statement publishes again, on the
 * model or on a real server. Reading is by direct get of each sequence, so
 * no consumer is created and nothing is acknowledged or removed.
 *
 * Not: replaying (sim/publishers.c).
 */
#ifndef SIM_CAPTURE_H
#define SIM_CAPTURE_H

#include <stdint.h>
#include <stdio.h>

#include "ps_backend.h"
#include "workload.h"

/* Reads up to max_msgs (0: all) of `stream`'s messages, first to last
 * sequence, skipping deleted ones, into *out (free with
 * sim_workload_free). *first and *last get the sequences read. */
ps_status sim_capture(ps_backend *b, const char *stream, uint64_t max_msgs, sim_workload *out, uint64_t *first,
                      uint64_t *last);

/* The command: `jetsim capture STREAM [--url URL] [--out FILE] [--max N]`
 * (argv[0] is "capture"). Exit 0 written, 2 bad usage or no server. */
int sim_capture_main(int argc, char **argv);

#endif
