/* What every hwpass command shares: global options, the host, output helpers. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "api/server.h"
#include "host/view.h"
#include "ops/ops.h"

struct hp_dev_config;
struct hp_host;
struct hp_names;
struct hp_pci_dev;
struct hp_pci_inventory;
struct hp_store;

enum {
        HP_EXIT_OK = 0,
        HP_EXIT_FAIL = 1,  /* the command ran; the answer is "no" (host check) */
        HP_EXIT_USAGE = 2, /* bad input: nothing was done */
        HP_EXIT_ERROR = 3, /* the host could not be read */
};

struct hp_cli {
        const char *host_root;
        const char *db_path;
        bool json;
        struct hp_host *host;
        struct hp_names *names;
        bool no_names; /* scans skip pci.ids: nothing will print a device name */
        const char *socket; /* --socket or HWPASS_SOCKET: hwpassd must answer there */
        const char *default_socket; /* RUN_DIR/hwpass.sock: hwpassd may answer there */
        /* A cluster's controllers (--controller, HWPASS_CONTROLLER): every
         * command that goes to a daemon goes there, over HTTPS with the
         * cluster CA (--ca, HWPASS_CA) and an API token (--token,
         * HWPASS_TOKEN); --host names the host a device command means. */
        const char *controller, *token, *ca, *cluster_host;
        struct hp_ops_ctx ops; /* the operations' context; its error after one failed */
};

/* Each prints "hwpass: <message>" on one line of stderr, control characters
 * and bytes that are not UTF-8 escaped as \xNN (hp_escape()). */
void hp_cli_message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* ... and returns HP_EXIT_USAGE. */
int hp_cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "usage: hwpass GROUP VERB ARGS" from the command table, the one place a
 * command's synopsis is written: HP_EXIT_USAGE. */
int hp_cli_usage(const char *group, const char *verb);
/* "hwpass: <message>: <strerror(-r)>", and returns HP_EXIT_ERROR. */
int hp_cli_error(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Opens the host root and the name database once; returns an exit code. */
int hp_cli_open(struct hp_cli *c);
/* Scans PCI (names included); returns an exit code. */
int hp_cli_scan_pci(struct hp_cli *c, struct hp_pci_inventory **ret);
/* A string member of an answer, NULL when it is missing or not a string. */
static inline const char *hp_cli_str(json_t *o, const char *key)
{
        return json_string_value(json_object_get(o, key));
}
/* Prints and releases j; returns an exit code. */
int hp_cli_print_json(json_t *j);
/* Who this command's events are recorded for: the user, or whom hwpassd runs
 * it for ("root via hwpassd"). */
const char *hp_cli_actor(void);
/* Opens the store for writing (creating it); returns an exit code. */
int hp_cli_open_store(struct hp_cli *c, struct hp_store **ret);
/* A PCI address from the command line, canonical ("01:00.0" -> "0000:01:00.0"). */
int hp_cli_parse_address(const char *arg, char ret[13]);
/* The inventory and the device a command-line address names; exit code. */
int hp_cli_find_device(struct hp_cli *c, const char *arg, struct hp_pci_inventory **ret_inv,
                       const struct hp_pci_dev **ret);


/* The inventory with the stored configurations (read-only); exit code. */
int hp_cli_state_load(struct hp_cli *c, struct hp_view *ret);
static inline void hp_cli_state_done(struct hp_view *s)
{
        hp_view_done(s);
}

/* The operations' context for a command run here (the host opened); exit code. */
int hp_cli_ops(struct hp_cli *c, struct hp_ops_ctx **ret);
/* Prints the failed operation's error (each line after "hwpass: ", with the
 * CLI's hint where it names a device or a VM) and returns its exit code. */
int hp_cli_op_failed(struct hp_cli *c);
/* A daemon's error code as the CLI keeps it (a static string), NULL when it
 * is not one of the stable codes the CLI adds a hint to. */
const char *hp_cli_known_code(const char *code);

/* A write as hwpassd's typed route takes it. */
struct hp_cli_route {
        const char *method;
        char path[256]; /* "/v1/devices/0000:01:00.0/label" */
        json_t *body;   /* or NULL; taken */
};
/* When hwpassd serves this CLI's database and host root, sends the write to
 * its route: *ret_handled is true, and either *ret is the answer (0) or the
 * error is in c->ops.error (-errno); an exit code > 0 when it could not be
 * asked (reported). Otherwise *ret_handled is false: run it here. */
int hp_cli_remote(struct hp_cli *c, struct hp_cli_route *route, bool *ret_handled, json_t **ret);

/* A write: to hwpassd's route when one serves this CLI's state, else op(ctx,
 * arg) here. 0 with *ret; -errno when the operation failed (its error in
 * c->ops.error, not printed yet); > 0, an exit code, when it could not be
 * asked (reported). hp_cli_write also prints a failure: an exit code. */
/* A command only a daemon answers (a controller's hosts, join tokens): to
 * --controller, else to the local hwpassd; body taken. An exit code, the
 * failure printed; 0 with *ret. */
int hp_cli_daemon_call(struct hp_cli *c, const char *method, const char *path, json_t *body, json_t **ret);
typedef int (*hp_cli_op_fn)(struct hp_ops_ctx *ctx, void *arg, json_t **ret);
int hp_cli_call(struct hp_cli *c, struct hp_cli_route *route, hp_cli_op_fn op, void *arg, json_t **ret);
int hp_cli_write(struct hp_cli *c, struct hp_cli_route *route, hp_cli_op_fn op, void *arg, json_t **ret);

/* Rejects any argument left over: returns an exit code. */
int hp_cli_no_args(const char *cmd, int argc, char **argv);
/* "--opt VALUE" or "--opt=VALUE" at argv[*i] (advancing *i past the value);
 * NULL when argv[*i] is not --opt, or with *ret_error set when it lacks a value. */
const char *hp_cli_opt_value(int argc, char **argv, int *i, const char *opt, int *ret_error);

/* Commands: argv[0] is the verb. */
int hp_cmd_device_list(struct hp_cli *c, int argc, char **argv);
int hp_cmd_device_show(struct hp_cli *c, int argc, char **argv);
int hp_cmd_iommu_list(struct hp_cli *c, int argc, char **argv);
int hp_cmd_usb_list(struct hp_cli *c, int argc, char **argv);
int hp_cmd_events(struct hp_cli *c, int argc, char **argv);
int hp_cmd_host_check(struct hp_cli *c, int argc, char **argv);
int hp_cmd_host_apply(struct hp_cli *c, int argc, char **argv);
int hp_cmd_host_boot_config(struct hp_cli *c, int argc, char **argv);
int hp_cmd_host_start_vms(struct hp_cli *c, int argc, char **argv);
int hp_cmd_host_stop_vms(struct hp_cli *c, int argc, char **argv);
int hp_cmd_device_passthrough(struct hp_cli *c, int argc, char **argv);
int hp_cmd_device_label(struct hp_cli *c, int argc, char **argv);
int hp_cmd_device_attr(struct hp_cli *c, int argc, char **argv);
int hp_cmd_device_probe(struct hp_cli *c, int argc, char **argv);
int hp_cmd_device_clear(struct hp_cli *c, int argc, char **argv);
int hp_cmd_device_adopt(struct hp_cli *c, int argc, char **argv);
int hp_cmd_device_forget(struct hp_cli *c, int argc, char **argv);
int hp_cmd_graphics_device_list(struct hp_cli *c, int argc, char **argv);
int hp_cmd_graphics_vm_list(struct hp_cli *c, int argc, char **argv);
int hp_cmd_vm_create(struct hp_cli *c, int argc, char **argv);
int hp_cmd_vm_define(struct hp_cli *c, int argc, char **argv);
int hp_cmd_vm_set(struct hp_cli *c, int argc, char **argv);
int hp_cmd_vm_add_pci(struct hp_cli *c, int argc, char **argv);
int hp_cmd_vm_add_usb(struct hp_cli *c, int argc, char **argv);
int hp_cmd_vm_remove_device(struct hp_cli *c, int argc, char **argv);
int hp_cmd_vm_list(struct hp_cli *c, int argc, char **argv);
int hp_cmd_vm_show(struct hp_cli *c, int argc, char **argv);
int hp_cmd_vm_explain(struct hp_cli *c, int argc, char **argv);
int hp_cmd_vm_delete(struct hp_cli *c, int argc, char **argv);
int hp_cmd_vm_autostart(struct hp_cli *c, int argc, char **argv);
int hp_cmd_vm_start(struct hp_cli *c, int argc, char **argv);
int hp_cmd_vm_stop(struct hp_cli *c, int argc, char **argv);
int hp_cmd_vm_log(struct hp_cli *c, int argc, char **argv);
int hp_cmd_vm_state_op(struct hp_cli *c, int argc, char **argv);
int hp_cmd_vm_import_vmx(struct hp_cli *c, int argc, char **argv);
int hp_cmd_vm_supervise(struct hp_cli *c, int argc, char **argv);
int hp_cmd_token_create(struct hp_cli *c, int argc, char **argv);
int hp_cmd_token_list(struct hp_cli *c, int argc, char **argv);
int hp_cmd_cluster_init(struct hp_cli *c, int argc, char **argv);
int hp_cmd_cluster_cert(struct hp_cli *c, int argc, char **argv);
int hp_cmd_cluster_token(struct hp_cli *c, int argc, char **argv);
int hp_cmd_cluster_policy(struct hp_cli *c, int argc, char **argv);
int hp_cmd_cluster_ha(struct hp_cli *c, int argc, char **argv);
int hp_cmd_host_list(struct hp_cli *c, int argc, char **argv);
int hp_cmd_host_remove(struct hp_cli *c, int argc, char **argv);
int hp_cmd_host_maintenance(struct hp_cli *c, int argc, char **argv);
/* 'device list' asked of a cluster's controller (--controller). */
int hp_cli_cluster_device_list(struct hp_cli *c);
/* 'vm list' (name NULL) and 'vm show NAME' asked of a cluster's controller. */
int hp_cli_cluster_vms(struct hp_cli *c, const char *name);
int hp_cmd_token_revoke(struct hp_cli *c, int argc, char **argv);
