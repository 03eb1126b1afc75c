/* cpython.c: CPython 3.11's own obmalloc, called through libpython3.11.
 *
 * The peer heaplab's pymalloc is checked against (lib/pymalloc/
 * fidelity_test.c) and measured against (bench/).  PyObject_Malloc and
 * friends, PyObject_SetArenaAllocator and _PyObject_DebugMallocStats all work
 * from plain C without Py_Initialize: the default allocators are set up
 * statically in _PyRuntime, and OBJ defaults to pymalloc.
 *
 * libpython has one obmalloc per process, so:
 *   - at most one `cpython` instance exists at a time;
 *   - the arena source is installed before CPython's first arena and stays
 *     installed (and alive) for the rest of the process, because obmalloc may
 *     still hold arenas from it after the instance is destroyed.  A later
 *     instance must ask for the same arena kind;
 *   - destroy() cannot take CPython's arenas back: a wholly free arena is
 *     released by obmalloc itself, except the one 3.9+ keeps.  Tests that need
 *     a fresh obmalloc run in a fork()ed child.
 *
 * held_bytes = arenas from the source + mallinfo2 (CPython's raw domain is
 * the C library's malloc).  live_blocks = _Py_GetAllocatedBlocks().  Live
 * bytes are not observable, and are not reported.
 *
 * arenas() draws CPython's own obmalloc as heaplab's pymalloc draws itself
 * (heaplab/heapmap.h), from what the process can see of it: the arenas
 * the source handed out (cpy_arena_alloc keeps their bases) and, in each,
 * the pool headers CPython writes at the start of every carved pool
 * (struct pool_header, the same 48 bytes as lib/pymalloc/obmalloc.h).  The
 * source's memory is zeroed, so a pool is carved iff its nextoffset is not
 * 0; a carved pool is EMPTY iff ref.count == 0, FULL iff ref.count ==
 * NUMBLOCKS(szidx).  The arena_object slot of an arena is the arenaindex of
 * its pools.  Slots ever used are 0 .. the most arenas ever held at once - 1
 * (new_arena() reuses freed slots first), so a slot below that with no arena
 * went back to the system.  No walk(): the spans are pymalloc's, whose walk
 * the same headers would repeat.
 */
#include "hl_debug.h"
#include "hl_registry.h"

#include <Python.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Exported by libpython3.11 but not declared in its public headers. */
PyAPI_FUNC(int) _PyObject_DebugMallocStats(FILE *out);
PyAPI_FUNC(Py_ssize_t) _Py_GetAllocatedBlocks(void);

/* CPython 3.11's 64-bit pymalloc geometry and pool header layout, for
 * usable_size: szidx is the sixth field of struct pool_header. */
#define CPY_POOL_SIZE   ((uintptr_t)16 << 10)
#define CPY_ARENA_SIZE  ((size_t)1 << 20)
#define CPY_SZIDX_OFFSET (4 * sizeof(void *) + sizeof(unsigned int))
#define CPY_INDEX2SIZE(i) (((size_t)(i) + 1) << 4)
/* The rest of struct pool_header, for arenas(). */
#define CPY_POOLS_IN_ARENA   (CPY_ARENA_SIZE / CPY_POOL_SIZE)
#define CPY_POOL_OVERHEAD    48
#define CPY_SMALL_CLASSES    32
#define CPY_ARENAINDEX_OFFSET (4 * sizeof(void *))
#define CPY_NEXTOFFSET_OFFSET (4 * sizeof(void *) + 2 * sizeof(unsigned int))
#define CPY_NUMBLOCKS(i) ((unsigned)((CPY_POOL_SIZE - CPY_POOL_OVERHEAD) / CPY_INDEX2SIZE(i)))
_Static_assert(CPY_POOLS_IN_ARENA == HL_MAP_POOLS_PER_ARENA, "64 pools per arena");

/* Process-wide by nature: libpython's obmalloc is. */
static struct {
    bool installed;           /* an arena source is in CPython for good */
    hl_arena_kind_t kind;
    hl_arena_source_t source;
    bool live;                /* an instance exists */
    size_t narena_bases;      /* live arenas, for usable_size */
    uintptr_t *arena_bases;
    size_t narenas_highwater; /* most arenas held at once */
    size_t held_peak;
} cpy;

static void *cpy_arena_alloc(void *ctx, size_t size)
{
    void *p = cpy.source.alloc(ctx, size);
    if (p != NULL) {
        uintptr_t *v = realloc(cpy.arena_bases, (cpy.narena_bases + 1) * sizeof *v);
        if (v == NULL) {
            cpy.source.free(ctx, p, size);
            return NULL;
        }
        cpy.arena_bases = v;
        cpy.arena_bases[cpy.narena_bases++] = (uintptr_t)p;
        if (cpy.narena_bases > cpy.narenas_highwater)
            cpy.narenas_highwater = cpy.narena_bases;
    }
    return p;
}

static void cpy_arena_free(void *ctx, void *p, size_t size)
{
    for (size_t i = 0; i < cpy.narena_bases; i++) {
        if (cpy.arena_bases[i] == (uintptr_t)p) {
            cpy.arena_bases[i] = cpy.arena_bases[--cpy.narena_bases];
            break;
        }
    }
    cpy.source.free(ctx, p, size);
}

static void *cpy_malloc(void *ctx, size_t n) { HL_UNUSED(ctx); return PyObject_Malloc(n); }
static void *cpy_calloc(void *ctx, size_t nelem, size_t elsize)
{
    HL_UNUSED(ctx);
    return PyObject_Calloc(nelem, elsize);
}
static void *cpy_realloc(void *ctx, void *p, size_t n)
{
    HL_UNUSED(ctx);
    return PyObject_Realloc(p, n);
}
static void cpy_free(void *ctx, void *p) { HL_UNUSED(ctx); PyObject_Free(p); }

static size_t cpy_usable_size(void *ctx, const void *p)
{
    HL_UNUSED(ctx);
    uintptr_t a = (uintptr_t)p;
    for (size_t i = 0; i < cpy.narena_bases; i++) {
        if (a - cpy.arena_bases[i] < CPY_ARENA_SIZE) {
            uintptr_t pool = a & ~(CPY_POOL_SIZE - 1);
            unsigned szidx = *(const unsigned *)(pool + CPY_SZIDX_OFFSET);
            return CPY_INDEX2SIZE(szidx);
        }
    }
    return malloc_usable_size((void *)p);
}

static void cpy_stats(void *ctx, hl_stats_t *out)
{
    HL_UNUSED(ctx);
    struct mallinfo2 mi = mallinfo2();
    size_t held = cpy.source.held(cpy.source.ctx, NULL) + mi.arena + mi.hblkhd;
    if (held > cpy.held_peak)
        cpy.held_peak = held;
    out->valid = HL_STAT_HELD | HL_STAT_LIVE_BLOCKS;
    out->held_bytes = held;
    out->held_peak_bytes = cpy.held_peak;
    out->live_blocks = (size_t)_Py_GetAllocatedBlocks();
    out->live_bytes = 0;
}

static bool cpy_check(void *ctx, FILE *report)
{
    HL_UNUSED(ctx); HL_UNUSED(report);
    /* A release libpython has no consistency checks to call. */
    return true;
}

static int cpy_print_stats(void *ctx, FILE *out)
{
    HL_UNUSED(ctx);
    return _PyObject_DebugMallocStats(out);
}

static void cpy_destroy(void *ctx)
{
    HL_UNUSED(ctx);
    cpy.live = false;
}

static unsigned cpy_header_field(uintptr_t pool, size_t offset)
{
    return *(const unsigned *)(pool + offset);
}

static uintptr_t cpy_first_pool(uintptr_t base)
{
    return (base + CPY_POOL_SIZE - 1) & ~(CPY_POOL_SIZE - 1);
}

/* The arena_object slot of the arena at base: the arenaindex of its first
 * carved pool; -1 while none is carved. */
static long cpy_arena_slot(uintptr_t base)
{
    uintptr_t first = cpy_first_pool(base);
    for (unsigned i = 0; first + (i + 1) * CPY_POOL_SIZE <= base + CPY_ARENA_SIZE; i++) {
        uintptr_t pool = first + i * CPY_POOL_SIZE;
        if (cpy_header_field(pool, CPY_NEXTOFFSET_OFFSET) != 0)
            return cpy_header_field(pool, CPY_ARENAINDEX_OFFSET);
    }
    return -1;
}

/* Fill v from the arena at base: 0, or -1 if a header is not one CPython
 * wrote. */
static int cpy_arena_view(uintptr_t base, hl_arena_view_t *v)
{
    memset(v, 0, sizeof *v);
    v->address = base;
    v->arena_size = CPY_ARENA_SIZE;
    v->pool_size = CPY_POOL_SIZE;
    v->first_pool = cpy_first_pool(base);
    v->ntotalpools = (unsigned)CPY_POOLS_IN_ARENA - (v->first_pool != base);
    for (unsigned i = 0; i < CPY_POOLS_IN_ARENA; i++) {
        hl_pool_view_t *pv = &v->pools[i];
        uintptr_t pool = v->first_pool + i * CPY_POOL_SIZE;
        if (i >= v->ntotalpools) {
            pv->state = HL_POOL_LOST;
            continue;
        }
        if (cpy_header_field(pool, CPY_NEXTOFFSET_OFFSET) == 0) {
            pv->state = HL_POOL_UNCARVED;
            v->nfreepools++;
            continue;
        }
        unsigned szidx = cpy_header_field(pool, CPY_SZIDX_OFFSET);
        if (szidx >= CPY_SMALL_CLASSES)
            return -1;
        pv->szidx = szidx;
        pv->block_size = (unsigned)CPY_INDEX2SIZE(szidx);
        pv->nblocks = CPY_NUMBLOCKS(szidx);
        pv->nused = cpy_header_field(pool, 0);
        if (pv->nused == 0) {
            pv->state = HL_POOL_EMPTY;
            v->nfreepools++;
        }
        else {
            pv->state = pv->nused == pv->nblocks ? HL_POOL_FULL : HL_POOL_USED;
        }
    }
    return 0;
}

static int cpy_arenas(void *ctx, hl_arena_fn fn, void *user)
{
    HL_UNUSED(ctx);
    /* Slots 0 .. nslots-1: those ever used, and any a live arena names. */
    size_t nslots = cpy.narenas_highwater;
    for (size_t i = 0; i < cpy.narena_bases; i++) {
        long slot = cpy_arena_slot(cpy.arena_bases[i]);
        if (slot >= 0 && (size_t)slot + 1 > nslots)
            nslots = (size_t)slot + 1;
    }
    hl_arena_view_t v;
    for (size_t s = 0; s < nslots; s++) {
        size_t i = 0;
        while (i < cpy.narena_bases && cpy_arena_slot(cpy.arena_bases[i]) != (long)s)
            i++;
        if (i < cpy.narena_bases) {
            if (cpy_arena_view(cpy.arena_bases[i], &v) != 0)
                return -1;
        }
        else {
            memset(&v, 0, sizeof v);
            v.returned = true;
            v.arena_size = CPY_ARENA_SIZE;
            v.pool_size = CPY_POOL_SIZE;
        }
        v.index = (unsigned)s;
        fn(user, &v);
    }
    return 0;
}

static const hl_allocator_ops_t cpy_ops = {
    .malloc = cpy_malloc,
    .calloc = cpy_calloc,
    .realloc = cpy_realloc,
    .free = cpy_free,
    .usable_size = cpy_usable_size,
    .stats = cpy_stats,
    .check = cpy_check,
    .print_stats = cpy_print_stats,
    .destroy = cpy_destroy,
    .arena_view = cpy_arenas,
};

int hl_cpython_create(const hl_alloc_options_t *opt, hl_allocator_t *out, char *err, size_t errlen)
{
    if (cpy.live)
        return _hl_err(err, errlen,
                       "cpython: libpython has one obmalloc per process; "
                       "an instance already exists");
    if (opt->raw != NULL)
        return _hl_err(err, errlen,
                       "cpython: CPython's raw domain is the C library's malloc; "
                       "it cannot take another raw allocator");
    if (!cpy.installed) {
        if (_hl_arena_source_from_options(opt, &cpy.source, err, errlen) != 0)
            return -1;
        PyObjectArenaAllocator a = {cpy.source.ctx, cpy_arena_alloc, cpy_arena_free};
        PyObject_SetArenaAllocator(&a);
        cpy.installed = true;
        cpy.kind = opt->arenas;
    }
    else if (cpy.kind != opt->arenas) {
        return _hl_err(err, errlen,
                       "cpython: this process already gave CPython %s arenas; "
                       "they cannot change while CPython may hold some",
                       cpy.kind == HL_ARENAS_FIXED ? "fixed" : "mmap");
    }
    cpy.live = true;
    out->ops = &cpy_ops;
    out->ctx = &cpy;
    out->name = "cpython";
    return 0;
}
