/* Rebinding PCI functions: to vfio-pci and back to their host driver, with the
 * sequence of Documentation/ABI/testing/sysfs-bus-pci (driver_override,
 * unbind, drivers_probe). Every write is checked and the result re-read. */
#include "bind.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pci.h"
#include "plan.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"

extern char **environ;

static long writes_done;

void hp_bind_fault_point(void)
{
        static long limit = -2;
        uint64_t v;

        if (limit == -2)
                limit = hp_parse_u64(getenv("HWPASS_FAULT_AFTER_WRITES"), 10, &v) >= 0 ? (long)v : -1;
        if (limit >= 0 && writes_done >= limit)
                _exit(86); /* as if killed: no cleanup, no store update */
}

static int sysfs_write(const struct hp_host *h, const char *address, const char *attr, const char *value)
{
        char rel[128];
        int r;

        hp_bind_fault_point();
        snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/%s", address, attr);
        if (streq(attr, "drivers_probe"))
                snprintf(rel, sizeof(rel), "sys/bus/pci/drivers_probe");
        r = hp_host_write(h, rel, value);
        if (r >= 0)
                writes_done++;
        return r;
}

static int current_driver(const struct hp_host *h, const char *address, char *buf, size_t size)
{
        char rel[128], target[4096];
        const char *base;
        int r;

        snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/driver", address);
        r = hp_host_readlink(h, rel, target, sizeof(target));
        if (r == -ENOENT) {
                buf[0] = '\0';
                return 0;
        }
        if (r < 0)
                return r;
        base = strrchr(target, '/');
        base = base ? base + 1 : target;
        if (strlen(base) >= size)
                return -ENAMETOOLONG;
        memcpy(buf, base, strlen(base) + 1);
        return 0;
}

/* A driver without a module link is built in: it cannot be unloaded and
 * binds before userspace at every boot. */
static bool driver_is_builtin(const struct hp_host *h, const char *driver)
{
        char rel[256];

        snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s/module", driver);
        return !hp_host_exists(h, rel);
}

/* vfio-pci must be there before a device can be handed to it. On the live
 * machine hwpass loads it; a host root stands for a machine it cannot change. */
static int ensure_vfio_pci(const struct hp_host *h, char **ret_error)
{
        char *const argv[] = { (char *)"modprobe", (char *)"vfio-pci", NULL };
        pid_t pid;
        int status;

        if (hp_host_exists(h, "sys/bus/pci/drivers/vfio-pci"))
                return 0;
        if (!hp_host_is_live(h) ||
            posix_spawnp(&pid, "modprobe", NULL, NULL, argv, environ) != 0 ||
            waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
            !hp_host_exists(h, "sys/bus/pci/drivers/vfio-pci")) {
                if (asprintf(ret_error, "the vfio-pci driver is not loaded and 'modprobe vfio-pci' "
                                        "did not load it: see 'hwpass host check'") < 0)
                        *ret_error = NULL;
                return -ENOENT;
        }
        return 0;
}

/* Waits briefly for the driver core: probing runs synchronously for most
 * drivers, but not for all. */
static int wait_driver(const struct hp_host *h, const char *address, const char *want, char *buf,
                       size_t size)
{
        for (int i = 0; i < 50; i++) {
                int r = current_driver(h, address, buf, size);

                if (r < 0)
                        return r;
                if (want ? streq(buf, want) : (buf[0] && !streq(buf, "vfio-pci")))
                        return 0;
                nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
        }
        return -ETIMEDOUT;
}

static int bind_step(const struct hp_host *h, const struct hp_plan_step *s, char **ret_error)
{
        bool to_vfio = s->to_driver && streq(s->to_driver, "vfio-pci");
        char now[128];
        int r;

        r = current_driver(h, s->address, now, sizeof(now));
        if (r < 0)
                return hp_errorf(ret_error, r, "%s: cannot read its driver: %s", s->address, strerror(-r));
        /* driver_override decides who may take it at the next probe. */
        r = sysfs_write(h, s->address, "driver_override", to_vfio ? "vfio-pci" : "\n");
        if (r < 0)
                return hp_errorf(ret_error, r, "%s: cannot set driver_override: %s", s->address, strerror(-r));
        /* Unbound only from a driver it is to leave: a device already where
         * the step takes it keeps its driver. */
        if (now[0] && !(to_vfio ? streq(now, "vfio-pci")
                                : !streq(now, "vfio-pci") && (!s->to_driver || streq(now, s->to_driver)))) {
                r = sysfs_write(h, s->address, "driver/unbind", s->address);
                if (r < 0)
                        return hp_errorf(ret_error, r,
                                    "reboot required: the %s driver%s will not let go of %s (%s); "
                                    "'hwpass host boot-config' keeps it off the device at boot",
                                    now, driver_is_builtin(h, now) ? ", built into the kernel," : "",
                                    s->address, strerror(-r));
        }
        r = sysfs_write(h, s->address, "drivers_probe", s->address);
        if (r < 0 && r != -ENODEV && r != -EINVAL)
                return hp_errorf(ret_error, r, "%s: drivers_probe failed: %s", s->address, strerror(-r));
        r = wait_driver(h, s->address, to_vfio ? "vfio-pci" : s->to_driver, now, sizeof(now));
        if (r < 0 && to_vfio)
                return hp_errorf(ret_error, -EIO, "%s did not bind to vfio-pci (driver now: %s)", s->address,
                            now[0] ? now : "none");
        if (r < 0 && s->to_driver)
                return hp_errorf(ret_error, -EIO, "%s did not go back to %s (driver now: %s): load it with "
                                             "'modprobe %s' and run 'hwpass host apply'",
                            s->address, s->to_driver, now[0] ? now : "none", s->to_driver);
        return 0;
}

int hp_plan_apply(const struct hp_host *h, const struct hp_plan *p, char **ret_error)
{
        int r;

        *ret_error = NULL;
        if (p->action == HP_PLAN_ENABLE && p->n_steps > 0) {
                r = ensure_vfio_pci(h, ret_error);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < p->n_steps; i++) {
                r = bind_step(h, &p->steps[i], ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

int hp_pci_reset(const struct hp_host *h, const char *address)
{
        char rel[128];
        int r;

        snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/reset", address);
        if (!hp_host_exists(h, rel))
                return 0;
        r = sysfs_write(h, address, "reset", "1");
        /* ENOTTY: none of its methods applies now (all turned off, or a
         * bus reset with a neighbour on the bus); nothing was done. */
        return r == -ENOTTY ? 0 : r < 0 ? r : 1;
}
