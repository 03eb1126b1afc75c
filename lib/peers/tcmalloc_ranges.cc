// tcmalloc_ranges.cc: MallocExtension::Ranges for the C side
// (tcmalloc_ranges.h).  The header of libgoogle-perftools-dev declares the
// class; the object comes from the library's MallocExtension::instance(),
// and its Ranges is reached through its vtable, so nothing here is linked
// against the library.  tcmalloc's page heap hands the ranges over in small
// batches, calling back outside its lock.
#include "tcmalloc_ranges.h"

#include <gperftools/malloc_extension.h>

static_assert(base::MallocRange::INUSE == static_cast<int>(HL_TC_RANGE_INUSE), "INUSE");
static_assert(base::MallocRange::FREE == static_cast<int>(HL_TC_RANGE_FREE), "FREE");
static_assert(base::MallocRange::UNMAPPED == static_cast<int>(HL_TC_RANGE_UNMAPPED), "UNMAPPED");
static_assert(base::MallocRange::UNKNOWN == static_cast<int>(HL_TC_RANGE_UNKNOWN), "UNKNOWN");

namespace {

struct Forward {
    hl_tc_range_fn fn;
    void *user;
};

// See _hl_tc_ranges: fn is C.
__attribute__((no_sanitize("function")))
void forward_range(void *arg, const base::MallocRange *r)
{
    const Forward *f = static_cast<const Forward *>(arg);
    hl_tc_range_type_t type;
    switch (r->type) {
    case base::MallocRange::INUSE: type = HL_TC_RANGE_INUSE; break;
    case base::MallocRange::FREE: type = HL_TC_RANGE_FREE; break;
    case base::MallocRange::UNMAPPED: type = HL_TC_RANGE_UNMAPPED; break;
    default: type = HL_TC_RANGE_UNKNOWN; break;
    }
    f->fn(f->user, r->address, r->length, type);
}

}  // namespace

// UBSan's vptr check would want the dynamic type's RTTI, which is the
// library's, and its function check the signature of a callee it did not
// compile (the library's instance(), the C side's fn): neither applies to
// calls into a library loaded by hand, and their C++-only handlers are not
// in the C link's UBSan runtime.
extern "C" __attribute__((no_sanitize("vptr", "function")))
int _hl_tc_ranges(void *(*instance)(void), hl_tc_range_fn fn, void *user)
{
    MallocExtension *ext = static_cast<MallocExtension *>(instance());
    if (ext == nullptr)
        return -1;
    Forward f = {fn, user};
    ext->Ranges(&f, forward_range);
    return 0;
}
