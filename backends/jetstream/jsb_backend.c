/* jsb_backend.c — the JetStream backend's connection and boundary: the
 * constructor (options to natsOptions), the ops table, the translation of
 * cnats statuses and JetStream err_codes into jetsim statuses, advisories,
 * and the raw API request used where cnats hides part of a reply.
 *
 * Not here: streams (jsb_stream.c), publishing (jsb_publish.c), consumers,
 * fetch and acks (jsb_consumer.c).
 */
#include "jsb_internal.h"
#include "ps_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSB_DEFAULT_URL "nats://127.0.0.1:4222"
#define JSB_DEFAULT_TIMEOUT_MS 5000

/* ---- the boundary --------------------------------------------------------------- */

ps_status jsb_status_for_code(int err_code, const char *description)
{
    switch (err_code) {
    case 10059: return PS_ERR_STREAM_NOT_FOUND;
    case 10014: return PS_ERR_CONSUMER_NOT_FOUND;
    case 10037: case 10043: return PS_ERR_MSG_NOT_FOUND;
    case 10057: /* "msg delete failed": a missing seq on file storage, or DenyDelete */
        return description && strstr(description, "not permitted") ? PS_ERR_NOT_PERMITTED
                                                                   : PS_ERR_MSG_NOT_FOUND;
    case 10058: return PS_ERR_STREAM_NAME_IN_USE;
    case 10065: return PS_ERR_STREAM_SUBJECT_OVERLAP;
    case 10109: return PS_ERR_STREAM_SEALED;
    case 10110: return PS_ERR_NOT_PERMITTED;
    case 10026: return PS_ERR_MAX_CONSUMERS;
    case 10060: return PS_ERR_WRONG_EXPECTED_STREAM;
    case 10071: return PS_ERR_WRONG_LAST_SEQUENCE;
    case 10070: return PS_ERR_WRONG_LAST_MSG_ID;
    case 10054: case 10097: return PS_ERR_MSG_TOO_LARGE;
    case 10077: return PS_ERR_STORE_FAILED;
    case 10003: return PS_ERR_BAD_REQUEST;
    case 10008: return PS_ERR_UNAVAILABLE;
    case 10076: return PS_ERR_NO_RESPONDERS;
    case 10052: case 10074: case 10128: case 10133: case 10025: case 10050: case 10051:
    case 10053: case 10056: case 10063: case 10064: case 10066: case 10067: case 10068:
    case 10069: case 10114: case 10115: case 10136:
        return PS_ERR_STREAM_CONFIG;
    case 10012: case 10084: case 10093: case 10094: case 10098: case 10099: case 10100:
    case 10101: case 10116: case 10013: case 10102: case 10103: case 10127: case 10104:
    case 10105: case 10106: case 10107: case 10108: case 10111: case 10112: case 10113:
    case 10125: case 10126: case 10129: case 10130: case 10131: case 10132: case 10134:
    case 10135: case 10137: case 10138: case 10139: case 10140: case 10141: case 10142:
    case 10143: case 10144: case 10145: case 10146: case 10147: case 10148: case 10149:
    case 10150: case 10151: case 10152: case 10153: case 10154: case 10155: case 10156:
    case 10157: case 10158: case 10159: case 10160: case 10161: case 10162:
        return PS_ERR_CONSUMER_CONFIG;
    default:
        return PS_ERR_INTERNAL;
    }
}

static ps_status status_for_nats(natsStatus ns)
{
    switch (ns) {
    case NATS_TIMEOUT: return PS_ERR_TIMEOUT;
    case NATS_NO_RESPONDERS: return PS_ERR_NO_RESPONDERS;
    case NATS_INVALID_ARG: case NATS_INVALID_SUBJECT: return PS_ERR_INVALID_ARG;
    case NATS_NO_MEMORY: return PS_ERR_NO_MEMORY;
    case NATS_MAX_PAYLOAD: return PS_ERR_MAX_PAYLOAD;
    case NATS_CONNECTION_CLOSED: return PS_ERR_CLOSED;
    case NATS_NOT_FOUND: return PS_ERR_MSG_NOT_FOUND;
    default: return PS_ERR_IO;
    }
}

/* The description the server gives for a not-found cnats reports without
 * one (cnats then leaves an older error text in place). */
static const char *not_found_text(int code)
{
    switch (code) {
    case 10059: return "stream not found";
    case 10014: return "consumer not found";
    case 10037: return "no message found";
    default: return "not found";
    }
}

/* cnats prefixes its last error with "(file.c:123): "; the server's words
 * are what a user needs. */
static const char *strip_location(const char *text)
{
    if (text[0] != '(')
        return text;
    const char *end = strstr(text, "): ");
    return end ? end + 3 : text;
}

ps_status jsb_fail(natsStatus ns, jsErrCode jerr, const char *what)
{
    /* cnats leaves its last error text alone for a timeout or no
     * responders: an older failure's words would be reported. */
    const char *text = ns == NATS_TIMEOUT || ns == NATS_NO_RESPONDERS ? NULL : nats_GetLastError(NULL);
    if (!text || !*text)
        text = natsStatus_GetText(ns);
    text = strip_location(text);
    if (ns == NATS_NOT_FOUND)
        text = not_found_text((int)jerr);
    ps_status s;
    int code = (int)jerr;
    if (ns == NATS_NO_RESPONDERS) {
        s = PS_ERR_NO_RESPONDERS;
        code = 10076; /* cnats labels no-responders "JetStream not enabled" */
    } else if (code != 0) {
        s = jsb_status_for_code(code, text);
    } else {
        s = status_for_nats(ns);
    }
    ps_error(s, code, "%s: %s", what, text);
    ps_error_set_native((int)ns);
    return s;
}

ps_status jsb_fail_nf(natsStatus ns, jsErrCode jerr, int not_found_code, const char *what)
{
    return jsb_fail(ns, ns == NATS_NOT_FOUND && jerr == 0 ? (jsErrCode)not_found_code : jerr, what);
}

ps_status jsb_check_json_safe(const char *what, const char *text)
{
    for (const char *p = text; p && *p; p++)
        if (*p == '"' || (unsigned char)*p < 0x20)
            return ps_error(PS_ERR_INVALID_ARG, 0,
                            "%s \"%s\" contains a quote or a control character, which cnats would "
                            "send unescaped into the server's JSON", what, text);
    return PS_OK;
}

ps_status jsb_check_backslash(const char *name, bool durable)
{
    if (!name || !strchr(name, '\\'))
        return PS_OK;
    if (durable)
        return ps_error(PS_ERR_CONSUMER_CONFIG, 10127,
                        "consumer add: Consumer name can not contain path separators");
    return ps_error(PS_ERR_STREAM_CONFIG, 10128, "stream add: Stream name can not contain path separators");
}

/* ---- raw API requests -------------------------------------------------------------- */

ps_status jsb_api(jsb_backend *jb, const char *subject, const char *body, natsMsg **reply,
                  const char *what)
{
    natsMsg *r = NULL;
    natsStatus ns = natsConnection_RequestString(&r, jb->nc, subject, body, jb->timeout_ms);
    if (ns != NATS_OK)
        return jsb_fail(ns, 0, what);
    const char *json = natsMsg_GetData(r);
    size_t len = (size_t)natsMsg_GetDataLength(r);
    int64_t code = 0;
    if (json && jsb_json_i64(json, len, "err_code", &code)) {
        char desc[256] = "";
        jsb_json_str(json, len, "description", desc, sizeof desc);
        ps_status s = jsb_status_for_code((int)code, desc);
        ps_error(s, (int)code, "%s: %s", what, desc);
        ps_error_set_native((int)NATS_ERR);
        natsMsg_Destroy(r);
        return s;
    }
    *reply = r;
    return PS_OK;
}

/* ---- headers ------------------------------------------------------------------------- */

ps_status jsb_headers_encode(natsMsg *m, char **out, size_t *len)
{
    const char **keys = NULL;
    int nkeys = 0;
    *out = NULL;
    *len = 0;
    if (natsMsgHeader_Keys(m, &keys, &nkeys) != NATS_OK || nkeys == 0) {
        free((void *)keys);
        return PS_OK;
    }
    size_t need = sizeof "NATS/1.0\r\n" + 2;
    for (int i = 0; i < nkeys; i++) {
        const char **vals = NULL;
        int nv = 0;
        if (natsMsgHeader_Values(m, keys[i], &vals, &nv) == NATS_OK)
            for (int j = 0; j < nv; j++)
                need += strlen(keys[i]) + strlen(vals[j]) + 4;
        free((void *)vals);
    }
    char *buf = malloc(need);
    if (!buf) {
        free((void *)keys);
        return ps_error(PS_ERR_NO_MEMORY, 0, "headers: out of memory");
    }
    size_t n = (size_t)sprintf(buf, "NATS/1.0\r\n");
    for (int i = 0; i < nkeys; i++) {
        const char **vals = NULL;
        int nv = 0;
        if (natsMsgHeader_Values(m, keys[i], &vals, &nv) == NATS_OK)
            for (int j = 0; j < nv; j++)
                n += (size_t)sprintf(buf + n, "%s: %s\r\n", keys[i], vals[j]);
        free((void *)vals);
    }
    n += (size_t)sprintf(buf + n, "\r\n");
    free((void *)keys);
    *out = buf;
    *len = n;
    return PS_OK;
}

/* ---- advisories (JS 11) ----------------------------------------------------------------- */

static const struct {
    const char *prefix; /* after $JS.EVENT.ADVISORY. */
    ps_advisory_kind kind;
} adv_kinds[] = {
    {"CONSUMER.MAX_DELIVERIES.", PS_ADV_MAX_DELIVERIES},
    {"CONSUMER.MSG_NAKED.", PS_ADV_MSG_NAKED},
    {"CONSUMER.MSG_TERMINATED.", PS_ADV_MSG_TERMINATED},
    {"CONSUMER.CREATED.", PS_ADV_CONSUMER_CREATED},
    {"CONSUMER.DELETED.", PS_ADV_CONSUMER_DELETED},
    {"STREAM.CREATED.", PS_ADV_STREAM_CREATED},
    {"STREAM.UPDATED.", PS_ADV_STREAM_UPDATED},
    {"STREAM.DELETED.", PS_ADV_STREAM_DELETED},
};

static void emit_advisory(jsb_backend *jb, natsMsg *m)
{
    const char *subj = natsMsg_GetSubject(m);
    const char *json = natsMsg_GetData(m);
    size_t len = (size_t)natsMsg_GetDataLength(m);
    const char *rest = subj + strlen("$JS.EVENT.ADVISORY.");
    char type[96] = "", stream[PS_NAME_MAX_BUF] = "", consumer[PS_NAME_MAX_BUF] = "";
    ps_advisory a = {.kind = PS_ADV_OTHER, .subject = subj, .type = type, .json = json ? json : ""};
    for (size_t i = 0; i < sizeof adv_kinds / sizeof adv_kinds[0]; i++)
        if (strncmp(rest, adv_kinds[i].prefix, strlen(adv_kinds[i].prefix)) == 0)
            a.kind = adv_kinds[i].kind;
    if (json) {
        jsb_json_str(json, len, "type", type, sizeof type);
        if (jsb_json_str(json, len, "stream", stream, sizeof stream))
            a.stream = stream;
        if (jsb_json_str(json, len, "consumer", consumer, sizeof consumer))
            a.consumer = consumer;
        jsb_json_u64(json, len, "stream_seq", &a.stream_seq);
        jsb_json_u64(json, len, "consumer_seq", &a.consumer_seq);
        jsb_json_u64(json, len, "deliveries", &a.deliveries);
    }
    a.timestamp_ns = natsMsg_GetTime(m);
    ps_backend_emit_advisory(&jb->base, &a);
}

void jsb_drain_advisories(jsb_backend *jb)
{
    if (!jb->adv_sub)
        return;
    /* one deliverer at a time: the handler is never called concurrently */
    if (pthread_mutex_trylock(&jb->adv_lock) != 0)
        return;
    for (;;) {
        int pending = 0;
        if (natsSubscription_GetPending(jb->adv_sub, &pending, NULL) != NATS_OK || pending <= 0)
            break;
        natsMsg *m = NULL;
        if (natsSubscription_NextMsg(&m, jb->adv_sub, 1) != NATS_OK)
            break;
        if (jb->base.advisory_fn)
            emit_advisory(jb, m);
        natsMsg_Destroy(m);
    }
    pthread_mutex_unlock(&jb->adv_lock);
}

static ps_status jsb_tick(ps_backend *b)
{
    jsb_drain_advisories((jsb_backend *)b);
    return PS_OK;
}

/* ---- lifetime ------------------------------------------------------------------------------ */

static void jsb_close(ps_backend *b)
{
    jsb_backend *jb = (jsb_backend *)b;
    if (!jb)
        return;
    /* Async publishes still in flight: wait for them briefly, forget the
     * rest, and wait for a PubAck handler that is running; only then can
     * the bookkeeping go (cnats does not wait for its handler on close). */
    if (jb->js && jb->async)
        jsb_async_quiesce(jb);
    if (jb->nc)
        natsConnection_Close(jb->nc);
    natsSubscription_Destroy(jb->adv_sub);
    jsCtx_Destroy(jb->js);
    natsConnection_Destroy(jb->nc);
    jsb_async_free(jb);
    pthread_mutex_destroy(&jb->adv_lock);
    free(jb);
}

static const ps_backend_ops jsb_ops = {
    .version = 3,
    .name = "jetstream",
    .stream_add = jsb_stream_add,
    .stream_update = jsb_stream_update,
    .stream_info = jsb_stream_info,
    .stream_delete = jsb_stream_delete,
    .stream_purge = jsb_stream_purge,
    .msg_get = jsb_msg_get,
    .msg_delete = jsb_msg_delete,
    .publish = jsb_publish,
    .consumer_add = jsb_consumer_add,
    .consumer_bind = jsb_consumer_bind,
    .consumer_info = jsb_consumer_info,
    .consumer_delete = jsb_consumer_delete,
    .consumer_free = jsb_consumer_free,
    .fetch = jsb_fetch,
    .ack = jsb_ack,
    .close = jsb_close,
    .next_deadline = NULL, /* a real server keeps its own time */
    .tick = jsb_tick,
    .restart = NULL,       /* restarting a server is the scripts' job (ci/) */
    .publish_async = jsb_publish_async,
    .publish_async_complete = jsb_publish_async_complete,
    .pull_start = jsb_pull_start,
    .pull_poll = jsb_pull_poll,
    .pull_free = jsb_pull_free,
};

static ps_status check_options(const ps_jetstream_options *o)
{
    int auth = (o->user || o->password) + (o->token != NULL) + (o->creds_file != NULL);
    if (auth > 1)
        return ps_error(PS_ERR_INVALID_ARG, 0,
                        "ps_jetstream_new: use at most one of user/password, token and creds_file");
    if (o->password && !o->user)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_jetstream_new: password without user");
    if ((o->tls_cert_file != NULL) != (o->tls_key_file != NULL))
        return ps_error(PS_ERR_INVALID_ARG, 0,
                        "ps_jetstream_new: tls_cert_file and tls_key_file go together");
    if (o->urls_len < 0 || (o->urls_len > 0 && !o->urls))
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_jetstream_new: urls_len %d without urls",
                        o->urls_len);
    for (int i = 0; i < o->urls_len; i++)
        if (!o->urls[i] || !*o->urls[i])
            return ps_error(PS_ERR_INVALID_ARG, 0, "ps_jetstream_new: urls[%d] is empty", i);
    if (o->reconnect_attempts < -1 || o->reconnect_wait_ms < 0 || o->request_timeout_ms < 0)
        return ps_error(PS_ERR_INVALID_ARG, 0,
                        "ps_jetstream_new: reconnect_attempts >= -1, reconnect_wait_ms and "
                        "request_timeout_ms >= 0");
    return PS_OK;
}

/* Splits every entry at commas into one list of trimmed URLs (*buf holds
 * the strings, *list points into it; free both). Returns the count, 0 when
 * nothing but separators was given, -1 when out of memory. */
static int split_urls(const char *const *urls, int len, char **buf, const char ***list)
{
    size_t total = 1;
    int max = 1;
    for (int i = 0; i < len; i++) {
        total += strlen(urls[i]) + 1;
        for (const char *p = urls[i]; *p; p++)
            max += *p == ',' || *p == ' ' || *p == '\t';
        max++;
    }
    char *b = malloc(total);
    const char **l = malloc((size_t)max * sizeof *l);
    if (!b || !l) {
        free(b);
        free(l);
        return -1;
    }
    char *w = b;
    int n = 0;
    for (int i = 0; i < len; i++) {
        strcpy(w, urls[i]);
        char *save = NULL;
        for (char *tok = strtok_r(w, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save))
            l[n++] = tok;
        w += strlen(urls[i]) + 1;
    }
    *buf = b;
    *list = l;
    return n;
}

/* Applies the options to a natsOptions; returns the failing cnats status. */
static natsStatus set_options(natsOptions *no, const ps_jetstream_options *o, const char **what)
{
    natsStatus ns = NATS_OK;
    const char *env = getenv("NATS_URL");
    const char *def = env && *env ? env : JSB_DEFAULT_URL;
#define TRY(call, label) do { if (ns == NATS_OK) { *what = label; ns = (call); } } while (0)
    /* Any entry may be a comma-separated list, as NATS_URL often is
     * ("nats://a:4222,nats://b:4222"); cnats takes one URL per entry. */
    char *buf = NULL;
    const char **list = NULL;
    int n = split_urls(o->urls_len > 0 ? o->urls : &def, o->urls_len > 0 ? o->urls_len : 1, &buf, &list);
    if (n <= 0)
        ns = n < 0 ? NATS_NO_MEMORY : NATS_INVALID_ARG;
    TRY(natsOptions_SetServers(no, list, n), "server urls");
    free(list);
    free(buf);
    if (o->client_name)
        TRY(natsOptions_SetName(no, o->client_name), "client name");
    if (o->user)
        TRY(natsOptions_SetUserInfo(no, o->user, o->password), "user/password");
    if (o->token)
        TRY(natsOptions_SetToken(no, o->token), "token");
    if (o->creds_file)
        TRY(natsOptions_SetUserCredentialsFromFiles(no, o->creds_file, NULL), "creds file");
    if (o->tls_ca_file || o->tls_cert_file) {
        TRY(natsOptions_SetSecure(no, true), "tls");
        if (o->tls_ca_file)
            TRY(natsOptions_LoadCATrustedCertificates(no, o->tls_ca_file), "tls ca file");
        if (o->tls_cert_file)
            TRY(natsOptions_LoadCertificatesChain(no, o->tls_cert_file, o->tls_key_file),
                "tls certificate/key");
    }
    if (o->reconnect_attempts != 0)
        TRY(natsOptions_SetMaxReconnect(no, o->reconnect_attempts), "reconnect attempts");
    if (o->reconnect_wait_ms > 0)
        TRY(natsOptions_SetReconnectWait(no, o->reconnect_wait_ms), "reconnect wait");
    /* Buffer publishes made while reconnecting (8 MiB), as cnats does by
     * default; a lost PubAck then shows up as a timeout, never as silence. */
    TRY(natsOptions_SetReconnectBufSize(no, 8 * 1024 * 1024), "reconnect buffer");
    TRY(natsOptions_SetMaxPendingMsgs(no, 1 << 20), "pending limit");
#undef TRY
    return ns;
}

/* Masks in `msg` (in place) every piece of `url` that its redacted form
 * hides: cnats quotes what it could not parse ("invalid port 's3cret'" for
 * nats://alice:s3cret, a URL with no host), and its words must not carry
 * a password the URL's own redaction hid. */
static void scrub_url(char *msg, size_t cap, const char *url)
{
    if (!url || !*url)
        return;
    char shown[512], copy[512];
    ps_url_redact(shown, sizeof shown, url);
    snprintf(copy, sizeof copy, "%s", url);
    for (char *save = NULL, *tok = strtok_r(copy, ":/@,[]", &save); tok; tok = strtok_r(NULL, ":/@,[]", &save)) {
        if (strstr(shown, tok))
            continue; /* shown anyway: not a secret */
        for (char *at; (at = strstr(msg, tok)) != NULL;) {
            size_t tl = strlen(tok), rest = strlen(at + tl);
            if ((size_t)(at - msg) + 3 + rest + 1 > cap)
                break;
            memmove(at + 3, at + tl, rest + 1);
            memcpy(at, "***", 3);
        }
    }
}

/* The last error again, with every URL's hidden parts masked. */
static ps_status scrubbed(const ps_jetstream_options *o, const char *env_url)
{
    ps_status s = ps_last_status();
    int code = ps_last_error_code(), native = ps_last_native_code();
    char text[1024];
    snprintf(text, sizeof text, "%s", ps_last_error());
    for (int i = 0; i < o->urls_len; i++)
        scrub_url(text, sizeof text, o->urls[i]);
    scrub_url(text, sizeof text, env_url);
    ps_error(s, code, "%s", text);
    ps_error_set_native(native);
    return s;
}

static ps_status connect_js(jsb_backend *jb, const ps_jetstream_options *o)
{
    natsOptions *no = NULL;
    const char *what = "options";
    natsStatus ns = natsOptions_Create(&no);
    if (ns == NATS_OK)
        ns = set_options(no, o, &what);
    if (ns != NATS_OK) {
        natsOptions_Destroy(no);
        jsb_fail(ns, 0, what);
        return scrubbed(o, getenv("NATS_URL"));
    }
    ns = natsConnection_Connect(&jb->nc, no);
    natsOptions_Destroy(no);
    if (ns != NATS_OK) {
        /* Name the servers: "no server available" alone does not say which. */
        char where[512], shown[400];
        const char *env = getenv("NATS_URL");
        const char *url = o->urls_len > 0 ? o->urls[0] : env && *env ? env : JSB_DEFAULT_URL;
        ps_url_redact(shown, sizeof shown, url); /* never print a password or token */
        snprintf(where, sizeof where, "connect to %s", shown);
        if (o->urls_len > 1)
            snprintf(where + strlen(where), sizeof where - strlen(where), " (and %d more)", o->urls_len - 1);
        ps_status s = jsb_fail(ns, 0, where);
        if (s != PS_ERR_INVALID_ARG && s != PS_ERR_IO) {
            char text[768];
            snprintf(text, sizeof text, "%s", ps_last_error());
            ps_error(PS_ERR_IO, 0, "%s", text);
            ps_error_set_native((int)ns);
        }
        return scrubbed(o, env);
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = jb->timeout_ms;
    ps_status s = jsb_async_init(jb, &jo);
    if (s != PS_OK)
        return s;
    ns = natsConnection_JetStream(&jb->js, jb->nc, &jo);
    if (ns != NATS_OK)
        return jsb_fail(ns, 0, "jetstream context");
    /* JetStream enabled? The account info request answers only if so. */
    jsAccountInfo *ai = NULL;
    jsErrCode jerr = 0;
    ns = js_GetAccountInfo(&ai, jb->js, NULL, &jerr);
    if (ns != NATS_OK) {
        const char *why = ns == NATS_ERR && nats_GetLastError(NULL) ? nats_GetLastError(NULL)
                                                                     : natsStatus_GetText(ns);
        ps_error(PS_ERR_UNAVAILABLE, (int)jerr,
                 "the server does not answer JetStream requests (is it started with -js?): %s",
                 strip_location(why));
        ps_error_set_native((int)ns);
        return PS_ERR_UNAVAILABLE;
    }
    jsAccountInfo_Destroy(ai);
    ns = natsConnection_SubscribeSync(&jb->adv_sub, jb->nc, "$JS.EVENT.ADVISORY.>");
    if (ns == NATS_OK)
        /* advisories nobody drains are dropped beyond this, not hoarded */
        ns = natsSubscription_SetPendingLimits(jb->adv_sub, 10000, 16 * 1024 * 1024);
    if (ns == NATS_OK)
        ns = natsConnection_Flush(jb->nc);
    return ns == NATS_OK ? PS_OK : jsb_fail(ns, 0, "advisory subscription");
}

ps_status ps_jetstream_new(ps_backend **out, const ps_jetstream_options *opts)
{
    static const ps_jetstream_options none = {0};
    ps_error_clear();
    if (!out)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_jetstream_new: out is NULL");
    const ps_jetstream_options *o = opts ? opts : &none;
    ps_status s = check_options(o);
    if (s != PS_OK)
        return s;
    jsb_backend *jb = calloc(1, sizeof *jb);
    if (!jb)
        return ps_error(PS_ERR_NO_MEMORY, 0, "ps_jetstream_new: out of memory");
    jb->base.ops = &jsb_ops;
    pthread_mutex_init(&jb->adv_lock, NULL);
    jb->timeout_ms = o->request_timeout_ms > 0 ? o->request_timeout_ms : JSB_DEFAULT_TIMEOUT_MS;
    s = connect_js(jb, o);
    if (s != PS_OK) {
        jsb_close(&jb->base);
        return s;
    }
    *out = &jb->base;
    return PS_OK;
}

bool ps_jetstream_available(void)
{
    return true;
}
