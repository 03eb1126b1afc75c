/* death.h: run a function in a fork()ed child and report how it died,
 * with everything it wrote to stderr (for tests of fatal errors). */
#ifndef HL_MEM_DEATH_H
#define HL_MEM_DEATH_H

#include <stdbool.h>
#include <stddef.h>

typedef struct hl_death_s {
    bool exited;      /* returned normally: exit status in code */
    int code;
    bool signaled;    /* killed: signal number in sig */
    int sig;
    char err[16384];  /* the child's stderr, NUL-terminated (truncated) */
    size_t err_len;
} hl_death_t;

/* Fork; the child restores default signal dispositions, points stderr at a
 * pipe, calls fn(arg) and _exit(0)s if fn returns.  Returns 0, or -1 if the
 * child could not be run. */
int hl_death_run(void (*fn)(void *arg), void *arg, hl_death_t *out);

/* A child names a block address on its stderr (`CHILD p=%p`), since the
 * parent cannot know where the child's allocator put it; the test reads it
 * back from the captured stderr. */
void hl_death_say_p(const void *p);
void *hl_death_parse_p(const hl_death_t *d);

#endif /* HL_MEM_DEATH_H */
