"""report_data.py: reading Google Benchmark JSON for report.py.

Every JSON report.py reads (results/bench.json, whole.json, gc.json) is
Google Benchmark's (1.7.1): a "context" object and a "benchmarks" list in
which each run is either one repetition (run_type "iteration") or an
aggregate over the repetitions of one run_name (run_type "aggregate",
aggregate_name mean / median / stddev / cv; cv's unit is "percentage" but
its value is a fraction).  This module groups them by run_name:

    {"name": "micro/pairs/glibc/size:16", "run_type": "iteration", ...} ─┐
    {"name": "micro/pairs/glibc/size:16", "run_type": "iteration", ...} ─┼─> Run
    {"name": "micro/pairs/glibc/size:16_median", "run_type": "aggregate"}┘
                                                         key = (micro, pairs, glibc,
                                                                (("size", "16"),))

and answers, for one field, the median and the coefficient of variation
(stdev / mean, sample stdev as Google Benchmark computes it) over the
repetitions.  The repetitions are preferred; a JSON written with
--benchmark_report_aggregates_only has only the aggregates, and then the
median and cv aggregates are read instead (they exist for counters too).

Names are FAMILY/WORKLOAD/ALLOCATOR[/NAME:VALUE...] followed by Google
Benchmark's own suffixes, which are dropped (iterations:N, repeats:N,
min_time:X, min_warmup_time:X, manual_time, real_time, process_time).
An unnamed argument (".../16") keeps an empty name.  Nothing here raises on
a bad run: it becomes a problem string naming the file and the run.
"""
import json
import math
import statistics

DROPPED_PREFIXES = ("iterations:", "repeats:", "min_time:", "min_warmup_time:")
DROPPED_FLAGS = ("manual_time", "real_time", "process_time")
AGGREGATE_NAMES = ("mean", "median", "stddev", "cv")
TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


class LoadError(Exception):
    """A file that could not be read as Google Benchmark JSON; the message
    names the file (and the line, for a syntax error)."""


def load(path):
    """The parsed JSON of path, or LoadError."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise LoadError("%s: cannot read: %s" % (path, e.strerror or e)) from None
    except UnicodeDecodeError as e:
        raise LoadError("%s: not UTF-8 text: %s" % (path, e)) from None
    try:
        doc = json.loads(text)
    except ValueError as e:
        where = ""
        if hasattr(e, "lineno"):
            where = " (line %d, column %d)" % (e.lineno, e.colno)
        raise LoadError("%s: not valid JSON%s: %s" % (path, where,
                                                     getattr(e, "msg", str(e)))) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        raise LoadError("%s: not Google Benchmark JSON (no \"benchmarks\" list)" % path)
    if not isinstance(doc.get("context", {}), dict):
        raise LoadError("%s: \"context\" is not an object" % path)
    return doc


def number(v):
    """v as a finite float, or None (bools, NaN, strings are not numbers)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def split_name(run_name, max_fields=3):
    """(fields, args): the '/'-separated fields before the first argument,
    and the arguments as ((name, value), ...), Google Benchmark's suffixes
    dropped.  A field with ':' starts the arguments; so does any field after
    the first max_fields (an unnamed argument)."""
    fields, args = [], []
    for part in run_name.split("/"):
        if part in DROPPED_FLAGS or part.startswith(DROPPED_PREFIXES):
            continue
        if ":" in part:
            k, _, v = part.partition(":")
            args.append((k, v))
        elif args or len(fields) >= max_fields:
            args.append(("", part))
        else:
            fields.append(part)
    return fields, tuple(args)


def args_text(args, sep=" "):
    """"size=16 live=1000" (or the bare value of an unnamed argument)."""
    return sep.join(("%s=%s" % (k, v)) if k else v for k, v in args)


class Run:
    """Every entry of one run_name: the repetitions' numeric fields, the
    aggregates, the first error."""

    def __init__(self, key, name):
        self.key = key
        self.name = name
        self.reps = []          # one {field: float} per repetition, in order
        self.aggs = {}          # aggregate name -> {field: float}
        self.error = None

    def _fields(self, entry):
        out = {}
        unit = TIME_UNITS.get(entry.get("time_unit", "ns"), 1e-9)
        if entry.get("aggregate_unit") == "percentage":
            unit = 1.0                         # a cv: a ratio, not a time
        for k, v in entry.items():
            x = number(v)
            if x is None:
                continue
            if k in ("real_time", "cpu_time"):
                out[k + "_s"] = x * unit       # seconds, whatever the unit
            out[k] = x
        return out

    def add(self, entry):
        if entry.get("error_occurred"):
            if self.error is None:
                self.error = str(entry.get("error_message") or "error")
            return
        if entry.get("run_type") == "aggregate":
            self.aggs[str(entry.get("aggregate_name"))] = self._fields(entry)
        else:
            self.reps.append(self._fields(entry))

    def values(self, field):
        """The repetitions' values of field (may be empty)."""
        return [r[field] for r in self.reps if field in r]

    def stats(self, field):
        """(median, cv, n): median over the repetitions, cv = stdev / mean
        (a fraction; None with fewer than 2 repetitions or a zero mean), n the
        number of repetitions.  Falls back on the aggregates.  (None, None, 0)
        if the field is nowhere."""
        vals = self.values(field)
        if vals:
            med = statistics.median(vals)
            cv = None
            if len(vals) >= 2:
                m = statistics.mean(vals)
                cv = statistics.stdev(vals) / m if m > 0 else None
            elif "cv" in self.aggs:
                cv = self.aggs["cv"].get(field)
            return med, cv, len(vals)
        for agg in ("median", "mean"):
            if field in self.aggs.get(agg, {}):
                n = int(self.aggs[agg].get("repetitions", 0) or 0)
                cv = self.aggs.get("cv", {}).get(field)
                return self.aggs[agg][field], cv, n
        return None, None, 0

    def median(self, field):
        return self.stats(field)[0]


class Results:
    """One Google Benchmark JSON grouped by run: runs (key -> Run, in the
    order of first appearance), the context, and problems (strings)."""

    def __init__(self, path, doc, shape="FAMILY/WORKLOAD/ALLOCATOR", max_fields=3):
        min_fields = shape.count("/") + 1
        self.path = path
        self.context = doc.get("context", {})
        self.runs = {}
        self.problems = []
        for i, entry in enumerate(doc["benchmarks"]):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                self.problems.append("%s: benchmarks[%d] has no name" % (path, i))
                continue
            name = entry.get("run_name")
            if not isinstance(name, str):
                name = entry["name"]
                if entry.get("run_type") == "aggregate":
                    for a in AGGREGATE_NAMES:
                        if name.endswith("_" + a):
                            name = name[:-len(a) - 1]
                            break
            fields, args = split_name(name, max_fields)
            if len(fields) < min_fields or not all(fields[:min_fields]):
                self.problems.append("%s: run %r is not named %s[/...]" % (path, name, shape))
                continue
            key = (tuple(fields), args)
            run = self.runs.get(key)
            if run is None:
                run = self.runs[key] = Run(key, name)
            run.add(entry)
        for run in self.runs.values():
            if run.error:
                self.problems.append("%s: %s failed: %s" % (path, run.name, run.error))

    def allocator_order(self, seen):
        """The context's heaplab_allocators order, then the others as seen."""
        ctx = self.context.get("heaplab_allocators")
        order = [a for a in ctx.split(",") if a] if isinstance(ctx, str) else []
        return [a for a in order if a in seen] + [a for a in seen if a not in order]


def geomean(values):
    vals = [v for v in values if v is not None and v > 0]
    if not vals:
        return None
    return math.exp(sum(math.log(v) for v in vals) / len(vals))
