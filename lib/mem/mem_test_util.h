/* mem_test_util.h: assertions shared by lib/mem's tests (cmocka). */
#ifndef HL_MEM_TEST_UTIL_H
#define HL_MEM_TEST_UTIL_H

#include <stddef.h>

#include "death.h"

/* The big-endian size_t at the start of a debug-hooks block header. */
size_t hl_test_be_size(const unsigned char *b);
/* Every one of p[0..n) is v. */
void hl_test_assert_all(const unsigned char *p, size_t n, unsigned char v);
/* p is a debug-hooks block of n bytes made through API `api`: size prefix,
 * API id, 0xFD pads before and after. */
void hl_test_assert_decorated(const unsigned char *p, size_t n, char api);
/* needle occurs in the child's stderr hay. */
void hl_test_assert_contains(const char *hay, const char *needle);
/* The child died by SIGABRT. */
void hl_test_assert_aborted(const hl_death_t *d);
/* The block address the child named with hl_death_say_p. */
void *hl_test_parse_p(const hl_death_t *d);

#endif
