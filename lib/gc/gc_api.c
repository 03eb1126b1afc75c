/* gc_api.c: the `gc` module's functions (Modules/gcmodule.c's gc_*_impl),
 * over a runtime.  The collector proper is gcmodule.c.
 *
 * get_objects and get_referrers scan generations 0..2, never the permanent
 * one, and skip the list they are building (it is a tracked list in
 * generation 0 by then).  freeze merges every generation into the permanent
 * one and zeroes every generation's count (the oracle: (0, 1, 1) before,
 * (0, 0, 0) after); unfreeze merges the permanent generation into
 * generation 2.
 */
#include "object_internal.h"

#include <stdlib.h>

void hl_gc_enable(hl_runtime_t *rt)
{
    rt->gc.enabled = 1;
}

void hl_gc_disable(hl_runtime_t *rt)
{
    rt->gc.enabled = 0;
}

bool hl_gc_isenabled(const hl_runtime_t *rt)
{
    return rt->gc.enabled != 0;
}

void hl_gc_get_count(const hl_runtime_t *rt, int out[HL_GC_NUM_GENERATIONS])
{
    for (int i = 0; i < NUM_GENERATIONS; i++)
        out[i] = rt->gc.generations[i].count;
}

void hl_gc_get_threshold(const hl_runtime_t *rt, int out[HL_GC_NUM_GENERATIONS])
{
    for (int i = 0; i < NUM_GENERATIONS; i++)
        out[i] = rt->gc.generations[i].threshold;
}

void hl_gc_set_threshold(hl_runtime_t *rt, const int *t, int n)
{
    hl_assert(n >= 1 && n <= NUM_GENERATIONS);
    for (int i = 0; i < n; i++)
        rt->gc.generations[i].threshold = t[i];
}

void hl_gc_get_stats(const hl_runtime_t *rt,
                     hl_gc_generation_stats_t out[HL_GC_NUM_GENERATIONS])
{
    for (int i = 0; i < NUM_GENERATIONS; i++) {
        out[i].collections = rt->gc.generation_stats[i].collections;
        out[i].collected = rt->gc.generation_stats[i].collected;
        out[i].uncollectable = rt->gc.generation_stats[i].uncollectable;
    }
}

int hl_gc_callback_add(hl_runtime_t *rt, hl_gc_callback_fn fn, void *user)
{
    GCState *gcstate = get_gc_state(rt);
    if (gcstate->ncallbacks == gcstate->callbacks_cap) {
        size_t cap = gcstate->callbacks_cap ? 2 * gcstate->callbacks_cap : 4;
        gc_callback_t *cbs = realloc(gcstate->callbacks, cap * sizeof *cbs);
        if (cbs == NULL) {
            hl_err_nomemory(rt);
            return -1;
        }
        gcstate->callbacks = cbs;
        gcstate->callbacks_cap = cap;
    }
    gcstate->callbacks[gcstate->ncallbacks++] = (gc_callback_t){fn, user};
    return 0;
}

int hl_gc_callback_remove(hl_runtime_t *rt, hl_gc_callback_fn fn, void *user)
{
    GCState *gcstate = get_gc_state(rt);
    for (size_t i = 0; i < gcstate->ncallbacks; i++) {
        if (gcstate->callbacks[i].fn == fn && gcstate->callbacks[i].user == user) {
            memmove(&gcstate->callbacks[i], &gcstate->callbacks[i + 1],
                    (gcstate->ncallbacks - i - 1) * sizeof gcstate->callbacks[0]);
            gcstate->ncallbacks--;
            return 0;
        }
    }
    return -1;
}

void hl_gc_freeze(hl_runtime_t *rt)
{
    GCState *gcstate = get_gc_state(rt);
    for (int i = 0; i < NUM_GENERATIONS; ++i) {
        gc_list_merge(GEN_HEAD(gcstate, i), &gcstate->permanent_generation.head);
        gcstate->generations[i].count = 0;
    }
}

void hl_gc_unfreeze(hl_runtime_t *rt)
{
    GCState *gcstate = get_gc_state(rt);
    gc_list_merge(&gcstate->permanent_generation.head, GEN_HEAD(gcstate, NUM_GENERATIONS - 1));
}

ssize_t hl_gc_get_freeze_count(const hl_runtime_t *rt)
{
    return gc_list_size((PyGC_Head *)&rt->gc.permanent_generation.head);
}

ssize_t hl_gc_generation_size(const hl_runtime_t *rt, int g)
{
    hl_assert(g >= 0 && g <= NUM_GENERATIONS);
    PyGC_Head *head = g < NUM_GENERATIONS ? (PyGC_Head *)GEN_HEAD(&rt->gc, g)
                                          : (PyGC_Head *)&rt->gc.permanent_generation.head;
    return gc_list_size(head);
}

static int append_objects(hl_runtime_t *rt, hl_object_t *py_list, PyGC_Head *gc_list)
{
    PyGC_Head *gc;
    for (gc = GC_NEXT(gc_list); gc != gc_list; gc = GC_NEXT(gc)) {
        hl_object_t *op = FROM_GC(gc);
        if (op != py_list) {
            if (_PyList_Append(rt, py_list, op))
                return -1; /* exception */
        }
    }
    return 0;
}

hl_object_t *hl_gc_get_objects(hl_runtime_t *rt, int generation)
{
    GCState *gcstate = get_gc_state(rt);
    /* 3.11 allocates the result before it checks the argument, so even a bad
     * generation makes a GC allocation (which may start a collection). */
    hl_object_t *result = _PyList_New(rt, 0);
    if (result == NULL)
        return NULL;
    /* If generation is passed, we extract only that generation */
    if (generation != -1) {
        if (generation >= NUM_GENERATIONS) {
            hl_err_set(rt, HL_ERR_VALUE,
                       "generation parameter must be less than the number of available "
                       "generations (%i)",
                       NUM_GENERATIONS);
            goto error;
        }
        if (generation < -1) {
            hl_err_set(rt, HL_ERR_VALUE, "generation parameter cannot be negative");
            goto error;
        }
        if (append_objects(rt, result, GEN_HEAD(gcstate, generation)))
            goto error;
        return result;
    }
    /* If generation is not passed or None, get all objects from all
     * generations */
    for (int i = 0; i < NUM_GENERATIONS; i++) {
        if (append_objects(rt, result, GEN_HEAD(gcstate, i)))
            goto error;
    }
    return result;
error:
    Py_DECREF(rt, result);
    return NULL;
}

typedef struct {
    hl_object_t *const *objs;
    size_t n;
} referrers_arg_t;

static int referrersvisit(hl_object_t *obj, void *arg)
{
    const referrers_arg_t *a = arg;
    for (size_t i = 0; i < a->n; i++)
        if (a->objs[i] == obj)
            return 1;
    return 0;
}

static int gc_referrers_for(hl_runtime_t *rt, referrers_arg_t *objs, PyGC_Head *list,
                            hl_object_t *resultlist)
{
    PyGC_Head *gc;
    for (gc = GC_NEXT(list); gc != list; gc = GC_NEXT(gc)) {
        hl_object_t *obj = FROM_GC(gc);
        if (obj == resultlist)
            continue;
        if (Py_TYPE(obj)->tp_traverse(obj, referrersvisit, objs)) {
            if (_PyList_Append(rt, resultlist, obj) < 0)
                return 0; /* error */
        }
    }
    return 1; /* no error */
}

hl_object_t *hl_gc_get_referrers(hl_runtime_t *rt, hl_object_t *const *objs, size_t n)
{
    GCState *gcstate = get_gc_state(rt);
    hl_object_t *result = _PyList_New(rt, 0);
    if (result == NULL)
        return NULL;
    referrers_arg_t a = {objs, n};
    for (int i = 0; i < NUM_GENERATIONS; i++) {
        if (!gc_referrers_for(rt, &a, GEN_HEAD(gcstate, i), result)) {
            Py_DECREF(rt, result);
            return NULL;
        }
    }
    return result;
}

typedef struct {
    hl_runtime_t *rt;
    hl_object_t *list;
} referents_arg_t;

/* Append obj to list; return true if error (out of memory), false if OK. */
static int referentsvisit(hl_object_t *obj, void *arg)
{
    referents_arg_t *a = arg;
    return _PyList_Append(a->rt, a->list, obj) < 0;
}

hl_object_t *hl_gc_get_referents(hl_runtime_t *rt, hl_object_t *const *objs, size_t n)
{
    hl_object_t *result = _PyList_New(rt, 0);
    if (result == NULL)
        return NULL;
    referents_arg_t a = {rt, result};
    for (size_t i = 0; i < n; i++) {
        hl_object_t *obj = objs[i];
        if (!_PyObject_IS_GC(obj))
            continue;
        if (Py_TYPE(obj)->tp_traverse == NULL)
            continue;
        if (Py_TYPE(obj)->tp_traverse(obj, referentsvisit, &a)) {
            Py_DECREF(rt, result);
            return NULL;
        }
    }
    return result;
}

bool hl_gc_is_tracked(const hl_object_t *obj)
{
    return _PyObject_IS_GC(obj) && _PyObject_GC_IS_TRACKED(obj);
}

bool hl_gc_is_finalized(const hl_object_t *obj)
{
    return _PyObject_IS_GC(obj) && _PyGCHead_FINALIZED(AS_GC((hl_object_t *)obj));
}

hl_object_t *hl_gc_garbage(hl_runtime_t *rt)
{
    return rt->gc.garbage;
}

void hl_gc_set_debug(hl_runtime_t *rt, int flags)
{
    rt->gc.debug = flags;
}

int hl_gc_get_debug(const hl_runtime_t *rt)
{
    return rt->gc.debug;
}
