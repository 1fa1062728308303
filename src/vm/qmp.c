/* QMP over a Unix socket: one JSON object per line. */
#include "qmp.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/macro.h"
#include "util/unixsock.h"

struct hp_qmp {
        int fd;
        char buf[65536];
        size_t len;
};

static long now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The next complete line, as JSON. */
static int read_message(struct hp_qmp *q, long deadline, json_t **ret)
{
        for (;;) {
                char *nl = memchr(q->buf, '\n', q->len);
                struct pollfd p = { .fd = q->fd, .events = POLLIN };
                ssize_t n;
                int left, r;

                if (nl) {
                        json_error_t e;
                        size_t line = (size_t)(nl - q->buf) + 1;

                        *ret = json_loadb(q->buf, line, 0, &e);
                        memmove(q->buf, q->buf + line, q->len - line);
                        q->len -= line;
                        return *ret ? 0 : -EBADMSG;
                }
                if (q->len == sizeof(q->buf))
                        return -EMSGSIZE;
                left = (int)(deadline - now_ms());
                if (left <= 0)
                        return -ETIMEDOUT;
                r = poll(&p, 1, left);
                if (r < 0 && errno != EINTR)
                        return -errno;
                if (r <= 0)
                        continue;
                n = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
                if (n < 0 && errno != EINTR)
                        return -errno;
                if (n == 0)
                        return -ECONNRESET;
                if (n > 0)
                        q->len += (size_t)n;
        }
}

static int send_command(struct hp_qmp *q, const char *command, json_t *args)
{
        json_t *j = json_pack("{s:s}", "execute", command);
        char *text;
        size_t len, off = 0;

        if (!j)
                return -ENOMEM;
        if (args && json_object_set(j, "arguments", args) < 0) {
                json_decref(j);
                return -ENOMEM;
        }
        text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (!text)
                return -ENOMEM;
        len = strlen(text);
        text[len++] = '\n'; /* replaces the NUL: the buffer is not a string from here on */
        while (off < len) {
                ssize_t n = send(q->fd, text + off, len - off, MSG_NOSIGNAL);

                if (n < 0 && errno != EINTR) {
                        free(text);
                        return -errno;
                }
                if (n > 0)
                        off += (size_t)n;
        }
        free(text);
        return 0;
}

int hp_qmp_execute(struct hp_qmp *q, const char *command, json_t *args, int timeout_ms, json_t **ret,
                   char **ret_error)
{
        long deadline = now_ms() + timeout_ms;
        int r = send_command(q, command, args);

        if (r < 0)
                return r;
        for (;;) {
                json_t *m = NULL, *v;

                r = read_message(q, deadline, &m);
                if (r < 0)
                        return r;
                if ((v = json_object_get(m, "return"))) {
                        if (ret)
                                *ret = json_incref(v);
                        json_decref(m);
                        return 0;
                }
                if ((v = json_object_get(m, "error"))) {
                        const char *desc = json_string_value(json_object_get(v, "desc"));

                        if (ret_error)
                                *ret_error = strdup(desc ? desc : "QMP error");
                        json_decref(m);
                        return -EREMOTEIO;
                }
                json_decref(m); /* an event: not the answer */
        }
}

/* True while the child pid has not exited; the exit is left to be reaped. */
static bool child_alive(pid_t pid)
{
        siginfo_t si = { 0 };

        return pid <= 0 || waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid != pid;
}

int hp_qmp_connect(const char *path, int timeout_ms, struct hp_qmp **ret)
{
        return hp_qmp_connect_child(path, timeout_ms, 0, ret);
}

int hp_qmp_connect_child(const char *path, int timeout_ms, pid_t child, struct hp_qmp **ret)
{
        _cleanup_free_ struct hp_qmp *q = calloc(1, sizeof(*q));
        long deadline = now_ms() + timeout_ms;
        json_t *greeting = NULL;
        int r;

        if (!q)
                return -ENOMEM;
        q->fd = -1;
        for (;;) {
                r = hp_unix_connect(path, &q->fd);
                if (r >= 0)
                        break;
                if ((r != -ENOENT && r != -ECONNREFUSED) || now_ms() >= deadline)
                        return r;
                if (!child_alive(child))
                        return -ECHILD; /* QEMU exited before it listened: no use waiting */
                nanosleep(&(struct timespec){ .tv_nsec = 2 * 1000 * 1000 }, NULL);
        }
        r = read_message(q, deadline, &greeting);
        if (r >= 0 && !json_object_get(greeting, "QMP"))
                r = -EPROTO;
        json_decref(greeting);
        if (r >= 0)
                r = hp_qmp_execute(q, "qmp_capabilities", NULL, (int)(deadline - now_ms()) + 1000, NULL, NULL);
        if (r < 0) {
                close(q->fd);
                return r;
        }
        *ret = TAKE_PTR(q);
        return 0;
}

void hp_qmp_close(struct hp_qmp *q)
{
        if (!q)
                return;
        if (q->fd >= 0)
                close(q->fd);
        free(q);
}
