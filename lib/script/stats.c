/* stats.c: `heaplab script --stats`, the report printed at the end of a
 * script, after the final collection and leak check (or after the error
 * that stopped it), just before the runtime is destroyed:
 *
 *     stats: gc generation 0: 3 collections, 12 collected, 0 uncollectable
 *     stats: gc generation 1: 0 collections, 0 collected, 0 uncollectable
 *     stats: gc generation 2: 2 collections, 1 collected, 0 uncollectable
 *     stats: gc count: 0 0 0
 *     stats: MEM and OBJ domains (pymalloc): held 1048576 bytes (peak ...),
 *            4 live blocks, 160 live bytes           (one line)
 *     ... the allocator's own detailed report (hl_print_stats: for pymalloc
 *         and cpython, sys._debugmallocstats()'s format) ...
 *
 * The counts are gc.get_stats() and gc.get_count(); the start-up collection
 * (gc.collect() before gc.freeze()) is one of generation 2's.  The
 * allocator figures are what the allocator says it knows (hl_stats_t.valid);
 * a figure it cannot know is left out rather than shown as 0.  MEM and OBJ
 * normally share one allocator and are reported once; when their slots
 * differ (the debug hooks decorate each domain separately) each is
 * reported.
 */
#include "script_internal.h"

#include "heaplab/gc.h"
#include "heaplab/pymem.h"

static void print_domain(FILE *err, hl_pymem_t *pm, hl_pymem_domain_t d, const char *label)
{
    hl_allocator_t view;
    hl_stats_t s;
    hl_pymem_domain_view(pm, d, &view);
    hl_stats(&view, &s);
    fprintf(err, "stats: %s (%s):", label, hl_pymem_name(pm));
    const char *sep = " ";
    if (s.valid & HL_STAT_HELD) {
        fprintf(err, "%sheld %zu bytes (peak %zu)", sep, s.held_bytes, s.held_peak_bytes);
        sep = ", ";
    }
    if (s.valid & HL_STAT_LIVE_BLOCKS) {
        fprintf(err, "%s%zu live blocks", sep, s.live_blocks);
        sep = ", ";
    }
    if (s.valid & HL_STAT_LIVE_BYTES) {
        fprintf(err, "%s%zu live bytes", sep, s.live_bytes);
        sep = ", ";
    }
    if (!s.valid)
        fprintf(err, " no figures known");
    fprintf(err, "\n");
    if (hl_print_stats(&view, err) == 0)
        fprintf(err, "stats: (%s has no detailed statistics)\n", label);
}

void _hl_script_print_stats(hl_runtime_t *rt, FILE *err)
{
    hl_gc_generation_stats_t gs[HL_GC_NUM_GENERATIONS];
    int count[HL_GC_NUM_GENERATIONS];
    hl_gc_get_stats(rt, gs);
    hl_gc_get_count(rt, count);
    for (int g = 0; g < HL_GC_NUM_GENERATIONS; g++)
        fprintf(err, "stats: gc generation %d: %zd collections, %zd collected, "
                "%zd uncollectable\n", g, gs[g].collections, gs[g].collected,
                gs[g].uncollectable);
    fprintf(err, "stats: gc count: %d %d %d\n", count[0], count[1], count[2]);

    hl_pymem_t *pm = hl_runtime_pymem(rt);
    hl_mem_allocator_ex_t mem, obj;
    hl_pymem_get_allocator(pm, HL_PYMEM_DOMAIN_MEM, &mem);
    hl_pymem_get_allocator(pm, HL_PYMEM_DOMAIN_OBJ, &obj);
    if (mem.ctx == obj.ctx && mem.malloc == obj.malloc && mem.free == obj.free) {
        print_domain(err, pm, HL_PYMEM_DOMAIN_OBJ, "MEM and OBJ domains");
    } else {
        print_domain(err, pm, HL_PYMEM_DOMAIN_MEM, "MEM domain");
        print_domain(err, pm, HL_PYMEM_DOMAIN_OBJ, "OBJ domain");
    }
    fflush(err);
}
