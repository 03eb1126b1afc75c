/* api.c: pymalloc behind the heaplab allocator interface -- the
 * _PyObject_Malloc layer of CPython 3.11.
 *
 * Included by a variant file.  This is the layer that decides between
 * pymalloc and the raw allocator:
 *
 *   malloc(n)       n == 0 or n > 512, or out of arenas  ->  raw malloc,
 *                   ++raw_allocated_blocks
 *   calloc(n, s)    NULL if n*s overflows; else as malloc, zeroed
 *   realloc(p, n)   p not ours       -> raw realloc (pymalloc never adopts a
 *                                       raw block: bug 1185883)
 *                   n <= size && 4n > 3*size (shrinking by under 25%)
 *                                    -> p itself
 *                   otherwise        -> malloc(n), copy min(old, n), free(p)
 *   free(p)         p not ours       -> raw free, --raw_allocated_blocks
 *
 * Every entry point returns NULL above PY_SSIZE_T_MAX, as PyObject_Malloc
 * does.
 */

#define PY_SSIZE_T_MAX ((size_t)SSIZE_MAX)

static void *pm_malloc(void *ctx, size_t nbytes)
{
    OMState *state = ctx;
    if (nbytes > PY_SSIZE_T_MAX)
        return NULL;
    hl_stat_inc(state->counters.malloc_calls);
    void *ptr = pymalloc_alloc(state, nbytes);
    if (HL_LIKELY(ptr != NULL))
        return ptr;

    ptr = PyMem_RawMalloc(nbytes);
    if (ptr != NULL) {
        raw_allocated_blocks++;
        hl_stat_inc(state->counters.raw_mallocs);
    }
    return ptr;
}

static void *pm_calloc(void *ctx, size_t nelem, size_t elsize)
{
    OMState *state = ctx;
    if (elsize != 0 && nelem > PY_SSIZE_T_MAX / elsize)
        return NULL;
    hl_stat_inc(state->counters.calloc_calls);
    size_t nbytes = nelem * elsize;

    void *ptr = pymalloc_alloc(state, nbytes);
    if (HL_LIKELY(ptr != NULL)) {
        memset(ptr, 0, nbytes);
        return ptr;
    }

    ptr = PyMem_RawCalloc(nelem, elsize);
    if (ptr != NULL) {
        raw_allocated_blocks++;
        hl_stat_inc(state->counters.raw_mallocs);
    }
    return ptr;
}

static void pm_free(void *ctx, void *p)
{
    OMState *state = ctx;
    if (p == NULL) /* free(NULL) has no effect */
        return;
    hl_stat_inc(state->counters.free_calls);
    if (HL_UNLIKELY(!pymalloc_free(state, p))) {
        /* pymalloc didn't allocate this address */
        PyMem_RawFree(p);
        raw_allocated_blocks--;
    }
    hl_assert_expensive(pymalloc_heap_is_valid(state, stderr));
}

/* pymalloc realloc.  If nbytes==0, then as the Python docs promise, we do
 * not treat this like free(p), and return a non-NULL result.
 *
 * Return true if pymalloc reallocated memory and wrote the new pointer into
 * *newptr_p; false if pymalloc didn't allocate p. */
static bool pymalloc_realloc(OMState *state, void **newptr_p, void *p, size_t nbytes)
{
    void *bp;
    poolp pool;
    size_t size;

    hl_assert(p != NULL);

    pool = POOL_ADDR(p);
    if (!address_in_range(state, p, pool)) {
        /* pymalloc is not managing this block.  If nbytes <=
         * SMALL_REQUEST_THRESHOLD, it's tempting to try to take over this
         * block, but that would mean doing all the work of a free and an
         * alloc and copying it ourselves; and the raw allocator may be able
         * to resize in place.  So: not ours, not our business. */
        return false;
    }

    /* pymalloc is in charge of this block */
#ifdef HL_PLANT_REALLOC_SHORT_COPY
    /* planted bug: the block size without INDEX2SIZE's + 1, so a moving
     * realloc copies ALIGNMENT bytes too few */
    size = (size_t)pool->szidx << ALIGNMENT_SHIFT;
#else
    size = INDEX2SIZE(pool->szidx);
#endif
    if (nbytes <= size) {
        /* The block is staying the same or shrinking.
         *
         * If it's shrinking, there's a tradeoff: it costs cycles to copy the
         * block to a smaller size class, but it wastes memory not to copy
         * it.  The compromise here is to copy on shrink only if at least 25%
         * of size can be shaved off. */
        if (4 * nbytes > 3 * size) {
            /* It's the same, or shrinking and new/old > 3/4. */
            hl_stat_inc(state->counters.realloc_in_place);
            *newptr_p = p;
            return true;
        }
        size = nbytes;
    }

    bp = pm_malloc(state, nbytes);
    if (bp != NULL) {
        memcpy(bp, p, size);
        pm_free(state, p);
    }
    *newptr_p = bp;
    return true;
}

static void *pm_realloc(void *ctx, void *ptr, size_t nbytes)
{
    OMState *state = ctx;
    void *ptr2;

    if (nbytes > PY_SSIZE_T_MAX)
        return NULL;
    hl_stat_inc(state->counters.realloc_calls);
    if (ptr == NULL)
        return pm_malloc(state, nbytes);

    if (pymalloc_realloc(state, &ptr2, ptr, nbytes))
        return ptr2;

    return PyMem_RawRealloc(ptr, nbytes);
}

static size_t pm_usable_size(void *ctx, const void *p)
{
    OMState *state = ctx;
    poolp pool = POOL_ADDR(p);
    if (address_in_range(state, (void *)p, pool))
        return INDEX2SIZE(pool->szidx);
    return hl_usable_size(&state->raw, p);
}

static void pm_stats(void *ctx, hl_stats_t *out)
{
    OMState *state = ctx;
    hl_stats_t raw;
    size_t arena_peak;
    hl_stats(&state->raw, &raw);
    size_t held = state->arena_source.held(state->arena_source.ctx, &arena_peak);
    held += (raw.valid & HL_STAT_HELD) ? raw.held_bytes : 0;
    if (held > state->held_peak)
        state->held_peak = held;
    out->valid = HL_STAT_HELD;
    out->held_bytes = held;
    out->held_peak_bytes = state->held_peak;
    out->live_blocks = out->live_bytes = 0;
#if HL_STATS
    out->valid |= HL_STAT_LIVE_BLOCKS;
    out->live_blocks = state->live_blocks_counter + (size_t)raw_allocated_blocks;
    hl_assert_expensive(out->live_blocks == pymalloc_allocated_blocks(state));
    if (state->owns_raw && (raw.valid & HL_STAT_LIVE_BYTES)) {
        /* A private raw allocator holds only our raw blocks, plus the
         * arenas vector and radix nodes: pymalloc's own overhead. */
        out->valid |= HL_STAT_LIVE_BYTES;
        out->live_bytes = state->live_bytes_counter + raw.live_bytes;
    }
#endif
}

static bool pm_check(void *ctx, FILE *report)
{
    OMState *state = ctx;
    if (!pymalloc_heap_is_valid(state, report))
        return false;
    if (raw_allocated_blocks < 0) {
        if (report)
            fprintf(report, HL_PM_NAME ": invariant: raw_allocated_blocks < 0\n");
        return false;
    }
    return hl_check(&state->raw, report);
}

static int pm_print_stats(void *ctx, FILE *out)
{
    return pymalloc_print_stats((OMState *)ctx, out);
}

/* Give every arena back to the source and free pymalloc's own structures.
 * Blocks handed to the raw allocator are that allocator's: whoever asked for
 * them frees them (the trace replayer frees every block it still holds). */
static void pm_destroy(void *ctx)
{
    OMState *state = ctx;
    for (uint i = 0; i < maxarenas; i++) {
        if (arenas[i].address != 0) {
            hl_unpoison((void *)arenas[i].address, ARENA_SIZE);
            state->arena_source.free(state->arena_source.ctx, (void *)arenas[i].address,
                                     ARENA_SIZE);
        }
    }
    PyMem_RawFree(arenas);
#if WITH_PYMALLOC_RADIX_TREE
    arena_map_free_nodes(state);
#endif
    if (state->owns_arena_source)
        hl_arena_source_destroy(&state->arena_source);
    if (state->owns_raw)
        hl_allocator_destroy(&state->raw);
    munmap(state, sizeof *state);
}

static const hl_allocator_ops_t pm_ops = {
    .malloc = pm_malloc,
    .calloc = pm_calloc,
    .realloc = pm_realloc,
    .free = pm_free,
    .usable_size = pm_usable_size,
    .stats = pm_stats,
    .check = pm_check,
    .print_stats = pm_print_stats,
    .destroy = pm_destroy,
    .walk = pm_walk,
    .arena_view = pm_arenas,
};

/* A fresh instance: empty usedpools lists (each head points at itself), no
 * arenas. */
static OMState *pm_new_state(void)
{
    void *mem = mmap(NULL, sizeof(OMState), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return NULL;
    OMState *state = mem;  /* zeroed by mmap */
    for (uint i = 0; i < NB_SMALL_SIZE_CLASSES; i++)
        usedpools[2 * i] = usedpools[2 * i + 1] = PTA(i);
    return state;
}

int HL_PM_CREATE_WITH_SOURCE(const hl_arena_source_t *src, const hl_allocator_t *raw,
                             hl_allocator_t *out, char *err, size_t errlen)
{
    OMState *state = pm_new_state();
    if (state == NULL)
        return _hl_err(err, errlen, HL_PM_NAME ": cannot map its state");
    state->arena_source = *src;
    if (raw != NULL) {
        state->raw = *raw;
    }
    else {
        if (hl_glibc_create(NULL, &state->raw, err, errlen) != 0) {
            munmap(state, sizeof *state);
            return -1;
        }
        state->owns_raw = true;
    }
    out->ops = &pm_ops;
    out->ctx = state;
    out->name = HL_PM_NAME;
    return 0;
}

int HL_PM_CREATE(const hl_alloc_options_t *opt, hl_allocator_t *out, char *err, size_t errlen)
{
    hl_arena_source_t src;
    if (_hl_arena_source_from_options(opt, &src, err, errlen) != 0)
        return -1;
    if (HL_PM_CREATE_WITH_SOURCE(&src, opt->raw, out, err, errlen) != 0) {
        hl_arena_source_destroy(&src);
        return -1;
    }
    ((OMState *)out->ctx)->owns_arena_source = true;
    return 0;
}
