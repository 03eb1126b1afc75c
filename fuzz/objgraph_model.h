/* objgraph_model.h: the shadow model of an object graph that refcount_fuzz
 * and gc_fuzz run their programs against (objgraph_model.c).
 *
 * The model is a second, independent account of what CPython 3.11's
 * reference counting does to a graph of heaplab objects: every node is one
 * object the program made, with the refcount the model expects, the
 * references the program holds from outside (ext), its outgoing strong
 * references in the runtime's order, its weakrefs and its generation.
 * Every graph operation calls the runtime's API, then replays the same
 * operation on the model, reference by reference, in the order CPython's
 * code takes and drops them:
 *
 *     incref/decref          Py_INCREF / Py_DECREF; a count reaching 0
 *                            runs the type's tp_dealloc in the model
 *     tp_dealloc             list/tuple items last to first, dict entries
 *                            key then value in entry order, instance
 *                            slots first to last (subtype_dealloc: PEP 442
 *                            finalizer, which may resurrect; weakrefs
 *                            cleared and their callbacks called as
 *                            PyObject_ClearWeakRefs does, its tuple of
 *                            (weakref, callback) pairs included; legacy
 *                            tp_del), inside the trashcan (50 levels, then
 *                            deferred, last deferred first)
 *     events                 every finalizer, tp_del and weakref callback
 *                            the model predicts, in order, against the
 *                            ones the runtime's hooks report
 *
 * Identity.  Only objects whose identity the model knows are nodes: the
 * small ints (-5..256) and the () singleton are one node each while the
 * program refers to them, with the runtime's own reference as a base
 * count of 1 (each runtime has its own, so nothing else refers to them);
 * every other object is new when made (heaplab has no interned strings).
 * Free lists recycle memory, never identity: a node is dead from the
 * moment its refcount reaches 0, wherever its memory goes.
 *
 * Generations.  The model also keeps each node's generation (untracked,
 * 0, 1, 2, permanent) by CPython's rules: tracked into generation 0 on
 * creation (dicts: when MAINTAIN_TRACKING sees a value that may be
 * tracked; subtype_dealloc re-tracks an instance it resurrects), moved by
 * collections (gc_fuzz.c) and freeze/unfreeze.  gm_walk reads the
 * runtime's generation lists through the collector's internal header to
 * compare: no public API says which generation an object is in without
 * allocating (gc.get_objects builds a list).
 */
#ifndef HL_FUZZ_OBJGRAPH_MODEL_H
#define HL_FUZZ_OBJGRAPH_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "heaplab/gc.h"
#include "heaplab/object.h"

/* ---- limits ------------------------------------------------------------ */

#define GM_MAXN      64   /* program objects: nodes 0..63 */
#define GM_GARBAGE   64   /* the node of gc.garbage (pinned) */
#define GM_NSLOT     96   /* 65..95: PyObject_ClearWeakRefs' temporary tuples */
#define GM_ITEMS_MAX 64   /* gc.garbage can hold every object */
#define GM_LIST_MAX  16   /* user lists */
#define GM_TUPLE_MAX 3    /* user tuples: lengths 0..3 */
#define GM_DICT_MAX  8
#define GM_SLOTS_MAX 4
#define GM_WR_MAX    8    /* weakrefs on one instance */
#define GM_NTEXT     16   /* str texts "s0".."s15" (dict keys) */
#define GM_MAXEV     512  /* events per segment */
#define GM_TRASH_LEVEL 50 /* PyTrash_UNWIND_LEVEL */

/* ---- nodes ------------------------------------------------------------- */

enum gm_state { GM_FREE, GM_ALIVE, GM_PARKED, GM_DEAD };

/* Generations: 0..2 as the collector numbers them. */
#define GM_UNTRACKED (-1)
#define GM_PERM      3    /* gc.freeze's permanent generation */
#define GM_INFLIGHT  4    /* handle_weakrefs' wrcb_to_call list (gc_fuzz) */

/* flags */
#define GM_STATIC 1       /* small int or (): the runtime holds one reference */
#define GM_PINNED 2       /* gc.garbage: the runtime holds one reference */
#define GM_TEMP   4       /* PyObject_ClearWeakRefs' tuple */

/* Instance types: which hooks they have. */
enum gm_type {
    GM_T_PLAIN,           /* no hooks */
    GM_T_FIN,             /* tp_finalize: logs */
    GM_T_RES,             /* tp_finalize: logs and resurrects (takes an ext ref) */
    GM_T_DEL,             /* legacy tp_del: logs */
    GM_T_FINDEL,          /* both */
    GM_NTYPES
};

typedef struct gm_node_s {
    hl_object_t *obj;     /* the runtime's object (kept after death, for messages) */
    int32_t rc;           /* the refcount the model expects */
    int32_t ext;          /* references the program holds outside any object */
    uint8_t state;        /* enum gm_state */
    uint8_t kind;         /* hl_kind_t */
    uint8_t flags;
    uint8_t type;         /* instances: enum gm_type */
    uint8_t finalized;    /* tp_finalize has run (the FINALIZED bit) */
    int8_t gen;           /* GM_UNTRACKED, 0..2, GM_PERM, GM_INFLIGHT */
    int8_t ref;           /* weakref: referent (-1: cleared); callable: self */
    int8_t cb;            /* weakref: callback (-1: none) */
    uint8_t n;            /* list/tuple items, instance slots, dict entries */
    uint8_t nwr;          /* instance: weakrefs on its list */
    uint16_t deallocs;    /* tp_dealloc calls (a resurrected object left its
                             generation list for generation 0) */
    int16_t val;          /* int: value; str: text id; float: value */
    int8_t wr[GM_WR_MAX]; /* instance: its weakref list, in the runtime's order */
    int8_t key[GM_DICT_MAX];   /* dict: keys (str nodes), entry order */
    int8_t item[GM_ITEMS_MAX]; /* list/tuple items, instance slots (-1: None),
                                  dict values */
} gm_node_t;

/* ---- events ------------------------------------------------------------ */

enum gm_ev { GM_EV_FINALIZE, GM_EV_DEL, GM_EV_WRCB };

typedef struct gm_event_s {
    uint8_t kind;
    int8_t node;          /* expected events: the node */
    const hl_object_t *ptr;
} gm_event_t;

/* ---- graph operations (the ops both targets share) ------------------------ */

enum gm_op {
    GM_OP_NEW_INT, GM_OP_NEW_FLOAT, GM_OP_NEW_STR, GM_OP_NEW_TUPLE, GM_OP_NEW_LIST,
    GM_OP_NEW_DICT, GM_OP_NEW_INSTANCE, GM_OP_NEW_WEAKREF, GM_OP_NEW_CALLABLE,
    GM_OP_LIST_APPEND, GM_OP_LIST_SET, GM_OP_LIST_POP, GM_OP_LIST_CLEAR,
    GM_OP_DICT_SET, GM_OP_DICT_DEL, GM_OP_DICT_CLEAR, GM_OP_SLOT_SET, GM_OP_SLOT_CLEAR,
    GM_OP_DROP, GM_OP_ALIAS,
    GM_NGRAPHOPS,
    /* gc_fuzz only */
    GM_OP_COLLECT = GM_NGRAPHOPS, GM_OP_THRESHOLD, GM_OP_TOGGLE_ENABLE, GM_OP_FREEZE,
    GM_OP_SAVEALL, GM_OP_CLEAR_GARBAGE, GM_OP_INTROSPECT,
    GM_NOPS
};

extern const char *const gm_op_names[GM_NOPS];

/* ---- the model -------------------------------------------------------------- */

typedef struct gm_s {
    const char *prog;          /* "refcount_fuzz": the messages' prefix */
    hl_runtime_t *rt;
    hl_type_t *types[GM_NTYPES];
    bool gc_mode;              /* gc_fuzz: operands held across allocations */
    bool modeled;              /* false: hooks still run, nothing is compared */
    bool auto_window;          /* inside an allocating call (gc_fuzz) */
    bool gc_enabled;           /* the program's gc.isenabled() (gc_fuzz); the
                                  runtime's is on only inside those calls */
    size_t op;                 /* index of the current op, for messages */
    const char *what;          /* its name */
    gm_node_t node[GM_NSLOT];
    int count;                 /* counted objects the model has alive */
    hl_runtime_usage_t base;   /* usage at set-up: gc.garbage only */
    int nesting;               /* the trashcan's trash_delete_nesting */
    int8_t trash[GM_NSLOT];    /* ... and trash_delete_later, a stack */
    int ntrash;
    int8_t small_int[262];     /* node of int v at [v + 5], or -1 */
    int8_t empty_tuple;        /* node of (), or -1 */
    int nwant, ngot, nres;     /* entries of the three buffers at the end */
    int8_t map[256];           /* object address -> node (open addressing) */
    int8_t live[GM_NSLOT];     /* the nodes alive or parked (temporaries not) */
    int8_t live_pos[GM_NSLOT]; /* ... and where each is in live[] */
    int nlive;
    int ntemp;                 /* temporaries alive (0 between steps) */
    uint64_t dirty[2];         /* nodes whose expected refcount changed since
                                  the last check (bits by node index) */
    uint64_t cdirty[2];        /* ... whose contents (items, slots, entries,
                                  weakref list, referent, callback, self) did */
    uint64_t kind_mask[9];     /* alive program nodes of each kind, by index */
    bool trace;                /* GM_TRACE set: gm_fail dumps the model */
    /* (not cleared per input: only their first n entries mean anything) */
    gm_event_t want[GM_MAXEV]; /* events the model predicts */
    gm_event_t got[GM_MAXEV];  /* events the runtime's hooks reported */
    hl_object_t *resurrected[GM_MAXEV]; /* what GM_T_RES took (unmodeled clean-up) */
} gm_t;

/* Set-up: a runtime over "pymalloc" with automatic collection disabled and
 * one full collection done (gc.garbage in generation 2), the five instance
 * types, gc.garbage's node; `base` is the usage then.  Aborts on failure. */
void gm_init(gm_t *g, const char *prog, bool gc_mode);
void gm_fini(gm_t *g);
/* The end of an input, once everything is released and collected: objects,
 * OBJ blocks and MEM blocks back at their set-up values (`base`), or abort. */
void gm_check_back_at_base(gm_t *g);

/* A violation: "PROG: op N (NAME): MESSAGE", then abort(). */
void gm_fail(const gm_t *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
/* Every live node, its counts and references, on stderr (gm_fail does it
 * when GM_TRACE is set in the environment). */
void gm_dump(const gm_t *g);
/* "node 5 (list 0x...)" (a few rotating buffers). */
const char *gm_name(const gm_t *g, int i);

/* Operands: the first alive program node at or after byte % GM_MAXN
 * (wrapping) whose kind is in `kinds` (a mask of 1 << hl_kind_t), or -1. */
#define GM_ANY 0x1ffu
int gm_pick(const gm_t *g, unsigned byte, unsigned kinds);
/* The same among nodes the program holds a reference to (ext > 0). */
int gm_pick_ext(const gm_t *g, unsigned byte);
static inline bool gm_alive(const gm_t *g, int i)
{
    return i >= 0 && g->node[i].state == GM_ALIVE;
}

/* One graph operation (enum gm_op < GM_NGRAPHOPS) with its three operand
 * bytes: the runtime's call, then the model's.  An op that cannot apply
 * (no operand of the kind, a container at its limit) does nothing. */
void gm_exec(gm_t *g, int op, uint8_t a, uint8_t b, uint8_t c);

/* The oracles between operations (see refcount_fuzz.c's header):
 *   events equal; usage.objects == base + the model's count; the refcount
 *   of every node whose count the model changed since the last check (of
 *   every node when `full`); nothing left parked in the trashcan;
 * and when `full`:
 *   the generation lists hold exactly the tracked nodes, each in its
 *   generation; list/tuple/dict/instance contents, weakref lists in order,
 *   weakrefs' referents and callbacks, callables' bound objects; the
 *   FINALIZED bit; hl_gc_check; no error indicator set. */
void gm_check(gm_t *g, bool full);
/* After a collection: as a full check, but contents only of the nodes whose
 * contents the model changed since the last check, and no hl_gc_check (the
 * HL_DEBUG=3 runtime ends every collection with one). */
void gm_check_after_collection(gm_t *g);
void gm_check_events(gm_t *g);

/* ---- what gc_fuzz's collector model needs ------------------------------------ */

typedef struct gm_walk_s {
    int8_t list[4][GM_NSLOT];  /* generations 0..2 and the permanent one */
    int n[4];
    int8_t gen_of[GM_NSLOT];   /* GM_UNTRACKED when on no list */
} gm_walk_t;
/* Read the runtime's generation lists (every object on them must be a
 * node, at most once). */
void gm_walk(gm_t *g, gm_walk_t *w);
/* Every live GC node on the list of the generation the model says (every
 * object on the lists is a node: gm_walk checks that). */
void gm_check_gens(gm_t *g, const gm_walk_t *w);

/* gc_fuzz: the program holds node i (ext) around an allocating call, and
 * the runtime's gc is on (if the program's is) only inside the window:
 * what gm_exec does around its allocating calls.  i < 0: nothing. */
void gm_hold(gm_t *g, int i);
void gm_unhold(gm_t *g, int i);
void gm_window_open(gm_t *g);
void gm_window_close(gm_t *g);

/* A node's strong references in its tp_traverse order (the order the
 * collector visits them), into out[]; returns how many. */
int gm_traverse(const gm_t *g, int i, int8_t *out);
/* Every strong reference: tp_traverse's, and dict keys (str, which the
 * collector has no reason to visit).  out[] holds GM_ITEMS_MAX + GM_DICT_MAX. */
int gm_referents(const gm_t *g, int i, int8_t *out);
bool gm_has_finalize(const gm_t *g, int i);
bool gm_has_del(const gm_t *g, int i);
/* _PyObject_GC_MAY_BE_TRACKED as the model knows it. */
bool gm_may_be_tracked(const gm_t *g, int i);

static inline void gm_dirty(gm_t *g, int i)
{
    g->dirty[i >> 6] |= (uint64_t)1 << (i & 63);
}
static inline void gm_cdirty(gm_t *g, int i)
{
    g->cdirty[i >> 6] |= (uint64_t)1 << (i & 63);
}
void gm_incref(gm_t *g, int i);
void gm_decref(gm_t *g, int i);
void gm_event(gm_t *g, int kind, int i);
/* tp_clear (none for tuples and atoms); returns false if the type has none. */
bool gm_tp_clear(gm_t *g, int i);
/* _PyWeakref_ClearRef: off its referent's list, the callback kept. */
void gm_weakref_clear_ref(gm_t *g, int w);
/* _PyList_Append into gc.garbage (or any list node). */
void gm_list_append_model(gm_t *g, int l, int v);
/* The model's side of the program dropping one reference to node i. */
void gm_drop_model(gm_t *g, int i);

#endif /* HL_FUZZ_OBJGRAPH_MODEL_H */
