/* jsb_json.c — reads single fields out of the JSON that nats-server sends
 * (API replies, advisories). It looks for "key": anywhere in the text, skips
 * matches inside string values, and reads the value that follows.
 *
 * Not a JSON parser: it trusts the server's well-formed output and never
 * builds a tree. Inputs from elsewhere go through cnats's own parser.
 */
#include "jsb_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The position just after `"key":` (and spaces), or NULL. */
static const char *find_value(const char *json, size_t len, const char *key)
{
    size_t klen = strlen(key);
    const char *end = json + len;
    bool in_str = false;
    for (const char *p = json; p < end; p++) {
        if (in_str) {
            if (*p == '\\')
                p++;
            else if (*p == '"')
                in_str = false;
            continue;
        }
        if (*p != '"')
            continue;
        /* a string starts here: is it the key? */
        if ((size_t)(end - p) > klen + 1 && memcmp(p + 1, key, klen) == 0 && p[klen + 1] == '"') {
            const char *q = p + klen + 2;
            while (q < end && (*q == ' ' || *q == '\t'))
                q++;
            if (q < end && *q == ':') {
                q++;
                while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
                    q++;
                return q < end ? q : NULL;
            }
        }
        in_str = true;
    }
    return NULL;
}

bool jsb_json_i64(const char *json, size_t len, const char *key, int64_t *out)
{
    const char *v = find_value(json, len, key);
    if (!v || !(*v == '-' || (*v >= '0' && *v <= '9')))
        return false;
    char buf[32];
    size_t n = 0;
    while (v + n < json + len && n < sizeof buf - 1 && (v[n] == '-' || (v[n] >= '0' && v[n] <= '9')))
        n++;
    memcpy(buf, v, n);
    buf[n] = '\0';
    errno = 0;
    long long x = strtoll(buf, NULL, 10);
    if (errno)
        return false;
    *out = (int64_t)x;
    return true;
}

bool jsb_json_u64(const char *json, size_t len, const char *key, uint64_t *out)
{
    const char *v = find_value(json, len, key);
    if (!v || !(*v >= '0' && *v <= '9'))
        return false;
    char buf[32];
    size_t n = 0;
    while (v + n < json + len && n < sizeof buf - 1 && v[n] >= '0' && v[n] <= '9')
        n++;
    memcpy(buf, v, n);
    buf[n] = '\0';
    errno = 0;
    unsigned long long x = strtoull(buf, NULL, 10);
    if (errno)
        return false;
    *out = (uint64_t)x;
    return true;
}

bool jsb_json_str(const char *json, size_t len, const char *key, char *out, size_t cap)
{
    const char *v = find_value(json, len, key);
    const char *end = json + len;
    if (!v || *v != '"' || cap == 0)
        return false;
    size_t n = 0;
    for (const char *p = v + 1; p < end && *p != '"'; p++) {
        char c = *p;
        if (c == '\\' && p + 1 < end) {
            p++;
            switch (*p) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'u': /* \uXXXX: keep it visible rather than decode */
                c = '?';
                p += (end - p > 4) ? 4 : 0;
                break;
            default: c = *p; break;
            }
        }
        if (n + 1 < cap)
            out[n++] = c;
    }
    out[n] = '\0';
    return true;
}
