/* hwpass host list, device list --host, cluster token create, cluster
 * policy: what a cluster's controller answers (--controller URL, or the controller's own
 * hwpassd on this machine), as tables. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "table.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm/spec.h"

/* "3 s ago", "never". */
static void age_text(json_t *age_ms, char *buf, size_t size)
{
        json_int_t ms = json_integer_value(age_ms);

        if (!json_is_integer(age_ms))
                snprintf(buf, size, "never");
        else if (ms < 120 * 1000)
                snprintf(buf, size, "%lld s ago", (long long)(ms / 1000));
        else
                snprintf(buf, size, "%lld min ago", (long long)(ms / 60000));
}

/* "10de:20b5 'training' 2/4, 1b36:0010 4/4" */
static char *pools_text(json_t *pools)
{
        _cleanup_free_ char *out = strdup("");
        json_t *p;
        size_t i;

        json_array_foreach(pools, i, p) {
                const char *label = hp_cli_str(p, "label");
                char *next = NULL;

                if (!out || asprintf(&next, "%s%s%s:%s%s%s%s %lld/%lld free", out, i ? ", " : "",
                                     hp_cli_str(p, "vendor_id") ?: "?", hp_cli_str(p, "device_id") ?: "?",
                                     label ? " '" : "", label ? label : "", label ? "'" : "",
                                     (long long)json_integer_value(json_object_get(p, "free")),
                                     (long long)json_integer_value(json_object_get(p, "total"))) < 0)
                        return NULL;
                free(out);
                out = next;
        }
        return TAKE_PTR(out);
}

int hp_cmd_host_list(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        _cleanup_(hp_table_freep) struct hp_table *t = NULL;
        json_t *h;
        size_t i;
        int r = hp_cli_no_args("host list", argc, argv);

        if (r == HP_EXIT_OK)
                r = hp_cli_daemon_call(c, "GET", "/v1/hosts", NULL, &doc);
        if (r != HP_EXIT_OK)
                return r;
        if (c->json)
                return hp_cli_print_json(TAKE_PTR(doc));
        t = hp_table_new(5, (const char *const[]){ "HOST", "STATE", "HEARTBEAT", "MEMORY FREE", "DEVICES" });
        json_array_foreach(json_object_get(doc, "hosts"), i, h) {
                _cleanup_free_ char *pools = pools_text(json_object_get(h, "pools"));
                json_t *mem = json_object_get(h, "memory");
                char age[32], memory[64] = "-";

                age_text(json_object_get(h, "heartbeat_age_ms"), age, sizeof(age));
                if (json_is_object(mem))
                        snprintf(memory, sizeof(memory), "%lld of %lld MiB",
                                 (long long)json_integer_value(json_object_get(mem, "available_mib")),
                                 (long long)json_integer_value(json_object_get(mem, "total_mib")));
                if (!t || hp_table_add(t, (const char *const[]){ hp_cli_str(h, "name"), hp_cli_str(h, "state"), age,
                                                                  memory, pools && *pools ? pools : "none" }) < 0)
                        return hp_cli_error(-ENOMEM, "cannot build the table");
        }
        if (!t)
                return hp_cli_error(-ENOMEM, "cannot build the table");
        if (json_array_size(json_object_get(doc, "hosts")) == 0)
                printf("No host has joined yet: make a join token with 'hwpass cluster token create' and start "
                       "'hwpassd --role agent' on each host.\n");
        else
                hp_table_print(t, stdout);
        return HP_EXIT_OK;
}

/* device list with --controller: every host's devices, or --host's. */
int hp_cli_cluster_device_list(struct hp_cli *c)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        _cleanup_(hp_table_freep) struct hp_table *t = NULL;
        json_t *d;
        size_t i;
        int r = hp_cli_daemon_call(c, "GET", "/v1/devices", NULL, &doc);

        if (r != HP_EXIT_OK)
                return r;
        if (c->json)
                return hp_cli_print_json(TAKE_PTR(doc));
        t = hp_table_new(8, (const char *const[]){ "HOST", "ADDRESS", "ID", "DRIVER", "NUMA", "PASSTHROUGH", "LABEL",
                                                    "NAME" });
        json_array_foreach(json_object_get(doc, "devices"), i, d) {
                json_t *pt = json_object_get(d, "passthrough"), *numa = json_object_get(d, "numa_node");
                char id[16], node[16] = "-", name[256];
                const char *state = json_is_true(json_object_get(pt, "active"))    ? "on"
                                    : json_is_true(json_object_get(pt, "desired")) ? "pending"
                                                                                   : "off";

                snprintf(id, sizeof(id), "%s:%s", hp_cli_str(d, "vendor_id") ?: "?", hp_cli_str(d, "device_id") ?: "?");
                if (json_is_integer(numa))
                        snprintf(node, sizeof(node), "%lld", (long long)json_integer_value(numa));
                snprintf(name, sizeof(name), "%s %s", hp_cli_str(d, "vendor_name") ?: "",
                         hp_cli_str(d, "device_name") ?: "");
                if (!t || hp_table_add(t, (const char *const[]){ hp_cli_str(d, "host"), hp_cli_str(d, "address"), id,
                                                                  hp_cli_str(d, "driver"), node, state,
                                                                  hp_cli_str(d, "label"), hp_strstrip(name) }) < 0)
                        return hp_cli_error(-ENOMEM, "cannot build the table");
        }
        if (!t)
                return hp_cli_error(-ENOMEM, "cannot build the table");
        hp_table_print(t, stdout);
        return HP_EXIT_OK;
}

/* A duration: N, Ns, Nm, Nh or Nd, into seconds; -EINVAL. */
static int parse_duration(const char *s, uint64_t *ret)
{
        static const struct {
                char unit;
                uint64_t seconds;
        } units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
        _cleanup_free_ char *num = strdup(s ?: "");
        size_t n = num ? strlen(num) : 0;
        uint64_t mult = 1, v;

        if (n == 0)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (num[n - 1] == units[i].unit) {
                        mult = units[i].seconds;
                        num[n - 1] = '\0';
                }
        if (hp_parse_u64(num, 10, &v) < 0 || v == 0 || v > UINT64_MAX / mult)
                return -EINVAL;
        *ret = v * mult;
        return 0;
}

static int token_create(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        uint64_t ttl = 0;
        time_t until;
        struct tm tm;
        char when[64] = "?";
        int r;

        for (int i = 1; i < argc; i++) {
                int err = 0;
                const char *v = hp_cli_opt_value(argc, argv, &i, "--ttl", &err);

                if (!v || parse_duration(v, &ttl) < 0 || ttl > 30 * 86400)
                        return hp_cli_usage_error("usage: hwpass cluster token create [--ttl DURATION] (30s, 10m, 1h, "
                                                  "up to 30d; default 1h)");
        }
        r = hp_cli_daemon_call(c, "POST", "/v1/cluster/tokens", ttl ? json_pack("{s:I}", "ttl_s", (json_int_t)ttl) : NULL,
                               &doc);
        if (r != HP_EXIT_OK)
                return r;
        if (c->json)
                return hp_cli_print_json(TAKE_PTR(doc));
        until = (time_t)(json_integer_value(json_object_get(doc, "expires_ms")) / 1000);
        if (localtime_r(&until, &tm))
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", &tm);
        printf("%s\n", hp_cli_str(doc, "token") ?: "?");
        fprintf(stderr, "hwpass: a join token for one host, until %s: start 'hwpassd --role agent --join-token "
                        "TOKEN ...' there. It is shown this once.\n",
                when);
        return HP_EXIT_OK;
}

int hp_cmd_cluster_token(struct hp_cli *c, int argc, char **argv)
{
        if (argc < 2 || !streq(argv[1], "create"))
                return hp_cli_usage_error("usage: hwpass cluster token create [--ttl DURATION]");
        return token_create(c, argc - 1, argv + 1);
}

/* hwpass cluster policy [performance|consolidation]: the placement policy
 * of the VMs that name none of their own, shown or set. */
int hp_cmd_cluster_policy(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        enum hp_vm_placement p;
        int r;

        if (argc > 2 || (argc == 2 && hp_vm_placement_from_string(argv[1], &p) < 0))
                return argc == 2 ? hp_cli_usage_error("invalid policy '%s': performance (spread VMs over the hosts) "
                                                      "or consolidation (pack them on few)",
                                                      argv[1])
                                 : hp_cli_usage("cluster", "policy");
        r = argc == 2 ? hp_cli_daemon_call(c, "PUT", "/v1/cluster/settings", json_pack("{s:s}", "placement", argv[1]),
                                           &doc)
                      : hp_cli_daemon_call(c, "GET", "/v1/cluster/settings", NULL, &doc);
        if (r != HP_EXIT_OK)
                return r;
        if (c->json)
                return hp_cli_print_json(TAKE_PTR(doc));
        printf("%s: %s (for the VMs that name no policy of their own)\n",
               argc == 2 ? "Placement policy set" : "Placement policy", hp_cli_str(doc, "placement") ?: "?");
        return HP_EXIT_OK;
}

static char *held_text(json_t *held)
{
        _cleanup_free_ char *out = strdup("");
        json_t *d;
        size_t i;

        json_array_foreach(held, i, d) {
                char *next = NULL;

                if (!out || asprintf(&next, "%s%s%s", out, i ? " " : "", json_string_value(d) ?: "?") < 0)
                        return NULL;
                free(out);
                out = next;
        }
        return TAKE_PTR(out);
}

int hp_cli_cluster_vms(struct hp_cli *c, const char *name)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        _cleanup_(hp_table_freep) struct hp_table *t = NULL;
        char path[300];
        json_t *v, *list;
        size_t i;
        int r;

        snprintf(path, sizeof(path), "/v1/vms%s%s", name ? "/" : "", name ? name : "");
        r = hp_cli_daemon_call(c, "GET", path, NULL, &doc);
        if (r != HP_EXIT_OK)
                return r;
        if (c->json)
                return hp_cli_print_json(TAKE_PTR(doc));
        list = name ? json_pack("[O]", doc) : json_incref(json_object_get(doc, "vms"));
        t = hp_table_new(6, (const char *const[]){ "NAME", "HOST", "STATE", "DESIRED", "EPOCH", "DEVICES" });
        json_array_foreach(list, i, v) {
                _cleanup_free_ char *held = held_text(json_object_get(v, "held_devices"));
                char epoch[32];

                snprintf(epoch, sizeof(epoch), "%lld", (long long)json_integer_value(json_object_get(v, "epoch")));
                if (!t || hp_table_add(t, (const char *const[]){ hp_cli_str(v, "name"), hp_cli_str(v, "host"),
                                                                  hp_cli_str(v, "state"), hp_cli_str(v, "desired"),
                                                                  epoch, held && *held ? held : NULL }) < 0) {
                        json_decref(list);
                        return hp_cli_error(-ENOMEM, "cannot build the table");
                }
        }
        json_decref(list);
        if (!t)
                return hp_cli_error(-ENOMEM, "cannot build the table");
        hp_table_print(t, stdout);
        /* One VM: its own placement policy, when it names one. */
        if (name && hp_cli_str(doc, "placement"))
                printf("Placement: %s (its own, over the cluster's)\n", hp_cli_str(doc, "placement"));
        /* One VM: what HA does with it, when not the defaults. */
        if (name && (hp_cli_str(doc, "restart_priority") || hp_cli_str(doc, "isolation")))
                printf("HA: restart priority %s, isolation %s\n", hp_cli_str(doc, "restart_priority") ?: "medium",
                       hp_cli_str(doc, "isolation") ?: "power-off");
        /* One VM: the hosts its power-on failed on, and why. */
        json_array_foreach(name ? json_object_get(doc, "start_failures") : NULL, i, v)
                printf("Start failed on %s (epoch %lld): %s\n", hp_cli_str(v, "host") ?: "?",
                       (long long)json_integer_value(json_object_get(v, "epoch")), hp_cli_str(v, "error") ?: "?");
        return HP_EXIT_OK;
}

int hp_cmd_host_remove(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        char path[300];
        int r;

        if (argc != 2 || argv[1][0] == '-')
                return hp_cli_usage_error("usage: hwpass host remove NAME");
        snprintf(path, sizeof(path), "/v1/hosts/%s", argv[1]);
        r = hp_cli_daemon_call(c, "DELETE", path, NULL, &doc);
        if (r != HP_EXIT_OK)
                return r;
        if (c->json)
                return hp_cli_print_json(TAKE_PTR(doc));
        printf("Host '%s' removed: its agent is refused from now on; it may join again with a new join token.\n",
               argv[1]);
        return HP_EXIT_OK;
}

static bool listed(json_t *names, const char *name)
{
        json_t *v;
        size_t i;

        json_array_foreach(names, i, v)
                if (streq(json_string_value(v) ?: "", name))
                        return true;
        return false;
}

/* Whether any VM in doc is still on host (wanted on there, or moving off
 * it); each moving VM's progress printed once per change of where it is. */
static bool still_on(json_t *doc, const char *host, json_t *moving, json_t *said)
{
        bool busy = false;
        json_t *v;
        size_t i;

        json_array_foreach(json_object_get(doc, "vms"), i, v) {
                const char *name = hp_cli_str(v, "name"), *on = hp_cli_str(v, "host"), *state = hp_cli_str(v, "state");
                const char *moving_from = hp_cli_str(v, "moving_from");
                char now[300];
                bool here = on && streq(on, host);

                if ((here && streq(hp_cli_str(v, "desired") ?: "", "on")) || (moving_from && streq(moving_from, host)))
                        busy = true;
                if (!name || !listed(moving, name))
                        continue;
                snprintf(now, sizeof(now), "%s %s", on ? on : "-", state ? state : "?");
                if (streq(json_string_value(json_object_get(said, name)) ?: "", now))
                        continue;
                json_object_set_new(said, name, json_string(now));
                if (here)
                        printf("VM '%s': stopping on %s (%s)\n", name, host, state ? state : "?");
                else if (on)
                        printf("VM '%s': %s on %s\n", name, state ? state : "?", on);
                else
                        printf("VM '%s': %s (see 'hwpass vm explain %s')\n", name, state ? state : "?", name);
                fflush(stdout);
        }
        return busy;
}

/* hwpass host maintenance enter|exit NAME [--wait] (a controller's). */
int hp_cmd_host_maintenance(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *doc = NULL, *said = json_object();
        bool enter = argc >= 3 && streq(argv[1], "enter"), wait = argc == 4 && streq(argv[3], "--wait");
        char path[300];
        json_t *moving, *pinned;
        int r;

        if (argc < 3 || argc > 4 || (!enter && !streq(argv[1], "exit")) || (argc == 4 && (!wait || !enter)) ||
            argv[2][0] == '-')
                return hp_cli_usage_error("usage: hwpass host maintenance enter NAME [--wait] | exit NAME");
        snprintf(path, sizeof(path), "/v1/hosts/%s/maintenance", argv[2]);
        r = hp_cli_daemon_call(c, "PUT", path, json_pack("{s:b, s:b}", "maintenance", enter, "wait", wait), &doc);
        if (r != HP_EXIT_OK)
                return r;
        if (c->json && !wait)
                return hp_cli_print_json(TAKE_PTR(doc));
        if (!enter) {
                printf("Host '%s' is out of maintenance: it takes VMs again.\n", argv[2]);
                return HP_EXIT_OK;
        }
        moving = json_incref(json_object_get(doc, "moving"));
        pinned = json_object_get(doc, "pinned");
        printf("Host '%s' is in maintenance: it takes no new VMs; %zu VM%s move%s to other hosts.\n", argv[2],
               json_array_size(moving), json_array_size(moving) == 1 ? "" : "s", json_array_size(moving) == 1 ? "s" : "");
        for (size_t i = 0; i < json_array_size(pinned); i++)
                printf("VM '%s' is pinned there by its static entries: stop it ('hwpass vm stop %s')\n",
                       json_string_value(json_array_get(pinned, i)), json_string_value(json_array_get(pinned, i)));
        fflush(stdout);
        /* --wait: until no VM is on the host any more, its moves shown as they go. */
        for (r = HP_EXIT_OK; wait && said;) {
                json_decref(doc);
                doc = NULL;
                r = hp_cli_daemon_call(c, "GET", "/v1/vms", NULL, &doc);
                if (r != HP_EXIT_OK || !still_on(doc, argv[2], moving, said))
                        break;
                sleep(1);
        }
        json_decref(moving);
        if (r == HP_EXIT_OK && wait)
                printf("Host '%s' runs no VM now.\n", argv[2]);
        return r;
}

/* hwpass cluster ha status | tolerate N [--warn]: a controller's failure
 * scenarios, and the admission control that keeps them. */
int hp_cmd_cluster_ha(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(json_decrefp) json_t *doc = NULL;
        bool set = argc >= 3 && streq(argv[1], "tolerate"), warn = argc == 4 && streq(argv[3], "--warn");
        char *end = NULL;
        unsigned long n = set ? strtoul(argv[2], &end, 10) : 0;
        json_t *sc, *rs;
        size_t i, k;
        int r;

        if (!(argc == 2 && streq(argv[1], "status")) &&
            !(set && (argc == 3 || warn) && end && !*end && argv[2][0] >= '0' && argv[2][0] <= '9' && n <= 8))
                return hp_cli_usage_error("usage: hwpass cluster ha status | tolerate N [--warn] (N: 0 to 8 host "
                                          "failures; --warn: a power-on that breaks it is warned about, not refused)");
        r = set ? hp_cli_daemon_call(c, "PUT", "/v1/cluster/ha",
                                     json_pack("{s:i, s:s}", "tolerate", (int)n, "admission", warn ? "warn" : "refuse"),
                                     &doc)
                : hp_cli_daemon_call(c, "GET", "/v1/cluster/ha", NULL, &doc);
        if (r != HP_EXIT_OK)
                return r;
        if (c->json)
                return hp_cli_print_json(TAKE_PTR(doc));
        n = (unsigned long)json_integer_value(json_object_get(doc, "tolerate"));
        if (n)
                printf("HA tolerates %lu host failure%s; a power-on that breaks that is %s.\n", n, n == 1 ? "" : "s",
                       streq(hp_cli_str(doc, "admission") ?: "", "warn") ? "warned about" : "refused");
        else
                printf("HA admission control is off ('hwpass cluster ha tolerate 1' keeps room for a host's failure).\n");
        json_array_foreach(json_object_get(doc, "scenarios"), i, sc) {
                _cleanup_free_ char *hosts = held_text(json_object_get(sc, "failed"));

                printf("If %s failed: %s\n", hosts ? hosts : "?",
                       json_is_true(json_object_get(sc, "ok")) ? "every VM restarts" : "NOT every VM restarts");
                json_array_foreach(json_object_get(sc, "restarts"), k, rs)
                        if (hp_cli_str(rs, "host"))
                                printf("  %s -> %s\n", hp_cli_str(rs, "vm") ?: "?", hp_cli_str(rs, "host"));
                        else
                                printf("  %s: nowhere: %s\n", hp_cli_str(rs, "vm") ?: "?", hp_cli_str(rs, "why") ?: "?");
        }
        return json_is_true(json_object_get(doc, "ok")) ? HP_EXIT_OK : HP_EXIT_FAIL;
}
