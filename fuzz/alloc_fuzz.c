/* alloc_fuzz.c: op programs over any allocator of the registry.
 *
 * Input format (every byte string is a program; a short tail just ends it):
 *
 *     byte 0         allocator: registry index = byte % hl_registry_count()
 *     then ops, each 4 bytes:
 *       OP           bits 0-2 the kind, bits 3-7 X (0..31)
 *                      0, 1  malloc(size)          into SLOT (an occupied
 *                                                  slot is freed first)
 *                      2     calloc(X + 1, size / (X + 1))
 *                      3, 4  realloc(SLOT, size)   (realloc(NULL, n) if empty)
 *                      5, 6  free(SLOT)            (free(NULL) if empty)
 *                      7     usable_size(SLOT)
 *       SLOT         % 64
 *       SIZE         16 bits little-endian, V: by V >> 12,
 *                      0..9    V & 0x1ff       0..511   (pymalloc's range)
 *                      10..14  V & 0x1fff      0..8191
 *                      15      2^e + m * 2^(e-9), e = 13 + (V & 7) and
 *                              m = (V >> 3) & 0x1ff: 8 KiB .. 2 MiB - 2 KiB,
 *                              log-uniform (each power of two as likely);
 *                              the top octave passes the 1 MiB chunks of
 *                              buddy and seqfit (their direct mappings)
 *
 * Sizes cost in proportion to their bytes (every byte is written and
 * checked), so the distribution is weighted to what the allocators care
 * about: 10/16 of requests in pymalloc's range, 5/16 in the small-object
 * range of the others, 1/16 large.  Large sizes are log-uniform: a uniform
 * 0..1 MiB spends nearly all its time on 512 KiB+ blocks (the size classes
 * of buddy, tlsf and segregated-fit live below that).
 *
 * One input runs on a fresh instance (hl_allocator_create .. destroy); the
 * process-wide peers are views of one heap but are created and destroyed
 * one at a time here too (cpython allows one instance at a time).  Oracles,
 * each an abort with a message naming the allocator, op and block:
 *   - every request (at most 2 MiB) succeeds (NULL is a violation), and
 *     calloc's block is all zeros;
 *   - every block is aligned (16; 8 for pymalloc-classic, whose size
 *     classes are 8-byte multiples) and usable_size >= the size requested;
 *   - every block holds its own pattern, a function of (slot, generation)
 *     and the byte's offset, written when it is allocated and checked before
 *     realloc and free and at the end, and realloc keeps the first
 *     min(old, new) bytes: overlapping blocks, stray writes and a realloc
 *     that copies too little all show.  The usable_size op writes the tail
 *     past the requested size too, so a usable size that overstates is a
 *     stray write into a neighbour or the allocator's metadata;
 *   - hl_check() every 64 ops, after the last op and after the final frees;
 *   - when the allocator counts live blocks, its count equals the program's
 *     at every check, and is back at its value at creation once everything
 *     is freed: no block leaks;
 *   - the heap's views (heaplab/heapmap.h), at every check: the walk's
 *     spans are non-empty and never overlap, and every live block
 *     [p, p + usable_size) lies inside one USED span or, for blocks the
 *     walk does not cover (pymalloc's raw blocks), outside every span; the
 *     arena view, where there is one, is consistent (the allocator's own
 *     nfreepools == empty + uncarved check) and counts at least the
 *     program's live blocks in its used and full pools' blocks in use;
 *   - for the obmalloc family (pymalloc, pymalloc-classic, cpython: those
 *     whose print_stats is _debugmallocstats' text), once everything is
 *     freed the footprint is back at its floor: "# bytes in allocated
 *     blocks" is 0, no size class has a pool in use, and at most one arena
 *     is still allocated (obmalloc keeps the last one, 3.9+): every pool is
 *     empty and every other arena was given back.
 */
#include "heaplab/allocator.h"
#include "peers.h"
#include "spans.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSLOTS 64
#define CHECK_EVERY 64
#define MAX_INPUT (16u << 10)
#define GOLDEN 0x9E3779B97F4A7C15u

typedef struct block_s {
    unsigned char *p;     /* NULL: slot empty */
    size_t size;          /* bytes requested */
    uint64_t seed;        /* pattern of this (slot, generation) */
} block_t;

typedef struct fuzz_s {
    hl_allocator_t a;
    size_t align;
    bool counts_blocks;
    size_t base_blocks;   /* live_blocks at creation */
    size_t live;          /* blocks the program holds */
    uint64_t gen;
    size_t op;            /* index of the current op, for messages */
    block_t slot[NSLOTS];
    char report[2048];
} fuzz_t;

static void violation(const fuzz_t *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
static void violation(const fuzz_t *f, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "alloc_fuzz: %s: op %zu: ", f->a.name, f->op);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* ---- patterns -------------------------------------------------------------- */

/* The per-byte loops below are the harness's, not code to explore: no
 * coverage instrumentation (its comparison hooks would cost more than the
 * loops; noinline, or they would be instrumented as part of their callers)
 * and no ASan checks.  They only touch the n bytes a block was requested
 * with, which ASan's malloc (the `glibc` entry under ASan) allows and which
 * the other allocators' memory, unknown to ASan, always allows: the checks
 * found nothing the patterns do not, and cost three times the loop.  The
 * usable_size op's tail write (memset, intercepted) stays checked. */
#define NO_COVERAGE __attribute__((no_sanitize("coverage", "address"), noinline))

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30; x *= 0xBF58476D1CE4E5B9u;
    x ^= x >> 27; x *= 0x94D049BB133111EBu;
    return x ^ (x >> 31);
}

/* Byte k of a block with this seed: byte k % 8 of word seed + (k / 8) * GOLDEN. */
NO_COVERAGE static unsigned char pattern_byte(uint64_t seed, size_t k)
{
    return (unsigned char)((seed + (uint64_t)(k >> 3) * GOLDEN) >> ((k & 7) * 8));
}

NO_COVERAGE static void pattern_fill(unsigned char *p, size_t n, uint64_t seed)
{
    size_t words = n / 8;
    for (size_t i = 0; i < words; i++) {
        uint64_t w = seed + (uint64_t)i * GOLDEN;
        memcpy(p + i * 8, &w, 8);
    }
    for (size_t k = words * 8; k < n; k++)
        p[k] = pattern_byte(seed, k);
}

/* Index of the first wrong byte of p[0:n], or n. */
NO_COVERAGE static size_t pattern_check(const unsigned char *p, size_t n, uint64_t seed)
{
    size_t words = n / 8, i = 0;
    for (; i < words; i++) {
        uint64_t w = seed + (uint64_t)i * GOLDEN, got;
        memcpy(&got, p + i * 8, 8);
        if (got != w)
            break;
    }
    for (size_t k = i * 8; k < n; k++)
        if (p[k] != pattern_byte(seed, k))
            return k;
    return n;
}

/* Index of the first non-zero byte of p[0:n], or n. */
NO_COVERAGE static size_t first_nonzero(const unsigned char *p, size_t n)
{
    size_t k = 0;
    for (; k + 32 <= n; k += 32) {            /* four words at a time */
        uint64_t w[4];
        memcpy(w, p + k, sizeof w);
        if ((w[0] | w[1] | w[2] | w[3]) != 0)
            break;
    }
    for (; k < n; k++)
        if (p[k] != 0)
            return k;
    return n;
}

/* ---- the program ------------------------------------------------------------- */

static void verify(fuzz_t *f, size_t s, size_t n, const char *when)
{
    block_t *b = &f->slot[s];
    size_t bad = pattern_check(b->p, n, b->seed);
    if (bad != n)
        violation(f, "%s: byte %zu of slot %zu's %zu-byte block %p is 0x%02x, expected 0x%02x "
                  "(overlap or stray write)", when, bad, s, b->size, (void *)b->p, b->p[bad],
                  pattern_byte(b->seed, bad));
}

static void check_block(fuzz_t *f, const void *p, size_t n, const char *what)
{
    if (p == NULL)
        violation(f, "%s(%zu) returned NULL", what, n);
    if ((uintptr_t)p % f->align != 0)
        violation(f, "%s(%zu) = %p is not %zu-aligned", what, n, p, f->align);
    size_t usable = hl_usable_size(&f->a, p);
    if (usable < n)
        violation(f, "%s(%zu) = %p: usable_size %zu", what, n, p, usable);
}

static void set_block(fuzz_t *f, size_t s, unsigned char *p, size_t n)
{
    block_t *b = &f->slot[s];
    b->p = p;
    b->size = n;
    b->seed = mix(((uint64_t)s << 40) ^ ++f->gen);
    pattern_fill(p, n, b->seed);
}

static void do_free(fuzz_t *f, size_t s)
{
    block_t *b = &f->slot[s];
    if (b->p == NULL) {
        hl_free(&f->a, NULL);
        return;
    }
    verify(f, s, b->size, "before free");
    hl_free(&f->a, b->p);
    b->p = NULL;
    f->live--;
}

/* ---- the heap views ---- */

/* A static table (lib/heapmap/spans.h): the views allocate nothing. */
static hl_span_t span_buf[1u << 16];
static hl_spans_t spans = HL_SPANS_FIXED(span_buf);

static size_t arena_blocks_in_use;
static void on_arena(void *user, const hl_arena_view_t *v)
{
    (void)user;
    for (unsigned i = 0; v->address && i < HL_MAP_POOLS_PER_ARENA; i++) {
        if (v->pools[i].state == HL_POOL_USED || v->pools[i].state == HL_POOL_FULL)
            arena_blocks_in_use += v->pools[i].nused;
    }
}

static void check_views(fuzz_t *f, const char *when)
{
    int rc = hl_spans_walk(&f->a, &spans);
    if (rc == -1)
        violation(f, "%s: walk() found the heap corrupt", when);
    if (rc == 0 && !spans.overflow) {
        if (!hl_spans_are_valid(&spans, stderr))
            violation(f, "%s: the walk's spans are not valid (above)", when);
        for (size_t s = 0; s < NSLOTS; s++) {
            const block_t *b = &f->slot[s];
            if (!b->p)
                continue;
            size_t usable = hl_usable_size(&f->a, b->p);
            /* inside one USED span, or (a block the walk does not cover)
             * apart from every span */
            if (hl_spans_at(&spans, (uintptr_t)b->p)) {
                if (!hl_spans_hold_block(&spans, b->p, usable, stderr))
                    violation(f, "%s: slot %zu: block %p (+%zu usable) is not inside one USED "
                              "span (above)", when, s, (void *)b->p, usable);
            } else {
                const hl_span_t *next = hl_spans_meet(&spans, (uintptr_t)b->p, usable);
                if (next)
                    violation(f, "%s: slot %zu: block %p (+%zu) overlaps span %#zx", when, s,
                              (void *)b->p, usable, (size_t)next->addr);
            }
        }
    }
    arena_blocks_in_use = 0;
    rc = hl_arenas(&f->a, on_arena, NULL);
    if (rc == -1)
        violation(f, "%s: the arena view is inconsistent (nfreepools)", when);
    if (rc == 0 && f->counts_blocks) {
        hl_stats_t st;
        hl_stats(&f->a, &st);
        if (arena_blocks_in_use > st.live_blocks)
            violation(f, "%s: the arena view counts %zu blocks in use, the allocator %zu", when,
                      arena_blocks_in_use, st.live_blocks);
    }
}

static void check_heap(fuzz_t *f, const char *when)
{
    check_views(f, when);
    FILE *rep = fmemopen(f->report, sizeof f->report - 1, "w");
    memset(f->report, 0, sizeof f->report);
    bool ok = hl_check(&f->a, rep);
    if (rep)
        fclose(rep);
    if (!ok)
        violation(f, "hl_check() failed %s: %s", when, f->report);
    if (f->counts_blocks) {
        hl_stats_t st;
        hl_stats(&f->a, &st);
        if (st.live_blocks != f->base_blocks + f->live)
            violation(f, "%s: live_blocks %zu, expected %zu at creation + %zu held", when,
                      st.live_blocks, f->base_blocks, f->live);
    }
}

/* The obmalloc family's floor, read off its _debugmallocstats text (numbers
 * have thousands separators): see the header. */
static void check_floor(fuzz_t *f)
{
    static char text[32768];
    memset(text, 0, sizeof text);
    FILE *out = fmemopen(text, sizeof text - 1, "w");
    if (out == NULL)
        return;
    int printed = hl_print_stats(&f->a, out);
    fclose(out);
    if (!printed || strstr(text, "# arenas allocated current") == NULL)
        return;                               /* not an obmalloc */
    size_t arenas = SIZE_MAX, allocated = SIZE_MAX;
    bool class_rows = false;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        unsigned idx, size;
        char *eq = strchr(line, '=');
        if (eq != NULL) {
            size_t v = 0;
            for (const char *c = eq + 1; *c; c++)
                if (*c >= '0' && *c <= '9')
                    v = v * 10 + (size_t)(*c - '0');
            if (strncmp(line, "# arenas allocated current", 26) == 0)
                arenas = v;
            else if (strncmp(line, "# bytes in allocated blocks", 27) == 0)
                allocated = v;
        }
        else if (line[0] == ' ' && sscanf(line, "%u %u", &idx, &size) == 2) {
            class_rows = true;                /* "    3     64    22   5519   91" */
        }
    }
    if (arenas > 1 || allocated != 0 || class_rows)
        violation(f, "after freeing everything, not at the floor: %zu arenas allocated, %zu bytes "
                  "in allocated blocks%s", arenas, allocated,
                  class_rows ? ", size classes with pools in use" : "");
}

static size_t decode_size(uint16_t v)
{
    unsigned k = v >> 12;
    if (k <= 9)
        return v & 0x1ffu;                    /* 10/16: 0..511 */
    if (k <= 14)
        return v & 0x1fffu;                   /* 5/16: 0..8191 */
    unsigned e = 13 + (v & 7u);               /* 1/16: [2^e, 2^(e+1)), e 13..20 */
    size_t m = (v >> 3) & 0x1ffu;
    return ((size_t)1 << e) + (m << (e - 9));
}

static void run_op(fuzz_t *f, uint8_t opb, size_t s, size_t n)
{
    block_t *b = &f->slot[s];
    unsigned x = opb >> 3;
    switch (opb & 7) {
    case 0:
    case 1: {
        if (b->p)
            do_free(f, s);
        unsigned char *p = hl_malloc(&f->a, n);
        check_block(f, p, n, "malloc");
        set_block(f, s, p, n);
        f->live++;
        break;
    }
    case 2: {
        if (b->p)
            do_free(f, s);
        size_t nelem = x + 1, elsize = n / nelem;
        unsigned char *p = hl_calloc(&f->a, nelem, elsize);
        check_block(f, p, nelem * elsize, "calloc");
        size_t nz = first_nonzero(p, nelem * elsize);
        if (nz != nelem * elsize)
            violation(f, "calloc(%zu, %zu) = %p: byte %zu is 0x%02x", nelem, elsize,
                      (void *)p, nz, p[nz]);
        set_block(f, s, p, nelem * elsize);
        f->live++;
        break;
    }
    case 3:
    case 4: {
        if (!b->p) {
            unsigned char *p = hl_realloc(&f->a, NULL, n);
            check_block(f, p, n, "realloc(NULL)");
            set_block(f, s, p, n);
            f->live++;
            break;
        }
        size_t old = b->size, keep = old < n ? old : n;
        verify(f, s, old, "before realloc");
        unsigned char *q = hl_realloc(&f->a, b->p, n);
        check_block(f, q, n, "realloc");
        b->p = q;
        verify(f, s, keep, "after realloc (contents not kept)");
        set_block(f, s, q, n);
        break;
    }
    case 5:
    case 6:
        do_free(f, s);
        break;
    default:
        if (b->p) {
            size_t usable = hl_usable_size(&f->a, b->p);
            if (usable < b->size)
                violation(f, "usable_size(%p) = %zu < %zu requested", (void *)b->p, usable,
                          b->size);
            /* The tail is the program's to write; cap it so a block the
             * allocator rounds up a lot stays cheap. */
            size_t tail = usable - b->size;
            memset(b->p + b->size, 0xA5, tail < 65536 ? tail : 65536);
        }
        break;
    }
}

/* ---- libFuzzer entry points ------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    /* jemalloc's dlopen needs static TLS only an exec-time tunable gives. */
    hl_peers_reexec_for_static_tls(*argv);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (size > MAX_INPUT)
        return -1;
    static fuzz_t f;
    memset(&f, 0, sizeof f);
    const hl_registry_entry_t *e = hl_registry_at(data[0] % hl_registry_count());
    char err[512];
    if (hl_allocator_create(e->name, NULL, &f.a, err, sizeof err) != 0) {
        fprintf(stderr, "alloc_fuzz: cannot create %s: %s\n", e->name, err);
        abort();
    }
    f.align = strcmp(f.a.name, "pymalloc-classic") == 0 ? 8 : 16;
    hl_stats_t st;
    hl_stats(&f.a, &st);
    f.counts_blocks = (st.valid & HL_STAT_LIVE_BLOCKS) != 0;
    f.base_blocks = st.live_blocks;

    size_t pos = 1;
    for (f.op = 0; pos + 4 <= size; f.op++, pos += 4) {
        uint16_t v = (uint16_t)(data[pos + 2] | (data[pos + 3] << 8));
        run_op(&f, data[pos], data[pos + 1] % NSLOTS, decode_size(v));
        if ((f.op + 1) % CHECK_EVERY == 0)
            check_heap(&f, "every 64 ops");
    }
    check_heap(&f, "after the last op");
    for (size_t s = 0; s < NSLOTS; s++)
        if (f.slot[s].p)
            verify(&f, s, f.slot[s].size, "at the end");
    for (size_t s = 0; s < NSLOTS; s++)
        if (f.slot[s].p)
            do_free(&f, s);
    check_heap(&f, "after freeing everything");
    check_floor(&f);
    hl_allocator_destroy(&f.a);
    return 0;
}
