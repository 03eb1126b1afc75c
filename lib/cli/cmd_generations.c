/* cmd_generations.c: `heaplab generations`, the collector's generations over
 * a heap script, as JSON for lib/heapmap/draw_generations.py.
 *
 * The script runs as under `heaplab script` (lib/script/script.h), with two
 * observers on its runtime:
 *
 *   on_statement   after every statement that ran (and once with line 0
 *                  after the final collection): one sample of the
 *                  generations' sizes, the collector's counts and the
 *                  objects alive
 *   gc callback    installed by on_start (after the start-up collection, so
 *                  that one is not seen): one event per collection, its
 *                  generation from "start", what it found from "stop"
 *
 * A collection happens inside a statement, before that statement's sample,
 * so an event is given the step and line of the next sample.  It is
 * `explicit` if that statement is `collect`, `final` for the end of the
 * script (line 0), `automatic` otherwise: the gen-0 count passed its
 * threshold while an allocation was made with the collector enabled.
 *
 * The output, one object (numbers are object counts):
 *
 *   {"input": "t.heap", "allocator": "pymalloc", "status": "ok" | "leak",
 *    "thresholds": [T0, T1, T2],        at the end of the script
 *    "thresholds_at_start": [T0, T1, T2],
 *    "statements": N,                   statements that ran
 *    "baseline_objects": B,             objects before the script (start-up)
 *    "steps": [                         one per statement, then the end
 *      {"step": 0, "line": 2, "op": "list", "gen": [G0, G1, G2],
 *       "permanent": P, "count": [C0, C1, C2], "alive": A},
 *      ...
 *      {"step": N, "line": 0, "op": "end", ...}],
 *    "collections": [                   in the order they ran
 *      {"step": S, "line": L, "generation": G, "collected": C,
 *       "uncollectable": U, "kind": "automatic" | "explicit" | "final"}, ...],
 *    "totals": [                        one per generation
 *      {"generation": 0, "automatic": n, "explicit": n, "final": n,
 *       "collected": n, "uncollectable": n}, ...]}
 *
 * `gen` is hl_gc_generation_size of 0..2, `permanent` that of the frozen
 * generation (start-up's objects), `count` hl_gc_get_count, `alive` the
 * runtime's objects alive minus the script's leak baseline: the names'
 * dict `env`, its keys and everything the script made (0 at the end if
 * nothing leaked).
 *
 * The script's printed lines are thrown away; its errors go to standard
 * error as `FILE:LINE: error: ...` with exit status 2 and no JSON; a leak
 * is reported as `heaplab script` does, the JSON is still written, and the
 * exit status is 3.
 */
#include "cli.h"
#include "heaplab/gc.h"
#include "heaplab/object.h"
#include "script.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "heaplab generations"

void hl_cmd_generations_usage(FILE *out)
{
    fprintf(out,
            "usage: heaplab generations [--allocator NAME] [--json OUT] SCRIPT\n"
            "\n"
            "Runs the heap script SCRIPT (- for standard input) as `heaplab script` does,\n"
            "throwing its printed lines away, and writes what the cyclic collector did as\n"
            "JSON: after every statement the size of generations 0, 1, 2 and of the\n"
            "permanent generation, the collector's counts and the objects alive; and every\n"
            "collection, automatic (the script has `enable`), explicit (`collect`) or the\n"
            "final one, with its generation and what it collected.  Draw it with\n"
            "lib/heapmap/draw_generations.py.\n"
            "\n"
            "  --allocator NAME   the allocator of the runtime's MEM and OBJ domains\n"
            "                     (see `heaplab list`); default pymalloc\n"
            "  --json OUT         write the JSON to OUT instead of standard output\n"
            "\n"
            "Exit status: 0 ok; 2 bad option, unreadable SCRIPT, unwritable output or a\n"
            "failing statement (SCRIPT:LINE: error: MESSAGE; no JSON); 3 objects or blocks\n"
            "leaked (leak: ...; the JSON is written).\n");
}

/* ---- what is recorded --------------------------------------------------- */

typedef struct sample_s {
    size_t line;
    ssize_t gen[HL_GC_NUM_GENERATIONS];
    ssize_t permanent;
    int count[HL_GC_NUM_GENERATIONS];
    ssize_t alive;
} sample_t;

typedef struct event_s {
    size_t step;                 /* the sample that follows it */
    int generation;
    ssize_t collected, uncollectable;
} event_t;

typedef struct rec_s {
    const char *text;            /* the script, for each line's statement */
    size_t len;
    size_t *line_start;          /* line n (1-based) starts at line_start[n - 1] */
    size_t nlines;
    ssize_t baseline;            /* objects of the leak baseline */
    int thresholds_start[HL_GC_NUM_GENERATIONS];
    int thresholds_end[HL_GC_NUM_GENERATIONS];
    sample_t *samples;
    size_t nsamples, samples_cap;
    event_t *events;
    size_t nevents, events_cap;
    bool in_collection;
    bool no_memory;
} rec_t;

static bool grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t cap2 = *cap ? *cap * 2 : 256;
    if (cap2 > SIZE_MAX / size)
        return false;
    void *p = realloc(*v, cap2 * size);
    if (!p)
        return false;
    *v = p;
    *cap = cap2;
    return true;
}

static void on_gc(hl_runtime_t *rt, const char *phase, const hl_gc_info_t *info, void *user)
{
    rec_t *r = user;
    (void)rt;
    if (strcmp(phase, "start") == 0) {
        if (!grow((void **)&r->events, &r->events_cap, r->nevents, sizeof *r->events)) {
            r->no_memory = true;
            return;
        }
        r->events[r->nevents] = (event_t){.step = r->nsamples, .generation = info->generation};
        r->in_collection = true;
    } else if (r->in_collection) {
        event_t *e = &r->events[r->nevents++];
        e->collected = info->collected;
        e->uncollectable = info->uncollectable;
        r->in_collection = false;
    }
}

static void on_start(hl_runtime_t *rt, void *user)
{
    rec_t *r = user;
    hl_runtime_usage_t u;
    hl_runtime_usage(rt, &u);
    r->baseline = u.objects - 1;     /* all but env (script.h) */
    hl_gc_get_threshold(rt, r->thresholds_start);
    if (hl_gc_callback_add(rt, on_gc, r) != 0)
        r->no_memory = true;
}

static void on_statement(hl_runtime_t *rt, size_t line, void *user)
{
    rec_t *r = user;
    if (!grow((void **)&r->samples, &r->samples_cap, r->nsamples, sizeof *r->samples)) {
        r->no_memory = true;
        return;
    }
    sample_t *s = &r->samples[r->nsamples++];
    hl_runtime_usage_t u;
    s->line = line;
    for (int g = 0; g < HL_GC_NUM_GENERATIONS; g++)
        s->gen[g] = hl_gc_generation_size(rt, g);
    s->permanent = hl_gc_generation_size(rt, HL_GC_NUM_GENERATIONS);
    hl_gc_get_count(rt, s->count);
    hl_runtime_usage(rt, &u);
    s->alive = u.objects - r->baseline;
    if (line == 0) {
        /* The end: hl_runtime_destroy's own collection is not the script's. */
        hl_gc_get_threshold(rt, r->thresholds_end);
        hl_gc_callback_remove(rt, on_gc, r);
    }
}

/* The statement word of line n (its first token), into op[16]. */
static void statement_of(const rec_t *r, size_t n, char op[16])
{
    if (n == 0 || n > r->nlines) {
        strcpy(op, n == 0 ? "end" : "?");
        return;
    }
    const char *p = r->text + r->line_start[n - 1], *end = r->text + r->len;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    size_t k = 0;
    while (p < end && k < 15 && *p != ' ' && *p != '\t' && *p != '#' && *p != '\n')
        op[k++] = *p++;
    op[k] = '\0';
}

/* ---- input and output --------------------------------------------------- */

static int index_lines(rec_t *r)
{
    size_t cap = 0;
    r->nlines = 0;
    for (size_t i = 0; i <= r->len; i++) {
        if (i == 0 || r->text[i - 1] == '\n') {
            if (i == r->len && i > 0)
                break;                     /* no line after a final '\n' */
            if (!grow((void **)&r->line_start, &cap, r->nlines, sizeof *r->line_start))
                return -1;
            r->line_start[r->nlines++] = i;
        }
    }
    return 0;
}

static void put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void put_ints(FILE *f, const int *v)
{
    fprintf(f, "[%d, %d, %d]", v[0], v[1], v[2]);
}

static void write_json(FILE *f, const rec_t *r, const char *input, const char *allocator,
                       bool leaked)
{
    static const char *const kinds[] = {"automatic", "explicit", "final"};
    ssize_t totals[HL_GC_NUM_GENERATIONS][5] = {{0}};   /* 3 kinds, collected, uncollectable */
    char op[16];

    fprintf(f, "{\"input\": ");
    put_string(f, input);
    fprintf(f, ", \"allocator\": ");
    put_string(f, allocator);
    fprintf(f, ", \"status\": \"%s\",\n \"thresholds\": ", leaked ? "leak" : "ok");
    put_ints(f, r->thresholds_end);
    fprintf(f, ", \"thresholds_at_start\": ");
    put_ints(f, r->thresholds_start);
    fprintf(f, ",\n \"statements\": %zu, \"baseline_objects\": %zd,\n \"steps\": [",
            r->nsamples ? r->nsamples - 1 : 0, r->baseline);
    for (size_t i = 0; i < r->nsamples; i++) {
        const sample_t *s = &r->samples[i];
        statement_of(r, s->line, op);
        fprintf(f, "%s\n  {\"step\": %zu, \"line\": %zu, \"op\": ", i ? "," : "", i, s->line);
        put_string(f, op);
        fprintf(f, ", \"gen\": [%zd, %zd, %zd], \"permanent\": %zd, \"count\": ", s->gen[0],
                s->gen[1], s->gen[2], s->permanent);
        put_ints(f, s->count);
        fprintf(f, ", \"alive\": %zd}", s->alive);
    }
    fprintf(f, "],\n \"collections\": [");
    for (size_t i = 0; i < r->nevents; i++) {
        const event_t *e = &r->events[i];
        size_t line = e->step < r->nsamples ? r->samples[e->step].line : 0;
        int kind = 0;
        if (line == 0) {
            kind = 2;
        } else {
            statement_of(r, line, op);
            kind = strcmp(op, "collect") == 0;
        }
        int g = e->generation >= 0 && e->generation < HL_GC_NUM_GENERATIONS ? e->generation : 0;
        totals[g][kind]++;
        totals[g][3] += e->collected;
        totals[g][4] += e->uncollectable;
        fprintf(f,
                "%s\n  {\"step\": %zu, \"line\": %zu, \"generation\": %d, \"collected\": %zd, "
                "\"uncollectable\": %zd, \"kind\": \"%s\"}",
                i ? "," : "", e->step, line, e->generation, e->collected, e->uncollectable,
                kinds[kind]);
    }
    fprintf(f, "],\n \"totals\": [");
    for (int g = 0; g < HL_GC_NUM_GENERATIONS; g++)
        fprintf(f,
                "%s\n  {\"generation\": %d, \"automatic\": %zd, \"explicit\": %zd, "
                "\"final\": %zd, \"collected\": %zd, \"uncollectable\": %zd}",
                g ? "," : "", g, totals[g][0], totals[g][1], totals[g][2], totals[g][3],
                totals[g][4]);
    fprintf(f, "]}\n");
}

/* ---- the command -------------------------------------------------------- */

int hl_cmd_generations(int argc, char **argv)
{
    hl_script_options_t opt = {0};
    const char *path = NULL, *json = NULL;
    bool no_more_options = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int k;
        if (!no_more_options && strcmp(a, "--") == 0) {
            no_more_options = true;
        } else if (!no_more_options
                   && (k = hl_cli_option_value(PROG, argc, argv, &i, "--allocator",
                                               &opt.allocator)) != 0) {
            if (k < 0)
                return HL_EXIT_USAGE;
        } else if (!no_more_options
                   && (k = hl_cli_option_value(PROG, argc, argv, &i, "--json", &json)) != 0) {
            if (k < 0)
                return HL_EXIT_USAGE;
        } else if (!no_more_options && a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, PROG ": unknown option '%s'\n", a);
            hl_cmd_generations_usage(stderr);
            return HL_EXIT_USAGE;
        } else if (path) {
            fprintf(stderr, PROG ": one SCRIPT only ('%s' and '%s')\n", path, a);
            return HL_EXIT_USAGE;
        } else {
            path = a;
        }
    }
    if (!path) {
        fprintf(stderr, PROG ": no SCRIPT given\n");
        hl_cmd_generations_usage(stderr);
        return HL_EXIT_USAGE;
    }

    /* A bad allocator name is a usage error of its own (a trial runtime). */
    if (opt.allocator) {
        hl_runtime_t *rt;
        char e[256];
        if (hl_runtime_create(opt.allocator, NULL, &rt, e, sizeof e) != 0) {
            fprintf(stderr, PROG ": --allocator %s: %s\n", opt.allocator, e);
            return HL_EXIT_USAGE;
        }
        hl_runtime_destroy(rt);
    }

    rec_t r = {0};
    char *text = NULL;
    FILE *in = stdin;
    if (strcmp(path, "-") != 0) {
        in = fopen(path, "rb");
        if (!in) {
            fprintf(stderr, "%s: error: cannot open: %s\n", path, strerror(errno));
            return HL_EXIT_USAGE;
        }
    }
    int rc = hl_cli_read_all(in, &text, &r.len);
    int read_errno = errno;
    if (in != stdin)
        fclose(in);
    if (rc != 0) {
        fprintf(stderr, "%s: error: cannot read: %s\n", path, strerror(read_errno));
        return HL_EXIT_USAGE;
    }
    r.text = text;
    if (index_lines(&r) != 0) {
        free(text);
        fprintf(stderr, PROG ": out of memory\n");
        return HL_EXIT_USAGE;
    }

    /* The output is opened first: an unwritable one fails before the run. */
    FILE *out = stdout;
    if (json) {
        out = fopen(json, "w");
        if (!out) {
            fprintf(stderr, PROG ": cannot write %s: %s\n", json, strerror(errno));
            free(r.line_start);
            free(text);
            return HL_EXIT_USAGE;
        }
    }
    FILE *discard = fopen("/dev/null", "w");
    int status = HL_EXIT_USAGE;
    if (!discard) {
        fprintf(stderr, PROG ": cannot open /dev/null: %s\n", strerror(errno));
    } else {
        opt.on_start = on_start;
        opt.on_statement = on_statement;
        opt.user = &r;
        status = hl_script_run(path, text, r.len, &opt, discard, stderr);
        fclose(discard);
        if (r.no_memory && status != HL_SCRIPT_ERROR) {
            fprintf(stderr, PROG ": out of memory while recording\n");
            status = HL_EXIT_USAGE;
        }
    }
    if (status == HL_SCRIPT_OK || status == HL_SCRIPT_LEAK) {
        write_json(out, &r, path, opt.allocator ? opt.allocator : "pymalloc",
                   status == HL_SCRIPT_LEAK);
        if (fflush(out) != 0 || ferror(out)) {
            fprintf(stderr, PROG ": cannot write %s: %s\n", json ? json : "standard output",
                    strerror(errno));
            status = HL_EXIT_USAGE;
        }
    }
    if (json) {
        if (fclose(out) != 0 && status != HL_EXIT_USAGE) {
            fprintf(stderr, PROG ": cannot write %s: %s\n", json, strerror(errno));
            status = HL_EXIT_USAGE;
        }
        if (status == HL_EXIT_USAGE)
            unlink(json);              /* no half or empty JSON left behind */
    }
    free(r.samples);
    free(r.events);
    free(r.line_start);
    free(text);
    return status;
}
