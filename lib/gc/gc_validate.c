/* gc_validate.c: the collector's invariants, executable.
 *
 * Between collections (hl_gc_check), for each of the three generations and
 * the permanent one:
 *
 *   the list is circular and doubly linked:   GC_PREV(GC_NEXT(x)) == x
 *   no member carries COLLECTING or UNREACHABLE
 *   every member is tracked (_gc_next != 0), of a GC type, and alive
 *   (ob_refcnt > 0)
 *   no member appears twice (implied by the two above for a finite walk;
 *   the walk is bounded by the runtime's object count to stop on a cycle
 *   that misses the head)
 *
 * and count[i] >= 0 for every generation.  Inside a collection,
 * validate_list checks one list against the flags of the current phase
 * (gc_validate.h), when HL_DEBUG >= 3.
 */
#include "object_internal.h"

#include <stdio.h>

#include "gc_validate.h"

#define FAIL(...)                                     \
    do {                                              \
        if (verbose) {                                \
            fprintf(stderr, "hl_gc_check: " __VA_ARGS__); \
            fputc('\n', stderr);                      \
        }                                             \
        return false;                                 \
    } while (0)

bool gc_list_is_valid(PyGC_Head *head, enum flagstates flags, bool verbose)
{
    if ((head->_gc_prev & _PyGC_PREV_MASK_COLLECTING) != 0)
        FAIL("list head %p has COLLECTING", (void *)head);
    if ((head->_gc_next & NEXT_MASK_UNREACHABLE) != 0)
        FAIL("list head %p has UNREACHABLE", (void *)head);
    uintptr_t prev_value = 0, next_value = 0;
    switch (flags) {
    case collecting_clear_unreachable_clear:
        break;
    case collecting_set_unreachable_clear:
        prev_value = _PyGC_PREV_MASK_COLLECTING;
        break;
    case collecting_clear_unreachable_set:
        next_value = NEXT_MASK_UNREACHABLE;
        break;
    case collecting_set_unreachable_set:
        prev_value = _PyGC_PREV_MASK_COLLECTING;
        next_value = NEXT_MASK_UNREACHABLE;
        break;
    }
    PyGC_Head *prev = head;
    PyGC_Head *gc = GC_NEXT(head);
    while (gc != head) {
        PyGC_Head *trueprev = GC_PREV(gc);
        PyGC_Head *truenext = (PyGC_Head *)(gc->_gc_next & ~NEXT_MASK_UNREACHABLE);
        if (truenext == NULL)
            FAIL("object %p in list %p is untracked", (void *)FROM_GC(gc), (void *)head);
        if (trueprev != prev)
            FAIL("object %p in list %p: prev is %p, expected %p", (void *)FROM_GC(gc),
                 (void *)head, (void *)trueprev, (void *)prev);
        if ((gc->_gc_prev & _PyGC_PREV_MASK_COLLECTING) != prev_value)
            FAIL("object %p in list %p: COLLECTING is %s", (void *)FROM_GC(gc), (void *)head,
                 prev_value ? "clear, expected set" : "set, expected clear");
        if ((gc->_gc_next & NEXT_MASK_UNREACHABLE) != next_value)
            FAIL("object %p in list %p: UNREACHABLE is %s", (void *)FROM_GC(gc),
                 (void *)head, next_value ? "clear, expected set" : "set, expected clear");
        prev = gc;
        gc = truenext;
    }
    if (prev != GC_PREV(head))
        FAIL("list head %p: prev is %p, expected the last member %p", (void *)head,
             (void *)GC_PREV(head), (void *)prev);
    return true;
}

static bool members_are_valid(PyGC_Head *head, const char *name, ssize_t bound, bool verbose,
                              ssize_t *count)
{
    ssize_t n = 0;
    for (PyGC_Head *gc = GC_NEXT(head); gc != head; gc = GC_NEXT(gc)) {
        hl_object_t *op = FROM_GC(gc);
        if (++n > bound)
            FAIL("%s: more members than live objects (%zd): the list is corrupt", name, bound);
        if (!_PyObject_IS_GC(op))
            FAIL("%s: member %p is a '%s', not a GC object", name, (void *)op,
                 Py_TYPE(op)->tp_name);
        if (Py_REFCNT(op) <= 0)
            FAIL("%s: member %p ('%s') has refcount %zd", name, (void *)op,
                 Py_TYPE(op)->tp_name, Py_REFCNT(op));
        if ((gc->_gc_next & ~NEXT_MASK_UNREACHABLE) == 0)
            FAIL("%s: member %p ('%s') is marked untracked", name, (void *)op,
                 Py_TYPE(op)->tp_name);
    }
    *count += n;
    return true;
}

bool hl_gc_check(const hl_runtime_t *crt, bool verbose)
{
    hl_runtime_t *rt = (hl_runtime_t *)crt;
    GCState *gcstate = get_gc_state(rt);
    static const char *const names[] = {"generation 0", "generation 1", "generation 2",
                                        "permanent generation"};
    ssize_t total = 0;
    for (int i = 0; i <= NUM_GENERATIONS; i++) {
        PyGC_Head *head = i < NUM_GENERATIONS ? GEN_HEAD(gcstate, i)
                                              : &gcstate->permanent_generation.head;
        /* Bound the walk first, so a corrupt list cannot loop forever. */
        if (!members_are_valid(head, names[i], rt->objects - total, verbose, &total))
            return false;
        if (!gc_list_is_valid(head, collecting_clear_unreachable_clear, verbose))
            return false;
        if (i < NUM_GENERATIONS && gcstate->generations[i].count < 0)
            FAIL("%s: count is %d", names[i], gcstate->generations[i].count);
    }
    if (gcstate->generation0 != GEN_HEAD(gcstate, 0))
        FAIL("generation0 does not point at generation 0's head");
    return true;
}
