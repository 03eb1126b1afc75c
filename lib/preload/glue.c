/* glue.c: what an allocator's sources need from lib/alloc/registry.c, for an
 * LD_PRELOAD build.
 *
 * registry.c itself cannot go into a preload library: its table links every
 * allocator, the peers included (cpython pulls in libpython).  So the few
 * helpers allocators call are defined here again, each as registry.c does, and
 * hl_glibc_create, which pymalloc references for its default raw allocator,
 * fails: in a preloaded process the C library's malloc is heaplab's own, so
 * the shim always passes a raw allocator (page_raw.h) instead.
 */
#include "hl_debug.h"
#include "hl_registry.h"

void hl_allocator_destroy(hl_allocator_t *a)
{
    if (a && a->ops) {
        a->ops->destroy(a->ctx);
        a->ops = NULL;
        a->ctx = NULL;
    }
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

int hl_glibc_create(const hl_alloc_options_t *opt, hl_allocator_t *out, char *err,
                    size_t errlen)
{
    HL_UNUSED(opt);
    HL_UNUSED(out);
    return _hl_err(err, errlen, "glibc: not available in an LD_PRELOAD build, where malloc "
                   "is heaplab's own (pass a raw allocator)");
}
