/* args.c — the argument helpers every jetsim command shares (args.h):
 * usage errors, numbers and option values, and the checks of --json and
 * --junit, --reports, where a scenario runs and --queue.
 *
 * Not: a command's own options (main.c, cmd_rundb.c, cmd_swarm.c).
 */
#include "args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ps_jetstream.h"

int cli_usage_error(const char *usage, const char *fmt, const char *arg)
{
    fputs("jetsim: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n\n", stderr);
    sim_usage_brief(usage);
    return 2;
}

int cli_is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

int cli_parse_u64(const char *s, unsigned long long lo, unsigned long long hi, unsigned long long *out)
{
    if (*s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

const char *cli_option_value(int argc, char **argv, int *i, const char *name, int *missing)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

int cli_ci_outputs_check(const sim_ci_outputs *o, const char *usage, const char *cmd)
{
    if (o->json && o->junit && strcmp(o->json, "-") == 0 && strcmp(o->junit, "-") == 0) {
        fprintf(stderr, "jetsim: %s: --json and --junit cannot both go to stdout\n\n", cmd);
        fputs(usage, stderr);
        return 2;
    }
    if (ci_to_stdout(o) && !ci_claim_stdout()) {
        fprintf(stderr, "jetsim: %s: cannot keep stdout for the document: %s\n", cmd, strerror(errno));
        return 2;
    }
    return 0;
}

int cli_output_dir(const char *dir, const char *cmd, const char *option)
{
    struct stat sb;
    if (!dir)
        return 0;
    if (stat(dir, &sb) != 0 && errno == ENOENT) {
        if (mkdir(dir, 0777) == 0)
            return 0;
        if (errno == ENOENT)
            fprintf(stderr, "jetsim %s: %s %s: cannot make it: its parent directory does not exist\n", cmd, option,
                    dir);
        else
            fprintf(stderr, "jetsim %s: %s %s: cannot make it: %s\n", cmd, option, dir, strerror(errno));
        return 2;
    }
    if (stat(dir, &sb) != 0) {
        fprintf(stderr, "jetsim %s: %s %s: %s\n", cmd, option, dir, strerror(errno));
        return 2;
    }
    if (!S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "jetsim %s: %s %s: not a directory\n", cmd, option, dir);
        return 2;
    }
    return 0;
}

int cli_where_option(int argc, char **argv, int *i, sim_where *w, const char *usage, const char *cmd)
{
    const char *a = argv[*i], *v, *cred_missing = NULL;
    int missing = 0, took = sim_credentials_option(argc, argv, i, &w->creds, &cred_missing);
    if (took != 0) {
        if (took < 0)
            cli_usage_error(usage, "option %s needs a value", cred_missing);
        return took;
    }
    if ((v = cli_option_value(argc, argv, i, "--namespace", &missing))) {
        w->ns = v; /* checked where the scenario is moved into it */
    } else if ((v = cli_option_value(argc, argv, i, "--backend", &missing))) {
        if (strcmp(v, "memory") != 0 && strcmp(v, "jetstream") != 0) {
            cli_usage_error(usage, "--backend wants memory or jetstream, not '%s'", v);
            return -1;
        }
        w->jetstream = strcmp(v, "jetstream") == 0;
    } else if ((v = cli_option_value(argc, argv, i, "--url", &missing))) {
        w->url = v;
    } else if (strcmp(a, "--spawn") == 0 || strncmp(a, "--spawn=", 8) == 0) {
        const char *mode = a[7] == '=' ? a + 8 : (*i + 1 < argc && argv[*i + 1][0] != '-' &&
                                                  (!strcmp(argv[*i + 1], "single") || !strcmp(argv[*i + 1], "cluster")))
                                                     ? argv[++*i] : "single";
        if (strcmp(mode, "single") != 0 && strcmp(mode, "cluster") != 0) {
            cli_usage_error(usage, "--spawn wants single or cluster, not '%s'", mode);
            return -1;
        }
        w->spawn = strcmp(mode, "cluster") == 0 ? 3 : 1;
    } else if ((v = cli_option_value(argc, argv, i, "--time-scale", &missing))) {
        char *end = NULL;
        double x = strtod(v, &end);
        if (!end || *end || !(x >= 1 && x <= 10000)) {
            cli_usage_error(usage, "--time-scale wants a number from 1 to 10000, not '%s'", v);
            return -1;
        }
        w->time_scale = x;
    } else if (missing) {
        cli_usage_error(usage, "option %s needs a value", a);
        return -1;
    } else {
        return 0;
    }
    (void)cmd;
    return 1;
}

int cli_where_check(sim_where *w, const char *usage)
{
    if (w->url && w->spawn)
        return cli_usage_error(usage, "%s", "give --url or --spawn, not both");
    if (w->url || w->spawn)
        w->jetstream = true;
    if (!w->time_scale)
        w->time_scale = 10;
    if (w->jetstream && !ps_jetstream_available())
        return cli_usage_error(usage, "%s", "this jetsim was built without libnats: no jetstream backend");
    const char *bad = sim_credentials_check(&w->creds);
    if (bad)
        return cli_usage_error(usage, "%s", bad);
    if (sim_credentials_any(&w->creds) && (w->spawn || !w->jetstream))
        return cli_usage_error(usage, "%s", "credentials and TLS options are for a server jetsim did not start "
                                        "(--url, or $NATS_URL with --backend jetstream)");
    if (sim_credentials_load(&w->creds) != PS_OK)
        return cli_usage_error(usage, "%s", ps_last_error());
    return 0;
}

int cli_queue_ready(sim_dist_options *d, sim_credentials *creds, const char *usage, const char *cmd)
{
    char why[300], msg[400];
    const char *bad = NULL;
    if (!sim_dist_urls_ok(d->url, why, sizeof why))
        snprintf(msg, sizeof msg, "%s: --queue: %s", cmd, why);
    else if ((bad = sim_credentials_check(creds)) != NULL)
        snprintf(msg, sizeof msg, "%s: %s", cmd, bad);
    else if (sim_credentials_load(creds) != PS_OK)
        snprintf(msg, sizeof msg, "%s: %s", cmd, ps_last_error());
    else {
        d->creds = creds;
        return 0;
    }
    return cli_usage_error(usage, "%s", msg);
}
