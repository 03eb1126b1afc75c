/* walk_test_util.h: the walk() tests of the classic designs (cmocka), run by
 * classic_test.c (seqfit-*, segregated-*) and buddy_tlsf_test.c (buddy,
 * tlsf) on each of their allocators.
 *
 * Every classic design reports its own state (and buddy its chunk table)
 * as OVERHEAD too, so a walk's spans sum to held_bytes exactly, and a USED
 * span is exactly one live block's [p, p + usable_size(p)), rounding
 * included.  So, of every walk:
 *   - it returns 0 and maps nothing (the design's own count of its
 *     mappings, and held_bytes, are as they were);
 *   - its spans are valid (lib/heapmap/spans.h: non-empty, of a known kind,
 *     disjoint) and sum to held_bytes;
 *   - its USED spans are as many, and as many bytes, as the live blocks;
 * and of a program of mallocs, frees and reallocs (hl_walk_test_program):
 * a fresh heap and an emptied one have no USED span; every live block is
 * one USED span; and a freed address in a USED span was handed out again
 * later.  An erased header makes the walk return -1 (hl_walk_test_poke).
 *
 * What differs between the two test files is a hl_walk_test_t: how an
 * instance is made, what count of mappings a walk must leave alone, what is
 * checked of every block handed out.  The spans go to a static array (a
 * walk must not allocate from the heap it walks).
 */
#ifndef HL_CLASSIC_WALK_TEST_UTIL_H
#define HL_CLASSIC_WALK_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "heaplab/allocator.h"
#include "spans.h"

typedef struct hl_walk_test_s hl_walk_test_t;
struct hl_walk_test_s {
    const char *name;       /* for messages */
    const void *impl;       /* the test file's own description, for the hooks */
    /* A fresh instance, or fail the test. */
    void (*open)(const hl_walk_test_t *t, hl_allocator_t *a);
    /* What the instance has mapped, in the design's own count: a walk must
     * leave it as it is. */
    size_t (*mapped)(const hl_walk_test_t *t, const hl_allocator_t *a);
    /* Every block the program is handed, for a request of n bytes. */
    void (*check_block)(const hl_walk_test_t *t, hl_allocator_t *a, void *p, size_t n);
    /* If not 0: the valid bits every hl_stats must report, exactly. */
    unsigned stats_valid;
};

/* The spans of the last walk, sorted. */
extern hl_spans_t hl_walk_test_spans;

/* Walk a into hl_walk_test_spans and assert what holds of every walk (the
 * header).  Returns the number of USED spans. */
size_t hl_walk_test_walk(const hl_walk_test_t *t, const hl_allocator_t *a);

/* A deterministic program on a fresh instance, walked fresh, mid-way and
 * emptied; the instance is destroyed at the end. */
void hl_walk_test_program(const hl_walk_test_t *t);

/* Walk a; zero *word (a header of a's) and expect the walk to fail; put it
 * back and walk a again. */
void hl_walk_test_poke(const hl_walk_test_t *t, const hl_allocator_t *a, uint64_t *word);

#endif /* HL_CLASSIC_WALK_TEST_UTIL_H */
