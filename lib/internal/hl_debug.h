/* hl_debug.h: assert levels, branch hints and stats switches for all of heaplab.
 *
 * Three assert levels, selected by one macro, as mimalloc does:
 *
 *   HL_DEBUG 0  benchmark builds (--config=opt): every assert compiled out.
 *   HL_DEBUG 1  hl_assert: cheap checks of arguments and results.
 *   HL_DEBUG 2  + hl_assert_internal: O(1) checks inside data structures.
 *               The default (tests, --config=asan).
 *   HL_DEBUG 3  + hl_assert_expensive: O(heap) validity walks after every
 *               state change (fuzz builds).
 *
 * HL_STATS 1 keeps event counters; 0 (--config=opt) compiles every update to
 * ((void)0), so stats cost nothing when off.
 *
 * A failed assert prints expression, file, line and function and aborts; it
 * never allocates, since the allocator it is checking may be the broken one.
 */
#ifndef HL_DEBUG_H
#define HL_DEBUG_H

#ifndef HL_BUILD_CORE
#error "hl_debug.h is internal to heaplab; build with -DHL_BUILD_CORE"
#endif

#ifndef HL_DEBUG
#define HL_DEBUG 2
#endif
#ifndef HL_STATS
#define HL_STATS 1
#endif

#if HL_DEBUG < 0 || HL_DEBUG > 3
#error "HL_DEBUG must be 0..3"
#endif

#define HL_LIKELY(x)   __builtin_expect(!!(x), 1)
#define HL_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define HL_UNUSED(x)   ((void)(x))

__attribute__((noreturn, cold))
void _hl_assert_fail(const char *expr, const char *file, int line, const char *func);

#define _hl_assert_impl(x) \
    (HL_LIKELY(x) ? (void)0 : _hl_assert_fail(#x, __FILE__, __LINE__, __func__))

#if HL_DEBUG >= 1
#define hl_assert(x) _hl_assert_impl(x)
#else
#define hl_assert(x) ((void)0)
#endif
#if HL_DEBUG >= 2
#define hl_assert_internal(x) _hl_assert_impl(x)
#else
#define hl_assert_internal(x) ((void)0)
#endif
#if HL_DEBUG >= 3
#define hl_assert_expensive(x) _hl_assert_impl(x)
#else
#define hl_assert_expensive(x) ((void)0)
#endif

/* snprintf into err if err is non-NULL; returns -1, for
 * `return _hl_err(err, errlen, ...)` (lib/alloc/err.c). */
#include <stddef.h>
int _hl_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A variable only asserts read. */
#if HL_DEBUG >= 1
#define HL_UNUSED_RELEASE(x) ((void)0)
#else
#define HL_UNUSED_RELEASE(x) ((void)(x))
#endif

#if HL_STATS
#define hl_stat_inc(field)     ((field)++)
#define hl_stat_add(field, n)  ((field) += (n))
#else
#define hl_stat_inc(field)     ((void)0)
#define hl_stat_add(field, n)  ((void)0)
#endif

/* ASan hooks (in the spirit of mimalloc's track.h): pymalloc poisons free
 * blocks and uncarved pool memory so a use-after-free inside an arena is
 * reported.  No-ops without ASan. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HL_ASAN 1
#endif
#endif
#if !defined(HL_ASAN) && defined(__SANITIZE_ADDRESS__)
#define HL_ASAN 1
#endif
#ifdef HL_ASAN
#include <sanitizer/asan_interface.h>
#define hl_poison(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define hl_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#define HL_NO_SANITIZE_ADDRESS __attribute__((no_sanitize("address")))
#else
#define hl_poison(p, n)   ((void)(p), (void)(n))
#define hl_unpoison(p, n) ((void)(p), (void)(n))
#define HL_NO_SANITIZE_ADDRESS
#endif

/* Teardown loops that fuzz builds should not instrument for coverage: they
 * explore nothing, and libFuzzer's comparison hooks on every iteration cost
 * more than the loop.  noinline, or the loop is instrumented as part of its
 * caller; a call per teardown costs nothing elsewhere. */
#if defined(__clang__)
#define HL_NO_COVERAGE __attribute__((no_sanitize("coverage"), noinline))
#else
#define HL_NO_COVERAGE
#endif

#endif /* HL_DEBUG_H */
