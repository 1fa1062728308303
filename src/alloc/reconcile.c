/* An agent's converging steps: quadratic in the number of VMs of one host
 * (tens), which keeps it obvious. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile.h"
#include "util/macro.h"

static const struct hp_run_desired *find_desired(const struct hp_run_desired *d, size_t n, const char *vm)
{
        for (size_t i = 0; i < n; i++)
                if (streq(d[i].vm, vm))
                        return &d[i];
        return NULL;
}

static const struct hp_run_local *find_local(const struct hp_run_local *l, size_t n, const char *vm)
{
        for (size_t i = 0; i < n; i++)
                if (streq(l[i].vm, vm))
                        return &l[i];
        return NULL;
}

/* The highest epoch of vm this host started (or refused), or runs; 0 when none. */
static int64_t highest(const struct hp_run_seen *seen, size_t n_seen, const struct hp_run_local *l, const char *vm)
{
        int64_t h = l ? l->epoch : 0;

        for (size_t i = 0; i < n_seen; i++)
                if (streq(seen[i].vm, vm) && seen[i].epoch > h)
                        h = seen[i].epoch;
        return h;
}

static int check(const struct hp_run_desired *d, size_t n_d, const struct hp_run_local *l, size_t n_l)
{
        for (size_t i = 0; i < n_d; i++)
                if (!d[i].vm || d[i].epoch < 1 || find_desired(d, i, d[i].vm))
                        return -EINVAL;
        for (size_t i = 0; i < n_l; i++)
                if (!l[i].vm || l[i].epoch < 1 || find_local(l, i, l[i].vm))
                        return -EINVAL;
        return 0;
}

int hp_reconcile_plan(const struct hp_run_desired *desired, size_t n_desired, const struct hp_run_local *local,
                      size_t n_local, const struct hp_run_seen *seen, size_t n_seen,
                      struct hp_reconcile_step **ret, size_t *ret_n)
{
        _cleanup_free_ struct hp_reconcile_step *steps = NULL;
        size_t n = 0;
        int r = check(desired, n_desired, local, n_local);

        if (r < 0)
                return r;
        if (n_desired + n_local > 0 && !(steps = calloc(n_desired + n_local, sizeof(*steps))))
                return -ENOMEM;
        for (size_t i = 0; i < n_local; i++) {
                const struct hp_run_local *l = &local[i];
                const struct hp_run_desired *d = find_desired(desired, n_desired, l->vm);

                if (l->state == HP_RUN_STOPPING)
                        continue; /* on its way out already */
                if (!d)
                        steps[n++] = (struct hp_reconcile_step){ HP_RECONCILE_STOP, l->vm, l->epoch,
                                                                 "not wanted on this host any more" };
                else if (d->epoch > l->epoch)
                        steps[n++] = (struct hp_reconcile_step){ HP_RECONCILE_STOP, l->vm, l->epoch,
                                                                 "a stale run: the VM was claimed again since" };
        }
        for (size_t i = 0; i < n_desired; i++) {
                const struct hp_run_desired *d = &desired[i];
                const struct hp_run_local *l = find_local(local, n_local, d->vm);
                int64_t h = highest(seen, n_seen, l, d->vm);

                if (d->epoch < h)
                        steps[n++] = (struct hp_reconcile_step){ HP_RECONCILE_REFUSE, d->vm, d->epoch,
                                                                 "older than a run this host had: a stale order" };
                else if (!l && d->epoch > h)
                        steps[n++] = (struct hp_reconcile_step){ HP_RECONCILE_START, d->vm, d->epoch,
                                                                 "wanted on this host" };
                /* Else running at this epoch, or its older run stops first,
                 * or this epoch ran here and ended: an epoch runs once, and
                 * only the controller, with a new one, starts it again. */
        }
        *ret = n ? TAKE_PTR(steps) : NULL;
        *ret_n = n;
        return 0;
}
