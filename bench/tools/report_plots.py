"""report_plots.py: the PNG plots of results/REPORT.md (report.py).

Every plot is 1200 x 600 pixels (12 x 6 inches at 100 dpi, never cropped),
drawn with matplotlib's Agg backend, so the same numbers give the same bytes.
One colour per allocator in every plot, heaplab's own allocators in blues,
greens and purples, the peers (glibc, CPython's obmalloc, jemalloc,
mimalloc, tcmalloc) in reds, oranges and browns; in line plots the peers are
also dashed.  An allocator this table does not know gets a grey from a hash
of its name (the same grey every time).

Ratios are drawn as bars that start at 1 on a log axis: a bar going up is
better than the reference (glibc), going down worse, and 2x and 0.5x are the
same length.  The caller supplies the numbers; nothing here reads a file.
"""
import zlib

WIDTH_IN, HEIGHT_IN, DPI = 12, 6, 100

OWN_COLORS = {
    "pymalloc": "#08306b",
    "pymalloc-classic": "#4292c6",
    "seqfit-first": "#9ecae1",
    "seqfit-next": "#41b6c4",
    "seqfit-best": "#225ea8",
    "segregated-simple": "#74c476",
    "segregated-fit": "#238b45",
    "buddy": "#9e9ac8",
    "tlsf": "#54278f",
}
PEER_COLORS = {
    "glibc": "#7f2704",
    "cpython": "#f16913",
    "jemalloc": "#fdae6b",
    "mimalloc": "#cb181d",
    "tcmalloc": "#e7298a",
}
# The two sides of the GC plot.
IMPL_COLORS = {"heaplab": OWN_COLORS["pymalloc"], "cpython": PEER_COLORS["cpython"]}


def color(name):
    if name in OWN_COLORS:
        return OWN_COLORS[name]
    if name in PEER_COLORS:
        return PEER_COLORS[name]
    if name in IMPL_COLORS:
        return IMPL_COLORS[name]
    g = 0x50 + zlib.crc32(name.encode()) % 0x60
    return "#%02x%02x%02x" % (g, g, g)


def is_peer(name):
    return name in PEER_COLORS


def _pyplot():
    """matplotlib.pyplot on the Agg backend (ImportError if matplotlib is
    missing: the caller says so in the report)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"font.size": 10, "axes.titlesize": 12,
                         "svg.hashsalt": "heaplab", "path.simplify": False})
    return plt


def available():
    try:
        _pyplot()
        return True
    except ImportError:
        return False


def _figure(plt, ncols=1):
    fig, axes = plt.subplots(1, ncols, figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, squeeze=False)
    return fig, list(axes[0])


def _save(plt, fig, path):
    # No bbox_inches="tight": the size stays 1200 x 600.  No date in PNG
    # metadata; the Software key is dropped so a matplotlib upgrade alone does
    # not change the bytes.
    fig.savefig(path, dpi=DPI, format="png", metadata={"Software": None})
    plt.close(fig)


def _legend(fig, handles, labels, top=0.84):
    if not handles:
        return
    # About 6.5 px per character at 9 pt, plus the handle: as many columns
    # as fit in the width.
    longest = max(len(str(x)) for x in labels)
    ncol = max(1, min(len(labels), int((WIDTH_IN * DPI - 60) // (longest * 6.5 + 50))))
    fig.legend(handles, labels, loc="upper center", ncol=ncol, frameon=False,
               bbox_to_anchor=(0.5, 0.995), fontsize=9)
    rows = (len(labels) + ncol - 1) // ncol
    fig.subplots_adjust(top=min(top, 0.93 - 0.045 * rows))


def _log_limits(values, ref):
    vals = [v for v in values if v is not None and v > 0] + ([ref] if ref else [])
    lo, hi = min(vals), max(vals)
    return lo / 1.35, hi * 1.35


def _ratio_bars(ax, groups, series, values, ref, ylabel, title):
    """Grouped bars: one group per entry of groups, one bar per series name
    with a value; values[(group, name)] -> float.  Bars start at ref on a
    log axis.  Returns the legend handles by name."""
    handles = {}
    present = [s for s in series if any(values.get((g, s)) for g in groups)]
    n = max(len(present), 1)
    width = 0.8 / n
    for i, s in enumerate(present):
        xs, hs = [], []
        for j, g in enumerate(groups):
            v = values.get((g, s))
            if v is None or v <= 0:
                continue
            xs.append(j - 0.4 + width * (i + 0.5))
            hs.append(v)
        if not xs:
            continue
        base = ref if ref else 1.0
        bars = ax.bar(xs, [h - base for h in hs], width=width * 0.92, bottom=base,
                      color=color(s), edgecolor="none", label=s)
        handles[s] = bars
    ax.set_yscale("log")
    lo, hi = _log_limits([v for v in values.values()], ref)
    ax.set_ylim(lo, hi)
    if ref:
        ax.axhline(ref, color="black", linewidth=0.8)
    ax.set_xticks(range(len(groups)))
    rot = 0 if sum(len(g) for g in groups) < 90 else 30
    ax.set_xticklabels(groups, rotation=rot, ha="right" if rot else "center", fontsize=9)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", which="both", color="#dddddd", linewidth=0.5)
    ax.set_axisbelow(True)
    _ratio_ticks(ax, hi / lo)
    return handles, rot


def _ratio_ticks(ax, span):
    """Readable ticks (0.5x, 1x, 2x ...) on a log ratio axis; within less
    than a factor 10 the minor ticks are labelled too."""
    from matplotlib.ticker import FuncFormatter, LogLocator
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_minor_locator(LogLocator(base=10, subs=(1.5, 3.0, 4.0, 6.0, 7.0, 8.0, 9.0)))
    label = FuncFormatter(lambda v, _: "%gx" % float("%.2g" % v))
    ax.yaxis.set_major_formatter(label)
    ax.yaxis.set_minor_formatter(label if span < 10 else FuncFormatter(lambda v, _: ""))


def _plain_ticks(ax):
    """Ticks at 1, 2, 5 x 10^k labelled as plain numbers on a log y axis."""
    from matplotlib.ticker import FuncFormatter, LogLocator
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: "%g" % v))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def ratio_bars(path, title, groups, series, values, ref, ylabel):
    """One panel of grouped ratio bars (throughput, fragmentation)."""
    plt = _pyplot()
    fig, (ax,) = _figure(plt)
    handles, rot = _ratio_bars(ax, groups, series, values, ref, ylabel, title)
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.22 if rot else 0.09)
    names = [s for s in series if s in handles]
    _legend(fig, [handles[s] for s in names], names)
    _save(plt, fig, path)


def ratio_bars_pair(path, panels, series):
    """Two panels side by side: panels = [(title, groups, values, ref,
    ylabel)] (whole-program time and RSS)."""
    plt = _pyplot()
    fig, axes = _figure(plt, len(panels))
    handles, rotated = {}, False
    for ax, (title, groups, values, ref, ylabel) in zip(axes, panels):
        h, rot = _ratio_bars(ax, groups, series, values, ref, ylabel, title)
        handles.update(h)
        rotated |= bool(rot)
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.22 if rotated else 0.09, wspace=0.25)
    names = [s for s in series if s in handles]
    _legend(fig, [handles[s] for s in names], names)
    _save(plt, fig, path)


def log_lines(path, panels, xlabel, ylabel):
    """Log-log line plots, one panel per entry of panels = [(title,
    [(label, color, dashed, marker, [(x, y), ...])])]; the legend shows each
    label once."""
    plt = _pyplot()
    fig, axes = _figure(plt, len(panels))
    handles = {}
    for ax, (title, lines) in zip(axes, panels):
        for label, col, dashed, marker, pts in lines:
            pts = sorted((x, y) for x, y in pts if x and y and x > 0 and y > 0)
            if not pts:
                continue
            (h,) = ax.plot([p[0] for p in pts], [p[1] for p in pts], color=col,
                           linestyle="--" if dashed else "-", marker=marker, markersize=5,
                           linewidth=1.6, label=label)
            handles.setdefault(label, h)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(which="both", color="#dddddd", linewidth=0.5)
        ys = [y for _, _, _, _, pts in lines for _, y in pts if y and y > 0]
        if ys and max(ys) == min(ys):
            ax.set_ylim(min(ys) / 1.5, max(ys) * 1.5)
        _plain_ticks(ax)
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.1, wspace=0.22)
    labels = list(handles)
    _legend(fig, [handles[k] for k in labels], labels)
    _save(plt, fig, path)


def slug(text):
    """A file-name-safe form of text (letters, digits, '-', '_')."""
    out = "".join(c if c.isalnum() or c in "-_" else "_" for c in text)
    return out.strip("_") or "x"
