/* cmd_replay.c: `heaplab replay`, a recorded trace replayed into one
 * allocator: a verification pass, then a timed pass (heaplab/trace.h). */
#include "cli.h"
#include "heaplab/allocator.h"
#include "heaplab/trace.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void hl_cmd_replay_usage(FILE *out)
{
    fprintf(out,
            "usage: heaplab replay --allocator NAME [--arenas fixed|mmap] [--stats] [--json]\n"
            "                      [--check-every N] TRACE\n"
            "\n"
            "Replays TRACE (glibc mtrace text, plain or gzip; - for standard input) into\n"
            "allocator NAME (see `heaplab list`).  A verification pass on a fresh instance\n"
            "writes a pattern into every block and checks it before every free and realloc,\n"
            "calls the allocator's own check every N ops (default %d) and measures the peak\n"
            "footprint; then a timed pass on another fresh instance times the operations.\n"
            "\n"
            "  --allocator NAME   the allocator (required)\n"
            "  --arenas KIND      where pymalloc and cpython get arenas: mmap (default) or\n"
            "                     fixed (deterministic addresses)\n"
            "  --stats            print the allocator's statistics after the last operation,\n"
            "                     before the blocks still live are freed (to standard error\n"
            "                     with --json)\n"
            "  --json             print one JSON object instead of a table\n"
            "  --check-every N    run the allocator's check every N operations\n"
            "\n"
            "Exit status: 0 ok, 1 verification failed, 2 bad option or bad trace\n"
            "(TRACE:LINE: error: MESSAGE).\n",
            HL_REPLAY_CHECK_EVERY_DEFAULT);
}

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static void print_json(FILE *out, const char *trace, const hl_replay_report_t *r)
{
    fprintf(out, "{\"trace\": ");
    json_string(out, trace);
    fprintf(out, ", \"allocator\": ");
    json_string(out, r->allocator);
    fprintf(out, ", \"ops\": %zu, \"mallocs\": %zu, \"frees\": %zu, \"reallocs\": %zu",
            r->ops, r->mallocs, r->frees, r->reallocs);
    fprintf(out, ", \"peak_live_bytes\": %zu, \"peak_live_blocks\": %zu", r->peak_live_bytes,
            r->peak_live_blocks);
    if (r->footprint_known)
        fprintf(out, ", \"peak_footprint_bytes\": %zu, \"final_footprint_bytes\": %zu",
                r->peak_footprint_bytes, r->final_footprint_bytes);
    else
        fprintf(out, ", \"peak_footprint_bytes\": null, \"final_footprint_bytes\": null");
    fprintf(out, ", \"final_live_bytes\": %zu, \"final_live_blocks\": %zu", r->final_live_bytes,
            r->final_live_blocks);
    fprintf(out, ", \"ns_per_op\": %.3f, \"elapsed_ns\": %llu, \"checks\": %zu, \"verified\": %s}\n",
            r->ns_per_op, (unsigned long long)r->elapsed_ns, r->checks,
            r->verified ? "true" : "false");
}

static void print_table(FILE *out, const char *trace, const hl_replay_report_t *r)
{
    fprintf(out, "trace               %s\n", trace);
    fprintf(out, "allocator           %s\n", r->allocator);
    fprintf(out, "ops                 %zu (%zu malloc, %zu free, %zu realloc)\n", r->ops,
            r->mallocs, r->frees, r->reallocs);
    fprintf(out, "peak live           %zu bytes in at most %zu blocks\n", r->peak_live_bytes,
            r->peak_live_blocks);
    if (r->footprint_known) {
        fprintf(out, "peak footprint      %zu bytes", r->peak_footprint_bytes);
        if (r->peak_live_bytes)
            fprintf(out, " (%.2fx peak live)",
                    (double)r->peak_footprint_bytes / (double)r->peak_live_bytes);
        fprintf(out, "\n");
        fprintf(out, "final footprint     %zu bytes\n", r->final_footprint_bytes);
    } else {
        fprintf(out, "peak footprint      unknown (the allocator does not report held bytes)\n");
    }
    fprintf(out, "final live          %zu bytes in %zu blocks\n", r->final_live_bytes,
            r->final_live_blocks);
    fprintf(out, "time                %.1f ns/op (%.3f ms for the ops)\n", r->ns_per_op,
            (double)r->elapsed_ns / 1e6);
    fprintf(out, "verified            %s (%zu checks)\n", r->verified ? "yes" : "no", r->checks);
}

static int need_value(int argc, char **argv, int i, const char *opt)
{
    if (i + 1 >= argc) {
        fprintf(stderr, "heaplab replay: option '%s' needs a value\n", opt);
        return -1;
    }
    return 0;
}

int hl_cmd_replay(int argc, char **argv)
{
    const char *allocator = NULL, *trace = NULL;
    hl_alloc_options_t aopt = {HL_ARENAS_MMAP, NULL};
    hl_replay_options_t ropt = {true, true, 0, NULL};
    bool stats = false, json = false, no_more_options = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        if (!no_more_options && strncmp(a, "--", 2) == 0 && a[2] != '\0') {
            const char *eq = strchr(a, '=');
            char name[32];
            size_t n = eq ? (size_t)(eq - a) : strlen(a);
            if (n >= sizeof name)
                n = sizeof name - 1;
            memcpy(name, a, n);
            name[n] = '\0';
            bool takes = strcmp(name, "--allocator") == 0 || strcmp(name, "--arenas") == 0
                         || strcmp(name, "--check-every") == 0;
            if (takes) {
                if (eq) {
                    val = eq + 1;
                } else {
                    if (need_value(argc, argv, i, name) != 0)
                        return HL_EXIT_USAGE;
                    val = argv[++i];
                }
            } else if (eq) {
                fprintf(stderr, "heaplab replay: option '%s' takes no value\n", name);
                return HL_EXIT_USAGE;
            }
            if (strcmp(name, "--allocator") == 0) {
                allocator = val;
            } else if (strcmp(name, "--arenas") == 0) {
                if (hl_arena_kind_parse(val, &aopt.arenas) != 0) {
                    fprintf(stderr, "heaplab replay: unknown arena kind '%s' (expected fixed or "
                            "mmap)\n", val);
                    return HL_EXIT_USAGE;
                }
            } else if (strcmp(name, "--check-every") == 0) {
                char *end;
                errno = 0;
                unsigned long long v = strtoull(val, &end, 10);
                if (errno || *end || end == val || v == 0 || val[0] == '-') {
                    fprintf(stderr, "heaplab replay: --check-every wants a positive number, "
                            "not '%s'\n", val);
                    return HL_EXIT_USAGE;
                }
                ropt.check_every = (size_t)v;
            } else if (strcmp(name, "--stats") == 0) {
                stats = true;
            } else if (strcmp(name, "--json") == 0) {
                json = true;
            } else {
                fprintf(stderr, "heaplab replay: unknown option '%s'\n", a);
                hl_cmd_replay_usage(stderr);
                return HL_EXIT_USAGE;
            }
        } else if (!no_more_options && strcmp(a, "--") == 0) {
            no_more_options = true;
        } else if (!no_more_options && a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "heaplab replay: unknown option '%s'\n", a);
            hl_cmd_replay_usage(stderr);
            return HL_EXIT_USAGE;
        } else if (trace) {
            fprintf(stderr, "heaplab replay: one trace only ('%s' and '%s')\n", trace, a);
            return HL_EXIT_USAGE;
        } else {
            trace = a;
        }
    }
    if (!allocator) {
        fprintf(stderr, "heaplab replay: --allocator NAME is required (see `heaplab list`)\n");
        return HL_EXIT_USAGE;
    }
    if (!hl_registry_find(allocator)) {
        fprintf(stderr, "heaplab replay: unknown allocator '%s' (see `heaplab list`)\n",
                allocator);
        return HL_EXIT_USAGE;
    }
    if (!trace) {
        fprintf(stderr, "heaplab replay: no TRACE given\n");
        hl_cmd_replay_usage(stderr);
        return HL_EXIT_USAGE;
    }

    char err[1024];
    hl_trace_t *t;
    if (hl_trace_load(trace, &t, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return HL_EXIT_USAGE;
    }
    if (stats) {
        ropt.stats_out = json ? stderr : stdout;
        if (!json)
            printf("statistics of %s after the last operation:\n", allocator);
    }
    hl_replay_report_t r;
    int rc = hl_replay(allocator, &aopt, t, &ropt, &r, err, sizeof err);
    const char *name = hl_trace_info(t)->name;
    if (rc != 0) {
        fprintf(stderr, "%s\n", err);
        hl_trace_free(t);
        return HL_EXIT_FAIL;
    }
    if (json)
        print_json(stdout, name, &r);
    else
        print_table(stdout, name, &r);
    hl_trace_free(t);
    return HL_EXIT_OK;
}
