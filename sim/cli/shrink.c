/* shrink.c — greedy minimisation of a failing scenario (see shrink.h).
 * Every candidate is run with the same seed on the memory backend; a run
 * takes milliseconds, so a few hundred candidates cost well under a
 * minute.
 */
#include "shrink.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "handlers.h"
#include "report.h"
#include "scenario.h"

/* The check a violation names: its text up to the first ':'. */
static void check_name(const char *why, char *out, size_t cap)
{
    size_t n = strcspn(why, ":");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, why, n);
    out[n] = '\0';
}

typedef struct target {
    sim_verdict verdict;
    char check[64];
    int runs;
    sim_scenario *trial; /* scratch: the candidate being run */
} target;

/* Does `sc` still fail the way the original did? */
static bool still_fails(const sim_scenario *sc, uint64_t seed, target *t)
{
    sim_result r;
    t->runs++;
    if (sim_run(sc, "", seed, ":memory:", NULL, &r) != PS_OK || r.verdict != t->verdict)
        return false;
    char name[64];
    check_name(r.first_violation, name, sizeof name);
    return strcmp(name, t->check) == 0;
}

static bool drop_faults(sim_scenario *sc, uint64_t seed, target *t)
{
    bool changed = false;
    sim_scenario *trial = t->trial;
    for (int i = 0; i < sc->nfaults;) {
        *trial = *sc;
        memmove(&trial->faults[i], &trial->faults[i + 1],
                (size_t)(trial->nfaults - i - 1) * sizeof trial->faults[0]);
        trial->nfaults--;
        if (still_fails(trial, seed, t)) {
            *sc = *trial;
            changed = true;
        } else {
            i++;
        }
    }
    return changed;
}

static bool halve_workload(sim_scenario *sc, uint64_t seed, target *t)
{
    bool changed = false;
    sim_scenario *trial = t->trial;
    for (int i = 0; i < sc->npublishers; i++) {
        while (sc->publishers[i].count > 1) {
            *trial = *sc;
            trial->publishers[i].count = (sc->publishers[i].count + 1) / 2;
            if (!still_fails(trial, seed, t))
                break;
            *sc = *trial;
            changed = true;
        }
    }
    for (int g = 0; g < sc->nworkers; g++) {
        while (sc->workers[g].count > 1) {
            *trial = *sc;
            trial->workers[g].count--;
            bool ok = true; /* faults must still name existing workers */
            int64_t total = 0;
            for (int k = 0; k < trial->nworkers; k++)
                total += trial->workers[k].count;
            for (int f = 0; f < trial->nfaults; f++)
                ok &= trial->faults[f].worker <= total;
            if (!ok || !still_fails(trial, seed, t))
                break;
            *sc = *trial;
            changed = true;
        }
    }
    return changed;
}

static int shrink(sim_scenario *sc, sim_scenario *trial, const char *path, uint64_t seed, bool mix,
                  const char *out_path)
{
    if (sim_scenario_load(sc, path) != PS_OK) {
        fprintf(stderr, "jetsim shrink: %s\n", ps_last_error());
        return SIM_EXIT_USAGE;
    }
    cli_handlers_attach(sc);
    if (mix) /* the run swarm made: shrink that one; its faults are written out as drawn */
        sim_scenario_mix(sc, seed);
    sim_result r;
    if (sim_run(sc, "", seed, ":memory:", NULL, &r) != PS_OK) {
        fprintf(stderr, "jetsim shrink: harness error: %s\n", ps_last_error());
        return SIM_EXIT_HARNESS;
    }
    if (r.verdict == SIM_PASS) {
        printf("seed %" PRIu64 " passes %s%s: nothing to shrink\n", seed, path, mix ? " with its fault mix" : "");
        return 1;
    }
    target t = {.verdict = r.verdict, .trial = trial};
    check_name(r.first_violation, t.check, sizeof t.check);
    int faults0 = sc->nfaults;
    int64_t jobs0 = 0;
    for (int i = 0; i < sc->npublishers; i++)
        jobs0 += sc->publishers[i].count;
    printf("shrinking %s, seed %" PRIu64 ", which fails %s\n", path, seed, t.check);
    while (drop_faults(sc, seed, &t) | halve_workload(sc, seed, &t))
        ;
    int64_t jobs1 = 0;
    for (int i = 0; i < sc->npublishers; i++)
        jobs1 += sc->publishers[i].count;
    FILE *f = fopen(out_path, "w");
    if (!f) {
        fprintf(stderr, "jetsim shrink: cannot write %s\n", out_path);
        return SIM_EXIT_USAGE;
    }
    fprintf(f, "# shrunk by jetsim shrink from %s, seed %" PRIu64 "%s: still fails %s\n", path, seed,
            mix ? " and its fault mix (the faults below are the mix as drawn)" : "", t.check);
    fprintf(f, "# replay: jetsim run %s --seed %" PRIu64 "%s%s\n", out_path, seed,
            cli_handlers_path() ? " --handlers " : "", cli_handlers_path() ? cli_handlers_path() : "");
    sim_scenario_write(sc, f);
    if (fclose(f) != 0) {
        fprintf(stderr, "jetsim shrink: cannot write %s\n", out_path);
        return SIM_EXIT_USAGE;
    }
    printf("faults %d -> %d, jobs %" PRId64 " -> %" PRId64 ", %d runs; written to %s\n", faults0, sc->nfaults,
           jobs0, jobs1, t.runs, out_path);
    return 0;
}

int sim_shrink(const char *path, uint64_t seed, bool mix, const char *out_path)
{
    sim_scenario *sc = sim_scenario_new(), *trial = sim_scenario_new();
    int rc = SIM_EXIT_HARNESS;
    if (sc && trial)
        rc = shrink(sc, trial, path, seed, mix, out_path);
    else
        fprintf(stderr, "jetsim shrink: harness error: %s\n", ps_last_error());
    sim_scenario_free(sc);
    sim_scenario_free(trial);
    return rc;
}
