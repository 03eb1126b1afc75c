/* gc_test.c: the cyclic collector through the public API.
 *
 *   - hl_gc_check and a reference-count audit after every operation of
 *     random graph programs (fixed seeds), with finalizers that resurrect,
 *     legacy finalizers, weakref callbacks that allocate, automatic
 *     collections, freeze, SAVEALL; each program must end with nothing
 *     leaked (HL_GC_TEST_SEED / _NOPS / _TRACE replay one program);
 *   - what collect() counts: weakrefs, SAVEALL, legacy cycles; deep
 *     structures freed by the trashcan inside a collection;
 *   - automatic collection: when it happens and which generation it picks,
 *     the long-lived 25% rule, get_count after each;
 *   - untrack_tuples' order, dicts untracked only by full collections;
 *   - get_referrers / get_referents; callbacks: info fields, order, and a
 *     list changed while it is being called; freeze / unfreeze.
 *
 * Expected numbers come from /usr/bin/python3 (3.11.2), running the
 * program in the comment above each test.  For automatic collection the
 * oracle is a little harness (shown at test_automatic_collection) whose
 * counts heaplab must match exactly: it allocates K lists with gc enabled
 * and reads get_stats() / get_count() deltas; a model of 3.11's
 * collect_generations reproduces every one of its numbers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heaplab/allocator.h"
#include "heaplab/gc.h"
#include "heaplab/object.h"
#include "rt_test_util.h"

/* ---------------------------------------------------------------------- */
/* Helpers */





/* test_gc's module state: gc disabled, a full collection done. */
static hl_runtime_t *fresh(void)
{
    hl_runtime_t *rt = rt_make("pymalloc");
    hl_gc_disable(rt);
    hl_gc_collect(rt, 2);
    return rt;
}





static void set_threshold3(hl_runtime_t *rt, int t0, int t1, int t2)
{
    int t[3] = {t0, t1, t2};
    hl_gc_set_threshold(rt, t, 3);
}

static void get_count(hl_runtime_t *rt, int out[3])
{
    hl_gc_get_count(rt, out);
}

static void collections(hl_runtime_t *rt, ssize_t out[3])
{
    hl_gc_generation_stats_t s[3];
    hl_gc_get_stats(rt, s);
    for (int g = 0; g < 3; g++)
        out[g] = s[g].collections;
}

/* ---------------------------------------------------------------------- */
/* Random graph programs */

enum { NROOTS = 24, NTYPES = 5 };

typedef struct prog_s {
    hl_runtime_t *rt;
    uint64_t rng;
    hl_object_t *roots[NROOTS];  /* owned references (or NULL) */
    hl_type_t *types[NTYPES];
    hl_object_t *zombies;        /* a list: what finalizers resurrect into */
    hl_object_t *wrcb;           /* the weakref callback */
    long finalizes, dels, callbacks, gc_callbacks;
    int op;                      /* for messages */
    bool trace;                  /* HL_GC_TEST_TRACE: print each step and the roots */
    uint64_t seed;
} prog_t;

static uint64_t rnd(prog_t *p)
{
    /* xorshift64* */
    p->rng ^= p->rng >> 12;
    p->rng ^= p->rng << 25;
    p->rng ^= p->rng >> 27;
    return p->rng * UINT64_C(2685821657736338717);
}

static size_t rnd_below(prog_t *p, size_t n) { return (size_t)(rnd(p) % n); }

static void set_root(prog_t *p, size_t i, hl_object_t *o)
{
    hl_object_t *old = p->roots[i];
    p->roots[i] = o;               /* as Py_SETREF: store first, then release */
    hl_xdecref(p->rt, old);
}

static hl_object_t *pick(prog_t *p) { return p->roots[rnd_below(p, NROOTS)]; }

static hl_object_t *pick_kind(prog_t *p, hl_kind_t kind)
{
    size_t start = rnd_below(p, NROOTS);
    for (size_t k = 0; k < NROOTS; k++) {
        hl_object_t *o = p->roots[(start + k) % NROOTS];
        if (o && hl_kind(o) == kind)
            return o;
    }
    return NULL;
}

/* PEP 442 finalizer: resurrects the object into zombies one time in three
 * (deterministic: the program's own generator). */
static void prog_finalize(hl_runtime_t *rt, hl_object_t *self, void *user)
{
    prog_t *p = user;
    p->finalizes++;
    if (p->zombies != NULL && rnd_below(p, 3) == 0)
        t_append(rt, p->zombies, self);
}

static void prog_del(hl_runtime_t *rt, hl_object_t *self, void *user)
{
    ((prog_t *)user)->dels++;
}

/* A weakref callback that allocates while the collector runs. */
static void prog_wr_callback(hl_runtime_t *rt, hl_object_t *self, hl_object_t *arg, void *user)
{
    prog_t *p = user;
    p->callbacks++;
    assert_null(hl_weakref_get(arg));
    hl_object_t *l = t_list_new(rt);
    t_append(rt, l, arg);
    t_append_new(rt, l, hl_float_new(rt, 1.0));
    if (p->zombies != NULL && rnd_below(p, 4) == 0)
        t_append(rt, p->zombies, l);
    hl_decref(rt, l);
}

/* gc.callbacks: the lists are valid at both phases. */
static void prog_gc_callback(hl_runtime_t *rt, const char *phase, const hl_gc_info_t *info,
                             void *user)
{
    prog_t *p = user;
    p->gc_callbacks++;
    assert_true(info->generation >= 0 && info->generation <= 2);
    assert_true(info->collected >= 0 && info->uncollectable >= 0);
    if (!hl_gc_check(rt, true))
        fail_msg("seed %llu op %d: hl_gc_check failed in the %s callback",
                 (unsigned long long)p->seed, p->op, phase);
}

static hl_object_t *new_atom(prog_t *p)
{
    char buf[32];
    switch (rnd_below(p, 4)) {
    case 0: return hl_float_new(p->rt, (double)rnd_below(p, 1000));
    case 1:
        snprintf(buf, sizeof buf, "s%zu", rnd_below(p, 100));
        return hl_str_from_cstr(p->rt, buf);
    case 2: return hl_int_new(p->rt, (int64_t)rnd_below(p, 300));   /* often cached */
    default: return hl_int_new(p->rt, (int64_t)1 << 40);
    }
}

/* A value to store: a root, or a new atom when the root slot is empty.
 * Returns a new reference. */
static hl_object_t *value(prog_t *p)
{
    hl_object_t *v = pick(p);
    if (v) {
        hl_incref(v);
        return v;
    }
    v = new_atom(p);
    assert_non_null(v);
    return v;
}

/* Break whatever is in gc.garbage and empty it. */
static void break_garbage(prog_t *p)
{
    hl_runtime_t *rt = p->rt;
    hl_object_t *garbage = hl_gc_garbage(rt);
    hl_object_t *items = t_list_new(rt);
    for (size_t i = 0; i < hl_list_size(garbage); i++)
        t_append(rt, items, hl_list_get(garbage, i));
    hl_list_clear(rt, garbage);
    for (size_t i = 0; i < hl_list_size(items); i++) {
        hl_object_t *o = hl_list_get(items, i);
        switch (hl_kind(o)) {
        case HL_KIND_LIST: hl_list_clear(rt, o); break;
        case HL_KIND_DICT: hl_dict_clear(rt, o); break;
        case HL_KIND_INSTANCE:
            for (size_t s = 0; s < hl_instance_nslots(o); s++)
                hl_instance_set(rt, o, s, NULL);
            break;
        default: break;   /* tuples, weakrefs, callables: freed with the rest */
        }
    }
    hl_decref(rt, items);
}

static void prog_step(prog_t *p)
{
    hl_runtime_t *rt = p->rt;
    size_t r = rnd_below(p, NROOTS);
    hl_object_t *o;
    char key[8];
    unsigned op = (unsigned)rnd_below(p, 100);
    if (p->trace)
        fprintf(stderr, "op %d: %u root %zu\n", p->op, op, r);

    if (op < 8) {                               /* [] */
        set_root(p, r, t_list_new(rt));
    } else if (op < 13) {                       /* {} */
        o = hl_dict_new(rt);
        assert_non_null(o);
        set_root(p, r, o);
    } else if (op < 19) {                       /* (a, b, ...) */
        size_t n = rnd_below(p, 4);
        hl_object_t *items[3];
        for (size_t i = 0; i < n; i++)
            items[i] = value(p);
        o = hl_tuple_new(rt, n, items);
        assert_non_null(o);
        for (size_t i = 0; i < n; i++)
            hl_decref(rt, items[i]);
        set_root(p, r, o);
    } else if (op < 29) {                       /* Instance() */
        o = hl_instance_new(rt, p->types[rnd_below(p, NTYPES)], rnd_below(p, 4));
        assert_non_null(o);
        set_root(p, r, o);
    } else if (op < 32) {                       /* an atom */
        set_root(p, r, new_atom(p));
    } else if (op < 36) {                       /* weakref.ref(i[, cb]) */
        hl_object_t *target = pick_kind(p, HL_KIND_INSTANCE);
        if (target) {
            hl_object_t *cb = NULL;
            switch (rnd_below(p, 3)) {
            case 0: cb = p->wrcb; break;
            case 1: cb = pick_kind(p, HL_KIND_CALLABLE); break;   /* may be NULL */
            default: break;
            }
            o = hl_weakref_new(rt, target, cb);
            assert_non_null(o);
            set_root(p, r, o);
        }
    } else if (op < 46) {                       /* l.t_append(v) */
        hl_object_t *l = pick_kind(p, HL_KIND_LIST);
        if (l) {
            hl_object_t *v = value(p);
            t_append(rt, l, v);
            hl_decref(rt, v);
        }
    } else if (op < 53) {                       /* d[k] = v */
        hl_object_t *d = pick_kind(p, HL_KIND_DICT);
        if (d) {
            hl_object_t *v = value(p);
            snprintf(key, sizeof key, "k%zu", rnd_below(p, 8));
            assert_int_equal(hl_dict_setitem_cstr(rt, d, key, v), 0);
            hl_decref(rt, v);
        }
    } else if (op < 61) {                       /* i.slot = v */
        hl_object_t *i = pick_kind(p, HL_KIND_INSTANCE);
        if (i && hl_instance_nslots(i) > 0) {
            hl_object_t *v = value(p);
            hl_instance_set(rt, i, rnd_below(p, hl_instance_nslots(i)), v);
            hl_decref(rt, v);
        }
    } else if (op < 64) {                       /* l[k] = v */
        hl_object_t *l = pick_kind(p, HL_KIND_LIST);
        if (l && hl_list_size(l) > 0) {
            hl_object_t *v = value(p);
            hl_list_set(rt, l, rnd_below(p, hl_list_size(l)), v);
            hl_decref(rt, v);
        }
    } else if (op < 67) {                       /* l.pop(k) */
        hl_object_t *l = pick_kind(p, HL_KIND_LIST);
        if (l && hl_list_size(l) > 0) {
            o = hl_list_pop(rt, l, (int64_t)rnd_below(p, hl_list_size(l)));
            assert_non_null(o);
            set_root(p, r, o);
        }
    } else if (op < 69) {                       /* clear() */
        hl_object_t *c = pick(p);
        if (c && hl_kind(c) == HL_KIND_LIST)
            hl_list_clear(rt, c);
        else if (c && hl_kind(c) == HL_KIND_DICT)
            hl_dict_clear(rt, c);
    } else if (op < 71) {                       /* del d[k] */
        hl_object_t *d = pick_kind(p, HL_KIND_DICT);
        if (d) {
            snprintf(key, sizeof key, "k%zu", rnd_below(p, 8));
            if (hl_dict_delitem_cstr(rt, d, key) != 0) {
                assert_int_equal(hl_runtime_error(rt), HL_ERR_KEY);
                hl_runtime_clear_error(rt);
            }
        }
    } else if (op < 73) {                       /* i.slot = None */
        hl_object_t *i = pick_kind(p, HL_KIND_INSTANCE);
        if (i && hl_instance_nslots(i) > 0)
            hl_instance_set(rt, i, rnd_below(p, hl_instance_nslots(i)), NULL);
    } else if (op < 83) {                       /* del root */
        set_root(p, r, NULL);
    } else if (op < 86) {                       /* alias */
        o = pick(p);
        if (o) {
            hl_incref(o);
            set_root(p, r, o);
        }
    } else if (op < 91) {                       /* gc.collect(g) */
        ssize_t n = hl_gc_collect(rt, (int)rnd_below(p, 3));
        assert_true(n >= 0);
    } else if (op < 94) {                       /* queries */
        hl_object_t *q = pick(p);
        hl_object_t *res;
        bool enabled = hl_gc_isenabled(rt);
        switch (rnd_below(p, 3)) {
        case 0: {
            int g = (int)rnd_below(p, 4) - 1;
            ssize_t before = g < 0 ? hl_gc_generation_size(rt, 0) + hl_gc_generation_size(rt, 1)
                                         + hl_gc_generation_size(rt, 2)
                                   : hl_gc_generation_size(rt, g);
            res = hl_gc_get_objects(rt, g);
            assert_non_null(res);
            if (!enabled)
                assert_int_equal((ssize_t)hl_list_size(res), before);
            break;
        }
        case 1:
            res = q ? hl_gc_get_referrers(rt, &q, 1) : NULL;
            break;
        default:
            res = q ? hl_gc_get_referents(rt, &q, 1) : NULL;
            break;
        }
        if (res) {
            if (rnd_below(p, 8) == 0)
                set_root(p, r, res);            /* keep a result around */
            else
                hl_decref(rt, res);
        }
    } else if (op < 95) {                       /* freeze / unfreeze */
        /* frozen about a fifth of the time (the audit skips those steps) */
        if (hl_gc_get_freeze_count(rt) > 0)
            hl_gc_unfreeze(rt);
        else if (rnd_below(p, 4) == 0)
            hl_gc_freeze(rt);
    } else if (op < 96) {                       /* automatic collection */
        static const int t0s[] = {1, 2, 5, 10, 700};
        if (hl_gc_isenabled(rt) && rnd_below(p, 2)) {
            hl_gc_disable(rt);
        } else {
            set_threshold3(rt, t0s[rnd_below(p, 5)], (int)rnd_below(p, 4), (int)rnd_below(p, 4));
            hl_gc_enable(rt);
        }
    } else if (op < 97) {                       /* zombies.clear() */
        hl_list_clear(rt, p->zombies);
    } else if (op < 98) {                       /* break gc.garbage */
        break_garbage(p);
    } else if (op < 99) {                       /* SAVEALL on / off */
        hl_gc_set_debug(rt, hl_gc_get_debug(rt) ^ HL_GC_DEBUG_SAVEALL);
    } else {                                    /* a callback that cycles */
        o = hl_callable_new(rt, prog_wr_callback, pick(p), p);
        assert_non_null(o);
        set_root(p, r, o);
    }
}

/* The reference audit, after every step: every reference to a tracked
 * object comes from a tracked object (counted through hl_traverse), a root
 * or the test itself.  More references than that is a leak, fewer a
 * refcount that is too small.  Two exceptions make it skip: frozen objects
 * (get_objects cannot list them) and dicts with extra references (an
 * untracked tuple may hold a dict that became tracked after the tuple was
 * untracked; CPython has the same blind spot). */
typedef struct refcount_acc_s {
    hl_object_t **objs;
    ssize_t *refs;
    size_t n;
} refcount_acc_t;

static int count_ref(hl_object_t *target, void *arg)
{
    refcount_acc_t *a = arg;
    for (size_t i = 0; i < a->n; i++)
        if (a->objs[i] == target) {
            a->refs[i]++;
            break;
        }
    return 0;
}

static void audit_refcounts(prog_t *p)
{
    hl_runtime_t *rt = p->rt;
    if (hl_gc_get_freeze_count(rt) > 0)
        return;
    hl_object_t *all = hl_gc_get_objects(rt, -1);
    refcount_acc_t a = {calloc(hl_list_size(all) + 1, sizeof(hl_object_t *)),
                        calloc(hl_list_size(all) + 1, sizeof(ssize_t)), hl_list_size(all)};
    for (size_t i = 0; i < a.n; i++)
        a.objs[i] = hl_list_get(all, i);
    for (size_t i = 0; i < a.n; i++)
        hl_traverse(a.objs[i], count_ref, &a);
    for (size_t i = 0; i < NROOTS; i++)
        if (p->roots[i])
            count_ref(p->roots[i], &a);
    if (p->zombies)
        count_ref(p->zombies, &a);
    if (p->wrcb)
        count_ref(p->wrcb, &a);
    for (size_t i = 0; i < a.n; i++) {
        ssize_t have = hl_refcnt(a.objs[i]) - 1;   /* minus `all` */
        if (a.objs[i] == hl_gc_garbage(rt))
            have--;                               /* the runtime's */
        if (have < a.refs[i] || (have > a.refs[i] && hl_kind(a.objs[i]) != HL_KIND_DICT)) {
            char msg[160];
            snprintf(msg, sizeof msg, "seed %llu op %d: %s %p has refcount %zd, but %zd references",
                     (unsigned long long)p->seed, p->op, hl_type_name(a.objs[i]),
                     (void *)a.objs[i], have, a.refs[i]);
            free(a.objs);
            free(a.refs);
            hl_decref(rt, all);
            fail_msg("%s", msg);
        }
    }
    free(a.objs);
    free(a.refs);
    hl_decref(rt, all);
}

static void run_program(const char *allocator, uint64_t seed, int nops)
{
    static prog_t prog;      /* static: a failing program leaks nothing */
    prog_t *p = &prog;
    memset(p, 0, sizeof *p);
    p->rt = rt_make(allocator);
    p->seed = seed;
    p->trace = getenv("HL_GC_TEST_TRACE") != NULL;
    p->rng = seed * UINT64_C(0x9E3779B97F4A7C15) + 1;
    hl_runtime_t *rt = p->rt;
    hl_gc_disable(rt);
    hl_gc_collect(rt, 2);
    hl_runtime_usage_t start;
    hl_runtime_usage(rt, &start);

    p->types[0] = t_type_new(rt, "Plain", NULL, NULL, NULL);
    p->types[1] = t_type_new(rt, "Fin", prog_finalize, NULL, p);
    p->types[2] = t_type_new(rt, "Del", NULL, prog_del, p);
    p->types[3] = t_type_new(rt, "FinDel", prog_finalize, prog_del, p);
    p->types[4] = t_type_new(rt, "Plain2", NULL, NULL, NULL);
    p->zombies = t_list_new(rt);
    p->wrcb = hl_callable_new(rt, prog_wr_callback, NULL, p);
    assert_non_null(p->wrcb);
    assert_int_equal(hl_gc_callback_add(rt, prog_gc_callback, p), 0);

    for (p->op = 0; p->op < nops; p->op++) {
        prog_step(p);
        audit_refcounts(p);
        if (p->trace)
            for (size_t i = 0; i < NROOTS; i++)
                if (p->roots[i])
                    fprintf(stderr, "   root %zu: %s %p refcnt %zd\n", i,
                            hl_type_name(p->roots[i]), (void *)p->roots[i],
                            hl_refcnt(p->roots[i]));
        if (!hl_gc_check(rt, true))
            fail_msg("%s seed %llu: hl_gc_check failed after op %d", allocator,
                     (unsigned long long)seed, p->op);
        assert_int_equal(hl_runtime_error(rt), HL_ERR_NONE);
    }

    /* Tear down: nothing may leak. */
    hl_gc_disable(rt);
    hl_gc_set_debug(rt, 0);
    hl_gc_unfreeze(rt);
    for (size_t i = 0; i < NROOTS; i++) {
        set_root(p, i, NULL);
        audit_refcounts(p);
    }
    hl_decref(rt, p->wrcb);
    p->wrcb = NULL;
    for (int round = 0; round < 8; round++) {
        hl_list_clear(rt, p->zombies);
        audit_refcounts(p);
        hl_gc_collect(rt, 2);
        audit_refcounts(p);
        break_garbage(p);
        audit_refcounts(p);
        if (hl_list_size(p->zombies) == 0 && hl_list_size(hl_gc_garbage(rt)) == 0)
            break;
    }
    /* finalizers and callbacks of what is left must not use zombies now */
    hl_object_t *zombies = p->zombies;
    p->zombies = NULL;
    hl_decref(rt, zombies);
    hl_gc_collect(rt, 2);
    break_garbage(p);
    hl_gc_collect(rt, 2);
    assert_true(hl_gc_check(rt, true));
    assert_int_equal(hl_gc_callback_remove(rt, prog_gc_callback, p), 0);
    hl_runtime_usage_t end;
    hl_runtime_usage(rt, &end);
    if (end.objects != start.objects) {
        /* name what is left, as far as the collector can see it */
        hl_object_t *left = hl_gc_get_objects(rt, -1);
        for (size_t i = 0; left && i < hl_list_size(left); i++) {
            const hl_object_t *o = hl_list_get(left, i);
            print_message("  left: %s %p refcnt %zd%s\n", hl_type_name(o), (void *)o,
                          hl_refcnt(o) - 1, hl_gc_is_finalized(o) ? " finalized" : "");
            hl_object_t *refs = hl_gc_get_referents(rt, (hl_object_t *const *)&o, 1);
            for (size_t j = 0; refs && j < hl_list_size(refs); j++)
                print_message("        -> %s %p\n", hl_type_name(hl_list_get(refs, j)),
                              (void *)hl_list_get(refs, j));
            hl_xdecref(rt, refs);
        }
        hl_xdecref(rt, left);
    }
    if (end.objects != start.objects || end.obj_blocks != start.obj_blocks
        || end.mem_blocks != start.mem_blocks)
        fail_msg("%s seed %llu: leaked: objects %zd -> %zd, OBJ blocks %zd -> %zd, "
                 "MEM blocks %zd -> %zd",
                 allocator, (unsigned long long)seed, start.objects, end.objects,
                 start.obj_blocks, end.obj_blocks, start.mem_blocks, end.mem_blocks);
    rt_destroy(rt);
}

/* HL_GC_TEST_SEED=s [HL_GC_TEST_NOPS=n] runs that one program (on
 * pymalloc) instead, to reproduce a failure. */
static void test_random_graph_programs(void **state)
{
    (void)state;
    const char *seed_env = getenv("HL_GC_TEST_SEED");
    if (seed_env) {
        const char *nops_env = getenv("HL_GC_TEST_NOPS");
        run_program("pymalloc", strtoull(seed_env, NULL, 10),
                    nops_env ? atoi(nops_env) : 400);
        return;
    }
    for (uint64_t seed = 1; seed <= 300; seed++)
        run_program("pymalloc", seed, 400);
}

/* The same programs, fewer of them, on every other allocator. */
static void test_random_graph_programs_every_allocator(void **state)
{
    (void)state;
    for (size_t i = 0; i < hl_registry_count(); i++) {
        const char *name = hl_registry_at(i)->name;
        print_message("[ allocator ] %s\n", name);
        for (uint64_t seed = 1001; seed <= 1020; seed++)
            run_program(name, seed, 400);
    }
}

/* ---------------------------------------------------------------------- */
/* Automatic collection */

/* The oracle harness (ll2.py):
 *   gc.disable(); gc.collect(); gc.freeze()
 *   keep = [[] for _ in range(nkeep)]; more = []
 *   gc.collect(); L = len(gc.get_objects(2))        # nkeep + 2
 *   s0 = collections of get_stats(); gc.set_threshold(*t)
 *   gc.collect()                                    # count = (0, 0, 0)
 *   gc.enable()
 *   for i in range(K): more.t_append([])
 *   gc.disable(); deltas of collections (minus that one collect), get_count()
 * The first rows are the 25% rule: after 253 allocations count[2] is 42
 * (> threshold 1), yet no full collection happened, since
 * long_lived_pending (84 objects) < long_lived_total / 4 (250); the 254th
 * triggers it.  get_count()[0] is heaplab-exact (the oracle's own
 * allocations show in it); [1] and [2] are the oracle's. */
static const struct {
    int t[3];
    int nkeep;
    int K;
    ssize_t collections[3];
    int count[3];
} automatic_cases[] = {
    {{1, 1, 1}, 1000, 253, {84, 42, 0}, {1, 0, 42}},
    {{1, 1, 1}, 1000, 254, {84, 42, 1}, {0, 0, 0}},
    {{10, 10, 10}, 0, 10, {0, 0, 0}, {10, 0, 0}},
    {{10, 10, 10}, 0, 11, {1, 0, 0}, {0, 1, 0}},
    {{10, 10, 10}, 0, 120, {10, 0, 0}, {10, 10, 0}},
    {{10, 10, 10}, 0, 121, {11, 0, 0}, {0, 11, 0}},
    {{10, 10, 10}, 0, 131, {11, 0, 0}, {10, 11, 0}},
    {{10, 10, 10}, 0, 132, {11, 1, 0}, {0, 0, 1}},
    {{10, 10, 10}, 0, 1330, {110, 10, 0}, {10, 0, 10}},
    {{10, 10, 10}, 0, 1331, {111, 10, 0}, {0, 1, 10}},
    {{10, 10, 10}, 0, 1400, {117, 10, 0}, {3, 7, 10}},
    {{10, 10, 10}, 0, 3000, {248, 22, 2}, {8, 6, 0}},
};

static void test_automatic_collection(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof automatic_cases / sizeof automatic_cases[0]; c++) {
        hl_runtime_t *rt = fresh();
        hl_gc_freeze(rt);
        hl_object_t *keep = t_list_new(rt);
        for (int i = 0; i < automatic_cases[c].nkeep; i++)
            t_append_new(rt, keep, hl_list_new(rt));
        hl_object_t *more = t_list_new(rt);
        hl_gc_collect(rt, 2);
        assert_int_equal(hl_gc_generation_size(rt, 2), automatic_cases[c].nkeep + 2);
        ssize_t s0[3], s1[3];
        int count[3];
        collections(rt, s0);
        hl_gc_set_threshold(rt, automatic_cases[c].t, 3);
        hl_gc_collect(rt, 2);
        s0[2]++;
        hl_gc_enable(rt);
        for (int i = 0; i < automatic_cases[c].K; i++)
            t_append_new(rt, more, hl_list_new(rt));
        hl_gc_disable(rt);
        collections(rt, s1);
        get_count(rt, count);
        for (int g = 0; g < 3; g++) {
            if (s1[g] - s0[g] != automatic_cases[c].collections[g])
                fail_msg("t=(%d,%d,%d) K=%d: %zd collections of generation %d, oracle %zd",
                         automatic_cases[c].t[0], automatic_cases[c].t[1],
                         automatic_cases[c].t[2], automatic_cases[c].K, s1[g] - s0[g], g,
                         automatic_cases[c].collections[g]);
            if (count[g] != automatic_cases[c].count[g])
                fail_msg("t=(%d,%d,%d) K=%d: get_count()[%d] == %d, expected %d",
                         automatic_cases[c].t[0], automatic_cases[c].t[1],
                         automatic_cases[c].t[2], automatic_cases[c].K, g, count[g],
                         automatic_cases[c].count[g]);
        }
        assert_true(hl_gc_check(rt, true));
        hl_decref(rt, keep);
        hl_decref(rt, more);
        rt_destroy(rt);
    }
}

/* gc.set_threshold(10); gc.collect(); gc.enable()
 * after k fresh GC allocations, get_stats()[0]['collections'] has grown by
 * k // 11: 9 -> 0, 10 -> 0, 11 -> 1, 12 -> 1, 21 -> 1, 22 -> 2, 23 -> 2
 * (th.py).  The collection runs inside the allocation, before the new object
 * is tracked, so that object is in generation 0 afterwards with count 0. */
static void test_threshold_10(void **state)
{
    (void)state;
    hl_runtime_t *rt = fresh();
    hl_object_t *keep = t_list_new(rt);
    int ten = 10;
    hl_gc_set_threshold(rt, &ten, 1);
    hl_gc_collect(rt, 2);
    ssize_t s0[3], s[3];
    collections(rt, s0);
    hl_gc_enable(rt);
    for (int k = 1; k <= 50; k++) {
        hl_object_t *l = t_list_new(rt);
        collections(rt, s);
        assert_int_equal(s[0] - s0[0], k / 11);
        int count[3];
        get_count(rt, count);
        assert_int_equal(count[0], k % 11);
        assert_true(hl_gc_is_tracked(l));
        if (k % 11 == 0)   /* collected just before l was tracked: l alone */
            assert_int_equal(hl_gc_generation_size(rt, 0), 1);
        t_append_new(rt, keep, l);
    }
    hl_gc_disable(rt);
    hl_decref(rt, keep);
    rt_destroy(rt);
}

/* gc.set_threshold(0); gc.enable(); keep = [[] for i in range(5000)]
 * get_stats() collections deltas                   -> [0, 0, 0]
 * (threshold 0 turns automatic collection off) */
static void test_threshold_0(void **state)
{
    (void)state;
    hl_runtime_t *rt = fresh();
    int zero = 0;
    hl_gc_set_threshold(rt, &zero, 1);
    ssize_t s0[3], s1[3];
    collections(rt, s0);
    hl_gc_enable(rt);
    hl_object_t *keep = t_list_new(rt);
    for (int i = 0; i < 5000; i++)
        t_append_new(rt, keep, hl_list_new(rt));
    hl_gc_disable(rt);
    collections(rt, s1);
    for (int g = 0; g < 3; g++)
        assert_int_equal(s1[g], s0[g]);
    int count[3];
    get_count(rt, count);
    assert_int_equal(count[0], 5001);
    hl_decref(rt, keep);
    rt_destroy(rt);
}

/* No automatic collection while an exception is set: _PyObject_GC_Link
 * (3.11) collects only if count0 > t0 && enabled && t0 && !collecting &&
 * !_PyErr_Occurred(tstate) (cpython.md 4.2; no pure-Python oracle: Python
 * code cannot allocate with an exception pending). */
static void test_no_automatic_collection_with_error_set(void **state)
{
    (void)state;
    hl_runtime_t *rt = fresh();
    int ten = 10;
    hl_gc_set_threshold(rt, &ten, 1);
    hl_object_t *keep = t_list_new(rt);
    hl_gc_collect(rt, 2);
    assert_null(hl_list_pop(rt, keep, -1));       /* IndexError, left set */
    assert_int_equal(hl_runtime_error(rt), HL_ERR_INDEX);
    ssize_t s0[3], s1[3];
    collections(rt, s0);
    hl_gc_enable(rt);
    for (int i = 0; i < 20; i++)
        t_append_new(rt, keep, hl_list_new(rt));
    collections(rt, s1);
    assert_int_equal(s1[0], s0[0]);
    hl_runtime_clear_error(rt);
    t_append_new(rt, keep, hl_list_new(rt));        /* count0 21 > 10: now */
    collections(rt, s1);
    assert_int_equal(s1[0], s0[0] + 1);
    hl_gc_disable(rt);
    hl_decref(rt, keep);
    rt_destroy(rt);
}

/* A collection started while one runs does nothing: gc.collect() in a
 * finalizer during an automatic collection returns 0 (and the finalizer's
 * allocations trigger no nested collection). */
typedef struct nested_s {
    ssize_t inner;
    int calls;
} nested_t;

static void nested_finalize(hl_runtime_t *rt, hl_object_t *self, void *user)
{
    nested_t *n = user;
    n->calls++;
    n->inner = hl_gc_collect(rt, 2);
}

static void test_collect_while_collecting(void **state)
{
    (void)state;
    hl_runtime_t *rt = fresh();
    nested_t n = {-1, 0};
    hl_type_t *tp = t_type_new(rt, "N", nested_finalize, NULL, &n);
    hl_object_t *o = hl_instance_new(rt, tp, 1);
    hl_instance_set(rt, o, 0, o);
    hl_decref(rt, o);
    ssize_t s0[3], s1[3];
    collections(rt, s0);
    assert_int_equal(hl_gc_collect(rt, 0), 1);
    collections(rt, s1);
    assert_int_equal(n.calls, 1);
    assert_int_equal(n.inner, 0);
    assert_int_equal(s1[2], s0[2]);               /* the nested one did not count */
    assert_int_equal(s1[0], s0[0] + 1);
    rt_destroy(rt);
}

/* ---------------------------------------------------------------------- */
/* Tracking */

/* x = 1
 * def run(keep_inner, gens):
 *     inner = (x, 2); outer = (inner, x)
 *     if not keep_inner: del inner
 *     for g in gens: gc.collect(g); record (is_tracked(outer), is_tracked(outer[0]))
 * run(False, [0, 0, 1])  -> (T, F) (T, F) (F, F)
 * run(True,  [0])        -> (F, F)
 * run(False, [2, 2])     -> (T, F) (F, F)
 * run(False, [1, 1, 2])  -> (T, F) (T, F) (F, F)
 * Without its name, inner is first taken as unreachable and moved back
 * behind outer by move_unreachable, so untrack_tuples sees outer (whose
 * item is still tracked) first; outer has moved on to an older generation
 * by the time a later collection could untrack it. */
static void test_untrack_tuples_order(void **state)
{
    (void)state;
    static const struct {
        bool keep_inner;
        int n;
        int gens[3];
        bool outer[3], inner[3];
    } cases[] = {
        {false, 3, {0, 0, 1}, {true, true, false}, {false, false, false}},
        {true, 1, {0}, {false}, {false}},
        {false, 2, {2, 2}, {true, false}, {false, false}},
        {false, 3, {1, 1, 2}, {true, true, false}, {false, false, false}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        hl_runtime_t *rt = fresh();
        hl_object_t *x = hl_int_new(rt, 1), *two = hl_int_new(rt, 2);
        hl_object_t *xi[2] = {x, two};
        hl_object_t *inner = hl_tuple_new(rt, 2, xi);
        hl_object_t *io[2] = {inner, x};
        hl_object_t *outer = hl_tuple_new(rt, 2, io);
        assert_true(hl_gc_is_tracked(inner));
        assert_true(hl_gc_is_tracked(outer));
        if (!cases[c].keep_inner)
            hl_decref(rt, inner);
        for (int i = 0; i < cases[c].n; i++) {
            hl_gc_collect(rt, cases[c].gens[i]);
            if (hl_gc_is_tracked(outer) != cases[c].outer[i]
                || hl_gc_is_tracked(hl_tuple_get(outer, 0)) != cases[c].inner[i])
                fail_msg("case %zu after collect #%d (generation %d): outer %d inner %d, "
                         "oracle %d %d",
                         c, i + 1, cases[c].gens[i], hl_gc_is_tracked(outer),
                         hl_gc_is_tracked(hl_tuple_get(outer, 0)), cases[c].outer[i],
                         cases[c].inner[i]);
        }
        if (cases[c].keep_inner)
            hl_decref(rt, inner);
        hl_decref(rt, outer);
        hl_decref(rt, x);
        hl_decref(rt, two);
        rt_destroy(rt);
    }
}

/* x = 1; d = {}
 * t1 = ({},); t2 = ((), x); t3 = ('a1', 1.5); t4 = ([],); t5 = (d,)
 * gc.collect(0)
 * is_tracked: t1 True, t2 False, t3 False, t4 True, t5 True; d False
 * (a tuple stays tracked while an item *may* be tracked: any GC object
 * but an untracked tuple, so an untracked dict keeps its tuple tracked) */
static void test_untrack_tuples_items(void **state)
{
    (void)state;
    hl_runtime_t *rt = fresh();
    hl_object_t *x = hl_int_new(rt, 1);
    hl_object_t *d = hl_dict_new(rt), *e = hl_dict_new(rt), *l = t_list_new(rt);
    hl_object_t *empty = hl_tuple_new(rt, 0, NULL);
    hl_object_t *s = hl_str_from_cstr(rt, "a1"), *f = hl_float_new(rt, 1.5);
    hl_object_t *i2[2] = {empty, x}, *i3[2] = {s, f};
    hl_object_t *t1 = hl_tuple_new(rt, 1, &e), *t2 = hl_tuple_new(rt, 2, i2);
    hl_object_t *t3 = hl_tuple_new(rt, 2, i3), *t4 = hl_tuple_new(rt, 1, &l);
    hl_object_t *t5 = hl_tuple_new(rt, 1, &d);
    hl_gc_collect(rt, 0);
    assert_true(hl_gc_is_tracked(t1));
    assert_false(hl_gc_is_tracked(t2));
    assert_false(hl_gc_is_tracked(t3));
    assert_true(hl_gc_is_tracked(t4));
    assert_true(hl_gc_is_tracked(t5));
    assert_false(hl_gc_is_tracked(d));
    hl_object_t *all[] = {x, d, e, l, empty, s, f, t1, t2, t3, t4, t5};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        hl_decref(rt, all[k]);
    rt_destroy(rt);
}

/* Dicts are untracked only by full collections (#14775):
 * ds = []
 * for i in range(100): d = {'a': []}; del d['a']; ds.t_append(d)
 * (each d tracked); gc.collect(0); gc.collect(1): all still tracked, in
 * gen 1 then gen 2; gc.collect(2): none tracked.  Tuples, by contrast, go
 * at the first collection of any generation. */
static void test_dicts_untracked_only_by_full_collections(void **state)
{
    (void)state;
    hl_runtime_t *rt = fresh();
    hl_object_t *ds = t_list_new(rt);
    for (int i = 0; i < 100; i++) {
        hl_object_t *d = hl_dict_new(rt), *l = t_list_new(rt);
        assert_int_equal(hl_dict_setitem_cstr(rt, d, "a", l), 0);
        hl_decref(rt, l);
        assert_int_equal(hl_dict_delitem_cstr(rt, d, "a"), 0);
        assert_true(hl_gc_is_tracked(d));
        t_append_new(rt, ds, d);
    }
    ssize_t g2 = hl_gc_generation_size(rt, 2);
    hl_gc_collect(rt, 0);
    assert_int_equal(hl_gc_generation_size(rt, 1), 101);   /* ds and the 100 dicts */
    hl_gc_collect(rt, 1);
    assert_int_equal(hl_gc_generation_size(rt, 2), g2 + 101);
    for (int i = 0; i < 100; i++)
        assert_true(hl_gc_is_tracked(hl_list_get(ds, (size_t)i)));
    hl_gc_collect(rt, 2);
    for (int i = 0; i < 100; i++)
        assert_false(hl_gc_is_tracked(hl_list_get(ds, (size_t)i)));
    assert_int_equal(hl_gc_generation_size(rt, 2), g2 + 1);
    /* untracked dicts become tracked again by a tracked value */
    hl_object_t *l = t_list_new(rt);
    assert_int_equal(hl_dict_setitem_cstr(rt, hl_list_get(ds, 0), "b", l), 0);
    assert_true(hl_gc_is_tracked(hl_list_get(ds, 0)));
    hl_decref(rt, l);
    hl_decref(rt, ds);
    rt_destroy(rt);
}

/* ---------------------------------------------------------------------- */
/* get_referrers / get_referents */

/* class I: __slots__ = ('s0', 's1', '__weakref__')
 * def f():
 *     x = I()
 *     a = [x]; b = (x, 1); d = {'k': x}; i = I(); i.s1 = x
 *     gc.collect(0)                 # a, b, d, i to generation 1
 *     c = [x, x]
 *     gc.get_referrers(x)           # [c, a, b, d, i]: generation 0 first
 *     gc.get_referents(b)           # [1, x]: tuples are traversed backwards
 *     i2 = I(); i2.s0 = 1; gc.get_referents(i2)
 *                                   # [1, <class I>]; heaplab has no type
 *                                   # objects: [1]
 * gc.freeze(); e = [x]; gc.get_referrers(x) == [e]   (frozen ones unseen) */
static void test_get_referrers(void **state)
{
    (void)state;
    hl_runtime_t *rt = fresh();
    hl_type_t *I = t_type_new(rt, "I", NULL, NULL, NULL);
    hl_object_t *x = hl_instance_new(rt, I, 2);
    hl_object_t *a = t_list_new(rt);
    t_append(rt, a, x);
    hl_object_t *one = hl_int_new(rt, 1);
    hl_object_t *bx[2] = {x, one};
    hl_object_t *b = hl_tuple_new(rt, 2, bx);
    hl_object_t *d = hl_dict_new(rt);
    assert_int_equal(hl_dict_setitem_cstr(rt, d, "k", x), 0);
    hl_object_t *i = hl_instance_new(rt, I, 2);
    hl_instance_set(rt, i, 1, x);
    hl_gc_collect(rt, 0);
    hl_object_t *c = t_list_new(rt);
    t_append(rt, c, x);
    t_append(rt, c, x);

    hl_object_t *r = hl_gc_get_referrers(rt, &x, 1);
    assert_non_null(r);
    hl_object_t *expect[] = {c, a, b, d, i};
    assert_int_equal(hl_list_size(r), 5);
    for (size_t k = 0; k < 5; k++)
        assert_ptr_equal(hl_list_get(r, k), expect[k]);
    hl_decref(rt, r);

    /* several objects: a container is listed once */
    hl_object_t *xs[2] = {x, one};
    r = hl_gc_get_referrers(rt, xs, 2);
    assert_int_equal(hl_list_size(r), 5);
    hl_decref(rt, r);

    r = hl_gc_get_referents(rt, &b, 1);
    assert_int_equal(hl_list_size(r), 2);
    assert_ptr_equal(hl_list_get(r, 0), one);
    assert_ptr_equal(hl_list_get(r, 1), x);
    hl_decref(rt, r);

    hl_object_t *i2 = hl_instance_new(rt, I, 2);
    hl_instance_set(rt, i2, 0, one);
    r = hl_gc_get_referents(rt, &i2, 1);
    assert_int_equal(hl_list_size(r), 1);
    assert_ptr_equal(hl_list_get(r, 0), one);
    hl_decref(rt, r);
    r = hl_gc_get_referents(rt, &x, 1);           /* empty slots: nothing */
    assert_int_equal(hl_list_size(r), 0);
    hl_decref(rt, r);

    hl_gc_freeze(rt);
    hl_object_t *e = t_list_new(rt);
    t_append(rt, e, x);
    r = hl_gc_get_referrers(rt, &x, 1);
    assert_int_equal(hl_list_size(r), 1);
    assert_ptr_equal(hl_list_get(r, 0), e);
    hl_decref(rt, r);
    hl_gc_unfreeze(rt);
    r = hl_gc_get_referrers(rt, &x, 1);
    assert_int_equal(hl_list_size(r), 6);
    hl_decref(rt, r);

    hl_object_t *all[] = {x, a, one, b, d, i, c, i2, e};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        hl_decref(rt, all[k]);
    rt_destroy(rt);
}

/* ---------------------------------------------------------------------- */
/* Callbacks */

/* log = []
 * def c3(p, i): log.t_append(('c3', p))
 * def c1(p, i):
 *     log.t_append(('c1', p, gc.collect()))
 *     if p == 'start': gc.callbacks.remove(c1); gc.callbacks.t_append(c3)
 * def c2(p, i): log.t_append(('c2', p))
 * gc.callbacks[:] = [c1, c2]; gc.collect()
 * log == [('c1', 'start', 0), ('c3', 'start'), ('c2', 'stop'), ('c3', 'stop')]
 * (the list is walked by index while it changes: removing c1 shifts c2
 * into the slot already visited, and c3 joins the same phase) */
typedef struct cblog_s {
    char entries[8][16];
    int n;
    ssize_t inner;
} cblog_t;

static void log_entry(cblog_t *l, const char *who, const char *phase)
{
    assert_true(l->n < 8);
    snprintf(l->entries[l->n++], sizeof l->entries[0], "%s %s", who, phase);
}

static void c3(hl_runtime_t *rt, const char *phase, const hl_gc_info_t *info, void *user)
{
    log_entry(user, "c3", phase);
}

static void c2(hl_runtime_t *rt, const char *phase, const hl_gc_info_t *info, void *user)
{
    log_entry(user, "c2", phase);
}

static void c1(hl_runtime_t *rt, const char *phase, const hl_gc_info_t *info, void *user)
{
    cblog_t *l = user;
    log_entry(l, "c1", phase);
    l->inner = hl_gc_collect(rt, 2);
    if (strcmp(phase, "start") == 0) {
        assert_int_equal(hl_gc_callback_remove(rt, c1, user), 0);
        assert_int_equal(hl_gc_callback_add(rt, c3, user), 0);
    }
}

static void test_callbacks_changed_during_a_phase(void **state)
{
    (void)state;
    hl_runtime_t *rt = fresh();
    cblog_t log = {{{0}}, 0, -1};
    assert_int_equal(hl_gc_callback_add(rt, c1, &log), 0);
    assert_int_equal(hl_gc_callback_add(rt, c2, &log), 0);
    ssize_t s0[3], s1[3];
    collections(rt, s0);
    hl_gc_collect(rt, 2);
    collections(rt, s1);
    assert_int_equal(s1[2], s0[2] + 1);
    assert_int_equal(log.inner, 0);
    static const char *expect[] = {"c1 start", "c3 start", "c2 stop", "c3 stop"};
    assert_int_equal(log.n, 4);
    for (int k = 0; k < 4; k++)
        assert_string_equal(log.entries[k], expect[k]);
    assert_int_equal(hl_gc_callback_remove(rt, c1, &log), -1);
    assert_int_equal(hl_gc_callback_remove(rt, c2, &log), 0);
    assert_int_equal(hl_gc_callback_remove(rt, c3, &log), 0);
    rt_destroy(rt);
}

/* info for automatic and explicit collections:
 * gc.callbacks.t_append(cb); gc.set_threshold(1, 10, 10)? -- here (3, 1, 10)
 * l = []; l.t_append(l); del l; gc.collect(1)
 *   start {generation 1, collected 0, uncollectable 0}
 *   stop  {generation 1, collected 1, uncollectable 0}
 * automatic: allocations with threshold 3 run collections of generation 0,
 * then 1 (count[1] > 1), each seen as a start/stop pair with its
 * generation, matching get_stats. */
typedef struct infolog_s {
    hl_gc_info_t info[64];
    bool stop[64];
    int n;
} infolog_t;

static void info_cb(hl_runtime_t *rt, const char *phase, const hl_gc_info_t *info, void *user)
{
    infolog_t *l = user;
    assert_true(l->n < 64);
    l->stop[l->n] = strcmp(phase, "stop") == 0;
    l->info[l->n++] = *info;
}

static void test_callback_info(void **state)
{
    (void)state;
    hl_runtime_t *rt = fresh();
    infolog_t log = {.n = 0};
    assert_int_equal(hl_gc_callback_add(rt, info_cb, &log), 0);
    hl_object_t *l = t_list_new(rt);
    t_append(rt, l, l);
    hl_decref(rt, l);
    assert_int_equal(hl_gc_collect(rt, 1), 1);
    assert_int_equal(log.n, 2);
    assert_false(log.stop[0]);
    assert_int_equal(log.info[0].generation, 1);
    assert_int_equal(log.info[0].collected, 0);
    assert_int_equal(log.info[0].uncollectable, 0);
    assert_true(log.stop[1]);
    assert_int_equal(log.info[1].generation, 1);
    assert_int_equal(log.info[1].collected, 1);
    assert_int_equal(log.info[1].uncollectable, 0);

    log.n = 0;
    hl_gc_collect(rt, 2);
    log.n = 0;
    set_threshold3(rt, 3, 1, 10);
    hl_object_t *keep = t_list_new(rt);
    ssize_t s0[3], s1[3];
    collections(rt, s0);
    hl_gc_enable(rt);
    for (int i = 0; i < 12; i++)
        t_append_new(rt, keep, hl_list_new(rt));
    hl_gc_disable(rt);
    collections(rt, s1);
    /* 12 allocations after keep: collections at allocations 3 (keep is the
     * first), 7, 11: generations 0, 0, 1 */
    assert_int_equal(log.n, 6);
    static const int gens[3] = {0, 0, 1};
    for (int k = 0; k < 3; k++) {
        assert_false(log.stop[2 * k]);
        assert_true(log.stop[2 * k + 1]);
        assert_int_equal(log.info[2 * k].generation, gens[k]);
        assert_int_equal(log.info[2 * k + 1].generation, gens[k]);
        assert_int_equal(log.info[2 * k + 1].collected, 0);
    }
    assert_int_equal(s1[0] - s0[0], 2);
    assert_int_equal(s1[1] - s0[1], 1);
    assert_int_equal(s1[2] - s0[2], 0);
    assert_int_equal(hl_gc_callback_remove(rt, info_cb, &log), 0);
    hl_decref(rt, keep);
    rt_destroy(rt);
}

/* ---------------------------------------------------------------------- */
/* What collect() counts */

/* class I: __slots__ = ('s0', 's1', '__weakref__'); calls = []
 * def cb(w): calls.t_append(w)
 * A  o = I(); o.s0 = o; w = weakref.ref(o, cb); del o
 *    gc.collect(), len(calls), w() is None          -> 1, 1, True
 * B  o = I(); o.s0 = o; o.s1 = weakref.ref(o, cb); del o
 *    gc.collect(), len(calls)                       -> 2, 0  (trash weakref)
 * C  L = []; def cb2(w): L.clear()   # drops the weakref's last reference
 *    o = I(); o.s0 = o; L.t_append(weakref.ref(o, cb2)); del o
 *    gc.collect(), calls, len(L)                    -> 2, 1, 0  (the freed
 *    weakref counts as collected)
 * D  o = I(); o.s0 = o; w = weakref.ref(o); del o
 *    gc.collect(), w() is None                      -> 1, True
 * E  a = []; b = [a]; c = [b]; a.t_append(c); del a, b, c
 *    with DEBUG_SAVEALL: gc.collect(), len(gc.garbage) -> 3, 3
 * F  @with_tp_del class D: __slots__ = ('a',)
 *    class F: __slots__ = ('b',); def __del__(self): fin.t_append(1)
 *    d = D(); f = F(); d.a = f; f.b = d; del d, f
 *    gc.collect()                                   -> 2
 *    gc.garbage == [the D], F not finalized, len(fin) == 0
 *    get_stats()[2] deltas: uncollectable 2, collected 0
 *    d.a = None; gc.garbage.clear()                 -> fin == [1] (F dies
 *    by refcount, its __del__ runs then); gc.collect() -> 0 */
typedef struct wrcount_s {
    int calls;
    hl_object_t *holder;    /* C: the list the callback empties */
} wrcount_t;

static void wrcount_cb(hl_runtime_t *rt, hl_object_t *self, hl_object_t *arg, void *user)
{
    wrcount_t *w = user;
    w->calls++;
    if (w->holder)
        hl_list_clear(rt, w->holder);
}

static void fin_count(hl_runtime_t *rt, hl_object_t *self, void *user)
{
    (*(int *)user)++;
}

static void test_what_collect_counts(void **state)
{
    (void)state;
    hl_runtime_t *rt = fresh();
    hl_type_t *I = t_type_new(rt, "I", NULL, NULL, NULL);
    wrcount_t wc = {0, NULL};
    hl_object_t *cb = hl_callable_new(rt, wrcount_cb, NULL, &wc);

    /* A */
    hl_object_t *o = hl_instance_new(rt, I, 2);
    hl_instance_set(rt, o, 0, o);
    hl_object_t *w = hl_weakref_new(rt, o, cb);
    hl_decref(rt, o);
    assert_int_equal(hl_gc_collect(rt, 2), 1);
    assert_int_equal(wc.calls, 1);
    assert_null(hl_weakref_get(w));
    hl_decref(rt, w);

    /* B */
    wc.calls = 0;
    o = hl_instance_new(rt, I, 2);
    hl_instance_set(rt, o, 0, o);
    w = hl_weakref_new(rt, o, cb);
    hl_instance_set(rt, o, 1, w);
    hl_decref(rt, w);
    hl_decref(rt, o);
    assert_int_equal(hl_gc_collect(rt, 2), 2);
    assert_int_equal(wc.calls, 0);

    /* C */
    wc.holder = t_list_new(rt);
    o = hl_instance_new(rt, I, 2);
    hl_instance_set(rt, o, 0, o);
    t_append_new(rt, wc.holder, hl_weakref_new(rt, o, cb));
    hl_decref(rt, o);
    assert_int_equal(hl_gc_collect(rt, 2), 2);
    assert_int_equal(wc.calls, 1);
    assert_int_equal(hl_list_size(wc.holder), 0);
    hl_decref(rt, wc.holder);
    wc.holder = NULL;

    /* D */
    o = hl_instance_new(rt, I, 2);
    hl_instance_set(rt, o, 0, o);
    w = hl_weakref_new(rt, o, NULL);
    hl_decref(rt, o);
    assert_int_equal(hl_gc_collect(rt, 2), 1);
    assert_null(hl_weakref_get(w));
    hl_decref(rt, w);

    /* E */
    hl_object_t *a = t_list_new(rt), *b = t_list_new(rt), *c = t_list_new(rt);
    t_append(rt, b, a);
    t_append(rt, c, b);
    t_append(rt, a, c);
    hl_decref(rt, a);
    hl_decref(rt, b);
    hl_decref(rt, c);
    hl_gc_set_debug(rt, HL_GC_DEBUG_SAVEALL);
    assert_int_equal(hl_gc_collect(rt, 2), 3);
    hl_gc_set_debug(rt, 0);
    hl_object_t *garbage = hl_gc_garbage(rt);
    assert_int_equal(hl_list_size(garbage), 3);
    for (size_t k = 0; k < 3; k++)
        hl_list_clear(rt, hl_list_get(garbage, k));
    hl_list_clear(rt, garbage);
    assert_int_equal(hl_gc_collect(rt, 2), 0);

    /* F */
    int fin = 0, dels = 0;
    hl_type_t *D = t_type_new(rt, "D", NULL, fin_count, &dels);
    hl_type_t *F = t_type_new(rt, "F", fin_count, NULL, &fin);
    hl_object_t *d = hl_instance_new(rt, D, 1), *f = hl_instance_new(rt, F, 1);
    hl_instance_set(rt, d, 0, f);
    hl_instance_set(rt, f, 0, d);
    hl_object_t *f_id = f;
    hl_decref(rt, d);
    hl_decref(rt, f);
    hl_gc_generation_stats_t s0[3], s1[3];
    hl_gc_get_stats(rt, s0);
    assert_int_equal(hl_gc_collect(rt, 2), 2);
    hl_gc_get_stats(rt, s1);
    assert_int_equal(s1[2].uncollectable - s0[2].uncollectable, 2);
    assert_int_equal(s1[2].collected - s0[2].collected, 0);
    assert_int_equal(hl_list_size(garbage), 1);
    assert_ptr_equal(hl_list_get(garbage, 0), d);
    assert_false(hl_gc_is_finalized(f_id));
    assert_int_equal(fin, 0);
    hl_instance_set(rt, d, 0, NULL);              /* f dies: its finalizer runs */
    assert_int_equal(fin, 1);
    hl_list_clear(rt, garbage);                   /* d dies: its tp_del runs */
    assert_int_equal(dels, 1);
    assert_int_equal(hl_gc_collect(rt, 2), 0);

    hl_decref(rt, cb);
    hl_runtime_usage_t u;
    hl_runtime_usage(rt, &u);
    assert_int_equal(u.objects, 1);               /* gc.garbage */
    rt_destroy(rt);
}

/* ---------------------------------------------------------------------- */
/* Deep structures inside collections (the trashcan under the collector) */

/* l = []; l.t_append(l); x = []
 * for i in range(100000): x = [x]
 * l.t_append(x); del x, l; gc.collect()               -> 100002 (all trash)
 * x = <the same chain>; gc.collect()                # the chain to gen 2
 * l = []; l.t_append(l); l.t_append(x); del x, l
 * gc.collect(0)                                     -> 1: the chain dies by
 *   refcount inside delete_garbage, through the trashcan
 * class F: __slots__ = ('n',); def __del__(self): r.t_append(gc.collect())
 * x = []; for i in range(1000): x = [x, F()]; gc.collect()
 * l = []; l.t_append(l); l.t_append(x); del x, l
 * gc.collect(0), len(r), set(r)                     -> 1, 1000, {0}
 * (the same in one generation: gc.collect() -> 2002, 1000 finalizers) */
static int deep_fin_calls;
static void deep_fin(hl_runtime_t *rt, hl_object_t *self, void *user)
{
    deep_fin_calls++;
    assert_int_equal(hl_gc_collect(rt, 2), 0);
}

static hl_object_t *deep_chain(hl_runtime_t *rt, int n, hl_type_t *with)
{
    hl_object_t *x = t_list_new(rt);
    for (int i = 0; i < n; i++) {
        hl_object_t *y = t_list_new(rt);
        t_append_new(rt, y, x);
        if (with)
            t_append_new(rt, y, hl_instance_new(rt, with, 0));
        x = y;
    }
    return x;
}

static hl_object_t *self_loop_holding(hl_runtime_t *rt, hl_object_t *x)
{
    hl_object_t *l = t_list_new(rt);
    t_append(rt, l, l);
    t_append_new(rt, l, x);
    return l;
}

static void test_deep_chains_in_collections(void **state)
{
    (void)state;
    hl_runtime_t *rt = fresh();
    hl_runtime_usage_t start;
    hl_runtime_usage(rt, &start);
    hl_type_t *F = t_type_new(rt, "F", deep_fin, NULL, NULL);

    hl_decref(rt, self_loop_holding(rt, deep_chain(rt, 100000, NULL)));
    assert_int_equal(hl_gc_collect(rt, 2), 100002);

    hl_object_t *x = deep_chain(rt, 100000, NULL);
    hl_gc_collect(rt, 2);
    hl_decref(rt, self_loop_holding(rt, x));
    assert_int_equal(hl_gc_collect(rt, 0), 1);

    deep_fin_calls = 0;
    x = deep_chain(rt, 1000, F);
    hl_gc_collect(rt, 2);
    hl_decref(rt, self_loop_holding(rt, x));
    assert_int_equal(hl_gc_collect(rt, 0), 1);
    assert_int_equal(deep_fin_calls, 1000);

    deep_fin_calls = 0;
    hl_decref(rt, self_loop_holding(rt, deep_chain(rt, 1000, F)));
    assert_int_equal(hl_gc_collect(rt, 2), 2002);
    assert_int_equal(deep_fin_calls, 1000);

    assert_true(hl_gc_check(rt, true));
    hl_gc_collect(rt, 2);
    hl_runtime_usage_t end;
    hl_runtime_usage(rt, &end);
    assert_int_equal(end.objects, start.objects);
    assert_int_equal(end.obj_blocks, start.obj_blocks);
    assert_int_equal(end.mem_blocks, start.mem_blocks);
    rt_destroy(rt);
}

/* ---------------------------------------------------------------------- */
/* freeze */

/* gc.collect()
 * for i in range(3): gc.collect(1)
 * for i in range(5): gc.collect(0)
 * x = [[] for i in range(20)]
 * gc.get_count()    -> (21, 5, 3)
 * gc.freeze()
 * gc.get_count()    -> (0, 0, 0)       every count, not only generation 0's
 * l = []; l.t_append(l); gc.freeze(); del l
 * gc.collect()      -> 0               frozen: never collected
 * gc.unfreeze(); gc.get_freeze_count() -> 0;  gc.collect() -> 1 */
static void test_freeze(void **state)
{
    (void)state;
    hl_runtime_t *rt = fresh();
    for (int i = 0; i < 3; i++)
        hl_gc_collect(rt, 1);
    for (int i = 0; i < 5; i++)
        hl_gc_collect(rt, 0);
    hl_object_t *x = t_list_new(rt);
    for (int i = 0; i < 20; i++)
        t_append_new(rt, x, hl_list_new(rt));
    int count[3];
    get_count(rt, count);
    assert_int_equal(count[0], 21);
    assert_int_equal(count[1], 5);
    assert_int_equal(count[2], 3);
    ssize_t sizes = hl_gc_generation_size(rt, 0) + hl_gc_generation_size(rt, 1)
                    + hl_gc_generation_size(rt, 2);
    ssize_t frozen = hl_gc_get_freeze_count(rt);
    hl_gc_freeze(rt);
    get_count(rt, count);
    if (count[0] != 0 || count[1] != 0 || count[2] != 0)
        fail_msg("get_count() after freeze() == (%d, %d, %d), oracle (0, 0, 0)", count[0],
                 count[1], count[2]);
    for (int g = 0; g < 3; g++)
        assert_int_equal(hl_gc_generation_size(rt, g), 0);
    assert_int_equal(hl_gc_get_freeze_count(rt), frozen + sizes);
    assert_int_equal(hl_gc_generation_size(rt, 3), frozen + sizes);
    assert_true(hl_gc_is_tracked(x));
    hl_object_t *objs = hl_gc_get_objects(rt, -1);
    assert_int_equal(hl_list_size(objs), 0);
    hl_decref(rt, objs);
    assert_true(hl_gc_check(rt, true));

    hl_object_t *l = t_list_new(rt);
    t_append(rt, l, l);
    hl_gc_freeze(rt);
    hl_decref(rt, l);
    assert_int_equal(hl_gc_collect(rt, 2), 0);
    ssize_t perm = hl_gc_get_freeze_count(rt);
    hl_gc_unfreeze(rt);
    assert_int_equal(hl_gc_get_freeze_count(rt), 0);
    assert_int_equal(hl_gc_generation_size(rt, 2), perm);
    assert_int_equal(hl_gc_collect(rt, 2), 1);
    assert_true(hl_gc_check(rt, true));
    hl_decref(rt, x);
    rt_destroy(rt);
}

/* ---------------------------------------------------------------------- */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_random_graph_programs, rt_teardown),
        cmocka_unit_test_teardown(test_random_graph_programs_every_allocator, rt_teardown),
        cmocka_unit_test_teardown(test_automatic_collection, rt_teardown),
        cmocka_unit_test_teardown(test_threshold_10, rt_teardown),
        cmocka_unit_test_teardown(test_threshold_0, rt_teardown),
        cmocka_unit_test_teardown(test_no_automatic_collection_with_error_set, rt_teardown),
        cmocka_unit_test_teardown(test_collect_while_collecting, rt_teardown),
        cmocka_unit_test_teardown(test_untrack_tuples_order, rt_teardown),
        cmocka_unit_test_teardown(test_untrack_tuples_items, rt_teardown),
        cmocka_unit_test_teardown(test_dicts_untracked_only_by_full_collections, rt_teardown),
        cmocka_unit_test_teardown(test_get_referrers, rt_teardown),
        cmocka_unit_test_teardown(test_callbacks_changed_during_a_phase, rt_teardown),
        cmocka_unit_test_teardown(test_callback_info, rt_teardown),
        cmocka_unit_test_teardown(test_what_collect_counts, rt_teardown),
        cmocka_unit_test_teardown(test_deep_chains_in_collections, rt_teardown),
        cmocka_unit_test_teardown(test_freeze, rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
