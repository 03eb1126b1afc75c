/* fidelity.c: see fidelity.h.
 *
 * A pair holds, per slot, heaplab's block and CPython's block for the same
 * logical allocation.  Every byte of both is written when allocated and
 * checked before it is freed, so neither allocator can corrupt a block
 * silently.  At a checkpoint both print their stats into memory and the texts
 * must be identical; heaplab's invariant check must pass.
 */
#include "fidelity.h"

#include "heaplab/allocator.h"
#include "heaplab/arena_source.h"
#include "hl_registry.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct fidelity_pair_s {
    hl_allocator_t heaplab, cpython;
    size_t nslots;
    void **a, **b;
    size_t *size;
    unsigned char *used;
    unsigned char *small;   /* pymalloc serves the block (CPython's rule) */
    uint8_t *tag;
    size_t nops;
    FILE *log;
};

int fidelity_compare_text(const char *a, const char *b, char *where, size_t wherelen)
{
    int line = 1;
    for (;;) {
        const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
        size_t la = ea ? (size_t)(ea - a) : strlen(a);
        size_t lb = eb ? (size_t)(eb - b) : strlen(b);
        if (la != lb || memcmp(a, b, la) != 0 || (!ea) != (!eb)) {
            snprintf(where, wherelen, "line %d:\n  heaplab: %.*s\n  cpython: %.*s", line,
                     (int)la, a, (int)lb, b);
            return line;
        }
        if (!ea)
            return 0;
        a = ea + 1;
        b = eb + 1;
        line++;
    }
}

fidelity_pair_t *fidelity_pair_new(size_t nslots, FILE *log)
{
    char err[256];
    fidelity_pair_t *fp = calloc(1, sizeof *fp);
    hl_alloc_options_t opt = {HL_ARENAS_FIXED, NULL};
    if (!fp)
        return NULL;
    fp->log = log;
    if (hl_allocator_create("pymalloc", &opt, &fp->heaplab, err, sizeof err) != 0 ||
        hl_allocator_create("cpython", &opt, &fp->cpython, err, sizeof err) != 0) {
        fprintf(log, "fidelity: %s\n", err);
        exit(3);
    }
    fp->nslots = nslots;
    fp->a = calloc(nslots, sizeof(void *));
    fp->b = calloc(nslots, sizeof(void *));
    fp->size = calloc(nslots, sizeof(size_t));
    fp->used = calloc(nslots, 1);
    fp->small = calloc(nslots, 1);
    fp->tag = calloc(nslots, 1);
    return fp;
}

static void fill(void *p, size_t n, uint8_t tag)
{
    memset(p, tag, n);
}

/* p[0:n] is all `v`: p[0] is, and every byte equals the next (one
 * vectorised memcmp of the block against itself shifted by one). */
static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
    return n == 0 || (p[0] == v && memcmp(p, p + 1, n - 1) == 0);
}

static int verify(fidelity_pair_t *fp, size_t slot)
{
    const uint8_t *a = fp->a[slot], *b = fp->b[slot];
    if (all_bytes(a, fp->size[slot], fp->tag[slot]) && all_bytes(b, fp->size[slot], fp->tag[slot]))
        return 0;
    for (size_t i = 0; i < fp->size[slot]; i++) {
        if (a[i] != fp->tag[slot] || b[i] != fp->tag[slot]) {
            fprintf(fp->log, "fidelity: op %zu: slot %zu byte %zu corrupted (heaplab %02x, cpython %02x, expected %02x)\n",
                    fp->nops, slot, i, a[i], b[i], fp->tag[slot]);
            return -1;
        }
    }
    return 0;
}

static int after_alloc(fidelity_pair_t *fp, size_t slot, size_t size, bool zeroed)
{
    fp->nops++;
    if (fp->a[slot] == NULL || fp->b[slot] == NULL) {
        fprintf(fp->log, "fidelity: op %zu: allocation of %zu bytes failed (heaplab %p, cpython %p)\n",
                fp->nops, size, fp->a[slot], fp->b[slot]);
        return -1;
    }
    if (zeroed && !(all_bytes(fp->a[slot], size, 0) && all_bytes(fp->b[slot], size, 0))) {
        for (size_t i = 0; i < size; i++)
            if (((uint8_t *)fp->a[slot])[i] || ((uint8_t *)fp->b[slot])[i]) {
                fprintf(fp->log, "fidelity: op %zu: calloc block not zeroed\n", fp->nops);
                return -1;
            }
    }
    fp->used[slot] = 1;
    fp->size[slot] = size;
    fp->small[slot] = size >= 1 && size <= 512;
    fp->tag[slot] = (uint8_t)(0x11 + fp->nops * 7);
    fill(fp->a[slot], size, fp->tag[slot]);
    fill(fp->b[slot], size, fp->tag[slot]);
    return 0;
}

int fidelity_pair_malloc(fidelity_pair_t *fp, size_t slot, size_t size)
{
    if (fp->used[slot] && fidelity_pair_free(fp, slot) != 0)
        return -1;
    fp->a[slot] = hl_malloc(&fp->heaplab, size);
    fp->b[slot] = hl_malloc(&fp->cpython, size);
    return after_alloc(fp, slot, size, false);
}

int fidelity_pair_calloc(fidelity_pair_t *fp, size_t slot, size_t nelem, size_t elsize)
{
    if (fp->used[slot] && fidelity_pair_free(fp, slot) != 0)
        return -1;
    fp->a[slot] = hl_calloc(&fp->heaplab, nelem, elsize);
    fp->b[slot] = hl_calloc(&fp->cpython, nelem, elsize);
    return after_alloc(fp, slot, nelem * elsize, true);
}

int fidelity_pair_realloc(fidelity_pair_t *fp, size_t slot, size_t size)
{
    if (!fp->used[slot])
        return fidelity_pair_malloc(fp, slot, size);
    if (verify(fp, slot) != 0)
        return -1;
    size_t keep = size < fp->size[slot] ? size : fp->size[slot];
    uint8_t tag = fp->tag[slot];
    void *na = hl_realloc(&fp->heaplab, fp->a[slot], size);
    void *nb = hl_realloc(&fp->cpython, fp->b[slot], size);
    fp->nops++;
    if (na == NULL || nb == NULL) {
        fprintf(fp->log, "fidelity: op %zu: realloc to %zu failed\n", fp->nops, size);
        return -1;
    }
    if (!(all_bytes(na, keep, tag) && all_bytes(nb, keep, tag))) {
        for (size_t i = 0; i < keep; i++)
            if (((uint8_t *)na)[i] != tag || ((uint8_t *)nb)[i] != tag) {
                fprintf(fp->log, "fidelity: op %zu: realloc lost byte %zu\n", fp->nops, i);
                return -1;
            }
    }
    fp->a[slot] = na;
    fp->b[slot] = nb;
    fp->size[slot] = size;
    /* CPython's realloc keeps a raw block raw whatever the new size
     * (pymalloc_realloc "punts" on blocks it does not manage); a pymalloc
     * block moves to the raw domain for 0 or over 512 bytes. */
    fp->small[slot] = fp->small[slot] && size >= 1 && size <= 512;
    fill(na, size, tag);
    fill(nb, size, tag);
    return 0;
}

int fidelity_pair_free(fidelity_pair_t *fp, size_t slot)
{
    if (!fp->used[slot])
        return 0;
    if (verify(fp, slot) != 0)
        return -1;
    hl_free(&fp->heaplab, fp->a[slot]);
    hl_free(&fp->cpython, fp->b[slot]);
    fp->used[slot] = 0;
    fp->nops++;
    return 0;
}

static char *stats_text(const hl_allocator_t *a, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    hl_print_stats(a, f);
    fclose(f);
    return buf;
}

int fidelity_pair_checkpoint(fidelity_pair_t *fp, const char *what)
{
    size_t la, lb;
    char where[1024];
    if (!hl_check(&fp->heaplab, fp->log)) {
        fprintf(fp->log, "fidelity: %s: op %zu: heaplab invariant broken\n", what, fp->nops);
        return -1;
    }
    char *a = stats_text(&fp->heaplab, &la);
    char *b = stats_text(&fp->cpython, &lb);
    int rc = fidelity_compare_text(a, b, where, sizeof where);
    if (getenv("HL_FIDELITY_DUMP"))
        fprintf(fp->log, "---- heaplab\n%s---- cpython\n%s", a, b);
    if (rc != 0)
        fprintf(fp->log, "fidelity: %s: after op %zu, stats differ at %s\n", what, fp->nops, where);
    free(a);
    free(b);
    return rc == 0 ? 0 : -1;
}

/* The fixed arena source's windows are 2^34-aligned (fixed_source.c). */
#define FIXED_WINDOW_SIZE ((uintptr_t)1 << 34)

int fidelity_pair_same_block(fidelity_pair_t *fp, size_t slot, const char *what)
{
    /* Raw blocks are the C library's on both sides: their addresses and
     * usable sizes (glibc may hand out a bigger chunk than asked) are not
     * pymalloc's to match. */
    if (fp->used[slot] && fp->small[slot]) {
        size_t n = fp->size[slot];
        size_t ua = hl_usable_size(&fp->heaplab, fp->a[slot]);
        size_t ub = hl_usable_size(&fp->cpython, fp->b[slot]);
        uintptr_t oa = (uintptr_t)fp->a[slot] % FIXED_WINDOW_SIZE;
        uintptr_t ob = (uintptr_t)fp->b[slot] % FIXED_WINDOW_SIZE;
        if (ua != ub) {
            fprintf(fp->log, "fidelity: %s: op %zu: slot %zu (%zu bytes): usable size %zu "
                    "(heaplab), %zu (cpython)\n", what, fp->nops, slot, n, ua, ub);
            return -1;
        }
        if (oa != ob) {
            fprintf(fp->log, "fidelity: %s: op %zu: slot %zu (%zu bytes): block at window "
                    "offset 0x%lx (heaplab), 0x%lx (cpython)\n", what, fp->nops, slot, n,
                    (unsigned long)oa, (unsigned long)ob);
            return -1;
        }
    }
    return 0;
}

/* Exported by libpython3.11 but not declared in its public headers (the
 * `cpython` peer's live_blocks; called directly here, since that peer's
 * stats also ask the C library for mallinfo2, a walk of its heap). */
extern ptrdiff_t _Py_GetAllocatedBlocks(void);

int fidelity_pair_same_counts(fidelity_pair_t *fp, const char *what)
{
    hl_stats_t sa;
    hl_stats(&fp->heaplab, &sa);
    size_t cb = (size_t)_Py_GetAllocatedBlocks();
    if ((sa.valid & HL_STAT_LIVE_BLOCKS) && sa.live_blocks != cb) {
        fprintf(fp->log, "fidelity: %s: op %zu: %zu live blocks (heaplab), %zu (cpython)\n",
                what, fp->nops, sa.live_blocks, cb);
        return -1;
    }
    return 0;
}

int fidelity_pair_free_all(fidelity_pair_t *fp)
{
    /* memchr finds the live slots: a pair may have many more slots than
     * live blocks. */
    for (size_t i = 0; i < fp->nslots; i++) {
        const unsigned char *next = memchr(fp->used + i, 1, fp->nslots - i);
        if (next == NULL)
            break;
        i = (size_t)(next - fp->used);
        if (fidelity_pair_free(fp, i) != 0)
            return -1;
    }
    return 0;
}

void fidelity_pair_stats(fidelity_pair_t *fp, char **heaplab, char **cpython)
{
    size_t la, lb;
    *heaplab = stats_text(&fp->heaplab, &la);
    *cpython = stats_text(&fp->cpython, &lb);
}

int fidelity_pair_live(const fidelity_pair_t *fp, size_t slot)
{
    return fp->used[slot] != 0;
}

const void *fidelity_pair_heaplab_state(const fidelity_pair_t *fp)
{
    return fp->heaplab.ctx;
}

int fidelity_pair_finish(fidelity_pair_t *fp)
{
    int rc = 0;
    for (size_t i = 0; i < fp->nslots && rc == 0; i++)
        rc = fidelity_pair_free(fp, i);
    if (rc == 0)
        rc = fidelity_pair_checkpoint(fp, "after freeing everything");
    hl_allocator_destroy(&fp->heaplab);
    hl_allocator_destroy(&fp->cpython);
    free(fp->a); free(fp->b); free(fp->size); free(fp->used); free(fp->small);
    free(fp->tag);
    free(fp);
    return rc;
}

/* splitmix64: a small, well-mixed, reproducible generator. */
static uint64_t next_random(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t random_size(uint64_t *s)
{
    uint64_t r = next_random(s) % 100;
    if (r < 4)
        return 0;                                   /* raw: malloc(1) */
    if (r < 50)
        return 1 + next_random(s) % 64;             /* the common small objects */
    if (r < 90)
        return 1 + next_random(s) % 512;            /* every size class */
    return 513 + next_random(s) % 4000;             /* raw */
}

int fidelity_run_random(const fidelity_program_t *prog, FILE *log)
{
    uint64_t s = prog->seed;
    size_t nslots = prog->max_live;
    fidelity_pair_t *fp = fidelity_pair_new(nslots, log);
    char what[64];
    snprintf(what, sizeof what, "seed %llu", (unsigned long long)prog->seed);
    for (size_t i = 0; i < prog->ops; i++) {
        size_t slot = next_random(&s) % nslots;
        /* Alternate growing and shrinking phases, so the heap ramps up over
         * several arenas and drains again. */
        bool growing = (i / 30000) % 2 == 0;
        uint64_t r = next_random(&s) % 100;
        int rc;
        if (r < (growing ? 60 : 20))
            rc = fidelity_pair_malloc(fp, slot, random_size(&s));
        else if (r < (growing ? 67 : 25))
            rc = fidelity_pair_calloc(fp, slot, 1 + next_random(&s) % 8, random_size(&s) / 8);
        else if (r < (growing ? 82 : 35))
            rc = fidelity_pair_realloc(fp, slot, random_size(&s));
        else
            rc = fidelity_pair_free(fp, slot);
        if (rc == 0 && (i + 1) % prog->checkpoint_every == 0)
            rc = fidelity_pair_checkpoint(fp, what);
        if (rc != 0) {
            fprintf(log, "fidelity: %s failed at step %zu\n", what, i);
            return -1;
        }
    }
    return fidelity_pair_finish(fp);
}

/* Grow to several arenas of each size mix, then free in an order that empties
 * whole pools and arenas: every arena-list case (release, keep last, head
 * insertion, slide right) is reached. */
int fidelity_run_ramp_and_drain(FILE *log)
{
    const size_t n = 60000;
    fidelity_pair_t *fp = fidelity_pair_new(n, log);
    uint64_t s = 42;
    for (size_t i = 0; i < n; i++) {
        if (fidelity_pair_malloc(fp, i, 1 + (i % 7) * 40 + (i % 3)) != 0)
            return -1;
        if (i % 5000 == 4999 && fidelity_pair_checkpoint(fp, "ramp") != 0)
            return -1;
    }
    /* every other block: pools become used again (full -> used) */
    for (size_t i = 0; i < n; i += 2)
        if (fidelity_pair_free(fp, i) != 0)
            return -1;
    if (fidelity_pair_checkpoint(fp, "half drained") != 0)
        return -1;
    /* random order for the rest: pools empty, arenas reorder and go back */
    for (size_t k = 0; k < n; k++) {
        size_t i = next_random(&s) % n;
        if (fidelity_pair_free(fp, i) != 0)
            return -1;
        if (k % 3000 == 2999 && fidelity_pair_checkpoint(fp, "drain") != 0)
            return -1;
    }
    /* refill a little: cached empty pools with a stale size class */
    for (size_t i = 0; i < 5000; i++)
        if (fidelity_pair_malloc(fp, i, 1 + (i % 11) * 37) != 0)
            return -1;
    if (fidelity_pair_checkpoint(fp, "refill") != 0)
        return -1;
    return fidelity_pair_finish(fp);
}
