#!/usr/bin/env bash
# python_test.sh LIB...: whole programs on heaplab's own allocators.
#
# Debian's /usr/bin/python3 runs python_workload.py (a few MB through json,
# re, difflib, collections, decimal, textwrap, heapq, pickle, zlib, sqlite3,
# threads, a fork, and the C malloc family through ctypes) with
# PYTHONMALLOC=malloc, so that every object allocation is a malloc call:
# first on glibc, then with LD_PRELOAD=LIB for each libhl_NAME.so given.
# For each library:
#   - the run exits 0 and its stdout equals glibc's, byte for byte;
#   - HL_PRELOAD_STATS=1 makes the shim print its line at exit: it must name
#     NAME, count a nonzero number of malloc calls and end "check ok" (the
#     allocator's invariant check after the run);
#   - heaplab_preload_allocator, looked up in the running process, is NAME.
set -euo pipefail

PY=/usr/bin/python3
WORKLOAD=lib/preload/python_workload.py
[ -x "$PY" ] || { echo "FAIL: $PY not found"; exit 1; }
[ -f "$WORKLOAD" ] || { echo "FAIL: $WORKLOAD not found (run from the runfiles root)"; exit 1; }
[ $# -gt 0 ] || { echo "FAIL: no preload library given"; exit 1; }

tmp=${TEST_TMPDIR:-$(mktemp -d)}
export PYTHONMALLOC=malloc PYTHONHASHSEED=0
unset HL_PRELOAD_STATS

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# The workload's scale for an allocator: the sequential fits search one
# free list of every free block on each malloc -- O(free blocks) by design,
# minutes on the full workload -- so they run a twentieth of it.
scale_for() {
    case $1 in
        seqfit-*) echo 0.05 ;;
        *) echo 1 ;;
    esac
}

# glibc's output at a scale, computed once per scale.
reference() {
    local scale=$1 t0
    if [ ! -f "$tmp/glibc@$scale.out" ]; then
        t0=$(now)
        "$PY" "$WORKLOAD" "$scale" >"$tmp/glibc@$scale.out"
        echo "glibc (scale $scale)  $(secs "$t0" "$(now)") s  ($(wc -l <"$tmp/glibc@$scale.out") lines)"
        grep -qx done "$tmp/glibc@$scale.out" || { echo "FAIL: the glibc run did not finish"; exit 1; }
    fi
}

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for lib in "$@"; do
    name=$(basename "$lib" .so)
    name=${name#libhl_}
    abs=$(realpath "$lib")
    scale=$(scale_for "$name")
    reference "$scale"
    t0=$(now)
    rc=0
    LD_PRELOAD=$abs HL_PRELOAD_STATS=1 "$PY" "$WORKLOAD" "$scale" >"$tmp/$name.out" 2>"$tmp/$name.err" || rc=$?
    took=$(secs "$t0" "$(now)")
    if [ "$rc" -ne 0 ]; then
        fail "$name: python3 exited $rc"
        cat "$tmp/$name.err"
        continue
    fi
    if ! diff -u "$tmp/glibc@$scale.out" "$tmp/$name.out"; then
        fail "$name: the output differs from glibc's"
    fi
    stats=$(grep '^heaplab-preload: ' "$tmp/$name.err" || true)
    if ! grep -Eq "^heaplab-preload: $name: pid [0-9]+: [1-9][0-9]* malloc, .* check ok$" <<<"$stats"; then
        fail "$name: no stats line with a nonzero malloc count and 'check ok' on stderr:"
        cat "$tmp/$name.err"
    fi
    used=$(LD_PRELOAD=$abs "$PY" -c 'import ctypes
print((ctypes.c_char * 64).in_dll(ctypes.CDLL(None), "heaplab_preload_allocator").value.decode())' \
           2>&1 || true)
    [ "$used" = "$name" ] || fail "$name: heaplab_preload_allocator is '$used'"
    echo "$(printf '%-18s' "$name") $took s (scale $scale)  ${stats#heaplab-preload: }"
done

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "PASS: $# allocator(s)"
