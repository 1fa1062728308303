/* Reading the probe guest's PROBE lines back, and running its QEMU. */
#include "probe.h"
#include "user.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/hostroot.h"
#include "util/macro.h"
#include "util/strutil.h"

void hp_probe_report_done(struct hp_probe_report *r)
{
        for (size_t i = 0; r && i < r->n_fns; i++)
                free(r->fns[i].detail);
        if (r)
                free(r->fns);
}

/* "key=VALUE" within one line: VALUE up to the next space, copied to buf. */
static bool field(const char *line, const char *key, char *buf, size_t size)
{
        size_t klen = strlen(key);

        for (const char *p = line; (p = strstr(p, key)); p += klen) {
                size_t n;

                if ((p != line && p[-1] != ' ') || p[klen] != '=')
                        continue;
                p += klen + 1;
                n = strcspn(p, " \n");
                if (n >= size)
                        return false;
                memcpy(buf, p, n);
                buf[n] = '\0';
                return true;
        }
        return false;
}

static int parse_bdf(const char *s, unsigned *bus, unsigned *dev, unsigned *fn)
{
        char end;

        if (sscanf(s, "%2x:%2x.%1x%c", bus, dev, fn, &end) != 3)
                return -EBADMSG;
        return 0;
}

/* "0:mem64p:0x800000000/0x800000000,2:io:0xc000/0x20" */
static int parse_bars(const char *s, struct hp_probe_fn *f)
{
        while (*s) {
                struct hp_probe_bar *b = &f->bars[f->n_bars];
                unsigned long long addr, size;
                int used = 0;

                if (f->n_bars >= ELEMENTSOF(f->bars))
                        return -EBADMSG;
                if (sscanf(s, "%u:%7[a-z0-9]:0x%llx/0x%llx%n", &b->index, b->kind, &addr, &size,
                           &used) != 4)
                        return -EBADMSG;
                b->addr = addr;
                b->size = size;
                f->n_bars++;
                s += used;
                if (*s == ',')
                        s++;
                else if (*s)
                        return -EBADMSG;
        }
        return 0;
}

static struct hp_probe_fn *fn_at(struct hp_probe_report *r, unsigned bus, unsigned dev, unsigned fn)
{
        for (size_t i = 0; i < r->n_fns; i++)
                if (r->fns[i].bus == bus && r->fns[i].dev == dev && r->fns[i].fn == fn)
                        return &r->fns[i];
        return NULL;
}

static int parse_dev_line(struct hp_probe_report *r, const char *line)
{
        char bdf[16], id[16], class[16], bars[512] = "";
        unsigned bus, dev, fn, vid, did, cls;
        struct hp_probe_fn *nf, *f;

        if (!field(line, "dev", bdf, sizeof(bdf)) || !field(line, "id", id, sizeof(id)) ||
            !field(line, "class", class, sizeof(class)) || parse_bdf(bdf, &bus, &dev, &fn) < 0 ||
            sscanf(id, "%4x:%4x", &vid, &did) != 2 || sscanf(class, "%6x", &cls) != 1)
                return -EBADMSG;
        (void)field(line, "bars", bars, sizeof(bars));
        nf = realloc(r->fns, (r->n_fns + 1) * sizeof(*nf));
        if (!nf)
                return -ENOMEM;
        r->fns = nf;
        f = &r->fns[r->n_fns++];
        *f = (struct hp_probe_fn){ .bus = bus,
                                   .dev = dev,
                                   .fn = fn,
                                   .vendor_id = (uint16_t)vid,
                                   .device_id = (uint16_t)did,
                                   .class = cls };
        return parse_bars(bars, f);
}

/* "PROBE nvme dev=01:00.0 identify=ok ...": kept as it is, for the report. */
static int parse_detail_line(struct hp_probe_report *r, const char *line, size_t len)
{
        char bdf[16];
        unsigned bus, dev, fn;
        struct hp_probe_fn *f;
        size_t old;
        char *nd;

        if (!field(line, "dev", bdf, sizeof(bdf)) || parse_bdf(bdf, &bus, &dev, &fn) < 0)
                return -EBADMSG;
        f = fn_at(r, bus, dev, fn);
        if (!f)
                return 0; /* relocation before the scan line: nothing to attach to */
        old = f->detail ? strlen(f->detail) : 0;
        nd = realloc(f->detail, old + len + 2);
        if (!nd)
                return -ENOMEM;
        f->detail = nd;
        if (old)
                f->detail[old++] = '\n';
        memcpy(f->detail + old, line, len);
        f->detail[old + len] = '\0';
        if (strstr(f->detail + old, "=fail"))
                f->detail_failed = true;
        return 0;
}

int hp_probe_parse(const char *text, struct hp_probe_report *ret)
{
        _cleanup_(hp_probe_report_done) struct hp_probe_report r = { 0 };
        int k;

        for (const char *p = text; p && *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);
                _cleanup_free_ char *line = strndup(p, len);

                if (!line)
                        return -ENOMEM;
                if (len && line[len - 1] == '\r')
                        line[--len] = '\0';
                k = 0;
                if (hp_startswith(line, "PROBE dev="))
                        k = parse_dev_line(&r, line);
                else if (streq(line, "PROBE done"))
                        r.done = true;
                else if (hp_startswith(line, "PROBE ") && !streq(line, "PROBE start"))
                        k = parse_detail_line(&r, line + strlen("PROBE "), len - strlen("PROBE "));
                if (k < 0)
                        return k;
                p = nl ? nl + 1 : NULL;
        }
        *ret = r;
        r = (struct hp_probe_report){ 0 };
        return 0;
}

const struct hp_probe_fn *hp_probe_find(const struct hp_probe_report *r, uint16_t vendor_id,
                                        uint16_t device_id)
{
        for (size_t i = 0; i < r->n_fns; i++)
                if (r->fns[i].bus != 0 && r->fns[i].vendor_id == vendor_id &&
                    r->fns[i].device_id == device_id)
                        return &r->fns[i];
        return NULL;
}

static long now_ms(void)
{
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Whether the guest has said its first line. */
static bool guest_started(const char *serial_path)
{
        char buf[4096];
        ssize_t n;
        int fd = open(serial_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

        if (fd < 0)
                return false;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
        return strstr(buf, "PROBE start") != NULL;
}

int hp_probe_run(char *const *argv, const struct hp_vm_user *u, const char *log_path,
                 const char *serial_path, int start_ms, int timeout_ms, int *ret_status)
{
        long started = 0, deadline = now_ms() + start_ms;
        int r, status, log;
        pid_t pid;

        /* A log left by an earlier probe must not look like this one's start. */
        if (unlink(serial_path) < 0 && errno != ENOENT)
                return -errno;
        log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (log < 0)
                return -errno;
        r = hp_vm_user_spawn(u, NULL, argv, log, &pid);
        close(log);
        if (r < 0)
                return r;
        for (;;) {
                pid_t w = waitpid(pid, &status, WNOHANG);

                if (w == pid)
                        break;
                if (w < 0 && errno != EINTR)
                        return -errno;
                if (!started && guest_started(serial_path)) {
                        started = now_ms();
                        deadline = started + timeout_ms;
                }
                if (now_ms() >= deadline) {
                        kill(pid, SIGKILL);
                        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                                ;
                        *ret_status = -1;
                        return started ? -ETIMEDOUT : -ETIME;
                }
                nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }
        *ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return 0;
}
