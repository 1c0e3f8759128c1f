/* dbvfs_store.h — the files of the simulation VFS (sim/dbvfs.c): their
 * bytes, and what a power loss leaves of them. Internal to the VFS, which
 * holds its mutex around every call.
 *
 * A file's buffer is its current content. What survives a power loss is
 * kept as an undo log, not as a second image: the first time a 512-byte
 * sector changes after a sync, its durable bytes are saved. A sync then
 * only forgets the log, and a power loss puts the saved sectors back (or,
 * torn, some of them) and the length the file had at its last sync. So a
 * sync costs nothing, a write at most one sector copy more, and a journal
 * that is only ever appended to is never copied twice. Shrinking a file
 * changes only its length, never its buffer: the bytes past the end stay
 * there for a power loss to bring back.
 *
 * This module is not: names, handles or locks (dbvfs.c has them).
 */
#ifndef SIM_DBVFS_STORE_H
#define SIM_DBVFS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbvfs.h"
#include "ps_rand.h"

#define DBV_SECTOR 512

/* A sector changed since the last sync: how many of its bytes were
 * durable (saved in the undo log; 0 for a sector past the synced end), and
 * whether SQLite wrote to it or it only changed by a zero fill (a write
 * past the end, a truncate that grows). */
typedef struct dbv_change {
    uint32_t sector;
    uint16_t saved;
    bool written;
} dbv_change;

struct dbv_handle;

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
    uint8_t *undo;        /* their durable bytes, DBV_SECTOR per entry */
    uint32_t *change_map; /* per sector: its index in `changed` + 1, or 0 */
    size_t map_cap;

    int shared;                 /* live handles at SHARED or above */
    struct dbv_handle *writer;  /* the live handle at RESERVED, PENDING or EXCLUSIVE */
} dbv_file;

/* A new empty file named `name` (copied; NULL for an anonymous one), or
 * NULL when out of memory. */
dbv_file *dbv_file_new(const char *name);
void dbv_file_destroy(dbv_file *f);

/* Copies up to `n` bytes at `off` into buf and zeroes the rest of it;
 * returns how many bytes the file had there. */
size_t dbv_file_read(const dbv_file *f, void *buf, size_t n, size_t off);

/* Writes `n` bytes at `off` (a gap past the end reads as zeros). False
 * when out of memory: the file is then unchanged. */
bool dbv_file_write(dbv_file *f, const void *buf, size_t n, size_t off);

/* Sets the length: shrinking keeps the bytes for a power loss, growing
 * adds zeros. False when out of memory: the file is then unchanged. */
bool dbv_file_resize(dbv_file *f, size_t size);

/* The current content is durable. */
void dbv_file_sync(dbv_file *f);

/* Power loss, clean: the file holds what its last sync made durable.
 * Counts the sectors lost in st->sectors_lost. */
void dbv_file_revert(dbv_file *f, sim_dbvfs_stats *st);

/* Power loss, torn (dbvfs.h), drawing from `rng`; counts the sectors'
 * fates in `st`. */
void dbv_file_tear(dbv_file *f, ps_rand *rng, sim_dbvfs_stats *st);

#endif
