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

#endif
