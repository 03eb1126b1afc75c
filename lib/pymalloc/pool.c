/* pool.c: blocks in and out of pools -- pymalloc's hot path.
 *
 * Included by a variant file (variant_radix.c, variant_classic.c); see
 * obmalloc.h for the pool states and their invariants.
 *
 * Allocation (pymalloc_alloc), in the order CPython tries it:
 *
 *   1. usedpools[2*idx] is a pool (not the phantom head): ++count and pop its
 *      freeblock list.  If that empties the list, pymalloc_pool_extend either
 *      carves the next virgin block (nextoffset <= maxnextoffset) or, the
 *      pool being full, unlinks it from usedpools.
 *   2. No used pool: allocate_from_new_pool takes a pool from the head of
 *      usable_arenas (the fullest arena): a cached empty pool from its
 *      freepools, else a never-carved one at pool_address.  new_arena()
 *      (arena.c) runs only when usable_arenas is empty.
 *   3. The pool is front-linked with count 1.  If it last held blocks of the
 *      same class its free list is reused as it is; otherwise the header is
 *      set up, block 2 becomes the whole free list and block 1 is returned:
 *      memory is never touched before it is needed.
 *
 * Free (pymalloc_free): push the block on its pool's freeblock list and
 * --count; a pool that was full is front-linked into usedpools (LRU reuse);
 * a pool that became empty goes to its arena's freepools (arena.c).
 *
 * ASan: a free block is poisoned whole (its link word is reached through
 * block_next / block_set_next only); a block is unpoisoned when handed out.
 */

/* The block at the head of pool's free list is being handed out: pop it, and
 * if the list is now empty either carve the next virgin block or, the pool
 * being full, unlink it from usedpools. */
static void pymalloc_pool_extend(OMState *state, poolp pool, uint size)
{
    HL_UNUSED(state);
    if (HL_UNLIKELY(pool->nextoffset <= pool->maxnextoffset)) {
        /* There is room for another block. */
        pool->freeblock = (pymem_block *)pool + pool->nextoffset;
        pool->nextoffset += INDEX2SIZE(size);
        block_set_next(pool->freeblock, NULL, INDEX2SIZE(size));
        return;
    }

    /* Pool is full, unlink from used pools. */
#ifdef HL_PLANT_FULL_POOL_NOT_UNLINKED
    /* planted bug: a full pool stays linked in usedpools[] */
    return;
#else
    poolp next = pool->nextpool;
    pool = pool->prevpool;
    next->prevpool = pool;
    pool->nextpool = next;
#endif
}

/* Called when no pool of class `size` has a free block. */
static void *allocate_from_new_pool(OMState *state, uint size)
{
    /* There isn't a pool of the right size class immediately available:
     * use a free pool. */
    if (HL_UNLIKELY(usable_arenas == NULL)) {
        /* No arena has a free pool: allocate a new arena. */
        usable_arenas = new_arena(state);
        if (usable_arenas == NULL)
            return NULL;
        usable_arenas->nextarena = usable_arenas->prevarena = NULL;
        hl_assert_internal(nfp2lasta[usable_arenas->nfreepools] == NULL);
        nfp2lasta[usable_arenas->nfreepools] = usable_arenas;
    }
    hl_assert_internal(usable_arenas->address != 0);

    /* This arena already had the smallest nfreepools value, so decreasing
     * nfreepools doesn't change that, and we don't need to rearrange the
     * usable_arenas list.  However, if the arena becomes wholly allocated,
     * we need to remove its arena_object from usable_arenas. */
    hl_assert_internal(usable_arenas->nfreepools > 0);
    if (nfp2lasta[usable_arenas->nfreepools] == usable_arenas) {
        /* It's the last of this size, so there won't be any. */
        nfp2lasta[usable_arenas->nfreepools] = NULL;
    }
    /* If any free pools will remain, it will be the new smallest. */
    if (usable_arenas->nfreepools > 1) {
        hl_assert_internal(nfp2lasta[usable_arenas->nfreepools - 1] == NULL);
        nfp2lasta[usable_arenas->nfreepools - 1] = usable_arenas;
    }

    /* Try to get a cached free pool. */
    poolp pool = usable_arenas->freepools;
    if (HL_LIKELY(pool != NULL)) {
        /* Unlink from cached pools. */
        usable_arenas->freepools = pool->nextpool;
        usable_arenas->nfreepools--;
        if (HL_UNLIKELY(usable_arenas->nfreepools == 0)) {
            /* Wholly allocated: remove. */
            hl_assert_internal(usable_arenas->freepools == NULL);
            hl_assert_internal(usable_arenas->nextarena == NULL ||
                               usable_arenas->nextarena->prevarena == usable_arenas);
            usable_arenas = usable_arenas->nextarena;
            if (usable_arenas != NULL) {
                usable_arenas->prevarena = NULL;
                hl_assert_internal(usable_arenas->address != 0);
            }
        }
        else {
            /* nfreepools > 0: it must be that freepools isn't NULL, or that
             * we haven't yet carved off all the arena's pools for the first
             * time. */
            hl_assert_internal(usable_arenas->freepools != NULL ||
                               usable_arenas->pool_address <=
                                   (pymem_block *)usable_arenas->address + ARENA_SIZE - POOL_SIZE);
        }
    }
    else {
        /* Carve off a new pool. */
        hl_assert_internal(usable_arenas->nfreepools > 0);
        hl_assert_internal(usable_arenas->freepools == NULL);
        pool = (poolp)usable_arenas->pool_address;
        hl_assert_internal((pymem_block *)pool <=
                           (pymem_block *)usable_arenas->address + ARENA_SIZE - POOL_SIZE);
        hl_unpoison(pool, POOL_OVERHEAD);
        pool->arenaindex = (uint)(usable_arenas - arenas);
        hl_assert_internal(&arenas[pool->arenaindex] == usable_arenas);
        pool->szidx = DUMMY_SIZE_IDX;
        usable_arenas->pool_address += POOL_SIZE;
        --usable_arenas->nfreepools;

        if (usable_arenas->nfreepools == 0) {
            hl_assert_internal(usable_arenas->nextarena == NULL ||
                               usable_arenas->nextarena->prevarena == usable_arenas);
            /* Unlink the arena: it is completely allocated. */
            usable_arenas = usable_arenas->nextarena;
            if (usable_arenas != NULL) {
                usable_arenas->prevarena = NULL;
                hl_assert_internal(usable_arenas->address != 0);
            }
        }
    }

    /* Frontlink to used pools. */
    pymem_block *bp;
    poolp next = usedpools[size + size]; /* == prev */
    pool->nextpool = next;
    pool->prevpool = next;
    next->nextpool = pool;
    next->prevpool = pool;
    pool->ref.count = 1;
    if (pool->szidx == size) {
        /* Luckily, this pool last contained blocks of the same size class,
         * so its header and free list are already initialized. */
        bp = pool->freeblock;
        hl_assert_internal(bp != NULL);
        pool->freeblock = block_next(bp);
        hl_unpoison(bp, INDEX2SIZE(size));
        return bp;
    }
    /* Initialize the pool header, set up the free list to contain just the
     * second block, and return the first block. */
    hl_stat_inc(state->counters.pool_inits);
    pool->szidx = size;
    size = INDEX2SIZE(size);
    bp = (pymem_block *)pool + POOL_OVERHEAD;
    pool->nextoffset = POOL_OVERHEAD + (size << 1);
    pool->maxnextoffset = POOL_SIZE - size;
    pool->freeblock = bp + size;
    block_set_next(pool->freeblock, NULL, size);
    hl_unpoison(bp, size);
    return bp;
}

/* pymalloc allocator.  Returns a block of at least nbytes, or NULL if the
 * request is not pymalloc's (0 bytes, over the threshold) or memory ran out:
 * the caller then falls back to the raw allocator. */
static inline void *pymalloc_alloc(OMState *state, size_t nbytes)
{
    /* nbytes == 0 wraps around and fails the test, as it should. */
    if (HL_UNLIKELY(nbytes - 1 >= SMALL_REQUEST_THRESHOLD))
        return NULL;

#ifdef HL_PLANT_SIZE_CLASS_OFF_BY_ONE
    /* planted bug: size class of nbytes, not nbytes - 1: one class too big
     * for multiples of ALIGNMENT, and past the last class for 512 */
    uint size = (uint)nbytes >> ALIGNMENT_SHIFT;
#else
    uint size = (uint)(nbytes - 1) >> ALIGNMENT_SHIFT;
#endif
    poolp pool = usedpools[size + size];
    pymem_block *bp;

    if (HL_LIKELY(pool != pool->nextpool)) {
        /* There is a used pool for this size class.  Pick up the head block
         * of its free list. */
        ++pool->ref.count;
        bp = pool->freeblock;
        hl_assert_internal(bp != NULL);
        if (HL_UNLIKELY((pool->freeblock = block_next(bp)) == NULL)) {
            /* Reached the end of the free list, try to extend it. */
            pymalloc_pool_extend(state, pool, size);
        }
        hl_unpoison(bp, INDEX2SIZE(size));
    }
    else {
        /* There isn't a pool of the right size class immediately available:
         * use a free pool. */
        bp = allocate_from_new_pool(state, size);
    }
#if HL_STATS
    if (bp) {
        state->live_blocks_counter++;
        state->live_bytes_counter += INDEX2SIZE(size);
    }
#endif
    hl_assert_expensive(pymalloc_heap_is_valid(state, stderr));
    return (void *)bp;
}

/* A previously full pool gets a free block: link it to the front of its
 * usedpools list.  This mimics LRU pool usage for new allocations and
 * targets optimal filling when several pools hold blocks of one class. */
static void insert_to_usedpool(OMState *state, poolp pool)
{
    hl_assert_internal(pool->ref.count > 0); /* else the pool is empty */

    uint size = pool->szidx;
    poolp next = usedpools[size + size];
    poolp prev = next->prevpool;

    /* insert pool before next:   prev <-> pool <-> next */
    pool->nextpool = next;
    pool->prevpool = prev;
    next->prevpool = pool;
    prev->nextpool = pool;
}

/* Free a memory block allocated by pymalloc_alloc().  Returns false if
 * pymalloc did not allocate p (the caller hands it to the raw allocator). */
static inline bool pymalloc_free(OMState *state, void *p)
{
    hl_assert(p != NULL);

    poolp pool = POOL_ADDR(p);
    if (HL_UNLIKELY(!address_in_range(state, p, pool)))
        return false;
    /* We allocated this address. */

    /* Link p to the start of the pool's freeblock list.  Since the pool had
     * at least the p block outstanding, the pool wasn't empty (so it's
     * already in a usedpools[] list, or was full and is in no list -- it's
     * not in the freeblocks list in any case). */
    hl_assert(pool->ref.count > 0); /* else it was empty: a double free */
    pymem_block *lastfree = pool->freeblock;
    block_set_next((pymem_block *)p, lastfree, INDEX2SIZE(pool->szidx));
    pool->freeblock = (pymem_block *)p;
    pool->ref.count--;
#if HL_STATS
    state->live_blocks_counter--;
    state->live_bytes_counter -= INDEX2SIZE(pool->szidx);
#endif

    if (HL_UNLIKELY(lastfree == NULL)) {
        /* Pool was full, so doesn't currently live in any list: link it to
         * the front of the appropriate usedpools[] list. */
        insert_to_usedpool(state, pool);
        return true;
    }

    /* freeblock wasn't NULL, so the pool wasn't full, and the pool is in a
     * usedpools[] list. */
    if (HL_LIKELY(pool->ref.count != 0)) {
        /* pool isn't empty: leave it in usedpools */
        return true;
    }

    /* Pool is now empty: unlink from usedpools, and link to the front of
     * freepools.  This ensures that previously freed pools will be
     * allocated later (being not referenced, they are perhaps paged out). */
    insert_to_freepool(state, pool);
    return true;
}
