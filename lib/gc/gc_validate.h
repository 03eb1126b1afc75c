/* gc_validate.h: the collector's list invariants as bool checks
 * (gc_validate.c), for expensive asserts inside a collection and for
 * hl_gc_check between collections. */
#ifndef HL_GC_VALIDATE_H
#define HL_GC_VALIDATE_H

#include <stdbool.h>

/* The flags every member of a list must carry in a given phase (CPython's
 * enum flagstates): COLLECTING in _gc_prev, UNREACHABLE in _gc_next. */
enum flagstates {
    collecting_clear_unreachable_clear,
    collecting_clear_unreachable_set,
    collecting_set_unreachable_clear,
    collecting_set_unreachable_set
};

/* Is `head` a well-formed list whose members all carry `flags`?  The list
 * is walked through _gc_next (UNREACHABLE masked off) and every member's
 * prev pointer must name its predecessor; the head carries no flags, and
 * its prev names the last member. */
bool gc_list_is_valid(PyGC_Head *head, enum flagstates flags, bool verbose);

#define validate_list(head, flags) hl_assert_expensive(gc_list_is_valid((head), (flags), true))

#endif /* HL_GC_VALIDATE_H */
