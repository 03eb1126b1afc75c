#!/usr/bin/env python3
"""Writes the seed corpora of the differential and debug-hooks fuzz targets.

    /usr/bin/python3 fuzz/make_diff_seeds.py [TARGET...]

TARGET: alloc_diff_fuzz, obmalloc_diff_fuzz, debug_hooks_fuzz (default: all
three).  Each writes corpus/<target>/seed_*: op programs in the target's
format (its .c file's header comment), from fixed-seed generators, so every
op kind and size regime is covered from the start.  Deterministic: rerunning
rewrites the same bytes.  Other files in corpus/<target>/ (regression_*) are
left alone.
"""
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def op4(kind, x, slot, v):
    """One 4-byte op: OP (kind | X << 3), SLOT, SIZE little-endian."""
    return bytes([(kind & 7) | ((x & 31) << 3), slot & 0xFF, v & 0xFF, (v >> 8) & 0xFF])


# ---- alloc_diff_fuzz -----------------------------------------------------------

def diff_size(rng, small=0.7, mid=0.25):
    """A SIZE word of alloc_diff_fuzz / obmalloc_diff_fuzz: V >> 13 picks the range."""
    r = rng.random()
    if r < small:
        return rng.randrange(0, 1 << 13) & 0x1FF                 # 0..511
    if r < small + mid:
        return (5 << 13) | rng.randrange(0, 1 << 13)             # 0..8191
    return (7 << 13) | rng.randrange(0, 1 << 13)                 # up to 1 MiB


def alloc_diff_program(rng, nops, weights, small=0.7, mid=0.25):
    out = bytearray()
    kinds = [k for k, w in enumerate(weights) for _ in range(w)]
    for _ in range(nops):
        out += op4(rng.choice(kinds), rng.randrange(32), rng.randrange(64),
                   diff_size(rng, small, mid))
    return bytes(out)


def alloc_diff_seeds():
    seeds = {}
    #            malloc malloc calloc realloc free write usable huge
    mixed = [3, 3, 1, 3, 3, 2, 1, 1]
    seeds["seed_mixed"] = alloc_diff_program(random.Random(2001), 96, mixed)
    seeds["seed_small_churn"] = alloc_diff_program(random.Random(2002), 128,
                                                   [4, 4, 1, 2, 5, 1, 1, 0], 1.0, 0.0)
    seeds["seed_realloc"] = alloc_diff_program(random.Random(2003), 96,
                                               [2, 2, 0, 8, 2, 2, 1, 1], 0.5, 0.4)
    seeds["seed_large"] = alloc_diff_program(random.Random(2004), 48, mixed, 0.3, 0.3)
    seeds["seed_huge"] = alloc_diff_program(random.Random(2005), 48, [2, 2, 1, 2, 1, 0, 0, 4])
    # Fill the slots with 512-byte blocks, then free every other one and
    # refill with other sizes: fragmentation, coalescing, pool reuse.
    out = bytearray()
    for s in range(64):
        out += op4(0, 0, s, 511)
    for s in range(0, 64, 2):
        out += op4(4, 0, s, 0)
    for s in range(0, 64, 2):
        out += op4(0, 0, s, 100 + 3 * s)
    for s in range(1, 64, 4):
        out += op4(3, 0, s, (5 << 13) | (600 + 50 * s))
    seeds["seed_fragment"] = bytes(out)
    return seeds


# ---- obmalloc_diff_fuzz ------------------------------------------------------------

def obmalloc_seeds():
    """Format: obmalloc_diff_fuzz.c (4-byte ops: OP, SLOT, SIZE; kinds 6 and 7
    are the group ops over 128-slot groups)."""
    seeds = {}

    def prog(rng, nops, kinds, small=0.85, mid=0.1):
        out = bytearray()
        for _ in range(nops):
            k = rng.choice(kinds)
            out += op4(k, rng.randrange(32), rng.randrange(256), diff_size(rng, small, mid))
        return bytes(out)

    seeds["seed_mixed"] = prog(random.Random(3001), 120, [0, 0, 1, 2, 3, 3, 4, 5, 5])
    seeds["seed_groups"] = prog(random.Random(3002), 40, [0, 2, 3, 6, 6, 7, 7])
    # Ramp: fill 24 groups (3072 blocks of up to 512 bytes: several arenas),
    # then free them in different orders, then refill some.
    out = bytearray()
    for g in range(24):
        out += op4(6, 0, g, 480 + (g % 3) * 16)          # group malloc, one size
    for g in range(0, 24, 3):
        out += op4(7, 0, g, 0)                          # free all, forward
    for g in range(1, 24, 3):
        out += op4(7, 1, g, 0)                          # every other one
    for g in range(2, 24, 3):
        out += op4(7, 3, g, 0)                          # backward
    for g in range(0, 24, 2):
        out += op4(6, 1, g, 16 + g * 8)                 # refill, mixed sizes
    seeds["seed_ramp_drain"] = bytes(out)
    # Every size class once, realloc across classes and to raw sizes.
    out = bytearray()
    for c in range(32):
        out += op4(0, 0, c, 16 * c + 1)
    for c in range(32):
        out += op4(2, 0, c, (5 << 13) | (16 * (31 - c) + 600 * (c % 2)))
    for c in range(0, 32, 3):
        out += op4(3, 0, c, 0)
    seeds["seed_classes"] = bytes(out)
    return seeds


# ---- debug_hooks_fuzz ---------------------------------------------------------------

def debug_program(rng, alloc, nops, misuse=None):
    """Format: debug_hooks_fuzz.c.  Byte 0 picks the allocator, then 4-byte ops;
    `misuse` (X, SLOT, V) appends the final misuse op (kind 7)."""
    out = bytearray([alloc])
    for _ in range(nops):
        k = rng.choice([0, 0, 1, 2, 2, 3, 4, 5, 6])
        out += op4(k, rng.randrange(32), rng.randrange(16), diff_size(rng, 0.8, 0.18))
    if misuse is not None:
        x, slot, v = misuse
        out += op4(7, x, slot, v)
    return bytes(out)


def debug_seeds():
    seeds = {}
    # One program without misuse per allocator index (0..13).
    for a in range(14):
        seeds["seed_clean_%02d" % a] = debug_program(random.Random(4000 + a), a, 40)
    # Each misuse kind (X & 7) over a few allocators: a prefix that makes
    # slot 3 live (malloc in slot 3 first), then the misuse on slot 3.
    names = ["overflow_free", "overflow_realloc", "underflow_free", "underflow_realloc",
             "wrong_api", "double_free", "realloc_after_free", "id_underflow"]
    for kind, name in enumerate(names):
        for a in (0, 2, 4, 9, 10):
            rng = random.Random(5000 + kind * 16 + a)
            prefix = op4(0, rng.randrange(32), 3, rng.randrange(1, 600))
            x = kind | (rng.randrange(4) << 3)
            v = rng.randrange(0, 1 << 16)
            body = debug_program(rng, a, 12, (x, 3, v))
            seeds["seed_%s_%02d" % (name, a)] = body[:1] + prefix + body[1:]
    # A 280 KiB block freed twice / realloc'd after free: tlsf maps it alone
    # and unmaps it on the first free (the child must die by SIGSEGV, as
    # CPython would), the others keep it mapped (SIGABRT, "bad ID").
    big = (7 << 13) | 7168                              # 7168 * 40 bytes
    for a in (2, 4, 9, 10):
        for kind, name in ((5, "double_free"), (6, "realloc_after_free")):
            seeds["seed_%s_big_%02d" % (name, a)] = (bytes([a]) + op4(0, 1, 3, big) +
                                                    op4(7, kind, 3, 0x1234))
    return seeds


TARGETS = {
    "alloc_diff_fuzz": alloc_diff_seeds,
    "obmalloc_diff_fuzz": obmalloc_seeds,
    "debug_hooks_fuzz": debug_seeds,
}


def main():
    names = sys.argv[1:] or list(TARGETS)
    for t in names:
        outdir = os.path.join(ROOT, "corpus", t)
        os.makedirs(outdir, exist_ok=True)
        for old in os.listdir(outdir):
            if old.startswith("seed_"):
                os.remove(os.path.join(outdir, old))
        for name, data in sorted(TARGETS[t]().items()):
            with open(os.path.join(outdir, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
