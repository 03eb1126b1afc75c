/* cmd_script.c: `heaplab script`, a heap script run over one heaplab
 * runtime (lib/script/script.h; the language: heap-script.md). */
#include "cli.h"
#include "heaplab/object.h"
#include "script.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

void hl_cmd_script_usage(FILE *out)
{
    fprintf(out,
            "usage: heaplab script [--allocator NAME] [--stats] FILE\n"
            "\n"
            "Runs the heap script FILE (- for standard input) over a fresh heaplab runtime:\n"
            "one statement a line (list, dict, tuple, str, int, alias, append, setitem,\n"
            "delitem, pop, clear, drop, collect, tracked, sizeof, count, enable, disable,\n"
            "threshold), printing what CPython 3.11 would print for the same program.  At\n"
            "the end every name is dropped, a full collection runs and whatever the script\n"
            "made must be gone.\n"
            "\n"
            "  --allocator NAME   the allocator of the runtime's MEM and OBJ domains: a\n"
            "                     registry name (see `heaplab list`) or a PYTHONMALLOC-like\n"
            "                     name (malloc, pymalloc_debug, ...); default pymalloc\n"
            "  --stats            at the end, print the collector's statistics per\n"
            "                     generation, the final count and the allocator's\n"
            "                     statistics to standard error\n"
            "\n"
            "Exit status: 0 ok; 2 bad option, unreadable FILE, unwritable output or a\n"
            "failing statement (FILE:LINE: error: MESSAGE); 3 objects or blocks leaked\n"
            "(leak: ...).\n");
}

int hl_cmd_script(int argc, char **argv)
{
    hl_script_options_t opt = {0};
    const char *path = NULL;
    bool no_more_options = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int k;
        if (!no_more_options && strcmp(a, "--") == 0) {
            no_more_options = true;
        } else if (!no_more_options
                   && (k = hl_cli_option_value("heaplab script", argc, argv, &i, "--allocator",
                                               &opt.allocator)) != 0) {
            if (k < 0)
                return HL_EXIT_USAGE;
        } else if (!no_more_options && strncmp(a, "--stats", 7) == 0
                   && (a[7] == '\0' || a[7] == '=')) {
            if (a[7] == '=') {
                fprintf(stderr, "heaplab script: option '--stats' takes no value\n");
                return HL_EXIT_USAGE;
            }
            opt.stats = true;
        } else if (!no_more_options && a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "heaplab script: unknown option '%s'\n", a);
            hl_cmd_script_usage(stderr);
            return HL_EXIT_USAGE;
        } else if (path) {
            fprintf(stderr, "heaplab script: one FILE only ('%s' and '%s')\n", path, a);
            return HL_EXIT_USAGE;
        } else {
            path = a;
        }
    }
    if (!path) {
        fprintf(stderr, "heaplab script: no FILE given\n");
        hl_cmd_script_usage(stderr);
        return HL_EXIT_USAGE;
    }

    /* An allocator name is checked before FILE is read, so a bad one is a
     * usage error of its own (heaplab-cli owns no state: a trial runtime). */
    if (opt.allocator) {
        hl_runtime_t *rt;
        char e[256];
        if (hl_runtime_create(opt.allocator, NULL, &rt, e, sizeof e) != 0) {
            fprintf(stderr, "heaplab script: --allocator %s: %s\n", opt.allocator, e);
            return HL_EXIT_USAGE;
        }
        hl_runtime_destroy(rt);
    }

    FILE *in = stdin;
    if (strcmp(path, "-") != 0) {
        in = fopen(path, "rb");
        if (!in) {
            fprintf(stderr, "%s: error: cannot open: %s\n", path, strerror(errno));
            return HL_EXIT_USAGE;
        }
    }
    int status = hl_script_run_file(path, in, &opt, stdout, stderr);
    if (in != stdin)
        fclose(in);
    if (fflush(stdout) != 0 && status == HL_SCRIPT_OK) {
        fprintf(stderr, "heaplab script: cannot write standard output: %s\n", strerror(errno));
        return HL_EXIT_USAGE;
    }
    return status;
}
