/* gcmodule.c: the cyclic garbage collector of CPython 3.11
 * (Modules/gcmodule.c), step for step.
 *
 * Reference counting frees everything except cycles.  The collector finds
 * the cycles that nothing outside them references, among the containers it
 * tracks, without knowing the roots: a container's references from outside
 * the set being collected are its refcount minus the references the set's
 * own members hold to it.
 *
 *   generations:   gen0 (young) --> gen1 --> gen2 (old)      permanent
 *                  threshold 700    10       10              (gc.freeze)
 *
 * A collection of generation g (gc_collect_main) merges gens 0..g into
 * `young` and runs:
 *
 *   update_refs        gc_refs = ob_refcnt; set COLLECTING
 *   subtract_refs      for each referent r in young: r.gc_refs -= 1
 *                      => gc_refs == references from outside young
 *   move_unreachable   gc_refs > 0: reachable; traverse, marking what it
 *                      reaches reachable (gc_refs 1), pulling objects back
 *                      from `unreachable`; gc_refs == 0 (so far): move to
 *                      `unreachable` tentatively, flagged UNREACHABLE
 *                      => young == objects reachable from outside young;
 *                         unreachable == young's garbage
 *   untrack_tuples     tuples with only untracked items stop being tracked
 *   (full only)        untrack_dicts likewise, and long_lived_total = |young|
 *   promote            young merges into g+1 (gen1 survivors also count as
 *                      long_lived_pending)
 *   move_legacy_finalizers  tp_del objects, and all they reach, to
 *                      `finalizers`: uncollectable
 *   handle_weakrefs    clear every weakref to (or in) the garbage; call the
 *                      callbacks of weakrefs that are not garbage themselves
 *   finalize_garbage   tp_finalize, once per object (FINALIZED flag)
 *   handle_resurrected_objects  re-run update/subtract/move over the
 *                      garbage: what a finalizer made reachable, and all
 *                      it reaches, survives (3.9+, bpo-38379)
 *   delete_garbage     tp_clear each remaining object (DEBUG_SAVEALL:
 *                      append it to gc.garbage instead); survivors to old
 *   handle_legacy_finalizers  `finalizers` to gc.garbage, then to old
 *   (full only)        clear the free lists
 *
 *   return value == collected + uncollectable, where
 *     collected     == |garbage after resurrection| + weakrefs freed by
 *                      their callbacks in handle_weakrefs
 *     uncollectable == |finalizers|
 *
 * Which generation (gc_collect_generations): the oldest g with
 * count[g] > threshold[g], except that a full collection waits while
 * long_lived_pending < long_lived_total / 4 (issue #4074).  After
 * collecting g: count[g+1] += 1 and count[0..g] = 0.
 */
#include "object_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gc_prefetch.h"
#include "gc_validate.h"

/* ---------------------------------------------------------------------- */
/* update_refs, subtract_refs */

/* Set all gc_refs = ob_refcnt.  After this, gc_refs is > 0 and the
 * PREV_MASK_COLLECTING bit is set for all objects in containers. */
/* heaplab: what update_refs saw of the list on its walk (ob_type sits
 * beside ob_refcnt, so this costs no memory traffic): its size, to decide
 * on prefetching, and whether a later untrack_tuples or untrack_dicts walk
 * can find anything to do. */
typedef struct {
    ssize_t n;
    bool has_tuple;
    bool has_dict;
} young_census_t;

static void update_refs(PyGC_Head *containers, young_census_t *census)
{
    ssize_t n = 0;
    bool tuples = false, dicts = false;
    PyGC_Head *gc = GC_NEXT(containers);
    for (; gc != containers; gc = GC_NEXT(gc), n++) {
        const hl_type_t *tp = Py_TYPE(FROM_GC(gc));
        tuples |= tp == &hl_tuple_type;
        dicts |= tp == &hl_dict_type;
        gc_reset_refs(gc, Py_REFCNT(FROM_GC(gc)));
        /* Python's cyclic gc should never see an incoming refcount of 0:
         * if something decref'ed to 0, it should have been deallocated
         * immediately at that time. */
        _PyObject_ASSERT_WITH_MSG(FROM_GC(gc), gc_get_refs(gc) != 0, "refcount is too small");
    }
    *census = (young_census_t){n, tuples, dicts};
}

/* A traversal callback for subtract_refs. */
static int visit_decref(hl_object_t *op, void *parent)
{
    HL_UNUSED(parent);
    if (_PyObject_IS_GC(op)) {
        PyGC_Head *gc = AS_GC(op);
        /* We're only interested in gc_refs for objects in the generation
         * being collected, which can be recognized because only they have
         * positive gc_refs. */
        if (gc_is_collecting(gc))
            gc_decref(gc);
    }
    return 0;
}

/* heaplab: the built-in containers' tp_traverse, inlined into the two
 * walks that visit every referent (lists and tuples visit their items last
 * to first, as list_traverse and tupletraverse do), so the common case
 * makes no indirect call per object and none per item.  Same visits, same
 * order. */
#define GC_TRAVERSE_INLINE(op, visit, arg)                                      \
    do {                                                                         \
        const hl_type_t *_tp = Py_TYPE(op);                                      \
        hl_object_t **_items;                                                    \
        ssize_t _i;                                                              \
        if (_tp == &hl_list_type)                                                \
            _items = ((PyListObject *)(op))->ob_item;                            \
        else if (_tp == &hl_tuple_type)                                          \
            _items = ((PyTupleObject *)(op))->ob_item;                           \
        else {                                                                   \
            _tp->tp_traverse((op), (visit), (arg));                              \
            break;                                                               \
        }                                                                        \
        for (_i = Py_SIZE(op); --_i >= 0;)                                       \
            if (_items[_i] != NULL)                                              \
                (void)visit(_items[_i], (arg));                                  \
    } while (0)

/* Subtract internal references from gc_refs.  After this, gc_refs is >= 0
 * for all objects in containers, and is GC_REACHABLE for all tracked gc
 * objects not in containers.  The ones with gc_refs > 0 are directly
 * reachable from outside containers, and so can't be collected. */
static void subtract_refs(PyGC_Head *containers, bool prefetch)
{
    PyGC_Head *gc = GC_NEXT(containers);
    gc_ahead_t ahead;
    if (prefetch)
        gc_ahead_init(&ahead, containers, gc);
#ifdef HL_PLANT_SUBTRACT_REFS_SKIPS_FIRST
    /* planted bug: the loop advances once more before its first visit, so
     * the first object's references are never subtracted */
    for (gc = GC_NEXT(gc); gc != containers; gc = GC_NEXT(gc)) {
#else
    for (; gc != containers; gc = GC_NEXT(gc)) {
#endif
        if (prefetch)
            gc_ahead_step(&ahead);
        hl_object_t *op = FROM_GC(gc);
        GC_TRAVERSE_INLINE(op, visit_decref, op);
    }
}

/* ---------------------------------------------------------------------- */
/* move_unreachable */

/* A traversal callback for move_unreachable. */
static int visit_reachable(hl_object_t *op, void *arg)
{
    PyGC_Head *reachable = arg;
    if (!_PyObject_IS_GC(op))
        return 0;

    PyGC_Head *gc = AS_GC(op);
    const ssize_t gc_refs = gc_get_refs(gc);

    /* Ignore objects in other generation.  This also skips objects "to the
     * left" of the current position in move_unreachable's scan of the
     * 'young' list - they've already been traversed, and no longer have the
     * PREV_MASK_COLLECTING flag. */
    if (!gc_is_collecting(gc))
        return 0;
    /* It would be a logic error elsewhere if the collecting flag were set
     * on an untracked object. */
    hl_assert_internal(gc->_gc_next != 0);

#ifdef HL_PLANT_MOVE_UNREACHABLE_NO_REVISIT
    /* planted bug: the flag is looked for in _gc_prev, not _gc_next, so an
     * object already in `unreachable` is never moved back (and is collected) */
    if (gc->_gc_prev & NEXT_MASK_UNREACHABLE) {
#else
    if (gc->_gc_next & NEXT_MASK_UNREACHABLE) {
#endif
        /* This had gc_refs = 0 when move_unreachable got to it, but turns
         * out it's reachable after all.  Move it back to move_unreachable's
         * 'young' list, and move_unreachable will eventually get to it
         * again.  Manually unlink gc from unreachable list because the list
         * functions don't work right in the presence of
         * NEXT_MASK_UNREACHABLE flags. */
        PyGC_Head *prev = GC_PREV(gc);
        PyGC_Head *next = (PyGC_Head *)(gc->_gc_next & ~NEXT_MASK_UNREACHABLE);
        hl_assert_internal(prev->_gc_next & NEXT_MASK_UNREACHABLE);
        hl_assert_internal(next->_gc_next & NEXT_MASK_UNREACHABLE);
        prev->_gc_next = gc->_gc_next; /* copy NEXT_MASK_UNREACHABLE */
        _PyGCHead_SET_PREV(next, prev);

        gc_list_append(gc, reachable);
        gc_set_refs(gc, 1);
    }
    else if (gc_refs == 0) {
        /* This is in move_unreachable's 'young' list, but the traversal
         * hasn't yet gotten to it.  All we need to do is tell
         * move_unreachable that it's reachable. */
        gc_set_refs(gc, 1);
    }
    else {
        /* If gc_refs > 0, it must be in move_unreachable's 'young' list, and
         * move_unreachable will eventually get to it. */
        _PyObject_ASSERT_WITH_MSG(op, gc_refs > 0, "refcount is too small");
    }
    return 0;
}

/* Move the unreachable objects from young to unreachable.  After this, all
 * objects in young don't have PREV_MASK_COLLECTING flag and all objects in
 * unreachable have the flag.  All objects in young after this are directly
 * or indirectly reachable from outside the original young; and all objects
 * in unreachable are not.
 *
 * This function restores _gc_prev pointer.  young and unreachable are
 * doubly linked list after this function.  But _gc_next in unreachable list
 * has NEXT_MASK_UNREACHABLE flag.  So we can not gc_list_* functions for
 * unreachable until we remove the flag. */
static void move_unreachable(PyGC_Head *young, PyGC_Head *unreachable, bool prefetch)
{
    /* previous elem in the young list, used for restore gc_prev. */
    PyGC_Head *prev = young;
    PyGC_Head *gc = GC_NEXT(young);
    gc_ahead_t ahead;
    if (prefetch)
        gc_ahead_init(&ahead, young, gc);

    /* Invariants:  all objects "to the left" of us in young are reachable
     * (directly or indirectly) from outside the young list as it was at
     * entry.
     *
     * All other objects from the original young "to the left" of us are in
     * unreachable now, and have NEXT_MASK_UNREACHABLE.  All objects to the
     * left of us in 'young' now have been scanned, and no objects here or
     * to the right have been scanned yet. */
    while (gc != young) {
        if (prefetch)
            gc_ahead_step(&ahead);
        if (gc_get_refs(gc)) {
            /* gc is definitely reachable from outside the original 'young'.
             * Mark it as such, and traverse its pointers to find any other
             * objects that may be directly reachable from it.  Note that the
             * call to tp_traverse may append objects to young, so we have to
             * wait until it returns to determine the next object to visit. */
            hl_object_t *op = FROM_GC(gc);
            _PyObject_ASSERT_WITH_MSG(op, gc_get_refs(gc) > 0, "refcount is too small");
            GC_TRAVERSE_INLINE(op, visit_reachable, young);
            /* relink gc_prev to prev element. */
            _PyGCHead_SET_PREV(gc, prev);
            /* gc is not COLLECTING state after here. */
            gc_clear_collecting(gc);
            prev = gc;
        }
        else {
            /* This *may* be unreachable.  To make progress, assume it is.
             * gc isn't directly reachable from any object we've already
             * traversed, but may be reachable from an object we haven't
             * gotten to yet.  visit_reachable will eventually move gc back
             * into young if that's so, and we'll see it again. */
            /* Move gc to unreachable.  No need to gc->next->prev = prev
             * because it is single linked. */
            prev->_gc_next = gc->_gc_next;

            /* We can't use gc_list_append() here because we use
             * NEXT_MASK_UNREACHABLE here. */
            PyGC_Head *last = GC_PREV(unreachable);
            /* NOTE: Since all objects in unreachable set has
             * NEXT_MASK_UNREACHABLE flag, we set it unconditionally.  But
             * this may pollute the unreachable list head's 'next' pointer
             * too.  That's semantically senseless but expedient here - the
             * damage is repaired when this function ends. */
            last->_gc_next = (NEXT_MASK_UNREACHABLE | (uintptr_t)gc);
            _PyGCHead_SET_PREV(gc, last);
            gc->_gc_next = (NEXT_MASK_UNREACHABLE | (uintptr_t)unreachable);
            unreachable->_gc_prev = (uintptr_t)gc;
        }
        gc = (PyGC_Head *)prev->_gc_next;
    }
    /* young->_gc_prev must be last element remained in the list. */
    young->_gc_prev = (uintptr_t)prev;
    /* don't let the pollution of the list head's next pointer leak */
    unreachable->_gc_next &= ~NEXT_MASK_UNREACHABLE;
}

/* ---------------------------------------------------------------------- */
/* Untracking */

/* heaplab: besides untracking, untrack_tuples counts the objects that stay
 * in the list and says whether any is a dict, so a full collection needs
 * no gc_list_size pass, and untrack_dicts runs only when there is a dict to
 * look at.  The passes run in CPython's order, so what gets untracked is
 * the same. */
static ssize_t untrack_tuples(PyGC_Head *head, bool *has_dicts)
{
    ssize_t n = 0;
    bool dicts = false;
    PyGC_Head *next, *gc = GC_NEXT(head);
    while (gc != head) {
        hl_object_t *op = FROM_GC(gc);
        next = GC_NEXT(gc);
        if (Py_IS_TYPE(op, &hl_tuple_type)) {
            _PyTuple_MaybeUntrack(op);
            n += _PyObject_GC_IS_TRACKED(op);
        }
        else {
            dicts |= Py_IS_TYPE(op, &hl_dict_type);
            n++;
        }
        gc = next;
    }
    *has_dicts = dicts;
    return n;
}

/* Try to untrack all currently tracked dictionaries; returns how many it
 * untracked. */
static ssize_t untrack_dicts(PyGC_Head *head)
{
    ssize_t n = 0;
    PyGC_Head *next, *gc = GC_NEXT(head);
    while (gc != head) {
        hl_object_t *op = FROM_GC(gc);
        next = GC_NEXT(gc);
        if (Py_IS_TYPE(op, &hl_dict_type)) {
            _PyDict_MaybeUntrack(op);
            n += !_PyObject_GC_IS_TRACKED(op);
        }
        gc = next;
    }
    return n;
}

/* ---------------------------------------------------------------------- */
/* Legacy finalizers */

/* Return true if object has a pre-PEP 442 finalization method. */
static int has_legacy_finalizer(hl_object_t *op)
{
    return Py_TYPE(op)->tp_del != NULL;
}

/* heaplab: what move_legacy_finalizers saw on its walk over the garbage,
 * so later phases can tell when they have nothing to do without walking it
 * again.  Each count is an upper bound for what stays in `unreachable`,
 * since move_legacy_finalizer_reachable may still take objects away. */
typedef struct {
    ssize_t total;     /* objects in unreachable on entry */
    ssize_t finalize;  /* with a tp_finalize not yet run */
    ssize_t weak;      /* weakrefs, or objects with weakrefs to them */
} garbage_census_t;

/* Move the objects in unreachable with tp_del slots into `finalizers`.
 *
 * This function also removes NEXT_MASK_UNREACHABLE flag from _gc_next in
 * unreachable. */
static void move_legacy_finalizers(PyGC_Head *unreachable, PyGC_Head *finalizers,
                                   garbage_census_t *census)
{
    *census = (garbage_census_t){0, 0, 0};
    PyGC_Head *gc, *next;
    hl_assert_internal((unreachable->_gc_next & NEXT_MASK_UNREACHABLE) == 0);

    /* March over unreachable.  Move objects with finalizers into
     * `finalizers`. */
    for (gc = GC_NEXT(unreachable); gc != unreachable; gc = next) {
        hl_object_t *op = FROM_GC(gc);
        hl_assert_internal(gc->_gc_next & NEXT_MASK_UNREACHABLE);
        gc->_gc_next &= ~NEXT_MASK_UNREACHABLE;
        next = (PyGC_Head *)gc->_gc_next;

        census->total++;
        if (has_legacy_finalizer(op)) {
            gc_clear_collecting(gc);
            gc_list_move(gc, finalizers);
            continue;
        }
        const hl_type_t *tp = Py_TYPE(op);
        if (tp->tp_finalize != NULL && !_PyGCHead_FINALIZED(gc))
            census->finalize++;
        if (PyWeakref_Check(op)
            || (_PyType_SUPPORTS_WEAKREFS(tp) && *_PyObject_GET_WEAKREFS_LISTPTR(op) != NULL))
            census->weak++;
    }
}

static inline void clear_unreachable_mask(PyGC_Head *unreachable)
{
    /* Check that the list head does not have the unreachable bit set */
    hl_assert_internal(((uintptr_t)unreachable & NEXT_MASK_UNREACHABLE) == 0);
    PyGC_Head *gc, *next;
    hl_assert_internal((unreachable->_gc_next & NEXT_MASK_UNREACHABLE) == 0);
    for (gc = GC_NEXT(unreachable); gc != unreachable; gc = next) {
        hl_assert_internal(gc->_gc_next & NEXT_MASK_UNREACHABLE);
        gc->_gc_next &= ~NEXT_MASK_UNREACHABLE;
        next = (PyGC_Head *)gc->_gc_next;
    }
}

/* A traversal callback for move_legacy_finalizer_reachable. */
static int visit_move(hl_object_t *op, void *arg)
{
    PyGC_Head *tolist = arg;
    if (_PyObject_IS_GC(op)) {
        PyGC_Head *gc = AS_GC(op);
        if (gc_is_collecting(gc)) {
            gc_list_move(gc, tolist);
            gc_clear_collecting(gc);
        }
    }
    return 0;
}

/* Move objects that are reachable from finalizers, from the unreachable set
 * into finalizers set.  heaplab: returns the size of `finalizers` then,
 * i.e. how many objects left `unreachable` in all. */
static ssize_t move_legacy_finalizer_reachable(PyGC_Head *finalizers)
{
    ssize_t n = 0;
    PyGC_Head *gc = GC_NEXT(finalizers);
    for (; gc != finalizers; gc = GC_NEXT(gc), n++) {
        /* Note that the finalizers list may grow during this. */
        hl_object_t *op = FROM_GC(gc);
        Py_TYPE(op)->tp_traverse(op, visit_move, finalizers);
    }
    return n;
}

/* ---------------------------------------------------------------------- */
/* Weak references */

/* Clear all weakrefs to unreachable objects, and if such a weakref has a
 * callback, invoke it if necessary.  Note that it's possible for such
 * weakrefs to be outside the unreachable set -- indeed, those are precisely
 * the weakrefs whose callbacks must be invoked.  See gc_weakref.txt for
 * overview & some details.  Some weakrefs with callbacks may be reclaimed
 * directly by this routine; the number reclaimed is the return value.
 * Other weakrefs with callbacks may be moved into the `old` generation.
 * Objects moved into `old` have gc_refs set to GC_REACHABLE; the objects
 * remaining in unreachable are left at GC_TENTATIVELY_UNREACHABLE.  When
 * this returns, no object in `unreachable` is weakly referenced anymore. */
static int handle_weakrefs(hl_runtime_t *rt, PyGC_Head *unreachable, PyGC_Head *old,
                           ssize_t *ncalled)
{
    PyGC_Head *gc;
    hl_object_t *op;        /* generally FROM_GC(gc) */
    PyWeakReference *wr;    /* generally a cast of op */
    PyGC_Head wrcb_to_call; /* weakrefs with callbacks to call */
    PyGC_Head *next;
    int num_freed = 0;

    gc_list_init(&wrcb_to_call);

    /* Clear all weakrefs to the objects in unreachable.  If such a weakref
     * also has a callback, move it into `wrcb_to_call` if the callback
     * needs to be invoked.  Note that we cannot invoke any callbacks until
     * all weakrefs to unreachable objects are cleared, lest the callback
     * resurrect an unreachable object via a still-active weakref.  We make
     * another pass over wrcb_to_call, invoking callbacks, after this pass
     * completes. */
    for (gc = GC_NEXT(unreachable); gc != unreachable; gc = next) {
        PyWeakReference **wrlist;

        op = FROM_GC(gc);
        next = GC_NEXT(gc);

        if (PyWeakref_Check(op)) {
            /* A weakref inside the unreachable set must be cleared.  If we
             * allow its callback to execute inside delete_garbage(), it
             * could expose objects that have tp_clear already called on
             * them.  Or, it could resurrect unreachable objects.  See
             * bpo-38006. */
            _PyWeakref_ClearRef((PyWeakReference *)op);
        }

        if (!_PyType_SUPPORTS_WEAKREFS(Py_TYPE(op)))
            continue;

        /* It supports weakrefs.  Does it have any? */
        wrlist = _PyObject_GET_WEAKREFS_LISTPTR(op);

        /* `op` may have some weakrefs.  March over the list, clear all the
         * weakrefs, and move the weakrefs with callbacks that must be
         * called into wrcb_to_call. */
        for (wr = *wrlist; wr != NULL; wr = *wrlist) {
            PyGC_Head *wrasgc; /* AS_GC(wr) */

            /* _PyWeakref_ClearRef clears the weakref but leaves the callback
             * pointer intact.  Obscure:  it also changes *wrlist. */
            hl_assert_internal(wr->wr_object == op);
            _PyWeakref_ClearRef(wr);
            hl_assert_internal(wr->wr_object == NULL);
            if (wr->wr_callback == NULL) {
                /* no callback */
                continue;
            }

            /* Headache time.  `op` is going away, and is weakly referenced
             * by `wr`, which has a callback.  Should the callback be
             * invoked?  If wr is also trash, no:
             *
             * 1. There's no need to call it.  The object and the weakref are
             *    both going away, so it's legitimate to pretend the weakref
             *    is going away first.  The user has to ensure a weakref
             *    outlives its referent if they want a guarantee that the wr
             *    callback will get invoked.
             *
             * 2. It may be catastrophic to call it.  If the callback is also
             *    in cyclic trash (CT), then although the CT is unreachable
             *    from outside the current generation, CT may be reachable
             *    from the callback.  Then the callback could resurrect
             *    insane objects.
             *
             * Since the callback is never needed and may be unsafe in this
             * case, wr is simply left in the unreachable set.  Note that
             * because we already called _PyWeakref_ClearRef(wr), its
             * callback will never trigger.
             *
             * OTOH, if wr isn't part of CT, we should invoke the callback:
             * the weakref outlived the trash.  Note that since wr isn't CT
             * in this case, its callback can't be CT either -- wr acted as
             * an external root to this generation, and therefore its
             * callback did too.  So nothing in CT is reachable from the
             * callback either, so it's hard to imagine how calling it later
             * could create a problem for us.  wr is moved to wrcb_to_call in
             * this case. */
            if (gc_is_collecting(AS_GC((hl_object_t *)wr))) {
                /* it should already have been cleared above */
                hl_assert_internal(wr->wr_object == NULL);
                continue;
            }

            /* Create a new reference so that wr can't go away before we can
             * process it again. */
            Py_INCREF((hl_object_t *)wr);

            /* Move wr to wrcb_to_call, for the next pass. */
            wrasgc = AS_GC((hl_object_t *)wr);
            hl_assert_internal(wrasgc != next); /* wrasgc is reachable, but
                                                   next isn't, so they can't
                                                   be the same */
            gc_list_move(wrasgc, &wrcb_to_call);
        }
    }

    /* Invoke the callbacks we decided to honor.  It's safe to invoke them
     * because they can't reference unreachable objects. */
    while (!gc_list_is_empty(&wrcb_to_call)) {
        gc = (PyGC_Head *)wrcb_to_call._gc_next;
        op = FROM_GC(gc);
        hl_assert_internal(PyWeakref_Check(op));
        wr = (PyWeakReference *)op;
        hl_object_t *callback = wr->wr_callback;
        hl_assert_internal(callback != NULL);

        /* copy-paste of weakrefobject.c's handle_callback() */
        hl_call(rt, callback, (hl_object_t *)wr);
        ++*ncalled;

        /* Give up the reference we created in the first pass.  When op's
         * refcount hits 0 (which it may or may not do right now), op's
         * tp_dealloc will decref op->wr_callback too.  Note that the
         * refcount probably will hit 0 now, and because this weakref was
         * reachable to begin with, gc didn't already add it to its count of
         * freed objects.  Example:  a reachable weak value dict maps some
         * key to this reachable weakref.  The callback removes this
         * key->weakref mapping from the dict, leaving no other references
         * to the weakref (excepting ours). */
        Py_DECREF(rt, op);
        if (wrcb_to_call._gc_next == (uintptr_t)gc) {
            /* object is still alive -- move it */
            gc_list_move(gc, old);
        }
        else {
            ++num_freed;
        }
    }

    return num_freed;
}

/* ---------------------------------------------------------------------- */
/* Finalizers, resurrection, deletion */

/* Run first-time finalizers (if any) on all the objects in collectable.
 * Note that this may remove some (or even all) of the objects from the
 * list, due to refcounts falling to 0. */
static ssize_t finalize_garbage(hl_runtime_t *rt, PyGC_Head *collectable)
{
    hl_destructor finalize;
    PyGC_Head seen;
    ssize_t ncalled = 0;

    /* While we're going through the loop, `finalize(op)` may cause op, or
     * other objects, to be reclaimed via refcounts falling to zero.  So
     * there's little we can rely on about the structure of the input
     * `collectable` list across iterations.  For safety, we always take the
     * first object in that list and move it to a temporary `seen` list.  If
     * objects vanish from the `collectable` and `seen` lists we don't care. */
    gc_list_init(&seen);

    while (!gc_list_is_empty(collectable)) {
        PyGC_Head *gc = GC_NEXT(collectable);
        hl_object_t *op = FROM_GC(gc);
        gc_list_move(gc, &seen);
        if (!_PyGCHead_FINALIZED(gc) && (finalize = Py_TYPE(op)->tp_finalize) != NULL) {
            _PyGCHead_SET_FINALIZED(gc);
            Py_INCREF(op);
            finalize(rt, op);
            Py_DECREF(rt, op);
            ncalled++;
        }
    }
    gc_list_merge(&seen, collectable);
    return ncalled;
}

static void gc_list_clear_collecting(PyGC_Head *collectable)
{
    PyGC_Head *gc;
    for (gc = GC_NEXT(collectable); gc != collectable; gc = GC_NEXT(gc))
        gc_clear_collecting(gc);
}

static void deduce_unreachable(PyGC_Head *base, PyGC_Head *unreachable,
                               young_census_t *census)
{
    validate_list(base, collecting_clear_unreachable_clear);
    /* Using ob_refcnt and gc_refs, calculate which objects in the container
     * set are reachable from outside the set (i.e., have a refcount greater
     * than 0 when all the references within the set are taken into
     * account). */
    update_refs(base, census); /* gc_prev is used for gc_refs */
    bool prefetch = census->n >= GC_PREFETCH_MIN_OBJECTS;
    subtract_refs(base, prefetch);

    /* Leave everything reachable from outside base in base, and move
     * everything else (in base) to unreachable.
     *
     * NOTE:  This used to move the reachable objects into a reachable set
     * instead.  But most things usually turn out to be reachable, so it's
     * more efficient to move the unreachable things.  It "sounds slick" to
     * move the unreachable objects, until you think about it - the reason
     * it pays isn't actually obvious.
     *
     * Suppose we create objects A, B, C in that order.  They appear in the
     * young generation in the same order.  If B points to A, and C to B,
     * and C is reachable from outside, then the adjusted refcounts will be
     * 0, 0, and 1 respectively.
     *
     * When move_unreachable finds A, A is moved to the unreachable list.
     * The same for B when it's first encountered.  Then C is traversed, B
     * is moved _back_ to the reachable list.  B is eventually traversed,
     * and then A is moved back to the reachable list.
     *
     * So instead of not moving at all, the reachable objects B and A are
     * moved twice each.  Why is this a win?  A straightforward algorithm to
     * move the reachable objects instead would move A, B, and C once each.
     *
     * The key is that this dance leaves the objects in order C, B, A - it's
     * reversed from the original order.  On all _subsequent_ scans, none of
     * them will move.  Since most objects aren't in cycles, this can save
     * an unbounded number of moves across an unbounded number of later
     * collections.  It can cost more only the first time the chain is
     * scanned. */
    gc_list_init(unreachable);
    move_unreachable(base, unreachable, prefetch); /* gc_prev is pointer again */
    validate_list(base, collecting_clear_unreachable_clear);
    validate_list(unreachable, collecting_set_unreachable_set);
}

/* Handle objects that may have resurrected after a call to
 * 'finalize_garbage', moving them to 'old_generation' and placing the rest
 * on 'still_unreachable'.
 *
 * Contracts:
 *     * After this function 'unreachable' must not be used anymore and
 *       'still_unreachable' will contain the objects that did not
 *       resurrect.
 *
 *     * The "still_unreachable" list must be uninitialized (this function
 *       calls gc_list_init over 'still_unreachable').
 *
 * IMPORTANT: After a call to this function, the 'still_unreachable' set
 * will have the PREV_MARK_COLLECTING set, but the objects in this set are
 * going to be removed so we can skip the expense of clearing the flag to
 * avoid extra iteration. */
static inline void handle_resurrected_objects(PyGC_Head *unreachable,
                                              PyGC_Head *still_unreachable,
                                              PyGC_Head *old_generation)
{
    /* Remove the PREV_MASK_COLLECTING from unreachable to prepare it for a
     * new call to 'deduce_unreachable' */
    gc_list_clear_collecting(unreachable);

    /* After the call to deduce_unreachable, the 'still_unreachable' set
     * will have the PREV_MARK_COLLECTING set, but the objects are going to
     * be removed so we can skip the expense of clearing the flag. */
    PyGC_Head *resurrected = unreachable;
    young_census_t census;
    deduce_unreachable(resurrected, still_unreachable, &census);
    clear_unreachable_mask(still_unreachable);

    /* Move the resurrected objects to the old generation for future
     * collection. */
    gc_list_merge(resurrected, old_generation);
}

static void debug_cycle(const char *msg, hl_object_t *op)
{
    fprintf(stderr, "gc: %s <%s %p>\n", msg, Py_TYPE(op)->tp_name, (void *)op);
}

/* Break reference cycles by clearing the containers involved.  This is
 * tricky business as the lists can be changing and we don't know which
 * objects may be freed.  It is possible I screwed something up here. */
static void delete_garbage(hl_runtime_t *rt, GCState *gcstate, PyGC_Head *collectable,
                           PyGC_Head *old, bool prefetch)
{
    while (!gc_list_is_empty(collectable)) {
        PyGC_Head *gc = GC_NEXT(collectable);
        hl_object_t *op = FROM_GC(gc);

        _PyObject_ASSERT_WITH_MSG(op, Py_REFCNT(op) > 0, "refcount is too small");
        /* Any object ahead may die in this tp_clear, so no cursor survives
         * an iteration: look ahead afresh from the list's current head. */
        if (prefetch)
            gc_prefetch_from(collectable, gc);

        if (gcstate->debug & HL_GC_DEBUG_SAVEALL) {
            if (_PyList_Append(rt, gcstate->garbage, op) < 0)
                hl_runtime_clear_error(rt);
        }
        else {
            hl_inquiry clear;
            if ((clear = Py_TYPE(op)->tp_clear) != NULL) {
                Py_INCREF(op);
                (void)clear(rt, op);
                Py_DECREF(rt, op);
            }
        }
        if (GC_NEXT(collectable) == gc) {
            /* object is still alive, move it, it may die later */
            gc_clear_collecting(gc);
            gc_list_move(gc, old);
        }
    }
}

/* Handle uncollectable garbage (cycles with tp_del slots, and stuff
 * reachable only from such cycles). */
static void handle_legacy_finalizers(hl_runtime_t *rt, GCState *gcstate,
                                     PyGC_Head *finalizers, PyGC_Head *old)
{
    PyGC_Head *gc = GC_NEXT(finalizers);
    for (; gc != finalizers; gc = GC_NEXT(gc)) {
        hl_object_t *op = FROM_GC(gc);
        if ((gcstate->debug & HL_GC_DEBUG_SAVEALL) || has_legacy_finalizer(op)) {
            if (_PyList_Append(rt, gcstate->garbage, op) < 0) {
                hl_runtime_clear_error(rt);
                break;
            }
        }
    }
    gc_list_merge(finalizers, old);
}

/* Clear all free lists.  All free lists are cleared during the collection
 * of the highest generation.  Allocated items in the free list may keep a
 * pymalloc arena occupied.  Clearing the free lists may give back memory to
 * the OS earlier. */
static void clear_freelists(hl_runtime_t *rt)
{
    _PyTuple_ClearFreeList(rt);
    _PyFloat_ClearFreeList(rt);
    _PyList_ClearFreeList(rt);
    _PyDict_ClearFreeList(rt);
}

static void show_stats_each_generations(GCState *gcstate)
{
    fprintf(stderr, "gc: objects in each generation:");
    for (int i = 0; i < NUM_GENERATIONS; i++)
        fprintf(stderr, " %zd", gc_list_size(GEN_HEAD(gcstate, i)));
    fprintf(stderr, "\ngc: objects in permanent generation: %zd\n",
            gc_list_size(&gcstate->permanent_generation.head));
}

static double perf_counter(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------------- */
/* One collection */

/* This is the main function.  Read this to understand how the collection
 * process works. */
ssize_t gc_collect_main(hl_runtime_t *rt, int generation, ssize_t *n_collected,
                        ssize_t *n_uncollectable)
{
    int i;
    ssize_t m = 0;            /* # objects collected */
    ssize_t n = 0;            /* # unreachable objects that couldn't be collected */
    PyGC_Head *young;         /* the generation we are examining */
    PyGC_Head *old;           /* next older generation */
    PyGC_Head unreachable;    /* non-problematic unreachable trash */
    PyGC_Head finalizers;     /* objects with, & reachable from, __del__ */
    PyGC_Head *gc;
    double t1 = 0;
    GCState *gcstate = get_gc_state(rt);

    hl_assert(gcstate->garbage != NULL);

    if (gcstate->debug & HL_GC_DEBUG_STATS) {
        fprintf(stderr, "gc: collecting generation %d...\n", generation);
        show_stats_each_generations(gcstate);
        t1 = perf_counter();
    }

    /* update collection and allocation counters */
    if (generation + 1 < NUM_GENERATIONS)
        gcstate->generations[generation + 1].count += 1;
    for (i = 0; i <= generation; i++)
        gcstate->generations[i].count = 0;

    /* merge younger generations with one we are currently collecting */
    for (i = 0; i < generation; i++)
        gc_list_merge(GEN_HEAD(gcstate, i), GEN_HEAD(gcstate, generation));

    /* handy references */
    young = GEN_HEAD(gcstate, generation);
    if (generation < NUM_GENERATIONS - 1)
        old = GEN_HEAD(gcstate, generation + 1);
    else
        old = young;
    validate_list(old, collecting_clear_unreachable_clear);

    young_census_t ycensus;
    deduce_unreachable(young, &unreachable, &ycensus);

    /* heaplab: the untracking walks run only when the census says they can
     * find something; the survivors' count, which CPython takes with
     * gc_list_size, comes from untrack_tuples' walk, or else from the
     * census less the garbage (counted below, on its own walk). */
    bool has_dicts = ycensus.has_dict;
    ssize_t nyoung = ycensus.has_tuple ? untrack_tuples(young, &has_dicts) : -1;
    ssize_t ndicts_untracked = 0;
    /* Move reachable objects to next generation. */
    if (young != old) {
        gc_list_merge(young, old);
    }
    else {
        /* We only un-track dicts in full collections, to avoid quadratic
           dict build-up. See issue #14775. */
        if (has_dicts)
            ndicts_untracked = untrack_dicts(young);
    }

    /* All objects in unreachable are trash, but objects reachable from
     * legacy finalizers (e.g. tp_del) can't safely be deleted. */
    gc_list_init(&finalizers);
    /* NEXT_MASK_UNREACHABLE is cleared here.  After
     * move_legacy_finalizers(), unreachable is normal list. */
    garbage_census_t census;
    move_legacy_finalizers(&unreachable, &finalizers, &census);
    /* finalizers contains the unreachable objects with a legacy finalizer;
     * unreachable objects reachable *from* those are also uncollectable,
     * and we move those into the finalizers list too. */
    ssize_t nunreachable = census.total - move_legacy_finalizer_reachable(&finalizers);

    /* The generation bookkeeping, with the survivors' count. */
    if (nyoung < 0)
        nyoung = ycensus.n - census.total;
    nyoung -= ndicts_untracked;
    if (young != old) {
        if (generation == NUM_GENERATIONS - 2)
            gcstate->long_lived_pending += nyoung; /* gc_list_size(young) */
    }
    else {
        gcstate->long_lived_pending = 0;
        gcstate->long_lived_total = nyoung; /* gc_list_size(young) */
        hl_assert_expensive(nyoung == gc_list_size(young));
    }

    validate_list(&finalizers, collecting_clear_unreachable_clear);
    validate_list(&unreachable, collecting_set_unreachable_clear);

    /* Print debugging information. */
    if (gcstate->debug & HL_GC_DEBUG_COLLECTABLE) {
        for (gc = GC_NEXT(&unreachable); gc != &unreachable; gc = GC_NEXT(gc))
            debug_cycle("collectable", FROM_GC(gc));
    }

    /* Clear weakrefs and invoke callbacks as necessary. */
    /* heaplab: with no weakref in the garbage and none to it, the walk
     * would find nothing to clear and no callback to call. */
    ssize_t ncallbacks = 0;
    if (census.weak > 0)
        m += handle_weakrefs(rt, &unreachable, old, &ncallbacks);

    validate_list(old, collecting_clear_unreachable_clear);
    validate_list(&unreachable, collecting_set_unreachable_clear);

    /* Call tp_finalize on objects which have one. */
    ssize_t nfinalized = census.finalize > 0 ? finalize_garbage(rt, &unreachable) : 0;

    /* Handle any objects that may have resurrected after the call to
     * 'finalize_garbage' and continue the collection with the objects that
     * are still unreachable.
     *
     * heaplab: when no finalizer and no weakref callback ran, no code ran
     * that could reach the garbage, so every refcount in it is as
     * deduce_unreachable left it: all its references are internal, gc_refs
     * comes out 0 for every object, and move_unreachable would move them
     * all, in order, to the new list.  Taking the list as it is gives the
     * same set, order and flags (COLLECTING set, UNREACHABLE clear) without
     * the two extra passes. */
    PyGC_Head final_unreachable;
    ssize_t ngarbage;
    if (nfinalized == 0 && ncallbacks == 0) {
        gc_list_init(&final_unreachable);
        gc_list_merge(&unreachable, &final_unreachable);
        ngarbage = nunreachable;
        hl_assert_expensive(ngarbage == gc_list_size(&final_unreachable));
    }
    else {
        handle_resurrected_objects(&unreachable, &final_unreachable, old);
        ngarbage = gc_list_size(&final_unreachable);
    }

    /* Call tp_clear on objects in the final_unreachable set.  This will
     * cause the reference cycles to be broken.  It may also cause some
     * objects in finalizers to be freed. */
    m += ngarbage;
    delete_garbage(rt, gcstate, &final_unreachable, old, ngarbage >= GC_PREFETCH_MIN_OBJECTS);

    /* Collect statistics on uncollectable objects found and print debugging
     * information. */
    for (gc = GC_NEXT(&finalizers); gc != &finalizers; gc = GC_NEXT(gc)) {
        n++;
        if (gcstate->debug & HL_GC_DEBUG_UNCOLLECTABLE)
            debug_cycle("uncollectable", FROM_GC(gc));
    }
    if (gcstate->debug & HL_GC_DEBUG_STATS) {
        double d = perf_counter() - t1;
        fprintf(stderr, "gc: done, %zd unreachable, %zd uncollectable, %.4fs elapsed\n",
                n + m, n, d);
    }

    /* Append instances in the uncollectable set to a Python reachable list
     * of garbage.  The programmer has to deal with this if they insist on
     * creating this type of structure. */
    handle_legacy_finalizers(rt, gcstate, &finalizers, old);
    validate_list(old, collecting_clear_unreachable_clear);

    /* Clear free list only during the collection of the highest
     * generation */
    if (generation == NUM_GENERATIONS - 1)
        clear_freelists(rt);

    /* Update stats */
    if (n_collected)
        *n_collected = m;
    if (n_uncollectable)
        *n_uncollectable = n;

    struct gc_generation_stats *stats = &gcstate->generation_stats[generation];
    stats->collections++;
    stats->collected += m;
    stats->uncollectable += n;

    hl_assert_expensive(hl_gc_check(rt, true));
    return n + m;
}

/* Invoke progress callbacks to notify clients that garbage collection is
 * starting or stopping */
static void invoke_gc_callback(hl_runtime_t *rt, const char *phase, int generation,
                               ssize_t collected, ssize_t uncollectable)
{
    GCState *gcstate = get_gc_state(rt);
    hl_gc_info_t info = {generation, collected, uncollectable};
    /* A callback may add or remove callbacks: index, and re-read the count,
     * as CPython walks the live list. */
    for (size_t i = 0; i < gcstate->ncallbacks; i++) {
        gc_callback_t cb = gcstate->callbacks[i];
        cb.fn(rt, phase, &info, cb.user);
    }
}

/* Perform garbage collection of a generation and invoke progress callbacks. */
static ssize_t gc_collect_with_callback(hl_runtime_t *rt, int generation)
{
    ssize_t result, collected, uncollectable;
    invoke_gc_callback(rt, "start", generation, 0, 0);
    result = gc_collect_main(rt, generation, &collected, &uncollectable);
    invoke_gc_callback(rt, "stop", generation, collected, uncollectable);
    return result;
}

ssize_t gc_collect_generations(hl_runtime_t *rt)
{
    GCState *gcstate = get_gc_state(rt);
    /* Find the oldest generation (highest numbered) where the count exceeds
     * the threshold.  Objects in the that generation and generations
     * younger than it will be collected. */
    ssize_t n = 0;
    for (int i = NUM_GENERATIONS - 1; i >= 0; i--) {
        if (gcstate->generations[i].count > gcstate->generations[i].threshold) {
            /* Avoid quadratic performance degradation in number of tracked
             * objects (see also issue #4074):
             *
             * To limit the cost of garbage collection, there are two
             * strategies;
             *   - make each collection faster, e.g. by scanning fewer
             *     objects
             *   - do less collections
             * This heuristic is about the latter strategy.
             *
             * In addition to the various configurable thresholds, we only
             * trigger a full collection if the ratio
             *
             *   long_lived_pending / long_lived_total
             *
             * is above a given value (hardwired to 25%).
             *
             * The reason is that, while "non-full" collections (i.e.,
             * collections of the young and middle generations) will always
             * examine roughly the same number of objects -- determined by
             * the aforementioned thresholds --, the cost of a full
             * collection is proportional to the total number of long-lived
             * objects, which is virtually unbounded.
             *
             * Indeed, it has been remarked that doing a full collection
             * every <constant number> of object creations entails a
             * dramatic performance degradation in workloads which consist
             * in creating and storing lots of long-lived objects (e.g.
             * building a large list of GC-tracked objects would show
             * quadratic performance, instead of linear as expected: see
             * issue #4074).
             *
             * Using the above ratio, instead, yields amortized linear
             * performance in the total number of objects (the effect of
             * which can be summarized thusly: "each full garbage collection
             * is more and more costly as the number of objects grows, but
             * we do fewer and fewer of them"). */
            if (i == NUM_GENERATIONS - 1
                && gcstate->long_lived_pending < gcstate->long_lived_total / 4)
                continue;
            n = gc_collect_with_callback(rt, i);
            break;
        }
    }
    return n;
}

/* gc.collect(generation) */
ssize_t hl_gc_collect(hl_runtime_t *rt, int generation)
{
    if (generation < 0 || generation >= NUM_GENERATIONS) {
        hl_err_set(rt, HL_ERR_VALUE, "invalid generation");
        return -1;
    }
    GCState *gcstate = get_gc_state(rt);
    ssize_t n;
    if (gcstate->collecting) {
        /* already collecting, don't do anything */
        n = 0;
    }
    else {
        gcstate->collecting = 1;
        n = gc_collect_with_callback(rt, generation);
        gcstate->collecting = 0;
    }
    return n;
}

ssize_t _PyGC_CollectNoFail(hl_runtime_t *rt)
{
    /* Ideally, this function is only called on interpreter shutdown, and
     * therefore not recursively. */
    GCState *gcstate = get_gc_state(rt);
    if (gcstate->collecting)
        return 0;
    gcstate->collecting = 1;
    ssize_t n = gc_collect_main(rt, NUM_GENERATIONS - 1, NULL, NULL);
    gcstate->collecting = 0;
    return n;
}

/* ---------------------------------------------------------------------- */
/* Set-up and tear-down */

void _PyGC_Init(hl_runtime_t *rt, GCState *gcstate)
{
    gcstate->enabled = 1; /* automatic collection enabled? */
    static const int thresholds[NUM_GENERATIONS] = {700, 10, 10};
    for (int i = 0; i < NUM_GENERATIONS; i++) {
        gc_list_init(GEN_HEAD(gcstate, i));
        gcstate->generations[i].threshold = thresholds[i];
        gcstate->generations[i].count = 0;
    }
    gcstate->generation0 = GEN_HEAD(gcstate, 0);
    gc_list_init(&gcstate->permanent_generation.head);
    gcstate->garbage = _PyList_New(rt, 0);
    if (gcstate->garbage == NULL)
        hl_runtime_clear_error(rt);
}

void _PyGC_Fini(hl_runtime_t *rt)
{
    GCState *gcstate = get_gc_state(rt);
    Py_CLEAR(rt, gcstate->garbage);
    free(gcstate->callbacks);
    gcstate->callbacks = NULL;
    gcstate->ncallbacks = gcstate->callbacks_cap = 0;
}
