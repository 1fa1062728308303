/* Whether the network reaches an address: a TCP connection is tried and
 * dropped at once. An answer of any kind counts, a refusal included (a
 * host whose service is down still answers for its network); silence, an
 * unreachable network or host, or a name that does not resolve does not. */
#pragma once

#include <stdbool.h>

/* where: "HOST:PORT", "[V6]:PORT", or a URL "scheme://HOST[:PORT][/...]"
 * (port 443 for https, 80 for http when it has none). Waits at most
 * timeout_ms for each address the name resolves to. */
bool hp_net_answers(const char *where, int timeout_ms);
