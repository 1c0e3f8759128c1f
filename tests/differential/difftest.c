/* difftest.c — the differential tester's command line.
 *
 *   difftest [--seeds N] [--first S] [--timed] [--max-ops N] [--out DIR]
 *            [--no-shrink] [--quiet]
 *   difftest --replay FILE [--timed | --untimed]
 *   difftest --print SEED [--timed] [--max-ops N]
 *
 * For each seed it generates a sequence (dt_seq.c), runs it on a fresh
 * memory backend and on the server named by NATS_URL (make difftest starts
 * one through ci/with-nats.sh), and compares the result lines. At the
 * first differing operation it runs the sequence on the server a second
 * time: if the two server runs differ, the seed is reported as server
 * nondeterminism (with both server lines as evidence, in
 * racy-<seed>.txt), not as a divergence. Otherwise it prints the
 * operation and both results, writes seed-<seed>.seq, shrinks it
 * (deleting operations while a divergence at the same kind of operation
 * remains) to seed-<seed>.min.seq, and prints the replay command. A
 * campaign writes into its own directory, DIR/<untimed|timed>-FIRST-LAST,
 * emptied of an earlier run's files first; every .seq says its mode in a
 * `# mode:` line, which --replay follows.
 *
 * Exit status (usage() says the same): 0 no divergence (server-racy and
 * too-close-to-a-timer seeds are listed but do not fail), 1 at least one
 * divergence, 2 harness error (bad arguments, no server, a sequence file
 * that cannot be read or whose mode contradicts --timed/--untimed, an
 * answer of the server the tester cannot compare).
 */
#include "difftest.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ps_jetstream.h"

typedef struct dt_opts {
    uint64_t first;
    int seeds;
    bool timed;
    int mode_flag; /* -1 neither --timed nor --untimed given, else 1 or 0 */
    int max_ops;
    const char *out_dir;
    const char *replay;
    bool print;
    bool shrink;
    bool quiet;
} dt_opts;

typedef struct dt_stats {
    long ops;       /* the seeds' operations, once each (not the reruns) */
    int diverged;
    int racy;       /* two server runs differed */
    int timer;      /* too close to a timer (timed mode) */
} dt_stats;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Index of the first differing line, or -1 when the transcripts agree. */
static int first_diff(const dt_transcript *a, const dt_transcript *b)
{
    int n = a->n < b->n ? a->n : b->n;
    for (int i = 0; i < n; i++)
        if (strcmp(a->lines[i], b->lines[i]) != 0)
            return i;
    return a->n == b->n ? -1 : n;
}

static const char *line_at(const dt_transcript *t, int i) { return i < t->n ? t->lines[i] : "(none)"; }

/* Runs `seq` on both backends; the index of the first difference (-1 none),
 * -2 on a harness error. The transcripts are left in *m and *s. */
static bool g_timed; /* the mode of this process: every comparison uses it */

static int compare(ps_backend *srv, const dt_seq *seq, dt_transcript *m, dt_transcript *s)
{
    /* Timed: the server runs first and the model replays at its instants. */
    int64_t *at = g_timed ? calloc((size_t)seq->n + 1, sizeof *at) : NULL;
    int rc = (g_timed && !at) || dt_run_server(srv, seq, at, s) != 0 || dt_run_memory(seq, at, m) != 0;
    free(at);
    if (rc) {
        fprintf(stderr, "difftest: harness error: a run could not finish (the reason is above, else out "
                        "of memory)\n");
        return -2;
    }
    return first_diff(m, s);
}

/* Still a divergence at an operation of kind `kind`? */
static bool still_diverges(ps_backend *srv, const dt_seq *seq, dt_kind kind)
{
    dt_transcript m, s;
    int d = compare(srv, seq, &m, &s);
    dt_transcript_free(&m);
    dt_transcript_free(&s);
    return d >= 0 && d < seq->n && seq->ops[d].kind == kind;
}

/* Deletes chunks of operations, halving the chunk size, while the
 * divergence stays (a ddmin without complements). */
static void shrink(ps_backend *srv, dt_seq *seq, dt_kind kind)
{
    dt_seq trial = {0};
    for (int chunk = seq->n / 2; chunk >= 1; chunk /= 2) {
        bool progress = true;
        while (progress) {
            progress = false;
            for (int start = 0; start < seq->n; start += chunk) {
                trial.n = 0;
                for (int i = 0; i < seq->n; i++)
                    if ((i < start || i >= start + chunk) && dt_seq_push(&trial, &seq->ops[i]) != 0)
                        goto done;
                if (trial.n > 0 && still_diverges(srv, &trial, kind)) {
                    dt_seq tmp = *seq;
                    *seq = trial;
                    trial = tmp;
                    progress = true;
                    start -= chunk;
                }
            }
        }
    }
done:
    dt_seq_free(&trial);
}

static void print_side_by_side(const dt_seq *seq, const dt_transcript *m, const dt_transcript *s)
{
    char op[1024];
    for (int i = 0; i < seq->n; i++) {
        dt_op_format(&seq->ops[i], op, sizeof op);
        bool same = strcmp(line_at(m, i), line_at(s, i)) == 0;
        printf("%3d %s %s\n", i + 1, same ? " " : "!", op);
        if (same) {
            printf("        both:   %s\n", line_at(m, i));
        } else {
            printf("        memory: %s\n", line_at(m, i));
            printf("        server: %s\n", line_at(s, i));
        }
    }
}

static void seq_path(char *buf, size_t cap, const dt_opts *o, uint64_t seed, const char *suffix)
{
    snprintf(buf, cap, "%s/%s%" PRIu64 "%s", o->out_dir, o->timed ? "timed-" : "seed-", seed, suffix);
}

/* Timed mode: how far from the server's instants the model's clock may be
 * moved when deciding whether an operation was too close to a timer. */
#define DT_MARGIN_MS 50

/* Does the model answer op d as the server did when op d alone is moved by
 * +-DT_MARGIN_MS (the ops after it keep their distance to it)? Then op d
 * ran within the margin of a timer an earlier op set (an AckWait deadline,
 * a nak delay, a MaxAge expiry) and its outcome depends on a few
 * milliseconds of latency: too close to call, not a divergence. */
static bool timer_margin(const dt_seq *seq, const int64_t *at, const dt_transcript *s, int d)
{
    int64_t *moved = calloc((size_t)seq->n + 1, sizeof *moved);
    bool agrees = false;
    /* A pull with an expiry waits on the server, so a timer due before the
     * expiry can still fill it; on the manual clock a fetch never waits
     * (the contract): try the op at the end of its wait too. */
    const dt_op *op = &seq->ops[d];
    int64_t shifts[3] = {-DT_MARGIN_MS, DT_MARGIN_MS, op->kind == DT_FETCH ? op->exp_ms : 0};
    for (int j = 0; moved && j < 3 && !agrees; j++) {
        if (shifts[j] == 0)
            continue;
        for (int i = 0; i < seq->n; i++)
            moved[i] = i < d ? at[i] : at[i] + shifts[j] * PS_NS_PER_MS;
        for (int i = 1; i < seq->n; i++)
            if (moved[i] < moved[i - 1])
                moved[i] = moved[i - 1];
        dt_transcript m = {0};
        if (dt_run_memory(seq, moved, &m) == 0) {
            int k = first_diff(&m, s);
            agrees = k < 0 || k > d;
        }
        dt_transcript_free(&m);
    }
    free(moved);
    return agrees;
}

/* The server the user named with NATS_URL, or NULL when there is none or
 * ci/with-nats.sh started this run's own (it exports JETSIM_NATS_SCRIPT
 * then, and a replay through make starts another). */
static const char *user_url(void)
{
    const char *url = getenv("NATS_URL");
    return url && *url && !getenv("JETSIM_NATS_SCRIPT") ? url : NULL;
}

/* A divergence at op d of seed `seed`: evidence, racy check, shrink, files. */
static int report(ps_backend *srv, const dt_opts *o, uint64_t seed, dt_seq *seq, int d,
                  const dt_transcript *m, const dt_transcript *s, dt_stats *st)
{
    char op[1024], path[512], comment[256];
    dt_op_format(&seq->ops[d], op, sizeof op);
    dt_transcript s2 = {0}, m2 = {0};
    int64_t *at = o->timed ? calloc((size_t)seq->n + 1, sizeof *at) : NULL;
    if ((o->timed && !at) || dt_run_server(srv, seq, at, &s2) != 0) {
        free(at);
        return -1;
    }
    int racy_at = first_diff(s, &s2);
    if (racy_at < 0 && at && timer_margin(seq, at, &s2, d)) {
        free(at);
        dt_transcript_free(&s2);
        st->timer++;
        snprintf(path, sizeof path, "%s/racy-timed-%" PRIu64 ".txt", o->out_dir, seed);
        FILE *f = fopen(path, "w");
        if (f) {
            fprintf(f, "seed %" PRIu64 " (timed): op %d (%s) is within %d ms of a timer: the model "
                       "answers as the server when its clock is moved by that much\nserver: %s\nmemory: %s\n",
                    seed, d + 1, op, DT_MARGIN_MS, line_at(s, d), line_at(m, d));
            fclose(f);
        }
        printf("seed %" PRIu64 ": TOO CLOSE TO A TIMER at op %d (%s): the model agrees within %d ms "
               "(or within the fetch's expiry; evidence in %s)\n", seed, d + 1, op, DT_MARGIN_MS, path);
        return 0;
    }
    free(at);
    if (racy_at >= 0) {
        st->racy++;
        snprintf(path, sizeof path, "%s/racy-%s%" PRIu64 ".txt", o->out_dir, o->timed ? "timed-" : "", seed);
        FILE *f = fopen(path, "w");
        if (f) {
            dt_op_format(&seq->ops[racy_at < seq->n ? racy_at : seq->n - 1], op, sizeof op);
            fprintf(f, "seed %" PRIu64 "%s: two server runs differ at op %d: %s\nrun 1: %s\nrun 2: %s\nmemory: %s\n",
                    seed, o->timed ? " (timed)" : "", racy_at + 1, op, line_at(s, racy_at),
                    line_at(&s2, racy_at), line_at(m, racy_at));
            fclose(f);
        }
        seq_path(path, sizeof path, o, seed, ".seq");
        dt_seq_write(seq, path, o->timed, "server nondeterminism: two server runs of this sequence differ");
        printf("seed %" PRIu64 ": SERVER NONDETERMINISM at op %d (%s): run 1 '%s', run 2 '%s' (evidence in %s/racy-*)\n",
               seed, racy_at + 1, op, line_at(s, racy_at), line_at(&s2, racy_at), o->out_dir);
        dt_transcript_free(&s2);
        return 0;
    }
    dt_transcript_free(&s2);
    st->diverged++;
    printf("seed %" PRIu64 ": DIVERGENCE at op %d of %d: %s\n  memory: %s\n  server: %s\n", seed, d + 1,
           seq->n, op, line_at(m, d), line_at(s, d));
    seq_path(path, sizeof path, o, seed, ".seq");
    snprintf(comment, sizeof comment, "difftest seed %" PRIu64 "%s: diverges at op %d", seed,
             o->timed ? " (timed)" : "", d + 1);
    dt_seq_write(seq, path, o->timed, comment);
    if (o->shrink) {
        dt_kind kind = seq->ops[d].kind;
        shrink(srv, seq, kind);
        seq_path(path, sizeof path, o, seed, ".min.seq");
        snprintf(comment, sizeof comment, "difftest seed %" PRIu64 "%s, shrunk to %d ops", seed,
                 o->timed ? " (timed)" : "", seq->n);
        dt_seq_write(seq, path, o->timed, comment);
        dt_transcript ms = {0}, ss = {0};
        if (compare(srv, seq, &ms, &ss) >= -1) {
            printf("  minimal sequence (%d ops):\n", seq->n);
            print_side_by_side(seq, &ms, &ss);
        }
        dt_transcript_free(&ms);
        dt_transcript_free(&ss);
    }
    dt_transcript_free(&m2);
    const char *url = user_url();
    printf("  replay: make difftest REPLAY=%s%s%s\n", path, url ? " NATS_URL=" : "", url ? url : "");
    return 0;
}

static int run_seeds(ps_backend *srv, const dt_opts *o)
{
    dt_stats st = {0};
    double t0 = now_s();
    printf("difftest: %d %s seeds from %" PRIu64 ", at most %d ops each, server %s\n", o->seeds,
           o->timed ? "timed" : "untimed", o->first, o->max_ops, getenv("NATS_URL"));
    for (int k = 0; k < o->seeds; k++) {
        uint64_t seed = o->first + (uint64_t)k;
        dt_seq seq = {0};
        dt_transcript m = {0}, s = {0};
        if (dt_generate(&seq, seed, o->timed, o->max_ops) != 0)
            return 2;
        st.ops += seq.n; /* once, however often the seed runs again below */
        int d = compare(srv, &seq, &m, &s);
        if (d == -2)
            return 2;
        if (d >= 0 && report(srv, o, seed, &seq, d < seq.n ? d : seq.n - 1, &m, &s, &st) != 0)
            return 2;
        dt_transcript_free(&m);
        dt_transcript_free(&s);
        dt_seq_free(&seq);
        if (!o->quiet && (k + 1) % 100 == 0)
            printf("difftest: %d seeds, %ld ops, %d divergences, %d server-racy, %d too close to a timer, "
                   "%.1f s\n", k + 1, st.ops, st.diverged, st.racy, st.timer, now_s() - t0);
    }
    printf("difftest: %d %s seeds (%" PRIu64 "..%" PRIu64 "), %ld operations per backend, %d divergences, "
           "%d server-racy, %d too close to a timer, %.1f s (files in %s)\n",
           o->seeds, o->timed ? "timed" : "untimed", o->first, o->first + (uint64_t)o->seeds - 1, st.ops,
           st.diverged, st.racy, st.timer, now_s() - t0, o->out_dir);
    return st.diverged ? 1 : 0;
}

/* The mode a replay runs in: the file's `# mode:` line; --timed or
 * --untimed only for a file without one, or to insist on what it says.
 * -1 (a message printed) when the flag contradicts the file. */
static int replay_mode(dt_opts *o, int file_mode)
{
    const char *name[2] = {"untimed", "timed"};
    if (file_mode >= 0 && o->mode_flag >= 0 && file_mode != o->mode_flag) {
        fprintf(stderr, "difftest: %s is %s (its '# mode:' line) but --%s (make: TIMED=%d) asks for %s; "
                        "leave the flag out to run it as its header says\n", o->replay, name[file_mode],
                name[o->mode_flag], o->mode_flag, name[o->mode_flag]);
        return -1;
    }
    o->timed = file_mode >= 0 ? file_mode == 1 : o->mode_flag == 1;
    printf("replay: %s, %s (%s)\n", o->replay, name[o->timed],
           file_mode >= 0        ? "the mode its header gives"
           : o->mode_flag >= 0   ? "as asked: the file has no '# mode:' line"
                                 : "the file has no '# mode:' line: --timed (TIMED=1) if a timed campaign wrote it");
    return 0;
}

static int replay(ps_backend *srv, dt_opts *o)
{
    dt_seq seq = {0};
    int file_mode;
    if (dt_seq_read(&seq, o->replay, &file_mode) != 0 || replay_mode(o, file_mode) != 0) {
        dt_seq_free(&seq);
        return 2;
    }
    g_timed = o->timed;
    dt_transcript m = {0}, s = {0}, s2 = {0};
    int d = compare(srv, &seq, &m, &s);
    if (d == -2)
        return 2;
    print_side_by_side(&seq, &m, &s);
    int rc = 0;
    if (d >= 0) {
        /* The same verdicts as a campaign's: a second server run, and in
         * timed mode the op moved by the timer margin. */
        int64_t *at = o->timed ? calloc((size_t)seq.n + 1, sizeof *at) : NULL;
        bool ran = (!o->timed || at) && dt_run_server(srv, &seq, at, &s2) == 0;
        rc = 1;
        if (ran && first_diff(&s, &s2) >= 0) {
            printf("replay: the server answered differently on a second run (op %d): server nondeterminism\n",
                   first_diff(&s, &s2) + 1);
        } else if (ran && at && timer_margin(&seq, at, &s2, d)) {
            printf("replay: op %d is too close to a timer: the model answers as the server when its clock "
                   "is moved by %d ms (or to the end of the fetch's expiry); not a divergence\n",
                   d + 1, DT_MARGIN_MS);
            rc = 0;
        } else {
            printf("replay: DIVERGENCE at op %d\n", d + 1);
        }
        free(at);
    } else {
        printf("replay: %d ops, no divergence\n", seq.n);
    }
    dt_transcript_free(&m);
    dt_transcript_free(&s);
    dt_transcript_free(&s2);
    dt_seq_free(&seq);
    return rc;
}

static int usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: difftest [--seeds N] [--first S] [--timed] [--max-ops N] [--out DIR] [--no-shrink] [--quiet]\n"
            "       difftest --replay FILE [--timed | --untimed]\n"
            "       difftest --print SEED [--timed] [--max-ops N]\n"
            "Runs random operation sequences on the memory backend and on the server at NATS_URL\n"
            "and compares the results. A campaign writes into DIR/untimed-FIRST-LAST (or timed-...),\n"
            "which it empties of an earlier run's seed-*, timed-* and racy-* files first (DIR:\n"
            "build/difftest). --replay runs FILE in the mode of its '# mode:' line; --timed or\n"
            "--untimed is for a file without one, and contradicting the line is an error.\n"
            "Exit status:\n"
            "  0  no divergence (server-racy and too-close-to-a-timer seeds are listed, not failed)\n"
            "  1  at least one divergence (a replay: the file still diverges)\n"
            "  2  harness error: bad arguments, no server at NATS_URL, a sequence file that cannot\n"
            "     be read or whose mode contradicts the flag, a server answer the tester cannot\n"
            "     compare (an err_code jetsim does not know, printed with the server's words)\n"
            "make difftest runs this under ci/with-nats.sh (77 there: no server could be started);\n"
            "make itself exits 2 on any failure and shows this code as 'Error N'.\n");
    return rc;
}

static int parse(int argc, char **argv, dt_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--timed")) o->timed = true, o->mode_flag = 1;
        else if (!strcmp(a, "--untimed")) o->timed = false, o->mode_flag = 0;
        else if (!strcmp(a, "--no-shrink")) o->shrink = false;
        else if (!strcmp(a, "--quiet")) o->quiet = true;
        else if (!v) return -1;
        else if (!strcmp(a, "--seeds")) o->seeds = atoi(v), i++;
        else if (!strcmp(a, "--first")) o->first = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--max-ops")) o->max_ops = atoi(v), i++;
        else if (!strcmp(a, "--out")) o->out_dir = v, i++;
        else if (!strcmp(a, "--replay")) o->replay = v, i++;
        else if (!strcmp(a, "--print")) o->print = true, o->first = strtoull(v, NULL, 10), i++;
        else return -1;
    }
    if (o->max_ops <= 0)
        o->max_ops = o->timed ? 30 : 40;
    return o->seeds > 0 ? 0 : -1;
}

/* A campaign's own directory under the --out one, emptied of the files an
 * earlier run of the same campaign wrote (and only those): the files
 * other campaigns wrote stay beside it, in theirs. */
static int campaign_dir(dt_opts *o, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s/%s-%" PRIu64 "-%" PRIu64, o->out_dir, o->timed ? "timed" : "untimed",
                     o->first, o->first + (uint64_t)o->seeds - 1);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "difftest: --out %s is too long\n", o->out_dir);
        return -1;
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "difftest: cannot create %s: %s\n", buf, strerror(errno));
        return -1;
    }
    DIR *d = opendir(buf);
    if (!d) {
        fprintf(stderr, "difftest: cannot open %s: %s\n", buf, strerror(errno));
        return -1;
    }
    char path[1024];
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strncmp(e->d_name, "seed-", 5) != 0 && strncmp(e->d_name, "timed-", 6) != 0 &&
            strncmp(e->d_name, "racy-", 5) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", buf, e->d_name);
        if (unlink(path) != 0)
            fprintf(stderr, "difftest: cannot remove %s: %s\n", path, strerror(errno));
    }
    closedir(d);
    o->out_dir = buf;
    return 0;
}

int main(int argc, char **argv)
{
    dt_opts o = {.first = 1, .seeds = 100, .mode_flag = -1, .out_dir = "build/difftest", .shrink = true};
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return usage(stdout, 0);
    if (parse(argc, argv, &o) != 0)
        return usage(stderr, 2);
    g_timed = o.timed;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (o.print) {
        dt_seq seq = {0};
        char line[1024];
        if (dt_generate(&seq, o.first, o.timed, o.max_ops) != 0)
            return 2;
        for (int i = 0; i < seq.n; i++) {
            dt_op_format(&seq.ops[i], line, sizeof line);
            printf("%s\n", line);
        }
        dt_seq_free(&seq);
        return 0;
    }
    char dir[256]; /* the campaign's directory: room for the file names in report() */
    if (mkdir(o.out_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "difftest: cannot create %s\n", o.out_dir);
        return 2;
    }
    if (!o.replay && campaign_dir(&o, dir, sizeof dir) != 0)
        return 2;
    ps_jetstream_options jo = {.client_name = "difftest", .request_timeout_ms = 2000};
    ps_backend *srv = NULL;
    if (ps_jetstream_new(&srv, &jo) != PS_OK) {
        fprintf(stderr, "difftest: no server at NATS_URL=%s: %s\n", getenv("NATS_URL") ? getenv("NATS_URL") : "(unset)",
                ps_last_error());
        return 2;
    }
    int rc = o.replay ? replay(srv, &o) : run_seeds(srv, &o);
    ps_backend_close(srv);
    return rc;
}
