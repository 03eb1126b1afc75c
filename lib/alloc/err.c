/* err.c: the one error formatter of heaplab's libraries.  Functions that
 * fail report through a caller-provided buffer (char *err, size_t errlen):
 *     return _hl_err(err, errlen, "TRACE:%zu: error: ...", line);
 */
#include "hl_debug.h"

#include <stdarg.h>
#include <stdio.h>

int _hl_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}
