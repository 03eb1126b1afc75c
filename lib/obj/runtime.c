/* runtime.c: making and finalizing a runtime (one interpreter), its
 * allocation wrappers and its error indicator.
 *
 * A runtime owns a set of PEP 445 domains (hl_pymem_t).  Every block the
 * object layer takes goes through one of three wrappers, which count what is
 * outstanding per domain:
 *
 *     hl_obj_malloc / hl_obj_realloc / hl_obj_free   PyObject_*   objects, key tables
 *     hl_mem_malloc / ... / hl_mem_free              PyMem_*      list item arrays
 *
 *     rt->obj_blocks == blocks taken from OBJ and not yet given back
 *     rt->mem_blocks == the same for MEM
 *
 * so a leak check needs nothing from the allocator underneath (glibc, for
 * one, cannot count a single instance's blocks).
 *
 * Finalization follows Py_FinalizeEx's order for what heaplab has: empty
 * gc.garbage, collect, clear the free lists, release the singletons' state,
 * then the domains.
 */
#include "object_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* ---------------------------------------------------------------------- */
/* Allocation wrappers */

void *hl_obj_malloc(hl_runtime_t *rt, size_t n)
{
    void *p = hl_pyobject_malloc(rt->pm, n);
    if (p != NULL)
        rt->obj_blocks++;
    return p;
}

void *hl_obj_realloc(hl_runtime_t *rt, void *p, size_t n)
{
    void *q = hl_pyobject_realloc(rt->pm, p, n);
    if (q != NULL && p == NULL)
        rt->obj_blocks++;
    return q;
}

void hl_obj_free(hl_runtime_t *rt, void *p)
{
    if (p == NULL)
        return;
    rt->obj_blocks--;
    hl_pyobject_free(rt->pm, p);
}

void *hl_mem_malloc(hl_runtime_t *rt, size_t n)
{
    void *p = hl_pymem_malloc(rt->pm, n);
    if (p != NULL)
        rt->mem_blocks++;
    return p;
}

void *hl_mem_calloc(hl_runtime_t *rt, size_t nelem, size_t elsize)
{
    void *p = hl_pymem_calloc(rt->pm, nelem, elsize);
    if (p != NULL)
        rt->mem_blocks++;
    return p;
}

void *hl_mem_realloc(hl_runtime_t *rt, void *p, size_t n)
{
    void *q = hl_pymem_realloc(rt->pm, p, n);
    if (q != NULL && p == NULL)
        rt->mem_blocks++;
    return q;
}

void hl_mem_free(hl_runtime_t *rt, void *p)
{
    if (p == NULL)
        return;
    rt->mem_blocks--;
    hl_pymem_free(rt->pm, p);
}

/* ---------------------------------------------------------------------- */
/* The error indicator */

void hl_err_set(hl_runtime_t *rt, hl_error_t kind, const char *fmt, ...)
{
    va_list ap;
    rt->err_kind = kind;
    va_start(ap, fmt);
    vsnprintf(rt->err_msg, sizeof rt->err_msg, fmt, ap);
    va_end(ap);
}

void *hl_err_nomemory(hl_runtime_t *rt)
{
    rt->err_kind = HL_ERR_MEMORY;
    rt->err_msg[0] = '\0';
    return NULL;
}

hl_error_t hl_runtime_error(const hl_runtime_t *rt)
{
    return rt->err_kind;
}

const char *hl_runtime_error_message(const hl_runtime_t *rt)
{
    return rt->err_msg;
}

void hl_runtime_clear_error(hl_runtime_t *rt)
{
    rt->err_kind = HL_ERR_NONE;
    rt->err_msg[0] = '\0';
}

/* ---------------------------------------------------------------------- */
/* Life cycle */

int hl_runtime_create(const char *allocator, const hl_alloc_options_t *opt,
                      hl_runtime_t **out, char *err, size_t errlen)
{
    *out = NULL;
    hl_runtime_t *rt = calloc(1, sizeof *rt);
    if (rt == NULL)
        return _hl_err(err, errlen, "out of memory");
    if (hl_pymem_create(allocator != NULL ? allocator : "pymalloc", opt, &rt->pm, err,
                        errlen) != 0) {
        free(rt);
        return -1;
    }
    _PyLong_InitSmallInts(rt);
    _PyTuple_InitEmpty(rt);
    _PyGC_Init(rt, &rt->gc);
    if (rt->gc.garbage == NULL) {
        hl_pymem_destroy(rt->pm);
        free(rt);
        return _hl_err(err, errlen, "out of memory creating gc.garbage");
    }
    *out = rt;
    return 0;
}

void hl_runtime_destroy(hl_runtime_t *rt)
{
    if (rt == NULL)
        return;
    /* finalize_interp_clear: gc.garbage goes first, then a last collection
       (with the callbacks gone, as at shutdown), then the free lists. */
    rt->gc.ncallbacks = 0;
    hl_list_clear(rt, rt->gc.garbage);
    _PyGC_CollectNoFail(rt);
    _PyGC_Fini(rt);
    _PyTuple_ClearFreeList(rt);
    _PyFloat_ClearFreeList(rt);
    _PyList_ClearFreeList(rt);
    _PyDict_ClearFreeList(rt);
    _PyInstance_FreeTypes(rt);
    hl_pymem_destroy(rt->pm);
    free(rt);
}

hl_pymem_t *hl_runtime_pymem(hl_runtime_t *rt)
{
    return rt->pm;
}

void hl_runtime_usage(const hl_runtime_t *rt, hl_runtime_usage_t *out)
{
    out->objects = rt->objects;
    out->obj_blocks = rt->obj_blocks;
    out->mem_blocks = rt->mem_blocks;
}
