/* read_all.c: a whole input in memory, for the subcommands that run it more
 * than once or index its lines (cli.h). */
#include "cli.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

int hl_cli_read_all(FILE *in, char **text, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *p = malloc(cap);
    if (!p)
        return -1;
    for (;;) {
        if (n == cap) {
            char *q = cap > SIZE_MAX / 2 ? NULL : realloc(p, cap * 2);
            if (!q) {
                free(p);
                errno = ENOMEM;
                return -1;
            }
            p = q;
            cap *= 2;
        }
        size_t got = fread(p + n, 1, cap - n, in);
        n += got;
        if (got == 0) {
            if (ferror(in)) {
                int e = errno;
                free(p);
                errno = e ? e : EIO;
                return -1;
            }
            break;
        }
    }
    *text = p;
    *len = n;
    return 0;
}

