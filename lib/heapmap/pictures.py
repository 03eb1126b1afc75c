#!/usr/bin/python3
"""pictures.py: `heaplab map`, `heaplab footprint`, `heaplab generations` and
the gallery of `heaplab run`, over heaplab-cli and the draw_*.py scripts.

    pictures.py --cli HEAPLAB_CLI map --allocator NAME INPUT [--at STEP,...]
                [--animate [--frames N]] [--view auto|arenas|strip]
                [--arenas mmap|fixed] -o OUT
    pictures.py --cli HEAPLAB_CLI footprint TRACE [--allocators A,B,...|all]
                [--points N] -o OUT
    pictures.py --cli HEAPLAB_CLI generations SCRIPT [--allocator NAME] -o OUT
    pictures.py --cli HEAPLAB_CLI gallery --results DIR

Each command keeps the data it drew beside the picture (OUT's name with
.json, or OUT-data/ for footprint), so a picture can be redrawn or checked.
`gallery` draws the pictures of results/REPORT.md into DIR/pictures and
writes DIR/pictures/gallery.json, which bench/tools/report.py turns into the
report's "Pictures" section: pymalloc's arenas at the peak of a bundled
trace (and at its end, and an animation over the whole run), glibc's strip
at the same peak, the footprint of every allocator over that trace, and the
generations over the bundled GC workload.

Exit status: 0; 1 a step failed; 2 bad options or input (the message names
it).  heaplab-cli's own messages go through.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import picture  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DRAW_MAP = os.path.join(HERE, "draw_map.py")
DRAW_FOOTPRINT = os.path.join(HERE, "draw_footprint.py")
DRAW_GENERATIONS = os.path.join(HERE, "draw_generations.py")
ANIMATE_FRAMES = 48

# The gallery's inputs.
GALLERY_TRACE = "corpus/traces/pydoc.mtrace.gz"
GALLERY_SCRIPT = "corpus/scripts/generations.heap"
GALLERY_FRAMES = 24
GALLERY_POINTS = 1000


class Failed(Exception):
    def __init__(self, msg, status=1):
        Exception.__init__(self, msg)
        self.status = status


def arenas_kind(allocator, asked):
    """pymalloc* and cpython get the fixed arena source unless told: the
    same addresses every run, so the same picture."""
    if asked:
        return asked
    return "fixed" if allocator.startswith("pymalloc") or allocator == "cpython" else "mmap"


def run(cmd, stdout=None):
    """Run cmd; its stderr goes through.  Failed with its status on failure."""
    print("pictures: %s" % " ".join(cmd), file=sys.stderr)
    r = subprocess.run(cmd, stdout=stdout)
    if r.returncode != 0:
        raise Failed("%s exited with status %d" % (os.path.basename(cmd[0]), r.returncode),
                     2 if r.returncode == 2 else 1)


def data_name(out, suffix):
    return os.path.splitext(out)[0] + suffix


def check_out(out, allow_gif=False):
    ext = os.path.splitext(out)[1].lower()
    if ext not in picture.FORMATS + ((".gif",) if allow_gif else ()):
        raise Failed("-o %s: the picture's name must end in .png or .svg%s"
                     % (out, " (or .gif with --animate)" if allow_gif else ""), 2)
    d = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(d):
        raise Failed("-o %s: directory %s does not exist" % (out, d), 2)


def do_map(cli, allocator, inp, out, at=None, animate=False, frames=None, view="auto",
           arenas=None):
    if os.path.splitext(out)[1].lower() == ".gif" and not animate:
        raise Failed("-o %s: a .gif is an animation: add --animate" % out, 2)
    check_out(out, allow_gif=animate)
    if animate and at:
        raise Failed("--animate draws the whole run: it takes --frames, not --at", 2)
    js = data_name(out, ".json")
    cmd = [cli, "map", "--allocator", allocator, "--arenas", arenas_kind(allocator, arenas),
           "--json", js]
    if animate:
        cmd += ["--frames", str(frames or ANIMATE_FRAMES)]
    elif at:
        cmd += ["--at", at]
    run(cmd + ["--", inp])
    run([sys.executable, DRAW_MAP, js, "-o", out, "--view", view])
    return js


def do_footprint(cli, trace, out, allocators, points=None):
    check_out(out)
    d = data_name(out, "-data")
    os.makedirs(d, exist_ok=True)
    tsvs = []
    for a in allocators:
        tsv = os.path.join(d, "%s.tsv" % a)
        cmd = [cli, "footprint", "--allocator", a, "--arenas", arenas_kind(a, None)]
        if points:
            cmd += ["--points", str(points)]
        with open(tsv, "w") as f:
            run(cmd + ["--", trace], stdout=f)
        tsvs.append(tsv)
    run([sys.executable, DRAW_FOOTPRINT] + tsvs + ["-o", out])
    return d


def do_generations(cli, script, out, allocator="pymalloc"):
    check_out(out)
    js = data_name(out, ".json")
    run([cli, "generations", "--allocator", allocator, "--json", js, "--", script])
    run([sys.executable, DRAW_GENERATIONS, js, "-o", out])
    return js


def registered(cli):
    r = subprocess.run([cli, "list"], stdout=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise Failed("heaplab-cli list failed")
    names = [line.split()[0] for line in r.stdout.splitlines() if line.strip()]
    if not names:
        raise Failed("heaplab-cli list printed no allocator")
    return names


def allocator_list(cli, spec):
    names = registered(cli)
    if spec in (None, "all"):
        return names
    want = [a for a in spec.split(",") if a]
    bad = [a for a in want if a not in names]
    if bad or not want:
        raise Failed("--allocators %s: unknown allocator%s %s (see heaplab list)"
                     % (spec, "s" if len(bad) > 1 else "", ", ".join(bad) or "''"), 2)
    return want


def peak_step(js):
    with open(js) as f:
        doc = json.load(f)
    return doc["peak_step"], doc["steps"]


def do_gallery(cli, results):
    """Every picture of the report, and gallery.json describing them."""
    pics = os.path.join(results, "pictures")
    os.makedirs(pics, exist_ok=True)
    trace = os.path.join(ROOT, GALLERY_TRACE)
    tname = os.path.basename(GALLERY_TRACE).split(".")[0]
    items, failures = [], []

    def item(name, what, caption, cmd, fn):
        out = os.path.join(pics, name)
        try:
            fn(out)
            items.append({"file": name, "title": what, "caption": caption, "command": cmd})
        except Failed as e:
            failures.append("%s: %s" % (name, e))
            print("pictures: gallery: %s: %s" % (name, e), file=sys.stderr)

    item("map_pymalloc_%s_peak.png" % tname,
         "pymalloc's arenas at the peak of %s" % GALLERY_TRACE,
         "Every arena as a row of its 64 pools, coloured by block size and paler the "
         "emptier; grey pools are empty (on freepools), near-white ones not yet carved.",
         "./heaplab map --allocator pymalloc --at peak %s -o map.png" % GALLERY_TRACE,
         lambda out: do_map(cli, "pymalloc", trace, out, at="peak"))
    item("map_pymalloc_%s_end.png" % tname,
         "pymalloc's arenas at the end of %s" % GALLERY_TRACE,
         "The same heap once the program has freed almost everything: the arenas a few "
         "live blocks keep from going back to the system.",
         "./heaplab map --allocator pymalloc --at end %s -o map.png" % GALLERY_TRACE,
         lambda out: do_map(cli, "pymalloc", trace, out, at="end"))
    def animation(out):
        # Its snapshots (a strip per frame) and frames are megabytes: the
        # GIF alone is kept; the command redraws the rest.
        js = do_map(cli, "pymalloc", trace, out, animate=True, frames=GALLERY_FRAMES)
        os.remove(js)
        shutil.rmtree(data_name(out, "-frames"), ignore_errors=True)

    item("map_pymalloc_%s.gif" % tname,
         "pymalloc's arenas over the whole of %s (animation, %d frames)"
         % (GALLERY_TRACE, GALLERY_FRAMES),
         "Frames evenly spaced over the trace's operations: the arenas fill, fragment "
         "and drain.",
         "./heaplab map --allocator pymalloc --animate --frames %d %s -o map.gif"
         % (GALLERY_FRAMES, GALLERY_TRACE),
         animation)
    item("map_glibc_%s_peak.png" % tname,
         "glibc's heap at the peak of %s, in address order" % GALLERY_TRACE,
         "Every byte of glibc's main arena, left to right and down: live blocks dark "
         "blue, free chunks yellow, chunks in use to glibc but not the program's (tcache, "
         "fastbins, the process's own) orange; each bin mixes the colours of its bytes.",
         "./heaplab map --allocator glibc --at peak %s -o strip.png" % GALLERY_TRACE,
         lambda out: do_map(cli, "glibc", trace, out, at="peak"))
    item("map_seqfit-next_%s_peak.png" % tname,
         "seqfit-next's heap at the peak of %s" % GALLERY_TRACE,
         "Next fit scatters blocks through its chunks (Wilson et al.): compare the free "
         "(yellow) spread with glibc's.",
         "./heaplab map --allocator seqfit-next --at peak %s -o strip.png" % GALLERY_TRACE,
         lambda out: do_map(cli, "seqfit-next", trace, out, at="peak"))
    item("footprint_%s.png" % tname,
         "Memory over time: every allocator on %s" % GALLERY_TRACE,
         "Each allocator's footprint (bytes held from the system) against the operation "
         "count, with the program's live bytes in black.",
         "./heaplab footprint --points %d %s -o footprint.png" % (GALLERY_POINTS, GALLERY_TRACE),
         lambda out: do_footprint(cli, trace, out, registered(cli), GALLERY_POINTS))
    item("generations.png",
         "The generations over %s" % GALLERY_SCRIPT,
         "The size of each generation after every statement, each collection marked by "
         "its generation with what it collected, and the objects alive.",
         "./heaplab generations %s -o generations.png" % GALLERY_SCRIPT,
         lambda out: do_generations(cli, os.path.join(ROOT, GALLERY_SCRIPT), out))
    with open(os.path.join(pics, "gallery.json"), "w") as f:
        json.dump({"pictures": items, "failures": failures}, f, indent=1)
        f.write("\n")
    if failures:
        raise Failed("%d of the gallery's pictures failed" % len(failures))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="pictures.py", description=__doc__.split("\n")[0])
    ap.add_argument("--cli", required=True, help="the heaplab-cli binary")
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("map")
    m.add_argument("--allocator", required=True)
    m.add_argument("--at")
    m.add_argument("--animate", action="store_true")
    m.add_argument("--frames", type=int)
    m.add_argument("--view", choices=("auto", "arenas", "strip"), default="auto")
    m.add_argument("--arenas", choices=("mmap", "fixed"))
    m.add_argument("-o", "--output", required=True)
    m.add_argument("input")
    f = sub.add_parser("footprint")
    f.add_argument("--allocators")
    f.add_argument("--points", type=int)
    f.add_argument("-o", "--output", required=True)
    f.add_argument("trace")
    g = sub.add_parser("generations")
    g.add_argument("--allocator", default="pymalloc")
    g.add_argument("-o", "--output", required=True)
    g.add_argument("script")
    gl = sub.add_parser("gallery")
    gl.add_argument("--results", required=True)
    args = ap.parse_args(argv)
    try:
        if args.cmd == "map":
            if args.frames is not None and not args.animate:
                raise Failed("--frames N goes with --animate", 2)
            do_map(args.cli, args.allocator, args.input, args.output, args.at, args.animate,
                   args.frames, args.view, args.arenas)
        elif args.cmd == "footprint":
            do_footprint(args.cli, args.trace, args.output,
                         allocator_list(args.cli, args.allocators), args.points)
        elif args.cmd == "generations":
            do_generations(args.cli, args.script, args.output, args.allocator)
        else:
            do_gallery(args.cli, args.results)
    except Failed as e:
        print("heaplab %s: %s" % (args.cmd, e), file=sys.stderr)
        return e.status
    return 0


if __name__ == "__main__":
    sys.exit(main())
