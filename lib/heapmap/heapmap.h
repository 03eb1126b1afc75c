/* heapmap.h: snapshots of a heap for the pictures of `heaplab map`
 * (lib/heapmap/draw_map.py draws them).
 *
 * A recorder is told of the program's blocks as they come and go
 * (hl_heapmap_alloc / hl_heapmap_free, with the sizes the program asked
 * for), and at chosen moments writes one snapshot of the allocator's heap as
 * one JSON object:
 *
 *   {"step": 1234, "live_blocks": N, "live_bytes": N, "held_bytes": N|null,
 *    "arenas": [...],   pymalloc's diagram, if the allocator has `arenas`
 *    "strip": {...}}    address-ordered occupancy, always
 *
 * The strip.  Every byte the allocator holds is given one of six kinds:
 *
 *   live      requested bytes of the program's live blocks
 *   slack     the rest of those blocks' usable size (internal fragmentation)
 *   cached    bytes the allocator calls USED that are no live block: blocks
 *             a cache (tcache, thread cache) holds for reuse, or something
 *             else in the process allocated them
 *   free      the allocator's FREE spans
 *   overhead  headers, tags, pool headers, alignment and rounding waste
 *   unused    held from the system but never carved
 *   unknown   (no walk) between live blocks: free, overhead or not even held
 *
 * and the held address ranges are cut into segments: maximal runs of
 * adjacent spans, each live block no span covers (pymalloc's raw blocks,
 * glibc's mmapped chunks) in a segment of its own.  Without a walk the
 * segments are the live blocks, merged across gaps below
 * HL_HEAPMAP_MERGE_GAP.  The segments are laid end to end and cut into
 * bins of `bin_bytes` (a segment starts on a new bin); each bin carries
 * its bytes of each kind:
 *
 *   "strip": {"walk": true, "bin_bytes": B, "kinds": [...],
 *             "segments": [[start, end, first_bin], ...],
 *             "bins": [[live, slack, cached, free, overhead, unused, unknown], ...]}
 *
 * so that  sum over bins of every kind == sum of segment lengths,  and with
 * a walk,  live + slack + cached == USED bytes  of the walk.
 *
 * Nothing here allocates from the C heap once the recorder is open: its
 * tables live on mmap, so a snapshot of `glibc` shows glibc's heap, not the
 * recorder's.  The FILE the snapshots go to must have its buffer already
 * (setvbuf with a static buffer, or writes to an unbuffered stream).
 */
#ifndef HL_HEAPMAP_H
#define HL_HEAPMAP_H

#ifndef HL_BUILD_CORE
#error "heapmap.h is internal to heaplab; build with -DHL_BUILD_CORE"
#endif

#include "heaplab/allocator.h"

#include <stdio.h>

/* Strip resolution: bins per snapshot, about.  The picture draws the bins
 * as rows of HL_HEAPMAP_ROW_BINS, so this is 64 rows. */
#define HL_HEAPMAP_BINS 8192
#define HL_HEAPMAP_ROW_BINS 128
_Static_assert(HL_HEAPMAP_BINS % HL_HEAPMAP_ROW_BINS == 0, "whole rows");
/* Without a walk, live blocks closer than this share a segment: most
 * allocators' chunks are at least this large, so a wider gap is more
 * likely a different mapping than free space. */
#define HL_HEAPMAP_MERGE_GAP ((size_t)1 << 20)

enum {
    HL_MAP_LIVE, HL_MAP_SLACK, HL_MAP_CACHED, HL_MAP_FREE, HL_MAP_OVERHEAD,
    HL_MAP_UNUSED, HL_MAP_UNKNOWN, HL_MAP_KINDS
};

typedef struct hl_heapmap_s hl_heapmap_t;

/* A recorder for instance `a` (which must outlive it).  0, or -1 with err. */
int hl_heapmap_open(hl_heapmap_t **out, const hl_allocator_t *a, char *err, size_t errlen);
void hl_heapmap_close(hl_heapmap_t *m);

/* The program's blocks: p of `size` requested bytes became live / p is
 * about to be freed.  Unknown p on free is ignored (a block made before
 * the recorder was watching).  -1 only if the table cannot grow. */
int hl_heapmap_alloc(hl_heapmap_t *m, const void *p, size_t size);
void hl_heapmap_free(hl_heapmap_t *m, const void *p);
size_t hl_heapmap_live_bytes(const hl_heapmap_t *m);
size_t hl_heapmap_live_blocks(const hl_heapmap_t *m);

/* One snapshot, as one JSON object (no newline), labelled `step`.
 * 0, or -1 with err (the allocator's walk found its heap corrupt, or out of
 * memory). */
int hl_heapmap_snapshot(hl_heapmap_t *m, FILE *out, size_t step, char *err, size_t errlen);

#endif /* HL_HEAPMAP_H */
