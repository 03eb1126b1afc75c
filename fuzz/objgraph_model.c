/* objgraph_model.c: the shadow model of objgraph_model.h -- reference
 * counting, deallocation order, weakrefs and the trashcan as CPython 3.11
 * does them -- and the graph operations that drive runtime and model side
 * by side.
 *
 * Each function below that mirrors a CPython function names it; the model
 * never looks at the runtime's objects to decide anything (only gm_check
 * and gm_walk read them, to compare).
 */
#include "objgraph_model.h"

/* The collector's internal header, for gm_walk only: the generation lists
 * are the one thing no public call shows without allocating. */
#include "object_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The harness is not what is being fuzzed: no coverage instrumentation of
 * its functions (its loops over the model would feed libFuzzer thousands of
 * comparisons per input and cost more than the runtime's own code), so
 * libFuzzer's feedback is the runtime's coverage alone.  ASan stays. */
#pragma clang attribute push(__attribute__((no_sanitize("coverage"))), apply_to = function)

const char *const gm_op_names[GM_NOPS] = {
    [GM_OP_NEW_INT] = "new int",
    [GM_OP_NEW_FLOAT] = "new float",
    [GM_OP_NEW_STR] = "new str",
    [GM_OP_NEW_TUPLE] = "new tuple",
    [GM_OP_NEW_LIST] = "new list",
    [GM_OP_NEW_DICT] = "new dict",
    [GM_OP_NEW_INSTANCE] = "new instance",
    [GM_OP_NEW_WEAKREF] = "new weakref",
    [GM_OP_NEW_CALLABLE] = "new callable",
    [GM_OP_LIST_APPEND] = "list append",
    [GM_OP_LIST_SET] = "list set",
    [GM_OP_LIST_POP] = "list pop",
    [GM_OP_LIST_CLEAR] = "list clear",
    [GM_OP_DICT_SET] = "dict setitem",
    [GM_OP_DICT_DEL] = "dict delitem",
    [GM_OP_DICT_CLEAR] = "dict clear",
    [GM_OP_SLOT_SET] = "slot set",
    [GM_OP_SLOT_CLEAR] = "slot clear",
    [GM_OP_DROP] = "drop",
    [GM_OP_ALIAS] = "alias",
    [GM_OP_COLLECT] = "collect",
    [GM_OP_THRESHOLD] = "set_threshold",
    [GM_OP_TOGGLE_ENABLE] = "enable/disable",
    [GM_OP_FREEZE] = "freeze/unfreeze",
    [GM_OP_SAVEALL] = "DEBUG_SAVEALL",
    [GM_OP_CLEAR_GARBAGE] = "gc.garbage.clear",
    [GM_OP_INTROSPECT] = "gc introspection",
};

static const char *const kind_names[] = {
    [HL_KIND_INT] = "int", [HL_KIND_FLOAT] = "float", [HL_KIND_STR] = "str",
    [HL_KIND_TUPLE] = "tuple", [HL_KIND_LIST] = "list", [HL_KIND_DICT] = "dict",
    [HL_KIND_INSTANCE] = "instance", [HL_KIND_WEAKREF] = "weakref",
    [HL_KIND_CALLABLE] = "callable",
};

static const char *const type_names[GM_NTYPES] = {"Plain", "Fin", "Res", "Del", "FinDel"};
static const char *const event_names[] = {"tp_finalize", "tp_del", "weakref callback"};

/* ---- messages -------------------------------------------------------------- */

void gm_dump(const gm_t *g)
{
    for (int i = 0; i < GM_NSLOT; i++) {
        const gm_node_t *n = &g->node[i];
        if (n->state != GM_ALIVE && n->state != GM_PARKED)
            continue;
        fprintf(stderr, "  %s: rc %d ext %d gen %d%s%s ->", gm_name(g, i), n->rc, n->ext, n->gen,
                n->finalized ? " finalized" : "", n->state == GM_PARKED ? " parked" : "");
        int8_t out[GM_ITEMS_MAX];
        for (int j = 0, c = gm_traverse(g, i, out); j < c; j++)
            fprintf(stderr, " %d", out[j]);
        if (n->kind == HL_KIND_WEAKREF)
            fprintf(stderr, " (referent %d)", n->ref);
        if (n->kind == HL_KIND_DICT)
            for (int j = 0; j < n->n; j++)
                fprintf(stderr, " [key %d]", n->key[j]);
        fputc('\n', stderr);
    }
}

void gm_fail(const gm_t *g, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: op %zu (%s): ", g->prog, g->op, g->what ? g->what : "?");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (g->trace)
        gm_dump(g);
    abort();
}

const char *gm_name(const gm_t *g, int i)
{
    static char buf[4][96];
    static int k;
    char *b = buf[k++ & 3];
    if (i < 0 || i >= GM_NSLOT) {
        snprintf(b, sizeof buf[0], "node %d", i);
        return b;
    }
    const gm_node_t *n = &g->node[i];
    if (i == GM_GARBAGE)
        snprintf(b, sizeof buf[0], "gc.garbage (list %p)", (void *)n->obj);
    else if (n->flags & GM_TEMP)
        snprintf(b, sizeof buf[0], "node %d (PyObject_ClearWeakRefs' tuple)", i);
    else if (n->kind == HL_KIND_INSTANCE)
        snprintf(b, sizeof buf[0], "node %d (%s instance %p)", i, type_names[n->type],
                 (void *)n->obj);
    else if (n->kind == HL_KIND_INT && (n->flags & GM_STATIC))
        snprintf(b, sizeof buf[0], "node %d (small int %d %p)", i, n->val, (void *)n->obj);
    else
        snprintf(b, sizeof buf[0], "node %d (%s %p)", i, kind_names[n->kind], (void *)n->obj);
    return b;
}

/* ---- address -> node ------------------------------------------------------------- */

static unsigned map_hash(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 21;
    x *= 0x9E3779B97F4A7C15u;
    return (unsigned)(x >> 56);
}

static int map_find(const gm_t *g, const void *p)
{
    for (unsigned h = map_hash(p);; h = (h + 1) & 255) {
        int i = g->map[h];
        if (i < 0)
            return -1;
        if (g->node[i].obj == p)
            return i;
    }
}

static void map_insert(gm_t *g, int i)
{
    unsigned h = map_hash(g->node[i].obj);
    while (g->map[h] >= 0)
        h = (h + 1) & 255;
    g->map[h] = (int8_t)i;
}

/* Linear probing's deletion: shift back the entries the hole would hide. */
static void map_remove(gm_t *g, int i)
{
    unsigned h = map_hash(g->node[i].obj);
    while (g->map[h] != i) {
        if (g->map[h] < 0)
            gm_fail(g, "model: %s missing from the address map", gm_name(g, i));
        h = (h + 1) & 255;
    }
    unsigned hole = h;
    for (unsigned j = (hole + 1) & 255; g->map[j] >= 0; j = (j + 1) & 255) {
        unsigned home = map_hash(g->node[g->map[j]].obj);
        /* can the entry at j move to the hole? iff its home is not in (hole, j] */
        bool in_between = hole < j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!in_between) {
            g->map[hole] = g->map[j];
            hole = j;
        }
    }
    g->map[hole] = -1;
}

/* ---- the live list (what the checks walk) ----------------------------------------------- */

static void live_add(gm_t *g, int i)
{
    g->live_pos[i] = (int8_t)g->nlive;
    g->live[g->nlive++] = (int8_t)i;
    if (i < GM_MAXN)
        g->kind_mask[g->node[i].kind] |= (uint64_t)1 << i;
    gm_dirty(g, i);
    gm_cdirty(g, i);
}

static void live_remove(gm_t *g, int i)
{
    int pos = g->live_pos[i], last = g->live[--g->nlive];
    g->live[pos] = (int8_t)last;
    g->live_pos[last] = (int8_t)pos;
    if (i < GM_MAXN)
        g->kind_mask[g->node[i].kind] &= ~((uint64_t)1 << i);
}

/* ---- hooks: what the runtime reports ------------------------------------------------ */

static void hook_log(gm_t *g, int kind, const hl_object_t *p)
{
    if (g->ngot >= GM_MAXEV) {
        if (!g->modeled) {
            g->ngot = 0;
        }
        else {
            gm_fail(g, "more than %d finalizer/callback events in one step", GM_MAXEV);
        }
    }
    g->got[g->ngot++] = (gm_event_t){(uint8_t)kind, -1, p};
}

static void hook_finalize(hl_runtime_t *rt, hl_object_t *self, void *user)
{
    (void)rt;
    hook_log(user, GM_EV_FINALIZE, self);
}

/* GM_T_RES: the finalizer stores self somewhere (here: the program takes a
 * reference to it), so the object is resurrected. */
static void hook_finalize_resurrect(hl_runtime_t *rt, hl_object_t *self, void *user)
{
    gm_t *g = user;
    (void)rt;
    hook_log(g, GM_EV_FINALIZE, self);
    hl_incref(self);
    if (g->nres >= GM_MAXEV)
        gm_fail(g, "more than %d resurrections in one step", GM_MAXEV);
    g->resurrected[g->nres++] = self;
}

static void hook_del(hl_runtime_t *rt, hl_object_t *self, void *user)
{
    (void)rt;
    hook_log(user, GM_EV_DEL, self);
}

static void hook_weakref_callback(hl_runtime_t *rt, hl_object_t *self, hl_object_t *arg,
                                  void *user)
{
    (void)rt;
    (void)self;
    hook_log(user, GM_EV_WRCB, arg);
}

void gm_event(gm_t *g, int kind, int i)
{
    if (g->nwant >= GM_MAXEV)
        gm_fail(g, "model: more than %d events in one step", GM_MAXEV);
    g->want[g->nwant++] = (gm_event_t){(uint8_t)kind, (int8_t)i, g->node[i].obj};
}

/* ---- set-up ------------------------------------------------------------------------- */

void gm_init(gm_t *g, const char *prog, bool gc_mode)
{
    memset(g, 0, offsetof(gm_t, want));
    g->trace = getenv("GM_TRACE") != NULL;
    g->prog = prog;
    g->gc_mode = gc_mode;
    g->modeled = true;
    g->what = "set-up";
    memset(g->small_int, -1, sizeof g->small_int);
    g->empty_tuple = -1;
    memset(g->map, -1, sizeof g->map);
    for (int i = 0; i < GM_NSLOT; i++)
        g->node[i].ref = g->node[i].cb = -1;

    char err[256] = "";
    if (hl_runtime_create("pymalloc", NULL, &g->rt, err, sizeof err) != 0) {
        fprintf(stderr, "%s: hl_runtime_create(pymalloc): %s\n", prog, err);
        abort();
    }
    hl_runtime_t *rt = g->rt;
    hl_gc_disable(rt);
    hl_gc_collect(rt, 2); /* gc.garbage from generation 0 to 2 */

    static const struct {
        void (*finalize)(hl_runtime_t *, hl_object_t *, void *);
        void (*del)(hl_runtime_t *, hl_object_t *, void *);
    } hooks[GM_NTYPES] = {
        [GM_T_PLAIN] = {NULL, NULL},
        [GM_T_FIN] = {hook_finalize, NULL},
        [GM_T_RES] = {hook_finalize_resurrect, NULL},
        [GM_T_DEL] = {NULL, hook_del},
        [GM_T_FINDEL] = {hook_finalize, hook_del},
    };
    for (int t = 0; t < GM_NTYPES; t++) {
        hl_instance_hooks_t h = {hooks[t].finalize, hooks[t].del, g};
        g->types[t] = hl_instance_type_new(rt, type_names[t], &h);
        if (g->types[t] == NULL)
            gm_fail(g, "hl_instance_type_new failed");
    }

    gm_node_t *gb = &g->node[GM_GARBAGE];
    gb->obj = hl_gc_garbage(rt);
    gb->rc = 1; /* the runtime's */
    gb->state = GM_ALIVE;
    gb->kind = HL_KIND_LIST;
    gb->flags = GM_PINNED;
    gb->gen = 2;
    memset(gb->item, -1, sizeof gb->item);
    map_insert(g, GM_GARBAGE);
    live_add(g, GM_GARBAGE);
    hl_runtime_usage(rt, &g->base);
    gm_check(g, true);
}

void gm_check_back_at_base(gm_t *g)
{
    hl_runtime_usage_t u;
    hl_runtime_usage(g->rt, &u);
    if (u.objects != g->base.objects || u.obj_blocks != g->base.obj_blocks
        || u.mem_blocks != g->base.mem_blocks)
        gm_fail(g, "leak: objects %zd, OBJ blocks %zd, MEM blocks %zd after everything was "
                "released and collected; %zd, %zd, %zd at set-up",
                u.objects, u.obj_blocks, u.mem_blocks, g->base.objects, g->base.obj_blocks,
                g->base.mem_blocks);
}

void gm_fini(gm_t *g)
{
    hl_runtime_destroy(g->rt);
    g->rt = NULL;
}

/* ---- nodes ---------------------------------------------------------------------------- */

static int alloc_slot(const gm_t *g)
{
    for (int i = 0; i < GM_MAXN; i++)
        if (g->node[i].state == GM_FREE || g->node[i].state == GM_DEAD)
            return i;
    return -1;
}

static void node_reset(gm_node_t *n)
{
    memset(n, 0, sizeof *n);
    n->ref = n->cb = -1;
    n->gen = GM_UNTRACKED;
    memset(n->wr, -1, sizeof n->wr);
    memset(n->key, -1, sizeof n->key);
    memset(n->item, -1, sizeof n->item);
}

/* A new object from the runtime becomes node `slot` with one reference,
 * the program's. */
static gm_node_t *node_new(gm_t *g, int slot, hl_object_t *o, int kind, int gen)
{
    if (o == NULL)
        gm_fail(g, "the runtime returned NULL making a %s (error %d: %s)", kind_names[kind],
                (int)hl_runtime_error(g->rt), hl_runtime_error_message(g->rt));
    int j = map_find(g, o);
    if (j >= 0)
        gm_fail(g, "new %s at %p, the address of %s, which is alive in the model "
                "(freed early, or a block handed out twice)",
                kind_names[kind], (void *)o, gm_name(g, j));
    if (hl_kind(o) != (hl_kind_t)kind)
        gm_fail(g, "new %s is a %s", kind_names[kind], hl_type_name(o));
    gm_node_t *n = &g->node[slot];
    node_reset(n);
    n->obj = o;
    n->rc = 1;
    n->ext = 1;
    n->state = GM_ALIVE;
    n->kind = (uint8_t)kind;
    n->gen = (int8_t)gen;
    map_insert(g, slot);
    live_add(g, slot);
    g->count++;
    return n;
}

static void untrack(gm_t *g, int i)
{
    g->node[i].gen = GM_UNTRACKED;
}

/* _PyObject_GC_TRACK: to the end of generation 0. */
static void track0(gm_t *g, int i)
{
    g->node[i].gen = 0;
}

/* The object is gone: memory freed or parked on a free list. */
static void die(gm_t *g, int i)
{
    gm_node_t *n = &g->node[i];
    if (n->flags & (GM_STATIC | GM_PINNED))
        gm_fail(g, "model: %s deallocated", gm_name(g, i));
    n->gen = GM_UNTRACKED;
    g->count--;
    if (n->flags & GM_TEMP) {
        n->state = GM_FREE;
        g->ntemp--;
    }
    else {
        n->state = GM_DEAD;
        map_remove(g, i);
        live_remove(g, i);
    }
}

/* A static node nothing refers to any more: the object stays (the runtime
 * holds it), the node goes. */
static void recycle_static(gm_t *g, int i)
{
    gm_node_t *n = &g->node[i];
    if (n->kind == HL_KIND_INT)
        g->small_int[n->val + 5] = -1;
    else
        g->empty_tuple = -1;
    map_remove(g, i);
    live_remove(g, i);
    n->state = GM_FREE;
}

static void dealloc(gm_t *g, int i);

void gm_incref(gm_t *g, int i)
{
    gm_node_t *n = &g->node[i];
    if (n->state != GM_ALIVE)
        gm_fail(g, "model: incref of %s, which is not alive", gm_name(g, i));
    n->rc++;
    gm_dirty(g, i);
}

void gm_decref(gm_t *g, int i)
{
    gm_node_t *n = &g->node[i];
    if (n->state != GM_ALIVE || n->rc <= 0)
        gm_fail(g, "model: decref of %s at refcount %d", gm_name(g, i), n->rc);
    n->rc--;
    gm_dirty(g, i);
    if (n->flags & (GM_STATIC | GM_PINNED)) {
        if (n->rc <= 0)
            gm_fail(g, "model: %s lost the runtime's own reference", gm_name(g, i));
        if ((n->flags & GM_STATIC) && n->rc == 1 && n->ext == 0)
            recycle_static(g, i);
        return;
    }
    if (n->rc == 0)
        dealloc(g, i);
}

void gm_drop_model(gm_t *g, int i)
{
    if (g->node[i].ext <= 0)
        gm_fail(g, "model: dropping a reference to %s, which the program does not hold",
                gm_name(g, i));
    g->node[i].ext--;
    gm_decref(g, i);
}

/* ---- the trashcan (Py_TRASHCAN_BEGIN/END) ------------------------------------------------ */

static bool trash_begin(gm_t *g, int i)
{
    if (g->nesting >= GM_TRASH_LEVEL) {
        /* _PyTrash_thread_deposit_object */
        g->trash[g->ntrash++] = (int8_t)i;
        g->node[i].state = GM_PARKED;
        return true;
    }
    g->nesting++;
    return false;
}

static void trash_end(gm_t *g)
{
    g->nesting--;
    if (g->ntrash > 0 && g->nesting <= 0) {
        /* _PyTrash_thread_destroy_chain: last deposited first, nesting
         * held at 1 so the loop does not recurse into itself. */
        g->nesting++;
        while (g->ntrash > 0) {
            int i = g->trash[--g->ntrash];
            g->node[i].state = GM_ALIVE;
            dealloc(g, i);
        }
        g->nesting--;
    }
}

/* ---- weakrefs --------------------------------------------------------------------------- */

/* Off its referent's list, referent None (clear_weakref's first half). */
static void unlink_weakref(gm_t *g, int w)
{
    gm_node_t *n = &g->node[w];
    if (n->ref < 0)
        return;
    gm_node_t *r = &g->node[n->ref];
    int j = 0;
    while (j < r->nwr && r->wr[j] != w)
        j++;
    if (j == r->nwr)
        gm_fail(g, "model: %s not on %s's weakref list", gm_name(g, w), gm_name(g, n->ref));
    memmove(&r->wr[j], &r->wr[j + 1], (size_t)(r->nwr - j - 1));
    r->wr[--r->nwr] = -1;
    gm_cdirty(g, n->ref);
    gm_cdirty(g, w);
    n->ref = -1;
}

void gm_weakref_clear_ref(gm_t *g, int w)
{
    unlink_weakref(g, w);
}

/* clear_weakref: unlinked, then the callback released. */
static void clear_weakref(gm_t *g, int w)
{
    unlink_weakref(g, w);
    int cb = g->node[w].cb;
    if (cb >= 0) {
        g->node[w].cb = -1;
        gm_cdirty(g, w);
        gm_decref(g, cb);
    }
}

static int alloc_temp(gm_t *g)
{
    for (int i = GM_GARBAGE + 1; i < GM_NSLOT; i++)
        if (g->node[i].state == GM_FREE)
            return i;
    gm_fail(g, "model: out of temporary nodes");
}

/* PyObject_ClearWeakRefs of a dying instance. */
static void clear_weakrefs(gm_t *g, int i)
{
    gm_node_t *o = &g->node[i];
    /* Remove the callback-less basic reference */
    if (o->nwr > 0 && g->node[o->wr[0]].cb < 0)
        clear_weakref(g, o->wr[0]);
    if (o->nwr == 0)
        return;
    int count = o->nwr;
    if (count == 1) {
        int w = o->wr[0];
        int cb = g->node[w].cb;
        g->node[w].cb = -1;
        clear_weakref(g, w);
        if (cb >= 0) {
            if (g->node[w].rc > 0)
                gm_event(g, GM_EV_WRCB, w);
            gm_decref(g, cb);
        }
        return;
    }
    /* Several: a tuple of (weakref, callback) pairs, all cleared before
     * any callback runs; releasing the tuple releases them last to first. */
    int t = alloc_temp(g);
    gm_node_t *tn = &g->node[t];
    node_reset(tn);
    tn->state = GM_ALIVE;
    tn->kind = HL_KIND_TUPLE;
    tn->flags = GM_TEMP;
    g->ntemp++;
    tn->rc = 1;
    tn->gen = 0;
    tn->n = (uint8_t)(2 * count);
    g->count++;
    int8_t cur[GM_WR_MAX];
    memcpy(cur, o->wr, (size_t)count);
    for (int k = 0; k < count; k++) {
        int w = cur[k];
        if (g->node[w].rc <= 0)
            gm_fail(g, "model: %s on a weakref list at refcount 0", gm_name(g, w));
        gm_incref(g, w);
        tn->item[2 * k] = (int8_t)w;
        tn->item[2 * k + 1] = g->node[w].cb; /* the reference moves to the tuple */
        g->node[w].cb = -1;
        clear_weakref(g, w);
    }
    for (int k = 0; k < count; k++)
        if (tn->item[2 * k + 1] >= 0)
            gm_event(g, GM_EV_WRCB, tn->item[2 * k]);
    gm_decref(g, t);
}

/* ---- deallocation (tp_dealloc of each type) ------------------------------------------------ */

/* list_dealloc, tupledealloc: items last to first. */
static void seq_dealloc(gm_t *g, int i)
{
    untrack(g, i);
    if (trash_begin(g, i))
        return;
    gm_node_t *n = &g->node[i];
    int8_t items[GM_ITEMS_MAX];
    int cnt = n->n;
    memcpy(items, n->item, (size_t)cnt);
    n->n = 0;
    for (int k = cnt - 1; k >= 0; k--)
        if (items[k] >= 0)
            gm_decref(g, items[k]);
    die(g, i);
    trash_end(g);
}

/* dict_dealloc: free_keys_object releases each entry's key, then value. */
static void dict_release_entries(gm_t *g, int i)
{
    gm_node_t *n = &g->node[i];
    int8_t keys[GM_DICT_MAX], vals[GM_DICT_MAX];
    int cnt = n->n;
    memcpy(keys, n->key, (size_t)cnt);
    memcpy(vals, n->item, (size_t)cnt);
    memset(n->key, -1, sizeof n->key);
    memset(n->item, -1, (size_t)cnt);
    n->n = 0;
    gm_cdirty(g, i);
    for (int k = 0; k < cnt; k++) {
        gm_decref(g, keys[k]);
        gm_decref(g, vals[k]);
    }
}

static void dict_dealloc(gm_t *g, int i)
{
    untrack(g, i);
    if (trash_begin(g, i))
        return;
    dict_release_entries(g, i);
    die(g, i);
    trash_end(g);
}

static void callable_dealloc(gm_t *g, int i)
{
    untrack(g, i);
    if (trash_begin(g, i))
        return;
    int s = g->node[i].ref;
    g->node[i].ref = -1;
    if (s >= 0)
        gm_decref(g, s);
    die(g, i);
    trash_end(g);
}

static void weakref_dealloc(gm_t *g, int i)
{
    untrack(g, i);
    clear_weakref(g, i);
    die(g, i);
}

bool gm_has_finalize(const gm_t *g, int i)
{
    const gm_node_t *n = &g->node[i];
    return n->kind == HL_KIND_INSTANCE
           && (n->type == GM_T_FIN || n->type == GM_T_RES || n->type == GM_T_FINDEL);
}

bool gm_has_del(const gm_t *g, int i)
{
    const gm_node_t *n = &g->node[i];
    return n->kind == HL_KIND_INSTANCE && (n->type == GM_T_DEL || n->type == GM_T_FINDEL);
}

/* subtype_dealloc. */
static void instance_dealloc(gm_t *g, int i)
{
    gm_node_t *n = &g->node[i];
    bool has_fin = gm_has_finalize(g, i), has_del = gm_has_del(g, i);
    untrack(g, i);
    if (trash_begin(g, i))
        return;
    gm_dirty(g, i);
    gm_cdirty(g, i);
    if (has_fin) {
        /* tracked again around PyObject_CallFinalizerFromDealloc, which
         * revives the object (refcount 1) for the call */
        track0(g, i);
        n->rc = 1;
        if (!n->finalized) {
            gm_event(g, GM_EV_FINALIZE, i);
            if (n->type == GM_T_RES) {
                n->ext++;
                n->rc++;
            }
            n->finalized = 1;
        }
        if (--n->rc != 0) {
            /* Resurrected: stays alive, tracked in generation 0. */
            trash_end(g);
            return;
        }
        untrack(g, i);
    }
    clear_weakrefs(g, i);
    if (has_del) {
        track0(g, i);
        n->rc = 1; /* slot_tp_del's temporary resurrection */
        gm_event(g, GM_EV_DEL, i);
        if (--n->rc != 0) {
            trash_end(g);
            return;
        }
        untrack(g, i);
    }
    if ((has_fin || has_del) && n->nwr != 0)
        gm_fail(g, "model: %s has weakrefs made by its finalizer", gm_name(g, i));
    for (int s = 0; s < n->n; s++) {
        int v = n->item[s];
        if (v >= 0) {
            n->item[s] = -1;
            gm_decref(g, v);
        }
    }
    die(g, i);
    trash_end(g);
}

static void dealloc(gm_t *g, int i)
{
    g->node[i].deallocs++;
    switch (g->node[i].kind) {
    case HL_KIND_LIST:
    case HL_KIND_TUPLE: seq_dealloc(g, i); break;
    case HL_KIND_DICT: dict_dealloc(g, i); break;
    case HL_KIND_INSTANCE: instance_dealloc(g, i); break;
    case HL_KIND_WEAKREF: weakref_dealloc(g, i); break;
    case HL_KIND_CALLABLE: callable_dealloc(g, i); break;
    default: die(g, i); break; /* int, float, str */
    }
}

/* ---- tp_clear, tp_traverse -------------------------------------------------------------------- */

/* _list_clear: emptied first, then the items released last to first. */
static void list_clear_model(gm_t *g, int i)
{
    gm_node_t *n = &g->node[i];
    int8_t items[GM_ITEMS_MAX];
    int cnt = n->n;
    memcpy(items, n->item, (size_t)cnt);
    memset(n->item, -1, (size_t)cnt);
    n->n = 0;
    gm_cdirty(g, i);
    for (int k = cnt - 1; k >= 0; k--)
        gm_decref(g, items[k]);
}

bool gm_tp_clear(gm_t *g, int i)
{
    gm_node_t *n = &g->node[i];
    switch (n->kind) {
    case HL_KIND_LIST: list_clear_model(g, i); return true;
    case HL_KIND_DICT: dict_release_entries(g, i); return true;   /* dict_clear_impl */
    case HL_KIND_INSTANCE:                                        /* subtype_clear */
        gm_cdirty(g, i);
        for (int s = 0; s < n->n; s++) {
            int v = n->item[s];
            if (v >= 0) {
                n->item[s] = -1;
                gm_decref(g, v);
            }
        }
        return true;
    case HL_KIND_WEAKREF: clear_weakref(g, i); return true;      /* gc_clear */
    case HL_KIND_CALLABLE: {                                      /* callable_clear */
        gm_cdirty(g, i);
        int s = n->ref;
        n->ref = -1;
        if (s >= 0)
            gm_decref(g, s);
        return true;
    }
    default: return false;
    }
}

int gm_traverse(const gm_t *g, int i, int8_t *out)
{
    const gm_node_t *n = &g->node[i];
    int k = 0;
    switch (n->kind) {
    case HL_KIND_LIST:
    case HL_KIND_TUPLE:
        for (int j = n->n - 1; j >= 0; j--)
            if (n->item[j] >= 0)
                out[k++] = n->item[j];
        break;
    case HL_KIND_DICT:           /* values only: keys are str */
    case HL_KIND_INSTANCE:
        for (int j = 0; j < n->n; j++)
            if (n->item[j] >= 0)
                out[k++] = n->item[j];
        break;
    case HL_KIND_WEAKREF:
        if (n->cb >= 0)
            out[k++] = n->cb;
        break;
    case HL_KIND_CALLABLE:
        if (n->ref >= 0)
            out[k++] = n->ref;
        break;
    default: break;
    }
    return k;
}

int gm_referents(const gm_t *g, int i, int8_t *out)
{
    int k = gm_traverse(g, i, out);
    const gm_node_t *n = &g->node[i];
    if (n->kind == HL_KIND_DICT)
        for (int j = 0; j < n->n; j++)
            out[k++] = n->key[j];
    return k;
}

static bool kind_is_gc(int kind)
{
    return kind == HL_KIND_TUPLE || kind == HL_KIND_LIST || kind == HL_KIND_DICT
           || kind == HL_KIND_INSTANCE || kind == HL_KIND_WEAKREF || kind == HL_KIND_CALLABLE;
}

bool gm_may_be_tracked(const gm_t *g, int i)
{
    const gm_node_t *n = &g->node[i];
    return kind_is_gc(n->kind) && (n->kind != HL_KIND_TUPLE || n->gen != GM_UNTRACKED);
}

void gm_list_append_model(gm_t *g, int l, int v)
{
    gm_node_t *n = &g->node[l];
    if (n->n >= GM_ITEMS_MAX)
        gm_fail(g, "model: %s is full", gm_name(g, l));
    gm_incref(g, v);
    n->item[n->n++] = (int8_t)v;
    gm_cdirty(g, l);
}

/* ---- operands ---------------------------------------------------------------------------------- */

static int pick_where(const gm_t *g, unsigned byte, unsigned kinds, bool need_items,
                      bool need_ext)
{
    unsigned start = byte % GM_MAXN;
    if (!need_items && !need_ext) {
        /* the first set bit at or after start, wrapping */
        uint64_t m = 0;
        for (int k = 0; k < 9; k++)
            if (kinds & (1u << k))
                m |= g->kind_mask[k];
        if (m == 0)
            return -1;
        uint64_t hi = start ? m & (~(uint64_t)0 << start) : m;
        return hi ? __builtin_ctzll(hi) : __builtin_ctzll(m);
    }
    for (unsigned k = 0; k < GM_MAXN; k++) {
        int i = (int)((start + k) % GM_MAXN);
        const gm_node_t *n = &g->node[i];
        if (n->state != GM_ALIVE || !(kinds & (1u << n->kind)))
            continue;
        if (need_items && n->n == 0)
            continue;
        if (need_ext && n->ext == 0)
            continue;
        return i;
    }
    return -1;
}

int gm_pick(const gm_t *g, unsigned byte, unsigned kinds)
{
    return pick_where(g, byte, kinds, false, false);
}

int gm_pick_ext(const gm_t *g, unsigned byte)
{
    return pick_where(g, byte, GM_ANY, false, true);
}

/* gc_fuzz: an operand of an allocating call is held by the program (as on
 * Python's value stack) for the duration, so a collection the allocation
 * triggers sees it as referenced from outside. */
static void hold(gm_t *g, int i)
{
    if (i < 0 || !g->gc_mode)
        return;
    hl_incref(g->node[i].obj);
    g->node[i].ext++;
    gm_incref(g, i);
}

static void unhold(gm_t *g, int i)
{
    if (i < 0 || !g->gc_mode)
        return;
    hl_decref(g->rt, g->node[i].obj);
    gm_drop_model(g, i);
}

/* gc_fuzz: automatic collection happens only in _PyObject_GC_Link, at the
 * allocation of a GC object.  The runtime's switch is on only inside the
 * calls that allocate one (and only when the program's gc.isenabled() is
 * true), so a collection can start only where the model is in step: before
 * the call has done anything.  Elsewhere -- PyObject_ClearWeakRefs
 * allocates a tuple in the middle of a deallocation -- it is off, as if the
 * program wrapped every other statement in gc.disable()/gc.enable(). */
static void window_open(gm_t *g)
{
    g->auto_window = true;
    if (g->gc_enabled)
        hl_gc_enable(g->rt);
}

static void window_close(gm_t *g)
{
    if (g->gc_enabled)
        hl_gc_disable(g->rt);
    g->auto_window = false;
}

static void expect_error(gm_t *g, hl_error_t want, const char *call)
{
    hl_error_t got = hl_runtime_error(g->rt);
    if (got != want)
        gm_fail(g, "%s: error %d (%s), expected %d", call, (int)got,
                hl_runtime_error_message(g->rt), (int)want);
    hl_runtime_clear_error(g->rt);
}

static const char *text_of(int t)
{
    static const char *const texts[GM_NTEXT] = {
        "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7",
        "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15",
    };
    return texts[t];
}

/* ---- the graph operations ------------------------------------------------------------------------ */

static void op_new_int(gm_t *g, uint8_t a, uint8_t b, uint8_t c)
{
    if (!(c & 1)) {
        int64_t v = 300 + (int64_t)a + 256 * (int64_t)b; /* never cached */
        int slot = alloc_slot(g);
        if (slot < 0)
            return;
        hl_object_t *o = hl_int_new(g->rt, v);
        node_new(g, slot, o, HL_KIND_INT, GM_UNTRACKED)->val = (int16_t)(v & 0x7fff);
        return;
    }
    int v = (int)(a % 262) - 5; /* the small-int cache */
    int j = g->small_int[v + 5], slot = -1;
    if (j < 0 && (slot = alloc_slot(g)) < 0)
        return;
    hl_object_t *o = hl_int_new(g->rt, v);
    if (j >= 0) {
        if (o != g->node[j].obj)
            gm_fail(g, "int %d is %p, but the cached one is %s", v, (void *)o, gm_name(g, j));
        g->node[j].ext++;
        gm_incref(g, j);
        return;
    }
    gm_node_t *n = node_new(g, slot, o, HL_KIND_INT, GM_UNTRACKED);
    g->count--; /* static: never counted */
    n->flags = GM_STATIC;
    n->rc = 2;  /* the runtime's and the program's */
    n->val = (int16_t)v;
    g->small_int[v + 5] = (int8_t)slot;
}

static void op_new_tuple(gm_t *g, uint8_t a, uint8_t b, uint8_t c)
{
    int nitems = b % (GM_TUPLE_MAX + 1);
    int items[GM_TUPLE_MAX];
    hl_object_t *objs[GM_TUPLE_MAX];
    for (int k = 0; k < nitems; k++) {
        items[k] = gm_pick(g, a + (unsigned)k * (1u + c % 7u), GM_ANY);
        if (items[k] < 0) {
            nitems = k;
            break;
        }
        objs[k] = g->node[items[k]].obj;
    }
    if (nitems == 0) {
        /* () is a singleton */
        int j = g->empty_tuple, slot = -1;
        if (j < 0 && (slot = alloc_slot(g)) < 0)
            return;
        hl_object_t *o = hl_tuple_new(g->rt, 0, NULL);
        if (j >= 0) {
            if (o != g->node[j].obj)
                gm_fail(g, "() is %p, not the singleton %s", (void *)o, gm_name(g, j));
            g->node[j].ext++;
            gm_incref(g, j);
            return;
        }
        gm_node_t *n = node_new(g, slot, o, HL_KIND_TUPLE, GM_UNTRACKED);
        g->count--;
        n->flags = GM_STATIC;
        n->rc = 2;
        g->empty_tuple = (int8_t)slot;
        return;
    }
    int slot = alloc_slot(g);
    if (slot < 0)
        return;
    for (int k = 0; k < nitems; k++)
        hold(g, items[k]);
    window_open(g);
    hl_object_t *o = hl_tuple_new(g->rt, (size_t)nitems, objs);
    window_close(g);
    gm_node_t *n = node_new(g, slot, o, HL_KIND_TUPLE, 0);
    n->n = (uint8_t)nitems;
    for (int k = 0; k < nitems; k++) {
        n->item[k] = (int8_t)items[k];
        gm_incref(g, items[k]);
    }
    for (int k = nitems - 1; k >= 0; k--)
        unhold(g, items[k]);
}

static void op_new_weakref(gm_t *g, uint8_t a, uint8_t b, uint8_t c)
{
    int r = (b & 0x80) ? gm_pick(g, a, GM_ANY) : gm_pick(g, a, 1u << HL_KIND_INSTANCE);
    if (r < 0)
        return;
    int cb = (b & 1) ? gm_pick(g, c, 1u << HL_KIND_CALLABLE) : -1;
    hl_object_t *cbo = cb >= 0 ? g->node[cb].obj : NULL;
    gm_node_t *rn = &g->node[r];
    if (rn->kind != HL_KIND_INSTANCE) {
        hold(g, r);
        hold(g, cb);
        hl_object_t *o = hl_weakref_new(g->rt, rn->obj, cbo);
        if (o != NULL)
            gm_fail(g, "weakref to %s succeeded", gm_name(g, r));
        expect_error(g, HL_ERR_TYPE, "weakref.ref(non-instance)");
        unhold(g, cb);
        unhold(g, r);
        return;
    }
    /* With no callback, an existing basic reference is shared. */
    bool reuse = cb < 0 && rn->nwr > 0 && g->node[rn->wr[0]].cb < 0;
    int slot = -1;
    if (!reuse) {
        if (rn->nwr >= GM_WR_MAX)
            return;
        if ((slot = alloc_slot(g)) < 0)
            return;
    }
    hold(g, r);
    hold(g, cb);
    if (!reuse)
        window_open(g);
    hl_object_t *o = hl_weakref_new(g->rt, rn->obj, cbo);
    window_close(g);
    if (reuse) {
        int w = rn->wr[0];
        if (o != g->node[w].obj)
            gm_fail(g, "weakref.ref(%s) is %p, not its basic reference %s", gm_name(g, r),
                    (void *)o, gm_name(g, w));
        g->node[w].ext++;
        gm_incref(g, w);
    }
    else {
        gm_node_t *n = node_new(g, slot, o, HL_KIND_WEAKREF, 0);
        n->ref = (int8_t)r;
        n->cb = (int8_t)cb;
        if (cb >= 0)
            gm_incref(g, cb);
        /* insert_head, or insert_after the basic reference (looked at
         * after the allocation, as the runtime does: a collection there
         * may have cleared weakrefs of the list) */
        int pos = 0;
        if (cb >= 0 && rn->nwr > 0 && g->node[rn->wr[0]].cb < 0)
            pos = 1;
        memmove(&rn->wr[pos + 1], &rn->wr[pos], (size_t)(rn->nwr - pos));
        rn->wr[pos] = (int8_t)slot;
        rn->nwr++;
        gm_cdirty(g, r);
    }
    unhold(g, cb);
    unhold(g, r);
}

void gm_hold(gm_t *g, int i) { hold(g, i); }
void gm_unhold(gm_t *g, int i) { unhold(g, i); }
void gm_window_open(gm_t *g) { window_open(g); }
void gm_window_close(gm_t *g) { window_close(g); }

static void op_new_other(gm_t *g, int op, uint8_t a, uint8_t b)
{
    int slot = alloc_slot(g);
    if (slot < 0)
        return;
    hl_runtime_t *rt = g->rt;
    switch (op) {
    case GM_OP_NEW_FLOAT:
        node_new(g, slot, hl_float_new(rt, (double)a), HL_KIND_FLOAT, GM_UNTRACKED)->val = a;
        break;
    case GM_OP_NEW_STR: {
        int t = a % GM_NTEXT;
        node_new(g, slot, hl_str_from_cstr(rt, text_of(t)), HL_KIND_STR, GM_UNTRACKED)->val =
            (int16_t)t;
        break;
    }
    case GM_OP_NEW_LIST: {
        window_open(g);
        hl_object_t *o = hl_list_new(rt);
        window_close(g);
        node_new(g, slot, o, HL_KIND_LIST, 0);
        break;
    }
    case GM_OP_NEW_DICT: {
        window_open(g);
        hl_object_t *o = hl_dict_new(rt);
        window_close(g);
        node_new(g, slot, o, HL_KIND_DICT, GM_UNTRACKED); /* tracked on a GC value */
        break;
    }
    case GM_OP_NEW_INSTANCE: {
        int t = a % GM_NTYPES, nslots = b % (GM_SLOTS_MAX + 1);
        window_open(g);
        hl_object_t *o = hl_instance_new(rt, g->types[t], (size_t)nslots);
        window_close(g);
        gm_node_t *n = node_new(g, slot, o, HL_KIND_INSTANCE, 0);
        n->type = (uint8_t)t;
        n->n = (uint8_t)nslots;
        break;
    }
    case GM_OP_NEW_CALLABLE: {
        int s = (b & 1) ? gm_pick(g, a, GM_ANY) : -1;
        hold(g, s);
        window_open(g);
        hl_object_t *o = hl_callable_new(rt, hook_weakref_callback, s >= 0 ? g->node[s].obj : NULL,
                                         g);
        window_close(g);
        gm_node_t *n = node_new(g, slot, o, HL_KIND_CALLABLE, 0);
        n->ref = (int8_t)s;
        if (s >= 0)
            gm_incref(g, s);
        unhold(g, s);
        break;
    }
    default: break;
    }
}

static int dict_find(const gm_t *g, int d, int text)
{
    const gm_node_t *n = &g->node[d];
    for (int e = 0; e < n->n; e++)
        if (g->node[n->key[e]].val == text)
            return e;
    return -1;
}

void gm_exec(gm_t *g, int op, uint8_t a, uint8_t b, uint8_t c)
{
    hl_runtime_t *rt = g->rt;
    g->what = gm_op_names[op];
    switch (op) {
    case GM_OP_NEW_INT: op_new_int(g, a, b, c); break;
    case GM_OP_NEW_TUPLE: op_new_tuple(g, a, b, c); break;
    case GM_OP_NEW_WEAKREF: op_new_weakref(g, a, b, c); break;
    case GM_OP_NEW_FLOAT:
    case GM_OP_NEW_STR:
    case GM_OP_NEW_LIST:
    case GM_OP_NEW_DICT:
    case GM_OP_NEW_INSTANCE:
    case GM_OP_NEW_CALLABLE: op_new_other(g, op, a, b); break;

    case GM_OP_LIST_APPEND: {   /* l.append(v) */
        int l = gm_pick(g, a, 1u << HL_KIND_LIST), v = gm_pick(g, b, GM_ANY);
        if (l < 0 || v < 0 || g->node[l].n >= GM_LIST_MAX)
            return;
        if (hl_list_append(rt, g->node[l].obj, g->node[v].obj) != 0)
            gm_fail(g, "append to %s failed", gm_name(g, l));
        gm_list_append_model(g, l, v);
        break;
    }
    case GM_OP_LIST_SET: {      /* l[i] = v */
        int l = pick_where(g, a, 1u << HL_KIND_LIST, true, false), v = gm_pick(g, b, GM_ANY);
        if (l < 0 || v < 0)
            return;
        gm_node_t *n = &g->node[l];
        int i = c % n->n;
        hl_list_set(rt, n->obj, (size_t)i, g->node[v].obj);
        gm_cdirty(g, l);
        gm_incref(g, v);
        int old = n->item[i];
        n->item[i] = (int8_t)v;
        gm_decref(g, old);
        break;
    }
    case GM_OP_LIST_POP: {      /* v = l.pop(i): the list's reference moves to the program */
        int l = gm_pick(g, a, 1u << HL_KIND_LIST);
        if (l < 0)
            return;
        gm_node_t *n = &g->node[l];
        if (n->n == 0) {
            if (hl_list_pop(rt, n->obj, (int64_t)(int8_t)c) != NULL)
                gm_fail(g, "pop from empty %s succeeded", gm_name(g, l));
            expect_error(g, HL_ERR_INDEX, "pop from empty list");
            return;
        }
        int i = c % n->n;
        int64_t arg;
        switch (b & 3) {
        case 0: arg = i; break;
        case 1: arg = (int64_t)i - n->n; break;
        case 2: arg = -1; i = n->n - 1; break;
        default: arg = n->n + (c & 7); i = -1; break; /* out of range */
        }
        hl_object_t *o = hl_list_pop(rt, n->obj, arg);
        if (i < 0) {
            if (o != NULL)
                gm_fail(g, "pop(%lld) from %s of %d items succeeded", (long long)arg,
                        gm_name(g, l), n->n);
            expect_error(g, HL_ERR_INDEX, "pop index out of range");
            return;
        }
        int v = n->item[i];
        if (o != g->node[v].obj)
            gm_fail(g, "pop(%lld) from %s returned %p, expected %s", (long long)arg,
                    gm_name(g, l), (void *)o, gm_name(g, v));
        memmove(&n->item[i], &n->item[i + 1], (size_t)(n->n - i - 1));
        n->item[--n->n] = -1;
        gm_cdirty(g, l);
        g->node[v].ext++;
        break;
    }
    case GM_OP_LIST_CLEAR: {
        int l = gm_pick(g, a, 1u << HL_KIND_LIST);
        if (l < 0)
            return;
        hl_list_clear(rt, g->node[l].obj);
        list_clear_model(g, l);
        break;
    }
    case GM_OP_DICT_SET: {      /* d[k] = v, k a str */
        int d = gm_pick(g, a, 1u << HL_KIND_DICT), v = gm_pick(g, b, GM_ANY),
            k = gm_pick(g, c, 1u << HL_KIND_STR);
        if (d < 0 || v < 0 || k < 0)
            return;
        gm_node_t *n = &g->node[d];
        int e = dict_find(g, d, g->node[k].val);
        if (e < 0 && n->n >= GM_DICT_MAX)
            return;
        if (hl_dict_setitem(rt, n->obj, g->node[k].obj, g->node[v].obj) != 0)
            gm_fail(g, "setitem on %s failed", gm_name(g, d));
        gm_cdirty(g, d);
        gm_incref(g, k);
        gm_incref(g, v);
        /* MAINTAIN_TRACKING (a str key never may be tracked) */
        if (n->gen == GM_UNTRACKED && gm_may_be_tracked(g, v))
            track0(g, d);
        if (e < 0) {
            n->key[n->n] = (int8_t)k;
            n->item[n->n] = (int8_t)v;
            n->n++;
        }
        else {
            int old = n->item[e];
            n->item[e] = (int8_t)v;
            gm_decref(g, old);
            gm_decref(g, k); /* the key stored first stays */
        }
        break;
    }
    case GM_OP_DICT_DEL: {      /* del d["sN"] */
        int d = gm_pick(g, a, 1u << HL_KIND_DICT);
        if (d < 0)
            return;
        gm_node_t *n = &g->node[d];
        int t = c % GM_NTEXT, e = dict_find(g, d, t);
        int r = hl_dict_delitem_cstr(rt, n->obj, text_of(t));
        if (e < 0) {
            if (r == 0)
                gm_fail(g, "del %s[%s] succeeded, but the key is not there", gm_name(g, d),
                        text_of(t));
            expect_error(g, HL_ERR_KEY, "del d[missing]");
            return;
        }
        if (r != 0)
            gm_fail(g, "del %s[%s] failed", gm_name(g, d), text_of(t));
        int k = n->key[e], v = n->item[e];
        gm_cdirty(g, d);
        memmove(&n->key[e], &n->key[e + 1], (size_t)(n->n - e - 1));
        memmove(&n->item[e], &n->item[e + 1], (size_t)(n->n - e - 1));
        n->n--;
        n->key[n->n] = n->item[n->n] = -1;
        gm_decref(g, k);
        gm_decref(g, v);
        break;
    }
    case GM_OP_DICT_CLEAR: {
        int d = gm_pick(g, a, 1u << HL_KIND_DICT);
        if (d < 0)
            return;
        hl_dict_clear(rt, g->node[d].obj);
        dict_release_entries(g, d);
        break;
    }
    case GM_OP_SLOT_SET:        /* o.slot = v */
    case GM_OP_SLOT_CLEAR: {    /* o.slot = None */
        int o = pick_where(g, a, 1u << HL_KIND_INSTANCE, true, false);
        int v = op == GM_OP_SLOT_SET ? gm_pick(g, b, GM_ANY) : -1;
        if (o < 0 || (op == GM_OP_SLOT_SET && v < 0))
            return;
        gm_node_t *n = &g->node[o];
        int s = c % n->n;
        hl_instance_set(rt, n->obj, (size_t)s, v >= 0 ? g->node[v].obj : NULL);
        gm_cdirty(g, o);
        if (v >= 0)
            gm_incref(g, v);
        int old = n->item[s];
        n->item[s] = (int8_t)v;
        if (old >= 0)
            gm_decref(g, old);
        break;
    }
    case GM_OP_DROP: {          /* del name */
        int x = gm_pick_ext(g, a);
        if (x < 0)
            return;
        hl_decref(rt, g->node[x].obj);
        gm_drop_model(g, x);
        break;
    }
    case GM_OP_ALIAS: {         /* name2 = name */
        int x = gm_pick(g, a, GM_ANY);
        if (x < 0)
            return;
        hl_incref(g->node[x].obj);
        g->node[x].ext++;
        gm_incref(g, x);
        break;
    }
    default:
        gm_fail(g, "not a graph op: %d", op);
    }
}

/* ---- oracles ------------------------------------------------------------------------------------------ */

void gm_check_events(gm_t *g)
{
    if (!g->modeled) {
        g->nwant = g->ngot = g->nres = 0;
        return;
    }
    int n = g->nwant < g->ngot ? g->nwant : g->ngot;
    for (int k = 0; k < n; k++) {
        const gm_event_t *w = &g->want[k], *r = &g->got[k];
        if (w->kind != r->kind || w->ptr != r->ptr) {
            int j = map_find(g, r->ptr);
            gm_fail(g, "event %d: the runtime ran the %s of %p%s%s, the model expects the %s of %s",
                    k, event_names[r->kind], (void *)r->ptr, j >= 0 ? " = " : "",
                    j >= 0 ? gm_name(g, j) : "", event_names[w->kind], gm_name(g, w->node));
        }
    }
    if (g->nwant > n)
        gm_fail(g, "event %d: the model expects the %s of %s, the runtime ran no more (%d events)",
                n, event_names[g->want[n].kind], gm_name(g, g->want[n].node), g->ngot);
    if (g->ngot > n) {
        int j = map_find(g, g->got[n].ptr);
        gm_fail(g, "event %d: the runtime ran the %s of %p%s%s, which the model does not expect",
                n, event_names[g->got[n].kind], (void *)g->got[n].ptr, j >= 0 ? " = " : "",
                j >= 0 ? gm_name(g, j) : "");
    }
    g->nwant = g->ngot = g->nres = 0;
}

void gm_walk(gm_t *g, gm_walk_t *w)
{
    GCState *gcstate = &g->rt->gc;
    memset(w->gen_of, GM_UNTRACKED, sizeof w->gen_of);
    for (int gen = 0; gen < 4; gen++) {
        PyGC_Head *head = gen < NUM_GENERATIONS ? GEN_HEAD(gcstate, gen)
                                                : &gcstate->permanent_generation.head;
        w->n[gen] = 0;
        for (PyGC_Head *gc = GC_NEXT(head); gc != head; gc = GC_NEXT(gc)) {
            hl_object_t *op = FROM_GC(gc);
            int i = map_find(g, op);
            if (i < 0)
                gm_fail(g, "%p (a %s) is on the list of generation %d, but the model has no "
                        "such object alive",
                        (void *)op, hl_type_name(op), gen);
            if (w->gen_of[i] != GM_UNTRACKED)
                gm_fail(g, "%s is on the generation lists twice (%d and %d)", gm_name(g, i),
                        w->gen_of[i], gen);
            w->gen_of[i] = (int8_t)gen;
            w->list[gen][w->n[gen]++] = (int8_t)i;
        }
    }
}

static const char *gen_name(int gen)
{
    static const char *const names[] = {"untracked", "generation 0", "generation 1",
                                        "generation 2", "the permanent generation",
                                        "in flight"};
    return names[gen + 1];
}

void gm_check_gens(gm_t *g, const gm_walk_t *w)
{
    for (int k = 0; k < g->nlive; k++) {
        int i = g->live[k];
        if (w->gen_of[i] != g->node[i].gen)
            gm_fail(g, "%s is %s, the model has it %s", gm_name(g, i), gen_name(w->gen_of[i]),
                    gen_name(g->node[i].gen));
    }
}

/* The runtime's view of a node, read straight from its structures (the
 * layouts of types_internal.h): cheaper than the accessors, and it also
 * shows what they do not (the weakref list's order, callbacks, a
 * callable's bound object). */
static void check_contents(gm_t *g, int i)
{
    gm_node_t *n = &g->node[i];
    hl_object_t *o = n->obj;
    switch (n->kind) {
    case HL_KIND_LIST:
    case HL_KIND_TUPLE: {
        hl_object_t **items = n->kind == HL_KIND_LIST ? ((PyListObject *)o)->ob_item
                                                      : ((PyTupleObject *)o)->ob_item;
        if (Py_SIZE(o) != n->n)
            gm_fail(g, "%s has %zd items, the model %d", gm_name(g, i), Py_SIZE(o), n->n);
        for (int k = 0; k < n->n; k++)
            if (items[k] != g->node[n->item[k]].obj)
                gm_fail(g, "%s[%d] is %p, the model has %s", gm_name(g, i), k, (void *)items[k],
                        gm_name(g, n->item[k]));
        break;
    }
    case HL_KIND_DICT:
        if (hl_dict_size(o) != n->n)
            gm_fail(g, "%s has %zu entries, the model %d", gm_name(g, i), hl_dict_size(o), n->n);
        for (int k = 0; k < n->n; k++) {
            const char *t = text_of(g->node[n->key[k]].val);
            if (hl_dict_getitem_cstr(o, t) != g->node[n->item[k]].obj)
                gm_fail(g, "%s[%s] is %p, the model has %s", gm_name(g, i), t,
                        (void *)hl_dict_getitem_cstr(o, t), gm_name(g, n->item[k]));
        }
        break;
    case HL_KIND_INSTANCE: {
        hl_instance_object_t *io = (hl_instance_object_t *)o;
        if (Py_SIZE(o) != n->n)
            gm_fail(g, "%s has %zd slots, the model %d", gm_name(g, i), Py_SIZE(o), n->n);
        for (int k = 0; k < n->n; k++) {
            const hl_object_t *want = n->item[k] >= 0 ? g->node[n->item[k]].obj : NULL;
            if (io->slots[k] != want)
                gm_fail(g, "slot %d of %s is %p, the model has %s", k, gm_name(g, i),
                        (void *)io->slots[k], n->item[k] >= 0 ? gm_name(g, n->item[k]) : "None");
        }
        const PyWeakReference *wr = (const PyWeakReference *)io->weakreflist;
        for (int k = 0; k < n->nwr; k++, wr = wr->wr_next)
            if (wr == NULL || (const hl_object_t *)wr != g->node[n->wr[k]].obj)
                gm_fail(g, "weakref %d of %s is %p, the model has %s", k, gm_name(g, i),
                        (void *)wr, gm_name(g, n->wr[k]));
        if (wr != NULL)
            gm_fail(g, "%s has more than the %d weakrefs of the model", gm_name(g, i), n->nwr);
        if (_PyGCHead_FINALIZED(AS_GC(o)) != (n->finalized != 0))
            gm_fail(g, "%s is %sfinalized, the model says %s", gm_name(g, i),
                    n->finalized ? "not " : "", n->finalized ? "it is" : "it is not");
        break;
    }
    case HL_KIND_WEAKREF: {
        const PyWeakReference *wr = (const PyWeakReference *)o;
        const hl_object_t *ref = n->ref >= 0 ? g->node[n->ref].obj : NULL;
        const hl_object_t *cb = n->cb >= 0 ? g->node[n->cb].obj : NULL;
        if (wr->wr_object != ref)
            gm_fail(g, "%s refers to %p, the model to %s", gm_name(g, i), (void *)wr->wr_object,
                    n->ref >= 0 ? gm_name(g, n->ref) : "None");
        if (wr->wr_callback != cb)
            gm_fail(g, "%s has callback %p, the model %s", gm_name(g, i),
                    (void *)wr->wr_callback, n->cb >= 0 ? gm_name(g, n->cb) : "None");
        break;
    }
    case HL_KIND_CALLABLE: {
        const hl_object_t *self = n->ref >= 0 ? g->node[n->ref].obj : NULL;
        if (((const hl_callable_object_t *)o)->self != self)
            gm_fail(g, "%s is bound to %p, the model to %s", gm_name(g, i),
                    (void *)((const hl_callable_object_t *)o)->self,
                    n->ref >= 0 ? gm_name(g, n->ref) : "None");
        break;
    }
    default: break;
    }
}

static void check_refcount(gm_t *g, int i)
{
    gm_node_t *n = &g->node[i];
    if (n->state != GM_ALIVE)
        gm_fail(g, "model: %s left over from a deallocation", gm_name(g, i));
    if (n->rc <= 0)
        gm_fail(g, "model: %s alive at refcount %d", gm_name(g, i), n->rc);
    ssize_t r = Py_REFCNT(n->obj);
    if (r != n->rc) {
        int base = (n->flags & (GM_STATIC | GM_PINNED)) ? 1 : 0;
        gm_fail(g, "%s has refcount %zd, the model expects %d (%d held by the program, %d "
                "from objects%s)",
                gm_name(g, i), r, n->rc, n->ext, n->rc - n->ext - base,
                base ? ", 1 by the runtime" : "");
    }
}

enum { CHECK_LIGHT, CHECK_COLLECTION, CHECK_FULL };
static void check_level(gm_t *g, int level);

void gm_check(gm_t *g, bool full)
{
    check_level(g, full ? CHECK_FULL : CHECK_LIGHT);
}

void gm_check_after_collection(gm_t *g)
{
    check_level(g, CHECK_COLLECTION);
}

static void check_level(gm_t *g, int level)
{
    bool full = level != CHECK_LIGHT;
    gm_check_events(g);
    if (!g->modeled)
        return;
    hl_runtime_t *rt = g->rt;
    ssize_t objects = rt->objects; /* hl_runtime_usage's, without the call */
    if (objects != g->base.objects + g->count)
        gm_fail(g, "the runtime has %zd objects alive, the model %zd (%zd at set-up + %d): "
                "an object was %s",
                objects, g->base.objects + g->count, g->base.objects, g->count,
                objects > g->base.objects + g->count ? "not freed when its refcount reached 0"
                                                     : "freed while still referenced");
    if (g->ntrash != 0 || g->nesting != 0 || g->ntemp != 0)
        gm_fail(g, "model: trashcan not drained (%d parked, nesting %d, %d temporaries)",
                g->ntrash, g->nesting, g->ntemp);
    /* Refcounts: of the nodes whose count changed since the last check, and
     * in a full check of all of them (a stray change to an object the op
     * had no business with shows there). */
    if (full) {
        for (int k = 0; k < g->nlive; k++)
            check_refcount(g, g->live[k]);
    }
    else {
        for (int w = 0; w < 2; w++)
            for (uint64_t bits = g->dirty[w]; bits != 0; bits &= bits - 1) {
                int i = w * 64 + __builtin_ctzll(bits);
                if (g->node[i].state == GM_PARKED)
                    gm_fail(g, "model: %s left over from a deallocation", gm_name(g, i));
                if (g->node[i].state == GM_ALIVE && !(g->node[i].flags & GM_TEMP))
                    check_refcount(g, i);
            }
    }
    g->dirty[0] = g->dirty[1] = 0;
    if (!full)
        return;
    gm_walk_t w;
    gm_walk(g, &w);
    gm_check_gens(g, &w);
    for (int k = 0; k < g->nlive; k++) {
        int i = g->live[k];
        if (level == CHECK_FULL || (g->cdirty[i >> 6] & ((uint64_t)1 << (i & 63))))
            check_contents(g, i);
    }
    g->cdirty[0] = g->cdirty[1] = 0;
    if (level == CHECK_FULL && !hl_gc_check(rt, false)) {
        hl_gc_check(rt, true);
        gm_fail(g, "hl_gc_check failed");
    }
    if (hl_runtime_error(rt) != HL_ERR_NONE)
        gm_fail(g, "error indicator left set: %d (%s)", (int)hl_runtime_error(rt),
                hl_runtime_error_message(rt));
}

#pragma clang attribute pop
