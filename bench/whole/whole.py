#!/usr/bin/python3
"""whole.py: whole-program benchmarks -- real programs run under each
allocator, timed and measured from the outside, as mimalloc-bench does.

What it measures.  The suite and the collector benchmark (bench/suite,
bench/gc_benchmark) time the allocator's calls; here the allocator is
swapped under an unmodified program, and what changes is what a user would
see: the program's wall time, its CPU time, its peak resident set and its
page faults.  That includes everything the allocator does to the rest of
the program (cache locality of the blocks it hands out, page faults on fresh
memory, the memory it keeps), and dilutes its call cost by the program's own
work: a 10% difference here is a lot.  The method is mimalloc-bench's
(Leijen et al., github.com/daanx/mimalloc-bench, bench.sh): each run is
wrapped in GNU time, and the allocator is swapped with LD_PRELOAD.

    whole.py --preload-dir DIR [--allocators A,B] [--programs P,Q]
             [--repetitions N] [--scale X] [--timeout S] [--out FILE.json] [--quick]

The allocators (all by default, in heaplab's registry order):

    glibc        the program as is (Debian's glibc malloc, ptmalloc2)
    cpython      python programs only: python3 with its own default allocator,
                 pymalloc (obmalloc) over glibc, i.e. PYTHONMALLOC unset
    pymalloc, pymalloc-classic, seqfit-first, seqfit-next, seqfit-best,
    segregated-simple, segregated-fit, buddy, tlsf
                 heaplab's own: LD_PRELOAD=DIR/libhl_NAME.so (lib/preload/;
                 DIR is --preload-dir, e.g. `bazel info --config=opt
                 bazel-bin`/lib/preload after building
                 //lib/preload:preload_libraries)
    jemalloc, mimalloc, tcmalloc
                 the peers, from Debian's shared libraries: LD_PRELOAD of
                 libjemalloc.so.2, libmimalloc.so.2, libtcmalloc_minimal.so.4,
                 found with `ldconfig -p` or at /usr/lib/<multiarch>/ (a
                 missing one is an error naming it).  Preloaded, jemalloc's
                 initial-exec TLS is allocated at start-up, so it does not
                 need the static-TLS tunable that dlopen() needs
                 (lib/peers/peers.h).

Every python run but `cpython` sets PYTHONMALLOC=malloc, so that every
object allocation is a malloc() call that the preloaded library serves.

The programs (bench/whole/programs/, all by default): Debian's
/usr/bin/python3 running a standard-library workload each -- json_roundtrip,
regex_text, difflib_files, pickle_graph, gc_cycles, sqlite_queries (each
file's docstring says what it stresses) -- and `sort`, GNU sort (LC_ALL=C)
over a generated file of 1,000,000 x SCALE lines: a C program that makes
few, large allocations, the control where the allocator should hardly
matter.  A python program takes SCALE as its argument (1: about 1 s of CPU
under glibc) and prints one line, its digest: a hash of everything it
computed, which must be the same under every allocator.  sort's digest is
the SHA-256 of its output.  --programs also takes the path of a .py file
that follows the same protocol (SCALE argument, one line of output); its
name is the file's stem.

How a run is measured.  whole.py starts
    /usr/bin/time -o FILE -f '... %M %R %F' PROGRAM ARGS
in a new session, stdin /dev/null, stdout and stderr to files, and reaps it
with os.wait4:
    real_time    wall seconds from the spawn to the reaping (time.perf_counter)
    cpu_time     user_time + sys_time
    user_time, sys_time   os.wait4's rusage of the `time` process: its own
                 (about a millisecond) and that of the program it reaped
    peak_rss     GNU time's %M (KiB, reported in bytes): the program's
                 ru_maxrss
    minor_faults, major_faults   GNU time's %R and %F, the program's own
Why GNU time for peak RSS rather than os.wait4's ru_maxrss of a child of
whole.py: Linux folds the hiwater RSS of the memory image a process replaces
by exec() into its ru_maxrss, and a child of a Python process starts as a
copy (or, with posix_spawn, a borrower) of that process's whole heap, so
its ru_maxrss can never be lower than whole.py's own peak (~10-15 MB, as
much as a small python3 run).  GNU time is a 30-KB C program: the floor it
imposes is about 1 MB.  (The same holds for GNU time under mimalloc-bench.)

The environment of a run is whole.py's, minus everything that would change
an allocator or the interpreter behind the benchmark's back -- LD_*,
PYTHON*, GLIBC_TUNABLES, MALLOC_*, MIMALLOC_*, TCMALLOC_*, JEMALLOC_*,
HL_*, HEAPLAB_* -- plus LC_ALL=C, PYTHONHASHSEED=0 (so that str hashing,
hence dict and set layouts, repeat from run to run), and the allocator's
PYTHONMALLOC and LD_PRELOAD.  Python runs with -s -B (no user site
directory, no .pyc writes).

Order.  First, for each allocator, one python3 run checks that malloc in
the process really is the allocator's (dladdr of malloc names the library,
or libc.so.6 for glibc and cpython): a library that ld.so could not preload
would otherwise be ignored with a warning and the run would silently measure
glibc.  Then one untimed warm-up run of each program under glibc gives the
reference digest (and warms the page cache).  Then the timed runs are
interleaved, repetition by repetition: for each repetition, each program,
each allocator (mimalloc-bench's -r), so that drift in the machine's state
spreads over every allocator instead of biasing one.

Failures.  A run that exits non-zero, dies of a signal, prints something
other than one digest line, prints a digest different from glibc's
reference, shows ld.so's "cannot be preloaded" warning, or outlives
--timeout (default 600 s; it is killed) is recorded with Google Benchmark's
error_occurred / error_message, left out of the aggregates, and makes
whole.py exit 1 at the end; after a timeout the remaining repetitions of
that program and allocator are not run (recorded as errors too).  Bad
options (unknown allocator or program, no --preload-dir, a missing
libhl_NAME.so, a scale that is not a positive number...) exit 2 before
anything runs; a missing peer library, python3 or GNU time, or a failed
preload check, exit 1 before anything runs.

Output: Google Benchmark 1.7.1's JSON (to --out FILE, else stdout), so that
compare.py and the report scripts read it as they read
the suite's (bench/suite): a "context" (date, host_name, num_cpus,
mhz_per_cpu, caches, load_avg..., plus "heaplab_whole": "1" and the run's
settings and library paths as heaplab_* strings) and "benchmarks": for each
name whole/PROGRAM/ALLOCATOR, its repetitions (run_type "iteration",
iterations 1, time_unit "s", the counters above, the digest as "label"),
then, given two or more successful repetitions, the aggregates mean, median,
stddev and cv, computed as Google Benchmark does (sample standard deviation;
cv = stddev / mean, a fraction, with aggregate_unit "percentage"), over the
successful repetitions.  Progress lines, and a summary table at the end, go
to stderr.

How to read the numbers.  Medians of real_time compare speed; cv says how
far to trust them (this machine is shared: a few percent is noise).
peak_rss includes the interpreter's own ~9 MB of code and data, the same
under every allocator, so differences matter more than ratios.  The
sequential fits search one list of every free block on each malloc, by
design: on the python programs they are 2 to 180 times slower than glibc
at scale 1 (seqfit-best: about 3 minutes per run of regex_text or
pickle_graph; all 14 allocators x 2 repetitions took 25 minutes, 22 of them
in the sequential fits), which is the point Wilson et al. (IWMM 1995) make
about unindexed fits -- use --quick or a smaller --scale to include them
cheaply, or leave them out with --allocators.

compare.py (`compare.py -a filters FILE.json /glibc /mimalloc`) compares
two allocators name by name with its U test; its absolute-time columns print
whole seconds (0 for a sub-second run) -- read its relative columns.

--repetitions defaults to 3.  --quick: --scale 0.1 and --repetitions 2
unless given, a check of all 14 allocators x 7 programs in under a minute
(45 s on the 2-CPU development VM).

Exit status: 0 every run succeeded; 1 a run failed or the environment is
missing something; 2 a bad option.
"""
import argparse
import datetime
import hashlib
import json
import math
import os
import random
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM_DIR = os.path.join(HERE, "programs")
PYTHON = "/usr/bin/python3"
GNU_TIME = "/usr/bin/time"
SORT = "/usr/bin/sort"

# heaplab's registry order (`heaplab list`).
ALLOCATORS = ["pymalloc", "pymalloc-classic", "glibc", "cpython", "seqfit-first",
              "seqfit-next", "seqfit-best", "segregated-simple", "segregated-fit", "buddy",
              "tlsf", "jemalloc", "mimalloc", "tcmalloc"]
HEAPLAB_OWN = {"pymalloc", "pymalloc-classic", "seqfit-first", "seqfit-next", "seqfit-best",
               "segregated-simple", "segregated-fit", "buddy", "tlsf"}
PEER_SONAMES = {"jemalloc": ("libjemalloc.so.2", "libjemalloc2"),
                "mimalloc": ("libmimalloc.so.2", "libmimalloc2.0"),
                "tcmalloc": ("libtcmalloc_minimal.so.4", "libgoogle-perftools4")}

PYTHON_PROGRAMS = ["json_roundtrip", "regex_text", "difflib_files", "pickle_graph",
                   "gc_cycles", "sqlite_queries"]
PROGRAMS = PYTHON_PROGRAMS + ["sort"]

QUICK_SCALE = 0.1
QUICK_REPETITIONS = 2
SORT_LINES = 1000000           # at scale 1
TIME_MARK = "heaplab-whole-time:"
STRIPPED_PREFIXES = ("LD_", "PYTHON", "MALLOC_", "MIMALLOC_", "TCMALLOC_", "JEMALLOC",
                     "HL_", "HEAPLAB_")
STRIPPED_NAMES = {"GLIBC_TUNABLES", "MALLOC_CONF", "_RJEM_MALLOC_CONF"}
COUNTERS = ("major_faults", "minor_faults", "peak_rss", "sys_time", "user_time")


class SetupError(Exception):
    """A problem found before any run: exit status `status`."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


def progress(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Options

def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="whole.py",
        description="Whole-program benchmarks: real programs under each allocator "
                    "(wall time, CPU time, peak RSS, page faults).",
        epilog="allocators: %s; programs: %s (or paths of .py programs)" % (
            ",".join(ALLOCATORS), ",".join(PROGRAMS)))
    p.add_argument("--preload-dir", metavar="DIR",
                   help="the directory of heaplab's libhl_NAME.so (needed for its own allocators)")
    p.add_argument("--allocators", metavar="A,B", help="allocators to run (default: all)")
    p.add_argument("--programs", metavar="P,Q", help="programs to run (default: all)")
    p.add_argument("--repetitions", metavar="N", help="timed runs per program and allocator "
                   "(default 3; --quick: %d)" % QUICK_REPETITIONS)
    p.add_argument("--scale", metavar="X", help="the programs' scale (default 1; --quick: %g)"
                   % QUICK_SCALE)
    p.add_argument("--timeout", metavar="S", default="600",
                   help="seconds before a run is killed and recorded as failed (default 600)")
    p.add_argument("--out", metavar="FILE.json", help="write the JSON here (default: stdout)")
    p.add_argument("--quick", action="store_true",
                   help="--scale %g --repetitions %d unless given" % (QUICK_SCALE,
                                                                     QUICK_REPETITIONS))
    args = p.parse_args(argv)

    def number(opt, text, kind):
        try:
            v = kind(text)
        except ValueError:
            p.error("%s: '%s' is not %s" % (opt, text,
                                              "an integer" if kind is int else "a number"))
        if not (v > 0 and math.isfinite(v)):
            p.error("%s: '%s' must be a positive finite number" % (opt, text))
        return v

    args.repetitions = number("--repetitions", args.repetitions, int) \
        if args.repetitions is not None else (QUICK_REPETITIONS if args.quick else 3)
    args.scale = number("--scale", args.scale, float) \
        if args.scale is not None else (QUICK_SCALE if args.quick else 1.0)
    args.timeout = number("--timeout", args.timeout, float)

    def names(opt, text, known, paths_ok):
        if text is None:
            return list(known)
        out = []
        for item in text.split(","):
            item = item.strip()
            if not item:
                p.error("%s: empty name in '%s'" % (opt, text))
            if paths_ok and item.endswith(".py"):
                if not os.path.isfile(item):
                    p.error("%s: no such program file '%s'" % (opt, item))
                item = os.path.abspath(item)
            elif item not in known:
                p.error("%s: unknown name '%s' (known: %s)" % (opt, item, ", ".join(known)))
            if item in out:
                p.error("%s: '%s' given twice" % (opt, item))
            out.append(item)
        return out

    args.allocators = names("--allocators", args.allocators, ALLOCATORS, False)
    args.programs = names("--programs", args.programs, PROGRAMS, True)
    stems = [program_name(x) for x in args.programs]
    for s in stems:
        if stems.count(s) > 1:
            p.error("--programs: two programs named '%s'" % s)

    if not any(is_python(p_) or a != "cpython" for p_ in args.programs
               for a in args.allocators):
        p.error("nothing to run: allocator cpython runs only the python programs")
    if any(a in HEAPLAB_OWN for a in args.allocators):
        if not args.preload_dir:
            p.error("--preload-dir DIR is needed for heaplab's own allocators (%s); build "
                    "them with `bazel build --config=opt //lib/preload:preload_libraries`"
                    % ", ".join(a for a in args.allocators if a in HEAPLAB_OWN))
        if not os.path.isdir(args.preload_dir):
            p.error("--preload-dir: '%s' is not a directory" % args.preload_dir)
        for a in args.allocators:
            lib = os.path.join(args.preload_dir, "libhl_%s.so" % a)
            if a in HEAPLAB_OWN and not os.path.isfile(lib):
                p.error("--preload-dir: no %s for allocator '%s'" % (lib, a))
    if args.out:
        parent = os.path.dirname(os.path.abspath(args.out))
        if not os.path.isdir(parent):
            p.error("--out: directory '%s' does not exist" % parent)
    return args


def program_name(item):
    """A program's name: its own, or a .py path's stem."""
    return os.path.splitext(os.path.basename(item))[0] if item.endswith(".py") else item


def is_python(item):
    return item in PYTHON_PROGRAMS or item.endswith(".py")


# --------------------------------------------------------------------------
# The environment: libraries, tools

def find_peer(name):
    """The path of a peer's shared library, or SetupError naming it."""
    soname, package = PEER_SONAMES[name]
    ldconfig = shutil.which("ldconfig", path="/sbin:/usr/sbin:" + os.environ.get("PATH", ""))
    tried = []
    if ldconfig:
        try:
            out = subprocess.run([ldconfig, "-p"], capture_output=True, text=True,
                                 check=False).stdout
        except OSError as e:
            out = ""
            tried.append("%s -p failed: %s" % (ldconfig, e))
        for line in out.splitlines():
            left, _, path = line.partition("=>")
            if left.split() and left.split()[0] == soname and "x86-64" in left \
                    and os.path.isfile(path.strip()):
                return os.path.realpath(path.strip())
        tried.append("`%s -p` lists no x86-64 %s" % (ldconfig, soname))
    else:
        tried.append("no ldconfig in /sbin, /usr/sbin or $PATH")
    multiarch = sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu"
    fixed = "/usr/lib/%s/%s" % (multiarch, soname)
    if os.path.isfile(fixed):
        return os.path.realpath(fixed)
    tried.append("%s does not exist" % fixed)
    raise SetupError("allocator '%s': its library %s is missing (%s); install Debian's %s"
                     % (name, soname, "; ".join(tried), package), 1)


def library_of(alloc, preload_dir):
    """The LD_PRELOAD library of an allocator, or None (glibc, cpython)."""
    if alloc in HEAPLAB_OWN:
        return os.path.realpath(os.path.join(preload_dir, "libhl_%s.so" % alloc))
    if alloc in PEER_SONAMES:
        return find_peer(alloc)
    return None


def clean_env(tmpdir):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(STRIPPED_PREFIXES) and k not in STRIPPED_NAMES}
    env["LC_ALL"] = "C"
    env["PYTHONHASHSEED"] = "0"
    env["TMPDIR"] = tmpdir
    return env


def run_env(base, alloc, lib, python):
    env = dict(base)
    if python and alloc != "cpython":
        env["PYTHONMALLOC"] = "malloc"
    if lib:
        env["LD_PRELOAD"] = lib
    return env


def preflight(alloc, lib, base_env):
    """Checks that malloc in a python3 run under `alloc` is the allocator's:
    ld.so's own account (LD_DEBUG=bindings) of where it bound the symbol."""
    env = run_env(base_env, alloc, lib, True)
    env["LD_DEBUG"] = "bindings"
    try:
        r = subprocess.run([PYTHON, "-s", "-B", "-c", "pass"], env=env, capture_output=True,
                           text=True, stdin=subprocess.DEVNULL, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        raise SetupError("allocator '%s': the preload check (python3 -c pass) took over "
                         "60 s" % alloc, 1) from None
    if r.returncode != 0:
        raise SetupError("allocator '%s': the preload check (python3 -c pass) exited %d: %s"
                         % (alloc, r.returncode, last_line(r.stderr)), 1)
    if "cannot be preloaded" in r.stderr:
        raise SetupError("allocator '%s': %s" % (alloc, [
            x.strip() for x in r.stderr.splitlines() if "cannot be preloaded" in x][0]), 1)
    # "binding file A [0] to B [0]: normal symbol `malloc'": the executable's
    # own canonical PLT entry aside, every B is the object that defines malloc.
    exe = os.path.realpath(PYTHON)
    providers = set()
    for line in r.stderr.splitlines():
        if "symbol `malloc'" in line and " to " in line:
            target = line.split(" to ", 1)[1].split(" [", 1)[0].strip()
            if os.path.realpath(target) != exe:
                providers.add(os.path.realpath(target))
    want = lib or "the C library (libc.so.6)"
    ok = providers == {lib} if lib else (
        len(providers) == 1 and os.path.basename(next(iter(providers))).startswith("libc.so"))
    if not ok:
        raise SetupError("allocator '%s': ld.so bound malloc to %s, not %s" % (
            alloc, ", ".join(sorted(providers)) or "nothing it reported", want), 1)


def last_line(text):
    lines = [x for x in text.strip().splitlines() if x.strip()]
    return lines[-1].strip()[:300] if lines else ""


def make_sort_input(path, scale):
    """SORT_LINES x scale lines of words and numbers, the same for a scale."""
    rng = random.Random(0x534F5254)
    words = ("arena pool block free size class fit split coalesce buddy tag heap page "
             "object cycle young old").split()
    n = max(1000, int(SORT_LINES * scale))
    with open(path, "w") as f:
        for start in range(0, n, 10000):
            f.write("".join("%s %08d %s %d\n" % (rng.choice(words), rng.randrange(10 ** 8),
                                                 rng.choice(words), i)
                            for i in range(start, min(n, start + 10000))))


# --------------------------------------------------------------------------
# One run

def command(item, scale, sort_input):
    if item == "sort":
        return [SORT, sort_input]
    script = item if item.endswith(".py") else os.path.join(PROGRAM_DIR, item + ".py")
    return [PYTHON, "-s", "-B", script, repr(scale)]


def run_once(argv, env, tmpdir, timeout):
    """Runs argv under GNU time; a dict of what was measured and seen."""
    out_path = os.path.join(tmpdir, "run.out")
    err_path = os.path.join(tmpdir, "run.err")
    time_path = os.path.join(tmpdir, "run.time")
    for path in (out_path, err_path, time_path):
        if os.path.exists(path):
            os.unlink(path)
    full = [GNU_TIME, "-o", time_path, "-f", TIME_MARK + " %M %R %F"] + argv
    actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
               (os.POSIX_SPAWN_OPEN, 1, out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
               (os.POSIX_SPAWN_OPEN, 2, err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)]
    t0 = time.perf_counter()
    pid = os.posix_spawn(GNU_TIME, full, env, file_actions=actions, setsid=True)
    pidfd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([pidfd], [], [], timeout)
    except BaseException:                 # interrupted: the run goes too
        os.killpg(pid, signal.SIGKILL)    # `time` leads the session's only group
        os.wait4(pid, 0)
        raise
    finally:
        os.close(pidfd)
    timed_out = not ready
    if timed_out:
        os.killpg(pid, signal.SIGKILL)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    r = {"real_time": wall, "user_time": ru.ru_utime, "sys_time": ru.ru_stime,
         "peak_rss": 0, "minor_faults": 0, "major_faults": 0, "error": None, "digest": None}
    with open(err_path, errors="replace") as f:
        err = f.read()
    timing = ""
    if os.path.exists(time_path):
        with open(time_path, errors="replace") as f:
            timing = f.read()
    if timed_out:
        r["error"] = "timed out after %g s (killed)" % timeout
        return r
    fields = None
    for line in timing.splitlines():
        if line.startswith(TIME_MARK):
            fields = line[len(TIME_MARK):].split()
    if fields and len(fields) == 3 and all(x.isdigit() for x in fields):
        r["peak_rss"] = int(fields[0]) * 1024
        r["minor_faults"] = int(fields[1])
        r["major_faults"] = int(fields[2])
    code = os.waitstatus_to_exitcode(status)
    if code != 0 or fields is None:
        said = [x for x in timing.splitlines() if x.startswith("Command ")]
        what = said[0] if said else ("exit status %d" % code if code else
                                     "GNU time reported nothing")
        detail = last_line(err)
        r["error"] = "%s%s" % (what, ": " + detail if detail else "")
        return r
    if "cannot be preloaded" in err:
        r["error"] = "ld.so: " + [x for x in err.splitlines() if "cannot be preloaded" in x][0]
        return r
    r["digest"], r["error"] = read_digest(argv, out_path)
    return r


def read_digest(argv, out_path):
    """(digest, None) or (None, error): one line for python programs, the
    output's SHA-256 for sort."""
    if argv[0] == SORT:
        h = hashlib.sha256()
        with open(out_path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return "sha256 " + h.hexdigest()[:16], None
    with open(out_path, "rb") as f:
        data = f.read(4096)
    lines = data.decode(errors="replace").splitlines()
    if len(lines) != 1 or not lines[0].strip() or len(data) >= 4096:
        return None, "printed %d lines, not one digest line: %r" % (len(lines), data[:120])
    return lines[0].strip(), None


# --------------------------------------------------------------------------
# Google Benchmark's JSON

def context(args, libs):
    ctx = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
           "host_name": socket.gethostname(),
           "executable": os.path.abspath(__file__),
           "num_cpus": os.cpu_count() or 0}
    try:
        with open("/proc/cpuinfo") as f:
            mhz = [line.split(":")[1] for line in f if line.startswith("cpu MHz")]
        ctx["mhz_per_cpu"] = int(float(mhz[0])) if mhz else 0
    except OSError:
        ctx["mhz_per_cpu"] = 0
    govs = []
    for cpu in range(os.cpu_count() or 0):
        try:
            with open("/sys/devices/system/cpu/cpu%d/cpufreq/scaling_governor" % cpu) as f:
                govs.append(f.read().strip())
        except OSError:
            pass
    ctx["cpu_scaling_enabled"] = any(g != "performance" for g in govs)
    caches = []
    base = "/sys/devices/system/cpu/cpu0/cache"
    for idx in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        def rd(name):
            with open(os.path.join(base, idx, name)) as f:
                return f.read().strip()
        try:
            size = rd("size")
            mult = {"K": 1024, "M": 1024 * 1024}.get(size[-1:], 1)
            shared = 0
            for part in rd("shared_cpu_list").split(","):
                lo, _, hi = part.partition("-")
                shared += int(hi or lo) - int(lo) + 1
            caches.append({"type": rd("type"), "level": int(rd("level")),
                           "size": int(size.rstrip("KM")) * mult, "num_sharing": shared})
        except (OSError, ValueError):
            continue
    ctx["caches"] = caches
    ctx["load_avg"] = list(os.getloadavg())
    ctx["heaplab_whole"] = "1"
    ctx["heaplab_scale"] = repr(args.scale)
    ctx["heaplab_repetitions"] = str(args.repetitions)
    ctx["heaplab_programs"] = ",".join(program_name(x) for x in args.programs)
    ctx["heaplab_allocators"] = ",".join(args.allocators)
    ctx["heaplab_python"] = subprocess.run(
        [PYTHON, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
        text=True, check=False).stdout.strip()
    ctx["heaplab_measure"] = ("real_time: wall clock around the run; user_time, sys_time: "
                              "os.wait4 of GNU time; peak_rss, minor_faults, major_faults: "
                              "GNU time %M %R %F (the program's own)")
    if args.preload_dir:
        ctx["heaplab_preload_dir"] = os.path.realpath(args.preload_dir)
    for alloc, lib in libs.items():
        if lib:
            ctx["heaplab_lib_" + alloc] = lib
    return ctx


def iteration_entry(name, index, reps, i, r):
    e = {"name": name, "family_index": index, "per_family_instance_index": 0,
         "run_name": name, "run_type": "iteration", "repetitions": reps,
         "repetition_index": i, "threads": 1}
    if r["error"]:
        e["error_occurred"] = True
        e["error_message"] = r["error"]
    e.update({"iterations": 1, "real_time": r["real_time"],
              "cpu_time": r["user_time"] + r["sys_time"], "time_unit": "s"})
    for c in COUNTERS:
        e[c] = float(r[c])
    if r["digest"]:
        e["label"] = r["digest"]
    return e


def _stddev(v):
    return statistics.stdev(v) if len(v) > 1 else 0.0


def _cv(v):
    m = statistics.fmean(v)
    s = _stddev(v)
    if m == 0:
        return float("nan") if s == 0 else float("inf")
    return s / m


AGGREGATES = (("mean", "time", statistics.fmean), ("median", "time", statistics.median),
              ("stddev", "time", _stddev), ("cv", "percentage", _cv))


def aggregate_entries(name, index, reps, runs):
    """Google Benchmark's aggregates, over the successful runs (none if fewer
    than two)."""
    good = [r for r in runs if not r["error"]]
    if len(good) < 2:
        return []
    labels = {r["digest"] for r in good}
    out = []
    for agg, unit, fn in AGGREGATES:
        e = {"name": "%s_%s" % (name, agg), "family_index": index,
             "per_family_instance_index": 0, "run_name": name, "run_type": "aggregate",
             "repetitions": reps, "threads": 1, "aggregate_name": agg,
             "aggregate_unit": unit, "iterations": len(runs),
             "real_time": fn([r["real_time"] for r in good]),
             "cpu_time": fn([r["user_time"] + r["sys_time"] for r in good]),
             "time_unit": "s"}
        for c in COUNTERS:
            e[c] = fn([float(r[c]) for r in good])
        if len(labels) == 1:
            e["label"] = next(iter(labels))
        out.append(e)
    return out


# --------------------------------------------------------------------------

def mib(b):
    return b / (1024.0 * 1024.0)


def summary(pairs, results):
    """A table on stderr: medians of the successful runs, relative to glibc."""
    progress("\n%-36s %9s %9s %9s %8s" % ("medians: PROGRAM/ALLOCATOR", "real s", "cpu s",
                                           "peak MiB", "x glibc"))
    for prog, alloc in pairs:
        good = [r for r in results[(prog, alloc)] if not r["error"]]
        name = "%s/%s" % (program_name(prog), alloc)
        if not good:
            progress("%-36s %9s" % (name, "failed"))
            continue
        real = statistics.median(r["real_time"] for r in good)
        ref = [r["real_time"] for r in results.get((prog, "glibc"), []) if not r["error"]]
        rel = "%8.2f" % (real / statistics.median(ref)) if ref else "%8s" % "-"
        progress("%-36s %9.3f %9.3f %9.1f %s" % (
            name, real, statistics.median(r["user_time"] + r["sys_time"] for r in good),
            mib(statistics.median(r["peak_rss"] for r in good)), rel))


def main(argv):
    args = parse_args(argv)
    started = time.perf_counter()
    for tool, why in ((PYTHON, "Debian's python3"), (GNU_TIME, "GNU time, Debian package "
                                                     "'time': it measures peak RSS")):
        if not os.access(tool, os.X_OK):
            raise SetupError("%s (%s) is missing" % (tool, why), 1)
    if "sort" in args.programs and not os.access(SORT, os.X_OK):
        raise SetupError("%s (GNU coreutils) is missing, needed by the sort program" % SORT, 1)

    tmpdir = tempfile.mkdtemp(prefix="heaplab-whole-")
    try:
        return run_all(args, tmpdir, started)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def run_all(args, tmpdir, started):
    libs = {a: library_of(a, args.preload_dir) for a in args.allocators}
    base_env = clean_env(tmpdir)
    for alloc in args.allocators:
        preflight(alloc, libs[alloc], base_env)
    progress("whole.py: malloc checked in python3 under %d allocator(s)" % len(libs))

    sort_input = None
    if "sort" in args.programs:
        sort_input = os.path.join(tmpdir, "sort.in")
        make_sort_input(sort_input, args.scale)

    pairs = [(p, a) for p in args.programs for a in args.allocators
             if is_python(p) or a != "cpython"]

    # Reference digests: one untimed run of each program under glibc.
    reference = {}
    for prog in args.programs:
        r = run_once(command(prog, args.scale, sort_input),
                     run_env(base_env, "glibc", None, is_python(prog)), tmpdir, args.timeout)
        if r["error"]:
            reference[prog] = (None, r["error"])
            progress("whole.py: %s: the reference run under glibc failed: %s"
                     % (program_name(prog), r["error"]))
        else:
            reference[prog] = (r["digest"], None)
            progress("whole.py: %s: reference digest '%s' (glibc, %.2f s, untimed)"
                     % (program_name(prog), r["digest"], r["real_time"]))

    results = {pair: [] for pair in pairs}
    total = len(pairs) * args.repetitions
    done = 0
    for rep in range(args.repetitions):
        for prog, alloc in pairs:
            done += 1
            name = "whole/%s/%s" % (program_name(prog), alloc)
            ref_digest, ref_error = reference[prog]
            earlier = [r for r in results[(prog, alloc)] if r["error"] and
                       r["error"].startswith("timed out")]
            if ref_error or earlier:
                why = ("not run: the reference run under glibc failed" if ref_error else
                       "not run: repetition %d timed out" % results[(prog, alloc)].index(
                           earlier[0]))
                results[(prog, alloc)].append(
                    {"real_time": 0.0, "user_time": 0.0, "sys_time": 0.0, "peak_rss": 0,
                     "minor_faults": 0, "major_faults": 0, "error": why, "digest": None})
                progress("[%d/%d] %s #%d: %s" % (done, total, name, rep, why))
                continue
            r = run_once(command(prog, args.scale, sort_input),
                         run_env(base_env, alloc, libs[alloc], is_python(prog)),
                         tmpdir, args.timeout)
            if not r["error"] and r["digest"] != ref_digest:
                r["error"] = "digest '%s' differs from glibc's '%s'" % (r["digest"], ref_digest)
            results[(prog, alloc)].append(r)
            if r["error"]:
                progress("[%d/%d] %s #%d: FAILED: %s" % (done, total, name, rep, r["error"]))
            else:
                progress("[%d/%d] %s #%d: %.3f s real, %.3f s cpu, %.1f MiB peak, %d minor "
                         "faults" % (done, total, name, rep, r["real_time"],
                                     r["user_time"] + r["sys_time"], mib(r["peak_rss"]),
                                     r["minor_faults"]))

    benchmarks = []
    for index, (prog, alloc) in enumerate(pairs):
        name = "whole/%s/%s" % (program_name(prog), alloc)
        runs = results[(prog, alloc)]
        benchmarks += [iteration_entry(name, index, args.repetitions, i, r)
                       for i, r in enumerate(runs)]
        benchmarks += aggregate_entries(name, index, args.repetitions, runs)
    doc = {"context": context(args, libs), "benchmarks": benchmarks}

    text = json.dumps(doc, indent=2) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)

    summary(pairs, results)
    failed = sum(1 for runs in results.values() for r in runs if r["error"])
    progress("whole.py: %d run(s) of %d program(s) x %d allocator(s) in %.1f s%s; %d failed"
             % (total, len(args.programs), len(args.allocators),
                time.perf_counter() - started, ", JSON in " + args.out if args.out else "",
                failed))
    return 1 if failed else 0


def _terminated(signum, frame):
    raise SystemExit(128 + signum)      # unwinds: the current run is killed, tmp removed


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminated)
    try:
        sys.exit(main(sys.argv[1:]))
    except SetupError as e:
        print("whole.py: %s" % e, file=sys.stderr)
        sys.exit(e.status)
    except KeyboardInterrupt:
        sys.exit(130)
