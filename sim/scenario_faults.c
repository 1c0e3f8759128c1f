/* scenario_faults.c — the faults of the scenario language: the rows of
 * SIM_FAULTS (scenario.h) that the parser, the writer, the error messages
 * and the run targets all read; the statement `at TIME FAULT`, which tries
 * the rows whose keywords fit the line; and a seed's mix of a scenario's
 * faults (jetsim swarm, jetsim run --mix).
 *
 * Not here: carrying a fault out (the engine's faults.c and the run
 * targets), or writing one back (scenario_write.c).
 */
#include "scenario_internal.h"

#include "ps_rand.h"

/* ---- the fault rows ------------------------------------------------------------------------ */

#define SIM_FAULT_ROW_(kind, verb, object, args, reach) {verb, object, verb " " object, args, reach},
static const sim_fault_info fault_rows[SIM_FAULT_KIND_COUNT] = {SIM_FAULTS(SIM_FAULT_ROW_)};
#undef SIM_FAULT_ROW_

const sim_fault_info *sim_fault_info_of(sim_fault_kind k)
{
    return (unsigned)k < SIM_FAULT_KIND_COUNT ? &fault_rows[k] : NULL;
}

const char *sim_fault_name(sim_fault_kind k)
{
    return (unsigned)k < SIM_FAULT_KIND_COUNT ? fault_rows[k].name : "?";
}

/* The pieces of SIM_FARG_*, in their order, as the syntax shows them. */
static const struct {
    unsigned arg;
    const char *shown;
} arg_syntax[] = { /* in the order the pieces are written */
    {SIM_FARG_WORKER, "N"},
    {SIM_FARG_SERVICE, "NAME"},
    {SIM_FARG_AFTER_COMMIT, "after_commit"},
    {SIM_FARG_BEFORE_HANDLE, "before_handle"},
    {SIM_FARG_AT_WRITE, "at_db_write=K"},
    {SIM_FARG_HANDLE, "handle=DUR"},
    {SIM_FARG_PCT, "P%"},
    {SIM_FARG_RESTART, "[graceful|crash|power_loss]"},
    {SIM_FARG_DELAY, "DUR"},
    {SIM_FARG_FOR, "for DUR"},
    {SIM_FARG_FOR_OPT, "[for DUR]"},
    {SIM_FARG_NODE, "[node=N|node=leader]"},
};

const char *sim_fault_syntax(sim_fault_kind k, char *buf, size_t cap)
{
    if (cap == 0)
        return buf;
    buf[0] = '\0';
    if ((unsigned)k >= SIM_FAULT_KIND_COUNT)
        return buf;
    snprintf(buf, cap, "%s", fault_rows[k].name);
    for (size_t i = 0; i < sizeof arg_syntax / sizeof arg_syntax[0]; i++)
        if (fault_rows[k].args & arg_syntax[i].arg) {
            size_t n = strlen(buf);
            snprintf(buf + n, cap - n, " %s", arg_syntax[i].shown);
        }
    return buf;
}

/* ---- at TIME FAULT ------------------------------------------------------------------------ */

/* Appends "what, " to the list of optional pieces that could still come. */
static void could_come(char *pending, size_t cap, const char *what)
{
    size_t n = strlen(pending);
    snprintf(pending + n, cap - n, "%s, ", what);
}

/* "for DUR" at word i; *i moves past it. */
static ps_status for_dur(parser *p, int *i, sim_fault *f)
{
    if (*i + 1 >= p->nw)
        return scn_expected(p, NULL, "a duration after 'for'");
    ps_status s = scn_get_dur(p, whole(&p->w[*i + 1]), &f->duration_ns, false);
    *i += 2;
    return s;
}

/* node=N or node=leader at word i. */
static ps_status node_arg(parser *p, const word *w, sim_fault *f)
{
    value v = after(w, 5);
    if (v.len == 6 && memcmp(v.s, "leader", 6) == 0) {
        f->node = -1;
        return PS_OK;
    }
    p->label = "node=";
    ps_status s = scn_get_int(p, v, 1, 5, &f->node);
    p->label = NULL;
    return s;
}

/* The pieces up to the restart kind: service, worker, after_commit,
 * before_handle, at_db_write=, handle=, P%. */
static ps_status worker_and_pct_args(parser *p, int *i, sim_fault *f, unsigned args)
{
    ps_status s = PS_OK;
    if (args & SIM_FARG_SERVICE) {
        const word *w = word_at(p, *i);
        if (!w)
            return scn_expected(p, NULL, "a service name");
        for (f->service = 0; f->service < p->sc->nservices; f->service++)
            if (is(w, p->sc->services[f->service].name))
                break;
        if (f->service == p->sc->nservices)
            return scn_expected(p, w, p->sc->nservices ? "a service declared above" : "a service (declare it above "
                                                                                   "with a service statement)");
        ++*i;
    }
    if (args & SIM_FARG_WORKER) {
        if (*i >= p->nw)
            return scn_expected(p, NULL, "a worker number");
        if ((s = scn_get_int(p, whole(&p->w[(*i)++]), 1, 1000000, &f->worker)) != PS_OK)
            return s;
    }
    if (args & SIM_FARG_AFTER_COMMIT) {
        if (!is(word_at(p, *i), "after_commit"))
            return scn_expected(p, word_at(p, *i), "after_commit");
        ++*i;
    }
    if (args & SIM_FARG_BEFORE_HANDLE) {
        if (!is(word_at(p, *i), "before_handle"))
            return scn_expected(p, word_at(p, *i), "before_handle");
        ++*i;
    }
    if (args & SIM_FARG_AT_WRITE) {
        if (!starts(word_at(p, *i), "at_db_write="))
            return scn_expected(p, word_at(p, *i), "at_db_write=N");
        p->label = "at_db_write=";
        s = scn_get_int(p, after(&p->w[(*i)++], 12), 1, 1000000, &f->count);
        p->label = NULL;
        if (s != PS_OK)
            return s;
    }
    if (args & SIM_FARG_HANDLE) {
        if (!starts(word_at(p, *i), "handle="))
            return scn_expected(p, word_at(p, *i), "handle=DURATION");
        p->label = "handle=";
        s = scn_get_dur(p, after(&p->w[(*i)++], 7), &f->handle_ns, false);
        p->label = NULL;
        if (s != PS_OK)
            return s;
    }
    if (args & SIM_FARG_PCT) {
        if (*i >= p->nw)
            return scn_expected(p, NULL, "a percentage such as 5%");
        s = scn_get_pct(p, whole(&p->w[(*i)++]), &f->bp);
    }
    return s;
}

/* Reads the words from i on as the pieces of f->kind's row, then wants the
 * end of the line (or one of the optional pieces that could still come). */
static ps_status fault_args(parser *p, int i, sim_fault *f)
{
    unsigned args = fault_rows[f->kind].args;
    char pending[128] = "";
    ps_status s = worker_and_pct_args(p, &i, f, args);
    if (s != PS_OK)
        return s;
    if (args & SIM_FARG_RESTART) {
        f->restart = PS_RESTART_CRASH;
        int ch = 0;
        if (i < p->nw && !starts(&p->w[i], "node=")) {
            if ((s = scn_get_choice(p, whole(&p->w[i++]), scn_restart_names, 3, &ch)) != PS_OK)
                return s;
            f->restart = (ps_restart_kind)ch;
        }
    }
    if (args & SIM_FARG_DELAY) {
        if (i >= p->nw)
            return scn_expected(p, NULL, "a delay such as 50ms");
        if ((s = scn_get_dur(p, whole(&p->w[i++]), &f->delay_ns, false)) != PS_OK)
            return s;
    }
    if (args & (SIM_FARG_FOR | SIM_FARG_FOR_OPT)) {
        if (is(word_at(p, i), "for")) {
            if ((s = for_dur(p, &i, f)) != PS_OK)
                return s;
        } else if (args & SIM_FARG_FOR) {
            return scn_expected(p, word_at(p, i), "for DURATION");
        } else {
            could_come(pending, sizeof pending, "for DURATION");
        }
    }
    if (args & SIM_FARG_NODE) {
        if (starts(word_at(p, i), "node=")) {
            if ((s = node_arg(p, &p->w[i++], f)) != PS_OK)
                return s;
            pending[0] = '\0';
        } else {
            could_come(pending, sizeof pending, "node=N, node=leader");
        }
    }
    if (i < p->nw) {
        char what[160];
        size_t n = strlen(pending);
        if (n) /* "for DURATION, " -> "for DURATION or the end of the line" */
            snprintf(what, sizeof what, "%.*s or the end of the line", (int)(n - 2), pending);
        else
            snprintf(what, sizeof what, "the end of the line");
        return scn_expected(p, &p->w[i], what);
    }
    return PS_OK;
}

/* Neither verb nor object fits: names what would have. */
static ps_status unknown_fault(parser *p, const word *verb, const word *obj)
{
    char what[400] = "";
    bool verb_known = false;
    for (int k = 0; k < SIM_FAULT_KIND_COUNT; k++)
        verb_known |= is(verb, fault_rows[k].verb);
    for (int k = 0; k < SIM_FAULT_KIND_COUNT; k++) {
        const sim_fault_info *r = &fault_rows[k];
        if (verb_known ? !is(verb, r->verb) : false)
            continue;
        const char *item = verb_known ? r->object : r->name;
        char quoted[64];
        snprintf(quoted, sizeof quoted, verb_known ? "'%s'" : "%s", item);
        if (strstr(what, quoted)) /* crash worker: two rows */
            continue;
        size_t n = strlen(what);
        snprintf(what + n, sizeof what - n, "%s%s", n ? (verb_known ? " or " : ", ") : "", quoted);
    }
    if (verb_known)
        return scn_expected(p, obj, what);
    char list[440];
    snprintf(list, sizeof list, "a fault (%s)", what);
    return scn_expected(p, verb, list);
}

/* "at TIME VERB OBJECT ...": the rows whose keywords fit are tried in
 * order; the first whose pieces read is taken, else the error of the one
 * that read furthest. */
static ps_status parse_fault(parser *p, sim_fault *f)
{
    const word *verb = word_at(p, 2), *obj = word_at(p, 3);
    int best = -1, best_col = -1;
    for (int k = 0; k < SIM_FAULT_KIND_COUNT; k++) {
        if (!is(verb, fault_rows[k].verb) || !is(obj, fault_rows[k].object))
            continue;
        sim_fault trial = *f;
        trial.kind = (sim_fault_kind)k;
        if (fault_args(p, 4, &trial) == PS_OK) {
            *f = trial;
            return PS_OK;
        }
        if (p->err_col > best_col)
            best = k, best_col = p->err_col;
    }
    if (best < 0)
        return unknown_fault(p, verb, obj);
    f->kind = (sim_fault_kind)best;
    return fault_args(p, 4, f); /* again, for its message */
}

ps_status scn_parse_at(parser *p)
{
    sim_scenario *sc = p->sc;
    if (sc->nfaults == SIM_MAX_FAULTS)
        return FAIL(p, p->w[0].col, "at most %d faults", SIM_MAX_FAULTS);
    sim_fault *f = &sc->faults[sc->nfaults];
    memset(f, 0, sizeof *f);
    f->pos = (sim_pos){p->line, p->w[0].col};
    if (p->nw < 2)
        return scn_expected(p, NULL, "a time such as 10s");
    ps_status s = scn_get_dur(p, whole(&p->w[1]), &f->at_ns, true);
    if (s == PS_OK)
        s = parse_fault(p, f);
    if (s == PS_OK)
        sc->nfaults++;
    return s;
}

/* ---- fault mixes ------------------------------------------------------------------------------ */

static int64_t scaled(ps_rand *r, int64_t v)
{
    return (int64_t)((double)v * (0.5 + ps_rand_double(r)));
}

void sim_scenario_mix(sim_scenario *s, uint64_t seed)
{
    ps_rand r = ps_rand_derive(seed, 0x313);
    int n = 0;
    for (int i = 0; i < s->nfaults; i++) {
        sim_fault f = s->faults[i];
        if (ps_rand_below(&r, 4) == 0)
            continue; /* dropped from this mix */
        f.at_ns = scaled(&r, f.at_ns);
        if (f.duration_ns)
            f.duration_ns = scaled(&r, f.duration_ns) + 1;
        if (f.bp) {
            int64_t bp = scaled(&r, f.bp);
            f.bp = (int)(bp > 10000 ? 10000 : bp < 1 ? 1 : bp);
        }
        s->faults[n++] = f;
    }
    s->nfaults = n;
    s->mixed = true;
}
