/* hl_registry.h: the create functions the registry table lists, one per
 * allocator file.  Internal: users go through hl_allocator_create(). */
#ifndef HL_REGISTRY_H
#define HL_REGISTRY_H

#ifndef HL_BUILD_CORE
#error "hl_registry.h is internal to heaplab; build with -DHL_BUILD_CORE"
#endif

#include "heaplab/allocator.h"
#include "hl_debug.h"

#define HL_DECLARE_ALLOCATOR(fn) \
    int fn(const hl_alloc_options_t *opt, hl_allocator_t *out, char *err, size_t errlen)

HL_DECLARE_ALLOCATOR(hl_pymalloc_create);          /* lib/pymalloc/variant_radix.c */
HL_DECLARE_ALLOCATOR(hl_pymalloc_classic_create);  /* lib/pymalloc/variant_classic.c */
HL_DECLARE_ALLOCATOR(hl_glibc_create);             /* lib/alloc/glibc.c */
HL_DECLARE_ALLOCATOR(hl_cpython_create);           /* lib/alloc/cpython.c */
HL_DECLARE_ALLOCATOR(hl_seqfit_first_create);      /* lib/classic/seqfit.c */
HL_DECLARE_ALLOCATOR(hl_seqfit_next_create);       /* lib/classic/seqfit.c */
HL_DECLARE_ALLOCATOR(hl_seqfit_best_create);       /* lib/classic/seqfit.c */
HL_DECLARE_ALLOCATOR(hl_segregated_simple_create); /* lib/classic/segregated_simple.c */
HL_DECLARE_ALLOCATOR(hl_segregated_fit_create);    /* lib/classic/segregated_fit.c */
HL_DECLARE_ALLOCATOR(hl_buddy_create);             /* lib/classic/buddy.c */
HL_DECLARE_ALLOCATOR(hl_tlsf_create);              /* lib/classic/tlsf.c */
HL_DECLARE_ALLOCATOR(hl_jemalloc_create);          /* lib/peers/jemalloc.c */
HL_DECLARE_ALLOCATOR(hl_mimalloc_create);          /* lib/peers/mimalloc.c */
HL_DECLARE_ALLOCATOR(hl_tcmalloc_create);          /* lib/peers/tcmalloc.c */

#include "heaplab/arena_source.h"

/* pymalloc over a caller-owned arena source (as PyObject_SetArenaAllocator)
 * and a caller-owned raw allocator (NULL: a private glibc).  Neither is
 * destroyed with the pymalloc instance.  For tests of the out-of-memory paths
 * and for the fidelity check, which shares one source kind with CPython. */
int hl_pymalloc_create_with_source(const hl_arena_source_t *src, const hl_allocator_t *raw,
                                   hl_allocator_t *out, char *err, size_t errlen);
int hl_pymalloc_classic_create_with_source(const hl_arena_source_t *src,
                                           const hl_allocator_t *raw, hl_allocator_t *out,
                                           char *err, size_t errlen);

/* Make the arena source named by opt->arenas; shared by pymalloc and cpython. */
int _hl_arena_source_from_options(const hl_alloc_options_t *opt, hl_arena_source_t *out,
                                  char *err, size_t errlen);


#endif /* HL_REGISTRY_H */
