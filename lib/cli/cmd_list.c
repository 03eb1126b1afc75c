/* cmd_list.c: `heaplab list` prints every registered allocator. */
#include "cli.h"
#include "heaplab/allocator.h"

void hl_cmd_list_usage(FILE *out)
{
    fprintf(out, "usage: heaplab list\n\nPrints every registered allocator, one per line: NAME  DESCRIPTION.\n");
}

int hl_cmd_list(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "heaplab list: takes no arguments\n");
        return HL_EXIT_USAGE;
    }
    for (size_t i = 0; i < hl_registry_count(); i++) {
        const hl_registry_entry_t *e = hl_registry_at(i);
        printf("%-18s %s\n", e->name, e->description);
    }
    return HL_EXIT_OK;
}
