#!/usr/bin/python3
"""heapscript_py: the CPython 3.11 side of a heap script.

Translates a heap script (docs: /work/shared/spec/heap-script.md, "Heap
script, version 1") into the Python program the spec's "Equivalence with
CPython 3.11" section describes, and runs it on Debian's /usr/bin/python3 (by
that path, whatever python3 comes first on PATH).  With --emit it prints the
program instead.

    heapscript_py.py [--emit] FILE        (FILE may be - for standard input)

The program's standard output is the script's; on an error it writes
`FILE:LINE: error: MESSAGE` to standard error and exits with status 2.

This checker is written independently of the C interpreter (lib/cli): the two
are compared statement by statement by difftest.py, so they must not share
code.

Shape of the generated program
------------------------------
    line 1   import gc, sys  # ... (a comment naming the script)
    line 2   gc.disable(); gc.collect(); gc.freeze()
    line 3   env = {}
    line 4   try:
    line 4+n  the statement of script line n (blank for blank/comment lines)
    ...       pass
              except Exception as e:  (report FILE:LINE from the traceback)

Script line n is program line n + HEADER_LINES, so the handler finds the
failing statement's script line in the traceback (tb_lineno) and the program
stays straight-line code: no per-statement try, closure, helper call or
line-counter store runs between two statements, so the program creates no
objects (and no garbage) of its own besides the `env` dict.  A statement the
translator itself rejects (unknown statement, wrong number of operands, a bad
token) becomes, at its line, code that reports the error and exits with
status 2, so the statements before it still run and print; nothing after it
is translated (it could never run).
"""

import os
import re
import subprocess
import sys

PYTHON = "/usr/bin/python3"

# Lines before script line 1 in the generated program (see the docstring).
HEADER_LINES = 4

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
MAX_TOKEN = 64

_NAME_RE = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
_KEY_RE = re.compile(rb"[A-Za-z0-9_]+")
_INT_RE = re.compile(rb"-?[0-9]+")
# Tokens are separated by spaces or tabs only (not \r, \v, \f: those are
# part of a token, which is then a bad token).
_SEP_RE = re.compile(rb"[ \t]+")


class ScriptError(Exception):
    """A statement the translator rejects; args[0] is the message."""


def _show(tok):
    """A token for an error message: printable ASCII, escapes otherwise."""
    return "'%s'" % tok.decode("latin-1").encode("unicode_escape").decode("ascii")


def _name(tok):
    if len(tok) > MAX_TOKEN:
        raise ScriptError("bad NAME %s: longer than %d characters" % (_show(tok[:20] + b"..."), MAX_TOKEN))
    if not _NAME_RE.fullmatch(tok):
        raise ScriptError("bad NAME %s" % _show(tok))
    return tok.decode("ascii")


def _key(tok, what="KEY"):
    if len(tok) > MAX_TOKEN:
        raise ScriptError("bad %s %s: longer than %d characters" % (what, _show(tok[:20] + b"..."), MAX_TOKEN))
    if not _KEY_RE.fullmatch(tok):
        raise ScriptError("bad %s %s" % (what, _show(tok)))
    return tok.decode("ascii")


def _text(tok):
    return _key(tok, "TEXT")


def _int(tok):
    if not _INT_RE.fullmatch(tok):
        raise ScriptError("bad INT %s" % _show(tok[:40]))
    value = int(tok)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ScriptError("bad INT %s: outside the signed 64-bit range" % _show(tok[:40]))
    return value


def _e(name):
    """Python expression for the object bound to NAME."""
    return "env[%r]" % name


# statement -> (operand parsers, number of optional trailing operands or
#               None for "any number of the last kind", emitter)
def _emit_tuple(n, *items):
    if not items:
        return "env[%r] = ()" % n
    if len(items) == 1:
        return "env[%r] = (%s,)" % (n, _e(items[0]))
    return "env[%r] = (%s)" % (n, ", ".join(_e(a) for a in items))


STATEMENTS = {
    "list": ((_name,), 0, lambda n: "env[%r] = []" % n),
    "dict": ((_name,), 0, lambda n: "env[%r] = {}" % n),
    "tuple": ((_name, _name), None, _emit_tuple),
    "str": ((_name, _text), 1,
            lambda n, t=None: "env[%r] = %r" % (n, n if t is None else t)),
    "int": ((_name, _int), 0, lambda n, v: "env[%r] = %d" % (n, v)),
    "alias": ((_name, _name), 0, lambda n, m: "env[%r] = %s" % (n, _e(m))),
    "append": ((_name, _name), 0,
               lambda l, a: "%s.append(%s)" % (_e(l), _e(a))),
    "setitem": ((_name, _key, _name), 0,
                lambda d, k, a: "%s[%r] = %s" % (_e(d), k, _e(a))),
    "delitem": ((_name, _key), 0, lambda d, k: "del %s[%r]" % (_e(d), k)),
    "pop": ((_name, _int), 1,
            lambda l, i=-1: "%s.pop(%d)" % (_e(l), i)),
    "clear": ((_name,), 0, lambda c: "%s.clear()" % _e(c)),
    "drop": ((_name,), 0, lambda n: "del %s" % _e(n)),
    "collect": ((_int,), 1,
                lambda g=2: "print(%r, gc.collect(%d))" % ("collect %d:" % g, g)),
    "tracked": ((_name,), 0,
                lambda n: "print(%r, 'yes' if gc.is_tracked(%s) else 'no')"
                % ("tracked %s:" % n, _e(n))),
    "sizeof": ((_name,), 0,
               lambda n: "print(%r, sys.getsizeof(%s))" % ("sizeof %s:" % n, _e(n))),
    "count": ((), 0, lambda: "print('count:', *gc.get_count())"),
    "enable": ((), 0, lambda: "gc.enable()"),
    "disable": ((), 0, lambda: "gc.disable()"),
    "threshold": ((_int, _int, _int), 2,
                  lambda *t: "gc.set_threshold(%s)" % ", ".join("%d" % x for x in t)),
}


def tokens_of(line):
    """The tokens of one script line (bytes, no '\\n'); [] if none."""
    line = line.split(b"#", 1)[0].strip(b" \t")
    if not line:
        return []
    return _SEP_RE.split(line)


def translate_statement(toks):
    """Python code for one statement (a list of byte tokens).

    Raises ScriptError for an unknown statement, a wrong number of operands
    or a bad token."""
    word = toks[0]
    try:
        parsers, optional, emit = STATEMENTS[word.decode("ascii")]
    except (UnicodeDecodeError, KeyError):
        raise ScriptError("unknown statement %s" % _show(word[:40])) from None
    operands = toks[1:]
    if optional is None:  # tuple N [A ...]
        lo, hi = 1, len(operands)
        kinds = [parsers[0]] + [parsers[1]] * (len(operands) - 1)
    else:
        lo, hi = len(parsers) - optional, len(parsers)
        kinds = parsers
    if not lo <= len(operands) <= hi:
        if optional is None:
            want = "at least %d operand" % lo
        elif lo == hi:
            want = "%d operand%s" % (lo, "" if lo == 1 else "s")
        else:
            want = "%d to %d operands" % (lo, hi)
        raise ScriptError("%s takes %s, got %d"
                          % (word.decode("ascii"), want, len(operands)))
    values = [parse(tok) for parse, tok in zip(kinds, operands)]
    return emit(*values)


def translate(data, filename):
    """The Python program for a heap script (bytes), as a str."""
    fname = os.fsdecode(filename) if isinstance(filename, bytes) else filename
    out = [
        "import gc, sys  # heap script %s, by heapscript_py.py; script line n"
        " is line n+%d" % (_show(fname.encode("utf-8", "surrogateescape")), HEADER_LINES),
        "gc.disable(); gc.collect(); gc.freeze()",
        "env = {}",
        "try:",
    ]
    assert len(out) == HEADER_LINES
    lines = data.split(b"\n")
    for number, line in enumerate(lines, 1):
        toks = tokens_of(line)
        if not toks:
            out.append("")
            continue
        try:
            code = translate_statement(toks)
        except ScriptError as err:
            msg = "%s:%d: error: %s\n" % (fname, number, err.args[0])
            out.append(" sys.stdout.flush(); sys.stderr.write(%r); sys.exit(2)"
                       "  # %d: rejected by the translator" % (msg, number))
            break
        src = b" ".join(toks).decode("ascii")
        out.append(" %s  # %d: %s" % (code, number, src))
    out.append(" pass")
    out.append("except Exception as e:")
    out.append(" sys.stdout.flush()")
    out.append(" sys.stderr.write('%%s:%%d: error: %%s: %%s\\n' %% (%r,"
               " e.__traceback__.tb_lineno - %d, type(e).__name__, e))"
               % (fname, HEADER_LINES))
    out.append(" sys.exit(2)")
    return "\n".join(out) + "\n"


def read_script(path):
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as f:
        return f.read()


def run_program(program, **kw):
    """Run a generated program on /usr/bin/python3 (isolated mode: no
    PYTHON* variables, no user site).  Returns the CompletedProcess."""
    return subprocess.run([PYTHON, "-I", "-"], input=program.encode("utf-8"), **kw)


def main(argv):
    emit = False
    args = []
    for a in argv[1:]:
        if a == "--emit":
            emit = True
        elif a in ("-h", "--help"):
            print(__doc__.strip().split("\n\n")[1])
            return 0
        elif a.startswith("-") and a != "-":
            sys.stderr.write("heapscript_py: unknown option %s\n" % a)
            return 2
        else:
            args.append(a)
    if len(args) != 1:
        sys.stderr.write("usage: heapscript_py.py [--emit] FILE\n")
        return 2
    path = args[0]
    try:
        data = read_script(path)
    except OSError as err:
        sys.stderr.write("%s:0: error: cannot read: %s\n" % (path, err.strerror))
        return 2
    program = translate(data, path)
    if emit:
        sys.stdout.write(program)
        return 0
    sys.stdout.flush()
    rc = run_program(program).returncode
    return rc if rc >= 0 else 128 - rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
