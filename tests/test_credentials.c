/* test_credentials.c — unit tests of sim/real/credentials.c: the CLI's
 * authentication and TLS options, with secrets read from files so that
 * none is on the command line (issue 10, item 2).
 *
 * Not: connecting with them (tests/test_cli.c, tests/jetstream/).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "credentials.h"

static char dir[] = "/tmp/jetsim-test-creds-XXXXXX";

static const char *file_with(const char *name, const char *content, size_t len)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}

static int take_all(sim_credentials *c, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        const char *missing = NULL;
        int took = sim_credentials_option(argc, argv, &i, c, &missing);
        if (took <= 0)
            return took;
    }
    return 1;
}

static void test_credentials_options_take_a_value_in_either_form(void **state)
{
    (void)state;
    sim_credentials c = {0};
    char *argv[] = {"--user", "alice", "--password-file=/p", "--tls-ca", "/ca", "--tls-cert=/c", "--tls-key", "/k"};
    assert_int_equal(take_all(&c, 8, argv), 1);
    assert_string_equal(c.user, "alice");
    assert_string_equal(c.password_file, "/p");
    assert_string_equal(c.tls_ca_file, "/ca");
    assert_string_equal(c.tls_cert_file, "/c");
    assert_string_equal(c.tls_key_file, "/k");
    assert_null(sim_credentials_check(&c));
    assert_true(sim_credentials_any(&c));

    sim_credentials none = {0};
    char *other[] = {"--url", "x"};
    int i = 0;
    const char *missing = NULL;
    assert_int_equal(sim_credentials_option(2, other, &i, &none, &missing), 0);
    assert_false(sim_credentials_any(&none));
    char *usernamelike[] = {"--username", "x"}; /* a prefix is not the option */
    assert_int_equal(sim_credentials_option(2, usernamelike, &i, &none, &missing), 0);
    char *novalue[] = {"--token-file"};
    assert_int_equal(sim_credentials_option(1, novalue, &i, &none, &missing), -1);
    assert_string_equal(missing, "--token-file");
}

static void test_credentials_combinations_are_checked(void **state)
{
    (void)state;
    sim_credentials both = {.user = "a", .password_file = "/p", .token_file = "/t"};
    assert_non_null(sim_credentials_check(&both));
    sim_credentials user_only = {.user = "a"};
    assert_non_null(strstr(sim_credentials_check(&user_only), "--password-file"));
    sim_credentials cert_only = {.tls_cert_file = "/c"};
    assert_non_null(strstr(sim_credentials_check(&cert_only), "--tls-key"));
    sim_credentials creds_and_token = {.creds_file = "/x", .token_file = "/t"};
    assert_non_null(sim_credentials_check(&creds_and_token));
}

/* The secret is the file's content without its line break; the backend
 * gets it, and an error names the file, never the content. */
static void test_credentials_secrets_are_read_from_files(void **state)
{
    (void)state;
    sim_credentials c = {.user = "alice"};
    c.password_file = strdup(file_with("pw", "s3cret pass\r\n", 13));
    c.token_file = NULL;
    assert_int_equal(sim_credentials_load(&c), PS_OK);
    assert_string_equal(c.password, "s3cret pass");
    ps_jetstream_options o = {0};
    sim_credentials_apply(&c, &o);
    assert_string_equal(o.user, "alice");
    assert_string_equal(o.password, "s3cret pass");
    assert_null(o.token);
    sim_credentials_free(&c);
    assert_null(c.password);
    free((void *)c.password_file);

    sim_credentials t = {.token_file = strdup(file_with("tok", "T0KEN", 5))};
    assert_int_equal(sim_credentials_load(&t), PS_OK);
    assert_string_equal(t.token, "T0KEN");
    sim_credentials_free(&t);
    free((void *)t.token_file);
}

static void test_credentials_bad_files_are_refused_without_their_content(void **state)
{
    (void)state;
    char big[5000];
    memset(big, 'z', sizeof big);
    struct { const char *name, *content; size_t len; const char *why; } cases[] = {
        {"empty", "", 0, "empty"},
        {"newline", "\n", 1, "empty"},
        {"big", big, sizeof big, "longer than 4096"},
        {"nul", "ab\0cd", 5, "NUL"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sim_credentials c = {.user = "a", .password_file = strdup(file_with(cases[i].name, cases[i].content,
                                                                              cases[i].len))};
        assert_int_equal(sim_credentials_load(&c), PS_ERR_INVALID_ARG);
        assert_non_null(strstr(ps_last_error(), cases[i].why));
        assert_non_null(strstr(ps_last_error(), c.password_file));
        assert_null(strstr(ps_last_error(), "zzz"));
        assert_null(c.password);
        free((void *)c.password_file);
    }
    sim_credentials missing = {.user = "a", .password_file = "/nonexistent/jetsim/pw"};
    assert_int_equal(sim_credentials_load(&missing), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "cannot open"));
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_credentials_options_take_a_value_in_either_form),
        cmocka_unit_test(test_credentials_combinations_are_checked),
        cmocka_unit_test(test_credentials_secrets_are_read_from_files),
        cmocka_unit_test(test_credentials_bad_files_are_refused_without_their_content),
    };
    return cmocka_run_group_tests_name("credentials", tests, setup, teardown);
}
