/* test_cli.c — the jetsim command line as a user meets it (issue 10,
 * items 1, 2 and 9): exit codes that mean one thing and are listed in
 * every help; a --url run that touches no stream it did not create and
 * says which stream is in its way; runs in different namespaces sharing a
 * server; and a password given in a URL (with or without nats://, or in
 * NATS_URL) that reaches no output, run database or capture file.
 *
 * Each test runs the built CLI (JETSIM_CLI, set by the Makefile) as a
 * child process. The server tests share one nats-server with user/password
 * authorization, started through ci/nats-server.sh and stopped at the end;
 * without cnats or a nats-server binary they are skipped, saying why.
 *
 * Not: the simulator's own tests (test_engine.c) nor the backend's
 * (tests/conformance, tests/jetstream).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ps_backend.h"
#include "ps_jetstream.h"

#ifndef JETSIM_CLI
#define JETSIM_CLI "build/jetsim"
#endif
#define SCRIPT "ci/nats-server.sh"
#define USER "alice"
#define PASSWORD "Pw4cli-S3cret" /* searched for in everything a run leaves */

static char g_tmp[256];     /* this run's scratch directory */
static char g_server[64];   /* the server's name for ci/nats-server.sh, "" when none */
static char g_url[128];     /* nats://127.0.0.1:PORT, without credentials */
static int g_port;

/* ---- helpers ---------------------------------------------------------------------- */

/* Runs `jetsim ARGS` with ENV before it (may be ""), stdout and stderr
 * together into *out (malloc'd); returns the exit code. */
static int cli(const char *env, const char *args, char **out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s %s 2>&1", env, JETSIM_CLI, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (cap - len < 1024) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    buf[len] = '\0';
    int st = pclose(p);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char *path_in_tmp(const char *name)
{
    static char paths[8][320];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", g_tmp, name);
    return p;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* Whether the file's bytes hold `needle` anywhere (a database's free
 * pages and journal leftovers included). */
static bool file_holds(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t n = strlen(needle), len = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    fclose(f);
    bool found = len >= n && memmem(buf, len, needle, n) != NULL;
    free(buf);
    return found;
}

static const char small_scenario[] =
    "stream ORDERS subjects=orders.>\n"
    "consumer ORDERS C ack_wait=30s\n"
    "publish orders.new rate=200/s count=40\n"
    "workers 2 consumer=ORDERS/C\n"
    "expect no_loss no_double_completion drained_within=60s\n";

/* The memory backend refuses a MaxAge under 100 ms when the run creates
 * the stream: the scenario parses, the run cannot happen. */
static const char refused_scenario[] =
    "stream S subjects=s.> max_age=10ms\n"
    "consumer S C\n"
    "publish s.a rate=10/s count=5\n"
    "workers 1 consumer=S/C\n"
    "expect no_loss\n";

/* ---- exit codes (item 9) ------------------------------------------------------------- */

/* A usage error shows its message, the command's synopsis and where the
 * options are, not the whole help (which pushed the message off screen). */
static void test_a_usage_error_fits_a_few_lines(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(cli("", "report /nonexistent.db --html", &out), 2);
    int lines = 0;
    for (const char *c = out; *c; c++)
        lines += *c == '\n';
    if (lines > 8 || !strstr(out, "option --html needs a value") || !strstr(out, "usage: jetsim report") ||
        !strstr(out, "jetsim help report"))
        fail_msg("a usage error of report printed %d lines:\n%s", lines, out);
    free(out);
    assert_int_equal(cli("", "frob", &out), 2);
    if (!strstr(out, "unknown command 'frob'") || !strstr(out, "jetsim --help"))
        fail_msg("an unknown command says:\n%s", out);
    free(out);
    assert_int_equal(cli("", "capture --frob", &out), 2); /* capture's own parser, the same brief */
    if (!strstr(out, "unknown option '--frob'") || !strstr(out, "jetsim help capture") || strstr(out, "exit codes"))
        fail_msg("a usage error of capture says:\n%s", out);
    free(out);
}

static void test_every_help_lists_the_exit_codes(void **state)
{
    (void)state;
    const char *cmds[] = {"--help", "run --help", "replay --help", "diff --help", "swarm --help",
                          "shrink --help", "capture --help", "demo --help", "explain --help",
                          "agent --help"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char *out;
        assert_int_equal(cli("", cmds[i], &out), 0);
        if (!strstr(out, "2 bad input") || !strstr(out, "4 harness error"))
            fail_msg("jetsim %s does not list the exit codes:\n%s", cmds[i], out);
        bool all = i < 3; /* the general help, run and replay give every code */
        if (all && (!strstr(out, "0 pass") || !strstr(out, "1 safety") || !strstr(out, "3 liveness") ||
                    !strstr(out, "130 interrupted")))
            fail_msg("jetsim %s does not list every exit code:\n%s", cmds[i], out);
        free(out);
    }
}

/* A run that cannot happen is a harness error (4) that says why; a
 * scenario that cannot be read or parsed is bad input (2). */
static void test_harness_error_and_bad_input_have_distinct_exit_codes(void **state)
{
    (void)state;
    char *out, args[512];
    write_file(path_in_tmp("refused.scn"), refused_scenario);
    snprintf(args, sizeof args, "run %s", path_in_tmp("refused.scn"));
    assert_int_equal(cli("", args, &out), 4);
    if (!strstr(out, "harness error: PS_ERR_STREAM_CONFIG: stream S: max age"))
        fail_msg("the harness error lost its detail:\n%s", out);
    free(out);

    snprintf(args, sizeof args, "run %s", path_in_tmp("no-such.scn"));
    assert_int_equal(cli("", args, &out), 2);
    free(out);
    write_file(path_in_tmp("bad.scn"), "stream\n");
    snprintf(args, sizeof args, "run %s", path_in_tmp("bad.scn"));
    assert_int_equal(cli("", args, &out), 2);
    free(out);
}

/* swarm --queue and agent: bad input is 2 and said before any server is
 * asked; no server is a harness error, 4, naming it. */
static void test_distributed_swarm_bad_input_and_no_server(void **state)
{
    (void)state;
    char *out, args[512];
    const char *scn = path_in_tmp("dist.scn");
    write_file(scn, small_scenario);
    write_file(path_in_tmp("dist-bad.scn"), "stream\n");
    struct {
        const char *args, *says;
        int rc;
    } cases[] = {
        {"agent", "--queue URL is required", 2},
        {"agent --queue nats://127.0.0.1:1 --parallel 0", "--parallel wants a number", 2},
        {"agent --queue nats://127.0.0.1:1 --ack-wait 10", "--ack-wait wants a duration", 2},
        {"swarm %s --seeds 3 --run-id r1", "go with --queue", 2},
        {"swarm %s --seeds 3 --queue nats://127.0.0.1:1 --jobs 2", "not --jobs", 2},
        {"swarm %s --seeds 3 --queue nats://127.0.0.1:1 --run-id a.b", "--run-id wants", 2},
        {"swarm %s --seeds 3 --queue nats://127.0.0.1:1", "harness error", 4},
        {"agent --queue nats://127.0.0.1:1", "harness error", 4},
        {"agent --queue nats://127.0.0.1:notaport", "invalid port 'notaport'", 2},
        {"agent --queue nats://u:secret@127.0.0.1:0", "invalid port '0'", 2},
        {"swarm %s --seeds 3 --queue http://127.0.0.1:4222", "is not nats:// or tls://", 2},
        {"swarm %s --seeds 3 --queue nats//127.0.0.1:4222", "is not a host", 2},
        {"swarm %s --seeds 3 --queue nats://:4222", "has no host", 2},
        {"swarm --withdraw r1", "--withdraw ID goes with --queue URL", 2},
        {"swarm --queue nats://127.0.0.1:1 --withdraw a.b", "--withdraw wants a run id", 2},
        {"swarm --queue nats://127.0.0.1:1 --withdraw r1", "harness error", 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(args, sizeof args, cases[i].args, scn);
        int rc = cli("", args, &out);
        if (rc != cases[i].rc || !strstr(out, cases[i].says))
            fail_msg("jetsim %s: exit %d, expected %d saying '%s':\n%s", args, rc, cases[i].rc, cases[i].says, out);
        if (strstr(out, "secret"))
            fail_msg("jetsim %s: the message shows the password:\n%s", args, out);
        free(out);
    }
    snprintf(args, sizeof args, "swarm %s --seeds 3 --queue nats://127.0.0.1:1", path_in_tmp("dist-bad.scn"));
    assert_int_equal(cli("", args, &out), 2); /* the scenario is checked before the server is asked */
    free(out);
}

/* Seeds that got no verdict are not safety violations. */
static void test_swarm_counts_harness_errors_apart(void **state)
{
    (void)state;
    char *out, args[512];
    write_file(path_in_tmp("refused.scn"), refused_scenario);
    snprintf(args, sizeof args, "swarm %s --seeds 3 --jobs 2", path_in_tmp("refused.scn"));
    assert_int_equal(cli("", args, &out), 4);
    if (!strstr(out, "3 failed: 0 safety, 0 liveness, 3 harness errors"))
        fail_msg("swarm did not count the harness errors apart:\n%s", out);
    free(out);
}

/* ---- a shared server (items 1 and 2) ------------------------------------------------------ */

static ps_backend *connect_server(void)
{
    const char *urls[] = {g_url};
    ps_jetstream_options o = {.urls = urls, .urls_len = 1, .user = USER, .password = PASSWORD,
                              .request_timeout_ms = 5000};
    ps_backend *b = NULL;
    assert_int_equal(ps_jetstream_new(&b, &o), PS_OK);
    return b;
}

static int start_server(void **state)
{
    (void)state;
    if (!ps_jetstream_available())
        return 0;
    char cmd[512];
    snprintf(g_server, sizeof g_server, "test-cli-%ld", (long)getpid());
    snprintf(cmd, sizeof cmd, "NATS_URL= NATS_SERVER_USER=%s NATS_SERVER_PASSWORD=%s %s start %s 2>/dev/null",
             USER, PASSWORD, SCRIPT, g_server);
    FILE *p = popen(cmd, "r");
    bool ok = p && fgets(g_url, sizeof g_url, p) != NULL;
    if (p && pclose(p) != 0)
        ok = false;
    g_url[strcspn(g_url, "\r\n")] = '\0';
    const char *colon = strrchr(g_url, ':');
    if (!ok || strncmp(g_url, "nats://127.0.0.1:", 17) != 0 || !colon) {
        g_url[0] = '\0';
        return 0; /* the server tests say why they skip */
    }
    g_port = atoi(colon + 1);
    return 0;
}

static int stop_server(void **state)
{
    (void)state;
    if (g_server[0]) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "%s stop %s >/dev/null 2>&1", SCRIPT, g_server);
        if (system(cmd) != 0)
            return -1;
    }
    return 0;
}

static bool have_server(void)
{
    if (!ps_jetstream_available())
        print_message("skipped: this library was built without cnats\n");
    else if (!g_url[0])
        print_message("skipped: no nats-server could be started through %s\n", SCRIPT);
    return g_url[0] != '\0';
}

static void delete_stream(const char *name)
{
    ps_backend *b = connect_server();
    ps_stream_delete(b, name);
    ps_backend_close(b);
}

/* Stream `name` with 5 messages on `subject`, as another user's would be
 * (made anew: a failed test may have left one). */
static void make_stream(const char *name, const char *subjects, const char *subject)
{
    delete_stream(name);
    ps_backend *b = connect_server();
    ps_stream_config c = {.name = name, .subjects = (const char *const[]){subjects}, .subjects_len = 1};
    assert_int_equal(ps_stream_add(b, &c, NULL), PS_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(ps_publish_data(b, subject, "precious", 8, NULL, NULL), PS_OK);
    ps_backend_close(b);
}

/* Messages in the stream, or -1 when it does not exist. */
static int64_t stream_msgs(const char *name)
{
    ps_backend *b = connect_server();
    ps_stream_info info = {0};
    ps_status s = ps_stream_info_get(b, name, &info);
    int64_t n = s == PS_OK ? (int64_t)info.state.msgs : -1;
    ps_stream_info_clear(&info);
    if (s != PS_OK)
        assert_int_equal(s, PS_ERR_STREAM_NOT_FOUND);
    ps_backend_close(b);
    return n;
}

/* Item 1: the run refuses, says which stream is in its way on which
 * server (the password masked), keeps the reason through its clean-up,
 * and leaves the stream and its 5 messages alone. */
static void test_refused_run_leaves_the_existing_stream_intact(void **state)
{
    (void)state;
    if (!have_server())
        skip();
    make_stream("ORDERS", "orders.>", "orders.old");
    write_file(path_in_tmp("small.scn"), small_scenario);
    char *out, args[768], want[256];
    snprintf(args, sizeof args, "run %s --url nats://%s:%s@127.0.0.1:%d", path_in_tmp("small.scn"), USER, PASSWORD,
             g_port);
    int rc = cli("", args, &out);
    int64_t left = stream_msgs("ORDERS");
    if (left != 5)
        fail_msg("the stream that was there holds %lld messages after the run (-1: deleted), not 5",
                 (long long)left);
    snprintf(want, sizeof want, "stream ORDERS already exists on nats://%s:***@127.0.0.1:%d", USER, g_port);
    if (rc != 4 || !strstr(out, want) || strstr(out, PASSWORD))
        fail_msg("exit %d, wanted 4 and \"%s\", without the password:\n%s", rc, want, out);
    free(out);
    delete_stream("ORDERS");
}

/* Item 1: two runs of one scenario at once on one server, in different
 * namespaces, both pass; each deletes only its own streams; a stream of
 * the scenario's plain name that someone else has stays. */
static void test_concurrent_runs_in_namespaces_both_pass(void **state)
{
    (void)state;
    if (!have_server())
        skip();
    make_stream("ORDERS", "orders.>", "orders.old");
    write_file(path_in_tmp("small.scn"), small_scenario);
    char args[2][768], cmd[1700];
    for (int i = 0; i < 2; i++)
        snprintf(args[i], sizeof args[i], "%s run %s --url 127.0.0.1:%d --user %s --password-file %s "
                 "--namespace ns%d > %s/ns%d.out 2>&1", JETSIM_CLI, path_in_tmp("small.scn"), g_port, USER,
                 path_in_tmp("pw"), i, g_tmp, i);
    write_file(path_in_tmp("pw"), PASSWORD "\n");
    snprintf(cmd, sizeof cmd, "%s & a=$!; %s; b=$?; wait $a; a=$?; exit $((a * 16 + b))", args[0], args[1]);
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    int both = WEXITSTATUS(st);
    if (both != 0) {
        char show[700];
        snprintf(show, sizeof show, "cat %s/ns0.out %s/ns1.out >&2", g_tmp, g_tmp);
        if (system(show) != 0)
            print_message("(no output to show)\n");
        fail_msg("the runs exited %d and %d", both / 16, both % 16);
    }
    assert_true(file_holds(path_in_tmp("ns0.out"), "PASS"));
    assert_true(file_holds(path_in_tmp("ns1.out"), "PASS"));
    assert_int_equal(stream_msgs("ns0-ORDERS"), -1);
    assert_int_equal(stream_msgs("ns1-ORDERS"), -1);
    assert_int_equal(stream_msgs("ORDERS"), 5);
    delete_stream("ORDERS");
}

/* Item 1: two runs of one scenario at once, no namespace: whichever
 * comes second (even in the same millisecond: the server refuses an add
 * whose description differs) refuses with exit 4 and leaves the first
 * run's stream alone, so the first passes; no false finding. */
static void test_concurrent_runs_without_namespace_never_destroy_each_other(void **state)
{
    (void)state;
    if (!have_server())
        skip();
    delete_stream("ORDERS");
    write_file(path_in_tmp("slow.scn"), "stream ORDERS subjects=orders.>\n"
                                        "consumer ORDERS C ack_wait=30s\n"
                                        "publish orders.new rate=100/s count=100\n"
                                        "workers 2 consumer=ORDERS/C\n"
                                        "expect no_loss no_double_completion drained_within=60s\n");
    char args[2][768], cmd[1700];
    for (int i = 0; i < 2; i++)
        snprintf(args[i], sizeof args[i], "%s run %s --url nats://%s:%s@127.0.0.1:%d --time-scale 1 > %s/same%d.out "
                 "2>&1", JETSIM_CLI, path_in_tmp("slow.scn"), USER, PASSWORD, g_port, g_tmp, i);
    snprintf(cmd, sizeof cmd, "%s & a=$!; %s; b=$?; wait $a; a=$?; exit $((a * 16 + b))", args[0], args[1]);
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    int rc[2] = {WEXITSTATUS(st) / 16, WEXITSTATUS(st) % 16};
    for (int i = 0; i < 2; i++) {
        char out[32];
        snprintf(out, sizeof out, "same%d.out", i);
        bool refused = rc[i] == 4 && file_holds(path_in_tmp(out), "stream ORDERS") &&
                       file_holds(path_in_tmp(out), "127.0.0.1");
        if (rc[i] != 0 && !refused) {
            char show[700];
            snprintf(show, sizeof show, "cat %s/same0.out %s/same1.out >&2", g_tmp, g_tmp);
            if (system(show) != 0)
                print_message("(no output to show)\n");
            fail_msg("run %d exited %d: neither a pass nor a refusal naming the stream", i, rc[i]);
        }
    }
    assert_true(rc[0] == 0 || rc[1] == 0);
    assert_int_equal(stream_msgs("ORDERS"), -1); /* the run that created it deleted it */
}

/* Item 2: a password in --url (with and without nats://) and in NATS_URL
 * reaches neither the console, nor the run database, nor `jetsim replay`,
 * nor a capture file, nor an error message. */
static void test_password_in_url_leaves_no_trace(void **state)
{
    (void)state;
    if (!have_server())
        skip();
    delete_stream("ORDERS"); /* a failed test may have left it */
    write_file(path_in_tmp("small.scn"), small_scenario);
    char *out, args[768], env[256];
    const char *forms[] = {"nats://" USER ":" PASSWORD "@127.0.0.1:%d", USER ":" PASSWORD "@127.0.0.1:%d"};
    for (int i = 0; i < 3; i++) {
        char url[160];
        snprintf(url, sizeof url, forms[i == 1], g_port);
        const char *db = path_in_tmp(i == 0 ? "scheme.db" : i == 1 ? "bare.db" : "env.db");
        env[0] = '\0';
        if (i == 2) { /* NATS_URL, no --url */
            snprintf(env, sizeof env, "NATS_URL='%s'", url);
            snprintf(args, sizeof args, "run %s --backend jetstream --db %s", path_in_tmp("small.scn"), db);
        } else {
            snprintf(args, sizeof args, "run %s --url '%s' --db %s", path_in_tmp("small.scn"), url, db);
        }
        int rc = cli(env, args, &out);
        if (file_holds(db, PASSWORD))
            fail_msg("the run database %s holds the password", db);
        if (rc != 0 || strstr(out, PASSWORD))
            fail_msg("run %d: exit %d, or the password in its output:\n%s", i, rc, out);
        free(out);
        assert_true(file_holds(db, USER ":***@127.0.0.1"));
        snprintf(args, sizeof args, "replay %s", db);
        cli("", args, &out);
        if (strstr(out, PASSWORD) || !strstr(out, USER ":***@"))
            fail_msg("replay shows the password, or no masked URL:\n%s", out);
        free(out);
    }
    /* capture: the file header names the server, masked */
    make_stream("KEEP", "keep.>", "keep.a");
    snprintf(args, sizeof args, "capture KEEP --url nats://%s:%s@127.0.0.1:%d --out %s", USER, PASSWORD, g_port,
             path_in_tmp("keep.wl"));
    int rc = cli("", args, &out);
    if (rc != 0 || strstr(out, PASSWORD))
        fail_msg("capture: exit %d, or the password in its output:\n%s", rc, out);
    free(out);
    assert_false(file_holds(path_in_tmp("keep.wl"), PASSWORD));
    assert_true(file_holds(path_in_tmp("keep.wl"), USER ":***@127.0.0.1"));
    delete_stream("KEEP");
    /* errors: a wrong password, and no server at all */
    snprintf(args, sizeof args, "run %s --url %s:wrong%s@127.0.0.1:%d", path_in_tmp("small.scn"), USER, PASSWORD,
             g_port);
    rc = cli("", args, &out);
    if (rc != 4 || strstr(out, PASSWORD) || !strstr(out, "Authorization Violation"))
        fail_msg("a refused login: exit %d (wanted 4), or the password shown:\n%s", rc, out);
    free(out);
    snprintf(args, sizeof args, "capture KEEP --url nats://%s:%s@127.0.0.1:1", USER, PASSWORD);
    rc = cli("", args, &out);
    if (rc != 4 || strstr(out, PASSWORD))
        fail_msg("capture without a server: exit %d (wanted 4), or the password shown:\n%s", rc, out);
    free(out);
    /* a URL without "@host": cnats reads the password as a port and quotes
     * it in its error ("invalid port '...'"); run, capture and NATS_URL */
    const char *hostless[] = {"run %s --url nats://" USER ":" PASSWORD, "capture KEEP --url " USER ":" PASSWORD "%s",
                              "run %s --backend jetstream"};
    for (int i = 0; i < 3; i++) {
        snprintf(args, sizeof args, hostless[i], i == 1 ? "" : path_in_tmp("small.scn"));
        snprintf(env, sizeof env, i == 2 ? "NATS_URL='" USER ":" PASSWORD "'" : "");
        cli(env, args, &out);
        if (strstr(out, PASSWORD))
            fail_msg("a URL without a host: the password shown (%s):\n%s", args, out);
        free(out);
    }
}

int main(void)
{
    snprintf(g_tmp, sizeof g_tmp, "%s/jetsim-test-cli-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(g_tmp)) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest cli_tests[] = {
        cmocka_unit_test(test_a_usage_error_fits_a_few_lines),
        cmocka_unit_test(test_every_help_lists_the_exit_codes),
        cmocka_unit_test(test_harness_error_and_bad_input_have_distinct_exit_codes),
        cmocka_unit_test(test_swarm_counts_harness_errors_apart),
        cmocka_unit_test(test_distributed_swarm_bad_input_and_no_server),
    };
    const struct CMUnitTest server_tests[] = {
        cmocka_unit_test(test_refused_run_leaves_the_existing_stream_intact),
        cmocka_unit_test(test_concurrent_runs_in_namespaces_both_pass),
        cmocka_unit_test(test_concurrent_runs_without_namespace_never_destroy_each_other),
        cmocka_unit_test(test_password_in_url_leaves_no_trace),
    };
    int failed = cmocka_run_group_tests_name("jetsim cli", cli_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("jetsim cli on a server", server_tests, start_server, stop_server);
    if (!failed) {
        char cmd[320];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
        if (system(cmd) != 0)
            return 1;
    }
    return failed;
}
