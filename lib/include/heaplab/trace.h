/* heaplab/trace.h: allocation traces in glibc's mtrace format, replayed into
 * any allocator.
 *
 * A trace is parsed completely before anything is replayed, into a compact
 * array of operations (malloc, free, realloc of a *slot*), so that replay
 * times the allocator and not a text parser:
 *
 *     hl_trace_t *t;
 *     if (hl_trace_load("corpus/traces/json_tool.mtrace.gz", &t, err, sizeof err) != 0)
 *         ... err holds "TRACE:LINE: error: MESSAGE"
 *     hl_replay_report_t r;
 *     if (hl_replay("pymalloc", NULL, t, NULL, &r, err, sizeof err) != 0) ...
 *     printf("%.1f ns/op, peak footprint %zu\n", r.ns_per_op, r.peak_footprint_bytes);
 *     hl_trace_free(t);
 *
 * Slots.  The recorded program reuses addresses: 0x55d0c0a012a0 may be
 * malloc'ed, freed and malloc'ed again.  The parser gives each *live* block a
 * slot index (reused once the block is freed, so the number of slots is the
 * peak number of live blocks) and a realloc keeps its block's slot.  Replay
 * keeps one pointer per slot.
 *
 * Two passes (hl_replay), each on a fresh allocator instance:
 *   timed    only the operations, clock_gettime(CLOCK_MONOTONIC) around the
 *            whole loop; no checks, no stats.  Gives ns_per_op.
 *   verify   untimed.  Every byte of every block is written with a pattern
 *            derived from (slot, generation) when allocated and checked before
 *            the block is freed or realloc'ed (realloc must keep the first
 *            min(old, new) bytes); usable_size >= requested size; hl_check()
 *            every `check_every` ops and at the end; hl_stats() after every op
 *            gives the peak footprint (held_bytes minus its value at creation).
 * Blocks still live at the end of the trace are freed by the replayer, after
 * the clock stops.  The replayer's own arrays come from mmap, never malloc, so
 * they are not part of a malloc-based allocator's footprint.
 *
 * Errors.  Every function that can fail returns 0 or -1 and writes one line,
 * without a trailing newline, to err:
 *     TRACE:LINE: error: MESSAGE
 * TRACE is the path as given (`-` is shown as `<stdin>`).  A bad trace is the
 * caller's exit status 2 (HL_EXIT_USAGE); a failed verification names the
 * allocator, the op index and the trace line and is status 1.
 */
#ifndef HEAPLAB_TRACE_H
#define HEAPLAB_TRACE_H

#include "heaplab/allocator.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hl_trace_s hl_trace_t;   /* opaque, immutable once parsed */

/* What the parser saw: everything here is a property of the trace alone. */
typedef struct hl_trace_info_s {
    const char *name;          /* path as given; "<stdin>" for "-" */
    size_t lines;              /* lines read */
    size_t ops;                /* operations kept for replay */
    size_t mallocs;            /* `+` records (malloc, calloc, memalign, realloc(NULL)) */
    size_t frees;              /* `-` records */
    size_t reallocs;           /* `<` `>` pairs */
    size_t failed;             /* `+ (nil)` and `!` records: failed calls, not replayed */
    size_t slots;              /* = peak live blocks */
    size_t peak_live_bytes;    /* max over time of the requested bytes of live blocks */
    size_t peak_op;            /* the first op after which they are peak_live_bytes
                                  (1-based: after that many ops); 0 if never above 0 */
    size_t final_live_blocks;  /* live when the trace ends */
    size_t final_live_bytes;
    bool has_end;              /* the trace ended with `= End` */
} hl_trace_info_t;

/* Parse a trace file: plain text or gzip (detected from the data, not the
 * name), or "-" for standard input. */
int hl_trace_load(const char *path, hl_trace_t **out, char *err, size_t errlen);

/* Parse a trace held in memory; `name` is used in messages (tests). */
int hl_trace_parse_buffer(const char *name, const char *text, size_t len,
                          hl_trace_t **out, char *err, size_t errlen);

void hl_trace_free(hl_trace_t *t);
const hl_trace_info_t *hl_trace_info(const hl_trace_t *t);

/* Replay. */
typedef struct hl_replay_options_s {
    bool timed;               /* run the timed pass */
    bool verify;              /* run the verification pass */
    size_t check_every;       /* verify: hl_check() every N ops (0: the default, 4096) */
    FILE *stats_out;          /* verify: if non-NULL, hl_print_stats() here after the
                                 last op, before the live blocks are freed */
} hl_replay_options_t;
#define HL_REPLAY_CHECK_EVERY_DEFAULT 4096

typedef struct hl_replay_report_s {
    const char *allocator;        /* registry name */
    size_t ops;
    size_t mallocs, frees, reallocs;
    size_t peak_live_bytes;       /* from the trace: requested bytes */
    size_t peak_live_blocks;
    size_t final_live_bytes;
    size_t final_live_blocks;
    /* timed pass */
    bool timed;
    uint64_t elapsed_ns;
    double ns_per_op;
    /* verification pass */
    bool verified;
    bool footprint_known;         /* the allocator reports HL_STAT_HELD */
    size_t peak_footprint_bytes;  /* max(held_bytes - held at creation) */
    size_t final_footprint_bytes; /* ... after the last op, before the final frees */
    size_t checks;                /* hl_check() calls made */
} hl_replay_report_t;

/* Both passes by registry name, each on a fresh instance made with
 * hl_allocator_create(name, alloc_opt, ...); ropt NULL: both passes, default
 * check interval, no stats.  The instances are made one after the other,
 * never two at once. */
int hl_replay(const char *allocator, const hl_alloc_options_t *alloc_opt,
              const hl_trace_t *t, const hl_replay_options_t *ropt,
              hl_replay_report_t *rep, char *err, size_t errlen);

/* One pass into an instance the caller made (and destroys).  Each fills its
 * part of *rep (and the trace's fields); call hl_replay_report_init first.
 * hl_replay_timed only fails if it cannot map its slot array. */
void hl_replay_report_init(hl_replay_report_t *rep, const hl_trace_t *t, const char *allocator);
int hl_replay_timed(const hl_allocator_t *a, const hl_trace_t *t,
                    hl_replay_report_t *rep, char *err, size_t errlen);
int hl_replay_verify(const hl_allocator_t *a, const hl_trace_t *t,
                     const hl_replay_options_t *ropt, hl_replay_report_t *rep,
                     char *err, size_t errlen);

/* A third pass, for whoever measures something per block (the memory runs of
 * the benchmark suite, bench/workloads/traces.c): the trace's operations on
 * an instance the caller made (and destroys), untimed and unchecked, with an
 * observer told of every block as it comes and goes.  For op i of size n:
 *
 *     malloc   p = malloc(n);                      on_alloc(p, n)
 *     free     on_free(p, size of p);  free(p)
 *     realloc  on_free(p, size of p);  q = realloc(p, n);  on_alloc(q, n)
 *
 * sizes being the requested ones from the trace; then every block still live
 * at the end is on_free'd and freed, so the observer ends with nothing live.
 * on_free comes before the block is freed, so the observer may still ask
 * hl_usable_size() about it.  Nothing is checked: hl_replay_verify is the
 * correctness pass.  A NULL result from malloc or realloc ends the pass:
 * on_alloc(NULL, n) is called, every block still live (the old block of a
 * failed realloc included) is freed without telling the observer, and it
 * returns -1 with err "TRACE:LINE: error: ALLOCATOR: op I (KIND of N bytes):
 * KIND returned NULL".  It also fails if it cannot map its slot array. */
typedef struct hl_replay_observer_s {
    void (*on_alloc)(void *user, const void *p, size_t size);
    void (*on_free)(void *user, const void *p, size_t size);
    void *user;
    /* If non-NULL: after op i is done (and observed), before op i + 1, and
     * never after a failed op: the heap between two operations, for
     * whoever takes pictures of it (heaplab map). */
    void (*after_op)(void *user, size_t i);
} hl_replay_observer_t;
int hl_replay_observed(const hl_allocator_t *a, const hl_trace_t *t,
                       const hl_replay_observer_t *obs, char *err, size_t errlen);

/* Recording (heaplab record).  Runs argv[0] (searched in PATH) with
 *     LD_PRELOAD="libc_malloc_debug.so.0 STARTER"  MALLOC_TRACE=out
 * (plus PYTHONMALLOC=malloc if `python`), where STARTER is
 * libhl_mtrace_start.so, whose constructor calls mtrace() and then unsets
 * MALLOC_TRACE so the command's own children do not overwrite the trace.  If
 * `out` ends in ".gz" the trace goes to a temporary file beside it and is
 * gzip'ed (level 9) into `out`.  Returns the command's exit status (128+N if
 * killed by signal N, 127 if it could not be run), or -1 with err set if
 * recording itself failed. */
typedef struct hl_record_options_s {
    const char *out;          /* trace file */
    const char *starter;      /* path of libhl_mtrace_start.so; NULL: hl_record_find_starter */
    bool python;              /* PYTHONMALLOC=malloc */
} hl_record_options_t;

int hl_record(const hl_record_options_t *opt, char *const argv[], char *err, size_t errlen);

/* Where the starter is: $HEAPLAB_MTRACE_START if set, else
 * libhl_mtrace_start.so in the directory of /proc/self/exe, else in
 * ../trace/ from there (bazel-bin/lib/cli/heaplab-cli finds
 * bazel-bin/lib/trace/libhl_mtrace_start.so).  Returns 0 and the path in buf,
 * or -1 with err naming the places tried. */
int hl_record_find_starter(char *buf, size_t buflen, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* HEAPLAB_TRACE_H */
