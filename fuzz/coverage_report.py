#!/usr/bin/env python3
"""coverage_report.py: results/coverage.md from llvm-cov's JSON summaries.

    coverage_report.py --fuzz FUZZ.json [--tests TESTS.json]
                       --library-sources FILE --out results/coverage.md
                       [--corpus-note TEXT] [--command CMD]... [--note TEXT]...

FUZZ.json (and TESTS.json) are `llvm-cov export -summary-only` outputs: the
fuzz corpora's coverage (and, optionally, the unit tests').  The files that
count are lib/ files, as llvm-cov names them (relative to the repository
root), that appear in FUZZ.json: what at least one fuzz target links.
--library-sources lists lib/ sources the OSS-Fuzz build compiles
(fuzz/oss-fuzz/build.sh --list-sources); those not in FUZZ.json are listed
as linked into no fuzz target (outside the total).  Run by `heaplab coverage`.
"""
import argparse
import json
import os
import sys

TARGET = 90.0   # the target: line coverage of lib/, in percent


def load(path):
    with open(path) as f:
        d = json.load(f)
    files = {}
    for data in d.get("data", []):
        for fe in data.get("files", []):
            name = fe["filename"]
            if os.path.isabs(name):
                name = os.path.relpath(name)
            if not name.startswith("lib/"):
                continue
            s = fe["summary"]
            files[name] = (s["lines"]["count"], s["lines"]["covered"],
                           s["branches"]["count"], s["branches"]["covered"])
    return files


def pct(covered, count):
    return 100.0 * covered / count if count else None


def fmt_pct(p):
    return "—" if p is None else "%.1f%%" % p


def total(files, names):
    lc = sum(files[n][0] for n in names)
    lv = sum(files[n][1] for n in names)
    bc = sum(files[n][2] for n in names)
    bv = sum(files[n][3] for n in names)
    return lc, lv, bc, bv


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fuzz", required=True)
    ap.add_argument("--tests")
    ap.add_argument("--library-sources", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--corpus-note", default="")
    ap.add_argument("--command", action="append", default=[])
    ap.add_argument("--note", action="append", default=[])
    args = ap.parse_args()

    fuzz = load(args.fuzz)
    tests = load(args.tests) if args.tests else None
    with open(args.library_sources) as f:
        libsrcs = [l.strip() for l in f if l.strip().startswith("lib/")]
    if not fuzz:
        print("coverage_report.py: no lib/ file in %s" % args.fuzz, file=sys.stderr)
        return 1

    names = sorted(fuzz)
    # Least covered first (line %, then branch %), so the gaps lead.
    def key(n):
        lc, lv, bc, bv = fuzz[n]
        lp = pct(lv, lc)
        bp = pct(bv, bc)
        return (lp if lp is not None else 101.0, bp if bp is not None else 101.0, n)
    names.sort(key=key)
    lc, lv, bc, bv = total(fuzz, names)
    line_total = pct(lv, lc)
    unlinked = sorted(s for s in libsrcs if s not in fuzz)

    md = ["# Coverage of lib/ by the fuzz corpora", ""]
    md.append("Source-based coverage (clang 14 `-fprofile-instr-generate "
              "-fcoverage-mapping`, Bazel `--config=llvmcov`: no sanitizers, -O0) of "
              + (args.corpus_note or "the committed seed corpora")
              + ", each replayed once through its target's corpus-replay binary "
              "(`//fuzz:<target>_corpus_test`: the target's `LLVMFuzzerTestOneInput` "
              "under `fuzz/replay_main.c`, no libFuzzer), merged with `llvm-profdata-14`, "
              "summarised by `llvm-cov-14` (`results/coverage.txt` is its report).")
    md.append("")
    md.append("**Which files count:** every `lib/` file compiled into at least one fuzz "
              "target, as the coverage mapping of the replay binaries names them: the "
              "library sources (the rule of `fuzz/oss-fuzz/build.sh`: `lib/**/*.c` except "
              "unit tests, cmocka helpers, `lib/cli/`, `lib/preload/` and "
              "`lib/trace/mtrace_start.c`) a target links, the files they `#include` "
              "textually (pymalloc's core) and headers with code (static inline functions). "
              "`fuzz/*.c` and the replay main are not counted.")
    if unlinked:
        md.append("Library sources no fuzz target links (outside the total): "
                  + ", ".join("`%s`" % u for u in unlinked) + ".")
    md.append("")
    met = line_total is not None and line_total >= TARGET
    md.append("**Total: lines %d/%d = %s, branches %d/%d = %s** over %d files; the "
              "issue's target, at least %.0f%% of lib/'s lines, is %s."
              % (lv, lc, fmt_pct(line_total), bv, bc, fmt_pct(pct(bv, bc)), len(names),
                 TARGET, "met" if met else "**not met**"))
    if tests is not None:
        tnames = [n for n in names if n in tests]
        tlc, tlv, tbc, tbv = total(tests, tnames)
        md.append("")
        md.append("The unit tests (`bazel test --config=llvmcov //lib/...`), over the files of the table they link "
                  "(%d of %d): lines %d/%d = %s, branches %d/%d = %s (the right-hand columns; "
                  "not added to the fuzz numbers)."
                  % (len(tnames), len(names), tlv, tlc, fmt_pct(pct(tlv, tlc)), tbv, tbc,
                     fmt_pct(pct(tbv, tbc))))
    least = [n for n in names if fuzz[n][0] > 0][:8]
    md.append("")
    md.append("Least covered (lines): " + ", ".join(
        "`%s` %s" % (n, fmt_pct(pct(fuzz[n][1], fuzz[n][0]))) for n in least) + ".")
    for n in args.note:
        md += ["", n]
    md += ["", "Commands, from the repository root:", "", "```"] + args.command + ["```", ""]

    # Per directory.
    dirs = {}
    for n in names:
        dirs.setdefault(os.path.dirname(n), []).append(n)
    md += ["## By directory", ""]
    hdr = "| directory | files | lines | line % | branches | branch % |"
    sep = "|---|---:|---:|---:|---:|---:|"
    if tests is not None:
        hdr += " unit tests: line % | unit tests: branch % |"
        sep += "---:|---:|"
    md += [hdr, sep]
    for d in sorted(dirs):
        a, b, c, e = total(fuzz, dirs[d])
        row = "| `%s/` | %d | %d/%d | %s | %d/%d | %s |" % (
            d, len(dirs[d]), b, a, fmt_pct(pct(b, a)), e, c, fmt_pct(pct(e, c)))
        if tests is not None:
            tn = [n for n in dirs[d] if n in tests]
            ta, tb, tc, te = total(tests, tn)
            row += " %s | %s |" % (fmt_pct(pct(tb, ta)), fmt_pct(pct(te, tc)))
        md.append(row)
    md.append("")

    md += ["## By file (least covered first)", ""]
    hdr = "| file | lines | line % | branches | branch % |"
    sep = "|---|---:|---:|---:|---:|"
    if tests is not None:
        hdr += " unit tests: line % | unit tests: branch % |"
        sep += "---:|---:|"
    md += [hdr, sep]
    for n in names:
        a, b, c, e = fuzz[n]
        row = "| `%s` | %d/%d | %s | %d/%d | %s |" % (
            n, b, a, fmt_pct(pct(b, a)), e, c, fmt_pct(pct(e, c)))
        if tests is not None:
            if n in tests:
                ta, tb, tc, te = tests[n]
                row += " %s | %s |" % (fmt_pct(pct(tb, ta)), fmt_pct(pct(te, tc)))
            else:
                row += " — | — |"
        md.append(row)
    md.append("| **total** | %d/%d | **%s** | %d/%d | **%s** |%s" % (
        lv, lc, fmt_pct(line_total), bv, bc, fmt_pct(pct(bv, bc)),
        "" if tests is None else " %s | %s |" % (
            fmt_pct(pct(*reversed(total(tests, [n for n in names if n in tests])[:2]))),
            fmt_pct(pct(*reversed(total(tests, [n for n in names if n in tests])[2:]))))))
    md.append("")
    with open(args.out, "w") as f:
        f.write("\n".join(md))
    print("coverage_report.py: lib/ lines %s, branches %s over %d files -> %s"
          % (fmt_pct(line_total), fmt_pct(pct(bv, bc)), len(names), args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
