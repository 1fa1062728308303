/* hwpass events: the store's event log (who did what, device and VM state
 * changes, failures), oldest first. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "host/json.h"
#include "cli.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"

/* Text: a line per event; --json --follow: a JSON object per line. */
static int print_events(const struct hp_event *e, size_t n, bool json_lines)
{
        for (size_t i = 0; i < n; i++) {
                char when[32];
                time_t t = (time_t)e[i].at;
                struct tm tm;

                if (json_lines) {
                        _cleanup_(json_decrefp) json_t *doc = hp_json_events(&e[i], 1);
                        _cleanup_free_ char *line =
                                doc ? json_dumps(json_array_get(json_object_get(doc, "events"), 0),
                                                 JSON_COMPACT | JSON_SORT_KEYS)
                                    : NULL;

                        if (!line)
                                return hp_cli_error(-ENOMEM, "cannot build the JSON output");
                        puts(line);
                        continue;
                }
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime_r(&t, &tm));
                printf("%6" PRId64 "  %s  %-20s %-14s %-18s %s\n", e[i].id, when, e[i].kind,
                       e[i].subject ? e[i].subject : "-", e[i].actor ? e[i].actor : "-",
                       e[i].message ? e[i].message : "");
        }
        return fflush(stdout) == 0 ? HP_EXIT_OK : hp_cli_error(-EIO, "cannot write the output");
}

/* --follow: new events as they are recorded, until interrupted. The store is
 * asked four times a second (an indexed look past the last id). Takes s. */
static int follow(struct hp_cli *c, struct hp_store *s, int64_t last)
{
        _cleanup_(hp_store_closep) struct hp_store *opened = s;

        for (;;) {
                struct hp_event *e = NULL;
                size_t n = 0;
                int r;

                nanosleep(&(struct timespec){ .tv_nsec = 250 * 1000 * 1000 }, NULL);
                if (!s) { /* no store yet: wait for the first write */
                        if (hp_store_open_readonly(c->db_path, &opened, NULL) < 0)
                                continue;
                        s = opened;
                }
                r = hp_store_event_list(s, last, 1000, &e, &n);
                if (r < 0)
                        return hp_cli_error(r, "cannot read the events in '%s'", c->db_path);
                if (n > 0)
                        last = e[n - 1].id;
                r = print_events(e, n, c->json);
                hp_events_free(e, n);
                if (r != HP_EXIT_OK)
                        return r;
        }
}

int hp_cmd_events(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_free_ char *err = NULL;
        struct hp_event *e = NULL;
        uint64_t since = 0, limit = 50;
        bool follow_on = false;
        const char *val;
        size_t n = 0;
        int64_t last;
        int r, bad = 0;

        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--follow") || streq(argv[i], "-f")) {
                        follow_on = true;
                } else if ((val = hp_cli_opt_value(argc, argv, &i, "--since", &bad))) {
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
        if (r == -ENOENT && follow_on)
                return follow(c, NULL, (int64_t)since);
        if (r == -ENOENT)
                return c->json ? hp_cli_print_json(hp_json_events(NULL, 0)) : HP_EXIT_OK;
        if (r < 0) {
                hp_cli_message("%s", err ? err : "cannot open the store");
                return HP_EXIT_ERROR;
        }
        r = hp_store_event_list(s, (int64_t)since, (size_t)limit, &e, &n);
        if (r < 0)
                return hp_cli_error(r, "cannot read the events in '%s'", c->db_path);
        last = n > 0 ? e[n - 1].id : (int64_t)since;
        if (c->json && !follow_on)
                r = hp_cli_print_json(hp_json_events(e, n));
        else
                r = print_events(e, n, c->json);
        hp_events_free(e, n);
        if (r != HP_EXIT_OK || !follow_on)
                return r;
        return follow(c, TAKE_PTR(s), last);
}
