/* cli_test.c: heaplab-cli replay and record as a user runs them: exit
 * statuses, the exact error lines, one JSON object. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "heaplab/trace.h"
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLI "lib/cli/heaplab-cli"
#define TRACE "corpus/traces/cc1.mtrace.gz"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_replay_json(void **state)
{
    (void)state;
    char *out, *err;
    char *argv[] = {CLI, "replay", "--allocator", "pymalloc", "--arenas", "fixed", "--json",
                    TRACE, NULL};
    int st = hl_test_run(argv, NULL, &out, &err);
    if (st != 0)
        fail_msg("status %d: %s", st, err);
    /* exactly one line, one object */
    assert_int_equal(out[0], '{');
    char *nl = strchr(out, '\n');
    assert_non_null(nl);
    assert_int_equal(nl[1], '\0');
    assert_int_equal(nl[-1], '}');
    static const char *const keys[] = {
        "\"allocator\": \"pymalloc\"", "\"ops\": 115585", "\"peak_live_bytes\": 2929107",
        "\"peak_footprint_bytes\": ", "\"final_live_bytes\": 2133669", "\"ns_per_op\": ",
        "\"verified\": true", "\"trace\": \"corpus/traces/cc1.mtrace.gz\"",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strstr(out, keys[i]))
            fail_msg("'%s' not in %s", keys[i], out);
    free(out);
    free(err);

    char *table[] = {CLI, "replay", "--allocator=glibc", "--stats", TRACE, NULL};
    st = hl_test_run(table, NULL, &out, &err);
    if (st != 0)
        fail_msg("status %d: %s", st, err);
    assert_non_null(strstr(out, "<malloc"));         /* --stats: malloc_info */
    assert_non_null(strstr(out, "peak live           2929107 bytes"));
    assert_non_null(strstr(out, "verified            yes"));
    free(out);
    free(err);
}

static void expect(char *const argv[], const char *in, int status, const char *want_err)
{
    char *out, *err;
    int st = hl_test_run(argv, in, &out, &err);
    if (st != status)
        fail_msg("status %d, want %d; stderr: %s", st, status, err);
    if (strncmp(err, want_err, strlen(want_err)) != 0)
        fail_msg("stderr '%s', want '%s'", err, want_err);
    free(out);
    free(err);
}

static void test_replay_errors(void **state)
{
    (void)state;
    char bad[512], want[700];
    snprintf(bad, sizeof bad, "%s/bad.mtrace", hl_test_tmpdir());
    write_file(bad, "= Start\n@ [0x1] + 0x10 0x8\n@ [0x1] - 0x20\n");

    char *a1[] = {CLI, "replay", "--allocator", "glibc", bad, NULL};
    snprintf(want, sizeof want, "%s:3: error: free of 0x20, which is not live\n", bad);
    expect(a1, NULL, 2, want);

    char *a2[] = {CLI, "replay", "--allocator", "pymalloc", "-", NULL};
    expect(a2, bad, 2, "<stdin>:3: error: free of 0x20, which is not live\n");

    char *a3[] = {CLI, "replay", "--allocator", "nope", TRACE, NULL};
    expect(a3, NULL, 2, "heaplab replay: unknown allocator 'nope' (see `heaplab list`)\n");

    char *a4[] = {CLI, "replay", "--allocator", "glibc", "--frobnicate", TRACE, NULL};
    expect(a4, NULL, 2, "heaplab replay: unknown option '--frobnicate'\n");

    char *a5[] = {CLI, "replay", "--allocator", "glibc", "--arenas", "heap", TRACE, NULL};
    expect(a5, NULL, 2, "heaplab replay: unknown arena kind 'heap' (expected fixed or mmap)\n");

    char *a6[] = {CLI, "replay", TRACE, NULL};
    expect(a6, NULL, 2, "heaplab replay: --allocator NAME is required");

    char missing[512];
    snprintf(missing, sizeof missing, "%s/missing.mtrace", hl_test_tmpdir());
    char *a7[] = {CLI, "replay", "--allocator", "glibc", missing, NULL};
    snprintf(want, sizeof want, "%s: error: cannot open: No such file or directory\n", missing);
    expect(a7, NULL, 2, want);
}

static void test_record(void **state)
{
    (void)state;
    char out[512];
    snprintf(out, sizeof out, "%s/cli.mtrace.gz", hl_test_tmpdir());
    char *argv[] = {CLI, "record", "-o", out, "--", "/bin/sh", "-c", "echo hi; exit 5", NULL};
    expect(argv, NULL, 5, "");

    char *replay[] = {CLI, "replay", "--allocator", "pymalloc-classic", out, NULL};
    expect(replay, NULL, 0, "");

    char *noout[] = {CLI, "record", "--", "/bin/true", NULL};
    expect(noout, NULL, 2, "heaplab record: -o FILE is required\n");
    char *bogus[] = {CLI, "record", "--pyhton", "-o", out, "--", "/bin/true", NULL};
    expect(bogus, NULL, 2, "heaplab record: unknown option '--pyhton'\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_json),
        cmocka_unit_test(test_replay_errors),
        cmocka_unit_test(test_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
