#!/usr/bin/python3
"""planted.py: proof that the fuzz targets' oracles can fail.

Each row of fuzz/planted/bugs.tsv is a realistic bug planted in lib/ behind
`#ifdef HL_PLANT_<NAME>` (no define: the code as it is).  For each bug in
turn this builds the fuzz target(s) expected to catch it with that one
define (`bazel build --config=planted`, the fuzz config with its own output
directory, and `--per_file_copt` so that only the bug's package is
recompiled), fuzzes from a scratch copy of the target's seed corpus
(corpus/<target>/, never written) for a time budget, and records whether the
target failed, after how long and how many executions, and whether it did
so while replaying the seeds (before libFuzzer's INITED line).

    /usr/bin/python3 fuzz/planted/planted.py [--time S] [--only NAME[,NAME]]
                                             [--seeds K] [--list]
    ./heaplab fuzz --planted [the same options]

Per bug the runner tries its expected target, then its fallback(s) when the
expected one is not built yet (not in fuzz/BUILD) or did not fail within the
budget; the table says which target caught it.  Outputs:

    results/fuzz/planted/<BUG>/build.log            the bazel build
    results/fuzz/planted/<BUG>/<TARGET>/seed<K>/    fuzz.log, the failing input
                                                    (crash-*, leak-*, ...) and
                                                    command.txt
    results/planted.md, results/planted.tsv         the table

Exit status 0 iff every bug selected was caught in every seed.  Standard
library only.
"""

import argparse
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUGS_TSV = os.path.join(ROOT, "fuzz", "planted", "bugs.tsv")
OUT_DIR = os.path.join(ROOT, "results", "fuzz", "planted")
CONFIG = "planted"
BAZEL = os.environ.get("BAZEL", "bazel")
BAZEL_QUIET = ["--noshow_progress", "--color=no", "--curses=no"]
FAIL_PREFIXES = ("crash-", "leak-", "timeout-", "oom-", "slow-unit-")


def rel(path):
    return os.path.relpath(path, ROOT)


# ---- the bug list ----------------------------------------------------------------

def load_bugs():
    bugs = []
    with open(BUGS_TSV, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        for lineno, line in enumerate(f, 2):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != len(header):
                sys.exit(f"{rel(BUGS_TSV)}:{lineno}: {len(cols)} columns, expected {len(header)}")
            b = dict(zip(header, cols))
            b["name"] = b["define"][len("HL_PLANT_"):]
            b["fallbacks"] = [] if b["fallback"] == "-" else b["fallback"].split(",")
            b["args"] = [] if b["libfuzzer_args"] == "-" else shlex.split(b["libfuzzer_args"])
            b["line"] = site_line(b)
            bugs.append(b)
    return bugs


def site_line(bug):
    """The line of the bug's #ifdef in its file, or None."""
    try:
        with open(os.path.join(ROOT, bug["file"]), encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if re.match(r"\s*#\s*if(n?def)?\b.*\b%s\b" % bug["define"], line):
                    return n
    except OSError:
        pass
    return None


def select(bugs, only):
    if not only:
        return bugs
    want = []
    for name in only.split(","):
        key = name.strip().upper()
        key = key[len("HL_PLANT_"):] if key.startswith("HL_PLANT_") else key
        hits = [b for b in bugs if b["name"] == key]
        if not hits:
            sys.exit("planted: unknown bug '%s' (see --list)" % name)
        want += [b for b in hits if b not in want]
    return want


def fuzz_targets():
    """The hl_fuzz_target names in fuzz/BUILD now."""
    with open(os.path.join(ROOT, "fuzz", "BUILD"), encoding="utf-8") as f:
        text = f.read()
    return set(re.findall(r'hl_fuzz_target\(\s*name\s*=\s*"(\w+)"', text))


def copt_regex(bug):
    """--per_file_copt regex: every C file of the bug's package (pymalloc's
    core files are #included by its variant files, so per package)."""
    return re.escape(os.path.dirname(bug["file"])) + "/.*"


# ---- building ----------------------------------------------------------------------

def build_cmd(bug, targets):
    return ([BAZEL, "build", "--config=" + CONFIG] + BAZEL_QUIET +
            ["--per_file_copt=%s@-D%s" % (copt_regex(bug), bug["define"])] +
            ["//fuzz:" + t for t in targets])


def build(bug, targets, logpath):
    cmd = build_cmd(bug, targets)
    with open(logpath, "w") as log:
        log.write("$ " + " ".join(shlex.quote(c) for c in cmd) + "\n")
        log.flush()
        rc = subprocess.call(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    return rc == 0, cmd


_BAZEL_BIN = None


def bazel_bin():
    global _BAZEL_BIN
    if _BAZEL_BIN is None:
        out = subprocess.run([BAZEL, "info", "--config=" + CONFIG, "bazel-bin"], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if out.returncode != 0:
            sys.exit("planted: bazel info bazel-bin failed")
        _BAZEL_BIN = out.stdout.strip()
    return _BAZEL_BIN


# ---- fuzzing -------------------------------------------------------------------------

def scratch_corpus(target, empty):
    src = os.path.join(ROOT, "corpus", target)
    tmp = tempfile.mkdtemp(prefix="planted-%s-" % target)
    n = 0
    for name in [] if empty else sorted(os.listdir(src)) if os.path.isdir(src) else []:
        p = os.path.join(src, name)
        if name != "BUILD" and os.path.isfile(p):
            shutil.copy(p, tmp)
            n += 1
    return tmp, n


def run_cmd(target, budget, seed, outdir, corpus, extra):
    cmd = [os.path.join(bazel_bin(), "fuzz", target),
           "-max_total_time=%d" % budget, "-print_final_stats=1", "-timeout=10",
           "-seed=%d" % seed, "-artifact_prefix=%s/" % outdir]
    d = os.path.join(ROOT, "fuzz", target + ".dict")
    if os.path.isfile(d):
        cmd.append("-dict=" + d)
    return cmd + extra + [corpus]


# What a failure says first: a target's own violation, a heaplab assertion, a
# fatal error of the debug hooks, a sanitizer report, or libFuzzer's.
REASON_RES = [
    re.compile(r"^\w+_fuzz: .*"),
    re.compile(r".*heaplab assertion failed: .*"),
    re.compile(r"^Fatal Python error: .*"),
    re.compile(r"^heaplab \S+: .*"),
    re.compile(r".*runtime error: .*"),
    re.compile(r"^==\d+==ERROR: .*"),
    re.compile(r"^SUMMARY: .*"),
]


def parse_log(text):
    info = {"inited": False, "execs": None, "last_n": None, "reason": "", "failed_before_init": False}
    fail_at = None
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "INITED" in line and line.startswith("#"):
            info["inited"] = True
        m = re.match(r"^#(\d+)\s", line)
        if m:
            info["last_n"] = int(m.group(1))
        m = re.match(r"^stat::number_of_executed_units:\s*(\d+)", line)
        if m:
            info["execs"] = int(m.group(1))
        if fail_at is None and (line.startswith("==") and "ERROR:" in line or
                                "deadly signal" in line or
                                any(r.match(line) for r in REASON_RES[:5])):
            fail_at = i
            info["failed_before_init"] = not info["inited"]
    for r in REASON_RES:
        for line in lines:
            if r.match(line):
                info["reason"] = line.strip()
                break
        if info["reason"]:
            break
    return info


def fuzz_once(bug, target, budget, seed, empty):
    outdir = os.path.join(OUT_DIR, bug["name"], target, ("empty-seed%d" if empty else "seed%d") % seed)
    if os.path.isdir(outdir):
        shutil.rmtree(outdir)
    os.makedirs(outdir)
    corpus, nseeds = scratch_corpus(target, empty)
    cmd = run_cmd(target, budget, seed, outdir, corpus, bug["args"])
    logpath = os.path.join(outdir, "fuzz.log")
    with open(os.path.join(outdir, "command.txt"), "w") as f:
        f.write("cd %s && %s\n" % (shlex.quote(ROOT), " ".join(shlex.quote(c) for c in cmd)))
    t0 = time.monotonic()
    with open(logpath, "wb") as log:
        p = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
        try:
            rc = p.wait(timeout=budget + 120)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            rc = p.wait()
    elapsed = time.monotonic() - t0
    shutil.rmtree(corpus, ignore_errors=True)
    with open(logpath, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    info = parse_log(text)
    artifacts = sorted(a for a in os.listdir(outdir) if a.startswith(FAIL_PREFIXES))
    caught = rc != 0
    kind = ""
    if caught:
        kind = artifacts[0].split("-")[0] if artifacts else "exit %d" % rc
        if kind == "slow":
            kind = "slow-unit"
    execs = info["execs"] if info["execs"] is not None else info["last_n"]
    return {
        "target": target, "seed": seed, "caught": caught, "rc": rc, "time": elapsed,
        "execs": execs, "inited": info["inited"],
        "during_seeds": caught and info["failed_before_init"],
        "kind": kind, "reason": info["reason"] if caught else "",
        "artifacts": [rel(os.path.join(outdir, a)) for a in artifacts],
        "log": rel(logpath), "nseeds": nseeds, "cmd": cmd,
    }


# ---- one bug ---------------------------------------------------------------------------

def run_bug(bug, budget, nseeds, available, empty):
    row = {"bug": bug, "runs": [], "notes": [], "build_ok": True}
    if bug["line"] is None:
        row["notes"].append("site missing: no #ifdef %s in %s" % (bug["define"], bug["file"]))
        row["build_ok"] = False
        return row
    wanted = [bug["target"]] + bug["fallbacks"]
    targets = [t for t in wanted if t in available]
    for t in wanted:
        if t not in available:
            row["notes"].append("%s not in fuzz/BUILD yet" % t)
    if not targets:
        row["build_ok"] = False
        return row
    bugdir = os.path.join(OUT_DIR, bug["name"])
    os.makedirs(bugdir, exist_ok=True)
    # This mode's runs of earlier invocations go: a target no longer tried
    # must not leave a stale failing input behind.
    prefix = "empty-seed" if empty else "seed"
    for t in os.listdir(bugdir):
        tdir = os.path.join(bugdir, t)
        if os.path.isdir(tdir):
            for d in os.listdir(tdir):
                if re.fullmatch(re.escape(prefix) + r"\d+", d):
                    shutil.rmtree(os.path.join(tdir, d))
    blog = os.path.join(OUT_DIR, bug["name"], "build.log")
    ok, cmd = build(bug, targets, blog)
    row["build_cmd"] = cmd
    if not ok:
        row["build_ok"] = False
        row["notes"].append("build failed: see " + rel(blog))
        return row
    for seed in range(1, nseeds + 1):
        for t in targets:
            r = fuzz_once(bug, t, budget, seed, empty)
            row["runs"].append(r)
            say("  %-28s %-18s seed %d: %s" % (bug["name"], t, seed, describe(r)))
            if r["caught"]:
                break
    return row


def describe(r):
    if not r["caught"]:
        return "not caught in %.0f s (%s execs)" % (r["time"], fmt_int(r["execs"]))
    s = "CAUGHT (%s) in %.1f s, %s execs" % (r["kind"], r["time"], fmt_int(r["execs"]))
    if r["during_seeds"]:
        s += ", while replaying the seeds"
    return s + ": " + r["reason"][:120]


def fmt_int(n):
    return "?" if n is None else str(n)


def say(msg):
    print(msg, flush=True)


# ---- the table ---------------------------------------------------------------------------

def summarize(row, nseeds):
    """Per bug: the catching target(s), caught k/K, median and max time and execs
    over the seeds (a seed's time is its catching run's, plus any earlier
    target's full budget)."""
    bug = row["bug"]
    per_seed = []
    for seed in range(1, nseeds + 1):
        runs = [r for r in row["runs"] if r["seed"] == seed]
        if not runs:
            continue
        hit = next((r for r in runs if r["caught"]), None)
        total_t = sum(r["time"] for r in runs)
        total_x = sum(r["execs"] or 0 for r in runs)
        per_seed.append((hit, total_t, total_x))
    caught = [p for p in per_seed if p[0] is not None]
    s = {
        "bug": bug["name"], "define": bug["define"], "component": bug["component"],
        "site": "%s:%s" % (bug["file"], bug["line"] or "?"), "expected": bug["target"],
        "caught_by": ",".join(sorted({p[0]["target"] for p in caught})) or "-",
        "k": len(caught), "K": nseeds,
        "caught": "yes" if per_seed and len(caught) == nseeds else ("partly" if caught else "no"),
        "during_seeds": sum(1 for p in caught if p[0]["during_seeds"]),
        "kind": ",".join(sorted({p[0]["kind"] for p in caught})) or "-",
        "reason": caught[0][0]["reason"] if caught else "",
        "notes": "; ".join(row["notes"]),
        "artifact": caught[0][0]["artifacts"][0] if caught and caught[0][0]["artifacts"] else "",
    }
    times = [p[1] for p in caught]
    execs = [p[2] for p in caught]
    s["time_med"] = statistics.median(times) if times else None
    s["time_max"] = max(times) if times else None
    s["execs_med"] = int(statistics.median(execs)) if execs else None
    s["execs_max"] = max(execs) if execs else None
    if not row["build_ok"] and not s["notes"]:
        s["notes"] = "not run"
    if per_seed and not caught:
        s["notes"] = (s["notes"] + "; " if s["notes"] else "") + \
            "not caught in %d s per target" % int(max(p[1] for p in per_seed))
    return s


def fmt_time(s, K):
    if s["time_med"] is None:
        return "-"
    return "%.1f" % s["time_med"] if K == 1 else "%.1f (max %.1f)" % (s["time_med"], s["time_max"])


def fmt_execs(s, K):
    if s["execs_med"] is None:
        return "-"
    return "%d" % s["execs_med"] if K == 1 else "%d (max %d)" % (s["execs_med"], s["execs_max"])


def write_tables(summaries, args, wall, bugs_run):
    K = args.seeds
    stem = "planted_empty" if args.corpus == "empty" else "planted"
    tsv = os.path.join(ROOT, "results", stem + ".tsv")
    md = os.path.join(ROOT, "results", stem + ".md")
    os.makedirs(os.path.dirname(tsv), exist_ok=True)
    cols = ["bug", "define", "component", "site", "expected", "caught_by", "caught", "k", "K",
            "time_med", "time_max", "execs_med", "execs_max", "during_seeds", "kind", "reason",
            "artifact", "notes"]
    with open(tsv, "w") as f:
        f.write("\t".join(cols) + "\n")
        for s in summaries:
            vals = []
            for c in cols:
                v = s[c]
                if isinstance(v, float):
                    v = "%.2f" % v
                vals.append("" if v is None else str(v).replace("\t", " "))
            f.write("\t".join(vals) + "\n")

    example = bugs_run[0] if bugs_run else None
    ncaught = sum(1 for s in summaries if s["caught"] == "yes")
    out = []
    out.append("# Planted bugs: can the fuzz targets' oracles fail?\n")
    out.append("Each bug of `fuzz/planted/bugs.tsv` sits in `lib/` behind `#ifdef HL_PLANT_<NAME>`; "
               "without the define the code is unchanged.  For each bug the runner builds the fuzz "
               "target(s) with that define only and fuzzes from %s "
               "for at most %d s per target and seed (%d seed%s: libFuzzer `-seed=1..%d`); "
               "when the expected target is not built yet or does not fail, its fallback is tried.  "
               "Time is wall-clock seconds to the first failure, libFuzzer start-up and seed replay "
               "included; execs is libFuzzer's `stat::number_of_executed_units` at the failure.%s\n"
               % ("an EMPTY corpus (no seeds; libFuzzer's default -max_len of 4096)"
                  if args.corpus == "empty" else
                  "a scratch copy of the target's seed corpus (`corpus/<target>/`, never written)",
                  args.time, K, "" if K == 1 else "s", K,
                  "" if args.corpus == "empty" else
                  "  \"during seeds\" counts the seeds in which the target failed while still "
                  "replaying its seed corpus (before `INITED`): the committed seeds alone trigger "
                  "the bug."))
    out.append("Run: `%s` (%s), %d of %d bugs caught, %.0f s wall in all, on %d cores shared with "
               "other work (times are indicative).\n"
               % (" ".join(["/usr/bin/python3", "fuzz/planted/planted.py"] + sys.argv[1:]),
                  time.strftime("%Y-%m-%d %H:%M"), ncaught, len(summaries), wall,
                  os.cpu_count() or 0))
    out.append("Commands, per bug (`--per_file_copt` puts the define on the C files of the "
               "site's directory only, so nothing else is recompiled):\n")
    out.append("```sh")
    out.append("bazel build --config=planted --per_file_copt='lib/<package>/.*@-DHL_PLANT_<BUG>' "
               "//fuzz:<target> [//fuzz:<fallback>]")
    out.append("$(bazel info --config=planted bazel-bin)/fuzz/<target> -max_total_time=%d "
               "-print_final_stats=1 -timeout=10 -seed=<k> "
               "-artifact_prefix=results/fuzz/planted/<BUG>/<target>/%sseed<k>/ "
               "[-dict=fuzz/<target>.dict] %s" % (args.time, "empty-" if args.corpus == "empty" else "",
                                                  "<empty scratch directory>"
                                                  if args.corpus == "empty" else
                                                  "<scratch copy of corpus/<target>>"))
    if example is not None:
        out.append("# e.g.")
        out.append(" ".join(shlex.quote(c) for c in build_cmd(example, [example["target"]])))
    out.append("```")
    out.append("Each run's exact command is in `results/fuzz/planted/<BUG>/<target>/%sseed<k>/command.txt`, "
               % ("empty-" if args.corpus == "empty" else "") +
               "its log beside it (`fuzz.log`) with the failing input (`crash-*`, `leak-*`, ...); "
               "reproduce with the binary and that file.\n")
    out.append("| bug | component | site | expected target | caught by | caught | time s | execs | "
               "during seeds | failure |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for s in summaries:
        caught = s["caught"] if K == 1 else "%s (%d/%d)" % (s["caught"], s["k"], K)
        failure = s["kind"] + ": " + s["reason"] if s["reason"] else s["kind"]
        if s["notes"]:
            failure = (failure + "; " if failure != "-" else "") + s["notes"]
        failure = failure.replace("|", "\\|")
        if len(failure) > 220:
            failure = failure[:217] + "..."
        out.append("| %s | %s | `%s` | %s | %s | %s | %s | %s | %s | %s |" % (
            s["bug"], s["component"], s["site"], s["expected"], s["caught_by"], caught,
            fmt_time(s, K), fmt_execs(s, K),
            "%d/%d" % (s["during_seeds"], s["k"]) if s["k"] else "-", failure))
    out.append("")
    with open(md, "w") as f:
        f.write("\n".join(out))
    return md, tsv


def print_table(summaries, K):
    w = max([len(s["bug"]) for s in summaries] + [3])
    say("")
    say("%-*s  %-10s  %-18s  %-18s  %-6s  %-16s  %-16s  %s" % (
        w, "bug", "component", "expected", "caught by", "caught", "time s", "execs", "how"))
    for s in summaries:
        caught = s["caught"] if K == 1 else "%s %d/%d" % (s["caught"], s["k"], K)
        how = s["kind"] + (" (during seeds %d/%d)" % (s["during_seeds"], s["k"]) if s["during_seeds"] else "")
        if s["notes"]:
            how += "; " + s["notes"]
        say("%-*s  %-10s  %-18s  %-18s  %-6s  %-16s  %-16s  %s" % (
            w, s["bug"], s["component"], s["expected"], s["caught_by"], caught,
            fmt_time(s, K), fmt_execs(s, K), how))


# ---- main ---------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(
        prog="planted.py", description="Build each planted bug (fuzz/planted/bugs.tsv) into its "
        "fuzz target and fuzz until the target fails or the budget runs out.")
    ap.add_argument("--time", type=int, default=120, metavar="S",
                    help="fuzzing budget per bug, target and seed, in seconds (default 120)")
    ap.add_argument("--only", metavar="NAME[,NAME]",
                    help="only these bugs (NAME with or without the HL_PLANT_ prefix)")
    ap.add_argument("--seeds", type=int, default=1, metavar="K",
                    help="run each bug with libFuzzer -seed=1..K, report median and max (default 1)")
    ap.add_argument("--corpus", choices=["seeds", "empty"], default="seeds",
                    help="start from a scratch copy of corpus/<target>/ (default), or from an "
                    "empty corpus; 'empty' writes results/planted_empty.md and .tsv")
    ap.add_argument("--list", action="store_true", help="list the bugs and exit")
    args = ap.parse_args()
    if args.time < 1 or args.seeds < 1:
        ap.error("--time and --seeds want positive integers")

    bugs = select(load_bugs(), args.only)
    available = fuzz_targets()
    if args.list:
        for b in bugs:
            targets = [b["target"]] + b["fallbacks"]
            mark = ", ".join(t + ("" if t in available else " (not built yet)") for t in targets)
            say("%-36s %-9s %s:%s\n    targets: %s\n    %s" % (
                b["define"], b["component"], b["file"], b["line"] or "?", mark, b["description"]))
        return 0

    t0 = time.monotonic()
    say("planted: %d bug(s), %d s per target and seed, %d seed(s); results/fuzz/planted/"
        % (len(bugs), args.time, args.seeds))
    summaries = []
    for b in bugs:
        say("== %s (%s:%s)" % (b["define"], b["file"], b["line"] or "?"))
        row = run_bug(b, args.time, args.seeds, available, args.corpus == "empty")
        for n in row["notes"]:
            say("  note: " + n)
        summaries.append(summarize(row, args.seeds))
    wall = time.monotonic() - t0
    md, tsv = write_tables(summaries, args, wall, bugs)
    print_table(summaries, args.seeds)
    ncaught = sum(1 for s in summaries if s["caught"] == "yes")
    say("\nplanted: %d of %d caught; %.0f s wall; %s, %s" % (ncaught, len(summaries), wall,
                                                           rel(md), rel(tsv)))
    return 0 if ncaught == len(summaries) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
