/* lab-qmp SOCKET COMMAND: runs one QMP command on a running VM's control
 * socket (RUN_DIR/vms/NAME/qmp.sock) and prints its "return" value as
 * indented JSON with sorted keys, so a lab scenario can ask QEMU what the
 * guest's firmware did (query-pci: the address it gave each BAR). QEMU sends
 * keys in no fixed order; sorted, "address" comes before "size" in a region
 * and a line-based reader finds both. A test helper, not installed: it goes
 * into the lab's L1 image only. */
#include <stdio.h>
#include <string.h>

#include "util/macro.h"
#include "vm/qmp.h"

int main(int argc, char **argv)
{
        _cleanup_(hp_qmp_closep) struct hp_qmp *q = NULL;
        _cleanup_free_ char *err = NULL;
        json_t *ret = NULL;
        int r;

        if (argc != 3) {
                fprintf(stderr, "usage: lab-qmp SOCKET COMMAND (e.g. query-pci)\n");
                return 2;
        }
        r = hp_qmp_connect(argv[1], 10000, &q);
        if (r < 0) {
                fprintf(stderr, "lab-qmp: cannot connect to '%s': %s\n", argv[1], strerror(-r));
                return 1;
        }
        r = hp_qmp_execute(q, argv[2], NULL, 30000, &ret, &err);
        if (r < 0) {
                fprintf(stderr, "lab-qmp: %s: %s\n", argv[2], err ? err : strerror(-r));
                return 1;
        }
        r = json_dumpf(ret, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(ret);
        printf("\n");
        return r < 0 ? 1 : 0;
}
