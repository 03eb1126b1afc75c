"""gc_cycles: building and dropping cyclic object graphs, so that the cyclic
garbage collector does the freeing (whole-program benchmark,
bench/whole/whole.py).

Shape of the workload: R rounds (R = 80 x SCALE, at least 1); each builds
    a tree of 2000 nodes with parent back-pointers (a cycle per edge),
    a doubly linked ring of 3000 nodes,
    a random graph of 1500 nodes with 4 out-edges each, kept in dicts,
    1000 self-referencing lists and dicts,
keeps the structures of every fourth round alive for the next sixteen rounds
(so that some survive into the older generations), and drops the rest.
None of it can be freed by reference counting: every node is reclaimed by
CPython's collector (default thresholds 700/10/10, and a gc.collect() every
ten rounds), whose tp_clear calls break the cycles so that the objects are
freed in the order the collector finds them.  What it stresses: the free
path in collector order (scattered over many pools or pages) between the
young generation's allocation bursts -- the pattern of programs that build
webs of objects with back-pointers (parent links, doubly linked lists,
graphs).

Deterministic: fixed seed; the digest covers what the program computed and
that every node was reclaimed (weak references to a sample of nodes are all
dead after the final collection), never the collector's own counts, which
depend on when automatic collections fall.  Prints one line,
"gc_cycles DIGEST".

usage: python3 gc_cycles.py [SCALE]   (SCALE 1: about 1 s under glibc)
"""
import gc
import hashlib
import random
import weakref

from program_args import scale_arg


class Node:
    def __init__(self, key):
        self.key = key
        self.parent = None
        self.children = []


class Link:
    __slots__ = ("value", "prev", "next", "__weakref__")

    def __init__(self, value):
        self.value = value
        self.prev = self.next = None


class Vertex:
    def __init__(self, key):
        self.key = key
        self.edges = {}


def tree(rng, n):
    nodes = [Node(0)]
    for i in range(1, n):
        parent = nodes[rng.randrange(len(nodes))]
        child = Node(i)
        child.parent = parent
        parent.children.append(child)
        nodes.append(child)
    depth_sum = 0
    for nd in nodes[::37]:
        while nd.parent is not None:
            depth_sum += 1
            nd = nd.parent
    return nodes[0], depth_sum


def ring(n):
    head = Link(0)
    prev = head
    for i in range(1, n):
        cur = Link(i)
        cur.prev = prev
        prev.next = cur
        prev = cur
    prev.next = head
    head.prev = prev
    total, cur = 0, head.next
    while cur is not head:
        total += cur.value * (cur.prev.value + 1) % 1000
        cur = cur.next
    return head, total


def graph(rng, n):
    vs = [Vertex(i) for i in range(n)]
    for v in vs:
        for _ in range(4):
            w = vs[rng.randrange(n)]
            v.edges[w.key] = w
    seen, stack = {0}, [vs[0]]
    while stack:
        v = stack.pop()
        for w in v.edges.values():
            if w.key not in seen:
                seen.add(w.key)
                stack.append(w)
    return vs, len(seen)


def self_refs(n):
    out = []
    for i in range(n):
        lst = [i]
        lst.append(lst)
        d = {"i": i}
        d["me"] = d
        d["list"] = lst
        out.append(d)
    return out


def main():
    scale = scale_arg()
    rng = random.Random(0x47435943)
    h = hashlib.sha256()
    kept = []
    watch = []
    for r in range(max(1, round(80 * scale))):
        root, depth_sum = tree(rng, 2000)
        head, ring_sum = ring(3000)
        vs, reach = graph(rng, 1500)
        refs = self_refs(1000)
        h.update(repr((r, depth_sum, ring_sum, reach, len(refs))).encode())
        watch.append(weakref.ref(root.children[0] if root.children else root))
        watch.append(weakref.ref(head.next))
        watch.append(weakref.ref(vs[rng.randrange(len(vs))]))
        if r % 4 == 0:
            kept.append((root, head, vs, refs))
        if len(kept) > 4:
            kept.pop(0)
        del root, head, vs, refs
        if r % 10 == 9:
            gc.collect()
    kept.clear()
    gc.collect()
    alive = sum(1 for w in watch if w() is not None)
    h.update(repr(("alive", alive)).encode())
    print("gc_cycles", h.hexdigest()[:16], "alive=%d" % alive)


if __name__ == "__main__":
    main()
