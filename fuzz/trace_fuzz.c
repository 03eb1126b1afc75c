/* trace_fuzz.c: arbitrary bytes into the mtrace parser.
 *
 * One input is one trace text, parsed with hl_trace_parse_buffer.  Oracles:
 *   - failure leaves *out NULL and err one line, no newline, of the form
 *     `fuzz.mtrace:LINE: error: MESSAGE` with MESSAGE non-empty and
 *     1 <= LINE <= max(1, lines in the input) (heaplab/trace.h's contract);
 *   - success gives a trace that satisfies trace_internal.h's invariants
 *     (_hl_trace_is_valid), whose info agrees with the input (lines read
 *     within the input's count, slots <= ops), and which replays into a
 *     fresh `pymalloc` (hl_replay_verify: every byte of every block checked,
 *     hl_check() every 64 ops and at the end) without an error.  Traces
 *     with a block over 1 MiB or over 16 MiB live are parsed but not
 *     replayed: such sizes are the fuzzer's, and NULL is a fair answer;
 *   - no leak, no memory error (ASan/LSan, per input under libFuzzer).
 * A violation prints what broke and the input, then aborts.
 */
#include "heaplab/allocator.h"
#include "heaplab/trace.h"
#include "trace_internal.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME "fuzz.mtrace"
#define MAX_INPUT (64u << 10)
#define MAX_REPLAY_BLOCK ((uint64_t)1 << 20)
#define MAX_REPLAY_BYTES ((size_t)16 << 20)

__attribute__((noreturn)) static void violation(const uint8_t *data, size_t size, const char *what, const char *detail)
{
    fprintf(stderr, "trace_fuzz: %s%s%s\ninput (%zu bytes):\n", what,
            detail ? ": " : "", detail ? detail : "", size);
    fwrite(data, 1, size < 2048 ? size : 2048, stderr);
    fputc('\n', stderr);
    abort();
}

/* Lines in the input as the parser counts them: a last line without its
 * newline still counts. */
static size_t count_lines(const uint8_t *data, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < size; i++)
        n += data[i] == '\n';
    return n + (size > 0 && data[size - 1] != '\n');
}

/* `NAME:LINE: error: MESSAGE`; 0 and *line, or -1. */
static int parse_error(const char *err, size_t *line)
{
    size_t k = strlen(NAME ":");
    if (strncmp(err, NAME ":", k) != 0)
        return -1;
    const char *p = err + k;
    if (*p < '1' || *p > '9')
        return -1;
    size_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > SIZE_MAX / 10 - 1)
            return -1;
        v = v * 10 + (size_t)(*p - '0');
    }
    if (strncmp(p, ": error: ", 9) != 0 || p[9] == '\0' || strchr(p, '\n') != NULL)
        return -1;
    *line = v;
    return 0;
}

static void replay(const uint8_t *data, size_t size, const hl_trace_t *t)
{
    char err[1024];
    hl_allocator_t a;
    if (hl_allocator_create("pymalloc", NULL, &a, err, sizeof err) != 0)
        violation(data, size, "cannot create pymalloc", err);
    hl_replay_options_t ropt = {.verify = true, .check_every = 64};
    hl_replay_report_t rep;
    hl_replay_report_init(&rep, t, "pymalloc");
    err[0] = '\0';
    if (hl_replay_verify(&a, t, &ropt, &rep, err, sizeof err) != 0)
        violation(data, size, "replay into pymalloc failed", err);
    if (!rep.verified)
        violation(data, size, "replay returned 0 but did not verify", NULL);
    hl_allocator_destroy(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return -1;
    char err[1024];
    hl_trace_t *t = (hl_trace_t *)(uintptr_t)1;   /* must come back NULL on failure */
    memset(err, 'x', sizeof err - 1);
    err[sizeof err - 1] = '\0';
    size_t lines = count_lines(data, size);
    if (hl_trace_parse_buffer(NAME, (const char *)data, size, &t, err, sizeof err) != 0) {
        size_t line;
        if (t != NULL)
            violation(data, size, "failed parse left *out non-NULL", NULL);
        if (parse_error(err, &line) != 0)
            violation(data, size, "error message not `" NAME ":LINE: error: MESSAGE`", err);
        if (line > (lines ? lines : 1))
            violation(data, size, "error LINE past the input's last line", err);
        return 0;
    }
    if (t == NULL)
        violation(data, size, "successful parse gave a NULL trace", NULL);
    const hl_trace_info_t *info = hl_trace_info(t);
    char detail[256];
    snprintf(detail, sizeof detail, "lines %zu (input %zu), ops %zu, slots %zu, final live %zu",
             info->lines, lines, info->ops, info->slots, info->final_live_blocks);
    if (info->lines == 0 || info->lines > lines)
        violation(data, size, "trace info: lines", detail);
    if (info->final_live_blocks > info->slots || info->slots > info->ops)
        violation(data, size, "trace info: slots", detail);
    if (!_hl_trace_is_valid(t))
        violation(data, size, "_hl_trace_is_valid() fails on a parsed trace", detail);
    bool small = info->peak_live_bytes <= MAX_REPLAY_BYTES;
    const hl_trace_op_t *ops = hl_trace_ops(t);
    for (size_t i = 0; small && i < info->ops; i++)
        small = ops[i].size <= MAX_REPLAY_BLOCK;
    if (small)
        replay(data, size, t);
    hl_trace_free(t);
    return 0;
}
