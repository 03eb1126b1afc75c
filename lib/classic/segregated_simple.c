/* segregated_simple.c: simple segregated storage (Wilson et al. 1995,
 * section 3.6): one size class per page, no splitting, no coalescing.
 *
 * Policy
 * ------
 * A request of n <= SS_SMALL_MAX bytes is rounded up to its size class; every
 * block of a page has that one size.  A page with a free block is on its
 * class's `partial` list; malloc takes the first block of the first such
 * page (a freed block, LIFO, else the next never-used one: pages are carved
 * lazily, as pymalloc's pools).  free puts the block back on its page's
 * list.  Blocks never split or merge: a page stays tied to its class while
 * any block in it is live.  A page whose last block is freed goes back to
 * its chunk and may later serve another class (as pymalloc's empty pools);
 * a chunk whose pages are all back is unmapped, except the last chunk.
 * Larger requests get their own mapping ("direct page mapping").
 *
 * Size classes (SS_NCLASSES = 24): 16, 32, ..., 128 in steps of 16 (the
 * alignment: small requests dominate, as Python's objects), then four per
 * doubling: 160 192 224 256 | 320 384 448 512 | 640 768 896 1024 |
 * 1280 1536 1792 2048.  Rounding wastes at most 15 bytes below 128 and under
 * 25% above; SS_SMALL_MAX = 2048 keeps at least 7 blocks in a page.
 *
 * The heap
 * --------
 *   chunk (one mapping, 16 KiB-aligned)
 *   | page 0 | page 1 | ... | page 63 | ss_chunk_t (one 4 KiB OS page) |
 *
 *   page (SS_PAGE_SIZE = 16 KiB, aligned to its size)
 *   | ss_page_t (64 B) | used bitmap (128 B) | block | block | ... | slack |
 *   0                                        192  192+size        nextoffset
 *
 *   large block (its own mapping, 16 KiB-aligned, size a multiple of 4 KiB)
 *   | ss_large_t (64 B) | payload ......................................... |
 *
 * free finds a block's page header by masking the pointer (POOL_ADDR in
 * pymalloc).  A large block's payload is always at offset 64 of its
 * 16 KiB-aligned mapping, and no small block ever is (they start at 192 +
 * k*size within their page), so `(p & (SS_PAGE_SIZE-1)) == SS_LARGE_OFFSET`
 * tells the two apart with no lookup.
 *
 * The used bitmap has one bit per 16-byte granule of the page: bit g is set
 * iff a live block starts at byte 16*g.  It makes the double free and the
 * interior pointer cheap to catch and lets check() prove free-list
 * membership.
 *
 * Per-block overhead: none in the block.  Per page 192 bytes of header and
 * bitmap plus the tail that no block fits ((16384 - 192) mod size), per chunk
 * 4 KiB (0.4%); internal fragmentation is the class rounding.  A large block
 * costs 64 bytes plus rounding to 4 KiB.
 * Alignment: 16 (every class size is a multiple of 16, blocks start at 192).
 *
 * Invariants (checked by ss_check):
 *   (S1) a carved page is in use (SS_PAGE_USED, on no chunk list) iff
 *        nused > 0; otherwise it is on its chunk's freepages list.
 *   (S2) in a used page: popcount(used bitmap) == nused; every set bit is a
 *        block start below nextoffset; the free list holds exactly the other
 *        carved blocks: nused + len(freeblock list) == (nextoffset - 192) / size.
 *   (S3) a page is on partial[its class] iff nused < capacity.
 *   (S4) a chunk is on the avail list iff it has a page to give (freepages
 *        non-empty or ncarved < SS_CHUNK_PAGES).
 *   (S5) a chunk with every carved page back (nfreepages == ncarved) exists
 *        only as the last chunk.
 *   (S6) live_blocks / live_bytes equal the counts over pages and large
 *        blocks; held == state + chunks * SS_CHUNK_MAP + sum of large maps.
 * There is no coalescing, so "no two adjacent free blocks" does not apply.
 *
 * The walk
 * --------
 * ss_walk (`heaplab map`, heaplab/heapmap.h) reports each chunk in address
 * order, page by page.  A page in use is its header and bitmap (OVERHEAD),
 * then its carved blocks, each USED (its bit is set) or FREE (on the page's
 * free list), then the blocks never carved, [nextoffset, 192 + capacity *
 * size), as one UNUSED span, then the tail no block fits (OVERHEAD).  A page
 * given back to its chunk is one FREE span (its header is only its link on
 * the chunk's freepages now); the pages past ncarved are one UNUSED span;
 * the chunk header's OS page is OVERHEAD.  A large block is its 64-byte
 * header (OVERHEAD) and its payload (USED).  A USED span is exactly
 * [p, p + usable_size(p)), one per live block.  The state mapping is one
 * OVERHEAD span more, so the spans sum to held exactly.  It reads headers
 * and bitmaps only (never a free list) and returns -1 at the first chunk,
 * page or large header that would not let it carve its mapping.
 *
 * Worst cases
 * -----------
 * Time: malloc and free are O(1) (a class computation, list heads, one bit),
 * plus one mmap per new chunk or large block and one munmap per freed chunk
 * or large block.  realloc within a class is O(1) in place; a large block
 * shrinks in place (munmap of its tail) and grows in place when the
 * addresses after it are free (mremap), else it moves.
 * Fragmentation: the design's weakness.  Internal: up to 25% (class
 * rounding) plus the page tail.  External: a page is held by its class as
 * long as ONE of its blocks lives, so a program that allocates many blocks
 * of one class and frees all but one per page pins a 16 KiB page per live
 * block (up to 1012x the live bytes for 16-byte blocks), and that memory
 * cannot serve any other class.
 *
 * Debug-build misuse (HL_DEBUG >= 1), reported through _hl_fit_misuse:
 *   - a pointer outside every mapping ever made, not 16-aligned, or whose
 *     page or large header lacks this instance's magic and owner: "not a
 *     block of this allocator";
 *   - a small pointer whose bitmap bit is clear: "double free" if it is a
 *     block start, else "not a block start";
 *   - a pointer into a page that went back to its chunk: "double free".
 * Not detectable cheaply: a pointer into a chunk or large block already
 * unmapped (reading its header faults; HL_DEBUG 3 first looks the pointer up
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

#define SS_NAME "segregated-simple"
#define SS_ALIGNMENT 16
/* The page: 16 KiB, pymalloc's pool size on 64-bit, so that the largest
 * class still gets 7 blocks and the 192-byte header costs 1.2%. */
#define SS_PAGE_SHIFT 14
#define SS_PAGE_SIZE ((size_t)1 << SS_PAGE_SHIFT)
/* 64 pages (1 MiB) per chunk: one mmap per MiB of small blocks. */
#define SS_CHUNK_PAGES 64
#define SS_CHUNK_MAP (SS_CHUNK_PAGES * SS_PAGE_SIZE + HL_FIT_OS_PAGE)
#define SS_NCLASSES 24
#define SS_SMALL_MAX 2048
/* One bit per 16-byte granule of a page. */
#define SS_GRANULE 16
#define SS_BITMAP_WORDS (SS_PAGE_SIZE / SS_GRANULE / 64)
#define SS_PAGE_HDR 192
/* A large block's payload offset in its mapping (the ss_large_t). */
#define SS_LARGE_OFFSET 64
/* Larger requests fail (no system maps this much; keeps sizes from wrapping). */
#define SS_MAX_REQUEST ((size_t)1 << 46)

_Static_assert(SS_SMALL_MAX <= (SS_PAGE_SIZE - SS_PAGE_HDR) / 7, "a page holds 7 largest blocks");
_Static_assert(SS_PAGE_HDR % SS_ALIGNMENT == 0 && SS_LARGE_OFFSET % SS_ALIGNMENT == 0,
               "blocks are 16-aligned");
_Static_assert(SS_LARGE_OFFSET < SS_PAGE_HDR,
               "a large payload's page offset is one no small block has");
_Static_assert(SS_GRANULE == SS_ALIGNMENT, "every block starts on its own granule");
_Static_assert(SS_PAGE_SIZE % HL_FIT_OS_PAGE == 0, "pages are whole OS pages");

/* ---------------------------------------------------------------------- */
/* Size classes                                                           */

static const uint32_t ss_class_size[SS_NCLASSES] = {
    16, 32, 48, 64, 80, 96, 112, 128,
    160, 192, 224, 256, 320, 384, 448, 512,
    640, 768, 896, 1024, 1280, 1536, 1792, 2048,
};

/* The class of a request of n <= SS_SMALL_MAX bytes (n == 0: class 0). */
static inline unsigned ss_class(size_t n)
{
    if (n <= 128)
        return n ? (unsigned)((n - 1) >> 4) : 0;
    size_t m = n - 1;                         /* 128 <= m < 2048 */
    unsigned k = 63 - (unsigned)__builtin_clzl(m);  /* 7..10 */
    return 8 + (k - 7) * 4 + (unsigned)((m >> (k - 2)) & 3);
}

/* ---------------------------------------------------------------------- */
/* Pages, chunks, large blocks                                            */

#define SS_PAGE_USED 0x5509A6E05EDull
#define SS_PAGE_FREE 0x5509A6EF4EEull
#define SS_LARGE_MAGIC 0x5501A46EB10Cull
#define SS_CHUNK_MAGIC 0x55C4C4A11ull

struct ss_state_s;
struct ss_chunk_s;

typedef struct ss_page_s {
    uint64_t magic;                   /* SS_PAGE_USED / SS_PAGE_FREE */
    struct ss_page_s *next, *prev;    /* partial[szidx] (used) / freepages (free, next only) */
    struct ss_chunk_s *chunk;
    void *freeblock;                  /* freed blocks, LIFO through their first word */
    uint32_t szidx, size;             /* class, block size */
    uint32_t nused, capacity;         /* live blocks; blocks the page holds */
    uint32_t nextoffset;              /* first never-carved block */
    uint32_t pad;
    uint64_t used[SS_BITMAP_WORDS];   /* bit g: a live block starts at 16*g */
} ss_page_t;

_Static_assert(sizeof(ss_page_t) == SS_PAGE_HDR, "SS_PAGE_HDR is the page header");

typedef struct ss_chunk_s {
    uint64_t magic;
    struct ss_state_s *owner;
    struct ss_chunk_s *next, *prev;              /* every chunk */
    struct ss_chunk_s *avail_next, *avail_prev;  /* (S4) */
    ss_page_t *freepages;
    char *pages;                                 /* page 0 == the mapping */
    uint32_t nfreepages, ncarved;
    bool on_avail;
} ss_chunk_t;

_Static_assert(sizeof(ss_chunk_t) <= HL_FIT_OS_PAGE, "the chunk header fits its OS page");

typedef struct ss_large_s {
    uint64_t magic;
    struct ss_state_s *owner;
    struct ss_large_s *next, *prev;
    size_t mapsize;
    uint64_t pad[3];
} ss_large_t;

_Static_assert(sizeof(ss_large_t) == SS_LARGE_OFFSET, "SS_LARGE_OFFSET is the large header");

typedef struct ss_state_s {
    ss_page_t *partial[SS_NCLASSES];  /* pages with a free block, per class */
    ss_chunk_t *chunks, *avail;
    size_t nchunks;
    ss_large_t *large;
    size_t nlarge;
    uintptr_t lo, hi;                 /* [lo, hi) covers every mapping ever made */
    size_t held, held_peak;
    size_t live_blocks, live_bytes;
    struct {
        size_t malloc_calls, free_calls, realloc_calls, realloc_in_place;
        size_t pages_made, pages_released, chunks_mapped, chunks_unmapped, large_mapped;
    } counters;                       /* HL_STATS */
} ss_state_t;

#define SS_STATE_MAP _hl_fit_round_up(sizeof(ss_state_t), HL_FIT_OS_PAGE)

static bool ss_check(void *ctx, FILE *report);

static inline ss_page_t *ss_page_of(const void *p)
{
    return (ss_page_t *)((uintptr_t)p & ~(uintptr_t)(SS_PAGE_SIZE - 1));
}
static inline bool ss_is_large_ptr(const void *p)
{
    return ((uintptr_t)p & (SS_PAGE_SIZE - 1)) == SS_LARGE_OFFSET;
}
static inline unsigned ss_granule(const ss_page_t *pg, const void *p)
{
    return (unsigned)(((uintptr_t)p - (uintptr_t)pg) / SS_GRANULE);
}
static inline bool ss_bit(const ss_page_t *pg, unsigned g)
{
    return (pg->used[g / 64] >> (g % 64)) & 1;
}
static inline void ss_bit_flip(ss_page_t *pg, unsigned g)
{
    pg->used[g / 64] ^= (uint64_t)1 << (g % 64);
}
static inline ss_chunk_t *ss_chunk_hdr(char *pages)
{
    return (ss_chunk_t *)(pages + SS_CHUNK_PAGES * SS_PAGE_SIZE);
}

static void ss_held_add(ss_state_t *st, size_t n)
{
    st->held += n;
    if (st->held > st->held_peak)
        st->held_peak = st->held;
}
static void ss_range_add(ss_state_t *st, const void *p, size_t n)
{
    if (st->lo == 0 || (uintptr_t)p < st->lo)
        st->lo = (uintptr_t)p;
    if ((uintptr_t)p + n > st->hi)
        st->hi = (uintptr_t)p + n;
}

/* partial[c]: doubly linked, NULL-terminated */
static inline void ss_partial_push(ss_state_t *st, ss_page_t *pg)
{
    ss_page_t *head = st->partial[pg->szidx];
    pg->prev = NULL;
    pg->next = head;
    if (head)
        head->prev = pg;
    st->partial[pg->szidx] = pg;
}
static inline void ss_partial_unlink(ss_state_t *st, ss_page_t *pg)
{
    if (pg->prev)
        pg->prev->next = pg->next;
    else
        st->partial[pg->szidx] = pg->next;
    if (pg->next)
        pg->next->prev = pg->prev;
}

static void ss_avail_push(ss_state_t *st, ss_chunk_t *c)
{
    c->avail_prev = NULL;
    c->avail_next = st->avail;
    if (st->avail)
        st->avail->avail_prev = c;
    st->avail = c;
    c->on_avail = true;
}
static void ss_avail_unlink(ss_state_t *st, ss_chunk_t *c)
{
    if (c->avail_prev)
        c->avail_prev->avail_next = c->avail_next;
    else
        st->avail = c->avail_next;
    if (c->avail_next)
        c->avail_next->avail_prev = c->avail_prev;
    c->on_avail = false;
}

static ss_chunk_t *ss_chunk_new(ss_state_t *st)
{
    char *pages = _hl_fit_map_aligned(SS_CHUNK_MAP, SS_PAGE_SIZE);
    if (pages == NULL)
        return NULL;
    ss_chunk_t *c = ss_chunk_hdr(pages);  /* zeroed */
    c->magic = SS_CHUNK_MAGIC;
    c->owner = st;
    c->pages = pages;
    c->prev = NULL;
    c->next = st->chunks;
    if (st->chunks)
        st->chunks->prev = c;
    st->chunks = c;
    st->nchunks++;
    ss_avail_push(st, c);
    ss_range_add(st, pages, SS_CHUNK_MAP);
    ss_held_add(st, SS_CHUNK_MAP);
    hl_stat_inc(st->counters.chunks_mapped);
    return c;
}

static void ss_chunk_release(ss_state_t *st, ss_chunk_t *c)
{
    hl_assert_internal(c->nfreepages == c->ncarved);
    if (c->on_avail)
        ss_avail_unlink(st, c);
    if (c->prev)
        c->prev->next = c->next;
    else
        st->chunks = c->next;
    if (c->next)
        c->next->prev = c->prev;
    st->nchunks--;
    st->held -= SS_CHUNK_MAP;
    hl_stat_inc(st->counters.chunks_unmapped);
    _hl_fit_unmap(c->pages, SS_CHUNK_MAP);
}

/* A fresh page for class c, on partial[c]. */
static ss_page_t *ss_page_new(ss_state_t *st, unsigned c)
{
    ss_chunk_t *ch = st->avail;
    if (ch == NULL) {
        ch = ss_chunk_new(st);
        if (ch == NULL)
            return NULL;
    }
    ss_page_t *pg;
    if (ch->freepages != NULL) {
        pg = ch->freepages;
        ch->freepages = pg->next;
        ch->nfreepages--;
    }
    else {
        pg = (ss_page_t *)(ch->pages + (size_t)ch->ncarved++ * SS_PAGE_SIZE);
    }
    if (ch->freepages == NULL && ch->ncarved == SS_CHUNK_PAGES)
        ss_avail_unlink(st, ch);
    pg->magic = SS_PAGE_USED;
    pg->chunk = ch;
    pg->freeblock = NULL;
    pg->szidx = c;
    pg->size = ss_class_size[c];
    pg->nused = 0;
    pg->capacity = (uint32_t)((SS_PAGE_SIZE - SS_PAGE_HDR) / pg->size);
    pg->nextoffset = SS_PAGE_HDR;
    memset(pg->used, 0, sizeof pg->used);
    ss_partial_push(st, pg);
    hl_stat_inc(st->counters.pages_made);
    return pg;
}

/* The last block of pg was freed: the page goes back to its chunk (S1). */
static void ss_page_release(ss_state_t *st, ss_page_t *pg)
{
    ss_chunk_t *ch = pg->chunk;
    ss_partial_unlink(st, pg);
    pg->magic = SS_PAGE_FREE;
    pg->next = ch->freepages;
    pg->prev = NULL;
    ch->freepages = pg;
    ch->nfreepages++;
    if (!ch->on_avail)
        ss_avail_push(st, ch);
    hl_stat_inc(st->counters.pages_released);
    if (ch->nfreepages == ch->ncarved && st->nchunks > 1)
        ss_chunk_release(st, ch);
}

/* ---------------------------------------------------------------------- */
/* Pointer checks (debug builds)                                          */

#if HL_DEBUG >= 3
/* Is p in a mapping held now?  O(chunks + large blocks). */
static bool ss_in_live_mapping(const ss_state_t *st, const void *p)
{
    uintptr_t a = (uintptr_t)p;
    for (const ss_chunk_t *c = st->chunks; c != NULL; c = c->next)
        if (a >= (uintptr_t)c->pages && a < (uintptr_t)c->pages + SS_CHUNK_PAGES * SS_PAGE_SIZE)
            return true;
    for (const ss_large_t *l = st->large; l != NULL; l = l->next)
        if (a >= (uintptr_t)l && a < (uintptr_t)l + l->mapsize)
            return true;
    return false;
}
#endif

/* Checks p (not NULL) before `op` uses it; see the file comment. */
static inline void ss_check_ptr(const ss_state_t *st, const void *p, const char *op)
{
#if HL_DEBUG >= 1
    if ((uintptr_t)p % SS_ALIGNMENT != 0 || (uintptr_t)p < st->lo || (uintptr_t)p >= st->hi)
        _hl_fit_misuse(SS_NAME, op, p, "not a block of this allocator (outside its mappings)");
#if HL_DEBUG >= 3
    if (!ss_in_live_mapping(st, p))
        _hl_fit_misuse(SS_NAME, op, p, "not in a mapping of this allocator (unmapped?)");
#endif
    if (ss_is_large_ptr(p)) {
        const ss_large_t *l = (const ss_large_t *)ss_page_of(p);
        if (l->magic != SS_LARGE_MAGIC || l->owner != st)
            _hl_fit_misuse(SS_NAME, op, p, "not a block of this allocator (no large header)");
        return;
    }
    const ss_page_t *pg = ss_page_of(p);
    if (pg->magic == SS_PAGE_FREE && pg->chunk->owner == st)
        _hl_fit_misuse(SS_NAME, op, p, "double free (its page holds no live block)");
    if (pg->magic != SS_PAGE_USED || pg->chunk->owner != st)
        _hl_fit_misuse(SS_NAME, op, p, "not a block of this allocator (no page header)");
    unsigned g = ss_granule(pg, p);
    if (!ss_bit(pg, g)) {
        size_t off = (uintptr_t)p - (uintptr_t)pg;
        if (off >= SS_PAGE_HDR && (off - SS_PAGE_HDR) % pg->size == 0 && off < pg->nextoffset)
            _hl_fit_misuse(SS_NAME, op, p, "double free (the block is already free)");
        _hl_fit_misuse(SS_NAME, op, p, "not the start of a block of this allocator");
    }
#else
    HL_UNUSED(st);
    HL_UNUSED(p);
    HL_UNUSED(op);
#endif
}

/* ---------------------------------------------------------------------- */
/* Large blocks                                                           */

static void *ss_large_alloc(ss_state_t *st, size_t n)
{
    if (n > SS_MAX_REQUEST)
        return NULL;
    size_t mapsize = _hl_fit_round_up(n + SS_LARGE_OFFSET, HL_FIT_OS_PAGE);
    ss_large_t *l = _hl_fit_map_aligned(mapsize, SS_PAGE_SIZE);
    if (l == NULL)
        return NULL;
    l->magic = SS_LARGE_MAGIC;
    l->owner = st;
    l->mapsize = mapsize;
    l->prev = NULL;
    l->next = st->large;
    if (st->large)
        st->large->prev = l;
    st->large = l;
    st->nlarge++;
    ss_range_add(st, l, mapsize);
    ss_held_add(st, mapsize);
    st->live_blocks++;
    st->live_bytes += mapsize - SS_LARGE_OFFSET;
    hl_stat_inc(st->counters.large_mapped);
    return (char *)l + SS_LARGE_OFFSET;
}

static void ss_large_free(ss_state_t *st, ss_large_t *l)
{
    if (l->prev)
        l->prev->next = l->next;
    else
        st->large = l->next;
    if (l->next)
        l->next->prev = l->prev;
    st->nlarge--;
    st->held -= l->mapsize;
    st->live_blocks--;
    st->live_bytes -= l->mapsize - SS_LARGE_OFFSET;
    _hl_fit_unmap(l, l->mapsize);
}

/* ---------------------------------------------------------------------- */
/* The vtable                                                             */

static void *ss_malloc(void *ctx, size_t n)
{
    ss_state_t *st = ctx;
    hl_stat_inc(st->counters.malloc_calls);
    if (HL_UNLIKELY(n > SS_SMALL_MAX)) {
        void *p = ss_large_alloc(st, n);
        hl_assert_expensive(ss_check(st, stderr));
        return p;
    }
    unsigned c = ss_class(n);
    ss_page_t *pg = st->partial[c];
    if (HL_UNLIKELY(pg == NULL)) {
        pg = ss_page_new(st, c);
        if (pg == NULL)
            return NULL;
    }
    char *blk = pg->freeblock;
    if (blk != NULL) {
        pg->freeblock = *(void **)blk;
    }
    else {
        blk = (char *)pg + pg->nextoffset;
        pg->nextoffset += pg->size;
        hl_assert_internal(pg->nextoffset <= SS_PAGE_SIZE);
    }
    unsigned g = ss_granule(pg, blk);
    hl_assert_internal(!ss_bit(pg, g));
    ss_bit_flip(pg, g);
    if (++pg->nused == pg->capacity)
        ss_partial_unlink(st, pg);
    st->live_blocks++;
    st->live_bytes += pg->size;
    hl_assert_expensive(ss_check(st, stderr));
    return blk;
}

static void *ss_calloc(void *ctx, size_t nelem, size_t elsize)
{
#ifdef HL_PLANT_CALLOC_OVERFLOW
    /* planted bug: no overflow check: nelem * elsize wraps, and a huge
     * calloc succeeds with a small block */
#else
    if (elsize != 0 && nelem > SIZE_MAX / elsize)
        return NULL;
#endif
    size_t n = nelem * elsize;
    void *p = ss_malloc(ctx, n);
    if (p != NULL && n <= SS_SMALL_MAX)  /* a large block is a fresh, zeroed mapping */
        memset(p, 0, n);
    return p;
}

static void ss_free(void *ctx, void *p)
{
    ss_state_t *st = ctx;
    if (p == NULL)
        return;
    hl_stat_inc(st->counters.free_calls);
    ss_check_ptr(st, p, "free");
    if (HL_UNLIKELY(ss_is_large_ptr(p))) {
        ss_large_free(st, (ss_large_t *)ss_page_of(p));
        hl_assert_expensive(ss_check(st, stderr));
        return;
    }
    ss_page_t *pg = ss_page_of(p);
    ss_bit_flip(pg, ss_granule(pg, p));
    *(void **)p = pg->freeblock;
    pg->freeblock = p;
    st->live_blocks--;
    st->live_bytes -= pg->size;
    if (pg->nused == pg->capacity)
        ss_partial_push(st, pg);  /* was full: it has a free block again */
    if (--pg->nused == 0)
        ss_page_release(st, pg);
    hl_assert_expensive(ss_check(st, stderr));
}

static size_t ss_usable_size(void *ctx, const void *p)
{
    if (p == NULL)
        return 0;
    ss_check_ptr(ctx, p, "usable_size");
    if (ss_is_large_ptr(p))
        return ((const ss_large_t *)ss_page_of(p))->mapsize - SS_LARGE_OFFSET;
    return ss_page_of(p)->size;
}

/* realloc: in place within a class, and for a large block that stays large
 * (shrink by unmapping its tail; grow by mremap where the next addresses are
 * free); otherwise move. */
static void *ss_realloc(void *ctx, void *p, size_t n)
{
    ss_state_t *st = ctx;
    if (p == NULL)
        return ss_malloc(st, n);
    ss_check_ptr(st, p, "realloc");
    if (n > SS_MAX_REQUEST)
        return NULL;
    hl_stat_inc(st->counters.realloc_calls);
    size_t old;
    if (ss_is_large_ptr(p)) {
        ss_large_t *l = (ss_large_t *)ss_page_of(p);
        old = l->mapsize - SS_LARGE_OFFSET;
        if (n > SS_SMALL_MAX) {
            size_t mapsize = _hl_fit_round_up(n + SS_LARGE_OFFSET, HL_FIT_OS_PAGE);
            bool in_place = mapsize == l->mapsize;
            if (mapsize < l->mapsize) {
                _hl_fit_unmap((char *)l + mapsize, l->mapsize - mapsize);
                in_place = true;
            }
            else if (mapsize > l->mapsize) {
                in_place = _hl_fit_remap(l, l->mapsize, mapsize, false) != NULL;
            }
            if (in_place) {
                st->held -= l->mapsize;
                ss_held_add(st, mapsize);
                st->live_bytes = st->live_bytes - l->mapsize + mapsize;
                if ((uintptr_t)l + mapsize > st->hi)
                    st->hi = (uintptr_t)l + mapsize;
                l->mapsize = mapsize;
                hl_stat_inc(st->counters.realloc_in_place);
                hl_assert_expensive(ss_check(st, stderr));
                return p;
            }
        }
    }
    else {
        ss_page_t *pg = ss_page_of(p);
        old = pg->size;
        if (n <= SS_SMALL_MAX && ss_class(n) == pg->szidx) {
            hl_stat_inc(st->counters.realloc_in_place);
            return p;
        }
    }
    return _hl_fit_realloc_move(st, p, old, n, ss_malloc, ss_free);
}

static void ss_stats(void *ctx, hl_stats_t *out)
{
    ss_state_t *st = ctx;
    out->valid = HL_STAT_HELD | HL_STAT_LIVE_BLOCKS | HL_STAT_LIVE_BYTES;
    out->held_bytes = st->held;
    out->held_peak_bytes = st->held_peak;
    out->live_blocks = st->live_blocks;
    out->live_bytes = st->live_bytes;
}

static int ss_print_stats(void *ctx, FILE *out)
{
    ss_state_t *st = ctx;
    size_t pages[SS_NCLASSES] = {0}, used[SS_NCLASSES] = {0}, cap[SS_NCLASSES] = {0};
    size_t free_pages = 0, untouched = 0;
    for (ss_chunk_t *c = st->chunks; c != NULL; c = c->next) {
        untouched += SS_CHUNK_PAGES - c->ncarved;
        for (uint32_t i = 0; i < c->ncarved; i++) {
            ss_page_t *pg = (ss_page_t *)(c->pages + (size_t)i * SS_PAGE_SIZE);
            if (pg->magic != SS_PAGE_USED) {
                free_pages++;
                continue;
            }
            pages[pg->szidx]++;
            used[pg->szidx] += pg->nused;
            cap[pg->szidx] += pg->capacity;
        }
    }
    fprintf(out, "%s: %zu chunks, %zu large blocks, %zu bytes held (peak %zu)\n", SS_NAME,
            st->nchunks, st->nlarge, st->held, st->held_peak);
    fprintf(out, "  live: %zu blocks, %zu usable bytes; pages free %zu, never used %zu\n",
            st->live_blocks, st->live_bytes, free_pages, untouched);
    fprintf(out, "  class  size  pages  blocks used/capacity\n");
    for (unsigned i = 0; i < SS_NCLASSES; i++)
        if (pages[i])
            fprintf(out, "  %5u %5u %6zu  %zu/%zu\n", i, ss_class_size[i], pages[i], used[i],
                    cap[i]);
#if HL_STATS
    fprintf(out,
            "  calls: malloc %zu, free %zu, realloc %zu (%zu in place)\n"
            "  pages made %zu, released %zu; chunks mapped %zu, unmapped %zu; large %zu\n",
            st->counters.malloc_calls, st->counters.free_calls, st->counters.realloc_calls,
            st->counters.realloc_in_place, st->counters.pages_made, st->counters.pages_released,
            st->counters.chunks_mapped, st->counters.chunks_unmapped, st->counters.large_mapped);
#endif
    return 1;
}

static void ss_destroy(void *ctx)
{
    ss_state_t *st = ctx;
    for (ss_chunk_t *c = st->chunks, *next; c != NULL; c = next) {
        next = c->next;
        _hl_fit_unmap(c->pages, SS_CHUNK_MAP);
    }
    for (ss_large_t *l = st->large, *next; l != NULL; l = next) {
        next = l->next;
        _hl_fit_unmap(l, l->mapsize);
    }
    _hl_fit_unmap(st, SS_STATE_MAP);
}

/* ---------------------------------------------------------------------- */
/* check                                                                  */

#define FAIL(...) HL_FIT_FAIL(report, SS_NAME, __VA_ARGS__)

/* Is pg a carved page of one of our chunks? */
static bool ss_is_carved_page(const ss_state_t *st, const ss_page_t *pg)
{
    for (const ss_chunk_t *c = st->chunks; c != NULL; c = c->next) {
        uintptr_t off = (uintptr_t)pg - (uintptr_t)c->pages;
        if ((uintptr_t)pg >= (uintptr_t)c->pages && off % SS_PAGE_SIZE == 0 &&
            off / SS_PAGE_SIZE < c->ncarved)
            return true;
    }
    return false;
}

static bool ss_page_is_valid(const ss_page_t *pg, const ss_chunk_t *c, FILE *report)
{
    if (pg->chunk != c)
        FAIL("page %p: chunk pointer is not its chunk", (void *)pg);
    if (pg->szidx >= SS_NCLASSES || pg->size != ss_class_size[pg->szidx])
        FAIL("page %p: class %u, size %u", (void *)pg, pg->szidx, pg->size);
    uint32_t size = pg->size;
    if (pg->capacity != (SS_PAGE_SIZE - SS_PAGE_HDR) / size)
        FAIL("page %p: capacity %u", (void *)pg, pg->capacity);
    if (pg->nused == 0 || pg->nused > pg->capacity)
        FAIL("page %p: in use with nused %u (S1)", (void *)pg, pg->nused);
    if (pg->nextoffset < SS_PAGE_HDR || pg->nextoffset > SS_PAGE_HDR + pg->capacity * size ||
        (pg->nextoffset - SS_PAGE_HDR) % size)
        FAIL("page %p: nextoffset %u", (void *)pg, pg->nextoffset);
    uint32_t carved = (pg->nextoffset - SS_PAGE_HDR) / size;
    /* (S2) set bits are block starts below nextoffset, and there are nused */
    uint32_t nbits = 0;
    for (unsigned g = 0; g < SS_PAGE_SIZE / SS_GRANULE; g++) {
        if (!ss_bit(pg, g))
            continue;
        size_t off = (size_t)g * SS_GRANULE;
        if (off < SS_PAGE_HDR || (off - SS_PAGE_HDR) % size || off >= pg->nextoffset)
            FAIL("page %p: used bit at offset %zu is not a carved block", (void *)pg, off);
        nbits++;
    }
    if (nbits != pg->nused)
        FAIL("page %p: %u used bits, nused %u (S2)", (void *)pg, nbits, pg->nused);
    uint32_t nfree = 0;
    for (char *b = pg->freeblock; b != NULL; b = *(char **)b) {
        size_t off = (uintptr_t)b - (uintptr_t)pg;
        if ((uintptr_t)b < (uintptr_t)pg || off < SS_PAGE_HDR || off >= pg->nextoffset ||
            (off - SS_PAGE_HDR) % size)
            FAIL("page %p: free block %p is not a carved block", (void *)pg, (void *)b);
        if (ss_bit(pg, (unsigned)(off / SS_GRANULE)))
            FAIL("page %p: free block %p is marked used", (void *)pg, (void *)b);
        if (++nfree > carved)
            FAIL("page %p: free list longer than its carved blocks (a cycle?)", (void *)pg);
    }
    if (nfree + pg->nused != carved)
        FAIL("page %p: free %u + used %u != carved %u (S2)", (void *)pg, nfree, pg->nused, carved);
    return true;
}

static bool ss_check(void *ctx, FILE *report)
{
    ss_state_t *st = ctx;
    size_t held = SS_STATE_MAP, live_blocks = 0, live_bytes = 0, nchunks = 0, nonfull = 0;
    size_t navail = 0;

    for (unsigned i = 0; i < SS_NCLASSES; i++)
        if (ss_class_size[i] % SS_ALIGNMENT || (i && ss_class_size[i] <= ss_class_size[i - 1]) ||
            ss_class(ss_class_size[i]) != i || (i && ss_class(ss_class_size[i - 1] + 1) != i))
            FAIL("size class table and ss_class() disagree at class %u", i);

    ss_chunk_t *prevc = NULL;
    for (ss_chunk_t *c = st->chunks; c != NULL; prevc = c, c = c->next) {
        if (++nchunks > st->nchunks)
            FAIL("chunk list longer than nchunks %zu", st->nchunks);
        if (c->prev != prevc)
            FAIL("chunk %p: prev is not its predecessor", (void *)c);
        if (c->magic != SS_CHUNK_MAGIC || c->owner != st || ss_chunk_hdr(c->pages) != c ||
            (uintptr_t)c->pages % SS_PAGE_SIZE)
            FAIL("chunk %p: bad header", (void *)c);
        if ((uintptr_t)c->pages < st->lo || (uintptr_t)c->pages + SS_CHUNK_MAP > st->hi)
            FAIL("chunk %p: outside [lo, hi)", (void *)c);
        if (c->ncarved > SS_CHUNK_PAGES || c->nfreepages > c->ncarved)
            FAIL("chunk %p: ncarved %u, nfreepages %u", (void *)c, c->ncarved, c->nfreepages);
        held += SS_CHUNK_MAP;
        uint32_t nlisted = 0;
        for (ss_page_t *pg = c->freepages; pg != NULL; pg = pg->next) {
            uintptr_t off = (uintptr_t)pg - (uintptr_t)c->pages;
            if ((uintptr_t)pg < (uintptr_t)c->pages || off % SS_PAGE_SIZE ||
                off / SS_PAGE_SIZE >= c->ncarved)
                FAIL("chunk %p: freepages holds %p, not a carved page", (void *)c, (void *)pg);
            if (pg->magic != SS_PAGE_FREE)
                FAIL("chunk %p: freepages holds page %p in use (S1)", (void *)c, (void *)pg);
            if (++nlisted > c->ncarved)
                FAIL("chunk %p: freepages does not end", (void *)c);
        }
        if (nlisted != c->nfreepages)
            FAIL("chunk %p: %u pages on freepages, nfreepages %u", (void *)c, nlisted,
                 c->nfreepages);
        uint32_t nfreepg = 0;
        for (uint32_t i = 0; i < c->ncarved; i++) {
            ss_page_t *pg = (ss_page_t *)(c->pages + (size_t)i * SS_PAGE_SIZE);
            if (pg->magic == SS_PAGE_FREE) {
                nfreepg++;
                continue;
            }
            if (pg->magic != SS_PAGE_USED)
                FAIL("page %p: bad magic", (void *)pg);
            if (!ss_page_is_valid(pg, c, report))
                return false;
            live_blocks += pg->nused;
            live_bytes += (size_t)pg->nused * pg->size;
            if (pg->nused < pg->capacity)
                nonfull++;
        }
        if (nfreepg != c->nfreepages)
            FAIL("chunk %p: %u free pages, nfreepages %u (S1)", (void *)c, nfreepg, c->nfreepages);
        bool has_page = c->freepages != NULL || c->ncarved < SS_CHUNK_PAGES;
        if (c->on_avail != has_page)
            FAIL("chunk %p: on the avail list iff it has a page to give (S4)", (void *)c);
        navail += c->on_avail;
        if (c->nfreepages == c->ncarved && st->nchunks > 1)
            FAIL("chunk %p: every page is free but the chunk is not the last (S5)", (void *)c);
    }
    if (nchunks != st->nchunks)
        FAIL("%zu chunks listed, nchunks %zu", nchunks, st->nchunks);

    size_t n = 0;
    ss_chunk_t *preva = NULL;
    for (ss_chunk_t *c = st->avail; c != NULL; preva = c, c = c->avail_next) {
        if (c->avail_prev != preva || !c->on_avail)
            FAIL("avail list broken at chunk %p", (void *)c);
        if (++n > navail)
            FAIL("avail list longer than the chunks with a page to give (S4)");
    }
    if (n != navail)
        FAIL("%zu chunks on the avail list, %zu flagged", n, navail);

    /* (S3): every partial page is a used, non-full page of its class; as
     * many as there are non-full used pages. */
    size_t npartial = 0;
    for (unsigned i = 0; i < SS_NCLASSES; i++) {
        ss_page_t *prev = NULL;
        for (ss_page_t *pg = st->partial[i]; pg != NULL; prev = pg, pg = pg->next) {
            if (!ss_is_carved_page(st, pg) || pg->magic != SS_PAGE_USED)
                FAIL("partial[%u] holds %p, not a used page", i, (void *)pg);
            if (pg->prev != prev)
                FAIL("partial[%u]: page %p: prev is not its predecessor", i, (void *)pg);
            if (pg->szidx != i)
                FAIL("partial[%u] holds page %p of class %u", i, (void *)pg, pg->szidx);
            if (pg->nused >= pg->capacity)
                FAIL("partial[%u] holds the full page %p (S3)", i, (void *)pg);
            if (++npartial > nonfull)
                FAIL("partial lists hold more pages than are non-full (S3)");
        }
    }
    if (npartial != nonfull)
        FAIL("%zu pages on partial lists, %zu non-full pages (S3)", npartial, nonfull);

    size_t nlarge = 0;
    ss_large_t *prevl = NULL;
    for (ss_large_t *l = st->large; l != NULL; prevl = l, l = l->next) {
        if (++nlarge > st->nlarge)
            FAIL("large list longer than nlarge %zu", st->nlarge);
        if (l->prev != prevl)
            FAIL("large block %p: prev is not its predecessor", (void *)l);
        if (l->magic != SS_LARGE_MAGIC || l->owner != st || (uintptr_t)l % SS_PAGE_SIZE ||
            l->mapsize % HL_FIT_OS_PAGE || l->mapsize <= SS_SMALL_MAX + SS_LARGE_OFFSET)
            FAIL("large block %p: bad header", (void *)l);
        if ((uintptr_t)l < st->lo || (uintptr_t)l + l->mapsize > st->hi)
            FAIL("large block %p: outside [lo, hi)", (void *)l);
        held += l->mapsize;
        live_blocks++;
        live_bytes += l->mapsize - SS_LARGE_OFFSET;
    }
    if (nlarge != st->nlarge)
        FAIL("%zu large blocks listed, nlarge %zu", nlarge, st->nlarge);
    if (live_blocks != st->live_blocks)
        FAIL("%zu live blocks, live_blocks %zu (S6)", live_blocks, st->live_blocks);
    if (live_bytes != st->live_bytes)
        FAIL("%zu live bytes, live_bytes %zu (S6)", live_bytes, st->live_bytes);
    if (held != st->held || st->held > st->held_peak)
        FAIL("held %zu (peak %zu), mappings add up to %zu (S6)", st->held, st->held_peak, held);
    return true;
}

#undef FAIL

/* ---------------------------------------------------------------------- */
/* walk: the heap as spans (see the file comment)                         */

/* Report [a, a + n) as kind, if n > 0. */
static inline void ss_span(hl_span_fn fn, void *user, uintptr_t a, size_t n,
                           hl_span_kind_t kind)
{
    if (n > 0)
        fn(user, a, n, kind);
}

/* A page in use: header, blocks, never-carved blocks, tail. */
static int ss_walk_page(const ss_page_t *pg, hl_span_fn fn, void *user)
{
    /* what ss_page_is_valid checks of the geometry, no more */
    if (pg->szidx >= SS_NCLASSES || pg->size != ss_class_size[pg->szidx] ||
        pg->capacity != (SS_PAGE_SIZE - SS_PAGE_HDR) / pg->size ||
        pg->nextoffset < SS_PAGE_HDR || pg->nextoffset > SS_PAGE_HDR + pg->capacity * pg->size ||
        (pg->nextoffset - SS_PAGE_HDR) % pg->size)
        return -1;
    uintptr_t base = (uintptr_t)pg;
    size_t size = pg->size;
    ss_span(fn, user, base, SS_PAGE_HDR, HL_SPAN_OVERHEAD);
    for (size_t off = SS_PAGE_HDR; off < pg->nextoffset; off += size)
        ss_span(fn, user, base + off, size,
                ss_bit(pg, (unsigned)(off / SS_GRANULE)) ? HL_SPAN_USED : HL_SPAN_FREE);
    size_t end = SS_PAGE_HDR + (size_t)pg->capacity * size;
    ss_span(fn, user, base + pg->nextoffset, end - pg->nextoffset, HL_SPAN_UNUSED);
    ss_span(fn, user, base + end, SS_PAGE_SIZE - end, HL_SPAN_OVERHEAD);
    return 0;
}

static int ss_walk(void *ctx, hl_span_fn fn, void *user)
{
    ss_state_t *st = ctx;
    ss_span(fn, user, (uintptr_t)st, SS_STATE_MAP, HL_SPAN_OVERHEAD);
    size_t nchunks = 0;
    for (const ss_chunk_t *c = st->chunks; c != NULL; c = c->next) {
        if (++nchunks > st->nchunks || c->magic != SS_CHUNK_MAGIC || c->owner != st ||
            ss_chunk_hdr(c->pages) != c || (uintptr_t)c->pages % SS_PAGE_SIZE ||
            c->ncarved > SS_CHUNK_PAGES)
            return -1;
        for (uint32_t i = 0; i < c->ncarved; i++) {
            const ss_page_t *pg = (const ss_page_t *)(c->pages + (size_t)i * SS_PAGE_SIZE);
            if (pg->magic == SS_PAGE_FREE)
                ss_span(fn, user, (uintptr_t)pg, SS_PAGE_SIZE, HL_SPAN_FREE);
            else if (pg->magic != SS_PAGE_USED || pg->chunk != c ||
                     ss_walk_page(pg, fn, user) != 0)
                return -1;
        }
        uintptr_t uncarved = (uintptr_t)c->pages + (size_t)c->ncarved * SS_PAGE_SIZE;
        ss_span(fn, user, uncarved, (uintptr_t)c - uncarved, HL_SPAN_UNUSED);
        ss_span(fn, user, (uintptr_t)c, HL_FIT_OS_PAGE, HL_SPAN_OVERHEAD);
    }
    if (nchunks != st->nchunks)
        return -1;
    size_t nlarge = 0;
    for (const ss_large_t *l = st->large; l != NULL; l = l->next) {
        if (++nlarge > st->nlarge || l->magic != SS_LARGE_MAGIC || l->owner != st ||
            l->mapsize % HL_FIT_OS_PAGE || l->mapsize <= SS_SMALL_MAX + SS_LARGE_OFFSET)
            return -1;
        ss_span(fn, user, (uintptr_t)l, SS_LARGE_OFFSET, HL_SPAN_OVERHEAD);
        ss_span(fn, user, (uintptr_t)l + SS_LARGE_OFFSET, l->mapsize - SS_LARGE_OFFSET,
                HL_SPAN_USED);
    }
    return nlarge == st->nlarge ? 0 : -1;
}

static const hl_allocator_ops_t ss_ops = {
    .malloc = ss_malloc,
    .calloc = ss_calloc,
    .realloc = ss_realloc,
    .free = ss_free,
    .usable_size = ss_usable_size,
    .stats = ss_stats,
    .check = ss_check,
    .print_stats = ss_print_stats,
    .destroy = ss_destroy,
    .walk = ss_walk,
};

int hl_segregated_simple_create(const hl_alloc_options_t *opt, hl_allocator_t *out,
                                char *err, size_t errlen)
{
    HL_UNUSED(opt);
    if (sysconf(_SC_PAGESIZE) != (long)HL_FIT_OS_PAGE)
        return _hl_err(err, errlen, SS_NAME ": needs %zu-byte pages", HL_FIT_OS_PAGE);
    ss_state_t *st = _hl_fit_map(SS_STATE_MAP);  /* zeroed: empty lists */
    if (st == NULL)
        return _hl_err(err, errlen, SS_NAME ": cannot map its state");
    ss_held_add(st, SS_STATE_MAP);
    out->ops = &ss_ops;
    out->ctx = st;
    out->name = SS_NAME;
    return 0;
}
