/* user.c — the user's own job code in a run (user.h, ps_sim.h).
 *
 * Each worker has its handler's state, its own connection to the user's
 * database (opened through the run's dbvfs, so database faults and power
 * losses reach it) and a generator derived from the run seed. A handler
 * runs to its end when called; the time it spends is counted, not waited.
 */
#include "user.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbvfs.h"
#include "ps_backend_impl.h"
#include "ps_rand.h"

#define USER_DB "user.db"

typedef struct uworker {
    const ps_sim_handler *h; /* NULL: a built-in worker */
    void *state;
    bool live;               /* init ran and no crash since */
    sqlite3 *db;             /* NULL until first used, and after a crash or a power loss */
    ps_rand rng;
    int64_t crash_at;        /* die at this row write (0: no) */
    int64_t writes;          /* row writes since the crash point was armed */
    bool dead;               /* the crash point was hit: every statement is interrupted */
} uworker;

typedef struct ledger_row {
    int64_t t_ns;
    int service;
    char *key;
    int worker;
    uint64_t job;
    bool done;
} ledger_row;

struct sim_user {
    const sim_scenario *sc;
    const ps_sim_module *mod;
    ps_clock *clock;
    int64_t base;
    sim_dbvfs *vfs; /* NULL without a database */
    uworker *w;
    int nw;
    const ps_sim_payload *payload[SIM_MAX_PUBLISHERS];
    ps_rand payload_rng;
    uint64_t payload_seed;
    bool down[SIM_MAX_SERVICES];
    int64_t slower_ns[SIM_MAX_SERVICES]; /* slow service: added to every call's latency */
    ledger_row *ledger;
    size_t nledger, capledger;
    /* the keys services acted on: open addressing over ledger rows (index + 1; 0 empty) */
    size_t *acted;
    size_t nacted, capacted;
    sim_user_publish_fn publish;
    void *engine;
};

struct ps_sim_ctx {
    sim_user *u;
    int wi;          /* -1: a payload maker */
    uint64_t job;
    int64_t now0;    /* when the call began */
    int64_t elapsed; /* time it spent */
    ps_rand *rng;
    bool crashed;    /* a teardown after a crash: no database, no services */
};

/* The context of the user's function running on this thread, if any
 * (sim_user_current). */
static _Thread_local ps_sim_ctx *current;

ps_sim_ctx *sim_user_current(void)
{
    return current;
}

/* The user's code of context c runs from here to leave(): the clock and
 * randomness it asks the jetsim program for are the run's, and the
 * database handles it opens belong to its worker's process (dbvfs.h). */
static void enter(ps_sim_ctx *c)
{
    current = c;
    if (c->u->vfs && c->wi >= 0)
        sim_dbvfs_set_process(c->u->vfs, (uint32_t)c->wi + 1);
}

static void leave(ps_sim_ctx *c)
{
    current = NULL;
    if (c->u->vfs && c->wi >= 0)
        sim_dbvfs_set_process(c->u->vfs, 0);
}

bool sim_user_needed(const sim_scenario *sc)
{
    if (sc->has_database || sc->nservices > 0 || sc->nsql > 0)
        return true;
    for (int i = 0; i < sc->nworkers; i++)
        if (sc->workers[i].handler[0])
            return true;
    for (int i = 0; i < sc->npublishers; i++)
        if (sc->publishers[i].payload[0])
            return true;
    return false;
}

/* ---- the module ---------------------------------------------------------------------------- */

/* "a, b, c" of the module's handlers (or payloads), for an error. */
static void names_of(const ps_sim_module *m, bool handlers, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    int count = handlers ? m->nhandlers : m->npayloads;
    for (int i = 0; i < count && n < cap; i++) {
        const char *name = handlers ? m->handlers[i].name : m->payloads[i].name;
        int k = snprintf(out + n, cap - n, "%s%s", i ? ", " : "", name ? name : "(unnamed)");
        n += k > 0 ? (size_t)k : 0;
    }
    if (!count)
        snprintf(out, cap, "none");
}

static ps_status no_module(const sim_scenario *sc, sim_pos pos, const char *what, const char *name)
{
    return ps_error(PS_ERR_INVALID_ARG, 0,
                    "%s:%d:%d: %s=%s, but no handlers are loaded (jetsim ... --handlers LIB.so, or "
                    "ps_sim_config.module)",
                    sc->file, pos.line, pos.col, what, name);
}

static ps_status find_handler(const sim_user *u, const sim_workers *g, const ps_sim_handler **out)
{
    const ps_sim_module *m = u->mod;
    if (!m)
        return no_module(u->sc, g->pos, "handler", g->handler);
    for (int i = 0; i < m->nhandlers; i++)
        if (m->handlers[i].name && strcmp(m->handlers[i].name, g->handler) == 0) {
            if (!m->handlers[i].handle)
                return ps_error(PS_ERR_INVALID_ARG, 0, "handler %s has no handle function", g->handler);
            *out = &m->handlers[i];
            return PS_OK;
        }
    char have[512];
    names_of(m, true, have, sizeof have);
    return ps_error(PS_ERR_INVALID_ARG, 0, "%s:%d:%d: handler=%s: the loaded module has no such handler (it has: %s)",
                    u->sc->file, g->pos.line, g->pos.col, g->handler, have);
}

static ps_status find_payload(const sim_user *u, const sim_publisher *p, const ps_sim_payload **out)
{
    const ps_sim_module *m = u->mod;
    if (!m)
        return no_module(u->sc, p->pos, "payload", p->payload);
    for (int i = 0; i < m->npayloads; i++)
        if (m->payloads[i].name && strcmp(m->payloads[i].name, p->payload) == 0 && m->payloads[i].make) {
            *out = &m->payloads[i];
            return PS_OK;
        }
    char have[512];
    names_of(m, false, have, sizeof have);
    return ps_error(PS_ERR_INVALID_ARG, 0, "%s:%d:%d: payload=%s: the loaded module has no such payload maker "
                    "(it has: %s)", u->sc->file, p->pos.line, p->pos.col, p->payload, have);
}

/* ---- the database ----------------------------------------------------------------------------- */

static ps_status sqlite_status(int rc)
{
    return rc == SQLITE_NOMEM ? PS_ERR_NO_MEMORY : PS_ERR_IO;
}

static ps_status open_db(sim_user *u, sqlite3 **out)
{
    *out = NULL;
    int rc = sqlite3_open_v2(USER_DB, out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, sim_dbvfs_name(u->vfs));
    if (rc != SQLITE_OK) {
        ps_status s = ps_error(sqlite_status(rc), 0, "the user's database: cannot open: %s",
                               *out ? sqlite3_errmsg(*out) : sqlite3_errstr(rc));
        sqlite3_close_v2(*out);
        *out = NULL;
        return s;
    }
    sqlite3_busy_timeout(*out, 0); /* a lock held elsewhere is a fault to see, not to wait out */
    return PS_OK;
}

#define SCHEMA_MAX (1024 * 1024)

/* The scenario's schema file, whole (a NUL-terminated copy to free). */
static ps_status read_schema(const sim_scenario *sc, char **out)
{
    FILE *f = fopen(sc->db_schema, "rb");
    if (!f)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s:%d:%d: schema=%s: cannot open: %s", sc->file, sc->db_pos.line,
                        sc->db_pos.col, sc->db_schema, strerror(errno));
    char *buf = malloc(SCHEMA_MAX + 1);
    size_t n = buf ? fread(buf, 1, SCHEMA_MAX + 1, f) : 0;
    bool bad = buf && ferror(f);
    fclose(f);
    if (!buf)
        return ps_error(PS_ERR_NO_MEMORY, 0, "the schema: out of memory");
    if (bad || n > SCHEMA_MAX) {
        free(buf);
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s:%d:%d: schema=%s: %s", sc->file, sc->db_pos.line,
                        sc->db_pos.col, sc->db_schema, bad ? "read error" : "larger than 1 MiB");
    }
    buf[n] = '\0';
    *out = buf;
    return PS_OK;
}

/* A fresh database from the module's schema, else the scenario's file,
 * then the module's db_init. */
static ps_status create_db(sim_user *u)
{
    sqlite3 *db = NULL;
    ps_status s = open_db(u, &db);
    if (s)
        return s;
    char *text = NULL;
    const char *schema = u->mod && u->mod->schema ? u->mod->schema : NULL;
    if (!schema && u->sc->db_schema[0]) {
        if ((s = read_schema(u->sc, &text)) != PS_OK) {
            sqlite3_close_v2(db);
            return s;
        }
        schema = text;
    }
    char *err = NULL;
    if (schema && sqlite3_exec(db, schema, NULL, NULL, &err) != SQLITE_OK) {
        s = ps_error(PS_ERR_INVALID_ARG, 0, "%s:%d:%d: the database schema %s fails: %s", u->sc->file,
                     u->sc->db_pos.line, u->sc->db_pos.col, text ? u->sc->db_schema : "of the module",
                     err ? err : "error");
        sqlite3_free(err);
    }
    if (!s && u->mod && u->mod->db_init && u->mod->db_init(db) != 0)
        s = ps_error(PS_ERR_INVALID_ARG, 0, "the module's db_init failed: %s", sqlite3_errmsg(db));
    sqlite3_close_v2(db);
    free(text);
    return s;
}

static int on_progress(void *arg)
{
    return ((uworker *)arg)->dead; /* non-zero interrupts the statement */
}

static void on_update(void *arg, int op, const char *dbname, const char *table, sqlite3_int64 rowid)
{
    (void)op;
    (void)dbname;
    (void)table;
    (void)rowid;
    uworker *w = arg;
    if (w->crash_at > 0 && ++w->writes >= w->crash_at)
        w->dead = true;
}

/* Hooks that let a crash point stop the worker at its n-th row write. */
static void arm_hooks(uworker *w)
{
    if (!w->db)
        return;
    bool armed = w->crash_at > 0;
    sqlite3_update_hook(w->db, armed ? on_update : NULL, armed ? w : NULL);
    sqlite3_progress_handler(w->db, armed ? 1 : 0, armed ? on_progress : NULL, armed ? w : NULL);
}

static void close_worker_db(uworker *w)
{
    if (w->db) {
        sqlite3_close_v2(w->db); /* an open transaction rolls back (or is gone with the power) */
        w->db = NULL;
    }
}

/* ---- open and close ---------------------------------------------------------------------------- */

ps_status sim_user_open(sim_user **out, const sim_scenario *sc, uint64_t seed, ps_clock *clock, int64_t base,
                        int nworkers, const int *worker_group, sim_user_publish_fn publish, void *engine)
{
    *out = NULL;
    sim_user *u = calloc(1, sizeof *u);
    if (!u || !(u->w = calloc((size_t)(nworkers > 0 ? nworkers : 1), sizeof *u->w))) {
        free(u);
        return ps_error(PS_ERR_NO_MEMORY, 0, "engine: out of memory");
    }
    u->sc = sc;
    u->mod = sc->module;
    u->clock = clock;
    u->base = base;
    u->nw = nworkers;
    u->publish = publish;
    u->engine = engine;
    u->payload_rng = ps_rand_derive(seed, 5000);
    u->payload_seed = ps_rand_next(&u->payload_rng);
    ps_status s = PS_OK;
    if (u->mod && u->mod->version != PS_SIM_MODULE_VERSION)
        s = ps_error(PS_ERR_INVALID_ARG, 0, "the loaded module is of version %d; this jetsim reads version %d",
                     u->mod->version, PS_SIM_MODULE_VERSION);
    for (int i = 0; i < nworkers && !s; i++) {
        const sim_workers *g = &sc->workers[worker_group[i]];
        u->w[i].rng = ps_rand_derive(seed, 6000 + (uint64_t)i);
        if (g->handler[0])
            s = find_handler(u, g, &u->w[i].h);
    }
    for (int i = 0; i < sc->npublishers && !s; i++)
        if (sc->publishers[i].payload[0])
            s = find_payload(u, &sc->publishers[i], &u->payload[i]);
    if (!s && sc->has_database) {
        static unsigned long serial; /* one name per VFS alive at once; the run is single-threaded */
        char name[64];
        snprintf(name, sizeof name, "jetsim-user-%lu-%p", ++serial, (void *)u);
        if (!(s = sim_dbvfs_new(&u->vfs, name, ps_rand_derive(seed, 7000).s[0], clock)))
            s = create_db(u);
    }
    if (s) {
        sim_user_close(u);
        return s;
    }
    *out = u;
    return PS_OK;
}

static void ctx_init(ps_sim_ctx *c, sim_user *u, int wi, uint64_t job, int64_t now)
{
    *c = (ps_sim_ctx){.u = u, .wi = wi, .job = job, .now0 = now, .rng = wi >= 0 ? &u->w[wi].rng : &u->payload_rng};
}

void sim_user_close(sim_user *u)
{
    if (!u)
        return;
    for (int i = 0; i < u->nw; i++) {
        uworker *w = &u->w[i];
        if (w->live && w->h && w->h->teardown) {
            ps_sim_ctx c;
            ctx_init(&c, u, i, 0, ps_clock_now(u->clock));
            enter(&c);
            w->h->teardown(&c, w->state);
            leave(&c);
        }
        close_worker_db(w);
    }
    sim_dbvfs_free(u->vfs);
    for (size_t i = 0; i < u->nledger; i++)
        free(u->ledger[i].key);
    free(u->ledger);
    free(u->acted);
    free(u->w);
    free(u);
}

/* ---- workers ---------------------------------------------------------------------------------- */

ps_status sim_user_worker_start(sim_user *u, int wi)
{
    uworker *w = &u->w[wi];
    w->live = false;
    w->state = NULL;
    w->dead = false;
    w->writes = 0;
    if (!w->h)
        return PS_OK;
    if (w->h->init) {
        ps_sim_ctx c;
        ctx_init(&c, u, wi, 0, ps_clock_now(u->clock));
        enter(&c);
        int rc = w->h->init(&c, &w->state);
        leave(&c);
        if (rc != 0)
            return ps_error(PS_ERR_INTERNAL, 0, "handler %s: init failed for worker %d", w->h->name, wi + 1);
    }
    w->live = true;
    return PS_OK;
}

void sim_user_worker_crash(sim_user *u, int wi)
{
    uworker *w = &u->w[wi];
    if (u->vfs) /* kill -9: its handles die holding what they wrote; the next connection rolls back */
        sim_dbvfs_process_crash(u->vfs, (uint32_t)wi + 1);
    close_worker_db(w); /* a zombie until teardown finalizes its statements (sqlite3_close_v2) */
    if (w->live && w->h && w->h->teardown) { /* the memory only: the process is gone, and its database with it */
        ps_sim_ctx c;
        ctx_init(&c, u, wi, 0, ps_clock_now(u->clock));
        c.crashed = true;
        enter(&c);
        w->h->teardown(&c, w->state);
        leave(&c);
    }
    w->live = false;
    w->state = NULL;
}

void sim_user_crash_at_write(sim_user *u, int wi, int64_t n)
{
    uworker *w = &u->w[wi];
    w->crash_at = n;
    w->writes = 0;
    w->dead = false;
    arm_hooks(w);
}

void sim_user_handle(sim_user *u, int wi, uint64_t job, const ps_msg *m, int64_t now, sim_user_answer *out)
{
    uworker *w = &u->w[wi];
    ps_sim_ctx c;
    ctx_init(&c, u, wi, job, now);
    enter(&c);
    out->outcome = w->h->handle(&c, w->state, m);
    leave(&c);
    out->elapsed_ns = c.elapsed;
    out->crashed = w->dead;
    if (w->dead) { /* the crash point: the process died inside the handler */
        w->dead = false;
        w->crash_at = 0;
        arm_hooks(w);
    }
}

/* ---- payloads --------------------------------------------------------------------------------- */

bool sim_user_has_payload(const sim_user *u, int pi)
{
    return u && u->payload[pi];
}

ps_status sim_user_payload(sim_user *u, int pi, uint64_t job, int64_t key, int64_t now, char *buf, size_t cap,
                           size_t *len)
{
    ps_sim_ctx c;
    ctx_init(&c, u, -1, job, now);
    ps_rand rng = ps_rand_derive(u->payload_seed, job); /* a retry resends the same bytes */
    c.rng = &rng;
    enter(&c);
    int n = u->payload[pi]->make(&c, job, key, buf, cap);
    leave(&c);
    if (n < 0 || (size_t)n > cap)
        return ps_error(PS_ERR_INVALID_ARG, 0, "payload %s failed for job %" PRIu64 " (returned %d, room %zu)",
                        u->payload[pi]->name, job, n, cap);
    *len = (size_t)n;
    return PS_OK;
}

/* ---- faults ----------------------------------------------------------------------------------- */

void sim_user_db_fail(sim_user *u, bool lock, int bp)
{
    if (!u || !u->vfs)
        return;
    int pct = (bp + 50) / 100; /* the VFS draws whole percents */
    if (bp > 0 && pct == 0)
        pct = 1;
    sim_dbvfs_fail(u->vfs, lock ? SIM_DBVFS_LOCK : SIM_DBVFS_READ | SIM_DBVFS_WRITE | SIM_DBVFS_SYNC, pct);
}

void sim_user_power_loss(sim_user *u)
{
    if (!u || !u->vfs)
        return;
    sim_dbvfs_power_loss(u->vfs);
    for (int i = 0; i < u->nw; i++)
        close_worker_db(&u->w[i]); /* dead handles: each worker reconnects at its next use */
}

void sim_user_service_down(sim_user *u, int si, bool on)
{
    if (u && si >= 0 && si < SIM_MAX_SERVICES)
        u->down[si] = on;
}

void sim_user_service_slow(sim_user *u, int si, int64_t extra_ns)
{
    if (u && si >= 0 && si < SIM_MAX_SERVICES)
        u->slower_ns[si] = extra_ns;
}

/* ---- inside a handler: ps_sim.h --------------------------------------------------------------- */

int64_t ps_sim_now(const ps_sim_ctx *ctx)
{
    return ctx ? ctx->now0 + ctx->elapsed - ctx->u->base : 0;
}

int64_t sim_user_wall_ns(const ps_sim_ctx *ctx)
{
    return ctx->now0 + ctx->elapsed; /* the manual clock reads a wall-clock date */
}

uint64_t ps_sim_rand(ps_sim_ctx *ctx)
{
    return ctx ? ps_rand_next(ctx->rng) : 0;
}

void ps_sim_sleep(ps_sim_ctx *ctx, int64_t ns)
{
    if (ctx && ns > 0 && ns <= PS_DURATION_MAX_NS)
        ctx->elapsed += ns;
}

int ps_sim_worker(const ps_sim_ctx *ctx)
{
    return ctx ? ctx->wi + 1 : 0;
}

uint64_t ps_sim_job(const ps_sim_ctx *ctx)
{
    return ctx ? ctx->job : 0;
}

struct sqlite3 *ps_sim_db(ps_sim_ctx *ctx)
{
    if (!ctx || !ctx->u->vfs || ctx->wi < 0 || ctx->crashed)
        return NULL;
    uworker *w = &ctx->u->w[ctx->wi];
    if (!w->db && open_db(ctx->u, &w->db) == PS_OK)
        arm_hooks(w);
    return w->db;
}

static int service_index(const sim_scenario *sc, const char *name)
{
    for (int i = 0; i < sc->nservices; i++)
        if (strcmp(sc->services[i].name, name) == 0)
            return i;
    return -1;
}

static bool acted_add(sim_user *u, size_t r);

static void ledger_add(sim_user *u, const ps_sim_ctx *c, int si, const char *key, bool done)
{
    if (u->nledger == u->capledger) {
        size_t ncap = u->capledger ? u->capledger * 2 : 256;
        ledger_row *n = realloc(u->ledger, ncap * sizeof *n);
        if (!n)
            return; /* the check then sees fewer calls; the run goes on */
        u->ledger = n;
        u->capledger = ncap;
    }
    char *k = key ? strdup(key) : NULL;
    if (key && !k)
        return;
    u->ledger[u->nledger++] = (ledger_row){.t_ns = ps_sim_now(c), .service = si, .key = k,
                                           .worker = c->wi + 1, .job = c->job, .done = done};
    if (done && k)
        acted_add(u, u->nledger - 1);
}

static uint64_t key_hash(int si, const char *key)
{
    uint64_t h = UINT64_C(14695981039346656037) ^ (uint64_t)si;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * UINT64_C(1099511628211);
    return h;
}

/* Whether service si already acted on a call with this key. */
static bool acted_on(const sim_user *u, int si, const char *key)
{
    if (!u->capacted)
        return false;
    for (size_t i = key_hash(si, key) & (u->capacted - 1);; i = (i + 1) & (u->capacted - 1)) {
        size_t r = u->acted[i];
        if (!r)
            return false;
        const ledger_row *row = &u->ledger[r - 1];
        if (row->service == si && strcmp(row->key, key) == 0)
            return true;
    }
}

/* Remembers that ledger row `r` (done, with a key) acted. False when out
 * of memory (the key may then act again: the run goes on). */
static bool acted_add(sim_user *u, size_t r)
{
    if (2 * (u->nacted + 1) > u->capacted) {
        size_t ncap = u->capacted ? 2 * u->capacted : 1024;
        size_t *n = calloc(ncap, sizeof *n);
        if (!n)
            return false;
        for (size_t i = 0; i < u->capacted; i++) {
            size_t x = u->acted[i];
            if (!x)
                continue;
            size_t j = key_hash(u->ledger[x - 1].service, u->ledger[x - 1].key) & (ncap - 1);
            while (n[j])
                j = (j + 1) & (ncap - 1);
            n[j] = x;
        }
        free(u->acted);
        u->acted = n;
        u->capacted = ncap;
    }
    size_t j = key_hash(u->ledger[r].service, u->ledger[r].key) & (u->capacted - 1);
    while (u->acted[j])
        j = (j + 1) & (u->capacted - 1);
    u->acted[j] = r + 1;
    u->nacted++;
    return true;
}

ps_status ps_sim_call(ps_sim_ctx *ctx, const char *service, const char *key)
{
    if (!ctx || !service)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_sim_call: %s is NULL", ctx ? "service" : "ctx");
    sim_user *u = ctx->u;
    int si = service_index(u->sc, service);
    if (si < 0)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_sim_call: the scenario declares no service '%s'", service);
    const sim_service *sv = &u->sc->services[si];
    int64_t latency = ps_rand_range(ctx->rng, sv->latency_min_ns, sv->latency_max_ns) + u->slower_ns[si];
    bool again = key && acted_on(u, si, key); /* an idempotency key seen before: no second effect */
    if (u->down[si] || (sv->fail_bp && ps_rand_below(ctx->rng, 10000) < (uint64_t)sv->fail_bp)) {
        ctx->elapsed += sv->latency_min_ns; /* refused at once */
        ledger_add(u, ctx, si, key, false);
        return ps_error(PS_ERR_UNAVAILABLE, 0, "service %s refused the call", service);
    }
    if (sv->timeout_ns > 0 && latency > sv->timeout_ns) {
        ctx->elapsed += sv->timeout_ns; /* the caller gives up; the service goes on and acts */
        ledger_add(u, ctx, si, key, !again);
        return ps_error(PS_ERR_TIMEOUT, 0, "service %s did not answer within %" PRId64 " ms", service,
                        sv->timeout_ns / PS_NS_PER_MS);
    }
    ctx->elapsed += latency;
    ledger_add(u, ctx, si, key, !again);
    return PS_OK;
}

ps_status ps_sim_publish(ps_sim_ctx *ctx, const char *subject, const void *data, size_t len)
{
    if (!ctx || !subject || (!data && len))
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_sim_publish: a NULL argument");
    if (ctx->wi < 0)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_sim_publish: not from a payload maker");
    uint64_t job = 0;
    return ctx->u->publish(ctx->u->engine, subject, data, len, &job);
}

/* ---- expect sql ------------------------------------------------------------------------------- */

/* ---- the service ledger as a table: jetsim.service_calls ------------------------------------
 *
 * A read-only virtual table over the ledger in memory (SQLite's virtual
 * table interface): the checks read the calls where they are. */

typedef struct ledger_vtab {
    sqlite3_vtab base;
    const sim_user *u;
} ledger_vtab;

typedef struct ledger_cursor {
    sqlite3_vtab_cursor base;
    size_t row;
} ledger_cursor;

static int lv_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out, char **err)
{
    (void)argc;
    (void)argv;
    (void)err;
    int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(t_ns INTEGER, service TEXT, key TEXT, worker INTEGER, "
                                      "job INTEGER, done INTEGER)");
    if (rc != SQLITE_OK)
        return rc;
    ledger_vtab *v = sqlite3_malloc(sizeof *v);
    if (!v)
        return SQLITE_NOMEM;
    memset(v, 0, sizeof *v);
    v->u = aux;
    *out = &v->base;
    return SQLITE_OK;
}

static int lv_disconnect(sqlite3_vtab *v)
{
    sqlite3_free(v);
    return SQLITE_OK;
}

static int lv_best_index(sqlite3_vtab *v, sqlite3_index_info *info)
{
    (void)v;
    info->estimatedCost = 1e6; /* a full scan, the only way */
    return SQLITE_OK;
}

static int lv_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
    (void)v;
    ledger_cursor *c = sqlite3_malloc(sizeof *c);
    if (!c)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof *c);
    *out = &c->base;
    return SQLITE_OK;
}

static int lv_close(sqlite3_vtab_cursor *c)
{
    sqlite3_free(c);
    return SQLITE_OK;
}

static int lv_filter(sqlite3_vtab_cursor *c, int idx, const char *idxs, int argc, sqlite3_value **argv)
{
    (void)idx;
    (void)idxs;
    (void)argc;
    (void)argv;
    ((ledger_cursor *)c)->row = 0;
    return SQLITE_OK;
}

static int lv_next(sqlite3_vtab_cursor *c)
{
    ((ledger_cursor *)c)->row++;
    return SQLITE_OK;
}

static int lv_eof(sqlite3_vtab_cursor *c)
{
    const ledger_vtab *v = (const ledger_vtab *)c->pVtab;
    return ((ledger_cursor *)c)->row >= v->u->nledger;
}

static int lv_column(sqlite3_vtab_cursor *c, sqlite3_context *ctx, int col)
{
    const ledger_vtab *v = (const ledger_vtab *)c->pVtab;
    const ledger_row *r = &v->u->ledger[((ledger_cursor *)c)->row];
    switch (col) {
    case 0: sqlite3_result_int64(ctx, r->t_ns); break;
    case 1: sqlite3_result_text(ctx, v->u->sc->services[r->service].name, -1, SQLITE_STATIC); break;
    case 2:
        if (r->key)
            sqlite3_result_text(ctx, r->key, -1, SQLITE_STATIC);
        else
            sqlite3_result_null(ctx);
        break;
    case 3: sqlite3_result_int(ctx, r->worker); break;
    case 4: sqlite3_result_int64(ctx, (sqlite3_int64)r->job); break;
    default: sqlite3_result_int(ctx, r->done); break;
    }
    return SQLITE_OK;
}

static int lv_rowid(sqlite3_vtab_cursor *c, sqlite3_int64 *rowid)
{
    *rowid = (sqlite3_int64)((ledger_cursor *)c)->row + 1;
    return SQLITE_OK;
}

static const sqlite3_module ledger_module = {
    .xCreate = lv_connect,
    .xConnect = lv_connect,
    .xBestIndex = lv_best_index,
    .xDisconnect = lv_disconnect,
    .xDestroy = lv_disconnect,
    .xOpen = lv_open,
    .xClose = lv_close,
    .xFilter = lv_filter,
    .xNext = lv_next,
    .xEof = lv_eof,
    .xColumn = lv_column,
    .xRowid = lv_rowid,
};

static ps_status load_ledger(sim_user *u, sqlite3 *db)
{
    char *err = NULL;
    int rc = sqlite3_create_module(db, "jetsim_ledger", &ledger_module, u);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db,
                          "ATTACH ':memory:' AS jetsim;"
                          "CREATE VIRTUAL TABLE jetsim.service_calls USING jetsim_ledger;",
                          NULL, NULL, &err);
    if (rc != SQLITE_OK) {
        ps_status s = ps_error(sqlite_status(rc), 0, "the service ledger: %s", err ? err : sqlite3_errstr(rc));
        sqlite3_free(err);
        return s;
    }
    return PS_OK;
}

/* "(a, b), (c, d)" of up to three rows, then how many more. */
static void describe_rows(sqlite3_stmt *st, char *out, size_t cap)
{
    size_t n = 0;
    int rows = 0;
    out[0] = '\0';
    do {
        if (++rows > 3)
            continue;
        int k = snprintf(out + n, n < cap ? cap - n : 0, "%s(", rows > 1 ? ", " : "");
        n += k > 0 ? (size_t)k : 0;
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            const unsigned char *v = sqlite3_column_text(st, c);
            k = snprintf(out + n, n < cap ? cap - n : 0, "%s%.60s", c ? ", " : "", v ? (const char *)v : "NULL");
            n += k > 0 ? (size_t)k : 0;
        }
        k = snprintf(out + n, n < cap ? cap - n : 0, ")");
        n += k > 0 ? (size_t)k : 0;
    } while (sqlite3_step(st) == SQLITE_ROW);
    if (rows > 3)
        snprintf(out + n, n < cap ? cap - n : 0, " and %d more", rows - 3);
}

/* The job an unwanted row names: its first column is called job and
 * holds a positive integer; else 0. */
static uint64_t row_job(sqlite3_stmt *st)
{
    const char *name = sqlite3_column_name(st, 0);
    if (!name || sqlite3_stricmp(name, "job") != 0 || sqlite3_column_type(st, 0) != SQLITE_INTEGER)
        return 0;
    int64_t job = sqlite3_column_int64(st, 0);
    return job > 0 ? (uint64_t)job : 0;
}

static ps_status check_one(sqlite3 *db, const sim_scenario *sc, const sim_sql_expect *x, char *violation, size_t cap,
                           bool *failed, uint64_t *job)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, x->sql, -1, &st, NULL) != SQLITE_OK)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s:%d:%d: expect sql: %s", sc->file, x->pos.line, x->pos.col,
                        sqlite3_errmsg(db));
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        ps_status s = ps_error(PS_ERR_INVALID_ARG, 0, "%s:%d:%d: expect sql: %s", sc->file, x->pos.line,
                               x->pos.col, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return s;
    }
    if (x->empty && rc == SQLITE_ROW) {
        char rows[300];
        *job = row_job(st); /* before describe_rows steps past the first row */
        describe_rows(st, rows, sizeof rows);
        snprintf(violation, cap, "sql (line %d): expected no rows from \"%.120s\", got %s", x->pos.line, x->sql, rows);
        *failed = true;
    } else if (!x->empty) {
        int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        if (rc != SQLITE_ROW || v != x->equals) {
            snprintf(violation, cap, "sql (line %d): expected %" PRId64 " from \"%.120s\", got %s%" PRId64,
                     x->pos.line, x->equals, x->sql, rc == SQLITE_ROW ? "" : "no row, ", v);
            *failed = true;
        }
    }
    sqlite3_finalize(st);
    return PS_OK;
}

ps_status sim_user_check(sim_user *u, char *violation, size_t cap, bool *failed, uint64_t *job)
{
    *failed = false;
    *job = 0;
    if (!u || u->sc->nsql == 0)
        return PS_OK;
    sqlite3 *db = NULL;
    ps_status s;
    if (u->vfs) {
        sim_dbvfs_fail(u->vfs, SIM_DBVFS_ALL, 0); /* the checks read a healed database */
        s = open_db(u, &db);
    } else {
        s = sqlite3_open(":memory:", &db) == SQLITE_OK ? PS_OK
                                                       : ps_error(PS_ERR_NO_MEMORY, 0, "expect sql: cannot open");
    }
    if (!s)
        s = load_ledger(u, db);
    for (int i = 0; i < u->sc->nsql && !s && !*failed; i++)
        s = check_one(db, u->sc, &u->sc->sql[i], violation, cap, failed, job);
    sqlite3_close_v2(db);
    return s;
}
