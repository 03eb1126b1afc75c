/* interp.c: running a heap script over one heaplab runtime.
 *
 * The spec defines a script by the Python 3.11 program it stands for, and
 * this file is that program's interpreter, statement for statement:
 *
 *     start-up      hl_runtime_create(allocator)        the interpreter
 *                   hl_gc_disable, hl_gc_collect(2),    gc.disable(); gc.collect();
 *                   hl_gc_freeze                        gc.freeze()
 *                   usage recorded: the leak baseline
 *                   the names' dict (names.c)           env = {}
 *     each line     lexer.c, parse.c, then run here     env[...] = ...
 *                   opt->on_statement(line), if it ran
 *     end           every name dropped (binding order), (interpreter exit)
 *                   env released, hl_gc_collect(2),
 *                   opt->on_statement(0),
 *                   the leak check, hl_runtime_destroy
 *
 * Python's semantics, where a statement could go two ways:
 *
 *   - Binding: the new object is made first, then stored in env, then the
 *     old reference is released (`env[n] = x`); `alias a a` is harmless.
 *   - Operands are looked up in Python's evaluation order, so the first
 *     failure is Python's: `append L A` looks up L, then wants L.append
 *     (AttributeError for a non-list), then A; `setitem D KEY A` evaluates
 *     the right-hand side env[A] first, then env[D], then stores.
 *   - `pop L [INT]` on a dict is dict.pop(INT): keys are str, so it is
 *     always KeyError: INT.  The popped item of a list is released.
 *   - `collect G` and `threshold T...` convert their INTs to C ints as the
 *     gc module's argument parsing does: OverflowError first (with that
 *     parser's words), then ValueError("invalid generation").
 *
 * Errors are `FILE:LINE: error: MESSAGE` on err, after out is flushed (the
 * lines printed before stay printed), and stop the script: nothing after
 * the failing statement runs, the end-of-script leak check is skipped, and
 * the runtime is torn down as it stands.  MESSAGE is, for what Python
 * itself rejects, the last line of Python's traceback ("IndexError: pop
 * from empty list", "AttributeError: 'tuple' object has no attribute
 * 'append'"); an unbound name is "NameError: name 'x' is not bound" (the
 * oracle, which keeps names in a dict, says KeyError: 'x'); lexical and
 * arity errors are parse.c's, without a type.  Out of memory anywhere --
 * in the runtime (its NULL/-1 with HL_ERR_MEMORY) or in the interpreter's
 * own buffers -- is "MemoryError", an error like any other, never a crash.
 *
 * The leak check.  After the final collection every object the script made
 * is unreachable and must be gone: the runtime's usage (objects alive,
 * OBJ and MEM blocks; free lists are emptied by a full collection) is
 * compared with the baseline taken after start-up.  More of either is
 * `leak: N objects, M blocks still allocated`, exit status 3.
 */
#include "script.h"
#include "script_internal.h"

#include "heaplab/gc.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct interp_s {
    const char *name;
    FILE *out, *err;
    hl_runtime_t *rt;
    hl_object_t *env;               /* the names (names.c) */
    hl_script_toks_t toks;
    hl_object_t **items;            /* tuple items, borrowed */
    size_t items_cap;
    size_t lineno;
    const hl_script_options_t *opt;
    hl_runtime_usage_t base;        /* the leak baseline */
    char msg[HL_SCRIPT_MSG_MAX];
} interp_t;

/* ---- errors ------------------------------------------------------------- */

static int fail(interp_t *ip, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(interp_t *ip, const char *fmt, ...)
{
    char msg[HL_SCRIPT_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fflush(ip->out);
    fprintf(ip->err, "%s:%zu: error: %s\n", ip->name, ip->lineno, msg);
    fflush(ip->err);
    return -1;
}

/* The runtime's error indicator, as Python would print the exception. */
static int runtime_fail(interp_t *ip)
{
    static const char *const types[] = {
        [HL_ERR_NONE] = "SystemError",
        [HL_ERR_MEMORY] = "MemoryError",
        [HL_ERR_INDEX] = "IndexError",
        [HL_ERR_KEY] = "KeyError",
        [HL_ERR_TYPE] = "TypeError",
        [HL_ERR_VALUE] = "ValueError",
        [HL_ERR_OVERFLOW] = "OverflowError",
    };
    hl_error_t e = hl_runtime_error(ip->rt);
    const char *type = (unsigned)e < sizeof types / sizeof types[0] && types[e] ? types[e]
                                                                              : "SystemError";
    const char *msg = e == HL_ERR_NONE ? "error return without exception set"
                                       : hl_runtime_error_message(ip->rt);
    hl_runtime_clear_error(ip->rt);
    if (!msg || !*msg)
        return fail(ip, "%s", type);
    return fail(ip, "%s: %s", type, msg);
}

static int no_memory(interp_t *ip)
{
    return fail(ip, "MemoryError: out of memory");
}

/* ---- names -------------------------------------------------------------- */

static hl_object_t *lookup(interp_t *ip, hl_script_tok_t name)
{
    hl_object_t *op = _hl_script_names_get(ip->env, name);
    if (!op)
        fail(ip, "NameError: name '%.*s' is not bound", (int)name.len, name.p);
    return op;
}

/* Binds a new reference (NULL: the runtime failed to make it). */
static int bind(interp_t *ip, hl_script_tok_t name, hl_object_t *obj)
{
    if (!obj || _hl_script_names_set(ip->rt, ip->env, name, obj) != 0)
        return runtime_fail(ip);
    return 0;
}

/* ---- statements --------------------------------------------------------- */

static int no_attribute(interp_t *ip, hl_object_t *op, const char *attr)
{
    return fail(ip, "AttributeError: '%s' object has no attribute '%s'", hl_type_name(op), attr);
}

static int exec_tuple(interp_t *ip, const hl_script_stmt_t *st)
{
    size_t n = st->nopnd - 1;
    if (n > ip->items_cap) {
        if (n > SIZE_MAX / sizeof *ip->items)
            return no_memory(ip);
        hl_object_t **items = realloc(ip->items, n * sizeof *items);
        if (!items)
            return no_memory(ip);
        ip->items = items;
        ip->items_cap = n;
    }
    for (size_t i = 0; i < n; i++) {
        ip->items[i] = lookup(ip, st->opnd[1 + i]);
        if (!ip->items[i])
            return -1;
    }
    return bind(ip, st->opnd[0], hl_tuple_new(ip->rt, n, n ? ip->items : NULL));
}

/* The KEY operand (the second) as a C string; the lexer bounds its length. */
static void key_cstr(const hl_script_stmt_t *st, char key[HL_SCRIPT_TOKEN_MAX + 1])
{
    memcpy(key, st->opnd[1].p, st->opnd[1].len);
    key[st->opnd[1].len] = '\0';
}

static int exec_setitem(interp_t *ip, const hl_script_stmt_t *st)
{
    hl_object_t *v = lookup(ip, st->opnd[2]);   /* the right-hand side first */
    if (!v)
        return -1;
    hl_object_t *d = lookup(ip, st->opnd[0]);
    if (!d)
        return -1;
    switch (hl_kind(d)) {
    case HL_KIND_DICT: {
        char key[HL_SCRIPT_TOKEN_MAX + 1];
        key_cstr(st, key);
        return hl_dict_setitem_cstr(ip->rt, d, key, v) == 0 ? 0 : runtime_fail(ip);
    }
    case HL_KIND_LIST:
        return fail(ip, "TypeError: list indices must be integers or slices, not str");
    default:
        return fail(ip, "TypeError: '%s' object does not support item assignment",
                    hl_type_name(d));
    }
}

static int exec_delitem(interp_t *ip, const hl_script_stmt_t *st)
{
    hl_object_t *d = lookup(ip, st->opnd[0]);
    if (!d)
        return -1;
    switch (hl_kind(d)) {
    case HL_KIND_DICT: {
        char key[HL_SCRIPT_TOKEN_MAX + 1];
        key_cstr(st, key);
        if (!hl_dict_getitem_cstr(d, key))
            return fail(ip, "KeyError: '%s'", key);
        return hl_dict_delitem_cstr(ip->rt, d, key) == 0 ? 0 : runtime_fail(ip);
    }
    case HL_KIND_LIST:
        return fail(ip, "TypeError: list indices must be integers or slices, not str");
    default:
        return fail(ip, "TypeError: '%s' object does not support item deletion",
                    hl_type_name(d));
    }
}

static int exec_pop(interp_t *ip, const hl_script_stmt_t *st)
{
    int64_t index = st->nopnd == 2 ? st->ints[1] : -1;
    hl_object_t *l = lookup(ip, st->opnd[0]);
    if (!l)
        return -1;
    switch (hl_kind(l)) {
    case HL_KIND_LIST: {
        /* list.pop's own checks, in its order, before the runtime's. */
        int64_t n = (int64_t)hl_list_size(l);
        if (n == 0)
            return fail(ip, "IndexError: pop from empty list");
        int64_t i = index < 0 ? index + n : index;
        if (i < 0 || i >= n)
            return fail(ip, "IndexError: pop index out of range");
        hl_object_t *item = hl_list_pop(ip->rt, l, index);
        if (!item)
            return runtime_fail(ip);
#ifdef HL_PLANT_SCRIPT_POP_LEAK
        /* planted bug: the popped item, a new reference, is never released */
#else
        hl_decref(ip->rt, item);
#endif
        return 0;
    }
    case HL_KIND_DICT:
        return fail(ip, "KeyError: %lld", (long long)index);
    default:
        return no_attribute(ip, l, "pop");
    }
}

static int exec_collect(interp_t *ip, const hl_script_stmt_t *st)
{
    int64_t g = st->nopnd == 1 ? st->ints[0] : HL_GC_NUM_GENERATIONS - 1;
    if (g < INT_MIN || g > INT_MAX)
        return fail(ip, "OverflowError: Python int too large to convert to C int");
    if (g < 0 || g >= HL_GC_NUM_GENERATIONS)
        return fail(ip, "ValueError: invalid generation");
    ssize_t r = hl_gc_collect(ip->rt, (int)g);
    if (r < 0)
        return runtime_fail(ip);
    fprintf(ip->out, "collect %d: %zd\n", (int)g, r);
    return 0;
}

static int exec_threshold(interp_t *ip, const hl_script_stmt_t *st)
{
    int t[HL_GC_NUM_GENERATIONS];
    for (size_t i = 0; i < st->nopnd; i++) {
        if (st->ints[i] > INT_MAX)
            return fail(ip, "OverflowError: signed integer is greater than maximum");
        if (st->ints[i] < INT_MIN)
            return fail(ip, "OverflowError: signed integer is less than minimum");
        t[i] = (int)st->ints[i];
    }
    hl_gc_set_threshold(ip->rt, t, (int)st->nopnd);
    return 0;
}

static int exec_stmt(interp_t *ip, const hl_script_stmt_t *st)
{
    hl_runtime_t *rt = ip->rt;
    const hl_script_tok_t *o = st->opnd;
    hl_object_t *a, *b;

    hl_runtime_clear_error(rt);
    switch (st->op) {
    case HL_OP_LIST:
        return bind(ip, o[0], hl_list_new(rt));
    case HL_OP_DICT:
        return bind(ip, o[0], hl_dict_new(rt));
    case HL_OP_TUPLE:
        return exec_tuple(ip, st);
    case HL_OP_STR: {
        hl_script_tok_t text = st->nopnd == 2 ? o[1] : o[0];
        return bind(ip, o[0], hl_str_new(rt, text.p, text.len));
    }
    case HL_OP_INT:
        return bind(ip, o[0], hl_int_new(rt, st->ints[1]));
    case HL_OP_ALIAS:
        if (!(a = lookup(ip, o[1])))
            return -1;
        hl_incref(a);
        return bind(ip, o[0], a);
    case HL_OP_APPEND:
        if (!(a = lookup(ip, o[0])))
            return -1;
        if (hl_kind(a) != HL_KIND_LIST)
            return no_attribute(ip, a, "append");
        if (!(b = lookup(ip, o[1])))
            return -1;
        return hl_list_append(rt, a, b) == 0 ? 0 : runtime_fail(ip);
    case HL_OP_SETITEM:
        return exec_setitem(ip, st);
    case HL_OP_DELITEM:
        return exec_delitem(ip, st);
    case HL_OP_POP:
        return exec_pop(ip, st);
    case HL_OP_CLEAR:
        if (!(a = lookup(ip, o[0])))
            return -1;
        if (hl_kind(a) == HL_KIND_LIST)
            hl_list_clear(rt, a);
        else if (hl_kind(a) == HL_KIND_DICT)
            hl_dict_clear(rt, a);
        else
            return no_attribute(ip, a, "clear");
        return 0;
    case HL_OP_DROP:
        switch (_hl_script_names_del(rt, ip->env, o[0])) {
        case 1:
            return 0;
        case 0:
            return fail(ip, "NameError: name '%.*s' is not bound", (int)o[0].len, o[0].p);
        default:
            return runtime_fail(ip);
        }
    case HL_OP_COLLECT:
        return exec_collect(ip, st);
    case HL_OP_TRACKED:
        if (!(a = lookup(ip, o[0])))
            return -1;
        fprintf(ip->out, "tracked %.*s: %s\n", (int)o[0].len, o[0].p,
                hl_gc_is_tracked(a) ? "yes" : "no");
        return 0;
    case HL_OP_SIZEOF:
        if (!(a = lookup(ip, o[0])))
            return -1;
        fprintf(ip->out, "sizeof %.*s: %zu\n", (int)o[0].len, o[0].p, hl_sizeof(a));
        return 0;
    case HL_OP_COUNT: {
        int c[HL_GC_NUM_GENERATIONS];
        hl_gc_get_count(rt, c);
        fprintf(ip->out, "count: %d %d %d\n", c[0], c[1], c[2]);
        return 0;
    }
    case HL_OP_ENABLE:
        hl_gc_enable(rt);
        return 0;
    case HL_OP_DISABLE:
        hl_gc_disable(rt);
        return 0;
    case HL_OP_THRESHOLD:
        return exec_threshold(ip, st);
    }
    return fail(ip, "SystemError: unhandled statement %d", (int)st->op);
}

/* One line (without its '\n'); ip->lineno is its number. */
static int run_line(interp_t *ip, const char *line, size_t len)
{
    if (_hl_script_split(line, len, &ip->toks) != 0)
        return no_memory(ip);
    if (ip->toks.n == 0)
        return 0;
    hl_script_stmt_t st;
    if (_hl_script_parse(&ip->toks, &st, ip->msg) != 0)
        return fail(ip, "%s", ip->msg);
    if (exec_stmt(ip, &st) != 0)
        return -1;
    if (ip->opt->on_statement)
        ip->opt->on_statement(ip->rt, ip->lineno, ip->opt->user);
    return 0;
}

/* ---- start and end ------------------------------------------------------ */

static const hl_script_options_t default_options = {0};

static int start(interp_t *ip, const char *name, const hl_script_options_t *opt, FILE *out,
                 FILE *err)
{
    char e[256];
    memset(ip, 0, sizeof *ip);
    ip->name = name ? name : "-";
    ip->out = out;
    ip->err = err;
    ip->opt = opt;
    if (hl_runtime_create(opt->allocator, NULL, &ip->rt, e, sizeof e) != 0) {
        fprintf(err, "%s: error: cannot start the runtime: %s\n", ip->name, e);
        return -1;
    }
    /* gc.disable(); gc.collect(); gc.freeze(); env = {} -- the leak
     * baseline is taken before env, which is released before the check. */
    hl_gc_disable(ip->rt);
    hl_gc_collect(ip->rt, HL_GC_NUM_GENERATIONS - 1);
    hl_gc_freeze(ip->rt);
    hl_runtime_usage(ip->rt, &ip->base);
    ip->env = _hl_script_names_new(ip->rt);
    if (!ip->env) {
        hl_runtime_destroy(ip->rt);
        fprintf(err, "%s: error: cannot start: out of memory\n", ip->name);
        return -1;
    }
    if (opt->on_start)
        opt->on_start(ip->rt, opt->user);
    return 0;
}

static ssize_t above(ssize_t now, ssize_t base)
{
    return now > base ? now - base : 0;
}

/* The end of a script (failed: an error stopped it); returns the status. */
static int finish(interp_t *ip, bool failed, const hl_script_options_t *opt)
{
    int status = failed ? HL_SCRIPT_ERROR : HL_SCRIPT_OK;
    _hl_script_names_drop_all(ip->rt, ip->env);
    hl_decref(ip->rt, ip->env);
    ip->env = NULL;
    if (!failed) {
        hl_gc_collect(ip->rt, HL_GC_NUM_GENERATIONS - 1);
        if (opt->on_statement)
            opt->on_statement(ip->rt, 0, opt->user);
        hl_runtime_usage_t now;
        hl_runtime_usage(ip->rt, &now);
        ssize_t objects = above(now.objects, ip->base.objects);
        ssize_t blocks = above(now.obj_blocks, ip->base.obj_blocks)
                         + above(now.mem_blocks, ip->base.mem_blocks);
        if (objects > 0 || blocks > 0) {
            fflush(ip->out);
            fprintf(ip->err, "leak: %zd objects, %zd blocks still allocated\n", objects,
                    blocks);
            status = HL_SCRIPT_LEAK;
        }
    }
    fflush(ip->out);
    if (opt->stats)
        _hl_script_print_stats(ip->rt, ip->err);
    fflush(ip->err);
    _hl_script_toks_free(&ip->toks);
    free(ip->items);
    hl_runtime_destroy(ip->rt);
    return status;
}

/* ---- entry points ------------------------------------------------------- */

int hl_script_run(const char *name, const char *text, size_t len,
                  const hl_script_options_t *opt, FILE *out, FILE *err)
{
    interp_t ip;
    if (!opt)
        opt = &default_options;
    if (start(&ip, name, opt, out, err) != 0)
        return HL_SCRIPT_ERROR;
    int rc = 0;
    const char *p = text, *end = text + len;
    while (len > 0 && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        ip.lineno++;
        rc = run_line(&ip, p, nl ? (size_t)(nl - p) : (size_t)(end - p));
        if (!nl)
            break;
        p = nl + 1;
    }
    return finish(&ip, rc != 0, opt);
}

int hl_script_run_file(const char *name, FILE *in, const hl_script_options_t *opt,
                       FILE *out, FILE *err)
{
    interp_t ip;
    if (!opt)
        opt = &default_options;
    if (start(&ip, name, opt, out, err) != 0)
        return HL_SCRIPT_ERROR;
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    while (rc == 0) {
        errno = 0;
        ssize_t n = getline(&line, &cap, in);
        if (n < 0) {
            /* End of input, a read error, or no memory for the line. */
            int e = errno;
            if (ferror(in)) {
                ip.lineno++;
                rc = fail(&ip, "cannot read: %s", strerror(e ? e : EIO));
            } else if (e == ENOMEM || e == EOVERFLOW) {
                ip.lineno++;
                rc = no_memory(&ip);
            }
            break;
        }
        ip.lineno++;
        size_t len = (size_t)n;
        if (len > 0 && line[len - 1] == '\n')
            len--;
        rc = run_line(&ip, line, len);
    }
    free(line);
    return finish(&ip, rc != 0, opt);
}
