/* hl_suite.h: the benchmark suite's frame, shared by every workload family.
 *
 * One binary, //bench/suite:heaplab_bench, holds every workload family
 * (bench/workloads/: micro, patterns, scaling, traces, objects).  Each family
 * registers its benchmarks once per selected allocator through hl_bench.h,
 * so every workload runs on every allocator of the registry:
 *
 *     main.c ──parse --allocators/--quick/--trace──> hl_suite_config_t
 *        │
 *        ├── hl_suite_register_micro(cfg)     micro/<workload>/<allocator>/<args>
 *        ├── hl_suite_register_patterns(cfg)  pattern/...
 *        ├── hl_suite_register_scaling(cfg)   scale/...
 *        ├── hl_suite_register_traces(cfg)    trace/...
 *        ├── hl_suite_register_objects(cfg)   obj/...
 *        │      (each also registers mem/<workload>/<allocator>/<args>)
 *        └── hl_bench_main(argc, argv)        Google Benchmark runs them
 *
 * Names.  Every run is FAMILY/WORKLOAD/ALLOCATOR[/NAME:VALUE...] and
 * bench/tools/report.py reads them by position: family, workload and
 * allocator are the first three fields; arguments are named
 * (hl_bench_arg_names), and Google Benchmark's own suffixes
 * (iterations:N, repeats:N, manual_time, real_time) may follow.  A workload
 * name has no '/' and no ':'.
 *
 * Timed runs (every family but mem) report
 *   items_per_second   one item = one allocator operation pair as the family
 *                      defines it (malloc+free, a realloc step, a trace op)
 * so that ns per item = 1e9 / items_per_second, comparable across
 * allocators for one workload.
 *
 * Memory runs (family mem) run a workload once, untimed in effect (one
 * iteration, one repetition), on a fresh instance, with an hl_suite_mem_t
 * told of every allocation and free; hl_suite_mem_report then sets the
 * counters below.  Footprint is what the allocator holds from the system
 * (hl_stats held_bytes) minus what it held at creation:
 *
 *   peak_live         max over time of the requested bytes of live blocks
 *   peak_footprint    max over the samples of footprint
 *   footprint_ratio   peak_footprint / peak_live        (Johnstone & Wilson's
 *                     measure #4; a perfect allocator would score 1)
 *   internal_frag     (usable - requested) / requested, summed over the live
 *                     blocks at the moment of peak live
 *   retained          footprint after the workload freed every block
 *   peak_rss_delta    VmHWM at the end - VmRSS at the start (bytes; the
 *                     peak is reset through /proc/self/clear_refs first)
 *   rss_ratio         peak_rss_delta / peak_live: the same measure #4 from
 *                     the pages the process touched, so comparable across
 *                     every allocator (footprint is each one's own count:
 *                     mimalloc's is its commit, in 32 MiB segments)
 *   footprint_known   1 iff the allocator reports HL_STAT_HELD; if 0, the
 *                     footprint counters are absent, never made up
 *
 * Footprint is sampled as the live bytes grow (every 1/256 of growth) and
 * every 4096 allocations otherwise (HL_SUITE_MEM_SAMPLE_*), and once more
 * at the report: a peak of footprint between two samples can be missed by
 * at most what 1/256 of the live bytes or 4096 allocations can add.
 * peak_live and usable_at_peak are exact (counted on every event).
 */
#ifndef HL_BENCH_SUITE_H
#define HL_BENCH_SUITE_H

#include "heaplab/allocator.h"
#include "hl_bench.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HL_SUITE_MAX_ALLOCATORS 32
#define HL_SUITE_MAX_TRACES 64
/* Footprint samples (hl_stats) are taken on allocations only, since no
 * free makes an allocator hold more: whenever the live bytes have grown by
 * more than 1/HL_SUITE_MEM_SAMPLE_GROWTH since the last sample, and at
 * least every HL_SUITE_MEM_SAMPLE_EVERY allocations (the steady phases,
 * where fragmentation, not live data, grows the footprint).  A sample can
 * cost O(heap) (glibc's mallinfo2 walks its free chunks), so sampling every
 * operation would make a 10^6-block run take hours. */
#define HL_SUITE_MEM_SAMPLE_GROWTH 256
#define HL_SUITE_MEM_SAMPLE_EVERY 4096
_Static_assert(HL_SUITE_MEM_SAMPLE_GROWTH >= 16 && HL_SUITE_MEM_SAMPLE_EVERY >= 64,
               "sampling often enough to miss little, rarely enough to stay O(ops)");

typedef enum hl_suite_scale_e {
    HL_SUITE_FULL = 0,
    HL_SUITE_QUICK,
    HL_SUITE_SMOKE,
} hl_suite_scale_t;

/* Where memory runs run (--mem=...).  A footprint read in a process that
 * has already run other benchmarks is not the workload's alone: glibc's,
 * tcmalloc's and mimalloc's heaps are process-wide and keep what earlier
 * runs freed, and pymalloc's raw allocator is glibc.  So `heaplab bench`
 * measures each memory run in a fresh process (bench/tools/mem_runs.py),
 * as mimalloc-bench runs each test in its own:
 *   INLINE  every family, memory runs included, in this process (the
 *           default: a direct run, and the suite's smoke test)
 *   SKIP    no memory run is registered (the timed pass)
 *   ONLY    only memory runs are registered (each isolated child, and the
 *           listing of them) */
typedef enum hl_suite_mem_mode_e {
    HL_SUITE_MEM_INLINE = 0,
    HL_SUITE_MEM_SKIP,
    HL_SUITE_MEM_ONLY,
} hl_suite_mem_mode_t;

typedef struct hl_suite_config_s {
    /* Registry names, in registry order unless --allocators gave one. */
    const char *allocators[HL_SUITE_MAX_ALLOCATORS];
    size_t nallocators;
    /* How many arguments each workload runs with:
     *   FULL   `heaplab bench`: every size class, live sets to 10^7, ...
     *   QUICK  `--quick` (heaplab run's suite): a few per workload
     *   SMOKE  `--smoke` (the suite's test): the smallest, so that every
     *          workload runs on every allocator in seconds */
    hl_suite_scale_t scale;
    /* Trace files for the trace family: the bundled ones and --trace=FILE. */
    const char *traces[HL_SUITE_MAX_TRACES];
    size_t ntraces;
    hl_suite_mem_mode_t mem;
    /* --lazy-traces: parse each trace when a run first needs it, not at
     * registration (an isolated child runs one run; a bad trace is then
     * that run's error instead of exit status 2). */
    bool lazy_traces;
} hl_suite_config_t;

/* Makes cfg the configuration hl_suite_register* obey (main, before any
 * family registers), and frees the cases after hl_bench_main. */
void hl_suite_configure(const hl_suite_config_t *cfg);
void hl_suite_shutdown(void);

/* ---------------------------------------------------------------------- */
/* Registration */

/* Registers FAMILY/WORKLOAD/ALLOCATOR for fn; user is passed as is (it must
 * outlive hl_bench_main).  Set arguments on the result with hl_bench_args*
 * and name them with hl_bench_arg_names.  Under --mem=only the benchmark is
 * built but not registered (hl_bench_detached), so callers never check. */
hl_bench_t *hl_suite_register(const char *family, const char *workload,
                              const char *allocator, hl_bench_fn fn, void *user);

/* The same for a memory run: mem/WORKLOAD/ALLOCATOR, one iteration, one
 * repetition, whatever the command line asks.  Not registered under
 * --mem=skip. */
hl_bench_t *hl_suite_register_mem(const char *workload, const char *allocator,
                                  hl_bench_fn fn, void *user);

/* Every benchmark body gets one of these as its user pointer (families may
 * embed it first in a larger struct): which allocator, and a workload
 * family's own parameters. */
typedef struct hl_suite_case_s {
    const char *allocator;
    const void *workload;     /* the family's own description, or NULL */
} hl_suite_case_t;

/* A case that lives until hl_suite_shutdown (Google Benchmark needs the
 * pointer until hl_bench_main returns). */
hl_suite_case_t *hl_suite_case(const char *allocator, const void *workload);

/* The families.  Each registers its benchmarks for every allocator of cfg. */
void hl_suite_register_micro(const hl_suite_config_t *cfg);
void hl_suite_register_patterns(const hl_suite_config_t *cfg);
void hl_suite_register_scaling(const hl_suite_config_t *cfg);
void hl_suite_register_traces(const hl_suite_config_t *cfg);
void hl_suite_register_objects(const hl_suite_config_t *cfg);

/* ---------------------------------------------------------------------- */
/* Inside a benchmark */

/* A fresh instance of the named allocator (mmap arenas; the default raw
 * allocator), or NULL after hl_bench_skip_with_error naming the allocator
 * and why.  Call before the timing loop; hl_suite_close after it. */
hl_allocator_t *hl_suite_open(hl_bench_state_t *st, const char *allocator);
void hl_suite_close(hl_allocator_t *a);

/* A fixed-seed generator (splitmix64): every allocator sees the same
 * sequence of sizes and choices. */
static inline uint64_t hl_suite_rand(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}
#define HL_SUITE_SEED UINT64_C(0x5eed2024)

/* Memory runs: see the header comment. */
typedef struct hl_suite_mem_s {
    const hl_allocator_t *a;
    bool held_known;
    size_t held0;              /* held_bytes at begin */
    size_t live_req;           /* requested bytes live now */
    size_t live_usable;        /* usable bytes live now */
    size_t peak_live_req;
    size_t usable_at_peak;     /* live_usable when live_req peaked */
    size_t peak_footprint;
    size_t allocs_since_sample;
    size_t sample_above;       /* sample once live_req exceeds this */
    long rss0;                 /* VmRSS at begin, bytes (-1: unknown) */
    bool failed;               /* some allocation returned NULL */
} hl_suite_mem_t;

/* Starts measuring a just-opened instance: reads held_bytes and VmRSS,
 * resets VmHWM. */
void hl_suite_mem_begin(hl_suite_mem_t *m, const hl_allocator_t *a);
/* Slow path of the event functions: a footprint sample. */
void hl_suite_mem_sample(hl_suite_mem_t *m);

/* Every allocation (p may be NULL: counted as a failure) and every free
 * (before hl_free: it asks usable_size).  A realloc is a free of the old
 * block and an allocation of the new one. */
static inline void hl_suite_mem_alloc(hl_suite_mem_t *m, const void *p, size_t requested)
{
    if (p == NULL) {
        m->failed = true;
        return;
    }
    m->live_req += requested;
    m->live_usable += hl_usable_size(m->a, p);
    if (m->live_req > m->peak_live_req) {
        m->peak_live_req = m->live_req;
        m->usable_at_peak = m->live_usable;
    }
    if (++m->allocs_since_sample >= HL_SUITE_MEM_SAMPLE_EVERY || m->live_req > m->sample_above)
        hl_suite_mem_sample(m);
}
static inline void hl_suite_mem_free(hl_suite_mem_t *m, const void *p, size_t requested)
{
    if (p == NULL)
        return;
    m->live_req -= requested;
    m->live_usable -= hl_usable_size(m->a, p);
}

/* Ends a measurement after the workload has freed every block: sets the
 * counters of the header comment on st (and skips with an error if an
 * allocation failed or live bytes did not come back to 0). */
void hl_suite_mem_report(hl_suite_mem_t *m, hl_bench_state_t *st);

/* The process's resident set now and its peak since the last reset, in
 * bytes (from /proc/self/status; -1 if unreadable), and the reset. */
long hl_suite_rss_now(void);
long hl_suite_rss_peak(void);
void hl_suite_rss_reset_peak(void);

#ifdef __cplusplus
}
#endif
#endif /* HL_BENCH_SUITE_H */
