/* hwpass host start-vms | stop-vms: the host's VM startup and shutdown, as
 * the operations (src/ops/autostart.c) do them, here or in hwpassd. Run here,
 * each VM is reported as it is done. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"
#include "util/strutil.h"
#include "vm.h"

static void print_started(json_t *e, void *userdata)
{
        const char *result = hp_cli_str(e, "result") ?: "";

        (void)userdata;
        if (streq(result, "already")) {
                printf("VM '%s' (order %d) is %s already.\n", hp_cli_str(e, "name"),
                       (int)json_integer_value(json_object_get(e, "order")), hp_cli_str(e, "state"));
        } else if (streq(result, "failed")) {
                fflush(stdout);
                fprintf(stderr, "hwpass: %s\nhwpass: autostart of '%s' failed; going on with the next VM\n",
                        hp_cli_str(e, "error") ?: "failed", hp_cli_str(e, "name"));
        } else {
                printf("VM '%s' (order %d) is running.\n", hp_cli_str(e, "name"),
                       (int)json_integer_value(json_object_get(e, "order")));
        }
        fflush(stdout);
}

static void print_stopped(json_t *e, void *userdata)
{
        const char *result = hp_cli_str(e, "result") ?: "";
        const uint64_t *timeout = userdata;

        if (streq(result, "failed")) {
                fprintf(stderr, "hwpass: %s\n", hp_cli_str(e, "error") ?: "failed");
                return;
        }
        if (streq(result, "forced"))
                fprintf(stderr, "hwpass: '%s' did not power off within %" PRIu64 " s: it was forced\n", hp_cli_str(e, "name"),
                        *timeout);
        printf("VM '%s' is off.\n", hp_cli_str(e, "name"));
        fflush(stdout);
}

/* Runs one of the two: here, with each VM printed as it is done, or in
 * hwpassd, its answer printed at the end. */
static int run(struct hp_cli *c, bool start, uint64_t timeout)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        struct hp_cli_route route = { .method = "POST" };
        hp_ops_progress_fn show = start ? print_started : print_stopped;
        struct hp_ops_ctx *ctx;
        size_t done, failed, i;
        bool remote;
        json_t *e;
        int r;

        snprintf(route.path, sizeof(route.path), "/v1/host/%s", start ? "start-vms" : "stop-vms");
        route.body = start ? NULL : json_pack("{s:I}", "timeout", (json_int_t)timeout);
        r = hp_cli_remote(c, &route, &remote, &doc);
        if (remote && r == 0)
                json_array_foreach(json_object_get(doc, "vms"), i, e)
                        show(e, &timeout);
        if (!remote) {
                r = hp_cli_ops(c, &ctx);
                if (r != HP_EXIT_OK)
                        return r;
                r = start ? hp_ops_host_start_vms(ctx, show, NULL, &doc)
                          : hp_ops_host_stop_vms(ctx, timeout, show, &timeout, &doc);
        }
        if (r < 0)
                return hp_cli_op_failed(c);
        if (r > 0)
                return r;
        done = (size_t)json_integer_value(json_object_get(doc, "done"));
        failed = (size_t)json_integer_value(json_object_get(doc, "failed"));
        printf("%zu %s, %zu failed.\n", done, start ? "started" : "stopped", failed);
        return failed ? HP_EXIT_FAIL : HP_EXIT_OK;
}

int hp_cmd_host_start_vms(struct hp_cli *c, int argc, char **argv)
{
        int r = hp_cli_no_args("host start-vms", argc, argv);

        return r != HP_EXIT_OK ? r : run(c, true, 0);
}

int hp_cmd_host_stop_vms(struct hp_cli *c, int argc, char **argv)
{
        uint64_t timeout = 60;
        const char *val;
        int err = 0;

        for (int i = 1; i < argc; i++) {
                if ((val = hp_cli_opt_value(argc, argv, &i, "--timeout", &err))) {
                        if (hp_parse_u64(val, 10, &timeout) < 0 || timeout > 3600)
                                return hp_cli_usage_error("invalid --timeout '%s': 0 to 3600 seconds", val);
                } else if (!err)
                        err = hp_cli_usage_error("'host stop-vms' does not take '%s'", argv[i]);
                if (err)
                        return err;
        }
        return run(c, false, timeout);
}
