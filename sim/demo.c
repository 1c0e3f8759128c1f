/* demo.c — the demo job system: a publisher of jobs with message ids (some
 * published twice, as a retrying client would), a work-queue stream, one
 * durable pull consumer with BackOff and MaxDeliver, and workers whose
 * handler fails now and then. The manual clock jumps to the backend's next
 * deadline whenever nothing is deliverable, so minutes of retries take
 * milliseconds.
 */
#include "demo.h"

#include <stdio.h>
#include <string.h>

#include "ps_backend.h"
#include "ps_clock.h"
#include "ps_memory.h"
#include "ps_rand.h"

#define MAX_DELIVER 5

static void count_advisory(void *user, const ps_advisory *adv)
{
    (void)adv;
    ((demo_result *)user)->advisories++;
}

static int fail(FILE *err, const char *what, ps_status s)
{
    fprintf(err, "jetsim demo: %s: %s (%s)\n", what, ps_last_error(), ps_status_name(s));
    return 2;
}

static ps_status setup(ps_backend *b)
{
    const char *subs[] = {"jobs.>"};
    ps_stream_config sc = {.name = "JOBS", .subjects = subs, .subjects_len = 1,
                           .retention = PS_RETENTION_WORKQUEUE, .storage = PS_STORAGE_FILE};
    ps_status s = ps_stream_add(b, &sc, NULL);
    return s;
}

static ps_status publish_jobs(ps_backend *b, int jobs, demo_result *r)
{
    char id[32];
    for (int i = 0; i < jobs; i++) {
        snprintf(id, sizeof id, "job-%d", i);
        /* every tenth job is sent twice: the second is a dedup hit */
        for (int copy = 0; copy < (i % 10 == 0 ? 2 : 1); copy++) {
            ps_pub_ack pa;
            ps_status s = ps_publish_data(b, "jobs.created", id, strlen(id), id, &pa);
            if (s != PS_OK)
                return s;
            r->published += !pa.duplicate;
            r->duplicates += pa.duplicate;
        }
    }
    return PS_OK;
}

/* One worker's turn: fetch a batch and handle it. */
static ps_status work(ps_consumer *c, int batch, double fail_rate, ps_rand *rng, ps_msg_list *l,
                      demo_result *r, int *handled)
{
    ps_status s = ps_fetch_batch(c, batch, 0, l);
    *handled = 0;
    if (s == PS_ERR_TIMEOUT)
        return PS_OK;
    if (s != PS_OK)
        return s;
    for (int i = 0; i < l->count; i++) {
        ps_msg *m = l->msgs[i];
        r->delivered++;
        r->redelivered += m->meta.num_delivered > 1;
        ps_ack_kind kind = PS_ACK;
        if (ps_rand_chance(rng, fail_rate))
            kind = m->meta.num_delivered >= MAX_DELIVER ? PS_TERM : PS_NAK;
        /* a failed attempt retries after 1 s, 2 s, ... (nak with delay) */
        int64_t delay = (int64_t)m->meta.num_delivered * PS_NS_PER_SEC;
        if ((s = ps_ack(m, kind, kind == PS_NAK ? delay : 0)) != PS_OK)
            return s;
        r->acked += kind == PS_ACK;
        r->naked += kind == PS_NAK;
        r->termed += kind == PS_TERM;
    }
    *handled = l->count;
    return PS_OK;
}

static int drain(ps_backend *b, ps_clock *clk, const demo_options *o, demo_result *r, FILE *err)
{
    ps_consumer *c = NULL;
    static const int64_t backoff[] = {PS_NS_PER_SEC, 5 * PS_NS_PER_SEC, 30 * PS_NS_PER_SEC};
    ps_consumer_config cc = {.durable = "WORKERS", .max_deliver = MAX_DELIVER,
                             .backoff_ns = backoff, .backoff_len = 3};
    ps_status s = ps_consumer_add(b, "JOBS", &cc, &c);
    if (s != PS_OK)
        return fail(err, "consumer add", s);
    ps_msg_list l = {0};
    int rc = 0;
    for (int round = 0; round < 1000000 && r->acked + r->termed < r->published; round++) {
        int total = 0;
        for (int w = 0; w < o->workers; w++) {
            ps_rand rng = ps_rand_derive(o->seed, (uint64_t)(round * o->workers + w));
            int handled;
            if ((s = work(c, o->batch, o->fail_rate, &rng, &l, r, &handled)) != PS_OK) {
                rc = fail(err, "worker", s);
                goto out;
            }
            total += handled;
        }
        if (total == 0) { /* idle: jump to the next redelivery */
            int64_t next = ps_backend_next_deadline(b);
            if (next == INT64_MAX)
                break;
            ps_clock_set(clk, next);
        } else {
            ps_clock_advance(clk, 10 * PS_NS_PER_MS);
        }
    }
out:
    ps_msg_list_free(&l);
    ps_consumer_free(c);
    return rc;
}

int demo_run(const demo_options *o, demo_result *r, FILE *out, FILE *err)
{
    memset(r, 0, sizeof *r);
    ps_clock *clk = ps_clock_manual_new(0);
    ps_backend *b = NULL;
    ps_memory_options mo = {.clock = clk, .seed = o->seed};
    ps_status s = clk ? ps_memory_new(&b, &mo) : PS_ERR_NO_MEMORY;
    if (s != PS_OK) {
        ps_clock_free(clk);
        return fail(err, "memory backend", s);
    }
    int64_t t0 = ps_clock_now(clk);
    ps_backend_set_advisory_handler(b, count_advisory, r);
    int rc = 0;
    fprintf(out, "seed %llu: %d jobs, %d workers, batch %d, fail rate %.0f%%\n",
            (unsigned long long)o->seed, o->jobs, o->workers, o->batch, o->fail_rate * 100);
    if ((s = setup(b)) != PS_OK || (s = publish_jobs(b, o->jobs, r)) != PS_OK)
        rc = fail(err, "publish", s);
    else
        rc = drain(b, clk, o, r, err);
    ps_stream_info si = {0};
    if (rc == 0 && (s = ps_stream_info_get(b, "JOBS", &si)) != PS_OK)
        rc = fail(err, "stream info", s);
    r->left_in_stream = si.state.msgs;
    ps_stream_info_clear(&si);
    r->virtual_ns = ps_clock_now(clk) - t0;
    ps_backend_close(b);
    ps_clock_free(clk);
    if (rc == 0 && (r->acked + r->termed != r->published || r->left_in_stream != 0))
        rc = 1;
    return rc;
}
