/* test_scenario.c — the scenario language (sim/scenario.c): what a valid
 * file means, that the writer's output reads back the same, and that
 * every malformed line is one clear error at file:line:col.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

#include "ps_clock.h"
#include "scenario.h"

static const char orders[] =
    "# orders.scn - work queue with crashes and lost acks\n"
    "stream  ORDERS subjects=orders.> retention=workqueue storage=file dupe_window=2m\n"
    "consumer ORDERS workers ack_wait=30s max_deliver=5 backoff=1s,5s,30s max_ack_pending=1000\n"
    "publish orders.created rate=500/s count=20000 msg_id=job keys=50\n"
    "workers 4 batch=50 handle=2ms..40ms fail=1% idempotent=yes\n"
    "at 10s crash worker 2 for 45s\n"
    "at 20s drop acks 5% for 10s\n"
    "at 30s restart server\n"
    "at 31s crash worker 3 after_commit\n"
    "at 40s lose pubacks 0.25% for 1m\r\n"
    "expect no_loss no_double_completion attempts<=5 drained_within=5m\n";

static sim_scenario sc, sc2;

static void parse_ok(sim_scenario *out, const char *text)
{
    ps_status s = sim_scenario_parse(out, "t.scn", text, strlen(text));
    if (s != PS_OK)
        fail_msg("parse failed: %s", ps_last_error());
}

static void test_parses_the_design_example(void **state)
{
    (void)state;
    parse_ok(&sc, orders);
    assert_int_equal(sc.nstreams, 1);
    assert_string_equal(sc.streams[0].name, "ORDERS");
    assert_string_equal(sc.streams[0].subjects[0], "orders.>");
    assert_int_equal(sc.streams[0].retention, PS_RETENTION_WORKQUEUE);
    assert_int_equal(sc.streams[0].dupe_window_ns, 120 * PS_NS_PER_SEC);
    assert_int_equal(sc.nconsumers, 1);
    assert_int_equal(sc.consumers[0].nbackoff, 3);
    assert_int_equal(sc.consumers[0].backoff_ns[2], 30 * PS_NS_PER_SEC);
    assert_int_equal(sc.consumers[0].max_deliver, 5);
    assert_int_equal(sc.publishers[0].count, 20000);
    assert_true(sc.publishers[0].rate_per_s == 500.0);
    assert_int_equal(sc.publishers[0].keys, 50);
    assert_int_equal(sc.workers[0].count, 4);
    assert_int_equal(sc.workers[0].handle_min_ns, 2 * PS_NS_PER_MS);
    assert_int_equal(sc.workers[0].handle_max_ns, 40 * PS_NS_PER_MS);
    assert_int_equal(sc.workers[0].fail_bp, 100);
    assert_string_equal(sc.workers[0].consumer, "workers"); /* the only consumer */
    assert_int_equal(sc.nfaults, 5);
    assert_int_equal(sc.faults[0].kind, SIM_FAULT_CRASH_WORKER);
    assert_int_equal(sc.faults[0].worker, 2);
    assert_int_equal(sc.faults[0].duration_ns, 45 * PS_NS_PER_SEC);
    assert_int_equal(sc.faults[1].bp, 500);
    assert_int_equal(sc.faults[2].kind, SIM_FAULT_RESTART_SERVER);
    assert_int_equal(sc.faults[2].restart, PS_RESTART_CRASH);
    assert_int_equal(sc.faults[3].kind, SIM_FAULT_CRASH_AFTER_COMMIT);
    assert_int_equal(sc.faults[4].bp, 25);
    assert_true(sc.has_expect);
    assert_int_equal(sc.expect.attempts_max, 5);
    assert_int_equal(sc.expect.drained_within_ns, 300 * PS_NS_PER_SEC);
}

static char *written(const sim_scenario *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    sim_scenario_write(s, f);
    fclose(f);
    return buf;
}

static void test_written_scenario_reads_back_the_same(void **state)
{
    (void)state;
    parse_ok(&sc, orders);
    char *a = written(&sc);
    parse_ok(&sc2, a);
    char *b = written(&sc2);
    assert_string_equal(a, b);
    assert_int_equal(sc2.nfaults, sc.nfaults);
    for (int i = 0; i < sc.nfaults; i++) {
        assert_int_equal(sc2.faults[i].kind, sc.faults[i].kind);
        assert_int_equal(sc2.faults[i].at_ns, sc.faults[i].at_ns);
        assert_int_equal(sc2.faults[i].duration_ns, sc.faults[i].duration_ns);
        assert_int_equal(sc2.faults[i].bp, sc.faults[i].bp);
    }
    free(a);
    free(b);
}

/* The patterns' options and the contract's (ps_worker.h, ps_backend.h):
 * read into their fields, written back, read back the same. */
static void test_pattern_options_read_and_write_back(void **state)
{
    (void)state;
    static const char text[] =
        "stream J subjects=j.>\n"
        "stream D subjects=dead.>\n"
        "consumer J C deliver=by_start_time start_time=2s ack=all max_deliver=4\n"
        "consumer J E deliver=by_start_seq start_seq=7 ack=none\n"
        "publish j.a rate=10/s count=5 keys=3 key_header=Key header=Tenant:acme delay=1s..2s start=500ms\n"
        "workers 1 consumer=J/C batch=2 max_in_flight=6 backoff=100ms,1s dead_letter=dead.j "
        "dead_letter_after=3 key_header=Key ignore_not_before=yes\n"
        "expect dead_or_done not_early per_key_order\n";
    parse_ok(&sc, text);
    assert_int_equal(sc.consumers[0].deliver, PS_DELIVER_BY_START_TIME);
    assert_int_equal(sc.consumers[0].start_time_ns, 2 * PS_NS_PER_SEC);
    assert_int_equal(sc.consumers[0].ack, PS_ACK_ALL);
    assert_int_equal(sc.consumers[1].deliver, PS_DELIVER_BY_START_SEQ);
    assert_int_equal(sc.consumers[1].start_seq, 7);
    assert_int_equal(sc.consumers[1].ack, PS_ACK_NONE);
    const sim_publisher *p = &sc.publishers[0];
    assert_string_equal(p->key_header, "Key");
    assert_string_equal(p->header, "Tenant:acme");
    assert_int_equal(p->delay_min_ns, PS_NS_PER_SEC);
    assert_int_equal(p->delay_max_ns, 2 * PS_NS_PER_SEC);
    assert_int_equal(p->start_ns, 500 * PS_NS_PER_MS);
    const sim_workers *w = &sc.workers[0];
    assert_int_equal(w->max_in_flight, 6);
    assert_int_equal(w->nbackoff, 2);
    assert_int_equal(w->backoff_ns[1], PS_NS_PER_SEC);
    assert_string_equal(w->dead_letter, "dead.j");
    assert_int_equal(w->dead_letter_after, 3);
    assert_string_equal(w->key_header, "Key");
    assert_true(w->ignore_not_before);
    assert_true(sc.expect.dead_or_done && sc.expect.not_early);
    char *a = written(&sc);
    parse_ok(&sc2, a);
    char *b = written(&sc2);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "header=Tenant:acme"));
    assert_non_null(strstr(a, "dead_letter=dead.j"));
    free(a);
    free(b);
}

/* One error per malformed scenario, with its position and words. */
static const struct bad {
    const char *text;
    const char *want; /* the start of ps_last_error() */
} bad[] = {
    {"stream J subjects=j.>\nconsumer J C\npublish j.a key_header=K\nworkers 1\n",
     "t.scn:3:1: key_header= needs keys=N"},
    {"stream J subjects=j.>\nconsumer J C\npublish j.a header=Nats-Msg-Id:x\nworkers 1\n",
     "t.scn:3:20: expected NAME:VALUE"},
    {"stream J subjects=j.>\nconsumer J C\npublish j.a header=novalue\nworkers 1\n",
     "t.scn:3:20: expected NAME:VALUE"},
    {"stream J subjects=j.>\nconsumer J C deliver=by_start_seq\npublish j.a\nworkers 1\n",
     "t.scn:2:1: deliver=by_start_seq needs start_seq=N"},
    {"stream J subjects=j.>\nconsumer J C start_time=1s\npublish j.a\nworkers 1\n",
     "t.scn:2:1: start_time= goes with deliver=by_start_time"},
    {"stream J subjects=j.>\nconsumer J C ack=some\npublish j.a\nworkers 1\n",
     "t.scn:2:18: expected one of explicit, none, all for ack=, got 'some'"},
    {"stream J subjects=j.>\nconsumer J C\npublish j.a\nworkers 1 dead_letter=dead.>\n",
     "t.scn:4:23: expected a literal subject"},
    {"stream J subjects=j.>\nconsumer J C\npublish j.a\nworkers 1 dead_letter=dead.j\n",
     "t.scn:4:1: expected a dead_letter= subject some stream captures, got 'dead.j'"},
    {"stream J subjects=j.>\nconsumer J C\npublish j.a\nworkers 1 dead_letter_after=2\n",
     "t.scn:4:1: dead_letter_after= needs dead_letter=SUBJECT"},
    /* a user's jobs stayed in the stream, neither done nor dead-lettered */
    {"stream J subjects=j.>,d\nconsumer J C max_deliver=5\npublish j.a\nworkers 1 dead_letter=d dead_letter_after=9\n",
     "t.scn:4:1: expected dead_letter_after= at most the consumer's max_deliver=5, got 9"},
    /* a user's two keyed workers interleaved a key's jobs */
    {"stream J subjects=j.>\nconsumer J C\npublish j.a keys=3 key_header=K\nworkers 2 key_header=K\n",
     "t.scn:4:1: expected one worker on consumer J/C with key_header=, got 2"},
    {"stream J subjects=j.>\nconsumer J C\npublish j.a keys=3 key_header=K\nworkers 1 key_header=K\nworkers 1\n",
     "t.scn:4:1: expected one worker on consumer J/C with key_header=, got 2"},
    {"strem X subjects=a\n", "t.scn:1:1: expected a statement"},
    {"stream X\n", "t.scn:1:9: expected subjects=... for stream X"},
    {"stream X subjects=a retention=forever\n", "t.scn:1:31: expected one of limits, interest, workqueue for retention=, got 'forever'"},
    {"stream X subjects=a..b\n", "t.scn:1:19: expected a valid subject"},
    {"stream X subjects=a colour=red\n", "t.scn:1:21: expected an option (subjects="},
    {"stream X subjects=a storage=file storage=memory\n", "t.scn:1:34: option storage= is given twice"},
    {"stream a.b subjects=a\n", "t.scn:1:8: expected a name without"},
    {"stream X subjects=a\nstream X subjects=b\n", "t.scn:2:8: stream X is declared twice (first at line 1)"},
    {"stream X subjects=a\nconsumer X C ack_wait=soon\n", "t.scn:2:23: expected a positive duration"},
    {"stream X subjects=a\nconsumer X C backoff=1s,,2s\n", "t.scn:2:25: expected a positive duration"},
    {"stream X subjects=a\nconsumer X C backoff=1s,2s max_deliver=2\n", "t.scn:2:1: max_deliver must be more than"},
    {"stream X subjects=a\nconsumer X\n", "t.scn:2:11: expected a consumer name, got the end of the line"},
    {"publish a.* rate=5/s\n", "t.scn:1:9: expected a literal subject"},
    {"publish a rate=5\n", "t.scn:1:16: expected a rate such as 500/s"},
    {"publish a count=-3\n", "t.scn:1:17: expected an integer from 1 to"},
    {"workers two\n", "t.scn:1:9: expected an integer from 1 to 1000"},
    {"workers 2 handle=40ms..2ms\n", "t.scn:1:24: expected a longest handling time"},
    {"workers 2 fail=150%\n", "t.scn:1:16: expected a percentage from 0% to 100%"},
    {"workers 2 fail=1.234%\n", "t.scn:1:16: expected a percentage with at most two decimals"},
    /* issue 10 item 7: overflowed the percentage, and time + duration */
    {"workers 2 fail=99999999999999999999%\n", "t.scn:1:16: expected a percentage from 0% to 100%"},
    {"workers 2 handle=2562047h\n", "t.scn:1:18: expected a duration of at most 87600h (ten years)"},
    {"workers 2 handle=1ms..87601h\n", "t.scn:1:23: expected a duration of at most 87600h"},
    {"stream X subjects=a\nconsumer X C ack_wait=2562047h\n", "t.scn:2:23: expected a duration of at most 87600h"},
    {"at 2562047h crash worker 1\n", "t.scn:1:4: expected a duration of at most 87600h"},
    {"at soon crash worker 1\n", "t.scn:1:4: expected a duration"},
    {"at 1s explode\n", "t.scn:1:7: expected a fault"},
    {"at 1s drop pubacks 5% for 1s\n", "t.scn:1:12: expected 'acks' or 'connections', got 'pubacks'"},
    {"at 1s drop acks 5%\n", "t.scn:1:19: expected for DURATION, got the end of the line"},
    {"at 1s crash worker 1 for 2s now\n", "t.scn:1:29: expected the end of the line, got 'now'"},
    {"at 1s restart server softly\n", "t.scn:1:22: expected one of graceful, crash, power_loss"},
    {"at 1s slow worker 1 for 2s\n", "t.scn:1:21: expected handle=DURATION"},
    {"at 1s pause server\n", "t.scn:1:19: expected for DURATION, got the end of the line"},
    {"at 1s restart server crash node=all\n", "t.scn:1:33: expected an integer from 1 to 5 for node=, got 'all'"},
    {"at 1s pause server for 1s on=2\n", "t.scn:1:27: expected node=N, node=leader or the end of the line"},
    {"at 1s delay connections for 1s\n", "t.scn:1:25: expected a positive duration"},
    {"at 1s cut wires for 1s\n", "t.scn:1:11: expected 'connections', got 'wires'"},
    {"stream X subjects=a replicas=7\n", "t.scn:1:30: expected an integer from 1 to 5 for replicas=, got '7'"},
    {"replay\n", "t.scn:1:7: expected a workload file (from jetsim capture), got the end of the line"},
    {"replay w.wl transform=a.*=>b.$2\n", "t.scn:1:23: expected a subject transform SRC=>DST"},
    {"replay w.wl keys=x\n", "t.scn:1:18: expected an integer from 1 to"},
    {"at 1s slow worker 3 ha", "t.scn:1:21: expected handle=DURATION, got 'ha'"}, /* fuzz: read past a short word */
    {"expect nothing_bad\n", "t.scn:1:8: expected a check"},
    {"expect no_loss\nexpect dedup\n", "t.scn:2:1: only one expect statement"},
    {"stream X subjects=a\tb=\x01\n", "t.scn:1:23: expected text, got control character 0x01"},
    {"stream X subjects=\xc3\xa9\n", "t.scn:1:19: expected ASCII text"},
    {"", "t.scn:1:1: expected a stream statement"},
    {"stream X subjects=a\n", "t.scn:1:1: expected a consumer statement"},
    {"stream X subjects=a\nconsumer Y C\n", "t.scn:2:10: expected a declared stream, got 'Y'"},
    {"stream X subjects=a\nconsumer X C\npublish b\nworkers 1\n", "t.scn:3:9: expected a subject some stream captures, got 'b'"},
    {"stream X subjects=a\nconsumer X C\nconsumer X D\npublish a\nworkers 1\n", "t.scn:5:1: expected consumer=STREAM/NAME: the scenario has 2 consumers"},
    {"stream X subjects=a\nconsumer X C\npublish a\nworkers 1\nat 1s crash worker 2\n", "t.scn:5:1: expected a worker from 1 to 1, got 2"},
};

/* The faults made real on a server (issue 5) parse, with their node and
 * delay, and write back to themselves. */
static void test_server_and_network_faults_read_back(void **state)
{
    (void)state;
    parse_ok(&sc, "stream X subjects=x.> storage=file replicas=3\n"
                  "consumer X C ack_wait=2s\n"
                  "publish x.a\n"
                  "workers 1\n"
                  "at 1s restart server crash node=leader\n"
                  "at 2s restart server node=2\n"
                  "at 3s pause server for 2s node=3\n"
                  "at 4s cut connections for 1s\n"
                  "at 5s drop connections for 500ms\n"
                  "at 6s delay connections 20ms for 3s\n");
    assert_int_equal(sc.streams[0].replicas, 3);
    assert_int_equal(sc.nfaults, 6);
    assert_int_equal(sc.faults[0].kind, SIM_FAULT_RESTART_SERVER);
    assert_int_equal(sc.faults[0].node, -1);
    assert_int_equal(sc.faults[1].restart, PS_RESTART_CRASH);
    assert_int_equal(sc.faults[1].node, 2);
    assert_int_equal(sc.faults[2].kind, SIM_FAULT_PAUSE_SERVER);
    assert_int_equal(sc.faults[2].duration_ns, 2 * PS_NS_PER_SEC);
    assert_int_equal(sc.faults[2].node, 3);
    assert_int_equal(sc.faults[3].kind, SIM_FAULT_CUT_CONNECTIONS);
    assert_int_equal(sc.faults[4].kind, SIM_FAULT_DROP_CONNECTIONS);
    assert_int_equal(sc.faults[5].kind, SIM_FAULT_DELAY_CONNECTIONS);
    assert_int_equal(sc.faults[5].delay_ns, 20 * PS_NS_PER_MS);
    char *a = written(&sc);
    parse_ok(&sc2, a);
    char *b = written(&sc2);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "at 1s restart server crash node=leader\n"));
    assert_non_null(strstr(a, "at 6s delay connections 20ms for 3s\n"));
    free(a);
    free(b);
}

/* A sample line for each piece a fault row takes, in SIM_FARG_* order. */
static const struct {
    unsigned arg;
    const char *text;
} samples[] = {
    {SIM_FARG_SERVICE, " gw"},
    {SIM_FARG_WORKER, " 2"},        {SIM_FARG_AFTER_COMMIT, " after_commit"},
    {SIM_FARG_BEFORE_HANDLE, " before_handle"}, {SIM_FARG_AT_WRITE, " at_db_write=3"}, {SIM_FARG_HANDLE, " handle=2s"},
    {SIM_FARG_PCT, " 12.25%"},       {SIM_FARG_RESTART, " graceful"},          {SIM_FARG_DELAY, " 20ms"},
    {SIM_FARG_FOR, " for 3s"},      {SIM_FARG_FOR_OPT, " for 3s"},           {SIM_FARG_NODE, " node=2"},
};

/* Every row of SIM_FAULTS, written with a value for each of its pieces,
 * parses to its own kind and values and is written back as the same line. */
static void test_every_fault_kind_reads_and_writes_back(void **state)
{
    (void)state;
    for (int k = 0; k < SIM_FAULT_KIND_COUNT; k++) {
        const sim_fault_info *r = sim_fault_info_of((sim_fault_kind)k);
        assert_non_null(r);
        char line[256];
        snprintf(line, sizeof line, "at 1s %s", r->name);
        for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++)
            if (r->args & samples[i].arg)
                strcat(line, samples[i].text);
        char text[512];
        snprintf(text, sizeof text,
                 "stream X subjects=x.>\nconsumer X C\npublish x.a\nworkers 2\ndatabase\nservice gw latency=1ms\n%s\n",
                 line);
        parse_ok(&sc, text);
        assert_int_equal(sc.nfaults, 1);
        const sim_fault *f = &sc.faults[0];
        if ((int)f->kind != k)
            fail_msg("'%s' parsed as %s, not row %d", line, sim_fault_name(f->kind), k);
        assert_int_equal(f->worker, r->args & SIM_FARG_WORKER ? 2 : 0);
        assert_int_equal(f->handle_ns, r->args & SIM_FARG_HANDLE ? 2 * PS_NS_PER_SEC : 0);
        assert_int_equal(f->bp, r->args & SIM_FARG_PCT ? 1225 : 0);
        assert_int_equal(f->delay_ns, r->args & SIM_FARG_DELAY ? 20 * PS_NS_PER_MS : 0);
        assert_int_equal(f->duration_ns, r->args & (SIM_FARG_FOR | SIM_FARG_FOR_OPT) ? 3 * PS_NS_PER_SEC : 0);
        assert_int_equal(f->node, r->args & SIM_FARG_NODE ? 2 : 0);
        assert_int_equal(f->count, r->args & SIM_FARG_AT_WRITE ? 3 : 0);
        assert_int_equal(f->service, 0);
        if (r->args & SIM_FARG_RESTART)
            assert_int_equal(f->restart, PS_RESTART_GRACEFUL);
        char *a = written(&sc);
        char want[300];
        snprintf(want, sizeof want, "\n%s\n", line);
        if (!strstr(a, want))
            fail_msg("'%s' was written as:\n%s", line, a);
        free(a);
        char syntax[128];
        assert_true(strncmp(sim_fault_syntax((sim_fault_kind)k, syntax, sizeof syntax), r->name,
                            strlen(r->name)) == 0);
        /* --help shows every piece the fault takes (a user found three missing) */
        static const struct { int arg; const char *piece; } pieces[] = {
            {SIM_FARG_WORKER, " N"}, {SIM_FARG_SERVICE, " NAME"}, {SIM_FARG_AFTER_COMMIT, " after_commit"},
            {SIM_FARG_BEFORE_HANDLE, " before_handle"}, {SIM_FARG_AT_WRITE, " at_db_write=K"},
            {SIM_FARG_HANDLE, " handle=DUR"}, {SIM_FARG_PCT, " P%"}, {SIM_FARG_RESTART, " [graceful|crash|power_loss]"},
            {SIM_FARG_DELAY, " DUR"}, {SIM_FARG_FOR, " for DUR"}, {SIM_FARG_FOR_OPT, " [for DUR]"},
            {SIM_FARG_NODE, " [node=N|node=leader]"}};
        int covered = 0;
        for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
            covered |= pieces[i].arg;
            if ((r->args & pieces[i].arg) && !strstr(syntax, pieces[i].piece))
                fail_msg("the syntax of '%s' is '%s': no '%s'", line, syntax, pieces[i].piece);
        }
        assert_int_equal(r->args & ~covered, 0);
    }
    assert_null(sim_fault_info_of(SIM_FAULT_KIND_COUNT));
    assert_string_equal(sim_fault_name(SIM_FAULT_KIND_COUNT), "?");
}

/* A value outside an option's range names the option and the range. */
static void test_out_of_range_option_names_itself_and_its_range(void **state)
{
    (void)state;
    static const struct bad cases[] = {
        {"stream X subjects=a replicas=6\n", "t.scn:1:30: expected an integer from 1 to 5 for replicas=, got '6'"},
        {"stream X subjects=a\nconsumer X C max_deliver=0\n",
         "t.scn:2:26: expected an integer from 1 to 1000000 for max_deliver=, got '0'"},
        {"workers 2 batch=10001\n", "t.scn:1:17: expected an integer from 1 to 10000 for batch=, got '10001'"},
        {"publish a retry=1001\n", "t.scn:1:17: expected an integer from 0 to 1000 for retry=, got '1001'"},
        {"publish a rate=0/s\n", "t.scn:1:16: expected an integer from 1 to 100000000 for rate=, got '0'"},
        {"expect attempts<=0\n", "t.scn:1:18: expected an integer from 1 to 1000000 for attempts<=, got '0'"},
        {"stream X subjects=a\nconsumer X C ack_wait=0s\n",
         "t.scn:2:23: expected a positive duration such as 250ms, 30s or 2m for ack_wait=, got '0s'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ps_status s = sim_scenario_parse(&sc, "t.scn", cases[i].text, strlen(cases[i].text));
        assert_int_equal(s, PS_ERR_INVALID_ARG);
        assert_string_equal(ps_last_error(), cases[i].want);
    }
}

/* discard= is read by its name, not by being the option no other case
 * took (replicas= once fell through to it). */
static void test_discard_option_is_read_by_name(void **state)
{
    (void)state;
    static const char base[] = "consumer X C\npublish x.a\nworkers 1\n";
    char text[256];
    snprintf(text, sizeof text, "stream X subjects=x.> discard=new\n%s", base);
    parse_ok(&sc, text);
    assert_int_equal(sc.streams[0].discard, PS_DISCARD_NEW);
    assert_int_equal(sc.streams[0].replicas, 0);
    snprintf(text, sizeof text, "stream X subjects=x.> replicas=2\n%s", base);
    parse_ok(&sc, text);
    assert_int_equal(sc.streams[0].discard, PS_DISCARD_OLD);
    assert_int_equal(sc.streams[0].replicas, 2);
    const char bad_discard[] = "stream X subjects=x.> discard=newest\n";
    assert_int_equal(sim_scenario_parse(&sc, "t.scn", bad_discard, strlen(bad_discard)), PS_ERR_INVALID_ARG);
    assert_string_equal(ps_last_error(), "t.scn:1:31: expected one of old, new for discard=, got 'newest'");
}

static void test_each_malformed_scenario_gives_one_positioned_error(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ps_status s = sim_scenario_parse(&sc, "t.scn", bad[i].text, strlen(bad[i].text));
        if (s != PS_ERR_INVALID_ARG || strncmp(ps_last_error(), bad[i].want, strlen(bad[i].want)) != 0)
            fail_msg("case %zu: want \"%s...\", got %s: \"%s\"", i, bad[i].want, ps_status_name(s),
                     ps_last_error());
    }
}

static void test_text_with_nul_bytes_is_an_error_not_a_crash(void **state)
{
    (void)state;
    const char text[] = "stream X subjects=a\0zzz\n";
    ps_status s = sim_scenario_parse(&sc, "t.scn", text, sizeof text - 1);
    assert_int_equal(s, PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "t.scn:1:20: expected text, got control character 0x00"));
}

static void test_missing_file_names_it(void **state)
{
    (void)state;
    ps_status s = sim_scenario_load(&sc, "/nonexistent/x.scn");
    assert_int_equal(s, PS_ERR_IO);
    assert_non_null(strstr(ps_last_error(), "/nonexistent/x.scn: cannot open"));
}

/* Every scenario shipped in sim/scenarios/ parses (make test runs from the
 * repository's top). */
static void test_every_shipped_scenario_parses(void **state)
{
    (void)state;
    const char *names[] = {"workqueue_crashes", "event_stream_consumers", "dedup_lost_pubacks",
                           "per_key_order", "buggy_ack_before_commit"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "sim/scenarios/%s.scn", names[i]);
        if (sim_scenario_load(&sc, path) != PS_OK)
            fail_msg("%s", ps_last_error());
        assert_true(sc.has_expect);
    }
}

/* What the writer makes of every shipped scenario (sim/scenarios/,
 * tests/scenarios/), recorded as a 64-bit FNV-1a hash of the text with the
 * working directory cut out (a replay's workload path is written absolute).
 * The writer is what `jetsim shrink` emits, so a change of these texts is a
 * change users see: make it deliberately and update the table. */
static const struct written_hash {
    const char *path;
    uint64_t hash;
} written_hashes[] = {
    {"sim/scenarios/buggy_ack_before_commit.scn", UINT64_C(0xebcffd193ae855e1)},
    {"sim/scenarios/chaos_server_kill.scn", UINT64_C(0xa888d75693ed0275)},
    {"sim/scenarios/cluster_leader_kill.scn", UINT64_C(0x1dc8293076bf1623)},
    {"sim/scenarios/dedup_lost_pubacks.scn", UINT64_C(0x8acb19de40f38ae6)},
    {"sim/scenarios/event_stream_consumers.scn", UINT64_C(0xe166981fbe804e36)},
    {"sim/scenarios/network_faults.scn", UINT64_C(0xe65cd4ab0ddbf81d)},
    {"sim/scenarios/patterns.scn", UINT64_C(0x277f11a79b60821f)},
    {"sim/scenarios/per_key_order.scn", UINT64_C(0xd72a5bfd57fc3d59)},
    {"sim/scenarios/replay_orders.scn", UINT64_C(0x19cb15ccd7f437d7)},
    {"sim/scenarios/steady_event_stream.scn", UINT64_C(0x17ee98a70beb892a)},
    {"sim/scenarios/steady_per_key.scn", UINT64_C(0x49fc6dc053c54282)},
    {"sim/scenarios/steady_workqueue.scn", UINT64_C(0xf0683b63ce2d9b55)},
    {"sim/scenarios/workqueue_crashes.scn", UINT64_C(0xac538786ec54f684)},
    {"tests/scenarios/buggy_ack_before_commit.shrunk.scn", UINT64_C(0x1b7caeefcd34622a)},
    {"tests/scenarios/memory_stream_kill.scn", UINT64_C(0x9f134b975e1550a1)},
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
    return h;
}

/* The written text of `path`, every "CWD/" in it cut to "". */
static char *written_relative(const char *path)
{
    if (sim_scenario_load(&sc, path) != PS_OK)
        fail_msg("%s", ps_last_error());
    char *text = written(&sc);
    char cwd[512];
    assert_non_null(getcwd(cwd, sizeof cwd - 1));
    strcat(cwd, "/");
    size_t n = strlen(cwd), to = 0;
    for (size_t from = 0; text[from];)
        if (strncmp(text + from, cwd, n) == 0)
            from += n;
        else
            text[to++] = text[from++];
    text[to] = '\0';
    return text;
}

static void test_every_shipped_scenario_is_written_as_recorded(void **state)
{
    (void)state;
    const char *patterns[] = {"sim/scenarios/*.scn", "tests/scenarios/*.scn"};
    size_t seen = 0;
    int changed = 0;
    for (size_t k = 0; k < 2; k++) {
        glob_t g;
        assert_int_equal(glob(patterns[k], 0, NULL, &g), 0);
        for (size_t i = 0; i < g.gl_pathc; i++, seen++) {
            char *text = written_relative(g.gl_pathv[i]);
            uint64_t h = fnv1a(text);
            const struct written_hash *row = NULL;
            for (size_t r = 0; r < sizeof written_hashes / sizeof written_hashes[0]; r++)
                if (strcmp(written_hashes[r].path, g.gl_pathv[i]) == 0)
                    row = &written_hashes[r];
            if (!row || row->hash != h) {
                print_message("    {\"%s\", UINT64_C(0x%016llx)},\n%s", g.gl_pathv[i], (unsigned long long)h, text);
                changed++;
            }
            free(text);
        }
        globfree(&g);
    }
    assert_int_equal(seen, sizeof written_hashes / sizeof written_hashes[0]);
    if (changed)
        fail_msg("%d written scenario(s) differ from the recorded text", changed);
}

/* A scenario lives on the heap: new gives it zeroed, free takes it (and
 * NULL); a parse into it works like one into any other. */
static void test_a_new_scenario_is_empty_and_freed(void **state)
{
    (void)state;
    sim_scenario *s = sim_scenario_new();
    assert_non_null(s);
    assert_int_equal(s->nstreams + s->nconsumers + s->npublishers + s->nworkers + s->nfaults, 0);
    assert_false(s->has_expect || s->mixed);
    parse_ok(s, orders);
    assert_int_equal(s->nfaults, 5);
    sim_scenario_free(s);
    sim_scenario_free(NULL);
}

/* A seed's fault mix is the same every time, keeps only the scenario's
 * own faults, and differs between seeds. */
static void test_fault_mix_is_a_function_of_the_seed(void **state)
{
    (void)state;
    parse_ok(&sc, orders);
    int differs = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        parse_ok(&sc, orders);
        sim_scenario_mix(&sc, seed);
        parse_ok(&sc2, orders);
        sim_scenario_mix(&sc2, seed);
        assert_int_equal(sc.nfaults, sc2.nfaults);
        assert_memory_equal(sc.faults, sc2.faults, (size_t)sc.nfaults * sizeof sc.faults[0]);
        assert_true(sc.nfaults <= 5);
        for (int i = 0; i < sc.nfaults; i++)
            assert_true(sc.faults[i].bp <= 10000);
        differs += sc.nfaults != 5 || sc.faults[0].at_ns != 10 * PS_NS_PER_SEC;
    }
    assert_true(differs > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parses_the_design_example),
        cmocka_unit_test(test_written_scenario_reads_back_the_same),
        cmocka_unit_test(test_server_and_network_faults_read_back),
        cmocka_unit_test(test_every_fault_kind_reads_and_writes_back),
        cmocka_unit_test(test_out_of_range_option_names_itself_and_its_range),
        cmocka_unit_test(test_discard_option_is_read_by_name),
        cmocka_unit_test(test_each_malformed_scenario_gives_one_positioned_error),
        cmocka_unit_test(test_pattern_options_read_and_write_back),
        cmocka_unit_test(test_text_with_nul_bytes_is_an_error_not_a_crash),
        cmocka_unit_test(test_missing_file_names_it),
        cmocka_unit_test(test_every_shipped_scenario_parses),
        cmocka_unit_test(test_every_shipped_scenario_is_written_as_recorded),
        cmocka_unit_test(test_fault_mix_is_a_function_of_the_seed),
        cmocka_unit_test(test_a_new_scenario_is_empty_and_freed),
    };
    return cmocka_run_group_tests_name("scenario", tests, NULL, NULL);
}
