/* proxy.h — a loopback TCP proxy between the NATS client and one
 * nats-server, which jetsim controls to make network faults real: cut
 * every connection (and refuse new ones), drop everything (nothing flows,
 * nothing closes, as on a network that loses every packet), or delay every
 * chunk. One thread per proxy, poll()-based, for all its connections.
 *
 * Not: a general proxy (127.0.0.1 only, no TLS awareness: bytes are bytes).
 */
#ifndef SIM_PROXY_H
#define SIM_PROXY_H

#include <stdint.h>

#include "ps_status.h"

typedef struct sim_proxy sim_proxy;

/* Listens on 127.0.0.1 at a free port and forwards each connection to
 * 127.0.0.1:target_port, both ways. A connection whose upstream cannot be
 * reached (the server is down) is closed at once: the client reconnects.
 * PS_ERR_IO when no socket or thread can be had. */
ps_status sim_proxy_start(sim_proxy **out, int target_port);

/* The port clients connect to. */
int sim_proxy_port(const sim_proxy *p);

/* Closes every forwarded connection now, and until sim_proxy_heal accepts
 * and closes new ones. Thread-safe, like the calls below. */
ps_status sim_proxy_cut(sim_proxy *p);

/* Forwards nothing either way and closes nothing; what is read meanwhile
 * is held (up to 4 MiB per direction, then reading stops) and flows after
 * sim_proxy_heal. */
ps_status sim_proxy_blackhole(sim_proxy *p);

/* Holds every chunk read for delay_ns before writing it on (order kept). */
ps_status sim_proxy_delay(sim_proxy *p, int64_t delay_ns);

/* Back to plain forwarding; held bytes flow. */
ps_status sim_proxy_heal(sim_proxy *p);

typedef struct sim_proxy_stats {
    uint64_t accepted, cut, bytes_up, bytes_down;
} sim_proxy_stats;
void sim_proxy_stats_get(sim_proxy *p, sim_proxy_stats *out);

/* Closes everything, joins the thread, frees. NULL is fine. */
void sim_proxy_stop(sim_proxy *p);

#endif
