/* heapmap.c: the program's live set, and snapshots of a heap (heapmap.h).
 *
 * A snapshot is five steps, each over tables on mmap:
 *   1. the views: arenas() into `arenas`, walk() into `spans` (a mapped
 *      hl_spans_t, spans.h);
 *   2. the live blocks out of the live-set hash table into `blocks`, with
 *      their usable sizes;
 *   3. both sorted by address (spans.h's in-place heapsort: glibc's qsort
 *      may malloc, and the C heap is what we may be drawing);
 *   4. segments: runs of adjacent spans, and clusters of the live blocks no
 *      span covers (gaps below HL_HEAPMAP_MERGE_GAP, never across a span);
 *   5. bins: every span's bytes into its kind, then each live block's
 *      requested and slack bytes moved out of `cached` (inside the walk) or
 *      `unknown` (outside it) into `live` and `slack`.
 * A live block that the walk calls anything but USED is counted in
 * `mismatch_bytes`: 0 for an allocator whose walk is right.
 */
#include "heapmap.h"

#include "addr_map.h"
#include "hl_debug.h"
#include "spans.h"
#include "trace_internal.h"

#include <inttypes.h>
#include <string.h>

typedef struct block_s {
    uintptr_t addr;     /* first: the sort's key */
    uint64_t req;       /* requested */
    uint64_t usable;
} block_t;

typedef struct seg_s {
    uint64_t start, end;
    uint64_t first_bin;
    bool walked;        /* made of spans (else a cluster of live blocks) */
} seg_t;

struct hl_heapmap_s {
    const hl_allocator_t *a;
    hl_addr_map_t live;         /* addr -> requested size (in `slot`) */
    size_t live_bytes;
    hl_spans_t spans;           /* HL_SPANS_MAPPED */
    hl_mvec_t blocks, segs, arenas;
    int64_t (*bins)[HL_MAP_KINDS];
    size_t nbins_mapped;
};

static const char *const kind_names[HL_MAP_KINDS] = {
    "live", "slack", "cached", "free", "overhead", "unused", "unknown",
};

int hl_heapmap_open(hl_heapmap_t **out, const hl_allocator_t *a, char *err, size_t errlen)
{
    hl_heapmap_t *m = _hl_map(sizeof *m);
    if (!m || _hl_addr_map_init(&m->live) != 0) {
        if (m)
            _hl_unmap(m, sizeof *m);
        return _hl_err(err, errlen, "heapmap: cannot map its tables");
    }
    m->a = a;
    m->spans = HL_SPANS_MAPPED;
    *out = m;
    return 0;
}

void hl_heapmap_close(hl_heapmap_t *m)
{
    if (!m)
        return;
    _hl_addr_map_release(&m->live);
    hl_spans_release(&m->spans);
    _hl_mvec_release(&m->blocks);
    _hl_mvec_release(&m->segs);
    _hl_mvec_release(&m->arenas);
    if (m->bins)
        _hl_unmap(m->bins, m->nbins_mapped * sizeof *m->bins);
    _hl_unmap(m, sizeof *m);
}

int hl_heapmap_alloc(hl_heapmap_t *m, const void *p, size_t size)
{
    if (!p)
        return 0;
    uint32_t s = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
    hl_addr_entry_t *e = _hl_addr_map_find(&m->live, (uint64_t)(uintptr_t)p);
    if (e) {            /* a block made before we watched, now reused */
        m->live_bytes -= e->slot;
        e->slot = s;
        m->live_bytes += s;
        return 0;
    }
    if (_hl_addr_map_insert(&m->live, (uint64_t)(uintptr_t)p, s, 0) != 0)
        return -1;
    m->live_bytes += s;
    return 0;
}

void hl_heapmap_free(hl_heapmap_t *m, const void *p)
{
    hl_addr_entry_t *e = p ? _hl_addr_map_find(&m->live, (uint64_t)(uintptr_t)p) : NULL;
    if (!e)
        return;
    m->live_bytes -= e->slot;
    _hl_addr_map_remove(&m->live, e);
}

size_t hl_heapmap_live_bytes(const hl_heapmap_t *m) { return m->live_bytes; }
size_t hl_heapmap_live_blocks(const hl_heapmap_t *m) { return m->live.count; }

/* ---- step 1: the views ------------------------------------------------------ */

typedef struct collect_s {
    hl_heapmap_t *m;
    bool oom;
} collect_t;

static void on_arena(void *user, const hl_arena_view_t *v)
{
    collect_t *c = user;
    if (!c->oom && _hl_mvec_push(&c->m->arenas, v, sizeof *v) != 0)
        c->oom = true;
}

/* ---- steps 4 and 5 ---------------------------------------------------------- */

static int push_seg(hl_heapmap_t *m, uint64_t start, uint64_t end, bool walked)
{
    seg_t g = {start, end, 0, walked};
    return _hl_mvec_push(&m->segs, &g, sizeof g);
}

/* The segment containing addr (segments sorted, not overlapping). */
static const seg_t *seg_at(const seg_t *g, size_t n, uint64_t addr)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && g[lo].start <= addr ? &g[lo] : NULL;
}

/* Add `delta` bytes per byte of [a, b) of segment g to kind k. */
static void bin_add(hl_heapmap_t *m, const seg_t *g, uint64_t bin_bytes, uint64_t a, uint64_t b,
                    int k, int sign)
{
    while (a < b) {
        uint64_t off = a - g->start;
        uint64_t bin = g->first_bin + off / bin_bytes;
        uint64_t bin_end = g->start + (off / bin_bytes + 1) * bin_bytes;
        uint64_t upto = b < bin_end ? b : bin_end;
        m->bins[bin][k] += sign * (int64_t)(upto - a);
        a = upto;
    }
}

static const int span_kind_to_map[HL_SPAN_KINDS] = {
    [HL_SPAN_USED] = HL_MAP_CACHED,
    [HL_SPAN_FREE] = HL_MAP_FREE,
    [HL_SPAN_OVERHEAD] = HL_MAP_OVERHEAD,
    [HL_SPAN_UNUSED] = HL_MAP_UNUSED,
};

static const char *const pool_state_names[] = {
    [HL_POOL_UNCARVED] = "uncarved", [HL_POOL_EMPTY] = "empty", [HL_POOL_USED] = "used",
    [HL_POOL_FULL] = "full", [HL_POOL_LOST] = "lost",
};

static void write_arenas(hl_heapmap_t *m, FILE *out)
{
    const hl_arena_view_t *v = m->arenas.base;
    size_t n = m->arenas.len / sizeof *v;
    fprintf(out, ",\"arenas\":[");
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "%s{\"index\":%u,\"address\":%" PRIu64 ",\"returned\":%s,"
                "\"arena_size\":%zu,\"pool_size\":%zu,\"first_pool\":%" PRIu64 ","
                "\"nfreepools\":%u,\"ntotalpools\":%u,\"pools\":[",
                i ? "," : "", v[i].index, (uint64_t)v[i].address,
                v[i].returned ? "true" : "false", v[i].arena_size, v[i].pool_size,
                (uint64_t)v[i].first_pool, v[i].nfreepools, v[i].ntotalpools);
        if (v[i].address != 0) {
            for (unsigned p = 0; p < HL_MAP_POOLS_PER_ARENA; p++) {
                const hl_pool_view_t *pv = &v[i].pools[p];
                fprintf(out, "%s[\"%s\",%u,%u,%u,%u]", p ? "," : "",
                        pool_state_names[pv->state], pv->szidx, pv->block_size, pv->nused,
                        pv->nblocks);
            }
        }
        fprintf(out, "]}");
    }
    fprintf(out, "]");
}

int hl_heapmap_snapshot(hl_heapmap_t *m, FILE *out, size_t step, char *err, size_t errlen)
{
    const hl_allocator_t *a = m->a;
    collect_t c = {m, false};
    m->blocks.len = m->segs.len = m->arenas.len = 0;

    /* 1. the views (the spans come sorted) */
    int arc = hl_arenas(a, on_arena, &c);
    int wrc = hl_spans_walk(a, &m->spans);
    if (m->spans.overflow)
        c.oom = true;
    if (arc == -1 || wrc == -1)
        return _hl_err(err, errlen, "heapmap: %s: its heap could not be walked "
                       "(check() names the broken invariant)", a->name);
    bool walked = wrc == 0;

    /* 2. the live blocks */
    for (size_t i = 0; i <= m->live.mask && !c.oom; i++) {
        const hl_addr_entry_t *e = &m->live.tab[i];
        if (e->addr == 0)
            continue;
        size_t usable = hl_usable_size(a, (const void *)(uintptr_t)e->addr);
        block_t b = {e->addr, e->slot, usable > e->slot ? usable : e->slot};
        if (_hl_mvec_push(&m->blocks, &b, sizeof b) != 0)
            c.oom = true;
    }
    if (c.oom)
        return _hl_err(err, errlen, "heapmap: out of memory for a snapshot");

    /* 3. sorted by address */
    const hl_span_t *sp = m->spans.v;
    size_t nspans = m->spans.n;
    block_t *bl = m->blocks.base;
    size_t nblocks = m->blocks.len / sizeof *bl;
    hl_heapsort_by_addr(bl, nblocks, sizeof *bl);
    const hl_span_t *overlap = hl_spans_first_overlap(&m->spans);
    if (overlap)
        return _hl_err(err, errlen, "heapmap: %s: its walk gave overlapping spans at %#" PRIx64,
                       a->name, (uint64_t)overlap->addr);

    /* 4. segments, in address order: walked runs and clusters of the
     * blocks outside them, merged in one pass over both sorted arrays. */
    size_t si = 0, bi = 0, outside = 0;
    bool open = false;           /* a cluster of outside blocks is open */
    uint64_t cl_start = 0, cl_end = 0;
    while (si < nspans || bi < nblocks) {
        bool take_span = bi >= nblocks || (si < nspans && sp[si].addr <= bl[bi].addr);
        if (take_span) {
            if (open && push_seg(m, cl_start, cl_end, false) != 0)
                c.oom = true;
            open = false;
            uint64_t start = sp[si].addr, end = sp[si].addr + sp[si].size;
            for (si++; si < nspans && sp[si].addr == end; si++)
                end = sp[si].addr + sp[si].size;
            if (push_seg(m, start, end, true) != 0)
                c.oom = true;
            /* Blocks inside this run are the walk's. */
            while (bi < nblocks && bl[bi].addr < end)
                bi++;
            continue;
        }
        const block_t *b = &bl[bi++];
        outside++;
        uint64_t bend = b->addr + b->usable;
        if (open && b->addr - cl_end < HL_HEAPMAP_MERGE_GAP && b->addr >= cl_end) {
            cl_end = bend > cl_end ? bend : cl_end;
        } else {
            if (open && push_seg(m, cl_start, cl_end, false) != 0)
                c.oom = true;
            open = true;
            cl_start = b->addr;
            cl_end = bend;
        }
    }
    if (open && push_seg(m, cl_start, cl_end, false) != 0)
        c.oom = true;
    if (c.oom)
        return _hl_err(err, errlen, "heapmap: out of memory for a snapshot");
    seg_t *sg = m->segs.base;
    size_t nsegs = m->segs.len / sizeof *sg;

    /* Bin size: about HL_HEAPMAP_BINS bins in all, a segment starting on a
     * new bin; doubled while the segments' partial bins push the count past
     * twice that. */
    uint64_t total = 0;
    for (size_t i = 0; i < nsegs; i++)
        total += sg[i].end - sg[i].start;
    uint64_t bin_bytes = (total + HL_HEAPMAP_BINS - 1) / HL_HEAPMAP_BINS;
    bin_bytes = bin_bytes < 16 ? 16 : (bin_bytes + 15) & ~(uint64_t)15;
    uint64_t nbins;
    for (;;) {
        nbins = 0;
        for (size_t i = 0; i < nsegs; i++) {
            sg[i].first_bin = nbins;
            nbins += (sg[i].end - sg[i].start + bin_bytes - 1) / bin_bytes;
        }
        if (nbins <= 2 * HL_HEAPMAP_BINS)
            break;
        bin_bytes *= 2;
    }
    if (nbins > m->nbins_mapped) {
        if (m->bins)
            _hl_unmap(m->bins, m->nbins_mapped * sizeof *m->bins);
        m->bins = _hl_map(nbins * sizeof *m->bins);
        m->nbins_mapped = m->bins ? nbins : 0;
        if (!m->bins)
            return _hl_err(err, errlen, "heapmap: out of memory for %" PRIu64 " bins", nbins);
    }
    if (nbins > 0)
        memset(m->bins, 0, nbins * sizeof *m->bins);

    /* 5. bins */
    for (size_t i = 0; i < nspans; i++) {
        const seg_t *g = seg_at(sg, nsegs, sp[i].addr);
        bin_add(m, g, bin_bytes, sp[i].addr, sp[i].addr + sp[i].size,
                span_kind_to_map[sp[i].kind], +1);
    }
    for (size_t i = 0; i < nsegs; i++) {
        if (!sg[i].walked)
            bin_add(m, &sg[i], bin_bytes, sg[i].start, sg[i].end, HL_MAP_UNKNOWN, +1);
    }
    uint64_t mismatch = 0;
    for (size_t i = 0; i < nblocks; i++) {
        const block_t *b = &bl[i];
        const seg_t *g = seg_at(sg, nsegs, b->addr);
        hl_assert(g != NULL);
        int from = HL_MAP_UNKNOWN;
        if (g->walked) {
            const hl_span_t *s = hl_spans_at(&m->spans, b->addr);
            if (!s || s->kind != HL_SPAN_USED || b->addr + b->usable > s->addr + s->size) {
                mismatch += b->usable;
                continue;
            }
            from = HL_MAP_CACHED;
        }
        uint64_t req_end = b->addr + b->req, end = b->addr + b->usable;
        bin_add(m, g, bin_bytes, b->addr, end, from, -1);
        bin_add(m, g, bin_bytes, b->addr, req_end, HL_MAP_LIVE, +1);
        bin_add(m, g, bin_bytes, req_end, end, HL_MAP_SLACK, +1);
    }

    /* Write it. */
    hl_stats_t st;
    hl_stats(a, &st);
    fprintf(out, "{\"step\":%zu,\"live_blocks\":%zu,\"live_bytes\":%zu,\"held_bytes\":", step,
            (size_t)m->live.count, m->live_bytes);
    if (st.valid & HL_STAT_HELD)
        fprintf(out, "%zu", st.held_bytes);
    else
        fprintf(out, "null");
    if (arc == 0)
        write_arenas(m, out);
    fprintf(out, ",\"strip\":{\"walk\":%s,\"outside_blocks\":%zu,\"mismatch_bytes\":%" PRIu64
            ",\"bin_bytes\":%" PRIu64 ",\"row_bins\":%d,\"kinds\":[",
            walked ? "true" : "false", outside, mismatch, bin_bytes, HL_HEAPMAP_ROW_BINS);
    for (int k = 0; k < HL_MAP_KINDS; k++)
        fprintf(out, "%s\"%s\"", k ? "," : "", kind_names[k]);
    fprintf(out, "],\"segments\":[");
    for (size_t i = 0; i < nsegs; i++)
        fprintf(out, "%s[%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%s]", i ? "," : "", sg[i].start,
                sg[i].end, sg[i].first_bin, sg[i].walked ? "true" : "false");
    fprintf(out, "],\"bins\":[");
    for (uint64_t i = 0; i < nbins; i++) {
        fprintf(out, "%s[", i ? "," : "");
        for (int k = 0; k < HL_MAP_KINDS; k++) {
            int64_t v = m->bins[i][k];
            fprintf(out, "%s%" PRId64, k ? "," : "", v < 0 ? (int64_t)0 : v);
        }
        fprintf(out, "]");
    }
    fprintf(out, "]}}");
    return ferror(out) ? _hl_err(err, errlen, "heapmap: write error") : 0;
}
