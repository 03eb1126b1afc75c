/* rt_test_util.c: see rt_test_util.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rt_test_util.h"

static hl_runtime_t *live_rt;

hl_runtime_t *rt_make(const char *allocator)
{
    char err[256] = "";
    hl_runtime_t *rt = NULL;
    assert_null(live_rt);
    if (hl_runtime_create(allocator, NULL, &rt, err, sizeof err) != 0)
        fail_msg("hl_runtime_create(%s): %s", allocator, err);
    live_rt = rt;
    return rt;
}

void rt_destroy(hl_runtime_t *rt)
{
    assert_ptr_equal(rt, live_rt);
    live_rt = NULL;
    hl_runtime_destroy(rt);
}

int rt_teardown(void **state)
{
    (void)state;
    if (live_rt != NULL) {
        hl_runtime_t *rt = live_rt;
        live_rt = NULL;
        hl_runtime_destroy(rt);
    }
    return 0;
}

hl_object_t *t_list_new(hl_runtime_t *rt)
{
    hl_object_t *l = hl_list_new(rt);
    assert_non_null(l);
    return l;
}

void t_append(hl_runtime_t *rt, hl_object_t *l, hl_object_t *v)
{
    assert_int_equal(hl_list_append(rt, l, v), 0);
}

void t_append_new(hl_runtime_t *rt, hl_object_t *l, hl_object_t *v)
{
    assert_non_null(v);
    t_append(rt, l, v);
    hl_decref(rt, v);
}

hl_type_t *t_type_new(hl_runtime_t *rt, const char *name,
                      void (*finalize)(hl_runtime_t *, hl_object_t *, void *),
                      void (*del)(hl_runtime_t *, hl_object_t *, void *), void *user)
{
    hl_instance_hooks_t hooks = {finalize, del, user};
    hl_type_t *tp = hl_instance_type_new(rt, name, &hooks);
    assert_non_null(tp);
    return tp;
}

hl_object_t *t_inst(hl_runtime_t *rt, hl_type_t *tp, size_t nslots)
{
    hl_object_t *o = hl_instance_new(rt, tp, nslots);
    assert_non_null(o);
    return o;
}
