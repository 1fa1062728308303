/* Locks on files that name their holder: see lockfile.h. */
#include "lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "strutil.h"

static void read_holder(int fd, char *buf, size_t size)
{
        ssize_t n = pread(fd, buf, size - 1, 0);

        buf[n > 0 ? n : 0] = '\0';
        hp_strstrip(buf);
        if (!buf[0])
                snprintf(buf, size, "another operation");
}

int hp_lockfile_take(const char *path, int wait_ms, const char *what, char *holder, size_t size)
{
        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        char line[160];

        if (fd < 0)
                return -errno;
        for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited += 5) {
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return -errno;
                if (waited >= wait_ms) {
                        read_holder(fd, holder, size);
                        return -EWOULDBLOCK;
                }
                nanosleep(&(struct timespec){ .tv_nsec = 5 * 1000 * 1000 }, NULL);
        }
        if (what)
                snprintf(line, sizeof(line), "pid %ld (%s)\n", (long)getpid(), what);
        else
                snprintf(line, sizeof(line), "pid %ld\n", (long)getpid());
        /* Written over, then cut to length: truncating to zero first makes
         * ext4 flush the file at close (its guard for replace-by-truncate),
         * a millisecond on every lock. */
        if (pwrite(fd, line, strlen(line), 0) == (ssize_t)strlen(line))
                (void)!ftruncate(fd, (off_t)strlen(line));
        return TAKE_FD(fd);
}
