/* bench_jetstream.c — what the JetStream backend costs over raw cnats: the
 * same operations, in the same process run, against the same nats-server,
 * once through cnats (libnats) directly and once through jetsim's ps_* API
 * on a backend from ps_jetstream_new, with 128-byte payloads.
 *
 * Output, three lines per measurement (scripts read these lines):
 *   jetstream.<m>.raw_msgs_per_s: <N>      cnats directly
 *   jetstream.<m>.backend_msgs_per_s: <N>  the jetsim JetStream backend
 *   jetstream.<m>.ratio: <R>               backend / raw, 3 decimals
 * for these measurements <m>:
 *   sync_publish   js_Publish / ps_publish_data, each waiting for its PubAck
 *   async_publish  js_PublishAsync / ps_publish_async, then one wait for
 *                  all the PubAcks (js_PublishAsyncComplete /
 *                  ps_publish_async_complete); each side counts every
 *                  result in a handler (cnats's AckHandler, the backend's
 *                  pub result handler). cnats's defaults otherwise on both
 *                  sides (no MaxPending).
 *   fetch_ack      a work queue filled beforehand (not timed), drained by a
 *                  durable pull consumer in fetches of 100 with every
 *                  message acked synchronously (natsMsg_AckSync / ps_ack,
 *                  which waits for the server's reply in the same way)
 * Each figure is the median of 5 runs; the ratio is the median of the 5
 * runs' ratios (each measured with both sides in the same run).
 * Within a run the two sides take turns in chunks of a tenth of the run
 * (raw, backend, backend, raw, ...; see measure), so that drift on a shared
 * machine and the garbage one chunk leaves on the server touch both alike. Each run starts from a new file-storage
 * stream of its own (BENCH_RAW_SYNC, BENCH_JS_SYNC, ...), deleted at the end
 * and at the start in case an earlier run left it. Wall time is
 * CLOCK_MONOTONIC.
 *
 * The server is the one NATS_URL names; without NATS_URL, or in a library
 * built without the JetStream backend, this prints one "jetstream: skipped"
 * line and exits 0 (`make bench` runs it under ci/with-nats.sh, which
 * starts a server when nats-server is installed).
 *
 * This is not a test: it checks only that every run delivered what it
 * should (every publish acknowledged, every message fetched and acked, the
 * streams holding what they must), and exits 1 otherwise. `make test` never
 * runs it. Nor is it a measure of the server: both sides pay the same
 * round trips, so the ratio is what the backend adds.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#include "bench_util.h"

#include "ps_backend.h"
#include "ps_jetstream.h"

#define BENCH_RUNS 5
#define BENCH_PAYLOAD 128
#define BENCH_BATCH 100
#define BENCH_SYNC_MSGS 5000
#define BENCH_ASYNC_MSGS 100000
#define BENCH_FETCH_MSGS 5000
#define BENCH_WAIT_MS 30000 /* async completion and fetch expiry: generous */

typedef enum bench_kind { BENCH_SYNC = 0, BENCH_ASYNC, BENCH_FETCH, BENCH_KINDS } bench_kind;

/* Stream and subject of each side (0 raw, 1 backend) and measurement. */
static const char *const bench_streams[2][BENCH_KINDS] = {
    {"BENCH_RAW_SYNC", "BENCH_RAW_ASYNC", "BENCH_RAW_FETCH"},
    {"BENCH_JS_SYNC", "BENCH_JS_ASYNC", "BENCH_JS_FETCH"},
};
static const char *const bench_subjects[2][BENCH_KINDS] = {
    {"bench.raw.sync", "bench.raw.async", "bench.raw.fetch"},
    {"bench.js.sync", "bench.js.async", "bench.js.fetch"},
};
#define BENCH_RAW_DURABLE "BENCH_RAW_WORKERS"
#define BENCH_JS_DURABLE "BENCH_JS_WORKERS"

static char bench_payload[BENCH_PAYLOAD];

/* The raw side: one connection and context for the whole program. Its
 * AckHandler runs on cnats's thread, hence the atomics. */
static natsConnection *raw_nc;
static jsCtx *raw_js;
static atomic_long raw_acked;
static atomic_long raw_failed;

/* The backend side; its results arrive on this thread. */
static ps_backend *be;
static long be_acked;
static long be_failed;

static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void raw_die(const char *what, natsStatus ns, jsErrCode jerr)
{
    fprintf(stderr, "bench_jetstream: raw %s: %s (err_code %d): %s\n", what, natsStatus_GetText(ns),
            (int)jerr, nats_GetLastError(NULL));
    exit(1);
}

static void be_die(const char *what, ps_status s)
{
    fprintf(stderr, "bench_jetstream: backend %s: %s: %s\n", what, ps_status_name(s), ps_last_error());
    exit(1);
}

static void check_count(const char *side, const char *what, long got, long want)
{
    if (got != want) {
        fprintf(stderr, "bench_jetstream: %s %s: %ld where %ld were expected\n", side, what, got, want);
        exit(1);
    }
}

/* ---- the raw side: cnats directly ---------------------------------------------- */

static void raw_on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    (void)js;
    (void)closure;
    if (pa != NULL && pae == NULL)
        atomic_fetch_add(&raw_acked, 1);
    else
        atomic_fetch_add(&raw_failed, 1);
    natsMsg_Destroy(msg); /* ours with an AckHandler */
}

static void raw_open(const char *url)
{
    natsStatus ns = natsConnection_ConnectTo(&raw_nc, url);
    if (ns != NATS_OK)
        raw_die("connect", ns, 0);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.AckHandler = raw_on_ack;
    if ((ns = natsConnection_JetStream(&raw_js, raw_nc, &jo)) != NATS_OK)
        raw_die("jetstream context", ns, 0);
}

static void raw_close(void)
{
    jsCtx_Destroy(raw_js);
    natsConnection_Destroy(raw_nc);
    raw_js = NULL;
    raw_nc = NULL;
}

static void raw_stream_delete(const char *name)
{
    jsErrCode jerr = 0;
    natsStatus ns = js_DeleteStream(raw_js, name, NULL, &jerr);
    if (ns != NATS_OK && ns != NATS_NOT_FOUND)
        raw_die("stream delete", ns, jerr);
}

/* A new, empty file-storage stream `name` on `subject`. */
static void raw_stream_new(const char *name, const char *subject, jsRetentionPolicy retention)
{
    raw_stream_delete(name);
    const char *subjects[] = {subject};
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = name;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Retention = retention;
    cfg.Storage = js_FileStorage;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_AddStream(&si, raw_js, &cfg, NULL, &jerr);
    if (ns != NATS_OK)
        raw_die("stream add", ns, jerr);
    jsStreamInfo_Destroy(si);
}

static long raw_stream_msgs(const char *name)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_GetStreamInfo(&si, raw_js, name, NULL, &jerr);
    if (ns != NATS_OK)
        raw_die("stream info", ns, jerr);
    long n = (long)si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return n;
}

static void raw_publish_async_n(const char *subject, long n)
{
    atomic_store(&raw_acked, 0);
    atomic_store(&raw_failed, 0);
    for (long i = 0; i < n; i++) {
        natsStatus ns = js_PublishAsync(raw_js, subject, bench_payload, BENCH_PAYLOAD, NULL);
        if (ns != NATS_OK)
            raw_die("publish async", ns, 0);
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = BENCH_WAIT_MS;
    natsStatus ns = js_PublishAsyncComplete(raw_js, &po);
    if (ns != NATS_OK)
        raw_die("publish async complete", ns, 0);
    check_count("raw", "async publish failures", atomic_load(&raw_failed), 0);
    check_count("raw", "async publishes acknowledged", atomic_load(&raw_acked), n);
}

static double raw_sync_run(long n)
{
    const char *stream = bench_streams[0][BENCH_SYNC], *subject = bench_subjects[0][BENCH_SYNC];
    raw_stream_new(stream, subject, js_LimitsPolicy);
    double t0 = bench_now();
    for (long i = 0; i < n; i++) {
        jsPubAck *pa = NULL;
        jsErrCode jerr = 0;
        natsStatus ns = js_Publish(&pa, raw_js, subject, bench_payload, BENCH_PAYLOAD, NULL, &jerr);
        if (ns != NATS_OK)
            raw_die("publish", ns, jerr);
        if (pa->Sequence != (uint64_t)i + 1)
            check_count("raw", "publish sequence", (long)pa->Sequence, i + 1);
        jsPubAck_Destroy(pa);
    }
    double dt = bench_now() - t0;
    check_count("raw", "messages stored by sync publish", raw_stream_msgs(stream), n);
    return (double)n / dt;
}

static double raw_async_run(long n)
{
    const char *stream = bench_streams[0][BENCH_ASYNC], *subject = bench_subjects[0][BENCH_ASYNC];
    raw_stream_new(stream, subject, js_LimitsPolicy);
    double t0 = bench_now();
    raw_publish_async_n(subject, n);
    double dt = bench_now() - t0;
    check_count("raw", "messages stored by async publish", raw_stream_msgs(stream), n);
    return (double)n / dt;
}

static double raw_fetch_run(long n)
{
    const char *stream = bench_streams[0][BENCH_FETCH], *subject = bench_subjects[0][BENCH_FETCH];
    raw_stream_new(stream, subject, js_WorkQueuePolicy);
    raw_publish_async_n(subject, n);
    check_count("raw", "messages in the work queue", raw_stream_msgs(stream), n);

    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = BENCH_RAW_DURABLE;
    cc.AckPolicy = js_AckExplicit;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_AddConsumer(&ci, raw_js, stream, &cc, NULL, &jerr);
    if (ns != NATS_OK)
        raw_die("consumer add", ns, jerr);
    jsConsumerInfo_Destroy(ci);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Consumer = BENCH_RAW_DURABLE;
    natsSubscription *sub = NULL;
    if ((ns = js_PullSubscribe(&sub, raw_js, subject, BENCH_RAW_DURABLE, NULL, &so, &jerr)) != NATS_OK)
        raw_die("pull subscribe", ns, jerr);

    long got = 0;
    double t0 = bench_now();
    while (got < n) {
        natsMsgList list = {0};
        if ((ns = natsSubscription_Fetch(&list, sub, BENCH_BATCH, BENCH_WAIT_MS, &jerr)) != NATS_OK)
            raw_die("fetch", ns, jerr);
        for (int i = 0; i < list.Count; i++) {
            if (natsMsg_GetDataLength(list.Msgs[i]) != BENCH_PAYLOAD)
                check_count("raw", "fetched payload bytes", natsMsg_GetDataLength(list.Msgs[i]),
                            BENCH_PAYLOAD);
            if ((ns = natsMsg_AckSync(list.Msgs[i], NULL, &jerr)) != NATS_OK)
                raw_die("ack", ns, jerr);
            got++;
        }
        natsMsgList_Destroy(&list);
    }
    double dt = bench_now() - t0;
    check_count("raw", "messages fetched and acked", got, n);
    natsSubscription_Destroy(sub); /* bound to the durable: leaves it in place */
    check_count("raw", "messages left in the work queue", raw_stream_msgs(stream), 0);
    return (double)n / dt;
}

/* ---- the backend side: the jetsim API only --------------------------------------- */

static void be_on_result(void *user, const ps_pub_result *r)
{
    (void)user;
    if (r->status == PS_OK)
        be_acked++;
    else
        be_failed++;
}

static void be_open(const char *url)
{
    const char *urls[] = {url};
    ps_jetstream_options o = {.urls = urls, .urls_len = 1};
    ps_status s = ps_jetstream_new(&be, &o);
    if (s != PS_OK)
        be_die("ps_jetstream_new", s);
    ps_backend_set_pub_result_handler(be, be_on_result, NULL);
}

static void be_stream_delete(const char *name)
{
    ps_status s = ps_stream_delete(be, name);
    if (s != PS_OK && s != PS_ERR_STREAM_NOT_FOUND)
        be_die("stream delete", s);
}

static void be_stream_new(const char *name, const char *subject, ps_retention retention)
{
    be_stream_delete(name);
    const char *subjects[] = {subject};
    ps_stream_config sc = {.name = name, .subjects = subjects, .subjects_len = 1,
                           .retention = retention, .storage = PS_STORAGE_FILE};
    ps_status s = ps_stream_add(be, &sc, NULL);
    if (s != PS_OK)
        be_die("stream add", s);
}

static long be_stream_msgs(const char *name)
{
    ps_stream_info info = {0};
    ps_status s = ps_stream_info_get(be, name, &info);
    if (s != PS_OK)
        be_die("stream info", s);
    long n = (long)info.state.msgs;
    ps_stream_info_clear(&info);
    return n;
}

static void be_publish_async_n(const char *subject, long n)
{
    be_acked = be_failed = 0;
    ps_out_msg m = {.subject = subject, .data = bench_payload, .len = BENCH_PAYLOAD};
    for (long i = 0; i < n; i++) {
        ps_status s = ps_publish_async(be, &m, (uint64_t)i);
        if (s != PS_OK)
            be_die("publish async", s);
    }
    ps_status s = ps_publish_async_complete(be, (int64_t)BENCH_WAIT_MS * 1000000);
    if (s != PS_OK)
        be_die("publish async complete", s);
    check_count("backend", "async publish failures", be_failed, 0);
    check_count("backend", "async publishes acknowledged", be_acked, n);
}

static double be_sync_run(long n)
{
    const char *stream = bench_streams[1][BENCH_SYNC], *subject = bench_subjects[1][BENCH_SYNC];
    be_stream_new(stream, subject, PS_RETENTION_LIMITS);
    double t0 = bench_now();
    for (long i = 0; i < n; i++) {
        ps_pub_ack ack;
        ps_status s = ps_publish_data(be, subject, bench_payload, BENCH_PAYLOAD, NULL, &ack);
        if (s != PS_OK)
            be_die("publish", s);
        if (ack.seq != (uint64_t)i + 1)
            check_count("backend", "publish sequence", (long)ack.seq, i + 1);
    }
    double dt = bench_now() - t0;
    check_count("backend", "messages stored by sync publish", be_stream_msgs(stream), n);
    return (double)n / dt;
}

static double be_async_run(long n)
{
    const char *stream = bench_streams[1][BENCH_ASYNC], *subject = bench_subjects[1][BENCH_ASYNC];
    be_stream_new(stream, subject, PS_RETENTION_LIMITS);
    double t0 = bench_now();
    be_publish_async_n(subject, n);
    double dt = bench_now() - t0;
    check_count("backend", "messages stored by async publish", be_stream_msgs(stream), n);
    return (double)n / dt;
}

static double be_fetch_run(long n)
{
    const char *stream = bench_streams[1][BENCH_FETCH], *subject = bench_subjects[1][BENCH_FETCH];
    be_stream_new(stream, subject, PS_RETENTION_WORKQUEUE);
    be_publish_async_n(subject, n);
    check_count("backend", "messages in the work queue", be_stream_msgs(stream), n);

    ps_consumer_config cc = {.durable = BENCH_JS_DURABLE}; /* ack explicit by default */
    ps_consumer *c = NULL;
    ps_status s = ps_consumer_add(be, stream, &cc, &c);
    if (s != PS_OK)
        be_die("consumer add", s);

    ps_msg_list list = {0};
    long got = 0;
    double t0 = bench_now();
    while (got < n) {
        if ((s = ps_fetch_batch(c, BENCH_BATCH, (int64_t)BENCH_WAIT_MS * 1000000, &list)) != PS_OK)
            be_die("fetch", s);
        for (int i = 0; i < list.count; i++) {
            if (list.msgs[i]->len != BENCH_PAYLOAD)
                check_count("backend", "fetched payload bytes", (long)list.msgs[i]->len, BENCH_PAYLOAD);
            if ((s = ps_ack(list.msgs[i], PS_ACK, 0)) != PS_OK)
                be_die("ack", s);
            got++;
        }
        ps_msg_list_clear(&list);
    }
    double dt = bench_now() - t0;
    check_count("backend", "messages fetched and acked", got, n);
    ps_msg_list_free(&list);
    ps_consumer_free(c);
    check_count("backend", "messages left in the work queue", be_stream_msgs(stream), 0);
    return (double)n / dt;
}

/* ---- medians and output --------------------------------------------------------------- */


static double median(double *v)
{
    qsort(v, BENCH_RUNS, sizeof v[0], cmp_double);
    return v[BENCH_RUNS / 2];
}

/* Each of the 5 runs interleaves the two sides finely: BENCH_CHUNKS
 * chunks of n / BENCH_CHUNKS messages per side, raw and backend taking
 * turns and each going first every other time, and a side's run rate is
 * all its messages over all its chunks' time. On a shared 2-core machine
 * whose speed drifts by ±10% within seconds, a whole-run comparison mostly
 * measures the drift; chunks of ~50-100 ms let both sides see the same
 * machine. One untimed chunk per side warms connections and the server
 * first. */
#define BENCH_CHUNKS 10

static void measure(const char *name, double (*raw)(long), double (*backend)(long), long n)
{
    double r[BENCH_RUNS], b[BENCH_RUNS];
    long m = n / BENCH_CHUNKS;
    raw(m);
    backend(m);
    for (int i = 0; i < BENCH_RUNS; i++) {
        double tr = 0, tb = 0; /* seconds spent by each side */
        for (int k = 0; k < BENCH_CHUNKS; k++) {
            if ((i * BENCH_CHUNKS + k) % 2 == 0) {
                tr += (double)m / raw(m);
                tb += (double)m / backend(m);
            } else {
                tb += (double)m / backend(m);
                tr += (double)m / raw(m);
            }
        }
        r[i] = (double)(m * BENCH_CHUNKS) / tr;
        b[i] = (double)(m * BENCH_CHUNKS) / tb;
    }
    if (getenv("BENCH_VERBOSE")) /* every run, to stderr: how noisy the machine is */
        for (int i = 0; i < BENCH_RUNS; i++)
            fprintf(stderr, "%s run %d: raw %.0f backend %.0f msg/s\n", name, i + 1, r[i], b[i]);
    /* The ratio of each run (both sides on the same machine at the same
     * time), then the median of those; the absolute rates are each side's
     * median. */
    double q[BENCH_RUNS];
    for (int i = 0; i < BENCH_RUNS; i++)
        q[i] = b[i] / r[i];
    double mr = median(r), mb = median(b), mq = median(q);
    printf("jetstream.%s.raw_msgs_per_s: %lld\n", name, (long long)(mr + 0.5));
    printf("jetstream.%s.backend_msgs_per_s: %lld\n", name, (long long)(mb + 0.5));
    printf("jetstream.%s.ratio: %.3f\n", name, mq);
    fflush(stdout);
}

static void delete_all_streams(void)
{
    for (int k = 0; k < BENCH_KINDS; k++) {
        raw_stream_delete(bench_streams[0][k]);
        be_stream_delete(bench_streams[1][k]);
    }
}

int main(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "usage: NATS_URL=nats://host:port bench_jetstream\n");
        return 2;
    }
    const char *url = getenv("NATS_URL");
    if (url == NULL || *url == '\0') {
        printf("jetstream: skipped (NATS_URL is not set; make bench starts a server when "
               "nats-server is installed)\n");
        return 0;
    }
    if (!ps_jetstream_available()) {
        printf("jetstream: skipped (this library was built without the JetStream backend)\n");
        return 0;
    }
    memset(bench_payload, 'j', sizeof bench_payload);

    raw_open(url);
    be_open(url);
    delete_all_streams();

    measure("sync_publish", raw_sync_run, be_sync_run, BENCH_SYNC_MSGS);
    measure("async_publish", raw_async_run, be_async_run, BENCH_ASYNC_MSGS);
    measure("fetch_ack", raw_fetch_run, be_fetch_run, BENCH_FETCH_MSGS);

    delete_all_streams();
    ps_backend_close(be);
    raw_close();
    nats_Close();
    return 0;
}
