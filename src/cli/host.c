/* hwpass host check: one line per readiness check, the fix under each one
 * that does not pass; exit 0 when the host can do passthrough, 1 when not. */
#include <stdio.h>

#include "host/json.h"
#include "cli.h"
#include "host/check.h"
#include "host/pci.h"
#include "util/macro.h"

int hp_cmd_host_check(struct hp_cli *c, int argc, char **argv)
{
        _cleanup_(hp_pci_inventory_freep) struct hp_pci_inventory *inv = NULL;
        _cleanup_(hp_check_report_freep) struct hp_check_report *rep = NULL;
        size_t failed = 0;
        bool ok;
        int r;

        r = hp_cli_no_args("host check", argc, argv);
        if (r != HP_EXIT_OK)
                return r;
        r = hp_cli_scan_pci(c, &inv);
        if (r != HP_EXIT_OK)
                return r;
        r = hp_host_check(c->host, inv, &rep);
        if (r < 0)
                return hp_cli_error(r, "cannot check the host under '%s'", c->host_root);
        ok = hp_check_report_ok(rep);
        if (c->json) {
                r = hp_cli_print_json(hp_json_check_report(rep));
                return r != HP_EXIT_OK ? r : ok ? HP_EXIT_OK : HP_EXIT_FAIL;
        }
        for (size_t i = 0; i < rep->n_checks; i++) {
                const struct hp_check *chk = &rep->checks[i];

                printf("%s  %-36s %s\n", hp_check_level_to_string(chk->level), chk->title, chk->message);
                if (chk->fix)
                        printf("      fix: %s\n", chk->fix);
                failed += chk->level == HP_CHECK_FAIL;
        }
        if (ok)
                printf("\nThis host can pass devices through to VMs.\n");
        else
                printf("\nThis host cannot pass devices through to VMs: %zu check%s failed.\n", failed,
                       failed == 1 ? "" : "s");
        return ok ? HP_EXIT_OK : HP_EXIT_FAIL;
}
