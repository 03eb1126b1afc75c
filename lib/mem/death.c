/* death.c: see death.h. */
#include "death.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef HL_COVERAGE
/* Coverage builds (--config=llvmcov): the profile runtime writes its counters
 * at exit(), which a child that aborts, faults or _exit()s never reaches, so
 * the fatal paths it ran would count as never run.  The child writes them
 * itself (LLVM_PROFILE_FILE's %p gives it a file of its own), then dies as
 * it would have. */
int __llvm_profile_write_file(void) __attribute__((weak));

static void write_profile(void)
{
    if (__llvm_profile_write_file != NULL)
        (void)__llvm_profile_write_file();
}

static void die_after_profile(int sig)
{
    write_profile();
    signal(sig, SIG_DFL);
    raise(sig);
}
#endif

int hl_death_run(void (*fn)(void *arg), void *arg, hl_death_t *out)
{
    memset(out, 0, sizeof *out);
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        /* cmocka catches SIGSEGV and friends to longjmp back into its
         * runner; the child must die of them instead. */
        static const int sigs[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGSYS};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
#ifdef HL_COVERAGE
            signal(sigs[i], die_after_profile);
#else
            signal(sigs[i], SIG_DFL);
#endif
        }
        close(fds[0]);
        dup2(fds[1], 2);
        close(fds[1]);
        fn(arg);
#ifdef HL_COVERAGE
        write_profile();
#endif
        _exit(0);
    }
    close(fds[1]);
    for (;;) {
        size_t room = sizeof out->err - 1 - out->err_len;
        char sink[512];
        ssize_t n = room ? read(fds[0], out->err + out->err_len, room)
                         : read(fds[0], sink, sizeof sink);
        /* A signal handler installed without SA_RESTART (libFuzzer's -timeout
         * alarm, every second) interrupts the read: it is not the end of the
         * child's output.  Stopping here closed the pipe under the child,
         * which then died of SIGPIPE with its report unwritten
         * (debug_hooks_fuzz found it after 7 minutes). */
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (room)
            out->err_len += (size_t)n;
    }
    out->err[out->err_len] = '\0';
    close(fds[0]);
    int status;
    pid_t w;
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    if (w != pid)
        return -1;
    if (WIFEXITED(status)) {
        out->exited = true;
        out->code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        out->signaled = true;
        out->sig = WTERMSIG(status);
    }
    return 0;
}

void hl_death_say_p(const void *p)
{
    char line[64];
    int n = snprintf(line, sizeof line, "CHILD p=%p\n", p);
    (void)!write(2, line, (size_t)n);
}

void *hl_death_parse_p(const hl_death_t *d)
{
    const char *s = strstr(d->err, "CHILD p=");
    void *p = NULL;
    if (s == NULL || sscanf(s, "CHILD p=%p", &p) != 1)
        return NULL;
    return p;
}
