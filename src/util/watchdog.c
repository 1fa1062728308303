/* The kernel's watchdog API (Documentation/watchdog/watchdog-api.rst):
 * WDIOC_SETTIMEOUT, WDIOC_KEEPALIVE, and 'V' written before close for the
 * magic close. */
#include "watchdog.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/watchdog.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct hp_watchdog {
        int fd;
        int timeout_s;
};

int hp_watchdog_open(const char *path, int timeout_s, struct hp_watchdog **ret)
{
        struct hp_watchdog *w = calloc(1, sizeof(*w));
        int r;

        if (!w)
                return -ENOMEM;
        w->fd = open(path, O_WRONLY | O_CLOEXEC);
        if (w->fd < 0) {
                r = -errno;
                free(w);
                return r;
        }
        r = hp_watchdog_set_timeout(w, timeout_s);
        if (r < 0) {
                hp_watchdog_close(w, true);
                return r;
        }
        *ret = w;
        return 0;
}

int hp_watchdog_set_timeout(struct hp_watchdog *w, int timeout_s)
{
        int t = timeout_s;

        if (timeout_s == w->timeout_s)
                return 0;
        if (ioctl(w->fd, WDIOC_SETTIMEOUT, &t) < 0)
                return -errno;
        /* What the device took may differ; asking again for the same is not
         * a change. */
        w->timeout_s = timeout_s;
        return 0;
}

int hp_watchdog_timeout(const struct hp_watchdog *w)
{
        return w->timeout_s;
}

int hp_watchdog_feed(struct hp_watchdog *w)
{
        int dummy = 0;

        return ioctl(w->fd, WDIOC_KEEPALIVE, &dummy) < 0 ? -errno : 0;
}

void hp_watchdog_close(struct hp_watchdog *w, bool disarm)
{
        if (!w)
                return;
        if (disarm && write(w->fd, "V", 1) != 1) {
                /* Left armed: the device says so in the kernel's log. */
        }
        close(w->fd);
        free(w);
}
