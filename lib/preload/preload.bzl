"""LD_PRELOAD builds of heaplab's own allocators (lib/preload/preload.c).

    hl_preload_library(
        name = "seqfit-first",               # the registry name
        create = "hl_seqfit_first_create",   # its create function
        srcs = ["//lib/classic:sources"],    # its sources (.c compiled, .h available)
    )

builds bazel-bin/lib/preload/libhl_seqfit-first.so: the shim, the allocator's
sources and the few lib/alloc, lib/arena and lib/internal files they need,
compiled with the C toolchain's compiler directly in a genrule, so that no
configuration's sanitizer flags reach a library that is loaded into programs
without a sanitizer runtime (as //lib/trace:mtrace_start).  -O2, HL_DEBUG=0,
HL_STATS=0; every symbol hidden except the malloc family.

hl_preload_libraries(name), called once after every hl_preload_library of the
package, makes a filegroup of all of them: `heaplab exec` builds it and
python_test runs on each.
"""

# The shim and what every allocator's sources may need besides their own.
_COMMON = [
    "//lib/preload:shim_sources",
    "//lib/alloc:preload_sources",
    "//lib/arena:preload_sources",
    "//lib/include:headers",
    "//lib/internal:headers",
]

_FLAGS = " ".join([
    "-std=gnu11",
    "-O2",
    "-g",
    "-Wall",
    "-Wextra",
    "-Wno-unused-parameter",
    "-Wno-missing-field-initializers",
    "-fPIC",
    "-shared",
    "-fvisibility=hidden",
    # The shim is malloc: the compiler must not turn malloc+memset into calloc.
    "-fno-builtin-malloc",
    "-fno-builtin-calloc",
    "-fno-builtin-realloc",
    "-fno-builtin-free",
    "-ffunction-sections",
    "-fdata-sections",
    "-Wl,--gc-sections",
    "-Wl,-z,defs",
    "-D_GNU_SOURCE",
    "-DHL_BUILD_CORE",
    "-DHL_DEBUG=0",
    "-DHL_STATS=0",
    "-Ilib/include",
    "-Ilib/internal",
    "-Ilib/preload",
])

_TAG = "hl_preload"

def hl_preload_library(name, create, srcs, textual_srcs = [], natural_alignment = 16, visibility = None):
    """libhl_<name>.so: one allocator as the process's malloc.

    Args:
      name: the allocator's registry name.
      create: its create function (as listed in lib/internal/hl_registry.h).
      srcs: its sources; every .c among them is compiled, the rest (headers)
        are only made available.
      textual_srcs: files its sources #include, .c ones too (pymalloc's
        variant files include the core files); never compiled on their own.
      natural_alignment: the alignment the allocator gives (16, or 8 for
        pymalloc-classic); the shim rounds requests to keep glibc's 16.
      visibility: of the genrule.
    """
    compiled = " ".join(["$(locations %s)" % s for s in srcs + _COMMON])
    native.genrule(
        name = name,
        srcs = srcs + textual_srcs + _COMMON,
        outs = ["libhl_%s.so" % name],
        cmd = ("TUS=; for f in %s; do case $$f in *.c) TUS=\"$$TUS $$f\";; esac; done; " % compiled) +
              ("$(CC) %s -DHL_PRELOAD_CREATE=%s '-DHL_PRELOAD_NAME=\"%s\"' " % (_FLAGS, create, name)) +
              ("-DHL_PRELOAD_NATURAL_ALIGN=%d -o $@ $$TUS -lpthread" % natural_alignment),
        toolchains = ["@bazel_tools//tools/cpp:current_cc_toolchain"],
        tags = [_TAG],
        visibility = visibility,
    )

def hl_preload_libraries(name, visibility = None):
    """A filegroup of every hl_preload_library declared so far in the package."""
    names = sorted([r["name"] for r in native.existing_rules().values() if _TAG in r.get("tags", [])])
    native.filegroup(
        name = name,
        srcs = [":libhl_%s.so" % n for n in names],
        visibility = visibility,
    )
