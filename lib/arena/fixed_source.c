/* fixed_source.c: a deterministic arena source, for reproducible runs.
 *
 *   window = WINDOW_BASE + k * WINDOW_STRIDE    (k: first window free in this process)
 *
 *   window                      slot 0                        slot 1
 *   |claim page| ... |<- 2 MiB ->|misalign|arena ....|       |misalign|arena ...
 *                    ^ window + SLOT_SIZE             ^ window + 2*SLOT_SIZE
 *
 * Invariants:
 *   slot i's arena is at  window + (i+1)*SLOT_SIZE + misalign,  for every run;
 *   a window never crosses a 2**34 boundary (WINDOW_BASE and WINDOW_STRIDE are
 *   multiples of 2**34 and the window is smaller), so every arena of one source
 *   lies under one bottom node of pymalloc's radix tree: the node counts in
 *   _debugmallocstats do not depend on where the kernel put anything;
 *   alloc takes the lowest free slot, so a replayed trace maps the same arenas
 *   at the same addresses each time.
 *
 * Why 2**45: it is above every address the kernel hands out for a normal
 * process (heap, libraries and stacks sit near 2**46.5 and below 2**43) and
 * it is in ASan's "HighMem" range, outside its shadow memory.  Each window is
 * claimed with MAP_FIXED_NOREPLACE, so two sources in one process (heaplab's
 * pymalloc and CPython's obmalloc in the fidelity test) never collide.
 */
#include "hl_debug.h"
#include "heaplab/arena_source.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define WINDOW_BASE   ((uintptr_t)1 << 45)
#define WINDOW_STRIDE ((uintptr_t)1 << 35)
#define WINDOW_SIZE   ((uintptr_t)1 << 34)
#define SLOT_SIZE     ((uintptr_t)2 << 20)
#define MAX_WINDOWS   64
#define MAX_SLOTS     (WINDOW_SIZE / SLOT_SIZE - 1)
#define CLAIM_SIZE    4096

_Static_assert(WINDOW_BASE % WINDOW_SIZE == 0, "windows must start on a radix bottom-node boundary");
_Static_assert(WINDOW_STRIDE % WINDOW_SIZE == 0, "windows must start on a radix bottom-node boundary");
_Static_assert(WINDOW_STRIDE >= WINDOW_SIZE, "windows must not overlap");

typedef struct fixed_source_s {
    uintptr_t window;
    size_t misalign;
    size_t held, peak;
    uint8_t used[MAX_SLOTS];   /* 1 iff slot i holds a live arena */
} fixed_source_t;

static void *fixed_alloc(void *ctx, size_t size)
{
    fixed_source_t *s = ctx;
    if (size + s->misalign > SLOT_SIZE)
        return NULL;
    for (size_t i = 0; i < MAX_SLOTS; i++) {
        if (s->used[i])
            continue;
        uintptr_t addr = s->window + (i + 1) * SLOT_SIZE + s->misalign;
        void *p = mmap((void *)addr, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        if ((uintptr_t)p != addr) {   /* a kernel without MAP_FIXED_NOREPLACE */
            munmap(p, size);
            return NULL;
        }
        s->used[i] = 1;
        s->held += size;
        if (s->held > s->peak)
            s->peak = s->held;
        return p;
    }
    return NULL;
}

static void fixed_free(void *ctx, void *ptr, size_t size)
{
    fixed_source_t *s = ctx;
    uintptr_t off = (uintptr_t)ptr - s->window;
    size_t i = off / SLOT_SIZE - 1;
    hl_assert(off % SLOT_SIZE == s->misalign && i < MAX_SLOTS && s->used[i]);
    s->used[i] = 0;
    s->held -= size;
    munmap(ptr, size);
}

static size_t fixed_held(void *ctx, size_t *peak)
{
    fixed_source_t *s = ctx;
    if (peak)
        *peak = s->peak;
    return s->held;
}

static void fixed_destroy(void *ctx)
{
    fixed_source_t *s = ctx;
    munmap((void *)s->window, CLAIM_SIZE);
    free(s);
}

int hl_arena_source_fixed(size_t misalign, hl_arena_source_t *out)
{
    if (misalign % 4096 != 0 || misalign >= ((size_t)1 << 20))
        return -1;
    fixed_source_t *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->misalign = misalign;
    for (uintptr_t k = 0; k < MAX_WINDOWS; k++) {
        uintptr_t w = WINDOW_BASE + k * WINDOW_STRIDE;
        void *p = mmap((void *)w, CLAIM_SIZE, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            continue;             /* EEXIST: another source has this window */
        if ((uintptr_t)p != w) {
            munmap(p, CLAIM_SIZE);
            continue;
        }
        s->window = w;
        *out = (hl_arena_source_t){s, fixed_alloc, fixed_free, fixed_held, fixed_destroy};
        return 0;
    }
    free(s);
    return -1;
}
