/* main.c: heaplab_bench, the benchmark suite (hl_suite.h).
 *
 *   heaplab_bench [--allocators=A,B,...] [--quick|--smoke] [--trace=FILE]...
 *                 [--no-bundled-traces] [--mem=inline|skip|only]
 *                 [--lazy-traces] [GOOGLE_BENCHMARK_FLAGS...]
 *
 * Our flags are taken out of argv before Google Benchmark sees the rest
 * (--benchmark_filter, --benchmark_repetitions, --benchmark_out, ...).
 * The bundled traces are corpus/traces/ *.mtrace.gz under the current
 * directory (heaplab runs the suite from the repository root).
 * Exit status: 0, 1 if a run failed, 2 for a bad flag or allocator name.
 */
#include "hl_suite.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: heaplab_bench [--allocators=A,B,...] [--quick|--smoke] [--trace=FILE]...\n"
            "                     [--no-bundled-traces] [GOOGLE_BENCHMARK_FLAGS...]\n"
            "  --allocators=LIST    registry names, comma-separated (default: all)\n"
            "  --quick              fewer arguments per workload (heaplab run)\n"
            "  --smoke              the smallest arguments (the suite's test)\n"
            "  --trace=FILE         also replay this mtrace trace (repeatable)\n"
            "  --no-bundled-traces  leave out corpus/traces/*.mtrace.gz\n"
            "  --mem=inline|skip|only  memory runs here with the rest (default), left\n"
            "                       out, or alone (bench/tools/mem_runs.py runs each\n"
            "                       in its own process: hl_suite.h says why)\n"
            "  --lazy-traces        parse a trace when a run first needs it\n"
            "Google Benchmark's flags follow (--benchmark_filter=RE, ...; --help).\n");
}

static int add_allocators(hl_suite_config_t *cfg, const char *list)
{
    char *copy = strdup(list);
    if (copy == NULL)
        return -1;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        const hl_registry_entry_t *e = hl_registry_find(tok);
        if (e == NULL) {
            fprintf(stderr, "heaplab_bench: --allocators: unknown allocator '%s' (known:", tok);
            for (size_t i = 0; i < hl_registry_count(); i++)
                fprintf(stderr, " %s", hl_registry_at(i)->name);
            fprintf(stderr, ")\n");
            free(copy);
            return -1;
        }
        bool dup = false;
        for (size_t i = 0; i < cfg->nallocators; i++)
            dup |= strcmp(cfg->allocators[i], e->name) == 0;
        if (dup)
            continue;
        if (cfg->nallocators == HL_SUITE_MAX_ALLOCATORS) {
            fprintf(stderr, "heaplab_bench: --allocators: more than %d names\n",
                    HL_SUITE_MAX_ALLOCATORS);
            free(copy);
            return -1;
        }
        cfg->allocators[cfg->nallocators++] = e->name;
    }
    free(copy);
    if (cfg->nallocators == 0) {
        fprintf(stderr, "heaplab_bench: --allocators: no allocator named\n");
        return -1;
    }
    return 0;
}

static int add_trace(hl_suite_config_t *cfg, const char *path)
{
    if (cfg->ntraces == HL_SUITE_MAX_TRACES) {
        fprintf(stderr, "heaplab_bench: more than %d traces\n", HL_SUITE_MAX_TRACES);
        return -1;
    }
    cfg->traces[cfg->ntraces++] = path;
    return 0;
}

int main(int argc, char **argv)
{
    static hl_suite_config_t cfg;
    static glob_t bundled;
    bool with_bundled = true, named = false;
    int out = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--allocators=", 13) == 0) {
            if (add_allocators(&cfg, a + 13) != 0)
                return 2;
            named = true;
        } else if (strcmp(a, "--quick") == 0) {
            cfg.scale = HL_SUITE_QUICK;
        } else if (strcmp(a, "--smoke") == 0) {
            cfg.scale = HL_SUITE_SMOKE;
        } else if (strncmp(a, "--trace=", 8) == 0) {
            if (a[8] == '\0') {
                fprintf(stderr, "heaplab_bench: --trace= needs a file\n");
                return 2;
            }
            if (add_trace(&cfg, a + 8) != 0)
                return 2;
        } else if (strncmp(a, "--mem=", 6) == 0) {
            if (strcmp(a + 6, "inline") == 0)
                cfg.mem = HL_SUITE_MEM_INLINE;
            else if (strcmp(a + 6, "skip") == 0)
                cfg.mem = HL_SUITE_MEM_SKIP;
            else if (strcmp(a + 6, "only") == 0)
                cfg.mem = HL_SUITE_MEM_ONLY;
            else {
                fprintf(stderr, "heaplab_bench: --mem: '%s' is not inline, skip or only\n", a + 6);
                return 2;
            }
        } else if (strcmp(a, "--lazy-traces") == 0) {
            cfg.lazy_traces = true;
        } else if (strcmp(a, "--no-bundled-traces") == 0) {
            with_bundled = false;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--usage") == 0) {
            usage(stdout);
            return 0;
        } else if (strncmp(a, "--benchmark_", 12) == 0 || strcmp(a, "--help") == 0 ||
                   strncmp(a, "--v=", 4) == 0) {
            argv[out++] = argv[i];
        } else {
            fprintf(stderr, "heaplab_bench: unknown argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    argv[out] = NULL;
    argc = out;
    if (!named)
        for (size_t i = 0; i < hl_registry_count() && i < HL_SUITE_MAX_ALLOCATORS; i++)
            cfg.allocators[cfg.nallocators++] = hl_registry_at(i)->name;
    if (with_bundled && glob("corpus/traces/*.mtrace.gz", 0, NULL, &bundled) == 0) {
        for (size_t i = 0; i < bundled.gl_pathc; i++)
            if (add_trace(&cfg, bundled.gl_pathv[i]) != 0)
                return 2;
    }

    static const char *const scales[] = {"full", "quick", "smoke"};
    hl_bench_add_context("heaplab_scale", scales[cfg.scale]);
    char list[1024] = "";
    for (size_t i = 0; i < cfg.nallocators; i++) {
        strncat(list, cfg.allocators[i], sizeof list - strlen(list) - 2);
        if (i + 1 < cfg.nallocators)
            strncat(list, ",", sizeof list - strlen(list) - 1);
    }
    hl_bench_add_context("heaplab_allocators", list);

    hl_suite_configure(&cfg);
    hl_suite_register_micro(&cfg);
    hl_suite_register_patterns(&cfg);
    hl_suite_register_scaling(&cfg);
    hl_suite_register_traces(&cfg);
    hl_suite_register_objects(&cfg);
    int status = hl_bench_main(argc, argv);
    hl_suite_shutdown();
    globfree(&bundled);
    return status;
}
