/* record_test.c: hl_record runs a command under glibc's tracer through the
 * starter library, passes its exit status through and writes a trace the
 * parser reads (plain and gzip). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "heaplab/trace.h"
#include "test_util.h"
#include "trace_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STARTER "lib/trace/libhl_mtrace_start.so"

static hl_trace_t *load(const char *path)
{
    char err[1024];
    hl_trace_t *t;
    if (hl_trace_load(path, &t, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_true(_hl_trace_is_valid(t));
    return t;
}

static void test_record_shell(void **state)
{
    (void)state;
    char out[512], err[1024];
    snprintf(out, sizeof out, "%s/sh.mtrace", hl_test_tmpdir());
    hl_record_options_t opt = {out, STARTER, false};
    /* The shell runs a child (ls): that one must not clobber the trace. */
    char *argv[] = {"/bin/sh", "-c", "x=$(echo hello); ls / >/dev/null; exit 3", NULL};
    int st = hl_record(&opt, argv, err, sizeof err);
    if (st < 0)
        fail_msg("%s", err);
    assert_int_equal(st, 3);
    hl_trace_t *t = load(out);
    assert_true(hl_trace_info(t)->mallocs > 0);
    hl_trace_free(t);
}

static void test_record_python_gz(void **state)
{
    (void)state;
    char out[512], err[1024];
    snprintf(out, sizeof out, "%s/py.mtrace.gz", hl_test_tmpdir());
    hl_record_options_t opt = {out, STARTER, true};
    char *argv[] = {"/usr/bin/python3", "-c", "import json; json.dumps(list(range(1000)))", NULL};
    int st = hl_record(&opt, argv, err, sizeof err);
    if (st < 0)
        fail_msg("%s", err);
    assert_int_equal(st, 0);
    FILE *f = fopen(out, "rb");
    assert_non_null(f);
    unsigned char magic[2];
    assert_int_equal(fread(magic, 1, 2, f), 2);
    fclose(f);
    assert_int_equal(magic[0], 0x1f);   /* gzip */
    assert_int_equal(magic[1], 0x8b);
    hl_trace_t *t = load(out);
    /* PYTHONMALLOC=malloc: every object reaches malloc, tens of thousands. */
    assert_true(hl_trace_info(t)->ops > 20000);
    hl_replay_report_t r;
    if (hl_replay("pymalloc", NULL, t, NULL, &r, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_true(r.verified);
    hl_trace_free(t);

    /* No temporary file left beside it. */
    char cmd[700];
    snprintf(cmd, sizeof cmd, "ls %s | grep -c tmp >/dev/null", hl_test_tmpdir());
    assert_int_not_equal(system(cmd), 0);
}

static void test_record_failures(void **state)
{
    (void)state;
    char out[512], err[1024] = "";
    snprintf(out, sizeof out, "%s/none.mtrace", hl_test_tmpdir());
    hl_record_options_t opt = {out, STARTER, false};
    char *missing[] = {"/no/such/program", NULL};
    assert_int_equal(hl_record(&opt, missing, err, sizeof err), 127);

    hl_record_options_t nostarter = {out, "/no/such/starter.so", false};
    char *argv[] = {"/bin/true", NULL};
    assert_int_equal(hl_record(&nostarter, argv, err, sizeof err), -1);
    assert_string_equal(err, "/no/such/starter.so: No such file or directory");

    char buf[4096];
    setenv("HEAPLAB_MTRACE_START", STARTER, 1);
    assert_int_equal(hl_record_find_starter(buf, sizeof buf, err, sizeof err), 0);
    assert_string_equal(buf, STARTER);
    setenv("HEAPLAB_MTRACE_START", "/nope.so", 1);
    assert_int_equal(hl_record_find_starter(buf, sizeof buf, err, sizeof err), -1);
    assert_string_equal(err, "HEAPLAB_MTRACE_START=/nope.so: No such file or directory");
    unsetenv("HEAPLAB_MTRACE_START");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_shell),
        cmocka_unit_test(test_record_python_gz),
        cmocka_unit_test(test_record_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
