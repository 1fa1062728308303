/* hwpass vm start | stop | log | supervise | suspend | snapshot | migrate:
 * power-on and power-off are operations (src/ops/power.c), here or in
 * hwpassd; the console log is read here. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/macro.h"
#include "util/strutil.h"
#include "vm.h"
#include "vm/supervise.h"

static int run_start(struct hp_ops_ctx *ctx, void *arg, json_t **ret)
{
        return hp_ops_vm_start(ctx, arg, ret);
}

/* A firmware hwpass chose (the VM is set to auto), and why. */
static void print_firmware_choice(json_t *fw)
{
        const char *which = hp_cli_str(fw, "firmware"), *why = hp_cli_str(fw, "reason");

        if (json_is_true(json_object_get(fw, "chosen")) && which)
                printf("Firmware: %s, chosen because %s.\n", streq(which, "efi") ? "EFI" : "BIOS", why ? why : "?");
}

int hp_cmd_vm_start(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        struct hp_cli_route route = { .method = "POST" };
        int r;

        if (argc != 2)
                return hp_cli_usage_error("usage: hwpass vm start NAME");
        c->no_names = true; /* power-on prints no device names: pci.ids is not read */
        if ((r = hp_cli_vm_name_check(argv[1])) != HP_EXIT_OK)
                return r;
        snprintf(route.path, sizeof(route.path), "/v1/vms/%s/start", argv[1]);
        r = hp_cli_write(c, &route, run_start, argv[1], &doc);
        if (r != HP_EXIT_OK)
                return r;
        if (c->json)
                return hp_cli_print_json(TAKE_PTR(doc));
        if (c->controller) {
                /* Claimed: its host starts it with its next heartbeat. */
                json_t *d;
                size_t i;

                printf("VM '%s' placed on %s (epoch %lld): %s\n", argv[1], hp_cli_str(doc, "host") ?: "?",
                       (long long)json_integer_value(json_object_get(doc, "epoch")), hp_cli_str(doc, "why") ?: "");
                json_array_foreach(json_object_get(doc, "devices"), i, d)
                        printf("  %s: %s\n", hp_cli_str(d, "entry") ?: "?", hp_cli_str(d, "address") ?: "?");
                return HP_EXIT_OK;
        }
        printf("VM '%s' is running.\n", argv[1]);
        print_firmware_choice(json_object_get(doc, "firmware_run"));
        return HP_EXIT_OK;
}

struct stop_arg {
        const char *name;
        bool force;
        uint64_t timeout;
};

static int run_stop(struct hp_ops_ctx *ctx, void *arg, json_t **ret)
{
        struct stop_arg *a = arg;

        return hp_ops_vm_stop(ctx, a->name, a->force, a->timeout, ret);
}

/* What became of the devices: each one not reset is named, with what it means. */
static void print_stopped(const char *name, json_t *doc)
{
        json_t *released = json_object_get(doc, "released"), *d;
        bool all_reset = true;
        size_t i;

        if (json_is_true(json_object_get(doc, "lost"))) {
                printf("VM '%s' is off; its devices are free (its supervisor was gone: they were not reset).\n", name);
                return;
        }
        json_array_foreach(released, i, d)
                all_reset = all_reset && streq(hp_cli_str(d, "reset") ?: "", "done");
        if (json_array_size(released) == 0)
                printf("VM '%s' is off.\n", name);
        else
                printf("VM '%s' is off; its devices are %s.\n", name, all_reset ? "reset and free" : "free");
        json_array_foreach(released, i, d) {
                const char *addr = hp_cli_str(d, "address"), *reset = hp_cli_str(d, "reset") ?: "";

                if (streq(reset, "none"))
                        fprintf(stderr,
                                "hwpass: warning: %s was not reset: the kernel has no reset method for it, so the "
                                "next VM gets it as this one left it (see 'hwpass device show %s')\n",
                                addr, addr);
                else if (streq(reset, "failed"))
                        fprintf(stderr,
                                "hwpass: warning: %s failed to reset and is quarantined: no VM gets it until "
                                "'hwpass device clear %s' (after a power cycle of the host or the slot)\n",
                                addr, addr);
        }
}

/* A cluster's stop carried out: the run ended on its host and reported
 * off, its devices given back (a power-on is taken from then on). */
#define WAIT_MARGIN_S 30 /* beyond the stop's own timeout: the host's next heartbeats */

static int wait_off(struct hp_cli *c, const char *name, uint64_t timeout, json_t **doc)
{
        time_t end = time(NULL) + (time_t)timeout + WAIT_MARGIN_S;
        char path[128];
        int r;

        snprintf(path, sizeof(path), "/v1/vms/%s", name);
        for (;;) {
                const char *state, *host;

                json_decref(*doc);
                *doc = NULL;
                r = hp_cli_daemon_call(c, "GET", path, NULL, doc);
                if (r != HP_EXIT_OK)
                        return r;
                state = hp_cli_str(*doc, "state") ?: "?";
                host = hp_cli_str(*doc, "host");
                if (streq(state, "off") && !host)
                        return HP_EXIT_OK;
                if (time(NULL) >= end)
                        break;
                (void)usleep(250 * 1000);
        }
        hp_cli_message(
                "VM '%s' is not off yet after %" PRIu64 " s: %s%s%s; see 'hwpass vm show %s', and "
                "'hwpass host list' for its host",
                name, timeout + WAIT_MARGIN_S, hp_cli_str(*doc, "state") ?: "?",
                hp_cli_str(*doc, "host") ? " on " : "", hp_cli_str(*doc, "host") ?: "", name);
        return HP_EXIT_FAIL;
}

int hp_cmd_vm_stop(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_ops_vm_done) struct hp_ops_vm v = { 0 };
        _cleanup_(json_decrefp) json_t *doc = NULL;
        struct stop_arg a = { .timeout = 30 };
        struct hp_cli_route route = { .method = "POST" };
        const char *val;
        bool wait = false;
        int r, err = 0;

        if (argc < 2 || argv[1][0] == '-')
                return hp_cli_usage("vm", "stop");
        for (int i = 2; i < argc; i++) {
                if (streq(argv[i], "--force"))
                        a.force = true;
                else if (streq(argv[i], "--wait"))
                        wait = true; /* a standalone host's stop always waits */
                else if ((val = hp_cli_opt_value(argc, argv, &i, "--timeout", &err))) {
                        if (hp_parse_u64(val, 10, &a.timeout) < 0 || a.timeout > 3600)
                                return hp_cli_usage_error(
                                        "invalid --timeout '%s': 0 to 3600 seconds", val);
                } else if (!err)
                        err = hp_cli_usage_error("'vm stop' does not take '%s'", argv[i]);
                if (err)
                        return err;
        }
        a.name = argv[1];
        /* Off already: said so, nothing asked (a controller's VM: the controller says). */
        r = c->controller ? hp_cli_vm_name_check(a.name) : hp_cli_vm_read(c, a.name, &v);
        if (r != HP_EXIT_OK)
                return r;
        if (!c->controller && streq(v.rec.state, "off") && !c->json) {
                printf("VM '%s' is off already.\n", v.spec.name);
                return HP_EXIT_OK;
        }
        hp_ops_vm_done(&v);
        snprintf(route.path, sizeof(route.path), "/v1/vms/%s/stop", a.name);
        route.body = json_pack("{s:b, s:I}", "force", a.force, "timeout", (json_int_t)a.timeout);
        r = hp_cli_write(c, &route, run_stop, &a, &doc);
        if (r == HP_EXIT_OK && c->controller && wait)
                r = wait_off(c, a.name, a.force ? 0 : a.timeout, &doc);
        if (r != HP_EXIT_OK)
                return r;
        if (json_object_get(doc, "forced_after"))
                fprintf(stderr, "hwpass: '%s' did not power off within %" PRIu64 " s: it was forced\n", a.name,
                        a.timeout);
        if (c->json)
                return hp_cli_print_json(TAKE_PTR(doc));
        if (c->controller && wait) {
                printf("VM '%s' is off; its host stopped it and gave its devices back.\n", a.name);
                return HP_EXIT_OK;
        }
        if (c->controller) {
                printf("VM '%s': asked to stop; its host stops it with its next heartbeat "
                       "('--wait' waits "
                       "for that).\n",
                       a.name);
                return HP_EXIT_OK;
        }
        print_stopped(a.name, doc);
        return HP_EXIT_OK;
}

int hp_cmd_vm_log(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_ops_vm_done) struct hp_ops_vm v = { 0 };
        char buf[4096];
        ssize_t n;
        int fd, r;

        if (argc != 2)
                return hp_cli_usage_error("usage: hwpass vm log NAME");
        r = hp_cli_vm_read(c, argv[1], &v);
        if (r != HP_EXIT_OK)
                return r;
        fd = hp_ops_vm_console_open(c->ops.run_dir, v.spec.name);
        if (fd == -ENOENT)
                return hp_cli_usage_error(
                        "VM '%s' has no console log yet (it has not run since boot)", v.spec.name);
        if (fd < 0)
                return hp_cli_usage_error("cannot read the console log of VM '%s': %s", v.spec.name,
                                          hp_ops_vm_console_strerror(fd));
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                fwrite(buf, 1, (size_t)n, stdout);
        close(fd);
        return HP_EXIT_OK;
}

/* The supervisor, started by hp_vm_launch() with its status pipe on fd 3. */
int hp_cmd_vm_supervise(struct hp_cli *c, int argc, char **argv)
{
        (void)c;
        if (argc != 2)
                return hp_cli_usage_error("usage: hwpass vm supervise RUN_DIR (started by 'hwpass vm start')");
        return hp_vm_supervise(argv[1], 3) < 0 ? HP_EXIT_ERROR : HP_EXIT_OK;
}

/* vm suspend | snapshot | migrate: refused (vm/rules.h says why). */
int hp_cmd_vm_state_op(struct hp_cli *c, int argc, char **argv)
{
        struct hp_ops_ctx *ctx;
        int r;

        if (argc != 2)
                return hp_cli_usage_error("usage: hwpass vm %s NAME", argv[0]);
        r = hp_cli_ops(c, &ctx);
        if (r != HP_EXIT_OK)
                return r;
        (void)hp_ops_vm_state_op(ctx, argv[1], argv[0]);
        return hp_cli_op_failed(c);
}
