/* subject.c — NATS subjects and JetStream names (docs/MODEL.md, JS 1).
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
#include "ps_backend_impl.h"

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
static bool tok_eq(tok a, tok b) { return a.len == b.len && memcmp(a.s, b.s, a.len) == 0; }

/* JS 1.1: exactly the set sublist.go rejects (" \t\n\r\f"); '\v' and other
 * control characters are ordinary bytes to the server. */
static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}

/* Bytes that end a run of ordinary subject characters: the token
 * separator, the terminator and the whitespace of is_space. The scan skips
 * everything else with one table load per byte. */
static const unsigned char subject_stop[256] = {
    ['\0'] = 1, ['.'] = 1, [' '] = 1, ['\t'] = 1, ['\r'] = 1, ['\n'] = 1, ['\f'] = 1,
};

/* The first stop byte at or after p. Four bytes a round, each read only
 * once the one before it is known not to be the terminator. */
static inline const char *skip_plain(const char *p)
{
    for (;; p += 4) {
        if (subject_stop[(unsigned char)p[0]])
            return p;
        if (subject_stop[(unsigned char)p[1]])
            return p + 1;
        if (subject_stop[(unsigned char)p[2]])
            return p + 2;
        if (subject_stop[(unsigned char)p[3]])
            return p + 3;
    }
}

/* 0 when valid, else the 1-based column of the problem; *why names it.
 * One pass over the characters: this runs on every publish. */
static size_t subject_problem(const char *s, bool allow_wild, const char **why)
{
    if (!*s) {
        *why = "is empty";
        return 1;
    }
    const char *start = s; /* of the current token */
    for (const char *p = s;; p++) {
        p = skip_plain(p);
        char c = *p;
        if (is_space(c)) {
            *why = "whitespace"; /* JS 1.1 */
            return (size_t)(p - s) + 1;
        }
        size_t len = (size_t)(p - start);
        if (len == 0) {
            *why = "empty token"; /* JS 1.1 */
            return (size_t)(start - s) + 1;
        }
        if (len == 1 && (*start == '*' || *start == '>')) { /* JS 1.2 */
            if (!allow_wild) {
                *why = *start == '*' ? "wildcard '*' where a literal subject is required"
                                     : "wildcard '>' where a literal subject is required";
                return (size_t)(start - s) + 1;
            }
            if (*start == '>' && c == '.') {
                *why = "'>' before the last token"; /* JS 1.3 */
                return (size_t)(start - s) + 1;
            }
        }
        if (c == '\0')
            return 0;
        start = p + 1;
    }
}

bool ps_subject_valid(const char *subject)
{
    const char *why;
    return subject && subject_problem(subject, true, &why) == 0;
}

/* The last subject ps_subject_is_literal accepted on this thread: a
 * publisher sends to few subjects, over and over, and comparing with the
 * last one costs a third of the scan (every publish checks its subject).
 * A cache of a pure function's answer: it changes no result. */
#define LITERAL_CACHE_MAX 64
static _Thread_local struct {
    size_t len; /* 0: empty */
    char s[LITERAL_CACHE_MAX];
} literal_cache;

bool ps_subject_is_literal(const char *subject)
{
    if (!subject)
        return false;
    size_t n = strlen(subject);
    if (n && n == literal_cache.len && ps_bytes_equal(subject, literal_cache.s, n))
        return true;
    const char *why;
    if (subject_problem(subject, false, &why) != 0)
        return false;
    if (n < LITERAL_CACHE_MAX) {
        memcpy(literal_cache.s, subject, n + 1);
        literal_cache.len = n;
    }
    return true;
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
    if (!*subject)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s is empty", what);
    return ps_error(PS_ERR_INVALID_ARG, 0, "%s \"%.200s\": %s at column %zu", what, subject, why, col);
}

/* sublist.go isSubsetMatchTokenized: is every subject matched by `s`
 * matched by `test`? Assumes nothing about validity; callers that promise
 * "false for invalid input" check validity themselves. */
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
        if (!is_pwc(tb) && !tok_eq(ta, tb))
            return false;
    }
}

/* The walk alone would accept some invalid input (a '>' in the pattern
 * stops it before the rest of the subject is seen), so a match is confirmed
 * by validating both. Only positive answers pay for it, and the memory
 * backend caches the stream of the last publish subject. */
bool ps_subject_matches(const char *pattern, const char *subject)
{
    if (!pattern || !subject || !subset_walk(subject, pattern))
        return false;
    return ps_subject_valid(pattern) && ps_subject_valid(subject);
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

/* sublist.go analyzeTokens: wildcards are whole tokens only (JS 1.2). */
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

/* sublist.go tokensCanMatch. Quirk kept on purpose: it looks only at the
 * first byte, so a literal token such as "*a" or ">b" counts as a wildcard
 * when both subjects are wildcarded, and the server reports an overlap. */
static bool tokens_can_match(tok a, tok b)
{
    char ca = a.s[0], cb = b.s[0];
    if (ca == '*' || cb == '*' || ca == '>' || cb == '>')
        return true;
    return tok_eq(a, b);
}

/* sublist.go SubjectsCollide (JS 1.5), on valid subjects only. */
bool ps_subjects_collide(const char *a, const char *b)
{
    if (!ps_subject_valid(a) || !ps_subject_valid(b))
        return false;
    if (strcmp(a, b) == 0)
        return true;
    shape sa = analyse(a), sb = analyse(b);
    bool la = !(sa.pwc || sa.fwc), lb = !(sb.pwc || sb.fwc);
    if (la && lb)
        return false; /* both literal and different */
    if (la)
        return subset_walk(a, b);
    if (lb)
        return subset_walk(b, a);
    /* Both wildcarded: differing lengths need a '>' on the shorter side. */
    if (sa.tokens < sb.tokens && !sa.fwc)
        return false;
    if (sb.tokens < sa.tokens && !sb.fwc)
        return false;
    tok ta, tb;
    while (tok_next(&a, &ta) && tok_next(&b, &tb))
        if (!tokens_can_match(ta, tb))
            return false;
    return true;
}

int ps_subject_token_count(const char *subject)
{
    if (!subject || !*subject)
        return 0;
    return analyse(subject).tokens;
}

/* JS 2.2 / 5.2: server isValidName (" \t\r\n\f.*>") plus the path
 * separators rejected with 10128 / 10127, and the 255-byte limit. */
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
        if (is_space(c))
            return ps_error(PS_ERR_INVALID_ARG, 0, "%s \"%s\" contains whitespace (0x%02x) at column %zu",
                            what, name, (unsigned)(unsigned char)c, i + 1);
    }
    return PS_OK;
}
