/* Unix stream sockets by path: the address, and a connection to it. */
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

/* path as a socket address; *ret_len covers the path and its NUL.
 * -ENAMETOOLONG when it does not fit. */
int hp_unix_address(const char *path, struct sockaddr_un *ret, socklen_t *ret_len);
/* A new stream socket (O_CLOEXEC) connected to path; connect's -errno
 * (-ENOENT, -ECONNREFUSED: nobody listens) otherwise. */
int hp_unix_connect(const char *path, int *ret);
