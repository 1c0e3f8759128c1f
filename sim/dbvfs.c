/* dbvfs.c — the fault-injecting in-memory SQLite VFS (contract in dbvfs.h):
 * SQLite's io_methods and vfs over the files of dbvfs_store.c, the faults
 * each call may meet, the locks between the handles of a file, and the
 * public API.
 *
 * Handles carry the power epoch of their file at open: a power loss bumps
 * the epoch, which kills every older handle without touching it.
 *
 * This file is not: a general-purpose memory VFS (no shared memory, no
 * memory mapping), nor SQLite's own test VFS (written from its interface
 * documentation), nor the durability model (dbvfs_store.c).
 */
#include "dbvfs_internal.h"

#include "ps_backend_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DBV_PATH_MAX 512
/* The Unix epoch as a Julian day number in milliseconds, the unit of
 * xCurrentTimeInt64. */
#define DBV_UNIX_EPOCH_JD_MS INT64_C(210866760000000)
#define DBV_MS_PER_DAY 86400000.0

static sim_dbvfs *dbv_of(sqlite3_vfs *vfs) { return vfs->pAppData; }
static dbv_handle *dbv_h(sqlite3_file *pf) { return (dbv_handle *)pf; }

/* ---- faults ------------------------------------------------------------ */

static int dbv_bit_index(unsigned kind)
{
    int i = 0;
    while (kind > 1u) {
        kind >>= 1;
        i++;
    }
    return i;
}

/* Does this call of `kind` fail? Draws only when the kind is on, so a
 * run without faults draws nothing. */
static bool dbv_inject(sim_dbvfs *v, unsigned kind)
{
    int p = v->percent[dbv_bit_index(kind)];
    return p > 0 && ps_rand_below(&v->fault_rng, 100) < (uint64_t)p;
}

/* Is the handle's file from before the last power loss? Counts it. */
static bool dbv_dead(dbv_handle *h)
{
    if (h->epoch == h->f->epoch)
        return false;
    h->v->st.dead_handle_errors++;
    return true;
}

/* If this is the call sim_dbvfs_power_loss_at chose, the power goes
 * before it does anything: the handle it came on is then dead. */
static void dbv_crash_point(sim_dbvfs *v, unsigned kind)
{
    if ((v->crash_kinds & kind) && v->crash_countdown > 0 && --v->crash_countdown == 0)
        dbv_power_loss_locked(v);
}

/* ---- io methods -------------------------------------------------------- */

static int dbv_unlock_locked(dbv_handle *h, int level);

static int dbv_close(sqlite3_file *pf)
{
    dbv_handle *h = dbv_h(pf);
    sim_dbvfs *v = h->v;
    pthread_mutex_lock(&v->mu);
    dbv_unlock_locked(h, SQLITE_LOCK_NONE);
    dbv_file *f = h->f;
    if (--f->refs == 0 && !f->linked)
        dbv_file_drop(v, f);
    pthread_mutex_unlock(&v->mu);
    return SQLITE_OK;
}

static int dbv_read(sqlite3_file *pf, void *buf, int amt, sqlite3_int64 off)
{
    dbv_handle *h = dbv_h(pf);
    sim_dbvfs *v = h->v;
    int rc = SQLITE_OK;
    pthread_mutex_lock(&v->mu);
    dbv_file *f = h->f;
    if (dbv_dead(h)) {
        rc = SQLITE_IOERR_READ;
    } else if (dbv_inject(v, SIM_DBVFS_READ)) {
        v->st.read_errors++;
        rc = SQLITE_IOERR_READ;
    } else {
        size_t o = (size_t)off, n = (size_t)amt;
        size_t have = o < f->len ? f->len - o : 0;
        if (have > n)
            have = n;
        if (have)
            memcpy(buf, f->data + o, have);
        if (have < n) {
            /* SQLite requires the rest zeroed on a short read. */
            memset((uint8_t *)buf + have, 0, n - have);
            rc = SQLITE_IOERR_SHORT_READ;
        }
    }
    pthread_mutex_unlock(&v->mu);
    return rc;
}

/* Room for growing the files' total by `grow` bytes under the cap? */
static bool dbv_room(sim_dbvfs *v, size_t grow)
{
    return v->cap_bytes == 0 || v->st.bytes + grow <= v->cap_bytes;
}

static int dbv_write_locked(dbv_handle *h, const void *buf, size_t n, size_t off)
{
    sim_dbvfs *v = h->v;
    dbv_file *f = h->f;
    dbv_crash_point(v, SIM_DBVFS_WRITE);
    if (dbv_dead(h))
        return SQLITE_IOERR_WRITE;
    if (dbv_inject(v, SIM_DBVFS_WRITE)) {
        v->st.write_errors++;
        return SQLITE_IOERR_WRITE;
    }
    if (n == 0)
        return SQLITE_OK;
    size_t end = off + n;
    if (end > f->len && !dbv_room(v, end - f->len)) {
        v->st.full_errors++;
        return SQLITE_FULL;
    }
    /* A write past the end fills the gap with zeros: that changes it too. */
    if (!dbv_reserve(f, end) || !dbv_touch(f, f->len, off, false) || !dbv_touch(f, off, end, true))
        return SQLITE_NOMEM;
    if (off > f->len)
        memset(f->data + f->len, 0, off - f->len);
    memcpy(f->data + off, buf, n);
    if (end > f->len)
        dbv_set_len(v, f, end);
    return SQLITE_OK;
}

static int dbv_write(sqlite3_file *pf, const void *buf, int amt, sqlite3_int64 off)
{
    dbv_handle *h = dbv_h(pf);
    pthread_mutex_lock(&h->v->mu);
    int rc = dbv_write_locked(h, buf, (size_t)amt, (size_t)off);
    pthread_mutex_unlock(&h->v->mu);
    return rc;
}

/* Shrinking changes the length only (the bytes stay in the buffer for a
 * power loss to bring back); growing fills with zeros. */
static int dbv_truncate_locked(dbv_handle *h, size_t size)
{
    sim_dbvfs *v = h->v;
    dbv_file *f = h->f;
    if (dbv_dead(h))
        return SQLITE_IOERR_TRUNCATE;
    if (size > f->len) {
        if (!dbv_room(v, size - f->len)) {
            v->st.full_errors++;
            return SQLITE_FULL;
        }
        if (!dbv_reserve(f, size) || !dbv_touch(f, f->len, size, false))
            return SQLITE_NOMEM;
        memset(f->data + f->len, 0, size - f->len);
    }
    dbv_set_len(v, f, size);
    return SQLITE_OK;
}

static int dbv_truncate(sqlite3_file *pf, sqlite3_int64 size)
{
    dbv_handle *h = dbv_h(pf);
    pthread_mutex_lock(&h->v->mu);
    int rc = dbv_truncate_locked(h, (size_t)size);
    pthread_mutex_unlock(&h->v->mu);
    return rc;
}

static int dbv_sync(sqlite3_file *pf, int flags)
{
    (void)flags; /* every sync is a full sync */
    dbv_handle *h = dbv_h(pf);
    sim_dbvfs *v = h->v;
    int rc = SQLITE_OK;
    pthread_mutex_lock(&v->mu);
    dbv_crash_point(v, SIM_DBVFS_SYNC);
    if (dbv_dead(h)) {
        rc = SQLITE_IOERR_FSYNC;
    } else if (dbv_inject(v, SIM_DBVFS_SYNC)) {
        v->st.sync_errors++;
        rc = SQLITE_IOERR_FSYNC;
    } else {
        dbv_forget_changes(h->f);
        v->st.syncs++;
    }
    pthread_mutex_unlock(&v->mu);
    return rc;
}

static int dbv_file_size(sqlite3_file *pf, sqlite3_int64 *out)
{
    dbv_handle *h = dbv_h(pf);
    int rc = SQLITE_OK;
    pthread_mutex_lock(&h->v->mu);
    if (dbv_dead(h))
        rc = SQLITE_IOERR_FSTAT;
    else
        *out = (sqlite3_int64)h->f->len;
    pthread_mutex_unlock(&h->v->mu);
    return rc;
}

/* SQLite's locking protocol between the handles of one file, as between
 * processes: any number of SHARED; one RESERVED beside them; PENDING keeps
 * new SHARED out while its holder waits for the readers to leave; then
 * EXCLUSIVE. A request for EXCLUSIVE that finds readers left stays at
 * PENDING and returns SQLITE_BUSY, as the interface allows. */
static int dbv_raise(dbv_handle *h, int level)
{
    dbv_file *f = h->f;
    bool other_writer = f->writer && f->writer != h;
    if (level == SQLITE_LOCK_SHARED) {
        if (other_writer && f->writer->lock >= SQLITE_LOCK_PENDING)
            return SQLITE_BUSY;
        f->shared++;
        h->lock = SQLITE_LOCK_SHARED;
        return SQLITE_OK;
    }
    if (other_writer || h->lock < SQLITE_LOCK_SHARED)
        return SQLITE_BUSY;
    f->writer = h;
    if (level == SQLITE_LOCK_RESERVED) {
        h->lock = SQLITE_LOCK_RESERVED;
        return SQLITE_OK;
    }
    h->lock = SQLITE_LOCK_PENDING;
    if (f->shared > 1)
        return SQLITE_BUSY;
    h->lock = SQLITE_LOCK_EXCLUSIVE;
    return SQLITE_OK;
}

static int dbv_lock(sqlite3_file *pf, int level)
{
    dbv_handle *h = dbv_h(pf);
    sim_dbvfs *v = h->v;
    int rc = SQLITE_OK;
    pthread_mutex_lock(&v->mu);
    if (dbv_dead(h)) {
        rc = SQLITE_IOERR_LOCK;
    } else if (h->lock >= level) {
        rc = SQLITE_OK;
    } else if (dbv_inject(v, SIM_DBVFS_LOCK)) {
        v->st.busy_errors++;
        rc = SQLITE_BUSY;
    } else {
        rc = dbv_raise(h, level);
    }
    pthread_mutex_unlock(&v->mu);
    return rc;
}

/* Lowers the handle's lock to `level` (SHARED or NONE). A dead handle
 * holds nothing in its file any more: it only forgets its level. */
static int dbv_unlock_locked(dbv_handle *h, int level)
{
    if (h->lock <= level)
        return SQLITE_OK;
    dbv_file *f = h->f;
    if (h->epoch == f->epoch) {
        if (f->writer == h)
            f->writer = NULL;
        if (level == SQLITE_LOCK_NONE)
            f->shared--;
    }
    h->lock = level;
    return SQLITE_OK;
}

static int dbv_unlock(sqlite3_file *pf, int level)
{
    dbv_handle *h = dbv_h(pf);
    pthread_mutex_lock(&h->v->mu);
    int rc = dbv_unlock_locked(h, level);
    pthread_mutex_unlock(&h->v->mu);
    return rc;
}

static int dbv_check_reserved(sqlite3_file *pf, int *out)
{
    dbv_handle *h = dbv_h(pf);
    int rc = SQLITE_OK;
    pthread_mutex_lock(&h->v->mu);
    if (dbv_dead(h))
        rc = SQLITE_IOERR_CHECKRESERVEDLOCK;
    else
        *out = h->f->writer != NULL;
    pthread_mutex_unlock(&h->v->mu);
    return rc;
}

static int dbv_file_control(sqlite3_file *pf, int op, void *arg)
{
    (void)pf;
    (void)op;
    (void)arg;
    return SQLITE_NOTFOUND;
}

static int dbv_sector_size(sqlite3_file *pf)
{
    (void)pf;
    return DBV_SECTOR;
}

/* No guarantees: a torn power loss may damage a whole sector, so SQLite
 * must not count on atomic or power-safe writes. */
static int dbv_device_characteristics(sqlite3_file *pf)
{
    (void)pf;
    return 0;
}

/* Version 1: no shared memory, so SQLite keeps WAL to exclusive locking
 * mode (see dbvfs.h), and no memory mapping. */
static const sqlite3_io_methods dbv_io = {
    .iVersion = 1,
    .xClose = dbv_close,
    .xRead = dbv_read,
    .xWrite = dbv_write,
    .xTruncate = dbv_truncate,
    .xSync = dbv_sync,
    .xFileSize = dbv_file_size,
    .xLock = dbv_lock,
    .xUnlock = dbv_unlock,
    .xCheckReservedLock = dbv_check_reserved,
    .xFileControl = dbv_file_control,
    .xSectorSize = dbv_sector_size,
    .xDeviceCharacteristics = dbv_device_characteristics,
    .xShmMap = NULL,
    .xShmLock = NULL,
    .xShmBarrier = NULL,
    .xShmUnmap = NULL,
    .xFetch = NULL,
    .xUnfetch = NULL,
};

/* ---- vfs methods ------------------------------------------------------- */

/* Finds or creates the file a handle opens, as the flags ask. Anonymous
 * and delete-on-close files are never reachable by name. */
static int dbv_open_file(sim_dbvfs *v, const char *name, int flags, dbv_file **out)
{
    bool anonymous = name == NULL || (flags & SQLITE_OPEN_DELETEONCLOSE);
    dbv_file *f = anonymous ? NULL : dbv_find(v, name);
    if (f && (flags & SQLITE_OPEN_EXCLUSIVE))
        return SQLITE_CANTOPEN;
    if (!f) {
        if (!anonymous && !(flags & SQLITE_OPEN_CREATE))
            return SQLITE_CANTOPEN;
        f = dbv_file_create(v, anonymous ? NULL : name);
        if (!f)
            return SQLITE_NOMEM;
    }
    *out = f;
    return SQLITE_OK;
}

static int dbv_xopen(sqlite3_vfs *vfs, const char *name, sqlite3_file *pf, int flags, int *out_flags)
{
    sim_dbvfs *v = dbv_of(vfs);
    dbv_handle *h = dbv_h(pf);
    dbv_file *f = NULL;
    pf->pMethods = NULL; /* SQLite closes nothing after a failed open */
    pthread_mutex_lock(&v->mu);
    int rc = dbv_open_file(v, name, flags, &f);
    if (rc == SQLITE_OK) {
        f->refs++;
        *h = (dbv_handle){.base = {.pMethods = &dbv_io}, .v = v, .f = f, .epoch = f->epoch};
        if (out_flags)
            *out_flags = flags;
    }
    pthread_mutex_unlock(&v->mu);
    return rc;
}

static int dbv_xdelete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)sync_dir; /* directory operations are durable at once */
    sim_dbvfs *v = dbv_of(vfs);
    int rc = SQLITE_OK;
    pthread_mutex_lock(&v->mu);
    dbv_file *f = dbv_find(v, name);
    if (!f) {
        rc = SQLITE_IOERR_DELETE_NOENT;
    } else {
        /* As unlink(2): open handles keep the file until they close. */
        f->linked = false;
        if (f->refs == 0)
            dbv_file_drop(v, f);
    }
    pthread_mutex_unlock(&v->mu);
    return rc;
}

static int dbv_xaccess(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)flags; /* every file is readable and writable */
    sim_dbvfs *v = dbv_of(vfs);
    pthread_mutex_lock(&v->mu);
    *out = dbv_find(v, name) != NULL;
    pthread_mutex_unlock(&v->mu);
    return SQLITE_OK;
}

/* A path is its own full path: there are no directories. */
static int dbv_xfull_pathname(sqlite3_vfs *vfs, const char *name, int n_out, char *out)
{
    (void)vfs;
    size_t len = strlen(name);
    if (len + 1 > (size_t)n_out)
        return SQLITE_CANTOPEN;
    memcpy(out, name, len + 1);
    return SQLITE_OK;
}

/* No extensions load through this VFS. */
static void *dbv_xdl_open(sqlite3_vfs *vfs, const char *path)
{
    (void)vfs;
    (void)path;
    return NULL;
}

static void dbv_xdl_error(sqlite3_vfs *vfs, int n, char *msg)
{
    (void)vfs;
    if (n > 0)
        snprintf(msg, (size_t)n, "%s", "the simulation VFS does not load extensions");
}

static void (*dbv_xdl_sym(sqlite3_vfs *vfs, void *lib, const char *sym))(void)
{
    (void)vfs;
    (void)lib;
    (void)sym;
    return NULL;
}

static void dbv_xdl_close(sqlite3_vfs *vfs, void *lib)
{
    (void)vfs;
    (void)lib;
}

static int dbv_xrandomness(sqlite3_vfs *vfs, int n, char *out)
{
    sim_dbvfs *v = dbv_of(vfs);
    pthread_mutex_lock(&v->mu);
    for (int i = 0; i < n; i++)
        out[i] = (char)ps_rand_next(&v->user_rng);
    pthread_mutex_unlock(&v->mu);
    return n;
}

/* Virtual time does not pass for a sleeping connection (dbvfs.h). */
static int dbv_xsleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    return us;
}

static int dbv_xcurrent_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    sim_dbvfs *v = dbv_of(vfs);
    pthread_mutex_lock(&v->mu);
    int64_t ns = ps_clock_now(v->clock);
    pthread_mutex_unlock(&v->mu);
    *out = DBV_UNIX_EPOCH_JD_MS + ns / PS_NS_PER_MS;
    return SQLITE_OK;
}

static int dbv_xcurrent_time(sqlite3_vfs *vfs, double *out)
{
    sqlite3_int64 ms;
    dbv_xcurrent_time_int64(vfs, &ms);
    *out = (double)ms / DBV_MS_PER_DAY;
    return SQLITE_OK;
}

static int dbv_xget_last_error(sqlite3_vfs *vfs, int n, char *msg)
{
    (void)vfs;
    if (n > 0)
        msg[0] = '\0';
    return 0;
}

/* ---- public API -------------------------------------------------------- */

static void dbv_init_base(sim_dbvfs *v)
{
    v->base = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(dbv_handle),
        .mxPathname = DBV_PATH_MAX,
        .zName = v->name,
        .pAppData = v,
        .xOpen = dbv_xopen,
        .xDelete = dbv_xdelete,
        .xAccess = dbv_xaccess,
        .xFullPathname = dbv_xfull_pathname,
        .xDlOpen = dbv_xdl_open,
        .xDlError = dbv_xdl_error,
        .xDlSym = dbv_xdl_sym,
        .xDlClose = dbv_xdl_close,
        .xRandomness = dbv_xrandomness,
        .xSleep = dbv_xsleep,
        .xCurrentTime = dbv_xcurrent_time,
        .xGetLastError = dbv_xget_last_error,
        .xCurrentTimeInt64 = dbv_xcurrent_time_int64,
    };
}

/* Registers `v` unless its name is taken. The check and the registration
 * are two calls: two threads registering one name at once is the callers'
 * race, as with sqlite3_vfs_register itself. */
static ps_status dbv_register(sim_dbvfs *v)
{
    int rc = sqlite3_initialize();
    if (rc == SQLITE_OK && sqlite3_vfs_find(v->name) != NULL)
        return ps_error(PS_ERR_INVALID_ARG, 0, "sim_dbvfs_new: SQLite already has a VFS named \"%s\"", v->name);
    if (rc == SQLITE_OK)
        rc = sqlite3_vfs_register(&v->base, 0);
    if (rc == SQLITE_OK)
        return PS_OK;
    return ps_error(rc == SQLITE_NOMEM ? PS_ERR_NO_MEMORY : PS_ERR_INTERNAL, 0,
                    "sim_dbvfs_new: registering VFS \"%s\" with SQLite: %s", v->name, sqlite3_errstr(rc));
}

ps_status sim_dbvfs_new(sim_dbvfs **out, const char *name, uint64_t seed, ps_clock *clock)
{
    if (!out || !name || !clock)
        return ps_error(PS_ERR_INVALID_ARG, 0, "sim_dbvfs_new: out, name and clock must not be NULL");
    size_t len = strlen(name);
    if (len == 0 || len > DBV_NAME_MAX)
        return ps_error(PS_ERR_INVALID_ARG, 0, "sim_dbvfs_new: a VFS name has 1 to %d bytes, \"%s\" has %zu",
                        DBV_NAME_MAX, name, len);
    sim_dbvfs *v = calloc(1, sizeof *v);
    if (!v)
        return ps_error(PS_ERR_NO_MEMORY, 0, "sim_dbvfs_new: out of memory");
    memcpy(v->name, name, len + 1);
    pthread_mutex_init(&v->mu, NULL);
    v->clock = clock;
    v->fault_rng = ps_rand_derive(seed, 1);
    v->torn_rng = ps_rand_derive(seed, 2);
    v->user_rng = ps_rand_derive(seed, 3);
    dbv_init_base(v);
    ps_status s = dbv_register(v);
    if (s != PS_OK) {
        pthread_mutex_destroy(&v->mu);
        free(v);
        return s;
    }
    *out = v;
    return PS_OK;
}

void sim_dbvfs_free(sim_dbvfs *v)
{
    if (!v)
        return;
    sqlite3_vfs_unregister(&v->base);
    while (v->files) {
        dbv_file *f = v->files;
        v->files = f->next;
        dbv_file_destroy(f);
    }
    pthread_mutex_destroy(&v->mu);
    free(v);
}

const char *sim_dbvfs_name(const sim_dbvfs *v)
{
    return v ? v->name : NULL;
}

ps_status sim_dbvfs_fail(sim_dbvfs *v, unsigned kinds, int percent)
{
    if (!v)
        return ps_error(PS_ERR_INVALID_ARG, 0, "sim_dbvfs_fail: no VFS");
    if (kinds == 0 || (kinds & ~(unsigned)SIM_DBVFS_ALL))
        return ps_error(PS_ERR_INVALID_ARG, 0, "sim_dbvfs_fail: kinds 0x%x is not a set of SIM_DBVFS_READ, _WRITE, "
                        "_SYNC and _LOCK", kinds);
    if (percent < 0 || percent > 100)
        return ps_error(PS_ERR_INVALID_ARG, 0, "sim_dbvfs_fail: percent %d is not within 0..100", percent);
    pthread_mutex_lock(&v->mu);
    for (int i = 0; i < 4; i++)
        if (kinds & (1u << i))
            v->percent[i] = percent;
    pthread_mutex_unlock(&v->mu);
    return PS_OK;
}

ps_status sim_dbvfs_disk_full(sim_dbvfs *v, uint64_t bytes)
{
    if (!v)
        return ps_error(PS_ERR_INVALID_ARG, 0, "sim_dbvfs_disk_full: no VFS");
    pthread_mutex_lock(&v->mu);
    v->cap_bytes = bytes;
    pthread_mutex_unlock(&v->mu);
    return PS_OK;
}

ps_status sim_dbvfs_set_torn(sim_dbvfs *v, bool torn)
{
    if (!v)
        return ps_error(PS_ERR_INVALID_ARG, 0, "sim_dbvfs_set_torn: no VFS");
    pthread_mutex_lock(&v->mu);
    v->torn = torn;
    pthread_mutex_unlock(&v->mu);
    return PS_OK;
}

ps_status sim_dbvfs_power_loss(sim_dbvfs *v)
{
    if (!v)
        return ps_error(PS_ERR_INVALID_ARG, 0, "sim_dbvfs_power_loss: no VFS");
    pthread_mutex_lock(&v->mu);
    dbv_power_loss_locked(v);
    pthread_mutex_unlock(&v->mu);
    return PS_OK;
}

ps_status sim_dbvfs_power_loss_at(sim_dbvfs *v, unsigned kinds, uint64_t n)
{
    if (!v)
        return ps_error(PS_ERR_INVALID_ARG, 0, "sim_dbvfs_power_loss_at: no VFS");
    if (n > 0 && (kinds == 0 || (kinds & ~(unsigned)(SIM_DBVFS_WRITE | SIM_DBVFS_SYNC))))
        return ps_error(PS_ERR_INVALID_ARG, 0, "sim_dbvfs_power_loss_at: kinds 0x%x is not a set of "
                        "SIM_DBVFS_WRITE and SIM_DBVFS_SYNC", kinds);
    pthread_mutex_lock(&v->mu);
    v->crash_kinds = kinds;
    v->crash_countdown = n;
    pthread_mutex_unlock(&v->mu);
    return PS_OK;
}

ps_status sim_dbvfs_stats_get(sim_dbvfs *v, sim_dbvfs_stats *out)
{
    if (!v || !out)
        return ps_error(PS_ERR_INVALID_ARG, 0, "sim_dbvfs_stats_get: VFS and out must not be NULL");
    pthread_mutex_lock(&v->mu);
    *out = v->st;
    pthread_mutex_unlock(&v->mu);
    return PS_OK;
}
