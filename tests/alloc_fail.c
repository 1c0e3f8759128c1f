/* alloc_fail.c — the wrappers behind alloc_fail.h. Each __wrap_X is what
 * the code under test calls for X; __real_X is the C library's. */
#include "alloc_fail.h"

#include <execinfo.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include "ps_status.h"
#include "ps_backend_impl.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
ps_status __real_ps_error_v(ps_status s, int js_code, const char *fmt, va_list ap);

void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);

void *__wrap_malloc(size_t n);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
ps_status __wrap_ps_error(ps_status s, int js_code, const char *fmt, ...);
ps_status __wrap_ps_error_v(ps_status s, int js_code, const char *fmt, va_list ap);

static uint64_t g_fail_at, g_count, g_reported;
static bool g_fired;

void alloc_fail_arm(uint64_t n)
{
    g_fail_at = n;
    g_count = 0;
    g_reported = 0;
    g_fired = false;
}

uint64_t alloc_fail_count(void) { return g_count; }
bool alloc_fail_fired(void) { return g_fired; }
uint64_t alloc_fail_reported(void) { return g_reported; }

/* Counts one allocation; true when this one must fail. With
 * ALLOC_FAIL_BACKTRACE set, prints where the failing one was made (to
 * find the caller that drops it). */
static bool fail_now(void)
{
    if (++g_count != g_fail_at)
        return false;
    g_fired = true;
    if (getenv("ALLOC_FAIL_BACKTRACE")) {
        void *frames[16];
        int n = backtrace(frames, 16);
        backtrace_symbols_fd(frames, n, STDERR_FILENO);
    }
    return true;
}

void *__wrap_malloc(size_t n)
{
    return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
    return fail_now() ? NULL : __real_calloc(k, n);
}

/* A failed realloc leaves the block as it was, as the C library's does. */
void *__wrap_realloc(void *p, size_t n)
{
    return fail_now() ? NULL : __real_realloc(p, n);
}

/* The memory backend maps its big regions (mem_arena.c): a failed mapping
 * is an allocation failure like any other. */
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return fail_now() ? MAP_FAILED : __real_mmap(addr, len, prot, flags, fd, off);
}

char *__wrap_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = fail_now() ? NULL : __real_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

char *__wrap_strndup(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    char *d = fail_now() ? NULL : __real_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

ps_status __wrap_ps_error_v(ps_status s, int js_code, const char *fmt, va_list ap)
{
    if (s == PS_ERR_NO_MEMORY)
        g_reported++;
    return __real_ps_error_v(s, js_code, fmt, ap);
}

ps_status __wrap_ps_error(ps_status s, int js_code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ps_status r = __wrap_ps_error_v(s, js_code, fmt, ap);
    va_end(ap);
    return r;
}
