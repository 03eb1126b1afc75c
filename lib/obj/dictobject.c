/* dictobject.c: dict with str keys, its tables, free lists and tracking
 * (Objects/dictobject.c, 3.11; combined tables of kind DICT_KEYS_UNICODE,
 * the only kind a dict whose keys are all str has).
 *
 *   PyDictObject                   PyDictKeysObject (one OBJ block)
 *   | refcnt | type |              +----------------------------------+
 *   | ma_used        |             | dk_refcnt, log2_size, log2_index |
 *   | ma_version_tag |             | kind, version, usable, nentries  |
 *   | ma_keys  ------+-----------> | dk_indices: 2**log2_size slots,  |
 *   | ma_values=NULL |             |   1/2/4/8 bytes each, -1 empty,  |
 *                                  |   -2 dummy, else an entry index  |
 *                                  | entries: usable x {key, value}   |
 *                                  +----------------------------------+
 *
 *   size == 2**log2_size >= 8;  usable fraction == size*2/3 (5 of 8)
 *   dk_usable + dk_nentries == USABLE_FRACTION(size)   (deletions do not
 *                                                        give slots back)
 *   ma_used == entries with a value <= dk_nentries
 *   getsizeof == 48 + 16 + (dk_refcnt == 1 ? 32 + 2**log2_index_bytes
 *                                            + 16 * USABLE_FRACTION(size) : 0)
 *
 * An empty dict shares Py_EMPTY_KEYS (usable 0), so its first insertion
 * makes an 8-slot table and every insertion with dk_usable == 0 resizes to
 * the smallest power of 2 >= ma_used*3 (GROWTH_RATE), which also compacts
 * deleted entries away -- and can shrink.
 *
 * Free lists: up to PyDict_MAXFREELIST (80) dead dicts, and up to 80 key
 * tables of the minimum size.
 *
 * Tracking.  A new dict is untracked; inserting a key or value that may be
 * tracked (_PyObject_GC_MAY_BE_TRACKED) tracks it (MAINTAIN_TRACKING), and
 * only a full collection untracks it again (_PyDict_MaybeUntrack) once no
 * value may be tracked.
 */
#include "object_internal.h"

_Static_assert(PyDict_MAXFREELIST > 0, "the dict free lists have room");

#define DKIX_EMPTY (-1)
#define DKIX_DUMMY (-2)
#define PERTURB_SHIFT 5
#define USABLE_FRACTION(n) (((n) << 1) / 3)
/* GROWTH_RATE: the new table holds at least used*3 slots. */
#define GROWTH_RATE(d) ((d)->ma_used * 3)

#define DK_LOG_SIZE(dk) ((dk)->dk_log2_size)
#define DK_SIZE(dk)     (((int64_t)1) << DK_LOG_SIZE(dk))
#define DK_MASK(dk)     (DK_SIZE(dk) - 1)
#define DK_IS_UNICODE(dk) ((dk)->dk_kind != DICT_KEYS_GENERAL)

static inline PyDictUnicodeEntry *DK_UNICODE_ENTRIES(PyDictKeysObject *dk)
{
    return (PyDictUnicodeEntry *)(&dk->dk_indices[(size_t)1 << dk->dk_log2_index_bytes]);
}

/* Py_EMPTY_KEYS: shared by every empty dict of every runtime.  heaplab
 * never writes it (CPython counts references to it; nothing observable
 * depends on that count except that it is never 1). */
static const struct {
    ssize_t dk_refcnt;
    uint8_t dk_log2_size;
    uint8_t dk_log2_index_bytes;
    uint8_t dk_kind;
    uint32_t dk_version;
    ssize_t dk_usable;
    ssize_t dk_nentries;
    int8_t dk_indices[PyDict_MINSIZE];
} empty_keys_struct = {
    .dk_refcnt = 2,
    .dk_log2_size = PyDict_LOG_MINSIZE,
    .dk_log2_index_bytes = PyDict_LOG_MINSIZE,
    .dk_kind = DICT_KEYS_UNICODE,
    .dk_version = 1,
    .dk_usable = 0,
    .dk_nentries = 0,
    .dk_indices = {-1, -1, -1, -1, -1, -1, -1, -1},
};
_Static_assert(offsetof(__typeof__(empty_keys_struct), dk_indices)
                   == offsetof(PyDictKeysObject, dk_indices),
               "Py_EMPTY_KEYS has PyDictKeysObject's layout");
#define Py_EMPTY_KEYS ((PyDictKeysObject *)&empty_keys_struct)

/* lookup indices.  returns DKIX_EMPTY, DKIX_DUMMY, or ix >=0 */
static inline ssize_t dictkeys_get_index(const PyDictKeysObject *keys, size_t i)
{
    int log2size = DK_LOG_SIZE(keys);
    if (log2size < 8)
        return ((const int8_t *)(keys->dk_indices))[i];
    if (log2size < 16)
        return ((const int16_t *)(keys->dk_indices))[i];
    if (log2size >= 32)
        return ((const int64_t *)(keys->dk_indices))[i];
    return ((const int32_t *)(keys->dk_indices))[i];
}

/* write to indices. */
static inline void dictkeys_set_index(PyDictKeysObject *keys, size_t i, ssize_t ix)
{
    int log2size = DK_LOG_SIZE(keys);
    if (log2size < 8)
        ((int8_t *)(keys->dk_indices))[i] = (int8_t)ix;
    else if (log2size < 16)
        ((int16_t *)(keys->dk_indices))[i] = (int16_t)ix;
    else if (log2size >= 32)
        ((int64_t *)(keys->dk_indices))[i] = (int64_t)ix;
    else
        ((int32_t *)(keys->dk_indices))[i] = (int32_t)ix;
}

static inline uint8_t calculate_log2_keysize(ssize_t minsize)
{
    minsize = (minsize | PyDict_MINSIZE) - 1;
    uint8_t bits = 0;
    while ((size_t)(minsize | (PyDict_MINSIZE - 1)) >> bits)
        bits++;
    return bits;
}

static PyDictKeysObject *new_keys_object(hl_runtime_t *rt, uint8_t log2_size)
{
    PyDictKeysObject *dk;
    ssize_t usable;
    int log2_bytes;
    size_t entry_size = sizeof(PyDictUnicodeEntry);

    hl_assert_internal(log2_size >= PyDict_LOG_MINSIZE);
    usable = USABLE_FRACTION((ssize_t)1 << log2_size);
    if (log2_size < 8)
        log2_bytes = log2_size;
    else if (log2_size < 16)
        log2_bytes = log2_size + 1;
    else if (log2_size >= 32)
        log2_bytes = log2_size + 3;
    else
        log2_bytes = log2_size + 2;

    if (log2_size == PyDict_LOG_MINSIZE && rt->dict_state.keys_numfree > 0) {
        dk = rt->dict_state.keys_free_list[--rt->dict_state.keys_numfree];
    }
    else {
        size_t bytes = sizeof(PyDictKeysObject) + ((size_t)1 << log2_bytes)
                       + entry_size * (size_t)usable;
        dk = hl_obj_malloc(rt, bytes);
        if (dk == NULL)
            return hl_err_nomemory(rt);
    }
    dk->dk_refcnt = 1;
    dk->dk_log2_size = log2_size;
    dk->dk_log2_index_bytes = (uint8_t)log2_bytes;
    dk->dk_kind = DICT_KEYS_UNICODE;
    dk->dk_nentries = 0;
    dk->dk_usable = usable;
    dk->dk_version = 0;
    memset(&dk->dk_indices[0], 0xff, ((size_t)1 << log2_bytes));
    memset(&dk->dk_indices[(size_t)1 << log2_bytes], 0, entry_size * (size_t)usable);
    return dk;
}

/* Give a key table back: to the keys free list if it is of the minimum
 * size and the list has room, else to the OBJ domain. */
static void keys_release_memory(hl_runtime_t *rt, PyDictKeysObject *keys)
{
    if (DK_LOG_SIZE(keys) == PyDict_LOG_MINSIZE
        && rt->dict_state.keys_numfree < PyDict_MAXFREELIST && DK_IS_UNICODE(keys)) {
        rt->dict_state.keys_free_list[rt->dict_state.keys_numfree++] = keys;
        return;
    }
    hl_obj_free(rt, keys);
}

static void free_keys_object(hl_runtime_t *rt, PyDictKeysObject *keys)
{
    PyDictUnicodeEntry *entries = DK_UNICODE_ENTRIES(keys);
    for (ssize_t i = 0, n = keys->dk_nentries; i < n; i++) {
        Py_XDECREF(rt, entries[i].me_key);
        Py_XDECREF(rt, entries[i].me_value);
    }
    keys_release_memory(rt, keys);
}

static inline void dictkeys_decref(hl_runtime_t *rt, PyDictKeysObject *dk)
{
    if (dk == Py_EMPTY_KEYS)
        return;
    hl_assert_internal(dk->dk_refcnt == 1);
    if (--dk->dk_refcnt == 0)
        free_keys_object(rt, dk);
}

static bool unicode_eq(hl_object_t *a, hl_object_t *b)
{
    const PyASCIIObject *ua = (const PyASCIIObject *)a, *ub = (const PyASCIIObject *)b;
    return ua->length == ub->length
           && memcmp(PyUnicode_DATA(a), PyUnicode_DATA(b), (size_t)ua->length) == 0;
}

/* unicodekeys_lookup_unicode: the entry index of key, or DKIX_EMPTY. */
static ssize_t unicodekeys_lookup_unicode(PyDictKeysObject *dk, hl_object_t *key,
                                          ssize_t hash)
{
    PyDictUnicodeEntry *ep0 = DK_UNICODE_ENTRIES(dk);
    size_t mask = (size_t)DK_MASK(dk);
    size_t perturb = (size_t)hash;
    size_t i = (size_t)hash & mask;
    for (;;) {
        ssize_t ix = dictkeys_get_index(dk, i);
        if (ix >= 0) {
            PyDictUnicodeEntry *ep = &ep0[ix];
            hl_assert_internal(ep->me_key != NULL);
            if (ep->me_key == key
                || (_hl_str_hash(ep->me_key) == hash && unicode_eq(ep->me_key, key)))
                return ix;
        }
        else if (ix == DKIX_EMPTY) {
            return DKIX_EMPTY;
        }
        perturb >>= PERTURB_SHIFT;
        i = mask & (i * 5 + perturb + 1);
    }
}

/* lookdict_index: the slot of dk_indices that holds entry `index`. */
static ssize_t lookdict_index(PyDictKeysObject *k, ssize_t hash, ssize_t index)
{
    size_t mask = (size_t)DK_MASK(k);
    size_t perturb = (size_t)hash;
    size_t i = (size_t)hash & mask;
    for (;;) {
        ssize_t ix = dictkeys_get_index(k, i);
        if (ix == index)
            return (ssize_t)i;
        if (ix == DKIX_EMPTY)
            return DKIX_EMPTY;
        perturb >>= PERTURB_SHIFT;
        i = mask & (i * 5 + perturb + 1);
    }
}

/* Internal function to find slot for an item from its hash when it is known
 * that the key is not present in the dict. */
static size_t find_empty_slot(PyDictKeysObject *keys, ssize_t hash)
{
    const size_t mask = (size_t)DK_MASK(keys);
    size_t i = (size_t)hash & mask;
    ssize_t ix = dictkeys_get_index(keys, i);
    for (size_t perturb = (size_t)hash; ix >= 0;) {
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + perturb + 1) & mask;
        ix = dictkeys_get_index(keys, i);
    }
    return i;
}

static void build_indices_unicode(PyDictKeysObject *keys, PyDictUnicodeEntry *ep, ssize_t n)
{
    size_t mask = (size_t)DK_MASK(keys);
    for (ssize_t ix = 0; ix != n; ix++, ep++) {
        ssize_t hash = _hl_str_hash(ep->me_key);
        size_t i = (size_t)hash & mask;
        for (size_t perturb = (size_t)hash; dictkeys_get_index(keys, i) != DKIX_EMPTY;) {
            perturb >>= PERTURB_SHIFT;
            i = mask & (i * 5 + perturb + 1);
        }
        dictkeys_set_index(keys, i, ix);
    }
}

/* Restructure the table by allocating a new table and reinserting all
 * items again.  When entries have been deleted, the new table may actually
 * be smaller than the old one. */
static int dictresize(hl_runtime_t *rt, PyDictObject *mp, uint8_t log2_newsize)
{
    PyDictKeysObject *oldkeys = mp->ma_keys;
    ssize_t numentries;

    if (log2_newsize >= sizeof(size_t) * 8) {
        hl_err_nomemory(rt);
        return -1;
    }
    hl_assert_internal(log2_newsize >= PyDict_LOG_MINSIZE);

    /* Allocate a new table. */
    mp->ma_keys = new_keys_object(rt, log2_newsize);
    if (mp->ma_keys == NULL) {
        mp->ma_keys = oldkeys;
        return -1;
    }
    /* New table must be large enough. */
    hl_assert_internal(mp->ma_keys->dk_usable >= mp->ma_used);

    numentries = mp->ma_used;
    PyDictUnicodeEntry *oldentries = DK_UNICODE_ENTRIES(oldkeys);
    PyDictUnicodeEntry *newentries = DK_UNICODE_ENTRIES(mp->ma_keys);
    if (oldkeys->dk_nentries == numentries) {
        memcpy(newentries, oldentries, (size_t)numentries * sizeof(PyDictUnicodeEntry));
    }
    else {
        PyDictUnicodeEntry *ep = oldentries;
        for (ssize_t i = 0; i < numentries; i++) {
            while (ep->me_value == NULL)
                ep++;
            newentries[i] = *ep++;
        }
    }
    build_indices_unicode(mp->ma_keys, newentries, numentries);

    /* We can not use free_keys_object here because key's reference are
     * moved already. */
    if (oldkeys != Py_EMPTY_KEYS) {
        hl_assert_internal(oldkeys->dk_refcnt == 1);
        keys_release_memory(rt, oldkeys);
    }

    mp->ma_keys->dk_usable -= numentries;
    mp->ma_keys->dk_nentries = numentries;
    return 0;
}

static int insertion_resize(hl_runtime_t *rt, PyDictObject *mp)
{
    return dictresize(rt, mp, calculate_log2_keysize(GROWTH_RATE(mp)));
}

#define MAINTAIN_TRACKING(rt, mp, key, value)                              \
    do {                                                                   \
        if (!_PyObject_GC_IS_TRACKED((hl_object_t *)(mp))) {               \
            if (_PyObject_GC_MAY_BE_TRACKED(key)                           \
                || _PyObject_GC_MAY_BE_TRACKED(value)) {                   \
                _PyObject_GC_TRACK((rt), (hl_object_t *)(mp));             \
            }                                                              \
        }                                                                  \
    } while (0)

/* Add a new item to the dictionary when the dictionary is empty. */
static int insert_to_emptydict(hl_runtime_t *rt, PyDictObject *mp, hl_object_t *key,
                               ssize_t hash, hl_object_t *value)
{
    hl_assert_internal(mp->ma_keys == Py_EMPTY_KEYS);
    PyDictKeysObject *newkeys = new_keys_object(rt, PyDict_LOG_MINSIZE);
    if (newkeys == NULL) {
        Py_DECREF(rt, key);
        Py_DECREF(rt, value);
        return -1;
    }
    mp->ma_keys = newkeys;
    mp->ma_values = NULL;

    MAINTAIN_TRACKING(rt, mp, key, value);

    size_t hashpos = (size_t)hash & (PyDict_MINSIZE - 1);
    dictkeys_set_index(mp->ma_keys, hashpos, 0);
    PyDictUnicodeEntry *ep = DK_UNICODE_ENTRIES(mp->ma_keys);
    ep[0].me_key = key;
    ep[0].me_value = value;
    mp->ma_used++;
    mp->ma_version_tag = ++rt->dict_version;
    mp->ma_keys->dk_usable--;
    mp->ma_keys->dk_nentries++;
    return 0;
}

/* Internal routine to insert a new item into the table.  Used both by the
 * internal resize routine and by the public insert routine.  Returns -1 if
 * an error occurred, or 0 on success.  Consumes key and value references. */
static int insertdict(hl_runtime_t *rt, PyDictObject *mp, hl_object_t *key, ssize_t hash,
                      hl_object_t *value)
{
    if (mp->ma_keys == Py_EMPTY_KEYS)
        return insert_to_emptydict(rt, mp, key, hash, value);

    ssize_t ix = unicodekeys_lookup_unicode(mp->ma_keys, key, hash);

    MAINTAIN_TRACKING(rt, mp, key, value);

    if (ix == DKIX_EMPTY) {
        /* Insert into new slot. */
        mp->ma_keys->dk_version = 0;
        if (mp->ma_keys->dk_usable <= 0) {
            /* Need to resize. */
            if (insertion_resize(rt, mp) < 0)
                goto Fail;
        }
        size_t hashpos = find_empty_slot(mp->ma_keys, hash);
        dictkeys_set_index(mp->ma_keys, hashpos, mp->ma_keys->dk_nentries);
        PyDictUnicodeEntry *ep = &DK_UNICODE_ENTRIES(mp->ma_keys)[mp->ma_keys->dk_nentries];
        ep->me_key = key;
        ep->me_value = value;
        mp->ma_used++;
        mp->ma_version_tag = ++rt->dict_version;
        mp->ma_keys->dk_usable--;
        mp->ma_keys->dk_nentries++;
        hl_assert_internal(mp->ma_keys->dk_usable >= 0);
        return 0;
    }

    hl_object_t *old_value = DK_UNICODE_ENTRIES(mp->ma_keys)[ix].me_value;
    hl_assert_internal(old_value != NULL);
    if (old_value != value) {
        DK_UNICODE_ENTRIES(mp->ma_keys)[ix].me_value = value;
        mp->ma_version_tag = ++rt->dict_version;
    }
    Py_XDECREF(rt, old_value); /* which **CAN** re-enter (see issue #22653) */
    Py_DECREF(rt, key);
    return 0;

Fail:
    Py_DECREF(rt, value);
    Py_DECREF(rt, key);
    return -1;
}

/* ---------------------------------------------------------------------- */
/* The type */

static int dict_traverse(hl_object_t *op, hl_visitproc visit, void *arg)
{
    PyDictObject *mp = (PyDictObject *)op;
    PyDictKeysObject *keys = mp->ma_keys;
    ssize_t n = keys->dk_nentries;
    PyDictUnicodeEntry *entries = DK_UNICODE_ENTRIES(keys);
    for (ssize_t i = 0; i < n; i++)
        Py_VISIT(entries[i].me_value);
    return 0;
}

static void dict_clear_impl(hl_runtime_t *rt, PyDictObject *mp)
{
    PyDictKeysObject *oldkeys = mp->ma_keys;
    if (oldkeys == Py_EMPTY_KEYS)
        return;
    /* Empty the dict... */
    mp->ma_keys = Py_EMPTY_KEYS;
    mp->ma_values = NULL;
    mp->ma_used = 0;
    mp->ma_version_tag = ++rt->dict_version;
    /* ...then clear the keys and values */
    dictkeys_decref(rt, oldkeys);
}

static int dict_tp_clear(hl_runtime_t *rt, hl_object_t *op)
{
    dict_clear_impl(rt, (PyDictObject *)op);
    return 0;
}

static void dict_dealloc(hl_runtime_t *rt, hl_object_t *op)
{
    PyDictObject *mp = (PyDictObject *)op;
    PyDictKeysObject *keys = mp->ma_keys;

    /* bpo-31095: UnTrack is needed before calling any callbacks */
    PyObject_GC_UnTrack(op);
    Py_TRASHCAN_BEGIN(rt, op)
    if (keys != NULL)
        dictkeys_decref(rt, keys);
    if (rt->dict_state.numfree < PyDict_MAXFREELIST) {
        rt->dict_state.free_list[rt->dict_state.numfree++] = mp;
        rt->objects--;
    }
    else {
        PyObject_GC_Del(rt, op);
    }
    Py_TRASHCAN_END(rt)
}

/* _PyDict_SizeOf */
static size_t dict_sizeof(const hl_object_t *op)
{
    const PyDictObject *mp = (const PyDictObject *)op;
    size_t res = sizeof(PyDictObject);
    /* If the dictionary is split, the keys portion is accounted-for in the
       type object. */
    if (mp->ma_keys->dk_refcnt == 1) {
        PyDictKeysObject *keys = mp->ma_keys;
        res += sizeof(PyDictKeysObject) + ((size_t)1 << keys->dk_log2_index_bytes)
               + (size_t)USABLE_FRACTION(DK_SIZE(keys)) * sizeof(PyDictUnicodeEntry);
    }
    return res;
}

const hl_type_t hl_dict_type = {
    .tp_name = "dict",
    .tp_basicsize = sizeof(PyDictObject),
    .tp_flags = HL_TPFLAGS_HAVE_GC,
    .kind = HL_KIND_DICT,
    .tp_dealloc = dict_dealloc,
    .tp_traverse = dict_traverse,
    .tp_clear = dict_tp_clear,
    .tp_sizeof = dict_sizeof,
};

/* new_dict(Py_EMPTY_KEYS, NULL, 0, 0): a free-listed dict or a new one,
 * untracked. */
hl_object_t *hl_dict_new(hl_runtime_t *rt)
{
    PyDictObject *mp;
    if (rt->dict_state.numfree) {
        mp = rt->dict_state.free_list[--rt->dict_state.numfree];
        hl_assert_internal(Py_IS_TYPE(mp, &hl_dict_type));
        _Py_NewReference(rt, (hl_object_t *)mp);
    }
    else {
        mp = (PyDictObject *)_PyObject_GC_New(rt, &hl_dict_type);
        if (mp == NULL)
            return NULL;
    }
    mp->ma_keys = Py_EMPTY_KEYS;
    mp->ma_values = NULL;
    mp->ma_used = 0;
    mp->ma_version_tag = ++rt->dict_version;
    return (hl_object_t *)mp;
}

int hl_dict_setitem(hl_runtime_t *rt, hl_object_t *op, hl_object_t *key, hl_object_t *value)
{
    hl_assert(Py_IS_TYPE(op, &hl_dict_type));
    if (!Py_IS_TYPE(key, &hl_unicode_type)) {
        hl_err_set(rt, HL_ERR_TYPE, "heaplab dict keys are str");
        return -1;
    }
    ssize_t hash = _hl_str_hash(key);
    Py_INCREF(key);
    Py_INCREF(value);
    return insertdict(rt, (PyDictObject *)op, key, hash, value);
}

int hl_dict_setitem_cstr(hl_runtime_t *rt, hl_object_t *op, const char *key, hl_object_t *value)
{
    hl_object_t *kv = hl_str_from_cstr(rt, key);
    if (kv == NULL)
        return -1;
    int err = hl_dict_setitem(rt, op, kv, value);
    Py_DECREF(rt, kv);
    return err;
}

/* Lookup by C string: the key of a lookup need not be allocated. */
static ssize_t lookup_cstr(PyDictObject *mp, const char *key, ssize_t *hash_out)
{
    size_t len = strlen(key);
    ssize_t hash = _hl_str_hash_bytes(key, len);
    *hash_out = hash;
    PyDictKeysObject *dk = mp->ma_keys;
    PyDictUnicodeEntry *ep0 = DK_UNICODE_ENTRIES(dk);
    size_t mask = (size_t)DK_MASK(dk);
    size_t perturb = (size_t)hash;
    size_t i = (size_t)hash & mask;
    for (;;) {
        ssize_t ix = dictkeys_get_index(dk, i);
        if (ix >= 0) {
            hl_object_t *k = ep0[ix].me_key;
            if (_hl_str_hash(k) == hash && (size_t)((PyASCIIObject *)k)->length == len
                && memcmp(PyUnicode_DATA(k), key, len) == 0)
                return ix;
        }
        else if (ix == DKIX_EMPTY) {
            return DKIX_EMPTY;
        }
        perturb >>= PERTURB_SHIFT;
        i = mask & (i * 5 + perturb + 1);
    }
}

hl_object_t *hl_dict_getitem_cstr(hl_object_t *op, const char *key)
{
    hl_assert(Py_IS_TYPE(op, &hl_dict_type));
    PyDictObject *mp = (PyDictObject *)op;
    ssize_t hash;
    ssize_t ix = lookup_cstr(mp, key, &hash);
    if (ix < 0)
        return NULL;
    return DK_UNICODE_ENTRIES(mp->ma_keys)[ix].me_value;
}

/* PyDict_DelItem + delitem_common */
int hl_dict_delitem_cstr(hl_runtime_t *rt, hl_object_t *op, const char *key)
{
    hl_assert(Py_IS_TYPE(op, &hl_dict_type));
    PyDictObject *mp = (PyDictObject *)op;
    ssize_t hash;
    ssize_t ix = lookup_cstr(mp, key, &hash);
    if (ix == DKIX_EMPTY) {
        hl_err_set(rt, HL_ERR_KEY, "'%.120s'", key);
        return -1;
    }
    PyDictUnicodeEntry *ep = &DK_UNICODE_ENTRIES(mp->ma_keys)[ix];
    hl_object_t *old_value = ep->me_value;
    ssize_t hashpos = lookdict_index(mp->ma_keys, hash, ix);
    hl_assert_internal(hashpos >= 0);

    mp->ma_used--;
    mp->ma_version_tag = ++rt->dict_version;
    mp->ma_keys->dk_version = 0;
    dictkeys_set_index(mp->ma_keys, (size_t)hashpos, DKIX_DUMMY);
    hl_object_t *old_key = ep->me_key;
    ep->me_key = NULL;
    ep->me_value = NULL;
    Py_DECREF(rt, old_key);
    Py_DECREF(rt, old_value);
    return 0;
}

void hl_dict_clear(hl_runtime_t *rt, hl_object_t *op)
{
    hl_assert(Py_IS_TYPE(op, &hl_dict_type));
    dict_clear_impl(rt, (PyDictObject *)op);
}

size_t hl_dict_size(const hl_object_t *op)
{
    hl_assert(Py_IS_TYPE(op, &hl_dict_type));
    return (size_t)((const PyDictObject *)op)->ma_used;
}

void _PyDict_MaybeUntrack(hl_object_t *op)
{
    if (!Py_IS_TYPE(op, &hl_dict_type) || !_PyObject_GC_IS_TRACKED(op))
        return;
    PyDictObject *mp = (PyDictObject *)op;
    ssize_t numentries = mp->ma_keys->dk_nentries;
    PyDictUnicodeEntry *ep0 = DK_UNICODE_ENTRIES(mp->ma_keys);
    for (ssize_t i = 0; i < numentries; i++) {
        hl_object_t *value = ep0[i].me_value;
        if (value == NULL)
            continue;
        if (_PyObject_GC_MAY_BE_TRACKED(value))
            return;
    }
    _PyObject_GC_UNTRACK(op);
}

void _PyDict_ClearFreeList(hl_runtime_t *rt)
{
    while (rt->dict_state.numfree) {
        PyDictObject *op = rt->dict_state.free_list[--rt->dict_state.numfree];
        _PyObject_GC_DelParked(rt, (hl_object_t *)op);
    }
    while (rt->dict_state.keys_numfree)
        hl_obj_free(rt, rt->dict_state.keys_free_list[--rt->dict_state.keys_numfree]);
}
