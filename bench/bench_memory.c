/* bench_memory.c — throughput and footprint of the memory backend, on one
 * thread, with 128-byte payloads, a manual clock and memory-storage streams.
 *
 * Output, one figure per line after a header (scripts read these lines):
 *   # jetsim bench: <date>, <cpu model>, median of 5
 *   memory.publish: <N> msg/s        publish to a limits stream, no msg id
 *   memory.publish_msgid: <N> msg/s  a unique Nats-Msg-Id each (2 min window)
 *   memory.fetch_ack: <N> msg/s      work queue filled beforehand (not timed),
 *                                    fetch batches of 100, ps_ack each
 *   memory.redeliver: <N> msg/s      as fetch_ack, but every message is
 *                                    nak'ed once and acked on its redelivery
 *                                    (N counts messages, not deliveries)
 *   memory.bytes_per_msg: <N> B      resident memory per stored message with
 *                                    1M stored, from /proc/self/statm
 * Each figure is the median of 5 runs; each run starts from a new backend.
 * Wall time is CLOCK_MONOTONIC: this measures the host, not simulated time.
 * The footprint runs each in a fresh copy of this program (re-executed with
 * --rss-child), so memory an earlier run freed cannot hide the cost.
 *
 * Usage: bench_memory [--only publish|msgid|fetch_ack|redeliver|bytes]
 *                     [MESSAGES_PER_RUN]   (default 1000000)
 * --only runs one figure, so a profiler sees one phase; the timed part of
 * each run is its own function (bench_publish_n, bench_drain) for
 * `valgrind --tool=callgrind --toggle-collect=bench_drain`.
 *
 * This is not a test: it checks only that the runs completed, and `make
 * test` never runs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#include "ps_backend.h"
#include "ps_clock.h"
#include "ps_memory.h"

#define BENCH_RUNS 5
#define BENCH_PAYLOAD 128
#define BENCH_BATCH 100
#define BENCH_RSS_MSGS 1000000

typedef struct bench {
    ps_clock *clock;
    ps_backend *b;
} bench;

static char bench_payload[BENCH_PAYLOAD];

static void bench_die(const char *what, ps_status s)
{
    fprintf(stderr, "bench_memory: %s: %s: %s\n", what, ps_status_name(s), ps_last_error());
    exit(1);
}

static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A new backend with one memory-storage stream BENCH on bench.>. */
static bench bench_open(ps_retention retention)
{
    bench e = {.clock = ps_clock_manual_new(0)};
    ps_memory_options mo = {.clock = e.clock, .seed = 1};
    ps_status s = e.clock ? ps_memory_new(&e.b, &mo) : PS_ERR_NO_MEMORY;
    if (s != PS_OK)
        bench_die("ps_memory_new", s);
    const char *subjects[] = {"bench.>"};
    ps_stream_config sc = {.name = "BENCH", .subjects = subjects, .subjects_len = 1,
                           .retention = retention, .storage = PS_STORAGE_MEMORY};
    if ((s = ps_stream_add(e.b, &sc, NULL)) != PS_OK)
        bench_die("stream add", s);
    return e;
}

static void bench_close(bench *e)
{
    ps_backend_close(e->b);
    ps_clock_free(e->clock);
}

/* Adds one to a decimal number kept as text, so ids cost no printf. */
static void bench_id_next(char *digits, int *len)
{
    int i = *len - 1;
    while (i >= 0 && digits[i] == '9')
        digits[i--] = '0';
    if (i >= 0) {
        digits[i]++;
        return;
    }
    memmove(digits + 1, digits, (size_t)*len + 1);
    digits[0] = '1';
    (*len)++;
}

static __attribute__((noinline)) void bench_publish_n(bench *e, long n, int with_id)
{
    char id[32] = "id-0";
    int digits = 1;
    for (long i = 0; i < n; i++) {
        ps_status s = ps_publish_data(e->b, "bench.jobs", bench_payload, BENCH_PAYLOAD,
                                      with_id ? id : NULL, NULL);
        if (s != PS_OK)
            bench_die("publish", s);
        if (with_id)
            bench_id_next(id + 3, &digits);
    }
}

static double run_publish(long n, int with_id)
{
    bench e = bench_open(PS_RETENTION_LIMITS);
    double t0 = bench_now();
    bench_publish_n(&e, n, with_id);
    double dt = bench_now() - t0;
    bench_close(&e);
    return (double)n / dt;
}

/* Fetches and acks until the consumer has nothing left; returns the
 * number acked. Not inlined: a profiler toggles on it. */
static __attribute__((noinline)) long bench_drain(ps_consumer *c, int nak_first,
                                                  ps_msg_list *batch)
{
    long acked = 0;
    ps_status s;
    while ((s = ps_fetch_batch(c, BENCH_BATCH, 0, batch)) == PS_OK) {
        for (int i = 0; i < batch->count; i++) {
            ps_msg *m = batch->msgs[i];
            int nak = nak_first && m->meta.num_delivered == 1;
            if ((s = ps_ack(m, nak ? PS_NAK : PS_ACK, 0)) != PS_OK)
                bench_die("ack", s);
            acked += !nak;
        }
        ps_msg_list_clear(batch);
    }
    if (s != PS_ERR_TIMEOUT && s != PS_ERR_NO_MESSAGES)
        bench_die("fetch", s);
    return acked;
}

/* Drains a filled work queue in batches; with `nak_first`, each message is
 * nak'ed on its first delivery (no delay: it is due again at once, ahead of
 * new messages, JS 6.4) and acked on its second. */
static double run_consume(long n, int nak_first)
{
    bench e = bench_open(PS_RETENTION_WORKQUEUE);
    bench_publish_n(&e, n, 0);
    ps_consumer_config cc = {.durable = "BENCH_WORKERS"};
    ps_consumer *c = NULL;
    ps_status s = ps_consumer_add(e.b, "BENCH", &cc, &c);
    if (s != PS_OK)
        bench_die("consumer add", s);

    ps_msg_list batch = {0};
    double t0 = bench_now();
    long acked = bench_drain(c, nak_first, &batch);
    double dt = bench_now() - t0;
    if (acked != n) {
        fprintf(stderr, "bench_memory: acked %ld of %ld messages\n", acked, n);
        exit(1);
    }
    ps_msg_list_free(&batch);
    ps_consumer_free(c);
    bench_close(&e);
    return (double)n / dt;
}

static long bench_rss_bytes(void)
{
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    int got = fscanf(f, "%ld %ld", &size, &resident);
    fclose(f);
    return got == 2 ? resident * sysconf(_SC_PAGESIZE) : -1;
}

/* In the child: store BENCH_RSS_MSGS messages, print bytes per message. */
static int rss_child(void)
{
    bench e = bench_open(PS_RETENTION_LIMITS);
    long before = bench_rss_bytes();
    bench_publish_n(&e, BENCH_RSS_MSGS, 0);
    long after = bench_rss_bytes();
    if (before < 0 || after < 0)
        return 1;
    printf("%.3f\n", (double)(after - before) / BENCH_RSS_MSGS);
    bench_close(&e);
    return 0;
}

/* Runs this program again as `--rss-child` and reads its one number. */
static double run_bytes_per_msg(long n_unused, int flag_unused)
{
    (void)n_unused;
    (void)flag_unused;
    int fd[2];
    if (pipe(fd) != 0) {
        perror("bench_memory: pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("bench_memory: fork");
        exit(1);
    }
    if (pid == 0) {
        dup2(fd[1], STDOUT_FILENO);
        close(fd[0]);
        close(fd[1]);
        execl("/proc/self/exe", "bench_memory", "--rss-child", (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    double per = -1;
    if (f == NULL || fscanf(f, "%lf", &per) != 1)
        per = -1;
    if (f)
        fclose(f);
    int status = 0;
    waitpid(pid, &status, 0);
    if (per < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_memory: the --rss-child run failed\n");
        exit(1);
    }
    return per;
}


/* The median of BENCH_RUNS runs; every run, in order, goes to stderr
 * (the spread on a virtual machine is wide, and the first run of a
 * process is the one that faults its memory in). */
static long long median_of_runs(const char *name, double (*run)(long, int), long n, int flag)
{
    double v[BENCH_RUNS];
    fprintf(stderr, "%s runs:", name);
    for (int i = 0; i < BENCH_RUNS; i++) {
        v[i] = run(n, flag);
        fprintf(stderr, " %.0f", v[i]);
    }
    fprintf(stderr, "\n");
    qsort(v, BENCH_RUNS, sizeof v[0], cmp_double);
    return (long long)(v[BENCH_RUNS / 2] + 0.5);
}

static int bench_known_phase(const char *p)
{
    const char *known[] = {"publish", "msgid", "fetch_ack", "redeliver", "bytes"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(p, known[i]) == 0)
            return 1;
    return 0;
}

static void bench_print(const char *name, const char *unit, long long v)
{
    printf("%s: %lld %s\n", name, v, unit);
    fflush(stdout);
}

static void cpu_model(char *buf, size_t size)
{
    snprintf(buf, size, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            colon += 1 + strspn(colon + 1, " \t");
            colon[strcspn(colon, "\n")] = '\0';
            snprintf(buf, size, "%s", colon);
            break;
        }
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    memset(bench_payload, 'j', sizeof bench_payload);
    if (argc == 2 && strcmp(argv[1], "--rss-child") == 0)
        return rss_child();
    const char *only = NULL;
    if (argc >= 3 && strcmp(argv[1], "--only") == 0) {
        only = argv[2];
        argc -= 2;
        argv += 2;
    }
    long n = 1000000;
    if (argc > 2 || (argc == 2 && (n = strtol(argv[1], NULL, 10)) <= 0) ||
        (only && !bench_known_phase(only))) {
        fprintf(stderr, "usage: bench_memory [--only publish|msgid|fetch_ack|redeliver|bytes] "
                        "[MESSAGES_PER_RUN]\n");
        return 2;
    }

    char cpu[256], date[32];
    cpu_model(cpu, sizeof cpu);
    time_t t = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    printf("# jetsim bench: %s, %s, median of %d\n", date, cpu, BENCH_RUNS);
    fflush(stdout);

    if (!only || strcmp(only, "publish") == 0)
        bench_print("memory.publish", "msg/s", median_of_runs("memory.publish", run_publish, n, 0));
    if (!only || strcmp(only, "msgid") == 0)
        bench_print("memory.publish_msgid", "msg/s", median_of_runs("memory.publish_msgid", run_publish, n, 1));
    if (!only || strcmp(only, "fetch_ack") == 0)
        bench_print("memory.fetch_ack", "msg/s", median_of_runs("memory.fetch_ack", run_consume, n, 0));
    if (!only || strcmp(only, "redeliver") == 0)
        bench_print("memory.redeliver", "msg/s", median_of_runs("memory.redeliver", run_consume, n, 1));
    if (!only || strcmp(only, "bytes") == 0)
        bench_print("memory.bytes_per_msg", "B", median_of_runs("memory.bytes_per_msg", run_bytes_per_msg, 0, 0));
    return 0;
}
