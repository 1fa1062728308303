/* The libpq symbols the PostgreSQL backend uses, resolved at its first
 * open (see pg-lib.h for why not at link time). */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

#include "pg-lib.h"
#include "util/macro.h"
#include "util/strutil.h"

#define LIBPQ_SONAME "libpq.so.5"

#define HP_PQ_DEFINE(name) __typeof__(name) *sym_##name;
HP_PQ_SYMBOLS(HP_PQ_DEFINE)
#undef HP_PQ_DEFINE

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char why[256]; /* empty once every symbol is there */

static void load(void)
{
        /* Kept open until exit, like any library a process links. */
        void *lib = dlopen(LIBPQ_SONAME, RTLD_NOW | RTLD_LOCAL);
        const char *e;

        if (!lib) {
                e = dlerror();
                snprintf(why, sizeof(why), "%s", e ? e : LIBPQ_SONAME);
                return;
        }
#define HP_PQ_RESOLVE(name)                                                                        \
        if (!(*(void **)&sym_##name = dlsym(lib, #name)) && !why[0])                              \
                snprintf(why, sizeof(why), "%s has no %s", LIBPQ_SONAME, #name);
        HP_PQ_SYMBOLS(HP_PQ_RESOLVE)
#undef HP_PQ_RESOLVE
}

int hp_pq_load(char **ret_error)
{
        pthread_once(&once, load);
        if (why[0])
                return hp_errorf(ret_error, -ENOENT,
                                 "Cannot use a PostgreSQL store (%s); install the libpq5 package",
                                 why);
        return 0;
}
