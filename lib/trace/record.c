/* record.c: `heaplab record`, a command's allocations in mtrace format.
 *
 * The command runs in a child with
 *
 *     LD_PRELOAD="libc_malloc_debug.so.0 .../libhl_mtrace_start.so[ OLD]"
 *     MALLOC_TRACE=FILE            [PYTHONMALLOC=malloc with --python]
 *
 * libc_malloc_debug.so.0 holds glibc's tracer (glibc >= 2.34) and the starter
 * (mtrace_start.c) switches it on from a constructor.  CPython allocates
 * objects from its own pymalloc unless PYTHONMALLOC=malloc sends every
 * allocation to malloc, where the tracer sees it.
 *
 * Where the starter is found (hl_record_find_starter): $HEAPLAB_MTRACE_START,
 * else libhl_mtrace_start.so beside the running executable (/proc/self/exe),
 * else in ../trace/ from it, which is where Bazel puts it for
 * bazel-bin/lib/cli/heaplab-cli.
 *
 * A FILE ending in ".gz" is recorded to FILE.tmp.XXXXXX beside it, then
 * compressed with zlib at level 9 and the temporary file removed.
 */
#include "hl_debug.h"
#include "trace_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#define STARTER_NAME "libhl_mtrace_start.so"

int hl_record_find_starter(char *buf, size_t buflen, char *err, size_t errlen)
{
    const char *env = getenv("HEAPLAB_MTRACE_START");
    if (env && *env) {
        if (access(env, R_OK) != 0)
            return _hl_err(err, errlen, "HEAPLAB_MTRACE_START=%s: %s", env, strerror(errno));
        if (strlen(env) >= buflen)
            return _hl_err(err, errlen, "HEAPLAB_MTRACE_START: path too long");
        strcpy(buf, env);
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return _hl_err(err, errlen, "cannot read /proc/self/exe: %s", strerror(errno));
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    static const char *const rel[] = {"/" STARTER_NAME, "/../trace/" STARTER_NAME};
    for (size_t i = 0; i < 2; i++) {
        int k = snprintf(buf, buflen, "%s%s", exe, rel[i]);
        if (k > 0 && (size_t)k < buflen && access(buf, R_OK) == 0)
            return 0;
    }
    return _hl_err(err, errlen, "cannot find %s in %s or %s/../trace (set HEAPLAB_MTRACE_START)",
                STARTER_NAME, exe, exe);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int gzip_file(const char *from, const char *to, char *err, size_t errlen)
{
    FILE *in = fopen(from, "rb");
    if (!in)
        return _hl_err(err, errlen, "%s: %s", from, strerror(errno));
    gzFile gz = gzopen(to, "wb9");
    if (!gz) {
        fclose(in);
        return _hl_err(err, errlen, "cannot write %s: %s", to, strerror(errno));
    }
    static char buf[1 << 16];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        if (gzwrite(gz, buf, (unsigned)n) != (int)n) {
            int zerr;
            rc = _hl_err(err, errlen, "cannot write %s: %s", to, gzerror(gz, &zerr));
            break;
        }
    }
    if (rc == 0 && ferror(in))
        rc = _hl_err(err, errlen, "%s: read error", from);
    if (gzclose(gz) != Z_OK && rc == 0)
        rc = _hl_err(err, errlen, "cannot write %s", to);
    fclose(in);
    return rc;
}

/* True if the file starts with "= Start". */
static bool has_trace(const char *path)
{
    char head[8] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t n = fread(head, 1, 7, f);
    fclose(f);
    return n == 7 && memcmp(head, "= Start", 7) == 0;
}

int hl_record(const hl_record_options_t *opt, char *const argv[], char *err, size_t errlen)
{
    if (!argv || !argv[0])
        return _hl_err(err, errlen, "no command to record");
    char starter[PATH_MAX];
    if (opt->starter) {
        if (access(opt->starter, R_OK) != 0)
            return _hl_err(err, errlen, "%s: %s", opt->starter, strerror(errno));
        snprintf(starter, sizeof starter, "%s", opt->starter);
    } else if (hl_record_find_starter(starter, sizeof starter, err, errlen) != 0) {
        return -1;
    }
    if (starter[0] != '/') {   /* the command may chdir; the preload must not move */
        char abs[PATH_MAX];
        if (!realpath(starter, abs))
            return _hl_err(err, errlen, "%s: %s", starter, strerror(errno));
        snprintf(starter, sizeof starter, "%s", abs);
    }

    bool gz = ends_with(opt->out, ".gz");
    char tmp[PATH_MAX];
    const char *trace = opt->out;
    if (gz) {
        if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", opt->out) >= (int)sizeof tmp)
            return _hl_err(err, errlen, "%s: path too long", opt->out);
        int fd = mkstemp(tmp);
        if (fd < 0)
            return _hl_err(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        close(fd);
        trace = tmp;
    }
    char trace_abs[PATH_MAX];
    {
        /* Make sure the file can be written, and pass an absolute path. */
        int fd = open(trace, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            return _hl_err(err, errlen, "cannot write %s: %s", trace, strerror(errno));
        close(fd);
        if (!realpath(trace, trace_abs))
            return _hl_err(err, errlen, "%s: %s", trace, strerror(errno));
    }

    const char *old = getenv("LD_PRELOAD");
    size_t plen = strlen(starter) + (old ? strlen(old) : 0) + 64;
    char *preload = malloc(plen);
    if (!preload)
        return _hl_err(err, errlen, "out of memory");
    snprintf(preload, plen, "libc_malloc_debug.so.0 %s%s%s", starter,
             old && *old ? " " : "", old && *old ? old : "");

    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        free(preload);
        return _hl_err(err, errlen, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        setenv("LD_PRELOAD", preload, 1);
        setenv("MALLOC_TRACE", trace_abs, 1);
        if (opt->python)
            setenv("PYTHONMALLOC", "malloc", 1);
        execvp(argv[0], argv);
        fprintf(stderr, "heaplab record: cannot run '%s': %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    free(preload);
    int wst;
    while (waitpid(pid, &wst, 0) < 0) {
        if (errno != EINTR)
            return _hl_err(err, errlen, "waitpid: %s", strerror(errno));
    }
    int status = WIFEXITED(wst) ? WEXITSTATUS(wst) : WIFSIGNALED(wst) ? 128 + WTERMSIG(wst) : 1;

    if (!has_trace(trace)) {
        if (gz)
            unlink(tmp);
        if (status != 0)
            return status;   /* the command failed before tracing; it said why */
        return _hl_err(err, errlen, "'%s' wrote no trace to %s (a static binary? is "
                    "libc_malloc_debug.so.0 installed?)", argv[0], opt->out);
    }
    if (gz) {
        int rc = gzip_file(tmp, opt->out, err, errlen);
        unlink(tmp);
        if (rc != 0)
            return -1;
    }
    return status;
}
