/* object.c: what every object shares (Objects/object.c): reference counts
 * and deallocation, non-GC allocation, finalizers called from deallocation,
 * and the generic queries (type, size, referents).
 *
 * Deallocation.  Py_DECREF that takes ob_refcnt to 0 calls _Py_Dealloc,
 * which calls the type's tp_dealloc.  A tp_dealloc releases what the object
 * holds -- which may take other counts to 0 and recurse -- then gives the
 * memory back, or parks the object on its type's free list.  Container
 * deallocs wrap their work in the trashcan (trashcan.c), which bounds the
 * recursion depth, so a chain of any length dies without overflowing the C
 * stack.
 *
 * Finalizers (PEP 442).  tp_finalize runs at most once per object: from
 * the collector, or from tp_dealloc through PyObject_CallFinalizerFromDealloc,
 * which revives the object (refcount 1) for the call and reports whether
 * the finalizer resurrected it:
 *
 *     after the call, ob_refcnt - 1 == 0   iff   the object stays dead.
 */
#include "object_internal.h"

#include <stdio.h>

void _Py_Dealloc(hl_runtime_t *rt, hl_object_t *op)
{
    hl_assert_internal(op->ob_refcnt == 0);
    Py_TYPE(op)->tp_dealloc(rt, op);
}

/* ---------------------------------------------------------------------- */
/* Non-GC objects */

hl_object_t *_PyObject_New(hl_runtime_t *rt, const hl_type_t *tp)
{
    hl_object_t *op = hl_obj_malloc(rt, (size_t)tp->tp_basicsize);
    if (op == NULL)
        return hl_err_nomemory(rt);
    op->ob_type = tp;
    _Py_NewReference(rt, op);
    return op;
}

/* tp_free of non-GC types: the object is gone from the runtime's count. */
void PyObject_Free_Object(hl_runtime_t *rt, hl_object_t *op)
{
    rt->objects--;
    hl_obj_free(rt, op);
}

/* ---------------------------------------------------------------------- */
/* Finalizers */

void PyObject_CallFinalizer(hl_runtime_t *rt, hl_object_t *self)
{
    const hl_type_t *tp = Py_TYPE(self);
    if (tp->tp_finalize == NULL)
        return;
    /* tp_finalize should only be called once. */
    if (_PyType_IS_GC(tp) && _PyGCHead_FINALIZED(AS_GC(self)))
        return;
    tp->tp_finalize(rt, self);
    if (_PyType_IS_GC(tp))
        _PyGCHead_SET_FINALIZED(AS_GC(self));
}

int PyObject_CallFinalizerFromDealloc(hl_runtime_t *rt, hl_object_t *self)
{
    hl_assert(Py_REFCNT(self) == 0);
    /* Temporarily resurrect the object. */
    self->ob_refcnt = 1;
    PyObject_CallFinalizer(rt, self);
    _PyObject_ASSERT_WITH_MSG(self, Py_REFCNT(self) > 0, "refcount is too small");
    /* Undo the temporary resurrection; can't use DECREF here, it would
     * cause a recursive call. */
    if (--self->ob_refcnt == 0)
        return 0; /* this is the normal path out */
    /* tp_finalize resurrected it: make it look like the original Py_DECREF
     * never happened.  (_Py_NewReference would count it again; it never
     * stopped being counted.) */
    hl_assert(!_PyType_IS_GC(Py_TYPE(self)) || _PyObject_GC_IS_TRACKED(self));
    return -1;
}

/* ---------------------------------------------------------------------- */
/* The public face */

void hl_incref(hl_object_t *op)
{
    Py_INCREF(op);
}

void hl_decref(hl_runtime_t *rt, hl_object_t *op)
{
    hl_assert(op != NULL && op->ob_refcnt > 0);
    Py_DECREF(rt, op);
}

void hl_xdecref(hl_runtime_t *rt, hl_object_t *op)
{
    Py_XDECREF(rt, op);
}

ssize_t hl_refcnt(const hl_object_t *op)
{
    return Py_REFCNT(op);
}

const char *hl_type_name(const hl_object_t *op)
{
    return Py_TYPE(op)->tp_name;
}

hl_kind_t hl_kind(const hl_object_t *op)
{
    return Py_TYPE(op)->kind;
}

bool hl_is_gc(const hl_object_t *op)
{
    return _PyObject_IS_GC(op);
}

/* sys.getsizeof: __sizeof__ + the GC head for GC objects (3.11 adds
 * sizeof(PyGC_Head); 3.12 adds the whole pre-header). */
size_t hl_sizeof(const hl_object_t *op)
{
    const hl_type_t *tp = Py_TYPE(op);
    size_t size = tp->tp_sizeof != NULL
                      ? tp->tp_sizeof(op)
                      : (size_t)tp->tp_basicsize
                            + (tp->tp_itemsize != 0
                                   ? (size_t)tp->tp_itemsize * (size_t)(Py_SIZE(op) < 0 ? -Py_SIZE(op) : Py_SIZE(op))
                                   : 0);
    if (_PyObject_IS_GC(op))
        size += sizeof(PyGC_Head);
    return size;
}

int hl_traverse(hl_object_t *op, hl_visitproc visit, void *arg)
{
    hl_traverseproc traverse = Py_TYPE(op)->tp_traverse;
    return traverse != NULL ? traverse(op, visit, arg) : 0;
}

/* ---------------------------------------------------------------------- */
/* Failed object checks */

void _PyObject_AssertFailed(const hl_object_t *obj, const char *expr, const char *msg,
                            const char *file, int line, const char *function)
{
    fprintf(stderr, "%s:%d: ", file, line);
    if (function)
        fprintf(stderr, "%s: ", function);
    fflush(stderr);
    if (expr)
        fprintf(stderr, "Assertion \"%s\" failed", expr);
    else
        fprintf(stderr, "Assertion failed");
    if (msg)
        fprintf(stderr, ": %s", msg);
    fprintf(stderr, "\n");
    if (obj != NULL) {
        /* _PyObject_Dump, without repr: the object may be half torn down. */
        fprintf(stderr, "object address  : %p\n", (const void *)obj);
        fprintf(stderr, "object refcount : %zd\n", Py_REFCNT(obj));
        fprintf(stderr, "object type     : %p\n", (const void *)Py_TYPE(obj));
        fprintf(stderr, "object type name: %s\n",
                Py_TYPE(obj) != NULL ? Py_TYPE(obj)->tp_name : "NULL");
    }
    fflush(stderr);
    hl_py_fatal_error_func("_PyObject_AssertFailed", "_PyObject_AssertFailed");
}
