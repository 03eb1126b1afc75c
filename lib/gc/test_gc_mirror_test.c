/* test_gc_mirror_test.c: CPython 3.11's Lib/test/test_gc.py, case by case,
 * over a heaplab runtime, with the exact numbers the oracle gives.
 *
 * Each cmocka test carries the name of the Python test it mirrors.  Module
 * set-up is test_gc's: a fresh runtime per test (pymalloc), automatic
 * collection disabled and a full collection run before the test; the
 * teardown empties gc.garbage, runs a full collection and checks that no
 * object the test made is still alive.
 *
 * How Python maps onto heaplab:
 *   - a class instance is a heaplab instance; Python's instance attributes
 *     become reference slots, so the oracle programs use classes with
 *     __slots__ (no __dict__: one object per instance, the "Now" counts of
 *     the reference);
 *   - __del__ is the PEP 442 finalizer (hooks.finalize); _testcapi's
 *     with_tp_del is the legacy tp_del (hooks.del);
 *   - heaplab dicts have str keys only: `d[1] = d` becomes `d["1"] = d`;
 *   - heaplab types are not objects, so nothing refers to a type (Python's
 *     instances report their class among their referents; heaplab's do not).
 *
 * Every expected number was checked by running the Python program in the
 * comment above the test on /usr/bin/python3 (3.11.2), with the
 * `_testcapi` module for with_tp_del and ContainerNoGC where named.  The
 * common preamble of those programs is
 *
 *     import gc, weakref, _testcapi
 *     gc.disable(); gc.collect()
 *
 * Python tests with no heaplab counterpart (no classes, functions, frames,
 * bound methods or __getattr__): test_class, test_newstyleclass,
 * test_method, test_function, test_frame, test_boom*, test_*_at_shutdown,
 * test_trashcan_threads, test_get_objects_arguments' TypeErrors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heaplab/gc.h"
#include "heaplab/object.h"
#include "rt_test_util.h"

/* ---------------------------------------------------------------------- */
/* Fixture and helpers */

typedef struct cbctx_s cbctx_t;

typedef struct fixture_s {
    hl_runtime_t *rt;
    hl_runtime_usage_t base;   /* after the set-up's full collection */
    cbctx_t *cb;               /* GCCallbackTests only */
} fixture_t;

static hl_runtime_t *mirror_runtime(void)
{
    char err[256] = "";
    hl_runtime_t *rt = NULL;
    if (hl_runtime_create("pymalloc", NULL, &rt, err, sizeof err) != 0)
        fail_msg("hl_runtime_create(pymalloc): %s", err);
    return rt;
}

/* test_gc's module set-up: gc.disable(); gc.collect(). */
static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->rt = mirror_runtime();
    hl_gc_disable(f->rt);
    assert_true(hl_gc_collect(f->rt, 2) >= 0);
    hl_runtime_usage(f->rt, &f->base);
    *state = f;
    return 0;
}

/* Empty gc.garbage, collect, and check that the test released everything it
 * made (objects back to the set-up's count). */
static int teardown(void **state)
{
    fixture_t *f = *state;
    hl_runtime_t *rt = f->rt;
    hl_gc_set_debug(rt, 0);
    hl_list_clear(rt, hl_gc_garbage(rt));
    hl_gc_collect(rt, 2);
    hl_runtime_usage_t u;
    hl_runtime_usage(rt, &u);
    assert_true(hl_gc_check(rt, true));
    assert_int_equal(hl_list_size(hl_gc_garbage(rt)), 0);
    assert_int_equal(u.objects, f->base.objects);
    hl_runtime_destroy(rt);
    free(f);
    return 0;
}

#define RT(state) (((fixture_t *)*(state))->rt)






static bool list_contains(const hl_object_t *l, const hl_object_t *x)
{
    for (size_t i = 0; i < hl_list_size(l); i++)
        if (hl_list_get(l, i) == x)
            return true;
    return false;
}

/* any(x is e for e in gc.get_objects(generation=g)) */
static bool in_generation(hl_runtime_t *rt, const hl_object_t *x, int g)
{
    hl_object_t *objs = hl_gc_get_objects(rt, g);
    assert_non_null(objs);
    bool r = list_contains(objs, x);
    hl_decref(rt, objs);
    return r;
}

static hl_gc_generation_stats_t stats_of(hl_runtime_t *rt, int g)
{
    hl_gc_generation_stats_t s[HL_GC_NUM_GENERATIONS];
    hl_gc_get_stats(rt, s);
    return s[g];
}

static void get_count(hl_runtime_t *rt, int *a, int *b, int *c)
{
    int n[HL_GC_NUM_GENERATIONS];
    hl_gc_get_count(rt, n);
    *a = n[0];
    *b = n[1];
    *c = n[2];
}

static void set_threshold3(hl_runtime_t *rt, int t0, int t1, int t2)
{
    int t[3] = {t0, t1, t2};
    hl_gc_set_threshold(rt, t, 3);
}

/* C1055820 of test_gc: an instance in a self-loop, with slots
 * (i, loop, keep): keep stands for the attributes the tests add later. */
enum { C_I, C_LOOP, C_KEEP, C_NSLOTS };
static hl_object_t *c1055820(hl_runtime_t *rt, hl_type_t *tp, int64_t i)
{
    hl_object_t *o = t_inst(rt, tp, C_NSLOTS);
    hl_object_t *v = hl_int_new(rt, i);
    assert_non_null(v);
    hl_instance_set(rt, o, C_I, v);
    hl_decref(rt, v);
    hl_instance_set(rt, o, C_LOOP, o);
    return o;
}

/* A finalizer or callback that counts its calls. */
typedef struct counter_s {
    int calls;
} counter_t;

static void count_hook(hl_runtime_t *rt, hl_object_t *self, void *user)
{
    ((counter_t *)user)->calls++;
}

static void count_call(hl_runtime_t *rt, hl_object_t *self, hl_object_t *arg, void *user)
{
    ((counter_t *)user)->calls++;
}

/* A resurrecting finalizer: storage.t_append(self). */
typedef struct lazarus_s {
    hl_object_t *storage;   /* a list */
    int resurrected;
} lazarus_t;

static void lazarus_finalize(hl_runtime_t *rt, hl_object_t *self, void *user)
{
    lazarus_t *z = user;
    z->resurrected++;
    assert_int_equal(hl_list_append(rt, z->storage, self), 0);
}

/* GC_Detector of test_gc: a piece of cyclic trash whose weakref callback
 * says a collection happened. */
typedef struct detector_s {
    bool gc_happened;
    hl_object_t *wr;
    hl_object_t *cb;
} detector_t;

static void detector_it_happened(hl_runtime_t *rt, hl_object_t *self, hl_object_t *arg,
                                 void *user)
{
    ((detector_t *)user)->gc_happened = true;
}

static void detector_init(hl_runtime_t *rt, detector_t *d, hl_type_t *ctype)
{
    d->gc_happened = false;
    d->cb = hl_callable_new(rt, detector_it_happened, NULL, d);
    assert_non_null(d->cb);
    hl_object_t *c = c1055820(rt, ctype, 666);
    d->wr = hl_weakref_new(rt, c, d->cb);
    assert_non_null(d->wr);
    hl_decref(rt, c);
}

static void detector_fini(hl_runtime_t *rt, detector_t *d)
{
    hl_decref(rt, d->wr);
    hl_decref(rt, d->cb);
}

/* ---------------------------------------------------------------------- */
/* GCTests: exact collect() results */

/* l = []; l.t_append(l); gc.collect(); del l
 * gc.collect()                                   # 1 */
static void test_list(void **state)
{
    hl_runtime_t *rt = RT(state);
    hl_object_t *l = t_list_new(rt);
    t_append(rt, l, l);
    hl_gc_collect(rt, 2);
    hl_decref(rt, l);
    assert_int_equal(hl_gc_collect(rt, 2), 1);
}

/* d = {}; d['1'] = d; gc.collect(); del d         (test_gc: d[1] = d)
 * gc.collect()                                   # 1 */
static void test_dict(void **state)
{
    hl_runtime_t *rt = RT(state);
    hl_object_t *d = hl_dict_new(rt);
    assert_non_null(d);
    assert_int_equal(hl_dict_setitem_cstr(rt, d, "1", d), 0);
    hl_gc_collect(rt, 2);
    hl_decref(rt, d);
    assert_int_equal(hl_gc_collect(rt, 2), 1);
}

/* l = []; t = (l,); l.t_append(t); gc.collect(); del t; del l
 * gc.collect()                                   # 2 */
static void test_tuple(void **state)
{
    hl_runtime_t *rt = RT(state);
    hl_object_t *l = t_list_new(rt);
    hl_object_t *t = hl_tuple_new(rt, 1, &l);
    assert_non_null(t);
    t_append(rt, l, t);
    hl_gc_collect(rt, 2);
    hl_decref(rt, t);
    hl_decref(rt, l);
    assert_int_equal(hl_gc_collect(rt, 2), 2);
}

/* class A: __slots__ = ('a', '__weakref__')
 * a = A(); a.a = a; gc.collect(); del a
 * gc.collect()                                   # 1 (test_gc: != 0) */
static void test_newinstance(void **state)
{
    hl_runtime_t *rt = RT(state);
    hl_type_t *A = t_type_new(rt, "A", NULL, NULL, NULL);
    hl_object_t *a = t_inst(rt, A, 1);
    hl_instance_set(rt, a, 0, a);
    hl_gc_collect(rt, 2);
    hl_decref(rt, a);
    assert_int_equal(hl_gc_collect(rt, 2), 1);
    assert_int_equal(hl_gc_collect(rt, 2), 0);
}

/* @_testcapi.with_tp_del
 * class A: __slots__ = ('a', '__weakref__'); def __tp_del__(self): pass
 * class B: __slots__ = ('b', '__weakref__')
 * a = A(); a.a = a; id_a = id(a); b = B(); b.b = b
 * gc.collect(); del a; del b
 * s0 = gc.get_stats()[2]
 * gc.collect()                                   # 2
 * [id(o) == id_a for o in gc.garbage]            # [True]
 * uncollectable, collected deltas of get_stats()[2]: 1, 1 */
static void test_legacy_finalizer(void **state)
{
    hl_runtime_t *rt = RT(state);
    counter_t dels = {0};
    hl_type_t *A = t_type_new(rt, "A", NULL, count_hook, &dels);
    hl_type_t *B = t_type_new(rt, "B", NULL, NULL, NULL);
    hl_object_t *a = t_inst(rt, A, 1);
    hl_instance_set(rt, a, 0, a);
    hl_object_t *id_a = a;
    hl_object_t *b = t_inst(rt, B, 1);
    hl_instance_set(rt, b, 0, b);
    hl_gc_collect(rt, 2);
    hl_decref(rt, a);
    hl_decref(rt, b);
    hl_gc_generation_stats_t s0 = stats_of(rt, 2);
    assert_int_equal(hl_gc_collect(rt, 2), 2);
    hl_gc_generation_stats_t s1 = stats_of(rt, 2);
    assert_int_equal(s1.uncollectable - s0.uncollectable, 1);
    assert_int_equal(s1.collected - s0.collected, 1);
    assert_int_equal(dels.calls, 0);              /* tp_del runs on deallocation only */

    /* for obj in gc.garbage: if id(obj) == id_a: del obj.a; break
     * gc.garbage.remove(obj) */
    hl_object_t *garbage = hl_gc_garbage(rt);
    assert_int_equal(hl_list_size(garbage), 1);
    hl_object_t *obj = hl_list_get(garbage, 0);
    assert_ptr_equal(obj, id_a);
    hl_instance_set(rt, obj, 0, NULL);
    hl_list_clear(rt, garbage);                   /* obj dies: tp_del runs */
    assert_int_equal(dels.calls, 1);
    assert_int_equal(hl_gc_collect(rt, 2), 0);
}

/* gc.collect(); assert gc.garbage == []
 * L = []; L.t_append(L); id_L = id(L)
 * gc.set_debug(gc.DEBUG_SAVEALL); del L
 * gc.collect()                                   # 1
 * gc.set_debug(0)
 * len(gc.garbage), id(gc.garbage[0]) == id_L     # 1, True */
static void test_saveall(void **state)
{
    hl_runtime_t *rt = RT(state);
    hl_gc_collect(rt, 2);
    assert_int_equal(hl_list_size(hl_gc_garbage(rt)), 0);
    hl_object_t *L = t_list_new(rt);
    t_append(rt, L, L);
    hl_object_t *id_L = L;
    int debug = hl_gc_get_debug(rt);
    hl_gc_set_debug(rt, debug | HL_GC_DEBUG_SAVEALL);
    assert_int_equal(hl_gc_get_debug(rt), debug | HL_GC_DEBUG_SAVEALL);
    hl_decref(rt, L);
    assert_int_equal(hl_gc_collect(rt, 2), 1);
    hl_gc_set_debug(rt, debug);
    hl_object_t *garbage = hl_gc_garbage(rt);
    assert_int_equal(hl_list_size(garbage), 1);
    hl_object_t *obj = hl_list_pop(rt, garbage, -1);
    assert_ptr_equal(obj, id_L);
    assert_int_equal(hl_list_size(obj), 1);       /* not cleared: saved as it was */
    assert_ptr_equal(hl_list_get(obj, 0), obj);
    hl_list_clear(rt, obj);
    hl_decref(rt, obj);
}

/* thresholds = gc.get_threshold(); gc.enable(); gc.set_threshold(1)
 * class A: def __del__(self): dir(self)          # allocates while finalizing
 * a = A(); del a
 * gc.disable(); gc.set_threshold(*thresholds)    # no crash */
typedef struct del_ctx_s {
    int calls;
} del_ctx_t;

static void del_allocating_finalize(hl_runtime_t *rt, hl_object_t *self, void *user)
{
    del_ctx_t *c = user;
    c->calls++;
    /* dir(self): a list of strings, made and dropped */
    hl_object_t *l = hl_list_new(rt);
    assert_non_null(l);
    for (int i = 0; i < 30; i++) {
        char name[16];
        snprintf(name, sizeof name, "__attr%d__", i);
        t_append_new(rt, l, hl_str_from_cstr(rt, name));
        t_append_new(rt, l, hl_tuple_new(rt, 1, &self));
    }
    hl_decref(rt, l);
}

static void test_del(void **state)
{
    hl_runtime_t *rt = RT(state);
    int thresholds[3];
    hl_gc_get_threshold(rt, thresholds);
    assert_int_equal(thresholds[0], 700);
    assert_int_equal(thresholds[1], 10);
    assert_int_equal(thresholds[2], 10);
    hl_gc_enable(rt);
    int one = 1;
    hl_gc_set_threshold(rt, &one, 1);
    int t[3];
    hl_gc_get_threshold(rt, t);
    assert_int_equal(t[0], 1);
    assert_int_equal(t[1], 10);                   /* the others keep their values */

    del_ctx_t c = {0};
    hl_type_t *A = t_type_new(rt, "A", del_allocating_finalize, NULL, &c);
    hl_object_t *a = t_inst(rt, A, 0);
    hl_decref(rt, a);
    assert_int_equal(c.calls, 1);

    /* the same with the instance in a cycle, so the collector finalizes it */
    a = t_inst(rt, A, 1);
    hl_instance_set(rt, a, 0, a);
    hl_decref(rt, a);
    hl_type_t *J = t_type_new(rt, "J", NULL, NULL, NULL);
    hl_object_t *junk = t_list_new(rt);
    for (int i = 0; i < 100 && c.calls < 2; i++)
        t_append_new(rt, junk, t_inst(rt, J, 0));     /* threshold 1: collections */
    assert_int_equal(c.calls, 2);
    hl_decref(rt, junk);
    assert_true(hl_gc_check(rt, true));

    hl_gc_disable(rt);
    hl_gc_set_threshold(rt, thresholds, 3);
}

/* gc.collect(); a, b, c = gc.get_count()
 * x = []
 * d, e, f = gc.get_count()
 * (b, c), (e, f) == (0, 0), (0, 0); a < 5; d > a   # oracle: (0,0,0), then d=3
 * heaplab allocates nothing else, so also a == 0 and d == a + 1. */
static void test_get_count(void **state)
{
    hl_runtime_t *rt = RT(state);
    int a, b, c, d, e, f;
    hl_gc_collect(rt, 2);
    get_count(rt, &a, &b, &c);
    hl_object_t *x = t_list_new(rt);
    get_count(rt, &d, &e, &f);
    assert_int_equal(b, 0);
    assert_int_equal(c, 0);
    assert_int_equal(e, 0);
    assert_int_equal(f, 0);
    assert_true(a < 5);
    assert_true(d > a);
    assert_int_equal(a, 0);
    assert_int_equal(d, a + 1);
    hl_decref(rt, x);
}

/* gc.collect(); x = []
 * gc.collect(0); a, b, c = gc.get_count()        # (_, 1, 0)
 * gc.collect(1); d, e, f = gc.get_count()        # (_, 0, 1)
 * gc.collect(2); g, h, i = gc.get_count()        # (_, 0, 0) */
static void test_collect_generations(void **state)
{
    hl_runtime_t *rt = RT(state);
    int a, b, c, d, e, f, g, h, i;
    hl_gc_collect(rt, 2);
    hl_object_t *x = t_list_new(rt);
    hl_gc_collect(rt, 0);
    get_count(rt, &a, &b, &c);
    hl_gc_collect(rt, 1);
    get_count(rt, &d, &e, &f);
    hl_gc_collect(rt, 2);
    get_count(rt, &g, &h, &i);
    assert_int_equal(b, 1);
    assert_int_equal(c, 0);
    assert_int_equal(e, 0);
    assert_int_equal(f, 1);
    assert_int_equal(h, 0);
    assert_int_equal(i, 0);
    hl_decref(rt, x);
}

/* gc.collect(3), gc.collect(-1)     # ValueError: invalid generation */
static void test_collect_invalid_generation(void **state)
{
    hl_runtime_t *rt = RT(state);
    hl_gc_generation_stats_t before[3], after[3];
    hl_gc_get_stats(rt, before);
    assert_int_equal(hl_gc_collect(rt, 3), -1);
    assert_int_equal(hl_runtime_error(rt), HL_ERR_VALUE);
    assert_string_equal(hl_runtime_error_message(rt), "invalid generation");
    hl_runtime_clear_error(rt);
    assert_int_equal(hl_runtime_error(rt), HL_ERR_NONE);
    assert_int_equal(hl_gc_collect(rt, -1), -1);
    assert_int_equal(hl_runtime_error(rt), HL_ERR_VALUE);
    assert_string_equal(hl_runtime_error_message(rt), "invalid generation");
    hl_runtime_clear_error(rt);
    hl_gc_get_stats(rt, after);
    for (int g = 0; g < 3; g++)
        assert_int_equal(after[g].collections, before[g].collections);
}

/* stats = gc.get_stats(): 3 dicts with exactly the keys collected,
 * collections, uncollectable, all >= 0 (a C struct here: the keys are its
 * fields).
 * old = gc.get_stats(); gc.collect(0); new = gc.get_stats()
 *   new[0] == old[0] + 1, new[1] == old[1], new[2] == old[2]  (collections)
 * gc.collect(2); new = gc.get_stats()
 *   new[0] == old[0] + 1, new[1] == old[1], new[2] == old[2] + 1 */
static void test_get_stats(void **state)
{
    hl_runtime_t *rt = RT(state);
    hl_gc_generation_stats_t old[3], new[3];
    hl_gc_get_stats(rt, old);
    for (int g = 0; g < 3; g++) {
        assert_true(old[g].collected >= 0);
        assert_true(old[g].collections >= 0);
        assert_true(old[g].uncollectable >= 0);
    }
    assert_false(hl_gc_isenabled(rt));
    hl_gc_collect(rt, 0);
    hl_gc_get_stats(rt, new);
    assert_int_equal(new[0].collections, old[0].collections + 1);
    assert_int_equal(new[1].collections, old[1].collections);
    assert_int_equal(new[2].collections, old[2].collections);
    hl_gc_collect(rt, 2);
    hl_gc_get_stats(rt, new);
    assert_int_equal(new[0].collections, old[0].collections + 1);
    assert_int_equal(new[1].collections, old[1].collections);
    assert_int_equal(new[2].collections, old[2].collections + 1);
}

/* gc.freeze(); gc.get_freeze_count() > 0
 * gc.unfreeze(); gc.get_freeze_count() == 0
 * (The interpreter always has tracked objects; a fresh heaplab runtime may
 * not, so the test makes one list first.) */
static void test_freeze(void **state)
{
    hl_runtime_t *rt = RT(state);
    hl_object_t *x = t_list_new(rt);
    hl_gc_freeze(rt);
    assert_true(hl_gc_get_freeze_count(rt) > 0);
    hl_gc_unfreeze(rt);
    assert_int_equal(hl_gc_get_freeze_count(rt), 0);
    hl_decref(rt, x);
}

/* gc.collect(); l = []; l.t_append(l)
 * in gen (0, 1, 2):      (T, F, F)
 * gc.collect(0)    ->    (F, T, F)
 * gc.collect(1)    ->    (F, F, T)
 * gc.collect(2)    ->    (F, F, T) */
static void test_get_objects(void **state)
{
    hl_runtime_t *rt = RT(state);
    static const bool expect[4][3] = {
        {true, false, false}, {false, true, false}, {false, false, true}, {false, false, true},
    };
    hl_gc_collect(rt, 2);
    hl_object_t *l = t_list_new(rt);
    t_append(rt, l, l);
    for (int step = 0; step < 4; step++) {
        if (step > 0)
            hl_gc_collect(rt, step - 1);
        for (int g = 0; g < 3; g++)
            assert_int_equal(in_generation(rt, l, g), expect[step][g]);
    }
    hl_decref(rt, l);
    assert_int_equal(hl_gc_collect(rt, 2), 1);
}

/* len(gc.get_objects()) == len(gc.get_objects(generation=None))
 * gc.get_objects(1000)   # ValueError: generation parameter must be less
 *                        #   than the number of available generations (3)
 * gc.get_objects(-1000)  # ValueError: generation parameter cannot be negative
 * (heaplab spells None as -1.) */
static void test_get_objects_arguments(void **state)
{
    hl_runtime_t *rt = RT(state);
    hl_object_t *keep = t_list_new(rt);
    t_append_new(rt, keep, hl_list_new(rt));
    hl_gc_collect(rt, 0);
    t_append_new(rt, keep, hl_dict_new(rt));       /* untracked: not listed */
    t_append_new(rt, keep, hl_list_new(rt));
    size_t sum = 0;
    for (int g = 0; g < 3; g++) {
        hl_object_t *o = hl_gc_get_objects(rt, g);
        assert_non_null(o);
        /* the result list is tracked in generation 0, and not listed */
        assert_int_equal(hl_list_size(o), hl_gc_generation_size(rt, g) - (g == 0));
        sum += hl_list_size(o);
        hl_decref(rt, o);
    }
    hl_object_t *all = hl_gc_get_objects(rt, -1);
    assert_non_null(all);
    assert_int_equal(hl_list_size(all), sum);
    assert_false(list_contains(all, all));
    hl_decref(rt, all);

    assert_null(hl_gc_get_objects(rt, 1000));
    assert_int_equal(hl_runtime_error(rt), HL_ERR_VALUE);
    assert_string_equal(hl_runtime_error_message(rt),
                        "generation parameter must be less than the number of available "
                        "generations (3)");
    hl_runtime_clear_error(rt);
    assert_null(hl_gc_get_objects(rt, 3));
    assert_int_equal(hl_runtime_error(rt), HL_ERR_VALUE);
    hl_runtime_clear_error(rt);
    assert_null(hl_gc_get_objects(rt, -1000));
    assert_int_equal(hl_runtime_error(rt), HL_ERR_VALUE);
    assert_string_equal(hl_runtime_error_message(rt), "generation parameter cannot be negative");
    hl_runtime_clear_error(rt);
    hl_decref(rt, keep);
}

/* alist = [1, 3, 5]: sorted(gc.get_referents(alist)) == alist
 *                     gc.get_referents(alist) == [5, 3, 1]  (list_traverse
 *                     walks backwards)
 * atuple = tuple(alist): the same                          [5, 3, 1]
 * adict = {'1': 3, '5': 7}: gc.get_referents(adict) == [3, 7]
 *   ADAPTED: test_gc's {1: 3, 5: 7} gives [1, 3, 5, 7] because its keys are
 *   ints (a general keys table, whose traverse visits keys and values);
 *   heaplab's dicts have str keys, a unicode keys table, and 3.11's
 *   dict_traverse visits only the values of those:
 *   gc.get_referents({'a': 1, 'b': 2}) == [1, 2] on 3.11.2.
 * sorted(gc.get_referents([1, 2], {'3': 4}, (0, 0, 0))) == [0, 0, 0, 1, 2, 4]
 *   (test_gc: {3: 4} and [0, 0] + list(range(5)))
 * gc.get_referents(1, 'a', 4.0) == []             (test_gc: 1, 'a', 4j) */
static hl_object_t *int_list(hl_runtime_t *rt, const int64_t *v, size_t n)
{
    hl_object_t *l = t_list_new(rt);
    for (size_t i = 0; i < n; i++)
        t_append_new(rt, l, hl_int_new(rt, v[i]));
    return l;
}

static void assert_int_items(const hl_object_t *l, const int64_t *v, size_t n, bool sorted)
{
    assert_int_equal(hl_list_size(l), n);
    int64_t got[16];
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) {
        const hl_object_t *o = hl_list_get(l, i);
        assert_int_equal(hl_kind(o), HL_KIND_INT);
        got[i] = hl_int_value(o);
    }
    if (sorted)
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0 && got[j - 1] > got[j]; j--) {
                int64_t t = got[j];
                got[j] = got[j - 1];
                got[j - 1] = t;
            }
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], v[i]);
}

static void test_get_referents(void **state)
{
    hl_runtime_t *rt = RT(state);
    static const int64_t v135[] = {1, 3, 5}, v531[] = {5, 3, 1};
    hl_object_t *alist = int_list(rt, v135, 3);
    hl_object_t *got = hl_gc_get_referents(rt, &alist, 1);
    assert_non_null(got);
    assert_int_items(got, v135, 3, true);
    assert_int_items(got, v531, 3, false);
    hl_decref(rt, got);

    hl_object_t *items[3] = {hl_list_get(alist, 0), hl_list_get(alist, 1), hl_list_get(alist, 2)};
    hl_object_t *atuple = hl_tuple_new(rt, 3, items);
    assert_non_null(atuple);
    got = hl_gc_get_referents(rt, &atuple, 1);
    assert_non_null(got);
    assert_int_items(got, v135, 3, true);
    assert_int_items(got, v531, 3, false);
    hl_decref(rt, got);

    hl_object_t *adict = hl_dict_new(rt);
    assert_non_null(adict);
    hl_object_t *three = hl_int_new(rt, 3), *seven = hl_int_new(rt, 7);
    assert_int_equal(hl_dict_setitem_cstr(rt, adict, "1", three), 0);
    assert_int_equal(hl_dict_setitem_cstr(rt, adict, "5", seven), 0);
    hl_decref(rt, three);
    hl_decref(rt, seven);
    got = hl_gc_get_referents(rt, &adict, 1);
    assert_non_null(got);
    static const int64_t v37[] = {3, 7};
    assert_int_items(got, v37, 2, false);
    hl_decref(rt, got);

    static const int64_t v12[] = {1, 2}, v000[] = {0, 0, 0};
    hl_object_t *l12 = int_list(rt, v12, 2);
    hl_object_t *d34 = hl_dict_new(rt);
    hl_object_t *four = hl_int_new(rt, 4);
    assert_int_equal(hl_dict_setitem_cstr(rt, d34, "3", four), 0);
    hl_decref(rt, four);
    hl_object_t *zl = int_list(rt, v000, 3);
    hl_object_t *zitems[3] = {hl_list_get(zl, 0), hl_list_get(zl, 1), hl_list_get(zl, 2)};
    hl_object_t *t000 = hl_tuple_new(rt, 3, zitems);
    hl_object_t *several[3] = {l12, d34, t000};
    got = hl_gc_get_referents(rt, several, 3);
    assert_non_null(got);
    static const int64_t v000124[] = {0, 0, 0, 1, 2, 4};
    assert_int_items(got, v000124, 6, true);
    hl_decref(rt, got);

    hl_object_t *atoms[3] = {hl_int_new(rt, 1), hl_str_from_cstr(rt, "a"),
                             hl_float_new(rt, 4.0)};
    got = hl_gc_get_referents(rt, atoms, 3);
    assert_non_null(got);
    assert_int_equal(hl_list_size(got), 0);
    hl_decref(rt, got);
    for (int i = 0; i < 3; i++)
        hl_decref(rt, atoms[i]);

    hl_decref(rt, l12);
    hl_decref(rt, d34);
    hl_decref(rt, zl);
    hl_decref(rt, t000);
    hl_decref(rt, alist);
    hl_decref(rt, atuple);
    hl_decref(rt, adict);
}

/* Untracked: 1, 2**40, 1.0, "a", "", (), {}   (None, bool, bytes, type,
 * object() have no heaplab counterpart)
 * Tracked:   [], instances (even with no slots: 3.11.2 tracks
 *            `class E: __slots__ = ()` instances), weakref.ref(o)
 * Tuples:    x = 1; t = (x, 2) is tracked at creation (a constant (1, 2)
 *            would be folded and untracked); untracked after gc.collect(0)
 * Dicts:     {} untracked; d['a'] = 1 and d['b'] = 'x' keep it untracked;
 *            d['c'] = (x, 2) (a new, tracked tuple) tracks it;
 *            {'a': []} and {'a': {}} are tracked (a dict may be tracked);
 *            d4 = {}; d4['a'] = <a tuple of ints untracked by a collection>
 *            stays untracked. */
static void test_is_tracked(void **state)
{
    hl_runtime_t *rt = RT(state);
    hl_object_t *untracked[] = {
        hl_int_new(rt, 1), hl_int_new(rt, (int64_t)1 << 40), hl_float_new(rt, 1.0),
        hl_str_from_cstr(rt, "a"), hl_str_from_cstr(rt, ""), hl_tuple_new(rt, 0, NULL),
        hl_dict_new(rt),
    };
    for (size_t i = 0; i < sizeof untracked / sizeof untracked[0]; i++) {
        assert_non_null(untracked[i]);
        assert_false(hl_gc_is_tracked(untracked[i]));
    }
    assert_false(hl_is_gc(untracked[0]));
    assert_false(hl_is_gc(untracked[2]));
    assert_false(hl_is_gc(untracked[3]));
    assert_true(hl_is_gc(untracked[5]));          /* () is a tuple: GC type, untracked */

    hl_type_t *UserClass = t_type_new(rt, "UserClass", NULL, NULL, NULL);
    hl_object_t *l = t_list_new(rt);
    hl_object_t *i0 = t_inst(rt, UserClass, 0), *i2 = t_inst(rt, UserClass, 2);
    hl_object_t *wr = hl_weakref_new(rt, i2, NULL);
    assert_non_null(wr);
    assert_true(hl_gc_is_tracked(l));
    assert_true(hl_gc_is_tracked(i0));
    assert_true(hl_gc_is_tracked(i2));
    assert_true(hl_gc_is_tracked(wr));

    hl_object_t *x = hl_int_new(rt, 1), *two = hl_int_new(rt, 2);
    hl_object_t *xs[2] = {x, two};
    hl_object_t *t = hl_tuple_new(rt, 2, xs);
    assert_true(hl_gc_is_tracked(t));
    hl_gc_collect(rt, 0);
    assert_false(hl_gc_is_tracked(t));

    hl_object_t *d = hl_dict_new(rt);
    assert_false(hl_gc_is_tracked(d));
    assert_int_equal(hl_dict_setitem_cstr(rt, d, "a", x), 0);
    assert_false(hl_gc_is_tracked(d));
    hl_object_t *sx = hl_str_from_cstr(rt, "x");
    assert_int_equal(hl_dict_setitem_cstr(rt, d, "b", sx), 0);
    assert_false(hl_gc_is_tracked(d));
    hl_object_t *fresh = hl_tuple_new(rt, 2, xs);
    assert_true(hl_gc_is_tracked(fresh));
    assert_int_equal(hl_dict_setitem_cstr(rt, d, "c", fresh), 0);
    assert_true(hl_gc_is_tracked(d));

    hl_object_t *d2 = hl_dict_new(rt), *d7 = hl_dict_new(rt), *e = hl_dict_new(rt);
    assert_int_equal(hl_dict_setitem_cstr(rt, d2, "a", l), 0);
    assert_true(hl_gc_is_tracked(d2));
    assert_int_equal(hl_dict_setitem_cstr(rt, d7, "a", e), 0);
    assert_false(hl_gc_is_tracked(e));
    assert_true(hl_gc_is_tracked(d7));

    hl_object_t *d4 = hl_dict_new(rt);
    assert_int_equal(hl_dict_setitem_cstr(rt, d4, "a", t), 0);   /* t untracked above */
    assert_false(hl_gc_is_tracked(d4));

    hl_object_t *all[] = {l, i0, i2, wr, x, two, t, d, sx, fresh, d2, d7, e, d4};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        hl_decref(rt, all[i]);
    for (size_t i = 0; i < sizeof untracked / sizeof untracked[0]; i++)
        hl_decref(rt, untracked[i]);
}

/* gc.is_finalized(3)                             # False
 * storage = []
 * class Lazarus: __slots__ = ('__weakref__',)
 *     def __del__(self): storage.t_append(self)
 * lazarus = Lazarus(); gc.is_finalized(lazarus)  # False
 * del lazarus; gc.collect()                      # 0 (resurrected on dealloc)
 * lazarus = storage.pop(); gc.is_finalized(lazarus)   # True */
static void test_is_finalized(void **state)
{
    hl_runtime_t *rt = RT(state);
    hl_object_t *three = hl_int_new(rt, 3);
    assert_false(hl_gc_is_finalized(three));
    hl_decref(rt, three);

    lazarus_t z = {t_list_new(rt), 0};
    hl_type_t *Lazarus = t_type_new(rt, "Lazarus", lazarus_finalize, NULL, &z);
    hl_object_t *lazarus = t_inst(rt, Lazarus, 0);
    assert_false(hl_gc_is_finalized(lazarus));
    hl_decref(rt, lazarus);
    assert_int_equal(z.resurrected, 1);
    assert_int_equal(hl_gc_collect(rt, 2), 0);
    lazarus = hl_list_pop(rt, z.storage, -1);
    assert_non_null(lazarus);
    assert_true(hl_gc_is_finalized(lazarus));
    hl_decref(rt, lazarus);                       /* dies for good: no second call */
    assert_int_equal(z.resurrected, 1);
    assert_int_equal(hl_list_size(z.storage), 0);
    hl_decref(rt, z.storage);
}

/* class C1055820: __slots__ = ('i', 'loop', 'keep', '__weakref__')
 *     def __init__(self, i): self.i = i; self.loop = self
 * ouch = []
 * def callback(ignored): ouch[:] = [wr() for wr in WRs]
 * Cs = [C1055820(i) for i in range(2)]
 * WRs = [weakref.ref(c, callback) for c in Cs]; c = None
 * gc.collect(); len(ouch)                        # 0, 0
 * Cs = None
 * gc.collect()                                   # 2
 * len(ouch), ouch                                # 2, [None, None] */
typedef struct ouch_s {
    hl_object_t *wrs;   /* the weakrefs the callback reads */
    int calls;
    int len;            /* len(ouch) */
    int nones;          /* how many of ouch are None */
} ouch_t;

static void ouch_callback(hl_runtime_t *rt, hl_object_t *self, hl_object_t *arg, void *user)
{
    ouch_t *o = user;
    o->calls++;
    assert_int_equal(hl_kind(arg), HL_KIND_WEAKREF);
    o->len = (int)hl_list_size(o->wrs);
    o->nones = 0;
    for (size_t i = 0; i < hl_list_size(o->wrs); i++)
        if (hl_weakref_get(hl_list_get(o->wrs, i)) == NULL)
            o->nones++;
}

static void test_bug1055820b(void **state)
{
    hl_runtime_t *rt = RT(state);
    hl_type_t *C = t_type_new(rt, "C1055820", NULL, NULL, NULL);
    ouch_t ouch = {0};
    hl_object_t *callback = hl_callable_new(rt, ouch_callback, NULL, &ouch);
    assert_non_null(callback);
    hl_object_t *Cs = t_list_new(rt);
    for (int i = 0; i < 2; i++)
        t_append_new(rt, Cs, c1055820(rt, C, i));
    ouch.wrs = t_list_new(rt);
    for (int i = 0; i < 2; i++)
        t_append_new(rt, ouch.wrs, hl_weakref_new(rt, hl_list_get(Cs, (size_t)i), callback));

    assert_int_equal(hl_gc_collect(rt, 2), 0);
    assert_int_equal(ouch.len, 0);
    hl_decref(rt, Cs);
    assert_int_equal(hl_gc_collect(rt, 2), 2);
    assert_int_equal(ouch.calls, 2);
    assert_int_equal(ouch.len, 2);                /* else the callbacks didn't run */
    assert_int_equal(ouch.nones, 2);              /* never a cleared instance */
    hl_decref(rt, ouch.wrs);
    hl_decref(rt, callback);
}

/* x = gc.collect() with a __del__ that breaks the cycle (test_bug21435):
 * class A: __slots__ = ('attr',)
 * class B: __slots__ = ('x', 'attr')
 *     def __init__(self, x): self.x = x
 *     def __del__(self): self.attr = None
 * def do_work(): a = A(); b = B(A()); a.attr = b; b.attr = a
 * do_work()
 * gc.collect(), gc.collect()                     # 0, 0: the finalizer
 *   frees the whole cycle by refcounting, and objects freed that way are
 *   not counted */
static void b21435_finalize(hl_runtime_t *rt, hl_object_t *self, void *user)
{
    hl_instance_set(rt, self, 1, NULL);           /* self.attr = None */
}

static void test_bug21435(void **state)
{
    hl_runtime_t *rt = RT(state);
    hl_gc_collect(rt, 2);
    hl_type_t *A = t_type_new(rt, "A", NULL, NULL, NULL);
    hl_type_t *B = t_type_new(rt, "B", b21435_finalize, NULL, NULL);
    hl_object_t *a = t_inst(rt, A, 1);
    hl_object_t *b = t_inst(rt, B, 2);
    hl_object_t *a2 = t_inst(rt, A, 1);
    hl_instance_set(rt, b, 0, a2);
    hl_decref(rt, a2);
    hl_instance_set(rt, a, 0, b);
    hl_instance_set(rt, b, 1, a);
    hl_decref(rt, a);
    hl_decref(rt, b);
    assert_int_equal(hl_gc_collect(rt, 2), 0);
    assert_int_equal(hl_gc_collect(rt, 2), 0);
}

/* class Ouch: __slots__ = (); n = 0
 *     def __del__(self):
 *         Ouch.n += 1
 *         if Ouch.n % 17 == 0: gc.collect()
 * gc.enable(); N = 150
 * for count in range(2):
 *     t = []
 *     for i in range(N): t = [t, Ouch()]
 *     u = []
 *     for i in range(N): u = [u, Ouch()]
 *     v = {}
 *     for i in range(N): v = {'1': v, '2': Ouch()}    (test_gc: {1: v, 2: Ouch()})
 * gc.disable(); Ouch.n                           # 450
 * del t, u, v; Ouch.n                            # 900 */
typedef struct ouch_del_s {
    int n;
} ouch_del_t;

static void trashcan_ouch_finalize(hl_runtime_t *rt, hl_object_t *self, void *user)
{
    ouch_del_t *o = user;
    o->n++;
    if (o->n % 17 == 0)
        hl_gc_collect(rt, 2);
}

static void test_trashcan(void **state)
{
    hl_runtime_t *rt = RT(state);
    ouch_del_t o = {0};
    hl_type_t *Ouch = t_type_new(rt, "Ouch", trashcan_ouch_finalize, NULL, &o);
    hl_gc_enable(rt);
    const int N = 150;
    hl_object_t *t = NULL, *u = NULL, *v = NULL;
    for (int count = 0; count < 2; count++) {
        hl_xdecref(rt, t);
        t = t_list_new(rt);
        for (int i = 0; i < N; i++) {
            hl_object_t *n = t_list_new(rt);
            t_append_new(rt, n, t);                 /* takes over t's reference */
            t_append_new(rt, n, t_inst(rt, Ouch, 0));
            t = n;
        }
        hl_xdecref(rt, u);
        u = t_list_new(rt);
        for (int i = 0; i < N; i++) {
            hl_object_t *n = t_list_new(rt);
            t_append_new(rt, n, u);
            t_append_new(rt, n, t_inst(rt, Ouch, 0));
            u = n;
        }
        hl_xdecref(rt, v);
        v = hl_dict_new(rt);
        for (int i = 0; i < N; i++) {
            hl_object_t *n = hl_dict_new(rt);
            assert_non_null(n);
            assert_int_equal(hl_dict_setitem_cstr(rt, n, "1", v), 0);
            hl_decref(rt, v);
            hl_object_t *ouch = t_inst(rt, Ouch, 0);
            assert_int_equal(hl_dict_setitem_cstr(rt, n, "2", ouch), 0);
            hl_decref(rt, ouch);
            v = n;
        }
        assert_true(hl_gc_check(rt, true));
    }
    hl_gc_disable(rt);
    assert_int_equal(o.n, 450);
    hl_decref(rt, t);
    hl_decref(rt, u);
    hl_decref(rt, v);
    assert_int_equal(o.n, 900);
    assert_true(hl_gc_check(rt, true));
}

/* class Lazarus(A): __slots__ = ('me', '__weakref__'), me = self;
 *     def __del__(self): Lazarus.resurrected += 1; instances.t_append(self)
 * laz = Lazarus(); del laz
 * gc.collect()                                   # 0
 * Lazarus.resurrected, len(instances)            # 1, 1
 * instances.clear()
 * gc.collect()                                   # 1
 * Lazarus.resurrected                            # 1 */
static void test_resurrection_only_happens_once_per_object(void **state)
{
    hl_runtime_t *rt = RT(state);
    lazarus_t z = {t_list_new(rt), 0};
    hl_type_t *Lazarus = t_type_new(rt, "Lazarus", lazarus_finalize, NULL, &z);
    hl_gc_collect(rt, 2);
    hl_object_t *laz = t_inst(rt, Lazarus, 1);
    hl_instance_set(rt, laz, 0, laz);
    assert_int_equal(z.resurrected, 0);
    hl_decref(rt, laz);
    assert_int_equal(hl_gc_collect(rt, 2), 0);
    assert_int_equal(z.resurrected, 1);
    assert_int_equal(hl_list_size(z.storage), 1);
    hl_list_clear(rt, z.storage);
    assert_int_equal(z.resurrected, 1);
    assert_int_equal(hl_gc_collect(rt, 2), 1);
    assert_int_equal(z.resurrected, 1);
    hl_decref(rt, z.storage);
}

/* class Cargo: __slots__ = ('me', 'laz', '__weakref__'); me = self
 * class Lazarus: __slots__ = ('cargo', '__weakref__')
 *     def __del__(self): instances.t_append(self)
 * laz = Lazarus(); cargo = Cargo(); cargo_id = id(cargo)
 * laz.cargo = cargo; cargo.laz = laz; del laz, cargo
 * gc.collect()                                   # 0
 * len(instances)                                 # 1
 * i = instances.pop(); id(i.cargo) == cargo_id   # True
 * gc.is_finalized(i), gc.is_finalized(i.cargo)   # True, False
 * del i; gc.collect()                            # 2 */
static void test_resurrection_is_transitive(void **state)
{
    hl_runtime_t *rt = RT(state);
    lazarus_t z = {t_list_new(rt), 0};
    hl_type_t *Cargo = t_type_new(rt, "Cargo", NULL, NULL, NULL);
    hl_type_t *Lazarus = t_type_new(rt, "Lazarus", lazarus_finalize, NULL, &z);
    hl_gc_collect(rt, 2);
    hl_object_t *laz = t_inst(rt, Lazarus, 1);
    hl_object_t *cargo = t_inst(rt, Cargo, 2);
    hl_object_t *cargo_id = cargo;
    hl_instance_set(rt, cargo, 0, cargo);
    hl_instance_set(rt, laz, 0, cargo);
    hl_instance_set(rt, cargo, 1, laz);
    hl_decref(rt, laz);
    hl_decref(rt, cargo);
    assert_int_equal(hl_gc_collect(rt, 2), 0);
    assert_int_equal(hl_list_size(z.storage), 1);
    hl_object_t *instance = hl_list_pop(rt, z.storage, -1);
    assert_non_null(hl_instance_get(instance, 0));
    assert_ptr_equal(hl_instance_get(instance, 0), cargo_id);
    assert_ptr_equal(hl_instance_get(cargo_id, 0), cargo_id);   /* not cleared */
    assert_ptr_equal(hl_instance_get(cargo_id, 1), instance);
    assert_true(hl_gc_is_finalized(instance));
    assert_false(hl_gc_is_finalized(cargo_id));
    hl_decref(rt, instance);
    assert_int_equal(hl_gc_collect(rt, 2), 2);
    assert_int_equal(z.resurrected, 1);
    hl_decref(rt, z.storage);
}

/* N = 100
 * class A: __slots__ = ('me', '__weakref__'); me = self
 * class Z(A): __slots__ = (); def __del__(self): zs.t_append(self)
 * getstats() = gc.get_stats()[-1]['collected'], [...]['uncollectable']
 *                       collect()  collected delta  uncollectable delta
 * N A()                       100       100              0
 * Z()                           0         0              0
 * N A() + Z()                 100       100              0
 * zs.clear()                    2         2              0
 * (test_gc's numbers are 2N, 0, 2N, 4 with its instance dicts; these are
 * the reference's "Now" column, for instances without a __dict__.) */
static void test_resurrection_does_not_block_cleanup_of_other_objects(void **state)
{
    hl_runtime_t *rt = RT(state);
    enum { N = 100 };
    lazarus_t zs = {t_list_new(rt), 0};
    hl_type_t *A = t_type_new(rt, "A", NULL, NULL, NULL);
    hl_type_t *Z = t_type_new(rt, "Z", lazarus_finalize, NULL, &zs);
    hl_gc_collect(rt, 2);

    hl_gc_generation_stats_t old = stats_of(rt, 2), now;
    for (int i = 0; i < N; i++) {
        hl_object_t *a = t_inst(rt, A, 1);
        hl_instance_set(rt, a, 0, a);
        hl_decref(rt, a);
    }
    assert_int_equal(hl_gc_collect(rt, 2), N);
    now = stats_of(rt, 2);
    assert_int_equal(now.collected - old.collected, N);
    assert_int_equal(now.uncollectable - old.uncollectable, 0);

    old = now;
    hl_object_t *z = t_inst(rt, Z, 1);
    hl_instance_set(rt, z, 0, z);
    hl_decref(rt, z);
    assert_int_equal(hl_gc_collect(rt, 2), 0);
    now = stats_of(rt, 2);
    assert_int_equal(now.collected - old.collected, 0);
    assert_int_equal(now.uncollectable - old.uncollectable, 0);

    old = now;
    for (int i = 0; i < N; i++) {
        hl_object_t *a = t_inst(rt, A, 1);
        hl_instance_set(rt, a, 0, a);
        hl_decref(rt, a);
    }
    z = t_inst(rt, Z, 1);
    hl_instance_set(rt, z, 0, z);
    hl_decref(rt, z);
    assert_int_equal(hl_gc_collect(rt, 2), N);
    now = stats_of(rt, 2);
    assert_int_equal(now.collected - old.collected, N);
    assert_int_equal(now.uncollectable - old.uncollectable, 0);

    old = now;
    assert_int_equal(hl_list_size(zs.storage), 2);
    hl_list_clear(rt, zs.storage);
    assert_int_equal(hl_gc_collect(rt, 2), 2);
    now = stats_of(rt, 2);
    assert_int_equal(now.collected - old.collected, 2);
    assert_int_equal(now.uncollectable - old.uncollectable, 0);
    assert_int_equal(zs.resurrected, 2);
    hl_decref(rt, zs.storage);
}

/* bpo-38006: a weakref that is itself trash never runs its callback.
 *
 *   Z <- Y <- A--+--> WZ -> C          (test_gc's structure)
 *             ^  |
 *             +--+
 * test_gc hides Z from the collector with _testcapi.ContainerNoGC (Y
 * holds Z without a tp_traverse).  heaplab has no such container (its
 * callable is a GC type), so here Y is an instance whose finalizer drops a
 * reference to Z the collector cannot see.  If trash weakrefs were not
 * cleared before finalizers run, Z would die with WZ still live and C
 * would run.
 *
 * called = []; def cb(w): called.t_append(w)
 * class A: __slots__ = ('a', 'y', 'wz')
 * class Z: __slots__ = ('__weakref__',)
 * hidden = []
 * class Y: __slots__ = (); def __del__(self): hidden.clear()
 * a = A(); a.a = a; a.y = Y(); hidden.t_append(Z())
 * a.wz = weakref.ref(hidden[0], cb)
 * wr_cycle = [a.wz]; wr_cycle.t_append(wr_cycle)
 * gc.collect(); del a, wr_cycle
 * gc.collect(), called, hidden                   # 4, [], []
 * (test_gc's own structure, with ContainerNoGC: gc.collect() == 3, callback
 * not called.) */
typedef struct hidden_s {
    hl_object_t *z;
    int finalized;
} hidden_t;

static void y_finalize(hl_runtime_t *rt, hl_object_t *self, void *user)
{
    hidden_t *h = user;
    h->finalized++;
    hl_object_t *z = h->z;
    h->z = NULL;
    hl_xdecref(rt, z);                            /* hidden.clear() */
}

static void test_trash_weakref_clear(void **state)
{
    hl_runtime_t *rt = RT(state);
    counter_t called = {0};
    hidden_t hidden = {NULL, 0};
    hl_object_t *callback = hl_callable_new(rt, count_call, NULL, &called);
    assert_non_null(callback);
    hl_type_t *A = t_type_new(rt, "A", NULL, NULL, NULL);
    hl_type_t *Z = t_type_new(rt, "Z", NULL, NULL, NULL);
    hl_type_t *Y = t_type_new(rt, "Y", y_finalize, NULL, &hidden);
    enum { A_A, A_Y, A_WZ };
    hl_object_t *a = t_inst(rt, A, 3);
    hl_instance_set(rt, a, A_A, a);
    hl_object_t *y = t_inst(rt, Y, 0);
    hl_instance_set(rt, a, A_Y, y);
    hl_decref(rt, y);
    hidden.z = t_inst(rt, Z, 0);
    hl_object_t *wz = hl_weakref_new(rt, hidden.z, callback);
    assert_non_null(wz);
    hl_instance_set(rt, a, A_WZ, wz);
    hl_object_t *wr_cycle = t_list_new(rt);
    t_append(rt, wr_cycle, wz);
    t_append(rt, wr_cycle, wr_cycle);
    hl_decref(rt, wz);
    hl_gc_collect(rt, 2);
    hl_decref(rt, a);
    hl_decref(rt, wr_cycle);
    assert_int_equal(hl_gc_collect(rt, 2), 4);
    assert_int_equal(called.calls, 0);            /* bpo-38006 */
    assert_int_equal(hidden.finalized, 1);
    assert_null(hidden.z);
    hl_decref(rt, callback);
}

/* ---------------------------------------------------------------------- */
/* GCCallbackTests */

typedef struct visit_s {
    int which;            /* 1 or 2 */
    bool stop;            /* phase == "stop" */
    hl_gc_info_t info;
} visit_t;

struct cbctx_s {
    visit_t visit[64];
    int nvisit;
    bool cleanup;
    hl_type_t *uncollectable;
    counter_t tp_dels;           /* Uncollectable's __tp_del__ calls */
    hl_object_t *othergarbage;   /* a list */
};

static void cb_record(cbctx_t *c, int which, const char *phase, const hl_gc_info_t *info)
{
    bool stop = strcmp(phase, "stop") == 0;
    assert_true(stop || strcmp(phase, "start") == 0);
    assert_true(c->nvisit < 64);
    c->visit[c->nvisit++] = (visit_t){which, stop, *info};
}

static bool is_uncollectable(const hl_object_t *o)
{
    return hl_kind(o) == HL_KIND_INSTANCE && strcmp(hl_type_name(o), "Uncollectable") == 0;
}

static void cb1(hl_runtime_t *rt, const char *phase, const hl_gc_info_t *info, void *user)
{
    cb_record(user, 1, phase, info);
}

/* def cb2(self, phase, info):
 *     self.visit.t_append((2, phase, dict(info)))
 *     if phase == "stop" and hasattr(self, "cleanup"):
 *         uc = [e for e in gc.garbage if isinstance(e, Uncollectable)]
 *         gc.garbage[:] = [e for e in gc.garbage if not isinstance(e, Uncollectable)]
 *         for e in uc: e.partner = None */
static void cb2(hl_runtime_t *rt, const char *phase, const hl_gc_info_t *info, void *user)
{
    cbctx_t *c = user;
    cb_record(c, 2, phase, info);
    if (strcmp(phase, "stop") != 0 || !c->cleanup)
        return;
    hl_object_t *garbage = hl_gc_garbage(rt);
    hl_object_t *uc = t_list_new(rt), *others = t_list_new(rt);
    for (size_t i = 0; i < hl_list_size(garbage); i++) {
        hl_object_t *e = hl_list_get(garbage, i);
        t_append(rt, is_uncollectable(e) ? uc : others, e);
    }
    hl_list_clear(rt, garbage);
    for (size_t i = 0; i < hl_list_size(others); i++)
        t_append(rt, garbage, hl_list_get(others, i));
    for (size_t i = 0; i < hl_list_size(uc); i++)
        hl_instance_set(rt, hl_list_get(uc, i), 0, NULL);
    hl_decref(rt, others);
    hl_decref(rt, uc);
}

/* setUp: gc.disable(); gc.set_debug(0); gc.callbacks += [cb1, cb2] */
static int cb_setup(void **state)
{
    setup(state);
    fixture_t *f = *state;
    cbctx_t *c = calloc(1, sizeof *c);
    assert_non_null(c);
    hl_gc_set_debug(f->rt, 0);
    c->othergarbage = t_list_new(f->rt);
    c->uncollectable = t_type_new(f->rt, "Uncollectable", NULL, count_hook, &c->tp_dels);
    assert_int_equal(hl_gc_callback_add(f->rt, cb1, c), 0);
    assert_int_equal(hl_gc_callback_add(f->rt, cb2, c), 0);
    f->cb = c;
    return 0;
}

#define CBCTX(state) (((fixture_t *)*(state))->cb)

/* tearDown: remove the callbacks; gc.collect(); break the Uncollectables
 * in gc.garbage; del gc.garbage[:]; del self.othergarbage; gc.collect() */
static int cb_teardown(void **state)
{
    fixture_t *f = *state;
    hl_runtime_t *rt = f->rt;
    cbctx_t *c = CBCTX(state);
    assert_int_equal(hl_gc_callback_remove(rt, cb1, c), 0);
    assert_int_equal(hl_gc_callback_remove(rt, cb2, c), 0);
    assert_int_equal(hl_gc_callback_remove(rt, cb2, c), -1);
    hl_gc_collect(rt, 2);
    hl_object_t *garbage = hl_gc_garbage(rt);
    for (size_t i = 0; i < hl_list_size(garbage); i++)
        if (is_uncollectable(hl_list_get(garbage, i)))
            hl_instance_set(rt, hl_list_get(garbage, i), 0, NULL);
    hl_list_clear(rt, garbage);
    hl_decref(rt, c->othergarbage);
    hl_gc_collect(rt, 2);
    free(c);
    f->cb = NULL;
    return teardown(state);
}

/* preclean: self.visit = []; gc.collect();
 * garbage, gc.garbage[:] = gc.garbage[:], []; self.othergarbage.t_append(garbage)
 * self.visit = [] */
static void preclean(hl_runtime_t *rt, cbctx_t *c)
{
    c->nvisit = 0;
    hl_gc_collect(rt, 2);
    hl_object_t *garbage = hl_gc_garbage(rt);
    for (size_t i = 0; i < hl_list_size(garbage); i++)
        t_append(rt, c->othergarbage, hl_list_get(garbage, i));
    hl_list_clear(rt, garbage);
    c->nvisit = 0;
}

/* self.preclean(); gc.collect()
 * visit == [(1, 'start', {'generation': 2, 'collected': 0, 'uncollectable': 0}),
 *           (2, 'start', {...same...}),
 *           (1, 'stop',  {'generation': 2, 'collected': 0, 'uncollectable': 0}),
 *           (2, 'stop',  {...same...})]
 * (test_gc checks two visits per callback, two starts, two stops and the
 * three info keys; the oracle gives the exact sequence above.) */
static void test_collect(void **state)
{
    hl_runtime_t *rt = RT(state);
    cbctx_t *c = CBCTX(state);
    preclean(rt, c);
    hl_gc_collect(rt, 2);
    assert_int_equal(c->nvisit, 4);
    static const struct { int which; bool stop; } order[4] = {
        {1, false}, {2, false}, {1, true}, {2, true},
    };
    for (int i = 0; i < 4; i++) {
        assert_int_equal(c->visit[i].which, order[i].which);
        assert_int_equal(c->visit[i].stop, order[i].stop);
        assert_int_equal(c->visit[i].info.generation, 2);
        assert_int_equal(c->visit[i].info.collected, 0);
        assert_int_equal(c->visit[i].info.uncollectable, 0);
    }
}

/* self.preclean(); gc.collect(2): every info['generation'] == 2
 * gc.collect(0): every info['generation'] == 0 (4 visits) */
static void test_collect_generation(void **state)
{
    hl_runtime_t *rt = RT(state);
    cbctx_t *c = CBCTX(state);
    preclean(rt, c);
    hl_gc_collect(rt, 2);
    assert_int_equal(c->nvisit, 4);
    for (int i = 0; i < c->nvisit; i++)
        assert_int_equal(c->visit[i].info.generation, 2);
    for (int g = 0; g < 2; g++) {
        c->nvisit = 0;
        hl_gc_collect(rt, g);
        assert_int_equal(c->nvisit, 4);
        for (int i = 0; i < c->nvisit; i++)
            assert_int_equal(c->visit[i].info.generation, g);
    }
}

/* @with_tp_del
 * class Uncollectable: __slots__ = ('partner', '__weakref__')
 *     def __init__(self, partner=None):
 *         self.partner = Uncollectable(partner=self) if partner is None else partner
 *     def __tp_del__(self): pass
 * self.preclean()
 * Uncollectable(); Uncollectable(); C1055820(666)
 * gc.collect()                                   # 5
 * stop infos: collected 1, uncollectable 4
 * len(gc.garbage) == 4, all Uncollectable
 * for e in gc.garbage: ...         # the loop variable e keeps the last one
 * self.cleanup = True; self.visit = []; gc.garbage[:] = []
 * gc.collect()                                   # 2
 * stop infos: collected 0, uncollectable 2       # e's pair only
 * len(gc.garbage) == 0                           # cb2 broke them
 * (With instance dicts test_gc of 3.9 had 2/8 and 0/4.) */
static void make_uncollectable_pair(hl_runtime_t *rt, hl_type_t *tp)
{
    hl_object_t *self = t_inst(rt, tp, 1);
    hl_object_t *partner = t_inst(rt, tp, 1);
    hl_instance_set(rt, partner, 0, self);
    hl_instance_set(rt, self, 0, partner);
    hl_decref(rt, partner);
    hl_decref(rt, self);
}

static void test_collect_garbage(void **state)
{
    hl_runtime_t *rt = RT(state);
    cbctx_t *c = CBCTX(state);
    hl_type_t *C = t_type_new(rt, "C1055820", NULL, NULL, NULL);
    preclean(rt, c);
    make_uncollectable_pair(rt, c->uncollectable);
    make_uncollectable_pair(rt, c->uncollectable);
    hl_object_t *c666 = c1055820(rt, C, 666);
    hl_decref(rt, c666);
    assert_int_equal(hl_gc_collect(rt, 2), 5);
    int stops = 0;
    for (int i = 0; i < c->nvisit; i++) {
        if (!c->visit[i].stop)
            continue;
        stops++;
        assert_int_equal(c->visit[i].info.collected, 1);
        assert_int_equal(c->visit[i].info.uncollectable, 4);
    }
    assert_int_equal(stops, 2);
    hl_object_t *garbage = hl_gc_garbage(rt);
    assert_int_equal(hl_list_size(garbage), 4);
    for (size_t i = 0; i < 4; i++)
        assert_true(is_uncollectable(hl_list_get(garbage, i)));
    hl_object_t *e = hl_list_get(garbage, 3);
    hl_incref(e);

    c->cleanup = true;
    c->nvisit = 0;
    hl_list_clear(rt, garbage);
    assert_int_equal(hl_gc_collect(rt, 2), 2);
    stops = 0;
    for (int i = 0; i < c->nvisit; i++) {
        if (!c->visit[i].stop)
            continue;
        stops++;
        assert_int_equal(c->visit[i].info.collected, 0);
        assert_int_equal(c->visit[i].info.uncollectable, 2);
    }
    assert_int_equal(stops, 2);
    assert_int_equal(hl_list_size(garbage), 0);

    /* the end of the test method: e goes; tearDown breaks its pair */
    c->cleanup = false;
    hl_decref(rt, e);
}

/* ---------------------------------------------------------------------- */
/* GCTogglingTests (setUp: gc.enable(); tearDown: gc.disable()) */

static int toggling_setup(void **state)
{
    setup(state);
    hl_gc_enable(RT(state));
    return 0;
}

static int toggling_teardown(void **state)
{
    hl_gc_disable(RT(state));
    return teardown(state);
}

/* c0 = C1055820(0); gc.collect()                 # c0 to generation 2
 * c1 = C1055820(1); c1.keep_c0_alive = c0; del c0.loop
 * c2 = C1055820(2); c2wr = weakref.ref(c2)
 * ouch = []; def callback(ignored): ouch[:] = [c2wr()]
 * c0wr = weakref.ref(c0, callback)
 * c0 = c1 = c2 = None
 * junk = []; i = 0; detector = GC_Detector()
 * while not detector.gc_happened:
 *     i += 1; assert i <= 10000; assert len(ouch) == 0
 *     junk.t_append([])
 * ouch                                           # [None] (682 iterations,
 *                                                # one gen-0 collection) */
typedef struct c2wr_s {
    hl_object_t *c2wr;
    int len;
    int nones;
} c2wr_t;

static void c2wr_call(hl_runtime_t *rt, hl_object_t *self, hl_object_t *arg, void *user)
{
    c2wr_t *o = user;
    o->len = 1;
    o->nones = hl_weakref_get(o->c2wr) == NULL;
}

static void c2wr_finalize(hl_runtime_t *rt, hl_object_t *self, void *user)
{
    c2wr_call(rt, NULL, NULL, user);
}

static void wait_for_detector(hl_runtime_t *rt, hl_type_t *C, const c2wr_t *ouch)
{
    detector_t detector;
    hl_object_t *junk = t_list_new(rt);
    int i = 0;
    detector_init(rt, &detector, C);
    while (!detector.gc_happened) {
        i++;
        if (i > 10000)
            fail_msg("gc didn't happen after 10000 iterations");
        assert_int_equal(ouch->len, 0);
        t_append_new(rt, junk, hl_list_new(rt));
    }
    detector_fini(rt, &detector);
    hl_decref(rt, junk);
}

static void test_bug1055820c(void **state)
{
    hl_runtime_t *rt = RT(state);
    hl_type_t *C = t_type_new(rt, "C1055820", NULL, NULL, NULL);
    hl_object_t *c0 = c1055820(rt, C, 0);
    hl_gc_collect(rt, 2);
    assert_true(in_generation(rt, c0, 2));
    hl_object_t *c1 = c1055820(rt, C, 1);
    hl_instance_set(rt, c1, C_KEEP, c0);
    hl_instance_set(rt, c0, C_LOOP, NULL);
    hl_object_t *c2 = c1055820(rt, C, 2);
    c2wr_t ouch = {hl_weakref_new(rt, c2, NULL), 0, 0};
    assert_non_null(ouch.c2wr);
    hl_object_t *callback = hl_callable_new(rt, c2wr_call, NULL, &ouch);
    hl_object_t *c0wr = hl_weakref_new(rt, c0, callback);
    assert_non_null(c0wr);
    hl_decref(rt, c0);
    hl_decref(rt, c1);
    hl_decref(rt, c2);

    hl_gc_generation_stats_t before[3], after[3];
    hl_gc_get_stats(rt, before);
    wait_for_detector(rt, C, &ouch);
    hl_gc_get_stats(rt, after);
    assert_int_equal(ouch.len, 1);                /* else the callback wasn't invoked */
    assert_int_equal(ouch.nones, 1);              /* c2 was not resurrected */
    assert_int_equal(after[0].collections - before[0].collections, 1);
    assert_int_equal(after[2].collections, before[2].collections);
    assert_null(hl_weakref_get(c0wr));
    hl_decref(rt, c0wr);
    hl_decref(rt, callback);
    hl_decref(rt, ouch.c2wr);
}

/* class D(C1055820): __slots__ = ()
 *     def __del__(self): ouch[:] = [c2wr()]
 * d0 = D(0); gc.collect()
 * c1 = C1055820(1); c1.keep_d0_alive = d0; del d0.loop
 * c2 = C1055820(2); c2wr = weakref.ref(c2)
 * d0 = c1 = c2 = None
 * detector loop as in test_bug1055820c
 * ouch                                           # [None] (781 iterations) */
static void test_bug1055820d(void **state)
{
    hl_runtime_t *rt = RT(state);
    c2wr_t ouch = {NULL, 0, 0};
    hl_type_t *C = t_type_new(rt, "C1055820", NULL, NULL, NULL);
    hl_type_t *D = t_type_new(rt, "D", c2wr_finalize, NULL, &ouch);
    hl_object_t *d0 = c1055820(rt, D, 0);
    hl_gc_collect(rt, 2);
    hl_object_t *c1 = c1055820(rt, C, 1);
    hl_instance_set(rt, c1, C_KEEP, d0);
    hl_instance_set(rt, d0, C_LOOP, NULL);
    hl_object_t *c2 = c1055820(rt, C, 2);
    ouch.c2wr = hl_weakref_new(rt, c2, NULL);
    assert_non_null(ouch.c2wr);
    hl_decref(rt, d0);
    hl_decref(rt, c1);
    hl_decref(rt, c2);
    wait_for_detector(rt, C, &ouch);
    assert_int_equal(ouch.len, 1);                /* else __del__ wasn't invoked */
    assert_int_equal(ouch.nones, 1);
    hl_decref(rt, ouch.c2wr);
}

/* gc.set_threshold(1000, 0, 0)                   (@gc_threshold(1000, 0, 0))
 * junk = []; i = 0; detector = GC_Detector()
 * while not detector.gc_happened: i += 1; assert i <= 10000; junk.t_append([])
 * gc.disable(); junk = []; i = 0; detector = GC_Detector()
 * while not detector.gc_happened:
 *     i += 1
 *     if i > 10000: break
 *     junk.t_append([])
 * i                                              # 10001
 * get_stats() collections deltas while disabled  # [0, 0, 0] */
static void test_indirect_calls_with_gc_disabled(void **state)
{
    hl_runtime_t *rt = RT(state);
    hl_type_t *C = t_type_new(rt, "C1055820", NULL, NULL, NULL);
    int saved[3];
    hl_gc_get_threshold(rt, saved);
    set_threshold3(rt, 1000, 0, 0);

    detector_t detector;
    hl_object_t *junk = t_list_new(rt);
    int i = 0;
    detector_init(rt, &detector, C);
    while (!detector.gc_happened) {
        i++;
        if (i > 10000)
            fail_msg("gc didn't happen after 10000 iterations");
        t_append_new(rt, junk, hl_list_new(rt));
    }
    detector_fini(rt, &detector);
    hl_decref(rt, junk);

    hl_gc_disable(rt);
    hl_gc_generation_stats_t before[3], after[3];
    hl_gc_get_stats(rt, before);
    junk = t_list_new(rt);
    i = 0;
    detector_init(rt, &detector, C);
    while (!detector.gc_happened) {
        i++;
        if (i > 10000)
            break;
        t_append_new(rt, junk, hl_list_new(rt));
    }
    assert_int_equal(i, 10001);
    hl_gc_get_stats(rt, after);
    for (int g = 0; g < 3; g++)
        assert_int_equal(after[g].collections, before[g].collections);
    int count[3];
    hl_gc_get_count(rt, count);
    /* counted, never collected (the oracle reads (9932, 0, 1): the first
     * lists come off the free list, uncounted) */
    assert_true(count[0] > 1000);
    detector_fini(rt, &detector);
    hl_decref(rt, junk);
    hl_gc_enable(rt);
    hl_gc_set_threshold(rt, saved, 3);
}

/* ---------------------------------------------------------------------- */
/* Debug output (gc.set_debug) */

/* Run fn with stderr (fd 2) redirected to a temporary file; returns the
 * text written (malloc'd, NUL-terminated). */
static char *capture_stderr(void (*fn)(void *), void *arg)
{
    char path[] = "/tmp/hl_gc_mirror_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fd, 2) == 2);
    fn(arg);
    fflush(stderr);
    assert_true(dup2(saved, 2) == 2);
    close(saved);
    off_t n = lseek(fd, 0, SEEK_END);
    assert_true(n >= 0);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(pread(fd, buf, (size_t)n, 0), n);
    buf[n] = '\0';
    close(fd);
    return buf;
}

typedef struct collect_arg_s {
    hl_runtime_t *rt;
    int generation;
    ssize_t result;
} collect_arg_t;

static void do_collect(void *p)
{
    collect_arg_t *a = p;
    a->result = hl_gc_collect(a->rt, a->generation);
}

/* @with_tp_del class X: __slots__ = ('x',); def __tp_del__(self): pass
 * l = []; l.t_append(l); x = X(); x.x = x; del l, x
 * gc.set_debug(gc.DEBUG_STATS | gc.DEBUG_COLLECTABLE | gc.DEBUG_UNCOLLECTABLE)
 * gc.collect(0)                                  # 2; on stderr:
 *   gc: collecting generation 0...
 *   gc: objects in each generation: 3 0 6461     (heaplab: 2 0 <gen 2>)
 *   gc: objects in permanent generation: 0
 *   gc: collectable <list 0x7f130dccb580>
 *   gc: uncollectable <X 0x7f130dcc3340>
 *   gc: done, 2 unreachable, 1 uncollectable, 0.0000s elapsed */
static void test_debug_stats_output(void **state)
{
    hl_runtime_t *rt = RT(state);
    static counter_t x_dels;
    hl_type_t *X = t_type_new(rt, "X", NULL, count_hook, &x_dels);
    hl_object_t *l = t_list_new(rt);
    t_append(rt, l, l);
    hl_object_t *x = t_inst(rt, X, 1);
    hl_instance_set(rt, x, 0, x);
    char lp[64], xp[64];
    snprintf(lp, sizeof lp, "gc: collectable <list %p>\n", (void *)l);
    snprintf(xp, sizeof xp, "gc: uncollectable <X %p>\n", (void *)x);
    hl_decref(rt, l);
    hl_decref(rt, x);
    ssize_t gen2 = hl_gc_generation_size(rt, 2);
    assert_int_equal(hl_gc_generation_size(rt, 0), 2);
    hl_gc_set_debug(rt, HL_GC_DEBUG_STATS | HL_GC_DEBUG_COLLECTABLE | HL_GC_DEBUG_UNCOLLECTABLE);
    collect_arg_t arg = {rt, 0, 0};
    char *out = capture_stderr(do_collect, &arg);
    hl_gc_set_debug(rt, 0);
    assert_int_equal(arg.result, 2);

    char expect[512];
    snprintf(expect, sizeof expect,
             "gc: collecting generation 0...\n"
             "gc: objects in each generation: 2 0 %zd\n"
             "gc: objects in permanent generation: 0\n"
             "%s%s"
             "gc: done, 2 unreachable, 1 uncollectable, ",
             gen2, lp, xp);
    if (strncmp(out, expect, strlen(expect)) != 0)
        fail_msg("stderr was:\n%s\nexpected it to start with:\n%s", out, expect);
    const char *tail = out + strlen(expect);
    double secs = -1;
    int used = 0;
    assert_int_equal(sscanf(tail, "%lfs elapsed\n%n", &secs, &used), 1);
    assert_true(secs >= 0);
    assert_true(used > 0);
    assert_string_equal(tail + used, "");
    /* "%.4f": four decimals */
    const char *dot = strchr(tail, '.');
    assert_non_null(dot);
    assert_memory_equal(dot + 5, "s elapsed\n", 10);
    free(out);

    /* only DEBUG_COLLECTABLE: one line per collectable object, nothing else */
    hl_list_clear(rt, hl_gc_garbage(rt));         /* x: a cycle again */
    hl_object_t *l2 = t_list_new(rt);
    t_append(rt, l2, l2);
    snprintf(lp, sizeof lp, "gc: collectable <list %p>\n", (void *)l2);
    hl_decref(rt, l2);
    hl_gc_set_debug(rt, HL_GC_DEBUG_COLLECTABLE);
    arg.generation = 2;
    out = capture_stderr(do_collect, &arg);
    hl_gc_set_debug(rt, 0);
    assert_int_equal(arg.result, 2);              /* l2 + the X again */
    assert_string_equal(out, lp);
    free(out);

    /* break the X's self-loop */
    hl_object_t *garbage = hl_gc_garbage(rt);
    assert_int_equal(hl_list_size(garbage), 1);
    hl_instance_set(rt, hl_list_get(garbage, 0), 0, NULL);
    hl_list_clear(rt, garbage);
}

/* test_refcount_errors: a refcount one too low makes the collector die.
 * a = [1, 2, 3]; b = [a]  (a module global: the module dict refers to a too)
 * ctypes.pythonapi.Py_DecRef(ctypes.py_object(a)); gc.collect()
 * On a CPython build with assertions: Fatal Python error, gcmodule.c:
 * gc_decref: Assertion "gc_get_refs(g) > 0" failed ... refcount is too
 * small, then an object dump (refcount 1, type name list, repr [1, 2, 3]).
 * (Debian's release build has no assertions; this is the reference's
 * word.)  Skipped if heaplab does not abort. */

static void refcount_too_small_child(void)
{
    hl_runtime_t *rt = mirror_runtime();
    hl_gc_disable(rt);
    static const int64_t v123[] = {1, 2, 3};
    hl_object_t *a = int_list(rt, v123, 3);
    hl_object_t *b = t_list_new(rt), *module = t_list_new(rt);
    t_append(rt, b, a);
    t_append(rt, module, a);
    hl_decref(rt, a);            /* our reference: a is held by b and module */
    hl_decref(rt, a);            /* Py_DecRef(a): refcount 1, two referrers */
    hl_gc_collect(rt, 2);
}

static void test_refcount_errors(void **state)
{
    (void)state;
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGABRT, SIG_DFL);
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        refcount_too_small_child();
        _exit(0);
    }
    close(pipefd[1]);
    char err[8192];
    size_t len = 0;
    ssize_t n;
    while ((n = read(pipefd[0], err + len, sizeof err - 1 - len)) > 0)
        len += (size_t)n;
    err[len] = '\0';
    close(pipefd[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        skip();                  /* heaplab does not abort in this build */
        return;
    }
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    /* CPython's message names the failed check in gc_decref */
    if (strstr(err, "gc_get_refs(g) > 0") == NULL && strstr(err, "refcount is too small") == NULL)
        fail_msg("the child died without naming the refcount check:\n%s", err);
}

/* ---------------------------------------------------------------------- */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tuple, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newinstance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_finalizer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_saveall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_del, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collect_generations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collect_invalid_generation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_freeze, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_objects_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_referents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_is_tracked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_is_finalized, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bug1055820b, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bug21435, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trashcan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resurrection_only_happens_once_per_object, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_resurrection_is_transitive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resurrection_does_not_block_cleanup_of_other_objects,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_trash_weakref_clear, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collect, cb_setup, cb_teardown),
        cmocka_unit_test_setup_teardown(test_collect_generation, cb_setup, cb_teardown),
        cmocka_unit_test_setup_teardown(test_collect_garbage, cb_setup, cb_teardown),
        cmocka_unit_test_setup_teardown(test_bug1055820c, toggling_setup, toggling_teardown),
        cmocka_unit_test_setup_teardown(test_bug1055820d, toggling_setup, toggling_teardown),
        cmocka_unit_test_setup_teardown(test_indirect_calls_with_gc_disabled, toggling_setup,
                                        toggling_teardown),
        cmocka_unit_test_setup_teardown(test_debug_stats_output, setup, teardown),
        cmocka_unit_test(test_refcount_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
