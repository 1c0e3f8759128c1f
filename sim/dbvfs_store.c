/* dbvfs_store.c — the files of the simulation VFS (dbvfs.h) and what a
 * power loss leaves of them.
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
 * A power loss also bumps each file's epoch, which kills every handle
 * opened before it (dbvfs.c) without touching it, and drops its locks.
 *
 * This file is not: anything SQLite calls (dbvfs.c is the glue), nor the
 * faults that fail a call (dbvfs.c); it calls no SQLite function.
 */
#include "dbvfs_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- files ------------------------------------------------------------ */

dbv_file *dbv_find(sim_dbvfs *v, const char *name)
{
    for (dbv_file *f = v->files; f; f = f->next)
        if (f->linked && strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

void dbv_file_destroy(dbv_file *f)
{
    free(f->name);
    free(f->data);
    free(f->changed);
    free(f->undo);
    free(f->change_map);
    free(f);
}

/* Removes `f` from the list and frees it: the last handle of an unlinked
 * file closed, or it was deleted with none open. */
void dbv_file_drop(sim_dbvfs *v, dbv_file *f)
{
    for (dbv_file **pp = &v->files; *pp; pp = &(*pp)->next) {
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    }
    v->st.bytes -= f->len;
    dbv_file_destroy(f);
}

/* A new empty file, appended to the list. NULL when out of memory. */
dbv_file *dbv_file_create(sim_dbvfs *v, const char *name)
{
    dbv_file *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    if (name) {
        f->name = strdup(name);
        if (!f->name) {
            free(f);
            return NULL;
        }
        f->linked = true;
    }
    dbv_file **pp = &v->files;
    while (*pp)
        pp = &(*pp)->next;
    *pp = f;
    return f;
}

/* Grows a file's buffer to hold at least `need` bytes. */
bool dbv_reserve(dbv_file *f, size_t need)
{
    if (need <= f->cap)
        return true;
    size_t n = f->cap ? f->cap : 4096;
    while (n < need)
        n *= 2;
    uint8_t *p = realloc(f->data, n);
    if (!p)
        return false;
    f->data = p;
    f->cap = n;
    return true;
}

/* Room in the change list and the map for sector `last`. */
static bool dbv_reserve_changes(dbv_file *f, size_t last)
{
    if (last >= f->map_cap) {
        size_t n = f->map_cap ? f->map_cap : 64;
        while (n <= last)
            n *= 2;
        uint32_t *m = realloc(f->change_map, n * sizeof *m);
        if (!m)
            return false;
        memset(m + f->map_cap, 0, (n - f->map_cap) * sizeof *m);
        f->change_map = m;
        f->map_cap = n;
    }
    if (f->nchanged == f->changed_cap) {
        size_t n = f->changed_cap ? f->changed_cap * 2 : 64;
        dbv_change *c = realloc(f->changed, n * sizeof *c);
        if (!c)
            return false;
        f->changed = c;
        uint8_t *u = realloc(f->undo, n * DBV_SECTOR);
        if (!u)
            return false;
        f->undo = u;
        f->changed_cap = n;
    }
    return true;
}

/* Called before bytes [a, b) of the buffer change, by a write or (not
 * `written`) a zero fill: saves the durable bytes of each sector that
 * changes for the first time since the sync. False when out of memory
 * (then nothing may change). */
bool dbv_touch(dbv_file *f, size_t a, size_t b, bool written)
{
    if (a >= b)
        return true;
    size_t first = a / DBV_SECTOR, last = (b - 1) / DBV_SECTOR;
    for (size_t s = first; s <= last; s++) {
        if (s < f->map_cap && f->change_map[s]) {
            if (written)
                f->changed[f->change_map[s] - 1].written = true;
            continue;
        }
        if (!dbv_reserve_changes(f, s))
            return false;
        size_t at = s * DBV_SECTOR;
        size_t saved = at < f->dur_len ? f->dur_len - at : 0;
        if (saved > DBV_SECTOR)
            saved = DBV_SECTOR;
        if (saved)
            memcpy(f->undo + f->nchanged * DBV_SECTOR, f->data + at, saved);
        f->changed[f->nchanged++] = (dbv_change){.sector = (uint32_t)s, .saved = (uint16_t)saved, .written = written};
        f->change_map[s] = (uint32_t)f->nchanged;
    }
    return true;
}

/* The current content is durable: forget the undo log. */
void dbv_forget_changes(dbv_file *f)
{
    for (size_t i = 0; i < f->nchanged; i++)
        f->change_map[f->changed[i].sector] = 0;
    f->nchanged = 0;
    f->dur_len = f->len;
}

/* Sets the current length, keeping the VFS's byte count. */
void dbv_set_len(sim_dbvfs *v, dbv_file *f, size_t len)
{
    v->st.bytes = v->st.bytes - f->len + len;
    f->len = len;
}

/* ---- power loss ------------------------------------------------------ */

/* Puts back the durable bytes of change `i` over [at, end): the saved
 * ones, zeros past the synced end. */
static void dbv_undo(dbv_file *f, size_t i, size_t end)
{
    size_t at = (size_t)f->changed[i].sector * DBV_SECTOR;
    size_t saved = f->changed[i].saved;
    memcpy(f->data + at, f->undo + i * DBV_SECTOR, saved);
    if (at + saved < end)
        memset(f->data + at + saved, 0, end - at - saved);
}

/* Torn: the length lands at the synced or the current one; each sector
 * written since the sync keeps its durable bytes, its new ones, or
 * garbage (the whole sector: no power-safe overwrite). Bytes not changed
 * since the sync are still in the buffer, past the current end included;
 * sectors only zero-filled get their durable bytes back. */
static void dbv_tear(sim_dbvfs *v, dbv_file *f)
{
    size_t len = ps_rand_below(&v->torn_rng, 2) ? f->len : f->dur_len;
    for (size_t i = 0; i < f->nchanged; i++) {
        size_t at = (size_t)f->changed[i].sector * DBV_SECTOR;
        if (at >= len)
            continue;
        size_t end = at + DBV_SECTOR < len ? at + DBV_SECTOR : len;
        if (!f->changed[i].written) {
            dbv_undo(f, i, end); /* a zero fill is not a write that can tear */
            continue;
        }
        switch (ps_rand_below(&v->torn_rng, 3)) {
        case 0:
            dbv_undo(f, i, end);
            v->st.sectors_lost++;
            break;
        case 1:
            v->st.sectors_kept++;
            break;
        default:
            for (size_t k = at; k < end; k++)
                f->data[k] = (uint8_t)ps_rand_next(&v->torn_rng);
            v->st.sectors_garbage++;
            break;
        }
    }
    dbv_set_len(v, f, len);
    dbv_forget_changes(f);
}

/* Clean: the durable content is all that is left. */
static void dbv_revert(sim_dbvfs *v, dbv_file *f)
{
    for (size_t i = 0; i < f->nchanged; i++) {
        size_t at = (size_t)f->changed[i].sector * DBV_SECTOR;
        if (at < f->dur_len)
            dbv_undo(f, i, at + f->changed[i].saved);
    }
    v->st.sectors_lost += f->nchanged;
    dbv_set_len(v, f, f->dur_len);
    dbv_forget_changes(f);
}

/* Every file comes back as durable; every handle dies and every lock is
 * gone with it. */
void dbv_power_loss_locked(sim_dbvfs *v)
{
    v->st.power_losses++;
    for (dbv_file *f = v->files; f; f = f->next) {
        f->epoch++;
        f->shared = 0;
        f->writer = NULL;
        if (v->torn)
            dbv_tear(v, f);
        else
            dbv_revert(v, f);
    }
}
