/* ps_subject.h — NATS subjects and JetStream names (docs/MODEL.md, JS 1).
 *
 * Validation, wildcard matching, collision and subset tests, exactly as
 * nats-server 2.9.10 defines them. Pure functions over NUL-terminated
 * strings; no allocation, safe from any thread. NULL is accepted everywhere
 * and is never valid, never matches.
 *
 * This module is not: a subscription index (backends keep their own).
 */
#ifndef PS_SUBJECT_H
#define PS_SUBJECT_H

#include <stdbool.h>
#include <stddef.h>

#include "ps_status.h"
#include "ps_api.h"

PS_API_BEGIN

/* JS 1.1-1.3: non-empty tokens, no whitespace; a token is a wildcard only
 * when it is exactly "*" or ">", and ">" only as the last token. */
bool ps_subject_valid(const char *subject);

/* Valid and without wildcard tokens (JS 1.4: what may be published). */
bool ps_subject_is_literal(const char *subject);

/* Like ps_subject_valid / ps_subject_is_literal, but on failure records a
 * detail naming `what` ("subject", "filter subject"...) and the problem
 * ("empty token at column 3") and returns PS_ERR_INVALID_ARG. */
ps_status ps_subject_check(const char *what, const char *subject,
                           bool allow_wildcards);

/* Does the literal subject `subject` match `pattern` (JS 1.3)? Both must be
 * valid; `subject` may itself contain wildcards, which then match only the
 * same wildcard in the pattern position or a wider one (">" covers "*"). */
bool ps_subject_matches(const char *pattern, const char *subject);

/* JS 1.5: could some literal subject match both patterns? */
bool ps_subjects_collide(const char *a, const char *b);

/* JS 1.6: is every subject matched by `s` also matched by `test`? */
bool ps_subject_is_subset(const char *s, const char *test);

/* Number of tokens of a valid subject (0 for NULL or empty). */
int ps_subject_token_count(const char *subject);

/* Stream, consumer and durable names (JS 2.2, 5.2): non-empty, at most 255
 * bytes, none of '.', '*', '>', whitespace, '/', '\'. On failure records a
 * detail naming `what` and the character, and returns PS_ERR_INVALID_ARG. */
ps_status ps_name_check(const char *what, const char *name);

#define PS_NAME_MAX 255
#define PS_NAME_MAX_BUF (PS_NAME_MAX + 1)

PS_API_END

#endif
