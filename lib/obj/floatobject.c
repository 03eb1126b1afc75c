/* floatobject.c: float and its free list (Objects/floatobject.c, 3.11).
 *
 * A freed float is parked on rt->float_state.free_list, linked through its
 * ob_type field, while fewer than PyFloat_MAXFREELIST (100) are parked:
 *
 *     free_list -> f1 -> f2 -> ... -> NULL        numfree == length <= 100
 *
 * A new float takes the head of the list before asking the OBJ domain.
 * Full collections empty the list (clear_freelists).
 */
#include "object_internal.h"

_Static_assert(PyFloat_MAXFREELIST > 0, "the float free list has room");

static void float_dealloc(hl_runtime_t *rt, hl_object_t *obj)
{
    PyFloatObject *op = (PyFloatObject *)obj;
    if (rt->float_state.numfree >= PyFloat_MAXFREELIST) {
        PyObject_Free_Object(rt, obj);
        return;
    }
    rt->float_state.numfree++;
    op->ob_base.ob_type = (const hl_type_t *)rt->float_state.free_list;
    rt->float_state.free_list = op;
    rt->objects--;
}

const hl_type_t hl_float_type = {
    .tp_name = "float",
    .tp_basicsize = sizeof(PyFloatObject),
    .kind = HL_KIND_FLOAT,
    .tp_dealloc = float_dealloc,
};

hl_object_t *hl_float_new(hl_runtime_t *rt, double fval)
{
    PyFloatObject *op = rt->float_state.free_list;
    if (op != NULL) {
        rt->float_state.free_list = (PyFloatObject *)Py_TYPE(op);
        rt->float_state.numfree--;
    }
    else {
        op = hl_obj_malloc(rt, sizeof(PyFloatObject));
        if (op == NULL)
            return hl_err_nomemory(rt);
    }
    op->ob_base.ob_type = &hl_float_type;
    _Py_NewReference(rt, (hl_object_t *)op);
    op->ob_fval = fval;
    return (hl_object_t *)op;
}

double hl_float_value(const hl_object_t *op)
{
    hl_assert(Py_IS_TYPE(op, &hl_float_type));
    return ((const PyFloatObject *)op)->ob_fval;
}

void _PyFloat_ClearFreeList(hl_runtime_t *rt)
{
    PyFloatObject *f = rt->float_state.free_list;
    while (f != NULL) {
        PyFloatObject *next = (PyFloatObject *)Py_TYPE(f);
        hl_obj_free(rt, f);
        f = next;
    }
    rt->float_state.free_list = NULL;
    rt->float_state.numfree = 0;
}
