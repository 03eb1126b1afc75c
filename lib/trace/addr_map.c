/* addr_map.c: the parser's address -> slot hash map (see addr_map.h). */
#include "addr_map.h"

#include "hl_debug.h"
#include "trace_internal.h"

#define INITIAL_CAPACITY 4096

static inline size_t home(const hl_addr_map_t *m, uint64_t addr)
{
    /* Fibonacci hashing: malloc addresses differ mostly in bits 4-20. */
    return (size_t)((addr * 0x9E3779B97F4A7C15ull) >> 20) & m->mask;
}

int _hl_addr_map_init(hl_addr_map_t *m)
{
    m->tab = _hl_map(INITIAL_CAPACITY * sizeof *m->tab);
    m->mask = INITIAL_CAPACITY - 1;
    m->count = 0;
    return m->tab ? 0 : -1;
}

void _hl_addr_map_release(hl_addr_map_t *m)
{
    _hl_unmap(m->tab, (m->mask + 1) * sizeof *m->tab);
    m->tab = NULL;
    m->mask = 0;
    m->count = 0;
}

hl_addr_entry_t *_hl_addr_map_find(hl_addr_map_t *m, uint64_t addr)
{
    hl_assert_internal(addr != 0);
    for (size_t i = home(m, addr);; i = (i + 1) & m->mask) {
        hl_addr_entry_t *e = &m->tab[i];
        if (e->addr == addr)
            return e;
        if (e->addr == 0)
            return NULL;
    }
}

static void put(hl_addr_map_t *m, hl_addr_entry_t e)
{
    size_t i = home(m, e.addr);
    while (m->tab[i].addr != 0)
        i = (i + 1) & m->mask;
    m->tab[i] = e;
    m->count++;
}

static int grow(hl_addr_map_t *m)
{
    hl_addr_map_t old = *m;
    size_t cap = (m->mask + 1) * 2;
    m->tab = _hl_map(cap * sizeof *m->tab);
    if (!m->tab) {
        *m = old;
        return -1;
    }
    m->mask = cap - 1;
    m->count = 0;
    for (size_t i = 0; i <= old.mask; i++)
        if (old.tab[i].addr != 0)
            put(m, old.tab[i]);
    _hl_addr_map_release(&old);
    return 0;
}

int _hl_addr_map_insert(hl_addr_map_t *m, uint64_t addr, uint32_t slot, uint32_t line)
{
    hl_assert_internal(addr != 0);
    if ((m->count + 1) * 2 > m->mask + 1 && grow(m) != 0)
        return -1;
    hl_addr_entry_t e = {addr, slot, line};
    put(m, e);
    return 0;
}

void _hl_addr_map_remove(hl_addr_map_t *m, hl_addr_entry_t *e)
{
    size_t hole = (size_t)(e - m->tab);
    hl_assert_internal(hole <= m->mask && e->addr != 0);
    /* Backward shift: pull each later entry of the run into the hole if its
     * home bucket does not lie (cyclically) between the hole and itself. */
    for (size_t j = (hole + 1) & m->mask; m->tab[j].addr != 0; j = (j + 1) & m->mask) {
        size_t h = home(m, m->tab[j].addr);
        bool between = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
        if (!between) {
            m->tab[hole] = m->tab[j];
            hole = j;
        }
    }
    m->tab[hole].addr = 0;
    m->count--;
}

bool _hl_addr_map_is_valid(const hl_addr_map_t *m)
{
    size_t n = 0;
    for (size_t i = 0; i <= m->mask; i++) {
        if (m->tab[i].addr == 0)
            continue;
        n++;
        for (size_t j = home(m, m->tab[i].addr); j != i; j = (j + 1) & m->mask)
            if (m->tab[j].addr == 0)
                return false;
    }
    return n == m->count && m->count * 2 <= m->mask + 1;
}
