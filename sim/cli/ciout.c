/* ciout.c — JSON and JUnit XML writing for CI (see ciout.h). Escaping is
 * the whole job: violations quote SQL and scenario text, which may hold
 * quotes, angle brackets and control characters. */
#include "ciout.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static int kept_stdout = -1; /* the process's stdout, once ci_claim_stdout moved it */

bool ci_to_stdout(const sim_ci_outputs *o)
{
    return o && ((o->json && strcmp(o->json, "-") == 0) || (o->junit && strcmp(o->junit, "-") == 0));
}

bool ci_claim_stdout(void)
{
    fflush(stdout);
    kept_stdout = dup(STDOUT_FILENO);
    if (kept_stdout < 0)
        return false;
    if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        close(kept_stdout);
        kept_stdout = -1;
        return false;
    }
    return true;
}

FILE *ci_open(const char *path, const char *who)
{
    if (strcmp(path, "-") == 0 && kept_stdout < 0)
        return stdout;
    if (strcmp(path, "-") == 0) {
        int fd = dup(kept_stdout);
        FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
        if (!f) {
            fprintf(stderr, "%s: cannot write to stdout: %s\n", who, strerror(errno));
            if (fd >= 0)
                close(fd);
        }
        return f;
    }
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "%s: cannot write %s: %s\n", who, path, strerror(errno));
    return f;
}

bool ci_close(FILE *f, const char *path, const char *who)
{
    bool ok = fflush(f) == 0 && !ferror(f);
    if (f != stdout)
        ok = fclose(f) == 0 && ok;
    if (!ok)
        fprintf(stderr, "%s: writing %s failed\n", who, path);
    return ok;
}

void ci_json_string(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

void ci_xml(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\n': fputs("&#10;", f); break;
        case '\t': fputs("&#9;", f); break;
        default:
            if (*p >= 0x20) /* XML 1.0 allows no other control characters, escaped or not */
                fputc(*p, f);
        }
    }
}

void ci_junit_begin(FILE *f, const char *name, unsigned long long tests, unsigned long long failures,
                    unsigned long long errors, unsigned long long skipped, double seconds)
{
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"", f);
    ci_xml(f, name);
    fprintf(f, "\" tests=\"%llu\" failures=\"%llu\" errors=\"%llu\" skipped=\"%llu\" time=\"%.3f\">\n", tests,
            failures, errors, skipped, seconds);
}

void ci_junit_end(FILE *f)
{
    fputs("  </testsuite>\n</testsuites>\n", f);
}

void ci_junit_case(FILE *f, const char *classname, const char *name, const char *type, const char *failure,
                   const char *detail)
{
    fputs("    <testcase classname=\"", f);
    ci_xml(f, classname);
    fputs("\" name=\"", f);
    ci_xml(f, name);
    if (!failure) {
        fputs("\"/>\n", f);
        return;
    }
    fputs("\">\n      <failure type=\"", f);
    ci_xml(f, type);
    fputs("\" message=\"", f);
    ci_xml(f, failure);
    fputs("\">", f);
    ci_xml(f, detail ? detail : failure);
    fputs("</failure>\n    </testcase>\n", f);
}

void ci_junit_skip(FILE *f, const char *classname, const char *name, const char *why)
{
    fputs("    <testcase classname=\"", f);
    ci_xml(f, classname);
    fputs("\" name=\"", f);
    ci_xml(f, name);
    fputs("\">\n      <skipped message=\"", f);
    ci_xml(f, why);
    fputs("\"/>\n    </testcase>\n", f);
}
