/* addr_map.h: recorded address -> slot, for the mtrace parser.
 *
 * Open addressing with linear probing over a power-of-two table on mmap,
 * kept at most half full; deletion shifts the following entries of the probe
 * run back (no tombstones), so a trace that reuses the same addresses
 * millions of times never degrades the table.  Address 0 marks an empty entry:
 * NULL is never live (a failed malloc is not an allocation).
 *
 * Invariant (_hl_addr_map_is_valid): every entry is reachable from its home
 * bucket without crossing an empty entry, and `count` entries are non-empty.
 */
#ifndef HL_ADDR_MAP_H
#define HL_ADDR_MAP_H

#ifndef HL_BUILD_CORE
#error "addr_map.h is internal to heaplab; build with -DHL_BUILD_CORE"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hl_addr_entry_s {
    uint64_t addr;     /* 0: empty */
    uint32_t slot;
    uint32_t line;     /* trace line that made the block live */
} hl_addr_entry_t;

typedef struct hl_addr_map_s {
    hl_addr_entry_t *tab;
    size_t mask;       /* capacity - 1 */
    size_t count;
} hl_addr_map_t;

int _hl_addr_map_init(hl_addr_map_t *m);
void _hl_addr_map_release(hl_addr_map_t *m);
/* The entry for addr, or NULL. */
hl_addr_entry_t *_hl_addr_map_find(hl_addr_map_t *m, uint64_t addr);
/* Insert addr (not present, non-zero); 0 or -1 (out of memory). */
int _hl_addr_map_insert(hl_addr_map_t *m, uint64_t addr, uint32_t slot, uint32_t line);
/* Remove the entry e returned by _hl_addr_map_find. */
void _hl_addr_map_remove(hl_addr_map_t *m, hl_addr_entry_t *e);
bool _hl_addr_map_is_valid(const hl_addr_map_t *m);

#endif /* HL_ADDR_MAP_H */
