/* gcobject.c: allocating and freeing GC objects, and the allocation count
 * that drives automatic collection (gcmodule.c's gc_alloc,
 * _PyObject_GC_Link, _PyObject_GC_New/NewVar and PyObject_GC_Del in 3.11).
 *
 *     block from OBJ:  [ PyGC_Head | PyObject ... ]
 *                        16 bytes    tp_basicsize + n * tp_itemsize
 *
 * The count.  generations[0].count goes up by one in _PyObject_GC_Link, for
 * every GC object allocated from the domain, and down by one (while above
 * 0) in PyObject_GC_Del, for every GC object given back.  An object taken
 * from or parked on a free list passes through neither, so it moves
 * nothing: that is CPython's behaviour and why count[0] depends on free-list
 * state.
 *
 * Automatic collection happens inside _PyObject_GC_Link, before the new
 * object is initialised or tracked (so the collector never sees it), iff
 *
 *     count[0] > threshold[0] && enabled && threshold[0] != 0 && !collecting
 *
 * (3.11 collects inline; 3.12 only schedules it).
 */
#include "object_internal.h"

static void _PyObject_GC_Link(hl_runtime_t *rt, hl_object_t *op)
{
    PyGC_Head *g = AS_GC(op);
    GCState *gcstate = get_gc_state(rt);
    g->_gc_next = 0;
    g->_gc_prev = 0;
    gcstate->generations[0].count++; /* number of allocated GC objects */
    if (gcstate->generations[0].count > gcstate->generations[0].threshold
        && gcstate->enabled && gcstate->generations[0].threshold != 0
        && !gcstate->collecting && rt->err_kind == HL_ERR_NONE) {
        gcstate->collecting = 1;
        gc_collect_generations(rt);
        gcstate->collecting = 0;
    }
}

static hl_object_t *gc_alloc(hl_runtime_t *rt, size_t basicsize)
{
    if (basicsize > HL_PY_SSIZE_T_MAX - sizeof(PyGC_Head))
        return hl_err_nomemory(rt);
    char *mem = hl_obj_malloc(rt, sizeof(PyGC_Head) + basicsize);
    if (mem == NULL)
        return hl_err_nomemory(rt);
    hl_object_t *op = (hl_object_t *)(mem + sizeof(PyGC_Head));
    _PyObject_GC_Link(rt, op);
    return op;
}

hl_object_t *_PyObject_GC_New(hl_runtime_t *rt, const hl_type_t *tp)
{
    hl_assert_internal(_PyType_IS_GC(tp));
    hl_object_t *op = gc_alloc(rt, (size_t)tp->tp_basicsize);
    if (op == NULL)
        return NULL;
    op->ob_type = tp;
    _Py_NewReference(rt, op);
    return op;
}

hl_object_t *_PyObject_GC_NewVar(hl_runtime_t *rt, const hl_type_t *tp, ssize_t nitems)
{
    hl_assert_internal(_PyType_IS_GC(tp));
    if (nitems < 0)
        return hl_err_nomemory(rt);
    if ((size_t)nitems > (HL_PY_SSIZE_T_MAX - (size_t)tp->tp_basicsize) / (size_t)tp->tp_itemsize)
        return hl_err_nomemory(rt);
    size_t size = (size_t)tp->tp_basicsize + (size_t)nitems * (size_t)tp->tp_itemsize;
    hl_object_t *op = gc_alloc(rt, size);
    if (op == NULL)
        return NULL;
    op->ob_type = tp;
    Py_SET_SIZE(op, nitems);
    _Py_NewReference(rt, op);
    return op;
}

void PyObject_GC_Del(hl_runtime_t *rt, hl_object_t *op)
{
    PyGC_Head *g = AS_GC(op);
    if (_PyObject_GC_IS_TRACKED(op))
        gc_list_remove(g);
    GCState *gcstate = get_gc_state(rt);
    if (gcstate->generations[0].count > 0)
        gcstate->generations[0].count--;
    rt->objects--;
    hl_obj_free(rt, g);
}

void _PyObject_GC_DelParked(hl_runtime_t *rt, hl_object_t *op)
{
    hl_assert_internal(!_PyObject_GC_IS_TRACKED(op));
    GCState *gcstate = get_gc_state(rt);
    if (gcstate->generations[0].count > 0)
        gcstate->generations[0].count--;
    hl_obj_free(rt, AS_GC(op));
}
