"""json_roundtrip: JSON round trips of a generated document (whole-program
benchmark, bench/whole/whole.py).

Shape of the workload: a document of N records (N = 12000 x SCALE), each a
dict of short strings, floats, ints, a list of tags and a nested dict, as a
web service's payload would be.  Four rounds of
    text = json.dumps(doc, sort_keys=True)    (one big str, many small ones)
    doc  = json.loads(text)                    (the whole object tree again)
    mutate a tenth of the records
then one indented dump.  Each round frees the previous tree while building
the next, so the heap holds two generations of the document at the peak:
what it stresses is the allocator's small-object path (dicts, strs, floats,
lists of 24-500 bytes) under a fill-then-drop cycle, and one multi-MB string
per round (realloc growth in the encoder).

Deterministic: a fixed seed, sort_keys, and PYTHONHASHSEED is irrelevant to
the output.  Prints one line, "json_roundtrip DIGEST", a digest of every
dumped text, which must be the same under every malloc.

usage: python3 json_roundtrip.py [SCALE]   (SCALE 1: about 1 s under glibc)
"""
import hashlib
import json
import random

from program_args import scale_arg

WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi "
         "omicron pi rho sigma tau upsilon phi chi psi omega arena pool block "
         "buddy fit segregated boundary tag coalesce split").split()


def record(rng, i):
    return {"id": i,
            "name": " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 5))),
            "score": round(rng.random() * 1000, 6),
            "active": rng.random() < 0.5,
            "tags": [rng.choice(WORDS) for _ in range(rng.randint(0, 10))],
            "owner": {"uid": rng.randrange(1 << 20), "group": rng.choice(WORDS),
                      "path": "/".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6)))},
            "history": [[rng.randrange(1000), round(rng.random(), 4)]
                        for _ in range(rng.randint(0, 6))]}


def main():
    scale = scale_arg()
    rng = random.Random(0x4A534F4E)
    n = max(1, int(12000 * scale))
    doc = {"version": 3, "records": [record(rng, i) for i in range(n)]}
    h = hashlib.sha256()
    for rnd in range(4):
        text = json.dumps(doc, sort_keys=True)
        h.update(text.encode())
        doc = json.loads(text)
        recs = doc["records"]
        for _ in range(n // 10 + 1):
            r = recs[rng.randrange(n)]
            r["tags"].append("round%d" % rnd)
            r["score"] = round(r["score"] * 1.5 + rnd, 6)
            r["owner"]["path"] += "/" + rng.choice(WORDS)
        del text
    pretty = json.dumps(doc["records"][: n // 4 + 1], indent=2, sort_keys=True)
    h.update(pretty.encode())
    print("json_roundtrip", h.hexdigest()[:16])


if __name__ == "__main__":
    main()
