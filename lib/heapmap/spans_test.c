/* spans_test.c: the spans of a walk (spans.h) on walks made up here.
 *
 * A fake allocator whose walk reports a chosen list of spans, shuffled:
 * the set comes back sorted and whole, a fixed one overflows past its
 * array and a mapped one grows; each invariant of hl_spans_are_valid is
 * broken once; the lookups are checked at every edge of a span; and the
 * heapsort sorts records of any size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "spans.h"

/* ---- a fake allocator: its walk reports fake[0 .. nfake), shuffled ---------- */

#define MAX_FAKE 200000
static hl_span_t fake[MAX_FAKE];
static size_t nfake;
static int fake_rc;

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int fake_walk(void *ctx, hl_span_fn fn, void *user)
{
    (void)ctx;
    static size_t order[MAX_FAKE];
    for (size_t i = 0; i < nfake; i++)
        order[i] = i;
    for (size_t i = nfake; i > 1; i--) {
        size_t j = rnd() % i, t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    for (size_t i = 0; i < nfake; i++)
        fn(user, fake[order[i]].addr, fake[order[i]].size, fake[order[i]].kind);
    return fake_rc;
}

static const hl_allocator_ops_t fake_ops = {.walk = fake_walk};
static const hl_allocator_ops_t no_walk_ops = {.walk = NULL};
static const hl_allocator_t fake_alloc = {&fake_ops, NULL, "fake"};

/* n spans tiling [base, ...): sizes 16 .. 16 * 8, kinds in turn. */
static void make_tiling(size_t n, uintptr_t base)
{
    nfake = n;
    fake_rc = 0;
    for (size_t i = 0; i < n; i++) {
        fake[i] = (hl_span_t){base, 16 * (1 + i % 8), (hl_span_kind_t)(i % HL_SPAN_KINDS)};
        base += fake[i].size;
    }
}

static void assert_sorted_copy(const hl_spans_t *s)
{
    assert_int_equal(s->n, nfake);
    for (size_t i = 0; i < s->n; i++) {
        assert_int_equal(s->v[i].addr, fake[i].addr);
        assert_int_equal(s->v[i].size, fake[i].size);
        assert_int_equal(s->v[i].kind, fake[i].kind);
    }
}

/* ---- the walk ----------------------------------------------------------------- */

static void test_walk_sorts(void **state)
{
    (void)state;
    static hl_span_t buf[1000];
    hl_spans_t s = HL_SPANS_FIXED(buf);
    assert_int_equal(s.cap, 1000);
    rng_state = 1;
    make_tiling(1000, 0x10000);
    assert_int_equal(hl_spans_walk(&fake_alloc, &s), 0);
    assert_false(s.overflow);
    assert_sorted_copy(&s);
    assert_true(hl_spans_are_valid(&s, NULL));

    /* walked again: emptied first */
    make_tiling(10, 0x20000);
    assert_int_equal(hl_spans_walk(&fake_alloc, &s), 0);
    assert_sorted_copy(&s);

    /* the walk's result comes back, the spans so far sorted */
    fake_rc = -1;
    assert_int_equal(hl_spans_walk(&fake_alloc, &s), -1);
    assert_sorted_copy(&s);

    /* no walk: HL_NO_VIEW and nothing */
    hl_allocator_t none = {&no_walk_ops, NULL, "none"};
    assert_int_equal(hl_spans_walk(&none, &s), HL_NO_VIEW);
    assert_int_equal(s.n, 0);
    hl_spans_release(&s);
    assert_ptr_equal(s.v, buf);
}

static void test_fixed_overflows(void **state)
{
    (void)state;
    static hl_span_t buf[100];
    hl_spans_t s = HL_SPANS_FIXED(buf);
    rng_state = 2;
    make_tiling(101, 0x10000);
    assert_int_equal(hl_spans_walk(&fake_alloc, &s), 0);
    assert_true(s.overflow);
    assert_int_equal(s.n, 100);
    make_tiling(100, 0x10000);
    assert_int_equal(hl_spans_walk(&fake_alloc, &s), 0);
    assert_false(s.overflow);
    assert_sorted_copy(&s);
}

static void test_mapped_grows(void **state)
{
    (void)state;
    hl_spans_t s = HL_SPANS_MAPPED;
    rng_state = 3;
    make_tiling(MAX_FAKE, 0x100000);
    assert_int_equal(hl_spans_walk(&fake_alloc, &s), 0);
    assert_false(s.overflow);
    assert_true(s.cap >= MAX_FAKE);
    assert_sorted_copy(&s);
    assert_true(hl_spans_are_valid(&s, NULL));
    hl_spans_release(&s);
    assert_null(s.v);
    assert_int_equal(s.n, 0);
    /* usable again after release */
    make_tiling(5, 0x100000);
    assert_int_equal(hl_spans_walk(&fake_alloc, &s), 0);
    assert_sorted_copy(&s);
    hl_spans_release(&s);
}

/* ---- the invariants ------------------------------------------------------------- */

/* hl_spans_are_valid on fake[] as it is, its report in buf. */
static bool valid(char *buf, size_t len)
{
    static hl_span_t v[16];
    hl_spans_t s = HL_SPANS_FIXED(v);
    assert_int_equal(hl_spans_walk(&fake_alloc, &s), 0);
    memset(buf, 0, len);
    FILE *f = fmemopen(buf, len - 1, "w");
    assert_non_null(f);
    bool ok = hl_spans_are_valid(&s, f);
    fclose(f);
    return ok;
}

static void test_invariants(void **state)
{
    (void)state;
    char report[256];
    rng_state = 4;
    make_tiling(8, 0x1000);
    assert_true(valid(report, sizeof report));
    assert_string_equal(report, "");

    fake[3].size = 0;
    assert_false(valid(report, sizeof report));
    assert_non_null(strstr(report, "span 3 at 0x"));

    make_tiling(8, 0x1000);
    fake[5].kind = HL_SPAN_KINDS;
    assert_false(valid(report, sizeof report));
    assert_non_null(strstr(report, "span 5 at 0x"));

    make_tiling(8, 0x1000);
    fake[6].size++;   /* one byte into fake[7] */
    assert_false(valid(report, sizeof report));
    assert_non_null(strstr(report, "overlap"));
    static hl_span_t v[16];
    hl_spans_t s = HL_SPANS_FIXED(v);
    hl_spans_walk(&fake_alloc, &s);
    assert_ptr_equal(hl_spans_first_overlap(&s), &s.v[7]);

    /* adjacent and apart are both disjoint */
    make_tiling(8, 0x1000);
    fake[7].addr += 1000;
    assert_true(valid(report, sizeof report));
    hl_spans_walk(&fake_alloc, &s);
    assert_null(hl_spans_first_overlap(&s));
}

/* ---- the lookups ------------------------------------------------------------------ */

static void test_lookups(void **state)
{
    (void)state;
    static hl_span_t v[16];
    hl_spans_t s = HL_SPANS_FIXED(v);
    /* [0x1000, 0x1100) USED, [0x1100, 0x1110) OVERHEAD, gap,
     * [0x2000, 0x2040) USED, [0x2040, 0x2080) FREE */
    nfake = 4;
    fake_rc = 0;
    fake[0] = (hl_span_t){0x1000, 0x100, HL_SPAN_USED};
    fake[1] = (hl_span_t){0x1100, 0x10, HL_SPAN_OVERHEAD};
    fake[2] = (hl_span_t){0x2000, 0x40, HL_SPAN_USED};
    fake[3] = (hl_span_t){0x2040, 0x40, HL_SPAN_FREE};
    rng_state = 5;
    assert_int_equal(hl_spans_walk(&fake_alloc, &s), 0);
    assert_true(hl_spans_are_valid(&s, NULL));

    assert_null(hl_spans_at(&s, 0xfff));
    assert_ptr_equal(hl_spans_at(&s, 0x1000), &s.v[0]);
    assert_ptr_equal(hl_spans_at(&s, 0x10ff), &s.v[0]);
    assert_ptr_equal(hl_spans_at(&s, 0x1100), &s.v[1]);
    assert_ptr_equal(hl_spans_at(&s, 0x110f), &s.v[1]);
    assert_null(hl_spans_at(&s, 0x1110));
    assert_null(hl_spans_at(&s, 0x1fff));
    assert_ptr_equal(hl_spans_at(&s, 0x207f), &s.v[3]);
    assert_null(hl_spans_at(&s, 0x2080));
    assert_null(hl_spans_at(&s, UINTPTR_MAX));

    assert_null(hl_spans_meet(&s, 0x1110, 0x2000 - 0x1110));   /* the gap exactly */
    assert_ptr_equal(hl_spans_meet(&s, 0x1110, 0x2000 - 0x1110 + 1), &s.v[2]);
    assert_ptr_equal(hl_spans_meet(&s, 0x10f0, 0x10), &s.v[0]);
    assert_ptr_equal(hl_spans_meet(&s, 0xf00, 0x1000), &s.v[0]);
    assert_null(hl_spans_meet(&s, 0xf00, 0x100));
    assert_null(hl_spans_meet(&s, 0x1000, 0));
    assert_null(hl_spans_meet(&s, 0x3000, 0x100));

    char *b0 = (char *)(uintptr_t)0x1000, *b2 = (char *)(uintptr_t)0x2000;
    assert_true(hl_spans_hold_block(&s, b0, 0x100, NULL));
    assert_true(hl_spans_hold_block(&s, b0 + 0x10, 0xf0, NULL));
    assert_true(hl_spans_hold_block(&s, b0 + 0x10, 0, NULL));
    assert_false(hl_spans_hold_block(&s, b0, 0x101, NULL));          /* runs past it */
    assert_false(hl_spans_hold_block(&s, b0 + 0x100, 8, NULL));      /* OVERHEAD */
    assert_false(hl_spans_hold_block(&s, b2 + 0x40, 8, NULL));       /* FREE */
    assert_false(hl_spans_hold_block(&s, b0 + 0x200, 8, NULL));      /* no span */
    char report[256] = "";
    FILE *f = fmemopen(report, sizeof report - 1, "w");
    assert_false(hl_spans_hold_block(&s, b2 + 0x40, 8, f));
    fclose(f);
    assert_non_null(strstr(report, "kind 1"));

    assert_ptr_equal(hl_spans_block(&s, b0, 0x100), &s.v[0]);
    assert_ptr_equal(hl_spans_block(&s, b2, 0x40), &s.v[2]);
    assert_null(hl_spans_block(&s, b0, 0xff));
    assert_null(hl_spans_block(&s, b0 + 0x10, 0xf0));
    assert_null(hl_spans_block(&s, b2 + 0x40, 0x40));                /* FREE */

    hl_spans_sum_t sum = hl_spans_sum(&s);
    assert_int_equal(sum.bytes, 0x100 + 0x10 + 0x40 + 0x40);
    assert_int_equal(sum.count[HL_SPAN_USED], 2);
    assert_int_equal(sum.kind_bytes[HL_SPAN_USED], 0x140);
    assert_int_equal(sum.count[HL_SPAN_FREE], 1);
    assert_int_equal(sum.kind_bytes[HL_SPAN_OVERHEAD], 0x10);
    assert_int_equal(sum.count[HL_SPAN_UNUSED], 0);
}

/* ---- the heapsort ------------------------------------------------------------------ */

typedef struct wide_s {
    uintptr_t addr;
    unsigned char payload[100];   /* wider than the sort's swap buffer */
} wide_t;

static void test_heapsort(void **state)
{
    (void)state;
    static wide_t w[3001];
    for (size_t n = 0; n <= 3001; n += n < 20 ? 1 : 997) {
        rng_state = 6 + n;
        uint64_t sum = 0;
        for (size_t i = 0; i < n; i++) {
            w[i].addr = (uintptr_t)(rnd() % 500);   /* with repeats */
            memset(w[i].payload, (int)(w[i].addr & 0xff), sizeof w[i].payload);
            sum += w[i].addr;
        }
        hl_heapsort_by_addr(w, n, sizeof w[0]);
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                assert_true(w[i - 1].addr <= w[i].addr);
            assert_int_equal(w[i].payload[0], w[i].addr & 0xff);
            assert_int_equal(w[i].payload[99], w[i].addr & 0xff);
            sum -= w[i].addr;
        }
        assert_int_equal(sum, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk_sorts),
        cmocka_unit_test(test_fixed_overflows),
        cmocka_unit_test(test_mapped_grows),
        cmocka_unit_test(test_invariants),
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_heapsort),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
