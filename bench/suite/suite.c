/* suite.c: the frame of hl_suite.h: names, cases, instances, and the
 * memory measures of a mem/ run (the header explains each counter). */
#include "hl_suite.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static hl_suite_mem_mode_t mem_mode = HL_SUITE_MEM_INLINE;

void hl_suite_configure(const hl_suite_config_t *cfg) { mem_mode = cfg->mem; }

static hl_bench_t *register_run(const char *family, const char *workload,
                                const char *allocator, hl_bench_fn fn, void *user,
                                bool wanted)
{
    char name[256];
    snprintf(name, sizeof name, "%s/%s/%s", family, workload, allocator);
    return wanted ? hl_bench_register(name, fn, user) : hl_bench_detached(name);
}

hl_bench_t *hl_suite_register(const char *family, const char *workload,
                              const char *allocator, hl_bench_fn fn, void *user)
{
    return register_run(family, workload, allocator, fn, user, mem_mode != HL_SUITE_MEM_ONLY);
}

hl_bench_t *hl_suite_register_mem(const char *workload, const char *allocator,
                                  hl_bench_fn fn, void *user)
{
    hl_bench_t *b = register_run("mem", workload, allocator, fn, user,
                                 mem_mode != HL_SUITE_MEM_SKIP);
    hl_bench_set_iterations(b, 1);
    hl_bench_set_repetitions(b, 1);
    return b;
}

/* Every case, chained, so that hl_suite_shutdown frees them. */
typedef struct case_node_s {
    struct case_node_s *next;
    hl_suite_case_t c;
} case_node_t;
static case_node_t *cases;

hl_suite_case_t *hl_suite_case(const char *allocator, const void *workload)
{
    case_node_t *n = malloc(sizeof *n);
    if (n == NULL) {
        fprintf(stderr, "heaplab_bench: out of memory registering benchmarks\n");
        exit(1);
    }
    n->c.allocator = allocator;
    n->c.workload = workload;
    n->next = cases;
    cases = n;
    return &n->c;
}

void hl_suite_shutdown(void)
{
    while (cases != NULL) {
        case_node_t *n = cases;
        cases = n->next;
        free(n);
    }
}

hl_allocator_t *hl_suite_open(hl_bench_state_t *st, const char *allocator)
{
    hl_allocator_t *a = malloc(sizeof *a);
    char err[256], msg[400];
    if (a == NULL) {
        hl_bench_skip_with_error(st, "out of memory");
        return NULL;
    }
    hl_alloc_options_t opt = {.arenas = HL_ARENAS_MMAP, .raw = NULL};
    if (hl_allocator_create(allocator, &opt, a, err, sizeof err) != 0) {
        snprintf(msg, sizeof msg, "cannot create allocator %s: %s", allocator, err);
        hl_bench_skip_with_error(st, msg);
        free(a);
        return NULL;
    }
    return a;
}

void hl_suite_close(hl_allocator_t *a)
{
    if (a == NULL)
        return;
    hl_allocator_destroy(a);
    free(a);
}

/* ---------------------------------------------------------------------- */
/* Resident set */

/* The value of `key` (e.g. "VmRSS:") in /proc/self/status, in bytes. */
static long status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long v = -1;
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, key, klen) == 0) {
            v = strtol(line + klen, NULL, 10) * 1024;
            break;
        }
    }
    fclose(f);
    return v;
}

long hl_suite_rss_now(void) { return status_kib("VmRSS:"); }
long hl_suite_rss_peak(void) { return status_kib("VmHWM:"); }

/* proc(5): writing 5 to clear_refs resets the peak RSS (VmHWM) to the
 * current RSS (Linux 4.0). */
void hl_suite_rss_reset_peak(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY);
    if (fd < 0)
        return;
    if (write(fd, "5", 1) != 1) {
        /* unreadable peaks show as larger deltas; nothing else to do */
    }
    close(fd);
}

/* ---------------------------------------------------------------------- */
/* Memory runs */

void hl_suite_mem_begin(hl_suite_mem_t *m, const hl_allocator_t *a)
{
    memset(m, 0, sizeof *m);
    m->a = a;
    hl_stats_t s;
    memset(&s, 0, sizeof s);
    hl_stats(a, &s);
    m->held_known = (s.valid & HL_STAT_HELD) != 0;
    m->held0 = s.held_bytes;
    hl_suite_rss_reset_peak();
    m->rss0 = hl_suite_rss_now();
}

void hl_suite_mem_sample(hl_suite_mem_t *m)
{
    m->allocs_since_sample = 0;
    m->sample_above = m->live_req + m->live_req / HL_SUITE_MEM_SAMPLE_GROWTH;
    if (!m->held_known)
        return;
    hl_stats_t s;
    memset(&s, 0, sizeof s);
    hl_stats(m->a, &s);
    size_t fp = s.held_bytes > m->held0 ? s.held_bytes - m->held0 : 0;
    if (fp > m->peak_footprint)
        m->peak_footprint = fp;
}

void hl_suite_mem_report(hl_suite_mem_t *m, hl_bench_state_t *st)
{
    if (m->failed) {
        hl_bench_skip_with_error(st, "an allocation failed");
        return;
    }
    if (m->live_req != 0 || m->live_usable != 0) {
        hl_bench_skip_with_error(st, "the workload left blocks live");
        return;
    }
    hl_suite_mem_sample(m);
    const double peak_live = (double)m->peak_live_req;
    hl_bench_counter(st, "peak_live", peak_live, HL_BENCH_COUNTER_1024);
    hl_bench_counter(st, "internal_frag",
                     peak_live > 0 ? ((double)m->usable_at_peak - peak_live) / peak_live : 0,
                     HL_BENCH_COUNTER_DEFAULT);
    hl_bench_counter(st, "footprint_known", m->held_known ? 1 : 0, HL_BENCH_COUNTER_DEFAULT);
    if (m->held_known) {
        hl_stats_t s;
        memset(&s, 0, sizeof s);
        hl_stats(m->a, &s);
        const size_t retained = s.held_bytes > m->held0 ? s.held_bytes - m->held0 : 0;
        hl_bench_counter(st, "peak_footprint", (double)m->peak_footprint, HL_BENCH_COUNTER_1024);
        hl_bench_counter(st, "footprint_ratio",
                         peak_live > 0 ? (double)m->peak_footprint / peak_live : 0,
                         HL_BENCH_COUNTER_DEFAULT);
        hl_bench_counter(st, "retained", (double)retained, HL_BENCH_COUNTER_1024);
    }
    const long peak = hl_suite_rss_peak();
    if (peak >= 0 && m->rss0 >= 0) {
        const double delta = (double)(peak > m->rss0 ? peak - m->rss0 : 0);
        hl_bench_counter(st, "peak_rss_delta", delta, HL_BENCH_COUNTER_1024);
        hl_bench_counter(st, "rss_ratio", peak_live > 0 ? delta / peak_live : 0,
                         HL_BENCH_COUNTER_DEFAULT);
    }
}
