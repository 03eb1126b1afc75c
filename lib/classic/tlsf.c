/* tlsf.c: Two-Level Segregated Fit (Masmano, Ripoll, Crespo, Real; ECRTS
 * 2004), behind the heaplab allocator interface.
 *
 * ==========================================================================
 * Policy
 *
 * A segregated fit with size-class lists indexed at two levels, so that
 * finding a free block big enough takes a constant number of bit
 * operations: no list is ever searched.
 *
 *   malloc  Round the request up to a block size (header included, a
 *           multiple of 16).  Map it to a list (fl, sl) by the GOOD-FIT
 *           search mapping, which first rounds the size up to the next list
 *           boundary, so that every block on that list or any later one is
 *           big enough.  Find-first-set on the second-level bitmap of fl
 *           (masked from sl up), else on the first-level bitmap (masked
 *           above fl) and then that row's second-level bitmap, names a
 *           non-empty list; its head is taken and SPLIT: a remainder of at
 *           least TL_MIN_BLOCK bytes goes back, free, to the list its size
 *           maps to.  No list found: add a pool (one free block) and retry.
 *   free    Mark the block free and COALESCE at once with its physical
 *           neighbours if they are free (boundary tags give both in O(1)),
 *           then put the result on the list its size maps to.
 *   realloc Shrink in place (the tail goes free and coalesces onward); grow
 *           in place when the next physical block is free and big enough
 *           (the surplus is split off again); else move.
 *   huge    Requests over TL_MAX_POOL_REQUEST are mapped directly from the
 *           system and unmapped on free; realloc of such a block uses mremap.
 *
 * ==========================================================================
 * The mapping function (block size s, a multiple of 16, s >= TL_MIN_BLOCK)
 *
 *   s <  TL_SMALL_BLOCK (256):  fl = 0,  sl = s / 16    (exact, 16-byte steps)
 *   s >= TL_SMALL_BLOCK:        f  = fls(s) = floor(log2(s))
 *                               fl = f - TL_FL_SHIFT + 1
 *                               sl = (s >> (f - TL_SL_INDEX_BITS)) - TL_SL_COUNT
 *   search (good fit):  s' = s + 2**(f - TL_SL_INDEX_BITS) - 1  (s >= 256),
 *                       then the mapping of s'.
 *
 *   fl  sizes          step   lists (sl = 0..15)
 *    0  0..255          16    [0,16) [16,32) [32,48) ... [240,256)
 *    1  256..511        16    [256,272) ... [496,512)
 *    2  512..1023       32    [512,544) ... [992,1024)
 *    3  1024..2047      64    ...
 *   ..
 *   12  2**19..2**20-1  2**15 (the whole-pool block is here)
 *
 *   fl_bitmap:   bit fl set iff sl_bitmap[fl] != 0
 *   sl_bitmap[fl]: bit sl set iff lists[fl][sl] != NULL
 *
 *   fl_bitmap  ...0 1 0 0 1 1
 *                   |     | `-> sl_bitmap[0] 0000 0000 0000 0100 -> lists[0][2]
 *                   |     `---> sl_bitmap[1] ...
 *                   `---------> sl_bitmap[4] -> lists[4][sl] -> blk <-> blk
 *
 * ==========================================================================
 * A block (the boundary tags: a size in every header, and a pointer to the
 * physical predecessor, always valid, instead of a footer)
 *
 *     +------------------+------------------+-------------+-------------+
 *     | size | flags     | prev_phys        | next_free   | prev_free   |
 *     +------------------+------------------+-------------+-------------+
 *     |<------- header (TL_HEADER_SIZE) --->|<- payload, 16-aligned ---->
 *                                            (links in free blocks only)
 *
 *   size_flags  bits 4..47  block size, header included (a multiple of 16)
 *               bit 0       TL_FREE
 *               bit 1       TL_DIRECT: a directly mapped block
 *               bit 2       TL_MARK: scratch bit of tl_heap_is_valid only
 *               bits 48..63 TL_MAGIC: a live block header (headers absorbed
 *                           by coalescing are zeroed)
 *   Every access goes through the tl_* accessors below.
 *
 * A pool (TL_POOL_SIZE bytes, aligned to its size, so pool_of(p) is a mask):
 *
 *   | tl_pool_t | block | block | ... | block | epilogue |
 *     32 bytes    prev_phys of the first is NULL    16 bytes: size 0, in use
 *
 *   The first block's NULL prev_phys and the epilogue, which is never free,
 *   stop coalescing at the pool's edges.
 *
 * A direct block: [tl_direct_t: next, prev, mapsize, owner][header][payload].
 *
 * ==========================================================================
 * Invariants (tl_heap_is_valid checks all of them, O(heap))
 *
 *   - bit fl of fl_bitmap  iff  sl_bitmap[fl] != 0;
 *     bit sl of sl_bitmap[fl]  iff  lists[fl][sl] != NULL.
 *   - b is on lists[fl][sl]  iff  b is free and mapping(size(b)) == (fl, sl).
 *   - The blocks of each pool tile it: from the first block, b + size(b) is
 *     the next block, and the walk ends exactly at the epilogue;
 *     next(b)->prev_phys == b; first->prev_phys == NULL.
 *   - No two physically adjacent blocks are both free (immediate coalescing).
 *   - nempty_pools == pools that are one free block <= TL_KEEP_FREE_POOLS.
 *   - live_blocks, live_bytes, held and mappings equal what the walk finds.
 *
 * ==========================================================================
 * The walk (`heaplab map`, heaplab/heapmap.h)
 *
 * tl_walk reports every mapping the heap holds: the state (OVERHEAD); every
 * pool, in address order within it, as its tl_pool_t (OVERHEAD), its
 * blocks, each its 16-byte header (OVERHEAD: size and prev_phys, the
 * boundary tags) and its payload, USED if in use, else FREE (the list links
 * included), and its epilogue (OVERHEAD); every direct block as its node
 * and header (OVERHEAD) and its payload (USED).  A USED span is exactly
 * [p, p + usable_size(p)), one per live block.  Nothing is UNUSED (a new
 * pool is one free block).  So the spans sum to held exactly.  It reads
 * headers only (never a list, never a mark) and returns -1 at the first
 * one that would not let it tile a pool.
 *
 * ==========================================================================
 * Overhead, alignment, complexity, worst cases
 *
 *   Per block: the 16-byte header (a used block carries no footer); sizes
 *   round to 16; a remainder under TL_MIN_BLOCK (32) is not split off.  So
 *   a block wastes under 16 + 15 + 31 bytes whatever its size: the
 *   good-fit rounding does not waste space inside the block, because the
 *   block found is split back to the size needed.
 *   Alignment: 16 bytes for every block.
 *   malloc and free are O(1): one fls for the mapping, at most two ffs to
 *     find a list, one split or at most two merges, and list operations at
 *     list heads.  No step depends on the number of blocks or lists; the
 *     only unbounded step is the system call that maps a new pool.
 *   Worst case of good fit: the search skips the list the request maps to,
 *     so a free block in that list that would fit is not used: a request
 *     whose block is 624 bytes skips a free block of 624 in [608,640) and
 *     takes a bigger block, or maps a new pool.  The skipped blocks are at
 *     most one list step (under 1/TL_SL_COUNT = 6.25% of the size) short of
 *     the list searched, which bounds the rounding's effect on external
 *     fragmentation; allocating from the pools, TLSF behaves like a good
 *     approximation of best fit.
 *   Pools: a pool that becomes wholly free is unmapped, except that
 *     TL_KEEP_FREE_POOLS are kept (hysteresis, as pymalloc keeps one free
 *     arena).  destroy() unmaps every pool, direct block and the state.
 *
 * ==========================================================================
 * Debug-mode misuse detection (HL_DEBUG >= 1)
 *
 * free, realloc and usable_size read the header before the pointer.  A
 * pointer that is not 16-aligned, whose header lacks TL_MAGIC, or whose
 * pool header (or direct node) names another heap, is reported fatally as
 * not allocated by this heap (a freed block absorbed by coalescing has a
 * zeroed header and is reported the same way); a header with TL_FREE set is
 * reported as a double free.  The message names the allocator, the call and
 * the pointer.  A foreign pointer whose header or pool header is not mapped
 * still faults: the check is cheap, not exhaustive.
 */
#include "hl_debug.h"

#include "classic_buddy_tlsf.h"
#include "fit_common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ==========================================================================
 * Tunable settings.
 *
 * TL_ALIGN_SHIFT 4: 16-byte alignment, the x86-64 ABI's max_align_t.
 * TL_SL_INDEX_BITS 4: 16 second-level lists per power of two.  The lists
 *   of one row are 2**(f-4) apart, so the good-fit rounding skips less than
 *   1/16 of a size; more bits mean finer lists but bigger bitmaps (32 bits
 *   at most here) and more list heads.  Masmano et al. use 4 or 5.
 * TL_POOL_ORDER 20: 1 MiB pools (pymalloc's arena size), aligned to their
 *   size so that the pool of a block is found with a mask.
 * TL_MAX_BLOCK_ORDER 18: pool blocks are at most 256 KiB; larger requests
 *   are mapped directly (glibc's mmap threshold starts at 128 KiB).  It must
 *   stay two orders under the pool so that the rounded-up search for the
 *   largest request still names a list at or below the whole-pool block's.
 * TL_KEEP_FREE_POOLS 1: wholly free pools kept mapped (hysteresis).
 */
#define TL_ALIGN_SHIFT     4
#define TL_SL_INDEX_BITS   4
#define TL_POOL_ORDER      20
#define TL_MAX_BLOCK_ORDER 18
#define TL_KEEP_FREE_POOLS 1

#define TL_ALIGNMENT       ((size_t)1 << TL_ALIGN_SHIFT)
#define TL_HEADER_SIZE     16
#define TL_MIN_BLOCK       32
#define TL_SL_COUNT        (1u << TL_SL_INDEX_BITS)
#define TL_FL_SHIFT        (TL_SL_INDEX_BITS + TL_ALIGN_SHIFT)
#define TL_SMALL_BLOCK     ((size_t)1 << TL_FL_SHIFT)
#define TL_FL_COUNT        (TL_POOL_ORDER - TL_FL_SHIFT + 1)
#define TL_POOL_SIZE       ((size_t)1 << TL_POOL_ORDER)
#define TL_MAX_POOL_REQUEST (((size_t)1 << TL_MAX_BLOCK_ORDER) - TL_HEADER_SIZE)
#define TL_MAX_REQUEST     ((size_t)PTRDIFF_MAX / 2)

_Static_assert(TL_HEADER_SIZE % TL_ALIGNMENT == 0, "header keeps payloads aligned");
_Static_assert(TL_MIN_BLOCK >= TL_HEADER_SIZE + 2 * sizeof(void *),
               "a free block holds its header and two list links");
_Static_assert(TL_MIN_BLOCK % TL_ALIGNMENT == 0, "block sizes are multiples of the alignment");
_Static_assert(TL_SL_COUNT <= 32, "a second-level bitmap is 32 bits");
_Static_assert(TL_FL_COUNT <= 32, "the first-level bitmap is 32 bits");
_Static_assert(TL_SMALL_BLOCK / TL_ALIGNMENT == TL_SL_COUNT,
               "row 0 holds the small sizes in alignment steps, one per list");
_Static_assert(TL_MAX_BLOCK_ORDER >= TL_FL_SHIFT, "pool blocks reach the first levels");
_Static_assert(TL_MAX_BLOCK_ORDER + 2 <= TL_POOL_ORDER,
               "the rounded search for the largest pool block finds a whole pool");
_Static_assert(TL_POOL_ORDER >= 16, "a pool is a whole number of pages (up to 64 KiB)");
_Static_assert(TL_POOL_ORDER < 48, "sizes fit the 44-bit size field");

/* ==========================================================================
 * Blocks and their accessors.
 */
typedef struct tl_block_s {
    uint64_t size_flags;
    struct tl_block_s *prev_phys;
    struct tl_block_s *next_free;    /* free blocks only */
    struct tl_block_s *prev_free;
} tl_block_t;
_Static_assert(offsetof(tl_block_t, next_free) == TL_HEADER_SIZE, "header layout");

#define TL_FREE       ((uint64_t)1 << 0)
#define TL_DIRECT     ((uint64_t)1 << 1)
#define TL_MARK       ((uint64_t)1 << 2)
#define TL_SIZE_MASK  ((uint64_t)0x0000fffffffffff0)
#define TL_MAGIC      ((uint64_t)0x715f << 48)
#define TL_MAGIC_MASK ((uint64_t)0xffff << 48)

static inline bool tl_has_magic(const tl_block_t *b)
{ return (b->size_flags & TL_MAGIC_MASK) == TL_MAGIC; }
static inline size_t tl_size(const tl_block_t *b)
{ return (size_t)(b->size_flags & TL_SIZE_MASK); }
static inline bool tl_is_free(const tl_block_t *b)
{ return (b->size_flags & TL_FREE) != 0; }
static inline bool tl_is_direct(const tl_block_t *b)
{ return (b->size_flags & TL_DIRECT) != 0; }
static inline bool tl_is_marked(const tl_block_t *b)
{ return (b->size_flags & TL_MARK) != 0; }
static inline void tl_set_mark(tl_block_t *b, bool on)
{ b->size_flags = on ? (b->size_flags | TL_MARK) : (b->size_flags & ~TL_MARK); }
static inline void tl_set_header(tl_block_t *b, size_t size, bool free)
{
    hl_assert_internal((size & ~TL_SIZE_MASK) == 0);
    b->size_flags = TL_MAGIC | size | (free ? TL_FREE : 0);
}
static inline void tl_set_size(tl_block_t *b, size_t size)
{
    hl_assert_internal((size & ~TL_SIZE_MASK) == 0);
    b->size_flags = (b->size_flags & ~TL_SIZE_MASK) | size;
}
static inline void tl_set_free(tl_block_t *b, bool free)
{ b->size_flags = free ? (b->size_flags | TL_FREE) : (b->size_flags & ~TL_FREE); }
static inline void tl_erase_header(tl_block_t *b) { b->size_flags = 0; b->prev_phys = NULL; }

static inline tl_block_t *tl_next(const tl_block_t *b)
{ return (tl_block_t *)((char *)b + tl_size(b)); }
static inline void *tl_payload(tl_block_t *b) { return (char *)b + TL_HEADER_SIZE; }
static inline tl_block_t *tl_header(const void *p)
{ return (tl_block_t *)((char *)p - TL_HEADER_SIZE); }

/* The block size a request of n <= TL_MAX_POOL_REQUEST bytes takes. */
static inline size_t tl_block_size(size_t n)
{
    size_t s = (n + TL_HEADER_SIZE + TL_ALIGNMENT - 1) & ~(TL_ALIGNMENT - 1);
    return s < TL_MIN_BLOCK ? TL_MIN_BLOCK : s;
}

/* ==========================================================================
 * The mapping function.
 */
static inline unsigned tl_fls(size_t x)   /* floor(log2(x)), x > 0 */
{ return 63u - (unsigned)__builtin_clzll((unsigned long long)x); }

static inline void tl_mapping(size_t s, unsigned *fl, unsigned *sl)
{
    if (s < TL_SMALL_BLOCK) {
        *fl = 0;
        *sl = (unsigned)(s >> TL_ALIGN_SHIFT);
    }
    else {
        unsigned f = tl_fls(s);
        *sl = (unsigned)(s >> (f - TL_SL_INDEX_BITS)) ^ TL_SL_COUNT;
        *fl = f - TL_FL_SHIFT + 1;
    }
}

/* Good fit: round s up to the next list boundary, then map. */
static inline void tl_mapping_search(size_t s, unsigned *fl, unsigned *sl)
{
    if (s >= TL_SMALL_BLOCK)
        s += ((size_t)1 << (tl_fls(s) - TL_SL_INDEX_BITS)) - 1;
    tl_mapping(s, fl, sl);
}

static inline size_t tl_list_min(unsigned fl, unsigned sl)
{
    if (fl == 0)
        return (size_t)sl << TL_ALIGN_SHIFT;
    unsigned f = fl + TL_FL_SHIFT - 1;
    return ((size_t)1 << f) + ((size_t)sl << (f - TL_SL_INDEX_BITS));
}

/* ==========================================================================
 * Pools, direct blocks and the heap.
 */
typedef struct tl_pool_s {
    uint64_t magic;                  /* TL_POOL_MAGIC */
    struct tl_heap_s *owner;
    struct tl_pool_s *next, *prev;   /* the heap's pools, doubly linked */
} tl_pool_t;
#define TL_POOL_MAGIC    ((uint64_t)0x7157f0017157f001)
#define TL_POOL_FIRST    sizeof(tl_pool_t)
#define TL_POOL_BLOCKS   (TL_POOL_SIZE - TL_POOL_FIRST - TL_HEADER_SIZE)
_Static_assert(sizeof(tl_pool_t) % 16 == 0, "pool blocks aligned");

static inline tl_pool_t *tl_pool_of(const tl_block_t *b)
{ return (tl_pool_t *)((uintptr_t)b & ~(uintptr_t)(TL_POOL_SIZE - 1)); }
static inline tl_block_t *tl_pool_first(tl_pool_t *pool)
{ return (tl_block_t *)((char *)pool + TL_POOL_FIRST); }
static inline tl_block_t *tl_pool_epilogue(tl_pool_t *pool)
{ return (tl_block_t *)((char *)pool + TL_POOL_SIZE - TL_HEADER_SIZE); }
/* A free block that is its whole pool. */
static inline bool tl_is_whole_pool(const tl_block_t *b)
{ return b->prev_phys == NULL && tl_size(tl_next(b)) == 0; }

typedef struct tl_direct_s {
    struct tl_direct_s *next, *prev;
    size_t mapsize;
    struct tl_heap_s *owner;
} tl_direct_t;
#define TL_DIRECT_OFFSET (sizeof(tl_direct_t) + TL_HEADER_SIZE)
_Static_assert(sizeof(tl_direct_t) % 16 == 0, "direct payloads aligned");
static inline tl_direct_t *tl_direct_node(tl_block_t *b)
{ return (tl_direct_t *)((char *)b - sizeof(tl_direct_t)); }

typedef struct tl_heap_s {
    uint32_t fl_bitmap;
    uint32_t sl_bitmap[TL_FL_COUNT];
    tl_block_t *lists[TL_FL_COUNT][TL_SL_COUNT];
    size_t nfree;                    /* blocks on all lists */

    tl_pool_t *pools;
    size_t npools, nempty_pools;
    tl_direct_t *direct;
    size_t ndirect, direct_bytes;

    size_t page_size, state_size;
    size_t held, held_peak, mappings;
    size_t live_blocks, live_bytes;

    struct {
        size_t mallocs, frees, reallocs, splits, merges;
        size_t realloc_in_place, realloc_moved;
        size_t pools_mapped, pools_unmapped, direct_mapped;
    } counters;
} tl_heap_t;

static bool tl_heap_is_valid(tl_heap_t *h, FILE *report);

__attribute__((noreturn, cold, unused))
static void tl_fatal(const char *op, const void *p, const char *what)
{
    char buf[256];
    int n = snprintf(buf, sizeof buf, "heaplab tlsf: %s(%p): %s\n", op, p, what);
    if (n > 0)
        (void)!write(2, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
    abort();
}

/* Not instrumented: reading the 16 bytes before a foreign pointer is the
 * check itself (under ASan they are often a redzone). */
HL_NO_SANITIZE_ADDRESS
static inline tl_block_t *tl_block_of(tl_heap_t *h, const void *p, const char *op)
{
    tl_block_t *b = tl_header(p);
#if HL_DEBUG >= 1
    if (((uintptr_t)p & (TL_ALIGNMENT - 1)) != 0)
        tl_fatal(op, p, "pointer not allocated by this heap (misaligned)");
    /* a copy, read here, so that only this function reads foreign memory */
    tl_block_t hdr = {.size_flags = b->size_flags};
    if (!tl_has_magic(&hdr))
        tl_fatal(op, p, "pointer not allocated by this heap (or freed and coalesced)");
    if (tl_is_direct(&hdr) ? tl_direct_node(b)->owner != h
                           : (tl_pool_of(b)->magic != TL_POOL_MAGIC || tl_pool_of(b)->owner != h))
        tl_fatal(op, p, "pointer not allocated by this heap");
    if (tl_is_free(&hdr))
        tl_fatal(op, p, "double free: the block is already free");
#else
    HL_UNUSED(h); HL_UNUSED(op);
#endif
    return b;
}

/* ==========================================================================
 * Mappings.
 */
static void tl_account_map(tl_heap_t *h, size_t len)
{
    h->held += len;
    if (h->held > h->held_peak)
        h->held_peak = h->held;
    h->mappings++;
}

static void tl_unmap(tl_heap_t *h, void *p, size_t len)
{
    hl_assert_internal(h->held >= len && h->mappings > 0);
    munmap(p, len);
    h->held -= len;
    h->mappings--;
}

/* ==========================================================================
 * The free lists and bitmaps.
 */
static inline void tl_insert_free(tl_heap_t *h, tl_block_t *b)
{
    unsigned fl, sl;
    hl_assert_internal(tl_is_free(b) && tl_size(b) >= TL_MIN_BLOCK);
    tl_mapping(tl_size(b), &fl, &sl);
    hl_assert_internal(fl < TL_FL_COUNT && sl < TL_SL_COUNT);
    b->prev_free = NULL;
    b->next_free = h->lists[fl][sl];
    if (b->next_free)
        b->next_free->prev_free = b;
    h->lists[fl][sl] = b;
    h->sl_bitmap[fl] |= 1u << sl;
    h->fl_bitmap |= 1u << fl;
    h->nfree++;
    if (tl_is_whole_pool(b))
        h->nempty_pools++;
}

static inline void tl_remove_free(tl_heap_t *h, tl_block_t *b)
{
    unsigned fl, sl;
    hl_assert_internal(tl_is_free(b) && h->nfree > 0);
    tl_mapping(tl_size(b), &fl, &sl);
    if (b->prev_free)
        b->prev_free->next_free = b->next_free;
    else
        h->lists[fl][sl] = b->next_free;
    if (b->next_free)
        b->next_free->prev_free = b->prev_free;
    if (h->lists[fl][sl] == NULL) {
        h->sl_bitmap[fl] &= ~(1u << sl);
        if (h->sl_bitmap[fl] == 0)
            h->fl_bitmap &= ~(1u << fl);
    }
    h->nfree--;
    if (tl_is_whole_pool(b))
        h->nempty_pools--;
}

/* The head of the first non-empty list at or after (fl, sl), or NULL. */
static inline tl_block_t *tl_find_suitable(tl_heap_t *h, unsigned fl, unsigned sl)
{
    if (fl >= TL_FL_COUNT)
        return NULL;
    uint32_t slmap = h->sl_bitmap[fl] & (~0u << sl);
    if (slmap == 0) {
        uint32_t flmap = fl + 1 < 32 ? h->fl_bitmap & (~0u << (fl + 1)) : 0;
        if (flmap == 0)
            return NULL;
        fl = (unsigned)__builtin_ctz(flmap);
        slmap = h->sl_bitmap[fl];
        hl_assert_internal(slmap != 0);
    }
    sl = (unsigned)__builtin_ctz(slmap);
    hl_assert_internal(h->lists[fl][sl] != NULL);
    return h->lists[fl][sl];
}

/* ==========================================================================
 * Pools.
 */
static bool tl_add_pool(tl_heap_t *h)
{
    char *raw = mmap(NULL, 2 * TL_POOL_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return false;
    uintptr_t start = ((uintptr_t)raw + TL_POOL_SIZE - 1) & ~(uintptr_t)(TL_POOL_SIZE - 1);
    size_t lead = start - (uintptr_t)raw;
    if (lead)
        munmap(raw, lead);
    if (TL_POOL_SIZE - lead)
        munmap((char *)start + TL_POOL_SIZE, TL_POOL_SIZE - lead);
    tl_account_map(h, TL_POOL_SIZE);
    hl_stat_inc(h->counters.pools_mapped);

    tl_pool_t *pool = (tl_pool_t *)start;
    pool->magic = TL_POOL_MAGIC;
    pool->owner = h;
    pool->prev = NULL;
    pool->next = h->pools;
    if (pool->next)
        pool->next->prev = pool;
    h->pools = pool;
    h->npools++;

    tl_block_t *b = tl_pool_first(pool), *epi = tl_pool_epilogue(pool);
    tl_set_header(b, TL_POOL_BLOCKS, true);
    b->prev_phys = NULL;
    tl_set_header(epi, 0, false);
    epi->prev_phys = b;
    tl_insert_free(h, b);
    return true;
}

/* b: a wholly free pool's block, on no list. */
static void tl_release_pool(tl_heap_t *h, tl_block_t *b)
{
    tl_pool_t *pool = tl_pool_of(b);
    if (pool->prev)
        pool->prev->next = pool->next;
    else
        h->pools = pool->next;
    if (pool->next)
        pool->next->prev = pool->prev;
    h->npools--;
    tl_unmap(h, pool, TL_POOL_SIZE);
    hl_stat_inc(h->counters.pools_unmapped);
}

/* ==========================================================================
 * Pool blocks: allocate with splitting, free with immediate coalescing.
 */

/* Cut b (in use, or free and on no list) to size bytes; the remainder, if
 * at least TL_MIN_BLOCK, becomes a free block.  Its next neighbour must
 * not be free (the caller coalesces otherwise). */
static void tl_split(tl_heap_t *h, tl_block_t *b, size_t size)
{
    size_t total = tl_size(b);
    hl_assert_internal(total >= size);
    if (total - size < TL_MIN_BLOCK)
        return;
    tl_block_t *rest = (tl_block_t *)((char *)b + size);
    tl_set_size(b, size);
    tl_set_header(rest, total - size, true);
    rest->prev_phys = b;
    tl_next(rest)->prev_phys = rest;
    hl_assert_internal(!tl_is_free(tl_next(rest)));
    tl_insert_free(h, rest);
    hl_stat_inc(h->counters.splits);
}

static tl_block_t *tl_alloc_block(tl_heap_t *h, size_t size)
{
    unsigned fl, sl;
#ifdef HL_PLANT_TLSF_NO_ROUND_UP
    /* planted bug: the insert mapping used for the search, with no round-up
     * to the next list: the list found may hold blocks smaller than size */
    tl_mapping(size, &fl, &sl);
#else
    tl_mapping_search(size, &fl, &sl);
#endif
    tl_block_t *b = tl_find_suitable(h, fl, sl);
    if (b == NULL) {
        if (!tl_add_pool(h))
            return NULL;
        b = tl_find_suitable(h, fl, sl);
        hl_assert_internal(b != NULL);   /* TL_MAX_BLOCK_ORDER + 2 <= TL_POOL_ORDER */
        if (b == NULL)
            return NULL;
    }
    hl_assert_internal(tl_size(b) >= size);
    tl_remove_free(h, b);
    tl_set_free(b, false);
    tl_split(h, b, size);
    return b;
}

/* b: a pool block, in use or free, on no list. */
static void tl_free_block(tl_heap_t *h, tl_block_t *b)
{
    tl_set_free(b, true);
    tl_block_t *prev = b->prev_phys;
    if (prev != NULL && tl_is_free(prev)) {
        tl_remove_free(h, prev);
        tl_set_size(prev, tl_size(prev) + tl_size(b));
        tl_erase_header(b);
        b = prev;
        tl_next(b)->prev_phys = b;
        hl_stat_inc(h->counters.merges);
    }
    tl_block_t *next = tl_next(b);
    if (tl_is_free(next)) {
        tl_remove_free(h, next);
        tl_set_size(b, tl_size(b) + tl_size(next));
        tl_erase_header(next);
        tl_next(b)->prev_phys = b;
        hl_stat_inc(h->counters.merges);
    }
    if (tl_is_whole_pool(b) && h->nempty_pools >= TL_KEEP_FREE_POOLS)
        tl_release_pool(h, b);
    else
        tl_insert_free(h, b);
}

/* ==========================================================================
 * Direct blocks.
 */
static inline size_t tl_direct_mapsize(tl_heap_t *h, size_t n)
{
    return (n + TL_DIRECT_OFFSET + h->page_size - 1) & ~(h->page_size - 1);
}

static void tl_direct_link(tl_heap_t *h, tl_direct_t *d)
{
    d->prev = NULL;
    d->next = h->direct;
    if (d->next)
        d->next->prev = d;
    h->direct = d;
    h->ndirect++;
    h->direct_bytes += d->mapsize;
}

static void tl_direct_unlink(tl_heap_t *h, tl_direct_t *d)
{
    if (d->prev)
        d->prev->next = d->next;
    else
        h->direct = d->next;
    if (d->next)
        d->next->prev = d->prev;
    h->ndirect--;
    h->direct_bytes -= d->mapsize;
}

static tl_block_t *tl_direct_alloc(tl_heap_t *h, size_t n)
{
    size_t len = tl_direct_mapsize(h, n);
    tl_direct_t *d = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (d == MAP_FAILED)
        return NULL;
    tl_account_map(h, len);
    d->mapsize = len;
    d->owner = h;
    tl_direct_link(h, d);
    tl_block_t *b = (tl_block_t *)(d + 1);
    b->size_flags = TL_MAGIC | TL_DIRECT;
    b->prev_phys = NULL;
    hl_stat_inc(h->counters.direct_mapped);
    return b;
}

static inline size_t tl_usable(tl_block_t *b)
{
    if (tl_is_direct(b))
        return tl_direct_node(b)->mapsize - TL_DIRECT_OFFSET;
    return tl_size(b) - TL_HEADER_SIZE;
}

/* ==========================================================================
 * The vtable.
 */
static void *tl_alloc(tl_heap_t *h, size_t n, bool zero)
{
    if (n > TL_MAX_REQUEST)
        return NULL;
    tl_block_t *b;
    if (n > TL_MAX_POOL_REQUEST) {
        b = tl_direct_alloc(h, n);
        zero = false;        /* fresh anonymous pages are zero */
    }
    else {
        b = tl_alloc_block(h, tl_block_size(n));
    }
    if (b == NULL)
        return NULL;
    void *p = tl_payload(b);
    size_t usable = tl_usable(b);
    hl_assert(((uintptr_t)p & (TL_ALIGNMENT - 1)) == 0 && usable >= n);
    if (zero)
        memset(p, 0, n);
    h->live_blocks++;
    h->live_bytes += usable;
    return p;
}

static void *tl_malloc(void *ctx, size_t n)
{
    tl_heap_t *h = ctx;
    hl_stat_inc(h->counters.mallocs);
    void *p = tl_alloc(h, n, false);
    hl_assert_expensive(tl_heap_is_valid(h, stderr));
    return p;
}

static void *tl_calloc(void *ctx, size_t nelem, size_t elsize)
{
    tl_heap_t *h = ctx;
    if (elsize != 0 && nelem > SIZE_MAX / elsize)
        return NULL;
    hl_stat_inc(h->counters.mallocs);
    void *p = tl_alloc(h, nelem * elsize, true);
    hl_assert_expensive(tl_heap_is_valid(h, stderr));
    return p;
}

static void tl_free_checked(tl_heap_t *h, tl_block_t *b)
{
    size_t usable = tl_usable(b);
    hl_assert_internal(h->live_blocks > 0 && h->live_bytes >= usable);
    h->live_blocks--;
    h->live_bytes -= usable;
    if (tl_is_direct(b)) {
        tl_direct_t *d = tl_direct_node(b);
        tl_direct_unlink(h, d);
        tl_unmap(h, d, d->mapsize);
    }
    else {
        tl_free_block(h, b);
    }
}

static void tl_free(void *ctx, void *p)
{
    tl_heap_t *h = ctx;
    if (p == NULL)
        return;
    hl_stat_inc(h->counters.frees);
    tl_free_checked(h, tl_block_of(h, p, "free"));
    hl_assert_expensive(tl_heap_is_valid(h, stderr));
}

/* In place, if the design allows; NULL if not. */
static void *tl_resize_in_place(tl_heap_t *h, tl_block_t *b, size_t n)
{
    if (tl_is_direct(b)) {
        if (n <= TL_MAX_POOL_REQUEST)
            return NULL;     /* move it into a pool */
        tl_direct_t *d = tl_direct_node(b);
        size_t old = d->mapsize, len = tl_direct_mapsize(h, n);
        if (len == old)
            return tl_payload(b);
        tl_direct_unlink(h, d);
        tl_direct_t *nd = mremap(d, old, len, MREMAP_MAYMOVE);
        if (nd == MAP_FAILED) {
            tl_direct_link(h, d);
            return NULL;
        }
        nd->mapsize = len;
        tl_direct_link(h, nd);
        h->held = h->held - old + len;
        if (h->held > h->held_peak)
            h->held_peak = h->held;
        h->live_bytes = h->live_bytes - old + len;
        return (char *)nd + TL_DIRECT_OFFSET;
    }
    if (n > TL_MAX_POOL_REQUEST)
        return NULL;
    size_t need = tl_block_size(n), cur = tl_size(b);
    if (need > cur) {
        tl_block_t *next = tl_next(b);
        if (!tl_is_free(next) || cur + tl_size(next) < need)
            return NULL;
        tl_remove_free(h, next);
        tl_set_size(b, cur + tl_size(next));
        tl_erase_header(next);
        tl_next(b)->prev_phys = b;
        hl_stat_inc(h->counters.merges);
    }
    size_t total = tl_size(b);
    if (total - need >= TL_MIN_BLOCK) {
        /* Give the tail back; it coalesces with a free next block. */
        tl_block_t *rest = (tl_block_t *)((char *)b + need);
        tl_set_size(b, need);
        tl_set_header(rest, total - need, false);
        rest->prev_phys = b;
        tl_next(rest)->prev_phys = rest;
        tl_free_block(h, rest);
        hl_stat_inc(h->counters.splits);
    }
    h->live_bytes = h->live_bytes - cur + tl_size(b);
    return tl_payload(b);
}

/* realloc's move takes and gives back a block below malloc and free: no
 * malloc or free counted, no second check of p. */
static void *tl_move_alloc(void *ctx, size_t n) { return tl_alloc(ctx, n, false); }
static void tl_move_free(void *ctx, void *p) { tl_free_checked(ctx, tl_header(p)); }

static void *tl_realloc(void *ctx, void *p, size_t n)
{
    tl_heap_t *h = ctx;
    if (p == NULL)
        return tl_malloc(ctx, n);
    hl_stat_inc(h->counters.reallocs);
    tl_block_t *b = tl_block_of(h, p, "realloc");
    if (n > TL_MAX_REQUEST)
        return NULL;
    void *q = tl_resize_in_place(h, b, n);
    if (q != NULL) {
        hl_stat_inc(h->counters.realloc_in_place);
    }
    else {
        q = _hl_fit_realloc_move(h, p, tl_usable(b), n, tl_move_alloc, tl_move_free);
        if (q != NULL)
            hl_stat_inc(h->counters.realloc_moved);
    }
    hl_assert_expensive(tl_heap_is_valid(h, stderr));
    return q;
}

static size_t tl_usable_size(void *ctx, const void *p)
{
    tl_heap_t *h = ctx;
    return tl_usable(tl_block_of(h, p, "usable_size"));
}

static void tl_stats(void *ctx, hl_stats_t *out)
{
    tl_heap_t *h = ctx;
    out->valid = HL_STAT_HELD | HL_STAT_LIVE_BLOCKS | HL_STAT_LIVE_BYTES;
    out->held_bytes = h->held;
    out->held_peak_bytes = h->held_peak;
    out->live_blocks = h->live_blocks;
    out->live_bytes = h->live_bytes;
}

/* ==========================================================================
 * The invariants, as an executable check (see the file comment).  It sets
 * and clears TL_MARK in free headers, so it is not const.  Marks are set
 * only by the list walk and cleared by the pool walk; when the walk stops at
 * a broken invariant, tl_heap_is_valid clears what is left by walking the
 * lists again (bounded), so a later check starts clean.
 */
#define FAIL(...) HL_FIT_FAIL(report, "tlsf", __VA_ARGS__)

static bool tl_heap_walk(tl_heap_t *h, FILE *report)
{
    /* 1. Bitmaps and lists. */
    if (TL_FL_COUNT < 32 && (h->fl_bitmap >> TL_FL_COUNT) != 0)
        FAIL("fl_bitmap %#x has bits beyond TL_FL_COUNT", h->fl_bitmap);
    size_t listed = 0;
    for (unsigned fl = 0; fl < TL_FL_COUNT; fl++) {
        bool flbit = (h->fl_bitmap >> fl) & 1u;
        if (flbit != (h->sl_bitmap[fl] != 0))
            FAIL("fl_bitmap bit %u is %d but sl_bitmap[%u] is %#x", fl, flbit, fl,
                 h->sl_bitmap[fl]);
        if (TL_SL_COUNT < 32 && (h->sl_bitmap[fl] >> TL_SL_COUNT) != 0)
            FAIL("sl_bitmap[%u] %#x has bits beyond TL_SL_COUNT", fl, h->sl_bitmap[fl]);
        for (unsigned sl = 0; sl < TL_SL_COUNT; sl++) {
            bool slbit = (h->sl_bitmap[fl] >> sl) & 1u;
            if (slbit != (h->lists[fl][sl] != NULL))
                FAIL("sl_bitmap[%u] bit %u is %d but lists[%u][%u] is %s", fl, sl, slbit, fl,
                     sl, h->lists[fl][sl] ? "non-empty" : "empty");
            tl_block_t *prev = NULL;
            for (tl_block_t *b = h->lists[fl][sl]; b != NULL; prev = b, b = b->next_free) {
                if (!tl_has_magic(b) || tl_is_direct(b))
                    FAIL("lists[%u][%u]: %p is not a pool block", fl, sl, (void *)b);
                tl_pool_t *pool = tl_pool_of(b);
                if (pool->magic != TL_POOL_MAGIC || pool->owner != h)
                    FAIL("lists[%u][%u]: block %p is not in a pool of this heap", fl, sl,
                         (void *)b);
                if (!tl_is_free(b))
                    FAIL("lists[%u][%u]: block %p is in use", fl, sl, (void *)b);
                unsigned f2, s2;
                tl_mapping(tl_size(b), &f2, &s2);
                if (f2 != fl || s2 != sl)
                    FAIL("block %p of size %zu is on lists[%u][%u], its size maps to [%u][%u]",
                         (void *)b, tl_size(b), fl, sl, f2, s2);
                if (b->prev_free != prev)
                    FAIL("lists[%u][%u]: block %p: prev_free is not its predecessor", fl, sl,
                         (void *)b);
                if (tl_is_marked(b))
                    FAIL("block %p is listed twice", (void *)b);
                tl_set_mark(b, true);
                if (++listed > h->nfree)
                    FAIL("the lists hold more than nfree %zu blocks", h->nfree);
            }
        }
    }
    if (listed != h->nfree)
        FAIL("the lists hold %zu blocks, nfree says %zu", listed, h->nfree);

    /* 2. Every pool, tiled by its blocks. */
    size_t npools = 0, free_seen = 0, whole = 0, live_blocks = 0, live_bytes = 0;
    tl_pool_t *pprev = NULL;
    for (tl_pool_t *pool = h->pools; pool != NULL; pprev = pool, pool = pool->next) {
        if (((uintptr_t)pool & (TL_POOL_SIZE - 1)) != 0)
            FAIL("pool %p is not aligned to its size", (void *)pool);
        if (pool->magic != TL_POOL_MAGIC || pool->owner != h)
            FAIL("pool %p: bad pool header", (void *)pool);
        if (pool->prev != pprev)
            FAIL("pool %p: prev is not its predecessor", (void *)pool);
        if (++npools > h->npools)
            FAIL("the pool list is longer than npools %zu", h->npools);
        tl_block_t *epi = tl_pool_epilogue(pool), *prev = NULL;
        tl_block_t *b = tl_pool_first(pool);
        while (b < epi) {
            if (!tl_has_magic(b) || tl_is_direct(b))
                FAIL("pool %p: no block header at offset %#lx", (void *)pool,
                     (unsigned long)((char *)b - (char *)pool));
            size_t size = tl_size(b);
            if (size < TL_MIN_BLOCK || (char *)b + size > (char *)epi)
                FAIL("block %p: size %zu out of range", (void *)b, size);
            if (b->prev_phys != prev)
                FAIL("block %p: prev_phys %p, its physical predecessor is %p", (void *)b,
                     (void *)b->prev_phys, (void *)prev);
            if (tl_is_free(b)) {
                if (!tl_is_marked(b))
                    FAIL("free block %p (size %zu) is on no list", (void *)b, size);
                tl_set_mark(b, false);
                if (prev != NULL && tl_is_free(prev))
                    FAIL("adjacent free blocks %p and %p did not coalesce", (void *)prev,
                         (void *)b);
                free_seen++;
                if (tl_is_whole_pool(b))
                    whole++;
            }
            else {
                if (tl_is_marked(b))
                    FAIL("block %p in use is on a free list", (void *)b);
                live_blocks++;
                live_bytes += size - TL_HEADER_SIZE;
            }
            prev = b;
            b = tl_next(b);
        }
        if (b != epi)
            FAIL("pool %p: blocks do not end at the epilogue", (void *)pool);
        if (!tl_has_magic(epi) || tl_size(epi) != 0 || tl_is_free(epi) || epi->prev_phys != prev)
            FAIL("pool %p: bad epilogue", (void *)pool);
    }
    if (npools != h->npools)
        FAIL("%zu pools listed, npools says %zu", npools, h->npools);
    if (free_seen != listed)
        FAIL("%zu free blocks in the pools, %zu on the lists", free_seen, listed);
    if (whole != h->nempty_pools || whole > TL_KEEP_FREE_POOLS)
        FAIL("%zu wholly free pools, nempty_pools %zu, at most %d kept", whole,
             h->nempty_pools, TL_KEEP_FREE_POOLS);

    /* 3. Direct blocks. */
    size_t ndirect = 0, direct_bytes = 0;
    tl_direct_t *dprev = NULL;
    for (tl_direct_t *d = h->direct; d != NULL; dprev = d, d = d->next) {
        tl_block_t *b = (tl_block_t *)(d + 1);
        if (d->prev != dprev)
            FAIL("direct block %p: prev is not its predecessor", (void *)d);
        if (((uintptr_t)d & (h->page_size - 1)) || (d->mapsize & (h->page_size - 1)))
            FAIL("direct block %p: mapping not page-aligned", (void *)d);
        if (d->owner != h || !tl_has_magic(b) || !tl_is_direct(b) || tl_is_free(b))
            FAIL("direct block %p: bad header", (void *)d);
        if (d->mapsize - TL_DIRECT_OFFSET <= TL_MAX_POOL_REQUEST)
            FAIL("direct block %p: %zu bytes would fit a pool", (void *)d, d->mapsize);
        if (++ndirect > h->ndirect)
            FAIL("direct list longer than ndirect %zu", h->ndirect);
        direct_bytes += d->mapsize;
        live_blocks++;
        live_bytes += d->mapsize - TL_DIRECT_OFFSET;
    }
    if (ndirect != h->ndirect || direct_bytes != h->direct_bytes)
        FAIL("direct list: %zu blocks / %zu bytes, counters say %zu / %zu", ndirect,
             direct_bytes, h->ndirect, h->direct_bytes);

    /* 4. Counters. */
    if (live_blocks != h->live_blocks || live_bytes != h->live_bytes)
        FAIL("%zu live blocks / %zu bytes found, counters say %zu / %zu", live_blocks,
             live_bytes, h->live_blocks, h->live_bytes);
    size_t held = h->state_size + h->npools * TL_POOL_SIZE + h->direct_bytes;
    if (held != h->held || h->held > h->held_peak)
        FAIL("held %zu (peak %zu), expected %zu", h->held, h->held_peak, held);
    if (h->mappings != 1 + h->npools + h->ndirect)
        FAIL("%zu mappings counted, expected %zu", h->mappings, 1 + h->npools + h->ndirect);
    return true;
}
#undef FAIL

static bool tl_heap_is_valid(tl_heap_t *h, FILE *report)
{
    if (tl_heap_walk(h, report))
        return true;
    size_t n = 0;
    for (unsigned fl = 0; fl < TL_FL_COUNT; fl++)
        for (unsigned sl = 0; sl < TL_SL_COUNT; sl++)
            for (tl_block_t *b = h->lists[fl][sl]; b != NULL && n <= h->nfree;
                 b = b->next_free, n++)
                tl_set_mark(b, false);
    return false;
}

static bool tl_check(void *ctx, FILE *report)
{
    return tl_heap_is_valid(ctx, report);
}

static int tl_print_stats(void *ctx, FILE *out)
{
    tl_heap_t *h = ctx;
    fprintf(out, "tlsf: %zu pools of %zu bytes (%zu wholly free), %zu direct blocks (%zu bytes)\n",
            h->npools, TL_POOL_SIZE, h->nempty_pools, h->ndirect, h->direct_bytes);
    fprintf(out, "held %zu bytes (peak %zu) in %zu mappings; live %zu blocks, %zu usable bytes\n",
            h->held, h->held_peak, h->mappings, h->live_blocks, h->live_bytes);
    fprintf(out, "fl  sizes from   free blocks per sl (0..%u)\n", TL_SL_COUNT - 1);
    for (unsigned fl = 0; fl < TL_FL_COUNT; fl++) {
        fprintf(out, "%2u  %10zu ", fl, tl_list_min(fl, 0));
        for (unsigned sl = 0; sl < TL_SL_COUNT; sl++) {
            size_t n = 0;
            for (tl_block_t *b = h->lists[fl][sl]; b != NULL; b = b->next_free)
                n++;
            fprintf(out, " %zu", n);
        }
        fputc('\n', out);
    }
#if HL_STATS
    fprintf(out, "mallocs %zu, frees %zu, reallocs %zu (%zu in place, %zu moved)\n",
            h->counters.mallocs, h->counters.frees, h->counters.reallocs,
            h->counters.realloc_in_place, h->counters.realloc_moved);
    fprintf(out, "splits %zu, merges %zu, pools mapped %zu / unmapped %zu, direct mapped %zu\n",
            h->counters.splits, h->counters.merges, h->counters.pools_mapped,
            h->counters.pools_unmapped, h->counters.direct_mapped);
#endif
    return 1;
}

static void tl_destroy(void *ctx)
{
    tl_heap_t *h = ctx;
    for (tl_pool_t *pool = h->pools, *next; pool != NULL; pool = next) {
        next = pool->next;
        munmap(pool, TL_POOL_SIZE);
    }
    for (tl_direct_t *d = h->direct, *next; d != NULL; d = next) {
        next = d->next;
        munmap(d, d->mapsize);
    }
    munmap(h, h->state_size);
}

/* ==========================================================================
 * The walk: the heap as spans (see the file comment).
 */

/* Report [a, a + n) as kind, if n > 0. */
static inline void tl_span(hl_span_fn fn, void *user, uintptr_t a, size_t n,
                           hl_span_kind_t kind)
{
    if (n > 0)
        fn(user, a, n, kind);
}

static int tl_walk(void *ctx, hl_span_fn fn, void *user)
{
    tl_heap_t *h = ctx;
    tl_span(fn, user, (uintptr_t)h, h->state_size, HL_SPAN_OVERHEAD);
    size_t npools = 0;
    for (tl_pool_t *pool = h->pools; pool != NULL; pool = pool->next) {
        if (++npools > h->npools || ((uintptr_t)pool & (TL_POOL_SIZE - 1)) != 0 ||
            pool->magic != TL_POOL_MAGIC || pool->owner != h)
            return -1;
        tl_span(fn, user, (uintptr_t)pool, TL_POOL_FIRST, HL_SPAN_OVERHEAD);
        tl_block_t *epi = tl_pool_epilogue(pool), *b = tl_pool_first(pool);
        while (b < epi) {
            size_t size = tl_size(b);
            /* what tl_heap_walk checks of a block's place in its pool */
            if (!tl_has_magic(b) || tl_is_direct(b) || size < TL_MIN_BLOCK ||
                (char *)b + size > (char *)epi)
                return -1;
            tl_span(fn, user, (uintptr_t)b, TL_HEADER_SIZE, HL_SPAN_OVERHEAD);
            tl_span(fn, user, (uintptr_t)b + TL_HEADER_SIZE, size - TL_HEADER_SIZE,
                    tl_is_free(b) ? HL_SPAN_FREE : HL_SPAN_USED);
            b = tl_next(b);
        }
        if (b != epi || !tl_has_magic(epi) || tl_size(epi) != 0 || tl_is_free(epi))
            return -1;
        tl_span(fn, user, (uintptr_t)epi, TL_HEADER_SIZE, HL_SPAN_OVERHEAD);
    }
    if (npools != h->npools)
        return -1;
    size_t ndirect = 0;
    for (tl_direct_t *d = h->direct; d != NULL; d = d->next) {
        const tl_block_t *b = (const tl_block_t *)(d + 1);
        if (++ndirect > h->ndirect || d->owner != h || !tl_has_magic(b) || !tl_is_direct(b) ||
            tl_is_free(b) || (d->mapsize & (h->page_size - 1)) || d->mapsize <= TL_DIRECT_OFFSET)
            return -1;
        tl_span(fn, user, (uintptr_t)d, TL_DIRECT_OFFSET, HL_SPAN_OVERHEAD);
        tl_span(fn, user, (uintptr_t)d + TL_DIRECT_OFFSET, d->mapsize - TL_DIRECT_OFFSET,
                HL_SPAN_USED);
    }
    return ndirect == h->ndirect ? 0 : -1;
}

static const hl_allocator_ops_t tl_ops = {
    .malloc = tl_malloc,
    .calloc = tl_calloc,
    .realloc = tl_realloc,
    .free = tl_free,
    .usable_size = tl_usable_size,
    .stats = tl_stats,
    .check = tl_check,
    .print_stats = tl_print_stats,
    .destroy = tl_destroy,
    .walk = tl_walk,
};

int hl_tlsf_create(const hl_alloc_options_t *opt, hl_allocator_t *out, char *err, size_t errlen)
{
    HL_UNUSED(opt);
    long ps = sysconf(_SC_PAGESIZE);
    if (ps <= 0 || (size_t)ps > TL_POOL_SIZE || (ps & (ps - 1)) != 0)
        return _hl_err(err, errlen, "tlsf: unsupported page size %ld", ps);
    size_t state_size = (sizeof(tl_heap_t) + (size_t)ps - 1) & ~((size_t)ps - 1);
    tl_heap_t *h = mmap(NULL, state_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                        -1, 0);
    if (h == MAP_FAILED)
        return _hl_err(err, errlen, "tlsf: cannot map its state");
    /* zeroed by mmap: empty bitmaps and lists, no pools */
    h->page_size = (size_t)ps;
    h->state_size = state_size;
    h->held = h->held_peak = state_size;
    h->mappings = 1;
    out->ops = &tl_ops;
    out->ctx = h;
    out->name = "tlsf";
    return 0;
}

/* ==========================================================================
 * Test hooks (classic_buddy_tlsf.h).
 */
void _hl_tlsf_census(const hl_allocator_t *a, hl_classic_census_t *out)
{
    tl_heap_t *h = a->ctx;
    memset(out, 0, sizeof *out);
    out->chunks = h->npools;
    out->chunk_size = TL_POOL_SIZE;
    out->free_blocks = h->nfree;
    out->whole_free = h->nempty_pools;
    out->direct = h->ndirect;
    out->mappings = h->mappings;
    out->max_small_request = TL_MAX_POOL_REQUEST;
}

void _hl_tlsf_mapping(size_t block_size, unsigned *fl, unsigned *sl)
{ tl_mapping(block_size, fl, sl); }
void _hl_tlsf_mapping_search(size_t block_size, unsigned *fl, unsigned *sl)
{ tl_mapping_search(block_size, fl, sl); }
size_t _hl_tlsf_list_min(unsigned fl, unsigned sl) { return tl_list_min(fl, sl); }
size_t _hl_tlsf_block_size(size_t n) { return tl_block_size(n); }
