/* scenario_write.c — prints a scenario back in canonical form (what
 * `jetsim shrink` writes out, and what tests/test_scenario.c hashes): the
 * statements in a fixed order, each statement's options in its table's
 * order, every option that is set or always written spelled out, and
 * values in the form the parser reads back to an equal scenario.
 *
 * Not here: reading (scenario.c and the files it calls); nothing here
 * checks a scenario, which the parser did.
 */
#include "scenario_internal.h"

#include <inttypes.h>

#include "ps_clock.h"

/* ---- writing ------------------------------------------------------------------------------------- */

/* A duration the parser reads back: whole milliseconds in Go form
 * ("1m30s", "250ms"), anything finer in nanoseconds (the Go form would
 * use "µs", which is not ASCII). */
static const char *dur(int64_t ns, char *buf)
{
    if (ns % PS_NS_PER_MS == 0)
        return ps_duration_format(ns, buf, 32);
    snprintf(buf, 32, "%" PRId64 "ns", ns);
    return buf;
}

static void write_pct(FILE *f, int bp)
{
    if (bp % 100 == 0)
        fprintf(f, "%d%%", bp / 100);
    else
        fprintf(f, "%d.%02d%%", bp / 100, bp % 100);
}

/* Whether the option holds its zero value (then it is left out, unless
 * OPT_ALWAYS). */
static bool option_is_zero(const option *o, const void *base)
{
    void *b = (void *)base;
    switch (o->kind) {
    case OPT_INT:
    case OPT_DUR: return *AT(b, o, int64_t) == 0;
    case OPT_PCT:
    case OPT_CHOICE: return *AT(b, o, int) == 0;
    case OPT_BOOL:
    case OPT_FLAG: return !*AT(b, o, bool);
    case OPT_RATE: return *AT(b, o, double) == 0;
    case OPT_SUBJECTS:
    case OPT_DURS: return *AUX(b, o, int) == 0;
    case OPT_FILTER:
    case OPT_TRANSFORM:
    case OPT_NAME:
    case OPT_LITERAL:
    case OPT_HEADER:
    case OPT_REF: return *AT(b, o, char) == '\0';
    case OPT_SPAN: return *AT(b, o, int64_t) == 0 && *AUX(b, o, int64_t) == 0;
    }
    return true;
}

static void write_value(FILE *f, const option *o, const void *base)
{
    void *b = (void *)base;
    char t1[32], t2[32];
    switch (o->kind) {
    case OPT_INT: fprintf(f, "%" PRId64, *AT(b, o, int64_t)); break;
    case OPT_DUR: fputs(dur(*AT(b, o, int64_t), t1), f); break;
    case OPT_PCT: write_pct(f, *AT(b, o, int)); break;
    case OPT_CHOICE: fputs(o->names[*AT(b, o, int)], f); break;
    case OPT_BOOL: fputs(scn_bool_names[*AT(b, o, bool)], f); break;
    case OPT_FLAG: break;
    case OPT_RATE: fprintf(f, "%.0f/s", *AT(b, o, double)); break;
    case OPT_SUBJECTS:
        for (int k = 0; k < *AUX(b, o, int); k++)
            fprintf(f, "%s%s", k ? "," : "", AT(b, o, text_field)[k]);
        break;
    case OPT_DURS:
        for (int k = 0; k < *AUX(b, o, int); k++)
            fprintf(f, "%s%s", k ? "," : "", dur(AT(b, o, int64_t)[k], t1));
        break;
    case OPT_FILTER:
    case OPT_NAME:
    case OPT_LITERAL:
    case OPT_HEADER:
    case OPT_TRANSFORM: fputs(AT(b, o, char), f); break;
    case OPT_REF: fprintf(f, "%s/%s", AT(b, o, char), AUX(b, o, char)); break;
    case OPT_SPAN: fprintf(f, "%s..%s", dur(*AT(b, o, int64_t), t1), dur(*AUX(b, o, int64_t), t2)); break;
    }
}

/* " name=value" for every option of the table that is set or OPT_ALWAYS. */
static void write_options(FILE *f, const option_table *t, const void *base)
{
    for (size_t k = 0; k < t->n; k++) {
        const option *o = &t->rows[k];
        if (!(o->flags & OPT_ALWAYS) && option_is_zero(o, base))
            continue;
        fprintf(f, " %s%s", o->name, o->kind == OPT_FLAG ? "" : sep_of(o));
        write_value(f, o, base);
    }
}

/* A fault's words after "at T" (sim_fault_words); `timed`: with its P%
 * and "for DUR". */
static void write_fault_words(FILE *f, const sim_scenario *s, const sim_fault *x, bool timed)
{
    char a[32];
    const sim_fault_info *r = sim_fault_info_of(x->kind);
    if (!r)
        return;
    fputs(r->name, f);
    if (r->args & SIM_FARG_SERVICE && x->service >= 0 && x->service < s->nservices)
        fprintf(f, " %s", s->services[x->service].name);
    if (r->args & SIM_FARG_WORKER)
        fprintf(f, " %" PRId64, x->worker);
    if (r->args & SIM_FARG_AFTER_COMMIT)
        fputs(" after_commit", f);
    if (r->args & SIM_FARG_BEFORE_HANDLE)
        fputs(" before_handle", f);
    if (r->args & SIM_FARG_AT_WRITE)
        fprintf(f, " at_db_write=%" PRId64, x->count);
    if (r->args & SIM_FARG_HANDLE)
        fprintf(f, " handle=%s", dur(x->handle_ns, a));
    if (timed && r->args & SIM_FARG_PCT) {
        fputc(' ', f);
        write_pct(f, x->bp);
    }
    if (r->args & SIM_FARG_RESTART)
        fprintf(f, " %s", scn_restart_names[x->restart]);
    if (r->args & SIM_FARG_DELAY)
        fprintf(f, " %s", dur(x->delay_ns, a));
    if (timed && r->args & (SIM_FARG_FOR | SIM_FARG_FOR_OPT) && x->duration_ns)
        fprintf(f, " for %s", dur(x->duration_ns, a));
    if (r->args & SIM_FARG_NODE && x->node)
        x->node < 0 ? fprintf(f, " node=leader") : fprintf(f, " node=%" PRId64, x->node);
}

static void write_fault(FILE *f, const sim_scenario *s, const sim_fault *x)
{
    char a[32];
    if (!sim_fault_info_of(x->kind))
        return;
    fprintf(f, "at %s ", dur(x->at_ns, a));
    write_fault_words(f, s, x, true);
    fputc('\n', f);
}

const char *sim_fault_words(const sim_scenario *s, const sim_fault *x, bool timed, char *buf, size_t cap)
{
    if (!cap)
        return buf;
    buf[0] = '\0';
    FILE *f = fmemopen(buf, cap, "w"); /* full: the text is cut short, still terminated */
    if (!f)
        return buf;
    setbuf(f, NULL);
    write_fault_words(f, s, x, timed);
    fclose(f);
    buf[cap - 1] = '\0';
    return buf;
}

void sim_scenario_write(const sim_scenario *s, FILE *f)
{
    for (int i = 0; i < s->nstreams; i++) {
        fprintf(f, "stream %s", s->streams[i].name);
        write_options(f, &scn_stream_opts, &s->streams[i]);
        fputc('\n', f);
    }
    for (int i = 0; i < s->nconsumers; i++) {
        fprintf(f, "consumer %s %s", s->consumers[i].stream, s->consumers[i].name);
        write_options(f, &scn_consumer_opts, &s->consumers[i]);
        fputc('\n', f);
    }
    for (int i = 0; i < s->npublishers; i++) {
        const sim_publisher *pub = &s->publishers[i];
        if (pub->workload[0])
            fprintf(f, "replay %s", pub->workload);
        else
            fprintf(f, "publish %s", pub->subject);
        write_options(f, &scn_publish_opts, pub);
        fputc('\n', f);
    }
    for (int i = 0; i < s->nworkers; i++) {
        fprintf(f, "workers %" PRId64, s->workers[i].count);
        write_options(f, &scn_workers_opts, &s->workers[i]);
        fputc('\n', f);
    }
    if (s->has_database)
        fprintf(f, "database%s%s\n", s->db_schema[0] ? " schema=" : "", s->db_schema);
    for (int i = 0; i < s->nservices; i++) {
        fprintf(f, "service %s", s->services[i].name);
        write_options(f, &scn_service_opts, &s->services[i]);
        fputc('\n', f);
    }
    for (int i = 0; i < s->nfaults; i++)
        write_fault(f, s, &s->faults[i]);
    if (s->has_expect) {
        fprintf(f, "expect");
        write_options(f, &scn_expect_opts, &s->expect);
        fputc('\n', f);
    }
    for (int i = 0; i < s->nsql; i++) {
        fprintf(f, "expect sql \"%s\" ", s->sql[i].sql);
        if (s->sql[i].empty)
            fputs("empty\n", f);
        else
            fprintf(f, "=%" PRId64 "\n", s->sql[i].equals);
    }
}
