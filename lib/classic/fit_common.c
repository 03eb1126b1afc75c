/* fit_common.c: see fit_common.h. */
#include "fit_common.h"

#include "hl_debug.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t fit_mapped_bytes;  /* atomic: instances may live on several threads */

static void fit_count(size_t add, size_t sub)
{
    if (add)
        __atomic_add_fetch(&fit_mapped_bytes, add, __ATOMIC_RELAXED);
    if (sub)
        __atomic_sub_fetch(&fit_mapped_bytes, sub, __ATOMIC_RELAXED);
}

size_t _hl_fit_mapped_bytes(void)
{
    return __atomic_load_n(&fit_mapped_bytes, __ATOMIC_RELAXED);
}

void *_hl_fit_map(size_t size)
{
    hl_assert(size > 0 && size % HL_FIT_OS_PAGE == 0);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    fit_count(size, 0);
    return p;
}

void *_hl_fit_map_aligned(size_t size, size_t align)
{
    hl_assert(size > 0 && size % HL_FIT_OS_PAGE == 0);
    hl_assert(align >= HL_FIT_OS_PAGE && (align & (align - 1)) == 0);
    size_t slack = align - HL_FIT_OS_PAGE;
    if (size > SIZE_MAX - slack)
        return NULL;
    char *raw = mmap(NULL, size + slack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    char *p = (char *)_hl_fit_round_up((uintptr_t)raw, align);
    size_t head = (size_t)(p - raw);
    size_t tail = slack - head;
    if (head)
        munmap(raw, head);
    if (tail)
        munmap(p + size, tail);
    fit_count(size, 0);
    return p;
}

void _hl_fit_unmap(void *p, size_t size)
{
    hl_assert(p != NULL && (uintptr_t)p % HL_FIT_OS_PAGE == 0 && size % HL_FIT_OS_PAGE == 0);
    int rc = munmap(p, size);
    hl_assert(rc == 0);
    HL_UNUSED_RELEASE(rc);
    fit_count(0, size);
}

void *_hl_fit_remap(void *p, size_t old, size_t new_size, bool may_move)
{
    hl_assert(old % HL_FIT_OS_PAGE == 0 && new_size % HL_FIT_OS_PAGE == 0 && new_size > 0);
    void *q = mremap(p, old, new_size, may_move ? MREMAP_MAYMOVE : 0);
    if (q == MAP_FAILED)
        return NULL;
    if (new_size > old)
        fit_count(new_size - old, 0);
    else
        fit_count(0, old - new_size);
    return q;
}

static void put(const char *s) { (void)!write(2, s, strlen(s)); }

void _hl_fit_misuse(const char *allocator, const char *op, const void *p, const char *what)
{
    char ptr[32];
    snprintf(ptr, sizeof ptr, "%p", p);
    put("heaplab "); put(allocator); put(": "); put(op); put("("); put(ptr); put("): ");
    put(what); put("\n");
    abort();
}

bool _hl_fit_invariant(FILE *report, const char *allocator, const char *fmt, ...)
{
    if (report) {
        fprintf(report, "%s: invariant: ", allocator);
        va_list ap;
        va_start(ap, fmt);
        vfprintf(report, fmt, ap);
        va_end(ap);
        fputc('\n', report);
    }
    return false;
}
