/* A command that changes the host or the store goes to hwpassd's typed route
 * (the one the web UI uses) when a daemon serves this CLI's database and
 * host root; otherwise it calls the operation here, under the same locks.
 * The client (api/client.h) opens libcurl only then, so commands run
 * directly (vm start without a daemon) do not pay for loading it. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/client.h"
#include "cli.h"
#include "store/store.h"
#include "util/hostroot.h"
#include "util/io.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "util/unixsock.h"

/* 0 when something listens at path; -ENOENT/-ECONNREFUSED when nothing
 * does (no daemon, or one that died); other -errno (-EACCES) otherwise. */
static int probe_socket(const char *path)
{
        _cleanup_close_ int fd = -1;

        return hp_unix_connect(path, &fd);
}

/* METHOD PATH with body (NULL: none) to the daemon at socket_path, with the
 * extra headers; the status and the JSON answer. An exit code. */
static int request(const char *socket_path, const char *method, const char *path, json_t *body,
                   char *const *extra, long *ret_status, json_t **ret)
{
        _cleanup_(hp_client_freep) struct hp_client *client = NULL;
        _cleanup_free_ char *err = NULL;
        struct hp_client_options o = { .unix_socket = socket_path, .headers = extra };
        int r = hp_client_new(&o, &client, &err);

        if (r == -ENOENT)
                return hp_cli_usage_error("hwpassd runs at '%s', and %s", socket_path, err);
        if (r >= 0)
                r = hp_client_call(client, method, path, body, ret_status, ret, &err);
        if (r >= 0 && !*ret) /* an empty body */
                r = hp_errorf(&err, -EBADMSG, "hwpassd at '%s' gave an answer that is not JSON (HTTP %ld)",
                              socket_path, *ret_status);
        if (r == -EBADMSG) {
                fprintf(stderr, "hwpass: %s\n", err);
                return HP_EXIT_ERROR;
        }
        if (r < 0)
                return hp_cli_error(r, "cannot talk to hwpassd at '%s'%s%s", socket_path, err ? ": " : "",
                                    err ? err : "");
        return HP_EXIT_OK;
}

/* Is a daemon there for this CLI? 1: ask it; 0: none, work here; an exit
 * code (> 1 never clashes: HP_EXIT_USAGE and up) when it must answer and
 * cannot. */
static int daemon_there(const struct hp_cli *c, const char *path)
{
        int r = probe_socket(path);

        if ((r == -ENOENT || r == -ECONNREFUSED) && !c->socket)
                return 0; /* no daemon: this command works on its own, under the locks */
        if (r == -ENOENT || r == -ECONNREFUSED)
                return hp_cli_usage_error("no hwpassd answers at '%s': start it, or leave out --socket "
                                          "(and HWPASS_SOCKET) to work without it",
                                          path);
        if (r == -EACCES)
                return hp_cli_usage_error("hwpassd runs, and its socket '%s' is for root: run this as root", path);
        if (r < 0)
                return hp_cli_error(r, "cannot reach hwpassd at '%s'", path);
        return 1;
}

/* METHOD path to the cluster's controllers (--controller). An exit code. */
static int controller_request(struct hp_cli *c, const char *method, const char *path, json_t *body,
                              long *ret_status, json_t **ret)
{
        _cleanup_(hp_client_freep) struct hp_client *client = NULL;
        _cleanup_strv_free_ char **urls = NULL;
        _cleanup_free_ char *err = NULL;
        int r;

        for (const char *p = c->controller; *p;) {
                size_t n = strcspn(p, ",");
                _cleanup_free_ char *u = strndup(p, n);

                if (!u || (n > 0 && hp_strv_push(&urls, u) < 0))
                        return hp_cli_error(-ENOMEM, "out of memory");
                p += n + (p[n] == ',');
        }
        if (!urls)
                return hp_cli_usage_error("invalid --controller '%s': one or more URLs, separated by commas",
                                          c->controller);
        if (!c->token)
                return hp_cli_usage_error("a controller asks for an API token: give --token TOKEN (or HWPASS_TOKEN); "
                                          "make one with 'hwpass token create NAME' on a controller");
        r = hp_client_new(&(struct hp_client_options){ .urls = urls,
                                                       .n_urls = hp_strv_length(urls),
                                                       .ca_file = c->ca,
                                                       .bearer = c->token },
                          &client, &err);
        if (r == -EINVAL || r == -ENOENT)
                return hp_cli_usage_error("%s%s", err ? err : "cannot reach the controller",
                                          r == -EINVAL && !c->ca ? " (give --ca FILE, or HWPASS_CA)" : "");
        if (r >= 0)
                r = hp_client_call(client, method, path, body, ret_status, ret, &err);
        if (r >= 0 && !*ret)
                r = hp_errorf(&err, -EBADMSG, "the controller at '%s' gave an answer that is not JSON (HTTP %ld)",
                              hp_client_current(client), *ret_status);
        if (r == -EBADMSG) {
                fprintf(stderr, "hwpass: %s\n", err);
                return HP_EXIT_ERROR;
        }
        if (r < 0)
                return hp_cli_error(r, "cannot reach the controller%s%s", err ? ": " : "", err ? err : "");
        return HP_EXIT_OK;
}

/* An error answer into c->ops.error: -EIO. */
static int answer_error(struct hp_cli *c, long status, json_t *answer)
{
        json_t *err = json_object_get(answer, "error");
        const char *code = json_string_value(json_object_get(err, "code")),
                   *msg = json_string_value(json_object_get(err, "message"));

        if (!code || !msg)
                return hp_cli_usage_error("the daemon refused the command (HTTP %ld)", status);
        hp_op_fail_code(&c->ops, hp_op_kind_from_api((unsigned)status, code, json_object_get(err, "detail")),
                        hp_cli_known_code(code), -EIO, "%s", msg);
        hp_op_set_detail(&c->ops, json_incref(json_object_get(err, "detail")));
        return -EIO;
}

/* The route to a controller: its path with ?host=NAME when --host names one. */
static int to_controller(struct hp_cli *c, struct hp_cli_route *route, json_t *body, json_t **ret)
{
        _cleanup_(json_decrefp) json_t *answer = NULL;
        _cleanup_free_ char *path = NULL;
        long status = 0;
        int r;

        if (asprintf(&path, "%s%s%s", route->path, c->cluster_host ? (strchr(route->path, '?') ? "&host=" : "?host=") : "",
                     c->cluster_host ? c->cluster_host : "") < 0)
                return hp_cli_error(-ENOMEM, "out of memory");
        r = controller_request(c, route->method, path, body, &status, &answer);
        if (r != HP_EXIT_OK)
                return r;
        if (status >= 300)
                return answer_error(c, status, answer);
        *ret = TAKE_PTR(answer);
        return 0;
}

int hp_cli_remote(struct hp_cli *c, struct hp_cli_route *route, bool *ret_handled, json_t **ret)
{
        const char *path = c->socket ? c->socket : c->default_socket;
        _cleanup_(json_decrefp) json_t *body = TAKE_PTR(route->body), *answer = NULL;
        _cleanup_free_ char *db = NULL, *root = NULL;
        _cleanup_strv_free_ char **headers = calloc(1, sizeof(char *));
        const char *code, *msg;
        json_t *err;
        long status = 0;
        int r;

        *ret_handled = c->controller != NULL;
        if (c->controller)
                return to_controller(c, route, body, ret);
        r = daemon_there(c, path);
        if (r == 0)
                return HP_EXIT_OK;
        *ret_handled = true;
        if (r != 1)
                return r;
        db = hp_store_absolute(c->db_path);
        root = hp_path_absolute(c->host_root);
        /* The daemon answers only for the state it owns (409 other-state). */
        if (!db || !root || !headers || hp_strv_pushf(&headers, "Hwpass-Db: %s", db) < 0 ||
            hp_strv_pushf(&headers, "Hwpass-Host-Root: %s", root) < 0)
                return hp_cli_error(-ENOMEM, "cannot build the request to hwpassd");
        r = request(path, route->method, route->path, body, headers, &status, &answer);
        if (r != HP_EXIT_OK)
                return r;
        if (status < 300) {
                *ret = TAKE_PTR(answer);
                return 0;
        }
        err = json_object_get(answer, "error");
        code = json_string_value(json_object_get(err, "code"));
        msg = json_string_value(json_object_get(err, "message"));
        if (status == 409 && code && streq(code, "other-state")) {
                /* The daemon owns another database or host root: this one is ours alone. */
                *ret_handled = c->socket != NULL;
                if (c->socket)
                        return hp_cli_usage_error("hwpassd at '%s' does not serve this state: %s", path, msg ?: "?");
                return HP_EXIT_OK;
        }
        return answer_error(c, status, answer);
}

int hp_cli_daemon_call(struct hp_cli *c, const char *method, const char *path, json_t *body, json_t **ret)
{
        struct hp_cli_route route = { .method = method, .body = body };
        bool handled;
        int r;

        snprintf(route.path, sizeof(route.path), "%s", path);
        r = hp_cli_remote(c, &route, &handled, ret);
        if (!handled)
                return hp_cli_usage_error("this command asks a cluster's controller: give --controller URL (or "
                                          "HWPASS_CONTROLLER), or run it where a controller's hwpassd runs");
        return r < 0 ? hp_cli_op_failed(c) : r;
}

int hp_cli_call(struct hp_cli *c, struct hp_cli_route *route, hp_cli_op_fn op, void *arg, json_t **ret)
{
        struct hp_ops_ctx *ctx;
        bool remote;
        int r = hp_cli_remote(c, route, &remote, ret);

        if (remote)
                return r;
        r = hp_cli_ops(c, &ctx);
        return r != HP_EXIT_OK ? r : op(ctx, arg, ret);
}

int hp_cli_write(struct hp_cli *c, struct hp_cli_route *route, hp_cli_op_fn op, void *arg, json_t **ret)
{
        int r = hp_cli_call(c, route, op, arg, ret);

        return r < 0 ? hp_cli_op_failed(c) : r;
}
