/* peers_test.c: the jemalloc, mimalloc and tcmalloc peers keep the
 * allocator interface's contracts, coexist in one process, and leave the
 * process's own malloc alone.
 *
 * Every test runs on each peer through its create function (the registry
 * lists them, but this test does not need the registry).  The `jemalloc`
 * peer needs a larger static TLS surplus than glibc's default (peers.h), so
 * main() first re-executes the test with it, as heaplab's own mains do.
 *
 * test_walk checks walk() where a peer has one (mimalloc, tcmalloc; jemalloc
 * has none and says HL_NO_VIEW): spans non-empty and never overlapping,
 * every live block inside one USED span, no more than held_bytes covered,
 * and for mimalloc's private heap USED exactly the live blocks and some FREE
 * after frees.  The `glibc` walk is tested in a process of its own
 * (lib/alloc/glibc_walk_test.c): tcmalloc's sbrk here would move the break
 * under glibc's heap.
 *
 * Under --config=asan the process's malloc is AddressSanitizer's; the peers
 * run all the same (their blocks are outside ASan's heap, so it neither
 * poisons nor checks them), and the tests below assert only what holds under
 * both.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heaplab/allocator.h"
#include "peers.h"
#include "peers_internal.h"
#include "spans.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

typedef struct peer_s {
    const char *name;
    int (*create)(const hl_alloc_options_t *, hl_allocator_t *, char *, size_t);
    bool own_heap;   /* instances are independent; destroy frees live blocks */
} peer_t;

static const peer_t peers[] = {
    {"jemalloc", hl_jemalloc_create, true},
    {"mimalloc", hl_mimalloc_create, true},
    {"tcmalloc", hl_tcmalloc_create, false},
};
#define NPEERS (sizeof peers / sizeof peers[0])

static const hl_alloc_options_t defaults = {HL_ARENAS_MMAP, NULL};

static void open_peer(const peer_t *p, hl_allocator_t *a)
{
    char err[512] = "";
    if (p->create(&defaults, a, err, sizeof err) != 0)
        fail_msg("%s: create failed: %s", p->name, err);
    assert_string_equal(a->name, p->name);
}

static void close_peer(hl_allocator_t *a)
{
    a->ops->destroy(a->ctx);
    a->ops = NULL;
}

static void assert_aligned(const void *p)
{
    if (((uintptr_t)p & (HL_PEER_ALIGNMENT - 1)) != 0)
        fail_msg("block %p is not %d-byte aligned", p, HL_PEER_ALIGNMENT);
}

/* Per-block pattern: byte i of a block tagged t. */
static inline uint8_t pat(uint32_t t, size_t i) { return (uint8_t)(t * 131u + i * 7u + (i >> 8)); }

static void fill(void *p, size_t n, uint32_t t)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = pat(t, i);
}

static void verify(const char *who, const void *p, size_t n, uint32_t t)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != pat(t, i))
            fail_msg("%s: block %p (tag %u, %zu bytes) corrupt at byte %zu", who, p, t, n, i);
}

static void assert_live(const hl_allocator_t *a, size_t blocks)
{
    hl_stats_t s;
    hl_stats(a, &s);
    if (s.valid & HL_STAT_LIVE_BLOCKS)
        assert_int_equal(s.live_blocks, blocks);
}

static void assert_check(const hl_allocator_t *a)
{
    if (!hl_check(a, stderr))
        fail_msg("%s: check() failed", a->name);
}

/* xorshift64*, fixed seed: the same program every run. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static size_t rnd_size(void)
{
    uint64_t r = rnd() % 1000;
    if (r < 900) return rnd() % 513;             /* pymalloc's range, 0 included */
    if (r < 990) return 513 + rnd() % (32 << 10);
    return (32 << 10) + rnd() % (1 << 20);
}

#define NSLOTS 1024
#define NOPS 50000

typedef struct slot_s {
    void *p;
    size_t n;
    uint32_t tag;
} slot_t;

static void random_program(const peer_t *peer)
{
    hl_allocator_t a;
    open_peer(peer, &a);
    static slot_t slots[NSLOTS];
    memset(slots, 0, sizeof slots);
    size_t live = 0;
    uint32_t next_tag = 1;
    rng_state = 0x9E3779B97F4A7C15ULL;
    for (int op = 0; op < NOPS; op++) {
        slot_t *s = &slots[rnd() % NSLOTS];
        int kind = (int)(rnd() % 4);
        if (s->p != NULL && kind != 3) {           /* free, or realloc below */
            verify(peer->name, s->p, s->n, s->tag);
            if (kind == 2) {
                size_t n = rnd_size();
                void *q = hl_realloc(&a, s->p, n);
                assert_non_null(q);
                assert_aligned(q);
                assert_true(hl_usable_size(&a, q) >= n);
                size_t keep = n < s->n ? n : s->n;
                verify(peer->name, q, keep, s->tag);
                s->tag = next_tag++;
                fill(q, n, s->tag);
                s->p = q;
                s->n = n;
            } else {
                hl_free(&a, s->p);
                s->p = NULL;
                live--;
            }
        } else if (s->p == NULL) {                 /* malloc, calloc, realloc(NULL) */
            size_t n = rnd_size();
            void *p;
            if (kind == 0) {
                p = hl_calloc(&a, 1 + n / 16, n ? 16 : 0);
                n = n ? (1 + n / 16) * 16 : 0;
                assert_non_null(p);
                for (size_t i = 0; i < n; i++)
                    if (((uint8_t *)p)[i] != 0)
                        fail_msg("%s: calloc block not zero at %zu", peer->name, i);
            } else if (kind == 1) {
                p = hl_realloc(&a, NULL, n);
            } else {
                p = hl_malloc(&a, n);
            }
            assert_non_null(p);
            assert_aligned(p);
            assert_true(hl_usable_size(&a, p) >= n);
            s->p = p;
            s->n = n;
            s->tag = next_tag++;
            fill(p, n, s->tag);
            live++;
        }
        if (op % 5000 == 4999) {
            assert_live(&a, live);
            assert_check(&a);
        }
    }
    assert_live(&a, live);
    assert_check(&a);
    for (size_t i = 0; i < NSLOTS; i++) {
        if (slots[i].p != NULL) {
            verify(peer->name, slots[i].p, slots[i].n, slots[i].tag);
            hl_free(&a, slots[i].p);
        }
    }
    assert_live(&a, 0);
    assert_check(&a);
    close_peer(&a);
}

static void test_random_program(void **state)
{
    (void)state;
    for (size_t i = 0; i < NPEERS; i++)
        random_program(&peers[i]);
}

static void test_alignment_and_usable_size(void **state)
{
    (void)state;
    static void *blocks[4200];
    for (size_t k = 0; k < NPEERS; k++) {
        hl_allocator_t a;
        open_peer(&peers[k], &a);
        size_t nb = 0;
        for (size_t n = 0; n <= 4096; n++)
            blocks[nb++] = hl_malloc(&a, n);
        for (size_t e = 12; e <= 22; e++)
            for (int d = -1; d <= 1; d++)
                blocks[nb++] = hl_malloc(&a, ((size_t)1 << e) + d);
        for (size_t i = 0; i < nb; i++) {
            size_t n = i <= 4096 ? i : ((size_t)1 << (12 + (i - 4097) / 3)) + (i - 4097) % 3 - 1;
            assert_non_null(blocks[i]);
            assert_aligned(blocks[i]);
            if (hl_usable_size(&a, blocks[i]) < n)
                fail_msg("%s: usable_size %zu < %zu", peers[k].name,
                         hl_usable_size(&a, blocks[i]), n);
            memset(blocks[i], 0xA5, n);
        }
        assert_live(&a, nb);
        assert_check(&a);
        for (size_t i = 0; i < nb; i++)
            hl_free(&a, blocks[i]);
        hl_free(&a, NULL);                         /* does nothing */
        assert_live(&a, 0);
        close_peer(&a);
    }
}

static void test_realloc_contents(void **state)
{
    (void)state;
    static const size_t steps[] = {1, 15, 16, 17, 100, 512, 513, 4000, 70000, 1 << 20, 3 << 20};
    const size_t nsteps = sizeof steps / sizeof steps[0];
    for (size_t k = 0; k < NPEERS; k++) {
        hl_allocator_t a;
        open_peer(&peers[k], &a);
        void *p = hl_realloc(&a, NULL, steps[0]);   /* realloc(NULL, n) is malloc */
        assert_non_null(p);
        fill(p, steps[0], 7);
        size_t n = steps[0];
        for (size_t i = 1; i < nsteps; i++) {       /* grow */
            p = hl_realloc(&a, p, steps[i]);
            assert_non_null(p);
            assert_aligned(p);
            verify(peers[k].name, p, n, 7);
            fill(p, steps[i], 7);
            n = steps[i];
        }
        for (size_t i = nsteps - 1; i-- > 0;) {    /* shrink */
            p = hl_realloc(&a, p, steps[i]);
            assert_non_null(p);
            assert_aligned(p);
            assert_true(hl_usable_size(&a, p) >= steps[i]);
            verify(peers[k].name, p, steps[i], 7);
        }
        /* realloc(p, 0) is not a free: a unique block, still owned. */
        void *z = hl_realloc(&a, p, 0);
        assert_non_null(z);
        void *other = hl_malloc(&a, 0);
        assert_non_null(other);
        assert_ptr_not_equal(z, other);
        assert_live(&a, 2);
        hl_free(&a, z);
        hl_free(&a, other);
        assert_live(&a, 0);
        assert_check(&a);
        close_peer(&a);
    }
}

static void test_calloc_zero_and_overflow(void **state)
{
    (void)state;
    for (size_t k = 0; k < NPEERS; k++) {
        hl_allocator_t a;
        open_peer(&peers[k], &a);
        /* Dirty some blocks first, so that calloc has reuse to zero. */
        static const size_t sizes[] = {16, 48, 256, 4096, 40000, 300000};
        for (size_t r = 0; r < 2; r++) {
            for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
                uint8_t *d = hl_malloc(&a, sizes[i]);
                memset(d, 0xEE, sizes[i]);
                hl_free(&a, d);
                uint8_t *c = hl_calloc(&a, sizes[i] / 8, 8);
                assert_non_null(c);
                assert_aligned(c);
                for (size_t j = 0; j < sizes[i]; j++)
                    if (c[j] != 0)
                        fail_msg("%s: calloc(%zu) byte %zu is %#x", peers[k].name, sizes[i],
                                 j, c[j]);
                memset(c, 0xEE, sizes[i]);
                hl_free(&a, c);
            }
        }
        /* Overflow of nelem * elsize: NULL, nothing allocated. */
        assert_null(hl_calloc(&a, SIZE_MAX / 2, 3));
        assert_null(hl_calloc(&a, SIZE_MAX, SIZE_MAX));
        assert_null(hl_calloc(&a, (SIZE_MAX >> 4) + 2, 16));
        assert_null(hl_calloc(&a, 1, SIZE_MAX));
        /* Zero-sized: unique non-NULL blocks. */
        void *z1 = hl_calloc(&a, 0, 8), *z2 = hl_calloc(&a, 8, 0), *z3 = hl_calloc(&a, 0, 0);
        assert_non_null(z1);
        assert_non_null(z2);
        assert_non_null(z3);
        assert_ptr_not_equal(z1, z2);
        assert_ptr_not_equal(z2, z3);
        assert_ptr_not_equal(z1, z3);
        assert_live(&a, 3);
        hl_free(&a, z1);
        hl_free(&a, z2);
        hl_free(&a, z3);
        assert_live(&a, 0);
        close_peer(&a);
    }
}

static void test_zero_and_huge(void **state)
{
    (void)state;
    static const size_t huge[] = {
        SIZE_MAX, SIZE_MAX - 15, SIZE_MAX / 2 + 1, SIZE_MAX / 2, (size_t)PTRDIFF_MAX,
        (size_t)1 << 62, (size_t)1 << 50,
    };
    for (size_t k = 0; k < NPEERS; k++) {
        hl_allocator_t a;
        open_peer(&peers[k], &a);
        void *z[8];
        for (int i = 0; i < 8; i++) {
            z[i] = hl_malloc(&a, 0);
            assert_non_null(z[i]);
            assert_aligned(z[i]);
            for (int j = 0; j < i; j++)
                assert_ptr_not_equal(z[i], z[j]);
        }
        void *p = hl_malloc(&a, 100);
        fill(p, 100, 3);
        for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
            if (hl_malloc(&a, huge[i]) != NULL)
                fail_msg("%s: malloc(%#zx) did not fail", peers[k].name, huge[i]);
            assert_null(hl_calloc(&a, 1, huge[i]));
            assert_null(hl_calloc(&a, huge[i], 1));
            assert_null(hl_realloc(&a, NULL, huge[i]));
            assert_null(hl_realloc(&a, p, huge[i]));   /* and p is untouched */
            verify(peers[k].name, p, 100, 3);
        }
        assert_live(&a, 9);
        assert_check(&a);
        for (int i = 0; i < 8; i++)
            hl_free(&a, z[i]);
        hl_free(&a, p);
        assert_live(&a, 0);
        close_peer(&a);
    }
}

static void test_stats_and_print(void **state)
{
    (void)state;
    for (size_t k = 0; k < NPEERS; k++) {
        hl_allocator_t a;
        open_peer(&peers[k], &a);
        hl_stats_t s0, s1, s2;
        hl_stats(&a, &s0);
        assert_true(s0.valid & HL_STAT_HELD);
        void *big = hl_malloc(&a, 4 << 20);
        memset(big, 1, 4 << 20);
        void *small[100];
        size_t bytes = hl_usable_size(&a, big);
        for (int i = 0; i < 100; i++) {
            small[i] = hl_malloc(&a, 40);
            bytes += hl_usable_size(&a, small[i]);
        }
        hl_stats(&a, &s1);
        assert_true(s1.held_bytes >= (4u << 20));
        assert_true(s1.held_peak_bytes >= s1.held_bytes);
        if (s1.valid & HL_STAT_LIVE_BYTES) {
            assert_int_equal(s1.live_blocks, 101);
            assert_int_equal(s1.live_bytes, bytes);
        }
        assert_check(&a);
        hl_free(&a, big);
        for (int i = 0; i < 100; i++)
            hl_free(&a, small[i]);
        hl_stats(&a, &s2);
        assert_true(s2.held_peak_bytes >= s1.held_bytes);
        if (s2.valid & HL_STAT_LIVE_BYTES) {
            assert_int_equal(s2.live_blocks, 0);
            assert_int_equal(s2.live_bytes, 0);
        }
        /* print_stats writes the library's own report. */
        FILE *f = tmpfile();
        assert_non_null(f);
        assert_int_not_equal(hl_print_stats(&a, f), 0);
        long len = ftell(f);
        fclose(f);
        if (len < 200)
            fail_msg("%s: print_stats wrote only %ld bytes", peers[k].name, len);
        close_peer(&a);
    }
}

/* jemalloc: an instance's arena holds only its own blocks. */
static void assert_held_below(const hl_allocator_t *a, size_t limit)
{
    hl_stats_t s;
    hl_stats(a, &s);
    if (s.held_bytes >= limit)
        fail_msg("%s: held %zu >= %zu", a->name, s.held_bytes, limit);
}

static void test_two_instances(void **state)
{
    (void)state;
    for (size_t k = 0; k < NPEERS; k++) {
        const peer_t *peer = &peers[k];
        hl_allocator_t a, b;
        open_peer(peer, &a);
        open_peer(peer, &b);
        assert_ptr_not_equal(a.ctx, b.ctx);
        enum { N = 500 };
        static void *pa[N], *pb[N];
        for (int i = 0; i < N; i++) {
            size_t n = 16 + (size_t)i * 13 % 3000;
            pa[i] = hl_malloc(&a, n);
            pb[i] = hl_malloc(&b, n);
            fill(pa[i], n, 2 * (uint32_t)i);
            fill(pb[i], n, 2 * (uint32_t)i + 1);
        }
        void *bbig = hl_malloc(&b, 16 << 20);
        memset(bbig, 2, 16 << 20);
        if (peer->own_heap && strcmp(peer->name, "jemalloc") == 0)
            assert_held_below(&a, 16 << 20);    /* b's 16 MiB is not in a's arena */
        assert_live(&a, N);
        assert_live(&b, N + 1);
        assert_check(&a);
        assert_check(&b);
        /* Free half of a's through a, interleaved with b's work. */
        for (int i = 0; i < N; i += 2) {
            verify(peer->name, pa[i], 16 + (size_t)i * 13 % 3000, 2 * (uint32_t)i);
            hl_free(&a, pa[i]);
            pb[i] = hl_realloc(&b, pb[i], 5000);
            verify(peer->name, pb[i], 16 + (size_t)i * 13 % 3000, 2 * (uint32_t)i + 1);
            fill(pb[i], 16 + (size_t)i * 13 % 3000, 2 * (uint32_t)i + 1);
        }
        if (peer->own_heap) {
            /* Destroying a frees a's live blocks and nothing of b's. */
            close_peer(&a);
        } else {
            for (int i = 1; i < N; i += 2)
                hl_free(&a, pa[i]);
            assert_live(&a, 0);
            close_peer(&a);
        }
        for (int i = 0; i < N; i++)
            verify(peer->name, pb[i], 16 + (size_t)i * 13 % 3000, 2 * (uint32_t)i + 1);
        assert_check(&b);
        hl_allocator_t c;                            /* a's successor, next to b */
        open_peer(peer, &c);
        void *pc = hl_malloc(&c, 1000);
        fill(pc, 1000, 9);
        for (int i = 0; i < N; i++)
            hl_free(&b, pb[i]);
        hl_free(&b, bbig);
        assert_live(&b, 0);
        verify(peer->name, pc, 1000, 9);
        hl_free(&c, pc);
        assert_check(&b);
        assert_check(&c);
        close_peer(&b);
        close_peer(&c);
    }
}

/* Instances come and go without running out of arenas, caches or heaps. */
static void test_many_instances(void **state)
{
    (void)state;
    for (size_t k = 0; k < NPEERS; k++) {
        for (int i = 0; i < 300; i++) {
            hl_allocator_t a;
            open_peer(&peers[k], &a);
            void *p = hl_malloc(&a, 1 + (size_t)i * 37);
            assert_non_null(p);
            if (!peers[k].own_heap)
                hl_free(&a, p);                      /* else destroy frees it */
            close_peer(&a);
        }
    }
}

/* The peers are loaded RTLD_LOCAL, so the process's malloc is still the C
 * library's (or ASan's): its blocks look like glibc's, free fine, and the
 * peers' blocks never come from it. */
static void test_glibc_untouched(void **state)
{
    (void)state;
    hl_allocator_t all[NPEERS];
    for (size_t k = 0; k < NPEERS; k++)
        open_peer(&peers[k], &all[k]);

    Dl_info info;
    assert_int_not_equal(dladdr((void *)(uintptr_t)&malloc, &info), 0);
    void *sym = dlsym(RTLD_DEFAULT, "malloc");
    assert_non_null(sym);
    assert_int_not_equal(dladdr(sym, &info), 0);
    assert_non_null(info.dli_fname);
    assert_null(strstr(info.dli_fname, "jemalloc"));
    assert_null(strstr(info.dli_fname, "mimalloc"));
    assert_null(strstr(info.dli_fname, "tcmalloc"));
    void *p = malloc(100);
    assert_non_null(p);
#if UNDER_ASAN
    assert_int_equal(malloc_usable_size(p), 100);   /* ASan's exact size */
#else
    assert_non_null(strstr(info.dli_fname, "libc.so"));
    assert_int_equal(malloc_usable_size(p), 104);   /* a glibc chunk: 100 + 8 rounded to 16, - 8 */
#endif
    memset(p, 1, 100);

    /* Blocks from every peer, small and large: the C heap does not move. */
    struct mallinfo2 m0 = mallinfo2();
    void *blocks[NPEERS][64];
    for (size_t k = 0; k < NPEERS; k++) {
        for (int i = 0; i < 63; i++)
            blocks[k][i] = hl_malloc(&all[k], 24 + (size_t)i * 40);
        blocks[k][63] = hl_malloc(&all[k], 2 << 20);
        for (int i = 0; i < 64; i++) {
            assert_non_null(blocks[k][i]);
            assert_ptr_not_equal(blocks[k][i], p);
        }
    }
    struct mallinfo2 m1 = mallinfo2();
    assert_int_equal(m1.uordblks, m0.uordblks);
    assert_int_equal(m1.hblkhd, m0.hblkhd);
    assert_int_equal(m1.hblks, m0.hblks);
    for (size_t k = 0; k < NPEERS; k++) {
        assert_live(&all[k], 64);
        for (int i = 0; i < 64; i++)
            hl_free(&all[k], blocks[k][i]);       /* each peer frees only its own */
        assert_live(&all[k], 0);
    }
    struct mallinfo2 m2 = mallinfo2();
    assert_int_equal(m2.uordblks, m0.uordblks);
    free(p);                                     /* glibc's block, glibc's free */
    void *q = realloc(NULL, 3 << 20);            /* and a large one */
    assert_non_null(q);
    free(q);
    for (size_t k = 0; k < NPEERS; k++)
        close_peer(&all[k]);
}

/* walk(): spans of the library's own heap.  The spans go to a static
 * table (lib/heapmap/spans.h): nothing is allocated, from any heap. */
static hl_span_t span_buf[1 << 17];
static hl_spans_t spans = HL_SPANS_FIXED(span_buf);

#define WALK_BLOCKS 600

static void walk_peer(const peer_t *peer)
{
    hl_allocator_t a;
    open_peer(peer, &a);
    if (a.ops->walk == NULL) {
        /* jemalloc: no view of its arena (jemalloc.c says why). */
        assert_string_equal(peer->name, "jemalloc");
        assert_int_equal(hl_spans_walk(&a, &spans), HL_NO_VIEW);
        close_peer(&a);
        return;
    }
    /* A deterministic mix of 16 .. 100000 bytes, then every third block and
     * the large ones among the rest freed. */
    static void *blocks[WALK_BLOCKS];
    rng_state = 0x243F6A8885A308D3ULL;
    for (size_t i = 0; i < WALK_BLOCKS; i++) {
        uint64_t r = rnd() % 100;
        size_t n = r < 80 ? 16 + rnd() % 497 : r < 95 ? 513 + rnd() % 8192 : 8192 + rnd() % 91809;
        blocks[i] = hl_malloc(&a, n);
        assert_non_null(blocks[i]);
        memset(blocks[i], (int)i, n);
    }
    for (size_t i = 0; i < WALK_BLOCKS; i++) {
        if (i % 3 == 0 || (i % 3 == 1 && hl_usable_size(&a, blocks[i]) > 8192)) {
            hl_free(&a, blocks[i]);
            blocks[i] = NULL;
        }
    }

    assert_int_equal(hl_spans_walk(&a, &spans), 0);
    assert_false(spans.overflow);
    assert_true(spans.n > 0);
    if (!hl_spans_are_valid(&spans, stderr))
        fail_msg("%s: the walk's spans are not valid (above)", peer->name);
    hl_spans_sum_t sum = hl_spans_sum(&spans);
    size_t live_bytes = 0;
    for (size_t i = 0; i < WALK_BLOCKS; i++) {
        if (blocks[i] == NULL)
            continue;
        size_t usable = hl_usable_size(&a, blocks[i]);
        live_bytes += usable;
        if (!hl_spans_hold_block(&spans, blocks[i], usable, stderr))
            fail_msg("%s: live block %p (+%zu) is not inside a USED span (above)", peer->name,
                     blocks[i], usable);
    }
    hl_stats_t s;
    hl_stats(&a, &s);
    if ((s.valid & HL_STAT_HELD) && sum.bytes > s.held_bytes)
        fail_msg("%s: spans cover %zu bytes, more than the %zu held", peer->name, sum.bytes,
                 s.held_bytes);
    if (strcmp(peer->name, "mimalloc") == 0) {
        /* A private heap, no cache of freed blocks: USED is the live set,
         * and the freed blocks are FREE. */
        assert_int_equal(sum.kind_bytes[HL_SPAN_USED], live_bytes);
        assert_true(sum.kind_bytes[HL_SPAN_FREE] > 0);
    }
    for (size_t i = 0; i < WALK_BLOCKS; i++)
        hl_free(&a, blocks[i]);
    close_peer(&a);
}

static void test_walk(void **state)
{
    (void)state;
    for (size_t k = 0; k < NPEERS; k++)
        walk_peer(&peers[k]);
}

static void test_missing_library(void **state)
{
    (void)state;
    hl_peer_lib_t lib = {"nosuch", "libheaplab-nosuch.so.9", "heaplab-nosuch", NULL};
    char err[512] = "";
    assert_int_equal(_hl_peer_open(&lib, err, sizeof err), -1);
    assert_null(lib.handle);
    assert_non_null(strstr(err, "nosuch: cannot load libheaplab-nosuch.so.9"));
    assert_non_null(strstr(err, "Debian package heaplab-nosuch"));
}

/* main() re-executed the test with the static TLS surplus jemalloc needs. */
static void test_static_tls_tunable(void **state)
{
    (void)state;
    const char *t = getenv("GLIBC_TUNABLES");
    assert_non_null(t);
    assert_non_null(strstr(t, "glibc.rtld.optional_static_tls="));
    assert_int_equal(hl_peers_reexec_for_static_tls(NULL), 0);   /* nothing left to do */
}

int main(int argc, char **argv)
{
    (void)argc;
    if (hl_peers_reexec_for_static_tls(argv) != 0)
        fprintf(stderr, "peers_test: could not re-execute with GLIBC_TUNABLES=%s\n",
                HL_PEERS_STATIC_TLS_TUNABLE);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_static_tls_tunable),
        cmocka_unit_test(test_missing_library),
        cmocka_unit_test(test_glibc_untouched),
        cmocka_unit_test(test_random_program),
        cmocka_unit_test(test_alignment_and_usable_size),
        cmocka_unit_test(test_realloc_contents),
        cmocka_unit_test(test_calloc_zero_and_overflow),
        cmocka_unit_test(test_zero_and_huge),
        cmocka_unit_test(test_stats_and_print),
        cmocka_unit_test(test_two_instances),
        cmocka_unit_test(test_many_instances),
        cmocka_unit_test(test_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
