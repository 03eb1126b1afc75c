/* debug_hooks_fuzz.c: programs over the debug hooks (PYTHONMALLOC=debug,
 * lib/mem/debug_hooks.c) whose last op may be a misuse, which must be
 * caught, every time, with CPython's report and fatal line.
 *
 * Input format (every byte string is a program; a short tail just ends it;
 * at most MAX_INPUT bytes):
 *
 *     byte 0       the allocator under the MEM and OBJ domains: registry
 *                  index = byte % hl_registry_count() (all of them); the
 *                  domains are hl_pymem_create("NAME_debug"): RAW = glibc,
 *                  MEM = OBJ = one NAME, debug hooks on all three
 *     then ops, each 4 bytes:
 *       OP         bits 0-2 the kind, bits 3-7 X (0..31)
 *                    0, 1  malloc(size) through domain X % 3 (RAW, MEM,
 *                          OBJ) into SLOT (an occupied slot is freed first)
 *                    2     calloc(X / 3 + 1, size / (X / 3 + 1)), likewise
 *                    3     realloc(SLOT, size) through the slot's domain
 *                          (realloc(NULL, n) through domain X % 3 if empty)
 *                    4     free(SLOT) through its domain
 *                    5     write: a new pattern over the data bytes
 *                          [off, off + len), off = X * size / 32
 *                    6     check every live block now (below)
 *                    7     MISUSE, the program's last op (the rest of the
 *                          input is not read): by X % 8,
 *                      0 overflow, then free      k = 1 + V % 8 bytes past
 *                      1 overflow, then realloc   the data (the trailing pad)
 *                      2 underflow, then free     k = 1 + V % 7 bytes before
 *                      3 underflow, then realloc  it (the leading pad)
 *                      4 wrong API: free (X / 8 even) or realloc (odd)
 *                        through domain (own + 1 + V % 2) % 3
 *                      5 double free
 *                      6 realloc of a freed block
 *                      7 the API id byte (p[-8]) overwritten, then free
 *                        (X / 8 even) or realloc (odd)
 *                    the written bytes are V >> 8 (0xFE instead of 0xFD,
 *                    the pad byte; for 7, the id, anything but the
 *                    domain's id); an empty SLOT first gets malloc(V % 600)
 *                    through domain X / 8 % 3
 *       SLOT       % 16
 *       SIZE       16 bits little-endian, V: by V >> 13,
 *                    0..4  V & 0x1ff          0..511
 *                    5, 6  V & 0x1fff         0..8191
 *                    7     (V & 0x1fff) * 40  0..320 KiB (past the sizes the
 *                                             classic designs map alone)
 *
 * The ops before the misuse run in the fuzzer's own process and must never
 * trip the hooks (a fatal error there is a finding, as is anything below);
 * after each, the touched block is checked from outside: the header (size
 * big-endian, API id, 7 x 0xFD), the trailing 8 x 0xFD, and the data --
 * 0xCD (CLEANBYTE) as malloc returns it and as realloc grows it, zeros from
 * calloc, then the program's pattern, realloc keeping the prefix; every
 * live block likewise on op 6, every CHECK_EVERY ops, after the last op and
 * after everything is freed through its own domain; with them, hl_check of
 * both domains' allocators, and the MEM allocator's live-block count equals
 * its value after creation + the MEM and OBJ blocks the program holds
 * (the RAW allocator also holds the MEM allocator's own raw-allocated
 * structures, so only its hl_check is asked): back at creation at the end.
 *
 * The misuse runs in a fork()ed child (lib/mem/death.h: default signal
 * dispositions, stderr into a pipe, core dumps off), at most one per input:
 * the child inherits the parent's heap, so the parent knows the block's
 * address and bytes and predicts the child's whole report.  The child must
 * die by SIGABRT, and its stderr must be exactly
 *   - for the overflow, underflow, wrong API and id kinds: CPython's dump of
 *     the block (_PyObject_DebugDumpAddress: header, both pads with each
 *     bad byte marked "*** OUCH", the data's first and last 8 bytes) and the
 *     fatal line, e.g.
 *         Fatal Python error: _PyMem_DebugRawFree: bad trailing pad byte
 *         Fatal Python error: _PyMem_DebugRawRealloc: bad leading pad byte
 *         Fatal Python error: _PyMem_DebugRawFree: bad ID: Allocated using
 *             API 'm', verified using API 'o'
 *   - for the double free and realloc after free, where what the header
 *     holds is whatever the underlying allocator wrote into the freed block:
 *     the dump's first line for that address, and as the last line either
 *     "bad ID: Allocated using API 'c', verified using API 'own'" with c the
 *     id byte the dump printed (c != own), or "bad leading pad byte".  If
 *     the underlying allocator unmapped the block on the first free (a
 *     direct-mapped big block, or glibc's mmapped chunks outside ASan), the
 *     hooks' read of the header faults, in CPython as here: the child probes
 *     the header between the two calls, reports it, and must then die by
 *     SIGSEGV with nothing more on stderr.
 * The child's coverage is not seen by libFuzzer; its detection is what is
 * checked.  Forking costs (fuzz/README.md has the measured exec/s): inputs
 * without a misuse run at the speed of a plain op program.
 */
#include "lib/mem/death.h"
#include "heaplab/allocator.h"
#include "heaplab/pymem.h"
#include "peers.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NSLOTS 16
#define CHECK_EVERY 32
#define MAX_INPUT (16u << 10)
#define S sizeof(size_t)
#define GOLDEN 0x9E3779B97F4A7C15u

/* Forks cost in proportion to the parent's resident memory, most of which
 * would be ASan's quarantine of freed blocks (256 MiB by default); 8 MiB
 * keeps the fuzzer around 70 MiB and forks about three times cheaper. */
__attribute__((used, visibility("default"))) const char *__asan_default_options(void)
{
    return "quarantine_size_mb=8";
}

static const char API_ID[HL_PYMEM_DOMAIN_COUNT] = {
    HL_PYMEM_API_RAW, HL_PYMEM_API_MEM, HL_PYMEM_API_OBJ,
};

typedef struct block_s {
    unsigned char *p;         /* NULL: slot empty */
    size_t n;                 /* bytes requested */
    int domain;
    unsigned char *model;     /* the data as the program knows it (plain malloc) */
} block_t;

typedef struct fuzz_s {
    hl_pymem_t *pm;
    const char *name;
    hl_allocator_t raw_view, mem_view;
    bool counts_blocks;
    size_t base_blocks;       /* MEM allocator's live_blocks after creation */
    size_t live;              /* MEM + OBJ blocks the program holds */
    uint64_t gen;
    size_t op;
    block_t slot[NSLOTS];
    char report[2048];
} fuzz_t;

static fuzz_t F;

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void violation(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "debug_hooks_fuzz: %s_debug: op %zu: ", F.name, F.op);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* ---- the domains ------------------------------------------------------------ */

static void *d_malloc(int d, size_t n)
{
    switch (d) {
    case HL_PYMEM_DOMAIN_RAW: return hl_pymem_raw_malloc(F.pm, n);
    case HL_PYMEM_DOMAIN_MEM: return hl_pymem_malloc(F.pm, n);
    default: return hl_pyobject_malloc(F.pm, n);
    }
}

static void *d_calloc(int d, size_t nelem, size_t elsize)
{
    switch (d) {
    case HL_PYMEM_DOMAIN_RAW: return hl_pymem_raw_calloc(F.pm, nelem, elsize);
    case HL_PYMEM_DOMAIN_MEM: return hl_pymem_calloc(F.pm, nelem, elsize);
    default: return hl_pyobject_calloc(F.pm, nelem, elsize);
    }
}

static void *d_realloc(int d, void *p, size_t n)
{
    switch (d) {
    case HL_PYMEM_DOMAIN_RAW: return hl_pymem_raw_realloc(F.pm, p, n);
    case HL_PYMEM_DOMAIN_MEM: return hl_pymem_realloc(F.pm, p, n);
    default: return hl_pyobject_realloc(F.pm, p, n);
    }
}

static void d_free(int d, void *p)
{
    switch (d) {
    case HL_PYMEM_DOMAIN_RAW: hl_pymem_raw_free(F.pm, p); break;
    case HL_PYMEM_DOMAIN_MEM: hl_pymem_free(F.pm, p); break;
    default: hl_pyobject_free(F.pm, p); break;
    }
}

/* ---- checking a block from outside ------------------------------------------ */

#define NO_COVERAGE __attribute__((no_sanitize("coverage"), noinline))

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30; x *= 0xBF58476D1CE4E5B9u;
    x ^= x >> 27; x *= 0x94D049BB133111EBu;
    return x ^ (x >> 31);
}

NO_COVERAGE static void pattern_fill(unsigned char *p, size_t from, size_t to, uint64_t seed)
{
    for (size_t k = from; k < to; k++)
        p[k] = (unsigned char)((seed + (uint64_t)(k >> 3) * GOLDEN) >> ((k & 7) * 8));
}

NO_COVERAGE static size_t first_not(const unsigned char *p, size_t n, unsigned char v)
{
    for (size_t k = 0; k < n; k++)
        if (p[k] != v)
            return k;
    return n;
}

NO_COVERAGE static size_t first_difference(const unsigned char *a, const unsigned char *b, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (a[k] != b[k])
            return k;
    return n;
}

static size_t be_size(const unsigned char *b)
{
    size_t r = 0;
    for (size_t i = 0; i < S; i++)
        r = (r << 8) | b[i];
    return r;
}

/* The decorations of slot s's block (CPython's layout) and its data. */
static void check_block(size_t s, const char *when)
{
    const block_t *b = &F.slot[s];
    const unsigned char *base = b->p - 2 * S;
    if (be_size(base) != b->n)
        violation("%s: slot %zu (%p): size field %zu, requested %zu", when, s, (void *)b->p,
                  be_size(base), b->n);
    if (base[S] != (unsigned char)API_ID[b->domain])
        violation("%s: slot %zu (%p): API id 0x%02x, expected '%c'", when, s, (void *)b->p,
                  base[S], API_ID[b->domain]);
    size_t k = first_not(base + S + 1, S - 1, HL_PYMEM_FORBIDDENBYTE);
    if (k != S - 1)
        violation("%s: slot %zu (%p): leading pad byte p-%zu is 0x%02x", when, s, (void *)b->p,
                  S - 1 - k, base[S + 1 + k]);
    k = first_not(b->p + b->n, S, HL_PYMEM_FORBIDDENBYTE);
    if (k != S)
        violation("%s: slot %zu (%p): trailing pad byte tail+%zu is 0x%02x", when, s,
                  (void *)b->p, k, b->p[b->n + k]);
    if (b->n && memcmp(b->p, b->model, b->n) != 0) {
        k = first_difference(b->p, b->model, b->n);
        violation("%s: slot %zu (%p): data byte %zu is 0x%02x, the program's is 0x%02x", when, s,
                  (void *)b->p, k, b->p[k], b->model[k]);
    }
}

static void check_heaps(const char *when)
{
    for (size_t s = 0; s < NSLOTS; s++)
        if (F.slot[s].p)
            check_block(s, when);
    const hl_allocator_t *views[2] = {&F.raw_view, &F.mem_view};
    for (int v = 0; v < 2; v++) {
        FILE *rep = fmemopen(F.report, sizeof F.report - 1, "w");
        memset(F.report, 0, sizeof F.report);
        bool ok = hl_check(views[v], rep);
        if (rep)
            fclose(rep);
        if (!ok)
            violation("%s: hl_check() of the %s domain's allocator failed: %s", when,
                      v ? "MEM" : "RAW", F.report);
    }
    if (F.counts_blocks) {
        hl_stats_t st;
        hl_stats(&F.mem_view, &st);
        if (st.live_blocks != F.base_blocks + F.live)
            violation("%s: the MEM allocator counts %zu live blocks, expected %zu after "
                      "creation + %zu held", when, st.live_blocks, F.base_blocks, F.live);
    }
}

static void *model_alloc(void *old, size_t n)
{
    void *m = realloc(old, n ? n : 1);
    if (m == NULL)
        abort();
    return m;
}

/* ---- normal ops (the parent's) --------------------------------------------------- */

static void do_free(size_t s)
{
    block_t *b = &F.slot[s];
    if (!b->p)
        return;
    check_block(s, "before free");
    d_free(b->domain, b->p);
    free(b->model);
    if (b->domain != HL_PYMEM_DOMAIN_RAW)
        F.live--;
    memset(b, 0, sizeof *b);
}

/* The program writes its pattern over data bytes [from, to). */
static void write_data(size_t s, size_t from, size_t to)
{
    block_t *b = &F.slot[s];
    if (from >= to)
        return;
    pattern_fill(b->model, from, to, mix(((uint64_t)s << 40) ^ ++F.gen));
    memcpy(b->p + from, b->model + from, to - from);
}

static void take_new(size_t s, int d, unsigned char *p, size_t n, unsigned char fill,
                     const char *what)
{
    block_t *b = &F.slot[s];
    if (p == NULL)
        violation("%s(%zu) through domain '%c' returned NULL", what, n, API_ID[d]);
    b->p = p;
    b->n = n;
    b->domain = d;
    b->model = model_alloc(NULL, n);
    memset(b->model, fill, n);
    if (d != HL_PYMEM_DOMAIN_RAW)
        F.live++;
    check_block(s, fill ? "new block (not 0xCD)" : "new calloc block (not zero)");
    write_data(s, 0, n);
    check_block(s, "after the program's write");
}

static void op_malloc(size_t s, int d, size_t n)
{
    do_free(s);
    take_new(s, d, d_malloc(d, n), n, HL_PYMEM_CLEANBYTE, "malloc");
}

static void op_calloc(size_t s, int d, size_t nelem, size_t elsize)
{
    do_free(s);
    take_new(s, d, d_calloc(d, nelem, elsize), nelem * elsize, 0, "calloc");
}

static void op_realloc(size_t s, int d, size_t n)
{
    block_t *b = &F.slot[s];
    if (!b->p) {
        take_new(s, d, d_realloc(d, NULL, n), n, HL_PYMEM_CLEANBYTE, "realloc(NULL)");
        return;
    }
    check_block(s, "before realloc");
    unsigned char *q = d_realloc(b->domain, b->p, n);
    if (q == NULL)
        violation("realloc(%p, %zu) through domain '%c' returned NULL", (void *)b->p, n,
                  API_ID[b->domain]);
    size_t old = b->n;
    b->p = q;
    b->n = n;
    b->model = model_alloc(b->model, n);
    if (n > old)
        memset(b->model + old, HL_PYMEM_CLEANBYTE, n - old);   /* growth is clean */
    check_block(s, "after realloc (prefix lost, growth not 0xCD, or decorations)");
    write_data(s, old < n ? old : n, n);
}

/* ---- the misuse (the child's) ---------------------------------------------------- */

typedef struct misuse_s {
    unsigned kind;            /* X % 8 */
    bool via_realloc;         /* kinds 4 and 7: realloc instead of free */
    int own, other;           /* the block's domain; kind 4's wrong one */
    unsigned char *p;
    size_t n, k;              /* block; bytes overwritten */
    unsigned char v;          /* the byte written */
} misuse_t;

/* Can n bytes at p be read?  The kernel reads them for write(2) into a
 * pipe (raw syscalls: neither ASan nor a fault is involved). */
static bool readable(const void *p, size_t n)
{
    int fds[2];
    char buf[64];
    if (syscall(SYS_pipe2, fds, O_CLOEXEC) != 0)
        return false;
    bool ok = syscall(SYS_write, fds[1], p, n) == (long)n &&
              syscall(SYS_read, fds[0], buf, n) == (long)n;
    syscall(SYS_close, fds[0]);
    syscall(SYS_close, fds[1]);
    return ok;
}

static void child(void *arg)
{
    const misuse_t *m = arg;
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    switch (m->kind) {
    case 0:
    case 1:
        memset(m->p + m->n, m->v, m->k);
        break;
    case 2:
    case 3:
        memset(m->p - m->k, m->v, m->k);
        break;
    case 7:
        m->p[-(ptrdiff_t)S] = m->v;
        break;
    case 5:
    case 6: {
        d_free(m->own, m->p);
        char line[32];
        int len = snprintf(line, sizeof line, "CHILD mapped=%d\n",
                           readable(m->p - 2 * S, 2 * S));
        (void)!write(2, line, (size_t)len);
        break;
    }
    default:
        break;
    }
    switch (m->kind) {
    case 0: case 2: case 5:
        d_free(m->own, m->p);
        break;
    case 1: case 3: case 6:
        (void)d_realloc(m->own, m->p, m->n + 8);
        break;
    case 4:
        if (m->via_realloc)
            (void)d_realloc(m->other, m->p, m->n + 8);
        else
            d_free(m->other, m->p);
        break;
    default:
        if (m->via_realloc)
            (void)d_realloc(m->own, m->p, m->n + 8);
        else
            d_free(m->own, m->p);
        break;
    }
}

/* An appender that keeps NUL bytes (an API id printed with %c may be one). */
typedef struct text_s {
    char buf[4096];
    size_t len;
} text_t;

__attribute__((format(printf, 2, 3)))
static void tprintf(text_t *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n < sizeof t->buf - t->len ? (size_t)n : sizeof t->buf - t->len - 1;
}

/* CPython's _PyObject_DebugDumpAddress of a block whose data is `data`,
 * size field n, id, leading pads lead[0..6] (p-7 .. p-1) and trailing
 * pads tail[0..7]; then the fatal line. */
static void expect_report(text_t *t, const unsigned char *p, size_t n, unsigned char id,
                          const unsigned char lead[S - 1], const unsigned char tail[S],
                          const unsigned char *data, const char *fatal, size_t fatal_len)
{
    t->len = 0;
    tprintf(t, "Debug memory block at address p=%p: API '%c'\n", (const void *)p, id);
    tprintf(t, "    %zu bytes originally requested\n", n);
    tprintf(t, "    The %d pad bytes at p-%d are ", (int)S - 1, (int)S - 1);
    if (first_not(lead, S - 1, HL_PYMEM_FORBIDDENBYTE) == S - 1) {
        tprintf(t, "FORBIDDENBYTE, as expected.\n");
    } else {
        tprintf(t, "not all FORBIDDENBYTE (0x%02x):\n", HL_PYMEM_FORBIDDENBYTE);
        for (int i = (int)S - 1; i >= 1; i--) {
            unsigned char c = lead[S - 1 - (size_t)i];
            tprintf(t, "        at p-%d: 0x%02x%s\n", i, c,
                    c != HL_PYMEM_FORBIDDENBYTE ? " *** OUCH" : "");
        }
        tprintf(t, "    Because memory is corrupted at the start, the count of bytes requested\n"
                   "       may be bogus, and checking the trailing pad bytes may segfault.\n");
    }
    tprintf(t, "    The %d pad bytes at tail=%p are ", (int)S, (const void *)(p + n));
    if (first_not(tail, S, HL_PYMEM_FORBIDDENBYTE) == S) {
        tprintf(t, "FORBIDDENBYTE, as expected.\n");
    } else {
        tprintf(t, "not all FORBIDDENBYTE (0x%02x):\n", HL_PYMEM_FORBIDDENBYTE);
        for (size_t i = 0; i < S; i++)
            tprintf(t, "        at tail+%d: 0x%02x%s\n", (int)i, tail[i],
                    tail[i] != HL_PYMEM_FORBIDDENBYTE ? " *** OUCH" : "");
    }
    if (n > 0) {
        tprintf(t, "    Data at p:");
        size_t i = 0;
        for (; i < n && i < 8; i++)
            tprintf(t, " %02x", data[i]);
        if (i < n) {
            if (n - i > 8) {
                tprintf(t, " ...");
                i = n - 8;
            }
            for (; i < n; i++)
                tprintf(t, " %02x", data[i]);
        }
        tprintf(t, "\n");
    }
    /* The fatal line may hold a NUL (an id printed with %c). */
    tprintf(t, "\n");
    if (fatal_len < sizeof t->buf - t->len - 1) {
        memcpy(t->buf + t->len, fatal, fatal_len);
        t->len += fatal_len;
    }
    tprintf(t, "\n");
}

static void show_mismatch(const char *what, const hl_death_t *d, const text_t *want)
    __attribute__((noreturn));
static void show_mismatch(const char *what, const hl_death_t *d, const text_t *want)
{
    fprintf(stderr, "---- expected (%zu bytes)\n", want ? want->len : 0);
    if (want)
        fwrite(want->buf, 1, want->len, stderr);
    fprintf(stderr, "---- the child's stderr (%zu bytes; exited=%d code=%d signaled=%d sig=%d)\n",
            d->err_len, d->exited, d->code, d->signaled, d->sig);
    fwrite(d->err, 1, d->err_len, stderr);
    fprintf(stderr, "----\n");
    violation("misuse: %s", what);
}

static void run_misuse(unsigned x, size_t s, uint16_t v)
{
    misuse_t m = {0};
    m.kind = x % 8;
    m.via_realloc = (x / 8) % 2 != 0;
    block_t *b = &F.slot[s];
    if (!b->p)
        op_malloc(s, (int)((x / 8) % 3), v % 600u);
    m.own = b->domain;
    m.other = (m.own + 1 + v % 2) % 3;
    m.p = b->p;
    m.n = b->n;
    m.v = (unsigned char)(v >> 8);
    if (m.kind <= 1) {
        m.k = 1 + v % 8;
        if (m.v == HL_PYMEM_FORBIDDENBYTE)
            m.v = 0xFE;
    } else if (m.kind <= 3) {
        m.k = 1 + v % 7;
        if (m.v == HL_PYMEM_FORBIDDENBYTE)
            m.v = 0xFE;
    } else if (m.kind == 7 && m.v == (unsigned char)API_ID[m.own]) {
        m.v ^= 0x80;
    }
    static const char *const kinds[] = {
        "overflow then free", "overflow then realloc", "underflow then free",
        "underflow then realloc", "wrong API", "double free", "realloc after free",
        "API id overwritten",
    };

    hl_death_t d;
    if (hl_death_run(child, &m, &d) != 0)
        violation("misuse: cannot fork");

    bool realloc_call = m.kind == 1 || m.kind == 3 || m.kind == 6 ||
                        ((m.kind == 4 || m.kind == 7) && m.via_realloc);
    const char *func = realloc_call ? "_PyMem_DebugRawRealloc" : "_PyMem_DebugRawFree";
    char fatal[256];
    text_t want;

    if (m.kind == 5 || m.kind == 6) {
        /* What the freed header holds is the underlying allocator's. */
        const char *mapped = "CHILD mapped=1\n", *unmapped = "CHILD mapped=0\n";
        size_t ml = strlen(mapped);
        if (d.err_len >= ml && memcmp(d.err, unmapped, ml) == 0) {
            if (!d.signaled || d.sig != SIGSEGV || d.err_len != ml)
                show_mismatch("the freed block was unmapped: the hooks' read of its header "
                              "must fault (SIGSEGV), as in CPython", &d, NULL);
            return;
        }
        if (d.err_len < ml || memcmp(d.err, mapped, ml) != 0)
            show_mismatch("the child did not get to the second call", &d, NULL);
        if (!d.signaled || d.sig != SIGABRT)
            show_mismatch("not detected (no SIGABRT)", &d, NULL);
        char head[128];
        int hl = snprintf(head, sizeof head, "Debug memory block at address p=%p: API '",
                          (void *)m.p);
        const char *rest = d.err + ml;
        size_t rest_len = d.err_len - ml;
        if (rest_len <= (size_t)hl || memcmp(rest, head, (size_t)hl) != 0)
            show_mismatch(kinds[m.kind], &d, NULL);
        unsigned char c = (unsigned char)rest[hl];
        int fl;
        if (c != (unsigned char)API_ID[m.own])
            fl = snprintf(fatal, sizeof fatal,
                          "\nFatal Python error: %s: bad ID: Allocated using API '%c', "
                          "verified using API '%c'\n", func, c, API_ID[m.own]);
        else
            fl = snprintf(fatal, sizeof fatal, "\nFatal Python error: %s: bad leading pad byte\n",
                          func);
        if (rest_len < (size_t)fl || memcmp(rest + rest_len - fl, fatal, (size_t)fl) != 0) {
            want.len = 0;
            tprintf(&want, "%s...%s", head, fatal);
            show_mismatch(kinds[m.kind], &d, &want);
        }
        return;
    }

    /* The block as the child saw it when the hooks checked it. */
    const unsigned char *base = b->p - 2 * S;
    unsigned char id = base[S], lead[S - 1], tail[S];
    memcpy(lead, base + S + 1, S - 1);
    memcpy(tail, b->p + b->n, S);
    unsigned char want_id = (unsigned char)API_ID[m.own];
    int fl;
    switch (m.kind) {
    case 0: case 1:
        memset(tail, m.v, m.k);
        fl = snprintf(fatal, sizeof fatal, "Fatal Python error: %s: bad trailing pad byte", func);
        break;
    case 2: case 3:
        memset(lead + (S - 1 - m.k), m.v, m.k);
        fl = snprintf(fatal, sizeof fatal, "Fatal Python error: %s: bad leading pad byte", func);
        break;
    case 4:
        fl = snprintf(fatal, sizeof fatal,
                      "Fatal Python error: %s: bad ID: Allocated using API '%c', verified using "
                      "API '%c'", func, API_ID[m.own], API_ID[m.other]);
        break;
    default:
        id = m.v;
        fl = snprintf(fatal, sizeof fatal,
                      "Fatal Python error: %s: bad ID: Allocated using API '%c', verified using "
                      "API '%c'", func, m.v, want_id);
        break;
    }
    expect_report(&want, b->p, b->n, id, lead, tail, b->model, fatal, (size_t)fl);
    if (!d.signaled || d.sig != SIGABRT)
        show_mismatch("not detected (no SIGABRT)", &d, &want);
    if (d.err_len != want.len || memcmp(d.err, want.buf, want.len) != 0)
        show_mismatch(kinds[m.kind], &d, &want);
}

/* ---- the program ------------------------------------------------------------------- */

static size_t decode_size(uint16_t v)
{
    unsigned k = v >> 13;
    if (k <= 4)
        return v & 0x1ffu;
    if (k <= 6)
        return v & 0x1fffu;
    return (size_t)(v & 0x1fffu) * 40;
}

/* Returns false when the op was the misuse (the program ends). */
static bool run_op(uint8_t opb, size_t s, uint16_t v)
{
    unsigned x = opb >> 3;
    size_t n = decode_size(v);
    block_t *b = &F.slot[s];
    switch (opb & 7) {
    case 0:
    case 1:
        op_malloc(s, (int)(x % 3), n);
        break;
    case 2:
        op_calloc(s, (int)(x % 3), x / 3 + 1, n / (x / 3 + 1));
        break;
    case 3:
        op_realloc(s, (int)(x % 3), n);
        break;
    case 4:
        do_free(s);
        break;
    case 5:
        if (b->p) {
            size_t off = b->n * x / 32, room = b->n - off;
            write_data(s, off, off + (n < room ? n : room));
            check_block(s, "after a write");
        }
        break;
    case 6:
        check_heaps("on a check op");
        break;
    default:
        run_misuse(x, s, v);
        return false;
    }
    return true;
}

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
    memset(&F, 0, sizeof F);
    F.name = hl_registry_at(data[0] % hl_registry_count())->name;
    char cfg[96], err[512];
    snprintf(cfg, sizeof cfg, "%s_debug", F.name);
    if (hl_pymem_create(cfg, NULL, &F.pm, err, sizeof err) != 0) {
        fprintf(stderr, "debug_hooks_fuzz: cannot create %s: %s\n", cfg, err);
        abort();
    }
    hl_pymem_domain_view(F.pm, HL_PYMEM_DOMAIN_RAW, &F.raw_view);
    hl_pymem_domain_view(F.pm, HL_PYMEM_DOMAIN_MEM, &F.mem_view);
    hl_stats_t st;
    hl_stats(&F.mem_view, &st);
    F.counts_blocks = (st.valid & HL_STAT_LIVE_BLOCKS) != 0;
    F.base_blocks = st.live_blocks;

    size_t pos = 1;
    for (F.op = 0; pos + 4 <= size; F.op++, pos += 4) {
        if (!run_op(data[pos], data[pos + 1] % NSLOTS,
                    (uint16_t)(data[pos + 2] | (data[pos + 3] << 8))))
            break;
        if ((F.op + 1) % CHECK_EVERY == 0)
            check_heaps("every 32 ops");
    }
    check_heaps("after the last op");
    for (size_t s = 0; s < NSLOTS; s++)
        do_free(s);
    check_heaps("after freeing everything");
    hl_pymem_destroy(F.pm);
    return 0;
}
