/* trace_internal.h: the parsed form of a trace, shared by the parser
 * (mtrace.c) and the replayer (replay.c).
 *
 * A parsed trace is an array of 16-byte operations.  Each names a *slot*, the
 * replayer's index for one live block, never an address: the recorded
 * program's addresses mean nothing to another allocator, and they are reused
 * (a freed address comes back from the next malloc), so the parser maps each
 * live address to a slot and gives the slot back when the block is freed.
 *
 *     op            size field        slot                  replay
 *     HL_OP_MALLOC  requested bytes   a free slot           slot = malloc(size)
 *     HL_OP_FREE    0                 the block's slot      free(slot)
 *     HL_OP_REALLOC new size          the block's slot      slot = realloc(slot, size)
 *
 * Invariants of a parsed trace (trace_is_valid checks them):
 *   - every slot < info.slots;
 *   - a FREE or REALLOC names a slot that is live at that point, a MALLOC one
 *     that is not;
 *   - the slots live after the last op are exactly final_live[0..nfinal).
 * The replayer relies on them and checks nothing in its timed loop.
 *
 * Memory for the op array and every other array that grows with the trace
 * comes from mmap (hl_mvec_t), never malloc: a trace of millions of ops must
 * not show up in the footprint of the glibc allocator it is replayed into.
 */
#ifndef HL_TRACE_INTERNAL_H
#define HL_TRACE_INTERNAL_H

#ifndef HL_BUILD_CORE
#error "trace_internal.h is internal to heaplab; build with -DHL_BUILD_CORE"
#endif

#include "heaplab/trace.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- mmap-backed growable arrays (mvec.c) ------------------------------- */

typedef struct hl_mvec_s {
    void *base;        /* NULL until the first reserve */
    size_t len;        /* bytes in use */
    size_t cap;        /* bytes mapped (a multiple of the page size) */
} hl_mvec_t;

/* Make room for `more` bytes past len (mremap doubles); 0 or -1 (ENOMEM). */
int _hl_mvec_reserve(hl_mvec_t *v, size_t more);
/* Append n bytes; 0 or -1. */
int _hl_mvec_push(hl_mvec_t *v, const void *p, size_t n);
void _hl_mvec_release(hl_mvec_t *v);
/* A zeroed anonymous mapping of n bytes (n may be 0), or NULL. */
void *_hl_map(size_t n);
void _hl_unmap(void *p, size_t n);

/* ---- operations --------------------------------------------------------- */

enum {
    HL_OP_MALLOC = 0,
    HL_OP_FREE = 1,
    HL_OP_REALLOC = 2,
};

/* line_kind values: bits 0-1 the HL_OP_* kind, bits 2-31 the trace line of
 * the record (of the `<` for a realloc), so lines up to 2^30 - 1. */
#define HL_OP_MAX_LINE ((1u << 30) - 1)

typedef struct hl_trace_op_s {
    uint64_t size;
    uint32_t slot;
    uint32_t line_kind;
} hl_trace_op_t;

_Static_assert(sizeof(hl_trace_op_t) == 16, "ops are 16 bytes");

static inline unsigned hl_op_kind(const hl_trace_op_t *op) { return op->line_kind & 3u; }
static inline uint32_t hl_op_line(const hl_trace_op_t *op) { return op->line_kind >> 2; }
static inline hl_trace_op_t hl_op_make(unsigned kind, uint32_t slot, uint64_t size, uint32_t line)
{
    hl_trace_op_t op = {size, slot, (line << 2) | (kind & 3u)};
    return op;
}

static inline const char *hl_op_kind_name(unsigned kind)
{
    return kind == HL_OP_MALLOC ? "malloc" : kind == HL_OP_FREE ? "free" : "realloc";
}

struct hl_trace_s {
    hl_trace_info_t info;
    char *name;                  /* info.name points here */
    hl_mvec_t ops;               /* hl_trace_op_t[info.ops] */
    hl_mvec_t final_live;        /* uint32_t slots live at the end */
};

static inline const hl_trace_op_t *hl_trace_ops(const hl_trace_t *t)
{
    return (const hl_trace_op_t *)t->ops.base;
}
static inline const uint32_t *hl_trace_final_live(const hl_trace_t *t)
{
    return (const uint32_t *)t->final_live.base;
}

/* O(ops): the invariants above (mtrace.c). */
bool _hl_trace_is_valid(const hl_trace_t *t);

#endif /* HL_TRACE_INTERNAL_H */
