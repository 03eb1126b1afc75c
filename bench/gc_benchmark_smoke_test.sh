#!/bin/sh
# //bench:gc_benchmark_smoke_test: every gc_full run at N = 10^4, a few
# iterations each, then gc_report.py over the JSON.  gc_benchmark exits
# non-zero if a run was skipped with an error (a collection that returned
# the wrong count, a graph not tracked in full), and gc_report.py if a run is
# missing or the two collectors' counts disagree.  No timing is checked.
# libpython's leaks at exit (static allocations, the frozen generation) are
# suppressed for LeakSanitizer under --config=asan.
set -eu
if [ -n "${TEST_SRCDIR:-}" ]; then
    cd "$TEST_SRCDIR/${TEST_WORKSPACE:-heaplab}"
fi
out=${TEST_TMPDIR:-/tmp}/gc_smoke
mkdir -p "$out"
LSAN_OPTIONS="suppressions=$PWD/bench/lsan_libpython.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
bench/gc_benchmark --benchmark_filter='/10000$' --benchmark_min_time=0.001 \
    --benchmark_out="$out/gc.json" --benchmark_out_format=json
/usr/bin/python3 bench/tools/gc_report.py --json "$out/gc.json" --out "$out/gc.md" \
    --command "gc_benchmark_smoke_test"
runs=$(grep -c '^| 10,000 |' "$out/gc.md")
if [ "$runs" -ne 4 ]; then
    echo "gc_benchmark_smoke_test: expected 4 table rows for N = 10,000, found $runs" >&2
    cat "$out/gc.md" >&2
    exit 1
fi
echo "gc_benchmark_smoke_test: ok"
