/* fuzz_scenario.c — libFuzzer target for the scenario parser
 * (sim/scenario.c): any bytes must give PS_OK or one PS_ERR_INVALID_ARG
 * whose message starts "fuzz.scn:LINE:COL: ", never a crash; and a
 * scenario that parses must be written out as text that parses back to
 * the same text (the writer is what `jetsim shrink` emits).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

static sim_scenario a, b;

static char *written(const sim_scenario *s, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        abort();
    sim_scenario_write(s, f);
    fclose(f);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ps_status s = sim_scenario_parse(&a, "fuzz.scn", (const char *)data, size);
    if (s != PS_OK) {
        int line = 0, col = 0;
        if (s != PS_ERR_INVALID_ARG || sscanf(ps_last_error(), "fuzz.scn:%d:%d: ", &line, &col) != 2 ||
            line < 1 || col < 1)
            abort(); /* every error is positioned */
        return 0;
    }
    size_t n1 = 0, n2 = 0;
    char *t1 = written(&a, &n1);
    if (sim_scenario_parse(&b, "fuzz.scn", t1, n1) != PS_OK)
        abort(); /* the writer wrote something the parser refuses */
    char *t2 = written(&b, &n2);
    if (n1 != n2 || memcmp(t1, t2, n1) != 0)
        abort(); /* not a fixed point */
    free(t1);
    free(t2);
    return 0;
}
