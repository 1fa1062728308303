/* The VM supervisor: a double-forked process per VM that owns its QEMU. */
#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "qmp.h"
#include "store/store.h"
#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"

extern char **environ;

static void report(int fd, const char *fmt, const char *detail)
{
        char msg[1024];
        int n = snprintf(msg, sizeof(msg), fmt, detail ? detail : "");

        if (n > 0 && write(fd, msg, (size_t)n) < 0)
                return;
}

/* After QEMU: every device reset (quarantined when that fails) and released. */
static void cleanup(struct hp_store *s, const struct hp_vm_launch *l)
{
        _cleanup_(hp_host_freep) struct hp_host *h = NULL;
        int r;

        if (hp_host_open(l->host_root, &h) >= 0)
                for (size_t i = 0; i < l->n_devices; i++) {
                        _cleanup_(hp_dev_config_done) struct hp_dev_config c = { 0 };
                        char rel[128];

                        snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/reset", l->devices[i]);
                        r = hp_host_exists(h, rel) ? hp_host_write(h, rel, "1") : 0;
                        if (r < 0 && hp_store_device_get(s, l->devices[i], &c) >= 0) {
                                free(c.health);
                                c.health = strdup("quarantined");
                                free(c.reason);
                                c.reason = strdup("quarantined: the reset after the VM stopped failed; run "
                                                  "'hwpass device clear' once it is known to work");
                                if (c.health)
                                        (void)hp_store_device_put(s, &c);
                                (void)hp_store_event_add(s, "device-quarantined", l->devices[i], strerror(-r));
                        }
                }
        r = hp_store_release_devices(s, l->name);
        if (r < 0)
                fprintf(stderr, "cannot release the devices of %s: %s\n", l->name, strerror(-r));
        r = hp_store_vm_set_runtime(s, l->name, "off", 0, NULL, 0);
        if (r < 0)
                fprintf(stderr, "cannot record %s as off: %s\n", l->name, strerror(-r));
        (void)hp_store_event_add(s, "vm-stopped", l->name, NULL);
}

static int open_log(const char *dir, const char *name)
{
        char path[512];

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

static void supervise(const struct hp_vm_launch *l, int status_fd, int timeout_ms) __attribute__((noreturn));
static void supervise(const struct hp_vm_launch *l, int status_fd, int timeout_ms)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_(hp_qmp_closep) struct hp_qmp *q = NULL;
        posix_spawn_file_actions_t fa;
        char qmp_path[512], *err = NULL;
        int log = open_log(l->run_dir, "qemu.log"), status, r;
        pid_t qemu;
        json_t *st = NULL;

        if (hp_store_open(l->db_path, &s, &err) < 0) {
                report(status_fd, "error: cannot open the store: %s\n", err);
                _exit(1);
        }
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, HP_DEV_DIR "null", O_RDONLY, 0);
        if (log >= 0) {
                posix_spawn_file_actions_adddup2(&fa, log, 1);
                posix_spawn_file_actions_adddup2(&fa, log, 2);
        }
        r = posix_spawnp(&qemu, l->argv[0], &fa, NULL, l->argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0) {
                report(status_fd, "error: cannot start QEMU: %s\n", strerror(r));
                cleanup(s, l);
                _exit(1);
        }
        snprintf(qmp_path, sizeof(qmp_path), "%s/qmp.sock", l->run_dir);
        (void)hp_store_vm_set_runtime(s, l->name, "starting", qemu, qmp_path, time(NULL));
        r = hp_qmp_connect(qmp_path, timeout_ms, &q);
        if (r >= 0)
                r = hp_qmp_execute(q, "query-status", NULL, 5000, &st, &err);
        if (r < 0 || !json_is_true(json_object_get(st, "running"))) {
                char tail[512] = "";
                int lf = -1;

                kill(qemu, SIGKILL);
                waitpid(qemu, &status, 0);
                snprintf(qmp_path, sizeof(qmp_path), "%s/qemu.log", l->run_dir);
                lf = open(qmp_path, O_RDONLY | O_CLOEXEC);
                if (lf >= 0) {
                        ssize_t n = read(lf, tail, sizeof(tail) - 1);

                        tail[n > 0 ? n : 0] = '\0';
                        close(lf);
                }
                report(status_fd, "error: QEMU did not come up: %s\n", tail[0] ? tail : strerror(-r));
                cleanup(s, l);
                _exit(1);
        }
        json_decref(st);
        (void)hp_store_vm_set_runtime(s, l->name, "running", qemu, qmp_path, time(NULL));
        (void)hp_store_event_add(s, "vm-started", l->name, NULL);
        report(status_fd, "ok\n", NULL);
        close(status_fd);
        hp_qmp_close(TAKE_PTR(q));
        while (waitpid(qemu, &status, 0) < 0 && errno == EINTR)
                ;
        cleanup(s, l);
        _exit(0);
}

int hp_vm_launch(const struct hp_vm_launch *l, int timeout_ms, char **ret_error)
{
        char buf[1024];
        size_t len = 0;
        int p[2], status;
        pid_t child;

        *ret_error = NULL;
        if (mkdir(l->run_dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        child = fork();
        if (child < 0) {
                close(p[0]);
                close(p[1]);
                return -errno;
        }
        if (child == 0) {
                /* A grandchild in its own session: it outlives this command.
                 * What it has to say goes to supervisor.log. */
                int null = open(HP_DEV_DIR "null", O_RDWR | O_CLOEXEC);
                int log = open_log(l->run_dir, "supervisor.log");

                close(p[0]);
                setsid();
                if (fork() != 0)
                        _exit(0);
                if (null >= 0)
                        dup2(null, 0);
                if (log >= 0) {
                        dup2(log, 1);
                        dup2(log, 2);
                }
                /* Nothing of the command's survives the fork: above all not its
                 * database connection, which SQLite forbids using across fork. */
                if (p[1] != 3 && dup3(p[1], 3, O_CLOEXEC) < 0)
                        _exit(1);
                close_range(4, ~0U, 0);
                p[1] = 3;
                supervise(l, p[1], timeout_ms);
        }
        close(p[1]);
        waitpid(child, &status, 0);
        for (;;) {
                ssize_t n = read(p[0], buf + len, sizeof(buf) - 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t)n;
                if (len >= sizeof(buf) - 1)
                        break;
        }
        close(p[0]);
        buf[len] = '\0';
        if (hp_startswith(buf, "ok"))
                return 0;
        *ret_error = strdup(len ? buf + (hp_startswith(buf, "error: ") ? 7 : 0) : "the supervisor died");
        return -EIO;
}
