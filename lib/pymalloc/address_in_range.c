/* address_in_range.c: did pymalloc allocate p?
 *
 * Included by a variant file.  free and realloc get pointers from anywhere
 * (pymalloc blocks and raw blocks alike) and must answer fast.
 *
 * Radix tree (3.10+ geometry).  See obmalloc.h for the node layout.  A leaf
 * per "ideal" (ARENA_SIZE-aligned) slot records where arenas begin and end
 * inside that slot, so membership is three loads and two compares and never
 * reads memory pymalloc does not own.
 *
 * Arena index (classic geometry).  Read POOL_ADDR(p)->arenaindex and check
 *
 *   idx < maxarenas  &&  (uintptr)p - arenas[idx].address < ARENA_SIZE
 *                    &&  arenas[idx].address != 0
 *
 * Proof sketch, case by case:
 *   p is ours: POOL_ADDR(p) is a carved pool whose header holds the index
 *     of its arena, so all three clauses hold.
 *   p is not ours: arenaindex is garbage.  If it is >= maxarenas we say no.
 *     Otherwise arenas[idx] is a real record; if its arena is allocated, p is
 *     in it only if p is within ARENA_SIZE above its address (unsigned
 *     wrap-around rejects p below it).  If p were inside that arena, p would
 *     be ours.  The address != 0 clause (since 2.5, when arenas started
 *     being freed) rejects a freed arena whose stale address might match.
 *   Reading POOL_ADDR(p) is safe only because a pool is one page: the page
 *     that holds p is mapped, and so is its first byte.  The read may touch
 *     memory we do not own, so it is exempt from ASan, and done once through
 *     volatile so the value cannot change between the checks.
 */
#if WITH_PYMALLOC_RADIX_TREE

/* Return a pointer to a bottom tree node, NULL if it doesn't exist or
 * cannot be created. */
static arena_map_bot_t *arena_map_get(OMState *state, pymem_block *p, int create)
{
    size_t i1 = MAP_TOP_INDEX(p);
    if (arena_map_root.ptrs[i1] == NULL) {
        if (!create)
            return NULL;
        arena_map_mid_t *n = PyMem_RawCalloc(1, sizeof(arena_map_mid_t));
        if (n == NULL)
            return NULL;
        arena_map_root.ptrs[i1] = n;
        arena_map_mid_count++;
    }
    size_t i2 = MAP_MID_INDEX(p);
    if (arena_map_root.ptrs[i1]->ptrs[i2] == NULL) {
        if (!create)
            return NULL;
        arena_map_bot_t *n = PyMem_RawCalloc(1, sizeof(arena_map_bot_t));
        if (n == NULL)
            return NULL;
        arena_map_root.ptrs[i1]->ptrs[i2] = n;
        size_t key = i1 << MAP_MID_BITS | i2;
        if (arena_map_bot_count == 0 || key < state->arena_map_bot_key_lo)
            state->arena_map_bot_key_lo = key;
        if (arena_map_bot_count == 0 || key > state->arena_map_bot_key_hi)
            state->arena_map_bot_key_hi = key;
        arena_map_bot_count++;
    }
    return arena_map_root.ptrs[i1]->ptrs[i2];
}

/* Mark or unmark the addresses covered by the arena at arena_base.  Returns
 * 0 if a node could not be allocated. */
static int arena_map_mark_used(OMState *state, uintptr_t arena_base, int is_used)
{
    arena_map_bot_t *n_hi = arena_map_get(state, (pymem_block *)arena_base, is_used);
    if (n_hi == NULL) {
        hl_assert_internal(is_used); /* otherwise node should already exist */
        return 0;                    /* failed to allocate space for node */
    }
    size_t i3 = MAP_BOT_INDEX((pymem_block *)arena_base);
    int32_t tail = (int32_t)(arena_base & ARENA_SIZE_MASK);
    if (tail == 0) {
        /* is ideal arena address */
        n_hi->slots[i3].tail_hi = is_used ? -1 : 0;
    }
    else {
        /* arena_base is not ideal (aligned to arena size), so it covers two
         * slots, possibly under different bottom, mid and top nodes: do the
         * full traversal again for the next slot. */
        n_hi->slots[i3].tail_hi = is_used ? tail : 0;
        uintptr_t arena_base_next = arena_base + ARENA_SIZE;
        hl_assert_internal(arena_base < arena_base_next);
        arena_map_bot_t *n_lo = arena_map_get(state, (pymem_block *)arena_base_next, is_used);
        if (n_lo == NULL) {
            hl_assert_internal(is_used); /* otherwise should already exist */
            n_hi->slots[i3].tail_hi = 0;
            return 0; /* failed to allocate space for node */
        }
        size_t i3_next = MAP_BOT_INDEX(arena_base_next);
        n_lo->slots[i3_next].tail_lo = is_used ? tail : 0;
    }
    return 1;
}

/* True iff p points inside an arena of this instance. */
static inline bool arena_map_is_used(OMState *state, pymem_block *p)
{
    arena_map_bot_t *n = arena_map_get(state, p, 0);
    if (n == NULL)
        return false;
    size_t i3 = MAP_BOT_INDEX(p);
    int32_t hi = n->slots[i3].tail_hi;
    int32_t lo = n->slots[i3].tail_lo;
    int32_t tail = (int32_t)(AS_UINT(p) & ARENA_SIZE_MASK);
    return (tail < lo) || (tail >= hi && hi != 0);
}

static inline bool address_in_range(OMState *state, void *p, poolp pool)
{
    HL_UNUSED(pool);
    return arena_map_is_used(state, (pymem_block *)p);
}

/* CPython never frees the interior nodes; an instance frees them when it
 * dies.  Only the keys between the lowest and highest bottom node's can hold
 * one: the walk visits those (a handful; the fuzz targets create and destroy
 * an instance per input, and a walk of all 32768 x 32768 possible slots, or
 * even of one mid node's 32768, was most of their time), then the mid
 * nodes. */
HL_NO_COVERAGE
static void arena_map_free_nodes(OMState *state)
{
    if (arena_map_bot_count > 0) {
        for (size_t key = state->arena_map_bot_key_lo; key <= state->arena_map_bot_key_hi;
             key++) {
            arena_map_mid_t *mid = arena_map_root.ptrs[key >> MAP_MID_BITS];
            if (mid != NULL && mid->ptrs[key & MAP_MID_MASK] != NULL) {
                PyMem_RawFree(mid->ptrs[key & MAP_MID_MASK]);
                mid->ptrs[key & MAP_MID_MASK] = NULL;
                arena_map_bot_count--;
            }
        }
    }
    for (size_t i1 = 0; i1 < MAP_TOP_LENGTH && arena_map_mid_count > 0; i1++) {
        if (arena_map_root.ptrs[i1] != NULL) {
            PyMem_RawFree(arena_map_root.ptrs[i1]);
            arena_map_root.ptrs[i1] = NULL;
            arena_map_mid_count--;
        }
    }
    hl_assert_internal(arena_map_mid_count == 0 && arena_map_bot_count == 0);
}

#else /* !WITH_PYMALLOC_RADIX_TREE */

HL_NO_SANITIZE_ADDRESS
static inline bool address_in_range(OMState *state, void *p, poolp pool)
{
    /* Since address_in_range may be reading from memory which was not
     * allocated by pymalloc, read pool->arenaindex only once. */
    uint arenaindex = *((volatile uint *)&pool->arenaindex);
    return arenaindex < maxarenas &&
           (uintptr_t)p - arenas[arenaindex].address < ARENA_SIZE &&
           arenas[arenaindex].address != 0;
}

#endif /* WITH_PYMALLOC_RADIX_TREE */
