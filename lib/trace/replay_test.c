/* replay_test.c: the replayer on small hand-written traces: exact report
 * numbers, every registered allocator, and allocators broken on purpose that
 * the verification pass must catch; the observed pass's events, exactly, on
 * every allocator, and its clean stop at a NULL result. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "heaplab/trace.h"
#include "hl_debug.h"
#include "trace_internal.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static hl_trace_t *parse(const char *text)
{
    char err[512];
    hl_trace_t *t;
    if (hl_trace_parse_buffer("t.mtrace", text, strlen(text), &t, err, sizeof err) != 0)
        fail_msg("%s", err);
    return t;
}

/* Live requested bytes over time: 0x20, 0x120, 0x128, 0x228 (peak while the
 * 1 MiB block is live: 0x100228), then frees and a shrinking realloc. */
static const char small[] =
    "= Start\n"
    "@ /usr/bin/python3:(PyThread_allocate_lock+2a)[0xf71ba] + 0x1000 0x20\n"  /* 2 */
    "@ [0x7f3a2c1b2e10] + 0x3000 0x100\n"                                     /* 3 */
    "+ 0x4000 0x8\n"                                                           /* 4 */
    "@ a:(main-10)[0x1149] < 0x3000\n"                                         /* 5 */
    "@ a:(main-10)[0x1149] > 0x5000 0x200\n"
    "+ 0x6000 0x100000\n"                                                      /* 7 */
    "+ 0x7000 0\n"                                                             /* 8 */
    "- 0x6000\n"                                                               /* 9 */
    "< 0x4000\n"                                                               /* 10 */
    "> 0x4000 0x1000\n"
    "< 0x5000\n"                                                               /* 12 */
    "> 0x1000 0x7\n"   /* moves onto an address freed... no: 0x1000 is live */
    "= End\n";

static const char small_ok[] =
    "= Start\n"
    "+ 0x1000 0x20\n"          /* 2: live 0x20 */
    "+ 0x3000 0x100\n"         /* 3: 0x120 */
    "+ 0x4000 0x8\n"           /* 4: 0x128 */
    "< 0x3000\n"               /* 5 */
    "> 0x5000 0x200\n"         /*    0x228 */
    "+ 0x6000 0x100000\n"      /* 7: 0x100228 peak */
    "+ 0x7000 0\n"             /* 8 */
    "- 0x6000\n"               /* 9: 0x228 */
    "< 0x4000\n"               /* 10 */
    "> 0x4000 0x1000\n"        /*    0x1220 */
    "< 0x5000\n"               /* 12 */
    "> 0x3000 0x7\n"           /*    0x1027 */
    "- 0x1000\n"               /* 14: 0x1007 */
    "+ 0x1000 0x30\n"          /* 15: 0x1037 */
    "= End\n";

static void test_small_report(void **state)
{
    (void)state;
    hl_trace_t *bad = NULL;
    char err[512];
    assert_int_equal(hl_trace_parse_buffer("t.mtrace", small, strlen(small), &bad, err,
                                           sizeof err), -1);
    assert_string_equal(err, "t.mtrace:13: error: realloc returned 0x1000, which is already "
                             "live (allocated on line 2)");

    hl_trace_t *t = parse(small_ok);
    hl_replay_report_t r;
    if (hl_replay("glibc", NULL, t, NULL, &r, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_string_equal(r.allocator, "glibc");
    assert_int_equal(r.ops, 11);
    assert_int_equal(r.mallocs, 6);
    assert_int_equal(r.frees, 2);
    assert_int_equal(r.reallocs, 3);
    assert_int_equal(r.peak_live_bytes, 0x100228);
    assert_int_equal(r.peak_live_blocks, 5);
    assert_int_equal(r.final_live_bytes, 0x1037);
    assert_int_equal(r.final_live_blocks, 4);
    assert_true(r.timed);
    assert_true(r.verified);
    assert_true(r.ns_per_op >= 0.0);
    assert_true(r.footprint_known);
#ifndef HL_ASAN
    /* The 1 MiB block is mmapped by glibc: held bytes grow by at least that.
     * (Under ASan malloc is ASan's and mallinfo2 does not see it.) */
    assert_true(r.peak_footprint_bytes >= 0x100000);
#endif
    assert_true(r.checks >= 2);
    hl_trace_free(t);
}

static void test_passes_alone(void **state)
{
    (void)state;
    char err[512];
    hl_trace_t *t = parse(small_ok);
    hl_replay_report_t r;
    hl_replay_options_t only_timed = {true, false, 0, NULL};
    assert_int_equal(hl_replay("glibc", NULL, t, &only_timed, &r, err, sizeof err), 0);
    assert_true(r.timed);
    assert_false(r.verified);

    char *buf = NULL;
    size_t len = 0;
    FILE *stats = open_memstream(&buf, &len);
    hl_replay_options_t verify = {false, true, 1, stats};
    assert_int_equal(hl_replay("glibc", NULL, t, &verify, &r, err, sizeof err), 0);
    fclose(stats);
    assert_false(r.timed);
    assert_true(r.verified);
    assert_int_equal(r.checks, 13);          /* after each of 11 ops, then twice at the end */
    assert_non_null(strstr(buf, "<malloc"));  /* glibc's print_stats is malloc_info */
    free(buf);

    assert_int_equal(hl_replay("no-such", NULL, t, NULL, &r, err, sizeof err), -1);
    assert_string_equal(err, "unknown allocator 'no-such' (see `heaplab list`)");
    hl_trace_free(t);
}

/* Every registered allocator; cpython in a child of its own (one instance per
 * process, process-global state). */
static void test_every_allocator(void **state)
{
    (void)state;
    hl_trace_t *t = parse(small_ok);
    for (size_t i = 0; i < hl_registry_count(); i++) {
        const char *name = hl_registry_at(i)->name;
        for (int arenas = 0; arenas < 2; arenas++) {
            hl_alloc_options_t opt = {arenas ? HL_ARENAS_FIXED : HL_ARENAS_MMAP, NULL};
            char err[512];
            hl_replay_report_t r;
            if (strcmp(name, "cpython") == 0) {
                fflush(NULL);
                pid_t pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                    int rc = hl_replay(name, &opt, t, NULL, &r, err, sizeof err);
                    if (rc != 0)
                        fprintf(stderr, "%s\n", err);
                    _exit(rc == 0 && r.verified ? 0 : 1);
                }
                int st;
                assert_int_equal(waitpid(pid, &st, 0), pid);
                if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                    fail_msg("cpython replay failed (status 0x%x)", st);
                continue;
            }
            if (hl_replay(name, &opt, t, NULL, &r, err, sizeof err) != 0)
                fail_msg("%s: %s", name, err);
            assert_true(r.verified);
            assert_int_equal(r.peak_live_bytes, 0x100228);
        }
    }
    hl_trace_free(t);
}

/* ---- broken allocators ------------------------------------------------------------
 * Both wrap glibc and remember their blocks, so destroy can free what a failed
 * replay left behind (the leak checker watches). */

typedef struct broken_s {
    int kind;               /* 0: realloc forgets, 1: check fails, 2: scribbles,
                               3: malloc of >= 1 MiB fails, 4: realloc to 4 KiB fails */
    void *blocks[64];
} broken_t;

static void remember(broken_t *b, void *p)
{
    for (int i = 0; i < 64; i++)
        if (!b->blocks[i]) { b->blocks[i] = p; return; }
    fail_msg("too many blocks");
}
static void forget(broken_t *b, void *p)
{
    for (int i = 0; i < 64; i++)
        if (b->blocks[i] == p) { b->blocks[i] = NULL; return; }
}
static void *b_malloc(void *ctx, size_t n)
{
    broken_t *b = ctx;
    if (b->kind == 3 && n >= 0x100000)
        return NULL;
    void *p = malloc(n ? n : 1);
    remember(b, p);
    return p;
}
static void *b_calloc(void *ctx, size_t a, size_t n) { return b_malloc(ctx, a * n); }
static void *b_realloc(void *ctx, void *p, size_t n)
{
    broken_t *b = ctx;
    if (b->kind == 4 && n == 0x1000)
        return NULL;
    if (b->kind != 0) {
        forget(b, p);
        void *q = realloc(p, n ? n : 1);
        remember(b, q);
        return q;
    }
    void *q = b_malloc(ctx, n);        /* forgets to copy */
    memset(q, 0xAB, n);
    forget(b, p);
    free(p);
    return q;
}
static void b_free(void *ctx, void *p)
{
    broken_t *b = ctx;
    forget(b, p);
    if (b->kind == 2) {
        /* scribble on another live block: a stale write inside the allocator */
        for (int i = 0; i < 64; i++)
            if (b->blocks[i] && malloc_usable_size(b->blocks[i]) > 0) {
                ((unsigned char *)b->blocks[i])[0] ^= 0x5a;
                break;
            }
    }
    free(p);
}
static size_t b_usable(void *ctx, const void *p) { (void)ctx; return malloc_usable_size((void *)p); }
static void b_stats(void *ctx, hl_stats_t *out) { (void)ctx; memset(out, 0, sizeof *out); }
static bool b_check(void *ctx, FILE *report)
{
    broken_t *b = ctx;
    if (b->kind == 1) {
        if (report)
            fprintf(report, "pool 3: nfree 7 != 6\n");
        return false;
    }
    return true;
}
static int b_print(void *ctx, FILE *out) { (void)ctx; (void)out; return 0; }
static void b_destroy(void *ctx)
{
    broken_t *b = ctx;
    for (int i = 0; i < 64; i++)
        free(b->blocks[i]);
}
static const hl_allocator_ops_t broken_ops = {b_malloc, b_calloc, b_realloc, b_free, b_usable,
                                              b_stats, b_check, b_print, b_destroy};

static void replay_broken(int kind, const char *want_prefix, const char *want_suffix)
{
    broken_t b = {0};
    b.kind = kind;
    hl_allocator_t a = {&broken_ops, &b, "broken"};
    hl_trace_t *t = parse(small_ok);
    hl_replay_report_t r;
    hl_replay_report_init(&r, t, "broken");
    char err[512] = "";
    hl_replay_options_t ropt = {false, true, 1, NULL};
    assert_int_equal(hl_replay_verify(&a, t, &ropt, &r, err, sizeof err), -1);
    assert_false(r.verified);
    if (strncmp(err, want_prefix, strlen(want_prefix)) != 0)
        fail_msg("got '%s', want prefix '%s'", err, want_prefix);
    if (want_suffix && !strstr(err, want_suffix))
        fail_msg("got '%s', want '%s' in it", err, want_suffix);
    b_destroy(&b);
    hl_trace_free(t);
}

static void test_broken_allocators(void **state)
{
    (void)state;
    replay_broken(0, "t.mtrace:5: error: broken: op 3 (realloc of 512 bytes): realloc ",
                  "did not keep byte 0 of the first 256");
    replay_broken(1, "t.mtrace:2: error: broken: op 0 (malloc of 32 bytes): hl_check() failed "
                     "after this op: pool 3: nfree 7 != 6", NULL);
    replay_broken(2, "t.mtrace:14: error: broken: op 9 (free): byte 0 of the 32-byte block ",
                  NULL);
}

/* ---- the observed pass ---------------------------------------------------------------
 * An observer that keeps every event and the blocks it was told are live, and
 * checks each on_free against them: same pointer, same size, usable size still
 * readable and large enough.  It notes the first problem rather than assert,
 * so that it can run in a forked child (cpython). */

typedef struct event_s {
    char kind;              /* 'a' or 'f' */
    size_t size;
    const void *p;
} event_t;

typedef struct recorder_s {
    const hl_allocator_t *a;
    event_t ev[64];
    size_t nev;
    const void *live_p[64];
    size_t live_n[64];
    size_t live, peak;      /* requested bytes */
    size_t allocs, frees, nulls;
    char bad[256];          /* the first problem seen, or "" */
} recorder_t;

static void rec_bad(recorder_t *r, const char *what, const void *p, size_t n)
{
    if (!r->bad[0])
        snprintf(r->bad, sizeof r->bad, "event %zu (%p, %zu): %s", r->nev, p, n, what);
}

static void rec_event(recorder_t *r, char kind, const void *p, size_t n)
{
    if (r->nev < 64)
        r->ev[r->nev++] = (event_t){kind, n, p};
}

static void rec_alloc(void *user, const void *p, size_t n)
{
    recorder_t *r = user;
    rec_event(r, 'a', p, n);
    if (!p) {
        r->nulls++;
        return;
    }
    if (hl_usable_size(r->a, p) < n)
        rec_bad(r, "usable size too small", p, n);
    for (int i = 0; i < 64; i++)
        if (!r->live_p[i]) {
            r->live_p[i] = p;
            r->live_n[i] = n;
            r->allocs++;
            r->live += n;
            if (r->live > r->peak)
                r->peak = r->live;
            return;
        }
    rec_bad(r, "too many live blocks", p, n);
}

static void rec_free(void *user, const void *p, size_t n)
{
    recorder_t *r = user;
    rec_event(r, 'f', p, n);
    if (!p) {
        rec_bad(r, "on_free of NULL", p, n);
        return;
    }
    if (hl_usable_size(r->a, p) < n)               /* not freed yet */
        rec_bad(r, "usable size too small", p, n);
    for (int i = 0; i < 64; i++)
        if (r->live_p[i] == p) {
            if (r->live_n[i] != n)
                rec_bad(r, "size differs from the on_alloc's", p, n);
            r->live_p[i] = NULL;
            r->frees++;
            r->live -= n;
            return;
        }
    rec_bad(r, "on_free of a block never announced", p, n);
}

static int observe(const hl_allocator_t *a, const hl_trace_t *t, recorder_t *r, char *err,
                   size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->a = a;
    hl_replay_observer_t obs = {rec_alloc, rec_free, r};
    return hl_replay_observed(a, t, &obs, err, errlen);
}

static void test_observed_events(void **state)
{
    (void)state;
    hl_trace_t *t = parse(small_ok);
    hl_allocator_t a;
    char err[512];
    if (hl_allocator_create("glibc", NULL, &a, err, sizeof err) != 0)
        fail_msg("%s", err);
    recorder_t r;
    if (observe(&a, t, &r, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_string_equal(r.bad, "");
    /* The trace's ops in order (a realloc is a free then an alloc), then its
     * four final blocks, in some order. */
    static const struct { char kind; size_t size; } want[] = {
        {'a', 0x20}, {'a', 0x100}, {'a', 0x8},
        {'f', 0x100}, {'a', 0x200},
        {'a', 0x100000}, {'a', 0}, {'f', 0x100000},
        {'f', 0x8}, {'a', 0x1000},
        {'f', 0x200}, {'a', 0x7},
        {'f', 0x20}, {'a', 0x30},
    };
    const size_t nwant = sizeof want / sizeof want[0];
    assert_int_equal(r.nev, nwant + 4);
    for (size_t i = 0; i < nwant; i++) {
        if (r.ev[i].kind != want[i].kind || r.ev[i].size != want[i].size)
            fail_msg("event %zu: %c %zu, want %c %zu", i, r.ev[i].kind, r.ev[i].size,
                     want[i].kind, want[i].size);
    }
    size_t final_bytes = 0;
    for (size_t i = nwant; i < r.nev; i++) {
        assert_int_equal(r.ev[i].kind, 'f');
        final_bytes += r.ev[i].size;
    }
    assert_int_equal(final_bytes, 0x1037);
    assert_int_equal(r.allocs, 6 + 3);          /* mallocs + reallocs */
    assert_int_equal(r.frees, 2 + 3 + 4);       /* frees + reallocs + final blocks */
    assert_int_equal(r.nulls, 0);
    assert_int_equal(r.live, 0);
    assert_int_equal(r.peak, 0x100228);         /* the trace's own peak */
    hl_allocator_destroy(&a);
    hl_trace_free(t);
}

/* after_op: once per op, in order, after that op's events and before the
 * final blocks' frees. */
typedef struct after_rec_s {
    recorder_t r;
    size_t calls, next_i, nev_at[64];
    bool out_of_order;
} after_rec_t;

static void rec_after(void *user, size_t i)
{
    after_rec_t *ar = user;
    if (i != ar->next_i)
        ar->out_of_order = true;
    ar->next_i = i + 1;
    if (ar->calls < 64)
        ar->nev_at[ar->calls] = ar->r.nev;
    ar->calls++;
}

static void after_alloc(void *user, const void *p, size_t n) { rec_alloc(&((after_rec_t *)user)->r, p, n); }
static void after_free(void *user, const void *p, size_t n) { rec_free(&((after_rec_t *)user)->r, p, n); }

static void test_observed_after_op(void **state)
{
    (void)state;
    hl_trace_t *t = parse(small_ok);
    hl_allocator_t a;
    char err[512];
    if (hl_allocator_create("pymalloc", NULL, &a, err, sizeof err) != 0)
        fail_msg("%s", err);
    static after_rec_t ar;
    memset(&ar, 0, sizeof ar);
    ar.r.a = &a;
    hl_replay_observer_t obs = {after_alloc, after_free, &ar, rec_after};
    if (hl_replay_observed(&a, t, &obs, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_string_equal(ar.r.bad, "");
    const hl_trace_info_t *info = hl_trace_info(t);
    assert_int_equal(ar.calls, info->ops);
    assert_false(ar.out_of_order);
    /* Each op adds one event (malloc, free) or two (realloc: free, alloc),
     * and the last call comes before the four final frees. */
    size_t prev = 0;
    for (size_t i = 0; i < ar.calls; i++) {
        size_t step = ar.nev_at[i] - prev;
        if (step != 1 && step != 2)
            fail_msg("op %zu added %zu events", i, step);
        prev = ar.nev_at[i];
    }
    assert_int_equal(ar.nev_at[ar.calls - 1], ar.r.nev - 4);
    hl_allocator_destroy(&a);
    hl_trace_free(t);
}

/* Every allocator sees the same events; cpython in a child (test_every_allocator). */
static void test_observed_every_allocator(void **state)
{
    (void)state;
    hl_trace_t *t = parse(small_ok);
    for (size_t i = 0; i < hl_registry_count(); i++) {
        const char *name = hl_registry_at(i)->name;
        bool child = strcmp(name, "cpython") == 0;
        pid_t pid = 0;
        if (child) {
            fflush(NULL);
            pid = fork();
            assert_true(pid >= 0);
        }
        if (pid == 0) {
            hl_allocator_t a;
            char err[512];
            recorder_t r;
            if (hl_allocator_create(name, NULL, &a, err, sizeof err) != 0)
                fail_msg("%s", err);
            int rc = observe(&a, t, &r, err, sizeof err);
            hl_stats_t st;
            hl_stats(&a, &st);
            hl_allocator_destroy(&a);
            bool ok = rc == 0 && !r.bad[0] && r.nev == 18 && r.live == 0 && r.peak == 0x100228 &&
                      r.allocs == 9 && r.frees == 9 &&
                      (!(st.valid & HL_STAT_LIVE_BLOCKS) || st.live_blocks == 0);
            if (child)
                _exit(ok ? 0 : 1);
            if (!ok)
                fail_msg("%s: rc %d (%s) '%s', %zu events, live %zu, peak %zu, live blocks %zu",
                         name, rc, rc ? err : "", r.bad, r.nev, r.live, r.peak,
                         (st.valid & HL_STAT_LIVE_BLOCKS) ? st.live_blocks : 0);
            continue;
        }
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fail_msg("cpython observed replay failed (status 0x%x)", st);
    }
    hl_trace_free(t);
}

/* A NULL from malloc or realloc ends the pass with an error naming the op and
 * line, and every block the pass made is freed (the broken allocator's own
 * list must be empty before its destroy). */
static void observe_null(int kind, const char *want, size_t want_nulls)
{
    broken_t b = {0};
    b.kind = kind;
    hl_allocator_t a = {&broken_ops, &b, "broken"};
    hl_trace_t *t = parse(small_ok);
    recorder_t r;
    char err[512] = "";
    assert_int_equal(observe(&a, t, &r, err, sizeof err), -1);
    assert_string_equal(err, want);
    assert_string_equal(r.bad, "");
    assert_int_equal(r.nulls, want_nulls);
    assert_null(r.ev[r.nev - 1].p);                 /* the last event is the NULL */
    for (int i = 0; i < 64; i++)
        if (b.blocks[i])
            fail_msg("block %p left live after the failed pass", b.blocks[i]);
    hl_trace_free(t);
}

static void test_observed_null(void **state)
{
    (void)state;
    observe_null(3, "t.mtrace:7: error: broken: op 4 (malloc of 1048576 bytes): malloc "
                    "returned NULL", 1);
    observe_null(4, "t.mtrace:10: error: broken: op 7 (realloc of 4096 bytes): realloc "
                    "returned NULL", 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_report),
        cmocka_unit_test(test_passes_alone),
        cmocka_unit_test(test_every_allocator),
        cmocka_unit_test(test_broken_allocators),
        cmocka_unit_test(test_observed_events),
        cmocka_unit_test(test_observed_after_op),
        cmocka_unit_test(test_observed_every_allocator),
        cmocka_unit_test(test_observed_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
