/* credentials.c — authentication and TLS options of the CLI, with the
 * secrets read from files (credentials.h).
 */
#include "credentials.h"
#include "ps_backend_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET_MAX 4096

int sim_credentials_option(int argc, char **argv, int *i, sim_credentials *c, const char **missing)
{
    static const char *const names[] = {"--creds", "--user", "--password-file", "--token-file",
                                        "--tls-ca", "--tls-cert", "--tls-key"};
    const char **slots[] = {&c->creds_file, &c->user, &c->password_file, &c->token_file,
                            &c->tls_ca_file, &c->tls_cert_file, &c->tls_key_file};
    const char *a = argv[*i];
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        size_t n = strlen(names[k]);
        if (strncmp(a, names[k], n) != 0 || (a[n] != '\0' && a[n] != '='))
            continue;
        if (a[n] == '=') {
            *slots[k] = a + n + 1;
        } else if (*i + 1 < argc) {
            *slots[k] = argv[++*i];
        } else {
            *missing = names[k];
            return -1;
        }
        return 1;
    }
    return 0;
}

bool sim_credentials_any(const sim_credentials *c)
{
    return c && (c->user || c->password_file || c->token_file || c->creds_file || c->tls_ca_file ||
                 c->tls_cert_file || c->tls_key_file);
}

const char *sim_credentials_check(const sim_credentials *c)
{
    if ((c->user != NULL) + (c->token_file != NULL) + (c->creds_file != NULL) > 1)
        return "give one of --user, --token-file and --creds";
    if ((c->user != NULL) != (c->password_file != NULL))
        return "--user and --password-file go together";
    if ((c->tls_cert_file != NULL) != (c->tls_key_file != NULL))
        return "--tls-cert and --tls-key go together";
    return NULL;
}

/* The file's content without its final line break, in a new string. */
static ps_status read_secret(const char *path, const char *what, char **out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s %s: cannot open: %s", what, path, strerror(errno));
    char *buf = malloc(SECRET_MAX + 2);
    if (!buf) {
        fclose(f);
        return ps_error(PS_ERR_NO_MEMORY, 0, "%s: out of memory", what);
    }
    size_t n = fread(buf, 1, SECRET_MAX + 1, f);
    int err = ferror(f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    const char *why = err ? "cannot read it" : n > SECRET_MAX ? "longer than 4096 bytes"
                    : n == 0 ? "it is empty" : memchr(buf, '\0', n) ? "it holds a NUL byte" : NULL;
    if (why) {
        explicit_bzero(buf, SECRET_MAX + 2);
        free(buf);
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s %s: %s", what, path, why);
    }
    buf[n] = '\0';
    *out = buf;
    return PS_OK;
}

ps_status sim_credentials_load(sim_credentials *c)
{
    ps_status s = PS_OK;
    if (c->password_file && !c->password)
        s = read_secret(c->password_file, "--password-file", &c->password);
    if (!s && c->token_file && !c->token)
        s = read_secret(c->token_file, "--token-file", &c->token);
    return s;
}

void sim_credentials_apply(const sim_credentials *c, ps_jetstream_options *o)
{
    if (!c)
        return;
    o->user = c->user;
    o->password = c->password;
    o->token = c->token;
    o->creds_file = c->creds_file;
    o->tls_ca_file = c->tls_ca_file;
    o->tls_cert_file = c->tls_cert_file;
    o->tls_key_file = c->tls_key_file;
}

static void wipe(char **p)
{
    if (*p) {
        explicit_bzero(*p, strlen(*p)); /* not left in freed memory */
        free(*p);
        *p = NULL;
    }
}

void sim_credentials_free(sim_credentials *c)
{
    if (!c)
        return;
    wipe(&c->password);
    wipe(&c->token);
}
