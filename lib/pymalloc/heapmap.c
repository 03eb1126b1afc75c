/* heapmap.c: pymalloc's heap as `heaplab map` draws it (heaplab/heapmap.h).
 *
 * Included by a variant file.  Two read-only views of the same structures:
 *
 *   arenas   CPython's own diagram: arenas[0 .. maxarenas) in index order,
 *            each arena as its MAX_POOLS_IN_ARENA pools,
 *
 *              address          first_pool                       pool_address
 *              |  (alignment)   |  pool 0  |  pool 1  | ...     |  uncarved ... | lost |
 *                                 ^ header: ref.count, szidx, nextoffset
 *
 *            pool i is UNCARVED iff first_pool + i * POOL_SIZE >= pool_address;
 *            a carved pool is EMPTY iff ref.count == 0 (it is then on the
 *            arena's freepools list), FULL iff ref.count == NUMBLOCKS(szidx),
 *            else USED; when the arena is not pool-aligned, ntotalpools is
 *            MAX_POOLS_IN_ARENA - 1 and the last slot is LOST.
 *            A slot with address 0 held an arena that went back to the
 *            system iff index < narenas_highwater: new_arena() always takes
 *            the head of unused_arena_objects, onto which freed slots are
 *            pushed, so a never-used slot is taken only when every slot used
 *            so far holds an arena, and the slots ever used are exactly
 *            0 .. narenas_highwater - 1.
 *
 *   walk     the same memory as spans, address-ordered within an arena:
 *            the alignment head and a lost tail are OVERHEAD; an uncarved
 *            pool is UNUSED; a carved pool is its header (OVERHEAD), its
 *            blocks (USED, or FREE if on the pool's freeblock list or not
 *            yet carved: past nextoffset) and its quantization tail
 *            (POOL_SIZE - POOL_OVERHEAD) % size (OVERHEAD); an empty pool is
 *            its header and FREE.  So the spans sum to
 *                narenas_currently_allocated * ARENA_SIZE
 *            exactly.  Blocks pymalloc handed to the raw allocator are not
 *            in any arena and not in the walk.
 *
 * Neither view allocates; both read free blocks' links, which ASan sees as
 * poisoned (hence HL_NO_SANITIZE_ADDRESS).
 */

static void pm_pool_view(OMState *state, const struct arena_object *ao, uint i,
                         hl_pool_view_t *out)
{
    HL_UNUSED(state);
    uintptr_t first = (ao->address + POOL_SIZE_MASK) & ~(uintptr_t)POOL_SIZE_MASK;
    poolp pool = (poolp)(first + (uintptr_t)i * POOL_SIZE);
    memset(out, 0, sizeof *out);
    if (i >= ao->ntotalpools) {
        out->state = HL_POOL_LOST;
        return;
    }
    if ((pymem_block *)pool >= ao->pool_address) {
        out->state = HL_POOL_UNCARVED;
        return;
    }
    out->szidx = pool->szidx;
    out->nused = pool->ref.count;
    if (pool->szidx < NB_SMALL_SIZE_CLASSES) {
        out->block_size = INDEX2SIZE(pool->szidx);
        out->nblocks = NUMBLOCKS(pool->szidx);
    }
    if (pool->ref.count == 0)
        out->state = HL_POOL_EMPTY;
    else if (pool->ref.count == out->nblocks)
        out->state = HL_POOL_FULL;
    else
        out->state = HL_POOL_USED;
}

static int pm_arenas(void *ctx, hl_arena_fn fn, void *user)
{
    OMState *state = ctx;
    hl_arena_view_t v;
    for (uint i = 0; i < maxarenas; i++) {
        const struct arena_object *ao = &arenas[i];
        memset(&v, 0, sizeof v);
        v.index = i;
        v.address = ao->address;
        v.arena_size = ARENA_SIZE;
        v.pool_size = POOL_SIZE;
        if (ao->address == 0) {
            v.returned = i < narenas_highwater;
        }
        else {
            v.first_pool = (ao->address + POOL_SIZE_MASK) & ~(uintptr_t)POOL_SIZE_MASK;
            v.nfreepools = ao->nfreepools;
            v.ntotalpools = ao->ntotalpools;
            uint nfree = 0;
            for (uint p = 0; p < MAX_POOLS_IN_ARENA; p++) {
                pm_pool_view(state, ao, p, &v.pools[p]);
                nfree += v.pools[p].state == HL_POOL_EMPTY || v.pools[p].state == HL_POOL_UNCARVED;
            }
            if (nfree != ao->nfreepools)
                return -1;   /* nfreepools == #EMPTY + #UNCARVED is broken */
        }
        fn(user, &v);
    }
    return 0;
}

/* Report [a, a + n) as kind, if n > 0. */
static inline void pm_span(hl_span_fn fn, void *user, uintptr_t a, size_t n, hl_span_kind_t kind)
{
    if (n > 0)
        fn(user, a, n, kind);
}

/* The blocks of a carved pool with count > 0, runs of one kind at a time. */
HL_NO_SANITIZE_ADDRESS
static int pm_walk_pool_blocks(poolp pool, hl_span_fn fn, void *user)
{
    uint size = INDEX2SIZE(pool->szidx);
    uint nblocks = NUMBLOCKS(pool->szidx);
    if (pool->nextoffset < POOL_OVERHEAD || pool->nextoffset > POOL_SIZE)
        return -1;
    uint carved = (pool->nextoffset - POOL_OVERHEAD) / size;
    if (carved > nblocks)
        return -1;
    /* free[k] iff block k is on the freeblock list or not yet carved. */
    uint64_t freebits[(POOL_SIZE / ALIGNMENT + 63) / 64];
    memset(freebits, 0, sizeof freebits);
    uint nfree = 0;
    for (pymem_block *bp = pool->freeblock; bp != NULL; bp = *(pymem_block **)bp) {
        uintptr_t off = (uintptr_t)bp - (uintptr_t)pool;
        if (off < POOL_OVERHEAD || off >= pool->nextoffset || (off - POOL_OVERHEAD) % size != 0
            || ++nfree > carved)
            return -1;
        uint k = (uint)((off - POOL_OVERHEAD) / size);
        freebits[k / 64] |= (uint64_t)1 << (k % 64);
    }
    for (uint k = carved; k < nblocks; k++)
        freebits[k / 64] |= (uint64_t)1 << (k % 64);

    uintptr_t base = (uintptr_t)pool + POOL_OVERHEAD;
    uint run = 0;
    for (uint k = 1; k <= nblocks; k++) {
        bool prev_free = (freebits[(k - 1) / 64] >> ((k - 1) % 64)) & 1;
        bool this_free = k < nblocks && ((freebits[k / 64] >> (k % 64)) & 1);
        if (k == nblocks || this_free != prev_free) {
            pm_span(fn, user, base + (uintptr_t)run * size, (size_t)(k - run) * size,
                    prev_free ? HL_SPAN_FREE : HL_SPAN_USED);
            run = k;
        }
    }
    /* The quantization tail. */
    uintptr_t end = base + (uintptr_t)nblocks * size;
    pm_span(fn, user, end, (uintptr_t)pool + POOL_SIZE - end, HL_SPAN_OVERHEAD);
    return 0;
}

static int pm_walk(void *ctx, hl_span_fn fn, void *user)
{
    OMState *state = ctx;
    for (uint i = 0; i < maxarenas; i++) {
        const struct arena_object *ao = &arenas[i];
        if (ao->address == 0)
            continue;
        uintptr_t first = (ao->address + POOL_SIZE_MASK) & ~(uintptr_t)POOL_SIZE_MASK;
        pm_span(fn, user, ao->address, first - ao->address, HL_SPAN_OVERHEAD);
        for (uint p = 0; p < ao->ntotalpools; p++) {
            hl_pool_view_t pv;
            pm_pool_view(state, ao, p, &pv);
            uintptr_t pool = first + (uintptr_t)p * POOL_SIZE;
            switch (pv.state) {
            case HL_POOL_UNCARVED:
                pm_span(fn, user, pool, POOL_SIZE, HL_SPAN_UNUSED);
                break;
            case HL_POOL_EMPTY:
                pm_span(fn, user, pool, POOL_OVERHEAD, HL_SPAN_OVERHEAD);
                pm_span(fn, user, pool + POOL_OVERHEAD, POOL_SIZE - POOL_OVERHEAD, HL_SPAN_FREE);
                break;
            default:
                if (pv.szidx >= NB_SMALL_SIZE_CLASSES)
                    return -1;
                pm_span(fn, user, pool, POOL_OVERHEAD, HL_SPAN_OVERHEAD);
                if (pm_walk_pool_blocks((poolp)pool, fn, user) != 0)
                    return -1;
                break;
            }
        }
        uintptr_t tail = first + (uintptr_t)ao->ntotalpools * POOL_SIZE;
        pm_span(fn, user, tail, ao->address + ARENA_SIZE - tail, HL_SPAN_OVERHEAD);
    }
    return 0;
}
