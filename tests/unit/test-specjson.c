/* Unit tests: VM specs from JSON (the store's text, the body of POST
 * /v1/vms). A value out of range is refused with the field named, never
 * wrapped into another value, and a spec that loads is written back as text
 * that loads to the same text (the property tests/fuzz/fuzz-request checks). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/macro.h"
#include "vm/spec.h"
#include "vm/specjson.h"

#define SIZED(mib, vcpus, extra)                                                                   \
        "{\"name\": \"t\", \"memory_mib\": " mib ", \"vcpus\": " vcpus                             \
        ", \"firmware\": \"bios\"" extra "}"
#define VM(extra)       SIZED("32", "1", extra)
#define PCI(entry)      VM(", \"pci\": [" entry "]")
#define STATIC(address) PCI("{\"index\": 0, \"kind\": \"static\", \"address\": \"" address "\"}")
#define USB(entry)      VM(", \"usb\": [" entry "]")

/* Loads text, writes it back, loads that: the same text again. */
static void expect_round_trip(const char *text)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = { 0 }, again = { 0 };
        _cleanup_free_ char *err = NULL, *err2 = NULL, *out = NULL, *out2 = NULL;

        if (hp_vm_spec_from_text(text, &s, &err) < 0)
                fail_msg("refused: %s\n%s", err ? err : "(no message)", text);
        assert_int_equal(hp_vm_spec_to_text(&s, &out), 0);
        assert_int_equal(hp_vm_spec_from_text(out, &again, &err2), 0);
        assert_int_equal(hp_vm_spec_to_text(&again, &out2), 0);
        assert_string_equal(out, out2);
}

/* Refused, with a message that names what is wrong. */
static void expect_refused(const char *text, const char *says)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = { 0 };
        _cleanup_free_ char *err = NULL;
        int r = hp_vm_spec_from_text(text, &s, &err);

        if (r != -EINVAL)
                fail_msg("taken (%d), expected a refusal saying \"%s\":\n%s", r, says, text);
        assert_non_null(err);
        if (!strstr(err, says))
                fail_msg("\"%s\" does not say \"%s\"", err, says);
}

static void test_round_trip(void **state)
{
        (void)state;
        expect_round_trip(VM(""));
        expect_round_trip(
                VM(", \"device_limit\": 64, \"autostart\": {\"order\": 9999, \"delay\": 3600}"));
        expect_round_trip(SIZED("17592186044415", "1024", "")); /* bytes: 2^64 - 2^20 */
        expect_round_trip(STATIC("0000:0c:00.0"));
        expect_round_trip(
                PCI("{\"index\": 2147483647, \"kind\": \"dynamic\", \"allowed\": [\"10de:2206\"], "
                    "\"primary_display\": false}"));
        expect_round_trip(USB(
                "{\"index\": 0, \"kind\": \"port\", \"bus\": 127, \"port\": \"31.1.2.3.4.5.6\"}, "
                "{\"index\": 1, \"kind\": \"id\", \"vendor_id\": \"046d\", \"product_id\": "
                "\"c52b\"}"));
}

/* auto, bios and efi are kept as written; a document without firmware is a
 * new VM's: auto. */
static void test_firmware(void **state)
{
        static const char *const doc = "{\"name\": \"t\", \"memory_mib\": 32, \"vcpus\": 1}";
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = { 0 };
        _cleanup_free_ char *err = NULL, *out = NULL;

        (void)state;
        expect_round_trip("{\"name\": \"t\", \"memory_mib\": 32, \"vcpus\": 1, \"firmware\": \"auto\"}");
        expect_round_trip("{\"name\": \"t\", \"memory_mib\": 32, \"vcpus\": 1, \"firmware\": \"efi\"}");
        assert_int_equal(hp_vm_spec_from_text(VM(""), &s, &err), 0);
        assert_int_equal(s.firmware, HP_VM_FIRMWARE_BIOS); /* stored before auto: stays BIOS */
        hp_vm_spec_done(&s);
        assert_int_equal(hp_vm_spec_from_text(doc, &s, &err), 0);
        assert_int_equal(s.firmware, HP_VM_FIRMWARE_AUTO);
        assert_int_equal(hp_vm_spec_to_text(&s, &out), 0);
        assert_non_null(strstr(out, "\"firmware\":\"auto\""));
        expect_refused("{\"name\": \"t\", \"memory_mib\": 32, \"vcpus\": 1, \"firmware\": \"uefi\"}",
                       "'firmware' must be \"auto\"");
        expect_refused("{\"name\": \"t\", \"memory_mib\": 32, \"vcpus\": 1, \"firmware\": null}",
                       "'firmware' must be");
        expect_refused("{\"name\": \"t\", \"memory_mib\": 32, \"vcpus\": 1, \"firmware\": 1}",
                       "'firmware' must be");
}

/* Was wrapped to 0 ("no devices"), written back as 0, read back as 16. */
static void test_device_limit(void **state)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = { 0 };
        _cleanup_free_ char *err = NULL;

        (void)state;
        expect_refused(VM(", \"device_limit\": 4294967296"), "'device_limit' must be 1 to 64");
        expect_refused(VM(", \"device_limit\": 65"), "'device_limit'");
        expect_refused(VM(", \"device_limit\": 0"), "'device_limit'");
        expect_refused(VM(", \"device_limit\": -1"), "'device_limit'");
        expect_refused(VM(", \"device_limit\": \"8\""), "'device_limit'");
        assert_int_equal(hp_vm_spec_from_text(VM(""), &s, &err), 0);
        assert_int_equal(s.device_limit, HP_VM_DEFAULT_DEVICE_LIMIT);
}

/* A delay of -1 was 4294967295 s, which host start-vms would sleep; an order
 * of 2^32 + 1 was order 1. */
static void test_autostart(void **state)
{
        (void)state;
        expect_refused(VM(", \"autostart\": {\"order\": 1, \"delay\": -1}"),
                       "'delay' 0 to 3600 seconds");
        expect_refused(VM(", \"autostart\": {\"order\": 1, \"delay\": 3601}"), "'delay'");
        expect_refused(VM(", \"autostart\": {\"order\": 4294967297}"), "'order' must be 0 to 9999");
        expect_refused(VM(", \"autostart\": {\"order\": -1}"), "'order'");
        expect_refused(VM(", \"autostart\": {\"delay\": 5}"), "'order'");
        expect_refused(VM(", \"autostart\": {\"order\": 1, \"after\": \"x\"}"),
                       "unknown field 'after'");
        expect_refused(VM(", \"autostart\": 5"), "'autostart' must be an object or null");
        expect_round_trip(VM(", \"autostart\": {\"order\": 0}"));
        expect_round_trip(VM(", \"autostart\": null"));
}

/* A VM's own placement policy is kept as written; one that names none is
 * written without the field, exactly as before the field existed. */
static void test_placement(void **state)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = { 0 }, none = { 0 };
        _cleanup_free_ char *err = NULL, *out = NULL, *plain = NULL;

        (void)state;
        expect_round_trip(VM(", \"placement\": \"performance\""));
        expect_round_trip(VM(", \"placement\": \"consolidation\""));
        expect_round_trip(VM(", \"placement\": null"));
        assert_int_equal(hp_vm_spec_from_text(VM(", \"placement\": \"consolidation\""), &s, &err), 0);
        assert_int_equal(s.placement, HP_VM_PLACEMENT_CONSOLIDATION);
        assert_int_equal(hp_vm_spec_to_text(&s, &out), 0);
        assert_non_null(strstr(out, "\"autostart\":null,\"placement\":\"consolidation\",\"pci\""));
        assert_int_equal(hp_vm_spec_from_text(VM(""), &none, &err), 0);
        assert_int_equal(none.placement, HP_VM_PLACEMENT_CLUSTER);
        assert_int_equal(hp_vm_spec_to_text(&none, &plain), 0);
        assert_null(strstr(plain, "placement"));
        expect_refused(VM(", \"placement\": \"spread\""),
                       "'placement' must be \"performance\" (spread over the hosts), \"consolidation\"");
        expect_refused(VM(", \"placement\": \"cluster\""), "'placement' must be");
        expect_refused(VM(", \"placement\": 1"), "'placement' must be");
}

/* Memory is handed on in bytes: 2^44 MiB is 2^64 bytes, which was 0. */
static void test_memory(void **state)
{
        (void)state;
        expect_refused(SIZED("17592186044416", "1", ""),
                       "'memory_mib' must be 1 to 17592186044415");
        expect_refused(SIZED("0", "1", ""), "'memory_mib'");
        expect_refused(SIZED("32.0", "1", ""), "'memory_mib'");
        expect_refused(SIZED("32", "1025", ""), "'vcpus' must be 1 to 1024");
        expect_refused("{\"name\": \"t\", \"memory_mib\": 32, \"firmware\": \"bios\"}", "'vcpus'");
}

/* Indices were cast to int: 2^32 was pci0; a USB index was not checked at
 * all ("x" was usb0). */
static void test_index(void **state)
{
        (void)state;
        expect_refused(
                PCI("{\"index\": 4294967296, \"kind\": \"static\", \"address\": \"0000:0c:00.0\"}"),
                "pci: 'index' must be a non-negative integer");
        expect_refused(USB("{\"index\": \"x\", \"kind\": \"id\", \"vendor_id\": \"046d\", "
                           "\"product_id\": \"c52b\"}"),
                       "usb: 'index' must be a non-negative integer");
        expect_refused(USB("{\"kind\": \"id\", \"vendor_id\": \"046d\", \"product_id\": \"c52b\"}"),
                       "usb: 'index'");
}

/* Any 12 characters were taken as an address: "../../../etc" too. */
static void test_static_address(void **state)
{
        (void)state;
        expect_refused(STATIC("../../../etc"), "pci0: a static entry needs 'address'");
        expect_refused(STATIC("0000:0C:00.0"), "'address'"); /* the inventory writes lower case */
        expect_refused(STATIC("0000:0c:20.0"), "'address'"); /* device 0x20 > 0x1f */
        expect_refused(STATIC("0000:0c:00.8"), "'address'");
        expect_refused(STATIC("0c:00.0"), "'address'");
        expect_refused(PCI("{\"index\": 0, \"kind\": \"static\", \"address\": \"0000:0c:00.0\", "
                           "\"primary_display\": \"yes\"}"),
                       "pci0: 'primary_display' must be true or false");
}

/* The bus was cast to int (2^32 + 1 was bus 1) and the text cut at 63
 * characters before it was read. */
static void test_usb_port(void **state)
{
        (void)state;
        expect_refused(
                USB("{\"index\": 0, \"kind\": \"port\", \"bus\": 4294967297, \"port\": \"1\"}"),
                "usb0: 'bus' and 'port' do not name a USB port");
        expect_refused(USB("{\"index\": 0, \"kind\": \"port\", \"bus\": 128, \"port\": \"1\"}"),
                       "usb0: 'bus'");
        expect_refused(
                USB("{\"index\": 0, \"kind\": \"port\", \"bus\": 1, \"port\": "
                    "\"1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1\"}"),
                "usb0: 'bus'");
        expect_refused(USB("{\"index\": 0, \"kind\": \"port\", \"port\": \"1\"}"), "usb0: 'bus'");
}

static void test_types(void **state)
{
        (void)state;
        expect_refused(VM(", \"disks\": \"/var/lib/t.img\""),
                       "'disks', 'pci' and 'usb' must be arrays");
        expect_refused(VM(", \"pci\": {}"), "must be arrays");
        expect_refused(VM(", \"usb\": 1"), "must be arrays");
        expect_refused(VM(", \"hugepages\": 1"), "'hugepages' must be true or false");
        expect_round_trip(VM(", \"disks\": null, \"pci\": null, \"usb\": null"));
}

#define DYN(extra) PCI("{\"index\": 3, \"kind\": \"dynamic\", \"allowed\": [\"10de:2331\", \"10de:20b5\"]" extra "}")

/* The request language: alternatives keep their order, count, attributes,
 * groups and all-functions are kept; a document written before them still
 * loads and means one device, no attribute, no group. */
static void test_request(void **state)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = { 0 }, old = { 0 };
        _cleanup_free_ char *err = NULL, *text = NULL;

        (void)state;
        expect_round_trip(DYN(", \"count\": 8, \"attrs\": {\"rack\": \"a1\", \"fw\": \"2.1\"}, "
                              "\"groups\": {\"same_numa\": \"gpu\", \"same_switch\": \"io-1\"}, "
                              "\"all_functions\": true"));
        assert_int_equal(hp_vm_spec_from_text(DYN(", \"count\": 8, \"attrs\": {\"rack\": \"a1\"}, "
                                                  "\"groups\": {\"same_numa\": \"gpu\"}"),
                                              &s, &err),
                         0);
        assert_int_equal(s.pci[0].allowed[0].device_id, 0x2331);
        assert_int_equal(s.pci[0].allowed[1].device_id, 0x20b5);
        assert_int_equal(s.pci[0].count, 8);
        assert_string_equal(s.pci[0].attrs[0], "rack=a1");
        assert_null(s.pci[0].attrs[1]);
        assert_string_equal(s.pci[0].same_numa, "gpu");
        assert_null(s.pci[0].same_switch);
        assert_false(s.pci[0].all_functions);
        assert_int_equal(hp_vm_spec_to_text(&s, &text), 0);
        assert_non_null(strstr(text, "\"allowed\":[\"10de:2331\",\"10de:20b5\"],\"count\":8"));
        assert_int_equal(hp_vm_spec_device_count(&s), 8);

        assert_int_equal(hp_vm_spec_from_text(DYN(""), &old, &err), 0);
        assert_int_equal(hp_vm_pci_count(&old.pci[0]), 1);
        assert_null(old.pci[0].attrs);
        assert_null(old.pci[0].same_numa);
        assert_false(old.pci[0].all_functions);

        expect_refused(DYN(", \"count\": 0"), "pci3: 'count' must be 1 to 64");
        expect_refused(DYN(", \"count\": 65"), "'count' must be 1 to 64");
        expect_refused(DYN(", \"groups\": {\"same_rack\": \"a\"}"),
                       "pci3: unknown group kind 'same_rack': \"same_numa\" or \"same_switch\"");
        expect_refused(DYN(", \"groups\": {\"same_numa\": \"a b\"}"), "pci3: invalid same-numa group 'a b'");
        expect_refused(DYN(", \"groups\": {\"same_numa\": 5}"), "must name a group");
        expect_refused(DYN(", \"groups\": [\"same_numa\"]"), "'groups' must be");
        expect_refused(DYN(", \"attrs\": {\"Rack\": \"a\"}"), "pci3: invalid attribute 'Rack=a'");
        expect_refused(DYN(", \"attrs\": {\"rack\": \"\"}"), "the value must be 1 to 128");
        expect_refused(DYN(", \"attrs\": {\"rack\": 1}"), "attribute 'rack' must be a string");
        expect_refused(DYN(", \"all_functions\": 1"), "'all_functions' must be true or false");
        expect_refused(PCI("{\"index\": 0, \"kind\": \"static\", \"address\": \"0000:0c:00.0\", \"count\": 2}"),
                       "pci0: a count goes with allowed IDs");
        expect_refused(PCI("{\"index\": 0, \"kind\": \"static\", \"address\": \"0000:0c:00.0\", "
                           "\"groups\": {\"same_numa\": \"g\"}}"),
                       "a same-numa group goes with allowed IDs");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip), cmocka_unit_test(test_firmware), cmocka_unit_test(test_device_limit),
                cmocka_unit_test(test_autostart),  cmocka_unit_test(test_memory), cmocka_unit_test(test_request),
                cmocka_unit_test(test_index),      cmocka_unit_test(test_static_address),
                cmocka_unit_test(test_usb_port),   cmocka_unit_test(test_types),
                cmocka_unit_test(test_placement),
        };

        return cmocka_run_group_tests_name("specjson", tests, NULL, NULL);
}
