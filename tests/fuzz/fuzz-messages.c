/* libFuzzer target: a message between an agent and a controller (a join or
 * heartbeat body, or a heartbeat's answer) as the controller's message
 * code reads it: the protocol check (hp_ctl_protocol_check), each device
 * configuration in "configs" and "devices" (hp_ctl_config_from_json), the
 * same bytes as a host's stored report (hp_ctl_report_parse,
 * hp_ctl_report_memory), and the configurations read as the cluster's rows
 * of that host against the report (hp_ctl_host_devs_make: the candidates
 * placement takes).
 *
 * Beyond crashes and leaks it checks: the protocol check passes exactly
 * the protocols this controller speaks and otherwise says who must
 * upgrade; a configuration that reads is written as a document that reads
 * to the same document, with its attributes sorted by key, and copies to
 * the same; the report cache gives the text's own parse, the same one
 * again for the same text; and the candidates are the rows the report
 * lists, in row order, with the row's settings and the report's place. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl-internal.h"
#include "ctl/ctl.h"
#include "ops/ops.h"
#include "store/store.h"
#include "util/macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROWS_MAX 64
#define HOST     "gpu-03"

static void check_protocol(json_t *body)
{
        json_t *p = json_object_get(body, "protocol");
        json_int_t v = json_is_integer(p) ? json_integer_value(p) : -1;
        struct hp_ops_ctx c = { 0 };
        int r = hp_ctl_protocol_check(&c, body, "the agent on " HOST);

        if (v >= HP_CLUSTER_PROTOCOL_MIN && v <= HP_CLUSTER_PROTOCOL) {
                if (r != 0 || c.error.message)
                        abort();
        } else if (r >= 0 || !c.error.message || !strstr(c.error.message, "the agent on " HOST) ||
                   c.error.kind != (v >= 0 ? HP_OP_VERSION : HP_OP_INVALID)) {
                abort();
        }
        hp_op_error_done(&c.error);
}

static size_t key_len(const char *attr)
{
        return strcspn(attr, "=");
}

/* by key, as the store gives them */
static void check_sorted(char *const *attrs)
{
        for (size_t i = 0; attrs[i] && attrs[i + 1]; i++) {
                size_t a = key_len(attrs[i]), b = key_len(attrs[i + 1]);
                int c = memcmp(attrs[i], attrs[i + 1], a < b ? a : b);

                if (c > 0 || (c == 0 && a > b))
                        abort();
        }
}

/* j read as a configuration: 0 with *ret, or -EINVAL. */
static int check_config(json_t *j, struct hp_dev_config *ret)
{
        _cleanup_(hp_dev_config_done) struct hp_dev_config d = { 0 }, again = { 0 }, copy = { 0 };
        _cleanup_(json_decrefp) json_t *doc = NULL, *doc2 = NULL, *doc3 = NULL;
        int r = hp_ctl_config_from_json(j, &d);

        if (r < 0) {
                if (r != -EINVAL && r != -ENOMEM)
                        abort();
                return r;
        }
        if (!d.health || !d.attrs || strlen(d.address) >= sizeof(d.address))
                abort();
        check_sorted(d.attrs);
        doc = hp_ctl_config_to_json(&d);
        if (!doc || hp_ctl_config_from_json(doc, &again) < 0)
                abort();
        doc2 = hp_ctl_config_to_json(&again);
        if (!doc2 || !json_equal(doc, doc2))
                abort();
        if (hp_dev_config_copy(&d, &copy) < 0)
                return -ENOMEM;
        doc3 = hp_ctl_config_to_json(&copy);
        if (!doc3 || !json_equal(doc, doc3))
                abort();
        *ret = d;
        d = (struct hp_dev_config){ 0 };
        return 0;
}

/* The configurations in body[key] that read, appended to rows. */
static void read_configs(json_t *body, const char *key, struct hp_dev_config *rows, size_t *n)
{
        json_t *j;
        size_t i;

        json_array_foreach (json_object_get(body, key), i, j)
                if (*n < ROWS_MAX && check_config(j, &rows[*n]) == 0)
                        (*n)++;
}

/* The report's first document of address, or NULL. */
static json_t *reported(json_t *report, const char *address)
{
        json_t *d;
        size_t i;

        json_array_foreach (json_object_get(report, "devices"), i, d) {
                const char *a = json_string_value(json_object_get(d, "address"));

                if (a && streq(a, address))
                        return d;
        }
        return NULL;
}

/* The candidates: the rows the report has a document of, in order. */
static void check_candidates(const struct hp_ctl_host_devs *h)
{
        size_t k = 0;

        for (size_t i = 0; i < h->n_rows; i++) {
                const struct hp_dev_config *row = &h->rows[i];
                const struct hp_alloc_candidate *c = &h->cands[k];
                json_t *doc = reported(h->report, row->address), *numa;
                bool active;

                if (!doc)
                        continue;
                if (k++ >= h->n)
                        abort();
                numa = json_object_get(doc, "numa_node");
                active = json_is_true(
                        json_object_get(json_object_get(doc, "passthrough"), "active"));
                if (c->dev != &h->devs[k - 1] || !streq(c->dev->address, row->address) ||
                    c->dev->vendor_id != row->vendor_id || c->dev->device_id != row->device_id ||
                    c->label != row->label || c->attrs != row->attrs ||
                    c->assigned_vm != row->assigned_vm || c->passthrough_desired != row->desired ||
                    c->passthrough_active != (row->desired && active) ||
                    c->quarantined != !streq(row->health, "ok") ||
                    c->dev->numa_node !=
                            (json_is_integer(numa) ? (int)json_integer_value(numa) : -1) ||
                    strlen(c->dev->pcie_switch) >= sizeof(c->dev->pcie_switch))
                        abort();
        }
        if (k != h->n)
                abort();
}

static void check_inventory(json_t *body, struct hp_dev_config *rows, size_t n)
{
        _cleanup_(hp_ctl_host_devs_done) struct hp_ctl_host_devs h = { 0 };
        struct hp_store_inventory inv = { .host = (char *)HOST, .rows = rows, .n_rows = n };

        /* Takes the rows and the report. */
        if (hp_ctl_host_devs_make(&inv, json_incref(body), &h) < 0)
                return;
        if (inv.rows || h.n > h.n_rows)
                abort();
        check_candidates(&h);
}

/* The bytes as the text of host's stored report. */
static void check_report(const char *text)
{
        _cleanup_(json_decrefp) json_t *doc = hp_ctl_report_parse(HOST, text, 0), *again = NULL,
                                       *want = NULL;
        json_t *mib;

        want = json_loads(text, 0, NULL);
        if (!doc != !want || (doc && !json_equal(doc, want)))
                abort();
        if (!doc)
                return;
        again = hp_ctl_report_parse(HOST, text, 0);
        if (again != doc)
                abort();
        mib = json_object_get(json_object_get(doc, "memory"), "available_mib");
        if (hp_ctl_report_memory(doc) !=
            (json_is_integer(mib) ? (uint64_t)json_integer_value(mib) : HP_PLACE_MEMORY_UNKNOWN))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(json_decrefp) json_t *body = json_loadb((const char *)data, size, 0, NULL);
        _cleanup_free_ char *text = malloc(size + 1);
        struct hp_dev_config *rows;
        size_t n = 0;

        if (text) {
                memcpy(text, data, size);
                text[size] = '\0';
                check_report(text);
        }
        if (!body)
                return 0;
        check_protocol(body);
        rows = calloc(ROWS_MAX, sizeof(*rows));
        if (!rows)
                return 0;
        read_configs(body, "configs", rows, &n);
        read_configs(body, "devices", rows, &n);
        check_inventory(body, rows, n);
        return 0;
}
