/* testkit.c — the backend a user's test runs on, chosen by JETSIM_TEST_URL,
 * with names unique to the test and cleanup of only those (ps_testkit.h).
 *
 * Not: the conformance suite's fixture (tests/conformance/), which wipes a
 * whole scratch server between its own tests; a user's server is shared.
 */
#include "ps_testkit.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ps_backend_impl.h"
#include "ps_jetstream.h"
#include "ps_memory.h"
#include "ps_url.h"

struct ps_testkit {
    ps_backend *b;
    ps_clock *clock; /* manual (owned) on memory, the shared real clock on a server */
    bool real;
    char prefix[48]; /* "T<n>_" on memory; "T<pid><time>_<n>_" on a server */
    char **names;    /* what ps_testkit_name handed out, in order */
    size_t n_names, cap_names;
};

/* Kits opened by this process: part of every prefix, so two kits of one
 * process never share a name. */
static atomic_uint kits_opened;

/* ---- opening --------------------------------------------------------------------------- */

static ps_status open_memory(ps_testkit *k, unsigned nth)
{
    k->clock = ps_clock_manual_new(0); /* 2026-01-01T00:00:00Z */
    if (!k->clock)
        return ps_error(PS_ERR_NO_MEMORY, 0, "ps_testkit_open: out of memory");
    ps_status s = ps_memory_new(&k->b, &(ps_memory_options){.clock = k->clock});
    if (s) {
        ps_clock_free(k->clock);
        return s;
    }
    /* Deterministic: the same suite names the same streams run after run. */
    snprintf(k->prefix, sizeof k->prefix, "T%u_", nth);
    return PS_OK;
}

static ps_status open_server(ps_testkit *k, unsigned nth, const char *url)
{
    ps_jetstream_options o = {.urls = &url, .urls_len = 1, .client_name = "jetsim-testkit"};
    ps_status s = ps_jetstream_new(&k->b, &o);
    if (s) {
        char why[512], shown[256];
        snprintf(why, sizeof why, "%s", ps_last_error());
        ps_url_redact(shown, sizeof shown, url);
        return ps_error(s, ps_last_error_code(), "ps_testkit_open: %s=%s: %s", PS_TESTKIT_URL_ENV, shown,
                        why);
    }
    k->clock = ps_clock_real();
    k->real = true;
    /* Unique on a shared server: other processes (the pid), other runs of
     * a recycled pid (the time's low bits), other kits of this process. */
    unsigned long t = (unsigned long)(ps_clock_now(k->clock) / 1000) & 0xfffffUL;
    snprintf(k->prefix, sizeof k->prefix, "T%lx%05lx_%u_", (unsigned long)getpid(), t, nth);
    return PS_OK;
}

ps_status ps_testkit_open(ps_testkit **out)
{
    if (!out)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_testkit_open: out is NULL");
    ps_testkit *k = calloc(1, sizeof *k);
    if (!k)
        return ps_error(PS_ERR_NO_MEMORY, 0, "ps_testkit_open: out of memory");
    unsigned nth = atomic_fetch_add(&kits_opened, 1) + 1;
    const char *url = getenv(PS_TESTKIT_URL_ENV);
    ps_status s = url && *url ? open_server(k, nth, url) : open_memory(k, nth);
    if (s) {
        free(k);
        return s;
    }
    *out = k;
    return PS_OK;
}

ps_backend *ps_testkit_backend(ps_testkit *k)
{
    return k ? k->b : NULL;
}

ps_clock *ps_testkit_clock(ps_testkit *k)
{
    return k ? k->clock : NULL;
}

bool ps_testkit_is_real(const ps_testkit *k)
{
    return k && k->real;
}

/* ---- names ----------------------------------------------------------------------------- */

static ps_status remember(ps_testkit *k, char *name)
{
    if (k->n_names == k->cap_names) {
        size_t cap = k->cap_names ? 2 * k->cap_names : 8;
        char **grown = realloc(k->names, cap * sizeof *grown);
        if (!grown)
            return PS_ERR_NO_MEMORY;
        k->names = grown;
        k->cap_names = cap;
    }
    k->names[k->n_names++] = name;
    return PS_OK;
}

const char *ps_testkit_name(ps_testkit *k, const char *base)
{
    if (!k || !base || !*base || strpbrk(base, " \t\r\n")) {
        ps_error(PS_ERR_INVALID_ARG, 0, "ps_testkit_name: %s", !k ? "NULL kit"
                 : !base || !*base ? "empty base name" : "a base name must not hold whitespace");
        return NULL;
    }
    size_t plen = strlen(k->prefix);
    for (size_t i = 0; i < k->n_names; i++)
        if (strcmp(k->names[i] + plen, base) == 0)
            return k->names[i]; /* the same base, the same name */
    size_t len = plen + strlen(base) + 1;
    char *name = malloc(len);
    if (!name) {
        ps_error(PS_ERR_NO_MEMORY, 0, "ps_testkit_name: out of memory");
        return NULL;
    }
    snprintf(name, len, "%s%s", k->prefix, base);
    if (remember(k, name)) {
        free(name);
        ps_error(PS_ERR_NO_MEMORY, 0, "ps_testkit_name: out of memory");
        return NULL;
    }
    return name;
}

/* ---- time ------------------------------------------------------------------------------ */

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / PS_NS_PER_SEC), (long)(ns % PS_NS_PER_SEC)};
    while (nanosleep(&ts, &ts) != 0)
        ; /* a signal: sleep the rest */
}

ps_status ps_testkit_advance(ps_testkit *k, int64_t ns)
{
    if (!k || ns < 0)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_testkit_advance: %s", !k ? "NULL kit" : "negative time");
    if (k->real)
        sleep_ns(ns);
    else {
        ps_status s = ps_clock_advance(k->clock, ns);
        if (s)
            return s;
    }
    return ps_backend_tick(k->b);
}

/* ---- closing --------------------------------------------------------------------------- */

/* A name that can only be a subject or filter is not a stream's. */
static bool may_be_stream(const char *name)
{
    return !strpbrk(name, ".*>");
}

/* Deletes the streams among the kit's names; the first real failure, with
 * its message kept in why (the close that follows may record others). */
static ps_status delete_named_streams(ps_testkit *k, char *why, size_t cap)
{
    ps_status first = PS_OK;
    for (size_t i = 0; i < k->n_names; i++) {
        if (!may_be_stream(k->names[i]))
            continue;
        ps_status s = ps_stream_delete(k->b, k->names[i]);
        if (s && s != PS_ERR_STREAM_NOT_FOUND && !first) {
            first = s;
            snprintf(why, cap, "%s", ps_last_error());
        }
    }
    return first;
}

ps_status ps_testkit_close(ps_testkit *k)
{
    if (!k)
        return PS_OK;
    char why[512] = "";
    ps_status deleted = delete_named_streams(k, why, sizeof why);
    ps_status s = ps_backend_close(k->b); /* PS_OK or PS_ERR_BUSY */
    if (s)
        return ps_error(s, 0, "ps_testkit_close: the test left a consumer handle or a fault shim open (%s)",
                        ps_last_error());
    ps_clock_free(k->clock); /* the real clock ignores it */
    for (size_t i = 0; i < k->n_names; i++)
        free(k->names[i]);
    free(k->names);
    free(k);
    if (deleted)
        return ps_error(deleted, 0, "ps_testkit_close: deleting the kit's streams: %s", why);
    return PS_OK;
}
