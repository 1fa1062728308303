/* Unit tests: the API's TCP endpoints as --listen tcp:ADDR:PORT names them,
 * and which of them are loopback (where plain HTTP is allowed). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/server.h"
#include "util/macro.h"

static void parses_as(const char *spec, int family, const char *text, bool loopback)
{
        struct hp_api_tcp_addr a;
        _cleanup_free_ char *err = NULL;

        assert_int_equal(hp_api_parse_tcp(spec, &a, &err), 0);
        assert_null(err);
        assert_int_equal(a.sa.ss_family, family);
        assert_int_equal(a.sa_len, family == AF_INET ? sizeof(struct sockaddr_in)
                                                     : sizeof(struct sockaddr_in6));
        assert_string_equal(a.text, text);
        assert_int_equal(a.loopback, loopback);
}

static void refused(const char *spec, const char *why)
{
        struct hp_api_tcp_addr a = { .text = "untouched" };
        _cleanup_free_ char *err = NULL;

        assert_int_equal(hp_api_parse_tcp(spec, &a, &err), -EINVAL);
        assert_non_null(err);
        if (!strstr(err, why))
                fail_msg("'%s': '%s' does not say '%s'", spec, err, why);
        assert_string_equal(a.text, "untouched");
}

static void test_ipv4(void **state)
{
        struct hp_api_tcp_addr a;
        const struct sockaddr_in *sa = (const struct sockaddr_in *)&a.sa;

        (void)state;
        parses_as("127.0.0.1:8443", AF_INET, "127.0.0.1:8443", true);
        parses_as("127.10.20.30:1", AF_INET, "127.10.20.30:1", true);
        parses_as("0.0.0.0:65535", AF_INET, "0.0.0.0:65535", false);
        parses_as("192.168.1.10:8443", AF_INET, "192.168.1.10:8443", false);
        parses_as("128.0.0.1:8443", AF_INET, "128.0.0.1:8443", false);
        parses_as("126.255.255.255:8443", AF_INET, "126.255.255.255:8443", false);
        assert_int_equal(hp_api_parse_tcp("127.0.0.1:8443", &a, NULL), 0);
        assert_int_equal(ntohs(sa->sin_port), 8443);
        assert_int_equal(ntohl(sa->sin_addr.s_addr), 0x7f000001);
}

static void test_ipv6(void **state)
{
        struct hp_api_tcp_addr a;
        const struct sockaddr_in6 *sa = (const struct sockaddr_in6 *)&a.sa;

        (void)state;
        parses_as("[::1]:8443", AF_INET6, "[::1]:8443", true);
        parses_as("[0:0:0:0:0:0:0:1]:8443", AF_INET6, "[::1]:8443", true);
        parses_as("[::]:8443", AF_INET6, "[::]:8443", false);
        parses_as("[fe80::1]:80", AF_INET6, "[fe80::1]:80", false);
        /* Loopback is ::1 only, not IPv4's loopback written as IPv6. */
        parses_as("[::ffff:127.0.0.1]:8443", AF_INET6, "[::ffff:127.0.0.1]:8443", false);
        assert_int_equal(hp_api_parse_tcp("[::1]:443", &a, NULL), 0);
        assert_int_equal(ntohs(sa->sin6_port), 443);
}

static void test_refused(void **state)
{
        (void)state;
        refused("8443", "is not ADDR:PORT");
        refused("127.0.0.1", "is not ADDR:PORT");
        refused(":8443", "is not an IP address");
        refused("localhost:8443", "names are not looked up");
        refused("127.0.0.256:8443", "is not an IPv4 address");
        refused("::1:8443", "in brackets");
        refused("[::1]8443", "is not ADDR:PORT");
        refused("[::1]", "is not ADDR:PORT");
        refused("[]:8443", "is not an IP address");
        refused("[127.0.0.1]:8443", "is not an IPv6 address");
        refused("[::1%lo]:8443", "is not an IPv6 address");
        refused("127.0.0.1:", "invalid port");
        refused("127.0.0.1:0", "invalid port");
        refused("127.0.0.1:65536", "invalid port");
        refused("127.0.0.1:-1", "invalid port");
        refused("127.0.0.1: 80", "invalid port");
        refused("127.0.0.1:0x50", "invalid port");
        refused("127.0.0.1:80x", "invalid port");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ipv4),
                cmocka_unit_test(test_ipv6),
                cmocka_unit_test(test_refused),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
