/* ps_url.h — server URLs as they may be shown: with any password or token
 * they carry replaced by "***", so that a URL can go into a log, an error
 * message, a run database or a file header without the secret.
 *
 * This module is not: a URL parser for connecting (cnats parses what it
 * connects to) nor a validator (a malformed URL is redacted, not refused).
 */
#ifndef PS_URL_H
#define PS_URL_H

#include <stddef.h>

#include "ps_api.h"

PS_API_BEGIN

/* Writes `urls` (one URL or a comma-separated list, with or without a
 * "scheme://") to `out` with every secret masked:
 *   nats://alice:s3cret@host:4222  ->  nats://alice:***@host:4222
 *   alice:s3cret@host:4222         ->  alice:***@host:4222
 * and a token (user information without ':') becomes *** whole.
 * The user information ends at the last '@' of an entry, so a password
 * holding '@' is masked whole. An entry without '@' that does not read as
 * host[:port][/path] (it may be the front half of a password holding ',')
 * is masked as "***" after its scheme: when in doubt, hide.
 * NULL `urls` writes "". The result is truncated to fit `cap` (always
 * NUL-terminated when cap > 0); returns the length the whole result has,
 * as snprintf does. Thread-safe, no allocation. */
size_t ps_url_redact(char *out, size_t cap, const char *urls);

PS_API_END

#endif
