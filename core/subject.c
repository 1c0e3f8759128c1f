/* subject.c — NATS subjects and JetStream names (JETSTREAM.md §1).
 *
 * Validation, wildcard matching, collision and subset tests with the
 * semantics of nats-server 2.9.10's sublist.go, walked in place over the
 * strings: no allocation, no tokenising copies, because subject matching
 * sits on the memory backend's publish path.
 *
 * Not a subscription index.
 */
#include <stdio.h>
#include <string.h>

#include "ps_subject.h"

typedef struct tok {
    const char *s;
    size_t len;
} tok;

/* Next token of *p; *p becomes NULL after the last one. */
static inline bool tok_next(const char **p, tok *t)
{
    const char *s = *p;
    if (!s)
        return false;
    const char *e = s;
    while (*e && *e != '.')
        e++;
    t->s = s;
    t->len = (size_t)(e - s);
    *p = *e ? e + 1 : NULL;
    return true;
}

static bool is_pwc(tok t) { return t.len == 1 && t.s[0] == '*'; }
static bool is_fwc(tok t) { return t.len == 1 && t.s[0] == '>'; }
static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

/* 0 when valid, else the 1-based column of the problem; *why says what.
 * One pass over the characters: this runs on every publish. */
static size_t subject_problem(const char *s, bool allow_wild, const char **why)
{
    if (!*s) {
        *why = "is empty";
        return 1;
    }
    const char *start = s; /* of the current token */
    for (const char *p = s;; p++) {
        char c = *p;
        if (c == '.' || c == '\0') {
            size_t len = (size_t)(p - start);
            if (len == 0) {
                *why = "has an empty token";
                return (size_t)(start - s) + 1;
            }
            if (len == 1 && (*start == '*' || *start == '>')) {
                if (!allow_wild) {
                    *why = "contains a wildcard (publish subjects must be literal)";
                    return (size_t)(start - s) + 1;
                }
                if (*start == '>' && c == '.') {
                    *why = "has '>' before its last token";
                    return (size_t)(start - s) + 1;
                }
            }
            if (c == '\0')
                return 0;
            start = p + 1;
        } else if (is_space(c)) {
            *why = "contains whitespace";
            return (size_t)(p - s) + 1;
        }
    }
}

bool ps_subject_valid(const char *subject)
{
    const char *why;
    return subject && subject_problem(subject, true, &why) == 0;
}

bool ps_subject_is_literal(const char *subject)
{
    const char *why;
    return subject && subject_problem(subject, false, &why) == 0;
}

ps_status ps_subject_check(const char *what, const char *subject, bool allow_wildcards)
{
    what = what ? what : "subject";
    if (!subject)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s is NULL", what);
    const char *why = NULL;
    size_t col = subject_problem(subject, allow_wildcards, &why);
    if (col == 0)
        return PS_OK;
    return ps_error(PS_ERR_INVALID_ARG, 0, "%s \"%.200s\" %s at column %zu", what, subject, why, col);
}

/* sublist.go isSubsetMatchTokenized: is every subject matched by `s`
 * matched by `test`? */
static bool subset_walk(const char *s, const char *test)
{
    const char *a = s, *b = test;
    tok ta, tb;
    for (;;) {
        if (!tok_next(&b, &tb))
            return a == NULL;
        if (!tok_next(&a, &ta) || tb.len == 0)
            return false;
        if (is_fwc(tb))
            return true;
        if (ta.len == 0 || is_fwc(ta))
            return false;
        if (is_pwc(ta)) {
            if (!is_pwc(tb))
                return false;
            continue;
        }
        if (!is_pwc(tb) && (ta.len != tb.len || memcmp(ta.s, tb.s, ta.len) != 0))
            return false;
    }
}

bool ps_subject_matches(const char *pattern, const char *subject)
{
    if (!pattern || !subject)
        return false;
    return subset_walk(subject, pattern);
}

bool ps_subject_is_subset(const char *s, const char *test)
{
    if (!ps_subject_valid(s) || !ps_subject_valid(test))
        return false;
    return subset_walk(s, test);
}

typedef struct shape {
    int tokens;
    bool pwc, fwc;
} shape;

static shape analyse(const char *s)
{
    shape r = {0, false, false};
    tok t;
    while (tok_next(&s, &t)) {
        r.tokens++;
        r.pwc |= is_pwc(t);
        r.fwc |= is_fwc(t);
    }
    return r;
}

/* sublist.go SubjectsCollide: JS 1.5. */
bool ps_subjects_collide(const char *a, const char *b)
{
    if (!ps_subject_valid(a) || !ps_subject_valid(b))
        return false;
    shape sa = analyse(a), sb = analyse(b);
    bool la = !(sa.pwc || sa.fwc), lb = !(sb.pwc || sb.fwc);
    if (la && lb)
        return strcmp(a, b) == 0;
    if (la)
        return subset_walk(a, b);
    if (lb)
        return subset_walk(b, a);
    if (!sa.fwc && !sb.fwc && sa.tokens != sb.tokens)
        return false;
    if ((sa.tokens < sb.tokens && !sa.fwc) || (sb.tokens < sa.tokens && !sb.fwc))
        return false;
    tok ta, tb;
    while (tok_next(&a, &ta) && tok_next(&b, &tb)) {
        bool wild = is_pwc(ta) || is_fwc(ta) || is_pwc(tb) || is_fwc(tb);
        if (!wild && (ta.len != tb.len || memcmp(ta.s, tb.s, ta.len) != 0))
            return false;
    }
    return true;
}

int ps_subject_token_count(const char *subject)
{
    if (!subject || !*subject)
        return 0;
    return analyse(subject).tokens;
}

ps_status ps_name_check(const char *what, const char *name)
{
    what = what ? what : "name";
    if (!name)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s is NULL", what);
    if (!*name)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s is empty", what);
    size_t n = strlen(name);
    if (n > PS_NAME_MAX)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s \"%.40s...\" is %zu bytes long (maximum %d)",
                        what, name, n, PS_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (c == '.' || c == '*' || c == '>' || c == '/' || c == '\\')
            return ps_error(PS_ERR_INVALID_ARG, 0, "%s \"%s\" contains '%c' at column %zu",
                            what, name, c, i + 1);
        if (is_space(c) || (unsigned char)c < 0x20)
            return ps_error(PS_ERR_INVALID_ARG, 0, "%s \"%s\" contains whitespace or a control "
                            "character at column %zu", what, name, i + 1);
    }
    return PS_OK;
}
