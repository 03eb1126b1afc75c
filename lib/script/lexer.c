/* lexer.c: the lexical rules of heap scripts, version 1.
 *
 * A script is bytes, cut into lines at '\n' only.  Within a line:
 *
 *     list  a1   # a comment
 *     ^^^^  ^^   ^------------ '#' starts a comment, to the end of the line
 *     tokens: maximal runs of bytes other than ' ' and '\t'
 *
 * and each operand token must then be of its statement's class:
 *
 *     class       pattern                   length      message when not
 *     NAME        [A-Za-z_][A-Za-z0-9_]*    1..64       bad NAME 'tok'
 *     KEY, TEXT   [A-Za-z0-9_]+             1..64       bad KEY 'tok'
 *     INT         -?[0-9]+, in int64        any         bad INT 'tok'
 *
 * Decisions the spec leaves to the implementation, made as CPython's
 * reading of the same bytes would (lib/script/heapscript_py.py, the
 * oracle, splits exactly so):
 *
 *   - Only ' ' and '\t' separate tokens.  Every other byte -- '\r', '\v',
 *     '\f', NUL, bytes >= 0x80 -- is part of a token, which is then a bad
 *     token (or an unknown statement, if it is the first).  So a script
 *     with CRLF line ends fails on its first statement line: "list a\r\n"
 *     is `bad NAME 'a\\r'`.  A comment-only line ending in '\r' is still
 *     a comment ("# x\r"), and a line holding only "\r" is an unknown
 *     statement.
 *   - The comment is cut before the line is split, so "a#b" is the token
 *     "a" followed by a comment.
 *   - A NAME, KEY or TEXT longer than 64 bytes is reported by its first 20
 *     bytes and "...": `bad NAME 'aaaaaaaaaaaaaaaaaaaa...': longer than 64
 *     characters`.  An INT token is shown by its first 40 bytes.  Leading
 *     zeros are allowed ("007" is 7, "-0" is 0), as int() allows them.
 *
 * Tokens are shown in messages as Python's repr() of the token decoded as
 * ASCII with backslashreplace (the oracle's `_show`): byte 0xff becomes the
 * four characters \xff, whose backslash repr() doubles.
 */
#include "script_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- splitting ---------------------------------------------------------- */

static int toks_push(hl_script_toks_t *toks, const char *p, size_t len)
{
    if (toks->n == toks->cap) {
        size_t cap = toks->cap ? 2 * toks->cap : 16;
        if (cap > SIZE_MAX / sizeof *toks->v)
            return -1;
        hl_script_tok_t *v = realloc(toks->v, cap * sizeof *v);
        if (!v)
            return -1;
        toks->v = v;
        toks->cap = cap;
    }
    toks->v[toks->n].p = p;
    toks->v[toks->n].len = len;
    toks->n++;
    return 0;
}

static inline bool is_sep(char c)
{
    return c == ' ' || c == '\t';
}

int _hl_script_split(const char *line, size_t len, hl_script_toks_t *toks)
{
    const char *hash = memchr(line, '#', len);
    if (hash)
        len = (size_t)(hash - line);
    toks->n = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && is_sep(line[i]))
            i++;
        if (i == len)
            break;
        size_t start = i;
        while (i < len && !is_sep(line[i]))
            i++;
        if (toks_push(toks, line + start, i - start) != 0)
            return -1;
    }
    return 0;
}

void _hl_script_toks_free(hl_script_toks_t *toks)
{
    free(toks->v);
    toks->v = NULL;
    toks->n = toks->cap = 0;
}

/* ---- showing a token ---------------------------------------------------- */

/* Appends c to buf if there is room (keeping the NUL). */
typedef struct sbuf_s {
    char *buf;
    size_t len, cap;
} sbuf_t;

static void sbuf_put(sbuf_t *b, char c)
{
    if (b->len + 1 < b->cap) {
        b->buf[b->len++] = c;
        b->buf[b->len] = '\0';
    }
}

static void sbuf_puts(sbuf_t *b, const char *s)
{
    while (*s)
        sbuf_put(b, *s++);
}

/* repr()'s escaping of one ASCII character (a character of the decoded
 * string, so '\\' may come from backslashreplace). */
static void repr_char(sbuf_t *b, unsigned char c, char quote)
{
    static const char hex[] = "0123456789abcdef";
    if (c == '\\' || c == (unsigned char)quote) {
        sbuf_put(b, '\\');
        sbuf_put(b, (char)c);
    } else if (c == '\t') {
        sbuf_puts(b, "\\t");
    } else if (c == '\n') {
        sbuf_puts(b, "\\n");
    } else if (c == '\r') {
        sbuf_puts(b, "\\r");
    } else if (c < 0x20 || c == 0x7f) {
        sbuf_puts(b, "\\x");
        sbuf_put(b, hex[c >> 4]);
        sbuf_put(b, hex[c & 15]);
    } else {
        sbuf_put(b, (char)c);
    }
}

void _hl_script_show(char *buf, size_t buflen, const char *p, size_t n, bool ellipsis)
{
    static const char hex[] = "0123456789abcdef";
    sbuf_t b = {buf, 0, buflen};
    if (buflen == 0)
        return;
    buf[0] = '\0';

    /* repr() quotes with ' unless the text holds a ' and no ". */
    bool has_single = memchr(p, '\'', n) != NULL;
    bool has_double = memchr(p, '"', n) != NULL;
    char quote = has_single && !has_double ? '"' : '\'';

    sbuf_put(&b, quote);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x80) {
            /* backslashreplace gives the 4 characters \xNN; repr() then
             * escapes the backslash. */
            repr_char(&b, '\\', quote);
            sbuf_put(&b, 'x');
            sbuf_put(&b, hex[c >> 4]);
            sbuf_put(&b, hex[c & 15]);
        } else {
            repr_char(&b, c, quote);
        }
    }
    if (ellipsis)
        sbuf_puts(&b, "...");
    sbuf_put(&b, quote);
}

/* ---- classes ------------------------------------------------------------ */

static inline bool is_alpha_(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static inline bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int too_long(hl_script_tok_t t, const char *what, char *msg)
{
    char shown[HL_SCRIPT_MSG_MAX / 2];
    _hl_script_show(shown, sizeof shown, t.p, 20, true);
    snprintf(msg, HL_SCRIPT_MSG_MAX, "bad %s %s: longer than %d characters", what, shown,
             HL_SCRIPT_TOKEN_MAX);
    return -1;
}

static int bad(hl_script_tok_t t, size_t max, const char *what, const char *why, char *msg)
{
    char shown[HL_SCRIPT_MSG_MAX / 2];
    _hl_script_show(shown, sizeof shown, t.p, t.len < max ? t.len : max, false);
    snprintf(msg, HL_SCRIPT_MSG_MAX, "bad %s %s%s", what, shown, why);
    return -1;
}

int _hl_script_check_name(hl_script_tok_t t, char *msg)
{
    if (t.len > HL_SCRIPT_TOKEN_MAX)
        return too_long(t, "NAME", msg);
    if (!is_alpha_((unsigned char)t.p[0]))
        return bad(t, HL_SCRIPT_TOKEN_MAX, "NAME", "", msg);
    for (size_t i = 1; i < t.len; i++) {
        unsigned char c = (unsigned char)t.p[i];
        if (!is_alpha_(c) && !is_digit(c))
            return bad(t, HL_SCRIPT_TOKEN_MAX, "NAME", "", msg);
    }
    return 0;
}

int _hl_script_check_key(hl_script_tok_t t, const char *what, char *msg)
{
    if (t.len > HL_SCRIPT_TOKEN_MAX)
        return too_long(t, what, msg);
    for (size_t i = 0; i < t.len; i++) {
        unsigned char c = (unsigned char)t.p[i];
        if (!is_alpha_(c) && !is_digit(c))
            return bad(t, HL_SCRIPT_TOKEN_MAX, what, "", msg);
    }
    return 0;
}

int _hl_script_parse_int(hl_script_tok_t t, int64_t *out, char *msg)
{
    enum { SHOWN = 40 };
    size_t i = 0;
    bool neg = false;
    if (t.p[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i == t.len)
        return bad(t, SHOWN, "INT", "", msg);
    /* The magnitude, which may be 2**63 for a negative value. */
    const uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    bool overflow = false;
    for (; i < t.len; i++) {
        unsigned char c = (unsigned char)t.p[i];
        if (!is_digit(c))
            return bad(t, SHOWN, "INT", "", msg);
        unsigned d = c - '0';
        if (!overflow && (v > (limit - d) / 10))
            overflow = true;      /* keep scanning: a later non-digit wins */
        if (!overflow)
            v = v * 10 + d;
    }
    if (overflow)
        return bad(t, SHOWN, "INT", ": outside the signed 64-bit range", msg);
    if (neg)
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    else
        *out = (int64_t)v;
    return 0;
}
