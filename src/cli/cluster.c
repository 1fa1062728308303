/* hwpass cluster init | cert: the cluster's CA and its controllers'
 * certificates, made where the administrator keeps the CA key. Files only:
 * neither touches the host, the store or a daemon. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "ops/pki.h"
#include "util/macro.h"
#include "util/strutil.h"

#define INIT_USAGE "usage: hwpass cluster init DIR CONTROLLER [--address HOST]... [--days N]"
#define CERT_USAGE "usage: hwpass cluster cert DIR CONTROLLER [--address HOST]... [--days N] [--renew]"

/* DIR CONTROLLER and the options; an exit code. */
static int parse(int argc, char **argv, bool cert, struct hp_pki_request *req, char ***addresses)
{
        const char *usage = cert ? CERT_USAGE : INIT_USAGE;
        const char *pos[2] = { NULL, NULL };
        size_t n_pos = 0;

        for (int i = 1; i < argc; i++) {
                int err = 0;
                const char *v;

                if ((v = hp_cli_opt_value(argc, argv, &i, "--address", &err))) {
                        if (hp_strv_push(addresses, v) < 0)
                                return hp_cli_error(-ENOMEM, "cannot read the arguments");
                } else if ((v = hp_cli_opt_value(argc, argv, &i, "--days", &err))) {
                        uint64_t days;

                        if (hp_parse_u64(v, 10, &days) < 0 || days == 0 || days > HP_PKI_MAX_DAYS)
                                return hp_cli_usage_error("invalid --days '%s': 1 to %d", v, HP_PKI_MAX_DAYS);
                        req->days = (unsigned)days;
                } else if (err)
                        return hp_cli_usage_error("%s", usage);
                else if (cert && streq(argv[i], "--renew"))
                        req->renew = true;
                else if (argv[i][0] == '-' || n_pos == 2)
                        return hp_cli_usage_error("%s", usage);
                else
                        pos[n_pos++] = argv[i];
        }
        if (n_pos != 2)
                return hp_cli_usage_error("%s", usage);
        req->dir = pos[0];
        req->name = pos[1];
        req->addresses = *addresses;
        req->n_addresses = hp_strv_length(*addresses);
        return HP_EXIT_OK;
}

static int print_result(struct hp_cli *c, json_t *doc, bool init)
{
        char until[32] = "?";
        time_t t = (time_t)json_integer_value(json_object_get(doc, "not_after"));
        struct tm tm;
        size_t i;
        json_t *a;

        if (c->json)
                return hp_cli_print_json(json_incref(doc));
        if (gmtime_r(&t, &tm))
                strftime(until, sizeof(until), "%Y-%m-%d", &tm);
        if (init)
                printf("cluster CA: %s (its key beside it: keep the key with you, offline)\n",
                       hp_cli_str(doc, "ca"));
        printf("controller '%s': %s, key %s, valid until %s for", hp_cli_str(doc, "name"), hp_cli_str(doc, "cert"),
               hp_cli_str(doc, "key"), until);
        json_array_foreach (json_object_get(doc, "addresses"), i, a)
                printf("%s %s", i ? "," : "", json_string_value(a));
        if (json_is_true(json_object_get(doc, "renewed")))
                printf("\nnext: copy the pair over the controller's --tls-cert and --tls-key files and reload it\n"
                       "  (systemctl reload hwpassd, or kill -HUP its hwpassd): agents keep working\n");
        else
                printf("\nnext: copy %s and the controller's pair to it, and start it with\n"
                       "  hwpassd --role controller --tls-cert %s --tls-key %s ...\n",
                       hp_cli_str(doc, "ca"), hp_cli_str(doc, "cert"), hp_cli_str(doc, "key"));
        return HP_EXIT_OK;
}

static int run(struct hp_cli *c, int argc, char **argv, bool cert)
{
        _cleanup_strv_free_ char **addresses = NULL;
        _cleanup_(json_decrefp) json_t *doc = NULL;
        struct hp_pki_request req = { 0 };
        int r = parse(argc, argv, cert, &req, &addresses);

        if (r != HP_EXIT_OK)
                return r;
        r = cert ? hp_ops_pki_issue(&c->ops, &req, &doc) : hp_ops_pki_init(&c->ops, &req, &doc);
        if (r < 0)
                return hp_cli_op_failed(c);
        return print_result(c, doc, !cert);
}

int hp_cmd_cluster_init(struct hp_cli *c, int argc, char **argv)
{
        return run(c, argc, argv, false);
}

int hp_cmd_cluster_cert(struct hp_cli *c, int argc, char **argv)
{
        return run(c, argc, argv, true);
}
