/* instanceobject.c: heaplab's instance type, for GC research: what a
 * Python class with __slots__ and optional __del__ gives CPython's
 * collector to chew on (Objects/typeobject.c's subtype_dealloc,
 * subtype_traverse, subtype_clear and slot_tp_del, 3.11).
 *
 *   [PyGC_Head] | refcnt | type | ob_size | weakreflist | slot 0 | ... |
 *                                  nslots
 *   getsizeof == 32 + 8 * nslots + 16
 *
 * Each instance type is made at run time with its hooks:
 *
 *   finalize  tp_finalize (PEP 442).  Runs at most once per object (the
 *             FINALIZED bit): in a collection before anything is cleared,
 *             or in dealloc; either way it may resurrect the object.
 *   del       a legacy tp_del.  Runs on every dealloc, with the object
 *             revived for the call; a collection treats every unreachable
 *             object with one, and all it reaches, as uncollectable.
 *
 * Instances support weak references and are tracked from creation.
 *
 * Deallocation order (subtype_dealloc): untrack; trashcan; finalize (may
 * resurrect: stop); clear weakrefs, calling callbacks; del (may resurrect:
 * stop); clear weakrefs made by the finalizers, without callbacks; release
 * the slots in order; free.
 */
#include "object_internal.h"

#include <stdio.h>
#include <stdlib.h>

#define INSTANCE(op) ((hl_instance_object_t *)(op))

static int subtype_traverse(hl_object_t *self, hl_visitproc visit, void *arg)
{
    hl_instance_object_t *o = INSTANCE(self);
    for (ssize_t i = 0; i < Py_SIZE(o); i++)
        Py_VISIT(o->slots[i]);
    return 0;
}

static void clear_slots(hl_runtime_t *rt, hl_object_t *self)
{
    hl_instance_object_t *o = INSTANCE(self);
    for (ssize_t i = 0; i < Py_SIZE(o); i++)
        Py_CLEAR(rt, o->slots[i]);
}

static int subtype_clear(hl_runtime_t *rt, hl_object_t *self)
{
#ifdef HL_PLANT_TP_CLEAR_FORGETS_EDGE
    /* planted bug: a sentinel-style loop that stops at the first empty slot,
     * so the references in the slots after it are never cleared */
    hl_instance_object_t *o = INSTANCE(self);
    for (ssize_t i = 0; i < Py_SIZE(o) && o->slots[i] != NULL; i++)
        Py_CLEAR(rt, o->slots[i]);
#else
    clear_slots(rt, self);
#endif
    return 0;
}

static void instance_finalize(hl_runtime_t *rt, hl_object_t *self)
{
    const hl_type_t *tp = Py_TYPE(self);
    tp->hooks.finalize(rt, self, tp->hooks.user);
}

/* slot_tp_del: revive the object for the call, and report a resurrection
 * by leaving the refcount above 0. */
static void instance_del(hl_runtime_t *rt, hl_object_t *self)
{
    /* Temporarily resurrect the object. */
    hl_assert(Py_REFCNT(self) == 0);
    self->ob_refcnt = 1;
    const hl_type_t *tp = Py_TYPE(self);
    tp->hooks.del(rt, self, tp->hooks.user);
    /* Undo the temporary resurrection; can't use DECREF here, it would
     * cause a recursive call. */
    hl_assert(Py_REFCNT(self) > 0);
    self->ob_refcnt--;
    /* A refcount above 0 now means __del__ resurrected it: make it look
     * like the original Py_DECREF never happened. */
}

static void subtype_dealloc(hl_runtime_t *rt, hl_object_t *self)
{
    const hl_type_t *type = Py_TYPE(self);
    bool has_finalizer;

    /* UnTrack and re-Track around the trashcan macro, alas */
    PyObject_GC_UnTrack(self);
    Py_TRASHCAN_BEGIN(rt, self)

    has_finalizer = type->tp_finalize || type->tp_del;

    if (type->tp_finalize) {
        _PyObject_GC_TRACK(rt, self);
        if (PyObject_CallFinalizerFromDealloc(rt, self) < 0) {
            /* Resurrected */
            goto endlabel;
        }
        _PyObject_GC_UNTRACK(self);
    }
    /* If we added a weaklist, we clear it.  Do this *before* calling
       tp_del, clearing slots, or clearing the instance dict.  GC tracking
       must be off at this point.  weakref callbacks (if any, and whether
       directly here or indirectly in something we call) may trigger GC,
       and if self is tracked at that point, it will look like trash to GC
       and GC will try to delete self again. */
    PyObject_ClearWeakRefs(rt, self);

    if (type->tp_del) {
        _PyObject_GC_TRACK(rt, self);
        type->tp_del(rt, self);
        if (Py_REFCNT(self) > 0) {
            /* Resurrected */
            goto endlabel;
        }
        _PyObject_GC_UNTRACK(self);
    }
    if (has_finalizer) {
        /* New weakrefs could be created during the finalizer call.  If this
           occurs, clear them out without calling their finalizers since they
           might rely on part of the object being finalized that has already
           been destroyed. */
        PyWeakReference **list = _PyObject_GET_WEAKREFS_LISTPTR(self);
        while (*list)
            _PyWeakref_ClearRef(*list);
    }

    /* Clear slots up to the nearest base with a different tp_dealloc */
    clear_slots(rt, self);

    /* Call the base tp_dealloc (object's: tp_free). */
    PyObject_GC_Del(rt, self);

endlabel:
    Py_TRASHCAN_END(rt)
}

hl_type_t *hl_instance_type_new(hl_runtime_t *rt, const char *name,
                                const hl_instance_hooks_t *hooks)
{
    hl_type_t *tp = calloc(1, sizeof *tp);
    if (tp == NULL)
        return hl_err_nomemory(rt);
    snprintf(tp->name_buf, sizeof tp->name_buf, "%s", name);
    tp->tp_name = tp->name_buf;
    tp->tp_basicsize = sizeof(hl_instance_object_t);
    tp->tp_itemsize = sizeof(hl_object_t *);
    tp->tp_flags = HL_TPFLAGS_HAVE_GC | HL_TPFLAGS_HEAPTYPE;
    tp->kind = HL_KIND_INSTANCE;
    tp->tp_dealloc = subtype_dealloc;
    tp->tp_traverse = subtype_traverse;
    tp->tp_clear = subtype_clear;
    tp->tp_weaklistoffset = offsetof(hl_instance_object_t, weakreflist);
    if (hooks != NULL) {
        tp->hooks = *hooks;
        if (hooks->finalize != NULL)
            tp->tp_finalize = instance_finalize;
        if (hooks->del != NULL)
            tp->tp_del = instance_del;
    }
    tp->next_heaptype = rt->heaptypes;
    rt->heaptypes = tp;
    return tp;
}

void _PyInstance_FreeTypes(hl_runtime_t *rt)
{
    hl_type_t *tp = rt->heaptypes;
    while (tp != NULL) {
        hl_type_t *next = tp->next_heaptype;
        free(tp);
        tp = next;
    }
    rt->heaptypes = NULL;
}

hl_object_t *hl_instance_new(hl_runtime_t *rt, hl_type_t *type, size_t nslots)
{
    hl_assert(type->kind == HL_KIND_INSTANCE);
    if (nslots > (size_t)PTRDIFF_MAX / sizeof(hl_object_t *))
        return hl_err_nomemory(rt);
    hl_object_t *op = _PyObject_GC_NewVar(rt, type, (ssize_t)nslots);
    if (op == NULL)
        return NULL;
    INSTANCE(op)->weakreflist = NULL;
    memset(INSTANCE(op)->slots, 0, nslots * sizeof(hl_object_t *));
    _PyObject_GC_TRACK(rt, op);
    return op;
}

size_t hl_instance_nslots(const hl_object_t *op)
{
    hl_assert(Py_TYPE(op)->kind == HL_KIND_INSTANCE);
    return (size_t)Py_SIZE(op);
}

hl_object_t *hl_instance_get(const hl_object_t *op, size_t i)
{
    hl_assert(Py_TYPE(op)->kind == HL_KIND_INSTANCE && i < (size_t)Py_SIZE(op));
    return ((const hl_instance_object_t *)op)->slots[i];
}

void hl_instance_set(hl_runtime_t *rt, hl_object_t *op, size_t i, hl_object_t *v)
{
    hl_assert(Py_TYPE(op)->kind == HL_KIND_INSTANCE && i < (size_t)Py_SIZE(op));
    hl_object_t *old = INSTANCE(op)->slots[i];
    Py_XINCREF(v);
    INSTANCE(op)->slots[i] = v;
    Py_XDECREF(rt, old);
}
