/* test_workload.c — workload files, subject transforms and capture
 * (sim/workload.h, sim/capture.h): a written workload reads back the same;
 * each malformed line is one positioned error; transforms map $N and '>'
 * and refuse what does not match; capture from a stream (the memory
 * backend here, the same contract as a real server) gives subjects, sizes,
 * headers and gaps, skipping a deleted message; and a scenario's replay
 * statement publishes a captured workload with its transform.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "engine.h"
#include "ps_clock.h"
#include "ps_memory.h"
#include "ps_msg.h"
#include "scenario.h"
#include "workload.h"

static const char sample[] = "# jetsim workload v1: test\n"
                             "0 orders.created 312 Nats-Msg-Id=abc\n"
                             "1520 orders.updated 98 X-Note=two%20words Trace=a%3Db\n"
                             "\n"
                             "3 orders.eu.paid 0   # a comment\n";

static void test_written_workload_reads_back_the_same(void **state)
{
    (void)state;
    sim_workload a, b;
    assert_int_equal(sim_workload_parse(&a, "t.wl", sample, strlen(sample)), PS_OK);
    assert_int_equal(a.count, 3);
    assert_int_equal(a.msgs[1].gap_ns, 1520000);
    assert_string_equal(a.msgs[1].subject, "orders.updated");
    assert_int_equal(a.msgs[1].size, 98);
    assert_int_equal(a.msgs[1].nheaders, 2);
    assert_string_equal(a.msgs[1].values[0], "two words");
    assert_string_equal(a.msgs[1].values[1], "a=b");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_int_equal(sim_workload_write(&a, f, "again"), PS_OK);
    fclose(f);
    assert_int_equal(sim_workload_parse(&b, "t2.wl", text, len), PS_OK);
    assert_int_equal(b.count, a.count);
    for (size_t i = 0; i < a.count; i++) {
        assert_int_equal(b.msgs[i].gap_ns, a.msgs[i].gap_ns);
        assert_string_equal(b.msgs[i].subject, a.msgs[i].subject);
        assert_int_equal(b.msgs[i].size, a.msgs[i].size);
        assert_int_equal(b.msgs[i].nheaders, a.msgs[i].nheaders);
        for (int k = 0; k < a.msgs[i].nheaders; k++) {
            assert_string_equal(b.msgs[i].names[k], a.msgs[i].names[k]);
            assert_string_equal(b.msgs[i].values[k], a.msgs[i].values[k]);
        }
    }
    free(text);
    sim_workload_free(&a);
    sim_workload_free(&b);
}

static const struct bad {
    const char *text, *want;
} bad[] = {
    {"x a.b 1\n", "t.wl:1:1: expected a gap in microseconds (0 or more), got 'x'"},
    {"-5 a.b 1\n", "t.wl:1:1: expected a gap in microseconds"},
    {"0 a.b\n", "t.wl:1:6: expected a payload size in bytes, got the end of the line"},
    {"0\n", "t.wl:1:2: expected a subject, got the end of the line"},
    {"0 a..b 1\n", "t.wl:1:3: expected a literal subject"},
    {"0 a.* 1\n", "t.wl:1:3: expected a literal subject"},
    {"0 a.b 1 novalue\n", "t.wl:1:9: expected a header as name=value, got 'novalue'"},
    {"0 a.b 1 =v\n", "t.wl:1:9: expected a header as name=value"},
    {"0 a.b 1 K=%zz\n", "t.wl:1:11: expected an escape %XX"},
    {"0 a.b 1 K=%4\n", "t.wl:1:11: expected an escape %XX"},
    {"0 a.b 99999999999\n", "t.wl:1:7: expected a payload size from 0 to 67108864 bytes"},
    {"0 a.b 1\n0 c\x01 2\n", "t.wl:2:4: expected text, got control character 0x01"},
};

static void test_each_malformed_line_gives_one_positioned_error(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sim_workload w;
        assert_int_equal(sim_workload_parse(&w, "t.wl", bad[i].text, strlen(bad[i].text)), PS_ERR_INVALID_ARG);
        if (strncmp(ps_last_error(), bad[i].want, strlen(bad[i].want)) != 0)
            fail_msg("case %zu: want \"%s...\", got \"%s\"", i, bad[i].want, ps_last_error());
        assert_int_equal(w.count, 0);
    }
    sim_workload w;
    assert_int_equal(sim_workload_load(&w, "/nonexistent/x.wl"), PS_ERR_IO);
    assert_non_null(strstr(ps_last_error(), "/nonexistent/x.wl"));
}

static void test_transforms_map_stars_and_tails_and_refuse_the_rest(void **state)
{
    (void)state;
    char *s = sim_workload_transform("orders.*.*=>replay.$2.$1", "orders.eu.paid");
    assert_string_equal(s, "replay.paid.eu");
    free(s);
    s = sim_workload_transform("orders.>=>copy.orders.>", "orders.eu.paid.late");
    assert_string_equal(s, "copy.orders.eu.paid.late");
    free(s);
    s = sim_workload_transform("orders.*.>=>x.$1.>", "orders.eu.paid");
    assert_string_equal(s, "x.eu.paid");
    free(s);
    assert_null(sim_workload_transform("orders.*=>x.$1", "billing.eu"));
    assert_null(sim_workload_transform("orders.*=>x.$1", "orders.eu.paid"));
    assert_int_equal(sim_workload_transform_check("orders.*=>x.$2"), PS_ERR_INVALID_ARG);
    assert_int_equal(sim_workload_transform_check("orders.*=>x.>"), PS_ERR_INVALID_ARG);
    assert_int_equal(sim_workload_transform_check("orders.*"), PS_ERR_INVALID_ARG);
    assert_int_equal(sim_workload_transform_check("orders..*=>x"), PS_ERR_INVALID_ARG);
    assert_int_equal(sim_workload_transform_check("a.*=>b.$1"), PS_OK);
}

static void publish(ps_backend *b, ps_clock *c, const char *subject, size_t len, const char *hname, int64_t at_ns)
{
    ps_clock_set(c, at_ns);
    static char data[4096];
    memset(data, 'd', sizeof data);
    ps_headers *h = NULL;
    if (hname) {
        h = ps_headers_new();
        ps_headers_add(h, hname, "v 1");
    }
    ps_out_msg m = {.subject = subject, .data = data, .len = len, .headers = h};
    assert_int_equal(ps_publish(b, &m, NULL), PS_OK);
    ps_headers_free(h);
}

static void test_capture_reads_subjects_sizes_headers_and_gaps(void **state)
{
    (void)state;
    ps_clock *c = ps_clock_manual_new(1000 * PS_NS_PER_SEC);
    ps_memory_options o = {.clock = c, .seed = 1};
    ps_backend *b = NULL;
    assert_int_equal(ps_memory_new(&b, &o), PS_OK);
    const char *subs[] = {"orders.>"};
    ps_stream_config sc = {.name = "ORDERS", .subjects = subs, .subjects_len = 1};
    assert_int_equal(ps_stream_add(b, &sc, NULL), PS_OK);
    int64_t t0 = ps_clock_now(c);
    publish(b, c, "orders.created", 10, "X-Tenant", t0);
    publish(b, c, "orders.gone", 5, NULL, t0 + 2 * PS_NS_PER_MS);
    publish(b, c, "orders.paid", 300, NULL, t0 + 5 * PS_NS_PER_MS);
    assert_int_equal(ps_msg_delete(b, "ORDERS", 2, false), PS_OK);
    sim_workload w;
    uint64_t first, last;
    assert_int_equal(sim_capture(b, "ORDERS", 0, &w, &first, &last), PS_OK);
    assert_int_equal(w.count, 2);
    assert_int_equal(first, 1);
    assert_int_equal(last, 3);
    assert_string_equal(w.msgs[0].subject, "orders.created");
    assert_int_equal(w.msgs[0].size, 10);
    assert_int_equal(w.msgs[0].nheaders, 1);
    assert_string_equal(w.msgs[0].names[0], "X-Tenant");
    assert_string_equal(w.msgs[0].values[0], "v 1");
    assert_string_equal(w.msgs[1].subject, "orders.paid");
    assert_int_equal(w.msgs[1].size, 300);
    assert_int_equal(w.msgs[1].gap_ns, 5 * PS_NS_PER_MS); /* from the first kept message */
    sim_workload none;
    assert_int_equal(sim_capture(b, "NOPE", 0, &none, &first, &last), PS_ERR_STREAM_NOT_FOUND);
    assert_int_equal(none.count, 0);

    /* replayed by a scenario, subjects transformed, sizes kept */
    char path[] = "/tmp/jetsim-test-wl-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    assert_int_equal(sim_workload_write(&w, f, "test"), PS_OK);
    fclose(f);
    sim_workload_free(&w);
    char text[1024];
    snprintf(text, sizeof text,
             "stream R subjects=replay.> retention=workqueue\n"
             "consumer R C ack_wait=5s\n"
             "replay %s transform=orders.*=>replay.$1\n"
             "workers 1 batch=10 handle=1ms\n"
             "expect no_loss no_double_completion drained_within=1m\n", path);
    static sim_scenario s;
    assert_int_equal(sim_scenario_parse(&s, "t.scn", text, strlen(text)), PS_OK);
    sim_result r;
    if (sim_run(&s, text, 1, ":memory:", NULL, &r) != PS_OK)
        fail_msg("%s", ps_last_error());
    assert_int_equal(r.verdict, SIM_PASS);
    assert_int_equal(r.jobs_published, 2);
    assert_int_equal(r.jobs_done, 2);
    /* a transform the workload's subjects do not match is an error naming the message */
    snprintf(text, sizeof text, "stream R subjects=replay.>\nconsumer R C\nreplay %s transform=billing.*=>replay.$1\n"
                                "workers 1\n", path);
    assert_int_equal(sim_scenario_parse(&s, "t.scn", text, strlen(text)), PS_OK);
    assert_int_not_equal(sim_run(&s, text, 1, ":memory:", NULL, &r), PS_OK);
    assert_non_null(strstr(ps_last_error(), "message 1: subject orders.created does not match"));
    unlink(path);
    ps_backend_close(b);
    ps_clock_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_written_workload_reads_back_the_same),
        cmocka_unit_test(test_each_malformed_line_gives_one_positioned_error),
        cmocka_unit_test(test_transforms_map_stars_and_tails_and_refuse_the_rest),
        cmocka_unit_test(test_capture_reads_subjects_sizes_headers_and_gaps),
    };
    return cmocka_run_group_tests_name("workload", tests, NULL, NULL);
}
