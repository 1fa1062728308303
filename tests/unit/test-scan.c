/* Unit tests: the PCI and USB scans read fixture host trees exactly as the
 * kernel lays them out (relative symlinks, resource lines, SR-IOV files). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "host/names.h"
#include "host/pci.h"
#include "host/usb.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"

static struct hp_pci_inventory *scan(const char *fixture, struct hp_host **ret_host)
{
        struct hp_pci_inventory *inv = NULL;
        struct hp_names *names = NULL;
        struct hp_host *h = NULL;

        assert_int_equal(hp_host_open(fixture, &h), 0);
        assert_int_equal(hp_names_new(NULL, &names), 0);
        assert_int_equal(hp_pci_scan(h, names, &inv), 0);
        hp_names_free(names);
        if (ret_host)
                *ret_host = h;
        else
                hp_host_free(h);
        return inv;
}

static const struct hp_pci_dev *find(const struct hp_pci_inventory *inv, const char *addr)
{
        const struct hp_pci_dev *d = hp_pci_find(inv, addr);

        if (!d)
                fail_msg("%s not found", addr);
        return d;
}

static void test_desktop_gpu(void **state)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = scan(FIXTURES_DIR "/desktop", NULL);
        const struct hp_pci_dev *gpu = find(inv, "0000:0c:00.0"), *audio = find(inv, "0000:0c:00.1");

        (void)state;
        assert_true(inv->has_iommu);
        assert_int_equal(gpu->vendor_id, 0x10de);
        assert_int_equal(gpu->device_id, 0x2206);
        assert_int_equal(gpu->class, 0x030000);
        assert_int_equal(gpu->revision, 0xa1);
        assert_string_equal(gpu->driver, "nvidia");
        assert_null(gpu->driver_override);
        assert_int_equal(gpu->iommu_group, 29);
        assert_int_equal(gpu->numa_node, -1);
        assert_true(gpu->boot_vga);
        assert_true(gpu->has_reset);
        assert_int_equal(hp_strv_length(gpu->reset_methods), 1);
        assert_string_equal(gpu->reset_methods[0], "flr");
        assert_string_equal(gpu->parent, "0000:00:03.1");
        assert_non_null(strstr(gpu->device_name, "GA102"));
        assert_string_equal(gpu->vendor_name, "NVIDIA Corporation");
        assert_string_equal(gpu->class_name, "VGA compatible controller");
        /* BAR0 16M 32-bit; BAR1 256M 64-bit prefetchable; BAR3 32M; BAR5 I/O. */
        assert_int_equal(gpu->n_bars, 4);
        assert_int_equal(gpu->bars[0].index, 0);
        assert_true(gpu->bars[0].size == 16u << 20);
        assert_false(gpu->bars[0].is_64bit);
        assert_false(gpu->bars[0].prefetchable);
        assert_int_equal(gpu->bars[1].index, 1);
        assert_true(gpu->bars[1].size == 256u << 20);
        assert_true(gpu->bars[1].is_64bit);
        assert_true(gpu->bars[1].prefetchable);
        assert_int_equal(gpu->bars[3].index, 5);
        assert_true(gpu->bars[3].is_io);
        assert_true(gpu->rom_size == 512u << 10);
        assert_false(gpu->is_pf);
        assert_null(gpu->physfn);

        assert_int_equal(audio->iommu_group, 29);
        assert_false(audio->has_reset);
        assert_int_equal(hp_strv_length(audio->reset_methods), 0);
        assert_false(audio->boot_vga);
}

static void test_desktop_order_and_roots(void **state)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = scan(FIXTURES_DIR "/desktop", NULL);
        const struct hp_pci_dev *root = find(inv, "0000:00:00.0");

        (void)state;
        for (size_t i = 1; i < inv->n_devs; i++)
                assert_true(hp_pci_addr_cmp(&inv->devs[i - 1].addr, &inv->devs[i].addr) < 0);
        assert_null(root->parent);
        assert_int_equal(root->iommu_group, -1);
        assert_null(root->driver);
        assert_string_equal(root->sysfs_path, "devices/pci0000:00/0000:00:00.0");
        /* Behind a switch: root port -> upstream -> downstream -> device. */
        assert_string_equal(find(inv, "0000:04:00.0")->parent, "0000:03:01.0");
        assert_string_equal(find(inv, "0000:03:01.0")->parent, "0000:02:00.0");
        assert_string_equal(find(inv, "0000:04:00.0")->sysfs_path,
                            "devices/pci0000:00/0000:00:01.2/0000:02:00.0/0000:03:01.0/0000:04:00.0");
        assert_null(hp_pci_find(inv, "0000:99:00.0"));
        assert_null(hp_pci_find(inv, "garbage"));
}

static void test_desktop_usb(void **state)
{
        _cleanup_(hp_usb_inventory_freep) struct hp_usb_inventory *usb = NULL;
        _cleanup_(hp_host_freep) struct hp_host *h = NULL;
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = scan(FIXTURES_DIR "/desktop", &h);
        const struct hp_usb_dev *receiver = NULL, *bus3 = NULL, *stick = NULL;

        (void)state;
        assert_int_equal(hp_usb_scan(h, &usb), 0);
        for (size_t i = 0; i < usb->n_devs; i++) {
                const struct hp_usb_dev *d = &usb->devs[i];

                if (streq(d->name, "3-1.2"))
                        receiver = d;
                if (streq(d->name, "usb3"))
                        bus3 = d;
                if (streq(d->name, "5-5.3.4"))
                        stick = d;
                if (i > 0 && usb->devs[i - 1].busnum == d->busnum && !d->is_root_hub)
                        assert_true(usb->devs[i - 1].is_root_hub ||
                                    hp_usb_port_path_cmp(usb->devs[i - 1].port_path, d->port_path) < 0);
        }
        assert_non_null(bus3);
        assert_true(bus3->is_root_hub);
        assert_string_equal(bus3->controller, "0000:09:00.1");
        assert_int_equal(bus3->maxchild, 6);
        assert_string_equal(bus3->version, "2.00");
        assert_non_null(receiver);
        assert_int_equal(receiver->vendor_id, 0x046d);
        assert_int_equal(receiver->product_id, 0xc52b);
        assert_string_equal(receiver->parent, "3-1");
        assert_string_equal(receiver->port_path, "1.2");
        assert_string_equal(receiver->speed, "12");
        assert_string_equal(receiver->drivers[0], "usbhid");
        assert_non_null(stick);
        assert_string_equal(stick->parent, "5-5.3");
        assert_string_equal(stick->drivers[0], "usb-storage");
        assert_null(stick->serial); /* no serial file: NULL, not "" */
}

static void test_port_path_order(void **state)
{
        (void)state;
        assert_true(hp_usb_port_path_cmp("4.2", "4.10") < 0);
        assert_true(hp_usb_port_path_cmp("4.10", "5") < 0);
        assert_true(hp_usb_port_path_cmp("4", "4.1") < 0);
        assert_true(hp_usb_port_path_cmp("4.1", "4") > 0);
        assert_int_equal(hp_usb_port_path_cmp("1.2.3", "1.2.3"), 0);
        assert_true(hp_usb_port_path_cmp("10", "9") > 0);
}

static void test_root_hub_of(void **state)
{
        struct hp_usb_dev pci_hub = { .is_root_hub = true, .controller = (char *)"0000:00:14.0" };
        struct hp_usb_dev platform_hub = { .is_root_hub = true };
        struct hp_usb_dev device = { .controller = NULL };

        (void)state;
        assert_true(hp_usb_root_hub_of(&pci_hub, "0000:00:14.0"));
        assert_false(hp_usb_root_hub_of(&pci_hub, "0000:00:14.1"));
        assert_false(hp_usb_root_hub_of(&pci_hub, NULL));
        assert_true(hp_usb_root_hub_of(&platform_hub, NULL));
        assert_false(hp_usb_root_hub_of(&platform_hub, "0000:00:14.0"));
        assert_false(hp_usb_root_hub_of(&device, NULL));
}

static void test_build_machine(void **state)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = scan(FIXTURES_DIR "/build-machine", NULL);
        const struct hp_pci_dev *balloon;

        (void)state;
        assert_int_equal(inv->n_devs, 6);
        assert_false(inv->has_iommu);
        for (size_t i = 0; i < inv->n_devs; i++)
                assert_int_equal(inv->devs[i].iommu_group, -1);
        balloon = find(inv, "0000:00:01.0");
        assert_string_equal(balloon->driver, "virtio-pci");
        assert_int_equal(balloon->vendor_id, 0x1af4);
        assert_int_equal(balloon->n_bars, 1);
        assert_true(balloon->bars[0].is_64bit);
        assert_true(balloon->bars[0].size == 0x80000);
        assert_true(balloon->bars[0].start == 0x4000000000ull);
}

static void test_gpu_server(void **state)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = scan(FIXTURES_DIR "/gpu-server", NULL);
        const struct hp_pci_dev *pf = find(inv, "0000:0c:00.0"), *vf = find(inv, "0000:0c:00.1");
        size_t gpus = 0, vfs = 0;
        bool node[2] = { false, false };

        (void)state;
        for (size_t i = 0; i < inv->n_devs; i++) {
                const struct hp_pci_dev *d = &inv->devs[i];

                if (d->numa_node >= 0 && d->numa_node < 2)
                        node[d->numa_node] = true;
                if (d->physfn && streq(d->physfn, pf->address))
                        vfs++;
                if (d->class != 0x030200)
                        continue;
                gpus++;
                /* A100 80GB: BAR1 is 128 GiB, 64-bit, prefetchable, behind a switch. */
                assert_int_equal(d->bars[1].index, 1);
                assert_true(d->bars[1].size == 128ull << 30);
                assert_true(d->bars[1].is_64bit);
                assert_true(d->bars[1].prefetchable);
                assert_non_null(d->parent);
                assert_non_null(find(inv, d->parent)->parent); /* switch port, not a root port */
        }
        assert_int_equal(gpus, 8);
        assert_true(node[0] && node[1]);
        assert_true(pf->is_pf);
        assert_int_equal(pf->sriov_total_vfs, 8);
        assert_int_equal(pf->sriov_num_vfs, 8);
        assert_int_equal(vfs, 8);
        assert_false(vf->is_pf);
        assert_string_equal(vf->physfn, "0000:0c:00.0");
        assert_int_equal(vf->sriov_num_vfs, -1);
}

/* The switch above a device: the nearest switch upstream port (PCIe port
 * type 5) on its way to the root, from the DGX's cascaded switches. */
static void test_gpu_server_switches(void **state)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = scan(FIXTURES_DIR "/gpu-server", NULL);

        (void)state;
        /* GPU 07:00.0 <- downstream 06:00.0 <- upstream 05:00.0 <- downstream 04:00.0 <- upstream 03:00.0 */
        assert_string_equal(find(inv, "0000:07:00.0")->pcie_switch, "0000:05:00.0");
        assert_string_equal(find(inv, "0000:0f:00.0")->pcie_switch, "0000:0d:00.0");
        /* Two NVMe disks below one switch, and the switch's own ports. */
        assert_string_equal(find(inv, "0000:08:00.0")->pcie_switch, "0000:03:00.0");
        assert_string_equal(find(inv, "0000:09:00.0")->pcie_switch, "0000:03:00.0");
        assert_string_equal(find(inv, "0000:06:00.0")->pcie_switch, "0000:05:00.0");
        /* The PF and its VFs sit below one switch. */
        assert_string_equal(find(inv, "0000:0c:00.0")->pcie_switch, "0000:0a:00.0");
        assert_string_equal(find(inv, "0000:0c:01.0")->pcie_switch, "0000:0a:00.0");
        /* On a root port: no switch; the topmost upstream port: none above it. */
        assert_string_equal(find(inv, "0000:22:00.0")->pcie_switch, "");
        assert_string_equal(find(inv, "0000:01:00.0")->pcie_switch, "");
        assert_string_equal(find(inv, "0000:00:01.1")->pcie_switch, "");
}

/* Without PCIe capabilities (a KVM guest's virtio devices) no switch. */
static void test_no_switch(void **state)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = scan(FIXTURES_DIR "/build-machine", NULL);

        (void)state;
        for (size_t i = 0; i < inv->n_devs; i++)
                assert_string_equal(inv->devs[i].pcie_switch, "");
}

static void test_no_acs(void **state)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = scan(FIXTURES_DIR "/no-acs", NULL);
        size_t members = 0;

        (void)state;
        for (size_t i = 0; i < inv->n_devs; i++)
                members += inv->devs[i].iommu_group == 16;
        assert_int_equal(members, 15);
        assert_int_equal(find(inv, "0000:04:00.0")->iommu_group, 16);
        assert_int_equal(find(inv, "0000:09:00.0")->iommu_group, 16);
        assert_int_equal(find(inv, "0000:0c:00.0")->iommu_group, 19);
}

/* Without a uevent file (older kernels, hand-made trees) the single-value
 * files and the driver link give the same answers. */
static void test_without_uevent(void **state)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = NULL;
        char root[] = "/tmp/hwpass-scan-XXXXXX", cmd[1024];
        const struct hp_pci_dev *d;

        (void)state;
        assert_non_null(mkdtemp(root));
        snprintf(cmd, sizeof(cmd),
                 "set -e; cd %s; mkdir -p proc sys/bus/pci/devices sys/bus/pci/drivers/e1000e "
                 "sys/devices/pci0000:00/0000:00:03.0; cd sys/devices/pci0000:00/0000:00:03.0; "
                 "echo 0x8086 >vendor; echo 0x10d3 >device; echo 0x020000 >class; echo 0x02 >revision; "
                 "echo 0x8086 >subsystem_vendor; echo 0x0000 >subsystem_device; echo 0 >numa_node; "
                 "echo flr >reset_method; ln -s ../../../bus/pci/drivers/e1000e driver; "
                 "ln -s ../../../devices/pci0000:00/0000:00:03.0 ../../../bus/pci/devices/0000:00:03.0; "
                 "mkdir -p ../../../bus/pci/slots/7 ../../../bus/pci/slots/8; "
                 "echo 0000:00:03 >../../../bus/pci/slots/7/address; "
                 "echo 0000:00:04 >../../../bus/pci/slots/8/address",
                 root);
        assert_int_equal(WEXITSTATUS(system(cmd)), 0);
        inv = scan(root, NULL);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
        assert_int_equal(WEXITSTATUS(system(cmd)), 0);
        assert_int_equal(inv->n_devs, 1);
        d = &inv->devs[0];
        assert_false(d->uevent_read);
        assert_int_equal(d->vendor_id, 0x8086);
        assert_int_equal(d->device_id, 0x10d3);
        assert_int_equal(d->subsystem_vendor_id, 0x8086);
        assert_int_equal(d->class, 0x020000);
        assert_int_equal(d->revision, 2);
        assert_string_equal(d->driver, "e1000e");
        assert_int_equal(d->numa_node, 0);
        assert_true(d->has_reset);
        assert_false(d->boot_vga);
        assert_string_equal(d->slot, "7"); /* slots/7/address names its bus and device */
}

static void test_uevent(void **state)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = scan(FIXTURES_DIR "/build-machine", NULL);

        (void)state;
        /* Captured from a real kernel: uevent carries IDs, class and driver. */
        assert_true(inv->devs[1].uevent_read);
        assert_string_equal(inv->devs[1].driver, "virtio-pci");
        assert_true(inv->devs[0].uevent_read);
        assert_null(inv->devs[0].driver);
        assert_int_equal(inv->devs[0].class, 0x060000);
}

static void test_empty_host(void **state)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = NULL;
        _cleanup_(hp_usb_inventory_freep) struct hp_usb_inventory *usb = NULL;
        _cleanup_(hp_host_freep) struct hp_host *h = NULL;

        (void)state;
        /* The build machine has no USB at all: an empty tree, not an error. */
        assert_int_equal(hp_host_open(FIXTURES_DIR "/build-machine", &h), 0);
        assert_int_equal(hp_usb_scan(h, &usb), 0);
        assert_int_equal(usb->n_devs, 0);
        assert_int_equal(hp_pci_scan(h, NULL, &inv), 0);
        assert_null(inv->devs[0].vendor_name); /* no name database asked for */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_desktop_gpu),
                cmocka_unit_test(test_desktop_order_and_roots),
                cmocka_unit_test(test_desktop_usb),
                cmocka_unit_test(test_port_path_order),
                cmocka_unit_test(test_root_hub_of),
                cmocka_unit_test(test_build_machine),
                cmocka_unit_test(test_gpu_server), cmocka_unit_test(test_gpu_server_switches), cmocka_unit_test(test_no_switch),
                cmocka_unit_test(test_no_acs),
                cmocka_unit_test(test_without_uevent),
                cmocka_unit_test(test_uevent),
                cmocka_unit_test(test_empty_host),
        };

        return cmocka_run_group_tests_name("scan", tests, NULL, NULL);
}
