/* names.c: the flat namespace of a heap script, NAME -> a strong reference.
 *
 * The namespace is a dict of the runtime, `env`, made right after start-up
 * exactly as the spec's Python equivalent makes it (`env = {}` after
 * gc.freeze()), with the NAMEs as str keys.  It has to be a real dict of
 * the runtime, not a table in C, because the collector sees it, and what
 * the collector sees decides what a script prints:
 *
 *   - An empty dict is untracked; `env` becomes tracked (joins generation
 *     0, at its tail) when the first value that may be tracked is bound --
 *     so its place in the generation list depends on the script.
 *   - A collection's move_unreachable() scans the young generation in list
 *     order.  Objects referenced only from young objects (everything bound
 *     only through `env`) that come before `env` are first moved out as
 *     tentatively unreachable, then moved back, to the list's tail, when
 *     `env` is traversed -- in env's order.
 *   - untrack_tuples() then walks that reordered list, and a tuple is
 *     untracked only if none of its items is a tuple still tracked at that
 *     moment.  So whether `tuple t2 s t1` is untracked by a collection
 *     depends on whether t1 was visited first: with
 *
 *         str s
 *         tuple t1 s          # t1 is made, then bound: env, tracked only
 *                             # now, joins generation 0 after t1
 *         tuple t2 s t1       # ... and before t2
 *         collect
 *
 *     the scan moves t1 behind t2, so t2 (which still sees t1 tracked)
 *     stays tracked: `tracked t2: yes`, as in CPython 3.11; with a `list x`
 *     bound first, env comes before t1 and both are untracked.  A
 *     namespace outside the runtime would untrack both in either case.
 *
 * Binding is dict assignment, so Python's order comes for free: the new
 * value is stored, then the old one released (insertdict's own order).
 * Dropping is `del env[N]`.  The end of a script clears the dict (its
 * entries are released in insertion order, the binding order: a name bound
 * again keeps its place, one dropped and bound again goes last), then
 * releases `env` itself, before the final collection and the leak check.
 *
 * Keys are made from the NAME at each binding (hl_dict_setitem_cstr); a
 * key is a str, which no collection sees, so the only difference from
 * CPython's constant keys is an allocation more per binding -- one more
 * place where fault injection can fail a statement with MemoryError.
 */
#include "script_internal.h"

#include <string.h>

/* The NAME as a C string (a NAME is at most 64 bytes, checked by lexer.c). */
static void cname(hl_script_tok_t name, char out[HL_SCRIPT_TOKEN_MAX + 1])
{
    size_t n = name.len <= HL_SCRIPT_TOKEN_MAX ? name.len : HL_SCRIPT_TOKEN_MAX;
    memcpy(out, name.p, n);
    out[n] = '\0';
}

hl_object_t *_hl_script_names_new(hl_runtime_t *rt)
{
    return hl_dict_new(rt);
}

hl_object_t *_hl_script_names_get(hl_object_t *env, hl_script_tok_t name)
{
    char key[HL_SCRIPT_TOKEN_MAX + 1];
    cname(name, key);
    return hl_dict_getitem_cstr(env, key);
}

int _hl_script_names_set(hl_runtime_t *rt, hl_object_t *env, hl_script_tok_t name,
                         hl_object_t *obj)
{
    char key[HL_SCRIPT_TOKEN_MAX + 1];
    cname(name, key);
    int rc = hl_dict_setitem_cstr(rt, env, key, obj);
    hl_decref(rt, obj);
    return rc;
}

int _hl_script_names_del(hl_runtime_t *rt, hl_object_t *env, hl_script_tok_t name)
{
    char key[HL_SCRIPT_TOKEN_MAX + 1];
    cname(name, key);
    if (!hl_dict_getitem_cstr(env, key))
        return 0;
    return hl_dict_delitem_cstr(rt, env, key) == 0 ? 1 : -1;
}

void _hl_script_names_drop_all(hl_runtime_t *rt, hl_object_t *env)
{
    hl_dict_clear(rt, env);
}
