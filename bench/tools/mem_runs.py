"""Runs every memory run of the suite (mem/...) in a process of its own and
merges them with the timed runs into one Google Benchmark JSON.

usage: mem_runs.py --bin HEAPLAB_BENCH --out OUT.json [--timed TIMED.json]
                   [--filter RE] [--jobs N] [-- SUITE_ARGS...]

Why a process each: a footprint read in a process that has run other
benchmarks is not the workload's alone (bench/suite/hl_suite.h, "Where
memory runs run"): glibc's, tcmalloc's and mimalloc's heaps are
process-wide and keep what earlier runs freed, pymalloc's raw allocator is
glibc, and the peak RSS is the process's.  mimalloc-bench runs each test in
its own process for the same reason.

  1. HEAPLAB_BENCH --mem=only SUITE_ARGS --benchmark_list_tests=true
     [--benchmark_filter=RE] names the memory runs;
  2. each runs alone: HEAPLAB_BENCH --mem=only --lazy-traces SUITE_ARGS
     --benchmark_filter=^NAME$ --benchmark_out=...   (N at a time);
  3. OUT.json = TIMED.json's context and runs (if given) + every memory run,
     in list order.  A child that fails or dies is recorded as a run with
     error_occurred and the reason, and the exit status is 1.
Progress: one line per finished run on stderr.  Exits 2 for a bad argument.
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile

ERE_SPECIAL = set(".[]()*+?{}|^$\\")


def ere_escape(s):
    return "".join("\\" + c if c in ERE_SPECIAL else c for c in s)


def run_one(binary, suite_args, name, tmpdir, index):
    out = os.path.join(tmpdir, "%05d.json" % index)
    cmd = [binary, "--mem=only", "--lazy-traces"] + suite_args + [
        "--benchmark_filter=^%s$" % ere_escape(name), "--benchmark_out=" + out,
        "--benchmark_out_format=json"]
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    runs, context = [], {}
    try:
        with open(out) as f:
            child = json.load(f)
        runs, context = child.get("benchmarks", []), child.get("context", {})
    except (OSError, ValueError, AttributeError):
        pass
    why = None
    if r.returncode < 0:
        why = "the run's process died of signal %d" % -r.returncode
    elif not runs:
        why = "the run's process wrote no result (exit %d): %s" % (
            r.returncode, r.stderr.strip().splitlines()[-1:] or "")
    if why:
        runs = [{"name": name, "run_name": name, "run_type": "iteration", "repetitions": 1,
                 "repetition_index": 0, "threads": 1, "iterations": 0, "real_time": 0,
                 "cpu_time": 0, "time_unit": "ns", "error_occurred": True,
                 "error_message": why}]
    failed = why is not None or r.returncode != 0 or any(x.get("error_occurred") for x in runs)
    return name, runs, failed, r.stderr, context


def main():
    ap = argparse.ArgumentParser(description="memory runs, one process each")
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--timed")
    ap.add_argument("--filter")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("suite_args", nargs="*")
    a = ap.parse_args()
    if a.jobs < 1:
        ap.error("--jobs must be at least 1")
    if not os.access(a.bin, os.X_OK):
        print("mem_runs: %s: not an executable" % a.bin, file=sys.stderr)
        return 2
    doc = {"context": {}, "benchmarks": []}
    if a.timed:
        try:
            with open(a.timed) as f:
                doc = json.load(f)
            doc["benchmarks"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            print("mem_runs: %s: not a Google Benchmark JSON file (%s)" % (a.timed, e),
                  file=sys.stderr)
            return 2
    listing = [a.bin, "--mem=only"] + a.suite_args + ["--benchmark_list_tests=true"]
    if a.filter:
        listing.append("--benchmark_filter=" + a.filter)
    r = subprocess.run(listing, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        print("mem_runs: listing the memory runs failed (exit %d)" % r.returncode, file=sys.stderr)
        return 2 if r.returncode == 2 else 1
    names = [n for n in r.stdout.split() if n.startswith("mem/")]
    status = 0
    results = {}
    with tempfile.TemporaryDirectory() as tmp, \
            concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as pool:
        futures = [pool.submit(run_one, a.bin, a.suite_args, n, tmp, i) for i, n in enumerate(names)]
        for done, fut in enumerate(concurrent.futures.as_completed(futures), 1):
            name, runs, failed, err, context = fut.result()
            if not doc.get("context") and context:
                doc["context"] = context
            results[name] = runs
            summary = "failed: " + runs[0].get("error_message", err.strip()[-200:]) if failed else \
                ", ".join("%s %.3g" % (k, runs[0][k]) for k in ("footprint_ratio", "internal_frag")
                          if k in runs[0])
            print("mem_runs: [%d/%d] %s  %s" % (done, len(names), name, summary), file=sys.stderr)
            if failed:
                status = 1
    for n in names:
        doc["benchmarks"].extend(results[n])
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=2)
    print("mem_runs: %d memory runs, each in its own process, into %s" % (len(names), a.out),
          file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
