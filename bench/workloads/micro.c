/* micro.c: the micro workload family of the benchmark suite (hl_suite.h).
 *
 * Small, synthetic loops, each of which isolates one thing an allocator
 * does.  Every workload runs on every allocator of the run, on a fresh
 * instance per run, as
 *
 *     micro/WORKLOAD/ALLOCATOR/ARG:VALUE     timed: items_per_second
 *     mem/WORKLOAD/ALLOCATOR/ARG:VALUE       one untimed run: footprint
 *
 * One item is one malloc+free pair (realloc_growth: one append), so
 * 1e9 / items_per_second is the nanoseconds per pair, comparable between
 * allocators for one workload and argument.  Everything random is drawn
 * from fixed-seed tables built once at registration (hl_suite_rand), so
 * every allocator sees the same sizes in the same order.
 *
 *   workload        arg   what one step does, and what it stresses
 *   --------------  ----  ---------------------------------------------------
 *   pairs           size  malloc(size), free it at once.  The fast path of
 *                         one size class and nothing else: the freed block
 *                         is the next one handed out.  The classic
 *                         malloc/free loop; sizes 8 and every pymalloc size
 *                         class, 16..512 step 16.  One more block of the
 *                         same size stays live for the whole run (set up
 *                         untimed), as in any running program: without it
 *                         the pair's pool (page, bin) empties on every free
 *                         and a pool-based allocator returns it and takes
 *                         it back each time, which measures pool turnover,
 *                         not the fast path, and depends on what else the
 *                         process holds.  perf showed exactly that: on
 *                         pymalloc's fresh instance, insert_to_freepool and
 *                         allocate_from_new_pool took a quarter of the
 *                         time, while `cpython`'s process-wide obmalloc
 *                         kept its pool in use.
 *   window          n     n blocks of random sizes 1..512 stay live; each
 *                         step frees the oldest and allocates a new one (a
 *                         FIFO queue of lifetimes, the steady "plateau" of
 *                         Wilson, Johnstone, Neely & Boles' survey, 1995):
 *                         free lists of every class mixed, blocks freed
 *                         in another order than they were handed out.  At
 *                         n = 65536 the live set (~16 MiB) leaves the
 *                         caches, and the allocator's metadata with it.
 *   batch_lifo      n     allocate n random-size blocks, free them newest
 *   batch_fifo            first / oldest first / in a fixed pseudo-random
 *   batch_shuffled        permutation.  Bulk growth then bulk release, in
 *                         the style of glibc benchtests' bench-malloc-simple
 *                         (n blocks of one size, freed oldest first; run by
 *                         mimalloc-bench as glibc-simple), here with mixed
 *                         sizes and three orders: the order decides how warm
 *                         the freed memory is and how much a coalescing or
 *                         pool-releasing allocator must do.
 *   pymix           n     window with sizes drawn from CPython's own request
 *                         sizes (micro_sizes.h: the histogram of the bundled
 *                         Python traces, 76% of requests 17..80 bytes, 1.9%
 *                         over 512): the size classes weighted as the
 *                         interpreter weighs them, and a thin tail of large
 *                         blocks through pymalloc's raw domain.
 *   realloc_growth  n     a list grows to n items by appends, its item
 *                         array grown with realloc exactly as CPython 3.11's
 *                         list_resize over-allocates (Objects/listobject.c:
 *                         allocated = (n + (n >> 3) + 6) & ~3 items of 8
 *                         bytes, when n > allocated: 4, 8, 16, 24, 32, 40,
 *                         52, ...), then freed.  In-place growth, moves
 *                         across size classes, and past 512 bytes the raw
 *                         allocator's realloc.  One item = one append.
 *   large           size  malloc(size), write one byte per 4 KiB page,
 *                         free.  Large blocks: mmap thresholds, page
 *                         faults, returning memory to the system (the
 *                         "malloc-large" test of mimalloc-bench).  Also
 *                         reports bytes_per_second.
 *
 * Arguments per scale (hl_suite_config_t.scale): the *_full, *_quick and
 * *_smoke tables below.  Memory runs (mem/) exist for window, batch_*,
 * pymix and realloc_growth, where what the allocator holds for a live set
 * matters; they run the workload once: window and pymix fill the window,
 * replace it twice over (2n steps) and free it; a batch is one step; a
 * growth is one list.
 *
 * Every block's first byte is written (the block must be real memory, and
 * the store keeps the call from being optimised away), and every pointer
 * goes through hl_bench_do_not_optimize.
 *
 * The timed loops.  Each workload's body is one always-inline function
 * taking an hl_suite_mem_t *: NULL in timed runs, where every `if (m)`
 * folds away and the loop is the allocator's calls plus a table read; the
 * same body, with m set, is the memory run.  Set-up (the instance, the
 * slot arrays, a window's first n blocks, a permutation) happens before
 * hl_bench_keep_running, tear-down after.  hl_bench_keep_running is a call
 * into the C++ shim, about as long as a pymalloc pair, so the one-pair
 * workloads (pairs, window, pymix) make MICRO_STEPS pairs per iteration.
 * An allocation that returns NULL ends the run with an error naming the
 * workload, its argument and the size.
 *
 * Reading the numbers: pairs is a lower bound on any real program's cost
 * per allocation; window and pymix at small n are the cached steady state,
 * at large n the cost of metadata misses; batch_* show what each free
 * order costs relative to the others on one allocator; mem/ footprint_ratio
 * (hl_suite.h) is the space side of the same live sets.
 */
#include "hl_suite.h"
#include "micro_sizes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MICRO_INLINE static inline __attribute__((always_inline))
#define MICRO_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Pairs (window and pymix: steps) per timing-loop iteration; see above. */
#define MICRO_STEPS 16
/* Entries of each size table.  A prime, so that no window length is a
 * multiple of it: with a table of 8192 and a window of 65536, slot i
 * would get the same size at every turn, and every free would be followed
 * by a request of exactly its size. */
#define MICRO_TABLE 65521u
#define MICRO_SMALL_MAX 512u   /* window and batch sizes: 1..512 */
#define MICRO_PAGE 4096u       /* large: one write per page */

/* ---------------------------------------------------------------------- */
/* The fixed-seed tables, built once at registration and read-only after */

static uint32_t uniform_sizes[MICRO_TABLE];   /* 1..512, uniform */
static uint32_t pymix_sizes[MICRO_TABLE];     /* micro_sizes.h's histogram */

static void build_tables(void)
{
    uint64_t rng = HL_SUITE_SEED;
    for (size_t i = 0; i < MICRO_TABLE; i++)
        uniform_sizes[i] = (uint32_t)(1 + hl_suite_rand(&rng) % MICRO_SMALL_MAX);

    rng = HL_SUITE_SEED + 1;
    for (size_t i = 0; i < MICRO_TABLE; i++) {
        uint64_t r = hl_suite_rand(&rng) % HL_MICRO_PYMIX_TOTAL;
        size_t b = 0;
        while (r >= hl_micro_pymix_buckets[b].count) {
            r -= hl_micro_pymix_buckets[b].count;
            b++;
        }
        const hl_micro_bucket_t *k = &hl_micro_pymix_buckets[b];
        pymix_sizes[i] = k->lo + (uint32_t)(hl_suite_rand(&rng) % (k->hi - k->lo + 1));
    }
}

/* ---------------------------------------------------------------------- */
/* Workloads */

typedef enum micro_kind_e {
    MICRO_PAIRS = 0,
    MICRO_WINDOW,        /* window and pymix: they differ in sizes only */
    MICRO_BATCH_LIFO,
    MICRO_BATCH_FIFO,
    MICRO_BATCH_SHUFFLED,
    MICRO_GROWTH,
    MICRO_LARGE,
} micro_kind_t;

typedef struct micro_workload_s {
    const char *name;
    micro_kind_t kind;
    const char *arg;              /* the argument's name: "size" or "n" */
    const uint32_t *sizes;        /* window, pymix, batch_*: the size table */
    bool mem;                     /* has a mem/ run */
    const int64_t *args[3];       /* per hl_suite_scale_t */
    size_t nargs[3];
} micro_workload_t;

/* One run's state.  Invariants between steps: slots[0..n) hold the live
 * blocks (NULL where none), slot_sizes[i] their requested sizes (memory
 * runs only), sizes[size_i] is the next size to request. */
typedef struct micro_s {
    const micro_workload_t *w;
    const char *family;           /* "micro" or "mem", for messages */
    hl_allocator_t *a;            /* the run's instance */
    size_t n;                     /* the argument: a size or a count */
    void **slots;                 /* window, pymix, batch_*: n blocks */
    uint32_t *slot_sizes;         /* ... their requested sizes (mem runs) */
    uint32_t *order;              /* batch_shuffled: the order of frees */
    const uint32_t *sizes;
    size_t size_i;
    size_t oldest;                /* window: the slot replaced next */
    size_t failed_size;           /* the request that returned NULL */
    const char *failed_call;      /* "malloc" or "realloc" */
} micro_t;

MICRO_INLINE uint32_t next_size(micro_t *mc)
{
    uint32_t s = mc->sizes[mc->size_i];
    mc->size_i = mc->size_i + 1 == MICRO_TABLE ? 0 : mc->size_i + 1;
    return s;
}

/* malloc(size) and write its first byte; NULL is recorded in mc. */
MICRO_INLINE char *alloc_touch(micro_t *mc, hl_suite_mem_t *m, size_t size)
{
    char *p = hl_malloc(mc->a, size);
    if (m)
        hl_suite_mem_alloc(m, p, size);
    if (MICRO_UNLIKELY(p == NULL)) {
        mc->failed_size = size;
        mc->failed_call = "malloc";
        return NULL;
    }
    p[0] = (char)size;
    hl_bench_do_not_optimize(p);
    return p;
}

MICRO_INLINE void free_slot(micro_t *mc, hl_suite_mem_t *m, size_t i)
{
    if (m)
        hl_suite_mem_free(m, mc->slots[i], mc->slot_sizes[i]);
    hl_free(mc->a, mc->slots[i]);
    mc->slots[i] = NULL;
}

/* pairs: one malloc+free of mc->n bytes. */
MICRO_INLINE bool pairs_step(micro_t *mc)
{
    char *p = alloc_touch(mc, NULL, mc->n);
    if (MICRO_UNLIKELY(p == NULL))
        return false;
    hl_free(mc->a, p);
    return true;
}

/* window, pymix: fill the n slots (set-up), replace the oldest (a step),
 * free them all, oldest first (tear-down). */
MICRO_INLINE bool window_fill(micro_t *mc, hl_suite_mem_t *m)
{
    for (size_t i = 0; i < mc->n; i++) {
        uint32_t size = next_size(mc);
        if (m)
            mc->slot_sizes[i] = size;
        if ((mc->slots[i] = alloc_touch(mc, m, size)) == NULL)
            return false;
    }
    return true;
}

MICRO_INLINE bool window_step(micro_t *mc, hl_suite_mem_t *m)
{
    const size_t i = mc->oldest;
    const uint32_t size = next_size(mc);
    free_slot(mc, m, i);
    if (m)
        mc->slot_sizes[i] = size;
    if ((mc->slots[i] = alloc_touch(mc, m, size)) == NULL)
        return false;
    mc->oldest = i + 1 == mc->n ? 0 : i + 1;
    return true;
}

static void window_drain(micro_t *mc, hl_suite_mem_t *m)
{
    for (size_t k = 0; k < mc->n; k++) {
        size_t i = mc->oldest + k < mc->n ? mc->oldest + k : mc->oldest + k - mc->n;
        free_slot(mc, m, i);
    }
}

/* batch_*: n allocations, then n frees in the order of kind (a constant
 * at every call site, so the switch folds).  On a failed allocation the
 * blocks allocated so far are freed. */
MICRO_INLINE bool batch_step(micro_t *mc, hl_suite_mem_t *m, micro_kind_t kind)
{
    const size_t n = mc->n;
    for (size_t i = 0; i < n; i++) {
        uint32_t size = next_size(mc);
        if (m)
            mc->slot_sizes[i] = size;
        if ((mc->slots[i] = alloc_touch(mc, m, size)) == NULL) {
            for (size_t j = 0; j < i; j++)
                free_slot(mc, m, j);
            return false;
        }
    }
    switch (kind) {
    case MICRO_BATCH_LIFO:
        for (size_t i = n; i-- > 0;)
            free_slot(mc, m, i);
        break;
    case MICRO_BATCH_FIFO:
        for (size_t i = 0; i < n; i++)
            free_slot(mc, m, i);
        break;
    default:
        for (size_t k = 0; k < n; k++)
            free_slot(mc, m, mc->order[k]);
        break;
    }
    return true;
}

/* realloc_growth: n appends to an empty list, then the list's array is
 * freed.  CPython 3.11's list_resize, for an append (newsize = size + 1):
 * keep the array while newsize <= allocated, else realloc it to
 * (newsize + (newsize >> 3) + 6) & ~3 items.  (Its other branches, a
 * shrink below half and the `newsize - size > new - newsize` cap, never
 * fire on appends.) */
MICRO_INLINE bool growth_step(micro_t *mc, hl_suite_mem_t *m)
{
    void **items = NULL;
    size_t allocated = 0;
    for (size_t size = 0; size < mc->n; size++) {
        const size_t newsize = size + 1;
        if (newsize > allocated) {
            const size_t new_allocated = (newsize + (newsize >> 3) + 6) & ~(size_t)3;
            const size_t bytes = new_allocated * sizeof *items;
            if (m)
                hl_suite_mem_free(m, items, allocated * sizeof *items);
            void **p = hl_realloc(mc->a, items, bytes);
            if (m)
                hl_suite_mem_alloc(m, p, bytes);
            if (MICRO_UNLIKELY(p == NULL)) {
                mc->failed_size = bytes;
                mc->failed_call = "realloc";
                hl_free(mc->a, items);
                return false;
            }
            items = p;
            allocated = new_allocated;
        }
        items[size] = &items[size];   /* the append: the block is written */
    }
    hl_bench_do_not_optimize(items);
    if (m)
        hl_suite_mem_free(m, items, allocated * sizeof *items);
    hl_free(mc->a, items);
    return true;
}

/* large: one block, every page written, freed. */
MICRO_INLINE bool large_step(micro_t *mc)
{
    const size_t size = mc->n;
    char *p = hl_malloc(mc->a, size);
    if (MICRO_UNLIKELY(p == NULL)) {
        mc->failed_size = size;
        mc->failed_call = "malloc";
        return false;
    }
    for (size_t off = 0; off < size; off += MICRO_PAGE)
        p[off] = (char)off;
    hl_bench_do_not_optimize(p);
    hl_free(mc->a, p);
    return true;
}

/* ---------------------------------------------------------------------- */
/* Runs */

/* Sets a run up: the harness's arrays first, from the C library and
 * written once (so that neither their allocation nor their first-touch
 * page faults land in a glibc instance's footprint or the RSS of a memory
 * run), then the instance.  false: the run is skipped with an error. */
static bool micro_open(micro_t *mc, hl_bench_state_t *st, void *user, bool mem)
{
    const hl_suite_case_t *c = user;
    const micro_workload_t *w = c->workload;
    char msg[200];
    memset(mc, 0, sizeof *mc);
    mc->w = w;
    mc->family = mem ? "mem" : "micro";
    mc->sizes = w->sizes;
    mc->n = (size_t)hl_bench_range(st, 0);
    if (mc->n == 0) {
        snprintf(msg, sizeof msg, "%s/%s: %s must be positive", mc->family, w->name, w->arg);
        hl_bench_skip_with_error(st, msg);
        return false;
    }
    const bool slots = w->kind == MICRO_WINDOW || w->kind == MICRO_BATCH_LIFO ||
                       w->kind == MICRO_BATCH_FIFO || w->kind == MICRO_BATCH_SHUFFLED;
    if (slots) {
        mc->slots = malloc(mc->n * sizeof *mc->slots);
        if (mem)
            mc->slot_sizes = malloc(mc->n * sizeof *mc->slot_sizes);
        if (w->kind == MICRO_BATCH_SHUFFLED)
            mc->order = malloc(mc->n * sizeof *mc->order);
        if (mc->slots == NULL || (mem && mc->slot_sizes == NULL) ||
            (w->kind == MICRO_BATCH_SHUFFLED && mc->order == NULL)) {
            snprintf(msg, sizeof msg, "%s/%s: out of memory for %zu slots", mc->family,
                     w->name, mc->n);
            hl_bench_skip_with_error(st, msg);
            goto fail;
        }
        memset(mc->slots, 0, mc->n * sizeof *mc->slots);
        if (mc->slot_sizes != NULL)
            memset(mc->slot_sizes, 0, mc->n * sizeof *mc->slot_sizes);
    }
    if (mc->order != NULL) {
        /* Fisher-Yates, fixed seed: the same permutation for everyone. */
        uint64_t rng = HL_SUITE_SEED + 2;
        for (size_t i = 0; i < mc->n; i++)
            mc->order[i] = (uint32_t)i;
        for (size_t i = mc->n - 1; i > 0; i--) {
            size_t j = (size_t)(hl_suite_rand(&rng) % (i + 1));
            uint32_t t = mc->order[i];
            mc->order[i] = mc->order[j];
            mc->order[j] = t;
        }
    }
    mc->a = hl_suite_open(st, c->allocator);
    if (mc->a != NULL)
        return true;
fail:
    free(mc->slots);
    free(mc->slot_sizes);
    free(mc->order);
    return false;
}

/* Frees what the run still holds (a window's blocks) and closes it. */
static void micro_close(micro_t *mc)
{
    if (mc->w->kind == MICRO_WINDOW && mc->slots != NULL)
        window_drain(mc, NULL);
    hl_suite_close(mc->a);
    free(mc->slots);
    free(mc->slot_sizes);
    free(mc->order);
}

static void micro_fail(hl_bench_state_t *st, const micro_t *mc)
{
    char msg[200];
    snprintf(msg, sizeof msg, "%s/%s %s=%zu: %s(%zu) returned NULL", mc->family, mc->w->name,
             mc->w->arg, mc->n, mc->failed_call, mc->failed_size);
    hl_bench_skip_with_error(st, msg);
}

/* Timed runs: one function per kind, so that each loop is compiled for
 * its own workload with m == NULL. */

static void bm_pairs(hl_bench_state_t *st, void *user)
{
    micro_t mc;
    if (!micro_open(&mc, st, user, false))
        return;
    /* The resident block of the head comment (untimed). */
    char *anchor = alloc_touch(&mc, NULL, mc.n);
    bool ok = anchor != NULL;
    while (ok && hl_bench_keep_running(st)) {
        for (int k = 0; k < MICRO_STEPS; k++)
            if (!pairs_step(&mc)) {
                ok = false;
                break;
            }
    }
    if (ok)
        hl_bench_set_items_processed(st, hl_bench_iterations(st) * MICRO_STEPS);
    else
        micro_fail(st, &mc);
    if (anchor != NULL)
        hl_free(mc.a, anchor);
    micro_close(&mc);
}

static void bm_window(hl_bench_state_t *st, void *user)
{
    micro_t mc;
    if (!micro_open(&mc, st, user, false))
        return;
    bool ok = window_fill(&mc, NULL);
    while (ok && hl_bench_keep_running(st)) {
        for (int k = 0; k < MICRO_STEPS; k++)
            if (!window_step(&mc, NULL)) {
                ok = false;
                break;
            }
    }
    if (ok)
        hl_bench_set_items_processed(st, hl_bench_iterations(st) * MICRO_STEPS);
    else
        micro_fail(st, &mc);
    micro_close(&mc);
}

/* The three batch orders, each its own loop. */
#define MICRO_BM_BATCH(fn, kind)                                                  \
    static void fn(hl_bench_state_t *st, void *user)                              \
    {                                                                             \
        micro_t mc;                                                               \
        if (!micro_open(&mc, st, user, false))                                    \
            return;                                                               \
        bool ok = true;                                                           \
        while (ok && hl_bench_keep_running(st))                                   \
            ok = batch_step(&mc, NULL, kind);                                     \
        if (ok)                                                                   \
            hl_bench_set_items_processed(st, hl_bench_iterations(st) * (int64_t)mc.n); \
        else                                                                      \
            micro_fail(st, &mc);                                                  \
        micro_close(&mc);                                                         \
    }
MICRO_BM_BATCH(bm_batch_lifo, MICRO_BATCH_LIFO)
MICRO_BM_BATCH(bm_batch_fifo, MICRO_BATCH_FIFO)
MICRO_BM_BATCH(bm_batch_shuffled, MICRO_BATCH_SHUFFLED)

static void bm_growth(hl_bench_state_t *st, void *user)
{
    micro_t mc;
    if (!micro_open(&mc, st, user, false))
        return;
    bool ok = true;
    while (ok && hl_bench_keep_running(st))
        ok = growth_step(&mc, NULL);
    if (ok)
        hl_bench_set_items_processed(st, hl_bench_iterations(st) * (int64_t)mc.n);
    else
        micro_fail(st, &mc);
    micro_close(&mc);
}

static void bm_large(hl_bench_state_t *st, void *user)
{
    micro_t mc;
    if (!micro_open(&mc, st, user, false))
        return;
    bool ok = true;
    while (ok && hl_bench_keep_running(st))
        ok = large_step(&mc);
    if (ok) {
        hl_bench_set_items_processed(st, hl_bench_iterations(st));
        hl_bench_set_bytes_processed(st, hl_bench_iterations(st) * (int64_t)mc.n);
    } else {
        micro_fail(st, &mc);
    }
    micro_close(&mc);
}

/* Memory runs: the workload once (hl_suite_register_mem fixes one
 * iteration), measured from a fresh instance. */
static void bm_mem(hl_bench_state_t *st, void *user)
{
    micro_t mc;
    hl_suite_mem_t m;
    if (!micro_open(&mc, st, user, true))
        return;
    bool ok = true, ran = false;
    while (hl_bench_keep_running(st)) {
        ran = true;
        hl_suite_mem_begin(&m, mc.a);
        switch (mc.w->kind) {
        case MICRO_WINDOW:
            ok = window_fill(&mc, &m);
            for (size_t i = 0; ok && i < 2 * mc.n; i++)
                ok = window_step(&mc, &m);
            window_drain(&mc, &m);
            break;
        case MICRO_BATCH_LIFO:
            ok = batch_step(&mc, &m, MICRO_BATCH_LIFO);
            break;
        case MICRO_BATCH_FIFO:
            ok = batch_step(&mc, &m, MICRO_BATCH_FIFO);
            break;
        case MICRO_BATCH_SHUFFLED:
            ok = batch_step(&mc, &m, MICRO_BATCH_SHUFFLED);
            break;
        case MICRO_GROWTH:
            ok = growth_step(&mc, &m);
            break;
        default:
            break;
        }
        if (!ok)
            break;
    }
    if (!ok)
        micro_fail(st, &mc);
    else if (ran)
        hl_suite_mem_report(&m, st);
    micro_close(&mc);
}

/* ---------------------------------------------------------------------- */
/* Registration */

static const int64_t pairs_full[] = {8,   16,  32,  48,  64,  80,  96,  112, 128,
                                     144, 160, 176, 192, 208, 224, 240, 256, 272,
                                     288, 304, 320, 336, 352, 368, 384, 400, 416,
                                     432, 448, 464, 480, 496, 512};
static const int64_t pairs_quick[] = {16, 64, 256, 512};
static const int64_t pairs_smoke[] = {64};
static const int64_t window_full[] = {1024, 65536};
static const int64_t window_quick[] = {1024};
static const int64_t window_smoke[] = {64};
static const int64_t batch_full[] = {100, 10000};
static const int64_t batch_quick[] = {1000};
static const int64_t batch_smoke[] = {100};
static const int64_t pymix_full[] = {1024, 65536};
static const int64_t pymix_quick[] = {4096};
static const int64_t pymix_smoke[] = {64};
static const int64_t growth_full[] = {16, 1000, 100000};
static const int64_t growth_quick[] = {1000};
static const int64_t growth_smoke[] = {100};
static const int64_t large_full[] = {4096, 65536, 1 << 20, 8 << 20};
static const int64_t large_quick[] = {65536, 1 << 20};
static const int64_t large_smoke[] = {65536};

#define MICRO_ARGS(full, quick, smoke)                   \
    .args = {(full), (quick), (smoke)},                  \
    .nargs = {sizeof(full) / sizeof((full)[0]), sizeof(quick) / sizeof((quick)[0]), \
              sizeof(smoke) / sizeof((smoke)[0])}

static const micro_workload_t workloads[] = {
    {.name = "pairs", .kind = MICRO_PAIRS, .arg = "size",
     MICRO_ARGS(pairs_full, pairs_quick, pairs_smoke)},
    {.name = "window", .kind = MICRO_WINDOW, .arg = "n", .sizes = uniform_sizes, .mem = true,
     MICRO_ARGS(window_full, window_quick, window_smoke)},
    {.name = "batch_lifo", .kind = MICRO_BATCH_LIFO, .arg = "n", .sizes = uniform_sizes,
     .mem = true, MICRO_ARGS(batch_full, batch_quick, batch_smoke)},
    {.name = "batch_fifo", .kind = MICRO_BATCH_FIFO, .arg = "n", .sizes = uniform_sizes,
     .mem = true, MICRO_ARGS(batch_full, batch_quick, batch_smoke)},
    {.name = "batch_shuffled", .kind = MICRO_BATCH_SHUFFLED, .arg = "n",
     .sizes = uniform_sizes, .mem = true, MICRO_ARGS(batch_full, batch_quick, batch_smoke)},
    {.name = "pymix", .kind = MICRO_WINDOW, .arg = "n", .sizes = pymix_sizes, .mem = true,
     MICRO_ARGS(pymix_full, pymix_quick, pymix_smoke)},
    {.name = "realloc_growth", .kind = MICRO_GROWTH, .arg = "n", .mem = true,
     MICRO_ARGS(growth_full, growth_quick, growth_smoke)},
    {.name = "large", .kind = MICRO_LARGE, .arg = "size",
     MICRO_ARGS(large_full, large_quick, large_smoke)},
};
#define MICRO_NWORKLOADS (sizeof workloads / sizeof workloads[0])

static hl_bench_fn timed_fn(micro_kind_t kind)
{
    switch (kind) {
    case MICRO_PAIRS: return bm_pairs;
    case MICRO_WINDOW: return bm_window;
    case MICRO_BATCH_LIFO: return bm_batch_lifo;
    case MICRO_BATCH_FIFO: return bm_batch_fifo;
    case MICRO_BATCH_SHUFFLED: return bm_batch_shuffled;
    case MICRO_GROWTH: return bm_growth;
    case MICRO_LARGE: return bm_large;
    }
    return NULL;
}

static void add_args(hl_bench_t *b, const micro_workload_t *w, hl_suite_scale_t scale)
{
    for (size_t i = 0; i < w->nargs[scale]; i++)
        hl_bench_arg(b, w->args[scale][i]);
    hl_bench_arg_names(b, &w->arg, 1);
}

/* The cases, one per workload and allocator, shared by a workload's timed
 * and memory runs.  Static rather than hl_suite_case's heap copies: Google
 * Benchmark drops its benchmarks at hl_bench_main's end without a word to
 * their owners, so heap cases would show as leaks under LeakSanitizer. */
static hl_suite_case_t cases[MICRO_NWORKLOADS][HL_SUITE_MAX_ALLOCATORS];

void hl_suite_register_micro(const hl_suite_config_t *cfg)
{
    static bool built;
    if (!built) {
        build_tables();
        built = true;
    }
    for (size_t i = 0; i < MICRO_NWORKLOADS; i++)
        for (size_t j = 0; j < cfg->nallocators; j++)
            cases[i][j] = (hl_suite_case_t){.allocator = cfg->allocators[j],
                                            .workload = &workloads[i]};
    for (size_t i = 0; i < MICRO_NWORKLOADS; i++) {
        const micro_workload_t *w = &workloads[i];
        for (size_t j = 0; j < cfg->nallocators; j++)
            add_args(hl_suite_register("micro", w->name, cfg->allocators[j], timed_fn(w->kind),
                                       &cases[i][j]),
                     w, cfg->scale);
    }
    for (size_t i = 0; i < MICRO_NWORKLOADS; i++) {
        const micro_workload_t *w = &workloads[i];
        if (!w->mem)
            continue;
        for (size_t j = 0; j < cfg->nallocators; j++)
            add_args(hl_suite_register_mem(w->name, cfg->allocators[j], bm_mem, &cases[i][j]),
                     w, cfg->scale);
    }
}
