/* weakrefobject.c: weakref.ref (Objects/weakrefobject.c, 3.11).
 *
 * An object whose type supports weak references (tp_weaklistoffset > 0;
 * in heaplab, instances) heads a doubly linked list of the weakrefs to it:
 *
 *   referent.weakreflist --> basic ref --> ref with cb --> ref with cb
 *                            (no callback,  wr_next/wr_prev links
 *                             shared, at most one, always first)
 *
 *   wr_object == the referent while it lives, NULL ("None") once cleared
 *   a weakref is on its referent's list  iff  wr_object != NULL
 *
 * When the referent dies by refcount, PyObject_ClearWeakRefs clears every
 * weakref and then calls the callbacks of those still alive, each with
 * its weakref.  When it dies in a collection, handle_weakrefs
 * (gcmodule.c) does the clearing, and calls only the callbacks of weakrefs
 * that are not garbage themselves (bpo-38006).
 */
#include "object_internal.h"

/* Clear the weakref: off its referent's list, referent gone, callback
 * released. */
static void clear_weakref(hl_runtime_t *rt, PyWeakReference *self)
{
    hl_object_t *callback = self->wr_callback;

    if (self->wr_object != NULL) {
        PyWeakReference **list = _PyObject_GET_WEAKREFS_LISTPTR(self->wr_object);
        if (*list == self)
            /* If 'self' is the end of the list (and thus self->wr_next ==
               NULL) then the weakref list itself (and thus the value of
               *list) will end up being set to NULL. */
            *list = self->wr_next;
        self->wr_object = NULL;
        if (self->wr_prev != NULL)
            self->wr_prev->wr_next = self->wr_next;
        if (self->wr_next != NULL)
            self->wr_next->wr_prev = self->wr_prev;
        self->wr_prev = NULL;
        self->wr_next = NULL;
    }
    if (callback != NULL) {
        self->wr_callback = NULL;
        Py_DECREF(rt, callback);
    }
}

/* Cyclic gc uses this to *just* clear the passed-in reference, leaving the
 * callback intact and uncalled.  It must be possible to call self's
 * tp_dealloc() after calling this, so self has to be left in a sane enough
 * state for that to work.  We expect tp_dealloc to decref the callback
 * then.  The reason for not letting clear_weakref() decref the callback
 * right now is that if the callback goes away, that may in turn trigger
 * another callback (if a weak reference to the callback exists) -- running
 * arbitrary Python code in the middle of gc is a disaster.  The convolution
 * here allows gc to delay triggering such callbacks until the world is in a
 * sane state again. */
void _PyWeakref_ClearRef(PyWeakReference *self)
{
    hl_assert_internal(PyWeakref_Check((hl_object_t *)self));
    /* Preserve and restore the callback around clear_weakref. */
    hl_object_t *callback = self->wr_callback;
    self->wr_callback = NULL;
    clear_weakref(NULL, self); /* no callback to release: rt unused */
    self->wr_callback = callback;
}

static void weakref_dealloc(hl_runtime_t *rt, hl_object_t *self)
{
    PyObject_GC_UnTrack(self);
    clear_weakref(rt, (PyWeakReference *)self);
    PyObject_GC_Del(rt, self);
}

static int gc_traverse(hl_object_t *self, hl_visitproc visit, void *arg)
{
    Py_VISIT(((PyWeakReference *)self)->wr_callback);
    return 0;
}

static int gc_clear(hl_runtime_t *rt, hl_object_t *self)
{
    clear_weakref(rt, (PyWeakReference *)self);
    return 0;
}

const hl_type_t hl_weakref_type = {
    .tp_name = "weakref.ReferenceType",
    .tp_basicsize = sizeof(PyWeakReference),
    .tp_flags = HL_TPFLAGS_HAVE_GC,
    .kind = HL_KIND_WEAKREF,
    .tp_dealloc = weakref_dealloc,
    .tp_traverse = gc_traverse,
    .tp_clear = gc_clear,
};

ssize_t _PyWeakref_GetWeakrefCount(PyWeakReference *head)
{
    ssize_t count = 0;
    while (head != NULL) {
        ++count;
        head = head->wr_next;
    }
    return count;
}

/* The basic (callback-less) reference at the head of the list, if any. */
static PyWeakReference *get_basic_ref(PyWeakReference *head)
{
    return head != NULL && head->wr_callback == NULL ? head : NULL;
}

static void insert_head(PyWeakReference *newref, PyWeakReference **list)
{
    PyWeakReference *next = *list;
    newref->wr_prev = NULL;
    newref->wr_next = next;
    if (next != NULL)
        next->wr_prev = newref;
    *list = newref;
}

static void insert_after(PyWeakReference *newref, PyWeakReference *prev)
{
    newref->wr_prev = prev;
    newref->wr_next = prev->wr_next;
    if (prev->wr_next != NULL)
        prev->wr_next->wr_prev = newref;
    prev->wr_next = newref;
}

hl_object_t *hl_weakref_new(hl_runtime_t *rt, hl_object_t *ob, hl_object_t *callback)
{
    if (!_PyType_SUPPORTS_WEAKREFS(Py_TYPE(ob))) {
        hl_err_set(rt, HL_ERR_TYPE, "cannot create weak reference to '%s' object",
                   Py_TYPE(ob)->tp_name);
        return NULL;
    }
    PyWeakReference **list = _PyObject_GET_WEAKREFS_LISTPTR(ob);
    PyWeakReference *ref = get_basic_ref(*list);
    if (callback == NULL && ref != NULL) {
        /* We can re-use an existing reference. */
        Py_INCREF((hl_object_t *)ref);
        return (hl_object_t *)ref;
    }
    /* We have to create a new reference.  Note: the allocation can trigger
       cyclic GC, so the weakref list on ob can be mutated.  This means that
       the ref pointer we got back earlier may have been collected, so we
       need to compute it again before we use it. */
    PyWeakReference *self = (PyWeakReference *)_PyObject_GC_New(rt, &hl_weakref_type);
    if (self == NULL)
        return NULL;
    self->hash = -1;
    self->wr_object = ob;
    self->wr_prev = NULL;
    self->wr_next = NULL;
    self->wr_callback = callback;
    Py_XINCREF(callback);
    self->vectorcall = NULL;
    if (callback == NULL) {
        insert_head(self, list);
    }
    else {
        PyWeakReference *prev = get_basic_ref(*list);
        if (prev == NULL)
            insert_head(self, list);
        else
            insert_after(self, prev);
    }
    _PyObject_GC_TRACK(rt, (hl_object_t *)self);
    return (hl_object_t *)self;
}

hl_object_t *hl_weakref_get(const hl_object_t *wr)
{
    hl_assert(PyWeakref_Check(wr));
    return ((const PyWeakReference *)wr)->wr_object;
}

size_t hl_weakref_count(const hl_object_t *obj)
{
    if (!_PyType_SUPPORTS_WEAKREFS(Py_TYPE(obj)))
        return 0;
    return (size_t)_PyWeakref_GetWeakrefCount(
        *_PyObject_GET_WEAKREFS_LISTPTR((hl_object_t *)obj));
}

static void handle_callback(hl_runtime_t *rt, PyWeakReference *ref, hl_object_t *callback)
{
    hl_call(rt, callback, (hl_object_t *)ref);
}

/* This function is called by the tp_dealloc handler to clear weak
 * references.
 *
 * This iterates through the weak references for 'object' and calls
 * callbacks for those references which have one.  It returns when all
 * callbacks have been attempted. */
void PyObject_ClearWeakRefs(hl_runtime_t *rt, hl_object_t *object)
{
    hl_assert(object != NULL && _PyType_SUPPORTS_WEAKREFS(Py_TYPE(object))
              && Py_REFCNT(object) == 0);
    PyWeakReference **list = _PyObject_GET_WEAKREFS_LISTPTR(object);
    /* Remove the callback-less basic reference */
    if (*list != NULL && (*list)->wr_callback == NULL)
        clear_weakref(rt, *list);
    if (*list == NULL)
        return;

    PyWeakReference *current = *list;
    ssize_t count = _PyWeakref_GetWeakrefCount(current);
    if (count == 1) {
        hl_object_t *callback = current->wr_callback;
        current->wr_callback = NULL;
        clear_weakref(rt, current);
        if (callback != NULL) {
            if (Py_REFCNT((hl_object_t *)current) > 0)
                handle_callback(rt, current, callback);
            Py_DECREF(rt, callback);
        }
        return;
    }

    /* Several: clear them all first, keeping (weakref, callback) pairs in a
     * tuple, then call the callbacks -- so no callback sees a weakref to
     * the dying object still set. */
    hl_object_t *tuple = _PyTuple_New(rt, count * 2);
    if (tuple == NULL) {
        hl_runtime_clear_error(rt);
        return;
    }
    PyTupleObject *t = (PyTupleObject *)tuple;
    for (ssize_t i = 0; i < count; ++i) {
        PyWeakReference *next = current->wr_next;
        if (Py_REFCNT((hl_object_t *)current) > 0) {
            Py_INCREF((hl_object_t *)current);
            t->ob_item[i * 2] = (hl_object_t *)current;
            t->ob_item[i * 2 + 1] = current->wr_callback;
        }
        else {
            Py_XDECREF(rt, current->wr_callback);
        }
        current->wr_callback = NULL;
        clear_weakref(rt, current);
        current = next;
    }
    for (ssize_t i = 0; i < count; ++i) {
        hl_object_t *callback = t->ob_item[i * 2 + 1];
        /* The tuple may have slots left to NULL */
        if (callback != NULL)
            handle_callback(rt, (PyWeakReference *)t->ob_item[i * 2], callback);
    }
    Py_DECREF(rt, tuple);
}
