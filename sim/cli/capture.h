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
 * sequence, skipping deleted ones (PS_ERR_MSG_NOT_FOUND from ps_msg_get),
 * into *out (free with sim_workload_free); each gap is to the previous
 * message kept, 0 where the stored time steps back. *first and *last get
 * the sequences read (0 for an empty stream). The out-parameters are
 * written only on success. Errors: ps_stream_info_get's and ps_msg_get's
 * (PS_ERR_STREAM_NOT_FOUND, PS_ERR_IO...), PS_ERR_INVALID_ARG for a
 * header block that does not parse, naming the sequence. */
ps_status sim_capture(ps_backend *b, const char *stream, uint64_t max_msgs, sim_workload *out, uint64_t *first,
                      uint64_t *last);

/* The command: `jetsim capture STREAM [--url URL] [--out FILE] [--max N]`
 * (argv[0] is "capture"). Exit 0 written, 2 bad usage or no server. */
int sim_capture_main(int argc, char **argv);

#endif
