/* Unit tests: what only the PostgreSQL backend has to show, against a real
 * server (tests/pg-lib.sh run): controllers racing for one device, event ids
 * in commit order under concurrent writers, two processes migrating one
 * database at once, a password that messages never show, and a server that
 * goes away mid-test. Each racer is a process with its own connection. */
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

#include "store/pg-internal.h" /* HP_PG_KEPT_MS */
#include "store/store.h"
#include "util/macro.h"

#include "store-tmp.h"
#include "store-url.h"

#define A    "0000:01:00.0"
#define SPEC "{\"vcpus\":1}"

/* Starts n children that each wait for the parent's go, then run child(i)
 * and exit with what it returns. Their pids go to pids. */
static void start_racers(size_t n, pid_t *pids, int (*child)(size_t i, void *arg), void *arg)
{
        int go[2];
        char byte;

        assert_int_equal(pipe2(go, O_CLOEXEC), 0);
        for (size_t i = 0; i < n; i++) {
                pids[i] = fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0) {
                        close(go[1]);
                        _exit(read(go[0], &byte, 1) == 0 ? child(i, arg) : 99);
                }
        }
        close(go[0]);
        usleep(100 * 1000); /* each is at its read */
        close(go[1]);      /* EOF: all go at once */
}

static int wait_exit(pid_t pid)
{
        int status = -1;

        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static void put_free(struct hp_store *s, const char *address)
{
        struct hp_dev_config c = {0};

        snprintf(c.address, sizeof(c.address), "%s", address);
        c.health = (char *)"ok";
        assert_int_equal(hp_store_device_put(s, &c), 0);
}

struct race {
        const char *url;
        bool in_tx; /* assign inside hp_store_begin() .. commit */
};

/* 0: won; 1: lost to another VM, named; 2: the transaction conflicted and
 * was given up (explicit transactions: -EBUSY, then -ECANCELED); 3: else. */
static int assign_child(size_t i, void *arg)
{
        const struct race *race = arg;
        char vm[16], want_prefix[] = A " (held by vm";
        char *const a_only[] = {(char *)A};
        struct hp_store *s = NULL;
        char *blame = NULL;
        int r;

        snprintf(vm, sizeof(vm), "vm%zu", i);
        if (hp_store_open(race->url, &s, NULL) < 0)
                return 3;
        if (race->in_tx && hp_store_begin(s) < 0)
                return 3;
        r = hp_store_assign_devices(s, vm, a_only, 1, &blame);
        if (race->in_tx) {
                int c = r == 0 ? hp_store_commit(s) : (hp_store_rollback(s), 0);

                if (r == 0 && c == -EBUSY)
                        r = -ECANCELED; /* the conflict found at commit */
                else if (r == 0 && c < 0)
                        r = c;
        }
        hp_store_close(s);
        if (r == 0)
                return 0;
        if (r == -EBUSY && blame && strncmp(blame, want_prefix, strlen(want_prefix)) == 0 &&
            !strstr(blame, vm))
                return 1;
        if (race->in_tx && (r == -EBUSY || r == -ECANCELED) && !blame)
                return 2;
        return 3;
}

/* Eight controllers assign one device at once, ten rounds: one wins each
 * round, the others are told who holds it (or, inside their own explicit
 * transactions, that theirs conflicted); the device has one holder. */
static void test_assign_race(void **state)
{
        _cleanup_free_ char *url = store_new("race");
        struct race race = {.url = url};
        struct hp_store *s = open_ok(url);
        pid_t pids[8];

        (void)state;
        put_free(s, A);
        for (size_t i = 0; i < ELEMENTSOF(pids); i++) {
                char vm[16];

                snprintf(vm, sizeof(vm), "vm%zu", i);
                assert_int_equal(hp_store_vm_create(s, vm, SPEC), 0);
        }
        for (int round = 0; round < 10; round++) {
                size_t won = 0, told = 0;
                struct hp_dev_config got = {0};

                race.in_tx = round % 2 == 1;
                start_racers(ELEMENTSOF(pids), pids, assign_child, &race);
                for (size_t i = 0; i < ELEMENTSOF(pids); i++) {
                        int rc = wait_exit(pids[i]);

                        assert_true(rc == 0 || rc == 1 || (race.in_tx && rc == 2));
                        won += rc == 0;
                        told += rc == 1;
                }
                assert_int_equal(won, 1);
                if (!race.in_tx)
                        assert_int_equal(told, ELEMENTSOF(pids) - 1);
                assert_int_equal(hp_store_device_get(s, A, &got), 0);
                assert_non_null(got.assigned_vm);
                hp_dev_config_done(&got);
                assert_int_equal(hp_store_release_devices(s, "vm0") +
                                         hp_store_release_devices(s, "vm1") +
                                         hp_store_release_devices(s, "vm2") +
                                         hp_store_release_devices(s, "vm3") +
                                         hp_store_release_devices(s, "vm4") +
                                         hp_store_release_devices(s, "vm5") +
                                         hp_store_release_devices(s, "vm6") +
                                         hp_store_release_devices(s, "vm7"),
                                 1);
        }
        hp_store_close(s);
}

static double now_s(void)
{
        struct timespec ts;

        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A transaction that read a device another connection then assigned
 * conflicts when it writes the device: -EBUSY, and the transaction is given
 * up (-ECANCELED). Afterwards the connection works as before: a device held
 * by another VM is reported at once, not retried as if it were a conflict. */
static void test_conflict_in_tx(void **state)
{
        _cleanup_free_ char *url = store_new("conflict"), *blame = NULL;
        struct hp_store *s1 = open_ok(url), *s2 = open_ok(url);
        char *const a_only[] = {(char *)A}, *const b_only[] = {(char *)"0000:02:00.0"};
        struct hp_dev_config got = {0};
        double t0;

        (void)state;
        put_free(s1, A);
        put_free(s1, b_only[0]);
        assert_int_equal(hp_store_vm_create(s1, "vm1", SPEC), 0);
        assert_int_equal(hp_store_vm_create(s1, "vm2", SPEC), 0);
        assert_int_equal(hp_store_assign_devices(s2, "vm2", b_only, 1, NULL), 0);

        assert_int_equal(hp_store_begin(s1), 0);
        assert_int_equal(hp_store_device_get(s1, A, &got), 0);
        assert_null(got.assigned_vm); /* read as free */
        hp_dev_config_done(&got);
        assert_int_equal(hp_store_assign_devices(s2, "vm2", a_only, 1, NULL), 0);
        assert_int_equal(hp_store_assign_devices(s1, "vm1", a_only, 1, &blame), -EBUSY);
        assert_null(blame);
        assert_int_equal(hp_store_device_get(s1, A, &got), -ECANCELED);
        assert_int_equal(hp_store_commit(s1), -ECANCELED);
        assert_int_equal(hp_store_rollback(s1), 0);

        t0 = now_s();
        assert_int_equal(hp_store_assign_devices(s1, "vm1", b_only, 1, &blame), -EBUSY);
        assert_true(now_s() - t0 < 2.0); /* the busy timeout is 5 s */
        assert_string_equal(blame, "0000:02:00.0 (held by vm2)");
        assert_int_equal(hp_store_device_get(s1, A, &got), 0);
        assert_string_equal(got.assigned_vm, "vm2");
        hp_dev_config_done(&got);
        hp_store_close(s1);
        hp_store_close(s2);
}

/* A connection remembers hosts' ids, but not one it read in a transaction
 * that rolled back: the host it added there is gone, and the one added
 * again has another id. In a transaction, a failed write is undone and the
 * rest goes on; in a whole one (hp_store_whole()), it ends the transaction. */
static void test_host_ids(void **state)
{
        _cleanup_free_ char *url = store_new("hostids");
        struct hp_store *s = open_ok(url);
        struct hp_dev_config got = { 0 };

        (void)state;
        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_host_add(s, "hx"), 0);
        assert_int_equal(hp_store_set_host(s, "hx"), 0);
        assert_int_equal(hp_store_rollback(s), 0);
        assert_int_equal(hp_store_set_host(s, "hx"), -ENOENT);
        assert_int_equal(hp_store_host_add(s, "hx"), 0);
        assert_int_equal(hp_store_set_host(s, "hx"), 0);
        put_free(s, A);
        assert_int_equal(raw_int_any(url,
                                     "SELECT count(*) FROM devices d JOIN hosts h ON h.id = d.host "
                                     "WHERE h.name = 'hx'"),
                         1);
        /* Remembered once committed: the same device, switching back and forth. */
        assert_int_equal(hp_store_set_host(s, HP_STORE_LOCAL_HOST), 0);
        assert_int_equal(hp_store_device_get(s, A, &got), -ENOENT);
        assert_int_equal(hp_store_set_host(s, "hx"), 0);
        assert_int_equal(hp_store_device_get(s, A, &got), 0);
        hp_dev_config_done(&got);

        /* Inside a transaction: a write that failed is undone, the rest stays. */
        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_vm_create(s, "vm1", SPEC), 0);
        assert_int_equal(hp_store_vm_create(s, "vm1", SPEC), -EEXIST);
        assert_int_equal(hp_store_device_get(s, "0000:09:00.0", &got), -ENOENT);
        assert_int_equal(hp_store_vm_create(s, "vm2", SPEC), 0);
        assert_int_equal(hp_store_commit(s), 0);
        assert_int_equal(raw_int_any(url, "SELECT count(*) FROM vms WHERE name IN ('vm1', 'vm2')"),
                         2);

        /* Whole: no savepoints, the first failure ends it all. */
        assert_int_equal(hp_store_whole(s), -EINVAL);
        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_whole(s), 0);
        assert_int_equal(hp_store_vm_create(s, "vm3", SPEC), 0);
        assert_int_equal(hp_store_vm_create(s, "vm1", SPEC), -EEXIST);
        assert_int_equal(hp_store_vm_create(s, "vm4", SPEC), -ECANCELED);
        assert_int_equal(hp_store_commit(s), -ECANCELED);
        assert_int_equal(hp_store_rollback(s), 0);
        assert_int_equal(raw_int_any(url, "SELECT count(*) FROM vms WHERE name IN ('vm3', 'vm4')"),
                         0);
        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_whole(s), 0);
        assert_int_equal(hp_store_vm_create(s, "vm3", SPEC), 0);
        assert_int_equal(hp_store_vm_create(s, "vm4", SPEC), 0);
        assert_int_equal(hp_store_commit(s), 0);
        assert_int_equal(raw_int_any(url, "SELECT count(*) FROM vms WHERE name IN ('vm3', 'vm4')"),
                         2);
        /* The next transaction has its savepoints again. */
        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_vm_create(s, "vm1", SPEC), -EEXIST);
        assert_int_equal(hp_store_vm_create(s, "vm5", SPEC), 0);
        assert_int_equal(hp_store_commit(s), 0);
        hp_store_close(s);
}

#define WRITERS 4
#define EVENTS  25

/* Adds EVENTS events, each in a transaction that waits a little before its
 * commit (the window in which a later id could commit first), retrying a
 * transaction the backend gave up; with turn, each waits for the event
 * log's turn first, and exits 4 when one had to be retried all the same. */
static int add_events(size_t i, const char *url, bool turn)
{
        struct hp_store *s = NULL;
        char subject[32];

        if (hp_store_open(url, &s, NULL) < 0)
                return 3;
        srand((unsigned)getpid());
        for (int k = 0; k < EVENTS; k++) {
                int r, tries = 0;

                snprintf(subject, sizeof(subject), "w%zu-%d", i, k);
                do {
                        r = hp_store_begin(s);
                        if (r >= 0 && turn)
                                r = hp_store_events_turn(s);
                        if (r >= 0)
                                r = hp_store_event_add(s, "test", subject, NULL);
                        if (r >= 0) {
                                usleep((useconds_t)(rand() % 3000));
                                r = hp_store_commit(s);
                        } else {
                                (void)hp_store_rollback(s);
                        }
                } while ((r == -EBUSY || r == -ECANCELED) && ++tries < 1000);
                if (r < 0)
                        return 3;
                if (turn && tries > 0)
                        return 4;
        }
        hp_store_close(s);
        return 0;
}

static int event_child(size_t i, void *arg)
{
        return add_events(i, arg, false);
}

static int event_turn_child(size_t i, void *arg)
{
        return add_events(i, arg, true);
}

/* Writers that wait for the event log's turn never conflict on its counter:
 * none retries (without the turn, nearly every one of them does). */
static void test_events_turn(void **state)
{
        _cleanup_free_ char *url = store_new("events_turn");
        struct hp_store *s = open_ok(url);
        pid_t pids[WRITERS];

        (void)state;
        assert_int_equal(hp_store_events_turn(s), -EINVAL); /* outside a transaction */
        hp_store_close(s);
        start_racers(WRITERS, pids, event_turn_child, url);
        for (size_t i = 0; i < WRITERS; i++)
                assert_int_equal(wait_exit(pids[i]), 0);
        assert_int_equal(raw_int_any(url, "SELECT last FROM event_counter"), WRITERS * EVENTS);
}

/* While WRITERS processes add events, a reader asks for the events after
 * the last id it saw, over and over: it must get every event, ids in order
 * with no gap, none late. A plain sequence fails this: an id taken later
 * can commit first, and the reader moves past the one still uncommitted. */
static void test_event_order(void **state)
{
        _cleanup_free_ char *url = store_new("events_order");
        struct hp_store *s = open_ok(url);
        pid_t pids[WRITERS];
        int status[WRITERS];
        int64_t last = 0, seen = 0;

        (void)state;
        start_racers(WRITERS, pids, event_child, url);
        for (;;) {
                /* Asked before the read: when all had ended, it must find every event. */
                bool done = true;
                struct hp_event *e = NULL;
                size_t n = 0;

                for (size_t i = 0; i < WRITERS; i++) {
                        if (pids[i] > 0 && waitpid(pids[i], &status[i], WNOHANG) == pids[i])
                                pids[i] = 0;
                        done &= pids[i] == 0;
                }
                assert_int_equal(hp_store_event_list(s, last, 1000, &e, &n), 0);
                for (size_t i = 0; i < n; i++) {
                        if (e[i].id != last + 1)
                                fail_msg("after event %lld came %lld", (long long)last,
                                         (long long)e[i].id);
                        last = e[i].id;
                        seen++;
                }
                hp_events_free(e, n);
                if (done)
                        break;
        }
        for (size_t i = 0; i < WRITERS; i++)
                assert_true(WIFEXITED(status[i]) && WEXITSTATUS(status[i]) == 0);
        hp_store_close(s);
        assert_int_equal(seen, WRITERS * EVENTS);
        assert_int_equal(raw_int_any(url, "SELECT count(*) FROM events"), WRITERS * EVENTS);
        assert_int_equal(raw_int_any(url, "SELECT last FROM event_counter"), WRITERS * EVENTS);
}

static int open_child(size_t i, void *arg)
{
        struct hp_store *s = NULL;
        int r = hp_store_open(arg, &s, NULL);

        (void)i;
        if (r < 0)
                return 3;
        r = hp_store_schema_version(s) == HP_STORE_SCHEMA_VERSION ? 0 : 4;
        hp_store_close(s);
        return r;
}

/* Six processes open one new database at once: one migrates, the others
 * wait for its lock and find the schema current; each migration ran once. */
static void test_migrate_race(void **state)
{
        _cleanup_free_ char *url = store_new("migrate_race");
        pid_t pids[6];

        (void)state;
        start_racers(ELEMENTSOF(pids), pids, open_child, url);
        for (size_t i = 0; i < ELEMENTSOF(pids); i++)
                assert_int_equal(wait_exit(pids[i]), 0);
        assert_int_equal(raw_int_any(url, "SELECT version FROM schema_version"),
                         HP_STORE_SCHEMA_VERSION);
        assert_int_equal(raw_int_any(url, "SELECT count(*) FROM hosts"), 1);
        assert_int_equal(raw_int_any(url, "SELECT count(*) FROM event_counter"), 1);
        assert_int_equal(raw_int_any(url, "SELECT count(*) FROM pg_indexes "
                                          "WHERE indexname = 'devices_assigned_vm'"),
                         1);
}

/* A role that must give its password: messages never show it, whichever
 * way the URL carries it, whatever step fails. */
static void test_password_hidden(void **state)
{
        _cleanup_free_ char *db = store_new("pwdb"), *wrong = NULL, *wrong_q = NULL;
        _cleanup_free_ char *right = NULL, *error = NULL;
        const char *dir = getenv("HWPASS_TEST_PGDIR");
        struct hp_store *s = NULL;
        PGconn *c = pg_connect_ok(pg_base_url());

        (void)state;
        assert_non_null(dir);
        pg_exec_ok(c, "DROP ROLE IF EXISTS hwpass_pw");
        pg_exec_ok(c, "CREATE ROLE hwpass_pw LOGIN PASSWORD 'right-pw-417'");
        pg_exec_ok(c, "ALTER DATABASE pwdb OWNER TO hwpass_pw");
        PQfinish(c);
        assert_true(asprintf(&wrong, "postgresql://hwpass_pw:wrong-pw-908@/pwdb?host=%s", dir) > 0);
        assert_true(asprintf(&wrong_q, "postgres:///pwdb?user=hwpass_pw&password=wrong-pw-908&"
                                       "host=%s", dir) > 0);
        assert_true(asprintf(&right, "postgresql://hwpass_pw:right-pw-417@/pwdb?host=%s", dir) > 0);

        assert_int_equal(hp_store_open(wrong, &s, &error), -ECONNREFUSED);
        assert_null(strstr(error, "wrong-pw-908"));
        assert_non_null(strstr(error, "postgresql://hwpass_pw:***@/pwdb"));
        assert_non_null(strstr(error, "password authentication failed"));
        free(TAKE_PTR(error));
        assert_int_equal(hp_store_open_readonly(wrong_q, &s, &error), -ECONNREFUSED);
        assert_null(strstr(error, "wrong-pw-908"));
        assert_non_null(strstr(error, "password=***"));
        free(TAKE_PTR(error));

        /* The right one opens (and migrates: the role owns the database)... */
        s = open_ok(right);
        hp_store_close(s);
        /* ...and a later step's failure does not show it either. */
        raw_exec_any(db, "UPDATE schema_version SET version = 99");
        assert_int_equal(hp_store_open(right, &s, &error), -EPROTONOSUPPORT);
        assert_null(strstr(error, "right-pw-417"));
        assert_non_null(strstr(error, "hwpass_pw:***@"));
        assert_non_null(strstr(error, "schema version 99"));
}

/* Runs pg-lib.sh (stop or start) on this test's server. */
static void server(const char *what)
{
        const char *lib = getenv("HWPASS_PG_LIB"), *dir = getenv("HWPASS_TEST_PGDIR");
        pid_t pid;

        assert_non_null(lib);
        assert_non_null(dir);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

                if (null >= 0)
                        dup2(null, STDOUT_FILENO); /* start prints the URL: not TAP */
                execl(lib, lib, what, dir, (char *)NULL);
                _exit(127);
        }
        assert_int_equal(wait_exit(pid), 0);
}

/* The server stops under an open connection: each call says the connection
 * was lost (nothing is pretended done), a new open says it cannot connect,
 * and once the server is back the connection works again by itself. */
static void test_lost_connection(void **state)
{
        _cleanup_free_ char *url = store_new("lost"), *error = NULL;
        struct hp_store *s = open_ok(url), *s2 = NULL;
        struct hp_dev_config got = {0};

        (void)state;
        put_free(s, A);
        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_vm_create(s, "vm1", SPEC), 0);

        server("stop");
        assert_int_equal(hp_store_vm_create(s, "vm2", SPEC), -ECONNRESET);
        assert_int_equal(hp_store_device_get(s, A, &got), -ECANCELED); /* the transaction is gone */
        assert_int_equal(hp_store_commit(s), -ECANCELED);
        assert_int_equal(hp_store_device_get(s, A, &got), -ECONNRESET);
        assert_int_equal(hp_store_begin(s), -ECONNRESET);
        assert_int_equal(hp_store_open(url, &s2, &error), -ECONNREFUSED);
        assert_non_null(strstr(error, "Failed to connect to state database"));
        assert_non_null(strstr(error, url));
        assert_null(s2);

        server("start");
        assert_int_equal(hp_store_device_get(s, A, &got), 0);
        hp_dev_config_done(&got);
        assert_int_equal(hp_store_vm_get(s, "vm1", &(struct hp_vm_record){0}), -ENOENT);
        assert_int_equal(hp_store_vm_create(s, "vm1", SPEC), 0);
        hp_store_close(s);
}

#define KEPT "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND " \
             "application_name = 'hwpass'"

static int pool_child(size_t i, void *arg)
{
        struct hp_store *s = NULL;
        char vm[16];
        int r;

        snprintf(vm, sizeof(vm), "child%zu", i);
        if (hp_store_open(arg, &s, NULL) < 0)
                return 3;
        r = hp_store_vm_create(s, vm, SPEC) == 0 ? 0 : 4;
        hp_store_close(s);
        return r;
}

/* A closed store's connection is kept for the next open in the process (a
 * controller opens the store for every request): twenty opens in turn use
 * one session, two at once two; a kept session the server ended is
 * replaced at the next open; a forked child never uses its parent's. */
static void test_pool(void **state)
{
        _cleanup_free_ char *url = store_new("pool");
        struct hp_store *s = NULL, *s2 = NULL;
        pid_t pids[2];

        (void)state;
        for (int i = 0; i < 20; i++)
                hp_store_close(open_ok(url));
        assert_int_equal(raw_int_any(url, KEPT), 1);
        s = open_ok(url);
        s2 = open_ok(url);
        assert_int_equal(raw_int_any(url, KEPT), 2);
        hp_store_close(s);
        hp_store_close(s2);
        assert_int_equal(raw_int_any(url, KEPT), 2);

        /* Ended: each session's process gone (the call waits for that). */
        raw_exec_any(url, "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE "
                          "datname = current_database() AND application_name = 'hwpass'");
        s = open_ok(url);
        assert_int_equal(hp_store_vm_create(s, "vm1", SPEC), 0);
        hp_store_close(s);

        start_racers(ELEMENTSOF(pids), pids, pool_child, url);
        for (size_t i = 0; i < ELEMENTSOF(pids); i++)
                assert_int_equal(wait_exit(pids[i]), 0);
        s = open_ok(url);
        for (size_t i = 0; i < ELEMENTSOF(pids); i++) {
                struct hp_vm_record rec = {0};
                char vm[16];

                snprintf(vm, sizeof(vm), "child%zu", i);
                assert_int_equal(hp_store_vm_get(s, vm, &rec), 0);
                hp_vm_record_done(&rec);
        }
        assert_int_equal(hp_store_vm_create(s, "vm2", SPEC), 0);
        hp_store_close(s);
}

/* A kept connection's schema is read at every open (the CLI, an agent),
 * or, in a process that keeps it (hwpassd), again once its last reading
 * is older than HP_PG_KEPT_MS, as the kept tables are: another
 * controller's upgrade is refused by the opens after that; a connection
 * that the schema refused is checked again at its next open. */
static void test_schema_kept(void **state)
{
        _cleanup_free_ char *url = store_new("schema-kept");
        struct hp_store *s = NULL;
        char sql[64];

        (void)state;
        snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %d",
                 HP_STORE_SCHEMA_VERSION);
        hp_store_close(open_ok(url));
        assert_int_equal(raw_int_any(url, KEPT), 1);
        raw_exec_any(url, "UPDATE schema_version SET version = 99");
        assert_int_equal(hp_store_open(url, &s, NULL), -EPROTONOSUPPORT);
        raw_exec_any(url, sql);

        hp_store_keep_schema(true);
        hp_store_close(open_ok(url));
        raw_exec_any(url, "UPDATE schema_version SET version = 99");
        usleep((HP_PG_KEPT_MS + 200) * 1000);
        assert_int_equal(hp_store_open(url, &s, NULL), -EPROTONOSUPPORT);
        assert_null(s);
        assert_int_equal(hp_store_open(url, &s, NULL), -EPROTONOSUPPORT);
        raw_exec_any(url, sql);
        s = open_ok(url);
        assert_int_equal(hp_store_schema_version(s), HP_STORE_SCHEMA_VERSION);
        hp_store_close(s);
        hp_store_keep_schema(false);
        assert_int_equal(raw_int_any(url, KEPT), 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_assign_race),
                cmocka_unit_test(test_conflict_in_tx),
                cmocka_unit_test(test_event_order),
                cmocka_unit_test(test_migrate_race),
                cmocka_unit_test(test_password_hidden),
                cmocka_unit_test(test_lost_connection),
                cmocka_unit_test(test_pool),
                cmocka_unit_test(test_host_ids),
                cmocka_unit_test(test_events_turn),
                cmocka_unit_test(test_schema_kept),
        };

        if (!test_on_pg()) {
                printf("1..0 # SKIP needs a PostgreSQL server: tests/pg-lib.sh run %s\n",
                       program_invocation_short_name);
                return 0;
        }
        return cmocka_run_group_tests_name("store-postgres", tests, make_tmp, remove_tmp);
}
