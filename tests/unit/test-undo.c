/* The passthrough operation's undo: a sysfs write that fails halfway through
 * an IOMMU group puts every device back where it was and the store back to
 * what it held. The kernel is stood in for by a wrapper of hp_host_write()
 * (linked with --wrap): it applies driver_override, unbind and drivers_probe
 * to a copy of the desktop fixture as the PCI core would, at once, and fails
 * the one write a test names. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "host/pci.h"
#include "ops/device.h"
#include "ops/ops.h"
#include "store/store.h"
#include "util/hostroot.h"
#include "util/macro.h"

#define GPU "0000:0c:00.0"
#define AUDIO "0000:0c:00.1"

extern char **environ;

static char root[256];     /* the copied host tree */
static char fail_at[128];  /* "SBDF attr": the write that fails, once, or "" */
static int writes_seen;

int __real_hp_host_write(const struct hp_host *h, const char *relpath, const char *value);
int __wrap_hp_host_write(const struct hp_host *h, const char *relpath, const char *value);

/* sys/bus/pci/devices/SBDF/FILE in the copy. */
static void dev_path(const char *sbdf, const char *file, char *buf, size_t size)
{
        snprintf(buf, size, "%s/sys/bus/pci/devices/%s/%s", root, sbdf, file);
}

static void read_text(const char *path, char *buf, size_t size)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;

        buf[n > 0 ? n : 0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
}

static void write_text(const char *path, const char *text)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
}

/* The device's driver now: the last part of its driver link, "" for none. */
static void driver_of(const char *sbdf, char *buf, size_t size)
{
        char path[512], target[256];
        ssize_t n;
        const char *base;

        dev_path(sbdf, "driver", path, sizeof(path));
        n = readlink(path, target, sizeof(target) - 1);
        target[n > 0 ? n : 0] = '\0';
        base = strrchr(target, '/');
        snprintf(buf, size, "%s", base ? base + 1 : target);
}

/* The fixture's own driver of each device: where drivers_probe sends a
 * device with no override. */
static const char *home_driver(const char *sbdf)
{
        return streq(sbdf, GPU) ? "nvidia" : streq(sbdf, AUDIO) ? "snd_hda_intel" : "";
}

/* The uevent file's DRIVER= line follows the binding, as the kernel's does. */
static void uevent_driver(const char *sbdf, const char *driver)
{
        char path[512], text[4096], out[4096] = "";
        _cleanup_close_ int fd = -1;
        size_t used = 0;
        ssize_t n;

        dev_path(sbdf, "uevent", path, sizeof(path));
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        n = read(fd, text, sizeof(text) - 1);
        text[n > 0 ? n : 0] = '\0';
        if (*driver)
                used += (size_t)snprintf(out, sizeof(out), "DRIVER=%s\n", driver);
        for (char *line = text; *line;) {
                char *end = strchrnul(line, '\n');

                if (strncmp(line, "DRIVER=", 7) != 0 && used < sizeof(out))
                        used += (size_t)snprintf(out + used, sizeof(out) - used, "%.*s\n", (int)(end - line), line);
                line = *end ? end + 1 : end;
        }
        write_text(path, out);
}

static void bind_to(const char *sbdf, const char *driver)
{
        char path[512], target[256];

        dev_path(sbdf, "driver", path, sizeof(path));
        (void)unlink(path);
        uevent_driver(sbdf, driver);
        if (!*driver)
                return;
        /* The fixture's links are relative, four levels up to sys/. */
        snprintf(target, sizeof(target), "../../../../bus/pci/drivers/%s", driver);
        assert_int_equal(symlink(target, path), 0);
}

int __wrap_hp_host_write(const struct hp_host *h, const char *relpath, const char *value)
{
        char sbdf[HP_SBDF_LEN] = "", attr[64] = "", path[512], override[64], want[128];

        (void)h;
        writes_seen++;
        if (streq(relpath, "sys/bus/pci/drivers_probe")) {
                snprintf(sbdf, sizeof(sbdf), "%s", value);
                snprintf(attr, sizeof(attr), "drivers_probe");
        } else if (sscanf(relpath, "sys/bus/pci/devices/%12[^/]/%63s", sbdf, attr) != 2) {
                return -EACCES; /* nothing else is written */
        }
        snprintf(want, sizeof(want), "%s %s", sbdf, attr);
        if (streq(want, fail_at)) {
                fail_at[0] = '\0'; /* once: the undo's own writes go through */
                return -EIO;
        }
        if (streq(attr, "driver_override")) {
                dev_path(sbdf, "driver_override", path, sizeof(path));
                write_text(path, streq(value, "\n") ? "(null)\n" : value);
        } else if (streq(attr, "driver/unbind")) {
                bind_to(sbdf, "");
        } else if (streq(attr, "drivers_probe")) {
                char now[512];

                driver_of(sbdf, now, sizeof(now));
                dev_path(sbdf, "driver_override", path, sizeof(path));
                read_text(path, override, sizeof(override));
                if (!*now)
                        bind_to(sbdf, *override && !streq(override, "(null)") ? override : home_driver(sbdf));
        } else {
                return -EACCES;
        }
        return 0;
}

static int run(char *const argv[])
{
        pid_t pid;
        int status;

        if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0 || waitpid(pid, &status, 0) < 0)
                return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int setup(void **state)
{
        char tmpl[] = "/tmp/hwpass-undo-XXXXXX", *dir = mkdtemp(tmpl), src[512];
        struct hp_ops_ctx *c = calloc(1, sizeof(*c));

        if (!dir || !c)
                return -1;
        snprintf(root, sizeof(root), "%s/root", dir);
        snprintf(src, sizeof(src), "%s/desktop", FIXTURES_DIR);
        if (run((char *const[]){ "cp", "-a", src, root, NULL }) != 0) {
                fprintf(stderr, "# cannot copy %s to %s\n", src, root);
                return -1;
        }
        c->host_root = root;
        if (hp_host_open(root, &c->host) < 0) {
                fprintf(stderr, "# cannot open %s as a host root\n", root);
                return -1;
        }
        c->db = strdup(dir); /* the directory for now: the database is in it */
        c->run_dir = strdup(dir);
        c->state_dir = c->run_dir;
        c->actor = "test";
        *state = c;
        fail_at[0] = '\0';
        writes_seen = 0;
        return 0;
}

static int teardown(void **state)
{
        struct hp_ops_ctx *c = *state;

        hp_host_free(c->host);
        hp_op_error_done(&c->error);
        (void)run((char *const[]){ "rm", "-rf", (char *)c->run_dir, NULL });
        free((char *)c->run_dir);
        free((char *)c->db);
        free(c);
        return 0;
}

static void use_db(struct hp_ops_ctx *c)
{
        char *db = NULL;

        assert_true(asprintf(&db, "%s/state.db", c->db) > 0);
        free((char *)c->db);
        c->db = db;
}

static void assert_driver(const char *sbdf, const char *want)
{
        char now[512];

        driver_of(sbdf, now, sizeof(now));
        assert_string_equal(now, want);
}

static void assert_override_clear(const char *sbdf)
{
        char path[512], text[64];

        dev_path(sbdf, "driver_override", path, sizeof(path));
        read_text(path, text, sizeof(text));
        assert_string_equal(text, "(null)");
}

static int passthrough(struct hp_ops_ctx *c, bool enable)
{
        char *addresses[] = { (char *)GPU, NULL };
        json_t *doc = NULL;
        int r;

        hp_op_error_done(&c->error);
        r = hp_ops_passthrough(c, &(struct hp_ops_passthrough){ .enable = enable, .addresses = addresses }, &doc);
        json_decref(doc);
        return r;
}

/* The stored desired state of sbdf: 1, 0, or -1 when it has no record. */
static int stored_desired(struct hp_ops_ctx *c, const char *sbdf)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_(hp_dev_config_done) struct hp_dev_config cfg = { 0 };

        assert_int_equal(hp_store_open(c->db, &s, NULL), 0);
        return hp_store_device_get(s, sbdf, &cfg) < 0 ? -1 : cfg.desired;
}

static bool failure_recorded(struct hp_ops_ctx *c)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        struct hp_event *e = NULL;
        size_t n = 0;
        bool found = false;

        assert_int_equal(hp_store_open(c->db, &s, NULL), 0);
        assert_int_equal(hp_store_event_list(s, 0, 100, &e, &n), 0);
        for (size_t i = 0; i < n; i++)
                found |= streq(e[i].kind, "passthrough-failed");
        hp_events_free(e, n);
        return found;
}

/* The fake kernel itself: enable and disable go through, the store follows. */
static void test_enable_disable(void **state)
{
        struct hp_ops_ctx *c = *state;

        use_db(c);
        assert_int_equal(passthrough(c, true), 0);
        assert_driver(GPU, "vfio-pci");
        assert_driver(AUDIO, "vfio-pci");
        assert_int_equal(stored_desired(c, GPU), 1);
        assert_int_equal(stored_desired(c, AUDIO), 1);
        assert_int_equal(passthrough(c, false), 0);
        assert_driver(GPU, "nvidia");
        assert_driver(AUDIO, "snd_hda_intel");
        assert_int_equal(stored_desired(c, GPU), 0);
}

/* Enable: the GPU moves, the audio function's unbind fails. Both stay (or
 * go back) on their host drivers, no override is left, nothing is stored as
 * desired, and the failure is in the event log. */
static void test_enable_fails_halfway(void **state)
{
        struct hp_ops_ctx *c = *state;

        use_db(c);
        snprintf(fail_at, sizeof(fail_at), "%s driver/unbind", AUDIO);
        assert_true(passthrough(c, true) < 0);
        assert_int_equal(c->error.kind, HP_OP_FAILED);
        assert_non_null(strstr(c->error.message, "the devices are back where they were"));
        assert_true(writes_seen > 3); /* the GPU's step ran before the failure */
        assert_driver(GPU, "nvidia");
        assert_driver(AUDIO, "snd_hda_intel");
        assert_override_clear(GPU);
        assert_override_clear(AUDIO);
        assert_int_equal(stored_desired(c, GPU), -1);
        assert_int_equal(stored_desired(c, AUDIO), -1);
        assert_true(failure_recorded(c));
        /* And it works once the kernel lets go. */
        assert_int_equal(passthrough(c, true), 0);
        assert_driver(AUDIO, "vfio-pci");
}

/* Disable: the GPU goes back to nvidia, the audio function's probe fails.
 * Both end on vfio-pci again, and the store still wants passthrough. */
static void test_disable_fails_halfway(void **state)
{
        struct hp_ops_ctx *c = *state;

        use_db(c);
        assert_int_equal(passthrough(c, true), 0);
        snprintf(fail_at, sizeof(fail_at), "%s drivers_probe", AUDIO);
        assert_true(passthrough(c, false) < 0);
        assert_int_equal(c->error.kind, HP_OP_FAILED);
        assert_driver(GPU, "vfio-pci");
        assert_driver(AUDIO, "vfio-pci");
        assert_int_equal(stored_desired(c, GPU), 1);
        assert_int_equal(stored_desired(c, AUDIO), 1);
        assert_true(failure_recorded(c));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_enable_disable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_enable_fails_halfway, setup, teardown),
                cmocka_unit_test_setup_teardown(test_disable_fails_halfway, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
