#!/usr/bin/python3
"""draw_generations.py: the collector's generations over a heap script.

    draw_generations.py GENERATIONS.json -o OUT.png|OUT.svg [--title T]

The input is the output of `heaplab-cli generations [--allocator NAME]
SCRIPT` (lib/cli/cmd_generations.c says what is in it); - reads standard
input.  One chart, x the statement step (0 is the script's first
statement, the last step the end of the script, after its final
collection), in two panels sharing that axis:

  top     the size of each generation after every statement, stacked:
          generation 2 at the bottom (GEN_COLORS[2], blue), generation 1 on
          it (GEN_COLORS[1], green), generation 0 on top (GEN_COLORS[0],
          orange); the objects alive (everything the script holds, tracked
          or not, its names included) as a black line (ALIVE_COLOR); and
          every collection as a thin vertical line in its generation's
          colour, drawn behind the stack (so it shows above it) -- across
          the panel for generations 1 and 2, a tick along its top
          (GEN0_TICK of its height, above the data) for generation 0's, the
          many; the older generation on top where several share a pixel
          column;
  bottom  what each collection collected, a bar in its generation's colour
          at its step; a black-edged triangle on the explicit ones
          (`collect`), a diamond on the end of the script's.

The legend counts each generation's automatic and explicit collections and
what they collected; the title names the script and the allocator, a
caption line the thresholds, the statements, the permanent generation
(start-up's frozen objects) and what was alive at the end.  Each step is
drawn as a column (matplotlib's step="post"), so 10^4 steps on the plot's
~840 pixels are still one picture: lines are 1 pixel wide, never blended.

Geometry is fixed (picture.Frame): data point (step, objects) of the top
panel is Picture.pixel(step, objects), of the bottom one
Picture.pixel(step, collected, picture.bars), so the tests find the data
where they put it.  Exit status 2, with a message naming the input, for a
file that is not `heaplab-cli generations` output or an output name that
is neither .png nor .svg.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import picture  # noqa: E402

GEN_COLORS = ("#e69f00", "#009e73", "#0072b2")   # generation 0, 1, 2
ALIVE_COLOR = "#000000"
WIDTH, HEIGHT = 1200, 720
# Left, bottom, width, height in pixels: the stacked sizes on top, the
# collected bars below, the legend in the right margin.
MAIN_PX = (70, 250, 840, 400)
BARS_PX = (70, 70, 840, 140)
LINE_PT = 72.0 / picture.DPI                     # one pixel, in points
GEN0_TICK = 0.06    # generation 0's collection marks: the top of the panel
KINDS = ("automatic", "explicit", "final")


def _rect(px):
    left, bottom, width, height = px
    return (left / WIDTH, bottom / HEIGHT, width / WIDTH, height / HEIGHT)


def read_json(path):
    """The parsed output of `heaplab-cli generations`; ValueError naming the
    file if it is not that."""
    try:
        if path == "-":
            data = json.load(sys.stdin)
        else:
            with open(path) as f:
                data = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError("%s: not JSON: %s" % (path, e))
    if not isinstance(data, dict):
        raise ValueError("%s: not `heaplab-cli generations` output (not an object)" % path)
    for key in ("input", "allocator", "steps", "collections", "thresholds"):
        if key not in data:
            raise ValueError("%s: not `heaplab-cli generations` output (no \"%s\")" % (path, key))
    steps = data["steps"]
    if not isinstance(steps, list) or not steps:
        raise ValueError("%s: no steps: nothing to draw" % path)
    try:
        for i, s in enumerate(steps):
            if s["step"] != i or len(s["gen"]) != 3:
                raise ValueError("step %d is out of order or has not 3 generations" % i)
            [int(v) for v in s["gen"]]
            int(s["alive"])
        for e in data["collections"]:
            if not 0 <= e["step"] < len(steps) or e["generation"] not in (0, 1, 2):
                raise ValueError("collection at step %s of generation %s is out of range"
                                 % (e.get("step"), e.get("generation")))
            if e["kind"] not in KINDS:
                raise ValueError("collection of unknown kind %r" % e["kind"])
            int(e["collected"])
    except (KeyError, TypeError) as e:
        raise ValueError("%s: malformed step or collection (%s)" % (path, e))
    except ValueError as e:
        raise ValueError("%s: %s" % (path, e))
    data["path"] = path
    return data


class Picture:
    """The drawn figure: the Frame, its two axes (ax: sizes, bars:
    collected)."""

    def __init__(self, frame, bars):
        self.frame, self.ax, self.bars = frame, frame.ax, bars

    def pixel(self, x, y, ax=None):
        return self.frame.pixel(x, y, ax)

    def save(self, path):
        self.frame.save(path)


def totals(data):
    """Per generation: {kind: count, 'collected': n} from the events."""
    t = [dict({k: 0 for k in KINDS}, collected=0) for _ in range(3)]
    for e in data["collections"]:
        t[e["generation"]][e["kind"]] += 1
        t[e["generation"]]["collected"] += e["collected"]
    return t


def build(data, title=None):
    """Draws data (read_json's) on a new Picture, not yet saved."""
    fr = picture.Frame(WIDTH, HEIGHT, _rect(MAIN_PX))
    ax = fr.ax
    bars = fr.add_axes(_rect(BARS_PX))
    steps = data["steps"]
    n = len(steps)
    # Sample i covers [i, i + 1): one more x for the last column's right edge.
    xs = list(range(n + 1))

    def col(values):
        return values + values[-1:]

    g = [col([s["gen"][k] for s in steps]) for k in range(3)]
    alive = col([s["alive"] for s in steps])
    b1 = g[2]
    b0 = [a + b for a, b in zip(b1, g[1])]
    top = [a + b for a, b in zip(b0, g[0])]
    t = totals(data)

    def label(k):
        end = " + %d at the end" % t[k]["final"] if t[k]["final"] else ""
        return ("generation %d: collected %d objects\nin %d automatic + %d explicit%s"
                % (k, t[k]["collected"], t[k]["automatic"], t[k]["explicit"], end))

    lw = dict(linewidth=0)
    ax.fill_between(xs, 0, b1, step="post", color=GEN_COLORS[2], label=label(2), zorder=2, **lw)
    ax.fill_between(xs, b1, b0, step="post", color=GEN_COLORS[1], label=label(1), zorder=2, **lw)
    ax.fill_between(xs, b0, top, step="post", color=GEN_COLORS[0], label=label(0), zorder=2, **lw)
    ax.step(xs, alive, where="post", color=ALIVE_COLOR, linewidth=1.2, zorder=4,
            label="objects alive (tracked or not)\npeak %d, at the end %d"
            % (max(alive), alive[-1]))

    # Collections: generation 0 first, so the older ones stay visible;
    # generation 0's, the many, only as ticks along the top.
    events = sorted(data["collections"], key=lambda e: e["generation"])
    for k in range(3):
        at = [e["step"] for e in events if e["generation"] == k]
        if at:
            ax.vlines(at, 1 - GEN0_TICK if k == 0 else 0, 1, transform=ax.get_xaxis_transform(),
                      colors=GEN_COLORS[k], linewidth=LINE_PT, zorder=1, snap=True)
    for k in range(3):
        mine = [e for e in events if e["generation"] == k]
        if mine:
            bars.vlines([e["step"] for e in mine], 0, [e["collected"] for e in mine],
                        colors=GEN_COLORS[k], linewidth=2 * LINE_PT, zorder=2, snap=True)
        for kind, marker in (("explicit", "v"), ("final", "D")):
            sel = [e for e in mine if e["kind"] == kind]
            if sel:
                bars.plot([e["step"] for e in sel], [e["collected"] for e in sel], marker,
                          color=GEN_COLORS[k], markeredgecolor="#000000", markersize=5,
                          markeredgewidth=0.6, linestyle="none", zorder=3)
    bars.plot([], [], "v", color="#ffffff", markeredgecolor="#000000", markersize=5,
              linestyle="none", label="explicit (`collect`)")
    bars.plot([], [], "D", color="#ffffff", markeredgecolor="#000000", markersize=5,
              linestyle="none", label="end of script")

    ymax = max(max(top), max(alive))
    ax.set_xlim(0, n)
    ax.set_ylim(0, ymax * 1.08 if ymax > 0 else 1)
    ax.set_ylabel("objects")
    ax.tick_params(labelbottom=False, labelsize=8)
    cmax = max([e["collected"] for e in data["collections"]] + [0])
    bars.set_xlim(0, n)
    bars.set_ylim(0, cmax * 1.2 if cmax > 0 else 1)
    bars.set_xlabel("statement step (the last one: the end of the script)")
    bars.set_ylabel("collected")
    bars.tick_params(labelsize=8)

    name = os.path.basename(data["input"])
    ax.set_title(title or "Generations over %s, allocator %s" % (name, data["allocator"]),
                 fontsize=11, loc="left", pad=22)
    perm = steps[-1].get("permanent", 0)
    ax.text(0, 1.015, "%s: %d statements, thresholds %s; permanent generation: %d object%s; "
            "a collection: a line in its generation's colour (generation 0: a tick at the top)"
            % (data["input"], data.get("statements", n - 1),
               " ".join(str(v) for v in data["thresholds"]), perm, "" if perm == 1 else "s"),
            transform=ax.transAxes, fontsize=8, color="#444444", va="bottom")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = bars.get_legend_handles_labels()
    order = [2, 1, 0, 3]           # generation 0 first, as stacked top-down
    fr.fig.legend([h1[i] for i in order] + h2, [l1[i] for i in order] + l2,
                  loc="upper left", bbox_to_anchor=((MAIN_PX[0] + MAIN_PX[2] + 12) / WIDTH,
                                                    (MAIN_PX[1] + MAIN_PX[3]) / HEIGHT),
                  fontsize=7, frameon=False, handlelength=1.5)
    return Picture(fr, bars)


def draw(data, out, title=None):
    pic = build(data, title)
    pic.save(out)
    return pic


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("json", help="`heaplab-cli generations` output (- for standard input)")
    ap.add_argument("-o", "--output", required=True, help="OUT.png or OUT.svg")
    ap.add_argument("--title")
    args = ap.parse_args(argv)
    try:
        picture.check_output_name(args.output)
        data = read_json(args.json)
    except (OSError, ValueError) as e:
        print("draw_generations.py: %s" % e, file=sys.stderr)
        return 2
    try:
        draw(data, args.output, args.title)
    except OSError as e:
        print("draw_generations.py: %s: %s" % (args.output, e), file=sys.stderr)
        return 2
    print(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
