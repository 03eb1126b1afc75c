/* listobject.c: list, its growth rule and its free list
 * (Objects/listobject.c, 3.11).
 *
 *     [PyGC_Head] | ob_refcnt | ob_type | ob_size | ob_item | allocated |
 *                                                     |
 *                          MEM block: allocated slots +--> | v0 | v1 | ... |
 *
 *   0 <= ob_size <= allocated;  ob_item == NULL  =>  allocated == 0
 *   getsizeof == 40 + 16 + 8 * allocated
 *
 * list_resize(n) keeps the block iff allocated >= n >= allocated/2;
 * otherwise it reallocates to
 *
 *     new_allocated = (n + (n >> 3) + 6) & ~3,  or (n + 3) & ~3 when
 *     n - ob_size > new_allocated - n,  or 0 when n == 0,
 *
 * which grows 0, 4, 8, 16, 24, 32, 40, 52, 64, 76, ... (bpo-38373).
 *
 * A dead list gives its item array back and is parked on a stack of at
 * most PyList_MAXFREELIST (80) list objects; a new list pops it.  Lists are
 * tracked from creation until death.
 */
#include "object_internal.h"

_Static_assert(PyList_MAXFREELIST > 0, "the list free list has room");

static int list_resize(hl_runtime_t *rt, PyListObject *self, ssize_t newsize)
{
    hl_object_t **items;
    size_t new_allocated, num_allocated_bytes;
    ssize_t allocated = self->allocated;

    /* Bypass realloc() when a previous overallocation is large enough to
       accommodate the newsize.  If the newsize falls lower than half the
       allocated size, then proceed with the realloc() to shrink the list. */
    if (allocated >= newsize && newsize >= (allocated >> 1)) {
        hl_assert_internal(self->ob_item != NULL || newsize == 0);
        Py_SET_SIZE(self, newsize);
        return 0;
    }

    /* This over-allocates proportional to the list size, making room for
     * additional growth.  The over-allocation is mild, but is enough to give
     * linear-time amortized behavior over a long sequence of appends() in
     * the presence of a poorly-performing system realloc().  Add padding to
     * make the allocated size multiple of 4. */
    new_allocated = ((size_t)newsize + ((size_t)newsize >> 3) + 6) & ~(size_t)3;
    /* Do not overallocate if the new size is closer to overallocated size
     * than to the old size. */
    if (newsize - Py_SIZE(self) > (ssize_t)(new_allocated - (size_t)newsize))
        new_allocated = ((size_t)newsize + 3) & ~(size_t)3;

    if (newsize == 0)
        new_allocated = 0;
    if (new_allocated <= HL_PY_SSIZE_T_MAX / sizeof(hl_object_t *)) {
        num_allocated_bytes = new_allocated * sizeof(hl_object_t *);
        items = hl_mem_realloc(rt, self->ob_item, num_allocated_bytes);
    }
    else {
        /* integer overflow */
        items = NULL;
    }
    if (items == NULL) {
        hl_err_nomemory(rt);
        return -1;
    }
    self->ob_item = items;
    Py_SET_SIZE(self, newsize);
    self->allocated = (ssize_t)new_allocated;
    return 0;
}

static int list_traverse(hl_object_t *op, hl_visitproc visit, void *arg)
{
    PyListObject *o = (PyListObject *)op;
    for (ssize_t i = Py_SIZE(o); --i >= 0;)
        Py_VISIT(o->ob_item[i]);
    return 0;
}

/* _list_clear: also tp_clear. */
static int _list_clear(hl_runtime_t *rt, hl_object_t *op)
{
    PyListObject *a = (PyListObject *)op;
    hl_object_t **item = a->ob_item;
    if (item != NULL) {
        /* Because XDECREF can recursively invoke operations on this list,
           we make it empty first. */
        ssize_t i = Py_SIZE(a);
        Py_SET_SIZE(a, 0);
        a->ob_item = NULL;
        a->allocated = 0;
        while (--i >= 0)
            Py_XDECREF(rt, item[i]);
        hl_mem_free(rt, item);
    }
    /* Never fails; the return value can be ignored.  Note that there is no
       guarantee that the list is actually empty at this point, because
       XDECREF may have populated it again! */
    return 0;
}

static void list_dealloc(hl_runtime_t *rt, hl_object_t *obj)
{
    PyListObject *op = (PyListObject *)obj;
    PyObject_GC_UnTrack(obj);
    Py_TRASHCAN_BEGIN(rt, obj)
    if (op->ob_item != NULL) {
        /* Do it backwards, for Christian Tismer.  There's a simple test case
           where somehow this reduces thrashing when a *very* large list is
           created and immediately deleted. */
        ssize_t i = Py_SIZE(op);
        while (--i >= 0)
            Py_XDECREF(rt, op->ob_item[i]);
        hl_mem_free(rt, op->ob_item);
    }
    if (rt->list_state.numfree < PyList_MAXFREELIST) {
        rt->list_state.free_list[rt->list_state.numfree++] = op;
        rt->objects--;
    }
    else {
        PyObject_GC_Del(rt, obj);
    }
    Py_TRASHCAN_END(rt)
}

static size_t list_sizeof(const hl_object_t *self)
{
    return sizeof(PyListObject) + (size_t)((const PyListObject *)self)->allocated * sizeof(void *);
}

const hl_type_t hl_list_type = {
    .tp_name = "list",
    .tp_basicsize = sizeof(PyListObject),
    .tp_flags = HL_TPFLAGS_HAVE_GC,
    .kind = HL_KIND_LIST,
    .tp_dealloc = list_dealloc,
    .tp_traverse = list_traverse,
    .tp_clear = _list_clear,
    .tp_sizeof = list_sizeof,
};

hl_object_t *_PyList_New(hl_runtime_t *rt, ssize_t size)
{
    PyListObject *op;
    hl_assert(size >= 0);
    if (rt->list_state.numfree) {
        rt->list_state.numfree--;
        op = rt->list_state.free_list[rt->list_state.numfree];
        _Py_NewReference(rt, (hl_object_t *)op);
    }
    else {
        op = (PyListObject *)_PyObject_GC_New(rt, &hl_list_type);
        if (op == NULL)
            return NULL;
    }
    if (size <= 0) {
        op->ob_item = NULL;
    }
    else {
        op->ob_item = hl_mem_calloc(rt, (size_t)size, sizeof(hl_object_t *));
        if (op->ob_item == NULL) {
            Py_SET_SIZE(op, 0);
            Py_DECREF(rt, (hl_object_t *)op);
            return hl_err_nomemory(rt);
        }
    }
    Py_SET_SIZE(op, size);
    op->allocated = size;
    _PyObject_GC_TRACK(rt, (hl_object_t *)op);
    return (hl_object_t *)op;
}

hl_object_t *hl_list_new(hl_runtime_t *rt)
{
    return _PyList_New(rt, 0);
}

int _PyList_Append(hl_runtime_t *rt, hl_object_t *list, hl_object_t *v)
{
    PyListObject *self = (PyListObject *)list;
    ssize_t n = Py_SIZE(self);
    hl_assert(v != NULL);
    if (list_resize(rt, self, n + 1) < 0)
        return -1;
    Py_INCREF(v);
    self->ob_item[n] = v;
    return 0;
}

int hl_list_append(hl_runtime_t *rt, hl_object_t *list, hl_object_t *v)
{
    hl_assert(Py_IS_TYPE(list, &hl_list_type));
    return _PyList_Append(rt, list, v);
}

/* list_ass_slice(a, ilow, ilow + 1, NULL) for one item not the last (the
 * only deletion pop needs): compact the array, resize, then release the
 * item, so a re-entrant dealloc sees the list in canonical shape. */
static int list_delete_one(hl_runtime_t *rt, PyListObject *a, ssize_t ilow)
{
    ssize_t ihigh = ilow + 1;
    hl_object_t *recycle = a->ob_item[ilow];
    if (Py_SIZE(a) - 1 == 0)
        return _list_clear(rt, (hl_object_t *)a);
    size_t tail = (size_t)(Py_SIZE(a) - ihigh) * sizeof(hl_object_t *);
    memmove(&a->ob_item[ilow], &a->ob_item[ihigh], tail);
    if (list_resize(rt, a, Py_SIZE(a) - 1) < 0) {
        memmove(&a->ob_item[ihigh], &a->ob_item[ilow], tail);
        a->ob_item[ilow] = recycle;
        return -1;
    }
    Py_XDECREF(rt, recycle);
    return 0;
}

hl_object_t *hl_list_pop(hl_runtime_t *rt, hl_object_t *list, int64_t index)
{
    hl_assert(Py_IS_TYPE(list, &hl_list_type));
    PyListObject *self = (PyListObject *)list;
    hl_object_t *v;

    if (Py_SIZE(self) == 0) {
        /* Special-case most common failure cause */
        hl_err_set(rt, HL_ERR_INDEX, "pop from empty list");
        return NULL;
    }
    if (index < 0)
        index += Py_SIZE(self);
    if (index < 0 || index >= Py_SIZE(self)) {
        hl_err_set(rt, HL_ERR_INDEX, "pop index out of range");
        return NULL;
    }
    v = self->ob_item[index];
    if (index == Py_SIZE(self) - 1) {
        if (list_resize(rt, self, Py_SIZE(self) - 1) >= 0)
            return v; /* and v now owns the reference the list had */
        return NULL;
    }
    Py_INCREF(v);
    if (list_delete_one(rt, self, (ssize_t)index) < 0) {
        Py_DECREF(rt, v);
        return NULL;
    }
    return v;
}

void hl_list_set(hl_runtime_t *rt, hl_object_t *list, size_t i, hl_object_t *v)
{
    hl_assert(Py_IS_TYPE(list, &hl_list_type) && i < (size_t)Py_SIZE(list));
    PyListObject *self = (PyListObject *)list;
    hl_object_t *old = self->ob_item[i];
#ifdef HL_PLANT_LIST_SET_DECREF_FIRST
    /* planted bug: the old item is released before the new one is taken, so
     * storing an item over itself can free it first */
    Py_XDECREF(rt, old);
    Py_INCREF(v);
    self->ob_item[i] = v;
#else
    Py_INCREF(v);
    self->ob_item[i] = v;
    Py_XDECREF(rt, old);
#endif
}

void hl_list_clear(hl_runtime_t *rt, hl_object_t *list)
{
    hl_assert(Py_IS_TYPE(list, &hl_list_type));
    _list_clear(rt, list);
}

size_t hl_list_size(const hl_object_t *op)
{
    hl_assert(Py_IS_TYPE(op, &hl_list_type));
    return (size_t)Py_SIZE(op);
}

size_t hl_list_allocated(const hl_object_t *op)
{
    hl_assert(Py_IS_TYPE(op, &hl_list_type));
    return (size_t)((const PyListObject *)op)->allocated;
}

hl_object_t *hl_list_get(const hl_object_t *op, size_t i)
{
    hl_assert(Py_IS_TYPE(op, &hl_list_type) && i < (size_t)Py_SIZE(op));
    return ((const PyListObject *)op)->ob_item[i];
}

void _PyList_ClearFreeList(hl_runtime_t *rt)
{
    while (rt->list_state.numfree) {
        PyListObject *op = rt->list_state.free_list[--rt->list_state.numfree];
        hl_assert_internal(op->ob_base.ob_base.ob_type == &hl_list_type);
        _PyObject_GC_DelParked(rt, (hl_object_t *)op);
    }
}
