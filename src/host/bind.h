/* Applying a passthrough plan: the kernel's documented rebinding sequence
 * (driver_override, unbind, drivers_probe), verified by reading sysfs again.
 * The only code in hwpass that writes to sysfs. */
#pragma once

struct hp_host;
struct hp_plan;

/* Applies every step of p in order and verifies each. Stops at the first step
 * that fails: *ret_error (malloc'd) says which device, what happened and what
 * to do. Steps already done stay done; the stored desired state is what
 * 'hwpass host apply' converges to. */
int hp_plan_apply(const struct hp_host *h, const struct hp_plan *p, char **ret_error);

/* Resets the function through its sysfs reset attribute (the kernel picks
 * the method from reset_method: FLR, PM, a bus reset when it is alone below
 * its bridge). 1 when it was reset; 0 when the kernel has no method that
 * works for it (no reset attribute, or the write answers ENOTTY): nothing
 * was done and the device is as its last user left it. */
int hp_pci_reset(const struct hp_host *h, const char *address);

/* Fault injection for crash-safety tests: with HWPASS_FAULT_AFTER_WRITES=N in
 * the environment, the process exits (as if killed) after its Nth sysfs write. */
void hp_bind_fault_point(void);
