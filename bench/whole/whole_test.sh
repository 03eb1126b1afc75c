#!/usr/bin/env bash
# whole_test.sh LIB...: bench/whole/whole.py end to end, on a tiny scale.
#
# LIB... are the preload libraries (//lib/preload:preload_libraries); their
# directory is whole.py's --preload-dir.  Checks:
#   1. json_roundtrip and gc_cycles x glibc, cpython, pymalloc (preloaded),
#      mimalloc (Debian's, preloaded), 2 repetitions: exit 0; the JSON has
#      the context marker, every repetition of every name with a positive
#      time and peak RSS and no error, one digest per program for all
#      allocators, and Google Benchmark's four aggregates per name;
#      compare.py reads it.
#   2. testdata/misbehave.py: a digest that differs (pymalloc) and a crash
#      (mimalloc) are recorded as errors, left out of the aggregates, and
#      whole.py exits 1; glibc's and cpython's runs are fine.
#   3. A hang (misbehave under tcmalloc) is killed at --timeout and the next
#      repetition is not run; exit 1.
#   4. Bad options exit 2 with a message naming what was wrong.
set -euo pipefail

PY=/usr/bin/python3
WHOLE=bench/whole/whole.py
MISBEHAVE=bench/whole/testdata/misbehave.py
COMPARE=/usr/share/benchmark/compare.py
[ -x "$PY" ] || { echo "FAIL: $PY not found"; exit 1; }
[ -f "$WHOLE" ] || { echo "FAIL: $WHOLE not found (run from the runfiles root)"; exit 1; }
[ $# -gt 0 ] || { echo "FAIL: no preload library given"; exit 1; }
dir=$(dirname "$1")
[ -f "$dir/libhl_pymalloc.so" ] || { echo "FAIL: no libhl_pymalloc.so in $dir"; exit 1; }

tmp=${TEST_TMPDIR:-$(mktemp -d)}
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# --- 1. a good run ---------------------------------------------------------
rc=0
"$PY" "$WHOLE" --preload-dir "$dir" --allocators glibc,cpython,pymalloc,mimalloc \
    --programs json_roundtrip,gc_cycles --repetitions 2 --scale 0.05 \
    --out "$tmp/good.json" 2>"$tmp/good.err" || rc=$?
cat "$tmp/good.err"
[ "$rc" -eq 0 ] || fail "the good run exited $rc"
grep -q '^\[16/16\] whole/gc_cycles/mimalloc #1: ' "$tmp/good.err" ||
    fail "no progress line for the last run on stderr"
"$PY" - "$tmp/good.json" <<'EOF' || fail "the good run's JSON (above)"
import json, sys
doc = json.load(open(sys.argv[1]))
ctx, bms = doc["context"], doc["benchmarks"]
errors = []
def check(cond, what):
    if not cond:
        errors.append(what)
check(ctx.get("heaplab_whole") == "1", "context has no heaplab_whole: 1")
check(ctx.get("num_cpus", 0) > 0 and "date" in ctx and "host_name" in ctx, "context fields")
check(ctx.get("heaplab_lib_pymalloc", "").endswith("/libhl_pymalloc.so"), "pymalloc's library")
check("libmimalloc" in ctx.get("heaplab_lib_mimalloc", ""), "mimalloc's library")
programs, allocators = ["json_roundtrip", "gc_cycles"], ["glibc", "cpython", "pymalloc", "mimalloc"]
names = ["whole/%s/%s" % (p, a) for p in programs for a in allocators]
check(len(bms) == len(names) * (2 + 4), "%d entries, not %d" % (len(bms), len(names) * 6))
check(sorted({b["run_name"] for b in bms}) == sorted(names), "the names: %s"
      % sorted({b["run_name"] for b in bms}))
for name in names:
    runs = [b for b in bms if b["name"] == name]
    check([b["repetition_index"] for b in runs] == [0, 1], name + ": repetitions 0 and 1")
    for b in runs:
        check(b["run_type"] == "iteration" and b["iterations"] == 1 and b["threads"] == 1
              and b["repetitions"] == 2, name + ": iteration fields")
        check(b["time_unit"] == "s" and b["real_time"] > 0 and b["cpu_time"] > 0,
              name + ": times")
        check(abs(b["cpu_time"] - b["user_time"] - b["sys_time"]) < 1e-9, name + ": cpu_time")
        check(b["peak_rss"] > 1 << 20 and b["minor_faults"] > 0, name + ": peak_rss, faults")
        check(not b.get("error_occurred") and "error_message" not in b, name + ": an error")
        check(b.get("label", "").startswith(name.split("/")[1] + " "), name + ": digest label")
    aggs = {b["aggregate_name"]: b for b in bms
            if b["run_name"] == name and b["run_type"] == "aggregate"}
    check(sorted(aggs) == ["cv", "mean", "median", "stddev"], name + ": aggregates %s" % sorted(aggs))
    for agg, b in aggs.items():
        check(b["name"] == name + "_" + agg and b["iterations"] == 2 and b["repetitions"] == 2,
              name + ": aggregate fields")
        check(b["aggregate_unit"] == ("percentage" if agg == "cv" else "time"),
              name + ": aggregate_unit of " + agg)
    if len(runs) == 2 and "mean" in aggs:
        lo, hi = sorted(b["real_time"] for b in runs)
        check(lo <= aggs["mean"]["real_time"] <= hi, name + ": mean within the runs")
        check(min(b["peak_rss"] for b in runs) <= aggs["median"]["peak_rss"], name + ": median")
for p in programs:
    digests = {b.get("label") for b in bms if b["run_name"].startswith("whole/%s/" % p)}
    check(len(digests) == 1, p + ": digests disagree: %s" % digests)
for e in errors:
    print("  " + e)
sys.exit(1 if errors else 0)
EOF
if [ -f "$COMPARE" ]; then
    "$PY" "$COMPARE" --no-color -a filters "$tmp/good.json" /glibc /mimalloc >"$tmp/compare.out" 2>&1 ||
        { cat "$tmp/compare.out"; fail "compare.py could not read the JSON"; }
    grep -q 'whole/json_roundtrip\[/glibc vs. /mimalloc\]_median' "$tmp/compare.out" ||
        { cat "$tmp/compare.out"; fail "compare.py printed no json_roundtrip median"; }
else
    echo "note: $COMPARE absent (libbenchmark-tools), compare.py not tried"
fi

# --- 2. a different digest and a crash ---------------------------------------
rc=0
"$PY" "$WHOLE" --preload-dir "$dir" --allocators glibc,cpython,pymalloc,mimalloc \
    --programs "$MISBEHAVE" --repetitions 2 --out "$tmp/bad.json" 2>"$tmp/bad.err" || rc=$?
cat "$tmp/bad.err"
[ "$rc" -eq 1 ] || fail "the misbehaving run exited $rc, not 1"
"$PY" - "$tmp/bad.json" <<'EOF' || fail "the misbehaving run's JSON (above)"
import json, sys
bms = json.load(open(sys.argv[1]))["benchmarks"]
errors = []
def runs(a, kind="iteration"):
    return [b for b in bms if b["run_name"] == "whole/misbehave/" + a and b["run_type"] == kind]
for a in ("glibc", "cpython"):
    if any(b.get("error_occurred") for b in runs(a)) or len(runs(a, "aggregate")) != 4:
        errors.append(a + ": should have succeeded, with aggregates")
for a, words in (("pymalloc", "differs from glibc's"), ("mimalloc", "signal 6")):
    if len(runs(a)) != 2 or not all(b.get("error_occurred") and words in b["error_message"]
                                    for b in runs(a)):
        errors.append("%s: not two errors saying '%s': %s" % (a, words, runs(a)))
    if runs(a, "aggregate"):
        errors.append(a + ": aggregates over failed runs")
for e in errors:
    print("  " + e)
sys.exit(1 if errors else 0)
EOF

# --- 3. a hang ----------------------------------------------------------------
rc=0
"$PY" "$WHOLE" --allocators glibc,tcmalloc --programs "$MISBEHAVE" --repetitions 2 \
    --timeout 3 --out "$tmp/hang.json" 2>"$tmp/hang.err" || rc=$?
cat "$tmp/hang.err"
[ "$rc" -eq 1 ] || fail "the hanging run exited $rc, not 1"
"$PY" - "$tmp/hang.json" <<'EOF' || fail "the hanging run's JSON (above)"
import json, sys
bms = json.load(open(sys.argv[1]))["benchmarks"]
msgs = [b.get("error_message", "") for b in bms if b["name"] == "whole/misbehave/tcmalloc"]
ok = [b for b in bms if b["name"] == "whole/misbehave/glibc" and not b.get("error_occurred")]
if len(msgs) != 2 or not msgs[0].startswith("timed out after 3 s") or \
        not msgs[1].startswith("not run: repetition 0 timed out") or len(ok) != 2:
    print("  tcmalloc's messages: %s; glibc's good runs: %d" % (msgs, len(ok)))
    sys.exit(1)
EOF

# --- 4. bad options -----------------------------------------------------------
bad() {
    local expect=$1
    shift
    local rc=0
    "$PY" "$WHOLE" "$@" >"$tmp/opt.out" 2>"$tmp/opt.err" || rc=$?
    if [ "$rc" -ne 2 ]; then
        fail "whole.py $* exited $rc, not 2"
    elif ! grep -qF -- "$expect" "$tmp/opt.err"; then
        fail "whole.py $*: the message does not say '$expect':"
        cat "$tmp/opt.err"
    fi
    [ ! -s "$tmp/opt.out" ] || fail "whole.py $* wrote to stdout"
}
bad "--bogus" --bogus
bad "'nosuch'" --allocators glibc,nosuch
bad "'nope'" --programs json_roundtrip,nope
bad "--repetitions: '0'" --repetitions 0
bad "--scale: 'abc'" --scale abc
bad "--preload-dir DIR is needed" --allocators pymalloc
bad "no $tmp/libhl_tlsf.so" --allocators tlsf --preload-dir "$tmp"
bad "cpython runs only the python programs" --allocators cpython --programs sort

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "PASS"
