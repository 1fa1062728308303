/* Passthrough readiness checks. Each reads a few files under the host root and
 * says, when it does not pass, exactly what to change. */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommu.h"
#include "pci.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"

enum cpu_vendor { CPU_OTHER, CPU_INTEL, CPU_AMD };

struct ctx {
        const struct hp_host *h;
        const struct hp_pci_inventory *inv;
        enum cpu_vendor vendor;
        enum cpu_vendor iommu;  /* whose IOMMU: the firmware table's, else the CPU's */
        char **cpu_flags;
        char **cmdline;
        char osrelease[128];
        char **iommu_units;  /* sys/class/iommu entries */
        size_t n_groups;     /* sys/kernel/iommu_groups entries */
        const char *acpi_table; /* "DMAR", "IVRS" or NULL */
        bool have_acpi;
};

/* The fix sentence for turning the IOMMU on, for this CPU vendor. */
static const char *firmware_switch(const struct ctx *c)
{
        switch (c->iommu) {
        case CPU_INTEL:
                return "enable VT-d (Intel Virtualization Technology for Directed I/O) in the firmware setup";
        case CPU_AMD:
                return "enable AMD-Vi (often called IOMMU or SVM/IOMMU) in the firmware setup";
        default:
                return "enable VT-d (Intel) or AMD-Vi/IOMMU (AMD) in the firmware setup";
        }
}

static const char *cmdline_switch(const struct ctx *c)
{
        switch (c->iommu) {
        case CPU_INTEL:
                return "intel_iommu=on iommu=pt";
        case CPU_AMD:
                return "amd_iommu=on iommu=pt";
        default:
                return "intel_iommu=on iommu=pt (Intel) or amd_iommu=on iommu=pt (AMD)";
        }
}

#define GRUB_HOWTO "(GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub) and reboot"

static int set(struct hp_check *chk, enum hp_check_level level, const char *fix, const char *fmt,
               ...) __attribute__((format(printf, 4, 5)));
static int set(struct hp_check *chk, enum hp_check_level level, const char *fix, const char *fmt,
               ...)
{
        va_list ap;
        int n;

        chk->level = level;
        va_start(ap, fmt);
        n = vasprintf(&chk->message, fmt, ap);
        va_end(ap);
        if (n < 0) {
                chk->message = NULL;
                return -ENOMEM;
        }
        if (fix && level != HP_CHECK_PASS) {
                chk->fix = strdup(fix);
                if (!chk->fix)
                        return -ENOMEM;
        }
        return 0;
}

static int set_fixf(struct hp_check *chk, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int set_fixf(struct hp_check *chk, const char *fmt, ...)
{
        va_list ap;
        int n;

        free(chk->fix);
        va_start(ap, fmt);
        n = vasprintf(&chk->fix, fmt, ap);
        va_end(ap);
        if (n < 0) {
                chk->fix = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* The value of "key" in a "key : value" file such as cpuinfo (first match). */
static int find_field(const char *text, const char *key, char *buf, size_t size)
{
        size_t klen = strlen(key);

        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
                const char *colon, *eol;

                if (strncmp(p, key, klen) != 0 || (p[klen] != ' ' && p[klen] != '\t' && p[klen] != ':'))
                        continue;
                colon = strchr(p, ':');
                eol = strchr(p, '\n');
                if (!colon || (eol && colon > eol))
                        continue;
                colon++;
                while (*colon == ' ' || *colon == '\t')
                        colon++;
                snprintf(buf, size, "%.*s", (int)(eol ? eol - colon : (long)strlen(colon)), colon);
                return 0;
        }
        return -ENOENT;
}

static int ctx_init(struct ctx *c)
{
        _cleanup_free_ char *cpuinfo = NULL, *cmdline = NULL;
        _cleanup_strv_free_ char **groups = NULL;
        char flags[16384], vendor[64];
        int r;

        if (hp_host_read(c->h, "proc/cpuinfo", &cpuinfo) >= 0) {
                if (find_field(cpuinfo, "vendor_id", vendor, sizeof(vendor)) >= 0)
                        c->vendor = streq(vendor, "GenuineIntel")   ? CPU_INTEL
                                    : streq(vendor, "AuthenticAMD") ? CPU_AMD
                                                                    : CPU_OTHER;
                if (find_field(cpuinfo, "flags", flags, sizeof(flags)) < 0)
                        flags[0] = '\0';
        } else {
                flags[0] = '\0';
        }
        r = hp_strv_split(flags, &c->cpu_flags);
        if (r < 0)
                return r;
        r = hp_host_read(c->h, "proc/cmdline", &cmdline);
        r = hp_strv_split(r >= 0 ? cmdline : "", &c->cmdline);
        if (r < 0)
                return r;
        {
                _cleanup_free_ char *rel = NULL;

                if (hp_host_read(c->h, "proc/sys/kernel/osrelease", &rel) >= 0)
                        snprintf(c->osrelease, sizeof(c->osrelease), "%s", hp_strstrip(rel));
        }
        r = hp_host_list_dir(c->h, "sys/class/iommu", &c->iommu_units);
        if (r < 0)
                return r;
        r = hp_host_list_dir(c->h, "sys/kernel/iommu_groups", &groups);
        if (r < 0)
                return r;
        c->n_groups = hp_strv_length(groups);
        c->have_acpi = hp_host_exists(c->h, "sys/firmware/acpi/tables");
        if (hp_host_exists(c->h, "sys/firmware/acpi/tables/DMAR"))
                c->acpi_table = "DMAR";
        else if (hp_host_exists(c->h, "sys/firmware/acpi/tables/IVRS"))
                c->acpi_table = "IVRS";
        c->iommu = !c->acpi_table ? c->vendor : streq(c->acpi_table, "DMAR") ? CPU_INTEL : CPU_AMD;
        return 0;
}

static bool iommu_enabled(const struct ctx *c)
{
        return hp_strv_length(c->iommu_units) > 0 && c->n_groups > 0;
}

static bool cmdline_has(const struct ctx *c, const char *arg)
{
        return hp_strv_contains(c->cmdline, arg);
}

static int check_iommu_firmware(struct ctx *c, struct hp_check *chk)
{
        char fix[512];

        snprintf(fix, sizeof(fix), "%s, then add %s to the kernel command line " GRUB_HOWTO,
                 firmware_switch(c), cmdline_switch(c));
        if (c->acpi_table)
                return set(chk, HP_CHECK_PASS, NULL, "ACPI %s table present (%s)", c->acpi_table,
                           streq(c->acpi_table, "DMAR") ? "Intel VT-d" : "AMD-Vi");
        if (iommu_enabled(c))
                return set(chk, HP_CHECK_PASS, NULL, "no ACPI DMAR/IVRS table, but the kernel runs an IOMMU");
        if (!c->have_acpi)
                return set(chk, HP_CHECK_FAIL, fix,
                           "this host does not support passthrough: no IOMMU is enabled and the "
                           "firmware tables cannot be read");
        return set(chk, HP_CHECK_FAIL, fix,
                   "this host does not support passthrough: the firmware reports no IOMMU "
                   "(no ACPI DMAR or IVRS table)");
}

static int check_iommu_kernel(struct ctx *c, struct hp_check *chk)
{
        size_t n = hp_strv_length(c->iommu_units);
        char fix[512];

        if (n > 0) {
                _cleanup_free_ char *list = NULL;
                size_t len = 0;

                for (size_t i = 0; i < n; i++)
                        len += strlen(c->iommu_units[i]) + 2;
                list = calloc(1, len + 1);
                if (!list)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++) {
                        if (i)
                                strncat(list, ", ", len - strlen(list));
                        strncat(list, c->iommu_units[i], len - strlen(list));
                }
                return set(chk, HP_CHECK_PASS, NULL, "%zu IOMMU unit%s: %s", n, n == 1 ? "" : "s", list);
        }
        if (c->acpi_table) {
                snprintf(fix, sizeof(fix), "add %s to the kernel command line " GRUB_HOWTO,
                         cmdline_switch(c));
                return set(chk, HP_CHECK_FAIL, fix,
                           "the firmware reports an IOMMU (ACPI %s) but the kernel has not enabled it",
                           c->acpi_table);
        }
        snprintf(fix, sizeof(fix), "%s and add %s to the kernel command line", firmware_switch(c),
                 cmdline_switch(c));
        return set(chk, HP_CHECK_FAIL, fix, "no IOMMU in the kernel (sys/class/iommu is empty)");
}

static int check_iommu_groups(struct ctx *c, struct hp_check *chk)
{
        struct hp_iommu_group *groups = NULL;
        size_t n = 0, shared = 0;
        int r;

        if (c->n_groups == 0)
                return set(chk, HP_CHECK_FAIL, "turn the IOMMU on (see the checks above)",
                           "no IOMMU groups: no device can be passed through");
        r = hp_iommu_groups(c->inv, &groups, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (!hp_iommu_group_isolated(&groups[i]))
                        shared++;
        hp_iommu_groups_free(groups, n);
        if (shared == 0)
                return set(chk, HP_CHECK_PASS, NULL, "%zu groups, every one isolated", c->n_groups);
        return set(chk, HP_CHECK_PASS, NULL,
                   "%zu groups; %zu hold more than one device, which can only be passed through "
                   "together (see 'hwpass iommu list')",
                   c->n_groups, shared);
}

/* Intel: ecap bit 3 (IR) of any DMAR unit; any vendor: IR- interrupt domains. */
static bool interrupt_remapping_on(struct ctx *c)
{
        _cleanup_free_ char *interrupts = NULL;

        if (hp_host_read(c->h, "proc/interrupts", &interrupts) >= 0 && strstr(interrupts, "IR-"))
                return true;
        for (size_t i = 0; c->iommu_units && c->iommu_units[i]; i++) {
                _cleanup_free_ char *ecap = NULL;
                char rel[256];
                uint64_t v;

                snprintf(rel, sizeof(rel), "sys/class/iommu/%s/intel-iommu/ecap", c->iommu_units[i]);
                if (hp_host_read(c->h, rel, &ecap) >= 0 && hp_parse_u64(ecap, 16, &v) >= 0 &&
                    (v & (1u << 3)))
                        return !cmdline_has(c, "intremap=off") && !cmdline_has(c, "nointremap");
        }
        return false;
}

static int check_interrupt_remapping(struct ctx *c, struct hp_check *chk)
{
        _cleanup_free_ char *unsafe = NULL;

        if (!iommu_enabled(c))
                return set(chk, HP_CHECK_FAIL, "turn the IOMMU on (see the checks above)",
                           "no interrupt remapping without an IOMMU");
        if (interrupt_remapping_on(c))
                return set(chk, HP_CHECK_PASS, NULL, "interrupt remapping is on");
        if (hp_host_read(c->h, "sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts",
                         &unsafe) >= 0 &&
            hp_strstrip(unsafe)[0] == 'Y')
                return set(chk, HP_CHECK_WARN,
                           "enable interrupt remapping (x2APIC) in the firmware setup, then drop "
                           "vfio_iommu_type1.allow_unsafe_interrupts=1",
                           "interrupt remapping is off; vfio allows unsafe interrupts, so a guest "
                           "could inject interrupts into the host");
        return set(chk, HP_CHECK_FAIL,
                   "enable interrupt remapping (x2APIC) in the firmware setup and remove "
                   "intremap=off/nointremap from the kernel command line; only where the platform "
                   "has none, boot with vfio_iommu_type1.allow_unsafe_interrupts=1 (unsafe)",
                   "interrupt remapping is off: vfio refuses to assign devices");
}

static int check_cmdline(struct ctx *c, struct hp_check *chk)
{
        static const char *const offs[] = { "intel_iommu=off", "amd_iommu=off", "iommu=off" };
        bool intel_on = cmdline_has(c, "intel_iommu=on"), amd_on = cmdline_has(c, "amd_iommu=on");
        bool pt = cmdline_has(c, "iommu=pt");
        char fix[512];

        for (size_t i = 0; i < ELEMENTSOF(offs); i++)
                if (cmdline_has(c, offs[i])) {
                        snprintf(fix, sizeof(fix),
                                 "remove %s and add %s to the kernel command line " GRUB_HOWTO,
                                 offs[i], cmdline_switch(c));
                        return set(chk, HP_CHECK_FAIL, fix,
                                   "the kernel command line turns the IOMMU off (%s)", offs[i]);
                }
        /* Intel's IOMMU is off unless asked for; AMD's is on by default. */
        if (c->iommu == CPU_INTEL && !intel_on && !iommu_enabled(c)) {
                snprintf(fix, sizeof(fix), "add %s to the kernel command line " GRUB_HOWTO,
                         cmdline_switch(c));
                return set(chk, HP_CHECK_FAIL, fix, "intel_iommu=on is missing");
        }
        if (!pt) {
                snprintf(fix, sizeof(fix), "add iommu=pt to the kernel command line " GRUB_HOWTO);
                return set(chk, HP_CHECK_WARN, fix,
                           "%siommu=pt is not set: the host's own devices pay for DMA translation",
                           intel_on ? "intel_iommu=on; " : amd_on ? "amd_iommu=on; " : "");
        }
        return set(chk, HP_CHECK_PASS, NULL, "%s%siommu=pt",
                   intel_on ? "intel_iommu=on " : "", amd_on ? "amd_iommu=on " : "");
}

static int check_cpu(struct ctx *c, struct hp_check *chk)
{
        if (hp_strv_contains(c->cpu_flags, "vmx"))
                return set(chk, HP_CHECK_PASS, NULL, "Intel VT-x (vmx)");
        if (hp_strv_contains(c->cpu_flags, "svm"))
                return set(chk, HP_CHECK_PASS, NULL, "AMD-V (svm)");
        return set(chk, HP_CHECK_FAIL,
                   c->vendor == CPU_AMD ? "enable SVM (AMD-V) in the firmware setup"
                                        : "enable VT-x (Intel Virtualization Technology) in the firmware setup",
                   "the CPU reports no virtualization extensions (no vmx or svm flag)");
}

static int check_kvm(struct ctx *c, struct hp_check *chk)
{
        if (hp_host_exists(c->h, "dev/kvm"))
                return set(chk, HP_CHECK_PASS, NULL, "KVM is available (/dev/kvm)");
        return set(chk, HP_CHECK_FAIL,
                   c->vendor == CPU_AMD ? "modprobe kvm_amd (if it fails, enable SVM in the firmware setup)"
                                        : "modprobe kvm_intel (if it fails, enable VT-x in the firmware setup)",
                   "KVM is not loaded: its device /dev/kvm is missing");
}

/* Loaded, or at least shipped with the running kernel. */
static int module_state(struct ctx *c, const char *module, const char *driver_dir)
{
        _cleanup_free_ char *dep = NULL, *builtin = NULL;
        char rel[256], ko[64], ko2[64];

        snprintf(rel, sizeof(rel), "sys/module/%s", module);
        if (hp_host_exists(c->h, rel) || (driver_dir && hp_host_exists(c->h, driver_dir)))
                return 2;
        if (!c->osrelease[0])
                return 0;
        /* Module files are named with dashes or underscores. */
        snprintf(ko, sizeof(ko), "/%s.ko", module);
        snprintf(ko2, sizeof(ko2), "/%s.ko", module);
        for (char *p = ko2; *p; p++)
                if (*p == '_')
                        *p = '-';
        snprintf(rel, sizeof(rel), "lib/modules/%s/modules.dep", c->osrelease);
        if (hp_host_read(c->h, rel, &dep) >= 0 && (strstr(dep, ko) || strstr(dep, ko2)))
                return 1;
        snprintf(rel, sizeof(rel), "lib/modules/%s/modules.builtin", c->osrelease);
        if (hp_host_read(c->h, rel, &builtin) >= 0 && (strstr(builtin, ko) || strstr(builtin, ko2)))
                return 2;
        return 0;
}

static int check_module(struct ctx *c, struct hp_check *chk, const char *module,
                        const char *modprobe_name, const char *driver_dir, const char *config)
{
        int state = module_state(c, module, driver_dir);

        if (state == 2)
                return set(chk, HP_CHECK_PASS, NULL, "%s loaded", modprobe_name);
        if (state == 1) {
                set(chk, HP_CHECK_WARN, "", "%s is available but not loaded", modprobe_name);
                return set_fixf(chk,
                                "modprobe %s (hwpass loads it when it enables passthrough); to "
                                "load it at boot: echo %s > /etc/modules-load.d/vfio.conf",
                                modprobe_name, modprobe_name);
        }
        set(chk, HP_CHECK_FAIL, "", "the running kernel has no %s module", modprobe_name);
        return set_fixf(chk,
                        "boot a kernel built with %s (Debian's linux-image-amd64 has it), or run "
                        "modprobe %s if its modules are installed elsewhere",
                        config, modprobe_name);
}

static int check_vfio_pci(struct ctx *c, struct hp_check *chk)
{
        return check_module(c, chk, "vfio_pci", "vfio-pci", "sys/bus/pci/drivers/vfio-pci",
                            "CONFIG_VFIO_PCI");
}

static int check_vfio_iommu(struct ctx *c, struct hp_check *chk)
{
        return check_module(c, chk, "vfio_iommu_type1", "vfio_iommu_type1", NULL,
                            "CONFIG_VFIO_IOMMU_TYPE1");
}

static int check_dev_vfio(struct ctx *c, struct hp_check *chk)
{
        if (hp_host_exists(c->h, "dev/vfio/vfio"))
                return set(chk, HP_CHECK_PASS, NULL, "the VFIO container device /dev/vfio/vfio is present");
        if (module_state(c, "vfio", NULL) == 1)
                return set(chk, HP_CHECK_WARN, "modprobe vfio-pci (it creates /dev/vfio/vfio)",
                           "the VFIO container device appears once vfio is loaded");
        return set(chk, HP_CHECK_FAIL,
                   "boot a kernel built with CONFIG_VFIO and load it: modprobe vfio-pci",
                   "the VFIO container device /dev/vfio/vfio is missing");
}

/* "Max locked memory  65536  65536  bytes" in proc/self/limits. */
static int check_memlock(struct ctx *c, struct hp_check *chk)
{
        _cleanup_free_ char *limits = NULL, *status = NULL;
        char soft[64] = "", capeff[64] = "";
        const char *line;
        uint64_t caps = 0, bytes;

        if (hp_host_read(c->h, "proc/self/limits", &limits) < 0 ||
            !(line = strstr(limits, "Max locked memory")))
                return set(chk, HP_CHECK_WARN, "check 'ulimit -l' of the user that starts VMs",
                           "the locked-memory limit cannot be read");
        if (sscanf(line + strlen("Max locked memory"), "%63s", soft) != 1)
                return -EBADMSG;
        if (streq(soft, "unlimited"))
                return set(chk, HP_CHECK_PASS, NULL, "locked memory: unlimited");
        if (hp_host_read(c->h, "proc/self/status", &status) >= 0 &&
            find_field(status, "CapEff", capeff, sizeof(capeff)) >= 0)
                (void)hp_parse_u64(capeff, 16, &caps);
        if (hp_parse_u64(soft, 10, &bytes) < 0)
                return -EBADMSG;
        if (caps & (1ull << 14)) /* CAP_IPC_LOCK: the limit does not apply */
                return set(chk, HP_CHECK_PASS, NULL,
                           "locked memory limited to %" PRIu64 " KiB, but CAP_IPC_LOCK lifts it",
                           bytes / 1024);
        return set(chk, HP_CHECK_WARN,
                   "run VMs as root through hwpassd (LimitMEMLOCK=infinity), or raise memlock in "
                   "/etc/security/limits.conf to at least the VMs' memory",
                   "locked memory limited to %" PRIu64 " KiB: a VM with passthrough locks all its memory",
                   bytes / 1024);
}

static int check_hugepages(struct ctx *c, struct hp_check *chk)
{
        _cleanup_strv_free_ char **sizes = NULL;
        char msg[512] = "";
        bool any = false;
        int r;

        r = hp_host_list_dir(c->h, "sys/kernel/mm/hugepages", &sizes);
        if (r < 0)
                return r;
        for (size_t i = 0; sizes[i]; i++) {
                _cleanup_free_ char *nr = NULL, *fr = NULL;
                char rel[256];
                uint64_t n = 0, f = 0;
                size_t len = strlen(msg);

                snprintf(rel, sizeof(rel), "sys/kernel/mm/hugepages/%s/nr_hugepages", sizes[i]);
                if (hp_host_read(c->h, rel, &nr) < 0 || hp_parse_u64(nr, 10, &n) < 0 || n == 0)
                        continue;
                snprintf(rel, sizeof(rel), "sys/kernel/mm/hugepages/%s/free_hugepages", sizes[i]);
                if (hp_host_read(c->h, rel, &fr) < 0 || hp_parse_u64(fr, 10, &f) < 0)
                        f = 0;
                snprintf(msg + len, sizeof(msg) - len, "%s%s: %" PRIu64 " (%" PRIu64 " free)",
                         any ? ", " : "", sizes[i] + strlen("hugepages-"), n, f);
                any = true;
        }
        if (any)
                return set(chk, HP_CHECK_PASS, NULL, "%s", msg);
        if (!sizes[0])
                return set(chk, HP_CHECK_WARN, "boot a kernel with CONFIG_HUGETLBFS",
                           "the kernel has no hugepage support; VMs use normal pages");
        return set(chk, HP_CHECK_WARN,
                   "optional: reserve them at boot with default_hugepagesz=1G hugepagesz=1G "
                   "hugepages=N on the kernel command line, or at run time with "
                   "echo N > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages",
                   "no hugepages reserved; VMs use normal pages");
}

static const struct {
        const char *id;
        const char *title;
        int (*run)(struct ctx *c, struct hp_check *chk);
} checks[] = {
        /* The IOMMU first: without it nothing else matters, and the first
         * failing line must say so plainly. */
        { "iommu-firmware", "IOMMU in firmware (ACPI DMAR/IVRS)", check_iommu_firmware },
        { "iommu-kernel", "IOMMU enabled in the kernel", check_iommu_kernel },
        { "iommu-groups", "IOMMU groups", check_iommu_groups },
        { "interrupt-remapping", "Interrupt remapping", check_interrupt_remapping },
        { "kernel-cmdline", "Kernel command line", check_cmdline },
        { "cpu-virtualization", "CPU virtualization extensions", check_cpu },
        { "kvm", "KVM device", check_kvm },
        { "vfio-pci", "vfio-pci driver", check_vfio_pci },
        { "vfio-iommu-type1", "vfio IOMMU backend", check_vfio_iommu },
        { "dev-vfio", "VFIO container device", check_dev_vfio },
        { "memlock", "Locked memory limit", check_memlock },
        { "hugepages", "Huge pages", check_hugepages },
};

void hp_check_report_free(struct hp_check_report *r)
{
        if (!r)
                return;
        for (size_t i = 0; i < r->n_checks; i++) {
                free(r->checks[i].message);
                free(r->checks[i].fix);
        }
        free(r->checks);
        free(r);
}

static void ctx_done(struct ctx *c)
{
        hp_strv_free(c->cpu_flags);
        hp_strv_free(c->cmdline);
        hp_strv_free(c->iommu_units);
}

int hp_host_check(const struct hp_host *h, const struct hp_pci_inventory *inv,
                  struct hp_check_report **ret)
{
        _cleanup_(hp_check_report_freep) struct hp_check_report *rep = calloc(1, sizeof(*rep));
        _cleanup_(ctx_done) struct ctx c = { .h = h, .inv = inv };
        int r;

        if (!rep)
                return -ENOMEM;
        rep->checks = calloc(ELEMENTSOF(checks), sizeof(*rep->checks));
        if (!rep->checks)
                return -ENOMEM;
        r = ctx_init(&c);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(checks); i++) {
                struct hp_check *chk = &rep->checks[rep->n_checks++];

                chk->id = checks[i].id;
                chk->title = checks[i].title;
                r = checks[i].run(&c, chk);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(rep);
        return 0;
}

bool hp_check_report_ok(const struct hp_check_report *r)
{
        for (size_t i = 0; i < r->n_checks; i++)
                if (r->checks[i].level == HP_CHECK_FAIL)
                        return false;
        return true;
}

const char *hp_check_level_to_string(enum hp_check_level l)
{
        switch (l) {
        case HP_CHECK_PASS:
                return "PASS";
        case HP_CHECK_WARN:
                return "WARN";
        case HP_CHECK_FAIL:
                return "FAIL";
        }
        return "?";
}
