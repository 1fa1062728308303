/* hwpass ARGV as a child of the daemon, with its output collected. Direct
 * mode (HWPASS_DIRECT) keeps the child from asking the daemon in turn. */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/api-internal.h"
#include "util/io.h"
#include "util/macro.h"
#include "util/strutil.h"

extern char **environ;

/* Output beyond this is dropped (a command's text is far smaller). */
#define OUTPUT_MAX (4 * 1024 * 1024)

void hp_api_exec_result_done(struct hp_api_exec_result *r)
{
        free(r->out);
        free(r->err);
        *r = (struct hp_api_exec_result){ 0 };
}

/* One read from fd into b; 0 at end of file. Output past OUTPUT_MAX is read
 * and dropped. */
static int buf_read(int fd, struct hp_buf *b)
{
        char chunk[16384];
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0)
                return errno == EINTR || errno == EAGAIN ? 1 : -errno;
        if (n == 0)
                return 0;
        if (b->len + (size_t)n <= OUTPUT_MAX && hp_buf_append(b, chunk, (size_t)n) < 0)
                return -ENOMEM;
        return 1;
}

/* The daemon's environment with the child's settings replacing any of ours. */
static int child_env(struct hp_api *a, const char *actor, bool forwarded, char ***ret)
{
        _cleanup_strv_free_ char **env = calloc(1, sizeof(char *));
        static const char *const ours[] = { "HWPASS_DB=", "HWPASS_HOST_ROOT=", "HWPASS_DIRECT=", "HWPASS_ACTOR=",
                                            "HWPASS_SOCKET=", "HWPASS_FORWARDED=" };

        if (!env)
                return -ENOMEM;
        for (char **e = environ; *e; e++) {
                bool skip = false;

                for (size_t i = 0; i < ELEMENTSOF(ours) && !skip; i++)
                        skip = hp_startswith(*e, ours[i]);
                if (!skip && hp_strv_push(&env, *e) < 0)
                        return -ENOMEM;
        }
        if (hp_strv_pushf(&env, "HWPASS_DB=%s", a->db_path) < 0 ||
            hp_strv_pushf(&env, "HWPASS_HOST_ROOT=%s", a->host_root) < 0 ||
            hp_strv_push(&env, "HWPASS_DIRECT=1") < 0 ||
            hp_strv_pushf(&env, "HWPASS_ACTOR=%s%s", actor ? actor : "hwpassd",
                          actor && !streq(actor, "hwpassd") ? " via hwpassd" : "") < 0 ||
            (forwarded && hp_strv_push(&env, "HWPASS_FORWARDED=1") < 0))
                return -ENOMEM;
        *ret = TAKE_PTR(env);
        return 0;
}

static int spawn(struct hp_api *a, char *const *argv, char **env, const char *cwd, int in, int out, int err,
                 pid_t *ret)
{
        _cleanup_strv_free_ char **full = calloc(1, sizeof(char *));
        posix_spawn_file_actions_t fa;
        int r;

        if (!full || hp_strv_push(&full, a->cli_path) < 0)
                return -ENOMEM;
        for (size_t i = 0; argv[i]; i++)
                if (hp_strv_push(&full, argv[i]) < 0)
                        return -ENOMEM;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in, 0);
        posix_spawn_file_actions_adddup2(&fa, out, 1);
        posix_spawn_file_actions_adddup2(&fa, err, 2);
        if (cwd)
                posix_spawn_file_actions_addchdir_np(&fa, cwd);
        r = posix_spawn(ret, a->cli_path, &fa, NULL, full, env);
        posix_spawn_file_actions_destroy(&fa);
        return -r;
}

/* Writes input to fd and closes it; the command reads little, so a pipe's
 * buffer holds it (a larger one is cut, and the command sees bad JSON). */
static void feed(int fd, const char *input)
{
        size_t len = input ? strlen(input) : 0;

        if (len > 0)
                (void)!write(fd, input, len);
        close(fd);
}

static int collect(int out_fd, int err_fd, struct hp_buf *out, struct hp_buf *err)
{
        struct pollfd p[2] = { { .fd = out_fd, .events = POLLIN }, { .fd = err_fd, .events = POLLIN } };

        while (p[0].fd >= 0 || p[1].fd >= 0) {
                int r;

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                for (int i = 0; i < 2; i++) {
                        if (p[i].fd < 0 || !p[i].revents)
                                continue;
                        r = buf_read(p[i].fd, i == 0 ? out : err);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                p[i].fd = -1;
                }
        }
        return 0;
}

static int run(struct hp_api *a, char *const *argv, const struct hp_api_exec_opts *o,
               struct hp_api_exec_result *ret)
{
        _cleanup_strv_free_ char **env = NULL;
        struct hp_buf out = { 0 }, err = { 0 };
        int in_p[2], out_p[2], err_p[2], status, r;
        pid_t pid;

        r = child_env(a, o->actor, o->forwarded, &env);
        if (r < 0)
                return r;
        if (pipe2(in_p, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(out_p, O_CLOEXEC) < 0) {
                r = -errno;
                goto close_in;
        }
        if (pipe2(err_p, O_CLOEXEC) < 0) {
                r = -errno;
                goto close_out;
        }
        r = spawn(a, argv, env, o->cwd, in_p[0], out_p[1], err_p[1], &pid);
        close(in_p[0]);
        close(out_p[1]);
        close(err_p[1]);
        if (r < 0) {
                close(in_p[1]);
                close(out_p[0]);
                close(err_p[0]);
                return r;
        }
        feed(in_p[1], o->input);
        r = collect(out_p[0], err_p[0], &out, &err);
        close(out_p[0]);
        close(err_p[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        r = r < 0 ? r : -errno;
                        break;
                }
        if (r < 0) {
                free(out.data);
                free(err.data);
                return r;
        }
        *ret = (struct hp_api_exec_result){
                .exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                .out = out.data ? out.data : strdup(""),
                .err = err.data ? err.data : strdup(""),
        };
        if (!ret->out || !ret->err) {
                hp_api_exec_result_done(ret);
                return -ENOMEM;
        }
        return 0;

close_out:
        close(out_p[0]);
        close(out_p[1]);
close_in:
        close(in_p[0]);
        close(in_p[1]);
        return r;
}

int hp_api_exec(struct hp_api *a, char *const *argv, const struct hp_api_exec_opts *o,
                struct hp_api_exec_result *ret)
{
        int r;

        pthread_mutex_lock(&a->write_lock);
        r = run(a, argv, o, ret);
        pthread_mutex_unlock(&a->write_lock);
        return r;
}
