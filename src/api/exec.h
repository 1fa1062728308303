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

/* Runs "hwpass ARGV..." with the daemon's database and host root, input on
 * stdin (or /dev/null), actor recorded with its events; under the write
 * lock. forwarded: argv came from a CLI through POST /v1/cli, and the
 * command checks that it is one a client may forward (HWPASS_FORWARDED).
 * -errno only when it could not be run at all. */
int hp_api_exec(struct hp_api *a, char *const *argv, const char *input, const char *actor, bool forwarded,
                struct hp_api_exec_result *ret);
