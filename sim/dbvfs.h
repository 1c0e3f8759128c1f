/* dbvfs.h — a fault-injecting, deterministic, in-memory SQLite VFS: the
 * disk under the user's own database in a simulated run (issue 13).
 *
 * Modelled on SQLite's own crash and I/O-error test VFSes: files live only
 * in memory, every file has its current content and its last-synced
 * (durable) content, and the VFS can fail reads, writes, syncs and locks,
 * run out of space, and lose power. Everything it decides comes from the
 * seed given at creation, so a run seed replays the same faults.
 *
 * Use: sim_dbvfs_new registers the VFS with SQLite under a unique name (not
 * as the default VFS); open databases with
 *     sqlite3_open_v2(path, &db, flags, sim_dbvfs_name(v));
 * A path names a file within this VFS instance only (no directories, no
 * working directory: "orders.db" and "/orders.db" are different files).
 * Several connections to the same path share the file, and SQLite's
 * locking protocol holds across them: SHARED, RESERVED, PENDING and
 * EXCLUSIVE, with SQLITE_BUSY on a conflict, as between processes.
 *
 * Journal modes: the rollback journal's DELETE (the default), TRUNCATE and
 * PERSIST modes work and are tested through power losses at every write
 * and sync of a commit, the journal being a file of the VFS like any
 * other. MEMORY and OFF keep no journal file: a power loss inside a
 * transaction can then corrupt the database, as SQLite documents. The VFS
 * has no shared memory (its io_methods are version 1, without xShm*), so
 * SQLite refuses WAL on a shared database: `PRAGMA journal_mode=WAL`
 * leaves the mode unchanged (it answers "delete"). WAL works with
 * `PRAGMA locking_mode=EXCLUSIVE` set first (one connection per database;
 * SQLite then keeps the WAL index in its own heap); the -wal file is then
 * a file of the VFS, faulted and power-lost like the rest. A user schema
 * that needs WAL with several connections cannot run on this VFS.
 *
 * Durability model:
 *   - xWrite and xTruncate change a file's current content only; xSync
 *     makes the whole current content durable (the flags are ignored:
 *     every sync is a full sync).
 *   - Directory operations are durable at once: a created file exists
 *     after a power loss (with its synced content, empty if never synced),
 *     and a deleted file stays deleted. (On a real Linux file system an
 *     unlink is durable only after the directory is synced; SQLite asks for
 *     that only with synchronous=EXTRA. This VFS is kinder: DELETE journal
 *     mode is safe with synchronous=FULL.)
 *   - A power loss (sim_dbvfs_power_loss) is what the host sees when it
 *     comes back: every file holds what was durable, in one of two modes
 *     (sim_dbvfs_set_torn): clean, the default (every write since the
 *     file's last sync is lost), or torn, like SQLite's crash VFS: each
 *     512-byte sector written since the last sync ends up, independently
 *     and by seed, with its old content, its new content, or garbage; the
 *     file's length ends as its synced length or its current one. Bytes
 *     not written since the last sync are never damaged. The VFS reports
 *     a sector size of 512 and no device characteristics (no atomic
 *     writes, no power-safe overwrite), so SQLite journals defensively.
 *   - A power loss also kills every open file handle: the host's
 *     processes are gone. Each I/O call on such a handle then fails
 *     (SQLITE_IOERR_READ, _WRITE, _FSYNC, _TRUNCATE, _FSTAT, _LOCK,
 *     _CHECKRESERVEDLOCK) and holds no lock, until the connection is
 *     closed (closing and unlocking still succeed). A new connection sees
 *     the durable content and SQLite recovers through the hot journal:
 *     with synchronous=FULL a transaction whose COMMIT returned SQLITE_OK
 *     survives, and one that had not committed is rolled back; with
 *     synchronous=OFF nothing is ever synced and a power loss takes
 *     everything written since the last synced commit (the torn mode may
 *     also leave the database corrupt, as on a disk).
 *   - sim_dbvfs_power_loss_at puts the power loss inside SQLite's own
 *     work, at the n-th write or sync (the crash VFS's way of reaching
 *     every point of a commit).
 *
 * Faults (sim_dbvfs_fail): each call of a matching kind fails with the
 * given probability, drawn from the VFS's own generator:
 *   SIM_DBVFS_READ   xRead returns SQLITE_IOERR_READ, the buffer untouched
 *   SIM_DBVFS_WRITE  xWrite returns SQLITE_IOERR_WRITE, nothing is written
 *   SIM_DBVFS_SYNC   xSync returns SQLITE_IOERR_FSYNC, nothing becomes
 *                    durable (the current content stays as it was)
 *   SIM_DBVFS_LOCK   an xLock that would raise the handle's lock returns
 *                    SQLITE_BUSY, the lock unchanged (another process held
 *                    it for a moment)
 * A disk-full cap (sim_dbvfs_disk_full) bounds the total current size of
 * all files: a write or truncate that would pass it returns SQLITE_FULL and
 * changes nothing. None of these corrupts a database: SQLite sees an error
 * a real disk can give and handles it (see tests/test_dbvfs.c). A COMMIT
 * that returned SQLITE_OK is never lost. The converse holds in DELETE
 * mode only: in TRUNCATE and PERSIST modes the last step of a commit, the
 * sync of the truncated or zeroed journal, comes after the commit point,
 * so a sync fault there makes COMMIT fail for a transaction that is in
 * (SQLite's behaviour on any disk; about 0.3% of transactions under 10%
 * write and sync faults). A user invariant that counts failed commits
 * must allow for it, or the schema must use DELETE.
 *
 * Time and randomness: xCurrentTime and xCurrentTimeInt64 read the clock
 * given at creation (virtual time on a manual clock); xRandomness draws
 * from a generator seeded by the seed. Note that SQLite seeds its own
 * random-number generator once per process from the *default* VFS, not
 * from this one: a run that wants SQL random(), randomblob() and journal
 * nonces reproducible seeds it with
 * sqlite3_test_control(SQLITE_TESTCTRL_PRNG_SEED, seed, NULL). xSleep
 * advances nothing and returns at once, reporting the full sleep as done:
 * a busy handler (sqlite3_busy_timeout) retries its bounded number of times
 * without time passing, so a lock held by a connection of the same thread
 * ends in SQLITE_BUSY, deterministically. No call ever touches the real
 * file system, the real clock or the system's entropy.
 *
 * Threads: one simulated run is single-threaded, but the VFS is safe to
 * use from several threads (for example the real-server target's worker
 * thread): one mutex per VFS guards all its state, every VFS method and
 * every function below takes it. The clock given must then be safe to
 * read from those threads (the real clock is; a manual clock must not be
 * advanced while another thread uses the VFS). Determinism needs the calls
 * to come in the same order, which only a single thread guarantees.
 *
 * This module is not: the user's schema or connections (the caller opens
 * them), nor the schedule of faults (the engine calls these functions when
 * its scenario says so).
 */
#ifndef SIM_DBVFS_H
#define SIM_DBVFS_H

#include <stdbool.h>
#include <stdint.h>

#include "ps_clock.h"
#include "ps_status.h"

typedef struct sim_dbvfs sim_dbvfs;

/* Kinds of fault, a bit set for sim_dbvfs_fail. */
enum {
    SIM_DBVFS_READ = 1u << 0,
    SIM_DBVFS_WRITE = 1u << 1,
    SIM_DBVFS_SYNC = 1u << 2,
    SIM_DBVFS_LOCK = 1u << 3,
    SIM_DBVFS_ALL = (1u << 4) - 1
};

/* What the VFS has done so far. */
typedef struct sim_dbvfs_stats {
    uint64_t read_errors;  /* injected SQLITE_IOERR_READ */
    uint64_t write_errors; /* injected SQLITE_IOERR_WRITE */
    uint64_t sync_errors;  /* injected SQLITE_IOERR_FSYNC */
    uint64_t busy_errors;  /* injected SQLITE_BUSY (not real conflicts) */
    uint64_t full_errors;  /* SQLITE_FULL from the disk-full cap */
    uint64_t power_losses;
    uint64_t process_crashes;
    uint64_t dead_handle_errors; /* I/O refused on a handle a power loss or crash killed */
    uint64_t sectors_lost;       /* power loss: unsynced sectors with their old content */
    uint64_t sectors_kept;       /* torn power loss: unsynced sectors that made it */
    uint64_t sectors_garbage;    /* torn power loss: unsynced sectors left as garbage */
    uint64_t syncs;              /* successful xSync calls */
    uint64_t bytes;              /* current total size of all files */
} sim_dbvfs_stats;

/* Creates a VFS and registers it with SQLite as `name` (copied; not the
 * default VFS). `seed` drives every fault, torn sector and xRandomness
 * byte; `clock` (borrowed, must outlive the VFS) gives xCurrentTime.
 * Writes *out only on success. PS_ERR_INVALID_ARG for a NULL or empty
 * argument, a name longer than 64 bytes, or a name SQLite already has a VFS
 * for (whoever registered it); PS_ERR_NO_MEMORY if allocation or SQLite's
 * initialisation runs out of memory. */
ps_status sim_dbvfs_new(sim_dbvfs **out, const char *name, uint64_t seed, ps_clock *clock);

/* Unregisters the VFS and frees every file in it. Every connection opened
 * through it must be closed first (SQLite's own rule for unregistering a
 * VFS). NULL does nothing. */
void sim_dbvfs_free(sim_dbvfs *v);

/* The name it is registered under (owned by the VFS, valid until
 * sim_dbvfs_free): pass it to sqlite3_open_v2. */
const char *sim_dbvfs_name(const sim_dbvfs *v);

/* Each call of a kind in `kinds` (SIM_DBVFS_* bits) fails from now on with
 * probability `percent` (0 to 100; 0 turns those kinds off). Kinds not in
 * the set keep their setting. PS_ERR_INVALID_ARG for a NULL VFS, unknown
 * bits, an empty set, or a percent out of range. */
ps_status sim_dbvfs_fail(sim_dbvfs *v, unsigned kinds, int percent);

/* Caps the total current size of all files at `bytes` (0: no cap). Files
 * already past the cap keep their content; only growth is refused. */
ps_status sim_dbvfs_disk_full(sim_dbvfs *v, uint64_t bytes);

/* Chooses what a power loss does to unsynced writes: false (the default)
 * loses them all, true tears them sector by sector (see above). */
ps_status sim_dbvfs_set_torn(sim_dbvfs *v, bool torn);

/* The database host loses power and comes back: every file reverts to its
 * durable content (torn or not, as set) and every open handle is dead
 * until closed. Files are not removed. */
ps_status sim_dbvfs_power_loss(sim_dbvfs *v);

/* A power loss in the middle of SQLite's work, as SQLite's crash VFS
 * does: counting from now, the n-th call of a kind in `kinds`
 * (SIM_DBVFS_WRITE: xWrite; SIM_DBVFS_SYNC: xSync) loses power as it
 * starts, exactly as sim_dbvfs_power_loss would; the call itself then
 * fails on its dead handle (SQLITE_IOERR_WRITE or _FSYNC). One shot: the
 * count stops after it. n == 0 disarms. Sweeping n over every write and
 * sync of a transaction puts the power loss at every point of its commit.
 * PS_ERR_INVALID_ARG for kinds other than those two. */
ps_status sim_dbvfs_power_loss_at(sim_dbvfs *v, unsigned kinds, uint64_t n);

/* Processes: a simulated host runs several processes (workers) on one
 * disk. Handles opened after sim_dbvfs_set_process(v, id) belong to
 * process `id` (0 until set); a connection's journal is opened inside its
 * transactions, so the caller sets the process around each stretch of a
 * worker's database work. sim_dbvfs_process_crash(v, id) is that
 * process's death (kill -9), not a power loss: its handles lose their
 * locks and fail every later call as a power loss's do (closing
 * succeeds), while everything they wrote stays in the files, synced or
 * not, as the operating system keeps it. The next connection finds the
 * crashed one's hot journal and rolls its open transaction back. */
ps_status sim_dbvfs_set_process(sim_dbvfs *v, uint32_t process);
ps_status sim_dbvfs_process_crash(sim_dbvfs *v, uint32_t process);

/* The crash inside SQLite's work: counting from now, the n-th call of a
 * kind in `kinds` (SIM_DBVFS_WRITE, SIM_DBVFS_SYNC) made on a live handle
 * of `process` crashes that process as it starts, and the call fails
 * (SQLITE_IOERR_WRITE or _FSYNC). One shot; n == 0 disarms.
 * PS_ERR_INVALID_ARG for other kinds. */
ps_status sim_dbvfs_process_crash_at(sim_dbvfs *v, uint32_t process, unsigned kinds, uint64_t n);

/* Copies the counters into *out. */
ps_status sim_dbvfs_stats_get(sim_dbvfs *v, sim_dbvfs_stats *out);

#endif
