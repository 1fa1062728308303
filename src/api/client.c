/* A JSON client over libcurl, opened with dlopen() on first use, with a
 * list of destinations to fail over between. A request that surely never
 * left (no connection, the TLS handshake failed) goes to the next
 * destination at once; one that may have been carried out (sent, then no
 * answer) is not repeated elsewhere: the caller hears of it, and the next
 * call starts with the next destination. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "client.h"
#include "util/io.h"
#include "util/macro.h"
#include "util/strutil.h"

#define ANSWER_MAX (64 * 1024 * 1024)
#define CONNECT_TIMEOUT_MS 2000

struct curl_fns {
        CURL *(*init)(void);
        CURLcode (*setopt)(CURL *, CURLoption, ...);
        CURLcode (*perform)(CURL *);
        CURLcode (*getinfo)(CURL *, CURLINFO, ...);
        void (*cleanup)(CURL *);
        const char *(*strerror)(CURLcode);
        struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
        void (*slist_free_all)(struct curl_slist *);
};

struct hp_client {
        struct curl_fns f;
        char *unix_socket;
        char **urls; /* NULL-terminated; one "http://hwpassd" for a socket */
        size_t n_urls, current;
        char *ca_file;
        struct curl_slist *headers;
        long connect_timeout_ms, timeout_ms;
        CURL **handles; /* one per destination, kept for its connection */
        char curl_error[CURL_ERROR_SIZE]; /* libcurl's own words on the last failure */
};

static int curl_open(struct curl_fns *f)
{
        static const char *const sonames[] = { "libcurl.so.4", "libcurl-gnutls.so.4" };
        void *lib = NULL;

        for (size_t i = 0; !lib && i < ELEMENTSOF(sonames); i++)
                lib = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
        if (!lib)
                return -ENOENT;
        /* Kept open until exit: a process has few clients, and loads it once. */
        *(void **)&f->init = dlsym(lib, "curl_easy_init");
        *(void **)&f->setopt = dlsym(lib, "curl_easy_setopt");
        *(void **)&f->perform = dlsym(lib, "curl_easy_perform");
        *(void **)&f->getinfo = dlsym(lib, "curl_easy_getinfo");
        *(void **)&f->cleanup = dlsym(lib, "curl_easy_cleanup");
        *(void **)&f->strerror = dlsym(lib, "curl_easy_strerror");
        *(void **)&f->slist_append = dlsym(lib, "curl_slist_append");
        *(void **)&f->slist_free_all = dlsym(lib, "curl_slist_free_all");
        if (!f->init || !f->setopt || !f->perform || !f->getinfo || !f->cleanup || !f->strerror ||
            !f->slist_append || !f->slist_free_all)
                return -ENOENT;
        return 0;
}

/* The host part of an http(s) URL names the loopback interface. */
static bool url_is_loopback(const char *url)
{
        const char *h = strstr(url, "://") + 3;
        char host[64];
        unsigned char a[16];
        size_t n;

        if (*h == '[') {
                n = strcspn(++h, "]");
                if (n >= sizeof(host))
                        return false;
                memcpy(host, h, n), host[n] = '\0';
                return inet_pton(AF_INET6, host, a) == 1 && memcmp(a, &in6addr_loopback, 16) == 0;
        }
        n = strcspn(h, ":/");
        if (n >= sizeof(host))
                return false;
        memcpy(host, h, n), host[n] = '\0';
        return streq(host, "localhost") || (inet_pton(AF_INET, host, a) == 1 && a[0] == 127);
}

static int check_url(const char *url, bool have_ca, char **ret_error)
{
        if (hp_startswith(url, "https://") && url[8]) {
                if (!have_ca)
                        return hp_errorf(ret_error, -EINVAL,
                                         "'%s' needs the cluster CA's certificate to be trusted: give its ca.crt", url);
                return 0;
        }
        if (hp_startswith(url, "http://") && url[7]) {
                if (!url_is_loopback(url))
                        return hp_errorf(ret_error, -EINVAL,
                                         "'%s' is plain HTTP off loopback: use https:// with the cluster CA", url);
                return 0;
        }
        return hp_errorf(ret_error, -EINVAL, "'%s' is not a controller URL: give https://HOST:PORT", url);
}

int hp_client_new(const struct hp_client_options *o, struct hp_client **ret, char **ret_error)
{
        _cleanup_(hp_client_freep) struct hp_client *c = calloc(1, sizeof(*c));
        int r;

        if (!c)
                return -ENOMEM;
        if (!o->unix_socket && o->n_urls == 0)
                return hp_errorf(ret_error, -EINVAL, "no controller to talk to: give at least one URL");
        for (size_t i = 0; !o->unix_socket && i < o->n_urls; i++) {
                r = check_url(o->urls[i], o->ca_file != NULL, ret_error);
                if (r < 0)
                        return r;
        }
        if (curl_open(&c->f) < 0)
                return hp_errorf(ret_error, -ENOENT, "libcurl is missing: install Debian's libcurl3-gnutls package");
        if (o->unix_socket ? !(c->unix_socket = strdup(o->unix_socket)) || hp_strv_push(&c->urls, "http://hwpassd") < 0
                           : false)
                return -ENOMEM;
        for (size_t i = 0; !o->unix_socket && i < o->n_urls; i++) {
                /* The base without a trailing '/': paths start with one. */
                size_t n = strlen(o->urls[i]);

                while (n > 8 && o->urls[i][n - 1] == '/')
                        n--;
                if (hp_strv_pushf(&c->urls, "%.*s", (int)n, o->urls[i]) < 0)
                        return -ENOMEM;
        }
        c->n_urls = hp_strv_length(c->urls);
        if (o->ca_file && !(c->ca_file = strdup(o->ca_file)))
                return -ENOMEM;
        c->handles = calloc(c->n_urls, sizeof(*c->handles));
        if (!c->handles)
                return -ENOMEM;
        c->headers = c->f.slist_append(NULL, "Content-Type: application/json");
        if (c->headers && o->bearer) {
                _cleanup_free_ char *h = NULL;

                if (asprintf(&h, "Authorization: Bearer %s", o->bearer) < 0)
                        return -ENOMEM;
                c->headers = c->f.slist_append(c->headers, h);
                explicit_bzero(h, strlen(h));
        }
        for (size_t i = 0; c->headers && o->headers && o->headers[i]; i++)
                c->headers = c->f.slist_append(c->headers, o->headers[i]);
        if (!c->headers)
                return -ENOMEM;
        c->connect_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms : CONNECT_TIMEOUT_MS;
        c->timeout_ms = o->timeout_ms;
        *ret = TAKE_PTR(c);
        return 0;
}

void hp_client_free(struct hp_client *c)
{
        if (!c)
                return;
        for (size_t i = 0; c->handles && i < c->n_urls; i++)
                if (c->handles[i])
                        c->f.cleanup(c->handles[i]);
        free(c->handles);
        if (c->headers)
                c->f.slist_free_all(c->headers);
        hp_strv_free(c->urls);
        free(c->unix_socket);
        free(c->ca_file);
        free(c);
}

const char *hp_client_current(const struct hp_client *c)
{
        return c->unix_socket ? c->unix_socket : c->urls[c->current];
}

static size_t collect(char *ptr, size_t size, size_t n, void *userdata)
{
        struct hp_buf *b = userdata;

        if (b->len + size * n > ANSWER_MAX || hp_buf_append(b, ptr, size * n) < 0)
                return 0;
        return size * n;
}

/* The destination i's handle, made once and kept for its connection. */
static CURL *handle(struct hp_client *c, size_t i)
{
        CURL *h = c->handles[i];

        if (h)
                return h;
        h = c->handles[i] = c->f.init();
        if (!h)
                return NULL;
        if (c->unix_socket)
                c->f.setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->unix_socket);
        if (c->ca_file)
                c->f.setopt(h, CURLOPT_CAINFO, c->ca_file);
        c->f.setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        c->f.setopt(h, CURLOPT_HTTPHEADER, c->headers);
        c->f.setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
        c->f.setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
        c->f.setopt(h, CURLOPT_NOSIGNAL, 1L);
        c->f.setopt(h, CURLOPT_WRITEFUNCTION, collect);
        c->f.setopt(h, CURLOPT_ERRORBUFFER, c->curl_error);
        return h;
}

/* The value of "name:value" among a certificate's fields (libcurl's
 * certinfo; the name's case differs between its TLS backends). */
static const char *cert_field(const struct curl_slist *fields, const char *name)
{
        size_t n = strlen(name);

        for (; fields; fields = fields->next)
                if (strncasecmp(fields->data, name, n) == 0 && fields->data[n] == ':')
                        return fields->data + n + 1;
        return NULL;
}

/* A certificate date as libcurl gives it: "2020-02-01 00:00:00 GMT"
 * (GnuTLS) or "Feb  1 00:00:00 2020 GMT" (OpenSSL). -1 when neither. */
static time_t cert_time(const char *s)
{
        struct tm tm = { 0 };
        const char *end = s ? strptime(s, "%Y-%m-%d %H:%M:%S", &tm) : NULL;

        if (!end && s) {
                tm = (struct tm){ 0 };
                end = strptime(s, "%b %d %H:%M:%S %Y", &tm);
        }
        return end ? timegm(&tm) : (time_t)-1;
}

/* The CN of a subject, "O = hwpass, CN = ctl1" or "CN=ctl1,O=hwpass", into out. */
static void subject_cn(const char *subject, char *out, size_t size)
{
        const char *p = subject;

        snprintf(out, size, "%s", subject ? subject : "?");
        for (; p && (p = strstr(p, "CN")); p += 2) {
                const char *v = p + 2;

                if (p != subject && p[-1] != ' ' && p[-1] != ',' && p[-1] != '/')
                        continue;
                v += strspn(v, " ");
                if (*v != '=')
                        continue;
                v += 1 + strspn(v + 1, " ");
                snprintf(out, size, "%.*s", (int)strcspn(v, ",/+"), v);
                return;
        }
}

/* Why destination i's certificate was refused, in words an operator can act
 * on. libcurl says only "SSL peer certificate ... was not OK" (GnuTLS) or
 * "certificate has expired" without naming it (OpenSSL), so the certificate
 * is fetched once more without checking it, on a connection that sends
 * nothing, and its dates are read. NULL when no better reason is found. */
static char *refused_certificate(struct hp_client *c, size_t i, const char *curl_said)
{
        CURL *h = c->f.init();
        struct curl_certinfo *ci = NULL;
        const struct curl_slist *leaf;
        char cn[128], when[32] = "?", *why = NULL;
        int r;
        time_t from, until, now = time(NULL);
        struct tm tm;

        if (!h)
                return NULL;
        c->f.setopt(h, CURLOPT_URL, c->urls[i]);
        c->f.setopt(h, CURLOPT_PROTOCOLS_STR, "https");
        c->f.setopt(h, CURLOPT_CONNECT_ONLY, 1L);
        c->f.setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        c->f.setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
        c->f.setopt(h, CURLOPT_CERTINFO, 1L);
        c->f.setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
        c->f.setopt(h, CURLOPT_NOSIGNAL, 1L);
        if (c->f.perform(h) != CURLE_OK || c->f.getinfo(h, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci ||
            ci->num_of_certs < 1) {
                c->f.cleanup(h);
                return NULL;
        }
        leaf = ci->certinfo[0];
        subject_cn(cert_field(leaf, "Subject"), cn, sizeof(cn));
        from = cert_time(cert_field(leaf, "Start date"));
        until = cert_time(cert_field(leaf, "Expire date"));
        if (until != (time_t)-1 && until < now && gmtime_r(&until, &tm)) {
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
                r = asprintf(&why,
                               "its certificate ('%s') expired on %s: renew it where the cluster CA is kept "
                               "('hwpass cluster cert DIR %s --renew'), copy the pair to that controller and reload "
                               "it (systemctl reload hwpassd)",
                               cn, when, cn);
        } else if (from != (time_t)-1 && from > now && gmtime_r(&from, &tm)) {
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
                r = asprintf(&why,
                               "its certificate ('%s') is valid only from %s: this host's clock, or the one it was "
                               "made on, is wrong (check NTP)",
                               cn, when);
        } else {
                r = asprintf(&why,
                               "%s (its certificate: '%s', issued by '%s'; this host trusts the CA in %s: the "
                               "controller's pair must come from 'hwpass cluster cert' with that CA, for the address "
                               "in the URL)",
                               curl_said, cert_field(leaf, "Subject") ?: "?", cert_field(leaf, "Issuer") ?: "?",
                               c->ca_file ? c->ca_file : "?");
        }
        c->f.cleanup(h); /* after the last use of its certinfo */
        return r < 0 ? NULL : why;
}

/* One try at destination i: 0 with an answer; 1 when the request never
 * left (try the next); -errno when it may have been carried out. */
static int try_one(struct hp_client *c, size_t i, const char *method, const char *path, const char *body,
                   struct hp_buf *answer, long *ret_status, char **why)
{
        _cleanup_free_ char *url = NULL;
        curl_off_t sent_at = 0;
        CURLcode rc;
        CURL *h = handle(c, i);

        if (!h || asprintf(&url, "%s%s", c->urls[i], path) < 0)
                return -ENOMEM;
        c->f.setopt(h, CURLOPT_URL, url);
        /* The kept handle may have sent a body last time: none now. */
        c->f.setopt(h, CURLOPT_POSTFIELDS, body);
        if (!body)
                c->f.setopt(h, CURLOPT_HTTPGET, 1L);
        c->f.setopt(h, CURLOPT_CUSTOMREQUEST, method);
        c->f.setopt(h, CURLOPT_WRITEDATA, answer);
        c->curl_error[0] = '\0';
        rc = c->f.perform(h);
        if (rc == CURLE_OK) {
                c->f.getinfo(h, CURLINFO_RESPONSE_CODE, ret_status);
                return 0;
        }
        free(*why);
        *why = NULL;
        if (rc == CURLE_PEER_FAILED_VERIFICATION)
                *why = refused_certificate(c, i, c->curl_error[0] ? c->curl_error : c->f.strerror(rc));
        if (!*why)
                *why = strdup(c->curl_error[0] ? c->curl_error : c->f.strerror(rc));
        if (rc == CURLE_WRITE_ERROR)
                return -EFBIG;
        if (rc == CURLE_OUT_OF_MEMORY)
                return -ENOMEM;
        /* Pre-transfer time stays 0 until the connection (TLS included) was
         * made and the request was about to go out. */
        c->f.getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &sent_at);
        return sent_at == 0 ? 1 : -ETIMEDOUT;
}

int hp_client_call(struct hp_client *c, const char *method, const char *path, json_t *body, long *ret_status,
                   json_t **ret, char **ret_error)
{
        _cleanup_free_ char *text = NULL, *tried = NULL;
        size_t start = c->current;
        int r = 0;

        if (body && !(text = json_dumps(body, JSON_COMPACT)))
                return -ENOMEM;
        for (size_t k = 0; k < c->n_urls; k++) {
                size_t i = (start + k) % c->n_urls;
                _cleanup_free_ char *why = NULL, *more = NULL;
                struct hp_buf answer = { 0 };
                long status = 0;
                json_t *doc = NULL;

                r = try_one(c, i, method, path, text, &answer, &status, &why);
                if (r == 0) {
                        c->current = i;
                        if (answer.len > 0 && !(doc = json_loads(answer.data, 0, NULL))) {
                                free(answer.data);
                                return hp_errorf(ret_error, -EBADMSG, "%s gave an answer that is not JSON (HTTP %ld)",
                                                 hp_client_current(c), status);
                        }
                        free(answer.data);
                        *ret_status = status;
                        *ret = doc;
                        return 0;
                }
                free(answer.data);
                if (asprintf(&more, "%s%s%s: %s", tried ? tried : "", tried ? "; " : "",
                             c->unix_socket ? c->unix_socket : c->urls[i], why ? why : "out of memory") < 0)
                        return -ENOMEM;
                free(tried);
                tried = TAKE_PTR(more);
                if (r < 0) {
                        /* It may have been done: not repeated elsewhere now. */
                        c->current = (i + 1) % c->n_urls;
                        break;
                }
        }
        if (r == -ENOMEM || r == -EFBIG)
                return r;
        return hp_errorf(ret_error, -EHOSTUNREACH, "%s (%s)",
                         r < 0 ? "no answer, and the request may have been carried out" : "no controller answered",
                         tried);
}
