/* peers.h: the allocators people actually run, as heaplab peers.
 *
 * jemalloc, mimalloc and tcmalloc are called through their own prefixed,
 * non-overriding entry points (mallocx, mi_heap_malloc, tc_malloc), from
 * Debian's shared libraries loaded with dlopen(RTLD_NOW | RTLD_LOCAL) the
 * first time an instance is made.  Each of those libraries also defines
 * malloc and free; linked normally, or preloaded, it would replace the C
 * library's malloc for the whole process, and with it the `glibc` peer and
 * AddressSanitizer's interceptors.  RTLD_LOCAL keeps those definitions out of
 * the global symbol scope, so every other module's malloc stays what it was,
 * and all the peers coexist in one process.  See each file's header comment
 * for what an instance of that peer is.
 *
 * Under AddressSanitizer (--config=asan) the process's malloc is ASan's and
 * the peers work unchanged: their blocks come from their own mappings, which
 * ASan neither poisons nor checks (an overflow inside a peer's block goes
 * unseen, as it would in production), and peers.c keeps LeakSanitizer from
 * blaming heaplab for what the libraries allocate for themselves at load.
 *
 * The registry (lib/alloc/registry.c) lists the create functions below.
 */
#ifndef HL_PEERS_H
#define HL_PEERS_H

#ifndef HL_BUILD_CORE
#error "peers.h is internal to heaplab; build with -DHL_BUILD_CORE"
#endif

#include "heaplab/allocator.h"

int hl_jemalloc_create(const hl_alloc_options_t *opt, hl_allocator_t *out,
                       char *err, size_t errlen);   /* jemalloc.c */
int hl_mimalloc_create(const hl_alloc_options_t *opt, hl_allocator_t *out,
                       char *err, size_t errlen);   /* mimalloc.c */
int hl_tcmalloc_create(const hl_alloc_options_t *opt, hl_allocator_t *out,
                       char *err, size_t errlen);   /* tcmalloc.c */

/* Debian's libjemalloc.so.2 keeps 2.6 KiB of thread-local state in the
 * initial-exec TLS model (it is flagged STATIC_TLS).  A library loaded by
 * dlopen() can only take such TLS from the surplus glibc reserves in every
 * thread's static TLS block at start-up, and the default surplus is too
 * small: dlopen() fails with "cannot allocate memory in static TLS block".
 * The surplus is a start-up tunable only, so a process that wants the
 * `jemalloc` peer must be started with it:
 *
 *     GLIBC_TUNABLES=glibc.rtld.optional_static_tls=8192
 *
 * hl_peers_reexec_for_static_tls(argv), called first thing in main(),
 * re-executes the program (/proc/self/exe, same argv, same pid) with that
 * tunable added to the environment, unless GLIBC_TUNABLES already sets
 * optional_static_tls or this process is already the re-executed one.  It
 * returns 0 when nothing had to be done and -1 if execv failed (the
 * `jemalloc` peer then fails to create, with this explanation); on success it
 * does not return.  mimalloc's and tcmalloc's TLS fit in the default
 * surplus. */
#define HL_PEERS_STATIC_TLS_TUNABLE "glibc.rtld.optional_static_tls=8192"
int hl_peers_reexec_for_static_tls(char **argv);

#endif /* HL_PEERS_H */
