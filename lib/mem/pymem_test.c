/* pymem_test.c: the three domains (defaults, named configurations, get/set,
 * limits, RAW as pymalloc's fallback), and the debug hooks through the
 * domains and over every registry allocator. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "death.h"
#include "mem_test_util.h"
#include "heaplab/pymem.h"

#define S sizeof(size_t)

static hl_pymem_t *make(const char *name)
{
    char err[256] = "";
    hl_pymem_t *pm = NULL;
    if (hl_pymem_create(name, NULL, &pm, err, sizeof err) != 0)
        fail_msg("hl_pymem_create(%s): %s", name ? name : "NULL", err);
    return pm;
}

static const char *target_name(hl_pymem_t *pm, hl_pymem_domain_t d)
{
    hl_mem_allocator_ex_t ex;
    hl_pymem_get_allocator(pm, d, &ex);
    const hl_allocator_t *a = hl_mem_allocator_ex_target(&ex);
    return a ? a->name : NULL;
}

/* ---------------------------------------------------------------------- */
/* Defaults and names */

static void test_defaults(void **state)
{
    (void)state;
    hl_pymem_t *pm = make(NULL);
    assert_string_equal(hl_pymem_name(pm), "default");
    assert_string_equal(target_name(pm, HL_PYMEM_DOMAIN_RAW), "glibc");
    assert_string_equal(target_name(pm, HL_PYMEM_DOMAIN_MEM), "pymalloc");
    hl_mem_allocator_ex_t mem, obj;
    hl_pymem_get_allocator(pm, HL_PYMEM_DOMAIN_MEM, &mem);
    hl_pymem_get_allocator(pm, HL_PYMEM_DOMAIN_OBJ, &obj);
    assert_memory_equal(&mem, &obj, sizeof mem);   /* ONE shared pymalloc */
    for (int d = 0; d < HL_PYMEM_DOMAIN_COUNT; d++)
        assert_false(hl_pymem_debug_hooks_installed(pm, (hl_pymem_domain_t)d));
    void *a = hl_pymem_malloc(pm, 40), *b = hl_pyobject_malloc(pm, 40);
    void *c = hl_pymem_raw_malloc(pm, 40);
    assert_non_null(a); assert_non_null(b); assert_non_null(c);
    hl_pyobject_free(pm, a);      /* same allocator: legal without hooks */
    hl_pymem_free(pm, b);
    hl_pymem_raw_free(pm, c);
    hl_pymem_destroy(pm);
}

static void test_named_configurations(void **state)
{
    (void)state;
    static const struct {
        const char *name, *raw, *mem;
        bool debug, shared;
    } cases[] = {
        {"default", "glibc", "pymalloc", false, false},
        {"", "glibc", "pymalloc", false, false},
        {"pymalloc", "glibc", "pymalloc", false, false},
        {"malloc", "glibc", "glibc", false, true},
        {"debug", "glibc", "pymalloc", true, false},
        {"pymalloc_debug", "glibc", "pymalloc", true, false},
        {"malloc_debug", "glibc", "glibc", true, true},
        {"pymalloc-classic", "glibc", "pymalloc-classic", false, false},
        {"glibc_debug", "glibc", "glibc", true, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hl_pymem_t *pm = make(cases[i].name);
        for (int d = 0; d < HL_PYMEM_DOMAIN_COUNT; d++)
            assert_int_equal(hl_pymem_debug_hooks_installed(pm, (hl_pymem_domain_t)d),
                             cases[i].debug);
        if (!cases[i].debug) {
            assert_string_equal(target_name(pm, HL_PYMEM_DOMAIN_RAW), cases[i].raw);
            assert_string_equal(target_name(pm, HL_PYMEM_DOMAIN_MEM), cases[i].mem);
            assert_string_equal(target_name(pm, HL_PYMEM_DOMAIN_OBJ), cases[i].mem);
            hl_mem_allocator_ex_t r, m;
            hl_pymem_get_allocator(pm, HL_PYMEM_DOMAIN_RAW, &r);
            hl_pymem_get_allocator(pm, HL_PYMEM_DOMAIN_MEM, &m);
            assert_int_equal(r.ctx == m.ctx, cases[i].shared);
        }
        for (int d = 0; d < HL_PYMEM_DOMAIN_COUNT; d++) {
            hl_allocator_t v;
            hl_pymem_domain_view(pm, (hl_pymem_domain_t)d, &v);
            void *p = hl_malloc(&v, 700);
            assert_non_null(p);
            p = hl_realloc(&v, p, 30);
            assert_non_null(p);
            hl_free(&v, p);
        }
        hl_pymem_destroy(pm);
    }

    char err[256];
    hl_pymem_t *pm = NULL;
    assert_int_equal(hl_pymem_create("nope", NULL, &pm, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown configuration 'nope'"));
    assert_int_equal(hl_pymem_create("_debug", NULL, &pm, err, sizeof err), -1);
    assert_int_equal(hl_pymem_create("pymalloc_debugx", NULL, &pm, err, sizeof err), -1);
    assert_null(pm);
}

/* ---------------------------------------------------------------------- */
/* get/set */

typedef struct counting_s {
    hl_mem_allocator_ex_t below;
    int mallocs, callocs, reallocs, frees;
} counting_t;

static void *c_malloc(void *ctx, size_t n)
{ counting_t *c = ctx; c->mallocs++; return c->below.malloc(c->below.ctx, n); }
static void *c_calloc(void *ctx, size_t a, size_t b)
{ counting_t *c = ctx; c->callocs++; return c->below.calloc(c->below.ctx, a, b); }
static void *c_realloc(void *ctx, void *p, size_t n)
{ counting_t *c = ctx; c->reallocs++; return c->below.realloc(c->below.ctx, p, n); }
static void c_free(void *ctx, void *p)
{ counting_t *c = ctx; c->frees++; c->below.free(c->below.ctx, p); }

static void test_get_set_round_trip(void **state)
{
    (void)state;
    hl_pymem_t *pm = make("default");
    for (int d = 0; d < HL_PYMEM_DOMAIN_COUNT; d++) {
        hl_mem_allocator_ex_t orig, got;
        hl_pymem_get_allocator(pm, (hl_pymem_domain_t)d, &orig);
        counting_t c = {.below = orig};
        hl_mem_allocator_ex_t mine = {&c, c_malloc, c_calloc, c_realloc, c_free};
        hl_pymem_set_allocator(pm, (hl_pymem_domain_t)d, &mine);
        hl_pymem_get_allocator(pm, (hl_pymem_domain_t)d, &got);
        assert_memory_equal(&got, &mine, sizeof got);

        void *(*m)(hl_pymem_t *, size_t) = d == 0 ? hl_pymem_raw_malloc
                                          : d == 1 ? hl_pymem_malloc : hl_pyobject_malloc;
        void *(*cl)(hl_pymem_t *, size_t, size_t) = d == 0 ? hl_pymem_raw_calloc
                                          : d == 1 ? hl_pymem_calloc : hl_pyobject_calloc;
        void *(*r)(hl_pymem_t *, void *, size_t) = d == 0 ? hl_pymem_raw_realloc
                                          : d == 1 ? hl_pymem_realloc : hl_pyobject_realloc;
        void (*f)(hl_pymem_t *, void *) = d == 0 ? hl_pymem_raw_free
                                          : d == 1 ? hl_pymem_free : hl_pyobject_free;
        void *p = m(pm, 10);
        void *q = cl(pm, 3, 4);
        p = r(pm, p, 100);
        f(pm, p);
        f(pm, q);
        assert_int_equal(c.mallocs, 1);
        assert_int_equal(c.callocs, 1);
        assert_int_equal(c.reallocs, 1);
        assert_int_equal(c.frees, 2);

        /* the limits are the call functions', before any allocator */
        assert_null(m(pm, HL_PY_SSIZE_T_MAX + 1));
        assert_null(m(pm, SIZE_MAX));
        assert_null(cl(pm, HL_PY_SSIZE_T_MAX / 2 + 1, 2));
        assert_null(cl(pm, SIZE_MAX, SIZE_MAX));
        assert_null(r(pm, NULL, HL_PY_SSIZE_T_MAX + 1));
        assert_int_equal(c.mallocs + c.callocs + c.reallocs, 3);
        void *z = cl(pm, 0, 5);             /* 0 elements: a unique block */
        assert_non_null(z);
        f(pm, z);

        hl_pymem_set_allocator(pm, (hl_pymem_domain_t)d, &orig);
        hl_pymem_get_allocator(pm, (hl_pymem_domain_t)d, &got);
        assert_memory_equal(&got, &orig, sizeof got);
    }
    /* unknown domain: get zeroes, set ignores */
    hl_mem_allocator_ex_t junk;
    memset(&junk, 0x5A, sizeof junk);
    hl_pymem_get_allocator(pm, (hl_pymem_domain_t)3, &junk);
    hl_mem_allocator_ex_t zero = {0};
    assert_memory_equal(&junk, &zero, sizeof junk);
    hl_pymem_set_allocator(pm, (hl_pymem_domain_t)7, &zero);
    assert_int_equal(hl_pymem_setup_debug_hooks_domain(pm, (hl_pymem_domain_t)3), -1);
    void *p = hl_pymem_malloc(pm, 1);
    assert_non_null(p);
    hl_pymem_free(pm, p);
    hl_pymem_destroy(pm);
}

/* pymalloc's fallback is the RAW domain: a 600-byte PyMem_Malloc is one
 * RAW call; a 16-byte one is none. */
static void test_mem_falls_back_to_raw_domain(void **state)
{
    (void)state;
    char err[256];
    hl_allocator_t glibc, counter;
    assert_int_equal(hl_allocator_create("glibc", NULL, &glibc, err, sizeof err), 0);
    assert_int_equal(hl_fault_inject_wrap(&glibc, HL_FAULT_NTH, 0, &counter), 0);
    hl_alloc_options_t opt = {HL_ARENAS_MMAP, &counter};
    hl_pymem_t *pm;
    assert_int_equal(hl_pymem_create("default", &opt, &pm, err, sizeof err), 0);
    hl_mem_allocator_ex_t rawslot;
    hl_pymem_get_allocator(pm, HL_PYMEM_DOMAIN_RAW, &rawslot);
    assert_ptr_equal(hl_mem_allocator_ex_target(&rawslot), &counter);

    void *warm = hl_pymem_malloc(pm, 16);    /* first arena, arena table */
    size_t c0 = hl_fault_inject_calls(&counter);
    void *small = hl_pyobject_malloc(pm, 16);
    assert_int_equal(hl_fault_inject_calls(&counter), c0);
    void *big = hl_pymem_malloc(pm, 600);
    assert_int_equal(hl_fault_inject_calls(&counter), c0 + 1);
    void *zero = hl_pyobject_malloc(pm, 0);  /* 0 bytes: raw too */
    assert_int_equal(hl_fault_inject_calls(&counter), c0 + 2);

    /* a new RAW slot is followed at once */
    hl_mem_allocator_ex_t raw;
    hl_pymem_get_allocator(pm, HL_PYMEM_DOMAIN_RAW, &raw);
    counting_t c = {.below = raw};
    hl_mem_allocator_ex_t mine = {&c, c_malloc, c_calloc, c_realloc, c_free};
    hl_pymem_set_allocator(pm, HL_PYMEM_DOMAIN_RAW, &mine);
    void *big2 = hl_pymem_malloc(pm, 1000);
    assert_int_equal(c.mallocs, 1);
    hl_pymem_free(pm, big2);
    assert_int_equal(c.frees, 1);
    hl_pymem_set_allocator(pm, HL_PYMEM_DOMAIN_RAW, &raw);

    /* the RAW view answers for the blocks */
    hl_allocator_t rv;
    hl_pymem_domain_view(pm, HL_PYMEM_DOMAIN_RAW, &rv);
    void *r = hl_malloc(&rv, 100);
    assert_true(hl_usable_size(&rv, r) >= 100);
    hl_stats_t st;
    hl_stats(&rv, &st);
    assert_true(st.valid & HL_STAT_HELD);
    assert_true(hl_check(&rv, NULL));
    hl_free(&rv, r);

    hl_pymem_free(pm, warm);
    hl_pyobject_free(pm, small);
    hl_pymem_free(pm, big);
    hl_pyobject_free(pm, zero);
    hl_pymem_destroy(pm);
    hl_allocator_destroy(&counter);
    hl_allocator_destroy(&glibc);
}

/* ---------------------------------------------------------------------- */
/* Debug hooks through the domains */

static void test_debug_layout_in_domains(void **state)
{
    (void)state;
    hl_pymem_t *pm = make("pymalloc_debug");
    unsigned char *o = hl_pyobject_malloc(pm, 40);
    hl_test_assert_decorated(o, 40, 'o');
    for (int i = 0; i < 40; i++) assert_int_equal(o[i], 0xCD);
    unsigned char *z = hl_pyobject_calloc(pm, 5, 8);
    hl_test_assert_decorated(z, 40, 'o');
    for (int i = 0; i < 40; i++) assert_int_equal(z[i], 0);
    unsigned char *r = hl_pymem_raw_malloc(pm, 7);
    hl_test_assert_decorated(r, 7, 'r');

    /* 600 bytes via MEM: MEM's hooks ask pymalloc for 624, which pymalloc
     * hands to PyMem_RawMalloc -- the RAW domain, hooked too. */
    unsigned char *m = hl_pymem_malloc(pm, 600);
    hl_test_assert_decorated(m, 600, 'm');
    hl_test_assert_decorated(m - 2 * S, 600 + 3 * S, 'r');

    /* realloc keeps data, growth is clean, block re-decorated */
    for (int i = 0; i < 40; i++) o[i] = (unsigned char)i;
    o = hl_pyobject_realloc(pm, o, 1000);
    hl_test_assert_decorated(o, 1000, 'o');
    for (int i = 0; i < 40; i++) assert_int_equal(o[i], i);
    for (int i = 40; i < 1000; i++) assert_int_equal(o[i], 0xCD);
    o = hl_pyobject_realloc(pm, o, 8);
    hl_test_assert_decorated(o, 8, 'o');
    for (int i = 0; i < 8; i++) assert_int_equal(o[i], i);

    hl_allocator_t ov;
    hl_pymem_domain_view(pm, HL_PYMEM_DOMAIN_OBJ, &ov);
    assert_int_equal(hl_usable_size(&ov, o), 8);
    hl_stats_t st;
    hl_stats(&ov, &st);
    assert_true(st.valid != 0);
    assert_true(hl_check(&ov, NULL));

    /* installing again changes nothing */
    hl_mem_allocator_ex_t before, after;
    hl_pymem_get_allocator(pm, HL_PYMEM_DOMAIN_OBJ, &before);
    hl_pymem_setup_debug_hooks(pm);
    hl_pymem_get_allocator(pm, HL_PYMEM_DOMAIN_OBJ, &after);
    assert_memory_equal(&before, &after, sizeof before);

    hl_pyobject_free(pm, o);
    hl_pyobject_free(pm, z);
    hl_pymem_raw_free(pm, r);
    hl_pymem_free(pm, m);
    hl_pymem_destroy(pm);
}

/* Hooks installed at run time on a plain configuration, before use. */
static void test_setup_debug_hooks_later(void **state)
{
    (void)state;
    hl_pymem_t *pm = make("malloc");
    hl_pymem_setup_debug_hooks(pm);
    for (int d = 0; d < HL_PYMEM_DOMAIN_COUNT; d++)
        assert_true(hl_pymem_debug_hooks_installed(pm, (hl_pymem_domain_t)d));
    unsigned char *p = hl_pymem_malloc(pm, 3);
    hl_test_assert_decorated(p, 3, 'm');
    hl_pymem_free(pm, p);
    hl_pymem_destroy(pm);
}

/* The hooks over every registered allocator, standalone and as a domain
 * configuration. */
static void test_hooks_over_every_allocator(void **state)
{
    (void)state;
    for (size_t i = 0; i < hl_registry_count(); i++) {
        const char *name = hl_registry_at(i)->name;
        char err[256];
        hl_allocator_t a, d;
        if (hl_allocator_create(name, NULL, &a, err, sizeof err) != 0)
            fail_msg("%s: %s", name, err);
        assert_int_equal(hl_debug_hooks_wrap(&a, 'o', &d), 0);
        static const size_t sizes[] = {0, 1, 8, 40, 500, 513, 4000, 300000};
        unsigned char *ps[8];
        for (int k = 0; k < 8; k++) {
            ps[k] = hl_malloc(&d, sizes[k]);
            assert_non_null(ps[k]);
            hl_test_assert_decorated(ps[k], sizes[k], 'o');
            for (size_t j = 0; j < sizes[k]; j++)
                if (ps[k][j] != 0xCD) fail_msg("%s: size %zu byte %zu", name, sizes[k], j);
            memset(ps[k], 0x5A, sizes[k]);
            assert_int_equal(hl_usable_size(&d, ps[k]), sizes[k]);
        }
        for (int k = 0; k < 8; k++) {
            size_t n2 = sizes[k] * 2 + 3;
            ps[k] = hl_realloc(&d, ps[k], n2);
            hl_test_assert_decorated(ps[k], n2, 'o');
            for (size_t j = 0; j < sizes[k]; j++)
                if (ps[k][j] != 0x5A) fail_msg("%s: realloc lost byte %zu", name, j);
            for (size_t j = sizes[k]; j < n2; j++)
                if (ps[k][j] != 0xCD) fail_msg("%s: growth byte %zu", name, j);
        }
        unsigned char *z = hl_calloc(&d, 33, 3);
        hl_test_assert_decorated(z, 99, 'o');
        for (int j = 0; j < 99; j++) assert_int_equal(z[j], 0);
        hl_free(&d, z);
        for (int k = 0; k < 8; k++)
            hl_free(&d, ps[k]);
        assert_true(hl_check(&d, NULL));
        hl_allocator_destroy(&d);
        hl_allocator_destroy(&a);

        /* NAME_debug as a configuration */
        char cfg[96];
        snprintf(cfg, sizeof cfg, "%s_debug", name);
        hl_pymem_t *pm = make(cfg);
        void *blocks[6] = {
            hl_pymem_raw_malloc(pm, 10), hl_pymem_malloc(pm, 20), hl_pyobject_malloc(pm, 30),
            hl_pymem_raw_malloc(pm, 1000), hl_pymem_malloc(pm, 2000), hl_pyobject_malloc(pm, 3000),
        };
        hl_test_assert_decorated(blocks[1], 20, 'm');
        hl_test_assert_decorated(blocks[5], 3000, 'o');
        hl_pymem_raw_free(pm, blocks[0]);
        hl_pymem_free(pm, blocks[1]);
        hl_pyobject_free(pm, blocks[2]);
        hl_pymem_raw_free(pm, blocks[3]);
        hl_pymem_free(pm, blocks[4]);
        hl_pyobject_free(pm, blocks[5]);
        hl_pymem_destroy(pm);
    }
}

/* ---------------------------------------------------------------------- */
/* Fatal errors through the domains, in children */

static void child_obj_freed_via_mem(void *arg)
{
    hl_pymem_t *pm = make(arg);
    unsigned char *p = hl_pyobject_malloc(pm, 12);
    hl_death_say_p(p);
    hl_pymem_free(pm, p);
}

static void test_wrong_domain_dies(void **state)
{
    (void)state;
    static const char *const cfgs[] = {"debug", "malloc_debug", "pymalloc-classic_debug"};
    for (size_t i = 0; i < 3; i++) {
        hl_death_t d;
        assert_int_equal(hl_death_run(child_obj_freed_via_mem, (void *)cfgs[i], &d), 0);
        hl_test_assert_aborted(&d);
        void *p = hl_test_parse_p(&d);
        char want[1024];
        snprintf(want, sizeof want,
                 "Debug memory block at address p=%p: API 'o'\n"
                 "    12 bytes originally requested\n"
                 "    The 7 pad bytes at p-7 are FORBIDDENBYTE, as expected.\n"
                 "    The 8 pad bytes at tail=%p are FORBIDDENBYTE, as expected.\n"
                 "    Data at p: cd cd cd cd cd cd cd cd cd cd cd cd\n"
                 "\n"
                 "Fatal Python error: _PyMem_DebugRawFree: bad ID: Allocated using API 'o', "
                 "verified using API 'm'\n",
                 p, (void *)((char *)p + 12));
        hl_test_assert_contains(d.err, want);
    }
}

static void child_pymalloc_overflow(void *arg)
{
    (void)arg;
    hl_pymem_t *pm = make("pymalloc_debug");
    unsigned char *p = hl_pyobject_malloc(pm, 5);
    hl_death_say_p(p);
    memcpy(p, "hello", 5);
    p[5] = '!';
    p = hl_pyobject_realloc(pm, p, 50);
}

static void test_pymalloc_overflow_dies(void **state)
{
    (void)state;
    hl_death_t d;
    assert_int_equal(hl_death_run(child_pymalloc_overflow, NULL, &d), 0);
    hl_test_assert_aborted(&d);
    void *p = hl_test_parse_p(&d);
    char want[1024];
    snprintf(want, sizeof want,
             "Debug memory block at address p=%p: API 'o'\n"
             "    5 bytes originally requested\n"
             "    The 7 pad bytes at p-7 are FORBIDDENBYTE, as expected.\n"
             "    The 8 pad bytes at tail=%p are not all FORBIDDENBYTE (0xfd):\n"
             "        at tail+0: 0x21 *** OUCH\n"
             "        at tail+1: 0xfd\n"
             "        at tail+2: 0xfd\n"
             "        at tail+3: 0xfd\n"
             "        at tail+4: 0xfd\n"
             "        at tail+5: 0xfd\n"
             "        at tail+6: 0xfd\n"
             "        at tail+7: 0xfd\n"
             "    Data at p: 68 65 6c 6c 6f\n"
             "\n"
             "Fatal Python error: _PyMem_DebugRawRealloc: bad trailing pad byte\n",
             p, (void *)((char *)p + 5));
    hl_test_assert_contains(d.err, want);
}

static void child_pymalloc_underflow(void *arg)
{
    (void)arg;
    hl_pymem_t *pm = make("debug");
    unsigned char *p = hl_pymem_malloc(pm, 24);
    hl_death_say_p(p);
    p[-3] = 0;
    hl_pymem_free(pm, p);
}

static void test_pymalloc_underflow_dies(void **state)
{
    (void)state;
    hl_death_t d;
    assert_int_equal(hl_death_run(child_pymalloc_underflow, NULL, &d), 0);
    hl_test_assert_aborted(&d);
    void *p = hl_test_parse_p(&d);
    char want[1024];
    snprintf(want, sizeof want,
             "Debug memory block at address p=%p: API 'm'\n"
             "    24 bytes originally requested\n"
             "    The 7 pad bytes at p-7 are not all FORBIDDENBYTE (0xfd):\n"
             "        at p-7: 0xfd\n"
             "        at p-6: 0xfd\n"
             "        at p-5: 0xfd\n"
             "        at p-4: 0xfd\n"
             "        at p-3: 0x00 *** OUCH\n"
             "        at p-2: 0xfd\n"
             "        at p-1: 0xfd\n"
             "    Because memory is corrupted at the start, the count of bytes requested\n"
             "       may be bogus, and checking the trailing pad bytes may segfault.\n"
             "    The 8 pad bytes at tail=%p are FORBIDDENBYTE, as expected.\n"
             "    Data at p: cd cd cd cd cd cd cd cd ... cd cd cd cd cd cd cd cd\n"
             "\n"
             "Fatal Python error: _PyMem_DebugRawFree: bad leading pad byte\n",
             p, (void *)((char *)p + 24));
    hl_test_assert_contains(d.err, want);
}

/* Double free over pymalloc: pymalloc's free pushed the block on its pool's
 * free list, writing the link over base[0:8] -- the size field -- and left
 * the rest as the hooks did, 0xDD.  So the id check fires with '\xdd', the
 * size is a pointer (or 0), and CPython 3.11 would segfault reading the
 * tail; heaplab gets to the fatal line. */
static void child_pymalloc_double_free(void *arg)
{
    (void)arg;
    hl_pymem_t *pm = make("pymalloc_debug");
    unsigned char *keep = hl_pymem_malloc(pm, 40);   /* the pool stays in use */
    unsigned char *p = hl_pymem_malloc(pm, 40);
    hl_death_say_p(p);
    (void)keep;
    hl_pymem_free(pm, p);
    hl_pymem_free(pm, p);
}

static void test_pymalloc_double_free_dies(void **state)
{
    (void)state;
    hl_death_t d;
    assert_int_equal(hl_death_run(child_pymalloc_double_free, NULL, &d), 0);
    hl_test_assert_aborted(&d);
    void *p = hl_test_parse_p(&d);
    char want[1024];
    snprintf(want, sizeof want, "Debug memory block at address p=%p: API '\xdd'\n", p);
    hl_test_assert_contains(d.err, want);
    hl_test_assert_contains(d.err,
                    "    The 7 pad bytes at p-7 are not all FORBIDDENBYTE (0xfd):\n"
                    "        at p-7: 0xdd *** OUCH\n"
                    "        at p-6: 0xdd *** OUCH\n"
                    "        at p-5: 0xdd *** OUCH\n"
                    "        at p-4: 0xdd *** OUCH\n"
                    "        at p-3: 0xdd *** OUCH\n"
                    "        at p-2: 0xdd *** OUCH\n"
                    "        at p-1: 0xdd *** OUCH\n"
                    "    Because memory is corrupted at the start, the count of bytes requested\n"
                    "       may be bogus, and checking the trailing pad bytes may segfault.\n");
    hl_test_assert_contains(d.err, "\n\nFatal Python error: _PyMem_DebugRawFree: bad ID: Allocated "
                           "using API '\xdd', verified using API 'm'\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_named_configurations),
        cmocka_unit_test(test_get_set_round_trip),
        cmocka_unit_test(test_mem_falls_back_to_raw_domain),
        cmocka_unit_test(test_debug_layout_in_domains),
        cmocka_unit_test(test_setup_debug_hooks_later),
        cmocka_unit_test(test_hooks_over_every_allocator),
        cmocka_unit_test(test_wrong_domain_dies),
        cmocka_unit_test(test_pymalloc_overflow_dies),
        cmocka_unit_test(test_pymalloc_underflow_dies),
        cmocka_unit_test(test_pymalloc_double_free_dies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
