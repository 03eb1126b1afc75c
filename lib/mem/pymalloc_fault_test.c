/* pymalloc_fault_test.c: pymalloc's out-of-memory paths, driven by the
 * fault-injection wrappers, against what CPython 3.11's obmalloc does:
 *
 *   raw allocator failing   requests pymalloc does not serve (0 bytes,
 *                           over 512) return NULL; small ones are still
 *                           served from pools already carved; a realloc
 *                           to over 512 fails and leaves the block alone.
 *   arena source failing    new_arena() returns NULL, pymalloc_alloc fails
 *                           and _PyObject_Malloc falls back to
 *                           PyMem_RawMalloc: the small request is served by
 *                           raw.  Only with raw failing too is it NULL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "heaplab/pymem.h"
#include "hl_registry.h"

typedef struct fixture_s {
    hl_allocator_t glibc, raw;     /* raw: fault wrapper over glibc */
    hl_arena_source_t mmap, src;   /* src: fault wrapper over mmap */
    hl_allocator_t pm;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    char err[256];
    assert_int_equal(hl_allocator_create("glibc", NULL, &f->glibc, err, sizeof err), 0);
    assert_int_equal(hl_fault_inject_wrap(&f->glibc, HL_FAULT_NTH, 0, &f->raw), 0);
    assert_int_equal(hl_arena_source_mmap(&f->mmap), 0);
    assert_int_equal(hl_fault_inject_wrap_source(&f->mmap, HL_FAULT_NTH, 0, &f->src), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    if (f->pm.ops)
        hl_allocator_destroy(&f->pm);
    hl_arena_source_destroy(&f->src);
    hl_arena_source_destroy(&f->mmap);
    hl_allocator_destroy(&f->raw);
    hl_allocator_destroy(&f->glibc);
    free(f);
    return 0;
}

/* Through the registry, as every later layer makes pymalloc. */
static void test_raw_failing_via_registry(void **state)
{
    fixture_t *f = *state;
    char err[256];
    hl_alloc_options_t opt = {HL_ARENAS_MMAP, &f->raw};
    assert_int_equal(hl_allocator_create("pymalloc", &opt, &f->pm, err, sizeof err), 0);
    hl_allocator_t *pm = &f->pm;

    char *warm = hl_malloc(pm, 16);          /* arena, arena table, map nodes */
    assert_non_null(warm);
    memset(warm, 'w', 16);
    hl_fault_inject_arm(&f->raw, HL_FAULT_FROM_NTH, 1);

    assert_null(hl_malloc(pm, 513));
    assert_null(hl_malloc(pm, 100000));
    assert_null(hl_calloc(pm, 1, 600));
    assert_null(hl_malloc(pm, 0));           /* 0 bytes go to raw, as in CPython */
    assert_null(hl_realloc(pm, warm, 1000)); /* to raw: fails, block intact */
    for (int i = 0; i < 16; i++) assert_int_equal(warm[i], 'w');
    size_t failed = hl_fault_inject_failures(&f->raw);
    assert_int_equal(failed, 5);

    void *small[3] = {hl_malloc(pm, 1), hl_malloc(pm, 16), hl_calloc(pm, 64, 8)};
    for (int i = 0; i < 3; i++) assert_non_null(small[i]);
    assert_int_equal(hl_fault_inject_failures(&f->raw), failed);   /* raw untouched */
    char *w2 = hl_realloc(pm, warm, 500);    /* pymalloc to pymalloc */
    assert_non_null(w2);
    for (int i = 0; i < 16; i++) assert_int_equal(w2[i], 'w');

    /* fail only the 2nd raw request from now */
    hl_fault_inject_arm(&f->raw, HL_FAULT_NTH, 2);
    void *b1 = hl_malloc(pm, 600);
    void *b2 = hl_malloc(pm, 600);
    void *b3 = hl_malloc(pm, 600);
    assert_non_null(b1);
    assert_null(b2);
    assert_non_null(b3);
    assert_int_equal(hl_fault_inject_calls(&f->raw), 3);

    hl_free(pm, b1);
    hl_free(pm, b3);
    hl_free(pm, w2);
    for (int i = 0; i < 3; i++) hl_free(pm, small[i]);
    assert_true(hl_check(pm, NULL));
}

/* The arena source failing: the small request falls back to raw. */
static void test_source_failing_falls_back_to_raw(void **state)
{
    fixture_t *f = *state;
    char err[256];
    hl_fault_inject_source_arm(&f->src, HL_FAULT_FROM_NTH, 1);
    assert_int_equal(hl_pymalloc_create_with_source(&f->src, &f->raw, &f->pm, err, sizeof err), 0);
    hl_allocator_t *pm = &f->pm;

    size_t r0 = hl_fault_inject_calls(&f->raw);
    void *a = hl_malloc(pm, 16);
    assert_non_null(a);                                   /* from raw */
    assert_int_equal(hl_fault_inject_source_calls(&f->src), 1);
    assert_int_equal(hl_fault_inject_source_failures(&f->src), 1);
    size_t r1 = hl_fault_inject_calls(&f->raw);
    assert_true(r1 > r0);     /* the fallback malloc (and the arena table) */
    void *b = hl_malloc(pm, 16);
    assert_non_null(b);
    assert_int_equal(hl_fault_inject_source_calls(&f->src), 2);   /* tried again */
    assert_int_equal(hl_fault_inject_calls(&f->raw), r1 + 1);     /* one raw malloc */
    hl_stats_t st;
    hl_stats(pm, &st);
    assert_true(st.valid & HL_STAT_LIVE_BLOCKS);
    assert_int_equal(st.live_blocks, 2);

    /* raw failing too: NULL, as PyObject_Malloc would */
    hl_fault_inject_arm(&f->raw, HL_FAULT_FROM_NTH, 1);
    assert_null(hl_malloc(pm, 16));
    assert_null(hl_calloc(pm, 2, 8));
    assert_int_equal(hl_fault_inject_source_failures(&f->src), 4);

    /* both healthy again: the next small request gets an arena */
    hl_fault_inject_arm(&f->raw, HL_FAULT_NTH, 0);
    hl_fault_inject_source_arm(&f->src, HL_FAULT_NTH, 0);
    void *c = hl_malloc(pm, 16);
    assert_non_null(c);
    assert_int_equal(hl_fault_inject_source_calls(&f->src), 1);
    size_t peak;
    assert_true(f->src.held(f->src.ctx, &peak) > 0);

    hl_free(pm, a);      /* raw blocks go back to raw */
    hl_free(pm, b);
    hl_free(pm, c);
    assert_true(hl_check(pm, NULL));
}

/* Only the second arena fails: fill the first, watch the one request that
 * needed the second go to raw, and the next one get an arena after all. */
static void test_second_arena_fails(void **state)
{
    fixture_t *f = *state;
    char err[256];
    hl_fault_inject_source_arm(&f->src, HL_FAULT_NTH, 2);
    assert_int_equal(hl_pymalloc_create_with_source(&f->src, &f->raw, &f->pm, err, sizeof err), 0);
    hl_allocator_t *pm = &f->pm;

    enum { MAX = 8192 };
    void **blocks = calloc(MAX, sizeof *blocks);
    size_t n = 0;
    while (n < MAX && hl_fault_inject_source_calls(&f->src) < 2) {
        size_t before = hl_fault_inject_calls(&f->raw);
        blocks[n] = hl_malloc(pm, 512);
        assert_non_null(blocks[n]);
        n++;
        if (hl_fault_inject_source_calls(&f->src) == 2)
            assert_true(hl_fault_inject_calls(&f->raw) > before);   /* served by raw */
    }
    assert_true(n > 1 && n < MAX);
    assert_int_equal(hl_fault_inject_source_failures(&f->src), 1);
    blocks[n++] = hl_malloc(pm, 512);                    /* new_arena again: succeeds */
    assert_non_null(blocks[n - 1]);
    assert_int_equal(hl_fault_inject_source_calls(&f->src), 3);
    assert_int_equal(hl_fault_inject_source_failures(&f->src), 1);

    for (size_t i = 0; i < n; i++)
        hl_free(pm, blocks[i]);
    free(blocks);
    assert_true(hl_check(pm, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_raw_failing_via_registry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_source_failing_falls_back_to_raw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_arena_fails, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
