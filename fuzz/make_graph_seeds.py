#!/usr/bin/python3
"""Writes the seed corpora of refcount_fuzz and gc_fuzz (deterministic).

    /usr/bin/python3 fuzz/make_graph_seeds.py

corpus/refcount_fuzz/seed_*: 4-byte ops OP A B C (refcount_fuzz.c);
corpus/gc_fuzz/seed_*: a threshold byte, then the same kind of ops (gc_fuzz.c).
OP is an index into each target's 32-entry op table, mirrored below (keep
them in step with the C files).  An operand naming an object is a node index
(byte % 64: the first alive node of the right kind from there); nodes are
allocated lowest free slot first, so a scenario that makes its objects
before anything dies can name them by creation order, which `Prog` tracks.

Each scenario covers a shape the oracles care about: cascades in CPython's
order, the trashcan (a chain deeper than 50), weakref callbacks (one, and
several: PyObject_ClearWeakRefs' tuple), PEP 442 resurrection, legacy tp_del,
the small-int cache and (), dict keys, every pop mode and error; and for
gc_fuzz: garbage cycles per generation, old objects freed by young garbage,
uncollectable cycles and gc.garbage, callbacks of weakrefs outside the
garbage, resurrection in a collection, freeze, DEBUG_SAVEALL, tuple and dict
untracking, automatic collections, the gc module's getters (OP 0xf0..0xff).
Then random programs from fixed seeds, every op kind included (and four
with the getters: seed_random_intro_*).  Rerunning rewrites the same bytes.
"""
import os
import random

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# refcount_fuzz.c's `ops` and gc_fuzz.c's `ops`, entry for entry.
REFCOUNT_OPS = [
    "new_int", "new_float", "new_str", "new_tuple",
    "new_list", "new_list", "new_dict", "new_instance",
    "new_instance", "new_weakref", "new_weakref", "new_callable",
    "list_append", "list_append", "list_set", "list_pop",
    "list_clear", "dict_set", "dict_set", "dict_del",
    "dict_clear", "slot_set", "slot_set", "slot_clear",
    "drop", "drop", "drop", "drop",
    "alias", "new_str", "list_set", "slot_set",
]
GC_OPS = [
    "new_int", "new_str", "new_tuple", "new_list",
    "new_dict", "new_instance", "new_instance", "new_weakref",
    "new_callable", "new_float", "list_append", "list_append",
    "list_set", "list_pop", "list_clear", "dict_set",
    "dict_del", "dict_clear", "slot_set", "slot_set",
    "slot_clear", "drop", "drop", "drop",
    "alias", "collect", "collect", "threshold",
    "toggle_enable", "freeze", "saveall", "clear_garbage",
]
PLAIN, FIN, RES, DEL, FINDEL = range(5)   # instance types (objgraph_model.h)
INTROSPECT = 0xf0   # gc_fuzz: OP bytes 0xf0..0xff, the gc module's getters
GARBAGE = 0xc0      # an introspection operand naming gc.garbage


class Prog:
    """An op program, with the node slots its objects get."""

    def __init__(self, table, header=None):
        self.table = table
        self.out = bytearray() if header is None else bytearray([header])
        self.free = list(range(64))
        self.small = {}

    def op(self, name, a=0, b=0, c=0):
        self.out += bytes([self.table.index(name), a & 255, b & 255, c & 255])

    def _slot(self):
        return self.free.pop(0)

    def died(self, *slots):
        """Slots the scenario knows are dead now (lowest first again)."""
        for s in slots:
            self.free.append(s)
        self.free.sort()

    # -- new objects: each returns its node slot
    def int_small(self, v):
        self.op("new_int", v + 5, 0, 1)
        if v not in self.small:
            self.small[v] = self._slot()
        return self.small[v]

    def int_big(self, v=0):
        self.op("new_int", v, 0, 0)
        return self._slot()

    def float(self, v=1):
        self.op("new_float", v)
        return self._slot()

    def str(self, text):
        self.op("new_str", text)
        return self._slot()

    def tuple(self, *items):
        """Items at slots x, x+s, x+2s (one stride)."""
        n = len(items)
        if n == 0:
            self.op("new_tuple", 0, 0, 0)
            if "()" not in self.small:
                self.small["()"] = self._slot()
            return self.small["()"]
        s = items[1] - items[0] if n > 1 else 1
        assert 1 <= s <= 7 and all(items[k] == items[0] + k * s for k in range(n))
        self.op("new_tuple", items[0], n, s - 1)
        return self._slot()

    def list(self):
        self.op("new_list")
        return self._slot()

    def dict(self):
        self.op("new_dict")
        return self._slot()

    def inst(self, tp, nslots):
        self.op("new_instance", tp, nslots)
        return self._slot()

    def weakref(self, referent, cb=None):
        self.op("new_weakref", referent, 1 if cb is not None else 0, cb or 0)
        return self._slot()

    def callable(self, bound=None):
        self.op("new_callable", bound or 0, 1 if bound is not None else 0)
        return self._slot()

    # -- links
    def append(self, l, v): self.op("list_append", l, v)
    def lset(self, l, v, i): self.op("list_set", l, v, i)
    def pop(self, l, mode, c): self.op("list_pop", l, mode, c)
    def lclear(self, l): self.op("list_clear", l)
    def dset(self, d, key, v): self.op("dict_set", d, v, key)
    def ddel(self, d, text): self.op("dict_del", d, 0, text)
    def dclear(self, d): self.op("dict_clear", d)
    def sset(self, o, s, v): self.op("slot_set", o, v, s)
    def sclear(self, o, s): self.op("slot_clear", o, 0, s)
    def drop(self, x): self.op("drop", x)
    def alias(self, x): self.op("alias", x)

    # -- gc_fuzz
    def collect(self, g): self.op("collect", g)
    def threshold(self, t0, t1, t2): self.op("threshold", t0 - 1, t1, t2)
    def toggle(self): self.op("toggle_enable")
    def freeze(self): self.op("freeze", 1)
    def unfreeze(self): self.op("freeze", 0)
    def saveall(self): self.op("saveall")
    def clear_garbage(self): self.op("clear_garbage")
    # gc_fuzz's introspection op: OP 0xf0 | call (gc_fuzz.c has the table)
    def intro(self, call, a=0, b=0, c=0):
        self.out += bytes([INTROSPECT | call, a & 255, b & 255, c & 255])
    def get_objects(self, gen=-1): self.intro(gen + 1)
    def referents(self, *objs): self.intro(4 + len(objs), *objs)
    def referrers(self, *objs): self.intro(7 + len(objs), *objs)

    def bytes(self):
        assert len(self.out) <= 1025, len(self.out)
        return bytes(self.out)


# ---- scenarios both targets run --------------------------------------------

def sc_types_cascade(p):
    """A list of one instance of every type, each holding a str; dropped."""
    l = p.list()
    insts = [p.inst(t, 2) for t in range(5)]
    s = p.str(3)
    for o in insts:
        p.sset(o, 0, s)
        p.append(l, o)
        p.drop(o)
    p.drop(s)
    p.drop(l)


def sc_weakrefs(p):
    """Basic refs (shared), one and several callback refs, callbacks bound
    to objects; the referents die by refcount."""
    a = p.inst(FIN, 1)
    b = p.inst(PLAIN, 0)
    c1 = p.callable()
    c2 = p.callable(b)
    w0 = p.weakref(a)
    w1 = p.weakref(a, c1)
    w2 = p.weakref(a, c2)
    p.weakref(a)                 # the basic ref again: shared
    w3 = p.weakref(b, c1)
    p.sset(a, 0, w3)             # a holds a weakref to b
    for x in (c1, c2):
        p.drop(x)
    p.drop(b)                    # still held by c2
    p.drop(a)                    # three weakrefs: the tuple path
    p.drop(w0)
    p.drop(w0)
    p.drop(w1)
    p.drop(w2)


def sc_resurrect(p):
    """PEP 442: Res resurrects once (the program takes a reference)."""
    l = p.list()
    r = p.inst(RES, 1)
    f = p.inst(FINDEL, 1)
    p.sset(r, 0, f)
    p.append(l, r)
    p.drop(r)
    p.drop(f)
    p.drop(l)                    # r resurrects: f stays
    p.drop(r)                    # now both go, no second finalizer


def sc_dict(p):
    d = p.dict()
    k = [p.str(t) for t in (1, 2, 3, 1)]        # two str equal to "s1"
    v = [p.float(t) for t in range(3)]
    lst = p.list()
    p.dset(d, k[0], v[0])
    p.dset(d, k[1], v[1])
    p.dset(d, k[3], v[2])        # replaces d["s1"]; the first key stays
    p.dset(d, k[2], lst)         # a GC value: d becomes tracked
    p.dset(d, k[2], d)           # d["s3"] = d
    p.ddel(d, 2)
    p.ddel(d, 9)                 # KeyError
    for x in k + v + [lst]:
        p.drop(x)
    p.dclear(d)
    p.drop(d)


def sc_pops(p):
    l = p.list()
    xs = [p.int_big(i) for i in range(6)]
    for x in xs:
        p.append(l, x)
        p.drop(x)
    p.pop(l, 0, 1)               # index 1
    p.pop(l, 1, 2)               # negative
    p.pop(l, 2, 0)               # -1
    p.pop(l, 3, 0)               # out of range: IndexError
    p.lset(l, l, 0)              # l[0] = l
    p.lclear(l)
    p.pop(l, 0, 0)               # empty: IndexError
    p.drop(l)
    for _ in range(3):
        p.op("drop", 0)          # the popped ones


def sc_singletons(p):
    a = p.int_small(7)
    p.int_small(7)               # the same object
    z = p.int_small(-5)
    e = p.tuple()
    p.tuple()                    # () again
    t = p.tuple(a, z) if z == a + 1 else None
    l = p.list()
    for x in (a, z, e):
        p.append(l, x)
    if t is not None:
        p.append(l, t)
        p.drop(t)
    p.op("new_weakref", a, 0x80, 0)   # weakref to an int: TypeError
    p.drop(a)
    p.drop(a)
    p.drop(z)
    p.drop(e)
    p.drop(e)
    p.drop(l)


def sc_deep_chain(p, depth=58, fin_every=7):
    """Nested containers deeper than the trashcan's 50 levels, with
    finalizers and a weakref callback down the chain."""
    nodes = []
    for i in range(depth):
        nodes.append(p.inst(FIN, 1) if i % fin_every == 3 else p.list())
    for i in range(depth - 1):
        if i % fin_every == 3:
            p.sset(nodes[i], 0, nodes[i + 1])
        else:
            p.append(nodes[i], nodes[i + 1])
    for x in nodes[1:]:
        p.drop(x)
    p.drop(nodes[0])


def sc_cycles(p):
    """Cycles reference counting cannot free (the end's collection does)."""
    a = p.inst(PLAIN, 2)
    b = p.inst(DEL, 1)
    l = p.list()
    p.sset(a, 0, b)
    p.sset(b, 0, a)
    p.sset(a, 1, l)
    p.append(l, l)
    p.drop(a)
    p.drop(b)
    p.drop(l)


def sc_self_store(p):
    """An item stored over itself where the container holds the only
    reference: the new reference must be taken before the old is dropped."""
    l = p.list()
    x = p.float(5)
    o = p.inst(PLAIN, 1)
    y = p.str(4)
    d = p.dict()
    k = p.str(5)
    z = p.int_big(9)
    p.append(l, x)
    p.drop(x)
    p.lset(l, x, 0)
    p.sset(o, 0, y)
    p.drop(y)
    p.sset(o, 0, y)
    p.dset(d, k, z)
    p.drop(z)
    p.dset(d, k, z)
    for v in (l, o, d, k):
        p.drop(v)


SHARED = [sc_types_cascade, sc_weakrefs, sc_resurrect, sc_dict, sc_pops, sc_singletons,
          sc_deep_chain, sc_cycles, sc_self_store]


# ---- gc_fuzz scenarios ---------------------------------------------------------

def gc_generations(p):
    """A garbage cycle per generation; collections of each."""
    a = p.list()
    p.append(a, a)
    p.collect(0)                 # a survives into generation 1
    p.collect(1)                 # ... 2
    b = p.inst(PLAIN, 1)
    p.sset(b, 0, b)
    p.drop(a)
    p.drop(b)
    p.collect(0)                 # b only
    p.collect(2)                 # a


def gc_old_freed_by_young(p):
    """An old object only young garbage holds dies by refcount in the
    collection; a finalizer and a weakref callback run there."""
    old = p.inst(FIN, 1)
    cb = p.callable()
    w = p.weakref(old, cb)
    p.collect(1)                 # old, cb, w: generation 2
    y = p.list()
    p.append(y, y)
    p.append(y, old)
    p.drop(old)
    p.drop(y)
    p.collect(0)
    p.drop(w)
    p.drop(cb)


def gc_legacy(p):
    """Uncollectable: a tp_del cycle and what it holds go to gc.garbage."""
    d = p.inst(DEL, 2)
    f = p.inst(FINDEL, 1)
    x = p.list()
    p.sset(d, 0, d)
    p.sset(d, 1, x)
    p.sset(f, 0, f)
    for o in (d, f, x):
        p.drop(o)
    p.collect(2)
    p.collect(2)                 # still there
    p.clear_garbage()
    p.collect(2)                 # back in gc.garbage


def gc_weakref_callbacks(p):
    """Garbage with weakrefs to it: outside the garbage the callback runs,
    inside it does not."""
    t = p.inst(PLAIN, 2)
    cb = p.callable()
    w_out = p.weakref(t, cb)
    w_in = p.weakref(t, cb)
    w_basic = p.weakref(t)
    p.sset(t, 0, t)
    p.sset(t, 1, w_in)
    p.drop(w_in)
    p.drop(t)
    p.collect(0)
    for x in (w_out, w_basic, cb):
        p.drop(x)


def gc_resurrection(p):
    """Res in a cycle resurrects in the collection, with what it holds."""
    r = p.inst(RES, 2)
    q = p.inst(FIN, 1)
    l = p.list()
    p.sset(r, 0, q)
    p.sset(q, 0, r)
    p.sset(r, 1, l)
    for o in (r, q, l):
        p.drop(o)
    p.collect(0)                 # finalizers run, r (held again) and all survive
    p.drop(r)
    p.collect(2)                 # finalized already: collected


def gc_freeze(p):
    a = p.list()
    p.append(a, a)
    p.freeze()
    p.drop(a)
    p.collect(2)                 # frozen: not collected
    b = p.list()
    p.append(b, a)
    p.drop(b)
    p.unfreeze()
    p.collect(2)


def gc_saveall(p):
    a = p.inst(FIN, 1)
    p.sset(a, 0, a)
    p.drop(a)
    p.saveall()
    p.collect(2)                 # into gc.garbage, not freed
    p.saveall()
    p.clear_garbage()
    p.collect(2)


def gc_untracking(p):
    """Tuples of atoms untracked by any collection, a tuple holding a list
    is not; dicts of atoms only by a full one."""
    i = p.int_big(1)
    s = p.str(2)
    t = p.tuple(i, s)
    l = p.list()
    p.tuple(s, l)                # holds a list: stays tracked
    d = p.dict()
    p.dset(d, s, l)              # tracked
    p.dset(d, s, i)              # values atoms now: still tracked
    tt = p.tuple(t)
    p.collect(0)
    p.collect(1)
    p.collect(2)                 # d untracked here
    p.dset(d, s, tt)             # a tracked... untracked tuple: stays so
    p.dset(d, s, l)              # tracked again
    p.collect(2)


def gc_automatic(p):
    """Low thresholds: collections inside allocations, of each generation."""
    p.threshold(2, 1, 1)
    keep = p.list()
    for k in range(12):
        x = p.list()
        p.append(x, x)
        if k % 3 == 0:
            p.append(keep, x)
        p.drop(x)
    p.toggle()                   # disabled
    for _ in range(4):
        p.list()
    p.toggle()
    p.list()


def gc_introspection(p):
    """The gc module's getters: get_objects per generation, referents and
    referrers of shared, untracked and non-GC objects, gc.garbage, is_tracked
    and is_finalized, and each list allocation an automatic collection point."""
    a = p.list()
    b = p.inst(RES, 2)
    s = p.str(1)
    t = p.tuple(s)               # untracked by the first collection
    p.append(a, b)
    p.append(a, b)               # b twice in a: one referrer, two referents
    p.sset(b, 0, a)
    p.sset(b, 1, t)
    d = p.dict()
    p.dset(d, 2, a)
    p.get_objects()
    p.referents(a, b)
    p.referrers(b)
    p.referrers(a, s)
    p.collect(0)
    p.get_objects(0)
    p.get_objects(1)
    p.referents(t, s, d)         # an untracked tuple is still traversed
    p.referrers(t)
    p.intro(4, 1)                # get_objects(3): ValueError
    p.intro(4, 2)                # get_objects(-3): ValueError
    p.freeze()
    p.intro(11)                  # is_tracked / is_finalized, every object
    p.referrers(b)               # the referrer a is frozen: not listed
    p.unfreeze()
    c = p.inst(DEL, 1)
    p.sset(c, 0, c)
    p.drop(c)
    p.collect(2)                 # c uncollectable: to gc.garbage
    p.referents(GARBAGE)
    p.referrers(c)               # held by itself and gc.garbage
    p.get_objects(2)
    p.drop(b)
    p.drop(a)
    p.drop(d)
    p.collect(2)                 # b's finalizer resurrects it (and a, t)
    p.intro(11)                  # b is_finalized
    p.clear_garbage()
    p.threshold(1, 1, 1)         # enabled; lists allocated for the getters
    for k in range(6):           # may start automatic collections
        p.get_objects(k % 4 - 1)
        x = p.list()
        p.append(x, x)
        p.drop(x)
    p.intro(15)                  # the scalars only


GC_ONLY = [gc_generations, gc_old_freed_by_young, gc_legacy, gc_weakref_callbacks,
           gc_resurrection, gc_freeze, gc_saveall, gc_untracking, gc_automatic,
           gc_introspection]


# ---- random programs ----------------------------------------------------------

def random_program(table, rng, nops, header=None):
    out = bytearray() if header is None else bytearray([header])
    for _ in range(nops):
        op = rng.randrange(len(table))
        # operands: node indices mostly among the first objects made
        out += bytes([op, rng.randrange(40), rng.randrange(256), rng.randrange(256)])
    return bytes(out)


def random_program_intro(rng, nops, header):
    """gc_fuzz's table plus its introspection op, one op in 8."""
    out = bytearray([header])
    for _ in range(nops):
        op = INTROSPECT | rng.randrange(16) if rng.randrange(8) == 0 else rng.randrange(32)
        out += bytes([op, rng.randrange(256 if op >= INTROSPECT else 40),
                      rng.randrange(256), rng.randrange(256)])
    return bytes(out)


def write(dirname, name, data):
    with open(os.path.join(ROOT, "corpus", dirname, name), "wb") as f:
        f.write(data)


def main():
    # gc_fuzz's header for scenarios: thresholds (16, 3, 3); the scenarios
    # that want automatic collections set them.
    quiet = 15 | (3 << 4) | (3 << 6)
    for i, sc in enumerate(SHARED):
        p = Prog(REFCOUNT_OPS)
        sc(p)
        write("refcount_fuzz", "seed_%02d_%s" % (i, sc.__name__[3:]), p.bytes())
        p = Prog(GC_OPS, quiet)
        p.toggle()               # gc.disable(): the scenario as written
        sc(p)
        p.collect(2)
        write("gc_fuzz", "seed_%02d_%s" % (i, sc.__name__[3:]), p.bytes())
    for i, sc in enumerate(GC_ONLY):
        p = Prog(GC_OPS, quiet)
        if sc is not gc_automatic:
            p.toggle()
        sc(p)
        write("gc_fuzz", "seed_%02d_%s" % (len(SHARED) + i, sc.__name__[3:]), p.bytes())
    for i in range(16):
        rng = random.Random(4000 + i)
        write("refcount_fuzz", "seed_random_%02d" % i,
              random_program(REFCOUNT_OPS, rng, rng.choice([64, 128, 200])))
        rng = random.Random(5000 + i)
        write("gc_fuzz", "seed_random_%02d" % i,
              random_program(GC_OPS, rng, rng.choice([64, 128, 200]), rng.randrange(256)))
    for i in range(4):
        rng = random.Random(6000 + i)
        write("gc_fuzz", "seed_random_intro_%02d" % i,
              random_program_intro(rng, rng.choice([64, 128, 200]), rng.randrange(256)))


if __name__ == "__main__":
    main()
