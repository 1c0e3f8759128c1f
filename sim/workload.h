/* workload.h — a recorded message stream for replay (`jetsim capture`
 * writes one; a scenario's `replay FILE` publishes it): subjects, payload
 * sizes, headers and the gaps between messages, not the payloads.
 *
 * The file is text, one message per line, `#` starts a comment:
 *
 *   # jetsim workload v1: captured from stream ORDERS at nats://... 2026-11-22T23:00:00Z
 *   # gap_us subject size [header-name=value ...]
 *   0 orders.created 312 Nats-Msg-Id=abc
 *   1520 orders.updated 98
 *
 * gap_us: microseconds since the previous message (the first: 0; gaps are
 * kept to the microsecond); size: payload bytes (at most 64 MiB); headers
 * as name=value words, any number. In the subject and in header words a
 * space, '=', '%', '#' or a byte outside printable ASCII is written %XX
 * (hex; %00 is refused), so that every literal NATS subject, UTF-8 ones
 * included, survives the file; the subject must then be literal
 * (non-empty tokens, no whitespace, no wildcards). Outside comments the
 * file is printable ASCII. Every malformed line is one error,
 * "file:line:col: expected ..., got '...'".
 *
 * A subject transform is written SRC=>DST (split at the first "=>"), e.g.
 * `orders.*=>replay.orders.$1` or `orders.>=>copy.>`: SRC is a subject
 * pattern ('*' tokens, a final '>'); DST a subject in which $1, $2 ...
 * stand for the tokens SRC's '*'s matched, in order, and a final '>' for
 * what SRC's '>' matched. The arrow is "=>" rather than a bare '>'
 * because '>' is itself a wildcard token ("orders.>>copy.>" would be
 * ambiguous).
 *
 * Not: capture itself (capture.h) nor publishing (sim/publishers.c).
 */
#ifndef SIM_WORKLOAD_H
#define SIM_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ps_status.h"

typedef struct sim_workload_msg {
    int64_t gap_ns;
    char *subject;
    uint32_t size;
    int nheaders;
    char **names, **values;
} sim_workload_msg;

typedef struct sim_workload {
    sim_workload_msg *msgs;
    size_t count;
} sim_workload;

/* Parses `len` bytes named `name` in errors. *out is filled on success
 * (free with sim_workload_free) and left empty on error. */
ps_status sim_workload_parse(sim_workload *out, const char *name, const char *text, size_t len);

/* Reads and parses a file; PS_ERR_IO naming it when it cannot be read. */
ps_status sim_workload_load(sim_workload *out, const char *path);

/* Writes the file form, `header_comment` (may be NULL; each of its lines
 * becomes a comment line) first. A message the parser would refuse (a
 * negative gap, a subject that is not literal, a header without a name)
 * is PS_ERR_INVALID_ARG naming it, and nothing is written; a stream error
 * is PS_ERR_IO. */
ps_status sim_workload_write(const sim_workload *w, FILE *f, const char *header_comment);

/* Frees what a workload holds and empties it; safe on an empty one. */
void sim_workload_free(sim_workload *w);

/* Appends one message (copies the strings). Not validated: the writer
 * checks. */
ps_status sim_workload_add(sim_workload *w, int64_t gap_ns, const char *subject, uint32_t size, int nheaders,
                           const char *const *names, const char *const *values);

/* PS_OK when `spec` is a valid SRC=>DST transform (message otherwise). */
ps_status sim_workload_transform_check(const char *spec);

/* The subject mapped by `spec` (malloc'd; the caller frees it), or NULL
 * with the reason in ps_last_error(): PS_ERR_INVALID_ARG when the subject
 * does not match SRC or the spec is bad, PS_ERR_NO_MEMORY. */
char *sim_workload_transform(const char *spec, const char *subject);

#endif
