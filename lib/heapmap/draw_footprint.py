#!/usr/bin/python3
"""draw_footprint.py: memory over time, one trace, several allocators.

    draw_footprint.py FOOTPRINT.tsv... -o OUT.png|OUT.svg [--title T]

Each input is the output of `heaplab-cli footprint --allocator NAME TRACE`
for one allocator (all for the same trace).  One chart, x the operation
count, y MiB:

  - the program's live bytes (requested), a thick black line (LIVE_COLOR);
  - each allocator's footprint (bytes held from the system, less what it held
    when made), a line in the allocator's colour (the report's,
    bench/tools/report_plots.py), the peers dashed; an allocator that cannot
    tell its held bytes, or whose held count never moves while blocks are
    live (mimalloc commits whole segments before the first block), is drawn
    from the process's resident set instead, dotted, and says so in the
    legend;
  - a vertical grey line at the op where the live bytes peak.

The legend lists the allocators by peak footprint, with peak / peak live.
Geometry is fixed (picture.Frame): data point (op, MiB) is Frame.pixel(op,
MiB) of the axes, so tests find a line where the data put it.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import picture  # noqa: E402

LIVE_COLOR = "#000000"
PEAK_COLOR = "#bdbdbd"
WIDTH, HEIGHT = 1200, 700
RECT = (70 / WIDTH, 80 / HEIGHT, 760 / WIDTH, 560 / HEIGHT)
MIB = 1024.0 * 1024.0


def read_tsv(path):
    """{'meta': {...}, 'rows': [(op, live, blocks, held|None, rss)]}; ValueError
    naming the file and line on a malformed one."""
    meta, rows = {}, []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("#"):
                for kv in line.split()[3:] if line.startswith("# heaplab footprint:") else []:
                    k, _, v = kv.partition("=")
                    meta[k] = v
                continue
            if line.startswith("op\t") or not line:
                continue
            f5 = line.split("\t")
            try:
                if len(f5) != 5:
                    raise ValueError("expected 5 fields")
                rows.append((int(f5[0]), int(f5[1]), int(f5[2]),
                             None if f5[3] == "-" else int(f5[3]), int(f5[4])))
            except ValueError as e:
                raise ValueError("%s:%d: %s" % (path, lineno, e))
    if "allocator" not in meta:
        raise ValueError("%s:1: not `heaplab-cli footprint` output (no header)" % path)
    if not rows:
        raise ValueError("%s: no samples" % path)
    return {"meta": meta, "rows": rows, "path": path}


def series(run):
    """(label suffix, [(op, bytes)]) for the allocator's footprint line."""
    rows = run["rows"]
    if run["meta"].get("held_known") == "1":
        if any(r[3] > 0 for r in rows) or not any(r[1] > 0 for r in rows):
            return "", "held", [(r[0], r[3]) for r in rows]
        # Held bytes that never move while blocks are live are not a
        # footprint (mimalloc counts commits of whole segments made before
        # the instance): the resident set is the honest stand-in.
        return " (RSS*)", "rss", [(r[0], r[4]) for r in rows]
    return " (RSS*)", "rss", [(r[0], r[4]) for r in rows]


def draw(runs, out, title=None):
    fr = picture.Frame(WIDTH, HEIGHT, RECT)
    ax = fr.ax
    first = runs[0]
    trace = os.path.basename(first["meta"].get("trace", "?"))
    live = [(r[0], r[1] / MIB) for r in first["rows"]]
    peak_op = int(first["meta"].get("peak_op", 0))
    peak_live = max(r[1] for r in first["rows"])
    ymax = peak_live / MIB
    drawn = []
    for run in runs:
        name = run["meta"]["allocator"]
        suffix, kind, pts = series(run)
        ys = [max(0, b) / MIB for _, b in pts]
        ymax = max(ymax, max(ys))
        peak = max(b for _, b in pts)
        style = ":" if kind == "rss" else ("--" if name in picture.report_plots.PEER_COLORS else "-")
        drawn.append((peak, name, suffix, style, [p[0] for p in pts], ys))
    drawn.sort(key=lambda d: (-d[0], d[1]))
    for peak, name, suffix, style, xs, ys in drawn:
        ratio = peak / peak_live if peak_live else 0
        ax.plot(xs, ys, style, color=picture.allocator_color(name), linewidth=1.4,
                label="%s%s: peak %.1f MiB (%.2f× live)" % (name, suffix, peak / MIB, ratio))
    ax.plot([x for x, _ in live], [y for _, y in live], "-", color=LIVE_COLOR, linewidth=2.6,
            label="live bytes: peak %.1f MiB" % (peak_live / MIB), zorder=10)
    if peak_op:
        ax.axvline(peak_op, color=PEAK_COLOR, linewidth=1.0, zorder=0)
    xmax = max(r[0] for r in first["rows"]) or 1
    ax.set_xlim(0, xmax)
    ax.set_ylim(0, ymax * 1.05 if ymax > 0 else 1)
    ax.set_xlabel("operations of the trace (malloc, free, realloc)")
    ax.set_ylabel("MiB")
    ax.grid(True, color="#eeeeee", linewidth=0.6)
    ax.set_title(title or "Memory over time: %s, footprint of each allocator "
                 "(held from the system) and the live bytes" % trace, fontsize=10, loc="left")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    if any(d[2] for d in drawn):
        fr.fig.text(RECT[0] + RECT[2] + 0.01, RECT[1], "* the resident set: the allocator's\n"
                    "held bytes are unknown, or never\nmoved while blocks were live\n"
                    "(mimalloc commits whole segments)", fontsize=7, va="bottom")
    fr.save(out)
    return fr


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tsv", nargs="+")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--title")
    args = ap.parse_args(argv)
    try:
        picture.check_output_name(args.output)
        runs = [read_tsv(p) for p in args.tsv]
    except (OSError, ValueError) as e:
        print("draw_footprint.py: %s" % e, file=sys.stderr)
        return 2
    traces = {r["meta"].get("trace") for r in runs}
    if len(traces) != 1:
        print("draw_footprint.py: the inputs are of different traces: %s"
              % ", ".join(sorted(str(t) for t in traces)), file=sys.stderr)
        return 2
    draw(runs, args.output, args.title)
    print(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
