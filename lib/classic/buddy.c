/* buddy.c: the binary buddy system (Knowlton 1965; Knuth TAOCP vol. 1,
 * 2.5; Wilson et al. 1995, 3.6), behind the heaplab allocator interface.
 *
 * ==========================================================================
 * Policy
 *
 * Every block is 2**k bytes for an ORDER k in [BB_MIN_ORDER, BB_CHUNK_ORDER],
 * and starts at a multiple of its own size inside a CHUNK of 2**BB_CHUNK_ORDER
 * bytes that is itself aligned to its size.  A request of n bytes takes the
 * smallest order whose block holds n plus the 16-byte header:
 *
 *     order(n) = max(BB_MIN_ORDER, ceil(log2(n + 16)))
 *
 *   malloc  Take the first free block of the smallest order >= order(n)
 *           (a bitmap of non-empty orders and one find-first-set locate
 *           it).  While it is too big, SPLIT it: the upper half becomes a
 *           free block one order lower, the lower half is split further.
 *           No free block at all: map a new chunk (one free block of order
 *           BB_CHUNK_ORDER).
 *   free    Mark the block free, then COALESCE while its buddy is free and
 *           whole: the buddy of the block at chunk offset a of order k is
 *           the block at a XOR 2**k (chunks are size-aligned, so the XOR can
 *           be applied to the address itself).  The merged block has order
 *           k+1 and starts at min(a, a XOR 2**k).
 *   realloc Same order: the same block.  Smaller order: split off the upper
 *           halves in place (they go to the free lists; their buddies are
 *           parts of the block, so nothing coalesces).  Larger order: grow
 *           in place when the block is the lower buddy at every order on the
 *           way up and each of those upper buddies is free and whole;
 *           otherwise move (malloc, copy, free).
 *   huge    Requests over BB_MAX_CHUNK_REQUEST are mapped directly from the
 *           system, page-rounded, and unmapped on free; realloc of such a
 *           block uses mremap.
 *
 *   Free lists: one doubly linked, NULL-terminated LIFO list per order.
 *
 * ==========================================================================
 * A block (16-byte header; payload = the next 2**k - 16 bytes)
 *
 *      chunk offset a, a % 2**k == 0
 *      v
 *      +----------------+----------------+----------------+--- ... ---+
 *      | info           | owner          | next (free)    | prev (free)|
 *      +----------------+----------------+----------------+--- ... ---+
 *      |<---- header (BB_HEADER_SIZE) -->|<-- payload: 16-aligned ------>
 *
 *   info  bits 0..5   order k
 *         bit  6      BB_ALLOCATED: the block is handed out
 *         bit  7      BB_DIRECT: a directly mapped block (no order)
 *         bit  8      BB_MARK: scratch bit of bb_heap_is_valid only
 *         bits 32..63 BB_MAGIC: this is a live block header.  Headers that
 *                     coalescing absorbs into a bigger block are zeroed, so
 *                     a stale pointer's header does not look valid.
 *   owner the heap the block belongs to (ownership check on free).
 *   Every access goes through the bb_* accessors below.
 *
 * A chunk, tiled by blocks (one possible state):
 *
 *   0        64KiB    128KiB           256KiB                         1MiB
 *   | k=16 A | k=16 F | k=17 A         | k=18 F         | k=19 F        |
 *            ^ buddy of the first block (0 XOR 2**16); it is free but the
 *              first block is allocated, so they stay apart.
 *
 * A direct block: [bb_direct_t: next, prev, mapsize, pad][header][payload]
 * at the start of its own page-aligned mapping.
 *
 * The index: free_lists[k] heads the free blocks of order k;
 *   nonempty: bit k set iff free_lists[k] != NULL.
 *
 *   nonempty  0 0 0 1 0 1 1 0 ... (bit 20 = a wholly free chunk)
 *   free_lists[5]  -> NULL
 *   free_lists[16] -> blk <-> blk -> NULL
 *   free_lists[17] -> blk -> NULL ...
 *
 * ==========================================================================
 * Invariants (bb_heap_is_valid checks all of them, O(heap))
 *
 *   - The blocks of each chunk tile it exactly: walking from the chunk base
 *     by 2**order(b) ends at base + 2**BB_CHUNK_ORDER, and each block's
 *     offset is a multiple of its size.
 *   - BB_MIN_ORDER <= order(b) <= BB_CHUNK_ORDER.
 *   - b is on free_lists[order(b)]  iff  b is free (each exactly once).
 *   - No free block of order k < BB_CHUNK_ORDER has a free buddy of order k:
 *     they would have coalesced.
 *   - bit k of nonempty  iff  free_lists[k] != NULL;
 *     nfree[k] == length(free_lists[k]).
 *   - nfree[BB_CHUNK_ORDER] (wholly free chunks) <= BB_KEEP_FREE_CHUNKS.
 *   - live_blocks == allocated blocks in chunks + direct blocks;
 *     live_bytes  == the sum of their usable sizes.
 *   - held == state + chunk table + nchunks * chunk size + direct bytes.
 *
 * ==========================================================================
 * The walk (`heaplab map`, heaplab/heapmap.h)
 *
 * bb_walk reports every mapping the heap holds: the state and the chunk
 * table (OVERHEAD each); every chunk, in address order within it, as its
 * blocks, each its 16-byte header (OVERHEAD) and its payload, USED if
 * allocated, else FREE (the free-list links included); every direct block
 * as its node and header (OVERHEAD) and its payload (USED).  A USED span is
 * exactly [p, p + usable_size(p)): the rounding of the request up to a
 * power of two is part of it, since it is the block's usable size.  Nothing
 * is UNUSED (a new chunk is one free block).  So the spans sum to held
 * exactly, and there is one USED span per live block.  It reads headers
 * only (never a list, never a mark) and returns -1 at the first one that
 * would not let it tile a chunk.
 *
 * ==========================================================================
 * Overhead, alignment, complexity, worst cases
 *
 *   Per block: the 16-byte header.  Rounding to a power of two wastes up to
 *   half the block: a request of 2**k - 15 bytes takes a block of 2**(k+1)
 *   bytes, so usable/requested approaches 2 (internal fragmentation up to
 *   ~50%); on average, for sizes spread evenly between powers of two, about
 *   25%.  This is the design's price for its cheap coalescing.
 *   Alignment: 16 bytes for every block (headers are 16 bytes and every
 *   block starts at a multiple of 32 within a chunk aligned to its size).
 *   malloc: O(BB_CHUNK_ORDER - BB_MIN_ORDER) splits at worst, plus one mmap
 *     when no block is free.  free: O(BB_CHUNK_ORDER - BB_MIN_ORDER) merges.
 *     Both are O(1) in the number of blocks.
 *   External fragmentation: a block can only merge with its buddy, so two
 *     adjacent free blocks that are not buddies stay apart; one live 32-byte
 *     block pins its whole chunk.
 *   Chunks: a chunk that becomes wholly free is unmapped, except that
 *     BB_KEEP_FREE_CHUNKS of them are kept so that a loop allocating and
 *     freeing one block does not map and unmap a chunk every time (as
 *     pymalloc keeps one free arena, bpo-37257).  destroy() unmaps every
 *     chunk, every direct block, the chunk table and the state.
 *
 * ==========================================================================
 * Debug-mode misuse detection (HL_DEBUG >= 1)
 *
 * free, realloc and usable_size read the header before the pointer; a
 * pointer that is not 16-aligned, whose header has no BB_MAGIC or whose
 * owner is another heap is reported, fatally, as not allocated by this heap
 * (a freed block that has since coalesced into its buddy has a zeroed header
 * and is reported the same way); a header whose BB_ALLOCATED bit is clear is
 * reported as a double free.  The message names the allocator, the call and
 * the pointer.  A foreign pointer whose preceding 16 bytes are not mapped
 * still faults: the check is cheap, not exhaustive.  With HL_DEBUG 0 misuse
 * is undefined behaviour, as for the C library.
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
 * BB_ALIGNMENT 16: the x86-64 ABI's max_align_t, as glibc.
 * BB_HEADER_SIZE 16: order, flags, magic and owner; a multiple of the
 *   alignment, so payloads are aligned when blocks are.
 * BB_MIN_ORDER 5: 32-byte blocks, the smallest that hold the header plus
 *   the two free-list links a free block needs.
 * BB_CHUNK_ORDER 20: 1 MiB chunks (pymalloc's arena size).  Blocks are at
 *   most a chunk; bigger chunks would let larger requests use the buddy
 *   policy but pin more memory per live block.
 * BB_KEEP_FREE_CHUNKS 1: wholly free chunks kept mapped (hysteresis).
 */
#define BB_ALIGNMENT        16
#define BB_HEADER_SIZE      16
#define BB_MIN_ORDER        5
#define BB_CHUNK_ORDER      20
#define BB_KEEP_FREE_CHUNKS 1

#define BB_NORDERS          (BB_CHUNK_ORDER + 1)
#define BB_CHUNK_SIZE       ((size_t)1 << BB_CHUNK_ORDER)
#define BB_MAX_CHUNK_REQUEST (BB_CHUNK_SIZE - BB_HEADER_SIZE)
/* Beyond this no mapping can succeed; refusing early keeps the page
 * rounding below from overflowing. */
#define BB_MAX_REQUEST      ((size_t)PTRDIFF_MAX / 2)

_Static_assert((BB_ALIGNMENT & (BB_ALIGNMENT - 1)) == 0, "alignment is a power of two");
_Static_assert(BB_HEADER_SIZE % BB_ALIGNMENT == 0, "header keeps payloads aligned");
_Static_assert(((size_t)1 << BB_MIN_ORDER) >= BB_HEADER_SIZE + 2 * sizeof(void *),
               "the smallest block holds a header and two free-list links");
_Static_assert(((size_t)1 << BB_MIN_ORDER) % BB_ALIGNMENT == 0,
               "every block offset is a multiple of the alignment");
_Static_assert(BB_CHUNK_ORDER > BB_MIN_ORDER, "a chunk holds more than one block");
_Static_assert(BB_CHUNK_ORDER >= 16, "a chunk is a whole number of pages (up to 64 KiB)");
_Static_assert(BB_NORDERS <= 32, "orders fit the 32-bit nonempty bitmap");
_Static_assert(BB_CHUNK_ORDER < 64, "the order fits the 6-bit info field");
_Static_assert(BB_KEEP_FREE_CHUNKS >= 0, "a count");

/* ==========================================================================
 * Blocks and their accessors.
 */
typedef struct bb_block_s {
    uint64_t info;               /* order | flags | magic; see above */
    struct bb_heap_s *owner;
    struct bb_block_s *next;     /* free blocks only */
    struct bb_block_s *prev;
} bb_block_t;

_Static_assert(offsetof(bb_block_t, next) == BB_HEADER_SIZE, "header layout");

#define BB_ORDER_MASK  ((uint64_t)0x3f)
#define BB_ALLOCATED   ((uint64_t)1 << 6)
#define BB_DIRECT      ((uint64_t)1 << 7)
#define BB_MARK        ((uint64_t)1 << 8)
#define BB_MAGIC       ((uint64_t)0xb0dd1e5bu << 32)
#define BB_MAGIC_MASK  ((uint64_t)0xffffffffu << 32)

static inline bool bb_has_magic(const bb_block_t *b)
{ return (b->info & BB_MAGIC_MASK) == BB_MAGIC; }
static inline unsigned bb_order(const bb_block_t *b)
{ return (unsigned)(b->info & BB_ORDER_MASK); }
static inline bool bb_is_allocated(const bb_block_t *b)
{ return (b->info & BB_ALLOCATED) != 0; }
static inline bool bb_is_direct(const bb_block_t *b)
{ return (b->info & BB_DIRECT) != 0; }
static inline bool bb_is_marked(const bb_block_t *b)
{ return (b->info & BB_MARK) != 0; }
static inline void bb_set_mark(bb_block_t *b, bool on)
{ b->info = on ? (b->info | BB_MARK) : (b->info & ~BB_MARK); }

/* A chunk block's whole header: order k, allocated or free. */
static inline void bb_set_header(bb_block_t *b, struct bb_heap_s *owner, unsigned k,
                                 bool allocated)
{
    hl_assert_internal(k >= BB_MIN_ORDER && k <= BB_CHUNK_ORDER);
    b->info = BB_MAGIC | k | (allocated ? BB_ALLOCATED : 0);
    b->owner = owner;
}
static inline void bb_set_allocated(bb_block_t *b, bool allocated)
{ b->info = allocated ? (b->info | BB_ALLOCATED) : (b->info & ~BB_ALLOCATED); }
/* A header absorbed into a bigger block is no header any more. */
static inline void bb_erase_header(bb_block_t *b) { b->info = 0; b->owner = NULL; }

static inline size_t bb_order_size(unsigned k) { return (size_t)1 << k; }
static inline void *bb_payload(bb_block_t *b) { return (char *)b + BB_HEADER_SIZE; }
static inline bb_block_t *bb_header(const void *p)
{ return (bb_block_t *)((char *)p - BB_HEADER_SIZE); }
/* The computed buddy: address XOR size. */
static inline bb_block_t *bb_buddy(const bb_block_t *b, unsigned k)
{ return (bb_block_t *)((uintptr_t)b ^ (uintptr_t)bb_order_size(k)); }

/* The order a request of n <= BB_MAX_CHUNK_REQUEST bytes takes. */
static inline unsigned bb_order_for(size_t n)
{
    size_t need = n + BB_HEADER_SIZE;
    if (need <= bb_order_size(BB_MIN_ORDER))
        return BB_MIN_ORDER;
    return (unsigned)(64 - __builtin_clzll((unsigned long long)(need - 1)));
}

/* A directly mapped block: this node, then the block header, then the
 * payload, at the start of a page-aligned mapping of mapsize bytes. */
typedef struct bb_direct_s {
    struct bb_direct_s *next, *prev;
    size_t mapsize;
    uint64_t pad;
} bb_direct_t;
#define BB_DIRECT_OFFSET (sizeof(bb_direct_t) + BB_HEADER_SIZE)
_Static_assert(sizeof(bb_direct_t) % BB_ALIGNMENT == 0, "direct payloads aligned");

static inline bb_direct_t *bb_direct_node(bb_block_t *b)
{ return (bb_direct_t *)((char *)b - sizeof(bb_direct_t)); }

/* ==========================================================================
 * The heap: one instance, all of its state in one mapping.
 */
typedef struct bb_heap_s {
    bb_block_t *free_lists[BB_NORDERS];
    size_t nfree[BB_NORDERS];      /* length of free_lists[k] */
    uint32_t nonempty;             /* bit k iff free_lists[k] != NULL */

    uintptr_t *chunks;             /* chunk bases, unordered, own mapping */
    size_t nchunks, chunks_cap;
    bb_direct_t *direct;           /* directly mapped blocks, doubly linked */
    size_t ndirect, direct_bytes;

    size_t page_size;
    size_t state_size;             /* this struct's mapping */
    size_t held, held_peak;        /* every byte mapped, state included */
    size_t mappings;               /* every mapping held */
    size_t live_blocks, live_bytes;

    struct {                       /* HL_STATS event counters */
        size_t mallocs, frees, reallocs, splits, merges;
        size_t realloc_in_place, realloc_moved;
        size_t chunks_mapped, chunks_unmapped, direct_mapped;
    } counters;
} bb_heap_t;

static bool bb_heap_is_valid(bb_heap_t *h, FILE *report);

/* Fatal misuse report: never allocates. */
__attribute__((noreturn, cold, unused))
static void bb_fatal(const char *op, const void *p, const char *what)
{
    char buf[256];
    int n = snprintf(buf, sizeof buf, "heaplab buddy: %s(%p): %s\n", op, p, what);
    if (n > 0)
        (void)!write(2, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
    abort();
}

/* The header of a pointer this heap handed out; misuse is fatal in debug
 * builds (see the file comment). */
/* Not instrumented: reading the 16 bytes before a foreign pointer is the
 * check itself (under ASan they are often a redzone). */
HL_NO_SANITIZE_ADDRESS
static inline bb_block_t *bb_block_of(bb_heap_t *h, const void *p, const char *op)
{
    bb_block_t *b = bb_header(p);
#if HL_DEBUG >= 1
    if (((uintptr_t)p & (BB_ALIGNMENT - 1)) != 0)
        bb_fatal(op, p, "pointer not allocated by this heap (misaligned)");
    /* a copy, read here, so that only this function reads foreign memory */
    bb_block_t hdr = {.info = b->info, .owner = b->owner};
    if (!bb_has_magic(&hdr) || hdr.owner != h)
        bb_fatal(op, p, "pointer not allocated by this heap (or freed and coalesced)");
    if (!bb_is_allocated(&hdr))
        bb_fatal(op, p, "double free: the block is already free");
#else
    HL_UNUSED(h); HL_UNUSED(op);
#endif
    return b;
}

/* ==========================================================================
 * Mappings.
 */
static void *bb_map(bb_heap_t *h, size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    h->held += len;
    if (h->held > h->held_peak)
        h->held_peak = h->held;
    h->mappings++;
    return p;
}

static void bb_unmap(bb_heap_t *h, void *p, size_t len)
{
    hl_assert_internal(h->held >= len && h->mappings > 0);
    munmap(p, len);
    h->held -= len;
    h->mappings--;
}

/* len bytes aligned to len (a power of two): map twice as much and trim. */
static void *bb_map_aligned(bb_heap_t *h, size_t len)
{
    char *raw = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    uintptr_t start = ((uintptr_t)raw + len - 1) & ~(uintptr_t)(len - 1);
    size_t lead = start - (uintptr_t)raw;
    if (lead)
        munmap(raw, lead);
    if (len - lead)
        munmap((char *)start + len, len - lead);
    h->held += len;
    if (h->held > h->held_peak)
        h->held_peak = h->held;
    h->mappings++;
    return (void *)start;
}

/* ==========================================================================
 * Free lists.
 */
static inline void bb_push(bb_heap_t *h, bb_block_t *b, unsigned k)
{
    hl_assert_internal(!bb_is_allocated(b) && bb_order(b) == k);
    b->prev = NULL;
    b->next = h->free_lists[k];
    if (b->next)
        b->next->prev = b;
    h->free_lists[k] = b;
    h->nfree[k]++;
    h->nonempty |= 1u << k;
}

static inline void bb_unlink(bb_heap_t *h, bb_block_t *b, unsigned k)
{
    hl_assert_internal(!bb_is_allocated(b) && bb_order(b) == k && h->nfree[k] > 0);
    if (b->prev)
        b->prev->next = b->next;
    else
        h->free_lists[k] = b->next;
    if (b->next)
        b->next->prev = b->prev;
    h->nfree[k]--;
    if (h->free_lists[k] == NULL)
        h->nonempty &= ~(1u << k);
}

/* ==========================================================================
 * Chunks.
 */
static bool bb_add_chunk(bb_heap_t *h)
{
    if (h->nchunks == h->chunks_cap) {
        size_t cap = h->chunks_cap ? 2 * h->chunks_cap : h->page_size / sizeof(uintptr_t);
        uintptr_t *t = bb_map(h, cap * sizeof(uintptr_t));
        if (t == NULL)
            return false;
        if (h->chunks) {
            memcpy(t, h->chunks, h->nchunks * sizeof(uintptr_t));
            bb_unmap(h, h->chunks, h->chunks_cap * sizeof(uintptr_t));
        }
        h->chunks = t;
        h->chunks_cap = cap;
    }
    bb_block_t *b = bb_map_aligned(h, BB_CHUNK_SIZE);
    if (b == NULL)
        return false;
    h->chunks[h->nchunks++] = (uintptr_t)b;
    hl_stat_inc(h->counters.chunks_mapped);
    bb_set_header(b, h, BB_CHUNK_ORDER, false);
    bb_push(h, b, BB_CHUNK_ORDER);
    return true;
}

/* b is a wholly free chunk, on free_lists[BB_CHUNK_ORDER]. */
static void bb_release_chunk(bb_heap_t *h, bb_block_t *b)
{
    bb_unlink(h, b, BB_CHUNK_ORDER);
    size_t i = 0;
    while (i < h->nchunks && h->chunks[i] != (uintptr_t)b)
        i++;
    hl_assert_internal(i < h->nchunks);
    h->chunks[i] = h->chunks[--h->nchunks];
    bb_unmap(h, b, BB_CHUNK_SIZE);
    hl_stat_inc(h->counters.chunks_unmapped);
}

/* ==========================================================================
 * Chunk blocks: allocate with splitting, free with coalescing.
 */
static bb_block_t *bb_alloc_block(bb_heap_t *h, unsigned k)
{
    uint32_t fits = h->nonempty & ~((1u << k) - 1);
    if (fits == 0) {
        if (!bb_add_chunk(h))
            return NULL;
        fits = h->nonempty & ~((1u << k) - 1);
    }
    unsigned j = (unsigned)__builtin_ctz(fits);
    bb_block_t *b = h->free_lists[j];
    hl_assert_internal(b != NULL && j >= k);
    bb_unlink(h, b, j);
    while (j > k) {          /* split: the upper half goes free */
        j--;
        bb_block_t *upper = (bb_block_t *)((char *)b + bb_order_size(j));
        bb_set_header(upper, h, j, false);
        bb_push(h, upper, j);
        hl_stat_inc(h->counters.splits);
    }
    bb_set_header(b, h, k, true);
    return b;
}

static void bb_free_block(bb_heap_t *h, bb_block_t *b)
{
    unsigned k = bb_order(b);
    bb_set_allocated(b, false);
    while (k < BB_CHUNK_ORDER) {
#ifdef HL_PLANT_BUDDY_WRONG_BUDDY
        /* planted bug: the buddy taken as the next block up (address + size),
         * not address XOR size: an upper buddy merges with its right neighbour */
        bb_block_t *buddy = (bb_block_t *)((char *)b + bb_order_size(k));
#else
        bb_block_t *buddy = bb_buddy(b, k);
#endif
        if (bb_is_allocated(buddy) || bb_order(buddy) != k)
            break;           /* in use, or split into smaller blocks */
        bb_unlink(h, buddy, k);
        if (buddy < b) {
            bb_erase_header(b);
            b = buddy;
        }
        else {
            bb_erase_header(buddy);
        }
        k++;
        bb_set_header(b, h, k, false);
        hl_stat_inc(h->counters.merges);
    }
    bb_push(h, b, k);
    if (k == BB_CHUNK_ORDER && h->nfree[BB_CHUNK_ORDER] > BB_KEEP_FREE_CHUNKS)
        bb_release_chunk(h, b);
}

/* ==========================================================================
 * Direct blocks.
 */
static inline size_t bb_direct_mapsize(bb_heap_t *h, size_t n)
{
    return (n + BB_DIRECT_OFFSET + h->page_size - 1) & ~(h->page_size - 1);
}

static void bb_direct_link(bb_heap_t *h, bb_direct_t *d)
{
    d->prev = NULL;
    d->next = h->direct;
    if (d->next)
        d->next->prev = d;
    h->direct = d;
    h->ndirect++;
    h->direct_bytes += d->mapsize;
}

static void bb_direct_unlink(bb_heap_t *h, bb_direct_t *d)
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

static bb_block_t *bb_direct_alloc(bb_heap_t *h, size_t n)
{
    size_t len = bb_direct_mapsize(h, n);
    bb_direct_t *d = bb_map(h, len);
    if (d == NULL)
        return NULL;
    d->mapsize = len;
    bb_direct_link(h, d);
    bb_block_t *b = (bb_block_t *)(d + 1);
    b->info = BB_MAGIC | BB_DIRECT | BB_ALLOCATED;
    b->owner = h;
    hl_stat_inc(h->counters.direct_mapped);
    return b;
}

static void bb_direct_free(bb_heap_t *h, bb_block_t *b)
{
    bb_direct_t *d = bb_direct_node(b);
    bb_direct_unlink(h, d);
    bb_unmap(h, d, d->mapsize);
}

static inline size_t bb_usable(bb_block_t *b)
{
    if (bb_is_direct(b))
        return bb_direct_node(b)->mapsize - BB_DIRECT_OFFSET;
    return bb_order_size(bb_order(b)) - BB_HEADER_SIZE;
}

/* ==========================================================================
 * The vtable.
 */
static void *bb_alloc(bb_heap_t *h, size_t n, bool zero)
{
    if (n > BB_MAX_REQUEST)
        return NULL;
    bb_block_t *b;
    if (n > BB_MAX_CHUNK_REQUEST) {
        b = bb_direct_alloc(h, n);
        zero = false;        /* fresh anonymous pages are zero */
    }
    else {
        b = bb_alloc_block(h, bb_order_for(n));
    }
    if (b == NULL)
        return NULL;
    void *p = bb_payload(b);
    size_t usable = bb_usable(b);
    hl_assert(((uintptr_t)p & (BB_ALIGNMENT - 1)) == 0 && usable >= n);
    if (zero)
        memset(p, 0, n);
    h->live_blocks++;
    h->live_bytes += usable;
    return p;
}

static void *bb_malloc(void *ctx, size_t n)
{
    bb_heap_t *h = ctx;
    hl_stat_inc(h->counters.mallocs);
    void *p = bb_alloc(h, n, false);
    hl_assert_expensive(bb_heap_is_valid(h, stderr));
    return p;
}

static void *bb_calloc(void *ctx, size_t nelem, size_t elsize)
{
    bb_heap_t *h = ctx;
    if (elsize != 0 && nelem > SIZE_MAX / elsize)
        return NULL;
    hl_stat_inc(h->counters.mallocs);
    void *p = bb_alloc(h, nelem * elsize, true);
    hl_assert_expensive(bb_heap_is_valid(h, stderr));
    return p;
}

static void bb_free_checked(bb_heap_t *h, bb_block_t *b)
{
    size_t usable = bb_usable(b);
    hl_assert_internal(h->live_blocks > 0 && h->live_bytes >= usable);
    h->live_blocks--;
    h->live_bytes -= usable;
    if (bb_is_direct(b))
        bb_direct_free(h, b);
    else
        bb_free_block(h, b);
}

static void bb_free(void *ctx, void *p)
{
    bb_heap_t *h = ctx;
    if (p == NULL)
        return;
    hl_stat_inc(h->counters.frees);
    bb_free_checked(h, bb_block_of(h, p, "free"));
    hl_assert_expensive(bb_heap_is_valid(h, stderr));
}

/* In place, if the design allows; NULL if not. */
static void *bb_resize_in_place(bb_heap_t *h, bb_block_t *b, size_t n)
{
    if (bb_is_direct(b)) {
        if (n <= BB_MAX_CHUNK_REQUEST)
            return NULL;     /* move it into a chunk: pages are not for small blocks */
        bb_direct_t *d = bb_direct_node(b);
        size_t old = d->mapsize, len = bb_direct_mapsize(h, n);
        if (len == old)
            return bb_payload(b);
        bb_direct_unlink(h, d);
        bb_direct_t *nd = mremap(d, old, len, MREMAP_MAYMOVE);
        if (nd == MAP_FAILED) {
            bb_direct_link(h, d);
            return NULL;
        }
        nd->mapsize = len;
        bb_direct_link(h, nd);
        h->held = h->held - old + len;
        if (h->held > h->held_peak)
            h->held_peak = h->held;
        h->live_bytes = h->live_bytes - (old - BB_DIRECT_OFFSET) + (len - BB_DIRECT_OFFSET);
        return (char *)nd + BB_DIRECT_OFFSET;
    }
    if (n > BB_MAX_CHUNK_REQUEST)
        return NULL;
    unsigned cur = bb_order(b), k = bb_order_for(n);
    if (k < cur) {
        /* Shrink: split off the upper halves.  Each one's buddy is the part
         * of b we keep, which is allocated, so nothing coalesces. */
        for (unsigned j = cur; j-- > k;) {
            bb_block_t *upper = (bb_block_t *)((char *)b + bb_order_size(j));
            bb_set_header(upper, h, j, false);
            bb_push(h, upper, j);
            hl_stat_inc(h->counters.splits);
        }
    }
    else if (k > cur) {
        /* Grow: b must be the lower buddy at every order from cur to k-1,
         * and each upper buddy free and whole. */
        for (unsigned j = cur; j < k; j++) {
            bb_block_t *buddy = bb_buddy(b, j);
            if (buddy < b || bb_is_allocated(buddy) || bb_order(buddy) != j)
                return NULL;
        }
        for (unsigned j = cur; j < k; j++) {
            bb_block_t *buddy = bb_buddy(b, j);
            bb_unlink(h, buddy, j);
            bb_erase_header(buddy);
            hl_stat_inc(h->counters.merges);
        }
    }
    h->live_bytes = h->live_bytes - bb_order_size(cur) + bb_order_size(k);
    bb_set_header(b, h, k, true);
    return bb_payload(b);
}

/* realloc's move takes and gives back a block below malloc and free: no
 * malloc or free counted, no second check of p. */
static void *bb_move_alloc(void *ctx, size_t n) { return bb_alloc(ctx, n, false); }
static void bb_move_free(void *ctx, void *p) { bb_free_checked(ctx, bb_header(p)); }

static void *bb_realloc(void *ctx, void *p, size_t n)
{
    bb_heap_t *h = ctx;
    if (p == NULL)
        return bb_malloc(ctx, n);
    hl_stat_inc(h->counters.reallocs);
    bb_block_t *b = bb_block_of(h, p, "realloc");
    if (n > BB_MAX_REQUEST)
        return NULL;
    void *q = bb_resize_in_place(h, b, n);
    if (q != NULL) {
        hl_stat_inc(h->counters.realloc_in_place);
    }
    else {
        q = _hl_fit_realloc_move(h, p, bb_usable(b), n, bb_move_alloc, bb_move_free);
        if (q != NULL)
            hl_stat_inc(h->counters.realloc_moved);
    }
    hl_assert_expensive(bb_heap_is_valid(h, stderr));
    return q;
}

static size_t bb_usable_size(void *ctx, const void *p)
{
    bb_heap_t *h = ctx;
    return bb_usable(bb_block_of(h, p, "usable_size"));
}

static void bb_stats(void *ctx, hl_stats_t *out)
{
    bb_heap_t *h = ctx;
    out->valid = HL_STAT_HELD | HL_STAT_LIVE_BLOCKS | HL_STAT_LIVE_BYTES;
    out->held_bytes = h->held;
    out->held_peak_bytes = h->held_peak;
    out->live_blocks = h->live_blocks;
    out->live_bytes = h->live_bytes;
}

/* ==========================================================================
 * The invariants, as an executable check (see the file comment).
 */
#define FAIL(...) HL_FIT_FAIL(report, "buddy", __VA_ARGS__)

/* It sets and clears BB_MARK in free headers, so it is not const.  Marks
 * are set only by the list walk and cleared by the chunk walk; when the walk
 * stops at a broken invariant, bb_heap_is_valid clears what is left by
 * walking the lists again (bounded), so a later check starts clean. */
static bool bb_heap_walk(bb_heap_t *h, FILE *report)
{
    /* 1. The index: bitmap, list links, list membership.  Each listed block
     * is marked; the chunk walk unmarks every free block it meets, so
     * "on a list iff free" holds iff every free block is marked exactly
     * once and the counts agree. */
    size_t listed = 0;
    for (unsigned k = 0; k < BB_NORDERS; k++) {
        bool bit = (h->nonempty >> k) & 1u;
        if (bit != (h->free_lists[k] != NULL))
            FAIL("nonempty bit %u is %d but free_lists[%u] is %s", k, bit, k,
                 h->free_lists[k] ? "non-empty" : "empty");
        if (k < BB_MIN_ORDER && h->free_lists[k] != NULL)
            FAIL("free_lists[%u] below BB_MIN_ORDER is not empty", k);
        size_t n = 0;
        bb_block_t *prev = NULL;
        for (bb_block_t *b = h->free_lists[k]; b != NULL; prev = b, b = b->next) {
            if (!bb_has_magic(b) || b->owner != h || bb_is_direct(b))
                FAIL("free_lists[%u]: %p is not a block of this heap", k, (void *)b);
            if (bb_is_allocated(b))
                FAIL("free_lists[%u]: block %p is allocated", k, (void *)b);
            if (bb_order(b) != k)
                FAIL("free_lists[%u]: block %p has order %u", k, (void *)b, bb_order(b));
            if (b->prev != prev)
                FAIL("free_lists[%u]: block %p: prev is not its predecessor", k, (void *)b);
            if (bb_is_marked(b))
                FAIL("free_lists[%u]: block %p is listed twice", k, (void *)b);
            bb_set_mark(b, true);
            if (++n > h->nfree[k])
                FAIL("free_lists[%u] is longer than nfree %zu", k, h->nfree[k]);
        }
        if (n != h->nfree[k])
            FAIL("free_lists[%u] has %zu blocks, nfree says %zu", k, n, h->nfree[k]);
        listed += n;
    }
    if (h->nfree[BB_CHUNK_ORDER] > BB_KEEP_FREE_CHUNKS)
        FAIL("%zu wholly free chunks kept, at most %d", h->nfree[BB_CHUNK_ORDER],
             BB_KEEP_FREE_CHUNKS);

    /* 2. Every chunk, tiled by its blocks. */
    size_t free_seen = 0, live_blocks = 0, live_bytes = 0;
    if (h->nchunks > h->chunks_cap)
        FAIL("nchunks %zu > capacity %zu", h->nchunks, h->chunks_cap);
    for (size_t i = 0; i < h->nchunks; i++) {
        uintptr_t base = h->chunks[i], end = base + BB_CHUNK_SIZE;
        if (base == 0 || (base & (BB_CHUNK_SIZE - 1)) != 0)
            FAIL("chunk %zu at %#lx is not aligned to its size", i, (unsigned long)base);
        for (size_t j = 0; j < i; j++)
            if (h->chunks[j] == base)
                FAIL("chunk %#lx is in the chunk table twice", (unsigned long)base);
        uintptr_t a = base;
        while (a < end) {
            bb_block_t *b = (bb_block_t *)a;
            if (!bb_has_magic(b) || b->owner != h || bb_is_direct(b))
                FAIL("chunk %#lx: no block header at offset %#lx", (unsigned long)base,
                     (unsigned long)(a - base));
            unsigned k = bb_order(b);
            if (k < BB_MIN_ORDER || k > BB_CHUNK_ORDER)
                FAIL("block %p: order %u out of range", (void *)b, k);
            if (((a - base) & (bb_order_size(k) - 1)) != 0)
                FAIL("block %p: offset %#lx is not a multiple of its size 2**%u", (void *)b,
                     (unsigned long)(a - base), k);
            if (a + bb_order_size(k) > end)
                FAIL("block %p of order %u runs past its chunk", (void *)b, k);
            if (bb_is_allocated(b)) {
                if (bb_is_marked(b))
                    FAIL("allocated block %p is on a free list", (void *)b);
                live_blocks++;
                live_bytes += bb_order_size(k) - BB_HEADER_SIZE;
            }
            else {
                if (!bb_is_marked(b))
                    FAIL("free block %p (order %u) is on no free list", (void *)b, k);
                bb_set_mark(b, false);
                free_seen++;
                if (k < BB_CHUNK_ORDER) {
                    bb_block_t *buddy = bb_buddy(b, k);
                    if (!bb_is_allocated(buddy) && bb_order(buddy) == k)
                        FAIL("free block %p and its free buddy %p (order %u) did not coalesce",
                             (void *)b, (void *)buddy, k);
                }
            }
            a += bb_order_size(k);
        }
        if (a != end)
            FAIL("chunk %#lx: blocks do not tile it", (unsigned long)base);
    }
    if (free_seen != listed)
        FAIL("%zu free blocks in the chunks, %zu on the free lists", free_seen, listed);

    /* 3. Direct blocks. */
    size_t ndirect = 0, direct_bytes = 0;
    bb_direct_t *dprev = NULL;
    for (bb_direct_t *d = h->direct; d != NULL; dprev = d, d = d->next) {
        bb_block_t *b = (bb_block_t *)(d + 1);
        if (d->prev != dprev)
            FAIL("direct block %p: prev is not its predecessor", (void *)d);
        if (((uintptr_t)d & (h->page_size - 1)) || (d->mapsize & (h->page_size - 1)))
            FAIL("direct block %p: mapping not page-aligned", (void *)d);
        if (!bb_has_magic(b) || b->owner != h || !bb_is_direct(b) || !bb_is_allocated(b))
            FAIL("direct block %p: bad header", (void *)d);
        if (d->mapsize - BB_DIRECT_OFFSET <= BB_MAX_CHUNK_REQUEST)
            FAIL("direct block %p: %zu bytes would fit a chunk", (void *)d, d->mapsize);
        if (++ndirect > h->ndirect)
            FAIL("direct list longer than ndirect %zu", h->ndirect);
        direct_bytes += d->mapsize;
        live_blocks++;
        live_bytes += d->mapsize - BB_DIRECT_OFFSET;
    }
    if (ndirect != h->ndirect || direct_bytes != h->direct_bytes)
        FAIL("direct list: %zu blocks / %zu bytes, counters say %zu / %zu", ndirect,
             direct_bytes, h->ndirect, h->direct_bytes);

    /* 4. Counters. */
    if (live_blocks != h->live_blocks || live_bytes != h->live_bytes)
        FAIL("%zu live blocks / %zu bytes found, counters say %zu / %zu", live_blocks,
             live_bytes, h->live_blocks, h->live_bytes);
    size_t held = h->state_size + h->chunks_cap * sizeof(uintptr_t) +
                  h->nchunks * BB_CHUNK_SIZE + h->direct_bytes;
    if (held != h->held || h->held > h->held_peak)
        FAIL("held %zu (peak %zu), expected %zu", h->held, h->held_peak, held);
    size_t mappings = 1 + (h->chunks != NULL) + h->nchunks + h->ndirect;
    if (mappings != h->mappings)
        FAIL("%zu mappings counted, expected %zu", h->mappings, mappings);
    return true;
}
#undef FAIL

static bool bb_heap_is_valid(bb_heap_t *h, FILE *report)
{
    if (bb_heap_walk(h, report))
        return true;
    for (unsigned k = 0; k < BB_NORDERS; k++) {
        size_t n = 0;
        for (bb_block_t *b = h->free_lists[k]; b != NULL && n <= h->nfree[k]; b = b->next, n++)
            bb_set_mark(b, false);
    }
    return false;
}

static bool bb_check(void *ctx, FILE *report)
{
    return bb_heap_is_valid(ctx, report);
}

static int bb_print_stats(void *ctx, FILE *out)
{
    bb_heap_t *h = ctx;
    fprintf(out, "buddy: %zu chunks of %zu bytes, %zu direct blocks (%zu bytes)\n",
            h->nchunks, BB_CHUNK_SIZE, h->ndirect, h->direct_bytes);
    fprintf(out, "held %zu bytes (peak %zu) in %zu mappings; live %zu blocks, %zu usable bytes\n",
            h->held, h->held_peak, h->mappings, h->live_blocks, h->live_bytes);
    fprintf(out, "order  block size  free blocks\n");
    for (unsigned k = BB_MIN_ORDER; k < BB_NORDERS; k++)
        fprintf(out, "%5u  %10zu  %11zu\n", k, bb_order_size(k), h->nfree[k]);
#if HL_STATS
    fprintf(out, "mallocs %zu, frees %zu, reallocs %zu (%zu in place, %zu moved)\n",
            h->counters.mallocs, h->counters.frees, h->counters.reallocs,
            h->counters.realloc_in_place, h->counters.realloc_moved);
    fprintf(out, "splits %zu, merges %zu, chunks mapped %zu / unmapped %zu, direct mapped %zu\n",
            h->counters.splits, h->counters.merges, h->counters.chunks_mapped,
            h->counters.chunks_unmapped, h->counters.direct_mapped);
#endif
    return 1;
}

static void bb_destroy(void *ctx)
{
    bb_heap_t *h = ctx;
    for (size_t i = 0; i < h->nchunks; i++)
        munmap((void *)h->chunks[i], BB_CHUNK_SIZE);
    for (bb_direct_t *d = h->direct, *next; d != NULL; d = next) {
        next = d->next;
        munmap(d, d->mapsize);
    }
    if (h->chunks)
        munmap(h->chunks, h->chunks_cap * sizeof(uintptr_t));
    munmap(h, h->state_size);
}

/* ==========================================================================
 * The walk: the heap as spans (see the file comment).
 */

/* Report [a, a + n) as kind, if n > 0. */
static inline void bb_span(hl_span_fn fn, void *user, uintptr_t a, size_t n,
                           hl_span_kind_t kind)
{
    if (n > 0)
        fn(user, a, n, kind);
}

static int bb_walk(void *ctx, hl_span_fn fn, void *user)
{
    bb_heap_t *h = ctx;
    bb_span(fn, user, (uintptr_t)h, h->state_size, HL_SPAN_OVERHEAD);
    if (h->chunks != NULL)
        bb_span(fn, user, (uintptr_t)h->chunks, h->chunks_cap * sizeof(uintptr_t),
                HL_SPAN_OVERHEAD);
    if (h->nchunks > h->chunks_cap)
        return -1;
    for (size_t i = 0; i < h->nchunks; i++) {
        uintptr_t base = h->chunks[i], end = base + BB_CHUNK_SIZE, a = base;
        if (base == 0 || (base & (BB_CHUNK_SIZE - 1)) != 0)
            return -1;
        while (a < end) {
            const bb_block_t *b = (const bb_block_t *)a;
            unsigned k = bb_order(b);
            /* what bb_heap_walk checks of a block's place in its chunk */
            if (!bb_has_magic(b) || b->owner != h || bb_is_direct(b) || k < BB_MIN_ORDER ||
                k > BB_CHUNK_ORDER || ((a - base) & (bb_order_size(k) - 1)) != 0 ||
                a + bb_order_size(k) > end)
                return -1;
            bb_span(fn, user, a, BB_HEADER_SIZE, HL_SPAN_OVERHEAD);
            bb_span(fn, user, a + BB_HEADER_SIZE, bb_order_size(k) - BB_HEADER_SIZE,
                    bb_is_allocated(b) ? HL_SPAN_USED : HL_SPAN_FREE);
            a += bb_order_size(k);
        }
    }
    size_t ndirect = 0;
    for (bb_direct_t *d = h->direct; d != NULL; d = d->next) {
        const bb_block_t *b = (const bb_block_t *)(d + 1);
        if (++ndirect > h->ndirect || !bb_has_magic(b) || b->owner != h || !bb_is_direct(b) ||
            !bb_is_allocated(b) || (d->mapsize & (h->page_size - 1)) ||
            d->mapsize <= BB_DIRECT_OFFSET)
            return -1;
        bb_span(fn, user, (uintptr_t)d, BB_DIRECT_OFFSET, HL_SPAN_OVERHEAD);
        bb_span(fn, user, (uintptr_t)d + BB_DIRECT_OFFSET, d->mapsize - BB_DIRECT_OFFSET,
                HL_SPAN_USED);
    }
    return ndirect == h->ndirect ? 0 : -1;
}

static const hl_allocator_ops_t bb_ops = {
    .malloc = bb_malloc,
    .calloc = bb_calloc,
    .realloc = bb_realloc,
    .free = bb_free,
    .usable_size = bb_usable_size,
    .stats = bb_stats,
    .check = bb_check,
    .print_stats = bb_print_stats,
    .destroy = bb_destroy,
    .walk = bb_walk,
};

int hl_buddy_create(const hl_alloc_options_t *opt, hl_allocator_t *out, char *err,
                    size_t errlen)
{
    HL_UNUSED(opt);
    long ps = sysconf(_SC_PAGESIZE);
    if (ps <= 0 || (size_t)ps > BB_CHUNK_SIZE || (ps & (ps - 1)) != 0)
        return _hl_err(err, errlen, "buddy: unsupported page size %ld", ps);
    size_t state_size = (sizeof(bb_heap_t) + (size_t)ps - 1) & ~((size_t)ps - 1);
    bb_heap_t *h = mmap(NULL, state_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                        -1, 0);
    if (h == MAP_FAILED)
        return _hl_err(err, errlen, "buddy: cannot map its state");
    /* zeroed by mmap: empty lists, no chunks */
    h->page_size = (size_t)ps;
    h->state_size = state_size;
    h->held = h->held_peak = state_size;
    h->mappings = 1;
    out->ops = &bb_ops;
    out->ctx = h;
    out->name = "buddy";
    return 0;
}

void _hl_buddy_census(const hl_allocator_t *a, hl_classic_census_t *out)
{
    bb_heap_t *h = a->ctx;
    memset(out, 0, sizeof *out);
    out->chunks = h->nchunks;
    out->chunk_size = BB_CHUNK_SIZE;
    for (unsigned k = BB_MIN_ORDER; k < BB_NORDERS; k++)
        out->free_blocks += h->nfree[k];
    out->whole_free = h->nfree[BB_CHUNK_ORDER];
    out->direct = h->ndirect;
    out->mappings = h->mappings;
    out->max_small_request = BB_MAX_CHUNK_REQUEST;
}
