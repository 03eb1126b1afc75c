#!/usr/bin/python3
"""report.py: results/REPORT.md and results/plots/*.png, the report of one
`./heaplab run`.

    report.py --results DIR [--out DIR/REPORT.md] [--plots DIR/plots]
              [--started TS] [--finished TS] [--bench-ok yes|no]
              [--command CMD]... [--replay CMD]... [--note TEXT]

Reads whatever of these exists in DIR; a missing one (the suite included)
gives a line saying what was not run, never a failure:

    DIR/bench.json   heaplab_bench (bench/suite/hl_suite.h): FAMILY/WORKLOAD/
                     ALLOCATOR[/NAME:VALUE...]; timed families report
                     items_per_second, family mem the footprint counters
    DIR/gc.json      gc_benchmark: gc_KIND/IMPL/SHAPE/STATE/N, ns_per_object
    DIR/whole.json   whole programs: whole/PROGRAM/ALLOCATOR, real_time in s,
                     peak_rss, user_time, sys_time, minor_faults
    DIR/profiles/index.json  bench/tools/perf_profile.py's perf profiles
    DIR/traces.json, scripts.txt, fuzz.txt, planted*.md, coverage.md,
    compare/*.txt, ...  the rest of `./heaplab run` (linked and summarised)

and writes REPORT.md: the headline (the speed targets, each met or not met
with its numbers), one section per workload family (what it stresses, a
table per workload with the median ns per item, its coefficient of
variation and the ratio to glibc, the geometric mean per allocator, a
plot), memory, garbage collection, whole programs, trace replays, the
machine and the exact commands; and the plots (report_plots.py).

Every number is a median over Google Benchmark's repetitions, with the
coefficient of variation (stdev / mean) of those repetitions beside it
(report_data.py).  Ratios to glibc are glibc's time / the allocator's time,
so above 1 is faster than glibc.  The same inputs give the same bytes
(--finished pins the one clock reading; the machine facts come from the
machine).  Exits 2 on a bad command line, 1 if an input could not be read
(the report then says which), 0 otherwise.
"""
import argparse
import datetime
import glob
import json
import os
import platform
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_data as rd  # noqa: E402
import report_plots as rp  # noqa: E402

# ---------------------------------------------------------------------------
# What the workloads stress.  Keyed by workload name (the second field of a
# suite run, or a whole program's name); each text boils down the head
# comment of bench/workloads/*.c (bench/whole/programs/*.py for the whole
# programs).  `small`: False for a workload of large blocks, which the speed
# targets leave out; None for the default (every timed workload counts).
# A workload missing here gets a generic line pointing at its source file.

WORKLOADS = {
    # micro (bench/workloads/micro.c)
    "pairs": ("malloc(size), free it at once: one size class's fast path and nothing "
              "else, the freed block handed out next (glibc benchtests' "
              "bench-malloc-simple with one block live); sizes over 512 B go to "
              "pymalloc's raw allocator.", None),
    "window": ("n blocks of random sizes 1..512 B stay live; each step frees the oldest "
               "and allocates a new one (a FIFO of lifetimes, the \"plateau\" of Wilson et "
               "al.'s survey): every size class's free list in play, blocks freed in "
               "another order than handed out; at n = 65536 the live set leaves the "
               "caches.", None),
    "batch_lifo": ("allocate n blocks of random sizes 1..512 B, free them newest first: "
                   "bulk growth, then release in stack order.", None),
    "batch_fifo": ("the same, freed oldest first: the free order decides how warm the "
                   "freed memory is.", None),
    "batch_shuffled": ("the same, freed in a fixed random permutation: what a coalescing "
                       "or pool-releasing allocator must do on scattered frees.", None),
    "pymix": ("window with sizes drawn from CPython's own requests (the histogram of the "
              "bundled Python traces: 2/3 of requests 17..80 B, 1.3% over 512 B): the "
              "size classes weighted as the interpreter weighs them.", None),
    "realloc_growth": ("a list grows to n items by appends, its item array grown with "
                       "realloc exactly as CPython 3.11's list_resize over-allocates: "
                       "in-place growth, moves across size classes, past 512 B the raw "
                       "allocator's realloc.  One item is one append.", None),
    "large": ("malloc(size) of large blocks, one byte written per 4 KiB page, then free: "
              "mmap thresholds, page faults, memory given back to the system "
              "(mimalloc-bench's malloc-large).", False),
    # pattern (bench/workloads/patterns.c); sizes: 63 in 64 of 1..512 B, the
    # rest 513 B..64 KiB, log-uniform
    "glibc_simple": ("glibc's bench-malloc-simple: rounds of n mallocs of one size (16, 32 "
                     "or 64 B, every byte filled) then n frees, half FIFO and half LIFO: a "
                     "small, hot, same-size working set.", None),
    "larson": ("Larson & Krishnan's server model (mimalloc-bench's larsonN), one thread: a "
               "table of slots, each step frees a random slot's block and allocates "
               "8..1000 B in its place.", None),
    "ramp": ("the live set grows steadily to L long-lived blocks with a little short-lived "
             "churn in between, then everything is freed (Wilson et al.'s ramp, GCC- and "
             "Grobner-like): growth with holes left behind.", None),
    "peak": ("bursts of P short-lived blocks freed in random order, every 64th surviving "
             "into the next burst, over a long-lived base (Wilson et al.'s peak): a peak's "
             "leftovers pin pages while the next burst looks for memory.", None),
    "plateau": ("L blocks, then 4L random replacements at a constant live size, long "
                "lifetimes (Wilson et al.'s plateau, Espresso- and LRUsim-like): the "
                "long-run fragmentation of a stable heap of mixed sizes.", None),
    # scale (bench/workloads/scaling.c)
    "live": ("a live set of N blocks of 16..256 B; each item replaces a random live block "
             "(free it, malloc a fresh size).  O(1) designs (size classes, TLSF, pymalloc's "
             "pools) stay nearly flat as the live set leaves the caches (10^5) and the TLB "
             "(10^6..10^7); a sequential fit's free list grows and its searches climb.",
             None),
    # trace (bench/workloads/traces.c, corpus/traces/README.md)
    "cc1": ("GCC 12's `cc1 -O2` on a small generated C file: a C compiler's mix of small "
            "and large blocks, many of them long-lived.", None),
    "json_tool": ("`python3 -m json.tool` on a 1000-record JSON file, recorded with "
                  "PYTHONMALLOC=malloc: CPython's whole object allocation stream.", None),
    "pydoc": ("`python3 -m pydoc -w json`, recorded with PYTHONMALLOC=malloc: CPython "
              "importing modules and building strings.", None),
    "difflib": ("`difflib.unified_diff` of difflib.py against a changed copy, recorded with "
                "PYTHONMALLOC=malloc: many short-lived small objects.", None),
    # obj (bench/workloads/objects.c)
    "tuples": ("a balanced binary tree of 2^D - 1 2-tuples (GCBench's and binary-trees' "
               "shape), freed by one decref of the root: pure reference counting, the "
               "tuple free list in front.", None),
    "lists": ("L lists appended to N items each (ints and short strs), then dropped: item "
              "arrays grown by CPython's rule through realloc.", None),
    "dicts": ("D dicts given K fresh str keys each, then dropped: key tables reallocated "
              "as they grow, dict free lists in front.", None),
    "cycles": ("C reference cycles of S instances, each dropped at once, the collector "
               "enabled at (700, 10, 10): young collections free the garbage, as in a "
               "running program.", None),
    # whole programs (bench/whole/programs/)
    "difflib_files": ("difflib (unified, context, ndiff, HtmlDiff) over generated file "
                      "pairs: medium-lived dicts of lists of ints, list growth, a few "
                      "1-MB strings.", None),
    "gc_cycles": ("building and dropping cyclic graphs (trees with back-pointers, rings, "
                  "random graphs) that only the cyclic collector frees: the free path in "
                  "collector order.", None),
    "json_roundtrip": ("json.dumps / json.loads round trips of a 12000-record document: "
                       "small dicts, strs, floats and lists under a fill-then-drop cycle, "
                       "one multi-MB string per round.", None),
    "pickle_graph": ("pickle, unpickle and deepcopy of 6000-instance object graphs: bursts "
                     "of 100k small objects of mixed types, memo dicts growing.", None),
    "regex_text": ("regular expressions and str methods over 3 MB of generated log text: "
                   "short-lived strs, tuples and match objects of 32-200 B, the churn "
                   "pymalloc was designed for.", None),
    "sqlite_queries": ("sqlite3 inserts, indexes and queries in memory: SQLite's own pages "
                       "from malloc next to Python tuples, ints and strs per row.", None),
    "sort": ("GNU sort (LC_ALL=C) over a generated file of a million lines (bench/whole/whole.py "
             "makes it): a few large buffers and little else, so what an allocator hardly "
             "matters to looks like.", None),
}

FAMILY_ORDER = ("micro", "pattern", "scale", "trace", "obj")
FAMILY_FILES = {"micro": "micro.c", "pattern": "patterns.c", "scale": "scaling.c",
                "trace": "traces.c", "obj": "objects.c"}
FAMILY_TITLES = {
    "micro": "micro-benchmarks",
    "pattern": "allocation patterns",
    "scale": "scaling with the live set",
    "trace": "replayed program traces",
    "obj": "objects through heaplab's runtime",
}
FAMILY_TEXT = {
    "micro": "Small synthetic loops, each isolating one thing an allocator does; one item is "
             "one malloc+free pair (realloc_growth: one append).  They show the fast paths "
             "(size-class lookup, free-list pop and push, carving fresh memory) and each "
             "allocator's floor; they say little about memory use or about real programs' "
             "cache behaviour.",
    "pattern": "Allocation patterns from the literature: glibc's and mimalloc-bench's "
               "tests, and the ramps, peaks and plateaus that Wilson, Johnstone, Neely and "
               "Boles (\"Dynamic Storage Allocation: A Survey and Critical Review\", 1995) "
               "found in real programs' live memory.  Sizes mostly small with a tail of "
               "large blocks, every block touched: they exercise splitting, coalescing and "
               "the reuse of freed memory, not only the fast path.  One item is one "
               "allocation (larson: one replacement).",
    "scale": "The same work with a growing live set: how the cost of one operation grows "
             "as the heap outgrows the caches and the TLB, and as the allocator's own "
             "structures grow (list searches, trees, bitmaps).  Read the plot as ns per "
             "item against the live set on log axes: flat is O(1), a climbing line is "
             "search.",
    "trace": "Real programs' malloc/free/realloc streams (corpus/traces/*.mtrace.gz, "
             "recorded with `heaplab record`) replayed into each allocator: real sizes and "
             "lifetimes rather than a model, as Zorn & Grunwald and Johnstone & Wilson "
             "measured allocators.  One item is one trace operation; only the replay is "
             "timed.",
    "obj": "Python-level programs over a heaplab runtime whose object and memory domains "
           "are one instance of the allocator: the request stream CPython's object layer "
           "really makes (object headers, list item arrays, dict key tables, free lists in "
           "front).  One item is one object created, so the allocator's share of the time "
           "is diluted as it is in an interpreter.",
}
# The speed targets of the headline.  Small-object workloads: every timed
# workload but those of large blocks (the set bench/tools/perf_profile.py
# profiles): micro/large, and micro runs whose size argument is over 512 B,
# which pymalloc hands to the raw allocator.
SMALL_MAX = 512
SIZE_ARGS = ("size", "bytes")
REQUIRED, GOAL = 1.0, 1.25      # pymalloc vs cpython: cpython ns / pymalloc ns
PAR = 0.95                      # pymalloc vs mimalloc: "at least on par" = within 5%
CHURN = ("pairs", "window", "pymix")
CHURN_PREFIX = "batch_"
GC_TARGET = 0.5                 # heaplab ns/object <= 0.5 x CPython's, full collections
BASE = "glibc"


def fmt_bytes(v):
    if v is None:
        return "-"
    neg = v < 0
    v = abs(v)
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if v >= scale:
            return "%s%.1f %s" % ("-" if neg else "", v / scale, unit)
    return "%s%d B" % ("-" if neg else "", v)


def fmt_ns(v):
    if v is None:
        return "-"
    if v >= 1000:
        return "{:,.0f}".format(v)
    return "%.1f" % v if v >= 10 else "%.2f" % v


def fmt_ratio(v):
    return "%.2f" % v if v is not None else "-"


def fmt_cv(cv):
    return "%.1f%%" % (100 * cv) if cv is not None else "-"


def plural(n, word):
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def verdict(ok):
    return "**met**" if ok else "**not met**"


def case_name(family, workload, args):
    t = "%s/%s" % (family, workload)
    return t + (" " + rd.args_text(args) if args else "")


# ---------------------------------------------------------------------------
# The suite (bench.json)

class Suite:
    """bench.json by family, case (workload, args) and allocator."""

    def __init__(self, res):
        self.res = res
        self.cases = {}          # family -> [(workload, args)] in order of appearance
        self.runs = {}           # (family, workload, args, alloc) -> Run
        seen = []
        for (fields, args), run in res.runs.items():
            family, workload, alloc = fields[:3]
            self.cases.setdefault(family, [])
            if (workload, args) not in self.cases[family]:
                self.cases[family].append((workload, args))
            self.runs[(family, workload, args, alloc)] = run
            if alloc not in seen:
                seen.append(alloc)
        self.allocs = res.allocator_order(seen)
        self.families = [f for f in FAMILY_ORDER if f in self.cases] + sorted(
            f for f in self.cases if f not in FAMILY_ORDER and f != "mem")

    def run(self, family, workload, args, alloc):
        return self.runs.get((family, workload, args, alloc))

    def ns(self, family, workload, args, alloc):
        """(median ns per item, cv, repetitions) or (None, None, 0)."""
        run = self.run(family, workload, args, alloc)
        if run is None or run.error:
            return None, None, 0
        ips, cv, n = run.stats("items_per_second")
        if ips is None or ips <= 0:
            return None, None, 0
        return 1e9 / ips, cv, n

    def speedup(self, family, workload, args, alloc, base=BASE):
        """base's time / alloc's time (> 1: alloc is faster), or None."""
        a = self.ns(family, workload, args, alloc)[0]
        b = self.ns(family, workload, args, base)[0]
        return b / a if a and b else None

    def family_allocs(self, family):
        return [a for a in self.allocs
                if any((family, w, g, a) in self.runs for w, g in self.cases.get(family, []))]


def is_small(family, workload, args):
    if family == "mem" or WORKLOADS.get(workload, (None, None))[1] is False:
        return False
    if family == "micro":
        for k, v in args:
            if k in SIZE_ARGS and v.isdigit() and int(v) > SMALL_MAX:
                return False
    return True


def describe(family, workload):
    if workload in WORKLOADS:
        return WORKLOADS[workload][0]
    if family == "mem":
        # The memory run of a timed workload: mem/WORKLOAD, or mem/trace_NAME.
        for f, prefix in (("trace", "trace_"), ("", "")):
            w = workload[len(prefix):] if workload.startswith(prefix) else None
            if w in WORKLOADS:
                return ("the %smemory run of %s: %s" % (
                    "" if not f else "trace's ", w, WORKLOADS[w][0]))
        return ("no description is recorded for it in bench/tools/report.py; see the head "
                "comments of bench/workloads/.")
    if family == "whole":
        src = "bench/whole/programs/%s.py" % workload.split(" ")[0]
    else:
        src = "bench/workloads/" + FAMILY_FILES.get(family, "")
    return ("no description is recorded for it in bench/tools/report.py; see the head "
            "comment of %s." % src)


# ---------------------------------------------------------------------------
# Headline

def speed_ratios(suite, cases, fast, slow):
    """[(family, workload, args, fast's ns, slow's ns, slow / fast)] over the
    cases both ran."""
    out = []
    for family, workload, args in cases:
        f = suite.ns(family, workload, args, fast)[0]
        s = suite.ns(family, workload, args, slow)[0]
        if f and s:
            out.append((family, workload, args, f, s, s / f))
    return out


def utest_p(suite, family, workload, args, a, b):
    """The two-sided Mann-Whitney U test's p-value between a's and b's
    repetitions (items per second), as compare.py computes it, or None
    (fewer than 2 repetitions each, or no scipy)."""
    try:
        from scipy.stats import mannwhitneyu
    except ImportError:
        return None
    ra, rb = suite.run(family, workload, args, a), suite.run(family, workload, args, b)
    if ra is None or rb is None:
        return None
    xa, xb = ra.values("items_per_second"), rb.values("items_per_second")
    if len(xa) < 2 or len(xb) < 2:
        return None
    return float(mannwhitneyu(xa, xb, alternative="two-sided").pvalue)


def small_cases(suite):
    return [(f, w, g) for f in suite.families for w, g in suite.cases[f] if is_small(f, w, g)]


def churn_cases(suite):
    return [("micro", w, g) for w, g in suite.cases.get("micro", [])
            if (w in CHURN or w.startswith(CHURN_PREFIX)) and is_small("micro", w, g)]


def below(rows, threshold, limit=8):
    """(the rows under threshold, a text naming the first few)."""
    bad = [r for r in rows if r[5] < threshold]
    text = ", ".join("%s %.2f" % (case_name(*r[:3]), r[5]) for r in bad[:limit])
    if len(bad) > limit:
        text += ", ..."
    return bad, text


def summary(rows):
    """"over N workloads the lowest is X (case), the geometric mean Y"."""
    lo = min(rows, key=lambda r: r[5])
    return "over %s the lowest is %.2f (%s), the geometric mean %.2f" % (
        plural(len(rows), "workload"), lo[5], case_name(*lo[:3]),
        rd.geomean(r[5] for r in rows))


def headline(suite, gc, notes):
    md = ["## Headline: the speed targets", "",
          "Each target is **met** or **not met** on this run's medians; "
          "[Speed targets, workload by workload](#speed-targets-workload-by-workload) lists "
          "every ratio counted.", ""]
    # 1. pymalloc vs cpython on every small-object workload.
    head1 = ("- heaplab's pymalloc vs CPython's obmalloc (`cpython`) on every small-object "
             "workload (every timed workload but micro/large and micro sizes over %d B), "
             "speed = cpython's median ns per item / pymalloc's: " % SMALL_MAX)
    head2 = ("- pymalloc vs mimalloc on single-threaded small-object churn (micro/%s, "
             "micro/%s*), speed = mimalloc's median ns per item / pymalloc's, at least on "
             "par (>= %.2f, within 5%%, on every one): " % (
                 ", micro/".join(CHURN), CHURN_PREFIX, PAR))
    if suite is None:
        why = notes.get("bench", "the suite was not run")
        md.append(head1 + "**not measured** (%s)." % why)
        md.append(head2 + "**not measured** (%s)." % why)
    else:
        rows = speed_ratios(suite, small_cases(suite), "pymalloc", "cpython")
        if not rows:
            md.append(head1 + "**not measured** (no small-object workload ran on both).")
        else:
            bad, bad_text = below(rows, REQUIRED)
            bad_goal, _ = below(rows, GOAL)
            md.append(head1 + summary(rows) + ".")
            md.append("  - required, >= %.2f on every one: %s%s." % (
                REQUIRED, verdict(not bad),
                "" if not bad else " (%d below: %s)" % (len(bad), bad_text)))
            md.append("  - goal, >= %.2f on every one: %s (%d of %d reach it)." % (
                GOAL, verdict(not bad_goal), len(rows) - len(bad_goal), len(rows)))
        rows = speed_ratios(suite, churn_cases(suite), "pymalloc", "mimalloc")
        if not rows:
            md.append(head2 + "**not measured** (no churn workload ran on both).")
        else:
            bad, bad_text = below(rows, PAR)
            md.append(head2 + "%s: %s%s." % (verdict(not bad), summary(rows),
                                             "" if not bad else "; below par: " + bad_text))
    # 3. Full collections.
    head = ("- Full collection, heaplab's time per object <= %.1f x CPython 3.11's "
            "(ratio = heaplab's median ns per object / CPython's): " % GC_TARGET)
    cells = gc.ratios("full") if gc else []
    if not cells:
        md.append(head + "**not measured** (%s)." % (
            notes.get("gc") or "no full collection ran on both"))
    else:
        worst = max(cells, key=lambda cr: cr[1])
        bad = [c for c in cells if c[1] > GC_TARGET]
        md.append(head + "%s: %d of %d graphs meet it; the worst is %.2f (%s), the geometric "
                  "mean %.2f." % (verdict(not bad), len(cells) - len(bad), len(cells),
                                  worst[1], worst[0], rd.geomean(r for _, r in cells)))
    md.append("")
    return md


def load_profiles(results):
    """The entries of results/profiles/index.json (bench/tools/perf_profile.py:
    the largest losses of pymalloc to cpython first), or [] (and a problem
    text, or None)."""
    path = os.path.join(results, "profiles", "index.json")
    if not os.path.exists(path):
        return [], None
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        if not isinstance(doc, list):
            raise ValueError("not a list")
    except (OSError, ValueError) as e:
        return [], "%s could not be read: %s" % (path, e)
    return [e for e in doc if isinstance(e, dict) and isinstance(e.get("workload"), str)], None


def targets_section(suite, profiles, rel):
    md = ["## Speed targets, workload by workload", ""]
    if suite is None:
        return md + ["Not measured: the suite was not run.", ""]
    rows = speed_ratios(suite, small_cases(suite), "pymalloc", "cpython")
    md.append("pymalloc vs cpython on every small-object workload: speed = cpython's median "
              "ns per item / pymalloc's (above 1: pymalloc is faster).  Required >= %.2f, "
              "goal >= %.2f." % (REQUIRED, GOAL))
    md.append("")
    if rows:
        md.append("p is the two-sided Mann-Whitney U test over the repetitions, as compare.py "
                  "computes it: below 0.05, the difference is unlikely to be noise; with 5 "
                  "repetitions each, 0.008 is the smallest p the test can give.")
        md.append("")
        md.append("| workload | pymalloc ns | cpython ns | speed | p | >= %.2f | >= %.2f |"
                  % (REQUIRED, GOAL))
        md.append("|---|---:|---:|---:|---:|:---:|:---:|")
        significant = []
        for f, w, g, a, b, r in rows:
            pv = utest_p(suite, f, w, g, "pymalloc", "cpython")
            if r < REQUIRED and pv is not None and pv < 0.05:
                significant.append("%s %.2f (p %.3f)" % (case_name(f, w, g), r, pv))
            md.append("| %s | %s | %s | %.2f | %s | %s | %s |" % (
                case_name(f, w, g), fmt_ns(a), fmt_ns(b), r,
                "%.3f" % pv if pv is not None else "-",
                "yes" if r >= REQUIRED else "**no**", "yes" if r >= GOAL else "no"))
        md.append("")
        slower = sum(1 for x in rows if x[5] < REQUIRED)
        md.append("pymalloc's median is slower on %d of %d workloads; the U test calls %d of "
                  "those differences significant (p < 0.05)%s." % (
                      slower, len(rows), len(significant),
                      ": " + ", ".join(significant) if significant else ""))
        md.append("")
    else:
        md += ["No small-object workload ran on both pymalloc and cpython.", ""]
    if profiles:
        md.append("Where pymalloc is slower than cpython, bench/tools/perf_profile.py recorded both "
                  "with `perf record`; the top symbols of each (self time):")
        md.append("")
        for e in profiles:
            key = e["workload"]
            top = e.get("top") if isinstance(e.get("top"), dict) else {}
            parts = []
            for impl in ("pymalloc", "cpython"):
                syms = top.get(impl) if isinstance(top.get(impl), list) else []
                shown = ", ".join("`%s` %.1f%%" % (str(x[1]).replace("`", "'"), x[0])
                                  for x in syms[:3] if isinstance(x, list) and len(x) >= 2
                                  and rd.number(x[0]) is not None)
                parts.append("%s: %s" % (impl, shown or "-"))
            name = ("[%s](%s)" % (key, rel(os.path.join("profiles", str(e["file"]))))
                    if e.get("file") else key)
            md.append("- %s (speed %s): %s." % (
                name, fmt_ratio(rd.number(e.get("ratio"))), "; ".join(parts)))
        md.append("")
    rows = speed_ratios(suite, churn_cases(suite), "pymalloc", "mimalloc")
    md.append("pymalloc vs mimalloc on single-threaded small-object churn: speed = "
              "mimalloc's median ns per item / pymalloc's; on par is >= %.2f." % PAR)
    md.append("")
    if rows:
        md.append("| workload | pymalloc ns | mimalloc ns | speed | on par |")
        md.append("|---|---:|---:|---:|:---:|")
        for f, w, g, a, b, r in rows:
            md.append("| %s | %s | %s | %.2f | %s |" % (case_name(f, w, g), fmt_ns(a),
                                                       fmt_ns(b), r,
                                                       "yes" if r >= PAR else "**no**"))
        md.append("")
    else:
        md += ["No churn workload ran on both pymalloc and mimalloc.", ""]
    return md


# ---------------------------------------------------------------------------
# Timed families

def timed_section(suite, family, plot_links):
    allocs = suite.family_allocs(family)
    title = FAMILY_TITLES.get(family, "workload family %s" % family)
    md = ["## %s: %s" % (family, title), ""]
    md.append(FAMILY_TEXT.get(family, "A workload family report.py has no description for; "
                                      "see bench/workloads/."))
    md.append("")
    workloads = []
    for w, _ in suite.cases[family]:
        if w not in workloads:
            workloads.append(w)
    md.append("Workloads:")
    md.append("")
    md += ["- `%s`: %s" % (w, describe(family, w)) for w in workloads]
    md.append("")
    for link, caption in plot_links:
        md += ["![%s](%s)" % (caption.split(":")[0], link), "", "*%s*" % caption, ""]
    reps = sorted({suite.ns(family, w, g, a)[2] for w, g in suite.cases[family]
                   for a in allocs} - {0})
    md.append("Each table: one workload; per allocator the median ns per item over %s, "
              "the coefficient of variation of those repetitions (CV), and ×glibc = glibc's "
              "median / the allocator's (above 1 is faster than glibc)." % (
                  ("/".join(str(n) for n in reps) + " repetition" + ("" if reps == [1] else "s"))
                  if reps else "the repetitions"))
    md.append("")
    for w, g in suite.cases[family]:
        md.append("### %s" % case_name(family, w, g))
        md.append("")
        md.append("| allocator | median ns/item | CV | ×glibc |")
        md.append("|---|---:|---:|---:|")
        for a in allocs:
            run = suite.run(family, w, g, a)
            if run is None:
                continue
            if run.error:
                md.append("| %s | failed: %s | | |" % (a, cell(run.error)))
                continue
            ns, cv, _ = suite.ns(family, w, g, a)
            md.append("| %s | %s | %s | %s |" % (a, fmt_ns(ns), fmt_cv(cv),
                                                fmt_ratio(suite.speedup(family, w, g, a))))
        md.append("")
    md += geomean_table(suite, family, allocs)
    return md


def geomean_table(suite, family, allocs):
    cases = suite.cases[family]
    md = ["### %s: geometric mean over the workloads" % family, ""]
    if not any(suite.ns(family, w, g, BASE)[0] for w, g in cases):
        return md + ["glibc did not run in this family: no ratios.", ""]
    md.append("×glibc per allocator over the family's %s (those the allocator and glibc "
              "both ran); above 1 is faster than glibc." % plural(len(cases), "workload"))
    md.append("")
    md.append("| allocator | geomean ×glibc | workloads | lowest | highest |")
    md.append("|---|---:|---:|---:|---:|")
    for a in allocs:
        rs = [(case_name(family, w, g), suite.speedup(family, w, g, a)) for w, g in cases]
        rs = [(c, r) for c, r in rs if r is not None]
        if not rs:
            md.append("| %s | - | 0 | | |" % a)
            continue
        lo = min(rs, key=lambda cr: cr[1])
        hi = max(rs, key=lambda cr: cr[1])
        md.append("| %s | %.2f | %d | %.2f (%s) | %.2f (%s) |" % (
            a, rd.geomean(r for _, r in rs), len(rs), lo[1], lo[0], hi[1], hi[0]))
    md.append("")
    return md


def throughput_plot(suite, family, path):
    """Grouped bars per workload (geomean over its arguments) of ×glibc."""
    allocs = [a for a in suite.family_allocs(family) if a != BASE]
    groups, values = [], {}
    for w, g in suite.cases[family]:
        if w not in groups:
            groups.append(w)
    multi = False
    for w in groups:
        argsets = [g for ww, g in suite.cases[family] if ww == w]
        multi |= len(argsets) > 1
        for a in allocs:
            v = rd.geomean(suite.speedup(family, w, g, a) for g in argsets)
            if v is not None:
                values[(w, a)] = v
    if not values:
        return None
    rp.ratio_bars(path, "%s: speed relative to glibc (glibc's time / the allocator's)" % family,
                  groups, allocs, values, 1.0, "x glibc (higher is faster)")
    caption = ("%s throughput: one group per workload%s, one bar per allocator: its speed "
               "relative to glibc (glibc's median ns per item / the allocator's) on a log "
               "scale; a bar above the line at 1 is faster than glibc, 2x twice as fast, "
               "0.5x twice as slow.  Blues and greens are heaplab's own allocators, reds and "
               "oranges its peers." % (
                   family, " (the geometric mean over its arguments)" if multi else ""))
    return caption


def scale_x(cases):
    """The argument the scale family varies: the first named one with
    several numeric values, 'live' and the like preferred."""
    values = {}
    for _, g in cases:
        for k, v in g:
            if v.replace(".", "", 1).isdigit():
                values.setdefault(k, set()).add(float(v))
    varying = [k for k, vs in values.items() if len(vs) > 1]
    for pref in ("live", "live_set", "n", "objects", "count", "size"):
        if pref in varying:
            return pref
    if varying:
        return varying[0]
    return next(iter(values), None)


def scaling_plots(suite, plots_dir):
    """[(file name, caption)]: per scale workload (and combination of its
    other arguments) ns per item against the varying argument."""
    out = []
    allocs = suite.family_allocs("scale")
    workloads = []
    for w, _ in suite.cases.get("scale", []):
        if w not in workloads:
            workloads.append(w)
    for w in workloads:
        cases = [(ww, g) for ww, g in suite.cases["scale"] if ww == w]
        x = scale_x(cases)
        if x is None:
            continue
        groups = {}
        for _, g in cases:
            rest = tuple((k, v) for k, v in g if k != x)
            groups.setdefault(rest, []).append(g)
        for rest, argsets in groups.items():
            lines = []
            for a in allocs:
                pts = []
                for g in argsets:
                    xv = dict(g).get(x)
                    ns = suite.ns("scale", w, g, a)[0]
                    if xv is not None and ns:
                        pts.append((float(xv), ns))
                if pts:
                    lines.append((a, rp.color(a), rp.is_peer(a), "o", pts))
            if not lines:
                continue
            label = w + (" " + rd.args_text(rest) if rest else "")
            name = "scaling_%s.png" % rp.slug(w + ("_" + rd.args_text(rest, "_") if rest else ""))
            rp.log_lines(os.path.join(plots_dir, name),
                         [("scale/%s: median ns per item vs %s" % (label, x), lines)],
                         "%s (log)" % x, "median ns per item (log)")
            out.append((name, "scale/%s: the median ns per item (log) against %s (log), one "
                        "line per allocator (peers dashed): a flat line means the cost of an "
                        "operation does not grow with the live set; a line that rises from "
                        "some size on marks where the working set or the allocator's own "
                        "structures outgrow a cache level." % (label, x)))
    return out


# ---------------------------------------------------------------------------
# Memory (family mem)

MEM_TEXT = (
    "Each memory run (hl_suite.h) runs a workload once on a fresh allocator instance and "
    "follows every allocation and free.  **footprint ÷ live** is the peak of what the "
    "allocator held from the system (hl_stats held bytes, sampled) ÷ the peak of the "
    "requested bytes live at once: Johnstone and Wilson's measure #4, 1 for a perfect "
    "allocator.  **internal** is (usable - requested) / requested over the blocks live at "
    "the peak: rounding to size classes and alignment.  **retained** is what the "
    "allocator still held after the workload freed everything (memory not given back).  "
    "**peak RSS Δ** is the process's resident-set high-water mark minus its resident set "
    "at the start (the peers share process-wide heaps, so theirs includes memory held "
    "from before).  An allocator that does not report what it holds shows \"n/a\" rather "
    "than a made-up footprint; a footprint of 0 (a process-wide heap, glibc's or "
    "mimalloc's, that did not grow: earlier runs had pre-paid it) gives no ratio (\"-\") "
    "and stays out of the geometric mean.")


def mem_section(suite, plot_links):
    md = ["## mem: memory use and fragmentation", "", MEM_TEXT, ""]
    cases = suite.cases.get("mem", []) if suite else []
    if not cases:
        return md + ["No memory run in bench.json.", ""]
    workloads = []
    for w, _ in cases:
        if w not in workloads:
            workloads.append(w)
    md += ["Workloads:", ""] + ["- `%s`: %s" % (w, describe("mem", w)) for w in workloads]
    md.append("")
    for link, caption in plot_links:
        md += ["![%s](%s)" % (caption.split(":")[0], link), "", "*%s*" % caption, ""]
    allocs = suite.family_allocs("mem")
    for w, g in cases:
        md.append("### %s" % case_name("mem", w, g))
        md.append("")
        md.append("| allocator | peak live | peak footprint | footprint ÷ live | internal | "
                  "retained | peak RSS Δ |")
        md.append("|---|---:|---:|---:|---:|---:|---:|")
        for a in allocs:
            run = suite.run("mem", w, g, a)
            if run is None:
                continue
            if run.error:
                md.append("| %s | failed: %s | | | | | |" % (a, cell(run.error)))
                continue
            m = {k: run.median(k) for k in ("peak_live", "peak_footprint", "footprint_ratio",
                                             "internal_frag", "retained", "peak_rss_delta",
                                             "footprint_known")}
            known = m["footprint_known"] != 0
            na = "n/a"
            md.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                a, fmt_bytes(m["peak_live"]),
                fmt_bytes(m["peak_footprint"]) if known else na,
                (fmt_ratio(m["footprint_ratio"]) if m["footprint_ratio"] else "-")
                if known else na,
                "%.1f%%" % (100 * m["internal_frag"]) if m["internal_frag"] is not None else "-",
                fmt_bytes(m["retained"]) if known else na,
                fmt_bytes(m["peak_rss_delta"])))
        md.append("")
    md.append("### mem: geometric mean of footprint ÷ live")
    md.append("")
    md.append("Over the memory workloads each allocator reported its footprint for; 1 is "
              "perfect, lower is better.")
    md.append("")
    md.append("| allocator | geomean footprint ÷ live | workloads | highest |")
    md.append("|---|---:|---:|---:|")
    for a in allocs:
        rs = [(case_name("mem", w, g), footprint_ratio(suite, w, g, a)) for w, g in cases]
        rs = [(c, r) for c, r in rs if r is not None]
        if not rs:
            md.append("| %s | n/a | 0 | |" % a)
            continue
        hi = max(rs, key=lambda cr: cr[1])
        md.append("| %s | %.2f | %d | %.2f (%s) |" % (a, rd.geomean(r for _, r in rs),
                                                     len(rs), hi[1], hi[0]))
    md.append("")
    return md


def footprint_ratio(suite, w, g, a):
    run = suite.run("mem", w, g, a)
    if run is None or run.error or run.median("footprint_known") == 0:
        return None
    r = run.median("footprint_ratio")
    return r if r and r > 0 else None


def fragmentation_plot(suite, path):
    cases = suite.cases.get("mem", [])
    allocs = suite.family_allocs("mem")
    groups, values, multi = [], {}, False
    for w, _ in cases:
        if w not in groups:
            groups.append(w)
    for w in groups:
        argsets = [g for ww, g in cases if ww == w]
        multi |= len(argsets) > 1
        for a in allocs:
            v = rd.geomean(footprint_ratio(suite, w, g, a) for g in argsets)
            if v is not None:
                values[(w, a)] = v
    if not values:
        return None
    rp.ratio_bars(path, "mem: peak footprint / peak live bytes (1 = holds only what is live)",
                  groups, allocs, values, 1.0, "footprint / live (lower is better)")
    return ("Fragmentation: one group per memory workload%s, one bar per allocator: its peak "
            "footprint / peak live bytes on a log scale, bars starting at 1 (a perfect "
            "allocator); a bar twice as tall holds twice the memory.  An allocator that does "
            "not report its footprint has no bar." % (
                " (the geometric mean over its arguments)" if multi else ""))


# ---------------------------------------------------------------------------
# Garbage collection (gc.json)

# gc_report.py (it stays) knows gc_benchmark's names; its parse_name is used
# when it answers (kind, impl, shape, state, n), else the names are read here.
try:
    import gc_report
except Exception:           # noqa: BLE001 -- any failure: read the names here
    gc_report = None
GC_KINDS = {"gc_full": "full", "gc_gen0": "young", "gc_young": "young"}


def gc_parse(name, fields, args):
    """(kind, impl, graph, n) of a gc.json run, or None."""
    parse = getattr(gc_report, "parse_name", None)
    if parse is not None:
        try:
            t = parse(name)
        except Exception:   # noqa: BLE001
            t = None
        if isinstance(t, tuple) and len(t) == 5 and isinstance(t[4], int):
            return str(t[0]), str(t[1]), "%s/%s" % (t[2], t[3]), t[4]
    # gc_KIND/IMPL/SHAPE/STATE/N: IMPL the field naming heaplab or cpython,
    # N the last field, all digits.
    parts = list(fields) + [v for _, v in args]
    impl = next((p for p in parts if p in GC.IMPLS), None)
    if not parts[0].startswith("gc") or impl is None or not parts[-1].isdigit():
        return None
    kinds = dict(GC_KINDS, **getattr(gc_report, "KINDS", {}))
    kind = kinds.get(parts[0]) or parts[0][3:] or "full"
    graph = "/".join(p for p in parts[1:-1] if p != impl)
    return kind, impl, graph, int(parts[-1])


class GC:
    """gc.json: gc_KIND/IMPL/SHAPE/STATE/N[/manual_time], KIND gc_full (full
    collections) or gc_gen0 (young ones), IMPL heaplab or cpython."""

    IMPLS = ("heaplab", "cpython")

    def __init__(self, res):
        self.res = res
        self.cells = {}        # (kind, graph, n) -> {impl: Run}
        self.kinds = []
        self.problems = []
        for (fields, args), run in res.runs.items():
            t = gc_parse(run.name, fields, args)
            if t is None:
                self.problems.append("%s: run %r is not gc_KIND/IMPL/SHAPE/STATE/N" % (
                    res.path, run.name))
                continue
            kind, impl, graph, n = t
            if kind not in self.kinds:
                self.kinds.append(kind)
            self.cells.setdefault((kind, graph, n), {})[impl] = run
        self.kinds.sort(key=lambda k: (k != "full", k))

    def ns(self, run):
        if run is None or run.error:
            return None, None
        med, cv, _ = run.stats("ns_per_object")
        return med, cv

    def graphs(self, kind):
        out = []
        for (k, graph, _n) in self.cells:
            if k == kind and graph not in out:
                out.append(graph)
        return out

    def sizes(self, kind, graph):
        return sorted(n for (k, g, n) in self.cells if k == kind and g == graph)

    def ratio(self, kind, graph, n):
        c = self.cells.get((kind, graph, n), {})
        h, p = self.ns(c.get("heaplab"))[0], self.ns(c.get("cpython"))[0]
        return h / p if h and p else None

    def ratios(self, kind):
        out = []
        for graph in self.graphs(kind):
            for n in self.sizes(kind, graph):
                r = self.ratio(kind, graph, n)
                if r is not None:
                    out.append(("%s N=%s" % (graph, "{:,}".format(n)), r))
        return out


def gc_section(gc, note, plot_links, rel):
    md = ["## Garbage collection: heaplab vs CPython 3.11", ""]
    if gc is None:
        return md + ["Not run: %s." % note, ""]
    md.append("bench/gc_benchmark.c builds the same graph of N lists in heaplab's runtime "
              "(on its `pymalloc`) and in an embedded CPython 3.11, after `gc.disable()`, "
              "`gc.collect()`, `gc.freeze()` on both sides, and times one collection call "
              "(`hl_gc_collect`, `gc.collect`) per iteration.  A *full* collection examines "
              "every generation (`collect(2)`); a *young* one (gc_gen0, `collect(0)`) only "
              "the youngest, the N lists having just been made.  Graphs: `ring` (list i "
              "holds list i+1) and `random` (the ring plus 2 random edges per list); `live` "
              "keeps the graph reachable (the collection frees nothing), `garbage` drops it "
              "(the collection frees all N lists, deallocation included).  Each cell is the "
              "median CPU ns per object over the repetitions, with their CV; ratio = heaplab "
              "/ CPython, so below 1 is faster than CPython; the target for full "
              "collections is %.1f or less.  [gc.md](%s) has the wall-clock ratios and "
              "the counts each collection returned." % (GC_TARGET, rel("gc.md")))
    md.append("")
    for link, caption in plot_links:
        md += ["![%s](%s)" % (caption.split(":")[0], link), "", "*%s*" % caption, ""]
    for kind in gc.kinds:
        md.append("### %s collections" % kind)
        md.append("")
        target = kind == "full"
        md.append("| graph | N | heaplab ns/object | CV | CPython ns/object | CV | ratio |%s"
                  % (" ≤ %.1f |" % GC_TARGET if target else ""))
        md.append("|---|---:|---:|---:|---:|---:|---:|" + (":---:|" if target else ""))
        for graph in gc.graphs(kind):
            for n in gc.sizes(kind, graph):
                c = gc.cells[(kind, graph, n)]
                row = ["%s" % graph, "{:,}".format(n)]
                for impl in GC.IMPLS:
                    run = c.get(impl)
                    if run is not None and run.error:
                        row += ["failed: %s" % cell(run.error), ""]
                        continue
                    med, cv = gc.ns(run)
                    row += [fmt_ns(med), fmt_cv(cv)]
                r = gc.ratio(kind, graph, n)
                row.append(fmt_ratio(r))
                if target:
                    row.append(("yes" if r <= GC_TARGET else "no") if r is not None else "-")
                md.append("| " + " | ".join(row) + " |")
        md.append("")
        rs = gc.ratios(kind)
        if rs:
            md.append("%s collections: geometric mean ratio %.2f over %s%s." % (
                kind.capitalize(), rd.geomean(r for _, r in rs), plural(len(rs), "graph"),
                ("; %d meet the target" % sum(1 for _, r in rs if r <= GC_TARGET))
                if target else ""))
            md.append("")
    return md


GC_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def gc_plot(gc, path):
    panels = []
    for kind in gc.kinds:
        lines = []
        for gi, graph in enumerate(gc.graphs(kind)):
            for impl in GC.IMPLS:
                pts = []
                for n in gc.sizes(kind, graph):
                    med = gc.ns(gc.cells[(kind, graph, n)].get(impl))[0]
                    if med:
                        pts.append((n, med))
                if pts:
                    lines.append(("%s %s" % (impl, graph), rp.color(impl), impl == "cpython",
                                  GC_MARKERS[gi % len(GC_MARKERS)], pts))
        if lines:
            panels.append(("%s collections" % kind, lines))
    if not panels:
        return None
    rp.log_lines(path, panels[:3], "objects in the graph, N (log)",
                 "median CPU ns per object (log)")
    return ("GC cost: the time of one collection per object in the graph (median CPU ns, "
            "log) against the graph's size N (log), one panel per kind of collection, "
            "heaplab solid (blue), CPython dashed (orange), one marker per graph shape and "
            "state.  Lower is better; a flat line means the collection's cost is linear in "
            "the graph, a rising one that it slows as the graph outgrows the caches.")


# ---------------------------------------------------------------------------
# Whole programs (whole.json)

class Whole:
    def __init__(self, res):
        self.res = res
        self.programs, seen, self.runs = [], [], {}
        for (fields, args), run in res.runs.items():
            _, prog, alloc = fields[:3]
            if args:
                prog += " " + rd.args_text(args)
            if prog not in self.programs:
                self.programs.append(prog)
            if alloc not in seen:
                seen.append(alloc)
            self.runs[(prog, alloc)] = run
        self.allocs = res.allocator_order(seen)

    def get(self, prog, alloc, field):
        run = self.runs.get((prog, alloc))
        if run is None or run.error:
            return None, None
        med, cv, _ = run.stats(field)
        return med, cv

    def time_ratio(self, prog, alloc):
        a, b = self.get(prog, alloc, "real_time_s")[0], self.get(prog, BASE, "real_time_s")[0]
        return b / a if a and b else None

    def rss_ratio(self, prog, alloc):
        a, b = self.get(prog, alloc, "peak_rss")[0], self.get(prog, BASE, "peak_rss")[0]
        return a / b if a and b else None


def whole_section(whole, note, plot_links):
    md = ["## Whole programs", ""]
    if whole is None:
        return md + ["Not run: %s." % note, ""]
    md.append("bench/whole/whole.py runs each program of bench/whole/programs/ from start "
              "to end with Debian's python3, the allocator LD_PRELOAD'ed in place of malloc "
              "(lib/preload); wall time, user and system CPU time, peak RSS and minor page "
              "faults per run, medians over the repetitions (CV: of the wall time).  "
              "**time ×glibc** = glibc's wall time / the allocator's (above 1 is faster); "
              "**RSS ×glibc** = the allocator's peak RSS / glibc's (below 1 uses less "
              "memory).  This is the allocator's effect on a real program: whatever the "
              "program does besides allocating dilutes it.")
    md.append("")
    md += ["Programs:", ""] + ["- `%s`: %s" % (p, describe("whole", p)) for p in whole.programs]
    md.append("")
    for link, caption in plot_links:
        md += ["![%s](%s)" % (caption.split(":")[0], link), "", "*%s*" % caption, ""]
    for prog in whole.programs:
        md.append("### %s" % prog)
        md.append("")
        md.append("| allocator | wall s | CV | time ×glibc | user s | sys s | peak RSS | "
                  "RSS ×glibc | minor faults |")
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for a in whole.allocs:
            run = whole.runs.get((prog, a))
            if run is None:
                continue
            if run.error:
                md.append("| %s | failed: %s | | | | | | | |" % (a, cell(run.error)))
                continue
            t, cv = whole.get(prog, a, "real_time_s")
            u, s = whole.get(prog, a, "user_time")[0], whole.get(prog, a, "sys_time")[0]
            rss = whole.get(prog, a, "peak_rss")[0]
            flt = whole.get(prog, a, "minor_faults")[0]
            md.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                a, "%.3f" % t if t is not None else "-", fmt_cv(cv),
                fmt_ratio(whole.time_ratio(prog, a)),
                "%.3f" % u if u is not None else "-", "%.3f" % s if s is not None else "-",
                fmt_bytes(rss), fmt_ratio(whole.rss_ratio(prog, a)),
                "{:,.0f}".format(flt) if flt is not None else "-"))
        md.append("")
    md.append("### Whole programs: geometric means")
    md.append("")
    md.append("| allocator | time ×glibc | RSS ×glibc | programs |")
    md.append("|---|---:|---:|---:|")
    for a in whole.allocs:
        t = [whole.time_ratio(p, a) for p in whole.programs]
        r = [whole.rss_ratio(p, a) for p in whole.programs]
        n = sum(1 for x in t if x is not None)
        md.append("| %s | %s | %s | %d |" % (a, fmt_ratio(rd.geomean(t)),
                                              fmt_ratio(rd.geomean(r)), n))
    md.append("")
    return md


def whole_plot(whole, path):
    allocs = [a for a in whole.allocs if a != BASE]
    tv, rv = {}, {}
    for p in whole.programs:
        for a in allocs:
            t, r = whole.time_ratio(p, a), whole.rss_ratio(p, a)
            if t is not None:
                tv[(p, a)] = t
            if r is not None:
                rv[(p, a)] = r
    if not tv and not rv:
        return None
    rp.ratio_bars_pair(path, [
        ("wall time: glibc / allocator (higher is faster)", whole.programs, tv, 1.0,
         "x glibc"),
        ("peak RSS: allocator / glibc (lower is smaller)", whole.programs, rv, 1.0,
         "x glibc")], allocs)
    return ("Whole programs: left, wall time relative to glibc (glibc's / the allocator's: "
            "above the line is faster); right, peak RSS relative to glibc (the allocator's / "
            "glibc's: below the line uses less memory).  One group per program, log scales.")


# ---------------------------------------------------------------------------
# Trace replays (traces.json, traces_report.py)

def traces_section(results, rel):
    md = ["## Trace replays (heaplab-cli replay)", ""]
    path = os.path.join(results, "traces.json")
    if not os.path.exists(path):
        return md + ["Not run: %s is missing." % path, ""], None
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        runs = doc.get("runs", [])
        if not isinstance(runs, list):
            raise ValueError("\"runs\" is not a list")
    except (OSError, ValueError, AttributeError) as e:
        return md + ["%s could not be read: %s." % (path, cell(e)), ""], \
            "%s: %s" % (path, e)
    md.append("Every bundled trace replayed once into every allocator with `heaplab-cli "
              "replay --json` (built with --config=opt; [traces.md](%s) has every "
              "column).  ns/op: the replay's time per trace operation, one run (no "
              "repetitions: indicative).  fp/live: peak footprint / peak live bytes (glibc's "
              "footprint is the whole process's heap)." % rel("traces.md"))
    md.append("")
    if not runs:
        return md + ["No trace was replayed: %s" % (
            doc.get("note") or "corpus/traces/ has no *.mtrace.gz."), ""], None
    traces, allocs, rows = [], [], {}
    for r in runs:
        if not isinstance(r, dict):
            continue
        t, a = str(r.get("trace")), str(r.get("allocator"))
        if t not in traces:
            traces.append(t)
        if a not in allocs:
            allocs.append(a)
        rows[(t, a)] = r
    md.append("| allocator | " + " | ".join("%s ns/op | %s fp/live" % (t, t) for t in traces)
              + " |")
    md.append("|---|" + "---:|---:|" * len(traces))
    for a in allocs:
        cells = []
        for t in traces:
            r = rows.get((t, a))
            if r is None:
                cells += ["-", "-"]
            elif not r.get("ok"):
                cells += ["failed (exit %s)" % r.get("exit_status", "?"), ""]
            else:
                ns, fp = rd.number(r.get("ns_per_op")), rd.number(r.get("footprint_per_live"))
                # 0: the allocator does not report its footprint (mimalloc).
                cells += [fmt_ns(ns), fmt_ratio(fp) if fp else "-"]
        md.append("| %s | %s |" % (a, " | ".join(cells)))
    md.append("")
    return md, None


# ---------------------------------------------------------------------------
# The run around the benchmarks (the trace replays, heap scripts, fuzzing, planted bugs, coverage)

def first_line(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        text = out.stdout.strip()
        return text.splitlines()[0] if out.returncode == 0 and text else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def cpu_model():
    """/proc/cpuinfo's model name, with family/model/stepping (a VM may show
    only a vague name, like "AMD EPYC")."""
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break
                k, _, v = line.partition(":")
                info[k.strip()] = v.strip()
    except OSError:
        pass
    name = info.get("model name") or platform.processor() or "?"
    extra = ", ".join("%s %s" % (k, info[k]) for k in ("cpu family", "model", "stepping")
                      if k in info)
    return "%s (%s)" % (name, extra) if extra else name


LINKS = [
    ("bench.json", "the benchmark suite (heaplab_bench, Google Benchmark's JSON, every "
     "repetition): the family sections below"),
    ("whole.json", "whole programs on every allocator (Google Benchmark-shaped JSON)"),
    ("gc.md", "collections: time per object, heaplab's collector next to CPython 3.11's "
     "gc.collect() on the same graphs"),
    ("gc.json", "Google Benchmark's JSON for it, every repetition"),
    ("traces.md", "trace replay: every bundled trace into every allocator (ops, ns/op, peak "
     "live, peak footprint)"),
    ("traces.json", "the same, with each replay's full JSON"),
    ("scripts.txt", "heap scripts (the corpus and 100 generated), heaplab on every allocator "
     "against CPython 3.11, line by line"),
    ("fuzz.txt", "a short fuzzing campaign: every libFuzzer target for 20 s (exec/s, "
     "coverage, corpus, failures)"),
    ("pictures/gallery.json", "pictures of the heap (`heaplab map`, `footprint`, "
     "`generations`), shown under \"Pictures of the heap\" below, each with its data"),
    ("planted.md", "planted bugs: each built in turn and fuzzed from the seed corpora; the "
     "target that caught it, time and executions to the failure"),
    ("planted_empty.md", "the same from empty corpora (`heaplab fuzz --planted --corpus "
     "empty`)"),
    ("coverage.md", "line and branch coverage of lib/ by the fuzz corpora (llvm-cov), per "
     "file"),
    ("fuzz_campaign.md", "a 10-minute campaign of every target (`heaplab fuzz all --time 600 "
     "--jobs 2`)"),
]
# Linked only when present: the churn benchmark's files, from before the suite.
OLD_LINKS = [
    ("churn.md", "small-object churn benchmark (the suite's predecessor)"),
    ("churn.json", "Google Benchmark's JSON for it"),
]


def contents(results, rel):
    md = ["## Contents", ""]
    links = list(LINKS) + [(n, w) for n, w in OLD_LINKS
                           if os.path.exists(os.path.join(results, n))]
    for path in sorted(glob.glob(os.path.join(results, "compare", "*.txt"))):
        name = os.path.basename(path)
        links.append(("compare/" + name, "Google Benchmark's compare.py on the suite (relative "
                      "change and Mann-Whitney U test per workload): " +
                      name[:-4].replace("_", " ")))
    if os.path.exists(os.path.join(results, "profiles", "index.json")):
        links.append(("profiles/index.json", "perf profiles of pymalloc and cpython where "
                      "pymalloc is slower (bench/tools/perf_profile.py; one .txt per workload)"))
    for path in sorted(glob.glob(os.path.join(results, "churn_compare_*.txt"))):
        name = os.path.basename(path)
        links.append((name, "compare.py: " + name[len("churn_compare_"):-4].replace("_", " ")))
    for name, what in links:
        if os.path.exists(os.path.join(results, name)):
            md.append("- [%s](%s): %s" % (name, rel(name), what))
        else:
            md.append("- %s: not produced by this run" % name)
    md.append("")
    return md


def outcome(results, rel, bench_ok):
    md = ["## Outcome", ""]
    traces = {}
    path = os.path.join(results, "traces.json")
    if os.path.exists(path):
        try:
            with open(path, encoding="utf-8") as f:
                traces = json.load(f)
            if not isinstance(traces, dict):
                traces = {}
        except (OSError, ValueError):
            traces = {"note": "traces.json could not be read"}
    runs = [r for r in traces.get("runs", []) if isinstance(r, dict)]
    failed = [r for r in runs if not r.get("ok")]
    if runs:
        md.append("- Trace replays: %d run, %d failed%s." % (
            len(runs), len(failed),
            "" if not failed else " (" + ", ".join(
                "%s@%s" % (r.get("trace"), r.get("allocator")) for r in failed) + ")"))
    else:
        md.append("- Trace replays: none (%s)" % (
            traces.get("note") or "no bundled trace in corpus/traces/."))
    path = os.path.join(results, "scripts.txt")
    if os.path.exists(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [ln.strip() for ln in f if ln.strip()]
        md.append("- Heap scripts, heaplab vs CPython 3.11: %s." % (
            lines[-1] if lines else "no output"))
    path = os.path.join(results, "fuzz.txt")
    if os.path.exists(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            rows = [ln.rstrip() for ln in f if ln.strip() and not ln.startswith("===")]
        md.append("- Fuzzing (20 s per target):")
        md += ["  - `%s`" % r.strip() for r in rows] or ["  - no output"]
    for name, pattern, what in (
            ("planted.md", r"(\d+ of \d+ bugs caught)", "Planted bugs, from the seeds"),
            ("planted_empty.md", r"(\d+ of \d+ bugs caught)",
             "Planted bugs, from empty corpora"),
            ("coverage.md", r"\*\*Total: ([^*]+)\*\*", "Coverage of lib/ by the corpora")):
        path = os.path.join(results, name)
        if os.path.exists(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                m = re.search(pattern, f.read())
            if m:
                md.append("- %s: %s ([%s](%s))." % (what, m.group(1), name, rel(name)))
    md.append("- Benchmarks: %s." % ("completed" if bench_ok == "yes" else "FAILED"))
    md.append("")
    return md


def pictures_section(results, rel):
    """The gallery `heaplab run` draws (lib/heapmap/pictures.py gallery):
    pictures/gallery.json lists each picture with its caption and command.
    Returns (markdown lines, a problem or None)."""
    path = os.path.join(results, "pictures", "gallery.json")
    md = ["## Pictures of the heap", ""]
    if not os.path.exists(path):
        return md + ["No pictures were drawn by this run (`./heaplab run` draws them "
                     "into pictures/).", ""], None
    try:
        with open(path) as f:
            gallery = json.load(f)
        pics = gallery["pictures"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        return md + ["pictures/gallery.json is unreadable: %s." % e, ""], \
            "pictures/gallery.json: %s" % e
    md += ["Drawn from real runs by `heaplab map`, `heaplab footprint` and `heaplab "
           "generations` (lib/heapmap/); each keeps its data beside it.", ""]
    for p in pics:
        link = rel(os.path.join("pictures", p["file"]))
        md += ["### %s" % p["title"], "", "![%s](%s)" % (p["title"], link), "",
               "%s Drawn by `%s`." % (p["caption"], p["command"]), ""]
    for fail in gallery.get("failures", []):
        md += ["- Not drawn: %s" % cell(fail)]
    if gallery.get("failures"):
        md.append("")
        return md, "%d pictures failed" % len(gallery["failures"])
    return md, None


def machine(started, finished):
    nproc = len(os.sched_getaffinity(0))
    commit = first_line(["git", "rev-parse", "--short", "HEAD"])
    if commit == "?":
        commit = "(none)"
    try:
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        dirty = ""
    return ["## Machine", "",
            "| | |", "|---|---|",
            "| CPUs (nproc) | %d |" % nproc,
            "| CPU model | %s |" % cell(cpu_model()),
            "| kernel | %s %s |" % (platform.system(), platform.release()),
            "| compiler | %s |" % cell(first_line(["clang", "--version"])),
            "| build | bazel `--config=opt` (-O2, HL_DEBUG=0, HL_STATS=0); %s |"
            % ("Bazel " + first_line(["dpkg-query", "-W", "-f=${Version}", "bazel-bootstrap"])
               + " (Debian bazel-bootstrap)"),
            "| Google Benchmark | %s (Debian libbenchmark-dev) |"
            % first_line(["dpkg-query", "-W", "-f=${Version}", "libbenchmark-dev"]),
            "| Python (oracle, tools) | %s |" % first_line(["/usr/bin/python3", "--version"]),
            "| source | commit %s%s |" % (commit, " with uncommitted changes" if dirty else ""),
            "| started | %s |" % cell(started),
            "| finished | %s |" % cell(finished),
            ""]


def bench_context(res):
    """One sentence on the suite's run, from its JSON context."""
    ctx = res.context
    load = ctx.get("load_avg")
    load = " ".join("%.2f" % x for x in load if rd.number(x) is not None) \
        if isinstance(load, list) else "?"
    return ("The suite ran on %s CPUs at %s MHz (load average %s when it started), %s; "
            "allocators %s.  (Google Benchmark calls its own library's build \"%s\": that "
            "is Debian's libbenchmark, not heaplab, which is built with --config=opt.)" % (
                ctx.get("num_cpus", "?"), ctx.get("mhz_per_cpu", "?"), load or "?",
                ctx.get("date", "?"), ctx.get("heaplab_allocators", "as listed below"),
                ctx.get("library_build_type", "?")))


HOW_TO_READ = [
    "## How to read this report", "",
    "- **Median ns/item**: the median over Google Benchmark's repetitions of the time per "
    "item (1e9 / items_per_second); an item is one allocation and its free, one trace "
    "operation, or whatever the family defines.  Lower is faster.",
    "- **CV**: the coefficient of variation (standard deviation / mean) of the repetitions; "
    "a ratio between two allocators that differ by less than their CVs is noise.  The "
    "machine is shared (2 cores), so a few percent is usual.",
    "- **×glibc**: glibc's median / the allocator's median, so **above 1 is faster than "
    "glibc** (2.00 = twice as fast) and below 1 slower.  glibc is the baseline because it "
    "is what a C program gets by default.",
    "- **Geometric mean**: of the ×glibc ratios over a family's workloads, the usual summary "
    "of ratios (pyperformance and compare.py summarise the same way): a 2x win and a 2x "
    "loss cancel out.",
    "- Plots use one colour per allocator throughout: heaplab's own allocators (pymalloc, "
    "pymalloc-classic, seqfit-*, segregated-*, buddy, tlsf) in blues, greens and purples; "
    "the peers (glibc, cpython = libpython3.11's obmalloc, jemalloc, mimalloc, tcmalloc) in "
    "reds, oranges and browns.",
    ""]


# ---------------------------------------------------------------------------

PLOT_PATTERNS = ("throughput_*.png", "scaling_*.png", "fragmentation.png", "gc.png",
                 "whole.png")


def load_results(path, notes, key, problems, unreadable, **kw):
    """rd.Results of path, or None with notes[key] saying why (and the file
    in unreadable if it exists but is not Google Benchmark JSON)."""
    if not os.path.exists(path):
        notes[key] = "%s is missing" % path
        return None
    try:
        res = rd.Results(path, rd.load(path), **kw)
    except rd.LoadError as e:
        notes[key] = "%s could not be read (%s)" % (path, e)
        problems.append(str(e))
        unreadable.append(path)
        return None
    problems.extend(res.problems)
    if not res.runs:
        notes[key] = "%s holds no run" % path
        return None
    return res


def analysis_section(results):
    """analysis.md of the results directory, if there is one: what a person
    read in this run's profiles (bench/tools/perf_profile.py) and why pymalloc is
    slower where it is.  Written by hand, so it is named as such."""
    path = os.path.join(results, "analysis.md")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read().strip()
    except OSError:
        return []
    return ["## Analysis of the losses (written by hand from this run's profiles)", "",
            text, ""]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", required=True, help="the results directory")
    ap.add_argument("--out", help="the report (default RESULTS/REPORT.md)")
    ap.add_argument("--plots", help="the plots' directory (default RESULTS/plots)")
    ap.add_argument("--started", default="?", help="when the run started")
    ap.add_argument("--finished", help="when it finished (default: now)")
    ap.add_argument("--bench-ok", default="yes", choices=("yes", "no"))
    ap.add_argument("--command", action="append", default=[])
    ap.add_argument("--replay", action="append", default=[])
    ap.add_argument("--note", action="append", default=[],
                    help="a paragraph for the top of the report (repeatable)")
    args = ap.parse_args(argv)

    results = args.results
    if not os.path.isdir(results):
        ap.error("--results %s: no such directory" % results)
    out = args.out or os.path.join(results, "REPORT.md")
    plots = args.plots or os.path.join(results, "plots")
    out_dir = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(out_dir):
        ap.error("--out %s: directory %s does not exist" % (out, out_dir))
    finished = args.finished or datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%S UTC")

    def rel(name):
        return os.path.relpath(os.path.join(os.path.abspath(results), name), out_dir)

    notes, problems, unreadable = {}, [], []
    bench = load_results(os.path.join(results, "bench.json"), notes, "bench", problems,
                         unreadable)
    suite = Suite(bench) if bench else None
    gres = load_results(os.path.join(results, "gc.json"), notes, "gc", problems, unreadable,
                        shape="gc_KIND/IMPL", max_fields=16)
    gc = GC(gres) if gres else None
    if gc:
        problems.extend(gc.problems)
    wres = load_results(os.path.join(results, "whole.json"), notes, "whole", problems,
                        unreadable, shape="whole/PROGRAM/ALLOCATOR")
    whole = Whole(wres) if wres else None

    # Plots first, so that the text links only what was drawn.
    plot_links = {}
    if rp.available():
        try:
            os.makedirs(plots, exist_ok=True)
        except OSError as e:
            ap.error("--plots %s: %s" % (plots, e.strerror or e))
        for pat in PLOT_PATTERNS:
            for old in sorted(glob.glob(os.path.join(plots, pat))):
                os.remove(old)
        prel = os.path.relpath(os.path.abspath(plots), out_dir)

        def link(name):
            return os.path.join(prel, name)
        if suite:
            for family in suite.families:
                if family == "scale":
                    plot_links[family] = [(link(n), c) for n, c in scaling_plots(suite, plots)]
                    continue
                name = "throughput_%s.png" % rp.slug(family)
                c = throughput_plot(suite, family, os.path.join(plots, name))
                plot_links[family] = [(link(name), c)] if c else []
            c = fragmentation_plot(suite, os.path.join(plots, "fragmentation.png"))
            plot_links["mem"] = [(link("fragmentation.png"), c)] if c else []
        if gc:
            c = gc_plot(gc, os.path.join(plots, "gc.png"))
            plot_links["gc"] = [(link("gc.png"), c)] if c else []
        if whole:
            c = whole_plot(whole, os.path.join(plots, "whole.png"))
            plot_links["whole"] = [(link("whole.png"), c)] if c else []
        plots_note = None
    else:
        plots_note = "matplotlib is not installed for %s: no plot was drawn." % sys.executable

    by = args.command[0] if args.command else "./heaplab report"
    md = ["# heaplab results", "",
          "Generated by `%s` (bench/tools/report.py); every file it links is " % by +
          "regenerated by it, except what longer commands write: `analysis.md` (by hand, "
          "from this run's profiles), `planted.md` and `planted_empty.md` (`./heaplab fuzz "
          "--planted [--corpus empty] --seeds 3`), `coverage.md` (`./heaplab coverage`) and "
          "`fuzz_campaign.md` (`./heaplab fuzz all --time 600 --jobs 2 --report "
          "results/fuzz_campaign.md`).  Do not edit by hand.", ""]
    for n in args.note:
        md += [n, ""]
    if plots_note:
        md += [plots_note, ""]
    md += headline(suite, gc, notes)
    md += contents(results, rel)
    md += outcome(results, rel, args.bench_ok)
    pmd, pproblem2 = pictures_section(results, rel)
    md += pmd
    if pproblem2:
        problems.append(pproblem2)
    md += HOW_TO_READ
    profiles, pproblem = load_profiles(results)
    if pproblem:
        problems.append(pproblem)
        unreadable.append(os.path.join(results, "profiles", "index.json"))
    md += targets_section(suite, profiles, rel)
    md += analysis_section(results)
    if suite is None:
        md += ["## The benchmark suite", "",
               "The benchmark suite was not run: %s." % notes.get("bench", "no result"), ""]
    else:
        md += ["## The benchmark suite", "", bench_context(bench), ""]
        for family in suite.families:
            md += timed_section(suite, family, plot_links.get(family, []))
        md += mem_section(suite, plot_links.get("mem", []))
    md += gc_section(gc, notes.get("gc"), plot_links.get("gc", []), rel)
    md += whole_section(whole, notes.get("whole"), plot_links.get("whole", []))
    tmd, tproblem = traces_section(results, rel)
    md += tmd
    if tproblem:
        problems.append(tproblem)
        unreadable.append(os.path.join(results, "traces.json"))
    md += machine(args.started, finished)
    md += ["## Commands", "", "Run from the repository root:", "", "```"]
    md += args.command
    md += ["```", ""]
    if args.replay:
        md += ["Each replay (heaplab-cli from `bazel info --config=opt bazel-bin`/lib/cli/):",
               "", "```"]
        md += args.replay
        md += ["```", ""]
    if problems:
        md += ["## Problems", ""]
        md += ["- %s" % cell(p) for p in problems]
        md.append("")
    try:
        with open(out, "w", encoding="utf-8") as f:
            f.write("\n".join(md) + "\n")
    except OSError as e:
        print("report.py: %s: %s" % (out, e.strerror or e), file=sys.stderr)
        return 1
    for p in problems:
        print("report.py: %s" % p, file=sys.stderr)
    return 1 if unreadable else 0


if __name__ == "__main__":
    sys.exit(main())
