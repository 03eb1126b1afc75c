#!/usr/bin/python3
"""generations_test.py: `heaplab-cli generations` and draw_generations.py.

The JSON is checked against what the scripts determine: a small script
written here whose every generation size, count and collection is worked
out by hand in its comments; a script with automatic collection, whose
collections are cross-checked with `heaplab script --stats` (the
collector's own statistics); and the bundled workload
(corpus/scripts/generations.heap), whose explicit collections must find
what its `# =>` annotations (CPython 3.11's results) say, on two
allocators alike.  Then the pictures: the PNG is read back at the pixels
the data determine (a step where only generation 2 holds objects has
generation 2's colour, an isolated collection's column its generation's
colour above the stack, an empty column the background), the SVG must
parse, and bad inputs and options must exit 2 naming the input.  A picture
that rendered nothing fails the colour checks and the "not blank" one.

Run by Bazel as an sh_test from the runfiles root (lib/cli/heaplab-cli,
corpus/...), or by hand from the repository root after `bazel build
//lib/cli:heaplab-cli`, with HEAPLAB_CLI=bazel-bin/lib/cli/heaplab-cli.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
TMP = os.environ.get("TEST_TMPDIR") or tempfile.mkdtemp(prefix="generations_test.")
os.environ.setdefault("MPLCONFIGDIR", os.path.join(TMP, "mplconfig"))
sys.path.insert(0, HERE)
import picture  # noqa: E402
import draw_generations  # noqa: E402

CLI = os.environ.get("HEAPLAB_CLI", "lib/cli/heaplab-cli")
DRAW = os.path.join(HERE, "draw_generations.py")
WORKLOAD = "corpus/scripts/generations.heap"
ENV = dict(os.environ, GLIBC_TUNABLES="glibc.rtld.optional_static_tls=8192")
WHITE = (1.0, 1.0, 1.0)
GEN_RGB = [picture.hex_rgb(c) for c in draw_generations.GEN_COLORS]

# A small script; after each statement: gen sizes [g0, g1, g2], counts.
# env (the names' dict) is tracked from the first list bound on.
SMALL = """\
# generation sizes [g0, g1, g2] after each statement
list a          # [2, 0, 0]  a, then env (tracked once a list is bound)
append a a      # [2, 0, 0]
list b          # [3, 0, 0]
drop a          # [3, 0, 0]  a: a self loop, garbage

collect 0       # [0, 2, 0]  collects a; env and b survive into gen 1
list c          # [1, 2, 0]
collect 1       # [0, 0, 3]  nothing to collect; env, b, c into gen 2
drop b          # [0, 0, 2]  freed by reference counting
drop c          # [0, 0, 1]
collect 2       # [0, 0, 0]  env, empty: a full collection untracks it
list d          # [2, 0, 0]  d, then env tracked again
"""
SMALL_LINES = [1 + i for i, line in enumerate(SMALL.splitlines())
               if line.split("#")[0].strip()]


def run(argv, check=True, stdin=None):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=ENV, input=stdin)
    if check and r.returncode != 0:
        raise AssertionError("%s: status %d\n%s" % (" ".join(argv), r.returncode, r.stderr))
    return r


def generations(*args, check=True):
    return run([CLI, "generations"] + list(args), check=check)


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def draw(json_path, out, *extra, check=True):
    return run(["/usr/bin/python3", DRAW, json_path, "-o", out] + list(extra), check=check)


def columns(pic, steps):
    """The pixel column of each step of the top panel: Frame.pixel's
    arithmetic, with one draw for all of them (it draws at every call)."""
    pic.frame.fig.canvas.draw()
    return [int(pic.ax.transData.transform((x, 0))[0]) for x in steps]


def near(img, col, row, rgb, reach=1):
    """Whether a pixel within `reach` columns of (col, row) is rgb: a
    1-pixel line lands on the column its x rounds to, Frame.pixel
    truncates."""
    return any(picture.close(img[row][c], rgb) for c in range(col - reach, col + reach + 1))


class SmallScriptTest(unittest.TestCase):
    """Every number of a script small enough to work out by hand."""

    @classmethod
    def setUpClass(cls):
        cls.path = write("small.heap", SMALL)
        cls.data = json.loads(generations(cls.path).stdout)

    def test_header(self):
        d = self.data
        self.assertEqual(d["input"], self.path)
        self.assertEqual(d["allocator"], "pymalloc")
        self.assertEqual(d["status"], "ok")
        self.assertEqual(d["thresholds"], [700, 10, 10])
        self.assertEqual(d["statements"], len(SMALL_LINES))

    def test_steps(self):
        steps = self.data["steps"]
        self.assertEqual([s["step"] for s in steps], list(range(len(SMALL_LINES) + 1)))
        self.assertEqual([s["line"] for s in steps], SMALL_LINES + [0])
        self.assertEqual(steps[-1]["op"], "end")
        self.assertEqual([s["op"] for s in steps[:5]], ["list", "append", "list", "drop",
                                                          "collect"])
        want = [[2, 0, 0], [2, 0, 0], [3, 0, 0], [3, 0, 0], [0, 2, 0], [1, 2, 0], [0, 0, 3],
                [0, 0, 2], [0, 0, 1], [0, 0, 0], [2, 0, 0], [0, 0, 0]]
        self.assertEqual([s["gen"] for s in steps], want)
        # The counts: collect 0 bumps count 1, collect 1 count 2; a full
        # collection zeroes them all.
        self.assertEqual(steps[4]["count"][1:], [1, 0])
        self.assertEqual(steps[6]["count"], [0, 0, 1])
        self.assertEqual(steps[9]["count"], [0, 0, 0])
        # Objects alive above the baseline: env, its str keys, the lists.
        self.assertEqual(steps[0]["alive"], 3)           # env, 'a', a
        self.assertEqual(steps[3]["alive"], 4)           # env, 'b', b, the loop a
        self.assertEqual(steps[4]["alive"], 3)           # a collected
        self.assertEqual(steps[-1]["alive"], 0)          # nothing leaked
        self.assertTrue(all(s["permanent"] == steps[0]["permanent"] for s in steps))

    def test_collect_0_moves_survivors_to_gen_1(self):
        steps, ev = self.data["steps"], self.data["collections"]
        before, after = steps[3], steps[4]
        c0 = [e for e in ev if e["step"] == 4]
        self.assertEqual(len(c0), 1)
        self.assertEqual(c0[0]["generation"], 0)
        self.assertEqual(c0[0]["collected"], 1)
        self.assertEqual(after["gen"][0], 0)
        self.assertEqual(after["gen"][1], before["gen"][1] + before["gen"][0] - c0[0]["collected"])

    def test_collections(self):
        ev = self.data["collections"]
        # The end drops d (reference counting) and env, then collects:
        # nothing is left for it.
        want = [(4, 7, 0, 1, "explicit"), (6, 9, 1, 0, "explicit"), (9, 12, 2, 0, "explicit"),
                (11, 0, 2, 0, "final")]
        got = [(e["step"], e["line"], e["generation"], e["collected"], e["kind"]) for e in ev]
        self.assertEqual(got, want)
        self.assertEqual([e["uncollectable"] for e in ev], [0] * 4)
        t = self.data["totals"]
        self.assertEqual([(x["automatic"], x["explicit"], x["final"]) for x in t],
                         [(0, 1, 0), (0, 1, 0), (0, 1, 1)])

    def test_json_file_and_stdin(self):
        out = os.path.join(TMP, "small.json")
        r = generations("--json", out, self.path)
        self.assertEqual(r.stdout, "")
        with open(out) as f:
            self.assertEqual(json.load(f)["steps"], self.data["steps"])
        r = run([CLI, "generations", "-"], stdin=SMALL)
        d = json.loads(r.stdout)
        self.assertEqual(d["input"], "-")
        self.assertEqual(d["collections"], self.data["collections"])

    def test_picture(self):
        """Few steps, wide columns: each step's stack is where it should be."""
        jpath = write("small.json", json.dumps(self.data))
        png = os.path.join(TMP, "small.png")
        draw(jpath, png)
        img = picture.read_png(png)
        self.assertEqual(img.shape[:2], (draw_generations.HEIGHT, draw_generations.WIDTH))
        pic = draw_generations.build(self.data)
        try:
            top = pic.ax.get_ylim()[1]
            # Step 0: generation 0 alone (2 objects); step 4: generation 1
            # alone; step 6: generation 2 alone -- at half their height.
            for step, g in ((0, 0), (4, 1), (6, 2)):
                n = self.data["steps"][step]["gen"][g]
                col, row = pic.pixel(step + 0.5, n / 2)
                self.assertTrue(picture.close(img[row][col], GEN_RGB[g]),
                                "step %d: %s, not generation %d's colour"
                                % (step, img[row][col], g))
            # The explicit collections' columns, above the data.
            for e in self.data["collections"][:3]:
                col, row = pic.pixel(e["step"], top * 0.985)
                self.assertTrue(near(img, col, row, GEN_RGB[e["generation"]]),
                                "no marker of collection at step %d" % e["step"])
            # Above the data in the middle of step 1: background.
            col, row = pic.pixel(1.5, top * 0.985)
            self.assertTrue(picture.close(img[row][col], WHITE))
            # The bars: collect 0 collected 1.
            col, row = pic.pixel(4, 0.5, pic.bars)
            self.assertTrue(near(img, col, row, GEN_RGB[0]))
        finally:
            pic.frame.plt.close(pic.frame.fig)


class AutomaticTest(unittest.TestCase):
    """Automatic collections: triggered by allocations, cross-checked with
    the collector's own statistics."""

    SCRIPT = "threshold 3 1 1\nenable\n" + "".join(
        "list k%d\nappend k%d k%d\nlist g\nappend g g\ndrop g\n" % (i, i, i) for i in range(60)
    ) + "collect 1\n" + "".join("drop k%d\n" % i for i in range(0, 60, 2)) + "collect 2\n"

    def test_automatic_and_explicit(self):
        path = write("auto.heap", self.SCRIPT)
        d = json.loads(generations(path).stdout)
        ev = d["collections"]
        self.assertEqual(d["thresholds"], [3, 1, 1])
        lines = self.SCRIPT.splitlines()
        ncollect = sum(1 for line in lines if line.startswith("collect"))
        explicit = [e for e in ev if e["kind"] == "explicit"]
        automatic = [e for e in ev if e["kind"] == "automatic"]
        self.assertEqual(len(explicit), ncollect)
        self.assertEqual(len(ev), ncollect + len(automatic) + 1)     # + the end's
        self.assertEqual({e["generation"] for e in automatic}, {0, 1, 2})
        for e in explicit:
            self.assertTrue(lines[e["line"] - 1].startswith("collect %d" % e["generation"]))
        for e in automatic:
            # Only an allocation (`list`) starts one; the step is its line's.
            self.assertTrue(lines[e["line"] - 1].startswith("list"), e)
            self.assertEqual(d["steps"][e["step"]]["line"], e["line"])
        # After an automatic collection of g, generations 0..g are empty
        # but for the object whose allocation started it.
        # (a full collection leaves its survivors in generation 2).
        for e in automatic:
            s = d["steps"][e["step"]]
            self.assertEqual(s["gen"][0], 1, (e, s))
            if e["generation"] >= 1:
                self.assertEqual(s["gen"][1], 0, (e, s))
        # Every self loop is collected once: the 60 `g`, the 30 `k` dropped
        # before the last `collect 2` and the 30 left for the end's.
        self.assertEqual(d["steps"][-1]["alive"], 0)
        self.assertEqual(sum(e["collected"] for e in ev), 60 + 30 + 30)
        self.assertEqual(ev[-1]["kind"], "final")
        self.assertEqual(ev[-1]["collected"], 30)
        # `heaplab script --stats`: the collector's own count of
        # collections, with the start-up one (generation 2) besides.
        stats = run([CLI, "script", "--stats", path]).stderr
        for g in range(3):
            m = re.search(r"stats: gc generation %d: (\d+) collections, (\d+) collected" % g,
                          stats)
            self.assertIsNotNone(m, stats)
            mine = [e for e in ev if e["generation"] == g]
            self.assertEqual(int(m.group(1)), len(mine) + (g == 2))
            self.assertEqual(int(m.group(2)), sum(e["collected"] for e in mine))


class WorkloadTest(unittest.TestCase):
    """The bundled GC workload, and its picture."""

    @classmethod
    def setUpClass(cls):
        cls.json = os.path.join(TMP, "workload.json")
        generations("--json", cls.json, WORKLOAD)
        with open(cls.json) as f:
            cls.data = json.load(f)
        with open(WORKLOAD) as f:
            cls.lines = f.read().splitlines()

    def test_shape(self):
        d, ev = self.data, self.data["collections"]
        self.assertEqual(d["status"], "ok")
        self.assertEqual(d["thresholds"], [10, 3, 2])
        nstmt = sum(1 for line in self.lines if line.split("#")[0].strip())
        self.assertEqual(d["statements"], nstmt)
        self.assertEqual(len(d["steps"]), nstmt + 1)
        self.assertGreaterEqual(nstmt, 1000)
        kinds = {(e["kind"], e["generation"]) for e in ev}
        for g in range(3):
            self.assertIn(("automatic", g), kinds)
            self.assertIn(("explicit", g), kinds)
        auto = [sum(1 for e in ev if e["kind"] == "automatic" and e["generation"] == g)
                for g in range(3)]
        self.assertGreater(auto[0], auto[1])
        self.assertGreater(auto[1], auto[2])
        # Each generation grows and shrinks: it holds objects at some step
        # and is emptied (or shrinks by half) at a later one.
        for g in range(3):
            sizes = [s["gen"][g] for s in d["steps"]]
            peak = max(sizes)
            self.assertGreater(peak, 10, g)
            self.assertLess(min(sizes[sizes.index(peak):]), peak // 2, g)
        self.assertEqual(d["steps"][-1]["alive"], 0)
        self.assertEqual(d["steps"][-1]["gen"], [0, 0, 0])

    def test_explicit_collections_match_cpython(self):
        """What each `collect` found is its `# =>` annotation (CPython's)."""
        notes = []
        for number, line in enumerate(self.lines, 1):
            m = re.match(r"collect (\d)\s+# => collect (\d): (\d+)", line)
            if m:
                notes.append((number, int(m.group(1)), int(m.group(3))))
        explicit = [(e["line"], e["generation"], e["collected"] + e["uncollectable"])
                    for e in self.data["collections"] if e["kind"] == "explicit"]
        self.assertGreaterEqual(len(notes), 6)
        self.assertEqual(explicit, notes)

    def test_same_on_another_allocator(self):
        other = json.loads(generations("--allocator", "seqfit-first", WORKLOAD).stdout)
        self.assertEqual(other["allocator"], "seqfit-first")
        self.assertEqual(other["collections"], self.data["collections"])
        self.assertEqual(other["steps"], self.data["steps"])

    def _isolated(self, pic, events, reach=3):
        """Events whose marker column has no other collection within
        `reach` pixels and is inside the axes."""
        cols = columns(pic, [e["step"] for e in self.data["collections"]])
        left, right = draw_generations.MAIN_PX[0], sum(draw_generations.MAIN_PX[0:3:2])
        out = []
        for e, c in zip(events, columns(pic, [e["step"] for e in events])):
            if left + reach < c < right - reach and \
                    sum(1 for x in cols if abs(x - c) <= reach) == 1:
                out.append(e)
        return out

    def test_png(self):
        png = os.path.join(TMP, "workload.png")
        r = draw(self.json, png, "--title", "the workload")
        self.assertEqual(r.stdout.strip(), png)
        img = picture.read_png(png)
        self.assertEqual(img.shape, (draw_generations.HEIGHT, draw_generations.WIDTH, 4))
        steps = self.data["steps"]
        pic = draw_generations.build(self.data)
        try:
            top = pic.ax.get_ylim()[1]
            self.assertGreater(top, 100)

            # Only generation 2 holds objects: the longest such run of steps
            # (after a full collection), in its middle, half-way up.
            runs, start = [], None
            for i, s in enumerate(steps + [{"gen": [1, 1, 0]}]):
                only2 = s["gen"][0] == 0 and s["gen"][1] == 0 and s["gen"][2] > 0
                if only2 and start is None:
                    start = i
                elif not only2 and start is not None:
                    runs.append((i - start, start))
                    start = None
            length, first = max(runs)
            self.assertGreaterEqual(length, 5)
            mid = first + length // 2
            col, row = pic.pixel(mid + 0.5, steps[mid]["gen"][2] / 2)
            # Not on a collection's line: the step after a full collection
            # may carry one, so look at the run's columns without.
            self.assertTrue(picture.close(img[row][col], GEN_RGB[2]),
                            "step %d (%d, %d): %s" % (mid, col, row, img[row][col]))

            # Above the stack, an isolated collection of each generation has
            # its generation's colour; automatic and explicit alike.
            for g in range(3):
                mine = self._isolated(pic, [e for e in self.data["collections"]
                                            if e["generation"] == g])
                self.assertTrue(mine, "no isolated collection of generation %d" % g)
                for e in mine[:5]:
                    col, row = pic.pixel(e["step"], top * 0.985)
                    self.assertTrue(near(img, col, row, GEN_RGB[g]),
                                    "collection %s: %s" % (e, img[row][col - 1:col + 2]))
            # The bars: the biggest collection's bar, half-way up.
            big = max(self.data["collections"], key=lambda e: e["collected"])
            self.assertTrue(self._isolated(pic, [big]))
            col, row = pic.pixel(big["step"], big["collected"] / 2, pic.bars)
            self.assertTrue(near(img, col, row, GEN_RGB[big["generation"]]))

            # Background: above the data, away from every collection.
            cols = sorted(columns(pic, [e["step"] for e in self.data["collections"]]))
            gaps = [(b - a, a) for a, b in zip(cols, cols[1:])]
            width, a = max(gaps)
            self.assertGreater(width, 8)
            _, row = pic.pixel(0, top * 0.985)
            self.assertTrue(picture.close(img[row][a + width // 2], WHITE))

            # Not blank: at least as much of the top panel is drawn on as
            # the stack covers (its mean height over the y range), less a
            # margin for the edges (a sample of every 4th pixel).
            x0, y0, w, h = draw_generations.MAIN_PX
            rows = range(draw_generations.HEIGHT - y0 - h + 2, draw_generations.HEIGHT - y0 - 2, 4)
            cols_ = range(x0 + 2, x0 + w - 2, 4)
            drawn = sum(1 for r_ in rows for c in cols_ if not picture.close(img[r_][c], WHITE))
            stack = sum(sum(s["gen"]) for s in steps) / len(steps) / top
            self.assertGreater(stack, 0.1)
            self.assertGreater(drawn / (len(rows) * len(cols_)), 0.9 * stack)
        finally:
            pic.frame.plt.close(pic.frame.fig)

        # The same data, the same bytes.
        again = os.path.join(TMP, "workload2.png")
        draw(self.json, again, "--title", "the workload")
        with open(png, "rb") as f1, open(again, "rb") as f2:
            self.assertEqual(f1.read(), f2.read())

    def test_svg(self):
        svg = os.path.join(TMP, "workload.svg")
        draw(self.json, svg)
        root = ET.parse(svg).getroot()
        self.assertEqual(root.tag, "{http://www.w3.org/2000/svg}svg")
        with open(svg) as f:
            text = f.read()
        for c in draw_generations.GEN_COLORS:
            self.assertIn(c, text)
        self.assertIn("generations.heap", text)


class BadInputTest(unittest.TestCase):
    def test_cli_options(self):
        small = write("ok.heap", "list a\n")
        for args, what in ((["--allocator"], "needs a value"),
                           (["--allocator", "no-such", small], "no-such"),
                           (["--bogus", small], "unknown option '--bogus'"),
                           ([], "no SCRIPT"),
                           ([small, small], "one SCRIPT only"),
                           (["--json"], "needs a value"),
                           (["--json", os.path.join(TMP, "no", "dir.json"), small],
                            "cannot write")):
            r = generations(*args, check=False)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(what, r.stderr, args)
            self.assertEqual(r.stdout, "")
        missing = os.path.join(TMP, "missing.heap")
        r = generations(missing, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("%s: error: cannot open" % missing, r.stderr)

    def test_failing_script(self):
        path = write("fails.heap", "list a\n\npop b\nlist c\n")
        out = os.path.join(TMP, "fails.json")
        r = generations("--json", out, path, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr, "%s:3: error: NameError: name 'b' is not bound\n" % path)
        self.assertFalse(os.path.exists(out))
        r = generations(path, check=False)
        self.assertEqual((r.returncode, r.stdout), (2, ""))

    def test_draw_inputs(self):
        text = generations(write("one.heap", "list a\n")).stdout
        good = write("good.json", text)
        out = os.path.join(TMP, "bad.png")
        cases = [
            (os.path.join(TMP, "nothere.json"), out, "nothere.json"),
            (write("notjson.json", "steps: 1\n"), out, "notjson.json: not JSON"),
            (write("other.json", '{"a": 1}'), out, "other.json: not `heaplab-cli generations`"),
            (write("empty.json", '{"input": "x", "allocator": "y", "thresholds": [1, 2, 3], '
                   '"steps": [], "collections": []}'), out, "empty.json: no steps"),
            (write("badev.json", json.dumps(dict(json.loads(text),
                                                 collections=[{"step": 99, "generation": 0,
                                                               "kind": "explicit",
                                                               "collected": 1}]))),
             out, "badev.json"),
            (good, os.path.join(TMP, "bad.jpg"), "bad.jpg"),
        ]
        for src, dst, what in cases:
            r = draw(src, dst, check=False)
            self.assertEqual(r.returncode, 2, (src, r.stderr))
            self.assertIn(what, r.stderr)
            self.assertTrue(r.stderr.startswith("draw_generations.py: "), r.stderr)
            self.assertFalse(os.path.exists(dst))
        r = run(["/usr/bin/python3", DRAW, good], check=False)       # no -o
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
