/* fit_common.h: what the classic allocators share.
 *
 * seqfit.c, segregated_simple.c and segregated_fit.c share their one door to
 * the system's memory and the fatal report of a misused pointer.  (buddy.c
 * and tlsf.c keep their own, and count their mappings per heap.)
 *
 * Every byte these three allocators hold goes through _hl_fit_map /
 * _hl_fit_unmap / _hl_fit_remap, which keep one process-wide count of the
 * bytes mapped now.  A test reads it before create and after destroy: equal
 * counts mean destroy gave back every mapping, the instance's state included.
 *
 * All five report a broken invariant from check() through HL_FIT_FAIL, in
 * the one format the tests look for.  All but seqfit.c end a realloc that
 * cannot resize in place with _hl_fit_realloc_move (allocate, copy, free);
 * seqfit.c writes the same three steps out, because its malloc and free are
 * inline bodies specialised per policy, which a function pointer would not
 * carry.
 */
#ifndef HL_FIT_COMMON_H
#define HL_FIT_COMMON_H

#ifndef HL_BUILD_CORE
#error "fit_common.h is internal to heaplab; build with -DHL_BUILD_CORE"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The system's page, which every mapping's size is a multiple of (x86-64
 * Linux; create() refuses to run where sysconf says otherwise). */
#define HL_FIT_OS_PAGE ((size_t)4096)

/* Anonymous, zeroed, read-write memory of `size` bytes (a multiple of
 * HL_FIT_OS_PAGE), or NULL. */
void *_hl_fit_map(size_t size);
/* The same, at an address that is a multiple of `align` (a power of two,
 * >= HL_FIT_OS_PAGE): maps size + align - HL_FIT_OS_PAGE and trims. */
void *_hl_fit_map_aligned(size_t size, size_t align);
void _hl_fit_unmap(void *p, size_t size);
/* mremap: grow or shrink [p, p+old) to new bytes; `may_move` lets the
 * kernel move it.  Returns the (new) address or NULL, leaving the mapping
 * as it was on failure. */
void *_hl_fit_remap(void *p, size_t old, size_t new_size, bool may_move);

/* Bytes mapped now through the functions above, by every instance of the
 * three allocators in the process. */
size_t _hl_fit_mapped_bytes(void);

/* The debug-build report of a misused pointer: one line on stderr,
 *     heaplab seqfit-first: free(0x7f...): double free (block is already free)
 * then abort().  Never allocates. */
__attribute__((noreturn, cold))
void _hl_fit_misuse(const char *allocator, const char *op, const void *p, const char *what);

/* n rounded up to a multiple of a (a power of two); the caller has bounded n
 * so that this cannot wrap. */
static inline size_t _hl_fit_round_up(size_t n, size_t a)
{
    return (n + a - 1) & ~(a - 1);
}

/* check()'s report of a broken invariant: when report is not NULL, one line
 *     tlsf: invariant: block 0x7f...: size 48 out of range
 * (allocator, then the printf-style message), then `return false` from the
 * check.  Each file binds it to its report stream and name once:
 *     #define FAIL(...) HL_FIT_FAIL(report, "tlsf", __VA_ARGS__)
 * buddy_tlsf_test and classic_test look for "<name>: invariant: ". */
#define HL_FIT_FAIL(report, allocator, ...)                             \
    do {                                                                \
        return _hl_fit_invariant((report), (allocator), __VA_ARGS__);   \
    } while (0)

/* HL_FIT_FAIL's body: writes the line; always returns false. */
__attribute__((cold, format(printf, 3, 4)))
bool _hl_fit_invariant(FILE *report, const char *allocator, const char *fmt, ...);

/* The last resort of realloc(p, n) once p's block could not be resized in
 * place: q = alloc(heap, n), then the first min(old, n) bytes of p (old: p's
 * usable size) copied into q, then release(heap, p).  Returns q, or NULL with
 * p untouched when alloc fails.  alloc and release are the allocator's own,
 * with whatever counting and checking it wants on this path; static inline,
 * so that at each call site they are known functions, called directly. */
static inline void *_hl_fit_realloc_move(void *heap, void *p, size_t old, size_t n,
                                         void *(*alloc)(void *heap, size_t n),
                                         void (*release)(void *heap, void *p))
{
    void *q = alloc(heap, n);
    if (q != NULL) {
        memcpy(q, p, old < n ? old : n);
        release(heap, p);
    }
    return q;
}

#endif /* HL_FIT_COMMON_H */
