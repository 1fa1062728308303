/* hwpass events: the store's event log (who did what, device and VM state
 * changes, failures), oldest first. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "api/hostjson.h"
#include "cli.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"

int hp_cmd_events(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_free_ char *err = NULL;
        struct hp_event *e = NULL;
        uint64_t since = 0, limit = 50;
        const char *val;
        size_t n = 0;
        int r, bad = 0;

        for (int i = 1; i < argc; i++) {
                if ((val = hp_cli_opt_value(argc, argv, &i, "--since", &bad))) {
                        if (hp_parse_u64(val, 10, &since) < 0 || since > INT64_MAX)
                                return hp_cli_usage_error("invalid --since '%s': an event id", val);
                } else if ((val = hp_cli_opt_value(argc, argv, &i, "--limit", &bad))) {
                        if (hp_parse_u64(val, 10, &limit) < 0 || limit == 0 || limit > 100000)
                                return hp_cli_usage_error("invalid --limit '%s': 1 to 100000", val);
                } else if (!bad) {
                        bad = hp_cli_usage_error("'events' does not take '%s'", argv[i]);
                }
                if (bad)
                        return bad;
        }
        r = hp_store_open_readonly(c->db_path, &s, &err);
        if (r == -ENOENT)
                return c->json ? hp_cli_print_json(hp_json_events(NULL, 0)) : HP_EXIT_OK;
        if (r < 0) {
                fprintf(stderr, "hwpass: %s\n", err ? err : "cannot open the store");
                return HP_EXIT_ERROR;
        }
        r = hp_store_event_list(s, (int64_t)since, (size_t)limit, &e, &n);
        if (r < 0)
                return hp_cli_error(r, "cannot read the events in '%s'", c->db_path);
        if (c->json) {
                r = hp_cli_print_json(hp_json_events(e, n));
                hp_events_free(e, n);
                return r;
        }
        for (size_t i = 0; i < n; i++) {
                char when[32];
                time_t t = (time_t)e[i].at;
                struct tm tm;

                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime_r(&t, &tm));
                printf("%6" PRId64 "  %s  %-20s %-14s %s\n", e[i].id, when, e[i].kind,
                       e[i].subject ? e[i].subject : "-", e[i].message ? e[i].message : "");
        }
        hp_events_free(e, n);
        return HP_EXIT_OK;
}
