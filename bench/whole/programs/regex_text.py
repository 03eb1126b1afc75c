"""regex_text: a regular-expression and text-processing pass over generated
prose (whole-program benchmark, bench/whole/whole.py).

Shape of the workload: about 3 MB x SCALE of generated log-like text (lines
of words, numbers, dates, e-mail addresses and key=value pairs), then the
passes a log-analysis script makes:
    tokenise with re.finditer (one match object and a few strs per token),
    re.findall for dates, addresses and key=value pairs,
    re.sub with a callback (a new str per replacement) and with a template,
    re.split on punctuation, str.lower / split / join per line,
    a word-frequency collections.Counter and the top words.
Almost every allocation is a short-lived str, tuple or match object of
32-200 bytes, freed within microseconds; the heap stays small while the
malloc/free rate is high.  This is the classic small-object churn that
pymalloc was designed for (the CPython obmalloc.c header's rationale).

Deterministic: fixed seed, no set or dict iteration order in the output.
Prints one line, "regex_text DIGEST".

usage: python3 regex_text.py [SCALE]   (SCALE 1: about 1 s under glibc)
"""
import collections
import hashlib
import random
import re

from program_args import scale_arg

WORDS = ("the of and to in is was for on that with as by at from this be are "
         "allocator arena pool block free list size class fit coalesce split "
         "buddy boundary tag segregated heap page memory object reference cycle "
         "collector generation threshold young old survivor").split()
HOSTS = ("example.org", "heaplab.test", "pool.local", "arena.invalid")


def make_line(rng, i):
    parts = ["2024-%02d-%02d" % (rng.randint(1, 12), rng.randint(1, 28)),
             "%02d:%02d:%02d" % (rng.randrange(24), rng.randrange(60), rng.randrange(60)),
             rng.choice(("INFO", "WARN", "ERROR", "DEBUG"))]
    for _ in range(rng.randint(4, 14)):
        x = rng.random()
        if x < 0.7:
            parts.append(rng.choice(WORDS).capitalize() if x < 0.05 else rng.choice(WORDS))
        elif x < 0.8:
            parts.append(str(rng.randrange(100000)))
        elif x < 0.87:
            parts.append("%s=%d.%02d" % (rng.choice(WORDS), rng.randrange(1000), rng.randrange(100)))
        elif x < 0.93:
            parts.append("%s.%s@%s" % (rng.choice(WORDS), rng.choice(WORDS), rng.choice(HOSTS)))
        else:
            parts.append(rng.choice(WORDS) + rng.choice(",.;:!?"))
    parts.append("#%d" % i)
    return " ".join(parts)


TOKEN = re.compile(r"(?P<num>\d+(?:\.\d+)?)|(?P<word>[A-Za-z]+)|(?P<punct>[^\sA-Za-z\d])")
DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
MAIL = re.compile(r"\b([a-z]+)\.([a-z]+)@([a-z.]+)\b")
KV = re.compile(r"\b([a-z]+)=(\d+\.\d+)")


def main():
    scale = scale_arg()
    rng = random.Random(0x52454758)
    lines = [make_line(rng, i) for i in range(max(1, int(30000 * scale)))]
    h = hashlib.sha256()

    kinds = collections.Counter()
    tokens = 0
    for line in lines:
        for m in TOKEN.finditer(line):
            kinds[m.lastgroup] += 1
            tokens += 1
    h.update(repr((tokens, sorted(kinds.items()))).encode())

    text = "\n".join(lines)
    dates = DATE.findall(text)
    mails = MAIL.findall(text)
    kvs = KV.findall(text)
    h.update(repr((len(dates), dates[:50], len(mails), mails[-20:],
                   round(sum(float(v) for _, v in kvs), 2))).encode())

    def swap(m):
        return "%s/%s/%s" % (m.group(3), m.group(2), m.group(1))
    rewritten = DATE.sub(swap, text)
    rewritten = MAIL.sub(r"<\2 at \3>", rewritten)
    h.update(hashlib.sha256(rewritten.encode()).digest())
    del rewritten

    pieces = re.split(r"[,.;:!?\s]+", text)
    h.update(repr((len(pieces), pieces[1000:1010])).encode())
    del pieces

    counts = collections.Counter()
    upper = []
    for line in lines:
        words = line.lower().split()
        counts.update(w for w in words if w.isalpha())
        upper.append(" ".join(reversed(words)).upper())
    h.update(repr(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:25]).encode())
    h.update(hashlib.sha256("\n".join(upper).encode()).digest())
    print("regex_text", h.hexdigest()[:16])


if __name__ == "__main__":
    main()
