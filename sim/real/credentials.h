/* credentials.h — how `jetsim run`, `diff` and `capture` authenticate to a
 * server without a secret on the command line: --creds FILE, --user NAME
 * with --password-file FILE, --token-file FILE, and TLS with --tls-ca FILE
 * and --tls-cert FILE --tls-key FILE. A process listing shows file names
 * only; the secrets are read from the files and handed to the JetStream
 * backend (ps_jetstream_options), never printed or recorded.
 *
 * Not: redaction of a secret given in a URL anyway (core/ps_url.h).
 */
#ifndef SIM_CREDENTIALS_H
#define SIM_CREDENTIALS_H

#include <stdbool.h>

#include "ps_jetstream.h"

typedef struct sim_credentials {
    /* as given on the command line (borrowed from argv) */
    const char *user, *password_file, *token_file, *creds_file;
    const char *tls_ca_file, *tls_cert_file, *tls_key_file;
    /* read from the files by sim_credentials_load (owned; wiped on free) */
    char *password, *token;
} sim_credentials;

/* Help text listing the options, for a command's usage (a literal, so it
 * joins the usage text at compile time). */
#define SIM_CREDENTIALS_HELP \
    "  --creds FILE      a .creds file (user JWT and nkey seed)\n" \
    "  --user NAME --password-file FILE   user and password (the password\n" \
    "                    is read from FILE, so it is not in the process list)\n" \
    "  --token-file FILE an authentication token, read from FILE\n" \
    "  --tls-ca FILE     verify the server's TLS certificate with this CA\n" \
    "  --tls-cert FILE --tls-key FILE   a client certificate (mutual TLS)\n" \
    "  A password or token in the URL works too, but shows in the process\n" \
    "  list; jetsim prints and records every URL as nats://user:***@host:port.\n"

/* Takes argv[*i] if it is one of the options above ("--opt VALUE" or
 * "--opt=VALUE"; *i advances past the value). Returns 1 taken, 0 not one
 * of these, -1 when its value is missing (then *missing names the option). */
int sim_credentials_option(int argc, char **argv, int *i, sim_credentials *c, const char **missing);

/* True when any option was given. */
bool sim_credentials_any(const sim_credentials *c);

/* NULL when the options go together, else what is wrong (static text):
 * at most one of --user, --token-file, --creds; --user and --password-file
 * together; --tls-cert and --tls-key together. */
const char *sim_credentials_check(const sim_credentials *c);

/* Reads the password and token files (at most 4 KiB each; a final
 * newline is dropped). Errors: PS_ERR_INVALID_ARG naming the file and why
 * (unreadable, empty, too long), never its content. */
ps_status sim_credentials_load(sim_credentials *c);

/* Sets the authentication and TLS fields of *o from c (NULL: none). The
 * strings stay c's: keep c until ps_jetstream_new has returned. */
void sim_credentials_apply(const sim_credentials *c, ps_jetstream_options *o);

/* Wipes and frees the secrets read; the options stay. NULL does nothing. */
void sim_credentials_free(sim_credentials *c);

#endif
