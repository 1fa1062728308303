/* Unix stream sockets by path: the address, and a connection to it. */
#include "unixsock.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

int hp_unix_address(const char *path, struct sockaddr_un *ret, socklen_t *ret_len)
{
        size_t len = strlen(path);

        if (len >= sizeof(ret->sun_path))
                return -ENAMETOOLONG;
        *ret = (struct sockaddr_un){ .sun_family = AF_UNIX };
        memcpy(ret->sun_path, path, len + 1);
        *ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
        return 0;
}

/* A new stream socket and the address of path. */
static int unix_socket(const char *path, struct sockaddr_un *sa, socklen_t *len, int *ret)
{
        int r = hp_unix_address(path, sa, len);

        if (r < 0)
                return r;
        *ret = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        return *ret < 0 ? -errno : 0;
}

int hp_unix_connect(const char *path, int *ret)
{
        struct sockaddr_un sa;
        socklen_t len;
        _cleanup_close_ int fd = -1;
        int r = unix_socket(path, &sa, &len, &fd);

        if (r < 0)
                return r;
        if (connect(fd, (struct sockaddr *)&sa, len) < 0)
                return -errno;
        *ret = TAKE_FD(fd);
        return 0;
}

int hp_unix_listen(const char *path, mode_t mode, int *ret)
{
        struct sockaddr_un sa;
        socklen_t len;
        _cleanup_close_ int fd = -1;
        int r = unix_socket(path, &sa, &len, &fd);

        if (r < 0)
                return r;
        (void)unlink(path); /* a socket left by a process that died */
        if (bind(fd, (struct sockaddr *)&sa, len) < 0 || chmod(path, mode) < 0 || listen(fd, 64) < 0)
                return -errno;
        *ret = TAKE_FD(fd);
        return 0;
}
