/* callableobject.c: a C function bound to an object, the heaplab stand-in
 * for the Python functions CPython code passes as weakref callbacks.  It is
 * a GC container (CPython's functions are), tracked from creation, and
 * references its bound object, so a callback can take part in cycles just
 * as a closure can:
 *
 *     | ob_refcnt | ob_type | fn | self ---> bound object | user |
 */
#include "object_internal.h"

static int callable_traverse(hl_object_t *op, hl_visitproc visit, void *arg)
{
    Py_VISIT(((hl_callable_object_t *)op)->self);
    return 0;
}

static int callable_clear(hl_runtime_t *rt, hl_object_t *op)
{
    Py_CLEAR(rt, ((hl_callable_object_t *)op)->self);
    return 0;
}

static void callable_dealloc(hl_runtime_t *rt, hl_object_t *op)
{
    PyObject_GC_UnTrack(op);
    Py_TRASHCAN_BEGIN(rt, op)
    Py_CLEAR(rt, ((hl_callable_object_t *)op)->self);
    PyObject_GC_Del(rt, op);
    Py_TRASHCAN_END(rt)
}

const hl_type_t hl_callable_type = {
    .tp_name = "builtin_function_or_method",
    .tp_basicsize = sizeof(hl_callable_object_t),
    .tp_flags = HL_TPFLAGS_HAVE_GC,
    .kind = HL_KIND_CALLABLE,
    .tp_dealloc = callable_dealloc,
    .tp_traverse = callable_traverse,
    .tp_clear = callable_clear,
};

hl_object_t *hl_callable_new(hl_runtime_t *rt, hl_callable_fn fn, hl_object_t *self, void *user)
{
    hl_assert(fn != NULL);
    hl_callable_object_t *op = (hl_callable_object_t *)_PyObject_GC_New(rt, &hl_callable_type);
    if (op == NULL)
        return NULL;
    op->fn = fn;
    op->self = self;
    Py_XINCREF(self);
    op->user = user;
    _PyObject_GC_TRACK(rt, (hl_object_t *)op);
    return (hl_object_t *)op;
}

void hl_call(hl_runtime_t *rt, hl_object_t *callable, hl_object_t *arg)
{
    hl_assert(Py_IS_TYPE(callable, &hl_callable_type));
    hl_callable_object_t *c = (hl_callable_object_t *)callable;
    /* Keep the callable (and so its bound object) and the argument alive for
     * the duration of the call, as a Python call frame would. */
    Py_INCREF(callable);
    Py_XINCREF(arg);
    c->fn(rt, c->self, arg, c->user);
    Py_XDECREF(rt, arg);
    Py_DECREF(rt, callable);
}
