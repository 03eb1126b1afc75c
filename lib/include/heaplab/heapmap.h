/* heaplab/heapmap.h: what an allocator's heap looks like at one moment, for
 * the pictures of `heaplab map` (lib/heapmap).
 *
 * Two views, both optional members of the allocator vtable
 * (heaplab/allocator.h): an allocator that cannot see its own heap leaves
 * them NULL and `heaplab map` falls back to what the program itself knows,
 * the addresses and usable sizes of its live blocks.
 *
 * 1. Spans (`walk`, every allocator that can): the memory the allocator
 *    holds, cut into spans of one kind each,
 *
 *      | OVERHEAD | USED ...... | OVERHEAD | FREE ......... | UNUSED ....... |
 *        header     a block        tag        a free block     never carved
 *
 *    reported to a callback in any order, never overlapping.  Spans are
 *    what the allocator believes: a block its own cache (a tcache, a
 *    thread cache) holds is USED to it though the program has freed it; the
 *    caller tells the two apart with its own live set.  The spans of one
 *    walk cover at most held_bytes (hl_stats) and, for the allocators that
 *    walk everything they hold, exactly the bytes they hold in their heaps.
 *
 * 2. Arenas (`arena_view`, pymalloc* and cpython): CPython's own diagram of
 *    obmalloc, every arena_object as a row of pools:
 *
 *      arenas[0]  [ 3:used ][ 3:full ][ 7:empty ][ uncarved ] ... [ lost ]
 *      arenas[1]  (address 0: the arena went back to the system)
 *
 *    One callback per arena_object slot, in index order, slots whose
 *    arena was returned to the system included (address 0, returned true).
 *    A pool's state is exact:
 *      UNCARVED  iff the pool is at or past the arena's pool_address
 *      EMPTY     iff it is on the arena's freepools list (ref.count == 0)
 *      FULL      iff ref.count == NUMBLOCKS(szidx) (on no usedpools list)
 *      USED      otherwise (on usedpools[szidx + szidx])
 *      LOST      the pool-sized tail an arena that is not pool-aligned
 *                loses to alignment (ntotalpools == MAX_POOLS_IN_ARENA - 1)
 *    and  nfreepools == #EMPTY + #UNCARVED  for every arena.
 */
#ifndef HEAPLAB_HEAPMAP_H
#define HEAPLAB_HEAPMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hl_span_kind_e {
    HL_SPAN_USED = 0,   /* allocated, as the allocator sees it */
    HL_SPAN_FREE,       /* free and reusable by this allocator */
    HL_SPAN_OVERHEAD,   /* the allocator's own bytes: headers, boundary tags,
                           pool headers, bitmaps, alignment and rounding waste */
    HL_SPAN_UNUSED,     /* held from the system, never carved yet: a
                           wilderness, a top chunk, virgin pools */
    HL_SPAN_KINDS
} hl_span_kind_t;

typedef void (*hl_span_fn)(void *user, uintptr_t addr, size_t size, hl_span_kind_t kind);

/* Both geometries of pymalloc hold 64 pools per arena (obmalloc.h asserts
 * MAX_POOLS_IN_ARENA == 64). */
#define HL_MAP_POOLS_PER_ARENA 64

typedef enum hl_pool_state_e {
    HL_POOL_UNCARVED = 0,
    HL_POOL_EMPTY,
    HL_POOL_USED,
    HL_POOL_FULL,
    HL_POOL_LOST,
} hl_pool_state_t;

typedef struct hl_pool_view_s {
    hl_pool_state_t state;
    unsigned szidx;        /* size class (USED, FULL; EMPTY keeps its last) */
    unsigned block_size;   /* INDEX2SIZE(szidx); 0 if UNCARVED or LOST */
    unsigned nused;        /* ref.count */
    unsigned nblocks;      /* NUMBLOCKS(szidx); 0 if UNCARVED or LOST */
} hl_pool_view_t;

typedef struct hl_arena_view_s {
    unsigned index;        /* arena_object slot: CPython's arenas[index] */
    uintptr_t address;     /* 0 iff the slot holds no arena */
    bool returned;         /* address == 0 and the slot held an arena that went
                              back to the system (index < narenas_highwater) */
    size_t arena_size;     /* ARENA_SIZE */
    size_t pool_size;      /* POOL_SIZE */
    uintptr_t first_pool;  /* the first pool-aligned address in the arena */
    unsigned nfreepools;   /* EMPTY + UNCARVED */
    unsigned ntotalpools;
    hl_pool_view_t pools[HL_MAP_POOLS_PER_ARENA];  /* pool i at first_pool + i * pool_size */
} hl_arena_view_t;

typedef void (*hl_arena_fn)(void *user, const hl_arena_view_t *arena);

#ifdef __cplusplus
}
#endif
#endif /* HEAPLAB_HEAPMAP_H */
