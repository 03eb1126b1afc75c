/* shim_test.c: hl_bench.h end to end.  The group set-up registers a few
 * trivial benchmarks, runs them once through hl_bench_main with
 * --benchmark_min_time=0.001 and --benchmark_out to a temporary file, and
 * the tests then read Google Benchmark's JSON: the run names of every
 * argument setter, the counters after their flags, the label, the error of
 * a skipped run, the unit, repetitions and fixed iterations, and the exit
 * status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hl_bench.h"

/* What the trivial benchmark saw, for the tests to check. */
typedef struct seen_s {
    int runs;
    int saw_arg[8];       /* saw_arg[x] != 0: some run had range(0) == x */
    int64_t iterations;   /* summed over runs */
    int paused;           /* pause/resume pairs made */
} seen_t;

static seen_t seen;
static int main_status = -1;
static char *json;        /* the --benchmark_out file, NUL-terminated */

/* ---------------------------------------------------------------------- */
/* The benchmarks */

static void bm_trivial(hl_bench_state_t *st, void *user)
{
    seen_t *s = user;
    const int64_t n = hl_bench_range(st, 0);
    bool first = true;
    s->runs++;
    if (n >= 0 && n < 8)
        s->saw_arg[n] = 1;
    while (hl_bench_keep_running(st)) {
        int64_t sum = 0;
        for (int64_t i = 0; i < n; i++)
            sum += i;
        hl_bench_do_not_optimize(&sum);
        hl_bench_clobber_memory();
        if (first) {
            first = false;
            hl_bench_pause_timing(st);
            s->paused++;
            hl_bench_resume_timing(st);
        }
    }
    const int64_t iters = hl_bench_iterations(st);
    s->iterations += iters;
    hl_bench_counter(st, "answer", 42.0, HL_BENCH_COUNTER_DEFAULT);
    /* 2 per iteration, summed, then averaged back: 2. */
    hl_bench_counter(st, "per_iter", 2.0 * (double)iters, HL_BENCH_COUNTER_AVG_ITERATIONS);
    /* 5 per iteration, given once: 5 * iterations. */
    hl_bench_counter(st, "total", 5.0, HL_BENCH_COUNTER_ITERATION_INVARIANT);
    /* 1/4. */
    hl_bench_counter(st, "quarter", 4.0, HL_BENCH_COUNTER_INVERT);
    hl_bench_set_items_processed(st, iters * n);
    hl_bench_set_label(st, "trivial-label");
}

static void bm_fails(hl_bench_state_t *st, void *user)
{
    (void)user;
    hl_bench_skip_with_error(st, "deliberate failure");
    while (hl_bench_keep_running(st))
        fail_msg("the loop of a skipped run ran");
}

static void bm_reps(hl_bench_state_t *st, void *user)
{
    (void)user;
    while (hl_bench_keep_running(st))
        hl_bench_clobber_memory();
}

static void bm_bytes(hl_bench_state_t *st, void *user)
{
    (void)user;
    while (hl_bench_keep_running(st))
        hl_bench_clobber_memory();
    hl_bench_set_bytes_processed(st, hl_bench_iterations(st) * 64);
}

/* ---------------------------------------------------------------------- */
/* Reading the JSON */

/* The text of the run object named `name` (from its "name" key to the
 * next run), or NULL. */
static const char *find_run(const char *name)
{
    char key[256];
    snprintf(key, sizeof key, "\"name\": \"%s\",", name);
    return strstr(json, key);
}

/* The number after `"field": ` within the run starting at run. */
static double run_number(const char *run, const char *field)
{
    char key[128];
    snprintf(key, sizeof key, "\"%s\": ", field);
    const char *end = strstr(run + 1, "\"name\": ");
    const char *p = strstr(run, key);
    assert_non_null(p);
    if (end != NULL)
        assert_true(p < end);
    return strtod(p + strlen(key), NULL);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n)
        buf[n] = '\0';
    else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* Manual time: every iteration says it took 2 ms. */
static void bm_manual(hl_bench_state_t *st, void *user)
{
    (void)user;
    while (hl_bench_keep_running(st))
        hl_bench_set_iteration_time(st, 0.002);
}

static int run_benchmarks(void **state)
{
    (void)state;
    const char *dir = getenv("TEST_TMPDIR");
    char path[4096], out_arg[4200];
    snprintf(path, sizeof path, "%s/shim_test.XXXXXX", dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    snprintf(out_arg, sizeof out_arg, "--benchmark_out=%s", path);

    hl_bench_arg(hl_bench_arg(hl_bench_register("shim_trivial", bm_trivial, &seen), 3), 7);
    hl_bench_register("shim_fails", bm_fails, NULL);
    static const int64_t ab[] = {1, 10};
    static const char *const names[] = {"a", "b"};
    hl_bench_arg_names(hl_bench_args(hl_bench_register("shim_named", bm_reps, NULL), ab, 2),
                       names, 2);
    hl_bench_t *reps = hl_bench_register("shim_reps", bm_reps, NULL);
    hl_bench_set_repetitions(reps, 2);
    hl_bench_set_unit(reps, HL_BENCH_MS);
    hl_bench_use_real_time(reps);
    hl_bench_add_context("shim_test_key", "shim_test_value");

    static const int64_t xs[] = {1, 2}, ys[] = {10, 20};
    static const int64_t *const lists[] = {xs, ys};
    static const size_t lens[] = {2, 2};
    hl_bench_args_product(hl_bench_register("shim_grid", bm_reps, NULL), lists, lens, 2);
    hl_bench_arg_range(hl_bench_range_multiplier(hl_bench_register("shim_range", bm_reps, NULL), 2),
                       1, 8);
    hl_bench_arg_dense_range(hl_bench_register("shim_dense", bm_reps, NULL), 0, 6, 3);
    hl_bench_set_iterations(hl_bench_register("shim_fixed", bm_bytes, NULL), 7);
    hl_bench_set_iterations(hl_bench_use_manual_time(hl_bench_register("shim_manual", bm_manual, NULL)), 5);
    hl_bench_arg(hl_bench_set_iterations(hl_bench_detached("shim_detached"), 3), 9);

    char *argv[] = {
        "shim_test", "--benchmark_min_time=0.001", out_arg, "--benchmark_out_format=json",
        "--benchmark_filter=^shim_", NULL,
    };
    main_status = hl_bench_main(5, argv);
    json = slurp(path);
    unlink(path);
    return json != NULL ? 0 : -1;
}

static int free_json(void **state)
{
    (void)state;
    free(json);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Tests */

static void test_exit_status_reports_the_error(void **state)
{
    (void)state;
    assert_int_equal(main_status, 1);
}

static void test_body_saw_each_argument(void **state)
{
    (void)state;
    /* Google Benchmark calls the body again while it sizes the iteration
     * count, so at least once per argument. */
    assert_true(seen.runs >= 2);
    assert_true(seen.saw_arg[3] && seen.saw_arg[7]);
    assert_true(seen.iterations >= seen.runs);
    assert_int_equal(seen.paused, seen.runs);   /* once per call, in its first iteration */
}

static void test_runs_named_in_json(void **state)
{
    (void)state;
    assert_non_null(find_run("shim_trivial/3"));
    assert_non_null(find_run("shim_trivial/7"));
    assert_non_null(find_run("shim_named/a:1/b:10"));
    assert_non_null(strstr(json, "\"shim_test_key\": \"shim_test_value\""));
}

static void test_counters_after_flags(void **state)
{
    (void)state;
    const char *run = find_run("shim_trivial/7");
    assert_non_null(run);
    const double iters = run_number(run, "iterations");
    assert_true(iters >= 1);
    assert_true(run_number(run, "answer") == 42.0);
    assert_true(run_number(run, "per_iter") == 2.0);
    assert_true(run_number(run, "total") == 5.0 * iters);
    assert_true(run_number(run, "quarter") == 0.25);
    assert_true(run_number(run, "items_per_second") > 0);
    assert_non_null(strstr(run, "\"label\": \"trivial-label\""));
}

static void test_skip_with_error(void **state)
{
    (void)state;
    const char *run = find_run("shim_fails");
    assert_non_null(run);
    assert_non_null(strstr(run, "\"error_occurred\": true"));
    assert_non_null(strstr(run, "\"error_message\": \"deliberate failure\""));
}

static void test_unit_and_repetitions(void **state)
{
    (void)state;
    /* Per-benchmark repetitions and real time show in the name. */
    const char *run = find_run("shim_reps/repeats:2/real_time");
    assert_non_null(run);
    assert_non_null(strstr(run, "\"time_unit\": \"ms\""));
    assert_non_null(strstr(run, "\"repetition_index\": 0"));
    run = strstr(run + 1, "\"name\": \"shim_reps/repeats:2/real_time\",");
    assert_non_null(run);
    assert_non_null(strstr(run, "\"repetition_index\": 1"));
    assert_non_null(find_run("shim_reps/repeats:2/real_time_median"));
}

static void test_argument_setters(void **state)
{
    (void)state;
    static const char *const names[] = {
        "shim_grid/1/10", "shim_grid/1/20", "shim_grid/2/10", "shim_grid/2/20",
        "shim_range/1",   "shim_range/2",   "shim_range/4",   "shim_range/8",
        "shim_dense/0",   "shim_dense/3",   "shim_dense/6",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (find_run(names[i]) == NULL)
            fail_msg("no run named %s", names[i]);
    }
    assert_null(find_run("shim_dense/9"));
}

static void test_fixed_iterations_and_bytes(void **state)
{
    (void)state;
    const char *run = find_run("shim_fixed/iterations:7");
    assert_non_null(run);
    assert_true(run_number(run, "iterations") == 7.0);
    assert_true(run_number(run, "bytes_per_second") > 0);
}

static void test_detached_never_runs(void **state)
{
    (void)state;
    assert_null(strstr(json, "shim_detached"));
}

static void test_manual_time(void **state)
{
    (void)state;
    /* Google Benchmark names a manual-time run `/manual_time`; its real
     * time is the mean of the iteration times given (2 ms, in ns). */
    const char *run = find_run("shim_manual/iterations:5/manual_time");
    assert_non_null(run);
    assert_true(run_number(run, "iterations") == 5.0);
    const double t = run_number(run, "real_time");
    assert_true(t > 1.999e6 && t < 2.001e6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_status_reports_the_error),
        cmocka_unit_test(test_body_saw_each_argument),
        cmocka_unit_test(test_runs_named_in_json),
        cmocka_unit_test(test_counters_after_flags),
        cmocka_unit_test(test_skip_with_error),
        cmocka_unit_test(test_unit_and_repetitions),
        cmocka_unit_test(test_argument_setters),
        cmocka_unit_test(test_fixed_iterations_and_bytes),
        cmocka_unit_test(test_manual_time),
        cmocka_unit_test(test_detached_never_runs),
    };
    return cmocka_run_group_tests(tests, run_benchmarks, free_json);
}
