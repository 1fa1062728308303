/* hwpass device passthrough enable|disable SBDF... and hwpass host apply:
 * the arguments, the operation (src/ops/passthrough.c, here or in hwpassd),
 * and the plan as text. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "host/pci.h"
#include "ops/device.h"
#include "util/macro.h"
#include "util/strutil.h"

/* The plan document (host/json.h's hp_json_plan) as text. */
static void print_plan(json_t *p)
{
        bool enable = streq(hp_cli_str(p, "action") ?: "", "enable"), dry_run = json_is_true(json_object_get(p, "dry_run"));
        json_t *steps = json_object_get(p, "steps"), *unchanged = json_object_get(p, "unchanged"),
               *warnings = json_object_get(p, "warnings"), *refusals = json_object_get(p, "refusals"),
               *errors = json_object_get(p, "errors"), *v;
        size_t i;

        printf("%s passthrough%s:\n", enable ? "Enable" : "Disable", dry_run ? " (dry run: nothing is changed)" : "");
        json_array_foreach(steps, i, v)
                printf("  %s  %s -> %s%s\n", hp_cli_str(v, "address"), hp_cli_str(v, "from_driver") ?: "(no driver)",
                       hp_cli_str(v, "to_driver") ?: "(the kernel's choice)",
                       json_is_true(json_object_get(v, "requested")) ? "" : "  (same IOMMU group)");
        json_array_foreach(unchanged, i, v)
                printf("  %s  already %s\n", json_string_value(v), enable ? "on vfio-pci" : "with the host");
        if (!json_array_size(steps) && !json_array_size(unchanged) && !json_array_size(errors))
                printf("  nothing to do\n");
        json_array_foreach(warnings, i, v)
                printf("warning: %s\n", json_string_value(v));
        json_array_foreach(refusals, i, v)
                printf("refused: %s\n", json_string_value(v));
        if (json_array_size(refusals))
                printf("Nothing was changed. Add --force to do it anyway.\n");
        json_array_foreach(errors, i, v)
                printf("error: %s\n", json_string_value(v));
}

static void print_done(json_t *plan)
{
        size_t n = json_array_size(json_object_get(plan, "steps"));

        printf("Done: %zu device%s %s.\n", n, n == 1 ? "" : "s",
               streq(hp_cli_str(plan, "action") ?: "", "enable") ? "handed to vfio-pci" : "given back to the host");
}

static int run_passthrough(struct hp_ops_ctx *ctx, void *arg, json_t **ret)
{
        return hp_ops_passthrough(ctx, arg, ret);
}

static int passthrough(struct hp_cli *c, struct hp_ops_passthrough *req, json_t **ret)
{
        struct hp_cli_route route = { .method = "PUT" };
        struct hp_ops_ctx *ctx;
        int r;

        /* The API takes one device a request; several go to the operation here. */
        if (!req->addresses[1]) {
                snprintf(route.path, sizeof(route.path), "/v1/devices/%s/passthrough", req->addresses[0]);
                route.body = json_pack("{s:b, s:b, s:b}", "enabled", req->enable, "force", req->force, "dry_run",
                                       req->dry_run);
                return hp_cli_call(c, &route, run_passthrough, req, ret);
        }
        r = hp_cli_ops(c, &ctx);
        return r != HP_EXIT_OK ? r : run_passthrough(ctx, req, ret);
}

int hp_cmd_device_passthrough(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_strv_free_ char **addresses = calloc(1, sizeof(char *));
        _cleanup_(json_decrefp) json_t *doc = NULL;
        struct hp_ops_passthrough req = { 0 };
        json_t *detail;
        int r;

        if (!addresses)
                return hp_cli_error(-ENOMEM, "out of memory");
        if (argc < 2 || (!streq(argv[1], "enable") && !streq(argv[1], "disable")))
                return hp_cli_usage_error("usage: hwpass device passthrough enable|disable SBDF... [--dry-run] [--force]");
        req.enable = streq(argv[1], "enable");
        for (int i = 2; i < argc; i++) {
                char canonical[HP_SBDF_LEN];

                if (streq(argv[i], "--dry-run")) {
                        req.dry_run = true;
                } else if (streq(argv[i], "--force")) {
                        req.force = true;
                } else if (argv[i][0] == '-') {
                        return hp_cli_usage_error("'device passthrough' does not take '%s' (see 'hwpass --help')",
                                                  argv[i]);
                } else if ((r = hp_cli_parse_address(argv[i], canonical)) != HP_EXIT_OK) {
                        return r;
                } else if (hp_strv_push(&addresses, canonical) < 0) {
                        return hp_cli_error(-ENOMEM, "out of memory");
                }
        }
        if (!addresses[0])
                return hp_cli_usage_error("'device passthrough %s' needs at least one PCI address", argv[1]);
        req.addresses = addresses;
        r = passthrough(c, &req, &doc);
        if (r > 0)
                return r;
        if (r == 0) {
                if (c->json)
                        return hp_cli_print_json(TAKE_PTR(doc));
                if (c->controller) {
                        /* The cluster's setting: the host plans and applies it. */
                        printf("%s on %s: passthrough %s; the host applies it with its next heartbeat\n",
                               hp_cli_str(doc, "address") ?: "?", hp_cli_str(doc, "host") ?: "?",
                               req.enable ? "asked for" : "no longer asked for");
                        return HP_EXIT_OK;
                }
                print_plan(doc);
                if (!req.dry_run)
                        print_done(doc);
                return HP_EXIT_OK;
        }
        /* The plan that was refused, or whose apply failed, comes first; a
         * refusal's reasons are in it already. */
        detail = c->ops.error.detail;
        if (detail && c->json) {
                r = hp_cli_op_failed(c);
                if (c->ops.error.kind == HP_OP_REFUSED)
                        (void)hp_cli_print_json(json_incref(detail));
                return r;
        }
        if (detail)
                print_plan(detail);
        return detail && c->ops.error.kind == HP_OP_REFUSED ? hp_op_exit_code(HP_OP_REFUSED) : hp_cli_op_failed(c);
}

static void print_apply_entry(json_t *e)
{
        const char *result = hp_cli_str(e, "result") ?: "", *address = hp_cli_str(e, "address") ?: "?";
        json_t *plan = json_object_get(e, "plan");

        if (streq(result, "gone"))
                printf("%s: gone (configured as %s): not applied\n", address, hp_cli_str(e, "configured_ids") ?: "?");
        else if (streq(result, "hardware-changed"))
                printf("%s: hardware changed (now %s, configured as %s): not applied; enable it again if it is "
                       "meant\n",
                       address, hp_cli_str(e, "ids") ?: "?", hp_cli_str(e, "configured_ids") ?: "?");
        if (streq(result, "gone") || streq(result, "hardware-changed"))
                fprintf(stderr, "hwpass: warning: the device configured at %s is not there: if it moved, run "
                                "'hwpass device adopt NEW-ADDRESS --from %s'; if it is gone, 'hwpass device forget %s'\n",
                        address, address, address);
        if (json_is_object(plan))
                print_plan(plan);
        if (streq(result, "applied") && json_is_true(json_object_get(plan, "applied")))
                print_done(plan);
        if (streq(result, "failed")) {
                const char *err = hp_cli_str(e, "error") ?: "failed";

                /* The operation's words, one line each, as any failed write. */
                for (const char *line = err; *line;) {
                        const char *end = strchrnul(line, '\n');

                        fprintf(stderr, "hwpass: %.*s\n", (int)(end - line), line);
                        line = *end ? end + 1 : end;
                }
        }
}

static int run_apply(struct hp_ops_ctx *ctx, void *arg, json_t **ret)
{
        return hp_ops_host_apply(ctx, *(bool *)arg, ret);
}

/* hwpass host apply: the stored desired state, applied again (at boot, by the
 * hwpass-apply unit, before any VM starts). Idempotent. A device that is gone
 * or whose IDs changed is reported and never bound. */
int hp_cmd_host_apply(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        struct hp_cli_route route = { .method = "POST", .path = "/v1/host/apply" };
        bool dry_run = argc == 2 && streq(argv[1], "--dry-run");
        json_t *v;
        size_t i, changed, skipped, absent;
        int r;

        if (argc > 1 && !dry_run)
                return hp_cli_usage_error("'host apply' does not take '%s' (see 'hwpass --help')", argv[1]);
        route.body = json_pack("{s:b}", "dry_run", dry_run);
        r = hp_cli_write(c, &route, run_apply, &dry_run, &doc);
        if (r != HP_EXIT_OK)
                return r;
        if (c->json)
                return hp_cli_print_json(TAKE_PTR(doc));
        if (json_integer_value(json_object_get(doc, "configured")) == 0) {
                printf("Nothing is configured: nothing to apply.\n");
                return HP_EXIT_OK;
        }
        json_array_foreach(json_object_get(doc, "devices"), i, v)
                print_apply_entry(v);
        changed = (size_t)json_integer_value(json_object_get(doc, "changed"));
        skipped = (size_t)json_integer_value(json_object_get(doc, "not_applied"));
        absent = (size_t)json_integer_value(json_object_get(doc, "absent"));
        printf("host apply: %zu device%s changed, %zu not applied", changed, changed == 1 ? "" : "s", skipped);
        printf(absent ? ", %zu absent (see the warnings).\n" : ".\n", absent);
        return skipped ? HP_EXIT_FAIL : HP_EXIT_OK;
}
