/* The API's client side: JSON requests to hwpassd over its Unix socket, or
 * over HTTPS to the cluster's controllers, trying each in turn when one does
 * not answer (docs/cluster.md). An agent keeps one client for its life, so
 * its connection (and TLS session) to a controller is reused from one
 * heartbeat to the next. libcurl is opened at run time, on first use: a
 * command that never talks to a daemon does not pay for loading it. */
#pragma once

#include <jansson.h>
#include <stddef.h>

struct hp_client;

struct hp_client_options {
        /* Where to send requests: a Unix socket path, or the controllers'
         * base URLs ("https://ctl1:8471"; "http://" only on loopback), tried
         * in order starting from the one that answered last. */
        const char *unix_socket;
        char *const *urls;
        size_t n_urls;
        const char *ca_file;     /* the cluster CA's certificate (https); required */
        const char *bearer;      /* sent as "Authorization: Bearer ...", or NULL */
        char *const *headers;    /* more "Name: value" headers, NULL-terminated, or NULL */
        unsigned connect_timeout_ms; /* 0: 2000 */
        unsigned timeout_ms;         /* a whole request; 0: none */
};

/* Copies what it needs of o. -EINVAL with *ret_error for options that cannot
 * work (no destination, a URL that is not http(s)://, plain http off
 * loopback, https without a CA); -ENOENT with *ret_error when libcurl is not
 * installed. */
int hp_client_new(const struct hp_client_options *o, struct hp_client **ret, char **ret_error);
void hp_client_free(struct hp_client *c);
static inline void hp_client_freep(struct hp_client **c)
{
        hp_client_free(*c);
}

/* METHOD path (from "/") with body (NULL: none) to the current destination.
 * An HTTP answer of any status is an answer: *ret_status and *ret (its JSON,
 * NULL for an empty body). When a controller does not answer (no connection,
 * a TLS failure, a timeout), the next is tried, each once per call.
 * -EHOSTUNREACH with *ret_error naming each controller tried and why when
 * none answered; -EBADMSG when the answer is not JSON; -ENOMEM. */
int hp_client_call(struct hp_client *c, const char *method, const char *path, json_t *body, long *ret_status,
                   json_t **ret, char **ret_error);
/* The URL (or socket) that answered last, or the first when none has yet. */
const char *hp_client_current(const struct hp_client *c);
