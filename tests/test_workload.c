/* test_workload.c — workload files, subject transforms and capture
 * (sim/workload.h, sim/cli/capture.h): a written workload reads back the same,
 * odd subjects and headers included, and the writer refuses what the reader
 * would; each malformed line is one positioned error and no mangled file
 * crashes the reader; transforms map $N and '>' and refuse what does not
 * match; capture from a stream (the memory backend here, the same contract
 * as a real server) gives subjects, sizes, headers and gaps, skipping a
 * deleted message; a scenario's replay statement publishes a captured
 * workload with its transform; the command's usage errors exit 2.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "engine.h"
#include "fixture.h"
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

static void assert_same(const sim_workload *a, const sim_workload *b)
{
    assert_int_equal(b->count, a->count);
    for (size_t i = 0; i < a->count; i++) {
        assert_int_equal(b->msgs[i].gap_ns, a->msgs[i].gap_ns);
        assert_string_equal(b->msgs[i].subject, a->msgs[i].subject);
        assert_int_equal(b->msgs[i].size, a->msgs[i].size);
        assert_int_equal(b->msgs[i].nheaders, a->msgs[i].nheaders);
        for (int k = 0; k < a->msgs[i].nheaders; k++) {
            assert_string_equal(b->msgs[i].names[k], a->msgs[i].names[k]);
            assert_string_equal(b->msgs[i].values[k], a->msgs[i].values[k]);
        }
    }
}

/* The text sim_workload_write gives (malloc'd), or NULL when it fails. */
static char *written(const sim_workload *w, const char *comment, ps_status *s)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    *s = sim_workload_write(w, f, comment);
    fclose(f);
    if (*s) {
        assert_int_equal(len, 0); /* nothing written */
        free(text);
        return NULL;
    }
    return text;
}

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
    /* what a live stream may hold and the file must escape */
    const char *names[] = {"X=Y", "T", "Empty"}, *values[] = {"tab\there #1 100%", "\xc3\xbc", ""};
    assert_int_equal(sim_workload_add(&a, 7000, "a.#b.%x.\xc3\xbc", 5, 3, names, values), PS_OK);
    ps_status s;
    char *text = written(&a, "first line\nsecond line", &s);
    assert_int_equal(s, PS_OK);
    assert_non_null(strstr(text, "# first line\n# second line\n"));
    assert_non_null(strstr(text, "7 a.%23b.%25x.%C3%BC 5 X%3DY=tab%09here%20%231%20100%25 T=%C3%BC Empty=\n"));
    assert_int_equal(sim_workload_parse(&b, "t2.wl", text, strlen(text)), PS_OK);
    assert_same(&a, &b);
    free(text);
    sim_workload_free(&a);
    sim_workload_free(&b);
    sim_workload_free(&b); /* an emptied workload frees again */
}

static void test_writer_refuses_what_the_reader_would(void **state)
{
    (void)state;
    const char *name[] = {""}, *value[] = {"v"};
    struct {
        int64_t gap_ns;
        const char *subject;
        int nheaders;
        const char *want;
    } cases[] = {
        {-1000, "a.b", 0, "workload message 2: negative gap"},
        {0, "a.*", 0, "workload message 2: 'a.*' is not a literal subject"},
        {0, "a..b", 0, "workload message 2: 'a..b' is not a literal subject"},
        {0, "a.b", 1, "workload message 2: header 1 has no name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sim_workload w = {0};
        assert_int_equal(sim_workload_add(&w, 0, "ok", 1, 0, NULL, NULL), PS_OK);
        assert_int_equal(sim_workload_add(&w, cases[i].gap_ns, cases[i].subject, 1, cases[i].nheaders, name, value),
                         PS_OK);
        ps_status s;
        assert_null(written(&w, NULL, &s));
        assert_int_equal(s, PS_ERR_INVALID_ARG);
        if (strncmp(ps_last_error(), cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("case %zu: want \"%s...\", got \"%s\"", i, cases[i].want, ps_last_error());
        sim_workload_free(&w);
    }
}

static const struct bad {
    const char *text, *want;
} bad[] = {
    {"86400000001 a.b 1\n", "t.wl:1:1: expected a gap in microseconds (0 to 86400000000, a day), got '86400000001'"},
    {"x a.b 1\n", "t.wl:1:1: expected a gap in microseconds (0 to 86400000000, a day), got 'x'"},
    {"-5 a.b 1\n", "t.wl:1:1: expected a gap in microseconds (0 to 86400000000, a day), got '-5'"},
    {"1.5 a.b 1\n", "t.wl:1:1: expected a gap in microseconds (0 to 86400000000, a day), got '1.5'"},
    {"99999999999999999999 a.b 1\n", "t.wl:1:1: expected a gap in microseconds"},
    {"0 a.b\n", "t.wl:1:6: expected a payload size in bytes, got the end of the line"},
    {"0 a.b # 12\n", "t.wl:1:7: expected a payload size in bytes, got the end of the line"},
    {"0 a.b -1\n", "t.wl:1:7: expected a payload size from 0 to 67108864 bytes, got '-1'"},
    {"0 a.b 99999999999\n", "t.wl:1:7: expected a payload size from 0 to 67108864 bytes"},
    {"0\n", "t.wl:1:2: expected a subject, got the end of the line"},
    {"0 . 1\n", "t.wl:1:3: expected a literal subject (non-empty tokens separated by '.', no wildcards), got '.'"},
    {"0 a..b 1\n", "t.wl:1:3: expected a literal subject"},
    {"0 a. 1\n", "t.wl:1:3: expected a literal subject"},
    {"0 a.* 1\n", "t.wl:1:3: expected a literal subject"},
    {"0 a.> 1\n", "t.wl:1:3: expected a literal subject"},
    {"0 a%20b 1\n", "t.wl:1:3: expected a literal subject"},
    {"0 a%2 1\n", "t.wl:1:4: expected an escape %XX (two hex digits, not %00), got '%2'"},
    {"0 a.b 1 novalue\n", "t.wl:1:9: expected a header as name=value, got 'novalue'"},
    {"0 a.b 1 =v\n", "t.wl:1:9: expected a header as name=value, got '=v'"},
    {"0 a.b 1 K=%zz\n", "t.wl:1:11: expected an escape %XX (two hex digits, not %00), got '%zz'"},
    {"0 a.b 1 K=%4\n", "t.wl:1:11: expected an escape %XX"},
    {"0 a.b 1 K=v%\n", "t.wl:1:12: expected an escape %XX"},
    {"0 a.b 1 K=%00\n", "t.wl:1:11: expected an escape %XX"},
    {"0 a.b 1 %g1=v\n", "t.wl:1:9: expected an escape %XX"},
    {"0 a.b 1\n0 c\x01 2\n", "t.wl:2:4: expected printable ASCII (other bytes escaped as %XX), got byte 0x01"},
    {"0 a.\xc3\xbc 1\n", "t.wl:1:5: expected printable ASCII (other bytes escaped as %XX), got byte 0xc3"},
    {"0 a.b 1\n\n# c\n0 a.b x\n", "t.wl:4:7: expected a payload size"},
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
        assert_null(w.msgs);
    }
    sim_workload w;
    assert_int_equal(sim_workload_load(&w, "/nonexistent/x.wl"), PS_ERR_IO);
    assert_non_null(strstr(ps_last_error(), "/nonexistent/x.wl"));
    assert_int_equal(sim_workload_load(&w, "/"), PS_ERR_IO); /* a directory opens but does not read */
    assert_int_equal(sim_workload_parse(NULL, "t.wl", "", 0), PS_ERR_INVALID_ARG);
}

static void test_crlf_comments_embedded_nul_and_no_final_newline(void **state)
{
    (void)state;
    static const char text[] = "# c\r\n0 a.b 1 K=v\r\n  \t\r\n5 c 2 # x=%zz \xc3\xbc\x01\n7 d 3";
    sim_workload w;
    assert_int_equal(sim_workload_parse(&w, "t.wl", text, strlen(text)), PS_OK);
    assert_int_equal(w.count, 3);
    assert_string_equal(w.msgs[0].values[0], "v");
    assert_int_equal(w.msgs[1].nheaders, 0);
    assert_int_equal(w.msgs[2].gap_ns, 7000);
    assert_int_equal(w.msgs[2].size, 3);
    sim_workload_free(&w);
    static const char nul[] = "0 a.b 1\n0 a\0b 1\n";
    assert_int_equal(sim_workload_parse(&w, "t.wl", nul, sizeof nul - 1), PS_ERR_INVALID_ARG);
    assert_string_equal(ps_last_error(), "t.wl:2:4: expected printable ASCII (other bytes escaped as %XX), got byte 0x00");
}

/* Mangled copies of a good file: each parses or is one positioned error. */
static void test_mangled_files_never_crash_the_reader(void **state)
{
    (void)state;
    static const char pool[] = " \t\n\r#%=.*>0123456789aZ\x01\xff";
    char buf[sizeof sample];
    uint32_t x = 12345;
    for (int round = 0; round < 20000; round++) {
        memcpy(buf, sample, sizeof sample);
        for (int k = 0; k < 1 + round % 4; k++) {
            x = x * 1103515245u + 12345u;
            buf[(x >> 8) % (sizeof sample - 1)] = pool[(x >> 20) % (sizeof pool - 1)];
        }
        size_t len = (x >> 4) % sizeof sample;
        sim_workload w;
        ps_status s = sim_workload_parse(&w, "t.wl", buf, len);
        if (s != PS_OK && strncmp(ps_last_error(), "t.wl:", 5) != 0)
            fail_msg("round %d: unpositioned error %s", round, ps_last_error());
        sim_workload_free(&w);
    }
}

static void expect_map(const char *spec, const char *subject, const char *want)
{
    char *got = sim_workload_transform(spec, subject);
    const char *subj = subject ? subject : "NULL";
    if (!want && got)
        fail_msg("%s on %s: want no match, got %s", spec, subj, got);
    if (want && (!got || strcmp(got, want) != 0))
        fail_msg("%s on %s: want %s, got %s (%s)", spec, subj, want, got ? got : "NULL", ps_last_error());
    free(got);
}

static void test_transforms_map_stars_and_tails_and_refuse_the_rest(void **state)
{
    (void)state;
    expect_map("orders.*.*=>replay.$2.$1", "orders.eu.paid", "replay.paid.eu");
    expect_map("orders.>=>copy.orders.>", "orders.eu.paid.late", "copy.orders.eu.paid.late");
    expect_map("orders.*.>=>x.$1.>", "orders.eu.paid", "x.eu.paid");
    expect_map("orders.*=>x.$1.$1", "orders.eu", "x.eu.eu");
    expect_map("a.>=>>", "a.b.c", "b.c");
    expect_map("orders.created=>jobs.new", "orders.created", "jobs.new");
    expect_map("orders.*=>x.$1", "billing.eu", NULL);
    assert_int_equal(ps_last_status(), PS_ERR_INVALID_ARG);
    assert_string_equal(ps_last_error(), "transform 'orders.*=>x.$1': subject 'billing.eu' does not match 'orders.*'");
    expect_map("orders.*=>x.$1", "orders.eu.paid", NULL);
    expect_map("orders.>=>x.>", "orders", NULL);
    expect_map("orders.*=>x.$1", "orders.*", NULL);
    expect_map("orders.*=>x.$1", NULL, NULL);
    static const char *const refused[] = {
        "orders.*=>x.$2", "orders.*=>x.$0", "orders.*=>x.>", "orders.*", "orders..*=>x", "=>x", "a.*=>",
        "a.*=>x..$1", "a.*=>.x", "a.*=>x.", "a.*=>x y.$1", "a.*=>x.*", "a.>.b=>x", "a.*=>$1$1", NULL,
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        if (sim_workload_transform_check(refused[i]) != PS_ERR_INVALID_ARG)
            fail_msg("spec %s: want PS_ERR_INVALID_ARG", refused[i] ? refused[i] : "NULL");
        assert_true(strlen(ps_last_error()) > 0);
        assert_null(sim_workload_transform(refused[i], "a.b"));
    }
    assert_int_equal(sim_workload_transform_check("a.*=>b.$1"), PS_OK);
    assert_int_equal(sim_workload_transform_check("a.*.>=>$JS.x.$1.>"), PS_OK);
}

/* Publishes at `at_ns` with an optional msg id and `nh` headers H0..H(nh-1). */
static void publish(ps_backend *b, ps_clock *c, const char *subject, size_t len, const char *msg_id, int nh,
                    int64_t at_ns)
{
    ps_clock_set(c, at_ns);
    static char data[4096];
    memset(data, 'd', sizeof data);
    ps_headers *h = nh ? ps_headers_new() : NULL;
    for (int i = 0; i < nh; i++) {
        char name[16], value[32];
        snprintf(name, sizeof name, "H%d", i);
        snprintf(value, sizeof value, "v %d=%%", i);
        assert_int_equal(ps_headers_add(h, name, value), PS_OK);
    }
    ps_out_msg m = {.subject = subject, .data = data, .len = len, .msg_id = msg_id, .headers = h};
    assert_int_equal(ps_publish(b, &m, NULL), PS_OK);
    ps_headers_free(h);
}

/* ORDERS on a manual clock: 5 messages 0, 2, 5, 9, 9 ms after t0; seq 2 deleted. */
static ps_backend *orders_stream(test_mem *m)
{
    assert_int_equal(test_mem_open(m, 1000 * PS_NS_PER_SEC, &(ps_memory_options){.seed = 1}), PS_OK);
    assert_int_equal(test_mem_add_stream(m, "ORDERS", "orders.>", PS_RETENTION_LIMITS), PS_OK);
    ps_backend *b = m->b;
    ps_clock *c = m->clock;
    int64_t t0 = ps_clock_now(c);
    publish(b, c, "orders.created", 10, "id-1", 1, t0);
    publish(b, c, "orders.gone", 5, NULL, 0, t0 + 2 * PS_NS_PER_MS);
    publish(b, c, "orders.paid", 300, NULL, 0, t0 + 5 * PS_NS_PER_MS);
    publish(b, c, "orders.many", 0, NULL, 70, t0 + 9 * PS_NS_PER_MS);
    publish(b, c, "orders.same.time", 1, NULL, 0, t0 + 9 * PS_NS_PER_MS);
    assert_int_equal(ps_msg_delete(b, "ORDERS", 2, false), PS_OK);
    return b;
}

static void test_capture_reads_subjects_sizes_headers_and_gaps(void **state)
{
    (void)state;
    test_mem m;
    ps_backend *b = orders_stream(&m);
    sim_workload w;
    uint64_t first, last;
    assert_int_equal(sim_capture(b, "ORDERS", 0, &w, &first, &last), PS_OK);
    assert_int_equal(w.count, 4);
    assert_int_equal(first, 1);
    assert_int_equal(last, 5);
    const char *subjects[] = {"orders.created", "orders.paid", "orders.many", "orders.same.time"};
    const uint32_t sizes[] = {10, 300, 0, 1};
    const int64_t gaps_ms[] = {0, 5, 4, 0}; /* the deleted message's gap folds into the next */
    for (int i = 0; i < 4; i++) {
        assert_string_equal(w.msgs[i].subject, subjects[i]);
        assert_int_equal(w.msgs[i].size, sizes[i]);
        assert_int_equal(w.msgs[i].gap_ns, gaps_ms[i] * PS_NS_PER_MS);
    }
    assert_int_equal(w.msgs[0].nheaders, 2);
    assert_string_equal(w.msgs[0].names[0], "Nats-Msg-Id");
    assert_string_equal(w.msgs[0].values[0], "id-1");
    assert_string_equal(w.msgs[0].names[1], "H0");
    assert_string_equal(w.msgs[0].values[1], "v 0=%");
    assert_int_equal(w.msgs[1].nheaders, 0);
    assert_int_equal(w.msgs[2].nheaders, 70);
    assert_string_equal(w.msgs[2].names[69], "H69");
    assert_string_equal(w.msgs[2].values[69], "v 69=%");
    /* and the file it makes reads back */
    ps_status s;
    char *text = written(&w, "captured", &s);
    sim_workload r;
    assert_int_equal(sim_workload_parse(&r, "c.wl", text, strlen(text)), PS_OK);
    assert_same(&w, &r);
    free(text);
    sim_workload_free(&r);
    sim_workload_free(&w);
    assert_int_equal(test_mem_close(&m), PS_OK);
}

static void test_capture_stops_at_max_and_reports_a_missing_stream(void **state)
{
    (void)state;
    test_mem m;
    ps_backend *b = orders_stream(&m);
    sim_workload w;
    uint64_t first, last;
    assert_int_equal(sim_capture(b, "ORDERS", 2, &w, &first, &last), PS_OK);
    assert_int_equal(w.count, 2);
    assert_int_equal(last, 3);
    sim_workload_free(&w);
    sim_workload none = {0};
    first = last = 77;
    assert_int_equal(sim_capture(b, "NOPE", 0, &none, &first, &last), PS_ERR_STREAM_NOT_FOUND);
    assert_int_equal(none.count, 0);
    assert_int_equal(first, 77); /* out-parameters untouched on failure */
    assert_int_equal(sim_capture(NULL, "ORDERS", 0, &none, &first, &last), PS_ERR_INVALID_ARG);
    /* an emptied stream: no messages, no error */
    assert_int_equal(ps_stream_purge(b, "ORDERS", NULL, NULL), PS_OK);
    assert_int_equal(sim_capture(b, "ORDERS", 0, &w, &first, &last), PS_OK);
    assert_int_equal(w.count, 0);
    assert_int_equal(first, 0);
    sim_workload_free(&w);
    assert_int_equal(test_mem_close(&m), PS_OK);
}

static void test_captured_workload_replays_in_a_scenario(void **state)
{
    (void)state;
    test_mem m;
    ps_backend *b = orders_stream(&m);
    sim_workload w;
    uint64_t first, last;
    assert_int_equal(sim_capture(b, "ORDERS", 2, &w, &first, &last), PS_OK);
    char path[] = "/tmp/jetsim-test-wl-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_int_equal(sim_workload_write(&w, f, "test"), PS_OK);
    fclose(f);
    sim_workload_free(&w);
    /* subjects transformed, sizes kept */
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
    assert_int_equal(test_mem_close(&m), PS_OK);
}

/* sim_capture_main with stdout and stderr sent to /dev/null. */
static int quiet_capture(int argc, char **argv)
{
    fflush(stdout);
    fflush(stderr);
    int out = dup(1), err = dup(2), null = open("/dev/null", O_WRONLY);
    assert_true(out >= 0 && err >= 0 && null >= 0);
    dup2(null, 1);
    dup2(null, 2);
    int rc = sim_capture_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(out, 1);
    dup2(err, 2);
    close(out);
    close(err);
    close(null);
    return rc;
}

static void test_capture_command_usage_errors_exit_2(void **state)
{
    (void)state;
    char *help[] = {"capture", "--help"};
    assert_int_equal(quiet_capture(2, help), 0);
    char *none[] = {"capture"};
    char *unknown[] = {"capture", "S", "--bogus"};
    char *two[] = {"capture", "S", "T"};
    char *novalue[] = {"capture", "S", "--out"};
    char *badmax[] = {"capture", "S", "--max", "-3"};
    char *zeromax[] = {"capture", "S", "--max", "0"};
    char *noserver[] = {"capture", "S", "--url", "nats://127.0.0.1:1"};
    assert_int_equal(quiet_capture(1, none), 2);
    assert_int_equal(quiet_capture(3, unknown), 2);
    assert_int_equal(quiet_capture(3, two), 2);
    assert_int_equal(quiet_capture(3, novalue), 2);
    assert_int_equal(quiet_capture(4, badmax), 2);
    assert_int_equal(quiet_capture(4, zeromax), 2);
    assert_int_equal(quiet_capture(4, noserver), 4); /* no server is a harness error, not bad input */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_written_workload_reads_back_the_same),
        cmocka_unit_test(test_writer_refuses_what_the_reader_would),
        cmocka_unit_test(test_each_malformed_line_gives_one_positioned_error),
        cmocka_unit_test(test_crlf_comments_embedded_nul_and_no_final_newline),
        cmocka_unit_test(test_mangled_files_never_crash_the_reader),
        cmocka_unit_test(test_transforms_map_stars_and_tails_and_refuse_the_rest),
        cmocka_unit_test(test_capture_reads_subjects_sizes_headers_and_gaps),
        cmocka_unit_test(test_capture_stops_at_max_and_reports_a_missing_stream),
        cmocka_unit_test(test_captured_workload_replays_in_a_scenario),
        cmocka_unit_test(test_capture_command_usage_errors_exit_2),
    };
    return cmocka_run_group_tests_name("workload", tests, NULL, NULL);
}
