"""The command line every program of bench/whole/programs/ takes:

    python3 PROGRAM.py [SCALE]

SCALE (default 1) is a positive number that multiplies the program's work;
anything else is a usage error (a message on stderr, exit status 2).  Not a
program itself: whole.py runs only the programs it names.
"""
import math
import sys


def scale_arg():
    """SCALE from sys.argv, or exit 2 with a message naming the problem."""
    if len(sys.argv) > 2:
        print("usage: %s [SCALE]" % sys.argv[0], file=sys.stderr)
        sys.exit(2)
    text = sys.argv[1] if len(sys.argv) == 2 else "1"
    try:
        scale = float(text)
    except ValueError:
        scale = -1.0
    if not (scale > 0 and math.isfinite(scale)):
        print("%s: SCALE must be a positive number, not '%s'" % (sys.argv[0], text),
              file=sys.stderr)
        sys.exit(2)
    return scale
