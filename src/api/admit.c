/* Who may hold a TCP connection before showing a token. Connections that
 * have not yet sent a request with a valid bearer token are bounded per
 * endpoint; when one more comes, the oldest of them is dropped, so idle or
 * slow clients can fill neither the slots nor the queue in front of a client
 * with a token, who sends its request at once. Not per address: agents
 * behind one NAT share theirs. */
#include <microhttpd.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "api/api-internal.h"

/* One TCP connection, from libmicrohttpd's start notice to its close notice. */
struct hp_api_conn {
        struct hp_api_conn *prev, *next; /* in gate's pending list while pending */
        struct hp_api_gate *gate;
        int fd;
        bool pending;
};

struct hp_api_limits hp_api_limits_or_default(const struct hp_api_limits *l)
{
        return (struct hp_api_limits){
                .header_timeout = l->header_timeout ? l->header_timeout : HP_API_HEADER_TIMEOUT,
                .idle_timeout = l->idle_timeout ? l->idle_timeout : HP_API_IDLE_TIMEOUT,
                .max_connections = l->max_connections ? l->max_connections : HP_API_MAX_CONNECTIONS,
                .max_unauthenticated = l->max_unauthenticated ? l->max_unauthenticated
                                                              : HP_API_MAX_UNAUTHENTICATED,
        };
}

void hp_api_gate_init(struct hp_api_gate *g, unsigned max_pending)
{
        *g = (struct hp_api_gate){ .max = max_pending ? max_pending : 1 };
        pthread_mutex_init(&g->lock, NULL);
}

void hp_api_gate_done(struct hp_api_gate *g)
{
        pthread_mutex_destroy(&g->lock);
}

/* Under g->lock. */
static void unlink_pending(struct hp_api_gate *g, struct hp_api_conn *c)
{
        if (!c->pending)
                return;
        if (c->prev)
                c->prev->next = c->next;
        else
                g->head = c->next;
        if (c->next)
                c->next->prev = c->prev;
        else
                g->tail = c->prev;
        c->prev = c->next = NULL;
        c->pending = false;
        g->n--;
}

/* Under g->lock: the oldest pending connection is shut down. Its socket
 * stays open (libmicrohttpd closes it after its close notice, which waits
 * for this lock), so the descriptor cannot be another's yet. Its thread
 * sees the end of the stream and closes the connection. */
static void drop_oldest(struct hp_api_gate *g)
{
        struct hp_api_conn *c = g->head;

        unlink_pending(g, c);
        (void)shutdown(c->fd, SHUT_RDWR);
}

static void started(struct hp_api_gate *g, struct MHD_Connection *conn, void **socket_context)
{
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct hp_api_conn *c = calloc(1, sizeof(*c));

        if (!c || !ci) {
                free(c);
                return; /* untracked: it still times out with the header timeout */
        }
        c->gate = g;
        c->fd = ci->connect_fd;
        pthread_mutex_lock(&g->lock);
        if (g->n >= g->max)
                drop_oldest(g);
        c->prev = g->tail;
        if (g->tail)
                g->tail->next = c;
        else
                g->head = c;
        g->tail = c;
        c->pending = true;
        g->n++;
        pthread_mutex_unlock(&g->lock);
        *socket_context = c;
}

void hp_api_gate_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe)
{
        struct hp_api_gate *g = cls;
        struct hp_api_conn *c = *socket_context;

        if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
                started(g, conn, socket_context);
                return;
        }
        if (!c)
                return;
        pthread_mutex_lock(&g->lock);
        unlink_pending(g, c);
        pthread_mutex_unlock(&g->lock);
        free(c);
        *socket_context = NULL;
}

void hp_api_gate_pass(struct MHD_Connection *conn)
{
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        struct hp_api_conn *c = ci ? ci->socket_context : NULL;

        if (!c)
                return;
        pthread_mutex_lock(&c->gate->lock);
        unlink_pending(c->gate, c);
        pthread_mutex_unlock(&c->gate->lock);
}
