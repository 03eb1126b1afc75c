/* peers.c: loading a peer library without letting it take over malloc.
 *
 * Debian's libjemalloc.so.2, libmimalloc.so.2 and libtcmalloc_minimal.so.4
 * each export malloc, free, calloc, realloc and friends.  Whoever resolves
 * `malloc` through the global symbol scope gets the first definition in it:
 * the executable's (AddressSanitizer's, in an ASan build), else libc's.  A
 * library linked into the executable, or preloaded, joins that scope ahead of
 * libc and wins.  One opened with RTLD_LOCAL does not join it: its symbols
 * are found only through its own handle (dlsym) and by its own dependencies'
 * relocations.  So after _hl_peer_open() the process's malloc is unchanged
 * (peers_test checks that with dladdr and malloc_usable_size), and each peer
 * is reached only through the entry points its file looks up with dlsym.
 *
 * The same rule holds for C++: Bazel links libstdc++ into every heaplab
 * binary, so its operator new and delete are in the global scope ahead of the
 * ones libjemalloc and libtcmalloc define, and the little C++ those libraries
 * run for themselves allocates from the process's malloc.  tcmalloc's load
 * does so once and keeps nothing: MallocExtension::Register replaces the
 * default MallocExtension it has just made with `new`, leaking 8 bytes.  That
 * is the library's, not heaplab's, so under LeakSanitizer (--config=asan)
 * dlopen runs with leak checking disabled (__lsan_disable), which makes LSan
 * ignore every allocation made while loading.
 *
 * The handle is never closed: blocks a peer handed out may outlive the
 * instance that made them (the process-wide peers), and the libraries
 * register thread-exit and fork handlers.
 *
 * Also here, one body for the three: stats() from an instance's own counts
 * (hl_peer_counts_t) and one sample of what its library holds.
 */
#include "hl_debug.h"
#include "peers.h"
#include "peers_internal.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#include <sanitizer/lsan_interface.h>
#define HL_LSAN 1
#endif
#endif
#ifndef HL_LSAN
#define HL_LSAN 0
#endif

static pthread_mutex_t peer_lock = PTHREAD_MUTEX_INITIALIZER;

int _hl_peer_open(hl_peer_lib_t *lib, char *err, size_t errlen)
{
    int rc = 0;
    pthread_mutex_lock(&peer_lock);
    if (lib->handle == NULL) {
#if HL_LSAN
        __lsan_disable();
#endif
        lib->handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
#if HL_LSAN
        __lsan_enable();
#endif
        if (lib->handle == NULL) {
            const char *why = dlerror();
            if (why == NULL)
                why = "unknown dlopen error";
            if (strstr(why, "static TLS") != NULL)
                rc = _hl_err(err, errlen,
                             "%s: cannot load %s: %s; its initial-exec TLS needs a larger "
                             "static TLS surplus: start the process with GLIBC_TUNABLES=%s "
                             "(hl_peers_reexec_for_static_tls() in main does this)",
                             lib->peer, lib->soname, why, HL_PEERS_STATIC_TLS_TUNABLE);
            else
                rc = _hl_err(err, errlen, "%s: cannot load %s (Debian package %s): %s",
                             lib->peer, lib->soname, lib->package, why);
        }
    }
    pthread_mutex_unlock(&peer_lock);
    return rc;
}

void *_hl_peer_sym(const hl_peer_lib_t *lib, const char *name, char *err, size_t errlen)
{
    hl_assert(lib->handle != NULL);
    void *p = dlsym(lib->handle, name);
    if (p == NULL)
        _hl_err(err, errlen, "%s: %s has no symbol %s", lib->peer, lib->soname, name);
    return p;
}

void _hl_peer_write_cb(void *file, const char *text)
{
    fputs(text, (FILE *)file);
}

void _hl_peer_stats(hl_peer_counts_t *c, bool held_known, size_t held, hl_stats_t *out)
{
    if (held_known && held > c->held_peak)
        c->held_peak = held;
    out->valid = held_known ? HL_STAT_HELD : 0;
    out->held_bytes = held;
    out->held_peak_bytes = c->held_peak;
#if HL_STATS
    out->valid |= HL_STAT_LIVE_BLOCKS | HL_STAT_LIVE_BYTES;
    out->live_blocks = c->live_blocks;
    out->live_bytes = c->live_bytes;
#else
    out->live_blocks = out->live_bytes = 0;
#endif
}

#define REEXEC_GUARD "HL_PEERS_REEXECED"

int hl_peers_reexec_for_static_tls(char **argv)
{
    const char *cur = getenv("GLIBC_TUNABLES");
    if (cur != NULL && strstr(cur, "glibc.rtld.optional_static_tls=") != NULL)
        return 0;                       /* set already, by us or by the user */
    if (getenv(REEXEC_GUARD) != NULL)
        return 0;                       /* ld.so dropped it (AT_SECURE): give up */
    size_t n = (cur ? strlen(cur) + 1 : 0) + sizeof HL_PEERS_STATIC_TLS_TUNABLE;
    char *v = malloc(n);
    if (v == NULL)
        return -1;
    snprintf(v, n, "%s%s%s", cur ? cur : "", cur ? ":" : "", HL_PEERS_STATIC_TLS_TUNABLE);
    if (setenv("GLIBC_TUNABLES", v, 1) != 0 || setenv(REEXEC_GUARD, "1", 1) != 0) {
        free(v);
        return -1;
    }
    free(v);
    fflush(NULL);
    execv("/proc/self/exe", argv);
    return -1;
}
