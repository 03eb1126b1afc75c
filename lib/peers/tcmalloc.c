/* tcmalloc.c: gperftools' tcmalloc 2.10 (Debian's libtcmalloc_minimal.so.4)
 * behind the heaplab interface.
 *
 * The library is dlopen()ed with RTLD_LOCAL (peers.c) and reached only
 * through its tc_* entry points and MallocExtension's C API (and, for
 * walk(), one C++ call); its malloc, which would override the C library's,
 * is never called.  The "minimal" build is the one without the heap
 * profiler and checker (and without their libunwind dependency); its
 * allocator is the same.
 *
 * What an instance is.  tcmalloc has one heap per process (a page heap, a
 * central free list per size class, a cache per thread) and no API to make
 * another, so, as `glibc`, an instance is a view of that one heap, not an
 * independent one: any number of instances may exist, and blocks of all of
 * them share pages.  Each instance counts its own live blocks.  destroy()
 * cannot free blocks the caller left live; it calls
 * MallocExtension_ReleaseFreeMemory(), which returns every free page of the
 * page heap to the system (as `glibc` calls malloc_trim).
 *
 * Requests.  Every block is 16-byte aligned (HL_PEER_ALIGNMENT): tcmalloc
 * aligns classes of 16 bytes and more to at least 16, but its one 8-byte
 * class only to 8, so requests below 16 bytes ask for 16.  That also covers
 * malloc(0), and realloc(p, 0), which tc_realloc treats as free(p) and
 * returns NULL: here it returns a unique 16-byte block.  Requests above
 * PTRDIFF_MAX fail before reaching tcmalloc; tc_malloc itself returns NULL
 * for anything it cannot map (checked for SIZE_MAX, PTRDIFF_MAX, 2^50 and
 * 2^40) without aborting; only the C++ operator new paths throw.  calloc
 * checks nelem * elsize for overflow, then calls tc_calloc(n, 1).
 * usable_size is tc_malloc_size, the size class, >= the request.
 *
 * Stats.  held_bytes is MallocExtension's "generic.total_physical_bytes":
 * the page heap less what was released to the system, plus tcmalloc's
 * metadata; process-wide, for all instances together, like `glibc`'s.
 * held_peak_bytes is the largest held_bytes seen by a stats() call since
 * creation (sampled).  live_blocks and live_bytes (tc_malloc_size of each
 * live block) are counted by the instance in HL_STATS builds.
 * tcmalloc's own "generic.current_allocated_bytes" is process-wide too, so
 * it is not an instance's live_bytes, and is not reported as such.
 *
 * check() is MallocExtension_VerifyAllMemory().  Only the debug build of the
 * library (libtcmalloc_debug) walks its heap there; the minimal build's
 * returns true without looking, so check() verifies nothing more than that.
 *
 * print_stats() is MallocExtension_GetStats: the process-wide report.
 *
 * walk() is MallocExtension::instance()->Ranges (C++ only: tcmalloc_ranges.cc
 * makes the call), the page heap's spans in address order, so, like
 * everything here, the whole process's tcmalloc heap, every instance's
 * blocks together.  A span in use is USED as a whole: a large block, or a
 * span carved into objects of one size class, of which only some may be
 * allocated (the rest on the central free list or in a thread cache: the
 * caller's live set shows them as cached).  A span on the page heap's free
 * lists is FREE; one whose pages went back to the system (UNMAPPED) is not
 * reported, as generic.total_physical_bytes (held_bytes) does not count it
 * either; a type tcmalloc might add (UNKNOWN) is OVERHEAD.  What it cannot
 * see: the objects inside a span (no per-object walk exists) and tcmalloc's
 * metadata (span records, the page map, thread caches), which held_bytes
 * does count.  tcmalloc takes its memory with sbrk while it can, so its spans
 * may sit inside the process's brk region, next to glibc's heap.
 */
#include "hl_debug.h"
#include "peers.h"
#include "peers_internal.h"
#include "tcmalloc_ranges.h"

#include <errno.h>
#include <gperftools/malloc_extension_c.h>   /* prototypes only: nothing is linked */
#include <gperftools/tcmalloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hl_peer_lib_t tc_lib = {"tcmalloc", "libtcmalloc_minimal.so.4", "libtcmalloc-minimal4",
                               NULL};

static struct {
    __typeof__(tc_malloc) *malloc;
    __typeof__(tc_calloc) *calloc;
    __typeof__(tc_realloc) *realloc;
    __typeof__(tc_free) *free;
    __typeof__(tc_malloc_size) *malloc_size;
    __typeof__(MallocExtension_GetNumericProperty) *get_numeric_property;
    __typeof__(MallocExtension_GetStats) *get_stats;
    __typeof__(MallocExtension_VerifyAllMemory) *verify_all_memory;
    __typeof__(MallocExtension_ReleaseFreeMemory) *release_free_memory;
    void *(*instance)(void);   /* MallocExtension::instance() */
} tc;

typedef struct htc_state_s {
    hl_peer_counts_t counts;   /* stats() */
} htc_state_t;

static inline size_t htc_request(size_t n) { return n < HL_PEER_ALIGNMENT ? HL_PEER_ALIGNMENT : n; }

static inline void htc_count_new(htc_state_t *st, void *p)
{
#if HL_STATS
    if (p) { st->counts.live_blocks++; st->counts.live_bytes += tc.malloc_size(p); }
#else
    HL_UNUSED(st); HL_UNUSED(p);
#endif
}

static void *htc_malloc(void *ctx, size_t n)
{
    if (_hl_peer_too_big(n)) { errno = ENOMEM; return NULL; }
    void *p = tc.malloc(htc_request(n));
    htc_count_new(ctx, p);
    return p;
}

static void *htc_calloc(void *ctx, size_t nelem, size_t elsize)
{
    size_t n;
    if (!_hl_peer_mul(nelem, elsize, &n) || _hl_peer_too_big(n)) { errno = ENOMEM; return NULL; }
    void *p = tc.calloc(htc_request(n), 1);
    htc_count_new(ctx, p);
    return p;
}

static void *htc_realloc(void *ctx, void *p, size_t n)
{
    if (p == NULL)
        return htc_malloc(ctx, n);
    if (_hl_peer_too_big(n)) { errno = ENOMEM; return NULL; }
#if HL_STATS
    htc_state_t *st = ctx;
    size_t old = tc.malloc_size(p);
#endif
    void *q = tc.realloc(p, htc_request(n));
#if HL_STATS
    if (q) st->counts.live_bytes += tc.malloc_size(q) - old;
#endif
    return q;
}

static void htc_free(void *ctx, void *p)
{
    if (p == NULL)
        return;
#if HL_STATS
    htc_state_t *st = ctx;
    st->counts.live_blocks--;
    st->counts.live_bytes -= tc.malloc_size(p);
#else
    HL_UNUSED(ctx);
#endif
    tc.free(p);
}

static size_t htc_usable_size(void *ctx, const void *p)
{
    HL_UNUSED(ctx);
    return tc.malloc_size((void *)p);
}

static void htc_stats(void *ctx, hl_stats_t *out)
{
    htc_state_t *st = ctx;
    size_t held = 0;
    bool known = tc.get_numeric_property("generic.total_physical_bytes", &held) != 0;
    _hl_peer_stats(&st->counts, known, held, out);
}

static bool htc_check(void *ctx, FILE *report)
{
    HL_UNUSED(ctx);
    /* A stub returning true in the minimal library (see the header). */
    if (!tc.verify_all_memory()) {
        if (report) fprintf(report, "tcmalloc: MallocExtension_VerifyAllMemory failed\n");
        return false;
    }
    return true;
}

static int htc_print_stats(void *ctx, FILE *out)
{
    HL_UNUSED(ctx);
    /* GetStats truncates to the buffer: grow it until the text fits. */
    for (size_t len = 16 << 10; len <= (16u << 20); len *= 2) {
        char *buf = malloc(len);
        if (buf == NULL)
            return 0;
        buf[0] = '\0';
        tc.get_stats(buf, (int)len);
        size_t used = strlen(buf);
        if (used + 1 < len) {
            fputs(buf, out);
            free(buf);
            return 1;
        }
        free(buf);
    }
    return 0;
}

static void htc_destroy(void *ctx)
{
    free(ctx);
    tc.release_free_memory();
}

/* walk(): see the header for the mapping of MallocRange's types. */
typedef struct htc_walk_s {
    hl_span_fn fn;
    void *user;
} htc_walk_t;

static void htc_range(void *user, uintptr_t addr, size_t length, hl_tc_range_type_t type)
{
    const htc_walk_t *w = user;
    hl_span_kind_t kind;
    switch (type) {
    case HL_TC_RANGE_INUSE: kind = HL_SPAN_USED; break;
    case HL_TC_RANGE_FREE: kind = HL_SPAN_FREE; break;
    case HL_TC_RANGE_UNMAPPED: return;          /* not held */
    default: kind = HL_SPAN_OVERHEAD; break;
    }
    if (length > 0)
        w->fn(w->user, addr, length, kind);
}

static int htc_walk(void *ctx, hl_span_fn fn, void *user)
{
    HL_UNUSED(ctx);
    htc_walk_t w = {fn, user};
    return _hl_tc_ranges(tc.instance, htc_range, &w);
}

static const hl_allocator_ops_t htc_ops = {
    .malloc = htc_malloc,
    .calloc = htc_calloc,
    .realloc = htc_realloc,
    .free = htc_free,
    .usable_size = htc_usable_size,
    .stats = htc_stats,
    .check = htc_check,
    .print_stats = htc_print_stats,
    .destroy = htc_destroy,
    .walk = htc_walk,
};

static int htc_load(char *err, size_t errlen)
{
    if (_hl_peer_open(&tc_lib, err, errlen) != 0)
        return -1;
    if (tc.malloc != NULL)
        return 0;
#define LOAD(f, sym) \
    if ((tc.f = (__typeof__(tc.f))_hl_peer_sym(&tc_lib, sym, err, errlen)) == NULL) return -1
    LOAD(calloc, "tc_calloc");
    LOAD(realloc, "tc_realloc");
    LOAD(free, "tc_free");
    LOAD(malloc_size, "tc_malloc_size");
    LOAD(get_numeric_property, "MallocExtension_GetNumericProperty");
    LOAD(get_stats, "MallocExtension_GetStats");
    LOAD(verify_all_memory, "MallocExtension_VerifyAllMemory");
    LOAD(release_free_memory, "MallocExtension_ReleaseFreeMemory");
    LOAD(instance, HL_TC_INSTANCE_SYMBOL);
    LOAD(malloc, "tc_malloc");   /* last: its being set means all are */
#undef LOAD
    return 0;
}

int hl_tcmalloc_create(const hl_alloc_options_t *opt, hl_allocator_t *out, char *err, size_t errlen)
{
    HL_UNUSED(opt);
    if (htc_load(err, errlen) != 0)
        return -1;
    htc_state_t *st = calloc(1, sizeof *st);
    if (st == NULL)
        return _hl_err(err, errlen, "tcmalloc: out of memory");
    out->ops = &htc_ops;
    out->ctx = st;
    out->name = "tcmalloc";
    return 0;
}
