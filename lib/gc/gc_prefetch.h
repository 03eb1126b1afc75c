/* gc_prefetch.h: software prefetching for the collector's list walks.
 *
 * subtract_refs and move_unreachable visit every referent of every object
 * in the generation.  Objects lie in the list in roughly allocation order,
 * so the walk itself streams through memory, but their referents are
 * anywhere: on a large heap each visit is a cache miss, and the two walks
 * spend most of their time waiting for them.  CPython's collector waits;
 * heaplab's asks for the lines early, in two stages along the list:
 *
 *      ... gc ........ near (D ahead) ........ far (2D ahead) ...
 *          visit        read the item array,     prefetch the item
 *          referents    prefetch each item's     array (lists, dicts)
 *                       GC head
 *
 * Prefetches change no state, so the walks do exactly what CPython's do, in
 * the same order; only the waiting overlaps.  Types with inline items
 * (tuples, instances) need no far stage: the item array is the object.
 */
#ifndef HL_GC_PREFETCH_H
#define HL_GC_PREFETCH_H

/* The distance D in list nodes, and the most items per object whose heads
 * the near stage prefetches.  Below GC_PREFETCH_MIN_OBJECTS objects (about
 * 3 MB of lists: a last-level cache) the lines are mostly cached already
 * and prefetching only costs, so the walks skip it. */
#define GC_PREFETCH_DISTANCE 8
#define GC_PREFETCH_MAX_ITEMS 8
#if HL_FUZZING || defined(FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION)
/* Fuzz builds (ours, OSS-Fuzz's, and the coverage build): the targets'
 * heaps have tens of objects, so the prefetching walks would never run
 * there.  They must do exactly what the plain walks do, which is what the
 * fuzzers' oracles check, so those builds take them from just above the
 * look-ahead. */
#define GC_PREFETCH_MIN_OBJECTS (2 * GC_PREFETCH_DISTANCE + 1)
#else
#define GC_PREFETCH_MIN_OBJECTS 32768
#endif
_Static_assert(GC_PREFETCH_DISTANCE > 0 && GC_PREFETCH_MAX_ITEMS > 0,
               "prefetch distances are positive");
_Static_assert(GC_PREFETCH_MIN_OBJECTS > 2 * GC_PREFETCH_DISTANCE,
               "prefetching only lists much longer than the look-ahead");

#define gc_prefetch(p) __builtin_prefetch((const void *)(p), 1, 3)

/* Far stage: the separately allocated item storage. */
static inline void gc_prefetch_far(PyGC_Head *gc)
{
    hl_object_t *op = FROM_GC(gc);
    const hl_type_t *tp = Py_TYPE(op);
    if (tp == &hl_list_type)
        gc_prefetch(((PyListObject *)op)->ob_item);
    else if (tp == &hl_dict_type)
        gc_prefetch(((PyDictObject *)op)->ma_keys);
}

static inline void gc_prefetch_heads(hl_object_t *const *items, ssize_t n)
{
    if (n > GC_PREFETCH_MAX_ITEMS)
        n = GC_PREFETCH_MAX_ITEMS;
    for (ssize_t i = 0; i < n; i++) {
        /* The head and ob_type may sit on two cache lines (pymalloc blocks
         * start 48 bytes into a line): visit_* read both. */
        gc_prefetch(AS_GC(items[i]));
        gc_prefetch(&items[i]->ob_type);
    }
}

/* Near stage: the GC heads of the referents (a prefetch of a non-GC item's
 * "head" is a harmless prefetch of the bytes before it). */
static inline void gc_prefetch_near(PyGC_Head *gc)
{
    hl_object_t *op = FROM_GC(gc);
    const hl_type_t *tp = Py_TYPE(op);
    if (tp == &hl_list_type) {
        PyListObject *l = (PyListObject *)op;
        gc_prefetch_heads(l->ob_item, Py_SIZE(l));
    }
    else if (tp == &hl_tuple_type) {
        PyTupleObject *t = (PyTupleObject *)op;
        gc_prefetch_heads(t->ob_item, Py_SIZE(t));
    }
    else if (tp->kind == HL_KIND_INSTANCE) {
        hl_instance_object_t *o = (hl_instance_object_t *)op;
        for (ssize_t i = 0; i < Py_SIZE(o) && i < GC_PREFETCH_MAX_ITEMS; i++)
            if (o->slots[i] != NULL) {
                gc_prefetch(AS_GC(o->slots[i]));
                gc_prefetch(&o->slots[i]->ob_type);
            }
    }
}

/* A cursor running ahead of a list walk: gc_ahead_init primes it, then one
 * gc_ahead_step per visited node keeps the far stage 2D and the near stage
 * D nodes ahead.  It stops at the list head; nodes appended behind it are
 * simply not prefetched. */
typedef struct {
    PyGC_Head *head;
    PyGC_Head *near;
    PyGC_Head *far;
} gc_ahead_t;

static inline PyGC_Head *gc_ahead_next(PyGC_Head *g)
{
    return (PyGC_Head *)(g->_gc_next & ~NEXT_MASK_UNREACHABLE);
}

static inline void gc_ahead_step(gc_ahead_t *a)
{
    if (a->far != a->head) {
        gc_prefetch_far(a->far);
        a->far = gc_ahead_next(a->far);
    }
    if (a->near != a->head) {
        gc_prefetch_near(a->near);
        a->near = gc_ahead_next(a->near);
    }
}

static inline void gc_ahead_init(gc_ahead_t *a, PyGC_Head *head, PyGC_Head *start)
{
    a->head = head;
    a->near = start;
    a->far = start;
    for (int i = 0; i < GC_PREFETCH_DISTANCE && a->far != head; i++) {
        gc_prefetch_far(a->far);
        a->far = gc_ahead_next(a->far);
    }
    for (int i = 0; i < GC_PREFETCH_DISTANCE && a->far != head; i++)
        gc_ahead_step(a);
}

/* For walks that free objects ahead of themselves (delete_garbage): from
 * `start`, step through nodes alive now, prefetching the near stage D and
 * the far stage 2D nodes ahead.  The nodes in between were visited by the
 * previous iterations, so the steps hit the cache. */
static inline void gc_prefetch_from(PyGC_Head *head, PyGC_Head *start)
{
    PyGC_Head *g = start;
    for (int i = 0; i < GC_PREFETCH_DISTANCE; i++) {
        g = GC_NEXT(g);
        if (g == head)
            return;
    }
    gc_prefetch_near(g);
    for (int i = 0; i < GC_PREFETCH_DISTANCE; i++) {
        g = GC_NEXT(g);
        if (g == head)
            return;
    }
    gc_prefetch_far(g);
}

#endif /* HL_GC_PREFETCH_H */
