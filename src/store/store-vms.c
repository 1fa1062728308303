/* The store's front for VMs: the VMs of the connection's host and their
 * devices (store.h), checked here as store.c checks the rest, then handed
 * to the backend. */
/* The store knows a VM's name only as a key (the vm layer validates it) and
 * the few words of state it stores. */
#include "store-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"
#include "util/strutil.h"

void hp_vm_record_done(struct hp_vm_record *r)
{
        if (!r)
                return;
        free(r->name);
        free(r->spec_json);
        free(r->state);
        free(r->qmp_path);
        *r = (struct hp_vm_record){0};
}

void hp_vm_records_free(struct hp_vm_record *r, size_t n)
{
        if (!r)
                return;
        for (size_t i = 0; i < n; i++)
                hp_vm_record_done(&r[i]);
        free(r);
}

/* The vm layer validates names; the store only refuses what it cannot key on. */
static bool vm_name_is_valid(const char *name)
{
        return name && *name;
}

static bool vm_state_is_valid(const char *state)
{
        static const char *const states[] = {"off", "starting", "running", "stopping"};

        if (!state)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(states); i++)
                if (streq(state, states[i]))
                        return true;
        return false;
}

int hp_store_vm_get(struct hp_store *s, const char *name, struct hp_vm_record *ret)
{
        if (!vm_name_is_valid(name))
                return -EINVAL;
        return s->backend->vm_get(s, name, ret);
}

int hp_store_vm_list(struct hp_store *s, struct hp_vm_record **ret, size_t *ret_n)
{
        return s->backend->vm_list(s, ret, ret_n);
}

int hp_store_vm_create(struct hp_store *s, const char *name, const char *spec_json)
{
        if (!vm_name_is_valid(name) || !spec_json)
                return -EINVAL;
        return s->backend->vm_create(s, name, spec_json);
}

int hp_store_vm_update_spec(struct hp_store *s, const char *name, const char *spec_json)
{
        if (!vm_name_is_valid(name) || !spec_json)
                return -EINVAL;
        return s->backend->vm_update_spec(s, name, spec_json);
}

int hp_store_vm_set_runtime(struct hp_store *s, const char *name, const char *state, int64_t pid,
                            const char *qmp_path, int64_t started_at)
{
        if (!vm_name_is_valid(name) || !vm_state_is_valid(state) || pid < 0 || started_at < 0)
                return -EINVAL;
        return s->backend->vm_set_runtime(s, name, state, pid, qmp_path, started_at);
}

int hp_store_vm_delete(struct hp_store *s, const char *name)
{
        if (!vm_name_is_valid(name))
                return -EINVAL;
        return s->backend->vm_delete(s, name);
}

int hp_store_assign_devices(struct hp_store *s, const char *vm, char *const *addresses, size_t n,
                            char **ret_conflict)
{
        if (!vm_name_is_valid(vm) || (n > 0 && !addresses))
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (!addresses[i])
                        return -EINVAL;
                if (!hp_store_address_is_valid(addresses[i]))
                        return hp_errorf(ret_conflict, -EINVAL, "%s", addresses[i]);
        }
        return s->backend->assign_devices(s, vm, addresses, n, ret_conflict);
}

int hp_store_release_devices(struct hp_store *s, const char *vm)
{
        if (!vm_name_is_valid(vm))
                return -EINVAL;
        return s->backend->release_devices(s, vm);
}
