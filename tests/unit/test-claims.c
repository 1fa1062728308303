/* Unit tests: writes that share one commit. hp_store_sub() undoes a failed
 * part of a transaction and keeps the rest; hp_ctl_claim() commits the
 * claims of many threads together, each with its own result and its own
 * actor on its events, none lost and none half-done. On either backend
 * (store-url.h). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "ctl/ctl-internal.h"
#include "ops/ops.h"
#include "store/store.h"
#include "util/macro.h"

#include "store-tmp.h"
#include "store-url.h"

struct part {
        const char *vm;
        int result; /* what the part returns after its writes */
};

/* A VM and an event about it, then the part's result: a failure must take both back. */
static int part_fn(struct hp_store *s, void *userdata)
{
        const struct part *p = userdata;
        int r = hp_store_cluster_vm_create(s, p->vm, NULL, "{}");

        if (r >= 0)
                r = hp_store_event_add(s, "claimed", p->vm, NULL);
        return r < 0 ? r : p->result;
}

static bool has_vm(struct hp_store *s, const char *name)
{
        struct hp_cluster_vm v = { 0 };
        int r = hp_store_cluster_vm_get(s, name, &v);

        hp_cluster_vm_done(&v);
        assert_true(r == 0 || r == -ENOENT);
        return r == 0;
}

/* The actor of the one "claimed" event about vm; NULL when there is none. */
static char *claimed_by(struct hp_store *s, const char *vm)
{
        struct hp_event *e = NULL;
        size_t n = 0, found = 0;
        char *actor = NULL;

        assert_int_equal(hp_store_event_list(s, 0, 100000, &e, &n), 0);
        for (size_t i = 0; i < n; i++)
                if (!strcmp(e[i].kind, "claimed") && e[i].subject && !strcmp(e[i].subject, vm)) {
                        found++;
                        actor = e[i].actor ? strdup(e[i].actor) : strdup("");
                }
        hp_events_free(e, n);
        assert_true(found <= 1);
        return actor;
}

static void test_sub(void **state)
{
        _cleanup_free_ char *path = store_new("sub");
        struct hp_store *s = open_ok(path);
        struct part ok1 = { "one", 0 }, bad = { "two", -EADDRINUSE }, ok2 = { "three", 0 };

        (void)state;
        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_sub(s, part_fn, &ok1), 0);
        assert_int_equal(hp_store_sub(s, part_fn, &bad), -EADDRINUSE);
        assert_int_equal(hp_store_sub(s, part_fn, &ok2), 0);
        /* A part that fails inside: the VM "one" exists already. */
        assert_int_equal(hp_store_sub(s, part_fn, &ok1), -EEXIST);
        assert_int_equal(hp_store_commit(s), 0);
        assert_true(has_vm(s, "one"));
        assert_false(has_vm(s, "two"));
        assert_true(has_vm(s, "three"));
        free(claimed_by(s, "one"));
        assert_null(claimed_by(s, "two"));
        /* Outside a transaction there is nothing to be part of. */
        assert_int_equal(hp_store_sub(s, part_fn, &ok2), -EINVAL);
        hp_store_close(s);
}

#define THREADS 6
#define CLAIMS 12

struct racer {
        const char *path;
        int index;
        int results[CLAIMS];
};

static void *racer(void *userdata)
{
        struct racer *r = userdata;
        char actor[32], names[CLAIMS][32];
        struct hp_ops_ctx c = { .actor = actor };
        struct hp_store *s = open_ok(r->path);

        snprintf(actor, sizeof(actor), "token t%d", r->index);
        assert_int_equal(hp_store_set_actor(s, actor), 0);
        for (int k = 0; k < CLAIMS; k++) {
                struct part p = { names[k], k % 3 == 1 ? -EADDRINUSE : 0 };

                snprintf(names[k], sizeof(names[k]), "vm-%d-%d", r->index, k);
                r->results[k] = hp_ctl_claim(&c, s, part_fn, &p);
        }
        hp_store_close(s);
        return NULL;
}

/* Threads claim at once: each claim's result is its own, what failed left
 * nothing, what worked is there with its caller's actor. */
static void test_claims_together(void **state)
{
        _cleanup_free_ char *path = store_new("together");
        struct racer racers[THREADS];
        pthread_t t[THREADS];
        struct hp_store *s;

        (void)state;
        hp_store_close(open_ok(path)); /* made before the racers open it */
        for (int i = 0; i < THREADS; i++) {
                racers[i] = (struct racer){ .path = path, .index = i };
                assert_int_equal(pthread_create(&t[i], NULL, racer, &racers[i]), 0);
        }
        for (int i = 0; i < THREADS; i++)
                assert_int_equal(pthread_join(t[i], NULL), 0);
        s = open_ok(path);
        for (int i = 0; i < THREADS; i++)
                for (int k = 0; k < CLAIMS; k++) {
                        char name[32], want[32];
                        bool fails = k % 3 == 1;
                        _cleanup_free_ char *actor = NULL;

                        snprintf(name, sizeof(name), "vm-%d-%d", i, k);
                        snprintf(want, sizeof(want), "token t%d", i);
                        assert_int_equal(racers[i].results[k], fails ? -EADDRINUSE : 0);
                        assert_int_equal(has_vm(s, name), !fails);
                        actor = claimed_by(s, name);
                        if (fails) {
                                assert_null(actor);
                        } else {
                                assert_non_null(actor);
                                assert_string_equal(actor, want);
                        }
                }
        hp_store_close(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sub),
                cmocka_unit_test(test_claims_together),
        };

        return run_store_tests("claims", NULL, 0, tests, ELEMENTSOF(tests));
}
