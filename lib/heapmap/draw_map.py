#!/usr/bin/python3
"""draw_map.py: pictures of an allocator's heap from `heaplab-cli map` JSON.

    draw_map.py MAP.json -o OUT.png|OUT.svg|OUT.gif [--view auto|arenas|strip]

Two pictures, chosen per snapshot (--view auto: arenas when the snapshot
has them, i.e. pymalloc, pymalloc-classic and cpython; else the strip):

arenas   CPython's diagram of obmalloc, drawn from the heap itself.  One row
         per arena_object slot that holds or held an arena (arenas[0] at the
         top), one cell per pool, in address order:
             used / full pool   the colour of its block size (a fixed scale,
                                16 .. 512 bytes, the same in every picture),
                                paler the emptier it is: a full pool is the
                                scale's colour exactly, a pool with one block
                                in use is almost white
             empty pool         grey (EMPTY_COLOR): on its arena's freepools
             uncarved pool      near-white (UNCARVED_COLOR): past pool_address
             lost               dark (LOST_COLOR): the tail lost to alignment
             returned arena     the whole row pink (RETURNED_COLOR), labelled
             free arena         every pool empty or uncarved: its label says
                                "free" (CPython keeps one such arena)
strip    every byte the allocator holds, in address order, wrapped into rows
         of `row_bins` bins (left to right, then down); each bin's colour is
         the mix of its bytes' kinds (KIND_COLORS: live, slack, cached, free,
         overhead, unused, unknown) weighted by bytes; a black tick starts
         each segment (a separately mapped range), listed on the right.

Geometry is fixed (picture.Frame): cell (row r, pool/bin c) is the data
point (c + 0.5, r + 0.5) of the main axes, so tests find it with
Frame.pixel.  With several snapshots, OUT.png gets the first and
OUT-STEP.png each of the others; OUT.gif is an animation of all of them
(frames also written as OUT-frames/NNN.png).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import picture  # noqa: E402

EMPTY_COLOR = "#a6a6a6"
UNCARVED_COLOR = "#f2f2f2"
LOST_COLOR = "#404040"
RETURNED_COLOR = "#f4b6c2"
NODATA_COLOR = "#ffffff"
KIND_COLORS = {
    "live": "#08519c",
    "slack": "#6baed6",
    "cached": "#fd8d3c",
    "free": "#fff3a0",
    "overhead": "#cb181d",
    "unused": "#d9d9d9",
    "unknown": "#7f7f7f",
}
KIND_MEANING = {
    "live": "live (requested bytes)",
    "slack": "slack (usable beyond the request)",
    "cached": "in use to the allocator, not to the program (caches, the process's own)",
    "free": "free",
    "overhead": "overhead (headers, tags, waste)",
    "unused": "held, never carved",
    "unknown": "between live blocks (no walk)",
}
MIN_BLOCK, MAX_BLOCK = 8, 512
WIDTH = 1200
MAX_ROWS = 96


def block_color(block_size):
    """The colour of a size class on the fixed 16..512-byte scale (turbo)."""
    import matplotlib
    t = (min(max(block_size, MIN_BLOCK), MAX_BLOCK) - MIN_BLOCK) / (MAX_BLOCK - MIN_BLOCK)
    return tuple(matplotlib.colormaps["turbo"](0.08 + 0.84 * t)[:3])


def shade(rgb, fullness):
    """rgb mixed with white: fullness 1 is rgb itself, 0 is 80% white."""
    a = 0.2 + 0.8 * max(0.0, min(1.0, fullness))
    return tuple(1.0 - a * (1.0 - c) for c in rgb)


def pool_rgb(pool):
    state, _szidx, block_size, nused, nblocks = pool
    if state in ("used", "full"):
        return shade(block_color(block_size), nused / nblocks if nblocks else 1.0)
    return picture.hex_rgb({"empty": EMPTY_COLOR, "uncarved": UNCARVED_COLOR,
                            "lost": LOST_COLOR}[state])


def shown_arenas(snap):
    """The arena slots drawn: those holding an arena or that held one."""
    return [a for a in snap["arenas"] if a["address"] or a["returned"]]


def is_free_arena(a):
    return a["address"] and a["nfreepools"] == a["ntotalpools"]


def human(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return ("%d %s" % (n, unit)) if unit == "B" else ("%.1f %s" % (n, unit))
        n /= 1024.0


def where(doc, snap):
    unit = "op" if doc["step_unit"] == "op" else "line"
    tag = " (peak)" if snap["step"] == doc["peak_step"] else ""
    tag = tag or (" (end)" if snap["step"] == doc["steps"] else "")
    return "%s %d of %d%s" % (unit, snap["step"], doc["steps"], tag)


def title(doc, snap):
    held = snap["held_bytes"]
    return "%s: %s, %s\n%d live blocks, %s live%s" % (
        doc["allocator"], os.path.basename(doc["input"]), where(doc, snap),
        snap["live_blocks"], human(snap["live_bytes"]),
        "" if held is None else ", %s held from the system" % human(held))


# ---- the arena picture -------------------------------------------------------

def arena_geometry(nrows):
    """(height in pixels, main axes rect) for nrows arena rows."""
    row_px = 40 if nrows <= 4 else 24 if nrows <= 16 else 16 if nrows <= 40 else 9
    grid_px = max(nrows, 4) * row_px
    height = grid_px + 260
    return height, (110 / WIDTH, 170 / height, 900 / WIDTH, grid_px / height)


def draw_arenas(doc, snap, path, nrows=None):
    import numpy as np
    arenas = shown_arenas(snap)
    more = max(0, len(arenas) - MAX_ROWS)
    arenas = arenas[:MAX_ROWS]
    nrows = max(nrows or 0, len(arenas), 1)
    height, rect = arena_geometry(nrows)
    fr = picture.Frame(WIDTH, height, rect)
    ax = fr.ax
    img = np.ones((nrows, 64, 3))
    for r, a in enumerate(arenas):
        if not a["address"]:
            img[r, :, :] = picture.hex_rgb(RETURNED_COLOR)
            continue
        for c, pool in enumerate(a["pools"]):
            img[r, c, :] = pool_rgb(pool)
    ax.imshow(img, interpolation="nearest", aspect="auto", extent=(0, 64, nrows, 0))
    ax.set_xlim(0, 64)
    ax.set_ylim(nrows, 0)
    ax.set_xticks([0, 16, 32, 48, 64])
    ax.set_xlabel("pool (address order within the arena; %s pools)" % human(
        arenas[0]["pool_size"] if arenas else 0))
    ax.set_yticks([r + 0.5 for r in range(len(arenas))])
    labels = []
    for a in arenas:
        lab = "arenas[%d]" % a["index"]
        if not a["address"]:
            lab += " returned"
        elif is_free_arena(a):
            lab += " free"
        labels.append(lab)
    ax.set_yticklabels(labels, fontsize=7 if nrows <= 40 else 5)
    for r, a in enumerate(arenas):
        if not a["address"]:
            ax.text(32, r + 0.5, "returned to the system", ha="center", va="center",
                    fontsize=7, color="#67000d")
    # Thin grid lines between rows.
    for r in range(1, nrows):
        ax.axhline(r, color="white", linewidth=0.6)
    never = sum(1 for a in snap["arenas"] if not a["address"] and not a["returned"])
    n_live = sum(1 for a in snap["arenas"] if a["address"])
    ax.set_title(title(doc, snap), fontsize=10, loc="left")
    note = "%d arena%s of %s (%d free), %d returned to the system, %d arena_objects never used" % (
        n_live, "" if n_live == 1 else "s", human(arenas[0]["arena_size"]) if arenas else "?",
        sum(1 for a in snap["arenas"] if is_free_arena(a)),
        sum(1 for a in snap["arenas"] if a["returned"]), never)
    if more:
        note += "; %d more arenas not drawn" % more
    outside = snap["strip"]["outside_blocks"]
    if outside:
        note += "; %d live blocks (> 512 bytes) went to the raw allocator" % outside
    fr.fig.text(110 / WIDTH, 18 / height, note, fontsize=8)

    # The block-size scale and the pool states.
    cax = fr.add_axes((110 / WIDTH, 95 / height, 560 / WIDTH, 14 / height))
    sizes = np.arange(MIN_BLOCK, MAX_BLOCK + 1, 8)
    cax.imshow(np.array([[block_color(s) for s in sizes]]), aspect="auto",
               extent=(MIN_BLOCK, MAX_BLOCK, 0, 1))
    cax.set_yticks([])
    cax.set_xticks([16, 64, 128, 256, 384, 512])
    cax.tick_params(labelsize=7)
    cax.set_xlabel("block size (bytes) of a full pool; paler = fewer blocks in use", fontsize=8)
    from matplotlib.patches import Patch
    handles = [Patch(facecolor=EMPTY_COLOR, label="empty pool"),
               Patch(facecolor=UNCARVED_COLOR, edgecolor="#999999", label="uncarved pool"),
               Patch(facecolor=LOST_COLOR, label="lost to alignment"),
               Patch(facecolor=RETURNED_COLOR, label="arena returned")]
    fr.fig.legend(handles=handles, loc="lower left", ncol=4, fontsize=7, frameon=False,
                  bbox_to_anchor=(700 / WIDTH, 82 / height))
    return fr


# ---- the strip ---------------------------------------------------------------

STRIP_HEIGHT = 800
STRIP_RECT = (70 / WIDTH, 150 / STRIP_HEIGHT, 800 / WIDTH, 560 / STRIP_HEIGHT)


def bin_rgb(counts, kinds):
    total = sum(counts)
    if total <= 0:
        return picture.hex_rgb(NODATA_COLOR)
    rgb = [0.0, 0.0, 0.0]
    for n, k in zip(counts, kinds):
        if n:
            c = picture.hex_rgb(KIND_COLORS[k])
            for i in range(3):
                rgb[i] += c[i] * n / total
    return tuple(rgb)


def strip_rows(strip):
    return max(1, -(-len(strip["bins"]) // strip["row_bins"]))


def draw_strip(doc, snap, path, nrows=None):
    import numpy as np
    st = snap["strip"]
    kinds, cols = st["kinds"], st["row_bins"]
    rows = max(strip_rows(st), nrows or 0)
    fr = picture.Frame(WIDTH, STRIP_HEIGHT, STRIP_RECT)
    ax = fr.ax
    img = np.ones((rows, cols, 3))
    for i, counts in enumerate(st["bins"]):
        img[i // cols, i % cols, :] = bin_rgb(counts, kinds)
    ax.imshow(img, interpolation="nearest", aspect="auto", extent=(0, cols, rows, 0))
    ax.set_xlim(0, cols)
    ax.set_ylim(rows, 0)
    ax.set_xlabel("bin within the row (%s per bin, %d bins per row)" % (
        human(st["bin_bytes"]), cols))
    ax.set_ylabel("row (address order, top to bottom)")
    segs = st["segments"]
    for start, end, first, walked in segs:
        r, c = divmod(first, cols)
        ax.plot([c, c], [r, r + 1], color="black", linewidth=1.2)
    ax.set_title(title(doc, snap), fontsize=10, loc="left")

    # Totals per kind, and the segments.
    totals = [sum(b[k] for b in st["bins"]) for k in range(len(kinds))]
    held = sum(totals)
    from matplotlib.patches import Patch
    handles = [Patch(facecolor=KIND_COLORS[k], edgecolor="#999999",
                     label="%s: %s (%.1f%%)" % (KIND_MEANING[k], human(t),
                                                 100.0 * t / held if held else 0))
               for k, t in zip(kinds, totals) if t or k in ("live", "free")]
    fr.fig.legend(handles=handles, loc="lower left", ncol=2, fontsize=8, frameon=False,
                  bbox_to_anchor=(70 / WIDTH, 0.005))
    lines = ["%d segment%s%s:" % (len(segs), "" if len(segs) == 1 else "s",
                                  "" if st["walk"] else " (no walk: live blocks)")]
    for start, end, first, walked in segs[:24]:
        lines.append("%#x  %s%s" % (start, human(end - start), "" if walked else "  *"))
    if len(segs) > 24:
        lines.append("... %d more" % (len(segs) - 24))
    if not st["walk"]:
        lines.append("")
        lines.append("* from the live set: %s" % doc["allocator"])
        lines.append("  has no heap walk")
    fr.fig.text(890 / WIDTH, 710 / STRIP_HEIGHT, "\n".join(lines), fontsize=7, va="top",
                family="monospace")
    return fr


# ---- driver ------------------------------------------------------------------

def view_of(snap, view):
    if view == "auto":
        return "arenas" if "arenas" in snap else "strip"
    if view == "arenas" and "arenas" not in snap:
        raise ValueError("this allocator has no arena view (only pymalloc, "
                         "pymalloc-classic and cpython have); use --view strip")
    return view


def render(doc, snap, path, view, nrows=None):
    v = view_of(snap, view)
    fr = (draw_arenas if v == "arenas" else draw_strip)(doc, snap, path, nrows)
    fr.save(path)
    return fr


def frame_rows(doc, view):
    """Rows that fit every snapshot, so animation frames share a size."""
    n = 1
    for s in doc["snapshots"]:
        if view_of(s, view) == "arenas":
            n = max(n, min(len(shown_arenas(s)), MAX_ROWS))
        else:
            n = max(n, strip_rows(s["strip"]))
    return n


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("json")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--view", choices=("auto", "arenas", "strip"), default="auto")
    args = ap.parse_args(argv)
    try:
        with open(args.json) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print("draw_map.py: %s: %s" % (args.json, e), file=sys.stderr)
        return 2
    snaps = doc.get("snapshots") or []
    if not snaps:
        print("draw_map.py: %s: no snapshot to draw" % args.json, file=sys.stderr)
        return 2
    base, ext = os.path.splitext(args.output)
    try:
        if ext.lower() == ".gif":
            outdir = base + "-frames"
            os.makedirs(outdir, exist_ok=True)
            rows = frame_rows(doc, args.view)
            frames = []
            for i, s in enumerate(snaps):
                p = os.path.join(outdir, "%03d.png" % i)
                render(doc, s, p, args.view, rows)
                frames.append(p)
            from PIL import Image
            imgs = [Image.open(p).convert("RGB") for p in frames]
            imgs[0].save(args.output, save_all=True, append_images=imgs[1:],
                         duration=400, loop=0, optimize=False)
            print(args.output)
            print("%s/ (%d frames)" % (outdir, len(frames)))
            return 0
        picture.check_output_name(args.output)
        render(doc, snaps[0], args.output, args.view)
        print(args.output)
        for s in snaps[1:]:
            p = "%s-%d%s" % (base, s["step"], ext)
            render(doc, s, p, args.view)
            print(p)
    except ValueError as e:
        print("draw_map.py: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
