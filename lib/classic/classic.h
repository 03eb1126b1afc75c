/* classic.h: the sequential-fit and segregated-list allocators of Wilson et
 * al.'s survey (seqfit.c, segregated_simple.c, segregated_fit.c), for the
 * registry (lib/internal/hl_registry.h) and for their tests.
 *
 * The create functions have the registry's signature (HL_DECLARE_ALLOCATOR);
 * they are written out here so that this header does not depend on the
 * order in which hl_registry.h includes it.  Each returns 0 and fills *out,
 * or -1 with a message in err; `opt` is ignored (these allocators take their
 * memory straight from mmap).
 */
#ifndef HL_CLASSIC_H
#define HL_CLASSIC_H

#ifndef HL_BUILD_CORE
#error "classic.h is internal to heaplab; build with -DHL_BUILD_CORE"
#endif

#include "heaplab/allocator.h"

#include <stddef.h>

/* "seqfit-first", "seqfit-next", "seqfit-best" (seqfit.c) */
int hl_seqfit_first_create(const hl_alloc_options_t *opt, hl_allocator_t *out, char *err,
                           size_t errlen);
int hl_seqfit_next_create(const hl_alloc_options_t *opt, hl_allocator_t *out, char *err,
                          size_t errlen);
int hl_seqfit_best_create(const hl_alloc_options_t *opt, hl_allocator_t *out, char *err,
                          size_t errlen);
/* "segregated-simple" (segregated_simple.c) */
int hl_segregated_simple_create(const hl_alloc_options_t *opt, hl_allocator_t *out,
                                char *err, size_t errlen);
/* "segregated-fit" (segregated_fit.c) */
int hl_segregated_fit_create(const hl_alloc_options_t *opt, hl_allocator_t *out, char *err,
                             size_t errlen);

#endif /* HL_CLASSIC_H */
