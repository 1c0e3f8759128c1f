/* test_subject.c — unit tests of core/subject.c against docs/MODEL.md, JS 1.
 *
 * Every example of §1 is here, plus the nats-server 2.9.10 edge cases the
 * memory backend relies on (stream overlap, filter subsets, names).
 * Not a test of any backend.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ps_subject.h"
#include "ps_backend_impl.h"

/* Asserts that the last error contains `text`. */
static void assert_error_has(const char *text)
{
    if (!strstr(ps_last_error(), text))
        fail_msg("last error \"%s\" does not contain \"%s\"", ps_last_error(), text);
}

/* ---- §1.1-1.3 validity -------------------------------------------------------- */

/* JS 1.1: tokens separated by '.', case-sensitive; wildcards are valid. */
static void test_subject_valid_accepts_plain_and_wildcards(void **state)
{
    (void)state;
    const char *ok[] = {"foo", "foo.bar", "a.b.c.d", "*", ">", "foo.*", "foo.>", "*.>", "*.*.x",
                        "$JS.API.STREAM.INFO.S", "Foo-Bar_9", "a*", ">b", "a\vb"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!ps_subject_valid(ok[i]))
            fail_msg("\"%s\" should be valid", ok[i]);
}

/* JS 1.1: an empty token makes a subject invalid. */
static void test_subject_empty_tokens_are_invalid(void **state)
{
    (void)state;
    assert_false(ps_subject_valid(""));
    assert_false(ps_subject_valid("a..b"));
    assert_false(ps_subject_valid(".a"));
    assert_false(ps_subject_valid("a."));
    assert_false(ps_subject_valid("."));
    assert_false(ps_subject_valid(NULL));
}

/* JS 1.1: space, \t, \r, \n, \f are invalid anywhere; \v is not in the
 * server's set and stays an ordinary byte. */
static void test_subject_whitespace_is_invalid(void **state)
{
    (void)state;
    const char *bad[] = {"a b", " a", "a ", "a\tb", "a\rb", "a\nb", "a\fb", "a. .b", "\t"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (ps_subject_valid(bad[i]))
            fail_msg("subject %zu should be invalid", i);
    assert_true(ps_subject_valid("a\vb"));
}

/* JS 1.3: '>' must be the last token. */
static void test_subject_gt_must_be_last_token(void **state)
{
    (void)state;
    assert_false(ps_subject_valid("foo.>.bar"));
    assert_false(ps_subject_valid(">.a"));
    assert_false(ps_subject_valid(">.>"));
    assert_true(ps_subject_valid("foo.>"));
    assert_true(ps_subject_valid("foo.>b.bar")); /* JS 1.2: ">b" is literal */
}

/* JS 1.2: a wildcard is a whole token; "a*" and ">b" are literal. */
static void test_subject_partial_wildcard_chars_are_literal(void **state)
{
    (void)state;
    assert_true(ps_subject_is_literal("a*"));
    assert_true(ps_subject_is_literal(">b"));
    assert_true(ps_subject_is_literal("foo.*bar.b>"));
    assert_false(ps_subject_is_literal("foo.*"));
    assert_false(ps_subject_is_literal("foo.>"));
    assert_false(ps_subject_is_literal("*"));
}

/* ps_bytes_equal (the publish path's short compare, overlapping words
 * from 4 to 16 bytes) answers as memcmp for every length around its
 * cases and a difference at every position, the buffers placed at the
 * end of an array so that a read past `n` would show under ASan. */
static void test_bytes_equal_answers_as_memcmp(void **state)
{
    (void)state;
    char a[40], b[40];
    for (size_t n = 0; n <= 24; n++) {
        char *x = a + sizeof a - n, *y = b + sizeof b - n;
        for (size_t i = 0; i < n; i++)
            x[i] = y[i] = (char)('a' + i);
        assert_true(ps_bytes_equal(x, y, n));
        for (size_t i = 0; i < n; i++) {
            y[i] ^= 0x20;
            assert_false(ps_bytes_equal(x, y, n));
            y[i] ^= 0x20;
        }
    }
}

/* JS 1.4: a publish subject is valid and literal. */
static void test_subject_literal_requires_validity(void **state)
{
    (void)state;
    assert_true(ps_subject_is_literal("orders.new"));
    assert_false(ps_subject_is_literal("orders..new"));
    assert_false(ps_subject_is_literal("orders new"));
    assert_false(ps_subject_is_literal(""));
    assert_false(ps_subject_is_literal(NULL));
}

/* ---- ps_subject_check: detail messages ------------------------------------------ */

/* ps_subject_is_literal remembers the last subject it accepted: a subject
 * that begins as that one and goes on (or stops short) is still judged on
 * its own, and one longer than the memory is judged every time. */
static void test_subject_literal_after_a_remembered_one(void **state)
{
    (void)state;
    assert_true(ps_subject_is_literal("jobs.a"));
    assert_false(ps_subject_is_literal("jobs.a."));
    assert_false(ps_subject_is_literal("jobs.a.*"));
    assert_false(ps_subject_is_literal("jobs.a >"));
    assert_false(ps_subject_is_literal("jobs.a.>"));
    assert_true(ps_subject_is_literal("jobs.a>"));
    assert_true(ps_subject_is_literal("jobs.ab"));
    assert_true(ps_subject_is_literal("jobs"));
    assert_false(ps_subject_is_literal("jobs."));
    assert_false(ps_subject_is_literal(""));
    assert_true(ps_subject_is_literal("jobs"));
    char longer[200];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_true(ps_subject_is_literal(longer));
    longer[150] = '.';
    longer[151] = '.';
    assert_false(ps_subject_is_literal(longer));
    assert_true(ps_subject_is_literal("jobs.a"));
}

static void test_subject_check_names_empty_token_and_column(void **state)
{
    (void)state;
    assert_int_equal(ps_subject_check("subject", "a..b", true), PS_ERR_INVALID_ARG);
    assert_string_equal(ps_last_error(), "subject \"a..b\": empty token at column 3");
    assert_int_equal(ps_last_status(), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_subject_check("subject", ".a", true), PS_ERR_INVALID_ARG);
    assert_error_has("column 1");
    assert_int_equal(ps_subject_check("subject", "a.", true), PS_ERR_INVALID_ARG);
    assert_error_has("empty token at column 3");
}

static void test_subject_check_names_whitespace_and_column(void **state)
{
    (void)state;
    assert_int_equal(ps_subject_check("filter subject", "ab c", true), PS_ERR_INVALID_ARG);
    assert_string_equal(ps_last_error(), "filter subject \"ab c\": whitespace at column 3");
}

static void test_subject_check_names_misplaced_gt(void **state)
{
    (void)state;
    assert_int_equal(ps_subject_check("subject", "foo.>.bar", true), PS_ERR_INVALID_ARG);
    assert_error_has("'>' before the last token at column 5");
}

/* JS 1.4: publish subjects must be literal. */
static void test_subject_check_literal_rejects_wildcards(void **state)
{
    (void)state;
    assert_int_equal(ps_subject_check("publish subject", "orders.*", false), PS_ERR_INVALID_ARG);
    assert_error_has("publish subject \"orders.*\"");
    assert_error_has("'*'");
    assert_error_has("column 8");
    assert_int_equal(ps_subject_check("publish subject", "orders.>", false), PS_ERR_INVALID_ARG);
    assert_error_has("'>'");
    assert_int_equal(ps_subject_check("publish subject", "orders.*x", false), PS_OK);
}

static void test_subject_check_null_and_empty(void **state)
{
    (void)state;
    assert_int_equal(ps_subject_check("subject", NULL, true), PS_ERR_INVALID_ARG);
    assert_string_equal(ps_last_error(), "subject is NULL");
    assert_int_equal(ps_subject_check("subject", "", true), PS_ERR_INVALID_ARG);
    assert_string_equal(ps_last_error(), "subject is empty");
    assert_int_equal(ps_subject_check(NULL, "a..b", true), PS_ERR_INVALID_ARG);
    assert_error_has("subject \"a..b\"");
}

static void test_subject_check_ok_leaves_no_error(void **state)
{
    (void)state;
    ps_error_clear();
    assert_int_equal(ps_subject_check("subject", "a.*.>", true), PS_OK);
    assert_int_equal(ps_last_status(), PS_OK);
    assert_string_equal(ps_last_error(), "");
}

/* ---- §1.3 matching --------------------------------------------------------------- */

/* JS 1.3: '*' matches exactly one token. */
static void test_match_star_matches_exactly_one_token(void **state)
{
    (void)state;
    assert_true(ps_subject_matches("foo.*", "foo.bar"));
    assert_false(ps_subject_matches("foo.*", "foo"));
    assert_false(ps_subject_matches("foo.*", "foo.bar.baz"));
    assert_true(ps_subject_matches("*.bar", "foo.bar"));
    assert_false(ps_subject_matches("*", "a.b"));
    assert_true(ps_subject_matches("*", "a"));
}

/* JS 1.3: '>' matches one or more trailing tokens; foo.> does not match foo. */
static void test_match_gt_matches_one_or_more_tokens(void **state)
{
    (void)state;
    assert_true(ps_subject_matches("foo.>", "foo.bar"));
    assert_true(ps_subject_matches("foo.>", "foo.bar.baz"));
    assert_false(ps_subject_matches("foo.>", "foo"));
    assert_true(ps_subject_matches(">", "a"));
    assert_true(ps_subject_matches(">", "a.b.c"));
    assert_false(ps_subject_matches("bar.>", "foo.bar"));
}

/* JS 1.1: literal matching is exact and case-sensitive. */
static void test_match_literal_is_exact_and_case_sensitive(void **state)
{
    (void)state;
    assert_true(ps_subject_matches("foo.bar", "foo.bar"));
    assert_false(ps_subject_matches("foo.bar", "foo.Bar"));
    assert_false(ps_subject_matches("foo.bar", "foo.ba"));
    assert_false(ps_subject_matches("foo.ba", "foo.bar"));
    assert_false(ps_subject_matches("foo", "foo.bar"));
}

/* JS 1.2: "a*" in a pattern is a literal token. */
static void test_match_partial_star_token_is_literal(void **state)
{
    (void)state;
    assert_false(ps_subject_matches("foo.b*", "foo.bar"));
    assert_true(ps_subject_matches("foo.b*", "foo.b*"));
}

/* A subject with wildcards matches only the same or a wider wildcard. */
static void test_match_wildcard_subject_needs_wider_pattern(void **state)
{
    (void)state;
    assert_true(ps_subject_matches("foo.*", "foo.*"));
    assert_true(ps_subject_matches("foo.>", "foo.*"));
    assert_true(ps_subject_matches("foo.>", "foo.>"));
    assert_false(ps_subject_matches("foo.*", "foo.>"));
    assert_false(ps_subject_matches("foo.bar", "foo.*"));
}

/* Invalid input never matches, even where a '>' would stop the walk. */
static void test_match_invalid_input_never_matches(void **state)
{
    (void)state;
    assert_false(ps_subject_matches(">", "a..b"));
    assert_false(ps_subject_matches(">", "a b"));
    assert_false(ps_subject_matches("a.>.b", "a.x"));
    assert_false(ps_subject_matches("foo.>", "foo.>.x"));
    assert_false(ps_subject_matches(NULL, "a"));
    assert_false(ps_subject_matches("a", NULL));
    assert_false(ps_subject_matches("", ""));
}

/* ---- §1.5 collisions ------------------------------------------------------------- */

/* JS 1.5 example: b.* collides with b.x, b.> and *.x. */
static void test_collide_js_1_5_examples(void **state)
{
    (void)state;
    assert_true(ps_subjects_collide("b.*", "b.x"));
    assert_true(ps_subjects_collide("b.*", "b.>"));
    assert_true(ps_subjects_collide("b.*", "*.x"));
    assert_false(ps_subjects_collide("w.*", "w.a.b"));
}

/* JS 1.5: two literals collide only when equal. */
static void test_collide_literals_only_when_equal(void **state)
{
    (void)state;
    assert_true(ps_subjects_collide("a.b", "a.b"));
    assert_false(ps_subjects_collide("a.b", "a.c"));
    assert_false(ps_subjects_collide("a.b", "a.b.c"));
    assert_false(ps_subjects_collide("a*", "ab"));
}

/* JS 1.5: one literal, one pattern: collide when the literal matches. */
static void test_collide_star_vs_literal(void **state)
{
    (void)state;
    assert_true(ps_subjects_collide("a.*", "a.b"));
    assert_true(ps_subjects_collide("a.b", "a.*"));
    assert_false(ps_subjects_collide("a.*", "a.b.c"));
    assert_false(ps_subjects_collide("a.*", "a"));
    assert_true(ps_subjects_collide("a.>", "a.b.c"));
    assert_false(ps_subjects_collide("a.>", "a"));
    assert_false(ps_subjects_collide("x.*", "a.b"));
}

/* JS 1.5: two patterns without '>' need the same token count. */
static void test_collide_partials_need_equal_token_counts(void **state)
{
    (void)state;
    assert_false(ps_subjects_collide("a.*", "a.*.*"));
    assert_true(ps_subjects_collide("a.*.c", "*.b.*"));
    assert_false(ps_subjects_collide("a.*.c", "*.b.d"));
}

/* JS 1.5: with different counts the shorter one must end in '>'. */
static void test_collide_shorter_must_end_in_gt(void **state)
{
    (void)state;
    assert_true(ps_subjects_collide("a.>", "*.b.c"));
    assert_true(ps_subjects_collide("*.b.c", "a.>"));
    assert_false(ps_subjects_collide("a.*.>", "*.b"));
    assert_true(ps_subjects_collide(">", "*.*.*"));
    assert_false(ps_subjects_collide("a.>", "b.>"));
    assert_true(ps_subjects_collide("a.>", "*.>"));
}

/* sublist.go tokensCanMatch looks at a token's first byte only: with both
 * sides wildcarded, the literal token "*x" counts as a wildcard, and the
 * server reports an overlap. Kept for parity (JS 1.5, JS 2.2 10065). */
static void test_collide_first_byte_quirk_with_both_wildcarded(void **state)
{
    (void)state;
    assert_true(ps_subjects_collide("*x.*", "b.*"));
    assert_true(ps_subjects_collide("a.*", ">y.*"));
    /* With one literal side the exact subset walk applies instead. */
    assert_false(ps_subjects_collide("*x.b", "b.*"));
}

static void test_collide_invalid_is_false_and_symmetric(void **state)
{
    (void)state;
    assert_false(ps_subjects_collide("a..b", "a..b"));
    assert_false(ps_subjects_collide(NULL, "a"));
    assert_false(ps_subjects_collide(">", "a b"));
    const char *s[] = {"a", "a.b", "a.*", "*.b", "a.>", ">", "*.*", "a.b.c", "*.>", "x.y"};
    for (size_t i = 0; i < 10; i++)
        for (size_t j = 0; j < 10; j++)
            if (ps_subjects_collide(s[i], s[j]) != ps_subjects_collide(s[j], s[i]))
                fail_msg("collide(%s, %s) is not symmetric", s[i], s[j]);
}

/* ---- §1.6 subsets ---------------------------------------------------------------- */

/* JS 1.6 examples: foo.* is a subset of >, *.* and foo.*, not of foo.bar. */
static void test_subset_js_1_6_examples(void **state)
{
    (void)state;
    assert_true(ps_subject_is_subset("foo.*", ">"));
    assert_true(ps_subject_is_subset("foo.*", "*.*"));
    assert_true(ps_subject_is_subset("foo.*", "foo.*"));
    assert_false(ps_subject_is_subset("foo.*", "foo.bar"));
}

static void test_subset_wider_is_not_subset_of_narrower(void **state)
{
    (void)state;
    assert_true(ps_subject_is_subset("foo.bar", "foo.*"));
    assert_true(ps_subject_is_subset("foo.>", ">"));
    assert_true(ps_subject_is_subset("foo.>", "*.>"));
    assert_false(ps_subject_is_subset(">", "foo.>"));
    assert_false(ps_subject_is_subset("*.*", "foo.*"));
    assert_false(ps_subject_is_subset("foo.>", "foo.*"));
    assert_false(ps_subject_is_subset("foo.*", "foo.*.*"));
    assert_false(ps_subject_is_subset("a..b", ">"));
    assert_false(ps_subject_is_subset(NULL, ">"));
}

/* ---- token count ----------------------------------------------------------------- */

static void test_token_count(void **state)
{
    (void)state;
    assert_int_equal(ps_subject_token_count("a"), 1);
    assert_int_equal(ps_subject_token_count("a.b.>"), 3);
    assert_int_equal(ps_subject_token_count("$JS.ACK.S.C.1.2.3.4.5"), 9);
    assert_int_equal(ps_subject_token_count(""), 0);
    assert_int_equal(ps_subject_token_count(NULL), 0);
}

/* ---- names (JS 2.2, 5.2) ------------------------------------------------------------ */

static void test_name_check_accepts_ordinary_names(void **state)
{
    (void)state;
    assert_int_equal(ps_name_check("stream name", "ORDERS"), PS_OK);
    assert_int_equal(ps_name_check("stream name", "orders-v2_final"), PS_OK);
    assert_int_equal(ps_name_check("durable name", "$weird#name"), PS_OK);
}

/* JS 2.2: the server rejects '.', '*', '>' and whitespace in names. */
static void test_name_check_rejects_dot_with_message(void **state)
{
    (void)state;
    assert_int_equal(ps_name_check("stream name", "a.b"), PS_ERR_INVALID_ARG);
    assert_error_has("stream name \"a.b\" contains '.'");
    assert_error_has("column 2");
}

static void test_name_check_rejects_wildcards_and_separators(void **state)
{
    (void)state;
    const char *bad[] = {"a*", ">", "a/b", "a\\b"};
    const char *chr[] = {"'*'", "'>'", "'/'", "'\\'"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ps_name_check("consumer name", bad[i]), PS_ERR_INVALID_ARG);
        assert_error_has(chr[i]);
        assert_error_has("consumer name");
    }
}

static void test_name_check_rejects_whitespace(void **state)
{
    (void)state;
    const char *bad[] = {"a b", "a\tb", "a\rb", "a\nb", "a\fb"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(ps_name_check("stream name", bad[i]), PS_ERR_INVALID_ARG);
        assert_error_has("whitespace");
    }
}

static void test_name_check_rejects_empty_and_null(void **state)
{
    (void)state;
    assert_int_equal(ps_name_check("stream name", ""), PS_ERR_INVALID_ARG);
    assert_string_equal(ps_last_error(), "stream name is empty");
    assert_int_equal(ps_name_check("stream name", NULL), PS_ERR_INVALID_ARG);
    assert_string_equal(ps_last_error(), "stream name is NULL");
}

/* JS 2.2: at most 255 bytes. */
static void test_name_check_length_limit_is_255(void **state)
{
    (void)state;
    char name[PS_NAME_MAX + 2];
    memset(name, 'n', sizeof name);
    name[PS_NAME_MAX] = '\0';
    assert_int_equal(ps_name_check("stream name", name), PS_OK);
    name[PS_NAME_MAX] = 'n';
    name[PS_NAME_MAX + 1] = '\0';
    assert_int_equal(ps_name_check("stream name", name), PS_ERR_INVALID_ARG);
    assert_error_has("256 bytes");
    assert_error_has("maximum 255");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subject_valid_accepts_plain_and_wildcards),
        cmocka_unit_test(test_subject_literal_after_a_remembered_one),
        cmocka_unit_test(test_subject_empty_tokens_are_invalid),
        cmocka_unit_test(test_subject_whitespace_is_invalid),
        cmocka_unit_test(test_subject_gt_must_be_last_token),
        cmocka_unit_test(test_subject_partial_wildcard_chars_are_literal),
        cmocka_unit_test(test_bytes_equal_answers_as_memcmp),
        cmocka_unit_test(test_subject_literal_requires_validity),
        cmocka_unit_test(test_subject_check_names_empty_token_and_column),
        cmocka_unit_test(test_subject_check_names_whitespace_and_column),
        cmocka_unit_test(test_subject_check_names_misplaced_gt),
        cmocka_unit_test(test_subject_check_literal_rejects_wildcards),
        cmocka_unit_test(test_subject_check_null_and_empty),
        cmocka_unit_test(test_subject_check_ok_leaves_no_error),
        cmocka_unit_test(test_match_star_matches_exactly_one_token),
        cmocka_unit_test(test_match_gt_matches_one_or_more_tokens),
        cmocka_unit_test(test_match_literal_is_exact_and_case_sensitive),
        cmocka_unit_test(test_match_partial_star_token_is_literal),
        cmocka_unit_test(test_match_wildcard_subject_needs_wider_pattern),
        cmocka_unit_test(test_match_invalid_input_never_matches),
        cmocka_unit_test(test_collide_js_1_5_examples),
        cmocka_unit_test(test_collide_literals_only_when_equal),
        cmocka_unit_test(test_collide_star_vs_literal),
        cmocka_unit_test(test_collide_partials_need_equal_token_counts),
        cmocka_unit_test(test_collide_shorter_must_end_in_gt),
        cmocka_unit_test(test_collide_first_byte_quirk_with_both_wildcarded),
        cmocka_unit_test(test_collide_invalid_is_false_and_symmetric),
        cmocka_unit_test(test_subset_js_1_6_examples),
        cmocka_unit_test(test_subset_wider_is_not_subset_of_narrower),
        cmocka_unit_test(test_token_count),
        cmocka_unit_test(test_name_check_accepts_ordinary_names),
        cmocka_unit_test(test_name_check_rejects_dot_with_message),
        cmocka_unit_test(test_name_check_rejects_wildcards_and_separators),
        cmocka_unit_test(test_name_check_rejects_whitespace),
        cmocka_unit_test(test_name_check_rejects_empty_and_null),
        cmocka_unit_test(test_name_check_length_limit_is_255),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
