/* gc_fuzz.c: object-graph programs with collections, against a model of
 * CPython 3.11's gc_collect_main (lib/gc/gcmodule.c does it phase for phase).
 *
 * Input format (every byte string is a program; a short tail just ends it):
 *
 *     byte 0        thresholds, automatic collection enabled:
 *                     (1 + (b & 15), (b >> 4) & 3, b >> 6)
 *     then ops, each 4 bytes OP A B C (at most 256: inputs over 1025 bytes
 *     are rejected); OP & 31 picks the operation from `ops` below.  The
 *     graph operations and their operands are refcount_fuzz.c's (new
 *     int/float/str/tuple/list/dict/instance/weakref/callable, list
 *     append/set/pop/clear, dict setitem/delitem/clear, slot set/clear,
 *     drop, alias), plus
 *       collect       gc.collect(A % 3)
 *       threshold     set_threshold(1 + A % 16, B % 4, C % 4), enable
 *       enable        gc.disable() if enabled, else gc.enable()
 *       freeze        A odd: gc.freeze(), even: gc.unfreeze()
 *       saveall       toggle gc.set_debug(DEBUG_SAVEALL)
 *       clear garbage gc.garbage.clear()
 *     and an OP byte of 0xf0..0xff is the introspection op instead (the
 *     gc module's getters against the model; see introspect() below).
 *     An operand of an allocating call is held by the program around the
 *     call (as Python's value stack holds it), since an automatic
 *     collection may run inside the allocation.  Instance types: Plain, Fin
 *     (tp_finalize logs), Res (tp_finalize logs and resurrects its object:
 *     the program takes a reference), Del (legacy tp_del, logs), FinDel;
 *     weakref callbacks log.  At most 64 objects.
 *
 * Every collection, explicit or automatic, is observed through gc.callbacks:
 * at "start" the model checks the heap as the collector finds it and
 * predicts the collection; at "stop" it compares.  The prediction
 * (simulate) is gc_collect_main's semantics computed on the model's own
 * graph:
 *
 *   young   = generations 0..g (the runtime's list order is read, for the
 *             order of finalizers, callbacks and tp_clear);
 *   reach   = young objects referenced from outside young (refcount minus
 *             references from young objects > 0: external references, older
 *             and permanent generations, untracked containers, the
 *             program's), and all young objects they reach: they survive,
 *             into generation g+1 (2 stays 2);
 *   U       = young - reach; F = the objects of U with tp_del and all of U
 *             they reach (uncollectable: to gc.garbage, survive);
 *   weakrefs in U - F, and to objects in U - F, are cleared; the callbacks
 *             of such weakrefs that are not themselves in U - F run (then
 *             to the old generation), finalizers of U - F run once each
 *             (Res resurrects), and what is then reachable from outside U
 *             - F survives; the rest gets tp_clear (or goes to gc.garbage
 *             under DEBUG_SAVEALL), and reference counting frees whatever
 *             that releases (finalizers, tp_del and callbacks of objects
 *             outside U included);
 *   collected = |garbage after resurrection| + weakrefs freed by their
 *             callback; uncollectable = |F| left.
 *
 * Oracles, each an abort naming the op, the object and what broke:
 *   - everything refcount_fuzz checks, as often (refcounts, live-object
 *     count, finalizer/tp_del/callback events in order, contents, weakrefs,
 *     hl_gc_check), and each GC object on the generation list the model
 *     says (tracked into generation 0 on creation, dicts on a GC value, an
 *     instance its finalizer resurrected in dealloc; survivors of a
 *     collection of g in g+1, and resurrected, F and callback weakrefs;
 *     freeze/unfreeze); at the start of every collection the events, the
 *     live-object count, changed refcounts and every generation; at its
 *     end the events, the count, every refcount, every generation and the
 *     contents of what the model changed (the HL_DEBUG=3 runtime runs
 *     hl_gc_check there, and validates its lists in every phase);
 *   - a collection reclaims exactly the objects the simulation says, runs
 *     exactly its events, and reports its collected/uncollectable counts
 *     (gc.callbacks' info and gc.collect's value);
 *   - nothing reachable from the program's references (or gc.garbage, or
 *     the small ints and ()) is ever freed, except through a weakref's
 *     callback (released when its referent dies); after a full collection,
 *     of what was unreachable at its start only F (and what F holds) and
 *     what finalizers made reachable again is left: no unreachable cycle
 *     survives;
 *   - tuple survivors: untracked if all items were atoms or untracked
 *     tuples, still tracked if any item is another GC object (the order
 *     of untrack_tuples decides the rest, and the model takes the
 *     runtime's answer only there, after checking it is consistent); dict
 *     survivors of a full collection untracked exactly when no value may
 *     be tracked, never in a younger collection;
 *   - long_lived_total/pending as 3.11 keeps them, and an automatic
 *     collection starts only inside the allocation of a GC object, only
 *     when enabled and count[0] > threshold[0], for the generation
 *     collect_generations picks (the long-lived 25% rule included);
 *   - at the end the program drops everything, gc.garbage's legacy cycles
 *     are broken, full collections run until nothing is left (each checked
 *     as above), and objects, OBJ and MEM blocks are back at set-up.
 *
 * Automatic collection happens only inside the allocation of a GC object
 * (_PyObject_GC_Link), so the harness switches the runtime's gc on only
 * around the calls that allocate one, when the program's gc.isenabled() is
 * true: the collection then starts where the model is in step with the
 * runtime.  Elsewhere it is off: PyObject_ClearWeakRefs allocates a tuple
 * in the middle of a deallocation, where the model could not follow (as
 * if the program put every other statement between gc.disable() and
 * gc.enable()).  GM_TRACE=1 in the environment prints each op, each
 * collection's young list (unreachable ones starred), F, callbacks and
 * garbage, and the model before a collection and on a violation.
 */
#include "objgraph_model.h"

#include "object_internal.h" /* GCState: long_lived_total/pending */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The harness is not what is being fuzzed: no coverage instrumentation of
 * its functions (its loops over the model would feed libFuzzer thousands of
 * comparisons per input and cost more than the runtime's own code), so
 * libFuzzer's feedback is the runtime's coverage alone.  ASan stays. */
#pragma clang attribute push(__attribute__((no_sanitize("coverage"))), apply_to = function)

#define MAX_OPS 256
#define MAX_INPUT (1 + 4 * MAX_OPS)
#define CHECK_EVERY 16

enum { RULE_NONE, RULE_UNTRACK, RULE_STAY, RULE_EITHER };

typedef struct gf_s {
    gm_t g;
    int explicit_gen;          /* gc.collect(g) running, or -1 */
    bool in_collection;
    int gen;                   /* of the running collection */
    bool saveall;
    ssize_t want_collected, want_uncollectable;
    ssize_t ll_total, ll_pending;       /* long_lived_total/pending */
    int8_t surv[GM_NSLOT];              /* survivors (reach) of the running one */
    int nsurv;
    uint8_t tuple_rule[GM_NSLOT];
    bool dict_rule[GM_NSLOT];
    bool reach0[GM_NSLOT];              /* reachable from roots at the start */
    bool inF[GM_NSLOT];
    bool inU[GM_NSLOT];                 /* unreachable at the start */
    /* what the gc module's getters must answer (the introspection op) */
    int thr[3];                         /* get_threshold */
    int cnt[3];                         /* get_count: [1] and [2] (see below) */
    hl_gc_generation_stats_t stats[3];  /* get_stats */
} gf_t;

static gf_t F;

/* OP & 31 -> operation (fuzz/make_graph_seeds.py mirrors this table). */
static const uint8_t ops[32] = {
    GM_OP_NEW_INT,      GM_OP_NEW_STR,      GM_OP_NEW_TUPLE,     GM_OP_NEW_LIST,
    GM_OP_NEW_DICT,     GM_OP_NEW_INSTANCE, GM_OP_NEW_INSTANCE,  GM_OP_NEW_WEAKREF,
    GM_OP_NEW_CALLABLE, GM_OP_NEW_FLOAT,    GM_OP_LIST_APPEND,   GM_OP_LIST_APPEND,
    GM_OP_LIST_SET,     GM_OP_LIST_POP,     GM_OP_LIST_CLEAR,    GM_OP_DICT_SET,
    GM_OP_DICT_DEL,     GM_OP_DICT_CLEAR,   GM_OP_SLOT_SET,      GM_OP_SLOT_SET,
    GM_OP_SLOT_CLEAR,   GM_OP_DROP,         GM_OP_DROP,          GM_OP_DROP,
    GM_OP_ALIAS,        GM_OP_COLLECT,      GM_OP_COLLECT,       GM_OP_THRESHOLD,
    GM_OP_TOGGLE_ENABLE, GM_OP_FREEZE,      GM_OP_SAVEALL,       GM_OP_CLEAR_GARBAGE,
};

/* ---- graph searches over the model --------------------------------------------- */

/* Everything reachable from the program's references, the runtime's own
 * (gc.garbage, small ints, ()), and with perm, the permanent generation.
 * With firm, not through a weakref's callback: the weakref lets go of it
 * when its referent dies (PyObject_ClearWeakRefs), which a collection can
 * cause without touching anything reachable. */
static void reach_from_roots(const gm_t *g, bool *out, bool perm, bool firm)
{
    int8_t queue[GM_NSLOT], refs[GM_ITEMS_MAX + GM_DICT_MAX];
    int nq = 0;
    memset(out, 0, GM_NSLOT * sizeof *out);
    for (int i = 0; i < GM_NSLOT; i++) {
        const gm_node_t *n = &g->node[i];
        if (n->state == GM_ALIVE
            && (n->ext > 0 || (n->flags & (GM_STATIC | GM_PINNED)) || (perm && n->gen == GM_PERM))) {
            out[i] = true;
            queue[nq++] = (int8_t)i;
        }
    }
    for (int k = 0; k < nq; k++) {
        if (firm && g->node[queue[k]].kind == HL_KIND_WEAKREF)
            continue;
        for (int j = 0, c = gm_referents(g, queue[k], refs); j < c; j++)
            if (!out[refs[j]]) {
                out[refs[j]] = true;
                queue[nq++] = refs[j];
            }
    }
}

/* update_refs + subtract_refs + move_unreachable over `set` (n nodes):
 * reach[i] for the members referenced from outside the set, and what they
 * reach inside it. */
static void deduce_reachable(gf_t *f, const int8_t *set, int n, bool *reach)
{
    gm_t *g = &f->g;
    bool in[GM_NSLOT] = {false};
    int refs[GM_NSLOT];
    int8_t out[GM_ITEMS_MAX], queue[GM_NSLOT];
    int nq = 0;
    for (int k = 0; k < n; k++) {
        in[set[k]] = true;
        refs[set[k]] = g->node[set[k]].rc;
        reach[set[k]] = false;
    }
    for (int k = 0; k < n; k++)
        for (int j = 0, c = gm_traverse(g, set[k], out); j < c; j++)
            if (in[out[j]])
                refs[out[j]]--;
    for (int k = 0; k < n; k++) {
        int i = set[k];
        if (refs[i] < 0)
            gm_fail(g, "model: %s has more references from the collected set than its "
                    "refcount %d", gm_name(g, i), g->node[i].rc);
        if (refs[i] > 0) {
            reach[i] = true;
            queue[nq++] = (int8_t)i;
        }
    }
    for (int k = 0; k < nq; k++)
        for (int j = 0, c = gm_traverse(g, queue[k], out); j < c; j++)
            if (in[out[j]] && !reach[out[j]]) {
                reach[out[j]] = true;
                queue[nq++] = out[j];
            }
}

/* ---- the collection, on the model ----------------------------------------------- */

static void simulate(gf_t *f, int gen)
{
    gm_t *g = &f->g;
    gm_walk_t w;
    gm_walk(g, &w);
    gm_check_gens(g, &w); /* ... every object in its generation */
    if (g->trace) {
        fprintf(stderr, "before collect(%d):\n", gen);
        gm_dump(g);
    }
    const int old = gen < 2 ? gen + 1 : 2;
    int8_t out[GM_ITEMS_MAX];

    reach_from_roots(g, f->reach0, false, true);
    /* A list the collector moves to the old generation at the end of a
     * phase holds only the objects still on it: one deallocated since (and
     * resurrected by its finalizer) was unlinked, and re-tracked into
     * generation 0 by subtype_dealloc. */
    uint16_t deallocs[GM_NSLOT];
    for (int i = 0; i < GM_NSLOT; i++)
        deallocs[i] = g->node[i].deallocs;
#define ON_LIST(i) (gm_alive(g, (i)) && g->node[(i)].deallocs == deallocs[(i)])

    /* young: generation `gen`, then 0 .. gen-1 merged behind it */
    int8_t young[GM_NSLOT];
    int ny = 0;
    memcpy(young, w.list[gen], (size_t)w.n[gen]);
    ny = w.n[gen];
    for (int i = 0; i < gen; i++) {
        memcpy(young + ny, w.list[i], (size_t)w.n[i]);
        ny += w.n[i];
    }
    bool iny[GM_NSLOT] = {false}, reach[GM_NSLOT] = {false};
    for (int k = 0; k < ny; k++)
        iny[young[k]] = true;
    deduce_reachable(f, young, ny, reach);

    /* Survivors: the untracking rules are judged on the state the
     * collection starts from; they move to the old generation. */
    f->nsurv = 0;
    memset(f->tuple_rule, RULE_NONE, sizeof f->tuple_rule);
    memset(f->dict_rule, 0, sizeof f->dict_rule);
    for (int k = 0; k < ny; k++) {
        int y = young[k];
        if (!reach[y])
            continue;
        f->surv[f->nsurv++] = (int8_t)y;
        gm_node_t *n = &g->node[y];
        if (n->kind == HL_KIND_TUPLE) {
            int rule = RULE_UNTRACK;
            for (int j = 0; j < n->n && rule != RULE_STAY; j++) {
                const gm_node_t *it = &g->node[n->item[j]];
                if (it->kind == HL_KIND_TUPLE) {
                    if (it->gen == GM_UNTRACKED)
                        continue;
                    rule = iny[n->item[j]] && reach[n->item[j]] ? RULE_EITHER : RULE_STAY;
                }
                else if (gm_may_be_tracked(g, n->item[j])) {
                    rule = RULE_STAY;
                }
            }
            f->tuple_rule[y] = (uint8_t)rule;
        }
        if (n->kind == HL_KIND_DICT && gen == 2)
            f->dict_rule[y] = true;
        n->gen = (int8_t)old;
    }

    /* U in list order; F: legacy finalizers and what they reach in U */
    int8_t U[GM_NSLOT], Fl[GM_NSLOT], U1[GM_NSLOT];
    int nu = 0, nF = 0, nu1 = 0;
    bool *inU = f->inU, listed[GM_NSLOT] = {false}, inU1[GM_NSLOT] = {false};
    memset(f->inF, 0, sizeof f->inF);
    memset(f->inU, 0, sizeof f->inU);
    for (int k = 0; k < ny; k++)
        if (!reach[young[k]]) {
            U[nu++] = young[k];
            inU[young[k]] = true;
        }
    for (int k = 0; k < nu; k++)
        if (gm_has_del(g, U[k])) {
            f->inF[U[k]] = true;
            Fl[nF++] = U[k];
        }
    for (int k = 0; k < nF; k++)
        for (int j = 0, c = gm_traverse(g, Fl[k], out); j < c; j++)
            if (inU[out[j]] && !f->inF[out[j]]) {
                f->inF[out[j]] = true;
                Fl[nF++] = out[j];
            }
    for (int k = 0; k < nF; k++)
        listed[Fl[k]] = true;
    for (int k = 0; k < nu; k++)
        if (!f->inF[U[k]]) {
            U1[nu1++] = U[k];
            inU1[U[k]] = true;
        }

    /* handle_weakrefs */
    int8_t wrcb[GM_NSLOT];
    int nwrcb = 0;
    for (int k = 0; k < nu1; k++) {
        int u = U1[k];
        if (g->node[u].kind == HL_KIND_WEAKREF)
            gm_weakref_clear_ref(g, u);
        if (g->node[u].kind != HL_KIND_INSTANCE)
            continue;
        while (g->node[u].nwr > 0) {
            int wr = g->node[u].wr[0];
            gm_weakref_clear_ref(g, wr);
            if (g->node[wr].cb < 0 || inU1[wr])
                continue;   /* no callback, or trash itself: never called */
            gm_incref(g, wr);
            wrcb[nwrcb++] = (int8_t)wr;
            g->node[wr].gen = GM_INFLIGHT;
            listed[wr] = false;   /* out of the finalizers list, if on it */
        }
    }
    int num_freed = 0;
    for (int k = 0; k < nwrcb; k++) {
        int wr = wrcb[k];
        gm_event(g, GM_EV_WRCB, wr);
        gm_decref(g, wr);
        if (ON_LIST(wr))
            g->node[wr].gen = (int8_t)old;
        else if (!gm_alive(g, wr))
            num_freed++;
    }

    /* finalize_garbage */
    for (int k = 0; k < nu1; k++) {
        int u = U1[k];
        if (!ON_LIST(u) || !gm_has_finalize(g, u) || g->node[u].finalized)
            continue;
        gm_node_t *n = &g->node[u];
        n->finalized = 1;
        gm_cdirty(g, u);
        gm_incref(g, u);
        gm_event(g, GM_EV_FINALIZE, u);
        if (n->type == GM_T_RES) {
            n->ext++;
            gm_incref(g, u);
        }
        gm_decref(g, u);
    }

    /* handle_resurrected_objects: what is reachable from outside now
     * survives (heaplab skips the recount when nothing ran; the model
     * always recounts, so that shortcut is checked too) */
    int8_t left[GM_NSLOT], fin[GM_NSLOT];
    int nleft = 0, nfin = 0;
    for (int k = 0; k < nu1; k++)
        if (ON_LIST(U1[k]))
            left[nleft++] = U1[k];
    bool res[GM_NSLOT] = {false};
    deduce_reachable(f, left, nleft, res);
    for (int k = 0; k < nleft; k++) {
        if (!res[left[k]])
            fin[nfin++] = left[k];
        else if (ON_LIST(left[k]))
            g->node[left[k]].gen = (int8_t)old;
    }
    f->want_collected = nfin + num_freed;

    /* delete_garbage */
    for (int k = 0; k < nfin; k++) {
        int u = fin[k];
        if (!ON_LIST(u))
            continue;
        if (f->saveall) {
            gm_list_append_model(g, GM_GARBAGE, u);
        }
        else {
            gm_incref(g, u);
            gm_tp_clear(g, u);
            gm_decref(g, u);
        }
        if (ON_LIST(u))
            g->node[u].gen = (int8_t)old;
    }

    /* handle_legacy_finalizers */
    int nunc = 0;
    for (int k = 0; k < nF; k++) {
        int x = Fl[k];
        if (!ON_LIST(x) || !listed[x])
            continue;
        nunc++;
        if (f->saveall || gm_has_del(g, x))
            gm_list_append_model(g, GM_GARBAGE, x);
        g->node[x].gen = (int8_t)old;
    }
    f->want_uncollectable = nunc;
#undef ON_LIST
    if (g->trace) {
        fprintf(stderr, "collect(%d): young", gen);
        for (int k = 0; k < ny; k++)
            fprintf(stderr, " %d%s", young[k], reach[young[k]] ? "" : "*");
        fprintf(stderr, "; F");
        for (int k = 0; k < nF; k++)
            fprintf(stderr, " %d%s", Fl[k], listed[Fl[k]] ? "" : "(moved)");
        fprintf(stderr, "; callbacks");
        for (int k = 0; k < nwrcb; k++)
            fprintf(stderr, " %d", wrcb[k]);
        fprintf(stderr, "; garbage");
        for (int k = 0; k < nfin; k++)
            fprintf(stderr, " %d", fin[k]);
        fprintf(stderr, " => %zd, %zd\n", f->want_collected, f->want_uncollectable);
    }
}

/* At "stop": the untracking the survivors got, judged by the rules; the
 * model takes the runtime's answer where untrack_tuples' order decides.
 * Then long_lived_total/pending.  A survivor can die later in the same
 * collection (reachable only through an older or frozen object that the
 * garbage alone held); its rules cannot be checked then, and when its
 * untracking cannot be known either, neither can the long-lived count,
 * which the model then takes from the runtime. */
static void resolve_untracking(gf_t *f)
{
    gm_t *g = &f->g;
    gm_walk_t w;
    gm_walk(g, &w);
    ssize_t nyoung = 0;
    bool unknown = false;
    for (int k = 0; k < f->nsurv; k++) {
        int t = f->surv[k];
        gm_node_t *n = &g->node[t];
        bool alive = gm_alive(g, t);
        if (n->kind == HL_KIND_TUPLE) {
            if (!alive) {
                unknown |= f->tuple_rule[t] == RULE_EITHER;
                nyoung += f->tuple_rule[t] == RULE_STAY;
                continue;
            }
            bool tracked = w.gen_of[t] != GM_UNTRACKED;
            switch (f->tuple_rule[t]) {
            case RULE_UNTRACK:
                if (tracked)
                    gm_fail(g, "collection of generation %d: %s survived with only atoms and "
                            "untracked tuples in it, yet is still tracked (untrack_tuples)",
                            f->gen, gm_name(g, t));
                break;
            case RULE_STAY:
                if (!tracked)
                    gm_fail(g, "collection of generation %d: %s was untracked, but an item may "
                            "be tracked", f->gen, gm_name(g, t));
                break;
            default:
                if (!tracked)
                    for (int j = 0; j < n->n; j++)
                        if (w.gen_of[n->item[j]] != GM_UNTRACKED)
                            gm_fail(g, "collection of generation %d: %s was untracked, but its "
                                    "item %s is still tracked", f->gen, gm_name(g, t),
                                    gm_name(g, n->item[j]));
                break;
            }
            if (!tracked)
                n->gen = GM_UNTRACKED;
            nyoung += tracked;
        }
        else if (!f->dict_rule[t]) {
            nyoung++;
        }
    }
    for (int k = 0; k < f->nsurv; k++) {
        int d = f->surv[k];
        gm_node_t *n = &g->node[d];
        if (!f->dict_rule[d])
            continue;
        if (!gm_alive(g, d)) {
            unknown = true;
            continue;
        }
        bool may = false; /* _PyDict_MaybeUntrack, full collections only */
        for (int j = 0; j < n->n; j++)
            may |= gm_may_be_tracked(g, n->item[j]);
        if (!may)
            n->gen = GM_UNTRACKED;
        nyoung += may;
    }
    const GCState *s = &g->rt->gc;
    if (unknown) {
        f->ll_total = s->long_lived_total;
        f->ll_pending = s->long_lived_pending;
        return;
    }
    if (f->gen == 2) {
        f->ll_total = nyoung;
        f->ll_pending = 0;
    }
    else if (f->gen == 1) {
        f->ll_pending += nyoung;
    }
    if (s->long_lived_total != f->ll_total || s->long_lived_pending != f->ll_pending)
        gm_fail(g, "collection of generation %d: long_lived_total %zd, pending %zd; the model "
                "counts %zd, %zd", f->gen, s->long_lived_total, s->long_lived_pending,
                f->ll_total, f->ll_pending);
}

/* collect_generations' choice, from the counts it saw. */
static void check_selection(gf_t *f, int gen)
{
    gm_t *g = &f->g;
    int cnt[3], thr[3];
    hl_gc_get_count(g->rt, cnt);
    hl_gc_get_threshold(g->rt, thr);
    if (!g->gc_enabled)
        gm_fail(g, "automatic collection of generation %d while gc is disabled", gen);
    if (thr[0] == 0 || cnt[0] <= thr[0])
        gm_fail(g, "automatic collection with count[0] %d, threshold[0] %d", cnt[0], thr[0]);
    int want = -1;
    for (int i = 2; i >= 0; i--)
        if (cnt[i] > thr[i]) {
            if (i == 2 && f->ll_pending < f->ll_total / 4)
                continue;
            want = i;
            break;
        }
    if (gen != want)
        gm_fail(g, "automatic collection of generation %d; counts (%d, %d, %d), thresholds "
                "(%d, %d, %d), long-lived %zd pending of %zd: expected generation %d",
                gen, cnt[0], cnt[1], cnt[2], thr[0], thr[1], thr[2], f->ll_pending,
                f->ll_total, want);
}

static void collection_start(gf_t *f, int gen)
{
    gm_t *g = &f->g;
    if (f->in_collection)
        gm_fail(g, "a collection of generation %d started inside another", gen);
    if (f->explicit_gen >= 0) {
        if (gen != f->explicit_gen)
            gm_fail(g, "gc.collect(%d) collects generation %d", f->explicit_gen, gen);
    }
    else {
        if (!g->auto_window)
            gm_fail(g, "a collection of generation %d started outside the allocation of a GC "
                    "object", gen);
        check_selection(f, gen);
    }
    f->in_collection = true;
    f->gen = gen;
    gm_check(g, false); /* the heap as the collector finds it ... */
    simulate(f, gen);
}

static void collection_stop(gf_t *f, const hl_gc_info_t *info)
{
    gm_t *g = &f->g;
    if (!f->in_collection || info->generation != f->gen)
        gm_fail(g, "gc callback \"stop\" for generation %d without its \"start\"",
                info->generation);
    gm_check_events(g);
    if (info->collected != f->want_collected || info->uncollectable != f->want_uncollectable)
        gm_fail(g, "collection of generation %d: collected %zd, uncollectable %zd; the model "
                "says %zd, %zd", f->gen, info->collected, info->uncollectable,
                f->want_collected, f->want_uncollectable);
    resolve_untracking(f);
    gm_check_after_collection(g);

    /* Nothing reachable is ever freed. */
    for (int i = 0; i < GM_NSLOT; i++)
        if (f->reach0[i] && !gm_alive(g, i) && !(g->node[i].flags & GM_STATIC))
            gm_fail(g, "collection of generation %d freed %s, reachable from the program",
                    f->gen, gm_name(g, i));
    /* After a full collection, nothing that was unreachable at its start is
     * left, but what it found uncollectable (F) and what that holds, and
     * what a finalizer made reachable again. */
    if (f->gen == 2) {
        bool reach[GM_NSLOT], held[GM_NSLOT] = {false};
        reach_from_roots(g, reach, true, false);
        int8_t queue[GM_NSLOT], out[GM_ITEMS_MAX + GM_DICT_MAX];
        int nq = 0;
        for (int i = 0; i < GM_NSLOT; i++)
            if (f->inF[i] && gm_alive(g, i)) {
                held[i] = true;
                queue[nq++] = (int8_t)i;
            }
        for (int k = 0; k < nq; k++)
            for (int j = 0, c = gm_referents(g, queue[k], out); j < c; j++)
                if (!held[out[j]]) {
                    held[out[j]] = true;
                    queue[nq++] = out[j];
                }
        for (int i = 0; i < GM_NSLOT; i++)
            if (f->inU[i] && gm_alive(g, i) && !reach[i] && !held[i])
                gm_fail(g, "after a full collection %s, unreachable at its start, is still "
                        "alive, and neither uncollectable nor resurrected", gm_name(g, i));
    }
    /* gc_collect_main's bookkeeping: the next generation's count one up,
     * the collected ones' zeroed; the generation's stats. */
    if (f->gen + 1 < 3)
        f->cnt[f->gen + 1]++;
    for (int i = 0; i <= f->gen; i++)
        f->cnt[i] = 0;
    f->stats[f->gen].collections++;
    f->stats[f->gen].collected += f->want_collected;
    f->stats[f->gen].uncollectable += f->want_uncollectable;
    f->in_collection = false;
}

static void gc_callback(hl_runtime_t *rt, const char *phase, const hl_gc_info_t *info,
                        void *user)
{
    (void)rt;
    if (strcmp(phase, "start") == 0)
        collection_start(user, info->generation);
    else
        collection_stop(user, info);
}

/* ---- the ops ------------------------------------------------------------------------ */

static void collect(gf_t *f, int gen)
{
    gm_t *g = &f->g;
    f->explicit_gen = gen;
    ssize_t r = hl_gc_collect(g->rt, gen);
    f->explicit_gen = -1;
    if (f->in_collection)
        gm_fail(g, "gc.collect(%d) returned without its \"stop\" callback", gen);
    if (r != f->want_collected + f->want_uncollectable)
        gm_fail(g, "gc.collect(%d) returned %zd, the model says %zd + %zd", gen, r,
                f->want_collected, f->want_uncollectable);
}

static void set_saveall(gf_t *f, bool on)
{
    f->saveall = on;
    hl_gc_set_debug(f->g.rt, on ? HL_GC_DEBUG_SAVEALL : 0);
}

static void unfreeze(gf_t *f)
{
    hl_gc_unfreeze(f->g.rt);
    for (int i = 0; i < GM_NSLOT; i++)
        if (gm_alive(&f->g, i) && f->g.node[i].gen == GM_PERM)
            f->g.node[i].gen = 2;
}

static void clear_garbage(gf_t *f)
{
    hl_list_clear(f->g.rt, f->g.node[GM_GARBAGE].obj);
    gm_tp_clear(&f->g, GM_GARBAGE);
}

/* ---- the introspection op: the gc module's getters against the model ------------------ */

/* An OP byte of 0xf0..0xff (OP & 31 would make it an op of the table; no
 * input written before this op existed has one) is the introspection op,
 * OP & 15 the call:
 *     0..3   gc.get_objects(OP - 1)   (-1: all generations)
 *     4      gc.get_objects(bad): A odd: 3 + (A >> 1) % 4, even: -2 - (A >> 1) % 4;
 *            ValueError with CPython's message
 *     5..7   gc.get_referents(A[, B[, C]])
 *     8..10  gc.get_referrers(A[, B[, C]])
 *     11     gc.is_tracked(x), gc.is_finalized(x) for every live object
 *     12     gc.get_objects()   13  gc.get_referents(A)   14  gc.get_referrers(A)
 *     15     only the scalars below
 * An operand byte names a node as elsewhere (byte % 64), or gc.garbage when
 * byte >> 6 == 3; no alive node: the operand is left out.  Every call that
 * builds a list (the list is a GC allocation: an automatic collection may
 * start in it, as in CPython) runs in the allocation window, its operands
 * held by the program; the list is read, then dropped.  Every introspection
 * op then checks get_threshold, get_debug, get_freeze_count, get_stats and
 * get_count against the model, and isenabled (inside the window, where the
 * runtime's switch is the program's).  get_count: [1] and [2] exactly (one
 * up per collection of the younger generation, zeroed by a collection of
 * theirs and by freeze); [0] counts GC allocations that missed the free
 * lists, which the model does not follow: only >= 0. */
#define INTROSPECT_OP 0xf0
#define RES_MAX 256

typedef struct {
    int n;
    hl_object_t *obj[RES_MAX];
    ssize_t rc[RES_MAX];       /* each item's refcount while the list held it */
} result_t;

static bool is_gc_kind(int kind)
{
    return kind == HL_KIND_TUPLE || kind == HL_KIND_LIST || kind == HL_KIND_DICT
           || kind == HL_KIND_INSTANCE || kind == HL_KIND_WEAKREF || kind == HL_KIND_CALLABLE;
}

static int pick_arg(const gm_t *g, uint8_t b)
{
    if ((b >> 6) == 3)
        return GM_GARBAGE;
    return gm_pick(g, b, GM_ANY);
}

/* The new list: what it holds, and the references it took; then dropped. */
static void take_result(gf_t *f, hl_object_t *r, result_t *out)
{
    gm_t *g = &f->g;
    hl_runtime_t *rt = g->rt;
    if (r == NULL)
        gm_fail(g, "%s returned NULL: error %d (%s)", g->what, (int)hl_runtime_error(rt),
                hl_runtime_error_message(rt));
    if (hl_runtime_error(rt) != HL_ERR_NONE)
        gm_fail(g, "%s left error %d set (%s)", g->what, (int)hl_runtime_error(rt),
                hl_runtime_error_message(rt));
    if (hl_kind(r) != HL_KIND_LIST || hl_refcnt(r) != 1 || !hl_gc_is_tracked(r))
        gm_fail(g, "%s returned a %s with refcount %zd, %stracked: a new tracked list expected",
                g->what, hl_type_name(r), hl_refcnt(r), hl_gc_is_tracked(r) ? "" : "not ");
    size_t n = hl_list_size(r);
    if (n > RES_MAX)
        gm_fail(g, "%s returned %zu items", g->what, n);
    out->n = (int)n;
    for (size_t k = 0; k < n; k++) {
        out->obj[k] = hl_list_get(r, k);
        out->rc[k] = hl_refcnt(out->obj[k]);
    }
    hl_decref(rt, r);
}

/* The list must be want[] exactly, in order; each item's refcount while
 * the list was alive the model's plus the list's references to it. */
static void compare_result(gf_t *f, const result_t *got, const int8_t *want, int nwant)
{
    gm_t *g = &f->g;
    int n = got->n < nwant ? got->n : nwant;
    for (int k = 0; k < n; k++)
        if (got->obj[k] != g->node[want[k]].obj)
            gm_fail(g, "%s: item %d is %p (a %s), the model says %s (%d items, the model %d)",
                    g->what, k, (void *)got->obj[k], hl_type_name(got->obj[k]),
                    gm_name(g, want[k]), got->n, nwant);
    if (got->n != nwant)
        gm_fail(g, "%s: %d items, the model says %d%s%s", g->what, got->n, nwant,
                got->n > nwant ? "; the first extra one is " : "; the first missing one is ",
                got->n > nwant ? hl_type_name(got->obj[nwant]) : gm_name(g, want[got->n]));
    for (int k = 0; k < n; k++) {
        int m = 0;
        for (int j = 0; j < n; j++)
            m += want[j] == want[k];
        if (got->rc[k] != g->node[want[k]].rc + m)
            gm_fail(g, "%s: %s had refcount %zd in the result, the model says %d + %d", g->what,
                    gm_name(g, want[k]), got->rc[k], g->node[want[k]].rc, m);
    }
}

static void check_isenabled(gf_t *f)
{
    gm_t *g = &f->g;
    if (hl_gc_isenabled(g->rt) != g->gc_enabled)
        gm_fail(g, "gc.isenabled() is %d, the program's gc is %s", (int)hl_gc_isenabled(g->rt),
                g->gc_enabled ? "enabled" : "disabled");
}

static void check_scalars(gf_t *f)
{
    gm_t *g = &f->g;
    hl_runtime_t *rt = g->rt;
    int thr[3], cnt[3];
    hl_gc_get_threshold(rt, thr);
    if (memcmp(thr, f->thr, sizeof thr) != 0)
        gm_fail(g, "gc.get_threshold() is (%d, %d, %d), the model (%d, %d, %d)", thr[0], thr[1],
                thr[2], f->thr[0], f->thr[1], f->thr[2]);
    int dbg = hl_gc_get_debug(rt), want_dbg = f->saveall ? HL_GC_DEBUG_SAVEALL : 0;
    if (dbg != want_dbg)
        gm_fail(g, "gc.get_debug() is %d, the model %d", dbg, want_dbg);
    ssize_t frozen = 0;
    for (int k = 0; k < g->nlive; k++)
        frozen += g->node[g->live[k]].gen == GM_PERM;
    if (hl_gc_get_freeze_count(rt) != frozen)
        gm_fail(g, "gc.get_freeze_count() is %zd, the model has %zd frozen",
                hl_gc_get_freeze_count(rt), frozen);
    hl_gc_generation_stats_t st[3];
    hl_gc_get_stats(rt, st);
    for (int i = 0; i < 3; i++)
        if (st[i].collections != f->stats[i].collections
            || st[i].collected != f->stats[i].collected
            || st[i].uncollectable != f->stats[i].uncollectable)
            gm_fail(g, "gc.get_stats()[%d] is {collections %zd, collected %zd, uncollectable "
                    "%zd}, the model {%zd, %zd, %zd}", i, st[i].collections, st[i].collected,
                    st[i].uncollectable, f->stats[i].collections, f->stats[i].collected,
                    f->stats[i].uncollectable);
    hl_gc_get_count(rt, cnt);
    if (cnt[0] < 0 || cnt[1] != f->cnt[1] || cnt[2] != f->cnt[2])
        gm_fail(g, "gc.get_count() is (%d, %d, %d), the model (>= 0, %d, %d)", cnt[0], cnt[1],
                cnt[2], f->cnt[1], f->cnt[2]);
}

static void intro_get_objects(gf_t *f, int gen)
{
    gm_t *g = &f->g;
    static const char *const names[] = {"gc.get_objects()", "gc.get_objects(0)",
                                        "gc.get_objects(1)", "gc.get_objects(2)"};
    g->what = names[gen + 1];
    gm_window_open(g);
    hl_object_t *r = hl_gc_get_objects(g->rt, gen);
    check_isenabled(f);
    gm_window_close(g);
    result_t got;
    take_result(f, r, &got);
    /* the model's tracked objects of the generation(s), in list order */
    gm_walk_t w;
    gm_walk(g, &w);
    gm_check_gens(g, &w);
    int8_t want[GM_NSLOT];
    int nwant = 0;
    for (int i = gen < 0 ? 0 : gen; i <= (gen < 0 ? 2 : gen); i++)
        for (int k = 0; k < w.n[i]; k++)
            want[nwant++] = w.list[i][k];
    compare_result(f, &got, want, nwant);
}

static void intro_get_objects_bad(gf_t *f, uint8_t a)
{
    gm_t *g = &f->g;
    hl_runtime_t *rt = g->rt;
    int gen = (a & 1) ? 3 + (a >> 1) % 4 : -2 - (a >> 1) % 4;
    char want[128];
    if (gen >= 3)
        snprintf(want, sizeof want, "generation parameter must be less than the number of "
                 "available generations (%i)", 3);
    else
        snprintf(want, sizeof want, "generation parameter cannot be negative");
    g->what = "gc.get_objects(bad generation)";
    gm_window_open(g);
    hl_object_t *r = hl_gc_get_objects(rt, gen);
    gm_window_close(g);
    if (r != NULL || hl_runtime_error(rt) != HL_ERR_VALUE
        || strcmp(hl_runtime_error_message(rt), want) != 0)
        gm_fail(g, "gc.get_objects(%d) returned %p with error %d (%s); expected ValueError(%s)",
                gen, (void *)r, (int)hl_runtime_error(rt), hl_runtime_error_message(rt), want);
    hl_runtime_clear_error(rt);
}

static void intro_referents(gf_t *f, bool referrers, const uint8_t *bytes, int nb)
{
    gm_t *g = &f->g;
    hl_runtime_t *rt = g->rt;
    int arg[3], n = 0;
    hl_object_t *objs[3];
    for (int k = 0; k < nb; k++) {
        int x = pick_arg(g, bytes[k]);
        if (x < 0)
            continue;
        arg[n] = x;
        objs[n++] = g->node[x].obj;
    }
    g->what = referrers ? "gc.get_referrers" : "gc.get_referents";
    for (int k = 0; k < n; k++)
        gm_hold(g, arg[k]);
    gm_window_open(g);
    hl_object_t *r = referrers ? hl_gc_get_referrers(rt, objs, (size_t)n)
                               : hl_gc_get_referents(rt, objs, (size_t)n);
    check_isenabled(f);
    gm_window_close(g);
    result_t got;
    take_result(f, r, &got);
    int8_t want[RES_MAX], out[GM_ITEMS_MAX];
    int nwant = 0;
    if (!referrers) {
        /* tp_traverse of each GC object, tracked or not, in argument order */
        for (int k = 0; k < n; k++)
            if (is_gc_kind(g->node[arg[k]].kind))
                for (int j = 0, c = gm_traverse(g, arg[k], out); j < c; j++)
                    want[nwant++] = out[j];
    }
    else {
        /* every object on generations 0..2 (not the permanent one) whose
         * tp_traverse visits an argument, once, in list order */
        gm_walk_t w;
        gm_walk(g, &w);
        gm_check_gens(g, &w);
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < w.n[i]; k++) {
                int y = w.list[i][k];
                bool hit = false;
                for (int j = 0, c = gm_traverse(g, y, out); j < c && !hit; j++)
                    for (int a = 0; a < n; a++)
                        hit |= out[j] == arg[a];
                if (hit)
                    want[nwant++] = (int8_t)y;
            }
    }
    if (g->trace) {
        fprintf(stderr, "%s(", g->what);
        for (int k = 0; k < n; k++)
            fprintf(stderr, "%s%d", k ? ", " : "", arg[k]);
        fprintf(stderr, ") =");
        for (int k = 0; k < nwant; k++)
            fprintf(stderr, " %d", want[k]);
        fprintf(stderr, "\n");
    }
    compare_result(f, &got, want, nwant);
    for (int k = n - 1; k >= 0; k--)
        gm_unhold(g, arg[k]);
}

static void intro_is_tracked(gf_t *f)
{
    gm_t *g = &f->g;
    g->what = "gc.is_tracked/is_finalized";
    for (int k = 0; k < g->nlive; k++) {
        const gm_node_t *n = &g->node[g->live[k]];
        bool tracked = is_gc_kind(n->kind) && n->gen != GM_UNTRACKED;
        bool finalized = is_gc_kind(n->kind) && n->finalized;
        if (hl_gc_is_tracked(n->obj) != tracked)
            gm_fail(g, "gc.is_tracked(%s) is %d, the model says %d", gm_name(g, g->live[k]),
                    (int)hl_gc_is_tracked(n->obj), (int)tracked);
        if (hl_gc_is_finalized(n->obj) != finalized)
            gm_fail(g, "gc.is_finalized(%s) is %d, the model says %d", gm_name(g, g->live[k]),
                    (int)hl_gc_is_finalized(n->obj), (int)finalized);
    }
}

static void introspect(gf_t *f, int sub, uint8_t a, uint8_t b, uint8_t c)
{
    const uint8_t args[3] = {a, b, c};
    switch (sub) {
    case 0: case 1: case 2: case 3: intro_get_objects(f, sub - 1); break;
    case 4: intro_get_objects_bad(f, a); break;
    case 5: case 6: case 7: intro_referents(f, false, args, sub - 4); break;
    case 8: case 9: case 10: intro_referents(f, true, args, sub - 7); break;
    case 11: intro_is_tracked(f); break;
    case 12: intro_get_objects(f, -1); break;
    case 13: intro_referents(f, false, args, 1); break;
    case 14: intro_referents(f, true, args, 1); break;
    default: break;
    }
    f->g.what = "gc getters";
    check_scalars(f);
}

static void run_op(gf_t *f, int op, uint8_t a, uint8_t b, uint8_t c)
{
    gm_t *g = &f->g;
    hl_runtime_t *rt = g->rt;
    if (op < GM_NGRAPHOPS) {
        gm_exec(g, op, a, b, c);
        return;
    }
    g->what = gm_op_names[op];
    switch (op) {
    case GM_OP_COLLECT: collect(f, a % 3); break;
    case GM_OP_THRESHOLD: {
        int t[3] = {1 + a % 16, b % 4, c % 4};
        hl_gc_set_threshold(rt, t, 3);
        memcpy(f->thr, t, sizeof t);
        g->gc_enabled = true; /* gc.enable() */
        break;
    }
    case GM_OP_TOGGLE_ENABLE: /* the runtime's switch follows in gm_exec */
        g->gc_enabled = !g->gc_enabled;
        break;
    case GM_OP_FREEZE:
        if (a & 1) {
            hl_gc_freeze(rt);
            memset(f->cnt, 0, sizeof f->cnt); /* every generation's count */
            for (int i = 0; i < GM_NSLOT; i++)
                if (gm_alive(g, i) && g->node[i].gen >= 0 && g->node[i].gen <= 2)
                    g->node[i].gen = GM_PERM;
        }
        else {
            unfreeze(f);
        }
        break;
    case GM_OP_SAVEALL: set_saveall(f, !f->saveall); break;
    case GM_OP_CLEAR_GARBAGE: clear_garbage(f); break;
    default: gm_fail(g, "no op %d", op);
    }
}

/* ---- the end: release everything, break legacy cycles, collect --------------------------------- */

static void drop_everything(gf_t *f)
{
    gm_t *g = &f->g;
    for (int x; (x = gm_pick_ext(g, 0)) >= 0; g->op++) {
        g->what = "end: drop";
        hl_decref(g->rt, g->node[x].obj);
        gm_drop_model(g, x);
        gm_check(g, false);
    }
}

static void break_garbage(gf_t *f)
{
    gm_t *g = &f->g;
    hl_runtime_t *rt = g->rt;
    gm_node_t *gb = &g->node[GM_GARBAGE];
    int8_t items[GM_ITEMS_MAX];
    int n = gb->n;
    memcpy(items, gb->item, (size_t)n);
    g->what = "end: breaking gc.garbage";
    for (int k = 0; k < n; k++) {
        int i = items[k];
        gm_node_t *o = &g->node[i];
        switch (o->kind) {
        case HL_KIND_LIST: hl_list_clear(rt, o->obj); gm_tp_clear(g, i); break;
        case HL_KIND_DICT: hl_dict_clear(rt, o->obj); gm_tp_clear(g, i); break;
        case HL_KIND_INSTANCE:
            for (int s = 0; s < o->n; s++) {
                int v = o->item[s];
                if (v < 0)
                    continue;
                hl_instance_set(rt, o->obj, (size_t)s, NULL);
                o->item[s] = -1;
                gm_decref(g, v);
            }
            break;
        default: break;
        }
        gm_check(g, false);
    }
    g->what = "end: gc.garbage.clear()";
    clear_garbage(f);
    gm_check(g, true);
}

static int first_alive(const gm_t *g)
{
    for (int i = 0; i < GM_MAXN; i++)
        if (gm_alive(g, i) && !(g->node[i].flags & GM_STATIC))
            return i;
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (size > MAX_INPUT)
        return -1;
    gf_t *f = &F;
    gm_t *g = &f->g;
    gm_init(g, "gc_fuzz", true);
    f->explicit_gen = -1;
    f->in_collection = false;
    f->saveall = false;
    f->ll_total = g->rt->gc.long_lived_total;
    f->ll_pending = g->rt->gc.long_lived_pending;
    if (hl_gc_callback_add(g->rt, gc_callback, f) != 0)
        gm_fail(g, "hl_gc_callback_add failed");
    int t[3] = {1 + (data[0] & 15), (data[0] >> 4) & 3, data[0] >> 6};
    hl_gc_set_threshold(g->rt, t, 3);
    memcpy(f->thr, t, sizeof t);
    hl_gc_get_count(g->rt, f->cnt); /* the set-up's collection: the baseline */
    hl_gc_get_stats(g->rt, f->stats);
    g->gc_enabled = true;
    gm_check(g, true);

    bool trace = g->trace;
    size_t pos = 1;
    for (g->op = 0; pos + 4 <= size; g->op++, pos += 4) {
        bool intro = data[pos] >= INTROSPECT_OP;
        int op = intro ? GM_OP_INTROSPECT : ops[data[pos] & 31];
        if (trace)
            fprintf(stderr, "op %zu: %s%s %u %u %u\n", g->op, gm_op_names[op],
                    intro ? (const char *[]){" 0", " 1", " 2", " 3", " 4", " 5", " 6", " 7",
                                             " 8", " 9", " 10", " 11", " 12", " 13", " 14",
                                             " 15"}[data[pos] & 15] : "",
                    data[pos + 1], data[pos + 2], data[pos + 3]);
        if (intro) {
            g->what = gm_op_names[op];
            introspect(f, data[pos] & 15, data[pos + 1], data[pos + 2], data[pos + 3]);
        }
        else {
            run_op(f, op, data[pos + 1], data[pos + 2], data[pos + 3]);
        }
        gm_check(g, (g->op + 1) % CHECK_EVERY == 0);
    }
    g->what = "after the last op";
    gm_check(g, true);

    /* The end, every step checked: nothing held, nothing frozen, no
     * automatic collections; collect until nothing is left. */
    g->gc_enabled = false;
    set_saveall(f, false);
    unfreeze(f);
    drop_everything(f);
    for (int round = 0; round < 16 && first_alive(g) >= 0; round++, g->op++) {
        g->what = "end: gc.collect(2)";
        collect(f, 2);
        gm_check(g, true);
        if (first_alive(g) < 0)
            break;
        break_garbage(f);
        drop_everything(f);
    }
    int left = first_alive(g);
    if (left >= 0)
        gm_fail(g, "%s still alive after 16 rounds of collection and clean-up", gm_name(g, left));
    g->what = "end: last gc.collect(2)";
    collect(f, 2); /* empties the free lists */
    gm_check(g, true);
    gm_check_back_at_base(g);
    hl_gc_callback_remove(g->rt, gc_callback, f);
    gm_fini(g);
    return 0;
}

#pragma clang attribute pop
