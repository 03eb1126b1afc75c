/* jemalloc.c: jemalloc 5.3 (Debian's libjemalloc.so.2) behind the heaplab
 * interface.
 *
 * The library is dlopen()ed with RTLD_LOCAL (peers.c) and reached only
 * through its non-standard API: mallocx, rallocx, dallocx and sallocx for
 * blocks, mallctl for arenas, thread caches and statistics,
 * malloc_stats_print for the report.  Its malloc, which would override the C
 * library's, is never called.  Loading it needs a larger static TLS surplus
 * than glibc reserves by default; see peers.h.
 *
 * What an instance is.  The library is one per process, but jemalloc can
 * isolate: each instance creates
 *   - a private arena (mallctl "arenas.create"), and passes MALLOCX_ARENA(a)
 *     on every allocation, so its blocks, extents and dirty pages are its own;
 *   - a private explicit thread cache ("tcache.create"), and passes
 *     MALLOCX_TCACHE(t) on every call, allocation and free alike.  jemalloc
 *     still caches freed blocks per size class, as it does for every thread
 *     by default, but never hands this instance's blocks to anyone else, and
 *     no implicit thread cache ever holds one of them.  (Without it, the
 *     thread's implicit cache would keep freed blocks of the arena past
 *     "arena.<i>.destroy" and hand out unmapped memory later: peers_test
 *     crashes that way.)
 * So two instances share nothing but the library's global metadata (base
 * allocator, radix tree), and destroy() can give the whole arena back:
 * "tcache.destroy" flushes the cache into the arena, then
 * "arena.<i>.destroy" discards every extent, live blocks included, unmaps
 * them, and frees the arena index for reuse.
 *
 * An explicit thread cache is not thread-safe, so an instance must be used
 * by one thread at a time (as heaplab's own allocators).  Arena and cache
 * indices are limited (about 4k each): instances must be destroyed.
 *
 * Requests.  Every block is 16-byte aligned (HL_PEER_ALIGNMENT): jemalloc
 * aligns a block to its size class, and on x86-64 every class from 16 bytes
 * up is a multiple of 16, but the one tiny class, 8 bytes, is only 8-byte
 * aligned.  So requests below 16 bytes ask for 16.  That also covers malloc(0)
 * and realloc(p, 0), for which mallocx and rallocx are undefined: both get a
 * unique 16-byte block, and realloc(p, 0) is not a free.  Requests above
 * PTRDIFF_MAX fail before reaching jemalloc; jemalloc itself returns NULL for
 * anything it cannot map (checked for SIZE_MAX, PTRDIFF_MAX and 2^50; Debian
 * builds without xmalloc, so it never aborts on failure).  calloc checks
 * nelem * elsize for overflow and then asks for MALLOCX_ZERO.
 * usable_size is sallocx: the size class, always >= the request.
 *
 * Stats.  held_bytes is the arena's "stats.arenas.<i>.mapped" after an
 * "epoch" refresh: everything the arena has mapped (active, dirty and muzzy
 * pages, and the arena's own metadata), per instance.  Memory jemalloc retains
 * as unmapped address space is not held.  held_peak_bytes is the largest
 * held_bytes seen by a stats() call since creation (sampled, as `glibc`).
 * live_blocks and live_bytes (sallocx of each live block) are counted by the
 * instance in HL_STATS builds.
 *
 * check() flushes the instance's cache into the arena and compares jemalloc's
 * own books with the instance's (HL_STATS builds): the arena's live
 * regions ((small + large) nmalloc - ndalloc) must equal live_blocks, and
 * its small.allocated + large.allocated must equal live_bytes.  A release
 * jemalloc has no heap walk to offer beyond that (its consistency checks are
 * config.debug only).  Flushing costs the cache, not correctness.
 *
 * print_stats() is malloc_stats_print: the whole library's report, every
 * arena in it, this instance's among them.
 *
 * No walk().  jemalloc 5.3 has no way to enumerate an arena's memory: its
 * statistics ("stats.arenas.<i>.extents.<j>", pactive, pdirty, ...) are
 * counts without addresses, and "experimental.utilization.query" answers
 * for a pointer the caller already has (the extent's size and free regions
 * around a live block), not for the memory around it.  Extent hooks given
 * to "arenas.create", wrapping the default ones, would see the address
 * ranges the arena maps, splits and merges, but not what it does with
 * them: an extent freed to the arena's dirty cache, or taken back from it,
 * calls no hook, so active and dirty pages look the same; and on Linux,
 * where jemalloc retains address space and the default hooks cannot
 * decommit (overcommit), pages purged to "retained" are reused with no hook
 * call either, so the hooks could not even tell the held memory
 * (stats.arenas.<i>.mapped, held_bytes) from the retained address space.
 * Spans from them would call free and unheld memory USED.  So walk is NULL,
 * and `heaplab map` draws a jemalloc instance from the program's own live
 * blocks.
 */
#include "hl_debug.h"
#include "peers.h"
#include "peers_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <jemalloc/jemalloc.h>   /* prototypes and MALLOCX_* only: nothing is linked */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static hl_peer_lib_t hje_lib = {"jemalloc", "libjemalloc.so.2", "libjemalloc2", NULL};

/* The entry points, looked up once; the types come from jemalloc.h. */
static struct {
    __typeof__(mallocx) *mallocx;
    __typeof__(rallocx) *rallocx;
    __typeof__(dallocx) *dallocx;
    __typeof__(sallocx) *sallocx;
    __typeof__(mallctl) *mallctl;
    __typeof__(malloc_stats_print) *malloc_stats_print;
} je;

typedef struct hje_state_s {
    unsigned arena;       /* "arenas.create" */
    unsigned tcache;      /* "tcache.create" */
    int aflags;           /* MALLOCX_ARENA(arena) | MALLOCX_TCACHE(tcache) */
    int fflags;           /* MALLOCX_TCACHE(tcache): dallocx takes no arena */
    hl_peer_counts_t counts;   /* stats() and check() */
} hje_state_t;

static inline size_t hje_request(size_t n) { return n < HL_PEER_ALIGNMENT ? HL_PEER_ALIGNMENT : n; }

static inline void hje_count_new(hje_state_t *st, void *p)
{
#if HL_STATS
    if (p) { st->counts.live_blocks++; st->counts.live_bytes += je.sallocx(p, 0); }
#else
    HL_UNUSED(st); HL_UNUSED(p);
#endif
}

static void *hje_malloc(void *ctx, size_t n)
{
    hje_state_t *st = ctx;
    if (_hl_peer_too_big(n)) { errno = ENOMEM; return NULL; }
    void *p = je.mallocx(hje_request(n), st->aflags);
    hje_count_new(st, p);
    return p;
}

static void *hje_calloc(void *ctx, size_t nelem, size_t elsize)
{
    hje_state_t *st = ctx;
    size_t n;
    if (!_hl_peer_mul(nelem, elsize, &n) || _hl_peer_too_big(n)) { errno = ENOMEM; return NULL; }
    void *p = je.mallocx(hje_request(n), st->aflags | MALLOCX_ZERO);
    hje_count_new(st, p);
    return p;
}

static void *hje_realloc(void *ctx, void *p, size_t n)
{
    hje_state_t *st = ctx;
    if (p == NULL)
        return hje_malloc(ctx, n);
    if (_hl_peer_too_big(n)) { errno = ENOMEM; return NULL; }
#if HL_STATS
    size_t old = je.sallocx(p, 0);
#endif
    void *q = je.rallocx(p, hje_request(n), st->aflags);
#if HL_STATS
    if (q) st->counts.live_bytes += je.sallocx(q, 0) - old;
#endif
    return q;
}

static void hje_free(void *ctx, void *p)
{
    hje_state_t *st = ctx;
    if (p == NULL)
        return;
#if HL_STATS
    st->counts.live_blocks--;
    st->counts.live_bytes -= je.sallocx(p, 0);
#endif
    je.dallocx(p, st->fflags);
}

static size_t hje_usable_size(void *ctx, const void *p)
{
    HL_UNUSED(ctx);
    return je.sallocx(p, 0);
}

/* Bring jemalloc's statistics up to date ("epoch"), then read them. */
static void hje_refresh(void)
{
    uint64_t epoch = 1;
    size_t sz = sizeof epoch;
    je.mallctl("epoch", &epoch, &sz, &epoch, sz);
}

/* "stats.arenas.<i>.<what>", size_t- or uint64_t-valued; 0 if unreadable. */
static uint64_t hje_arena_stat(unsigned arena, const char *what, bool u64)
{
    char name[96];
    snprintf(name, sizeof name, "stats.arenas.%u.%s", arena, what);
    if (u64) {
        uint64_t v = 0;
        size_t sz = sizeof v;
        return je.mallctl(name, &v, &sz, NULL, 0) == 0 ? v : 0;
    }
    size_t v = 0;
    size_t sz = sizeof v;
    return je.mallctl(name, &v, &sz, NULL, 0) == 0 ? v : 0;
}

static void hje_stats(void *ctx, hl_stats_t *out)
{
    hje_state_t *st = ctx;
    hje_refresh();
    _hl_peer_stats(&st->counts, true, (size_t)hje_arena_stat(st->arena, "mapped", false), out);
}

static bool hje_check(void *ctx, FILE *report)
{
    hje_state_t *st = ctx;
#if HL_STATS
    if (je.mallctl("tcache.flush", NULL, NULL, &st->tcache, sizeof st->tcache) != 0) {
        if (report) fprintf(report, "jemalloc: tcache.flush %u failed\n", st->tcache);
        return false;
    }
    hje_refresh();
    uint64_t regions = hje_arena_stat(st->arena, "small.nmalloc", true)
                       - hje_arena_stat(st->arena, "small.ndalloc", true)
                       + hje_arena_stat(st->arena, "large.nmalloc", true)
                       - hje_arena_stat(st->arena, "large.ndalloc", true);
    uint64_t bytes = hje_arena_stat(st->arena, "small.allocated", false)
                     + hje_arena_stat(st->arena, "large.allocated", false);
    if (regions != st->counts.live_blocks) {
        if (report)
            fprintf(report, "jemalloc: arena %u has %" PRIu64 " live regions, "
                    "instance %zu blocks\n", st->arena, regions, st->counts.live_blocks);
        return false;
    }
    if (bytes != st->counts.live_bytes) {
        if (report)
            fprintf(report, "jemalloc: arena %u has %" PRIu64 " bytes allocated, instance %zu\n",
                    st->arena, bytes, st->counts.live_bytes);
        return false;
    }
#else
    HL_UNUSED(st); HL_UNUSED(report);
#endif
    return true;
}

static void hje_write_cb(void *file, const char *text) { _hl_peer_write_cb(file, text); }

static int hje_print_stats(void *ctx, FILE *out)
{
    HL_UNUSED(ctx);
    je.malloc_stats_print(hje_write_cb, out, NULL);
    return 1;
}

static void hje_destroy(void *ctx)
{
    hje_state_t *st = ctx;
    char name[64];
    int rc = je.mallctl("tcache.destroy", NULL, NULL, &st->tcache, sizeof st->tcache);
    hl_assert(rc == 0);
    snprintf(name, sizeof name, "arena.%u.destroy", st->arena);
    rc = je.mallctl(name, NULL, NULL, NULL, 0);
    hl_assert(rc == 0);
    HL_UNUSED_RELEASE(rc);
    free(st);
}

static const hl_allocator_ops_t hje_ops = {
    .malloc = hje_malloc,
    .calloc = hje_calloc,
    .realloc = hje_realloc,
    .free = hje_free,
    .usable_size = hje_usable_size,
    .stats = hje_stats,
    .check = hje_check,
    .print_stats = hje_print_stats,
    .destroy = hje_destroy,
    .walk = NULL,          /* no view of the arena: see the header */
};

static int hje_load(char *err, size_t errlen)
{
    if (_hl_peer_open(&hje_lib, err, errlen) != 0)
        return -1;
    if (je.mallctl != NULL)
        return 0;
#define LOAD(f) \
    if ((je.f = (__typeof__(je.f))_hl_peer_sym(&hje_lib, #f, err, errlen)) == NULL) return -1
    LOAD(mallocx);
    LOAD(rallocx);
    LOAD(dallocx);
    LOAD(sallocx);
    LOAD(malloc_stats_print);
    LOAD(mallctl);   /* last: its being set means all are */
#undef LOAD
    return 0;
}

int hl_jemalloc_create(const hl_alloc_options_t *opt, hl_allocator_t *out, char *err, size_t errlen)
{
    HL_UNUSED(opt);
    if (hje_load(err, errlen) != 0)
        return -1;
    hje_state_t *st = calloc(1, sizeof *st);
    if (st == NULL)
        return _hl_err(err, errlen, "jemalloc: out of memory");
    size_t sz = sizeof st->arena;
    if (je.mallctl("arenas.create", &st->arena, &sz, NULL, 0) != 0) {
        free(st);
        return _hl_err(err, errlen, "jemalloc: mallctl(\"arenas.create\") failed "
                                    "(too many live instances?)");
    }
    sz = sizeof st->tcache;
    if (je.mallctl("tcache.create", &st->tcache, &sz, NULL, 0) != 0) {
        char name[64];
        snprintf(name, sizeof name, "arena.%u.destroy", st->arena);
        je.mallctl(name, NULL, NULL, NULL, 0);
        free(st);
        return _hl_err(err, errlen, "jemalloc: mallctl(\"tcache.create\") failed "
                                    "(too many live instances?)");
    }
    st->aflags = MALLOCX_ARENA(st->arena) | MALLOCX_TCACHE(st->tcache);
    st->fflags = MALLOCX_TCACHE(st->tcache);
    out->ops = &hje_ops;
    out->ctx = st;
    out->name = "jemalloc";
    return 0;
}
