"""Profiles every small-object workload on which heaplab's pymalloc is slower
than CPython's own obmalloc (`cpython`), so that the report can say why.

usage: perf_profile.py --json results/bench.json --bin HEAPLAB_BENCH --out DIR
                  [--max N] [--min-time S] [--perf PERF]

For each timed workload of the suite (every family but mem/, and not
micro/large, whose blocks pymalloc hands to the raw allocator) where the
median time per item of pymalloc exceeds cpython's, both runs are profiled
with `perf record` (cpu-clock sampling: the machines we run on have no
hardware counters) and `perf report --stdio`'s top symbols are written side
by side to DIR/<family>_<workload>_<args>.txt, with the command lines.  At
most N workloads are profiled (default 8), the largest losses first.
DIR/index.json lists them: [{"workload", "pymalloc_ns", "cpython_ns",
"ratio", "file", "top": {"pymalloc": [[pct, symbol], ...], "cpython": ...}}].
With no loss, index.json is an empty list.  Exits 2 for a bad argument, 1
if perf failed on some workload (the others are still written).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

SKIP_FAMILIES = ("mem",)
SKIP_WORKLOADS = (("micro", "large"),)
GB_SUFFIX = re.compile(r"^(iterations|repeats|min_time):|^(manual_time|real_time)$")


def medians(doc):
    """{(family, workload, args, allocator): (median ns per item, run name)}."""
    per = {}
    for run in doc.get("benchmarks", []):
        if run.get("run_type") != "iteration" or run.get("error_occurred"):
            continue
        ips = run.get("items_per_second")
        if not ips:
            continue
        parts = run.get("run_name", run["name"]).split("/")
        if len(parts) < 3:
            continue
        family, workload, alloc = parts[:3]
        args = "/".join(p for p in parts[3:] if not GB_SUFFIX.match(p))
        per.setdefault((family, workload, args, alloc), ([], run.get("run_name", run["name"])))[0].append(
            1e9 / ips)
    out = {}
    for key, (xs, name) in per.items():
        xs = sorted(xs)
        n = len(xs)
        out[key] = ((xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2), name)
    return out


ERE_SPECIAL = set(".[]()*+?{}|^$\\")


def ere_escape(name):
    """name as a POSIX extended regular expression matching only itself
    (Google Benchmark's filter; Python's re.escape escapes '/' and ':',
    which ERE leaves undefined)."""
    return "".join("\\" + c if c in ERE_SPECIAL else c for c in name)


def top_symbols(perf, data, limit=15):
    rep = subprocess.run([perf, "report", "-i", data, "--stdio", "--no-children",
                          "--sort", "symbol", "--percent-limit", "0.5"],
                         capture_output=True, text=True)
    rows = []
    for line in rep.stdout.splitlines():
        m = re.match(r"\s+([0-9.]+)%\s+\[[.k]\]\s+(.*\S)", line)
        if m:
            # perf pads the symbol column and may append "-  -" columns.
            sym = re.sub(r"(\s+-)+$", "", m.group(2)).strip()
            rows.append([float(m.group(1)), sym])
    return rows[:limit], rep.returncode


def profile(perf, binary, run_name, min_time, tmp):
    data = os.path.join(tmp, "perf.data")
    # --lazy-traces: the bundled traces are parsed only if this run replays
    # one, so the profile is the workload's and not the trace parser's.
    cmd = [perf, "record", "-q", "-F", "2999", "-o", data, "--", binary,
           "--mem=skip", "--lazy-traces", "--benchmark_filter=^%s$" % ere_escape(run_name),
           "--benchmark_min_time=%s" % min_time, "--benchmark_repetitions=1"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return None, cmd, r.stderr.strip()[-500:]
    rows, rc = top_symbols(perf, data)
    if rc != 0:
        return None, cmd, "perf report failed"
    return rows, cmd, ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--max", type=int, default=8)
    ap.add_argument("--min-time", default="0.3")
    ap.add_argument("--perf", default="perf")
    a = ap.parse_args()
    try:
        with open(a.json) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit("perf_profile: %s: %s" % (a.json, e))
    if not os.access(a.bin, os.X_OK):
        print("perf_profile: %s: not an executable" % a.bin, file=sys.stderr)
        return 2
    med = medians(doc)
    losses = []
    for (family, workload, args, alloc), (ns, name) in med.items():
        if alloc != "pymalloc" or family in SKIP_FAMILIES or (family, workload) in SKIP_WORKLOADS:
            continue
        other = med.get((family, workload, args, "cpython"))
        if other and ns > other[0]:
            losses.append((other[0] / ns, family, workload, args, ns, name, other[0], other[1]))
    losses.sort()
    os.makedirs(a.out, exist_ok=True)
    for old in os.listdir(a.out):
        if old.endswith(".txt") or old == "index.json":
            os.unlink(os.path.join(a.out, old))
    index, status = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for ratio, family, workload, args, ns, name, cns, cname in losses[:a.max]:
            label = "/".join(x for x in (family, workload, args) if x)
            fname = re.sub(r"[^A-Za-z0-9_.-]+", "_", label) + ".txt"
            print("perf_profile: %s (pymalloc %.2f ns, cpython %.2f ns per item)" % (label, ns, cns),
                  file=sys.stderr)
            tops, lines = {}, ["%s: pymalloc %.2f ns, cpython %.2f ns per item (cpython/pymalloc %.3f)"
                               % (label, ns, cns, ratio), ""]
            for alloc, rn in (("pymalloc", name), ("cpython", cname)):
                rows, cmd, err = profile(a.perf, a.bin, rn, a.min_time, tmp)
                lines.append("$ " + " ".join(cmd))
                if rows is None:
                    lines.append("perf failed: " + err)
                    status = 1
                    rows = []
                else:
                    lines += ["  %6.2f%%  %s" % (p, s) for p, s in rows]
                lines.append("")
                tops[alloc] = rows
            with open(os.path.join(a.out, fname), "w") as f:
                f.write("\n".join(lines) + "\n")
            index.append({"workload": label, "pymalloc_ns": ns, "cpython_ns": cns,
                          "ratio": ratio, "file": fname, "top": tops})
    with open(os.path.join(a.out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    print("perf_profile: %d workload(s) where pymalloc is slower than cpython; %d profiled"
          % (len(losses), len(index)), file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
