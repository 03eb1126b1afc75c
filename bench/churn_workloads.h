/* churn_workloads.h: small-object churn workloads, written once against the
 * allocator interface and shared by the Google Benchmark shim
 * (churn_benchmark.cc) and its cmocka smoke test (churn_smoke_test.c).
 *
 * Every workload has the same shape, so a driver can time step() alone:
 *
 *     hl_churn_t w;
 *     hl_churn_setup(&w, kind, param, allocator);  // untimed: fills windows
 *     for (...) hl_churn_step(&w);                  // timed: `items` alloc+free pairs
 *     hl_churn_teardown(&w);                        // untimed: frees every block
 *
 * One item is one allocation and its free, in every workload:
 *   PAIRS      param = size: malloc(size) then free it at once.
 *   WINDOW     param = N: N live objects of random sizes 1..512; each step
 *              frees the oldest and allocates a new one in its place.
 *   BATCH_LIFO param = N: allocate N objects of random sizes 1..512, then free
 *              them newest first.
 *   BATCH_FIFO the same, oldest first.
 * Sizes come from a fixed-seed generator (splitmix64): every run and every
 * allocator sees the same sequence.
 *
 * Plain C that also compiles as C++; the functions are static inline so the
 * timed loop has no call but the allocator's own.
 */
#ifndef HL_BENCH_CHURN_WORKLOADS_H
#define HL_BENCH_CHURN_WORKLOADS_H

#include "heaplab/allocator.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef enum hl_churn_kind_e {
    HL_CHURN_PAIRS = 0,
    HL_CHURN_WINDOW,
    HL_CHURN_BATCH_LIFO,
    HL_CHURN_BATCH_FIFO,
    HL_CHURN_NKINDS
} hl_churn_kind_t;

static const char *const hl_churn_kind_names[HL_CHURN_NKINDS] = {
    "pairs", "window", "batch_lifo", "batch_fifo",
};

#define HL_CHURN_MAX_SIZE 512u
#define HL_CHURN_SIZE_TABLE 8192u     /* a power of two */
#define HL_CHURN_SEED 0x5eed2024u

typedef struct hl_churn_s {
    hl_churn_kind_t kind;
    size_t param;                 /* size (PAIRS) or object count */
    const hl_allocator_t *a;
    void **slots;                 /* WINDOW, BATCH_*: param pointers */
    uint16_t *slot_sizes;         /* WINDOW: the requested size of each slot */
    size_t next;                  /* WINDOW: the oldest slot */
    uint32_t size_i;              /* index into sizes[] */
    uint16_t sizes[HL_CHURN_SIZE_TABLE];
    size_t live_requested;        /* requested bytes now live (untimed bookkeeping) */
    size_t failures;              /* allocations that returned NULL */
} hl_churn_t;

static inline uint64_t hl_churn_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static inline size_t hl_churn_next_size(hl_churn_t *w)
{
    size_t n = w->sizes[w->size_i];
    w->size_i = (w->size_i + 1) & (HL_CHURN_SIZE_TABLE - 1);
    return n;
}

/* Allocates and touches one block (the touch keeps the call from being
 * optimised away and makes the allocator's memory real). */
static inline void *hl_churn_alloc(hl_churn_t *w, size_t n)
{
    char *p = (char *)hl_malloc(w->a, n);
    if (p)
        p[0] = (char)n;
    else
        w->failures++;
    return p;
}

/* Items (alloc+free pairs) one step performs. */
static inline size_t hl_churn_items_per_step(const hl_churn_t *w)
{
    return (w->kind == HL_CHURN_BATCH_LIFO || w->kind == HL_CHURN_BATCH_FIFO) ? w->param : 1;
}

/* Returns 0, or -1 if param is out of range or memory for the slots is short. */
static inline int hl_churn_setup(hl_churn_t *w, hl_churn_kind_t kind, size_t param,
                                 const hl_allocator_t *a)
{
    memset(w, 0, sizeof *w);
    w->kind = kind;
    w->param = param;
    w->a = a;
    uint64_t rng = HL_CHURN_SEED;
    for (size_t i = 0; i < HL_CHURN_SIZE_TABLE; i++)
        w->sizes[i] = (uint16_t)(1 + hl_churn_splitmix64(&rng) % HL_CHURN_MAX_SIZE);
    if (kind == HL_CHURN_PAIRS)
        return (param >= 1 && param <= HL_CHURN_MAX_SIZE) ? 0 : -1;
    if (param == 0 || (unsigned)kind >= HL_CHURN_NKINDS)
        return -1;
    w->slots = (void **)calloc(param, sizeof *w->slots);
    if (!w->slots)
        return -1;
    if (kind == HL_CHURN_WINDOW) {
        w->slot_sizes = (uint16_t *)calloc(param, sizeof *w->slot_sizes);
        if (!w->slot_sizes)
            return -1;
        for (size_t i = 0; i < param; i++) {
            size_t n = hl_churn_next_size(w);
            w->slots[i] = hl_churn_alloc(w, n);
            w->slot_sizes[i] = (uint16_t)n;
            w->live_requested += n;
        }
    }
    return 0;
}

static inline void hl_churn_step(hl_churn_t *w)
{
    switch (w->kind) {
    case HL_CHURN_PAIRS:
        hl_free(w->a, hl_churn_alloc(w, w->param));
        break;
    case HL_CHURN_WINDOW: {
        size_t i = w->next, n = hl_churn_next_size(w);
        hl_free(w->a, w->slots[i]);
        w->slots[i] = hl_churn_alloc(w, n);
        w->live_requested += n - w->slot_sizes[i];   /* wraps back into range */
        w->slot_sizes[i] = (uint16_t)n;
        w->next = (i + 1 == w->param) ? 0 : i + 1;
        break;
    }
    case HL_CHURN_BATCH_LIFO:
    case HL_CHURN_BATCH_FIFO: {
        void **s = w->slots;
        size_t n = w->param;
        for (size_t i = 0; i < n; i++)
            s[i] = hl_churn_alloc(w, hl_churn_next_size(w));
        if (w->kind == HL_CHURN_BATCH_LIFO) {
            for (size_t i = n; i-- > 0;)
                hl_free(w->a, s[i]);
        } else {
            for (size_t i = 0; i < n; i++)
                hl_free(w->a, s[i]);
        }
        break;
    }
    default:
        break;
    }
}

/* Untimed: runs the workload up to its point of most live data, reports the
 * requested bytes live there and the allocator's stats at that moment, and
 * goes back to where it was (WINDOW: the window stays full). */
static inline void hl_churn_measure_peak(hl_churn_t *w, size_t *live_requested,
                                         hl_stats_t *at_peak)
{
    switch (w->kind) {
    case HL_CHURN_PAIRS: {
        void *p = hl_churn_alloc(w, w->param);
        *live_requested = w->param;
        hl_stats(w->a, at_peak);
        hl_free(w->a, p);
        break;
    }
    case HL_CHURN_WINDOW:
        *live_requested = w->live_requested;
        hl_stats(w->a, at_peak);
        break;
    default: {
        size_t total = 0;
        w->size_i = 0;   /* the same sizes for every allocator, however long it ran */
        for (size_t i = 0; i < w->param; i++) {
            size_t n = hl_churn_next_size(w);
            w->slots[i] = hl_churn_alloc(w, n);
            total += n;
        }
        *live_requested = total;
        hl_stats(w->a, at_peak);
        for (size_t i = 0; i < w->param; i++)
            hl_free(w->a, w->slots[i]);
        break;
    }
    }
}

/* Frees every block the workload still holds. */
static inline void hl_churn_teardown(hl_churn_t *w)
{
    if (w->kind == HL_CHURN_WINDOW && w->slots) {
        for (size_t i = 0; i < w->param; i++)
            hl_free(w->a, w->slots[i]);
    }
    free(w->slots);
    free(w->slot_sizes);
    w->slots = NULL;
    w->slot_sizes = NULL;
    w->live_requested = 0;
}

#endif /* HL_BENCH_CHURN_WORKLOADS_H */
