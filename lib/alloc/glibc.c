/* glibc.c: the C library's malloc behind the heaplab interface.
 *
 * glibc has one heap per process, so this allocator is a view of it, not an
 * independent heap: held_bytes is mallinfo2()'s arena + hblkhd, the bytes the
 * whole process holds from the system through malloc (main arena via brk plus
 * mmapped chunks).  Live blocks and bytes are counted per instance (HL_STATS),
 * from malloc_usable_size.  destroy() frees the blocks this instance still
 * has only if the caller freed them; it then calls malloc_trim(0) to hand free
 * memory at the top of the heap back to the system.
 */
#include "hl_debug.h"
#include "hl_registry.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct glibc_state_s {
    size_t live_blocks;   /* HL_STATS only */
    size_t live_bytes;
    size_t held_peak;
} glibc_state_t;

static void *glibc_malloc(void *ctx, size_t n)
{
    void *p = malloc(n ? n : 1);
#if HL_STATS
    glibc_state_t *st = ctx;
    if (p) { st->live_blocks++; st->live_bytes += malloc_usable_size(p); }
#else
    HL_UNUSED(ctx);
#endif
    return p;
}

static void *glibc_calloc(void *ctx, size_t nelem, size_t elsize)
{
    if (elsize != 0 && nelem > SIZE_MAX / elsize)
        return NULL;
    /* As CPython's _PyMem_RawCalloc: a zero-sized request is calloc(1, 1). */
    if (nelem == 0 || elsize == 0)
        nelem = elsize = 1;
    void *p = calloc(nelem, elsize);
#if HL_STATS
    glibc_state_t *st = ctx;
    if (p) { st->live_blocks++; st->live_bytes += malloc_usable_size(p); }
#else
    HL_UNUSED(ctx);
#endif
    return p;
}

static void *glibc_realloc(void *ctx, void *p, size_t n)
{
#if HL_STATS
    glibc_state_t *st = ctx;
    size_t old = p ? malloc_usable_size(p) : 0;
    void *q = realloc(p, n ? n : 1);
    if (q) {
        if (!p) st->live_blocks++;
        st->live_bytes += malloc_usable_size(q) - old;
    }
    return q;
#else
    HL_UNUSED(ctx);
    return realloc(p, n ? n : 1);
#endif
}

static void glibc_free(void *ctx, void *p)
{
#if HL_STATS
    glibc_state_t *st = ctx;
    if (p) { st->live_blocks--; st->live_bytes -= malloc_usable_size(p); }
#else
    HL_UNUSED(ctx);
#endif
    free(p);
}

static size_t glibc_usable_size(void *ctx, const void *p)
{
    HL_UNUSED(ctx);
    return malloc_usable_size((void *)p);
}

static void glibc_stats(void *ctx, hl_stats_t *out)
{
    glibc_state_t *st = ctx;
    struct mallinfo2 mi = mallinfo2();
    size_t held = mi.arena + mi.hblkhd;
    if (held > st->held_peak)
        st->held_peak = held;
    out->valid = HL_STAT_HELD;
    out->held_bytes = held;
    out->held_peak_bytes = st->held_peak;
#if HL_STATS
    out->valid |= HL_STAT_LIVE_BLOCKS | HL_STAT_LIVE_BYTES;
    out->live_blocks = st->live_blocks;
    out->live_bytes = st->live_bytes;
#else
    out->live_blocks = out->live_bytes = 0;
#endif
}

static bool glibc_check(void *ctx, FILE *report)
{
    HL_UNUSED(ctx); HL_UNUSED(report);
    /* glibc checks its own chunks on every free and aborts on corruption. */
    return true;
}

static int glibc_print_stats(void *ctx, FILE *out)
{
    HL_UNUSED(ctx);
    return malloc_info(0, out) == 0;
}

static void glibc_destroy(void *ctx)
{
    free(ctx);
    malloc_trim(0);
}

static const hl_allocator_ops_t glibc_ops = {
    .malloc = glibc_malloc,
    .calloc = glibc_calloc,
    .realloc = glibc_realloc,
    .free = glibc_free,
    .usable_size = glibc_usable_size,
    .stats = glibc_stats,
    .check = glibc_check,
    .print_stats = glibc_print_stats,
    .destroy = glibc_destroy,
};

int hl_glibc_create(const hl_alloc_options_t *opt, hl_allocator_t *out, char *err, size_t errlen)
{
    HL_UNUSED(opt);
    glibc_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return _hl_err(err, errlen, "glibc: out of memory");
    out->ops = &glibc_ops;
    out->ctx = st;
    out->name = "glibc";
    return 0;
}
