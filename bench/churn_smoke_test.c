/* churn_smoke_test.c: every churn workload of churn_benchmark, one step on
 * every registered allocator.  No timing: it checks that each workload
 * allocates what it says, gives every block back, gets no NULL, and leaves
 * the allocator's structures valid (hl_check).  One cmocka test per
 * allocator, so a new registry entry is covered without a change here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "churn_workloads.h"

typedef struct workload_s {
    hl_churn_kind_t kind;
    size_t param;
} workload_t;

static const workload_t workloads[] = {
    {HL_CHURN_PAIRS, 16},        {HL_CHURN_PAIRS, 64},       {HL_CHURN_PAIRS, 256},
    {HL_CHURN_PAIRS, 512},       {HL_CHURN_WINDOW, 1024},    {HL_CHURN_WINDOW, 65536},
    {HL_CHURN_BATCH_LIFO, 10000}, {HL_CHURN_BATCH_FIFO, 10000},
};
#define NWORKLOADS (sizeof workloads / sizeof workloads[0])

static void run_one(const hl_allocator_t *a, const workload_t *wl, hl_churn_t *w)
{
    hl_stats_t before, at_peak, after;
    hl_stats(a, &before);

    assert_int_equal(hl_churn_setup(w, wl->kind, wl->param, a), 0);
    hl_churn_step(w);
    hl_churn_step(w);
    size_t live = 0;
    hl_churn_measure_peak(w, &live, &at_peak);
    hl_churn_teardown(w);
    hl_stats(a, &after);

    /* No allocation failed, and the requested bytes at the peak are plausible. */
    assert_int_equal(w->failures, 0);
    size_t expect_blocks = wl->kind == HL_CHURN_PAIRS ? 1 : wl->param;
    assert_true(live >= expect_blocks);
    assert_true(live <= expect_blocks * HL_CHURN_MAX_SIZE);
    if (wl->kind == HL_CHURN_PAIRS)
        assert_int_equal(live, wl->param);

    if (after.valid & HL_STAT_LIVE_BLOCKS) {
        /* At the peak the workload's blocks were all live ... */
        assert_int_equal(at_peak.live_blocks, before.live_blocks + expect_blocks);
        /* ... and afterwards every one of them has been returned. */
        assert_int_equal(after.live_blocks, before.live_blocks);
    }
    /* Live bytes may include the allocator's own metadata (pymalloc counts
     * its arena vector), which can stay after the blocks are gone; at the
     * peak they cover at least the bytes requested. */
    if (at_peak.valid & HL_STAT_LIVE_BYTES)
        assert_true(at_peak.live_bytes >= before.live_bytes + live);
    if (after.valid & HL_STAT_HELD)
        assert_true(after.held_peak_bytes >= at_peak.held_bytes);
    assert_true(hl_check(a, stderr));
}

static void test_allocator(void **state)
{
    const hl_registry_entry_t *e = (const hl_registry_entry_t *)*state;
    hl_allocator_t a;
    char err[256] = "";
    if (hl_allocator_create(e->name, NULL, &a, err, sizeof err) != 0)
        fail_msg("cannot create allocator %s: %s", e->name, err);
    hl_churn_t *w = malloc(sizeof *w);
    assert_non_null(w);
    for (size_t i = 0; i < NWORKLOADS; i++) {
        print_message("  %s %s/%zu\n", e->name, hl_churn_kind_names[workloads[i].kind],
                      workloads[i].param);
        run_one(&a, &workloads[i], w);
    }
    free(w);
    hl_allocator_destroy(&a);
}

int main(void)
{
    size_t n = hl_registry_count();
    struct CMUnitTest *tests = calloc(n, sizeof *tests);
    char (*names)[96] = calloc(n, sizeof *names);
    if (!tests || !names)
        return 1;
    for (size_t i = 0; i < n; i++) {
        const hl_registry_entry_t *e = hl_registry_at(i);
        snprintf(names[i], sizeof names[i], "churn_workloads_%s", e->name);
        tests[i].name = names[i];
        tests[i].test_func = test_allocator;
        tests[i].initial_state = (void *)e;
    }
    int failed = _cmocka_run_group_tests("churn_smoke", tests, n, NULL, NULL);
    free(tests);
    free(names);
    return failed;
}
