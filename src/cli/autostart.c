/* hwpass host start-vms | stop-vms: the host's VM startup and shutdown.
 * VMs with an autostart order start lowest first, each followed by its delay
 * before the next. At shutdown every other VM that still runs stops first (it
 * may depend on them), then they stop in reverse order. One VM that fails
 * does not hold the others back. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/macro.h"
#include "util/strutil.h"
#include "vm.h"
#include "vm/specjson.h"

struct entry {
        char name[HP_VM_NAME_MAX + 1];
        int order;
        unsigned delay;
};

static int entry_cmp(const void *a, const void *b)
{
        const struct entry *x = a, *y = b;

        if (x->order != y->order)
                return x->order < y->order ? -1 : 1;
        return strcmp(x->name, y->name);
}

struct entries {
        struct entry *list;
        size_t n, size;
        bool everything;
};

static int add_entry(const struct hp_vm_record *rec, const struct hp_vm_spec *s, void *userdata)
{
        struct entries *e = userdata;

        (void)rec;
        if (s->autostart_order < 0 && !e->everything)
                return 0;
        if (e->n == e->size) {
                size_t size = e->size ? 2 * e->size : 16;
                struct entry *nl = realloc(e->list, size * sizeof(*nl));

                if (!nl)
                        return -ENOMEM;
                e->list = nl;
                e->size = size;
        }
        snprintf(e->list[e->n].name, sizeof(e->list[e->n].name), "%s", s->name);
        e->list[e->n].order = s->autostart_order < 0 ? INT32_MAX : s->autostart_order;
        e->list[e->n].delay = s->autostart_delay;
        e->n++;
        return 0;
}

/* Autostart VMs in start order; with everything, the others follow them (as
 * order INT32_MAX), so a reverse walk stops those first. */
static int load_entries(struct hp_cli *c, bool everything, struct entry **ret, size_t *ret_n)
{
        struct entries e = { .everything = everything };
        int r = hp_cli_vm_each(c, add_entry, &e);

        if (r != HP_EXIT_OK) {
                free(e.list);
                return r;
        }
        if (e.n > 0)
                qsort(e.list, e.n, sizeof(*e.list), entry_cmp);
        *ret = e.list;
        *ret_n = e.n;
        return HP_EXIT_OK;
}

int hp_cmd_host_start_vms(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_free_ struct entry *list = NULL;
        size_t n = 0, failed = 0, started = 0;
        int r = hp_cli_no_args("host start-vms", argc, argv);

        if (r == HP_EXIT_OK)
                r = load_entries(c, false, &list, &n);
        if (r != HP_EXIT_OK)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_(hp_cli_vm_done) struct hp_cli_vm v = { 0 };

                r = hp_cli_vm_load(c, list[i].name, &v);
                if (r == HP_EXIT_OK && !streq(v.rec.state, "off")) {
                        printf("VM '%s' (order %d) is %s already.\n", v.spec.name, list[i].order,
                               v.rec.state);
                        continue;
                }
                if (r == HP_EXIT_OK)
                        r = hp_cli_vm_power_on(c, &v);
                if (r != HP_EXIT_OK) {
                        failed++;
                        fprintf(stderr,
                                "hwpass: autostart of '%s' failed; going on with the next VM\n",
                                list[i].name);
                        continue;
                }
                started++;
                printf("VM '%s' (order %d) is running.\n", v.spec.name, list[i].order);
                fflush(stdout);
                /* The delay gives this VM's services time to come up before the next. */
                if (list[i].delay > 0 && i + 1 < n)
                        nanosleep(&(struct timespec){ .tv_sec = list[i].delay }, NULL);
        }
        printf("%zu started, %zu failed.\n", started, failed);
        return failed ? HP_EXIT_FAIL : HP_EXIT_OK;
}

int hp_cmd_host_stop_vms(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_free_ struct entry *list = NULL;
        size_t n = 0, failed = 0, stopped = 0;
        uint64_t timeout = 60;
        const char *val;
        int r, err = 0;

        for (int i = 1; i < argc; i++) {
                if ((val = hp_cli_opt_value(argc, argv, &i, "--timeout", &err))) {
                        if (hp_parse_u64(val, 10, &timeout) < 0 || timeout > 3600)
                                return hp_cli_usage_error(
                                        "invalid --timeout '%s': 0 to 3600 seconds", val);
                } else if (!err)
                        err = hp_cli_usage_error("'host stop-vms' does not take '%s'", argv[i]);
                if (err)
                        return err;
        }
        r = load_entries(c, true, &list, &n);
        if (r != HP_EXIT_OK)
                return r;
        for (size_t i = n; i-- > 0;) {
                _cleanup_(hp_cli_vm_done) struct hp_cli_vm v = { 0 };
                bool lost = false;

                r = hp_cli_vm_load(c, list[i].name, &v);
                if (r == HP_EXIT_OK && streq(v.rec.state, "off"))
                        continue;
                if (r == HP_EXIT_OK)
                        r = hp_cli_vm_power_off(c, &v, false, timeout, &lost);
                if (r != HP_EXIT_OK) {
                        failed++;
                        continue;
                }
                stopped++;
                printf("VM '%s' is off.\n", list[i].name);
                fflush(stdout);
        }
        printf("%zu stopped, %zu failed.\n", stopped, failed);
        return failed ? HP_EXIT_FAIL : HP_EXIT_OK;
}
