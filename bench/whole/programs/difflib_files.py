"""difflib_files: difflib over generated source files (whole-program
benchmark, bench/whole/whole.py).

Shape of the workload: 8 file pairs, each an "old" file of L generated
C-like lines (L = 3000 x SCALE) and a "new" one made from it by L/10
random line edits (replace, insert, delete, in-line changes), as a
code-review tool would see them.  For each pair:
    difflib.unified_diff and context_diff  (SequenceMatcher over lines: a
                          dict from line to a list of indices, the matching
                          blocks, the grouped opcodes)
    difflib.ndiff         (character-level "fancy replace": a SequenceMatcher
                          per pair of similar lines)
    HtmlDiff.make_table   (side-by-side HTML: many short-lived strs and
                          a large joined result)
    SequenceMatcher.get_opcodes, and get_close_matches for every 60th line.
SequenceMatcher builds dicts of lists of ints ("b2j") for every sequence it
sees and drops them after: medium-lived containers of many sizes, list
growth (realloc), and a few 1-MB strings per pair.

Deterministic: fixed seed; prints one line, "difflib_files DIGEST", a
digest of every diff's text.

usage: python3 difflib_files.py [SCALE]   (SCALE 1: about 1 s under glibc)
"""
import difflib
import hashlib
import random

from program_args import scale_arg

NAMES = ("pool arena block size_class freeblock nextoffset maxnextoffset usable "
         "address ref count gc_refs head tail prev next young old threshold").split()


def code_line(rng):
    indent = "    " * rng.randint(0, 3)
    kind = rng.random()
    a, b, c = rng.choice(NAMES), rng.choice(NAMES), rng.choice(NAMES)
    if kind < 0.3:
        return "%s%s->%s = %s + %d;" % (indent, a, b, c, rng.randrange(64))
    if kind < 0.5:
        return "%sif (%s == NULL || %s > %d) {" % (indent, a, b, rng.randrange(4096))
    if kind < 0.65:
        return "%s}" % indent
    if kind < 0.8:
        return "%s/* %s %s %s */" % (indent, a, b, c)
    return "%s%s(%s, %s);" % (indent, a, b, c)


def edit(rng, old):
    new = list(old)
    for _ in range(len(old) // 10):
        op = rng.random()
        i = rng.randrange(len(new))
        if op < 0.35:
            new[i] = code_line(rng)
        elif op < 0.6:
            new.insert(i, code_line(rng))
        elif op < 0.8:
            del new[i]
        else:
            line = new[i]
            j = rng.randrange(len(line) + 1)
            new[i] = line[:j] + rng.choice(NAMES) + line[j:]
    return new


def main():
    scale = scale_arg()
    rng = random.Random(0x44494646)
    h = hashlib.sha256()
    n_lines = max(100, int(3000 * scale))
    for f in range(8):
        old = [code_line(rng) for _ in range(n_lines)]
        new = edit(rng, old)
        a, b = "a/file%d.c" % f, "b/file%d.c" % f
        h.update("\n".join(difflib.unified_diff(old, new, a, b, lineterm="")).encode())
        h.update("\n".join(difflib.context_diff(old, new, a, b, lineterm="")).encode())
        h.update("\n".join(difflib.ndiff(old, new)).encode())
        table = difflib.HtmlDiff(wrapcolumn=72).make_table(old, new, a, b, context=True)
        h.update(table.encode())
        sm = difflib.SequenceMatcher(None, old, new)
        h.update(repr((round(sm.ratio(), 9), sm.get_opcodes())).encode())
        for i in range(0, len(old), 60):
            near = new[max(0, i - 20):i + 20]
            h.update(repr(difflib.get_close_matches(old[i], near, n=3, cutoff=0.5)).encode())
    print("difflib_files", h.hexdigest()[:16])


if __name__ == "__main__":
    main()
