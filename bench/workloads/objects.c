/* objects.c: the objects workload family (stub until written). */
#include "hl_suite.h"

void hl_suite_register_objects(const hl_suite_config_t *cfg)
{
    (void)cfg;
}
