/* What the probe guest (guest/) saw, read back from its serial output, and
 * running it: the answer to "does passthrough of this device work here?".
 * The output contract is in guest/main.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hp_vm_user;

struct hp_probe_bar {
        unsigned index;
        char kind[8]; /* "io", "mem32", "mem64", with "p" when prefetchable */
        uint64_t addr, size;
};

struct hp_probe_fn {
        unsigned bus, dev, fn;
        uint16_t vendor_id, device_id;
        uint32_t class;
        struct hp_probe_bar bars[7];
        size_t n_bars;
        char *detail; /* device-specific lines (nvme, e1000e), joined by '\n'; or NULL */
        bool detail_failed; /* one of them says identify=fail / status=fail */
};

struct hp_probe_report {
        struct hp_probe_fn *fns;
        size_t n_fns;
        bool done; /* "PROBE done" was seen: the guest finished */
};

void hp_probe_report_done(struct hp_probe_report *r);
/* Parses the guest's serial output; lines that are not PROBE lines (firmware
 * chatter) are skipped. -EBADMSG for a malformed PROBE line. */
int hp_probe_parse(const char *text, struct hp_probe_report *ret);
/* The function behind a root port (bus != 0) with these IDs, or NULL. */
const struct hp_probe_fn *hp_probe_find(const struct hp_probe_report *r, uint16_t vendor_id, uint16_t device_id);

/* Runs argv (QEMU) to its exit. The guest has timeout_ms from its first
 * line ("PROBE start" in serial_path); before that QEMU may take start_ms to
 * start it (mapping a device's BARs takes long on some hosts: a 32 GiB BAR
 * in an emulated host, over a minute). Killed past either: -ETIMEDOUT for
 * the guest, -ETIME for the start. *ret_status is QEMU's exit status, or -1
 * when it was killed or died of a signal. QEMU runs as u (user.h). */
int hp_probe_run(char *const *argv, const struct hp_vm_user *u, const char *log_path,
                 const char *serial_path, int start_ms, int timeout_ms, int *ret_status);
