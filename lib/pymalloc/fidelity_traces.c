/* fidelity_traces.c: replay real traces into heaplab's pymalloc and CPython's
 * obmalloc at once, comparing their stats (see fidelity.h).
 *
 * The trace's operations are applied through the fidelity pair, so every byte
 * of both allocators' blocks is written and checked as in the random
 * programs; stats are compared every CHECK_EVERY operations and at the end.
 * libpython has one obmalloc per process, whose counters (arenas allocated in
 * total, say) outlive any one trace: each trace runs in its own fork()ed
 * child.
 */
#include "fidelity.h"

#include "heaplab/trace.h"
#include "trace_internal.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK_EVERY 20000

static int replay_one(const char *path, FILE *log)
{
    hl_trace_t *t;
    char err[512];
    if (hl_trace_load(path, &t, err, sizeof err) != 0) {
        fprintf(log, "fidelity: %s\n", err);
        return -1;
    }
    const hl_trace_info_t *info = hl_trace_info(t);
    const hl_trace_op_t *ops = hl_trace_ops(t);
    fidelity_pair_t *fp = fidelity_pair_new(info->slots ? info->slots : 1, log);
    int rc = 0;
    for (size_t i = 0; i < info->ops && rc == 0; i++) {
        const hl_trace_op_t *op = &ops[i];
        switch (hl_op_kind(op)) {
        case HL_OP_MALLOC:
            rc = fidelity_pair_malloc(fp, op->slot, (size_t)op->size);
            break;
        case HL_OP_FREE:
            rc = fidelity_pair_free(fp, op->slot);
            break;
        default:
            rc = fidelity_pair_realloc(fp, op->slot, (size_t)op->size);
            break;
        }
        if (rc == 0 && (i + 1) % CHECK_EVERY == 0)
            rc = fidelity_pair_checkpoint(fp, path);
        if (rc != 0)
            fprintf(log, "fidelity: %s:%u: at this record\n", path, hl_op_line(op));
    }
    if (rc == 0)
        rc = fidelity_pair_checkpoint(fp, path);
    if (fidelity_pair_finish(fp) != 0)
        rc = -1;
    hl_trace_free(t);
    return rc;
}

int fidelity_run_traces(const char *dir, FILE *log)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(log, "fidelity: cannot open %s\n", dir);
        return -1;
    }
    int rc = 0, n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 10 || strcmp(e->d_name + len - 10, ".mtrace.gz") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            rc = -1;
            break;
        }
        if (pid == 0)
            _exit(replay_one(path, log) == 0 ? 0 : 1);
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(log, "fidelity: %s: heaplab and CPython differ\n", path);
            rc = -1;
        }
        else {
            fprintf(log, "fidelity: %s: identical at every checkpoint\n", path);
        }
        n++;
    }
    closedir(d);
    if (n == 0) {
        fprintf(log, "fidelity: no *.mtrace.gz in %s\n", dir);
        return -1;
    }
    return rc;
}
