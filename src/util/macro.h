/* Ownership helpers: cleanup attributes so ownership is visible where a
 * variable is declared, and TAKE_PTR to hand an object over at the end. */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void hp_freep(void *p)
{
        free(*(void **)p);
}

static inline void hp_closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

static inline void hp_fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}

#define _cleanup_free_ _cleanup_(hp_freep)
#define _cleanup_close_ _cleanup_(hp_closep)
#define _cleanup_fclose_ _cleanup_(hp_fclosep)

/* Returns the pointer and clears the variable, so its cleanup does nothing. */
#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) _p = (p);                                                            \
                (p) = NULL;                                                                        \
                _p;                                                                                \
        })

#define TAKE_FD(fd)                                                                                \
        ({                                                                                         \
                int _fd = (fd);                                                                    \
                (fd) = -1;                                                                         \
                _fd;                                                                               \
        })

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
/* A macro's value as a string literal: HP_STR(5) is "5". */
#define HP_STR_(x) #x
#define HP_STR(x) HP_STR_(x)

#define streq(a, b) (strcmp((a), (b)) == 0)
