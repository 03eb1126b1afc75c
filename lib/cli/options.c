/* options.c: the option syntax every subcommand shares (cli.h). */
#include "cli.h"

#include <string.h>

int hl_cli_option_value(const char *prog, int argc, char **argv, int *i, const char *name,
                        const char **value)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0 || (a[n] != '\0' && a[n] != '='))
        return 0;
    if (a[n] == '=')
        *value = a + n + 1;
    else if (*i + 1 < argc)
        *value = argv[++*i];
    else
        *value = NULL;
    if (*value == NULL || **value == '\0') {
        fprintf(stderr, "%s: option '%s' needs a value\n", prog, name);
        return -1;
    }
    return 1;
}
