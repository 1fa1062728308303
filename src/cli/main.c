/* hwpass: the command line. Global options, then "GROUP VERB [ARGS]",
 * dispatched through one table. */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "host/names.h"
#include "host/pci.h"
#include "host/state.h"
#include "store/store.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm-doc.h" /* hp_vm_doc, from vm-doc.txt */

static int cmd_help_vm(struct hp_cli *c, int argc, char **argv);

/* A table, one command a line. */
/* clang-format off */
static const struct command {
        const char *group, *verb, *args, *help;
        int (*run)(struct hp_cli *c, int argc, char **argv);
} commands[] = {
        { "host", "check", "", "can this host pass devices through, and if not, why", hp_cmd_host_check },
        { "host", "list", "", "a cluster's hosts: state, last heartbeat, memory, free devices per pool", hp_cmd_host_list },
        { "host", "remove", "NAME", "a host leaves the cluster: its credential revoked, its devices dropped", hp_cmd_host_remove },
        { "host", "maintenance", "enter|exit NAME [--wait]", "no new VMs on a cluster's host; its dynamic VMs move to others", hp_cmd_host_maintenance },
        { "host", "apply", "[--dry-run]", "apply the stored passthrough state again (at boot)", hp_cmd_host_apply },
        { "host", "boot-config", "[--dry-run]", "modprobe lines that give vfio-pci the devices at boot", hp_cmd_host_boot_config },
        { "host", "start-vms", "", "start the autostart VMs in order, with their delays (at boot)", hp_cmd_host_start_vms },
        { "host", "stop-vms", "[--timeout SECONDS]", "stop the autostart VMs in reverse order, then any other (at shutdown)", hp_cmd_host_stop_vms },
        { "device", "passthrough", "enable|disable SBDF... [--dry-run] [--force]", "hand devices to vfio-pci, or give them back", hp_cmd_device_passthrough },
        { "device", "label", "SBDF TEXT | SBDF --unset", "the device's custom label", hp_cmd_device_label },
        { "device", "attr", "SBDF KEY=VALUE... | SBDF --unset KEY", "free key=value attributes", hp_cmd_device_attr },
        { "device", "probe", "SBDF [--timeout SECONDS]", "boot the probe guest with the device: does its passthrough work here", hp_cmd_device_probe },
        { "device", "clear", "SBDF [--force]", "return a quarantined device to service once a reset works", hp_cmd_device_clear },
        { "device", "adopt", "SBDF --from OLD-SBDF", "give a device the stored entry of the one it replaced at another address", hp_cmd_device_adopt },
        { "device", "forget", "SBDF", "drop the stored entry of a device that is gone", hp_cmd_device_forget },
        { "graphics", "device", "list", "display devices: host or passthrough, and their VM", hp_cmd_graphics_device_list },
        { "graphics", "vm", "list", "VMs with display devices, and the device each holds", hp_cmd_graphics_vm_list },
        { "vm", "create", "NAME --memory SIZE --vcpus N [--firmware auto|bios|efi] [--disk PATH]... [--kernel FILE [--append ARGS]] [--hugepages] [--device-limit N] [--placement performance|consolidation] [--restart-priority P] [--isolation power-off|shutdown|leave-running]", "define a VM", hp_cmd_vm_create },
        { "vm", "define", "FILE.json|-", "define a VM from its JSON document (as 'vm list --json' gives it)", hp_cmd_vm_define },
        { "vm", "set", "NAME [--memory SIZE] [--vcpus N] [--hugepages on|off] [--device-limit N] [--firmware auto|bios|efi] [--placement performance|consolidation|cluster]", "change a VM that is off", hp_cmd_vm_set },
        { "vm", "add-pci", "NAME --address SBDF | --allowed VID:DID[,...] [--count N] [--label TEXT] [--attr KEY=VALUE]... [--same-numa GROUP] [--same-switch GROUP] [--all-functions] [--primary-display] [--rombar on|off] [--romfile PATH]", "a PCI device by address, or free matching ones (allowed IDs in order of preference)", hp_cmd_vm_add_pci },
        { "vm", "add-usb", "NAME --id VID:PID[:SERIAL] | --port BUS-PORT", "a USB device", hp_cmd_vm_add_usb },
        { "vm", "remove-device", "NAME pciN|usbN", "take a device out of a VM that is off", hp_cmd_vm_remove_device },
        { "vm", "list", "", "the VMs", hp_cmd_vm_list },
        { "vm", "show", "NAME [--qemu-argv]", "one VM: devices now, MMIO window, QEMU command line", hp_cmd_vm_show },
        { "vm", "explain", "NAME", "where power-on could place it: host by host why or why not, with the numbers, and the winner", hp_cmd_vm_explain },
        { "vm", "delete", "NAME", "delete a VM that is off", hp_cmd_vm_delete },
        { "vm", "start", "NAME", "power on: devices chosen, memory reserved, QEMU supervised", hp_cmd_vm_start },
        { "vm", "stop", "NAME [--force] [--timeout SECONDS] [--wait]", "ACPI power-off, forced after a timeout; devices reset and freed", hp_cmd_vm_stop },
        { "vm", "log", "NAME", "the VM's serial console", hp_cmd_vm_log },
        { "vm", "supervise", "RUN_DIR", "internal: the supervisor 'vm start' runs for a VM's QEMU", hp_cmd_vm_supervise },
        { "vm", "suspend", "NAME", "refused for VMs with passthrough devices", hp_cmd_vm_state_op },
        { "vm", "snapshot", "NAME", "refused for VMs with passthrough devices", hp_cmd_vm_state_op },
        { "vm", "migrate", "NAME", "refused for VMs with passthrough devices", hp_cmd_vm_state_op },
        { "vm", "import-vmx", "FILE.vmx [--name NAME] [--disk PATH]... [--dry-run]", "a VMware VM and its passthrough entries, with a warning for what is not carried over", hp_cmd_vm_import_vmx },
        { "vm", "autostart", "NAME --order N [--delay SECONDS] | NAME --off", "start with the host, in order", hp_cmd_vm_autostart },
        { "token", "create", "NAME [--role admin|operator|viewer] [--hosts HOST,...] [--vms VM,...]", "a bearer token for the API over TCP, printed this once; limited to those hosts and VMs when given", hp_cmd_token_create },
        { "token", "list", "", "the API's tokens: name, role, when created, when last used", hp_cmd_token_list },
        { "token", "revoke", "NAME", "the token no longer authenticates", hp_cmd_token_revoke },
        { "cluster", "init", "DIR CONTROLLER [--address HOST]... [--days N]", "the cluster's CA and the first controller's certificate, in DIR", hp_cmd_cluster_init },
        { "cluster", "token", "create [--ttl DURATION]", "a join token for one host, printed this once", hp_cmd_cluster_token },
        { "cluster", "policy", "[performance|consolidation]", "where the cluster places VMs that name no policy: spread or packed (no argument: which)", hp_cmd_cluster_policy },
        { "cluster", "ha", "status | tolerate N [--warn]", "HA admission control: each host failure and where its VMs would restart; keep room for N failures", hp_cmd_cluster_ha },
        { "cluster", "cert", "DIR CONTROLLER [--address HOST]... [--days N] [--renew]", "another controller's certificate from the CA in DIR (--renew: a new key)", hp_cmd_cluster_cert },
        { "events", NULL, "[--since ID] [--limit N] [--follow]", "the event log: who did what, state changes, failures (a cluster's: with each event's host)", hp_cmd_events },
        { "device", "list", "[--class gpu|net|storage|usb|audio] [--host NAME]", "every PCI function with its passthrough verdict", hp_cmd_device_list },
        { "device", "show", "SBDF", "one PCI function in full", hp_cmd_device_show },
        { "iommu", "list", "", "IOMMU groups and their devices", hp_cmd_iommu_list },
        { "usb", "list", "", "the USB tree under each USB controller", hp_cmd_usb_list },
        { "help", "vm", "", "the VM definition: its JSON keys and device requests (man hwpass-vm)", cmd_help_vm },
};
/* clang-format on */

/* The same text as hwpass-vm(5), which is made from what this prints. */
static int cmd_help_vm(struct hp_cli *c, int argc, char **argv)
{
        (void)c;
        if (argc != 1)
                return hp_cli_usage("help", argv[0]);
        fputs(hp_vm_doc, stdout);
        return HP_EXIT_OK;
}

/* Width of the synopsis column in --help. */
#define USAGE_COLUMN 44

static void usage(FILE *f)
{
        fprintf(f, "Usage: hwpass [--host-root DIR] [--json] GROUP VERB [ARGS]\n\n"
                   "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                const struct command *c = &commands[i];
                char line[256];
                int n = snprintf(line, sizeof(line), "%s%s%s%s%s", c->group, c->verb ? " " : "",
                                 c->verb ? c->verb : "", *c->args ? " " : "", c->args);

                /* The help in one column; after a long synopsis, on the next line. */
                if (n <= USAGE_COLUMN)
                        fprintf(f, "  %-*s  %s\n", USAGE_COLUMN, line, c->help);
                else
                        fprintf(f, "  %s\n  %-*s  %s\n", line, USAGE_COLUMN, "", c->help);
        }
        /* Aligned as it prints. */
        /* clang-format off */
        fprintf(f, "\nOptions (anywhere on the line):\n"
                   "  --host-root DIR  read the machine from DIR (sys/, proc/, dev/) instead of /\n"
                   "                   (environment: HWPASS_HOST_ROOT)\n"
                   "  --db PATH        the state database (default STATE_DIR/hwpass.db;\n"
                   "                   environment: HWPASS_DB)\n"
                   "  --socket PATH    the hwpassd to send changes to (default RUN_DIR/hwpass.sock;\n"
                   "                   environment: HWPASS_SOCKET). While hwpassd runs, commands that\n"
                   "                   change something go to its API; without it they run here, under\n"
                   "                   the same locks\n"
                   "  --run-dir DIR    sockets, VM run directories, locks (default " HP_DEFAULT_RUN_DIR ";\n"
                   "                   environment: HWPASS_RUN_DIR)\n"
                   "  --state-dir DIR  EFI variable stores and the database's default place (default\n"
                   "                   " HP_DEFAULT_STATE_DIR "; environment: HWPASS_STATE_DIR)\n"
                   "  --controller URL[,URL...]  a cluster's controllers: commands go to the first that\n"
                   "                   answers (environment: HWPASS_CONTROLLER), with\n"
                   "  --token TOKEN    an API token (environment: HWPASS_TOKEN) and\n"
                   "  --ca FILE        the cluster CA's certificate (environment: HWPASS_CA)\n"
                   "  --host NAME      with --controller: the host a device command or events means\n"
                   "  --json           machine-readable output\n"
                   "  -h, --help       this text\n");
        fputs("  --version        hwpass's version (alone on the line)\n", f);
        /* clang-format on */
}

int hp_cli_usage(const char *group, const char *verb)
{
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(commands[i].group, group) && commands[i].verb && streq(commands[i].verb, verb))
                        return hp_cli_usage_error("usage: hwpass %s %s%s%s", group, verb,
                                                  *commands[i].args ? " " : "", commands[i].args);
        return hp_cli_usage_error("usage: hwpass %s %s (see 'hwpass --help')", group, verb);
}

/* "hwpass: " and the message on one line, with what the user typed (or a
 * stored value) escaped: a control character in it must not drive the
 * terminal, nor split the message. */
static void vmessage(const char *fmt, va_list ap, const char *tail)
{
        _cleanup_free_ char *text = NULL, *shown = NULL;

        if (vasprintf(&text, fmt, ap) < 0)
                text = NULL;
        shown = text ? hp_escape(text) : NULL;
        fprintf(stderr, "hwpass: %s%s\n", shown ? shown : "out of memory", tail);
}

void hp_cli_message(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vmessage(fmt, ap, "");
        va_end(ap);
}

int hp_cli_usage_error(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vmessage(fmt, ap, "");
        va_end(ap);
        return HP_EXIT_USAGE;
}

int hp_cli_error(int r, const char *fmt, ...)
{
        char tail[256];
        va_list ap;

        snprintf(tail, sizeof(tail), ": %s", hp_host_strerror(r));
        va_start(ap, fmt);
        vmessage(fmt, ap, tail);
        va_end(ap);
        return HP_EXIT_ERROR;
}

int hp_cli_open(struct hp_cli *c)
{
        int r;

        if (c->host)
                return HP_EXIT_OK;
        r = hp_host_open(c->host_root, &c->host);
        if (r == -ENOENT)
                return hp_cli_usage_error("host root '%s' does not exist", c->host_root);
        if (r == -ENOTDIR)
                return hp_cli_usage_error("host root '%s' is not a directory", c->host_root);
        if (r == -EMEDIUMTYPE)
                return hp_cli_usage_error("host root '%s' is not a host tree: it needs sys/bus/ and "
                                          "proc/ laid out as on a running machine",
                                          c->host_root);
        if (r < 0)
                return hp_cli_error(r, "cannot open host root '%s'", c->host_root);
        r = hp_names_new(NULL, &c->names);
        if (r < 0)
                return hp_cli_error(r, "cannot set up the PCI name database");
        return HP_EXIT_OK;
}

int hp_cli_scan_pci(struct hp_cli *c, struct hp_pci_inventory **ret)
{
        int r = hp_cli_open(c);

        if (r != HP_EXIT_OK)
                return r;
        r = hp_pci_scan(c->host, c->no_names ? NULL : c->names, ret);
        if (r < 0)
                return hp_cli_error(r, "cannot read the PCI devices under '%s'", c->host_root);
        return HP_EXIT_OK;
}

int hp_cli_print_json(json_t *j)
{
        _cleanup_free_ char *s = NULL;

        if (!j)
                return hp_cli_error(-ENOMEM, "cannot build the JSON output");
        /* One string, one write: json_dumpf() writes token by token. */
        s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(j);
        if (!s)
                return hp_cli_error(-ENOMEM, "cannot build the JSON output");
        if (fputs(s, stdout) < 0 || fputc('\n', stdout) < 0)
                return hp_cli_error(-EIO, "cannot write the output");
        return HP_EXIT_OK;
}

int hp_cli_parse_address(const char *arg, char ret[HP_SBDF_LEN])
{
        struct hp_pci_addr a;

        if (hp_pci_addr_parse(arg, &a) < 0)
                return hp_cli_usage_error("invalid PCI address '%s': expected DDDD:BB:DD.F in hex, "
                                          "e.g. 0000:01:00.0",
                                          arg);
        hp_pci_addr_format(&a, ret);
        return HP_EXIT_OK;
}

int hp_cli_find_device(struct hp_cli *c, const char *arg, struct hp_pci_inventory **ret_inv,
                       const struct hp_pci_dev **ret)
{
        char canonical[HP_SBDF_LEN];
        int r = hp_cli_parse_address(arg, canonical);

        if (r == HP_EXIT_OK)
                r = hp_cli_scan_pci(c, ret_inv);
        if (r != HP_EXIT_OK)
                return r;
        *ret = hp_pci_find(*ret_inv, canonical);
        if (!*ret)
                return hp_cli_usage_error("no PCI device %s on this host (see 'hwpass device list')",
                                          canonical);
        return HP_EXIT_OK;
}

int hp_cli_state_load(struct hp_cli *c, struct hp_view *ret)
{
        _cleanup_free_ char *err = NULL;
        int r = hp_cli_open(c);

        if (r != HP_EXIT_OK)
                return r;
        r = hp_view_load(c->host, c->no_names ? NULL : c->names, c->db_path, ret, &err);
        if (r < 0) {
                hp_cli_message("%s", err ? err : strerror(-r));
                return HP_EXIT_ERROR;
        }
        return HP_EXIT_OK;
}

/* Who the events of this command are recorded for: the user who runs it
 * (through hwpassd, the daemon records its peer). */
const char *hp_cli_actor(void)
{
        static char name[128];
        struct passwd pw, *found = NULL;
        char buf[1024];

        if (!name[0] && getpwuid_r(getuid(), &pw, buf, sizeof(buf), &found) == 0 && found)
                snprintf(name, sizeof(name), "%s", found->pw_name);
        else if (!name[0])
                snprintf(name, sizeof(name), "uid %u", (unsigned)getuid());
        return name;
}

int hp_cli_ops(struct hp_cli *c, struct hp_ops_ctx **ret)
{
        int r = hp_cli_open(c);

        if (r != HP_EXIT_OK)
                return r;
        c->ops.host = c->host;
        c->ops.names = c->no_names ? NULL : c->names;
        c->ops.host_root = c->host_root;
        c->ops.db = c->db_path;
        c->ops.actor = hp_cli_actor();
        c->ops.single_threaded = true;
        hp_ops_ctx_default_paths(&c->ops);
        *ret = &c->ops;
        return HP_EXIT_OK;
}

/* The stable codes of the operations' errors (ops.h) the CLI knows, with
 * what to look at next, in its own words. */
static const struct {
        const char *code, *hint;
} codes[] = {
        { "no-device", " (see 'hwpass device list')" },
        { "no-vm", " (see 'hwpass vm list')" },
        { "no-token", " (see 'hwpass token list')" },
        { "bad-address", "" },
        { "bad-name", "" },
};

static int code_index(const char *code)
{
        for (size_t i = 0; code && i < ELEMENTSOF(codes); i++)
                if (streq(code, codes[i].code))
                        return (int)i;
        return -1;
}

const char *hp_cli_known_code(const char *code)
{
        int i = code_index(code);

        return i < 0 ? NULL : codes[i].code;
}

static const char *hint(const char *code)
{
        int i = code_index(code);

        return i < 0 ? "" : codes[i].hint;
}

int hp_cli_op_failed(struct hp_cli *c)
{
        const struct hp_op_error *e = &c->ops.error;
        const char *m = e->message ? e->message : "failed without saying why";

        for (const char *line = m; *line;) {
                const char *end = strchrnul(line, '\n');

                _cleanup_free_ char *one = strndup(line, (size_t)(end - line));
                _cleanup_free_ char *shown = one ? hp_escape(one) : NULL;

                fprintf(stderr, "hwpass: %s%s\n", shown ? shown : "out of memory", *end ? "" : hint(e->code));
                line = *end ? end + 1 : end;
        }
        return hp_op_exit_code(e->kind == HP_OP_OK ? HP_OP_HOST : e->kind);
}

int hp_cli_open_store(struct hp_cli *c, struct hp_store **ret)
{
        _cleanup_free_ char *err = NULL;
        int r = hp_store_open(c->db_path, ret, &err);

        if (r >= 0 && (r = hp_store_set_actor(*ret, hp_cli_actor())) < 0) {
                hp_store_close(*ret);
                *ret = NULL;
        }
        if (r < 0) {
                hp_cli_message("%s", err ? err : strerror(-r));
                return HP_EXIT_ERROR;
        }
        return HP_EXIT_OK;
}

int hp_cli_no_args(const char *cmd, int argc, char **argv)
{
        if (argc > 1)
                return hp_cli_usage_error("'%s' takes no argument '%s' (see 'hwpass --help')", cmd,
                                          argv[1]);
        return HP_EXIT_OK;
}

const char *hp_cli_opt_value(int argc, char **argv, int *i, const char *opt, int *ret_error)
{
        size_t len = strlen(opt);

        if (strncmp(argv[*i], opt, len) != 0)
                return NULL;
        if (argv[*i][len] == '=')
                return argv[*i] + len + 1;
        if (argv[*i][len] != '\0')
                return NULL;
        if (*i + 1 >= argc) {
                *ret_error = hp_cli_usage_error("%s needs a value", opt);
                return NULL;
        }
        return argv[++*i];
}

/* "--name VALUE" or "--name=VALUE" at argv[*i]: the value (advancing *i past
 * it), NULL when argv[*i] is another option; *ret_error when it lacks one. */
static const char *global_value(int argc, char **argv, int *i, const char *name, int *ret_error)
{
        const char *v;

        if (!hp_startswith(argv[*i], name))
                return NULL;
        v = argv[*i] + strlen(name);
        if (*v == '=')
                return v + 1;
        if (*v != '\0')
                return NULL;
        if (*i + 1 >= argc) {
                *ret_error = hp_cli_usage_error("%s needs a value", name);
                return NULL;
        }
        return argv[++*i];
}

/* Takes the global options out of argv wherever they stand. */
static int parse_globals(struct hp_cli *c, int *argc, char **argv, bool *help)
{
        static const char *const names[] = { "--host-root", "--db",  "--socket", "--run-dir", "--state-dir",
                                             "--controller", "--token", "--ca",   "--host" };
        const char **dest[] = { &c->host_root,  &c->db_path, &c->socket, &c->ops.run_dir, &c->ops.state_dir,
                                &c->controller, &c->token,   &c->ca,     &c->cluster_host };
        int out = 1, err = 0;

        for (int i = 1; i < *argc; i++) {
                const char *v = NULL;

                if (streq(argv[i], "--json")) {
                        c->json = true;
                        continue;
                }
                if (streq(argv[i], "--help") || streq(argv[i], "-h")) {
                        *help = true;
                        continue;
                }
                for (size_t k = 0; !v && !err && k < ELEMENTSOF(names); k++)
                        if ((v = global_value(*argc, argv, &i, names[k], &err)))
                                *dest[k] = v;
                if (err)
                        return err;
                if (!v)
                        argv[out++] = argv[i];
        }
        *argc = out;
        argv[out] = NULL;
        if (!c->host_root || !*c->host_root)
                return hp_cli_usage_error("--host-root needs a directory");
        if (c->db_path && !*c->db_path)
                return hp_cli_usage_error("--db needs a file name");
        if (c->socket && !*c->socket)
                return hp_cli_usage_error("--socket needs a path");
        if ((c->ops.run_dir && !*c->ops.run_dir) || (c->ops.state_dir && !*c->ops.state_dir))
                return hp_cli_usage_error("--run-dir and --state-dir need a directory");
        if (c->controller && !*c->controller)
                c->controller = NULL; /* HWPASS_CONTROLLER= turns it off */
        if (c->cluster_host && !c->controller)
                return hp_cli_usage_error("--host NAME names a host of a cluster: give --controller URL too "
                                          "(or HWPASS_CONTROLLER)");
        return HP_EXIT_OK;
}

int main(int argc, char **argv)
{
        struct hp_cli c = { .host_root = getenv("HWPASS_HOST_ROOT"),
                            .db_path = getenv("HWPASS_DB"),
                            .socket = getenv("HWPASS_SOCKET"),
                            .controller = getenv("HWPASS_CONTROLLER"),
                            .token = getenv("HWPASS_TOKEN"),
                            .ca = getenv("HWPASS_CA") };
        char db[4096], socket[4096];
        bool help = false;
        int r;

        if (argc == 2 && streq(argv[1], "--version")) {
                puts("hwpass " HP_VERSION);
                return HP_EXIT_OK;
        }
        if (!c.host_root || !*c.host_root)
                c.host_root = "/";
        r = parse_globals(&c, &argc, argv, &help);
        if (r != HP_EXIT_OK)
                return r;
        /* The database and hwpassd's socket live in the state and run directories unless named. */
        hp_ops_ctx_default_paths(&c.ops);
        snprintf(db, sizeof(db), "%s/hwpass.db", c.ops.state_dir);
        snprintf(socket, sizeof(socket), "%s/hwpass.sock", c.ops.run_dir);
        if (!c.db_path)
                c.db_path = db;
        c.default_socket = socket;
        if (help || argc < 2) {
                usage(help ? stdout : stderr);
                return help ? HP_EXIT_OK : HP_EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                if (!streq(argv[1], commands[i].group))
                        continue;
                if (!commands[i].verb) { /* a command of one word: "hwpass events" */
                        r = commands[i].run(&c, argc - 1, argv + 1);
                        goto done;
                }
                if (argc < 3)
                        return hp_cli_usage_error("'%s' needs a command, e.g. 'hwpass %s %s'",
                                                  argv[1], commands[i].group, commands[i].verb);
                if (!streq(argv[2], commands[i].verb))
                        continue;
                r = commands[i].run(&c, argc - 2, argv + 2);
        done:
                hp_op_error_done(&c.ops.error);
                hp_names_free(c.names);
                hp_host_free(c.host);
                /* Flush before exit handlers run, and report a failed write. */
                if (fflush(stdout) != 0 && r == HP_EXIT_OK)
                        return hp_cli_error(-EIO, "cannot write the output");
                return r;
        }
        if (argc >= 3)
                return hp_cli_usage_error("unknown command '%s %s' (see 'hwpass --help')", argv[1],
                                          argv[2]);
        return hp_cli_usage_error("unknown command '%s' (see 'hwpass --help')", argv[1]);
}
