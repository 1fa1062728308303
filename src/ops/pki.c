/* The cluster's CA and the controllers' certificates, made with GnuTLS:
 * ECDSA P-256 keys, X.509 v3, SHA-256 signatures. The CA may sign leaf
 * certificates only (path length 0); a controller's certificate names the
 * DNS names and addresses it is reached at and serves both TLS ends. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ops.h"
#include "pki.h"
#include "store/store.h"
#include "util/io.h"
#include "util/macro.h"
#include "util/strutil.h"

#define CA_CERT "ca.crt"
#define CA_KEY "ca.key"
#define PEM_MAX (64 * 1024)
/* Certificates start a minute early, for clocks slightly behind ours. */
#define SKEW_SECONDS 60

/* GnuTLS is opened at run time, like libcurl and libpci: every hwpass
 * command would otherwise load (and initialise) it at start, and only these
 * two need it. */
#define TLS_FUNCTIONS(X) \
        X(gnutls_rnd) \
        X(gnutls_strerror) \
        X(gnutls_x509_crt_deinit) \
        X(gnutls_x509_crt_export2) \
        X(gnutls_x509_crt_get_basic_constraints) \
        X(gnutls_x509_crt_get_expiration_time) \
        X(gnutls_x509_crt_get_key_id) \
        X(gnutls_x509_crt_get_subject_key_id) \
        X(gnutls_x509_crt_import) \
        X(gnutls_x509_crt_init) \
        X(gnutls_x509_crt_set_activation_time) \
        X(gnutls_x509_crt_set_authority_key_id) \
        X(gnutls_x509_crt_set_basic_constraints) \
        X(gnutls_x509_crt_set_dn_by_oid) \
        X(gnutls_x509_crt_set_expiration_time) \
        X(gnutls_x509_crt_set_key) \
        X(gnutls_x509_crt_set_key_purpose_oid) \
        X(gnutls_x509_crt_set_key_usage) \
        X(gnutls_x509_crt_set_serial) \
        X(gnutls_x509_crt_set_subject_alt_name) \
        X(gnutls_x509_crt_set_subject_key_id) \
        X(gnutls_x509_crt_set_version) \
        X(gnutls_x509_crt_sign2) \
        X(gnutls_x509_privkey_deinit) \
        X(gnutls_x509_privkey_export2_pkcs8) \
        X(gnutls_x509_privkey_generate2) \
        X(gnutls_x509_privkey_get_key_id) \
        X(gnutls_x509_privkey_import2) \
        X(gnutls_x509_privkey_init)

static struct {
#define FIELD(f) __typeof__(f) *f;
        TLS_FUNCTIONS(FIELD)
#undef FIELD
        gnutls_free_function *gnutls_free;
} tls;

static int tls_open(void)
{
        void *lib;

        if (tls.gnutls_free)
                return 0;
        lib = dlopen("libgnutls.so.30", RTLD_NOW | RTLD_LOCAL);
        if (!lib)
                return -ENOENT;
        /* Kept open until exit. */
#define LOAD(f) \
        if (!(*(void **)&tls.f = dlsym(lib, #f))) \
                return -ENOENT;
        TLS_FUNCTIONS(LOAD)
#undef LOAD
        *(void **)&tls.gnutls_free = dlsym(lib, "gnutls_free");
        return tls.gnutls_free ? 0 : -ENOENT;
}

static void crt_freep(gnutls_x509_crt_t *c)
{
        if (*c)
                tls.gnutls_x509_crt_deinit(*c);
}

static void key_freep(gnutls_x509_privkey_t *k)
{
        if (*k)
                tls.gnutls_x509_privkey_deinit(*k);
}

static void datum_freep(gnutls_datum_t *d)
{
        if (d->data)
                (*tls.gnutls_free)(d->data);
}

bool hp_pki_address_is_valid(const char *s)
{
        unsigned char buf[16];
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > HP_STORE_HOST_NAME_MAX)
                return false;
        if (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1)
                return true;
        /* DNS labels: letters, digits and '-', not at either end, 1-63 each. */
        for (const char *label = s; *label;) {
                size_t len = strcspn(label, ".");

                if (len == 0 || len > 63 || label[0] == '-' || label[len - 1] == '-')
                        return false;
                for (size_t i = 0; i < len; i++)
                        if (!(isalnum((unsigned char)label[i]) || label[i] == '-'))
                                return false;
                label += len;
                if (*label == '.' && *++label == '\0')
                        return false;
        }
        return true;
}

/* GnuTLS's error as -errno for the callers; its text in *ret_what. */
static int tls_error(int e, const char **ret_what)
{
        *ret_what = tls.gnutls_strerror(e);
        return e == GNUTLS_E_MEMORY_ERROR ? -ENOMEM : -EIO;
}

static int new_key(gnutls_x509_privkey_t *ret, const char **ret_what)
{
        _cleanup_(key_freep) gnutls_x509_privkey_t k = NULL;
        int e = tls.gnutls_x509_privkey_init(&k);

        if (e >= 0)
                e = tls.gnutls_x509_privkey_generate2(k, GNUTLS_PK_ECDSA,
                                                  GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0, NULL, 0);
        if (e < 0)
                return tls_error(e, ret_what);
        *ret = TAKE_PTR(k);
        return 0;
}

/* What a certificate says about its subject, before it is signed. */
struct subject {
        const char *cn;
        char *const *addresses;
        size_t n_addresses;
        bool ca;
        time_t not_after;
};

static int set_addresses(gnutls_x509_crt_t crt, const struct subject *sub)
{
        for (size_t i = 0; i < sub->n_addresses; i++) {
                const char *a = sub->addresses[i];
                unsigned char ip[16];
                int e;

                if (inet_pton(AF_INET, a, ip) == 1)
                        e = tls.gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 4, GNUTLS_FSAN_APPEND);
                else if (inet_pton(AF_INET6, a, ip) == 1)
                        e = tls.gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 16, GNUTLS_FSAN_APPEND);
                else
                        e = tls.gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, a, strlen(a),
                                                                 GNUTLS_FSAN_APPEND);
                if (e < 0)
                        return e;
        }
        return 0;
}

/* The fields every certificate here has; e is GnuTLS's. */
static int set_common(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, const struct subject *sub)
{
        unsigned char serial[16], id[64];
        size_t id_len = sizeof(id);
        int e = tls.gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial));

        serial[0] &= 0x7f; /* a positive INTEGER */
        if (e >= 0)
                e = tls.gnutls_x509_crt_set_version(crt, 3);
        if (e >= 0)
                e = tls.gnutls_x509_crt_set_serial(crt, serial, sizeof(serial));
        if (e >= 0)
                e = tls.gnutls_x509_crt_set_key(crt, key);
        if (e >= 0)
                e = tls.gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, "hwpass", 6);
        if (e >= 0)
                e = tls.gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, sub->cn, strlen(sub->cn));
        if (e >= 0)
                e = tls.gnutls_x509_crt_set_activation_time(crt, time(NULL) - SKEW_SECONDS);
        if (e >= 0)
                e = tls.gnutls_x509_crt_set_expiration_time(crt, sub->not_after);
        if (e >= 0)
                e = tls.gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA1, id, &id_len);
        if (e >= 0)
                e = tls.gnutls_x509_crt_set_subject_key_id(crt, id, id_len);
        if (e >= 0)
                e = tls.gnutls_x509_crt_set_basic_constraints(crt, sub->ca, sub->ca ? 0 : -1);
        if (e >= 0)
                e = tls.gnutls_x509_crt_set_key_usage(crt, sub->ca ? GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN
                                                               : GNUTLS_KEY_DIGITAL_SIGNATURE);
        if (e >= 0 && !sub->ca)
                e = tls.gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0);
        if (e >= 0 && !sub->ca)
                e = tls.gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 0);
        if (e >= 0)
                e = set_addresses(crt, sub);
        return e;
}

/* A certificate for key, signed by issuer (NULL: by itself). */
static int make_crt(gnutls_x509_privkey_t key, const struct subject *sub, gnutls_x509_crt_t issuer,
                    gnutls_x509_privkey_t issuer_key, gnutls_x509_crt_t *ret, const char **ret_what)
{
        _cleanup_(crt_freep) gnutls_x509_crt_t crt = NULL;
        unsigned char id[64];
        size_t id_len = sizeof(id);
        int e = tls.gnutls_x509_crt_init(&crt);

        if (e >= 0)
                e = set_common(crt, key, sub);
        if (e >= 0 && issuer) {
                e = tls.gnutls_x509_crt_get_subject_key_id(issuer, id, &id_len, NULL);
                if (e >= 0)
                        e = tls.gnutls_x509_crt_set_authority_key_id(crt, id, id_len);
        }
        if (e >= 0)
                e = tls.gnutls_x509_crt_sign2(crt, issuer ? issuer : crt, issuer ? issuer_key : key,
                                          GNUTLS_DIG_SHA256, 0);
        if (e < 0)
                return tls_error(e, ret_what);
        *ret = TAKE_PTR(crt);
        return 0;
}

/* A file written beside its final name, linked (or renamed) there at the end. */
struct pending {
        char tmp[64];
        const char *name;
        bool placed;
};

static int write_tmp(int dirfd, struct pending *p, const gnutls_datum_t *d, mode_t mode)
{
        static unsigned counter;
        _cleanup_close_ int fd = -EBADF;

        snprintf(p->tmp, sizeof(p->tmp), ".tmp-%ld-%u", (long)getpid(), counter++);
        fd = openat(dirfd, p->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        if (hp_write_all(fd, d->data, d->size) < 0 || fsync(fd) < 0) {
                int r = -errno;

                (void)unlinkat(dirfd, p->tmp, 0);
                return r ?: -EIO;
        }
        return 0;
}

static int load_pem(int dirfd, const char *name, gnutls_datum_t *ret)
{
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        struct stat st;
        char *data;
        size_t len;
        int r;

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        r = hp_read_all(fd, PEM_MAX, &data, &len);
        if (r < 0)
                return r;
        *ret = (gnutls_datum_t){ (unsigned char *)data, (unsigned)len };
        return 0;
}

static bool exists_at(int dirfd, const char *name)
{
        struct stat st;

        return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* The request's checks; the file names of the pair in ret_crt and ret_key. */
static int check_request(struct hp_ops_ctx *c, const struct hp_pki_request *req, char **ret_crt, char **ret_key)
{
        if (!req->dir || !*req->dir)
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL, "give the cluster's certificate directory");
        if (!req->name || !hp_store_host_name_is_valid(req->name) || streq(req->name, "ca"))
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL,
                                  "invalid controller name '%s': 1-%d letters, digits, '-', '.' or '_', not 'ca'",
                                  req->name ? req->name : "", HP_STORE_HOST_NAME_MAX);
        if (req->n_addresses > HP_PKI_MAX_ADDRESSES)
                return hp_op_fail(c, HP_OP_INVALID, -E2BIG, "at most %d addresses per certificate",
                                  HP_PKI_MAX_ADDRESSES);
        for (size_t i = 0; i < req->n_addresses; i++)
                if (!hp_pki_address_is_valid(req->addresses[i]))
                        return hp_op_fail(c, HP_OP_INVALID, -EINVAL,
                                          "invalid address '%s': give a DNS name (letters, digits, '-', '.') or an IP address",
                                          req->addresses[i]);
        if (req->n_addresses == 0 && !hp_pki_address_is_valid(req->name))
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL,
                                  "'%s' is not a DNS name: give the addresses the controller is reached at with --address",
                                  req->name);
        if (req->days > HP_PKI_MAX_DAYS)
                return hp_op_fail(c, HP_OP_INVALID, -EINVAL, "a certificate lives at most %d days", HP_PKI_MAX_DAYS);
        if (asprintf(ret_crt, "%s.crt", req->name) < 0)
                return hp_op_oom(c);
        if (asprintf(ret_key, "%s.key", req->name) < 0) {
                free(TAKE_PTR(*ret_crt));
                return hp_op_oom(c);
        }
        return 0;
}

/* Places every pending file under its name, or none. A link never replaces
 * (init: the names were free); with replace (renew) each file there is kept
 * under a backup name until every new one is in place, and put back if one
 * fails. */
static int place_all(int dirfd, struct pending *p, size_t n, bool replace)
{
        char backup[4][80];
        bool backed[4] = { false };
        int r = 0;
        size_t i;

        if (n > ELEMENTSOF(backup))
                return -E2BIG;
        for (i = 0; replace && i < n && r == 0; i++) {
                snprintf(backup[i], sizeof(backup[i]), "%s.old", p[i].tmp);
                if (linkat(dirfd, p[i].name, dirfd, backup[i], 0) == 0)
                        backed[i] = true;
                else if (errno != ENOENT)
                        r = -errno;
        }
        for (i = 0; i < n && r == 0; i++) {
                if (replace ? renameat(dirfd, p[i].tmp, dirfd, p[i].name) < 0
                            : linkat(dirfd, p[i].tmp, dirfd, p[i].name, 0) < 0)
                        r = -errno;
                else
                        p[i].placed = true;
        }
        for (i = 0; i < n; i++) {
                /* After a rename the temporary name is gone already. */
                (void)unlinkat(dirfd, p[i].tmp, 0);
                if (r < 0 && p[i].placed) {
                        if (!backed[i])
                                (void)unlinkat(dirfd, p[i].name, 0);
                        else if (renameat(dirfd, backup[i], dirfd, p[i].name) == 0)
                                backed[i] = false;
                        else
                                continue; /* the old file stays under its backup name */
                }
                if (backed[i])
                        (void)unlinkat(dirfd, backup[i], 0);
        }
        if (r == 0)
                (void)fsync(dirfd);
        return r;
}

static json_t *result(const struct hp_pki_request *req, const char *crt, const char *key, time_t not_after)
{
        json_t *addrs = json_array();

        for (size_t i = 0; addrs && i < req->n_addresses; i++)
                json_array_append_new(addrs, json_string(req->addresses[i]));
        if (addrs && req->n_addresses == 0)
                json_array_append_new(addrs, json_string(req->name));
        if (!addrs)
                return NULL;
        return json_pack("{s:s, s:s+, s:s++, s:s++, s:s, s:o, s:I, s:b}", "dir", req->dir, "ca", req->dir,
                         "/" CA_CERT, "cert", req->dir, "/", crt, "key", req->dir, "/", key, "name", req->name,
                         "addresses", addrs, "not_after", (json_int_t)not_after, "renewed", req->renew);
}

/* The controller's pair signed by the CA (issuer NULL: the CA is made too,
 * and written first). */
static int write_pair(struct hp_ops_ctx *c, const struct hp_pki_request *req, int dirfd, const char *crt_name,
                      const char *key_name, gnutls_x509_crt_t issuer, gnutls_x509_privkey_t issuer_key,
                      time_t not_after, bool replace)
{
        _cleanup_(key_freep) gnutls_x509_privkey_t ca_key = NULL, key = NULL;
        _cleanup_(crt_freep) gnutls_x509_crt_t ca = NULL, crt = NULL;
        _cleanup_(datum_freep) gnutls_datum_t ca_pem = { 0 }, ca_key_pem = { 0 }, pem = { 0 }, key_pem = { 0 };
        char *const self[] = { (char *)req->name };
        struct subject sub = { .cn = req->name, .addresses = req->n_addresses ? req->addresses : self,
                               .n_addresses = req->n_addresses ? req->n_addresses : 1, .not_after = not_after };
        struct pending p[4] = { { .name = CA_KEY }, { .name = CA_CERT }, { .name = key_name }, { .name = crt_name } };
        size_t first = issuer ? 2 : 0;
        const char *what = NULL;
        int r = 0;

        if (!issuer) {
                unsigned char id[4];
                char cn[48];
                struct subject ca_sub = { .cn = cn, .ca = true,
                                          .not_after = time(NULL) + (time_t)HP_PKI_CA_DAYS * 86400 };

                /* Told apart from other clusters' CAs by a random suffix. */
                if (tls.gnutls_rnd(GNUTLS_RND_NONCE, id, sizeof(id)) < 0)
                        return hp_op_host_error(c, -EIO, "cannot read random bytes for the cluster CA");
                snprintf(cn, sizeof(cn), "hwpass cluster CA %02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
                r = new_key(&ca_key, &what);
                if (r >= 0)
                        r = make_crt(ca_key, &ca_sub, NULL, NULL, &ca, &what);
                if (r < 0)
                        return hp_op_host_error(c, r, "cannot make the cluster CA: %s", what);
                issuer = ca, issuer_key = ca_key;
        }
        r = new_key(&key, &what);
        if (r >= 0)
                r = make_crt(key, &sub, issuer, issuer_key, &crt, &what);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot make the certificate of '%s': %s", req->name, what);

        r = tls.gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &key_pem);
        if (r >= 0)
                r = tls.gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &pem);
        if (r >= 0 && ca)
                r = tls.gnutls_x509_privkey_export2_pkcs8(ca_key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &ca_key_pem);
        if (r >= 0 && ca)
                r = tls.gnutls_x509_crt_export2(ca, GNUTLS_X509_FMT_PEM, &ca_pem);
        if (r < 0)
                return hp_op_host_error(c, tls_error(r, &what), "cannot write the certificates out: %s", what);

        const gnutls_datum_t *data[4] = { &ca_key_pem, &ca_pem, &key_pem, &pem };
        const mode_t modes[4] = { 0600, 0644, 0600, 0644 };
        size_t i;

        for (i = first; i < 4 && r >= 0; i++)
                r = write_tmp(dirfd, &p[i], data[i], modes[i]);
        if (r < 0) {
                while (i-- > first + 1)
                        (void)unlinkat(dirfd, p[i - 1].tmp, 0);
                return hp_op_host_error(c, r, "cannot write in '%s'", req->dir);
        }
        r = place_all(dirfd, p + first, 4 - first, replace);
        if (r == -EEXIST)
                return hp_op_fail(c, HP_OP_CONFLICT, r, "'%s' holds files of that name already: nothing was written",
                                  req->dir);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot write in '%s'", req->dir);
        return 0;
}

static int open_dir(struct hp_ops_ctx *c, const char *dir, bool create, int *ret)
{
        int fd;

        if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
                return hp_op_host_error(c, -errno, "cannot make the directory '%s' (its parent must exist)", dir);
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? hp_op_fail(c, HP_OP_NOT_FOUND, -ENOENT,
                                                    "no directory '%s': give the one 'hwpass cluster init' made", dir)
                                       : hp_op_host_error(c, -errno, "cannot open '%s'", dir);
        *ret = fd;
        return 0;
}

static int open_tls(struct hp_ops_ctx *c)
{
        if (tls_open() < 0)
                return hp_op_fail(c, HP_OP_HOST, -ENOENT, "GnuTLS is missing: install Debian's libgnutls30 package");
        return 0;
}

static time_t leaf_not_after(const struct hp_pki_request *req)
{
        return time(NULL) + (time_t)(req->days ? req->days : HP_PKI_CERT_DAYS) * 86400;
}

int hp_ops_pki_init(struct hp_ops_ctx *c, const struct hp_pki_request *req, json_t **ret)
{
        _cleanup_free_ char *crt = NULL, *key = NULL;
        _cleanup_close_ int dirfd = -EBADF;
        time_t not_after = leaf_not_after(req);
        int r = check_request(c, req, &crt, &key);

        if (r >= 0)
                r = open_tls(c);
        if (r >= 0)
                r = open_dir(c, req->dir, true, &dirfd);
        if (r < 0)
                return r;
        if (exists_at(dirfd, CA_KEY) || exists_at(dirfd, CA_CERT))
                return hp_op_fail(c, HP_OP_CONFLICT, -EEXIST,
                                  "'%s' holds a cluster CA already: a second one would split the cluster. "
                                  "Make another controller's certificate with 'hwpass cluster cert %s NAME'",
                                  req->dir, req->dir);
        r = write_pair(c, req, dirfd, crt, key, NULL, NULL, not_after, false);
        if (r < 0)
                return r;
        *ret = result(req, crt, key, not_after);
        return *ret ? 0 : hp_op_oom(c);
}

/* The CA of dir, its key matching its certificate. */
static int load_ca(struct hp_ops_ctx *c, const char *dir, int dirfd, gnutls_x509_crt_t *ret_crt,
                   gnutls_x509_privkey_t *ret_key)
{
        _cleanup_(crt_freep) gnutls_x509_crt_t crt = NULL;
        _cleanup_(key_freep) gnutls_x509_privkey_t key = NULL;
        _cleanup_(datum_freep) gnutls_datum_t crt_pem = { 0 }, key_pem = { 0 };
        unsigned char a[64], b[64];
        size_t a_len = sizeof(a), b_len = sizeof(b);
        unsigned ca = 0;
        int r = load_pem(dirfd, CA_CERT, &crt_pem);

        if (r >= 0)
                r = load_pem(dirfd, CA_KEY, &key_pem);
        if (r == -ENOENT)
                return hp_op_fail(c, HP_OP_NOT_FOUND, r,
                                  "'%s' holds no cluster CA (ca.crt and ca.key): run this where 'hwpass cluster init' made them",
                                  dir);
        if (r < 0)
                return hp_op_host_error(c, r, "cannot read the cluster CA in '%s'", dir);
        if (tls.gnutls_x509_crt_init(&crt) < 0 || tls.gnutls_x509_privkey_init(&key) < 0)
                return hp_op_oom(c);
        if (tls.gnutls_x509_crt_import(crt, &crt_pem, GNUTLS_X509_FMT_PEM) < 0 ||
            tls.gnutls_x509_crt_get_basic_constraints(crt, NULL, &ca, NULL) < 0 || !ca)
                return hp_op_fail(c, HP_OP_INVALID, -EBADMSG, "'%s/" CA_CERT "' is not a CA certificate", dir);
        if (tls.gnutls_x509_privkey_import2(key, &key_pem, GNUTLS_X509_FMT_PEM, NULL, 0) < 0)
                return hp_op_fail(c, HP_OP_INVALID, -EBADMSG, "'%s/" CA_KEY "' is not an unencrypted private key", dir);
        if (tls.gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, a, &a_len) < 0 ||
            tls.gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA1, b, &b_len) < 0 || a_len != b_len ||
            memcmp(a, b, a_len) != 0)
                return hp_op_fail(c, HP_OP_INVALID, -EBADMSG,
                                  "'%s/" CA_KEY "' is not the key of '%s/" CA_CERT "': put the CA's own key back", dir,
                                  dir);
        *ret_crt = TAKE_PTR(crt);
        *ret_key = TAKE_PTR(key);
        return 0;
}

int hp_ops_pki_issue(struct hp_ops_ctx *c, const struct hp_pki_request *req, json_t **ret)
{
        _cleanup_free_ char *crt_name = NULL, *key_name = NULL;
        _cleanup_close_ int dirfd = -EBADF;
        _cleanup_(crt_freep) gnutls_x509_crt_t ca = NULL;
        _cleanup_(key_freep) gnutls_x509_privkey_t ca_key = NULL;
        time_t not_after = leaf_not_after(req), ca_end;
        bool exists;
        int r = check_request(c, req, &crt_name, &key_name);

        if (r >= 0)
                r = open_tls(c);
        if (r >= 0)
                r = open_dir(c, req->dir, false, &dirfd);
        if (r >= 0)
                r = load_ca(c, req->dir, dirfd, &ca, &ca_key);
        if (r < 0)
                return r;
        exists = exists_at(dirfd, crt_name) || exists_at(dirfd, key_name);
        if (exists && !req->renew)
                return hp_op_fail(c, HP_OP_CONFLICT, -EEXIST,
                                  "'%s' has a certificate already ('%s/%s'): give --renew to replace it with a new key",
                                  req->name, req->dir, crt_name);
        if (!exists && req->renew)
                return hp_op_fail(c, HP_OP_NOT_FOUND, -ENOENT,
                                  "'%s' has no certificate in '%s' to renew: leave out --renew to make one", req->name,
                                  req->dir);
        /* A certificate cannot outlive the CA that vouches for it. */
        ca_end = tls.gnutls_x509_crt_get_expiration_time(ca);
        if (ca_end != (time_t)-1 && ca_end < time(NULL) + 86400)
                return hp_op_fail(c, HP_OP_REFUSED, -EKEYEXPIRED,
                                  "the cluster CA in '%s' expires within a day: make a new cluster with 'hwpass cluster init'",
                                  req->dir);
        if (ca_end != (time_t)-1 && not_after > ca_end)
                not_after = ca_end;
        r = write_pair(c, req, dirfd, crt_name, key_name, ca, ca_key, not_after, req->renew);
        if (r < 0)
                return r;
        *ret = result(req, crt_name, key_name, not_after);
        return *ret ? 0 : hp_op_oom(c);
}
