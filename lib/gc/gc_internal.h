/* gc_internal.h: the GC header, the generation lists and the collector's
 * state, as CPython 3.11's pycore_gc.h and the list helpers of gcmodule.c.
 *
 * Every GC object is preceded by a two-word PyGC_Head (bpo-33597, 3.8+):
 *
 *            +--------------------------------------+  <- block from OBJ
 *   _gc_next | next PyGC_Head* | ............ | U  |     U: NEXT_MASK_UNREACHABLE
 *   _gc_prev | prev PyGC_Head* or gc_refs<<2 | C | F|     C: COLLECTING, F: FINALIZED
 *            +--------------------------------------+  <- the PyObject
 *
 *   _gc_next == 0           iff the object is untracked.
 *   Between collections every generation list is doubly linked and
 *   circular through its head, U and C are clear on every member, and
 *   _gc_prev's high bits hold the previous node.
 *   During a collection, from update_refs until move_unreachable is done
 *   with it, C is set and _gc_prev's high bits hold gc_refs (the list is
 *   singly linked meanwhile); members of `unreachable` also carry U in
 *   _gc_next until move_legacy_finalizers strips it.
 *   F is set once tp_finalize has run (PEP 442) and never cleared.
 *
 * The packed bits are read and written only through the static inline
 * accessors below, which keep CPython's names.
 */
#ifndef HL_GC_INTERNAL_H
#define HL_GC_INTERNAL_H

#ifndef HL_OBJECT_INTERNAL_H
#error "include object_internal.h, which includes this header in order"
#endif

#include <stdint.h>

#include "hl_debug.h"

typedef struct {
    uintptr_t _gc_next;
    uintptr_t _gc_prev;
} PyGC_Head;

_Static_assert(sizeof(PyGC_Head) == 16, "PyGC_Head is two words (CPython 3.8+)");

#define _PyGC_PREV_MASK_FINALIZED  ((uintptr_t)1)
#define _PyGC_PREV_MASK_COLLECTING ((uintptr_t)2)
#define _PyGC_PREV_SHIFT           2
#define _PyGC_PREV_MASK            (((uintptr_t)-1) << _PyGC_PREV_SHIFT)
#define NEXT_MASK_UNREACHABLE      ((uintptr_t)1)

/* The head and its object. */
#define _Py_AS_GC(o) ((PyGC_Head *)(o) - 1)
#define AS_GC(o)     _Py_AS_GC(o)
#define FROM_GC(g)   ((hl_object_t *)(((PyGC_Head *)(g)) + 1))

static inline PyGC_Head *_PyGCHead_NEXT(PyGC_Head *gc)
{
    return (PyGC_Head *)gc->_gc_next;
}
static inline void _PyGCHead_SET_NEXT(PyGC_Head *gc, PyGC_Head *next)
{
    gc->_gc_next = (uintptr_t)next;
}
static inline PyGC_Head *_PyGCHead_PREV(PyGC_Head *gc)
{
    return (PyGC_Head *)(gc->_gc_prev & _PyGC_PREV_MASK);
}
static inline void _PyGCHead_SET_PREV(PyGC_Head *gc, PyGC_Head *prev)
{
    uintptr_t uprev = (uintptr_t)prev;
    hl_assert_internal((uprev & ~_PyGC_PREV_MASK) == 0);
    gc->_gc_prev = (gc->_gc_prev & ~_PyGC_PREV_MASK) | uprev;
}
static inline int _PyGCHead_FINALIZED(PyGC_Head *gc)
{
    return (gc->_gc_prev & _PyGC_PREV_MASK_FINALIZED) != 0;
}
static inline void _PyGCHead_SET_FINALIZED(PyGC_Head *gc)
{
    gc->_gc_prev |= _PyGC_PREV_MASK_FINALIZED;
}

#define GC_NEXT _PyGCHead_NEXT
#define GC_PREV _PyGCHead_PREV

static inline int gc_is_collecting(PyGC_Head *g)
{
    return (g->_gc_prev & _PyGC_PREV_MASK_COLLECTING) != 0;
}
static inline void gc_clear_collecting(PyGC_Head *g)
{
    g->_gc_prev &= ~_PyGC_PREV_MASK_COLLECTING;
}
static inline ssize_t gc_get_refs(PyGC_Head *g)
{
    return (ssize_t)(g->_gc_prev >> _PyGC_PREV_SHIFT);
}
static inline void gc_set_refs(PyGC_Head *g, ssize_t refs)
{
    g->_gc_prev = (g->_gc_prev & ~_PyGC_PREV_MASK) | ((uintptr_t)refs << _PyGC_PREV_SHIFT);
}
static inline void gc_reset_refs(PyGC_Head *g, ssize_t refs)
{
    g->_gc_prev = (g->_gc_prev & _PyGC_PREV_MASK_FINALIZED) | _PyGC_PREV_MASK_COLLECTING
                  | ((uintptr_t)refs << _PyGC_PREV_SHIFT);
}
static inline void gc_decref(PyGC_Head *g)
{
    _PyObject_ASSERT_WITH_MSG(FROM_GC(g), gc_get_refs(g) > 0, "refcount is too small");
    g->_gc_prev -= (uintptr_t)1 << _PyGC_PREV_SHIFT;
}

/* ---------------------------------------------------------------------- */
/* Doubly linked lists of PyGC_Head, circular through a list head. */

static inline void gc_list_init(PyGC_Head *list)
{
    /* List header must not have flags; only a plain pointer in _gc_prev. */
    list->_gc_prev = (uintptr_t)list;
    list->_gc_next = (uintptr_t)list;
}
static inline int gc_list_is_empty(PyGC_Head *list)
{
    return list->_gc_next == (uintptr_t)list;
}
/* Append `node` to `list`. */
static inline void gc_list_append(PyGC_Head *node, PyGC_Head *list)
{
    PyGC_Head *last = (PyGC_Head *)list->_gc_prev;
    _PyGCHead_SET_PREV(node, last);
    _PyGCHead_SET_NEXT(last, node);
    _PyGCHead_SET_NEXT(node, list);
    list->_gc_prev = (uintptr_t)node;
}
/* Remove `node` from its list (the list must be doubly linked). */
static inline void gc_list_remove(PyGC_Head *node)
{
    PyGC_Head *prev = GC_PREV(node);
    PyGC_Head *next = GC_NEXT(node);
    _PyGCHead_SET_NEXT(prev, next);
    _PyGCHead_SET_PREV(next, prev);
    node->_gc_next = 0; /* object is not currently tracked */
}
/* Move `node` from its list to the end of `list`. */
static inline void gc_list_move(PyGC_Head *node, PyGC_Head *list)
{
    PyGC_Head *from_prev = GC_PREV(node);
    PyGC_Head *from_next = GC_NEXT(node);
    _PyGCHead_SET_NEXT(from_prev, from_next);
    _PyGCHead_SET_PREV(from_next, from_prev);
    PyGC_Head *to_prev = (PyGC_Head *)list->_gc_prev;
    _PyGCHead_SET_PREV(node, to_prev);
    _PyGCHead_SET_NEXT(to_prev, node);
    list->_gc_prev = (uintptr_t)node;
    _PyGCHead_SET_NEXT(node, list);
}
/* Append `from` to the end of `to`; `from` becomes empty. */
static inline void gc_list_merge(PyGC_Head *from, PyGC_Head *to)
{
    hl_assert_internal(from != to);
    if (!gc_list_is_empty(from)) {
        PyGC_Head *to_tail = GC_PREV(to);
        PyGC_Head *from_head = GC_NEXT(from);
        PyGC_Head *from_tail = GC_PREV(from);
        hl_assert_internal(from_head != from);
        hl_assert_internal(from_tail != from);
        _PyGCHead_SET_NEXT(to_tail, from_head);
        _PyGCHead_SET_PREV(from_head, to_tail);
        _PyGCHead_SET_NEXT(from_tail, to);
        _PyGCHead_SET_PREV(to, from_tail);
    }
    gc_list_init(from);
}
static inline ssize_t gc_list_size(PyGC_Head *list)
{
    ssize_t n = 0;
    for (PyGC_Head *gc = GC_NEXT(list); gc != list; gc = GC_NEXT(gc))
        n++;
    return n;
}

/* ---------------------------------------------------------------------- */
/* The collector's state (struct _gc_runtime_state). */

#define NUM_GENERATIONS HL_GC_NUM_GENERATIONS

struct gc_generation {
    PyGC_Head head;
    int threshold; /* collection threshold */
    int count;     /* count of allocations or collections of younger
                      generations */
};

struct gc_generation_stats {
    ssize_t collections;
    ssize_t collected;
    ssize_t uncollectable;
};

typedef struct gc_callback_s {
    hl_gc_callback_fn fn;
    void *user;
} gc_callback_t;

typedef struct _gc_runtime_state {
    int enabled;
    int debug;
    struct gc_generation generations[NUM_GENERATIONS];
    PyGC_Head *generation0;
    struct gc_generation permanent_generation;
    struct gc_generation_stats generation_stats[NUM_GENERATIONS];
    int collecting;           /* true if we are currently running the collector */
    hl_object_t *garbage;     /* gc.garbage: a list */
    gc_callback_t *callbacks; /* gc.callbacks */
    size_t ncallbacks, callbacks_cap;
    /* The number of objects that survived the last full collection; it
       approximates the number of long lived objects tracked by the GC.
       (By "full collection", we mean a collection of the oldest generation.) */
    ssize_t long_lived_total;
    /* The number of objects that survived all "non-full" collections, and
       are awaiting to undergo a full collection for the first time. */
    ssize_t long_lived_pending;
} GCState;

#define GEN_HEAD(gcstate, n) (&(gcstate)->generations[n].head)

/* ---------------------------------------------------------------------- */
/* Tracking (pycore_object.h). */

static inline int _PyObject_GC_IS_TRACKED(const hl_object_t *op)
{
    const PyGC_Head *gc = (const PyGC_Head *)op - 1;
    return gc->_gc_next != 0;
}

/* Append to generation 0 (the object must not be tracked). */
static inline void _PyObject_GC_TRACK_impl(GCState *gcstate, hl_object_t *op)
{
    hl_assert_internal(!_PyObject_GC_IS_TRACKED(op));
    PyGC_Head *gc = AS_GC(op);
    hl_assert_internal((gc->_gc_prev & _PyGC_PREV_MASK_COLLECTING) == 0);
    PyGC_Head *generation0 = gcstate->generation0;
    PyGC_Head *last = (PyGC_Head *)(generation0->_gc_prev);
    _PyGCHead_SET_NEXT(last, gc);
    _PyGCHead_SET_PREV(gc, last);
    _PyGCHead_SET_NEXT(gc, generation0);
    generation0->_gc_prev = (uintptr_t)gc;
}

/* Unlink from whatever list holds it (the object must be tracked). */
static inline void _PyObject_GC_UNTRACK_impl(hl_object_t *op)
{
    hl_assert_internal(_PyObject_GC_IS_TRACKED(op));
    PyGC_Head *gc = AS_GC(op);
    PyGC_Head *prev = _PyGCHead_PREV(gc);
    PyGC_Head *next = _PyGCHead_NEXT(gc);
    _PyGCHead_SET_NEXT(prev, next);
    _PyGCHead_SET_PREV(next, prev);
    gc->_gc_next = 0;
    gc->_gc_prev &= _PyGC_PREV_MASK_FINALIZED;
}

#define _PyObject_GC_TRACK(rt, op) _PyObject_GC_TRACK_impl(get_gc_state(rt), (op))
#define _PyObject_GC_UNTRACK(op)    _PyObject_GC_UNTRACK_impl(op)
/* PyObject_GC_Track / PyObject_GC_UnTrack: the forgiving forms. */
#define PyObject_GC_Track(rt, op) _PyObject_GC_TRACK((rt), (op))
static inline void PyObject_GC_UnTrack(hl_object_t *op)
{
    if (_PyObject_GC_IS_TRACKED(op))
        _PyObject_GC_UNTRACK(op);
}

/* _PyObject_GC_MAY_BE_TRACKED: could op be part of a cycle?  Tuples are
 * asked whether they are tracked, since collections untrack them. */
#define _PyObject_GC_MAY_BE_TRACKED(op) \
    (_PyObject_IS_GC(op) && (!Py_IS_TYPE((op), &hl_tuple_type) || _PyObject_GC_IS_TRACKED(op)))

/* GC allocation (lib/gc/gcobject.c): _PyObject_GC_New/NewVar link the new
 * object (count[0]++, perhaps an automatic collection) but do not track
 * it; PyObject_GC_Del untracks if needed, counts down and frees. */
hl_object_t *_PyObject_GC_New(hl_runtime_t *rt, const hl_type_t *tp);
hl_object_t *_PyObject_GC_NewVar(hl_runtime_t *rt, const hl_type_t *tp, ssize_t nitems);
void PyObject_GC_Del(hl_runtime_t *rt, hl_object_t *op);
/* PyObject_GC_Del of an object parked on a free list (already uncounted
 * from rt->objects): count[0] down, memory back. */
void _PyObject_GC_DelParked(hl_runtime_t *rt, hl_object_t *op);

/* gcmodule.c */
void _PyGC_Init(hl_runtime_t *rt, GCState *gcstate);
void _PyGC_Fini(hl_runtime_t *rt);
ssize_t _PyGC_CollectNoFail(hl_runtime_t *rt);
ssize_t gc_collect_generations(hl_runtime_t *rt);
ssize_t gc_collect_main(hl_runtime_t *rt, int generation, ssize_t *n_collected,
                        ssize_t *n_uncollectable);

#endif /* HL_GC_INTERNAL_H */
