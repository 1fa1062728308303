/* The VM supervisor: a double-forked process per VM that owns its QEMU. */
#include "supervise.h"
#include "qemu.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "qmp.h"
#include "user.h"
#include "store/store.h"
#include "host/bind.h"
#include "util/hostroot.h"
#include "util/io.h"
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

int hp_vm_reset_and_release(struct hp_store *s, const char *host_root, const char *vm, char (*devices)[13],
                            size_t n_devices, size_t *ret_quarantined)
{
        _cleanup_(hp_host_freep) struct hp_host *h = NULL;
        size_t quarantined = 0;
        int r;

        if (hp_host_open(host_root, &h) >= 0)
                for (size_t i = 0; i < n_devices; i++) {
                        _cleanup_(hp_dev_config_done) struct hp_dev_config c = { 0 };

                        r = hp_pci_reset(h, devices[i]);
                        if (r == 0)
                                (void)hp_store_event_add(s, "device-not-reset", devices[i],
                                                         "no reset method: the next VM gets it as this one left it");
                        if (r >= 0)
                                continue;
                        /* Read, change, write in one transaction: a label set meanwhile stays. */
                        if (hp_store_begin(s) >= 0 && hp_store_device_get(s, devices[i], &c) >= 0) {
                                free(c.health);
                                c.health = strdup("quarantined");
                                free(c.reason);
                                c.reason = strdup("quarantined: the reset after the VM stopped failed; run "
                                                  "'hwpass device clear' once it is known to work");
                                if (c.health)
                                        (void)hp_store_device_put(s, &c);
                                (void)hp_store_event_add(s, "device-quarantined", devices[i], strerror(-r));
                                quarantined++;
                        }
                        if (hp_store_commit(s) < 0)
                                (void)hp_store_rollback(s);
                }
        if (ret_quarantined)
                *ret_quarantined = quarantined;
        return hp_store_release_devices(s, vm);
}

/* After QEMU: its user's files handed back, every device reset
 * (quarantined when that fails) and released. */
static void cleanup(struct hp_store *s, const struct hp_vm_launch *l, struct hp_vm_user *u)
{
        int r;

        hp_vm_user_release(u);
        r = hp_vm_reset_and_release(s, l->host_root, l->name, l->devices, l->n_devices, NULL);

        if (r < 0)
                fprintf(stderr, "cannot release the devices of %s: %s\n", l->name, strerror(-r));
        r = hp_store_vm_set_runtime(s, l->name, "off", 0, NULL, 0);
        if (r < 0)
                fprintf(stderr, "cannot record %s as off: %s\n", l->name, strerror(-r));
        (void)hp_store_event_add(s, "vm-stopped", l->name, NULL);
}

/* Opened before the start is decided, so not truncated yet (a start that
 * does not happen leaves a running VM's log alone): supervise() does that. */
static int open_log(const char *dir, const char *name)
{
        char path[512];

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
}

/* What the supervisor readies while it waits for the start to decide: the
 * QEMU log, and the binary found on PATH, so neither is on the way to QEMU. */
struct ready {
        int log;
        char qemu[4096]; /* the full path of HP_QEMU_BINARY, or "" */
};

/* Not the store: opening it takes a fresh process a few milliseconds, and
 * the "go" comes sooner than that; it opens while QEMU starts. */
static void get_ready(const char *run_dir, struct ready *ret)
{
        const char *path = getenv("PATH");

        ret->log = open_log(run_dir, "qemu.log");
        ret->qemu[0] = '\0';
        for (const char *p = path ? path : ""; *p;) {
                size_t n = strcspn(p, ":");

                if (n > 0 && (size_t)snprintf(ret->qemu, sizeof(ret->qemu), "%.*s/%s", (int)n, p, HP_QEMU_BINARY) <
                                     sizeof(ret->qemu) &&
                    access(ret->qemu, X_OK) == 0)
                        return;
                ret->qemu[0] = '\0';
                p += n + (p[n] == ':');
        }
}

/* The launcher's record of this run (firmware.json), written whole or not
 * at all while QEMU starts, and taken back when it does not come up. */
static void record_file(const struct hp_vm_launch *l, bool keep)
{
        char path[640], tmp[656];
        int fd, r;

        if (!l->record_file || !l->record_text || strchr(l->record_file, '/'))
                return;
        snprintf(path, sizeof(path), "%s/%s", l->run_dir, l->record_file);
        if (!keep) {
                (void)unlink(path);
                return;
        }
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        /* The directory is QEMU's user's now: nothing it put there is followed. */
        (void)unlink(tmp);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return;
        r = hp_write_all(fd, l->record_text, strlen(l->record_text));
        if (close(fd) < 0 || r < 0 || rename(tmp, path) < 0)
                (void)unlink(tmp);
}

/* QEMU first: the store opens while QEMU starts. */
static int start_qemu(const struct hp_vm_launch *l, const struct ready *ready, struct hp_vm_user *u,
                      char **ret_error, pid_t *ret)
{
        const char *bin = ready->qemu[0] && streq(l->argv[0], HP_QEMU_BINARY) ? ready->qemu : NULL;
        int r = hp_vm_user_start(l->users_dir, &l->users, l->name, l->own, l->memlock, u,
                                 ret_error);

        return r < 0 ? r : hp_vm_user_spawn(u, bin, l->argv, ready->log, ret);
}

static void supervise(const struct hp_vm_launch *l, struct ready *ready, int status_fd, int timeout_ms)
        __attribute__((noreturn));
static void supervise(const struct hp_vm_launch *l, struct ready *ready, int status_fd, int timeout_ms)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_(hp_qmp_closep) struct hp_qmp *q = NULL;
        struct hp_vm_user u = HP_VM_USER_NONE;
        _cleanup_free_ char *user_error = NULL;
        char qmp_path[512], *err = NULL;
        int log = ready->log, status, r;
        pid_t qemu = 0;
        json_t *st = NULL;

        if (log >= 0)
                (void)!ftruncate(log, 0); /* appended to: QEMU writes from the start */

        r = start_qemu(l, ready, &u, &user_error, &qemu);
        if (hp_store_open(l->db_path, &s, &err) < 0) {
                if (qemu > 0) {
                        kill(qemu, SIGKILL);
                        waitpid(qemu, &status, 0);
                }
                hp_vm_user_release(&u);
                report(status_fd, "error: cannot open the store: %s\n", err);
                _exit(1);
        }
        /* Its events are those of whoever started the VM. */
        (void)hp_store_set_actor(s, l->actor);
        if (r < 0) {
                if (user_error)
                        report(status_fd, "error: %s\n", user_error);
                else
                        report(status_fd, "error: cannot start QEMU: %s\n", strerror(-r));
                cleanup(s, l, &u);
                _exit(1);
        }
        snprintf(qmp_path, sizeof(qmp_path), "%s/qmp.sock", l->run_dir);
        /* The record names the supervisor: as long as it lives, it will
         * record the end; QEMU's own pid is in qemu.pid. */
        (void)hp_store_vm_set_runtime(s, l->name, "starting", getpid(), qmp_path, time(NULL));
        record_file(l, true);
        r = hp_qmp_connect_child(qmp_path, timeout_ms, qemu, &q);
        if (r >= 0)
                r = hp_qmp_execute(q, "query-status", NULL, 5000, &st, &err);
        if (r < 0 || !json_is_true(json_object_get(st, "running"))) {
                char tail[512] = "";
                int lf = -1;

                kill(qemu, SIGKILL);
                waitpid(qemu, &status, 0);
                record_file(l, false);
                snprintf(qmp_path, sizeof(qmp_path), "%s/qemu.log", l->run_dir);
                lf = open(qmp_path, O_RDONLY | O_CLOEXEC);
                if (lf >= 0) {
                        ssize_t n = read(lf, tail, sizeof(tail) - 1);

                        tail[n > 0 ? n : 0] = '\0';
                        close(lf);
                }
                report(status_fd, "error: QEMU did not come up: %s\n", tail[0] ? tail : strerror(-r));
                cleanup(s, l, &u);
                _exit(1);
        }
        json_decref(st);
        /* One transaction: the start waits for this write. */
        r = hp_store_begin(s);
        (void)hp_store_vm_set_runtime(s, l->name, "running", getpid(), qmp_path, time(NULL));
        (void)hp_store_event_add(s, "vm-started", l->name, NULL);
        if (l->event_kind)
                (void)hp_store_event_add(s, l->event_kind, l->name, l->event_detail);
        if (r >= 0 && hp_store_commit(s) < 0)
                (void)hp_store_rollback(s);
        report(status_fd, "ok\n", NULL);
        close(status_fd);
        hp_qmp_close(TAKE_PTR(q));
        while (waitpid(qemu, &status, 0) < 0 && errno == EINTR)
                ;
        cleanup(s, l, &u);
        _exit(0);
}

/* launch.json: what the supervisor needs, written before it is started. */
static int write_launch(const struct hp_vm_launch *l, int timeout_ms)
{
        json_t *argv = json_array(), *devs = json_array(), *own = json_array(), *j;
        _cleanup_free_ char *text = NULL;
        char path[512];

        for (size_t i = 0; argv && l->argv[i]; i++)
                json_array_append_new(argv, json_string(l->argv[i]));
        for (size_t i = 0; own && l->own && l->own[i]; i++)
                json_array_append_new(own, json_string(l->own[i]));
        for (size_t i = 0; devs && i < l->n_devices; i++)
                json_array_append_new(devs, json_string(l->devices[i]));
        j = json_pack("{s:s, s:o, s:s, s:s, s:o, s:i, s:s?, s:{s:s?, s:s?}, s:{s:s?, s:s?}}", "name",
                      l->name, "argv", argv, "db", l->db_path, "host_root", l->host_root, "devices", devs,
                      "timeout_ms", timeout_ms, "actor", l->actor, "record", "file", l->record_file,
                      "text", l->record_text, "event", "kind", l->event_kind, "detail", l->event_detail);
        if (!j) {
                json_decref(own);
                return -ENOMEM;
        }
        /* json_object_set_new() takes the value, also when it fails. */
        if (json_object_set_new(j, "own", own) < 0 ||
            json_object_set_new(j, "users",
                                json_pack("{s:I, s:I, s:s?}", "base", (json_int_t)l->users.base, "count",
                                          (json_int_t)l->users.count, "dir", l->users_dir)) < 0 ||
            json_object_set_new(j, "memlock", json_integer((json_int_t)l->memlock)) < 0) {
                json_decref(j);
                return -ENOMEM;
        }
        /* One string, one write: written to the file token by token, it
         * took some 300 writes on the path of every power-on. */
        text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (!text)
                return -ENOMEM;
        snprintf(path, sizeof(path), "%s/launch.json", l->run_dir);
        return hp_write_file_replace(path, text, strlen(text), false);
}

/* Waits for the "go", then starts and watches QEMU; returns only when no
 * start happened. */
static int wait_and_supervise(const char *run_dir, int status_fd)
{
        struct ready ready;
        char path[512], devs[64][13];
        struct hp_vm_launch l = { .run_dir = run_dir, .devices = devs };
        json_error_t e;
        json_t *j, *argv;
        const char **av, **own;
        char go[4] = "";
        ssize_t n;
        int timeout;

        /* QEMU must not hold the status socket open. */
        (void)fcntl(status_fd, F_SETFD, FD_CLOEXEC);
        get_ready(run_dir, &ready);
        /* Started ahead of time: wait for launch.json, or for the command to
         * give up (end of file), which is no error. */
        while ((n = read(status_fd, go, sizeof(go) - 1)) < 0 && errno == EINTR)
                ;
        if (n <= 0 || !hp_startswith(go, "go"))
                return 0;
        snprintf(path, sizeof(path), "%s/launch.json", run_dir);
        j = json_load_file(path, 0, &e);
        argv = json_object_get(j, "argv");
        if (!j || !json_is_array(argv) || json_array_size(argv) == 0) {
                report(status_fd, "error: cannot read %s\n", path);
                return -EINVAL;
        }
        av = calloc(json_array_size(argv) + 1, sizeof(char *));
        if (!av)
                return -ENOMEM;
        for (size_t i = 0; i < json_array_size(argv); i++)
                av[i] = json_string_value(json_array_get(argv, i));
        for (size_t i = 0; i < json_array_size(json_object_get(j, "devices")) && i < 64; i++) {
                snprintf(devs[i], 13, "%s", json_string_value(json_array_get(json_object_get(j, "devices"), i)));
                l.n_devices++;
        }
        l.name = json_string_value(json_object_get(j, "name"));
        l.db_path = json_string_value(json_object_get(j, "db"));
        l.host_root = json_string_value(json_object_get(j, "host_root"));
        l.actor = json_string_value(json_object_get(j, "actor"));
        l.record_file = json_string_value(json_object_get(json_object_get(j, "record"), "file"));
        l.record_text = json_string_value(json_object_get(json_object_get(j, "record"), "text"));
        l.event_kind = json_string_value(json_object_get(json_object_get(j, "event"), "kind"));
        l.event_detail = json_string_value(json_object_get(json_object_get(j, "event"), "detail"));
        l.argv = (char *const *)av;
        l.users.base =
                (uint32_t)json_integer_value(json_object_get(json_object_get(j, "users"), "base"));
        l.users.count =
                (uint32_t)json_integer_value(json_object_get(json_object_get(j, "users"), "count"));
        l.users_dir = json_string_value(json_object_get(json_object_get(j, "users"), "dir"));
        l.memlock = (uint64_t)json_integer_value(json_object_get(j, "memlock"));
        own = calloc(json_array_size(json_object_get(j, "own")) + 1, sizeof(char *));
        if (!own)
                return -ENOMEM;
        for (size_t i = 0; i < json_array_size(json_object_get(j, "own")); i++)
                own[i] = json_string_value(json_array_get(json_object_get(j, "own"), i));
        l.own = (char *const *)own;
        timeout = (int)json_integer_value(json_object_get(j, "timeout_ms"));
        if (!l.name || !l.db_path || !l.host_root || (l.users.count > 0 && !l.users_dir)) {
                report(status_fd, "error: %s is incomplete\n", path);
                return -EINVAL;
        }
        supervise(&l, &ready, status_fd, timeout > 0 ? timeout : 60000);
}

int hp_vm_supervise(const char *run_dir, int status_fd)
{
        /* Not the launcher's child: the process it spawned exits here and is
         * reaped at once, and the supervisor, a child of init, outlives it
         * without ever becoming its zombie (which would look alive to
         * hp_vm_record_settle()). */
        pid_t child = fork();

        if (child < 0)
                return -errno;
        if (child > 0)
                _exit(0);
        return wait_and_supervise(run_dir, status_fd);
}

/* The supervisor as a fork of the launcher, set up as posix_spawn() sets up
 * the exec'd one: a session of its own, stdin from /dev/null, stdout and
 * stderr to its log, the status socket on fd 3 and nothing else open. It
 * never returns into the launcher's code, and never flushes the launcher's
 * stdio buffers (_exit). */
static void supervise_forked(const char *run_dir, const char *log_path, int status_fd) __attribute__((noreturn));
static void supervise_forked(const char *run_dir, const char *log_path, int status_fd)
{
        int null, log;

        (void)setsid();
        null = open(HP_DEV_DIR "null", O_RDONLY | O_CLOEXEC);
        log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (null < 0 || log < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0 ||
            dup2(status_fd, 3) < 0)
                _exit(1);
        (void)close_range(4, ~0U, 0);
        _exit(wait_and_supervise(run_dir, 3) < 0 ? 1 : 0);
}

/* The binary the supervisor runs as: the hwpass command beside this one,
 * so a supervisor is never taken for hwpassd (pidof, pkill, an operator's
 * kill); this binary itself (hwpassd takes "vm supervise" too) when there is
 * none. */
static int supervisor_binary(char *buf, size_t size)
{
        char beside[4096], *slash;
        int r = hp_self_exe(buf, size);

        if (r < 0)
                return r;
        slash = strrchr(buf, '/');
        if (!slash || streq(slash + 1, "hwpass"))
                return 0;
        if ((size_t)snprintf(beside, sizeof(beside), "%.*s/hwpass", (int)(slash - buf), buf) < size &&
            access(beside, X_OK) == 0)
                memcpy(buf, beside, strlen(beside) + 1);
        return 0;
}

/* The exec'd supervisor ('hwpass vm supervise RUN_DIR'), through a process
 * that forks it and exits. */
static int spawn_supervisor(const char *run_dir, const char *log_path, int status_fd, pid_t *ret)
{
        char self[4096];
        char *argv[] = { self, (char *)"vm", (char *)"supervise", (char *)run_dir, NULL };
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        int r = supervisor_binary(self, sizeof(self));

        if (r < 0)
                return r;
        /* A session of its own: it outlives this command. */
        posix_spawnattr_init(&attr);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, HP_DEV_DIR "null", O_RDONLY, 0);
        /* Appended to: a start refused because the VM runs already must not
         * wipe the log of the supervisor that runs it. */
        posix_spawn_file_actions_addopen(&fa, 1, log_path,
                                         O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0600);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
        posix_spawn_file_actions_adddup2(&fa, status_fd, 3);
        r = posix_spawn(ret, self, &fa, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        return -r;
}

int hp_vm_launcher_start(const char *run_dir, bool may_fork, struct hp_vm_launcher *ret)
{
        char log_path[512];
        pid_t child;
        int sv[2], r;

        if (mkdir(run_dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        /* Its end of the socket pair is fd 3: "go" comes in, the status goes out. */
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        snprintf(log_path, sizeof(log_path), "%s/supervisor.log", run_dir);
        /* A fork is ready in a fraction of the time an exec takes, but only a
         * process of one thread with no store open may fork one. */
        may_fork = may_fork && hp_store_open_count() == 0;
        if (may_fork) {
                child = fork();
                if (child == 0) {
                        close(sv[0]);
                        supervise_forked(run_dir, log_path, sv[1]);
                }
                r = child < 0 ? -errno : 0;
        } else
                r = spawn_supervisor(run_dir, log_path, sv[1], &child);
        close(sv[1]);
        if (r < 0) {
                close(sv[0]);
                return r;
        }
        *ret = (struct hp_vm_launcher){ .pid = child, .fd = sv[0], .forked = may_fork };
        return 0;
}

/* The exec'd supervisor's first process forks it and exits at once (see
 * hp_vm_supervise()); it is reaped once the launch is over (not at the
 * start: its exec overlaps the planning), so a long-lived launcher (hwpassd)
 * never keeps a supervisor as its zombie. A forked supervisor is the
 * launcher's own child: it is reaped when no VM started (it exits at once),
 * else left to init when the launcher, a command, exits. */
static void reap(struct hp_vm_launcher *lr, bool running)
{
        if (lr->pid <= 0)
                return;
        if (!(lr->forked && running))
                while (waitpid(lr->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        lr->pid = 0;
}

void hp_vm_launcher_cancel(struct hp_vm_launcher *lr)
{
        if (!lr || lr->fd < 0)
                return;
        close(lr->fd); /* no "go": the supervisor exits at once */
        lr->fd = -1;
        reap(lr, false);
}

int hp_vm_launch(struct hp_vm_launcher *lr, const struct hp_vm_launch *l, int timeout_ms, char **ret_error)
{
        char buf[1024];
        size_t len = 0;
        int r;

        *ret_error = NULL;
        if (lr->fd < 0)
                return -EBADF;
        r = write_launch(l, timeout_ms);
        if (r < 0)
                return r;
        if (write(lr->fd, "go\n", 3) != 3)
                return -errno;
        for (;;) {
                ssize_t n = read(lr->fd, buf + len, sizeof(buf) - 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t)n;
                if (len >= sizeof(buf) - 1)
                        break;
        }
        close(lr->fd);
        lr->fd = -1; /* the supervisor goes on alone (or is gone) */
        buf[len] = '\0';
        reap(lr, hp_startswith(buf, "ok"));
        if (hp_startswith(buf, "ok"))
                return 0;
        *ret_error = strdup(len ? buf + (hp_startswith(buf, "error: ") ? 7 : 0) : "the supervisor died");
        return -EIO;
}

bool hp_vm_record_orphaned(const struct hp_vm_record *rec)
{
        return !streq(rec->state, "off") && rec->pid > 0 && kill((pid_t)rec->pid, 0) < 0 &&
               errno == ESRCH;
}

int hp_vm_record_settle(struct hp_store *s, const char *run_dir, struct hp_vm_record *rec)
{
        char users[4096], *off;

        if (!hp_vm_record_orphaned(rec))
                return 0;
        off = strdup("off");
        if (!off)
                return -ENOMEM;
        snprintf(users, sizeof(users), "%s/" HP_VM_USERS_DIR, run_dir);
        (void)hp_vm_user_reclaim_vm(users, rec->name);
        (void)hp_store_release_devices(s, rec->name);
        (void)hp_store_vm_set_runtime(s, rec->name, "off", 0, NULL, 0);
        (void)hp_store_event_add(s, "vm-lost", rec->name,
                                 "its supervisor was gone without recording the end; devices released");
        free(rec->state);
        rec->state = off;
        return 1;
}
