/* classic_test.c: the sequential-fit and segregated-list allocators
 * (seqfit.c, segregated_simple.c, segregated_fit.c).
 *
 * Every allocator runs the same contract tests and random programs; then
 * each design's own shapes (its policy's choice, its worst cases) are pinned
 * down exactly.  "Destroy gives back every mapping" is checked two ways:
 * the process-wide count of bytes the three allocators map
 * (_hl_fit_mapped_bytes, fit_common.h) returns to what it was before create,
 * and pages the instance held are no longer mapped (msync says ENOMEM).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "classic.h"
#include "fit_common.h"
#include "hl_debug.h"
#include "lib/mem/death.h"
#include "walk_test_util.h"

typedef struct impl_s {
    const char *name;
    int (*create)(const hl_alloc_options_t *, hl_allocator_t *, char *, size_t);
    size_t overhead;  /* bytes of a block's size that are not usable */
} impl_t;

static const impl_t impls[] = {
    {"seqfit-first", hl_seqfit_first_create, 16},
    {"seqfit-next", hl_seqfit_next_create, 16},
    {"seqfit-best", hl_seqfit_best_create, 16},
    {"segregated-simple", hl_segregated_simple_create, 0},
    {"segregated-fit", hl_segregated_fit_create, 8},
};
#define NIMPLS (sizeof impls / sizeof impls[0])

static const impl_t *impl_named(const char *name)
{
    for (size_t i = 0; i < NIMPLS; i++)
        if (strcmp(impls[i].name, name) == 0)
            return &impls[i];
    fail_msg("no allocator %s", name);
    return NULL;
}

static hl_allocator_t open_alloc(const impl_t *im)
{
    hl_allocator_t a;
    char err[200];
    assert_int_equal(im->create(NULL, &a, err, sizeof err), 0);
    assert_string_equal(a.name, im->name);
    return a;
}

/* hl_allocator_destroy without the registry (lib/alloc/registry.c). */
static void close_alloc(hl_allocator_t *a)
{
    a->ops->destroy(a->ctx);
    a->ops = NULL;
    a->ctx = NULL;
}

static void must_check(const hl_allocator_t *a)
{
    if (!hl_check(a, stderr))
        fail_msg("%s: check() failed", a->name);
}

static hl_stats_t stats_of(const hl_allocator_t *a)
{
    hl_stats_t s;
    hl_stats(a, &s);
    assert_int_equal(s.valid, HL_STAT_HELD | HL_STAT_LIVE_BLOCKS | HL_STAT_LIVE_BYTES);
    return s;
}

static bool page_mapped(const void *p)
{
    void *page = (void *)((uintptr_t)p & ~(uintptr_t)(HL_FIT_OS_PAGE - 1));
    if (msync(page, HL_FIT_OS_PAGE, MS_ASYNC) == 0)
        return true;
    assert_int_equal(errno, ENOMEM);
    return false;
}

/* ---------------------------------------------------------------------- */
/* Contracts                                                              */

static void test_contracts(void **state)
{
    (void)state;
    for (size_t i = 0; i < NIMPLS; i++) {
        size_t base = _hl_fit_mapped_bytes();
        hl_allocator_t a = open_alloc(&impls[i]);

        /* malloc(0): unique, non-NULL, aligned */
        void *z1 = hl_malloc(&a, 0), *z2 = hl_malloc(&a, 0);
        assert_non_null(z1);
        assert_non_null(z2);
        assert_ptr_not_equal(z1, z2);
        assert_int_equal((uintptr_t)z1 % 16, 0);

        /* realloc(p, 0) is not a free; realloc(NULL, n) is malloc */
        void *r = hl_realloc(&a, z1, 0);
        assert_non_null(r);
        void *m = hl_realloc(&a, NULL, 100);
        assert_non_null(m);
        assert_true(hl_usable_size(&a, m) >= 100);
        hl_free(&a, NULL);

        /* huge requests fail without touching anything */
        static const size_t huge[] = {SIZE_MAX, SIZE_MAX / 2, PTRDIFF_MAX, (size_t)1 << 47,
                                      SIZE_MAX - 15, SIZE_MAX - 4096};
        for (size_t h = 0; h < sizeof huge / sizeof huge[0]; h++) {
            assert_null(hl_malloc(&a, huge[h]));
            assert_null(hl_calloc(&a, 1, huge[h]));
            assert_null(hl_realloc(&a, NULL, huge[h]));
            memset(m, 0x3c, 100);
            assert_null(hl_realloc(&a, m, huge[h]));  /* m is untouched */
            for (int k = 0; k < 100; k++)
                assert_int_equal(((unsigned char *)m)[k], 0x3c);
        }
        /* calloc overflow */
        assert_null(hl_calloc(&a, SIZE_MAX / 2, 4));
        assert_null(hl_calloc(&a, 2, SIZE_MAX / 2 + 1));
        assert_null(hl_calloc(&a, SIZE_MAX, SIZE_MAX));
        void *c0 = hl_calloc(&a, 0, 0);
        assert_non_null(c0);

        /* calloc zeroes a reused, dirty block */
        unsigned char *d = hl_malloc(&a, 200);
        memset(d, 0xff, 200);
        hl_free(&a, d);
        unsigned char *c = hl_calloc(&a, 20, 10);
        assert_non_null(c);
        for (int k = 0; k < 200; k++)
            assert_int_equal(c[k], 0);

        /* every size up to 5000: aligned, usable >= asked, distinct */
        void *blocks[5001];
        for (size_t n = 0; n <= 5000; n++) {
            blocks[n] = hl_malloc(&a, n);
            assert_non_null(blocks[n]);
            assert_int_equal((uintptr_t)blocks[n] % 16, 0);
            assert_true(hl_usable_size(&a, blocks[n]) >= n);
            memset(blocks[n], (int)(n & 0xff), n);
        }
        for (size_t n = 0; n <= 5000; n++) {
            for (size_t k = 0; k < n; k++)
                if (((unsigned char *)blocks[n])[k] != (n & 0xff))
                    fail_msg("%s: block of %zu overwritten at %zu", a.name, n, k);
            hl_free(&a, blocks[n]);
        }
        hl_stats_t s = stats_of(&a);
        assert_int_equal(s.live_blocks, 5);  /* z2 r m c0 c */
        must_check(&a);
        hl_free(&a, z2); hl_free(&a, r); hl_free(&a, m); hl_free(&a, c0); hl_free(&a, c);
        s = stats_of(&a);
        assert_int_equal(s.live_blocks, 0);
        assert_int_equal(s.live_bytes, 0);
        assert_true(s.held_bytes > 0 && s.held_peak_bytes >= s.held_bytes);
        assert_int_equal(hl_print_stats(&a, stderr), 1);
        must_check(&a);
        close_alloc(&a);
        assert_int_equal(_hl_fit_mapped_bytes(), base);
    }
}

/* realloc keeps contents both ways, across every size regime. */
static void test_realloc_contents(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 24, 100, 1000, 3000, 70000, 300000, 1500000, 2500000};
    const size_t ns = sizeof sizes / sizeof sizes[0];
    for (size_t i = 0; i < NIMPLS; i++) {
        size_t base = _hl_fit_mapped_bytes();
        hl_allocator_t a = open_alloc(&impls[i]);
        for (size_t x = 0; x < ns; x++)
            for (size_t y = 0; y < ns; y++) {
                unsigned char *p = hl_malloc(&a, sizes[x]);
                void *guard = hl_malloc(&a, 50);  /* some grow in place, some not */
                for (size_t k = 0; k < sizes[x]; k++)
                    p[k] = (unsigned char)(k * 7 + x);
                if (y % 2)
                    hl_free(&a, guard);
                unsigned char *q = hl_realloc(&a, p, sizes[y]);
                assert_non_null(q);
                assert_int_equal((uintptr_t)q % 16, 0);
                assert_true(hl_usable_size(&a, q) >= sizes[y]);
                size_t keep = sizes[x] < sizes[y] ? sizes[x] : sizes[y];
                for (size_t k = 0; k < keep; k++)
                    if (q[k] != (unsigned char)(k * 7 + x))
                        fail_msg("%s: realloc %zu -> %zu lost byte %zu", a.name, sizes[x],
                                 sizes[y], k);
                memset(q, 1, sizes[y]);
                hl_free(&a, q);
                if (y % 2 == 0)
                    hl_free(&a, guard);
                must_check(&a);
            }
        hl_stats_t s = stats_of(&a);
        assert_int_equal(s.live_blocks, 0);
        close_alloc(&a);
        assert_int_equal(_hl_fit_mapped_bytes(), base);
    }
}

/* ---------------------------------------------------------------------- */
/* Random programs                                                        */

#define NSLOTS 3000
#ifndef NOPS
#define NOPS 100000
#endif

typedef struct slot_s {
    unsigned char *p;
    size_t n;
    uint64_t id;
} slot_t;

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Sizes skewed small: 80% <= 128, 14% <= 4 KiB, 5% <= 64 KiB, 1% up to 1.5 MiB. */
static size_t random_size(uint64_t *rng)
{
    unsigned r = (unsigned)(rng_next(rng) % 100);
    if (r < 80)
        return (size_t)(rng_next(rng) % 129);
    if (r < 94)
        return 129 + (size_t)(rng_next(rng) % 3968);
    if (r < 99)
        return 4097 + (size_t)(rng_next(rng) % 61440);
    return 65537 + (size_t)(rng_next(rng) % 1500000);
}

static unsigned char pattern_byte(uint64_t id) { return (unsigned char)(id * 0x9Du + 1); }

/* The pattern: the block's id in its first 8 bytes (if it has them), then
 * one per-block byte. */
static void fill(slot_t *s)
{
    if (s->n >= 8) {
        memcpy(s->p, &s->id, 8);
        memset(s->p + 8, pattern_byte(s->id), s->n - 8);
    }
    else {
        memset(s->p, pattern_byte(s->id), s->n);
    }
}

/* Is the pattern intact on the first `n` bytes?  (memcmp of the block
 * against itself shifted by one: every byte equals the first.) */
static bool intact(const slot_t *s, size_t n)
{
    size_t from = 0;
    if (s->n >= 8) {
        if (n >= 8 && memcmp(s->p, &s->id, 8) != 0)
            return false;
        from = 8;
    }
    if (n <= from)
        return true;
    if (s->p[from] != pattern_byte(s->id))
        return false;
    return n - from < 2 || memcmp(s->p + from, s->p + from + 1, n - from - 1) == 0;
}

static void verify_stats(const hl_allocator_t *a, const slot_t *slots)
{
    size_t live = 0, bytes = 0;
    for (size_t i = 0; i < NSLOTS; i++)
        if (slots[i].p) {
            live++;
            bytes += hl_usable_size(a, slots[i].p);
        }
    hl_stats_t s = stats_of(a);
    assert_int_equal(s.live_blocks, live);
    assert_int_equal(s.live_bytes, bytes);
    assert_true(s.held_bytes >= bytes && s.held_peak_bytes >= s.held_bytes);
}

static void run_program(const impl_t *im, uint64_t seed)
{
    size_t base = _hl_fit_mapped_bytes();
    hl_allocator_t a = open_alloc(im);
    slot_t *slots = calloc(NSLOTS, sizeof *slots);
    assert_non_null(slots);
    uint64_t rng = seed, next_id = 1;
    size_t counts[4] = {0};

    for (size_t op = 1; op <= NOPS; op++) {
        slot_t *s = &slots[rng_next(&rng) % NSLOTS];
        unsigned kind = (unsigned)(rng_next(&rng) % 10);
        if (s->p == NULL) {
            s->n = random_size(&rng);
            s->id = next_id++;
            if (kind < 7) {
                s->p = hl_malloc(&a, s->n);
                counts[0]++;
            }
            else {
                size_t el = 1 + (size_t)(rng_next(&rng) % 8);
                s->n = s->n / el * el;
                s->p = hl_calloc(&a, s->n / el, el);
                counts[1]++;
                assert_non_null(s->p);
                for (size_t k = 0; k < s->n; k++)
                    if (s->p[k] != 0)
                        fail_msg("%s seed %lu op %zu: calloc byte %zu not zero", im->name,
                                 (unsigned long)seed, op, k);
            }
            assert_non_null(s->p);
        }
        else if (kind < 4) {
            /* realloc, growing or shrinking */
            if (!intact(s, s->n))
                fail_msg("%s seed %lu op %zu: block %lu corrupted", im->name,
                         (unsigned long)seed, op, (unsigned long)s->id);
            size_t n = (kind < 2) ? random_size(&rng) : s->n / 2;
            unsigned char *q = hl_realloc(&a, s->p, n);
            assert_non_null(q);
            slot_t t = {q, s->n, s->id};
            if (!intact(&t, s->n < n ? s->n : n))
                fail_msg("%s seed %lu op %zu: realloc %zu -> %zu lost contents", im->name,
                         (unsigned long)seed, op, s->n, n);
            s->p = q;
            s->n = n;
            counts[2]++;
        }
        else {
            if (!intact(s, s->n))
                fail_msg("%s seed %lu op %zu: block %lu corrupted before free", im->name,
                         (unsigned long)seed, op, (unsigned long)s->id);
            hl_free(&a, s->p);
            s->p = NULL;
            counts[3]++;
            continue;
        }
        assert_int_equal((uintptr_t)s->p % 16, 0);
        assert_true(hl_usable_size(&a, s->p) >= s->n);
        fill(s);
        if (op % 1000 == 0) {
            if (!hl_check(&a, stderr))
                fail_msg("%s seed %lu: check() failed after op %zu", im->name,
                         (unsigned long)seed, op);
            verify_stats(&a, slots);
        }
    }
    must_check(&a);
    verify_stats(&a, slots);
    assert_true(counts[0] && counts[1] && counts[2] && counts[3]);

    /* Free half, check, then destroy with the rest still live: destroy
     * gives back every mapping, live blocks included. */
    void *sample[NSLOTS];
    size_t nsample = 0;
    for (size_t i = 0; i < NSLOTS; i++) {
        if (!slots[i].p)
            continue;
        if (!intact(&slots[i], slots[i].n))
            fail_msg("%s: block %lu corrupted at the end", im->name, (unsigned long)slots[i].id);
        if (i % 2) {
            hl_free(&a, slots[i].p);
        }
        else {
            assert_true(page_mapped(slots[i].p));
            sample[nsample++] = slots[i].p;
        }
    }
    must_check(&a);
    free(slots);
    close_alloc(&a);
    for (size_t i = 0; i < nsample; i++)
        if (page_mapped(sample[i]))
            fail_msg("%s: %p still mapped after destroy", im->name, sample[i]);
    assert_int_equal(_hl_fit_mapped_bytes(), base);
}

static void test_random_programs(void **state)
{
    (void)state;
    static const uint64_t seeds[] = {0x9E3779B97F4A7C15ull, 12345};
    for (size_t i = 0; i < NIMPLS; i++)
        for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++)
            run_program(&impls[i], seeds[k]);
}

/* Two instances of each, interleaved, never see each other's blocks. */
static void test_instances_are_independent(void **state)
{
    (void)state;
    for (size_t i = 0; i < NIMPLS; i++) {
        hl_allocator_t a = open_alloc(&impls[i]), b = open_alloc(&impls[i]);
        void *pa[100], *pb[100];
        for (int k = 0; k < 100; k++) {
            pa[k] = hl_malloc(&a, (size_t)k * 40);
            pb[k] = hl_malloc(&b, (size_t)k * 40);
        }
        hl_stats_t sa = stats_of(&a);
        assert_int_equal(sa.live_blocks, 100);
        for (int k = 0; k < 100; k++)
            hl_free(&a, pa[k]);
        must_check(&a);
        must_check(&b);
        assert_int_equal(stats_of(&b).live_blocks, 100);
        close_alloc(&a);
        for (int k = 0; k < 100; k++)
            hl_free(&b, pb[k]);
        must_check(&b);
        close_alloc(&b);
    }
}

/* check() notices a use-after-free write into a free block's links, names
 * the broken invariant, and passes again once the bytes are restored. */
static void test_check_detects_corruption(void **state)
{
    (void)state;
    for (size_t i = 0; i < NIMPLS; i++) {
        hl_allocator_t a = open_alloc(&impls[i]);
        void *left = hl_malloc(&a, 64), *p = hl_malloc(&a, 64), *right = hl_malloc(&a, 64);
        hl_free(&a, p);  /* a free block between two live ones */
        must_check(&a);
        unsigned char saved[16];
        memcpy(saved, p, 16);
        memset(p, 0x41, 16);
        char buf[512] = {0};
        FILE *f = fmemopen(buf, sizeof buf - 1, "w");
        assert_non_null(f);
        assert_false(hl_check(&a, f));
        fclose(f);
        assert_non_null(strstr(buf, "invariant"));
        assert_non_null(strstr(buf, impls[i].name));
        memcpy(p, saved, 16);
        must_check(&a);
        hl_free(&a, left);
        hl_free(&a, right);
        must_check(&a);
        close_alloc(&a);
    }
}

/* ---------------------------------------------------------------------- */
/* Misuse in debug builds                                                 */

#if HL_DEBUG >= 1
typedef struct misuse_s {
    const impl_t *im;
    int kind;  /* 0 double free, 1 foreign pointer, 2 interior pointer */
} misuse_t;

static void misuse_child(void *arg)
{
    const misuse_t *m = arg;
    hl_allocator_t a = open_alloc(m->im);
    unsigned char *p = hl_malloc(&a, 64);
    unsigned char *keep = hl_malloc(&a, 64);  /* p stays a block of its own */
    memset(p, 0, 64);
    (void)keep;
    static _Alignas(16) unsigned char foreign[64];
    switch (m->kind) {
    case 0:
        hl_free(&a, p);
        hl_free(&a, p);
        break;
    case 1:
        hl_free(&a, foreign + 16);
        break;
    case 2:
        hl_free(&a, p + 16);
        break;
    }
}

#endif

static void test_misuse_is_fatal(void **state)
{
    (void)state;
#if HL_DEBUG >= 1
    static const char *const expect[] = {"double free", "not a block of this allocator",
                                         "not "};
    for (size_t i = 0; i < NIMPLS; i++)
        for (int kind = 0; kind < 3; kind++) {
            misuse_t m = {&impls[i], kind};
            hl_death_t d;
            assert_int_equal(hl_death_run(misuse_child, &m, &d), 0);
            if (!d.signaled || d.sig != SIGABRT)
                fail_msg("%s misuse %d: not aborted (stderr: %s)", impls[i].name, kind, d.err);
            char head[128];
            snprintf(head, sizeof head, "heaplab %s: free(0x", impls[i].name);
            if (strstr(d.err, head) == NULL || strstr(d.err, expect[kind]) == NULL)
                fail_msg("%s misuse %d: unexpected report: %s", impls[i].name, kind, d.err);
        }
#else
    skip();
#endif
}

/* ---------------------------------------------------------------------- */
/* Sequential fits                                                        */

/* Fifteen 64-byte blocks carved from a fresh chunk, in address order; the
 * rest of the chunk is one free block after them (next fit's rover sits on
 * it).  Freeing a[3] then a[9], both with live neighbours, leaves two holes
 * behind the rover. */
static void test_seqfit_policies_pick(void **state)
{
    (void)state;
    static const struct { const char *name; int pick; } cases[] = {
        {"seqfit-first", 3},  /* lowest address that fits */
        {"seqfit-best", 9},   /* an exact fit; LIFO among equals */
        {"seqfit-next", -1},  /* the rover: past every hole, in the tail */
    };
    for (size_t c = 0; c < 3; c++) {
        hl_allocator_t a = open_alloc(impl_named(cases[c].name));
        unsigned char *b[15];
        for (int k = 0; k < 15; k++) {
            b[k] = hl_malloc(&a, 64);
            if (k)
                assert_ptr_equal(b[k], b[k - 1] + 80);  /* 64 + 16 of tags */
        }
        hl_free(&a, b[3]);
        hl_free(&a, b[9]);
        unsigned char *q = hl_malloc(&a, 64);
        if (cases[c].pick >= 0)
            assert_ptr_equal(q, b[cases[c].pick]);
        else
            assert_ptr_equal(q, b[14] + 80);
        must_check(&a);
        close_alloc(&a);
    }
}

/* Best fit takes the exact fit wherever it is; first fit the first big
 * enough; next fit wraps around to the holes once the tail is too small. */
static void test_seqfit_best_exact_and_next_wraps(void **state)
{
    (void)state;
    hl_allocator_t a = open_alloc(impl_named("seqfit-best"));
    unsigned char *big = hl_malloc(&a, 400), *g1 = hl_malloc(&a, 16);
    unsigned char *mid = hl_malloc(&a, 200), *g2 = hl_malloc(&a, 16);
    unsigned char *ex = hl_malloc(&a, 100), *g3 = hl_malloc(&a, 16);
    hl_free(&a, ex);
    hl_free(&a, big);
    hl_free(&a, mid);
    assert_ptr_equal(hl_malloc(&a, 100), ex);   /* exact, though last in the list */
    assert_ptr_equal(hl_malloc(&a, 150), mid);  /* 200 fits better than 400 */
    (void)g1; (void)g2; (void)g3;
    must_check(&a);
    close_alloc(&a);

    a = open_alloc(impl_named("seqfit-first"));
    big = hl_malloc(&a, 400); g1 = hl_malloc(&a, 16);
    mid = hl_malloc(&a, 200); g2 = hl_malloc(&a, 16);
    hl_free(&a, mid);
    hl_free(&a, big);
    assert_ptr_equal(hl_malloc(&a, 150), big);  /* first in address order */
    must_check(&a);
    close_alloc(&a);

    /* Next fit: fill the chunk's tail until the rover's block is too small,
     * then the search wraps to the hole behind. */
    a = open_alloc(impl_named("seqfit-next"));
    unsigned char *first = hl_malloc(&a, 5000), *keep = hl_malloc(&a, 16);
    hl_free(&a, first);
    void *tail[2000];
    size_t nt = 0;
    for (;;) {
        unsigned char *q = hl_malloc(&a, 2000);
        if (q == first)  /* wrapped: the hole behind the rover */
            break;
        assert_true(q > keep && nt < 2000);
        tail[nt++] = q;
    }
    assert_true(nt > 400);  /* it took the whole 1 MiB tail first */
    (void)keep;
    must_check(&a);
    close_alloc(&a);
}

/* Immediate coalescing with both neighbours; in-place realloc; wholly
 * free chunks go back, except the last standard one. */
static void test_seqfit_coalesce_and_chunks(void **state)
{
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        size_t base = _hl_fit_mapped_bytes();
        hl_allocator_t a = open_alloc(&impls[i]);
        size_t held0 = stats_of(&a).held_bytes;
        /* immediate coalescing with both neighbours */
        unsigned char *x = hl_malloc(&a, 100), *y = hl_malloc(&a, 100), *z = hl_malloc(&a, 100);
        unsigned char *g = hl_malloc(&a, 100);
        hl_free(&a, x);
        hl_free(&a, z);
        hl_free(&a, y);  /* merges with both: x's block spans x..z */
        must_check(&a);
        if (strcmp(impls[i].name, "seqfit-next") != 0) {
            unsigned char *xyz = hl_malloc(&a, 3 * 128 - 16);  /* exactly the merged block */
            assert_ptr_equal(xyz, x);
            hl_free(&a, xyz);
        }
        /* realloc grows into a free right neighbour, shrinks in place */
        unsigned char *p = hl_malloc(&a, 40), *n = hl_malloc(&a, 300), *g2 = hl_malloc(&a, 16);
        assert_ptr_equal(n, p + 64);
        hl_free(&a, n);
        memset(p, 7, 40);
        assert_ptr_equal(hl_realloc(&a, p, 300), p);
        assert_true(hl_usable_size(&a, p) >= 300);
        assert_ptr_equal(hl_realloc(&a, p, 20), p);
        assert_true(hl_usable_size(&a, p) < 300);
        for (int k = 0; k < 20; k++)
            assert_int_equal(p[k], 7);
        must_check(&a);
        hl_free(&a, p);
        hl_free(&a, g);
        hl_free(&a, g2);
        /* one standard chunk stays */
        hl_stats_t s = stats_of(&a);
        assert_int_equal(s.held_bytes, held0 + ((size_t)1 << 20));
        /* an oversized chunk goes back as soon as it is free */
        void *big = hl_malloc(&a, 3u << 20);
        assert_non_null(big);
        /* (the kept standard chunk, too small for it, went back first) */
        assert_int_equal(stats_of(&a).held_bytes, held0 + (3u << 20) + 4096);
        hl_free(&a, big);
        assert_int_equal(stats_of(&a).held_bytes, held0);
        /* so does a second standard chunk, once wholly free */
        void *fill[20];
        for (int k = 0; k < 20; k++)
            fill[k] = hl_malloc(&a, 100000);  /* two chunks' worth */
        assert_true(stats_of(&a).held_bytes >= held0 + (2u << 20));
        for (int k = 0; k < 20; k++)
            hl_free(&a, fill[k]);
        assert_int_equal(stats_of(&a).held_bytes, held0 + ((size_t)1 << 20));
        must_check(&a);
        close_alloc(&a);
        assert_int_equal(_hl_fit_mapped_bytes(), base);
    }
}

/* ---------------------------------------------------------------------- */
/* Simple segregated storage                                              */

static void test_simple_classes(void **state)
{
    (void)state;
    static const size_t classes[] = {16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256,
                                     320, 384, 448, 512, 640, 768, 896, 1024, 1280, 1536,
                                     1792, 2048};
    hl_allocator_t a = open_alloc(impl_named("segregated-simple"));
    size_t c = 0;
    for (size_t n = 0; n <= 2048; n++) {
        while (classes[c] < n)
            c++;
        void *p = hl_malloc(&a, n);
        assert_int_equal(hl_usable_size(&a, p), classes[c]);
        /* one class per page: blocks of the class tile it after the header */
        void *q = hl_malloc(&a, n);
        assert_int_equal(((uintptr_t)p % 16384 - 192) % classes[c], 0);
        assert_int_equal(((uintptr_t)q % 16384 - 192) % classes[c], 0);
        /* realloc within the class stays put */
        assert_ptr_equal(hl_realloc(&a, p, classes[c]), p);
        hl_free(&a, p);
        hl_free(&a, q);
    }
    /* large blocks: their own mapping, shrink in place */
    unsigned char *l = hl_malloc(&a, 100000);
    assert_true(hl_usable_size(&a, l) >= 100000);
    memset(l, 9, 100000);
    size_t held = stats_of(&a).held_bytes;
    assert_ptr_equal(hl_realloc(&a, l, 50000), l);
    assert_true(stats_of(&a).held_bytes < held);
    for (int k = 0; k < 50000; k++)
        assert_int_equal(l[k], 9);
    hl_free(&a, l);
    must_check(&a);
    close_alloc(&a);
}

/* The design's worst case: one live block pins a whole page to its class.
 * Free all but one 16-byte block per page and nothing comes back; blocks
 * of another class need new pages; only when the survivors go do the pages
 * (and then the chunks) return. */
static void test_simple_pinned_pages(void **state)
{
    (void)state;
    size_t base = _hl_fit_mapped_bytes();
    hl_allocator_t a = open_alloc(impl_named("segregated-simple"));
    const size_t per_page = (16384 - 192) / 16, pages = 128, n = per_page * pages;
    void **b = malloc(n * sizeof *b);
    assert_non_null(b);
    for (size_t k = 0; k < n; k++)
        b[k] = hl_malloc(&a, 16);
    size_t held_full = stats_of(&a).held_bytes;
    for (size_t k = 0; k < n; k++)
        if (k % per_page != 0)
            hl_free(&a, b[k]);
    hl_stats_t s = stats_of(&a);
    assert_int_equal(s.live_blocks, pages);
    assert_int_equal(s.live_bytes, pages * 16);
    assert_int_equal(s.held_bytes, held_full);  /* 2 MiB held for 2 KiB live */
    must_check(&a);
    /* 32-byte blocks cannot use the pinned pages' free space */
    void **c = malloc(n / 2 * sizeof *c);
    assert_non_null(c);
    for (size_t k = 0; k < n / 2; k++)
        c[k] = hl_malloc(&a, 32);
    assert_true(stats_of(&a).held_bytes > held_full);
    for (size_t k = 0; k < n / 2; k++)
        hl_free(&a, c[k]);
    for (size_t k = 0; k < n; k += per_page)
        hl_free(&a, b[k]);
    s = stats_of(&a);
    assert_int_equal(s.live_blocks, 0);
    assert_true(s.held_bytes < held_full);  /* all chunks but one went back */
    must_check(&a);
    free(b);
    free(c);
    close_alloc(&a);
    assert_int_equal(_hl_fit_mapped_bytes(), base);
}

/* ---------------------------------------------------------------------- */
/* Segregated fits                                                        */

static void test_segfit_policy(void **state)
{
    (void)state;
    size_t base = _hl_fit_mapped_bytes();
    hl_allocator_t a = open_alloc(impl_named("segregated-fit"));

    /* realloc grows in place into top, and shrinks back into it */
    unsigned char *t = hl_malloc(&a, 100);
    memset(t, 5, 100);
    assert_ptr_equal(hl_realloc(&a, t, 50000), t);
    for (int k = 0; k < 100; k++)
        assert_int_equal(t[k], 5);
    assert_ptr_equal(hl_realloc(&a, t, 60), t);
    assert_ptr_equal(hl_malloc(&a, 16), t + 80);  /* 60 + 8 -> 80: top starts after it */
    must_check(&a);

    /* exact small bin: a freed block comes straight back */
    void *g0 = hl_malloc(&a, 40), *p = hl_malloc(&a, 40), *g1 = hl_malloc(&a, 40);
    assert_int_equal((char *)p - (char *)g0, 48);  /* 40 + 8 of head -> 48 */
    hl_free(&a, p);
    assert_ptr_equal(hl_malloc(&a, 40), p);
    /* best fit across the bins: 1200 beats 2000 and the top */
    void *l2000 = hl_malloc(&a, 2000), *g2 = hl_malloc(&a, 16);
    void *l1200 = hl_malloc(&a, 1200), *g3 = hl_malloc(&a, 16);
    hl_free(&a, l2000);
    hl_free(&a, l1200);
    assert_ptr_equal(hl_malloc(&a, 1100), l1200);
    /* the 2000 block splits for a smaller request; the rest is binned */
    assert_ptr_equal(hl_malloc(&a, 500), l2000);
    must_check(&a);
    /* huge: its own mapping, mremapped, unmapped by free */
    size_t held_before = stats_of(&a).held_bytes;
    unsigned char *h = hl_malloc(&a, 300000);
    assert_int_equal((uintptr_t)h % 4096, 32);
    memset(h, 3, 300000);
    size_t held = stats_of(&a).held_bytes;
    h = hl_realloc(&a, h, 3000000);
    for (int k = 0; k < 300000; k++)
        assert_int_equal(h[k], 3);
    assert_true(stats_of(&a).held_bytes > held);
    hl_free(&a, h);
    assert_int_equal(stats_of(&a).held_bytes, held_before);
    (void)g1; (void)g2; (void)g3;
    must_check(&a);
    close_alloc(&a);
    assert_int_equal(_hl_fit_mapped_bytes(), base);
}

/* Segments that become wholly free go back, except the top segment. */
static void test_segfit_segments_return(void **state)
{
    (void)state;
    hl_allocator_t a = open_alloc(impl_named("segregated-fit"));
    size_t held0 = stats_of(&a).held_bytes;
    void *b[100];
    for (int k = 0; k < 100; k++)
        b[k] = hl_malloc(&a, 100000);  /* 10 per segment */
    assert_true(stats_of(&a).held_bytes >= held0 + (10u << 20));
    must_check(&a);
    for (int k = 0; k < 100; k += 2)
        hl_free(&a, b[k]);
    must_check(&a);
    for (int k = 1; k < 100; k += 2)
        hl_free(&a, b[k]);
    assert_int_equal(stats_of(&a).held_bytes, held0 + ((size_t)1 << 20));
    must_check(&a);
    close_alloc(&a);
}

/* ---------------------------------------------------------------------- */
/* walk: the heap as spans (heaplab/heapmap.h; walk_test_util.h)          */

/* Every allocator here reports its state mapping as OVERHEAD too; a walk
 * must not change the bytes the three allocators map. */
static void walk_open(const hl_walk_test_t *t, hl_allocator_t *a) { *a = open_alloc(t->impl); }

static size_t walk_mapped(const hl_walk_test_t *t, const hl_allocator_t *a)
{
    return _hl_fit_mapped_bytes();
}

static void walk_check_block(const hl_walk_test_t *t, hl_allocator_t *a, void *p, size_t n)
{
    assert_non_null(p);
}

static hl_walk_test_t walk_test_of(const impl_t *im)
{
    return (hl_walk_test_t){im->name, im, walk_open, walk_mapped, walk_check_block,
                            HL_STAT_HELD | HL_STAT_LIVE_BLOCKS | HL_STAT_LIVE_BYTES};
}

static void test_walk_spans(void **state)
{
    (void)state;
    for (size_t i = 0; i < NIMPLS; i++) {
        size_t base = _hl_fit_mapped_bytes();
        hl_walk_test_t t = walk_test_of(&impls[i]);
        hl_walk_test_program(&t);
        assert_int_equal(_hl_fit_mapped_bytes(), base);
    }
}

/* A block header (segregated-simple: a page header) overwritten: the walk
 * cannot tile the heap and says so; restored, it walks again. */
static void test_walk_detects_corruption(void **state)
{
    (void)state;
    for (size_t i = 0; i < NIMPLS; i++) {
        hl_walk_test_t t = walk_test_of(&impls[i]);
        hl_allocator_t a = open_alloc(&impls[i]);
        void *left = hl_malloc(&a, 64), *p = hl_malloc(&a, 64), *right = hl_malloc(&a, 64);
        uint64_t *word = strcmp(impls[i].name, "segregated-simple") == 0
                             ? (uint64_t *)((uintptr_t)p & ~(uintptr_t)(16384 - 1))
                             : (uint64_t *)p - 1;
        hl_walk_test_poke(&t, &a, word);
        hl_free(&a, left);
        hl_free(&a, p);
        hl_free(&a, right);
        must_check(&a);
        close_alloc(&a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contracts),
        cmocka_unit_test(test_realloc_contents),
        cmocka_unit_test(test_random_programs),
        cmocka_unit_test(test_instances_are_independent),
        cmocka_unit_test(test_check_detects_corruption),
        cmocka_unit_test(test_misuse_is_fatal),
        cmocka_unit_test(test_seqfit_policies_pick),
        cmocka_unit_test(test_seqfit_best_exact_and_next_wraps),
        cmocka_unit_test(test_seqfit_coalesce_and_chunks),
        cmocka_unit_test(test_simple_classes),
        cmocka_unit_test(test_simple_pinned_pages),
        cmocka_unit_test(test_segfit_policy),
        cmocka_unit_test(test_segfit_segments_return),
        cmocka_unit_test(test_walk_spans),
        cmocka_unit_test(test_walk_detects_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
