/* tcmalloc_ranges.h: gperftools' MallocExtension::Ranges for tcmalloc.c.
 *
 * Ranges is a virtual member of the C++ class MallocExtension, with no C
 * wrapper in malloc_extension_c.h, so tcmalloc_ranges.cc calls it for the
 * C side.  Nothing is linked against the library: tcmalloc.c looks up
 * MallocExtension::instance() in the dlopen()ed library (its mangled name
 * below) and passes it in; the call to Ranges goes through the instance's
 * vtable, which the library filled in.
 */
#ifndef HL_TCMALLOC_RANGES_H
#define HL_TCMALLOC_RANGES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* MallocExtension* MallocExtension::instance(), Itanium C++ ABI. */
#define HL_TC_INSTANCE_SYMBOL "_ZN15MallocExtension8instanceEv"

/* base::MallocRange::Type, value for value (tcmalloc_ranges.cc checks). */
typedef enum hl_tc_range_type_e {
    HL_TC_RANGE_INUSE = 0,
    HL_TC_RANGE_FREE,
    HL_TC_RANGE_UNMAPPED,
    HL_TC_RANGE_UNKNOWN,
} hl_tc_range_type_t;

typedef void (*hl_tc_range_fn)(void *user, uintptr_t addr, size_t length,
                               hl_tc_range_type_t type);

/* instance()->Ranges(...), each range passed on to fn.  A type this header
 * does not know (gperftools may add some) arrives as HL_TC_RANGE_UNKNOWN.
 * Returns 0, or -1 if instance() gives no MallocExtension. */
int _hl_tc_ranges(void *(*instance)(void), hl_tc_range_fn fn, void *user);

#ifdef __cplusplus
}
#endif
#endif /* HL_TCMALLOC_RANGES_H */
