/* heaplab/object.h: CPython 3.11's objects, reference counting and free
 * lists, over the allocator domains of heaplab/pymem.h.
 *
 * A runtime (hl_runtime_t) is one interpreter: its allocator domains, its
 * free lists and caches, its cyclic collector (heaplab/gc.h) and its
 * trashcan.  There is no global state; every call names its runtime, and
 * an object belongs to the runtime that made it.
 *
 *     hl_runtime_t *rt;
 *     if (hl_runtime_create("pymalloc", NULL, &rt, err, sizeof err) != 0) ...
 *     hl_object_t *l = hl_list_new(rt);            // [] (a new reference)
 *     hl_list_append(rt, l, l);                    // l.append(l)
 *     hl_decref(rt, l);                            // del l: a cycle remains
 *     hl_gc_collect(rt, 2);                        // == 1
 *     hl_runtime_destroy(rt);
 *
 * Ownership follows CPython: a function returning hl_object_t * returns a
 * new reference (NULL on failure, with hl_runtime_error set); arguments are
 * borrowed, and a container that stores one takes its own reference.
 *
 * The types and what they reproduce (sizes are sys.getsizeof on 64-bit
 * CPython 3.11.2, GC head included):
 *
 *   int       small-int cache -5..256; 30-bit digits, 24 + 4*max(1, ndigits)
 *   float     free list of 100; 24
 *   str       compact ASCII only; 49 + len
 *   tuple     the () singleton; free lists for lengths 1..20, 2000 each;
 *             40 + 8*len; created tracked, untracked by collections
 *   list      growth (n + n/8 + 6) & ~3 and its shrink rule; free list of
 *             80; 56 + 8*allocated
 *   dict      str keys; 8 slots minimum, 2/3 usable, grows to used*3; free
 *             lists of 80 dicts and 80 key tables; 64 + keys table; tracked
 *             only once it holds a value that may be tracked
 *   instance  heaplab's research type: N reference slots, optional PEP 442
 *             finalizer, optional legacy finalizer (tp_del), weakrefs
 *   weakref   weakref.ref, with an optional callback (a callable object)
 *   callable  a C function with a bound object, for weakref callbacks
 *
 * All object memory comes from the OBJ domain and item/key storage from
 * the domain CPython uses for it (list items: MEM; dict key tables: OBJ).
 */
#ifndef HEAPLAB_OBJECT_H
#define HEAPLAB_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "heaplab/allocator.h"
#include "heaplab/pymem.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hl_runtime_s hl_runtime_t;  /* PyInterpreterState + PyThreadState */
typedef struct hl_object_s hl_object_t;    /* PyObject */
typedef struct hl_type_s hl_type_t;        /* PyTypeObject */

/* ---------------------------------------------------------------------- */
/* Runtimes */

/* A runtime whose domains are configured as hl_pymem_create(allocator, opt)
 * does: any registry name (its MEM and OBJ domains share one instance of
 * it), a PYTHONMALLOC-like name, or NULL for "pymalloc".  The collector
 * starts enabled with thresholds (700, 10, 10), as at interpreter start.
 * Returns 0, or -1 with a message in err. */
int hl_runtime_create(const char *allocator, const hl_alloc_options_t *opt,
                      hl_runtime_t **out, char *err, size_t errlen);

/* Finalize: clear gc.garbage, run a full collection, clear the free lists,
 * then free the runtime and its domains.  Objects still alive then are
 * leaked on purpose (their memory goes with the domains); see
 * hl_runtime_leaks to find them first. */
void hl_runtime_destroy(hl_runtime_t *rt);

/* The domains, e.g. to read the MEM/OBJ allocator's stats. */
hl_pymem_t *hl_runtime_pymem(hl_runtime_t *rt);

/* What the runtime holds right now:
 *   objects     objects alive (made and not yet deallocated; objects parked
 *               in free lists and the runtime's own static objects -- small
 *               ints, the () singleton -- do not count; gc.garbage does)
 *   obj_blocks  blocks allocated from the OBJ domain and not freed
 *   mem_blocks  the same for the MEM domain
 * After a full collection with nothing referenced from outside, a correct
 * runtime has objects == 1 (the gc.garbage list) and blocks only for it. */
typedef struct hl_runtime_usage_s {
    ssize_t objects;
    ssize_t obj_blocks;
    ssize_t mem_blocks;
} hl_runtime_usage_t;
void hl_runtime_usage(const hl_runtime_t *rt, hl_runtime_usage_t *out);

/* Errors, as CPython's exception types.  A failing call returns NULL or -1
 * and leaves the error here, with a message in CPython's words ("pop from
 * empty list"); hl_runtime_clear_error resets it (PyErr_Clear).  As in
 * CPython, automatic collection waits while an error is set, so a caller
 * that carries on after an error must clear it. */
typedef enum hl_error_e {
    HL_ERR_NONE = 0,
    HL_ERR_MEMORY,   /* MemoryError */
    HL_ERR_INDEX,    /* IndexError */
    HL_ERR_KEY,      /* KeyError */
    HL_ERR_TYPE,     /* TypeError */
    HL_ERR_VALUE,    /* ValueError */
    HL_ERR_OVERFLOW, /* OverflowError */
} hl_error_t;
hl_error_t hl_runtime_error(const hl_runtime_t *rt);
const char *hl_runtime_error_message(const hl_runtime_t *rt);
void hl_runtime_clear_error(hl_runtime_t *rt);

/* ---------------------------------------------------------------------- */
/* Every object */

void hl_incref(hl_object_t *op);                      /* Py_INCREF */
void hl_decref(hl_runtime_t *rt, hl_object_t *op);    /* Py_DECREF */
void hl_xdecref(hl_runtime_t *rt, hl_object_t *op);   /* Py_XDECREF */
ssize_t hl_refcnt(const hl_object_t *op);              /* Py_REFCNT */
const char *hl_type_name(const hl_object_t *op);       /* tp_name: "list", ... */
/* sys.getsizeof: __sizeof__ plus the 16-byte GC head for GC objects. */
size_t hl_sizeof(const hl_object_t *op);
/* Does the type take part in the cyclic GC (Py_TPFLAGS_HAVE_GC)? */
bool hl_is_gc(const hl_object_t *op);

typedef enum hl_kind_e {
    HL_KIND_INT, HL_KIND_FLOAT, HL_KIND_STR, HL_KIND_TUPLE, HL_KIND_LIST,
    HL_KIND_DICT, HL_KIND_INSTANCE, HL_KIND_WEAKREF, HL_KIND_CALLABLE,
} hl_kind_t;
hl_kind_t hl_kind(const hl_object_t *op);

/* tp_traverse: calls visit(referent, arg) for each strong reference op
 * holds, in CPython's order, stopping at the first nonzero return. */
typedef int (*hl_visitproc)(hl_object_t *referent, void *arg);
int hl_traverse(hl_object_t *op, hl_visitproc visit, void *arg);

/* ---------------------------------------------------------------------- */
/* int, float, str */

hl_object_t *hl_int_new(hl_runtime_t *rt, int64_t v);
int64_t hl_int_value(const hl_object_t *op);

hl_object_t *hl_float_new(hl_runtime_t *rt, double v);
double hl_float_value(const hl_object_t *op);

/* ASCII text only (TypeError otherwise, as heaplab has no other kind). */
hl_object_t *hl_str_new(hl_runtime_t *rt, const char *s, size_t len);
hl_object_t *hl_str_from_cstr(hl_runtime_t *rt, const char *s);
const char *hl_str_data(const hl_object_t *op);   /* NUL-terminated */
size_t hl_str_len(const hl_object_t *op);

/* ---------------------------------------------------------------------- */
/* tuple */

/* (items[0], ..., items[n-1]); n == 0 gives the () singleton. */
hl_object_t *hl_tuple_new(hl_runtime_t *rt, size_t n, hl_object_t *const *items);
size_t hl_tuple_size(const hl_object_t *op);
hl_object_t *hl_tuple_get(const hl_object_t *op, size_t i);   /* borrowed */

/* ---------------------------------------------------------------------- */
/* list */

hl_object_t *hl_list_new(hl_runtime_t *rt);                        /* [] */
int hl_list_append(hl_runtime_t *rt, hl_object_t *list, hl_object_t *v);
/* list.pop(index): the removed item (a new reference), or NULL with
 * IndexError ("pop from empty list", "pop index out of range"). */
hl_object_t *hl_list_pop(hl_runtime_t *rt, hl_object_t *list, int64_t index);
/* list[i] = v (0 <= i < size), releasing the old item. */
void hl_list_set(hl_runtime_t *rt, hl_object_t *list, size_t i, hl_object_t *v);
void hl_list_clear(hl_runtime_t *rt, hl_object_t *list);
size_t hl_list_size(const hl_object_t *op);
size_t hl_list_allocated(const hl_object_t *op);
hl_object_t *hl_list_get(const hl_object_t *op, size_t i);    /* borrowed */

/* ---------------------------------------------------------------------- */
/* dict (str keys) */

hl_object_t *hl_dict_new(hl_runtime_t *rt);                        /* {} */
/* d[key] = v.  key is a str object (borrowed), or use the _cstr form. */
int hl_dict_setitem(hl_runtime_t *rt, hl_object_t *d, hl_object_t *key, hl_object_t *v);
int hl_dict_setitem_cstr(hl_runtime_t *rt, hl_object_t *d, const char *key, hl_object_t *v);
/* del d[key]: 0, or -1 with KeyError. */
int hl_dict_delitem_cstr(hl_runtime_t *rt, hl_object_t *d, const char *key);
hl_object_t *hl_dict_getitem_cstr(hl_object_t *d, const char *key);  /* borrowed or NULL */
void hl_dict_clear(hl_runtime_t *rt, hl_object_t *d);
size_t hl_dict_size(const hl_object_t *op);

/* ---------------------------------------------------------------------- */
/* callable: fn(rt, self, arg) where self is the bound object (may be NULL)
 * and arg the call's one argument (a weakref, for weakref callbacks).
 * Calling it keeps both alive for the duration of the call. */
typedef void (*hl_callable_fn)(hl_runtime_t *rt, hl_object_t *self, hl_object_t *arg,
                               void *user);
hl_object_t *hl_callable_new(hl_runtime_t *rt, hl_callable_fn fn, hl_object_t *self,
                             void *user);
void hl_call(hl_runtime_t *rt, hl_object_t *callable, hl_object_t *arg);

/* ---------------------------------------------------------------------- */
/* instance: heaplab's type for GC research */

/* The hooks of an instance type.  finalize is tp_finalize (PEP 442: run at
 * most once per object, by the collector or on deallocation; it may
 * resurrect).  del is a legacy tp_del (run on every deallocation; an
 * unreachable cycle holding one is uncollectable and goes to gc.garbage).
 * Either may be NULL.  Both receive a borrowed `self`. */
typedef struct hl_instance_hooks_s {
    void (*finalize)(hl_runtime_t *rt, hl_object_t *self, void *user);
    void (*del)(hl_runtime_t *rt, hl_object_t *self, void *user);
    void *user;
} hl_instance_hooks_t;

/* A new instance type named `name` (the runtime owns it; it lives until
 * hl_runtime_destroy).  NULL on out of memory. */
hl_type_t *hl_instance_type_new(hl_runtime_t *rt, const char *name,
                                const hl_instance_hooks_t *hooks);
/* An instance of `type` with nslots reference slots, all None (NULL). */
hl_object_t *hl_instance_new(hl_runtime_t *rt, hl_type_t *type, size_t nslots);
size_t hl_instance_nslots(const hl_object_t *op);
hl_object_t *hl_instance_get(const hl_object_t *op, size_t i);   /* borrowed, may be NULL */
/* slot i = v (v may be NULL), releasing the old value. */
void hl_instance_set(hl_runtime_t *rt, hl_object_t *op, size_t i, hl_object_t *v);

/* ---------------------------------------------------------------------- */
/* weakref */

/* weakref.ref(obj[, callback]); obj must be an instance (TypeError:
 * "cannot create weak reference to 'list' object" otherwise).  With no
 * callback an existing basic reference is shared, as CPython does. */
hl_object_t *hl_weakref_new(hl_runtime_t *rt, hl_object_t *obj, hl_object_t *callback);
/* The referent (borrowed), or NULL once it is dead (None). */
hl_object_t *hl_weakref_get(const hl_object_t *wr);
/* weakref.getweakrefcount(obj) */
size_t hl_weakref_count(const hl_object_t *obj);

#ifdef __cplusplus
}
#endif
#endif /* HEAPLAB_OBJECT_H */
