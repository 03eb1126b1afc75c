#!/usr/bin/python3
"""difftest: heap scripts on heaplab against CPython 3.11, statement by statement.

For every script of the corpus (corpus/scripts/*.heap, except auto_*.heap,
which use `enable`/`threshold` and are outside the spec's equivalence) and
for --random N generated scripts (heapscript_gen.py, seed base 20261121 or
$HL_DIFF_SEED, printed in the log), run the translator (heapscript_py.py,
on /usr/bin/python3) once and `heaplab-cli script --allocator A FILE` for
every allocator A that `heaplab-cli list` prints, and compare:

  - standard output, line by line, except the first number (the gen-0
    count) of a `count:` line (the spec's one exception);
  - the exit status: 0 or 2 on both sides (heaplab's 3, a leak, or
    anything else fails);
  - on an error, the first line of standard error must start with
    `FILE:LINE: error:` with the same FILE and LINE on both sides.

The Python side is checked too: it must exit 0 or 2 without a traceback; a
script's `# expect: ok` / `# expect: error at line N` header (generated
scripts) and the `# => LINE` annotations of the corpus (the line the
statement prints; `_` matches any one word; `# => error` marks the line
that must fail) must hold.

    difftest.py [--cli PATH] [--corpus DIR] [--random N] [--seed S]
                [--jobs J] [--allocators A,B] [--tmp DIR] [--self-check]
                [SCRIPT...]

--self-check runs only the Python side (no heaplab-cli needed).  SCRIPT
arguments replace the corpus (and --random then defaults to 0).  Prints the
first mismatch of each failing script/allocator and a summary line
`N scripts x M allocators: P passed, F failed`; exits 1 on any failure.
"""

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True      # no __pycache__ in the source tree

import heapscript_gen  # noqa: E402
import heapscript_py  # noqa: E402

DEFAULT_SEED = "20261121"
PRINTING = ("collect", "tracked", "sizeof", "count")
COUNT_RE = re.compile(rb"count: (-?\d+) (\d+) (\d+)\Z")
EXPECT_RE = re.compile(rb"# expect: (ok|error at line (\d+))")
MAX_DETAILED = int(os.environ.get("HL_DIFF_MAX_DETAILED", "25"))
TIMEOUT = float(os.environ.get("HL_DIFF_TIMEOUT", "300"))


class Script:
    """One script: its path, its printing statements' lines and its
    annotations (`# => ...`) and expectation (`# expect: ...`)."""

    def __init__(self, path, cwd=None, regen=None):
        self.path = path            # as given to both sides (FILE in errors)
        self.cwd = cwd              # both sides run there (None: here)
        self.regen = regen          # how to recreate a generated script
        with open(os.path.join(cwd or "", path), "rb") as f:
            self.data = f.read()
        self.size = len(self.data)
        self.printing = []          # script line of each printing statement
        self.notes = {}             # line -> annotation (bytes)
        self.expect_ok = None       # True, False (error) or None (unknown)
        self.expect_line = None
        for number, line in enumerate(self.data.split(b"\n"), 1):
            if number == 1:
                m = EXPECT_RE.match(line)
                if m:
                    self.expect_ok = m.group(1) == b"ok"
                    if m.group(2):
                        self.expect_line = int(m.group(2))
            toks = heapscript_py.tokens_of(line)
            if toks and toks[0].decode("ascii", "replace") in PRINTING:
                self.printing.append(number)
            if b"#" in line:
                comment = line.split(b"#", 1)[1].strip()
                if comment.startswith(b"=>"):
                    self.notes[number] = comment[2:].strip()
        if any(v == b"error" for v in self.notes.values()):
            self.expect_ok = False
            self.expect_line = min(n for n, v in self.notes.items() if v == b"error")

    def stmt_line(self, k):
        """The script line of the statement that printed output line k."""
        return self.printing[k] if k < len(self.printing) else None


class Run:
    def __init__(self, rc, out, err, secs):
        self.rc, self.out, self.err, self.secs = rc, out, err, secs

    def error_line(self, path):
        """LINE of a first stderr line `PATH:LINE: error:`, else None."""
        first = self.err.split(b"\n", 1)[0]
        m = re.match(re.escape(os.fsencode(path)) + rb":(\d+): error:", first)
        return int(m.group(1)) if m else None


def run_cmd(argv, input=None, cwd=None):
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, input=input, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=TIMEOUT, cwd=cwd)
        return Run(p.returncode, p.stdout, p.stderr, time.monotonic() - t0)
    except subprocess.TimeoutExpired as e:
        return Run("timeout", e.stdout or b"", (e.stderr or b"") + b"\n(timed out)",
                   time.monotonic() - t0)


def run_python(script):
    program = heapscript_py.translate(script.data, script.path)
    return run_cmd([heapscript_py.PYTHON, "-I", "-"], input=program.encode("utf-8"))


def show(b, limit=300):
    s = b.decode("utf-8", "backslashreplace")
    return s if len(s) <= limit else s[:limit] + "..."


def tail(b, n=5):
    lines = b.decode("utf-8", "backslashreplace").rstrip("\n").split("\n")
    return "\n".join("      | " + x for x in lines[-n:]) if b else "      | (empty)"


def words_match(note, line):
    nw, lw = note.split(), line.split()
    return len(nw) == len(lw) and all(a == b"_" or a == b for a, b in zip(nw, lw))


def check_python(script, py):
    """Problems of the Python side (a list of strings)."""
    probs = []
    if py.rc not in (0, 2):
        probs.append("python side exited with %s\n%s" % (py.rc, tail(py.err, 15)))
        return probs
    if b"Traceback" in py.err:
        probs.append("python side printed a traceback\n%s" % tail(py.err, 15))
    if py.rc == 0 and py.err:
        probs.append("python side exited 0 with stderr output\n%s" % tail(py.err))
    eline = py.error_line(script.path) if py.rc == 2 else None
    if py.rc == 2 and eline is None:
        probs.append("python side exited 2 without `FILE:LINE: error:`\n%s" % tail(py.err))
    if script.expect_ok is True and py.rc != 0:
        probs.append("expected to run without error, python side: %s" % show(py.err.split(b"\n")[0]))
    if script.expect_ok is False:
        if py.rc != 2:
            probs.append("expected an error at line %s, python side exited 0" % script.expect_line)
        elif script.expect_line is not None and eline != script.expect_line:
            probs.append("expected an error at line %s, python side: %s"
                         % (script.expect_line, show(py.err.split(b"\n")[0])))
    out = py.out.split(b"\n")
    if out and out[-1] == b"":
        out.pop()
    for k, line in enumerate(out):
        n = script.stmt_line(k)
        note = script.notes.get(n)
        if note is not None and note != b"error" and not words_match(note, line):
            probs.append("line %s annotated `=> %s`, CPython printed `%s`"
                         % (n, show(note), show(line)))
    return probs


def compare(script, py, hl):
    """The first difference of the heaplab run from the Python run, or None."""
    a = py.out.split(b"\n")
    b = hl.out.split(b"\n")
    for k in range(max(len(a), len(b))):
        x = a[k] if k < len(a) else None
        y = b[k] if k < len(b) else None
        if x == y:
            continue
        if x is not None and y is not None:
            mx, my = COUNT_RE.match(x), COUNT_RE.match(y)
            if mx and my and mx.group(2, 3) == my.group(2, 3):
                continue
        n = script.stmt_line(k)
        where = "output line %d (script line %s)" % (k + 1, n if n else "?")
        ctx = "".join("      = %s\n" % show(a[j]) for j in range(max(0, k - 3), k))
        msg = ("stdout differs at %s:\n%s      cpython: %s\n      heaplab: %s"
               % (where, ctx, "(no line)" if x is None else show(x),
                  "(no line)" if y is None else show(y)))
        if hl.rc != py.rc:
            msg += ("\n    exit status: cpython %s, heaplab %s; heaplab stderr:\n%s"
                    % (py.rc, hl.rc, tail(hl.err)))
        return msg
    if hl.rc == 3:
        return "heaplab reported a leak (exit 3):\n%s" % tail(hl.err, 10)
    if hl.rc != py.rc:
        return ("exit status differs: cpython %s, heaplab %s\n    cpython stderr:\n%s\n"
                "    heaplab stderr:\n%s" % (py.rc, hl.rc, tail(py.err), tail(hl.err)))
    if py.rc == 2:
        pl, hl_line = py.error_line(script.path), hl.error_line(script.path)
        if hl_line is None:
            return ("heaplab's stderr does not start with `%s:LINE: error:`\n%s"
                    % (script.path, tail(hl.err)))
        if pl != hl_line:
            return ("error at a different line: cpython %s, heaplab %s\n"
                    "      cpython: %s\n      heaplab: %s"
                    % (pl, hl_line, show(py.err.split(b"\n")[0]),
                       show(hl.err.split(b"\n")[0])))
    elif hl.err.strip():
        return "heaplab exited 0 but wrote to stderr:\n%s" % tail(hl.err)
    return None


def list_allocators(cli):
    p = subprocess.run([cli, "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise SystemExit("difftest: `%s list` failed (%d): %s"
                         % (cli, p.returncode, show(p.stderr)))
    names = [line.split()[0] for line in p.stdout.decode().splitlines() if line.strip()]
    if not names:
        raise SystemExit("difftest: `%s list` printed no allocator" % cli)
    return names


def find_cli():
    for c in ("lib/cli/heaplab-cli", "bazel-bin/lib/cli/heaplab-cli",
              os.path.join(HERE, "../cli/heaplab-cli"),
              os.path.join(HERE, "../../bazel-bin/lib/cli/heaplab-cli")):
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


def find_corpus():
    for c in ("corpus/scripts", os.path.join(HERE, "../../corpus/scripts")):
        if os.path.isdir(c):
            return os.path.normpath(c)
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description="Differential test of heap scripts: heaplab vs CPython 3.11.")
    ap.add_argument("scripts", nargs="*", help="scripts to run instead of the corpus")
    ap.add_argument("--cli", help="heaplab-cli binary (default: lib/cli/heaplab-cli or bazel-bin/...)")
    ap.add_argument("--corpus", help="corpus directory (default: corpus/scripts)")
    ap.add_argument("--random", type=int, default=None,
                    help="number of generated scripts (default 300; 0 with SCRIPT arguments)")
    ap.add_argument("--seed", default=os.environ.get("HL_DIFF_SEED", DEFAULT_SEED),
                    help="seed of the generated scripts (default $HL_DIFF_SEED or %s)" % DEFAULT_SEED)
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("HL_DIFF_JOBS", "2")))
    ap.add_argument("--allocators", help="comma-separated subset of `heaplab-cli list`")
    ap.add_argument("--tmp", help="directory for the generated scripts (default: a temporary one)")
    ap.add_argument("--self-check", action="store_true",
                    help="run only the Python side and check it (no heaplab-cli)")
    args = ap.parse_args(argv)
    t0 = time.monotonic()

    # -- the scripts -----------------------------------------------------
    scripts = []
    if args.scripts:
        scripts = [Script(p) for p in args.scripts]
        nrandom = args.random or 0
    else:
        corpus = args.corpus or find_corpus()
        if not corpus or not os.path.isdir(corpus):
            raise SystemExit("difftest: no corpus directory (use --corpus)")
        names = sorted(n for n in os.listdir(corpus) if n.endswith(".heap"))
        skipped = [n for n in names if n.startswith("auto_") and not args.self_check]
        for n in names:
            if n not in skipped:
                scripts.append(Script(os.path.join(corpus, n)))
        print("corpus: %d scripts from %s%s" % (len(scripts), corpus,
              " (not compared: %s)" % ", ".join(skipped) if skipped else ""))
        nrandom = 300 if args.random is None else args.random
    cleanup = None
    if nrandom > 0:
        base = args.tmp or os.environ.get("TEST_TMPDIR")
        gdir = tempfile.mkdtemp(prefix="heapscript_gen.", dir=base)
        if not args.tmp:
            cleanup = gdir
        for i in range(nrandom):
            name = "gen_%s_%d.heap" % (args.seed, i)
            with open(os.path.join(gdir, name), "w", encoding="utf-8") as f:
                f.write(heapscript_gen.generate(args.seed, i))
            scripts.append(Script(name, cwd=gdir,
                                  regen="lib/script/heapscript_gen.py --seed %s --count %d --out DIR"
                                  % (args.seed, i + 1)))
        print("random: %d scripts, seed %s (HL_DIFF_SEED=%s to repeat; "
              "lib/script/heapscript_gen.py --seed %s --count %d --out DIR writes them)"
              % (nrandom, args.seed, args.seed, args.seed, nrandom))

    # -- the allocators ----------------------------------------------------
    allocators = []
    cli = cli_shown = None
    if not args.self_check:
        cli = args.cli or find_cli()
        if not cli:
            raise SystemExit("difftest: no heaplab-cli (build //lib/cli:heaplab-cli or use --cli)")
        cli_shown = cli
        cli = os.path.abspath(cli)
        allocators = list_allocators(cli)
        if args.allocators:
            want = args.allocators.split(",")
            unknown = [a for a in want if a not in allocators]
            if unknown:
                raise SystemExit("difftest: unknown allocator(s) %s; `list` gives %s"
                                 % (", ".join(unknown), ", ".join(allocators)))
            allocators = want
        print("heaplab: %s; allocators: %s" % (cli_shown, " ".join(allocators)))
    print("jobs: %d" % args.jobs)
    sys.stdout.flush()

    # -- run ----------------------------------------------------------------
    def job(script):
        py = run_python(script)
        probs = check_python(script, py)
        results = {}
        for a in allocators:
            if probs:
                results[a] = "python side failed (see above)"
                continue
            hl = run_cmd([cli, "script", "--allocator", a, script.path], cwd=script.cwd)
            results[a] = compare(script, py, hl)
        return py, probs, results

    order = sorted(range(len(scripts)), key=lambda i: -scripts[i].size)
    outcome = [None] * len(scripts)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futs = {pool.submit(job, scripts[i]): i for i in order}
        for fut in concurrent.futures.as_completed(futs):
            outcome[futs[fut]] = fut.result()

    # -- report -------------------------------------------------------------
    passed = failed = 0
    keep_dir = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR")
    status_counts = {}
    detailed = 0
    for script, (py, probs, results) in zip(scripts, outcome):
        status_counts[py.rc] = status_counts.get(py.rc, 0) + 1
        bad = bool(probs)
        if probs:
            print("FAIL %s (python side)" % script.path)
            for p in probs:
                print("    " + p)
        if args.self_check:
            passed += not probs
            failed += bool(probs)
        groups = {}                 # one report for allocators failing alike
        for a in allocators:
            r = results[a]
            if r is None:
                passed += 1
                continue
            failed += 1
            bad = True
            groups.setdefault(r, []).append(a)
        if groups and not probs:
            detailed += 1
        if groups and not probs and detailed > MAX_DETAILED:
            print("FAIL %s --allocator %s (details left out after %d scripts)"
                  % (script.path, ",".join(a for al in groups.values() for a in al), MAX_DETAILED))
        elif not probs:
            for r, allocs in groups.items():
                print("FAIL %s --allocator %s: %s" % (script.path, ",".join(allocs), r))
                print("    repeat: %s%s script --allocator %s %s ; %s %s"
                      % ("cd %s && " % script.cwd if script.cwd else "",
                         cli if script.cwd else cli_shown, allocs[0],
                         script.path, os.path.join(HERE, "heapscript_py.py"), script.path))
        if bad and script.regen:
            print("    regenerate: %s" % script.regen)
            if keep_dir:
                try:
                    shutil.copy(os.path.join(script.cwd or "", script.path), keep_dir)
                    print("    kept as test.outputs/%s (%s)"
                          % (os.path.basename(script.path), keep_dir))
                except OSError:
                    pass
    if cleanup and not failed:
        shutil.rmtree(cleanup, ignore_errors=True)
    elif cleanup:
        print("generated scripts kept in %s" % cleanup)
    secs = time.monotonic() - t0
    codes = ", ".join("exit %s: %d" % (k, v) for k, v in sorted(status_counts.items(), key=str))
    print("cpython side: %s; %.1f s" % (codes, secs))
    if args.self_check:
        print("self-check (python side only): %d scripts: %d passed, %d failed"
              % (len(scripts), passed, failed))
    else:
        print("%d scripts x %d allocators: %d passed, %d failed"
              % (len(scripts), len(allocators), passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
