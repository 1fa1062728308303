/* hwpass vm import-vmx FILE.vmx: a VMware VM's memory, vCPUs, firmware and
 * passthrough entries (pciPassthruN.*, USB autoconnect) become an hwpass VM;
 * everything that cannot be carried over is a warning that says what to do. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/io.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm.h"
#include "vm/specjson.h"
#include "vm/vmx.h"

#define VMX_MAX_BYTES (1 << 20) /* a .vmx is a few KiB; anything this big is not one */

static int read_vmx(const char *path, char **ret)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0;
        int r;

        if (fd < 0 || fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_size > VMX_MAX_BYTES)
                return -EFBIG;
        r = hp_read_all(fd, VMX_MAX_BYTES, &buf, &len);
        if (r < 0)
                return r;
        if (strlen(buf) != len)
                return -EBADMSG; /* a NUL byte: not a text file */
        *ret = TAKE_PTR(buf);
        return 0;
}

/* Static entries without recorded IDs name devices of the VMware host; say
 * which are not here. */
static int warn_missing_devices(const struct hp_pci_inventory *inv, const struct hp_vm_spec *s,
                                char ***w)
{
        for (size_t i = 0; i < s->n_pci; i++) {
                if (s->pci[i].kind != HP_VM_PCI_STATIC)
                        continue;
                if (hp_pci_find(inv, s->pci[i].address))
                        continue;
                if (hp_strv_pushf(
                            w,
                            "pci%d: %s is not a PCI device of this host: replace it (hwpass vm "
                            "remove-device %s pci%d; hwpass vm add-pci %s --address SBDF)",
                            s->pci[i].index, s->pci[i].address, s->name, s->pci[i].index,
                            s->name) < 0)
                        return hp_cli_error(-ENOMEM, "out of memory");
        }
        return HP_EXIT_OK;
}

int hp_cmd_vm_import_vmx(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = NULL;
        _cleanup_free_ char *text = NULL, *err = NULL;
        _cleanup_strv_free_ char **disks = calloc(1, sizeof(char *));
        const char *name = NULL, *file = NULL, *val;
        bool dry_run = false;
        int r, e = 0;

        for (int i = 1; i < argc; i++) {
                if ((val = hp_cli_opt_value(argc, argv, &i, "--name", &e)))
                        name = val;
                else if ((val = hp_cli_opt_value(argc, argv, &i, "--disk", &e))) {
                        /* VMDK disks are not read: the user converts them and names the images. */
                        if (!*val)
                                e = hp_cli_usage_error("invalid disk '': give the path of a disk image");
                        else if (!disks || hp_strv_push(&disks, val) < 0)
                                return hp_cli_error(-ENOMEM, "out of memory");
                }
                else if (streq(argv[i], "--dry-run"))
                        dry_run = true;
                else if (!e && argv[i][0] != '-' && !file)
                        file = argv[i];
                else if (!e)
                        e = hp_cli_usage_error("'vm import-vmx' does not take '%s'", argv[i]);
                if (e)
                        return e;
        }
        if (!file)
                return hp_cli_usage_error(
                        "usage: hwpass vm import-vmx FILE.vmx [--name NAME] [--disk PATH]... [--dry-run]");
        if (name && (r = hp_cli_vm_name_check(name)) != HP_EXIT_OK)
                return r;
        r = read_vmx(file, &text);
        if (r == -EFBIG || r == -EBADMSG)
                return hp_cli_usage_error(
                        "'%s' is not a .vmx file (a small text file of key = \"value\" lines)",
                        file);
        if (r < 0)
                return hp_cli_usage_error("cannot read '%s': %s", file, strerror(-r));
        /* Addresses are checked against this host's devices by the IDs VMware recorded. */
        if ((r = hp_cli_scan_pci(c, &inv)) != HP_EXIT_OK)
                return r;
        r = hp_vmx_parse(text, name, inv, &x, &err);
        if (r == -EINVAL)
                return hp_cli_usage_error("cannot import '%s': %s", file, err ? err : "invalid");
        if (r < 0)
                return hp_cli_error(r, "cannot import '%s'", file);
        for (size_t i = 0; disks[i]; i++)
                if (hp_strv_push(&x.spec.disks, disks[i]) < 0)
                        return hp_cli_error(-ENOMEM, "out of memory");
        r = warn_missing_devices(inv, &x.spec, &x.warnings);
        if (r == HP_EXIT_OK && !dry_run) {
                _cleanup_(json_decrefp) json_t *created = NULL;

                r = hp_cli_vm_create(c, &x.spec, "vm-imported", &created);
        }
        if (r != HP_EXIT_OK)
                return r;
        if (c->json) {
                json_t *j = json_pack("{s:o, s:b, s:[]}", "vm", hp_vm_spec_to_json(&x.spec),
                                      "dry_run", dry_run, "warnings");

                for (size_t i = 0; j && x.warnings[i]; i++)
                        json_array_append_new(json_object_get(j, "warnings"),
                                              json_string(x.warnings[i]));
                return hp_cli_print_json(j);
        }
        for (size_t i = 0; x.warnings[i]; i++)
                fprintf(stderr, "warning: %s\n", x.warnings[i]);
        printf("VM '%s' %s from %s: %" PRIu64
               " MiB, %u vCPU%s, %s, %zu PCI and %zu USB entr%s (see 'hwpass vm show "
               "%s').\n",
               x.spec.name, dry_run ? "would be imported" : "imported", file, x.spec.memory_mib,
               x.spec.vcpus, x.spec.vcpus == 1 ? "" : "s",
               x.spec.firmware == HP_VM_FIRMWARE_EFI ? "EFI" : "BIOS", x.spec.n_pci, x.spec.n_usb,
               x.spec.n_pci + x.spec.n_usb == 1 ? "y" : "ies", x.spec.name);
        return HP_EXIT_OK;
}
