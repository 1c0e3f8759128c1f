/* real.h — a real nats-server as a run target (engine.h, sim_target_ops):
 * one jetsim spawned (then server faults are made real: kill -9, SIGTERM,
 * SIGSTOP) or an existing one named by URL. Network faults go through a
 * loopback proxy per node. Durations the server sees (AckWait, BackOff,
 * the dedup window, MaxAge) and the run's own pace are divided by
 * `time_scale` (>= 1; 10 runs AckWait 30 s as 3 s).
 *
 * On a server jetsim did not spawn, a run deletes at its end the streams
 * it created and nothing else: it refuses to start when a stream of the
 * scenario exists, and a stream it did not create is never deleted. The
 * URL appears in the run database, the log and errors with any password
 * or token masked (ps_url.h).
 *
 * Not: the engine, nor the spawning of servers (servers.h).
 */
#ifndef SIM_REAL_H
#define SIM_REAL_H

#include "engine.h"

typedef struct sim_servers sim_servers;
typedef struct sim_credentials sim_credentials;

typedef struct sim_real_options {
    const char *url;              /* an existing server; NULL with `servers` */
    sim_servers *servers;         /* spawned by jetsim (servers.h), or NULL; not owned */
    double time_scale;            /* virtual seconds per real second; < 1 means 1 */
    const sim_credentials *creds; /* authentication and TLS for `url` (credentials.h); NULL: none */
    const char *ns;               /* the namespace the CLI put the scenario in (NULL: none); recorded
                                   * with the backend, not applied (sim_scenario_namespace does that) */
    const char *replay_cmd;       /* the command that reruns a run (recorded for `jetsim replay`); may be NULL */
} sim_real_options;

/* A target on the server `o` names. The strings and objects `o` points to
 * must outlive the target. PS_ERR_INVALID_ARG without a URL or servers.
 * Its open refuses a scenario with faults it cannot make real: server
 * faults without spawned servers, network faults without a loopback
 * server, node=N beyond the servers that run (PS_ERR_INVALID_ARG naming
 * the line). Free with sim_target_free. */
ps_status sim_target_real_new(sim_target **out, const sim_real_options *o);

#endif
