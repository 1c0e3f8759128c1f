/* difftest.h — the differential tester: random operation sequences over
 * the pubsub contract, run on the memory backend and on a real nats-server,
 * their results compared line by line (issue 11).
 *
 * Three modules: dt_seq.c (an operation, its one-line text form, the
 * seeded generator), dt_exec.c (runs a sequence on a backend and writes
 * one normalised result line per operation), difftest.c (the command:
 * seeds, diffing, server-nondeterminism check, shrinking, replay).
 *
 * Not: a conformance test. It checks that the two backends agree, not
 * what either should answer; the server is the truth when they differ.
 */
#ifndef DIFFTEST_H
#define DIFFTEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ps_backend.h"
#include "ps_clock.h"

typedef enum dt_kind {
    DT_STREAM_ADD = 0,
    DT_STREAM_UPDATE,
    DT_STREAM_DELETE,
    DT_STREAM_INFO,
    DT_PUBLISH,
    DT_PURGE,
    DT_MSG_DELETE,
    DT_MSG_GET,
    DT_CONSUMER_ADD,
    DT_CONSUMER_INFO,
    DT_CONSUMER_DELETE,
    DT_FETCH,
    DT_ACK,
    DT_WAIT, /* timed mode: sleep on the server, advance the manual clock */
    DT_PULL_START, /* an asynchronous pull (ps_pull_start) into a pull slot */
    DT_PULL_POLL,  /* what a pull slot's pull got and whether it ended */
    DT_KIND_COUNT
} dt_kind;

#define DT_STR 48
#define DT_STREAMS 2   /* stream names DA, DB */
#define DT_SLOTS 4     /* consumer handle slots */
#define DT_PULLS 4     /* asynchronous pull slots */

/* One operation. Every field is a small number or a short string without
 * spaces, so that the text form is `kind key=value ...` listing the fields
 * that are not zero; what a field means depends on the kind (difftest.c's
 * usage text and dt_seq.c's generator say which kind uses which). */
typedef struct dt_op {
    dt_kind kind;
    int64_t st;                  /* stream index */
    char subjects[DT_STR];       /* stream subjects, comma-separated */
    int64_t ret, sto, disc, dnps, mmsgs, mbytes, mage_ms, mmps, msize, mcons, dup_ms;
    int64_t sealed, ddel, dpur, rollup;
    char subj[DT_STR];           /* publish subject, filter, get-last subject */
    int64_t size, id, es, els, elss, elid; /* publish: msg id and expectations (value+1; 0 none) */
    int64_t cs, dur, dp, oss, ost, ap, aw_ms, md, mack, mwait, mrb, hdro, inact_ms;
    char bo[DT_STR];             /* backoff steps in ms, comma-separated */
    int64_t batch, exp_ms, nw, mb; /* fetch */
    int64_t m, ack, delay_ms;    /* ack: held message index, kind, nak delay */
    int64_t seq, keep, erase;    /* purge, msg delete, msg get */
    int64_t ms;                  /* wait */
    int64_t ps;                  /* pull start and poll: the pull slot */
    int64_t rs;                  /* ack: sent whatever was sent before (ps_ack_send) */
} dt_op;

typedef struct dt_seq {
    dt_op *ops;
    int n, cap;
} dt_seq;

/* ---- dt_seq.c ---- */

/* Generates the sequence of `seed` into `out` (cleared first); timed mode
 * adds waits and short timers (with >= 200 ms between timers). */
int dt_generate(dt_seq *out, uint64_t seed, bool timed, int max_ops);

/* Writes op as one line (no newline) into buf. */
void dt_op_format(const dt_op *op, char *buf, size_t cap);

/* Parses a line written by dt_op_format; -1 with a message on stderr. */
int dt_op_parse(const char *line, dt_op *out);

int dt_seq_push(dt_seq *s, const dt_op *op);
void dt_seq_free(dt_seq *s);
/* Writes `# comment` (when not NULL), `# mode: timed` or `# mode: untimed`,
 * then one op a line. */
int dt_seq_write(const dt_seq *s, const char *path, bool timed, const char *comment);

/* Reads a file dt_seq_write wrote (lines starting with '#' are comments).
 * *timed is the mode its `# mode:` line gives (1 timed, 0 untimed), -1
 * when it has none; a second mode line that contradicts the first, or one
 * naming another mode, is an error. -1 with a message on stderr. */
int dt_seq_read(dt_seq *s, const char *path, int *timed);

/* ---- dt_exec.c ---- */

typedef struct dt_transcript {
    char **lines;
    int n;
} dt_transcript;

void dt_transcript_free(dt_transcript *t);

/* Runs `seq` on a fresh memory backend on a manual clock. With `at_ns`
 * (timed mode), the clock is set to start + at_ns[i] before op i: the
 * model sees each operation at the instant the server saw it. */
int dt_run_memory(const dt_seq *seq, const int64_t *at_ns, dt_transcript *out);

/* Runs `seq` on the server behind `b` (a JetStream backend), after
 * deleting the streams a sequence uses, so each run starts clean. With
 * `at_ns` (seq->n entries), records when each op started, in ns since the
 * first. */
int dt_run_server(ps_backend *b, const dt_seq *seq, int64_t *at_ns, dt_transcript *out);

#endif
