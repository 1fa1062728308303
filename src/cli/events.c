/* hwpass events: the store's event log (who did what, device and VM state
 * changes, failures), oldest first; through a cluster's controller
 * (--controller), the cluster's, each event with the host it concerns
 * (--host NAME: that host's only). */
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

/* Text: a line per event, with its host's column through a controller;
 * --json --follow: a JSON object per line. Takes doc ({"events": [...]}). */
static int print_events(json_t *doc, bool json_lines, bool show_host)
{
        _cleanup_(json_decrefp) json_t *owned = doc;
        json_t *ev;
        size_t i;

        if (!doc)
                return hp_cli_error(-ENOMEM, "cannot build the output");
        json_array_foreach(json_object_get(doc, "events"), i, ev) {
                char when[32];
                time_t t = (time_t)json_integer_value(json_object_get(ev, "at"));
                const char *subject = hp_cli_str(ev, "subject"), *actor = hp_cli_str(ev, "actor"),
                           *message = hp_cli_str(ev, "message"), *host = hp_cli_str(ev, "host");
                struct tm tm;

                if (json_lines) {
                        _cleanup_free_ char *line = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);

                        if (!line)
                                return hp_cli_error(-ENOMEM, "cannot build the JSON output");
                        puts(line);
                        continue;
                }
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime_r(&t, &tm));
                printf("%6" PRId64 "  %s  ", (int64_t)json_integer_value(json_object_get(ev, "id")), when);
                if (show_host)
                        printf("%-14s ", host ? host : "-");
                printf("%-20s %-14s %-18s %s\n", hp_cli_str(ev, "kind") ?: "?", subject ? subject : "-",
                       actor ? actor : "-", message ? message : "");
        }
        return fflush(stdout) == 0 ? HP_EXIT_OK : hp_cli_error(-EIO, "cannot write the output");
}

/* The events after since from the cluster's controller (--host: to_controller adds it). */
static int controller_events(struct hp_cli *c, int64_t since, uint64_t limit, json_t **ret)
{
        char path[128];

        snprintf(path, sizeof(path), "/v1/events?since=%" PRId64 "&limit=%" PRIu64, since, limit);
        return hp_cli_daemon_call(c, "GET", path, NULL, ret);
}

/* The id of the last event of doc, or last when it has none. */
static int64_t last_id(json_t *doc, int64_t last)
{
        json_t *list = json_object_get(doc, "events");
        size_t n = json_array_size(list);

        return n ? (int64_t)json_integer_value(json_object_get(json_array_get(list, n - 1), "id")) : last;
}

/* --follow: new events as they are recorded, until interrupted. The store
 * is asked four times a second (an indexed look past the last id), a
 * controller once a second. Takes s. */
static int follow(struct hp_cli *c, struct hp_store *s, int64_t last)
{
        _cleanup_(hp_store_closep) struct hp_store *opened = s;

        for (;;) {
                struct hp_event *e = NULL;
                json_t *doc = NULL;
                size_t n = 0;
                int r;

                nanosleep(&(struct timespec){ .tv_sec = c->controller ? 1 : 0,
                                              .tv_nsec = c->controller ? 0 : 250 * 1000 * 1000 },
                          NULL);
                if (c->controller) {
                        r = controller_events(c, last, 1000, &doc);
                        if (r != HP_EXIT_OK)
                                return r;
                } else {
                        if (!s) { /* no store yet: wait for the first write */
                                if (hp_store_open_readonly(c->db_path, &opened, NULL) < 0)
                                        continue;
                                s = opened;
                        }
                        r = hp_store_event_list(s, last, 1000, &e, &n);
                        if (r < 0)
                                return hp_cli_error(r, "cannot read the events in '%s'", c->db_path);
                        doc = hp_json_events(e, n);
                        hp_events_free(e, n);
                }
                last = last_id(doc, last);
                r = print_events(doc, c->json, c->controller != NULL);
                if (r != HP_EXIT_OK)
                        return r;
        }
}

/* The first answer: the newest limit events after since, from the store or
 * the controller. *ret_store: the store, open for --follow (NULL when there
 * is none yet, or through a controller). An exit code. */
static int first_events(struct hp_cli *c, int64_t since, uint64_t limit, json_t **ret,
                        struct hp_store **ret_store)
{
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        _cleanup_free_ char *err = NULL;
        struct hp_event *e = NULL;
        size_t n = 0;
        int r;

        *ret_store = NULL;
        if (c->controller)
                return controller_events(c, since, limit, ret);
        r = hp_store_open_readonly(c->db_path, &s, &err);
        if (r == -ENOENT) {
                *ret = hp_json_events(NULL, 0);
                return HP_EXIT_OK;
        }
        if (r < 0) {
                hp_cli_message("%s", err ? err : "cannot open the store");
                return HP_EXIT_ERROR;
        }
        r = hp_store_event_list(s, since, (size_t)limit, &e, &n);
        if (r < 0)
                return hp_cli_error(r, "cannot read the events in '%s'", c->db_path);
        *ret = hp_json_events(e, n);
        hp_events_free(e, n);
        *ret_store = TAKE_PTR(s);
        return HP_EXIT_OK;
}

int hp_cmd_events(struct hp_cli *c, int argc, char **argv)
{
        struct hp_store *s = NULL;
        json_t *doc = NULL;
        uint64_t since = 0, limit = 50;
        bool follow_on = false;
        const char *val;
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
        r = first_events(c, (int64_t)since, limit, &doc, &s);
        if (r != HP_EXIT_OK) {
                hp_store_close(s);
                return r;
        }
        last = last_id(doc, (int64_t)since);
        if (c->json && !follow_on)
                r = hp_cli_print_json(doc);
        else
                r = print_events(doc, c->json, c->controller != NULL);
        if (r != HP_EXIT_OK || !follow_on) {
                hp_store_close(s);
                return r;
        }
        return follow(c, s, last);
}
