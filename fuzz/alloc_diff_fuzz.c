/* alloc_diff_fuzz.c: one op program on every own allocator, glibc and
 * cpython at once; they must agree.
 *
 * The allocators, in registry order: every registry entry except the three
 * dlopen()ed peers (SKIP: jemalloc, mimalloc, tcmalloc) -- the own
 * allocators pymalloc, pymalloc-classic, seqfit-first, seqfit-next,
 * seqfit-best, segregated-simple, segregated-fit, buddy, tlsf (and any own
 * allocator added to the registry later), plus the process-wide `glibc` and
 * `cpython` peers: 11 today.  cpython is feasible because one instance at a
 * time is all this needs (one per input, made and destroyed with the rest).
 *
 * Input format (every byte string is a program; a short tail just ends it;
 * at most MAX_INPUT bytes), ops of 4 bytes from byte 0:
 *
 *     OP           bits 0-2 the kind, bits 3-7 X (0..31)
 *                    0, 1  malloc(size)          into SLOT (an occupied slot
 *                                                is freed first)
 *                    2     calloc(X + 1, size / (X + 1))   (likewise; in
 *                          SIZE's top range, size = (V & 0x1fff) * 8 <= 64 KiB)
 *                    3     realloc(SLOT, size)   (realloc(NULL, n) if empty)
 *                    4     free(SLOT)            (free(NULL) if empty)
 *                    5     write: a new pattern over SLOT's bytes
 *                          [off, off + size) (clipped to the block, widened
 *                          to whole segments), off = X * block size / 32
 *                    6     usable_size(SLOT): >= the size, then each
 *                          allocator writes 0xA5 over its own tail
 *                          [size, usable) (at most 16 KiB of it)
 *                    7     huge request, by X % 4: malloc(H), calloc(1, H),
 *                          calloc(H / 8 + 1, 16) (overflows when H is
 *                          large), realloc(SLOT, H); H = HUGE[V % 8]
 *     SLOT         % 64
 *     SIZE         16 bits little-endian, V: by V >> 13,
 *                    0..4  V & 0x1ff           0..511   (pymalloc's range)
 *                    5, 6  V & 0x1fff          0..8191
 *                    7     (V & 0x1fff) * 129  0..1 MiB + 8 KiB (past the
 *                          256 KiB where tlsf and segregated-fit map alone
 *                          and buddy's 1 MiB chunk)
 *
 * The bound for "reasonable sizes": every request is at most 1 MiB + 8 KiB
 * (what SIZE can say), and the program never holds more than LIVE_CAP =
 * 2 MiB of requested bytes: an allocating op that would take it over is
 * not issued to any allocator (a no-op, the same for all).  Within the
 * bound every allocator can serve every request (each maps what it needs),
 * so every one must succeed; the HUGE requests (SIZE_MAX .. 2^48, the
 * conformance suite's) must fail on every allocator, and a failed realloc
 * must leave the block as it was.
 *
 * Contents.  The harness keeps a shadow of each live slot: the bytes the
 * program has put there.  Every write of the program goes to the shadow
 * and, with memcpy, to the block of every allocator, so all are told the
 * same bytes.  A block is seen as 4 KiB segments, each "defined" once the
 * program has written all of it (or calloc zeroed it): a new block of up to
 * 8 KiB is written whole, a bigger one its first and last segments only --
 * writing every byte of 11 copies of a 1 MiB block is what made the first
 * version of this target run at 50 exec/s.  realloc keeps the defined
 * segments of the prefix min(old, new); when it grows, the program writes
 * the rest of the old last segment and the new last one.  calloc's block is
 * compared whole against zeros, then kept like a malloc'd one.  Comparison
 * is memcmp(block, shadow) over the defined segments, for each allocator:
 * exact (no hash collisions) and as cheap as hashing (one vectorised pass);
 * all equal to the shadow means all equal to each other.
 *
 * Oracles, each an abort with a message naming the allocator, op and slot:
 *   - success identical: a request within the bound returns non-NULL on
 *     every allocator, a HUGE one NULL on every allocator (the message lists
 *     who differed);
 *   - every new block aligned (16; 8 for pymalloc-classic), usable_size >=
 *     the size requested, and disjoint from every other live block of its
 *     allocator (exact, by address; a malloc(0) block counts as one byte, so
 *     it must be unique too);
 *   - after every op, the touched slot's defined bytes equal the shadow on
 *     every allocator (after a growing realloc: first the old part, before
 *     the program writes, so a lost prefix shows; after calloc: zeros);
 *   - every CHECK_EVERY ops, after the last op and at the end: every live
 *     slot on every allocator equals its shadow (a stray write into another
 *     block -- allocator metadata, or an overstated usable_size whose tail
 *     write lands in a neighbour -- shows here), hl_check() passes on each,
 *     and each allocator that counts live blocks counts its value at
 *     creation + the program's;
 *   - after freeing everything: hl_check() again, and the live-block count
 *     back at its creation value on each: no leak.
 *
 * Freshness and cost.  Each input creates a fresh instance of every
 * allocator and destroys it at the end (everything goes back to the
 * system), so an input's outcome depends on nothing before it -- except in
 * the process-wide `glibc` and `cpython`, whose instances are views of one
 * heap; the oracles they take part in (success, contents, live-count
 * delta) do not depend on their history for a correct allocator.  Measured
 * under ASan (asan config, no libFuzzer, one input replayed 100-2000
 * times): an empty input, i.e. creating, checking and destroying all
 * eleven, takes 0.12 ms (about 20 page faults and 25 mmap/munmap calls);
 * the seed programs (48-144 ops) take 1.6-5.8 ms, of which most is the
 * kernel giving fresh instances fresh pages: 250-1,150 first-touch page
 * faults per input (pool and page per size class in each design, pymalloc's
 * 128 KiB of ASan shadow per arena, blocks mapped alone).  Re-using the
 * instances would save those faults, but was rejected as unsound: "all
 * freed" does not bring an allocator back to its state at creation (free
 * lists and their order, next fit's roving pointer, pymalloc's kept arena
 * and pool free lists, segregated fit's top chunk, counters and peaks), no
 * allocator here can show that it is, and short of that an input would not
 * reproduce on its own.  What was cut instead is the harness's own cost:
 * segments instead of whole blocks, the shadows in one mapping made once
 * (not malloc: under ASan a large malloc poisons n / 8 bytes of shadow),
 * calloc's large range capped at 64 KiB.  fuzz/README.md has the exec/s.
 */
#include "heaplab/allocator.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NSLOTS 64
#define CHECK_EVERY 16
#define MAX_INPUT (16u << 10)
#define LIVE_CAP ((size_t)2 << 20)
#define SEG ((size_t)4096)
#define MAX_SEGS 320                    /* > (1 MiB + 8 KiB) / SEG */
#define TAIL_CAP ((size_t)16 << 10)
#define MAX_REQUEST ((size_t)0x1fff * 129)  /* decode_size's largest */
#define MAX_ALLOCATORS 32
#define GOLDEN 0x9E3779B97F4A7C15u

/* Under ASan, glibc's malloc is ASan's, which by default aborts on a huge
 * request instead of returning NULL as glibc does; allowed to return NULL,
 * it still prints "WARNING: AddressSanitizer failed to allocate ..." each
 * time, so its report fd is pointed at /dev/null for the huge op's calls
 * only (an ASan error inside one of them still kills the process; its
 * report shows when the input is replayed in the default config). */
__attribute__((used, visibility("default"))) const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DIFF_ASAN 1
#endif
#endif
#ifdef DIFF_ASAN
#include <sanitizer/common_interface_defs.h>
static void asan_quiet(bool quiet)
{
    static int devnull = -1;
    if (devnull < 0)
        devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull >= 0)
        __sanitizer_set_report_fd((void *)(intptr_t)(quiet ? devnull : 2));
}
#else
static void asan_quiet(bool quiet) { (void)quiet; }
#endif

static const size_t HUGE[8] = {
    SIZE_MAX,      SIZE_MAX / 2,    (size_t)PTRDIFF_MAX, (size_t)PTRDIFF_MAX + 1,
    SIZE_MAX - 15, SIZE_MAX - 4095, (size_t)1 << 62,     (size_t)1 << 48,
};

/* Registry entries left out: the dlopen()ed peers (jemalloc needs a
 * re-exec for static TLS; the brief of this target is own allocators vs
 * glibc). */
static const char *const SKIP[] = {"jemalloc", "mimalloc", "tcmalloc"};

typedef struct inst_s {
    hl_allocator_t a;
    size_t align;
    bool counts_blocks;
    size_t base_blocks;         /* live_blocks at creation */
    unsigned char *p[NSLOTS];   /* this allocator's block of each slot */
} inst_t;

typedef struct fuzz_s {
    size_t n;                   /* allocators */
    inst_t in[MAX_ALLOCATORS];
    unsigned char *shadow[NSLOTS]; /* NULL: slot empty */
    size_t size[NSLOTS];
    uint64_t def[NSLOTS][MAX_SEGS / 64]; /* bit j: segment j is defined */
    size_t live;                /* blocks the program holds */
    size_t live_bytes;          /* bytes it requested for them */
    uint64_t gen;
    size_t op;
    void *got[MAX_ALLOCATORS];  /* one op's results, per allocator */
    char report[2048];
} fuzz_t;

static fuzz_t F;

static void violation(const char *who, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
static void violation(const char *who, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "alloc_diff_fuzz: %s: op %zu: ", who, F.op);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* ---- patterns, segments and comparison ------------------------------------- */

/* The per-byte loops are the harness's, not code to explore: no coverage
 * instrumentation (noinline, or they would be instrumented as part of their
 * callers); ASan's checks kept. */
#define NO_COVERAGE __attribute__((no_sanitize("coverage"), noinline))

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30; x *= 0xBF58476D1CE4E5B9u;
    x ^= x >> 27; x *= 0x94D049BB133111EBu;
    return x ^ (x >> 31);
}

/* Byte k of the pattern with this seed is byte k % 8 of the word
 * seed + (k / 8) * GOLDEN (k is the offset in the block). */
NO_COVERAGE static void pattern_fill(unsigned char *p, size_t from, size_t to, uint64_t seed)
{
    size_t k = from;
    for (; k < to && (k & 7) != 0; k++)
        p[k] = (unsigned char)((seed + (uint64_t)(k >> 3) * GOLDEN) >> ((k & 7) * 8));
    for (; k + 8 <= to; k += 8) {
        uint64_t w = seed + (uint64_t)(k >> 3) * GOLDEN;
        memcpy(p + k, &w, 8);
    }
    for (; k < to; k++)
        p[k] = (unsigned char)((seed + (uint64_t)(k >> 3) * GOLDEN) >> ((k & 7) * 8));
}

NO_COVERAGE static size_t first_difference(const unsigned char *a, const unsigned char *b, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (a[k] != b[k])
            return k;
    return n;
}

static size_t nsegs(size_t n) { return (n + SEG - 1) / SEG; }
static bool seg_defined(size_t s, size_t j) { return (F.def[s][j / 64] >> (j % 64)) & 1; }
static void seg_define(size_t s, size_t j) { F.def[s][j / 64] |= (uint64_t)1 << (j % 64); }

/* Forget segments j >= from (a shrinking realloc). */
static void seg_forget_from(size_t s, size_t from)
{
    for (size_t j = from; j < MAX_SEGS; j++)
        F.def[s][j / 64] &= ~((uint64_t)1 << (j % 64));
}

/* The defined bytes below `limit` of slot s on allocator i equal the
 * shadow's. */
static void compare(size_t i, size_t s, size_t limit, const char *when)
{
    const unsigned char *b = F.in[i].p[s], *sh = F.shadow[s];
    if (limit > F.size[s])
        limit = F.size[s];
    for (size_t j = 0; j * SEG < limit; j++) {
        if (!seg_defined(s, j))
            continue;
        size_t from = j * SEG, to = from + SEG < limit ? from + SEG : limit;
        if (memcmp(b + from, sh + from, to - from) == 0)
            continue;
        size_t k = from + first_difference(b + from, sh + from, to - from);
        violation(F.in[i].a.name,
                  "%s: byte %zu of slot %zu's %zu-byte block %p is 0x%02x, the program's is "
                  "0x%02x (stray write or lost contents)", when, k, s, F.size[s], (void *)b, b[k],
                  sh[k]);
    }
}

static void compare_slot(size_t s, size_t limit, const char *when)
{
    for (size_t i = 0; i < F.n; i++)
        compare(i, s, limit, when);
}

/* The program writes a new pattern over the whole segments that [from, to)
 * meets (the last one ends at the block's end), on every allocator. */
static void write_slot(size_t s, size_t from, size_t to)
{
    if (from >= to)
        return;
    from = from / SEG * SEG;
    to = nsegs(to) * SEG < F.size[s] ? nsegs(to) * SEG : F.size[s];
    pattern_fill(F.shadow[s], from, to, mix(((uint64_t)s << 40) ^ ++F.gen));
    for (size_t i = 0; i < F.n; i++)
        memcpy(F.in[i].p[s] + from, F.shadow[s] + from, to - from);
    for (size_t j = from / SEG; j * SEG < to; j++)
        seg_define(s, j);
}

/* A new block's contents: blocks of up to two segments are written whole,
 * bigger ones only their first and last segment. */
static void write_new(size_t s, size_t n)
{
    if (n <= 2 * SEG) {
        write_slot(s, 0, n);
    } else {
        write_slot(s, 0, SEG);
        write_slot(s, n - 1, n);
    }
}

/* ---- one op's results -------------------------------------------------------- */

/* Every allocator returned non-NULL (want_null false) or NULL (true). */
static void agree(bool want_null, const char *what, size_t a1, size_t a2)
{
    char who[512];
    size_t len = 0, bad = 0;
    who[0] = '\0';
    for (size_t i = 0; i < F.n; i++) {
        if ((F.got[i] == NULL) != want_null) {
            bad++;
            int k = snprintf(who + len, sizeof who - len, " %s", F.in[i].a.name);
            if (k > 0 && (size_t)k < sizeof who - len)
                len += (size_t)k;
        }
    }
    if (bad)
        violation(bad == 1 ? who + 1 : "several",
                  "%s(%zu, %zu) %s on:%s (every other allocator: %s)", what, a1, a2,
                  want_null ? "succeeded" : "returned NULL", who,
                  want_null ? "NULL" : "a block");
}

/* F.got[i], a new block of n bytes for slot s: aligned, usable_size >= n,
 * and disjoint from every other live block of the same allocator (exact,
 * by address: malloc(0)'s block counts as one byte, so it must be unique
 * too). */
static void check_new_block(size_t i, size_t s, size_t n, const char *what)
{
    const inst_t *in = &F.in[i];
    const unsigned char *p = F.got[i];
    if ((uintptr_t)p % in->align != 0)
        violation(in->a.name, "%s(%zu) = %p is not %zu-aligned", what, n, (const void *)p,
                  in->align);
    size_t usable = hl_usable_size(&in->a, p);
    if (usable < n)
        violation(in->a.name, "%s(%zu) = %p: usable_size %zu", what, n, (const void *)p, usable);
    size_t len = n ? n : 1;
    for (size_t t = 0; t < NSLOTS; t++) {
        if (t == s || F.shadow[t] == NULL)
            continue;
        const unsigned char *q = in->p[t];
        size_t qlen = F.size[t] ? F.size[t] : 1;
        if (p < q + qlen && q < p + len)
            violation(in->a.name, "%s(%zu) = %p overlaps slot %zu's %zu-byte block %p", what, n,
                      (const void *)p, t, F.size[t], (const void *)q);
    }
}

/* ---- ops --------------------------------------------------------------------- */

static void do_free(size_t s)
{
    if (F.shadow[s] == NULL) {
        for (size_t i = 0; i < F.n; i++)
            hl_free(&F.in[i].a, NULL);
        return;
    }
    for (size_t i = 0; i < F.n; i++) {
        hl_free(&F.in[i].a, F.in[i].p[s]);
        F.in[i].p[s] = NULL;
    }
    F.shadow[s] = NULL;
    memset(F.def[s], 0, sizeof F.def[s]);
    F.live--;
    F.live_bytes -= F.size[s];
}

/* Would holding n bytes in slot s (instead of what it holds) stay in bound? */
static bool within_cap(size_t s, size_t n)
{
    size_t old = F.shadow[s] ? F.size[s] : 0;
    return F.live_bytes - old + n <= LIVE_CAP;
}

/* Slot s's shadow: a fixed window of its own in one mapping made once for
 * the process (not malloc: under ASan every large malloc poisons and
 * unpoisons n / 8 bytes of shadow memory, and the shadows would be the
 * biggest user).  Only the segments the program writes are touched, and a
 * realloc of the shadow is a no-op.  Stale bytes from an earlier input sit
 * in segments that are not defined yet, and are never compared. */
#define SHADOW_STRIDE (MAX_REQUEST + SEG)
static unsigned char *shadow_window(size_t s)
{
    static unsigned char *base;
    if (base == NULL) {
        void *m = mmap(NULL, NSLOTS * SHADOW_STRIDE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) {
            fprintf(stderr, "alloc_diff_fuzz: cannot map the shadows\n");
            abort();
        }
        base = m;
    }
    return base + s * SHADOW_STRIDE;
}

static void take_new(size_t s, size_t n, unsigned char *shadow, const char *what)
{
    for (size_t i = 0; i < F.n; i++)
        check_new_block(i, s, n, what);
    for (size_t i = 0; i < F.n; i++)
        F.in[i].p[s] = F.got[i];
    F.shadow[s] = shadow;
    F.size[s] = n;
    F.live++;
    F.live_bytes += n;
}

static void op_malloc(size_t s, size_t n)
{
    if (!within_cap(s, n))
        return;
    if (F.shadow[s])
        do_free(s);
    for (size_t i = 0; i < F.n; i++)
        F.got[i] = hl_malloc(&F.in[i].a, n);
    agree(false, "malloc", n, 0);
    take_new(s, n, shadow_window(s), "malloc");
    write_new(s, n);
    compare_slot(s, n, "after malloc");
}

static void op_calloc(size_t s, size_t nelem, size_t elsize)
{
    size_t n = nelem * elsize;
    if (!within_cap(s, n))
        return;
    if (F.shadow[s])
        do_free(s);
    for (size_t i = 0; i < F.n; i++)
        F.got[i] = hl_calloc(&F.in[i].a, nelem, elsize);
    agree(false, "calloc", nelem, elsize);
    take_new(s, n, shadow_window(s), "calloc");
    memset(F.shadow[s], 0, n);
    for (size_t j = 0; j < nsegs(n); j++)
        seg_define(s, j);
    compare_slot(s, n, "after calloc (not zeroed)");
    /* From now on, like a malloc'd block: its first and last segments. */
    if (nsegs(n) > 2) {
        seg_forget_from(s, 1);
        seg_define(s, nsegs(n) - 1);
    }
}

static void op_realloc(size_t s, size_t n)
{
    if (!within_cap(s, n))
        return;
    if (F.shadow[s] == NULL) {
        for (size_t i = 0; i < F.n; i++)
            F.got[i] = hl_realloc(&F.in[i].a, NULL, n);
        agree(false, "realloc(NULL)", n, 0);
        take_new(s, n, shadow_window(s), "realloc(NULL)");
        write_new(s, n);
        compare_slot(s, n, "after realloc(NULL)");
        return;
    }
    size_t old = F.size[s];
    for (size_t i = 0; i < F.n; i++)
        F.got[i] = hl_realloc(&F.in[i].a, F.in[i].p[s], n);
    agree(false, "realloc", old, n);
    for (size_t i = 0; i < F.n; i++)
        check_new_block(i, s, n, "realloc");
    for (size_t i = 0; i < F.n; i++)
        F.in[i].p[s] = F.got[i];
    F.size[s] = n;
    F.live_bytes = F.live_bytes - old + n;
    if (n <= old) {
        seg_forget_from(s, nsegs(n));
        compare_slot(s, n, "after a shrinking realloc (prefix not kept)");
        return;
    }
    compare_slot(s, old, "after a growing realloc (old contents not kept)");
    /* The program writes the grown part: the rest of the old last segment
     * (if it was defined: so it stays whole) and the new last one. */
    if (old % SEG != 0 && seg_defined(s, old / SEG))
        write_slot(s, old, old + 1);
    write_slot(s, n - 1, n);
    compare_slot(s, n, "after a growing realloc and the program's writes");
}

static void op_write(size_t s, unsigned x, size_t len)
{
    if (F.shadow[s] == NULL)
        return;
    size_t off = F.size[s] * x / 32;
    size_t room = F.size[s] - off;
    write_slot(s, off, off + (len < room ? len : room));
    compare_slot(s, F.size[s], "after a write");
}

static void op_usable(size_t s)
{
    if (F.shadow[s] == NULL)
        return;
    for (size_t i = 0; i < F.n; i++) {
        unsigned char *p = F.in[i].p[s];
        size_t usable = hl_usable_size(&F.in[i].a, p);
        if (usable < F.size[s])
            violation(F.in[i].a.name, "usable_size(%p) = %zu < %zu requested (slot %zu)",
                      (void *)p, usable, F.size[s], s);
        size_t tail = usable - F.size[s];
        memset(p + F.size[s], 0xA5, tail < TAIL_CAP ? tail : TAIL_CAP);
    }
    compare_slot(s, F.size[s], "after usable_size");
}

static void op_huge(size_t s, unsigned x, size_t h)
{
    asan_quiet(true);
    switch (x % 4) {
    case 0:
        for (size_t i = 0; i < F.n; i++)
            F.got[i] = hl_malloc(&F.in[i].a, h);
        asan_quiet(false);
        agree(true, "malloc", h, 0);
        break;
    case 1:
        for (size_t i = 0; i < F.n; i++)
            F.got[i] = hl_calloc(&F.in[i].a, 1, h);
        asan_quiet(false);
        agree(true, "calloc", 1, h);
        break;
    case 2: {
        size_t nelem = h / 8 + 1;
        for (size_t i = 0; i < F.n; i++)
            F.got[i] = hl_calloc(&F.in[i].a, nelem, 16);
        asan_quiet(false);
        agree(true, "calloc", nelem, 16);
        break;
    }
    default:
        for (size_t i = 0; i < F.n; i++)
            F.got[i] = hl_realloc(&F.in[i].a, F.shadow[s] ? F.in[i].p[s] : NULL, h);
        asan_quiet(false);
        agree(true, "realloc", F.shadow[s] ? F.size[s] : 0, h);
        if (F.shadow[s])
            compare_slot(s, F.size[s], "after a failed huge realloc");
        break;
    }
}

static size_t decode_size(uint16_t v)
{
    unsigned k = v >> 13;
    if (k <= 4)
        return v & 0x1ffu;                    /* 5/8: 0..511 */
    if (k <= 6)
        return v & 0x1fffu;                   /* 2/8: 0..8191 */
    return (size_t)(v & 0x1fffu) * 129;       /* 1/8: 0..1 MiB + 8 KiB */
}

static void run_op(uint8_t opb, size_t s, uint16_t v)
{
    unsigned x = opb >> 3;
    size_t n = decode_size(v);
    switch (opb & 7) {
    case 0:
    case 1: op_malloc(s, n); break;
    case 2: {
        /* calloc zeroes (touches) every page of the block on every
         * allocator: its large range ends at 64 KiB. */
        if (v >> 13 == 7)
            n = (size_t)(v & 0x1fffu) * 8;
        op_calloc(s, x + 1, n / (x + 1));
        break;
    }
    case 3: op_realloc(s, n); break;
    case 4:
        do_free(s);
        break;
    case 5: op_write(s, x, n); break;
    case 6: op_usable(s); break;
    default: op_huge(s, x, HUGE[v % 8]); break;
    }
}

/* ---- whole-heap checks --------------------------------------------------------- */

static void check_all(const char *when)
{
    for (size_t s = 0; s < NSLOTS; s++)
        if (F.shadow[s])
            compare_slot(s, F.size[s], when);
    for (size_t i = 0; i < F.n; i++) {
        inst_t *in = &F.in[i];
        FILE *rep = fmemopen(F.report, sizeof F.report - 1, "w");
        memset(F.report, 0, sizeof F.report);
        bool ok = hl_check(&in->a, rep);
        if (rep)
            fclose(rep);
        if (!ok)
            violation(in->a.name, "hl_check() failed %s: %s", when, F.report);
        if (in->counts_blocks) {
            hl_stats_t st;
            hl_stats(&in->a, &st);
            if (st.live_blocks != in->base_blocks + F.live)
                violation(in->a.name, "%s: live_blocks %zu, expected %zu at creation + %zu held",
                          when, st.live_blocks, in->base_blocks, F.live);
        }
    }
}

/* ---- libFuzzer entry point ------------------------------------------------------- */

static bool skipped(const char *name)
{
    for (size_t k = 0; k < sizeof SKIP / sizeof SKIP[0]; k++)
        if (strcmp(name, SKIP[k]) == 0)
            return true;
    return false;
}

static void create_all(void)
{
    F.n = 0;
    for (size_t r = 0; r < hl_registry_count(); r++) {
        const char *name = hl_registry_at(r)->name;
        if (skipped(name))
            continue;
        if (F.n == MAX_ALLOCATORS) {
            fprintf(stderr, "alloc_diff_fuzz: more than %d allocators\n", MAX_ALLOCATORS);
            abort();
        }
        inst_t *in = &F.in[F.n];
        char err[512];
        if (hl_allocator_create(name, NULL, &in->a, err, sizeof err) != 0) {
            fprintf(stderr, "alloc_diff_fuzz: cannot create %s: %s\n", name, err);
            abort();
        }
        in->align = strcmp(name, "pymalloc-classic") == 0 ? 8 : 16;
        hl_stats_t st;
        hl_stats(&in->a, &st);
        in->counts_blocks = (st.valid & HL_STAT_LIVE_BLOCKS) != 0;
        in->base_blocks = st.live_blocks;
        F.n++;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return -1;
    memset(&F, 0, sizeof F);
    create_all();
    size_t pos = 0;
    for (F.op = 0; pos + 4 <= size; F.op++, pos += 4) {
        run_op(data[pos], data[pos + 1] % NSLOTS, (uint16_t)(data[pos + 2] | (data[pos + 3] << 8)));
        if ((F.op + 1) % CHECK_EVERY == 0)
            check_all("every 16 ops");
    }
    check_all("after the last op");
    for (size_t s = 0; s < NSLOTS; s++)
        if (F.shadow[s])
            do_free(s);
    check_all("after freeing everything");
    for (size_t i = 0; i < F.n; i++)
        hl_allocator_destroy(&F.in[i].a);
    return 0;
}
