/* Unit tests: the store's cluster state (schema 6): hosts' credentials,
 * leases, reports and flags; join tokens, their one use and a join in one
 * transaction; the upgrade of a store written at schema 5. On either backend
 * (store-url.h); the leader lease is in test-store-leader.c. */
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
#include "util/token.h"

#include "store-tmp.h"
#include "store-url.h"
#include "store-schema-v5.h"

static void new_hash(char hash[HP_TOKEN_HASH_LEN + 1])
{
        char tok[HP_TOKEN_LEN + 1];

        assert_int_equal(hp_token_generate(tok), 0);
        assert_int_equal(hp_token_hash(tok, hash), 0);
}

static int64_t wall_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
        usleep((useconds_t)ms * 1000);
}

static void check_is(struct hp_store *s, const char *hash, const char *want)
{
        char *name = NULL;

        if (!want) {
                assert_int_equal(hp_store_host_check(s, hash, &name), -ENOENT);
                assert_null(name);
                return;
        }
        assert_int_equal(hp_store_host_check(s, hash, &name), 0);
        assert_string_equal(name, want);
        free(name);
}

static void test_credentials(void **state)
{
        _cleanup_free_ char *path = store_new("credentials");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        char h1[HP_TOKEN_HASH_LEN + 1], h2[HP_TOKEN_HASH_LEN + 1], h3[HP_TOKEN_HASH_LEN + 1];
        char *name = NULL;

        (void)state;
        new_hash(h1);
        new_hash(h2);
        new_hash(h3);
        assert_int_equal(hp_store_host_add(s, "gpu-01"), 0);
        assert_int_equal(hp_store_host_add(s, "gpu-02"), 0);
        check_is(s, h1, NULL);
        assert_int_equal(hp_store_host_set_credential(s, "gpu-01", h1), 0);
        assert_int_equal(hp_store_host_set_credential(s, "gpu-02", h2), 0);
        check_is(s, h1, "gpu-01");
        check_is(s, h2, "gpu-02");
        check_is(s, h3, NULL);
        /* Differing in the last digit only. */
        memcpy(h3, h2, sizeof(h3));
        h3[HP_TOKEN_HASH_LEN - 1] = h3[HP_TOKEN_HASH_LEN - 1] == '0' ? '1' : '0';
        check_is(s, h3, NULL);
        /* A host with a live credential is not given another; nor is a
         * credential another host holds; nor a host that is not there. */
        assert_int_equal(hp_store_host_set_credential(s, "gpu-01", h3), -EEXIST);
        assert_int_equal(hp_store_host_set_credential(s, "nope", h3), -ENOENT);
        assert_int_equal(hp_store_host_add(s, "gpu-03"), 0);
        assert_int_equal(hp_store_host_set_credential(s, "gpu-03", h1), -EEXIST);
        check_is(s, h1, "gpu-01");
        /* Revoked: its credential is refused, the other host's is not. */
        assert_int_equal(hp_store_host_revoke(s, "gpu-01"), 0);
        check_is(s, h1, NULL);
        check_is(s, h2, "gpu-02");
        assert_int_equal(hp_store_host_revoke(s, "gpu-01"), 0);
        assert_int_equal(hp_store_host_revoke(s, "nope"), -ENOENT);
        assert_int_equal(raw_int_any(path, "SELECT count(*) FROM hosts WHERE credential IS NULL "
                                           "AND name = 'gpu-01'"),
                         1);
        /* Joined again, with a new credential: the old one stays refused. */
        assert_int_equal(hp_store_host_set_credential(s, "gpu-01", h3), 0);
        check_is(s, h3, "gpu-01");
        check_is(s, h1, NULL);
        /* Malformed arguments. */
        assert_int_equal(hp_store_host_set_credential(s, "gpu-01", "abc"), -EINVAL);
        assert_int_equal(hp_store_host_set_credential(s, "a b", h1), -EINVAL);
        assert_int_equal(hp_store_host_set_credential(s, NULL, h1), -EINVAL);
        assert_int_equal(hp_store_host_check(s, NULL, &name), -EINVAL);
        assert_int_equal(hp_store_host_revoke(s, ""), -EINVAL);
        assert_null(name);
        /* Only the hash is kept. */
        assert_int_equal(
                raw_int_any(path, "SELECT count(*) FROM hosts WHERE length(credential) = 64"), 2);
}

/* A credential given or revoked by this process counts at once on every
 * connection; by another (a controller elsewhere, here plain SQL) at once
 * inside a transaction, and within a second outside one. */
static void test_credentials_kept(void **state)
{
        _cleanup_free_ char *path = store_new("credentials_kept");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path), *s2 = open_ok(path);
        char h1[HP_TOKEN_HASH_LEN + 1];

        (void)state;
        new_hash(h1);
        assert_int_equal(hp_store_host_add(s, "gpu-01"), 0);
        check_is(s2, h1, NULL);
        assert_int_equal(hp_store_host_set_credential(s, "gpu-01", h1), 0);
        check_is(s2, h1, "gpu-01");
        assert_int_equal(hp_store_host_revoke(s, "gpu-01"), 0);
        check_is(s2, h1, NULL);
        assert_int_equal(hp_store_host_set_credential(s, "gpu-01", h1), 0);
        check_is(s2, h1, "gpu-01");
        raw_exec_any(path, "UPDATE hosts SET credential = NULL WHERE name = 'gpu-01'");
        assert_int_equal(hp_store_begin(s2), 0);
        check_is(s2, h1, NULL);
        assert_int_equal(hp_store_rollback(s2), 0);
        sleep_ms(1100);
        check_is(s2, h1, NULL);
}

static const struct hp_host_info *find_host(const struct hp_host_info *h, size_t n,
                                            const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(h[i].name, name) == 0)
                        return &h[i];
        fail_msg("no host %s", name);
        return NULL;
}

static void test_lease_report_flags(void **state)
{
        _cleanup_free_ char *path = store_new("lease");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        struct hp_host_info *h = NULL;
        const struct hp_host_info *g;
        int64_t before, expires = -1, at = -1;
        char *report = (char *)"untouched";
        size_t n = 0;

        (void)state;
        assert_int_equal(hp_store_host_add(s, "gpu-02"), 0);
        assert_int_equal(hp_store_host_add(s, "gpu-01"), 0);
        /* New hosts: no lease, no heartbeat, not ready, no report. */
        assert_int_equal(hp_store_host_list(s, &h, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(h[0].name, "gpu-01");
        assert_string_equal(h[1].name, "gpu-02");
        assert_string_equal(h[2].name, HP_STORE_LOCAL_HOST);
        for (size_t i = 0; i < n; i++) {
                assert_false(h[i].has_credential);
                assert_int_equal(h[i].lease_expires_ms, 0);
                assert_false(h[i].lease_live);
                assert_int_equal(h[i].heartbeat_ms, 0);
                assert_false(h[i].ready);
                assert_false(h[i].maintenance);
        }
        hp_host_infos_free(h, n);
        assert_int_equal(hp_store_host_report_get(s, "gpu-01", &report, &at), 0);
        assert_null(report);
        assert_int_equal(at, 0);

        /* Renewed: live until it expires, by the database's clock (the
         * server runs on this machine, so the clocks agree to a second). */
        before = wall_ms();
        assert_int_equal(hp_store_host_renew(s, "gpu-01", 60000, &expires), 0);
        assert_true(expires >= before + 60000 - 1000 && expires <= wall_ms() + 60000 + 1000);
        assert_int_equal(hp_store_host_renew(s, "gpu-02", 200, NULL), 0);
        assert_int_equal(hp_store_host_list(s, &h, &n), 0);
        g = find_host(h, n, "gpu-01");
        assert_int_equal(g->lease_expires_ms, expires);
        assert_true(g->lease_live);
        assert_int_equal(g->heartbeat_ms, expires - 60000);
        assert_true(find_host(h, n, "gpu-02")->lease_live);
        assert_false(find_host(h, n, HP_STORE_LOCAL_HOST)->lease_live);
        hp_host_infos_free(h, n);
        sleep_ms(400);
        assert_int_equal(hp_store_host_list(s, &h, &n), 0);
        assert_false(find_host(h, n, "gpu-02")->lease_live);
        assert_true(find_host(h, n, "gpu-01")->lease_live);
        /* Ages are by the database's clock, given with the list: past
         * gpu-02's expiry, before gpu-01's (the same for every row). */
        g = find_host(h, n, "gpu-02");
        assert_true(g->now_ms >= g->lease_expires_ms && g->now_ms < expires);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(h[i].now_ms, g->now_ms);
        hp_host_infos_free(h, n);

        /* The report, as given, with its time. */
        before = wall_ms();
        assert_int_equal(hp_store_host_report(s, "gpu-01", "{\"seq\": 812, \"ready\": true}"), 0);
        assert_int_equal(hp_store_host_report_get(s, "gpu-01", &report, &at), 0);
        assert_string_equal(report, "{\"seq\": 812, \"ready\": true}");
        free(report);
        assert_true(at >= before - 1000 && at <= wall_ms() + 1000);

        /* Flags. */
        assert_int_equal(hp_store_host_set_ready(s, "gpu-01", true), 0);
        assert_int_equal(hp_store_host_set_maintenance(s, "gpu-02", true), 0);
        assert_int_equal(hp_store_host_list(s, &h, &n), 0);
        assert_true(find_host(h, n, "gpu-01")->ready);
        assert_false(find_host(h, n, "gpu-01")->maintenance);
        assert_false(find_host(h, n, "gpu-02")->ready);
        assert_true(find_host(h, n, "gpu-02")->maintenance);
        hp_host_infos_free(h, n);
        assert_int_equal(hp_store_host_set_ready(s, "gpu-01", false), 0);
        assert_int_equal(hp_store_host_list(s, &h, &n), 0);
        assert_false(find_host(h, n, "gpu-01")->ready);
        hp_host_infos_free(h, n);
        /* A heartbeat's renewal sets the flag too; a plain renewal leaves it. */
        assert_int_equal(hp_store_host_beat(s, "gpu-01", 60000, true, &expires), 0);
        assert_int_equal(hp_store_host_list(s, &h, &n), 0);
        assert_true(find_host(h, n, "gpu-01")->ready);
        assert_int_equal(find_host(h, n, "gpu-01")->lease_expires_ms, expires);
        hp_host_infos_free(h, n);
        assert_int_equal(hp_store_host_renew(s, "gpu-01", 60000, NULL), 0);
        assert_int_equal(hp_store_host_list(s, &h, &n), 0);
        assert_true(find_host(h, n, "gpu-01")->ready);
        hp_host_infos_free(h, n);
        assert_int_equal(hp_store_host_beat(s, "gpu-01", 60000, false, NULL), 0);
        assert_int_equal(hp_store_host_list(s, &h, &n), 0);
        assert_false(find_host(h, n, "gpu-01")->ready);
        hp_host_infos_free(h, n);
        assert_int_equal(hp_store_host_beat(s, "nope", 1000, true, NULL), -ENOENT);

        /* Unknown hosts and bad arguments. */
        report = NULL;
        expires = -1;
        assert_int_equal(hp_store_host_renew(s, "nope", 1000, &expires), -ENOENT);
        assert_int_equal(expires, -1);
        assert_int_equal(hp_store_host_report(s, "nope", "{}"), -ENOENT);
        assert_int_equal(hp_store_host_report_get(s, "nope", &report, &at), -ENOENT);
        assert_int_equal(hp_store_host_set_ready(s, "nope", true), -ENOENT);
        assert_int_equal(hp_store_host_set_maintenance(s, "nope", true), -ENOENT);
        assert_int_equal(hp_store_host_renew(s, "gpu-01", 0, NULL), -EINVAL);
        assert_int_equal(hp_store_host_renew(s, "gpu-01", HP_STORE_TTL_MS_MAX + 1, NULL), -EINVAL);
        assert_int_equal(hp_store_host_report(s, "gpu-01", NULL), -EINVAL);
        assert_null(report);
}

static void test_join_tokens(void **state)
{
        _cleanup_free_ char *path = store_new("join");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        char h1[HP_TOKEN_HASH_LEN + 1], h2[HP_TOKEN_HASH_LEN + 1], h3[HP_TOKEN_HASH_LEN + 1];
        struct hp_join_token_info *j = NULL;
        int64_t before, expires = -1;
        size_t n = 99;

        (void)state;
        new_hash(h1);
        new_hash(h2);
        new_hash(h3);
        assert_int_equal(hp_store_join_token_list(s, &j, &n), 0);
        assert_null(j);
        assert_int_equal(n, 0);
        before = wall_ms();
        assert_int_equal(hp_store_join_token_add(s, h1, 3600000, &expires), 0);
        assert_true(expires >= before + 3600000 - 1000 && expires <= wall_ms() + 3600000 + 1000);
        assert_int_equal(hp_store_join_token_add(s, h2, 100, NULL), 0);
        assert_int_equal(hp_store_join_token_add(s, h1, 1000, NULL), -EEXIST);
        assert_int_equal(hp_store_join_token_add(s, "xyz", 1000, NULL), -EINVAL);
        assert_int_equal(hp_store_join_token_add(s, h3, 0, NULL), -EINVAL);

        /* One use; a second, an unknown token, an expired one are refused. */
        assert_int_equal(hp_store_join_token_use(s, h1), 0);
        assert_int_equal(hp_store_join_token_use(s, h1), -ENOENT);
        assert_int_equal(hp_store_join_token_use(s, h3), -ENOENT);
        sleep_ms(300);
        assert_int_equal(hp_store_join_token_use(s, h2), -EKEYEXPIRED);
        assert_int_equal(hp_store_join_token_use(s, h2), -EKEYEXPIRED);
        assert_int_equal(hp_store_join_token_use(s, NULL), -EINVAL);

        assert_int_equal(hp_store_join_token_list(s, &j, &n), 0);
        assert_int_equal(n, 2);
        assert_true(j[0].id < j[1].id);
        assert_int_equal(j[0].expires_ms, expires);
        assert_true(j[0].used_ms >= before - 1000 && j[0].used_ms <= wall_ms() + 1000);
        assert_true(j[0].created_at >= before / 1000 - 1);
        assert_int_equal(j[1].used_ms, 0);
        assert_true(j[1].expires_ms < wall_ms() + 1000);
        free(j);
        /* Only hashes are kept. */
        assert_int_equal(
                raw_int_any(path, "SELECT count(*) FROM join_tokens WHERE length(hash) = 64"), 2);
}

/* A join is one transaction: token used, host added, credential set. A
 * failure in it (the name has a live credential) leaves the token unused. */
static void test_join_transaction(void **state)
{
        _cleanup_free_ char *path = store_new("join_tx");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        char tok[HP_TOKEN_HASH_LEN + 1], tok2[HP_TOKEN_HASH_LEN + 1];
        char cred[HP_TOKEN_HASH_LEN + 1], cred2[HP_TOKEN_HASH_LEN + 1];

        (void)state;
        new_hash(tok);
        new_hash(tok2);
        new_hash(cred);
        new_hash(cred2);
        assert_int_equal(hp_store_join_token_add(s, tok, 60000, NULL), 0);
        assert_int_equal(hp_store_join_token_add(s, tok2, 60000, NULL), 0);

        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_join_token_use(s, tok), 0);
        assert_int_equal(hp_store_host_add(s, "gpu-07"), 0);
        assert_int_equal(hp_store_host_set_credential(s, "gpu-07", cred), 0);
        assert_int_equal(hp_store_commit(s), 0);
        check_is(s, cred, "gpu-07");
        assert_int_equal(hp_store_join_token_use(s, tok), -ENOENT);

        /* The same name again: refused, and the rollback gives the token back. */
        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_join_token_use(s, tok2), 0);
        assert_int_equal(hp_store_host_add(s, "gpu-07"), -EEXIST);
        assert_int_equal(hp_store_host_set_credential(s, "gpu-07", cred2), -EEXIST);
        assert_int_equal(hp_store_rollback(s), 0);
        check_is(s, cred2, NULL);
        assert_int_equal(
                raw_int_any(path, "SELECT count(*) FROM join_tokens WHERE used_ms IS NULL"), 1);
        assert_int_equal(hp_store_join_token_use(s, tok2), 0);
}

/* Four processes use one join token at once: one wins, the others are told
 * it is used. */
static int use_child(size_t i, void *arg)
{
        const char **a = arg;
        struct hp_store *s = NULL;
        int r;

        (void)i;
        if (hp_store_open(a[0], &s, NULL) < 0)
                return 10;
        r = hp_store_join_token_use(s, a[1]);
        hp_store_close(s);
        return r == 0 ? 0 : r == -ENOENT ? 1 : 20;
}

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
        usleep(100 * 1000);
        close(go[1]);
}

static int wait_exit(pid_t pid)
{
        int status = -1;

        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static void test_join_race(void **state)
{
        _cleanup_free_ char *path = store_new("join_race");
        char tok[HP_TOKEN_HASH_LEN + 1];
        const char *arg[] = { path, tok };
        struct hp_store *s = open_ok(path);
        pid_t pids[4];
        int won = 0, refused = 0, code;

        (void)state;
        new_hash(tok);
        assert_int_equal(hp_store_join_token_add(s, tok, 60000, NULL), 0);
        hp_store_close(s); /* no store open across fork */
        start_racers(ELEMENTSOF(pids), pids, use_child, arg);
        for (size_t i = 0; i < ELEMENTSOF(pids); i++) {
                code = wait_exit(pids[i]);
                won += code == 0;
                refused += code == 1;
        }
        assert_int_equal(won, 1);
        assert_int_equal(refused, ELEMENTSOF(pids) - 1);
}

/* A store written at schema 5 (with a second host, a device, a VM, a token)
 * comes up at the current version with its rows, the new columns at their
 * defaults. */
static void create_v5(const char *path)
{
        static const char rows[] =
                "INSERT INTO schema_version (id, version) VALUES (1, 5);\n"
                "INSERT INTO hosts (id, name, created_at) VALUES (7, 'gpu-01', 1700000000);\n"
                "INSERT INTO devices (host, address, desired, label, assigned_vm, updated_at) "
                "VALUES (7, '0000:01:00.0', true, 'gpu-a', 'win11', 1700000001);\n"
                "INSERT INTO vms (host, name, spec, created_at, updated_at) "
                "VALUES (7, 'win11', '{}', 1700000002, 1700000002);\n"
                "INSERT INTO tokens (name, hash, created_at) VALUES ('ci', "
                "'0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', 1);\n";

        raw_create_any(path, SCHEMA_V1_SQL SCHEMA_V2_TO_V4_SQL SCHEMA_V5_SQL,
                       PG_SCHEMA_V1_TO_V5_SQL, rows);
}

static void test_migrate_v5(void **state)
{
        _cleanup_free_ char *path = store_new("migrate_v5");
        _cleanup_(hp_store_closep) struct hp_store *s = NULL;
        struct hp_store *ro = NULL;
        struct hp_host_info *h = NULL;
        struct hp_dev_config d = { 0 };
        struct hp_vm_record v = { 0 };
        struct hp_token_info *t = NULL;
        struct hp_event *e = NULL;
        struct hp_join_token_info *j = NULL;
        int64_t token = 0;
        size_t n = 0;

        (void)state;
        create_v5(path);
        assert_int_equal(hp_store_open_readonly(path, &ro, NULL), -EPROTONOSUPPORT);
        s = open_ok(path);
        assert_int_equal(hp_store_schema_version(s), HP_STORE_SCHEMA_VERSION);
        assert_int_equal(raw_int_any(path, "SELECT version FROM schema_version"),
                         HP_STORE_SCHEMA_VERSION);
        assert_int_equal(hp_store_host_list(s, &h, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(h[0].name, "gpu-01");
        assert_string_equal(h[1].name, HP_STORE_LOCAL_HOST);
        for (size_t i = 0; i < n; i++) {
                assert_false(h[i].has_credential);
                assert_int_equal(h[i].lease_expires_ms, 0);
                assert_false(h[i].lease_live);
                assert_false(h[i].ready);
                assert_false(h[i].maintenance);
        }
        hp_host_infos_free(h, n);
        assert_int_equal(hp_store_set_host(s, "gpu-01"), 0);
        assert_int_equal(hp_store_device_get(s, "0000:01:00.0", &d), 0);
        assert_string_equal(d.label, "gpu-a");
        assert_string_equal(d.assigned_vm, "win11");
        assert_int_equal(d.updated_at, 1700000001);
        hp_dev_config_done(&d);
        assert_int_equal(hp_store_vm_get(s, "win11", &v), 0);
        assert_int_equal(v.created_at, 1700000002);
        hp_vm_record_done(&v);
        assert_int_equal(hp_store_token_list(s, &t, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(t[0].name, "ci");
        assert_int_equal(t[0].role, HP_TOKEN_ADMIN); /* made before roles */
        hp_token_infos_free(t, n);
        /* ... and the event log says so (schema 11), on either backend. */
        assert_int_equal(hp_store_event_list(s, 0, 100, &e, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(e[0].kind, "token-role");
        assert_string_equal(e[0].subject, "ci");
        assert_non_null(strstr(e[0].message, "it is now admin"));
        hp_events_free(e, n);
        /* The new tables work: no tokens to join with yet, a free leader lease. */
        assert_int_equal(hp_store_join_token_list(s, &j, &n), 0);
        assert_int_equal(n, 0);
        assert_null(j);
        assert_int_equal(hp_store_leader_acquire(s, "ctl-1", 1000, &token, NULL), 0);
        assert_int_equal(token, 1);
        /* Current now: read-only opens it. */
        assert_int_equal(hp_store_open_readonly(path, &ro, NULL), 0);
        hp_store_close(ro);
}

/* A read-only connection reads the cluster's state and writes none of it. */
static void test_readonly(void **state)
{
        _cleanup_free_ char *path = store_new("cluster_ro");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        _cleanup_(hp_store_closep) struct hp_store *ro = NULL;
        char h[HP_TOKEN_HASH_LEN + 1], *name = NULL;
        struct hp_host_info *hosts = NULL;
        int64_t token = 0;
        size_t n = 0;

        (void)state;
        new_hash(h);
        assert_int_equal(hp_store_host_add(s, "gpu-01"), 0);
        assert_int_equal(hp_store_host_set_credential(s, "gpu-01", h), 0);
        assert_int_equal(hp_store_join_token_add(s, h, 60000, NULL), 0);
        assert_int_equal(hp_store_open_readonly(path, &ro, NULL), 0);
        assert_int_equal(hp_store_host_check(ro, h, &name), 0);
        assert_string_equal(name, "gpu-01");
        free(name);
        assert_int_equal(hp_store_host_list(ro, &hosts, &n), 0);
        assert_int_equal(n, 2);
        hp_host_infos_free(hosts, n);
        assert_int_equal(hp_store_host_renew(ro, "gpu-01", 1000, NULL), -EROFS);
        assert_int_equal(hp_store_host_revoke(ro, "gpu-01"), -EROFS);
        assert_int_equal(hp_store_join_token_use(ro, h), -EROFS);
        assert_int_equal(hp_store_leader_acquire(ro, "ctl-a", 1000, &token, NULL), -EROFS);
        assert_int_equal(hp_store_join_token_use(s, h), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_credentials),        cmocka_unit_test(test_credentials_kept),
                cmocka_unit_test(test_lease_report_flags), cmocka_unit_test(test_join_tokens),
                cmocka_unit_test(test_join_transaction),   cmocka_unit_test(test_join_race),
                cmocka_unit_test(test_migrate_v5),         cmocka_unit_test(test_readonly),
        };

        return run_store_tests("store-cluster", NULL, 0, tests, ELEMENTSOF(tests));
}
