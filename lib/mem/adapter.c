/* adapter.c: the PEP 445 face of an hl_allocator_t, and looking back
 * through a PEP 445 slot.
 *
 * A domain slot holds only {ctx, malloc, calloc, realloc, free}: what
 * CPython's PyMemAllocatorEx can express.  heaplab's vtable also has
 * usable_size, stats, check and print_stats.  To answer those for a slot
 * (hl_pymem_domain_view) we recognise the two kinds of slot heaplab makes
 * by their function pointers, as CPython recognises its own allocators
 * (pymemallocator_eq):
 *
 *     slot.malloc == adapter_malloc   ctx is the hl_allocator_t: ask it
 *     slot.malloc == debug malloc     ctx is the debug api: the requested
 *                                     size is in the block header; the rest
 *                                     is the decorated slot's, recursively
 *     anything else                   foreign: nothing can be asked
 */
#include "hl_debug.h"
#include "pymem_internal.h"

static void *adapter_malloc(void *ctx, size_t n)
{ return hl_malloc(ctx, n); }
static void *adapter_calloc(void *ctx, size_t nelem, size_t elsize)
{ return hl_calloc(ctx, nelem, elsize); }
static void *adapter_realloc(void *ctx, void *p, size_t n)
{ return hl_realloc(ctx, p, n); }
static void adapter_free(void *ctx, void *p)
{ hl_free(ctx, p); }

void hl_mem_allocator_ex_from(const hl_allocator_t *a, hl_mem_allocator_ex_t *out)
{
    hl_assert(a != NULL && a->ops != NULL);
    out->ctx = (void *)a;
    out->malloc = adapter_malloc;
    out->calloc = adapter_calloc;
    out->realloc = adapter_realloc;
    out->free = adapter_free;
}

const hl_allocator_t *hl_mem_allocator_ex_target(const hl_mem_allocator_ex_t *ex)
{
    return ex->malloc == adapter_malloc ? ex->ctx : NULL;
}

size_t _hl_ex_usable_size(const hl_mem_allocator_ex_t *ex, const void *p)
{
    const hl_allocator_t *a = hl_mem_allocator_ex_target(ex);
    if (a)
        return hl_usable_size(a, p);
    if (_hl_debug_hooks_api(ex))
        return _hl_debug_requested_size(p);
    return 0;
}

void _hl_ex_stats(const hl_mem_allocator_ex_t *ex, hl_stats_t *out)
{
    const hl_allocator_t *a = hl_mem_allocator_ex_target(ex);
    hl_debug_api_t *api;
    if (a)
        hl_stats(a, out);
    else if ((api = _hl_debug_hooks_api(ex)) != NULL)
        _hl_ex_stats(&api->alloc, out);
    else
        *out = (hl_stats_t){0};
}

bool _hl_ex_check(const hl_mem_allocator_ex_t *ex, FILE *report)
{
    const hl_allocator_t *a = hl_mem_allocator_ex_target(ex);
    hl_debug_api_t *api;
    if (a)
        return hl_check(a, report);
    if ((api = _hl_debug_hooks_api(ex)) != NULL)
        return _hl_ex_check(&api->alloc, report);
    return true;
}

/* The hl_allocator_t behind a slot, looking through debug hooks; NULL for a
 * foreign PEP 445 allocator. */
const hl_allocator_t *_hl_ex_allocator(const hl_mem_allocator_ex_t *ex)
{
    const hl_allocator_t *a = hl_mem_allocator_ex_target(ex);
    hl_debug_api_t *api;
    if (a)
        return a;
    if ((api = _hl_debug_hooks_api(ex)) != NULL)
        return _hl_ex_allocator(&api->alloc);
    return NULL;
}

int _hl_ex_print_stats(const hl_mem_allocator_ex_t *ex, FILE *out)
{
    const hl_allocator_t *a = hl_mem_allocator_ex_target(ex);
    hl_debug_api_t *api;
    if (a)
        return hl_print_stats(a, out);
    if ((api = _hl_debug_hooks_api(ex)) != NULL)
        return _hl_ex_print_stats(&api->alloc, out);
    return 0;
}
