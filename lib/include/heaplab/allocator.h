/* heaplab/allocator.h: the one allocator interface, and the registry.
 *
 * Every allocator heaplab knows (its own pymalloc in both geometries, glibc,
 * CPython's own obmalloc, and the comparison allocators and peers of later
 * layers) is reached through this one vtable.  Tests, fuzz targets,
 * benchmarks and trace replay are written once against it and loop over the
 * registry, so each runs on every allocator.
 *
 *     hl_allocator_t a;
 *     if (hl_allocator_create("pymalloc", NULL, &a, err, sizeof err) != 0) ...
 *     void *p = hl_malloc(&a, 40);
 *     hl_free(&a, p);
 *     hl_allocator_destroy(&a);      // everything goes back to the system
 *
 * An instance owns all of its state: there is no hidden global state, so a
 * test or a fuzz input can make a fresh one.  Two peers wrap process-wide
 * allocators and say so in their description: `glibc` (there is one C heap
 * per process) and `cpython` (libpython has one obmalloc per process, so at
 * most one `cpython` instance may exist at a time).
 *
 * The call shape follows CPython's PyMemAllocatorEx (PEP 445): a context
 * pointer plus malloc, calloc, realloc and free, each taking the context.
 */
#ifndef HEAPLAB_ALLOCATOR_H
#define HEAPLAB_ALLOCATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "heaplab/heapmap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What an allocator reports about itself.  `valid` says which fields it can
 * know: a peer that cannot see its live bytes leaves HL_STAT_LIVE_BYTES clear
 * rather than report a made-up number. */
enum {
    HL_STAT_HELD       = 1u << 0, /* held_bytes, held_peak_bytes */
    HL_STAT_LIVE_BLOCKS = 1u << 1,
    HL_STAT_LIVE_BYTES = 1u << 2,
};

typedef struct hl_stats_s {
    unsigned valid;          /* HL_STAT_* bits */
    size_t held_bytes;       /* bytes held from the system now */
    size_t held_peak_bytes;  /* ... and at most, since creation */
    size_t live_blocks;      /* blocks allocated and not yet freed */
    size_t live_bytes;       /* usable bytes of those blocks */
} hl_stats_t;

/* The vtable.  Every function takes the instance context first.
 *
 * Contracts, as for the C library and PyMem_*:
 *   malloc(0) and realloc(p, 0) return a unique non-NULL block (or NULL on
 *     out-of-memory); realloc(p, 0) is not a free.
 *   calloc returns NULL when nelem * elsize overflows.
 *   realloc(NULL, n) is malloc(n); free(NULL) does nothing.
 *   usable_size(p) >= the size requested for p.
 *   check() walks the allocator's structures and returns true iff every
 *     invariant holds; on failure it names the broken one on `report`
 *     (which may be NULL).  O(heap): for tests, fuzzers, expensive asserts.
 *   print_stats() writes the allocator's detailed statistics; pymalloc and
 *     cpython use sys._debugmallocstats()'s exact format.  Returns 0 if the
 *     allocator has none to print.
 *   destroy() gives every byte back to the system, live blocks included.
 *
 * Optional views of the heap, for `heaplab map` (heaplab/heapmap.h); NULL
 * when the allocator cannot see its heap.  Both only read, and neither
 * allocates from the allocator it walks:
 *   walk(fn, user)    every span the allocator holds, one fn call each;
 *   arena_view(fn, user)  pymalloc's arena_objects, one fn call each, in index
 *                     order (pymalloc*, cpython).
 *   Each returns 0; -1 if the heap could not be walked (a corrupt
 *   structure: check() says which); HL_NO_VIEW if this instance has no
 *   such view after all (a view of a PyMem domain whose allocator has none).
 */
#define HL_NO_VIEW (-2)
typedef struct hl_allocator_ops_s {
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *ptr, size_t size);
    void (*free)(void *ctx, void *ptr);
    size_t (*usable_size)(void *ctx, const void *ptr);
    void (*stats)(void *ctx, hl_stats_t *out);
    bool (*check)(void *ctx, FILE *report);
    int (*print_stats)(void *ctx, FILE *out);
    void (*destroy)(void *ctx);
    int (*walk)(void *ctx, hl_span_fn fn, void *user);
    int (*arena_view)(void *ctx, hl_arena_fn fn, void *user);
} hl_allocator_ops_t;

typedef struct hl_allocator_s {
    const hl_allocator_ops_t *ops;
    void *ctx;
    const char *name;        /* registry name, for messages */
} hl_allocator_t;

static inline void *hl_malloc(const hl_allocator_t *a, size_t n)
{ return a->ops->malloc(a->ctx, n); }
static inline void *hl_calloc(const hl_allocator_t *a, size_t nelem, size_t elsize)
{ return a->ops->calloc(a->ctx, nelem, elsize); }
static inline void *hl_realloc(const hl_allocator_t *a, void *p, size_t n)
{ return a->ops->realloc(a->ctx, p, n); }
static inline void hl_free(const hl_allocator_t *a, void *p)
{ a->ops->free(a->ctx, p); }
static inline size_t hl_usable_size(const hl_allocator_t *a, const void *p)
{ return a->ops->usable_size(a->ctx, p); }
static inline void hl_stats(const hl_allocator_t *a, hl_stats_t *out)
{ a->ops->stats(a->ctx, out); }
static inline bool hl_check(const hl_allocator_t *a, FILE *report)
{ return a->ops->check(a->ctx, report); }
static inline int hl_print_stats(const hl_allocator_t *a, FILE *out)
{ return a->ops->print_stats(a->ctx, out); }
/* HL_NO_VIEW if the allocator has no such view. */
static inline int hl_walk(const hl_allocator_t *a, hl_span_fn fn, void *user)
{ return a->ops->walk ? a->ops->walk(a->ctx, fn, user) : HL_NO_VIEW; }
static inline int hl_arenas(const hl_allocator_t *a, hl_arena_fn fn, void *user)
{ return a->ops->arena_view ? a->ops->arena_view(a->ctx, fn, user) : HL_NO_VIEW; }

/* Where arenas come from (pymalloc* and cpython only; others ignore it). */
typedef enum hl_arena_kind_e {
    HL_ARENAS_MMAP = 0,   /* anonymous mmap, as CPython on POSIX */
    HL_ARENAS_FIXED,      /* deterministic addresses: reproducible runs */
} hl_arena_kind_t;

typedef struct hl_alloc_options_s {
    hl_arena_kind_t arenas;
    /* Where requests pymalloc does not serve (0 bytes, over 512) go: CPython
     * hands them to PyMem_RawMalloc.  NULL: a private `glibc` instance. */
    const hl_allocator_t *raw;
} hl_alloc_options_t;

/* Registry. */
typedef struct hl_registry_entry_s {
    const char *name;
    const char *description;  /* one line, for `heaplab list` */
    /* Returns 0 and fills *out, or -1 with a message in err. */
    int (*create)(const hl_alloc_options_t *opt, hl_allocator_t *out,
                  char *err, size_t errlen);
} hl_registry_entry_t;

size_t hl_registry_count(void);
const hl_registry_entry_t *hl_registry_at(size_t i);
const hl_registry_entry_t *hl_registry_find(const char *name);

/* opt may be NULL (defaults: mmap arenas, private glibc for raw). */
int hl_allocator_create(const char *name, const hl_alloc_options_t *opt,
                        hl_allocator_t *out, char *err, size_t errlen);
void hl_allocator_destroy(hl_allocator_t *a);

/* Parse "mmap" / "fixed"; returns 0 or -1. */
int hl_arena_kind_parse(const char *s, hl_arena_kind_t *out);

#ifdef __cplusplus
}
#endif
#endif /* HEAPLAB_ALLOCATOR_H */
