#!/usr/bin/env python3
"""Markdown for one `heaplab fuzz` run, from its summary (standard output).

    heaplab fuzz all --time 600 --jobs 2 > summary.txt
    /usr/bin/python3 fuzz/campaign_report.py --summary summary.txt \\
        --command "./heaplab fuzz all --time 600 --jobs 2" \\
        --started "2026-11-21 12:35 UTC" --out results/fuzz_campaign.md

`heaplab fuzz --report FILE` does exactly this.  The table is the summary's
rows, one per target and engine, plus whether the row meets the issue's speed
aim (5,000 exec/s under ASan on 2 cores: a measurement, not a test) and
links to each target's encoding and oracles (fuzz/README.md).
"""
import argparse
import datetime
import os
import re
import subprocess
import sys

ROW = re.compile(r"^(?P<target>\S+)\s+(?P<engine>libfuzzer|afl)\s+exec/s\s+(?P<eps>\S+)\s+"
                 r"cov\s+(?P<cov>\S+)\s+(?P<col5>(?:ft|bitmap)\s+\S+)\s+corpus\s+(?P<corpus>\S+)\s+"
                 r"runs\s+(?P<runs>\S+)\s+failures\s+(?P<failures>\d+)(?P<note>.*)$")
SPEED_AIM = 5000


def first_line(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        return "?"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--summary", required=True, help="heaplab fuzz's standard output")
    ap.add_argument("--command", required=True, help="the heaplab fuzz command that ran")
    ap.add_argument("--started", default="?", help="when it started")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    try:
        with open(args.summary) as f:
            lines = [l.rstrip("\n") for l in f]
    except OSError as e:
        sys.exit("campaign_report.py: %s: %s" % (args.summary, e.strerror))
    header = next((l for l in lines if l.startswith("=== heaplab fuzz: summary")), None)
    rows, extra = [], []
    for l in lines:
        m = ROW.match(l)
        if m:
            rows.append(m.groupdict())
        elif l.startswith("  ") and rows:
            extra.append(l.strip())
    if header is None or not rows:
        sys.exit("campaign_report.py: %s: no `heaplab fuzz` summary in it" % args.summary)

    commit = first_line(["git", "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "lib", "fuzz"]).returncode != 0
    failures = sum(int(r["failures"]) for r in rows)
    md = ["# Fuzzing campaign", "",
          "Written by `fuzz/campaign_report.py` from the summary of:", "",
          "```", args.command, "```", "",
          "%s" % header.strip("= ").strip(), "",
          "| | |", "|---|---|",
          "| started | %s |" % args.started,
          "| finished | %s |" % datetime.datetime.now(datetime.timezone.utc).strftime(
              "%Y-%m-%d %H:%M UTC"),
          "| source | commit %s%s |" % (commit, " with uncommitted changes to lib/ or fuzz/"
                                        if dirty else ""),
          "| CPUs | %d x %s |" % (os.cpu_count() or 0, cpu_model()),
          "| compiler | %s |" % first_line(["clang", "--version"]),
          "",
          "**%d target run(s), %d failure(s).**" % (len(rows), failures), "",
          "| target | engine | exec/s | cov | ft / bitmap | corpus | runs | failures | "
          "%d exec/s |" % SPEED_AIM,
          "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        try:
            meets = "yes" if float(r["eps"]) >= SPEED_AIM else "no"
        except ValueError:
            meets = "?"
        md.append("| `%s` | %s | %s | %s | %s | %s | %s | %s%s | %s |" % (
            r["target"], r["engine"], r["eps"], r["cov"], r["col5"].split()[-1], r["corpus"],
            r["runs"], r["failures"], r["note"].strip() and " " + r["note"].strip(), meets))
    md += ["",
           "exec/s is libFuzzer's average over the run (`stat::average_exec_per_sec`); cov and "
           "ft its final `cov:` and `ft:`; corpus the files in the working corpus "
           "(`results/fuzz/<target>/corpus/`, started from `corpus/<target>/`); runs the "
           "inputs executed.  The last column is the speed aimed at: 5,000 exec/s per target "
           "under ASan on a 2-core machine.  With `--jobs 2` two targets share the two "
           "cores, so each row had one core."]
    if extra:
        md += ["", "Failing inputs and their reproduction commands:", "", "```"] + extra + ["```"]
    md.append("")
    with open(args.out, "w") as f:
        f.write("\n".join(md))
    print("campaign_report.py: %d rows, %d failures -> %s" % (len(rows), failures, args.out))


if __name__ == "__main__":
    main()
