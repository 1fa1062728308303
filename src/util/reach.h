/* Whether the network reaches any of some addresses: TCP connections are
 * tried and dropped at once. An answer of any kind counts, a refusal
 * included (a host whose service is down still answers for its network);
 * silence, an unreachable network or host, or a name that does not resolve
 * does not. */
#pragma once

#include <stdbool.h>

/* where: NULL-terminated, each "HOST:PORT", "[V6]:PORT", or a URL
 * "scheme://HOST[:PORT][/...]" (port 443 for https, 80 for http when it has
 * none). Every address the names resolve to is tried at once, for
 * timeout_ms in all: a slow answer within it counts, and an address whose
 * network is unreachable at first is tried again while the time lasts. */
bool hp_net_answers(char *const *where, int timeout_ms);
