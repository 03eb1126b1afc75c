/* rt_test_util.h: what the object-layer and collector tests share --
 * making and tearing down runtimes so that a failed test still frees its
 * runtime (the sanitizers' leak check stays about real leaks), and
 * asserting forms of the calls every test makes.  cmocka's headers must be
 * included first. */
#ifndef HL_RT_TEST_UTIL_H
#define HL_RT_TEST_UTIL_H

#include <stddef.h>

#include "heaplab/gc.h"
#include "heaplab/object.h"

/* A runtime over `allocator`; fails the test if it cannot be made.  One at
 * a time: the open one is remembered for rt_teardown. */
hl_runtime_t *rt_make(const char *allocator);
/* Destroy the runtime rt_make returned. */
void rt_destroy(hl_runtime_t *rt);
/* A cmocka teardown: destroy the open runtime, if a failed test left one. */
int rt_teardown(void **state);

/* Asserting forms: the call must succeed. */
hl_object_t *t_list_new(hl_runtime_t *rt);
void t_append(hl_runtime_t *rt, hl_object_t *l, hl_object_t *v);
/* l.append(v) for a new reference v, which is then dropped. */
void t_append_new(hl_runtime_t *rt, hl_object_t *l, hl_object_t *v);
hl_type_t *t_type_new(hl_runtime_t *rt, const char *name,
                      void (*finalize)(hl_runtime_t *, hl_object_t *, void *),
                      void (*del)(hl_runtime_t *, hl_object_t *, void *), void *user);
hl_object_t *t_inst(hl_runtime_t *rt, hl_type_t *tp, size_t nslots);

#endif /* HL_RT_TEST_UTIL_H */
