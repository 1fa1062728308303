/* Unix stream sockets by path: the address, and a connection to it. */
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

/* path as a socket address; *ret_len covers the path and its NUL.
 * -ENAMETOOLONG when it does not fit. */
int hp_unix_address(const char *path, struct sockaddr_un *ret, socklen_t *ret_len);
/* A new stream socket (O_CLOEXEC) connected to path; connect's -errno
 * (-ENOENT, -ECONNREFUSED: nobody listens) otherwise. */
int hp_unix_connect(const char *path, int *ret);
/* A new listening stream socket (O_CLOEXEC) at path, with the file's mode
 * set; a socket file left at path is replaced. */
int hp_unix_listen(const char *path, mode_t mode, int *ret);
