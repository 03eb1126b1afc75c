/* validate.c: pymalloc's invariants as executable checks.
 *
 * Included by a variant file.  Each check returns true iff its invariants
 * (stated in obmalloc.h) hold, and names the first broken one on `report`.
 * They run inside hl_assert_expensive (HL_DEBUG 3), from the allocator's
 * check() entry, and after every step of the fuzz targets.  They read free
 * blocks' links, which ASan sees as poisoned, hence no_sanitize.
 */

#define FAIL(...)                                      \
    do {                                               \
        if (report) {                                  \
            fprintf(report, HL_PM_NAME ": invariant: "); \
            fprintf(report, __VA_ARGS__);              \
            fputc('\n', report);                       \
        }                                              \
        return false;                                  \
    } while (0)

/* One carved pool with count > 0 (used or full). */
HL_NO_SANITIZE_ADDRESS
static bool pool_is_valid(OMState *state, poolp pool, uint arenaindex, FILE *report)
{
    HL_UNUSED(state);
    if (pool->arenaindex != arenaindex)
        FAIL("pool %p: arenaindex %u, expected %u", (void *)pool, pool->arenaindex, arenaindex);
    if (pool->szidx >= NB_SMALL_SIZE_CLASSES)
        FAIL("pool %p: szidx %u out of range", (void *)pool, pool->szidx);
    uint size = INDEX2SIZE(pool->szidx);
    if (pool->maxnextoffset != POOL_SIZE - size)
        FAIL("pool %p: maxnextoffset %u != POOL_SIZE - size", (void *)pool, pool->maxnextoffset);
    if (pool->nextoffset < POOL_OVERHEAD + size || pool->nextoffset > pool->maxnextoffset + size ||
        (pool->nextoffset - POOL_OVERHEAD) % size != 0)
        FAIL("pool %p: nextoffset %u out of range", (void *)pool, pool->nextoffset);
    uint carved = (pool->nextoffset - POOL_OVERHEAD) / size;
    if (pool->ref.count > carved)
        FAIL("pool %p: count %u > carved blocks %u", (void *)pool, pool->ref.count, carved);
    uint nfree = 0;
    for (pymem_block *bp = pool->freeblock; bp != NULL; bp = *(pymem_block **)bp) {
        uintptr_t off = (uintptr_t)bp - (uintptr_t)pool;
        if (off < POOL_OVERHEAD || off >= pool->nextoffset || (off - POOL_OVERHEAD) % size)
            FAIL("pool %p: free block %p is not a carved block", (void *)pool, (void *)bp);
        if (++nfree > carved)
            FAIL("pool %p: free list longer than the carved blocks (a cycle?)", (void *)pool);
    }
    /* Every carved block is either handed out or on the free list. */
    if (pool->ref.count + nfree != carved)
        FAIL("pool %p: count %u + free %u != carved %u", (void *)pool, pool->ref.count, nfree, carved);
    return true;
}

/* Is pool on the circular list whose phantom head is head? */
static bool pool_in_used_list(poolp head, poolp pool)
{
    for (poolp p = head->nextpool; p != head; p = p->nextpool)
        if (p == pool)
            return true;
    return false;
}

static bool usedpools_are_valid(OMState *state, FILE *report)
{
    for (uint i = 0; i < NB_SMALL_SIZE_CLASSES; i++) {
        poolp head = PTA(i);
        poolp prev = head;
        size_t n = 0;
        for (poolp p = head->nextpool; p != head; prev = p, p = p->nextpool) {
            if (p->prevpool != prev)
                FAIL("usedpools[%u]: pool %p: prevpool is not its predecessor", i, (void *)p);
            if (p->szidx != i)
                FAIL("usedpools[%u]: pool %p has szidx %u", i, (void *)p, p->szidx);
            if (p->ref.count == 0 || p->freeblock == NULL)
                FAIL("usedpools[%u]: pool %p is not in the used state", i, (void *)p);
            if (++n > narenas_currently_allocated * MAX_POOLS_IN_ARENA)
                FAIL("usedpools[%u]: list does not return to its head", i);
        }
        if (head->prevpool != prev)
            FAIL("usedpools[%u]: head's prevpool is not the last pool", i);
    }
    return true;
}

static bool arenas_are_valid(OMState *state, FILE *report)
{
    size_t nallocated = 0, nunused = 0;
    for (uint i = 0; i < maxarenas; i++)
        if (arenas[i].address != 0)
            nallocated++;
    if (nallocated != narenas_currently_allocated)
        FAIL("%zu arenas have an address, narenas_currently_allocated is %zu", nallocated,
             narenas_currently_allocated);
    if (narenas_highwater < narenas_currently_allocated ||
        ntimes_arena_allocated < narenas_currently_allocated)
        FAIL("arena counters out of order");

    /* unused_arena_objects: singly linked, every address 0 */
    for (struct arena_object *ao = unused_arena_objects; ao != NULL; ao = ao->nextarena) {
        if (ao->address != 0)
            FAIL("unused_arena_objects holds arena %u with an address", (uint)(ao - arenas));
        if (++nunused > maxarenas)
            FAIL("unused_arena_objects does not end");
    }
    if (nunused + nallocated != maxarenas)
        FAIL("unused %zu + allocated %zu != maxarenas %u", nunused, nallocated, maxarenas);

    /* usable_arenas: doubly linked, nfreepools ascending, nfp2lasta exact */
    struct arena_object *last_with[MAX_POOLS_IN_ARENA + 1] = {0};
    size_t nusable = 0;
    struct arena_object *prev = NULL;
    for (struct arena_object *ao = usable_arenas; ao != NULL; prev = ao, ao = ao->nextarena) {
        if (ao->address == 0)
            FAIL("usable_arenas holds an unassociated arena object");
        if (ao->prevarena != prev)
            FAIL("usable_arenas: arena %u: prevarena is not its predecessor", (uint)(ao - arenas));
        if (ao->nfreepools == 0)
            FAIL("usable_arenas: arena %u has no free pool", (uint)(ao - arenas));
        if (prev && prev->nfreepools > ao->nfreepools)
            FAIL("usable_arenas not sorted by nfreepools at arena %u", (uint)(ao - arenas));
        last_with[ao->nfreepools] = ao;
        if (++nusable > nallocated)
            FAIL("usable_arenas does not end");
    }
    for (uint n = 0; n <= MAX_POOLS_IN_ARENA; n++)
        if (nfp2lasta[n] != last_with[n])
            FAIL("nfp2lasta[%u] is not the rightmost arena with %u free pools", n, n);

    /* each allocated arena: pools, free pools, membership */
    for (uint i = 0; i < maxarenas; i++) {
        struct arena_object *ao = &arenas[i];
        if (ao->address == 0)
            continue;
        uintptr_t first = (ao->address + POOL_SIZE_MASK) & ~(uintptr_t)POOL_SIZE_MASK;
        uint expected_total = MAX_POOLS_IN_ARENA - (first != ao->address);
        if (ao->ntotalpools != expected_total)
            FAIL("arena %u: ntotalpools %u, expected %u", i, ao->ntotalpools, expected_total);
        if ((uintptr_t)ao->pool_address < first ||
            (uintptr_t)ao->pool_address > first + (size_t)ao->ntotalpools * POOL_SIZE ||
            ((uintptr_t)ao->pool_address - first) % POOL_SIZE)
            FAIL("arena %u: pool_address out of range", i);
        uint uncarved = (uint)((first + (size_t)ao->ntotalpools * POOL_SIZE -
                                (uintptr_t)ao->pool_address) / POOL_SIZE);
        uint nempty = 0;
        for (poolp p = ao->freepools; p != NULL; p = p->nextpool) {
            if (p->ref.count != 0)
                FAIL("arena %u: freepools holds pool %p with count %u", i, (void *)p, p->ref.count);
            if ((uintptr_t)p < first || (uintptr_t)p >= (uintptr_t)ao->pool_address)
                FAIL("arena %u: freepools holds pool %p outside its carved pools", i, (void *)p);
            if (++nempty > ao->ntotalpools)
                FAIL("arena %u: freepools does not end", i);
        }
        if (ao->nfreepools != nempty + uncarved)
            FAIL("arena %u: nfreepools %u != empty %u + uncarved %u", i, ao->nfreepools, nempty,
                 uncarved);
        bool on_usable = false;
        for (struct arena_object *u = usable_arenas; u != NULL; u = u->nextarena)
            if (u == ao)
                on_usable = true;
        if (on_usable != (ao->nfreepools > 0))
            FAIL("arena %u: on usable_arenas iff nfreepools > 0 fails (nfreepools %u)", i,
                 ao->nfreepools);
        /* the 3.9+ rule: a wholly free arena survives only as the last usable */
        if (ao->nfreepools == ao->ntotalpools && ao->nextarena != NULL)
            FAIL("arena %u is wholly free but not the last usable arena", i);
        uint nempty_walk = 0;
        for (uintptr_t base = first; base < (uintptr_t)ao->pool_address; base += POOL_SIZE) {
            poolp p = (poolp)base;
            if (p->ref.count == 0) {
                nempty_walk++;
                continue;
            }
            if (!pool_is_valid(state, p, i, report))
                return false;
            bool in_used = pool_in_used_list(PTA(p->szidx), p);
            if (in_used != (p->freeblock != NULL))
                FAIL("pool %p: in usedpools iff it has a free block fails", (void *)p);
        }
        if (nempty_walk != nempty)
            FAIL("arena %u: %u empty carved pools, %u on freepools", i, nempty_walk, nempty);
#if WITH_PYMALLOC_RADIX_TREE
        if (!arena_map_is_used(state, (pymem_block *)ao->address) ||
            !arena_map_is_used(state, (pymem_block *)ao->address + ARENA_SIZE - 1))
            FAIL("arena %u: radix tree does not cover it", i);
#else
        if (first < (uintptr_t)ao->pool_address &&
            !address_in_range(state, (void *)(first + POOL_OVERHEAD), (poolp)first))
            FAIL("arena %u: address_in_range rejects its first pool", i);
#endif
    }
    return true;
}

HL_NO_SANITIZE_ADDRESS
static bool pymalloc_heap_is_valid(OMState *state, FILE *report)
{
    return usedpools_are_valid(state, report) && arenas_are_valid(state, report);
}

#undef FAIL
