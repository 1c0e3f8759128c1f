/* shrink.h — `jetsim shrink`: makes a failing scenario small. With the
 * seed that fails it, it drops faults one at a time, then halves the
 * publishers' counts and the number of workers, keeping each change that
 * still fails the same check (same verdict, same check name), until no
 * change helps; then writes the smaller scenario out (canonical form).
 *
 * Not: a search over seeds (swarm finds the seed first).
 */
#ifndef SIM_SHRINK_H
#define SIM_SHRINK_H

#include <stdbool.h>
#include <stdint.h>

/* Exit code: 0 shrunk and written, 1 the seed does not fail the scenario
 * (nothing to shrink), 2 bad input or harness error. */
int sim_shrink(const char *path, uint64_t seed, bool mix, const char *out_path);

#endif
