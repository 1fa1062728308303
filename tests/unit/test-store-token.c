/* Unit tests: the store's API tokens (schema 4), on either backend
 * (store-url.h): SQLite files in a temporary directory, or databases on a
 * PostgreSQL server. Plain SQL on a connection of its own checks what was
 * stored. */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"
#include "util/macro.h"
#include "util/token.h"

#include "store-tmp.h"
#include "store-url.h"

/* raw_int on a connection of its own to the store. */
#define raw_int_at raw_int_any

/* A new token's text and hash. */
static void new_token(char tok[HP_TOKEN_LEN + 1], char hash[HP_TOKEN_HASH_LEN + 1])
{
        assert_int_equal(hp_token_generate(tok), 0);
        assert_int_equal(hp_token_hash(tok, hash), 0);
}

/* The token whose hash is hash is want, with role want_role (NULL: none). */
static void check_role(struct hp_store *s, const char *hash, const char *want,
                       enum hp_token_role want_role)
{
        struct hp_token_info t = { .name = (char *)"untouched", .role = (enum hp_token_role)99 };
        int r = hp_store_token_check(s, hash, &t);

        if (!want) {
                assert_int_equal(r, -ENOENT);
                assert_string_equal(t.name, "untouched");
                assert_int_equal(t.role, 99);
                return;
        }
        assert_int_equal(r, 0);
        assert_string_equal(t.name, want);
        assert_int_equal(t.role, want_role);
        assert_null(t.scope.hosts);
        assert_null(t.scope.vms);
        hp_token_info_done(&t);
}

static void check_is(struct hp_store *s, const char *hash, const char *want)
{
        check_role(s, hash, want, HP_TOKEN_ADMIN);
}

static void test_add_list(void **state)
{
        _cleanup_free_ char *path = store_new("add");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        char tok[HP_TOKEN_LEN + 1], h1[HP_TOKEN_HASH_LEN + 1], h2[HP_TOKEN_HASH_LEN + 1];
        struct hp_token_info *t = (struct hp_token_info *)1;
        size_t n = 7;
        int64_t before = (int64_t)time(NULL);

        (void)state;
        assert_int_equal(hp_store_token_list(s, &t, &n), 0);
        assert_null(t);
        assert_int_equal(n, 0);
        new_token(tok, h1);
        new_token(tok, h2);
        assert_int_equal(hp_store_token_add(s, "zeta", h1, HP_TOKEN_VIEWER, NULL), 0);
        assert_int_equal(hp_store_token_add(s, "ci", h2, HP_TOKEN_OPERATOR, NULL), 0);
        assert_int_equal(hp_store_token_list(s, &t, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(t[0].name, "ci");
        assert_int_equal(t[0].role, HP_TOKEN_OPERATOR);
        assert_string_equal(t[1].name, "zeta");
        assert_int_equal(t[1].role, HP_TOKEN_VIEWER);
        assert_true(t[0].created_at >= before && t[0].created_at <= (int64_t)time(NULL));
        assert_int_equal(t[0].last_used_at, 0);
        hp_token_infos_free(t, n);
        /* What is on disk is the hash alone, and the role by name. */
        assert_int_equal(raw_int_at(path, "SELECT count(*) FROM tokens WHERE length(hash) = 64"), 2);
        assert_int_equal(
                raw_int_at(path,
                           "SELECT count(*) FROM tokens WHERE role = 'viewer' AND name = 'zeta'"),
                1);
        /* A check gives the role with the name. */
        check_role(s, h1, "zeta", HP_TOKEN_VIEWER);
        check_role(s, h2, "ci", HP_TOKEN_OPERATOR);
}

static void test_add_errors(void **state)
{
        _cleanup_free_ char *path = store_new("errors");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        char tok[HP_TOKEN_LEN + 1], h1[HP_TOKEN_HASH_LEN + 1], h2[HP_TOKEN_HASH_LEN + 1];

        (void)state;
        new_token(tok, h1);
        new_token(tok, h2);
        assert_int_equal(hp_store_token_add(s, "ci", h1, HP_TOKEN_ADMIN, NULL), 0);
        /* The name is taken, whatever the token. */
        assert_int_equal(hp_store_token_add(s, "ci", h2, HP_TOKEN_ADMIN, NULL), -EEXIST);
        /* One token under two names would make the name a check returns a guess. */
        assert_int_equal(hp_store_token_add(s, "other", h1, HP_TOKEN_ADMIN, NULL), -EEXIST);
        assert_int_equal(hp_store_token_add(s, "", h2, HP_TOKEN_ADMIN, NULL), -EINVAL);
        assert_int_equal(hp_store_token_add(s, NULL, h2, HP_TOKEN_ADMIN, NULL), -EINVAL);
        assert_int_equal(hp_store_token_add(s, "a b", h2, HP_TOKEN_ADMIN, NULL), -EINVAL);
        assert_int_equal(hp_store_token_add(s, "x", tok, HP_TOKEN_ADMIN, NULL),
                         -EINVAL); /* a token, not its hash */
        assert_int_equal(hp_store_token_add(s, "x", NULL, HP_TOKEN_ADMIN, NULL), -EINVAL);
        assert_int_equal(hp_store_token_add(s, "x", h2, (enum hp_token_role)3, NULL), -EINVAL);
        assert_int_equal(hp_store_token_add(s, "x", h2, (enum hp_token_role) - 1, NULL), -EINVAL);
        assert_int_equal(raw_int_at(path, "SELECT count(*) FROM tokens"), 1);
}

static void test_check(void **state)
{
        _cleanup_free_ char *path = store_new("check");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        char tok[HP_TOKEN_LEN + 1], h[3][HP_TOKEN_HASH_LEN + 1], other[HP_TOKEN_HASH_LEN + 1];
        struct hp_token_info t = { 0 };

        (void)state;
        for (size_t i = 0; i < 3; i++)
                new_token(tok, h[i]);
        new_token(tok, other);
        /* No tokens at all: nothing matches. */
        check_is(s, h[0], NULL);
        assert_int_equal(hp_store_token_add(s, "a", h[0], HP_TOKEN_ADMIN, NULL), 0);
        assert_int_equal(hp_store_token_add(s, "b", h[1], HP_TOKEN_ADMIN, NULL), 0);
        assert_int_equal(hp_store_token_add(s, "c", h[2], HP_TOKEN_ADMIN, NULL), 0);
        /* Whichever row it is in, first, middle or last. */
        check_is(s, h[0], "a");
        check_is(s, h[1], "b");
        check_is(s, h[2], "c");
        check_is(s, other, NULL);
        /* Differing only in the last digit. */
        memcpy(other, h[1], sizeof(other));
        other[HP_TOKEN_HASH_LEN - 1] = other[HP_TOKEN_HASH_LEN - 1] == '0' ? '1' : '0';
        check_is(s, other, NULL);
        /* Malformed: the token itself, upper case, NULL. */
        assert_int_equal(hp_store_token_check(s, tok, &t), -EINVAL);
        assert_int_equal(hp_store_token_check(s, NULL, &t), -EINVAL);
        assert_null(t.name);
        /* A use is recorded for the token used only. */
        assert_true(raw_int_at(path, "SELECT last_used_at FROM tokens WHERE name = 'b'") >=
                    (int64_t)time(NULL) - 1);
        assert_true(raw_int_at(path, "SELECT last_used_at FROM tokens WHERE name = 'b'") > 0);
        assert_int_equal(hp_store_token_add(s, "unused", other, HP_TOKEN_ADMIN, NULL), 0);
        assert_int_equal(raw_int_at(path, "SELECT last_used_at FROM tokens WHERE name = 'unused'"), 0);
}

/* A use is written once a minute, not at every request; a token revoked
 * between the read and the write is refused either way. */
static void test_check_use_resolution(void **state)
{
        _cleanup_free_ char *path = store_new("use");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        char tok[HP_TOKEN_LEN + 1], h[HP_TOKEN_HASH_LEN + 1];
        int64_t now = (int64_t)time(NULL);
        char sql[128];

        (void)state;
        new_token(tok, h);
        assert_int_equal(hp_store_token_add(s, "t", h, HP_TOKEN_ADMIN, NULL), 0);
        /* Used 30 s ago: this use is within the minute, nothing is written. */
        snprintf(sql, sizeof(sql), "UPDATE tokens SET last_used_at = %lld", (long long)(now - 30));
        raw_exec_any(path, sql);
        check_is(s, h, "t");
        assert_int_equal(raw_int_any(path, "SELECT last_used_at FROM tokens"), now - 30);
        /* Used two minutes ago (as another process wrote it: read within a
         * second, test_kept()): written. */
        snprintf(sql, sizeof(sql), "UPDATE tokens SET last_used_at = %lld", (long long)(now - 120));
        raw_exec_any(path, sql);
        usleep(1100 * 1000);
        check_is(s, h, "t");
        assert_true(raw_int_any(path, "SELECT last_used_at FROM tokens") >= now);
        /* Revoked: refused, however recent its last use. */
        assert_int_equal(hp_store_token_revoke(s, "t"), 0);
        check_is(s, h, NULL);
}

static void test_revoke(void **state)
{
        _cleanup_free_ char *path = store_new("revoke");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        _cleanup_(hp_store_closep) struct hp_store *s2 = open_ok(path);
        char tok[HP_TOKEN_LEN + 1], h1[HP_TOKEN_HASH_LEN + 1], h2[HP_TOKEN_HASH_LEN + 1];
        struct hp_token_info *t = NULL;
        size_t n = 0;

        (void)state;
        new_token(tok, h1);
        new_token(tok, h2);
        assert_int_equal(hp_store_token_add(s, "ci", h1, HP_TOKEN_ADMIN, NULL), 0);
        assert_int_equal(hp_store_token_add(s, "laptop", h2, HP_TOKEN_ADMIN, NULL), 0);
        check_is(s2, h1, "ci");
        assert_int_equal(hp_store_token_revoke(s, "ci"), 0);
        /* Revoked: it authenticates nobody, on any connection. */
        check_is(s, h1, NULL);
        check_is(s2, h1, NULL);
        check_is(s2, h2, "laptop");
        assert_int_equal(hp_store_token_revoke(s, "ci"), -ENOENT);
        assert_int_equal(hp_store_token_revoke(s, "never"), -ENOENT);
        assert_int_equal(hp_store_token_revoke(s, ""), -EINVAL);
        assert_int_equal(hp_store_token_list(s, &t, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(t[0].name, "laptop");
        hp_token_infos_free(t, n);
        /* The name is free again, for a new token. */
        new_token(tok, h1);
        assert_int_equal(hp_store_token_add(s, "ci", h1, HP_TOKEN_ADMIN, NULL), 0);
        check_is(s2, h1, "ci");
}

/* Tokens added or revoked by this process count at once on every
 * connection; by another (a controller on another machine, here plain SQL)
 * at once inside a transaction, and within a second outside one (a
 * connection keeps the rows it read). */
static void test_kept(void **state)
{
        _cleanup_free_ char *path = store_new("kept");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        _cleanup_(hp_store_closep) struct hp_store *s2 = open_ok(path);
        char tok[HP_TOKEN_LEN + 1], h1[HP_TOKEN_HASH_LEN + 1], h2[HP_TOKEN_HASH_LEN + 1];
        char sql[160];

        (void)state;
        new_token(tok, h1);
        new_token(tok, h2);
        check_is(s2, h1, NULL);
        assert_int_equal(hp_store_token_add(s, "ci", h1, HP_TOKEN_ADMIN, NULL), 0);
        check_is(s2, h1, "ci");
        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_token_revoke(s, "ci"), 0);
        if (test_on_pg())               /* SQLite's check waits for the writer */
                check_is(s2, h1, "ci"); /* not committed yet */
        assert_int_equal(hp_store_commit(s), 0);
        check_is(s2, h1, NULL);

        snprintf(sql, sizeof(sql),
                 "INSERT INTO tokens (name, hash, created_at) VALUES ('ext', '%s', 1)", h2);
        raw_exec_any(path, sql);
        assert_int_equal(hp_store_begin(s2), 0);
        check_is(s2, h2, "ext");
        assert_int_equal(hp_store_rollback(s2), 0);
        usleep(1100 * 1000);
        check_is(s2, h2, "ext");
        raw_exec_any(path, "DELETE FROM tokens WHERE name = 'ext'");
        assert_int_equal(hp_store_begin(s2), 0);
        check_is(s2, h2, NULL);
        assert_int_equal(hp_store_rollback(s2), 0);
        usleep(1100 * 1000);
        check_is(s2, h2, NULL);
}

/* Writes wait for hp_store_begin()'s transaction like any other, and roll back with it. */
/* Limits (schema 12): stored as given, returned by a check and a list;
 * lists not as hp_token_list_join() writes them refused. */
static void test_scope(void **state)
{
        _cleanup_free_ char *path = store_new("scope");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        char tok[HP_TOKEN_LEN + 1], h[3][HP_TOKEN_HASH_LEN + 1];
        const struct hp_token_scope hosts = { .hosts = (char *)"gpu-01,gpu-02" },
                                    both = { .hosts = (char *)"gpu-03",
                                             .vms = (char *)"train-1,web" };
        static const char *const bad[] = { "", ",", "a,", ",a", "b,a", "a,a", "a b", "a;b", NULL };
        struct hp_token_info t = { 0 }, *list = NULL;
        size_t n = 0;

        (void)state;
        for (size_t i = 0; i < 3; i++)
                new_token(tok, h[i]);
        assert_int_equal(hp_store_token_add(s, "ci", h[0], HP_TOKEN_OPERATOR, &hosts), 0);
        assert_int_equal(hp_store_token_add(s, "team", h[1], HP_TOKEN_VIEWER, &both), 0);
        for (size_t i = 0; bad[i]; i++) {
                assert_int_equal(
                        hp_store_token_add(s, "x", h[2], HP_TOKEN_ADMIN,
                                           &(struct hp_token_scope){ .vms = (char *)bad[i] }),
                        -EINVAL);
                assert_int_equal(
                        hp_store_token_add(s, "x", h[2], HP_TOKEN_ADMIN,
                                           &(struct hp_token_scope){ .hosts = (char *)bad[i] }),
                        -EINVAL);
        }
        assert_int_equal(raw_int_at(path, "SELECT count(*) FROM tokens"), 2);

        assert_int_equal(hp_store_token_check(s, h[0], &t), 0);
        assert_string_equal(t.name, "ci");
        assert_int_equal(t.role, HP_TOKEN_OPERATOR);
        assert_string_equal(t.scope.hosts, "gpu-01,gpu-02");
        assert_null(t.scope.vms);
        hp_token_info_done(&t);
        assert_int_equal(hp_store_token_check(s, h[1], &t), 0);
        assert_string_equal(t.scope.hosts, "gpu-03");
        assert_string_equal(t.scope.vms, "train-1,web");
        hp_token_info_done(&t);

        assert_int_equal(hp_store_token_list(s, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(list[0].scope.hosts, "gpu-01,gpu-02");
        assert_null(list[0].scope.vms);
        assert_string_equal(list[1].scope.vms, "train-1,web");
        hp_token_infos_free(list, n);
}

static void test_transaction(void **state)
{
        _cleanup_free_ char *path = store_new("tx");
        _cleanup_(hp_store_closep) struct hp_store *s = open_ok(path);
        char tok[HP_TOKEN_LEN + 1], h[HP_TOKEN_HASH_LEN + 1];

        (void)state;
        new_token(tok, h);
        assert_int_equal(hp_store_begin(s), 0);
        assert_int_equal(hp_store_token_add(s, "ci", h, HP_TOKEN_ADMIN, NULL), 0);
        assert_int_equal(hp_store_rollback(s), 0);
        check_is(s, h, NULL);
        assert_int_equal(raw_int_at(path, "SELECT count(*) FROM tokens"), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_add_list),    cmocka_unit_test(test_add_errors),
                cmocka_unit_test(test_check),       cmocka_unit_test(test_revoke),
                cmocka_unit_test(test_transaction), cmocka_unit_test(test_check_use_resolution),
                cmocka_unit_test(test_kept),        cmocka_unit_test(test_scope),
        };

        return run_store_tests("store-token", NULL, 0, tests, ELEMENTSOF(tests));
}
