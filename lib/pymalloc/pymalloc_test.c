/* pymalloc_test.c: behaviour of heaplab's pymalloc in both geometries.
 *
 * Every test runs on `pymalloc` (3.10+ geometry) and `pymalloc-classic`,
 * each with its own constants, through the public allocator interface plus
 * the caller-owned arena source of hl_pymalloc*_create_with_source.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heaplab/allocator.h"
#include "heaplab/arena_source.h"
#include "hl_registry.h"

typedef struct geometry_s {
    const char *name;
    int (*create_with_source)(const hl_arena_source_t *, const hl_allocator_t *, hl_allocator_t *,
                              char *, size_t);
    size_t alignment, pool_size, arena_size, nclasses;
} geometry_t;

static const geometry_t geometries[] = {
    {"pymalloc", hl_pymalloc_create_with_source, 16, 16384, 1 << 20, 32},
    {"pymalloc-classic", hl_pymalloc_classic_create_with_source, 8, 4096, 256 << 10, 64},
};
#define NGEOM (sizeof geometries / sizeof geometries[0])

/* A heap over a fixed arena source the test can inspect. */
typedef struct heap_s {
    const geometry_t *g;
    hl_arena_source_t src;
    hl_allocator_t a;
} heap_t;

static void heap_open(heap_t *h, const geometry_t *g, size_t misalign)
{
    char err[200];
    h->g = g;
    assert_int_equal(hl_arena_source_fixed(misalign, &h->src), 0);
    assert_int_equal(g->create_with_source(&h->src, NULL, &h->a, err, sizeof err), 0);
}

static void heap_close(heap_t *h)
{
    hl_allocator_destroy(&h->a);
    size_t peak;
    assert_int_equal(h->src.held(h->src.ctx, &peak), 0); /* every arena returned */
    hl_arena_source_destroy(&h->src);
}

static size_t arenas_held(heap_t *h)
{
    return h->src.held(h->src.ctx, NULL) / h->g->arena_size;
}

static uintptr_t pool_of(const heap_t *h, const void *p)
{
    return (uintptr_t)p & ~(uintptr_t)(h->g->pool_size - 1);
}

static void test_size_classes(void **s)
{
    (void)s;
    for (size_t gi = 0; gi < NGEOM; gi++) {
        heap_t h;
        heap_open(&h, &geometries[gi], 4096);
        size_t align = h.g->alignment;
        for (size_t n = 1; n <= 512; n++) {
            void *p = hl_malloc(&h.a, n);
            assert_non_null(p);
            assert_int_equal((uintptr_t)p % align, 0);
            assert_int_equal(hl_usable_size(&h.a, p), (n + align - 1) / align * align);
            hl_free(&h.a, p);
        }
        assert_true(hl_check(&h.a, stderr));
        heap_close(&h);
    }
}

/* The first block of a new pool sits right after the 48-byte header and the
 * next ones follow it: memory is carved in address order. */
static void test_pool_layout(void **s)
{
    (void)s;
    for (size_t gi = 0; gi < NGEOM; gi++) {
        heap_t h;
        heap_open(&h, &geometries[gi], 0);
        void *p1 = hl_malloc(&h.a, 40);
        void *p2 = hl_malloc(&h.a, 40);
        void *p3 = hl_malloc(&h.a, 40);
        size_t size = hl_usable_size(&h.a, p1);
        assert_int_equal((uintptr_t)p1 - pool_of(&h, p1), 48);
        assert_int_equal((uintptr_t)p2 - (uintptr_t)p1, size);
        assert_int_equal((uintptr_t)p3 - (uintptr_t)p2, size);
        /* a freed block is reused first (LIFO free list) */
        hl_free(&h.a, p2);
        assert_ptr_equal(hl_malloc(&h.a, 40), p2);
        /* another size class gets another pool */
        void *q = hl_malloc(&h.a, 200);
        assert_true(pool_of(&h, q) != pool_of(&h, p1));
        hl_free(&h.a, p1); hl_free(&h.a, p2); hl_free(&h.a, p3); hl_free(&h.a, q);
        heap_close(&h);
    }
}

/* Requests of 0 or more than 512 bytes go to the raw allocator. */
static void test_raw_requests(void **s)
{
    (void)s;
    for (size_t gi = 0; gi < NGEOM; gi++) {
        heap_t h;
        heap_open(&h, &geometries[gi], 4096);
        void *small = hl_malloc(&h.a, 512);
        void *zero = hl_malloc(&h.a, 0);
        void *big = hl_malloc(&h.a, 513);
        assert_non_null(zero);
        assert_non_null(big);
        assert_int_equal(hl_usable_size(&h.a, small), 512);
        hl_stats_t st;
        hl_stats(&h.a, &st);
        assert_true(st.valid & HL_STAT_LIVE_BLOCKS);
        assert_int_equal(st.live_blocks, 3);
        assert_true(hl_usable_size(&h.a, big) >= 513);
        /* the raw blocks are not in an arena: freeing them must not touch pools */
        hl_free(&h.a, zero);
        hl_free(&h.a, big);
        hl_stats(&h.a, &st);
        assert_int_equal(st.live_blocks, 1);
        hl_free(&h.a, small);
        assert_true(hl_check(&h.a, stderr));
        heap_close(&h);
    }
}

/* realloc keeps the block when shrinking by less than 25%, else moves it. */
static void test_realloc_three_quarters_rule(void **s)
{
    (void)s;
    for (size_t gi = 0; gi < NGEOM; gi++) {
        heap_t h;
        heap_open(&h, &geometries[gi], 4096);
        void *p = hl_malloc(&h.a, 128);
        memset(p, 0x5a, 128);
        size_t size = hl_usable_size(&h.a, p); /* 128 in both geometries */
        assert_int_equal(size, 128);
        assert_ptr_equal(hl_realloc(&h.a, p, 128), p);
        assert_ptr_equal(hl_realloc(&h.a, p, 97), p);   /* 4*97 = 388 > 384 */
        void *q = hl_realloc(&h.a, p, 96);              /* 4*96 = 384: moves */
        assert_ptr_not_equal(q, p);
        for (int i = 0; i < 96; i++)
            assert_int_equal(((unsigned char *)q)[i], 0x5a);
        void *r = hl_realloc(&h.a, q, 300);             /* grows: moves */
        assert_ptr_not_equal(r, q);
        for (int i = 0; i < 96; i++)
            assert_int_equal(((unsigned char *)r)[i], 0x5a);
        void *big = hl_realloc(&h.a, r, 5000);          /* to the raw allocator */
        assert_non_null(big);
        for (int i = 0; i < 96; i++)
            assert_int_equal(((unsigned char *)big)[i], 0x5a);
        void *z = hl_realloc(&h.a, big, 0);             /* not a free */
        assert_non_null(z);
        hl_free(&h.a, z);
        assert_null(hl_realloc(&h.a, NULL, (size_t)-1));
        hl_stats_t st;
        hl_stats(&h.a, &st);
        assert_int_equal(st.live_blocks, 0);
        heap_close(&h);
    }
}

static void test_calloc_zeroes(void **s)
{
    (void)s;
    for (size_t gi = 0; gi < NGEOM; gi++) {
        heap_t h;
        heap_open(&h, &geometries[gi], 4096);
        unsigned char *p = hl_malloc(&h.a, 64);
        memset(p, 0xff, 64);
        hl_free(&h.a, p);
        unsigned char *q = hl_calloc(&h.a, 8, 8);  /* reuses p's block, dirty */
        assert_ptr_equal(q, p);
        for (int i = 0; i < 64; i++)
            assert_int_equal(q[i], 0);
        assert_null(hl_calloc(&h.a, SIZE_MAX / 2, 4));   /* overflow */
        assert_null(hl_malloc(&h.a, (size_t)SSIZE_MAX + 1));
        hl_free(&h.a, q);
        heap_close(&h);
    }
}

/* A pool that was full is front-linked when a block comes back, so the next
 * allocation of its class comes from it (LRU reuse). */
static void test_full_pool_is_front_linked(void **s)
{
    (void)s;
    for (size_t gi = 0; gi < NGEOM; gi++) {
        heap_t h;
        heap_open(&h, &geometries[gi], 0);
        size_t nblocks = (h.g->pool_size - 48) / 256;
        void **v = calloc(nblocks + 1, sizeof *v);
        for (size_t i = 0; i < nblocks; i++)
            v[i] = hl_malloc(&h.a, 256);
        assert_int_equal(pool_of(&h, v[0]), pool_of(&h, v[nblocks - 1])); /* one full pool */
        v[nblocks] = hl_malloc(&h.a, 256);                                 /* a second pool */
        assert_true(pool_of(&h, v[nblocks]) != pool_of(&h, v[0]));
        hl_free(&h.a, v[3]);
        assert_ptr_equal(hl_malloc(&h.a, 256), v[3]);
        for (size_t i = 0; i <= nblocks; i++)
            hl_free(&h.a, v[i]);
        assert_true(hl_check(&h.a, stderr));
        free(v);
        heap_close(&h);
    }
}

/* Empty arenas go back to the source, except the last usable one (3.9+). */
static void test_arenas_return_but_the_last_stays(void **s)
{
    (void)s;
    for (size_t gi = 0; gi < NGEOM; gi++) {
        heap_t h;
        heap_open(&h, &geometries[gi], 4096);
        size_t n = 3 * h.g->arena_size / 512;  /* fills about three arenas */
        void **v = calloc(n, sizeof *v);
        for (size_t i = 0; i < n; i++)
            v[i] = hl_malloc(&h.a, 512);
        assert_true(arenas_held(&h) >= 3);
        assert_true(hl_check(&h.a, stderr));
        for (size_t i = 0; i < n; i++)
            hl_free(&h.a, v[i]);
        assert_int_equal(arenas_held(&h), 1);
        assert_true(hl_check(&h.a, stderr));
        /* a loop of alloc/free on an empty heap does not map arenas again */
        for (int k = 0; k < 1000; k++)
            hl_free(&h.a, hl_malloc(&h.a, 100));
        assert_int_equal(arenas_held(&h), 1);
        free(v);
        heap_close(&h);
    }
}

/* Unaligned arenas lose their first partial pool. */
static void test_unaligned_arena_loses_a_pool(void **s)
{
    (void)s;
    heap_t h;
    heap_open(&h, &geometries[0], 4096);  /* 16 KiB pools, arenas at 4 KiB offsets */
    void *p = hl_malloc(&h.a, 16);
    char *text = NULL;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    assert_int_equal(hl_print_stats(&h.a, f), 1);
    fclose(f);
    assert_non_null(strstr(text, "# bytes lost to arena alignment    =               16,384\n"));
    assert_non_null(strstr(text, "62 unused pools * 16384 bytes      =            1,015,808\n"));
    free(text);
    hl_free(&h.a, p);
    heap_close(&h);
}

/* An arena source that fails: small requests fall back to the raw allocator,
 * as _PyObject_Malloc does when pymalloc_alloc returns NULL. */
static void *failing_alloc(void *ctx, size_t size) { (void)ctx; (void)size; return NULL; }
static void failing_free(void *ctx, void *p, size_t size) { (void)ctx; (void)p; (void)size; }
static size_t failing_held(void *ctx, size_t *peak) { (void)ctx; if (peak) *peak = 0; return 0; }

static void test_arena_failure_falls_back_to_raw(void **s)
{
    (void)s;
    for (size_t gi = 0; gi < NGEOM; gi++) {
        hl_arena_source_t src = {NULL, failing_alloc, failing_free, failing_held, NULL};
        hl_allocator_t a;
        char err[200];
        assert_int_equal(geometries[gi].create_with_source(&src, NULL, &a, err, sizeof err), 0);
        void *p = hl_malloc(&a, 32);
        assert_non_null(p);
        hl_stats_t st;
        hl_stats(&a, &st);
        assert_int_equal(st.live_blocks, 1);
        assert_true(hl_check(&a, stderr));
        hl_free(&a, p);
        hl_allocator_destroy(&a);
    }
}

/* The invariant checks can fail: corrupt a pool header and check() says so. */
static void test_check_detects_corruption(void **s)
{
    (void)s;
    for (size_t gi = 0; gi < NGEOM; gi++) {
        heap_t h;
        heap_open(&h, &geometries[gi], 4096);
        void *p = hl_malloc(&h.a, 24);
        void *q = hl_malloc(&h.a, 24);
        unsigned *count = (unsigned *)pool_of(&h, p); /* ref.count, first field */
        assert_int_equal(*count, 2);
        *count = 5;
        char *text = NULL;
        size_t len;
        FILE *f = open_memstream(&text, &len);
        assert_false(hl_check(&h.a, f));
        fclose(f);
        assert_non_null(strstr(text, "invariant"));
        free(text);
        *count = 2;
        assert_true(hl_check(&h.a, stderr));
        hl_free(&h.a, p);
        hl_free(&h.a, q);
        heap_close(&h);
    }
}

/* Registry instances are independent: two heaps never share a block. */
static void test_instances_are_independent(void **s)
{
    (void)s;
    const char *names[] = {"pymalloc", "pymalloc-classic"};
    for (size_t i = 0; i < 2; i++) {
        hl_allocator_t a, b;
        char err[200];
        assert_int_equal(hl_allocator_create(names[i], NULL, &a, err, sizeof err), 0);
        assert_int_equal(hl_allocator_create(names[i], NULL, &b, err, sizeof err), 0);
        void *pa = hl_malloc(&a, 48), *pb = hl_malloc(&b, 48);
        assert_true((uintptr_t)pa / 4096 != (uintptr_t)pb / 4096);
        hl_free(&a, pa);
        hl_free(&b, pb);
        hl_allocator_destroy(&a);
        hl_allocator_destroy(&b);
    }
}

/* Under ASan, free blocks and never-carved pool memory are poisoned, so a
 * use-after-free inside an arena is reported. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
#include <sanitizer/asan_interface.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

static void test_asan_poisoning(void **s)
{
    (void)s;
#ifndef TEST_ASAN
    skip();
#else
    for (size_t gi = 0; gi < NGEOM; gi++) {
        heap_t h;
        heap_open(&h, &geometries[gi], 4096);
        char *p = hl_malloc(&h.a, 64);
        char *q = hl_malloc(&h.a, 64);
        assert_false(__asan_region_is_poisoned(p, 64));
        assert_true(__asan_address_is_poisoned(q + 64 * 2));   /* virgin block */
        hl_free(&h.a, p);
        assert_true(__asan_address_is_poisoned(p));
        assert_true(__asan_address_is_poisoned(p + 63));
        assert_ptr_equal(hl_malloc(&h.a, 64), p);
        assert_false(__asan_region_is_poisoned(p, 64));
        hl_free(&h.a, p);
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            int fd = open("/dev/null", 1);
            dup2(fd, 2);
            p[10] = 1;          /* use after free: ASan must stop us here */
            _exit(0);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        hl_free(&h.a, q);
        heap_close(&h);
    }
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_classes),
        cmocka_unit_test(test_pool_layout),
        cmocka_unit_test(test_raw_requests),
        cmocka_unit_test(test_realloc_three_quarters_rule),
        cmocka_unit_test(test_calloc_zeroes),
        cmocka_unit_test(test_full_pool_is_front_linked),
        cmocka_unit_test(test_arenas_return_but_the_last_stays),
        cmocka_unit_test(test_unaligned_arena_loses_a_pool),
        cmocka_unit_test(test_arena_failure_falls_back_to_raw),
        cmocka_unit_test(test_check_detects_corruption),
        cmocka_unit_test(test_instances_are_independent),
        cmocka_unit_test(test_asan_poisoning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
