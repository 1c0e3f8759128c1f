/* proxy.h — a loopback TCP proxy that jetsim puts between the NATS client
 * (cnats) and one nats-server, to make network faults real: cut every
 * connection (and refuse new ones), drop everything (nothing flows and
 * nothing closes, as on a network that loses every packet), or delay every
 * chunk. One thread per proxy, poll()-based, serves all its connections.
 *
 * Not: a general proxy (127.0.0.1 only, one target, bytes are bytes: no
 * NATS or TLS awareness), and not the schedule of faults (real.c decides
 * when). It reads the system clock for delays: it sits outside the
 * simulation, on the real network.
 */
#ifndef SIM_PROXY_H
#define SIM_PROXY_H

#include <stdint.h>

#include "ps_status.h"

typedef struct sim_proxy sim_proxy;

/* Listens on 127.0.0.1 at a free port (bind to port 0) and forwards every
 * accepted connection to 127.0.0.1:target_port, both directions, from a
 * thread of its own. A connection whose upstream cannot be reached (the
 * server is down or restarting) is closed on the client side at once: the
 * client reconnects. If the client or the server closes its side, what it
 * sent still flows (after any delay or blackhole), then the pair is closed.
 * Writes *out only on success; free with sim_proxy_stop. Returns
 * PS_ERR_INVALID_ARG for a NULL out or a port outside 1..65535,
 * PS_ERR_NO_MEMORY, or PS_ERR_IO when no socket or thread can be had. */
ps_status sim_proxy_start(sim_proxy **out, int target_port);

/* The port clients connect to (-1 for NULL). Any thread. */
int sim_proxy_port(const sim_proxy *p);

/* The fault calls below take effect in the proxy's thread shortly after
 * they return; each replaces the previous mode. All may be called from
 * any thread. They return PS_OK, or PS_ERR_INVALID_ARG for a NULL proxy
 * or a negative delay. */

/* Closes every forwarded connection now (both sides, dropping what they
 * held) and, until sim_proxy_heal, accepts new ones and closes them at
 * once. */
ps_status sim_proxy_cut(sim_proxy *p);

/* Forwards nothing in either direction and closes nothing. What is read
 * meanwhile is held, up to 4 MiB per direction of each connection; past
 * that the proxy stops reading that socket (TCP flow control pushes back
 * on the sender). Held bytes flow, in order, after sim_proxy_heal. */
ps_status sim_proxy_blackhole(sim_proxy *p);

/* Writes every chunk out no earlier than delay_ns after it was read,
 * keeping the order of each direction. 0 means no delay. Chunks read
 * before the call keep the delay they were read under. */
ps_status sim_proxy_delay(sim_proxy *p, int64_t delay_ns);

/* Back to plain forwarding with no delay; held bytes flow. */
ps_status sim_proxy_heal(sim_proxy *p);

/* Counters since start: connections accepted (including those closed at
 * once by a cut or a failed upstream connect), connections closed by a
 * cut (open ones and refused ones), and bytes written to the server (up)
 * and to the client (down). Any thread. */
typedef struct sim_proxy_stats {
    uint64_t accepted, cut, bytes_up, bytes_down;
} sim_proxy_stats;
void sim_proxy_stats_get(const sim_proxy *p, sim_proxy_stats *out); /* all 0 for a NULL p */

/* Closes every connection and the listener, joins the thread, frees.
 * NULL is fine. Not to be called concurrently with the calls above on the
 * same proxy. */
void sim_proxy_stop(sim_proxy *p);

#endif
