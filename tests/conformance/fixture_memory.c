/* fixture_memory.c — runs the conformance suite on the memory backend,
 * with the fixture of conf_memory.c.
 *
 * Not: a place for memory-only tests (tests/test_memory.c has those).
 */
#include "conformance.h"

int main(void)
{
    conf_fixture f = conf_memory_fixture("memory");
    int failed = conf_run_all(&f);
    return failed == 0 ? 0 : 1;
}
