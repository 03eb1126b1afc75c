/* pymem_internal.h: what lib/mem's files share and nothing else needs.
 *
 *   adapter.c      hl_allocator_t -> PEP 445, and looking through a slot
 *   debug_hooks.c  the debug decorator (debug_alloc_api_t is its ctx)
 *   fatal.c        Py_FatalError's format, written without allocating
 *   domains.c      hl_pymem_t
 */
#ifndef HL_PYMEM_INTERNAL_H
#define HL_PYMEM_INTERNAL_H

#ifndef HL_BUILD_CORE
#error "pymem_internal.h is internal to heaplab; build with -DHL_BUILD_CORE"
#endif

#include "heaplab/pymem.h"

/* The ctx of a debug-hooked slot: CPython's debug_alloc_api_t, the API id
 * plus the allocator it decorates. */
typedef struct hl_debug_api_s {
    char api_id;
    hl_mem_allocator_ex_t alloc;   /* the decorated (previous) allocator */
} hl_debug_api_t;

/* Fill *out with the debug wrappers, ctx = api. */
void _hl_debug_hooks_ex(hl_debug_api_t *api, hl_mem_allocator_ex_t *out);
/* If ex is a debug-hooked slot, its ctx, else NULL. */
hl_debug_api_t *_hl_debug_hooks_api(const hl_mem_allocator_ex_t *ex);
/* The size a debug block was requested with. */
size_t _hl_debug_requested_size(const void *p);

/* Look through a slot (see hl_pymem_domain_view). */
size_t _hl_ex_usable_size(const hl_mem_allocator_ex_t *ex, const void *p);
void _hl_ex_stats(const hl_mem_allocator_ex_t *ex, hl_stats_t *out);
bool _hl_ex_check(const hl_mem_allocator_ex_t *ex, FILE *report);
int _hl_ex_print_stats(const hl_mem_allocator_ex_t *ex, FILE *out);
const hl_allocator_t *_hl_ex_allocator(const hl_mem_allocator_ex_t *ex);

/* write(2) all of s, never allocating; errors ignored. */
void _hl_write_stderr(const char *s, size_t n);

#endif /* HL_PYMEM_INTERNAL_H */
