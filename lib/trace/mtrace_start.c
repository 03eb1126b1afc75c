/* mtrace_start.c: libhl_mtrace_start.so, the starter `heaplab record`
 * preloads after libc_malloc_debug.so.0.
 *
 * glibc traces only a program that calls mtrace() itself.  This library's
 * constructor calls it for any program: the preloaded libc_malloc_debug.so.0
 * comes first in the symbol search order, so mtrace() here is its tracer (the
 * one in libc.so.6 has been a stub since glibc 2.34), which opens
 * $MALLOC_TRACE and starts writing through a fully buffered stdio stream.
 *
 * Three things go wrong with that stream in ordinary programs; the starter
 * fixes each:
 *
 *   children that exec   inherit LD_PRELOAD and MALLOC_TRACE and would
 *                        truncate the file with a trace of their own.  The
 *                        constructor unsets MALLOC_TRACE once tracing has
 *                        started (unsetenv does not allocate): the children
 *                        still load this library but find nothing to trace.
 *   children that fork   without exec share the stream: their copy of the
 *                        unflushed buffer, and their own records, would land
 *                        in the file too.  An atfork child handler points the
 *                        child's copy of the trace descriptor at /dev/null.
 *   _exit()              (dash's `exit`, for one) skips stdio's flush, so the
 *                        last buffer of records, cut mid-line, is lost.  The
 *                        starter's _exit and _Exit call muntrace() first,
 *                        which flushes, writes "= End" and closes, in the
 *                        traced process only.  glibc's own exit() reaches its
 *                        internal _exit directly, after flushing, and is not
 *                        affected.
 *
 * Built without sanitizers: it is loaded into programs that have none.
 */
#include <fcntl.h>
#include <mcheck.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static pid_t traced_pid;   /* 0: not tracing */
static int trace_fd = -1;  /* mtrace's descriptor for $MALLOC_TRACE */

static void hl_mtrace_child(void)
{
    traced_pid = 0;
    if (trace_fd < 0)
        return;
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        dup3(fd, trace_fd, O_CLOEXEC);
        close(fd);
    }
}

__attribute__((constructor)) static void hl_mtrace_start(void)
{
    const char *path = getenv("MALLOC_TRACE");
    struct stat want;
    if (path == NULL || stat(path, &want) != 0)
        return;
    mtrace();
    unsetenv("MALLOC_TRACE");
    traced_pid = getpid();
    /* Find the descriptor mtrace() opened: the one on the same file. */
    for (int fd = 0; fd < 4096; fd++) {
        struct stat st;
        if (fstat(fd, &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino) {
            trace_fd = fd;
        }
    }
    pthread_atfork(NULL, NULL, hl_mtrace_child);
}

static void finish(void)
{
    if (traced_pid != 0 && traced_pid == getpid()) {
        traced_pid = 0;
        muntrace();
    }
}

void _exit(int status)
{
    finish();
    for (;;)
        syscall(SYS_exit_group, status);
}

void _Exit(int status)
{
    finish();
    for (;;)
        syscall(SYS_exit_group, status);
}
