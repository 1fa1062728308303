/* Unit tests: number parsing, string vectors, whole reads and writes, the host
 * root's confinement. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/hostroot.h"
#include "util/io.h"
#include "util/macro.h"
#include "util/strutil.h"

static void test_parse_u64(void **state)
{
        uint64_t v = 7;

        (void)state;
        assert_int_equal(hp_parse_u64("0x10de\n", 16, &v), 0);
        assert_int_equal(v, 0x10de);
        assert_int_equal(hp_parse_u64("10de", 16, &v), 0);
        assert_int_equal(v, 0x10de);
        assert_int_equal(hp_parse_u64("18446744073709551615", 10, &v), 0);
        assert_true(v == UINT64_MAX);
        v = 7;
        assert_int_equal(hp_parse_u64("18446744073709551616", 10, &v), -ERANGE);
        assert_int_equal(hp_parse_u64("", 10, &v), -EINVAL);
        assert_int_equal(hp_parse_u64("-1", 10, &v), -EINVAL);
        assert_int_equal(hp_parse_u64("12abc", 10, &v), -EINVAL);
        assert_int_equal(hp_parse_u64("zz", 16, &v), -EINVAL);
        assert_int_equal(v, 7); /* untouched on failure */
}

static void test_parse_int(void **state)
{
        int v = 3;

        (void)state;
        assert_int_equal(hp_parse_int("-1\n", &v), 0);
        assert_int_equal(v, -1);
        assert_int_equal(hp_parse_int(" 42 ", &v), 0);
        assert_int_equal(v, 42);
        assert_int_equal(hp_parse_int("4294967296", &v), -ERANGE);
        assert_int_equal(hp_parse_int("4x", &v), -EINVAL);
        assert_int_equal(hp_parse_int("", &v), -EINVAL);
        assert_int_equal(v, 42);
}

static void test_strv(void **state)
{
        _cleanup_strv_free_ char **v = NULL;

        (void)state;
        assert_int_equal(hp_strv_split("  flr  bus\n", &v), 0);
        assert_int_equal(hp_strv_length(v), 2);
        assert_string_equal(v[0], "flr");
        assert_string_equal(v[1], "bus");
        assert_null(v[2]);
        assert_true(hp_strv_contains(v, "bus"));
        assert_false(hp_strv_contains(v, "pm"));
        assert_int_equal(hp_strv_push(&v, "pm"), 0);
        assert_int_equal(hp_strv_length(v), 3);
        hp_strv_free(v);
        v = NULL;
        assert_int_equal(hp_strv_split("", &v), 0);
        assert_non_null(v);
        assert_int_equal(hp_strv_length(v), 0);
}

static void test_format_size(void **state)
{
        char buf[32];

        (void)state;
        hp_format_size(16ull << 20, buf, sizeof(buf));
        assert_string_equal(buf, "16M");
        hp_format_size(128ull << 30, buf, sizeof(buf));
        assert_string_equal(buf, "128G");
        hp_format_size(4096, buf, sizeof(buf));
        assert_string_equal(buf, "4K");
        hp_format_size(100, buf, sizeof(buf));
        assert_string_equal(buf, "100");
        hp_format_size(1536, buf, sizeof(buf));
        assert_string_equal(buf, "1536");
}

static char tmp[64];

static void put_file(const char *rel, const char *content)
{
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", tmp, rel);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(content, f);
        fclose(f);
}

static int make_root(void **state)
{
        char path[512];

        (void)state;
        snprintf(tmp, sizeof(tmp), "/tmp/hwpass-unit-XXXXXX");
        assert_non_null(mkdtemp(tmp));
        snprintf(path, sizeof(path), "%s/root", tmp);
        mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/root/sys", tmp);
        mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/root/sys/bus", tmp);
        mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/root/proc", tmp);
        mkdir(path, 0755);
        put_file("root/proc/cmdline", "intel_iommu=on\n");
        put_file("secret", "outside\n");
        /* Links that try to leave the root. */
        snprintf(path, sizeof(path), "%s/root/sys/abs", tmp);
        assert_int_equal(symlink(tmp, path), 0);
        snprintf(path, sizeof(path), "%s/root/sys/rel", tmp);
        assert_int_equal(symlink("../..", path), 0);
        snprintf(path, sizeof(path), "%s/root/sys/bus/attr", tmp);
        assert_int_equal(symlink("../../../secret", path), 0);
        return 0;
}

static int remove_root(void **state)
{
        char cmd[128];

        (void)state;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
        assert_int_equal(WEXITSTATUS(system(cmd)), 0);
        return 0;
}

static void test_host_open_errors(void **state)
{
        struct hp_host *h = NULL;
        char path[512];

        (void)state;
        assert_int_equal(hp_host_open("/nonexistent/hwpass", &h), -ENOENT);
        snprintf(path, sizeof(path), "%s/secret", tmp);
        assert_int_equal(hp_host_open(path, &h), -ENOTDIR);
        assert_int_equal(hp_host_open(tmp, &h), -EMEDIUMTYPE);
        assert_null(h);
}

static void test_host_confined(void **state)
{
        _cleanup_(hp_host_freep) struct hp_host *h = NULL;
        _cleanup_free_ char *s = NULL;
        char path[512];
        char buf[64];
        int fd;

        (void)state;
        snprintf(path, sizeof(path), "%s/root", tmp);
        assert_int_equal(hp_host_open(path, &h), 0);
        assert_true(hp_host_read(h, "proc/cmdline", &s) > 0);
        assert_string_equal(s, "intel_iommu=on\n");
        free(TAKE_PTR(s));
        /* Absolute and climbing links resolve inside the root, where there
         * is no "secret": never the file beside the root. */
        assert_true(hp_host_read(h, "sys/abs/secret", &s) < 0);
        assert_true(hp_host_read(h, "sys/rel/secret", &s) < 0);
        assert_true(hp_host_read(h, "../secret", &s) < 0);
        assert_true(hp_host_read(h, "sys/bus/attr", &s) < 0);
        assert_null(s);
        /* An attribute that is a symlink is refused outright. */
        fd = hp_host_openat(h, "sys/bus", O_PATH | O_DIRECTORY);
        assert_true(fd >= 0);
        assert_true(hp_attr_read(fd, "attr", buf, sizeof(buf)) < 0);
        close(fd);
}

/* A pipe holding text, its writing end closed: what hp_read_all reads. */
static int pipe_with(const char *text, size_t n)
{
        int p[2];

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(write(p[1], text, n), (ssize_t)n);
        close(p[1]);
        return p[0];
}

static void test_read_all(void **state)
{
        char big[40000], *got = (char *)1;
        size_t len = 99;
        struct hp_buf b = { 0 };
        int fd;

        (void)state;
        memset(big, 'x', sizeof(big));
        fd = pipe_with(big, sizeof(big)); /* more than one read's chunk */
        assert_int_equal(hp_read_all(fd, sizeof(big), &got, &len), 0);
        assert_int_equal(len, sizeof(big));
        assert_int_equal(strlen(got), sizeof(big));
        free(got);
        close(fd);

        fd = pipe_with(big, sizeof(big));
        got = (char *)1;
        assert_int_equal(hp_read_all(fd, sizeof(big) - 1, &got, &len), -EFBIG);
        assert_ptr_equal(got, (char *)1); /* untouched on failure */
        close(fd);

        fd = pipe_with("", 0);
        assert_int_equal(hp_read_all(fd, 10, &got, NULL), 0);
        assert_string_equal(got, "");
        free(got);
        close(fd);

        assert_int_equal(hp_buf_append(&b, "ab", 2), 0);
        assert_int_equal(hp_buf_append(&b, "c\0d", 3), 0);
        assert_int_equal(b.len, 5);
        assert_memory_equal(b.data, "abc\0d", 6); /* NUL-terminated after the bytes */
        free(b.data);
}

/* Replaced whole, 0600, no temporary file left, a link at the temporary
 * name never followed; a missing directory is an error that leaves nothing. */
static void test_write_file_replace(void **state)
{
        char path[512], tmp_path[520], target[512], *got = NULL;
        struct stat st;
        int fd;

        (void)state;
        snprintf(path, sizeof(path), "%s/doc.json", tmp);
        snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", path);
        snprintf(target, sizeof(target), "%s/target", tmp);
        put_file("doc.json", "an old, longer text\n");
        put_file("target", "keep\n");
        assert_int_equal(symlink(target, tmp_path), 0);
        for (int sync = 0; sync < 2; sync++) {
                assert_int_equal(
                        hp_write_file_replace(path, sync ? "{\"b\":2}" : "{\"a\":1}", 7, sync), 0);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                assert_true(fd >= 0);
                assert_int_equal(hp_read_all(fd, 100, &got, NULL), 0);
                close(fd);
                assert_string_equal(got, sync ? "{\"b\":2}" : "{\"a\":1}");
                free(got);
                assert_int_equal(lstat(tmp_path, &st), -1);
                assert_int_equal(stat(path, &st), 0);
                assert_int_equal(st.st_mode & 07777, 0600);
        }
        fd = open(target, O_RDONLY | O_CLOEXEC);
        assert_int_equal(hp_read_all(fd, 100, &got, NULL), 0);
        close(fd);
        assert_string_equal(got, "keep\n");
        free(got);

        snprintf(path, sizeof(path), "%s/no-such-dir/doc.json", tmp);
        assert_int_equal(hp_write_file_replace(path, "x", 1, false), -ENOENT);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_u64),
                cmocka_unit_test(test_parse_int),
                cmocka_unit_test(test_strv),
                cmocka_unit_test(test_read_all),
                cmocka_unit_test(test_write_file_replace),
                cmocka_unit_test(test_format_size),
                cmocka_unit_test(test_host_open_errors),
                cmocka_unit_test(test_host_confined),
        };

        return cmocka_run_group_tests_name("util", tests, make_root, remove_root);
}
