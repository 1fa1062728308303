/* OVMF for EFI VMs: the shared code image and a per-VM vars store. */
#pragma once

/* Debian's ovmf package. */
#define HP_OVMF_CODE "/usr/share/OVMF/OVMF_CODE_4M.fd"
#define HP_OVMF_VARS_TEMPLATE "/usr/share/OVMF/OVMF_VARS_4M.fd"

/* Checks that code is readable and gives the VM its vars store at vars,
 * copied from vars_template the first time (directories created). On
 * -ENOENT/-EACCES, *ret_missing names the file that is not there. */
int hp_vm_firmware_prepare(const char *code, const char *vars_template, const char *vars, const char **ret_missing);
/* A deleted VM's vars store, and its directory when that is left empty. */
int hp_vm_firmware_remove(const char *vars);
