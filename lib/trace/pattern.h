/* pattern.h: the bytes the verifying replayer writes into every block.
 *
 * Byte i of a block in slot s, generation g (the g-th allocation of the
 * replay) is byte (i mod 8) of the little-endian word
 *
 *     W(seed, i / 8) = seed ^ ((i / 8 + 1) * 0x9E3779B97F4A7C15),
 *     seed = splitmix64(s << 40 ^ g).
 *
 * so two blocks, or two offsets in one block, almost never hold the same
 * bytes: a block handed out twice, a realloc that copied too little or from
 * the wrong place, or a write through a stale pointer inside the allocator
 * shows up as a wrong byte when the block is next checked.  A realloc keeps
 * its block's seed, so the bytes it must preserve are checked against the
 * same function and only the new tail is written.
 */
#ifndef HL_PATTERN_H
#define HL_PATTERN_H

#ifndef HL_BUILD_CORE
#error "pattern.h is internal to heaplab; build with -DHL_BUILD_CORE"
#endif

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "pattern.h writes words as little-endian bytes"
#endif

static inline uint64_t hl_pattern_seed(uint32_t slot, uint64_t gen)
{
    uint64_t z = ((uint64_t)slot << 40 ^ gen) + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t hl_pattern_word(uint64_t seed, size_t k)
{
    return seed ^ ((uint64_t)(k + 1) * 0x9E3779B97F4A7C15ull);
}

static inline unsigned char hl_pattern_byte(uint64_t seed, size_t i)
{
    return (unsigned char)(hl_pattern_word(seed, i / 8) >> (8 * (i % 8)));
}

/* Write bytes [from, to) of the block p. */
static inline void hl_pattern_fill(unsigned char *p, size_t from, size_t to, uint64_t seed)
{
    size_t i = from;
    for (; i < to && i % 8; i++)
        p[i] = hl_pattern_byte(seed, i);
    for (; i + 8 <= to; i += 8) {
        uint64_t w = hl_pattern_word(seed, i / 8);
        memcpy(p + i, &w, 8);
    }
    for (; i < to; i++)
        p[i] = hl_pattern_byte(seed, i);
}

/* Index of the first byte of [0, n) that is wrong, or n if all are right. */
static inline size_t hl_pattern_check(const unsigned char *p, size_t n, uint64_t seed)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = hl_pattern_word(seed, i / 8), got;
        memcpy(&got, p + i, 8);
        if (got != w)
            break;
    }
    for (; i < n; i++)
        if (p[i] != hl_pattern_byte(seed, i))
            return i;
    return n;
}

#endif /* HL_PATTERN_H */
