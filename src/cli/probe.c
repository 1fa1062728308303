/* hwpass device probe SBDF: the operation (src/ops/probe.c, here or in
 * hwpassd) and what the guest saw, as text. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "host/pci.h"
#include "ops/device.h"
#include "util/macro.h"
#include "util/strutil.h"

static int num(json_t *o, const char *key)
{
        return (int)json_integer_value(json_object_get(o, key));
}

static void print_report(json_t *doc)
{
        json_t *guest = json_object_get(doc, "guest"), *bar;
        const char *regs = hp_cli_str(doc, "registers");
        size_t i;

        printf("Device:  %s  %s %s\n", hp_cli_str(doc, "address"), hp_cli_str(doc, "id"), hp_cli_str(doc, "device_name") ?: "");
        if (json_is_object(guest)) {
                printf("Guest:   saw it at %02x:%02x.%x as %04x:%04x, class %06x\n", num(guest, "bus"),
                       num(guest, "dev"), num(guest, "fn"), num(guest, "vendor_id"), num(guest, "device_id"),
                       num(guest, "class"));
                json_array_foreach(json_object_get(doc, "bars"), i, bar)
                        printf("  BAR%d  %-6s host %-9s guest %-9s at 0x%" PRIx64 "  %s\n", num(bar, "index"),
                               hp_cli_str(bar, "kind"), hp_cli_str(bar, "host_size_text"), hp_cli_str(bar, "guest_size_text"),
                               (uint64_t)json_integer_value(json_object_get(bar, "guest_address")), hp_cli_str(bar, "state"));
        }
        if (regs) {
                printf("Registers:\n");
                for (const char *p = regs; *p;) {
                        size_t n = strcspn(p, "\n");

                        printf("  %.*s\n", (int)n, p);
                        p += n + (p[n] ? 1 : 0);
                }
        }
        printf("Result:  %s (%.1f s)\n", hp_cli_str(doc, "verdict"), json_real_value(json_object_get(doc, "seconds")));
}

struct probe_arg {
        const char *address;
        unsigned timeout;
};

static int run_probe(struct hp_ops_ctx *ctx, void *arg, json_t **ret)
{
        struct probe_arg *a = arg;

        return hp_ops_device_probe(ctx, a->address, a->timeout, ret);
}

int hp_cmd_device_probe(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        struct hp_cli_route route = { .method = "POST" };
        char address[HP_SBDF_LEN];
        uint64_t timeout = 60;
        bool works;
        int r, err = 0;
        const char *val;

        if (argc < 2 || argv[1][0] == '-')
                return hp_cli_usage_error("usage: hwpass device probe SBDF [--timeout SECONDS]");
        for (int i = 2; i < argc; i++) {
                if ((val = hp_cli_opt_value(argc, argv, &i, "--timeout", &err))) {
                        if (hp_parse_u64(val, 10, &timeout) < 0 || timeout == 0 || timeout > 600)
                                return hp_cli_usage_error("invalid --timeout '%s': 1 to 600 seconds", val);
                } else if (!err)
                        err = hp_cli_usage_error("'device probe' does not take '%s'", argv[i]);
                if (err)
                        return err;
        }
        r = hp_cli_parse_address(argv[1], address);
        if (r != HP_EXIT_OK)
                return r;
        snprintf(route.path, sizeof(route.path), "/v1/devices/%s/probe", address);
        route.body = json_pack("{s:I}", "timeout", (json_int_t)timeout);
        r = hp_cli_write(c, &route, run_probe, &(struct probe_arg){ address, (unsigned)timeout }, &doc);
        if (r != HP_EXIT_OK)
                return r;
        if (hp_cli_str(doc, "warning"))
                fprintf(stderr, "hwpass: warning: %s\n", hp_cli_str(doc, "warning"));
        works = json_is_true(json_object_get(doc, "works"));
        if (c->json)
                r = hp_cli_print_json(TAKE_PTR(doc));
        else
                print_report(doc);
        return r != HP_EXIT_OK ? r : works ? HP_EXIT_OK : HP_EXIT_FAIL;
}
