#!/usr/bin/python3
"""gc_report.py: results/gc.json (Google Benchmark) -> results/gc.md.

    gc_report.py --json results/gc.json --out results/gc.md --command CMD...

Benchmark names are KIND/IMPL/SHAPE/STATE/N (bench/gc_benchmark.c): KIND
gc_full (full collections, gc.collect(2)) or gc_gen0 (young collections,
gc.collect(0); Google Benchmark appends /manual_time to their names), IMPL
heaplab or cpython.  Each cell is the median over the repetitions of the
`ns_per_object` counter (CPU time of one collection / N), with the
coefficient of variation (stdev / mean) of those repetitions; the ratio is
heaplab's median / CPython's median, for full collections against the
target of 0.5 or less (no target is set for young ones).
Only the individual repetitions are read (never Google Benchmark's
aggregates), so the JSON must keep them (no --benchmark_report_aggregates_only).
Exits 1 if some run failed or a pair of collections returned different
counts, after writing the report.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gbench_context import machine_sentence  # noqa: E402

KINDS = {"gc_full": "full", "gc_gen0": "young"}   # name prefix -> kind
IMPLS = ("heaplab", "cpython")
SHAPES = ("ring", "random")
STATES = ("live", "garbage")
TARGET = 0.5

SHAPE_TEXT = {
    "ring": "list i appends list (i+1) mod N",
    "random": "the ring edge plus 2 edges to random lists (fixed seed)",
}
STATE_TEXT = {
    "live": "a reference to list 0 is kept: everything survives; each iteration is one "
            "full collection, returning 0",
    "garbage": "every reference released; the graph is rebuilt with the timer paused, then "
               "one full collection frees it (including deallocating the N lists), "
               "returning N",
}
YOUNG_STATE_TEXT = {
    "live": "list 0 is kept: the young collection returns 0 and moves the N lists to "
            "generation 1; then, untimed, list 0 is released and a `collect(1)` frees them",
    "garbage": "every reference released: the young collection frees the N lists "
               "(deallocation included), returning N",
}


def source_state():
    """The commit the report is made at, and the files under lib/ and bench/
    that differ from it (the build ran just before, from the same tree)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        rev = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "lib", "bench"],
                               capture_output=True, text=True, check=True).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    dirty = sorted(line[3:] for line in dirty if line.strip())
    if not dirty:
        return "commit %s, lib/ and bench/ unmodified" % rev
    shown = ", ".join("`%s`" % d for d in dirty[:8]) + (", ..." if len(dirty) > 8 else "")
    return "commit %s plus uncommitted changes to %s" % (rev, shown)


def parse_name(name):
    """(kind, impl, shape, state, n), or None for a name of another suite."""
    parts = name.split("/")
    if parts and parts[-1] == "manual_time":
        parts = parts[:-1]
    if len(parts) != 5 or parts[0] not in KINDS or not parts[4].isdigit():
        return None
    return KINDS[parts[0]], parts[1], parts[2], parts[3], int(parts[4])


def collect(doc):
    """{(kind, impl, shape, state, n): {field: [per repetition]}}, {key: error}."""
    runs, errors = {}, {}
    for b in doc.get("benchmarks", []):
        key = parse_name(b.get("run_name", b.get("name", "")))
        if key is None:
            continue
        if b.get("error_occurred"):
            errors[key] = b.get("error_message", "error")
            continue
        if b.get("run_type") == "aggregate":
            continue
        r = runs.setdefault(key, {})
        for field in ("ns_per_object", "collected", "tracked", "peak_rss_mib", "iterations"):
            if isinstance(b.get(field), (int, float)):
                r.setdefault(field, []).append(float(b[field]))
        unit = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}.get(b.get("time_unit", "ns"), 1.0)
        if isinstance(b.get("real_time"), (int, float)):
            r.setdefault("wall_ns_per_object", []).append(b["real_time"] * unit / key[4])
    return runs, errors


def median(vals):
    return statistics.median(vals) if vals else None


def cv(vals):
    if len(vals) < 2:
        return None
    m = statistics.mean(vals)
    return 100.0 * statistics.stdev(vals) / m if m > 0 else None


def cell(vals):
    if not vals:
        return "-"
    c = cv(vals)
    return "%.2f" % median(vals) + (" ±%.1f%%" % c if c is not None else "")


def tables(out, runs, errors, kind, problems, target):
    """One table per shape/state for `kind`; appends to out and problems,
    returns the heaplab/CPython ratios of the medians."""
    sizes = sorted({k[4] for k in list(runs) + list(errors) if k[0] == kind})
    ratios = []
    for shape in SHAPES:
        for state in STATES:
            out.append("### %s / %s" % (shape, state))
            out.append("")
            if target is not None:
                out.append("| N | heaplab ns/object | CPython ns/object | ratio | target ≤ %.1f "
                           "| wall ratio | collected |" % target)
                out.append("|---:|---:|---:|---:|:---:|---:|---:|")
            else:
                out.append("| N | heaplab ns/object | CPython ns/object | ratio "
                           "| wall ratio | collected |")
                out.append("|---:|---:|---:|---:|---:|---:|")
            for n in sizes:
                keys = {i: (kind, i, shape, state, n) for i in IMPLS}
                if all(k not in runs and k not in errors for k in keys.values()):
                    continue
                cells = []
                for i in IMPLS:
                    k = keys[i]
                    cells.append("error: %s" % errors[k] if k in errors
                                 else cell(runs.get(k, {}).get("ns_per_object", [])))
                h, c = (runs.get(keys[i], {}) for i in IMPLS)
                mh, mc = median(h.get("ns_per_object", [])), median(c.get("ns_per_object", []))
                ratio = mh / mc if mh and mc else None
                wh = median(h.get("wall_ns_per_object", []))
                wc = median(c.get("wall_ns_per_object", []))
                if ratio is not None:
                    ratios.append(ratio)
                col = [sorted(set(r.get("collected", []))) for r in (h, c)]
                coll = " / ".join(",".join("%d" % v for v in x) or "-" for x in col)
                if (col[0] and col[1] and col[0] != col[1]) or any(len(x) > 1 for x in col):
                    coll += " **disagree**"
                    problems.append("%s %s/%s/%d: collections returned %s"
                                    % (kind, shape, state, n, coll))
                row = ["{:,}".format(n), cells[0], cells[1],
                       "%.2f" % ratio if ratio is not None else "-"]
                if target is not None:
                    row.append(("yes" if ratio <= target else "no") if ratio is not None
                               else "-")
                row += ["%.2f" % (wh / wc) if wh and wc else "-", coll]
                out.append("| %s |" % " | ".join(row))
            out.append("")
    return ratios


def geomean(ratios):
    return math.exp(sum(math.log(r) for r in ratios) / len(ratios))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--command", action="append", default=[])
    args = ap.parse_args()

    with open(args.json) as f:
        doc = json.load(f)
    runs, errors = collect(doc)
    ctx = doc.get("context", {})
    nreps = max((len(r.get("ns_per_object", [])) for r in runs.values()), default=0)
    problems = ["%s: %s" % ("/".join(map(str, k)), e) for k, e in sorted(errors.items())]

    out = []
    out.append("# Collections: time per object, heaplab vs CPython 3.11")
    out.append("")
    out.append("Generated by `./heaplab gc-bench` from `results/gc.json` (Google Benchmark's "
               "JSON, every repetition); do not edit by hand.")
    out.append("")
    out.append("Both collectors run in one process (bench/gc_benchmark.c): heaplab's "
               "`hl_gc_collect(rt, G)` on a runtime over heaplab's `pymalloc`, and CPython "
               "%s's `gc.collect(G)` in an embedded interpreter.  Each side ran "
               "`gc.disable()`, `gc.collect()`, `gc.freeze()` first, so a collection examines "
               "only the benchmark's N lists, built through each one's C API "
               "(`hl_list_new`/`hl_list_append`, `PyList_New`/`PyList_Append`) in the same "
               "order from the same seeded generator (seed %s):" % (
                   ctx.get("cpython_library", "?").split(" ")[0], ctx.get("graph_seed", "?")))
    out.append("")
    for s in SHAPES:
        out.append("- `%s`: %s." % (s, SHAPE_TEXT[s]))
    out.append("")
    out.append("Each cell: **ns per object**, the CPU time of the collection call ÷ N, median "
               "over %d repetitions ± the coefficient of variation (stdev ÷ mean) of those "
               "repetitions.  Ratio = heaplab ÷ CPython (medians).  `wall ratio` is the same "
               "ratio from Google Benchmark's real time.  `collected` is what the timed "
               "collections returned (heaplab / CPython); they must agree." % nreps)
    out.append("")
    out.append(machine_sentence(ctx, "; heaplab is built with --config=opt, and "
                                     "libpython3.11 is Debian's."))
    out.append("")
    out.append("Source: %s." % source_state())
    out.append("")

    kinds = {k[0] for k in list(runs) + list(errors)}
    if "full" in kinds or not kinds:
        out.append("## Full collections (generation 2)")
        out.append("")
        out.append("Runs `gc_full/IMPL/SHAPE/STATE/N`: one `collect(2)` per iteration; the "
                   "target is heaplab at most %.1f× CPython's time per object." % TARGET)
        out.append("")
        for s in STATES:
            out.append("- `%s`: %s." % (s, STATE_TEXT[s]))
        out.append("")
        ratios = tables(out, runs, errors, "full", problems, TARGET)
        if ratios:
            met = sum(1 for r in ratios if r <= TARGET)
            out.append("Over the %d cells: geometric mean ratio %.2f; %d of %d meet the "
                       "target (≤ %.1f)." % (len(ratios), geomean(ratios), met, len(ratios),
                                             TARGET))
            out.append("")

    if "young" in kinds:
        out.append("## Young collections (generation 0)")
        out.append("")
        out.append("Runs `gc_gen0/IMPL/SHAPE/STATE/N`: every iteration builds a fresh graph "
                   "of N lists with the timer paused and the collector disabled, so all N "
                   "and nothing else are in generation 0 (checked once per run: "
                   "`gc.get_objects(0)`), then times one `collect(0)`; a collection moves "
                   "the survivors out of generation 0, hence the rebuild.  N = 700 is the "
                   "default threshold, the young generation's size when the collector runs "
                   "on its own.  Google Benchmark's real time is manual: the wall time of "
                   "the `collect(0)` call alone.  No target is set for young collections; "
                   "the ratio reads as the full table's.")
        out.append("")
        for s in STATES:
            out.append("- `%s`: %s." % (s, YOUNG_STATE_TEXT[s]))
        out.append("")
        young = tables(out, runs, errors, "young", problems, None)
        if young:
            out.append("Over the %d cells: geometric mean ratio %.2f." % (len(young),
                                                                         geomean(young)))
            out.append("")

    rss = [v for r in runs.values() for v in r.get("peak_rss_mib", [])]
    if rss:
        out.append("Peak RSS of the whole run (getrusage `ru_maxrss`, both worlds in one "
                   "process, graphs of up to {:,} lists): %.0f MiB.".format(
                       max(k[4] for k in runs)) % max(rss))
        out.append("")
    if problems:
        out.append("## Problems")
        out.append("")
        out.extend("- %s" % p for p in problems)
        out.append("")
    out.append("## Commands")
    out.append("")
    out.append("```")
    out.extend(args.command)
    out.append("```")
    with open(args.out, "w") as f:
        f.write("\n".join(out) + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
