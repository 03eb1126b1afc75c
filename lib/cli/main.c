/* main.c: heaplab-cli, the front end behind the `heaplab` script. */
#include "cli.h"
#include "peers.h"

#include <string.h>

static const hl_cmd_t commands[] = {
    {"list", "print every registered allocator with a one-line description",
     hl_cmd_list, hl_cmd_list_usage},
    {"replay", "replay an mtrace trace into an allocator", hl_cmd_replay, hl_cmd_replay_usage},
    {"record", "record a command's allocations in glibc's mtrace format",
     hl_cmd_record, hl_cmd_record_usage},
    {"script", "run a heap script over a heaplab runtime", hl_cmd_script, hl_cmd_script_usage},
    {"exec", "run a command with one of heaplab's own allocators as its malloc (LD_PRELOAD)",
     hl_cmd_exec, hl_cmd_exec_usage},
    {"map", "snapshots of an allocator's heap over a trace or heap script (JSON, for heaplab map)",
     hl_cmd_map, hl_cmd_map_usage},
    {"footprint", "live bytes and an allocator's footprint over a trace (TSV, for heaplab footprint)",
     hl_cmd_footprint, hl_cmd_footprint_usage},
    {"generations", "the collector's generations over a heap script (JSON, for heaplab generations)",
     hl_cmd_generations, hl_cmd_generations_usage},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: heaplab-cli COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
    /* The jemalloc peer needs a larger static-TLS reserve, which only a
     * fresh exec can give (peers.h); nothing happens if it is there. */
    hl_peers_reexec_for_static_tls(argv);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? HL_EXIT_USAGE : HL_EXIT_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        for (int j = 2; j < argc && strcmp(argv[j], "--") != 0; j++) {
            if (strcmp(argv[j], "--help") == 0 || strcmp(argv[j], "-h") == 0) {
                commands[i].usage(stdout);
                return HL_EXIT_OK;
            }
        }
        return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "heaplab: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return HL_EXIT_USAGE;
}
