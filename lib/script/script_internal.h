/* script_internal.h: what the files of the heap-script interpreter share.
 *
 * The pipeline, one line at a time (interp.c drives it):
 *
 *     bytes of one line --lexer.c--> tokens --parse.c--> statement
 *         --interp.c--> objects of one hl_runtime_t, bound in names.c
 *
 * The token buffer and the tuple item buffer live in the C heap; the names
 * live in a dict of the runtime, as in the spec's Python program (names.c
 * says why), made after the leak baseline and released before the check.
 *
 * Messages are written into a caller's buffer of HL_SCRIPT_MSG_MAX bytes;
 * every one fits (tokens are quoted at most 40 bytes long, 5 bytes each
 * once escaped).
 */
#ifndef HL_SCRIPT_INTERNAL_H
#define HL_SCRIPT_INTERNAL_H

#ifndef HL_BUILD_CORE
#error "script_internal.h is internal to heaplab; build with -DHL_BUILD_CORE"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "heaplab/object.h"

#define HL_SCRIPT_MSG_MAX   512
#define HL_SCRIPT_TOKEN_MAX 64    /* NAME, KEY and TEXT: at most 64 bytes */

/* ---------------------------------------------------------------------- */
/* "lexer.c": lines into tokens, and the lexical classes */

typedef struct hl_script_tok_s {
    const char *p;     /* into the line; not NUL-terminated */
    size_t len;        /* >= 1 */
} hl_script_tok_t;

/* The tokens of one line, in a buffer reused from line to line. */
typedef struct hl_script_toks_s {
    hl_script_tok_t *v;
    size_t n, cap;
} hl_script_toks_t;

/* Splits line[0:len] (no '\n') into toks: everything from the first '#' on
 * is dropped, then tokens are the maximal runs of bytes other than ' ' and
 * '\t'.  0 tokens: a blank or comment-only line.  Returns 0, or -1 if the
 * buffer cannot grow (out of memory). */
int _hl_script_split(const char *line, size_t len, hl_script_toks_t *toks);
void _hl_script_toks_free(hl_script_toks_t *toks);

/* Each checks one token; 0, or -1 with the message ("bad NAME 'a-b'") in
 * msg[HL_SCRIPT_MSG_MAX].  `what` names the class in messages ("KEY",
 * "TEXT"). */
int _hl_script_check_name(hl_script_tok_t t, char *msg);
int _hl_script_check_key(hl_script_tok_t t, const char *what, char *msg);
int _hl_script_parse_int(hl_script_tok_t t, int64_t *out, char *msg);

/* A token (its first `max` bytes) as a message shows it: Python's repr()
 * of the bytes decoded as ASCII with backslashreplace, so 'a\r' reads
 * 'a\\r' and byte 0xff reads '\\xff'.  Writes at most 5*max+3 bytes plus
 * the NUL into buf; `ellipsis` appends "..." inside the quotes. */
void _hl_script_show(char *buf, size_t buflen, const char *p, size_t n, bool ellipsis);

/* ---------------------------------------------------------------------- */
/* "parse.c": the statement table */

typedef enum hl_script_op_e {
    HL_OP_LIST, HL_OP_DICT, HL_OP_TUPLE, HL_OP_STR, HL_OP_INT, HL_OP_ALIAS,
    HL_OP_APPEND, HL_OP_SETITEM, HL_OP_DELITEM, HL_OP_POP, HL_OP_CLEAR,
    HL_OP_DROP, HL_OP_COLLECT, HL_OP_TRACKED, HL_OP_SIZEOF, HL_OP_COUNT,
    HL_OP_ENABLE, HL_OP_DISABLE, HL_OP_THRESHOLD,
} hl_script_op_t;

/* One statement, every operand checked.  opnd[i] is operand i's token;
 * for an INT operand, ints[i] is its value (INT operands are always among
 * the first three).  Statements with optional operands have nopnd as
 * written: the defaults (TEXT = N, pop's -1, collect's 2) are interp.c's. */
typedef struct hl_script_stmt_s {
    hl_script_op_t op;
    const hl_script_tok_t *opnd;
    size_t nopnd;
    int64_t ints[3];
} hl_script_stmt_t;

/* toks (n >= 1) into *st: 0, or -1 with the message in msg ("unknown
 * statement 'lst'", "append takes 2 operands, got 1", "bad NAME '1a'").
 * The statement points into toks. */
int _hl_script_parse(const hl_script_toks_t *toks, hl_script_stmt_t *st, char *msg);

/* ---------------------------------------------------------------------- */
/* "names.c": the flat namespace, the runtime dict `env` (NAME -> a strong
 * reference) */

/* env = {}: a new reference, or NULL (the runtime's error set). */
hl_object_t *_hl_script_names_new(hl_runtime_t *rt);

/* The object bound to the name (borrowed), or NULL if it is not bound. */
hl_object_t *_hl_script_names_get(hl_object_t *env, hl_script_tok_t name);

/* env[name] = obj, stealing the reference to obj (released even on
 * failure).  The old value is released after the new one is stored, as
 * Python's assignment does.  0, or -1 with the runtime's error set. */
int _hl_script_names_set(hl_runtime_t *rt, hl_object_t *env, hl_script_tok_t name,
                         hl_object_t *obj);

/* del env[name]: 1, 0 if the name is not bound, -1 with the runtime's
 * error set. */
int _hl_script_names_del(hl_runtime_t *rt, hl_object_t *env, hl_script_tok_t name);

/* env.clear(): every name unbound, the references released in binding
 * order (the end of a script). */
void _hl_script_names_drop_all(hl_runtime_t *rt, hl_object_t *env);

/* ---------------------------------------------------------------------- */
/* "stats.c": the --stats report */

/* The collector's stats per generation, the count and the MEM/OBJ
 * allocator's stats, on err. */
void _hl_script_print_stats(hl_runtime_t *rt, FILE *err);

#endif /* HL_SCRIPT_INTERNAL_H */
