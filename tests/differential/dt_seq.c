/* dt_seq.c — operations of the differential tester: their one-line text
 * form (the sequence files a divergence is replayed from) and the seeded
 * generator.
 *
 * The generator draws from a small universe on purpose (two streams, five
 * subjects, four consumer slots, limits of a few messages) so that limits,
 * overlaps, purges and redeliveries collide often. It does not track what
 * exists: an operation on something missing is an error both backends must
 * agree on. Not: an executor (dt_exec.c).
 */
#include "difftest.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ps_rand.h"

static const char *const kind_names[DT_KIND_COUNT] = {
    "stream_add", "stream_update", "stream_delete", "stream_info", "publish", "purge",
    "msg_delete", "msg_get", "consumer_add", "consumer_info", "consumer_delete", "fetch",
    "ack", "wait", "pull_start", "pull_poll",
};

/* The fields of dt_op, by name: one table for both directions of the text
 * form, so they cannot drift apart. */
typedef struct dt_field {
    const char *name;
    size_t off;
    bool is_str;
} dt_field;

#define NUM(f) {#f, offsetof(dt_op, f), false}
#define STR(f) {#f, offsetof(dt_op, f), true}
static const dt_field fields[] = {
    NUM(st), STR(subjects), NUM(ret), NUM(sto), NUM(disc), NUM(dnps), NUM(mmsgs), NUM(mbytes),
    NUM(mage_ms), NUM(mmps), NUM(msize), NUM(mcons), NUM(dup_ms), NUM(sealed), NUM(ddel),
    NUM(dpur), NUM(rollup), STR(subj), NUM(size), NUM(id), NUM(es), NUM(els), NUM(elss),
    NUM(elid), NUM(cs), NUM(dur), NUM(dp), NUM(oss), NUM(ost), NUM(ap), NUM(aw_ms), NUM(md),
    NUM(mack), NUM(mwait), NUM(mrb), NUM(hdro), NUM(inact_ms), STR(bo), NUM(batch),
    NUM(exp_ms), NUM(nw), NUM(mb), NUM(m), NUM(ack), NUM(delay_ms), NUM(seq), NUM(keep),
    NUM(erase), NUM(ms), NUM(ps), NUM(rs),
};
#undef NUM
#undef STR
#define NFIELDS ((int)(sizeof fields / sizeof fields[0]))

void dt_op_format(const dt_op *op, char *buf, size_t cap)
{
    size_t off = (size_t)snprintf(buf, cap, "%s", kind_names[op->kind]);
    for (int i = 0; i < NFIELDS && off < cap; i++) {
        const char *p = (const char *)op + fields[i].off;
        if (fields[i].is_str) {
            if (*p)
                off += (size_t)snprintf(buf + off, cap - off, " %s=%s", fields[i].name, p);
        } else {
            int64_t v;
            memcpy(&v, p, sizeof v);
            if (v)
                off += (size_t)snprintf(buf + off, cap - off, " %s=%" PRId64, fields[i].name, v);
        }
    }
}

static int set_field(dt_op *op, const char *key, size_t klen, const char *val)
{
    for (int i = 0; i < NFIELDS; i++) {
        if (strlen(fields[i].name) != klen || strncmp(fields[i].name, key, klen) != 0)
            continue;
        char *p = (char *)op + fields[i].off;
        if (fields[i].is_str) {
            if (strlen(val) >= DT_STR)
                return -1;
            strcpy(p, val);
        } else {
            char *end;
            int64_t v = strtoll(val, &end, 10);
            if (*end)
                return -1;
            memcpy(p, &v, sizeof v);
        }
        return 0;
    }
    return -1;
}

int dt_op_parse(const char *line, dt_op *out)
{
    char buf[1024];
    if (strlen(line) >= sizeof buf)
        return -1;
    strcpy(buf, line);
    dt_op op;
    memset(&op, 0, sizeof op);
    char *save = NULL, *tok = strtok_r(buf, " \t\r\n", &save);
    int k = 0;
    while (tok && k < DT_KIND_COUNT && strcmp(tok, kind_names[k]) != 0)
        k++;
    if (!tok || k == DT_KIND_COUNT) {
        fprintf(stderr, "difftest: unknown operation in '%s'\n", line);
        return -1;
    }
    op.kind = (dt_kind)k;
    while ((tok = strtok_r(NULL, " \t\r\n", &save)) != NULL) {
        char *eq = strchr(tok, '=');
        if (!eq || set_field(&op, tok, (size_t)(eq - tok), eq + 1) != 0) {
            fprintf(stderr, "difftest: bad field '%s' in '%s'\n", tok, line);
            return -1;
        }
    }
    *out = op;
    return 0;
}

int dt_seq_push(dt_seq *s, const dt_op *op)
{
    if (s->n == s->cap) {
        int ncap = s->cap ? s->cap * 2 : 64;
        dt_op *n = realloc(s->ops, (size_t)ncap * sizeof *n);
        if (!n)
            return -1;
        s->ops = n;
        s->cap = ncap;
    }
    s->ops[s->n++] = *op;
    return 0;
}

void dt_seq_free(dt_seq *s)
{
    free(s->ops);
    memset(s, 0, sizeof *s);
}

/* The header line that says a file's mode; --replay runs the file in it. */
#define DT_MODE_TAG "# mode: "

int dt_seq_write(const dt_seq *s, const char *path, bool timed, const char *comment)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    if (comment)
        fprintf(f, "# %s\n", comment);
    fprintf(f, DT_MODE_TAG "%s\n", timed ? "timed" : "untimed");
    char line[1024];
    for (int i = 0; i < s->n; i++) {
        dt_op_format(&s->ops[i], line, sizeof line);
        fprintf(f, "%s\n", line);
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* A "# mode: timed" or "# mode: untimed" line: 1 or 0; -1 for any other
 * line, -2 for a mode line naming something else. */
static int mode_line(const char *p)
{
    size_t n = strlen(DT_MODE_TAG);
    if (strncmp(p, DT_MODE_TAG, n) != 0)
        return -1;
    p += n;
    size_t len = strcspn(p, " \t\r\n");
    if (len == 5 && strncmp(p, "timed", 5) == 0)
        return 1;
    if (len == 7 && strncmp(p, "untimed", 7) == 0)
        return 0;
    return -2;
}

int dt_seq_read(dt_seq *s, const char *path, int *timed)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "difftest: cannot open %s\n", path);
        return -1;
    }
    char line[1024];
    int rc = 0, mode = -1;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        int m = mode_line(p);
        if (m == -2 || (m >= 0 && mode >= 0 && m != mode)) {
            fprintf(stderr, "difftest: %s: bad or second mode line '%.*s' (one '# mode: timed' or '# mode: untimed')\n",
                    path, (int)strcspn(p, "\r\n"), p);
            rc = -1;
            break;
        }
        if (m >= 0)
            mode = m;
        if (*p == '#' || *p == '\n' || *p == 0)
            continue;
        dt_op op;
        rc = dt_op_parse(p, &op) == 0 ? dt_seq_push(s, &op) : -1;
    }
    fclose(f);
    if (rc == 0)
        *timed = mode;
    return rc;
}

/* ---- the generator ----------------------------------------------------------- */

static int64_t pick(ps_rand *r, const int64_t *v, int n) { return v[ps_rand_below(r, (uint64_t)n)]; }
#define PICK(r, ...) pick((r), (const int64_t[]){__VA_ARGS__}, \
                          (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))

static const char *pick_str(ps_rand *r, const char *const *v, int n)
{
    return v[ps_rand_below(r, (uint64_t)n)];
}
#define PICK_STR(r, ...) pick_str((r), (const char *const[]){__VA_ARGS__}, \
                                  (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *)))

/* Subjects a publish, a filter or a purge may name. */
static const char *any_subject(ps_rand *r)
{
    return PICK_STR(r, "a.x", "a.x", "a.y", "a.y", "a.z", "b.x", "b.y", "c.x");
}

static void gen_stream(ps_rand *r, dt_op *op, bool timed)
{
    op->st = ps_rand_chance(r, 0.8) ? 0 : 1;
    if (op->st == 0)
        strcpy(op->subjects, PICK_STR(r, "a.>", "a.>", "a.*", "a.x,a.y", "a.x", "a.y,b.y", ""));
    else
        strcpy(op->subjects, PICK_STR(r, "b.>", "b.x", "a.z,b.x", "a.>"));
    op->ret = PICK(r, 0, 0, 1, 2);
    op->sto = PICK(r, 0, 1);
    op->disc = PICK(r, 0, 0, 1);
    op->dnps = ps_rand_chance(r, 0.15);
    op->mmsgs = PICK(r, 0, 0, 0, 3, 5);
    op->mbytes = PICK(r, 0, 0, 0, 0, 200, 600);
    op->mmps = PICK(r, 0, 0, 0, 1, 2);
    op->msize = timed ? 0 : PICK(r, 0, 0, 0, 0, 40);
    op->mcons = PICK(r, 0, 0, 0, 1, 2);
    op->mage_ms = timed ? PICK(r, 0, 0, 0, 1000, 1500) : PICK(r, 0, 0, 0, 3600000, 50);
    /* Timed: a window the short MaxAge allows, so most streams exist. */
    op->dup_ms = timed ? PICK(r, 0, 0, 800) : PICK(r, 0, 0, 30000, 7200000);
    op->sealed = ps_rand_chance(r, 0.04);
    op->ddel = ps_rand_chance(r, 0.08);
    op->dpur = ps_rand_chance(r, 0.08);
    op->rollup = ps_rand_chance(r, 0.1);
}

static void gen_publish(ps_rand *r, dt_op *op, bool timed)
{
    op->st = ps_rand_chance(r, 0.85) ? 0 : 1;
    strcpy(op->subj, timed ? PICK_STR(r, "a.x", "a.y") : any_subject(r));
    op->size = PICK(r, 0, 5, 5, 5, 20, 60);
    if (ps_rand_chance(r, 0.3))
        op->id = PICK(r, 1, 2, 3, 4);
    if (ps_rand_chance(r, 0.05))
        op->es = PICK(r, 1, 2); /* the publish's stream, or the other */
    if (ps_rand_chance(r, 0.07))
        op->els = 1 + PICK(r, 0, 1, 2, 3, 4, 5, 6);
    if (ps_rand_chance(r, 0.07))
        op->elss = 1 + PICK(r, 0, 1, 2, 3, 4, 5, 6);
    if (ps_rand_chance(r, 0.05))
        op->elid = PICK(r, 1, 2, 3);
}

static void gen_consumer(ps_rand *r, dt_op *op, bool timed)
{
    op->st = ps_rand_chance(r, 0.85) ? 0 : 1;
    op->cs = (int64_t)ps_rand_below(r, DT_SLOTS);
    op->dur = ps_rand_chance(r, 0.75);
    if (ps_rand_chance(r, 0.35))
        strcpy(op->subj, PICK_STR(r, "a.x", "a.y", "a.*", "b.x", "a.z", "c.x"));
    op->dp = PICK(r, 0, 0, 0, 1, 2, 3, 4, 5);
    if (op->dp == 3 || ps_rand_chance(r, 0.03))
        op->oss = PICK(r, 0, 1, 2, 3, 5, 9);
    if (op->dp == 4 || ps_rand_chance(r, 0.03))
        op->ost = PICK(r, 0, 1);
    op->ap = PICK(r, 0, 0, 0, 1, 2);
    if (timed) {
        op->aw_ms = PICK(r, 1000, 1200, 1400);
        if (ps_rand_chance(r, 0.2))
            strcpy(op->bo, PICK_STR(r, "800", "800,1400", "1000,2000,3000"));
    } else {
        op->aw_ms = PICK(r, 0, 0, 60000, 120000);
        if (ps_rand_chance(r, 0.1))
            strcpy(op->bo, PICK_STR(r, "60000", "60000,120000"));
    }
    op->md = PICK(r, 0, 0, 0, 1, 2, 3);
    op->mack = PICK(r, 0, 0, 0, 1, 2, 5);
    op->mwait = PICK(r, 0, 0, 0, 1, 4);
    op->mrb = PICK(r, 0, 0, 0, 0, 1, 3);
    op->hdro = ps_rand_chance(r, 0.05);
    if (!op->dur)
        op->inact_ms = 3600000; /* an ephemeral must outlive the sequence */
}

static void gen_fetch(ps_rand *r, dt_op *op, bool timed)
{
    op->cs = (int64_t)ps_rand_below(r, DT_SLOTS);
    op->batch = PICK(r, 1, 1, 2, 3, 5);
    /* exp 0 is "what is there now"; a no_wait request without an expiry is
     * left out: a stalled consumer keeps it until the client's timeout. */
    int v = (int)ps_rand_below(r, 8);
    op->exp_ms = v < 6 ? 0 : (timed ? 100 : 30);
    op->nw = v == 7;
    if (ps_rand_chance(r, 0.05))
        op->mb = PICK(r, 30, 100, 300);
}

/* An asynchronous pull. Untimed: no expiry (it waits until its batch is
 * full or its consumer goes) or no_wait; timed: expiries 200 ms and more
 * from the AckWaits and waits the generator draws. */
static void gen_pull(ps_rand *r, dt_op *op, bool timed)
{
    op->cs = (int64_t)ps_rand_below(r, DT_SLOTS);
    op->ps = (int64_t)ps_rand_below(r, DT_PULLS);
    op->batch = PICK(r, 1, 1, 2, 3, 5);
    int v = (int)ps_rand_below(r, 8);
    if (timed)
        op->exp_ms = v < 6 ? PICK(r, 600, 1700) : 0;
    op->nw = v >= 6 || (timed && ps_rand_chance(r, 0.15));
    if (op->nw && v == 7 && !timed)
        op->exp_ms = 3600000; /* a one-shot with an expiry nobody reaches */
    if (ps_rand_chance(r, 0.05))
        op->mb = PICK(r, 60, 100, 300);
}

static void gen_one(ps_rand *r, dt_op *op, bool timed)
{
    static const int weights[DT_KIND_COUNT] = {
        [DT_STREAM_ADD] = 4, [DT_STREAM_UPDATE] = 5, [DT_STREAM_DELETE] = 1,
        [DT_STREAM_INFO] = 5, [DT_PUBLISH] = 30, [DT_PURGE] = 4, [DT_MSG_DELETE] = 3,
        [DT_MSG_GET] = 3, [DT_CONSUMER_ADD] = 8, [DT_CONSUMER_INFO] = 6,
        [DT_CONSUMER_DELETE] = 2, [DT_FETCH] = 16, [DT_ACK] = 16, [DT_WAIT] = 0,
        [DT_PULL_START] = 5, [DT_PULL_POLL] = 7,
    };
    /* Timed: mostly publish, fetch, ack and wait, so timers have work. */
    static const int timed_weights[DT_KIND_COUNT] = {
        [DT_STREAM_ADD] = 1, [DT_STREAM_UPDATE] = 1, [DT_STREAM_DELETE] = 0,
        [DT_STREAM_INFO] = 3, [DT_PUBLISH] = 22, [DT_PURGE] = 1, [DT_MSG_DELETE] = 1,
        [DT_MSG_GET] = 1, [DT_CONSUMER_ADD] = 2, [DT_CONSUMER_INFO] = 6,
        [DT_CONSUMER_DELETE] = 0, [DT_FETCH] = 24, [DT_ACK] = 18, [DT_WAIT] = 14,
        [DT_PULL_START] = 4, [DT_PULL_POLL] = 6,
    };
    int total = 0, w[DT_KIND_COUNT];
    for (int k = 0; k < DT_KIND_COUNT; k++) {
        w[k] = timed ? timed_weights[k] : weights[k];
        total += w[k];
    }
    int x = (int)ps_rand_below(r, (uint64_t)total), k = 0;
    while (x >= w[k])
        x -= w[k++];
    memset(op, 0, sizeof *op);
    op->kind = (dt_kind)k;
    switch (op->kind) {
    case DT_STREAM_ADD:
    case DT_STREAM_UPDATE: gen_stream(r, op, timed); break;
    case DT_STREAM_DELETE:
    case DT_STREAM_INFO: op->st = ps_rand_chance(r, 0.8) ? 0 : 1; break;
    case DT_PUBLISH: gen_publish(r, op, timed); break;
    case DT_PURGE:
        op->st = ps_rand_chance(r, 0.9) ? 0 : 1;
        if (ps_rand_chance(r, 0.4))
            strcpy(op->subj, any_subject(r));
        if (ps_rand_chance(r, 0.35))
            op->seq = PICK(r, 1, 2, 3, 4, 6, 9, 15);
        else if (ps_rand_chance(r, 0.3))
            op->keep = PICK(r, 1, 2, 3);
        break;
    case DT_MSG_DELETE:
        op->st = ps_rand_chance(r, 0.9) ? 0 : 1;
        op->seq = PICK(r, 1, 2, 3, 4, 5, 6, 8, 12);
        op->erase = ps_rand_chance(r, 0.3);
        break;
    case DT_MSG_GET:
        op->st = ps_rand_chance(r, 0.9) ? 0 : 1;
        if (ps_rand_chance(r, 0.4))
            strcpy(op->subj, any_subject(r));
        else
            op->seq = PICK(r, 1, 2, 3, 4, 5, 6, 8, 12);
        break;
    case DT_CONSUMER_ADD: gen_consumer(r, op, timed); break;
    case DT_CONSUMER_INFO:
    case DT_CONSUMER_DELETE: op->cs = (int64_t)ps_rand_below(r, DT_SLOTS); break;
    case DT_FETCH: gen_fetch(r, op, timed); break;
    case DT_ACK:
        op->m = (int64_t)ps_rand_below(r, 1000);
        op->ack = PICK(r, 0, 0, 0, 1, 1, 2, 3);
        if (op->ack == 1 && ps_rand_chance(r, 0.4))
            op->delay_ms = timed ? PICK(r, 600, 1100) : 600000;
        op->rs = ps_rand_chance(r, 0.5);
        break;
    case DT_WAIT: op->ms = PICK(r, 300, 500, 700, 1100); break;
    case DT_PULL_START: gen_pull(r, op, timed); break;
    case DT_PULL_POLL: op->ps = (int64_t)ps_rand_below(r, DT_PULLS); break;
    case DT_KIND_COUNT: break;
    }
}

/* Timed sequences are short (every wait costs real time on the server), so
 * they stay on one stream and mostly one consumer, where timers fire. */
static void focus(ps_rand *r, dt_op *op)
{
    if (ps_rand_chance(r, 0.95))
        op->st = 0;
    if (ps_rand_chance(r, 0.8))
        op->cs = 0;
    if (ps_rand_chance(r, 0.7))
        op->ps = 0;
    if (op->kind == DT_CONSUMER_ADD) {
        op->mrb = op->mwait = 0; /* pulls are not refused */
        op->dur = 1;
    }
    if (op->kind == DT_CONSUMER_ADD && ps_rand_chance(r, 0.7)) {
        op->subj[0] = 0;
        op->dp = 0;
        op->oss = op->ost = 0;
        op->ap = 0;
    }
}

int dt_generate(dt_seq *out, uint64_t seed, bool timed, int max_ops)
{
    out->n = 0;
    ps_rand r = ps_rand_derive(seed, timed ? 2 : 1);
    int n = (int)ps_rand_range(&r, timed ? max_ops / 2 + 1 : max_ops / 4 + 1, max_ops);
    dt_op op;
    /* Most sequences start with a stream and a consumer, or little happens. */
    memset(&op, 0, sizeof op);
    gen_stream(&r, &op, timed);
    op.kind = DT_STREAM_ADD;
    op.st = 0;
    op.sealed = 0;
    if (timed) /* timers need messages: a stream every publish reaches */
        strcpy(op.subjects, "a.>");
    if (dt_seq_push(out, &op) != 0)
        return -1;
    for (int i = 1; i < n; i++) {
        gen_one(&r, &op, timed);
        if (i == 1 || (i < 4 && ps_rand_chance(&r, 0.5))) {
            memset(&op, 0, sizeof op);
            gen_consumer(&r, &op, timed);
            op.kind = DT_CONSUMER_ADD;
        }
        if (timed)
            focus(&r, &op);
        if (dt_seq_push(out, &op) != 0)
            return -1;
    }
    return 0;
}
