/* url.c — redacting server URLs for display (ps_url.h).
 *
 * Not a parser for connecting: only as much of a URL is read as it takes
 * to find where a secret could be.
 */
#include "ps_url.h"

#include <stdbool.h>
#include <string.h>

/* Appends n bytes of s to out (capacity cap), counting all of them. */
static void put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++, (*len)++)
        if (*len + 1 < cap)
            out[*len] = s[i];
}

/* host[:port][/path], or [v6][:port][/path]: what an entry without user
 * information should look like. Anything else might be part of a secret. */
static bool looks_like_host(const char *h, size_t n)
{
    size_t i = 0;
    if (i < n && h[i] == '[') {
        while (i < n && h[i] != ']')
            i++;
        if (i == n)
            return false;
        i++;
    } else {
        while (i < n && h[i] != ':' && h[i] != '/')
            i++;
    }
    if (i < n && h[i] == ':') {
        size_t digits = 0;
        for (i++; i < n && h[i] >= '0' && h[i] <= '9'; i++)
            digits++;
        if (digits == 0)
            return false;
    }
    return i == n || h[i] == '/';
}

/* One entry of a list (no comma inside). */
static void redact_one(char *out, size_t cap, size_t *len, const char *e, size_t n)
{
    const char *sep = NULL;
    for (size_t i = 0; i + 2 < n && !sep; i++)
        if (e[i] == ':' && e[i + 1] == '/' && e[i + 2] == '/')
            sep = e + i + 3;
    size_t scheme = sep ? (size_t)(sep - e) : 0;
    put(out, cap, len, e, scheme);
    const char *rest = e + scheme;
    size_t rn = n - scheme;
    const char *at = NULL;
    for (size_t i = 0; i < rn; i++)
        if (rest[i] == '@')
            at = rest + i;
    if (!at) {
        if (looks_like_host(rest, rn))
            put(out, cap, len, rest, rn);
        else
            put(out, cap, len, "***", 3);
        return;
    }
    const char *colon = memchr(rest, ':', (size_t)(at - rest));
    if (colon) /* user:password: the user name is no secret and tells runs apart */
        put(out, cap, len, rest, (size_t)(colon - rest) + 1);
    put(out, cap, len, "***", 3);
    put(out, cap, len, at, rn - (size_t)(at - rest));
}

size_t ps_url_redact(char *out, size_t cap, const char *urls)
{
    size_t len = 0;
    for (const char *p = urls; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        redact_one(out, cap, &len, p, n);
        if (!comma)
            break;
        put(out, cap, &len, ",", 1);
        p = comma + 1;
    }
    if (cap > 0)
        out[len < cap ? len : cap - 1] = '\0';
    return len;
}
