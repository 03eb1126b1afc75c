/* cmd_exec.c: `heaplab exec`, a command run on one of heaplab's own
 * allocators through LD_PRELOAD (the libraries are lib/preload/).
 *
 * The library libhl_NAME.so is looked for in $HEAPLAB_PRELOAD_DIR, else in
 * ../preload/ from this executable (where Bazel puts both: bazel-bin/lib/cli/
 * and bazel-bin/lib/preload/), else beside it.  The command replaces this
 * process (execvp), so its exit status is the command's own.
 */
#include "cli.h"
#include "heaplab/allocator.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LIB_PREFIX "libhl_"
#define LIB_SUFFIX ".so"

void hl_cmd_exec_usage(FILE *out)
{
    fprintf(out,
            "usage: heaplab exec --allocator NAME [--stats] -- CMD [ARGS...]\n"
            "\n"
            "Runs CMD with heaplab's allocator NAME as its malloc: LD_PRELOAD gets\n"
            "libhl_NAME.so (an LD_PRELOAD build of the allocator, lib/preload/) in front\n"
            "of any value it already has, so that NAME's malloc, free, calloc, realloc,\n"
            "posix_memalign, aligned_alloc, memalign, valloc, pvalloc and\n"
            "malloc_usable_size win.  One instance serves the whole process behind one\n"
            "lock.  Only heaplab's own allocators have such a build; the peers (glibc,\n"
            "cpython, jemalloc, mimalloc, tcmalloc) are not preloadable this way.  For\n"
            "CPython, set PYTHONMALLOC=malloc so that object allocations reach malloc.\n"
            "\n"
            "The library is looked for in $HEAPLAB_PRELOAD_DIR, else in ../preload/ from\n"
            "this executable, else beside it.\n"
            "\n"
            "  --allocator NAME, -a NAME   the allocator (see `heaplab list`)\n"
            "  --stats     set HL_PRELOAD_STATS=1: at exit the library prints one line to\n"
            "              stderr (call counts, held bytes, the invariant check's verdict)\n"
            "\n"
            "Exit status: CMD's; 127 if CMD cannot be run; 2 for a bad option or an\n"
            "allocator with no preload build.\n");
}

/* The directory of the preload libraries: 0, or -1 if none was found. */
static int find_dir(char *buf, size_t buflen)
{
    const char *env = getenv("HEAPLAB_PRELOAD_DIR");
    if (env && *env) {
        if (!realpath(env, buf))
            return -1;
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    static const char *const rel[] = {"/../preload", ""};
    for (size_t i = 0; i < 2; i++) {
        char dir[PATH_MAX + 16];
        snprintf(dir, sizeof dir, "%s%s", exe, rel[i]);
        DIR *d = opendir(dir);
        if (!d)
            continue;
        bool any = false;
        struct dirent *e;
        while (!any && (e = readdir(d)) != NULL) {
            size_t len = strlen(e->d_name);
            any = strncmp(e->d_name, LIB_PREFIX, strlen(LIB_PREFIX)) == 0 &&
                  len > strlen(LIB_PREFIX LIB_SUFFIX) &&
                  strcmp(e->d_name + len - strlen(LIB_SUFFIX), LIB_SUFFIX) == 0;
        }
        closedir(d);
        if (any && realpath(dir, buf) && strlen(buf) < buflen)
            return 0;
    }
    return -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Writes the names NAME of dir's libhl_NAME.so, comma-separated and sorted. */
static void list_preloadable(const char *dir, FILE *out)
{
    DIR *d = dir ? opendir(dir) : NULL;
    char *names[256];
    size_t n = 0;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL && n < 256) {
            size_t len = strlen(e->d_name);
            size_t pre = strlen(LIB_PREFIX), suf = strlen(LIB_SUFFIX);
            if (len > pre + suf && strncmp(e->d_name, LIB_PREFIX, pre) == 0 &&
                strcmp(e->d_name + len - suf, LIB_SUFFIX) == 0) {
                names[n] = strndup(e->d_name + pre, len - pre - suf);
                if (names[n])
                    n++;
            }
        }
        closedir(d);
    }
    qsort(names, n, sizeof names[0], cmp_str);
    if (n == 0)
        fputs("(none found)", out);
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "%s%s", i ? ", " : "", names[i]);
        free(names[i]);
    }
}

int hl_cmd_exec(int argc, char **argv)
{
    const char *name = NULL;
    bool stats = false;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "--allocator") == 0 || strcmp(a, "-a") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "heaplab exec: option '%s' needs a NAME\n", a);
                return HL_EXIT_USAGE;
            }
            name = argv[++i];
        } else if (strncmp(a, "--allocator=", 12) == 0) {
            name = a + 12;
        } else if (strcmp(a, "--stats") == 0) {
            stats = true;
        } else if (a[0] == '-') {
            fprintf(stderr, "heaplab exec: unknown option '%s'\n", a);
            hl_cmd_exec_usage(stderr);
            return HL_EXIT_USAGE;
        } else {
            break;   /* the command, without a "--" */
        }
    }
    if (!name || !*name) {
        fprintf(stderr, "heaplab exec: --allocator NAME is required\n");
        return HL_EXIT_USAGE;
    }
    if (i >= argc) {
        fprintf(stderr, "heaplab exec: no command to run (after --)\n");
        return HL_EXIT_USAGE;
    }

    char dir[PATH_MAX];
    bool have_dir = find_dir(dir, sizeof dir) == 0;
    char lib[PATH_MAX + 64];
    if (have_dir)
        snprintf(lib, sizeof lib, "%s/" LIB_PREFIX "%s" LIB_SUFFIX, dir, name);
    if (!have_dir || strchr(name, '/') || access(lib, R_OK) != 0) {
        if (hl_registry_find(name))
            fprintf(stderr, "heaplab exec: '%s' has no LD_PRELOAD build (only heaplab's own "
                            "allocators have one); preloadable: ", name);
        else
            fprintf(stderr, "heaplab exec: unknown allocator '%s' (see `heaplab list`); "
                            "preloadable: ", name);
        list_preloadable(have_dir ? dir : NULL, stderr);
        if (!have_dir)
            fprintf(stderr, " (no libhl_*.so in $HEAPLAB_PRELOAD_DIR or ../preload/ from "
                            "this executable: `bazel build //lib/preload:preload_libraries`)");
        fputc('\n', stderr);
        return HL_EXIT_USAGE;
    }

    /* Ours first: the first object that defines malloc is the process's malloc. */
    const char *old = getenv("LD_PRELOAD");
    size_t len = strlen(lib) + (old ? strlen(old) : 0) + 2;
    char *preload = malloc(len);
    if (!preload) {
        fprintf(stderr, "heaplab exec: out of memory\n");
        return HL_EXIT_FAIL;
    }
    snprintf(preload, len, "%s%s%s", lib, old && *old ? " " : "", old && *old ? old : "");
    if (setenv("LD_PRELOAD", preload, 1) != 0 ||
        (stats && setenv("HL_PRELOAD_STATS", "1", 1) != 0)) {
        fprintf(stderr, "heaplab exec: setenv: %s\n", strerror(errno));
        return HL_EXIT_FAIL;
    }
    free(preload);
    fflush(NULL);
    execvp(argv[i], argv + i);
    fprintf(stderr, "heaplab exec: cannot run '%s': %s\n", argv[i], strerror(errno));
    return 127;
}
