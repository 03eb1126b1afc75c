/* conformance_test.c: the contracts of heaplab/allocator.h, checked on every
 * registered allocator, so a newly registered one is covered by adding its
 * row to the registry.
 *
 * For every allocator (and page-raw, the raw domain of the preload builds):
 *   alignment    every block of every size is 16-aligned (8 for
 *                pymalloc-classic, whose 8-byte size classes are CPython 3.7's
 *                64-bit geometry), and usable_size >= the size requested;
 *   calloc       zeroes memory other blocks dirtied; NULL when nelem * elsize
 *                overflows;
 *   realloc      keeps the contents through a chain of growing, then
 *                shrinking, sizes across every size regime; realloc(NULL, n);
 *   zero size    malloc(0), calloc(0, n), realloc(p, 0): unique, non-NULL,
 *                aligned, freeable;
 *   huge         SIZE_MAX, SIZE_MAX/2 (= PTRDIFF_MAX), PTRDIFF_MAX+1 and
 *                others: NULL from malloc, calloc and realloc (which keeps the
 *                old block), no crash;
 *   programs     random programs (fixed seeds) writing a pattern into every
 *                block and verifying it on every realloc and free; check()
 *                holds throughout and at the end.
 * For heaplab's own allocators (all but the process-wide peers, below):
 *   teardown     create .. random program leaving blocks live .. destroy
 *                leaves /proc/self/maps with the same mappings and bytes as
 *                before: destroy() gave every byte back;
 *   independent  two instances side by side (each with its own page-raw):
 *                interleaved traffic, then the destruction of one with its
 *                blocks live, leave the other's blocks, live count and
 *                check() intact.
 *
 * Which allocators are process-wide: an explicit list (PROCESS_WIDE), not a
 * reading of the descriptions.  glibc (one C heap per process) and cpython
 * (one obmalloc per process, at most one instance at a time) say so in their
 * descriptions, and the peers jemalloc, mimalloc and tcmalloc are views of
 * their libraries' process-wide heaps too: their memory never goes back to
 * the system at destroy() and two "instances" share one heap.  A new
 * allocator not on the list is held to the strict checks by default.
 * Instances are created one at a time (cpython allows one at a time).
 *
 * The teardown check counts the process's mappings and their bytes, except
 * [heap] and [stack] (the C heap and the thread's stack belong to the process,
 * not to the allocator; the test's own bookkeeping lives in the C heap) and,
 * under ASan, ASan's allocator space.  The own allocator gets a page-raw
 * instance (lib/preload/page_raw.h) as its raw allocator, so blocks pymalloc
 * sends to its raw domain are mappings too, and destroying the raw instance
 * after the allocator is part of the cycle.  A warm-up cycle runs first, so
 * that lazily created state elsewhere (ASan's stack depot) is in place before
 * the measured one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "hl_registry.h"
#include "page_raw.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CT_ASAN 1
#endif
#endif
#ifndef CT_ASAN
#define CT_ASAN 0
#endif

/* Under ASan, glibc's malloc is ASan's, which by default aborts on a huge
 * request instead of returning NULL as glibc does. */
__attribute__((used, visibility("default"))) const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

static const char *const PROCESS_WIDE[] = {"glibc", "cpython", "jemalloc", "mimalloc", "tcmalloc"};

static bool is_own(const char *name)
{
    for (size_t i = 0; i < sizeof PROCESS_WIDE / sizeof PROCESS_WIDE[0]; i++)
        if (strcmp(name, PROCESS_WIDE[i]) == 0)
            return false;
    return true;
}

static size_t block_alignment(const char *name)
{
    return strcmp(name, "pymalloc-classic") == 0 ? 8 : 16;
}

/* Every registry entry, then page-raw (lib/preload/page_raw.h): not
 * registered, but the raw domain of pymalloc in the LD_PRELOAD builds and in
 * the teardown checks here, so it is held to the same contracts. */
static size_t entry_count(void) { return hl_registry_count() + 1; }

static const char *entry_name(size_t e)
{
    return e < hl_registry_count() ? hl_registry_at(e)->name : "page-raw";
}

static void create(const char *name, const hl_alloc_options_t *opt, hl_allocator_t *a)
{
    char err[512];
    int rc = strcmp(name, "page-raw") == 0 ? hl_page_raw_create(a, err, sizeof err)
                                           : hl_allocator_create(name, opt, a, err, sizeof err);
    if (rc != 0)
        fail_msg("%s: %s", name, err);
}

static void check_heap(const hl_allocator_t *a, const char *when)
{
    if (!hl_check(a, stderr))
        fail_msg("%s: check() failed %s", a->name, when);
}

static void check_block(const hl_allocator_t *a, const void *p, size_t n, const char *what)
{
    if (p == NULL)
        fail_msg("%s: %s(%zu) returned NULL", a->name, what, n);
    size_t align = block_alignment(a->name);
    if ((uintptr_t)p % align != 0)
        fail_msg("%s: %s(%zu) = %p is not %zu-aligned", a->name, what, n, p, align);
    size_t usable = hl_usable_size(a, p);
    if (usable < n)
        fail_msg("%s: %s(%zu): usable size %zu", a->name, what, n, usable);
}

/* ==========================================================================
 * Patterns: byte i of a block with tag t.
 */
static inline uint8_t pat(uint32_t tag, size_t i)
{
    return (uint8_t)(tag * 131u + i * 7u + (i >> 8) + 1u);
}

static void fill(void *p, size_t n, uint32_t tag)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = pat(tag, i);
}

static void verify(const hl_allocator_t *a, const void *p, size_t n, uint32_t tag,
                   const char *when)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != pat(tag, i))
            fail_msg("%s: block %p (%zu bytes, tag %u): byte %zu is 0x%02x, not 0x%02x, %s",
                     a->name, p, n, tag, i, b[i], pat(tag, i), when);
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Mostly small, as object allocators see; some medium, a few large. */
static size_t random_size(uint64_t *s)
{
    uint64_t r = splitmix(s), k = r % 100;
    r >>= 8;
    if (k < 70) return 1 + r % 128;
    if (k < 90) return 129 + r % 896;
    if (k < 98) return 1025 + r % 64512;
    return 65537 + r % 600000;
}

/* ==========================================================================
 * A random program over one allocator: slots of live blocks, each with its
 * pattern, verified on realloc and free.
 */
typedef struct prog_s {
    const hl_allocator_t *a;
    uint64_t seed;
    size_t nslots;
    void **ptr;
    size_t *size;
    uint32_t *tag;
    uint32_t next_tag;
    size_t live, ops;
} prog_t;

static void prog_init(prog_t *pr, const hl_allocator_t *a, uint64_t seed, size_t nslots)
{
    memset(pr, 0, sizeof *pr);
    pr->a = a;
    pr->seed = seed;
    pr->nslots = nslots;
    pr->ptr = calloc(nslots, sizeof *pr->ptr);
    pr->size = calloc(nslots, sizeof *pr->size);
    pr->tag = calloc(nslots, sizeof *pr->tag);
    assert_non_null(pr->ptr);
    assert_non_null(pr->size);
    assert_non_null(pr->tag);
}

static void prog_step(prog_t *pr)
{
    const hl_allocator_t *a = pr->a;
    uint64_t r = splitmix(&pr->seed);
    size_t i = (size_t)(r % pr->nslots);
    unsigned op = (unsigned)((r >> 32) % 100);
    pr->ops++;
    if (pr->ptr[i] == NULL) {
        size_t n = random_size(&pr->seed);
        uint32_t tag = ++pr->next_tag;
        void *p;
        if (op < 15) {
            size_t el = 1 + (n % 4 == 0 ? 3 : 0);
            p = hl_calloc(a, n / el ? n / el : 1, el);
            n = (n / el ? n / el : 1) * el;
            check_block(a, p, n, "calloc");
            const uint8_t *b = p;
            for (size_t k = 0; k < n; k++)
                if (b[k] != 0)
                    fail_msg("%s: calloc(%zu) byte %zu is not zero", a->name, n, k);
        } else if (op < 25) {
            p = hl_realloc(a, NULL, n);
            check_block(a, p, n, "realloc(NULL)");
        } else {
            p = hl_malloc(a, n);
            check_block(a, p, n, "malloc");
        }
        fill(p, n, tag);
        pr->ptr[i] = p;
        pr->size[i] = n;
        pr->tag[i] = tag;
        pr->live++;
    } else if (op < 30) {
        size_t n = op < 10 ? pr->size[i] / 2 + 1 : random_size(&pr->seed);
        verify(a, pr->ptr[i], pr->size[i], pr->tag[i], "before realloc");
        void *p = hl_realloc(a, pr->ptr[i], n);
        check_block(a, p, n, "realloc");
        size_t keep = n < pr->size[i] ? n : pr->size[i];
        verify(a, p, keep, pr->tag[i], "after realloc");
        uint32_t tag = ++pr->next_tag;
        fill(p, n, tag);
        pr->ptr[i] = p;
        pr->size[i] = n;
        pr->tag[i] = tag;
    } else {
        verify(a, pr->ptr[i], pr->size[i], pr->tag[i], "before free");
        hl_free(a, pr->ptr[i]);
        pr->ptr[i] = NULL;
        pr->live--;
    }
}

static void prog_verify_all(const prog_t *pr, const char *when)
{
    for (size_t i = 0; i < pr->nslots; i++)
        if (pr->ptr[i])
            verify(pr->a, pr->ptr[i], pr->size[i], pr->tag[i], when);
}

/* Frees the blocks (if free_blocks) and the bookkeeping. */
static void prog_done(prog_t *pr, bool free_blocks)
{
    for (size_t i = 0; free_blocks && i < pr->nslots; i++)
        if (pr->ptr[i])
            hl_free(pr->a, pr->ptr[i]);
    free(pr->ptr);
    free(pr->size);
    free(pr->tag);
}

static void prog_run(prog_t *pr, size_t nops, size_t check_every)
{
    for (size_t k = 1; k <= nops; k++) {
        prog_step(pr);
        if (check_every && k % check_every == 0) {
            prog_verify_all(pr, "at a checkpoint");
            check_heap(pr->a, "at a checkpoint of a random program");
        }
    }
}

/* ==========================================================================
 * The tests.
 */
static void test_alignment_and_usable_size(void **state)
{
    (void)state;
    size_t sizes[400], ns = 0;
    for (size_t n = 0; n <= 80; n++)
        sizes[ns++] = n;
    for (size_t n = 88; n <= 1100; n += 8)
        sizes[ns++] = n + (n % 3 == 0);
    static const size_t big[] = {2000, 4095, 4096, 4097, 8192, 16383, 16385, 65536,
                                 100000, 131072, 262147, 1 << 20, (1 << 21) + 5};
    for (size_t k = 0; k < sizeof big / sizeof big[0]; k++)
        sizes[ns++] = big[k];
    assert_true(ns <= sizeof sizes / sizeof sizes[0]);

    for (size_t e = 0; e < entry_count(); e++) {
        hl_allocator_t a;
        create(entry_name(e), NULL, &a);
        void *blocks[3 * 400];
        for (size_t k = 0; k < ns; k++) {
            size_t n = sizes[k];
            blocks[3 * k] = hl_malloc(&a, n);
            check_block(&a, blocks[3 * k], n, "malloc");
            blocks[3 * k + 1] = hl_calloc(&a, 1, n);
            check_block(&a, blocks[3 * k + 1], n, "calloc");
            blocks[3 * k + 2] = hl_realloc(&a, NULL, n);
            check_block(&a, blocks[3 * k + 2], n, "realloc(NULL)");
            for (size_t j = 0; j < 3; j++)
                fill(blocks[3 * k + j], n, (uint32_t)(3 * k + j));
        }
        for (size_t k = 0; k < ns; k++)
            for (size_t j = 0; j < 3; j++)
                verify(&a, blocks[3 * k + j], sizes[k], (uint32_t)(3 * k + j), "with all live");
        check_heap(&a, "with every size live");
        for (size_t k = 0; k < 3 * ns; k++)
            hl_free(&a, blocks[k]);
        check_heap(&a, "after freeing every size");
        printf("  %-18s alignment %zu, usable >= requested: %zu sizes x 3 calls, 0..%zu bytes\n",
               a.name, block_alignment(a.name), ns, sizes[ns - 1]);
        hl_allocator_destroy(&a);
    }
}

static void test_calloc_zeroes_and_overflow(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 7, 16, 33, 100, 256, 511, 512, 513, 1000, 4096, 10000,
                                   70000, 300000};
    enum { N = sizeof sizes / sizeof sizes[0] };
    for (size_t e = 0; e < entry_count(); e++) {
        hl_allocator_t a;
        create(entry_name(e), NULL, &a);
        /* Dirty memory, free it, then calloc the same sizes: they may reuse it. */
        for (int round = 0; round < 3; round++) {
            void *dirty[N * 4];
            for (size_t k = 0; k < N * 4; k++) {
                dirty[k] = hl_malloc(&a, sizes[k % N]);
                assert_non_null(dirty[k]);
                memset(dirty[k], 0xA5, sizes[k % N]);
            }
            for (size_t k = 0; k < N * 4; k++)
                hl_free(&a, dirty[k]);
            void *z[N * 4];
            for (size_t k = 0; k < N * 4; k++) {
                size_t n = sizes[k % N], el = (k / N) % 2 ? 1 : (n % 8 == 0 ? 8 : 1);
                z[k] = hl_calloc(&a, n / el, el);
                check_block(&a, z[k], n, "calloc");
                const uint8_t *b = z[k];
                for (size_t i = 0; i < n; i++)
                    if (b[i] != 0)
                        fail_msg("%s: calloc(%zu, %zu): byte %zu is 0x%02x", a.name, n / el, el,
                                 i, b[i]);
            }
            for (size_t k = 0; k < N * 4; k++)
                hl_free(&a, z[k]);
        }
        /* Zero-sized calloc: a unique, freeable block. */
        void *z0 = hl_calloc(&a, 0, 0), *z1 = hl_calloc(&a, 0, 16), *z2 = hl_calloc(&a, 16, 0);
        check_block(&a, z0, 0, "calloc(0, 0)");
        check_block(&a, z1, 0, "calloc(0, 16)");
        check_block(&a, z2, 0, "calloc(16, 0)");
        assert_true(z0 != z1 && z1 != z2 && z0 != z2);
        hl_free(&a, z0);
        hl_free(&a, z1);
        hl_free(&a, z2);
        /* nelem * elsize overflows: NULL. */
        static const size_t over[][2] = {
            {SIZE_MAX / 2 + 1, 2},   {2, SIZE_MAX / 2 + 1},       {SIZE_MAX, SIZE_MAX},
            {(size_t)1 << 32, (size_t)1 << 32}, {SIZE_MAX / 16 + 1, 16}, {SIZE_MAX, 2},
            {3, SIZE_MAX / 3 + 1},
        };
        for (size_t k = 0; k < sizeof over / sizeof over[0]; k++)
            if (hl_calloc(&a, over[k][0], over[k][1]) != NULL)
                fail_msg("%s: calloc(%zu, %zu) overflows but did not return NULL", a.name,
                         over[k][0], over[k][1]);
        check_heap(&a, "after the calloc checks");
        printf("  %-18s calloc zeroes reused memory; overflow -> NULL\n", a.name);
        hl_allocator_destroy(&a);
    }
}

static void test_realloc_keeps_contents(void **state)
{
    (void)state;
    static const size_t chain[] = {1,    8,    16,    24,     100,    500,     512,
                                   513,  1000, 4000,  5000,   16385,  70000,   300000,
                                   (1 << 20) + 123};
    enum { N = sizeof chain / sizeof chain[0] };
    for (size_t e = 0; e < entry_count(); e++) {
        hl_allocator_t a;
        create(entry_name(e), NULL, &a);
        void *p = hl_realloc(&a, NULL, chain[0]);
        check_block(&a, p, chain[0], "realloc(NULL)");
        fill(p, chain[0], 0);
        void *neighbours[2 * N];
        size_t nn = 0;
        /* Up the chain and down again; a neighbour allocated after each step
         * makes some of the steps move the block. */
        for (size_t step = 1; step < 2 * N - 1; step++) {
            size_t from = step < N ? step - 1 : 2 * N - 1 - step;
            size_t to = step < N ? step : 2 * N - 2 - step;
            size_t n = chain[to], keep = chain[from] < n ? chain[from] : n;
            void *q = hl_realloc(&a, p, n);
            check_block(&a, q, n, "realloc");
            verify(&a, q, keep, (uint32_t)step - 1, step < N ? "after growing" : "after shrinking");
            fill(q, n, (uint32_t)step);
            p = q;
            neighbours[nn] = hl_malloc(&a, chain[to] / 2 + 1);
            assert_non_null(neighbours[nn]);
            nn++;
        }
        /* Same size, then 0: the contract's realloc(p, 0) is a block, not a free. */
        void *q = hl_realloc(&a, p, chain[0]);
        check_block(&a, q, chain[0], "realloc (same size)");
        verify(&a, q, chain[0], 2 * N - 2, "after realloc to the same size");
        void *z = hl_realloc(&a, q, 0);
        check_block(&a, z, 0, "realloc(p, 0)");
        hl_free(&a, z);
        for (size_t k = 0; k < nn; k++)
            hl_free(&a, neighbours[k]);
        check_heap(&a, "after the realloc chain");
        printf("  %-18s realloc keeps contents: %zu steps, %zu..%zu bytes and back\n", a.name,
               2 * (size_t)N - 2, chain[0], chain[N - 1]);
        hl_allocator_destroy(&a);
    }
}

static int cmp_ptr(const void *x, const void *y)
{
    uintptr_t a = (uintptr_t) * (void *const *)x, b = (uintptr_t) * (void *const *)y;
    return a < b ? -1 : a > b;
}

static void test_zero_size(void **state)
{
    (void)state;
    enum { N = 64 };
    for (size_t e = 0; e < entry_count(); e++) {
        hl_allocator_t a;
        create(entry_name(e), NULL, &a);
        void *p[N + 8];
        for (size_t k = 0; k < N; k++) {
            p[k] = hl_malloc(&a, 0);
            check_block(&a, p[k], 0, "malloc(0)");
        }
        for (size_t k = N; k < N + 8; k++) {   /* realloc(q, 0) of a live block */
            void *q = hl_malloc(&a, 40);
            assert_non_null(q);
            p[k] = hl_realloc(&a, q, 0);
            check_block(&a, p[k], 0, "realloc(p, 0)");
        }
        qsort(p, N + 8, sizeof p[0], cmp_ptr);
        for (size_t k = 1; k < N + 8; k++)
            if (p[k] == p[k - 1])
                fail_msg("%s: two live zero-sized blocks share the address %p", a.name, p[k]);
        for (size_t k = 0; k < N + 8; k++)
            hl_free(&a, p[k]);
        check_heap(&a, "after the zero-size checks");
        printf("  %-18s %d x malloc(0) and 8 x realloc(p, 0): unique, aligned, freed\n", a.name,
               N);
        hl_allocator_destroy(&a);
    }
}

static void test_huge(void **state)
{
    (void)state;
    static const size_t huge[] = {
        SIZE_MAX,       SIZE_MAX / 2,   (size_t)PTRDIFF_MAX,       (size_t)PTRDIFF_MAX + 1,
        SIZE_MAX - 15,  SIZE_MAX - 4095, (size_t)1 << 62,           (size_t)1 << 48,
    };
    for (size_t e = 0; e < entry_count(); e++) {
        hl_allocator_t a;
        create(entry_name(e), NULL, &a);
        void *p = hl_malloc(&a, 100);
        assert_non_null(p);
        fill(p, 100, 9);
        for (size_t k = 0; k < sizeof huge / sizeof huge[0]; k++) {
            size_t n = huge[k];
            if (hl_malloc(&a, n) != NULL)
                fail_msg("%s: malloc(%zu) did not return NULL", a.name, n);
            if (hl_calloc(&a, 1, n) != NULL || hl_calloc(&a, n, 1) != NULL)
                fail_msg("%s: calloc of %zu bytes did not return NULL", a.name, n);
            if (hl_realloc(&a, NULL, n) != NULL)
                fail_msg("%s: realloc(NULL, %zu) did not return NULL", a.name, n);
            if (hl_realloc(&a, p, n) != NULL)
                fail_msg("%s: realloc(p, %zu) did not return NULL", a.name, n);
            verify(&a, p, 100, 9, "after a failed huge realloc");
        }
        hl_free(&a, p);
        check_heap(&a, "after the huge requests");
        printf("  %-18s %zu huge sizes (SIZE_MAX .. 2^48) -> NULL; realloc keeps the block\n",
               a.name, sizeof huge / sizeof huge[0]);
        hl_allocator_destroy(&a);
    }
}

static void test_random_programs(void **state)
{
    (void)state;
    static const uint64_t seeds[] = {1, 2, 3};
    enum { NOPS = 20000, NSLOTS = 500, CHECK_EVERY = 2000 };
    for (size_t e = 0; e < entry_count(); e++) {
        hl_allocator_t a;
        create(entry_name(e), NULL, &a);
        size_t peak_live = 0;
        for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
            prog_t pr;
            prog_init(&pr, &a, seeds[s], NSLOTS);
            prog_run(&pr, NOPS, CHECK_EVERY);
            if (pr.live > peak_live)
                peak_live = pr.live;
            prog_verify_all(&pr, "at the end");
            check_heap(&a, "at the end of a random program");
            prog_done(&pr, true);
            check_heap(&a, "after freeing a random program's blocks");
        }
        printf("  %-18s %zu random programs x %d ops (seeds 1..3), check() every %d: ok\n",
               a.name, sizeof seeds / sizeof seeds[0], NOPS, CHECK_EVERY);
        hl_allocator_destroy(&a);
    }
}

/* ==========================================================================
 * /proc/self/maps, without allocating (the allocator under test may be the
 * one that would serve it).
 */
typedef struct maps_s {
    size_t count, bytes;
    char text[1 << 20];   /* the counted lines, for the failure message */
    size_t len;
} maps_t;

static bool maps_counted(uintptr_t lo, const char *path)
{
    if (strcmp(path, "[heap]") == 0 || strncmp(path, "[stack", 6) == 0)
        return false;
#if CT_ASAN
    /* ASan's allocator space (x86-64 Linux): the C heap under ASan. */
    if (lo >= 0x600000000000ull && lo < 0x650000000000ull)
        return false;
#else
    (void)lo;
#endif
    return true;
}

static void maps_read(maps_t *m)
{
    static char raw[1 << 20];
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    size_t n = 0;
    ssize_t k;
    while (n < sizeof raw - 1 && (k = read(fd, raw + n, sizeof raw - 1 - n)) > 0)
        n += (size_t)k;
    close(fd);
    assert_true(n < sizeof raw - 1);
    raw[n] = '\0';
    m->count = m->bytes = m->len = 0;
    for (char *line = raw; *line;) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        unsigned long lo, hi;
        int path_at = 0;
        char path[4096] = "";
        char tmp[len + 1];
        memcpy(tmp, line, len);
        tmp[len] = '\0';
        if (sscanf(tmp, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &path_at) >= 2) {
            if (path_at > 0)
                snprintf(path, sizeof path, "%s", tmp + path_at);
            if (maps_counted(lo, path)) {
                m->count++;
                m->bytes += hi - lo;
                if (m->len + len + 2 < sizeof m->text) {
                    memcpy(m->text + m->len, tmp, len);
                    m->len += len;
                    m->text[m->len++] = '\n';
                    m->text[m->len] = '\0';
                }
            }
        }
        line += len + (end != NULL);
    }
}

/* Lines of b not in a, to stderr. */
static void maps_diff(const char *label, const maps_t *a, const maps_t *b)
{
    fprintf(stderr, "%s:\n", label);
    for (const char *line = b->text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = (size_t)(end - line);
        bool found = false;
        for (const char *l2 = a->text; *l2 && !found;) {
            const char *e2 = strchr(l2, '\n');
            found = (size_t)(e2 - l2) == len && memcmp(l2, line, len) == 0;
            l2 = e2 + 1;
        }
        if (!found)
            fprintf(stderr, "    %.*s\n", (int)len, line);
        line = end + 1;
    }
}

/* One cycle: page-raw + the allocator, a random program leaving blocks live,
 * destroy both.  *during: the maps just before the destroy. */
static void teardown_cycle(const char *name, hl_arena_kind_t arenas, uint64_t seed,
                           maps_t *during)
{
    char err[512];
    hl_allocator_t raw, a;
    if (hl_page_raw_create(&raw, err, sizeof err) != 0)
        fail_msg("%s", err);
    hl_alloc_options_t opt = {arenas, &raw};
    create(name, &opt, &a);
    prog_t pr;
    prog_init(&pr, &a, seed, 400);
    prog_run(&pr, 6000, 0);
    check_heap(&a, "before teardown");
    assert_true(pr.live > 0);
    if (during)
        maps_read(during);
    prog_done(&pr, false);   /* the blocks stay live: destroy() takes them back */
    hl_allocator_destroy(&a);
    hl_allocator_destroy(&raw);
}

static void test_teardown_returns_every_byte(void **state)
{
    (void)state;
    static maps_t before, during, after;
    for (size_t e = 0; e < entry_count(); e++) {
        const char *name = entry_name(e);
        if (!is_own(name)) {
            printf("  %-18s teardown: skipped (process-wide)\n", name);
            continue;
        }
        for (int k = 0; k < 2; k++) {
            hl_arena_kind_t arenas = k ? HL_ARENAS_FIXED : HL_ARENAS_MMAP;
            const char *kind = k ? "fixed" : "mmap";
            teardown_cycle(name, arenas, 11, NULL);   /* warm-up */
            maps_read(&before);
            teardown_cycle(name, arenas, 11, &during);
            maps_read(&after);
            if (during.bytes <= before.bytes)
                fail_msg("%s (%s arenas): held no mapping of its own while live (%zu bytes "
                         "before, %zu during): is its memory in the C heap?",
                         name, kind, before.bytes, during.bytes);
            if (after.count != before.count || after.bytes != before.bytes) {
                maps_diff("mappings after destroy that were not there before", &before, &after);
                maps_diff("mappings before that are gone after destroy", &after, &before);
                fail_msg("%s (%s arenas): /proc/self/maps: %zu mappings, %zu bytes before "
                         "create; %zu mappings, %zu bytes after destroy",
                         name, kind, before.count, before.bytes, after.count, after.bytes);
            }
            printf("  %-18s teardown (%-5s arenas): +%zu mappings, +%zu bytes while live; "
                   "after destroy %zu mappings, %zu bytes, as before\n",
                   name, kind, during.count - before.count, during.bytes - before.bytes,
                   after.count, after.bytes);
        }
    }
}

static void test_two_instances_are_independent(void **state)
{
    (void)state;
    for (size_t e = 0; e < entry_count(); e++) {
        const char *name = entry_name(e);
        if (!is_own(name)) {   /* cpython: one instance at a time */
            printf("  %-18s two instances: skipped (process-wide)\n", name);
            continue;
        }
        /* Each with its own page-raw, so that b can be destroyed with its
         * blocks live (pymalloc leaves its raw-domain blocks to the raw
         * allocator, and a private glibc view would leak them). */
        char err[512];
        hl_allocator_t a, b, raw_a, raw_b;
        if (hl_page_raw_create(&raw_a, err, sizeof err) != 0 ||
            hl_page_raw_create(&raw_b, err, sizeof err) != 0)
            fail_msg("%s", err);
        hl_alloc_options_t opt_a = {HL_ARENAS_MMAP, &raw_a}, opt_b = {HL_ARENAS_MMAP, &raw_b};
        create(name, &opt_a, &a);
        create(name, &opt_b, &b);
        prog_t pa, pb;
        prog_init(&pa, &a, 21, 300);
        prog_init(&pb, &b, 22, 300);
        for (size_t k = 0; k < 8000; k++) {
            prog_step(&pa);
            prog_step(&pb);
            prog_step(&pb);
        }
        prog_verify_all(&pa, "after interleaved traffic in another instance");
        prog_verify_all(&pb, "after interleaved traffic in another instance");
        check_heap(&a, "after interleaved traffic");
        check_heap(&b, "after interleaved traffic");
        hl_stats_t s0, s1;
        hl_stats(&a, &s0);
        /* b alone: more traffic, then destroyed with its blocks live. */
        prog_run(&pb, 4000, 0);
        prog_done(&pb, false);
        hl_allocator_destroy(&b);
        hl_allocator_destroy(&raw_b);
        hl_stats(&a, &s1);
        prog_verify_all(&pa, "after the other instance's traffic and destruction");
        check_heap(&a, "after the other instance's destruction");
        if ((s0.valid & HL_STAT_LIVE_BLOCKS) && s0.live_blocks != s1.live_blocks)
            fail_msg("%s: live_blocks of one instance changed from %zu to %zu with traffic in "
                     "the other", name, s0.live_blocks, s1.live_blocks);
        size_t live = pa.live;
        prog_done(&pa, true);
        check_heap(&a, "after freeing its blocks");
        hl_allocator_destroy(&a);
        hl_allocator_destroy(&raw_a);
        printf("  %-18s two instances: %zu blocks of one intact through 20000 ops in the "
               "other and its destruction\n", name, live);
    }
}

int main(void)
{
    printf("conformance: %zu registered allocators and page-raw:", hl_registry_count());
    for (size_t e = 0; e < entry_count(); e++)
        printf(" %s%s", entry_name(e), is_own(entry_name(e)) ? "" : "*");
    printf("   (* process-wide)\n");
    fflush(stdout);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_and_usable_size),
        cmocka_unit_test(test_calloc_zeroes_and_overflow),
        cmocka_unit_test(test_realloc_keeps_contents),
        cmocka_unit_test(test_zero_size),
        cmocka_unit_test(test_huge),
        cmocka_unit_test(test_random_programs),
        cmocka_unit_test(test_teardown_returns_every_byte),
        cmocka_unit_test(test_two_instances_are_independent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
