/* heaplab/pymem.h: CPython's allocator domains (PEP 445), the debug hooks
 * (PYTHONMALLOC=debug) and a fault-injection wrapper.
 *
 * CPython routes every allocation through one of three domains, each a slot
 * holding a PyMemAllocatorEx {ctx, malloc, calloc, realloc, free}:
 *
 *     domain  call functions      3.11 default       GIL
 *     RAW     PyMem_Raw*          malloc             not needed
 *     MEM     PyMem_*             pymalloc           needed
 *     OBJ     PyObject_*          pymalloc (shared)  needed
 *
 * MEM and OBJ share ONE pymalloc, whose requests it does not serve itself
 * (0 bytes, over 512, or when no arena can be had) go to PyMem_RawMalloc,
 * i.e. through the RAW domain as it is *now*: replace RAW and pymalloc's
 * fallback follows.  heaplab's hl_pymem_t is one such set of three slots
 * plus the allocators it created for them; there is no global state, so a
 * test can make as many as it likes.  The MEM/OBJ allocator may be any
 * registry name, so an object workload runs over every registered allocator:
 *
 *     hl_pymem_t *pm;
 *     if (hl_pymem_create("pymalloc_debug", NULL, &pm, err, sizeof err) != 0) ...
 *     void *p = hl_pyobject_malloc(pm, 40);
 *     hl_pyobject_free(pm, p);
 *     hl_pymem_destroy(pm);
 *
 * The debug hooks decorate whatever a slot holds (save the previous
 * allocator in their ctx, install wrappers), with CPython's exact block
 * layout, byte patterns, checks, dump and fatal-error text; see
 * lib/mem/debug_hooks.c.  The fault-injection wrapper is one more decorator
 * of the same kind, after _testcapi.set_nomemory(); see
 * lib/mem/fault_inject.c.
 */
#ifndef HEAPLAB_PYMEM_H
#define HEAPLAB_PYMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heaplab/allocator.h"
#include "heaplab/arena_source.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------- */
/* Domains */

typedef enum hl_pymem_domain_e {
    HL_PYMEM_DOMAIN_RAW = 0,   /* PyMem_Raw*  */
    HL_PYMEM_DOMAIN_MEM = 1,   /* PyMem_*     */
    HL_PYMEM_DOMAIN_OBJ = 2,   /* PyObject_*  */
} hl_pymem_domain_t;
#define HL_PYMEM_DOMAIN_COUNT 3

/* PyMemAllocatorEx. */
typedef struct hl_mem_allocator_ex_s {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *ptr, size_t new_size);
    void (*free)(void *ctx, void *ptr);
} hl_mem_allocator_ex_t;

/* Py_ssize_t is ssize_t: every call function returns NULL above this, and
 * the calloc ones also when nelem * elsize would exceed it. */
#define HL_PY_SSIZE_T_MAX ((size_t)PTRDIFF_MAX)

typedef struct hl_pymem_s hl_pymem_t;

/* Make a set of domains configured as PYTHONMALLOC=`name` would:
 *
 *   NULL, "", "default", "pymalloc"  RAW = glibc, MEM = OBJ = one pymalloc
 *   "malloc"                         RAW = MEM = OBJ = the same glibc
 *   "debug", "pymalloc_debug",
 *   "malloc_debug"                   the same, then debug hooks on all three
 *   any registry name R              RAW = glibc, MEM = OBJ = one R
 *   R "_debug"                       ... then debug hooks on all three
 *
 * The MEM/OBJ allocator is created with `opt` (arena kind), its raw
 * fallback set to a view of the RAW domain (hl_pymem_domain_view) --
 * except `cpython`, whose obmalloc falls back to libpython's own
 * PyMem_RawMalloc and takes no raw allocator.  If
 * opt->raw is non-NULL it becomes the RAW domain's allocator (not owned:
 * it must outlive the instance); otherwise a private `glibc` is made.
 * Debug hooks go on RAW before the MEM/OBJ allocator is created, so
 * anything it allocates through RAW is decorated from the start.
 * Returns 0, or -1 with a message in err. */
int hl_pymem_create(const char *name, const hl_alloc_options_t *opt,
                    hl_pymem_t **out, char *err, size_t errlen);

/* Destroys the allocators the instance created (MEM/OBJ first, since it
 * may free through RAW) and the instance.  Whatever is installed in the
 * slots by hl_pymem_set_allocator is the caller's. */
void hl_pymem_destroy(hl_pymem_t *pm);

/* The configuration name hl_pymem_create was given ("default" for NULL). */
const char *hl_pymem_name(const hl_pymem_t *pm);

/* PyMem_GetAllocator / PyMem_SetAllocator.  An unknown domain: get zeroes
 * *out, set does nothing.  As in CPython, replacing a domain's allocator
 * after blocks were allocated through it is the caller's problem: a block
 * must be freed by the allocator that made it. */
void hl_pymem_get_allocator(const hl_pymem_t *pm, hl_pymem_domain_t domain,
                            hl_mem_allocator_ex_t *out);
void hl_pymem_set_allocator(hl_pymem_t *pm, hl_pymem_domain_t domain,
                            const hl_mem_allocator_ex_t *allocator);

/* The call functions. */
void *hl_pymem_raw_malloc(hl_pymem_t *pm, size_t size);
void *hl_pymem_raw_calloc(hl_pymem_t *pm, size_t nelem, size_t elsize);
void *hl_pymem_raw_realloc(hl_pymem_t *pm, void *ptr, size_t new_size);
void hl_pymem_raw_free(hl_pymem_t *pm, void *ptr);

void *hl_pymem_malloc(hl_pymem_t *pm, size_t size);
void *hl_pymem_calloc(hl_pymem_t *pm, size_t nelem, size_t elsize);
void *hl_pymem_realloc(hl_pymem_t *pm, void *ptr, size_t new_size);
void hl_pymem_free(hl_pymem_t *pm, void *ptr);

void *hl_pyobject_malloc(hl_pymem_t *pm, size_t size);
void *hl_pyobject_calloc(hl_pymem_t *pm, size_t nelem, size_t elsize);
void *hl_pyobject_realloc(hl_pymem_t *pm, void *ptr, size_t new_size);
void hl_pyobject_free(hl_pymem_t *pm, void *ptr);

/* A full hl_allocator_t that calls through the domain's slot as it is at
 * each call (with the PY_SSIZE_T_MAX limits), so code written against the
 * one vtable can run on a domain.  usable_size/stats/check/print_stats are
 * answered by looking through the slot: an adapted hl_allocator_t answers
 * itself, debug hooks answer for their blocks (usable_size = the size
 * requested) and delegate the rest; a foreign PEP 445 allocator cannot be
 * asked, so usable_size is 0, stats empty, check true, print_stats 0.
 * destroy() does nothing: the view belongs to pm. */
void hl_pymem_domain_view(hl_pymem_t *pm, hl_pymem_domain_t domain,
                          hl_allocator_t *out);

/* The PEP 445 face of an hl_allocator_t: ctx is `a` itself (so `a` must
 * outlive every use), the functions call a->ops. */
void hl_mem_allocator_ex_from(const hl_allocator_t *a, hl_mem_allocator_ex_t *out);

/* If `ex` is an adapter made by hl_mem_allocator_ex_from, the allocator
 * behind it, else NULL. */
const hl_allocator_t *hl_mem_allocator_ex_target(const hl_mem_allocator_ex_t *ex);

/* ---------------------------------------------------------------------- */
/* Debug hooks (CPython's PYTHONMALLOC=debug, serial number off) */

#define HL_PYMEM_CLEANBYTE     0xCD  /* new data, realloc growth */
#define HL_PYMEM_DEADBYTE      0xDD  /* the whole block, on free */
#define HL_PYMEM_FORBIDDENBYTE 0xFD  /* pads either side of the data */
#define HL_PYMEM_DEBUG_EXTRA_BYTES (3 * sizeof(size_t))

/* API ids written at base[S]. */
#define HL_PYMEM_API_RAW 'r'
#define HL_PYMEM_API_MEM 'm'
#define HL_PYMEM_API_OBJ 'o'

/* PyMem_SetupDebugHooks: decorate every domain (a domain already hooked is
 * left alone, as CPython does).  The per-domain one returns -1 for an
 * unknown domain.  Install before the domain hands out blocks. */
void hl_pymem_setup_debug_hooks(hl_pymem_t *pm);
int hl_pymem_setup_debug_hooks_domain(hl_pymem_t *pm, hl_pymem_domain_t domain);
bool hl_pymem_debug_hooks_installed(const hl_pymem_t *pm, hl_pymem_domain_t domain);

/* The debug hooks as a decorator of any hl_allocator_t, outside any domain
 * set: `out` allocates through `inner` with the debug layout and API id
 * `api_id`.  usable_size is the size requested; stats/check/print_stats are
 * inner's (its live bytes include the 3*S overhead per block).  destroy
 * frees only the wrapper.  Returns 0, or -1 if out of memory. */
int hl_debug_hooks_wrap(const hl_allocator_t *inner, char api_id, hl_allocator_t *out);

/* _PyMem_DebugCheckAddress: verify the API id, the leading pad, then the
 * trailing pad of debug block p; on the first bad one dump the block and
 * die with CPython's fatal error (`func` names the caller in the message,
 * as CPython passes __func__). */
void hl_pymem_debug_check_address(const char *func, char api_id, const void *p);

/* _PyObject_DebugDumpAddress: the block report, on fd 2. */
void hl_pymem_debug_dump_address(const void *p);

/* _Py_FatalErrorFunc: "Fatal Python error: FUNC: MESSAGE\n" on fd 2, then
 * abort().  func may be NULL ("Fatal Python error: MESSAGE"). */
__attribute__((noreturn, format(printf, 2, 3)))
void hl_py_fatal_error_func(const char *func, const char *fmt, ...);

/* _PyMem_IsPtrFreed: does this pointer value look like one read from
 * memory the debug hooks filled (or NULL)? */
static inline bool hl_pymem_is_ptr_freed(const void *ptr)
{
    uintptr_t v = (uintptr_t)ptr;
#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
    return v == 0 || v == (uintptr_t)0xCDCDCDCDCDCDCDCDu
        || v == (uintptr_t)0xDDDDDDDDDDDDDDDDu
        || v == (uintptr_t)0xFDFDFDFDFDFDFDFDu;
#else
    return v == 0 || v == (uintptr_t)0xCDCDCDCDu || v == (uintptr_t)0xDDDDDDDDu
        || v == (uintptr_t)0xFDFDFDFDu;
#endif
}

/* ---------------------------------------------------------------------- */
/* Fault injection (_testcapi.set_nomemory as a decorator) */

typedef enum hl_fault_mode_e {
    HL_FAULT_NTH = 0,    /* fail the Nth counted call only */
    HL_FAULT_FROM_NTH,   /* fail the Nth counted call and every one after */
} hl_fault_mode_t;

/* Wrap `inner` (not owned; must outlive the wrapper).  Every malloc,
 * calloc and realloc -- growing, shrinking or realloc(NULL, n) alike, as
 * set_nomemory's hooks do -- is one counted call, numbered from 1; the
 * calls the mode selects return NULL without reaching inner (a failed
 * realloc leaves the block as it was).  n == 0 never fails: a pure
 * counter.  free and the rest are forwarded untouched; destroy frees only
 * the wrapper.  Returns 0, or -1 if out of memory. */
int hl_fault_inject_wrap(const hl_allocator_t *inner, hl_fault_mode_t mode, size_t n,
                         hl_allocator_t *out);
/* Re-arm a wrapper made by hl_fault_inject_wrap: new mode and n, counters
 * back to zero. */
void hl_fault_inject_arm(const hl_allocator_t *wrapper, hl_fault_mode_t mode, size_t n);
size_t hl_fault_inject_calls(const hl_allocator_t *wrapper);     /* counted calls */
size_t hl_fault_inject_failures(const hl_allocator_t *wrapper);  /* of which failed */

/* The same for an arena source: each alloc() is a counted call, free(),
 * held() are forwarded; destroy frees only the wrapper. */
int hl_fault_inject_wrap_source(const hl_arena_source_t *inner, hl_fault_mode_t mode,
                                size_t n, hl_arena_source_t *out);
void hl_fault_inject_source_arm(const hl_arena_source_t *wrapper, hl_fault_mode_t mode,
                                size_t n);
size_t hl_fault_inject_source_calls(const hl_arena_source_t *wrapper);
size_t hl_fault_inject_source_failures(const hl_arena_source_t *wrapper);

#ifdef __cplusplus
}
#endif
#endif /* HEAPLAB_PYMEM_H */
