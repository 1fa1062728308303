/* The routes the web UI needs beyond the JSON of routes.c: the USB tree, a
 * VM's serial console log as text, and the UI's own three static files from
 * the web root. Only a fixed list of file names is served, so no URL can
 * name anything else under (or above) the web root. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api-internal.h"
#include "host/json.h"
#include "host/pci.h"
#include "host/usb.h"
#include "ops/vm.h"
#include "store/store.h"
#include "util/io.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "vm/spec.h"
#include "vm/supervise.h"

/* The console log's tail: enough for a boot and its last messages, small
 * enough to show at once. */
#define LOG_TAIL_MAX (64 * 1024)
/* The web files are a few tens of KiB; anything larger is not ours. */
#define WEB_FILE_MAX (4 * 1024 * 1024)

static const struct web_file {
        const char *url, *name, *content_type;
} web_files[] = {
        { "/", "index.html", "text/html; charset=utf-8" },
        { "/app.js", "app.js", "text/javascript; charset=utf-8" },
        { "/style.css", "style.css", "text/css; charset=utf-8" },
};

static const struct web_file *web_file_find(const char *url)
{
        for (size_t i = 0; i < ELEMENTSOF(web_files); i++)
                if (streq(url, web_files[i].url))
                        return &web_files[i];
        return NULL;
}

bool hp_api_web_path(const char *url)
{
        return web_file_find(url) != NULL;
}

struct hp_api_reply hp_api_usb(struct hp_api *a)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = NULL;
        _cleanup_(hp_usb_inventory_freep) struct hp_usb_inventory *usb = NULL;
        int r;

        r = hp_pci_scan(a->host, a->names, &inv);
        if (r >= 0)
                r = hp_usb_scan(a->host, &usb);
        if (r < 0)
                return hp_api_error(500, "host-unreadable", "cannot read the USB devices: %s", strerror(-r));
        return hp_api_ok(hp_json_usb(usb, inv));
}

/* Up to max bytes of fd from offset on, as a text reply. */
static struct hp_api_reply text_reply(int fd, off_t offset, size_t max, const char *content_type)
{
        _cleanup_free_ char *buf = malloc(max ? max : 1);
        size_t len = 0;

        if (!buf)
                return hp_api_error(500, "internal", "out of memory");
        while (len < max) {
                ssize_t n = pread(fd, buf + len, max - len, offset + (off_t)len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return hp_api_error(500, "unreadable", "cannot read the file: %s", strerror(errno));
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        return (struct hp_api_reply){
                .status = 200, .text = TAKE_PTR(buf), .text_len = len, .content_type = content_type
        };
}

/* GET /v1/vms/{name}/log: the last LOG_TAIL_MAX bytes of the serial console;
 * empty for a VM that has not run since the host booted. */
struct hp_api_reply hp_api_vm_log(struct hp_api *a, const char *name)
{
        static const char *const type = "text/plain; charset=utf-8";
        _cleanup_close_ int fd = -1;
        struct hp_api_reply err;
        struct stat st;

        if (hp_api_vm_exists(a, name, &err) < 0)
                return err;
        fd = hp_ops_vm_console_open(a->run_dir, name);
        if (fd == -ENOENT)
                return (struct hp_api_reply){ .status = 200, .text = calloc(1, 1), .content_type = type };
        if (fd < 0 || fstat(fd, &st) < 0)
                return hp_api_error(500, "unreadable", "cannot read the console log of VM '%s': %s",
                                    name,
                                    fd < 0 ? hp_ops_vm_console_strerror(fd) : strerror(errno));
        if (st.st_size <= LOG_TAIL_MAX)
                return text_reply(fd, 0, (size_t)st.st_size, type);
        return text_reply(fd, st.st_size - LOG_TAIL_MAX, LOG_TAIL_MAX, type);
}

/* GET / (index.html), /app.js, /style.css from the web root; 404 for any
 * other path outside /v1/. */
struct hp_api_reply hp_api_web(struct hp_api *a, const struct hp_api_request *req)
{
        const struct web_file *f = web_file_find(req->url);
        _cleanup_close_ int fd = -1;
        char path[4096], *text;
        struct stat st;
        size_t len;
        int r;

        if (!f)
                return hp_api_error(404, "no-route", "no such resource: %s %s (the web UI is at /, the API under /v1/)",
                                    req->method, req->url);
        if (!streq(req->method, "GET") && !streq(req->method, "HEAD"))
                return hp_api_error(405, "method", "%s %s: only GET", req->method, req->url);
        if (!*a->web_root)
                return hp_api_error(404, "no-web-ui", "this server has no web UI (hwpassd --web-root DIR)");
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", a->web_root, f->name) >= sizeof(path))
                return hp_api_error(500, "no-web-ui", "the web root '%.64s...' is too long", a->web_root);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0)
                return hp_api_error(404, "no-web-ui", "the web UI is not installed: cannot read '%s' (%s); "
                                    "start hwpassd with --web-root DIR", path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return hp_api_error(500, "no-web-ui", "'%s' is not a web UI file", path);
        r = hp_read_all(fd, WEB_FILE_MAX, &text, &len);
        if (r == -EFBIG)
                return hp_api_error(500, "no-web-ui", "'%s' is not a web UI file", path);
        if (r < 0)
                return hp_api_error(500, "unreadable", "cannot read the file: %s", strerror(-r));
        return (struct hp_api_reply){ .status = 200, .text = text, .text_len = len, .content_type = f->content_type };
}
