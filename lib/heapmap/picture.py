"""picture.py: what every heap picture shares (draw_map.py, draw_footprint.py,
draw_generations.py).

A picture is drawn with matplotlib's Agg backend on a figure of a fixed size
in pixels, and every axes sits at a fixed fraction of the figure (never
tight_layout, never bbox_inches="tight"), so a data point lands on a pixel
the data alone determine: `Frame.pixel(x, y)` says which, and the tests read
the PNG back and look there.  The output format follows the file name
(.png or .svg); PNGs carry no date or software version, so the same data
give the same bytes.

Allocator colours are the report's (bench/tools/report_plots.py), so a
picture and a benchmark plot agree on what each colour means.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "bench", "tools"))
import report_plots  # noqa: E402  (the allocator colours)

DPI = 100
FORMATS = (".png", ".svg")


def allocator_color(name):
    return report_plots.color(name)


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def check_output_name(path):
    """The format of `path` from its extension; ValueError if neither."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise ValueError("%s: the picture's name must end in .png or .svg" % path)
    return ext


class Frame:
    """A figure of width x height pixels with one axes at the figure
    fractions rect = (left, bottom, width, height)."""

    def __init__(self, width, height, rect):
        self.plt = pyplot()
        self.width, self.height = width, height
        self.fig = self.plt.figure(figsize=(width / DPI, height / DPI), dpi=DPI)
        self.rect = rect
        self.ax = self.fig.add_axes(rect)

    def add_axes(self, rect):
        return self.fig.add_axes(rect)

    def pixel(self, x, y, ax=None):
        """The (column, row) of the PNG pixel that data point (x, y) of `ax`
        (default: the main axes) falls on, row 0 at the top."""
        ax = ax or self.ax
        self.fig.canvas.draw()
        px, py = ax.transData.transform((x, y))
        return int(px), int(self.height - py)

    def save(self, path):
        ext = check_output_name(path)
        meta = {"Software": None} if ext == ".png" else {"Date": None}
        self.fig.savefig(path, dpi=DPI, metadata=meta)
        self.plt.close(self.fig)


def read_png(path):
    """The PNG as an array of rows of RGBA floats in 0..1 (tests)."""
    import matplotlib.image
    return matplotlib.image.imread(path)


def hex_rgb(color):
    """'#rrggbb' (or a matplotlib colour name) as an (r, g, b) in 0..1."""
    import matplotlib.colors
    return tuple(matplotlib.colors.to_rgb(color))


def close(rgb_a, rgb_b, tol=0.06):
    return all(abs(a - b) <= tol for a, b in zip(rgb_a[:3], rgb_b[:3]))
