/* The probe guest's serial output read back: functions, BARs, the device's
 * register lines, and what is malformed. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdio.h>

#include <cmocka.h>

#include "util/hostroot.h"
#include "util/macro.h"
#include "vm/probe.h"
#include "vm/user.h"

#define SAMPLE FIXTURES_DIR "/../probe/nvme-behind-root-port.txt"

static void test_parse_sample(void **state)
{
        _cleanup_(hp_probe_report_done) struct hp_probe_report r = { 0 };
        _cleanup_free_ char *text = NULL;
        const struct hp_probe_fn *f;

        (void)state;
        assert_int_equal(hp_attr_read_alloc(AT_FDCWD, SAMPLE, &text), 0);
        assert_int_equal(hp_probe_parse(text, &r), 0);
        assert_true(r.done);
        assert_int_equal(r.n_fns, 7);
        f = hp_probe_find(&r, 0x1b36, 0x0010);
        assert_non_null(f);
        assert_int_equal(f->bus, 1);
        assert_int_equal(f->dev, 0);
        assert_int_equal(f->class, 0x010802);
        assert_int_equal(f->n_bars, 1);
        assert_int_equal(f->bars[0].index, 0);
        assert_string_equal(f->bars[0].kind, "mem64");
        assert_true(f->bars[0].addr == 0x100000000ull);
        assert_true(f->bars[0].size == 0x4000);
        assert_non_null(f->detail);
        assert_non_null(strstr(f->detail, "identify=ok vid=1b36 sn=\"hwpassprobe1\""));
        assert_false(f->detail_failed);
        /* Functions on the root bus are the machine's own, never the device. */
        assert_null(hp_probe_find(&r, 0x8086, 0x10d3));
        /* The 32 GiB prefetchable BAR of the pci-testdev. */
        assert_int_equal(r.fns[3].vendor_id, 0x1b36);
        assert_int_equal(r.fns[3].device_id, 0x0005);
        assert_int_equal(r.fns[3].n_bars, 3);
        assert_string_equal(r.fns[3].bars[2].kind, "mem64p");
        assert_true(r.fns[3].bars[2].size == 32ull << 30);
}

static void test_parse_failure_and_unfinished(void **state)
{
        _cleanup_(hp_probe_report_done) struct hp_probe_report r = { 0 };
        const char *text = "SeaBIOS\r\nPROBE start\r\n"
                           "PROBE dev=01:00.0 id=8086:10d3 class=020000 bars=0:mem32:0xfe000000/0x20000\r\n"
                           "PROBE e1000e dev=01:00.0 status=fail reason=all-ones\r\n";

        (void)state;
        assert_int_equal(hp_probe_parse(text, &r), 0);
        assert_false(r.done);
        assert_int_equal(r.n_fns, 1);
        assert_true(r.fns[0].detail_failed);
        assert_string_equal(r.fns[0].detail, "e1000e dev=01:00.0 status=fail reason=all-ones");
}

static void test_parse_malformed(void **state)
{
        struct hp_probe_report r = { 0 };

        (void)state;
        assert_int_equal(hp_probe_parse("PROBE dev=01:00 id=8086:10d3 class=020000 bars=\n", &r), -EBADMSG);
        assert_int_equal(hp_probe_parse("PROBE dev=01:00.0 id=8086:10d3 class=020000 bars=0:mem32:zz\n", &r),
                         -EBADMSG);
        assert_int_equal(hp_probe_parse("PROBE dev=01:00.0 class=020000 bars=\n", &r), -EBADMSG);
        assert_int_equal(hp_probe_parse("PROBE nvme dev=zz identify=ok\n", &r), -EBADMSG);
}

static void test_empty(void **state)
{
        _cleanup_(hp_probe_report_done) struct hp_probe_report r = { 0 };

        (void)state;
        assert_int_equal(hp_probe_parse("", &r), 0);
        assert_false(r.done);
        assert_int_equal(r.n_fns, 0);
        assert_null(hp_probe_find(&r, 0x1b36, 0x0010));
}

/* The two limits of a probe run, with sh standing in for QEMU: the guest's
 * timeout counts from its first line, not from the start of the process. */
static void run_sh(const char *script, int start_ms, int timeout_ms, int expect_r, int expect_status)
{
        char dir[] = "/tmp/hwpass-probe-XXXXXX", serial[64], log[64];
        char *argv[] = { (char *)"sh", (char *)"-c", NULL, (char *)"sh", serial, NULL };
        struct hp_vm_user u = HP_VM_USER_NONE; /* run as this process */
        int status = 0, fd;

        assert_non_null(mkdtemp(dir));
        snprintf(serial, sizeof(serial), "%s/serial.log", dir);
        snprintf(log, sizeof(log), "%s/qemu.log", dir);
        argv[2] = (char *)script;
        /* An earlier run's start line must not count. */
        fd = open(serial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "PROBE start\n", 12), 12);
        close(fd);
        assert_int_equal(hp_probe_run(argv, &u, log, serial, start_ms, timeout_ms, &status),
                         expect_r);
        assert_int_equal(status, expect_status);
        unlink(serial);
        unlink(log);
        rmdir(dir);
}

static void test_run_limits(void **state)
{
        (void)state;
        /* A slow start (a large BAR being mapped) is not the guest's time. */
        run_sh("sleep 1; echo 'PROBE start' >\"$1\"; sleep 0.2; exit 33", 5000, 800, 0, 33);
        /* Once started, the guest has its timeout. */
        run_sh("echo 'PROBE start' >\"$1\"; sleep 5", 5000, 300, -ETIMEDOUT, -1);
        /* A start that never comes ends at the start limit. */
        run_sh("sleep 5", 300, 5000, -ETIME, -1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_sample),
                cmocka_unit_test(test_parse_failure_and_unfinished),
                cmocka_unit_test(test_parse_malformed),
                cmocka_unit_test(test_empty),
                cmocka_unit_test(test_run_limits),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
