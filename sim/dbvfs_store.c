/* dbvfs_store.c — the files of the simulation VFS: bytes, undo log, power
 * loss (contract in dbvfs_store.h). */
#include "dbvfs_store.h"

#include <stdlib.h>
#include <string.h>

dbv_file *dbv_file_new(const char *name)
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
    return f;
}

void dbv_file_destroy(dbv_file *f)
{
    if (!f)
        return;
    free(f->name);
    free(f->data);
    free(f->changed);
    free(f->undo);
    free(f->change_map);
    free(f);
}

/* Grows a file's buffer to hold at least `need` bytes. */
static bool dbv_reserve(dbv_file *f, size_t need)
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
static bool dbv_touch(dbv_file *f, size_t a, size_t b, bool written)
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
void dbv_file_sync(dbv_file *f)
{
    for (size_t i = 0; i < f->nchanged; i++)
        f->change_map[f->changed[i].sector] = 0;
    f->nchanged = 0;
    f->dur_len = f->len;
}

size_t dbv_file_read(const dbv_file *f, void *buf, size_t n, size_t off)
{
    size_t have = off < f->len ? f->len - off : 0;
    if (have > n)
        have = n;
    if (have)
        memcpy(buf, f->data + off, have);
    memset((uint8_t *)buf + have, 0, n - have);
    return have;
}

bool dbv_file_write(dbv_file *f, const void *buf, size_t n, size_t off)
{
    if (n == 0)
        return true;
    size_t end = off + n;
    /* A write past the end fills the gap with zeros: that changes it too. */
    if (!dbv_reserve(f, end) || !dbv_touch(f, f->len, off, false) || !dbv_touch(f, off, end, true))
        return false;
    if (off > f->len)
        memset(f->data + f->len, 0, off - f->len);
    memcpy(f->data + off, buf, n);
    if (end > f->len)
        f->len = end;
    return true;
}

bool dbv_file_resize(dbv_file *f, size_t size)
{
    if (size > f->len) {
        if (!dbv_reserve(f, size) || !dbv_touch(f, f->len, size, false))
            return false;
        memset(f->data + f->len, 0, size - f->len);
    }
    f->len = size;
    return true;
}

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
void dbv_file_tear(dbv_file *f, ps_rand *rng, sim_dbvfs_stats *st)
{
    size_t len = ps_rand_below(rng, 2) ? f->len : f->dur_len;
    for (size_t i = 0; i < f->nchanged; i++) {
        size_t at = (size_t)f->changed[i].sector * DBV_SECTOR;
        if (at >= len)
            continue;
        size_t end = at + DBV_SECTOR < len ? at + DBV_SECTOR : len;
        if (!f->changed[i].written) {
            dbv_undo(f, i, end); /* a zero fill is not a write that can tear */
            continue;
        }
        switch (ps_rand_below(rng, 3)) {
        case 0:
            dbv_undo(f, i, end);
            st->sectors_lost++;
            break;
        case 1:
            st->sectors_kept++;
            break;
        default:
            for (size_t k = at; k < end; k++)
                f->data[k] = (uint8_t)ps_rand_next(rng);
            st->sectors_garbage++;
            break;
        }
    }
    f->len = len;
    dbv_file_sync(f);
}

/* Clean: the durable content is all that is left. */
void dbv_file_revert(dbv_file *f, sim_dbvfs_stats *st)
{
    for (size_t i = 0; i < f->nchanged; i++) {
        size_t at = (size_t)f->changed[i].sector * DBV_SECTOR;
        if (at < f->dur_len)
            dbv_undo(f, i, at + f->changed[i].saved);
    }
    st->sectors_lost += f->nchanged;
    f->len = f->dur_len;
    dbv_file_sync(f);
}
