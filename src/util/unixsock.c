/* Unix stream sockets by path: the address, and a connection to it. */
#include "unixsock.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
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

int hp_unix_connect(const char *path, int *ret)
{
        struct sockaddr_un sa;
        socklen_t len;
        _cleanup_close_ int fd = -1;
        int r = hp_unix_address(path, &sa, &len);

        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&sa, len) < 0)
                return -errno;
        *ret = TAKE_FD(fd);
        return 0;
}
