/* cmd_record.c: `heaplab record`, a command's allocations written in glibc's
 * mtrace format (the recorder itself is lib/trace/record.c). */
#include "cli.h"
#include "heaplab/trace.h"

#include <stdbool.h>
#include <string.h>

void hl_cmd_record_usage(FILE *out)
{
    fprintf(out,
            "usage: heaplab record [--python] -o FILE -- CMD [ARGS...]\n"
            "\n"
            "Runs CMD with glibc's malloc tracer switched on and writes every malloc, free\n"
            "and realloc it makes to FILE in mtrace format (gzip'ed if FILE ends in .gz),\n"
            "ready for `heaplab replay`.  CMD runs with\n"
            "    LD_PRELOAD=\"libc_malloc_debug.so.0 .../libhl_mtrace_start.so\"\n"
            "    MALLOC_TRACE=FILE\n"
            "where the starter library calls mtrace() from a constructor.  It is found at\n"
            "$HEAPLAB_MTRACE_START, else beside this executable, else in ../trace/ from it.\n"
            "Only CMD's own process is traced; record programs that do not fork without\n"
            "exec'ing.\n"
            "\n"
            "  -o FILE     the trace to write\n"
            "  --python    set PYTHONMALLOC=malloc, so CPython's object allocations reach\n"
            "              malloc and the trace\n"
            "\n"
            "Exit status: CMD's (128+N if a signal N killed it), 2 for a bad option,\n"
            "1 if the trace could not be written.\n");
}

int hl_cmd_record(int argc, char **argv)
{
    hl_record_options_t opt = {NULL, NULL, false};
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "--python") == 0) {
            opt.python = true;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "heaplab record: option '%s' needs a FILE\n", a);
                return HL_EXIT_USAGE;
            }
            opt.out = argv[++i];
        } else if (strncmp(a, "-o", 2) == 0) {
            opt.out = a + 2;
        } else if (strncmp(a, "--output=", 9) == 0) {
            opt.out = a + 9;
        } else if (a[0] == '-') {
            fprintf(stderr, "heaplab record: unknown option '%s'\n", a);
            hl_cmd_record_usage(stderr);
            return HL_EXIT_USAGE;
        } else {
            break;   /* the command, without a "--" */
        }
    }
    if (!opt.out || !*opt.out) {
        fprintf(stderr, "heaplab record: -o FILE is required\n");
        return HL_EXIT_USAGE;
    }
    if (i >= argc) {
        fprintf(stderr, "heaplab record: no command to record (after --)\n");
        return HL_EXIT_USAGE;
    }
    char err[1024];
    int status = hl_record(&opt, argv + i, err, sizeof err);
    if (status < 0) {
        fprintf(stderr, "heaplab record: %s\n", err);
        return HL_EXIT_FAIL;
    }
    return status;
}
