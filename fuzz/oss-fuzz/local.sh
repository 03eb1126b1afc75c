#!/bin/bash -eu
# local.sh: the OSS-Fuzz build of heaplab's fuzz targets on this machine,
# without docker, then a smoke run of each (`./heaplab oss-fuzz`; one step of
# `./heaplab test`).
#
#   fuzz/oss-fuzz/local.sh [--sanitizer address|undefined] [--out DIR]
#
# Sets the environment base-builder gives build.sh (infra/base-images:
# CC=clang, CXX=clang++, CFLAGS = "-O1 -fno-omit-frame-pointer
# -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION" + the
# sanitizer's flags + -fsanitize=fuzzer-no-link, CXXFLAGS the same,
# LIB_FUZZING_ENGINE=-fsanitize=fuzzer, OUT, SRC, WORK), runs
# fuzz/oss-fuzz/build.sh, then every $OUT binary with -runs=0 on its unzipped
# seed corpus (as OSS-Fuzz's check_build does with a few runs), with the
# runner's -rss_limit_mb=2560 -timeout=25.  Also checks that build.sh's
# library sources cover every lib/ source `bazel query` finds under the fuzz
# targets (skipped when bazel is not at hand).
#
# --out DIR keeps $OUT there (default: a temporary directory, removed at the
# end).  Exit status 0 iff the build and every smoke run passed.
set -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
sanitizer=address
keep_out=
while [ $# -gt 0 ]; do
    case $1 in
        --sanitizer) [ $# -ge 2 ] || { echo "local.sh: --sanitizer needs a value" >&2; exit 2; }
                     sanitizer=$2; shift 2 ;;
        --sanitizer=*) sanitizer=${1#*=}; shift ;;
        --out) [ $# -ge 2 ] || { echo "local.sh: --out needs a directory" >&2; exit 2; }
               keep_out=$2; shift 2 ;;
        --out=*) keep_out=${1#*=}; shift ;;
        -h|--help) sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "local.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done

# base-builder's flags (infra/base-images/base-builder/Dockerfile and
# compile): SANITIZER_FLAGS_address / _undefined, COVERAGE_FLAGS.
UBSAN_CHECKS=array-bounds,bool,builtin,enum,integer-divide-by-zero,null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,unreachable,vla-bound
case $sanitizer in
    address)   SAN_FLAGS="-fsanitize=address -fsanitize-address-use-after-scope" ;;
    undefined) SAN_FLAGS="-fsanitize=$UBSAN_CHECKS -fno-sanitize-recover=$UBSAN_CHECKS" ;;
    *) echo "local.sh: --sanitizer is address or undefined, not '$sanitizer'" >&2; exit 2 ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/heaplab-oss-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export CC=clang CXX=clang++
export CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION $SAN_FLAGS -fsanitize=fuzzer-no-link"
export CXXFLAGS="$CFLAGS"
export LIB_FUZZING_ENGINE=-fsanitize=fuzzer
export SANITIZER=$sanitizer FUZZING_ENGINE=libfuzzer ARCHITECTURE=x86_64
export SRC=$tmp/src WORK=$tmp/work
export OUT=${keep_out:-$tmp/out}
mkdir -p "$SRC" "$WORK" "$OUT"
ln -s "$ROOT" "$SRC/heaplab"
OUT=$(cd "$OUT" && pwd)

status=0
echo "local.sh: CC=$CC CXX=$CXX CFLAGS='$CFLAGS' LIB_FUZZING_ENGINE=$LIB_FUZZING_ENGINE OUT=$OUT"
started=$(date +%s)
if ! (cd "$SRC/heaplab" && "$SRC/heaplab/fuzz/oss-fuzz/build.sh"); then
    echo "local.sh: build.sh failed" >&2
    status=1
fi
built=$(date +%s)
echo "local.sh: build.sh took $((built - started)) s"

# Drift check: every lib/ source Bazel compiles into a fuzz target is one
# build.sh compiles too.
if command -v bazel >/dev/null && [ -f "$ROOT/WORKSPACE" ]; then
    if q=$(cd "$ROOT" && bazel query --noshow_progress \
               'labels(srcs, kind(cc_library, deps(attr(tags, "\bfuzz\b", //fuzz:*))))' 2>/dev/null); then
        missing=$(comm -23 <(sed -n 's|^//\(lib[^:]*\):\(.*\.c\)$|\1/\2|p' <<<"$q" | LC_ALL=C sort -u) \
                           <(cd "$ROOT" && fuzz/oss-fuzz/build.sh --list-sources | LC_ALL=C sort -u) \
                  | while read -r f; do
                        # Left out on purpose: textually included files
                        # (pymalloc's core, compiled through their includer)
                        # and cmocka helpers that come with a testonly dep
                        # (if a target used one, its link would fail).
                        grep -rqE "#[[:space:]]*include[[:space:]]+\"$(basename "$f")\"" "$ROOT/$(dirname "$f")" \
                            && continue
                        grep -qE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<cmocka\.h>' "$ROOT/$f" && continue
                        echo "$f"
                    done)
        if [ -n "$missing" ]; then
            echo "local.sh: build.sh's source rule misses what Bazel links into the fuzz targets:" >&2
            printf '  %s\n' $missing >&2
            status=1
        else
            echo "local.sh: build.sh's sources cover bazel query's for the fuzz targets"
        fi
    else
        echo "local.sh: bazel query failed; source drift check skipped" >&2
    fi
fi

# Smoke runs: each fuzzer over its seeds, once.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:silence_unsigned_overflow=1}
n=0 bad=0
for t in $(cd "$ROOT" && fuzz/oss-fuzz/build.sh --list-targets); do
    n=$((n + 1))
    if [ ! -x "$OUT/$t" ]; then
        echo "local.sh: $t: not built" >&2; bad=$((bad + 1)); continue
    fi
    seeds=$tmp/seeds/$t
    mkdir -p "$seeds"
    if [ -f "$OUT/${t}_seed_corpus.zip" ]; then
        (cd "$seeds" && python3 -m zipfile -e "$OUT/${t}_seed_corpus.zip" .)
    fi
    [ -f "$OUT/$t.options" ] || { echo "local.sh: $t: no $t.options" >&2; bad=$((bad + 1)); }
    dict=(); [ -f "$OUT/$t.dict" ] && dict=(-dict="$OUT/$t.dict")
    log=$tmp/$t.log
    if (cd "$tmp" && "$OUT/$t" -runs=0 -rss_limit_mb=2560 -timeout=25 "${dict[@]}" "$seeds") >"$log" 2>&1; then
        echo "local.sh: $t: $(find "$seeds" -type f | wc -l) seeds ran: $(grep -m1 -oE 'INITED.*' "$log" || grep -m1 -oE 'DONE.*' "$log" || echo ok)"
    else
        echo "local.sh: $t: smoke run FAILED; its log:" >&2
        tail -n 30 "$log" >&2
        bad=$((bad + 1))
    fi
done
[ "$bad" -eq 0 ] || status=1
echo "local.sh: $n targets, $((n - bad)) smoke runs passed, $bad failed; $(( $(date +%s) - started )) s in all ($sanitizer)"
exit "$status"
