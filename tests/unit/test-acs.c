/* Unit tests: ACS read from config space, and which port breaks a group. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "host/acs.h"
#include "host/pci.h"
#include "util/hostroot.h"
#include "util/macro.h"

/* A PCIe port of type ptype with (when acs) an ACS capability at 0x100. */
static void make_cfg(uint8_t cfg[4096], int ptype, bool acs, uint16_t cap, uint16_t ctrl)
{
        memset(cfg, 0, 4096);
        cfg[0x06] = 0x10; /* capability list */
        cfg[0x0e] = 0x01;
        cfg[0x34] = 0x40;
        cfg[0x40] = 0x10; /* PCIe */
        cfg[0x42] = (uint8_t)(0x02 | ptype << 4);
        if (acs) {
                cfg[0x100] = 0x0d;
                cfg[0x102] = 0x01;
                cfg[0x104] = cap & 0xff;
                cfg[0x106] = ctrl & 0xff;
        }
}

static void test_parse(void **state)
{
        uint8_t cfg[4096];
        struct hp_acs_info a;
        char buf[160];

        (void)state;
        make_cfg(cfg, HP_PCIE_DOWNSTREAM, true, 0x1f, 0x1f);
        hp_acs_parse(cfg, sizeof(cfg), &a);
        assert_int_equal(a.state, HP_ACS_ENABLED);
        assert_int_equal(a.pcie_type, HP_PCIE_DOWNSTREAM);
        assert_true(hp_acs_isolates(&a));

        make_cfg(cfg, HP_PCIE_ROOT_PORT, true, 0x1f, 0x01);
        hp_acs_parse(cfg, sizeof(cfg), &a);
        assert_int_equal(a.state, HP_ACS_INCOMPLETE);
        assert_false(hp_acs_isolates(&a));
        hp_acs_missing(&a, buf, sizeof(buf));
        assert_string_equal(buf, "Request Redirect (off), Completion Redirect (off), Upstream Forwarding (off)");

        make_cfg(cfg, HP_PCIE_DOWNSTREAM, true, 0x0d, 0x0d);
        hp_acs_parse(cfg, sizeof(cfg), &a);
        hp_acs_missing(&a, buf, sizeof(buf));
        assert_string_equal(buf, "Upstream Forwarding (unsupported)");

        make_cfg(cfg, HP_PCIE_DOWNSTREAM, false, 0, 0);
        hp_acs_parse(cfg, sizeof(cfg), &a);
        assert_int_equal(a.state, HP_ACS_ABSENT);
        assert_false(hp_acs_isolates(&a));
        /* An upstream port needs no ACS unless it has sibling functions. */
        make_cfg(cfg, HP_PCIE_UPSTREAM, false, 0, 0);
        hp_acs_parse(cfg, sizeof(cfg), &a);
        assert_true(hp_acs_isolates(&a));
        cfg[0x0e] |= 0x80;
        hp_acs_parse(cfg, sizeof(cfg), &a);
        assert_false(hp_acs_isolates(&a));

        /* Short reads: 64 bytes (not root), a PCIe port cut at 256. */
        hp_acs_parse(cfg, 64, &a);
        assert_int_equal(a.state, HP_ACS_UNREADABLE);
        make_cfg(cfg, HP_PCIE_DOWNSTREAM, true, 0x1f, 0x1f);
        hp_acs_parse(cfg, 256, &a);
        assert_int_equal(a.state, HP_ACS_UNREADABLE);
        assert_int_equal(a.pcie_type, HP_PCIE_DOWNSTREAM);

        /* No PCIe capability: conventional PCI. */
        cfg[0x34] = 0;
        hp_acs_parse(cfg, 256, &a);
        assert_int_equal(a.state, HP_ACS_NOT_PCIE);
}

static void explain(const char *root, const char *addr, struct hp_isolation *ret)
{
        _cleanup_(hp_host_freep) struct hp_host *h = NULL;
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = NULL;
        const struct hp_pci_dev *d;

        assert_int_equal(hp_host_open(root, &h), 0);
        assert_int_equal(hp_pci_scan(h, NULL, &inv), 0);
        d = hp_pci_find(inv, addr);
        assert_non_null(d);
        assert_int_equal(hp_acs_explain(h, inv, d, ret), 0);
}

static void test_explain_fixture(void **state)
{
        struct hp_isolation iso;

        (void)state;
        /* The RTL8125 behind the X470 chipset's downstream port. */
        explain(FIXTURES_DIR "/no-acs", "0000:04:00.0", &iso);
        assert_int_equal(iso.cause, HP_ISOLATION_NO_ACS);
        assert_string_equal(iso.culprit, "0000:03:00.0");
        assert_non_null(strstr(iso.why, "switch downstream port) has no ACS capability"));
        assert_non_null(strstr(iso.fix, "0000:00:01.1"));
        hp_isolation_done(&iso);
        /* The GPU and its audio: only its own functions. */
        explain(FIXTURES_DIR "/no-acs", "0000:0a:00.1", &iso);
        assert_int_equal(iso.cause, HP_ISOLATION_FUNCTIONS);
        assert_string_equal(iso.culprit, "0000:0a:00.0");
        hp_isolation_done(&iso);
        /* An isolated NVMe disk. */
        explain(FIXTURES_DIR "/no-acs", "0000:0b:00.0", &iso);
        assert_int_equal(iso.cause, HP_ISOLATION_OK);
        assert_null(iso.why);
}

/* A copy of the no-acs tree with one port's config space changed. */
static char *tree_with_config(const char *port, const uint8_t *cfg, size_t len)
{
        char tmpl[] = "/tmp/hp-acs-XXXXXX", cmd[512], path[512];
        char *dir = mkdtemp(tmpl);
        FILE *f;

        assert_non_null(dir);
        snprintf(cmd, sizeof(cmd), "cp -a '%s/no-acs/.' '%s'", FIXTURES_DIR, dir);
        assert_int_equal(system(cmd), 0);
        snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/%s/config", dir, port);
        f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(cfg, 1, len, f), len);
        fclose(f);
        return strdup(dir);
}

static void remove_tree(char *dir)
{
        char cmd[512];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
        free(dir);
}

static void test_explain_changed(void **state)
{
        struct hp_isolation iso;
        uint8_t cfg[4096];
        char *dir;

        (void)state;
        /* Config space read as non-root: 64 bytes. The next culprit above
         * (the chipset's multi-function upstream port) is still named. */
        make_cfg(cfg, HP_PCIE_DOWNSTREAM, false, 0, 0);
        dir = tree_with_config("0000:03:00.0", cfg, 64);
        explain(dir, "0000:04:00.0", &iso);
        assert_int_equal(iso.cause, HP_ISOLATION_NO_ACS);
        assert_string_equal(iso.culprit, "0000:02:00.0");
        hp_isolation_done(&iso);
        remove_tree(dir);

        /* A conventional PCI bridge (no PCIe capability) above the NIC. */
        cfg[0x34] = 0;
        dir = tree_with_config("0000:03:00.0", cfg, 256);
        explain(dir, "0000:04:00.0", &iso);
        assert_int_equal(iso.cause, HP_ISOLATION_PCI_BRIDGE);
        assert_string_equal(iso.culprit, "0000:03:00.0");
        assert_non_null(strstr(iso.fix, "can never be separated"));
        hp_isolation_done(&iso);
        remove_tree(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_explain_fixture),
                cmocka_unit_test(test_explain_changed),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
