/* ciout.h — the machine-readable outputs of `jetsim run`, `swarm` and
 * `diff` for CI: --json FILE (a summary as one JSON object) and --junit
 * FILE (JUnit XML: one testsuite; a testcase per seed or per compared
 * rule; a failure carries the violation and the command that replays it).
 * FILE "-" is stdout, and then everything the command prints for people
 * (its table, its log) goes to stderr instead, so that stdout is the one
 * document.
 *
 * Only writing helpers live here; each command decides what it reports.
 * Not: parsing options (args.h checks --json and --junit).
 */
#ifndef SIM_CIOUT_H
#define SIM_CIOUT_H

#include <stdbool.h>
#include <stdio.h>

/* The --json and --junit paths of one command (NULL: not asked). */
typedef struct sim_ci_outputs {
    const char *json;
    const char *junit;
} sim_ci_outputs;

/* Whether one of the outputs is stdout. */
bool ci_to_stdout(const sim_ci_outputs *o);

/* Keeps stdout for the document: what is printed to stdout from now on
 * goes to stderr, and ci_open("-") writes to the stdout the process had.
 * false (errno set) when the descriptors cannot be moved. */
bool ci_claim_stdout(void);

/* Opens `path` for writing ("-": stdout, the one ci_claim_stdout kept if
 * it was called). NULL with the reason printed to stderr as `who`'s. */
FILE *ci_open(const char *path, const char *who);

/* Closes what ci_open opened (flushes stdout); false, said on stderr as
 * `who`'s, when the write failed. */
bool ci_close(FILE *f, const char *path, const char *who);

/* `s` as a JSON string, quotes included (NULL: null). */
void ci_json_string(FILE *f, const char *s);

/* `s` escaped for XML text or a double-quoted attribute. */
void ci_xml(FILE *f, const char *s);

/* The opening of a JUnit document: one testsuite named `name` with its
 * counts and time in seconds. Close it with ci_junit_end. */
void ci_junit_begin(FILE *f, const char *name, unsigned long long tests, unsigned long long failures,
                    unsigned long long errors, unsigned long long skipped, double seconds);
void ci_junit_end(FILE *f);

/* One testcase; `failure` NULL for a pass, else its message (type
 * `type`), with `detail` (may be NULL) as the failure's text. */
void ci_junit_case(FILE *f, const char *classname, const char *name, const char *type, const char *failure,
                   const char *detail);

/* One testcase skipped, saying why. */
void ci_junit_skip(FILE *f, const char *classname, const char *name, const char *why);

#endif
