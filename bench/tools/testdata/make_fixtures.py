#!/usr/bin/python3
"""make_fixtures.py: writes the synthetic results directory report_test.py
reads (bench.json, gc.json, whole.json, traces.json, scripts.txt,
coverage.md, planted.md) into testdata/results/.

    /usr/bin/python3 bench/tools/testdata/make_fixtures.py

The numbers are chosen so that the expected medians, ratios and geometric
means are easy to work out by hand (report_test.py states each one): every
timed run has 3 repetitions of items_per_second 0.9 m, m, 1.1 m, so the
median is m (ns per item = 1e9 / m) and the coefficient of variation 10.0%.
The JSON has the shape Google Benchmark 1.7.1 writes (run_name, run_type,
aggregate_name, aggregate_unit, repetitions, ...), aggregates included.
"""
import json
import os
import statistics

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "results")

CONTEXT = {
    "date": "2026-11-21T12:00:00+00:00", "host_name": "fixture", "executable": "fixture",
    "num_cpus": 2, "mhz_per_cpu": 2596, "cpu_scaling_enabled": False, "caches": [],
    "load_avg": [1.0, 1.0, 1.0], "library_build_type": "debug",
}


def iteration(name, family_index, instance, reps, rep_index, fields, unit="ns"):
    d = {"name": name, "family_index": family_index,
         "per_family_instance_index": instance, "run_name": name, "run_type": "iteration",
         "repetitions": reps, "repetition_index": rep_index, "threads": 1,
         "iterations": 1000, "real_time": 1.0, "cpu_time": 1.0, "time_unit": unit}
    d.update(fields)
    return d


def cv(values):
    """Google Benchmark's cv: NaN when the mean is 0 (its JSON says NaN)."""
    m = statistics.mean(values)
    return statistics.stdev(values) / m if m else float("nan")


def aggregates(name, family_index, instance, reps, rows, unit="ns"):
    out = []
    keys = [k for k in rows[0] if isinstance(rows[0][k], (int, float))]
    for agg, fn, aunit in (("mean", statistics.mean, "time"),
                           ("median", statistics.median, "time"),
                           ("stddev", statistics.stdev, "time"),
                           ("cv", cv, "percentage")):
        d = {"name": "%s_%s" % (name, agg), "family_index": family_index,
             "per_family_instance_index": instance, "run_name": name,
             "run_type": "aggregate", "repetitions": reps, "threads": 1,
             "aggregate_name": agg, "aggregate_unit": aunit, "iterations": reps,
             "time_unit": unit}
        for k in keys:
            d[k] = fn([r[k] for r in rows])
        out.append(d)
    return out


def timed(entries, name, fi, inst, ns, aggregates_only=False):
    m = 1e9 / ns
    rows = [{"items_per_second": f * m, "real_time": 1e3 / f, "cpu_time": 1e3 / f}
            for f in (0.9, 1.0, 1.1)]
    if not aggregates_only:
        for i, r in enumerate(rows):
            entries.append(iteration(name, fi, inst, 3, i, r))
    entries.extend(aggregates(name, fi, inst, 3, rows))


def bench():
    allocs = ["pymalloc", "glibc", "cpython", "mimalloc"]
    e = []
    # (name pattern, ns per allocator, aggregates only); None: does not run.
    cases = [
        ("micro/pairs/%s/size:16",
         {"glibc": 20, "pymalloc": 10, "cpython": 13, "mimalloc": 10}, False),
        ("micro/window/%s/n:1000",
         {"glibc": 40, "pymalloc": 25, "cpython": 40, "mimalloc": 20}, False),
        ("micro/pairs/%s/size:1024",
         {"glibc": 50, "pymalloc": 100, "cpython": 100, "mimalloc": 40}, False),
        ("micro/large/%s/size:1048576",
         {"glibc": 1000, "pymalloc": 1200, "cpython": 1000, "mimalloc": 900}, False),
        ("pattern/ramp/%s/live:500", {"glibc": 30, "pymalloc": 15, "cpython": "error"},
         False),
        ("scale/live/%s/live:1000", {"glibc": 10, "pymalloc": 5, "cpython": 6}, False),
        ("scale/live/%s/live:100000", {"glibc": 12, "pymalloc": 6, "cpython": 7}, False),
        ("scale/live/%s/live:1000000/iterations:200",
         {"glibc": 20, "pymalloc": 8, "cpython": 10.4}, False),
        ("trace/json_tool/%s/manual_time", {"glibc": 100, "pymalloc": 50, "cpython": 55},
         True),
        ("trace/cc1/%s/manual_time", {"glibc": 80, "pymalloc": 100, "cpython": 115}, False),
        ("obj/dicts/%s/keys:8/dicts:100", {"glibc": 100, "pymalloc": 50, "cpython": 45},
         False),
        # A family and a workload report.py has never heard of.
        ("extra/mystery/%s", {"glibc": 10, "pymalloc": 10}, False),
    ]
    for fi, (pat, ns, agg_only) in enumerate(cases):
        for inst, a in enumerate(allocs):
            if a not in ns:
                continue
            name = pat % a
            if ns[a] == "error":
                e.append({"name": name, "family_index": fi, "per_family_instance_index": inst,
                          "run_name": name, "run_type": "iteration", "repetitions": 3,
                          "repetition_index": 0, "threads": 1, "iterations": 0,
                          "real_time": 0, "cpu_time": 0, "time_unit": "ns",
                          "error_occurred": True,
                          "error_message": "cpython: instance | failed"})
                continue
            timed(e, name, fi, inst, ns[a], agg_only)
    mem = {
        "mem/window/%s/n:1000/iterations:1/repeats:1": {
            "glibc": (100000, 150000, 1.5, 0.10, 50000, 200000, 1),
            "pymalloc": (100000, 120000, 1.2, 0.05, 0, 131072, 1),
            "cpython": (100000, None, None, 0.05, None, 262144, 0),
            "mimalloc": (100000, 200000, 2.0, 0.25, 4096, 300000, 1)},
        "mem/trace_json_tool/%s/iterations:1/repeats:1": {
            "glibc": (6400, 7680, 1.2, 0.0, 0, 8192, 1),
            "pymalloc": (6400, 11520, 1.8, 0.0, 16384, 16384, 1),
            "cpython": (6400, None, None, 0.0, None, 16384, 0),
            # A process-wide heap that did not grow: footprint 0, no ratio.
            "mimalloc": (6400, 0, 0.0, 0.0, 0, 16384, 1)},
    }
    fi = len(cases)
    for pat, rows in mem.items():
        for inst, a in enumerate(allocs):
            if a not in rows:
                continue
            live, fp, ratio, frag, ret, rss, known = rows[a]
            f = {"peak_live": live, "internal_frag": frag, "peak_rss_delta": rss,
                 "footprint_known": known}
            if known:
                f.update(peak_footprint=fp, footprint_ratio=ratio, retained=ret)
            e.append(iteration(pat % a, fi, inst, 1, 0, f))
        fi += 1
    # A run whose name is not FAMILY/WORKLOAD/ALLOCATOR: a problem, not a crash.
    e.append(iteration("oddball", fi, 0, 1, 0, {"items_per_second": 1.0}))
    ctx = dict(CONTEXT, heaplab_allocators=",".join(allocs))
    return {"context": ctx, "benchmarks": e}


def gc():
    e = []
    cells = [("gc_full", "ring/live", 1000, 4.0, 10.0),
             ("gc_full", "ring/live", 10000, 4.5, 10.0),
             ("gc_full", "ring/garbage", 1000, 3.0, 10.0),
             ("gc_gen0", "ring/live", 1000, 2.0, 3.0)]
    for fi, (kind, graph, n, h, c) in enumerate(cells):
        for inst, (impl, v) in enumerate((("heaplab", h), ("cpython", c))):
            name = "%s/%s/%s/%d" % (kind, impl, graph, n)
            if kind == "gc_gen0":
                name += "/manual_time"
            rows = [{"ns_per_object": f * v, "collected": 0.0, "tracked": float(n),
                     "peak_rss_mib": 10.0, "real_time": f * v * n / 1e3,
                     "cpu_time": f * v * n / 1e3} for f in (0.9, 1.0, 1.1)]
            for i, r in enumerate(rows):
                e.append(iteration(name, fi, inst, 3, i, r, unit="us"))
            e.extend(aggregates(name, fi, inst, 3, rows, unit="us"))
    ctx = dict(CONTEXT, heaplab_suite="gc_full", graph_seed="0x1")
    return {"context": ctx, "benchmarks": e}


def whole():
    e = []
    mib = 1 << 20
    progs = {"json_roundtrip": {"glibc": (2.0, 100), "pymalloc": (1.6, 80),
                                "cpython": (1.8, 90)},
             "regex_text": {"glibc": (4.0, 200), "pymalloc": (4.0, 220), "cpython": (5.0, 200)}}
    for fi, (prog, rows) in enumerate(progs.items()):
        for inst, a in enumerate(("pymalloc", "glibc", "cpython")):
            t, rss = rows[a]
            name = "whole/%s/%s" % (prog, a)
            reps = [{"real_time": f * t, "cpu_time": 0.001, "peak_rss": rss * mib,
                     "user_time": t / 2, "sys_time": t / 10, "minor_faults": 1000.0}
                    for f in (0.9, 1.0, 1.1)]
            for i, r in enumerate(reps):
                d = iteration(name, fi, inst, 3, i, r, unit="s")
                d["iterations"] = 1
                e.append(d)
            e.extend(aggregates(name, fi, inst, 3, reps, unit="s"))
    ctx = dict(CONTEXT, heaplab_allocators="pymalloc,glibc,cpython")
    return {"context": ctx, "benchmarks": e}


def traces():
    runs = []
    for trace in ("cc1", "difflib"):
        for a, ns, fp in (("pymalloc", 10.0, 1.5), ("glibc", 20.0, 1.1), ("mimalloc", 12.0, 0.0)):
            runs.append({"trace": trace, "allocator": a, "ok": True, "ops": 1000,
                         "ns_per_op": ns, "elapsed_ns": ns * 1000, "peak_live_bytes": 1000,
                         "peak_footprint_bytes": fp * 1000, "footprint_per_live": fp,
                         "replay": {}})
    runs.append({"trace": "difflib", "allocator": "cpython", "ok": False, "exit_status": 3,
                 "error": "boom", "ops": None, "ns_per_op": None, "replay": None,
                 "footprint_per_live": None})
    return {"schema": "heaplab-traces-1", "runs": runs}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, doc in (("bench.json", bench()), ("gc.json", gc()), ("whole.json", whole()),
                      ("traces.json", traces())):
        with open(os.path.join(OUT, name), "w") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.write("\n")
    with open(os.path.join(OUT, "scripts.txt"), "w") as f:
        f.write("some line\n139 scripts x 14 allocators: 1946 passed, 0 failed\n")
    with open(os.path.join(OUT, "coverage.md"), "w") as f:
        f.write("# Coverage\n\n**Total: lines 1/2 = 50.0%** over 1 file.\n")
    with open(os.path.join(OUT, "planted.md"), "w") as f:
        f.write("# Planted\n\nRun: x, 19 of 20 bugs caught, 1 s.\n")
    # bench/tools/perf_profile.py's output for the one workload pymalloc loses.
    os.makedirs(os.path.join(OUT, "profiles"), exist_ok=True)
    name = "obj_dicts_keys_8_dicts_100.txt"
    with open(os.path.join(OUT, "profiles", name), "w") as f:
        f.write("obj/dicts/keys:8/dicts:100: pymalloc 50.00 ns, cpython 45.00 ns per item\n")
    with open(os.path.join(OUT, "profiles", "index.json"), "w") as f:
        json.dump([{"workload": "obj/dicts/keys:8/dicts:100", "pymalloc_ns": 50.0,
                    "cpython_ns": 45.0, "ratio": 0.9, "file": name,
                    "top": {"pymalloc": [[30.5, "hl_pymalloc_free"], [20.25, "dict_dealloc"]],
                            "cpython": [[25.0, "_PyObject_Free"]]}}], f, indent=1)
    os.makedirs(os.path.join(OUT, "compare"), exist_ok=True)
    with open(os.path.join(OUT, "compare", "pymalloc_vs_cpython.txt"), "w") as f:
        f.write("$ compare.py filters bench.json /pymalloc/ /cpython/\n")


if __name__ == "__main__":
    main()
