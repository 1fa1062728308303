/* Unit tests: the leader lease (schema 6) on either backend (store-url.h):
 * taken, renewed, refused while another holds it, taken over when it
 * expired with a higher fencing token, and raced for by several processes. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"
#include "util/macro.h"

#include "store-tmp.h"
#include "store-url.h"

static void busy_as(struct hp_store *s, const char *me, const char *holder)
{
        int64_t token = -1;
        char *who = NULL;

        assert_int_equal(hp_store_leader_acquire(s, me, 60000, &token, &who), -EBUSY);
        assert_int_equal(token, -1);
        assert_non_null(who);
        assert_string_equal(who, holder);
        free(who);
}

static void test_take_renew(void **state)
{
        _cleanup_free_ char *path = store_new("leader");
        _cleanup_(hp_store_closep) struct hp_store *a = open_ok(path);
        _cleanup_(hp_store_closep) struct hp_store *b = open_ok(path);
        int64_t t1 = 0, t2 = 0;
        char *who = NULL;

        (void)state;
        /* Free at first: taken with token 1, renewed with the same. */
        assert_int_equal(hp_store_leader_acquire(a, "ctl-a", 60000, &t1, &who), 0);
        assert_int_equal(t1, 1);
        assert_int_equal(hp_store_leader_acquire(a, "ctl-a", 60000, &t2, &who), 0);
        assert_int_equal(t2, 1);
        assert_null(who);
        /* Another controller, on another connection, is refused and told who. */
        busy_as(b, "ctl-b", "ctl-a");
        busy_as(a, "ctl-b", "ctl-a");
        /* The holder renews from another connection too: it is the name that holds. */
        assert_int_equal(hp_store_leader_acquire(b, "ctl-a", 60000, &t2, NULL), 0);
        assert_int_equal(t2, 1);
        /* NULL for the holder's name is allowed, the token is not. */
        assert_int_equal(hp_store_leader_acquire(b, "ctl-b", 60000, &t2, NULL), -EBUSY);
        assert_int_equal(hp_store_leader_acquire(b, "ctl-b", 60000, NULL, NULL), -EINVAL);
        assert_int_equal(hp_store_leader_acquire(b, "bad name", 60000, &t2, NULL), -EINVAL);
        assert_int_equal(hp_store_leader_acquire(b, "ctl-b", 0, &t2, NULL), -EINVAL);
        assert_int_equal(hp_store_leader_acquire(b, "ctl-b", -5, &t2, NULL), -EINVAL);
        assert_int_equal(raw_int_any(path, "SELECT count(*) FROM leader"), 1);
}

/* A lease that expired is taken over with a higher token; the old holder
 * is refused until the new one's expires too. */
static void test_takeover(void **state)
{
        _cleanup_free_ char *path = store_new("takeover");
        _cleanup_(hp_store_closep) struct hp_store *a = open_ok(path);
        _cleanup_(hp_store_closep) struct hp_store *b = open_ok(path);
        int64_t ta = 0, tb = 0, t = 0;

        (void)state;
        assert_int_equal(hp_store_leader_acquire(a, "ctl-a", 200, &ta, NULL), 0);
        busy_as(b, "ctl-b", "ctl-a");
        usleep(400 * 1000);
        assert_int_equal(hp_store_leader_acquire(b, "ctl-b", 200, &tb, NULL), 0);
        assert_true(tb > ta);
        busy_as(a, "ctl-a", "ctl-b");
        usleep(400 * 1000);
        /* The old holder comes back after it: a token higher still. */
        assert_int_equal(hp_store_leader_acquire(a, "ctl-a", 60000, &t, NULL), 0);
        assert_true(t > tb);
        /* Inside a transaction that is rolled back, nothing changes. */
        assert_int_equal(hp_store_begin(b), 0);
        busy_as(b, "ctl-b", "ctl-a");
        assert_int_equal(hp_store_rollback(b), 0);
        assert_int_equal(raw_int_any(path, "SELECT token FROM leader"), t);
}

static int take_child(size_t i, void *arg)
{
        char me[16], *who = NULL;
        struct hp_store *s = NULL;
        int64_t token = 0;
        int r;

        snprintf(me, sizeof(me), "ctl-%zu", i);
        if (hp_store_open(arg, &s, NULL) < 0)
                return 10;
        r = hp_store_leader_acquire(s, me, 60000, &token, &who);
        hp_store_close(s);
        if (r == 0)
                return token == 1 ? 0 : 11;
        if (r == -EBUSY && who && strncmp(who, "ctl-", 4) == 0 && strcmp(who, me) != 0) {
                free(who);
                return 1;
        }
        return 20;
}

/* Four controllers race for a free lease: one takes it, the others are told who. */
static void test_race(void **state)
{
        _cleanup_free_ char *path = store_new("leader_race");
        struct hp_store *s = open_ok(path);
        pid_t pids[4];
        int go[2], won = 0, refused = 0, status;
        char byte;

        (void)state;
        hp_store_close(s); /* no store open across fork */
        assert_int_equal(pipe2(go, O_CLOEXEC), 0);
        for (size_t i = 0; i < ELEMENTSOF(pids); i++) {
                pids[i] = fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0) {
                        close(go[1]);
                        _exit(read(go[0], &byte, 1) == 0 ? take_child(i, path) : 99);
                }
        }
        close(go[0]);
        usleep(100 * 1000);
        close(go[1]);
        for (size_t i = 0; i < ELEMENTSOF(pids); i++) {
                assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
                assert_true(WIFEXITED(status));
                won += WEXITSTATUS(status) == 0;
                refused += WEXITSTATUS(status) == 1;
        }
        assert_int_equal(won, 1);
        assert_int_equal(refused, ELEMENTSOF(pids) - 1);
        assert_int_equal(raw_int_any(path, "SELECT token FROM leader"), 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_take_renew),
                cmocka_unit_test(test_takeover),
                cmocka_unit_test(test_race),
        };

        return run_store_tests("store-leader", NULL, 0, tests, ELEMENTSOF(tests));
}
