// hl_bench.cc: the C API of hl_bench.h, forwarded to Google Benchmark 1.7.
//
// hl_bench_state_t is benchmark::State itself behind an opaque C type, and
// hl_bench_t is benchmark::internal::Benchmark: no wrapper objects, no
// allocation per run.  The one piece of state of our own is whether some run
// was skipped with an error, for hl_bench_main's exit status.
#include "hl_bench.h"

#include <benchmark/benchmark.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace {

using benchmark::Counter;

// The shim's flag values are Google Benchmark's, so flags pass through as is
// (once HL_BENCH_COUNTER_1024, the shim's own bit, is taken off).
static_assert(HL_BENCH_COUNTER_RATE == Counter::kIsRate, "kIsRate");
static_assert(HL_BENCH_COUNTER_AVG_THREADS == Counter::kAvgThreads, "kAvgThreads");
static_assert(HL_BENCH_COUNTER_ITERATION_INVARIANT == Counter::kIsIterationInvariant,
              "kIsIterationInvariant");
static_assert(HL_BENCH_COUNTER_AVG_ITERATIONS == Counter::kAvgIterations, "kAvgIterations");
static_assert(HL_BENCH_COUNTER_INVERT == static_cast<unsigned>(Counter::kInvert), "kInvert");
static_assert((HL_BENCH_COUNTER_1024 &
               (HL_BENCH_COUNTER_RATE | HL_BENCH_COUNTER_AVG_THREADS |
                HL_BENCH_COUNTER_ITERATION_INVARIANT | HL_BENCH_COUNTER_AVG_ITERATIONS |
                HL_BENCH_COUNTER_INVERT)) == 0,
              "HL_BENCH_COUNTER_1024 is free in Counter::Flags");

constexpr int U(benchmark::TimeUnit u) { return static_cast<int>(u); }
static_assert(HL_BENCH_NS == U(benchmark::kNanosecond) && HL_BENCH_US == U(benchmark::kMicrosecond) &&
                  HL_BENCH_MS == U(benchmark::kMillisecond) && HL_BENCH_S == U(benchmark::kSecond),
              "hl_bench_unit_t mirrors benchmark::TimeUnit");

std::atomic<bool> g_any_error{false};

// hl_bench_detached's benchmarks: never registered, owned here until exit.
class Detached : public benchmark::internal::Benchmark {
  public:
    explicit Detached(const char *name) : Benchmark(name) {}
    void Run(benchmark::State &) override {}
};
std::vector<std::unique_ptr<Detached>> g_detached;

inline benchmark::State &S(hl_bench_state_t *st) { return *reinterpret_cast<benchmark::State *>(st); }
inline const benchmark::State &S(const hl_bench_state_t *st)
{
    return *reinterpret_cast<const benchmark::State *>(st);
}
inline benchmark::internal::Benchmark *B(hl_bench_t *b)
{
    return reinterpret_cast<benchmark::internal::Benchmark *>(b);
}
inline hl_bench_t *H(benchmark::internal::Benchmark *b) { return reinterpret_cast<hl_bench_t *>(b); }

}  // namespace

extern "C" {

// ---------------------------------------------------------------------------
// Registration

hl_bench_t *hl_bench_register(const char *name, hl_bench_fn fn, void *user)
{
    return H(benchmark::RegisterBenchmark(name, [fn, user](benchmark::State &st) {
        fn(reinterpret_cast<hl_bench_state_t *>(&st), user);
    }));
}

hl_bench_t *hl_bench_detached(const char *name)
{
    g_detached.emplace_back(new Detached(name));
    return H(g_detached.back().get());
}

hl_bench_t *hl_bench_arg(hl_bench_t *b, int64_t x) { return H(B(b)->Arg(x)); }

hl_bench_t *hl_bench_args(hl_bench_t *b, const int64_t *xs, size_t n)
{
    return H(B(b)->Args(std::vector<int64_t>(xs, xs + n)));
}

hl_bench_t *hl_bench_arg_range(hl_bench_t *b, int64_t lo, int64_t hi)
{
    return H(B(b)->Range(lo, hi));
}

hl_bench_t *hl_bench_arg_dense_range(hl_bench_t *b, int64_t lo, int64_t hi, int step)
{
    return H(B(b)->DenseRange(lo, hi, step));
}

hl_bench_t *hl_bench_range_multiplier(hl_bench_t *b, int multiplier)
{
    return H(B(b)->RangeMultiplier(multiplier));
}

hl_bench_t *hl_bench_args_product(hl_bench_t *b, const int64_t *const *lists, const size_t *lens,
                                  size_t nlists)
{
    std::vector<std::vector<int64_t>> v;
    for (size_t k = 0; k < nlists; k++)
        v.emplace_back(lists[k], lists[k] + lens[k]);
    return H(B(b)->ArgsProduct(v));
}

hl_bench_t *hl_bench_arg_names(hl_bench_t *b, const char *const *names, size_t n)
{
    return H(B(b)->ArgNames(std::vector<std::string>(names, names + n)));
}

hl_bench_t *hl_bench_set_unit(hl_bench_t *b, hl_bench_unit_t unit)
{
    return H(B(b)->Unit(static_cast<benchmark::TimeUnit>(unit)));
}

hl_bench_t *hl_bench_set_min_time(hl_bench_t *b, double seconds)
{
    return H(B(b)->MinTime(seconds));
}

hl_bench_t *hl_bench_set_repetitions(hl_bench_t *b, int n) { return H(B(b)->Repetitions(n)); }

hl_bench_t *hl_bench_set_iterations(hl_bench_t *b, int64_t n)
{
    return H(B(b)->Iterations(static_cast<benchmark::IterationCount>(n)));
}

hl_bench_t *hl_bench_use_real_time(hl_bench_t *b) { return H(B(b)->UseRealTime()); }

hl_bench_t *hl_bench_use_manual_time(hl_bench_t *b) { return H(B(b)->UseManualTime()); }

void hl_bench_add_context(const char *key, const char *value)
{
    benchmark::AddCustomContext(key, value);
}

// ---------------------------------------------------------------------------
// Inside a benchmark

bool hl_bench_keep_running(hl_bench_state_t *st) { return S(st).KeepRunning(); }

void hl_bench_pause_timing(hl_bench_state_t *st) { S(st).PauseTiming(); }

void hl_bench_resume_timing(hl_bench_state_t *st) { S(st).ResumeTiming(); }

void hl_bench_set_iteration_time(hl_bench_state_t *st, double seconds)
{
    S(st).SetIterationTime(seconds);
}

int64_t hl_bench_range(const hl_bench_state_t *st, size_t i)
{
    return S(st).range(i);
}

int64_t hl_bench_iterations(const hl_bench_state_t *st)
{
    return static_cast<int64_t>(S(st).iterations());
}

void hl_bench_counter(hl_bench_state_t *st, const char *name, double value, unsigned flags)
{
    const Counter::OneK onek = (flags & HL_BENCH_COUNTER_1024) ? Counter::kIs1024 : Counter::kIs1000;
    const auto f = static_cast<Counter::Flags>(flags & ~HL_BENCH_COUNTER_1024);
    S(st).counters[name] = Counter(value, f, onek);
}

void hl_bench_set_items_processed(hl_bench_state_t *st, int64_t items)
{
    S(st).SetItemsProcessed(items);
}

void hl_bench_set_bytes_processed(hl_bench_state_t *st, int64_t bytes)
{
    S(st).SetBytesProcessed(bytes);
}

void hl_bench_set_label(hl_bench_state_t *st, const char *label) { S(st).SetLabel(label); }

void hl_bench_skip_with_error(hl_bench_state_t *st, const char *msg)
{
    g_any_error.store(true);
    S(st).SkipWithError(msg);
}

bool hl_bench_error_occurred(const hl_bench_state_t *st) { return S(st).error_occurred(); }

// ---------------------------------------------------------------------------
// Running

int hl_bench_main(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 2;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return g_any_error.load() ? 1 : 0;
}

}  // extern "C"
