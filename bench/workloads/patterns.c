/* patterns.c: the pattern family -- allocation patterns from the benchmark
 * literature, each on every allocator, timed (pattern/...) and measured for
 * memory (mem/...).
 *
 *   pattern/glibc_simple/ALLOC/n:N/size:S   one item = one malloc (+ its free)
 *   pattern/larson/ALLOC/slots:N            one item = one replacement
 *   pattern/ramp/ALLOC/live:N               one item = one malloc (+ its free)
 *   pattern/peak/ALLOC/batch:N              one item = one malloc (+ its free)
 *   pattern/plateau/ALLOC/live:N            one item = one malloc (+ its free)
 *   mem/<the same workloads>/ALLOC/<the same arguments>
 *
 * Every block is touched when it is allocated (its first byte, and one byte
 * per 4 KiB page after it; glibc_simple fills the whole block), so an
 * allocator that hands out memory it has not yet faulted in pays for it
 * here, as a program would.  Sizes, victims and orders come from
 * hl_suite_rand with fixed seeds and are computed before the timing loop:
 * every allocator sees the same requests in the same order, and the loop
 * does nothing but the allocator calls, the touches and the bookkeeping of
 * the live set.  Each workload body is one always-inline function taking an
 * hl_suite_mem_t *: NULL in the timed run (the events compile away), a live
 * measurement in the memory run, so both run exactly the same requests.
 * Tables of the workload itself (pointer arrays, precomputed streams) come
 * from the process's malloc and are set up before the allocator instance is
 * measured: glibc and tcmalloc share the process heap, and their footprint
 * must not include our tables.
 *
 * 1. glibc_simple -- glibc's benchtests/bench-malloc-simple.c (2019; the
 *    copy in mimalloc-bench, bench/glibc-bench/, is the "glibc-simple"
 *    test there).  What that program does: for n in 25, 100, 400, 1600 it
 *    repeats a round "malloc n blocks of one size, then free the n blocks"
 *    (NUM_ITERS / n rounds, so every n makes the same number of calls), for
 *    a block size of 16 bytes by default; mimalloc-bench's copy runs sizes
 *    val, 2*val and 4*val (16, 32, 64) and writes every int of each block
 *    after allocating it.  It exists to track the speed of glibc's tcache
 *    and fastbins, i.e. of a small, hot, same-size working set.
 *    What we reproduce: the single-threaded main-arena scenario only (the
 *    thread-arena and SINGLE_THREAD_P=false scenarios have no meaning for a
 *    single-threaded instance), the four n and the three sizes as named
 *    arguments, the fill of every byte of each block.  What differs: the
 *    round count is Google Benchmark's; and the frees of a round are half
 *    FIFO and half LIFO -- blocks [0, n/2) in allocation order, then blocks
 *    [n/2, n) newest first -- where both glibc's and mimalloc-bench's
 *    sources read here free all n in allocation order.  We follow the
 *    suite's reference notes on the test (a summary of mimalloc-bench's
 *    description), which say half FIFO and half LIFO, so a round exercises
 *    both: FIFO frees hand the next round the oldest blocks' memory, LIFO
 *    frees the most recently used.
 *
 * 2. larson -- Larson & Krishnan (ISMM'98), the server model of
 *    mimalloc-bench's larsonN: each thread owns a table of chunk slots and
 *    repeatedly picks a random slot, frees its block and allocates a new
 *    one of a random size (mimalloc-bench: 8..1000 bytes, 5000 slots per
 *    thread, 100 rounds, seed 4141); after each round the thread's table is
 *    handed to a new thread, which then frees blocks its predecessor
 *    allocated ("bleeding").  Our benchmarks are single-threaded, so the
 *    rounds collapse into one thread: one table, filled once before the
 *    timing loop (as larson's warm-up), then an endless stream of
 *    replacements; no thread hand-off, no cross-thread frees.  Slots: 5000
 *    (FULL, QUICK), 500 (SMOKE); sizes uniform in 8..1000, seeded (our
 *    seed, not 4141).  One item = one replacement (a free and a malloc).
 *    The memory run fills the table, makes 4 x slots replacements and
 *    frees the table.
 *
 * 3. Wilson, Johnstone, Neely & Boles ("Dynamic Storage Allocation: A
 *    Survey and Critical Review", IWMM 1995) observe that real programs'
 *    live memory over time is not random but a composition of three
 *    shapes -- ramps, peaks and plateaus -- and argue that synthetic traces
 *    with random lifetimes misjudge allocators because they lack them.
 *    Each shape is a workload here.  All three draw sizes from one mixed
 *    distribution, wilson_size():
 *
 *        63 in 64 requests: small, uniform in 1..512 bytes
 *         1 in 64 requests: large, an octave 2^e picked uniformly among
 *                           e = 9..15, then uniform in (2^e, 2^(e+1)]:
 *                           513 bytes .. 64 KiB, log-uniform
 *
 *    (mean ~470 bytes, about half of the bytes in the large blocks, so the
 *    small-object allocator and the large-block path are both in play, and
 *    a large block freed among small ones is a hole only some requests fit).
 *
 *    ramp (arg live = L): the live set grows steadily to L long-lived
 *    blocks, with a little short-lived churn interleaved: after every 4th
 *    long-lived allocation, one short-lived block is allocated into a ring
 *    of 8 and the ring's previous occupant (allocated 8 churn steps, i.e.
 *    32 long-lived allocations, earlier) is freed.  At the end the ring is
 *    freed, then the L long-lived blocks in allocation order.  One step =
 *    the whole ramp, L + L/4 allocations.  What it shows: how the heap
 *    grows under a monotone live set whose short-lived blocks leave holes
 *    behind, and what the allocator keeps after everything died
 *    (retained).
 *
 *    peak (arg batch = P): a long-lived base of P/16 blocks is allocated
 *    first (before the timing loop) and lives to the end.  One step = one
 *    peak: P short-lived blocks are allocated in a burst, then freed in a
 *    random order, except every 64th block of the burst, which survives
 *    into the next peak and is freed at the end of it (after that peak's
 *    own burst died).  The bursts are 4 precomputed batches (sizes and free
 *    order), used in turn.  The survivors stand for the few objects of a
 *    phase that outlive it: they pin a few blocks of every page the burst
 *    used while the next burst looks for memory, so an allocator that
 *    cannot reuse partly used pages or coalesce around them shows it.  P
 *    allocations per step.  The memory run does 4 peaks.
 *
 *    plateau (arg live = L): L blocks are allocated quickly, then a steady
 *    phase of 4 x L replacements keeps the live size constant: each picks a
 *    random live block (a precomputed victim stream), frees it and
 *    allocates a new one of a fresh random size, so lifetimes are long
 *    (geometric, mean L replacements); then all L are freed in slot order.
 *    One step = the whole plateau, L + 4L allocations.  What it shows: the
 *    long-run fragmentation of a stable heap with mixed sizes, and the
 *    cost of finding room in it.
 *
 *    Sizes: ramp L = 20000, 100000 (FULL), 20000 (QUICK), 500 (SMOKE);
 *    peak P = 20000, 50000 / 20000 / 500; plateau L = 10000, 50000 /
 *    10000 / 250.  A QUICK step is a few milliseconds on pymalloc; the
 *    biggest FULL runs take seconds per step on seqfit-first, whose
 *    address-ordered frees search its free list (the memory run of peak,
 *    4 steps, is the longest: ~6 s at P = 50000).
 *
 * How to read them.  The timed runs give ns per allocation (1e9 /
 * items_per_second) for the same request stream on every allocator.  The
 * memory runs of ramp, peak and plateau are the report's fragmentation
 * measures: footprint_ratio = peak footprint / peak live bytes (Johnstone &
 * Wilson's measure #4), retained = what the allocator still holds once
 * every block died.
 */
#include "hl_suite.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAT_INLINE static inline __attribute__((always_inline))
#define PAT_PAGE 4096

/* Seeds, one per workload (each its own stream; all allocators share it). */
#define SEED_LARSON  (HL_SUITE_SEED ^ UINT64_C(0x1a75))
#define SEED_RAMP    (HL_SUITE_SEED ^ UINT64_C(0x4a3b))
#define SEED_PEAK    (HL_SUITE_SEED ^ UINT64_C(0x9ea4))
#define SEED_PLATEAU (HL_SUITE_SEED ^ UINT64_C(0x91a7))

/* ---------------------------------------------------------------------- */
/* Helpers shared by the workloads */

/* The first byte, then one byte per page: the block is really in use. */
PAT_INLINE void pat_touch(void *p, size_t n)
{
    unsigned char *c = p;
    c[0] = (unsigned char)n;
    for (size_t off = PAT_PAGE; off < n; off += PAT_PAGE)
        c[off] = 1;
    hl_bench_do_not_optimize(p);
}

/* malloc + the memory event (m NULL: none) + the touch.  NULL on failure
 * (the memory run records it as a failure; callers report it). */
PAT_INLINE void *pat_malloc(const hl_allocator_t *a, hl_suite_mem_t *m, size_t n)
{
    void *p = hl_malloc(a, n);
    if (m != NULL)
        hl_suite_mem_alloc(m, p, n);
    if (__builtin_expect(p != NULL, 1))
        pat_touch(p, n);
    return p;
}

/* The memory event, then free.  p may be NULL (an allocation that failed). */
PAT_INLINE void pat_free(const hl_allocator_t *a, hl_suite_mem_t *m, void *p, size_t n)
{
    if (m != NULL)
        hl_suite_mem_free(m, p, n);
    hl_free(a, p);
}

/* Wilson et al.'s mixed sizes (see the head comment). */
static size_t wilson_size(uint64_t *s)
{
    uint64_t r = hl_suite_rand(s);
    if ((r & 63) != 0)
        return 1 + (size_t)((r >> 6) % 512);
    const unsigned e = 9 + (unsigned)((r >> 6) % 7);
    return ((size_t)1 << e) + 1 + (size_t)((r >> 16) % ((uint64_t)1 << e));
}

/* A uniformly random permutation of xs[0..n) (Fisher-Yates). */
static void shuffle_u32(uint32_t *xs, size_t n, uint64_t *s)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(hl_suite_rand(s) % i);
        uint32_t t = xs[i - 1];
        xs[i - 1] = xs[j];
        xs[j] = t;
    }
}

/* calloc, or NULL after a skip naming the workload. */
static void *pat_table(hl_bench_state_t *st, size_t n, size_t size, const char *what)
{
    void *p = calloc(n ? n : 1, size);
    if (p == NULL) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s: out of memory for the workload's tables", what);
        hl_bench_skip_with_error(st, msg);
    }
    return p;
}

static void pat_alloc_failed(hl_bench_state_t *st, const char *what, const char *allocator)
{
    char msg[160];
    snprintf(msg, sizeof msg, "%s: an allocation failed on %s", what, allocator);
    hl_bench_skip_with_error(st, msg);
}

/* ---------------------------------------------------------------------- */
/* 1. glibc_simple */

/* One round: n blocks of `size`, each filled; free [0, n/2) oldest first,
 * then [n/2, n) newest first.  False if an allocation failed. */
PAT_INLINE bool simple_round(const hl_allocator_t *a, hl_suite_mem_t *m, void **arr,
                             size_t n, size_t size)
{
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        void *p = hl_malloc(a, size);
        if (m != NULL)
            hl_suite_mem_alloc(m, p, size);
        if (__builtin_expect(p != NULL, 1))
            memset(p, (int)i, size);
        else
            ok = false;
        hl_bench_do_not_optimize(p);
        arr[i] = p;
    }
    const size_t half = n / 2;
    for (size_t i = 0; i < half; i++)
        pat_free(a, m, arr[i], size);
    for (size_t i = n; i-- > half;)
        pat_free(a, m, arr[i], size);
    return ok;
}

#define SIMPLE_MEM_ROUNDS 8

static void bm_glibc_simple(hl_bench_state_t *st, void *user)
{
    const hl_suite_case_t *c = user;
    const size_t n = (size_t)hl_bench_range(st, 0), size = (size_t)hl_bench_range(st, 1);
    void **arr = pat_table(st, n, sizeof *arr, "glibc_simple");
    if (arr == NULL)
        return;
    hl_allocator_t *a = hl_suite_open(st, c->allocator);
    if (a != NULL) {
        while (hl_bench_keep_running(st)) {
            if (!simple_round(a, NULL, arr, n, size)) {
                pat_alloc_failed(st, "glibc_simple", c->allocator);
                break;
            }
        }
        hl_bench_set_items_processed(st, hl_bench_iterations(st) * (int64_t)n);
        hl_suite_close(a);
    }
    free(arr);
}

static void mem_glibc_simple(hl_bench_state_t *st, void *user)
{
    const hl_suite_case_t *c = user;
    const size_t n = (size_t)hl_bench_range(st, 0), size = (size_t)hl_bench_range(st, 1);
    void **arr = pat_table(st, n, sizeof *arr, "glibc_simple");
    if (arr == NULL)
        return;
    hl_allocator_t *a = hl_suite_open(st, c->allocator);
    if (a == NULL)
        goto out;
    /* One iteration (hl_suite_register_mem): the measured run. */
    while (hl_bench_keep_running(st)) {
        hl_suite_mem_t m;
        hl_suite_mem_begin(&m, a);
        for (int r = 0; r < SIMPLE_MEM_ROUNDS; r++)
            (void)simple_round(a, &m, arr, n, size);
        hl_suite_mem_report(&m, st);
    }
    hl_suite_close(a);
out:
    free(arr);
}

/* ---------------------------------------------------------------------- */
/* 2. larson */

#define LARSON_MIN 8
#define LARSON_MAX 1000
#define LARSON_RING ((size_t)1 << 16)   /* precomputed replacements, cycled */
#define LARSON_MEM_FACTOR 4             /* memory run: 4 x slots replacements */

typedef struct larson_op_s {
    uint32_t slot;
    uint32_t size;
} larson_op_t;

typedef struct larson_s {
    size_t slots;
    void **tab;
    uint32_t *cur;        /* size of each slot's block (memory runs only) */
    larson_op_t *ring;    /* LARSON_RING replacements */
} larson_t;

static bool larson_setup(hl_bench_state_t *st, larson_t *w, size_t slots)
{
    memset(w, 0, sizeof *w);
    w->slots = slots;
    w->tab = pat_table(st, slots, sizeof *w->tab, "larson");
    w->cur = w->tab ? pat_table(st, slots, sizeof *w->cur, "larson") : NULL;
    w->ring = w->cur ? pat_table(st, LARSON_RING, sizeof *w->ring, "larson") : NULL;
    if (w->ring == NULL)
        return false;
    uint64_t s = SEED_LARSON;
    /* The fill's sizes first, then the replacements: same stream for all. */
    for (size_t i = 0; i < slots; i++)
        w->cur[i] = LARSON_MIN + (uint32_t)(hl_suite_rand(&s) % (LARSON_MAX - LARSON_MIN + 1));
    for (size_t i = 0; i < LARSON_RING; i++) {
        uint64_t r = hl_suite_rand(&s);
        w->ring[i].slot = (uint32_t)((r >> 32) % slots);
        w->ring[i].size = LARSON_MIN + (uint32_t)((r & 0xffffffffu) % (LARSON_MAX - LARSON_MIN + 1));
    }
    return true;
}

static void larson_teardown(larson_t *w)
{
    free(w->tab);
    free(w->cur);
    free(w->ring);
}

/* Larson's warm-up: every slot gets a block (sizes from cur[]). */
PAT_INLINE bool larson_fill(const hl_allocator_t *a, hl_suite_mem_t *m, larson_t *w)
{
    bool ok = true;
    for (size_t i = 0; i < w->slots; i++) {
        w->tab[i] = pat_malloc(a, m, w->cur[i]);
        ok &= w->tab[i] != NULL;
    }
    return ok;
}

/* One replacement. */
PAT_INLINE bool larson_step(const hl_allocator_t *a, hl_suite_mem_t *m, larson_t *w,
                            larson_op_t op)
{
    pat_free(a, m, w->tab[op.slot], m != NULL ? w->cur[op.slot] : 0);
    void *p = pat_malloc(a, m, op.size);
    w->tab[op.slot] = p;
    if (m != NULL)
        w->cur[op.slot] = op.size;
    return p != NULL;
}

PAT_INLINE void larson_free_all(const hl_allocator_t *a, hl_suite_mem_t *m, larson_t *w)
{
    for (size_t i = 0; i < w->slots; i++)
        pat_free(a, m, w->tab[i], m != NULL ? w->cur[i] : 0);
}

static void bm_larson(hl_bench_state_t *st, void *user)
{
    const hl_suite_case_t *c = user;
    larson_t w;
    if (!larson_setup(st, &w, (size_t)hl_bench_range(st, 0)))
        goto out;
    hl_allocator_t *a = hl_suite_open(st, c->allocator);
    if (a == NULL)
        goto out;
    if (!larson_fill(a, NULL, &w)) {
        pat_alloc_failed(st, "larson", c->allocator);
    } else {
        size_t i = 0;
        while (hl_bench_keep_running(st)) {
            if (!larson_step(a, NULL, &w, w.ring[i++ & (LARSON_RING - 1)])) {
                pat_alloc_failed(st, "larson", c->allocator);
                break;
            }
        }
        hl_bench_set_items_processed(st, hl_bench_iterations(st));
    }
    larson_free_all(a, NULL, &w);
    hl_suite_close(a);
out:
    larson_teardown(&w);
}

static void mem_larson(hl_bench_state_t *st, void *user)
{
    const hl_suite_case_t *c = user;
    larson_t w;
    if (!larson_setup(st, &w, (size_t)hl_bench_range(st, 0)))
        goto out;
    hl_allocator_t *a = hl_suite_open(st, c->allocator);
    if (a == NULL)
        goto out;
    /* One iteration (hl_suite_register_mem): the measured run. */
    while (hl_bench_keep_running(st)) {
        hl_suite_mem_t m;
        hl_suite_mem_begin(&m, a);
        if (larson_fill(a, &m, &w)) {
            const size_t steps = LARSON_MEM_FACTOR * w.slots;
            for (size_t i = 0; i < steps; i++)
                if (!larson_step(a, &m, &w, w.ring[i & (LARSON_RING - 1)]))
                    break;
        }
        larson_free_all(a, &m, &w);
        hl_suite_mem_report(&m, st);
    }
    hl_suite_close(a);
out:
    larson_teardown(&w);
}

/* The timed and the memory run of a workload whose step is one whole run
 * of it, set up and torn down around the allocator instance (ramp,
 * plateau): NAME_setup, NAME_run(a, m, &w) with m NULL when timed, and
 * NAME_teardown; ITEMS is the allocations of one step, an expression of w. */
#define PAT_WHOLE_RUN_BENCHMARKS(NAME, TYPE, ITEMS)                                \
    static void bm_##NAME(hl_bench_state_t *st, void *user)                        \
    {                                                                              \
        const hl_suite_case_t *c = user;                                           \
        TYPE w;                                                                    \
        if (!NAME##_setup(st, &w, (size_t)hl_bench_range(st, 0)))                  \
            goto out;                                                              \
        hl_allocator_t *a = hl_suite_open(st, c->allocator);                       \
        if (a == NULL)                                                             \
            goto out;                                                              \
        while (hl_bench_keep_running(st)) {                                        \
            if (!NAME##_run(a, NULL, &w)) {                                        \
                pat_alloc_failed(st, #NAME, c->allocator);                         \
                break;                                                             \
            }                                                                      \
        }                                                                          \
        hl_bench_set_items_processed(st, hl_bench_iterations(st) * (int64_t)(ITEMS)); \
        hl_suite_close(a);                                                         \
    out:                                                                           \
        NAME##_teardown(&w);                                                       \
    }                                                                              \
                                                                                   \
    static void mem_##NAME(hl_bench_state_t *st, void *user)                       \
    {                                                                              \
        const hl_suite_case_t *c = user;                                           \
        TYPE w;                                                                    \
        if (!NAME##_setup(st, &w, (size_t)hl_bench_range(st, 0)))                  \
            goto out;                                                              \
        hl_allocator_t *a = hl_suite_open(st, c->allocator);                       \
        if (a == NULL)                                                             \
            goto out;                                                              \
        /* One iteration (hl_suite_register_mem): the measured run. */             \
        while (hl_bench_keep_running(st)) {                                        \
            hl_suite_mem_t m;                                                      \
            hl_suite_mem_begin(&m, a);                                             \
            (void)NAME##_run(a, &m, &w);                                           \
            hl_suite_mem_report(&m, st);                                           \
        }                                                                          \
        hl_suite_close(a);                                                         \
    out:                                                                           \
        NAME##_teardown(&w);                                                       \
    }

/* ---------------------------------------------------------------------- */
/* 3a. ramp */

#define RAMP_CHURN_EVERY 4   /* one short-lived block per 4 long-lived ones */
#define RAMP_RING 8          /* short-lived blocks live 8 churn steps */

typedef struct ramp_s {
    size_t live;          /* L long-lived blocks */
    size_t nshort;        /* L / RAMP_CHURN_EVERY short-lived ones */
    void **lng;           /* [live] */
    uint32_t *lsize;      /* [live] */
    uint32_t *ssize;      /* [nshort] */
} ramp_t;

static bool ramp_setup(hl_bench_state_t *st, ramp_t *w, size_t live)
{
    memset(w, 0, sizeof *w);
    w->live = live;
    w->nshort = live / RAMP_CHURN_EVERY;
    w->lng = pat_table(st, live, sizeof *w->lng, "ramp");
    w->lsize = w->lng ? pat_table(st, live, sizeof *w->lsize, "ramp") : NULL;
    w->ssize = w->lsize ? pat_table(st, w->nshort, sizeof *w->ssize, "ramp") : NULL;
    if (w->ssize == NULL)
        return false;
    uint64_t s = SEED_RAMP;
    for (size_t i = 0, k = 0; i < live; i++) {
        w->lsize[i] = (uint32_t)wilson_size(&s);
        if (i % RAMP_CHURN_EVERY == RAMP_CHURN_EVERY - 1)
            w->ssize[k++] = (uint32_t)wilson_size(&s);
    }
    return true;
}

static void ramp_teardown(ramp_t *w)
{
    free(w->lng);
    free(w->lsize);
    free(w->ssize);
}

/* The whole ramp, up and down; every block is freed when it returns. */
PAT_INLINE bool ramp_run(const hl_allocator_t *a, hl_suite_mem_t *m, ramp_t *w)
{
    void *ring[RAMP_RING] = {NULL};
    uint32_t rsize[RAMP_RING] = {0};
    bool ok = true;
    size_t k = 0;
    for (size_t i = 0; i < w->live; i++) {
        w->lng[i] = pat_malloc(a, m, w->lsize[i]);
        ok &= w->lng[i] != NULL;
        if (i % RAMP_CHURN_EVERY == RAMP_CHURN_EVERY - 1) {
            const size_t r = k % RAMP_RING;
            pat_free(a, m, ring[r], rsize[r]);
            rsize[r] = w->ssize[k++];
            ring[r] = pat_malloc(a, m, rsize[r]);
            ok &= ring[r] != NULL;
        }
    }
    for (size_t r = 0; r < RAMP_RING; r++)
        pat_free(a, m, ring[r], rsize[r]);
    for (size_t i = 0; i < w->live; i++)
        pat_free(a, m, w->lng[i], w->lsize[i]);
    return ok;
}

PAT_WHOLE_RUN_BENCHMARKS(ramp, ramp_t, w.live + w.nshort)

/* ---------------------------------------------------------------------- */
/* 3b. peak */

#define PEAK_BATCHES 4        /* distinct bursts, used in turn */
#define PEAK_SURVIVE_EVERY 64 /* every 64th block of a burst survives a peak */
#define PEAK_BASE_DIV 16      /* long-lived base: batch / 16 blocks */

typedef struct peak_s {
    size_t batch;                 /* P */
    size_t nbase;                 /* P / PEAK_BASE_DIV */
    size_t nfree;                 /* blocks of a burst that die in it */
    void **base;                  /* [nbase] */
    uint32_t *bsize;              /* [nbase] */
    void **buf[2];                /* [batch] each: the bursts, alternately */
    uint32_t *size[PEAK_BATCHES]; /* [batch] each */
    uint32_t *order[PEAK_BATCHES];/* [nfree] each: the non-survivors, in free order */
    size_t k;                     /* peaks done */
} peak_t;

static bool peak_setup(hl_bench_state_t *st, peak_t *w, size_t batch)
{
    memset(w, 0, sizeof *w);
    w->batch = batch;
    w->nbase = batch / PEAK_BASE_DIV;
    w->nfree = batch - (batch + PEAK_SURVIVE_EVERY - 1) / PEAK_SURVIVE_EVERY;
    bool ok = (w->base = pat_table(st, w->nbase, sizeof *w->base, "peak")) != NULL &&
              (w->bsize = pat_table(st, w->nbase, sizeof *w->bsize, "peak")) != NULL &&
              (w->buf[0] = pat_table(st, batch, sizeof *w->buf[0], "peak")) != NULL &&
              (w->buf[1] = pat_table(st, batch, sizeof *w->buf[1], "peak")) != NULL;
    for (int b = 0; ok && b < PEAK_BATCHES; b++)
        ok = (w->size[b] = pat_table(st, batch, sizeof *w->size[b], "peak")) != NULL &&
             (w->order[b] = pat_table(st, w->nfree, sizeof *w->order[b], "peak")) != NULL;
    if (!ok)
        return false;
    uint64_t s = SEED_PEAK;
    for (size_t i = 0; i < w->nbase; i++)
        w->bsize[i] = (uint32_t)wilson_size(&s);
    for (int b = 0; b < PEAK_BATCHES; b++) {
        for (size_t i = 0, j = 0; i < batch; i++) {
            w->size[b][i] = (uint32_t)wilson_size(&s);
            if (i % PEAK_SURVIVE_EVERY != 0)
                w->order[b][j++] = (uint32_t)i;
        }
        shuffle_u32(w->order[b], w->nfree, &s);
    }
    return true;
}

static void peak_teardown(peak_t *w)
{
    free(w->base);
    free(w->bsize);
    free(w->buf[0]);
    free(w->buf[1]);
    for (int b = 0; b < PEAK_BATCHES; b++) {
        free(w->size[b]);
        free(w->order[b]);
    }
}

PAT_INLINE bool peak_base(const hl_allocator_t *a, hl_suite_mem_t *m, peak_t *w)
{
    bool ok = true;
    for (size_t i = 0; i < w->nbase; i++) {
        w->base[i] = pat_malloc(a, m, w->bsize[i]);
        ok &= w->base[i] != NULL;
    }
    return ok;
}

/* Peak number w->k: the burst, its deaths, then the previous peak's
 * survivors. */
PAT_INLINE bool peak_one(const hl_allocator_t *a, hl_suite_mem_t *m, peak_t *w)
{
    const size_t k = w->k++;
    const uint32_t *size = w->size[k % PEAK_BATCHES];
    const uint32_t *order = w->order[k % PEAK_BATCHES];
    void **buf = w->buf[k & 1];
    bool ok = true;
    for (size_t i = 0; i < w->batch; i++) {
        buf[i] = pat_malloc(a, m, size[i]);
        ok &= buf[i] != NULL;
    }
    for (size_t j = 0; j < w->nfree; j++) {
        const uint32_t i = order[j];
        pat_free(a, m, buf[i], size[i]);
    }
    if (k > 0) {
        void **prev = w->buf[(k - 1) & 1];
        const uint32_t *psize = w->size[(k - 1) % PEAK_BATCHES];
        for (size_t i = 0; i < w->batch; i += PEAK_SURVIVE_EVERY)
            pat_free(a, m, prev[i], psize[i]);
    }
    return ok;
}

/* The last peak's survivors, then the base. */
PAT_INLINE void peak_end(const hl_allocator_t *a, hl_suite_mem_t *m, peak_t *w)
{
    if (w->k > 0) {
        void **last = w->buf[(w->k - 1) & 1];
        const uint32_t *lsize = w->size[(w->k - 1) % PEAK_BATCHES];
        for (size_t i = 0; i < w->batch; i += PEAK_SURVIVE_EVERY)
            pat_free(a, m, last[i], lsize[i]);
    }
    for (size_t i = 0; i < w->nbase; i++)
        pat_free(a, m, w->base[i], w->bsize[i]);
}

static void bm_peak(hl_bench_state_t *st, void *user)
{
    const hl_suite_case_t *c = user;
    peak_t w;
    if (!peak_setup(st, &w, (size_t)hl_bench_range(st, 0)))
        goto out;
    hl_allocator_t *a = hl_suite_open(st, c->allocator);
    if (a == NULL)
        goto out;
    if (!peak_base(a, NULL, &w)) {
        pat_alloc_failed(st, "peak", c->allocator);
    } else {
        while (hl_bench_keep_running(st)) {
            if (!peak_one(a, NULL, &w)) {
                pat_alloc_failed(st, "peak", c->allocator);
                break;
            }
        }
        hl_bench_set_items_processed(st, hl_bench_iterations(st) * (int64_t)w.batch);
    }
    peak_end(a, NULL, &w);
    hl_suite_close(a);
out:
    peak_teardown(&w);
}

static void mem_peak(hl_bench_state_t *st, void *user)
{
    const hl_suite_case_t *c = user;
    peak_t w;
    if (!peak_setup(st, &w, (size_t)hl_bench_range(st, 0)))
        goto out;
    hl_allocator_t *a = hl_suite_open(st, c->allocator);
    if (a == NULL)
        goto out;
    /* One iteration (hl_suite_register_mem): the measured run. */
    while (hl_bench_keep_running(st)) {
        hl_suite_mem_t m;
        hl_suite_mem_begin(&m, a);
        if (peak_base(a, &m, &w))
            for (int p = 0; p < PEAK_BATCHES; p++)
                if (!peak_one(a, &m, &w))
                    break;
        peak_end(a, &m, &w);
        hl_suite_mem_report(&m, st);
    }
    hl_suite_close(a);
out:
    peak_teardown(&w);
}

/* ---------------------------------------------------------------------- */
/* 3c. plateau */

#define PLATEAU_FACTOR 4      /* steady phase: 4 x live replacements */

typedef struct plateau_s {
    size_t live;              /* L */
    size_t nrep;              /* PLATEAU_FACTOR * L */
    void **tab;               /* [live] */
    uint32_t *who;            /* [live]: which allocation holds the slot (memory runs) */
    uint32_t *size;           /* [live + nrep]: allocation i's size */
    uint32_t *victim;         /* [nrep] */
} plateau_t;

static bool plateau_setup(hl_bench_state_t *st, plateau_t *w, size_t live)
{
    memset(w, 0, sizeof *w);
    w->live = live;
    w->nrep = PLATEAU_FACTOR * live;
    bool ok = (w->tab = pat_table(st, live, sizeof *w->tab, "plateau")) != NULL &&
              (w->who = pat_table(st, live, sizeof *w->who, "plateau")) != NULL &&
              (w->size = pat_table(st, live + w->nrep, sizeof *w->size, "plateau")) != NULL &&
              (w->victim = pat_table(st, w->nrep, sizeof *w->victim, "plateau")) != NULL;
    if (!ok)
        return false;
    uint64_t s = SEED_PLATEAU;
    for (size_t i = 0; i < live + w->nrep; i++)
        w->size[i] = (uint32_t)wilson_size(&s);
    for (size_t r = 0; r < w->nrep; r++)
        w->victim[r] = (uint32_t)(hl_suite_rand(&s) % live);
    return true;
}

static void plateau_teardown(plateau_t *w)
{
    free(w->tab);
    free(w->who);
    free(w->size);
    free(w->victim);
}

/* Build, steady phase, teardown. */
PAT_INLINE bool plateau_run(const hl_allocator_t *a, hl_suite_mem_t *m, plateau_t *w)
{
    bool ok = true;
    for (size_t i = 0; i < w->live; i++) {
        w->tab[i] = pat_malloc(a, m, w->size[i]);
        if (m != NULL)
            w->who[i] = (uint32_t)i;
        ok &= w->tab[i] != NULL;
    }
    for (size_t r = 0; r < w->nrep; r++) {
        const uint32_t v = w->victim[r];
        const size_t n = w->live + r;
        pat_free(a, m, w->tab[v], m != NULL ? w->size[w->who[v]] : 0);
        w->tab[v] = pat_malloc(a, m, w->size[n]);
        if (m != NULL)
            w->who[v] = (uint32_t)n;
        ok &= w->tab[v] != NULL;
    }
    for (size_t i = 0; i < w->live; i++)
        pat_free(a, m, w->tab[i], m != NULL ? w->size[w->who[i]] : 0);
    return ok;
}

PAT_WHOLE_RUN_BENCHMARKS(plateau, plateau_t, w.live + w.nrep)

/* ---------------------------------------------------------------------- */
/* Registration */

typedef struct pat_list_s {
    const int64_t *v;
    size_t n;
} pat_list_t;

#define PAT_LIST(...) \
    { (const int64_t[]){__VA_ARGS__}, sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t) }

/* One workload: its runs' arguments for each scale (one or two lists, whose
 * product is taken), the same for the timed and the memory runs. */
typedef struct pat_workload_s {
    const char *name;
    hl_bench_fn timed, mem;
    const char *names[2];
    size_t nlists;
    pat_list_t lists[3][2];   /* [hl_suite_scale_t][list] */
} pat_workload_t;

static const pat_workload_t pat_workloads[] = {
    {"glibc_simple", bm_glibc_simple, mem_glibc_simple, {"n", "size"}, 2,
     {[HL_SUITE_FULL] = {PAT_LIST(25, 100, 400, 1600), PAT_LIST(16, 32, 64)},
      [HL_SUITE_QUICK] = {PAT_LIST(100), PAT_LIST(16, 32, 64)},
      [HL_SUITE_SMOKE] = {PAT_LIST(25), PAT_LIST(16, 32, 64)}}},
    {"larson", bm_larson, mem_larson, {"slots"}, 1,
     {[HL_SUITE_FULL] = {PAT_LIST(5000)},
      [HL_SUITE_QUICK] = {PAT_LIST(5000)},
      [HL_SUITE_SMOKE] = {PAT_LIST(500)}}},
    {"ramp", bm_ramp, mem_ramp, {"live"}, 1,
     {[HL_SUITE_FULL] = {PAT_LIST(20000, 100000)},
      [HL_SUITE_QUICK] = {PAT_LIST(20000)},
      [HL_SUITE_SMOKE] = {PAT_LIST(500)}}},
    {"peak", bm_peak, mem_peak, {"batch"}, 1,
     {[HL_SUITE_FULL] = {PAT_LIST(20000, 50000)},
      [HL_SUITE_QUICK] = {PAT_LIST(20000)},
      [HL_SUITE_SMOKE] = {PAT_LIST(500)}}},
    {"plateau", bm_plateau, mem_plateau, {"live"}, 1,
     {[HL_SUITE_FULL] = {PAT_LIST(10000, 50000)},
      [HL_SUITE_QUICK] = {PAT_LIST(10000)},
      [HL_SUITE_SMOKE] = {PAT_LIST(250)}}},
};

static void pat_args(hl_bench_t *b, const pat_workload_t *w, hl_suite_scale_t scale)
{
    const int64_t *lists[2];
    size_t lens[2];
    for (size_t k = 0; k < w->nlists; k++) {
        lists[k] = w->lists[scale][k].v;
        lens[k] = w->lists[scale][k].n;
    }
    hl_bench_args_product(b, lists, lens, w->nlists);
    hl_bench_arg_names(b, w->names, w->nlists);
}

#define PAT_NWORKLOADS (sizeof pat_workloads / sizeof pat_workloads[0])

/* One case per workload and allocator, shared by its timed and memory runs.
 * Static, not hl_suite_case's heap copies: Google Benchmark drops its
 * benchmarks at the end of hl_bench_main without telling their owners, so
 * heap cases would show as leaks under LeakSanitizer. */
static hl_suite_case_t pat_cases[PAT_NWORKLOADS][HL_SUITE_MAX_ALLOCATORS];

void hl_suite_register_patterns(const hl_suite_config_t *cfg)
{
    for (size_t i = 0; i < PAT_NWORKLOADS; i++) {
        const pat_workload_t *w = &pat_workloads[i];
        for (size_t j = 0; j < cfg->nallocators; j++) {
            hl_suite_case_t *c = &pat_cases[i][j];
            *c = (hl_suite_case_t){.allocator = cfg->allocators[j], .workload = w};
            pat_args(hl_suite_register("pattern", w->name, c->allocator, w->timed, c), w,
                     cfg->scale);
            pat_args(hl_suite_register_mem(w->name, c->allocator, w->mem, c), w, cfg->scale);
        }
    }
}
