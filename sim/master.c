/* master.c — the master database over SQLite (see master.h).
 *
 * Speed comes from four things: one transaction per batch (write-ahead
 * log, never synced: a kill -9 at any moment leaves the last committed
 * batch, readable and consistent; a run database is a record, not a bank,
 * so a power loss is not guarded against), prepared statements,
 * rows written 64 to a statement, and job rows written behind. The mirror
 * (an array indexed by job id) holds each job's whole row; a change is
 * decided there (the version compare-and-set included) and marks the row
 * dirty; dirty rows go out as upserts that only ever move a row's version
 * forward, before every commit. A job published and finished inside one
 * batch is therefore one row written once, not three statements. A
 * database in memory, which only this process can read, gets its job rows
 * when it is read (sim_master_db, sim_master_job_stored), not per commit.
 */
#include "master.h"
#include "job_arrays.h"
#include "ps_backend_impl.h"
#include "scenario.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TRACE_ROWS 64 /* rows per INSERT */
/* Dirty job rows held back until a commit (or until this many are held):
 * a job's add, start and completion between two commits are one row
 * written once, not three (with a flush at 64 dirty rows most jobs were
 * written two or three times, the run's largest cost). The engine commits
 * every COMMIT_EVERY events, a few changes per job, so the list seldom
 * fills. */
#define DIRTY_ROWS 65536

typedef struct trace_row {
    int64_t t_ns;
    int kind;
    uint64_t job;
    int worker;
    int64_t arg;
} trace_row;

typedef struct job_row {
    sim_job_view v;
    int64_t published_ns, done_ns;
    bool dirty;        /* changed since it was last written */
    bool for_consumer; /* its consumer is owed the job (jobs.for_consumer) */
} job_row;

struct sim_master {
    sqlite3 *db;
    sqlite3_stmt *job_one, *job_many, *heartbeat, *trace_many, *trace_one;
    uint64_t dirty[DIRTY_ROWS]; /* ids of rows to write, in the order they were first changed */
    int ndirty;
    job_row *jobs; /* index = job id; [0] unused */
    uint64_t njobs, capjobs;
    trace_row pending[TRACE_ROWS];
    int npending;
    ps_status fault_status;
    int fault_count;
    /* A database in memory is read by no one but this process, through
     * sim_master_db and sim_master_job_stored: its job rows are written
     * when one of those asks, not at every commit (a run that passes never
     * writes them: the rows were the largest cost of a swarm's seed). */
    bool write_on_read;
    uint64_t unwritten; /* dirty rows not in the list (write_on_read) */
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=OFF;" /* no fsync: a kill -9 loses nothing the OS has; only power loss could */
    "BEGIN;" /* the tables and the run row appear together (committed in sim_master_open) */
    "CREATE TABLE run(scenario TEXT NOT NULL, seed INTEGER NOT NULL, backend TEXT NOT NULL DEFAULT 'memory',"
    " mix INTEGER NOT NULL DEFAULT 0, finished INTEGER NOT NULL DEFAULT 0, verdict TEXT, first_violation TEXT,"
    " trace_hash TEXT, trace_events INTEGER, replay TEXT, start_ns INTEGER, consumers INTEGER NOT NULL DEFAULT 1,"
    " first_bad_job INTEGER);"
    "CREATE TABLE workloads(publisher INTEGER PRIMARY KEY, path TEXT NOT NULL, hash TEXT NOT NULL);"
    "CREATE TABLE jobs(id INTEGER PRIMARY KEY, key INTEGER, state INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL, completions INTEGER NOT NULL, version INTEGER NOT NULL,"
    " published_ns INTEGER, done_ns INTEGER, for_consumer INTEGER NOT NULL DEFAULT 1);"
    "CREATE TABLE workers(id INTEGER PRIMARY KEY, heartbeat_ns INTEGER, lease_until_ns INTEGER);"
    "CREATE TABLE trace(t_ns INTEGER NOT NULL, kind INTEGER NOT NULL, job INTEGER, worker INTEGER,"
    " arg INTEGER);"
    "CREATE TABLE trace_kinds(kind INTEGER PRIMARY KEY, name TEXT NOT NULL);"
    "INSERT INTO trace_kinds VALUES (0,'publish'),(1,'publish_failed'),(2,'deliver'),(3,'start'),"
    " (4,'commit'),(5,'stale'),(6,'ack'),(7,'nak'),(8,'term'),(9,'fault'),(10,'db_error'),"
    " (11,'unsent'),(12,'dead_letter'),(13,'early'),(14,'delayed'),(15,'restart');"
    "CREATE VIEW trace_named AS SELECT t_ns, name AS kind, job, worker, arg FROM trace"
    " JOIN trace_kinds USING (kind);"
    /* what the integers mean, for a person reading the database (master.h lists it) */
    "CREATE TABLE job_states(state INTEGER PRIMARY KEY, name TEXT NOT NULL);"
    "INSERT INTO job_states VALUES (0,'published'),(1,'running'),(2,'done'),(3,'failed');"
    "CREATE TABLE ack_kinds(kind INTEGER PRIMARY KEY, name TEXT NOT NULL);"
    "INSERT INTO ack_kinds VALUES (0,'ack'),(1,'nak'),(2,'in_progress'),(3,'term');"
    "CREATE TABLE fault_kinds(kind INTEGER PRIMARY KEY, name TEXT NOT NULL);"
    "CREATE TABLE faults(fault INTEGER PRIMARY KEY, kind INTEGER NOT NULL, at_ns INTEGER NOT NULL,"
    " duration_ns INTEGER NOT NULL, worker INTEGER, pct REAL, line INTEGER);"
    /* trace and jobs rows are per (job, consumer): row = (job-1)*consumers + consumer + 1 (consumer
     * 0-based), except the publisher's rows, which name the job itself. The views number consumers
     * from 1, in scenario order, as explain ("consumer 1 (orders)") and the HTML page (c1) do */
    "CREATE VIEW story AS SELECT t.rowid AS n, (t.t_ns - coalesce(r.start_ns, 0)) / 1e9 AS t_s, k.name AS kind,"
    " CASE WHEN t.kind IN (0,1) THEN t.job WHEN t.job > 0 THEN (t.job - 1) / r.consumers + 1 END AS job,"
    " CASE WHEN t.kind IN (0,1) OR t.job = 0 THEN NULL ELSE t.job END AS row,"
    " CASE WHEN t.kind IN (0,1) OR t.job = 0 THEN NULL ELSE (t.job - 1) % r.consumers + 1 END AS consumer,"
    " CASE WHEN t.worker > 0 THEN t.worker END AS worker,"
    " CASE t.kind WHEN 0 THEN t.arg END AS stream_seq, CASE t.kind WHEN 1 THEN t.arg END AS tries,"
    /* a deliver row's arg is the stream's count (num_delivered); attempt counts the deliveries
     * to a handler, as jobs.attempts and explain do: the row's deliver rows so far */
    " CASE t.kind WHEN 2 THEN t.arg END AS delivery, CASE t.kind WHEN 2 THEN count(*) OVER"
    " (PARTITION BY t.kind, t.job ORDER BY t.rowid ROWS UNBOUNDED PRECEDING) END AS attempt,"
    " CASE WHEN t.kind IN (4,5) THEN t.arg END AS version,"
    " CASE t.kind WHEN 9 THEN (SELECT name FROM fault_kinds f WHERE f.kind = t.arg) END AS fault,"
    " CASE t.kind WHEN 11 THEN (SELECT name FROM ack_kinds a WHERE a.kind = t.arg) END AS unsent,"
    " t.t_ns, t.arg FROM trace t JOIN trace_kinds k ON k.kind = t.kind, run r;"
    /* the jobs the worker layer dead-lettered (workers dead_letter=), with why */
    "CREATE VIEW dead_letters AS SELECT job, consumer, worker, t_s,"
    " CASE arg WHEN 1 THEN 'term' ELSE 'max_deliver' END AS reason FROM story WHERE kind = 'dead_letter';"
    /* a row whose consumer's filter does not take the job stays published and is no job of that
     * consumer's: its state says so, so that counting states counts each consumer's jobs */
    "CREATE VIEW jobs_named AS SELECT j.id AS row, (j.id - 1) / r.consumers + 1 AS job,"
    " (j.id - 1) % r.consumers + 1 AS consumer, j.for_consumer, j.key,"
    " CASE WHEN j.for_consumer = 0 AND j.state = 0 THEN 'not for this consumer' ELSE s.name END AS state,"
    " j.attempts, j.completions, j.version,"
    " (j.published_ns - coalesce(r.start_ns, 0)) / 1e9 AS published_s, (j.done_ns - coalesce(r.start_ns, 0)) / 1e9"
    " AS done_s FROM jobs j JOIN job_states s USING (state), run r;"
    "CREATE VIEW faults_named AS SELECT f.fault, k.name, f.at_ns / 1e9 AS at_s, f.duration_ns / 1e9 AS for_s,"
    " f.worker, f.pct, f.line FROM faults f JOIN fault_kinds k USING (kind);";

const char *sim_master_state_name(sim_job_state state)
{
    static const char *const names[] = {"published", "running", "done", "failed"}; /* job_states, above */
    return (unsigned)state < sizeof names / sizeof names[0] ? names[state] : "?";
}

static ps_status db_fail(sqlite3 *db, const char *what)
{
    return ps_error(PS_ERR_IO, 0, "master database: %s: %s", what, db ? sqlite3_errmsg(db) : "no handle");
}

static ps_status exec(sim_master *m, const char *sql, const char *what)
{
    char *err = NULL;
    if (sqlite3_exec(m->db, sql, NULL, NULL, &err) == SQLITE_OK)
        return PS_OK;
    ps_status s = ps_error(PS_ERR_IO, 0, "master database: %s: %s", what, err ? err : "?");
    sqlite3_free(err);
    return s;
}

static ps_status prepare(sim_master *m, const char *sql, sqlite3_stmt **st)
{
    return sqlite3_prepare_v2(m->db, sql, -1, st, NULL) == SQLITE_OK ? PS_OK : db_fail(m->db, sql);
}

#define JOB_COLS "(?,?,?,?,?,?,?,?,?)"
#define JOB_UPSERT " ON CONFLICT(id) DO UPDATE SET state=excluded.state, attempts=excluded.attempts," \
                   " completions=excluded.completions, version=excluded.version, done_ns=excluded.done_ns" \
                   " WHERE excluded.version > jobs.version"

/* The statements that write TRACE_ROWS rows at once, prepared when first
 * needed: a run that writes fewer rows (a database in memory, a short
 * run) does not pay for compiling them, a third of opening a database. */
static ps_status prepare_job_many(sim_master *m)
{
    char jobs_many[512 + TRACE_ROWS * 20] = "INSERT INTO jobs VALUES " JOB_COLS;
    for (int i = 1; i < TRACE_ROWS; i++)
        strcat(jobs_many, "," JOB_COLS);
    strcat(jobs_many, JOB_UPSERT);
    return m->job_many ? PS_OK : prepare(m, jobs_many, &m->job_many);
}

static ps_status prepare_trace_many(sim_master *m)
{
    char many[64 + TRACE_ROWS * 12] = "INSERT INTO trace VALUES (?,?,?,?,?)";
    for (int i = 1; i < TRACE_ROWS; i++)
        strcat(many, ",(?,?,?,?,?)");
    return m->trace_many ? PS_OK : prepare(m, many, &m->trace_many);
}

static ps_status prepare_all(sim_master *m)
{
    ps_status s = prepare(m, "INSERT INTO jobs VALUES " JOB_COLS JOB_UPSERT, &m->job_one);
    if (!s)
        s = prepare(m, "INSERT INTO workers VALUES (?,?,?) ON CONFLICT(id) DO UPDATE SET"
                       " heartbeat_ns=excluded.heartbeat_ns, lease_until_ns=excluded.lease_until_ns",
                    &m->heartbeat);
    if (!s)
        s = prepare(m, "INSERT INTO trace VALUES (?,?,?,?,?)", &m->trace_one);
    return s;
}

/* Runs a bound statement to completion and resets it. */
static ps_status step(sim_master *m, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st); /* every call binds every parameter: no clearing */
    return rc == SQLITE_DONE ? PS_OK : db_fail(m->db, what);
}

/* Consumes one injected failure, if any. */
static ps_status injected(sim_master *m, const char *what)
{
    if (m->fault_count <= 0)
        return PS_OK;
    m->fault_count--;
    return m->fault_status == PS_ERR_TIMEOUT
               ? ps_error(PS_ERR_TIMEOUT, 0, "master database: %s: database is locked (injected)", what)
               : ps_error(PS_ERR_IO, 0, "master database: %s: disk I/O error (injected)", what);
}

/* Whether `path` may be replaced by a new run database: it does not exist,
 * is empty, or is itself a jetsim run database (it has the run and trace
 * tables). Anything else is a user's file that --db named by mistake. */
static bool replaceable(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return errno == ENOENT;
    if (!S_ISREG(sb.st_mode))
        return false;
    if (sb.st_size == 0)
        return true;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    bool ok = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
              sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                                     "name IN ('run', 'trace')", -1, &st, NULL) == SQLITE_OK &&
              sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 2;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return ok;
}

/* The fault_kinds table, from the scenario language's own list of faults
 * (the trace's fault rows carry a sim_fault_kind). */
static ps_status fault_kinds(sim_master *m)
{
    sqlite3_stmt *st = NULL;
    ps_status s = prepare(m, "INSERT INTO fault_kinds VALUES (?,?)", &st);
    for (int k = 0; !s && k < SIM_FAULT_KIND_COUNT; k++) {
        sqlite3_bind_int(st, 1, k);
        sqlite3_bind_text(st, 2, sim_fault_name((sim_fault_kind)k), -1, SQLITE_STATIC);
        s = step(m, st, "recording the fault kinds");
    }
    sqlite3_finalize(st);
    return s;
}

/* The tables of a database in memory, as an image (sqlite3_serialize) that
 * the first such run of the process made: every later one loads it
 * (sqlite3_deserialize) instead of compiling the schema again, which was
 * 4-5% of a swarm seed. Only a database in memory: a run database on disk
 * keeps its tables and its run row in one transaction (a kill -9 leaves
 * both or neither). Guarded: runs may be opened on several threads. */
static struct {
    pthread_mutex_t lock;
    unsigned char *image; /* sqlite3_malloc'd, kept for the process's life */
    sqlite3_int64 len;
} g_template = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The tables and the fault kinds on m's new database in memory, from the
 * template (or made here, and kept as the template), and a transaction
 * begun for the run row, as exec(m, schema) leaves it. */
static ps_status memory_tables(sim_master *m)
{
    pthread_mutex_lock(&g_template.lock);
    if (g_template.image) {
        sqlite3_int64 len = g_template.len;
        unsigned char *copy = sqlite3_malloc64((sqlite3_uint64)len);
        if (copy)
            memcpy(copy, g_template.image, (size_t)len);
        pthread_mutex_unlock(&g_template.lock);
        if (!copy)
            return ps_error(PS_ERR_NO_MEMORY, 0, "master database: out of memory");
        /* the connection owns the copy from here, even when this fails */
        if (sqlite3_deserialize(m->db, "main", copy, len, len,
                                SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE) != SQLITE_OK)
            return db_fail(m->db, "loading the tables");
        return exec(m, "BEGIN", "begin");
    }
    ps_status s = exec(m, schema, ":memory:");
    if (!s)
        s = fault_kinds(m);
    if (!s)
        s = exec(m, "COMMIT", "creating the run database");
    if (!s) {
        sqlite3_int64 len = 0;
        unsigned char *image = sqlite3_serialize(m->db, "main", &len, 0);
        if (!image)
            s = ps_error(PS_ERR_NO_MEMORY, 0, "master database: out of memory");
        g_template.image = image;
        g_template.len = len;
    }
    pthread_mutex_unlock(&g_template.lock);
    return s ? s : exec(m, "BEGIN", "begin");
}

ps_status sim_master_open(sim_master **out, const char *path, const char *scenario_text, uint64_t seed)
{
    if (!out || !path)
        return ps_error(PS_ERR_INVALID_ARG, 0, "sim_master_open: NULL argument");
    sim_master *m = calloc(1, sizeof *m);
    if (!m)
        return ps_error(PS_ERR_NO_MEMORY, 0, "master database: out of memory");
    if (strcmp(path, ":memory:") != 0 && !replaceable(path)) {
        free(m);
        return ps_error(PS_ERR_INVALID_ARG, 0, "master database: %s exists and is not a jetsim run "
                        "database: not replaced (give another --db path)", path);
    }
    if (strcmp(path, ":memory:") != 0 && unlink(path) != 0 && access(path, F_OK) == 0) {
        free(m);
        return ps_error(PS_ERR_IO, 0, "master database: cannot replace %s", path);
    }
    if (strcmp(path, ":memory:") != 0) { /* a killed run's log must not be replayed into the new file */
        char side[4096];
        snprintf(side, sizeof side, "%s-wal", path);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", path);
        unlink(side);
    }
    ps_status s = PS_OK;
    m->write_on_read = strcmp(path, ":memory:") == 0;
    /* one thread owns a run's database: no mutexes */
    if (sqlite3_open_v2(path, &m->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK)
        s = ps_error(PS_ERR_IO, 0, "master database: cannot open %s: %s", path,
                     m->db ? sqlite3_errmsg(m->db) : "out of memory");
    if (!s)
        s = m->write_on_read ? memory_tables(m) : exec(m, schema, path);
    sqlite3_stmt *run = NULL;
    if (!s)
        s = prepare(m, "INSERT INTO run(scenario, seed) VALUES (?,?)", &run);
    if (!s) {
        sqlite3_bind_text(run, 1, scenario_text ? scenario_text : "", -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(run, 2, (sqlite3_int64)seed);
        s = step(m, run, "recording the run");
    }
    sqlite3_finalize(run);
    if (!s && !m->write_on_read) /* (in memory: the template has them) */
        s = fault_kinds(m);
    if (!s)
        s = exec(m, "COMMIT", "creating the run database");
    if (!s)
        s = prepare_all(m);
    if (!s)
        s = exec(m, "BEGIN", "begin");
    if (s) {
        sim_master_close(m);
        return s;
    }
    *out = m;
    return PS_OK;
}

static void bind_job(sqlite3_stmt *st, int b, uint64_t id, const job_row *r)
{
    sqlite3_bind_int64(st, b + 1, (sqlite3_int64)id);
    if (r->v.key >= 0)
        sqlite3_bind_int64(st, b + 2, r->v.key);
    else
        sqlite3_bind_null(st, b + 2);
    sqlite3_bind_int(st, b + 3, (int)r->v.state);
    sqlite3_bind_int(st, b + 4, r->v.attempts);
    sqlite3_bind_int(st, b + 5, r->v.completions);
    sqlite3_bind_int64(st, b + 6, r->v.version);
    sqlite3_bind_int64(st, b + 7, r->published_ns);
    if (r->v.state == SIM_JOB_DONE)
        sqlite3_bind_int64(st, b + 8, r->done_ns);
    else
        sqlite3_bind_null(st, b + 8);
    sqlite3_bind_int(st, b + 9, r->for_consumer);
}

/* Writes the dirty job rows: 64 to a statement, the rest one by one.
 * The rows a failed statement held stay dirty, for the next flush. */
static ps_status flush_jobs(sim_master *m)
{
    int n = m->ndirty, done = 0;
    ps_status s = n >= TRACE_ROWS ? prepare_job_many(m) : PS_OK;
    while (!s && done < n) {
        bool many = n - done >= TRACE_ROWS;
        sqlite3_stmt *st = many ? m->job_many : m->job_one;
        int rows = many ? TRACE_ROWS : 1;
        for (int k = 0; k < rows; k++)
            bind_job(st, k * 9, m->dirty[done + k], &m->jobs[m->dirty[done + k]]);
        if (!(s = step(m, st, "write job")))
            done += rows;
    }
    for (int i = 0; i < done; i++)
        m->jobs[m->dirty[i]].dirty = false;
    memmove(m->dirty, m->dirty + done, (size_t)(n - done) * sizeof m->dirty[0]);
    m->ndirty = n - done;
    return s;
}

/* Writes every dirty row, those a database in memory held back included. */
static ps_status write_all_jobs(sim_master *m)
{
    ps_status s = flush_jobs(m);
    for (uint64_t id = 1; !s && m->unwritten > 0 && id <= m->njobs; id++) {
        if (!m->jobs[id].dirty)
            continue;
        m->dirty[m->ndirty++] = id;
        m->unwritten--;
        if (m->ndirty == DIRTY_ROWS)
            s = flush_jobs(m);
    }
    return s ? s : flush_jobs(m);
}

static ps_status mark_dirty(sim_master *m, uint64_t id)
{
    if (m->jobs[id].dirty)
        return PS_OK;
    if (m->write_on_read) {
        m->jobs[id].dirty = true;
        m->unwritten++;
        return PS_OK;
    }
    ps_status s = m->ndirty == DIRTY_ROWS ? flush_jobs(m) : PS_OK; /* full after a failed flush */
    if (s)
        return s;
    m->jobs[id].dirty = true;
    m->dirty[m->ndirty++] = id;
    return m->ndirty == DIRTY_ROWS ? flush_jobs(m) : PS_OK;
}

static ps_status flush_trace(sim_master *m)
{
    int n = m->npending;
    m->npending = 0; /* a failed write loses its rows, as a failed step does, and says so */
    ps_status s = n == TRACE_ROWS ? prepare_trace_many(m) : PS_OK;
    if (s)
        return s;
    sqlite3_stmt *st = n == TRACE_ROWS ? m->trace_many : m->trace_one;
    for (int i = 0; i < n; i++) {
        const trace_row *r = &m->pending[i];
        int b = n == TRACE_ROWS ? i * 5 : 0;
        sqlite3_bind_int64(st, b + 1, r->t_ns);
        sqlite3_bind_int(st, b + 2, r->kind);
        sqlite3_bind_int64(st, b + 3, (sqlite3_int64)r->job);
        sqlite3_bind_int(st, b + 4, r->worker);
        sqlite3_bind_int64(st, b + 5, r->arg);
        if (n != TRACE_ROWS && (s = step(m, st, "trace")) != PS_OK)
            return s;
    }
    return n == TRACE_ROWS ? step(m, st, "trace") : PS_OK;
}

ps_status sim_master_commit(sim_master *m)
{
    ps_status s = m->write_on_read ? PS_OK : flush_jobs(m);
    if (!s)
        s = flush_trace(m);
    return s ? s : exec(m, "COMMIT; BEGIN", "commit");
}

void sim_master_close(sim_master *m)
{
    if (!m)
        return;
    if (m->db && sqlite3_get_autocommit(m->db) == 0) {
        flush_jobs(m);
        flush_trace(m);
        exec(m, "COMMIT", "commit");
    }
    /* closed cleanly: fold the log back in, so the record is one file again
     * (a copy of it alone is the whole run) */
    if (m->db && m->trace_one && sqlite3_get_autocommit(m->db) != 0) /* opened fully: keep an open's error */
        exec(m, "PRAGMA journal_mode=DELETE", "checkpoint");
    sqlite3_stmt *all[] = {m->job_one, m->job_many, m->heartbeat, m->trace_many, m->trace_one};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        sqlite3_finalize(all[i]);
    sqlite3_close(m->db);
    sim_job_array_free(m->jobs, sizeof *m->jobs, m->capjobs);
    free(m);
}

static job_row *job(sim_master *m, uint64_t id, const char *what)
{
    if (id == 0 || id > m->njobs) {
        ps_error(PS_ERR_INVALID_ARG, 0, "master database: %s: no job %llu", what, (unsigned long long)id);
        return NULL;
    }
    return &m->jobs[id];
}

ps_status sim_master_job_add(sim_master *m, uint64_t id, int64_t key, int64_t t_ns, bool for_consumer)
{
    if (id != m->njobs + 1)
        return ps_error(PS_ERR_INVALID_ARG, 0, "master database: job ids are dense: expected %llu, got %llu",
                        (unsigned long long)(m->njobs + 1), (unsigned long long)id);
    ps_status s = injected(m, "add job");
    if (s)
        return s;
    if (id >= m->capjobs) {
        uint64_t ncap = m->capjobs ? m->capjobs * 2 : 4096;
        job_row *n = sim_job_array_grow(m->jobs, sizeof *n, m->capjobs, ncap);
        if (!n)
            return ps_error(PS_ERR_NO_MEMORY, 0, "master database: out of memory");
        m->jobs = n;
        m->capjobs = ncap;
    }
    m->jobs[id] = (job_row){{SIM_JOB_PUBLISHED, 0, 0, 0, key}, t_ns, 0, false, for_consumer};
    m->njobs = id;
    return mark_dirty(m, id);
}

ps_status sim_master_job_start(sim_master *m, uint64_t id, int worker, int64_t t_ns, int64_t *version)
{
    (void)worker;
    (void)t_ns;
    job_row *j = job(m, id, "start job");
    if (!j)
        return PS_ERR_INVALID_ARG;
    ps_status s = injected(m, "start job");
    if (s)
        return s;
    if (j->v.state != SIM_JOB_DONE)
        j->v.state = SIM_JOB_RUNNING;
    j->v.attempts++;
    j->v.version++;
    if (version)
        *version = j->v.version;
    return mark_dirty(m, id);
}

ps_status sim_master_job_complete(sim_master *m, uint64_t id, int worker, int64_t version, int64_t t_ns,
                                  bool *applied)
{
    (void)worker;
    job_row *j = job(m, id, "complete job");
    if (!j)
        return PS_ERR_INVALID_ARG;
    ps_status s = injected(m, "complete job");
    if (s)
        return s;
    *applied = j->v.version == version; /* compare-and-set on the row's version */
    if (!*applied)
        return PS_OK;
    j->v.state = SIM_JOB_DONE;
    j->v.completions++;
    j->v.version++;
    j->done_ns = t_ns;
    return mark_dirty(m, id);
}

ps_status sim_master_job_fail(sim_master *m, uint64_t id, int64_t t_ns)
{
    (void)t_ns;
    job_row *j = job(m, id, "fail job");
    if (!j)
        return PS_ERR_INVALID_ARG;
    ps_status s = injected(m, "fail job");
    if (s)
        return s;
    j->v.state = SIM_JOB_FAILED;
    j->v.version++;
    return mark_dirty(m, id);
}

ps_status sim_master_heartbeat(sim_master *m, int worker, int64_t t_ns, int64_t lease_ns)
{
    ps_status s = injected(m, "heartbeat");
    if (s)
        return s;
    sqlite3_bind_int(m->heartbeat, 1, worker);
    sqlite3_bind_int64(m->heartbeat, 2, t_ns);
    sqlite3_bind_int64(m->heartbeat, 3, t_ns + lease_ns);
    return step(m, m->heartbeat, "heartbeat");
}

ps_status sim_master_set_backend(sim_master *m, const char *backend)
{
    sqlite3_stmt *st = NULL;
    ps_status s = prepare(m, "UPDATE run SET backend = ?", &st);
    if (!s) {
        sqlite3_bind_text(st, 1, backend, -1, SQLITE_TRANSIENT);
        s = step(m, st, "recording the backend");
    }
    sqlite3_finalize(st);
    return s;
}

/* Runs `sql` (an UPDATE of the run row or an INSERT) with up to four
 * text or integer parameters: `types` has one letter per parameter, 't'
 * text (NULL binds NULL) or 'i' an integer. */
static ps_status run_write(sim_master *m, const char *sql, const char *types, const char *t[4], const int64_t i[4],
                           const char *what)
{
    sqlite3_stmt *st = NULL;
    ps_status s = prepare(m, sql, &st);
    for (int k = 0; !s && types[k]; k++) {
        if (types[k] == 'i')
            sqlite3_bind_int64(st, k + 1, i[k]);
        else if (t[k])
            sqlite3_bind_text(st, k + 1, t[k], -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, k + 1);
    }
    if (!s)
        s = step(m, st, what);
    sqlite3_finalize(st);
    return s;
}

ps_status sim_master_set_replay(sim_master *m, bool mix, const char *replay_cmd)
{
    const char *t[4] = {NULL, replay_cmd};
    const int64_t i[4] = {mix};
    return run_write(m, "UPDATE run SET mix = ?, replay = ?", "it", t, i, "recording how to replay");
}

ps_status sim_master_file_hash(const char *path, uint64_t *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ps_error(PS_ERR_INVALID_ARG, 0, "workload %s: cannot open", path);
    uint64_t h = UINT64_C(14695981039346656037);
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        for (size_t i = 0; i < n; i++)
            h = (h ^ buf[i]) * UINT64_C(1099511628211);
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad)
        return ps_error(PS_ERR_IO, 0, "workload %s: read error", path);
    *out = h;
    return PS_OK;
}

ps_status sim_master_add_workload(sim_master *m, int publisher, const char *path, uint64_t hash)
{
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)hash);
    const char *t[4] = {NULL, path, hex};
    const int64_t i[4] = {publisher};
    return run_write(m, "INSERT OR REPLACE INTO workloads VALUES (?,?,?)", "itt", t, i, "recording a workload");
}

ps_status sim_master_set_origin(sim_master *m, int64_t start_ns, int consumers)
{
    const char *t[4] = {NULL};
    const int64_t i[4] = {start_ns, consumers > 0 ? consumers : 1};
    return run_write(m, "UPDATE run SET start_ns = ?, consumers = ?", "ii", t, i, "recording the run's start");
}

ps_status sim_master_add_fault(sim_master *m, int fault, int kind, int64_t at_ns, int64_t duration_ns, int64_t worker,
                               int bp, int line)
{
    sqlite3_stmt *st = NULL;
    ps_status s = prepare(m, "INSERT OR REPLACE INTO faults VALUES (?,?,?,?,?,?,?)", &st);
    if (!s) {
        sqlite3_bind_int(st, 1, fault);
        sqlite3_bind_int(st, 2, kind);
        sqlite3_bind_int64(st, 3, at_ns);
        sqlite3_bind_int64(st, 4, duration_ns);
        if (worker > 0)
            sqlite3_bind_int64(st, 5, worker);
        else
            sqlite3_bind_null(st, 5);
        if (bp > 0)
            sqlite3_bind_double(st, 6, bp / 100.0);
        else
            sqlite3_bind_null(st, 6);
        sqlite3_bind_int(st, 7, line);
        s = step(m, st, "recording a fault");
    }
    sqlite3_finalize(st);
    return s;
}

ps_status sim_master_set_first_bad_job(sim_master *m, uint64_t job)
{
    const char *t[4] = {NULL};
    const int64_t i[4] = {(int64_t)job};
    return run_write(m, job ? "UPDATE run SET first_bad_job = ?" : "UPDATE run SET first_bad_job = NULL",
                     job ? "i" : "", t, i, "recording the first bad job");
}

ps_status sim_master_finish(sim_master *m, const char *verdict, const char *first_violation, uint64_t trace_hash,
                            uint64_t trace_events)
{
    ps_status s = sim_master_commit(m); /* the trace and the rows first: finished=1 means all of it is there */
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)trace_hash);
    const char *t[4] = {verdict, first_violation && *first_violation ? first_violation : NULL, hex};
    const int64_t i[4] = {0, 0, 0, (int64_t)trace_events};
    if (!s)
        s = run_write(m, "UPDATE run SET finished = 1, verdict = ?, first_violation = ?, trace_hash = ?,"
                         " trace_events = ?", "ttti", t, i, "recording the verdict");
    return s ? s : sim_master_commit(m);
}

ps_status sim_master_trace(sim_master *m, int64_t t_ns, sim_trace_kind kind, uint64_t job_id, int worker,
                           int64_t arg)
{
    m->pending[m->npending++] = (trace_row){t_ns, (int)kind, job_id, worker, arg};
    return m->npending == TRACE_ROWS ? flush_trace(m) : PS_OK;
}

void sim_master_set_fault(sim_master *m, ps_status status, int count)
{
    m->fault_status = status;
    m->fault_count = count;
}

bool sim_master_job_view(const sim_master *m, uint64_t id, sim_job_view *out)
{
    if (id == 0 || id > m->njobs)
        return false;
    *out = m->jobs[id].v;
    return true;
}

ps_status sim_master_job_stored(sim_master *m, uint64_t id, sim_job_view *out)
{
    sqlite3_stmt *st = NULL;
    ps_status s = write_all_jobs(m);
    if (!s)
        s = prepare(m, "SELECT state, attempts, completions, version, coalesce(key, -1) FROM jobs WHERE id = ?",
                    &st);
    if (!s) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *out = (sim_job_view){(sim_job_state)sqlite3_column_int(st, 0), sqlite3_column_int(st, 1),
                                  sqlite3_column_int(st, 2), sqlite3_column_int64(st, 3),
                                  sqlite3_column_int64(st, 4)};
        else
            s = rc == SQLITE_DONE ? ps_error(PS_ERR_INVALID_ARG, 0, "master database: no jobs row %llu",
                                             (unsigned long long)id)
                                  : db_fail(m->db, "reading a job");
    }
    sqlite3_finalize(st);
    return s;
}

uint64_t sim_master_jobs(const sim_master *m)
{
    return m->njobs;
}

struct sqlite3 *sim_master_db(sim_master *m)
{
    return write_all_jobs(m) == PS_OK ? m->db : NULL;
}
