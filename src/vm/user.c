/* QEMU's own user: taking a uid, handing files over and back (user.h). */
#include "user.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spec.h"
#include "util/hostroot.h"
#include "util/io.h"
#include "util/macro.h"
#include "util/strutil.h"

int hp_vm_users_parse(const char *s, struct hp_vm_users *ret, char **ret_error)
{
        uint64_t base, count;
        const char *colon = s ? strchr(s, ':') : NULL;
        char head[32];

        *ret_error = NULL;
        if (s && streq(s, "off")) {
                *ret = (struct hp_vm_users){ 0 };
                return 0;
        }
        if (colon && (size_t)(colon - s) < sizeof(head)) {
                memcpy(head, s, (size_t)(colon - s));
                head[colon - s] = '\0';
                /* From 65536 (above every uid Debian gives to services and
                 * logins) to the top of the uid space, short of the values
                 * that mean "no user". */
                if (hp_parse_u64(head, 10, &base) >= 0 &&
                    hp_parse_u64(colon + 1, 10, &count) >= 0 && base >= 65536 && count > 0 &&
                    count <= 1u << 24 && base + count <= 0xfffffff0u) {
                        *ret = (struct hp_vm_users){ .base = (uint32_t)base,
                                                     .count = (uint32_t)count };
                        return 0;
                }
        }
        if (asprintf(ret_error,
                     "QEMU users '%s' is not a range: give BASE:COUNT (BASE from 65536, e.g. "
                     "'%u:%u', "
                     "the default) or 'off' to run QEMU as root",
                     s ? s : "", (unsigned)HP_VM_USERS_DEFAULT_BASE,
                     (unsigned)HP_VM_USERS_DEFAULT_COUNT) < 0)
                *ret_error = NULL;
        return -EINVAL;
}

int hp_vm_users_get(const char *set, struct hp_vm_users *ret, char **ret_error)
{
        const char *s = set ? set : getenv(HP_VM_USERS_ENV);

        *ret_error = NULL;
        if (geteuid() != 0) {
                *ret = (struct hp_vm_users){ 0 };
                return 0;
        }
        if (!s || !*s) {
                *ret = (struct hp_vm_users){ HP_VM_USERS_DEFAULT_BASE, HP_VM_USERS_DEFAULT_COUNT };
                return 0;
        }
        return hp_vm_users_parse(s, ret, ret_error);
}

static void closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}

/* What QEMU's user left in a directory it owned: its files back to owner,
 * and what root must never open there (links it may have planted, FIFOs,
 * device nodes) gone. */
static void reclaim_entries(const char *dir, uid_t uid, uid_t owner)
{
        _cleanup_(closedirp) DIR *d = opendir(dir);
        struct dirent *e;

        while (d && (e = readdir(d))) {
                struct stat st;

                if (streq(e->d_name, ".") || streq(e->d_name, "..") ||
                    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISLNK(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) ||
                    S_ISBLK(st.st_mode))
                        (void)unlinkat(dirfd(d), e->d_name, 0);
                else if (st.st_uid == uid)
                        (void)fchownat(dirfd(d), e->d_name, owner, (gid_t)-1, AT_SYMLINK_NOFOLLOW);
        }
}

int hp_vm_user_reclaim_dir(const char *dir)
{
        struct stat st;

        if (lstat(dir, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        if (st.st_uid == geteuid())
                return 0;
        reclaim_entries(dir, st.st_uid, geteuid());
        return lchown(dir, geteuid(), (gid_t)-1) < 0 ? -errno : 1;
}

static void hand_back_recorded(int fd, uid_t uid);

int hp_vm_user_reclaim_vm(const char *users_dir, const char *vm)
{
        _cleanup_free_ char *head = NULL;
        size_t want = strlen("vm \n") + strlen(vm);
        struct dirent *e;
        DIR *d = opendir(users_dir);
        int n = 0;

        if (!d)
                return errno == ENOENT ? 0 : -errno;
        if (asprintf(&head, "vm %s\n", vm) < 0) {
                closedir(d);
                return -ENOMEM;
        }
        while ((e = readdir(d))) {
                _cleanup_close_ int fd = -1;
                char first[HP_VM_NAME_MAX + 8];
                uint64_t uid;
                ssize_t got;

                if (hp_parse_u64(e->d_name, 10, &uid) < 0 || uid > UINT32_MAX)
                        continue;
                fd = openat(dirfd(d), e->d_name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
                /* Held: a live supervisor's (QEMU does not inherit the lock). */
                if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
                        continue;
                got = pread(fd, first, sizeof(first), 0);
                if (got < (ssize_t)want || memcmp(first, head, want) != 0)
                        continue;
                hand_back_recorded(fd, (uid_t)uid);
                if (ftruncate(fd, 0) == 0)
                        n++;
        }
        closedir(d);
        return n;
}

/* The lock file's record: "vm NAME" on its first line, then "UID GID PATH"
 * for each path handed over, its owner before. */
static void hand_back_recorded(int fd, uid_t uid)
{
        _cleanup_free_ char *text = NULL;
        char *line, *next;

        if (lseek(fd, 0, SEEK_SET) < 0 || hp_read_all(fd, 1 << 20, &text, NULL) < 0)
                return;
        for (line = text; line && *line; line = next) {
                char *uid_text = line, *gid_text, *path;
                uint64_t ouid, ogid;
                struct stat st;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                if (!(gid_text = strchr(uid_text, ' ')))
                        continue;
                *gid_text++ = '\0';
                if (!(path = strchr(gid_text, ' ')))
                        continue;
                *path++ = '\0';
                if (hp_parse_u64(uid_text, 10, &ouid) < 0 || hp_parse_u64(gid_text, 10, &ogid) < 0 ||
                    ouid > UINT32_MAX || ogid > UINT32_MAX || path[0] != '/')
                        continue; /* the "vm NAME" line */
                /* Only what is still the VM user's: a path replaced since is not touched. */
                if (lstat(path, &st) < 0 || st.st_uid != uid)
                        continue;
                if (S_ISDIR(st.st_mode))
                        reclaim_entries(path, uid, (uid_t)ouid);
                (void)lchown(path, (uid_t)ouid, (gid_t)ogid);
        }
}

static int record(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int record(int fd, const char *fmt, ...)
{
        _cleanup_free_ char *line = NULL;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&line, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        /* Written before the change it records, and synced: a crash between the
         * two must not lose whose the file was. */
        if (lseek(fd, 0, SEEK_END) < 0 || hp_write_all(fd, line, (size_t)n) < 0 ||
            fdatasync(fd) < 0)
                return -errno;
        return 0;
}

int hp_vm_user_take(const char *users_dir, const struct hp_vm_users *range, const char *vm,
                    const char *kvm_dev, struct hp_vm_user *ret)
{
        struct stat st;
        char path[512];

        if (mkdir(users_dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        for (uint32_t i = 0; i < range->count; i++) {
                uid_t uid = (uid_t)(range->base + i);
                _cleanup_close_ int fd = -1;

                snprintf(path, sizeof(path), "%s/%" PRIu32, users_dir, (uint32_t)uid);
                fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0)
                        return -errno;
                if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                        if (errno == EWOULDBLOCK || errno == EINTR)
                                continue;
                        return -errno;
                }
                hand_back_recorded(fd, uid);
                if (ftruncate(fd, 0) < 0 || record(fd, "vm %s\n", vm) < 0)
                        return -errno;
                *ret = (struct hp_vm_user){ .uid = uid,
                                            /* Never root's group, as /dev/kvm has without udev. */
                                            .kvm_gid = kvm_dev && stat(kvm_dev, &st) == 0 &&
                                                                       st.st_gid != 0
                                                               ? st.st_gid
                                                               : (gid_t)-1,
                                            .lock_fd = TAKE_FD(fd),
                                            .lock_path = strdup(path) };
                return 0;
        }
        return -EUSERS;
}

int hp_vm_user_hand(struct hp_vm_user *u, char *const *paths, const char **ret_failed)
{
        *ret_failed = NULL;
        for (size_t i = 0; u->lock_fd >= 0 && paths && paths[i]; i++) {
                struct stat st;
                int r;

                if (lstat(paths[i], &st) < 0) {
                        if (errno == ENOENT)
                                continue;
                        r = -errno;
                } else if (S_ISLNK(st.st_mode))
                        r = -ELOOP; /* resolved by the caller: a link here was put here since */
                else if ((r = record(u->lock_fd, "%lu %lu %s\n", (unsigned long)st.st_uid,
                                     (unsigned long)st.st_gid, paths[i])) >= 0 &&
                         lchown(paths[i], u->uid, (gid_t)-1) < 0)
                        r = -errno;
                if (r < 0) {
                        *ret_failed = paths[i];
                        hand_back_recorded(u->lock_fd, u->uid);
                        (void)ftruncate(u->lock_fd, 0);
                        return r;
                }
        }
        return 0;
}

void hp_vm_user_release(struct hp_vm_user *u)
{
        if (!u || u->lock_fd < 0)
                return;
        hand_back_recorded(u->lock_fd, u->uid);
        (void)ftruncate(u->lock_fd, 0);
        close(u->lock_fd);
        u->lock_fd = -1;
        free(u->lock_path);
        u->lock_path = NULL;
}

int hp_vm_user_become(const struct hp_vm_user *u, pid_t supervisor)
{
        struct rlimit lim = { .rlim_cur = u->memlock, .rlim_max = u->memlock }, now;

        /* Locked memory: what QEMU's mem-lock=on and VFIO's pinning need, no
         * more; without CAP_SYS_RESOURCE a hard limit below that stays (QEMU
         * then says it cannot lock its memory). */
        if (u->memlock > 0 && setrlimit(RLIMIT_MEMLOCK, &lim) < 0 &&
            (errno != EPERM || getrlimit(RLIMIT_MEMLOCK, &now) < 0 || now.rlim_max >= u->memlock))
                return -errno;
        if (u->lock_fd >= 0) {
                gid_t groups[1] = { u->kvm_gid };

                if (setgroups(u->kvm_gid != (gid_t)-1 ? 1 : 0, groups) < 0 ||
                    setresgid((gid_t)u->uid, (gid_t)u->uid, (gid_t)u->uid) < 0 ||
                    setresuid(u->uid, u->uid, u->uid) < 0)
                        return -errno;
        }
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        /* After the user changed (a change of user clears it): QEMU goes with
         * its supervisor, so a device the supervisor's end does not release
         * is never still in a guest. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
                return -errno;
        if (getppid() != supervisor)
                return -ESRCH;
        return 0;
}

/* Whether this process may raise its hard limit (CAP_SYS_RESOURCE). */
static bool has_sys_resource(void)
{
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = { 0 };

        if (syscall(SYS_capget, &h, d) < 0)
                return false;
        return d[CAP_SYS_RESOURCE / 32].effective & (1u << (CAP_SYS_RESOURCE % 32));
}

int hp_vm_user_memlock_check(uint64_t need, uint64_t *ret_limit)
{
        struct rlimit now;

        if (getrlimit(RLIMIT_MEMLOCK, &now) < 0)
                return -errno;
        *ret_limit = now.rlim_max == RLIM_INFINITY ? UINT64_MAX : (uint64_t)now.rlim_max;
        return *ret_limit >= need || has_sys_resource() ? 0 : -EPERM;
}

static bool allows(const struct stat *st, uid_t uid, gid_t gid, gid_t kvm_gid, mode_t bit)
{
        if (st->st_uid == uid)
                return st->st_mode & (bit << 6);
        if (st->st_gid == gid || (kvm_gid != (gid_t)-1 && st->st_gid == kvm_gid))
                return st->st_mode & (bit << 3);
        return st->st_mode & bit;
}

int hp_vm_user_can_reach(const char *path, uid_t uid, gid_t gid, gid_t kvm_gid, bool want_read,
                         char **ret_blocker)
{
        _cleanup_free_ char *p = strdup(path);
        struct stat st;

        *ret_blocker = NULL;
        if (!p)
                return -ENOMEM;
        for (char *slash = strchr(p + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
                *slash = '\0';
                if (stat(p, &st) == 0 && S_ISDIR(st.st_mode) &&
                    !allows(&st, uid, gid, kvm_gid, S_IXOTH)) {
                        if (asprintf(ret_blocker, "directory %s (mode %04o, owner %lu)", p,
                                     (unsigned)(st.st_mode & 07777), (unsigned long)st.st_uid) < 0)
                                return -ENOMEM;
                        return -EACCES;
                }
                *slash = '/';
        }
        if (want_read && stat(p, &st) == 0 && !allows(&st, uid, gid, kvm_gid, S_IROTH)) {
                if (asprintf(ret_blocker, "file %s (mode %04o, owner %lu)", p,
                             (unsigned)(st.st_mode & 07777), (unsigned long)st.st_uid) < 0)
                        return -ENOMEM;
                return -EACCES;
        }
        return 0;
}

int hp_vm_user_start(const char *users_dir, const struct hp_vm_users *range, const char *vm,
                     char *const *own, uint64_t memlock, struct hp_vm_user *ret, char **ret_error)
{
        const char *failed = NULL;
        int r = 0;

        *ret_error = NULL;
        *ret = HP_VM_USER_NONE;
        if (range->count > 0) {
                r = users_dir ? hp_vm_user_take(users_dir, range, vm, HP_DEV_DIR "kvm", ret)
                              : -EINVAL;
                if (r == -EUSERS &&
                    asprintf(ret_error,
                             "every QEMU user of the range %u:%u is taken by a running VM: widen "
                             "it (" HP_VM_USERS_ENV ")",
                             range->base, range->count) < 0)
                        *ret_error = NULL;
                else if (r < 0 && r != -EUSERS &&
                         asprintf(ret_error, "cannot take a QEMU user in %s: %s",
                                  users_dir ? users_dir : "?", strerror(-r)) < 0)
                        *ret_error = NULL;
        }
        if (r >= 0 && (r = hp_vm_user_hand(ret, own, &failed)) < 0) {
                if (asprintf(ret_error, "cannot hand %s to QEMU's user %lu: %s",
                             failed ? failed : "?", (unsigned long)ret->uid, strerror(-r)) < 0)
                        *ret_error = NULL;
                hp_vm_user_release(ret);
        }
        ret->memlock = memlock;
        return r;
}

int hp_vm_user_spawn(const struct hp_vm_user *u, const char *bin, char *const *argv, int log_fd,
                     pid_t *ret)
{
        pid_t self = getpid(), child;
        int p[2], err = 0, null;
        ssize_t n;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        child = fork();
        if (child < 0) {
                err = errno;
                close(p[0]);
                close(p[1]);
                return -err;
        }
        if (child == 0) {
                null = open(HP_DEV_DIR "null", O_RDONLY | O_CLOEXEC);
                if (null < 0 || dup2(null, 0) < 0 ||
                    (log_fd >= 0 && (dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)))
                        err = errno;
                else if ((err = -hp_vm_user_become(u, self)) == 0) {
                        if (bin)
                                execv(bin, argv);
                        else
                                execvp(argv[0], argv);
                        err = errno;
                }
                (void)!write(p[1], &err, sizeof(err));
                _exit(127);
        }
        close(p[1]);
        while ((n = read(p[0], &err, sizeof(err))) < 0 && errno == EINTR)
                ;
        close(p[0]);
        if (n == (ssize_t)sizeof(err)) {
                while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
                        ;
                return -err;
        }
        *ret = child;
        return 0;
}
