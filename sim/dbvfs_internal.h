/* dbvfs_internal.h — what the two files of the simulation VFS share: its
 * state (struct sim_dbvfs), a file of it with its undo log, a handle, and
 * the store's functions that the SQLite glue calls.
 *
 *   dbvfs_store.c  the files: their content, the undo log of what a sync
 *                  made durable, and a power loss (clean or torn)
 *   dbvfs.c        SQLite's io_methods and vfs over them, the faults,
 *                  the locks between handles, and the public API (dbvfs.h)
 *
 * The store's functions are called with the VFS's mutex held (but for
 * sim_dbvfs_free, when no one else may use the VFS).
 *
 * Not a public header (dbvfs.h is), not installed.
 */
#ifndef SIM_DBVFS_INTERNAL_H
#define SIM_DBVFS_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbvfs.h"
#include "ps_rand.h"

#define DBV_SECTOR 512
#define DBV_NAME_MAX 64

typedef struct dbv_handle dbv_handle;

/* A sector changed since the last sync: how many of its bytes were
 * durable (saved in the undo log; 0 for a sector past the synced end), and
 * whether SQLite wrote to it or it only changed by a zero fill (a write
 * past the end, a truncate that grows). */
typedef struct dbv_change {
    uint32_t sector;
    uint16_t saved;
    bool written;
} dbv_change;

typedef struct dbv_file {
    struct dbv_file *next; /* in the VFS's list, in creation order */
    char *name;            /* NULL for an anonymous (temporary) file */
    bool linked;           /* reachable by name (not deleted, not anonymous) */
    int refs;              /* open handles */
    uint64_t epoch;        /* bumped by each power loss */

    uint8_t *data;   /* the current content; capacity never shrinks */
    size_t len, cap; /* current length, buffer size */
    size_t dur_len;  /* the length at the last sync */

    dbv_change *changed; /* sectors changed since the last sync, in order */
    size_t nchanged, changed_cap;
    uint8_t *undo;       /* their durable bytes, DBV_SECTOR per entry */
    uint32_t *change_map; /* per sector: its index in `changed` + 1, or 0 */
    size_t map_cap;

    int shared;         /* live handles at SHARED or above */
    dbv_handle *writer; /* the live handle at RESERVED, PENDING or EXCLUSIVE */
} dbv_file;

struct dbv_handle {
    sqlite3_file base; /* first: SQLite hands us this pointer */
    sim_dbvfs *v;
    dbv_file *f;
    uint64_t epoch;
    int lock; /* SQLITE_LOCK_* */
};

struct sim_dbvfs {
    sqlite3_vfs base; /* registered with SQLite; pAppData points back */
    char name[DBV_NAME_MAX + 1];
    pthread_mutex_t mu;
    ps_clock *clock;
    ps_rand fault_rng, torn_rng, user_rng;
    int percent[4]; /* by bit index of SIM_DBVFS_* */
    uint64_t cap_bytes;
    bool torn;
    unsigned crash_kinds;     /* sim_dbvfs_power_loss_at: calls counted */
    uint64_t crash_countdown; /* ... calls to go, the last one loses power; 0: off */
    dbv_file *files;
    sim_dbvfs_stats st;
};

/* ---- the store (dbvfs_store.c) ------------------------------------------ */

/* The file reachable by `name`, or NULL. */
dbv_file *dbv_find(sim_dbvfs *v, const char *name);

/* A new empty file (name NULL: anonymous), appended to the VFS's list.
 * NULL when out of memory. */
dbv_file *dbv_file_create(sim_dbvfs *v, const char *name);

/* Frees a file that is on no list any more (sim_dbvfs_free). */
void dbv_file_destroy(dbv_file *f);

/* Removes `f` from the list and frees it: the last handle of an unlinked
 * file closed, or it was deleted with none open. */
void dbv_file_drop(sim_dbvfs *v, dbv_file *f);

/* Grows a file's buffer to hold at least `need` bytes; false when out of
 * memory. */
bool dbv_reserve(dbv_file *f, size_t need);

/* Called before bytes [a, b) of the buffer change, by a write or (not
 * `written`) a zero fill: saves the durable bytes of each sector that
 * changes for the first time since the sync. False when out of memory
 * (then nothing may change). */
bool dbv_touch(dbv_file *f, size_t a, size_t b, bool written);

/* The current content is durable (a sync): forget the undo log. */
void dbv_forget_changes(dbv_file *f);

/* Sets the current length, keeping the VFS's byte count. */
void dbv_set_len(sim_dbvfs *v, dbv_file *f, size_t len);

/* Every file comes back as durable (torn or not, as v->torn says); every
 * handle dies and every lock is gone with it. */
void dbv_power_loss_locked(sim_dbvfs *v);

#endif
