/* namespace.c — a scenario moved into a namespace (scenario.h,
 * sim_scenario_namespace): its stream names and subjects prefixed, so two
 * runs on one server cannot collide.
 *
 * Not: the parser (scenario.c); the scenario text a run records stays as
 * written.
 */
#include "scenario.h"
#include "ps_backend_impl.h"

#include <stdio.h>
#include <string.h>

#define NS_MAX 32

/* `field` becomes PREFIX SEP field, or an error naming it. */
static ps_status prefix(char field[SIM_TEXT_MAX], const char *ns, char sep, const char *what, int line)
{
    char buf[SIM_TEXT_MAX];
    int n = snprintf(buf, sizeof buf, "%s%c%s", ns, sep, field);
    if (n < 0 || n >= SIM_TEXT_MAX)
        return ps_error(PS_ERR_INVALID_ARG, 0, "line %d: %s '%s' in namespace %s is longer than %d bytes",
                        line, what, field, ns, SIM_TEXT_MAX - 1);
    memcpy(field, buf, (size_t)n + 1);
    return PS_OK;
}

/* A replay's transform SRC=>DST becomes SRC=>NS.DST; none becomes >=>NS.> */
static ps_status prefix_transform(sim_publisher *p, const char *ns)
{
    char buf[SIM_TEXT_MAX];
    const char *arrow = strstr(p->transform, "=>");
    int n = arrow ? snprintf(buf, sizeof buf, "%.*s=>%s.%s", (int)(arrow - p->transform), p->transform, ns,
                             arrow + 2)
                  : snprintf(buf, sizeof buf, ">=>%s.>", ns);
    if (n < 0 || n >= SIM_TEXT_MAX)
        return ps_error(PS_ERR_INVALID_ARG, 0, "line %d: transform '%s' in namespace %s is longer than %d bytes",
                        p->pos.line, p->transform, ns, SIM_TEXT_MAX - 1);
    memcpy(p->transform, buf, (size_t)n + 1);
    return PS_OK;
}

static ps_status check_ns(const char *ns)
{
    size_t n = ns ? strlen(ns) : 0;
    bool ok = n >= 1 && n <= NS_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (ns[i] >= 'a' && ns[i] <= 'z') || (ns[i] >= 'A' && ns[i] <= 'Z') || (ns[i] >= '0' && ns[i] <= '9') ||
             ns[i] == '_';
    if (!ok)
        return ps_error(PS_ERR_INVALID_ARG, 0, "namespace '%s': 1 to %d letters, digits or '_'", ns ? ns : "",
                        NS_MAX);
    return PS_OK;
}

ps_status sim_scenario_namespace(sim_scenario *sc, const char *ns)
{
    ps_status s = check_ns(ns);
    for (int i = 0; !s && i < sc->nstreams; i++) {
        sim_stream *st = &sc->streams[i];
        s = prefix(st->name, ns, '-', "stream", st->pos.line);
        for (int k = 0; !s && k < st->nsubjects; k++)
            s = prefix(st->subjects[k], ns, '.', "subject", st->pos.line);
    }
    for (int i = 0; !s && i < sc->nconsumers; i++) {
        sim_consumer *c = &sc->consumers[i];
        s = prefix(c->stream, ns, '-', "stream", c->pos.line);
        if (!s && c->filter[0])
            s = prefix(c->filter, ns, '.', "filter", c->pos.line);
    }
    for (int i = 0; !s && i < sc->nworkers; i++)
        if (sc->workers[i].stream[0])
            s = prefix(sc->workers[i].stream, ns, '-', "stream", sc->workers[i].pos.line);
    for (int i = 0; !s && i < sc->npublishers; i++) {
        sim_publisher *p = &sc->publishers[i];
        s = p->workload[0] ? prefix_transform(p, ns) : prefix(p->subject, ns, '.', "subject", p->pos.line);
    }
    return s;
}
