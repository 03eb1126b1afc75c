/* traces.c: the traces workload family: real programs' allocation streams,
 * replayed into every allocator.
 *
 * The other families are synthetic: a size distribution and a lifetime rule
 * that someone chose.  Real programs are not like that - Zorn & Grunwald
 * ("Empirical measurements of six allocation-intensive C programs", 1992) and
 * Johnstone & Wilson ("The memory fragmentation problem: solved?", ISMM
 * 1998) both found that synthetic random workloads misjudge allocators, and
 * measured them by replaying traces of real programs instead.  This family
 * does the same with glibc mtrace traces (heaplab/trace.h): the bundled
 * corpus/traces/ *.mtrace.gz (three CPython 3.11 runs with PYTHONMALLOC=malloc,
 * i.e. CPython's whole object stream, and GCC's cc1; corpus/traces/README.md)
 * plus every --trace=FILE.  For each trace NAME (the file's basename without
 * .mtrace.gz, .gz or .mtrace; '/' and ':' become '_') and each allocator:
 *
 *   trace/NAME/ALLOCATOR        timed, manual time.  One iteration:
 *
 *       fresh instance ─> warm-up replay ─> [clock ─ every op of the trace ─
 *       (hl_suite_open)   (untimed; every    clock] ─> free the blocks still
 *                         block freed)       live, destroy
 *                         hl_replay_timed: bare malloc/realloc/free through
 *                         the vtable, no checks
 *
 *     Only the bracketed part is reported (hl_bench_set_iteration_time), so
 *     instance creation, the final frees and destroy cost nothing.  One item
 *     is one trace op (a malloc, a free or a realloc), so ns/op =
 *     1e9 / items_per_second; the label gives the trace's op count.
 *     Why the warm-up: the timed replay is to measure the allocator in the
 *     steady state a running program is in, the same for every allocator.
 *     Without it a fresh instance pays the kernel's first-touch page faults
 *     on every page it maps, and not every allocator is fresh: `cpython`'s
 *     obmalloc lives for the whole process and keeps one wholly free arena
 *     (bpo-37257), and glibc's heap is the process's.  perf showed the
 *     difference: on cc1, pymalloc's replays spent ~12% of their time in
 *     page faults and cpython's none.  After one replay every allocator has
 *     freed every block and kept what its own policy keeps.
 *
 *   mem/trace_NAME/ALLOCATOR    the memory measures of hl_suite.h, one pass
 *     on a fresh instance (hl_replay_observed): every malloc is an
 *     hl_suite_mem_alloc, every free an hl_suite_mem_free, a realloc both
 *     (free of the old block, allocation of the new, at the trace's requested
 *     sizes); the blocks still live at the end are freed and counted, then
 *     hl_suite_mem_report.  peak_live is the trace's own peak of requested
 *     bytes (the same for every allocator); footprint_ratio is what each
 *     allocator needed from the system to serve it (Johnstone & Wilson's
 *     measure #4).  Correctness is not checked here: `heaplab replay` and
 *     lib/trace's corpus_test verify every trace on every allocator.
 *     Footprint is a growth since the instance was made, so where the heap is
 *     the process's (glibc, pymalloc's and cpython's raw domain, the peers)
 *     memory freed by earlier runs of the same process is reused unseen and
 *     the ratio can fall below 1; for such allocators run the mem/ runs alone
 *     (--benchmark_filter=^mem/trace_) or read peak_rss_delta.
 *
 * Registration order: trace/ for every trace and allocator, then mem/.
 *
 * Traces are parsed once, here at registration, and kept for the process
 * (their op arrays are mmap'ed, outside every malloc heap measured): a run
 * times the allocator, never the gzip and text parser.  A trace that does not
 * parse, or has no operation to replay, ends registration with its
 * FILE[:LINE] error on stderr and exit status 2, before anything runs.  The
 * same path given twice is replayed once; two files with one NAME get _2, _3.
 *
 * Run time.  A timed iteration is one whole replay, and Google Benchmark
 * stops adding iterations once their reported time reaches
 * --benchmark_min_time, so a slow allocator on a big trace runs one iteration
 * (one replay), however slow.  Nothing here overrides the command line's min
 * time or repetitions.  Every scale replays every trace: the four bundled
 * ones take 10-20 s on all 14 allocators at --smoke's min time, ASan or not,
 * the slowest replay (seqfit-best on pydoc) ~0.5 s in the default config.
 * The other way round, a trace of a handful of ops spends more wall time
 * making and destroying instances than replaying (a 4-op trace: ~2 s per
 * allocator at the default 0.5 s min time), which is bounded, so not capped.
 */
#include "hl_suite.h"
#include "heaplab/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One trace file, parsed. */
typedef struct trace_workload_s {
    const char *path;
    hl_trace_t *t;
    size_t ops;
    char name[128];        /* NAME: no '/', no ':' */
    char mem_name[136];    /* trace_NAME */
    char label[48];        /* "N ops" */
    hl_suite_case_t cases[HL_SUITE_MAX_ALLOCATORS];   /* one per allocator */
} trace_workload_t;

/* Kept for the process: the benchmarks point into it until hl_bench_main
 * returns.  Static, cases included, rather than hl_suite_case's heap copies:
 * Google Benchmark drops its benchmarks at shutdown, and with them the only
 * pointers to those, which LeakSanitizer then reports. */
static trace_workload_t workloads[HL_SUITE_MAX_TRACES];
static size_t nworkloads;

/* Parses w's trace if it is not parsed yet (--lazy-traces); 0, or -1
 * after skipping the run with the parser's FILE:LINE error. */
static int ensure_parsed(trace_workload_t *w, hl_bench_state_t *st)
{
    if (w->t != NULL)
        return 0;
    char err[1024];
    if (hl_trace_load(w->path, &w->t, err, sizeof err) != 0) {
        hl_bench_skip_with_error(st, err);
        return -1;
    }
    w->ops = hl_trace_info(w->t)->ops;
    snprintf(w->label, sizeof w->label, "%zu ops", w->ops);
    if (w->ops == 0) {
        hl_bench_skip_with_error(st, "the trace has no malloc, free or realloc to replay");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* The benchmarks */

static void bm_trace(hl_bench_state_t *st, void *user)
{
    const hl_suite_case_t *c = user;
    trace_workload_t *w = (trace_workload_t *)c->workload;
    if (ensure_parsed(w, st) != 0)
        return;
    char err[512];
    while (hl_bench_keep_running(st)) {
        hl_allocator_t *a = hl_suite_open(st, c->allocator);
        if (a == NULL)
            break;
        hl_replay_report_t rep;
        hl_replay_report_init(&rep, w->t, c->allocator);
        int rc = hl_replay_timed(a, w->t, &rep, err, sizeof err);      /* warm-up */
        if (rc == 0) {
            hl_replay_report_init(&rep, w->t, c->allocator);
            rc = hl_replay_timed(a, w->t, &rep, err, sizeof err);
        }
        hl_suite_close(a);
        if (rc != 0) {
            hl_bench_skip_with_error(st, err);
            break;
        }
        hl_bench_set_iteration_time(st, (double)rep.elapsed_ns * 1e-9);
    }
    hl_bench_set_items_processed(st, hl_bench_iterations(st) * (int64_t)w->ops);
    hl_bench_set_label(st, w->label);
}

static void observe_alloc(void *user, const void *p, size_t size)
{
    hl_suite_mem_alloc(user, p, size);
}

static void observe_free(void *user, const void *p, size_t size)
{
    hl_suite_mem_free(user, p, size);
}

static void bm_trace_mem(hl_bench_state_t *st, void *user)
{
    const hl_suite_case_t *c = user;
    trace_workload_t *w = (trace_workload_t *)c->workload;
    if (ensure_parsed(w, st) != 0)
        return;
    hl_allocator_t *a = hl_suite_open(st, c->allocator);
    if (a == NULL)
        return;
    hl_suite_mem_t m;
    hl_replay_observer_t obs = {observe_alloc, observe_free, &m};
    char err[512];
    int rc = 0;
    hl_suite_mem_begin(&m, a);
    while (hl_bench_keep_running(st)) {       /* once: hl_suite_register_mem */
        rc = hl_replay_observed(a, w->t, &obs, err, sizeof err);
        if (rc != 0) {
            hl_bench_skip_with_error(st, err);
            break;
        }
    }
    if (rc == 0)
        hl_suite_mem_report(&m, st);
    hl_suite_close(a);
    hl_bench_set_label(st, w->label);
}

/* ---------------------------------------------------------------------- */
/* Registration */

/* NAME of a trace file, into out (see the header comment). */
static void trace_name(const char *path, char *out, size_t outlen)
{
    static const char *const suffixes[] = {".mtrace.gz", ".gz", ".mtrace"};
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t k = strlen(suffixes[i]);
        if (n > k && strcmp(base + n - k, suffixes[i]) == 0) {
            n -= k;
            break;
        }
    }
    if (n == 0) {                 /* ".gz", or a path ending in '/' */
        base = "trace";
        n = 5;
    }
    if (n >= outlen)
        n = outlen - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = base[i] == '/' || base[i] == ':' ? '_' : base[i];
    out[n] = '\0';
}

static bool name_taken(const char *name)
{
    for (size_t i = 0; i < nworkloads; i++)
        if (strcmp(workloads[i].name, name) == 0)
            return true;
    return false;
}

/* Parses path into the next workload; exits 2 with its error if it cannot.
 * Lazily (--lazy-traces), only names it: ensure_parsed parses it. */
static void load(const char *path, bool lazy)
{
    for (size_t i = 0; i < nworkloads; i++)
        if (strcmp(workloads[i].path, path) == 0)
            return;                            /* given twice */
    trace_workload_t *w = &workloads[nworkloads];
    char err[1024];
    w->path = path;
    if (!lazy) {
        if (hl_trace_load(path, &w->t, err, sizeof err) != 0) {
            fprintf(stderr, "heaplab_bench: %s\n", err);
            exit(2);
        }
        w->ops = hl_trace_info(w->t)->ops;
        if (w->ops == 0) {
            fprintf(stderr, "heaplab_bench: %s: error: no malloc, free or realloc to replay\n",
                    hl_trace_info(w->t)->name);
            exit(2);
        }
    }
    char base[sizeof w->name - 16];
    trace_name(path, base, sizeof base);
    snprintf(w->name, sizeof w->name, "%s", base);
    for (int k = 2; name_taken(w->name); k++)
        snprintf(w->name, sizeof w->name, "%s_%d", base, k);
    snprintf(w->mem_name, sizeof w->mem_name, "trace_%s", w->name);
    if (!lazy)
        snprintf(w->label, sizeof w->label, "%zu ops", w->ops);
    nworkloads++;
}

void hl_suite_register_traces(const hl_suite_config_t *cfg)
{
    for (size_t i = 0; i < cfg->ntraces; i++)
        load(cfg->traces[i], cfg->lazy_traces);

    for (size_t i = 0; i < nworkloads; i++) {
        trace_workload_t *w = &workloads[i];
        for (size_t k = 0; k < cfg->nallocators; k++) {
            w->cases[k] = (hl_suite_case_t){.allocator = cfg->allocators[k], .workload = w};
            hl_bench_use_manual_time(
                hl_suite_register("trace", w->name, cfg->allocators[k], bm_trace, &w->cases[k]));
        }
    }
    for (size_t i = 0; i < nworkloads; i++) {
        trace_workload_t *w = &workloads[i];
        for (size_t k = 0; k < cfg->nallocators; k++)
            hl_suite_register_mem(w->mem_name, cfg->allocators[k], bm_trace_mem, &w->cases[k]);
    }
}
