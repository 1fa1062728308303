/* hwpass device label | attr | clear: the arguments, the operation
 * (src/ops/label.c, here or in hwpassd), and the answer as text. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "host/pci.h"
#include "ops/device.h"
#include "util/macro.h"
#include "util/strutil.h"

/* One device operation: through hwpassd's route when it runs, else here. */
struct device_write {
        const char *method, *route; /* "label": /v1/devices/ADDR/label */
        json_t *body;
        int (*run)(struct hp_ops_ctx *ctx, const char *address, const void *arg, json_t **ret);
        const void *arg;
        char address[HP_SBDF_LEN];
};

static int device_run(struct hp_ops_ctx *ctx, void *arg, json_t **ret)
{
        struct device_write *w = arg;

        return w->run(ctx, w->address, w->arg, ret);
}

static int device_write(struct hp_cli *c, const char *arg, struct device_write *w, char ret_address[HP_SBDF_LEN],
                        json_t **ret)
{
        struct hp_cli_route route = { .method = w->method, .body = TAKE_PTR(w->body) };
        int r = hp_cli_parse_address(arg, w->address);

        if (r != HP_EXIT_OK) {
                json_decref(route.body);
                return r;
        }
        memcpy(ret_address, w->address, HP_SBDF_LEN);
        snprintf(route.path, sizeof(route.path), "/v1/devices/%s/%s", w->address, w->route);
        return hp_cli_write(c, &route, device_run, w, ret);
}

static int run_label(struct hp_ops_ctx *ctx, const char *address, const void *arg, json_t **ret)
{
        return hp_ops_device_label(ctx, address, arg, ret);
}

int hp_cmd_device_label(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        char address[HP_SBDF_LEN];
        const char *label;
        int r;

        if (argc != 3)
                return hp_cli_usage_error("usage: hwpass device label SBDF TEXT | hwpass device label SBDF --unset");
        label = streq(argv[2], "--unset") ? NULL : argv[2];
        /* Here too: text that is not UTF-8 cannot even go into a request to hwpassd. */
        if (hp_ops_device_check_label(&c->ops, label) < 0)
                return hp_cli_op_failed(c);
        r = device_write(c, argv[1],
                         &(struct device_write){ .method = "PUT", .route = "label",
                                                 .body = json_pack("{s:s?}", "label", label), .run = run_label,
                                                 .arg = label },
                         address, &doc);
        if (r != HP_EXIT_OK)
                return r;
        if (c->json)
                return hp_cli_print_json(TAKE_PTR(doc));
        printf("%s: %s\n", address, label ? label : "label removed");
        return HP_EXIT_OK;
}

struct attr_change {
        char **set, **unset;
};

static int run_attr(struct hp_ops_ctx *ctx, const char *address, const void *arg, json_t **ret)
{
        const struct attr_change *a = arg;

        return hp_ops_device_attr(ctx, address, a->set, a->unset, ret);
}

static json_t *attr_body(const struct attr_change *a)
{
        json_t *set = json_object(), *unset = json_array();

        for (size_t i = 0; set && a->set && a->set[i]; i++) {
                const char *eq = strchr(a->set[i], '=');
                _cleanup_free_ char *key = eq ? strndup(a->set[i], (size_t)(eq - a->set[i])) : NULL;

                /* A malformed entry goes as it is: the route refuses it as the operation does. */
                if (!key || json_object_set_new(set, key, json_string(eq + 1)) < 0) {
                        json_decref(set);
                        set = NULL;
                }
        }
        for (size_t i = 0; unset && a->unset && a->unset[i]; i++)
                if (json_array_append_new(unset, json_string(a->unset[i])) < 0) {
                        json_decref(unset);
                        unset = NULL;
                }
        return set && unset ? json_pack("{s:o, s:o}", "set", set, "unset", unset) : NULL;
}

int hp_cmd_device_attr(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        _cleanup_strv_free_ char **list = calloc(1, sizeof(char *));
        bool unset = argc > 2 && streq(argv[2], "--unset");
        int first = unset ? 3 : 2, r;
        struct attr_change change = { 0 };
        char address[HP_SBDF_LEN];
        const char *key;
        json_t *v;

        if (argc <= first)
                return hp_cli_usage_error("usage: hwpass device attr SBDF KEY=VALUE... | hwpass device attr SBDF --unset KEY...");
        for (int i = first; list && i < argc; i++)
                if (hp_strv_push(&list, argv[i]) < 0)
                        return hp_cli_error(-ENOMEM, "out of memory");
        if (!list)
                return hp_cli_error(-ENOMEM, "out of memory");
        /* Every entry is checked before anything is sent or stored. */
        if (unset)
                change.unset = list;
        else
                change.set = list;
        for (size_t i = 0; !unset && list[i]; i++)
                if (!strchr(list[i], '='))
                        return hp_cli_usage_error("invalid attribute '%s': expected KEY=VALUE with a key of 1 to %d "
                                                  "characters a-z 0-9 _ . -",
                                                  list[i], HP_ATTR_KEY_MAX);
        if (hp_ops_device_check_attrs(&c->ops, change.set, change.unset) < 0)
                return hp_cli_op_failed(c);
        r = device_write(c, argv[1],
                         &(struct device_write){ .method = "PUT", .route = "attributes", .body = attr_body(&change),
                                                 .run = run_attr, .arg = &change },
                         address, &doc);
        if (r != HP_EXIT_OK)
                return r;
        if (c->json)
                return hp_cli_print_json(TAKE_PTR(doc));
        json_object_foreach(json_object_get(doc, "attributes"), key, v)
                printf("%s: %s=%s\n", address, key, json_string_value(v));
        return HP_EXIT_OK;
}

static int run_clear(struct hp_ops_ctx *ctx, const char *address, const void *arg, json_t **ret)
{
        return hp_ops_device_clear(ctx, address, *(const bool *)arg, ret);
}

/* hwpass device clear: a device whose reset failed after a VM stopped is
 * quarantined (never assigned again). Clearing it tries the reset once more
 * and returns it to service only when that works, unless the operator says
 * it is fine with --force (after a power cycle that sysfs cannot see). */
int hp_cmd_device_clear(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        bool force = argc == 3 && streq(argv[2], "--force");
        char address[HP_SBDF_LEN];
        int r;

        if (argc < 2 || argc > 3 || (argc == 3 && !force))
                return hp_cli_usage_error("usage: hwpass device clear SBDF [--force]");
        r = device_write(c, argv[1],
                         &(struct device_write){ .method = "POST", .route = "clear",
                                                 .body = json_pack("{s:b}", "force", force), .run = run_clear,
                                                 .arg = &force },
                         address, &doc);
        if (r != HP_EXIT_OK)
                return r;
        if (c->json)
                return hp_cli_print_json(TAKE_PTR(doc));
        if (!json_is_true(json_object_get(doc, "was_quarantined")))
                printf("%s is not quarantined (health: %s): nothing to clear.\n", address,
                       json_string_value(json_object_get(doc, "health")));
        else
                printf("%s is back in service%s.\n", address,
                       force ? " (forced: no reset was tried)"
                       : json_is_true(json_object_get(doc, "reset_tried"))
                               ? ": its reset worked"
                               : " (the kernel has no reset method for it: it was not reset)");
        return HP_EXIT_OK;
}

static int run_adopt(struct hp_ops_ctx *ctx, const char *address, const void *arg, json_t **ret)
{
        return hp_ops_device_adopt(ctx, address, arg, ret);
}

/* hwpass device adopt NEW --from OLD: the operator says which stored entry a
 * device is, when hwpass cannot tell by itself (no serial, several alike). */
int hp_cmd_device_adopt(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        char address[HP_SBDF_LEN], from[HP_SBDF_LEN];
        int r;

        if (argc != 4 || !streq(argv[2], "--from"))
                return hp_cli_usage_error("usage: hwpass device adopt SBDF --from OLD-SBDF (the address its stored "
                                          "entry has, as 'hwpass device list' shows it)");
        r = hp_cli_parse_address(argv[3], from);
        if (r != HP_EXIT_OK)
                return r;
        r = device_write(c, argv[1],
                         &(struct device_write){ .method = "POST", .route = "adopt",
                                                 .body = json_pack("{s:s}", "from", from), .run = run_adopt,
                                                 .arg = from },
                         address, &doc);
        if (r != HP_EXIT_OK)
                return r;
        if (c->json)
                return hp_cli_print_json(TAKE_PTR(doc));
        printf("%s: adopted the stored entry of %s\n", address, from);
        return HP_EXIT_OK;
}

static int run_forget(struct hp_ops_ctx *ctx, const char *address, const void *arg, json_t **ret)
{
        (void)arg;
        return hp_ops_device_forget(ctx, address, ret);
}

/* hwpass device forget OLD: a stored entry whose device is gone, dropped. */
int hp_cmd_device_forget(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        char address[HP_SBDF_LEN];
        int r;

        if (argc != 2)
                return hp_cli_usage_error("usage: hwpass device forget SBDF");
        r = device_write(c, argv[1],
                         &(struct device_write){ .method = "POST", .route = "forget", .body = json_object(),
                                                 .run = run_forget },
                         address, &doc);
        if (r != HP_EXIT_OK)
                return r;
        if (c->json)
                return hp_cli_print_json(TAKE_PTR(doc));
        printf("%s: stored entry forgotten\n", address);
        return HP_EXIT_OK;
}
