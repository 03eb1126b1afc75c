/* glibc.c: the C library's malloc behind the heaplab interface.
 *
 * glibc has one heap per process, so this allocator is a view of it, not an
 * independent heap: held_bytes is mallinfo2()'s arena + hblkhd, the bytes the
 * whole process holds from the system through malloc (main arena via brk plus
 * mmapped chunks).  Live blocks and bytes are counted per instance (HL_STATS),
 * from malloc_usable_size.  destroy() frees the blocks this instance still
 * has only if the caller freed them; it then calls malloc_trim(0) to hand free
 * memory at the top of the heap back to the system.
 *
 * walk() reports the chunks of the main arena, the part of the heap glibc
 * takes from the system with brk: glibc 2.36 on x86-64, where a chunk is
 *
 *     chunk   [prev_size 8][size | flags 8][payload ... ]
 *     block = chunk + 16,  next chunk = chunk + (size & ~7)
 *
 * and a chunk is in use iff the next chunk's PREV_INUSE bit (1) is set.
 * The prev_size field of a chunk belongs to the chunk before it: payload
 * while that one is in use (malloc_usable_size is size - 8), its footer
 * while it is free.  So each chunk of size S at c is reported as the 8
 * bytes [c + 8, c + 16) of its size field (OVERHEAD) and the S - 8 bytes
 * [c + 16, c + S + 8) after them, USED if the chunk is in use, else FREE;
 * a live block [p, p + malloc_usable_size(p)) is exactly one USED span.
 * The first chunk's prev_size, which no chunk owns, is OVERHEAD, and the
 * last chunk, the top chunk, is its size field (OVERHEAD) and UNUSED up to
 * the break.  The spans tile [heap start, break) exactly.  Blocks in the
 * tcache and the fastbins are in use to the arena (their successors keep
 * PREV_INUSE), so they are USED: the caller's live set tells them apart.
 *
 * Where the arena is: mallinfo2() gives the bytes the arenas hold (`arena`)
 * and the main arena's top chunk size (`keepcost`), sbrk(0) the break,
 * /proc/self/stat the kernel's start_brk, below which nothing is read.  The
 * chunks must tile one of [break - arena, break) (the usual process, one
 * arena), [start_brk, break) (other arenas exist) or [start_brk,
 * start_brk + arena) (someone moved the break since glibc last grew), with
 * the top chunk last and of size keepcost; every size is checked first
 * (16-aligned, >= 32, inside the range, no IS_MMAPPED or NON_MAIN_ARENA
 * bit, a free chunk's footer equal to its size), before anything is
 * reported.  If no range fits, walk() returns HL_NO_VIEW having reported
 * nothing: glibc's heap is not corrupt, only laid out in a way this walk
 * cannot follow (below), and the caller falls back to its live blocks.
 * Nothing is read outside [start_brk, break).
 *
 * What it cannot see: mmapped chunks (by default blocks of 128 KiB and
 * more, the threshold rising as such blocks are freed), which are no part
 * of any arena and are found by no walk (held_bytes counts them); the
 * heaps of the other arenas (threads' arenas, mmapped); a main arena that is
 * not one contiguous brk region: when something else moves the break
 * between two of glibc's growths (gperftools' tcmalloc takes its memory
 * with sbrk, so the `tcmalloc` peer does exactly that), glibc goes on
 * behind fenceposts, the chunks no longer tile a range and walk() returns
 * HL_NO_VIEW; and when the main arena could not use brk at all (no [heap]), it
 * reports nothing.  walk() reads the arena without its lock: no other
 * thread may allocate meanwhile, and fn must not allocate from the C heap
 * (the reporting pass would then see another heap than the checking pass,
 * and may stop with -1 after reporting part of it).
 *
 * When the process's malloc is not glibc's (AddressSanitizer's, or an
 * allocator linked in or preloaded ahead of libc), the chunks are not this
 * instance's blocks, and walk() returns HL_NO_VIEW: the caller falls back to
 * the live blocks it knows, as for allocators without a walk.  create()
 * decides, by where `malloc` and `free` resolve in the global scope (dladdr:
 * the object that defines them must be libc's), and every ASan build says
 * so at compile time too.
 */
#include "hl_debug.h"
#include "hl_registry.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct glibc_state_s {
    size_t live_blocks;   /* HL_STATS only */
    size_t live_bytes;
    size_t held_peak;
    bool malloc_is_libc;  /* malloc and free are glibc's: walk() can look */
} glibc_state_t;

static void *glibc_malloc(void *ctx, size_t n)
{
    void *p = malloc(n ? n : 1);
#if HL_STATS
    glibc_state_t *st = ctx;
    if (p) { st->live_blocks++; st->live_bytes += malloc_usable_size(p); }
#else
    HL_UNUSED(ctx);
#endif
    return p;
}

static void *glibc_calloc(void *ctx, size_t nelem, size_t elsize)
{
    if (elsize != 0 && nelem > SIZE_MAX / elsize)
        return NULL;
    /* As CPython's _PyMem_RawCalloc: a zero-sized request is calloc(1, 1). */
    if (nelem == 0 || elsize == 0)
        nelem = elsize = 1;
    void *p = calloc(nelem, elsize);
#if HL_STATS
    glibc_state_t *st = ctx;
    if (p) { st->live_blocks++; st->live_bytes += malloc_usable_size(p); }
#else
    HL_UNUSED(ctx);
#endif
    return p;
}

static void *glibc_realloc(void *ctx, void *p, size_t n)
{
#if HL_STATS
    glibc_state_t *st = ctx;
    size_t old = p ? malloc_usable_size(p) : 0;
    void *q = realloc(p, n ? n : 1);
    if (q) {
        if (!p) st->live_blocks++;
        st->live_bytes += malloc_usable_size(q) - old;
    }
    return q;
#else
    HL_UNUSED(ctx);
    return realloc(p, n ? n : 1);
#endif
}

static void glibc_free(void *ctx, void *p)
{
#if HL_STATS
    glibc_state_t *st = ctx;
    if (p) { st->live_blocks--; st->live_bytes -= malloc_usable_size(p); }
#else
    HL_UNUSED(ctx);
#endif
    free(p);
}

static size_t glibc_usable_size(void *ctx, const void *p)
{
    HL_UNUSED(ctx);
    return malloc_usable_size((void *)p);
}

static void glibc_stats(void *ctx, hl_stats_t *out)
{
    glibc_state_t *st = ctx;
    struct mallinfo2 mi = mallinfo2();
    size_t held = mi.arena + mi.hblkhd;
    if (held > st->held_peak)
        st->held_peak = held;
    out->valid = HL_STAT_HELD;
    out->held_bytes = held;
    out->held_peak_bytes = st->held_peak;
#if HL_STATS
    out->valid |= HL_STAT_LIVE_BLOCKS | HL_STAT_LIVE_BYTES;
    out->live_blocks = st->live_blocks;
    out->live_bytes = st->live_bytes;
#else
    out->live_blocks = out->live_bytes = 0;
#endif
}

static bool glibc_check(void *ctx, FILE *report)
{
    HL_UNUSED(ctx); HL_UNUSED(report);
    /* glibc checks its own chunks on every free and aborts on corruption. */
    return true;
}

static int glibc_print_stats(void *ctx, FILE *out)
{
    HL_UNUSED(ctx);
    return malloc_info(0, out) == 0;
}

static void glibc_destroy(void *ctx)
{
    free(ctx);
    malloc_trim(0);
}

/* walk(): the header says what is reported, and how the arena is found. */
#define GL_SIZE_SZ ((uintptr_t)8)          /* INTERNAL_SIZE_T */
#define GL_ALIGN ((uintptr_t)16)           /* MALLOC_ALIGNMENT */
#define GL_MINSIZE ((size_t)32)            /* MINSIZE */
#define GL_PREV_INUSE ((size_t)1)
#define GL_IS_MMAPPED ((size_t)2)
#define GL_NON_MAIN_ARENA ((size_t)4)
#define GL_FLAGS ((size_t)7)

/* The process's malloc and free are the C library's (see the header). */
static bool glibc_malloc_is_libc(void)
{
#ifdef HL_ASAN
    return false;
#else
    void *m = dlsym(RTLD_DEFAULT, "malloc");
    void *f = dlsym(RTLD_DEFAULT, "free");
    Dl_info libc, mi, fi;
    if (m == NULL || f == NULL || dladdr((void *)(uintptr_t)gnu_get_libc_version, &libc) == 0
        || dladdr(m, &mi) == 0 || dladdr(f, &fi) == 0)
        return false;
    return mi.dli_fbase == libc.dli_fbase && fi.dli_fbase == libc.dli_fbase;
#endif
}

/* The kernel's start_brk, field 47 of /proc/self/stat (proc(5)); 0 if it
 * cannot be read.  read(2) into a stack buffer: nothing is allocated. */
static uintptr_t glibc_start_brk(void)
{
    char buf[1024];
    size_t len = 0;
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    while (len < sizeof buf - 1) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    /* Field 2, the command, is in parentheses and may hold anything: the
     * fields after it start after its last ')'. */
    const char *p = strrchr(buf, ')');
    if (p == NULL)
        return 0;
    int field = 2;
    for (p++; *p != '\0'; p++) {
        if (*p != ' ')
            continue;
        if (++field == 47) {
            uintptr_t v = 0;
            for (p++; *p >= '0' && *p <= '9'; p++)
                v = v * 10 + (uintptr_t)(*p - '0');
            return v;
        }
    }
    return 0;
}

static inline size_t glibc_word(uintptr_t addr)
{
    size_t v;
    memcpy(&v, (const void *)addr, sizeof v);
    return v;
}

/* The chunks tiling [start, end), the last one the top chunk of size
 * top_size: 0 iff every chunk is consistent.  With fn, also the spans.
 * Reads only inside [start, end). */
static int glibc_chunks(uintptr_t start, uintptr_t end, size_t top_size, hl_span_fn fn,
                        void *user)
{
    if (start % GL_ALIGN != 0 || end % GL_ALIGN != 0 || start >= end
        || end - start < GL_MINSIZE)
        return -1;
    if (fn)
        fn(user, start, GL_SIZE_SZ, HL_SPAN_OVERHEAD);   /* a prev_size no chunk owns */
    /* The first chunk's PREV_INUSE is always set: there is no chunk before. */
    bool prev_inuse = true;
    uintptr_t c = start;
    for (;;) {
        /* c < end and both are 16-aligned: [c, c + 16) is inside. */
        size_t head = glibc_word(c + GL_SIZE_SZ);
        size_t size = head & ~GL_FLAGS;
        if ((head & (GL_IS_MMAPPED | GL_NON_MAIN_ARENA)) != 0
            || ((head & GL_PREV_INUSE) != 0) != prev_inuse
            || size % GL_ALIGN != 0 || size < GL_MINSIZE || size > end - c)
            return -1;
        if (c + size == end) {
            /* The top chunk; a free chunk before it would have merged. */
            if (size != top_size || !prev_inuse)
                return -1;
            if (fn) {
                fn(user, c + GL_SIZE_SZ, GL_SIZE_SZ, HL_SPAN_OVERHEAD);
                fn(user, c + 2 * GL_SIZE_SZ, size - 2 * GL_SIZE_SZ, HL_SPAN_UNUSED);
            }
            return 0;
        }
        uintptr_t next = c + size;
        bool inuse = (glibc_word(next + GL_SIZE_SZ) & GL_PREV_INUSE) != 0;
        if (!inuse && glibc_word(next) != size)
            return -1;                                /* a free chunk's footer */
        if (fn) {
            fn(user, c + GL_SIZE_SZ, GL_SIZE_SZ, HL_SPAN_OVERHEAD);
            fn(user, c + 2 * GL_SIZE_SZ, size - GL_SIZE_SZ, inuse ? HL_SPAN_USED : HL_SPAN_FREE);
        }
        prev_inuse = inuse;
        c = next;
    }
}

static int glibc_walk(void *ctx, hl_span_fn fn, void *user)
{
    glibc_state_t *st = ctx;
    if (!st->malloc_is_libc)
        return HL_NO_VIEW;
    struct mallinfo2 mi = mallinfo2();
    uintptr_t brk = (uintptr_t)sbrk(0);
    uintptr_t floor = glibc_start_brk();
    if (brk == (uintptr_t)-1 || floor == 0 || floor > brk)
        return -1;
    if (mi.arena == 0 || brk == floor)
        return 0;                 /* nothing from brk: no main arena to see */
    const uintptr_t held = brk - floor;
    const struct { uintptr_t start, end; } ranges[] = {
        {mi.arena <= held ? brk - mi.arena : 0, brk},
        {floor, brk},
        {floor, mi.arena <= held ? floor + mi.arena : 0},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        uintptr_t start = ranges[i].start, end = ranges[i].end;
        if (start < floor || end > brk || start >= end)
            continue;
        if (glibc_chunks(start, end, mi.keepcost, NULL, NULL) == 0)
            return glibc_chunks(start, end, mi.keepcost, fn, user);
    }
    return HL_NO_VIEW;
}

static const hl_allocator_ops_t glibc_ops = {
    .malloc = glibc_malloc,
    .calloc = glibc_calloc,
    .realloc = glibc_realloc,
    .free = glibc_free,
    .usable_size = glibc_usable_size,
    .stats = glibc_stats,
    .check = glibc_check,
    .print_stats = glibc_print_stats,
    .destroy = glibc_destroy,
    .walk = glibc_walk,
};

int hl_glibc_create(const hl_alloc_options_t *opt, hl_allocator_t *out, char *err, size_t errlen)
{
    HL_UNUSED(opt);
    glibc_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return _hl_err(err, errlen, "glibc: out of memory");
    st->malloc_is_libc = glibc_malloc_is_libc();
    out->ops = &glibc_ops;
    out->ctx = st;
    out->name = "glibc";
    return 0;
}
