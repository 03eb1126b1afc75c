/* refcount_fuzz.c: object-graph programs against a shadow model, reference
 * counting only (no collection runs while the program does).
 *
 * Input format (every byte string is a program; a short tail just ends it):
 *
 *     ops, each 4 bytes OP A B C (at most 256 ops: inputs over 1 KiB are
 *     rejected); OP & 31 picks the operation from `ops` below, A B C are its
 *     operands.  An operand naming an object is a node index: the first
 *     alive object of the right kind at or after byte % 64, wrapping (none:
 *     the op does nothing).
 *       new int       C odd: the small int (A % 262) - 5 (cached, shared);
 *                     C even: 300 + A + 256 B (a new object)
 *       new float/str A: value / text "s(A % 16)"
 *       new tuple     B % 4 items picked from A, A + s, A + 2s (s = 1 + C % 7);
 *                     no items: the () singleton
 *       new list/dict, new instance (type A % 5: Plain, Fin, Res, Del, FinDel;
 *                     B % 5 slots), new callable (bound to A when B is odd)
 *       new weakref   to the instance A (any object when B & 0x80: TypeError
 *                     for a non-instance), with the callable C as callback
 *                     when B is odd; without one it may share the basic ref
 *       list append (list A, value B), set (item C % n = B), pop (index from
 *                     C, by B & 3: C % n, negative, -1, out of range; empty
 *                     list: IndexError), clear
 *       dict setitem  (dict A)[str C] = B; delitem "s(C % 16)" (KeyError if
 *                     absent); clear
 *       slot set      (instance A).slot[C % n] = B; slot clear (= None)
 *       drop          release one reference the program holds (node from A)
 *       alias         take one more reference to A
 *     The results of new and pop are references the program holds.  At
 *     most 64 objects, 16 items per list, 8 entries per dict, 4 slots, 3
 *     tuple items, 8 weakrefs per object.
 *
 * One input runs on a fresh runtime over "pymalloc" (hl_runtime_create ..
 * destroy) with automatic collection disabled.  Instance hooks: Fin logs its
 * tp_finalize, Res's also resurrects its object (the program takes a
 * reference), Del logs its tp_del, callables log the weakref callback.
 * GM_TRACE=1 in the environment prints each op, and the model on a
 * violation.
 *
 * Oracles (objgraph_model.h has the model), each an abort naming the op, the
 * object and what broke:
 *   - refcounts: every object the model has alive has exactly the refcount
 *     the model counts: references from objects (list and tuple items, dict
 *     keys and values, instance slots, weakref callbacks, callables' bound
 *     objects), from the program, and the runtime's own one for small ints
 *     and ().  After every op for each object whose count the model
 *     changed, every 16 ops and at the end for all (a stray change to an
 *     object the op had no business with shows there);
 *   - freed exactly when the count reaches 0, and only then: after every
 *     op, the runtime's live-object count (hl_runtime_usage's) equals the
 *     model's, and the finalizers, tp_dels and weakref callbacks the
 *     runtime ran are exactly those the model predicts, in order (which
 *     objects died, in CPython's deallocation order, trashcan included);
 *     every 16 ops and at the end, the generation lists hold exactly the GC
 *     objects the model has alive and tracked (a freed one is unlinked),
 *     and weakrefs to dead objects are cleared, to live ones not; a new
 *     object at the address of one the model has alive is a violation (it
 *     was freed early); under ASan a freed object the checks read is a
 *     use-after-poison (pymalloc poisons free blocks);
 *   - contents, every 16 ops and at the end: list/tuple items, dict values
 *     by key, instance slots, weakref lists in order, weakrefs' referents
 *     and callbacks, callables' bound objects, FINALIZED bits; hl_gc_check;
 *     after every op, errors exactly where CPython raises (IndexError,
 *     KeyError, TypeError) and nowhere else;
 *   - no collection starts during the program (a gc callback watches);
 *   - no leak: after the program drops every reference it holds (checked
 *     as above), then full collections, breaking gc.garbage's legacy
 *     cycles and releasing resurrected objects after each, until one finds
 *     nothing, the runtime's objects, OBJ blocks and MEM blocks are back at
 *     their values at set-up (the last full collection emptied the free
 *     lists).
 */
#include "objgraph_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The harness is not what is being fuzzed: no coverage instrumentation of
 * its functions (its loops over the model would feed libFuzzer thousands of
 * comparisons per input and cost more than the runtime's own code), so
 * libFuzzer's feedback is the runtime's coverage alone.  ASan stays. */
#pragma clang attribute push(__attribute__((no_sanitize("coverage"))), apply_to = function)

#define MAX_OPS 256
#define MAX_INPUT (4 * MAX_OPS)
#define CHECK_EVERY 16

/* OP & 31 -> operation (fuzz/make_graph_seeds.py mirrors this table). */
static const uint8_t ops[32] = {
    GM_OP_NEW_INT,     GM_OP_NEW_FLOAT,   GM_OP_NEW_STR,      GM_OP_NEW_TUPLE,
    GM_OP_NEW_LIST,    GM_OP_NEW_LIST,    GM_OP_NEW_DICT,     GM_OP_NEW_INSTANCE,
    GM_OP_NEW_INSTANCE, GM_OP_NEW_WEAKREF, GM_OP_NEW_WEAKREF, GM_OP_NEW_CALLABLE,
    GM_OP_LIST_APPEND, GM_OP_LIST_APPEND, GM_OP_LIST_SET,     GM_OP_LIST_POP,
    GM_OP_LIST_CLEAR,  GM_OP_DICT_SET,    GM_OP_DICT_SET,     GM_OP_DICT_DEL,
    GM_OP_DICT_CLEAR,  GM_OP_SLOT_SET,    GM_OP_SLOT_SET,     GM_OP_SLOT_CLEAR,
    GM_OP_DROP,        GM_OP_DROP,        GM_OP_DROP,         GM_OP_DROP,
    GM_OP_ALIAS,       GM_OP_NEW_STR,     GM_OP_LIST_SET,     GM_OP_SLOT_SET,
};

static gm_t G;

/* This target checks reference counting alone: a collection during the
 * program would free cycles the model keeps. */
static void no_collection(hl_runtime_t *rt, const char *phase, const hl_gc_info_t *info,
                          void *user)
{
    (void)rt;
    gm_t *g = user;
    if (g->modeled && strcmp(phase, "start") == 0)
        gm_fail(g, "a collection of generation %d started with automatic collection disabled",
                info->generation);
}

/* Empty gc.garbage, clearing each object in it first (its legacy cycles
 * break), and release what finalizers resurrected.  Unmodeled: the model is
 * done once the program holds nothing. */
static void break_garbage(gm_t *g)
{
    hl_runtime_t *rt = g->rt;
    hl_object_t *garbage = hl_gc_garbage(rt);
    size_t n = hl_list_size(garbage);
    hl_object_t **items = malloc((n + 1) * sizeof *items);
    if (items == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        items[i] = hl_list_get(garbage, i);
        hl_incref(items[i]);
    }
    hl_list_clear(rt, garbage);
    for (size_t i = 0; i < n; i++) {
        hl_object_t *o = items[i];
        switch (hl_kind(o)) {
        case HL_KIND_LIST: hl_list_clear(rt, o); break;
        case HL_KIND_DICT: hl_dict_clear(rt, o); break;
        case HL_KIND_INSTANCE:
            for (size_t s = 0; s < hl_instance_nslots(o); s++)
                hl_instance_set(rt, o, s, NULL);
            break;
        default: break;
        }
    }
    for (size_t i = 0; i < n; i++)
        hl_decref(rt, items[i]);
    free(items);
    while (g->nres > 0) {
        hl_object_t *o = g->resurrected[--g->nres];
        hl_decref(rt, o);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return -1;
    gm_t *g = &G;
    gm_init(g, "refcount_fuzz", false);
    if (hl_gc_callback_add(g->rt, no_collection, g) != 0)
        gm_fail(g, "hl_gc_callback_add failed");

    bool trace = g->trace;
    size_t pos = 0;
    for (g->op = 0; pos + 4 <= size; g->op++, pos += 4) {
        if (trace)
            fprintf(stderr, "op %zu: %s %u %u %u\n", g->op, gm_op_names[ops[data[pos] & 31]],
                    data[pos + 1], data[pos + 2], data[pos + 3]);
        gm_exec(g, ops[data[pos] & 31], data[pos + 1], data[pos + 2], data[pos + 3]);
        gm_check(g, (g->op + 1) % CHECK_EVERY == 0);
    }
    g->what = "after the last op";
    gm_check(g, true);

    /* The program lets go of everything, one reference at a time (Res
     * finalizers may take new ones: those go too). */
    for (int x; (x = gm_pick_ext(g, 0)) >= 0; g->op++) {
        g->what = "end: drop";
        hl_decref(g->rt, g->node[x].obj);
        gm_drop_model(g, x);
        gm_check(g, false);
    }
    g->what = "end: nothing held";
    gm_check(g, true);

    /* What is left are cycles and what they hold: the collector's. */
    g->modeled = false;
    g->what = "end: collecting";
    for (int round = 0; round < 16; round++) {
        /* done when a full collection finds nothing: an object an
         * uncollectable cycle held can outlive its keeper's collection */
        bool more = hl_gc_collect(g->rt, 2) > 0 || g->nres > 0;
        break_garbage(g);
        if (!more)
            break;
    }
    gm_check_back_at_base(g);
    hl_gc_callback_remove(g->rt, no_collection, g);
    gm_fini(g);
    return 0;
}

#pragma clang attribute pop
