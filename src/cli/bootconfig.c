/* hwpass host boot-config: the operation (src/ops/bootconfig.c, here or in
 * hwpassd) and what it wrote, or would write, as text. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ops/device.h"
#include "util/macro.h"
#include "util/strutil.h"

static int run_boot_config(struct hp_ops_ctx *ctx, void *arg, json_t **ret)
{
        return hp_ops_host_boot_config(ctx, *(bool *)arg, ret);
}

int hp_cmd_host_boot_config(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        struct hp_cli_route route = { .method = "POST", .path = "/v1/host/boot-config" };
        bool dry_run = argc == 2 && streq(argv[1], "--dry-run");
        const char *text;
        json_t *w;
        size_t i;
        int r;

        if (argc > 1 && !dry_run)
                return hp_cli_usage_error("'host boot-config' does not take '%s' (see 'hwpass --help')", argv[1]);
        route.body = json_pack("{s:b}", "dry_run", dry_run);
        r = hp_cli_write(c, &route, run_boot_config, &dry_run, &doc);
        if (r != HP_EXIT_OK)
                return r;
        if (c->json)
                return hp_cli_print_json(TAKE_PTR(doc));
        text = hp_cli_str(doc, "text");
        if (!text) {
                printf("No device is enabled for passthrough: no boot configuration is needed.\n");
                return HP_EXIT_OK;
        }
        printf("%s%s:\n%s", dry_run ? "Would write " : "Writing ", hp_cli_str(doc, "path"), text);
        json_array_foreach(json_object_get(doc, "warnings"), i, w)
                printf("warning: %s\n", json_string_value(w));
        printf(dry_run ? "Then: update-initramfs -u, and reboot.\n" : "Now run: update-initramfs -u, and reboot.\n");
        return HP_EXIT_OK;
}
