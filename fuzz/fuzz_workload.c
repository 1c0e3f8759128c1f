/* fuzz_workload.c — libFuzzer target for workload files and subject
 * transforms (sim/workload.c): any bytes give PS_OK or one positioned
 * error ("fuzz.wl:LINE:COL: "), never a crash; a workload that parses is
 * written and parsed back to the same messages; the input taken as a
 * transform spec is checked, and applied to every parsed subject, without
 * a crash, and a spec that passes the check maps a subject to a valid one
 * or to NULL.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_subject.h"
#include "workload.h"

static void same(const sim_workload *a, const sim_workload *b)
{
    if (a->count != b->count)
        abort();
    for (size_t i = 0; i < a->count; i++) {
        const sim_workload_msg *x = &a->msgs[i], *y = &b->msgs[i];
        if (x->gap_ns != y->gap_ns || x->size != y->size || strcmp(x->subject, y->subject) ||
            x->nheaders != y->nheaders)
            abort();
        for (int k = 0; k < x->nheaders; k++)
            if (strcmp(x->names[k], y->names[k]) || strcmp(x->values[k], y->values[k]))
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sim_workload a, b;
    char *spec = malloc(size + 1);
    if (!spec)
        return 0;
    memcpy(spec, data, size);
    spec[size] = '\0';
    bool spec_ok = strlen(spec) == size && sim_workload_transform_check(spec) == PS_OK;
    ps_status s = sim_workload_parse(&a, "fuzz.wl", (const char *)data, size);
    if (s != PS_OK) {
        int line = 0, col = 0;
        if (s != PS_ERR_INVALID_ARG || sscanf(ps_last_error(), "fuzz.wl:%d:%d: ", &line, &col) != 2 || line < 1 ||
            col < 1)
            abort();
        free(spec);
        return 0;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f || sim_workload_write(&a, f, "fuzz") != PS_OK)
        abort();
    fclose(f);
    if (sim_workload_parse(&b, "fuzz.wl", text, len) != PS_OK)
        abort(); /* the writer wrote what the parser refuses */
    same(&a, &b);
    for (size_t i = 0; i < a.count && spec_ok; i++) {
        char *t = sim_workload_transform(spec, a.msgs[i].subject);
        if (t && !ps_subject_is_literal(t))
            abort();
        free(t);
    }
    free(text);
    free(spec);
    sim_workload_free(&a);
    sim_workload_free(&b);
    return 0;
}
