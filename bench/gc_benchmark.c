/* gc_benchmark.c: the time per object of a full collection, heaplab's
 * collector (lib/gc/gcmodule.c) next to CPython 3.11's gc.collect(), on the
 * same graphs, in the same process and the same run.
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
 * Before timing, each run builds its graph once and checks that the
 * collector tracks exactly N objects (gc.get_objects() / the generation
 * sizes) and that a first collection returns what the timed ones must.
 * A wrong count is a SkipWithError, and the binary then exits 1.
 *
 * Runs are named gc_full/IMPL/SHAPE/STATE/N (IMPL heaplab or cpython), the
 * two implementations of one shape/state/N registered next to each other.
 * Counters:
 *   ns_per_object  CPU time of the collection call / N, per iteration
 *                  (CLOCK_PROCESS_CPUTIME_ID around hl_gc_collect /
 *                  gc.collect; the wall time is Google Benchmark's
 *                  real_time / N)
 *   collected      what the timed collections returned (0 or N)
 *   tracked        objects in generations 0..2 with the graph built (N)
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
    ssize_t (*collect)(void);                 /* full collection; -1 on error */
    ssize_t (*tracked)(void);                 /* objects in generations 0..2 */
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
static ssize_t heaplab_collect(void) { return hl_gc_collect(hl_rt, 2); }

static ssize_t heaplab_tracked(void)
{
    ssize_t n = 0;
    for (int g = 0; g < HL_GC_NUM_GENERATIONS; g++)
        n += hl_gc_generation_size(hl_rt, g);
    return n;
}

/* CPython.  gc.collect is called through the module (PyGC_Collect does
 * nothing while the collector is disabled), as gc.collect(2). */

static PyObject *py_gc_collect, *py_gc_get_objects, *py_two;

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
        py_two = PyLong_FromLong(2);
    }
    PyObject *r1 = py_two ? PyObject_CallMethod(gc, "disable", NULL) : NULL;
    PyObject *r2 = r1 ? PyObject_CallOneArg(py_gc_collect, py_two) : NULL;
    PyObject *r3 = r2 ? PyObject_CallNoArgs(py_gc_get_objects) : NULL;
    PyObject *r4 = r3 ? PyObject_CallMethod(gc, "freeze", NULL) : NULL;
    Py_XDECREF(r1);
    Py_XDECREF(r2);
    Py_XDECREF(r3);
    Py_XDECREF(gc);
    if (r4 == NULL) {
        PyErr_Print();
        snprintf(err, errlen, "setting up CPython's gc module failed");
        Py_CLEAR(py_gc_collect);
        Py_CLEAR(py_gc_get_objects);
        Py_CLEAR(py_two);
        return -1;
    }
    Py_DECREF(r4);
    return 0;
}

static void *cpython_list_new(void) { return PyList_New(0); }
static int cpython_append(void *l, void *v) { return PyList_Append(l, v); }
static void cpython_decref(void *op) { Py_DECREF((PyObject *)op); }

static ssize_t cpython_collect(void)
{
    PyObject *r = PyObject_CallOneArg(py_gc_collect, py_two);
    if (r == NULL) {
        PyErr_Print();
        return -1;
    }
    ssize_t n = PyLong_AsSsize_t(r);
    Py_DECREF(r);
    return n;
}

static ssize_t cpython_tracked(void)
{
    PyObject *l = PyObject_CallNoArgs(py_gc_get_objects);
    if (l == NULL) {
        PyErr_Print();
        return -1;
    }
    ssize_t n = PyList_GET_SIZE(l);
    Py_DECREF(l);
    return n;
}

static const impl_t impls[] = {
    {"heaplab", heaplab_start, heaplab_list_new, heaplab_append, heaplab_decref,
     heaplab_collect, heaplab_tracked},
    {"cpython", cpython_start, cpython_list_new, cpython_append, cpython_decref,
     cpython_collect, cpython_tracked},
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
    im->collect();
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

static void bm_gc_full(hl_bench_state_t *st, void *user)
{
    const bench_case_t *bc = user;
    const impl_t *im = bc->impl;
    const size_t n = (size_t)hl_bench_range(st, 0);
    const bool live = bc->state == STATE_LIVE;
    const size_t keep = live ? 0 : n;
    const ssize_t expect = live ? 0 : (ssize_t)n;
    char err[256] = "";

    if (im->start(err, sizeof err) != 0) {
        skip(st, "%s: %s", im->name, err);
        return;
    }
    void **nodes = malloc(n * sizeof *nodes);
    if (nodes == NULL) {
        skip(st, "out of memory for %zu node pointers", n);
        return;
    }

    /* Untimed: the graph is all there, in the collector's generations, and
     * a first collection returns what every timed one must. */
    if (build_graph(im, bc->shape, n, nodes, keep) != 0) {
        skip(st, "%s: building the graph failed", im->name);
        goto done;
    }
    const ssize_t tracked = im->tracked();
    ssize_t got = im->collect();
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
        got = im->collect();
        total_ns += cpu_ns() - t0;
        if (got != expect) {
            skip(st, "%s: a full collection returned %zd, expected %zd", im->name, got, expect);
            break;
        }
    }
    if (!hl_bench_error_occurred(st)) {
        hl_bench_counter(st, "ns_per_object", total_ns / (double)n,
                         HL_BENCH_COUNTER_AVG_ITERATIONS);
        hl_bench_counter(st, "collected", (double)got, HL_BENCH_COUNTER_DEFAULT);
        hl_bench_counter(st, "tracked", (double)tracked, HL_BENCH_COUNTER_DEFAULT);
        hl_bench_set_items_processed(st, hl_bench_iterations(st) * (int64_t)n);
    }

release:
    if (live) {
        /* The last reference: the whole graph becomes one cycle of garbage. */
        im->decref(nodes[0]);
        got = im->collect();
        if (got != (ssize_t)n && !hl_bench_error_occurred(st))
            skip(st, "%s: collecting the released graph returned %zd, expected %zu", im->name,
                 got, n);
    }
done:
    hl_bench_counter(st, "peak_rss_mib", peak_rss_mib(), HL_BENCH_COUNTER_DEFAULT);
    free(nodes);
}

int main(int argc, char **argv)
{
    char seed[32];
    snprintf(seed, sizeof seed, "0x%016llx", (unsigned long long)GRAPH_SEED);
    hl_bench_add_context("heaplab_suite", "gc_full");
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

    int status = hl_bench_main(argc, argv);
    if (hl_rt != NULL)
        hl_runtime_destroy(hl_rt);
    if (py_gc_collect != NULL) {
        Py_CLEAR(py_gc_collect);
        Py_CLEAR(py_gc_get_objects);
        Py_CLEAR(py_two);
        if (Py_FinalizeEx() < 0 && status == 0)
            status = 1;
    }
    return status;
}
