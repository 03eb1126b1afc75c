/* replay.c: a parsed trace replayed into any allocator.
 *
 * Two passes, never on the same instance (heaplab/trace.h has the contract):
 *
 *   verify   untimed and paranoid.  For op i with slot s:
 *              malloc   p = malloc(n); usable_size(p) >= n; fill p[0:n]
 *                       with the pattern of (s, generation) (pattern.h)
 *              realloc  check p[0:old]; q = realloc(p, n); check
 *                       q[0:min(old, n)]; usable_size(q) >= n; fill q[old:n]
 *              free     check p[0:n]; free(p)
 *            then hl_stats() for the footprint, and hl_check() every
 *            check_every ops and after the last.  The first wrong byte, NULL
 *            result or failed check ends the pass with an error naming the
 *            allocator, the op index and the trace line.
 *   timed    the bare loop of malloc/realloc/free through the vtable between
 *            two clock_gettime(CLOCK_MONOTONIC) calls; nothing is checked.
 *
 * Footprint is the allocator's held_bytes (bytes it holds from the system)
 * minus its value when the pass started, so `glibc`, a view of the whole
 * process heap, is charged only for what the replay added; the maximum over
 * all ops is peak_footprint_bytes.  Sampling after every op makes the verify
 * pass slow for glibc (mallinfo2 walks the bins), which is why it is not the
 * timed one.
 *
 * A third pass, observed, replays the ops untimed and unchecked and tells
 * an observer of every block as it comes and goes (before it goes, so the
 * observer may still ask its usable size): the benchmark suite's memory
 * runs count live and usable bytes and sample the footprint through it.
 *
 * The slot tables are mmap'ed (mvec.c): nothing the replayer needs lives in
 * the malloc heap it may be measuring.  The timed pass runs after the verify
 * pass so a broken allocator is reported, not crashed into.
 */
#include "hl_debug.h"
#include "pattern.h"
#include "trace_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

typedef struct vslot_s {
    unsigned char *p;
    uint64_t size;
    uint64_t seed;
} vslot_t;

void hl_replay_report_init(hl_replay_report_t *rep, const hl_trace_t *t, const char *allocator)
{
    memset(rep, 0, sizeof *rep);
    rep->allocator = allocator;
    rep->ops = t->info.ops;
    rep->mallocs = t->info.mallocs;
    rep->frees = t->info.frees;
    rep->reallocs = t->info.reallocs;
    rep->peak_live_bytes = t->info.peak_live_bytes;
    rep->peak_live_blocks = t->info.slots;
    rep->final_live_bytes = t->info.final_live_bytes;
    rep->final_live_blocks = t->info.final_live_blocks;
}

/* ---- timed pass ------------------------------------------------------------ */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int hl_replay_timed(const hl_allocator_t *a, const hl_trace_t *t,
                    hl_replay_report_t *rep, char *err, size_t errlen)
{
    size_t nslots = t->info.slots, nops = t->info.ops;
    void **slot = _hl_map(nslots * sizeof *slot);
    if (!slot)
        return _hl_err(err, errlen, "%s: error: %s: cannot map %zu slots", t->info.name,
                    a->name, nslots);
    const hl_trace_op_t *ops = hl_trace_ops(t);
    const hl_allocator_ops_t *vt = a->ops;
    void *ctx = a->ctx;

    uint64_t t0 = now_ns();
    for (size_t i = 0; i < nops; i++) {
        const hl_trace_op_t *op = &ops[i];
        switch (hl_op_kind(op)) {
        case HL_OP_MALLOC:
            slot[op->slot] = vt->malloc(ctx, (size_t)op->size);
            break;
        case HL_OP_FREE:
            vt->free(ctx, slot[op->slot]);
            break;
        default:
            slot[op->slot] = vt->realloc(ctx, slot[op->slot], (size_t)op->size);
            break;
        }
    }
    uint64_t t1 = now_ns();

    const uint32_t *fin = hl_trace_final_live(t);
    for (size_t i = 0; i < t->info.final_live_blocks; i++)
        vt->free(ctx, slot[fin[i]]);
    _hl_unmap(slot, nslots * sizeof *slot);

    rep->timed = true;
    rep->elapsed_ns = t1 - t0;
    rep->ns_per_op = nops ? (double)(t1 - t0) / (double)nops : 0.0;
    return 0;
}

/* ---- verification pass ----------------------------------------------------- */

typedef struct verifier_s {
    const hl_allocator_t *a;
    const hl_trace_t *t;
    vslot_t *slot;
    uint64_t gen;
    size_t held0;
    bool held_known;
    FILE *report;           /* hl_check()'s report, into rbuf */
    char rbuf[512];
    char *err;
    size_t errlen;
} verifier_t;

static int op_fail(verifier_t *v, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int op_fail(verifier_t *v, size_t i, const char *fmt, ...)
{
    if (!v->err || !v->errlen)
        return -1;
    const hl_trace_op_t *op = &hl_trace_ops(v->t)[i];
    int k = snprintf(v->err, v->errlen, "%s:%u: error: %s: op %zu (%s", v->t->info.name,
                     hl_op_line(op), v->a->name, i, hl_op_kind_name(hl_op_kind(op)));
    if (k >= 0 && (size_t)k < v->errlen && hl_op_kind(op) != HL_OP_FREE)
        k += snprintf(v->err + k, v->errlen - (size_t)k, " of %llu bytes",
                      (unsigned long long)op->size);
    if (k >= 0 && (size_t)k < v->errlen)
        k += snprintf(v->err + k, v->errlen - (size_t)k, "): ");
    if (k >= 0 && (size_t)k < v->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v->err + k, v->errlen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int check_block(verifier_t *v, size_t i, const vslot_t *s, size_t n, const char *what)
{
    size_t bad = hl_pattern_check(s->p, n, s->seed);
    if (bad == n)
        return 0;
    return op_fail(v, i, "byte %zu of %s %llu-byte block %p is 0x%02x, expected 0x%02x", bad,
                   what, (unsigned long long)s->size, (void *)s->p, s->p[bad],
                   hl_pattern_byte(s->seed, bad));
}

static int run_check(verifier_t *v, size_t i, hl_replay_report_t *rep)
{
    rep->checks++;
    if (v->report)
        rewind(v->report);
    memset(v->rbuf, 0, sizeof v->rbuf);
    if (hl_check(v->a, v->report))
        return 0;
    if (v->report)
        fflush(v->report);
    size_t n = strlen(v->rbuf);
    while (n && (v->rbuf[n - 1] == '\n' || v->rbuf[n - 1] == ' '))
        v->rbuf[--n] = '\0';
    return op_fail(v, i, "hl_check() failed after this op%s%s", n ? ": " : "", v->rbuf);
}

static void sample(verifier_t *v, hl_replay_report_t *rep)
{
    if (!v->held_known)
        return;
    hl_stats_t st;
    hl_stats(v->a, &st);
    size_t fp = st.held_bytes > v->held0 ? st.held_bytes - v->held0 : 0;
    if (fp > rep->peak_footprint_bytes)
        rep->peak_footprint_bytes = fp;
    rep->final_footprint_bytes = fp;
}

static int verify_op(verifier_t *v, size_t i)
{
    const hl_trace_op_t *op = &hl_trace_ops(v->t)[i];
    vslot_t *s = &v->slot[op->slot];
    size_t n = (size_t)op->size;
    switch (hl_op_kind(op)) {
    case HL_OP_MALLOC: {
        unsigned char *p = hl_malloc(v->a, n);
        if (!p)
            return op_fail(v, i, "malloc returned NULL");
        if (hl_usable_size(v->a, p) < n)
            return op_fail(v, i, "usable_size(%p) is %zu", (void *)p, hl_usable_size(v->a, p));
        s->p = p;
        s->size = n;
        s->seed = hl_pattern_seed(op->slot, ++v->gen);
        hl_pattern_fill(p, 0, n, s->seed);
        return 0;
    }
    case HL_OP_FREE:
        if (check_block(v, i, s, (size_t)s->size, "the") != 0)
            return -1;
        hl_free(v->a, s->p);
        s->p = NULL;
        return 0;
    default: {
        size_t old = (size_t)s->size, keep = old < n ? old : n;
        if (check_block(v, i, s, old, "the old") != 0)
            return -1;
        unsigned char *q = hl_realloc(v->a, s->p, n);
        if (!q)
            return op_fail(v, i, "realloc returned NULL");
        size_t bad = hl_pattern_check(q, keep, s->seed);
        if (bad != keep)
            return op_fail(v, i, "realloc %p -> %p did not keep byte %zu of the first %zu: "
                           "0x%02x, expected 0x%02x", (void *)s->p, (void *)q, bad, keep,
                           q[bad], hl_pattern_byte(s->seed, bad));
        if (hl_usable_size(v->a, q) < n)
            return op_fail(v, i, "usable_size(%p) is %zu", (void *)q, hl_usable_size(v->a, q));
        s->p = q;
        s->size = n;
        if (n > old)
            hl_pattern_fill(q, old, n, s->seed);
        return 0;
    }
    }
}

int hl_replay_verify(const hl_allocator_t *a, const hl_trace_t *t,
                     const hl_replay_options_t *ropt, hl_replay_report_t *rep,
                     char *err, size_t errlen)
{
    size_t every = ropt && ropt->check_every ? ropt->check_every
                                             : HL_REPLAY_CHECK_EVERY_DEFAULT;
    size_t nslots = t->info.slots, nops = t->info.ops;
    verifier_t v = {0};
    v.a = a;
    v.t = t;
    v.err = err;
    v.errlen = errlen;
    v.slot = _hl_map(nslots * sizeof *v.slot);
    if (!v.slot)
        return _hl_err(err, errlen, "%s: error: %s: cannot map %zu slots", t->info.name,
                    a->name, nslots);
    /* Opened before the baseline, so its FILE is in it. */
    v.report = fmemopen(v.rbuf, sizeof v.rbuf - 1, "w");
    if (v.report)
        setvbuf(v.report, NULL, _IONBF, 0);

    hl_stats_t st;
    hl_stats(a, &st);
    v.held_known = (st.valid & HL_STAT_HELD) != 0;
    v.held0 = st.held_bytes;
    rep->footprint_known = v.held_known;
    rep->peak_footprint_bytes = rep->final_footprint_bytes = 0;
    rep->checks = 0;

    int rc = -1;
    for (size_t i = 0; i < nops; i++) {
        if (verify_op(&v, i) != 0)
            goto out;
        sample(&v, rep);
        if ((i + 1) % every == 0 && run_check(&v, i, rep) != 0)
            goto out;
    }
    if (nops && run_check(&v, nops - 1, rep) != 0)
        goto out;
    if (ropt && ropt->stats_out)
        hl_print_stats(a, ropt->stats_out);

    /* The blocks still live: check and free them, then check the heap once
     * more now that everything is back. */
    const uint32_t *fin = hl_trace_final_live(t);
    for (size_t k = 0; k < t->info.final_live_blocks; k++) {
        vslot_t *s = &v.slot[fin[k]];
        size_t bad = hl_pattern_check(s->p, (size_t)s->size, s->seed);
        if (bad != s->size) {
            _hl_err(err, errlen, "%s: error: %s: at the end of the trace: byte %zu of a live "
                 "%llu-byte block %p is 0x%02x, expected 0x%02x", t->info.name, a->name, bad,
                 (unsigned long long)s->size, (void *)s->p, s->p[bad],
                 hl_pattern_byte(s->seed, bad));
            goto out;
        }
        hl_free(a, s->p);
        s->p = NULL;
    }
    if (nops && run_check(&v, nops - 1, rep) != 0)
        goto out;
    rep->verified = true;
    rc = 0;
out:
    if (v.report)
        fclose(v.report);
    _hl_unmap(v.slot, nslots * sizeof *v.slot);
    return rc;
}

/* ---- observed pass ---------------------------------------------------------- */

typedef struct oslot_s {
    void *p;                /* NULL while the slot is free */
    uint64_t size;          /* requested */
} oslot_t;

int hl_replay_observed(const hl_allocator_t *a, const hl_trace_t *t,
                       const hl_replay_observer_t *obs, char *err, size_t errlen)
{
    size_t nslots = t->info.slots, nops = t->info.ops;
    oslot_t *slot = _hl_map(nslots * sizeof *slot);
    if (!slot)
        return _hl_err(err, errlen, "%s: error: %s: cannot map %zu slots", t->info.name,
                       a->name, nslots);
    const hl_trace_op_t *ops = hl_trace_ops(t);
    int rc = 0;
    for (size_t i = 0; i < nops; i++) {
        const hl_trace_op_t *op = &ops[i];
        oslot_t *s = &slot[op->slot];
        size_t n = (size_t)op->size;
        unsigned kind = hl_op_kind(op);
        void *q;
        if (kind == HL_OP_FREE) {
            obs->on_free(obs->user, s->p, (size_t)s->size);
            hl_free(a, s->p);
            s->p = NULL;
            if (obs->after_op)
                obs->after_op(obs->user, i);
            continue;
        }
        if (kind == HL_OP_MALLOC) {
            q = hl_malloc(a, n);
        } else {
            obs->on_free(obs->user, s->p, (size_t)s->size);
            q = hl_realloc(a, s->p, n);
        }
        obs->on_alloc(obs->user, q, n);
        if (!q) {
            rc = _hl_err(err, errlen, "%s:%u: error: %s: op %zu (%s of %zu bytes): %s returned "
                         "NULL", t->info.name, hl_op_line(op), a->name, i,
                         hl_op_kind_name(kind), n, hl_op_kind_name(kind));
            break;
        }
        s->p = q;
        s->size = n;
        if (obs->after_op)
            obs->after_op(obs->user, i);
    }
    /* Whatever is live: the trace's final blocks, or after a failure every
     * block the pass made (the slots are the only record of them). */
    for (size_t k = 0; k < nslots; k++) {
        if (!slot[k].p)
            continue;
        if (rc == 0)
            obs->on_free(obs->user, slot[k].p, (size_t)slot[k].size);
        hl_free(a, slot[k].p);
    }
    _hl_unmap(slot, nslots * sizeof *slot);
    return rc;
}

/* ---- both, by name ---------------------------------------------------------- */

int hl_replay(const char *allocator, const hl_alloc_options_t *alloc_opt,
              const hl_trace_t *t, const hl_replay_options_t *ropt,
              hl_replay_report_t *rep, char *err, size_t errlen)
{
    static const hl_replay_options_t both = {true, true, 0, NULL};
    if (!ropt)
        ropt = &both;
    hl_replay_report_init(rep, t, allocator);
    char cerr[256];
    hl_allocator_t a;
    if (ropt->verify) {
        if (hl_allocator_create(allocator, alloc_opt, &a, cerr, sizeof cerr) != 0)
            return _hl_err(err, errlen, "%s", cerr);
        rep->allocator = a.name;
        int rc = hl_replay_verify(&a, t, ropt, rep, err, errlen);
        hl_allocator_destroy(&a);
        if (rc != 0)
            return -1;
    }
    if (ropt->timed) {
        if (hl_allocator_create(allocator, alloc_opt, &a, cerr, sizeof cerr) != 0)
            return _hl_err(err, errlen, "%s", cerr);
        rep->allocator = a.name;
        int rc = hl_replay_timed(&a, t, rep, err, errlen);
        hl_allocator_destroy(&a);
        if (rc != 0)
            return -1;
    }
    return 0;
}
