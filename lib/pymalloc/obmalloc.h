/* obmalloc.h: pymalloc's structures, tunables and state, shared by the files
 * of one geometry variant (variant_radix.c, variant_classic.c).
 *
 * heaplab's pymalloc re-implements the behaviour of CPython's
 * Objects/obmalloc.c.  The names are CPython's own (usedpools, arenas,
 * nfp2lasta, POOL_ADDR, ...) so the code reads side by side with upstream;
 * the code is heaplab's.
 *
 * ==========================================================================
 * Where pymalloc sits (CPython's pyramid; docs/ARCHITECTURE.md has the rest)
 *
 *     Object-specific allocators (free lists of int, float, tuple, ...)   +3
 *   _______________________________________________________________________
 *   [ int ] [ dict ] [ list ] ... [ string ]     Python core types         +2
 *   _______________________________________________________________________
 *   Python's object allocator  (PyObject_Malloc, PyMem_Malloc):            +1
 *   THIS FILE'S SUBJECT -- pymalloc: arenas, pools, blocks
 *   _______________________________________________________________________
 *   Python's raw memory allocator (PyMem_RawMalloc)                         0
 *   _______________________________________________________________________
 *   the C library's malloc, and mmap for arenas                            -1
 *   _______________________________________________________________________
 *   virtual memory manager (kernel)                                        -2
 *
 * ==========================================================================
 * Allocation strategy (after Vladimir Marangozov's design notes)
 *
 * Requests of 1..SMALL_REQUEST_THRESHOLD bytes are rounded up to a multiple of
 * ALIGNMENT and served from a pool dedicated to that size class.  Requests of
 * 0 bytes or over the threshold go to the raw allocator.
 *
 *   request (bytes)    block size   size class idx       (3.10+ geometry)
 *   ----------------------------------------------------------------
 *        1-16              16             0
 *       17-32              32             1
 *        ...              ...           ...
 *      497-512            512            31
 *
 *   The classic geometry uses 8-byte steps: 1-8 -> 8 (idx 0), ...,
 *   505-512 -> 512 (idx 63).   idx = (n-1) >> ALIGNMENT_SHIFT,
 *   size = (idx+1) << ALIGNMENT_SHIFT.
 *
 * An ARENA is ARENA_SIZE bytes from the arena source, carved into POOL_SIZE
 * pools (one fewer if the arena is not pool-aligned).  A POOL holds blocks of
 * one size class behind a 48-byte pool_header:
 *
 *   pool                     nextoffset          maxnextoffset
 *   |header| blk | blk | ... | virgin blk | ... | last blk |slack|
 *   ^POOL_ADDR(p)            first block never handed out
 *
 * Pool states (a pool is in exactly one):
 *   used   0 < count and a block can still be handed out (freeblock != NULL):
 *          linked in the circular, doubly linked usedpools[2*szidx] list.
 *   full   every block is handed out (freeblock == NULL): in no list.
 *   empty  count == 0: singly linked on its arena's freepools list.
 * Transitions: used->full on the allocation of the last block (unlink);
 * full->used on a free (front-link: LRU reuse); used->empty when the last
 * block comes back (unlink, push on freepools); empty->used when
 * allocate_from_new_pool takes it.  An uncarved pool is in no state yet.
 *
 * Pool invariants (pool_is_valid):
 *   carved(p)  = (nextoffset - POOL_OVERHEAD) / size   blocks ever handed out
 *   count + length(freeblock list) == carved(p)
 *   nextoffset <= maxnextoffset + size,  maxnextoffset == POOL_SIZE - size
 *   every block has been handed out once  iff  nextoffset > maxnextoffset
 *
 * Arena invariants (arenas_are_valid):
 *   arenas[i] is unused (on unused_arena_objects) iff arenas[i].address == 0.
 *   an allocated arena is on usable_arenas iff nfreepools > 0
 *     (except: the 3.9+ rule keeps a wholly free arena if it is the last
 *     one in usable_arenas, bpo-37257).
 *   usable_arenas is sorted by nfreepools, ascending, so allocations go to
 *     the fullest arena and nearly empty ones can drain and be released.
 *   nfp2lasta[n] == the rightmost arena in usable_arenas with nfreepools == n,
 *     or NULL if there is none (bpo-37029: O(1) re-sorting on free).
 *   nfreepools == length(freepools) + uncarved pools
 *              == (ntotalpools - carved pools) + carved empty pools.
 *
 * ==========================================================================
 * The two geometries are compiled as two variants (variant_radix.c,
 * variant_classic.c) that each include the core files with their own
 * constants, so each variant's fast path is specialised at compile time: the
 * choice of geometry costs nothing per call.
 */
#ifndef HL_OBMALLOC_H
#define HL_OBMALLOC_H

#ifndef HL_PM_IN_VARIANT
#error "obmalloc.h is included by a pymalloc variant file (variant_*.c) only"
#endif

#include "hl_debug.h"
#include "hl_registry.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#define uint unsigned int

/* ==========================================================================
 * Tunable settings.  Each is stated once, for each geometry, with the why.
 */
#if HL_PM_RADIX
/* CPython 3.10+ on 64-bit (bpo-37448, N. Schemenauer).
 * ALIGNMENT 16: 64-bit builds align to 16 since 3.8 to follow the x86-64
 *   ABI (bpo-27987, bpo-36618).
 * POOL_BITS 14 / ARENA_BITS 20: 16 KiB pools in 1 MiB arenas.  Pools larger
 *   than a page are possible only because address_in_range uses the radix
 *   tree rather than reading a pool header that might not be mapped. */
#define ALIGNMENT_SHIFT 4
#define POOL_BITS       14
#define ARENA_BITS      20
#define WITH_PYMALLOC_RADIX_TREE 1
#define HL_PM_NAME "pymalloc"
#else
/* The classic design, as CPython 3.7 ran on 64-bit.
 * ALIGNMENT 8: 64 size classes of 8-byte steps.
 * POOL_SIZE = SYSTEM_PAGE_SIZE (4 KiB): address_in_range reads the pool
 *   header of any pointer it is given, which is safe only if the page that
 *   holds the pointer also holds POOL_ADDR(p).
 * ARENA_SIZE 256 KiB: 64 pools per arena. */
#define ALIGNMENT_SHIFT 3
#define POOL_BITS       12
#define ARENA_BITS      18
#define WITH_PYMALLOC_RADIX_TREE 0
#define HL_PM_NAME "pymalloc-classic"
#endif

#define ALIGNMENT               (1u << ALIGNMENT_SHIFT)
/* Requests above this go to the raw allocator.  512 since 3.6 (bpo-26249). */
#define SMALL_REQUEST_THRESHOLD 512
#define NB_SMALL_SIZE_CLASSES   (SMALL_REQUEST_THRESHOLD / ALIGNMENT)
#define POOL_SIZE               ((size_t)1 << POOL_BITS)
#define POOL_SIZE_MASK          (POOL_SIZE - 1)
#define ARENA_SIZE              ((size_t)1 << ARENA_BITS)
#define ARENA_SIZE_MASK         (ARENA_SIZE - 1)
#define MAX_POOLS_IN_ARENA      (ARENA_SIZE / POOL_SIZE)
/* arenas[] starts with this many arena objects and doubles. */
#define INITIAL_ARENA_OBJECTS   16
/* szidx of a freshly carved pool: no size class yet. */
#define DUMMY_SIZE_IDX          0xffff

#define INDEX2SIZE(I) (((uint)(I) + 1) << ALIGNMENT_SHIFT)

/* Invariants of the tunables (CPython enforces these with #error). */
_Static_assert(ALIGNMENT == 8 || ALIGNMENT == 16, "ALIGNMENT must be 8 or 16");
_Static_assert(SMALL_REQUEST_THRESHOLD % ALIGNMENT == 0,
               "SMALL_REQUEST_THRESHOLD must be a multiple of ALIGNMENT");
_Static_assert(SMALL_REQUEST_THRESHOLD <= 512, "SMALL_REQUEST_THRESHOLD is at most 512");
_Static_assert(ARENA_SIZE % POOL_SIZE == 0, "arena size not an exact multiple of pool size");
_Static_assert(MAX_POOLS_IN_ARENA == 64, "both geometries hold 64 pools per arena");
_Static_assert(ARENA_BITS < 32, "radix-tree tails must fit a non-negative int32_t");

/* ==========================================================================
 * Structures.
 */
typedef uint8_t pymem_block;

/* Pool for small blocks.  48 bytes on 64-bit, with no padding before
 * prevpool: the usedpools trick below depends on that. */
struct pool_header {
    union { pymem_block *_padding;
            uint count; } ref;          /* number of allocated blocks    */
    pymem_block *freeblock;             /* pool's free list head         */
    struct pool_header *nextpool;       /* next pool of this size class  */
    struct pool_header *prevpool;       /* previous pool       ""        */
    uint arenaindex;                    /* index into arenas of base adr */
    uint szidx;                         /* block size class index        */
    uint nextoffset;                    /* bytes to virgin block         */
    uint maxnextoffset;                 /* largest valid nextoffset      */
};
typedef struct pool_header *poolp;

/* Round pool_header's size up to ALIGNMENT: the first block starts here. */
#define POOL_OVERHEAD (((sizeof(struct pool_header) + ALIGNMENT - 1) / ALIGNMENT) * ALIGNMENT)
_Static_assert(sizeof(struct pool_header) == 48, "pool_header is 48 bytes on 64-bit");
_Static_assert(POOL_OVERHEAD == 48, "POOL_OVERHEAD is 48 in both geometries");
_Static_assert(offsetof(struct pool_header, prevpool) == 3 * sizeof(void *),
               "the usedpools trick needs nextpool/prevpool at words 2 and 3");

/* Blocks a pool of size class I holds. */
#define NUMBLOCKS(I) ((uint)(POOL_SIZE - POOL_OVERHEAD) / INDEX2SIZE(I))

/* Round a block pointer down to its pool. */
#define POOL_ADDR(P) ((poolp)((uintptr_t)(P) & ~(uintptr_t)POOL_SIZE_MASK))

/* Record keeping for arenas. */
struct arena_object {
    /* The address of the arena, as returned by the arena source.  0 iff this
     * arena_object is not associated with an allocated arena. */
    uintptr_t address;
    /* Pool-aligned pointer to the next pool to be carved off. */
    pymem_block *pool_address;
    /* Number of available pools (empty plus never carved), and the total. */
    uint nfreepools;
    uint ntotalpools;
    /* Singly linked list of available (empty) pools. */
    struct pool_header *freepools;
    /* Whole arena_objects are linked through these: singly through nextarena
     * on unused_arena_objects, doubly on usable_arenas.  Meaningless while
     * the arena is full (on neither list). */
    struct arena_object *nextarena;
    struct arena_object *prevarena;
};

/* ==========================================================================
 * The radix tree (3.10+ geometry): is an address inside one of our arenas?
 *
 * A 64-bit address splits into 15 top, 15 mid and 14 bottom bits of key and
 * ARENA_BITS (20) of offset in an "ideal", arena-aligned slot (IGNORE_BITS is
 * 0 since bpo-45526).  The root is part of the state; mid and bottom nodes
 * come from the raw allocator, zeroed, and are kept until the instance dies.
 *
 * A bottom-node leaf covers one ideal slot:
 *   tail_hi  == -1 if an arena starts exactly at the slot (aligned arena);
 *               else base & ARENA_SIZE_MASK of the arena starting inside it.
 *   tail_lo  == base & ARENA_SIZE_MASK of an unaligned arena that started in
 *               the previous slot and ends inside this one.
 *   p is in an arena  iff  tail < lo || (tail >= hi && hi != 0),
 *   where tail = p & ARENA_SIZE_MASK.
 */
#if WITH_PYMALLOC_RADIX_TREE
#define POINTER_BITS   64
#define IGNORE_BITS    0
#define ADDRESS_BITS   (POINTER_BITS - IGNORE_BITS)
#define INTERIOR_BITS  ((ADDRESS_BITS - ARENA_BITS + 2) / 3)
#define MAP_TOP_BITS   INTERIOR_BITS
#define MAP_TOP_LENGTH ((size_t)1 << MAP_TOP_BITS)
#define MAP_TOP_MASK   (MAP_TOP_LENGTH - 1)
#define MAP_MID_BITS   INTERIOR_BITS
#define MAP_MID_LENGTH ((size_t)1 << MAP_MID_BITS)
#define MAP_MID_MASK   (MAP_MID_LENGTH - 1)
#define MAP_BOT_BITS   (ADDRESS_BITS - ARENA_BITS - 2 * INTERIOR_BITS)
#define MAP_BOT_LENGTH ((size_t)1 << MAP_BOT_BITS)
#define MAP_BOT_MASK   (MAP_BOT_LENGTH - 1)
#define MAP_BOT_SHIFT  ARENA_BITS
#define MAP_MID_SHIFT  (MAP_BOT_BITS + MAP_BOT_SHIFT)
#define MAP_TOP_SHIFT  (MAP_MID_BITS + MAP_MID_SHIFT)
#define AS_UINT(p)     ((uintptr_t)(p))
#define MAP_BOT_INDEX(p) ((AS_UINT(p) >> MAP_BOT_SHIFT) & MAP_BOT_MASK)
#define MAP_MID_INDEX(p) ((AS_UINT(p) >> MAP_MID_SHIFT) & MAP_MID_MASK)
#define MAP_TOP_INDEX(p) ((AS_UINT(p) >> MAP_TOP_SHIFT) & MAP_TOP_MASK)

_Static_assert(MAP_TOP_BITS == 15 && MAP_MID_BITS == 15 && MAP_BOT_BITS == 14,
               "64-bit radix tree: 15/15/14 bits of key");

typedef struct arena_coverage_t {
    int32_t tail_hi;
    int32_t tail_lo;
} arena_coverage_t;

/* CPython calls this array `arenas`; here that name is the arenas[] macro. */
typedef struct arena_map_bot {
    arena_coverage_t slots[MAP_BOT_LENGTH];
} arena_map_bot_t;

typedef struct arena_map_mid {
    struct arena_map_bot *ptrs[MAP_MID_LENGTH];
} arena_map_mid_t;

typedef struct arena_map_top {
    struct arena_map_mid *ptrs[MAP_TOP_LENGTH];
} arena_map_top_t;
#endif

/* Event counters (HL_STATS); each update compiles to nothing when off. */
#define PYMALLOC_STAT_FIELDS(X) \
    X(malloc_calls)             \
    X(calloc_calls)             \
    X(realloc_calls)            \
    X(realloc_in_place)         \
    X(free_calls)               \
    X(raw_mallocs)              \
    X(pool_inits)

typedef struct pymalloc_counters_s {
#define X(f) size_t f;
    PYMALLOC_STAT_FIELDS(X)
#undef X
} pymalloc_counters_t;

/* ==========================================================================
 * The state of one pymalloc instance: what CPython keeps in file statics
 * (3.11) or in struct _obmalloc_state (3.12+).  Allocated with mmap, so the
 * 256 KiB radix root costs no memory until touched, as it does in BSS.
 */
#define USEDPOOLS_LENGTH (2 * ((NB_SMALL_SIZE_CLASSES + 7) / 8) * 8)

typedef struct obmalloc_state {
    /* --- the hot part --- */
    /* usedpools[2i] and usedpools[2i+1] are the nextpool and prevpool fields
     * of a phantom pool_header whose address is PTA(i) = &usedpools[2i] - 2
     * words (it overlaps the two words before it: `_phantom` below, never
     * read).  The list of used pools of class i is empty iff
     * usedpools[2i] == PTA(i), so the fast path is one load and a compare. */
    pymem_block *_phantom[2];
    poolp usedpools[USEDPOOLS_LENGTH];

    /* Array of arena objects, and how many there are. */
    struct arena_object *arenas;
    uint maxarenas;
    /* arena_objects not associated with an allocated arena (singly linked). */
    struct arena_object *unused_arena_objects;
    /* arena_objects with available pools, sorted by nfreepools ascending. */
    struct arena_object *usable_arenas;
    /* nfp2lasta[nfp] is the last arena in usable_arenas with nfp free pools. */
    struct arena_object *nfp2lasta[MAX_POOLS_IN_ARENA + 1];

    size_t narenas_currently_allocated;
    size_t ntimes_arena_allocated;
    size_t narenas_highwater;
    /* Blocks handed to the raw allocator and not yet freed. */
    ssize_t raw_allocated_blocks;

    /* Where arenas come from (PyObject_SetArenaAllocator) and where other
     * requests go (PyMem_RawMalloc). */
    hl_arena_source_t arena_source;
    bool owns_arena_source;
    hl_allocator_t raw;
    bool owns_raw;

    size_t held_peak;
    pymalloc_counters_t counters;
#if HL_STATS
    size_t live_blocks_counter;  /* pymalloc blocks; raw ones in raw_allocated_blocks */
    size_t live_bytes_counter;
#endif

#if WITH_PYMALLOC_RADIX_TREE
    int arena_map_mid_count;
    int arena_map_bot_count;
    /* Not CPython's: the lowest and highest (top, mid) key of a bottom node,
     * i1 << MAP_MID_BITS | i2, so that arena_map_free_nodes visits only the
     * slots between (arenas are mapped near one another). */
    size_t arena_map_bot_key_lo, arena_map_bot_key_hi;
    arena_map_top_t arena_map_root;
#endif
} OMState;

/* Write the code with CPython's names: `state` is in scope. */
#define usedpools                   (state->usedpools)
#define arenas                      (state->arenas)
#define maxarenas                   (state->maxarenas)
#define unused_arena_objects        (state->unused_arena_objects)
#define usable_arenas               (state->usable_arenas)
#define nfp2lasta                   (state->nfp2lasta)
#define narenas_currently_allocated (state->narenas_currently_allocated)
#define ntimes_arena_allocated      (state->ntimes_arena_allocated)
#define narenas_highwater           (state->narenas_highwater)
#define raw_allocated_blocks        (state->raw_allocated_blocks)
#if WITH_PYMALLOC_RADIX_TREE
#define arena_map_root              (state->arena_map_root)
#define arena_map_mid_count         (state->arena_map_mid_count)
#define arena_map_bot_count         (state->arena_map_bot_count)
#endif

/* The phantom list head of size class x. */
#define PTA(x) ((poolp)((uint8_t *)&(usedpools[2 * (x)]) - 2 * sizeof(pymem_block *)))

/* The raw domain: CPython's PyMem_RawMalloc and friends. */
#define PyMem_RawMalloc(n)       hl_malloc(&state->raw, (n))
#define PyMem_RawCalloc(n, s)    hl_calloc(&state->raw, (n), (s))
#define PyMem_RawRealloc(p, n)   hl_realloc(&state->raw, (p), (n))
#define PyMem_RawFree(p)         hl_free(&state->raw, (p))

/* ==========================================================================
 * Free-block links, through the first word of each free block.  Under ASan a
 * free block is poisoned whole, so the links are read and written only here.
 */
static inline pymem_block *block_next(pymem_block *bp)
{
    pymem_block *next;
    hl_unpoison(bp, sizeof(pymem_block *));
    next = *(pymem_block **)bp;
    hl_poison(bp, sizeof(pymem_block *));
    return next;
}

static inline void block_set_next(pymem_block *bp, pymem_block *next, size_t size)
{
    hl_unpoison(bp, sizeof(pymem_block *));
    *(pymem_block **)bp = next;
    hl_poison(bp, size);
    HL_UNUSED(size);
}

/* ==========================================================================
 * Functions of one variant, one file each (all static: each variant is one
 * translation unit, see variant_radix.c).
 */
/* arena.c */
static struct arena_object *new_arena(OMState *state);
static void insert_to_freepool(OMState *state, poolp pool);
/* address_in_range.c */
static bool address_in_range(OMState *state, void *p, poolp pool);
#if WITH_PYMALLOC_RADIX_TREE
static int arena_map_mark_used(OMState *state, uintptr_t arena_base, int is_used);
static bool arena_map_is_used(OMState *state, pymem_block *p);
static void arena_map_free_nodes(OMState *state);
#endif
/* pool.c */
static void *pymalloc_alloc(OMState *state, size_t nbytes);
static bool pymalloc_free(OMState *state, void *p);
/* debugstats.c */
static int pymalloc_print_stats(OMState *state, FILE *out);
static size_t pymalloc_allocated_blocks(OMState *state);
/* validate.c */
static bool pymalloc_heap_is_valid(OMState *state, FILE *report);

#endif /* HL_OBMALLOC_H */
