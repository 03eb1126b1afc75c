/* mtrace.h: one record of glibc's mtrace text format, for the parser and its
 * tests.  The format is glibc's malloc/mtrace-impl.c (see mtrace.c). */
#ifndef HL_MTRACE_H
#define HL_MTRACE_H

#ifndef HL_BUILD_CORE
#error "mtrace.h is internal to heaplab; build with -DHL_BUILD_CORE"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum hl_mtrace_line_e {
    HL_MTRACE_START,      /* "= Start" */
    HL_MTRACE_END,        /* "= End" */
    HL_MTRACE_BLANK,      /* empty line (glibc writes none; skipped) */
    HL_MTRACE_RECORD,
} hl_mtrace_line_t;

typedef struct hl_mtrace_record_s {
    char event;           /* '+', '-', '<', '>' or '!' */
    bool has_caller;      /* "@ CALLER " was present */
    uint64_t ptr;         /* 0 for "(nil)" */
    uint64_t size;        /* '+', '>' and '!' only */
} hl_mtrace_record_t;

/* Classify and parse one line (without its newline).  Returns 0, or -1 with
 * the message (no file or line prefix) in msg. */
int _hl_mtrace_parse_line(const char *line, size_t len, hl_mtrace_line_t *kind,
                          hl_mtrace_record_t *rec, char *msg, size_t msglen);

#endif /* HL_MTRACE_H */
