"""One allocator's timed runs of a heaplab_bench JSON, for compare.py.

usage: split_allocator.py RESULTS.json ALLOCATOR OUT.json

Keeps the runs FAMILY/WORKLOAD/ALLOCATOR/... of every timed family (not
mem/, whose runs are single measurements) with the allocator field replaced
by `*`, so that Google Benchmark's compare.py, given two such files, pairs
each workload of one allocator with the same workload of the other.  The
context is kept.  Exits 2 naming the problem if the file is not a
Google Benchmark JSON or the allocator has no run in it.
"""
import json
import sys


def main(argv):
    if len(argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    path, alloc, out = argv[1:]
    try:
        with open(path) as f:
            doc = json.load(f)
        runs = doc["benchmarks"]
        runs = [r for r in runs if isinstance(r, dict)]
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.stderr.write("split_allocator: %s: not a Google Benchmark JSON file (%s)\n" % (path, e))
        return 2
    kept = []
    for run in runs:
        parts = str(run.get("name", "")).split("/")
        if len(parts) < 3 or parts[0] == "mem" or parts[2] != alloc:
            continue
        run = dict(run)
        for key in ("name", "run_name"):
            if key in run:
                p = str(run[key]).split("/")
                p[2] = "*"
                run[key] = "/".join(p)
        kept.append(run)
    if not kept:
        sys.stderr.write("split_allocator: %s: no timed run of allocator '%s'\n" % (path, alloc))
        return 2
    with open(out, "w") as f:
        json.dump({"context": doc.get("context", {}), "benchmarks": kept}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
