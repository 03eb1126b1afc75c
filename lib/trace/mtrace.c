/* mtrace.c: the parser for glibc's mtrace text format.
 *
 * The format.  glibc's tracer (malloc/mtrace-impl.c, in libc_malloc_debug.so
 * since glibc 2.34) writes one line per event, as this parser reads them:
 *
 *     = Start
 *     @ /usr/bin/python3:(PyThread_allocate_lock+2a)[0xf71ba] + 0x242624a0 0x20
 *     @ /lib/x86_64-linux-gnu/libc.so.6:[0x38896] < 0x24263d90
 *     @ /lib/x86_64-linux-gnu/libc.so.6:[0x38896] > 0x24263d90 0x800
 *     @ [0x7f3a2c1b2e10] - 0x24262530
 *     = End
 *
 *   line                      written by                     parsed as
 *   = Start                   mtrace()                       must come first
 *   = End                     muntrace() (often absent: a    nothing may follow
 *                             traced program that exits
 *                             without muntrace() has none)
 *   @ CALLER EVENT            every traced call              CALLER is checked, then dropped
 *   EVENT                     a call whose return address    (glibc omits "@ CALLER " when
 *                             glibc could not see            the caller is NULL)
 *
 *   CALLER:  FILE:(SYM+OFF)[0xADDR]   dladdr found a symbol (OFF is hex,
 *                                     glibc writes it without 0x; SYM may
 *                                     be empty and the sign may be '-')
 *            FILE:[0xADDR]            ... a file but no symbol
 *            [0xADDR]                 no dladdr information
 *   EVENT:   + PTR SIZE     malloc, calloc, memalign or realloc(NULL) gave PTR
 *            - PTR          free(PTR); free(NULL) is never logged
 *            < OLD          realloc(OLD, ...), always followed by
 *            > NEW SIZE     ... its result (NEW may equal OLD)
 *            ! OLD SIZE     realloc failed: OLD stays live
 *   PTR is %p: 0x-prefixed hex, or "(nil)".  SIZE is %#lx: 0x-prefixed hex,
 *   or a bare "0" (C's # flag adds no prefix to zero).
 *
 * Decisions for what glibc's format leaves open:
 *   - "+ (nil) SIZE" (a failed malloc) and "! OLD SIZE" (a failed realloc)
 *     change no live block; they are counted in info.failed, not replayed.
 *     "- (nil)" is accepted and ignored (free(NULL) does nothing).
 *   - A "+" or ">" returning an address that is already live is a trace error:
 *     an allocator cannot hand out a live block twice, so the trace lost a
 *     free (or was stitched together).
 *   - A "-", "<" or "!" of an address that is not live is a trace error.
 *   - Blank lines are skipped.  Every other line must parse.
 *   - A trace must end with a newline: a last line without one was cut
 *     short, even if what is left looks like a record.
 *
 * Every error is "TRACE:LINE: error: MESSAGE"; a file that cannot be opened is
 * "TRACE: error: cannot open: REASON".
 *
 * The whole file is parsed before any replay.  Input goes through zlib's
 * gzread, which reads plain text unchanged, so .gz traces need no flag.
 */
#include "mtrace.h"

#include "addr_map.h"
#include "hl_debug.h"
#include "trace_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_LINE (1u << 20)   /* longer lines are an error, not a realloc loop */

/* ---- one line ----------------------------------------------------------- */

static int msgf(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int msgf(char *msg, size_t msglen, const char *fmt, ...)
{
    if (msg && msglen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, msglen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Quote at most 40 bytes of a token for a message. */
static const char *quote(char *buf, size_t buflen, const char *s, size_t n)
{
    size_t max = buflen - 4;
    if (max > 40) max = 40;
    size_t k = n < max ? n : max;
    memcpy(buf, s, k);
    strcpy(buf + k, n > k ? "..." : "");
    for (size_t i = 0; i < k; i++)
        if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
            buf[i] = '?';
    return buf;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* 1..16 hex digits, exactly [s, s+n); 0 or -1. */
static int parse_hex_digits(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 16)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int d = hexval(s[i]);
        if (d < 0)
            return -1;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return 0;
}

static int parse_0x(const char *s, size_t n, uint64_t *out)
{
    if (n < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return -1;
    return parse_hex_digits(s + 2, n - 2, out);
}

/* "[0xADDR]" / "FILE:[0xADDR]" / "FILE:(SYM+OFF)[0xADDR]" / "(SYM+OFF)[0xADDR]" */
static bool caller_is_valid(const char *s, size_t n)
{
    uint64_t v;
    if (n < 2 || s[n - 1] != ']')
        return false;
    size_t lb = n - 1;
    while (lb > 0 && s[lb - 1] != '[')
        lb--;
    if (lb == 0)
        return false;
    if (parse_0x(s + lb, n - 1 - lb, &v) != 0)
        return false;
    size_t pre = lb - 1;          /* [s, s+pre) precedes '[' */
    if (pre == 0 || s[pre - 1] == ':')
        return true;
    if (s[pre - 1] != ')')
        return false;
    size_t lp = pre - 1;
    while (lp > 0 && s[lp - 1] != '(')
        lp--;
    if (lp == 0)
        return false;
    /* (SYM+OFF): [s+lp, s+pre-1) is "SYM+OFF" */
    size_t in_end = pre - 1, sign = in_end;
    while (sign > lp && s[sign - 1] != '+' && s[sign - 1] != '-')
        sign--;
    if (sign == lp)
        return false;
    const char *off = s + sign;
    size_t offn = in_end - sign;
    if (parse_0x(off, offn, &v) != 0 && parse_hex_digits(off, offn, &v) != 0)
        return false;
    size_t before = lp - 1;      /* "FILE:" or nothing before '(' */
    return before == 0 || s[before - 1] == ':';
}

/* The next space-delimited token of [*p, end); advances *p past it. */
static size_t next_token(const char **p, const char *end, const char **tok)
{
    const char *s = *p, *q = s;
    while (q < end && *q != ' ')
        q++;
    *tok = s;
    *p = q;
    return (size_t)(q - s);
}

int _hl_mtrace_parse_line(const char *line, size_t len, hl_mtrace_line_t *kind,
                          hl_mtrace_record_t *rec, char *msg, size_t msglen)
{
    char qb[64];
    const char *p = line, *end = line + len, *tok;
    size_t n;

    memset(rec, 0, sizeof *rec);
    if (len == 0) { *kind = HL_MTRACE_BLANK; return 0; }
    if (len == 7 && memcmp(line, "= Start", 7) == 0) { *kind = HL_MTRACE_START; return 0; }
    if (len == 5 && memcmp(line, "= End", 5) == 0) { *kind = HL_MTRACE_END; return 0; }
    *kind = HL_MTRACE_RECORD;
    if (line[0] == '=')
        return msgf(msg, msglen, "unknown line '%s' (expected '= Start' or '= End')",
                    quote(qb, sizeof qb, line, len));

    if (len >= 2 && line[0] == '@' && line[1] == ' ') {
        p += 2;
        const char *q = p;
        while (q + 1 < end && !(q[0] == ']' && q[1] == ' '))
            q++;
        if (q + 1 >= end || !caller_is_valid(p, (size_t)(q + 1 - p)))
            return msgf(msg, msglen,
                        "malformed caller '%s' (expected FILE:(SYM+OFF)[0xADDR], "
                        "FILE:[0xADDR] or [0xADDR])",
                        quote(qb, sizeof qb, p, (size_t)(q + 1 < end ? q + 1 - p : end - p)));
        rec->has_caller = true;
        p = q + 2;
    }
    if (p >= end)
        return msgf(msg, msglen, "missing event after the caller");
    char ev = *p;
    if (!strchr("+-<>!", ev) || ev == '\0')
        return msgf(msg, msglen, "unknown event '%s' (expected + - < > or !)",
                    quote(qb, sizeof qb, p, (size_t)(end - p) < 1 ? 0 : 1));
    rec->event = ev;
    p++;
    if (p >= end || *p != ' ')
        return msgf(msg, msglen, "malformed '%c' record: expected a space after '%c'", ev, ev);
    p++;

    n = next_token(&p, end, &tok);
    if (n == 5 && memcmp(tok, "(nil)", 5) == 0)
        rec->ptr = 0;
    else if (parse_0x(tok, n, &rec->ptr) != 0)
        return msgf(msg, msglen, "malformed address '%s' in '%c' record (expected 0xHEX or (nil))",
                    quote(qb, sizeof qb, tok, n), ev);

    if (ev == '+' || ev == '>' || ev == '!') {
        if (p >= end)
            return msgf(msg, msglen, "missing size in '%c' record", ev);
        p++;   /* the space */
        n = next_token(&p, end, &tok);
        if (!(n == 1 && tok[0] == '0') && parse_0x(tok, n, &rec->size) != 0)
            return msgf(msg, msglen, "malformed size '%s' in '%c' record (expected 0xHEX)",
                        quote(qb, sizeof qb, tok, n), ev);
    }
    if (p != end)
        return msgf(msg, msglen, "unexpected text after the '%c' record: '%s'", ev,
                    quote(qb, sizeof qb, p, (size_t)(end - p)));
#ifdef HL_PLANT_MTRACE_NIL_REALLOC
    /* planted bug: only '>' is refused a NULL address; "< (nil)" is taken as
     * a realloc of address 0, which the live-address map cannot hold */
    if (ev == '>' && rec->ptr == 0)
#else
    if ((ev == '<' || ev == '>') && rec->ptr == 0)
#endif
        return msgf(msg, msglen, "'%c' record with a NULL address", ev);
    return 0;
}

/* ---- input: a gzFile or a buffer, one line at a time ---------------------- */

typedef struct reader_s {
    gzFile gz;              /* NULL: the whole input is buf[0:len] */
    const char *buf;        /* the current window of input */
    size_t len, pos;
    char *chunk;            /* gz: malloc'ed window */
    char *line;             /* gz: a line that spans two windows */
    size_t cap;
} reader_t;

#define CHUNK (1u << 17)

/* Next window from the gzFile: its size, 0 at the end, -1 on error. */
static int refill(reader_t *r, char *msg, size_t msglen)
{
    if (!r->chunk && !(r->chunk = malloc(CHUNK)))
        return msgf(msg, msglen, "out of memory");
    int n = gzread(r->gz, r->chunk, CHUNK);
    int zerr = Z_OK;
    const char *zmsg = gzerror(r->gz, &zerr);
    if (n < 0 || (zerr != Z_OK && zerr != Z_STREAM_END))
        return msgf(msg, msglen, "read error: %s",
                    zerr == Z_ERRNO ? strerror(errno) : zmsg);
    r->buf = r->chunk;
    r->len = (size_t)n;
    r->pos = 0;
    return n;
}

/* 1 (a line in *out and *outlen, *newline says if it ended with '\n'), 0 (end
 * of input), -1 (read error, message in msg). */
static int read_line(reader_t *r, const char **out, size_t *outlen, bool *newline,
                     char *msg, size_t msglen)
{
    size_t acc = 0;
    bool spanning = false;
    for (;;) {
        if (r->pos >= r->len) {
            if (!r->gz)
                break;
            int n = refill(r, msg, msglen);
            if (n < 0)
                return -1;
            if (n == 0)
                break;
        }
        const char *s = r->buf + r->pos;
        const char *nl = memchr(s, '\n', r->len - r->pos);
        size_t k = nl ? (size_t)(nl - s) : r->len - r->pos;
        if (!spanning && nl) {
            *out = s;
            *outlen = k;
            *newline = true;
            r->pos += k + 1;
            goto got;
        }
        if (acc + k > MAX_LINE)
            return msgf(msg, msglen, "line longer than %u bytes", MAX_LINE);
        if (acc + k > r->cap) {
            size_t cap = r->cap ? r->cap : 4096;
            while (cap < acc + k)
                cap *= 2;
            char *p = realloc(r->line, cap);
            if (!p)
                return msgf(msg, msglen, "out of memory");
            r->line = p;
            r->cap = cap;
        }
        memcpy(r->line + acc, s, k);
        acc += k;
        r->pos += k + (nl != NULL);
        spanning = true;
        if (nl) {
            *out = r->line;
            *outlen = acc;
            *newline = true;
            goto got;
        }
    }
    if (!spanning)
        return 0;
    *out = r->line;
    *outlen = acc;
    *newline = false;
got:
    if (memchr(*out, '\0', *outlen))
        return msgf(msg, msglen, "NUL byte in the trace (binary file?)");
    return 1;
}

/* ---- the parser --------------------------------------------------------- */

typedef struct parser_s {
    hl_trace_t *t;
    size_t lineno;
    hl_addr_map_t map;      /* live recorded address -> slot */
    hl_mvec_t slot_size;    /* uint64_t per slot: requested size of its live block */
    hl_mvec_t free_slots;   /* uint32_t stack of unused slots */
    uint32_t nslots;
    uint64_t live_bytes;
    size_t live_blocks;
    bool started, ended;
    bool pending;           /* a '<' waits for its '>' */
    uint64_t pend_addr;
    size_t pend_line;
    char *err;
    size_t errlen;
} parser_t;

static int fail(parser_t *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(parser_t *ps, const char *fmt, ...)
{
    if (ps->err && ps->errlen) {
        int k = snprintf(ps->err, ps->errlen, "%s:%zu: error: ", ps->t->info.name, ps->lineno);
        if (k >= 0 && (size_t)k < ps->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(ps->err + k, ps->errlen - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

static uint64_t *slot_sizes(parser_t *ps) { return (uint64_t *)ps->slot_size.base; }

static int push_op(parser_t *ps, unsigned kind, uint32_t slot, uint64_t size, size_t line)
{
    if (line > HL_OP_MAX_LINE)
        return fail(ps, "trace too long (more than %u lines)", HL_OP_MAX_LINE);
    hl_trace_op_t op = hl_op_make(kind, slot, size, (uint32_t)line);
    if (_hl_mvec_push(&ps->t->ops, &op, sizeof op) != 0)
        return fail(ps, "out of memory");
    ps->t->info.ops++;
    return 0;
}

static int new_slot(parser_t *ps, uint32_t *slot)
{
    if (ps->free_slots.len) {
        ps->free_slots.len -= sizeof(uint32_t);
        memcpy(slot, (char *)ps->free_slots.base + ps->free_slots.len, sizeof *slot);
        return 0;
    }
    if (ps->nslots == UINT32_MAX)
        return fail(ps, "more than %u blocks live at once", UINT32_MAX - 1);
    uint64_t zero = 0;
    if (_hl_mvec_push(&ps->slot_size, &zero, sizeof zero) != 0)
        return fail(ps, "out of memory");
    *slot = ps->nslots++;
    return 0;
}

static int release_slot(parser_t *ps, uint32_t slot)
{
    if (_hl_mvec_push(&ps->free_slots, &slot, sizeof slot) != 0)
        return fail(ps, "out of memory");
    return 0;
}

/* Called before the op that changed the live bytes is pushed: that op is
 * number ops + 1. */
static void note_live(parser_t *ps)
{
    hl_trace_info_t *in = &ps->t->info;
    if (ps->live_bytes > in->peak_live_bytes) {
        in->peak_live_bytes = (size_t)ps->live_bytes;
        in->peak_op = in->ops + 1;
    }
}

static int on_alloc(parser_t *ps, uint64_t addr, uint64_t size)
{
    hl_addr_entry_t *e = _hl_addr_map_find(&ps->map, addr);
    if (e)
        return fail(ps, "malloc returned 0x%llx, which is already live (allocated on line %u)",
                    (unsigned long long)addr, e->line);
    uint32_t slot;
    if (new_slot(ps, &slot) != 0)
        return -1;
    if (_hl_addr_map_insert(&ps->map, addr, slot, (uint32_t)ps->lineno) != 0)
        return fail(ps, "out of memory");
    slot_sizes(ps)[slot] = size;
    ps->live_bytes += size;
    ps->live_blocks++;
    note_live(ps);
    ps->t->info.mallocs++;
    return push_op(ps, HL_OP_MALLOC, slot, size, ps->lineno);
}

static int on_free(parser_t *ps, uint64_t addr)
{
    hl_addr_entry_t *e = _hl_addr_map_find(&ps->map, addr);
    if (!e)
        return fail(ps, "free of 0x%llx, which is not live", (unsigned long long)addr);
    uint32_t slot = e->slot;
    _hl_addr_map_remove(&ps->map, e);
    ps->live_bytes -= slot_sizes(ps)[slot];
    ps->live_blocks--;
    ps->t->info.frees++;
    if (release_slot(ps, slot) != 0)
        return -1;
    return push_op(ps, HL_OP_FREE, slot, 0, ps->lineno);
}

static int on_realloc(parser_t *ps, uint64_t old, uint64_t new, uint64_t size)
{
    hl_addr_entry_t *e = _hl_addr_map_find(&ps->map, old);
    hl_assert_internal(e != NULL);   /* checked at the '<' */
    uint32_t slot = e->slot;
    if (new != old) {
        hl_addr_entry_t *f = _hl_addr_map_find(&ps->map, new);
        if (f)
            return fail(ps, "realloc returned 0x%llx, which is already live "
                        "(allocated on line %u)", (unsigned long long)new, f->line);
        _hl_addr_map_remove(&ps->map, e);
        if (_hl_addr_map_insert(&ps->map, new, slot, (uint32_t)ps->lineno) != 0)
            return fail(ps, "out of memory");
    }
    ps->live_bytes += size - slot_sizes(ps)[slot];
    slot_sizes(ps)[slot] = size;
    note_live(ps);
    ps->t->info.reallocs++;
    return push_op(ps, HL_OP_REALLOC, slot, size, ps->pend_line);
}

static int on_line(parser_t *ps, const char *line, size_t len)
{
    char msg[256];
    hl_mtrace_line_t kind;
    hl_mtrace_record_t r;
    if (_hl_mtrace_parse_line(line, len, &kind, &r, msg, sizeof msg) != 0)
        return fail(ps, "%s", msg);
    if (kind == HL_MTRACE_BLANK)
        return 0;
    if (ps->ended)
        return fail(ps, "text after '= End'");
    if (kind == HL_MTRACE_START) {
        if (ps->started)
            return fail(ps, "second '= Start'");
        ps->started = true;
        return 0;
    }
    if (!ps->started)
        return fail(ps, "missing '= Start' (is this an mtrace trace?)");
    if (ps->pending && !(kind == HL_MTRACE_RECORD && r.event == '>'))
        return fail(ps, "expected '> NEW SIZE' after '< 0x%llx' on line %zu",
                    (unsigned long long)ps->pend_addr, ps->pend_line);
    if (kind == HL_MTRACE_END) {
        ps->ended = true;
        ps->t->info.has_end = true;
        return 0;
    }
    switch (r.event) {
    case '+':
        if (r.ptr == 0) { ps->t->info.failed++; return 0; }
        return on_alloc(ps, r.ptr, r.size);
    case '-':
        if (r.ptr == 0) return 0;
        return on_free(ps, r.ptr);
    case '<':
        if (!_hl_addr_map_find(&ps->map, r.ptr))
            return fail(ps, "realloc of 0x%llx, which is not live", (unsigned long long)r.ptr);
        ps->pending = true;
        ps->pend_addr = r.ptr;
        ps->pend_line = ps->lineno;
        return 0;
    case '>':
        if (!ps->pending)
            return fail(ps, "'> 0x%llx' without a '< OLD' before it", (unsigned long long)r.ptr);
        ps->pending = false;
        return on_realloc(ps, ps->pend_addr, r.ptr, r.size);
    case '!':
        if (r.ptr != 0 && !_hl_addr_map_find(&ps->map, r.ptr))
            return fail(ps, "failed realloc of 0x%llx, which is not live",
                        (unsigned long long)r.ptr);
        ps->t->info.failed++;
        return 0;
    }
    hl_assert(!"unreachable");
    return -1;
}

static int finish(parser_t *ps)
{
    hl_trace_t *t = ps->t;
    if (!ps->started) {
        ps->lineno = 1;
        return fail(ps, "empty trace (expected '= Start')");
    }
    if (ps->pending) {
        ps->lineno = ps->pend_line;
        return fail(ps, "trace ends after '< 0x%llx' without its '> NEW SIZE'",
                    (unsigned long long)ps->pend_addr);
    }
    for (size_t i = 0; i <= ps->map.mask; i++) {
        if (ps->map.tab[i].addr == 0)
            continue;
        if (_hl_mvec_push(&t->final_live, &ps->map.tab[i].slot, sizeof(uint32_t)) != 0)
            return fail(ps, "out of memory");
    }
    t->info.slots = ps->nslots;
    t->info.final_live_blocks = ps->live_blocks;
    t->info.final_live_bytes = (size_t)ps->live_bytes;
    t->info.lines = ps->lineno;
    hl_assert_expensive(_hl_addr_map_is_valid(&ps->map));
    hl_assert_expensive(_hl_trace_is_valid(t));
    return 0;
}

static int parse(hl_trace_t *t, reader_t *r, char *err, size_t errlen)
{
    parser_t ps = {0};
    ps.t = t;
    ps.err = err;
    ps.errlen = errlen;
    int rc = -1;
    if (_hl_addr_map_init(&ps.map) != 0) {
        fail(&ps, "out of memory");
        goto out;
    }
    for (;;) {
        const char *line;
        size_t len;
        bool newline;
        char msg[256];
        ps.lineno++;
        int got = read_line(r, &line, &len, &newline, msg, sizeof msg);
        if (got < 0) {
            fail(&ps, "%s", msg);
            goto out;
        }
        if (got == 0) {
            ps.lineno--;
            break;
        }
        if (!newline) {
            fail(&ps, "line cut short (no newline at the end of the trace: truncated?)");
            goto out;
        }
        if (on_line(&ps, line, len) != 0)
            goto out;
    }
    rc = finish(&ps);
out:
    _hl_addr_map_release(&ps.map);
    _hl_mvec_release(&ps.slot_size);
    _hl_mvec_release(&ps.free_slots);
    return rc;
}

/* ---- public entry points -------------------------------------------------- */

static hl_trace_t *trace_new(const char *name)
{
    hl_trace_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->name = strdup(strcmp(name, "-") == 0 ? "<stdin>" : name);
    if (!t->name) {
        free(t);
        return NULL;
    }
    t->info.name = t->name;
    return t;
}

void hl_trace_free(hl_trace_t *t)
{
    if (!t)
        return;
    _hl_mvec_release(&t->ops);
    _hl_mvec_release(&t->final_live);
    free(t->name);
    free(t);
}

const hl_trace_info_t *hl_trace_info(const hl_trace_t *t) { return &t->info; }

int hl_trace_parse_buffer(const char *name, const char *text, size_t len,
                          hl_trace_t **out, char *err, size_t errlen)
{
    *out = NULL;
    hl_trace_t *t = trace_new(name);
    if (!t)
        return msgf(err, errlen, "%s: error: out of memory", name);
    reader_t r = {0};
    r.buf = text;
    r.len = len;
    int rc = parse(t, &r, err, errlen);
    free(r.line);
    if (rc != 0) {
        hl_trace_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

int hl_trace_load(const char *path, hl_trace_t **out, char *err, size_t errlen)
{
    *out = NULL;
    hl_trace_t *t = trace_new(path);
    if (!t)
        return msgf(err, errlen, "%s: error: out of memory", path);
    reader_t r = {0};
    if (strcmp(path, "-") == 0) {
        int fd = dup(STDIN_FILENO);
        r.gz = fd < 0 ? NULL : gzdopen(fd, "rb");
        if (!r.gz && fd >= 0)
            close(fd);
    } else {
        errno = 0;
        r.gz = gzopen(path, "rb");
    }
    if (!r.gz) {
        msgf(err, errlen, "%s: error: cannot open: %s", t->info.name,
             errno ? strerror(errno) : "out of memory");
        hl_trace_free(t);
        return -1;
    }
    int rc = parse(t, &r, err, errlen);
    gzclose(r.gz);
    free(r.chunk);
    free(r.line);
    if (rc != 0) {
        hl_trace_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

/* ---- validity ------------------------------------------------------------- */

bool _hl_trace_is_valid(const hl_trace_t *t)
{
    size_t n = t->info.slots;
    unsigned char *live = _hl_map(n);
    if (!live)
        return false;
    bool ok = true;
    const hl_trace_op_t *ops = hl_trace_ops(t);
    size_t counts[3] = {0, 0, 0};
    for (size_t i = 0; ok && i < t->info.ops; i++) {
        const hl_trace_op_t *op = &ops[i];
        unsigned k = hl_op_kind(op);
        if (k > HL_OP_REALLOC || op->slot >= n) { ok = false; break; }
        counts[k]++;
        if (k == HL_OP_MALLOC) { ok = !live[op->slot]; live[op->slot] = 1; }
        else if (k == HL_OP_FREE) { ok = live[op->slot]; live[op->slot] = 0; }
        else ok = live[op->slot];
    }
    size_t nlive = 0;
    for (size_t s = 0; ok && s < n; s++)
        nlive += live[s];
    const uint32_t *fin = hl_trace_final_live(t);
    size_t nfin = t->final_live.len / sizeof(uint32_t);
    for (size_t i = 0; ok && i < nfin; i++)
        ok = fin[i] < n && live[fin[i]];
    ok = ok && nlive == nfin && nfin == t->info.final_live_blocks
         && counts[HL_OP_MALLOC] == t->info.mallocs && counts[HL_OP_FREE] == t->info.frees
         && counts[HL_OP_REALLOC] == t->info.reallocs;
    _hl_unmap(live, n);
    return ok;
}
