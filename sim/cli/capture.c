/* capture.c — `jetsim capture` (capture.h).
 *
 * Not: the workload file format (workload.c).
 */
#include "capture.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "credentials.h"
#include "ps_jetstream.h"
#include "ps_msg.h"
#include "ps_url.h"
#include "report.h"
#include "ps_backend_impl.h"

/* Appends stored message m to out, its headers decoded, gap_ns after the
 * previous one kept. */
static ps_status capture_one(sim_workload *out, const char *stream, const ps_stored_msg *m, int64_t gap_ns)
{
    ps_headers *h = NULL;
    ps_status s = m->hdr && m->hdr_len ? ps_headers_decode(&h, m->hdr, m->hdr_len) : PS_OK;
    if (s)
        return ps_error(s, 0, "stream %s seq %" PRIu64 ": %s", stream, m->seq, ps_last_error());
    int nh = ps_headers_count(h);
    const char **names = calloc((size_t)nh + 1, sizeof *names), **values = calloc((size_t)nh + 1, sizeof *values);
    if (!names || !values)
        s = ps_error(PS_ERR_NO_MEMORY, 0, "capture: out of memory");
    for (int i = 0; !s && i < nh; i++) {
        names[i] = ps_headers_name_at(h, i);
        values[i] = ps_headers_value_at(h, i);
    }
    if (!s)
        s = sim_workload_add(out, gap_ns, m->subject, (uint32_t)m->len, nh, names, values);
    free(names);
    free(values);
    ps_headers_free(h);
    return s;
}

ps_status sim_capture(ps_backend *b, const char *stream, uint64_t max_msgs, sim_workload *out, uint64_t *first,
                      uint64_t *last)
{
    if (!b || !stream || !out || !first || !last)
        return ps_error(PS_ERR_INVALID_ARG, 0, "sim_capture: NULL argument");
    sim_workload w = {0};
    ps_stream_info info = {0};
    ps_status s = ps_stream_info_get(b, stream, &info);
    if (s)
        return s;
    uint64_t lo = info.state.first_seq, hi = info.state.last_seq;
    ps_stream_info_clear(&info);
    uint64_t first_seq = 0, last_seq = 0;
    int64_t prev_ts = 0;
    for (uint64_t seq = lo; seq && seq <= hi && !s && (!max_msgs || w.count < max_msgs); seq++) {
        ps_stored_msg m = {0};
        s = ps_msg_get(b, stream, seq, NULL, &m);
        if (s == PS_ERR_MSG_NOT_FOUND) { /* deleted, or removed meanwhile */
            s = PS_OK;
            continue;
        }
        if (s)
            break;
        /* the gap is to the previous message kept; a clock step back is 0 */
        int64_t gap = w.count && m.timestamp_ns > prev_ts ? m.timestamp_ns - prev_ts : 0;
        s = capture_one(&w, stream, &m, gap);
        prev_ts = m.timestamp_ns;
        first_seq = first_seq ? first_seq : seq;
        last_seq = seq;
        ps_stored_msg_clear(&m);
    }
    if (s) {
        sim_workload_free(&w);
        return s;
    }
    *out = w;
    *first = first_seq;
    *last = last_seq;
    return PS_OK;
}

static const char usage[] =
    "usage: jetsim capture STREAM [--url URL] [--out FILE] [--max N] [credentials]\n"
    "\n"
    "Reads the stream's stored messages, first to last sequence, one by one\n"
    "with the stream's message-get API ($JS.API.STREAM.MSG.GET: no consumer\n"
    "is created, nothing is acknowledged or removed), and\n"
    "writes a workload file: per message its gap to the previous one (from\n"
    "the stored timestamps), subject, payload size and headers, not the\n"
    "payload. A scenario replays it with\n"
    "    replay FILE [rate=N/s] [count=N] [transform=SRC=>DST] ...\n"
    "on the model or on a real server (see sim/workload.h for the format).\n"
    "\n"
    "options:\n"
    "  --url URL   the server (default $NATS_URL, else nats://127.0.0.1:4222)\n"
    "  --out FILE  where to write (default: standard output)\n"
    "  --max N     at most N messages (default: all)\n"
    "  --help      show this help\n"
    "\n"
    "credentials:\n"
    SIM_CREDENTIALS_HELP
    "\n"
    "exit codes: 0 written, 2 bad input (usage, no such stream, a credential\n"
    "            file that cannot be read, an output file that cannot be\n"
    "            written), 4 harness error (no server answered, a read\n"
    "            failed); 1, 3 and 130 are not used by capture\n"
    SIM_SEE_ALSO_HELP;

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "jetsim capture: ");
    fprintf(stderr, msg, arg);
    fputs("\n\n", stderr);
    sim_usage_brief(usage);
    return 2;
}

int sim_capture_main(int argc, char **argv)
{
    const char *stream = NULL, *url = NULL, *path = NULL, *cred_missing = NULL;
    uint64_t max = 0;
    sim_credentials creds = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int took;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if ((took = sim_credentials_option(argc, argv, &i, &creds, &cred_missing)) != 0) {
            if (took < 0)
                return usage_error("option %s needs a value", cred_missing);
        } else if (!strcmp(a, "--url") || !strcmp(a, "--out") || !strcmp(a, "--max")) {
            if (i + 1 >= argc)
                return usage_error("option %s needs a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "--url"))
                url = v;
            else if (!strcmp(a, "--out"))
                path = v;
            else {
                char *end = NULL;
                errno = 0;
                unsigned long long n = strtoull(v, &end, 10);
                if (errno || !end || *end || v[0] < '0' || v[0] > '9' || n == 0)
                    return usage_error("--max wants a positive number, not '%s'", v);
                max = n;
            }
        } else if (a[0] == '-') {
            return usage_error("unknown option '%s'", a);
        } else if (stream) {
            return usage_error("unexpected argument '%s'", a);
        } else {
            stream = a;
        }
    }
    if (!stream)
        return usage_error("%s", "no stream given");
    const char *bad = sim_credentials_check(&creds);
    if (bad)
        return usage_error("%s", bad);
    if (sim_credentials_load(&creds) != PS_OK) {
        fprintf(stderr, "jetsim capture: %s\n", ps_last_error());
        return SIM_EXIT_USAGE;
    }
    if (!url)
        url = getenv("NATS_URL") && *getenv("NATS_URL") ? getenv("NATS_URL") : "nats://127.0.0.1:4222";
    char shown[400]; /* the URL as it may be printed and written: no password, no token */
    ps_url_redact(shown, sizeof shown, url);
    const char *urls[] = {url};
    ps_jetstream_options o = {.urls = urls, .urls_len = 1, .client_name = "jetsim-capture", .reconnect_attempts = 1};
    sim_credentials_apply(&creds, &o);
    ps_backend *b = NULL;
    ps_status s = ps_jetstream_new(&b, &o);
    sim_credentials_free(&creds);
    if (s) {
        fprintf(stderr, "jetsim capture: harness error: %s\n", ps_last_error()); /* it names the server */
        return SIM_EXIT_HARNESS;
    }
    sim_workload w;
    uint64_t first = 0, last = 0;
    s = sim_capture(b, stream, max, &w, &first, &last);
    ps_error_saved why; /* closing the connection must not wipe the reason */
    ps_error_save(&why);
    ps_backend_close(b);
    ps_error_restore(&why);
    if (s) {
        fprintf(stderr, "jetsim capture: %sstream %s: %s\n", s == PS_ERR_STREAM_NOT_FOUND ? "" : "harness error: ",
                stream, ps_last_error());
        return s == PS_ERR_STREAM_NOT_FOUND ? SIM_EXIT_USAGE : SIM_EXIT_HARNESS;
    }
    FILE *f = path ? fopen(path, "w") : stdout;
    if (!f) {
        sim_workload_free(&w);
        fprintf(stderr, "jetsim capture: cannot write %s: %s\n", path, strerror(errno));
        return SIM_EXIT_USAGE;
    }
    char head[512], when[32];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    snprintf(head, sizeof head, "jetsim workload v1: captured from stream %s at %s on %s", stream, shown, when);
    s = sim_workload_write(&w, f, head);
    double span = 0;
    for (size_t i = 0; i < w.count; i++)
        span += (double)w.msgs[i].gap_ns / 1e9;
    if (path && fclose(f) != 0)
        s = ps_error(PS_ERR_IO, 0, "cannot write %s", path);
    if (!s)
        fprintf(stderr, "captured %zu messages from %s (seq %" PRIu64 "..%" PRIu64 ") over %.3f s into %s\n", w.count,
                stream, first, last, span, path ? path : "standard output");
    else
        fprintf(stderr, "jetsim capture: %s\n", ps_last_error());
    sim_workload_free(&w);
    return s ? SIM_EXIT_USAGE : 0; /* the file could not be written */
}
