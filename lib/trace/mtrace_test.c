/* mtrace_test.c: the mtrace parser: every record form glibc writes, every
 * kind of bad input with its exact message, gzip and stdin input, and the
 * address map under address reuse. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "addr_map.h"
#include "mtrace.h"
#include "trace_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* ---- helpers ---------------------------------------------------------------- */

static hl_trace_t *parse_ok(const char *text)
{
    char err[512] = "";
    hl_trace_t *t = NULL;
    int rc = hl_trace_parse_buffer("t.mtrace", text, strlen(text), &t, err, sizeof err);
    if (rc != 0)
        fail_msg("unexpected parse error: %s", err);
    assert_non_null(t);
    assert_true(_hl_trace_is_valid(t));
    return t;
}

static void expect_error(const char *text, const char *want)
{
    char err[512] = "";
    hl_trace_t *t = (hl_trace_t *)1;
    int rc = hl_trace_parse_buffer("t.mtrace", text, strlen(text), &t, err, sizeof err);
    assert_int_equal(rc, -1);
    assert_null(t);
    assert_string_equal(err, want);
}

static const char *tmpdir(void)
{
    const char *d = getenv("TEST_TMPDIR");
    return d && *d ? d : "/tmp";
}

static void write_gz(const char *path, const char *text, size_t len)
{
    gzFile gz = gzopen(path, "wb9");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, text, (unsigned)len), (int)len);
    assert_int_equal(gzclose(gz), Z_OK);
}

static void write_plain(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* ---- one line ----------------------------------------------------------------- */

static void test_line_forms(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        char event;
        bool caller;
        uint64_t ptr, size;
    } ok[] = {
        {"@ /usr/bin/python3:(PyThread_allocate_lock+2a)[0xf71ba] + 0x242624a0 0x20",
         '+', true, 0x242624a0, 0x20},
        {"@ ./a.out:(main+0x1f)[0x1149] + 0x5000 0x10", '+', true, 0x5000, 0x10},
        {"@ ./a.out:(main-1f)[0x1149] - 0x5000", '-', true, 0x5000, 0},
        {"@ ./a.out:(+1f)[0x1149] - 0x5000", '-', true, 0x5000, 0},
        {"@ (sym+10)[0x1149] - 0x5000", '-', true, 0x5000, 0},
        {"@ /lib/x86_64-linux-gnu/libc.so.6:[0x38896] < 0x24263d90", '<', true, 0x24263d90, 0},
        {"@ /lib/x86_64-linux-gnu/libc.so.6:[0x38896] > 0x24263d90 0x800", '>', true,
         0x24263d90, 0x800},
        {"@ [0x7f3a2c1b2e10] ! 0x5000 0xffffffffffff", '!', true, 0x5000, 0xffffffffffffull},
        {"@ [0x7f3a2c1b2e10] + (nil) 0x7fffffffffffffff", '+', true, 0, 0x7fffffffffffffffull},
        {"@ [0x1] + 0x5000 0", '+', true, 0x5000, 0},
        {"+ 0x5000 0x10", '+', false, 0x5000, 0x10},
        {"- 0x5000", '-', false, 0x5000, 0},
        {"- (nil)", '-', false, 0, 0},
        {"@ /path with space/lib.so:[0x10] + 0xABCDEF 0X1F", '+', true, 0xabcdef, 0x1f},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        hl_mtrace_line_t kind;
        hl_mtrace_record_t r;
        char msg[256] = "";
        int rc = _hl_mtrace_parse_line(ok[i].line, strlen(ok[i].line), &kind, &r, msg, sizeof msg);
        if (rc != 0)
            fail_msg("'%s': %s", ok[i].line, msg);
        assert_int_equal(kind, HL_MTRACE_RECORD);
        assert_int_equal(r.event, ok[i].event);
        assert_int_equal(r.has_caller, ok[i].caller);
        assert_int_equal(r.ptr, ok[i].ptr);
        assert_int_equal(r.size, ok[i].size);
    }
    hl_mtrace_line_t kind;
    hl_mtrace_record_t r;
    assert_int_equal(_hl_mtrace_parse_line("= Start", 7, &kind, &r, NULL, 0), 0);
    assert_int_equal(kind, HL_MTRACE_START);
    assert_int_equal(_hl_mtrace_parse_line("= End", 5, &kind, &r, NULL, 0), 0);
    assert_int_equal(kind, HL_MTRACE_END);
    assert_int_equal(_hl_mtrace_parse_line("", 0, &kind, &r, NULL, 0), 0);
    assert_int_equal(kind, HL_MTRACE_BLANK);
}

static void test_line_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "@ ", "@ [0x1]", "@ [1] + 0x10 0x8", "@ [0x] + 0x10 0x8", "@ foo:0x1] + 0x10 0x8",
        "@ f:(sym)[0x1] + 0x10 0x8", "@ f:(sym+xyz)[0x1] + 0x10 0x8", "@ f(s+1)[0x1] + 0x10 0x8",
        "+", "+ ", "+ 0x10", "+ 0x10 ", "+ 0x10 0x", "+ 0x10 16", "+ 0x10 0x8 0x9",
        "+  0x10 0x8", "+ 0x10  0x8", "-0x10", "- 0x10 ", "- 0xg", "- 0x11111111111111111",
        "< (nil)", "> (nil) 0x8", "? 0x10", "=Start", "= start", "= Start ", "@[0x1] - 0x10",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hl_mtrace_line_t kind;
        hl_mtrace_record_t r;
        char msg[256] = "";
        if (_hl_mtrace_parse_line(bad[i], strlen(bad[i]), &kind, &r, msg, sizeof msg) == 0)
            fail_msg("'%s' parsed", bad[i]);
        assert_true(msg[0] != '\0');
    }
}

/* ---- whole traces --------------------------------------------------------------- */

static const char every_form[] =
    "= Start\n"
    "@ /usr/bin/python3:(PyThread_allocate_lock+2a)[0xf71ba] + 0x1000 0x20\n"
    "@ /lib/x86_64-linux-gnu/libc.so.6:[0x38896] + 0x2000 0\n"
    "@ [0x7f3a2c1b2e10] + 0x3000 0x100\n"
    "+ 0x4000 0x8\n"
    "@ ./a.out:(main-10)[0x1149] < 0x3000\n"
    "@ ./a.out:(main-10)[0x1149] > 0x5000 0x200\n"
    "@ a:(+1f)[0x1] ! 0x5000 0x7fffffffffff\n"
    "@ [0x1] + (nil) 0xffffffffffff\n"
    "@ [0x1] - 0x2000\n"
    "- (nil)\n"
    "< 0x4000\n"
    "> 0x4000 0x18\n"
    "= End\n";

static void test_every_form(void **state)
{
    (void)state;
    hl_trace_t *t = parse_ok(every_form);
    const hl_trace_info_t *in = hl_trace_info(t);
    assert_string_equal(in->name, "t.mtrace");
    assert_int_equal(in->lines, 14);
    assert_int_equal(in->ops, 7);
    assert_int_equal(in->mallocs, 4);
    assert_int_equal(in->frees, 1);
    assert_int_equal(in->reallocs, 2);
    assert_int_equal(in->failed, 2);
    assert_int_equal(in->slots, 4);
    assert_int_equal(in->peak_live_bytes, 0x20 + 0x200 + 0x18);
    assert_int_equal(in->peak_op, 7);   /* the last realloc, 8 -> 0x18 bytes */
    assert_int_equal(in->final_live_blocks, 3);
    assert_int_equal(in->final_live_bytes, 0x20 + 0x200 + 0x18);
    assert_true(in->has_end);

    const hl_trace_op_t *ops = hl_trace_ops(t);
    static const struct { unsigned kind; uint64_t size; uint32_t line; } want[] = {
        {HL_OP_MALLOC, 0x20, 2}, {HL_OP_MALLOC, 0, 3}, {HL_OP_MALLOC, 0x100, 4},
        {HL_OP_MALLOC, 8, 5}, {HL_OP_REALLOC, 0x200, 6}, {HL_OP_FREE, 0, 10},
        {HL_OP_REALLOC, 0x18, 12},
    };
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(hl_op_kind(&ops[i]), want[i].kind);
        assert_int_equal(ops[i].size, want[i].size);
        assert_int_equal(hl_op_line(&ops[i]), want[i].line);
    }
    assert_int_equal(ops[4].slot, ops[2].slot);   /* realloc keeps the slot */
    assert_int_equal(ops[5].slot, ops[1].slot);
    assert_int_equal(ops[6].slot, ops[3].slot);
    hl_trace_free(t);

    /* No "= End", blank lines skipped. */
    t = parse_ok("= Start\n\n+ 0x10 0x8\n\n");
    assert_false(hl_trace_info(t)->has_end);
    assert_int_equal(hl_trace_info(t)->ops, 1);
    hl_trace_free(t);
}

static void test_address_reuse(void **state)
{
    (void)state;
    /* The same address allocated and freed over and over, with a second
     * block alive throughout: two slots, however long the trace. */
    size_t cap = 1 << 20, n = 0;
    char *text = malloc(cap);
    n += (size_t)snprintf(text + n, cap - n, "= Start\n+ 0x9000 0x40\n");
    for (int i = 0; i < 5000; i++)
        n += (size_t)snprintf(text + n, cap - n, "+ 0x1000 0x%x\n- 0x1000\n", i + 1);
    n += (size_t)snprintf(text + n, cap - n, "- 0x9000\n");
    hl_trace_t *t = parse_ok(text);
    assert_int_equal(hl_trace_info(t)->slots, 2);
    assert_int_equal(hl_trace_info(t)->ops, 10002);
    assert_int_equal(hl_trace_info(t)->peak_live_bytes, 0x40 + 5000);
    assert_int_equal(hl_trace_info(t)->peak_op, 1 + 2 * 4999 + 1);   /* the last malloc */
    assert_int_equal(hl_trace_info(t)->final_live_blocks, 0);
    hl_trace_free(t);

    /* Many live blocks at once: the map grows, slots are all distinct. */
    n = 0;
    n += (size_t)snprintf(text + n, cap - n, "= Start\n");
    for (int i = 0; i < 20000; i++)
        n += (size_t)snprintf(text + n, cap - n, "+ 0x%x 0x10\n", 0x10000 + 16 * i);
    for (int i = 0; i < 20000; i += 2)
        n += (size_t)snprintf(text + n, cap - n, "- 0x%x\n", 0x10000 + 16 * i);
    t = parse_ok(text);
    assert_int_equal(hl_trace_info(t)->slots, 20000);
    assert_int_equal(hl_trace_info(t)->final_live_blocks, 10000);
    assert_int_equal(hl_trace_info(t)->final_live_bytes, 10000 * 16);
    hl_trace_free(t);
    free(text);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct { const char *text, *err; } cases[] = {
        {"", "t.mtrace:1: error: empty trace (expected '= Start')"},
        {"\n\n", "t.mtrace:1: error: empty trace (expected '= Start')"},
        {"@ [0x1] + 0x10 0x8\n",
         "t.mtrace:1: error: missing '= Start' (is this an mtrace trace?)"},
        {"= Start\n= Start\n", "t.mtrace:2: error: second '= Start'"},
        {"= Start\n@ [0x1] - 0x10\n", "t.mtrace:2: error: free of 0x10, which is not live"},
        {"= Start\n+ 0x10 0x8\n- 0x10\n- 0x10\n",
         "t.mtrace:4: error: free of 0x10, which is not live"},
        {"= Start\n@ [0x1] < 0x10\n", "t.mtrace:2: error: realloc of 0x10, which is not live"},
        {"= Start\n! 0x10 0x100\n", "t.mtrace:2: error: failed realloc of 0x10, which is not live"},
        {"= Start\n+ 0x10 0x8\n@ [0x1] < 0x10\n",
         "t.mtrace:3: error: trace ends after '< 0x10' without its '> NEW SIZE'"},
        {"= Start\n+ 0x10 0x8\n< 0x10\n= End\n",
         "t.mtrace:4: error: expected '> NEW SIZE' after '< 0x10' on line 3"},
        {"= Start\n+ 0x10 0x8\n< 0x10\n- 0x10\n",
         "t.mtrace:4: error: expected '> NEW SIZE' after '< 0x10' on line 3"},
        {"= Start\n+ 0x10 0x8\n< 0x10\n< 0x10\n",
         "t.mtrace:4: error: expected '> NEW SIZE' after '< 0x10' on line 3"},
        {"= Start\n> 0x10 0x8\n", "t.mtrace:2: error: '> 0x10' without a '< OLD' before it"},
        {"= Start\n+ 0x10 0x8\n+ 0x10 0x8\n",
         "t.mtrace:3: error: malloc returned 0x10, which is already live (allocated on line 2)"},
        {"= Start\n+ 0x10 0x8\n+ 0x20 0x8\n< 0x10\n> 0x20 0x10\n",
         "t.mtrace:5: error: realloc returned 0x20, which is already live (allocated on line 3)"},
        {"= Start\n+ 0x10 0x",
         "t.mtrace:2: error: line cut short (no newline at the end of the trace: truncated?)"},
        {"= Start\n+ 0x10 0x8",
         "t.mtrace:2: error: line cut short (no newline at the end of the trace: truncated?)"},
        {"= Start\n@ foo + 0x10 0x8\n",
         "t.mtrace:2: error: malformed caller 'foo + 0x10 0x8' (expected FILE:(SYM+OFF)[0xADDR], "
         "FILE:[0xADDR] or [0xADDR])"},
        {"= Start\n* 0x10\n",
         "t.mtrace:2: error: unknown event '*' (expected + - < > or !)"},
        {"= Start\n+ 0x10\n", "t.mtrace:2: error: missing size in '+' record"},
        {"= Start\n+ 10 0x8\n",
         "t.mtrace:2: error: malformed address '10' in '+' record (expected 0xHEX or (nil))"},
        {"= Start\n+ 0x10 8\n",
         "t.mtrace:2: error: malformed size '8' in '+' record (expected 0xHEX)"},
        {"= Start\n+ 0x10 0x8\n- 0x10 junk\n",
         "t.mtrace:3: error: unexpected text after the '-' record: ' junk'"},
        {"= Start\n+0x10 0x8\n",
         "t.mtrace:2: error: malformed '+' record: expected a space after '+'"},
        {"= Start\n= End\n+ 0x10 0x8\n", "t.mtrace:3: error: text after '= End'"},
        {"= Start\n= Bogus\n",
         "t.mtrace:2: error: unknown line '= Bogus' (expected '= Start' or '= End')"},
        {"= Start\n< (nil)\n", "t.mtrace:2: error: '<' record with a NULL address"},
        {"= Start\n+ 0x10 0x8\n- 0x1000000000000000000000000000000000000000000000000000000\n",
         "t.mtrace:3: error: malformed address '0x10000000000000000000000000000000000000...' "
         "in '-' record (expected 0xHEX or (nil))"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_error(cases[i].text, cases[i].err);
}

/* ---- files: gzip, plain, stdin, missing --------------------------------------------- */

static void test_files(void **state)
{
    (void)state;
    char gz[512], plain[512], cut[512], err[512];
    snprintf(gz, sizeof gz, "%s/every.mtrace.gz", tmpdir());
    snprintf(plain, sizeof plain, "%s/every.mtrace", tmpdir());
    snprintf(cut, sizeof cut, "%s/cut.mtrace.gz", tmpdir());
    write_gz(gz, every_form, strlen(every_form));
    write_plain(plain, every_form, strlen(every_form));

    const char *paths[] = {gz, plain};
    for (int i = 0; i < 2; i++) {
        hl_trace_t *t;
        if (hl_trace_load(paths[i], &t, err, sizeof err) != 0)
            fail_msg("%s", err);
        assert_string_equal(hl_trace_info(t)->name, paths[i]);
        assert_int_equal(hl_trace_info(t)->ops, 7);
        assert_int_equal(hl_trace_info(t)->peak_live_bytes, 0x238);
        assert_true(_hl_trace_is_valid(t));
        hl_trace_free(t);
    }

    /* A gzip stream cut in the middle. */
    {
        size_t big = 200000, n = 0;
        char *text = malloc(big + 64);
        n += (size_t)snprintf(text, big, "= Start\n");
        for (int i = 0; n + 40 < big; i++)
            n += (size_t)snprintf(text + n, big - n, "+ 0x%x 0x%x\n- 0x%x\n", 0x1000 + i * 16,
                                  i % 999 + 1, 0x1000 + i * 16);
        write_gz(cut, text, n);
        free(text);
        FILE *f = fopen(cut, "rb");
        assert_non_null(f);
        static char buf[1 << 20];
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        write_plain(cut, buf, len / 2);
        hl_trace_t *t = (hl_trace_t *)1;
        assert_int_equal(hl_trace_load(cut, &t, err, sizeof err), -1);
        assert_null(t);
        char want[600];
        snprintf(want, sizeof want, "%s:", cut);
        assert_memory_equal(err, want, strlen(want));
        assert_non_null(strstr(err, ": error: "));
        assert_true(strstr(err, "unexpected end of file") || strstr(err, "line cut short"));
    }

    /* Missing file, binary file. */
    char missing[512];
    snprintf(missing, sizeof missing, "%s/no-such.mtrace", tmpdir());
    hl_trace_t *t;
    assert_int_equal(hl_trace_load(missing, &t, err, sizeof err), -1);
    char want[700];
    snprintf(want, sizeof want, "%s: error: cannot open: No such file or directory", missing);
    assert_string_equal(err, want);

    static const char nul[] = "= Start\n+ 0x10\0 0x8\n";
    write_plain(plain, nul, sizeof nul - 1);
    assert_int_equal(hl_trace_load(plain, &t, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:2: error: NUL byte in the trace (binary file?)", plain);
    assert_string_equal(err, want);
}

static void test_stdin(void **state)
{
    (void)state;
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/stdin.mtrace.gz", tmpdir());
    static const char bad[] = "= Start\n+ 0x10 0x8\n- 0x20\n";
    write_gz(path, every_form, strlen(every_form));

    int saved = dup(0);
    assert_true(saved >= 0);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(dup2(fd, 0), 0);
    close(fd);
    hl_trace_t *t;
    if (hl_trace_load("-", &t, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_string_equal(hl_trace_info(t)->name, "<stdin>");
    assert_int_equal(hl_trace_info(t)->ops, 7);
    hl_trace_free(t);

    write_plain(path, bad, sizeof bad - 1);
    fd = open(path, O_RDONLY);
    assert_int_equal(dup2(fd, 0), 0);
    close(fd);
    assert_int_equal(hl_trace_load("-", &t, err, sizeof err), -1);
    assert_string_equal(err, "<stdin>:3: error: free of 0x20, which is not live");
    assert_int_equal(dup2(saved, 0), 0);
    close(saved);
}

/* ---- the address map -------------------------------------------------------------- */

static void test_addr_map(void **state)
{
    (void)state;
    hl_addr_map_t m;
    assert_int_equal(_hl_addr_map_init(&m), 0);
    enum { N = 30000 };
    static uint64_t keys[N];
    static bool in[N];
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < N; i++)
        keys[i] = 0x10000 + 16 * (i % 5000) + ((uint64_t)(i / 5000) << 32);
    for (int round = 0; round < 200000; round++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        size_t k = (size_t)(x % N);
        hl_addr_entry_t *e = _hl_addr_map_find(&m, keys[k]);
        assert_int_equal(e != NULL, in[k]);
        if (e) {
            assert_int_equal(e->slot, (uint32_t)k);
            _hl_addr_map_remove(&m, e);
            in[k] = false;
        } else {
            assert_int_equal(_hl_addr_map_insert(&m, keys[k], (uint32_t)k, 1), 0);
            in[k] = true;
        }
        if (round % 20000 == 0)
            assert_true(_hl_addr_map_is_valid(&m));
    }
    assert_true(_hl_addr_map_is_valid(&m));
    _hl_addr_map_release(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_forms),
        cmocka_unit_test(test_line_malformed),
        cmocka_unit_test(test_every_form),
        cmocka_unit_test(test_address_reuse),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_stdin),
        cmocka_unit_test(test_addr_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
