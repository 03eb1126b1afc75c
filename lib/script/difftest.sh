#!/bin/sh
# Bazel sh_test wrapper of difftest.py (//lib/script:script_diff_test): heap
# scripts on heaplab-cli (every allocator of `heaplab-cli list`) against
# CPython 3.11 (/usr/bin/python3, by that path).  Bazel starts a test in its
# runfiles tree at the workspace root ($TEST_SRCDIR/$TEST_WORKSPACE, here
# "heaplab"), so the data files are found by their workspace paths.
# Arguments go through to difftest.py (e.g. --random 50); HL_DIFF_SEED picks
# the seed of the generated scripts (--test_env=HL_DIFF_SEED=...).
set -eu
if [ -n "${TEST_SRCDIR:-}" ]; then
    cd "$TEST_SRCDIR/${TEST_WORKSPACE:-heaplab}"
fi
exec /usr/bin/python3 lib/script/difftest.py \
    --cli lib/cli/heaplab-cli \
    --corpus corpus/scripts \
    "$@"
