/* fault_inject_test.c: the fault-injection wrappers fail exactly the calls
 * their mode selects, count exactly, and forward everything else.  The
 * pymalloc scenarios (starved raw fallback, starved arena source) are in
 * pymalloc_fault_test.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "heaplab/pymem.h"

/* hl_allocator_destroy lives with the registry; these tests do without. */
static void wrapper_destroy(hl_allocator_t *a) { a->ops->destroy(a->ctx); }

/* A counting allocator over the C library. */
typedef struct sys_s {
    size_t calls;       /* malloc + calloc + realloc that reached us */
    size_t frees;
    size_t live;
    int destroyed;
} sys_t;

static void *s_malloc(void *c, size_t n)
{ sys_t *s = c; s->calls++; void *p = malloc(n ? n : 1); s->live += p != NULL; return p; }
static void *s_calloc(void *c, size_t a, size_t b)
{ sys_t *s = c; s->calls++; if (b && a > SIZE_MAX / b) return NULL;
  void *p = calloc(a ? a : 1, b ? b : 1); s->live += p != NULL; return p; }
static void *s_realloc(void *c, void *p, size_t n)
{ sys_t *s = c; s->calls++; void *q = realloc(p, n ? n : 1); if (q && !p) s->live++; return q; }
static void s_free(void *c, void *p)
{ sys_t *s = c; if (p) { s->frees++; s->live--; } free(p); }
static size_t s_usable(void *c, const void *p) { (void)c; (void)p; return 4242; }
static void s_stats(void *c, hl_stats_t *o)
{ sys_t *s = c; *o = (hl_stats_t){.valid = HL_STAT_LIVE_BLOCKS, .live_blocks = s->live}; }
static bool s_check(void *c, FILE *r) { (void)c; (void)r; return false; }
static int s_print(void *c, FILE *o) { (void)c; (void)o; return 7; }
static void s_destroy(void *c) { ((sys_t *)c)->destroyed++; }

static const hl_allocator_ops_t sys_ops = {
    s_malloc, s_calloc, s_realloc, s_free, s_usable, s_stats, s_check, s_print, s_destroy,
};

/* Call k (1-based) of a fixed sequence mixing the three counted calls,
 * realloc(NULL, n) among them. */
static void *counted_call(const hl_allocator_t *a, size_t k)
{
    switch (k % 3) {
    case 0: return hl_malloc(a, 16 + k);
    case 1: return hl_calloc(a, 2, 8 + k);
    default: return hl_realloc(a, NULL, 32 + k);
    }
}

static void run_sequence(hl_fault_mode_t mode, size_t n, size_t total, bool expect_fail[])
{
    sys_t s = {0};
    hl_allocator_t inner = {&sys_ops, &s, "sys"}, w;
    assert_int_equal(hl_fault_inject_wrap(&inner, mode, n, &w), 0);
    void *blocks[64] = {0};
    assert_true(total <= 64);
    size_t failed = 0;
    for (size_t k = 1; k <= total; k++) {
        blocks[k - 1] = counted_call(&w, k);
        bool did_fail = blocks[k - 1] == NULL;
        if (did_fail != expect_fail[k])
            fail_msg("mode %d n %zu: call %zu %s", mode, n, k,
                     did_fail ? "failed unexpectedly" : "should have failed");
        failed += did_fail;
        assert_int_equal(hl_fault_inject_calls(&w), k);
    }
    assert_int_equal(hl_fault_inject_failures(&w), failed);
    assert_int_equal(s.calls, total - failed);   /* a failed call never reaches inner */
    for (size_t k = 0; k < total; k++)
        hl_free(&w, blocks[k]);                  /* free: uncounted */
    assert_int_equal(hl_fault_inject_calls(&w), total);
    assert_int_equal(s.live, 0);
    wrapper_destroy(&w);
    assert_int_equal(s.destroyed, 0);            /* inner is not the wrapper's */
}

static void test_fail_nth_only(void **state)
{
    (void)state;
    for (size_t n = 1; n <= 10; n++) {
        bool want[11] = {0};
        want[n] = true;
        run_sequence(HL_FAULT_NTH, n, 10, want);
    }
}

static void test_fail_from_nth(void **state)
{
    (void)state;
    for (size_t n = 1; n <= 10; n++) {
        bool want[11] = {0};
        for (size_t k = n; k <= 10; k++) want[k] = true;
        run_sequence(HL_FAULT_FROM_NTH, n, 10, want);
    }
}

static void test_zero_never_fails(void **state)
{
    (void)state;
    bool want[21] = {0};
    run_sequence(HL_FAULT_NTH, 0, 20, want);
    run_sequence(HL_FAULT_FROM_NTH, 0, 20, want);
}

static void test_realloc_fails_whatever_the_size(void **state)
{
    (void)state;
    sys_t s = {0};
    hl_allocator_t inner = {&sys_ops, &s, "sys"}, w;
    assert_int_equal(hl_fault_inject_wrap(&inner, HL_FAULT_NTH, 0, &w), 0);
    char *p = hl_malloc(&w, 100);                 /* call 1 */
    memset(p, 'x', 100);
    hl_fault_inject_arm(&w, HL_FAULT_FROM_NTH, 1);
    assert_int_equal(hl_fault_inject_calls(&w), 0);
    assert_null(hl_realloc(&w, p, 1000));         /* growing */
    assert_null(hl_realloc(&w, p, 10));           /* shrinking */
    assert_null(hl_realloc(&w, p, 100));          /* same size */
    assert_null(hl_malloc(&w, 0));
    assert_null(hl_calloc(&w, 1, 1));
    assert_int_equal(hl_fault_inject_calls(&w), 5);
    assert_int_equal(hl_fault_inject_failures(&w), 5);
    for (int i = 0; i < 100; i++) assert_int_equal(p[i], 'x');   /* block intact */
    hl_fault_inject_arm(&w, HL_FAULT_NTH, 2);
    p = hl_realloc(&w, p, 200);                   /* call 1: passes */
    assert_non_null(p);
    assert_int_equal(p[99], 'x');
    assert_null(hl_realloc(&w, p, 300));          /* call 2: fails */
    char *q = hl_realloc(&w, p, 300);             /* call 3: passes */
    assert_non_null(q);
    hl_free(&w, q);
    wrapper_destroy(&w);
}

static void test_forwards(void **state)
{
    (void)state;
    sys_t s = {0};
    hl_allocator_t inner = {&sys_ops, &s, "sys"}, w;
    assert_int_equal(hl_fault_inject_wrap(&inner, HL_FAULT_FROM_NTH, 1, &w), 0);
    assert_string_equal(w.name, "sys");
    assert_int_equal(hl_usable_size(&w, &s), 4242);
    assert_false(hl_check(&w, NULL));
    assert_int_equal(hl_print_stats(&w, NULL), 7);
    s.live = 3;
    hl_stats_t st;
    hl_stats(&w, &st);
    assert_int_equal(st.valid, HL_STAT_LIVE_BLOCKS);
    assert_int_equal(st.live_blocks, 3);
    s.live = 0;
    assert_int_equal(hl_fault_inject_calls(&w), 0);
    wrapper_destroy(&w);
    assert_int_equal(s.destroyed, 0);
}

/* Stacked with the debug hooks, as CPython's set_nomemory sits on top of
 * PYTHONMALLOC=debug: a failure below the hooks returns NULL through them. */
static void test_under_debug_hooks(void **state)
{
    (void)state;
    sys_t s = {0};
    hl_allocator_t inner = {&sys_ops, &s, "sys"}, w, dbg;
    assert_int_equal(hl_fault_inject_wrap(&inner, HL_FAULT_NTH, 2, &w), 0);
    assert_int_equal(hl_debug_hooks_wrap(&w, 'r', &dbg), 0);
    unsigned char *p = hl_malloc(&dbg, 10);
    assert_non_null(p);
    assert_null(hl_realloc(&dbg, p, 20));    /* call 2 fails: p restored */
    assert_int_equal(p[-(int)sizeof(size_t)], 'r');
    assert_int_equal(p[10], 0xFD);
    assert_int_equal(p[0], 0xCD);
    hl_free(&dbg, p);
    wrapper_destroy(&dbg);
    wrapper_destroy(&w);
}

static void test_arena_source(void **state)
{
    (void)state;
    hl_arena_source_t src, w;
    assert_int_equal(hl_arena_source_mmap(&src), 0);
    assert_int_equal(hl_fault_inject_wrap_source(&src, HL_FAULT_NTH, 3, &w), 0);
    const size_t A = 1 << 20;
    void *a1 = w.alloc(w.ctx, A), *a2 = w.alloc(w.ctx, A);
    assert_non_null(a1);
    assert_non_null(a2);
    assert_null(w.alloc(w.ctx, A));               /* the 3rd */
    void *a4 = w.alloc(w.ctx, A);
    assert_non_null(a4);
    assert_int_equal(hl_fault_inject_source_calls(&w), 4);
    assert_int_equal(hl_fault_inject_source_failures(&w), 1);
    size_t peak = 0;
    assert_int_equal(w.held(w.ctx, &peak), 3 * A);
    assert_int_equal(peak, 3 * A);
    w.free(w.ctx, a1, A);
    w.free(w.ctx, a2, A);
    w.free(w.ctx, a4, A);
    assert_int_equal(w.held(w.ctx, NULL), 0);

    hl_fault_inject_source_arm(&w, HL_FAULT_FROM_NTH, 2);
    void *b1 = w.alloc(w.ctx, A);
    assert_non_null(b1);
    for (int i = 0; i < 5; i++)
        assert_null(w.alloc(w.ctx, A));
    assert_int_equal(hl_fault_inject_source_calls(&w), 6);
    assert_int_equal(hl_fault_inject_source_failures(&w), 5);
    w.free(w.ctx, b1, A);
    hl_arena_source_destroy(&w);                  /* the wrapper only */
    assert_int_equal(src.held(src.ctx, NULL), 0);
    hl_arena_source_destroy(&src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fail_nth_only),
        cmocka_unit_test(test_fail_from_nth),
        cmocka_unit_test(test_zero_never_fails),
        cmocka_unit_test(test_realloc_fails_whatever_the_size),
        cmocka_unit_test(test_forwards),
        cmocka_unit_test(test_under_debug_hooks),
        cmocka_unit_test(test_arena_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
