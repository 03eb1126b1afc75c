"""Checks one heaplab_bench JSON (bench/suite/hl_suite.h) against the
suite's rules; prints what broke and exits 1, or prints a summary.

  - every run is FAMILY/WORKLOAD/ALLOCATOR[/...]; no run failed;
  - every family is present, and every workload ran on every allocator of
    the run's context (heaplab_allocators);
  - timed runs report items_per_second > 0;
  - memory runs report peak_live > 0 and internal_frag >= 0, and, where the
    footprint is known, peak_footprint and retained >= 0; the classic
    allocators start from nothing and own every byte, so for them
    peak_footprint >= peak_live.

usage: suite_check.py RESULTS.json
"""
import collections
import json
import sys

FAMILIES = ("micro", "pattern", "scale", "trace", "obj", "mem")
# Allocators whose instance holds nothing at creation and owns every byte
# it holds.  Not the peers (process-wide heaps), nor pymalloc*, whose raw
# allocator (blocks over 512 bytes) is the process's glibc heap.
OWN = ("seqfit-first", "seqfit-next", "seqfit-best",
       "segregated-simple", "segregated-fit", "buddy", "tlsf")


def main(path):
    with open(path) as f:
        doc = json.load(f)
    allocators = doc["context"]["heaplab_allocators"].split(",")
    problems = []
    seen = collections.defaultdict(set)
    for run in doc["benchmarks"]:
        name = run["name"]
        parts = name.split("/")
        if len(parts) < 3:
            problems.append("%s: not FAMILY/WORKLOAD/ALLOCATOR" % name)
            continue
        family, workload, alloc = parts[:3]
        if run.get("error_occurred"):
            problems.append("%s: failed: %s" % (name, run.get("error_message")))
            continue
        if run.get("run_type") == "aggregate":
            continue
        seen[(family, workload)].add(alloc)
        if family == "mem":
            if not run.get("peak_live", 0) > 0:
                problems.append("%s: peak_live %r" % (name, run.get("peak_live")))
            if run.get("internal_frag", -1) < 0:
                problems.append("%s: internal_frag %r" % (name, run.get("internal_frag")))
            if run.get("footprint_known") == 1:
                for k in ("peak_footprint", "retained", "footprint_ratio"):
                    if run.get(k, -1) < 0:
                        problems.append("%s: %s %r" % (name, k, run.get(k)))
                if alloc in OWN and run["peak_footprint"] < run["peak_live"]:
                    problems.append("%s: peak_footprint %d < peak_live %d"
                                    % (name, run["peak_footprint"], run["peak_live"]))
        elif not run.get("items_per_second", 0) > 0:
            problems.append("%s: items_per_second %r" % (name, run.get("items_per_second")))
    families = {f for f, _ in seen}
    for f in FAMILIES:
        if f not in families:
            problems.append("family %s: no run" % f)
    for (family, workload), allocs in sorted(seen.items()):
        missing = [a for a in allocators if a not in allocs]
        if missing:
            problems.append("%s/%s: did not run on %s" % (family, workload, ", ".join(missing)))
    for p in problems:
        print("suite_check: " + p)
    if problems:
        print("suite_check: %d problem(s) in %s" % (len(problems), path))
        return 1
    print("suite_check: %d workloads x %d allocators, %d runs, all fine"
          % (len(seen), len(allocators), len(doc["benchmarks"])))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
