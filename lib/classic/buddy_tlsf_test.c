/* buddy_tlsf_test.c: the binary buddy system and TLSF, through the public
 * allocator interface plus the test hooks of classic_buddy_tlsf.h.
 *
 * Most tests run on both allocators.  Random programs (fixed seeds) fill
 * every block with a per-block pattern and verify it before the block is
 * freed or resized, and run the allocator's whole-heap check() every 1000
 * operations.
 *
 * Giving mappings back at destroy is tested two ways, without trusting the
 * allocator's own counters: (1) the number of lines of /proc/self/maps
 * before create equals the number after destroy (read into a static buffer,
 * with nothing else allocating in between), and (2) mincore() reports every
 * page the instance was seen to use (its state and the first page of every
 * chunk, pool and direct block) as unmapped (ENOMEM) after destroy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hl_debug.h"
#include "classic_buddy_tlsf.h"
#include "walk_test_util.h"

typedef struct design_s {
    const char *name;
    int (*create)(const hl_alloc_options_t *, hl_allocator_t *, char *, size_t);
    void (*census)(const hl_allocator_t *, hl_classic_census_t *);
} design_t;

static const design_t designs[] = {
    {"buddy", hl_buddy_create, _hl_buddy_census},
    {"tlsf", hl_tlsf_create, _hl_tlsf_census},
};
#define NDESIGNS (sizeof designs / sizeof designs[0])

static const hl_alloc_options_t default_opts = {0};

static void open_heap(const design_t *d, hl_allocator_t *a)
{
    char err[200] = "";
    int rc = d->create(&default_opts, a, err, sizeof err);
    if (rc != 0)
        fail_msg("%s: create failed: %s", d->name, err);
}

static void assert_heap_valid(const design_t *d, hl_allocator_t *a)
{
    if (!hl_check(a, stderr))
        fail_msg("%s: check() failed", d->name);
}

/* ------------------------------------------------------------------------
 * Per-block patterns. */

static uint64_t rng_state;
static uint64_t rng(void)   /* xorshift64* */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

/* The pattern of block `id`: the 8 bytes at offset i (a multiple of 8) are
 * those of the word id * K + i, whatever the block's length, so a prefix of
 * a block has the pattern of the prefix. */
static inline uint64_t pattern_word(uint64_t id, size_t i)
{
    return id * 0x9E3779B97F4A7C15ULL + i;
}

/* Blocks are 16-aligned (checked before any fill), so whole words are
 * read and written directly: these loops dominate the test's run time. */
static void fill(void *p, size_t n, uint64_t id)
{
    uint64_t *w = p, v = pattern_word(id, 0);
    size_t nw = n / 8;
    for (size_t k = 0; k < nw; k++, v += 8)
        w[k] = v;
    if (n % 8)
        memcpy(w + nw, &v, n % 8);
}

/* The first bad offset (to 8 bytes), or n. */
static size_t verify(const void *p, size_t n, uint64_t id)
{
    const uint64_t *w = p;
    uint64_t v = pattern_word(id, 0);
    size_t nw = n / 8;
    for (size_t k = 0; k < nw; k++, v += 8)
        if (w[k] != v)
            return 8 * k;
    if (n % 8 && memcmp(w + nw, &v, n % 8) != 0)
        return 8 * nw;
    return n;
}

static bool is_zero(const void *p, size_t n)
{
    const uint64_t *w = p;
    size_t nw = n / 8;
    for (size_t k = 0; k < nw; k++)
        if (w[k])
            return false;
    const unsigned char *c = p;
    for (size_t i = 8 * nw; i < n; i++)
        if (c[i])
            return false;
    return true;
}

/* Sizes skewed small, with some large and a few huge (directly mapped). */
static size_t random_size(void)
{
    unsigned r = (unsigned)(rng() % 1000);
    if (r < 10)
        return 0;
    if (r < 800)
        return 1 + rng() % 128;
    if (r < 950)
        return 129 + rng() % 4000;
    if (r < 995)
        return 4096 + rng() % (300 << 10);
    return (1 << 20) + rng() % (1 << 20);
}

/* ------------------------------------------------------------------------
 * Random programs. */

#define NSLOTS 4096
#define NOPS   100000
typedef struct slot_s {
    void *p;
    size_t n;
    uint64_t id;
} slot_t;
static slot_t slots[NSLOTS];

static void check_block(const design_t *d, hl_allocator_t *a, void *p, size_t n)
{
    if (p == NULL)
        fail_msg("%s: allocation of %zu bytes failed", d->name, n);
    if ((uintptr_t)p % 16 != 0)
        fail_msg("%s: %p (%zu bytes) is not 16-aligned", d->name, p, n);
    if (hl_usable_size(a, p) < n)
        fail_msg("%s: usable_size %zu < %zu requested", d->name, hl_usable_size(a, p), n);
}

static void verify_slot(const design_t *d, const slot_t *s, const char *when)
{
    size_t bad = verify(s->p, s->n, s->id);
    if (bad != s->n)
        fail_msg("%s: block %p (%zu bytes, id %llu) corrupted at offset %zu before %s", d->name,
                 s->p, s->n, (unsigned long long)s->id, bad, when);
}

static void check_counters(const design_t *d, hl_allocator_t *a)
{
    size_t blocks = 0, bytes = 0;
    for (size_t i = 0; i < NSLOTS; i++)
        if (slots[i].p) {
            blocks++;
            bytes += hl_usable_size(a, slots[i].p);
        }
    hl_stats_t st;
    hl_stats(a, &st);
    assert_true(st.valid & HL_STAT_LIVE_BLOCKS);
    if (st.live_blocks != blocks || st.live_bytes != bytes)
        fail_msg("%s: stats say %zu live blocks / %zu bytes, the program holds %zu / %zu",
                 d->name, st.live_blocks, st.live_bytes, blocks, bytes);
    assert_true(st.held_bytes <= st.held_peak_bytes);
    assert_true(st.held_bytes >= bytes);
}

static void run_program(const design_t *d, uint64_t seed)
{
    hl_allocator_t a;
    open_heap(d, &a);
    memset(slots, 0, sizeof slots);
    rng_state = seed;
    uint64_t next_id = 1;
    for (long op = 1; op <= NOPS; op++) {
        slot_t *s = &slots[rng() % NSLOTS];
        unsigned kind = (unsigned)(rng() % 10);
        if (s->p == NULL) {
            size_t n = random_size();
            bool zeroed = kind < 2;
            s->p = zeroed ? hl_calloc(&a, 1, n) : hl_malloc(&a, n);
            s->n = n;
            s->id = next_id++;
            check_block(d, &a, s->p, n);
            if (zeroed && !is_zero(s->p, n))
                fail_msg("%s: calloc(1, %zu) is not zeroed", d->name, n);
            fill(s->p, n, s->id);
        }
        else if (kind < 4) {
            verify_slot(d, s, "realloc");
            size_t n = random_size();
            void *q = hl_realloc(&a, s->p, n);
            check_block(d, &a, q, n);
            size_t keep = n < s->n ? n : s->n;
            size_t bad = verify(q, keep, s->id);
            if (bad != keep)
                fail_msg("%s: realloc %zu -> %zu lost the contents at offset %zu", d->name,
                         s->n, n, bad);
            s->p = q;
            s->n = n;
            s->id = next_id++;
            fill(q, n, s->id);
        }
        else {
            verify_slot(d, s, "free");
            hl_free(&a, s->p);
            s->p = NULL;
        }
        if (op % 1000 == 0) {
            assert_heap_valid(d, &a);
            check_counters(d, &a);
        }
    }
    for (size_t i = 0; i < NSLOTS; i++)
        if (slots[i].p)
            verify_slot(d, &slots[i], "the final check");
    assert_heap_valid(d, &a);
    check_counters(d, &a);
    /* Free in address-unrelated order: everything must coalesce back. */
    for (size_t i = 0; i < NSLOTS; i++) {
        slot_t *s = &slots[(i * 2654435761u) % NSLOTS];
        if (s->p) {
            verify_slot(d, s, "free");
            hl_free(&a, s->p);
            s->p = NULL;
        }
    }
    assert_heap_valid(d, &a);
    hl_classic_census_t c;
    d->census(&a, &c);
    /* One chunk/pool is kept, wholly free, as one block (hysteresis). */
    assert_int_equal(c.direct, 0);
    assert_true(c.chunks <= 1);
    assert_int_equal(c.free_blocks, c.chunks);
    assert_int_equal(c.whole_free, c.chunks);
    hl_stats_t st;
    hl_stats(&a, &st);
    assert_int_equal(st.live_blocks, 0);
    assert_int_equal(st.live_bytes, 0);
    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    assert_int_equal(hl_print_stats(&a, devnull), 1);
    fclose(devnull);
    a.ops->destroy(a.ctx);
}

static void test_random_programs(void **state)
{
    (void)state;
    static const uint64_t seeds[] = {0x1234567887654321ULL, 42};
    for (size_t i = 0; i < NDESIGNS; i++)
        for (size_t j = 0; j < sizeof seeds / sizeof seeds[0]; j++)
            run_program(&designs[i], seeds[j]);
}

/* ------------------------------------------------------------------------
 * The vtable contracts. */

static void test_zero_and_huge(void **state)
{
    (void)state;
    static const size_t huge[] = {
        SIZE_MAX, SIZE_MAX - 15, SIZE_MAX / 2, SIZE_MAX / 2 + 1, PTRDIFF_MAX,
        (size_t)PTRDIFF_MAX + 1, (size_t)1 << 62,
    };
    for (size_t i = 0; i < NDESIGNS; i++) {
        const design_t *d = &designs[i];
        hl_allocator_t a;
        open_heap(d, &a);
        void *z[8];
        for (int k = 0; k < 8; k++) {
            z[k] = hl_malloc(&a, 0);
            check_block(d, &a, z[k], 0);
            for (int m = 0; m < k; m++)
                assert_ptr_not_equal(z[k], z[m]);
        }
        /* realloc(p, 0) is not a free: the result is a live block. */
        void *r = hl_realloc(&a, z[0], 0);
        check_block(d, &a, r, 0);
        z[0] = r;
        void *c0 = hl_calloc(&a, 0, 5);
        check_block(d, &a, c0, 0);
        for (size_t k = 0; k < sizeof huge / sizeof huge[0]; k++) {
            assert_null(hl_malloc(&a, huge[k]));
            assert_null(hl_calloc(&a, 1, huge[k]));
            assert_null(hl_calloc(&a, huge[k], 1));
        }
        /* realloc to a huge size fails and leaves the block alone. */
        void *p = hl_malloc(&a, 100);
        fill(p, 100, 77);
        for (size_t k = 0; k < sizeof huge / sizeof huge[0]; k++)
            assert_null(hl_realloc(&a, p, huge[k]));
        assert_int_equal(verify(p, 100, 77), 100);
        assert_null(hl_realloc(&a, NULL, SIZE_MAX));
        hl_free(&a, NULL);
        assert_heap_valid(d, &a);
        hl_stats_t st;
        hl_stats(&a, &st);
        assert_int_equal(st.live_blocks, 10);
        hl_free(&a, p);
        hl_free(&a, c0);
        for (int k = 0; k < 8; k++)
            hl_free(&a, z[k]);
        assert_heap_valid(d, &a);
        a.ops->destroy(a.ctx);
    }
}

static void test_calloc_zeroing(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 15, 16, 17, 100, 1000, 4096, 70000, 300000, 1500000};
    for (size_t i = 0; i < NDESIGNS; i++) {
        const design_t *d = &designs[i];
        hl_allocator_t a;
        open_heap(d, &a);
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            size_t n = sizes[k];
            /* dirty the memory first, so zeroing is not an accident */
            void *p = hl_malloc(&a, n);
            memset(p, 0xa5, n);
            hl_free(&a, p);
            void *q = hl_calloc(&a, n, 1);
            check_block(d, &a, q, n);
            assert_true(is_zero(q, n));
            hl_free(&a, q);
            q = hl_calloc(&a, 1, n);
            assert_true(is_zero(q, n));
            hl_free(&a, q);
        }
        /* nelem * elsize overflows */
        assert_null(hl_calloc(&a, SIZE_MAX / 2 + 1, 2));
        assert_null(hl_calloc(&a, 2, SIZE_MAX / 2 + 1));
        assert_null(hl_calloc(&a, (size_t)1 << 33, (size_t)1 << 33));
        assert_null(hl_calloc(&a, SIZE_MAX, SIZE_MAX));
        assert_heap_valid(d, &a);
        a.ops->destroy(a.ctx);
    }
}

static void test_realloc_in_place_and_moving(void **state)
{
    (void)state;
    for (size_t i = 0; i < NDESIGNS; i++) {
        const design_t *d = &designs[i];
        hl_allocator_t a;
        open_heap(d, &a);

        /* Growth in place: a fresh heap's first block has free space after
         * it (buddy: its free buddy; TLSF: the rest of the pool). */
        void *p = hl_malloc(&a, 100);
        fill(p, 100, 1);
        void *q = hl_realloc(&a, p, 400);
        assert_ptr_equal(q, p);
        assert_int_equal(verify(q, 100, 1), 100);
        fill(q, 400, 2);
        /* Shrink in place, giving the tail back. */
        size_t before = hl_usable_size(&a, q);
        void *r = hl_realloc(&a, q, 40);
        assert_ptr_equal(r, q);
        assert_true(hl_usable_size(&a, r) < before);
        assert_true(hl_usable_size(&a, r) >= 40);
        assert_int_equal(verify(r, 40, 2), 40);
        assert_heap_valid(d, &a);

        /* Growth that must move: pin the space after the block. */
        fill(r, 40, 3);
        void *pin = hl_malloc(&a, 100);
        void *s = hl_realloc(&a, r, 5000);
        check_block(d, &a, s, 5000);
        assert_int_equal(verify(s, 40, 3), 40);

        /* Through all size ranges, up and down, keeping the contents. */
        static const size_t steps[] = {1, 31, 64, 1000, 40000, 250000, 400000, 1100000,
                                       3000000, 2100000, 600000, 100, 0, 17};
        size_t n = 40;
        for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
            fill(s, n, 100 + k);
            void *t = hl_realloc(&a, s, steps[k]);
            check_block(d, &a, t, steps[k]);
            size_t keep = n < steps[k] ? n : steps[k];
            assert_int_equal(verify(t, keep, 100 + k), keep);
            s = t;
            n = steps[k];
            assert_heap_valid(d, &a);
        }
        hl_free(&a, s);
        hl_free(&a, pin);
        assert_heap_valid(d, &a);
        a.ops->destroy(a.ctx);
    }
}

/* ------------------------------------------------------------------------
 * destroy gives every mapping back. */

static char maps_buf[1 << 20];

static size_t maps_lines(void)
{
    int fd = open("/proc/self/maps", O_RDONLY);
    assert_true(fd >= 0);
    size_t lines = 0;
    ssize_t n;
    while ((n = read(fd, maps_buf, sizeof maps_buf)) > 0)
        for (ssize_t i = 0; i < n; i++)
            lines += maps_buf[i] == '\n';
    close(fd);
    return lines;
}

static bool page_mapped(const void *p)
{
    unsigned char vec;
    uintptr_t page = (uintptr_t)p & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1);
    if (mincore((void *)page, 1, &vec) == 0)
        return true;
    assert_int_equal(errno, ENOMEM);
    return false;
}

#define NSEEN 512
static void *seen[NSEEN];

static void test_destroy_unmaps(void **state)
{
    (void)state;
    for (size_t i = 0; i < NDESIGNS; i++) {
        const design_t *d = &designs[i];
        memset(seen, 0, sizeof seen);
        size_t nseen = 0;
        void *blocks[300];
        size_t before = maps_lines();

        hl_allocator_t a;
        open_heap(d, &a);
        seen[nseen++] = a.ctx;
        rng_state = 99;
        for (size_t k = 0; k < 300; k++) {
            size_t n = k % 50 == 1 ? 1500000 : k % 7 == 0 ? 200000 : 1 + rng() % 3000;
            blocks[k] = hl_malloc(&a, n);
            check_block(d, &a, blocks[k], n);
            memset(blocks[k], 1, n);
            seen[nseen++] = blocks[k];
        }
        /* free some; the rest stay live at destroy, which must unmap them */
        for (size_t k = 0; k < 300; k += 2)
            hl_free(&a, blocks[k]);
        hl_classic_census_t c;
        d->census(&a, &c);
        assert_true(c.chunks >= 2);
        assert_true(c.direct >= 1);
        assert_int_equal(c.mappings, 1 + c.chunks + c.direct + (d->create == hl_buddy_create));
        assert_true(hl_check(&a, NULL));
        assert_true(page_mapped(a.ctx));
        for (size_t k = 1; k < 300; k += 2)
            assert_true(page_mapped(blocks[k]));
        a.ops->destroy(a.ctx);

        for (size_t k = 0; k < nseen; k++)
            if (page_mapped(seen[k]))
                fail_msg("%s: %p is still mapped after destroy", d->name, seen[k]);
        size_t after = maps_lines();
        if (after != before)
            fail_msg("%s: /proc/self/maps has %zu lines after destroy, %zu before", d->name,
                     after, before);
    }
}

/* ------------------------------------------------------------------------
 * Buddy: coalescing, and internal fragmentation. */

static void test_buddy_coalescing(void **state)
{
    (void)state;
    const design_t *d = &designs[0];
    hl_allocator_t a;
    open_heap(d, &a);
    hl_classic_census_t c;

    /* One 32-byte block splits a chunk into one block per order. */
    void *p = hl_malloc(&a, 1);
    d->census(&a, &c);
    assert_int_equal(c.chunks, 1);
    assert_int_equal(c.free_blocks, 20 - 5);   /* orders 5..19 */
    hl_free(&a, p);
    d->census(&a, &c);
    assert_int_equal(c.free_blocks, 1);
    assert_int_equal(c.whole_free, 1);

    /* Fill several chunks with small blocks of mixed orders, free them in
     * an order unrelated to addresses: every chunk coalesces to one block,
     * and all but one wholly free chunk go back to the system. */
    enum { N = 20000 };
    static void *v[N];
    rng_state = 7;
    for (size_t k = 0; k < N; k++)
        v[k] = hl_malloc(&a, 1 + rng() % 600);
    d->census(&a, &c);
    assert_true(c.chunks >= 4);
    size_t chunks = c.chunks;
    for (size_t k = 0; k < N; k += 2)
        hl_free(&a, v[k]);
    assert_heap_valid(d, &a);
    d->census(&a, &c);
    assert_int_equal(c.chunks, chunks);   /* every chunk still has live blocks */
    /* k -> k * 7919 % N permutes the odd indices (7919 is a prime that
     * divides no power of 10, so the map is a bijection that keeps parity). */
    for (size_t k = 1; k < N; k += 2)
        hl_free(&a, v[(k * 7919) % N]);
    assert_heap_valid(d, &a);
    d->census(&a, &c);
    assert_int_equal(c.chunks, 1);
    assert_int_equal(c.free_blocks, 1);
    assert_int_equal(c.whole_free, 1);
    a.ops->destroy(a.ctx);
}

static void test_buddy_internal_fragmentation(void **state)
{
    (void)state;
    const design_t *d = &designs[0];
    hl_allocator_t a;
    open_heap(d, &a);
    hl_classic_census_t c;
    d->census(&a, &c);
    for (unsigned k = 5; k <= 20; k++) {
        size_t block = (size_t)1 << k;
        /* a request that fills a block exactly */
        void *p = hl_malloc(&a, block - 16);
        assert_int_equal(hl_usable_size(&a, p), block - 16);
        /* one byte more doubles the block: the ~50% worst case */
        void *q = hl_malloc(&a, block - 15);
        if (block - 15 <= c.max_small_request) {
            assert_int_equal(hl_usable_size(&a, q), 2 * block - 16);
            /* waste = usable - requested, nearly half the block */
            assert_true(hl_usable_size(&a, q) - (block - 15) >= block - 1);
        }
        else {
            assert_true(hl_usable_size(&a, q) >= block - 15);   /* mapped directly */
        }
        hl_free(&a, p);
        hl_free(&a, q);
    }
    /* Small requests: 1..16 bytes share the 32-byte block. */
    for (size_t n = 0; n <= 16; n++) {
        void *p = hl_malloc(&a, n);
        assert_int_equal(hl_usable_size(&a, p), 16);
        hl_free(&a, p);
    }
    assert_heap_valid(d, &a);
    a.ops->destroy(a.ctx);
}

/* ------------------------------------------------------------------------
 * TLSF: the mapping function and good fit. */

static void test_tlsf_mapping(void **state)
{
    (void)state;
    static const struct { size_t s; unsigned fl, sl; } exact[] = {
        {32, 0, 2},     {240, 0, 15},   {256, 1, 0},    {272, 1, 1},  {496, 1, 15},
        {512, 2, 0},    {544, 2, 1},    {1008, 2, 15},  {1024, 3, 0}, {1088, 3, 1},
        {1 << 18, 11, 0}, {(1 << 19) - 16, 11, 15}, {1 << 19, 12, 0}, {(1 << 20) - 48, 12, 15},
    };
    for (size_t k = 0; k < sizeof exact / sizeof exact[0]; k++) {
        unsigned fl, sl;
        _hl_tlsf_mapping(exact[k].s, &fl, &sl);
        if (fl != exact[k].fl || sl != exact[k].sl)
            fail_msg("mapping(%zu) = (%u, %u), expected (%u, %u)", exact[k].s, fl, sl,
                     exact[k].fl, exact[k].sl);
    }
    /* Every block size: it lies in its list's range; the search list's
     * blocks are all big enough, and at most one list step further on. */
    for (size_t s = 32; s < (1 << 20); s += 16) {
        unsigned fl, sl, sfl, ssl;
        _hl_tlsf_mapping(s, &fl, &sl);
        size_t lo = _hl_tlsf_list_min(fl, sl);
        size_t hi = sl + 1 < 16 ? _hl_tlsf_list_min(fl, sl + 1) : _hl_tlsf_list_min(fl + 1, 0);
        if (!(lo <= s && s < hi))
            fail_msg("size %zu mapped to (%u, %u) = [%zu, %zu)", s, fl, sl, lo, hi);
        _hl_tlsf_mapping_search(s, &sfl, &ssl);
        size_t slo = _hl_tlsf_list_min(sfl, ssl);
        if (slo < s)
            fail_msg("search for %zu names (%u, %u) from %zu: too small", s, sfl, ssl, slo);
        if (slo == s)
            assert_true(sfl == fl && ssl == sl);            /* a list boundary */
        else
            assert_int_equal(slo, hi);                      /* exactly one list on */
    }
    /* Request to block size. */
    assert_int_equal(_hl_tlsf_block_size(0), 32);
    assert_int_equal(_hl_tlsf_block_size(16), 32);
    assert_int_equal(_hl_tlsf_block_size(17), 48);
    assert_int_equal(_hl_tlsf_block_size(608), 624);
}

static void test_tlsf_good_fit(void **state)
{
    (void)state;
    const design_t *d = &designs[1];
    hl_allocator_t a;
    open_heap(d, &a);
    /* A free block of 624 bytes (list [608, 640)) between a pool's start
     * and a live guard block. */
    void *hole = hl_malloc(&a, 608);
    assert_int_equal(_hl_tlsf_block_size(608), 624);
    void *guard = hl_malloc(&a, 16);
    hl_free(&a, hole);
    assert_heap_valid(d, &a);
    /* A request whose block is exactly 624 does not get it: good fit
     * rounds the search up to the list [640, 672) and beyond. */
    void *p = hl_malloc(&a, 608);
    assert_ptr_not_equal(p, hole);
    /* A request whose block is 608, a list boundary, gets it whole (the
     * 16-byte remainder is too small to split off). */
    void *q = hl_malloc(&a, 592);
    assert_ptr_equal(q, hole);
    assert_int_equal(hl_usable_size(&a, q), 608);
    hl_free(&a, p);
    hl_free(&a, q);
    hl_free(&a, guard);
    assert_heap_valid(d, &a);
    hl_classic_census_t c;
    d->census(&a, &c);
    assert_int_equal(c.free_blocks, 1);
    assert_int_equal(c.whole_free, 1);

    /* Internal waste per block stays under header + rounding + an unsplit
     * remainder, whatever the size. */
    for (size_t n = 0; n <= c.max_small_request; n += 997) {
        void *b = hl_malloc(&a, n);
        assert_true(hl_usable_size(&a, b) - n < 16 + 32);
        hl_free(&a, b);
    }
    a.ops->destroy(a.ctx);
}

/* ------------------------------------------------------------------------
 * check() finds a broken heap and names the invariant.  White-box: the
 * corruptions write the first header word (the 8 bytes 16 before the
 * payload), whose layout each file's comment gives. */

static void expect_broken(const design_t *d, hl_allocator_t *a, const char *what)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    bool ok = hl_check(a, f);
    char msg[512] = "";
    rewind(f);
    size_t n = fread(msg, 1, sizeof msg - 1, f);
    msg[n] = '\0';
    fclose(f);
    if (ok)
        fail_msg("%s: check() passed a heap with %s", d->name, what);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s: invariant: ", d->name);
    if (strstr(msg, prefix) == NULL)
        fail_msg("%s: check() on %s did not name the invariant: '%s'", d->name, what, msg);
}

static void test_check_detects_corruption(void **state)
{
    (void)state;
    for (size_t i = 0; i < NDESIGNS; i++) {
        const design_t *d = &designs[i];
        bool buddy = d->create == hl_buddy_create;
        hl_allocator_t a;
        open_heap(d, &a);
        void *p = hl_malloc(&a, 100), *q = hl_malloc(&a, 100), *r = hl_malloc(&a, 3000);
        hl_free(&a, q);       /* a free block on a list, for the list walk */
        uint64_t *word = (uint64_t *)((char *)p - 16), saved = *word;
        assert_true(hl_check(&a, NULL));

        *word = 0;
        expect_broken(d, &a, "an erased header");
        *word = saved;
        assert_true(hl_check(&a, stderr));

        /* an allocated block marked free (buddy: bit 6 clear; tlsf: bit 0) */
        *word = buddy ? saved & ~((uint64_t)1 << 6) : saved | 1;
        expect_broken(d, &a, "a free block on no list");
        *word = saved;
        assert_true(hl_check(&a, stderr));

        /* a wrong size (buddy: order + 1; tlsf: size + 16) */
        *word = buddy ? saved + 1 : saved + 16;
        expect_broken(d, &a, "a block of the wrong size");
        *word = saved;
        assert_true(hl_check(&a, stderr));

        hl_free(&a, p);
        hl_free(&a, r);
        assert_true(hl_check(&a, stderr));
        a.ops->destroy(a.ctx);
    }
}

/* ------------------------------------------------------------------------
 * Debug-mode misuse: fatal, with a message naming allocator and pointer. */

#if HL_DEBUG >= 1
/* Run misuse(kind) in a child; it must die of SIGABRT after writing a
 * message containing both needles to stderr. */
static void expect_fatal(const design_t *d, int kind, const char *needle)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        hl_allocator_t a, other;
        open_heap(d, &a);
        /* p's physical neighbour (its buddy, for buddy) stays live, so the
         * freed p does not coalesce and keeps its header. */
        void *p = hl_malloc(&a, 100);
        void *guard = hl_malloc(&a, 100);
        (void)guard;
        switch (kind) {
        case 0:   /* double free */
            hl_free(&a, p);
            hl_free(&a, p);
            break;
        case 1: { /* a pointer from another instance */
            open_heap(d, &other);
            void *o = hl_malloc(&other, 100);
            hl_free(&a, o);
            break;
        }
        case 2: { /* a pointer from the C library */
            void *m = malloc(100);
            hl_free(&a, m);
            break;
        }
        case 3:   /* an interior pointer */
            hl_free(&a, (char *)p + 16);
            break;
        case 4:   /* realloc of a freed block */
            hl_free(&a, p);
            (void)hl_realloc(&a, p, 10);
            break;
        case 5:   /* usable_size of a freed block */
            hl_free(&a, p);
            (void)hl_usable_size(&a, p);
            break;
        }
        _exit(0);
    }
    close(fds[1]);
    char buf[8192] = "";
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 && (n = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
        fail_msg("%s misuse %d: the child was not aborted (status %#x); stderr: %s", d->name,
                 kind, status, buf);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "heaplab %s: ", d->name);
    if (!strstr(buf, prefix) || !strstr(buf, needle) || !strstr(buf, "0x"))
        fail_msg("%s misuse %d: message lacks '%s' / '%s': %s", d->name, kind, prefix, needle,
                 buf);
}
#endif

static void test_misuse_is_fatal(void **state)
{
    (void)state;
#if HL_DEBUG >= 1
    for (size_t i = 0; i < NDESIGNS; i++) {
        expect_fatal(&designs[i], 0, "free(0x");
        expect_fatal(&designs[i], 0, "double free");
        expect_fatal(&designs[i], 1, "not allocated by this heap");
        expect_fatal(&designs[i], 2, "not allocated by this heap");
        expect_fatal(&designs[i], 3, "not allocated by this heap");
        expect_fatal(&designs[i], 4, "realloc(0x");
        expect_fatal(&designs[i], 4, "double free");
        expect_fatal(&designs[i], 5, "usable_size(0x");
    }
#else
    skip();
#endif
}

/* ------------------------------------------------------------------------
 * walk: the heap as spans (heaplab/heapmap.h; walk_test_util.h).
 *
 * Both designs report their state (and buddy its chunk table) as OVERHEAD
 * too; a walk must not change the mappings the instance holds (its census),
 * and buddy's USED spans include its power-of-two rounding. */

static void walk_open(const hl_walk_test_t *t, hl_allocator_t *a) { open_heap(t->impl, a); }

static size_t walk_mapped(const hl_walk_test_t *t, const hl_allocator_t *a)
{
    const design_t *d = t->impl;
    hl_classic_census_t c;
    d->census(a, &c);
    return c.mappings;
}

static void walk_check_block(const hl_walk_test_t *t, hl_allocator_t *a, void *p, size_t n)
{
    check_block(t->impl, a, p, n);
}

static hl_walk_test_t walk_test_of(const design_t *d)
{
    return (hl_walk_test_t){d->name, d, walk_open, walk_mapped, walk_check_block, 0};
}

static void test_walk_spans(void **state)
{
    (void)state;
    for (size_t i = 0; i < NDESIGNS; i++) {
        hl_walk_test_t t = walk_test_of(&designs[i]);
        hl_walk_test_program(&t);
    }
}

/* An erased block header: the walk cannot tile the chunk or pool and says
 * so; restored, it walks again. */
static void test_walk_detects_corruption(void **state)
{
    (void)state;
    for (size_t i = 0; i < NDESIGNS; i++) {
        const design_t *d = &designs[i];
        hl_walk_test_t t = walk_test_of(d);
        hl_allocator_t a;
        open_heap(d, &a);
        void *p = hl_malloc(&a, 100), *q = hl_malloc(&a, 100), *r = hl_malloc(&a, 3000);
        hl_free(&a, q);
        hl_walk_test_poke(&t, &a, (uint64_t *)((char *)p - 16));
        hl_free(&a, p);
        hl_free(&a, r);
        assert_heap_valid(d, &a);
        a.ops->destroy(a.ctx);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_programs),
        cmocka_unit_test(test_zero_and_huge),
        cmocka_unit_test(test_calloc_zeroing),
        cmocka_unit_test(test_realloc_in_place_and_moving),
        cmocka_unit_test(test_destroy_unmaps),
        cmocka_unit_test(test_buddy_coalescing),
        cmocka_unit_test(test_buddy_internal_fragmentation),
        cmocka_unit_test(test_tlsf_mapping),
        cmocka_unit_test(test_tlsf_good_fit),
        cmocka_unit_test(test_check_detects_corruption),
        cmocka_unit_test(test_misuse_is_fatal),
        cmocka_unit_test(test_walk_spans),
        cmocka_unit_test(test_walk_detects_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
