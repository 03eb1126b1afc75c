/* script_garbage_test.c: garbage into the heap-script interpreter.
 *
 * Two generators with fixed seeds, so every run feeds the same inputs:
 *
 *   bytes  random bytes, biased towards the ones the lexer cares about
 *          (' ', '\t', '\n', '\r', '#', '-', digits, NUL, >= 0x80);
 *   soup   random lines of real statement words and operands drawn from
 *          small pools (a few names, keys, INTs at and past the limits,
 *          bad tokens now and then), so scripts get past the lexer and
 *          build, mutate and drop object graphs -- cycles included -- with
 *          the collector on or off.
 *
 * Only the exit status is checked: 0 or 2.  A crash, a hang, status 3 (a
 * leak the runtime's accounting sees) or, under --config=asan, a leak or
 * memory error fails the test.  This is the seed of the fuzz target.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script.h"

/* xorshift64*: small, and the same sequence everywhere. */
static uint64_t rng_state;

static void rng_seed(uint64_t seed)
{
    rng_state = seed * 0x9E3779B97F4A7C15u + 1;
}

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Du;
}

static size_t pick(size_t n)
{
    return (size_t)(rng() % n);
}

typedef struct buf_s {
    char *p;
    size_t len, cap;
} buf_t;

static void put(buf_t *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void puts_(buf_t *b, const char *s)
{
    put(b, s, strlen(s));
}

static FILE *devnull;

static int run(const buf_t *b, const char *allocator)
{
    hl_script_options_t opt = {.allocator = allocator};
    int status = hl_script_run("garbage.hs", b->p, b->len, &opt, devnull, devnull);
    if (status != HL_SCRIPT_OK && status != HL_SCRIPT_ERROR) {
        fprintf(stderr, "status %d for this script:\n", status);
        fwrite(b->p, 1, b->len, stderr);
        fprintf(stderr, "\n--- rerun with its output:\n");
        hl_script_run("garbage.hs", b->p, b->len, &opt, stdout, stderr);
    }
    return status;
}

static void test_random_bytes(void **state)
{
    static const char special[] = " \t\n\r#-0123456789\0\xff\x80_aZ";
    buf_t b = {0};
    for (uint64_t seed = 1; seed <= 400; seed++) {
        rng_seed(seed);
        b.len = 0;
        size_t n = pick(seed % 10 == 0 ? 20000 : 600);
        for (size_t i = 0; i < n; i++) {
            char c = pick(3) == 0 ? special[pick(sizeof special - 1)] : (char)pick(256);
            put(&b, &c, 1);
        }
        int status = run(&b, NULL);
        assert_true(status == HL_SCRIPT_OK || status == HL_SCRIPT_ERROR);
    }
    free(b.p);
}

/* Each statement word with its operands: N NAME, K KEY, T TEXT, I INT;
 * '?' makes the one before optional, '*' repeats it 0..5 times. */
static const struct {
    const char *word, *operands;
} statements[] = {
    {"list", "N"}, {"dict", "N"}, {"tuple", "NN*"}, {"str", "NT?"}, {"int", "NI"},
    {"alias", "NN"}, {"append", "NN"}, {"setitem", "NKN"}, {"delitem", "NK"},
    {"pop", "NI?"}, {"clear", "N"}, {"drop", "N"}, {"collect", "I?"}, {"tracked", "N"},
    {"sizeof", "N"}, {"count", ""}, {"enable", ""}, {"disable", ""},
    {"threshold", "II?I?"},
};
static const char *const names[] = {"a", "b", "c", "d", "e", "_f", "g1"};
static const char *const keys[] = {"k", "j", "0", "key_1"};
static const char *const ints[] = {
    "0", "1", "2", "3", "-1", "-2", "5", "100", "-7", "9223372036854775807",
    "-9223372036854775808", "9223372036854775808", "2147483648", "-2147483649", "007",
};
static const char *const junk[] = {"1a", "a-b", "\r", "", "\xff", "a\tb", "#", "x x"};

#define PICK(arr) (arr)[pick(sizeof(arr) / sizeof((arr)[0]))]

static void operand(buf_t *b, char kind)
{
    puts_(b, pick(2) ? " " : "\t");
    if (pick(60) == 0)
        puts_(b, PICK(junk));
    else if (kind == 'N')
        puts_(b, PICK(names));
    else if (kind == 'K' || kind == 'T')
        puts_(b, PICK(keys));
    else
        puts_(b, pick(3) ? ints[pick(8)] : PICK(ints));   /* mostly small */
}

static void soup_line(buf_t *b)
{
    size_t s = pick(sizeof statements / sizeof statements[0]);
    puts_(b, pick(60) == 0 ? PICK(junk) : statements[s].word);
    if (pick(12) == 0) {
        /* any number of any operands */
        for (size_t i = pick(5); i > 0; i--)
            operand(b, "NKI"[pick(3)]);
    } else {
        for (const char *o = statements[s].operands; *o; o++) {
            if (o[1] == '?') {
                if (pick(2))
                    operand(b, *o);
                o++;
            } else if (o[1] == '*') {
                for (size_t i = pick(6); i > 0; i--)
                    operand(b, *o);
                o++;
            } else {
                operand(b, *o);
            }
        }
    }
    if (pick(10) == 0)
        puts_(b, pick(2) ? "  # comment" : "\t");
    puts_(b, "\n");
}

/* A model of the script's names, so most generated statements are valid
 * and soups get deep: what each name is bound to, a list's length, which
 * keys a dict holds. */
enum { UNBOUND, LIST, DICT, OTHER };
#define NNAMES (sizeof names / sizeof names[0])
#define NKEYS (sizeof keys / sizeof keys[0])

typedef struct model_s {
    int kind[NNAMES];
    size_t len[NNAMES];       /* LIST: items */
    unsigned keys[NNAMES];    /* DICT: bit k = keys[k] present */
} model_t;

static size_t pick_kind(const model_t *m, int kind)
{
    size_t found[NNAMES], n = 0;
    for (size_t i = 0; i < NNAMES; i++)
        if (m->kind[i] == kind || (kind < 0 && m->kind[i] != UNBOUND))
            found[n++] = i;
    return n ? found[pick(n)] : SIZE_MAX;
}

static void line(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(buf_t *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    puts_(b, tmp);
    puts_(b, "\n");
}

/* One valid statement, or 0 if the model offers none of the kind chosen. */
static int valid_line(buf_t *b, model_t *m)
{
    size_t n = pick(NNAMES), any = pick_kind(m, -1), l = pick_kind(m, LIST),
           d = pick_kind(m, DICT);
    size_t k = pick(NKEYS);
    switch (pick(16)) {
    case 0: case 1:
        line(b, "list %s", names[n]);
        m->kind[n] = LIST;
        m->len[n] = 0;
        return 1;
    case 2:
        line(b, "dict %s", names[n]);
        m->kind[n] = DICT;
        m->keys[n] = 0;
        return 1;
    case 3:
        if (any == SIZE_MAX)
            return 0;
        if (pick(2)) {
            line(b, "tuple %s %s", names[n], names[any]);
            m->kind[n] = OTHER;
        } else {
            line(b, "alias %s %s", names[n], names[any]);
            m->kind[n] = m->kind[any];
            m->len[n] = m->len[any];
            m->keys[n] = m->keys[any];
            /* The two names now share one object the model tracks twice:
             * good enough, the model only has to be mostly right. */
        }
        return 1;
    case 4:
        line(b, pick(2) ? "str %s" : "int %s 123456789", names[n]);
        m->kind[n] = OTHER;
        return 1;
    case 5: case 6: case 7:
        if (l == SIZE_MAX || any == SIZE_MAX)
            return 0;
        line(b, "append %s %s", names[l], names[any]);
        m->len[l]++;
        return 1;
    case 8: case 9:
        if (d == SIZE_MAX || any == SIZE_MAX)
            return 0;
        line(b, "setitem %s %s %s", names[d], keys[k], names[any]);
        m->keys[d] |= 1u << k;
        return 1;
    case 10:
        if (d == SIZE_MAX || !(m->keys[d] & (1u << k)))
            return 0;
        line(b, "delitem %s %s", names[d], keys[k]);
        m->keys[d] &= ~(1u << k);
        return 1;
    case 11:
        if (l == SIZE_MAX || m->len[l] == 0)
            return 0;
        line(b, pick(2) ? "pop %s" : "pop %s 0", names[l]);
        m->len[l]--;
        return 1;
    case 12:
        if (any == SIZE_MAX)
            return 0;
        line(b, "drop %s", names[any]);
        m->kind[any] = UNBOUND;
        return 1;
    case 13:
        line(b, "collect %d", (int)pick(3));
        return 1;
    case 14:
        if (any == SIZE_MAX)
            return 0;
        line(b, pick(2) ? "tracked %s" : "sizeof %s", names[any]);
        return 1;
    default:
        switch (pick(5)) {
        case 0: line(b, "count"); break;
        case 1: line(b, "enable"); break;
        case 2: line(b, "disable"); break;
        case 3: line(b, "threshold %d %d", (int)pick(5), (int)pick(3)); break;
        default:
            if (l == SIZE_MAX)
                return 0;
            line(b, "clear %s", names[l]);
            m->len[l] = 0;
        }
        return 1;
    }
}

static void test_statement_soup(void **state)
{
    static const char *const allocators[] = {NULL, "pymalloc-classic", "malloc"};
    buf_t b = {0};
    size_t statuses[4] = {0};
    for (uint64_t seed = 1; seed <= 600; seed++) {
        rng_seed(seed);
        b.len = 0;
        model_t m = {{0}};
        /* One soup in three is free-form: mostly errors, early. */
        bool modelled = seed % 3 != 0;
        size_t lines = 1 + pick(seed % 20 == 0 ? 3000 : 120);
        for (size_t i = 0; i < lines; i++) {
            if (!modelled || pick(400) == 0)
                soup_line(&b);
            else
                while (!valid_line(&b, &m))
                    ;
        }
        int status = run(&b, allocators[seed % 3]);
        assert_true(status == HL_SCRIPT_OK || status == HL_SCRIPT_ERROR);
        statuses[status]++;
    }
    print_message("soup: %zu ran to the end, %zu stopped at an error\n", statuses[0],
                  statuses[2]);
    free(b.p);
}

int main(void)
{
    devnull = fopen("/dev/null", "w");
    if (!devnull)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_statement_soup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    fclose(devnull);
    return rc;
}
