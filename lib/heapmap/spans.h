/* spans.h: the spans of one heap walk, sorted by address, with the
 * invariants every walk keeps as executable checks.
 *
 * An allocator's walk (hl_walk, heaplab/allocator.h; heaplab/heapmap.h says
 * what a span is) reports its spans to a callback in any order.  Whatever
 * looks at a walk wants the same things from it: the spans in one array,
 * sorted by address; the span that holds an address; and the walk's
 * promises checked.  The pictures of `heaplab map` (heapmap.c), the
 * allocators' walk tests and alloc_fuzz all take them from here.
 *
 *     static hl_span_t buf[1 << 16];
 *     hl_spans_t s = HL_SPANS_FIXED(buf);
 *     if (hl_spans_walk(a, &s) == 0 && !s.overflow
 *         && hl_spans_are_valid(&s, stderr))
 *         ... hl_spans_at(&s, addr) ...
 *
 * The invariants.  The spans of one walk, sorted, are
 *
 *     non-empty          v[i].size > 0
 *     of a known kind    v[i].kind < HL_SPAN_KINDS
 *     disjoint           v[i - 1].addr + v[i - 1].size <= v[i].addr
 *
 * (hl_spans_are_valid), and a block the program holds, [p, p + usable),
 * lies inside one USED span (hl_spans_hold_block) unless the walk does not
 * cover it at all (pymalloc's raw blocks, glibc's mmapped chunks: then no
 * span meets it, hl_spans_meet).  The lookups assume the first three: on a
 * set that breaks them their answers mean nothing.
 *
 * Nothing here allocates from the C heap.  The heap walked may be glibc's,
 * and a malloc while it is walked (or between the walk and the look at
 * it) would change what is being looked at; glibc's qsort may malloc, so the
 * sort is an in-place heapsort.  The storage is the caller's choice:
 *
 *   HL_SPANS_FIXED(array)  the caller's array (a static one, typically):
 *                          a span past its end is dropped and sets
 *                          `overflow`;
 *   HL_SPANS_MAPPED        anonymous mmap, doubled as it fills (mremap);
 *                          `overflow` only if the system refuses, and
 *                          hl_spans_release gives it back.
 *
 * `overflow` means the set is incomplete: a walk that returned 0 with it
 * set must not be checked against the heap.
 */
#ifndef HL_SPANS_H
#define HL_SPANS_H

#ifndef HL_BUILD_CORE
#error "spans.h is internal to heaplab; build with -DHL_BUILD_CORE"
#endif

#include "heaplab/allocator.h"
#include "heaplab/heapmap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One span as the walk reported it. */
typedef struct hl_span_s {
    uintptr_t addr;        /* first member: hl_heapsort_by_addr's key */
    size_t size;
    hl_span_kind_t kind;
} hl_span_t;

typedef struct hl_spans_s {
    hl_span_t *v;          /* v[0 .. n), sorted by addr after hl_spans_walk */
    size_t n, cap;
    bool overflow;         /* a span did not fit: the set is incomplete */
    bool mapped;           /* v is on mmap and grows; else the caller's array */
} hl_spans_t;

#define HL_SPANS_FIXED(array) \
    ((hl_spans_t){(array), 0, sizeof(array) / sizeof((array)[0]), false, false})
#define HL_SPANS_MAPPED ((hl_spans_t){NULL, 0, 0, false, true})

/* Empty s, walk a into it, and sort it by address.  Returns hl_walk's
 * result: 0; -1 (a corrupt heap: the spans so far are in s); HL_NO_VIEW
 * (no walk: s is empty). */
int hl_spans_walk(const hl_allocator_t *a, hl_spans_t *s);

/* Give back a HL_SPANS_MAPPED set's memory (it is empty and usable again
 * afterwards); nothing for a fixed one but emptying it. */
void hl_spans_release(hl_spans_t *s);

/* Every span non-empty, of a known kind, and disjoint from the one before.
 * If not, the first span that is not is named on `report` (may be NULL). */
bool hl_spans_are_valid(const hl_spans_t *s, FILE *report);

/* The first span that starts before the one below it ends, or NULL: the
 * disjointness part of hl_spans_are_valid alone. */
const hl_span_t *hl_spans_first_overlap(const hl_spans_t *s);

/* The span holding addr, or NULL. */
const hl_span_t *hl_spans_at(const hl_spans_t *s, uintptr_t addr);

/* The lowest span that shares a byte with [addr, addr + size), or NULL
 * (always NULL for size 0). */
const hl_span_t *hl_spans_meet(const hl_spans_t *s, uintptr_t addr, size_t size);

/* [p, p + usable) lies inside one USED span.  If not, what holds p (a span
 * of another kind, too short, or none) is said on `report` (may be NULL). */
bool hl_spans_hold_block(const hl_spans_t *s, const void *p, size_t usable, FILE *report);

/* The USED span that is exactly [p, p + usable), or NULL: for the
 * allocators whose walk reports each block as one span of its usable size. */
const hl_span_t *hl_spans_block(const hl_spans_t *s, const void *p, size_t usable);

/* Totals: bytes of every span; spans and bytes of each kind (a span of an
 * unknown kind counts in `bytes` only). */
typedef struct hl_spans_sum_s {
    size_t bytes;
    size_t count[HL_SPAN_KINDS];
    size_t kind_bytes[HL_SPAN_KINDS];
} hl_spans_sum_t;

hl_spans_sum_t hl_spans_sum(const hl_spans_t *s);

/* The in-place heapsort behind hl_spans_walk, for any array of n records of
 * `size` bytes whose first member is a uintptr_t address: ascending by it.
 * Neither stable nor allocating; O(n log n) always. */
void hl_heapsort_by_addr(void *base, size_t n, size_t size);

#endif /* HL_SPANS_H */
