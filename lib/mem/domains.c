/* domains.c: PEP 445's three allocator domains, as one hl_pymem_t.
 *
 * CPython keeps the slots in a static array, allocators[RAW, MEM, OBJ]
 * (plus GC in 3.13+), filled at startup from PYTHONMALLOC.  heaplab keeps
 * them in an instance, next to the allocators the instance made for them:
 *
 *     hl_pymem_t
 *       slots[RAW] ---- adapter ----> raw       glibc (or opt->raw)
 *       slots[MEM] --+- adapter ----> mem       one pymalloc, or any registry
 *       slots[OBJ] --+                          allocator, whose opt.raw is
 *                                     views[RAW]   ... this view of RAW
 *       debug[d]      the debug hooks' ctx for slot d, when installed:
 *                     {api id, the allocator the slot held before}
 *
 * The view of RAW given to the MEM/OBJ allocator as its raw fallback calls
 * through slots[RAW] at each call, as pymalloc's PyMem_RawMalloc does: with
 * PYTHONMALLOC=debug a 600-byte PyMem_Malloc is decorated twice, once by
 * the MEM hooks and once by the RAW hooks under pymalloc, exactly as in
 * CPython.
 *
 * (Except under `cpython`: CPython's own obmalloc, inside libpython, falls
 * back to libpython's PyMem_RawMalloc, which no heaplab slot can reach.)
 *
 * Named configurations follow _PyMem_GetAllocatorName/_PyMem_SetupAllocators
 * (3.11): "default" and "pymalloc" put pymalloc under MEM and OBJ, "malloc"
 * puts malloc there (heaplab: the RAW domain's glibc, shared), and a
 * "_debug" suffix -- or "debug" alone -- then hooks all three domains.  Any
 * registry name may stand where "pymalloc" does.
 *
 * Invariants:
 *   - slots[d] is what hl_pymem_get_allocator(d) returns; nothing else is
 *     consulted by the call functions.
 *   - debug[d].alloc is meaningful iff slots[d] is the debug hooks with
 *     ctx == &debug[d].
 *   - mem_owned iff `mem` is an allocator the instance made and must
 *     destroy; raw_owned likewise for `raw`.  mem is destroyed before raw.
 */
#include "hl_debug.h"
#include "hl_registry.h"
#include "pymem_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct pymem_view_s {
    hl_pymem_t *pm;
    hl_pymem_domain_t domain;
} pymem_view_t;

struct hl_pymem_s {
    hl_mem_allocator_ex_t slots[HL_PYMEM_DOMAIN_COUNT];
    hl_debug_api_t debug[HL_PYMEM_DOMAIN_COUNT];
    pymem_view_t views[HL_PYMEM_DOMAIN_COUNT];
    hl_allocator_t raw_view;       /* hl_pymem_domain_view(RAW), for mem */
    hl_allocator_t raw;
    hl_allocator_t mem;
    const hl_allocator_t *raw_used;  /* &raw, or opt->raw */
    const hl_allocator_t *mem_used;  /* &mem, or raw_used for "malloc" */
    bool raw_owned, mem_owned;
    char name[64];
};

static const char api_ids[HL_PYMEM_DOMAIN_COUNT] = {
    HL_PYMEM_API_RAW, HL_PYMEM_API_MEM, HL_PYMEM_API_OBJ,
};

static bool domain_ok(hl_pymem_domain_t d)
{
    return (unsigned)d < HL_PYMEM_DOMAIN_COUNT;
}

/* ---------------------------------------------------------------------- */
/* Creation */

int hl_pymem_create(const char *name, const hl_alloc_options_t *opt,
                    hl_pymem_t **out, char *err, size_t errlen)
{
    static const hl_alloc_options_t defaults = {HL_ARENAS_MMAP, NULL};
    if (!opt)
        opt = &defaults;
    if (!name || !*name)
        name = "default";
    size_t len = strlen(name);

    hl_pymem_t *pm = calloc(1, sizeof *pm);
    if (!pm)
        return _hl_err(err, errlen, "pymem: out of memory");
    if (len >= sizeof pm->name) {
        free(pm);
        return _hl_err(err, errlen, "pymem: configuration name too long: '%s'", name);
    }
    memcpy(pm->name, name, len + 1);

    /* Split "BASE_debug"; "debug" alone is "default_debug". */
    char base[sizeof pm->name];
    bool debug = false;
    memcpy(base, name, len + 1);
    if (strcmp(base, "debug") == 0) {
        strcpy(base, "default");
        debug = true;
    } else if (len > 6 && strcmp(base + len - 6, "_debug") == 0) {
        base[len - 6] = '\0';
        debug = true;
    }
    if (strcmp(base, "default") == 0)
        strcpy(base, "pymalloc");
    bool use_malloc = strcmp(base, "malloc") == 0;
    if (!use_malloc && !hl_registry_find(base)) {
        free(pm);
        return _hl_err(err, errlen,
                       "pymem: unknown configuration '%s' (PYTHONMALLOC names, or an "
                       "allocator from `heaplab list`, optionally with _debug)", name);
    }

    for (int d = 0; d < HL_PYMEM_DOMAIN_COUNT; d++) {
        pm->views[d].pm = pm;
        pm->views[d].domain = (hl_pymem_domain_t)d;
    }
    hl_pymem_domain_view(pm, HL_PYMEM_DOMAIN_RAW, &pm->raw_view);

    /* RAW first, hooked before anything can allocate through it. */
    if (opt->raw) {
        pm->raw_used = opt->raw;
    } else {
        if (hl_allocator_create("glibc", opt, &pm->raw, err, errlen) != 0) {
            free(pm);
            return -1;
        }
        pm->raw_owned = true;
        pm->raw_used = &pm->raw;
    }
    hl_mem_allocator_ex_from(pm->raw_used, &pm->slots[HL_PYMEM_DOMAIN_RAW]);
    if (debug)
        hl_pymem_setup_debug_hooks_domain(pm, HL_PYMEM_DOMAIN_RAW);

    if (use_malloc) {
        pm->mem_used = pm->raw_used;
    } else {
        hl_alloc_options_t mopt = *opt;
        /* libpython's obmalloc falls back to its own PyMem_RawMalloc, the C
         * library's malloc: the `cpython` peer takes no raw allocator. */
        mopt.raw = strcmp(base, "cpython") == 0 ? NULL : &pm->raw_view;
        if (hl_allocator_create(base, &mopt, &pm->mem, err, errlen) != 0) {
            if (pm->raw_owned)
                hl_allocator_destroy(&pm->raw);
            free(pm);
            return -1;
        }
        pm->mem_owned = true;
        pm->mem_used = &pm->mem;
    }
    hl_mem_allocator_ex_from(pm->mem_used, &pm->slots[HL_PYMEM_DOMAIN_MEM]);
    hl_mem_allocator_ex_from(pm->mem_used, &pm->slots[HL_PYMEM_DOMAIN_OBJ]);
    if (debug) {
        hl_pymem_setup_debug_hooks_domain(pm, HL_PYMEM_DOMAIN_MEM);
        hl_pymem_setup_debug_hooks_domain(pm, HL_PYMEM_DOMAIN_OBJ);
    }
    *out = pm;
    return 0;
}

void hl_pymem_destroy(hl_pymem_t *pm)
{
    if (!pm)
        return;
    if (pm->mem_owned)
        hl_allocator_destroy(&pm->mem);
    if (pm->raw_owned)
        hl_allocator_destroy(&pm->raw);
    free(pm);
}

const char *hl_pymem_name(const hl_pymem_t *pm)
{
    return pm->name;
}

/* ---------------------------------------------------------------------- */
/* Slots */

void hl_pymem_get_allocator(const hl_pymem_t *pm, hl_pymem_domain_t domain,
                            hl_mem_allocator_ex_t *out)
{
    if (!domain_ok(domain))
        memset(out, 0, sizeof *out);
    else
        *out = pm->slots[domain];
}

void hl_pymem_set_allocator(hl_pymem_t *pm, hl_pymem_domain_t domain,
                            const hl_mem_allocator_ex_t *allocator)
{
    if (domain_ok(domain))
        pm->slots[domain] = *allocator;
}

int hl_pymem_setup_debug_hooks_domain(hl_pymem_t *pm, hl_pymem_domain_t domain)
{
    if (!domain_ok(domain))
        return -1;
    if (hl_pymem_debug_hooks_installed(pm, domain))
        return 0;   /* as _PyMem_SetupDebugHooksDomain: never twice */
    hl_debug_api_t *api = &pm->debug[domain];
    api->api_id = api_ids[domain];
    api->alloc = pm->slots[domain];
    _hl_debug_hooks_ex(api, &pm->slots[domain]);
    return 0;
}

void hl_pymem_setup_debug_hooks(hl_pymem_t *pm)
{
    for (int d = 0; d < HL_PYMEM_DOMAIN_COUNT; d++)
        hl_pymem_setup_debug_hooks_domain(pm, (hl_pymem_domain_t)d);
}

bool hl_pymem_debug_hooks_installed(const hl_pymem_t *pm, hl_pymem_domain_t domain)
{
    return domain_ok(domain) && _hl_debug_hooks_api(&pm->slots[domain]) == &pm->debug[domain];
}

/* ---------------------------------------------------------------------- */
/* Call functions.  Py_ssize_t is signed: CPython refuses anything above
 * PY_SSIZE_T_MAX before the allocator sees it ("most python internals
 * blindly use a signed Py_ssize_t"). */

#define CALL_MALLOC(d, size)                                               \
    do {                                                                   \
        if ((size) > HL_PY_SSIZE_T_MAX)                                    \
            return NULL;                                                   \
        const hl_mem_allocator_ex_t *a = &pm->slots[d];                    \
        return a->malloc(a->ctx, (size));                                  \
    } while (0)
#define CALL_CALLOC(d, nelem, elsize)                                      \
    do {                                                                   \
        if ((elsize) != 0 && (nelem) > HL_PY_SSIZE_T_MAX / (elsize))       \
            return NULL;                                                   \
        const hl_mem_allocator_ex_t *a = &pm->slots[d];                    \
        return a->calloc(a->ctx, (nelem), (elsize));                       \
    } while (0)
#define CALL_REALLOC(d, ptr, size)                                         \
    do {                                                                   \
        if ((size) > HL_PY_SSIZE_T_MAX)                                    \
            return NULL;                                                   \
        const hl_mem_allocator_ex_t *a = &pm->slots[d];                    \
        return a->realloc(a->ctx, (ptr), (size));                          \
    } while (0)
#define CALL_FREE(d, ptr)                                                  \
    do {                                                                   \
        const hl_mem_allocator_ex_t *a = &pm->slots[d];                    \
        a->free(a->ctx, (ptr));                                            \
    } while (0)

void *hl_pymem_raw_malloc(hl_pymem_t *pm, size_t size)
{ CALL_MALLOC(HL_PYMEM_DOMAIN_RAW, size); }
void *hl_pymem_raw_calloc(hl_pymem_t *pm, size_t nelem, size_t elsize)
{ CALL_CALLOC(HL_PYMEM_DOMAIN_RAW, nelem, elsize); }
void *hl_pymem_raw_realloc(hl_pymem_t *pm, void *ptr, size_t new_size)
{ CALL_REALLOC(HL_PYMEM_DOMAIN_RAW, ptr, new_size); }
void hl_pymem_raw_free(hl_pymem_t *pm, void *ptr)
{ CALL_FREE(HL_PYMEM_DOMAIN_RAW, ptr); }

void *hl_pymem_malloc(hl_pymem_t *pm, size_t size)
{ CALL_MALLOC(HL_PYMEM_DOMAIN_MEM, size); }
void *hl_pymem_calloc(hl_pymem_t *pm, size_t nelem, size_t elsize)
{ CALL_CALLOC(HL_PYMEM_DOMAIN_MEM, nelem, elsize); }
void *hl_pymem_realloc(hl_pymem_t *pm, void *ptr, size_t new_size)
{ CALL_REALLOC(HL_PYMEM_DOMAIN_MEM, ptr, new_size); }
void hl_pymem_free(hl_pymem_t *pm, void *ptr)
{ CALL_FREE(HL_PYMEM_DOMAIN_MEM, ptr); }

void *hl_pyobject_malloc(hl_pymem_t *pm, size_t size)
{ CALL_MALLOC(HL_PYMEM_DOMAIN_OBJ, size); }
void *hl_pyobject_calloc(hl_pymem_t *pm, size_t nelem, size_t elsize)
{ CALL_CALLOC(HL_PYMEM_DOMAIN_OBJ, nelem, elsize); }
void *hl_pyobject_realloc(hl_pymem_t *pm, void *ptr, size_t new_size)
{ CALL_REALLOC(HL_PYMEM_DOMAIN_OBJ, ptr, new_size); }
void hl_pyobject_free(hl_pymem_t *pm, void *ptr)
{ CALL_FREE(HL_PYMEM_DOMAIN_OBJ, ptr); }

/* ---------------------------------------------------------------------- */
/* A domain as an hl_allocator_t */

static void *view_malloc(void *ctx, size_t n)
{
    pymem_view_t *v = ctx;
    hl_pymem_t *pm = v->pm;
    CALL_MALLOC(v->domain, n);
}

static void *view_calloc(void *ctx, size_t nelem, size_t elsize)
{
    pymem_view_t *v = ctx;
    hl_pymem_t *pm = v->pm;
    CALL_CALLOC(v->domain, nelem, elsize);
}

static void *view_realloc(void *ctx, void *p, size_t n)
{
    pymem_view_t *v = ctx;
    hl_pymem_t *pm = v->pm;
    CALL_REALLOC(v->domain, p, n);
}

static void view_free(void *ctx, void *p)
{
    pymem_view_t *v = ctx;
    hl_pymem_t *pm = v->pm;
    CALL_FREE(v->domain, p);
}

static const hl_mem_allocator_ex_t *view_slot(void *ctx)
{
    pymem_view_t *v = ctx;
    return &v->pm->slots[v->domain];
}

static size_t view_usable_size(void *ctx, const void *p)
{ return _hl_ex_usable_size(view_slot(ctx), p); }
static void view_stats(void *ctx, hl_stats_t *out)
{ _hl_ex_stats(view_slot(ctx), out); }
static bool view_check(void *ctx, FILE *report)
{ return _hl_ex_check(view_slot(ctx), report); }
static int view_print_stats(void *ctx, FILE *out)
{ return _hl_ex_print_stats(view_slot(ctx), out); }
static void view_destroy(void *ctx)
{ HL_UNUSED(ctx); }
/* The heap views of the allocator behind the slot (heaplab/heapmap.h). */
static int view_walk(void *ctx, hl_span_fn fn, void *user)
{
    const hl_allocator_t *a = _hl_ex_allocator(view_slot(ctx));
    return a ? hl_walk(a, fn, user) : HL_NO_VIEW;
}
static int view_arenas(void *ctx, hl_arena_fn fn, void *user)
{
    const hl_allocator_t *a = _hl_ex_allocator(view_slot(ctx));
    return a ? hl_arenas(a, fn, user) : HL_NO_VIEW;
}

static const hl_allocator_ops_t view_ops = {
    .malloc = view_malloc,
    .calloc = view_calloc,
    .realloc = view_realloc,
    .free = view_free,
    .usable_size = view_usable_size,
    .stats = view_stats,
    .check = view_check,
    .print_stats = view_print_stats,
    .destroy = view_destroy,
    .walk = view_walk,
    .arena_view = view_arenas,
};

void hl_pymem_domain_view(hl_pymem_t *pm, hl_pymem_domain_t domain, hl_allocator_t *out)
{
    static const char *const names[HL_PYMEM_DOMAIN_COUNT] = {
        "pymem-raw", "pymem-mem", "pymem-obj",
    };
    hl_assert(domain_ok(domain));
    out->ops = &view_ops;
    out->ctx = &pm->views[domain];
    out->name = names[domain];
}
