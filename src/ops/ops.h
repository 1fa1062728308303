/* The operations: everything that changes the host or the store, as
 * functions that the CLI (with no daemon), hwpassd's routes and a cluster
 * agent all call in-process. An operation takes a context and returns 0 with
 * a structured result, or a negative errno with a typed error in
 * ctx->error: a kind (one exit code, one HTTP status), a message that says
 * what to do, and optional detail. Operations never print.
 *
 * Locks (lock.h) fit the work: a passthrough change holds the IOMMU groups it
 * touches, a VM operation holds the VM, from the plan to the apply, across
 * processes. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

struct hp_host;
struct hp_names;
struct hp_store;

/* What went wrong, as the front ends tell it. */
enum hp_op_kind {
        HP_OP_OK,
        HP_OP_INVALID,   /* bad input: nothing was done (exit 2, HTTP 400) */
        HP_OP_NOT_FOUND, /* no such device or VM (exit 2, HTTP 404) */
        HP_OP_CONFLICT,  /* the state forbids it now: exists, running, busy (exit 2, HTTP 409 "refused") */
        HP_OP_REFUSED,   /* the answer is no: a refused plan (exit 1, HTTP 409 "refused") */
        HP_OP_FAILED,    /* tried and failed, put back as it was (exit 1, HTTP 409 "failed") */
        HP_OP_HOST,      /* the host or the store could not be read or written (exit 3, HTTP 500) */
        HP_OP_VERSION,   /* the other end speaks a protocol this one does not: upgrade one (exit 2, HTTP 426) */
        HP_OP_AUTH,      /* who asks may not: a bad or used join token (exit 2, HTTP 403) */
        HP_OP_BUSY,      /* the store stayed busy with other writers: nothing was done, try again (exit 3, HTTP 503) */
};

struct hp_op_error {
        enum hp_op_kind kind;
        /* A stable name for front ends that add their own hint ("no-device",
         * "no-vm"), or NULL. */
        const char *code;
        /* What happened and what to do; several lines when more than one
         * thing was refused (the CLI prints each, the API joins them). */
        char *message;
        json_t *detail; /* e.g. the refused plan, or NULL */
};

struct hp_ops_ctx {
        struct hp_host *host;
        struct hp_names *names; /* NULL: results carry no device names */
        const char *host_root;
        const char *db;        /* the store: a path or a URL */
        const char *run_dir;   /* /run/hwpass: sockets, VM run directories, locks */
        const char *state_dir; /* /var/lib/hwpass: EFI variable stores */
        const char *actor;     /* who the events are recorded for */
        /* The hosts a power-on may be placed on, as a token's limit lists
         * them (util/token.h); NULL: any. */
        const char *hosts_allowed;
        /* Where VMs' files may lie (storage.h): NULL for the environment's
         * (HWPASS_STORAGE_DIRS, HWPASS_BLOCK_DEVICES) or the default. */
        char *const *storage_dirs;
        char *const *block_devices;
        /* The caller runs no other thread (the CLI; not hwpassd): a VM's
         * supervisor may then be forked from it instead of exec'd. */
        bool single_threaded;
        struct hp_op_error error; /* set by a failed operation */
};

#define HP_DEFAULT_RUN_DIR "/run/hwpass"
#define HP_DEFAULT_STATE_DIR "/var/lib/hwpass"

/* The run and state directories from the environment (HWPASS_RUN_DIR,
 * HWPASS_STATE_DIR) or their defaults; a value already set is kept. */
void hp_ops_ctx_default_paths(struct hp_ops_ctx *c);

/* Records the error in c->error and returns r (negative): "return
 * hp_op_fail(c, HP_OP_INVALID, -EINVAL, "...", ...);". Any earlier error is
 * replaced. */
int hp_op_fail(struct hp_ops_ctx *c, enum hp_op_kind kind, int r, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* The same with a code (see above) or a detail document (taken). */
int hp_op_fail_code(struct hp_ops_ctx *c, enum hp_op_kind kind, const char *code, int r, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
void hp_op_set_detail(struct hp_ops_ctx *c, json_t *detail);
/* Out of memory, or a host error with strerror: "cannot ...: reason". */
int hp_op_oom(struct hp_ops_ctx *c);
int hp_op_host_error(struct hp_ops_ctx *c, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same for a store transaction that failed: -EBUSY (the transaction
 * lost to other writers every time it was tried) is HP_OP_BUSY, saying to
 * try again; anything else as hp_op_host_error(). */
int hp_op_store_error(struct hp_ops_ctx *c, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void hp_op_error_done(struct hp_op_error *e);

int hp_op_exit_code(enum hp_op_kind kind);
unsigned hp_op_http_status(enum hp_op_kind kind);
/* The API's error code: the error's own, or one for its kind. */
const char *hp_op_api_code(const struct hp_op_error *e);
/* A kind from an API error's status, code and whether it has a detail (the
 * CLI reading a daemon's answer). */
enum hp_op_kind hp_op_kind_from_api(unsigned status, const char *code, bool has_detail);

/* The store for writing, with the context's actor; an error in c. */
int hp_ops_store_open(struct hp_ops_ctx *c, struct hp_store **ret);
/* Read-only: *ret is NULL (and 0 returned) when there is no stored state. */
int hp_ops_store_open_readonly(struct hp_ops_ctx *c, struct hp_store **ret);
