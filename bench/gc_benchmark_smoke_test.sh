#!/bin/sh
# //bench:gc_benchmark_smoke_test: every gc_full run at N = 10^4 and every
# gc_gen0 (young collection) run at N = 700 and 10^4, a few iterations
# each, then gc_report.py over the JSON.  gc_benchmark exits non-zero if a
# run was skipped with an error (a collection that returned the wrong count,
# a graph not tracked in full or not all in generation 0), and gc_report.py
# if a run is missing or the two collectors' counts disagree.  No timing is
# checked.  libpython's leaks at exit (static allocations, the frozen
# generation) are suppressed for LeakSanitizer under --config=asan.
set -eu
if [ -n "${TEST_SRCDIR:-}" ]; then
    cd "$TEST_SRCDIR/${TEST_WORKSPACE:-heaplab}"
fi
out=${TEST_TMPDIR:-/tmp}/gc_smoke
mkdir -p "$out"
LSAN_OPTIONS="suppressions=$PWD/bench/lsan_libpython.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
# The young runs use manual time: Google Benchmark names them .../N/manual_time.
bench/gc_benchmark --benchmark_filter='^gc_full/.*/10000$|^gc_gen0/.*/(700|10000)/manual_time$' \
    --benchmark_min_time=0.001 \
    --benchmark_out="$out/gc.json" --benchmark_out_format=json
/usr/bin/python3 bench/tools/gc_report.py --json "$out/gc.json" --out "$out/gc.md" \
    --command "gc_benchmark_smoke_test"

# rows SECTION N: the table rows for N under the "## SECTION" heading.
rows() {
    awk -v sec="## $1" -v row="| $2 |" '
        /^## / { on = index($0, sec) == 1 }
        on && index($0, row) == 1 { n++ }
        END { print n + 0 }' "$out/gc.md"
}
check() {
    got=$(rows "$1" "$2")
    if [ "$got" -ne 4 ]; then
        echo "gc_benchmark_smoke_test: expected 4 rows for N = $2 under '## $1', found $got" >&2
        cat "$out/gc.md" >&2
        exit 1
    fi
}
check "Full collections" 10,000
check "Young collections" 700
check "Young collections" 10,000
echo "gc_benchmark_smoke_test: ok"
