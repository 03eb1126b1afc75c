/* script_fuzz.c: arbitrary bytes into the heap-script interpreter.
 *
 * One input is one script, run by hl_script_run over a fresh runtime on the
 * default allocator (pymalloc), its output and errors captured in memory
 * (open_memstream).  Oracles:
 *   - the exit status is 0 or 2.  3 is the runtime's own leak check firing
 *     (objects or blocks left after the final collection): a finding;
 *   - status 0: nothing on the error stream;
 *   - status 2: the error stream is exactly one line
 *     `fuzz.hs:LINE: error: MESSAGE\n`, MESSAGE non-empty and
 *     1 <= LINE <= max(1, lines in the script);
 *   - no crash, no leak, no memory error (ASan/LSan per input).
 * Inputs over 64 KiB are rejected (-1), so each run stays fast.  A
 * violation prints what broke, the streams and the input, then aborts.
 */
#include "script.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME "fuzz.hs"
#define MAX_INPUT (64u << 10)

__attribute__((noreturn)) static void violation(const uint8_t *data, size_t size, const char *what, int status,
                      const char *out, const char *err)
{
    fprintf(stderr, "script_fuzz: %s (status %d)\n--- out:\n%s--- err:\n%s--- input (%zu bytes):\n",
            what, status, out ? out : "", err ? err : "", size);
    fwrite(data, 1, size < 4096 ? size : 4096, stderr);
    fputc('\n', stderr);
    abort();
}

static size_t count_lines(const uint8_t *data, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < size; i++)
        n += data[i] == '\n';
    return n + (size > 0 && data[size - 1] != '\n');
}

/* `NAME:LINE: error: MESSAGE\n`, nothing else: 0 and *line, or -1. */
static int parse_error(const char *err, size_t len, size_t *line)
{
    size_t k = strlen(NAME ":");
    if (len < k || memcmp(err, NAME ":", k) != 0)
        return -1;
    const char *p = err + k, *end = err + len;
    if (p == end || *p < '1' || *p > '9')
        return -1;
    size_t v = 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        if (v > SIZE_MAX / 10 - 1)
            return -1;
        v = v * 10 + (size_t)(*p - '0');
    }
    if ((size_t)(end - p) < 11 || memcmp(p, ": error: ", 9) != 0 || p[9] == '\n')
        return -1;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl != end - 1)
        return -1;
    *line = v;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return -1;
    char *obuf = NULL, *ebuf = NULL;
    size_t olen = 0, elen = 0;
    FILE *out = open_memstream(&obuf, &olen);
    FILE *err = open_memstream(&ebuf, &elen);
    if (!out || !err)
        abort();
    int status = hl_script_run(NAME, (const char *)data, size, NULL, out, err);
    fclose(out);
    fclose(err);
    size_t line;
    if (status == HL_SCRIPT_OK) {
        if (elen != 0)
            violation(data, size, "status 0 with text on the error stream", status, obuf, ebuf);
    } else if (status == HL_SCRIPT_ERROR) {
        if (memchr(ebuf, '\0', elen) != NULL || parse_error(ebuf, elen, &line) != 0)
            violation(data, size, "error stream is not one `" NAME ":LINE: error: MESSAGE` line",
                      status, obuf, ebuf);
        size_t lines = count_lines(data, size);
        if (line > (lines ? lines : 1))
            violation(data, size, "error LINE past the script's last line", status, obuf, ebuf);
    } else {
        violation(data, size, status == HL_SCRIPT_LEAK ? "leak (status 3)" : "unexpected status",
                  status, obuf, ebuf);
    }
    free(obuf);
    free(ebuf);
    return 0;
}
