/* fault_inject.c: make chosen allocations fail, to test out-of-memory paths.
 *
 * CPython tests its MemoryError paths with _testcapi.set_nomemory(start,
 * stop): hooks installed in all three domains count every malloc, calloc
 * and realloc and fail those numbered start+1 .. stop (stop 0: all from
 * start+1 on).  heaplab's wrapper is the same decorator over one
 * hl_allocator_t, or over one arena source, so that pymalloc's raw fallback
 * and its new_arena() can each be starved on their own:
 *
 *     mode                fails the calls numbered (from 1)
 *     HL_FAULT_NTH        n only                     (set_nomemory(n-1, n))
 *     HL_FAULT_FROM_NTH   n, n+1, n+2, ...           (set_nomemory(n-1))
 *     either, n == 0      none: the wrapper only counts
 *
 * Which calls count.  Every malloc, calloc and realloc, including
 * realloc(NULL, n) and a realloc that shrinks: set_nomemory's realloc hook
 * fails whatever the size, and C allows any realloc to fail, leaving the
 * block as it was -- code that assumes shrinking cannot fail is exactly
 * what this should catch.  A failed call never reaches the inner allocator.
 * free, usable_size, stats, check and print_stats pass through uncounted.
 * For a source, each alloc() counts; free() and held() pass through.
 *
 * The wrapper does not own what it wraps: destroy frees the wrapper only.
 */
#include "hl_debug.h"
#include "pymem_internal.h"

#include <stdlib.h>

typedef struct fault_state_s {
    hl_fault_mode_t mode;
    size_t n;          /* 0: never fail */
    size_t calls;      /* counted calls so far */
    size_t failures;   /* of which failed */
} fault_state_t;

static bool fault_next_fails(fault_state_t *st)
{
    size_t k = ++st->calls;
    bool fail = st->n != 0 && (st->mode == HL_FAULT_NTH ? k == st->n : k >= st->n);
    if (fail)
        st->failures++;
    return fail;
}

static void fault_arm(fault_state_t *st, hl_fault_mode_t mode, size_t n)
{
    hl_assert(mode == HL_FAULT_NTH || mode == HL_FAULT_FROM_NTH);
    st->mode = mode;
    st->n = n;
    st->calls = 0;
    st->failures = 0;
}

/* ---------------------------------------------------------------------- */
/* Over an allocator */

typedef struct fault_alloc_s {
    fault_state_t st;
    hl_allocator_t inner;   /* a copy of the handle; the instance is not ours */
} fault_alloc_t;

static void *fa_malloc(void *ctx, size_t n)
{
    fault_alloc_t *f = ctx;
    return fault_next_fails(&f->st) ? NULL : hl_malloc(&f->inner, n);
}

static void *fa_calloc(void *ctx, size_t nelem, size_t elsize)
{
    fault_alloc_t *f = ctx;
    return fault_next_fails(&f->st) ? NULL : hl_calloc(&f->inner, nelem, elsize);
}

static void *fa_realloc(void *ctx, void *p, size_t n)
{
    fault_alloc_t *f = ctx;
    return fault_next_fails(&f->st) ? NULL : hl_realloc(&f->inner, p, n);
}

static void fa_free(void *ctx, void *p)
{ hl_free(&((fault_alloc_t *)ctx)->inner, p); }
static size_t fa_usable_size(void *ctx, const void *p)
{ return hl_usable_size(&((fault_alloc_t *)ctx)->inner, p); }
static void fa_stats(void *ctx, hl_stats_t *out)
{ hl_stats(&((fault_alloc_t *)ctx)->inner, out); }
static bool fa_check(void *ctx, FILE *report)
{ return hl_check(&((fault_alloc_t *)ctx)->inner, report); }
static int fa_print_stats(void *ctx, FILE *out)
{ return hl_print_stats(&((fault_alloc_t *)ctx)->inner, out); }
static void fa_destroy(void *ctx)
{ free(ctx); }

static const hl_allocator_ops_t fault_ops = {
    .malloc = fa_malloc,
    .calloc = fa_calloc,
    .realloc = fa_realloc,
    .free = fa_free,
    .usable_size = fa_usable_size,
    .stats = fa_stats,
    .check = fa_check,
    .print_stats = fa_print_stats,
    .destroy = fa_destroy,
};

int hl_fault_inject_wrap(const hl_allocator_t *inner, hl_fault_mode_t mode, size_t n,
                         hl_allocator_t *out)
{
    hl_assert(inner != NULL && inner->ops != NULL);
    fault_alloc_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->inner = *inner;
    fault_arm(&f->st, mode, n);
    out->ops = &fault_ops;
    out->ctx = f;
    out->name = inner->name;
    return 0;
}

static fault_state_t *alloc_state(const hl_allocator_t *w)
{
    hl_assert(w != NULL && w->ops == &fault_ops);
    return &((fault_alloc_t *)w->ctx)->st;
}

void hl_fault_inject_arm(const hl_allocator_t *w, hl_fault_mode_t mode, size_t n)
{ fault_arm(alloc_state(w), mode, n); }
size_t hl_fault_inject_calls(const hl_allocator_t *w)
{ return alloc_state(w)->calls; }
size_t hl_fault_inject_failures(const hl_allocator_t *w)
{ return alloc_state(w)->failures; }

/* ---------------------------------------------------------------------- */
/* Over an arena source */

typedef struct fault_source_s {
    fault_state_t st;
    hl_arena_source_t inner;
} fault_source_t;

static void *fs_alloc(void *ctx, size_t size)
{
    fault_source_t *f = ctx;
    return fault_next_fails(&f->st) ? NULL : f->inner.alloc(f->inner.ctx, size);
}

static void fs_free(void *ctx, void *p, size_t size)
{
    fault_source_t *f = ctx;
    f->inner.free(f->inner.ctx, p, size);
}

static size_t fs_held(void *ctx, size_t *peak)
{
    fault_source_t *f = ctx;
    return f->inner.held(f->inner.ctx, peak);
}

static void fs_destroy(void *ctx)
{ free(ctx); }

int hl_fault_inject_wrap_source(const hl_arena_source_t *inner, hl_fault_mode_t mode,
                                size_t n, hl_arena_source_t *out)
{
    hl_assert(inner != NULL && inner->alloc != NULL);
    fault_source_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->inner = *inner;
    fault_arm(&f->st, mode, n);
    out->ctx = f;
    out->alloc = fs_alloc;
    out->free = fs_free;
    out->held = fs_held;
    out->destroy = fs_destroy;
    return 0;
}

static fault_state_t *source_state(const hl_arena_source_t *w)
{
    hl_assert(w != NULL && w->alloc == fs_alloc);
    return &((fault_source_t *)w->ctx)->st;
}

void hl_fault_inject_source_arm(const hl_arena_source_t *w, hl_fault_mode_t mode, size_t n)
{ fault_arm(source_state(w), mode, n); }
size_t hl_fault_inject_source_calls(const hl_arena_source_t *w)
{ return source_state(w)->calls; }
size_t hl_fault_inject_source_failures(const hl_arena_source_t *w)
{ return source_state(w)->failures; }
