/* Unit tests: whether the network answers (util/reach.h), the question an
 * agent asks before its isolation response. A listener whose accept queue
 * is full drops a SYN, so a connection to it is answered only by the SYN's
 * retransmission, a second later: a slow network, on loopback. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/macro.h"
#include "util/reach.h"

/* A listener on 127.0.0.1; its "127.0.0.1:PORT" into where. */
static int listener(int backlog, char *where, size_t size)
{
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(listen(fd, backlog), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
        snprintf(where, size, "127.0.0.1:%u", ntohs(sa.sin_port));
        return fd;
}

/* A connection that fills a backlog-0 listener's accept queue. */
static int fill(const char *where)
{
        struct sockaddr_in sa = { .sin_family = AF_INET };
        unsigned port;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_int_equal(sscanf(where, "127.0.0.1:%u", &port), 1);
        sa.sin_port = htons((uint16_t)port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        return fd;
}

static void test_refusal_answers(void **state)
{
        char where[64];
        int fd = listener(1, where, sizeof(where));

        (void)state;
        close(fd); /* nothing listens there now: the host refuses */
        assert_true(hp_net_answers((char *[]){ where, NULL }, 1000));
        assert_true(hp_net_answers((char *[]){ (char *)"http://127.0.0.1:1", NULL }, 1000));
}

static void test_nothing_to_ask(void **state)
{
        (void)state;
        assert_false(hp_net_answers(NULL, 100));
        assert_false(hp_net_answers((char *[]){ NULL }, 100));
        assert_false(
                hp_net_answers((char *[]){ (char *)"no port here", (char *)"[::1", NULL }, 100));
}

static void *accept_later(void *userdata)
{
        int fd = *(int *)userdata;

        usleep(300 * 1000);
        close(accept(fd, NULL, NULL));
        return NULL;
}

/* Silent for a second, then answering: not answered within 300 ms; within
 * three seconds it is, though its first SYN was dropped. */
static void test_slow_answer_counts(void **state)
{
        char where[64];
        _cleanup_close_ int fd = listener(0, where, sizeof(where));
        _cleanup_close_ int filler = fill(where);
        pthread_t t;

        (void)state;
        assert_false(hp_net_answers((char *[]){ where, NULL }, 300));
        assert_int_equal(pthread_create(&t, NULL, accept_later, &fd), 0);
        assert_true(hp_net_answers((char *[]){ where, NULL }, 3000));
        pthread_join(t, NULL);
}

/* Every address at once: a silent first one does not take the time of the
 * one after it. */
static void test_every_address_at_once(void **state)
{
        char silent[64], gone[64];
        _cleanup_close_ int fd = listener(0, silent, sizeof(silent));
        _cleanup_close_ int filler = fill(silent);

        (void)state;
        close(listener(1, gone, sizeof(gone)));
        assert_true(hp_net_answers((char *[]){ silent, silent, silent, gone, NULL }, 300));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_refusal_answers),
                cmocka_unit_test(test_nothing_to_ask),
                cmocka_unit_test(test_slow_answer_counts),
                cmocka_unit_test(test_every_address_at_once),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
