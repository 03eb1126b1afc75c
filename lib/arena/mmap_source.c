/* mmap_source.c: arenas from anonymous private mmap, as CPython's
 * _PyObject_ArenaMmap does on POSIX. */
#include "hl_debug.h"
#include "heaplab/arena_source.h"

#include <stdlib.h>
#include <sys/mman.h>

typedef struct mmap_source_s {
    size_t held, peak;
} mmap_source_t;

static void *mmap_alloc(void *ctx, size_t size)
{
    mmap_source_t *s = ctx;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    s->held += size;
    if (s->held > s->peak)
        s->peak = s->held;
    return p;
}

static void mmap_free(void *ctx, void *ptr, size_t size)
{
    mmap_source_t *s = ctx;
    hl_assert(s->held >= size);
    s->held -= size;
    munmap(ptr, size);
}

static size_t mmap_held(void *ctx, size_t *peak)
{
    mmap_source_t *s = ctx;
    if (peak)
        *peak = s->peak;
    return s->held;
}

static void mmap_destroy(void *ctx) { free(ctx); }

int hl_arena_source_mmap(hl_arena_source_t *out)
{
    mmap_source_t *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    *out = (hl_arena_source_t){s, mmap_alloc, mmap_free, mmap_held, mmap_destroy};
    return 0;
}
