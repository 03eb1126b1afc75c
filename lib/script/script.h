/* script.h: heap scripts, version 1 (/work/shared/spec/heap-script.md).
 *
 * A heap script builds and tears down an object graph one statement a line
 * (`list a`, `append a a`, `drop a`, `collect`), so reference counting and
 * the cyclic collector of a heaplab runtime can be driven, observed and
 * compared with CPython 3.11 statement by statement:
 *
 *     hl_script_options_t opt = {.allocator = "pymalloc"};
 *     int status = hl_script_run("t.hs", "list a\nappend a a\ndrop a\ncollect\n",
 *                                33, &opt, stdout, stderr);
 *     // stdout: "collect 2: 1\n"; status == HL_SCRIPT_OK
 *
 * One call is one fresh runtime, started as the spec's equivalence says
 * (gc.disable(); gc.collect(); gc.freeze()), then every statement in order,
 * then the end of script: every name dropped, a full collection, the leak
 * check; then the runtime is destroyed, whatever happened.  Printed lines go
 * to `out`; errors (`FILE:LINE: error: MESSAGE`), the leak report and the
 * --stats report go to `err`.
 *
 * Watching a run (`heaplab generations` does): on_start sees the runtime
 * once it is up, on_statement after each statement.  A statement is a line
 * with at least one token once its comment is cut; blank and comment-only
 * lines are not statements and are not reported, nor is a statement that
 * failed (its error stops the script).  Line 0 comes once, at the end of a
 * script that ran to its end: every name dropped, `env` released, the final
 * full collection done, the leak check not yet made -- so the runtime then
 * holds the baseline's objects plus whatever leaked.  A script stopped by an
 * error gets no line 0 (there is no final collection).  The hooks run in
 * the middle of a script: collections they start or objects they leave
 * alive change what the script prints and what the leak check finds.
 */
#ifndef HL_SCRIPT_H
#define HL_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "heaplab/object.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Exit statuses. */
#define HL_SCRIPT_OK    0   /* ran to the end, nothing leaked */
#define HL_SCRIPT_ERROR 2   /* a statement failed, a bad token, the input could
                               not be read, or the runtime could not start */
#define HL_SCRIPT_LEAK  3   /* ran to the end, but objects or blocks leaked */

typedef struct hl_script_options_s {
    /* hl_runtime_create's name: any registry name, a PYTHONMALLOC-like
     * name ("malloc", "pymalloc_debug", ...), or NULL for "pymalloc". */
    const char *allocator;
    /* At the end, before the runtime goes: the collector's per-generation
     * stats, the final count and the MEM/OBJ allocator's stats, on `err`. */
    bool stats;
    /* For tests and fuzzers: called once, right after start-up (the leak
     * baseline is already taken), e.g. to put fault injection on the
     * runtime's domains.  Anything it installs must outlive the call to
     * hl_script_run*.  NULL: none.  When it runs, the names' dict (`env`,
     * empty) is the one object made since the baseline, so
     * hl_runtime_usage(rt).objects - 1 is the baseline's object count. */
    void (*on_start)(hl_runtime_t *rt, void *user);
    /* Called after every statement that ran, with its line number, and
     * once more with line 0 at the end of the script after the final full
     * collection, before the leak check.  NULL: none. */
    void (*on_statement)(hl_runtime_t *rt, size_t line, void *user);
    void *user;
} hl_script_options_t;

/* Runs the script text[0:len] (any bytes; NUL, CR and non-ASCII bytes are
 * bad tokens, never a crash).  `name` is the FILE of error messages.  opt
 * may be NULL (all defaults).  Returns HL_SCRIPT_OK, _ERROR or _LEAK. */
int hl_script_run(const char *name, const char *text, size_t len,
                  const hl_script_options_t *opt, FILE *out, FILE *err);

/* The same, reading the script from `in` one line at a time as it runs
 * (a line may be of any length that fits in memory). */
int hl_script_run_file(const char *name, FILE *in, const hl_script_options_t *opt,
                       FILE *out, FILE *err);

#ifdef __cplusplus
}
#endif
#endif /* HL_SCRIPT_H */
