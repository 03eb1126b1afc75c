/* walk_test_util.c: the walk() tests of the classic designs
 * (walk_test_util.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "walk_test_util.h"

#define MAX_SPANS (1 << 16)

static hl_span_t span_buf[MAX_SPANS];
hl_spans_t hl_walk_test_spans = HL_SPANS_FIXED(span_buf);

static hl_stats_t stats_of(const hl_walk_test_t *t, const hl_allocator_t *a)
{
    hl_stats_t s;
    hl_stats(a, &s);
    if (t->stats_valid)
        assert_int_equal(s.valid, t->stats_valid);
    return s;
}

static void must_check(const hl_walk_test_t *t, const hl_allocator_t *a)
{
    if (!hl_check(a, stderr))
        fail_msg("%s: check() failed", t->name);
}

size_t hl_walk_test_walk(const hl_walk_test_t *t, const hl_allocator_t *a)
{
    hl_spans_t *s = &hl_walk_test_spans;
    size_t mapped = t->mapped(t, a);
    hl_stats_t st = stats_of(t, a);
    assert_int_equal(hl_spans_walk(a, s), 0);
    assert_false(s->overflow);
    assert_int_equal(t->mapped(t, a), mapped);
    assert_int_equal(stats_of(t, a).held_bytes, st.held_bytes);
    if (!hl_spans_are_valid(s, stderr))
        fail_msg("%s: the walk's spans are not valid (above)", t->name);
    hl_spans_sum_t sum = hl_spans_sum(s);
    assert_int_equal(sum.bytes, st.held_bytes);
    assert_int_equal(sum.count[HL_SPAN_USED], st.live_blocks);
    assert_int_equal(sum.kind_bytes[HL_SPAN_USED], st.live_bytes);
    return sum.count[HL_SPAN_USED];
}

/* A deterministic mix: small, medium, 70000 (each design's chunk or pool
 * block, or its "large" path) and 1.2 MB (a direct block), and zero. */
static size_t walk_size(size_t k)
{
    if (k % 97 == 0)
        return 1200000;
    if (k % 29 == 0)
        return 70000;
    if (k % 7 == 0)
        return k % 48;
    return (k * 37 + 11) % 3000;
}

#define WALK_N 400
#define WALK_MORE 20

void hl_walk_test_program(const hl_walk_test_t *t)
{
    const hl_spans_t *s = &hl_walk_test_spans;
    hl_allocator_t a;
    t->open(t, &a);
    assert_int_equal(hl_walk_test_walk(t, &a), 0);  /* fresh: no USED span */

    /* p[k] live iff live[k]; late[k]: handed out after the frees */
    static void *p[WALK_N + WALK_MORE], *freed[WALK_N + 4];
    static bool live[WALK_N + WALK_MORE], late[WALK_N + WALK_MORE];
    size_t nfreed = 0;
    memset(live, 0, sizeof live);
    memset(late, 0, sizeof late);
    for (size_t k = 0; k < WALK_N; k++) {
        size_t n = walk_size(k);
        p[k] = hl_malloc(&a, n);
        t->check_block(t, &a, p[k], n);
        memset(p[k], (int)(k & 0xff), n);
        live[k] = true;
    }
    for (size_t k = 0; k < WALK_N; k += 3) {
        hl_free(&a, p[k]);
        freed[nfreed++] = p[k];
        live[k] = false;
    }
    /* grow, shrink, and shrink a large (direct) block; a moved block's old
     * address is freed too */
    static const struct { size_t k, n; } re[] = {{1, 20000}, {2, 8}, {97, 600000}};
    for (size_t r = 0; r < sizeof re / sizeof re[0]; r++) {
        size_t k = re[r].k;
        void *q = hl_realloc(&a, p[k], re[r].n);
        t->check_block(t, &a, q, re[r].n);
        if (q != p[k])
            freed[nfreed++] = p[k];
        p[k] = q;
        late[k] = true;
    }
    /* more blocks, which may reuse freed memory */
    for (size_t k = WALK_N; k < WALK_N + WALK_MORE; k++) {
        p[k] = hl_malloc(&a, 16 + (k % 5) * 40);
        t->check_block(t, &a, p[k], 16 + (k % 5) * 40);
        live[k] = late[k] = true;
    }
    must_check(t, &a);

    size_t nused = hl_walk_test_walk(t, &a), nlive = 0;
    for (size_t k = 0; k < WALK_N + WALK_MORE; k++) {
        if (!live[k])
            continue;
        nlive++;
        if (hl_spans_block(s, p[k], hl_usable_size(&a, p[k])) == NULL)
            fail_msg("%s: live block %p (usable %zu) is not one USED span", t->name, p[k],
                     hl_usable_size(&a, p[k]));
    }
    /* one USED span per live block, each starting at its block: a bijection */
    assert_int_equal(nused, nlive);
    for (size_t f = 0; f < nfreed; f++) {
        const hl_span_t *sp = hl_spans_at(s, (uintptr_t)freed[f]);
        if (sp == NULL || sp->kind != HL_SPAN_USED)
            continue;
        /* reused: then by a block handed out after it was freed */
        size_t owner = WALK_N + WALK_MORE;
        for (size_t k = 0; k < WALK_N + WALK_MORE; k++)
            if (live[k] && (uintptr_t)p[k] == sp->addr)
                owner = k;
        if (owner == WALK_N + WALK_MORE || !late[owner])
            fail_msg("%s: freed %p lies in the USED span %#lx+%zu of an older block", t->name,
                     freed[f], (unsigned long)sp->addr, sp->size);
    }

    /* emptied: whatever it keeps is FREE, UNUSED or OVERHEAD */
    for (size_t k = 0; k < WALK_N + WALK_MORE; k++)
        if (live[k])
            hl_free(&a, p[k]);
    must_check(t, &a);
    assert_int_equal(hl_walk_test_walk(t, &a), 0);
    a.ops->destroy(a.ctx);
}

void hl_walk_test_poke(const hl_walk_test_t *t, const hl_allocator_t *a, uint64_t *word)
{
    hl_walk_test_walk(t, a);
    uint64_t saved = *word;
    *word = 0;
    assert_int_equal(hl_spans_walk(a, &hl_walk_test_spans), -1);
    *word = saved;
    hl_walk_test_walk(t, a);
}
