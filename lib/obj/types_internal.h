/* types_internal.h: the layouts of heaplab's object types (CPython 3.11's
 * Include/cpython/ object headers, 64-bit), and what one type's code asks of
 * another's.  Sizes that sys.getsizeof reports are stated, and asserted,
 * beside each layout.
 */
#ifndef HL_TYPES_INTERNAL_H
#define HL_TYPES_INTERNAL_H

#ifndef HL_OBJECT_INTERNAL_H
#error "include object_internal.h, which includes this header in order"
#endif

/* ---- int (longobject.c) ------------------------------------------------ */
typedef uint32_t digit;
#define PyLong_SHIFT 30
#define PyLong_BASE  ((digit)1 << PyLong_SHIFT)
#define PyLong_MASK  ((digit)(PyLong_BASE - 1))
typedef struct {
    hl_varobject_t ob_base;   /* ob_size: ndigits, negative for negative numbers */
    digit ob_digit[1];
} PyLongObject;
/* offsetof(PyLongObject, ob_digit) == 24: getsizeof(0) == 28 (3.11.2 counts
 * the one digit always allocated, gh-100637), getsizeof(2**30) == 32. */
_Static_assert(offsetof(PyLongObject, ob_digit) == 24, "int header is 24 bytes");
#define _PY_NSMALLNEGINTS 5
#define _PY_NSMALLPOSINTS 257
#define IS_SMALL_INT(v) (-_PY_NSMALLNEGINTS <= (v) && (v) < _PY_NSMALLPOSINTS)

/* ---- float (floatobject.c) --------------------------------------------- */
typedef struct {
    hl_object_t ob_base;
    double ob_fval;
} PyFloatObject;
_Static_assert(sizeof(PyFloatObject) == 24, "getsizeof(1.0) == 24");
#define PyFloat_MAXFREELIST 100

/* ---- str (unicodeobject.c): compact ASCII only ------------------------- */
typedef struct {
    hl_object_t ob_base;
    ssize_t length;
    ssize_t hash;             /* -1 until computed */
    uint64_t state;           /* interned:2 kind:3 compact:1 ascii:1 ready:1 */
    void *wstr;               /* 3.11 still has it (PEP 623 drops it in 3.12) */
} PyASCIIObject;
_Static_assert(sizeof(PyASCIIObject) == 48, "getsizeof('') == 49 in 3.11");
/* The characters follow the struct, NUL-terminated. */
#define PyUnicode_DATA(op) ((char *)((PyASCIIObject *)(op) + 1))
ssize_t _hl_str_hash(hl_object_t *op);
ssize_t _hl_str_hash_bytes(const char *s, size_t len);

/* ---- tuple (tupleobject.c) --------------------------------------------- */
typedef struct {
    hl_varobject_t ob_base;
    hl_object_t *ob_item[1];
} PyTupleObject;
/* tp_basicsize = 24: getsizeof(()) == 24 + 16 == 40. */
#define PyTuple_MAXSAVESIZE 20   /* free lists for lengths 1..20 */
#define PyTuple_NFREELISTS  PyTuple_MAXSAVESIZE
#define PyTuple_MAXFREELIST 2000 /* per length */
_Static_assert(PyTuple_NFREELISTS == PyTuple_MAXSAVESIZE, "one free list per length 1..20");

/* ---- list (listobject.c) ----------------------------------------------- */
typedef struct {
    hl_varobject_t ob_base;
    hl_object_t **ob_item;
    ssize_t allocated;
} PyListObject;
_Static_assert(sizeof(PyListObject) == 40, "getsizeof([]) == 40 + 16 == 56");
#define PyList_MAXFREELIST 80

/* ---- dict (dictobject.c) ----------------------------------------------- */
typedef struct {
    hl_object_t *me_key;      /* a str */
    hl_object_t *me_value;
} PyDictUnicodeEntry;
typedef struct PyDictKeysObject {
    ssize_t dk_refcnt;
    uint8_t dk_log2_size;
    uint8_t dk_log2_index_bytes;
    uint8_t dk_kind;
    uint32_t dk_version;
    ssize_t dk_usable;        /* slots left before a resize */
    ssize_t dk_nentries;      /* entries used, deleted ones included */
    char dk_indices[];        /* then the entries */
} PyDictKeysObject;
_Static_assert(sizeof(PyDictKeysObject) == 32, "keys header is 32 bytes");
typedef struct {
    hl_object_t ob_base;
    ssize_t ma_used;
    uint64_t ma_version_tag;
    PyDictKeysObject *ma_keys;
    void *ma_values;          /* split tables: never, in heaplab */
} PyDictObject;
_Static_assert(sizeof(PyDictObject) == 48, "getsizeof({}) == 48 + 16 == 64");
#define PyDict_LOG_MINSIZE 3
#define PyDict_MINSIZE     8
#define PyDict_MAXFREELIST 80
#define DICT_KEYS_GENERAL 0
#define DICT_KEYS_UNICODE 1
_Static_assert(PyDict_MINSIZE == (1 << PyDict_LOG_MINSIZE), "MINSIZE is 2**LOG_MINSIZE");

/* ---- weakref (weakrefobject.c) ----------------------------------------- */
typedef struct _PyWeakReference PyWeakReference;
struct _PyWeakReference {
    hl_object_t ob_base;
    hl_object_t *wr_object;   /* the referent; NULL once cleared (None) */
    hl_object_t *wr_callback;
    ssize_t hash;
    PyWeakReference *wr_prev;
    PyWeakReference *wr_next;
    void *vectorcall;
};
_Static_assert(sizeof(PyWeakReference) == 64, "sys.getsizeof(weakref.ref(o)) == 80");

/* ---- callable ---------------------------------------------------------- */
typedef struct {
    hl_object_t ob_base;
    hl_callable_fn fn;
    hl_object_t *self;
    void *user;
} hl_callable_object_t;

/* ---- instance ---------------------------------------------------------- */
typedef struct {
    hl_varobject_t ob_base;   /* ob_size: number of slots */
    hl_object_t *weakreflist;
    hl_object_t *slots[];
} hl_instance_object_t;

/* ---- what one type asks of another ------------------------------------- */
void _PyTuple_MaybeUntrack(hl_object_t *op);
hl_object_t *_PyTuple_New(hl_runtime_t *rt, ssize_t size);
#define PyTuple_SET_ITEM(op, i, v) (((PyTupleObject *)(op))->ob_item[i] = (v))
#define PyTuple_GET_ITEM(op, i) (((PyTupleObject *)(op))->ob_item[i])
void _PyDict_MaybeUntrack(hl_object_t *op);
int _PyList_Append(hl_runtime_t *rt, hl_object_t *list, hl_object_t *v);
hl_object_t *_PyList_New(hl_runtime_t *rt, ssize_t size);
/* Weak references: the list head of an object that supports them, and
 * _PyWeakref_ClearRef (clear without calling the callback). */
static inline PyWeakReference **_PyObject_GET_WEAKREFS_LISTPTR(hl_object_t *op)
{
    return (PyWeakReference **)((char *)op + Py_TYPE(op)->tp_weaklistoffset);
}
void _PyWeakref_ClearRef(PyWeakReference *self);
void PyObject_ClearWeakRefs(hl_runtime_t *rt, hl_object_t *object);
ssize_t _PyWeakref_GetWeakrefCount(PyWeakReference *head);
#define PyWeakref_Check(op) Py_IS_TYPE((op), &hl_weakref_type)

/* Full collections clear the free lists (gcmodule.c: clear_freelists). */
void _PyTuple_ClearFreeList(hl_runtime_t *rt);
void _PyFloat_ClearFreeList(hl_runtime_t *rt);
void _PyList_ClearFreeList(hl_runtime_t *rt);
void _PyDict_ClearFreeList(hl_runtime_t *rt);

/* Runtime set-up of per-type state (the small ints, the () singleton). */
void _PyLong_InitSmallInts(hl_runtime_t *rt);
void _PyTuple_InitEmpty(hl_runtime_t *rt);
hl_object_t *_PyTuple_Empty(hl_runtime_t *rt);

/* A heap type's storage: the runtime frees them at the end. */
void _PyInstance_FreeTypes(hl_runtime_t *rt);

#endif /* HL_TYPES_INTERNAL_H */
