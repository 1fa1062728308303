/* A minimal QMP client: connect to a VM's control socket, negotiate, run
 * commands, skip asynchronous events. Blocking, with timeouts. */
#pragma once

#include <sys/types.h>

#include <jansson.h>

struct hp_qmp;

/* Connects, reads the greeting and enters command mode; retries until
 * timeout_ms while the socket does not exist yet (QEMU still starting). */
int hp_qmp_connect(const char *path, int timeout_ms, struct hp_qmp **ret);
/* The same for a QEMU this process started: -ECHILD as soon as it has exited
 * (it is not reaped), instead of waiting out the timeout. */
int hp_qmp_connect_child(const char *path, int timeout_ms, pid_t child, struct hp_qmp **ret);
void hp_qmp_close(struct hp_qmp *q);
static inline void hp_qmp_closep(struct hp_qmp **q)
{
        hp_qmp_close(*q);
}
/* Runs command (args may be NULL); *ret (may be NULL) gets the "return" value.
 * An "error" reply is -EREMOTEIO with *ret_error (may be NULL) its description. */
int hp_qmp_execute(struct hp_qmp *q, const char *command, json_t *args, int timeout_ms, json_t **ret,
                   char **ret_error);
