/* For tests/cluster-link: one API client (api/client.h) kept for the whole
 * run, as an agent keeps it, driven by lines on stdin ("METHOD PATH"). Each
 * answer is one line on stdout: "STATUS URL" for an answer, "error TEXT"
 * when there was none.
 *
 *   client-call --ca FILE [--token TOKEN] URL...
 *   client-call --socket PATH */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/client.h"
#include "util/macro.h"

int main(int argc, char **argv)
{
        _cleanup_(hp_client_freep) struct hp_client *c = NULL;
        struct hp_client_options o = { .timeout_ms = 5000 };
        char *urls[16], line[512], *err = NULL;
        size_t n = 0;
        int r;

        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--ca") && i + 1 < argc)
                        o.ca_file = argv[++i];
                else if (streq(argv[i], "--token") && i + 1 < argc)
                        o.bearer = argv[++i];
                else if (streq(argv[i], "--socket") && i + 1 < argc)
                        o.unix_socket = argv[++i];
                else if (n < ELEMENTSOF(urls))
                        urls[n++] = argv[i];
        }
        o.urls = urls;
        o.n_urls = n;
        r = hp_client_new(&o, &c, &err);
        if (r < 0) {
                printf("error %s\n", err ? err : strerror(-r));
                free(err);
                return 1;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        while (fgets(line, sizeof(line), stdin)) {
                char method[16], path[256];
                json_t *answer = NULL;
                long status = 0;

                if (sscanf(line, "%15s %255s", method, path) != 2)
                        continue;
                free(err);
                err = NULL;
                r = hp_client_call(c, method, path, NULL, &status, &answer, &err);
                if (r < 0)
                        printf("error %s\n", err ? err : strerror(-r));
                else
                        printf("%ld %s\n", status, hp_client_current(c));
                json_decref(answer);
        }
        free(err);
        return 0;
}
