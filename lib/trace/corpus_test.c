/* corpus_test.c: every bundled trace (corpus/traces/NAME.mtrace.gz) replayed and
 * verified in every registered allocator, in both arena kinds.  `cpython`
 * runs in a child process per trace: there is one obmalloc per process. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "heaplab/trace.h"
#include "trace_internal.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CORPUS "corpus/traces"

static int replay_one(const char *name, hl_arena_kind_t arenas, const hl_trace_t *t,
                      hl_replay_report_t *r, char *err, size_t errlen)
{
    hl_alloc_options_t opt = {arenas, NULL};
    hl_replay_options_t ropt = {true, true, 1000, NULL};
    return hl_replay(name, &opt, t, &ropt, r, err, errlen);
}

static void replay_everywhere(const char *path)
{
    char err[1024];
    hl_trace_t *t;
    if (hl_trace_load(path, &t, err, sizeof err) != 0)
        fail_msg("%s", err);
    const hl_trace_info_t *in = hl_trace_info(t);
    assert_true(_hl_trace_is_valid(t));
    assert_true(in->ops > 10000);
    for (size_t i = 0; i < hl_registry_count(); i++) {
        const char *name = hl_registry_at(i)->name;
        bool cpython = strcmp(name, "cpython") == 0;
        for (int k = 0; k < 2; k++) {
            hl_arena_kind_t arenas = k ? HL_ARENAS_FIXED : HL_ARENAS_MMAP;
            /* glibc ignores the arena kind: once is enough (and slow: it
             * samples mallinfo2 after every op). */
            if (k && strcmp(name, "glibc") == 0)
                continue;
            hl_replay_report_t r;
            if (cpython) {
                fflush(NULL);
                pid_t pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                    int rc = replay_one(name, arenas, t, &r, err, sizeof err);
                    if (rc != 0)
                        fprintf(stderr, "%s\n", err);
                    hl_trace_free(t);
                    _exit(rc == 0 && r.verified ? 0 : 1);
                }
                int st;
                assert_int_equal(waitpid(pid, &st, 0), pid);
                if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                    fail_msg("%s: cpython (%s arenas) failed (status 0x%x)", path,
                             k ? "fixed" : "mmap", st);
                continue;
            }
            if (replay_one(name, arenas, t, &r, err, sizeof err) != 0)
                fail_msg("%s", err);
            assert_true(r.verified && r.timed);
            assert_int_equal(r.ops, in->ops);
            assert_int_equal(r.peak_live_bytes, in->peak_live_bytes);
            assert_true(r.checks >= in->ops / 1000);
            /* No footprint >= live check: allocators that put big blocks in
             * the process-wide glibc heap reuse memory earlier replays freed. */
            printf("  %-22s %-17s %-5s %8zu ops %7.1f ns/op  peak live %9zu  peak footprint %9zu\n",
                   path + strlen(CORPUS) + 1, name, k ? "fixed" : "mmap", r.ops, r.ns_per_op,
                   r.peak_live_bytes, r.peak_footprint_bytes);
        }
    }
    hl_trace_free(t);
}

static void test_corpus(void **state)
{
    (void)state;
    DIR *d = opendir(CORPUS);
    if (!d)
        fail_msg("cannot open %s (run from the workspace root / runfiles)", CORPUS);
    char paths[32][512];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 32) {
        size_t len = strlen(e->d_name);
        if (len > 10 && strcmp(e->d_name + len - 10, ".mtrace.gz") == 0)
            snprintf(paths[n++], sizeof paths[0], "%s/%s", CORPUS, e->d_name);
    }
    closedir(d);
    assert_true(n >= 3);
    for (size_t i = 0; i < n; i++)
        replay_everywhere(paths[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
