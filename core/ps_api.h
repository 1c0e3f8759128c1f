/* ps_api.h — what marks the library's exported API.
 *
 * The library is built with -fvisibility=hidden: nothing it defines is
 * visible outside libjetsim.so unless declared between PS_API_BEGIN and
 * PS_API_END, which every public header puts around its declarations.
 * The backends' and the simulator's internal functions (mem_*, jsb_*)
 * are declared in internal headers and stay private to the library.
 *
 * Not: a header to include on its own; the public headers include it.
 */
#ifndef PS_API_H
#define PS_API_H

#if defined(__GNUC__) && !defined(PS_NO_VISIBILITY)
#define PS_API_BEGIN _Pragma("GCC visibility push(default)")
#define PS_API_END _Pragma("GCC visibility pop")
#else
#define PS_API_BEGIN
#define PS_API_END
#endif

#endif
