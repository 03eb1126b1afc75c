#!/usr/bin/python3
"""heapscript_gen: random heap scripts for the differential test.

    heapscript_gen.py --seed S --count N --out DIR

writes DIR/gen_<S>_<i>.heap for i in 0..N-1.  Script i depends only on (S, i)
(random.Random seeded with the string "S:i", which is stable across runs and
Python versions and ignores PYTHONHASHSEED), so one failing script of a run
is reproduced by regenerating with the same seed and a count above i.

The scripts follow /work/shared/spec/heap-script.md and never use `enable`,
`disable` or `threshold`, so CPython 3.11 is their oracle.  A script is built
from blocks (self loops, rings, cliques, trees with back edges, references
from older generations into younger ones, tuples and dicts of leaves, growing
and shrinking lists and dicts, aliasing and rebinding, deep chains, deletes,
interleaved collections and queries) over a model of the names, the objects
they are bound to (aliases share one model object) and the lengths and keys
of lists and dicts, so that every statement is valid.  A few scripts (about
5%) end with one erroneous statement, followed by statements that must not
run.  The first line of every script states what the generator expects:

    # expect: ok
    # expect: error at line N (KIND)

Most scripts have 20 to 400 statements; the rare one with a long chain (1000
to 2000 levels) has more.
"""

import argparse
import os
import random
import sys

ERROR_FRACTION = 0.05


class Obj:
    """The model of one object: its kind and, for lists and dicts, their
    length and keys (in insertion order)."""

    __slots__ = ("kind", "n", "keys")

    def __init__(self, kind):
        self.kind = kind  # list dict tuple str int
        self.n = 0
        self.keys = []


class Gen:
    def __init__(self, rng):
        self.rng = rng
        self.lines = []        # script lines (str), without the header
        self.nstmt = 0
        self.names = {}        # name -> Obj; insertion-ordered (deterministic)
        self.serial = 0
        self.noise = rng.random() < 0.3   # vary spacing, tabs, comments

    # -- output --------------------------------------------------------
    def stmt(self, *toks):
        if self.noise:
            r = self.rng.random()
            sep = self.rng.choice([" ", "  ", "\t", " \t "])
            line = sep.join(toks)
            if r < 0.05:
                line = "\t" + line
            elif r < 0.10:
                line = line + "   "
            elif r < 0.15:
                line = line + "# noise"
            elif r < 0.20:
                line = line + "  # " + self.rng.choice(["x", "a b", "#", "list a"])
            if self.rng.random() < 0.03:
                self.lines.append(self.rng.choice(["", "# comment", "   ", "\t# x"]))
        else:
            line = " ".join(toks)
        self.lines.append(line)
        self.nstmt += 1

    def comment(self, text):
        self.lines.append("# " + text)

    # -- names and objects -----------------------------------------------
    def fresh(self, prefix="v"):
        self.serial += 1
        return "%s%d" % (prefix, self.serial)

    def bind(self, name, obj):
        # Rebinding keeps dict order stable enough: drop the old entry first.
        self.names.pop(name, None)
        self.names[name] = obj

    def new(self, kind, name=None, prefix=None):
        """Emit a statement creating a `kind` object bound to a (fresh or
        given) name; return the name."""
        rng = self.rng
        if name is None:
            name = self.fresh(prefix or kind[0])
        if kind == "list":
            self.stmt("list", name)
        elif kind == "dict":
            self.stmt("dict", name)
        elif kind == "str":
            if rng.random() < 0.3:
                self.stmt("str", name)
            else:
                self.stmt("str", name, self.text())
        elif kind == "int":
            self.stmt("int", name, self.intval())
        elif kind == "tuple":
            return self.new_tuple(name, [])
        else:
            raise ValueError(kind)
        self.bind(name, Obj(kind))
        return name

    def new_tuple(self, name, items):
        self.stmt("tuple", name, *items)
        self.bind(name, Obj("tuple"))
        return name

    def bound(self, kinds=None):
        return [n for n, o in self.names.items() if kinds is None or o.kind in kinds]

    def pick(self, kinds=None):
        c = self.bound(kinds)
        return self.rng.choice(c) if c else None

    def text(self):
        rng = self.rng
        r = rng.random()
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
        if r < 0.1:
            n = 64
        elif r < 0.2:
            return "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 12)))
        else:
            n = rng.choice([1, 1, 2, 3, 5, 8, 13, 20, 31, 40])
        return "".join(rng.choice(alphabet) for _ in range(n))

    def intval(self):
        rng = self.rng
        r = rng.random()
        if r < 0.3:
            v = rng.randint(-5, 256)
        elif r < 0.4:
            v = rng.choice([0, -1, 1, 256, 257, -5, -6, 2**30 - 1, 2**30, -2**30,
                            2**60, 2**62, 2**63 - 1, -2**63, -2**63 + 1])
        elif r < 0.7:
            v = rng.randint(-2**31, 2**31)
        else:
            v = rng.randint(-2**63, 2**63 - 1) >> rng.randint(0, 62)
        s = str(v)
        q = rng.random()
        if q < 0.03:
            s = s.replace("-", "-00") if v < 0 else "00" + s
        elif q < 0.05 and v == 0:
            s = "-0"
        return s

    def key(self, d=None):
        """A key: an existing one of dict model d (sometimes) or a new one."""
        rng = self.rng
        if d is not None and d.keys and rng.random() < 0.25:
            return rng.choice(d.keys)
        r = rng.random()
        if r < 0.7:
            return "k%d" % rng.randint(0, 40)
        if r < 0.85:
            return str(rng.randint(0, 999))
        return self.text()

    # -- single statements on the model -------------------------------
    def append(self, l, a):
        self.stmt("append", l, a)
        self.names[l].n += 1

    def setitem(self, d, k, a):
        self.stmt("setitem", d, k, a)
        o = self.names[d]
        if k not in o.keys:
            o.keys.append(k)

    def delitem(self, d, k):
        self.stmt("delitem", d, k)
        self.names[d].keys.remove(k)

    def pop(self, l, idx=None):
        o = self.names[l]
        assert o.n > 0
        if idx is None:
            self.stmt("pop", l)
        else:
            assert -o.n <= idx < o.n
            self.stmt("pop", l, str(idx))
        o.n -= 1

    def clear(self, c):
        self.stmt("clear", c)
        o = self.names[c]
        o.n = 0
        o.keys = []

    def drop(self, n):
        self.stmt("drop", n)
        del self.names[n]

    def alias(self, n, m):
        self.stmt("alias", n, m)
        self.bind(n, self.names[m])

    def collect(self, g=None):
        if g is None:
            g = self.rng.choice([0, 0, 1, 2, 2, None])
        if g is None:
            self.stmt("collect")
        else:
            self.stmt("collect", str(g))

    def maybe_query(self, names=(), p=0.3):
        rng = self.rng
        for n in names:
            if n in self.names and rng.random() < p:
                self.stmt(rng.choice(["tracked", "sizeof"]), n)
        if rng.random() < p / 3:
            self.stmt("count")

    def drop_some(self, names, p=0.8):
        for n in names:
            if n in self.names and self.rng.random() < p:
                self.drop(n)

    # -- blocks --------------------------------------------------------
    def b_self_loop(self):
        rng = self.rng
        r = rng.random()
        if r < 0.5:
            x = self.new("list", prefix="self")
            self.append(x, x)
            names = [x]
        elif r < 0.8:
            x = self.new("dict", prefix="selfd")
            k = self.key()
            self.setitem(x, k, x)
            names = [x]
        else:  # test_tuple: l = []; t = (l,); l.append(t)
            l = self.new("list", prefix="tl")
            t = self.new_tuple(self.fresh("tt"), [l])
            self.append(l, t)
            names = [l, t]
        self.maybe_query(names, 0.6)
        self.drop_some(names, 0.85)
        if rng.random() < 0.7:
            self.collect()

    def b_ring(self):
        rng = self.rng
        n = rng.choice([2, 3, 5, 8, 13, 30]) if rng.random() < 0.9 else rng.randint(50, 150)
        kinds = rng.choice([["list"], ["dict"], ["list", "dict"], ["list", "dict", "tuple"]])
        # edges i -> i+1 (mod n).  Node 0 is mutable and made first; the
        # others are made from n-1 down to 1, so a tuple node can hold its
        # successor from the start; node 0 -> node 1 closes the ring.
        nodes = [None] * n
        nodes[0] = self.new(rng.choice(["list", "dict"]), prefix="r")
        for i in range(n - 1, 0, -1):
            succ = nodes[(i + 1) % n]
            k = rng.choice(kinds)
            if k == "tuple":
                nodes[i] = self.new_tuple(self.fresh("rt"), [succ])
            else:
                nodes[i] = self.new(k, prefix="r")
                self.link(nodes[i], succ)
        self.link(nodes[0], nodes[1 % n])
        self.maybe_query(nodes[:3], 0.3)
        keep = rng.random() < 0.2
        for x in nodes:
            if keep and x == nodes[0]:
                continue
            self.drop(x)
        if rng.random() < 0.8:
            self.collect()
        if keep and rng.random() < 0.5:
            self.drop(nodes[0])
            self.collect()

    def link(self, a, b):
        """a -> b, a a list or a dict."""
        o = self.names[a]
        if o.kind == "list":
            self.append(a, b)
        else:
            self.setitem(a, self.key(o), b)

    def b_clique(self):
        rng = self.rng
        n = rng.randint(2, 7)
        nodes = [self.new(rng.choice(["list", "list", "dict"]), prefix="c") for _ in range(n)]
        for a in nodes:
            for b in nodes:
                if a != b or rng.random() < 0.5:
                    self.link(a, b)
        self.maybe_query(nodes, 0.2)
        if rng.random() < 0.3:
            self.collect(0)
        for x in nodes:
            self.drop(x)
        self.collect()

    def b_tree(self):
        rng = self.rng
        root = self.new(rng.choice(["list", "dict"]), prefix="root")
        frontier = [(root, [root])]
        made = [root]
        budget = rng.randint(5, 40)
        while frontier and len(made) < budget:
            parent, path = frontier.pop(0)
            for _ in range(rng.randint(1, 3)):
                kind = rng.choice(["list", "list", "dict", "tuple"])
                if kind == "tuple":
                    # a tuple child holds a back edge or a leaf
                    if rng.random() < 0.5:
                        items = [rng.choice(path)]
                    else:
                        items = [self.new(rng.choice(["int", "str"]))]
                        made.append(items[0])
                    child = self.new_tuple(self.fresh("tn"), items)
                else:
                    child = self.new(kind, prefix="n")
                self.link(parent, child)
                made.append(child)
                if kind != "tuple":
                    if rng.random() < 0.25:           # back edge
                        self.link(child, rng.choice(path))
                    frontier.append((child, path + [child]))
        self.maybe_query(made[:4], 0.3)
        for x in made[1:]:
            if x in self.names and rng.random() < 0.9:
                self.drop(x)
        if rng.random() < 0.4:
            self.collect(rng.choice([0, 1]))
        if rng.random() < 0.7:
            self.drop(root)
        self.collect()

    def b_old_young(self):
        rng = self.rng
        olds = [self.new(rng.choice(["list", "dict"]), prefix="old") for _ in range(rng.randint(1, 3))]
        for _ in range(rng.randint(1, 2)):
            self.collect(rng.choice([0, 1]))
        if rng.random() < 0.5:
            self.stmt("count")
        youngs = []
        for _ in range(rng.randint(1, 4)):
            y = self.new(rng.choice(["list", "dict", "list"]), prefix="young")
            youngs.append(y)
            self.link(rng.choice(olds), y)
            if rng.random() < 0.4:               # young -> old back edge
                self.link(y, rng.choice(olds))
            if rng.random() < 0.3:               # young self loop
                self.link(y, y)
        self.maybe_query(youngs, 0.3)
        self.drop_some(youngs, 0.9)
        self.collect(0)
        # cut the old -> young references: the young cycles become garbage
        for o in olds:
            ob = self.names[o]
            if ob.kind == "list":
                if ob.n and rng.random() < 0.5:
                    self.pop(o, rng.choice([None, 0, -1]) if ob.n > 0 else None)
                else:
                    self.clear(o)
            else:
                if ob.keys and rng.random() < 0.6:
                    self.delitem(o, rng.choice(ob.keys))
                else:
                    self.clear(o)
        self.collect(rng.choice([0, 0, 1]))
        self.maybe_query(olds, 0.4)
        if rng.random() < 0.5:
            self.drop_some(olds, 0.7)
            self.collect(rng.choice([0, 1, 2]))

    def b_leaves(self):
        rng = self.rng
        leaves = []
        for _ in range(rng.randint(2, 6)):
            k = rng.choice(["int", "str", "tuple", "int", "str"])
            leaves.append(self.new(k, prefix="leaf"))
        made = list(leaves)
        # tuples of leaves, nested tuples
        tuples = []
        for _ in range(rng.randint(1, 4)):
            items = [rng.choice(leaves + tuples) for _ in range(rng.randint(1, 4))]
            t = self.new_tuple(self.fresh("tup"), items)
            tuples.append(t)
            made.append(t)
        # dicts of leaves (untracked), sometimes with a tuple or a container value
        dicts = []
        for _ in range(rng.randint(1, 3)):
            d = self.new("dict", prefix="dl")
            dicts.append(d)
            made.append(d)
            for _ in range(rng.randint(0, 6)):
                self.setitem(d, self.key(self.names[d]), rng.choice(leaves + tuples))
            if rng.random() < 0.3:
                v = self.pick(["list", "dict"])
                if v is not None:
                    self.setitem(d, self.key(self.names[d]), v)
        for x in made:
            if rng.random() < 0.5:
                self.stmt("tracked", x)
        # an inner tuple referenced only from its outer tuple
        if tuples and rng.random() < 0.5:
            self.drop(rng.choice(tuples))
        self.collect(rng.choice([0, 0, 1, 2]))
        for x in made:
            if x in self.names and rng.random() < 0.6:
                self.stmt("tracked", x)
        # a dict that got a tracked value stays tracked until a full collection
        if dicts and rng.random() < 0.6:
            d = rng.choice(dicts)
            if d in self.names and self.names[d].kind == "dict":
                l = self.new("list", prefix="tv")
                k = self.key()
                self.setitem(d, k, l)
                self.stmt("tracked", d)
                self.delitem(d, k)
                self.stmt("tracked", d)
                self.collect(rng.choice([0, 1]))
                self.stmt("tracked", d)
                self.collect(2)
                self.stmt("tracked", d)
                self.drop(l)
        self.drop_some(made, 0.5)

    def b_list_sizes(self):
        rng = self.rng
        l = self.new("list", prefix="grow")
        item = self.pick() or l
        n = rng.choice([5, 9, 17, 30, 50, 80])
        for _ in range(n):
            self.append(l, rng.choice([item, item, l]))
            if rng.random() < 0.35:
                self.stmt("sizeof", l)
        for _ in range(rng.randint(0, n)):
            o = self.names[l]
            if o.n == 0:
                break
            r = rng.random()
            if r < 0.5:
                self.pop(l)
            else:
                self.pop(l, rng.randint(-o.n, o.n - 1))
            if rng.random() < 0.4:
                self.stmt("sizeof", l)
        if rng.random() < 0.5:
            self.clear(l)
            self.stmt("sizeof", l)
            for _ in range(rng.randint(0, 6)):
                self.append(l, item)
            self.stmt("sizeof", l)
        if rng.random() < 0.7:
            self.drop(l)
        if rng.random() < 0.5:
            self.collect()

    def b_dict_sizes(self):
        rng = self.rng
        d = self.new("dict", prefix="dg")
        v = self.pick() or d
        self.stmt("sizeof", d)
        n = rng.choice([3, 5, 6, 10, 11, 21, 22, 30])
        for i in range(n):
            self.setitem(d, "k%d" % i if rng.random() < 0.8 else self.key(self.names[d]), v)
            if rng.random() < 0.4:
                self.stmt("sizeof", d)
        o = self.names[d]
        for _ in range(rng.randint(0, len(o.keys))):
            self.delitem(d, rng.choice(o.keys))
            if rng.random() < 0.3:
                self.stmt("sizeof", d)
        # re-insert after deletes (compaction vs growth)
        for _ in range(rng.randint(0, 12)):
            self.setitem(d, self.key(o), v)
            if rng.random() < 0.3:
                self.stmt("sizeof", d)
        self.stmt("sizeof", d)
        if rng.random() < 0.4:
            self.clear(d)
            self.stmt("sizeof", d)
        self.stmt("tracked", d)
        if rng.random() < 0.6:
            self.drop(d)

    def b_alias(self):
        rng = self.rng
        src = self.pick(["list", "dict"]) or self.new("list", prefix="al")
        a = self.fresh("alias")
        self.alias(a, src)
        if self.names[a].kind == "list":
            self.append(a, src)             # self loop through the alias
        else:
            self.setitem(a, self.key(self.names[a]), src)
        if rng.random() < 0.5:
            self.stmt("sizeof", src)
        # rebinding: the old object loses a reference
        r = rng.random()
        if r < 0.3:
            self.new(rng.choice(["list", "dict", "int", "str", "tuple"]), name=src)
        elif r < 0.6:
            other = self.pick()
            if other is not None:
                self.alias(src, other)
        elif r < 0.8:
            self.alias(a, a)                # bind a name to its own object
        self.maybe_query([a, src], 0.4)
        if rng.random() < 0.7 and a in self.names:
            self.drop(a)
        if rng.random() < 0.5:
            self.collect()

    def b_chain(self, depth=None):
        rng = self.rng
        if depth is None:
            depth = rng.randint(10, 120)
        kind = rng.choice(["tuple", "list", "dict", "mixed"])
        a = self.new(rng.choice(["list", "int", "str", "tuple"]), prefix="ch")
        if kind == "tuple":
            for _ in range(depth):
                self.new_tuple(a, [a])           # a = (a,)
        else:
            b = self.fresh("ch")
            cur, other = a, b
            for _ in range(depth):
                k = kind if kind != "mixed" else rng.choice(["list", "dict", "tuple"])
                if k == "tuple":
                    self.new_tuple(other, [cur])
                else:
                    self.new(k, name=other)
                    self.link(other, cur)
                cur, other = other, cur
            a = cur
            if other in self.names:
                self.drop(other)
        if rng.random() < 0.4:
            self.stmt("count")
        if rng.random() < 0.3:
            self.collect(rng.choice([0, 1, 2]))
        if rng.random() < 0.3 and self.names[a].kind == "list":
            # close it into a cycle: only the collector frees it
            tail = self.new("list", prefix="tail")
            self.append(tail, a)
            self.append(a, tail)
            self.drop(tail)
        self.drop(a)
        self.collect(rng.choice([0, 2, None]))

    def b_collect(self):
        rng = self.rng
        for _ in range(rng.randint(1, 4)):
            self.collect(rng.choice([0, 0, 1, 1, 2, None]))
            if rng.random() < 0.7:
                self.stmt("count")

    def b_scalars(self):
        rng = self.rng
        for _ in range(rng.randint(1, 4)):
            x = self.new(rng.choice(["int", "str"]), name=self.pick(["int", "str"]) if rng.random() < 0.3 else None)
            self.stmt("sizeof", x)
            if rng.random() < 0.3:
                self.stmt("tracked", x)

    def b_mutate(self):
        """A few random valid statements on what is bound."""
        rng = self.rng
        for _ in range(rng.randint(3, 10)):
            r = rng.random()
            if r < 0.25:
                l = self.pick(["list"])
                a = self.pick()
                if l and a:
                    self.append(l, a)
            elif r < 0.45:
                d = self.pick(["dict"])
                a = self.pick()
                if d and a:
                    self.setitem(d, self.key(self.names[d]), a)
            elif r < 0.55:
                d = [n for n in self.bound(["dict"]) if self.names[n].keys]
                if d:
                    n = rng.choice(d)
                    self.delitem(n, rng.choice(self.names[n].keys))
            elif r < 0.65:
                l = [n for n in self.bound(["list"]) if self.names[n].n]
                if l:
                    n = rng.choice(l)
                    o = self.names[n]
                    self.pop(n, rng.choice([None, rng.randint(-o.n, o.n - 1)]))
            elif r < 0.7:
                c = self.pick(["list", "dict"])
                if c:
                    self.clear(c)
            elif r < 0.8:
                n = self.pick()
                if n:
                    self.drop(n)
            elif r < 0.9:
                items = [self.pick() for _ in range(rng.randint(0, 3))]
                items = [x for x in items if x]
                self.new_tuple(self.fresh("mt"), items)
            else:
                m = self.pick()
                if m:
                    self.alias(self.pick() if rng.random() < 0.3 else self.fresh("m"), m)
            if rng.random() < 0.2:
                n = self.pick()
                if n:
                    self.stmt(rng.choice(["tracked", "sizeof"]), n)

    # -- errors --------------------------------------------------------
    def error_statement(self):
        """Append one statement that must fail; return its kind."""
        rng = self.rng
        kinds = ["unbound", "append_nonlist", "setitem_nondict", "pop_empty",
                 "pop_range", "pop_dict", "delitem_missing", "collect_gen",
                 "clear_nonc", "unknown", "arity", "bad_name", "long_name",
                 "bad_int", "bad_key", "bad_text"]
        kind = rng.choice(kinds)
        if kind == "unbound":
            u = "never%d" % rng.randint(0, 99)
            self.stmt(*rng.choice([("drop", u), ("tracked", u), ("sizeof", u),
                                   ("alias", "x", u), ("tuple", "x", u),
                                   ("append", u, u), ("clear", u)]))
        elif kind == "append_nonlist":
            x = self.pick(["dict", "tuple", "str", "int"]) or self.new("dict")
            self.stmt("append", x, x)
        elif kind == "setitem_nondict":
            x = self.pick(["list", "tuple", "str", "int"]) or self.new("list")
            self.stmt("setitem", x, "k", x)
        elif kind == "pop_empty":
            l = self.new("list", prefix="empty")
            self.stmt("pop", l)
        elif kind == "pop_range":
            l = self.new("list", prefix="short")
            for _ in range(rng.randint(1, 5)):
                self.append(l, l)
            n = self.names[l].n
            self.stmt("pop", l, str(rng.choice([n, -n - 1, 2**62, -2**63])))
        elif kind == "pop_dict":
            d = self.new("dict", prefix="pd")
            self.stmt("pop", d)
        elif kind == "delitem_missing":
            d = self.new("dict", prefix="dm")
            self.setitem(d, "present", d)
            self.stmt("delitem", d, "absent")
        elif kind == "collect_gen":
            self.stmt("collect", rng.choice(["3", "-1", "9223372036854775807", "-9223372036854775808"]))
        elif kind == "clear_nonc":
            x = self.pick(["tuple", "str", "int"]) or self.new("int")
            self.stmt("clear", x)
        elif kind == "unknown":
            self.stmt(*rng.choice([("frob", "a"), ("List", "a"), ("pop_all",), ("1list", "a")]))
        elif kind == "arity":
            self.stmt(*rng.choice([("list",), ("list", "a", "b"), ("setitem", "d", "k"),
                                   ("int", "n"), ("collect", "1", "2"), ("count", "a"),
                                   ("tuple",), ("str", "s", "a", "b"), ("pop", "l", "1", "2")]))
        elif kind == "bad_name":
            self.stmt("list", rng.choice(["9a", "a-b", "a.b", "\u00e9t\u00e9"]))
        elif kind == "long_name":
            self.stmt("dict", "n" * 65)
        elif kind == "bad_int":
            self.stmt("int", "n", rng.choice(["9223372036854775808", "-9223372036854775809",
                                              "1.5", "0x10", "+1", "-", "1e3"]))
        elif kind == "bad_key":
            d = self.new("dict", prefix="bk")
            self.stmt("setitem", d, rng.choice(["a-b", "k" * 65, "\u00e4"]), d)
        elif kind == "bad_text":
            self.stmt("str", "s", rng.choice(["a.b", "x" * 65, "'q'"]))
        return kind

    # -- a whole script ------------------------------------------------
    BLOCKS = [
        ("b_self_loop", 3), ("b_ring", 3), ("b_clique", 2), ("b_tree", 2),
        ("b_old_young", 3), ("b_leaves", 3), ("b_list_sizes", 2),
        ("b_dict_sizes", 2), ("b_alias", 2), ("b_chain", 2), ("b_collect", 3),
        ("b_scalars", 1), ("b_mutate", 3),
    ]

    def script(self):
        rng = self.rng
        target = rng.choice([20, 40, 80, 150, 250, 380])
        target = rng.randint(target // 2 + 10, target)
        names = [b for b, _ in self.BLOCKS]
        weights = [w for _, w in self.BLOCKS]
        if rng.random() < 0.03:
            self.comment("a long chain")
            self.b_chain(depth=rng.randint(1000, 2000))
        while self.nstmt < target:
            getattr(self, rng.choices(names, weights)[0])()
        if rng.random() < 0.5:
            self.stmt("count")
        if rng.random() < 0.5:
            for n in list(self.names):
                if rng.random() < 0.8:
                    self.drop(n)
            self.collect(2)
        expect = "ok"
        if rng.random() < ERROR_FRACTION:
            kind = self.error_statement()
            line = len(self.lines) + 1   # + the header line
            expect = "error at line %d (%s)" % (line, kind)
            # nothing after the error may run
            self.lines.append("collect")
            self.lines.append("count")
        return "# expect: %s\n" % expect + "\n".join(self.lines) + "\n"


def generate(seed, i):
    """Script i of seed `seed`, as a str."""
    rng = random.Random("%s:%d" % (seed, i))
    return Gen(rng).script()


def main(argv=None):
    ap = argparse.ArgumentParser(description="Write random heap scripts gen_<seed>_<i>.heap.")
    ap.add_argument("--seed", required=True, help="seed (an integer or any word)")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--out", required=True, help="output directory (created if missing)")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    for i in range(args.count):
        path = os.path.join(args.out, "gen_%s_%d.heap" % (args.seed, i))
        with open(path, "w", encoding="utf-8") as f:
            f.write(generate(args.seed, i))
    return 0


if __name__ == "__main__":
    sys.exit(main())
