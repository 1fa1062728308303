/* flock(2) locks on RUN_DIR/locks/{vm-NAME,group-N,device-SBDF} (see lock.h
 * for the order), each naming its holder (util/lockfile.h), so a waiter that
 * gives up can say who holds it. */
#include "lock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ops.h"
#include "util/hostroot.h"
#include "util/lockfile.h"
#include "util/macro.h"
#include "util/strutil.h"

void hp_ops_unlock(struct hp_ops_lock *l)
{
        /* Released in reverse: the last taken goes first. */
        for (size_t i = l->n; i-- > 0;)
                if (l->fds[i] >= 0)
                        close(l->fds[i]);
        free(l->fds);
        *l = (struct hp_ops_lock){ 0 };
}

static int lock_dir(struct hp_ops_ctx *c, char *buf, size_t size)
{
        snprintf(buf, size, "%s/locks", c->run_dir);
        if (mkdir(c->run_dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (mkdir(buf, 0700) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

/* Takes RUN_DIR/locks/NAME, waiting up to HP_OPS_LOCK_WAIT_MS; its fd is
 * appended to l. subject names it in a refusal ("VM 'a'", "IOMMU group 3"). */
static int take(struct hp_ops_ctx *c, const char *name, const char *subject, const char *what,
                struct hp_ops_lock *l)
{
        _cleanup_close_ int fd = -1;
        char dir[512], path[768], by[128];
        int *fds, r;

        r = lock_dir(c, dir, sizeof(dir));
        if (r < 0)
                return hp_op_host_error(c, r, "cannot create the lock directory '%s'", dir);
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = hp_lockfile_take(path, HP_OPS_LOCK_WAIT_MS, what, by, sizeof(by));
        if (fd == -EWOULDBLOCK)
                return hp_op_fail(c, HP_OP_CONFLICT, -EBUSY, "%s is busy: %s holds it; try again when it is done",
                                  subject, by);
        if (fd < 0)
                return hp_op_host_error(c, fd, "cannot lock '%s'", path);
        fds = realloc(l->fds, (l->n + 1) * sizeof(*fds));
        if (!fds)
                return hp_op_oom(c);
        l->fds = fds;
        l->fds[l->n++] = TAKE_FD(fd);
        return 0;
}

int hp_ops_lock_vm(struct hp_ops_ctx *c, const char *vm, const char *what, struct hp_ops_lock *ret)
{
        char name[128], subject[128];
        int r;

        snprintf(name, sizeof(name), "vm-%s", vm);
        snprintf(subject, sizeof(subject), "VM '%s'", vm);
        r = take(c, name, subject, what, ret);
        if (r < 0)
                hp_ops_unlock(ret);
        return r;
}

struct key {
        int group; /* -1: none, then by address */
        const char *address;
};

static int key_cmp(const void *a, const void *b)
{
        const struct key *x = a, *y = b;

        if (x->group != y->group)
                return x->group < 0 ? 1 : y->group < 0 ? -1 : x->group < y->group ? -1 : 1;
        return x->group < 0 ? strcmp(x->address, y->address) : 0;
}

/* The device's IOMMU group number, -1 when it has none; -ENOENT when there
 * is no such device. */
static int group_of(const struct hp_host *h, const char *address)
{
        char rel[128], target[256];
        const char *base;
        int group, r;

        snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", address);
        if (!hp_host_exists(h, rel))
                return -ENOENT;
        snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/iommu_group", address);
        r = hp_host_readlink(h, rel, target, sizeof(target));
        if (r < 0)
                return -1;
        base = strrchr(target, '/');
        if (hp_parse_int(base ? base + 1 : target, &group) < 0 || group < 0)
                return -1;
        return group;
}

int hp_ops_lock_groups(struct hp_ops_ctx *c, char *const *addresses, size_t n, const char *what,
                       struct hp_ops_lock *l)
{
        _cleanup_free_ struct key *keys = calloc(n + 1, sizeof(*keys));
        size_t k = 0;
        int r;

        if (!keys)
                return hp_op_oom(c);
        for (size_t i = 0; i < n; i++) {
                int group = group_of(c->host, addresses[i]);

                if (group != -ENOENT)
                        keys[k++] = (struct key){ .group = group, .address = addresses[i] };
        }
        qsort(keys, k, sizeof(*keys), key_cmp);
        for (size_t i = 0; i < k; i++) {
                char name[64], subject[64];

                if (i > 0 && key_cmp(&keys[i - 1], &keys[i]) == 0)
                        continue;
                if (keys[i].group >= 0) {
                        snprintf(name, sizeof(name), "group-%d", keys[i].group);
                        snprintf(subject, sizeof(subject), "IOMMU group %d", keys[i].group);
                } else {
                        snprintf(name, sizeof(name), "device-%s", keys[i].address);
                        snprintf(subject, sizeof(subject), "%s", keys[i].address);
                }
                r = take(c, name, subject, what, l);
                if (r < 0)
                        return r;
        }
        return 0;
}
