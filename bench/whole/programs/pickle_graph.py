"""pickle_graph: pickling and unpickling object graphs (whole-program
benchmark, bench/whole/whole.py).

Shape of the workload: 8 graphs, each of about 6000 x SCALE instances of
three small classes (an order book of sorts: Customer, Order, Line) with per-instance __dict__s, str and float attributes, tuples, and
shared references: every Order points to its Customer, every Customer keeps
the list of its Orders (a reference cycle per customer), Lines share Product
tuples.  For each graph:
    blob = pickle.dumps(graph, protocol=5)     (the pickler's memo: a dict
                                                keyed by id() of every object)
    back = pickle.loads(blob)                  (the whole graph rebuilt)
    copy.deepcopy(graph)                       (the same again, in Python code)
    a walk of `back` checks the structure and sums the amounts,
then the graphs are dropped; the cycles are reclaimed by the collector.
What it stresses: allocation of many small objects of mixed types in
bursts of tens of thousands, all living about as long as one graph, and the
growth of the memo dicts (large reallocs).

Deterministic: fixed seed; the pickle bytes do not depend on addresses.
Prints one line, "pickle_graph DIGEST", a digest of every blob and the sums.

usage: python3 pickle_graph.py [SCALE]   (SCALE 1: about 1 s under glibc)
"""
import copy
import hashlib
import pickle
import random

from program_args import scale_arg


class Customer:
    def __init__(self, cid, name, city):
        self.cid = cid
        self.name = name
        self.city = city
        self.orders = []


class Order:
    def __init__(self, oid, customer, day):
        self.oid = oid
        self.customer = customer
        self.day = day
        self.lines = []
        self.notes = {}


class Line:
    def __init__(self, product, qty, price):
        self.product = product
        self.qty = qty
        self.price = price


CITIES = ("Amsterdam", "Berlin", "Cairo", "Delhi", "Edinburgh", "Funchal", "Geneva")


def build(rng, n_objects):
    products = [("P%05d" % i, rng.choice(CITIES), round(rng.random() * 90 + 1, 2))
                for i in range(200)]
    customers = [Customer(i, "customer-%d" % i, rng.choice(CITIES))
                 for i in range(max(1, n_objects // 40))]
    made = len(customers)
    oid = 0
    while made < n_objects:
        c = rng.choice(customers)
        o = Order(oid, c, (rng.randrange(2024, 2026), rng.randint(1, 12), rng.randint(1, 28)))
        oid += 1
        c.orders.append(o)
        for _ in range(rng.randint(1, 8)):
            p = rng.choice(products)
            o.lines.append(Line(p, rng.randint(1, 20), round(p[2] * rng.uniform(0.8, 1.2), 2)))
        if rng.random() < 0.3:
            o.notes["gift"] = rng.random() < 0.5
            o.notes["comment"] = "deliver to %s" % rng.choice(CITIES)
        made += 1 + len(o.lines)
    return {"customers": customers, "products": products}


def walk(graph):
    total = 0.0
    orders = lines = 0
    for c in graph["customers"]:
        for o in c.orders:
            assert o.customer is c
            orders += 1
            for ln in o.lines:
                lines += 1
                total += ln.qty * ln.price
    return orders, lines, round(total, 2)


def main():
    scale = scale_arg()
    rng = random.Random(0x50494B4C)
    h = hashlib.sha256()
    for _ in range(8):
        graph = build(rng, max(50, int(6000 * scale)))
        blob = pickle.dumps(graph, protocol=5)
        h.update(blob)
        back = pickle.loads(blob)
        twin = copy.deepcopy(graph)
        facts = walk(back)
        assert facts == walk(twin) == walk(graph)
        h.update(repr(facts).encode())
        del graph, back, twin, blob
    print("pickle_graph", h.hexdigest()[:16])


if __name__ == "__main__":
    main()
