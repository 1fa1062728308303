/* Unit tests: every passthrough plan rule, on inventories built in memory
 * (the planner is a pure function of inventory, host uses and stored state). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "host/hostuse.h"
#include "host/plan.h"
#include "store/store.h"
#include "util/strutil.h"

static struct hp_pci_dev devs[16];
static struct hp_pci_inventory inv = { .devs = devs };
static struct hp_host_use use_table[4];
static struct hp_host_uses uses = { .uses = use_table };
static struct hp_dev_config configs[4];
static size_t n_configs;
static char *no_attrs[] = { NULL };

static struct hp_pci_dev *add(const char *addr, uint32_t class, int group, const char *driver)
{
        struct hp_pci_dev *d = &devs[inv.n_devs++];

        *d = (struct hp_pci_dev){ .class = class, .iommu_group = group, .has_reset = true,
                                  .numa_node = -1, .driver = (char *)driver };
        assert_int_equal(hp_pci_addr_parse(addr, &d->addr), 0);
        hp_pci_addr_format(&d->addr, d->address);
        return d;
}

static void add_use(const char *addr, enum hp_host_use_kind kind, const char *what, const char *where)
{
        struct hp_host_use *u = &use_table[uses.n++];

        *u = (struct hp_host_use){ .kind = kind, .what = (char *)what, .where = (char *)where };
        memcpy(u->address, addr, HP_SBDF_LEN);
}

static void add_config(const char *addr, bool desired, const char *host_driver, const char *vm)
{
        struct hp_dev_config *c = &configs[n_configs++];

        *c = (struct hp_dev_config){ .desired = desired, .host_driver = (char *)host_driver,
                                     .assigned_vm = (char *)vm, .attrs = no_attrs, .health = (char *)"ok" };
        memcpy(c->address, addr, HP_SBDF_LEN);
}

static int reset(void **state)
{
        (void)state;
        memset(devs, 0, sizeof(devs));
        inv.n_devs = 0;
        uses.n = 0;
        n_configs = 0;
        return 0;
}

static struct hp_plan *plan(enum hp_plan_action action, bool force, const char *a, const char *b)
{
        char *addresses[] = { (char *)a, (char *)b, NULL };
        struct hp_plan_input in = { .inv = &inv, .uses = &uses, .configs = configs, .n_configs = n_configs };
        struct hp_plan *p = NULL;

        assert_int_equal(hp_plan_passthrough(&in, action, addresses, force, &p), 0);
        return p;
}

static bool has(char **v, const char *text)
{
        for (size_t i = 0; v[i]; i++)
                if (strstr(v[i], text))
                        return true;
        return false;
}

static void expect_step(const struct hp_plan *p, size_t i, const char *addr, const char *from,
                        const char *to, bool requested)
{
        assert_true(i < p->n_steps);
        assert_string_equal(p->steps[i].address, addr);
        if (from)
                assert_string_equal(p->steps[i].from_driver, from);
        else
                assert_null(p->steps[i].from_driver);
        if (to)
                assert_string_equal(p->steps[i].to_driver, to);
        else
                assert_null(p->steps[i].to_driver);
        assert_int_equal(p->steps[i].requested, requested);
}

static void test_enable_isolated(void **state)
{
        struct hp_plan *p;

        (void)state;
        add("0000:00:01.0", 0x060400, 1, "pcieport");
        add("0000:01:00.0", 0x010802, 2, "nvme");
        p = plan(HP_PLAN_ENABLE, false, "0000:01:00.0", NULL);
        assert_int_equal(p->n_steps, 1);
        expect_step(p, 0, "0000:01:00.0", "nvme", "vfio-pci", true);
        assert_true(hp_plan_applicable(p));
        assert_null(p->warnings[0]);
        hp_plan_free(p);
}

static void test_enable_group_moves_together(void **state)
{
        struct hp_plan *p;

        (void)state;
        add("0000:00:03.1", 0x060400, 29, "pcieport");
        add("0000:0c:00.0", 0x030000, 29, "nvidia")->boot_vga = true;
        add("0000:0c:00.1", 0x040300, 29, "snd_hda_intel");
        p = plan(HP_PLAN_ENABLE, false, "0000:0c:00.0", NULL);
        assert_int_equal(p->n_steps, 2); /* the bridge stays */
        expect_step(p, 0, "0000:0c:00.0", "nvidia", "vfio-pci", true);
        expect_step(p, 1, "0000:0c:00.1", "snd_hda_intel", "vfio-pci", false);
        assert_true(has(p->warnings, "0000:0c:00.1"));
        assert_true(has(p->warnings, "same IOMMU group 29"));
        assert_true(has(p->warnings, "boot display"));
        assert_true(hp_plan_applicable(p));
        hp_plan_free(p);
        /* Both named: no "goes along" warning, no duplicate steps. */
        p = plan(HP_PLAN_ENABLE, false, "0000:0c:00.1", "0000:0c:00.0");
        assert_int_equal(p->n_steps, 2);
        assert_true(p->steps[0].requested && p->steps[1].requested);
        assert_false(has(p->warnings, "goes along"));
        hp_plan_free(p);
}

static void test_enable_is_idempotent(void **state)
{
        struct hp_plan *p;

        (void)state;
        add("0000:01:00.0", 0x010802, 2, "vfio-pci");
        p = plan(HP_PLAN_ENABLE, false, "0000:01:00.0", NULL);
        assert_int_equal(p->n_steps, 0);
        assert_string_equal(p->unchanged[0], "0000:01:00.0");
        assert_true(hp_plan_applicable(p));
        hp_plan_free(p);
}

static void test_enable_errors(void **state)
{
        struct hp_plan *p;

        (void)state;
        add("0000:00:01.0", 0x060400, 1, "pcieport");
        add("0000:02:00.0", 0x020000, -1, "e1000e");
        p = plan(HP_PLAN_ENABLE, true, "0000:02:00.0", NULL);
        assert_true(has(p->errors, "no IOMMU group"));
        assert_false(hp_plan_applicable(p));
        hp_plan_free(p);
        p = plan(HP_PLAN_ENABLE, true, "0000:00:01.0", NULL);
        assert_true(has(p->errors, "vfio-pci cannot take bridges"));
        assert_int_equal(p->n_steps, 0);
        hp_plan_free(p);
        p = plan(HP_PLAN_ENABLE, true, "0000:09:00.0", NULL);
        assert_true(has(p->errors, "no PCI device 0000:09:00.0"));
        hp_plan_free(p);
}

static void test_enable_host_devices_refused(void **state)
{
        struct hp_plan *p;

        (void)state;
        add("0000:00:1f.0", 0x060100, 10, "lpc_ich");
        add("0000:00:1f.2", 0x010601, 10, "ahci");
        add("0000:00:1f.3", 0x0c0500, 10, "i801_smbus");
        p = plan(HP_PLAN_ENABLE, false, "0000:00:1f.3", NULL);
        assert_true(has(p->refusals, "0000:00:1f.3 is an SMBus controller"));
        assert_false(hp_plan_applicable(p));
        hp_plan_free(p);
        /* The SATA controller drags the LPC and SMBus along: refused. */
        p = plan(HP_PLAN_ENABLE, false, "0000:00:1f.2", NULL);
        assert_true(has(p->refusals, "also holds 0000:00:1f.0, an ISA/LPC bridge"));
        assert_true(has(p->refusals, "also holds 0000:00:1f.3, an SMBus controller"));
        assert_int_equal(p->n_steps, 3);
        assert_false(hp_plan_applicable(p));
        hp_plan_free(p);
        /* --force turns the refusals into warnings. */
        p = plan(HP_PLAN_ENABLE, true, "0000:00:1f.2", NULL);
        assert_true(hp_plan_applicable(p));
        assert_true(has(p->warnings, "SMBus"));
        assert_int_equal(p->n_steps, 3);
        hp_plan_free(p);
}

static void test_enable_interlocks(void **state)
{
        struct hp_plan *p;

        (void)state;
        add("0000:01:00.0", 0x010802, 2, "nvme");
        add("0000:04:00.0", 0x020000, 4, "e1000e");
        add_use("0000:01:00.0", HP_USE_MOUNT, "nvme0n1p2", "/");
        add_use("0000:04:00.0", HP_USE_DEFAULT_ROUTE, "enp4s0", "IPv4");
        p = plan(HP_PLAN_ENABLE, false, "0000:01:00.0", "0000:04:00.0");
        assert_true(has(p->refusals, "0000:01:00.0 is in use by the host"));
        assert_true(has(p->refusals, "nvme0n1p2"));
        assert_true(has(p->refusals, "0000:04:00.0 is in use by the host"));
        assert_true(has(p->refusals, "enp4s0"));
        assert_false(hp_plan_applicable(p));
        hp_plan_free(p);
        p = plan(HP_PLAN_ENABLE, true, "0000:01:00.0", NULL);
        assert_true(hp_plan_applicable(p));
        assert_true(has(p->warnings, "nvme0n1p2"));
        hp_plan_free(p);
}

static void test_disable(void **state)
{
        struct hp_plan *p;

        (void)state;
        add("0000:00:03.1", 0x060400, 29, "pcieport");
        add("0000:0c:00.0", 0x030000, 29, "vfio-pci");
        add("0000:0c:00.1", 0x040300, 29, "vfio-pci");
        add("0000:01:00.0", 0x010802, 2, "nvme");
        add_config("0000:0c:00.0", true, "nvidia", NULL);
        add_config("0000:0c:00.1", true, "snd_hda_intel", NULL);
        p = plan(HP_PLAN_DISABLE, false, "0000:0c:00.0", NULL);
        assert_int_equal(p->n_steps, 2);
        expect_step(p, 0, "0000:0c:00.0", "vfio-pci", "nvidia", true);
        expect_step(p, 1, "0000:0c:00.1", "vfio-pci", "snd_hda_intel", false);
        assert_true(has(p->warnings, "goes back too"));
        hp_plan_free(p);
        /* Already with the host: nothing to do. */
        p = plan(HP_PLAN_DISABLE, false, "0000:01:00.0", NULL);
        assert_int_equal(p->n_steps, 0);
        assert_string_equal(p->unchanged[0], "0000:01:00.0");
        hp_plan_free(p);
}

static void test_disable_assigned_never(void **state)
{
        struct hp_plan *p;

        (void)state;
        add("0000:02:00.0", 0x010802, 3, "vfio-pci");
        add_config("0000:02:00.0", true, "nvme", "desktop");
        p = plan(HP_PLAN_DISABLE, true, "0000:02:00.0", NULL);
        assert_true(has(p->errors, "assigned to VM 'desktop'"));
        assert_false(hp_plan_applicable(p));
        assert_int_equal(p->n_steps, 0);
        hp_plan_free(p);
}

static void test_disable_finishes_interrupted_apply(void **state)
{
        struct hp_plan *p;

        (void)state;
        add("0000:02:00.0", 0x010802, 3, NULL); /* unbound half-way */
        add_config("0000:02:00.0", false, "nvme", NULL);
        p = plan(HP_PLAN_DISABLE, false, "0000:02:00.0", NULL);
        assert_int_equal(p->n_steps, 1);
        expect_step(p, 0, "0000:02:00.0", NULL, "nvme", true);
        hp_plan_free(p);
        /* And enable binds an unbound device without an unbind step. */
        p = plan(HP_PLAN_ENABLE, false, "0000:02:00.0", NULL);
        expect_step(p, 0, "0000:02:00.0", NULL, "vfio-pci", true);
        hp_plan_free(p);
}

#define T(fn) cmocka_unit_test_setup(fn, reset)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_enable_isolated),         T(test_enable_group_moves_together),
                T(test_enable_is_idempotent),    T(test_enable_errors),
                T(test_enable_host_devices_refused), T(test_enable_interlocks),
                T(test_disable),                 T(test_disable_assigned_never),
                T(test_disable_finishes_interrupted_apply),
        };

        return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
