/* spans.c: the spans of one heap walk (spans.h). */
#include "spans.h"

#include "hl_debug.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- storage ---------------------------------------------------------------- */

/* Room for one more span in a mapped set: the first mapping, then double
 * (mremap may move it).  0, or -1 if the system refuses. */
static int grow(hl_spans_t *s)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t old_bytes = s->cap * sizeof *s->v;
    size_t bytes = old_bytes ? 2 * old_bytes : (size_t)64 << 10;
    bytes = (bytes + page - 1) / page * page;
    void *v = s->v ? mremap(s->v, (old_bytes + page - 1) / page * page, bytes, MREMAP_MAYMOVE)
                   : mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (v == MAP_FAILED)
        return -1;
    s->v = v;
    s->cap = bytes / sizeof *s->v;
    return 0;
}

void hl_spans_release(hl_spans_t *s)
{
    if (s->mapped && s->v) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        munmap(s->v, (s->cap * sizeof *s->v + page - 1) / page * page);
        s->v = NULL;
        s->cap = 0;
    }
    s->n = 0;
    s->overflow = false;
}

/* The walk's callback: one span in, nothing allocated but a mapped set's
 * own pages. */
static void collect(void *user, uintptr_t addr, size_t size, hl_span_kind_t kind)
{
    hl_spans_t *s = user;
    if (s->overflow)
        return;
    if (s->n == s->cap && (!s->mapped || grow(s) != 0)) {
        s->overflow = true;
        return;
    }
    s->v[s->n++] = (hl_span_t){addr, size, kind};
}

int hl_spans_walk(const hl_allocator_t *a, hl_spans_t *s)
{
    s->n = 0;
    s->overflow = false;
    int rc = hl_walk(a, collect, s);
    hl_heapsort_by_addr(s->v, s->n, sizeof *s->v);
    return rc;
}

/* ---- the sort --------------------------------------------------------------- */

static uintptr_t key(const uint8_t *v, size_t i, size_t size)
{
    uintptr_t k;
    memcpy(&k, v + i * size, sizeof k);
    return k;
}

static void swap(uint8_t *v, size_t i, size_t j, size_t size)
{
    uint8_t tmp[64];
    for (size_t off = 0; off < size; off += sizeof tmp) {
        size_t k = size - off < sizeof tmp ? size - off : sizeof tmp;
        memcpy(tmp, v + i * size + off, k);
        memcpy(v + i * size + off, v + j * size + off, k);
        memcpy(v + j * size + off, tmp, k);
    }
}

/* Restore the max-heap below `root` in v[0 .. n). */
static void sift(uint8_t *v, size_t size, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && key(v, child + 1, size) > key(v, child, size))
            child++;
        if (key(v, root, size) >= key(v, child, size))
            return;
        swap(v, root, child, size);
        root = child;
    }
}

void hl_heapsort_by_addr(void *base, size_t n, size_t size)
{
    uint8_t *v = base;
    hl_assert(size >= sizeof(uintptr_t));
    for (size_t i = n / 2; i-- > 0;)
        sift(v, size, i, n);
    for (size_t end = n; end-- > 1;) {
        swap(v, 0, end, size);
        sift(v, size, 0, end);
    }
}

/* ---- the invariants and the lookups ------------------------------------------ */

const hl_span_t *hl_spans_first_overlap(const hl_spans_t *s)
{
    for (size_t i = 1; i < s->n; i++)
        if (s->v[i].addr < s->v[i - 1].addr + s->v[i - 1].size)
            return &s->v[i];
    return NULL;
}

bool hl_spans_are_valid(const hl_spans_t *s, FILE *report)
{
    for (size_t i = 0; i < s->n; i++) {
        const hl_span_t *sp = &s->v[i];
        if (sp->size == 0 || (unsigned)sp->kind >= HL_SPAN_KINDS) {
            if (report)
                fprintf(report, "span %zu at %#zx: size %zu, kind %d\n", i, (size_t)sp->addr,
                        sp->size, (int)sp->kind);
            return false;
        }
        if (i > 0 && sp->addr < sp[-1].addr + sp[-1].size) {
            if (report)
                fprintf(report, "spans %zu at %#zx (+%zu) and %zu at %#zx (+%zu) overlap\n",
                        i - 1, (size_t)sp[-1].addr, sp[-1].size, i, (size_t)sp->addr, sp->size);
            return false;
        }
    }
    return true;
}

/* The first span that ends above addr (spans sorted and disjoint: their
 * ends ascend too), or NULL. */
static const hl_span_t *first_ending_above(const hl_spans_t *s, uintptr_t addr)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->v[mid].addr + s->v[mid].size <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n ? &s->v[lo] : NULL;
}

const hl_span_t *hl_spans_at(const hl_spans_t *s, uintptr_t addr)
{
    const hl_span_t *sp = first_ending_above(s, addr);
    return sp && sp->addr <= addr ? sp : NULL;
}

const hl_span_t *hl_spans_meet(const hl_spans_t *s, uintptr_t addr, size_t size)
{
    if (size == 0)
        return NULL;
    const hl_span_t *sp = first_ending_above(s, addr);
    /* sp ends above addr: it meets the range unless it starts at or past its end */
    return sp && (sp->addr <= addr || sp->addr - addr < size) ? sp : NULL;
}

bool hl_spans_hold_block(const hl_spans_t *s, const void *p, size_t usable, FILE *report)
{
    uintptr_t a = (uintptr_t)p;
    const hl_span_t *sp = hl_spans_at(s, a);
    if (sp && sp->kind == HL_SPAN_USED && usable <= sp->addr + sp->size - a)
        return true;
    if (report && sp)
        fprintf(report, "block %p (+%zu usable) is not inside one USED span: it is in span "
                "%#zx (+%zu) of kind %d\n", p, usable, (size_t)sp->addr, sp->size, (int)sp->kind);
    else if (report)
        fprintf(report, "block %p (+%zu usable) is in no span\n", p, usable);
    return false;
}

const hl_span_t *hl_spans_block(const hl_spans_t *s, const void *p, size_t usable)
{
    const hl_span_t *sp = hl_spans_at(s, (uintptr_t)p);
    if (sp == NULL || sp->kind != HL_SPAN_USED || sp->addr != (uintptr_t)p || sp->size != usable)
        return NULL;
    return sp;
}

hl_spans_sum_t hl_spans_sum(const hl_spans_t *s)
{
    hl_spans_sum_t sum;
    memset(&sum, 0, sizeof sum);
    for (size_t i = 0; i < s->n; i++) {
        const hl_span_t *sp = &s->v[i];
        sum.bytes += sp->size;
        if ((unsigned)sp->kind < HL_SPAN_KINDS) {
            sum.count[sp->kind]++;
            sum.kind_bytes[sp->kind] += sp->size;
        }
    }
    return sum;
}
