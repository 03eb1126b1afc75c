/* objects.c: the objects workload family, obj/WORKLOAD/ALLOCATOR/ARGS.
 *
 * The other families call an allocator directly; this one runs Python-level
 * programs -- the kind a heap script (lib/script/script.h) spells out one
 * statement a line -- over a heaplab runtime (heaplab/object.h) whose MEM
 * and OBJ domains are one instance of the allocator, so every allocator of
 * the registry is measured under the request stream CPython's object layer
 * really makes: object headers from OBJ, list items from MEM, dict key
 * tables from OBJ, free lists in front of all three, and, for `cycles`, the
 * collector's young generations in between.
 *
 * Each run (one call of the benchmark body) creates its runtime with
 * hl_runtime_create(ALLOCATOR, NULL) untimed, then repeats one STEP of its
 * workload as the timed iteration.  A step builds something and drops it:
 *
 *   tuples  depth:D
 *           a balanced binary tree of 2-tuples, 2^D leaves, built bottom-up
 *           in depth-first order, then one decref of the root frees it all
 *           (pure reference counting).  Leaf k is float(k) for odd k and
 *           int(k mod 512) for even k (values up to 256 come from the
 *           small-int cache and create nothing).  2^D - 1 tuples: the first
 *           2000 of a step come from the length-2 free list, the rest from
 *           OBJ.  The shape is GCBench's (Ellis, Kovac and Boehm) and the
 *           Benchmarks Game's binary-trees, with Python's tuples as nodes.
 *
 *                          ( , )
 *                    ( , )       ( , )         depth D: 2^D - 1 tuples
 *                  0   1.5    2   3.5          2^D leaves
 *
 *   lists   n:N/lists:L
 *           L lists alive together, each appended to N items, int(1000 + i)
 *           for even i and a 1..16-character str for odd i; then all L are
 *           dropped.  The item array grows by CPython's rule
 *           (n + n/8 + 6) & ~3 through MEM realloc: small arrays stay in the
 *           small-object range, large ones leave it.
 *
 *   dicts   keys:K/dicts:D
 *           D dicts alive together, each given K fresh str keys ("key0",
 *           "key1", ...) with int(i) values; then all D are dropped.  The
 *           key table starts at 8 slots (5 usable) and is reallocated in OBJ
 *           as it grows; dicts and small key tables go through their free
 *           lists of 80.
 *
 *   cycles  size:S/cycles:C
 *           C reference cycles of S instances (slot 0 of member i points
 *           at member (i+1) mod S; S = 1 is a self-loop), each dropped as
 *           soon as it is made, with the collector ENABLED at (700, 10, 10):
 *           every 700 net container allocations a young collection frees the
 *           garbage, every tenth of those a generation-1 one, and so on, as
 *           in a running program.  Garbage carried from one step to the next
 *           is part of the steady state.
 *
 * The collector is disabled (gc.disable()) for tuples, lists and dicts: they
 * make no cycles, so what a collection would add is the collector's own cost
 * (traversing the young generation every 700 containers), which `cycles`
 * measures on purpose and bench/gc_benchmark.c measures in isolation.
 *
 * How to read it.  items_per_second counts OBJECTS CREATED (what the runtime
 * counts as alive: small ints from the cache do not count, an object taken
 * from a free list does), so 1e9 / items_per_second is the ns per object of
 * allocation + initialisation + deallocation (+ young collections for
 * cycles), comparable across allocators for one workload and arguments.
 * Free lists hide the allocator for the objects they serve: a step that
 * fits in them (tuples at small depth) mostly measures the object layer.
 * Counters:
 *   peak_footprint  max over the steps of what the allocator holds from the
 *                   system (hl_stats held_bytes of the OBJ domain's
 *                   allocator) at the step's peak -- structure built, before
 *                   the drop; for cycles, at the end of the step -- minus
 *                   what it held right after hl_runtime_create.  Only for
 *                   allocators reporting HL_STAT_HELD.  pymalloc's figure
 *                   includes its raw fallback (glibc) for requests over 512
 *                   bytes; the peers wrapping process-wide heaps (glibc,
 *                   mimalloc, tcmalloc) report the process's growth, which
 *                   earlier runs may have pre-paid.
 *   collections     cycles only: collections of any generation per step.
 * The sample is taken with the timer paused (a clock read each side,
 * ~0.2 us, against steps of 10 us and more).
 *
 * Invariants, checked and reported with SkipWithError:
 *   - at the peak of a tuples/lists/dicts step, the runtime's count of
 *     alive objects has grown by exactly the objects the step created
 *     (so nothing survives from a previous step, and the item count is the
 *     runtime's own);
 *   - after the timed loop a full collection (which also empties the free
 *     lists) brings the runtime back to its usage at creation: no object,
 *     OBJ block or MEM block of the workload left.
 */
#include "hl_suite.h"

#include "heaplab/gc.h"
#include "heaplab/object.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* One run */

typedef struct obj_run_s {
    hl_runtime_t *rt;
    int64_t arg[2];            /* the run's arguments, by position */
    hl_object_t **batch;       /* lists, dicts: the step's live structures */
    size_t nbatch;
    hl_object_t *root;         /* tuples: the tree */
    hl_object_t **ring;        /* cycles: one cycle's members */
    hl_type_t *type;           /* cycles: the instances' type */
    char (*keys)[16];          /* dicts: the keys' text, made untimed */
    size_t *keylen;
} obj_run_t;

typedef struct obj_workload_s {
    const char *name;
    const char *argnames[2];
    size_t nargs;
    bool gc_enabled;           /* automatic collection during the steps */
    bool all_alive;            /* every object of a step is alive at its peak */
    /* Untimed, once per run: scratch arrays; 0, or -1 (out of memory). */
    int (*setup)(obj_run_t *r);
    /* The step's first half: objects created, or -1 with nothing left
     * built (the runtime's error says why). */
    ssize_t (*build)(obj_run_t *r);
    /* The second half: drop what build made (NULL: nothing to drop). */
    void (*drop)(obj_run_t *r);
    /* Arguments per scale (FULL, QUICK, SMOKE), {0, 0}-terminated. */
    const int64_t (*sizes[3])[2];
} obj_workload_t;

static void drop_batch(obj_run_t *r)
{
    for (size_t i = 0; i < r->nbatch; i++)
        hl_decref(r->rt, r->batch[i]);
    r->nbatch = 0;
}

static int alloc_batch(obj_run_t *r)
{
    r->batch = calloc((size_t)r->arg[1], sizeof *r->batch);
    return r->batch != NULL ? 0 : -1;
}

/* ---------------------------------------------------------------------- */
/* tuples */

static hl_object_t *leaf(hl_runtime_t *rt, uint64_t k, ssize_t *made)
{
    if (k & 1) {
        (*made)++;
        return hl_float_new(rt, (double)k + 0.5);
    }
    const int64_t v = (int64_t)(k % 512);
    if (v > 256)   /* -5..256: the small-int cache, nothing created */
        (*made)++;
    return hl_int_new(rt, v);
}

static hl_object_t *tree(hl_runtime_t *rt, int64_t depth, uint64_t *next_leaf, ssize_t *made)
{
    if (depth == 0)
        return leaf(rt, (*next_leaf)++, made);
    hl_object_t *items[2];
    if ((items[0] = tree(rt, depth - 1, next_leaf, made)) == NULL)
        return NULL;
    if ((items[1] = tree(rt, depth - 1, next_leaf, made)) == NULL) {
        hl_decref(rt, items[0]);
        return NULL;
    }
    hl_object_t *t = hl_tuple_new(rt, 2, items);
    hl_decref(rt, items[0]);
    hl_decref(rt, items[1]);
    if (t != NULL)
        (*made)++;
    return t;
}

static ssize_t tuples_build(obj_run_t *r)
{
    ssize_t made = 0;
    uint64_t next_leaf = 0;
    r->root = tree(r->rt, r->arg[0], &next_leaf, &made);
    return r->root != NULL ? made : -1;
}

static void tuples_drop(obj_run_t *r)
{
    hl_decref(r->rt, r->root);
    r->root = NULL;
}

static const int64_t tuples_full[][2] = {{4, 0}, {8, 0}, {11, 0}, {14, 0}, {17, 0}, {20, 0},
                                         {0, 0}};
static const int64_t tuples_quick[][2] = {{8, 0}, {11, 0}, {13, 0}, {0, 0}};
static const int64_t tuples_smoke[][2] = {{5, 0}, {0, 0}};

/* ---------------------------------------------------------------------- */
/* lists */

static const char text[] = "abcdefghijklmnopqrstuvwxyz";

static ssize_t lists_build(obj_run_t *r)
{
    hl_runtime_t *rt = r->rt;
    const int64_t n = r->arg[0], nlists = r->arg[1];
    ssize_t made = 0;
    for (int64_t b = 0; b < nlists; b++) {
        hl_object_t *l = hl_list_new(rt);
        if (l == NULL)
            goto fail;
        made++;
        r->batch[r->nbatch++] = l;
        for (int64_t i = 0; i < n; i++) {
            hl_object_t *v = (i & 1) ? hl_str_new(rt, text + i % 8, 1 + (size_t)(i % 16))
                                     : hl_int_new(rt, 1000 + i);
            if (v == NULL)
                goto fail;
            made++;
            const int rc = hl_list_append(rt, l, v);
            hl_decref(rt, v);
            if (rc != 0)
                goto fail;
        }
    }
    return made;
fail:
    drop_batch(r);
    return -1;
}

static const int64_t lists_full[][2] = {{4, 8192}, {64, 1024}, {1024, 64}, {65536, 1},
                                        {1048576, 1}, {0, 0}};
static const int64_t lists_quick[][2] = {{4, 2048}, {64, 256}, {1024, 16}, {16384, 1},
                                         {0, 0}};
static const int64_t lists_smoke[][2] = {{4, 8}, {64, 2}, {0, 0}};

/* ---------------------------------------------------------------------- */
/* dicts */

static int dicts_setup(obj_run_t *r)
{
    const size_t k = (size_t)r->arg[0];
    r->keys = calloc(k, sizeof *r->keys);
    r->keylen = calloc(k, sizeof *r->keylen);
    if (r->keys == NULL || r->keylen == NULL)
        return -1;
    for (size_t i = 0; i < k; i++)
        r->keylen[i] = (size_t)snprintf(r->keys[i], sizeof r->keys[i], "key%zu", i);
    return alloc_batch(r);
}

static ssize_t dicts_build(obj_run_t *r)
{
    hl_runtime_t *rt = r->rt;
    const int64_t k = r->arg[0], ndicts = r->arg[1];
    ssize_t made = 0;
    for (int64_t b = 0; b < ndicts; b++) {
        hl_object_t *d = hl_dict_new(rt);
        if (d == NULL)
            goto fail;
        made++;
        r->batch[r->nbatch++] = d;
        for (int64_t i = 0; i < k; i++) {
            hl_object_t *key = hl_str_new(rt, r->keys[i], r->keylen[i]);
            if (key == NULL)
                goto fail;
            hl_object_t *v = hl_int_new(rt, i);
            if (v == NULL) {
                hl_decref(rt, key);
                goto fail;
            }
            made += 1 + (i > 256);
            const int rc = hl_dict_setitem(rt, d, key, v);
            hl_decref(rt, key);
            hl_decref(rt, v);
            if (rc != 0)
                goto fail;
        }
    }
    return made;
fail:
    drop_batch(r);
    return -1;
}

static const int64_t dicts_full[][2] = {{1, 4096}, {5, 2048}, {16, 1024}, {256, 64},
                                        {65536, 1}, {0, 0}};
static const int64_t dicts_quick[][2] = {{5, 512}, {16, 256}, {256, 16}, {4096, 1}, {0, 0}};
static const int64_t dicts_smoke[][2] = {{5, 4}, {16, 2}, {0, 0}};

/* ---------------------------------------------------------------------- */
/* cycles */

static int cycles_setup(obj_run_t *r)
{
    r->ring = calloc((size_t)r->arg[0], sizeof *r->ring);
    if (r->ring == NULL)
        return -1;
    r->type = hl_instance_type_new(r->rt, "Node", NULL);
    return r->type != NULL ? 0 : -1;
}

static ssize_t cycles_build(obj_run_t *r)
{
    hl_runtime_t *rt = r->rt;
    const size_t size = (size_t)r->arg[0];
    const int64_t ncycles = r->arg[1];
    ssize_t made = 0;
    for (int64_t c = 0; c < ncycles; c++) {
        for (size_t i = 0; i < size; i++) {
            if ((r->ring[i] = hl_instance_new(rt, r->type, 1)) == NULL) {
                while (i > 0)
                    hl_decref(rt, r->ring[--i]);
                return -1;
            }
        }
        for (size_t i = 0; i < size; i++)
            hl_instance_set(rt, r->ring[i], 0, r->ring[(i + 1) % size]);
        for (size_t i = 0; i < size; i++)
            hl_decref(rt, r->ring[i]);
        made += (ssize_t)size;
    }
    return made;
}

static const int64_t cycles_full[][2] = {{1, 8192}, {2, 4096}, {8, 1024}, {64, 128},
                                         {0, 0}};
static const int64_t cycles_quick[][2] = {{1, 4096}, {2, 2048}, {8, 512}, {0, 0}};
static const int64_t cycles_smoke[][2] = {{2, 64}, {0, 0}};

/* ---------------------------------------------------------------------- */
/* The table */

static const obj_workload_t workloads[] = {
    {"tuples", {"depth"}, 1, false, true, NULL, tuples_build, tuples_drop,
     {tuples_full, tuples_quick, tuples_smoke}},
    {"lists", {"n", "lists"}, 2, false, true, alloc_batch, lists_build, drop_batch,
     {lists_full, lists_quick, lists_smoke}},
    {"dicts", {"keys", "dicts"}, 2, false, true, dicts_setup, dicts_build, drop_batch,
     {dicts_full, dicts_quick, dicts_smoke}},
    {"cycles", {"size", "cycles"}, 2, true, false, cycles_setup, cycles_build, NULL,
     {cycles_full, cycles_quick, cycles_smoke}},
};
#define NWORKLOADS (sizeof workloads / sizeof workloads[0])

/* ---------------------------------------------------------------------- */
/* The benchmark body */

static void skip(hl_bench_state_t *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void skip(hl_bench_state_t *st, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    hl_bench_skip_with_error(st, msg);
}

/* held_bytes of the OBJ domain's allocator (MEM shares it), if known. */
static bool held_bytes(hl_runtime_t *rt, size_t *out)
{
    hl_allocator_t view;
    hl_stats_t s;
    memset(&s, 0, sizeof s);
    hl_pymem_domain_view(hl_runtime_pymem(rt), HL_PYMEM_DOMAIN_OBJ, &view);
    hl_stats(&view, &s);
    *out = s.held_bytes;
    return (s.valid & HL_STAT_HELD) != 0;
}

static ssize_t total_collections(const hl_runtime_t *rt)
{
    hl_gc_generation_stats_t g[HL_GC_NUM_GENERATIONS];
    hl_gc_get_stats(rt, g);
    ssize_t n = 0;
    for (int i = 0; i < HL_GC_NUM_GENERATIONS; i++)
        n += g[i].collections;
    return n;
}

static void bm_obj(hl_bench_state_t *st, void *user)
{
    const hl_suite_case_t *c = user;
    const obj_workload_t *w = c->workload;
    obj_run_t r;
    char err[256];
    memset(&r, 0, sizeof r);
    for (size_t i = 0; i < w->nargs; i++)
        r.arg[i] = hl_bench_range(st, i);

    if (hl_runtime_create(c->allocator, NULL, &r.rt, err, sizeof err) != 0) {
        skip(st, "cannot create a runtime over %s: %s", c->allocator, err);
        return;
    }
    size_t held0 = 0, held = 0, peak_fp = 0;
    const bool held_known = held_bytes(r.rt, &held0);
    hl_runtime_usage_t base, now;
    hl_runtime_usage(r.rt, &base);
    if (!w->gc_enabled) {
        hl_gc_disable(r.rt);
    } else {
        const int thresholds[3] = {700, 10, 10};
        hl_gc_set_threshold(r.rt, thresholds, 3);
        hl_gc_enable(r.rt);
    }
    if (w->setup != NULL && w->setup(&r) != 0) {
        skip(st, "%s: out of memory setting up", w->name);
        goto done;
    }

    const ssize_t collections0 = total_collections(r.rt);
    int64_t items = 0;
    while (hl_bench_keep_running(st)) {
        const ssize_t made = w->build(&r);
        if (made < 0) {
            skip(st, "%s: a step failed: %s", w->name,
                 hl_runtime_error_message(r.rt)[0] ? hl_runtime_error_message(r.rt)
                                                   : "MemoryError");
            break;
        }
        hl_bench_pause_timing(st);
        if (held_known && held_bytes(r.rt, &held) && held > held0 && held - held0 > peak_fp)
            peak_fp = held - held0;
        hl_runtime_usage(r.rt, &now);
        const ssize_t alive = now.objects - base.objects;
        hl_bench_resume_timing(st);
        if (w->drop != NULL)
            w->drop(&r);
        if (w->all_alive && alive != made) {
            skip(st, "%s: %zd objects alive at the step's peak, %zd created by it", w->name,
                 alive, made);
            break;
        }
        items += made;
    }
    const ssize_t collections = total_collections(r.rt) - collections0;

    /* The leak check: a full collection frees what cycles left and empties
     * the free lists, then the runtime must be as it was created. */
    if (!hl_bench_error_occurred(st)) {
        hl_gc_collect(r.rt, HL_GC_NUM_GENERATIONS - 1);
        hl_runtime_usage(r.rt, &now);
        if (now.objects != base.objects || now.obj_blocks != base.obj_blocks
            || now.mem_blocks != base.mem_blocks) {
            skip(st, "%s: leak after the run: %zd objects, %zd OBJ blocks, %zd MEM blocks "
                 "more than at creation", w->name, now.objects - base.objects,
                 now.obj_blocks - base.obj_blocks, now.mem_blocks - base.mem_blocks);
        } else if (hl_runtime_error(r.rt) != HL_ERR_NONE) {
            skip(st, "%s: the runtime's error is set: %s", w->name,
                 hl_runtime_error_message(r.rt));
        }
    }
    if (!hl_bench_error_occurred(st)) {
        hl_bench_set_items_processed(st, items);
        if (held_known)
            hl_bench_counter(st, "peak_footprint", (double)peak_fp, HL_BENCH_COUNTER_1024);
        if (w->gc_enabled)
            hl_bench_counter(st, "collections", (double)collections,
                             HL_BENCH_COUNTER_AVG_ITERATIONS);
    }

done:
    if (r.nbatch > 0)
        drop_batch(&r);
    free(r.batch);
    free(r.ring);
    free(r.keys);
    free(r.keylen);
    hl_runtime_destroy(r.rt);
}

/* ---------------------------------------------------------------------- */
/* Registration */

/* The cases live in static storage rather than hl_suite_case's heap blocks,
 * which LeakSanitizer reports at exit (Google Benchmark drops the pointers
 * before the process ends). */
static hl_suite_case_t cases[NWORKLOADS][HL_SUITE_MAX_ALLOCATORS];

void hl_suite_register_objects(const hl_suite_config_t *cfg)
{
    for (size_t k = 0; k < NWORKLOADS; k++) {
        const obj_workload_t *w = &workloads[k];
        for (size_t a = 0; a < cfg->nallocators && a < HL_SUITE_MAX_ALLOCATORS; a++) {
            cases[k][a] = (hl_suite_case_t){cfg->allocators[a], w};
            hl_bench_t *b = hl_suite_register("obj", w->name, cfg->allocators[a], bm_obj,
                                              &cases[k][a]);
            for (const int64_t(*s)[2] = w->sizes[cfg->scale]; (*s)[0] != 0; s++)
                hl_bench_args(b, *s, w->nargs);
            hl_bench_arg_names(b, w->argnames, w->nargs);
            hl_bench_set_unit(b, HL_BENCH_US);
        }
    }
}
