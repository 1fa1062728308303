/* Unit tests: opening a store: the errors, the count of open stores, the
 * URL forms and the cluster's schemes, against real files in a temporary
 * directory. */
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
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "ops/ops.h"
#include "store/store.h"
#include "util/macro.h"

#include "store-tmp.h"
#include "store-config.h"

static void test_open_errors(void **state)
{
        _cleanup_free_ char *file = path_in("plain"), *under = path_in("plain/state.db");
        _cleanup_free_ char *dir = path_in("adir"), *error = NULL;
        struct hp_store *s = NULL;

        (void)state;
        write_file(file, "x", 1);
        /* A parent that is a file. */
        assert_int_equal(hp_store_open(under, &s, &error), -ENOTDIR);
        assert_non_null(strstr(error, file));
        free(TAKE_PTR(error));
        /* The path is a directory. */
        assert_int_equal(mkdir(dir, 0700), 0);
        assert_int_equal(hp_store_open(dir, &s, &error), -EISDIR);
        assert_non_null(strstr(error, dir));
        assert_int_equal(hp_store_open_readonly(dir, &s, NULL) < 0, 1);
        assert_int_equal(hp_store_open("", &s, NULL), -EINVAL);
        assert_null(s);
}

/* The count a launcher checks before it forks (vm/supervise.h): every open
 * store, read-write or read-only, and none left by a failed open. */
static void test_open_count(void **state)
{
        _cleanup_free_ char *path = path_in("count.db"), *dir = path_in("count-dir");
        unsigned base = hp_store_open_count();
        struct hp_store *a, *b = NULL;

        (void)state;
        a = open_ok(path);
        assert_int_equal(hp_store_open_count(), base + 1);
        assert_int_equal(hp_store_open_readonly(path, &b, NULL), 0);
        assert_int_equal(hp_store_open_count(), base + 2);
        hp_store_close(a);
        assert_int_equal(hp_store_open_count(), base + 1);
        hp_store_close(b);
        assert_int_equal(hp_store_open_count(), base);
        assert_int_equal(mkdir(dir, 0700), 0);
        b = NULL;
        assert_true(hp_store_open(dir, &b, NULL) < 0);
        assert_true(hp_store_open("nosuch://x", &b, NULL) < 0);
        assert_null(b);
        assert_int_equal(hp_store_open_count(), base);
}

/* The URL forms name the same file as its path; other schemes are refused
 * with what to use instead, and create nothing. */
static void test_open_url(void **state)
{
        _cleanup_free_ char *path = path_in("url/state.db"), *url = NULL, *url3 = NULL;
        _cleanup_free_ char *missing = NULL, *error = NULL, *cwd = get_current_dir_name();
        const char *const attrs[] = {"a=1", NULL};
        struct hp_dev_config c, got = {0};
        struct hp_store *s = NULL;
        struct stat st;

        (void)state;
        assert_non_null(cwd);
        assert_true(asprintf(&url, "sqlite:%s", path) > 0);
        assert_true(asprintf(&url3, "SQLite://%s", path) > 0);
        assert_true(asprintf(&missing, "sqlite:%s/url/none/state.db", tmp) > 0);

        s = open_ok(url);
        config_fill(&c, "0000:0d:00.0", "by url", attrs);
        assert_int_equal(hp_store_device_put(s, &c), 0);
        hp_store_close(s);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        /* The plain path and sqlite:///PATH open the same file. */
        s = open_ok(path);
        assert_int_equal(hp_store_device_get(s, "0000:0d:00.0", &got), 0);
        assert_string_equal(got.label, "by url");
        hp_dev_config_done(&got);
        hp_store_close(s);
        assert_int_equal(hp_store_open_readonly(url3, &s, NULL), 0);
        assert_int_equal(hp_store_device_get(s, "0000:0d:00.0", &got), 0);
        hp_dev_config_done(&got);
        hp_store_close(s);
        hp_dev_config_done(&c);

        /* Messages name the store as the caller wrote it. */
        s = NULL;
        assert_int_equal(hp_store_open_readonly(missing, &s, &error), -ENOENT);
        assert_null(s);
        assert_non_null(strstr(error, missing));
        free(TAKE_PTR(error));

        /* A relative path after "sqlite:", and a plain name holding a colon. */
        assert_int_equal(chdir(tmp), 0);
        hp_store_close(open_ok("sqlite:rel.db"));
        hp_store_close(open_ok("a:b.db"));
        assert_int_equal(chdir(cwd), 0);
        free(missing);
        missing = path_in("rel.db");
        assert_int_equal(stat(missing, &st), 0);
        free(missing);
        missing = path_in("a:b.db");
        assert_int_equal(stat(missing, &st), 0);

        /* Malformed sqlite: URLs. */
        assert_int_equal(hp_store_open("sqlite:", &s, &error), -EINVAL);
        assert_non_null(strstr(error, "names no file"));
        free(TAKE_PTR(error));
        assert_int_equal(hp_store_open_readonly("sqlite://", &s, &error), -EINVAL);
        assert_non_null(strstr(error, "names no file"));
        free(TAKE_PTR(error));
        assert_int_equal(hp_store_open("sqlite://db.example/x.db", &s, &error), -EINVAL);
        assert_non_null(strstr(error, "names a host"));
        free(TAKE_PTR(error));
        free(missing);
        assert_true(asprintf(&missing, "sqlite://%s/q.db?mode=ro", tmp) > 0);
        assert_int_equal(hp_store_open(missing, &s, &error), -EINVAL);
        assert_non_null(strstr(error, "query"));
        free(TAKE_PTR(error));
        assert_null(s);
}

#if HP_HAVE_LIBPQ
/* The cluster's database: served by the PostgreSQL backend. A server that
 * is not there (a socket directory with no socket: no network) is a clear
 * error that names the store without its password, and creates nothing. */
static void test_open_cluster_url(void **state)
{
        const char *const forms[] = {"postgresql://hwpass:secret@/hwpass?host=%s/nosocket",
                                     "postgres://hwpass:secret@/hwpass?host=%s/nosocket",
                                     "PostgreSQL:///hwpass?password=secret&host=%s/nosocket"};
        const char *const shown[] = {"postgresql://hwpass:***@/hwpass?host=",
                                     "postgres://hwpass:***@/hwpass?host=",
                                     "PostgreSQL:///hwpass?password=***&host="};
        _cleanup_free_ char *cwd = get_current_dir_name();
        struct hp_store *s = NULL;
        struct stat st;

        (void)state;
        assert_non_null(cwd);
        assert_int_equal(chdir(tmp), 0);
        for (size_t i = 0; i < ELEMENTSOF(forms); i++) {
                _cleanup_free_ char *url = NULL, *error = NULL, *error_ro = NULL;

                assert_true(asprintf(&url, forms[i], tmp) > 0);
                assert_int_equal(hp_store_open(url, &s, &error), -ECONNREFUSED);
                assert_int_equal(hp_store_open_readonly(url, &s, &error_ro), -ECONNREFUSED);
                assert_null(s);
                assert_string_equal(error, error_ro);
                assert_null(strstr(error, "secret"));
                assert_non_null(strstr(error, shown[i]));
                assert_non_null(strstr(error, "Failed to connect to state database"));
                assert_non_null(strstr(error, "check that the server runs"));
        }
        assert_int_equal(stat("postgresql:", &st), -1);
        assert_int_equal(stat("postgres:", &st), -1);
        assert_int_equal(stat("PostgreSQL:", &st), -1);
        assert_int_equal(stat("nosocket", &st), -1);
#else
/* A build without libpq refuses the cluster's database, with what to do,
 * without quoting the URL (it may hold a password), creating nothing. */
static void test_open_cluster_url(void **state)
{
        static const char want[] =
                "postgresql: URLs are for the cluster's controllers (hwpassd --role controller), "
                "not supported by this build (it was built without libpq); use sqlite:PATH or a "
                "file path";
        const char *const urls[] = {"postgresql://hwpass:secret@db.example/hwpass",
                                    "postgres://hwpass:secret@db.example/hwpass",
                                    "PostgreSQL:///hwpass"};
        _cleanup_free_ char *cwd = get_current_dir_name();
        struct hp_store *s = NULL;
        struct stat st;

        (void)state;
        assert_non_null(cwd);
        assert_int_equal(chdir(tmp), 0);
        for (size_t i = 0; i < ELEMENTSOF(urls); i++) {
                _cleanup_free_ char *error = NULL, *error_ro = NULL;

                assert_int_equal(hp_store_open(urls[i], &s, &error), -EPROTONOSUPPORT);
                assert_int_equal(hp_store_open_readonly(urls[i], &s, &error_ro), -EPROTONOSUPPORT);
                assert_null(s);
                assert_string_equal(error, error_ro);
                assert_null(strstr(error, "secret"));
                if (i == 0)
                        assert_string_equal(error, want);
                else if (i == 1)
                        assert_non_null(strstr(error, "postgres: URLs are for the cluster's"));
        }
        assert_int_equal(stat("postgresql:", &st), -1);
        assert_int_equal(stat("postgres:", &st), -1);
        assert_int_equal(stat("PostgreSQL:", &st), -1);
#endif

        /* A scheme nobody serves is refused, whatever the build. */
        {
                _cleanup_free_ char *error = NULL;

                assert_int_equal(hp_store_open("mysql://root:secret@db/x", &s, &error),
                                 -EPROTONOSUPPORT);
                assert_non_null(strstr(error, "mysql: URLs name no store"));
                assert_null(strstr(error, "secret"));
                assert_int_equal(stat("mysql:", &st), -1);
        }
        assert_int_equal(chdir(cwd), 0);
}

/* What messages show of a store's name: never its password. */
static void test_display_name(void **state)
{
        const char *const cases[][2] = {
                {"postgresql://hwpass:pw@db/hwpass", "postgresql://hwpass:***@db/hwpass"},
                {"postgres:///hwpass?user=u&password=pw&host=/run/pg",
                 "postgres:///hwpass?user=u&password=***&host=/run/pg"},
                {"postgresql://u:a@b@db:5432/x?password=c#f",
                 "postgresql://u:***@db:5432/x?password=***#f"},
                {"postgresql://u@db/x", "postgresql://u@db/x"},
                {"postgresql:///x?host=/tmp/a:b@c", "postgresql:///x?host=/tmp/a:b@c"},
                {"/var/lib/hwpass/hwpass.db", "/var/lib/hwpass/hwpass.db"},
                {"sqlite:a:b@c.db", "sqlite:a:b@c.db"},
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *got = hp_store_display_name(cases[i][0]);

                assert_non_null(got);
                assert_string_equal(got, cases[i][1]);
        }
}

/* The operations quote their store in errors: as hp_store_display_name() shows it. */
static void test_op_message_hides_password(void **state)
{
        struct hp_ops_ctx c = {.db = "postgresql://hwpass:pw-5521@db/hwpass"};

        (void)state;
        assert_int_equal(hp_op_host_error(&c, -EIO, "cannot store VM 'a' in '%s' (%s)", c.db, c.db),
                         -EIO);
        assert_non_null(c.error.message);
        assert_null(strstr(c.error.message, "pw-5521"));
        assert_non_null(strstr(c.error.message, "in 'postgresql://hwpass:***@db/hwpass' "
                                                "(postgresql://hwpass:***@db/hwpass)"));
        hp_op_error_done(&c.error);
        /* A path is quoted as it is. */
        c.db = "/var/lib/hwpass/a:b@c.db";
        assert_int_equal(hp_op_fail(&c, HP_OP_HOST, -EIO, "cannot read '%s'", c.db), -EIO);
        assert_string_equal(c.error.message, "cannot read '/var/lib/hwpass/a:b@c.db'");
        hp_op_error_done(&c.error);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_open_errors),
                cmocka_unit_test(test_open_count),
                cmocka_unit_test(test_open_url),
                cmocka_unit_test(test_open_cluster_url),
                cmocka_unit_test(test_display_name),
                cmocka_unit_test(test_op_message_hides_password),
        };

        return cmocka_run_group_tests_name("store-open", tests, make_tmp, remove_tmp);
}
