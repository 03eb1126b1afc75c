"""gbench_context.py: what the report scripts say about the machine a Google
Benchmark run took place on, from the JSON's "context" object."""


def machine_sentence(ctx, build_note):
    """One sentence: CPUs, clock, load, date and Google Benchmark's own build
    type, followed by `build_note` (what was built how)."""
    return ("Machine: %s CPUs at %s MHz, load average %s; run %s.  (Google Benchmark "
            "reports its own library's build type as %s: that is Debian's libbenchmark%s)" % (
                ctx.get("num_cpus", "?"), ctx.get("mhz_per_cpu", "?"),
                " ".join("%.2f" % x for x in ctx.get("load_avg", [])) or "?",
                ctx.get("date", "?"), ctx.get("library_build_type", "?"), build_note))
