#!/usr/bin/env bash
# exec_test.sh LIB...: `heaplab-cli exec` and the preload libraries under
# threads and fork.
#   - the libraries are found from the executable's place (../preload/) and
#     from $HEAPLAB_PRELOAD_DIR;
#   - LD_PRELOAD gets the library first, then the value it had; the running
#     process's heaplab_preload_allocator names the allocator asked for;
#   - the exit status is the command's (7), 127 if it cannot run, 2 for a
#     peer (with the list of preloadable allocators), an unknown name or no
#     command;
#   - for each library: python3 with 4 allocating threads (zlib and json
#     release the GIL around their mallocs) while the main thread forks 20
#     children that allocate too, finishes, and the invariant check passes.
set -euo pipefail

CLI=lib/cli/heaplab-cli
PY=/usr/bin/python3
[ -x "$CLI" ] || { echo "FAIL: $CLI not found"; exit 1; }
[ $# -gt 0 ] || { echo "FAIL: no preload library given"; exit 1; }
unset HEAPLAB_PRELOAD_DIR HL_PRELOAD_STATS LD_PRELOAD
tmp=${TEST_TMPDIR:-$(mktemp -d)}
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

names=()
for lib in "$@"; do
    n=$(basename "$lib" .so); names+=("${n#libhl_}")
done
first=${names[0]}
dir=$(dirname "$(realpath "$1")")

# Exit statuses and errors.
rc=0; "$CLI" exec --allocator "$first" -- sh -c 'exit 7' || rc=$?
[ "$rc" -eq 7 ] || fail "exit status $rc, not the command's 7"
rc=0; "$CLI" exec --allocator "$first" -- /nonexistent/cmd 2>"$tmp/err" || rc=$?
[ "$rc" -eq 127 ] || fail "a command that cannot run: status $rc, not 127"
rc=0; "$CLI" exec --allocator glibc -- true 2>"$tmp/err" || rc=$?
[ "$rc" -eq 2 ] || fail "glibc: status $rc, not 2"
for n in "${names[@]}"; do
    grep -q "'glibc' has no LD_PRELOAD build.*preloadable: .*\b$n\b" "$tmp/err" \
        || { fail "glibc: the message does not list $n:"; cat "$tmp/err"; }
done
rc=0; "$CLI" exec --allocator no-such-allocator -- true 2>"$tmp/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "unknown allocator 'no-such-allocator'" "$tmp/err" \
    || fail "an unknown allocator: status $rc, $(cat "$tmp/err")"
rc=0; "$CLI" exec --allocator "$first" 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "no command: status $rc, not 2"

# LD_PRELOAD: ours first, the old value kept; the process runs on ours.
probe='import ctypes, os
print(os.environ["LD_PRELOAD"])
print((ctypes.c_char * 64).in_dll(ctypes.CDLL(None), "heaplab_preload_allocator").value.decode())'
for how in exe env; do
    for n in "${names[@]}"; do
        other=$(realpath "$1")       # another preload library as the old value
        env_args=()
        [ "$how" = env ] && env_args=(HEAPLAB_PRELOAD_DIR="$dir")
        out=$(env "${env_args[@]}" LD_PRELOAD="$other" "$CLI" exec --allocator "$n" -- "$PY" -c "$probe") \
            || { fail "$how: $n: the probe failed"; continue; }
        want=$(printf '%s\n%s' "$dir/libhl_$n.so $other" "$n")
        [ "$out" = "$want" ] || fail "$how: $n: got '$out', want '$want'"
    done
done

# Threads and fork on each library.
stress='import json, os, random, threading, zlib
def churn(k):
    rng = random.Random(k)
    for i in range(150):
        recs = [{"k": rng.random(), "s": "x" * rng.randint(0, 3000)} for _ in range(60)]
        blob = zlib.compress(json.dumps(recs).encode(), 1)
        assert json.loads(zlib.decompress(blob)) == recs
threads = [threading.Thread(target=churn, args=(k,)) for k in range(4)]
for t in threads: t.start()
for i in range(20):
    pid = os.fork()
    if pid == 0:
        data = [str(j) * (j % 700) for j in range(3000)]
        os._exit(0 if len("".join(data)) > 0 else 1)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
for t in threads: t.join()
print("stress ok")'
for n in "${names[@]}"; do
    rc=0
    PYTHONMALLOC=malloc "$CLI" exec --allocator "$n" --stats -- "$PY" -c "$stress" \
        >"$tmp/out" 2>"$tmp/err" || rc=$?
    if [ "$rc" -ne 0 ] || ! grep -qx "stress ok" "$tmp/out" ||
       ! grep -Eq "^heaplab-preload: $n: pid [0-9]+: [1-9][0-9]* malloc, .* check ok$" "$tmp/err"; then
        fail "$n: threads and fork: status $rc"
        cat "$tmp/out" "$tmp/err"
    else
        echo "$n: $(grep '^heaplab-preload' "$tmp/err")"
    fi
done

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "PASS"
