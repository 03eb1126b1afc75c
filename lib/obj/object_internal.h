/* object_internal.h: the object header, type objects and reference
 * counting, as CPython 3.11's Include/object.h and pycore_object.h.
 *
 *     PyObject                       PyVarObject
 *     +------------------+           +------------------+
 *     | ob_refcnt        |           | ob_refcnt        |
 *     | ob_type  --------+--> type   | ob_type          |
 *     +------------------+           | ob_size          |
 *                                    +------------------+
 *
 * A GC object (its type has HL_TPFLAGS_HAVE_GC) is preceded by the 16-byte
 * PyGC_Head (lib/gc/gc_internal.h); the block allocated from the OBJ
 * domain starts at the head.
 *
 * Invariants:
 *   ob_refcnt > 0 for every live object; it reaches 0 exactly once, in
 *   hl_decref, which calls tp_dealloc (the trashcan may defer the call,
 *   never skip it).
 *   rt->objects == (objects made) - (objects deallocated), where an object
 *   taken from a free list counts as made and one parked on a free list as
 *   deallocated (this is _Py_NewReference / _Py_Dealloc's bookkeeping).
 */
#ifndef HL_OBJECT_INTERNAL_H
#define HL_OBJECT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hl_debug.h"
#include "heaplab/gc.h"
#include "heaplab/object.h"

/* Everything declared below keeps CPython's names (_Py_Dealloc,
 * PyObject_GC_Del, _PyTuple_MaybeUntrack, ...), and every heaplab binary
 * also links libpython, which exports the same names.  Hidden visibility
 * keeps heaplab's out of the dynamic symbol table, so neither side can bind
 * to the other's; only the hl_* API of the public headers is exported. */
#pragma GCC visibility push(hidden)

struct hl_object_s {
    ssize_t ob_refcnt;
    const hl_type_t *ob_type;
};

typedef struct hl_varobject_s {
    hl_object_t ob_base;
    ssize_t ob_size;
} hl_varobject_t;

typedef void (*hl_destructor)(hl_runtime_t *rt, hl_object_t *op);
typedef int (*hl_traverseproc)(hl_object_t *op, hl_visitproc visit, void *arg);
typedef int (*hl_inquiry)(hl_runtime_t *rt, hl_object_t *op);
typedef size_t (*hl_sizeofproc)(const hl_object_t *op);

/* tp_flags */
#define HL_TPFLAGS_HAVE_GC   (1UL << 14)   /* Py_TPFLAGS_HAVE_GC's bit */
#define HL_TPFLAGS_HEAPTYPE  (1UL << 9)    /* made at run time (instance types) */

struct hl_type_s {
    const char *tp_name;
    ssize_t tp_basicsize;
    ssize_t tp_itemsize;
    unsigned long tp_flags;
    hl_kind_t kind;
    hl_destructor tp_dealloc;
    hl_traverseproc tp_traverse;
    hl_inquiry tp_clear;
    hl_destructor tp_finalize;        /* PEP 442 */
    hl_destructor tp_del;             /* legacy finalizer */
    ssize_t tp_weaklistoffset;        /* 0: no weakrefs */
    hl_sizeofproc tp_sizeof;          /* __sizeof__ */
    /* Instance types only: the user's hooks, called by tp_finalize/tp_del. */
    hl_instance_hooks_t hooks;
    struct hl_type_s *next_heaptype;  /* the runtime's list of them */
    char name_buf[64];
};

/* The built-in types (lib/obj/<type>object.c). */
extern const hl_type_t hl_long_type, hl_float_type, hl_unicode_type, hl_tuple_type,
    hl_list_type, hl_dict_type, hl_weakref_type, hl_callable_type;

#define Py_TYPE(op)        (((const hl_object_t *)(op))->ob_type)
#define Py_REFCNT(op)      (((const hl_object_t *)(op))->ob_refcnt)
#define Py_SIZE(op)        (((const hl_varobject_t *)(op))->ob_size)
#define Py_SET_SIZE(op, n) (((hl_varobject_t *)(op))->ob_size = (n))
#define Py_IS_TYPE(op, tp) (Py_TYPE(op) == (tp))

static inline bool _PyType_IS_GC(const hl_type_t *tp)
{
    return (tp->tp_flags & HL_TPFLAGS_HAVE_GC) != 0;
}
/* No heaplab type has tp_is_gc, so this is PyType_IS_GC of the type. */
static inline bool _PyObject_IS_GC(const hl_object_t *op)
{
    return _PyType_IS_GC(Py_TYPE(op));
}
static inline bool _PyType_SUPPORTS_WEAKREFS(const hl_type_t *tp)
{
    return tp->tp_weaklistoffset > 0;
}

/* _Py_NewReference: a new object (or one off a free list) comes alive. */
static inline void _Py_NewReference(hl_runtime_t *rt, hl_object_t *op);

static inline void Py_INCREF(hl_object_t *op)
{
    op->ob_refcnt++;
}

void _Py_Dealloc(hl_runtime_t *rt, hl_object_t *op);

static inline void Py_DECREF(hl_runtime_t *rt, hl_object_t *op)
{
    hl_assert_internal(op->ob_refcnt > 0);
    if (--op->ob_refcnt == 0)
        _Py_Dealloc(rt, op);
}
static inline void Py_XDECREF(hl_runtime_t *rt, hl_object_t *op)
{
    if (op != NULL)
        Py_DECREF(rt, op);
}
static inline void Py_XINCREF(hl_object_t *op)
{
    if (op != NULL)
        Py_INCREF(op);
}
/* Py_CLEAR: NULL the slot first, then release, so a re-entrant dealloc never
 * sees a dangling pointer. */
#define Py_CLEAR(rt, slot)                         \
    do {                                           \
        hl_object_t *_py_tmp = (hl_object_t *)(slot); \
        if (_py_tmp != NULL) {                     \
            (slot) = NULL;                         \
            Py_DECREF((rt), _py_tmp);              \
        }                                          \
    } while (0)
#define Py_VISIT(op)                                             \
    do {                                                         \
        if (op) {                                                \
            int _vret = visit((hl_object_t *)(op), arg);         \
            if (_vret)                                           \
                return _vret;                                    \
        }                                                        \
    } while (0)

/* Allocation through the runtime's domains, counting blocks (the leak
 * check of heap scripts and fuzzers). */
void *hl_obj_malloc(hl_runtime_t *rt, size_t n);      /* PyObject_Malloc */
void *hl_obj_realloc(hl_runtime_t *rt, void *p, size_t n);
void hl_obj_free(hl_runtime_t *rt, void *p);         /* PyObject_Free */
void *hl_mem_malloc(hl_runtime_t *rt, size_t n);      /* PyMem_Malloc */
void *hl_mem_calloc(hl_runtime_t *rt, size_t nelem, size_t elsize);
void *hl_mem_realloc(hl_runtime_t *rt, void *p, size_t n);
void hl_mem_free(hl_runtime_t *rt, void *p);

/* Non-GC objects: PyObject_Malloc + _PyObject_Init / PyObject_Free. */
hl_object_t *_PyObject_New(hl_runtime_t *rt, const hl_type_t *tp);
void PyObject_Free_Object(hl_runtime_t *rt, hl_object_t *op);

/* _PyObject_ASSERT_WITH_MSG: a failed check about an object prints the
 * check, the message and a dump of the object (address, refcount, type),
 * then dies with a fatal error, as CPython's _PyObject_AssertFailed does.
 * Active at HL_DEBUG >= 1, like hl_assert. */
__attribute__((noreturn, cold))
void _PyObject_AssertFailed(const hl_object_t *obj, const char *expr, const char *msg,
                            const char *file, int line, const char *function);
#if HL_DEBUG >= 1
#define _PyObject_ASSERT_WITH_MSG(obj, expr, msg)                                      \
    (HL_LIKELY(expr) ? (void)0                                                      \
                     : _PyObject_AssertFailed((obj), #expr, (msg), __FILE__, __LINE__, \
                                              __func__))
#else
#define _PyObject_ASSERT_WITH_MSG(obj, expr, msg) ((void)0)
#endif
#define _PyObject_ASSERT(obj, expr) _PyObject_ASSERT_WITH_MSG((obj), expr, NULL)

/* Errors (PyErr_SetString / PyErr_NoMemory). */
void hl_err_set(hl_runtime_t *rt, hl_error_t kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void *hl_err_nomemory(hl_runtime_t *rt);

/* The trashcan (lib/obj/trashcan.c): Py_TRASHCAN_BEGIN/END.  A dealloc
 * nested deeper than PyTrash_UNWIND_LEVEL parks its object on
 * trash_delete_later; the outermost END then deallocates the parked ones. */
#define PyTrash_UNWIND_LEVEL 50
int _PyTrash_begin(hl_runtime_t *rt, hl_object_t *op);
void _PyTrash_end(hl_runtime_t *rt);
#define Py_TRASHCAN_BEGIN(rt, op)          \
    do {                                   \
        if (_PyTrash_begin((rt), (op)))    \
            break;
#define Py_TRASHCAN_END(rt)                \
        _PyTrash_end(rt);                  \
    } while (0);

/* PyObject_CallFinalizerFromDealloc: 0 if the object stays dead, -1 if its
 * finalizer resurrected it. */
int PyObject_CallFinalizerFromDealloc(hl_runtime_t *rt, hl_object_t *op);
void PyObject_CallFinalizer(hl_runtime_t *rt, hl_object_t *op);

#include "gc_internal.h"
#include "types_internal.h"
#include "runtime_internal.h"

#pragma GCC visibility pop

static inline void _Py_NewReference(hl_runtime_t *rt, hl_object_t *op)
{
    op->ob_refcnt = 1;
    rt->objects++;
}

#endif /* HL_OBJECT_INTERNAL_H */
