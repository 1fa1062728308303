/* Writes as the daemon does them: the hwpass command itself, run as a child
 * in direct mode, one at a time. The CLI's code is the one path that changes
 * the host and the store, whoever asks. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct hp_api;

struct hp_api_exec_result {
        int exit_code; /* the command's exit status; 128+N when killed by signal N */
        char *out;     /* its stdout, NUL-terminated */
        char *err;     /* its stderr, "hwpass: " prefixes kept */
};
void hp_api_exec_result_done(struct hp_api_exec_result *r);

struct hp_api_exec_opts {
        const char *input; /* its stdin, or NULL for none */
        const char *actor; /* recorded with its events */
        const char *cwd;   /* where it runs (the CLI's directory), or NULL */
        bool forwarded;    /* argv came from a CLI through POST /v1/cli: the command
                            * checks it is one a client may forward (HWPASS_FORWARDED) */
};

/* Runs "hwpass ARGV..." with the daemon's database and host root, under the
 * write lock. -errno only when it could not be run at all. */
int hp_api_exec(struct hp_api *a, char *const *argv, const struct hp_api_exec_opts *o,
                struct hp_api_exec_result *ret);
