/* The public interface of the state store: device configuration, VMs, tokens, and an event log. */
/* One interface over backends (DESIGN.md §1): an SQLite file for a
 * standalone host (sqlite*.c), the cluster's PostgreSQL (pg*.c, in builds
 * with libpq), each behind the ops table in store-internal.h. Library code:
 * returns -errno, never prints.
 *
 * What callers may rely on, whatever the backend:
 * - Each call is atomic: a write changes everything it says or nothing
 *   (a put with its attributes, a delete with its releases, an assignment
 *   of several devices), and a read sees one consistent state.
 * - A committed write is seen by every connection, in this process or
 *   another, that reads after the commit.
 * - hp_store_begin() .. hp_store_commit() is serialisable: its writes are
 *   seen by others all at once or never, and what it reads stays as read
 *   until it ends, so read, change, write inside one is safe. A backend
 *   that cannot keep that against another connection says -EBUSY (below).
 * - -EBUSY means another connection's work conflicted with this call (it
 *   held the store's write turn, or changed what this transaction read) and
 *   waiting up to the busy timeout did not end it. Nothing of the call was
 *   done; retry later or tell the user the store is busy. Inside a
 *   transaction, a -EBUSY from a write may have ended the transaction:
 *   commit then says -ECANCELED, and the whole transaction is to be retried.
 * - -EROFS: a write on a connection opened read-only.
 * - -ECONNRESET: the connection to a database server was lost (it stopped,
 *   restarted, or the network failed); inside a transaction, the
 *   transaction is gone (-ECANCELED from then on, as above). The next call
 *   outside a transaction connects again, and says -ECONNRESET as long as
 *   that fails. A write outside a transaction, or a commit, that loses the
 *   connection may or may not have been done: read back to know.
 * - Event ids only grow, in commit order: a reader that asks for the events
 *   after the last id it saw misses none.
 * - Lists come sorted in byte order (strcmp) of their key; times are unix
 *   seconds. Text is expected to be UTF-8 without NUL bytes.
 * - A connection is used by one thread at a time; opening one is cheap.
 * What they must not rely on: how the store locks (SQLite makes writers take
 * turns from BEGIN; PostgreSQL locks rows, and gives up a transaction that
 * conflicts with another: callers of hp_store_begin() retry on -ECANCELED),
 * when -EBUSY comes (at begin, at a write, or at commit), or anything of the
 * file behind an sqlite: URL beyond what hp_store_open() says. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/token.h"

struct hp_store;

/* path names the store, as a URL or a plain path:
 *   sqlite:PATH, sqlite:///ABSOLUTE/PATH, or a plain path: an SQLite file
 *     (the standalone host's store), created with its directories (mode 0700,
 *     the file 0600) when missing. The scheme is case-insensitive; the path
 *     is taken byte for byte (no %-decoding, no ?options). Only a scheme a
 *     backend serves, or one followed by "//", makes a URL: "a:b.db" is a
 *     file (write ./sqlite:x to name a file called "sqlite:x").
 *   postgresql://..., postgres://...: the cluster's PostgreSQL database,
 *     a libpq URL (postgresql://USER:PASSWORD@HOST:PORT/DB?PARAMS; a Unix
 *     socket as ?host=/DIR). The database must exist; its schema is made
 *     and upgraded like a file's. -ECONNREFUSED, with libpq's words, when
 *     no connection can be made (no server, no such database, a refused
 *     login). A build without libpq refuses these with -EPROTONOSUPPORT
 *     and a message saying what to use. Any other scheme://... is refused
 *     the same way.
 * The schema is brought up to date by numbered migrations, each atomic.
 * -errno on failure; *ret_error (may be NULL) gets a malloc'd message naming
 * the store as the caller wrote it, with the backend's words and what to do
 * (NULL if even that allocation failed). A refused URL is never quoted
 * whole, and a database URL's password (user info or ?password=) shows as
 * "***". -EINVAL: malformed sqlite: URL or no path; -EBADMSG: not a store,
 * damaged, or holding what the current schema cannot (one VM name on two
 * hosts, at the upgrade to 7: the message names it and says what to do; the
 * store is left as it was); -EPROTONOSUPPORT: written by a newer hwpass, or
 * a scheme this build does not serve; -EBUSY: another connection kept it
 * busy (an upgrade under way) past the busy timeout. */
int hp_store_open(const char *path, struct hp_store **ret, char **ret_error);
/* Opens read-only, creating nothing; -ENOENT when the store does not exist
 * (for SQLite: no file) or holds no hwpass state yet (callers that only read
 * then show no stored state). Refuses a store newer than this code knows with
 * -EPROTONOSUPPORT, and one older too: it cannot be migrated without
 * writing, and this code needs the current schema, so it stays refused until
 * a read-write open (hwpassd) upgrades it. Writes fail with -EROFS. */
int hp_store_open_readonly(const char *path, struct hp_store **ret, char **ret_error);
/* Whether a kept PostgreSQL connection's reading of the schema version is
 * taken as current for a second (as the kept tables are) rather than read
 * at every open. hwpassd, which opens the store several times for each
 * request, takes it (another controller's upgrade is seen within the
 * second); the default, for the CLI and the agent, is not to. A connection
 * the server ended is found either way, without asking it. */
void hp_store_keep_schema(bool keep);
/* How many stores this process holds open: a process holding one must not
 * fork a child that uses a store (SQLite's locks are per process). */
unsigned hp_store_open_count(void);
/* Whether a and b (paths or URLs) name one store: the same file, for SQLite. */
bool hp_store_same(const char *a, const char *b);
/* name as a process in another directory reads it: an SQLite file's
 * relative path made absolute, the rest as it is. Malloc'd; NULL when out of
 * memory. */
char *hp_store_absolute(const char *name);
/* name as a message may show it: a URL's password (in its user info, or a
 * password= parameter) as "***", the rest as it is. Malloc'd; NULL when out
 * of memory. */
char *hp_store_display_name(const char *name);
void hp_store_close(struct hp_store *s);
static inline void hp_store_closep(struct hp_store **s)
{
        hp_store_close(*s);
}
int hp_store_schema_version(struct hp_store *s); /* >= 1 */

/* Hosts. A store holds the devices and VMs of one or more hosts (a
 * standalone host is a cluster of one): a device is known by its host and
 * address; a VM by its name, unique in the store, and placed on one host or
 * on none (the cluster's VMs below). A connection works on one host at a
 * time, HP_STORE_LOCAL_HOST after open, which every store has; the devices,
 * the VMs placed on it, assignments and the events added belong to it.
 * Tokens and the event log as read are the whole store's. */
#define HP_STORE_LOCAL_HOST "local"
#define HP_STORE_HOST_NAME_MAX 253
/* 1-253 letters, digits, '-', '.' or '_': a host's (or a controller's) name. */
bool hp_store_host_name_is_valid(const char *name);
/* Switches the connection to the host name; -ENOENT when there is none
 * (add it first), -EINVAL for a name that is not 1-253 letters, digits,
 * '-', '.' or '_'. */
int hp_store_set_host(struct hp_store *s, const char *name);
/* The name of the host the connection works on; valid until the next
 * hp_store_set_host() or close. */
const char *hp_store_host(struct hp_store *s);
/* Adds a host with no devices or VMs; -EEXIST when the name is taken,
 * -EINVAL as above. The connection stays on its host. */
int hp_store_host_add(struct hp_store *s, const char *name);
/* How long a call waits for another connection's conflicting work before
 * -EBUSY (5000 ms after open). For tests, and for callers that must not wait. */
int hp_store_set_busy_timeout(struct hp_store *s, int ms);

/* Explicit transactions, serialisable as said above. The calls below that
 * write join the open transaction; one that fails inside it undoes only
 * itself, unless the backend had to give up the whole transaction (disk
 * full, I/O error, a lost connection, a conflict). begin: -EALREADY when one
 * is open, -EBUSY as above. commit: -EINVAL when none is open, -ECANCELED
 * when the backend already gave it up (the changes are gone); when commit
 * itself fails, roll back. rollback with none open is a no-op, so error
 * paths can always call it. */
int hp_store_begin(struct hp_store *s);
int hp_store_commit(struct hp_store *s);
int hp_store_rollback(struct hp_store *s);
/* Runs fn(s, userdata) in a transaction and commits it; when the backend
 * gave the transaction up for a conflict with another connection
 * (-ECANCELED, or -EBUSY), runs it again from the start, a few times, with a
 * short random pause between. fn must read what it decides on inside
 * (it sees a fresh state each time) and return 0 or -errno; its failure
 * rolls back and is returned as it is, but for -EBUSY, taken as a conflict
 * (a device "held by" another VM is no conflict to retry: fn says so with
 * another code). -EBUSY when the conflicts went on. */
int hp_store_transact(struct hp_store *s, int (*fn)(struct hp_store *s, void *userdata), void *userdata);
/* The first call of a transaction that adds events and is run often at
 * once (claims): it waits until no other such transaction is open, instead
 * of conflicting with them on the event log's counter and starting again;
 * then it reads a state they all committed. Inside hp_store_begin()'s
 * transaction (-EINVAL otherwise). */
int hp_store_events_turn(struct hp_store *s);
/* Inside hp_store_begin()'s transaction (-EINVAL otherwise), for a caller
 * that gives the whole transaction up at the first failure: no operation's
 * writes are undone on their own any more (no savepoint each, a round trip
 * fewer on PostgreSQL, where any failure then ends the transaction:
 * -ECANCELED after it, as after a conflict). */
int hp_store_whole(struct hp_store *s);

/* What the operator configured for one PCI function, and how to recognise it. */
struct hp_dev_config {
        char address[13]; /* "0000:01:00.0", the key */
        uint16_t vendor_id, device_id, subsystem_vendor_id, subsystem_device_id;
        char *serial;       /* device serial (PCIe DSN, NVMe serial, MAC...), or NULL */
        char *slot;         /* physical slot, or NULL */
        bool desired;       /* passthrough asked for */
        char *host_driver;  /* driver to give it back to on disable, or NULL */
        char *label;        /* custom label, or NULL */
        char **attrs;       /* NULL-terminated "key=value" strings, sorted by key; never NULL */
        char *health;       /* "ok" or "quarantined"; never NULL */
        char *reason;       /* why the desired state could not be applied the last time
                             * hwpass tried ("reboot required: ..."), or NULL */
        char *assigned_vm;  /* VM that owns it now, or NULL */
        int64_t updated_at; /* unix seconds, set by put */
};
void hp_dev_config_done(struct hp_dev_config *c); /* frees members, accepts zeroed */
int hp_dev_config_copy(const struct hp_dev_config *from, struct hp_dev_config *ret);

/* The devices of the connection's host. address must be canonical:
 * "dddd:bb:dd.f", lower-case hex (-EINVAL otherwise). */
int hp_store_device_get(struct hp_store *s, const char *address,
                        struct hp_dev_config *ret); /* -ENOENT */
/* Sorted by address; *ret is NULL when there are none. */
int hp_store_device_list(struct hp_store *s, struct hp_dev_config **ret, size_t *ret_n);
void hp_dev_configs_free(struct hp_dev_config *c, size_t n);
/* Insert or replace, attrs included, atomically; joins hp_store_begin()'s transaction.
 * -EINVAL for a bad address, health or attribute (no '=', empty key),
 * -EEXIST for an attribute key given twice. A failed put changes nothing. */
int hp_store_device_put(struct hp_store *s, const struct hp_dev_config *c);
int hp_store_device_delete(struct hp_store *s, const char *address); /* -ENOENT when none */

/* An append-only event log (who did what), recorded with the connection's
 * host. kind is required; subject (a device address, a VM name...) and
 * message may be NULL. */
int hp_store_event_add(struct hp_store *s, const char *kind, const char *subject,
                       const char *message);
/* Who the events this connection adds are recorded for ("root", "uid 1000",
 * "token ci"); NULL: nobody in particular. Copied. */
int hp_store_set_actor(struct hp_store *s, const char *actor);
struct hp_event {
        int64_t id, at; /* at: unix seconds */
        char *kind, *subject, *message, *actor; /* all but kind may be NULL */
        char *host; /* the name of the host whose connection added it; NULL in a damaged store */
};
void hp_events_free(struct hp_event *e, size_t n);
/* The newest `limit` events with an id above `since`, oldest first, of every host. */
int hp_store_event_list(struct hp_store *s, int64_t since, size_t limit, struct hp_event **ret, size_t *ret_n);

/* A VM placed on the connection's host and its runtime state. The spec is the vm layer's JSON
 * document, stored as given: the store does not know its fields. */
struct hp_vm_record {
        char *name;
        char *spec_json;
        char *state;        /* "off", "starting", "running", "stopping" */
        int64_t pid;        /* 0 when none */
        char *qmp_path;     /* or NULL */
        int64_t started_at; /* unix seconds, 0 when not started */
        int64_t created_at, updated_at; /* unix seconds, set by the store */
};
void hp_vm_record_done(struct hp_vm_record *r); /* frees members, accepts zeroed */
void hp_vm_records_free(struct hp_vm_record *r, size_t n);

/* The VMs placed on the connection's host: a VM placed on another host, or
 * on none, is -ENOENT to these calls (and absent from the list), though its
 * name is taken. Names are validated by the vm layer; the store only
 * refuses NULL or empty ones (and a NULL spec) with -EINVAL. Writes join
 * hp_store_begin()'s transaction. */
int hp_store_vm_get(struct hp_store *s, const char *name, struct hp_vm_record *ret); /* -ENOENT */
/* Sorted by name; *ret is NULL when there are none. */
int hp_store_vm_list(struct hp_store *s, struct hp_vm_record **ret, size_t *ret_n);
/* Placed on the connection's host, state "off", desired "off", epoch 0, no
 * pid, no QMP socket. -EEXIST when the name is taken, on any host or by an
 * unplaced VM. */
int hp_store_vm_create(struct hp_store *s, const char *name, const char *spec_json);
int hp_store_vm_update_spec(struct hp_store *s, const char *name,
                            const char *spec_json); /* -ENOENT */
/* -ENOENT; -EINVAL for an unknown state or a negative pid or started_at. */
int hp_store_vm_set_runtime(struct hp_store *s, const char *name, const char *state, int64_t pid,
                            const char *qmp_path, int64_t started_at);
/* Deletes the VM and releases every device assigned to it (on any host: a
 * name is the store's, and a VM made later with it must not find devices
 * held), in one transaction. -ENOENT. */
int hp_store_vm_delete(struct hp_store *s, const char *name);
/* The same for the VM wherever it is placed, or unplaced (a cluster's controller). */
int hp_store_cluster_vm_delete(struct hp_store *s, const char *name);

/* Assigns every address (devices of the connection's host) to vm, its VM,
 * atomically across connections and processes: of two assigning one device
 * at once, one wins and the other gets -EBUSY "(held by ...)". Inside
 * hp_store_begin() it is part of that transaction. Each must have a devices
 * row and be free or already vm's; nothing is changed on failure. Errors, with
 * *ret_conflict (may be NULL) set to a malloc'd string where an address is to
 * blame and left alone otherwise:
 *   -EINVAL   address not canonical (*ret_conflict = the address), or no vm;
 *   -ENOENT   no devices row (*ret_conflict = the address), or no VM named
 *             vm placed on the connection's host (*ret_conflict left alone:
 *             create the VM first, or place it here: a claim places the VM,
 *             then assigns);
 *   -EBUSY    held by another VM (*ret_conflict = "ADDRESS (held by VM)"),
 *             or, with *ret_conflict left alone, the store stayed busy
 *             past the busy timeout (see the top of this file). */
int hp_store_assign_devices(struct hp_store *s, const char *vm, char *const *addresses, size_t n,
                            char **ret_conflict);
/* Frees every device assigned to vm; returns how many (0 for an unknown VM). */
int hp_store_release_devices(struct hp_store *s, const char *vm);

/* The cluster's VMs (docs/cluster.md), the whole store's: a VM's name is
 * unique in the store; it is placed on a host (the one it runs on, or is
 * pinned to) or on none (a dynamic VM while it is off), wanted on or off,
 * and each claim of it (hp_store_vm_place()) raises its epoch, the number
 * the host that runs it reports with. The store keeps no pinned flag: that
 * is the caller's (the spec's), told to hp_store_vm_unplace(). Writes join
 * hp_store_begin()'s transaction; a claim is begin, hp_store_set_host(),
 * hp_store_vm_place(), hp_store_assign_devices(), commit. */
struct hp_cluster_vm {
        char *name;
        char *host;           /* the host it is placed on or pinned to; NULL: unplaced */
        char *spec_json;
        char *state;          /* as hp_vm_record's: what its host's hp_store_vm_set_runtime() wrote */
        char *desired;        /* "on" or "off" */
        char *reported_state; /* what its host last reported at the current epoch, or NULL */
        int64_t epoch;        /* of its last claim; 0: never claimed */
        int64_t reported_ms;  /* when reported_state came (unix ms), 0: none */
        int64_t pid, started_at, created_at, updated_at; /* as hp_vm_record's */
        char *start_failures; /* the caller's record of the hosts its power-on failed on (JSON), or NULL */
        char *moving_from;    /* the host it is stopped on to run elsewhere (maintenance), or NULL */
};
void hp_cluster_vm_done(struct hp_cluster_vm *v); /* frees members, accepts zeroed */
void hp_cluster_vms_free(struct hp_cluster_vm *v, size_t n);
/* Every VM of the store, sorted by name; *ret is NULL when there are none. */
int hp_store_cluster_vm_list(struct hp_store *s, struct hp_cluster_vm **ret, size_t *ret_n);
/* Those placed on host, sorted by name. */
int hp_store_cluster_vm_list_on(struct hp_store *s, const char *host, struct hp_cluster_vm **ret, size_t *ret_n);
int hp_store_cluster_vm_get(struct hp_store *s, const char *name,
                            struct hp_cluster_vm *ret); /* -ENOENT */
/* Creates a VM placed on host, or unplaced with host NULL, as
 * hp_store_vm_create() does. -EEXIST when the name is taken, -ENOENT when
 * there is no such host, -EINVAL as hp_store_vm_create() says or for a bad
 * host name. */
int hp_store_cluster_vm_create(struct hp_store *s, const char *name, const char *host,
                               const char *spec_json);
/* Claims the VM for host, in one statement: placed there, desired "on",
 * epoch one higher, reported_state cleared (it was of the older epoch).
 * *ret_epoch (may be NULL) gets the new epoch. -ENOENT when there is no
 * such VM or host; -EBUSY when the VM holds devices of another host
 * (release them first: a claim never leaves devices behind elsewhere),
 * nothing changed then. */
int hp_store_vm_place(struct hp_store *s, const char *name, const char *host, int64_t *ret_epoch);
/* Whether VM name holds devices, on any host: 1 with *ret_host (may be
 * NULL; malloc'd) the first such host by name, 0 when it holds none (or
 * there is no such VM). A VM that is off holds some only while its last
 * run has not been reported ended. -EINVAL for a bad name. */
int hp_store_vm_held_on(struct hp_store *s, const char *name, char **ret_host);
/* A power-on's claim, as one step: VM vm, off, placed on host at its next
 * epoch (as hp_store_vm_place()), its start failures forgotten, devices
 * addrs[0..n) of that host assigned to it (as hp_store_assign_devices()),
 * and the event kind (message) recorded on that host. With check_host, the
 * host must be up (a live lease), ready and out of maintenance. -ENOENT:
 * no such VM or host; -EALREADY: the VM is on; -EHOSTUNREACH: the host
 * takes no VMs; -EBUSY with no *ret_conflict: the VM's last run has not
 * ended (it still holds devices, on any host, or its host last reported it
 * in a state other than "off": a stop asked for and not yet carried out;
 * claiming now would add the new devices to the old run's, or run it
 * twice); -EBUSY with *ret_conflict, or -ENOENT with it: a device is
 * another VM's, or not the host's (*ret_conflict says which, as
 * hp_store_assign_devices() does). Inside hp_store_begin()'s transaction,
 * which the caller rolls back on a failure; on PostgreSQL one statement. */
struct hp_store_claim {
        const char *vm, *host;
        char *const *addrs;
        size_t n;
        bool check_host;
        const char *event_kind, *event_message;
};
int hp_store_claim(struct hp_store *s, const struct hp_store_claim *c, int64_t *ret_epoch,
                   char **ret_conflict);
/* One claim's outcome in hp_store_claims(): r as hp_store_claim() returns
 * it, the epoch when claimed, the conflict (malloc'd) when refused. */
struct hp_store_claim_result {
        int r;
        int64_t epoch;
        char *conflict;
};
void hp_store_claim_result_done(struct hp_store_claim_result *res);
/* res's outcome as hp_store_claim() returns it (r instead when r, the
 * transaction's, is negative), into its out parameters; frees res. */
int hp_store_claim_result_give(struct hp_store_claim_result *res, int r, int64_t *ret_epoch,
                               char **ret_conflict);
/* Claims c[0..n) in the caller's transaction, in order, each as
 * hp_store_claim() and each all or nothing on its own: a refused one
 * (ret[i].r < 0) leaves nothing of itself behind and the next is judged
 * after it in the same transaction, so many power-ons share one commit.
 * ret[] is zeroed, or holds an earlier try's outcomes (freed first).
 * 0 when every claim was judged; the store's error otherwise, the
 * transaction then lost (the caller rolls back; ret[] means nothing). */
int hp_store_claims(struct hp_store *s, const struct hp_store_claim *c, size_t n,
                    struct hp_store_claim_result *ret);
/* Wants the VM off and frees it: desired "off", every device it holds
 * released (on any host), and its host cleared unless keep_host (a pinned
 * VM stays on its host), with what that host reported of it (a VM on no
 * host has no report). The epoch stays. -ENOENT. */
int hp_store_vm_unplace(struct hp_store *s, const char *name, bool keep_host);
/* desired is "on" or "off" (-EINVAL otherwise). -ENOENT. */
int hp_store_vm_set_desired(struct hp_store *s, const char *name, const char *desired);
/* Keeps failures (the caller's text, stored as given; NULL clears it) as
 * the VM's start_failures. -ENOENT. */
int hp_store_vm_set_start_failures(struct hp_store *s, const char *name, const char *failures);
/* Marks the VM as stopped on host to be restarted elsewhere (schema 10;
 * the caller's text as given, NULL clears it). -ENOENT. */
int hp_store_vm_set_moving(struct hp_store *s, const char *name, const char *host);
/* What hp_store_vm_report() returns for a report it did not record. */
#define HP_STORE_REPORT_STALE 1
/* Records what host says of the VM's run at epoch: reported_state = state
 * (1-64 letters, digits, '-' or '_'; the store does not know the agent's
 * states), reported_ms = now (the database's clock on PostgreSQL, as the
 * leases). Only a report of the current claim counts: when the VM is not
 * placed on host, or epoch is not its epoch, nothing is written and
 * HP_STORE_REPORT_STALE is returned (a late report from a host the VM has
 * left, or of a run since claimed again). 0 when recorded; -ENOENT when
 * there is no such VM; -EINVAL for a bad name, host, state or epoch < 0. */
int hp_store_vm_report(struct hp_store *s, const char *host, const char *name, int64_t epoch,
                       const char *state);

/* The API's bearer tokens, the whole store's. The store keeps a name and the hex
 * SHA-256 of each token (util/token.h), never the token, and never hands
 * the hash back out. */
struct hp_token_info {
        char *name;
        enum hp_token_role role;
        struct hp_token_scope scope;      /* the hosts and VMs it is limited to */
        int64_t created_at, last_used_at; /* unix seconds; last_used_at 0: never */
};
void hp_token_info_done(struct hp_token_info *t);
void hp_token_infos_free(struct hp_token_info *t, size_t n);
/* scope NULL: no limit. -EINVAL for a bad name, hash, role or scope (a list
 * not as hp_token_list_join() writes it, of names a host's could not be),
 * -EEXIST when the name (or the hash) is taken. */
int hp_store_token_add(struct hp_store *s, const char *name, const char *hash,
                       enum hp_token_role role, const struct hp_token_scope *scope);
/* Sorted by name; *ret is NULL when there are none. */
int hp_store_token_list(struct hp_store *s, struct hp_token_info **ret, size_t *ret_n);
int hp_store_token_revoke(struct hp_store *s, const char *name); /* -ENOENT when none */
/* How fine last_used_at is: a use within this many seconds of the recorded
 * one is not written again. */
#define HP_TOKEN_USE_RESOLUTION 60
/* The token whose hash is hash (its name, role and scope: ret's times are
 * 0), its last use set to now (to the minute, see above). Every
 * stored hash is compared, each in constant time, so how long this takes
 * does not tell how close a guess came. -ENOENT when none matches (or it was
 * revoked meanwhile), -EINVAL for a malformed hash. */
int hp_store_token_check(struct hp_store *s, const char *hash, struct hp_token_info *ret);

/* The cluster (docs/cluster.md): hosts' credentials, leases and reports,
 * join tokens, the leader lease. Lease times are unix milliseconds (the
 * names ending in _ms), timed by the database's clock on PostgreSQL
 * (now(): the start of the call's transaction, so every lease a
 * transaction writes has one time), by this process's clock on SQLite (one
 * host, no server). A ttl_ms is 1..HP_STORE_TTL_MS_MAX (-EINVAL otherwise).
 * Credentials and join tokens are kept as hex SHA-256 (util/token.h), never
 * handed back out. Writes join hp_store_begin()'s transaction, so a join
 * (join token used, host added, credential set) is one. */
#define HP_STORE_TTL_MS_MAX (30LL * 24 * 3600 * 1000)
/* Sets host name's credential; -ENOENT when there is no such host, -EEXIST
 * when it holds one already (revoke it first: a name with a live credential
 * is not joined again) or another host's is the same, -EINVAL for a bad
 * name or hash. */
int hp_store_host_set_credential(struct hp_store *s, const char *name, const char *hash);
/* Removes the host's credential: a check with it fails from then on. 0 also
 * when it held none; -ENOENT when there is no such host. */
int hp_store_host_revoke(struct hp_store *s, const char *name);
/* The name of the host whose credential is hash. Every stored credential is
 * compared, each in constant time, as hp_store_token_check() does. -ENOENT
 * when none matches (revoked, or never set), -EINVAL for a malformed hash. */
int hp_store_host_check(struct hp_store *s, const char *hash, char **ret_name);
/* Renews the host's lease to now + lease_ms and records now as its last
 * heartbeat; *ret_expires_ms (may be NULL) gets the new expiry. -ENOENT. */
int hp_store_host_renew(struct hp_store *s, const char *name, int64_t lease_ms,
                        int64_t *ret_expires_ms);
/* hp_store_host_renew() and hp_store_host_set_ready() in one write, as a
 * heartbeat makes them. */
int hp_store_host_beat(struct hp_store *s, const char *name, int64_t lease_ms, bool ready,
                       int64_t *ret_expires_ms);
/* Stores the host's last report (JSON, as given: the store does not read
 * it) with the time it came. -ENOENT; -EINVAL for a NULL report. */
int hp_store_host_report(struct hp_store *s, const char *name, const char *report_json);
/* The host's last report (NULL when it never sent one) and when it came
 * (0: never). -ENOENT. */
int hp_store_host_report_get(struct hp_store *s, const char *name, char **ret_report_json,
                             int64_t *ret_at_ms);
/* Every host's device rows and last report at once (a controller's
 * picture of the cluster): one per host, in no particular order. A report
 * is named by when it came and its length in bytes: one the caller says it
 * has (known, n_known: it keeps the reports it read) is not sent again. */
struct hp_store_report_key {
        const char *host;
        int64_t at_ms; /* when it came, by the database's clock */
        int64_t len;
};
struct hp_store_inventory {
        char *host;
        struct hp_dev_config *rows; /* by address; NULL when none */
        size_t n_rows;
        char *report_json;              /* NULL: never sent, or kept */
        struct hp_store_report_key key; /* .host: host; at_ms 0: never sent */
        bool report_kept;               /* the one known names: report_json is NULL */
};
int hp_store_inventories(struct hp_store *s, const struct hp_store_report_key *known,
                         size_t n_known, struct hp_store_inventory **ret, size_t *ret_n);
void hp_store_inventories_free(struct hp_store_inventory *v, size_t n);
/* The host's flags (both false for a new host). -ENOENT. */
int hp_store_host_set_ready(struct hp_store *s, const char *name, bool ready);
int hp_store_host_set_maintenance(struct hp_store *s, const char *name, bool maintenance);
struct hp_host_info {
        char *name;
        bool has_credential;
        int64_t lease_expires_ms; /* 0: never renewed */
        bool lease_live;          /* lease_expires_ms > now, by the database's clock */
        int64_t heartbeat_ms;     /* the last renewal, 0: never */
        bool ready, maintenance;
        int64_t now_ms; /* the database's clock when listed: ages are by it, not a controller's */
};
void hp_host_infos_free(struct hp_host_info *h, size_t n);
/* Every host, the local one included, sorted by name. */
int hp_store_host_list(struct hp_store *s, struct hp_host_info **ret, size_t *ret_n);
/* One host as the list has it (free its name). -ENOENT. */
int hp_store_host_get(struct hp_store *s, const char *name, struct hp_host_info *ret);

/* Join tokens: one use each, until they expire. */
struct hp_join_token_info {
        int64_t id;         /* the order they were added in */
        int64_t created_at; /* unix seconds */
        int64_t expires_ms;
        int64_t used_ms;    /* 0: not used */
};
/* Adds a token (its hash) that expires ttl_ms from now; *ret_expires_ms
 * (may be NULL) gets when. -EEXIST when the hash is there already. */
int hp_store_join_token_add(struct hp_store *s, const char *hash, int64_t ttl_ms,
                            int64_t *ret_expires_ms);
/* Uses the token, atomically: of two connections using one token at once,
 * one wins. -ENOENT when no token has this hash or it was used already,
 * -EKEYEXPIRED when it expired; -EINVAL for a malformed hash. */
int hp_store_join_token_use(struct hp_store *s, const char *hash);
/* Used and expired ones included, by id; *ret is NULL when there are none. */
int hp_store_join_token_list(struct hp_store *s, struct hp_join_token_info **ret, size_t *ret_n);

/* Takes or renews the leader lease for holder (a controller's name, as a
 * host's: 1-253 letters, digits, '-', '.', '_') until now + ttl_ms, when it
 * is free, expired, or holder's already. *ret_token gets the fencing token,
 * which grows each time the holder changes and stays while a holder renews.
 * -EBUSY when another holds a live lease: *ret_holder (may be NULL) gets
 * its name, malloc'd (left alone on any other error, -EBUSY from a busy
 * store included). */
int hp_store_leader_acquire(struct hp_store *s, const char *holder, int64_t ttl_ms,
                            int64_t *ret_token, char **ret_holder);

/* The cluster's settings (schema 9): small values every controller reads
 * alike, by key (1-HP_STORE_SETTING_KEY_MAX of a-z, 0-9, '_', '.', '-';
 * -EINVAL otherwise), each value the caller's text as given. Both join
 * hp_store_begin()'s transaction. */
#define HP_STORE_SETTING_KEY_MAX 64
/* key's value, malloc'd, into *ret; -ENOENT when it is not set. */
int hp_store_setting_get(struct hp_store *s, const char *key, char **ret);
/* Sets key to value; value NULL removes it (0 also when it was not set). */
int hp_store_setting_set(struct hp_store *s, const char *key, const char *value);

/* The schema version this code knows; sqlite-migrations.c and pg-migrations.c
 * each hold one migration per version, the same logical schema. */
#define HP_STORE_SCHEMA_VERSION 12
