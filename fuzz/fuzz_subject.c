/* fuzz_subject.c — libFuzzer target for core/subject.c.
 *
 * Splits the input at its first NUL into two strings and cross-checks the
 * subject functions against each other and against a slow tokenising
 * matcher written here from JS 1.1-1.3. Traps on any violated invariant.
 * Not a test of behaviour on NULL (the unit tests cover that).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ps_subject.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                 \
    do {                            \
        if (!(cond))                \
            __builtin_trap();       \
    } while (0)

enum { MAX_TOKENS = 64 };

typedef struct toks {
    const char *s[MAX_TOKENS];
    size_t len[MAX_TOKENS];
    int n;
} toks;

/* Splits at '.'; false when there are more tokens than fit. */
static bool split(const char *s, toks *t)
{
    t->n = 0;
    for (;;) {
        if (t->n == MAX_TOKENS)
            return false;
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        t->s[t->n] = s;
        t->len[t->n++] = n;
        if (!dot)
            return true;
        s = dot + 1;
    }
}

static bool tok_is(const toks *t, int i, char c) { return t->len[i] == 1 && t->s[i][0] == c; }

/* JS 1.3 for a valid pattern and a literal subject, token by token. */
static bool ref_match(const toks *p, const toks *s)
{
    for (int i = 0; i < p->n; i++) {
        if (tok_is(p, i, '>'))
            return s->n > i;
        if (i >= s->n)
            return false;
        if (tok_is(p, i, '*'))
            continue;
        if (p->len[i] != s->len[i] || memcmp(p->s[i], s->s[i], p->len[i]) != 0)
            return false;
    }
    return p->n == s->n;
}

static int count_dots(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '.';
    return n;
}

/* Properties of one string on its own. */
static void check_one(const char *s)
{
    bool valid = ps_subject_valid(s), literal = ps_subject_is_literal(s);
    CHECK(!literal || valid);
    CHECK((ps_subject_check("subject", s, true) == PS_OK) == valid);
    CHECK((ps_subject_check("subject", s, false) == PS_OK) == literal);
    if (!valid)
        CHECK(ps_last_error()[0] != '\0');
    if (valid) {
        CHECK(ps_subject_matches(s, s));
        CHECK(ps_subject_is_subset(s, s));
        CHECK(ps_subject_is_subset(s, ">"));
        CHECK(ps_subjects_collide(s, s));
        CHECK(ps_subject_token_count(s) == count_dots(s) + 1);
    }
    if (ps_name_check("name", s) == PS_OK) {
        CHECK(literal);
        CHECK(strlen(s) <= PS_NAME_MAX);
        CHECK(ps_subject_token_count(s) == 1);
    } else {
        CHECK(ps_last_error()[0] != '\0');
    }
}

/* Properties of a pair. */
static void check_pair(const char *a, const char *b)
{
    bool va = ps_subject_valid(a), vb = ps_subject_valid(b);
    bool la = ps_subject_is_literal(a), lb = ps_subject_is_literal(b);
    bool match = ps_subject_matches(a, b), coll = ps_subjects_collide(a, b);
    bool sub = ps_subject_is_subset(a, b);
    if (match)
        CHECK(va && vb);
    if (coll || sub)
        CHECK(va && vb);
    CHECK(coll == ps_subjects_collide(b, a));
    if (la && lb) {
        CHECK(coll == (strcmp(a, b) == 0));
        CHECK(match == (strcmp(a, b) == 0));
    }
    if (match && lb)
        CHECK(coll);
    if (sub) /* a valid `a` matches some literal, which `b` then matches too */
        CHECK(coll);
    if (lb) /* a literal is a subset of exactly the patterns matching it */
        CHECK(ps_subject_is_subset(b, a) == match);
    toks tp, ts;
    if (va && lb && split(a, &tp) && split(b, &ts))
        CHECK(match == ref_match(&tp, &ts));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    const uint8_t *nul = memchr(data, 0, size);
    size_t la = nul ? (size_t)(nul - data) : size / 2;
    size_t rest = nul ? size - la - 1 : size - la;
    char *a = malloc(la + 1), *b = malloc(rest + 1);
    if (!a || !b) {
        free(a);
        free(b);
        return 0;
    }
    memcpy(a, data, la);
    a[la] = '\0';
    memcpy(b, data + size - rest, rest);
    b[rest] = '\0';
    /* Embedded NULs in the second half just shorten it. */
    check_one(a);
    check_one(b);
    check_pair(a, b);
    check_pair(b, a);
    free(a);
    free(b);
    return 0;
}
