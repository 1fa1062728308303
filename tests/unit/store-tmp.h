/* Shared by the store's unit tests: a temporary directory per test group and
 * raw SQLite access to look at the file behind the store's back. Include after
 * <cmocka.h> and <sqlite3.h>. */
#pragma once

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static char tmp[64];

static inline char *path_in(const char *rel)
{
        char *p = NULL;

        assert_true(asprintf(&p, "%s/%s", tmp, rel) > 0);
        return p;
}

static inline int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        (void)st;
        (void)type;
        (void)ftw;
        return remove(path);
}

static inline int make_tmp(void **state)
{
        (void)state;
        snprintf(tmp, sizeof(tmp), "/tmp/hwpass-store-XXXXXX");
        assert_non_null(mkdtemp(tmp));
        return 0;
}

static inline int remove_tmp(void **state)
{
        (void)state;
        assert_int_equal(nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
        return 0;
}

static inline sqlite3 *raw_open(const char *path)
{
        sqlite3 *db = NULL;

        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        return db;
}
