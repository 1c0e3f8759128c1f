/* servers.h — nats-server processes that jetsim starts itself (`jetsim run
 * --spawn single|cluster`): one node, or a 3-node JetStream cluster, on
 * free 127.0.0.1 ports with a temporary directory for configs, stores and
 * logs; the real faults done to them (kill -9, SIGTERM, SIGSTOP/SIGCONT,
 * restart on the same port and store); and the promise that none of them
 * outlives jetsim:
 *   - each server runs in its own process group (a Ctrl-C on the terminal
 *     reaches jetsim only) with PR_SET_PDEATHSIG=SIGKILL, so it dies with
 *     jetsim even when jetsim is killed with kill -9;
 *   - sim_servers_trap_signals makes SIGINT, SIGTERM and SIGHUP kill every
 *     server at once and raise sim_servers_interrupted() (a third signal
 *     exits on the spot); the caller then
 *     stops what it does and calls sim_servers_stop, which also removes
 *     the temporary directory.
 *
 * The binary: $NATS_SERVER_BIN, else `nats-server` on PATH, else
 * /usr/sbin/nats-server, /usr/local/bin/nats-server. A node is ready when
 * its monitoring port answers /healthz with ok (in a cluster: JetStream is
 * up and a meta leader is elected).
 *
 * Not: Docker (ci/nats-server.sh does that for the tests), TLS, accounts.
 * Not thread-safe: one thread drives a sim_servers.
 */
#ifndef SIM_SERVERS_H
#define SIM_SERVERS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ps_status.h"

#define SIM_SERVERS_MAX 3

typedef struct sim_servers sim_servers;

/* Starts `nodes` servers (1, or 3 for a cluster) and waits up to 20 s for
 * all to be ready. Progress lines go to `log` (may be NULL). Errors:
 * PS_ERR_UNAVAILABLE (no nats-server binary), PS_ERR_IO (a node did not
 * start: the message quotes its log's last line), PS_ERR_INVALID_ARG. */
ps_status sim_servers_start(sim_servers **out, int nodes, FILE *log);

int sim_servers_count(const sim_servers *s);

/* Client port of node i (0-based), and a "nats://127.0.0.1:PORT" URL. */
int sim_servers_port(const sim_servers *s, int node);
const char *sim_servers_url(const sim_servers *s, int node);

/* Sends `sig` (SIGKILL or SIGTERM) to node i and waits for it to exit (a
 * SIGTERM that is not obeyed within 10 s becomes SIGKILL). The port and
 * the store stay for sim_servers_restart. A node already down: PS_OK. */
ps_status sim_servers_kill(sim_servers *s, int node, int sig);

/* Starts node i again on its port with its store, and waits until it is
 * ready (up to 20 s). A node that is running: PS_OK, nothing done. */
ps_status sim_servers_restart(sim_servers *s, int node);

/* Waits (up to 20 s) until every running node answers /healthz ok. Once
 * streams and consumers exist, a 2.9 node says ok only when the ones it
 * holds are current (a replica caught up, a leader known), so this is
 * how a run knows a new cluster can take its workload. Errors:
 * PS_ERR_TIMEOUT (the message quotes the last answer), PS_ERR_IO. */
ps_status sim_servers_wait_healthy(sim_servers *s);

/* SIGSTOP (pause true) or SIGCONT (false) to node i. */
ps_status sim_servers_pause(sim_servers *s, int node, bool pause);

/* The node that leads `stream` right now, from the nodes' /jsz pages;
 * -1 if none answers (e.g. during an election). */
int sim_servers_leader(sim_servers *s, const char *stream);

/* Stops every node (SIGCONT, SIGTERM, then SIGKILL after 5 s), waits for
 * them, removes the temporary directory, frees. NULL is fine. */
void sim_servers_stop(sim_servers *s);

/* Installs handlers for SIGINT, SIGTERM and SIGHUP that SIGKILL every
 * running server and set the interrupted flag (a third signal exits
 * jetsim at once with 128+sig). */
void sim_servers_trap_signals(void);
bool sim_servers_interrupted(void);
/* Sleeps until CLOCK_MONOTONIC reads `mono_ns` or a trapped signal comes,
 * whichever is first (no polling: the handler wakes it through a pipe).
 * True when interrupted. Any thread may call it. */
bool sim_servers_sleep_until(int64_t mono_ns);

#endif
