/* registry.c: every allocator heaplab can run, by name.
 *
 * One table.  A later layer adds an allocator by adding its row here and its
 * create function to hl_registry.h; every test, fuzz target, benchmark and
 * trace replay that loops over the registry then runs on it too.
 */
#include "hl_debug.h"
#include "hl_registry.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const hl_registry_entry_t registry[] = {
    {"pymalloc",
     "heaplab's pymalloc, CPython 3.10+ 64-bit geometry: 16-byte classes, 16 KiB pools, "
     "1 MiB arenas, radix tree (the reference)",
     hl_pymalloc_create},
    {"pymalloc-classic",
     "heaplab's pymalloc, classic geometry as CPython 3.7 ran on 64-bit: 8-byte classes, "
     "4 KiB pools, 256 KiB arenas, arena-index address_in_range",
     hl_pymalloc_classic_create},
    {"glibc",
     "the C library's malloc (ptmalloc2); process-wide heap, held bytes from mallinfo2",
     hl_glibc_create},
    {"cpython",
     "CPython 3.11's own obmalloc (PyObject_Malloc in libpython3.11); one instance per process",
     hl_cpython_create},
    {"seqfit-first",
     "sequential fit, address-ordered first fit: one free list, boundary tags, immediate "
     "coalescing",
     hl_seqfit_first_create},
    {"seqfit-next",
     "sequential fit, next fit with a roving pointer: one free list, boundary tags, "
     "immediate coalescing",
     hl_seqfit_next_create},
    {"seqfit-best",
     "sequential fit, best fit: one free list, boundary tags, immediate coalescing",
     hl_seqfit_best_create},
    {"segregated-simple",
     "simple segregated storage: one size class per 16 KiB page, no splitting or coalescing",
     hl_segregated_simple_create},
    {"segregated-fit",
     "segregated fit, dlmalloc-like: exact small bins, sorted large bins, splitting, "
     "coalescing, a top chunk",
     hl_segregated_fit_create},
    {"buddy",
     "binary buddy system: power-of-two blocks, splitting, coalescing with the computed buddy",
     hl_buddy_create},
    {"tlsf",
     "two-level segregated fit (Masmano et al.): O(1) malloc and free, good fit, immediate "
     "coalescing",
     hl_tlsf_create},
    {"jemalloc",
     "jemalloc 5.3 (libjemalloc.so.2, dlopen()ed, mallocx API); process-wide library, one "
     "private arena + explicit tcache per instance, destroy frees the arena",
     hl_jemalloc_create},
    {"mimalloc",
     "mimalloc 2.0 (libmimalloc.so.2, dlopen()ed, mi_heap_* API); one mi_heap per instance, "
     "held bytes are mimalloc's process-wide commit",
     hl_mimalloc_create},
    {"tcmalloc",
     "gperftools tcmalloc 2.10 (libtcmalloc_minimal.so.4, dlopen()ed, tc_* API); one heap per "
     "process, instances are views of it",
     hl_tcmalloc_create},
};

size_t hl_registry_count(void) { return sizeof registry / sizeof registry[0]; }

const hl_registry_entry_t *hl_registry_at(size_t i)
{
    return i < hl_registry_count() ? &registry[i] : NULL;
}

const hl_registry_entry_t *hl_registry_find(const char *name)
{
    for (size_t i = 0; i < hl_registry_count(); i++)
        if (strcmp(registry[i].name, name) == 0)
            return &registry[i];
    return NULL;
}

int hl_allocator_create(const char *name, const hl_alloc_options_t *opt,
                        hl_allocator_t *out, char *err, size_t errlen)
{
    static const hl_alloc_options_t defaults = {HL_ARENAS_MMAP, NULL};
    const hl_registry_entry_t *e = hl_registry_find(name);
    if (!e)
        return _hl_err(err, errlen, "unknown allocator '%s' (see `heaplab list`)", name);
    if (e->create(opt ? opt : &defaults, out, err, errlen) != 0)
        return -1;
    out->name = e->name;
    return 0;
}

void hl_allocator_destroy(hl_allocator_t *a)
{
    if (a && a->ops) {
        a->ops->destroy(a->ctx);
        a->ops = NULL;
        a->ctx = NULL;
    }
}

int hl_arena_kind_parse(const char *s, hl_arena_kind_t *out)
{
    if (strcmp(s, "mmap") == 0) { *out = HL_ARENAS_MMAP; return 0; }
    if (strcmp(s, "fixed") == 0) { *out = HL_ARENAS_FIXED; return 0; }
    return -1;
}

int _hl_arena_source_from_options(const hl_alloc_options_t *opt, hl_arena_source_t *out,
                                  char *err, size_t errlen)
{
    int rc = opt->arenas == HL_ARENAS_FIXED
                 ? hl_arena_source_fixed(HL_FIXED_ARENA_MISALIGN, out)
                 : hl_arena_source_mmap(out);
    if (rc != 0)
        return _hl_err(err, errlen, "cannot set up the %s arena source",
                       opt->arenas == HL_ARENAS_FIXED ? "fixed" : "mmap");
    return 0;
}
