/* seqfit.c: sequential fits -- one free list, boundary tags, immediate
 * coalescing -- in three policies (Wilson et al. 1995, section 3.4):
 *
 *   seqfit-first   address-ordered (AO) first fit: the free list is kept in
 *                  address order and the first block that fits is taken.
 *                  Knuth's and Johnstone & Wilson's winner, with best fit.
 *   seqfit-next    next fit: the search starts where the last one ended (a
 *                  "roving pointer") and wraps around once.  A freed block
 *                  that coalesces with nobody is put just behind the rover,
 *                  so it is the last one the next search looks at.  Spreads
 *                  allocations over the whole heap: faster searches, worse
 *                  fragmentation (the survey's verdict).
 *   seqfit-best    best fit: the whole list is searched for the smallest
 *                  block that fits, stopping early on an exact fit.  The
 *                  list is LIFO (a freed block goes to the front), so among
 *                  equally good blocks the most recently freed wins.
 *
 * The policy is a compile-time constant: each entry point is a thin wrapper
 * around an always-inline body taking `pol`, so every policy gets its own
 * specialised code and its own vtable, with no run-time switch.
 *
 * The heap
 * --------
 * Memory comes from the system in chunks (mmap), of SEQ_CHUNK_SIZE, or
 * larger for a request that does not fit one.  A chunk is
 *
 *   base                                                      base + size
 *   | next prev size magic | prologue | block | block | ... | epilogue |
 *   |<------ seq_chunk_t (40 bytes) -->|                      |<- 8 -->|
 *
 * The prologue and epilogue are tags of a zero-sized in-use block: coalescing
 * stops at them, so no block ever merges across a chunk's ends and chunks
 * need not be contiguous.  Chunks are on a doubly linked list, newest first.
 *
 * A block (Knuth's boundary tags: a header and a footer, both the same tag)
 *
 *   b                  b+8 (16-aligned)                  b+size-8   b+size
 *   | tag: size|flags | payload ............................ | tag |
 *     a free block's payload starts with its list links: | next | prev | ...
 *
 * Tag values (one 64-bit word; accessors seq_tag_* only):
 *   bits  0      SEQ_INUSE  the block is allocated
 *   bit   1      SEQ_MARK   transient: set by check() on list members only
 *   bits  4..47  the block size in bytes, a multiple of 16, >= SEQ_MIN_BLOCK
 *   bits 48..63  SEQ_MAGIC  (a cheap "is this one of our tags" test)
 *
 * Per-block overhead: 16 bytes (header + footer); usable = size - 16.  A
 * request n takes max(SEQ_MIN_BLOCK, round_up(n + 16, 16)) bytes.
 * Alignment: 16 bytes, as glibc on x86-64: headers sit at 8 mod 16.
 *
 * Invariants (checked by seq_check, which walks every chunk and the list):
 *   (I1) in every chunk, the blocks tile [base+40, base+size-8) exactly;
 *        header == footer (bar SEQ_MARK) for every block.
 *   (I2) a block is on the free list iff its tag says free.
 *   (I3) no two adjacent blocks are free (coalescing is immediate).
 *   (I4) seqfit-first: the list is in strictly increasing address order.
 *        seqfit-next: the rover is the list head or a list member.
 *   (I5) a chunk is wholly free (one free block) only if it is the only
 *        chunk and of the standard size: others are unmapped the moment they
 *        become wholly free; the last one stays, so that a malloc/free loop
 *        does not map and unmap a chunk each time (and goes back when a
 *        request too big for it maps a new chunk).
 *   (I6) live_blocks == number of in-use blocks; live_bytes == sum of their
 *        usable sizes; held == state mapping + sum of chunk sizes.
 *
 * The walk
 * --------
 * seq_walk (`heaplab map`, heaplab/heapmap.h) reports each chunk in
 * address order: its header and prologue (OVERHEAD), then every block as
 * its header tag (OVERHEAD), its payload and its footer tag (OVERHEAD), then
 * the epilogue (OVERHEAD).  An in-use block's payload is USED and is exactly
 * [p, p + usable_size(p)) for the pointer p malloc returned; a free block's
 * payload, list links included, is FREE.  There is no wilderness (a new
 * chunk is one free block), so nothing is UNUSED.  The state mapping is one
 * OVERHEAD span more, so the spans sum to held exactly, and there is one
 * USED span per live block.  It reads tags and chunk headers only (never
 * the list, never a mark) and returns -1 at the first one that would not
 * let it tile a chunk; seq_check then names the broken invariant.
 *
 * Worst cases
 * -----------
 * Time: malloc is O(free blocks) for all three (first and next fit may stop
 * early; best fit searches to the end unless it finds an exact fit).  free
 * is O(1), except seqfit-first's free of a block with no free neighbour,
 * which searches the list for its place: O(free blocks).  A new chunk costs
 * one mmap; a wholly free chunk one munmap.
 * Fragmentation: internal, at most 16 bytes of tags + 15 of rounding + the
 * unsplittable tail of a block (< SEQ_MIN_BLOCK).  External: unbounded for
 * every sequential fit (Robson: a program can make any non-moving allocator
 * use log2(max/min) times its live memory); next fit is typically the worst,
 * since it scatters neighbours in time across the heap.
 *
 * Debug-build misuse (HL_DEBUG >= 1).  free, realloc and usable_size check
 * their pointer before using it and report, naming the allocator and the
 * pointer, then abort (_hl_fit_misuse):
 *   - a pointer outside every chunk ever mapped, or not 16-aligned, or whose
 *     header lacks SEQ_MAGIC: "not a block of this allocator";
 *   - a header that says free: "double free" (free frees a block's header
 *     at once, even when the block merges into its left neighbour, so a
 *     second free of it is caught while its memory is not reused);
 *   - header != footer: the block or its neighbour was overrun.
 * Not detectable cheaply: a pointer into a chunk already unmapped (reading
 * its header faults; HL_DEBUG 3 first checks that the pointer is in a live
 * chunk), and a stale pointer whose memory was reallocated since.
 */
#include "classic.h"
#include "fit_common.h"
#include "hl_debug.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------------- */
/* Tunables                                                               */

/* Every payload is 16-aligned, as glibc's on x86-64. */
#define SEQ_ALIGNMENT 16
/* One tag word: the header, and the footer. */
#define SEQ_TAG_SIZE 8
#define SEQ_OVERHEAD (2 * SEQ_TAG_SIZE)
/* The smallest block: header, next and prev links, footer. */
#define SEQ_MIN_BLOCK 32
/* The standard chunk: 1 MiB, pymalloc's arena size, so that a chunk's mmap
 * is amortised over thousands of small blocks while an idle heap holds
 * little. */
#define SEQ_CHUNK_SIZE ((size_t)1 << 20)
/* Larger requests fail: sizes must fit the tag's 44-bit field with room
 * for the chunk's overhead, and no system maps this much anyway. */
#define SEQ_MAX_REQUEST ((size_t)1 << 46)

#define SEQ_CHUNK_HDR 40  /* sizeof(seq_chunk_t): first header at base + 40 */
#define SEQ_CHUNK_OVERHEAD (SEQ_CHUNK_HDR + SEQ_TAG_SIZE)  /* + epilogue */

_Static_assert(SEQ_MIN_BLOCK >= SEQ_OVERHEAD + 2 * sizeof(void *),
               "a free block must hold its tags and both list links");
_Static_assert(SEQ_MIN_BLOCK % SEQ_ALIGNMENT == 0, "block sizes are multiples of the alignment");
_Static_assert(SEQ_CHUNK_HDR % SEQ_ALIGNMENT == SEQ_TAG_SIZE,
               "headers sit at 8 mod 16 so payloads are 16-aligned");
_Static_assert(SEQ_CHUNK_SIZE % HL_FIT_OS_PAGE == 0, "chunks are whole pages");
_Static_assert(SEQ_CHUNK_SIZE > SEQ_CHUNK_OVERHEAD + SEQ_MIN_BLOCK, "a chunk holds a block");
_Static_assert(SEQ_MAX_REQUEST + SEQ_CHUNK_OVERHEAD + 2 * HL_FIT_OS_PAGE < ((uint64_t)1 << 48),
               "every block size fits the tag's size field");

/* ---------------------------------------------------------------------- */
/* Tags                                                                   */

typedef uint64_t seq_tag_t;

#define SEQ_INUSE ((seq_tag_t)1)
#define SEQ_MARK ((seq_tag_t)2)
#define SEQ_SIZE_MASK ((seq_tag_t)0x0000FFFFFFFFFFF0ull)
#define SEQ_MAGIC ((seq_tag_t)0x5EF1ull << 48)
#define SEQ_MAGIC_MASK ((seq_tag_t)0xFFFFull << 48)

static inline seq_tag_t seq_tag(size_t size, bool inuse)
{
    return SEQ_MAGIC | (seq_tag_t)size | (inuse ? SEQ_INUSE : 0);
}
static inline size_t seq_tag_size(seq_tag_t t) { return (size_t)(t & SEQ_SIZE_MASK); }
static inline bool seq_tag_inuse(seq_tag_t t) { return (t & SEQ_INUSE) != 0; }
static inline bool seq_tag_marked(seq_tag_t t) { return (t & SEQ_MARK) != 0; }
static inline bool seq_tag_magic_ok(seq_tag_t t) { return (t & SEQ_MAGIC_MASK) == SEQ_MAGIC; }
/* The tag with the transient mark dropped, for header == footer. */
static inline seq_tag_t seq_tag_plain(seq_tag_t t) { return t & ~SEQ_MARK; }

/* A block, by its header's address.  Free blocks use the links. */
typedef struct seq_block_s {
    seq_tag_t tag;
    struct seq_block_s *next, *prev;  /* free blocks only */
} seq_block_t;

static inline seq_tag_t *seq_footer(seq_block_t *b, size_t size)
{
    return (seq_tag_t *)((char *)b + size - SEQ_TAG_SIZE);
}
static inline size_t seq_size(const seq_block_t *b) { return seq_tag_size(b->tag); }
static inline bool seq_inuse(const seq_block_t *b) { return seq_tag_inuse(b->tag); }
static inline void seq_set_tags(seq_block_t *b, size_t size, bool inuse)
{
    seq_tag_t t = seq_tag(size, inuse);
    b->tag = t;
    *seq_footer(b, size) = t;
}
static inline seq_block_t *seq_next_block(seq_block_t *b)
{
    return (seq_block_t *)((char *)b + seq_size(b));
}
/* The tag just below b: the left neighbour's footer, or the prologue. */
static inline seq_tag_t seq_left_tag(seq_block_t *b) { return ((seq_tag_t *)b)[-1]; }
static inline void *seq_payload(seq_block_t *b) { return (char *)b + SEQ_TAG_SIZE; }
static inline seq_block_t *seq_block_of_payload(const void *p)
{
    return (seq_block_t *)((char *)p - SEQ_TAG_SIZE);
}

/* ---------------------------------------------------------------------- */
/* Chunks and the instance                                                */

typedef struct seq_chunk_s {
    struct seq_chunk_s *next, *prev;  /* every chunk, newest first */
    size_t size;                      /* bytes mapped */
    uint64_t magic;                   /* SEQ_CHUNK_MAGIC */
    seq_tag_t prologue;               /* seq_tag(0, true) */
} seq_chunk_t;

_Static_assert(sizeof(seq_chunk_t) == SEQ_CHUNK_HDR, "SEQ_CHUNK_HDR is the chunk header");

#define SEQ_CHUNK_MAGIC 0x5E9C4A11C0FFEEull

static inline seq_block_t *seq_chunk_first(seq_chunk_t *c)
{
    return (seq_block_t *)((char *)c + SEQ_CHUNK_HDR);
}
static inline seq_tag_t *seq_chunk_epilogue(seq_chunk_t *c)
{
    return (seq_tag_t *)((char *)c + c->size - SEQ_TAG_SIZE);
}
static inline size_t seq_chunk_span(const seq_chunk_t *c) { return c->size - SEQ_CHUNK_OVERHEAD; }

typedef enum { SEQ_FIRST, SEQ_NEXT, SEQ_BEST } seq_policy_t;

typedef struct seq_state_s {
    seq_block_t freelist;   /* list head: circular, doubly linked; tag unused */
    seq_block_t *rover;     /* next fit: where the next search starts (a
                             * member, or &freelist) */
    size_t nfree;           /* blocks on the free list */
    seq_chunk_t *chunks;
    size_t nchunks;
    uintptr_t lo, hi;       /* [lo, hi) covers every chunk ever mapped */
    size_t held, held_peak; /* bytes mapped now (state included), at most */
    size_t live_blocks, live_bytes;
    const char *name;
    seq_policy_t policy;
    struct {
        size_t malloc_calls, free_calls, realloc_calls, realloc_in_place;
        size_t search_steps, splits, coalesces, chunks_mapped, chunks_unmapped;
    } counters;             /* HL_STATS */
} seq_state_t;

#define SEQ_STATE_MAP _hl_fit_round_up(sizeof(seq_state_t), HL_FIT_OS_PAGE)

static void seq_held_add(seq_state_t *st, size_t n)
{
    st->held += n;
    if (st->held > st->held_peak)
        st->held_peak = st->held;
}

static bool seq_check(void *ctx, FILE *report);

/* ---------------------------------------------------------------------- */
/* The free list                                                          */

static inline void seq_list_unlink(seq_state_t *st, seq_block_t *b)
{
    hl_assert_internal(b->next->prev == b && b->prev->next == b);
    b->prev->next = b->next;
    b->next->prev = b->prev;
    if (st->rover == b)
        st->rover = b->next;
    st->nfree--;
}

static inline void seq_list_insert_after(seq_state_t *st, seq_block_t *pos, seq_block_t *b)
{
    b->prev = pos;
    b->next = pos->next;
    pos->next->prev = b;
    pos->next = b;
    st->nfree++;
}

/* nb takes old's place in the list (old is being merged into nb or split). */
static inline void seq_list_replace(seq_state_t *st, seq_block_t *old, seq_block_t *nb)
{
    hl_assert_internal(old->next->prev == old && old->prev->next == old);
    nb->next = old->next;
    nb->prev = old->prev;
    nb->next->prev = nb;
    nb->prev->next = nb;
    if (st->rover == old)
        st->rover = nb;
}

/* Put a free block that merged with nobody on the list, where the policy
 * wants it. */
__attribute__((always_inline))
static inline void seq_list_insert(seq_state_t *st, seq_policy_t pol, seq_block_t *b)
{
    switch (pol) {
    case SEQ_FIRST: {
        /* address order: after the last block below b */
        seq_block_t *pos = &st->freelist;
        while (pos->next != &st->freelist && pos->next < b)
            pos = pos->next;
        seq_list_insert_after(st, pos, b);
        break;
    }
    case SEQ_NEXT:
        /* just behind the rover: the last place the next search visits */
        seq_list_insert_after(st, st->rover->prev, b);
        break;
    case SEQ_BEST:
        seq_list_insert_after(st, &st->freelist, b);
        break;
    }
}

/* ---------------------------------------------------------------------- */
/* Chunks                                                                 */

static void seq_chunk_release(seq_state_t *st, seq_block_t *b);

/* Map a chunk with room for `need`; its one free block goes on the list.
 * The kept wholly free chunk of (I5), too small for this request, goes
 * back first. */
__attribute__((always_inline))
static inline seq_block_t *seq_chunk_new(seq_state_t *st, seq_policy_t pol, size_t need)
{
    if (st->nchunks == 1) {
        seq_block_t *f = seq_chunk_first(st->chunks);
        if (!seq_inuse(f) && seq_size(f) == seq_chunk_span(st->chunks))
            seq_chunk_release(st, f);
    }
    size_t size = SEQ_CHUNK_SIZE;
    if (need > SEQ_CHUNK_SIZE - SEQ_CHUNK_OVERHEAD)
        size = _hl_fit_round_up(need + SEQ_CHUNK_OVERHEAD, HL_FIT_OS_PAGE);
    seq_chunk_t *c = _hl_fit_map(size);
    if (c == NULL)
        return NULL;
    c->size = size;
    c->magic = SEQ_CHUNK_MAGIC;
    c->prologue = seq_tag(0, true);
    *seq_chunk_epilogue(c) = seq_tag(0, true);
    c->prev = NULL;
    c->next = st->chunks;
    if (st->chunks)
        st->chunks->prev = c;
    st->chunks = c;
    st->nchunks++;
    if (st->lo == 0 || (uintptr_t)c < st->lo)
        st->lo = (uintptr_t)c;
    if ((uintptr_t)c + size > st->hi)
        st->hi = (uintptr_t)c + size;
    seq_held_add(st, size);
    hl_stat_inc(st->counters.chunks_mapped);

    seq_block_t *b = seq_chunk_first(c);
    seq_set_tags(b, seq_chunk_span(c), false);
    seq_list_insert(st, pol, b);
    return b;
}

/* b is a free block on the list that spans its whole chunk (I5). */
static void seq_chunk_release(seq_state_t *st, seq_block_t *b)
{
    seq_chunk_t *c = (seq_chunk_t *)((char *)b - SEQ_CHUNK_HDR);
    hl_assert_internal(c->magic == SEQ_CHUNK_MAGIC && seq_size(b) == seq_chunk_span(c));
    seq_list_unlink(st, b);
    if (c->prev)
        c->prev->next = c->next;
    else
        st->chunks = c->next;
    if (c->next)
        c->next->prev = c->prev;
    st->nchunks--;
    st->held -= c->size;
    hl_stat_inc(st->counters.chunks_unmapped);
    _hl_fit_unmap(c, c->size);
}

/* After a free: give b's chunk back if b now spans it, unless (I5) it is
 * the last chunk and of the standard size. */
static inline void seq_maybe_release(seq_state_t *st, seq_block_t *b)
{
    if (seq_left_tag(b) != seq_tag(0, true) || *(seq_tag_t *)seq_next_block(b) != seq_tag(0, true))
        return;
    seq_chunk_t *c = (seq_chunk_t *)((char *)b - SEQ_CHUNK_HDR);
    if (st->nchunks > 1 || c->size != SEQ_CHUNK_SIZE)
        seq_chunk_release(st, b);
}

/* ---------------------------------------------------------------------- */
/* Pointer checks (debug builds)                                          */

#if HL_DEBUG >= 3
/* Is p inside a chunk mapped now?  O(chunks): HL_DEBUG 3 only. */
static bool seq_in_live_chunk(const seq_state_t *st, const void *p)
{
    for (const seq_chunk_t *c = st->chunks; c != NULL; c = c->next)
        if ((uintptr_t)p >= (uintptr_t)c + SEQ_CHUNK_HDR + SEQ_TAG_SIZE &&
            (uintptr_t)p < (uintptr_t)c + c->size)
            return true;
    return false;
}
#endif

/* The block of an allocated payload pointer p, after the debug checks of
 * the file comment.  `op` names the entry point, for the report. */
static inline seq_block_t *seq_owned_block(const seq_state_t *st, const void *p, const char *op)
{
    seq_block_t *b = seq_block_of_payload(p);
#if HL_DEBUG >= 1
    if ((uintptr_t)p % SEQ_ALIGNMENT != 0 || (uintptr_t)p < st->lo || (uintptr_t)p >= st->hi)
        _hl_fit_misuse(st->name, op, p, "not a block of this allocator (outside its chunks)");
#if HL_DEBUG >= 3
    if (!seq_in_live_chunk(st, p))
        _hl_fit_misuse(st->name, op, p, "not in a chunk of this allocator (unmapped?)");
#endif
    seq_tag_t t = b->tag;
    if (!seq_tag_magic_ok(t) || seq_tag_size(t) < SEQ_MIN_BLOCK ||
        seq_tag_size(t) > st->hi - (uintptr_t)b)
        _hl_fit_misuse(st->name, op, p, "not a block of this allocator (no block header)");
    if (!seq_tag_inuse(t))
        _hl_fit_misuse(st->name, op, p, "double free (the block is already free)");
    if (seq_tag_plain(*seq_footer(b, seq_tag_size(t))) != seq_tag_plain(t))
        _hl_fit_misuse(st->name, op, p, "block header and footer differ (overrun?)");
#else
    HL_UNUSED(st);
    HL_UNUSED(op);
#endif
    return b;
}

/* ---------------------------------------------------------------------- */
/* malloc                                                                 */

static inline size_t seq_request2size(size_t n)
{
    size_t size = _hl_fit_round_up(n + SEQ_OVERHEAD, SEQ_ALIGNMENT);
    return size < SEQ_MIN_BLOCK ? SEQ_MIN_BLOCK : size;
}

/* The free block the policy picks for `need` bytes, or NULL. */
__attribute__((always_inline))
static inline seq_block_t *seq_find(seq_state_t *st, seq_policy_t pol, size_t need)
{
    seq_block_t *head = &st->freelist;
    size_t steps = 0;
    seq_block_t *found = NULL;
    switch (pol) {
    case SEQ_FIRST:
        for (seq_block_t *b = head->next; b != head; b = b->next) {
            steps++;
            if (seq_size(b) >= need) {
                found = b;
                break;
            }
        }
        break;
    case SEQ_NEXT: {
        /* once around the circle (nfree members and the head), from the rover */
        seq_block_t *b = st->rover;
        for (size_t i = 0; i <= st->nfree; i++, b = b->next) {
            if (b == head)
                continue;
            steps++;
            if (seq_size(b) >= need) {
                found = b;
                break;
            }
        }
        break;
    }
    case SEQ_BEST: {
        size_t best = SIZE_MAX;
        for (seq_block_t *b = head->next; b != head; b = b->next) {
            steps++;
            size_t size = seq_size(b);
            if (size >= need && size < best) {
                best = size;
                found = b;
                if (size == need)
                    break;
            }
        }
        break;
    }
    }
    hl_stat_add(st->counters.search_steps, steps);
    HL_UNUSED(steps);
    return found;
}

/* Allocate `need` bytes from the front of free block b; the remainder, if
 * it can be a block, keeps b's place in the list (so address order
 * survives).  Next fit's rover moves to where the search ended: the
 * remainder, else the block after b. */
__attribute__((always_inline))
static inline seq_block_t *seq_take(seq_state_t *st, seq_policy_t pol, seq_block_t *b,
                                    size_t need)
{
    size_t size = seq_size(b);
    hl_assert_internal(!seq_inuse(b) && size >= need);
    if (size - need >= SEQ_MIN_BLOCK) {
        seq_block_t *r = (seq_block_t *)((char *)b + need);
        seq_set_tags(r, size - need, false);
        seq_list_replace(st, b, r);
        seq_set_tags(b, need, true);
        if (pol == SEQ_NEXT)
            st->rover = r;
        hl_stat_inc(st->counters.splits);
    }
    else {
        seq_block_t *after = b->next;
        seq_list_unlink(st, b);
        seq_set_tags(b, size, true);
        if (pol == SEQ_NEXT)
            st->rover = after;
    }
    st->live_blocks++;
    st->live_bytes += seq_size(b) - SEQ_OVERHEAD;
    return b;
}

__attribute__((always_inline))
static inline void *seq_malloc_impl(seq_state_t *st, seq_policy_t pol, size_t n)
{
    if (HL_UNLIKELY(n > SEQ_MAX_REQUEST))
        return NULL;
    hl_stat_inc(st->counters.malloc_calls);
    size_t need = seq_request2size(n);
    seq_block_t *b = seq_find(st, pol, need);
    if (HL_UNLIKELY(b == NULL)) {
        b = seq_chunk_new(st, pol, need);
        if (b == NULL)
            return NULL;
    }
    b = seq_take(st, pol, b, need);
    hl_assert((uintptr_t)seq_payload(b) % SEQ_ALIGNMENT == 0);
    hl_assert_expensive(seq_check(st, stderr));
    return seq_payload(b);
}

/* ---------------------------------------------------------------------- */
/* free                                                                   */

/* Free in-use block b: merge with free neighbours at once, then put the
 * result on the list (a merged block takes its neighbour's place). */
__attribute__((always_inline))
static inline void seq_free_block(seq_state_t *st, seq_policy_t pol, seq_block_t *b)
{
    size_t size = seq_size(b);
    st->live_blocks--;
    st->live_bytes -= size - SEQ_OVERHEAD;
    b->tag = seq_tag(size, false);  /* a stale header says free: see the file comment */

    seq_tag_t lt = seq_left_tag(b);
    seq_block_t *right = (seq_block_t *)((char *)b + size);
    bool left_free = !seq_tag_inuse(lt);
    bool right_free = !seq_inuse(right);
    if (left_free) {
        seq_block_t *left = (seq_block_t *)((char *)b - seq_tag_size(lt));
        size += seq_tag_size(lt);
        if (right_free) {
            size += seq_size(right);
            seq_list_unlink(st, right);
            hl_stat_inc(st->counters.coalesces);
        }
        seq_set_tags(left, size, false);
        b = left;
        hl_stat_inc(st->counters.coalesces);
    }
    else if (right_free) {
        size += seq_size(right);
#ifdef HL_PLANT_SEQFIT_STALE_TAG
        /* planted bug: only the header is rewritten; the merged block's
         * footer (right's old one) keeps right's size: a stale boundary tag */
        b->tag = seq_tag(size, false);
#else
        seq_set_tags(b, size, false);
#endif
        seq_list_replace(st, right, b);
        hl_stat_inc(st->counters.coalesces);
    }
    else {
        seq_set_tags(b, size, false);
        seq_list_insert(st, pol, b);
    }
    seq_maybe_release(st, b);
}

__attribute__((always_inline))
static inline void seq_free_impl(seq_state_t *st, seq_policy_t pol, void *p)
{
    if (p == NULL)
        return;
    hl_stat_inc(st->counters.free_calls);
    seq_free_block(st, pol, seq_owned_block(st, p, "free"));
    hl_assert_expensive(seq_check(st, stderr));
}

/* ---------------------------------------------------------------------- */
/* realloc                                                                */

__attribute__((always_inline))
static inline void *seq_realloc_impl(seq_state_t *st, seq_policy_t pol, void *p, size_t n)
{
    if (p == NULL)
        return seq_malloc_impl(st, pol, n);
    seq_block_t *b = seq_owned_block(st, p, "realloc");
    if (HL_UNLIKELY(n > SEQ_MAX_REQUEST))
        return NULL;
    hl_stat_inc(st->counters.realloc_calls);
    size_t need = seq_request2size(n);
    size_t size = seq_size(b);
    seq_block_t *right = (seq_block_t *)((char *)b + size);

    if (need <= size) {
        /* Shrink in place; a tail that can be a block is freed, merging
         * with a free right neighbour. */
        if (size - need >= SEQ_MIN_BLOCK) {
            seq_block_t *t = (seq_block_t *)((char *)b + need);
            size_t tsize = size - need;
            seq_set_tags(b, need, true);
            if (!seq_inuse(right)) {
                seq_set_tags(t, tsize + seq_size(right), false);
                seq_list_replace(st, right, t);
                hl_stat_inc(st->counters.coalesces);
            }
            else {
                seq_set_tags(t, tsize, false);
                seq_list_insert(st, pol, t);
            }
            st->live_bytes -= tsize;
            hl_stat_inc(st->counters.splits);
        }
        hl_stat_inc(st->counters.realloc_in_place);
        hl_assert_expensive(seq_check(st, stderr));
        return p;
    }

    /* Grow in place into a free right neighbour. */
    if (!seq_inuse(right) && size + seq_size(right) >= need) {
        size_t total = size + seq_size(right);
        if (total - need >= SEQ_MIN_BLOCK) {
            /* r may overlap right's links: relink before writing r's tag */
            seq_block_t *r = (seq_block_t *)((char *)b + need);
            seq_list_replace(st, right, r);
            seq_set_tags(r, total - need, false);
            seq_set_tags(b, need, true);
        }
        else {
            seq_list_unlink(st, right);
            seq_set_tags(b, total, true);
        }
        st->live_bytes += seq_size(b) - size;
        hl_stat_inc(st->counters.realloc_in_place);
        hl_assert_expensive(seq_check(st, stderr));
        return p;
    }

    /* Move: _hl_fit_realloc_move's steps, written out to keep this
     * policy's malloc and free inline (fit_common.h). */
    void *q = seq_malloc_impl(st, pol, n);
    if (q == NULL)
        return NULL;
    memcpy(q, p, size - SEQ_OVERHEAD);
    seq_free_block(st, pol, b);
    hl_assert_expensive(seq_check(st, stderr));
    return q;
}

__attribute__((always_inline))
static inline void *seq_calloc_impl(seq_state_t *st, seq_policy_t pol, size_t nelem, size_t elsize)
{
    if (elsize != 0 && nelem > SIZE_MAX / elsize)
        return NULL;
    size_t n = nelem * elsize;
    void *p = seq_malloc_impl(st, pol, n);
    if (p != NULL)
        memset(p, 0, n);
    return p;
}

/* ---------------------------------------------------------------------- */
/* The policy-independent entries                                         */

static size_t seq_usable_size(void *ctx, const void *p)
{
    if (p == NULL)
        return 0;
    return seq_size(seq_owned_block(ctx, p, "usable_size")) - SEQ_OVERHEAD;
}

static void seq_stats(void *ctx, hl_stats_t *out)
{
    seq_state_t *st = ctx;
    out->valid = HL_STAT_HELD | HL_STAT_LIVE_BLOCKS | HL_STAT_LIVE_BYTES;
    out->held_bytes = st->held;
    out->held_peak_bytes = st->held_peak;
    out->live_blocks = st->live_blocks;
    out->live_bytes = st->live_bytes;
}

static int seq_print_stats(void *ctx, FILE *out)
{
    seq_state_t *st = ctx;
    size_t free_bytes = 0, largest = 0;
    for (seq_block_t *b = st->freelist.next; b != &st->freelist; b = b->next) {
        free_bytes += seq_size(b);
        if (seq_size(b) > largest)
            largest = seq_size(b);
    }
    fprintf(out, "%s: %zu chunks, %zu bytes held (peak %zu)\n", st->name, st->nchunks, st->held,
            st->held_peak);
    fprintf(out, "  live: %zu blocks, %zu usable bytes\n", st->live_blocks, st->live_bytes);
    fprintf(out, "  free list: %zu blocks, %zu bytes, largest %zu\n", st->nfree, free_bytes,
            largest);
#if HL_STATS
    fprintf(out,
            "  calls: malloc %zu, free %zu, realloc %zu (%zu in place)\n"
            "  search steps %zu, splits %zu, coalesces %zu, chunks mapped %zu, unmapped %zu\n",
            st->counters.malloc_calls, st->counters.free_calls, st->counters.realloc_calls,
            st->counters.realloc_in_place, st->counters.search_steps, st->counters.splits,
            st->counters.coalesces, st->counters.chunks_mapped, st->counters.chunks_unmapped);
#endif
    return 1;
}

static void seq_destroy(void *ctx)
{
    seq_state_t *st = ctx;
    seq_chunk_t *c = st->chunks;
    while (c != NULL) {
        seq_chunk_t *next = c->next;
        _hl_fit_unmap(c, c->size);
        c = next;
    }
    _hl_fit_unmap(st, SEQ_STATE_MAP);
}

/* ---------------------------------------------------------------------- */
/* check: the invariants of the file comment                              */

#define FAIL(...) HL_FIT_FAIL(report, st->name, __VA_ARGS__)

/* Is b a plausible block header address inside some chunk? */
static bool seq_block_in_chunks(const seq_state_t *st, const seq_block_t *b)
{
    for (const seq_chunk_t *c = st->chunks; c != NULL; c = c->next)
        if ((uintptr_t)b >= (uintptr_t)seq_chunk_first((seq_chunk_t *)c) &&
            (uintptr_t)b + SEQ_MIN_BLOCK <= (uintptr_t)c + c->size - SEQ_TAG_SIZE)
            return true;
    return false;
}

/* Walk the free list, marking every member (I2, I4). */
static bool seq_check_list(seq_state_t *st, FILE *report, size_t *nlisted)
{
    seq_block_t *head = &st->freelist;
    size_t limit = st->held / SEQ_MIN_BLOCK + 1, n = 0;
    bool rover_seen = st->rover == head;
    seq_block_t *prev = head;
    for (seq_block_t *b = head->next; b != head; prev = b, b = b->next) {
        if (++n > limit)
            FAIL("free list does not return to its head");
        if (!seq_block_in_chunks(st, b) || (uintptr_t)seq_payload(b) % SEQ_ALIGNMENT)
            FAIL("free list: %p is not a block in a chunk", (void *)b);
        if (b->prev != prev)
            FAIL("free list: block %p: prev is not its predecessor", (void *)b);
        if (!seq_tag_magic_ok(b->tag))
            FAIL("free list: block %p has no tag", (void *)b);
        if (seq_inuse(b))
            FAIL("free list: block %p is in use (on the list iff free)", (void *)b);
        if (seq_tag_marked(b->tag))
            FAIL("free list: block %p is listed twice", (void *)b);
        if (st->policy == SEQ_FIRST && prev != head && prev >= b)
            FAIL("seqfit-first: free list not in address order at %p", (void *)b);
        if (b == st->rover)
            rover_seen = true;
        b->tag |= SEQ_MARK;
    }
    if (head->prev != prev)
        FAIL("free list: the head's prev is not the last block");
    if (n != st->nfree)
        FAIL("free list holds %zu blocks, nfree is %zu", n, st->nfree);
    if (st->policy == SEQ_NEXT && !rover_seen)
        FAIL("seqfit-next: the rover %p is not on the free list", (void *)st->rover);
    *nlisted = n;
    return true;
}

static bool seq_check_heap(seq_state_t *st, FILE *report, size_t nlisted)
{
    size_t nchunks = 0, held = SEQ_STATE_MAP, nfree = 0, nused = 0, used_bytes = 0;
    seq_chunk_t *prevc = NULL;
    for (seq_chunk_t *c = st->chunks; c != NULL; prevc = c, c = c->next) {
        if (++nchunks > st->nchunks)
            FAIL("chunk list longer than nchunks %zu", st->nchunks);
        if (c->prev != prevc)
            FAIL("chunk %p: prev is not its predecessor", (void *)c);
        if ((uintptr_t)c % HL_FIT_OS_PAGE || c->magic != SEQ_CHUNK_MAGIC ||
            c->size % HL_FIT_OS_PAGE || c->size < SEQ_CHUNK_SIZE)
            FAIL("chunk %p: bad header", (void *)c);
        if ((uintptr_t)c < st->lo || (uintptr_t)c + c->size > st->hi)
            FAIL("chunk %p: outside [lo, hi)", (void *)c);
        if (c->prologue != seq_tag(0, true) || *seq_chunk_epilogue(c) != seq_tag(0, true))
            FAIL("chunk %p: prologue or epilogue overwritten", (void *)c);
        held += c->size;
        char *end = (char *)seq_chunk_epilogue(c);
        bool prev_free = false;
        size_t nblocks = 0;
        seq_block_t *b = seq_chunk_first(c);
        while ((char *)b < end) {
            seq_tag_t t = b->tag;
            size_t size = seq_tag_size(t);
            nblocks++;
            if (!seq_tag_magic_ok(t))
                FAIL("chunk %p: block %p has no tag", (void *)c, (void *)b);
            if (size < SEQ_MIN_BLOCK || size % SEQ_ALIGNMENT || size > (size_t)(end - (char *)b))
                FAIL("chunk %p: block %p has size %zu", (void *)c, (void *)b, size);
            if ((uintptr_t)seq_payload(b) % SEQ_ALIGNMENT)
                FAIL("block %p: payload not 16-aligned", (void *)b);
            if (seq_tag_plain(*seq_footer(b, size)) != seq_tag_plain(t))
                FAIL("block %p: header and footer differ", (void *)b);
            if (seq_tag_inuse(t)) {
                if (seq_tag_marked(t))
                    FAIL("block %p: in use but on the free list", (void *)b);
                nused++;
                used_bytes += size - SEQ_OVERHEAD;
                prev_free = false;
            }
            else {
                if (!seq_tag_marked(t))
                    FAIL("block %p: free but not on the free list", (void *)b);
                b->tag = seq_tag_plain(t);
                if (prev_free)
                    FAIL("block %p: two adjacent free blocks (not coalesced)", (void *)b);
                nfree++;
                prev_free = true;
            }
            b = (seq_block_t *)((char *)b + size);
        }
        if ((char *)b != end)
            FAIL("chunk %p: blocks do not end at the epilogue", (void *)c);
        if (nblocks == 1 && prev_free && (st->nchunks > 1 || c->size != SEQ_CHUNK_SIZE))
            FAIL("chunk %p: wholly free but still mapped", (void *)c);
    }
    if (nchunks != st->nchunks)
        FAIL("%zu chunks on the list, nchunks is %zu", nchunks, st->nchunks);
    if (nfree != nlisted)
        FAIL("%zu free blocks in the heap, %zu on the free list", nfree, nlisted);
    if (nused != st->live_blocks)
        FAIL("%zu blocks in use, live_blocks is %zu", nused, st->live_blocks);
    if (used_bytes != st->live_bytes)
        FAIL("%zu usable bytes in use, live_bytes is %zu", used_bytes, st->live_bytes);
    if (held != st->held || st->held > st->held_peak)
        FAIL("held %zu (peak %zu), the chunks and state add up to %zu", st->held, st->held_peak,
             held);
    return true;
}

/* Drop every mark check() may have left after a failure (bounded walk). */
static void seq_unmark(seq_state_t *st)
{
    size_t limit = st->held / SEQ_MIN_BLOCK + 1;
    for (seq_block_t *b = st->freelist.next; b != &st->freelist && limit--; b = b->next) {
        if (!seq_block_in_chunks(st, b))
            break;
        b->tag = seq_tag_plain(b->tag);
    }
}

static bool seq_check(void *ctx, FILE *report)
{
    seq_state_t *st = ctx;
    size_t nlisted = 0;
    if (seq_check_list(st, report, &nlisted) && seq_check_heap(st, report, nlisted))
        return true;
    seq_unmark(st);
    return false;
}

#undef FAIL

/* ---------------------------------------------------------------------- */
/* walk: the heap as spans (see the file comment)                         */

/* Report [a, a + n) as kind, if n > 0. */
static inline void seq_span(hl_span_fn fn, void *user, uintptr_t a, size_t n,
                            hl_span_kind_t kind)
{
    if (n > 0)
        fn(user, a, n, kind);
}

static int seq_walk(void *ctx, hl_span_fn fn, void *user)
{
    seq_state_t *st = ctx;
    seq_span(fn, user, (uintptr_t)st, SEQ_STATE_MAP, HL_SPAN_OVERHEAD);
    size_t nchunks = 0;
    for (seq_chunk_t *c = st->chunks; c != NULL; c = c->next) {
        /* the same chunk header seq_check_heap trusts before it walks one */
        if (++nchunks > st->nchunks || (uintptr_t)c % HL_FIT_OS_PAGE ||
            c->magic != SEQ_CHUNK_MAGIC || c->size % HL_FIT_OS_PAGE ||
            c->size < SEQ_CHUNK_SIZE || (uintptr_t)c < st->lo ||
            (uintptr_t)c + c->size > st->hi || c->prologue != seq_tag(0, true) ||
            *seq_chunk_epilogue(c) != seq_tag(0, true))
            return -1;
        seq_span(fn, user, (uintptr_t)c, SEQ_CHUNK_HDR, HL_SPAN_OVERHEAD);
        char *end = (char *)seq_chunk_epilogue(c);
        seq_block_t *b = seq_chunk_first(c);
        while ((char *)b < end) {
            seq_tag_t t = b->tag;
            size_t size = seq_tag_size(t);
            /* (I1): a tag, a size that stays in the chunk, footer == header */
            if (!seq_tag_magic_ok(t) || size < SEQ_MIN_BLOCK || size % SEQ_ALIGNMENT ||
                size > (size_t)(end - (char *)b) ||
                seq_tag_plain(*seq_footer(b, size)) != seq_tag_plain(t))
                return -1;
            uintptr_t a = (uintptr_t)b;
            seq_span(fn, user, a, SEQ_TAG_SIZE, HL_SPAN_OVERHEAD);
            seq_span(fn, user, a + SEQ_TAG_SIZE, size - SEQ_OVERHEAD,
                     seq_tag_inuse(t) ? HL_SPAN_USED : HL_SPAN_FREE);
            seq_span(fn, user, a + size - SEQ_TAG_SIZE, SEQ_TAG_SIZE, HL_SPAN_OVERHEAD);
            b = (seq_block_t *)((char *)b + size);
        }
        if ((char *)b != end)
            return -1;
        seq_span(fn, user, (uintptr_t)end, SEQ_TAG_SIZE, HL_SPAN_OVERHEAD);
    }
    return nchunks == st->nchunks ? 0 : -1;
}

/* ---------------------------------------------------------------------- */
/* One vtable per policy                                                  */

#define SEQ_POLICY_OPS(suffix, POL)                                                      \
    static void *seq_malloc_##suffix(void *ctx, size_t n)                               \
    { return seq_malloc_impl(ctx, POL, n); }                                            \
    static void *seq_calloc_##suffix(void *ctx, size_t nelem, size_t elsize)            \
    { return seq_calloc_impl(ctx, POL, nelem, elsize); }                                \
    static void *seq_realloc_##suffix(void *ctx, void *p, size_t n)                     \
    { return seq_realloc_impl(ctx, POL, p, n); }                                        \
    static void seq_free_##suffix(void *ctx, void *p) { seq_free_impl(ctx, POL, p); }   \
    static const hl_allocator_ops_t seq_ops_##suffix = {                                \
        .malloc = seq_malloc_##suffix,                                                  \
        .calloc = seq_calloc_##suffix,                                                  \
        .realloc = seq_realloc_##suffix,                                                \
        .free = seq_free_##suffix,                                                      \
        .usable_size = seq_usable_size,                                                 \
        .stats = seq_stats,                                                             \
        .check = seq_check,                                                             \
        .print_stats = seq_print_stats,                                                 \
        .destroy = seq_destroy,                                                         \
        .walk = seq_walk,                                                               \
    };

SEQ_POLICY_OPS(first, SEQ_FIRST)
SEQ_POLICY_OPS(next, SEQ_NEXT)
SEQ_POLICY_OPS(best, SEQ_BEST)

static int seq_create(seq_policy_t pol, const char *name, const hl_allocator_ops_t *ops,
                      hl_allocator_t *out, char *err, size_t errlen)
{
    if (sysconf(_SC_PAGESIZE) != (long)HL_FIT_OS_PAGE)
        return _hl_err(err, errlen, "%s: needs %zu-byte pages", name, HL_FIT_OS_PAGE);
    seq_state_t *st = _hl_fit_map(SEQ_STATE_MAP);  /* zeroed */
    if (st == NULL)
        return _hl_err(err, errlen, "%s: cannot map its state", name);
    st->freelist.tag = seq_tag(0, true);
    st->freelist.next = st->freelist.prev = &st->freelist;
    st->rover = &st->freelist;
    st->name = name;
    st->policy = pol;
    seq_held_add(st, SEQ_STATE_MAP);
    out->ops = ops;
    out->ctx = st;
    out->name = name;
    return 0;
}

int hl_seqfit_first_create(const hl_alloc_options_t *opt, hl_allocator_t *out, char *err,
                           size_t errlen)
{
    HL_UNUSED(opt);
    return seq_create(SEQ_FIRST, "seqfit-first", &seq_ops_first, out, err, errlen);
}

int hl_seqfit_next_create(const hl_alloc_options_t *opt, hl_allocator_t *out, char *err,
                          size_t errlen)
{
    HL_UNUSED(opt);
    return seq_create(SEQ_NEXT, "seqfit-next", &seq_ops_next, out, err, errlen);
}

int hl_seqfit_best_create(const hl_alloc_options_t *opt, hl_allocator_t *out, char *err,
                          size_t errlen)
{
    HL_UNUSED(opt);
    return seq_create(SEQ_BEST, "seqfit-best", &seq_ops_best, out, err, errlen);
}
