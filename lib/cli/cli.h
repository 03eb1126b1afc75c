/* cli.h: the subcommands of the heaplab-cli binary, one file each.  The
 * `heaplab` script at the repository root builds it and forwards to it. */
#ifndef HL_CLI_H
#define HL_CLI_H

#include <stdio.h>

typedef struct hl_cmd_s {
    const char *name;
    const char *summary;                 /* one line for --help */
    int (*run)(int argc, char **argv);   /* argv[0] is the subcommand name */
    void (*usage)(FILE *out);
} hl_cmd_t;

/* `--NAME VALUE` or `--NAME=VALUE` at argv[*i]: returns 1 with *value set
 * (and *i past the value), 0 if argv[*i] is not --NAME, or -1 after
 * printing "PROG: option '--NAME' needs a value" if the value is missing or
 * empty (options.c). */
int hl_cli_option_value(const char *prog, int argc, char **argv, int *i, const char *name,
                        const char **value);

/* All of `in` into a malloc'ed buffer (*text, *len bytes, not
 * NUL-terminated): 0, or -1 with errno set (read_all.c). */
int hl_cli_read_all(FILE *in, char **text, size_t *len);

/* Exit statuses shared by all subcommands. */
#define HL_EXIT_OK    0
#define HL_EXIT_FAIL  1   /* the check or run failed */
#define HL_EXIT_USAGE 2   /* bad option, bad input (a malformed trace, say) */

int hl_cmd_list(int argc, char **argv);       /* cmd_list.c */
void hl_cmd_list_usage(FILE *out);
int hl_cmd_replay(int argc, char **argv);     /* cmd_replay.c */
void hl_cmd_replay_usage(FILE *out);
int hl_cmd_record(int argc, char **argv);     /* cmd_record.c */
void hl_cmd_record_usage(FILE *out);
int hl_cmd_script(int argc, char **argv);     /* cmd_script.c */
void hl_cmd_script_usage(FILE *out);
int hl_cmd_exec(int argc, char **argv);       /* cmd_exec.c */
void hl_cmd_exec_usage(FILE *out);
int hl_cmd_map(int argc, char **argv);        /* cmd_map.c */
void hl_cmd_map_usage(FILE *out);
int hl_cmd_footprint(int argc, char **argv);  /* cmd_footprint.c */
void hl_cmd_footprint_usage(FILE *out);
int hl_cmd_generations(int argc, char **argv); /* cmd_generations.c */
void hl_cmd_generations_usage(FILE *out);

#endif
