/* Unit tests: QEMU's own user (vm/user.h) on real files and real
 * credentials: the range setting, taking uids, handing files over and back
 * (and what a dead supervisor left), the reach check, and the child's
 * change of user. Needs root for chown and setuid; skipped otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/macro.h"
#include "vm/user.h"

#define BASE 1879048192u

static char tmp[64];

static int setup(void **state)
{
        (void)state;
        snprintf(tmp, sizeof(tmp), "/dev/shm/test-vm-user.XXXXXX");
        return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
        char cmd[128];

        (void)state;
        snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
        return system(cmd) == 0 ? 0 : -1;
}

static uid_t owner(const char *path)
{
        struct stat st;

        assert_int_equal(lstat(path, &st), 0);
        return st.st_uid;
}

static void path_of(char *buf, size_t size, const char *name)
{
        snprintf(buf, size, "%s/%s", tmp, name);
}

static void touch(const char *path, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        assert_true(fd >= 0);
        close(fd);
}

static void test_range(void **state)
{
        struct hp_vm_users u;
        char *err = NULL;

        (void)state;
        assert_int_equal(hp_vm_users_parse("off", &u, &err), 0);
        assert_int_equal(u.count, 0);
        assert_int_equal(hp_vm_users_parse("1879048192:16", &u, &err), 0);
        assert_int_equal(u.base, BASE);
        assert_int_equal(u.count, 16);
        /* System users, no count, a range past (uid_t)-1: refused, saying the form. */
        assert_int_equal(hp_vm_users_parse("1000:10", &u, &err), -EINVAL);
        assert_non_null(strstr(
                err, "give BASE:COUNT (BASE from 65536, e.g. '1879048192:65536', the default)"));
        free(err);
        assert_int_equal(hp_vm_users_parse("1879048192", &u, &err), -EINVAL);
        free(err);
        assert_int_equal(hp_vm_users_parse("4294967000:1000", &u, &err), -EINVAL);
        free(err);
        assert_int_equal(hp_vm_users_parse("70000:0", &u, &err), -EINVAL);
        free(err);
}

static void test_take_hand_release(void **state)
{
        struct hp_vm_users range = { BASE, 2 };
        struct hp_vm_user a = HP_VM_USER_NONE, b = HP_VM_USER_NONE, c = HP_VM_USER_NONE;
        char users[128], dir[128], disk[128], group[128], link[128], fifo[128], mine[128];
        char *paths[4];
        const char *failed;

        (void)state;
        path_of(users, sizeof(users), "users");
        path_of(dir, sizeof(dir), "run-a");
        path_of(disk, sizeof(disk), "disk-a.img");
        path_of(group, sizeof(group), "vfio-7");
        assert_int_equal(mkdir(dir, 0700), 0);
        touch(disk, 0600);
        touch(group, 0600);
        assert_int_equal(chown(disk, 1000, 1000), 0);
        paths[0] = dir;
        paths[1] = disk;
        paths[2] = group;
        paths[3] = NULL;

        assert_int_equal(hp_vm_user_take(users, &range, "a", NULL, &a), 0);
        assert_int_equal(a.uid, BASE);
        assert_int_equal(hp_vm_user_hand(&a, paths, &failed), 0);
        assert_int_equal(owner(dir), BASE);
        assert_int_equal(owner(disk), BASE);
        assert_int_equal(owner(group), BASE);
        /* The next VM gets the next uid; with both taken, the range is full. */
        assert_int_equal(hp_vm_user_take(users, &range, "b", NULL, &b), 0);
        assert_int_equal(b.uid, BASE + 1);
        assert_int_equal(hp_vm_user_take(users, &range, "c", NULL, &c), -EUSERS);
        hp_vm_user_release(&b);

        /* What QEMU's user leaves in its directory: a link root must not
         * follow, a FIFO root must not open, a file of its own. */
        path_of(link, sizeof(link), "run-a/qemu.log");
        path_of(fifo, sizeof(fifo), "run-a/launch.json");
        path_of(mine, sizeof(mine), "run-a/serial.log");
        assert_int_equal(symlink("/etc/shadow", link), 0);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        touch(mine, 0600);
        assert_int_equal(chown(mine, BASE, BASE), 0);
        hp_vm_user_release(&a);
        assert_int_equal(owner(dir), 0);
        assert_int_equal(owner(disk), 1000); /* back to whose it was */
        assert_int_equal(owner(group), 0);
        assert_int_equal(owner(mine), 0);
        assert_int_equal(access(link, F_OK), -1);
        assert_int_equal(access(fifo, F_OK), -1);
        /* Released: the first uid is free again. */
        assert_int_equal(hp_vm_user_take(users, &range, "c", NULL, &c), 0);
        assert_int_equal(c.uid, BASE);
        hp_vm_user_release(&c);
}

/* A supervisor killed while its VM ran: its lock is gone, its record stays;
 * whoever takes the uid next hands the files back first. */
static void test_dead_holder(void **state)
{
        struct hp_vm_users range = { BASE, 4 };
        struct hp_vm_user a = HP_VM_USER_NONE, next = HP_VM_USER_NONE;
        char users[128], disk[128], dir[128];
        char *paths[3];
        const char *failed;

        (void)state;
        path_of(users, sizeof(users), "users-dead");
        path_of(disk, sizeof(disk), "disk-dead.img");
        path_of(dir, sizeof(dir), "run-dead");
        touch(disk, 0600);
        assert_int_equal(mkdir(dir, 0700), 0);
        paths[0] = dir;
        paths[1] = disk;
        paths[2] = NULL;
        assert_int_equal(hp_vm_user_take(users, &range, "dead", NULL, &a), 0);
        assert_int_equal(hp_vm_user_hand(&a, paths, &failed), 0);
        close(a.lock_fd); /* dies without its hand-back */
        free(a.lock_path);
        assert_int_equal(owner(disk), BASE);
        /* The run directory is taken back before anything is written there. */
        assert_int_equal(hp_vm_user_reclaim_dir(dir), 1);
        assert_int_equal(owner(dir), 0);
        assert_int_equal(hp_vm_user_reclaim_dir(dir), 0);
        assert_int_equal(hp_vm_user_take(users, &range, "next", NULL, &next), 0);
        assert_int_equal(next.uid, BASE);
        assert_int_equal(owner(disk), 0);
        hp_vm_user_release(&next);
}

/* The same, put right as soon as the VM's run is found lost: only the dead
 * holder's files of that VM, not a live one's nor another VM's. */
static void test_reclaim_vm(void **state)
{
        struct hp_vm_users range = { BASE, 4 };
        struct hp_vm_user a = HP_VM_USER_NONE, b = HP_VM_USER_NONE, c = HP_VM_USER_NONE,
                          next = HP_VM_USER_NONE;
        char users[128], da[128], db[128], dc[128], lock[160];
        char *paths[2] = { NULL, NULL };
        const char *failed;
        struct stat st;

        (void)state;
        path_of(users, sizeof(users), "users-lost");
        assert_int_equal(hp_vm_user_reclaim_vm(users, "a"), 0); /* no directory yet */
        path_of(da, sizeof(da), "lost-a.img");
        path_of(db, sizeof(db), "lost-b.img");
        path_of(dc, sizeof(dc), "lost-c.img");
        touch(da, 0600);
        touch(db, 0600);
        touch(dc, 0600);
        assert_int_equal(hp_vm_user_take(users, &range, "a", NULL, &a), 0);
        assert_int_equal(hp_vm_user_take(users, &range, "b", NULL, &b), 0);
        assert_int_equal(hp_vm_user_take(users, &range, "c", NULL, &c), 0);
        paths[0] = da;
        assert_int_equal(hp_vm_user_hand(&a, paths, &failed), 0);
        paths[0] = db;
        assert_int_equal(hp_vm_user_hand(&b, paths, &failed), 0);
        paths[0] = dc;
        assert_int_equal(hp_vm_user_hand(&c, paths, &failed), 0);
        /* a's and b's supervisors die; c's lives. */
        close(a.lock_fd);
        close(b.lock_fd);
        a.lock_fd = b.lock_fd = -1;
        assert_int_equal(hp_vm_user_reclaim_vm(users, "a"), 1);
        assert_int_equal(owner(da), 0);
        assert_int_equal(owner(db), BASE + 1); /* another VM's: its own loss puts it right */
        assert_int_equal(hp_vm_user_reclaim_vm(users, "c"), 0);
        assert_int_equal(owner(dc), BASE + 2); /* held: a live supervisor's */
        /* a's record is cleared: nothing is handed back twice when its uid is taken. */
        snprintf(lock, sizeof(lock), "%s/%u", users, BASE);
        assert_int_equal(stat(lock, &st), 0);
        assert_int_equal(st.st_size, 0);
        assert_int_equal(hp_vm_user_reclaim_vm(users, "a"), 0);
        assert_int_equal(hp_vm_user_reclaim_vm(users, "b"), 1);
        assert_int_equal(owner(db), 0);
        assert_int_equal(hp_vm_user_take(users, &range, "next", NULL, &next), 0);
        assert_int_equal(next.uid, BASE);
        hp_vm_user_release(&next);
        free(a.lock_path);
        free(b.lock_path);
        hp_vm_user_release(&c);
        assert_int_equal(owner(dc), 0);
}

/* A path that cannot be handed: nothing stays handed. */
static void test_hand_fails_whole(void **state)
{
        struct hp_vm_users range = { BASE, 1 };
        struct hp_vm_user a = HP_VM_USER_NONE;
        char users[128], disk[128], link[128];
        char *paths[3];
        const char *failed = NULL;

        (void)state;
        path_of(users, sizeof(users), "users-fail");
        path_of(disk, sizeof(disk), "disk-fail.img");
        path_of(link, sizeof(link), "link-fail.img");
        touch(disk, 0600);
        assert_int_equal(symlink(disk, link), 0);
        paths[0] = disk;
        paths[1] = link;
        paths[2] = NULL;
        assert_int_equal(hp_vm_user_take(users, &range, "f", NULL, &a), 0);
        assert_int_equal(hp_vm_user_hand(&a, paths, &failed), -ELOOP);
        assert_string_equal(failed, link);
        assert_int_equal(owner(disk), 0);
        hp_vm_user_release(&a);
}

static void test_can_reach(void **state)
{
        char closed[128], file[128], open_dir[128], readable[128];
        char *blocker = NULL;

        (void)state;
        path_of(closed, sizeof(closed), "closed");
        path_of(file, sizeof(file), "closed/disk.img");
        path_of(open_dir, sizeof(open_dir), "open");
        path_of(readable, sizeof(readable), "open/vmlinuz");
        assert_int_equal(mkdir(closed, 0700), 0);
        touch(file, 0600);
        assert_int_equal(mkdir(open_dir, 0711), 0);
        touch(readable, 0600);
        assert_int_equal(chmod(tmp, 0711), 0);

        assert_int_equal(hp_vm_user_can_reach(file, BASE, BASE, (gid_t)-1, false, &blocker),
                         -EACCES);
        assert_non_null(strstr(blocker, "closed (mode 0700, owner 0)"));
        free(blocker);
        /* Searchable, but a kernel it must read is root's alone. */
        assert_int_equal(hp_vm_user_can_reach(readable, BASE, BASE, (gid_t)-1, false, &blocker), 0);
        assert_int_equal(hp_vm_user_can_reach(readable, BASE, BASE, (gid_t)-1, true, &blocker),
                         -EACCES);
        assert_non_null(strstr(blocker, "vmlinuz (mode 0600, owner 0)"));
        free(blocker);
        assert_int_equal(chmod(readable, 0644), 0);
        assert_int_equal(hp_vm_user_can_reach(readable, BASE, BASE, (gid_t)-1, true, &blocker), 0);
}

/* The child before its exec: the user, its groups, the limit, no new
 * privileges, and its death signal. */
static void test_become(void **state)
{
        char secret[128];
        struct hp_vm_user u = HP_VM_USER_NONE;
        int status;
        pid_t parent = getpid(), child;

        (void)state;
        path_of(secret, sizeof(secret), "secret");
        touch(secret, 0600);
        u.uid = BASE + 3;
        u.kvm_gid = 4242;
        u.lock_fd = 0;       /* taken (any fd): the user is changed */
        u.memlock = 4 << 20; /* below any hard limit: lowered without CAP_SYS_RESOURCE */
        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                struct rlimit lim;
                gid_t groups[4];
                int sig = 0;

                if (hp_vm_user_become(&u, parent) < 0)
                        _exit(10);
                if (getuid() != BASE + 3 || geteuid() != BASE + 3 || getgid() != BASE + 3)
                        _exit(11);
                if (getgroups(4, groups) != 1 || groups[0] != 4242)
                        _exit(12);
                if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
                        _exit(13);
                if (prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) < 0 || sig != SIGKILL)
                        _exit(14);
                if (getrlimit(RLIMIT_MEMLOCK, &lim) < 0 || lim.rlim_cur != 4 << 20 ||
                    lim.rlim_max != 4 << 20)
                        _exit(15);
                /* A file of root's: refused, as a free VFIO group is. */
                if (open(secret, O_RDONLY | O_CLOEXEC) >= 0 || errno != EACCES)
                        _exit(16);
                _exit(0);
        }
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_range),
                cmocka_unit_test(test_take_hand_release),
                cmocka_unit_test(test_dead_holder),
                cmocka_unit_test(test_reclaim_vm),
                cmocka_unit_test(test_hand_fails_whole),
                cmocka_unit_test(test_can_reach),
                cmocka_unit_test(test_become),
        };

        if (geteuid() != 0) {
                printf("1..0 # SKIP needs root (chown, setuid)\n");
                return 0;
        }
        return cmocka_run_group_tests(tests, setup, teardown);
}
