/* cmd_map.c: `heaplab-cli map`, snapshots of an allocator's heap at chosen
 * steps of a trace or a heap script, as JSON for lib/heapmap/draw_map.py.
 *
 * A step is an operation of a trace (step N: after its first N operations)
 * or a statement of a heap script (step N: after the statement on line N).
 * Two passes over the input, each with a fresh allocator or runtime:
 *
 *   1. measure  the steps there are, and the first at which the program's
 *               live bytes are largest (`peak`);
 *   2. draw     the same run again, the recorder (lib/heapmap/heapmap.h)
 *               told of every block, a snapshot after each chosen step.
 *
 * A trace drives the allocator through hl_replay_observed; a script runs
 * over a runtime whose MEM and OBJ domains are wrapped, from on_start, by
 * a pass-through that tells the recorder of every block (blocks made before
 * that, the runtime's own, are not the program's and show as `cached`).
 * Nothing here mallocs while the heap is being drawn: the output stream
 * has a static buffer, the recorder's tables are on mmap.
 */
#include "cli.h"
#include "heapmap.h"
#include "heaplab/allocator.h"
#include "heaplab/pymem.h"
#include "heaplab/trace.h"
#include "hl_debug.h"
#include "script.h"
#include "trace_internal.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PROG "heaplab map"
#define MAP_MAX_AT 64
#define MAP_MAX_FRAMES 600

void hl_cmd_map_usage(FILE *out)
{
    fprintf(out,
            "usage: heaplab map --allocator NAME [--arenas mmap|fixed] [--at STEP,...]\n"
            "                   [--frames N] [--json FILE] INPUT\n"
            "\n"
            "Runs INPUT, an mtrace trace or a heap script (a name ending in .heap), on a\n"
            "fresh instance of the allocator and writes snapshots of its heap as JSON (for\n"
            "lib/heapmap/draw_map.py, which `heaplab map` runs).  A step is an operation\n"
            "of a trace (N: after its first N operations) or the statement on line N of a\n"
            "script.  Each snapshot has the program's live blocks and bytes, the\n"
            "allocator's held bytes, pymalloc's arenas and pools (allocators with an arena\n"
            "view: pymalloc, pymalloc-classic, cpython) and an address-ordered strip of\n"
            "live, slack, cached, free, overhead and unused bytes.\n"
            "\n"
            "  --allocator NAME  a registry name (`heaplab list`); for a script also a\n"
            "                    PYTHONMALLOC-like name (required)\n"
            "  --arenas KIND     where pymalloc and cpython get arenas: mmap (default) or\n"
            "                    fixed (the same addresses every run)\n"
            "  --at STEP,...     steps to snapshot: numbers, `peak` (the first step with\n"
            "                    the most live bytes) and `end`; default peak (at most %d)\n"
            "  --frames N        instead, N snapshots evenly spaced over the run (1..%d)\n"
            "  --json FILE       write there instead of standard output\n"
            "\n"
            "Exit status: 0 ok; 1 the allocator failed or its heap could not be walked;\n"
            "2 bad option or input (a malformed trace or script: FILE:LINE: error).\n",
            MAP_MAX_AT, MAP_MAX_FRAMES);
}

/* ---- options ------------------------------------------------------------- */

typedef struct map_opts_s {
    const char *allocator;
    hl_alloc_options_t aopt;
    const char *at;
    long frames;
    const char *json;
    const char *input;
} map_opts_t;

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ---- the chosen steps ------------------------------------------------------ */

typedef struct steps_s {
    size_t total;          /* steps in the run (ops; the last statement's line) */
    size_t peak;           /* first step with the most live bytes */
    size_t peak_bytes;
    size_t want[MAP_MAX_FRAMES];
    size_t nwant;
} steps_t;

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Parse --at after pass 1 (peak and end known).  -1: message printed. */
static int choose_steps(const map_opts_t *o, steps_t *s, const size_t *stmt_lines, size_t nstmts)
{
    s->nwant = 0;
    if (o->frames > 0) {
        /* Evenly spaced over the statements (scripts) or operations. */
        size_t n = nstmts ? nstmts : s->total;
        for (long k = 1; k <= o->frames && n > 0; k++) {
            size_t idx = (size_t)((double)k * (double)n / (double)o->frames + 0.5);
            idx = idx < 1 ? 1 : idx > n ? n : idx;
            size_t step = nstmts ? stmt_lines[idx - 1] : idx;
            if (s->nwant == 0 || s->want[s->nwant - 1] != step)
                s->want[s->nwant++] = step;
        }
        return 0;
    }
    const char *at = o->at ? o->at : "peak";
    const char *p = at;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        size_t step;
        if (len == 4 && strncmp(p, "peak", 4) == 0) {
            step = s->peak;
        } else if (len == 3 && strncmp(p, "end", 3) == 0) {
            step = s->total;
        } else {
            char buf[32], *end;
            if (len == 0 || len >= sizeof buf)
                goto bad;
            memcpy(buf, p, len);
            buf[len] = '\0';
            errno = 0;
            unsigned long long v = strtoull(buf, &end, 10);
            if (errno || *end || buf[0] == '-' || v == 0 || v > s->total) {
                fprintf(stderr, "heaplab map: --at %s: step '%s' is not in 1..%zu (%s)\n", at,
                        buf, s->total, o->input);
                return -1;
            }
            step = (size_t)v;
            if (nstmts) {   /* a script: the step must be a statement's line */
                bool found = false;
                for (size_t i = 0; i < nstmts && !found; i++)
                    found = stmt_lines[i] == step;
                if (!found) {
                    fprintf(stderr, "heaplab map: --at %s: line %zu of %s is not a statement\n",
                            at, step, o->input);
                    return -1;
                }
            }
        }
        if (s->nwant >= MAP_MAX_AT) {
            fprintf(stderr, "heaplab map: --at %s: at most %d steps\n", at, MAP_MAX_AT);
            return -1;
        }
        s->want[s->nwant++] = step;
        p += len;
        if (*p == ',') {
            p++;
            if (*p == '\0')
                goto bad;
        }
    }
    qsort(s->want, s->nwant, sizeof s->want[0], cmp_size);
    return 0;
bad:
    fprintf(stderr, "heaplab map: --at '%s': expected STEP[,STEP...] with STEP a number, "
            "peak or end\n", at);
    return -1;
}

static bool wanted(const steps_t *s, size_t step)
{
    for (size_t i = 0; i < s->nwant; i++)
        if (s->want[i] == step)
            return true;
    return false;
}

/* ---- the draw pass's state -------------------------------------------------- */

typedef struct draw_s {
    hl_heapmap_t *map;
    FILE *out;
    const steps_t *steps;
    size_t nsnap;
    bool failed;           /* a snapshot failed: message in err */
    char err[256];
    size_t last_done;      /* avoid two snapshots of one step (SIZE_MAX: none yet) */
} draw_t;

static void draw_step(draw_t *d, size_t step)
{
    if (d->failed || !wanted(d->steps, step) || step == d->last_done)
        return;
    d->last_done = step;
    fputs(d->nsnap++ ? ",\n" : "\n", d->out);
    if (hl_heapmap_snapshot(d->map, d->out, step, d->err, sizeof d->err) != 0)
        d->failed = true;
}

/* ---- traces ----------------------------------------------------------------- */

static void tr_alloc(void *user, const void *p, size_t n)
{
    draw_t *d = user;
    if (hl_heapmap_alloc(d->map, p, n) != 0 && !d->failed) {
        d->failed = true;
        snprintf(d->err, sizeof d->err, "heapmap: out of memory for the live set");
    }
}
static void tr_free(void *user, const void *p, size_t n)
{
    HL_UNUSED(n);
    hl_heapmap_free(((draw_t *)user)->map, p);
}
static void tr_after(void *user, size_t i) { draw_step(user, i + 1); }

/* Pass 1 of a trace is its parse: the parser knows its peak. */
static void trace_measure(const hl_trace_t *t, steps_t *s)
{
    const hl_trace_info_t *info = hl_trace_info(t);
    s->total = info->ops;
    s->peak = info->peak_op ? info->peak_op : (info->ops ? 1 : 0);
    s->peak_bytes = info->peak_live_bytes;
}

/* ---- scripts ------------------------------------------------------------------ */

/* A pass-through PyMem domain that tells the recorder of every block. */
typedef struct wrap_s {
    hl_mem_allocator_ex_t orig;
    hl_heapmap_t *map;
} wrap_t;

static void *w_malloc(void *ctx, size_t n)
{
    wrap_t *w = ctx;
    void *p = w->orig.malloc(w->orig.ctx, n);
    hl_heapmap_alloc(w->map, p, n);
    return p;
}
static void *w_calloc(void *ctx, size_t nelem, size_t elsize)
{
    wrap_t *w = ctx;
    void *p = w->orig.calloc(w->orig.ctx, nelem, elsize);
    hl_heapmap_alloc(w->map, p, nelem * elsize);
    return p;
}
static void *w_realloc(void *ctx, void *old, size_t n)
{
    wrap_t *w = ctx;
    void *p = w->orig.realloc(w->orig.ctx, old, n);
    if (p) {
        hl_heapmap_free(w->map, old);
        hl_heapmap_alloc(w->map, p, n);
    }
    return p;
}
static void w_free(void *ctx, void *p)
{
    wrap_t *w = ctx;
    hl_heapmap_free(w->map, p);
    w->orig.free(w->orig.ctx, p);
}

typedef struct script_run_s {
    /* both passes */
    hl_heapmap_t *map;           /* the live set (and, pass 2, the snapshots) */
    wrap_t wrap[2];              /* MEM, OBJ */
    hl_allocator_t target;       /* the MEM/OBJ allocator, or a stub */
    bool have_target;
    /* pass 1 */
    steps_t *steps;
    size_t *lines;               /* statement lines, on mmap */
    size_t nlines, cap_lines;
    /* pass 2 */
    draw_t *draw;
    bool failed;
} script_run_t;

/* The views need the allocator behind the OBJ domain; a debug-hooked or
 * foreign domain has none to walk, and the strip comes from the live set:
 * this stand-in knows nothing (usable size 0 means the requested size). */
static size_t nv_usable_size(void *ctx, const void *p) { HL_UNUSED(ctx); HL_UNUSED(p); return 0; }
static void nv_stats(void *ctx, hl_stats_t *out) { HL_UNUSED(ctx); *out = (hl_stats_t){0}; }
static const hl_allocator_ops_t no_view_ops = {
    .usable_size = nv_usable_size,
    .stats = nv_stats,
};

static void sr_start(hl_runtime_t *rt, void *user)
{
    script_run_t *r = user;
    hl_pymem_t *pm = hl_runtime_pymem(rt);
    const hl_pymem_domain_t doms[2] = {HL_PYMEM_DOMAIN_MEM, HL_PYMEM_DOMAIN_OBJ};
    for (int i = 0; i < 2; i++) {
        hl_pymem_get_allocator(pm, doms[i], &r->wrap[i].orig);
        r->wrap[i].map = r->map;
    }
    const hl_allocator_t *t = hl_mem_allocator_ex_target(&r->wrap[1].orig);
    if (t) {
        r->target = *t;
        r->have_target = true;
    }
    for (int i = 0; i < 2; i++) {
        hl_mem_allocator_ex_t w = {&r->wrap[i], w_malloc, w_calloc, w_realloc, w_free};
        hl_pymem_set_allocator(pm, doms[i], &w);
    }
}

static void sr_statement(hl_runtime_t *rt, size_t line, void *user)
{
    HL_UNUSED(rt);
    script_run_t *r = user;
    if (line == 0) {    /* the end-of-script collection: not a statement */
        if (!r->steps && r->nlines == 0)
            draw_step(r->draw, 0);   /* ... but all an empty script has */
        return;
    }
    if (r->steps) {     /* pass 1 */
        if (r->nlines == r->cap_lines) {
            size_t cap = r->cap_lines ? 2 * r->cap_lines : 1024;
            size_t *v = _hl_map(cap * sizeof *v);
            if (!v) {
                r->failed = true;
                return;
            }
            if (r->lines) {
                memcpy(v, r->lines, r->nlines * sizeof *v);
                _hl_unmap(r->lines, r->cap_lines * sizeof *v);
            }
            r->lines = v;
            r->cap_lines = cap;
        }
        r->lines[r->nlines++] = line;
        size_t live = hl_heapmap_live_bytes(r->map);
        if (live > r->steps->peak_bytes || r->steps->peak == 0) {
            r->steps->peak_bytes = live;
            r->steps->peak = line;
        }
        r->steps->total = line;
        return;
    }
    draw_step(r->draw, line);
}

/* Run the script once; *status is its hl_script_run status. */
static int script_pass(const map_opts_t *o, const char *text, size_t len, script_run_t *r,
                       int *status)
{
    hl_script_options_t so = {0};
    so.allocator = o->allocator;
    so.on_start = sr_start;
    so.on_statement = sr_statement;
    so.user = r;
    FILE *devnull = fopen("/dev/null", "w");
    if (!devnull) {
        fprintf(stderr, "heaplab map: cannot open /dev/null: %s\n", strerror(errno));
        return -1;
    }
    *status = hl_script_run(o->input, text, len, &so, devnull, stderr);
    fclose(devnull);
    return 0;
}

/* ---- the command ----------------------------------------------------------------- */

static char out_buf[1 << 16];   /* static: the stream must not malloc mid-run */

static int read_file(const char *path, char **text, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, PROG ": cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = hl_cli_read_all(f, text, len);
    if (f != stdin)
        fclose(f);
    if (rc != 0)
        fprintf(stderr, PROG ": cannot read %s\n", path);
    return rc;
}

static void write_header(FILE *out, const map_opts_t *o, const char *kind, const steps_t *s)
{
    fprintf(out, "{\"allocator\":\"%s\",\"input\":\"", o->allocator);
    for (const char *c = o->input; *c; c++) {
        if (*c == '"' || *c == '\\')
            fputc('\\', out);
        if ((unsigned char)*c >= 0x20)
            fputc(*c, out);
    }
    fprintf(out, "\",\"kind\":\"%s\",\"step_unit\":\"%s\",\"steps\":%zu,\"peak_step\":%zu,"
            "\"peak_live_bytes\":%zu,\"arenas_kind\":\"%s\",\"snapshots\":[",
            kind, strcmp(kind, "trace") == 0 ? "op" : "line", s->total, s->peak, s->peak_bytes,
            o->aopt.arenas == HL_ARENAS_FIXED ? "fixed" : "mmap");
}

static int run_trace(const map_opts_t *o, FILE *out)
{
    char err[512];
    hl_trace_t *t;
    if (hl_trace_load(o->input, &t, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return HL_EXIT_USAGE;
    }
    static steps_t steps;
    int rc = HL_EXIT_OK;
    trace_measure(t, &steps);
    if (steps.total == 0) {
        fprintf(stderr, "heaplab map: %s: the trace has no operation to draw\n", o->input);
        hl_trace_free(t);
        return HL_EXIT_USAGE;
    }
    if (choose_steps(o, &steps, NULL, 0) != 0) {
        hl_trace_free(t);
        return HL_EXIT_USAGE;
    }
    hl_allocator_t a;
    if (hl_allocator_create(o->allocator, &o->aopt, &a, err, sizeof err) != 0) {
        fprintf(stderr, "heaplab map: %s\n", err);
        hl_trace_free(t);
        return HL_EXIT_USAGE;
    }
    static draw_t d;
    memset(&d, 0, sizeof d);
    d.last_done = SIZE_MAX;
    d.out = out;
    d.steps = &steps;
    if (hl_heapmap_open(&d.map, &a, err, sizeof err) != 0) {
        fprintf(stderr, "heaplab map: %s\n", err);
        hl_allocator_destroy(&a);
        hl_trace_free(t);
        return HL_EXIT_FAIL;
    }
    write_header(out, o, "trace", &steps);
    hl_replay_observer_t obs = {tr_alloc, tr_free, &d, tr_after};
    if (hl_replay_observed(&a, t, &obs, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        rc = HL_EXIT_FAIL;
    }
    else if (d.failed) {
        fprintf(stderr, "heaplab map: %s: %s\n", o->input, d.err);
        rc = HL_EXIT_FAIL;
    }
    fputs("\n]}\n", out);
    hl_heapmap_close(d.map);
    hl_allocator_destroy(&a);
    hl_trace_free(t);
    return rc;
}

static int run_script(const map_opts_t *o, FILE *out)
{
    char err[512];
    char *text;
    size_t len;
    if (read_file(o->input, &text, &len) != 0)
        return HL_EXIT_USAGE;
    static steps_t steps;
    static script_run_t r;
    static draw_t d;
    int rc = HL_EXIT_OK, status;
    memset(&steps, 0, sizeof steps);
    memset(&r, 0, sizeof r);
    memset(&d, 0, sizeof d);
    d.last_done = SIZE_MAX;

    /* pass 1: measure */
    if (hl_heapmap_open(&r.map, &r.target, err, sizeof err) != 0) {
        fprintf(stderr, "heaplab map: %s\n", err);
        free(text);
        return HL_EXIT_FAIL;
    }
    r.steps = &steps;
    if (script_pass(o, text, len, &r, &status) != 0 || r.failed) {
        rc = HL_EXIT_FAIL;
        goto done;
    }
    if (status == HL_SCRIPT_ERROR) {    /* the script's own error is printed */
        rc = HL_EXIT_USAGE;
        goto done;
    }
    /* A script without statements is drawn once, at its end (step 0): the
     * heap of a runtime that only started. */
    if (r.nlines == 0 && o->at == NULL) {
        steps.nwant = 1;
        steps.want[0] = 0;
    }
    else if (choose_steps(o, &steps, r.lines, r.nlines) != 0) {
        rc = HL_EXIT_USAGE;
        goto done;
    }
    hl_heapmap_close(r.map);

    /* pass 2: draw.  The recorder needs the allocator, which exists only
     * once the runtime has started: open it on a placeholder and point it
     * at the runtime's allocator from on_start (sr_start fills r.target). */
    r.map = NULL;
    r.steps = NULL;
    r.have_target = false;
    r.target = (hl_allocator_t){&no_view_ops, NULL, o->allocator};
    if (hl_heapmap_open(&r.map, &r.target, err, sizeof err) != 0) {
        fprintf(stderr, "heaplab map: %s\n", err);
        rc = HL_EXIT_FAIL;
        goto done;
    }
    d.map = r.map;
    d.out = out;
    d.steps = &steps;
    r.draw = &d;
    write_header(out, o, "script", &steps);
    if (script_pass(o, text, len, &r, &status) != 0) {
        rc = HL_EXIT_FAIL;
    }
    else if (d.failed) {
        fprintf(stderr, "heaplab map: %s: %s\n", o->input, d.err);
        rc = HL_EXIT_FAIL;
    }
    else if (status != HL_SCRIPT_OK) {
        rc = status == HL_SCRIPT_LEAK ? HL_EXIT_FAIL : HL_EXIT_USAGE;
    }
    fputs("\n]}\n", out);
done:
    hl_heapmap_close(r.map);
    if (r.lines)
        _hl_unmap(r.lines, r.cap_lines * sizeof *r.lines);
    free(text);
    return rc;
}

int hl_cmd_map(int argc, char **argv)
{
    map_opts_t o = {0};
    bool no_more_options = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int r;
        if (no_more_options || a[0] != '-' || strcmp(a, "-") == 0) {
            if (o.input) {
                fprintf(stderr, "heaplab map: one INPUT only ('%s' and '%s')\n", o.input, a);
                return HL_EXIT_USAGE;
            }
            o.input = a;
        } else if (strcmp(a, "--") == 0) {
            no_more_options = true;
        } else if ((r = hl_cli_option_value(PROG, argc, argv, &i, "--allocator", &v)) != 0) {
            if (r < 0)
                return HL_EXIT_USAGE;
            o.allocator = v;
        } else if ((r = hl_cli_option_value(PROG, argc, argv, &i, "--arenas", &v)) != 0) {
            if (r < 0)
                return HL_EXIT_USAGE;
            if (hl_arena_kind_parse(v, &o.aopt.arenas) != 0) {
                fprintf(stderr, "heaplab map: --arenas '%s': expected mmap or fixed\n", v);
                return HL_EXIT_USAGE;
            }
        } else if ((r = hl_cli_option_value(PROG, argc, argv, &i, "--at", &v)) != 0) {
            if (r < 0)
                return HL_EXIT_USAGE;
            o.at = v;
        } else if ((r = hl_cli_option_value(PROG, argc, argv, &i, "--frames", &v)) != 0) {
            if (r < 0)
                return HL_EXIT_USAGE;
            char *end;
            errno = 0;
            o.frames = strtol(v, &end, 10);
            if (errno || *end || o.frames < 1 || o.frames > MAP_MAX_FRAMES) {
                fprintf(stderr, "heaplab map: --frames '%s': expected 1..%d\n", v, MAP_MAX_FRAMES);
                return HL_EXIT_USAGE;
            }
        } else if ((r = hl_cli_option_value(PROG, argc, argv, &i, "--json", &v)) != 0) {
            if (r < 0)
                return HL_EXIT_USAGE;
            o.json = v;
        } else {
            fprintf(stderr, "heaplab map: unknown option '%s'\n", a);
            return HL_EXIT_USAGE;
        }
    }
    if (!o.allocator) {
        fprintf(stderr, "heaplab map: --allocator NAME is required\n");
        return HL_EXIT_USAGE;
    }
    if (!o.input) {
        fprintf(stderr, "heaplab map: no INPUT (a trace, or a heap script ending in .heap)\n");
        return HL_EXIT_USAGE;
    }
    if (o.at && o.frames) {
        fprintf(stderr, "heaplab map: --at and --frames exclude each other\n");
        return HL_EXIT_USAGE;
    }
    bool script = ends_with(o.input, ".heap");
    if (!script && !hl_registry_find(o.allocator)) {
        fprintf(stderr, "heaplab map: unknown allocator '%s' (see heaplab list)\n", o.allocator);
        return HL_EXIT_USAGE;
    }
    FILE *out = stdout;
    if (o.json && !(out = fopen(o.json, "w"))) {
        fprintf(stderr, "heaplab map: cannot write %s: %s\n", o.json, strerror(errno));
        return HL_EXIT_USAGE;
    }
    setvbuf(out, out_buf, _IOFBF, sizeof out_buf);
    int rc = script ? run_script(&o, out) : run_trace(&o, out);
    if (fflush(out) != 0 || ferror(out)) {
        fprintf(stderr, "heaplab map: write error on %s\n", o.json ? o.json : "standard output");
        rc = rc ? rc : HL_EXIT_FAIL;
    }
    if (out != stdout)
        fclose(out);
    return rc;
}
