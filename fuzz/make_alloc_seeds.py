#!/usr/bin/env python3
"""Writes corpus/alloc_fuzz/seed_NN: one op program per registry index.

    python3 fuzz/make_alloc_seeds.py [COUNT]      # COUNT: allocators (default 14)

The format is alloc_fuzz.c's: byte 0 picks the allocator (index % count), then
4-byte ops OP SLOT SIZE_LO SIZE_HI.  Each seed has 120 ops from a fixed-seed
generator: mostly small mallocs, frees and reallocs, a few calloc, usable_size,
8 KiB and up-to-2 MiB sizes, so every op kind and size regime is covered from
the start.  Deterministic: rerunning rewrites the same bytes.
"""
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def size_word(rng):
    r = rng.random()
    if r < 0.75:
        return rng.randrange(0, 512)                     # V >> 12 == 0
    if r < 0.95:
        return (10 << 12) | rng.randrange(0, 1 << 12)    # 0..8191
    return (15 << 12) | rng.randrange(0, 1 << 12)        # 8 KiB .. 2 MiB


def program(index, rng, nops=120):
    out = bytearray([index])
    kinds = [0, 0, 1, 2, 3, 4, 5, 6, 7]
    for _ in range(nops):
        kind = rng.choice(kinds)
        op = kind | (rng.randrange(0, 32) << 3)
        v = size_word(rng)
        out += bytes([op, rng.randrange(0, 64), v & 0xFF, v >> 8])
    return bytes(out)


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 14
    outdir = os.path.join(ROOT, "corpus", "alloc_fuzz")
    for i in range(count):
        rng = random.Random(1000 + i)
        with open(os.path.join(outdir, "seed_%02d" % i), "wb") as f:
            f.write(program(i, rng))


if __name__ == "__main__":
    main()
