/* variant_radix.c: pymalloc, CPython 3.10+ 64-bit: 16-byte size classes, 16 KiB pools, 1 MiB arenas, radix-tree address_in_range (the reference).
 *
 * One translation unit per geometry (as mimalloc's static.c builds one
 * object from many files): the core files are included with this variant's
 * constants, so every function is static and specialised, and the geometry
 * costs nothing at run time.
 */
#define HL_PM_IN_VARIANT 1
#define HL_PM_RADIX 1
#define HL_PM_CREATE hl_pymalloc_create
#define HL_PM_CREATE_WITH_SOURCE hl_pymalloc_create_with_source

#include <limits.h>
#include <sys/mman.h>

#include "obmalloc.h"

#include "address_in_range.c"
#include "arena.c"
#include "pool.c"
#include "debugstats.c"
#include "validate.c"
#include "heapmap.c"
#include "api.c"
