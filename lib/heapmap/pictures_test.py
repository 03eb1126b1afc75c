#!/usr/bin/python3
"""pictures_test.py: `heaplab-cli map` / `footprint` and their pictures.

Each check runs heaplab-cli on a trace whose heap it can predict (or on the
bundled traces and scripts), checks the snapshots' numbers against what the
input determines, draws the picture, reads the PNG back and looks at the
pixels the data put there: a full pool of 32-byte blocks has the 32-byte
colour, an uncarved pool the uncarved grey, a returned arena the returned
pink, a bin of live bytes the live blue; a picture that rendered nothing
fails its "not blank" check.  Run by Bazel as an sh_test from the runfiles
root (lib/cli/heaplab-cli, corpus/...), or by hand from the repository root
after `bazel build //lib/cli:heaplab-cli` with HEAPLAB_CLI set.
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import picture  # noqa: E402
import draw_map  # noqa: E402
import draw_footprint  # noqa: E402

CLI = os.environ.get("HEAPLAB_CLI", "lib/cli/heaplab-cli")
TRACES = sorted(os.path.join("corpus/traces", n) for n in os.listdir("corpus/traces")
                if n.endswith(".mtrace.gz"))
SCRIPTS = sorted(os.path.join("corpus/scripts", n) for n in os.listdir("corpus/scripts")
                 if n.endswith(".heap"))
ENV = dict(os.environ, GLIBC_TUNABLES="glibc.rtld.optional_static_tls=8192")
# pymalloc (radix): 16 KiB pools, 48-byte header.
NUMBLOCKS = lambda size: (16384 - 48) // size  # noqa: E731


def cli(*args, check=True):
    r = subprocess.run([CLI] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, env=ENV)
    if check and r.returncode != 0:
        raise AssertionError("heaplab-cli %s: status %d\n%s" % (" ".join(args), r.returncode,
                                                                 r.stderr))
    return r


def allocators():
    return [line.split()[0] for line in cli("list").stdout.splitlines() if line.strip()]


class Trace:
    """An mtrace trace written op by op, with the program's live bytes."""

    def __init__(self):
        self.lines = ["= Start"]
        self.next_addr = 0x10000
        self.live = {}
        self.ops = 0
        self.peak = (0, 0)   # (bytes, op)

    def malloc(self, size):
        a = self.next_addr
        self.next_addr += 0x1000 if size < 0x1000 else (size + 0x1000)
        self.lines.append("@ ./t:[0x1] + %#x %#x" % (a, size))
        self.live[a] = size
        self._op()
        return a

    def free(self, a):
        self.lines.append("@ ./t:[0x1] - %#x" % a)
        del self.live[a]
        self._op()

    def _op(self):
        self.ops += 1
        b = sum(self.live.values())
        if b > self.peak[0]:
            self.peak = (b, self.ops)

    def write(self, path):
        with open(path, "w") as f:
            f.write("\n".join(self.lines + ["= End"]) + "\n")
        return path


def nonwhite_fraction(img, frame_rect=None):
    h, w = img.shape[0], img.shape[1]
    if frame_rect:
        l, b, fw, fh = frame_rect
        x0, x1 = int(l * w), int((l + fw) * w)
        y0, y1 = int((1 - b - fh) * h), int((1 - b) * h)
        img = img[y0:y1, x0:x1]
    rgb = img[..., :3]
    nonwhite = (rgb < 0.97).any(axis=-1)
    return float(nonwhite.mean())


class MapTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = cls.tmp.name

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def map_json(self, allocator, inp, *extra):
        out = self.path("%s-%s.json" % (allocator, os.path.basename(inp)))
        cli("map", "--allocator", allocator, "--json", out, *extra, inp)
        with open(out) as f:
            return json.load(f)

    def draw(self, doc, snap, name, view="auto"):
        out = self.path(name)
        fr = draw_map.render(doc, snap, out, view)
        return fr, picture.read_png(out)

    def assert_pixel(self, img, fr, x, y, rgb, what, tol=0.04):
        c, r = fr.pixel(x, y)
        got = tuple(img[r, c, :3])
        self.assertTrue(picture.close(got, rgb, tol),
                        "%s: pixel (%d, %d) is %s, expected %s" % (what, c, r, got, rgb))

    # ---- pymalloc's arenas -------------------------------------------------

    def test_pymalloc_pools_have_their_class_colour(self):
        t = Trace()
        full = [t.malloc(32) for _ in range(NUMBLOCKS(32))]   # exactly one full pool
        one = t.malloc(64)                                     # one block of 255
        step_full = t.ops
        for a in full:
            t.free(a)                                          # the pool empties
        t.free(one)
        path = t.write(self.path("pools.mtrace"))
        doc = self.map_json("pymalloc", path, "--arenas", "fixed", "--at",
                            "%d,end" % step_full)
        self.assertEqual([s["step"] for s in doc["snapshots"]], [step_full, t.ops])
        snap = doc["snapshots"][0]
        self.assertEqual(snap["live_blocks"], NUMBLOCKS(32) + 1)
        self.assertEqual(snap["live_bytes"], NUMBLOCKS(32) * 32 + 64)
        a0 = [a for a in snap["arenas"] if a["address"]]
        self.assertEqual(len(a0), 1)
        a0 = a0[0]
        # The fixed source's arenas are 4 KiB off a pool boundary: 63 pools.
        self.assertEqual(a0["ntotalpools"], 63)
        pools = a0["pools"]
        self.assertEqual(pools[0], ["full", 1, 32, NUMBLOCKS(32), NUMBLOCKS(32)])
        self.assertEqual(pools[1], ["used", 3, 64, 1, NUMBLOCKS(64)])
        self.assertTrue(all(p[0] == "uncarved" for p in pools[2:63]))
        self.assertEqual(pools[63][0], "lost")
        self.assertEqual(a0["nfreepools"], 61)
        # The same pools, as spans: every live block is inside the walk.
        st = snap["strip"]
        self.assertTrue(st["walk"])
        self.assertEqual(st["mismatch_bytes"], 0)
        self.assertEqual(st["outside_blocks"], 0)
        totals = dict(zip(st["kinds"], [sum(b[k] for b in st["bins"])
                                        for k in range(len(st["kinds"]))]))
        self.assertEqual(totals["live"], snap["live_bytes"])
        self.assertEqual(sum(totals.values()), a0["arena_size"])   # one arena, all of it

        fr, img = self.draw(doc, snap, "pools.png")
        height, _ = draw_map.arena_geometry(1)
        self.assertEqual(img.shape[:2], (height, draw_map.WIDTH))
        self.assert_pixel(img, fr, 0.5, 0.5, draw_map.block_color(32), "full 32-byte pool")
        almost_white = draw_map.shade(draw_map.block_color(64), 1 / NUMBLOCKS(64))
        self.assert_pixel(img, fr, 1.5, 0.5, almost_white, "1/255 used 64-byte pool")
        self.assert_pixel(img, fr, 30.5, 0.5, picture.hex_rgb(draw_map.UNCARVED_COLOR),
                          "uncarved pool")
        self.assert_pixel(img, fr, 63.5, 0.5, picture.hex_rgb(draw_map.LOST_COLOR), "lost pool")
        self.assertGreater(nonwhite_fraction(img), 0.05)

        end = doc["snapshots"][1]
        a0 = [a for a in end["arenas"] if a["address"]][0]
        self.assertEqual(a0["pools"][0][0], "empty")
        self.assertEqual(a0["pools"][1][0], "empty")
        self.assertEqual(a0["nfreepools"], a0["ntotalpools"])   # a free arena, kept
        fr, img = self.draw(doc, end, "pools_end.png")
        self.assert_pixel(img, fr, 0.5, 0.5, picture.hex_rgb(draw_map.EMPTY_COLOR), "empty pool")

    def test_pymalloc_returned_arena_is_marked(self):
        # Two arenas of 512-byte blocks (31 per pool, 63 pools each), then
        # all freed: CPython keeps one empty arena and returns the other.
        t = Trace()
        per_arena = NUMBLOCKS(512) * 63
        blocks = [t.malloc(512) for _ in range(per_arena + 10)]
        for a in blocks:
            t.free(a)
        path = t.write(self.path("arenas.mtrace"))
        for alloc in ("pymalloc", "cpython"):
            doc = self.map_json(alloc, path, "--arenas", "fixed", "--at", "peak,end")
            peak, end = doc["snapshots"]
            self.assertEqual(peak["step"], len(blocks))
            self.assertEqual(sum(1 for a in peak["arenas"] if a["address"]), 2, alloc)
            returned = [a for a in end["arenas"] if a["returned"]]
            kept = [a for a in end["arenas"] if a["address"]]
            self.assertEqual(len(returned), 1, alloc)
            self.assertEqual(len(kept), 1, alloc)
            self.assertEqual(kept[0]["nfreepools"], kept[0]["ntotalpools"], alloc)
            fr, img = self.draw(doc, end, "arenas_%s.png" % alloc)
            rows = draw_map.shown_arenas(end)
            r = rows.index(returned[0])
            self.assert_pixel(img, fr, 5.5, r + 0.5, picture.hex_rgb(draw_map.RETURNED_COLOR),
                              alloc + ": returned arena's row")
            k = rows.index(kept[0])
            self.assert_pixel(img, fr, 0.5, k + 0.5, picture.hex_rgb(draw_map.EMPTY_COLOR),
                              alloc + ": free arena's empty pool")

    # ---- strips ---------------------------------------------------------------

    def test_seqfit_strip_shows_the_hole(self):
        t = Trace()
        a = t.malloc(40000)
        b = t.malloc(40000)
        c = t.malloc(40000)
        t.free(b)
        path = t.write(self.path("hole.mtrace"))
        doc = self.map_json("seqfit-first", path, "--at", "end")
        snap = doc["snapshots"][0]
        st = snap["strip"]
        self.assertTrue(st["walk"])
        self.assertEqual(st["mismatch_bytes"], 0)
        kinds = st["kinds"]
        totals = dict(zip(kinds, [sum(x[k] for x in st["bins"]) for k in range(len(kinds))]))
        self.assertEqual(totals["live"], 80000)
        self.assertGreaterEqual(totals["free"], 40000)
        self.assertEqual(sum(totals.values()), snap["held_bytes"])   # the walk covers it all
        # A bin wholly live and a bin wholly free, drawn in their colours.
        live_k, free_k = kinds.index("live"), kinds.index("free")
        bb = st["bin_bytes"]
        whole_live = [i for i, x in enumerate(st["bins"]) if x[live_k] == bb]
        whole_free = [i for i, x in enumerate(st["bins"]) if x[free_k] == bb]
        self.assertTrue(whole_live and whole_free)
        fr, img = self.draw(doc, snap, "hole.png")
        self.assertEqual(img.shape[:2], (draw_map.STRIP_HEIGHT, draw_map.WIDTH))
        cols = st["row_bins"]
        for i, kind in ((whole_live[0], "live"), (whole_free[0], "free")):
            r, c = divmod(i, cols)
            self.assert_pixel(img, fr, c + 0.5, r + 0.5, picture.hex_rgb(draw_map.KIND_COLORS[kind]),
                              "bin %d (%s)" % (i, kind))
        # Past the last bin: nothing drawn.
        n = len(st["bins"])
        rows = draw_map.strip_rows(st)
        if n % cols:
            self.assert_pixel(img, fr, cols - 0.5, rows - 0.5, (1.0, 1.0, 1.0), "past the end")

    def test_every_allocator_on_every_bundled_trace(self):
        names = allocators()
        self.assertGreaterEqual(len(names), 14)
        for trace in TRACES:
            peak_bytes = trace_peak_bytes(trace)
            peak_steps = set()
            for alloc in names:
                with self.subTest(trace=trace, allocator=alloc):
                    doc = self.map_json(alloc, trace, "--at", "peak")
                    peak_steps.add(doc["peak_step"])
                    self.assertEqual(doc["peak_live_bytes"], peak_bytes)
                    snap = doc["snapshots"][0]
                    self.assertEqual(snap["step"], doc["peak_step"])
                    self.assertEqual(snap["live_bytes"], peak_bytes)
                    st = snap["strip"]
                    totals = [sum(x[k] for x in st["bins"]) for k in range(len(st["kinds"]))]
                    self.assertEqual(totals[st["kinds"].index("live")], peak_bytes)
                    self.assertEqual(st["mismatch_bytes"], 0)
                    if alloc.startswith("pymalloc") or alloc == "cpython":
                        self.assertIn("arenas", snap)
                    if trace == TRACES[0]:
                        fr, img = self.draw(doc, snap, "all_%s.png" % alloc)
                        self.assertGreater(nonwhite_fraction(img, fr.rect), 0.2,
                                           "%s: the heap's picture is (almost) blank" % alloc)
            self.assertEqual(len(peak_steps), 1, "%s: the peak differs by allocator" % trace)

    def test_bundled_scripts(self):
        for script in SCRIPTS:
            if os.path.getsize(script) > 100000:
                continue   # the deep chains: a million statements each
            err = os.path.basename(script).startswith("err_")
            for alloc in ("pymalloc", "glibc", "seqfit-best"):
                with self.subTest(script=script, allocator=alloc):
                    out = self.path("s.json")
                    r = cli("map", "--allocator", alloc, "--json", out, "--at", "peak,end",
                            script, check=False)
                    if err:
                        self.assertEqual(r.returncode, 2, r.stderr)
                        self.assertRegex(r.stderr, r"%s:\d+: error: " % script)
                        continue
                    self.assertEqual(r.returncode, 0, r.stderr)
                    with open(out) as f:
                        doc = json.load(f)
                    self.assertEqual(doc["step_unit"], "line")
                    for snap in doc["snapshots"]:
                        st = snap["strip"]
                        self.assertEqual(st["mismatch_bytes"], 0)
                        live = sum(x[0] for x in st["bins"])
                        self.assertEqual(live, snap["live_bytes"])

    def test_script_steps_are_lines(self):
        path = self.path("t.heap")
        with open(path, "w") as f:
            f.write("# a comment\nlist a\nlist b\nappend a b\n\ndrop b\n")
        doc = self.map_json("pymalloc", path, "--at", "2,4,end")
        self.assertEqual([s["step"] for s in doc["snapshots"]], [2, 4, 6])
        r = cli("map", "--allocator", "pymalloc", "--at", "1", path, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("line 1 of %s is not a statement" % path, r.stderr)

    def test_animation_and_svg(self):
        doc = self.map_json("pymalloc", TRACES[0], "--frames", "5")
        self.assertEqual(len(doc["snapshots"]), 5)
        self.assertEqual(doc["snapshots"][-1]["step"], doc["steps"])
        js = self.path("anim.json")
        with open(js, "w") as f:
            json.dump(doc, f)
        gif = self.path("anim.gif")
        r = subprocess.run([sys.executable, os.path.join(HERE, "draw_map.py"), js, "-o", gif],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        from PIL import Image
        im = Image.open(gif)
        self.assertEqual(im.n_frames, 5)
        sizes = {Image.open(os.path.join(self.path("anim-frames"), "%03d.png" % i)).size
                 for i in range(5)}
        self.assertEqual(len(sizes), 1)
        svg = self.path("one.svg")
        draw_map.render(doc, doc["snapshots"][0], svg, "strip")
        root = ET.parse(svg).getroot()
        self.assertTrue(root.tag.endswith("svg"))
        self.assertGreater(len(root.findall(".//{http://www.w3.org/2000/svg}image")) +
                           len(root.findall(".//{http://www.w3.org/2000/svg}path")), 5)

    def test_bad_input(self):
        t = Trace()
        t.malloc(10)
        path = t.write(self.path("small.mtrace"))
        cases = [
            (["--at", "0", path], "step '0' is not in 1..1 (%s)" % path),
            (["--at", "2", path], "step '2' is not in 1..1"),
            (["--at", "peak,,end", path], "expected STEP[,STEP...]"),
            (["--at", "x", path], "step 'x' is not in 1..1"),
            (["--frames", "0", path], "--frames '0': expected 1..600"),
            (["--at", "1", "--frames", "2", path], "--at and --frames exclude each other"),
            ([path], None),
        ]
        for extra, msg in cases:
            with self.subTest(args=extra):
                args = ["map"] + (["--allocator", "pymalloc"] if msg is not None else []) + extra
                r = cli(*args, check=False)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(msg or "--allocator NAME is required", r.stderr)
        r = cli("map", "--allocator", "nosuch", path, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown allocator 'nosuch'", r.stderr)
        bad = self.path("bad.mtrace")
        with open(bad, "w") as f:
            f.write("= Start\n@ ./t:[0x1] + 0x10 zz\n")
        r = cli("map", "--allocator", "glibc", bad, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, r"%s:2: error: " % bad)
        r = subprocess.run([sys.executable, os.path.join(HERE, "draw_map.py"), bad, "-o",
                            self.path("x.png")], stderr=subprocess.PIPE, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn(bad, r.stderr)


def trace_peak_bytes(path):
    """The trace's peak live bytes as `heaplab-cli replay` reports them."""
    r = cli("replay", "--allocator", "seqfit-best", "--json", path)
    return json.loads(r.stdout)["peak_live_bytes"]


class FootprintTest(unittest.TestCase):
    def test_chart(self):
        with tempfile.TemporaryDirectory() as d:
            t = Trace()
            # Small blocks: pymalloc's arenas hold them (under ASan, glibc's
            # held bytes, which its raw blocks would need, are unknown).
            blocks = [t.malloc(16 + 16 * (i % 32)) for i in range(3000)]
            for a in blocks[:2500]:
                t.free(a)
            path = t.write(os.path.join(d, "ramp.mtrace"))
            tsvs = []
            for alloc in ("pymalloc", "buddy"):
                tsv = os.path.join(d, alloc + ".tsv")
                with open(tsv, "w") as f:
                    f.write(cli("footprint", "--allocator", alloc, "--points", "100", "--",
                                path).stdout)
                tsvs.append(tsv)
            runs = [draw_footprint.read_tsv(p) for p in tsvs]
            for run in runs:
                rows = run["rows"]
                self.assertEqual(rows[0][:3], (0, 0, 0))
                self.assertEqual(rows[-1][0], t.ops)
                ops = [r[0] for r in rows]
                self.assertIn(t.peak[1], ops)        # the peak is always sampled
                at_peak = rows[ops.index(t.peak[1])]
                self.assertEqual(at_peak[1], t.peak[0])
                self.assertEqual(at_peak[2], 3000)
                self.assertGreaterEqual(at_peak[3], t.peak[0])   # held >= live
                self.assertLessEqual(len(rows), 103)
            out = os.path.join(d, "fp.png")
            fr = draw_footprint.draw(runs, out)
            img = picture.read_png(out)
            self.assertEqual(img.shape[:2], (draw_footprint.HEIGHT, draw_footprint.WIDTH))
            black = picture.hex_rgb(draw_footprint.LIVE_COLOR)
            # The live line passes through (peak op, peak MiB): black there.
            self.assertTrue(near(img, fr.pixel(t.peak[1], t.peak[0] / draw_footprint.MIB), black),
                            "no live line at the peak")
            # buddy's line at its peak footprint, in buddy's colour.
            buddy = runs[1]["rows"]
            top = max(buddy, key=lambda r: r[3])
            self.assertTrue(near(img, fr.pixel(top[0], top[3] / draw_footprint.MIB),
                                 picture.hex_rgb(picture.allocator_color("buddy"))),
                            "no buddy line at its peak")
            self.assertGreater(nonwhite_fraction(img, fr.rect), 0.01)
            # Errors name the input.
            bad = os.path.join(d, "bad.tsv")
            with open(bad, "w") as f:
                f.write("# heaplab footprint: allocator=x trace=t\nop\tlive\n1\t2\t3\n")
            with self.assertRaisesRegex(ValueError, "bad.tsv:3: expected 5 fields"):
                draw_footprint.read_tsv(bad)
            r = cli("footprint", "--allocator", "pymalloc", "--points", "0", path, check=False)
            self.assertEqual(r.returncode, 2)
            self.assertIn("--points '0': expected 1..", r.stderr)


class EveryAllocatorTest(unittest.TestCase):
    """The three kinds of picture on every registered allocator and every
    bundled trace and script (the map's are in MapTest)."""

    def test_footprint_every_allocator_every_trace(self):
        names = allocators()
        with tempfile.TemporaryDirectory() as d:
            for trace in TRACES:
                peak_bytes = trace_peak_bytes(trace)
                runs = []
                for alloc in names:
                    with self.subTest(trace=trace, allocator=alloc):
                        tsv = os.path.join(d, alloc + ".tsv")
                        with open(tsv, "w") as f:
                            f.write(cli("footprint", "--allocator", alloc, "--points", "200",
                                        "--", trace).stdout)
                        run = draw_footprint.read_tsv(tsv)
                        meta, rows = run["meta"], run["rows"]
                        self.assertEqual(meta["allocator"], alloc)
                        ops = [r[0] for r in rows]
                        self.assertEqual(ops, sorted(set(ops)))
                        self.assertEqual(rows[0][0], 0)
                        self.assertEqual(ops[-1], int(meta["ops"]))
                        peak_op = int(meta["peak_op"])
                        self.assertEqual(rows[ops.index(peak_op)][1], peak_bytes)
                        self.assertEqual(max(r[1] for r in rows), peak_bytes)
                        runs.append(run)
                out = os.path.join(d, "fp.png")
                fr = draw_footprint.draw(runs, out)
                img = picture.read_png(out)
                self.assertEqual(img.shape[:2], (draw_footprint.HEIGHT, draw_footprint.WIDTH))
                self.assertGreater(nonwhite_fraction(img, fr.rect), 0.01, trace)

    def test_generations_every_allocator(self):
        # The collector's view does not depend on the allocator: the same
        # steps and collections on every one of them.
        workload = "corpus/scripts/generations.heap"
        with tempfile.TemporaryDirectory() as d:
            first = None
            for alloc in allocators():
                with self.subTest(allocator=alloc):
                    js = os.path.join(d, alloc + ".json")
                    cli("generations", "--allocator", alloc, "--json", js, workload)
                    with open(js) as f:
                        doc = json.load(f)
                    shape = ([s["gen"] for s in doc["steps"]],
                             [(c["step"], c["generation"], c["collected"])
                              for c in doc["collections"]])
                    if first is None:
                        first = shape
                        self.assertGreater(len(shape[1]), 10)
                    self.assertEqual(shape, first)

    def test_generations_every_bundled_script(self):
        with tempfile.TemporaryDirectory() as d:
            for script in SCRIPTS:
                if os.path.getsize(script) > 100000:
                    continue   # the deep chains: a million statements each
                with self.subTest(script=script):
                    js = os.path.join(d, "g.json")
                    r = cli("generations", "--json", js, script, check=False)
                    if os.path.basename(script).startswith("err_"):
                        self.assertEqual(r.returncode, 2, r.stderr)
                        self.assertRegex(r.stderr, r"%s:\d+: error: " % script)
                        continue
                    self.assertEqual(r.returncode, 0, r.stderr)
                    with open(js) as f:
                        doc = json.load(f)
                    self.assertEqual(doc["steps"][-1]["alive"], 0)   # nothing leaked
                    self.assertEqual(doc["steps"][-1]["op"], "end")


class FrontEndTest(unittest.TestCase):
    """pictures.py, behind `heaplab map`, `footprint` and `generations`."""

    def pictures(self, *args):
        return subprocess.run([sys.executable, os.path.join(HERE, "pictures.py"), "--cli", CLI]
                              + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=ENV)

    def test_each_command_draws(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "m.png")
            r = self.pictures("map", "--allocator", "tlsf", "--at", "peak,end", TRACES[0], "-o", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(d, "m.json")) as f:
                doc = json.load(f)
            others = [os.path.join(d, "m-%d.png" % s["step"]) for s in doc["snapshots"][1:]]
            for png in [out] + others:
                self.assertEqual(picture.read_png(png).shape[:2],
                                 (draw_map.STRIP_HEIGHT, draw_map.WIDTH))
            gif = os.path.join(d, "a.gif")
            r = self.pictures("map", "--allocator", "pymalloc", "--animate", "--frames", "3",
                              TRACES[0], "-o", gif)
            self.assertEqual(r.returncode, 0, r.stderr)
            from PIL import Image
            self.assertEqual(Image.open(gif).n_frames, 3)
            fp = os.path.join(d, "f.svg")
            r = self.pictures("footprint", "--allocators", "glibc,buddy", TRACES[0], "-o", fp)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(ET.parse(fp).getroot().tag.endswith("svg"))
            self.assertEqual(sorted(os.listdir(os.path.join(d, "f-data"))),
                             ["buddy.tsv", "glibc.tsv"])
            g = os.path.join(d, "g.png")
            r = self.pictures("generations", "corpus/scripts/gen_counts.heap", "-o", g)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertGreater(nonwhite_fraction(picture.read_png(g)), 0.02)

    def test_bad_options(self):
        cases = [
            (("map", "--allocator", "pymalloc", TRACES[0], "-o", "/tmp/x.txt"),
             "must end in .png or .svg"),
            (("map", "--allocator", "pymalloc", TRACES[0], "-o", "/tmp/x.gif"),
             "a .gif is an animation: add --animate"),
            (("map", "--allocator", "pymalloc", "--frames", "3", TRACES[0], "-o", "/tmp/x.png"),
             "--frames N goes with --animate"),
            (("map", "--allocator", "pymalloc", "--animate", "--at", "3", TRACES[0],
              "-o", "/tmp/x.gif"), "it takes --frames, not --at"),
            (("map", "--allocator", "pymalloc", TRACES[0], "-o", "/no/such/dir/x.png"),
             "directory /no/such/dir does not exist"),
            (("footprint", "--allocators", "pymalloc,nosuch", TRACES[0], "-o", "/tmp/x.png"),
             "unknown allocator nosuch"),
            (("map", "--allocator", "pymalloc", "/no/such.mtrace", "-o", "/tmp/x.png"),
             "/no/such.mtrace"),
        ]
        for args, msg in cases:
            with self.subTest(args=args):
                r = self.pictures(*args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(msg, r.stderr)

    def test_heaplab_help(self):
        for sub in ("map", "footprint", "generations"):
            r = subprocess.run(["./heaplab", sub, "--help"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("usage: heaplab %s" % sub, r.stdout)
        r = subprocess.run(["./heaplab", "--help"], stdout=subprocess.PIPE, text=True)
        for sub in ("map", "footprint", "generations"):
            self.assertRegex(r.stdout, r"\n  %s " % sub)


def near(img, px, rgb, radius=3):
    c0, r0 = px
    for r in range(max(0, r0 - radius), min(img.shape[0], r0 + radius + 1)):
        for c in range(max(0, c0 - radius), min(img.shape[1], c0 + radius + 1)):
            if picture.close(img[r, c, :3], rgb, 0.08):
                return True
    return False


if __name__ == "__main__":
    unittest.main(verbosity=2)
