/* hwpass vm explain NAME: where power-on could place the VM, a line per host
 * with why it can or cannot take it and the devices it would get, then the
 * winner and why, and the placement policy used and whose it is (the
 * operation: src/ops/explain.c). Exit 1 when no host
 * can take it. */
#include <stdio.h>
#include <string.h>

#include "util/macro.h"
#include "util/strutil.h"
#include "vm.h"

/* "  -> pci0 0000:07:00.0, 0000:0f:00.0; pci1 0000:c4:00.0" */
static void print_devices(json_t *devs)
{
        const char *last = NULL;
        size_t i;
        json_t *d;

        json_array_foreach(devs, i, d) {
                const char *entry = hp_cli_str(d, "entry"), *address = hp_cli_str(d, "address");

                if (!entry || !address)
                        continue;
                if (last && streq(last, entry))
                        printf(", %s", address);
                else
                        printf("%s%s %s", last ? "; " : "  -> ", entry, address);
                last = entry;
        }
}

/* Where the policy came from, in words. */
static const char *policy_source(const char *from)
{
        if (from && streq(from, "vm"))
                return "the VM's own";
        if (from && streq(from, "cluster"))
                return "the cluster's, set with 'hwpass cluster policy'";
        return "the default";
}

int hp_cmd_vm_explain(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        struct hp_ops_ctx *ctx;
        bool fits;
        size_t i;
        json_t *h;
        int r;

        if (argc != 2)
                return hp_cli_usage_error("usage: hwpass vm explain NAME");
        r = hp_cli_vm_name_check(argv[1]);
        if (r == HP_EXIT_OK && c->controller) {
                /* A cluster's: every host, from the controller. */
                char path[300];

                snprintf(path, sizeof(path), "/v1/vms/%s/explain", argv[1]);
                r = hp_cli_daemon_call(c, "GET", path, NULL, &doc);
                if (r != HP_EXIT_OK)
                        return r;
        } else {
                if (r == HP_EXIT_OK)
                        r = hp_cli_ops(c, &ctx);
                if (r != HP_EXIT_OK)
                        return r;
                if (hp_ops_vm_explain(ctx, argv[1], &doc) < 0)
                        return hp_cli_op_failed(c);
        }
        fits = hp_cli_str(doc, "winner") != NULL;
        if (c->json) {
                r = hp_cli_print_json(TAKE_PTR(doc));
                return r != HP_EXIT_OK ? r : fits ? HP_EXIT_OK : HP_EXIT_FAIL;
        }
        json_array_foreach(json_object_get(doc, "hosts"), i, h) {
                printf("%s", hp_cli_str(h, "message"));
                print_devices(json_object_get(h, "devices"));
                printf("\n");
        }
        printf("%s\n", hp_cli_str(doc, "why"));
        printf("Policy: %s (%s)\n", hp_cli_str(doc, "policy") ?: "?", policy_source(hp_cli_str(doc, "policy_from")));
        if (json_is_true(json_object_get(doc, "pending_restart")))
                printf("Pending restart: its host failed; HA starts it on the first host that can take it "
                       "(restart priority %s)\n",
                       hp_cli_str(doc, "restart_priority") ?: "medium");
        return fits ? HP_EXIT_OK : HP_EXIT_FAIL;
}
