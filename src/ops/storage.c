/* The storage directories and the block devices a VM's files may be
 * (storage.h). Each path is resolved (realpath: every symlink, "..") before
 * it is compared, so a link under a storage directory to a file outside it
 * is outside; a directory matches on whole components ("/srv/images" does
 * not hold "/srv/images2/x"). */
#include "storage.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "device.h"
#include "ops.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm/spec.h"
#include "vm/specjson.h"

/* "a:b" into a new vector, empty entries dropped. */
static int split_colons(const char *s, char ***ret)
{
        _cleanup_strv_free_ char **v = calloc(1, sizeof(char *));

        if (!v)
                return -ENOMEM;
        for (const char *p = s, *end; p; p = *end ? end + 1 : NULL) {
                end = p + strcspn(p, ":");
                if (end > p && hp_strv_pushf(&v, "%.*s", (int)(end - p), p) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(v);
        return 0;
}

static int list_or_env(char *const *set, const char *env, char ***ret)
{
        const char *e = getenv(env);

        if (set)
                return hp_strv_copy(set, ret);
        return split_colons(e ? e : "", ret);
}

int hp_ops_storage_dirs(const struct hp_ops_ctx *c, char ***ret)
{
        _cleanup_strv_free_ char **v = NULL;
        char guest[PATH_MAX], *slash;
        int r = list_or_env(c->storage_dirs, HP_STORAGE_DIRS_ENV, &v);

        if (r < 0)
                return r;
        if (!v[0] && hp_strv_pushf(&v, "%s/" HP_STORAGE_DIR_DEFAULT,
                                   c->state_dir ?: HP_DEFAULT_STATE_DIR) < 0)
                return -ENOMEM;
        /* hwpass's own data: where its probe guest is. */
        if (hp_ops_probe_guest_path(guest, sizeof(guest)) >= 0 && (slash = strrchr(guest, '/')) &&
            slash > guest) {
                *slash = '\0';
                if (hp_strv_pushf_unique(&v, "%s", guest) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(v);
        return 0;
}

int hp_ops_block_devices(const struct hp_ops_ctx *c, char ***ret)
{
        return list_or_env(c->block_devices, HP_BLOCK_DEVICES_ENV, ret);
}

/* Whether the resolved path real lies under directory dir (itself resolved). */
static bool under(const char *real, const char *dir)
{
        _cleanup_free_ char *d = realpath(dir, NULL);
        size_t n = d ? strlen(d) : 0;

        if (!d)
                return false;
        if (streq(d, "/"))
                return true;
        return strncmp(real, d, n) == 0 && real[n] == '/';
}

/* Whether the resolved block device real is one of devices (each resolved). */
static bool listed_device(const char *real, char *const *devices)
{
        for (size_t i = 0; devices && devices[i]; i++) {
                _cleanup_free_ char *d = realpath(devices[i], NULL);

                if (d && streq(d, real))
                        return true;
        }
        return false;
}

/* 1 allowed, 0 not (*ret_real the resolved path, *ret_block whether a block
 * device), -errno when path does not resolve. */
static int judge(const struct hp_ops_ctx *c, const char *path, char **ret_real, bool *ret_block)
{
        _cleanup_strv_free_ char **dirs = NULL, **devices = NULL;
        _cleanup_free_ char *real = realpath(path, NULL);
        struct stat st;
        bool ok = false;
        int r;

        if (!real)
                return -errno;
        if (stat(real, &st) < 0)
                return -errno;
        *ret_block = S_ISBLK(st.st_mode);
        if (*ret_block) {
                r = hp_ops_block_devices(c, &devices);
                ok = r >= 0 && listed_device(real, devices);
        } else {
                r = hp_ops_storage_dirs(c, &dirs);
                for (size_t i = 0; r >= 0 && !ok && dirs[i]; i++)
                        ok = under(real, dirs[i]);
        }
        if (r < 0)
                return r;
        if (ret_real)
                *ret_real = TAKE_PTR(real);
        return ok;
}

bool hp_ops_storage_allows(const struct hp_ops_ctx *c, const char *path)
{
        bool block;

        return judge(c, path, NULL, &block) == 1;
}

/* "a, b" */
static char *join(char *const *v)
{
        size_t n = 1, at = 0;
        char *s;

        for (size_t i = 0; v[i]; i++)
                n += strlen(v[i]) + 2;
        s = malloc(n);
        for (size_t i = 0; s && v[i]; i++)
                at += (size_t)snprintf(s + at, n - at, "%s%s", i > 0 ? ", " : "", v[i]);
        if (s && at == 0)
                s[0] = '\0';
        return s;
}

int hp_ops_storage_check(struct hp_ops_ctx *c, const char *what, const char *path, bool missing_ok,
                         int kind)
{
        _cleanup_strv_free_ char **dirs = NULL;
        _cleanup_free_ char *real = NULL, *list = NULL;
        char link[PATH_MAX + 32] = "";
        bool block = false;
        int r = judge(c, path, &real, &block);

        if (r == 1 || (r == -ENOENT && missing_ok))
                return 0;
        if (r < 0)
                return hp_op_fail(c, kind, r,
                                  "%s '%s' cannot be checked against the storage directories: %s",
                                  what, path, strerror(-r));
        if (!streq(real, path))
                snprintf(link, sizeof(link), " (which is '%s')", real);
        if (block)
                return hp_op_fail(
                        c, kind, -EACCES,
                        "%s '%s'%s is a block device that is not allowed: allow it with hwpassd "
                        "--block-device %s (" HP_BLOCK_DEVICES_ENV " for hwpass without a daemon)",
                        what, path, link, path);
        if (hp_ops_storage_dirs(c, &dirs) < 0 || !(list = join(dirs)))
                return hp_op_oom(c);
        return hp_op_fail(c, kind, -EACCES,
                          "%s '%s'%s lies outside the storage directories (%s): move it into one, "
                          "or allow its "
                          "directory (hwpassd --storage-dir DIR; " HP_STORAGE_DIRS_ENV
                          " for hwpass without a daemon)",
                          what, path, link, list);
}

int hp_ops_storage_check_spec(struct hp_ops_ctx *c, const struct hp_vm_spec *s, bool missing_ok,
                              int kind)
{
        int r = 0;

        for (size_t i = 0; r >= 0 && s->disks && s->disks[i]; i++)
                r = hp_ops_storage_check(c, "disk", s->disks[i], missing_ok, kind);
        if (r >= 0 && s->kernel)
                r = hp_ops_storage_check(c, "kernel", s->kernel, missing_ok, kind);
        for (size_t i = 0; r >= 0 && i < s->n_pci; i++)
                if (s->pci[i].romfile) {
                        char what[48];

                        snprintf(what, sizeof(what), "pci%d's ROM file", s->pci[i].index);
                        r = hp_ops_storage_check(c, what, s->pci[i].romfile, missing_ok, kind);
                }
        return r;
}

/* The paths of one stored VM that are not allowed, into list (JSON array). */
static int outside(const struct hp_ops_ctx *c, const struct hp_vm_record *rec, json_t *list)
{
        _cleanup_(hp_vm_spec_done) struct hp_vm_spec spec = { 0 };
        _cleanup_strv_free_ char **paths = NULL;
        _cleanup_free_ char *err = NULL;
        int r = hp_vm_spec_from_text(rec->spec_json, &spec, &err);

        if (r < 0)
                return 0; /* a damaged spec: vm show says so, and power-on refuses it */
        r = hp_vm_spec_paths(&spec, &paths);
        for (size_t i = 0; r >= 0 && paths[i]; i++)
                if (!hp_ops_storage_allows(c, paths[i]) &&
                    json_array_append_new(list, json_string(paths[i])) < 0)
                        r = -ENOMEM;
        return r;
}

int hp_ops_storage_audit(struct hp_ops_ctx *c, json_t **ret)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_(json_decrefp) json_t *vms = json_array();
        struct hp_vm_record *recs = NULL;
        size_t n = 0;
        int r = hp_ops_store_open(c, &s);

        if (r < 0)
                return r;
        if (!vms)
                return hp_op_oom(c);
        r = hp_store_vm_list(s, &recs, &n);
        if (r < 0)
                return hp_op_store_error(c, r, "cannot read the VMs");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *message = NULL, *list = NULL;
                json_t *paths = json_array();

                r = paths ? outside(c, &recs[i], paths) : -ENOMEM;
                if (r < 0 || json_array_size(paths) == 0) {
                        json_decref(paths);
                        continue;
                }
                list = json_dumps(paths, JSON_COMPACT);
                if (!list ||
                    asprintf(&message,
                             "files outside the storage directories: %s; its power-on is refused "
                             "until "
                             "they are moved into one or their directory is allowed (hwpassd "
                             "--storage-dir)",
                             list) < 0)
                        r = -ENOMEM;
                if (r >= 0)
                        r = hp_store_event_add(s, "vm-paths-outside", recs[i].name, message);
                if (r >= 0)
                        r = json_array_append_new(
                                vms, json_pack("{s:s, s:o}", "name", recs[i].name, "paths", paths));
                else
                        json_decref(paths);
        }
        hp_vm_records_free(recs, n);
        if (r < 0)
                return hp_op_store_error(c, r, "cannot check the VMs' files");
        *ret = json_pack("{s:O}", "vms", vms);
        return *ret ? 0 : hp_op_oom(c);
}
