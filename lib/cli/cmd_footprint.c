/* cmd_footprint.c: `heaplab-cli footprint`, memory over time: a trace
 * replayed into one allocator, and after every K-th operation the
 * program's live bytes next to what the allocator holds from the system.
 * lib/heapmap/draw_footprint.py puts several allocators on one chart.
 *
 *   # heaplab footprint: allocator=pymalloc trace=corpus/traces/cc1.mtrace.gz ops=N ...
 *   op      live_bytes  live_blocks  held_bytes  rss_bytes
 *   0       0           0            0           0
 *   512     104448      1730         1048576     1118208
 *
 * held_bytes is hl_stats()'s held_bytes minus its value when the instance
 * was made (so a process-wide heap's earlier contents do not count), `-`
 * when the allocator does not know it; rss_bytes is the process's resident
 * set (/proc/self/statm) minus its value then.  Sampling: op 0, every K-th
 * op with K = ceil(ops / --points), the op at which the live bytes first
 * peak and the last op, so the chart never misses the peak.  Nothing here
 * mallocs during the replay (statm is read with read(2) into a static
 * buffer, the output stream has a static buffer).
 */
#include "cli.h"
#include "heaplab/allocator.h"
#include "heaplab/trace.h"
#include "hl_debug.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "heaplab footprint"
#define FOOTPRINT_POINTS_DEFAULT 2000
#define FOOTPRINT_POINTS_MAX 1000000

void hl_cmd_footprint_usage(FILE *out)
{
    fprintf(out,
            "usage: heaplab footprint --allocator NAME [--arenas mmap|fixed] [--points N] TRACE\n"
            "\n"
            "Replays TRACE (mtrace, plain or gzip) into a fresh instance of the allocator and\n"
            "prints, as tab-separated lines after a `#` header, the operation count, the\n"
            "program's live bytes and blocks, the bytes the allocator holds from the system\n"
            "(held_bytes, less its value at creation; `-` if the allocator cannot tell) and\n"
            "the process's resident set (less its value at creation), at op 0, every K-th\n"
            "operation (K = ceil(ops / N)), at the first peak of the live bytes and at the\n"
            "last operation.  `heaplab footprint` draws several allocators on one chart.\n"
            "\n"
            "  --allocator NAME  a registry name (`heaplab list`; required)\n"
            "  --arenas KIND     where pymalloc and cpython get arenas: mmap (default) or fixed\n"
            "  --points N        about how many samples (1..%d; default %d)\n"
            "\n"
            "Exit status: 0 ok; 1 the allocator failed; 2 bad option or trace.\n",
            FOOTPRINT_POINTS_MAX, FOOTPRINT_POINTS_DEFAULT);
}

static char out_buf[1 << 16];

/* Resident bytes, or 0 if /proc cannot say. */
static size_t rss_bytes(void)
{
    static char buf[256];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strchr(buf, ' ');
    return p ? (size_t)strtoull(p + 1, NULL, 10) * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

typedef struct fp_s {
    const hl_allocator_t *a;
    FILE *out;
    size_t every, peak_op, last_op;
    size_t live_bytes, live_blocks;
    bool held_known;
    size_t held_base, rss_base;
} fp_t;

static void fp_sample(fp_t *f, size_t op)
{
    hl_stats_t st;
    hl_stats(f->a, &st);
    long long rss = (long long)rss_bytes() - (long long)f->rss_base;
    fprintf(f->out, "%zu\t%zu\t%zu\t", op, f->live_bytes, f->live_blocks);
    if (f->held_known)
        fprintf(f->out, "%lld", (long long)st.held_bytes - (long long)f->held_base);
    else
        fputc('-', f->out);
    fprintf(f->out, "\t%lld\n", rss);
}

static void fp_alloc(void *user, const void *p, size_t n)
{
    fp_t *f = user;
    if (p) {
        f->live_bytes += n;
        f->live_blocks++;
    }
}
static void fp_free(void *user, const void *p, size_t n)
{
    fp_t *f = user;
    HL_UNUSED(p);
    f->live_bytes -= n;
    f->live_blocks--;
}
static void fp_after(void *user, size_t i)
{
    fp_t *f = user;
    size_t op = i + 1;
    if (op % f->every == 0 || op == f->peak_op || op == f->last_op)
        fp_sample(f, op);
}

int hl_cmd_footprint(int argc, char **argv)
{
    const char *allocator = NULL, *path = NULL;
    hl_alloc_options_t aopt = {0};
    long points = FOOTPRINT_POINTS_DEFAULT;
    bool no_more_options = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int r;
        if (!no_more_options && strcmp(a, "--") == 0) {
            no_more_options = true;
        } else if (!no_more_options
                   && (r = hl_cli_option_value(PROG, argc, argv, &i, "--allocator", &v)) != 0) {
            if (r < 0)
                return HL_EXIT_USAGE;
            allocator = v;
        } else if (!no_more_options
                   && (r = hl_cli_option_value(PROG, argc, argv, &i, "--arenas", &v)) != 0) {
            if (r < 0)
                return HL_EXIT_USAGE;
            if (hl_arena_kind_parse(v, &aopt.arenas) != 0) {
                fprintf(stderr, PROG ": --arenas '%s': expected mmap or fixed\n", v);
                return HL_EXIT_USAGE;
            }
        } else if (!no_more_options
                   && (r = hl_cli_option_value(PROG, argc, argv, &i, "--points", &v)) != 0) {
            if (r < 0)
                return HL_EXIT_USAGE;
            char *end;
            errno = 0;
            points = strtol(v, &end, 10);
            if (errno || *end || points < 1 || points > FOOTPRINT_POINTS_MAX) {
                fprintf(stderr, PROG ": --points '%s': expected 1..%d\n", v,
                        FOOTPRINT_POINTS_MAX);
                return HL_EXIT_USAGE;
            }
        } else if (!no_more_options && a[0] == '-' && strcmp(a, "-") != 0) {
            fprintf(stderr, PROG ": unknown option '%s'\n", a);
            return HL_EXIT_USAGE;
        } else if (path) {
            fprintf(stderr, PROG ": one TRACE only ('%s' and '%s')\n", path, a);
            return HL_EXIT_USAGE;
        } else {
            path = a;
        }
    }
    if (!allocator || !path) {
        fprintf(stderr, "heaplab footprint: %s\n",
                !allocator ? "--allocator NAME is required" : "no TRACE given");
        return HL_EXIT_USAGE;
    }
    char err[512];
    hl_trace_t *t;
    if (hl_trace_load(path, &t, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return HL_EXIT_USAGE;
    }
    const hl_trace_info_t *info = hl_trace_info(t);

    static fp_t f;
    memset(&f, 0, sizeof f);
    f.peak_op = info->peak_op;
    hl_allocator_t a;
    if (hl_allocator_create(allocator, &aopt, &a, err, sizeof err) != 0) {
        fprintf(stderr, "heaplab footprint: %s\n", err);
        hl_trace_free(t);
        return HL_EXIT_USAGE;
    }
    setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);
    hl_stats_t st;
    hl_stats(&a, &st);
    f.a = &a;
    f.out = stdout;
    f.every = (info->ops + (size_t)points - 1) / (size_t)points;
    f.every = f.every ? f.every : 1;
    f.last_op = info->ops;
    f.held_known = (st.valid & HL_STAT_HELD) != 0;
    f.held_base = st.held_bytes;
    f.rss_base = rss_bytes();
    printf("# heaplab footprint: allocator=%s trace=%s ops=%zu peak_op=%zu peak_live_bytes=%zu "
           "held_known=%d every=%zu\n", allocator, path, info->ops, f.peak_op,
           info->peak_live_bytes, f.held_known ? 1 : 0, f.every);
    printf("op\tlive_bytes\tlive_blocks\theld_bytes\trss_bytes\n");
    fp_sample(&f, 0);
    hl_replay_observer_t obs = {fp_alloc, fp_free, &f, fp_after};
    int rc = HL_EXIT_OK;
    if (hl_replay_observed(&a, t, &obs, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        rc = HL_EXIT_FAIL;
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "heaplab footprint: write error on standard output\n");
        rc = HL_EXIT_FAIL;
    }
    hl_allocator_destroy(&a);
    hl_trace_free(t);
    return rc;
}
