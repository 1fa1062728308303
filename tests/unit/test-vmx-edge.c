/* Unit tests: the edges of .vmx import. The line syntax as VMware reads it
 * (comments after a value, one setting per line), entry numbers hwpass cannot
 * take, settings that are not carried over, the disk hint, and a file of very
 * many keys (read in linear time; checked for its result, not timed). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/macro.h"
#include "vmx-helpers.h"

/* VMware ends an unquoted value at a blank or '#': the rest is a comment. */
static void test_comments(void **state)
{
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };

        (void)state;
        parse_ok("displayName = t # the name\n"
                 "memSize = 2048 # 2 GB\n"
                 "numvcpus = 4#four\n"
                 "guestOS =   # empty\n"
                 "pciPassthru0.present = \"TRUE\"\n"
                 "pciPassthru0.allowedDevices = \"0x10de:0x2206\"\n"
                 "pciPassthru0.customLabel = \"a # b\" # inside quotes it is no comment\n",
                 NULL, &x);
        assert_string_equal(x.spec.name, "t");
        assert_true(x.spec.memory_mib == 2048);
        assert_int_equal(x.spec.vcpus, 4);
        assert_string_equal(x.spec.pci[0].label, "a # b");
        assert_int_equal(n_warnings(&x), 0);
}

/* What VMware ignores as a malformed line is refused, quoting the line. */
static void test_one_setting_per_line(void **state)
{
        (void)state;
        parse_bad(BASE "numvcpus = \"2\" guestOS = \"other\"\n",
                  "line 3: \"numvcpus = \"2\" guestOS = \"other\"\": \"guestOS = \"other\"\" follows "
                  "the value of numvcpus",
                  "write one key = \"value\" per line");
        parse_bad(BASE "numvcpus = 2 guestOS = other\n",
                  "line 3: \"numvcpus = 2 guestOS = other\"", "VMware ignores such a line");
        parse_bad(BASE "guestOS = other os\n", "line 3", "quote a value that has spaces");
        parse_bad(BASE "x = \"a\" \"b\"\n", "line 3", "\"\"b\"\" follows the value of x");
}

/* pciPassthru01 and pciPassthru99999 are refused like pciPassthru255, by key. */
static void test_odd_entry_numbers(void **state)
{
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };

        (void)state;
        parse_bad(BASE "pciPassthru01.present = \"TRUE\"\npciPassthru01.id = \"0000:65:00.0\"\n",
                  "line 3: pciPassthru01.present", "rename its keys to pciPassthru1.*");
        parse_bad(BASE "pciPassthru99999.present = \"TRUE\"\n"
                       "pciPassthru99999.id = \"0000:65:00.0\"\n",
                  "line 3: pciPassthru99999.present", "0 to 254");
        parse_bad(BASE "pciPassthru255.present = \"TRUE\"\npciPassthru255.id = \"0000:65:00.0\"\n",
                  "line 3: pciPassthru255.present", "0 to 254");
        /* Switched off, like pciPassthru255 switched off: nothing to take. */
        parse_ok(BASE "pciPassthru99999.present = \"FALSE\"\npciPassthru01.present = \"FALSE\"\n",
                 NULL, &x);
        assert_int_equal(x.spec.n_pci, 0);
        assert_int_equal(n_warnings(&x), 0);
}

static void test_not_carried_over(void **state)
{
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };

        (void)state;
        parse_ok(BASE "firmware = \"efi\"\nuefi.secureBoot.enabled = \"FALSE\"\n"
                      "serial0.present = \"FALSE\"\nsound.present = \"FALSE\"\n",
                 NULL, &x);
        assert_int_equal(n_warnings(&x), 0);
        hp_vmx_import_done(&x);

        parse_ok(BASE "firmware = \"efi\"\nuefi.secureBoot.enabled = \"TRUE\"\n"
                      "serial0.present = \"TRUE\"\nserial0.fileType = \"pipe\"\n"
                      "serial1.present = \"TRUE\"\nsound.present = \"TRUE\"\n"
                      "sound.virtualDev = \"hdaudio\"\n",
                 NULL, &x);
        assert_int_equal(n_warnings(&x), 4);
        warning(&x, "uefi.secureBoot.enabled = \"TRUE\"", "Secure Boot");
        warning(&x, "serial0 (pipe) was not carried over", "'hwpass vm log t'");
        warning(&x, "serial1 (", "not carried over");
        warning(&x, "sound.present = \"TRUE\" (hdaudio)", "pass the host's sound card through");
}

/* The disk hint names a command that takes --disk. */
static void test_disk_hint(void **state)
{
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };

        (void)state;
        parse_ok(BASE "scsi0:0.present = \"TRUE\"\nscsi0:0.fileName = \"t.vmdk\"\n", NULL, &x);
        warning(&x, "scsi0:0.fileName = \"t.vmdk\"",
                "'hwpass vm import-vmx FILE.vmx --disk \"t.qcow2\"' (after 'hwpass vm delete t' "
                "if it is imported already)");
}

/* 124,000 short keys (a 1 MiB file): every one is read and the repeat of
 * one of them, in another case, is found. */
static void test_many_keys(void **state)
{
        enum { N = 124000 };
        size_t cap = N * 24 + 256, len = 0;
        _cleanup_free_ char *text = malloc(cap);
        _cleanup_(hp_vmx_import_done) struct hp_vmx_import x = { 0 };

        (void)state;
        assert_non_null(text);
        len += (size_t)snprintf(text, cap, "%s", BASE);
        for (int i = 0; i < N; i++)
                len += (size_t)snprintf(text + len, cap - len, "k%d = \"%d\"\n", i, i);
        len += (size_t)snprintf(text + len, cap - len, "numvcpus = \"3\"\n");
        assert_true(len < cap);
        parse_ok(text, NULL, &x);
        assert_true(x.spec.memory_mib == 1024);
        assert_int_equal(x.spec.vcpus, 3);
        assert_int_equal(n_warnings(&x), 0);

        snprintf(text + len, cap - len, "K123456 = \"again\"\n");
        parse_bad(text, "line 124004: K123456 repeats the key of line 123459", "k123456");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_comments),         cmocka_unit_test(test_one_setting_per_line),
                cmocka_unit_test(test_odd_entry_numbers), cmocka_unit_test(test_not_carried_over),
                cmocka_unit_test(test_disk_hint),        cmocka_unit_test(test_many_keys),
        };

        return cmocka_run_group_tests_name("vmx-edge", tests, NULL, NULL);
}
