#!/usr/bin/env bash
# heaplab's benchmark front end without building anything: `heaplab bench`
# rejects bad options with exit 2 and a message naming the option before it
# builds; `heaplab compare` runs Google Benchmark's compare.py between two
# runs and between two allocators of one run (bench/tools/split_allocator.py),
# and rejects missing or malformed files.
set -uo pipefail
heaplab=$(readlink -f "$1")
fixture=$(readlink -f "$2")
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
check() {  # check DESC STATUS WANT_STATUS OUTPUT PATTERN
    local desc=$1 got=$2 want=$3 out=$4 pat=$5
    if [ "$got" -ne "$want" ] || ! grep -qE -- "$pat" <<<"$out"; then
        echo "FAIL: $desc: exit $got (want $want), output:"; echo "$out" | tail -5
        echo "  (wanted /$pat/)"
        fails=$((fails + 1))
    else
        echo "ok: $desc"
    fi
}
run() { out=$("$heaplab" "$@" 2>&1); rc=$?; }

run bench --repetitions zero;    check "bench --repetitions zero" $rc 2 "$out" "--repetitions: 'zero' is not a positive integer"
run bench --min-time fast;       check "bench --min-time fast" $rc 2 "$out" "--min-time: 'fast' is not a number"
run bench --parts suite,nope;    check "bench --parts nope" $rc 2 "$out" "unknown part 'nope'"
run bench --allocators 'a b';    check "bench --allocators 'a b'" $rc 2 "$out" "not a comma-separated list"
run bench --frobnicate;          check "bench --frobnicate" $rc 2 "$out" "unknown option '--frobnicate'"
run bench --trace /nonexistent/t.mtrace; check "bench --trace missing" $rc 2 "$out" "/nonexistent/t.mtrace: no such file"
run bench --help;                check "bench --help" $rc 0 "$out" "usage: heaplab bench"
run bench --out /tmp/x;          check "bench --out /tmp/x" $rc 2 "$out" "must be a directory under the repository"
run report no/such/dir;          check "report no/such/dir" $rc 2 "$out" "no/such/dir: no such directory"
run report a b;                  check "report a b" $rc 2 "$out" "takes at most one directory"

cp "$fixture" "$tmp/a.json"
run compare "$tmp/a.json" "$tmp/a.json"
check "compare a a" $rc 0 "$out" "micro/pairs/pymalloc/size:64 +[-+]0\.0000"
run compare --allocators pymalloc,cpython "$tmp/a.json"
# cpython's fixture times are 1.4x pymalloc's: +0.40 relative change.
check "compare --allocators pymalloc,cpython" $rc 0 "$out" "micro/pairs/\*/size:64 +\+0\.(39|40|41)"
check "compare leaves memory runs out" 0 0 "$(grep -c 'mem/' <<<"$out" || true)" "^0$"
run compare --allocators pymalloc,tlsf "$tmp/a.json"
check "compare --allocators with an absent allocator" $rc 2 "$out" "no timed run of allocator 'tlsf'"
run compare "$tmp/a.json" /nonexistent.json
check "compare missing file" $rc 2 "$out" "/nonexistent.json: no such file"
echo '{"not": "gbench"' > "$tmp/bad.json"
run compare "$tmp/a.json" "$tmp/bad.json"
check "compare malformed file" $rc 2 "$out" "bad.json: not a Google Benchmark JSON file"

[ "$fails" -eq 0 ] && echo "all frontend checks passed"
exit "$fails"
