/* mimalloc.c: mimalloc 2.0 (Debian's libmimalloc.so.2) behind the heaplab
 * interface.
 *
 * The library is dlopen()ed with RTLD_LOCAL (peers.c) and reached only
 * through its mi_* API; its malloc, which would override the C library's, is
 * never called.
 *
 * What an instance is.  mimalloc is one library per process, with its
 * segments (the memory it takes from the system) owned per thread.  An
 * instance is a first-class heap of its own, mi_heap_new(): every block is
 * allocated with mi_heap_malloc / mi_heap_zalloc / mi_heap_realloc on that
 * heap, so its pages are its own, and destroy() is mi_heap_destroy(), which
 * frees every block still in the heap at once (live blocks included), then
 * mi_collect(true), which returns the free memory the thread's heaps and
 * segment cache still hold to the system.  mi_free is heap-agnostic: a
 * block goes back to the page, hence the heap, it came from.  Two instances share segments and the OS-level cache,
 * never pages.
 *
 * A mimalloc heap belongs to the thread that created it: an instance must be
 * used, and destroyed, by the thread that created it.
 *
 * Requests.  mimalloc aligns a block to its size class's word granularity:
 * the small classes step by 8 bytes, so an 8- or 24-byte block is only 8-byte
 * aligned.  Every request is therefore rounded up to a multiple of 16
 * (HL_PEER_ALIGNMENT; 0 becomes 16), which puts it in a class whose blocks
 * are all 16-byte aligned (peers_test checks every block).  That also makes
 * malloc(0) and realloc(p, 0) return a unique block; realloc(p, 0) is not a
 * free.  Requests above PTRDIFF_MAX fail before reaching mimalloc (which
 * itself returns NULL for them, and for any size the OS refuses).  calloc
 * checks nelem * elsize for overflow, then uses mi_heap_zalloc.  usable_size
 * is mi_usable_size, >= the rounded request.  mimalloc's realloc does not
 * move a block to shrink it while at least half of it stays in use.
 *
 * Stats.  held_bytes is mimalloc's own count of committed memory
 * (mi_process_info's current_commit): process-wide, every mimalloc heap in
 * the process and the segments and metadata behind them; nothing else in a
 * heaplab process uses mimalloc, so it is what all mimalloc instances hold
 * from the system together.  held_peak_bytes is the largest held_bytes seen
 * by a stats() call since creation (sampled, as `glibc`).  live_blocks and
 * live_bytes (mi_usable_size of each live block) are counted by the instance
 * in HL_STATS builds.
 *
 * check() walks the heap with mi_heap_visit_blocks (every page, every used
 * block) and checks that each used block is 16-byte aligned and, in HL_STATS
 * builds, that the blocks and their usable bytes add up to the instance's
 * live_blocks and live_bytes.  A release mimalloc has no other validity
 * checks to call (mi_assert_expensive is MI_DEBUG=3 only).
 *
 * print_stats() is mi_stats_print_out: the process-wide report.  A release
 * build counts the OS-level figures (reserved, committed, segments, process
 * times and RSS); the per-size-class counters are compiled out (MI_STAT=0)
 * and print as zero.
 *
 * walk() is mi_heap_visit_blocks(heap, true, ...) on the instance's heap:
 * every page of the heap is an area (mi_heap_area_t) of one block size,
 * `full_block_size`, starting at `blocks`; the first `committed` bytes are
 * the blocks the page has carved so far (capacity * full_block_size, on its
 * free lists or in use), the rest up to `reserved` the blocks it may still
 * carve.  The visitor is called once per area with block NULL, then once per
 * block in use, in address order.  So each area is reported as its blocks
 * in use (USED, runs merged), the carved blocks between them (FREE) and
 * the uncarved tail [blocks + committed, blocks + reserved) (UNUSED).
 * mimalloc has no cache of freed blocks: a block freed, by this thread or
 * another, is on its page's free lists (the visit collects the delayed
 * ones first), so USED is exactly the instance's live blocks.  What it
 * cannot see: the segment and page metadata and the slack after a page's
 * last block; pages of the heap's segments that are not in the heap (free,
 * or in the segment cache), other heaps' pages in the same segments, and
 * abandoned ones.  held_bytes is the process's commit, so the spans cover
 * only part of it.  Like every call on the instance, walk() must run on the
 * thread that created it.
 */
#include "hl_debug.h"
#include "peers.h"
#include "peers_internal.h"

#include <errno.h>
#include <mimalloc.h>   /* prototypes and types only: nothing is linked */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hl_peer_lib_t hmi_lib = {"mimalloc", "libmimalloc.so.2", "libmimalloc2.0", NULL};

static struct {
    __typeof__(mi_heap_new) *heap_new;
    __typeof__(mi_heap_malloc) *heap_malloc;
    __typeof__(mi_heap_zalloc) *heap_zalloc;
    __typeof__(mi_heap_realloc) *heap_realloc;
    __typeof__(mi_free) *free;
    __typeof__(mi_usable_size) *usable_size;
    __typeof__(mi_heap_destroy) *heap_destroy;
    __typeof__(mi_collect) *collect;
    __typeof__(mi_heap_visit_blocks) *heap_visit_blocks;
    __typeof__(mi_process_info) *process_info;
    __typeof__(mi_stats_print_out) *stats_print_out;
} mi;

typedef struct hmi_state_s {
    mi_heap_t *heap;
    hl_peer_counts_t counts;   /* stats() and check() */
} hmi_state_t;

/* Round up to a multiple of 16; n <= PTRDIFF_MAX, so this cannot overflow. */
static inline size_t hmi_request(size_t n)
{
    if (n == 0)
        return HL_PEER_ALIGNMENT;
    return (n + HL_PEER_ALIGNMENT - 1) & ~(size_t)(HL_PEER_ALIGNMENT - 1);
}

static inline void hmi_count_new(hmi_state_t *st, void *p)
{
#if HL_STATS
    if (p) { st->counts.live_blocks++; st->counts.live_bytes += mi.usable_size(p); }
#else
    HL_UNUSED(st); HL_UNUSED(p);
#endif
}

static void *hmi_malloc(void *ctx, size_t n)
{
    hmi_state_t *st = ctx;
    if (_hl_peer_too_big(n)) { errno = ENOMEM; return NULL; }
    void *p = mi.heap_malloc(st->heap, hmi_request(n));
    hmi_count_new(st, p);
    return p;
}

static void *hmi_calloc(void *ctx, size_t nelem, size_t elsize)
{
    hmi_state_t *st = ctx;
    size_t n;
    if (!_hl_peer_mul(nelem, elsize, &n) || _hl_peer_too_big(n)) { errno = ENOMEM; return NULL; }
    void *p = mi.heap_zalloc(st->heap, hmi_request(n));
    hmi_count_new(st, p);
    return p;
}

static void *hmi_realloc(void *ctx, void *p, size_t n)
{
    hmi_state_t *st = ctx;
    if (p == NULL)
        return hmi_malloc(ctx, n);
    if (_hl_peer_too_big(n)) { errno = ENOMEM; return NULL; }
#if HL_STATS
    size_t old = mi.usable_size(p);
#endif
    void *q = mi.heap_realloc(st->heap, p, hmi_request(n));
#if HL_STATS
    if (q) st->counts.live_bytes += mi.usable_size(q) - old;
#endif
    return q;
}

static void hmi_free(void *ctx, void *p)
{
    hmi_state_t *st = ctx;
    if (p == NULL)
        return;
#if HL_STATS
    st->counts.live_blocks--;
    st->counts.live_bytes -= mi.usable_size(p);
#else
    HL_UNUSED(st);
#endif
    mi.free(p);
}

static size_t hmi_usable_size(void *ctx, const void *p)
{
    HL_UNUSED(ctx);
    return mi.usable_size(p);
}

static void hmi_stats(void *ctx, hl_stats_t *out)
{
    hmi_state_t *st = ctx;
    size_t elapsed, user, sys, rss, peak_rss, commit, peak_commit, faults;
    mi.process_info(&elapsed, &user, &sys, &rss, &peak_rss, &commit, &peak_commit, &faults);
    _hl_peer_stats(&st->counts, true, commit, out);
}

typedef struct hmi_walk_s {
    size_t blocks, bytes;
    const void *misaligned;   /* the first misaligned block, if any */
} hmi_walk_t;

static bool hmi_visit(const mi_heap_t *heap, const mi_heap_area_t *area, void *block,
                     size_t block_size, void *arg)
{
    HL_UNUSED(heap); HL_UNUSED(area); HL_UNUSED(block_size);
    hmi_walk_t *w = arg;
    if (block == NULL)
        return true;              /* the per-area call */
    w->blocks++;
    w->bytes += mi.usable_size(block);
    if (((uintptr_t)block & (HL_PEER_ALIGNMENT - 1)) != 0 && w->misaligned == NULL)
        w->misaligned = block;
    return true;
}

static bool hmi_check(void *ctx, FILE *report)
{
    hmi_state_t *st = ctx;
    hmi_walk_t w = {0, 0, NULL};
    /* mi_heap_visit_blocks returns false when a visitor does -- hmi_visit
     * never does -- and also, in mimalloc 2.0, for a heap that has no pages
     * yet (an empty heap is not an error: alloc_fuzz found this).  So its
     * result says nothing here; the walk's counts below do. */
    (void)mi.heap_visit_blocks(st->heap, true, hmi_visit, &w);
    if (w.misaligned != NULL) {
        if (report) fprintf(report, "mimalloc: block %p is not 16-byte aligned\n", w.misaligned);
        return false;
    }
#if HL_STATS
    if (w.blocks != st->counts.live_blocks || w.bytes != st->counts.live_bytes) {
        if (report)
            fprintf(report, "mimalloc: heap has %zu blocks of %zu bytes, instance %zu of %zu\n",
                    w.blocks, w.bytes, st->counts.live_blocks, st->counts.live_bytes);
        return false;
    }
#endif
    return true;
}

/* walk(): one area at a time, runs of one kind merged into one span. */
typedef struct hmi_span_walk_s {
    hl_span_fn fn;
    void *user;
    bool bad;                    /* a block outside its area, or out of order */
    bool open;                   /* an area is being walked */
    uintptr_t cursor;            /* the next block slot of the area */
    uintptr_t committed_end, reserved_end;
    size_t bsize;                /* full_block_size */
    uintptr_t base;              /* area->blocks */
    uintptr_t run;               /* pending span [run, cursor) of run_kind */
    hl_span_kind_t run_kind;
} hmi_span_walk_t;

static void hmi_span(hmi_span_walk_t *w, uintptr_t end, hl_span_kind_t kind)
{
    if (end == w->cursor)
        return;
    if (kind != w->run_kind) {
        if (w->cursor > w->run)
            w->fn(w->user, w->run, w->cursor - w->run, w->run_kind);
        w->run = w->cursor;
        w->run_kind = kind;
    }
    w->cursor = end;
}

static void hmi_area_end(hmi_span_walk_t *w)
{
    if (!w->open)
        return;
    hmi_span(w, w->committed_end, HL_SPAN_FREE);
    hmi_span(w, w->reserved_end, HL_SPAN_UNUSED);
    if (w->cursor > w->run)
        w->fn(w->user, w->run, w->cursor - w->run, w->run_kind);
    w->open = false;
}

static bool hmi_visit_span(const mi_heap_t *heap, const mi_heap_area_t *area, void *block,
                           size_t block_size, void *arg)
{
    HL_UNUSED(heap); HL_UNUSED(block_size);
    hmi_span_walk_t *w = arg;
    uintptr_t b = (uintptr_t)block;
    if (block == NULL) {                        /* a new area */
        hmi_area_end(w);
        uintptr_t base = (uintptr_t)area->blocks;
        if (area->full_block_size == 0 || area->committed > area->reserved
            || area->committed % area->full_block_size != 0
            || base + area->reserved < base) {
            w->bad = true;
            return false;
        }
        w->open = true;
        w->base = w->cursor = w->run = base;
        w->run_kind = HL_SPAN_USED;
        w->bsize = area->full_block_size;
        w->committed_end = base + area->committed;
        w->reserved_end = base + area->reserved;
        return true;
    }
    if (!w->open || b < w->cursor || (b - w->base) % w->bsize != 0
        || b + w->bsize > w->committed_end) {
        w->bad = true;
        return false;
    }
    hmi_span(w, b, HL_SPAN_FREE);
    hmi_span(w, b + w->bsize, HL_SPAN_USED);
    return true;
}

static int hmi_walk(void *ctx, hl_span_fn fn, void *user)
{
    hmi_state_t *st = ctx;
    hmi_span_walk_t w;
    memset(&w, 0, sizeof w);
    w.fn = fn;
    w.user = user;
    /* Its result is false for a heap without pages as well (hmi_check):
     * only the visitor's own verdict counts. */
    (void)mi.heap_visit_blocks(st->heap, true, hmi_visit_span, &w);
    if (w.bad)
        return -1;
    hmi_area_end(&w);
    return 0;
}

static void hmi_write_cb(const char *text, void *file) { _hl_peer_write_cb(file, text); }

static int hmi_print_stats(void *ctx, FILE *out)
{
    HL_UNUSED(ctx);
    mi.stats_print_out(hmi_write_cb, out);
    return 1;
}

static void hmi_destroy(void *ctx)
{
    hmi_state_t *st = ctx;
    mi.heap_destroy(st->heap);
    mi.collect(true);
    free(st);
}

static const hl_allocator_ops_t hmi_ops = {
    .malloc = hmi_malloc,
    .calloc = hmi_calloc,
    .realloc = hmi_realloc,
    .free = hmi_free,
    .usable_size = hmi_usable_size,
    .stats = hmi_stats,
    .check = hmi_check,
    .print_stats = hmi_print_stats,
    .destroy = hmi_destroy,
    .walk = hmi_walk,
};

static int hmi_load(char *err, size_t errlen)
{
    if (_hl_peer_open(&hmi_lib, err, errlen) != 0)
        return -1;
    if (mi.heap_new != NULL)
        return 0;
#define LOAD(f) \
    if ((mi.f = (__typeof__(mi.f))_hl_peer_sym(&hmi_lib, "mi_" #f, err, errlen)) == NULL) return -1
    LOAD(heap_malloc);
    LOAD(heap_zalloc);
    LOAD(heap_realloc);
    LOAD(free);
    LOAD(usable_size);
    LOAD(heap_destroy);
    LOAD(collect);
    LOAD(heap_visit_blocks);
    LOAD(process_info);
    LOAD(stats_print_out);
    LOAD(heap_new);   /* last: its being set means all are */
#undef LOAD
    return 0;
}

int hl_mimalloc_create(const hl_alloc_options_t *opt, hl_allocator_t *out, char *err, size_t errlen)
{
    HL_UNUSED(opt);
    if (hmi_load(err, errlen) != 0)
        return -1;
    hmi_state_t *st = calloc(1, sizeof *st);
    if (st == NULL)
        return _hl_err(err, errlen, "mimalloc: out of memory");
    st->heap = mi.heap_new();
    if (st->heap == NULL) {
        free(st);
        return _hl_err(err, errlen, "mimalloc: mi_heap_new failed");
    }
    out->ops = &hmi_ops;
    out->ctx = st;
    out->name = "mimalloc";
    return 0;
}
