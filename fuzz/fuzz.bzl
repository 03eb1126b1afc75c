"""hl_fuzz_target: one libFuzzer target and the test that replays its corpus.

    hl_fuzz_target(
        name = "trace_fuzz",
        srcs = ["trace_fuzz.c"],          # defines LLVMFuzzerTestOneInput
        deps = ["//lib/trace"],
    )

defines
  NAME               the libFuzzer binary: `bazel build --config=fuzz //fuzz:NAME`
                     (`./heaplab fuzz NAME` builds and runs it).  -fsanitize=fuzzer
                     is on this binary's own link line only; the fuzz config adds
                     -fsanitize=fuzzer-no-link,address,undefined to every compile.
                     Tagged `manual` (and `fuzz`), so `bazel build //...` and
                     `bazel test //...` leave it out in every config.
  NAME_corpus_test   a cc_test linking the same LLVMFuzzerTestOneInput with a plain
                     main (replay_main.c) that runs every file of the committed
                     corpus (default //corpus/NAME) once: `bazel test //...`
                     replays the corpora in the default and asan configs.
  NAME_lib           the target's code, shared by the two (alwayslink: nothing
                     else refers to LLVMFuzzerTestOneInput at link time).

testonly = True marks NAME_lib and NAME testonly too, for targets whose deps are
testonly (//lib/pymalloc:fidelity, //lib/mem:test_support).
"""

load("//bazel:copts.bzl", "HL_TEST_COPTS")

def hl_fuzz_target(name, srcs, deps = [], corpus = None, copts = [], testonly = False):
    corpus = corpus or "//corpus/" + name
    native.cc_library(
        name = name + "_lib",
        testonly = testonly,
        srcs = srcs,
        copts = HL_TEST_COPTS + copts,
        deps = deps,
        alwayslink = True,
    )
    native.cc_binary(
        name = name,
        testonly = testonly,
        # bfd, not the toolchain's gold: gold prints a "Cannot export local
        # symbol" warning for each of ASan's ~130 register-specific checks
        # when libFuzzer's runtime is linked in.  The later -fuse-ld wins;
        # bfd has no --start-lib, so the deps are linked as archives.
        features = ["-supports_start_end_lib"],
        linkopts = [
            "-fsanitize=fuzzer",
            "-fuse-ld=bfd",
        ],
        linkstatic = True,
        tags = [
            "fuzz",
            "manual",
        ],
        deps = [":" + name + "_lib"],
    )
    native.cc_test(
        name = name + "_corpus_test",
        size = "small",
        args = ["$(locations %s)" % corpus],
        data = [corpus],
        linkstatic = True,
        deps = [
            ":" + name + "_lib",
            "//fuzz:replay_main",
        ],
    )

def hl_corpus(name):
    """The corpus of fuzz target `name`: every file of this package but BUILD.

    corpus/<name>/BUILD is `hl_corpus(name = "<name>")`; the filegroup is what
    //fuzz:<name>_corpus_test replays.
    """
    native.filegroup(
        name = name,
        srcs = native.glob(
            ["**"],
            exclude = ["BUILD"],
        ),
        visibility = ["//fuzz:__pkg__"],
    )
