/* fidelity_test.c: heaplab's pymalloc against CPython 3.11's own obmalloc.
 *
 * Both allocators get the same sequence of operations and the same kind of
 * deterministic arena source (each in its own window, see
 * lib/arena/fixed_source.c).  After every checkpoint, heaplab's stats output
 * must be identical, line for line, to what libpython's
 * _PyObject_DebugMallocStats prints, and heaplab's invariants must hold.
 *
 * libpython has one obmalloc per process, so each program runs in a fork()ed
 * child with a pristine CPython heap.
 *
 * The programs are random (seeded, so a failure names a reproducible seed)
 * and shaped to reach every path: ramps that allocate several arenas, drains
 * that empty pools and release arenas (and keep the last one, 3.9+), reallocs
 * in place and across classes, 0-byte and >512-byte requests that go raw,
 * and calloc.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fidelity.h"

/* Run fn(arg) in a child; the child exits 0 iff the programs agreed. */
static void in_child(int (*fn)(uint64_t), uint64_t arg)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fn(arg));
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static int run_random(uint64_t seed)
{
    fidelity_program_t prog = {
        .seed = seed,
        .ops = 120000,
        .checkpoint_every = 1000,
        .max_live = 1 + (size_t)(seed % 4) * 15000,  /* 1 .. 45001 live blocks */
    };
    return fidelity_run_random(&prog, stderr) == 0 ? 0 : 1;
}

static void test_random_programs(void **s)
{
    (void)s;
    for (uint64_t seed = 1; seed <= 24; seed++)
        in_child(run_random, seed);
}

static int run_ramp(uint64_t arg)
{
    (void)arg;
    return fidelity_run_ramp_and_drain(stderr) == 0 ? 0 : 1;
}

static void test_ramp_and_drain(void **s)
{
    (void)s;
    in_child(run_ramp, 0);
}

static int run_traces(uint64_t arg)
{
    (void)arg;
    return fidelity_run_traces("corpus/traces", stderr) == 0 ? 0 : 1;
}

static void test_real_traces(void **s)
{
    (void)s;
    in_child(run_traces, 0);
}

/* The comparison itself must be able to fail: a planted difference in one
 * stats line is reported. */
static void test_comparison_detects_a_difference(void **s)
{
    (void)s;
    const char *a = "x\n# arenas allocated total           =                    2\n";
    const char *b = "x\n# arenas allocated total           =                    3\n";
    char where[256];
    assert_int_equal(fidelity_compare_text(a, a, where, sizeof where), 0);
    assert_int_equal(fidelity_compare_text(a, b, where, sizeof where), 2);
    assert_non_null(strstr(where, "line 2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_comparison_detects_a_difference),
        cmocka_unit_test(test_ramp_and_drain),
        cmocka_unit_test(test_random_programs),
        cmocka_unit_test(test_real_traces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
