/* The operations' context and their typed errors: one kind per outcome, one
 * exit code and one HTTP status per kind. */
#include "ops.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/hostroot.h"
#include "util/macro.h"

void hp_ops_ctx_default_paths(struct hp_ops_ctx *c)
{
        const char *run = getenv("HWPASS_RUN_DIR"), *state = getenv("HWPASS_STATE_DIR");

        if (!c->run_dir)
                c->run_dir = run && *run ? run : HP_DEFAULT_RUN_DIR;
        if (!c->state_dir)
                c->state_dir = state && *state ? state : HP_DEFAULT_STATE_DIR;
}

void hp_op_error_done(struct hp_op_error *e)
{
        free(e->message);
        json_decref(e->detail);
        *e = (struct hp_op_error){ 0 };
}

/* msg with each c->db in it shown as hp_store_display_name() shows it:
 * operations quote their store, and a database URL may hold a password. */
static char *hide_password(const struct hp_ops_ctx *c, char *msg)
{
        _cleanup_free_ char *shown = c->db && msg ? hp_store_display_name(c->db) : NULL;
        char *buf = NULL, *p = msg, *hit;
        size_t size = 0;
        FILE *f;

        if (!shown || streq(shown, c->db) || !strstr(msg, c->db))
                return msg;
        f = open_memstream(&buf, &size);
        if (!f)
                goto fail;
        while ((hit = strstr(p, c->db))) {
                fprintf(f, "%.*s%s", (int)(hit - p), p, shown);
                p = hit + strlen(c->db);
        }
        fputs(p, f);
        if (fclose(f) != 0)
                goto fail;
        free(msg);
        return buf;
fail:
        /* Never the password: no message rather than the raw one. */
        free(buf);
        free(msg);
        return NULL;
}

static int vfail(struct hp_ops_ctx *c, enum hp_op_kind kind, const char *code, int r, const char *fmt, va_list ap)
{
        hp_op_error_done(&c->error);
        c->error.kind = kind;
        c->error.code = code;
        if (vasprintf(&c->error.message, fmt, ap) < 0)
                c->error.message = NULL;
        c->error.message = hide_password(c, c->error.message);
        return r < 0 ? r : -EIO;
}

int hp_op_fail(struct hp_ops_ctx *c, enum hp_op_kind kind, int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        r = vfail(c, kind, NULL, r, fmt, ap);
        va_end(ap);
        return r;
}

int hp_op_fail_code(struct hp_ops_ctx *c, enum hp_op_kind kind, const char *code, int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        r = vfail(c, kind, code, r, fmt, ap);
        va_end(ap);
        return r;
}

void hp_op_set_detail(struct hp_ops_ctx *c, json_t *detail)
{
        json_decref(c->error.detail);
        c->error.detail = detail;
}

int hp_op_oom(struct hp_ops_ctx *c)
{
        return hp_op_fail(c, HP_OP_HOST, -ENOMEM, "out of memory");
}

static int host_error(struct hp_ops_ctx *c, int r, bool store, const char *fmt, va_list ap)
{
        _cleanup_free_ char *what = NULL;

        if (vasprintf(&what, fmt, ap) < 0)
                what = NULL;
        if (store && r == -EBUSY)
                return hp_op_fail(c, HP_OP_BUSY, r, "%s: the state database stayed busy with other writers; try again",
                                  what ? what : "failed");
        return hp_op_fail(c, HP_OP_HOST, r, "%s: %s", what ? what : "failed", hp_host_strerror(r < 0 ? r : -EIO));
}

int hp_op_host_error(struct hp_ops_ctx *c, int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        r = host_error(c, r, false, fmt, ap);
        va_end(ap);
        return r;
}

int hp_op_store_error(struct hp_ops_ctx *c, int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        r = host_error(c, r, true, fmt, ap);
        va_end(ap);
        return r;
}

int hp_op_exit_code(enum hp_op_kind kind)
{
        switch (kind) {
        case HP_OP_OK:
                return 0;
        case HP_OP_REFUSED:
        case HP_OP_FAILED:
                return 1;
        case HP_OP_INVALID:
        case HP_OP_NOT_FOUND:
        case HP_OP_CONFLICT:
        case HP_OP_VERSION:
        case HP_OP_AUTH:
                return 2;
        case HP_OP_HOST:
        case HP_OP_BUSY:
        default:
                return 3;
        }
}

unsigned hp_op_http_status(enum hp_op_kind kind)
{
        switch (kind) {
        case HP_OP_OK:
                return 200;
        case HP_OP_INVALID:
                return 400;
        case HP_OP_NOT_FOUND:
                return 404;
        case HP_OP_CONFLICT:
        case HP_OP_REFUSED:
        case HP_OP_FAILED:
                return 409;
        case HP_OP_VERSION:
                return 426;
        case HP_OP_AUTH:
                return 403;
        case HP_OP_BUSY:
                return 503;
        case HP_OP_HOST:
        default:
                return 500;
        }
}

const char *hp_op_api_code(const struct hp_op_error *e)
{
        if (e->code)
                return e->code;
        switch (e->kind) {
        case HP_OP_INVALID:
                return "bad-request";
        case HP_OP_NOT_FOUND:
                return "not-found";
        case HP_OP_CONFLICT:
        case HP_OP_REFUSED:
                return "refused";
        case HP_OP_FAILED:
                return "failed";
        case HP_OP_VERSION:
                return "protocol";
        case HP_OP_AUTH:
                return "forbidden";
        case HP_OP_BUSY:
                return "busy";
        default:
                return "host-error";
        }
}

enum hp_op_kind hp_op_kind_from_api(unsigned status, const char *code, bool has_detail)
{
        if (status < 300)
                return HP_OP_OK;
        if (status == 404)
                return HP_OP_NOT_FOUND;
        if (status == 426)
                return HP_OP_VERSION;
        if (status == 403)
                return HP_OP_AUTH;
        if (status == 503)
                return HP_OP_BUSY;
        if (status == 409 && code && streq(code, "failed"))
                return HP_OP_FAILED;
        /* A refusal that comes with what was refused (a plan) is an answer,
         * not a state that forbids asking. */
        if (status == 409 && has_detail)
                return HP_OP_REFUSED;
        if (status == 409)
                return HP_OP_CONFLICT;
        if (status >= 400 && status < 500)
                return HP_OP_INVALID;
        return HP_OP_HOST;
}

int hp_ops_store_open(struct hp_ops_ctx *c, struct hp_store **ret)
{
        _cleanup_free_ char *err = NULL;
        struct hp_store *s = NULL;
        int r = hp_store_open(c->db, &s, &err);

        if (r >= 0 && (r = hp_store_set_actor(s, c->actor)) < 0)
                hp_store_close(s);
        if (r < 0)
                return hp_op_fail(c, HP_OP_HOST, r, "%s", err ? err : strerror(-r));
        *ret = s;
        return 0;
}

int hp_ops_store_open_readonly(struct hp_ops_ctx *c, struct hp_store **ret)
{
        _cleanup_free_ char *err = NULL;
        int r = hp_store_open_readonly(c->db, ret, &err);

        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        if (r < 0)
                return hp_op_fail(c, HP_OP_HOST, r, "%s", err ? err : strerror(-r));
        return 0;
}
