/* parse.c: the statements of heap scripts, version 1, and their operands.
 *
 * The statement table.  Operand classes are lexer.c's; "opt" is how many of
 * the trailing operands may be left out (interp.c supplies the defaults):
 *
 *     statement   operands               opt   default
 *     list        NAME                   0
 *     dict        NAME                   0
 *     tuple       NAME NAME...           any   no items: the () singleton
 *     str         NAME TEXT              1     TEXT = the NAME
 *     int         NAME INT               0
 *     alias       NAME NAME              0
 *     append      NAME NAME              0
 *     setitem     NAME KEY NAME          0
 *     delitem     NAME KEY               0
 *     pop         NAME INT               1     -1
 *     clear       NAME                   0
 *     drop        NAME                   0
 *     collect     INT                    1     2
 *     tracked     NAME                   0
 *     sizeof      NAME                   0
 *     count                              0
 *     enable                             0
 *     disable                            0
 *     threshold   INT INT INT            2
 *
 * A statement is checked whole before any of it runs, in this order, so
 * the first problem is the one reported (the oracle translates a line into
 * Python the same way before running it):
 *
 *   1. the statement word: `unknown statement 'lst'` (shown by its first 40
 *      bytes);
 *   2. the number of operands: `append takes 2 operands, got 1`, `str takes
 *      1 to 2 operands, got 0`, `tuple takes at least 1 operand, got 0`;
 *   3. each operand, left to right, against its class: `bad NAME '1a'`.
 *
 * Whether a NAME is bound, and every other rule Python itself enforces
 * (types, ranges, generations), is checked when the statement runs.
 */
#include "script_internal.h"

#include <string.h>

typedef enum operand_kind_e { K_NAME, K_KEY, K_TEXT, K_INT } operand_kind_t;

#define VARIADIC 255    /* opt: any number of the last kind, at least one */

typedef struct stmt_def_s {
    const char *word;
    hl_script_op_t op;
    unsigned char nkinds;
    unsigned char opt;
    operand_kind_t kinds[3];
} stmt_def_t;

static const stmt_def_t statements[] = {
    {"list",      HL_OP_LIST,      1, 0,        {K_NAME}},
    {"dict",      HL_OP_DICT,      1, 0,        {K_NAME}},
    {"tuple",     HL_OP_TUPLE,     2, VARIADIC, {K_NAME, K_NAME}},
    {"str",       HL_OP_STR,       2, 1,        {K_NAME, K_TEXT}},
    {"int",       HL_OP_INT,       2, 0,        {K_NAME, K_INT}},
    {"alias",     HL_OP_ALIAS,     2, 0,        {K_NAME, K_NAME}},
    {"append",    HL_OP_APPEND,    2, 0,        {K_NAME, K_NAME}},
    {"setitem",   HL_OP_SETITEM,   3, 0,        {K_NAME, K_KEY, K_NAME}},
    {"delitem",   HL_OP_DELITEM,   2, 0,        {K_NAME, K_KEY}},
    {"pop",       HL_OP_POP,       2, 1,        {K_NAME, K_INT}},
    {"clear",     HL_OP_CLEAR,     1, 0,        {K_NAME}},
    {"drop",      HL_OP_DROP,      1, 0,        {K_NAME}},
    {"collect",   HL_OP_COLLECT,   1, 1,        {K_INT}},
    {"tracked",   HL_OP_TRACKED,   1, 0,        {K_NAME}},
    {"sizeof",    HL_OP_SIZEOF,    1, 0,        {K_NAME}},
    {"count",     HL_OP_COUNT,     0, 0,        {K_NAME}},
    {"enable",    HL_OP_ENABLE,    0, 0,        {K_NAME}},
    {"disable",   HL_OP_DISABLE,   0, 0,        {K_NAME}},
    {"threshold", HL_OP_THRESHOLD, 3, 2,        {K_INT, K_INT, K_INT}},
};
#define NSTATEMENTS (sizeof statements / sizeof statements[0])

static const stmt_def_t *lookup(hl_script_tok_t word)
{
    for (size_t i = 0; i < NSTATEMENTS; i++) {
        if (strlen(statements[i].word) == word.len
            && memcmp(statements[i].word, word.p, word.len) == 0)
            return &statements[i];
    }
    return NULL;
}

static int arity_error(const stmt_def_t *d, size_t got, char *msg)
{
    size_t lo, hi;
    if (d->opt == VARIADIC) {
        snprintf(msg, HL_SCRIPT_MSG_MAX, "%s takes at least %d operand%s, got %zu", d->word,
                 d->nkinds - 1, d->nkinds - 1 == 1 ? "" : "s", got);
        return -1;
    }
    lo = (size_t)(d->nkinds - d->opt);
    hi = d->nkinds;
    if (lo == hi)
        snprintf(msg, HL_SCRIPT_MSG_MAX, "%s takes %zu operand%s, got %zu", d->word, lo,
                 lo == 1 ? "" : "s", got);
    else
        snprintf(msg, HL_SCRIPT_MSG_MAX, "%s takes %zu to %zu operands, got %zu", d->word, lo,
                 hi, got);
    return -1;
}

static int check_operand(operand_kind_t kind, hl_script_tok_t t, int64_t *ival, char *msg)
{
    switch (kind) {
    case K_NAME:
        return _hl_script_check_name(t, msg);
    case K_KEY:
        return _hl_script_check_key(t, "KEY", msg);
    case K_TEXT:
        return _hl_script_check_key(t, "TEXT", msg);
    case K_INT:
        return _hl_script_parse_int(t, ival, msg);
    }
    return -1;
}

int _hl_script_parse(const hl_script_toks_t *toks, hl_script_stmt_t *st, char *msg)
{
    const stmt_def_t *d = lookup(toks->v[0]);
    if (!d) {
        char shown[HL_SCRIPT_MSG_MAX / 2];
        size_t n = toks->v[0].len < 40 ? toks->v[0].len : 40;
        _hl_script_show(shown, sizeof shown, toks->v[0].p, n, false);
        snprintf(msg, HL_SCRIPT_MSG_MAX, "unknown statement %s", shown);
        return -1;
    }
    size_t nopnd = toks->n - 1;
    if (d->opt == VARIADIC) {
        if (nopnd < (size_t)d->nkinds - 1)
            return arity_error(d, nopnd, msg);
    } else if (nopnd < (size_t)(d->nkinds - d->opt) || nopnd > d->nkinds) {
        return arity_error(d, nopnd, msg);
    }

    st->op = d->op;
    st->opnd = toks->v + 1;
    st->nopnd = nopnd;
    memset(st->ints, 0, sizeof st->ints);
    for (size_t i = 0; i < nopnd; i++) {
        operand_kind_t kind = i < d->nkinds ? d->kinds[i] : d->kinds[d->nkinds - 1];
        int64_t v = 0;
        if (check_operand(kind, st->opnd[i], &v, msg) != 0)
            return -1;
        if (i < 3)
            st->ints[i] = v;
    }
    return 0;
}
