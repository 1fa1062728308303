/* Unit tests: the controller's picture of the cluster (ctl/model.c)
 * against a store on either backend (store-url.h), with hosts the test
 * makes itself and no agents: a picture loaded again while claims picked
 * from the last one are in flight (not in the store yet) still has their
 * devices taken; committed, the store has them; a claim that did not
 * commit gives its device back; what the store says is taken stays taken. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "alloc/select.h"
#include "ctl/ctl-internal.h"
#include "store/store.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm/spec.h"
#include "vm/specjson.h"

#include "store-tmp.h"
#include "store-url.h"

#define HOSTS 3
#define VFS   4
#include "cluster-host.h"

struct picker {
        struct hp_vm_spec spec;
        struct hp_vm_pci *dyn;
        size_t n_dyn;
};

static void picker_done(struct picker *p)
{
        free(p->dyn);
        hp_vm_spec_done(&p->spec);
}

/* One VF of any host: what every pick here asks for. */
static void picker_init(struct picker *p)
{
        _cleanup_free_ char *err = NULL;

        if (hp_vm_spec_from_document(
                    "{\"name\": \"vm\", \"memory_mib\": 64, \"vcpus\": 1, \"pci\": [{\"index\": 0, "
                    "\"kind\": \"dynamic\", \"allowed\": [\"15b3:101c\"]}]}",
                    &p->spec, &err) < 0)
                fail_msg("%s", err);
        assert_int_equal(
                hp_alloc_dynamic_entries(p->spec.pci, p->spec.n_pci, &p->dyn, NULL, &p->n_dyn), 0);
}

/* The claim of pick, committed as a power-on's is: VM name placed on the
 * pick's host with its devices. */
static void commit(struct hp_store *s, struct hp_ctl_model_pick *pick, size_t i)
{
        char name[16], spec[96];
        int64_t epoch = 0;

        snprintf(name, sizeof(name), "vm%zu", i);
        snprintf(spec, sizeof(spec), "{\"name\": \"%s\", \"memory_mib\": 64, \"vcpus\": 1}", name);
        assert_int_equal(hp_store_cluster_vm_create(s, name, NULL, spec), 0);
        assert_int_equal(hp_store_vm_place(s, name, pick->host, &epoch), 0);
        assert_int_equal(hp_store_set_host(s, pick->host), 0);
        assert_int_equal(hp_store_assign_devices(s, name, pick->addrs, 1, NULL), 0);
        assert_int_equal(hp_store_set_host(s, HP_STORE_LOCAL_HOST), 0);
        hp_ctl_model_claimed(pick, true);
}

/* A pick from a picture loaded again from the store first: "host/address". */
static char *pick_fresh(struct hp_store *s, const char *db, struct picker *p,
                        struct hp_ctl_model_pick *ret)
{
        struct hp_place_vm vm = {
                .name = "vm", .memory_mib = 64, .pci = p->dyn, .n_pci = p->n_dyn
        };
        char *key = NULL;

        hp_ctl_model_stale();
        assert_int_equal(hp_ctl_model_pick(s, db, &vm, HP_PLACE_PERFORMANCE, ret), 1);
        assert_non_null(ret->addrs);
        assert_non_null(ret->addrs[0]);
        assert_null(ret->addrs[1]);
        assert_true(asprintf(&key, "%s/%s", ret->host, ret->addrs[0]) > 0);
        return key;
}

static void test_inflight(void **state)
{
        _cleanup_free_ char *path = store_new("inflight");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        _cleanup_(picker_done) struct picker p = { 0 };
        _cleanup_strv_free_ char **seen = NULL;
        struct hp_ctl_model_pick picks[HOSTS * VFS] = { 0 }, back = { 0 };
        _cleanup_free_ char *again = NULL;
        size_t n = 0;

        (void)state;
        picker_init(&p);
        for (int h = 0; h < HOSTS; h++) {
                char name[8];

                snprintf(name, sizeof(name), "h%d", h + 1);
                host_with_vfs(s, name);
        }
        /* Half the VFs picked, each from a picture loaded again, none in the
         * store: in flight, each is still taken. A picture that forgot them
         * hands the first host's VFs out again (it has the most free). */
        for (; n < HOSTS * VFS / 2; n++) {
                _cleanup_free_ char *key = pick_fresh(s, path, &p, &picks[n]);

                assert_false(hp_strv_contains(seen, key));
                assert_int_equal(hp_strv_push(&seen, key), 0);
        }
        assert_int_equal(hp_ctl_model_inflight_count(), n);
        /* Committed: the store has them, and with no load of the picture
         * running, a load from now on reads them there: none is listed. */
        for (size_t i = 0; i < n; i++)
                commit(s, &picks[i], i);
        assert_int_equal(hp_ctl_model_inflight_count(), 0);
        for (; n < HOSTS * VFS - 2; n++) {
                _cleanup_free_ char *key = pick_fresh(s, path, &p, &picks[n]);

                assert_false(hp_strv_contains(seen, key));
                assert_int_equal(hp_strv_push(&seen, key), 0);
                commit(s, &picks[n], n);
        }
        /* Two VFs left, on two hosts. One claim that did not commit gives
         * its VF back: picked again. */
        again = pick_fresh(s, path, &p, &back);
        assert_false(hp_strv_contains(seen, again));
        hp_ctl_model_claimed(&back, false);
        hp_ctl_model_pick_done(&back);
        {
                _cleanup_free_ char *key = pick_fresh(s, path, &p, &back);

                assert_string_equal(key, again);
                hp_ctl_model_pick_done(&back);
        }
        for (size_t i = 0; i < n; i++)
                hp_ctl_model_pick_done(&picks[i]);
}

/* A VF the store says another VM holds is never picked. */
static void test_store_taken(void **state)
{
        _cleanup_free_ char *path = store_new("taken");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        _cleanup_(picker_done) struct picker p = { 0 };
        char *held[] = { "0000:05:00.0", "0000:05:00.1", "0000:05:00.2", NULL };
        int64_t epoch = 0;

        (void)state;
        picker_init(&p);
        host_with_vfs(s, "h1");
        host_with_vfs(s, "h2");
        assert_int_equal(hp_store_cluster_vm_create(s, "other", NULL,
                                                    "{\"name\": \"other\", \"memory_mib\": 64, "
                                                    "\"vcpus\": 1}"),
                         0);
        assert_int_equal(hp_store_vm_place(s, "other", "h1", &epoch), 0);
        assert_int_equal(hp_store_set_host(s, "h1"), 0);
        assert_int_equal(hp_store_assign_devices(s, "other", held, 3, NULL), 0);
        assert_int_equal(hp_store_set_host(s, HP_STORE_LOCAL_HOST), 0);
        for (int i = 0; i < 10; i++) {
                struct hp_ctl_model_pick pick = { 0 };
                _cleanup_free_ char *key = pick_fresh(s, path, &p, &pick);

                /* h2 has the most free: spread picks it, and never a held one on h1. */
                assert_string_equal(pick.host, "h2");
                hp_ctl_model_claimed(&pick, false);
                hp_ctl_model_pick_done(&pick);
        }
}

/* A host's report is parsed once per text: the same text again is the
 * same document; a new text is parsed, and the old document stays whole
 * for whoever holds it; a damaged one reports nothing. */
/* A device's settings as a heartbeat carries them: attribute keys are
 * those 'device attr' takes, so "a=b": "c" cannot pass for "a": "b=c". */
static void test_config_attr_keys(void **state)
{
        static const char *const bad[] = { "{\"a=b\": \"c\"}", "{\"Zone\": \"b\"}", "{\"\": \"b\"}",
                                           "{\"zone\": 1}" };
#define CONFIG                                                                                     \
        "{\"address\": \"0000:01:00.0\", \"vendor_id\": \"10de\", \"device_id\": \"2204\", "       \
        "\"subsystem_vendor_id\": \"0000\", \"subsystem_device_id\": \"0000\", "                    \
        "\"desired\": true, \"attributes\": %s}"
        _cleanup_(json_decrefp) json_t *good = NULL;
        struct hp_dev_config d = { 0 };
        char doc[512];

        (void)state;
        snprintf(doc, sizeof(doc), CONFIG, "{\"zone\": \"b\", \"rack\": \"r=1\"}");
        good = json_loads(doc, 0, NULL);
        assert_non_null(good);
        assert_int_equal(hp_ctl_config_from_json(good, &d), 0);
        assert_string_equal(d.attrs[0], "rack=r=1");
        assert_string_equal(d.attrs[1], "zone=b");
        assert_null(d.attrs[2]);
        hp_dev_config_done(&d);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(json_decrefp) json_t *j = NULL;

                snprintf(doc, sizeof(doc), CONFIG, bad[i]);
                j = json_loads(doc, 0, NULL);
                assert_non_null(j);
                assert_int_equal(hp_ctl_config_from_json(j, &d), -EINVAL);
        }
}

static void test_report_parsed_once(void **state)
{
        json_t *a, *b, *c, *d;

        (void)state;
        a = hp_ctl_report_parse("h1", "{\"devices\": [], \"memory\": {\"available_mib\": 512}}", 0);
        b = hp_ctl_report_parse("h1", "{\"devices\": [], \"memory\": {\"available_mib\": 512}}", 0);
        assert_non_null(a);
        assert_ptr_equal(a, b);
        json_decref(b);
        /* Another host's same text is its own. */
        b = hp_ctl_report_parse("h0", "{\"devices\": [], \"memory\": {\"available_mib\": 512}}", 0);
        assert_non_null(b);
        assert_ptr_not_equal(a, b);
        json_decref(b);
        c = hp_ctl_report_parse("h1", "{\"devices\": [], \"memory\": {\"available_mib\": 256}}", 0);
        assert_ptr_not_equal(a, c);
        assert_int_equal(hp_ctl_report_memory(c), 256);
        assert_int_equal(hp_ctl_report_memory(a), 512);
        json_decref(a);
        d = hp_ctl_report_parse("h1", "{\"devices\": [], \"memory\": {\"available_mib\": 256}}", 0);
        assert_ptr_equal(c, d);
        json_decref(c);
        json_decref(d);
        assert_null(hp_ctl_report_parse("h1", "{\"devices\": [", 0));
        assert_null(hp_ctl_report_parse("h1", NULL, 0));
}

/* host's report as the picture would load it now: the parsed document. */
static json_t *loaded_report(struct hp_store *s, const char *host, bool *ret_kept)
{
        _cleanup_(hp_ctl_host_devs_done) struct hp_ctl_host_devs devs = { 0 };
        struct hp_store_inventory *inv = NULL;
        size_t n = 0;

        assert_int_equal(hp_ctl_inventories_load(s, &inv, &n), 0);
        *ret_kept = false;
        for (size_t i = 0; i < n; i++)
                if (streq(inv[i].host, host))
                        *ret_kept = inv[i].report_kept;
        assert_int_equal(hp_ctl_host_devs_from(inv, n, host, &devs), 0);
        assert_int_equal(devs.n, VFS);
        hp_store_inventories_free(inv, n);
        return json_incref(devs.report);
}

/* The picture's loads read a host's report from the store only when it is
 * not the one they read last, and parse it only then. */
static void test_report_read_once(void **state)
{
        _cleanup_free_ char *path = store_new("read_once");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        _cleanup_free_ char *text = NULL;
        _cleanup_(json_decrefp) json_t *copy = NULL;
        json_t *a, *b, *c;
        bool kept;

        (void)state;
        host_with_vfs(s, "h7");
        a = loaded_report(s, "h7", &kept);
        b = loaded_report(s, "h7", &kept);
        assert_true(kept);
        assert_ptr_equal(a, b);
        json_decref(b);
        /* The host reports again: read and parsed anew. */
        copy = json_deep_copy(a); /* the parsed one is shared: never changed */
        json_object_set_new(json_object_get(copy, "memory"), "available_mib", json_integer(77));
        text = json_dumps(copy, JSON_COMPACT);
        usleep(5000);
        assert_int_equal(hp_store_host_report(s, "h7", text), 0);
        c = loaded_report(s, "h7", &kept);
        assert_false(kept);
        assert_ptr_not_equal(a, c);
        assert_int_equal(hp_ctl_report_memory(c), 77);
        json_decref(a);
        json_decref(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_inflight),
                cmocka_unit_test(test_store_taken),
                cmocka_unit_test(test_config_attr_keys),
                cmocka_unit_test(test_report_parsed_once),
                cmocka_unit_test(test_report_read_once),
        };

        return run_store_tests("model", NULL, 0, tests, ELEMENTSOF(tests));
}
