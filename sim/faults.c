/* faults.c — the scenario's `at TIME FAULT` lines made to happen: worker
 * crashes, partitions and slowness on the workers, message-level faults through the
 * fault shim, server restarts through the backend, database faults on the
 * master's writes. The run's target may carry a fault out itself (a
 * real server: kill -9, SIGSTOP, proxies); then this only traces it.
 *
 * Not: the shim itself (fault_shim.c).
 */
#include "engine_internal.h"

#include "fault_shim.h"

/* ---- faults ---------------------------------------------------------------------------- */

static const sim_shim_knob knob_of[SIM_FAULT_KIND_COUNT] = {
    [SIM_FAULT_DROP_ACKS] = SIM_SHIM_DROP_ACK, [SIM_FAULT_LOSE_PUBACKS] = SIM_SHIM_LOSE_PUBACK,
    [SIM_FAULT_DUPLICATE_PUBLISHES] = SIM_SHIM_DUP_PUBLISH, [SIM_FAULT_NAK_STORM] = SIM_SHIM_NAK_STORM,
    [SIM_FAULT_TERM_STORM] = SIM_SHIM_TERM_STORM};

void eng_on_fault(engine *e, int fi, bool end)
{
    const sim_fault *f = &e->sc->faults[fi];
    int64_t now = ps_clock_now(e->clock);
    worker *w = f->worker > 0 && f->worker <= e->nw ? &e->w[f->worker - 1] : NULL;
    if (!end)
        eng_trace(e, SIM_TR_FAULT, 0, (int)f->worker, f->kind);
    bool carried = e->t->ops->fault(e->t, fi, end); /* by the target: nothing more to do here */
    switch (f->kind) {
    case SIM_FAULT_CRASH_WORKER:
        if (w)
            eng_crash(e, w, now + (f->duration_ns ? f->duration_ns : PS_NS_PER_SEC));
        break;
    case SIM_FAULT_PARTITION_WORKER: /* the worker goes on; the broker does not hear it */
        if (w) {
            w->partitioned = !end;
            eng_partition(e, w, !end);
        }
        break;
    case SIM_FAULT_CRASH_AFTER_COMMIT:
        if (w) {
            w->crash_after_commit = true;
            w->crash_for_ns = f->duration_ns ? f->duration_ns : PS_NS_PER_SEC;
        }
        break;
    case SIM_FAULT_CRASH_BEFORE_HANDLE:
        if (w) {
            w->crash_before_handle = true;
            w->crash_for_ns = f->duration_ns ? f->duration_ns : PS_NS_PER_SEC;
        }
        break;
    case SIM_FAULT_CRASH_AT_DB_WRITE:
        if (w && e->user) {
            w->crash_for_ns = f->duration_ns ? f->duration_ns : PS_NS_PER_SEC;
            sim_user_crash_at_write(e->user, (int)(w - e->w), f->count);
        }
        break;
    case SIM_FAULT_POWER_LOSS_DB:
        sim_user_power_loss(e->user);
        break;
    case SIM_FAULT_FAIL_SERVICE:
        sim_user_service_down(e->user, (int)f->service, !end);
        break;
    case SIM_FAULT_SLOW_SERVICE:
        sim_user_service_slow(e->user, (int)f->service, end ? 0 : f->delay_ns);
        break;
    case SIM_FAULT_SLOW_WORKER:
        if (w) {
            w->slow_until = now + f->duration_ns;
            w->slow_ns = f->handle_ns;
        }
        break;
    case SIM_FAULT_RESTART_SERVER:
        if (!carried)
            ps_backend_restart(e->b, f->restart);
        break;
    case SIM_FAULT_PAUSE_SERVER:
    case SIM_FAULT_CUT_CONNECTIONS:
    case SIM_FAULT_DROP_CONNECTIONS:
        if (!carried) /* nothing reaches the broker until the end */
            sim_shim_set_unreachable(e->b, !end);
        break;
    case SIM_FAULT_DELAY_CONNECTIONS:
        break; /* a server's proxies (the target); the model has no network: latency changes nothing it can see */
    case SIM_FAULT_FAIL_DB:
    case SIM_FAULT_LOCK_DB:
        if (e->sc->has_database) { /* the user's database, through its VFS */
            sim_user_db_fail(e->user, f->kind == SIM_FAULT_LOCK_DB, end ? 0 : f->bp);
            break;
        }
        e->db_fault_bp = end ? 0 : f->bp;
        e->db_fault_status = f->kind == SIM_FAULT_FAIL_DB ? PS_ERR_IO : PS_ERR_TIMEOUT;
        break;
    default:
        sim_shim_set(e->b, knob_of[f->kind], end ? 0 : f->bp);
        break;
    }
    eng_wake(e, -1); /* a broker restarted, a partition healed: idle workers look again */
    bool crash = f->kind == SIM_FAULT_CRASH_WORKER || f->kind == SIM_FAULT_CRASH_AFTER_COMMIT ||
                 f->kind == SIM_FAULT_CRASH_BEFORE_HANDLE || f->kind == SIM_FAULT_CRASH_AT_DB_WRITE;
    if (!end && f->duration_ns && !crash) /* a crash's duration is its downtime, not a window */
        eng_push(e, now + f->duration_ns, EV_FAULT_END, fi, 0);
    int64_t quiet = now + f->duration_ns;
    if (quiet > e->quiet_after)
        e->quiet_after = quiet;
}
