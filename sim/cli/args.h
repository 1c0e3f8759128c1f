/* args.h — what the jetsim commands share in reading their arguments: the
 * usage-error message, --help, numbers, "--name VALUE" options, and the
 * options several commands take, checked one way for all of them:
 * --json/--junit, --reports DIR, where a scenario runs (--backend, --url,
 * --spawn, --time-scale, --namespace, credentials) and --queue URL.
 * Internal to the command line.
 *
 * Not: any command's own options or usage text (main.c, cmd_rundb.c,
 * cmd_swarm.c, capture.c), nor what a command does.
 */
#ifndef SIM_CLI_ARGS_H
#define SIM_CLI_ARGS_H

#include "ciout.h"
#include "credentials.h"
#include "dist.h"
#include "report.h"

/* Prints "jetsim: " and the message (`fmt` with `arg`) to stderr, then the
 * usage's synopsis and where the rest is (sim_usage_brief). Returns 2, the
 * exit code of bad input. */
int cli_usage_error(const char *usage, const char *fmt, const char *arg);

/* Whether `a` asks for help: --help or -h. */
int cli_is_help(const char *a);

/* Decimal (or 0x hex) without sign into [lo, hi]: 0, or -1 for anything
 * else (*out then untouched). */
int cli_parse_u64(const char *s, unsigned long long lo, unsigned long long hi, unsigned long long *out);

/* "--name VALUE" or "--name=VALUE": returns VALUE and advances *i, or NULL
 * when argv[*i] is not that option. *missing is set when the value is. */
const char *cli_option_value(int argc, char **argv, int *i, const char *name, int *missing);

/* --json and --junit: not both on stdout; with one on stdout, the rest
 * of the command's output moves to stderr (ciout.h). Nonzero: said. */
int cli_ci_outputs_check(const sim_ci_outputs *o, const char *usage, const char *cmd);

/* An option that names an output directory (swarm's and diff's
 * --reports, diff's --keep): DIR is made when missing, one level as
 * mkdir does (a missing parent is an error, said so); an existing DIR
 * must be a directory. NULL: not given, fine. Nonzero: said. */
int cli_output_dir(const char *dir, const char *cmd, const char *option);

/* --backend, --url, --spawn, --time-scale, --namespace and the credential
 * options of run and diff, into *w: 1 taken, 0 not these, -1 error
 * (already reported). */
int cli_where_option(int argc, char **argv, int *i, sim_where *w, const char *usage, const char *cmd);

/* What cli_where_option took, checked once every argument is read: --url
 * and --spawn imply jetstream; they exclude each other. Credentials are
 * for a server jetsim did not start; their files are read here. 0, or 2
 * (said). */
int cli_where_check(sim_where *w, const char *usage);

/* The checks every --queue command (swarm, agent) makes last: the URL,
 * then the credentials, loaded into d. 0, or the exit code of a usage
 * error. */
int cli_queue_ready(sim_dist_options *d, sim_credentials *creds, const char *usage, const char *cmd);

#endif
