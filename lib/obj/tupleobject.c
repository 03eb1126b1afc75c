/* tupleobject.c: tuple, its free lists and its untracking
 * (Objects/tupleobject.c, 3.11).
 *
 *     [PyGC_Head] | ob_refcnt | ob_type | ob_size | item 0 | ... | item n-1 |
 *
 *   getsizeof == 24 + 8n + 16
 *
 * The empty tuple is one static singleton per runtime, never tracked and
 * never freed.  Free lists: free_list[n-1] keeps up to PyTuple_MAXFREELIST
 * (2000) dead tuples of length n, 1 <= n <= PyTuple_MAXSAVESIZE (20),
 * linked through ob_item[0]; a tuple taken from one skips the OBJ domain
 * and the GC count.
 *
 * Tracking.  Every new tuple is tracked.  A tuple whose items can never be
 * part of a cycle cannot be either, so each collection calls
 * _PyTuple_MaybeUntrack on the tuples that survive it:
 *
 *     untracked after a collection   iff   every item is non-GC, an
 *                                          untracked tuple -- as of that
 *                                          moment in the scan -- or ...
 *
 * i.e. iff no item "may be tracked" (_PyObject_GC_MAY_BE_TRACKED).  Since
 * the scan runs in list order, a tuple holding a tuple still tracked at its
 * turn stays tracked until a later collection.
 */
#include "object_internal.h"

_Static_assert(PyTuple_MAXFREELIST > 0, "tuple free lists have room");

static int tupletraverse(hl_object_t *op, hl_visitproc visit, void *arg)
{
    PyTupleObject *o = (PyTupleObject *)op;
    for (ssize_t i = Py_SIZE(o); --i >= 0;)
        Py_VISIT(o->ob_item[i]);
    return 0;
}

/* maybe_freelist_push: 1 if op was parked on a free list. */
static int maybe_freelist_push(hl_runtime_t *rt, PyTupleObject *op)
{
    if (Py_SIZE(op) == 0)
        return 0;
    ssize_t index = Py_SIZE(op) - 1;
    if (index < PyTuple_NFREELISTS
        && rt->tuple_state.numfree[index] < PyTuple_MAXFREELIST) {
        op->ob_item[0] = (hl_object_t *)rt->tuple_state.free_list[index];
        rt->tuple_state.free_list[index] = op;
        rt->tuple_state.numfree[index]++;
        rt->objects--;
        return 1;
    }
    return 0;
}

static PyTupleObject *maybe_freelist_pop(hl_runtime_t *rt, ssize_t size)
{
    hl_assert_internal(size > 0);
    if (size > PyTuple_MAXSAVESIZE)
        return NULL;
    ssize_t index = size - 1;
    PyTupleObject *op = rt->tuple_state.free_list[index];
    if (op == NULL)
        return NULL;
    rt->tuple_state.free_list[index] = (PyTupleObject *)op->ob_item[0];
    rt->tuple_state.numfree[index]--;
    /* Inline PyObject_InitVar */
    _Py_NewReference(rt, (hl_object_t *)op);
    return op;
}

static void tupledealloc(hl_runtime_t *rt, hl_object_t *obj)
{
    PyTupleObject *op = (PyTupleObject *)obj;
    /* The empty tuple is statically allocated and its refcount never
     * reaches 0 (the runtime holds one). */
    hl_assert(obj != (hl_object_t *)&rt->singletons.tuple_empty.tuple);

    PyObject_GC_UnTrack(obj);
    Py_TRASHCAN_BEGIN(rt, obj)
    ssize_t i = Py_SIZE(op);
#ifdef HL_PLANT_TUPLE_DEALLOC_SKIPS_ITEM0
    /* planted bug: `> 0` for `>= 0`: item 0 is never released */
    while (--i > 0)
#else
    while (--i >= 0)
#endif
        Py_XDECREF(rt, op->ob_item[i]);
    if (!maybe_freelist_push(rt, op))
        PyObject_GC_Del(rt, obj);
    Py_TRASHCAN_END(rt)
}

const hl_type_t hl_tuple_type = {
    .tp_name = "tuple",
    .tp_basicsize = sizeof(PyTupleObject) - sizeof(hl_object_t *),
    .tp_itemsize = sizeof(hl_object_t *),
    .tp_flags = HL_TPFLAGS_HAVE_GC,
    .kind = HL_KIND_TUPLE,
    .tp_dealloc = tupledealloc,
    .tp_traverse = tupletraverse,
};

void _PyTuple_InitEmpty(hl_runtime_t *rt)
{
    PyTupleObject *t = &rt->singletons.tuple_empty.tuple;
    rt->singletons.tuple_empty.gc._gc_next = 0; /* untracked */
    rt->singletons.tuple_empty.gc._gc_prev = 0;
    t->ob_base.ob_base.ob_refcnt = 1;
    t->ob_base.ob_base.ob_type = &hl_tuple_type;
    t->ob_base.ob_size = 0;
}

hl_object_t *_PyTuple_Empty(hl_runtime_t *rt)
{
    hl_object_t *op = (hl_object_t *)&rt->singletons.tuple_empty.tuple;
    Py_INCREF(op);
    return op;
}

static PyTupleObject *tuple_alloc(hl_runtime_t *rt, ssize_t size)
{
    hl_assert_internal(size != 0); /* The empty tuple is statically allocated. */
    PyTupleObject *op = maybe_freelist_pop(rt, size);
    if (op == NULL) {
        /* Check for overflow */
        if ((size_t)size > (HL_PY_SSIZE_T_MAX - (sizeof(PyTupleObject) - sizeof(hl_object_t *)))
                               / sizeof(hl_object_t *))
            return hl_err_nomemory(rt);
        op = (PyTupleObject *)_PyObject_GC_NewVar(rt, &hl_tuple_type, size);
        if (op == NULL)
            return NULL;
    }
    return op;
}

/* PyTuple_New: n NULL items, tracked. */
hl_object_t *_PyTuple_New(hl_runtime_t *rt, ssize_t size)
{
    if (size == 0)
        return _PyTuple_Empty(rt);
    PyTupleObject *op = tuple_alloc(rt, size);
    if (op == NULL)
        return NULL;
    for (ssize_t i = 0; i < size; i++)
        op->ob_item[i] = NULL;
    _PyObject_GC_TRACK(rt, (hl_object_t *)op);
    return (hl_object_t *)op;
}

/* _PyTuple_FromArray: the items, tracked. */
hl_object_t *hl_tuple_new(hl_runtime_t *rt, size_t n, hl_object_t *const *items)
{
    if (n == 0)
        return _PyTuple_Empty(rt);
    if (n > (size_t)PTRDIFF_MAX)
        return hl_err_nomemory(rt);
    PyTupleObject *op = tuple_alloc(rt, (ssize_t)n);
    if (op == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        Py_INCREF(items[i]);
        op->ob_item[i] = items[i];
    }
    _PyObject_GC_TRACK(rt, (hl_object_t *)op);
    return (hl_object_t *)op;
}

size_t hl_tuple_size(const hl_object_t *op)
{
    hl_assert(Py_IS_TYPE(op, &hl_tuple_type));
    return (size_t)Py_SIZE(op);
}

hl_object_t *hl_tuple_get(const hl_object_t *op, size_t i)
{
    hl_assert(Py_IS_TYPE(op, &hl_tuple_type) && i < (size_t)Py_SIZE(op));
    return ((const PyTupleObject *)op)->ob_item[i];
}

void _PyTuple_MaybeUntrack(hl_object_t *op)
{
    if (!Py_IS_TYPE(op, &hl_tuple_type) || !_PyObject_GC_IS_TRACKED(op))
        return;
    PyTupleObject *t = (PyTupleObject *)op;
    ssize_t n = Py_SIZE(t);
    for (ssize_t i = 0; i < n; i++) {
        hl_object_t *elt = t->ob_item[i];
        /* Tuple with NULL elements aren't fully constructed, don't untrack
           them yet. */
#ifdef HL_PLANT_TUPLE_UNTRACKED_TOO_EARLY
        /* planted bug: "is tracked now" for "may be tracked": an untracked
         * dict counts as atomic, though inserting a container tracks it */
        if (!elt || (_PyObject_IS_GC(elt) && _PyObject_GC_IS_TRACKED(elt)))
#else
        if (!elt || _PyObject_GC_MAY_BE_TRACKED(elt))
#endif
            return;
    }
    _PyObject_GC_UNTRACK(op);
}

void _PyTuple_ClearFreeList(hl_runtime_t *rt)
{
    for (ssize_t i = 0; i < PyTuple_NFREELISTS; i++) {
        PyTupleObject *p = rt->tuple_state.free_list[i];
        rt->tuple_state.free_list[i] = NULL;
        rt->tuple_state.numfree[i] = 0;
        while (p) {
            PyTupleObject *q = p;
            p = (PyTupleObject *)p->ob_item[0];
            _PyObject_GC_DelParked(rt, (hl_object_t *)q);
        }
    }
}
