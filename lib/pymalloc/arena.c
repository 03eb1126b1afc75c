/* arena.c: arenas in and out of use, and the order of usable_arenas.
 *
 * Included by a variant file; see obmalloc.h for the arena invariants.
 *
 *   arenas[]   (grows by doubling, never shrinks; indexes are stable, which is
 *               why a pool records its arena as arenaindex, not a pointer)
 *   +-----------+-----------+-----------+-----------+
 *   | address=0 | arena A   | arena B   | address=0 |
 *   +-----------+-----------+-----------+-----------+
 *        |           ^   \_______^          |
 *        |  usable_arenas: A <-> B  (nfreepools ascending)
 *        +--> unused_arena_objects --------------> (singly linked)
 *
 * Returning a pool to its arena (insert_to_freepool) has four cases:
 *   1. every pool is free and the arena is not the last in usable_arenas:
 *      unlink it and give it back to the arena source.  The 3.9+ rule
 *      (bpo-37257) keeps the last one, so a loop that allocates and frees
 *      one object does not map and unmap an arena on every iteration;
 *   2. nf == 1 (the arena was full): push it at the head of usable_arenas;
 *   3. the arena is now out of order: slide it right, to just after
 *      nfp2lasta[old nf], in O(1) (bpo-37029; before, a linear search made
 *      freeing O(arenas**2) overall);
 *   4. otherwise nothing.
 * Sorting sends allocations to the fullest arenas, so nearly empty ones can
 * drain and be released.
 */

/* Allocate a new arena.  If we run out of memory, return NULL.  Else allocate
 * a new arena, and return the address of an arena_object describing it. */
static struct arena_object *new_arena(OMState *state)
{
    struct arena_object *arenaobj;
    uint excess; /* number of bytes above pool alignment */
    void *address;

    if (unused_arena_objects == NULL) {
        uint i;
        uint numarenas;
        size_t nbytes;

        /* Double the number of arena objects on each allocation.  Note that
         * it's possible for `numarenas` to overflow. */
        numarenas = maxarenas ? maxarenas << 1 : INITIAL_ARENA_OBJECTS;
        if (numarenas <= maxarenas)
            return NULL; /* overflow */
        nbytes = numarenas * sizeof(*arenas);
        arenaobj = (struct arena_object *)PyMem_RawRealloc(arenas, nbytes);
        if (arenaobj == NULL)
            return NULL;
        arenas = arenaobj;

        /* We might need to fix pointers that were copied.  However, new_arena
         * only gets called when all the pages in the previous arenas are
         * full.  Thus, there are *no* pointers into the old array. */
        hl_assert_internal(usable_arenas == NULL);
        hl_assert_internal(unused_arena_objects == NULL);

        /* Put the new arenas on the unused_arena_objects list. */
        for (i = maxarenas; i < numarenas; ++i) {
            arenas[i].address = 0; /* mark as unassociated */
            arenas[i].nextarena = i < numarenas - 1 ? &arenas[i + 1] : NULL;
        }

        unused_arena_objects = &arenas[maxarenas];
        maxarenas = numarenas;
    }

    /* Take the next available arena object off the head of the list. */
    hl_assert_internal(unused_arena_objects != NULL);
    arenaobj = unused_arena_objects;
    unused_arena_objects = arenaobj->nextarena;
    hl_assert_internal(arenaobj->address == 0);
    address = state->arena_source.alloc(state->arena_source.ctx, ARENA_SIZE);
#if WITH_PYMALLOC_RADIX_TREE
    if (address != NULL) {
        if (!arena_map_mark_used(state, (uintptr_t)address, 1)) {
            /* marking arena in radix tree failed, abort */
            state->arena_source.free(state->arena_source.ctx, address, ARENA_SIZE);
            address = NULL;
        }
    }
#endif
    if (address == NULL) {
        /* The allocation failed: return NULL after putting the arenaobj
         * back. */
        arenaobj->nextarena = unused_arena_objects;
        unused_arena_objects = arenaobj;
        return NULL;
    }
    arenaobj->address = (uintptr_t)address;
    hl_poison(address, ARENA_SIZE);

    ++narenas_currently_allocated;
    ++ntimes_arena_allocated;
    if (narenas_currently_allocated > narenas_highwater)
        narenas_highwater = narenas_currently_allocated;
    arenaobj->freepools = NULL;
    /* pool_address <- first pool-aligned address in the arena
       nfreepools <- number of whole pools that fit after alignment */
    arenaobj->pool_address = (pymem_block *)arenaobj->address;
    arenaobj->nfreepools = MAX_POOLS_IN_ARENA;
    excess = (uint)(arenaobj->address & POOL_SIZE_MASK);
    if (excess != 0) {
        --arenaobj->nfreepools;
        arenaobj->pool_address += POOL_SIZE - excess;
    }
    arenaobj->ntotalpools = arenaobj->nfreepools;

    return arenaobj;
}

/* Give an arena back to the arena source. */
static void release_arena(OMState *state, struct arena_object *ao)
{
#if WITH_PYMALLOC_RADIX_TREE
    /* mark arena region as not under control of obmalloc */
    arena_map_mark_used(state, ao->address, 0);
#endif
    /* Clear ASan's shadow: the next mapping at this address is not ours. */
    hl_unpoison((void *)ao->address, ARENA_SIZE);
    state->arena_source.free(state->arena_source.ctx, (void *)ao->address, ARENA_SIZE);
    ao->address = 0; /* mark unassociated */
    --narenas_currently_allocated;
}

/* The pool just became empty: it leaves usedpools for its arena's freepools,
 * and the arena moves within (or leaves) usable_arenas. */
static void insert_to_freepool(OMState *state, poolp pool)
{
#ifdef HL_PLANT_POOL_NOT_UNLINKED
    /* planted bug: the empty pool is not unlinked from usedpools[] before
     * it joins its arena's freepools: it is on both lists */
#else
    poolp next = pool->nextpool;
    poolp prev = pool->prevpool;
    next->prevpool = prev;
    prev->nextpool = next;
#endif

    /* Link the pool to freepools.  This is a singly-linked list, and
     * pool->prevpool isn't used there. */
    struct arena_object *ao = &arenas[pool->arenaindex];
    pool->nextpool = ao->freepools;
    ao->freepools = pool;
    uint nf = ao->nfreepools;
    /* If this is the rightmost arena with this number of free pools,
     * nfp2lasta[nf] needs to change.  Caution: if nf is 0, there are no
     * arenas in usable_arenas with that value. */
    struct arena_object *lastnf = nfp2lasta[nf];
    hl_assert_internal((nf == 0 && lastnf == NULL) ||
                       (nf > 0 && lastnf != NULL && lastnf->nfreepools == nf &&
                        (lastnf->nextarena == NULL || nf < lastnf->nextarena->nfreepools)));
#ifdef HL_PLANT_NFP2LASTA_STALE
    /* planted bug: nfp2lasta[nf] not moved off ao, which now has nf + 1 */
#else
    if (lastnf == ao) { /* it is the rightmost */
        struct arena_object *p = ao->prevarena;
        nfp2lasta[nf] = (p != NULL && p->nfreepools == nf) ? p : NULL;
    }
#endif
    ao->nfreepools = ++nf;

    if (nf == ao->ntotalpools && ao->nextarena != NULL) {
        /* Case 1.  First unlink ao from usable_arenas.  Fix the pointer in
         * the prevarena, or the usable_arenas pointer. */
        hl_assert_internal(ao->prevarena == NULL || ao->prevarena->address != 0);
        hl_assert_internal(ao->nextarena == NULL || ao->nextarena->address != 0);
        if (ao->prevarena == NULL) {
            usable_arenas = ao->nextarena;
            hl_assert_internal(usable_arenas == NULL || usable_arenas->address != 0);
        }
        else {
            hl_assert_internal(ao->prevarena->nextarena == ao);
            ao->prevarena->nextarena = ao->nextarena;
        }
        /* Fix the pointer in the nextarena. */
        if (ao->nextarena != NULL) {
            hl_assert_internal(ao->nextarena->prevarena == ao);
            ao->nextarena->prevarena = ao->prevarena;
        }
        /* Record that this arena_object slot is available to be reused. */
        ao->nextarena = unused_arena_objects;
        unused_arena_objects = ao;

        /* Free the entire arena. */
        release_arena(state, ao);
        return;
    }

    if (nf == 1) {
        /* Case 2.  Put ao at the head of usable_arenas.  Note that because
         * ao->nfreepools was 0 before, ao isn't currently on the
         * usable_arenas list. */
        ao->nextarena = usable_arenas;
        ao->prevarena = NULL;
        if (usable_arenas)
            usable_arenas->prevarena = ao;
        usable_arenas = ao;
        hl_assert_internal(usable_arenas->address != 0);
        if (nfp2lasta[1] == NULL)
            nfp2lasta[1] = ao;
        return;
    }

    /* If this arena is now out of order, we need to keep the list sorted.
     * If this is the only arena with nf, record that. */
    if (nfp2lasta[nf] == NULL)
        nfp2lasta[nf] = ao;
    /* else the rightmost with nf doesn't change */

    /* If this was the rightmost of the old size, it remains in place. */
#ifdef HL_PLANT_ARENA_NOT_RESORTED
    /* planted bug: tests the new count's rightmost, not the old count's:
     * an arena first to reach nf stays put, out of order */
    if (nfp2lasta[nf] == ao) {
#else
    if (ao == lastnf) {
#endif
        /* Case 4.  Nothing to do. */
        return;
    }
    /* If ao were the only arena in the list, the last block would have
     * gotten us out. */
    hl_assert_internal(ao->nextarena != NULL);

    /* Case 3: we need to move ao to the right of the last arena with
     * nfreepools < ao->nfreepools = nf, which is lastnf, the old rightmost
     * arena with nf - 1 free pools. */
    hl_assert_internal(lastnf->nextarena != ao);
    /* Slide ao right: unlink ao. */
    hl_assert_internal(ao->nextarena->prevarena == ao);
    ao->nextarena->prevarena = ao->prevarena;
    if (ao->prevarena != NULL) {
        hl_assert_internal(ao->prevarena->nextarena == ao);
        ao->prevarena->nextarena = ao->nextarena;
    }
    else {
        hl_assert_internal(usable_arenas == ao);
        usable_arenas = ao->nextarena;
    }
    /* Insert ao after lastnf. */
    ao->prevarena = lastnf;
    ao->nextarena = lastnf->nextarena;
    if (ao->nextarena != NULL)
        ao->nextarena->prevarena = ao;
    lastnf->nextarena = ao;
    /* Verify that the swaps worked. */
    hl_assert_internal(ao->nextarena == NULL || nf <= ao->nextarena->nfreepools);
    hl_assert_internal(ao->prevarena == NULL || nf > ao->prevarena->nfreepools);
    hl_assert_internal(ao->nextarena == NULL || ao->nextarena->prevarena == ao);
    hl_assert_internal((usable_arenas == ao && ao->prevarena == NULL) ||
                       ao->prevarena->nextarena == ao);
}
