/* Power-on's memory admission. Every VM runs with -overcommit mem-lock=on:
 * QEMU locks (and so faults in) all of its guest RAM as it allocates it,
 * before the guest runs. Memory a QEMU has locked is no longer in the
 * kernel's MemAvailable, so a running VM is never counted against it a
 * second time: only memory a VM will lock and has not locked yet (one still
 * starting) is, judged by its QEMU's VmLck in proc/PID/status (the pid from
 * its pid file, checked against its command line). Hugepage VMs take their
 * memory from the free hugepages, which a running VM has already taken (it
 * preallocates). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "util/hostroot.h"
#include "util/io.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm.h"
#include "vm/specjson.h"

/* A value of proc/meminfo's or proc/PID/status's text ("MemAvailable",
 * "VmLck"): kB or a count. */
static int kv_value(const char *text, const char *key, uint64_t *ret)
{
        char want[64], num[32];
        const char *p;

        snprintf(want, sizeof(want), "\n%s:", key);
        if (strncmp(text, want + 1, strlen(want + 1)) == 0)
                p = text - 1; /* the first line */
        else if (!(p = strstr(text, want)))
                return -ENOENT;
        if (sscanf(p + strlen(want), "%31s", num) != 1 || hp_parse_u64(num, 10, ret) < 0)
                return -EBADMSG;
        return 0;
}

int hp_ops_host_memory(struct hp_ops_ctx *c, json_t **ret)
{
        _cleanup_free_ char *meminfo = NULL;
        uint64_t total = 0, avail = 0, hp_total = 0, hp_free = 0, hp_kib = 0;
        int r = hp_host_read(c->host, "proc/meminfo", &meminfo);

        if (r < 0)
                return hp_op_host_error(c, r, "cannot read the host's memory (proc/meminfo)");
        if (kv_value(meminfo, "MemTotal", &total) < 0 || kv_value(meminfo, "MemAvailable", &avail) < 0)
                return hp_op_fail(c, HP_OP_HOST, -EBADMSG, "proc/meminfo gives no MemTotal or MemAvailable");
        /* A kernel without hugepages has none of these: 0 of them. */
        (void)kv_value(meminfo, "HugePages_Total", &hp_total);
        (void)kv_value(meminfo, "HugePages_Free", &hp_free);
        (void)kv_value(meminfo, "Hugepagesize", &hp_kib);
        *ret = json_pack("{s:I, s:I, s:{s:I, s:I, s:I}}", "total_mib", (json_int_t)(total / 1024), "available_mib",
                         (json_int_t)(avail / 1024), "hugepages", "size_kib", (json_int_t)hp_kib, "total",
                         (json_int_t)hp_total, "free", (json_int_t)hp_free);
        return *ret ? 0 : hp_op_oom(c);
}

/* The pid is still this VM's QEMU, not a pid reused since: its command
 * line has "-pidfile PIDFILE". */
static bool is_vm_qemu(const struct hp_ops_ctx *c, uint64_t pid, const char *pidfile)
{
        _cleanup_free_ char *cmd = NULL;
        _cleanup_close_ int fd = -1;
        size_t len = 0;
        char rel[64];

        snprintf(rel, sizeof(rel), "proc/%" PRIu64 "/cmdline", pid);
        fd = hp_host_openat(c->host, rel, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || hp_read_all(fd, 1 << 20, &cmd, &len) < 0)
                return false;
        /* NUL-separated arguments; cmd is NUL-terminated past len too. */
        for (size_t o = 0; o < len; o += strlen(cmd + o) + 1)
                if (streq(cmd + o, "-pidfile") && o + 9 < len && streq(cmd + o + 9, pidfile))
                        return true;
        return false;
}

int hp_ops_vm_qemu_pid(const struct hp_ops_ctx *c, const char *name, uint64_t *ret)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -1;
        char path[768];
        uint64_t pid;

        hp_ops_vm_run_file(c->run_dir, name, "qemu.pid", path, sizeof(path));
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (hp_read_all(fd, 64, &text, NULL) < 0)
                return -EBADMSG;
        if (hp_parse_u64(hp_strstrip(text), 10, &pid) < 0 || pid <= 1 || pid > INT32_MAX)
                return -EBADMSG;
        /* Written by QEMU, as its own user: taken only for a process that is
         * this VM's QEMU. */
        if (!is_vm_qemu(c, pid, path))
                return -ESRCH;
        *ret = pid;
        return 0;
}

/* MiB of a VM's memory its QEMU has still to lock. Its VmLck (the kernel's
 * locked_vm) is what it has locked; that also holds QEMU's own locked
 * mappings, so for a QEMU still allocating the guest's RAM this errs low by
 * QEMU's own size, for a moment. Without a QEMU whose status can be read
 * (not exec'd yet, gone, a pid reused by another process, a host tree
 * without it) nothing says any of it is locked: all of it counts. */
static uint64_t pending_mib(const struct hp_ops_ctx *c, const char *name, uint64_t memory_mib)
{
        _cleanup_free_ char *status = NULL;
        uint64_t pid, locked_kib;
        char rel[64];

        if (hp_ops_vm_qemu_pid(c, name, &pid) < 0)
                return memory_mib;
        snprintf(rel, sizeof(rel), "proc/%" PRIu64 "/status", pid);
        if (hp_host_read(c->host, rel, &status) < 0 || kv_value(status, "VmLck", &locked_kib) < 0)
                return memory_mib;
        return locked_kib / 1024 >= memory_mib ? 0 : memory_mib - locked_kib / 1024;
}

/* What the other VMs that are not off have still to lock, in MiB. */
static int others_pending(const struct hp_ops_ctx *c, struct hp_store *store, const char *vm, uint64_t *ret)
{
        struct hp_vm_record *recs = NULL;
        uint64_t pending = 0;
        size_t n = 0;
        int r = hp_store_vm_list(store, &recs, &n);

        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_(hp_vm_spec_done) struct hp_vm_spec s = { 0 };
                _cleanup_free_ char *err = NULL;

                if (streq(recs[i].name, vm) || streq(recs[i].state, "off"))
                        continue;
                if (hp_vm_spec_from_text(recs[i].spec_json, &s, &err) >= 0 && !s.hugepages)
                        pending += pending_mib(c, s.name, s.memory_mib);
        }
        hp_vm_records_free(recs, n);
        *ret = pending;
        return 0;
}

void hp_ops_memory_room(const struct hp_ops_ctx *c, struct hp_store *store, const char *vm,
                        struct hp_ops_memory_room *ret)
{
        _cleanup_free_ char *meminfo = NULL;
        struct hp_ops_memory_room m = { 0 };

        if (hp_host_read(c->host, "proc/meminfo", &meminfo) >= 0) {
                m.known = kv_value(meminfo, "MemAvailable", &m.available_mib) >= 0 &&
                          others_pending(c, store, vm, &m.pending_mib) >= 0;
                m.available_mib /= 1024;
                m.hugepages_known = kv_value(meminfo, "HugePages_Free", &m.hugepages_free) >= 0 &&
                                    kv_value(meminfo, "Hugepagesize", &m.hugepage_kib) >= 0 && m.hugepage_kib > 0;
        }
        if (!m.known)
                m.available_mib = m.pending_mib = 0;
        if (!m.hugepages_known)
                m.hugepages_free = m.hugepage_kib = 0;
        *ret = m;
}

static int admit_hugepages(struct hp_ops_ctx *c, const struct hp_vm_spec *s, const struct hp_ops_memory_room *m)
{
        uint64_t need;

        if (!m->hugepages_known)
                return hp_op_fail(c, HP_OP_CONFLICT, -ENOMEM,
                                  "VM '%s' asks for hugepages and this host reports none: reserve them (sysctl "
                                  "vm.nr_hugepages) or 'hwpass vm set %s --hugepages off'",
                                  s->name, s->name);
        need = (s->memory_mib * 1024 + m->hugepage_kib - 1) / m->hugepage_kib;
        if (need > m->hugepages_free)
                return hp_op_fail(c, HP_OP_CONFLICT, -ENOMEM,
                                  "VM '%s' needs %" PRIu64 " hugepages of %" PRIu64 " kB for its %" PRIu64
                                  " MiB; the host has %" PRIu64 " free: reserve more (sysctl vm.nr_hugepages) or "
                                  "stop a VM that uses them",
                                  s->name, need, m->hugepage_kib, s->memory_mib, m->hugepages_free);
        return 0;
}

int hp_ops_vm_admit_memory(struct hp_ops_ctx *c, const struct hp_ops_vm *v)
{
        struct hp_ops_memory_room m;
        uint64_t avail, pending;

        hp_ops_memory_room(c, v->store, v->spec.name, &m);
        if (v->spec.hugepages)
                return admit_hugepages(c, &v->spec, &m);
        if (!m.known)
                return 0; /* nothing to judge by: QEMU's own allocation decides */
        avail = m.available_mib;
        pending = m.pending_mib;
        if (v->spec.memory_mib + pending <= avail)
                return 0;
        if (pending == 0)
                return hp_op_fail(c, HP_OP_CONFLICT, -ENOMEM,
                                  "VM '%s' needs %" PRIu64 " MiB reserved; the host has %" PRIu64
                                  " MiB available: stop a VM or give this one less memory",
                                  v->spec.name, v->spec.memory_mib, avail);
        return hp_op_fail(c, HP_OP_CONFLICT, -ENOMEM,
                          "VM '%s' needs %" PRIu64 " MiB reserved; the host has %" PRIu64
                          " MiB available and other VMs have %" PRIu64
                          " MiB of it yet to lock: stop a VM, wait for the others to finish starting, or give "
                          "this one less memory",
                          v->spec.name, v->spec.memory_mib, avail, pending);
}
