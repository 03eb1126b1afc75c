/* mvec.c: growable arrays on anonymous mmap, for the trace tools.
 *
 * The parser and replayer keep every array that grows with the trace (ops,
 * the address map, slot tables) here rather than in malloc: replaying into
 * `glibc` measures glibc's heap, and megabytes of replayer bookkeeping in that
 * same heap would be counted as the allocator's footprint.  mremap with
 * MREMAP_MAYMOVE grows an array without copying through user space.
 */
#include "hl_debug.h"
#include "trace_internal.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page_round(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    return (n + pg - 1) & ~(pg - 1);
}

void *_hl_map(size_t n)
{
    void *p = mmap(NULL, page_round(n ? n : 1), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void _hl_unmap(void *p, size_t n)
{
    if (p)
        munmap(p, page_round(n ? n : 1));
}

int _hl_mvec_reserve(hl_mvec_t *v, size_t more)
{
    if (more <= v->cap - v->len)
        return 0;
    if (more > SIZE_MAX / 4 - v->len)
        return -1;
    size_t want = v->len + more;
    size_t cap = v->cap ? v->cap : page_round(64 * 1024);
    while (cap < want)
        cap *= 2;
    cap = page_round(cap);
    void *p;
    if (v->base == NULL)
        p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    else
        p = mremap(v->base, v->cap, cap, MREMAP_MAYMOVE);
    if (p == MAP_FAILED)
        return -1;
    v->base = p;
    v->cap = cap;
    return 0;
}

int _hl_mvec_push(hl_mvec_t *v, const void *p, size_t n)
{
    if (_hl_mvec_reserve(v, n) != 0)
        return -1;
    memcpy((char *)v->base + v->len, p, n);
    v->len += n;
    return 0;
}

void _hl_mvec_release(hl_mvec_t *v)
{
    if (v->base)
        munmap(v->base, v->cap);
    v->base = NULL;
    v->len = v->cap = 0;
}
