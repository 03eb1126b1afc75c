/* gc_benchmark.c: the time per object of a full collection and of a young
 * (generation-0) collection, heaplab's collector (lib/gc/gcmodule.c) next to
 * CPython 3.11's gc.collect(), on the same graphs, in the same process and
 * the same run.
 *
 * CPython is embedded (libpython3.11): Py_InitializeEx(0), then
 * gc.disable(), gc.collect(), gc.freeze(), so the interpreter's own objects
 * sit in the permanent generation and a full collection examines only the
 * benchmark's graph.  heaplab's runtime (the `pymalloc` allocator, heaplab's
 * own) gets the same three calls after hl_runtime_create.  Both are created
 * on first use and live until hl_bench_main returns.  (The `cpython` registry
 * allocator of lib/alloc, which drives libpython's obmalloc without an
 * interpreter, is never created here.)
 *
 * Graphs: N lists, each built with one C API -- hl_list_new/hl_list_append,
 * or PyList_New/PyList_Append -- in the same order, the random edges drawn
 * from the same seeded generator, so both worlds hold the same graph:
 *
 *   ring     list i appends list (i+1) mod N
 *   random   the ring edge, then 2 edges to random lists (GRAPH_SEED)
 *
 * States:
 *   live     one reference to list 0 is kept, so the ring keeps every list
 *            alive; each iteration is one full collection, which must
 *            return 0
 *   garbage  every reference is released; with the timer paused the graph
 *            is rebuilt, then one full collection must free it, returning N
 *            (the collection's time includes deallocating the N lists, in
 *            both worlds)
 *
 * Young collections (gc_gen0 runs).  A program's collections are mostly
 * of generation 0, triggered every 700 net container allocations: their
 * cost per object is what allocation-heavy code pays as it goes.  Each
 * iteration builds a fresh graph of N lists with the collector disabled,
 * so that all N sit in generation 0 and nothing else does, then times ONE
 * collect(0) -- hl_gc_collect(rt, 0) / gc.collect(0) -- on it:
 *
 *   live     list 0 kept: the young collection finds everything reachable,
 *            returns 0 and moves the N lists to generation 1; then,
 *            untimed, list 0 is released and a collect(1) must free N
 *   garbage  nothing kept: the young collection frees the N lists,
 *            returning N
 *
 * The graph must be rebuilt every iteration (a collection moves survivors
 * out of generation 0, and neither gc module can move them back), so the
 * build and the clean-up run with the timer paused and the run uses manual
 * time: Google Benchmark's real time is the wall time of the collect(0)
 * call alone (CLOCK_MONOTONIC around it), with no pause/resume overhead in
 * it -- which matters at N = 700, where a young collection takes a few
 * microseconds.  N is 700 (the default threshold, the size of a young
 * generation when the collector runs on its own), 10^3, 10^4 and 10^5.
 *
 * Before timing, each run builds its graph once and checks that the
 * collector tracks exactly N objects (gc.get_objects() / the generation
 * sizes; for gc_gen0, in generation 0: gc.get_objects(0)) and that a first
 * collection returns what the timed ones must.  A wrong count is a
 * SkipWithError, and the binary then exits 1.
 *
 * Runs are named gc_full/IMPL/SHAPE/STATE/N and gc_gen0/IMPL/SHAPE/STATE/N
 * (IMPL heaplab or cpython; Google Benchmark appends /manual_time to the
 * gc_gen0 ones), the two implementations of one kind/shape/state/N
 * registered next to each other.  Counters:
 *   ns_per_object  CPU time of the collection call / N, per iteration
 *                  (CLOCK_PROCESS_CPUTIME_ID around hl_gc_collect /
 *                  gc.collect; the wall time is Google Benchmark's
 *                  real_time / N)
 *   collected      what the timed collections returned (0 or N)
 *   tracked        gc_full: objects in generations 0..2 with the graph
 *                  built (N); gc_gen0: objects in generation 0 (N)
 *   peak_rss_mib   the process's peak RSS so far (getrusage ru_maxrss)
 * bench/tools/gc_report.py turns the JSON into results/gc.md.
 */
#define PY_SSIZE_T_CLEAN
/* heaplab's runtime (lib/obj) defines a _Py_Dealloc of its own, with
 * another signature, and in this executable that definition is the one
 * every reference from this file binds to.  CPython's inline Py_DECREF
 * calls _Py_Dealloc, so in this file the name is redirected to
 * cpython_dealloc, which does what the release build's _Py_Dealloc does.
 * (libpython's own calls bind inside libpython: it has no dynamic
 * relocation against the heaplab names it shares.) */
#define _Py_Dealloc cpython_dealloc
#include <Python.h>
#undef _Py_Dealloc

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "heaplab/gc.h"
#include "heaplab/object.h"
#include "hl_bench.h"

void cpython_dealloc(PyObject *op)
{
    Py_TYPE(op)->tp_dealloc(op);
}

/* ---------------------------------------------------------------------- */
/* The two implementations, behind one table */

typedef struct impl_s {
    const char *name;
    /* Create the runtime / interpreter (once); 0, or -1 with a message. */
    int (*start)(char *err, size_t errlen);
    void *(*list_new)(void);                  /* [] or NULL */
    int (*append)(void *list, void *item);    /* 0 or -1 */
    void (*decref)(void *op);
    /* gc.collect(generation), 0..2; -1 on error */
    ssize_t (*collect)(int generation);
    ssize_t (*tracked)(void);                 /* objects in generations 0..2 */
    ssize_t (*young)(void);                   /* objects in generation 0 */
} impl_t;

/* heaplab */

static hl_runtime_t *hl_rt;

static int heaplab_start(char *err, size_t errlen)
{
    if (hl_rt != NULL)
        return 0;
    if (hl_runtime_create("pymalloc", NULL, &hl_rt, err, errlen) != 0)
        return -1;
    hl_gc_disable(hl_rt);
    hl_gc_collect(hl_rt, 2);
    hl_gc_freeze(hl_rt);
    return 0;
}

static void *heaplab_list_new(void) { return hl_list_new(hl_rt); }
static int heaplab_append(void *l, void *v) { return hl_list_append(hl_rt, l, v); }
static void heaplab_decref(void *op) { hl_decref(hl_rt, op); }
static ssize_t heaplab_collect(int generation) { return hl_gc_collect(hl_rt, generation); }
static ssize_t heaplab_young(void) { return hl_gc_generation_size(hl_rt, 0); }

static ssize_t heaplab_tracked(void)
{
    ssize_t n = 0;
    for (int g = 0; g < HL_GC_NUM_GENERATIONS; g++)
        n += hl_gc_generation_size(hl_rt, g);
    return n;
}

/* CPython.  gc.collect is called through the module (PyGC_Collect does
 * nothing while the collector is disabled), as gc.collect(G). */

static PyObject *py_gc_collect, *py_gc_get_objects, *py_gen[3];

static void cpython_clear(void)
{
    Py_CLEAR(py_gc_collect);
    Py_CLEAR(py_gc_get_objects);
    for (int g = 0; g < 3; g++)
        Py_CLEAR(py_gen[g]);
}

static int cpython_start(char *err, size_t errlen)
{
    if (py_gc_collect != NULL)
        return 0;
    Py_InitializeEx(0);
    /* Everything the benchmark's calls create once and keep is made before
     * the freeze, so that it is not in the generations collected: the bound
     * methods (GC objects), and the keyword tuple ('generation',) that
     * gc.collect's argument parser makes on its first call. */
    PyObject *gc = PyImport_ImportModule("gc");
    if (gc != NULL) {
        py_gc_collect = PyObject_GetAttrString(gc, "collect");
        py_gc_get_objects = PyObject_GetAttrString(gc, "get_objects");
        for (int g = 0; g < 3; g++)
            py_gen[g] = PyLong_FromLong(g);
    }
    PyObject *r1 = py_gen[2] ? PyObject_CallMethod(gc, "disable", NULL) : NULL;
    PyObject *r2 = r1 ? PyObject_CallOneArg(py_gc_collect, py_gen[2]) : NULL;
    PyObject *r3 = r2 ? PyObject_CallNoArgs(py_gc_get_objects) : NULL;
    PyObject *r4 = r3 ? PyObject_CallMethod(gc, "freeze", NULL) : NULL;
    Py_XDECREF(r1);
    Py_XDECREF(r2);
    Py_XDECREF(r3);
    Py_XDECREF(gc);
    if (r4 == NULL) {
        PyErr_Print();
        snprintf(err, errlen, "setting up CPython's gc module failed");
        cpython_clear();
        return -1;
    }
    Py_DECREF(r4);
    return 0;
}

static void *cpython_list_new(void) { return PyList_New(0); }
static int cpython_append(void *l, void *v) { return PyList_Append(l, v); }
static void cpython_decref(void *op) { Py_DECREF((PyObject *)op); }

static ssize_t cpython_collect(int generation)
{
    PyObject *r = PyObject_CallOneArg(py_gc_collect, py_gen[generation]);
    if (r == NULL) {
        PyErr_Print();
        return -1;
    }
    ssize_t n = PyLong_AsSsize_t(r);
    Py_DECREF(r);
    return n;
}

/* len(gc.get_objects()) or, for generation 0..2, len(gc.get_objects(G)).
 * The result list is left out of itself, as get_objects does. */
static ssize_t cpython_objects(PyObject *generation)
{
    PyObject *l = generation ? PyObject_CallOneArg(py_gc_get_objects, generation)
                             : PyObject_CallNoArgs(py_gc_get_objects);
    if (l == NULL) {
        PyErr_Print();
        return -1;
    }
    ssize_t n = PyList_GET_SIZE(l);
    Py_DECREF(l);
    return n;
}

static ssize_t cpython_tracked(void) { return cpython_objects(NULL); }
static ssize_t cpython_young(void) { return cpython_objects(py_gen[0]); }

static const impl_t impls[] = {
    {"heaplab", heaplab_start, heaplab_list_new, heaplab_append, heaplab_decref,
     heaplab_collect, heaplab_tracked, heaplab_young},
    {"cpython", cpython_start, cpython_list_new, cpython_append, cpython_decref,
     cpython_collect, cpython_tracked, cpython_young},
};
#define NIMPLS (sizeof impls / sizeof impls[0])

/* ---------------------------------------------------------------------- */
/* Graphs */

typedef enum shape_e { SHAPE_RING, SHAPE_RANDOM, NSHAPES } shape_t;
typedef enum gstate_e { STATE_LIVE, STATE_GARBAGE, NSTATES } gstate_t;
static const char *const shape_names[NSHAPES] = {"ring", "random"};
static const char *const state_names[NSTATES] = {"live", "garbage"};
static const int64_t sizes[] = {10000, 100000, 1000000};
#define NSIZES (sizeof sizes / sizeof sizes[0])
/* Young collections: the default threshold 700, then decades. */
static const int64_t young_sizes[] = {700, 1000, 10000, 100000};
#define NYOUNG_SIZES (sizeof young_sizes / sizeof young_sizes[0])

#define GRAPH_SEED     UINT64_C(0x484541504C414221)   /* "HEAPLAB!" */
#define RANDOM_EXTRA   2                               /* random edges per list */

/* splitmix64 (Steele, Lea, Flood 2014): one 64-bit state, full period. */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Builds the graph into nodes[0..n), then releases every reference but
 * nodes[keep] (keep == n: none).  0, or -1 with nothing left built. */
static int build_graph(const impl_t *im, shape_t shape, size_t n, void **nodes, size_t keep)
{
    size_t made;
    uint64_t rng = GRAPH_SEED;
    for (made = 0; made < n; made++) {
        if ((nodes[made] = im->list_new()) == NULL)
            goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        if (im->append(nodes[i], nodes[(i + 1) % n]) != 0)
            goto fail;
        if (shape == SHAPE_RANDOM) {
            for (int k = 0; k < RANDOM_EXTRA; k++) {
                if (im->append(nodes[i], nodes[splitmix64(&rng) % n]) != 0)
                    goto fail;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (i != keep)
            im->decref(nodes[i]);
    }
    return 0;

fail:
    for (size_t i = 0; i < made; i++)
        im->decref(nodes[i]);
    im->collect(2);
    return -1;
}

/* ---------------------------------------------------------------------- */
/* The benchmark */

typedef struct bench_case_s {
    const impl_t *impl;
    shape_t shape;
    gstate_t state;
} bench_case_t;

static bench_case_t cases[NIMPLS][NSHAPES][NSTATES];

/* The process's CPU time, as Google Benchmark's cpu_time: the CI box is
 * shared, and wall time would count the time other processes run. */
static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Wall time, for the manual time of the young runs. */
static double wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_maxrss / 1024.0;   /* KiB on Linux */
}

static void skip(hl_bench_state_t *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void skip(hl_bench_state_t *st, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    hl_bench_skip_with_error(st, msg);
}

/* What both kinds of run share: the case, its expected counts, and the
 * node array. */
typedef struct gc_run_s {
    const bench_case_t *bc;
    const impl_t *im;
    size_t n;
    bool live;
    size_t keep;          /* build_graph's `keep`: 0 (live) or n (garbage) */
    ssize_t expect;       /* what each collection must return */
    void **nodes;
} gc_run_t;

/* Starts the implementation and allocates the node array: true, or false
 * after skipping the run. */
static bool gc_run_open(hl_bench_state_t *st, const bench_case_t *bc, gc_run_t *r)
{
    char err[256] = "";
    r->bc = bc;
    r->im = bc->impl;
    r->n = (size_t)hl_bench_range(st, 0);
    r->live = bc->state == STATE_LIVE;
    r->keep = r->live ? 0 : r->n;
    r->expect = r->live ? 0 : (ssize_t)r->n;
    r->nodes = NULL;
    if (r->im->start(err, sizeof err) != 0) {
        skip(st, "%s: %s", r->im->name, err);
        return false;
    }
    r->nodes = malloc(r->n * sizeof *r->nodes);
    if (r->nodes == NULL) {
        skip(st, "out of memory for %zu node pointers", r->n);
        return false;
    }
    return true;
}

/* The counters of a run that did not fail. */
static void gc_run_report(hl_bench_state_t *st, const gc_run_t *r, double total_ns,
                          ssize_t collected, ssize_t tracked)
{
    if (hl_bench_error_occurred(st))
        return;
    hl_bench_counter(st, "ns_per_object", total_ns / (double)r->n,
                     HL_BENCH_COUNTER_AVG_ITERATIONS);
    hl_bench_counter(st, "collected", (double)collected, HL_BENCH_COUNTER_DEFAULT);
    hl_bench_counter(st, "tracked", (double)tracked, HL_BENCH_COUNTER_DEFAULT);
    hl_bench_set_items_processed(st, hl_bench_iterations(st) * (int64_t)r->n);
}

static void gc_run_close(hl_bench_state_t *st, gc_run_t *r)
{
    hl_bench_counter(st, "peak_rss_mib", peak_rss_mib(), HL_BENCH_COUNTER_DEFAULT);
    free(r->nodes);
}

static void bm_gc_full(hl_bench_state_t *st, void *user)
{
    gc_run_t r;
    if (!gc_run_open(st, user, &r)) {
        free(r.nodes);
        return;
    }
    const bench_case_t *bc = r.bc;
    const impl_t *im = r.im;
    const size_t n = r.n;
    const bool live = r.live;
    const size_t keep = r.keep;
    const ssize_t expect = r.expect;
    void **nodes = r.nodes;

    /* Untimed: the graph is all there, in the collector's generations, and
     * a first collection returns what every timed one must. */
    if (build_graph(im, bc->shape, n, nodes, keep) != 0) {
        skip(st, "%s: building the graph failed", im->name);
        goto done;
    }
    const ssize_t tracked = im->tracked();
    ssize_t got = im->collect(2);
    if (tracked != (ssize_t)n) {
        skip(st, "%s: %zd objects tracked with the graph built, expected %zu", im->name,
             tracked, n);
        goto release;
    }
    if (got != expect) {
        skip(st, "%s: the first collection returned %zd, expected %zd", im->name, got, expect);
        goto release;
    }

    double total_ns = 0;
    while (hl_bench_keep_running(st)) {
        if (!live) {
            hl_bench_pause_timing(st);
            int rc = build_graph(im, bc->shape, n, nodes, keep);
            hl_bench_resume_timing(st);
            if (rc != 0) {
                skip(st, "%s: building the graph failed", im->name);
                break;
            }
        }
        const double t0 = cpu_ns();
        got = im->collect(2);
        total_ns += cpu_ns() - t0;
        if (got != expect) {
            skip(st, "%s: a full collection returned %zd, expected %zd", im->name, got, expect);
            break;
        }
    }
    gc_run_report(st, &r, total_ns, got, tracked);

release:
    if (live) {
        /* The last reference: the whole graph becomes one cycle of garbage. */
        im->decref(nodes[0]);
        got = im->collect(2);
        if (got != (ssize_t)n && !hl_bench_error_occurred(st))
            skip(st, "%s: collecting the released graph returned %zd, expected %zu", im->name,
                 got, n);
    }
done:
    gc_run_close(st, &r);
}

/* A young run's clean-up after its collect(0): with `live`, the N lists
 * are in generation 1, alive through nodes[0]; releasing it makes them one
 * garbage cycle, which a collect(1) must free.  0, or -1 after a skip. */
static int release_young(hl_bench_state_t *st, const impl_t *im, bool live, void **nodes,
                         size_t n)
{
    if (!live)
        return 0;
    im->decref(nodes[0]);
    const ssize_t got = im->collect(1);
    if (got != (ssize_t)n) {
        skip(st, "%s: collecting the released graph (collect(1)) returned %zd, expected %zu",
             im->name, got, n);
        return -1;
    }
    return 0;
}

static void bm_gc_gen0(hl_bench_state_t *st, void *user)
{
    gc_run_t r;
    if (!gc_run_open(st, user, &r)) {
        free(r.nodes);
        return;
    }
    const bench_case_t *bc = r.bc;
    const impl_t *im = r.im;
    const size_t n = r.n;
    const bool live = r.live;
    const size_t keep = r.keep;
    const ssize_t expect = r.expect;
    void **nodes = r.nodes;

    /* Untimed: the graph is all in generation 0, and nothing else is; a
     * first young collection returns what every timed one must. */
    if (build_graph(im, bc->shape, n, nodes, keep) != 0) {
        skip(st, "%s: building the graph failed", im->name);
        goto done;
    }
    const ssize_t young = im->young();
    ssize_t got = im->collect(0);
    if (young != (ssize_t)n || got != expect) {
        if (young != (ssize_t)n)
            skip(st, "%s: %zd objects in generation 0 with the graph built, expected %zu",
                 im->name, young, n);
        else
            skip(st, "%s: the first young collection returned %zd, expected %zd", im->name,
                 got, expect);
        if (live)
            im->decref(nodes[0]);
        im->collect(2);
        goto done;
    }
    if (release_young(st, im, live, nodes, n) != 0)
        goto done;

    double total_ns = 0;
    while (hl_bench_keep_running(st)) {
        hl_bench_pause_timing(st);
        const int rc = build_graph(im, bc->shape, n, nodes, keep);
        hl_bench_resume_timing(st);
        if (rc != 0) {
            skip(st, "%s: building the graph failed", im->name);
            break;
        }
        const double c0 = cpu_ns(), w0 = wall_ns();
        got = im->collect(0);
        const double w1 = wall_ns(), c1 = cpu_ns();
        total_ns += c1 - c0;
        hl_bench_set_iteration_time(st, (w1 - w0) * 1e-9);
        if (got != expect) {
            skip(st, "%s: a young collection returned %zd, expected %zd", im->name, got,
                 expect);
            if (live)
                im->decref(nodes[0]);
            im->collect(2);
            break;
        }
        hl_bench_pause_timing(st);
        const int released = release_young(st, im, live, nodes, n);
        hl_bench_resume_timing(st);
        if (released != 0)
            break;
    }
    gc_run_report(st, &r, total_ns, got, young);
done:
    gc_run_close(st, &r);
}

int main(int argc, char **argv)
{
    char seed[32];
    snprintf(seed, sizeof seed, "0x%016llx", (unsigned long long)GRAPH_SEED);
    hl_bench_add_context("heaplab_suite", "gc_full,gc_gen0");
    hl_bench_add_context("heaplab_allocator", "pymalloc");
    hl_bench_add_context("cpython_headers", PY_VERSION);
    hl_bench_add_context("cpython_library", Py_GetVersion());
    hl_bench_add_context("graph_seed", seed);

    /* Shape, state and size outermost, the implementations innermost, so
     * the two runs compared sit next to each other in time. */
    for (int s = 0; s < NSHAPES; s++) {
        for (int g = 0; g < NSTATES; g++) {
            for (size_t k = 0; k < NSIZES; k++) {
                for (size_t i = 0; i < NIMPLS; i++) {
                    bench_case_t *bc = &cases[i][s][g];
                    *bc = (bench_case_t){&impls[i], (shape_t)s, (gstate_t)g};
                    char name[128];
                    snprintf(name, sizeof name, "gc_full/%s/%s/%s", impls[i].name,
                             shape_names[s], state_names[g]);
                    hl_bench_t *b = hl_bench_register(name, bm_gc_full, bc);
                    hl_bench_set_unit(hl_bench_arg(b, sizes[k]), HL_BENCH_US);
                }
            }
        }
    }
    /* The young runs, after the full ones, in the same order; the cases are
     * the same (impl, shape, state) triples. */
    for (int s = 0; s < NSHAPES; s++) {
        for (int g = 0; g < NSTATES; g++) {
            for (size_t k = 0; k < NYOUNG_SIZES; k++) {
                for (size_t i = 0; i < NIMPLS; i++) {
                    char name[128];
                    snprintf(name, sizeof name, "gc_gen0/%s/%s/%s", impls[i].name,
                             shape_names[s], state_names[g]);
                    hl_bench_t *b = hl_bench_register(name, bm_gc_gen0, &cases[i][s][g]);
                    hl_bench_use_manual_time(hl_bench_arg(b, young_sizes[k]));
                    hl_bench_set_unit(b, HL_BENCH_US);
                }
            }
        }
    }

    int status = hl_bench_main(argc, argv);
    if (hl_rt != NULL)
        hl_runtime_destroy(hl_rt);
    if (py_gc_collect != NULL) {
        cpython_clear();
        if (Py_FinalizeEx() < 0 && status == 0)
            status = 1;
    }
    return status;
}
