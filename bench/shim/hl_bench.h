/* hl_bench.h: a C API over Google Benchmark, for heaplab's benchmarks.
 *
 * Google Benchmark has no C API (its header needs C++ and benchmark::State),
 * so every heaplab benchmark is written in C against this header and linked
 * with //bench/shim, whose one C++ file forwards each call.  The names follow
 * Google Benchmark's; its command-line flags (--benchmark_filter,
 * --benchmark_repetitions, --benchmark_out, ...) all work unchanged.
 *
 *     static void bm_sum(hl_bench_state_t *st, void *user)
 *     {
 *         const int64_t n = hl_bench_range(st, 0);
 *         while (hl_bench_keep_running(st)) {
 *             int64_t s = 0;
 *             for (int64_t i = 0; i < n; i++)
 *                 s += i;
 *             hl_bench_do_not_optimize(&s);
 *         }
 *         hl_bench_set_items_processed(st, hl_bench_iterations(st) * n);
 *     }
 *
 *     int main(int argc, char **argv)
 *     {
 *         hl_bench_arg_range(hl_bench_register("sum", bm_sum, NULL), 8, 4096);
 *         return hl_bench_main(argc, argv);
 *     }
 *
 * Registration (hl_bench_register and the hl_bench_t setters) must happen
 * before hl_bench_main; a name is copied, the user pointer is passed as is
 * to every run and must outlive hl_bench_main.  Benchmarks run on one
 * thread (the shim has no Threads()).
 */
#ifndef HL_BENCH_H
#define HL_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hl_bench_s hl_bench_t;              /* benchmark::internal::Benchmark */
typedef struct hl_bench_state_s hl_bench_state_t;  /* benchmark::State */

/* A benchmark body: one run of the benchmark with one argument tuple.  It
 * may set up before the timing loop and tear down after it. */
typedef void (*hl_bench_fn)(hl_bench_state_t *st, void *user);

/* ---------------------------------------------------------------------- */
/* Registration */

/* Registers fn under `name`.  Without an argument setter it runs once, as
 * `name`; each hl_bench_arg* call adds runs named `name/ARG[/ARG...]`.
 * The setters return b, so they chain. */
hl_bench_t *hl_bench_register(const char *name, hl_bench_fn fn, void *user);

/* A benchmark that is configured like any other but never registered, so
 * never listed or run: for a caller that builds benchmarks it may leave out
 * of this process (every setter below works on it).  Freed at exit. */
hl_bench_t *hl_bench_detached(const char *name);

/* Arguments (Arg, Args, Range, DenseRange, RangeMultiplier, ArgsProduct,
 * ArgNames). */
hl_bench_t *hl_bench_arg(hl_bench_t *b, int64_t x);         /* one run: (x) */
hl_bench_t *hl_bench_args(hl_bench_t *b, const int64_t *xs, size_t n); /* (xs...) */
/* lo, powers of the range multiplier (default 8) in between, and hi. */
hl_bench_t *hl_bench_arg_range(hl_bench_t *b, int64_t lo, int64_t hi);
hl_bench_t *hl_bench_arg_dense_range(hl_bench_t *b, int64_t lo, int64_t hi, int step);
hl_bench_t *hl_bench_range_multiplier(hl_bench_t *b, int multiplier);
/* The cartesian product of nlists lists: list k is lists[k][0..lens[k]). */
hl_bench_t *hl_bench_args_product(hl_bench_t *b, const int64_t *const *lists,
                                  const size_t *lens, size_t nlists);
/* Names the arguments in the run names: `name/n:1000` instead of
 * `name/1000`. */
hl_bench_t *hl_bench_arg_names(hl_bench_t *b, const char *const *names, size_t n);

/* Reporting and run control, for this benchmark only.  Each of min time,
 * repetitions, fixed iterations and real time overrides the command line's
 * value (--benchmark_min_time no longer applies to it, so prefer the flags
 * unless the benchmark needs its own) and shows in the run names, as
 * Google Benchmark does: `name/ARG/min_time:0.500/repeats:3/real_time`. */
typedef enum hl_bench_unit_e {
    HL_BENCH_NS = 0,   /* benchmark::kNanosecond (the default) */
    HL_BENCH_US = 1,   /* benchmark::kMicrosecond */
    HL_BENCH_MS = 2,   /* benchmark::kMillisecond */
    HL_BENCH_S = 3,    /* benchmark::kSecond */
} hl_bench_unit_t;
hl_bench_t *hl_bench_set_unit(hl_bench_t *b, hl_bench_unit_t unit);
hl_bench_t *hl_bench_set_min_time(hl_bench_t *b, double seconds);
hl_bench_t *hl_bench_set_repetitions(hl_bench_t *b, int n);
hl_bench_t *hl_bench_set_iterations(hl_bench_t *b, int64_t n);   /* fixed count */
/* Time with the wall clock instead of the process's CPU time; iterations
 * are sized by it too. */
hl_bench_t *hl_bench_use_real_time(hl_bench_t *b);
/* The benchmark times itself (UseManualTime): each iteration reports its
 * own duration with hl_bench_set_iteration_time, and nothing else counts.
 * For iterations whose set-up must not be timed and is long next to a
 * clock read (a fresh allocator instance per trace replay, say). */
hl_bench_t *hl_bench_use_manual_time(hl_bench_t *b);

/* A key/value pair for the JSON's "context" (AddCustomContext). */
void hl_bench_add_context(const char *key, const char *value);

/* ---------------------------------------------------------------------- */
/* Inside a benchmark */

/* The timing loop: `while (hl_bench_keep_running(st)) { ... }`.  The first
 * call starts the timer; the call that returns false stops it. */
bool hl_bench_keep_running(hl_bench_state_t *st);

/* Stop and restart the timer around per-iteration set-up.  Costly (a clock
 * read each, ~0.2 us): only for iterations far longer than that. */
void hl_bench_pause_timing(hl_bench_state_t *st);
void hl_bench_resume_timing(hl_bench_state_t *st);

/* Manual time only: the duration of the iteration just run, in seconds. */
void hl_bench_set_iteration_time(hl_bench_state_t *st, double seconds);

/* Argument i of this run (state.range(i)). */
int64_t hl_bench_range(const hl_bench_state_t *st, size_t i);
/* Iterations run so far (the total, after the loop). */
int64_t hl_bench_iterations(const hl_bench_state_t *st);

/* Counter flags, as benchmark::Counter::Flags (same values), combined with
 * `|`.  The value is divided by the run's time (RATE), multiplied by the
 * iteration count (ITERATION_INVARIANT), divided by it (AVG_ITERATIONS),
 * and/or inverted (INVERT), in Google Benchmark's order.
 * HL_BENCH_COUNTER_1024 is the shim's own bit: thousands are 1024 when
 * the console prints the counter (benchmark::Counter::kIs1024). */
#define HL_BENCH_COUNTER_DEFAULT                 0u
#define HL_BENCH_COUNTER_RATE                    (1u << 0)
#define HL_BENCH_COUNTER_AVG_THREADS             (1u << 1)
#define HL_BENCH_COUNTER_AVG_THREADS_RATE        (HL_BENCH_COUNTER_RATE | HL_BENCH_COUNTER_AVG_THREADS)
#define HL_BENCH_COUNTER_ITERATION_INVARIANT     (1u << 2)
#define HL_BENCH_COUNTER_ITERATION_INVARIANT_RATE \
    (HL_BENCH_COUNTER_RATE | HL_BENCH_COUNTER_ITERATION_INVARIANT)
#define HL_BENCH_COUNTER_AVG_ITERATIONS          (1u << 3)
#define HL_BENCH_COUNTER_AVG_ITERATIONS_RATE \
    (HL_BENCH_COUNTER_RATE | HL_BENCH_COUNTER_AVG_ITERATIONS)
#define HL_BENCH_COUNTER_INVERT                  (1u << 31)
#define HL_BENCH_COUNTER_1024                    (1u << 30)

/* Sets (or replaces) the counter `name` of this run; it appears in the
 * console and as a field of the run in the JSON. */
void hl_bench_counter(hl_bench_state_t *st, const char *name, double value,
                      unsigned flags);
/* items_per_second / bytes_per_second: the total over all iterations. */
void hl_bench_set_items_processed(hl_bench_state_t *st, int64_t items);
void hl_bench_set_bytes_processed(hl_bench_state_t *st, int64_t bytes);
void hl_bench_set_label(hl_bench_state_t *st, const char *label);

/* Marks the run failed with msg (copied); the JSON gets "error_occurred"
 * and "error_message", and hl_bench_main returns 1.  Called before the
 * loop, the loop does not run; inside it, the caller must leave the loop
 * itself (break, or return). */
void hl_bench_skip_with_error(hl_bench_state_t *st, const char *msg);
bool hl_bench_error_occurred(const hl_bench_state_t *st);

/* Optimisation barriers (DoNotOptimize, ClobberMemory).  The first makes
 * the compiler assume *p is read and written, so the computation of it and
 * of anything it points to is kept; the second forces every pending store
 * to memory.  Inline asm: no call, usable in the hottest loop. */
static inline void hl_bench_do_not_optimize(const void *p)
{
    __asm__ __volatile__("" : : "r"(p) : "memory");
}
static inline void hl_bench_clobber_memory(void)
{
    __asm__ __volatile__("" : : : "memory");
}

/* ---------------------------------------------------------------------- */
/* Running */

/* Initialize(&argc, argv), reject unrecognized arguments,
 * RunSpecifiedBenchmarks(), Shutdown().  Returns the process's exit status:
 * 0 when every run succeeded, 1 when some run was skipped with an error,
 * 2 on an unrecognized argument (after printing it).  --help prints Google
 * Benchmark's usage and exits 0. */
int hl_bench_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif /* HL_BENCH_H */
