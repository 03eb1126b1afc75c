/* page_raw.h: a raw allocator that maps every block from the kernel.
 *
 * pymalloc sends the requests it does not serve (0 bytes, over 512) to its
 * raw allocator, which is normally the C library's malloc.  In an LD_PRELOAD
 * build the C library's malloc *is* heaplab's allocator, so pymalloc needs a
 * raw allocator that does not go back through malloc: this one.  It also lets
 * the conformance suite see every byte an own allocator holds in
 * /proc/self/maps.
 *
 *   block = one private anonymous mapping:
 *
 *     base (page-aligned)          base + 32 = the pointer handed out
 *     |next|prev|maplen|magic^base| payload ...................| rest of page |
 *
 *   maplen     = round_up(32 + n, page size); usable size = maplen - 32
 *   per block: 32 bytes of header plus the rounding to the page, so a 513-byte
 *              request costs 4 KiB.  Alignment 16 (32 from a page boundary).
 *   realloc    grows or shrinks with mremap (the kernel moves the pages, no
 *              copy); a request that still fits the mapping stays in place.
 *   live list  every block is on one circular doubly linked list, so that
 *              destroy() unmaps the blocks nobody freed and check() can walk
 *              them all.
 *   cache      a freed mapping of up to 32 pages (128 KiB) is kept, up to
 *              16 MiB in all, on a LIFO list per page count and handed out
 *              again for the same page count (cleared for calloc): Python
 *              frees and reallocates blocks of a few KiB by the million, and
 *              an mmap + munmap + page faults each time made it 10x slower.
 *              Cached bytes count as held.
 *
 * Invariants (check): every block on the list has magic == PR_MAGIC ^ base and
 * maplen a nonzero multiple of the page size; next/prev agree; the list's
 * length is nblocks and the sum of maplen is held; every cached mapping has
 * magic == PR_CACHED ^ base and sits in the list of its page count, and their
 * maplen add up to cached.
 *
 * Not thread-safe: the preload shim calls it under its lock.  It never calls
 * malloc, so it can serve inside malloc.
 */
#ifndef HL_PAGE_RAW_H
#define HL_PAGE_RAW_H

#include "heaplab/allocator.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Returns 0 and fills *out (name "page-raw"), or -1 with a message in err. */
int hl_page_raw_create(hl_allocator_t *out, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* HL_PAGE_RAW_H */
