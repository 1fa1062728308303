/* Unit tests: which stored device entries follow their devices to a new PCI
 * address (same IDs and serial), which are only possible matches, and which
 * are stale, on entries and inventories built in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "host/moves.h"
#include "host/pci.h"
#include "host/state.h"
#include "store/store.h"

#define MAX 8

static struct hp_pci_dev devs[MAX];
static char *serials[MAX];
static size_t n_devs;
static struct hp_dev_config cfgs[MAX];
static size_t n_cfgs;
static struct hp_dev_match *m;
static size_t n_m;

static int reset(void **state)
{
        (void)state;
        memset(devs, 0, sizeof(devs));
        memset(serials, 0, sizeof(serials));
        memset(cfgs, 0, sizeof(cfgs));
        n_devs = n_cfgs = 0;
        free(m);
        m = NULL;
        n_m = 0;
        return 0;
}

/* Devices are added in address order, as the scan sorts them. */
static void dev(const char *address, uint16_t device_id, const char *serial)
{
        struct hp_pci_dev *d = &devs[n_devs];

        snprintf(d->address, sizeof(d->address), "%s", address);
        assert_int_equal(hp_pci_addr_parse(address, &d->addr), 0);
        d->vendor_id = 0x144d;
        d->device_id = device_id;
        serials[n_devs++] = (char *)serial;
}

static void cfg(const char *address, uint16_t device_id, const char *serial)
{
        struct hp_dev_config *c = &cfgs[n_cfgs++];

        snprintf(c->address, sizeof(c->address), "%s", address);
        c->vendor_id = 0x144d;
        c->device_id = device_id;
        c->serial = (char *)serial;
}

static void match(void)
{
        struct hp_pci_inventory inv = { .devs = devs, .n_devs = n_devs };
        struct hp_host_state st = { .inv = &inv, .configs = cfgs, .n_configs = n_cfgs, .serials = serials };

        assert_int_equal(hp_dev_match_all(&st, &m, &n_m), 0);
}

static void in_place_no_match(void **state)
{
        (void)state;
        dev("0000:01:00.0", 0xa808, "nvme:A");
        cfg("0000:01:00.0", 0xa808, "nvme:A");
        match();
        assert_int_equal(n_m, 0);
}

static void moved_with_serial(void **state)
{
        (void)state;
        dev("0000:04:00.0", 0xa808, "nvme:A");
        dev("0000:05:00.0", 0x1234, NULL);
        cfg("0000:05:00.0", 0xa808, "nvme:A");
        match();
        assert_int_equal(n_m, 1);
        assert_int_equal(m[0].kind, HP_DEV_MATCH_MOVED);
        assert_string_equal(m[0].from, "0000:05:00.0");
        assert_string_equal(m[0].to, "0000:04:00.0");
}

static void gone_is_stale(void **state)
{
        (void)state;
        dev("0000:04:00.0", 0x1234, NULL);
        cfg("0000:05:00.0", 0xa808, "nvme:A");
        match();
        assert_int_equal(n_m, 1);
        assert_int_equal(m[0].kind, HP_DEV_MATCH_STALE);
}

static void other_serial_is_stale(void **state)
{
        (void)state;
        dev("0000:04:00.0", 0xa808, "nvme:B");
        cfg("0000:05:00.0", 0xa808, "nvme:A");
        match();
        assert_int_equal(n_m, 1);
        assert_int_equal(m[0].kind, HP_DEV_MATCH_STALE);
}

static void no_serial_is_uncertain(void **state)
{
        (void)state;
        dev("0000:04:00.0", 0xa808, NULL);
        cfg("0000:05:00.0", 0xa808, NULL);
        match();
        assert_int_equal(n_m, 1);
        assert_int_equal(m[0].kind, HP_DEV_MATCH_UNCERTAIN);
        assert_string_equal(m[0].to, "0000:04:00.0");
        assert_int_equal(m[0].n_candidates, 1);
        assert_string_equal(m[0].why, "no serial");
}

static void serial_unreadable_now_is_uncertain(void **state)
{
        (void)state;
        dev("0000:04:00.0", 0xa808, NULL); /* on vfio-pci: no NVMe serial to read */
        cfg("0000:05:00.0", 0xa808, "nvme:A");
        match();
        assert_int_equal(n_m, 1);
        assert_int_equal(m[0].kind, HP_DEV_MATCH_UNCERTAIN);
}

static void several_candidates(void **state)
{
        (void)state;
        dev("0000:03:00.0", 0xa808, NULL);
        dev("0000:04:00.0", 0xa808, NULL);
        cfg("0000:05:00.0", 0xa808, NULL);
        match();
        assert_int_equal(n_m, 1);
        assert_int_equal(m[0].kind, HP_DEV_MATCH_UNCERTAIN);
        assert_int_equal(m[0].n_candidates, 2);
        assert_string_equal(m[0].to, "0000:03:00.0");
        assert_string_equal(m[0].why, "several devices");
}

/* Its serial is at an address that keeps an entry of its own: the operator decides. */
static void configured_device_is_no_candidate(void **state)
{
        (void)state;
        dev("0000:04:00.0", 0xa808, "nvme:A");
        cfg("0000:04:00.0", 0xa808, NULL); /* its own entry, in place */
        cfg("0000:05:00.0", 0xa808, "nvme:A");
        match();
        assert_int_equal(n_m, 1);
        assert_string_equal(m[0].from, "0000:05:00.0");
        assert_int_equal(m[0].kind, HP_DEV_MATCH_UNCERTAIN);
        assert_string_equal(m[0].why, "address taken");
}

static void swapped_nics(void **state)
{
        (void)state;
        dev("0000:03:00.0", 0x1533, "mac:bb");
        dev("0000:04:00.0", 0x1533, "mac:aa");
        cfg("0000:03:00.0", 0x1533, "mac:aa");
        cfg("0000:04:00.0", 0x1533, "mac:bb");
        match();
        assert_int_equal(n_m, 2);
        assert_int_equal(m[0].kind, HP_DEV_MATCH_MOVED);
        assert_string_equal(m[0].to, "0000:04:00.0");
        assert_int_equal(m[1].kind, HP_DEV_MATCH_MOVED);
        assert_string_equal(m[1].to, "0000:03:00.0");
}

static void replaced_by_identical_stays(void **state)
{
        (void)state;
        dev("0000:03:00.0", 0x1533, "mac:cc"); /* a new card of the same model */
        cfg("0000:03:00.0", 0x1533, "mac:aa");
        match();
        assert_int_equal(n_m, 0);
}

static void move_onto_a_kept_entry_is_uncertain(void **state)
{
        (void)state;
        dev("0000:03:00.0", 0x1533, "mac:bb"); /* B's card, where A's entry stays (A's card is gone) */
        dev("0000:04:00.0", 0x1533, "mac:zz");
        cfg("0000:03:00.0", 0x1533, "mac:aa");
        cfg("0000:04:00.0", 0x1533, "mac:bb");
        match();
        /* A's entry stays (its serial is nowhere); B's cannot take 03 from it. */
        assert_int_equal(n_m, 1);
        assert_string_equal(m[0].from, "0000:04:00.0");
        assert_int_equal(m[0].kind, HP_DEV_MATCH_UNCERTAIN);
        assert_string_equal(m[0].why, "address taken");
}

static void two_entries_one_device(void **state)
{
        (void)state;
        dev("0000:03:00.0", 0xa808, "nvme:A");
        cfg("0000:05:00.0", 0xa808, "nvme:A");
        cfg("0000:06:00.0", 0xa808, "nvme:A");
        match();
        assert_int_equal(n_m, 2);
        assert_int_equal(m[0].kind, HP_DEV_MATCH_UNCERTAIN);
        assert_int_equal(m[1].kind, HP_DEV_MATCH_UNCERTAIN);
}

/* A VM's run holds its device where it was given: that entry stays, even
 * when a device with its serial stands elsewhere. */
static void assigned_entry_stays(void **state)
{
        (void)state;
        dev("0000:04:00.0", 0xa808, "nvme:A");
        cfg("0000:05:00.0", 0xa808, "nvme:A");
        cfgs[0].assigned_vm = (char *)"db";
        match();
        assert_int_equal(n_m, 0);
        cfgs[0].assigned_vm = NULL;
        match();
        assert_int_equal(n_m, 1);
        assert_int_equal(m[0].kind, HP_DEV_MATCH_MOVED);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(in_place_no_match, reset),
                cmocka_unit_test_setup(moved_with_serial, reset),
                cmocka_unit_test_setup(gone_is_stale, reset),
                cmocka_unit_test_setup(other_serial_is_stale, reset),
                cmocka_unit_test_setup(no_serial_is_uncertain, reset),
                cmocka_unit_test_setup(serial_unreadable_now_is_uncertain, reset),
                cmocka_unit_test_setup(several_candidates, reset),
                cmocka_unit_test_setup(configured_device_is_no_candidate, reset),
                cmocka_unit_test_setup(swapped_nics, reset),
                cmocka_unit_test_setup(replaced_by_identical_stays, reset),
                cmocka_unit_test_setup(move_onto_a_kept_entry_is_uncertain, reset),
                cmocka_unit_test_setup(two_entries_one_device, reset),
                cmocka_unit_test_setup(assigned_entry_stays, reset),
        };

        return cmocka_run_group_tests(tests, reset, reset);
}
