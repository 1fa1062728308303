/* libpq, opened with dlopen() when a postgresql:// store is first opened.
 * Linked, it cost every hwpass run ~10 ms before main(): libpq pulls in
 * Kerberos, LDAP, OpenSSL and GnuTLS, and only a controller's store needs
 * them. The backend calls sym_PQ...(), the pointers hp_pq_load() fills. */
#pragma once

#include <libpq-fe.h>

#define HP_PQ_SYMBOLS(X)                                                                           \
        X(PQclear)                                                                                 \
        X(PQcmdTuples)                                                                             \
        X(PQconnectdbParams)                                                                       \
        X(PQerrorMessage)                                                                          \
        X(PQexec)                                                                                  \
        X(PQexecParams)                                                                            \
        X(PQexecPrepared)                                                                          \
        X(PQfinish)                                                                                \
        X(PQgetisnull)                                                                             \
        X(PQgetvalue)                                                                              \
        X(PQntuples)                                                                               \
        X(PQprepare)                                                                               \
        X(PQreset)                                                                                 \
        X(PQresultErrorField)                                                                      \
        X(PQresultErrorMessage)                                                                    \
        X(PQresultStatus)                                                                          \
        X(PQsetNoticeProcessor)                                                                    \
        X(PQsocket)                                                                                \
        X(PQstatus)                                                                                \
        X(PQtransactionStatus)

#define HP_PQ_DECLARE(name) extern __typeof__(name) *sym_##name;
HP_PQ_SYMBOLS(HP_PQ_DECLARE)
#undef HP_PQ_DECLARE

/* Loads libpq once per process (thread-safe); 0, or -ENOENT with
 * *ret_error (may be NULL) naming the package to install. */
int hp_pq_load(char **ret_error);
