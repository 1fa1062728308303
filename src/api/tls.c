/* The certificate and key the TCP endpoints serve, swapped while they run.
 *
 * libmicrohttpd loads a pair given as MHD_OPTION_HTTPS_MEM_CERT/KEY once,
 * into credentials it keeps to itself: a running daemon cannot be given
 * another. With MHD_OPTION_HTTPS_CERT_CALLBACK it asks GnuTLS to call us
 * instead, at every handshake (gnutls_certificate_set_retrieve_function2),
 * for the pair to present: the one we hold now. A reload reads and checks
 * the files, and only a good pair replaces the one served; new connections
 * get it, connections open already keep theirs. The listening sockets and
 * the connections are never touched.
 *
 * GnuTLS neither copies nor frees what the callback returns, and a session
 * may refer to its pair until it ends: a replaced pair is kept until the
 * endpoints stop (a few kilobytes per reload). The callback is given the
 * session only (no closure, and libmicrohttpd does not document what it
 * stores in the session), so the pair is this process's: one server, one
 * pair for all its endpoints, as hwpassd's --tls-cert and --tls-key are. */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api-internal.h"
#include "api/server.h"
#include "util/io.h"
#include "util/macro.h"
#include "util/strutil.h"

/* Larger than any certificate chain or key hwpassd is given. */
#define PEM_MAX (1024 * 1024)
/* The leaf and its intermediates. */
#define CHAIN_MAX 8

struct pair {
        struct pair *older; /* the pair this one replaced */
        gnutls_pcert_st chain[CHAIN_MAX];
        unsigned n_chain;
        gnutls_privkey_t key;
        struct hp_api_tls_info info;
};

/* The server whose endpoints serve the pair, the pair, and what it replaced. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const struct hp_api *owner;
static struct pair *serving;
static char *cert_path, *key_path;

static void pair_free(struct pair *p)
{
        if (!p)
                return;
        for (unsigned i = 0; i < p->n_chain; i++)
                gnutls_pcert_deinit(&p->chain[i]);
        if (p->key)
                gnutls_privkey_deinit(p->key);
        free(p);
}

static void pair_freep(struct pair **p)
{
        pair_free(*p);
}

static void bzero_freep(char **s)
{
        if (*s)
                explicit_bzero(*s, strlen(*s));
        free(*s);
}

/* The whole of a PEM file, NUL-terminated. */
static int read_pem(const char *path, const char *what, char **ret, char **ret_error)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        struct stat st;
        int r;

        if (fd < 0 || fstat(fd, &st) < 0) {
                r = -errno;
                return hp_errorf(ret_error, r, "cannot read the TLS %s '%s': %s", what, path, strerror(-r));
        }
        if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > PEM_MAX)
                return hp_errorf(ret_error, -EINVAL,
                                 "the TLS %s '%s' is not a PEM file (empty, too large, or not a file)", what, path);
        r = hp_read_all(fd, PEM_MAX, ret, NULL);
        if (r < 0)
                return hp_errorf(ret_error, r, "cannot read the TLS %s '%s': %s", what, path, strerror(-r));
        return 0;
}

/* Would GnuTLS serve this pair (the key the certificate's)? Its own words when not. */
static int check_pair(const struct hp_api_tls *tls, const gnutls_datum_t *c, const gnutls_datum_t *k,
                      char **ret_error)
{
        gnutls_certificate_credentials_t cred;
        int rc;

        if (gnutls_certificate_allocate_credentials(&cred) < 0)
                return -ENOMEM;
        rc = gnutls_certificate_set_x509_key_mem(cred, c, k, GNUTLS_X509_FMT_PEM);
        gnutls_certificate_free_credentials(cred);
        if (rc < 0)
                return hp_errorf(ret_error, -EINVAL,
                                 "the TLS certificate '%s' and key '%s' cannot be used (GnuTLS: %s): give a PEM "
                                 "certificate and its own unencrypted PEM key",
                                 tls->cert_path, tls->key_path, gnutls_strerror(rc));
        return 0;
}

/* The leaf's subject, validity and SHA-256 fingerprint ("AB:CD:..", as
 * 'openssl x509 -fingerprint -sha256' writes it). */
static int describe(const gnutls_datum_t *der, struct hp_api_tls_info *ret)
{
        gnutls_x509_crt_t crt;
        gnutls_datum_t dn = { 0 };
        unsigned char md[32];
        size_t md_len = sizeof(md);
        int rc;

        if (gnutls_x509_crt_init(&crt) < 0)
                return -ENOMEM;
        rc = gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER);
        if (rc >= 0)
                rc = gnutls_x509_crt_get_dn3(crt, &dn, 0);
        if (rc >= 0) {
                snprintf(ret->subject, sizeof(ret->subject), "%s", (const char *)dn.data);
                ret->not_before = gnutls_x509_crt_get_activation_time(crt);
                ret->not_after = gnutls_x509_crt_get_expiration_time(crt);
                rc = gnutls_fingerprint(GNUTLS_DIG_SHA256, der, md, &md_len);
        }
        gnutls_free(dn.data);
        gnutls_x509_crt_deinit(crt);
        if (rc < 0)
                return -EINVAL;
        for (size_t i = 0; i < md_len && 3 * i < sizeof(ret->fingerprint); i++)
                snprintf(ret->fingerprint + 3 * i, sizeof(ret->fingerprint) - 3 * i, "%02X%s", md[i],
                         i + 1 < md_len ? ":" : "");
        return 0;
}

/* Both files read, checked to belong together, and made ready to serve. */
static int load(const struct hp_api_tls *tls, struct pair **ret, char **ret_error)
{
        _cleanup_(bzero_freep) char *key = NULL;
        _cleanup_free_ char *cert = NULL;
        _cleanup_(pair_freep) struct pair *p = calloc(1, sizeof(*p));
        gnutls_datum_t c, k;
        int r, rc;

        if (!p)
                return -ENOMEM;
        r = read_pem(tls->cert_path, "certificate", &cert, ret_error);
        if (r >= 0)
                r = read_pem(tls->key_path, "key", &key, ret_error);
        if (r < 0)
                return r;
        c = (gnutls_datum_t){ (unsigned char *)cert, (unsigned)strlen(cert) };
        k = (gnutls_datum_t){ (unsigned char *)key, (unsigned)strlen(key) };
        r = check_pair(tls, &c, &k, ret_error);
        if (r < 0)
                return r;
        p->n_chain = CHAIN_MAX;
        rc = gnutls_pcert_list_import_x509_raw(p->chain, &p->n_chain, &c, GNUTLS_X509_FMT_PEM, 0);
        if (rc < 0) {
                p->n_chain = 0;
                return hp_errorf(ret_error, -EINVAL, "the TLS certificate '%s' cannot be used (GnuTLS: %s)",
                                 tls->cert_path, gnutls_strerror(rc));
        }
        if (gnutls_privkey_init(&p->key) < 0)
                return -ENOMEM;
        rc = gnutls_privkey_import_x509_raw(p->key, &k, GNUTLS_X509_FMT_PEM, NULL, 0);
        if (rc < 0)
                return hp_errorf(ret_error, -EINVAL, "the TLS key '%s' cannot be used (GnuTLS: %s)", tls->key_path,
                                 gnutls_strerror(rc));
        if (describe(&p->chain[0].cert, &p->info) < 0)
                return hp_errorf(ret_error, -EINVAL, "the TLS certificate '%s' cannot be read", tls->cert_path);
        *ret = TAKE_PTR(p);
        return 0;
}

/* GnuTLS's question at each handshake: the pair served now. */
static int retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **ret_chain,
                    unsigned *ret_length, gnutls_privkey_t *ret_key)
{
        const struct pair *p;

        (void)session;
        (void)req_ca_dn;
        (void)nreqs;
        (void)pk_algos;
        (void)pk_algos_length;
        pthread_mutex_lock(&lock);
        p = serving;
        pthread_mutex_unlock(&lock);
        /* Never freed while the endpoints run: p outlives the lock. */
        if (!p)
                return -1;
        *ret_chain = (gnutls_pcert_st *)p->chain;
        *ret_length = p->n_chain;
        *ret_key = p->key;
        return 0;
}

gnutls_certificate_retrieve_function2 *hp_api_tls_callback(void)
{
        return retrieve;
}

int hp_api_tls_start(struct hp_api *a, const struct hp_api_tls *tls, char **ret_error)
{
        _cleanup_free_ char *c = NULL, *k = NULL;
        struct pair *p = NULL;
        int r;

        if (owner == a) {
                if (streq(cert_path, tls->cert_path) && streq(key_path, tls->key_path))
                        return 0;
                return hp_errorf(ret_error, -EINVAL, "every TLS endpoint serves the same certificate and key");
        }
        if (owner)
                return hp_errorf(ret_error, -EBUSY, "another server in this process serves TLS already");
        if (!(c = strdup(tls->cert_path)) || !(k = strdup(tls->key_path)))
                return -ENOMEM;
        r = load(tls, &p, ret_error);
        if (r < 0)
                return r;
        pthread_mutex_lock(&lock);
        serving = p;
        pthread_mutex_unlock(&lock);
        owner = a;
        cert_path = TAKE_PTR(c);
        key_path = TAKE_PTR(k);
        return 0;
}

void hp_api_tls_stop(struct hp_api *a)
{
        struct pair *p;

        if (!a || owner != a)
                return;
        /* The endpoints stopped first: no handshake asks any more. */
        pthread_mutex_lock(&lock);
        p = TAKE_PTR(serving);
        pthread_mutex_unlock(&lock);
        while (p) {
                struct pair *older = p->older;

                pair_free(p);
                p = older;
        }
        owner = NULL;
        free(TAKE_PTR(cert_path));
        free(TAKE_PTR(key_path));
}

int hp_api_tls_current(const struct hp_api *a, struct hp_api_tls_info *ret)
{
        if (!a || owner != a)
                return -ENOENT;
        pthread_mutex_lock(&lock);
        *ret = serving->info;
        pthread_mutex_unlock(&lock);
        ret->cert_path = cert_path;
        return 0;
}

int hp_api_tls_reload(struct hp_api *a, struct hp_api_tls_info *ret, char **ret_error)
{
        struct hp_api_tls tls = { .cert_path = cert_path, .key_path = key_path };
        struct pair *p = NULL;
        char until[32];
        time_t now = time(NULL);
        struct tm tm;
        int r;

        *ret_error = NULL;
        if (!a || owner != a)
                return hp_errorf(ret_error, -ENOENT, "no TLS endpoint: nothing to reload");
        r = load(&tls, &p, ret_error);
        if (r < 0)
                return r;
        /* A pair agents would refuse is not worth swapping in for the one they accept. */
        if (p->info.not_after != (time_t)-1 && p->info.not_after <= now) {
                until[0] = '\0';
                if (gmtime_r(&(time_t){ p->info.not_after }, &tm))
                        strftime(until, sizeof(until), "%Y-%m-%d %H:%M UTC", &tm);
                pair_free(p);
                return hp_errorf(ret_error, -EKEYEXPIRED,
                                 "the TLS certificate '%s' expired on %s: renew it ('hwpass cluster cert DIR NAME "
                                 "--renew') and copy the new pair here",
                                 cert_path, until);
        }
        pthread_mutex_lock(&lock);
        p->older = serving;
        serving = p;
        pthread_mutex_unlock(&lock);
        *ret = p->info;
        ret->cert_path = cert_path;
        return 0;
}
