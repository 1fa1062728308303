/* Unit tests: an agent converging on the runs a controller wants (alloc/
 * reconcile.h), with the epochs that keep stale orders and stale copies from
 * running a VM twice; and, over many random rounds against a model of the
 * whole cluster, that no epoch ever runs twice and no VM runs on two hosts. */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc/reconcile.h"

static struct hp_reconcile_step *steps;
static size_t n_steps;

static int teardown(void **state)
{
        (void)state;
        free(steps);
        steps = NULL;
        n_steps = 0;
        return 0;
}

static void plan(const struct hp_run_desired *d, size_t nd, const struct hp_run_local *l, size_t nl,
                 const struct hp_run_seen *s, size_t ns)
{
        free(steps);
        steps = NULL;
        assert_int_equal(hp_reconcile_plan(d, nd, l, nl, s, ns, &steps, &n_steps), 0);
}

static void assert_step(size_t i, enum hp_reconcile_action a, const char *vm, int64_t epoch)
{
        assert_true(i < n_steps);
        assert_int_equal(steps[i].action, a);
        assert_string_equal(steps[i].vm, vm);
        assert_int_equal(steps[i].epoch, epoch);
        assert_non_null(steps[i].why);
}

static void test_nothing_to_do(void **state)
{
        struct hp_run_desired d[] = { { "a", 3 } };
        struct hp_run_local l[] = { { "a", 3, HP_RUN_RUNNING } };

        (void)state;
        plan(NULL, 0, NULL, 0, NULL, 0);
        assert_int_equal(n_steps, 0);
        assert_null(steps);
        plan(d, 1, l, 1, NULL, 0);
        assert_int_equal(n_steps, 0);
}

static void test_start_and_stop(void **state)
{
        struct hp_run_desired d[] = { { "new", 1 }, { "kept", 2 } };
        struct hp_run_local l[] = { { "kept", 2, HP_RUN_RUNNING }, { "gone", 5, HP_RUN_RUNNING } };

        (void)state;
        plan(d, 2, l, 2, NULL, 0);
        assert_int_equal(n_steps, 2);
        /* Stops first: they free devices the starts may need. */
        assert_step(0, HP_RECONCILE_STOP, "gone", 5);
        assert_step(1, HP_RECONCILE_START, "new", 1);
}

static void test_stale_copy_stops_before_the_new_run(void **state)
{
        struct hp_run_desired d[] = { { "a", 7 } };
        struct hp_run_local l[] = { { "a", 6, HP_RUN_RUNNING } };
        struct hp_run_local stopping[] = { { "a", 6, HP_RUN_STOPPING } };
        struct hp_run_seen s[] = { { "a", 6 } };

        (void)state;
        plan(d, 1, l, 1, s, 1);
        assert_int_equal(n_steps, 1);
        assert_step(0, HP_RECONCILE_STOP, "a", 6);
        /* While it stops, nothing else happens to it. */
        plan(d, 1, stopping, 1, s, 1);
        assert_int_equal(n_steps, 0);
        /* Once it is gone, epoch 7 starts. */
        plan(d, 1, NULL, 0, s, 1);
        assert_int_equal(n_steps, 1);
        assert_step(0, HP_RECONCILE_START, "a", 7);
}

static void test_stale_order_is_refused(void **state)
{
        struct hp_run_desired d[] = { { "a", 4 }, { "b", 2 } };
        struct hp_run_local l[] = { { "a", 5, HP_RUN_RUNNING } };
        struct hp_run_seen s[] = { { "b", 3 }, { "a", 1 } };

        (void)state;
        plan(d, 2, l, 1, s, 2);
        assert_int_equal(n_steps, 2);
        /* The newer local run keeps running; the older order is refused. */
        assert_step(0, HP_RECONCILE_REFUSE, "a", 4);
        assert_step(1, HP_RECONCILE_REFUSE, "b", 2);
}

static void test_an_epoch_runs_once(void **state)
{
        struct hp_run_desired d[] = { { "a", 4 } };
        struct hp_run_seen s[] = { { "a", 4 } };

        (void)state;
        /* Epoch 4 ran here and ended: it is not started again. */
        plan(d, 1, NULL, 0, s, 1);
        assert_int_equal(n_steps, 0);
}

static void test_bad_input(void **state)
{
        struct hp_run_desired twice[] = { { "a", 1 }, { "a", 2 } };
        struct hp_run_desired zero[] = { { "a", 0 } };
        struct hp_run_local ltwice[] = { { "a", 1, HP_RUN_RUNNING }, { "a", 1, HP_RUN_STARTING } };

        (void)state;
        assert_int_equal(hp_reconcile_plan(twice, 2, NULL, 0, NULL, 0, &steps, &n_steps), -EINVAL);
        assert_int_equal(hp_reconcile_plan(zero, 1, NULL, 0, NULL, 0, &steps, &n_steps), -EINVAL);
        assert_int_equal(hp_reconcile_plan(NULL, 0, ltwice, 2, NULL, 0, &steps, &n_steps), -EINVAL);
        assert_null(steps);
}

/* The model: HOSTS agents and one controller over VMS VMs. The controller
 * claims a VM again (a new epoch, maybe on another host) or powers it off at
 * random. Each host hears the controller's state of some round, never older
 * than one it heard before (an answer reflects the database when it was
 * made, and an agent acts on an answer only within the lease it grants), but
 * it may miss many. Agents carry out their plans; starts and stops complete
 * at random later rounds. Checked: no (VM, epoch) ever starts twice, a host
 * never starts an epoch at or below one it had, and a host that heard the
 * current state runs no other copy than the current one unless it is
 * stopping it; rare answers older than one already heard are refused
 * where they would undo a newer claim. (A host that has not heard yet may still run an older copy:
 * HA claims a VM away only after that host's lease ran out, which the agent
 * honours by itself; that is not this plan's part.) */
#define HOSTS 3
#define VMS 4
#define ROUNDS 20000
#define EPOCHS 4096

struct agent {
        struct hp_run_local runs[VMS];
        size_t n;
        int64_t seen[VMS];
        int heard; /* the round of the newest state it heard */
};

struct answer {
        int host[VMS];      /* -1: not placed */
        int64_t epoch[VMS];
};

static const char *const names[VMS] = { "v0", "v1", "v2", "v3" };

static int vm_index(const char *vm)
{
        for (int i = 0; i < VMS; i++)
                if (strcmp(names[i], vm) == 0)
                        return i;
        fail();
        return -1;
}

static void agent_round(struct agent *a, int h, const struct answer *ans, unsigned char (*started)[EPOCHS])
{
        struct hp_run_desired d[VMS];
        struct hp_run_seen s[VMS];
        size_t nd = 0, ns = 0;

        for (int v = 0; v < VMS; v++) {
                if (ans->host[v] == h)
                        d[nd++] = (struct hp_run_desired){ names[v], ans->epoch[v] };
                if (a->seen[v])
                        s[ns++] = (struct hp_run_seen){ names[v], a->seen[v] };
        }
        plan(d, nd, a->runs, a->n, s, ns);
        for (size_t i = 0; i < n_steps; i++) {
                int v = vm_index(steps[i].vm);

                if (steps[i].action == HP_RECONCILE_STOP) {
                        for (size_t k = 0; k < a->n; k++)
                                if (a->runs[k].vm == names[v])
                                        a->runs[k].state = HP_RUN_STOPPING;
                } else if (steps[i].action == HP_RECONCILE_START) {
                        assert_true(steps[i].epoch > a->seen[v]);
                        assert_true(steps[i].epoch < EPOCHS);
                        /* The record first, then the start: an epoch runs once. */
                        a->seen[v] = steps[i].epoch;
                        assert_int_equal(started[v][steps[i].epoch]++, 0);
                        assert_true(a->n < VMS);
                        a->runs[a->n++] = (struct hp_run_local){ names[v], steps[i].epoch, HP_RUN_STARTING };
                }
        }
}

/* Some runs progress: starting -> running, stopping -> gone. */
static void agent_progress(struct agent *a)
{
        for (size_t k = 0; k < a->n;) {
                if (a->runs[k].state == HP_RUN_STARTING && rand() % 2)
                        a->runs[k].state = HP_RUN_RUNNING;
                if (a->runs[k].state == HP_RUN_STOPPING && rand() % 3 == 0) {
                        a->runs[k] = a->runs[--a->n];
                        continue;
                }
                k++;
        }
}

/* A host that heard the current state keeps only the current copy live. */
static void assert_converged(const struct agent *a, int h, const struct answer *now)
{
        for (size_t k = 0; k < a->n; k++) {
                int v = vm_index(a->runs[k].vm);
                bool current = now->host[v] == h && now->epoch[v] == a->runs[k].epoch;

                assert_true(current || a->runs[k].state == HP_RUN_STOPPING);
        }
}

static void test_model_never_twice(void **state)
{
        static struct agent agents[HOSTS];
        static struct answer history[ROUNDS];
        static unsigned char started[VMS][EPOCHS];
        struct answer now;
        int64_t next_epoch[VMS];
        size_t starts = 0, refusals = 0;

        (void)state;
        srand(14);
        memset(agents, 0, sizeof(agents));
        memset(started, 0, sizeof(started));
        for (int v = 0; v < VMS; v++)
                now.host[v] = -1, now.epoch[v] = 0, next_epoch[v] = 1;
        for (int r = 0; r < ROUNDS; r++) {
                int v = rand() % VMS;

                if (rand() % 8 == 0 && next_epoch[v] < EPOCHS) {
                        now.host[v] = rand() % 4 == 0 ? -1 : rand() % HOSTS;
                        now.epoch[v] = now.host[v] < 0 ? 0 : next_epoch[v]++;
                }
                history[r] = now;
                for (int h = 0; h < HOSTS; h++) {
                        struct agent *a = &agents[h];

                        if (rand() % 5 == 0)
                                continue; /* no answer this round */
                        /* Now and then an answer older than one it heard: a
                         * controller that reads a lagging replica, or a bug.
                         * The epochs must hold against it too. */
                        if (rand() % 50 == 0) {
                                agent_round(a, h, &history[rand() % (r + 1)], started);
                                refusals += n_steps > 0 && steps[n_steps - 1].action == HP_RECONCILE_REFUSE;
                                agent_progress(a);
                                continue;
                        }
                        /* The newest state, or one between what it heard and now. */
                        if (rand() % 3 == 0)
                                a->heard += rand() % (r - a->heard + 1);
                        else
                                a->heard = r;
                        agent_round(a, h, &history[a->heard], started);
                        for (size_t i = 0; i < n_steps; i++)
                                starts += steps[i].action == HP_RECONCILE_START,
                                        refusals += steps[i].action == HP_RECONCILE_REFUSE;
                        if (a->heard == r)
                                assert_converged(a, h, &now);
                        agent_progress(a);
                }
        }
        /* The model did something: many starts, and stale orders met. */
        assert_true(starts > 1000);
        assert_true(refusals > 0);
        teardown(NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_nothing_to_do, teardown),
                cmocka_unit_test_teardown(test_start_and_stop, teardown),
                cmocka_unit_test_teardown(test_stale_copy_stops_before_the_new_run, teardown),
                cmocka_unit_test_teardown(test_stale_order_is_refused, teardown),
                cmocka_unit_test_teardown(test_an_epoch_runs_once, teardown),
                cmocka_unit_test_teardown(test_bad_input, teardown),
                cmocka_unit_test_teardown(test_model_never_twice, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
