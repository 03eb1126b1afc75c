/* mem_test_util.c: see mem_test_util.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <string.h>

#include "mem_test_util.h"

#define S sizeof(size_t)

size_t hl_test_be_size(const unsigned char *b)
{
    size_t r = 0;
    for (size_t i = 0; i < S; i++)
        r = (r << 8) | b[i];
    return r;
}

void hl_test_assert_all(const unsigned char *p, size_t n, unsigned char v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            fail_msg("byte %zu is 0x%02x, expected 0x%02x", i, p[i], v);
}

void hl_test_assert_decorated(const unsigned char *p, size_t n, char api)
{
    const unsigned char *base = p - 2 * S;
    assert_int_equal(hl_test_be_size(base), n);
    assert_int_equal(base[S], (unsigned char)api);
    hl_test_assert_all(base + S + 1, S - 1, 0xFD);
    hl_test_assert_all(p + n, S, 0xFD);
}

void hl_test_assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected to find\n----\n%s\n----\nin the child's stderr:\n----\n%s----",
                 needle, hay);
}

void hl_test_assert_aborted(const hl_death_t *d)
{
    if (!d->signaled || d->sig != SIGABRT)
        fail_msg("child did not die by SIGABRT (exited=%d code=%d signaled=%d sig=%d); "
                 "stderr:\n%s", d->exited, d->code, d->signaled, d->sig, d->err);
}

void *hl_test_parse_p(const hl_death_t *d)
{
    void *p = hl_death_parse_p(d);
    assert_non_null(p);
    return p;
}
