// churn_benchmark.cc: Google Benchmark over heaplab's allocator registry.
//
// Each small-object churn workload (churn_workloads.h) runs once per
// registered allocator, named  churn/ALLOCATOR/WORKLOAD/PARAM,  so
// compare.py's `filters` mode can set one allocator against another with the
// filters /pymalloc/ and /cpython/.
//
// Reported per benchmark:
//   items_per_second   allocation+free pairs per second (CPU time)
//   held_peak          the allocator's held_peak_bytes after the run (hl_stats)
//   held_at_peak       held_bytes at the workload's most live data (one untimed
//                      extra round after the timed loop)
//   live_at_peak       requested bytes live at that moment
//   held_per_live      held_at_peak / live_at_peak (window and batch only)
// glibc's held bytes are the whole process's heap, and the `cpython` instance
// is created once and shared by all its benchmarks (libpython has one obmalloc
// per process), so its held_peak is the peak over its benchmarks so far.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "churn_workloads.h"

namespace {

// Allocators that may exist only once per process: created on first use,
// reused, destroyed after the last benchmark.
bool one_per_process(const std::string &name) { return name == "cpython"; }

std::map<std::string, hl_allocator_t> &shared_instances()
{
    static std::map<std::string, hl_allocator_t> m;
    return m;
}

// Gets an allocator for one run; `owned` says whether the caller destroys it.
bool get_allocator(const std::string &name, hl_allocator_t *out, bool *owned, std::string *err)
{
    char msg[256] = "";
    if (one_per_process(name)) {
        auto &m = shared_instances();
        auto it = m.find(name);
        if (it == m.end()) {
            hl_allocator_t a;
            if (hl_allocator_create(name.c_str(), nullptr, &a, msg, sizeof msg) != 0) {
                *err = msg;
                return false;
            }
            it = m.emplace(name, a).first;
        }
        *out = it->second;
        *owned = false;
        return true;
    }
    if (hl_allocator_create(name.c_str(), nullptr, out, msg, sizeof msg) != 0) {
        *err = msg;
        return false;
    }
    *owned = true;
    return true;
}

void run_churn(benchmark::State &state, const std::string &alloc_name, hl_churn_kind_t kind,
               size_t param)
{
    hl_allocator_t a;
    bool owned = false;
    std::string err;
    if (!get_allocator(alloc_name, &a, &owned, &err)) {
        state.SkipWithError(("cannot create allocator: " + err).c_str());
        return;
    }
    std::unique_ptr<hl_churn_t> w(new hl_churn_t);
    if (hl_churn_setup(w.get(), kind, param, &a) != 0) {
        state.SkipWithError("workload setup failed");
    } else {
        for (auto _ : state) {
            hl_churn_step(w.get());
            benchmark::ClobberMemory();
        }
        state.SetItemsProcessed(int64_t(state.iterations()) *
                                int64_t(hl_churn_items_per_step(w.get())));

        size_t live = 0;
        hl_stats_t at_peak, after;
        std::memset(&at_peak, 0, sizeof at_peak);
        std::memset(&after, 0, sizeof after);
        hl_churn_measure_peak(w.get(), &live, &at_peak);
        hl_churn_teardown(w.get());
        hl_stats(&a, &after);
        if (w->failures) {
            state.SkipWithError("an allocation returned NULL");
        } else if (after.valid & HL_STAT_HELD) {
            using C = benchmark::Counter;
            state.counters["held_peak"] = C(double(after.held_peak_bytes), C::kDefaults, C::kIs1024);
            state.counters["held_at_peak"] = C(double(at_peak.held_bytes), C::kDefaults, C::kIs1024);
            state.counters["live_at_peak"] = C(double(live), C::kDefaults, C::kIs1024);
            if (kind != HL_CHURN_PAIRS && live > 0)
                state.counters["held_per_live"] = double(at_peak.held_bytes) / double(live);
        }
    }
    hl_churn_teardown(w.get());
    if (owned)
        hl_allocator_destroy(&a);
}

void register_all()
{
    static const size_t pair_sizes[] = {16, 64, 256, 512};
    static const size_t window_sizes[] = {1024, 65536};
    static const size_t batch_size = 10000;

    for (size_t i = 0; i < hl_registry_count(); i++) {
        const std::string alloc = hl_registry_at(i)->name;
        auto reg = [&](hl_churn_kind_t kind, size_t param) {
            std::string name = "churn/" + alloc + "/" + hl_churn_kind_names[kind] + "/" +
                               std::to_string(param);
            benchmark::RegisterBenchmark(name.c_str(),
                                         [alloc, kind, param](benchmark::State &st) {
                                             run_churn(st, alloc, kind, param);
                                         });
        };
        for (size_t s : pair_sizes)
            reg(HL_CHURN_PAIRS, s);
        for (size_t n : window_sizes)
            reg(HL_CHURN_WINDOW, n);
        reg(HL_CHURN_BATCH_LIFO, batch_size);
        reg(HL_CHURN_BATCH_FIFO, batch_size);
    }
}

}  // namespace

int main(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    std::string names;
    for (size_t i = 0; i < hl_registry_count(); i++)
        names += std::string(i ? "," : "") + hl_registry_at(i)->name;
    benchmark::AddCustomContext("heaplab_allocators", names);
    benchmark::AddCustomContext("heaplab_suite", "small_object_churn");
    register_all();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    for (auto &kv : shared_instances())
        hl_allocator_destroy(&kv.second);
    return 0;
}
