/* runtime_internal.h: one interpreter's state (PyInterpreterState and its
 * thread's PyThreadState rolled into one): domains, collector, free lists,
 * static singletons, trashcan, error indicator and the accounting that the
 * leak checks read.
 */
#ifndef HL_RUNTIME_INTERNAL_H
#define HL_RUNTIME_INTERNAL_H

#ifndef HL_OBJECT_INTERNAL_H
#error "include object_internal.h, which includes this header in order"
#endif

struct hl_runtime_s {
    hl_pymem_t *pm;

    /* Accounting (hl_runtime_usage). */
    ssize_t objects;
    ssize_t obj_blocks;
    ssize_t mem_blocks;

    GCState gc;

    /* struct _Py_float_state: linked through ob_type. */
    struct {
        int numfree;
        PyFloatObject *free_list;
    } float_state;

    /* struct _Py_tuple_state: free_list[n-1] holds tuples of length n,
     * linked through ob_item[0]. */
    struct {
        PyTupleObject *free_list[PyTuple_NFREELISTS];
        int numfree[PyTuple_NFREELISTS];
    } tuple_state;

    /* struct _Py_list_state: a stack. */
    struct {
        PyListObject *free_list[PyList_MAXFREELIST];
        int numfree;
    } list_state;

    /* struct _Py_dict_state: dicts, and key tables of the minimum size. */
    struct {
        PyDictObject *free_list[PyDict_MAXFREELIST];
        int numfree;
        PyDictKeysObject *keys_free_list[PyDict_MAXFREELIST];
        int keys_numfree;
    } dict_state;

    /* Statically allocated objects (never freed, never counted). */
    struct {
        PyLongObject small_ints[_PY_NSMALLNEGINTS + _PY_NSMALLPOSINTS];
        struct {
            PyGC_Head gc;          /* untracked, as 3.11's static () */
            PyTupleObject tuple;
        } tuple_empty;
    } singletons;

    /* Trashcan. */
    int trash_delete_nesting;
    hl_object_t *trash_delete_later;

    /* Dict versions (DICT_NEXT_VERSION). */
    uint64_t dict_version;

    /* Instance types made by hl_instance_type_new. */
    hl_type_t *heaptypes;

    /* The error indicator. */
    hl_error_t err_kind;
    char err_msg[160];
};

static inline GCState *get_gc_state(hl_runtime_t *rt)
{
    return &rt->gc;
}

#endif /* HL_RUNTIME_INTERNAL_H */
