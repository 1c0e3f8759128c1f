/* run.c — ps_sim_run and ps_sim_swarm (ps_sim.h): a user's module and
 * scenario run on the engine, on the memory model.
 */
#include "ps_sim.h"

#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ps_backend_impl.h"
#include "scenario.h"

static ps_status load(const ps_sim_config *cfg, sim_scenario **out)
{
    if (!cfg || (!cfg->scenario_path && !cfg->scenario_text))
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_sim: the config names no scenario (scenario_path or "
                                               "scenario_text)");
    sim_scenario *sc = sim_scenario_new();
    if (!sc)
        return PS_ERR_NO_MEMORY;
    ps_status s = cfg->scenario_path ? sim_scenario_load(sc, cfg->scenario_path)
                                     : sim_scenario_parse(sc, "scenario", cfg->scenario_text,
                                                          strlen(cfg->scenario_text));
    if (s) {
        sim_scenario_free(sc);
        return s;
    }
    sc->module = cfg->module;
    *out = sc;
    return PS_OK;
}

static void result_of(const sim_result *r, ps_sim_result *out)
{
    memset(out, 0, sizeof *out);
    out->verdict = r->verdict == SIM_PASS ? PS_SIM_PASS : r->verdict == SIM_SAFETY_VIOLATION ? PS_SIM_SAFETY
                                                                                                : PS_SIM_LIVENESS;
    memcpy(out->violation, r->first_violation, sizeof out->violation);
    out->violation[sizeof out->violation - 1] = '\0';
    out->jobs_published = r->jobs_published;
    out->jobs_done = r->jobs_done;
    out->jobs_failed = r->jobs_failed;
    out->trace_hash = r->trace_hash;
    out->virtual_ns = r->end_ns;
}

/* One seed of a loaded scenario; `mix` draws that seed's fault mix on a
 * copy (the scenario itself stays as written for the next seed). */
static ps_status run_one(const ps_sim_config *cfg, const sim_scenario *sc, uint64_t seed, bool mix,
                         ps_sim_result *out)
{
    const sim_scenario *use = sc;
    sim_scenario *mixed = NULL;
    if (mix) {
        if (!(mixed = sim_scenario_new()))
            return PS_ERR_NO_MEMORY;
        memcpy(mixed, sc, sizeof *mixed);
        sim_scenario_mix(mixed, seed);
        use = mixed;
    }
    sim_result r;
    ps_status s = sim_run(use, cfg->scenario_text ? cfg->scenario_text : "", seed,
                          cfg->run_db ? cfg->run_db : ":memory:", NULL, &r);
    if (!s)
        result_of(&r, out);
    sim_scenario_free(mixed);
    return s;
}

ps_status ps_sim_run(const ps_sim_config *cfg, uint64_t seed, ps_sim_result *out)
{
    if (!out)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_sim_run: out is NULL");
    sim_scenario *sc = NULL;
    ps_status s = load(cfg, &sc);
    if (!s)
        s = run_one(cfg, sc, seed, false, out);
    sim_scenario_free(sc);
    return s;
}

ps_status ps_sim_swarm(const ps_sim_config *cfg, uint64_t first, uint64_t count, ps_sim_swarm_result *out)
{
    if (!out)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_sim_swarm: out is NULL");
    memset(out, 0, sizeof *out);
    sim_scenario *sc = NULL;
    ps_status s = load(cfg, &sc);
    for (uint64_t i = 0; i < count && !s; i++) {
        ps_sim_result r;
        if ((s = run_one(cfg, sc, first + i, true, &r)) != PS_OK)
            break;
        out->seeds++;
        if (r.verdict == PS_SIM_PASS) {
            out->passed++;
            continue;
        }
        if (r.verdict == PS_SIM_SAFETY)
            out->safety++;
        else
            out->liveness++;
        if (!out->first_failing_seed) {
            out->first_failing_seed = first + i;
            out->first_failure = r;
        }
    }
    sim_scenario_free(sc);
    return s;
}
