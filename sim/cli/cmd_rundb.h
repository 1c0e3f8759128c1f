/* cmd_rundb.h — the jetsim commands that look at a run after it: `jetsim
 * replay`, `explain` and `report` read a run database (jetsim run --db);
 * `jetsim shrink` makes a failing seed's scenario small. main.c
 * dispatches to them. Internal to the command line.
 *
 * Not: the work itself (report.h, explain.h, htmlreport.h, shrink.h).
 */
#ifndef SIM_CLI_CMD_RUNDB_H
#define SIM_CLI_CMD_RUNDB_H

/* Each runs its command with argv[0] the command's name and the rest its
 * arguments, as the user gave them (replay and shrink: with --handlers
 * already taken out, handlers.h). --help prints the command's usage on
 * stdout and returns 0; a usage error goes to stderr (args.h) and returns
 * 2; otherwise the command's exit code (report.h). */
int cli_replay_main(int argc, char **argv);
int cli_explain_main(int argc, char **argv);
int cli_report_main(int argc, char **argv);
int cli_shrink_main(int argc, char **argv);

#endif
