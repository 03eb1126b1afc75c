#!/usr/bin/env bash
# heaplab_bench --smoke on every allocator, then suite_check.py on its JSON.
set -euo pipefail
dir=$(dirname "$0")
out="${TEST_TMPDIR:-/tmp}/suite_smoke.json"
# The bundled traces are found under corpus/traces/ of the runfiles root,
# the current directory of a bazel test.
"$dir/heaplab_bench" --smoke --benchmark_min_time=0.001 \
    --benchmark_out="$out" --benchmark_out_format=json >/dev/null
/usr/bin/python3 "$dir/suite_check.py" "$out"
