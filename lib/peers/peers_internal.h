/* peers_internal.h: what jemalloc.c, mimalloc.c and tcmalloc.c share
 * (peers.c): loading a library without letting it override malloc, the
 * request rules all three apply before calling into their library, and the
 * instance's own counts behind stats() and check(). */
#ifndef HL_PEERS_INTERNAL_H
#define HL_PEERS_INTERNAL_H

#ifndef HL_BUILD_CORE
#error "peers_internal.h is internal to heaplab; build with -DHL_BUILD_CORE"
#endif

#include "heaplab/allocator.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The alignment every heaplab allocator gives, as glibc on x86-64. */
#define HL_PEER_ALIGNMENT 16

/* A peer library: its SONAME (from the Debian package that ships it) and,
 * once loaded, its dlopen() handle, kept for the rest of the process. */
typedef struct hl_peer_lib_s {
    const char *peer;      /* registry name, for messages */
    const char *soname;    /* e.g. "libjemalloc.so.2" */
    const char *package;   /* Debian package, for the message when missing */
    void *handle;          /* NULL until loaded */
} hl_peer_lib_t;

/* dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL) unless already open.  Returns 0,
 * or -1 with a message in err naming the library, the package and dlerror()
 * (plus the static-TLS remedy when that is the cause).  Serialised by one
 * process-wide lock: a library is loaded at most once. */
int _hl_peer_open(hl_peer_lib_t *lib, char *err, size_t errlen);

/* dlsym from an open library; NULL with a message if it is absent. */
void *_hl_peer_sym(const hl_peer_lib_t *lib, const char *name, char *err, size_t errlen);

/* Requests above PTRDIFF_MAX fail with NULL (errno ENOMEM) before reaching
 * the library, as CPython's PyMem_* refuse sizes above PY_SSIZE_T_MAX: no
 * object can be that large, and rounding such a size up would overflow. */
static inline bool _hl_peer_too_big(size_t n) { return n > (size_t)PTRDIFF_MAX; }

/* nelem * elsize, or false on overflow (calloc's check). */
static inline bool _hl_peer_mul(size_t nelem, size_t elsize, size_t *out)
{
    return !__builtin_mul_overflow(nelem, elsize, out);
}

/* fputs for the libraries' stats printers, which call back with text. */
void _hl_peer_write_cb(void *file, const char *text);

/* What an instance counts itself.  The libraries tell what they hold now
 * (per process for mimalloc and tcmalloc, per arena for jemalloc) but not
 * its peak, and no instance's live blocks; so the instance keeps the largest
 * held_bytes a stats() call has seen and, in HL_STATS builds, its live
 * blocks and their usable bytes (the library's usable size of each block,
 * added on allocation, taken off on free). */
typedef struct hl_peer_counts_s {
    size_t held_peak;
    size_t live_blocks;   /* HL_STATS only */
    size_t live_bytes;
} hl_peer_counts_t;

/* stats(), from one sample of what the library holds: held, valid iff
 * held_known (HL_STAT_HELD; held_peak follows valid samples only), then, in
 * HL_STATS builds, the live counts (HL_STAT_LIVE_BLOCKS/BYTES; else 0). */
void _hl_peer_stats(hl_peer_counts_t *c, bool held_known, size_t held, hl_stats_t *out);

#endif /* HL_PEERS_INTERNAL_H */
