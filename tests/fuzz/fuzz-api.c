/* libFuzzer target: API requests, dispatched as hwpassd dispatches them
 * (hp_api_route: the access and scope checks, the URL matching, the routes'
 * query arguments, headers and bodies) by a standalone daemon over a real
 * SQLite store, on a copy of the desktop fixture host. The input is a
 * request as text:
 *
 *   METHOD URL
 *   role viewer|operator|admin      (default admin; on TCP, not the socket)
 *   vms NAME,NAME / hosts NAME      (the token's limits)
 *   q KEY=VALUE                     (query arguments)
 *   h NAME: VALUE                   (headers)
 *   <empty line>
 *   BODY
 *
 * Routes that start processes or change the machine (VM power, probe, host
 * apply, passthrough binding) are left out. Beyond crashes and leaks it
 * checks: every answer is a known status, an error is {"error": {"code",
 * "message"}}; a viewer never changes anything (no 2xx but for GET); a token
 * limited to VMs changes nothing but its VMs. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api/api-internal.h"
#include "api/server.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "util/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The request's query arguments and headers, as libmicrohttpd would give
 * them: the routes ask through this, and the fuzzer's connection is this. */
#define MAX_PAIRS 16
static struct pair {
        enum MHD_ValueKind kind;
        char *key, *value;
} pairs[MAX_PAIRS];
static size_t n_pairs;

const char *MHD_lookup_connection_value(struct MHD_Connection *connection, enum MHD_ValueKind kind,
                                        const char *key)
{
        (void)connection;
        for (size_t i = 0; i < n_pairs; i++)
                if (pairs[i].kind == kind &&
                    (kind == MHD_HEADER_KIND ? strcasecmp(pairs[i].key, key)
                                             : strcmp(pairs[i].key, key)) == 0)
                        return pairs[i].value;
        return NULL;
}

static struct hp_api *api;

static int run(char *const argv[])
{
        int status;
        pid_t pid = fork();

        if (pid == 0) {
                execvp(argv[0], argv);
                _exit(127);
        }
        return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
                               WEXITSTATUS(status) == 0
                       ? 0
                       : -1;
}

static void setup(void)
{
        static char dir[] = "/dev/shm/hwpass-fuzz-api.XXXXXX";
        char root[128], db[128], run_dir[128], state[128];
        char *err = NULL;

        if (!mkdtemp(dir))
                abort();
        snprintf(root, sizeof(root), "%s/host", dir);
        snprintf(db, sizeof(db), "%s/hwpass.db", dir);
        snprintf(run_dir, sizeof(run_dir), "%s/run", dir);
        snprintf(state, sizeof(state), "%s/state", dir);
        if (run((char *const[]){ "cp", "-a", FIXTURES_DIR "/desktop", root, NULL }) < 0)
                abort();
        /* The kernel the seeds' VMs name. */
        if (run((char *const[]){ "touch", "/dev/shm/hwpass-fuzz-api-kernel", NULL }) < 0)
                abort();
        setenv("HWPASS_STORAGE_DIRS", "/dev/shm:/tmp", 1);
        setenv("HWPASS_QEMU_USERS", "off", 1);
        if (hp_api_new(&(struct hp_api_config){ .role = HP_ROLE_STANDALONE,
                                                .host_root = root,
                                                .db_path = db,
                                                .run_dir = run_dir,
                                                .state_dir = state },
                       &api, &err) < 0) {
                fprintf(stderr, "fuzz-api: %s\n", err ? err : "cannot set up the API");
                abort();
        }
}

/* Routes whose work is a process or the machine's kernel, not the API's. */
static bool left_out(const char *method, const char *url)
{
        static const char *const suffixes[] = { "/start", "/stop", "/probe", "/passthrough" };

        if (hp_startswith(url, "/v1/host/"))
                return true;
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t n = strlen(url), k = strlen(suffixes[i]);

                if (n >= k && streq(url + n - k, suffixes[i]))
                        return true;
        }
        return !streq(method, "GET") && !streq(method, "PUT") && !streq(method, "POST") &&
               !streq(method, "DELETE");
}

static bool known_status(unsigned s)
{
        static const unsigned known[] = { 200, 201, 202, 204, 400, 401, 403, 404,
                                          405, 409, 413, 422, 426, 500, 503 };

        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (known[i] == s)
                        return true;
        return false;
}

/* The VM a URL acts on ("/v1/vms/NAME" and below), or a definition's. */
static bool names_other_vm(const char *url, const char *body, const char *allowed)
{
        char name[256];
        const char *p;

        if (hp_startswith(url, "/v1/vms/")) {
                p = url + strlen("/v1/vms/");
                snprintf(name, sizeof(name), "%.*s", (int)strcspn(p, "/"), p);
                return !streq(name, allowed);
        }
        if (streq(url, "/v1/vms") && body) {
                _cleanup_(json_decrefp) json_t *j = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
                const char *n = json_string_value(json_object_get(j, "name"));

                return !n || !streq(n, allowed);
        }
        return false;
}

static void check(const struct hp_api_request *req, const struct hp_api_reply *rep)
{
        bool ok = rep->status >= 200 && rep->status < 300;
        json_t *e = json_object_get(rep->body, "error");

        if (!known_status(rep->status))
                abort();
        if (rep->status >= 400 && rep->body &&
            (!json_is_string(json_object_get(e, "code")) ||
             !json_is_string(json_object_get(e, "message"))))
                abort();
        if (ok && req->access == HP_TOKEN_VIEWER && !streq(req->method, "GET"))
                abort();
        /* A token for VMs only reads the devices, and acts on its VMs alone. */
        if (ok && req->scope && req->scope->vms && !req->scope->hosts &&
            !streq(req->method, "GET") &&
            (!hp_startswith(req->url, "/v1/vms") ||
             names_other_vm(req->url, req->body, req->scope->vms)))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = NULL, *method = NULL, *url = NULL;
        struct hp_token_scope scope = { 0 };
        struct hp_api_request req = { .local = false,
                                      .actor = "token fuzz",
                                      .access = HP_TOKEN_ADMIN };
        struct hp_api_reply rep;
        char *line, *next, *body = NULL;

        if (!api)
                setup();
        if (size > 1 << 16 || !(text = strndup((const char *)data, size)))
                return 0;
        n_pairs = 0;
        next = text;
        for (bool first = true; next; first = false) {
                line = next;
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                if (first) {
                        char *sp = strchr(line, ' ');

                        if (!sp)
                                return 0;
                        method = strndup(line, (size_t)(sp - line));
                        url = strdup(sp + 1);
                        continue;
                }
                if (!*line) {
                        body = next;
                        break;
                }
                if (hp_startswith(line, "role ")) {
                        req.access = streq(line + 5, "viewer")     ? HP_TOKEN_VIEWER
                                     : streq(line + 5, "operator") ? HP_TOKEN_OPERATOR
                                                                   : HP_TOKEN_ADMIN;
                } else if (hp_startswith(line, "vms ") && !scope.vms) {
                        scope.vms = line + 4;
                } else if (hp_startswith(line, "hosts ") && !scope.hosts) {
                        scope.hosts = line + 6;
                } else if ((hp_startswith(line, "q ") || hp_startswith(line, "h ")) &&
                           n_pairs < MAX_PAIRS) {
                        bool header = line[0] == 'h';
                        char *sep = strstr(line + 2, header ? ": " : "=");

                        if (sep) {
                                *sep = '\0';
                                pairs[n_pairs++] =
                                        (struct pair){ header ? MHD_HEADER_KIND
                                                              : MHD_GET_ARGUMENT_KIND,
                                                       line + 2, sep + (header ? 2 : 1) };
                        }
                }
        }
        if (!method || !url || left_out(method, url))
                return 0;
        req.method = method;
        req.url = url;
        if (body && *body) {
                req.body = body;
                req.body_len = strlen(body);
        }
        req.scope = scope.vms || scope.hosts ? &scope : NULL;
        rep = hp_api_route(api, &req);
        /* Replaying a seed: what it got. */
        if (getenv("HWPASS_FUZZ_VERBOSE")) {
                _cleanup_free_ char *shown = rep.body ? json_dumps(rep.body, JSON_COMPACT) : NULL;

                fprintf(stderr, "%s %s -> %u %.300s\n", method, url, rep.status,
                        shown ? shown : "");
        }
        check(&req, &rep);
        json_decref(rep.body);
        free(rep.text);
        return 0;
}
