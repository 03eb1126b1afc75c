/* assert.c: the one place a failed heaplab assert lands.  It must not
 * allocate: the allocator being checked may be the broken one. */
#include "hl_debug.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void put(const char *s) { (void)!write(2, s, strlen(s)); }

void _hl_assert_fail(const char *expr, const char *file, int line, const char *func)
{
    char num[16];
    int i = (int)sizeof num - 1;
    num[i] = '\0';
    unsigned v = (unsigned)line;
    do { num[--i] = (char)('0' + v % 10); v /= 10; } while (v && i > 0);
    put(file); put(":"); put(num + i); put(": "); put(func);
    put(": heaplab assertion failed: "); put(expr); put("\n");
    abort();
}
