/* The EFI firmware a VM boots: OVMF's code, shared read-only, and the VM's
 * own copy of the variable store, made from OVMF's template at first start
 * and kept across starts (boot entries, Secure Boot keys live there). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/macro.h"
#include "vm/firmware.h"

static int mkdir_parents(const char *path)
{
        char buf[4096];

        if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
                return -ENAMETOOLONG;
        for (char *p = buf + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(buf, 0700) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        return 0;
}

/* Copies src to a temporary name beside dst, then renames: a crash never
 * leaves a half-written vars store that a later start would take as valid. */
static int copy_file(const char *src, const char *dst)
{
        _cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int out = -1;
        char tmp[4096], buf[65536];
        ssize_t n;

        if (in < 0)
                return -errno;
        if (snprintf(tmp, sizeof(tmp), "%s.new", dst) >= (int)sizeof(tmp))
                return -ENAMETOOLONG;
        out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (out < 0)
                return -errno;
        while ((n = read(in, buf, sizeof(buf))) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 || write(out, buf, (size_t)n) != n) {
                        int r = n < 0 ? -errno : -EIO;

                        (void)unlink(tmp);
                        return r;
                }
        }
        if (fsync(out) < 0 || rename(tmp, dst) < 0) {
                int r = -errno;

                (void)unlink(tmp);
                return r;
        }
        return 0;
}

int hp_vm_firmware_prepare(const char *code, const char *vars_template, const char *vars,
                           const char **ret_missing)
{
        int r;

        *ret_missing = NULL;
        if (access(code, R_OK) < 0) {
                *ret_missing = code;
                return -errno;
        }
        if (access(vars, R_OK | W_OK) == 0)
                return 0;
        if (access(vars_template, R_OK) < 0) {
                *ret_missing = vars_template;
                return -errno;
        }
        r = mkdir_parents(vars);
        if (r < 0)
                return r;
        return copy_file(vars_template, vars);
}

int hp_vm_firmware_remove(const char *vars)
{
        char dir[4096];
        char *slash;

        if (unlink(vars) < 0 && errno != ENOENT)
                return -errno;
        if (snprintf(dir, sizeof(dir), "%s", vars) >= (int)sizeof(dir) ||
            !(slash = strrchr(dir, '/')))
                return 0;
        *slash = '\0';
        /* The VM's directory goes with its last file; anything else keeps it. */
        if (rmdir(dir) < 0 && errno != ENOENT && errno != ENOTEMPTY)
                return -errno;
        return 0;
}
