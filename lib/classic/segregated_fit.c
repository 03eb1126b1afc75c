/* segregated_fit.c: segregated fits with splitting and coalescing, in the
 * manner of Doug Lea's dlmalloc (Wilson et al. 1995, section 3.6: "size
 * classes with range lists"; dlmalloc is the survey's example).
 *
 * Policy
 * ------
 * Free blocks sit in bins by size:
 *   small bins   one per block size 32, 48, ..., 1008 (exact sizes, LIFO);
 *                `smallmap` has bit i set iff small bin i is non-empty.
 *   large bins   two per power of two from 1 KiB (1024-1535, 1536-2047,
 *                2048-3071, ...), the last one open-ended; each kept sorted
 *                by size, smallest first; `largemap` as smallmap.
 * malloc(n) for a block of `need` bytes takes, in order:
 *   1. the exact small bin, if need is small and it is non-empty;
 *   2. the smallest block >= need in the bins: the first fit in need's own
 *      large bin (sorted, so the best fit there), else the first block of
 *      the next non-empty bin found through the bitmaps (the smallest there);
 *   3. the front of the "top" block (the wilderness: the free end of the
 *      newest segment, in no bin);
 *   4. a new segment, which becomes the new top (the old top goes to a bin).
 * Whatever is left of the block, if it can be a block, is split off and
 * binned (or stays top).  This is a good approximation of best fit, with
 * address-ordered preference for the wilderness, as dlmalloc's.
 * Requests of SF_MMAP_THRESHOLD bytes or more get their own mapping and are
 * unmapped by free.  free coalesces at once with both neighbours (boundary
 * tags), merging into top when adjacent.  A segment that becomes wholly free
 * is unmapped, except the top segment (it is the heap's reserve).
 *
 * The heap
 * --------
 *   segment (SF_SEG_SIZE, one mapping)
 *   | next prev size magic | block | block | ... | top | fence (32 B) |
 *   |<--- sf_seg_t 32 B -->|                             prev_foot head seg
 *
 *   block b (16-aligned), dlmalloc's layout:
 *   b+0        b+8             b+16 (payload, 16-aligned)          b+size
 *   | prev_foot | size | flags | fd | bk | ...           ...  | next's prev_foot
 *     prev_foot holds the previous block's size iff it is free (PINUSE clear);
 *     while the previous block is in use, the word is the tail of ITS payload.
 *     So an in-use block costs one 8-byte word (its head): usable = size - 8,
 *     and only free blocks have a footer (the next block's prev_foot).
 *
 *   huge block (its own mapping): | next prev | prev_foot=SF_HUGE_FOOT head | payload
 *                                            b = mapping + 16     b + 16
 *
 * Head values (one 64-bit word; accessors sf_* only):
 *   bit  0      PINUSE   the previous block is in use (or there is none)
 *   bit  1      CINUSE   this block is in use
 *   bit  2      MMAPPED  a huge block, in its own mapping
 *   bit  3      FENCE    the segment's end marker
 *   bits 4..47  size in bytes, a multiple of 16
 *   bits 48..62 SF_MAGIC; bit 63 MARK (transient, set by check() on bin members)
 *
 * Per-block overhead: 8 bytes in use (plus rounding to 16; a request n takes
 * max(32, round_up(n + 8, 16))); free blocks keep a footer.  Per segment 64
 * bytes; per huge block 32 bytes plus rounding to 4 KiB.
 * Alignment: 16.
 *
 * Invariants (checked by sf_check over every segment, bin and huge block):
 *   (F1) each segment's blocks tile [seg+32, seg+size-32) up to its fence;
 *        PINUSE(b) == CINUSE(block before b) for every block and the fence
 *        (the first block has PINUSE set).
 *   (F2) a free block's size is in the next block's prev_foot.
 *   (F3) no two adjacent blocks are free (top included).
 *   (F4) a block is in a bin iff it is free and is not top; it is in the bin
 *        its size maps to; large bins are sorted; a bitmap bit is set iff
 *        its bin is non-empty.
 *   (F5) top != NULL iff the last block of top_seg is free, and then it is
 *        that block; top_seg is the newest segment.
 *   (F6) a segment is wholly free only if it is top_seg.
 *   (F7) live_blocks/live_bytes match the in-use blocks; held == state +
 *        segments + huge mappings.
 *
 * The walk
 * --------
 * sf_walk (`heaplab map`, heaplab/heapmap.h) reports each segment in
 * address order.  Its spans follow the bytes each block owns, which start
 * at the head, 8 bytes into the block: a block b of size s owns
 * [b+8, b+s+8), the next block's prev_foot included, and reports
 *   in use   head (OVERHEAD), [b+16, b+s+8) (USED: exactly the usable
 *            size from the pointer malloc returned)
 *   free     head (OVERHEAD), [b+16, b+s) (FREE, its links included), its
 *            footer, the next block's prev_foot (OVERHEAD)
 *   top      the same, with UNUSED for FREE: the wilderness
 * so the segment header plus the first block's prev_foot, which no block
 * uses, is one OVERHEAD span of 40 bytes, and the fence's last 24 bytes are
 * OVERHEAD.  A huge block is its 32-byte header (OVERHEAD) and its payload
 * (USED).  One USED span per live block; the state mapping is one OVERHEAD
 * span more, so the spans sum to held exactly.  It reads heads and
 * segment headers only (never a bin, never a mark) and returns -1 at the
 * first one that would not let it tile a segment.
 *
 * Worst cases
 * -----------
 * Time: malloc O(1) for a small exact fit and for top; a large request scans
 * its own sorted bin, O(blocks in that bin); bin insertion of a large block
 * is O(blocks in its bin) too (dlmalloc uses a bitwise trie to make both
 * O(log size)).  free O(1) + the large-bin insertion.  Mapping a segment or a
 * huge block is one mmap; realloc of a huge block is one mremap.
 * Fragmentation: internal at most 8 bytes of head + 15 of rounding + an
 * unsplittable tail < 32; external bounded only by Robson's log factor, but
 * near best fit in practice (Johnstone & Wilson 1998).  The top segment is
 * never trimmed, so a heap keeps up to one segment of free memory.
 *
 * Debug-build misuse (HL_DEBUG >= 1), reported through _hl_fit_misuse:
 *   - outside every mapping ever made, not 16-aligned, or no SF_MAGIC head:
 *     "not a block of this allocator";
 *   - CINUSE clear: "double free" (free clears a block's CINUSE at once,
 *     even when it merges into its left neighbour);
 *   - the next block's PINUSE clear: the heads were overrun.
 * Not detectable cheaply: a pointer into a segment or huge block already
 * unmapped (reading its head faults; HL_DEBUG 3 first looks the pointer up
 * among the live mappings).
 */
#include "classic.h"
#include "fit_common.h"
#include "hl_debug.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------------- */
/* Tunables                                                               */

#define SF_NAME "segregated-fit"
#define SF_ALIGNMENT 16
/* An in-use block's overhead: its head word. */
#define SF_HEAD 8
/* The smallest block: prev_foot, head, fd, bk. */
#define SF_MIN_BLOCK 32
/* Exact small bins below 1 KiB: one per 16-byte size, 64 bins, so that a
 * uint64_t bitmap finds the next non-empty one in one instruction. */
#define SF_NSMALL 64
#define SF_SMALL_LIMIT (SF_NSMALL * SF_ALIGNMENT)
/* Two large bins per doubling from 1 KiB; 24 reach 4 MiB, past any free
 * block a segment can hold (the last bin takes everything above). */
#define SF_NLARGE 24
/* A segment: 1 MiB, as pymalloc's arena and seqfit's chunk. */
#define SF_SEG_SIZE ((size_t)1 << 20)
/* Requests this large are mapped directly (dlmalloc's default is 256 KiB):
 * they would leave segments mostly empty and are rare enough that a system
 * call each is cheap in proportion. */
#define SF_MMAP_THRESHOLD ((size_t)256 << 10)
#define SF_MAX_REQUEST ((size_t)1 << 46)

#define SF_SEG_HDR 32
#define SF_FENCE_SIZE 32
#define SF_HUGE_HDR 32

_Static_assert(SF_MIN_BLOCK >= 2 * sizeof(size_t) + 2 * sizeof(void *), "a free block holds its links");
_Static_assert(SF_SMALL_LIMIT == 1024 && SF_NSMALL <= 64, "smallmap is one uint64_t");
_Static_assert(SF_NLARGE <= 32, "largemap is one uint32_t");
_Static_assert(((size_t)1 << (10 + SF_NLARGE / 2)) > SF_SEG_SIZE, "large bins cover a segment");
_Static_assert(SF_MMAP_THRESHOLD + SF_HEAD + SF_ALIGNMENT <= SF_SEG_SIZE - SF_SEG_HDR - SF_FENCE_SIZE,
               "every request below the threshold fits a fresh segment");
_Static_assert(SF_MMAP_THRESHOLD >= SF_SMALL_LIMIT, "huge blocks are large");
_Static_assert(SF_SEG_HDR % SF_ALIGNMENT == 0 && SF_FENCE_SIZE % SF_ALIGNMENT == 0 &&
               SF_HUGE_HDR % SF_ALIGNMENT == 0, "blocks stay 16-aligned");
_Static_assert(SF_SEG_SIZE % HL_FIT_OS_PAGE == 0, "segments are whole pages");
_Static_assert(SF_MAX_REQUEST + 2 * HL_FIT_OS_PAGE < ((uint64_t)1 << 48), "sizes fit the head");

/* ---------------------------------------------------------------------- */
/* Heads                                                                  */

#define SF_PINUSE ((uint64_t)1)
#define SF_CINUSE ((uint64_t)2)
#define SF_MMAPPED ((uint64_t)4)
#define SF_FENCE ((uint64_t)8)
#define SF_FLAGS ((uint64_t)15)
#define SF_SIZE_MASK ((uint64_t)0x0000FFFFFFFFFFF0ull)
#define SF_MAGIC ((uint64_t)0x5F17ull << 48)
#define SF_MAGIC_MASK ((uint64_t)0x7FFFull << 48)
#define SF_MARK ((uint64_t)1 << 63)
#define SF_HUGE_FOOT ((size_t)0x5F1A96EB10C5ull)
#define SF_SEG_MAGIC 0x5F5E6E17ull

typedef struct sf_block_s {
    size_t prev_foot;              /* previous block's size iff it is free */
    uint64_t head;                 /* size | flags | magic */
    struct sf_block_s *fd, *bk;    /* free blocks in a bin */
} sf_block_t;

static inline uint64_t sf_make_head(size_t size, uint64_t flags)
{
    return SF_MAGIC | (uint64_t)size | flags;
}
static inline size_t sf_size(const sf_block_t *b) { return (size_t)(b->head & SF_SIZE_MASK); }
static inline bool sf_pinuse(const sf_block_t *b) { return (b->head & SF_PINUSE) != 0; }
static inline bool sf_cinuse(const sf_block_t *b) { return (b->head & SF_CINUSE) != 0; }
static inline bool sf_mmapped(const sf_block_t *b) { return (b->head & SF_MMAPPED) != 0; }
static inline bool sf_is_fence(const sf_block_t *b) { return (b->head & SF_FENCE) != 0; }
static inline bool sf_marked(const sf_block_t *b) { return (b->head & SF_MARK) != 0; }
static inline bool sf_magic_ok(const sf_block_t *b) { return (b->head & SF_MAGIC_MASK) == SF_MAGIC; }
static inline void sf_set_mark(sf_block_t *b, bool on)
{
    b->head = on ? b->head | SF_MARK : b->head & ~SF_MARK;
}
static inline void sf_set_pinuse(sf_block_t *b, bool on)
{
    b->head = on ? b->head | SF_PINUSE : b->head & ~SF_PINUSE;
}
static inline void sf_set_cinuse(sf_block_t *b, bool on)
{
    b->head = on ? b->head | SF_CINUSE : b->head & ~SF_CINUSE;
}
/* New size, CINUSE as given, PINUSE kept. */
static inline void sf_set_size_use(sf_block_t *b, size_t size, bool inuse)
{
    b->head = sf_make_head(size, (b->head & SF_PINUSE) | (inuse ? SF_CINUSE : 0));
}
static inline sf_block_t *sf_at(void *b, size_t off) { return (sf_block_t *)((char *)b + off); }
static inline sf_block_t *sf_next(sf_block_t *b) { return sf_at(b, sf_size(b)); }
static inline void *sf_payload(sf_block_t *b) { return (char *)b + 2 * sizeof(size_t); }
static inline sf_block_t *sf_block_of(const void *p)
{
    return (sf_block_t *)((char *)p - 2 * sizeof(size_t));
}

/* ---------------------------------------------------------------------- */
/* Segments, huge blocks, the instance                                    */

typedef struct sf_seg_s {
    struct sf_seg_s *next, *prev;  /* every segment, newest first */
    size_t size;
    uint64_t magic;
} sf_seg_t;

typedef struct sf_fence_s {
    size_t prev_foot;              /* the last block's size iff it is free */
    uint64_t head;                 /* 32 | CINUSE | FENCE (| PINUSE) */
    sf_seg_t *seg;
    uint64_t pad;
} sf_fence_t;

typedef struct sf_huge_s {
    struct sf_huge_s *next, *prev;
    size_t prev_foot;              /* SF_HUGE_FOOT */
    uint64_t head;                 /* mapping size | PINUSE | CINUSE | MMAPPED */
} sf_huge_t;

_Static_assert(sizeof(sf_seg_t) == SF_SEG_HDR, "SF_SEG_HDR");
_Static_assert(sizeof(sf_fence_t) == SF_FENCE_SIZE, "SF_FENCE_SIZE");
_Static_assert(sizeof(sf_huge_t) == SF_HUGE_HDR, "SF_HUGE_HDR");

static inline sf_block_t *sf_seg_first(sf_seg_t *s) { return sf_at(s, SF_SEG_HDR); }
static inline sf_block_t *sf_seg_fence(sf_seg_t *s) { return sf_at(s, s->size - SF_FENCE_SIZE); }
static inline size_t sf_seg_span(const sf_seg_t *s) { return s->size - SF_SEG_HDR - SF_FENCE_SIZE; }
static inline sf_huge_t *sf_huge_of(sf_block_t *b)
{
    return (sf_huge_t *)((char *)b - 2 * sizeof(void *));
}

typedef struct sf_state_s {
    sf_block_t smallbins[SF_NSMALL];  /* list heads: fd/bk only */
    sf_block_t largebins[SF_NLARGE];
    uint64_t smallmap;
    uint32_t largemap;
    sf_block_t *top;                  /* (F5) */
    sf_seg_t *top_seg;
    sf_seg_t *segs;
    size_t nsegs;
    sf_huge_t *huge;
    size_t nhuge;
    uintptr_t lo, hi;                 /* [lo, hi) covers every mapping ever made */
    size_t held, held_peak;
    size_t live_blocks, live_bytes;
    struct {
        size_t malloc_calls, free_calls, realloc_calls, realloc_in_place;
        size_t exact_hits, bin_fits, top_allocs, splits, coalesces;
        size_t segs_mapped, segs_unmapped, huge_mapped;
    } counters;                       /* HL_STATS */
} sf_state_t;

#define SF_STATE_MAP _hl_fit_round_up(sizeof(sf_state_t), HL_FIT_OS_PAGE)

static bool sf_check(void *ctx, FILE *report);

static void sf_held_add(sf_state_t *st, size_t n)
{
    st->held += n;
    if (st->held > st->held_peak)
        st->held_peak = st->held;
}
static void sf_range_add(sf_state_t *st, const void *p, size_t n)
{
    if (st->lo == 0 || (uintptr_t)p < st->lo)
        st->lo = (uintptr_t)p;
    if ((uintptr_t)p + n > st->hi)
        st->hi = (uintptr_t)p + n;
}

/* ---------------------------------------------------------------------- */
/* Bins                                                                   */

static inline bool sf_is_small(size_t size) { return size < SF_SMALL_LIMIT; }
static inline unsigned sf_small_index(size_t size) { return (unsigned)(size / SF_ALIGNMENT); }
static inline unsigned sf_large_index(size_t size)
{
    unsigned k = 63 - (unsigned)__builtin_clzl(size);  /* size >= 1024: k >= 10 */
    unsigned i = (k - 10) * 2 + (unsigned)((size >> (k - 1)) & 1);
    return i < SF_NLARGE ? i : SF_NLARGE - 1;
}

static inline void sf_link_before(sf_block_t *pos, sf_block_t *b)
{
    b->fd = pos;
    b->bk = pos->bk;
    pos->bk->fd = b;
    pos->bk = b;
}

static void sf_bin_insert(sf_state_t *st, sf_block_t *b)
{
    size_t size = sf_size(b);
#ifdef HL_PLANT_SEGFIT_WRONG_BIN
    /* planted bug: `<=` for `<` at the small/large boundary: a free block of
     * exactly SF_SMALL_LIMIT bytes goes to small bin 64, one past the last */
    if (size <= SF_SMALL_LIMIT) {
#else
    if (sf_is_small(size)) {
#endif
        unsigned i = sf_small_index(size);
        sf_link_before(st->smallbins[i].fd, b);  /* front: LIFO */
        st->smallmap |= (uint64_t)1 << i;
        return;
    }
    unsigned i = sf_large_index(size);
    sf_block_t *bin = &st->largebins[i];
    sf_block_t *pos = bin->fd;
    while (pos != bin && sf_size(pos) < size)
        pos = pos->fd;
    sf_link_before(pos, b);
    st->largemap |= (uint32_t)1 << i;
}

static inline void sf_bin_unlink(sf_state_t *st, sf_block_t *b)
{
    hl_assert_internal(b->fd->bk == b && b->bk->fd == b);
    b->fd->bk = b->bk;
    b->bk->fd = b->fd;
    if (b->fd == b->bk) {  /* both are the bin head: the bin is empty now */
        size_t size = sf_size(b);
        if (sf_is_small(size))
            st->smallmap &= ~((uint64_t)1 << sf_small_index(size));
        else
            st->largemap &= ~((uint32_t)1 << sf_large_index(size));
    }
}

/* Unlink and return the free block the policy picks for `need`, or NULL. */
static sf_block_t *sf_find(sf_state_t *st, size_t need)
{
    unsigned li;
    if (sf_is_small(need)) {
        unsigned i = sf_small_index(need);
        uint64_t bits = st->smallmap & (~(uint64_t)0 << i);
        if (bits) {
            unsigned j = (unsigned)__builtin_ctzll(bits);
            sf_block_t *b = st->smallbins[j].fd;
            sf_bin_unlink(st, b);
            if (j == i)
                hl_stat_inc(st->counters.exact_hits);
            else
                hl_stat_inc(st->counters.bin_fits);
            return b;
        }
        li = 0;
    }
    else {
        li = sf_large_index(need);
        sf_block_t *bin = &st->largebins[li];
        for (sf_block_t *b = bin->fd; b != bin; b = b->fd)
            if (sf_size(b) >= need) {
                sf_bin_unlink(st, b);
                hl_stat_inc(st->counters.bin_fits);
                return b;
            }
        li++;
    }
    if (li >= SF_NLARGE)
        return NULL;
    uint32_t lbits = st->largemap & (~(uint32_t)0 << li);
    if (lbits == 0)
        return NULL;
    sf_block_t *b = st->largebins[__builtin_ctz(lbits)].fd;
    sf_bin_unlink(st, b);
    hl_stat_inc(st->counters.bin_fits);
    return b;
}

/* ---------------------------------------------------------------------- */
/* Segments                                                               */

static void sf_seg_unlink_unmap(sf_state_t *st, sf_seg_t *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        st->segs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    st->nsegs--;
    st->held -= s->size;
    hl_stat_inc(st->counters.segs_unmapped);
    _hl_fit_unmap(s, s->size);
}

/* Map a new segment; it becomes top_seg and its one free block top.  The
 * old top goes to a bin (or, spanning its whole segment, is unmapped). */
static bool sf_seg_new(sf_state_t *st)
{
    sf_seg_t *s = _hl_fit_map(SF_SEG_SIZE);
    if (s == NULL)
        return false;
    s->size = SF_SEG_SIZE;
    s->magic = SF_SEG_MAGIC;
    s->prev = NULL;
    s->next = st->segs;
    if (st->segs)
        st->segs->prev = s;
    st->segs = s;
    st->nsegs++;
    sf_range_add(st, s, SF_SEG_SIZE);
    sf_held_add(st, SF_SEG_SIZE);
    hl_stat_inc(st->counters.segs_mapped);

    sf_block_t *first = sf_seg_first(s);
    size_t span = sf_seg_span(s);
    first->head = sf_make_head(span, SF_PINUSE);
    sf_fence_t *fence = (sf_fence_t *)sf_seg_fence(s);
    fence->prev_foot = span;
    fence->head = sf_make_head(SF_FENCE_SIZE, SF_CINUSE | SF_FENCE);
    fence->seg = s;

    sf_block_t *old = st->top;
    sf_seg_t *old_seg = st->top_seg;
    st->top = first;
    st->top_seg = s;
    if (old != NULL) {
        if (old == sf_seg_first(old_seg) && sf_size(old) == sf_seg_span(old_seg))
            sf_seg_unlink_unmap(st, old_seg);
        else
            sf_bin_insert(st, old);
    }
    return true;
}

/* Carve `need` bytes from the front of top (mapping a segment first if top
 * is too small). */
static sf_block_t *sf_from_top(sf_state_t *st, size_t need)
{
    if (st->top == NULL || sf_size(st->top) < need) {
        if (!sf_seg_new(st))
            return NULL;
    }
    sf_block_t *t = st->top;
    size_t tsize = sf_size(t);
    hl_assert_internal(sf_pinuse(t) && !sf_cinuse(t) && tsize >= need);
    if (tsize - need >= SF_MIN_BLOCK) {
        sf_block_t *r = sf_at(t, need);
        r->head = sf_make_head(tsize - need, SF_PINUSE);
        sf_next(r)->prev_foot = tsize - need;
        st->top = r;
        t->head = sf_make_head(need, SF_PINUSE | SF_CINUSE);
    }
    else {
        sf_set_cinuse(t, true);
        sf_set_pinuse(sf_next(t), true);
        st->top = NULL;
    }
    hl_stat_inc(st->counters.top_allocs);
    return t;
}

/* ---------------------------------------------------------------------- */
/* Freeing a range: coalesce, then top / unmap / bin                      */

/* [b, b+size) becomes free.  b's PINUSE is right; b is in no bin; the block
 * after it has PINUSE set. */
static void sf_dispose(sf_state_t *st, sf_block_t *b, size_t size)
{
    if (!sf_pinuse(b)) {
        size_t psize = b->prev_foot;
        sf_block_t *prev = (sf_block_t *)((char *)b - psize);
        hl_assert_internal(!sf_cinuse(prev) && sf_size(prev) == psize && prev != st->top);
        sf_bin_unlink(st, prev);
        b = prev;
        size += psize;
        hl_stat_inc(st->counters.coalesces);
    }
    sf_block_t *next = sf_at(b, size);
    if (next == st->top) {
        size += sf_size(next);
        b->head = sf_make_head(size, SF_PINUSE);
        sf_at(b, size)->prev_foot = size;
        st->top = b;
        hl_stat_inc(st->counters.coalesces);
        return;
    }
    if (!sf_cinuse(next)) {
        sf_bin_unlink(st, next);
        size += sf_size(next);
        next = sf_at(b, size);
        hl_stat_inc(st->counters.coalesces);
    }
    b->head = sf_make_head(size, SF_PINUSE);
    next->prev_foot = size;
    sf_set_pinuse(next, false);
    if (sf_is_fence(next)) {
        sf_seg_t *s = ((sf_fence_t *)next)->seg;
        if (s == st->top_seg) {
            hl_assert_internal(st->top == NULL);
            st->top = b;  /* (F5) the free end of top_seg is top */
            return;
        }
        if (b == sf_seg_first(s)) {
            sf_seg_unlink_unmap(st, s);  /* (F6) */
            return;
        }
    }
    sf_bin_insert(st, b);
}

/* ---------------------------------------------------------------------- */
/* Huge blocks                                                            */

static void *sf_huge_alloc(sf_state_t *st, size_t n)
{
    size_t mapsize = _hl_fit_round_up(n + SF_HUGE_HDR, HL_FIT_OS_PAGE);
    sf_huge_t *h = _hl_fit_map(mapsize);
    if (h == NULL)
        return NULL;
    h->prev_foot = SF_HUGE_FOOT;
    h->head = sf_make_head(mapsize, SF_PINUSE | SF_CINUSE | SF_MMAPPED);
    h->prev = NULL;
    h->next = st->huge;
    if (st->huge)
        st->huge->prev = h;
    st->huge = h;
    st->nhuge++;
    sf_range_add(st, h, mapsize);
    sf_held_add(st, mapsize);
    st->live_blocks++;
    st->live_bytes += mapsize - SF_HUGE_HDR;
    hl_stat_inc(st->counters.huge_mapped);
    return (char *)h + SF_HUGE_HDR;
}

static void sf_huge_free(sf_state_t *st, sf_huge_t *h)
{
    size_t mapsize = (size_t)(h->head & SF_SIZE_MASK);
    if (h->prev)
        h->prev->next = h->next;
    else
        st->huge = h->next;
    if (h->next)
        h->next->prev = h->prev;
    st->nhuge--;
    st->held -= mapsize;
    st->live_blocks--;
    st->live_bytes -= mapsize - SF_HUGE_HDR;
    _hl_fit_unmap(h, mapsize);
}

/* ---------------------------------------------------------------------- */
/* Pointer checks (debug builds)                                          */

#if HL_DEBUG >= 3
static bool sf_in_live_mapping(const sf_state_t *st, const void *p)
{
    uintptr_t a = (uintptr_t)p;
    for (const sf_seg_t *s = st->segs; s != NULL; s = s->next)
        if (a >= (uintptr_t)s && a < (uintptr_t)s + s->size)
            return true;
    for (const sf_huge_t *h = st->huge; h != NULL; h = h->next)
        if (a >= (uintptr_t)h && a < (uintptr_t)h + (h->head & SF_SIZE_MASK))
            return true;
    return false;
}
#endif

static inline sf_block_t *sf_owned_block(const sf_state_t *st, const void *p, const char *op)
{
    sf_block_t *b = sf_block_of(p);
#if HL_DEBUG >= 1
    if ((uintptr_t)p % SF_ALIGNMENT != 0 || (uintptr_t)p < st->lo || (uintptr_t)p >= st->hi)
        _hl_fit_misuse(SF_NAME, op, p, "not a block of this allocator (outside its mappings)");
#if HL_DEBUG >= 3
    if (!sf_in_live_mapping(st, p))
        _hl_fit_misuse(SF_NAME, op, p, "not in a mapping of this allocator (unmapped?)");
#endif
    /* a huge block's size counts from its mapping, 16 bytes below b */
    uintptr_t start = sf_mmapped(b) ? (uintptr_t)sf_huge_of(b) : (uintptr_t)b;
    if (!sf_magic_ok(b) || sf_is_fence(b) || sf_size(b) < SF_MIN_BLOCK ||
        sf_size(b) > st->hi - start)
        _hl_fit_misuse(SF_NAME, op, p, "not a block of this allocator (no block head)");
    if (!sf_cinuse(b))
        _hl_fit_misuse(SF_NAME, op, p, "double free (the block is already free)");
    if (sf_mmapped(b)) {
        if (b->prev_foot != SF_HUGE_FOOT || (uintptr_t)p % HL_FIT_OS_PAGE != SF_HUGE_HDR)
            _hl_fit_misuse(SF_NAME, op, p, "not a block of this allocator (bad huge header)");
    }
    else if (!sf_pinuse(sf_next(b))) {
        _hl_fit_misuse(SF_NAME, op, p, "the next block's head says this one is free (overrun?)");
    }
#else
    HL_UNUSED(st);
    HL_UNUSED(op);
#endif
    return b;
}

/* ---------------------------------------------------------------------- */
/* The vtable                                                             */

static inline size_t sf_request2size(size_t n)
{
    size_t size = _hl_fit_round_up(n + SF_HEAD, SF_ALIGNMENT);
    return size < SF_MIN_BLOCK ? SF_MIN_BLOCK : size;
}

static void *sf_malloc(void *ctx, size_t n)
{
    sf_state_t *st = ctx;
    if (HL_UNLIKELY(n > SF_MAX_REQUEST))
        return NULL;
    hl_stat_inc(st->counters.malloc_calls);
    if (HL_UNLIKELY(n >= SF_MMAP_THRESHOLD)) {
        void *p = sf_huge_alloc(st, n);
        hl_assert_expensive(sf_check(st, stderr));
        return p;
    }
    size_t need = sf_request2size(n);
    sf_block_t *b = sf_find(st, need);
    if (b != NULL) {
        size_t size = sf_size(b);
        hl_assert_internal(sf_pinuse(b) && !sf_cinuse(b) && size >= need);
        if (size - need >= SF_MIN_BLOCK) {
            sf_block_t *r = sf_at(b, need);
            r->head = sf_make_head(size - need, SF_PINUSE);
            sf_next(r)->prev_foot = size - need;  /* its PINUSE is already clear */
            sf_bin_insert(st, r);
            b->head = sf_make_head(need, SF_PINUSE | SF_CINUSE);
            hl_stat_inc(st->counters.splits);
        }
        else {
            sf_set_cinuse(b, true);
            sf_set_pinuse(sf_next(b), true);
        }
    }
    else {
        b = sf_from_top(st, need);
        if (b == NULL)
            return NULL;
    }
    st->live_blocks++;
    st->live_bytes += sf_size(b) - SF_HEAD;
    hl_assert((uintptr_t)sf_payload(b) % SF_ALIGNMENT == 0);
    hl_assert_expensive(sf_check(st, stderr));
    return sf_payload(b);
}

static void *sf_calloc(void *ctx, size_t nelem, size_t elsize)
{
    if (elsize != 0 && nelem > SIZE_MAX / elsize)
        return NULL;
    size_t n = nelem * elsize;
    void *p = sf_malloc(ctx, n);
    if (p != NULL && n < SF_MMAP_THRESHOLD)  /* a huge block is a fresh, zeroed mapping */
        memset(p, 0, n);
    return p;
}

static void sf_free(void *ctx, void *p)
{
    sf_state_t *st = ctx;
    if (p == NULL)
        return;
    hl_stat_inc(st->counters.free_calls);
    sf_block_t *b = sf_owned_block(st, p, "free");
    if (HL_UNLIKELY(sf_mmapped(b))) {
        sf_huge_free(st, sf_huge_of(b));
        hl_assert_expensive(sf_check(st, stderr));
        return;
    }
    size_t size = sf_size(b);
    st->live_blocks--;
    st->live_bytes -= size - SF_HEAD;
    sf_set_cinuse(b, false);  /* a stale head says free: see the file comment */
    sf_dispose(st, b, size);
    hl_assert_expensive(sf_check(st, stderr));
}

static size_t sf_usable_size(void *ctx, const void *p)
{
    if (p == NULL)
        return 0;
    sf_block_t *b = sf_owned_block(ctx, p, "usable_size");
    return sf_size(b) - (sf_mmapped(b) ? SF_HUGE_HDR : SF_HEAD);
}

/* realloc: a heap block shrinks in place (the tail is freed) and grows in
 * place into a free next block or top; a huge block is mremapped while it
 * stays huge; otherwise the block moves. */
static void *sf_realloc(void *ctx, void *p, size_t n)
{
    sf_state_t *st = ctx;
    if (p == NULL)
        return sf_malloc(st, n);
    sf_block_t *b = sf_owned_block(st, p, "realloc");
    if (n > SF_MAX_REQUEST)
        return NULL;
    hl_stat_inc(st->counters.realloc_calls);
    size_t size = sf_size(b), usable;

    if (sf_mmapped(b)) {
        sf_huge_t *h = sf_huge_of(b);
        usable = size - SF_HUGE_HDR;
        if (n >= SF_MMAP_THRESHOLD) {
            size_t mapsize = _hl_fit_round_up(n + SF_HUGE_HDR, HL_FIT_OS_PAGE);
            sf_huge_t *q = mapsize == size ? h : _hl_fit_remap(h, size, mapsize, true);
            if (q != NULL) {
                if (q->prev)
                    q->prev->next = q;
                else
                    st->huge = q;
                if (q->next)
                    q->next->prev = q;
                q->head = sf_make_head(mapsize, SF_PINUSE | SF_CINUSE | SF_MMAPPED);
                st->held -= size;
                sf_held_add(st, mapsize);
                st->live_bytes = st->live_bytes - size + mapsize;
                sf_range_add(st, q, mapsize);
                hl_stat_inc(st->counters.realloc_in_place);
                hl_assert_expensive(sf_check(st, stderr));
                return (char *)q + SF_HUGE_HDR;
            }
        }
    }
    else {
        usable = size - SF_HEAD;
        size_t need = sf_request2size(n);
        if (need <= size) {
            if (size - need >= SF_MIN_BLOCK) {
                sf_set_size_use(b, need, true);
                sf_block_t *r = sf_at(b, need);
                r->head = sf_make_head(size - need, SF_PINUSE);
                st->live_bytes -= size - need;
                sf_dispose(st, r, size - need);
                hl_stat_inc(st->counters.splits);
            }
            hl_stat_inc(st->counters.realloc_in_place);
            hl_assert_expensive(sf_check(st, stderr));
            return p;
        }
        sf_block_t *next = sf_at(b, size);
        bool is_top = next == st->top;
        if (!sf_cinuse(next) && size + sf_size(next) >= need) {
            size_t total = size + sf_size(next);
            if (!is_top)
                sf_bin_unlink(st, next);
            if (total - need >= SF_MIN_BLOCK) {
                sf_set_size_use(b, need, true);
                sf_block_t *r = sf_at(b, need);
                r->head = sf_make_head(total - need, SF_PINUSE);
                sf_next(r)->prev_foot = total - need;
                if (is_top)
                    st->top = r;
                else
                    sf_bin_insert(st, r);
            }
            else {
                sf_set_size_use(b, total, true);
                sf_set_pinuse(sf_next(b), true);
                if (is_top)
                    st->top = NULL;
            }
            st->live_bytes += sf_size(b) - size;
            hl_stat_inc(st->counters.realloc_in_place);
            hl_assert_expensive(sf_check(st, stderr));
            return p;
        }
    }
    return _hl_fit_realloc_move(st, p, usable, n, sf_malloc, sf_free);
}

static void sf_stats(void *ctx, hl_stats_t *out)
{
    sf_state_t *st = ctx;
    out->valid = HL_STAT_HELD | HL_STAT_LIVE_BLOCKS | HL_STAT_LIVE_BYTES;
    out->held_bytes = st->held;
    out->held_peak_bytes = st->held_peak;
    out->live_blocks = st->live_blocks;
    out->live_bytes = st->live_bytes;
}

static int sf_print_stats(void *ctx, FILE *out)
{
    sf_state_t *st = ctx;
    fprintf(out, "%s: %zu segments, %zu huge blocks, %zu bytes held (peak %zu)\n", SF_NAME,
            st->nsegs, st->nhuge, st->held, st->held_peak);
    fprintf(out, "  live: %zu blocks, %zu usable bytes; top %zu bytes\n", st->live_blocks,
            st->live_bytes, st->top ? sf_size(st->top) : (size_t)0);
    fprintf(out, "  bin  sizes            blocks  bytes\n");
    for (unsigned i = 0; i < SF_NSMALL + SF_NLARGE; i++) {
        sf_block_t *bin = i < SF_NSMALL ? &st->smallbins[i] : &st->largebins[i - SF_NSMALL];
        size_t n = 0, bytes = 0, lo = SIZE_MAX, hi = 0;
        for (sf_block_t *b = bin->fd; b != bin; b = b->fd) {
            n++;
            bytes += sf_size(b);
            lo = sf_size(b) < lo ? sf_size(b) : lo;
            hi = sf_size(b) > hi ? sf_size(b) : hi;
        }
        if (n)
            fprintf(out, "  %3u  %7zu..%-7zu %6zu  %zu\n", i, lo, hi, n, bytes);
    }
#if HL_STATS
    fprintf(out,
            "  calls: malloc %zu, free %zu, realloc %zu (%zu in place)\n"
            "  exact hits %zu, bin fits %zu, from top %zu, splits %zu, coalesces %zu\n"
            "  segments mapped %zu, unmapped %zu; huge %zu\n",
            st->counters.malloc_calls, st->counters.free_calls, st->counters.realloc_calls,
            st->counters.realloc_in_place, st->counters.exact_hits, st->counters.bin_fits,
            st->counters.top_allocs, st->counters.splits, st->counters.coalesces,
            st->counters.segs_mapped, st->counters.segs_unmapped, st->counters.huge_mapped);
#endif
    return 1;
}

static void sf_destroy(void *ctx)
{
    sf_state_t *st = ctx;
    for (sf_seg_t *s = st->segs, *next; s != NULL; s = next) {
        next = s->next;
        _hl_fit_unmap(s, s->size);
    }
    for (sf_huge_t *h = st->huge, *next; h != NULL; h = next) {
        next = h->next;
        _hl_fit_unmap(h, (size_t)(h->head & SF_SIZE_MASK));
    }
    _hl_fit_unmap(st, SF_STATE_MAP);
}

/* ---------------------------------------------------------------------- */
/* check                                                                  */

#define FAIL(...) HL_FIT_FAIL(report, SF_NAME, __VA_ARGS__)

static bool sf_block_in_segs(const sf_state_t *st, const sf_block_t *b)
{
    for (const sf_seg_t *s = st->segs; s != NULL; s = s->next)
        if ((uintptr_t)b >= (uintptr_t)s + SF_SEG_HDR &&
            (uintptr_t)b + SF_MIN_BLOCK <= (uintptr_t)s + s->size - SF_FENCE_SIZE)
            return true;
    return false;
}

/* (F4), marking every bin member. */
static bool sf_check_bins(sf_state_t *st, FILE *report, size_t *nbinned)
{
    size_t limit = st->held / SF_MIN_BLOCK + 1, n = 0;
    for (unsigned i = 0; i < SF_NSMALL + SF_NLARGE; i++) {
        bool small = i < SF_NSMALL;
        unsigned bi = small ? i : i - SF_NSMALL;
        sf_block_t *bin = small ? &st->smallbins[bi] : &st->largebins[bi];
        sf_block_t *prev = bin;
        for (sf_block_t *b = bin->fd; b != bin; prev = b, b = b->fd) {
            if (++n > limit)
                FAIL("%s bin %u does not return to its head", small ? "small" : "large", bi);
            if (!sf_block_in_segs(st, b) || (uintptr_t)b % SF_ALIGNMENT)
                FAIL("%s bin %u holds %p, not a block in a segment", small ? "small" : "large",
                     bi, (void *)b);
            if (b->bk != prev)
                FAIL("%s bin %u: block %p: bk is not its predecessor", small ? "small" : "large",
                     bi, (void *)b);
            if (!sf_magic_ok(b) || sf_cinuse(b) || sf_mmapped(b) || sf_is_fence(b))
                FAIL("bin member %p is not a free heap block", (void *)b);
            if (sf_marked(b))
                FAIL("block %p is in a bin twice", (void *)b);
            if (b == st->top)
                FAIL("top %p is in a bin", (void *)b);
            size_t size = sf_size(b);
            if (small ? size != (size_t)bi * SF_ALIGNMENT
                      : (sf_is_small(size) || sf_large_index(size) != bi))
                FAIL("block %p of size %zu is in %s bin %u", (void *)b, size,
                     small ? "small" : "large", bi);
            if (!small && prev != bin && sf_size(prev) > size)
                FAIL("large bin %u is not sorted at %p", bi, (void *)b);
            sf_set_mark(b, true);
        }
        if (bin->bk != prev)
            FAIL("bin %u: the head's bk is not the last block", i);
        bool bit = small ? (st->smallmap >> bi) & 1 : (st->largemap >> bi) & 1;
        if (bit != (bin->fd != bin))
            FAIL("%s bin %u: map bit %d but the bin is %s", small ? "small" : "large", bi, bit,
                 bin->fd != bin ? "non-empty" : "empty");
    }
    *nbinned = n;
    return true;
}

static bool sf_check_heap(sf_state_t *st, FILE *report, size_t nbinned)
{
    size_t held = SF_STATE_MAP, nsegs = 0, nfree = 0, nused = 0, used_bytes = 0;
    bool top_seen = st->top == NULL, top_seg_seen = false;
    if ((st->segs == NULL) != (st->top_seg == NULL) || (st->segs && st->segs != st->top_seg))
        FAIL("top_seg %p is not the newest segment (F5)", (void *)st->top_seg);
    sf_seg_t *prevs = NULL;
    for (sf_seg_t *s = st->segs; s != NULL; prevs = s, s = s->next) {
        if (++nsegs > st->nsegs)
            FAIL("segment list longer than nsegs %zu", st->nsegs);
        if (s->prev != prevs)
            FAIL("segment %p: prev is not its predecessor", (void *)s);
        if ((uintptr_t)s % HL_FIT_OS_PAGE || s->magic != SF_SEG_MAGIC || s->size != SF_SEG_SIZE)
            FAIL("segment %p: bad header", (void *)s);
        if ((uintptr_t)s < st->lo || (uintptr_t)s + s->size > st->hi)
            FAIL("segment %p: outside [lo, hi)", (void *)s);
        held += s->size;
        if (s == st->top_seg)
            top_seg_seen = true;
        sf_block_t *fence = sf_seg_fence(s);
        sf_block_t *b = sf_seg_first(s), *last = NULL;
        bool prev_inuse = true, last_free = false;
        size_t nblocks = 0;
        while (b != fence) {
            if ((uintptr_t)b >= (uintptr_t)fence)
                FAIL("segment %p: blocks run past the fence (F1)", (void *)s);
            nblocks++;
            size_t size = sf_size(b);
            if (!sf_magic_ok(b) || sf_is_fence(b) || sf_mmapped(b))
                FAIL("segment %p: block %p has a bad head", (void *)s, (void *)b);
            if (size < SF_MIN_BLOCK || size % SF_ALIGNMENT ||
                size > (size_t)((char *)fence - (char *)b))
                FAIL("segment %p: block %p has size %zu", (void *)s, (void *)b, size);
            if (sf_pinuse(b) != prev_inuse)
                FAIL("block %p: PINUSE does not match the previous block (F1)", (void *)b);
            if ((uintptr_t)sf_payload(b) % SF_ALIGNMENT)
                FAIL("block %p: payload not 16-aligned", (void *)b);
            sf_block_t *next = sf_at(b, size);
            if (sf_cinuse(b)) {
                if (sf_marked(b))
                    FAIL("block %p: in use but in a bin (F4)", (void *)b);
                nused++;
                used_bytes += size - SF_HEAD;
            }
            else {
                if (!prev_inuse)
                    FAIL("block %p: two adjacent free blocks (F3)", (void *)b);
                if (next->prev_foot != size)
                    FAIL("block %p: free, but the next prev_foot is %zu, not %zu (F2)", (void *)b,
                         next->prev_foot, size);
                if (b == st->top) {
                    if (sf_marked(b))
                        FAIL("top %p is in a bin (F4)", (void *)b);
                    if (s != st->top_seg || next != fence)
                        FAIL("top %p is not the last block of top_seg (F5)", (void *)b);
                    top_seen = true;
                }
                else {
                    if (!sf_marked(b))
                        FAIL("block %p: free but in no bin (F4)", (void *)b);
                    sf_set_mark(b, false);
                    nfree++;
                }
            }
            prev_inuse = sf_cinuse(b);
            last = b;
            last_free = !prev_inuse;
            b = next;
        }
        if (!sf_magic_ok(fence) || !sf_is_fence(fence) || !sf_cinuse(fence) ||
            sf_size(fence) != SF_FENCE_SIZE || ((sf_fence_t *)fence)->seg != s)
            FAIL("segment %p: bad fence", (void *)s);
        if (sf_pinuse(fence) != prev_inuse)
            FAIL("segment %p: the fence's PINUSE does not match the last block (F1)", (void *)s);
        if (s == st->top_seg && last_free != (st->top != NULL))
            FAIL("top_seg %p: last block free iff top exists fails (F5)", (void *)s);
        if (s == st->top_seg && st->top != NULL && last != st->top)
            FAIL("top_seg %p: top %p is not its last block (F5)", (void *)s, (void *)st->top);
        if (nblocks == 1 && last_free && s != st->top_seg)
            FAIL("segment %p is wholly free but still mapped (F6)", (void *)s);
    }
    if (nsegs != st->nsegs)
        FAIL("%zu segments listed, nsegs %zu", nsegs, st->nsegs);
    if (st->top_seg != NULL && !top_seg_seen)
        FAIL("top_seg is not on the segment list");
    if (!top_seen)
        FAIL("top %p is not a block of top_seg (F5)", (void *)st->top);
    if (nfree != nbinned)
        FAIL("%zu free blocks in segments, %zu in bins (F4)", nfree, nbinned);

    size_t nhuge = 0;
    sf_huge_t *prevh = NULL;
    for (sf_huge_t *h = st->huge; h != NULL; prevh = h, h = h->next) {
        if (++nhuge > st->nhuge)
            FAIL("huge list longer than nhuge %zu", st->nhuge);
        if (h->prev != prevh)
            FAIL("huge block %p: prev is not its predecessor", (void *)h);
        sf_block_t *b = sf_at(h, 2 * sizeof(void *));
        size_t mapsize = sf_size(b);
        if ((uintptr_t)h % HL_FIT_OS_PAGE || h->prev_foot != SF_HUGE_FOOT || !sf_magic_ok(b) ||
            (b->head & SF_FLAGS) != (SF_PINUSE | SF_CINUSE | SF_MMAPPED) ||
            mapsize % HL_FIT_OS_PAGE || mapsize < SF_MMAP_THRESHOLD + SF_HUGE_HDR)
            FAIL("huge block %p: bad header", (void *)h);
        if ((uintptr_t)h < st->lo || (uintptr_t)h + mapsize > st->hi)
            FAIL("huge block %p: outside [lo, hi)", (void *)h);
        held += mapsize;
        nused++;
        used_bytes += mapsize - SF_HUGE_HDR;
    }
    if (nhuge != st->nhuge)
        FAIL("%zu huge blocks listed, nhuge %zu", nhuge, st->nhuge);
    if (nused != st->live_blocks)
        FAIL("%zu blocks in use, live_blocks %zu (F7)", nused, st->live_blocks);
    if (used_bytes != st->live_bytes)
        FAIL("%zu usable bytes in use, live_bytes %zu (F7)", used_bytes, st->live_bytes);
    if (held != st->held || st->held > st->held_peak)
        FAIL("held %zu (peak %zu), mappings add up to %zu (F7)", st->held, st->held_peak, held);
    return true;
}

/* Drop the marks a failed check may have left (bounded walks). */
static void sf_unmark(sf_state_t *st)
{
    for (unsigned i = 0; i < SF_NSMALL + SF_NLARGE; i++) {
        sf_block_t *bin = i < SF_NSMALL ? &st->smallbins[i] : &st->largebins[i - SF_NSMALL];
        size_t limit = st->held / SF_MIN_BLOCK + 1;
        for (sf_block_t *b = bin->fd; b != bin && limit--; b = b->fd) {
            if (!sf_block_in_segs(st, b))
                break;
            sf_set_mark(b, false);
        }
    }
}

static bool sf_check(void *ctx, FILE *report)
{
    sf_state_t *st = ctx;
    size_t nbinned = 0;
    if (sf_check_bins(st, report, &nbinned) && sf_check_heap(st, report, nbinned))
        return true;
    sf_unmark(st);
    return false;
}

#undef FAIL

/* ---------------------------------------------------------------------- */
/* walk: the heap as spans (see the file comment)                         */

/* Report [a, a + n) as kind, if n > 0. */
static inline void sf_span(hl_span_fn fn, void *user, uintptr_t a, size_t n,
                           hl_span_kind_t kind)
{
    if (n > 0)
        fn(user, a, n, kind);
}

static int sf_walk(void *ctx, hl_span_fn fn, void *user)
{
    sf_state_t *st = ctx;
    sf_span(fn, user, (uintptr_t)st, SF_STATE_MAP, HL_SPAN_OVERHEAD);
    size_t nsegs = 0;
    for (sf_seg_t *s = st->segs; s != NULL; s = s->next) {
        if (++nsegs > st->nsegs || (uintptr_t)s % HL_FIT_OS_PAGE || s->magic != SF_SEG_MAGIC ||
            s->size != SF_SEG_SIZE)
            return -1;
        sf_block_t *fence = sf_seg_fence(s), *b = sf_seg_first(s);
        /* the segment header and the first prev_foot (PINUSE: unused) */
        sf_span(fn, user, (uintptr_t)s, SF_SEG_HDR + sizeof(size_t), HL_SPAN_OVERHEAD);
        while (b != fence) {
            size_t size = sf_size(b);
            if (!sf_magic_ok(b) || sf_is_fence(b) || sf_mmapped(b) || size < SF_MIN_BLOCK ||
                size % SF_ALIGNMENT || size > (size_t)((char *)fence - (char *)b))
                return -1;
            uintptr_t a = (uintptr_t)b;
            sf_span(fn, user, a + sizeof(size_t), SF_HEAD, HL_SPAN_OVERHEAD);
            if (sf_cinuse(b)) {
                sf_span(fn, user, a + 2 * sizeof(size_t), size - SF_HEAD, HL_SPAN_USED);
            }
            else {
                sf_span(fn, user, a + 2 * sizeof(size_t), size - 2 * sizeof(size_t),
                        b == st->top ? HL_SPAN_UNUSED : HL_SPAN_FREE);
                sf_span(fn, user, a + size, sizeof(size_t), HL_SPAN_OVERHEAD);
            }
            b = sf_next(b);
        }
        if (!sf_magic_ok(fence) || !sf_is_fence(fence) || sf_size(fence) != SF_FENCE_SIZE ||
            ((sf_fence_t *)fence)->seg != s)
            return -1;
        /* the fence's prev_foot went with the last block */
        sf_span(fn, user, (uintptr_t)fence + sizeof(size_t), SF_FENCE_SIZE - sizeof(size_t),
                HL_SPAN_OVERHEAD);
    }
    if (nsegs != st->nsegs)
        return -1;
    size_t nhuge = 0;
    for (sf_huge_t *h = st->huge; h != NULL; h = h->next) {
        sf_block_t *b = sf_at(h, 2 * sizeof(void *));
        size_t mapsize = sf_size(b);
        if (++nhuge > st->nhuge || h->prev_foot != SF_HUGE_FOOT || !sf_magic_ok(b) ||
            (b->head & SF_FLAGS) != (SF_PINUSE | SF_CINUSE | SF_MMAPPED) ||
            mapsize % HL_FIT_OS_PAGE || mapsize < SF_MMAP_THRESHOLD + SF_HUGE_HDR)
            return -1;
        sf_span(fn, user, (uintptr_t)h, SF_HUGE_HDR, HL_SPAN_OVERHEAD);
        sf_span(fn, user, (uintptr_t)h + SF_HUGE_HDR, mapsize - SF_HUGE_HDR, HL_SPAN_USED);
    }
    return nhuge == st->nhuge ? 0 : -1;
}

static const hl_allocator_ops_t sf_ops = {
    .malloc = sf_malloc,
    .calloc = sf_calloc,
    .realloc = sf_realloc,
    .free = sf_free,
    .usable_size = sf_usable_size,
    .stats = sf_stats,
    .check = sf_check,
    .print_stats = sf_print_stats,
    .destroy = sf_destroy,
    .walk = sf_walk,
};

int hl_segregated_fit_create(const hl_alloc_options_t *opt, hl_allocator_t *out, char *err,
                             size_t errlen)
{
    HL_UNUSED(opt);
    if (sysconf(_SC_PAGESIZE) != (long)HL_FIT_OS_PAGE)
        return _hl_err(err, errlen, SF_NAME ": needs %zu-byte pages", HL_FIT_OS_PAGE);
    sf_state_t *st = _hl_fit_map(SF_STATE_MAP);  /* zeroed */
    if (st == NULL)
        return _hl_err(err, errlen, SF_NAME ": cannot map its state");
    for (unsigned i = 0; i < SF_NSMALL; i++)
        st->smallbins[i].fd = st->smallbins[i].bk = &st->smallbins[i];
    for (unsigned i = 0; i < SF_NLARGE; i++)
        st->largebins[i].fd = st->largebins[i].bk = &st->largebins[i];
    sf_held_add(st, SF_STATE_MAP);
    out->ops = &sf_ops;
    out->ctx = st;
    out->name = SF_NAME;
    return 0;
}
