"""Compiler options shared by every heaplab target (one place, as abseil does)."""

# Library code: may include lib/internal/ headers.
HL_CORE_COPTS = ["-DHL_BUILD_CORE", "-D_GNU_SOURCE"]

# Tests drive the library through public and internal headers alike.
HL_TEST_COPTS = HL_CORE_COPTS

HL_TEST_LINKOPTS = ["-lcmocka"]

# CPython 3.11 from Debian's libpython3.11-dev (the `cpython` peer and oracle).
HL_PYTHON_COPTS = ["-isystem", "/usr/include/python3.11"]
HL_PYTHON_LINKOPTS = ["-lpython3.11"]
