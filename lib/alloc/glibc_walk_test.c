/* glibc_walk_test.c: walk() of the `glibc` allocator (glibc.c) against the
 * process's real C heap.
 *
 * A process of its own: the chunk walk needs the main arena to be one brk
 * region, and the peers (tcmalloc takes memory with sbrk) or the registry's
 * other allocators would move the break under it.  Checked, after a
 * deterministic mix of blocks of 16 .. 100000 bytes with some freed:
 *   - the spans are non-empty, never overlap, and tile [heap start, break)
 *     without a gap;
 *   - every live block [p, p + malloc_usable_size(p)) is one USED span,
 *     exactly, and is preceded by its 8-byte size field (OVERHEAD);
 *   - a freed block too large for the tcache and the fastbins lies in a
 *     FREE span, or in the top chunk (UNUSED) if it merged into it;
 *   - the FREE chunks and the top chunk add up to mallinfo2()'s fordblks
 *     less fsmblks (the free bytes of the one arena, fastbins aside), the
 *     top chunk is keepcost, and the spans cover no more than held_bytes;
 *   - a block large enough to be mmapped is in no span.
 * Under AddressSanitizer the process's malloc is ASan's, which glibc.c
 * detects: walk() returns HL_NO_VIEW and the rest is skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hl_registry.h"
#include "spans.h"

#include <inttypes.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#if !defined(UNDER_ASAN) && defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* A static table (spans.h): nothing may allocate from the heap walked. */
static hl_span_t span_buf[1 << 16];
static hl_spans_t spans = HL_SPANS_FIXED(span_buf);

static void open_glibc(hl_allocator_t *a)
{
    char err[256] = "";
    if (hl_glibc_create(NULL, a, err, sizeof err) != 0)
        fail_msg("glibc: create failed: %s", err);
}

/* Walk, sort, and check what holds for every walk of one brk arena; *mi is
 * mallinfo2() right after the walk (which allocates nothing). */
static void walk_and_check_tiling(const hl_allocator_t *a, struct mallinfo2 *mi)
{
    assert_int_equal(hl_spans_walk(a, &spans), 0);
    *mi = mallinfo2();
    assert_false(spans.overflow);
    if (!hl_spans_are_valid(&spans, stderr))
        fail_msg("the walk's spans are not valid (above)");
    for (size_t i = 1; i < spans.n; i++) {
        if (spans.v[i].addr != spans.v[i - 1].addr + spans.v[i - 1].size)
            fail_msg("spans at %#" PRIxPTR " and %#" PRIxPTR " leave a gap", spans.v[i - 1].addr,
                     spans.v[i].addr);
    }
    if (spans.n > 0) {
        const hl_span_t *last = &spans.v[spans.n - 1];
        assert_int_equal(last->addr + last->size, (uintptr_t)sbrk(0));
        assert_int_equal(last->kind, HL_SPAN_UNUSED);   /* the top chunk */
    }
}

#define NBLOCKS 800

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static void test_walk(void **state)
{
    (void)state;
    hl_allocator_t a;
    open_glibc(&a);
#if UNDER_ASAN
    /* ASan's malloc: glibc's chunks are not this instance's blocks. */
    assert_int_equal(hl_spans_walk(&a, &spans), HL_NO_VIEW);
    a.ops->destroy(a.ctx);
    skip();
#else
    static void *blocks[NBLOCKS];
    static uintptr_t freed_big[NBLOCKS];   /* addresses only, never read */
    memset(freed_big, 0, sizeof freed_big);
    rng_state = 0x13198A2E03707344ULL;
    for (size_t i = 0; i < NBLOCKS; i++) {
        uint64_t r = rnd() % 100;
        size_t n = r < 80 ? 16 + rnd() % 497 : r < 95 ? 513 + rnd() % 8192 : 8192 + rnd() % 91809;
        blocks[i] = hl_malloc(&a, n);
        assert_non_null(blocks[i]);
        memset(blocks[i], (int)i, n);
    }
    void *mapped = hl_malloc(&a, 8 << 20);   /* above any mmap threshold */
    assert_non_null(mapped);
    for (size_t i = 0; i < NBLOCKS; i++) {
        if (i % 3 == 0 || (i % 7 == 1 && hl_usable_size(&a, blocks[i]) > 2048)) {
            if (hl_usable_size(&a, blocks[i]) > 2048)   /* no tcache, no fastbin */
                freed_big[i] = (uintptr_t)blocks[i];
            hl_free(&a, blocks[i]);
            blocks[i] = NULL;
        }
    }

    struct mallinfo2 mi;
    walk_and_check_tiling(&a, &mi);
    hl_spans_sum_t sum = hl_spans_sum(&spans);
    size_t nfree = sum.count[HL_SPAN_FREE];
    assert_true(nfree > 0);
    /* Each FREE span is a free chunk less its size field; the UNUSED span
     * is the top chunk less its prev_size and size fields. */
    assert_int_equal(sum.kind_bytes[HL_SPAN_UNUSED] + 16, mi.keepcost);
    assert_int_equal(sum.kind_bytes[HL_SPAN_FREE] + 8 * nfree + mi.keepcost,
                     mi.fordblks - mi.fsmblks);
    assert_int_equal(sum.bytes, mi.arena);
    hl_stats_t s;
    hl_stats(&a, &s);
    assert_true(sum.bytes <= s.held_bytes);

    for (size_t i = 0; i < NBLOCKS; i++) {
        if (blocks[i] == NULL)
            continue;
        uintptr_t p = (uintptr_t)blocks[i];
        const hl_span_t *sp = hl_spans_block(&spans, blocks[i], malloc_usable_size(blocks[i]));
        if (sp == NULL || sp == spans.v)
            fail_msg("live block %#" PRIxPTR " (+%zu) is not one USED span", p,
                     malloc_usable_size(blocks[i]));
        if (sp[-1].kind != HL_SPAN_OVERHEAD || sp[-1].size != 8)
            fail_msg("live block %#" PRIxPTR " has no size field before it", p);
    }
    size_t nfreed_big = 0;
    for (size_t i = 0; i < NBLOCKS; i++) {
        if (freed_big[i] == 0)
            continue;
        /* Free in a bin, merged into the top chunk, or trimmed with it. */
        nfreed_big++;
        const hl_span_t *sp = hl_spans_at(&spans, freed_big[i]);
        if (sp == NULL ? freed_big[i] < (uintptr_t)sbrk(0)
                       : sp->kind != HL_SPAN_FREE && sp->kind != HL_SPAN_UNUSED)
            fail_msg("freed block %#" PRIxPTR " is in %s", freed_big[i],
                     sp == NULL ? "no span" : "a USED or OVERHEAD span");
    }
    assert_true(nfreed_big > 10);
    assert_null(hl_spans_at(&spans, (uintptr_t)mapped));   /* an mmapped chunk */

    for (size_t i = 0; i < NBLOCKS; i++)
        hl_free(&a, blocks[i]);
    hl_free(&a, mapped);
    a.ops->destroy(a.ctx);                  /* malloc_trim(0) */
    hl_allocator_t b;                        /* and the heap after the trim */
    open_glibc(&b);
    walk_and_check_tiling(&b, &mi);
    b.ops->destroy(b.ctx);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
