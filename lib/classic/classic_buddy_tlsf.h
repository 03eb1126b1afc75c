/* classic_buddy_tlsf.h: the binary buddy system (buddy.c) and two-level
 * segregated fit (tlsf.c), for the registry (lib/internal/hl_registry.h)
 * and for their tests.
 *
 * The create functions have the registry's signature (HL_DECLARE_ALLOCATOR);
 * they are written out here so that this header does not depend on the
 * order in which hl_registry.h includes it.
 *
 * The `_hl_` functions below are test hooks: they look inside one instance
 * (or at TLSF's mapping function) so that the tests can state the designs'
 * properties exactly.  Nothing else should call them.
 */
#ifndef HL_CLASSIC_BUDDY_TLSF_H
#define HL_CLASSIC_BUDDY_TLSF_H

#ifndef HL_BUILD_CORE
#error "classic_buddy_tlsf.h is internal to heaplab; build with -DHL_BUILD_CORE"
#endif

#include "heaplab/allocator.h"

#include <stddef.h>

/* "buddy" (buddy.c) and "tlsf" (tlsf.c). */
int hl_buddy_create(const hl_alloc_options_t *opt, hl_allocator_t *out, char *err,
                    size_t errlen);
int hl_tlsf_create(const hl_alloc_options_t *opt, hl_allocator_t *out, char *err,
                   size_t errlen);

/* What one instance holds, counted by walking it (O(heap)). */
typedef struct hl_classic_census_s {
    size_t chunks;           /* buddy chunks / TLSF pools mapped now */
    size_t chunk_size;       /* bytes per chunk or pool */
    size_t free_blocks;      /* free blocks inside chunks / pools */
    size_t whole_free;       /* chunks / pools that are one free block */
    size_t direct;           /* blocks mapped directly from the system */
    size_t mappings;         /* every mapping the instance holds now, its
                              * own state and tables included */
    size_t max_small_request;/* largest request served from a chunk / pool;
                              * larger ones are mapped directly */
} hl_classic_census_t;

/* a must have been made by hl_buddy_create / hl_tlsf_create. */
void _hl_buddy_census(const hl_allocator_t *a, hl_classic_census_t *out);
void _hl_tlsf_census(const hl_allocator_t *a, hl_classic_census_t *out);

/* TLSF's mapping function, on a block size (header included, a multiple of
 * 16, at least the minimum block): the list (fl, sl) a free block of that
 * size is kept in.  _search rounds the size up first (good fit), so that
 * every block in the list it names is at least block_size.
 * _list_min is the smallest block size list (fl, sl) holds. */
void _hl_tlsf_mapping(size_t block_size, unsigned *fl, unsigned *sl);
void _hl_tlsf_mapping_search(size_t block_size, unsigned *fl, unsigned *sl);
size_t _hl_tlsf_list_min(unsigned fl, unsigned sl);
/* The block size a request of n bytes takes (n <= max_small_request). */
size_t _hl_tlsf_block_size(size_t n);

#endif /* HL_CLASSIC_BUDDY_TLSF_H */
