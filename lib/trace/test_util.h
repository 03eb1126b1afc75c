/* test_util.h: small helpers shared by the trace tests (test-only). */
#ifndef HL_TRACE_TEST_UTIL_H
#define HL_TRACE_TEST_UTIL_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static inline const char *hl_test_tmpdir(void)
{
    const char *d = getenv("TEST_TMPDIR");
    return d && *d ? d : "/tmp";
}

/* Read a whole file into a malloc'ed NUL-terminated string ("" if missing). */
static inline char *hl_test_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 4096, n = 0;
    char *s = malloc(cap);
    if (f) {
        size_t k;
        while ((k = fread(s + n, 1, cap - n - 1, f)) > 0) {
            n += k;
            if (cap - n - 1 == 0)
                s = realloc(s, cap *= 2);
        }
        fclose(f);
    }
    s[n] = '\0';
    return s;
}

/* Run argv with stdin from `in` (NULL: /dev/null) and stdout/stderr into
 * files; returns the exit status (128+N for signal N) and the outputs
 * (malloc'ed, caller frees). */
static inline int hl_test_run(char *const argv[], const char *in, char **out, char **err)
{
    static int seq;
    char opath[512], epath[512];
    snprintf(opath, sizeof opath, "%s/run%d.out", hl_test_tmpdir(), seq);
    snprintf(epath, sizeof epath, "%s/run%d.err", hl_test_tmpdir(), seq++);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int i = open(in ? in : "/dev/null", O_RDONLY);
        int o = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (i < 0 || o < 0 || e < 0)
            _exit(126);
        dup2(i, 0);
        dup2(o, 1);
        dup2(e, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    *out = hl_test_slurp(opath);
    *err = hl_test_slurp(epath);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#endif /* HL_TRACE_TEST_UTIL_H */
