/* heaplab/arena_source.h: where pymalloc's arenas come from.
 *
 * The same shape as CPython's PyObjectArenaAllocator, so one source can be
 * installed both in heaplab's pymalloc and, through
 * PyObject_SetArenaAllocator, in CPython's own obmalloc:
 *
 *     alloc(ctx, size)      -> size bytes of zeroed, page-aligned memory, or NULL
 *     free(ctx, ptr, size)  -> give back exactly what alloc returned
 *
 * Two sources:
 *   mmap   anonymous private mmap, as CPython does on POSIX.  Addresses are
 *          whatever the kernel picks.
 *   fixed  deterministic: arena k of a source is always at the same offset
 *          from a window whose base is aligned to 2**34, so two runs (or two
 *          allocators driven side by side) see the same address arithmetic:
 *          the same "bytes lost to arena alignment" and the same radix-tree
 *          node counts.  Freed slots are reused lowest first.
 */
#ifndef HEAPLAB_ARENA_SOURCE_H
#define HEAPLAB_ARENA_SOURCE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hl_arena_source_s {
    void *ctx;
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *ptr, size_t size);
    /* Bytes currently and at most handed out; kept by every source. */
    size_t (*held)(void *ctx, size_t *peak);
    void (*destroy)(void *ctx);
} hl_arena_source_t;

/* Both return 0, or -1 if the source could not be set up. */
int hl_arena_source_mmap(hl_arena_source_t *out);

/* `misalign` is each arena's offset from a 2 MiB boundary: 4096 (the default
 * used by --arenas fixed) mimics a page-aligned mmap; 0 gives pool-aligned
 * arenas.  Must be a multiple of 4096 and below 1 MiB. */
#define HL_FIXED_ARENA_MISALIGN 4096
int hl_arena_source_fixed(size_t misalign, hl_arena_source_t *out);

static inline void hl_arena_source_destroy(hl_arena_source_t *s)
{ if (s->destroy) s->destroy(s->ctx); }

#ifdef __cplusplus
}
#endif
#endif /* HEAPLAB_ARENA_SOURCE_H */
