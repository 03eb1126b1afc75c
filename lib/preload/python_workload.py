"""A standard-library workload for python_test.sh: a few MB of generated data
through json, re, difflib, collections, decimal, textwrap, heapq, zlib,
hashlib, pickle and sqlite3, in three threads and a forked child, and the C
malloc family through ctypes (posix_memalign, aligned_alloc, memalign, valloc,
pvalloc, malloc_usable_size, realloc to 0).  Prints one digest per stage: the output depends only on the data, never on addresses,
so it must be the same under every malloc.

usage: python3 python_workload.py [SCALE]      (SCALE 1: about 2 s under glibc;
                                                fractions scale down)
"""
import collections
import ctypes
import decimal
import difflib
import hashlib
import heapq
import json
import os
import pickle
import random
import re
import sqlite3
import sys
import textwrap
import threading
import zlib

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi "
         "omicron pi rho sigma tau upsilon phi chi psi omega arena pool block "
         "buddy fit segregated boundary tag coalesce split").split()


def digest(obj):
    return hashlib.sha256(repr(obj).encode()).hexdigest()[:16]


def report(stage, obj):
    print("%-12s %s" % (stage, digest(obj)), flush=True)


def make_records(rng, n):
    return [{"id": i,
             "name": " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6))),
             "score": rng.random() * 1000,
             "tags": [rng.choice(WORDS) for _ in range(rng.randint(0, 12))],
             "nested": {"a": list(range(rng.randint(0, 40))), "b": str(i) * rng.randint(1, 30)}}
            for i in range(n)]


def stage_json(rng):
    records = make_records(rng, int(20000 * SCALE))
    text = json.dumps(records, sort_keys=True)            # a few MB
    back = json.loads(text)
    assert back == records
    pretty = json.dumps(back[:2000], indent=2, sort_keys=True)
    report("json", (len(text), hashlib.sha256(text.encode()).hexdigest(), len(pretty)))
    return text


def stage_re(text):
    words = re.findall(r"[a-z]+", text)
    numbers = [float(m) for m in re.findall(r"\d+\.\d+", text)]
    swapped = re.sub(r"(\w+) (\w+)", r"\2 \1", text[:500000])
    parts = re.split(r"[{}\[\],:]+", text[:300000])
    report("re", (len(words), round(sum(numbers), 3), hashlib.md5(swapped.encode()).hexdigest(),
                  len(parts)))
    return words


def stage_collections(words):
    counts = collections.Counter(words)
    index = collections.defaultdict(list)
    for i, w in enumerate(words[:200000]):
        index[w[:2]].append(i)
    window = collections.deque(maxlen=1000)
    total = 0
    for w in words:
        window.append(len(w))
        total += window[0]
    od = collections.OrderedDict(sorted(counts.items()))
    od.move_to_end(next(iter(od)))
    Point = collections.namedtuple("Point", "x y")
    pts = [Point(i, len(w)) for i, w in enumerate(words[:100000])]
    report("collections", (counts.most_common(10), sorted((k, len(v)) for k, v in index.items()),
                           total, list(od)[:5], sum(p.y for p in pts)))


def stage_heapq(rng):
    data = [rng.random() for _ in range(int(300000 * SCALE))]
    heap = []
    for x in data:
        heapq.heappush(heap, x)
    out = [heapq.heappop(heap) for _ in range(len(heap))]
    assert out == sorted(data)
    runs = [sorted(data[i::7]) for i in range(7)]
    merged = list(heapq.merge(*runs))
    report("heapq", (out[:3], heapq.nlargest(5, data), heapq.nsmallest(5, data), len(merged)))


def stage_decimal():
    decimal.getcontext().prec = 60
    total = decimal.Decimal(0)
    for i in range(1, int(60000 * SCALE)):
        total += decimal.Decimal(1) / decimal.Decimal(i)
    root = decimal.Decimal(2).sqrt()
    e = sum(decimal.Decimal(1) / decimal.Decimal(_fact(k)) for k in range(60))
    report("decimal", (str(total), str(root), str(e)))


def _fact(k):
    r = 1
    for i in range(2, k + 1):
        r *= i
    return r


def stage_difflib(rng):
    a = [" ".join(rng.choice(WORDS) for _ in range(8)) for _ in range(3000)]
    b = list(a)
    for _ in range(300):
        i = rng.randrange(len(b))
        b[i] = " ".join(rng.choice(WORDS) for _ in range(8))
    for _ in range(100):
        del b[rng.randrange(len(b))]
    diff = list(difflib.unified_diff(a, b, lineterm=""))
    ratio = difflib.SequenceMatcher(None, "".join(a[:300]), "".join(b[:300])).ratio()
    close = difflib.get_close_matches("gamna", WORDS, n=3)
    report("difflib", (len(diff), hashlib.md5("\n".join(diff).encode()).hexdigest(),
                       round(ratio, 6), close))


def stage_textwrap(words):
    text = " ".join(words[:400000])
    filled = textwrap.fill(text, width=72)
    wrapped = textwrap.wrap(text[:200000], width=40, break_long_words=False)
    ded = textwrap.dedent(textwrap.indent(filled[:100000], "    "))
    report("textwrap", (len(filled), hashlib.md5(filled.encode()).hexdigest(), len(wrapped),
                        len(ded)))


def stage_pickle_zlib_sqlite(rng):
    obj = make_records(rng, 5000)
    blob = pickle.dumps(obj, protocol=4)
    packed = zlib.compress(blob, 6)
    assert pickle.loads(zlib.decompress(packed)) == obj
    db = sqlite3.connect(":memory:")
    db.execute("create table r (id integer primary key, name text, score real)")
    db.executemany("insert into r values (?, ?, ?)", [(r["id"], r["name"], r["score"]) for r in obj])
    rows = db.execute("select name, count(*), round(sum(score), 3) from r group by name "
                      "order by 2 desc, 1 limit 5").fetchall()
    db.close()
    report("pickle+zlib", (len(blob), hashlib.sha256(blob).hexdigest(), rows))


def stage_threads():
    """Three threads allocate at once: the shim's lock under contention."""
    results = [None] * 3

    def work(k):
        rng = random.Random(100 + k)
        recs = make_records(rng, 4000)
        s = json.dumps(recs, sort_keys=True)
        results[k] = (len(s), hashlib.sha256(s.encode()).hexdigest()[:12],
                      len(re.findall(r"[a-z]+", s)))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report("threads", results)


def stage_fork():
    """A forked child allocates (the atfork handlers keep the lock usable)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        rng = random.Random(7)
        s = json.dumps(make_records(rng, 3000), sort_keys=True)
        os.write(w, hashlib.sha256(s.encode()).hexdigest().encode())
        os._exit(0)
    os.close(w)
    got = b""
    while True:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        got += chunk
    os.close(r)
    _, status = os.waitpid(pid, 0)
    report("fork", (got.decode(), os.waitstatus_to_exitcode(status)))


def stage_c_api():
    """The malloc family itself, as C programs call it (the shim's aligned path)."""
    libc = ctypes.CDLL(None)
    vp, sz = ctypes.c_void_p, ctypes.c_size_t
    for name, res, args in [("malloc", vp, [sz]), ("realloc", vp, [vp, sz]), ("free", None, [vp]),
                            ("aligned_alloc", vp, [sz, sz]), ("memalign", vp, [sz, sz]),
                            ("valloc", vp, [sz]), ("pvalloc", vp, [sz]),
                            ("malloc_usable_size", sz, [vp]),
                            ("posix_memalign", ctypes.c_int, [ctypes.POINTER(vp), sz, sz])]:
        getattr(libc, name).restype = res
        getattr(libc, name).argtypes = args
    page = os.sysconf("SC_PAGE_SIZE")
    facts = []

    def use(p, n, align):
        ok = p is not None and p % align == 0 and libc.malloc_usable_size(p) >= n
        if ok:
            ctypes.memset(p, 0x5A, n)
            q = libc.realloc(p, 2 * n + 100)           # keeps the contents
            ok = q is not None and ctypes.string_at(q, n) == b"\x5a" * n
            p = q
        libc.free(p)
        return ok

    for align in (16, 32, 64, 256, 4096, 65536):
        for n in (1, 24, 100, 600, 5000, 100000):
            out = vp()
            rc = libc.posix_memalign(ctypes.byref(out), align, n)
            facts.append(rc == 0 and use(out.value, n, align))
            facts.append(use(libc.aligned_alloc(align, n), n, align))
            facts.append(use(libc.memalign(align, n), n, align))
    bad = vp()
    facts.append(libc.posix_memalign(ctypes.byref(bad), 24, 10))  # EINVAL
    for n in (1, 5000, 3 * page + 1):
        facts.append(use(libc.valloc(n), n, page))
        facts.append(use(libc.pvalloc(n), n, page))
    p = libc.malloc(100)
    facts.append(libc.realloc(p, 0))                                # glibc: frees, None
    facts.append(libc.malloc_usable_size(None))
    # Plain facts, not only a digest: a difference names the call that failed.
    print("c-api facts", "".join("1" if x is True else "0" if x is False else "." for x in facts))
    report("c-api", facts)


def main():
    rng = random.Random(20240601)
    text = stage_json(rng)
    words = stage_re(text)
    stage_collections(words)
    stage_heapq(rng)
    stage_decimal()
    stage_difflib(rng)
    stage_textwrap(words)
    stage_pickle_zlib_sqlite(rng)
    stage_threads()
    stage_fork()
    stage_c_api()
    print("done")


if __name__ == "__main__":
    main()
