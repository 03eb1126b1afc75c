/* page_raw.c: every block its own mapping (the layout and invariants are in
 * page_raw.h).  Never calls malloc: it serves pymalloc's raw domain inside
 * the LD_PRELOAD shim, where malloc is pymalloc. */
#include "hl_debug.h"
#include "page_raw.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PR_HEADER 32u
#define PR_MAGIC  ((uintptr_t)0x6865617072617721ull)   /* "heapraw!" */
#define PR_CACHED ((uintptr_t)0x6361636865647261ull)   /* a cached mapping's magic */
/* Freed mappings of up to PR_CACHE_PAGES pages are kept for reuse, up to
 * PR_CACHE_BYTES in all (see page_raw.h). */
#define PR_CACHE_PAGES 32
#define PR_CACHE_BYTES ((size_t)16 << 20)

typedef struct pr_block_s {
    struct pr_block_s *next, *prev;   /* the live list (circular, via state->head) */
    size_t maplen;                    /* bytes mapped, header included */
    uintptr_t magic;                  /* PR_MAGIC ^ (uintptr_t)this */
} pr_block_t;

_Static_assert(sizeof(pr_block_t) == PR_HEADER, "the header is 32 bytes");

typedef struct pr_state_s {
    pr_block_t head;       /* sentinel of the live list */
    size_t page;           /* the system page size */
    size_t nblocks;        /* blocks on the list */
    size_t held;           /* sum of their maplen */
    size_t held_peak;
    size_t live_bytes;     /* sum of their usable sizes */
    pr_block_t *cache[PR_CACHE_PAGES + 1];  /* freed mappings by page count (LIFO, via next) */
    size_t cached;         /* bytes in cache[] */
} pr_state_t;

static void pr_fatal(const char *what)
{
    static const char prefix[] = "heaplab page-raw: ";
    (void)!write(2, prefix, sizeof prefix - 1);
    (void)!write(2, what, strlen(what));
    (void)!write(2, "\n", 1);
    abort();
}

static pr_block_t *pr_block_of(const pr_state_t *st, const void *p)
{
    pr_block_t *b = (pr_block_t *)((uintptr_t)p - PR_HEADER);
    if (HL_UNLIKELY(((uintptr_t)b & (st->page - 1)) != 0 || b->magic != (PR_MAGIC ^ (uintptr_t)b)))
        pr_fatal("free/realloc/usable_size of a pointer this allocator did not hand out");
    return b;
}

/* round_up(PR_HEADER + n, page), or 0 if that overflows or passes PTRDIFF_MAX
 * (no object may be larger: pointer differences must fit). */
static size_t pr_maplen(const pr_state_t *st, size_t n)
{
    if (n > (size_t)PTRDIFF_MAX - PR_HEADER - st->page)
        return 0;
    return (PR_HEADER + n + st->page - 1) & ~(st->page - 1);
}

static void pr_link(pr_state_t *st, pr_block_t *b)
{
    b->next = st->head.next;
    b->prev = &st->head;
    st->head.next->prev = b;
    st->head.next = b;
}

static void pr_account(pr_state_t *st, ssize_t dblocks, ssize_t dbytes)
{
    st->nblocks += (size_t)dblocks;
    st->held += (size_t)dbytes;
    st->live_bytes += (size_t)dbytes - (size_t)dblocks * PR_HEADER;
    if (st->held + st->cached > st->held_peak)
        st->held_peak = st->held + st->cached;
}

/* A new mapping is zero-filled; a cached one is cleared for calloc. */
static void *pr_alloc(pr_state_t *st, size_t n, bool zero)
{
    size_t len = pr_maplen(st, n);
    if (len == 0) {
        errno = ENOMEM;
        return NULL;
    }
    size_t pages = len / st->page;
    pr_block_t *b;
    if (pages <= PR_CACHE_PAGES && st->cache[pages] != NULL) {
        b = st->cache[pages];
        st->cache[pages] = b->next;
        st->cached -= len;
        if (zero)
            memset((char *)b + PR_HEADER, 0, len - PR_HEADER);
    } else {
        void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return NULL;
        b = m;
    }
    b->maplen = len;
    b->magic = PR_MAGIC ^ (uintptr_t)b;
    pr_link(st, b);
    pr_account(st, 1, (ssize_t)len);
    return (char *)b + PR_HEADER;
}

static void *pr_malloc(void *ctx, size_t n)
{
    return pr_alloc(ctx, n, false);
}

static void *pr_calloc(void *ctx, size_t nelem, size_t elsize)
{
    if (elsize != 0 && nelem > SIZE_MAX / elsize)
        return NULL;
    return pr_alloc(ctx, nelem * elsize, true);
}

static void pr_free(void *ctx, void *p)
{
    pr_state_t *st = ctx;
    if (p == NULL)
        return;
    pr_block_t *b = pr_block_of(st, p);
    b->prev->next = b->next;
    b->next->prev = b->prev;
    pr_account(st, -1, -(ssize_t)b->maplen);
    size_t pages = b->maplen / st->page;
    if (pages <= PR_CACHE_PAGES && st->cached + b->maplen <= PR_CACHE_BYTES) {
        b->magic = PR_CACHED ^ (uintptr_t)b;
        b->next = st->cache[pages];
        b->prev = NULL;
        st->cache[pages] = b;
        st->cached += b->maplen;
        return;
    }
    b->magic = 0;
    munmap(b, b->maplen);
}

static void *pr_realloc(void *ctx, void *p, size_t n)
{
    pr_state_t *st = ctx;
    if (p == NULL)
        return pr_malloc(ctx, n);
    pr_block_t *b = pr_block_of(st, p);
    size_t len = pr_maplen(st, n);
    if (len == 0) {
        errno = ENOMEM;
        return NULL;
    }
    if (len == b->maplen)
        return p;
    size_t old = b->maplen;
    pr_block_t *prev = b->prev, *next = b->next;
    /* Shrinking in place cannot fail; growing may move the mapping. */
    void *m = mremap(b, old, len, MREMAP_MAYMOVE);
    if (m == MAP_FAILED)
        return NULL;
    b = m;
    b->maplen = len;
    b->magic = PR_MAGIC ^ (uintptr_t)b;
    prev->next = b;
    next->prev = b;
    pr_account(st, 0, (ssize_t)len - (ssize_t)old);
    return (char *)b + PR_HEADER;
}

static size_t pr_usable_size(void *ctx, const void *p)
{
    return pr_block_of(ctx, p)->maplen - PR_HEADER;
}

static void pr_stats(void *ctx, hl_stats_t *out)
{
    pr_state_t *st = ctx;
    out->valid = HL_STAT_HELD | HL_STAT_LIVE_BLOCKS | HL_STAT_LIVE_BYTES;
    out->held_bytes = st->held + st->cached + st->page;   /* + the state's own page */
    out->held_peak_bytes = st->held_peak + st->page;
    out->live_blocks = st->nblocks;
    out->live_bytes = st->live_bytes;
}

static bool pr_fail(FILE *report, const char *what)
{
    if (report)
        fprintf(report, "page-raw: invariant: %s\n", what);
    return false;
}

static bool pr_check(void *ctx, FILE *report)
{
    pr_state_t *st = ctx;
    size_t n = 0, held = 0;
    for (pr_block_t *b = st->head.next; b != &st->head; b = b->next) {
        if (((uintptr_t)b & (st->page - 1)) != 0)
            return pr_fail(report, "a block is not page-aligned");
        if (b->magic != (PR_MAGIC ^ (uintptr_t)b))
            return pr_fail(report, "a block's magic is wrong");
        if (b->maplen == 0 || (b->maplen & (st->page - 1)) != 0)
            return pr_fail(report, "maplen is not a nonzero multiple of the page");
        if (b->next->prev != b || b->prev->next != b)
            return pr_fail(report, "next/prev disagree");
        held += b->maplen;
        if (++n > st->nblocks)
            return pr_fail(report, "the list is longer than nblocks");
    }
    if (n != st->nblocks)
        return pr_fail(report, "the list is shorter than nblocks");
    if (held != st->held)
        return pr_fail(report, "sum of maplen != held");
    if (st->live_bytes != held - n * PR_HEADER)
        return pr_fail(report, "live_bytes != held - 32 * nblocks");
    size_t cached = 0;
    for (size_t pages = 0; pages <= PR_CACHE_PAGES; pages++) {
        for (pr_block_t *b = st->cache[pages]; b != NULL; b = b->next) {
            if (pages == 0 || b->magic != (PR_CACHED ^ (uintptr_t)b) ||
                b->maplen != pages * st->page)
                return pr_fail(report, "a cached mapping is in the wrong list or corrupt");
            cached += b->maplen;
            if (cached > st->cached)
                break;
        }
    }
    if (cached != st->cached)
        return pr_fail(report, "sum of the cached mappings != cached");
    return true;
}

static int pr_print_stats(void *ctx, FILE *out)
{
    pr_state_t *st = ctx;
    fprintf(out, "page-raw: %zu blocks, %zu bytes mapped (peak %zu), %zu usable, "
            "%zu cached for reuse\n", st->nblocks, st->held, st->held_peak, st->live_bytes,
            st->cached);
    return 1;
}

/* Unmaps every block still live, then the state. */
static void pr_destroy(void *ctx)
{
    pr_state_t *st = ctx;
    pr_block_t *b = st->head.next;
    while (b != &st->head) {
        pr_block_t *next = b->next;
        b->magic = 0;
        munmap(b, b->maplen);
        b = next;
    }
    for (size_t pages = 0; pages <= PR_CACHE_PAGES; pages++) {
        for (b = st->cache[pages]; b != NULL;) {
            pr_block_t *next = b->next;
            munmap(b, b->maplen);
            b = next;
        }
    }
    munmap(st, st->page);
}

static const hl_allocator_ops_t pr_ops = {
    .malloc = pr_malloc,
    .calloc = pr_calloc,
    .realloc = pr_realloc,
    .free = pr_free,
    .usable_size = pr_usable_size,
    .stats = pr_stats,
    .check = pr_check,
    .print_stats = pr_print_stats,
    .destroy = pr_destroy,
};

int hl_page_raw_create(hl_allocator_t *out, char *err, size_t errlen)
{
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || (page & (page - 1)) != 0 || (size_t)page < sizeof(pr_state_t))
        return _hl_err(err, errlen, "page-raw: unusable page size %ld", page);
    void *m = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return _hl_err(err, errlen, "page-raw: cannot map its state");
    pr_state_t *st = m;   /* zeroed by mmap */
    st->head.next = st->head.prev = &st->head;
    st->page = (size_t)page;
    out->ops = &pr_ops;
    out->ctx = st;
    out->name = "page-raw";
    return 0;
}
