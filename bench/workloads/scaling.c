/* scaling.c: the scaling workload family (stub until written). */
#include "hl_suite.h"

void hl_suite_register_scaling(const hl_suite_config_t *cfg)
{
    (void)cfg;
}
