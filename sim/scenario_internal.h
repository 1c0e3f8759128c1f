/* scenario_internal.h — what the files of the scenario language share: the
 * parser's state (one line cut into words), the readers of values that
 * report errors as file:line:col, and the option tables that the parser
 * reads and the writer prints back. The files:
 *
 *   scenario.c         the entry points, the statements, the whole-file checks
 *   scenario_values.c  errors, values, the option tables and their reader
 *   scenario_faults.c  the fault rows, `at TIME FAULT`, a seed's fault mix
 *   scenario_write.c   the canonical writer
 *
 * Not a public header (scenario.h is), not installed. Functions that one
 * of these files calls in another carry the prefix scn_.
 */
#ifndef SIM_SCENARIO_INTERNAL_H
#define SIM_SCENARIO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ps_status.h"
#include "scenario.h"

#define MAX_WORDS 64

/* ---- words --------------------------------------------------------------------- */

typedef struct word {
    const char *s;
    size_t len;
    int col;
} word;

typedef struct parser {
    const char *file;
    int line;
    word w[MAX_WORDS];
    int nw;
    int end_col; /* column just past the line's last character */
    sim_scenario *sc;
    const char *label; /* the option being read ("replicas="), named in value errors; or NULL */
    int err_col;       /* the column of the last error */
} parser;

static inline bool is(const word *w, const char *lit)
{
    return w && w->len == strlen(lit) && memcmp(w->s, lit, w->len) == 0;
}

static inline bool starts(const word *w, const char *prefix)
{
    size_t n = strlen(prefix);
    return w && w->len >= n && memcmp(w->s, prefix, n) == 0;
}

/* Word i of the line, NULL past its end. */
static inline const word *word_at(const parser *p, int i)
{
    return i < p->nw ? &p->w[i] : NULL;
}

/* A value (part of a word) with the column where it starts. */
typedef struct value {
    const char *s;
    size_t len;
    int col;
} value;

static inline value whole(const word *w)
{
    return (value){w->s, w->len, w->col};
}

/* The part of w after its first n bytes ("node=" of "node=2"). */
static inline value after(const word *w, size_t n)
{
    return (value){w->s + n, w->len - n, w->col + (int)n};
}

/* ---- errors (scenario_values.c) ---------------------------------------------------- */

/* Sets ps_last_error() to "file:line:col: MESSAGE" and returns
 * PS_ERR_INVALID_ARG; remembers the column (a fault whose keywords fit two
 * rows reports the row that read further). */
ps_status scn_fail_at(parser *p, int line, int col, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define FAIL(p, col, ...) scn_fail_at((p), (p)->line, (col), __VA_ARGS__)

/* "expected WHAT, got 'w'" at w's column; a NULL w is the end of the line. */
ps_status scn_expected(parser *p, const word *w, const char *what);

/* "expected WHAT [for LABEL], got 'v'" at v's column: every value error
 * names what was expected and, inside an option, the option. */
ps_status scn_bad_value(parser *p, value v, const char *what);

/* ---- values (scenario_values.c): each writes *out only on success ------------------- */

/* A decimal integer from lo to hi. */
ps_status scn_get_int(parser *p, value v, int64_t lo, int64_t hi, int64_t *out);
/* A Go-style duration up to SIM_DURATION_MAX_NS; 0 only when zero_ok. */
ps_status scn_get_dur(parser *p, value v, int64_t *out, bool zero_ok);
/* "12%", "0.5%", "100%": basis points. */
ps_status scn_get_pct(parser *p, value v, int *bp);
/* Non-empty text shorter than SIM_TEXT_MAX into dst (SIM_TEXT_MAX bytes). */
ps_status scn_get_text(parser *p, value v, char *dst, const char *what);
/* One of names[0..n-1]: its index. */
ps_status scn_get_choice(parser *p, value v, const char *const *names, int n, int *out);

/* The values of a yes/no option and of a server restart's kind. */
extern const char *const scn_bool_names[2];
extern const char *const scn_restart_names[3];

/* ---- option tables (scenario_values.c) ------------------------------------------------ */

/* An option of a statement is a row: its name, where its value lives in
 * the statement's struct, how the value is read and written, and its
 * range. One walker reads `name=value` words against a table and one
 * writer prints a table back, in the table's order (the canonical order
 * shrink writes). */
typedef enum opt_kind {
    OPT_INT,       /* int64_t from min to max */
    OPT_DUR,       /* int64_t ns from min (0 or 1) to SIM_DURATION_MAX_NS */
    OPT_PCT,       /* int basis points, 0% to 100% */
    OPT_CHOICE,    /* an enum: names[i] sets i, i from min to max */
    OPT_BOOL,      /* bool: no or yes */
    OPT_FLAG,      /* bool: set by the bare name (expect's checks) */
    OPT_RATE,      /* double: N/s, N from min to max */
    OPT_SUBJECTS,  /* char[][SIM_TEXT_MAX]: valid subjects a,b; at most max; the int count at aux */
    OPT_DURS,      /* int64_t[]: positive durations a,b; at most max; the int count at aux */
    OPT_FILTER,    /* char[SIM_TEXT_MAX]: a valid subject */
    OPT_TRANSFORM, /* char[SIM_TEXT_MAX]: SRC=>DST, as sim/workload.h reads it */
    OPT_REF,       /* char[SIM_TEXT_MAX] STREAM/NAME: the stream here, NAME at aux */
    OPT_SPAN,      /* int64_t ns DUR[..DUR]: the shortest here, the longest at aux */
    OPT_NAME,      /* char[SIM_TEXT_MAX]: letters, digits, '_', '-', '.' (a handler, a payload maker) */
    OPT_LITERAL,   /* char[SIM_TEXT_MAX]: a literal subject (no wildcards) */
    OPT_HEADER     /* char[SIM_TEXT_MAX]: NAME:VALUE, NAME an OPT_NAME, VALUE printable, no spaces */
} opt_kind;

enum {
    OPT_ALWAYS = 1 << 0, /* written even when zero or empty */
    OPT_REPLAY = 1 << 1  /* replay statements only */
};

typedef struct option {
    const char *name;
    size_t off;               /* offsetof the field in the statement's struct */
    opt_kind kind;
    int64_t min, max;         /* the range, as the kind reads it (above) */
    const char *sep;          /* between name and value: NULL for "=" */
    const char *const *names; /* OPT_CHOICE: the values, max + 1 of them */
    size_t aux;               /* offsetof a second field: a list's count, REF's name, SPAN's longest */
    unsigned flags;           /* OPT_ALWAYS, OPT_REPLAY */
} option;

/* A statement's options, in the order the writer prints them. */
typedef struct option_table {
    const option *rows;
    size_t n;
} option_table;

extern const option_table scn_stream_opts, scn_consumer_opts, scn_publish_opts, scn_workers_opts,
    scn_service_opts, scn_expect_opts;

static inline const char *sep_of(const option *o)
{
    return o->sep ? o->sep : "=";
}

#define AT(base, o, type) ((type *)((char *)(base) + (o)->off))
#define AUX(base, o, type) ((type *)((char *)(base) + (o)->aux))

typedef char text_field[SIM_TEXT_MAX];

/* Reads the words from `first` on as options of table t (rows with a flag
 * in `skip` left out) into the statement at base. An unknown or repeated
 * option is an error, as is a value out of its row's range: the message
 * names the option; an unknown one lists them as `noun (a=, b=, ...)`. */
ps_status scn_options(parser *p, int first, const option_table *t, unsigned skip, const char *noun,
                      void *base);

/* "NOUN (subjects=, retention=, ...)" into buf (cap bytes); returns buf. */
const char *scn_option_list(const char *noun, const option_table *t, unsigned skip, char *buf, size_t cap);

/* ---- faults (scenario_faults.c) ------------------------------------------------------- */

/* The statement "at TIME FAULT" on the parser's current line. */
ps_status scn_parse_at(parser *p);

#endif
