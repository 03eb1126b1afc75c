/* debug_hooks_test.c: the debug hooks' layout, byte patterns and fatal
 * errors, over a small spy allocator built on the C library (so the
 * underlying calls can be watched).  The same checks over every registry
 * allocator and through the domains are in pymem_test.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "death.h"
#include "mem_test_util.h"
#include "heaplab/pymem.h"

/* hl_allocator_destroy lives with the registry; these tests do without. */
static void wrapper_destroy(hl_allocator_t *a) { a->ops->destroy(a->ctx); }

#define S sizeof(size_t)

/* ---------------------------------------------------------------------- */
/* The spy: malloc underneath, remembering what each realloc and free was
 * handed (the first 512 bytes of the block as they were at the call).  In
 * `keep` mode free does not free, so a freed block stays as the hooks left
 * it (children only: it leaks). */

typedef struct spy_s {
    size_t mallocs, callocs, reallocs, frees;
    unsigned char seen[512];
    size_t seen_len;
    bool keep;
} spy_t;

static void spy_see(spy_t *s, const void *p, size_t n)
{
    s->seen_len = n < sizeof s->seen ? n : sizeof s->seen;
    memcpy(s->seen, p, s->seen_len);
}

/* The spy knows each block's size from a malloc_usable_size-free side
 * table: it stores it in front of the block. */
static void *spy_malloc(void *ctx, size_t n)
{
    spy_t *s = ctx;
    s->mallocs++;
    size_t *b = malloc(16 + (n ? n : 1));
    if (!b) return NULL;
    b[0] = n;
    return (char *)b + 16;
}
static void *spy_calloc(void *ctx, size_t nelem, size_t elsize)
{
    spy_t *s = ctx;
    s->callocs++;
    if (elsize && nelem > SIZE_MAX / elsize) return NULL;
    size_t n = nelem * elsize;
    size_t *b = calloc(1, 16 + (n ? n : 1));
    if (!b) return NULL;
    b[0] = n;
    return (char *)b + 16;
}
static size_t spy_size(const void *p) { return ((const size_t *)((const char *)p - 16))[0]; }
static void *spy_realloc(void *ctx, void *p, size_t n)
{
    spy_t *s = ctx;
    s->reallocs++;
    if (!p) return spy_malloc(ctx, n);
    spy_see(s, p, spy_size(p));
    size_t *b = realloc((char *)p - 16, 16 + (n ? n : 1));
    if (!b) return NULL;
    b[0] = n;
    return (char *)b + 16;
}
static void spy_free(void *ctx, void *p)
{
    spy_t *s = ctx;
    if (!p) return;
    s->frees++;
    spy_see(s, p, spy_size(p));
    if (!s->keep)
        free((char *)p - 16);
}
static size_t spy_usable(void *ctx, const void *p) { (void)ctx; return spy_size(p); }
static void spy_stats(void *ctx, hl_stats_t *o) { (void)ctx; *o = (hl_stats_t){0}; }
static bool spy_check(void *ctx, FILE *r) { (void)ctx; (void)r; return true; }
static int spy_print(void *ctx, FILE *o) { (void)ctx; (void)o; return 0; }
static void spy_destroy(void *ctx) { (void)ctx; }

static const hl_allocator_ops_t spy_ops = {
    spy_malloc, spy_calloc, spy_realloc, spy_free, spy_usable,
    spy_stats, spy_check, spy_print, spy_destroy,
};

typedef struct fixture_s {
    spy_t spy;
    hl_allocator_t inner;
    hl_allocator_t dbg;     /* api 'm' */
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->inner = (hl_allocator_t){&spy_ops, &f->spy, "spy"};
    assert_int_equal(hl_debug_hooks_wrap(&f->inner, 'm', &f->dbg), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    wrapper_destroy(&f->dbg);
    free(f);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Layout and patterns */

static void test_malloc_layout(void **state)
{
    fixture_t *f = *state;
    unsigned char *p = hl_malloc(&f->dbg, 40);
    assert_non_null(p);
    const unsigned char *base = p - 2 * S;
    /* big-endian: the size's last byte is the low one */
    static const unsigned char size40[8] = {0, 0, 0, 0, 0, 0, 0, 40};
    assert_memory_equal(base, size40, S);
    assert_int_equal(base[S], 'm');
    hl_test_assert_decorated(p, 40, 'm');
    hl_test_assert_all(p, 40, 0xCD);
    assert_int_equal(spy_size(base), 40 + 3 * S);
    assert_int_equal(hl_usable_size(&f->dbg, p), 40);
    assert_int_equal(HL_PYMEM_DEBUG_EXTRA_BYTES, 24);
    hl_free(&f->dbg, p);
}

static void test_big_endian_size(void **state)
{
    fixture_t *f = *state;
    unsigned char *p = hl_malloc(&f->dbg, 0x1234);
    assert_non_null(p);
    static const unsigned char be[8] = {0, 0, 0, 0, 0, 0, 0x12, 0x34};
    assert_memory_equal(p - 2 * S, be, S);
    hl_test_assert_decorated(p, 0x1234, 'm');
    hl_free(&f->dbg, p);
}

static void test_malloc_zero(void **state)
{
    fixture_t *f = *state;
    unsigned char *p = hl_malloc(&f->dbg, 0);
    assert_non_null(p);
    hl_test_assert_decorated(p, 0, 'm');
    hl_free(&f->dbg, p);
}

static void test_calloc_zeroed(void **state)
{
    fixture_t *f = *state;
    unsigned char *p = hl_calloc(&f->dbg, 10, 7);
    assert_non_null(p);
    assert_int_equal(f->spy.callocs, 1);
    hl_test_assert_decorated(p, 70, 'm');
    hl_test_assert_all(p, 70, 0);
    hl_free(&f->dbg, p);
    assert_null(hl_calloc(&f->dbg, SIZE_MAX / 2, 3));
    assert_null(hl_malloc(&f->dbg, HL_PY_SSIZE_T_MAX - 3 * S + 1));
}

static void test_free_fills_deadbyte(void **state)
{
    fixture_t *f = *state;
    unsigned char *p = hl_malloc(&f->dbg, 100);
    memset(p, 0x11, 100);
    hl_free(&f->dbg, p);
    assert_int_equal(f->spy.frees, 1);
    assert_int_equal(f->spy.seen_len, 100 + 3 * S);
    hl_test_assert_all(f->spy.seen, 100 + 3 * S, 0xDD);
    hl_free(&f->dbg, NULL);   /* no effect */
    assert_int_equal(f->spy.frees, 1);
}

static void fill_pattern(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 7 + 1);
}

static void assert_pattern(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i * 7 + 1))
            fail_msg("data byte %zu lost: 0x%02x", i, p[i]);
}

static void test_realloc_small(void **state)
{
    fixture_t *f = *state;
    unsigned char *p = hl_malloc(&f->dbg, 50);
    fill_pattern(p, 50);
    p = hl_realloc(&f->dbg, p, 90);
    assert_non_null(p);
    hl_test_assert_decorated(p, 90, 'm');
    assert_pattern(p, 50);
    hl_test_assert_all(p + 50, 40, 0xCD);          /* growth is clean */
    /* what the underlying realloc was handed: all of it dead (<= 128) */
    assert_int_equal(f->spy.seen_len, 50 + 3 * S);
    hl_test_assert_all(f->spy.seen, 50 + 3 * S, 0xDD);

    p = hl_realloc(&f->dbg, p, 20);       /* shrink */
    hl_test_assert_decorated(p, 20, 'm');
    assert_pattern(p, 20);
    p = hl_realloc(&f->dbg, p, 0);
    assert_non_null(p);
    hl_test_assert_decorated(p, 0, 'm');
    hl_free(&f->dbg, p);

    p = hl_realloc(&f->dbg, NULL, 33);     /* realloc(NULL) is malloc */
    hl_test_assert_decorated(p, 33, 'm');
    hl_test_assert_all(p, 33, 0xCD);
    hl_free(&f->dbg, p);
}

static void test_realloc_large_erases_2x64(void **state)
{
    fixture_t *f = *state;
    const size_t n = 300;
    unsigned char *p = hl_malloc(&f->dbg, n);
    fill_pattern(p, n);
    p = hl_realloc(&f->dbg, p, 1000);
    assert_non_null(p);
    hl_test_assert_decorated(p, 1000, 'm');
    assert_pattern(p, n);
    hl_test_assert_all(p + n, 1000 - n, 0xCD);
    /* handed to realloc: header + first 64 dead, middle intact, last 64 +
     * trailing pad dead */
    const unsigned char *seen = f->spy.seen;
    assert_int_equal(f->spy.seen_len, n + 3 * S);
    hl_test_assert_all(seen, 2 * S + 64, 0xDD);
    for (size_t i = 64; i < n - 64; i++)
        assert_int_equal(seen[2 * S + i], (unsigned char)(i * 7 + 1));
    hl_test_assert_all(seen + 2 * S + n - 64, 64 + S, 0xDD);

    /* shrink across the erased regions: 100 bytes come back intact */
    p = hl_realloc(&f->dbg, p, 100);
    hl_test_assert_decorated(p, 100, 'm');
    assert_pattern(p, 100);
    hl_free(&f->dbg, p);
}

/* A failing underlying realloc leaves the old block intact and decorated. */
static void *null_realloc(void *ctx, void *p, size_t n) { (void)ctx; (void)p; (void)n; return NULL; }

static void test_realloc_failure_restores(void **state)
{
    fixture_t *f = *state;
    hl_allocator_ops_t ops = spy_ops;
    ops.realloc = null_realloc;
    hl_allocator_t failing = {&ops, &f->spy, "spy-norealloc"}, dbg;
    assert_int_equal(hl_debug_hooks_wrap(&failing, 'o', &dbg), 0);
    unsigned char *p = hl_malloc(&dbg, 200);
    fill_pattern(p, 200);
    assert_null(hl_realloc(&dbg, p, 5000));
    hl_test_assert_decorated(p, 200, 'o');
    assert_pattern(p, 200);
    assert_null(hl_realloc(&dbg, p, HL_PY_SSIZE_T_MAX));   /* too big: untouched */
    hl_test_assert_decorated(p, 200, 'o');
    hl_free(&dbg, p);
    wrapper_destroy(&dbg);
}

static void test_is_ptr_freed(void **state)
{
    (void)state;
    assert_true(hl_pymem_is_ptr_freed(NULL));
    assert_true(hl_pymem_is_ptr_freed((void *)(uintptr_t)0xCDCDCDCDCDCDCDCDu));
    assert_true(hl_pymem_is_ptr_freed((void *)(uintptr_t)0xDDDDDDDDDDDDDDDDu));
    assert_true(hl_pymem_is_ptr_freed((void *)(uintptr_t)0xFDFDFDFDFDFDFDFDu));
    assert_false(hl_pymem_is_ptr_freed((void *)(uintptr_t)0xCDCDCDCDCDCDCDCCu));
    int x;
    assert_false(hl_pymem_is_ptr_freed(&x));
    /* what a pointer read from a freed debug block looks like */
    void *slot[4];
    memset(slot, 0xDD, sizeof slot);
    assert_true(hl_pymem_is_ptr_freed(slot[2]));
}

/* ---------------------------------------------------------------------- */
/* Fatal errors, each in a child */

typedef struct victim_s {
    fixture_t *f;
    unsigned char *p;       /* set by the child: the parent cannot see it */
} victim_t;

static void child_underflow(void *arg)
{
    fixture_t *f = arg;
    unsigned char *p = hl_malloc(&f->dbg, 10);
    hl_death_say_p(p);
    p[-1] = 0x41;
    hl_free(&f->dbg, p);
}

static void test_underflow_dies(void **state)
{
    hl_death_t d;
    assert_int_equal(hl_death_run(child_underflow, *state, &d), 0);
    hl_test_assert_aborted(&d);
    void *p = hl_test_parse_p(&d);
    char want[2048];
    snprintf(want, sizeof want,
             "Debug memory block at address p=%p: API 'm'\n"
             "    10 bytes originally requested\n"
             "    The 7 pad bytes at p-7 are not all FORBIDDENBYTE (0xfd):\n"
             "        at p-7: 0xfd\n"
             "        at p-6: 0xfd\n"
             "        at p-5: 0xfd\n"
             "        at p-4: 0xfd\n"
             "        at p-3: 0xfd\n"
             "        at p-2: 0xfd\n"
             "        at p-1: 0x41 *** OUCH\n"
             "    Because memory is corrupted at the start, the count of bytes requested\n"
             "       may be bogus, and checking the trailing pad bytes may segfault.\n"
             "    The 8 pad bytes at tail=%p are FORBIDDENBYTE, as expected.\n"
             "    Data at p: cd cd cd cd cd cd cd cd cd cd\n"
             "\n"
             "Fatal Python error: _PyMem_DebugRawFree: bad leading pad byte\n",
             p, (void *)((char *)p + 10));
    hl_test_assert_contains(d.err, want);
}

static void child_overflow(void *arg)
{
    fixture_t *f = arg;
    unsigned char *p = hl_malloc(&f->dbg, 40);
    hl_death_say_p(p);
    memset(p, 0x61, 40);
    p[40] = 0x41;
    p[41] = 0x42;
    hl_free(&f->dbg, p);
}

static void test_overflow_dies(void **state)
{
    hl_death_t d;
    assert_int_equal(hl_death_run(child_overflow, *state, &d), 0);
    hl_test_assert_aborted(&d);
    void *p = hl_test_parse_p(&d);
    char want[2048];
    snprintf(want, sizeof want,
             "Debug memory block at address p=%p: API 'm'\n"
             "    40 bytes originally requested\n"
             "    The 7 pad bytes at p-7 are FORBIDDENBYTE, as expected.\n"
             "    The 8 pad bytes at tail=%p are not all FORBIDDENBYTE (0xfd):\n"
             "        at tail+0: 0x41 *** OUCH\n"
             "        at tail+1: 0x42 *** OUCH\n"
             "        at tail+2: 0xfd\n"
             "        at tail+3: 0xfd\n"
             "        at tail+4: 0xfd\n"
             "        at tail+5: 0xfd\n"
             "        at tail+6: 0xfd\n"
             "        at tail+7: 0xfd\n"
             "    Data at p: 61 61 61 61 61 61 61 61 ... 61 61 61 61 61 61 61 61\n"
             "\n"
             "Fatal Python error: _PyMem_DebugRawFree: bad trailing pad byte\n",
             p, (void *)((char *)p + 40));
    hl_test_assert_contains(d.err, want);
}

static void child_overflow_realloc(void *arg)
{
    fixture_t *f = arg;
    unsigned char *p = hl_malloc(&f->dbg, 16);
    hl_death_say_p(p);
    p[16] = 0;
    p = hl_realloc(&f->dbg, p, 32);
}

static void test_overflow_on_realloc_dies(void **state)
{
    hl_death_t d;
    assert_int_equal(hl_death_run(child_overflow_realloc, *state, &d), 0);
    hl_test_assert_aborted(&d);
    void *p = hl_test_parse_p(&d);
    char want[2048];
    snprintf(want, sizeof want,
             "    The 8 pad bytes at tail=%p are not all FORBIDDENBYTE (0xfd):\n"
             "        at tail+0: 0x00 *** OUCH\n"
             "        at tail+1: 0xfd\n",
             (void *)((char *)p + 16));
    hl_test_assert_contains(d.err, want);
    hl_test_assert_contains(d.err, "    Data at p: cd cd cd cd cd cd cd cd cd cd cd cd cd cd cd cd\n\n"
                           "Fatal Python error: _PyMem_DebugRawRealloc: bad trailing pad byte\n");
}

static void child_wrong_api(void *arg)
{
    fixture_t *f = arg;
    hl_allocator_t obj;
    if (hl_debug_hooks_wrap(&f->inner, 'o', &obj) != 0)
        return;
    unsigned char *p = hl_malloc(&obj, 24);
    hl_death_say_p(p);
    hl_free(&f->dbg, p);   /* allocated as 'o', freed as 'm' */
}

static void test_wrong_api_dies(void **state)
{
    hl_death_t d;
    assert_int_equal(hl_death_run(child_wrong_api, *state, &d), 0);
    hl_test_assert_aborted(&d);
    void *p = hl_test_parse_p(&d);
    char want[2048];
    snprintf(want, sizeof want,
             "Debug memory block at address p=%p: API 'o'\n"
             "    24 bytes originally requested\n"
             "    The 7 pad bytes at p-7 are FORBIDDENBYTE, as expected.\n"
             "    The 8 pad bytes at tail=%p are FORBIDDENBYTE, as expected.\n"
             "    Data at p: cd cd cd cd cd cd cd cd ... cd cd cd cd cd cd cd cd\n"
             "\n"
             "Fatal Python error: _PyMem_DebugRawFree: bad ID: Allocated using API 'o', "
             "verified using API 'm'\n",
             p, (void *)((char *)p + 24));
    hl_test_assert_contains(d.err, want);
}

/* Double free where the underlying allocator leaves the freed block alone
 * (the spy in keep mode): every byte is DEADBYTE, so the size reads as
 * 0xDDDDDDDDDDDDDDDD and the tail is wild -- CPython 3.11 segfaults there;
 * heaplab reports it unreadable and goes on to the fatal line. */
static void child_double_free_kept(void *arg)
{
    fixture_t *f = arg;
    f->spy.keep = true;
    unsigned char *p = hl_malloc(&f->dbg, 40);
    hl_death_say_p(p);
    hl_free(&f->dbg, p);
    hl_free(&f->dbg, p);
}

static void test_double_free_dies(void **state)
{
    hl_death_t d;
    assert_int_equal(hl_death_run(child_double_free_kept, *state, &d), 0);
    hl_test_assert_aborted(&d);
    void *p = hl_test_parse_p(&d);
    uintptr_t tail = (uintptr_t)p + (size_t)0xDDDDDDDDDDDDDDDDu;
    char want[2048];
    snprintf(want, sizeof want,
             "Debug memory block at address p=%p: API '\xdd'\n"
             "    15987178197214944733 bytes originally requested\n"
             "    The 7 pad bytes at p-7 are not all FORBIDDENBYTE (0xfd):\n"
             "        at p-7: 0xdd *** OUCH\n"
             "        at p-6: 0xdd *** OUCH\n"
             "        at p-5: 0xdd *** OUCH\n"
             "        at p-4: 0xdd *** OUCH\n"
             "        at p-3: 0xdd *** OUCH\n"
             "        at p-2: 0xdd *** OUCH\n"
             "        at p-1: 0xdd *** OUCH\n"
             "    Because memory is corrupted at the start, the count of bytes requested\n"
             "       may be bogus, and checking the trailing pad bytes may segfault.\n"
             "    The 8 pad bytes at tail=%p are unreadable (CPython 3.11 dies with SIGSEGV here)\n"
             "    Data at p: dd dd dd dd dd dd dd dd ... ?? ?? ?? ?? ?? ?? ?? ??\n"
             "\n"
             "Fatal Python error: _PyMem_DebugRawFree: bad ID: Allocated using API '\xdd', "
             "verified using API 'm'\n",
             p, (void *)tail);
    hl_test_assert_contains(d.err, want);
}

/* Double free over a real allocator (the C library, through the spy): it
 * reuses the start of the freed block (glibc's tcache link and key, ASan's
 * free-context id), so the bytes vary; what is fixed is that the hooks
 * catch it at the API id or the leading pad, never reaching the underlying
 * free twice. */
static void child_double_free_real(void *arg)
{
    fixture_t *f = arg;
    unsigned char *p = hl_malloc(&f->dbg, 40);
    hl_death_say_p(p);
    hl_free(&f->dbg, p);
    hl_free(&f->dbg, p);
}

static void test_double_free_real_dies(void **state)
{
    hl_death_t d;
    assert_int_equal(hl_death_run(child_double_free_real, *state, &d), 0);
    hl_test_assert_aborted(&d);
    void *p = hl_test_parse_p(&d);
    char want[128];
    snprintf(want, sizeof want, "Debug memory block at address p=%p: API '", p);
    hl_test_assert_contains(d.err, want);
    hl_test_assert_contains(d.err, "Fatal Python error: _PyMem_DebugRawFree: bad ");
    assert_true(strstr(d.err, "bad ID: Allocated using API '") != NULL
                || strstr(d.err, "bad leading pad byte") != NULL);
}

static void child_fatal_no_func(void *arg)
{
    (void)arg;
    hl_py_fatal_error_func(NULL, "%s %d", "plain", 42);
}

static void test_fatal_format(void **state)
{
    (void)state;
    hl_death_t d;
    assert_int_equal(hl_death_run(child_fatal_no_func, NULL, &d), 0);
    hl_test_assert_aborted(&d);
    assert_string_equal(d.err, "Fatal Python error: plain 42\n");
}

static void child_dump_null(void *arg)
{
    (void)arg;
    hl_pymem_debug_dump_address(NULL);
}

static void test_dump_null(void **state)
{
    (void)state;
    hl_death_t d;
    assert_int_equal(hl_death_run(child_dump_null, NULL, &d), 0);
    assert_true(d.exited && d.code == 0);
    assert_string_equal(d.err, "Debug memory block at address p=(nil):\n");
}

/* hl_death_run under a signal that interrupts its reads (libFuzzer's
 * -timeout alarm does: debug_hooks_fuzz's child once died of SIGPIPE, its
 * report unread).  The child writes only after several alarms have hit the
 * parent's read; every byte must still arrive and the child exit 0. */
static void on_alarm(int sig)
{
    (void)sig;
}

static void child_late_writer(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 30 * 1000 * 1000};
    nanosleep(&ts, NULL);
    static const char msg[] = "written after the alarms\n";
    (void)!write(2, msg, sizeof msg - 1);
}

static void test_death_run_survives_interrupting_signals(void **state)
{
    (void)state;
    struct sigaction sa, old_sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;        /* no SA_RESTART: reads fail with EINTR */
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGALRM, &sa, &old_sa), 0);
    struct itimerval every_ms = {{0, 1000}, {0, 1000}}, off = {{0, 0}, {0, 0}};
    assert_int_equal(setitimer(ITIMER_REAL, &every_ms, NULL), 0);
    hl_death_t d;
    int rc = hl_death_run(child_late_writer, NULL, &d);
    assert_int_equal(setitimer(ITIMER_REAL, &off, NULL), 0);
    assert_int_equal(sigaction(SIGALRM, &old_sa, NULL), 0);
    assert_int_equal(rc, 0);
    assert_true(d.exited);
    assert_int_equal(d.code, 0);
    assert_string_equal(d.err, "written after the alarms\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_malloc_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_endian_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malloc_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_calloc_zeroed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_fills_deadbyte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_realloc_small, setup, teardown),
        cmocka_unit_test_setup_teardown(test_realloc_large_erases_2x64, setup, teardown),
        cmocka_unit_test_setup_teardown(test_realloc_failure_restores, setup, teardown),
        cmocka_unit_test(test_is_ptr_freed),
        cmocka_unit_test_setup_teardown(test_underflow_dies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overflow_dies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overflow_on_realloc_dies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_api_dies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_double_free_dies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_double_free_real_dies, setup, teardown),
        cmocka_unit_test(test_fatal_format),
        cmocka_unit_test(test_dump_null),
        cmocka_unit_test(test_death_run_survives_interrupting_signals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
