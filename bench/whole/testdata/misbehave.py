"""misbehave: a program for whole_test.sh that fails on purpose under some
allocators, to check that whole.py notices (never a benchmark).

It follows the programs' protocol (a SCALE argument, one digest line) and,
depending on the library in LD_PRELOAD:
    libmimalloc*        aborts (SIGABRT): a crash;
    libtcmalloc*        sleeps for a minute: a hang, for --timeout;
    libhl_*             prints a digest that differs from glibc's;
    none (glibc, cpython), or any other
                        prints "misbehave ok".
"""
import os
import sys
import time

preload = os.path.basename(os.environ.get("LD_PRELOAD", ""))
if preload.startswith("libmimalloc"):
    sys.stdout.flush()
    os.abort()
if preload.startswith("libtcmalloc"):
    time.sleep(60)
print("misbehave", "different" if preload.startswith("libhl_") else "ok")
