/* Unit tests: the store when another connection holds what a call needs:
 * the busy timeout, waiting, giving up with -EBUSY, on either backend
 * (store-url.h). */
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"
#include "util/macro.h"

#include "store-tmp.h"
#include "store-config.h"
#include "store-url.h"
#include "util/strutil.h"


static double now_s(void)
{
        struct timespec ts;

        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The default wait is 5 s; the test shortens it with hp_store_set_busy_timeout()
 * and checks that the put did wait that long before giving up. */
static void test_busy(void **state)
{
        _cleanup_free_ char *path = store_new("busy");
        const char *const attrs[] = {"a=1", NULL};
        const char *const other[] = {"b=2", NULL};
        struct hp_dev_config c, c2, got = {0};
        struct hp_store *s, *writer, *reader = NULL;
        double t0, waited;

        (void)state;
        s = open_ok(path);
        config_fill(&c, "0000:0b:00.0", "before", attrs);
        assert_int_equal(hp_store_device_put(s, &c), 0);

        writer = open_ok(path); /* opens while nobody writes */
        assert_int_equal(hp_store_begin(writer), 0);
        assert_int_equal(hp_store_device_delete(writer, "0000:0b:00.0"), 0);

        assert_int_equal(hp_store_set_busy_timeout(s, 300), 0);
        config_fill(&c2, "0000:0b:00.0", "after", other);
        t0 = now_s();
        assert_int_equal(hp_store_device_put(s, &c2), -EBUSY);
        waited = now_s() - t0;
        assert_true(waited >= 0.25);
        assert_true(waited < 4.0);
        assert_int_equal(hp_store_device_delete(s, "0000:0b:00.0"), -EBUSY);
        /* SQLite makes every writer wait for the one writer; PostgreSQL only
         * those of the same rows (store.h: how it locks is the backend's). */
        if (!test_on_pg()) {
                assert_int_equal(hp_store_event_add(s, "enable", NULL, NULL), -EBUSY);
                assert_int_equal(hp_store_begin(s), -EBUSY);
                assert_int_equal(hp_store_commit(s), -EINVAL);
        }

        /* Readers go on under WAL and see the last committed state. */
        assert_int_equal(hp_store_device_get(s, "0000:0b:00.0", &got), 0);
        assert_config_equal(&got, &c);
        hp_dev_config_done(&got);
        assert_int_equal(hp_store_open_readonly(path, &reader, NULL), 0);
        assert_int_equal(hp_store_device_get(reader, "0000:0b:00.0", &got), 0);
        assert_string_equal(got.label, "before");
        hp_dev_config_done(&got);
        hp_store_close(reader);

        assert_int_equal(hp_store_rollback(writer), 0);
        hp_store_close(writer);
        assert_int_equal(hp_store_device_put(s, &c2), 0);
        assert_int_equal(hp_store_device_get(s, "0000:0b:00.0", &got), 0);
        assert_config_equal(&got, &c2);
        hp_dev_config_done(&got);
        hp_dev_config_done(&c);
        hp_dev_config_done(&c2);
        hp_store_close(s);
}

/* Another process holds the write lock for a while: with the default timeout
 * a put waits for it and then succeeds. */
static void test_busy_waits(void **state)
{
        _cleanup_free_ char *path = store_new("wait");
        const char *const attrs[] = {"a=1", NULL};
        struct hp_dev_config c, got = {0};
        struct hp_store *s;
        int fds[2], status = -1;
        double t0, waited;
        char byte = 0;
        pid_t pid;

        (void)state;
        s = open_ok(path);
        config_fill(&c, "0000:0c:00.0", "before", attrs);
        assert_int_equal(hp_store_device_put(s, &c), 0);
        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct hp_store *w = NULL;
                int ok = hp_store_open(path, &w, NULL) == 0 && hp_store_begin(w) == 0 &&
                         hp_store_device_delete(w, "0000:0c:00.0") == 0;

                ok = ok && write(fds[1], "x", 1) == 1;
                usleep(600 * 1000);
                ok = ok && hp_store_commit(w) == 0;
                hp_store_close(w);
                _exit(ok ? 0 : 1);
        }
        close(fds[1]);
        assert_int_equal(read(fds[0], &byte, 1), 1);
        close(fds[0]);

        free(c.label);
        c.label = strdup("after");
        t0 = now_s();
        assert_int_equal(hp_store_device_put(s, &c), 0);
        waited = now_s() - t0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_true(waited >= 0.4);
        /* The put came after the other process's delete, so the row is ours. */
        assert_int_equal(hp_store_device_get(s, "0000:0c:00.0", &got), 0);
        assert_config_equal(&got, &c);
        hp_dev_config_done(&got);
        hp_dev_config_done(&c);
        hp_store_close(s);
}

/* A busy timeout set inside a transaction holds after it rolls back. */
static void test_busy_timeout_in_tx(void **state)
{
        _cleanup_free_ char *path = store_new("busytx");
        const char *const attrs[] = {"a=1", NULL};
        struct hp_dev_config c;
        struct hp_store *s, *writer;
        double t0, waited;

        (void)state;
        s = open_ok(path);
        config_fill(&c, "0000:0e:00.0", "before", attrs);
        assert_int_equal(hp_store_device_put(s, &c), 0);
        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_set_busy_timeout(s, 200), 0);
        assert_int_equal(hp_store_rollback(s), 0);

        writer = open_ok(path);
        assert_int_equal(hp_store_begin(writer), 0);
        assert_int_equal(hp_store_device_delete(writer, "0000:0e:00.0"), 0);
        t0 = now_s();
        assert_int_equal(hp_store_device_put(s, &c), -EBUSY);
        waited = now_s() - t0;
        assert_true(waited >= 0.15);
        assert_true(waited < 3.0); /* not the 5 s default */
        assert_int_equal(hp_store_rollback(writer), 0);
        hp_store_close(writer);
        hp_store_close(s);
        hp_dev_config_done(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_busy),
                cmocka_unit_test(test_busy_waits),
                cmocka_unit_test(test_busy_timeout_in_tx),
        };

        return run_store_tests("store-busy", NULL, 0, tests, ELEMENTSOF(tests));
}
