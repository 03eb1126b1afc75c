/* debug_hooks.c: CPython's debug memory hooks (PYTHONMALLOC=debug).
 *
 * A decorator, not an allocator.  Installing the hooks on a slot saves the
 * allocator the slot held in the hooks' ctx (hl_debug_api_t, CPython's
 * debug_alloc_api_t) and puts the wrappers below in its place; each asks
 * the saved allocator for 3*S more bytes than requested and frames the data
 * with bytes that catch the common misuses.  With S = sizeof(size_t), the
 * block the saved allocator returned, `base`, is laid out as
 *
 *     base[0:S]            the size requested, n, BIG-endian (easier to read
 *                          in a hex dump: 00 00 00 00 00 00 00 28 is 40)
 *     base[S]              API id: 'r' RAW, 'm' MEM, 'o' OBJ (PEP 445)
 *     base[S+1:2S]         S-1 copies of FORBIDDENBYTE 0xFD  (underwrites)
 *     base[2S:2S+n]        the data, returned as p = base + 2S; new data is
 *                          CLEANBYTE 0xCD (not after calloc: zero), to catch
 *                          reads of uninitialised memory
 *     base[2S+n:3S+n]      S copies of FORBIDDENBYTE 0xFD   (overwrites)
 *
 *     [SSSSSSSS I FFFFFFF CCCC....CCCC FFFFFFFF]
 *      ^ base             ^ p          ^ tail = p + n
 *
 * The fourth word, a serial number, exists only when CPython is compiled
 * with PYMEM_DEBUG_SERIALNO, off by default since 3.8 (bpo-36611); heaplab
 * leaves it out.  The byte values are 3.8's (bpo-36389; 0xCB/0xDB/0xFB
 * before).  p is 16-byte aligned iff base is.
 *
 * free(p) checks the block (below), fills all n + 3S bytes with DEADBYTE
 * 0xDD, so a later read through a dangling pointer sees 0xDDDD..., then
 * frees base.  realloc(p, n') checks, then -- before calling the saved
 * realloc, which may move the block -- erases the header and trailer and
 * (if n <= 128) the whole data, else its first and last 64 bytes, keeping a
 * copy of those 2 x 64 (ERASED_SIZE) bytes on the stack; after the call it
 * rewrites the header and trailer and restores the saved bytes.  A moving
 * realloc therefore leaves 0xDD, not live data, in the memory it gave up,
 * and when it fails the old block comes back intact.  Growth is CLEANBYTE.
 *
 * The check (_PyMem_DebugCheckAddress) runs in this order, and stops at the
 * first failure:
 *   1. the API id, so that PyObject_Free of a PyMem_Malloc block is caught:
 *          bad ID: Allocated using API 'm', verified using API 'o'
 *   2. the leading pad bytes, before trusting the size field that an
 *      underwrite may also have hit:          bad leading pad byte
 *   3. the trailing pad bytes at p + n:       bad trailing pad byte
 * On failure it dumps the block (hl_pymem_debug_dump_address, CPython's
 * _PyObject_DebugDumpAddress, same text) and dies with Py_FatalError's
 * line: "Fatal Python error: _PyMem_DebugRawFree: bad leading pad byte".
 * The function name is always _PyMem_DebugRawFree or _PyMem_DebugRawRealloc,
 * whatever the domain: CPython's MEM/OBJ wrappers only add a GIL check and
 * call the raw ones.  heaplab has no GIL, so one set of wrappers serves all
 * three domains, and "called without holding the GIL" cannot occur.
 *
 * A double free is caught by check 1: the first free left 0xDD in the id
 * byte -- unless the underlying allocator reused it.  What CPython 3.11.7
 * really prints then (PYTHONMALLOC=debug, PyMem_Free twice):
 *     Debug memory block at address p=0x7f8bf5d58850: API '\xdd'
 *         8108966379664637952 bytes originally requested
 *         The 7 pad bytes at p-7 are not all FORBIDDENBYTE (0xfd):
 *             at p-7: 0xdd *** OUCH     (... down to p-1)
 *         Because memory is corrupted at the start, the count of bytes ...
 *         The 8 pad bytes at tail=0x7089558181548850 are <SIGSEGV>
 * pymalloc had put its free-list link in base[0:8], so the size is a
 * pointer and the tail is wild: the dump faults before the fatal line is
 * ever written.  Over glibc, tcache writes its link over base[0:8] and its
 * key over base[8:16], so even the id byte is random.  heaplab prints the
 * same lines but reads the tail, and the data bytes, through the kernel
 * (a pipe) so that unreadable memory is reported rather than faulted on:
 *         The 8 pad bytes at tail=0x... are unreadable (CPython 3.11 ...)
 * and then finishes with CPython's fatal line and abort():
 *     Fatal Python error: _PyMem_DebugRawFree: bad ID: Allocated using
 *     API '\xdd', verified using API 'm'
 * (With tracemalloc off CPython ends the dump with "Enable tracemalloc to
 * get the memory block allocation traceback" and a blank line; heaplab has
 * no tracemalloc and writes neither.)  The checks themselves read the
 * header directly, as CPython does, so a double free of a block the
 * underlying allocator already unmapped faults in both.
 *
 * Under ASan the checks are exempt from instrumentation: reading the freed
 * header is the point of them.
 */
#include "hl_debug.h"
#include "pymem_internal.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SST sizeof(size_t)
#define ERASED_SIZE 64

/* Read / write S bytes at p as a big-endian size_t. */
static size_t read_size_t(const uint8_t *p)
{
    size_t r = 0;
    for (size_t i = 0; i < SST; i++)
        r = (r << 8) | p[i];
    return r;
}

static void write_size_t(uint8_t *p, size_t n)
{
    for (size_t i = SST; i-- > 0; n >>= 8)
        p[i] = (uint8_t)(n & 0xff);
}

size_t _hl_debug_requested_size(const void *p)
{
    return read_size_t((const uint8_t *)p - 2 * SST);
}

/* ---------------------------------------------------------------------- */
/* The wrappers */

static void *debug_raw_alloc(bool use_calloc, hl_debug_api_t *api, size_t nbytes)
{
    if (nbytes > HL_PY_SSIZE_T_MAX - HL_PYMEM_DEBUG_EXTRA_BYTES)
        return NULL;   /* total would not fit a Py_ssize_t */
    size_t total = nbytes + HL_PYMEM_DEBUG_EXTRA_BYTES;

    uint8_t *base = use_calloc ? api->alloc.calloc(api->alloc.ctx, 1, total)
                               : api->alloc.malloc(api->alloc.ctx, total);
    if (base == NULL)
        return NULL;
    uint8_t *data = base + 2 * SST;

    write_size_t(base, nbytes);
    base[SST] = (uint8_t)api->api_id;
    memset(base + SST + 1, HL_PYMEM_FORBIDDENBYTE, SST - 1);
    if (nbytes > 0 && !use_calloc)
        memset(data, HL_PYMEM_CLEANBYTE, nbytes);
    memset(data + nbytes, HL_PYMEM_FORBIDDENBYTE, SST);
    return data;
}

static void *debug_raw_malloc(void *ctx, size_t nbytes)
{
    return debug_raw_alloc(false, ctx, nbytes);
}

static void *debug_raw_calloc(void *ctx, size_t nelem, size_t elsize)
{
    /* CPython asserts this (its callers checked); a direct vtable caller
     * has not, so fail as calloc does. */
    if (elsize != 0 && nelem > HL_PY_SSIZE_T_MAX / elsize)
        return NULL;
    return debug_raw_alloc(true, ctx, nelem * elsize);
}

static void debug_raw_free(void *ctx, void *p)
{
    if (p == NULL)
        return;   /* PyMem_Free(NULL) has no effect */
    hl_debug_api_t *api = ctx;
    uint8_t *base = (uint8_t *)p - 2 * SST;

    hl_pymem_debug_check_address("_PyMem_DebugRawFree", api->api_id, p);
    size_t nbytes = read_size_t(base);
    memset(base, HL_PYMEM_DEADBYTE, nbytes + HL_PYMEM_DEBUG_EXTRA_BYTES);
    api->alloc.free(api->alloc.ctx, base);
}

static void *debug_raw_realloc(void *ctx, void *p, size_t nbytes)
{
    if (p == NULL)
        return debug_raw_alloc(false, ctx, nbytes);

    hl_debug_api_t *api = ctx;
    hl_pymem_debug_check_address("_PyMem_DebugRawRealloc", api->api_id, p);

    uint8_t *data = p;
    uint8_t *head = data - 2 * SST;
    size_t original_nbytes = read_size_t(head);
    if (nbytes > HL_PY_SSIZE_T_MAX - HL_PYMEM_DEBUG_EXTRA_BYTES)
        return NULL;   /* block untouched */
    size_t total = nbytes + HL_PYMEM_DEBUG_EXTRA_BYTES;
    uint8_t *tail = data + original_nbytes;

    /* Kill the header, the trailer and the first and last ERASED_SIZE data
     * bytes (all of them if there are at most 2 x ERASED_SIZE), keeping a
     * copy, so memory a moving realloc abandons is seen as dead. */
    uint8_t save[2 * ERASED_SIZE];
    if (original_nbytes <= sizeof save) {
        memcpy(save, data, original_nbytes);
        memset(head, HL_PYMEM_DEADBYTE, original_nbytes + HL_PYMEM_DEBUG_EXTRA_BYTES);
    } else {
        memcpy(save, data, ERASED_SIZE);
        memset(head, HL_PYMEM_DEADBYTE, ERASED_SIZE + 2 * SST);
        memcpy(&save[ERASED_SIZE], tail - ERASED_SIZE, ERASED_SIZE);
        memset(tail - ERASED_SIZE, HL_PYMEM_DEADBYTE, ERASED_SIZE + SST);
    }

    uint8_t *r = api->alloc.realloc(api->alloc.ctx, head, total);
    if (r == NULL)
        nbytes = original_nbytes;   /* rebuild the old block's decorations */
    else
        head = r;
    data = head + 2 * SST;

    write_size_t(head, nbytes);
    head[SST] = (uint8_t)api->api_id;
    memset(head + SST + 1, HL_PYMEM_FORBIDDENBYTE, SST - 1);
    tail = data + nbytes;
    memset(tail, HL_PYMEM_FORBIDDENBYTE, SST);

    /* Restore the saved bytes that are still inside the block. */
    if (original_nbytes <= sizeof save) {
        memcpy(data, save, nbytes < original_nbytes ? nbytes : original_nbytes);
    } else {
        size_t i = original_nbytes - ERASED_SIZE;
        memcpy(data, save, nbytes < ERASED_SIZE ? nbytes : ERASED_SIZE);
        if (nbytes > i) {
            size_t k = nbytes - i;
            memcpy(data + i, &save[ERASED_SIZE], k < ERASED_SIZE ? k : ERASED_SIZE);
        }
    }

    if (r == NULL)
        return NULL;
    if (nbytes > original_nbytes)   /* growing: the new memory is clean */
        memset(data + original_nbytes, HL_PYMEM_CLEANBYTE, nbytes - original_nbytes);
    return data;
}

void _hl_debug_hooks_ex(hl_debug_api_t *api, hl_mem_allocator_ex_t *out)
{
    out->ctx = api;
    out->malloc = debug_raw_malloc;
    out->calloc = debug_raw_calloc;
    out->realloc = debug_raw_realloc;
    out->free = debug_raw_free;
}

hl_debug_api_t *_hl_debug_hooks_api(const hl_mem_allocator_ex_t *ex)
{
    return ex->malloc == debug_raw_malloc ? ex->ctx : NULL;
}

/* ---------------------------------------------------------------------- */
/* Checking and dumping */

HL_NO_SANITIZE_ADDRESS
void hl_pymem_debug_check_address(const char *func, char api, const void *p)
{
    hl_assert(p != NULL);
    const volatile uint8_t *q = p;

    char id = (char)q[-(ptrdiff_t)SST];
    if (id != api) {
        hl_pymem_debug_dump_address(p);
        hl_py_fatal_error_func(func, "bad ID: Allocated using API '%c', verified using API '%c'",
                               id, api);
    }

    /* The start first: an underwrite may have hit the size field too, and
     * then the tail is somewhere else entirely. */
    for (size_t i = SST - 1; i >= 1; i--) {
        if (q[-(ptrdiff_t)i] != HL_PYMEM_FORBIDDENBYTE) {
            hl_pymem_debug_dump_address(p);
            hl_py_fatal_error_func(func, "bad leading pad byte");
        }
    }

    size_t nbytes = 0;
    for (size_t i = 0; i < SST; i++)
        nbytes = (nbytes << 8) | q[(ptrdiff_t)i - 2 * (ptrdiff_t)SST];
    const volatile uint8_t *tail = q + nbytes;
#ifdef HL_PLANT_DEBUG_TRAILING_PAD
    /* planted bug: starts at 1 as the leading-pad loop ends at 1 (q[-1]), so
     * tail[0] -- the byte a 1-byte overrun hits -- is never checked */
    for (size_t i = 1; i < SST; i++) {
#else
    for (size_t i = 0; i < SST; i++) {
#endif
        if (tail[i] != HL_PYMEM_FORBIDDENBYTE) {
            hl_pymem_debug_dump_address(p);
            hl_py_fatal_error_func(func, "bad trailing pad byte");
        }
    }
}

/* Copy n bytes from addr into buf without touching them from user space:
 * the kernel reads them for write(2) into a pipe, and says EFAULT if it
 * cannot.  Raw syscalls, so ASan neither checks nor reports.  For the dump
 * only, where a bogus size makes every address suspect. */
static bool read_safely(uintptr_t addr, void *buf, size_t n)
{
    int fds[2];
    if (syscall(SYS_pipe2, fds, O_CLOEXEC) != 0)
        return false;
    bool ok = syscall(SYS_write, fds[1], (const void *)addr, n) == (long)n
              && syscall(SYS_read, fds[0], buf, n) == (long)n;
    syscall(SYS_close, fds[0]);
    syscall(SYS_close, fds[1]);
    return ok;
}

/* A tiny fd-2 writer: the dump must not allocate, since the heap it is
 * reporting on is suspect. */
typedef struct out_s {
    char buf[1024];
    size_t len;
} out_t;

static void out_flush(out_t *o)
{
    _hl_write_stderr(o->buf, o->len);
    o->len = 0;
}

__attribute__((format(printf, 2, 3)))
static void out_printf(out_t *o, const char *fmt, ...)
{
    if (o->len > sizeof o->buf - 128)
        out_flush(o);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, sizeof o->buf - o->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n < sizeof o->buf - o->len ? (size_t)n : sizeof o->buf - o->len - 1;
}

void hl_pymem_debug_dump_address(const void *p)
{
    out_t o;
    o.len = 0;
    uintptr_t q = (uintptr_t)p;
    uint8_t head[2 * sizeof(size_t)];
    uint8_t pads[sizeof(size_t)];

    out_printf(&o, "Debug memory block at address p=%p:", p);
    if (p == NULL) {
        out_printf(&o, "\n");
        out_flush(&o);
        return;
    }
    if (!read_safely(q - 2 * SST, head, sizeof head)) {
        /* CPython faults reading the id; heaplab says so and stops. */
        out_printf(&o, " header unreadable (CPython 3.11 dies with SIGSEGV here)\n\n");
        out_flush(&o);
        return;
    }
    out_printf(&o, " API '%c'\n", (char)head[SST]);

    size_t nbytes = read_size_t(head);
    out_printf(&o, "    %zu bytes originally requested\n", nbytes);

    /* In case this is nuts, check the leading pad bytes first. */
    out_printf(&o, "    The %d pad bytes at p-%d are ", (int)SST - 1, (int)SST - 1);
    bool ok = true;
    for (size_t i = SST + 1; i < 2 * SST; i++)
        ok = ok && head[i] == HL_PYMEM_FORBIDDENBYTE;
    if (ok) {
        out_printf(&o, "FORBIDDENBYTE, as expected.\n");
    } else {
        out_printf(&o, "not all FORBIDDENBYTE (0x%02x):\n", HL_PYMEM_FORBIDDENBYTE);
        for (int i = (int)SST - 1; i >= 1; i--) {
            uint8_t byte = head[2 * SST - (size_t)i];
            out_printf(&o, "        at p-%d: 0x%02x%s\n", i, byte,
                       byte != HL_PYMEM_FORBIDDENBYTE ? " *** OUCH" : "");
        }
        out_printf(&o, "    Because memory is corrupted at the start, the count of bytes requested\n"
                       "       may be bogus, and checking the trailing pad bytes may segfault.\n");
    }

    uintptr_t tail = q + nbytes;   /* may wrap, as the pointer sum does in C */
    out_printf(&o, "    The %d pad bytes at tail=%p are ", (int)SST, (void *)tail);
    if (!read_safely(tail, pads, sizeof pads)) {
        out_printf(&o, "unreadable (CPython 3.11 dies with SIGSEGV here)\n");
    } else {
        ok = true;
        for (size_t i = 0; i < SST; i++)
            ok = ok && pads[i] == HL_PYMEM_FORBIDDENBYTE;
        if (ok) {
            out_printf(&o, "FORBIDDENBYTE, as expected.\n");
        } else {
            out_printf(&o, "not all FORBIDDENBYTE (0x%02x):\n", HL_PYMEM_FORBIDDENBYTE);
            for (size_t i = 0; i < SST; i++)
                out_printf(&o, "        at tail+%d: 0x%02x%s\n", (int)i, pads[i],
                           pads[i] != HL_PYMEM_FORBIDDENBYTE ? " *** OUCH" : "");
        }
    }

    if (nbytes > 0) {
        /* Up to 8 bytes at the start and 8 at the end; unreadable ones as
         * "??" (CPython would have faulted). */
        uint8_t byte;
        int i = 0;
        out_printf(&o, "    Data at p:");
        while (q < tail && i < 8) {
            if (read_safely(q, &byte, 1))
                out_printf(&o, " %02x", byte);
            else
                out_printf(&o, " ??");
            ++i;
            ++q;
        }
        if (q < tail) {
            if (tail - q > 8) {
                out_printf(&o, " ...");
                q = tail - 8;
            }
            while (q < tail) {
                if (read_safely(q, &byte, 1))
                    out_printf(&o, " %02x", byte);
                else
                    out_printf(&o, " ??");
                ++q;
            }
        }
        out_printf(&o, "\n");
    }
    out_printf(&o, "\n");
    out_flush(&o);
}

/* ---------------------------------------------------------------------- */
/* The hooks as a decorator of any hl_allocator_t */

typedef struct debug_wrap_s {
    hl_debug_api_t api;          /* api.alloc adapts *inner */
    const hl_allocator_t *inner;
} debug_wrap_t;

static void *wrap_malloc(void *ctx, size_t n)
{ return debug_raw_malloc(&((debug_wrap_t *)ctx)->api, n); }
static void *wrap_calloc(void *ctx, size_t nelem, size_t elsize)
{ return debug_raw_calloc(&((debug_wrap_t *)ctx)->api, nelem, elsize); }
static void *wrap_realloc(void *ctx, void *p, size_t n)
{ return debug_raw_realloc(&((debug_wrap_t *)ctx)->api, p, n); }
static void wrap_free(void *ctx, void *p)
{ debug_raw_free(&((debug_wrap_t *)ctx)->api, p); }
static size_t wrap_usable_size(void *ctx, const void *p)
{ HL_UNUSED(ctx); return _hl_debug_requested_size(p); }
static void wrap_stats(void *ctx, hl_stats_t *out)
{ hl_stats(((debug_wrap_t *)ctx)->inner, out); }
static bool wrap_check(void *ctx, FILE *report)
{ return hl_check(((debug_wrap_t *)ctx)->inner, report); }
static int wrap_print_stats(void *ctx, FILE *out)
{ return hl_print_stats(((debug_wrap_t *)ctx)->inner, out); }
static void wrap_destroy(void *ctx)
{ free(ctx); }

static const hl_allocator_ops_t debug_wrap_ops = {
    .malloc = wrap_malloc,
    .calloc = wrap_calloc,
    .realloc = wrap_realloc,
    .free = wrap_free,
    .usable_size = wrap_usable_size,
    .stats = wrap_stats,
    .check = wrap_check,
    .print_stats = wrap_print_stats,
    .destroy = wrap_destroy,
};

int hl_debug_hooks_wrap(const hl_allocator_t *inner, char api_id, hl_allocator_t *out)
{
    hl_assert(inner != NULL && inner->ops != NULL);
    debug_wrap_t *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    w->inner = inner;
    w->api.api_id = api_id;
    hl_mem_allocator_ex_from(inner, &w->api.alloc);
    out->ops = &debug_wrap_ops;
    out->ctx = w;
    out->name = inner->name;
    return 0;
}
