/* cmd_swarm.h — `jetsim swarm` (many seeds of a scenario, on this host or,
 * with --queue, on agents over JetStream) and `jetsim agent` (runs the
 * seeds of distributed swarms). main.c dispatches to them. Internal to
 * the command line.
 *
 * Not: the swarms themselves (swarm.h, dist.h).
 */
#ifndef SIM_CLI_CMD_SWARM_H
#define SIM_CLI_CMD_SWARM_H

/* Each runs its command with argv[0] the command's name and the rest its
 * arguments, as the user gave them (swarm: with --handlers already taken
 * out, handlers.h). --help prints the command's usage on stdout and
 * returns 0; a usage error goes to stderr (args.h) and returns 2;
 * otherwise the command's exit code (report.h). */
int cli_swarm_main(int argc, char **argv);
int cli_agent_main(int argc, char **argv);

#endif
