/* obmalloc_diff_fuzz.c: one op program on heaplab's pymalloc and on CPython
 * 3.11's own obmalloc (libpython), through the fidelity pair
 * (lib/pymalloc/fidelity.h); their _debugmallocstats must be identical.
 *
 * Input format (every byte string is a program; a short tail just ends it;
 * at most MAX_INPUT bytes), ops of 4 bytes from byte 0:
 *
 *     OP           bits 0-2 the kind, bits 3-7 X (0..31)
 *                    0, 1  malloc(size)          into SLOT (an occupied slot
 *                                                is freed first)
 *                    2     calloc(X + 1, size / (X + 1))   (likewise)
 *                    3     realloc(SLOT, size)   (malloc if empty)
 *                    4     free(SLOT)
 *                    5     checkpoint: the full comparison below, now
 *                    6     group malloc: the 128 slots of group SLOT % 64
 *                          (slots 128 g .. 128 g + 127), slot i getting
 *                          malloc((size + i * X) % 513): one size class or
 *                          a spread of them, up to 63 pools at once
 *                    7     group free / realloc, by X % 8: free all forward,
 *                          even slots, odd slots, all backward, every 4th,
 *                          first half, second half; 7: realloc slot i to
 *                          (size + i) % 513
 *     SLOT         the slot (0..255) for kinds 0-4; the group for 6, 7
 *     SIZE         16 bits little-endian, V: by V >> 13,
 *                    0..5  (V & 0x1fff) % 513  0..512  (pymalloc's range)
 *                    6     V & 0x1fff          0..8191 (mostly raw)
 *                    7     512 + (V & 0x1fff)  512..8703 (the threshold, raw)
 *
 * 8192 slots: the group ops reach 1 MiB of small blocks in 16 ops, so the
 * arena lists (usable_arenas sorted by nfreepools, nfp2lasta, arenas freed
 * and the last one kept) are exercised, not just pools.
 *
 * Oracles (violation() aborts; the pair logs the difference first):
 *   - every request succeeds on both sides; every block holds its fill byte
 *     when it is realloc'd or freed (fidelity.c), calloc's is zeroed,
 *     realloc keeps the prefix;
 *   - a cheap digest both sides expose identically: after every block op
 *     (fidelity_pair_same_block), for a block pymalloc serves (CPython's
 *     rule: malloc/calloc of 1..512 bytes, kept through reallocs within
 *     1..512; a raw block stays raw), the same size class and the same
 *     offset inside the `fixed` arena source's window -- so the same arena
 *     slot, pool and block; after every op of the input
 *     (fidelity_pair_same_counts), the same number of live blocks
 *     (heaplab's live_blocks, CPython's _Py_GetAllocatedBlocks).  Equal
 *     placement of every block implies equal per-class pool and block
 *     counts, the bulk of the stats; the full text adds the arena counters
 *     and the unused-pool, quantisation and radix-tree totals;
 *   - the full comparison (fidelity_pair_checkpoint: both
 *     _debugmallocstats texts identical line for line, heaplab's hl_check)
 *     every CHECK_UNITS block ops, on op 5, after the last op, and after
 *     freeing everything;
 *   - then the canonical state: the stats text (both sides, being equal)
 *     equals the one recorded at start-up, except the three cumulative
 *     lines (# arenas allocated total, reclaimed, highwater mark).
 *
 * Why one pair for the whole process.  libpython's obmalloc is static
 * state in libpython (usedpools, arenas, usable_arenas, counters) with no
 * reset, and the process cannot load a second copy; a fresh state per input
 * would need a fork per input, whose coverage libFuzzer cannot see.  So the
 * pair is made once, in LLVMFuzzerInitialize, and heaplab's side is kept
 * too, so both sides always share one history.  A warm-up (one block,
 * freed) brings both to the canonical state: one arena (CPython 3.9+ keeps
 * the last wholly free arena), every pool free.  Each input starts there,
 * and is checked to end there after freeing everything: every input frees
 * its blocks in slot order, and once all are free at most one arena is
 * left.  What still carries over from earlier inputs, invisible in the
 * stats: which fixed-source slot the kept arena is in, which of its pools
 * have been carved and their stale size classes and free-list orders, the
 * order of the arena objects, and the three cumulative counters.  Those
 * decide where blocks go, so the same input can place blocks differently
 * after a different history -- identically on both sides if heaplab is
 * faithful, which is what is checked; a difference that needs a particular
 * history to show may not reproduce from its crash input alone (the corpus
 * test replays every file in one process, in name order).
 *
 * Cost: the block digest is a few loads; the count is O(1) on heaplab's
 * side and, on CPython's, _Py_GetAllocatedBlocks' walk over its arenas'
 * pools (once per input op, not per block of a group op); a full
 * comparison prints both ~50-line texts into memory and compares them, so
 * it runs every CHECK_UNITS block ops, not after each.  fuzz/README.md has
 * the measured exec/s.
 */
#include "lib/pymalloc/fidelity.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DIFF_LSAN 1
#include <sanitizer/lsan_interface.h>
#endif
#endif

#define NGROUPS 64
#define GROUP 128
#define NSLOTS (NGROUPS * GROUP)
#define SINGLE_SLOTS 256
#define CHECK_UNITS 512
#define MAX_INPUT (16u << 10)

static fidelity_pair_t *pair;
static char *canonical;        /* masked stats text of the canonical state */
static size_t input_op;
static size_t units;           /* block ops since the last full comparison */

static void violation(const char *what) __attribute__((noreturn));
static void violation(const char *what)
{
    fprintf(stderr, "obmalloc_diff_fuzz: op %zu of the input: %s (the difference is above)\n",
            input_op, what);
    abort();
}

static void ok(int rc, const char *what)
{
    if (rc != 0)
        violation(what);
}

/* The stats text with the three cumulative lines blanked. */
static char *masked(const char *text)
{
    static const char *const cumulative[] = {
        "# arenas allocated total", "# arenas reclaimed", "# arenas highwater mark",
    };
    char *m = strdup(text);
    if (m == NULL)
        abort();
    for (char *line = m; *line; ) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        for (size_t k = 0; k < sizeof cumulative / sizeof cumulative[0]; k++)
            if (strncmp(line, cumulative[k], strlen(cumulative[k])) == 0)
                memset(line, '.', len);
        line += len + (end != NULL);
    }
    return m;
}

static void full_check(const char *what)
{
    ok(fidelity_pair_checkpoint(pair, what), what);
    units = 0;
}

/* After each block op, on the slot it touched. */
static void digest(size_t s)
{
    ok(fidelity_pair_same_block(pair, s, "digest"), "block placement differs");
    if (++units >= CHECK_UNITS)
        full_check("every 512 block ops");
}

static size_t decode_size(uint16_t v)
{
    unsigned k = v >> 13;
    if (k <= 5)
        return (v & 0x1fffu) % 513;
    if (k == 6)
        return v & 0x1fffu;
    return 512 + (v & 0x1fffu);
}

static void group_free_or_realloc(size_t g, unsigned x, size_t size)
{
    size_t base = g * GROUP;
    for (size_t k = 0; k < GROUP; k++) {
        size_t i = k, s;
        switch (x % 8) {
        case 0: break;                                     /* forward */
        case 1: if (i % 2 != 0) continue; break;            /* even */
        case 2: if (i % 2 == 0) continue; break;            /* odd */
        case 3: i = GROUP - 1 - k; break;                   /* backward */
        case 4: if (i % 4 != 0) continue; break;            /* every 4th */
        case 5: if (i >= GROUP / 2) continue; break;        /* first half */
        case 6: if (i < GROUP / 2) continue; break;         /* second half */
        default:                                            /* realloc */
            s = base + i;
            if (fidelity_pair_live(pair, s)) {
                ok(fidelity_pair_realloc(pair, s, (size + i) % 513), "group realloc");
                digest(s);
            }
            continue;
        }
        s = base + i;
        if (fidelity_pair_live(pair, s)) {
            ok(fidelity_pair_free(pair, s), "group free");
            digest(s);
        }
    }
}

static void run_op(uint8_t opb, uint8_t slot, uint16_t v)
{
    unsigned x = opb >> 3;
    size_t n = decode_size(v), s = slot % SINGLE_SLOTS;
    switch (opb & 7) {
    case 0:
    case 1:
        ok(fidelity_pair_malloc(pair, s, n), "malloc");
        digest(s);
        break;
    case 2:
        ok(fidelity_pair_calloc(pair, s, x + 1, n / (x + 1)), "calloc");
        digest(s);
        break;
    case 3:
        ok(fidelity_pair_realloc(pair, s, n), "realloc");
        digest(s);
        break;
    case 4:
        ok(fidelity_pair_free(pair, s), "free");
        digest(s);
        break;
    case 5:
        full_check("checkpoint op");
        break;
    case 6: {
        size_t g = slot % NGROUPS;
        for (size_t i = 0; i < GROUP; i++) {
            ok(fidelity_pair_malloc(pair, g * GROUP + i, (n + i * x) % 513), "group malloc");
            digest(g * GROUP + i);
        }
        break;
    }
    default:
        group_free_or_realloc(slot % NGROUPS, x, n);
        break;
    }
}

/* Free everything; both sides must match, and be in the canonical state. */
static void back_to_canonical(const char *when)
{
    ok(fidelity_pair_free_all(pair), "freeing everything");
    full_check(when);
    char *a, *b;
    fidelity_pair_stats(pair, &a, &b);
    char *m = masked(a);
    if (canonical != NULL && strcmp(m, canonical) != 0) {
        char where[1024];
        fidelity_compare_text(m, canonical, where, sizeof where);
        fprintf(stderr, "obmalloc_diff_fuzz: %s: not the canonical state (cumulative lines "
                "masked), first difference at %s\n  (\"cpython\" above: the canonical text)\n",
                when, where);
        violation("not back in the canonical state");
    }
    if (canonical == NULL)
        canonical = m;
    else
        free(m);
    free(a);
    free(b);
}

/* heaplab's pymalloc keeps its state (OMState) in a mapping of its own,
 * which LeakSanitizer does not scan; its arenas vector and radix-tree nodes
 * (raw mallocs) are reachable only from there.  With the pair kept for the
 * process, an input that grows them would be reported as leaking them, so
 * the mapping is registered as a root region. */
static void register_lsan_root(const void *state)
{
#ifdef DIFF_LSAN
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    while (maps && fgets(line, sizeof line, maps)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && (uintptr_t)state >= lo &&
            (uintptr_t)state < hi) {
            __lsan_register_root_region((void *)lo, hi - lo);
            break;
        }
    }
    if (maps)
        fclose(maps);
#else
    (void)state;
#endif
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    pair = fidelity_pair_new(NSLOTS, stderr);
    if (pair == NULL)
        abort();
    register_lsan_root(fidelity_pair_heaplab_state(pair));
    /* Warm-up: CPython's first arena, then the canonical state. */
    ok(fidelity_pair_malloc(pair, 0, 16), "warm-up");
    back_to_canonical("warm-up");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return -1;
    size_t pos = 0;
    units = 0;
    for (input_op = 0; pos + 4 <= size; input_op++, pos += 4) {
        run_op(data[pos], data[pos + 1], (uint16_t)(data[pos + 2] | (data[pos + 3] << 8)));
        ok(fidelity_pair_same_counts(pair, "digest"), "live block counts differ");
    }
    full_check("after the last op");
    back_to_canonical("after freeing everything");
    return 0;
}
