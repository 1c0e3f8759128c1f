/* handlers.c — `--handlers LIB.so` (handlers.h). */
#include "handlers.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

static const ps_sim_module *loaded; /* the one library of this process, for its whole life */
static char loaded_path[4096];

static int load(const char *path)
{
    /* a bare name would be looked up in the system's library path, not here */
    char local[4096];
    if (!strchr(path, '/') && snprintf(local, sizeof local, "./%s", path) < (int)sizeof local)
        path = local;
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "jetsim: --handlers %s: cannot load it: %s\n", path, dlerror());
        return SIM_EXIT_USAGE;
    }
    const ps_sim_module *(*get)(void) = NULL;
    *(void **)&get = dlsym(lib, PS_SIM_MODULE_SYMBOL);
    if (!get) {
        fprintf(stderr, "jetsim: --handlers %s: it exports no %s() (see ps_sim.h)\n", path, PS_SIM_MODULE_SYMBOL);
        return SIM_EXIT_USAGE;
    }
    const ps_sim_module *m = get();
    if (!m || m->version != PS_SIM_MODULE_VERSION) {
        fprintf(stderr, "jetsim: --handlers %s: %s() returned %s (this jetsim reads version %d)\n", path,
                PS_SIM_MODULE_SYMBOL, m ? "a module of another version" : "NULL", PS_SIM_MODULE_VERSION);
        return SIM_EXIT_USAGE;
    }
    loaded = m; /* the library stays loaded: its code runs in every run of this process */
    snprintf(loaded_path, sizeof loaded_path, "%s", path);
    return 0;
}

int cli_handlers_take(int *argc, char **argv)
{
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i], *path = NULL;
        int take = 0;
        if (strcmp(a, "--handlers") == 0) {
            if (i + 1 >= *argc) {
                fprintf(stderr, "jetsim: option --handlers needs a value (a shared library, LIB.so)\n");
                return SIM_EXIT_USAGE;
            }
            path = argv[i + 1];
            take = 2;
        } else if (strncmp(a, "--handlers=", 11) == 0) {
            path = a + 11;
            take = 1;
        } else {
            continue;
        }
        if (loaded) {
            fprintf(stderr, "jetsim: --handlers is given twice\n");
            return SIM_EXIT_USAGE;
        }
        int rc = load(path);
        if (rc)
            return rc;
        memmove(argv + i, argv + i + take, (size_t)(*argc - i - take + 1) * sizeof *argv);
        *argc -= take;
        i--;
    }
    return 0;
}

void cli_handlers_attach(sim_scenario *sc)
{
    if (sc)
        sc->module = loaded;
}

const char *cli_handlers_path(void)
{
    return loaded ? loaded_path : NULL;
}
