/* scaling.c: the scale family -- the cost of one operation as the heap grows.
 *
 *   scale/live/ALLOC/live:N/iterations:32768   one item = one replacement
 *   mem/live/ALLOC/live:N
 *
 * A live set of N blocks, sizes uniform in 16..256 bytes (seeded; mean 136),
 * is allocated before the timing loop.  Each timed iteration then replaces
 * one random live block: free it, allocate a new block of a fresh random
 * size, touch its first byte.  The live set stays at N blocks throughout:
 *
 *     fill (untimed)        steady state (timed)            teardown (untimed)
 *     N mallocs       ──>   free(tab[v]); tab[v] = malloc   ──>  N frees
 *                           v, size from a precomputed stream
 *
 * N runs over 10^3, 10^4, 10^5, 10^6, 10^7 (FULL), 10^3 and 10^5 (QUICK:
 * heaplab run's, within its 10 minutes), 10^3 (SMOKE).  The victims and sizes are one precomputed stream of packed
 * (slot << 8 | size - 16) words, so the loop reads one word per
 * replacement; every allocator gets the same fill and the same stream.
 *
 * What it shows.  An allocator whose operations are O(1) -- segregated
 * lists, size classes, TLSF's two-level index, pymalloc's pools -- keeps its
 * time per replacement nearly flat as N grows; what rises is the cost of
 * memory itself: at 10^5 blocks (~14 MB) the live set leaves the caches, at
 * 10^6..10^7 (140 MB .. 1.4 GB) the TLB, so each replacement misses on the
 * victim's pointer, the victim's header and the allocator's own metadata.
 * A sequential fit degrades far more: its one free list grows as the random
 * frees punch holes in the heap (Knuth's fifty-percent rule: in
 * equilibrium, about one free block per two live ones), and first fit
 * searches it on every malloc and, address-ordered, on every free that
 * cannot coalesce.  Read it as ns per replacement against N on log axes:
 * flat is O(1), a climbing line is search or cache misses.
 *
 * Equal work, bounded time.  Every run makes exactly SCALE_STEPS = 32768
 * replacements after its fill: fixed iterations, so one call per run and
 * one fill (~1..3 s at N = 10^7), where Google Benchmark's own sizing would
 * call the benchmark several times with growing counts and redo the fill
 * each time.  The same count for every N and every allocator also keeps the
 * curve honest for the sequential fits, whose cost per operation depends on
 * history: the free list grows with the frees made so far, towards the
 * equilibrium of ~N/2 holes, which no run could reach at N >= 10^5 (O(N)
 * replacements of O(N) each).  So at large N a run measures the first 32768
 * replacements of a fresh heap -- a young steady state, at most ~16k holes,
 * ever colder to walk as N grows.  The longest run is seqfit-first at
 * N = 10^7: ~11 s timed, ~3 s of fill, sort and teardown.  For the O(1)
 * designs 32768 replacements are 0.5..30 ms of timed work: add
 * --benchmark_repetitions for tighter numbers.
 *
 * Teardown.  Every block is freed, even in timed runs (glibc and tcmalloc
 * share the process heap and would keep them), from the highest address
 * down: the table is sorted first, so that address-ordered first fit merges
 * every free with its free right neighbour in O(1), where frees in slot
 * order would each search a free list of one entry per pinned chunk.
 *
 * Memory.  10^7 blocks are ~1.4 GB requested, plus each allocator's
 * overhead (up to ~1.6x for buddy's powers of two), plus 80 MB of table.
 * The memory runs (N = 10^3 .. 10^6 in FULL, 10^3 and 10^5 in QUICK,
 * 10^3 in SMOKE) make the same SCALE_STEPS replacements between their fill
 * and their teardown; footprint_ratio says how much each design pays to
 * keep N small blocks, internal_frag how much of that is rounding and
 * headers.  They stop at 10^6: a footprint sample can cost O(heap)
 * (glibc's mallinfo2() walks every free chunk), which is why hl_suite.h
 * samples on growth and every 4096 allocations only; sampling every 64
 * operations, frees included, a glibc run at 10^6 had not finished after
 * 25 minutes.
 */
#include "hl_suite.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCALE_INLINE static inline __attribute__((always_inline))

#define SCALE_MIN 16
#define SCALE_MAX 256                       /* SCALE_MAX - SCALE_MIN < 256: one byte */
#define SCALE_SLOT_BITS 24                  /* N < 2^24 */
#define SCALE_STEPS ((int64_t)32768)        /* replacements per run, a power of 2 */

#define SEED_FILL   (HL_SUITE_SEED ^ UINT64_C(0x5ca1e))
#define SEED_STREAM (HL_SUITE_SEED ^ UINT64_C(0x5ca1e5))

_Static_assert(SCALE_MAX - SCALE_MIN <= 0xff, "a size code fits a byte");
_Static_assert((SCALE_STEPS & (SCALE_STEPS - 1)) == 0, "the stream is indexed with a mask");

typedef struct live_s {
    size_t live;          /* N */
    uintptr_t *tab;       /* [N]: the live blocks */
    uint8_t *code;        /* [N]: size - SCALE_MIN of each (memory runs only) */
    uint32_t *ring;       /* [SCALE_STEPS]: slot << 8 | size - SCALE_MIN */
    size_t ring_mask;
} live_t;

static bool live_setup(hl_bench_state_t *st, live_t *w, size_t live, bool mem)
{
    memset(w, 0, sizeof *w);
    if (live == 0 || live >= ((size_t)1 << SCALE_SLOT_BITS)) {
        hl_bench_skip_with_error(st, "live: live must be in 1 .. 2^24-1");
        return false;
    }
    w->live = live;
    /* One entry per replacement (cycled if a run ever made more). */
    const size_t ring = (size_t)SCALE_STEPS;
    w->ring_mask = ring - 1;
    w->tab = calloc(live, sizeof *w->tab);
    w->code = mem ? calloc(live, sizeof *w->code) : NULL;
    w->ring = malloc(ring * sizeof *w->ring);
    if (w->tab == NULL || (mem && w->code == NULL) || w->ring == NULL) {
        hl_bench_skip_with_error(st, "live: out of memory for the workload's tables");
        return false;
    }
    uint64_t s = SEED_STREAM;
    for (size_t i = 0; i < ring; i++) {
        const uint64_t r = hl_suite_rand(&s);
        const uint32_t slot = (uint32_t)((r >> 32) % live);
        const uint32_t code = (uint32_t)((r & 0xffffffffu) % (SCALE_MAX - SCALE_MIN + 1));
        w->ring[i] = slot << 8 | code;
    }
    return true;
}

static void live_teardown(live_t *w)
{
    free(w->tab);
    free(w->code);
    free(w->ring);
}

/* malloc of a block of SCALE_MIN + code bytes, its event, its touch. */
SCALE_INLINE uintptr_t live_malloc(const hl_allocator_t *a, hl_suite_mem_t *m, unsigned code)
{
    const size_t n = SCALE_MIN + code;
    unsigned char *p = hl_malloc(a, n);
    if (m != NULL)
        hl_suite_mem_alloc(m, p, n);
    if (__builtin_expect(p != NULL, 1))
        p[0] = (unsigned char)code;
    hl_bench_do_not_optimize(p);
    return (uintptr_t)p;
}

/* The untimed fill: every slot gets a block, in slot order.  False if an
 * allocation failed. */
SCALE_INLINE bool live_fill(const hl_allocator_t *a, hl_suite_mem_t *m, live_t *w)
{
    uint64_t s = SEED_FILL;
    bool ok = true;
    for (size_t i = 0; i < w->live; i++) {
        const unsigned code = (unsigned)(hl_suite_rand(&s) % (SCALE_MAX - SCALE_MIN + 1));
        w->tab[i] = live_malloc(a, m, code);
        if (m != NULL)
            w->code[i] = (uint8_t)code;
        ok &= w->tab[i] != 0;
    }
    return ok;
}

/* One replacement: the ring entry's slot dies, a block of its size replaces
 * it. */
SCALE_INLINE bool live_step(const hl_allocator_t *a, hl_suite_mem_t *m, live_t *w, uint32_t e)
{
    const uint32_t v = e >> 8;
    void *old = (void *)w->tab[v];
    if (m != NULL)
        hl_suite_mem_free(m, old, SCALE_MIN + (size_t)w->code[v]);
    hl_free(a, old);
    w->tab[v] = live_malloc(a, m, e & 0xff);
    if (m != NULL)
        w->code[v] = (uint8_t)(e & 0xff);
    return w->tab[v] != 0;
}

/* Descending order. */
static int cmp_u64_desc(const void *x, const void *y)
{
    const uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a < b) - (a > b);
}

/* Frees every block, highest address first when the addresses leave room
 * for the size code in a sort key (x86-64 and AArch64 user addresses do),
 * in slot order otherwise (see the head comment).  The table is consumed. */
static void live_free_all(const hl_allocator_t *a, hl_suite_mem_t *m, live_t *w)
{
    bool sortable = sizeof(uintptr_t) == sizeof(uint64_t);
    for (size_t i = 0; sortable && i < w->live; i++)
        sortable = (w->tab[i] >> 56) == 0;
    if (sortable) {
        uint64_t *key = (uint64_t *)w->tab;
        for (size_t i = 0; i < w->live; i++)
            key[i] = (uint64_t)w->tab[i] << 8 | (m != NULL ? w->code[i] : 0);
        qsort(key, w->live, sizeof *key, cmp_u64_desc);
        for (size_t i = 0; i < w->live; i++) {
            void *p = (void *)(uintptr_t)(key[i] >> 8);
            if (m != NULL)
                hl_suite_mem_free(m, p, SCALE_MIN + (size_t)(key[i] & 0xff));
            hl_free(a, p);
        }
    } else {
        for (size_t i = 0; i < w->live; i++) {
            if (m != NULL)
                hl_suite_mem_free(m, (void *)w->tab[i], SCALE_MIN + (size_t)w->code[i]);
            hl_free(a, (void *)w->tab[i]);
        }
    }
    memset(w->tab, 0, w->live * sizeof *w->tab);
}

static void alloc_failed(hl_bench_state_t *st, const char *allocator)
{
    char msg[160];
    snprintf(msg, sizeof msg, "live: an allocation failed on %s", allocator);
    hl_bench_skip_with_error(st, msg);
}

static void bm_live(hl_bench_state_t *st, void *user)
{
    const hl_suite_case_t *c = user;
    live_t w;
    if (!live_setup(st, &w, (size_t)hl_bench_range(st, 0), false))
        goto out;
    hl_allocator_t *a = hl_suite_open(st, c->allocator);
    if (a == NULL)
        goto out;
    if (!live_fill(a, NULL, &w)) {
        alloc_failed(st, c->allocator);
    } else {
        const uint32_t *ring = w.ring;
        const size_t mask = w.ring_mask;
        size_t i = 0;
        while (hl_bench_keep_running(st)) {
            if (!live_step(a, NULL, &w, ring[i++ & mask])) {
                alloc_failed(st, c->allocator);
                break;
            }
        }
        hl_bench_set_items_processed(st, hl_bench_iterations(st));
    }
    live_free_all(a, NULL, &w);
    hl_suite_close(a);
out:
    live_teardown(&w);
}

static void mem_live(hl_bench_state_t *st, void *user)
{
    const hl_suite_case_t *c = user;
    live_t w;
    if (!live_setup(st, &w, (size_t)hl_bench_range(st, 0), true))
        goto out;
    hl_allocator_t *a = hl_suite_open(st, c->allocator);
    if (a == NULL)
        goto out;
    /* One iteration (hl_suite_register_mem): the measured run. */
    while (hl_bench_keep_running(st)) {
        hl_suite_mem_t m;
        hl_suite_mem_begin(&m, a);
        if (live_fill(a, &m, &w)) {
            const size_t steps = (size_t)SCALE_STEPS;
            for (size_t i = 0; i < steps; i++)
                if (!live_step(a, &m, &w, w.ring[i & w.ring_mask]))
                    break;
        }
        live_free_all(a, &m, &w);
        hl_suite_mem_report(&m, st);
    }
    hl_suite_close(a);
out:
    live_teardown(&w);
}

/* ---------------------------------------------------------------------- */
/* Registration */

static const int64_t live_full[] = {1000, 10000, 100000, 1000000, 10000000};
static const int64_t live_quick[] = {1000, 100000};
static const int64_t live_smoke[] = {1000};
/* Up to 10^6: see "Memory" in the head comment. */
static const int64_t mem_full[] = {1000, 10000, 100000, 1000000};
static const int64_t mem_quick[] = {1000, 100000};
static const int64_t mem_smoke[] = {1000};

static const char *const live_names[] = {"live"};

/* One case per allocator, shared by its timed and memory runs; static, as
 * patterns.c's (Google Benchmark never tells a benchmark's owner it is
 * done with the user pointer). */
static hl_suite_case_t live_cases[HL_SUITE_MAX_ALLOCATORS];

void hl_suite_register_scaling(const hl_suite_config_t *cfg)
{
    const int64_t *lv, *mv;
    size_t nl, nm;
    switch (cfg->scale) {
    case HL_SUITE_QUICK:
        lv = live_quick, nl = sizeof live_quick / sizeof *lv;
        mv = mem_quick, nm = sizeof mem_quick / sizeof *mv;
        break;
    case HL_SUITE_SMOKE:
        lv = live_smoke, nl = sizeof live_smoke / sizeof *lv;
        mv = mem_smoke, nm = sizeof mem_smoke / sizeof *mv;
        break;
    default:
        lv = live_full, nl = sizeof live_full / sizeof *lv;
        mv = mem_full, nm = sizeof mem_full / sizeof *mv;
        break;
    }
    for (size_t j = 0; j < cfg->nallocators; j++) {
        hl_suite_case_t *c = &live_cases[j];
        *c = (hl_suite_case_t){.allocator = cfg->allocators[j], .workload = NULL};
        /* One call per run, SCALE_STEPS replacements (see the head comment). */
        hl_bench_t *b = hl_suite_register("scale", "live", c->allocator, bm_live, c);
        hl_bench_arg_names(b, live_names, 1);
        hl_bench_set_iterations(b, SCALE_STEPS);
        for (size_t i = 0; i < nl; i++)
            hl_bench_arg(b, lv[i]);
        hl_bench_t *mb = hl_suite_register_mem("live", c->allocator, mem_live, c);
        hl_bench_arg_names(mb, live_names, 1);
        for (size_t i = 0; i < nm; i++)
            hl_bench_arg(mb, mv[i]);
    }
}
