/* hwpass token create | list | revoke: the bearer tokens hwpassd asks for on
 * TCP. A token is printed once, when it is made; the store keeps its SHA-256
 * only, so a lost token is revoked and replaced, never shown again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "ops/token.h"
#include "store/store.h"
#include "table.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "util/token.h"

/* Whether name is a valid token name; an exit code. */
static int name_check(const char *name)
{
        if (!hp_token_name_is_valid(name))
                return hp_cli_usage_error("invalid token name '%s': 1-%d letters, digits, '-', '_' or '.'",
                                          name, HP_TOKEN_NAME_MAX);
        return HP_EXIT_OK;
}

/* The one argument, a valid token name; an exit code. */
static int name_arg(const char *verb, int argc, char **argv, const char **ret)
{
        if (argc != 2 || argv[1][0] == '-')
                return hp_cli_usage_error("usage: hwpass token %s NAME", verb);
        if (name_check(argv[1]) != HP_EXIT_OK)
                return HP_EXIT_USAGE;
        *ret = argv[1];
        return HP_EXIT_OK;
}

struct create {
        const char *name;
        enum hp_token_role role;
        char **hosts, **vms; /* NULL: no limit */
};

static void create_done(struct create *cr)
{
        hp_strv_free(cr->hosts);
        hp_strv_free(cr->vms);
}

static int run_create(struct hp_ops_ctx *ctx, void *arg, json_t **ret)
{
        const struct create *cr = arg;

        return hp_ops_token_create(
                ctx, cr->name, cr->role,
                &(struct hp_ops_token_limits){ .hosts = cr->hosts, .vms = cr->vms }, ret);
}

#define CREATE_USAGE                                                                               \
        "usage: hwpass token create NAME [--role admin|operator|viewer] (default admin) "          \
        "[--hosts HOST,...] "                                                                      \
        "[--vms VM,...] (limited to those hosts, those VMs)"

/* "a,b" appended to *v, one name each (an empty one kept: the operation says what is wrong). */
static int push_list(char ***v, const char *list)
{
        for (const char *p = list, *end; p; p = *end ? end + 1 : NULL) {
                end = p + strcspn(p, ",");
                if (hp_strv_pushf(v, "%.*s", (int)(end - p), p) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* NAME [--role ROLE] [--hosts LIST]... [--vms LIST]..., in any order; an exit code. */
static int create_args(int argc, char **argv, struct create *ret)
{
        const char *name = NULL, *role = NULL;

        for (int i = 1; i < argc; i++) {
                int err = 0;
                const char *v = hp_cli_opt_value(argc, argv, &i, "--role", &err), *h = NULL,
                           *vm = NULL;

                if (!v && !err)
                        h = hp_cli_opt_value(argc, argv, &i, "--hosts", &err);
                if (!v && !h && !err)
                        vm = hp_cli_opt_value(argc, argv, &i, "--vms", &err);
                if (err || (!v && !h && !vm && (argv[i][0] == '-' || name)))
                        return hp_cli_usage_error(CREATE_USAGE);
                if ((h && push_list(&ret->hosts, h) < 0) || (vm && push_list(&ret->vms, vm) < 0))
                        return hp_cli_error(-ENOMEM, "out of memory");
                if (v)
                        role = v;
                else if (!h && !vm)
                        name = argv[i];
        }
        if (!name)
                return hp_cli_usage_error(CREATE_USAGE);
        if (name_check(name) != HP_EXIT_OK)
                return HP_EXIT_USAGE;
        ret->name = name;
        ret->role = HP_TOKEN_ADMIN;
        if (role && hp_token_role_from_name(role, &ret->role) < 0)
                return hp_cli_usage_error("invalid role '%s': " HP_TOKEN_ROLES_HELP, role);
        return HP_EXIT_OK;
}

static int run_revoke(struct hp_ops_ctx *ctx, void *arg, json_t **ret)
{
        return hp_ops_token_revoke(ctx, arg, ret);
}

/* names as a JSON array of strings, or NULL (and NULL when out of memory). */
static json_t *names_json(char *const *names)
{
        json_t *a = names ? json_array() : NULL;

        for (size_t i = 0; a && names[i]; i++)
                if (json_array_append_new(a, json_string(names[i])) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

int hp_cmd_token_create(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        struct hp_cli_route route = { .method = "POST", .path = "/v1/tokens" };
        _cleanup_(create_done) struct create cr = { 0 };
        int r = create_args(argc, argv, &cr);

        if (r != HP_EXIT_OK)
                return r;
        route.body = json_pack("{s:s, s:s, s:o*, s:o*}", "name", cr.name, "role",
                               hp_token_role_name(cr.role), "hosts", names_json(cr.hosts), "vms",
                               names_json(cr.vms));
        r = hp_cli_write(c, &route, run_create, &cr, &doc);
        if (r != HP_EXIT_OK)
                return r;
        /* Stored: now, and only now, the token is shown, alone on stdout. */
        if (printf("%s\n", json_string_value(json_object_get(doc, "token")) ?: "") < 0)
                return hp_cli_error(-EIO, "cannot write the token");
        return HP_EXIT_OK;
}

int hp_cmd_token_revoke(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        struct hp_cli_route route = { .method = "DELETE" };
        const char *name = NULL;
        int r = name_arg("revoke", argc, argv, &name);

        if (r != HP_EXIT_OK)
                return r;
        snprintf(route.path, sizeof(route.path), "/v1/tokens/%s", name);
        r = hp_cli_write(c, &route, run_revoke, (void *)name, &doc);
        if (r != HP_EXIT_OK)
                return r;
        printf("token '%s' revoked\n", name);
        return HP_EXIT_OK;
}

static void format_time(int64_t at, char *buf, size_t size)
{
        time_t t = (time_t)at;
        struct tm tm;

        if (at <= 0)
                snprintf(buf, size, "never");
        else
                strftime(buf, size, "%Y-%m-%d %H:%M:%S", gmtime_r(&t, &tm));
}

static int print_json(const struct hp_token_info *t, size_t n)
{
        json_t *list = json_array();

        for (size_t i = 0; list && i < n; i++) {
                json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "name", t[i].name, "role",
                                      hp_token_role_name(t[i].role), "created_at",
                                      (json_int_t)t[i].created_at, "last_used_at",
                                      (json_int_t)t[i].last_used_at);

                if (!o || hp_ops_token_scope_json(&t[i].scope, o) < 0 ||
                    json_array_append_new(list, o) < 0) {
                        json_decref(list);
                        list = NULL;
                }
        }
        return hp_cli_print_json(list ? json_pack("{s:o}", "tokens", list) : NULL);
}

static int print_table(const struct hp_token_info *t, size_t n)
{
        static const char *const headers[] = { "NAME", "ROLE", "LIMITED TO", "CREATED (UTC)",
                                               "LAST USED (UTC)" },
                                 *const plain[] = { "NAME", "ROLE", "CREATED (UTC)",
                                                    "LAST USED (UTC)" };
        bool limits = false;
        _cleanup_(hp_table_freep) struct hp_table *tab = NULL;

        /* The limits' column only when a token has some. */
        for (size_t i = 0; i < n; i++)
                limits = limits || hp_token_scope_limited(&t[i].scope);
        tab = limits ? hp_table_new(ELEMENTSOF(headers), headers)
                     : hp_table_new(ELEMENTSOF(plain), plain);
        if (!tab)
                return hp_cli_error(-ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *text = hp_token_scope_text(&t[i].scope);
                char created[32], used[32];

                format_time(t[i].created_at, created, sizeof(created));
                format_time(t[i].last_used_at, used, sizeof(used));
                if (!text ||
                    hp_table_add(tab, limits ? (const char *const[]){ t[i].name,
                                                                      hp_token_role_name(t[i].role),
                                                                      text[0] ? text : "-", created,
                                                                      used }
                                             : (const char *const[]){ t[i].name,
                                                                      hp_token_role_name(t[i].role),
                                                                      created, used }) < 0)
                        return hp_cli_error(-ENOMEM, "out of memory");
        }
        hp_table_print(tab, stdout);
        return HP_EXIT_OK;
}

int hp_cmd_token_list(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_free_ char *err = NULL;
        struct hp_token_info *t = NULL;
        size_t n = 0;
        int r = hp_cli_no_args("token list", argc, argv);

        if (r != HP_EXIT_OK)
                return r;
        r = hp_store_open_readonly(c->db_path, &s, &err);
        if (r == -ENOENT) /* no state yet: no tokens */
                return c->json ? print_json(NULL, 0) : print_table(NULL, 0);
        if (r < 0) {
                hp_cli_message("%s", err ? err : "cannot open the store");
                return HP_EXIT_ERROR;
        }
        r = hp_store_token_list(s, &t, &n);
        if (r < 0)
                return hp_cli_error(r, "cannot read the tokens in '%s'", c->db_path);
        r = c->json ? print_json(t, n) : print_table(t, n);
        hp_token_infos_free(t, n);
        return r;
}
