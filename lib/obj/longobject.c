/* longobject.c: int, as far as memory goes (Objects/longobject.c, 3.11).
 *
 * An int is a PyVarObject of 30-bit digits, least significant first:
 *
 *     | ob_refcnt | ob_type | ob_size | digit 0 | digit 1 | ...
 *                            sign * ndigits       (0 for zero)
 *
 *   allocated bytes == 24 + 4 * max(1, ndigits)  (zero keeps one digit)
 *   getsizeof       == the same (gh-100637, in 3.11.2)
 *
 * Small ints.  -5..256 (NSMALLNEGINTS 5, NSMALLPOSINTS 257) are allocated
 * once, with the runtime, and every request for one of those values returns
 * the same object; they never come from the OBJ domain and are never freed.
 */
#include "object_internal.h"

static void long_dealloc(hl_runtime_t *rt, hl_object_t *self)
{
    /* A small int is owned by the runtime (refcount 1 held by it): reaching
     * 0 means somebody released a reference they did not own. */
    hl_assert(!((hl_object_t *)rt->singletons.small_ints <= self
                && self < (hl_object_t *)(rt->singletons.small_ints
                                          + _PY_NSMALLNEGINTS + _PY_NSMALLPOSINTS)));
    PyObject_Free_Object(rt, self);
}

static size_t long_sizeof(const hl_object_t *self)
{
    ssize_t size = Py_SIZE(self) < 0 ? -Py_SIZE(self) : Py_SIZE(self);
    return offsetof(PyLongObject, ob_digit) + (size_t)(size > 1 ? size : 1) * sizeof(digit);
}

const hl_type_t hl_long_type = {
    .tp_name = "int",
    .tp_basicsize = offsetof(PyLongObject, ob_digit),
    .tp_itemsize = sizeof(digit),
    .kind = HL_KIND_INT,
    .tp_dealloc = long_dealloc,
    .tp_sizeof = long_sizeof,
};

static void set_digits(PyLongObject *v, uint64_t abs_value, int ndigits, bool negative)
{
    for (int i = 0; i < ndigits; i++) {
        v->ob_digit[i] = (digit)(abs_value & PyLong_MASK);
        abs_value >>= PyLong_SHIFT;
    }
    Py_SET_SIZE(v, negative ? -ndigits : ndigits);
}

static int digits_for(uint64_t abs_value)
{
    int n = 0;
    while (abs_value != 0) {
        n++;
        abs_value >>= PyLong_SHIFT;
    }
    return n;
}

void _PyLong_InitSmallInts(hl_runtime_t *rt)
{
    for (int i = 0; i < _PY_NSMALLNEGINTS + _PY_NSMALLPOSINTS; i++) {
        PyLongObject *v = &rt->singletons.small_ints[i];
        int64_t ival = i - _PY_NSMALLNEGINTS;
        v->ob_base.ob_base.ob_refcnt = 1;
        v->ob_base.ob_base.ob_type = &hl_long_type;
        uint64_t a = ival < 0 ? (uint64_t)(-ival) : (uint64_t)ival;
        set_digits(v, a, digits_for(a), ival < 0);
        if (ival == 0)
            v->ob_digit[0] = 0;
    }
}

hl_object_t *hl_int_new(hl_runtime_t *rt, int64_t ival)
{
    if (IS_SMALL_INT(ival)) {
        hl_object_t *v = (hl_object_t *)&rt->singletons.small_ints[ival + _PY_NSMALLNEGINTS];
        Py_INCREF(v);
        return v;
    }
    bool negative = ival < 0;
    uint64_t a = negative ? (uint64_t)0 - (uint64_t)ival : (uint64_t)ival;
    int ndigits = digits_for(a);
    /* _PyLong_New: at least one digit is always allocated. */
    PyLongObject *v = hl_obj_malloc(rt, offsetof(PyLongObject, ob_digit)
                                            + (size_t)(ndigits ? ndigits : 1) * sizeof(digit));
    if (v == NULL)
        return hl_err_nomemory(rt);
    v->ob_base.ob_base.ob_type = &hl_long_type;
    _Py_NewReference(rt, (hl_object_t *)v);
    set_digits(v, a, ndigits, negative);
    return (hl_object_t *)v;
}

int64_t hl_int_value(const hl_object_t *op)
{
    hl_assert(Py_IS_TYPE(op, &hl_long_type));
    const PyLongObject *v = (const PyLongObject *)op;
    ssize_t n = Py_SIZE(op) < 0 ? -Py_SIZE(op) : Py_SIZE(op);
    uint64_t a = 0;
    for (ssize_t i = n - 1; i >= 0; i--)
        a = (a << PyLong_SHIFT) | v->ob_digit[i];
    return Py_SIZE(op) < 0 ? (int64_t)((uint64_t)0 - a) : (int64_t)a;
}
