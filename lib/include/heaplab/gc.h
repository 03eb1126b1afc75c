/* heaplab/gc.h: the `gc` module of CPython 3.11, over a heaplab runtime.
 *
 * Every function is the gc module function of the same name; see
 * lib/gc/gcmodule.c for the collector itself.  Errors follow CPython:
 * hl_gc_collect(rt, 3) returns -1 with ValueError("invalid generation").
 */
#ifndef HEAPLAB_GC_H
#define HEAPLAB_GC_H

#include <stdbool.h>
#include <sys/types.h>

#include "heaplab/object.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HL_GC_NUM_GENERATIONS 3

/* set_debug flags */
#define HL_GC_DEBUG_STATS         (1 << 0)  /* statistics on stderr */
#define HL_GC_DEBUG_COLLECTABLE   (1 << 1)  /* "gc: collectable <list 0x...>" */
#define HL_GC_DEBUG_UNCOLLECTABLE (1 << 2)  /* "gc: uncollectable <...>" */
#define HL_GC_DEBUG_SAVEALL       (1 << 5)  /* keep garbage in gc.garbage */
#define HL_GC_DEBUG_LEAK \
    (HL_GC_DEBUG_COLLECTABLE | HL_GC_DEBUG_UNCOLLECTABLE | HL_GC_DEBUG_SAVEALL)

void hl_gc_enable(hl_runtime_t *rt);
void hl_gc_disable(hl_runtime_t *rt);
bool hl_gc_isenabled(const hl_runtime_t *rt);

/* gc.collect(generation): collected + uncollectable; 0 if a collection is
 * already running; -1 with ValueError unless 0 <= generation <= 2. */
ssize_t hl_gc_collect(hl_runtime_t *rt, int generation);

void hl_gc_get_count(const hl_runtime_t *rt, int out[HL_GC_NUM_GENERATIONS]);
void hl_gc_get_threshold(const hl_runtime_t *rt, int out[HL_GC_NUM_GENERATIONS]);
/* set_threshold(t[0][, t[1][, t[2]]]): n is 1..3 (the others keep their
 * values). */
void hl_gc_set_threshold(hl_runtime_t *rt, const int *t, int n);

typedef struct hl_gc_generation_stats_s {
    ssize_t collections;
    ssize_t collected;
    ssize_t uncollectable;
} hl_gc_generation_stats_t;
void hl_gc_get_stats(const hl_runtime_t *rt,
                     hl_gc_generation_stats_t out[HL_GC_NUM_GENERATIONS]);

/* gc.callbacks: cb(phase, info) with phase "start" or "stop".  A callback
 * may allocate, free and change callbacks, but a collection it starts does
 * nothing (returns 0), as in CPython. */
typedef struct hl_gc_info_s {
    int generation;
    ssize_t collected;
    ssize_t uncollectable;
} hl_gc_info_t;
typedef void (*hl_gc_callback_fn)(hl_runtime_t *rt, const char *phase,
                                  const hl_gc_info_t *info, void *user);
int hl_gc_callback_add(hl_runtime_t *rt, hl_gc_callback_fn fn, void *user);
/* Removes the first matching (fn, user); returns 0, or -1 if absent. */
int hl_gc_callback_remove(hl_runtime_t *rt, hl_gc_callback_fn fn, void *user);

void hl_gc_freeze(hl_runtime_t *rt);
void hl_gc_unfreeze(hl_runtime_t *rt);
ssize_t hl_gc_get_freeze_count(const hl_runtime_t *rt);

/* get_objects(generation) as a new list; generation -1 means all three.
 * -1 is the only value outside 0..2 allowed (ValueError otherwise). */
hl_object_t *hl_gc_get_objects(hl_runtime_t *rt, int generation);
/* get_referrers(*objs) / get_referents(*objs), as new lists. */
hl_object_t *hl_gc_get_referrers(hl_runtime_t *rt, hl_object_t *const *objs, size_t n);
hl_object_t *hl_gc_get_referents(hl_runtime_t *rt, hl_object_t *const *objs, size_t n);

bool hl_gc_is_tracked(const hl_object_t *op);
bool hl_gc_is_finalized(const hl_object_t *op);

/* gc.garbage: the runtime's list (borrowed); clear it with hl_list_clear. */
hl_object_t *hl_gc_garbage(hl_runtime_t *rt);

void hl_gc_set_debug(hl_runtime_t *rt, int flags);
int hl_gc_get_debug(const hl_runtime_t *rt);

/* The collector's invariants, checked on every generation and the
 * permanent one: each list doubly linked and circular, every member
 * tracked, a GC object, alive, and with the flags of the between-
 * collections phase (no COLLECTING, no UNREACHABLE).  For fuzzers and
 * expensive asserts.  false, with the first broken one printed on stderr
 * if `verbose`. */
bool hl_gc_check(const hl_runtime_t *rt, bool verbose);

/* Objects in generation g (0..2), in the permanent generation (g == 3). */
ssize_t hl_gc_generation_size(const hl_runtime_t *rt, int g);

#ifdef __cplusplus
}
#endif
#endif /* HEAPLAB_GC_H */
