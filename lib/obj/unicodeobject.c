/* unicodeobject.c: str, compact ASCII only (Objects/unicodeobject.c, 3.11).
 *
 * A compact ASCII string is one block: the 48-byte PyASCIIObject header
 * (3.11 still carries the wstr pointer PEP 623 removes in 3.12) followed by
 * the characters and a NUL:
 *
 *     | ob_refcnt | ob_type | length | hash | state | wstr | c0 c1 ... \0 |
 *
 *   getsizeof == 48 + length + 1
 *
 * The hash is computed once and cached (-1 means not yet).  CPython uses
 * SipHash-1-3 with a per-process random key; heaplab uses FNV-1a.  Nothing
 * observable depends on the function: dicts keep insertion order and their
 * sizes depend only on how many entries they have had.
 */
#include "object_internal.h"

#define STATE_KIND_1BYTE (1u << 2)
#define STATE_COMPACT    (1u << 5)
#define STATE_ASCII      (1u << 6)
#define STATE_READY      (1u << 7)

static void unicode_dealloc(hl_runtime_t *rt, hl_object_t *op)
{
    PyObject_Free_Object(rt, op);
}

static size_t unicode_sizeof(const hl_object_t *op)
{
    return sizeof(PyASCIIObject) + (size_t)((const PyASCIIObject *)op)->length + 1;
}

const hl_type_t hl_unicode_type = {
    .tp_name = "str",
    .tp_basicsize = sizeof(PyASCIIObject),
    .kind = HL_KIND_STR,
    .tp_dealloc = unicode_dealloc,
    .tp_sizeof = unicode_sizeof,
};

hl_object_t *hl_str_new(hl_runtime_t *rt, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] >= 0x80) {
            hl_err_set(rt, HL_ERR_TYPE, "heaplab strs are ASCII only");
            return NULL;
        }
    }
    if (len > HL_PY_SSIZE_T_MAX - sizeof(PyASCIIObject) - 1)
        return hl_err_nomemory(rt);
    PyASCIIObject *u = hl_obj_malloc(rt, sizeof(PyASCIIObject) + len + 1);
    if (u == NULL)
        return hl_err_nomemory(rt);
    u->ob_base.ob_type = &hl_unicode_type;
    _Py_NewReference(rt, (hl_object_t *)u);
    u->length = (ssize_t)len;
    u->hash = -1;
    u->state = STATE_KIND_1BYTE | STATE_COMPACT | STATE_ASCII | STATE_READY;
    u->wstr = NULL;
    memcpy(PyUnicode_DATA(u), s, len);
    PyUnicode_DATA(u)[len] = '\0';
    return (hl_object_t *)u;
}

hl_object_t *hl_str_from_cstr(hl_runtime_t *rt, const char *s)
{
    return hl_str_new(rt, s, strlen(s));
}

const char *hl_str_data(const hl_object_t *op)
{
    hl_assert(Py_IS_TYPE(op, &hl_unicode_type));
    return PyUnicode_DATA(op);
}

size_t hl_str_len(const hl_object_t *op)
{
    hl_assert(Py_IS_TYPE(op, &hl_unicode_type));
    return (size_t)((const PyASCIIObject *)op)->length;
}

ssize_t _hl_str_hash_bytes(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3u;
    }
    ssize_t x = (ssize_t)h;
    return x == -1 ? -2 : x;
}

ssize_t _hl_str_hash(hl_object_t *op)
{
    PyASCIIObject *u = (PyASCIIObject *)op;
    if (u->hash == -1)
        u->hash = _hl_str_hash_bytes(PyUnicode_DATA(u), (size_t)u->length);
    return u->hash;
}
