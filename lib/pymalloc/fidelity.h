/* fidelity.h: drive heaplab's pymalloc and CPython 3.11's obmalloc with the
 * same operations and compare their _debugmallocstats output line for line.
 * Used by fidelity_test.c and by the differential fuzz target. */
#ifndef HL_FIDELITY_H
#define HL_FIDELITY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct fidelity_program_s {
    uint64_t seed;
    size_t ops;
    size_t checkpoint_every;
    size_t max_live;
} fidelity_program_t;

/* Compare two stats texts.  0 if equal; else the 1-based number of the first
 * differing line, described in `where`. */
int fidelity_compare_text(const char *a, const char *b, char *where, size_t wherelen);

/* Each returns 0 if heaplab matched CPython at every checkpoint and every
 * heaplab invariant held; otherwise prints the first difference to `log`.
 * Each must run in a process whose libpython obmalloc is untouched. */
int fidelity_run_random(const fidelity_program_t *prog, FILE *log);
int fidelity_run_ramp_and_drain(FILE *log);
int fidelity_run_traces(const char *dir, FILE *log);

/* The pair, for other drivers (the fuzz target): op codes applied to both. */
typedef struct fidelity_pair_s fidelity_pair_t;
fidelity_pair_t *fidelity_pair_new(size_t nslots, FILE *log);
/* Each returns 0, or -1 after logging a difference or a broken invariant. */
int fidelity_pair_malloc(fidelity_pair_t *fp, size_t slot, size_t size);
int fidelity_pair_calloc(fidelity_pair_t *fp, size_t slot, size_t nelem, size_t elsize);
int fidelity_pair_realloc(fidelity_pair_t *fp, size_t slot, size_t size);
int fidelity_pair_free(fidelity_pair_t *fp, size_t slot);
int fidelity_pair_checkpoint(fidelity_pair_t *fp, const char *what);
/* Frees every live block, checks once more, and frees the pair. */
int fidelity_pair_finish(fidelity_pair_t *fp);

/* For a driver that keeps one pair for the whole process (the fuzz target
 * obmalloc_diff_fuzz: libpython's obmalloc cannot be reset, so heaplab's
 * side is kept too, and both share one history). */

/* The cheap per-op comparison, exact for what it covers.  same_block: if
 * pymalloc serves the slot's block (by CPython's rule: malloc or calloc of
 * 1..512 bytes, kept through reallocs to 1..512 bytes; a raw block stays raw
 * whatever its new size), both sides' blocks have the same usable size (size
 * class) and sit at the same offset from the start of their arena source's
 * window: both sides use the `fixed` source, whose arena k is at the same
 * offset from a 2^34-aligned window in every source, so a faithful pymalloc
 * puts every block where CPython does.  (Raw blocks are the C library's on
 * both sides and not compared.)  same_counts: both count the same live
 * blocks (heaplab's live_blocks, CPython's _Py_GetAllocatedBlocks).  Each
 * returns 0, or -1 after logging. */
int fidelity_pair_same_block(fidelity_pair_t *fp, size_t slot, const char *what);
int fidelity_pair_same_counts(fidelity_pair_t *fp, const char *what);

/* Frees every live block (checking each, as fidelity_pair_free does) and
 * keeps the pair. */
int fidelity_pair_free_all(fidelity_pair_t *fp);

/* Both stats texts, as fidelity_pair_checkpoint compares them (malloc'd;
 * the caller frees both). */
void fidelity_pair_stats(fidelity_pair_t *fp, char **heaplab, char **cpython);

/* Is the slot live? */
int fidelity_pair_live(const fidelity_pair_t *fp, size_t slot);

/* heaplab's pymalloc instance state (its allocator ctx: the OMState, in a
 * mapping of its own).  LeakSanitizer does not scan such mappings, so a
 * driver that keeps the pair across leak checks registers it as a root
 * region: pymalloc's arenas vector and radix-tree nodes are reachable only
 * from there. */
const void *fidelity_pair_heaplab_state(const fidelity_pair_t *fp);

#endif
