/* The firmware a power-on boots (DESIGN.md §5: EFI when large BARs need it):
 * the choice for a VM set to auto, said in words and recorded (an event, and
 * the run's firmware.json that vm show reads); the refusal of a VM set to
 * BIOS whose devices need EFI; OVMF found and the VM's vars store made. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops.h"
#include "util/io.h"
#include "util/macro.h"
#include "vm.h"
#include "vm/firmware.h"

void hp_ops_ovmf_paths(char *code, char *vars_template, size_t size)
{
        const char *dir = getenv("HWPASS_OVMF_DIR");

        if (!dir || !*dir) {
                snprintf(code, size, "%s", HP_OVMF_CODE);
                snprintf(vars_template, size, "%s", HP_OVMF_VARS_TEMPLATE);
                return;
        }
        snprintf(code, size, "%s/%s", dir, strrchr(HP_OVMF_CODE, '/') + 1);
        snprintf(vars_template, size, "%s/%s", dir, strrchr(HP_OVMF_VARS_TEMPLATE, '/') + 1);
}

static const char *upper(enum hp_vm_firmware f)
{
        return f == HP_VM_FIRMWARE_EFI ? "EFI" : "BIOS";
}

int hp_ops_vm_firmware_text(const struct hp_ops_vm *v, const struct hp_ops_vm_plan *p, char **ret)
{
        char *s;
        int n;

        if (v->spec.firmware == HP_VM_FIRMWARE_AUTO)
                n = asprintf(&s, "%s, chosen because %s", upper(p->firmware),
                             p->firmware_why ? p->firmware_why : "?");
        else
                n = asprintf(&s, "%s, as configured", upper(p->firmware));
        if (n < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

json_t *hp_ops_vm_firmware_json(const struct hp_ops_vm *v, const struct hp_ops_vm_plan *p)
{
        return json_pack("{s:s, s:s, s:b, s:s?}", "configured",
                         hp_vm_firmware_to_string(v->spec.firmware), "firmware",
                         hp_vm_firmware_to_string(p->firmware), "chosen",
                         v->spec.firmware == HP_VM_FIRMWARE_AUTO, "reason", p->firmware_why);
}

int hp_ops_vm_firmware_check(struct hp_ops_ctx *c, const struct hp_ops_vm *v,
                             const struct hp_ops_vm_plan *p)
{
        if (!p->mmio.needs_efi || v->spec.firmware != HP_VM_FIRMWARE_BIOS)
                return 0;
        /* Set to BIOS: by the operator, or by a hwpass that knew no auto. */
        return hp_op_fail(c, HP_OP_CONFLICT, -EINVAL,
                          "VM '%s' is set to BIOS firmware, and %s: switch it with 'hwpass vm set "
                          "%s --firmware "
                          "auto' (EFI when its devices need it) or '--firmware efi' (the guest's "
                          "OS must boot "
                          "from EFI)",
                          v->spec.name, p->firmware_why ? p->firmware_why : "its devices need EFI",
                          v->spec.name);
}

static int prepare_ovmf(struct hp_ops_ctx *c, const struct hp_ops_vm *v,
                        const struct hp_ops_vm_plan *p)
{
        _cleanup_free_ char *text = NULL;
        char run_dir[512], vars[512], code[512], vars_template[512];
        const char *missing;
        int r;

        hp_ops_vm_paths(c, v->spec.name, run_dir, vars, sizeof(run_dir));
        hp_ops_ovmf_paths(code, vars_template, sizeof(code));
        r = hp_vm_firmware_prepare(code, vars_template, vars, &missing);
        if (r < 0 && missing) {
                if (hp_ops_vm_firmware_text(v, p, &text) < 0)
                        return hp_op_oom(c);
                return hp_op_fail(
                        c, HP_OP_CONFLICT, r,
                        "VM '%s' boots EFI (%s), and OVMF's '%s' is missing on this host: install "
                        "Debian's ovmf package ('apt-get install ovmf')",
                        v->spec.name, text, missing);
        }
        if (r < 0)
                return hp_op_host_error(c, r, "cannot create the EFI variable store '%s' of '%s'",
                                        vars, v->spec.name);
        return 0;
}

int hp_ops_vm_firmware_prepare(struct hp_ops_ctx *c, const struct hp_ops_vm *v,
                               const struct hp_ops_vm_plan *p)
{
        return p->firmware == HP_VM_FIRMWARE_EFI ? prepare_ovmf(c, v, p) : 0;
}

int hp_ops_vm_firmware_record(const struct hp_ops_vm *v, const struct hp_ops_vm_plan *p,
                              char **ret_record, char **ret_event)
{
        _cleanup_(json_decrefp) json_t *doc = hp_ops_vm_firmware_json(v, p);
        _cleanup_free_ char *record = doc ? json_dumps(doc, JSON_COMPACT) : NULL, *event = NULL;

        if (!record)
                return -ENOMEM;
        /* Said in the event log only when hwpass chose. */
        if (v->spec.firmware == HP_VM_FIRMWARE_AUTO && hp_ops_vm_firmware_text(v, p, &event) < 0)
                return -ENOMEM;
        *ret_record = TAKE_PTR(record);
        *ret_event = TAKE_PTR(event);
        return 0;
}

json_t *hp_ops_vm_firmware_last(const struct hp_ops_ctx *c, const char *name)
{
        char path[768];

        hp_ops_vm_run_file(c->run_dir, name, "firmware.json", path, sizeof(path));
        return json_load_file(path, 0, NULL);
}
