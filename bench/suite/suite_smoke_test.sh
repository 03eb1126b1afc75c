#!/usr/bin/env bash
# heaplab_bench --smoke on every allocator, memory runs inline, then
# suite_check.py on its JSON; then bench/tools/mem_runs.py runs a few memory
# runs each in its own process and merges them after the timed runs.
set -euo pipefail
dir=$(dirname "$0")
tmp="${TEST_TMPDIR:-/tmp}"
# The bundled traces are found under corpus/traces/ of the runfiles root,
# the current directory of a bazel test.
"$dir/heaplab_bench" --smoke --benchmark_min_time=0.001 \
    --benchmark_out="$tmp/suite_smoke.json" --benchmark_out_format=json >/dev/null
/usr/bin/python3 "$dir/suite_check.py" "$tmp/suite_smoke.json"

"$dir/heaplab_bench" --smoke --mem=skip --benchmark_filter='^micro/pairs/' \
    --benchmark_min_time=0.001 --benchmark_out="$tmp/timed.json" \
    --benchmark_out_format=json >/dev/null
/usr/bin/python3 "$dir/../tools/mem_runs.py" --bin "$dir/heaplab_bench" --jobs 2 \
    --timed "$tmp/timed.json" --out "$tmp/merged.json" \
    --filter '^mem/(window|trace_cc1)/(pymalloc|glibc|tlsf)/' -- --smoke
/usr/bin/python3 - "$tmp/merged.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
names = [b["name"] for b in doc["benchmarks"]]
timed = [n for n in names if n.startswith("micro/pairs/")]
mem = [n for n in names if n.startswith("mem/")]
assert timed and all(n.startswith("micro/pairs/") for n in names[:len(timed)]), names[:3]
assert len(mem) == 6, mem            # 2 workloads x 3 allocators, one each
assert not any(n.startswith("mem/") for n in names[:len(timed)])
for b in doc["benchmarks"]:
    assert not b.get("error_occurred"), b
    if b["name"].startswith("mem/"):
        assert b["peak_live"] > 0 and b["internal_frag"] >= 0, b
        assert b["peak_rss_delta"] >= 0 and "rss_ratio" in b, b
        if b["name"].split("/")[2] == "tlsf":
            assert b["peak_footprint"] >= b["peak_live"], b
assert doc["context"]["heaplab_scale"] == "smoke"
print("mem_runs: %d timed + %d isolated memory runs merged" % (len(timed), len(mem)))
PY
