/* fatal.c: Py_FatalError's first line, heaplab's way.
 *
 * CPython 3.11's _Py_FatalErrorFunc(func, msg) writes, straight to fd 2,
 *
 *     Fatal Python error: _PyMem_DebugRawFree: bad trailing pad byte
 *     Python runtime state: initialized
 *     <blank line>
 *     Current thread 0x... (most recent call first):
 *       File ...
 *
 * and aborts.  heaplab has no runtime, threads or frames to report, so only
 * the first line is written, byte for byte as CPython does (no func: just
 * "Fatal Python error: MSG").  It never allocates: the allocator that just
 * failed a check may be the caller.
 */
#include "hl_debug.h"
#include "pymem_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void _hl_write_stderr(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

void hl_py_fatal_error_func(const char *func, const char *fmt, ...)
{
    char line[512];
    int len;
    if (func)
        len = snprintf(line, sizeof line, "Fatal Python error: %s: ", func);
    else
        len = snprintf(line, sizeof line, "Fatal Python error: ");
    if (len < 0)
        len = 0;
    if ((size_t)len < sizeof line - 1) {
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + len, sizeof line - 1 - (size_t)len, fmt, ap);
        va_end(ap);
        if (m > 0)
            len += m;
    }
    if ((size_t)len > sizeof line - 2)
        len = (int)sizeof line - 2;
    line[len++] = '\n';
    _hl_write_stderr(line, (size_t)len);
    abort();
}
