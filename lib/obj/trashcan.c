/* trashcan.c: bounded-depth deallocation (Py_TRASHCAN_BEGIN/END, CPython
 * 3.11's _PyTrash_begin, _PyTrash_end and _PyTrash_thread_destroy_chain).
 *
 * Deallocating a container releases its items, whose deallocs release
 * theirs, and so on: a chain of a million nested lists would need a
 * million C frames.  Each container dealloc therefore runs inside
 *
 *     Py_TRASHCAN_BEGIN(rt, op)  ...release items, free op...  Py_TRASHCAN_END(rt)
 *
 * BEGIN counts the nesting; at depth PyTrash_UNWIND_LEVEL (50) it does not
 * run the body but parks `op` on rt->trash_delete_later, linked through
 * the GC head's _gc_prev (op is untracked by then, so the head is free).
 * When the outermost END brings the nesting back to 0, the parked objects
 * are deallocated, last parked first, with the nesting held at 1 so the
 * loop itself never recurses into another drain:
 *
 *     depth of C recursion <= PyTrash_UNWIND_LEVEL + 1 deallocs
 *     every parked object is deallocated exactly once, before the
 *     outermost Py_DECREF returns.
 */
#include "object_internal.h"

/* _PyTrash_thread_deposit_object */
static void trash_deposit_object(hl_runtime_t *rt, hl_object_t *op)
{
    hl_assert_internal(_PyObject_IS_GC(op));
    hl_assert_internal(!_PyObject_GC_IS_TRACKED(op));
    hl_assert_internal(Py_REFCNT(op) == 0);
    _PyGCHead_SET_PREV(AS_GC(op), (PyGC_Head *)rt->trash_delete_later);
    rt->trash_delete_later = op;
}

/* _PyTrash_thread_destroy_chain */
static void trash_destroy_chain(hl_runtime_t *rt)
{
    /* We need to increase trash_delete_nesting here, otherwise this
       function would be called recursively from the deallocs below. */
    hl_assert_internal(rt->trash_delete_nesting == 0);
    ++rt->trash_delete_nesting;
    while (rt->trash_delete_later != NULL) {
        hl_object_t *op = rt->trash_delete_later;
        hl_destructor dealloc = Py_TYPE(op)->tp_dealloc;
        rt->trash_delete_later = (hl_object_t *)_PyGCHead_PREV(AS_GC(op));
        /* Call the deallocator directly: Py_DECREF already ran on op. */
        hl_assert_internal(Py_REFCNT(op) == 0);
        dealloc(rt, op);
        hl_assert_internal(rt->trash_delete_nesting == 1);
    }
    --rt->trash_delete_nesting;
}

int _PyTrash_begin(hl_runtime_t *rt, hl_object_t *op)
{
    if (rt->trash_delete_nesting >= PyTrash_UNWIND_LEVEL) {
        /* Store the object (to be deallocated later) and jump past
         * Py_TRASHCAN_END, skipping the body of the deallocator */
        trash_deposit_object(rt, op);
        return 1;
    }
    ++rt->trash_delete_nesting;
    return 0;
}

void _PyTrash_end(hl_runtime_t *rt)
{
    --rt->trash_delete_nesting;
    if (rt->trash_delete_later != NULL && rt->trash_delete_nesting <= 0)
        trash_destroy_chain(rt);
}
