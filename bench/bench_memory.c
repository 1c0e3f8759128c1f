/* bench_memory.c — throughput of the memory backend on one thread.
 *
 * 128-byte payloads, a manual clock, medians of 5 runs. Each figure is
 * printed on a line of its own in a fixed form scripts can read:
 *   memory.publish: <N> msg/s          plain publish to a memory stream
 *   memory.publish_msgid: <N> msg/s    unique Nats-Msg-Id each, 2 min window
 *   memory.fetch_ack: <N> msg/s        work queue, fetch 100, ack each
 *   memory.redeliver: <N> msg/s        every message nak'ed once, then acked
 *   memory.bytes_per_msg: <N> B        resident memory per stored message
 *                                      with 1M messages stored
 * Wall time comes from CLOCK_MONOTONIC: the benchmark measures the host,
 * not simulated time. Messages are published before a consumer run starts,
 * and only the consumer side is timed there.
 *
 * The figures are steady state: each run builds a fresh backend, but the
 * allocator is told to keep freed memory (M_TRIM_THRESHOLD), as it does in
 * a long test process, so a run does not pay the kernel for zeroing the
 * same pages again. What a cold process pays is printed as well, on
 * memory.publish_cold / memory.fetch_ack_cold lines (the first run, before
 * any memory was warm).
 *
 * Not a test: it asserts nothing; `make test` never runs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <malloc.h>
#include <unistd.h>

#include "ps_backend.h"
#include "ps_clock.h"
#include "ps_memory.h"

#define RUNS 5
#define PAYLOAD 128

static char payload[PAYLOAD];

static double wall(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what, ps_status s)
{
    fprintf(stderr, "bench: %s: %s: %s\n", what, ps_status_name(s), ps_last_error());
    exit(1);
}

typedef struct bench_env {
    ps_clock *clock;
    ps_backend *b;
} bench_env;

static bench_env env_new(void)
{
    bench_env e = {ps_clock_manual_new(0), NULL};
    ps_memory_options o = {.clock = e.clock, .seed = 1};
    ps_status s = ps_memory_new(&e.b, &o);
    if (s != PS_OK)
        die("ps_memory_new", s);
    return e;
}

static void env_free(bench_env *e)
{
    ps_backend_close(e->b);
    ps_clock_free(e->clock);
}

static void stream(bench_env *e, ps_retention r)
{
    const char *subs[] = {"bench.>"};
    ps_stream_config c = {.name = "BENCH", .subjects = subs, .subjects_len = 1,
                          .storage = PS_STORAGE_MEMORY, .retention = r};
    ps_status s = ps_stream_add(e->b, &c, NULL);
    if (s != PS_OK)
        die("stream add", s);
}

/* "job-<n>" without printf, which would cost more than the publish. */
static void job_id(char *p, unsigned long v)
{
    char tmp[24];
    int n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while (v /= 10);
    memcpy(p, "job-", 4);
    p += 4;
    while (n)
        *p++ = tmp[--n];
    *p = '\0';
}

static void publish_n(bench_env *e, int n, bool with_id)
{
    char id[32];
    for (int i = 0; i < n; i++) {
        if (with_id)
            job_id(id, (unsigned long)i);
        ps_status s = ps_publish_data(e->b, "bench.jobs", payload, PAYLOAD, with_id ? id : NULL, NULL);
        if (s != PS_OK)
            die("publish", s);
    }
}

static double run_publish(int n, bool with_id)
{
    bench_env e = env_new();
    stream(&e, PS_RETENTION_LIMITS);
    double t0 = wall();
    publish_n(&e, n, with_id);
    double dt = wall() - t0;
    env_free(&e);
    return n / dt;
}

static ps_consumer *durable(bench_env *e)
{
    ps_consumer_config cc = {.durable = "WORKERS", .max_ack_pending = 100000};
    ps_consumer *c = NULL;
    ps_status s = ps_consumer_add(e->b, "BENCH", &cc, &c);
    if (s != PS_OK)
        die("consumer add", s);
    return c;
}

/* Work queue: fetch batches of 100 and ack each; with `nak_first`, every
 * message is nak'ed on its first delivery and acked on its second. */
static double run_consume(int n, bool nak_first)
{
    bench_env e = env_new();
    stream(&e, PS_RETENTION_WORKQUEUE);
    publish_n(&e, n, false);
    ps_consumer *c = durable(&e);
    ps_msg_list l = {0};
    long acked = 0;
    double t0 = wall();
    while (ps_fetch_batch(c, 100, 0, &l) == PS_OK) {
        for (int i = 0; i < l.count; i++) {
            ps_msg *m = l.msgs[i];
            bool nak = nak_first && m->meta.num_delivered == 1;
            ps_status s = ps_ack(m, nak ? PS_NAK : PS_ACK, 0);
            if (s != PS_OK)
                die("ack", s);
            acked += !nak;
        }
    }
    double dt = wall() - t0;
    if (acked != n) {
        fprintf(stderr, "bench: acked %ld of %d\n", acked, n);
        exit(1);
    }
    ps_msg_list_free(&l);
    ps_consumer_free(c);
    env_free(&e);
    return n / dt;
}

static long rss_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    if (f)
        fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

/* Run in a fresh process (this program re-executed with --bytes-child),
 * so memory earlier runs gave back to the allocator, which RSS still
 * counts, cannot hide the cost. */
static double child_bytes_per_msg(int n)
{
    bench_env e = env_new();
    stream(&e, PS_RETENTION_LIMITS);
    long before = rss_bytes();
    publish_n(&e, n, false);
    double per = (double)(rss_bytes() - before) / n;
    env_free(&e);
    return per;
}

static double run_bytes_per_msg(int n)
{
    char cmd[64];
    snprintf(cmd, sizeof cmd, "/proc/%d/exe --bytes-child %d", (int)getpid(), n);
    FILE *p = popen(cmd, "r");
    double per = -1;
    if (!p || fscanf(p, "%lf", &per) != 1)
        per = -1;
    if (p)
        pclose(p);
    return per;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef double (*bench_fn)(int n, bool flag);

static double median(bench_fn fn, int n, bool flag)
{
    double v[RUNS];
    for (int i = 0; i < RUNS; i++)
        v[i] = fn(n, flag);
    qsort(v, RUNS, sizeof v[0], cmp_double);
    return v[RUNS / 2];
}

static double bytes_adapter(int n, bool flag)
{
    (void)flag;
    return run_bytes_per_msg(n);
}

static void cpu_model(char *buf, size_t n)
{
    snprintf(buf, n, "unknown cpu");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            char *p = strchr(line, ':');
            if (p) {
                p += 2;
                p[strcspn(p, "\n")] = '\0';
                snprintf(buf, n, "%s", p);
            }
            break;
        }
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--bytes-child") == 0) {
        memset(payload, 'x', sizeof payload);
        printf("%f\n", child_bytes_per_msg(atoi(argv[2])));
        return 0;
    }
    int n = argc > 1 ? atoi(argv[1]) : 1000000;
    if (n <= 0) {
        fprintf(stderr, "usage: bench_memory [MESSAGES_PER_RUN]\n");
        return 2;
    }
    memset(payload, 'x', sizeof payload);
    char cpu[128], date[32];
    cpu_model(cpu, sizeof cpu);
    time_t t = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M", gmtime(&t));
    printf("# jetsim bench: %s UTC, %s, %d msgs/run, median of %d\n", date, cpu, n, RUNS);
    fflush(stdout);
    double cold_pub = run_publish(n, false);
    double cold_fetch = run_consume(n, false);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    printf("memory.publish: %.0f msg/s\n", median(run_publish, n, false));
    fflush(stdout);
    printf("memory.publish_msgid: %.0f msg/s\n", median(run_publish, n, true));
    fflush(stdout);
    printf("memory.fetch_ack: %.0f msg/s\n", median(run_consume, n, false));
    fflush(stdout);
    printf("memory.redeliver: %.0f msg/s\n", median(run_consume, n, true));
    fflush(stdout);
    printf("memory.bytes_per_msg: %.0f B\n", median(bytes_adapter, 1000000, false));
    printf("memory.publish_cold: %.0f msg/s\n", cold_pub);
    printf("memory.fetch_ack_cold: %.0f msg/s\n", cold_fetch);
    return 0;
}
