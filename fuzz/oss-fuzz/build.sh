#!/bin/bash -eu
# build.sh: heaplab's fuzz targets for OSS-Fuzz and ClusterFuzzLite, without
# Bazel.  Also the build behind `./heaplab fuzz --engine afl` (CC=afl-clang-fast)
# and `./heaplab oss-fuzz` (fuzz/oss-fuzz/local.sh: the OSS-Fuzz environment
# emulated on this machine).
#
# The environment is OSS-Fuzz's (docs: new_project_guide.md): CC, CXX, CFLAGS,
# CXXFLAGS, LIB_FUZZING_ENGINE, OUT, WORK (SRC is not needed: the sources are
# the repository this script sits in).  Everything is compiled with $CC
# $CFLAGS and linked with $CXX $CXXFLAGS ... $LIB_FUZZING_ENGINE (C++ links
# libFuzzer's runtime).  Into $OUT go, for every target T:
#   T                   the fuzzer
#   T_seed_corpus.zip   corpus/T/ minus its BUILD file (flat)
#   T.dict              fuzz/T.dict, when there is one
#   T.options           fuzz/T.options when there is one, else [libfuzzer]
#                       timeout = 25 (the ClusterFuzz default, said out loud)
#   lib/                the shared libraries the targets need at run time and
#                       the base-runner image lacks: libpython3.11 (linked;
#                       the `cpython` allocator) and the peers' libjemalloc,
#                       libmimalloc and libtcmalloc_minimal (dlopen()ed); the
#                       targets carry RUNPATH $ORIGIN/lib, which covers dlopen.
#
# No second list of sources to drift from the BUILD files: the sources are
# found by rule.
#   library  every lib/**/*.c (and lib/**/*.cc, with $CXX: the tcmalloc peer's
#            bridge to its C++ API) except
#              - unit tests and their cmocka helpers: *_test.c, and any
#                file that includes <cmocka.h> (rt_test_util.c, ...);
#              - programs and preloaded libraries, which Bazel builds apart:
#                lib/cli/ (main), lib/preload/ (defines malloc itself) and
#                lib/trace/mtrace_start.c (defines _exit; preloaded into
#                traced programs);
#              - .c files another lib/ file #includes (pymalloc's core files,
#                textual_hdrs of //lib/pymalloc: each variant_*.c includes
#                them with its own constants).
#            They go into one static archive, libheaplab.a: a target links
#            only the members it needs, as Bazel's cc_library archives.
#   helpers  fuzz/*.c except the targets and replay_main.c, into libfuzzhelpers.a.
#   targets  every fuzz/T.c with an hl_fuzz_target(name = "T") in fuzz/BUILD.
#            A target whose block names //lib:runtime_expensive_checks (the
#            object layer and collector with -DHL_DEBUG=3, lib/BUILD) links
#            lib/obj/ and lib/gc/ compiled that way too, from an archive
#            ahead of libheaplab.a (libruntime_debug3.a).
#   flags    HL_CORE_COPTS and HL_PYTHON_COPTS of bazel/copts.bzl and
#            -DHL_FUZZING=1 (as .bazelrc's fuzz configs); -I for
#            lib/include and every lib/ directory with a header; every -l
#            flag of the BUILD files and copts.bzl except -lcmocka (tests).
# A file that the rule gets wrong fails the link (or the build) here, and
# `./heaplab test` runs this script (fuzz/oss-fuzz/local.sh), which also
# compares the library list with `bazel query` when bazel is at hand.
#
#   build.sh                 build (environment above)
#   build.sh --list-sources  print the library and helper sources, one a line
#   build.sh --list-targets  print the targets, one a line
#
# Extra knobs: HEAPLAB_BUILD_JOBS (parallel compiles; default nproc),
# HEAPLAB_TARGETS (space-separated subset of the targets).

# The repository: the one this script sits in (fuzz/oss-fuzz/), else the
# working directory, else $SRC/heaplab (OSS-Fuzz copies build.sh to $SRC and
# runs it from the Dockerfile's WORKDIR, $SRC/heaplab).
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=
for d in "$HERE/../.." "$PWD" "${SRC:-/src}/heaplab"; do
    if [ -f "$d/fuzz/BUILD" ] && [ -d "$d/lib" ]; then ROOT=$(cd "$d" && pwd); break; fi
done
[ -n "$ROOT" ] || { echo "build.sh: cannot find the heaplab repository" >&2; exit 1; }
cd "$ROOT"

# --- the rules -------------------------------------------------------------

list_targets() {
    # hl_fuzz_target(...) blocks of fuzz/BUILD: their first `name = "..."`.
    awk '
        /^[[:space:]]*hl_fuzz_target[[:space:]]*\(/ { inblk = 1; next }
        inblk && match($0, /name[[:space:]]*=[[:space:]]*"[^"]+"/) {
            s = substr($0, RSTART, RLENGTH); sub(/^[^"]*"/, "", s); sub(/"$/, "", s)
            print s; inblk = 0
        }' fuzz/BUILD | while read -r t; do
        if [ -f "fuzz/$t.c" ]; then echo "$t"; fi
    done
}

list_library_sources() {
    local included
    # Basenames of .c files some lib/ file includes textually.
    included=$(grep -rhoE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[^"/]+\.c"' lib \
               | sed -E 's/.*"([^"]+)".*/\1/' | sort -u)
    find lib \( -name '*.c' -o -name '*.cc' \) -not -name '*_test.c' \
        -not -path 'lib/cli/*' -not -path 'lib/preload/*' \
        -not -path 'lib/trace/mtrace_start.c' | LC_ALL=C sort | while read -r f; do
        # pymalloc's core files: included by a sibling, never compiled alone.
        grep -qxF -- "$(basename "$f")" <<<"$included" && continue
        # unit-test helpers built on cmocka (not a fuzz-target dependency)
        grep -qE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<cmocka\.h>' "$f" && continue
        echo "$f"
    done
}

# Targets whose hl_fuzz_target block depends on //lib:runtime_expensive_checks.
list_debug3_targets() {
    awk '
        /^[[:space:]]*hl_fuzz_target[[:space:]]*\(/ { inblk = 1; name = ""; next }
        inblk && name == "" && match($0, /name[[:space:]]*=[[:space:]]*"[^"]+"/) {
            name = substr($0, RSTART, RLENGTH); sub(/^[^"]*"/, "", name); sub(/"$/, "", name)
        }
        inblk && /\/\/lib:runtime_expensive_checks"/ { print name }
        inblk && /^\)/ { inblk = 0 }' fuzz/BUILD
}

list_helper_sources() {
    local targets
    targets=$(list_targets)
    find fuzz -maxdepth 1 -name '*.c' -not -name replay_main.c | LC_ALL=C sort | while read -r f; do
        grep -qxF -- "$(basename "$f" .c)" <<<"$targets" || echo "$f"
    done
}

case ${1:-} in
    --list-sources) list_library_sources; list_helper_sources; exit 0 ;;
    --list-targets) list_targets; exit 0 ;;
    "") ;;
    *) echo "build.sh: unknown argument '$1' (--list-sources, --list-targets)" >&2; exit 2 ;;
esac

: "${CC:=clang}" "${CXX:=clang++}" "${CFLAGS:=}" "${CXXFLAGS:=}"
: "${LIB_FUZZING_ENGINE:=-fsanitize=fuzzer}"
: "${OUT:?build.sh: set OUT (where the fuzzers go)}"
: "${WORK:=$OUT/.work}"
JOBS=${HEAPLAB_BUILD_JOBS:-$(nproc)}

PYTHON=$(command -v python3) || { echo "build.sh: python3 is needed (reads bazel/copts.bzl)" >&2; exit 1; }
# bazel/copts.bzl is plain assignments of lists: Python reads it as it is.
read -r -a COPTS <<<"$("$PYTHON" -c '
import sys
g = {}
exec(open("bazel/copts.bzl").read(), g)
print(" ".join(g["HL_CORE_COPTS"] + g["HL_PYTHON_COPTS"]))')"
COPTS+=(-DHL_FUZZING=1)   # as .bazelrc's fuzz configurations
INCLUDES=(-iquote . -Ilib/include -Ifuzz)   # -iquote .: as Bazel, paths from the root
while read -r d; do INCLUDES+=("-I$d"); done < <(
    find lib -name '*.h' -not -path 'lib/include/*' -not -path 'lib/cli/*' \
         -not -path 'lib/preload/*' -printf '%h\n' | LC_ALL=C sort -u)
mapfile -t LIBS < <(grep -hoE '"-l[A-Za-z0-9_.+-]+"' bazel/copts.bzl lib/BUILD lib/*/BUILD fuzz/BUILD \
                    | tr -d '"' | grep -vx -- -lcmocka | LC_ALL=C sort -u)
LIBS+=(-lpthread -lm)

mapfile -t TARGETS < <(list_targets)
if [ -n "${HEAPLAB_TARGETS:-}" ]; then
    read -r -a TARGETS <<<"$HEAPLAB_TARGETS"
fi
[ "${#TARGETS[@]}" -gt 0 ] || { echo "build.sh: no fuzz target in fuzz/BUILD" >&2; exit 1; }

mkdir -p "$OUT" "$WORK/obj" "$WORK/obj3"
started=$(date +%s)

# --- compile ---------------------------------------------------------------

# Every translation unit, in parallel: library, helpers and targets.
mapfile -t LIB_SRCS < <(list_library_sources)
mapfile -t HELPER_SRCS < <(list_helper_sources)
TARGET_SRCS=(); for t in "${TARGETS[@]}"; do TARGET_SRCS+=("fuzz/$t.c"); done
ALL_SRCS=("${LIB_SRCS[@]}" "${HELPER_SRCS[@]}" "${TARGET_SRCS[@]}")
obj_of() { local o=${1%.cc}; o=${o%.c}; echo "$WORK/obj/${o//\//__}.o"; }
export CC CXX WORK
# shellcheck disable=SC2016
printf '%s\n' "${ALL_SRCS[@]}" | grep -v '\.cc$' | xargs -P "$JOBS" -I{} sh -c '
    src=$1; shift
    o=${src%.c}; o=$(printf %s "$o" | sed "s|/|__|g")
    exec "$CC" "$@" -c "$src" -o "$WORK/obj/$o.o"' sh {} $CFLAGS "${COPTS[@]}" "${INCLUDES[@]}" \
    || { echo "build.sh: compiling failed" >&2; exit 1; }
# shellcheck disable=SC2016
printf '%s\n' "${ALL_SRCS[@]}" | { grep '\.cc$' || true; } | xargs -r -P "$JOBS" -I{} sh -c '
    src=$1; shift
    o=${src%.cc}; o=$(printf %s "$o" | sed "s|/|__|g")
    exec "$CXX" "$@" -c "$src" -o "$WORK/obj/$o.o"' sh {} $CXXFLAGS "${COPTS[@]}" "${INCLUDES[@]}" \
    || { echo "build.sh: compiling the C++ sources failed" >&2; exit 1; }

# The HL_DEBUG=3 object layer and collector, when a chosen target wants it.
DEBUG3_TARGETS=$(list_debug3_targets)
DEBUG3_SRCS=()
for t in "${TARGETS[@]}"; do
    if grep -qxF -- "$t" <<<"$DEBUG3_TARGETS"; then
        mapfile -t DEBUG3_SRCS < <(printf '%s\n' "${LIB_SRCS[@]}" | grep -E '^lib/(obj|gc)/')
        break
    fi
done
rm -f "$WORK/libruntime_debug3.a"
if [ "${#DEBUG3_SRCS[@]}" -gt 0 ]; then
    # shellcheck disable=SC2016
    printf '%s\n' "${DEBUG3_SRCS[@]}" | xargs -P "$JOBS" -I{} sh -c '
        src=$1; shift
        o=${src%.c}; o=$(printf %s "$o" | sed "s|/|__|g")
        exec "$CC" "$@" -c "$src" -o "$WORK/obj3/$o.o"' sh {} $CFLAGS "${COPTS[@]}" -DHL_DEBUG=3 \
        "${INCLUDES[@]}" || { echo "build.sh: compiling the HL_DEBUG=3 runtime failed" >&2; exit 1; }
    D3_OBJS=()
    for s in "${DEBUG3_SRCS[@]}"; do o=${s%.c}; D3_OBJS+=("$WORK/obj3/${o//\//__}.o"); done
    ar rcs "$WORK/libruntime_debug3.a" "${D3_OBJS[@]}"
fi

rm -f "$WORK/libheaplab.a" "$WORK/libfuzzhelpers.a"
LIB_OBJS=(); for s in "${LIB_SRCS[@]}"; do LIB_OBJS+=("$(obj_of "$s")"); done
ar rcs "$WORK/libheaplab.a" "${LIB_OBJS[@]}"
HELPER_ARCHIVE=()
if [ "${#HELPER_SRCS[@]}" -gt 0 ]; then
    H_OBJS=(); for s in "${HELPER_SRCS[@]}"; do H_OBJS+=("$(obj_of "$s")"); done
    ar rcs "$WORK/libfuzzhelpers.a" "${H_OBJS[@]}"
    HELPER_ARCHIVE=("$WORK/libfuzzhelpers.a")
fi

# --- link, and what goes beside each fuzzer -------------------------------

zip_flat() {   # zip_flat ZIP FILES...: a zip of the files, stored by basename
    local z=$1; shift
    rm -f "$z"
    if command -v zip >/dev/null; then
        zip -q -j "$z" "$@"
    else
        "$PYTHON" -m zipfile -c "$z" "$@"
    fi
}

# shellcheck disable=SC2016
RPATH='-Wl,-rpath,$ORIGIN/lib'
status=0
for t in "${TARGETS[@]}"; do
    variant=()
    grep -qxF -- "$t" <<<"$DEBUG3_TARGETS" && variant=("$WORK/libruntime_debug3.a")
    # shellcheck disable=SC2086
    if ! $CXX $CXXFLAGS $CFLAGS "$(obj_of "fuzz/$t.c")" "${HELPER_ARCHIVE[@]}" "${variant[@]}" "$WORK/libheaplab.a" \
            $LIB_FUZZING_ENGINE "$RPATH" "${LIBS[@]}" -o "$OUT/$t"; then
        echo "build.sh: linking $t failed" >&2; status=1; continue
    fi
    mapfile -t seeds < <(find "corpus/$t" -type f -not -name BUILD 2>/dev/null | LC_ALL=C sort)
    if [ "${#seeds[@]}" -gt 0 ]; then
        zip_flat "$OUT/${t}_seed_corpus.zip" "${seeds[@]}"
    else
        rm -f "$OUT/${t}_seed_corpus.zip"
    fi
    if [ -f "fuzz/$t.dict" ]; then cp "fuzz/$t.dict" "$OUT/$t.dict"; else rm -f "$OUT/$t.dict"; fi
    if [ -f "fuzz/$t.options" ]; then
        cp "fuzz/$t.options" "$OUT/$t.options"
    else
        printf '[libfuzzer]\ntimeout = 25\n' >"$OUT/$t.options"
    fi
done

# Run-time libraries the base-runner image does not have (see the header):
# libpython (linked) and the peers' sonames (dlopen()ed; found in
# lib/peers/*.c), copied from wherever this machine has them.
mkdir -p "$OUT/lib"
copy_lib() {
    local so=$1 path
    path=$(/sbin/ldconfig -p 2>/dev/null | awk -v so="$so" '$1 == so && /x86-64/ {print $NF; exit}')
    if [ -n "$path" ]; then
        cp -L "$path" "$OUT/lib/$so"
    else
        echo "build.sh: warning: $so not found on this machine: targets that use it fail at run time" >&2
    fi
}
for so in $(grep -hoE '"lib[A-Za-z0-9_]+\.so\.[0-9]+"' lib/peers/*.c | tr -d '"' | sort -u); do
    copy_lib "$so"
done
for t in "${TARGETS[@]}"; do
    [ -x "$OUT/$t" ] || continue
    ldd "$OUT/$t" 2>/dev/null | awk '$1 ~ /^libpython/ {print $1}'
done | sort -u | while read -r so; do copy_lib "$so"; done

echo "build.sh: ${#TARGETS[@]} targets (${TARGETS[*]}), ${#LIB_SRCS[@]} library and" \
     "${#HELPER_SRCS[@]} helper sources, $(( $(date +%s) - started )) s, into $OUT" >&2
exit "$status"
