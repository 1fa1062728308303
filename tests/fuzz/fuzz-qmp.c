/* libFuzzer target: the bytes QEMU sends on a QMP socket, as the QMP client
 * reads them: the greeting and capabilities negotiation (hp_qmp_connect),
 * then commands (hp_qmp_execute) until the session ends. The parsing is the
 * socket reading itself (qmp.c's read_message), so the bytes go through a
 * socket: this file defines hp_unix_connect, the one call qmp.c makes to
 * reach QEMU, and hands it one end of a socketpair whose other end holds the
 * input and is shut for writing.
 *
 * Beyond crashes and leaks it checks every outcome against a model of the
 * protocol: one JSON document per line; the greeting must have "QMP"; the
 * answer to a command is the first later line with "return" (its value
 * given back) or "error" (-EREMOTEIO with its "desc"), the lines between
 * (events) skipped; a line that is not JSON ends the session with -EBADMSG,
 * 64 KiB without a newline with -EMSGSIZE, the end of the input with
 * -ECONNRESET. And each command the client sends is one line, a JSON object
 * that names it in "execute". */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/macro.h"
#include "util/unixsock.h"
#include "vm/qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define QMP_BUF      65536 /* struct hp_qmp's buffer */
#define COMMANDS_MAX 32
#define TIMEOUT_MS   4000 /* never reached: the input is all there, then EOF */

static int qemu_end = -1;   /* what hp_unix_connect hands out */
static int fuzzer_end = -1; /* where the commands arrive */

int hp_unix_connect(const char *path, int *ret)
{
        (void)path;
        if (qemu_end < 0)
                return -ECONNREFUSED;
        *ret = qemu_end;
        qemu_end = -1; /* the client closes it */
        return 0;
}

/* The input, line by line, as the model reads it. */
struct model {
        const uint8_t *p;
        size_t left;
};

/* The next line's JSON (0), or how the client's read ends. */
static int model_next(struct model *m, json_t **ret)
{
        const uint8_t *nl = memchr(m->p, '\n', m->left < QMP_BUF ? m->left : QMP_BUF);
        size_t len;

        *ret = NULL;
        if (!nl)
                return m->left >= QMP_BUF ? -EMSGSIZE : -ECONNRESET;
        len = (size_t)(nl - m->p) + 1;
        *ret = json_loadb((const char *)m->p, len, 0, NULL);
        m->p += len;
        m->left -= len;
        return *ret ? 0 : -EBADMSG;
}

/* The answer to the next command as the model has it: 0 with *ret its
 * "return", -EREMOTEIO with *ret_desc, or how the session ends. */
static int model_answer(struct model *m, json_t **ret, const char **ret_desc, json_t **ret_line)
{
        for (;;) {
                json_t *line, *v;
                int r = model_next(m, &line);

                if (r < 0)
                        return r;
                if ((v = json_object_get(line, "return"))) {
                        *ret = v;
                        *ret_line = line;
                        return 0;
                }
                if ((v = json_object_get(line, "error"))) {
                        const char *desc = json_string_value(json_object_get(v, "desc"));

                        *ret_desc = desc ? desc : "QMP error";
                        *ret_line = line;
                        return -EREMOTEIO;
                }
                json_decref(line);
        }
}

/* What the client sent since the last call: exactly one line, a command named command. */
static void check_sent(const char *command)
{
        static char buf[4096];
        ssize_t n = recv(fuzzer_end, buf, sizeof(buf) - 1, MSG_DONTWAIT);
        json_t *j;

        if (n <= 0 || buf[n - 1] != '\n' || memchr(buf, '\n', (size_t)n - 1))
                abort();
        j = json_loadb(buf, (size_t)n, 0, NULL);
        if (!json_is_object(j) || !json_is_string(json_object_get(j, "execute")) ||
            !streq(json_string_value(json_object_get(j, "execute")), command))
                abort();
        json_decref(j);
}

/* One command: the client's outcome is the model's. */
static int check_command(struct hp_qmp *q, struct model *m, const char *command, json_t *args)
{
        _cleanup_(json_decrefp) json_t *line = NULL, *got = NULL;
        _cleanup_free_ char *err = NULL;
        const char *desc = NULL;
        json_t *want = NULL;
        int r = hp_qmp_execute(q, command, args, TIMEOUT_MS, &got, &err);
        int mr = model_answer(m, &want, &desc, &line);

        check_sent(command);
        if (r != mr)
                abort();
        if (r == 0 && (!got || !json_equal(got, want) || err))
                abort();
        if (r == -EREMOTEIO && (got || !err || !streq(err, desc)))
                abort();
        if (r < 0 && r != -EREMOTEIO && (got || err))
                abort();
        return r;
}

/* The greeting and qmp_capabilities, as hp_qmp_connect() does them;
 * *ret_sent: the greeting was good, so qmp_capabilities went out. */
static int model_connect(struct model *m, bool *ret_sent)
{
        _cleanup_(json_decrefp) json_t *greeting = NULL, *line = NULL;
        const char *desc;
        json_t *v;
        int r = model_next(m, &greeting);

        if (r < 0)
                return r;
        if (!json_object_get(greeting, "QMP"))
                return -EPROTO;
        *ret_sent = true;
        return model_answer(m, &v, &desc, &line);
}

static bool feed(const uint8_t *data, size_t size)
{
        int sv[2];

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return false;
        /* The input goes in whole before the client reads: room for 70 kB. */
        (void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &(int){ 1 << 20 }, sizeof(int));
        for (size_t off = 0; off < size;) {
                ssize_t n = send(sv[0], data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);

                if (n <= 0) {
                        close(sv[0]);
                        close(sv[1]);
                        return false;
                }
                off += (size_t)n;
        }
        shutdown(sv[0], SHUT_WR);
        fuzzer_end = sv[0];
        qemu_end = sv[1];
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const commands[] = { "query-status", "cont", "device_del",
                                                "system_powerdown" };
        _cleanup_(hp_qmp_closep) struct hp_qmp *q = NULL;
        struct model m = { data, size };
        bool sent = false;
        int r, mr;

        if (!feed(data, size))
                abort(); /* the harness, not the client */
        r = hp_qmp_connect("qmp.sock", TIMEOUT_MS, &q);
        mr = model_connect(&m, &sent);
        if (r != mr || (r < 0) != !q)
                abort();
        if (sent)
                check_sent("qmp_capabilities");
        for (size_t i = 0; r == 0 && i < COMMANDS_MAX; i++) {
                const char *c = commands[i % ELEMENTSOF(commands)];
                _cleanup_(json_decrefp) json_t *args =
                        streq(c, "device_del") ? json_pack("{s:s}", "id", "hostdev0") : NULL;

                r = check_command(q, &m, c, args);
                if (r == -EREMOTEIO)
                        r = 0; /* an error answers the command; the session goes on */
        }
        close(fuzzer_end);
        fuzzer_end = -1;
        if (qemu_end >= 0) { /* never taken: hp_qmp_connect() connects first */
                close(qemu_end);
                qemu_end = -1;
        }
        return 0;
}
