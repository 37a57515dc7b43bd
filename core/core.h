/*
 * core.h -- the node's state machine and its barrier-protected storage.
 *
 * States: uninitialized -> sealed -> unsealed, and back to sealed.  One
 * pthread_rwlock guards the state: every request holds it for reading
 * (core_rdlock) for its whole life; init, unseal completion and seal
 * take it for writing, so a transition waits for the requests in flight
 * and no request sees half a state.  The lock prefers writers, so a
 * stream of requests cannot starve sys/seal.
 *
 * Roles.  While unsealed a node is active or standby.  Both hold the
 * open barrier; only the active node has loaded what lives behind it
 * (mounts, policies, tokens, salts, transit keys) and only it writes.
 * Unseal and seal hooks do barrier-level work; become-active and
 * leave-active hooks load and drop the rest.  Without HA a node becomes
 * active as soon as it unseals; with HA the HA thread (ha.c) makes it
 * active once it holds the storage lock.  Sealing leaves active first.
 * The state and the role are atomics too, readable without the lock
 * (sys/health, sys/seal-status, sys/leader); they change only under
 * the write lock.
 *
 * Lock order (never take them the other way round):
 *   1. core lock (read for requests, write for transitions, step-down)
 *   2. at most one of the router, policy and token cache locks
 *   3. locks inside storage backends
 *   4. the log sink and the HA and cluster mutexes (leaves)
 * The storage HA lock is taken only by the HA thread, never while it
 * holds the core lock; it is released only after leaving active under
 * the write lock, so two writers never overlap.
 *
 * While unsealed, core_get/put/del/list/batch go through the barrier
 * (every value encrypted, the path as associated data).  Callers hold
 * the read lock.  Keys under "core/seal-config" and "core/lock" are the
 * only ones written in clear, through core_storage().
 *
 * In core/, the request pipeline under auth/ and engines/
 * (tests/layers.py): it includes util/, backends/ and seal/ headers,
 * never those of the layers that register with it.
 */
#ifndef COFFER_CORE_CORE_H
#define COFFER_CORE_CORE_H

#include <stddef.h>

#include <jansson.h>

struct barrier;
struct buf;
struct storage;
struct storage_op;
struct strv;

enum core_state {
	CORE_UNINITIALIZED,
	CORE_SEALED,
	CORE_UNSEALED
};

/* Settings the core needs from the configuration. */
struct core_conf {
	long long	 default_lease_ttl;	/* seconds */
	long long	 max_lease_ttl;
	const char	*cluster_name;		/* NULL: generated */
	const char	*api_addr;
	int		 ha_enabled;
};

/*
 * A hook run under the core write lock: right after unsealing or right
 * before sealing (barrier-level work: read-only on a standby), or on
 * becoming active (load mounts, policies, tokens: may write) and on
 * leaving active (drop them).  An unseal hook's failure aborts the
 * unseal; a become-active hook's failure leaves the node standby (or,
 * without HA, sealed).  Seal and leave-active hooks run in reverse.
 */
typedef int	(*core_hook)(void);

/* Start with storage st (borrowed; closed by the caller after fini). */
int	 core_init(struct storage *, const struct core_conf *)
	    __attribute__((warn_unused_result));
void	 core_fini(void);
void	 core_on_unseal(core_hook);
void	 core_on_seal(core_hook);
void	 core_on_active(core_hook);
void	 core_on_standby(core_hook);
/*
 * Called when the backend refuses a write of this active node because
 * another node took the storage lock: the HA thread's cue to leave
 * active at once.  Any request thread, often under the core read lock,
 * so it takes only leaf locks.  One, registered before any thread.
 */
void	 core_on_fenced(core_hook);

/*
 * Call fn on key's decoded document, read-only, and return what fn
 * returns (CF_ENOTFOUND if there is none): core_get_json without the
 * copy, for a reader that needs only part of a document.  fn may run
 * under a cache mutex, so it copies what it keeps and calls nothing
 * that locks.
 */
int	 core_read_json(const char *key, int (*fn)(const json_t *, void *),
	    void *arg) __attribute__((warn_unused_result));
/*
 * core_read_json for an fn that looks only at the members named in keep
 * (NULL-terminated) of an object document: when the read misses a
 * cache that would not keep the document, the others are not built
 * (jsondoc_parse_members).  fn may be given the whole document.
 */
int	 core_read_json_members(const char *key, const char *const *keep,
	    int (*fn)(const json_t *, void *), void *arg)
	    __attribute__((warn_unused_result));

/*
 * core_get_json for a writer about to replace key: a cached document is
 * taken out of the cache rather than copied (the write puts the new one
 * back), and a stamp of what was read, found or absent (0 when the node
 * does not cache: not active).  While core_json_is_current(key, stamp)
 * is 1, nothing has written or deleted key since the read: a writer
 * that holds the record's own lock may use what it read then instead of
 * reading it again.
 */
int	 core_take_json(const char *key, json_t **out,
	    unsigned long long *stamp) __attribute__((warn_unused_result));
int	 core_json_is_current(const char *key, unsigned long long stamp);

void	 core_rdlock(void);
void	 core_wrlock(void);
void	 core_unlock(void);

/*
 * The state and the role: stable while the caller holds the lock, and
 * safe to read without it (an atomic snapshot).  core_is_active is 1
 * only while unsealed and active.  core_active_time: when this node
 * became active (0, 0 when it is not).
 */
int	 core_state(void);
int	 core_is_active(void);
void	 core_active_time(long long *sec, long *nsec);
const struct core_conf *core_conf(void);
struct storage *core_storage(void);

/*
 * Called by keys.c and seal.c under the write lock.  core_unseal
 * takes ownership of the barrier (freed, wiped, on seal), runs the
 * unseal hooks and becomes CORE_UNSEALED; on a hook failure it seals again and returns
 * the error.  core_seal runs the seal hooks, frees the barrier and
 * becomes CORE_SEALED.  core_set_initialized moves from uninitialized
 * to sealed, core_set_uninitialized back (keys.c, after reading storage
 * or undoing a failed init).  Without HA core_unseal also becomes
 * active; core_seal leaves active first.
 *
 * core_become_active (under the write lock, unsealed) runs the
 * become-active hooks; on a failure it runs the leave-active hooks and
 * returns the error.  core_leave_active runs the leave-active hooks.
 */
int	 core_unseal(struct barrier *) __attribute__((warn_unused_result));
void	 core_seal(void);
int	 core_become_active(void) __attribute__((warn_unused_result));
void	 core_leave_active(void);
void	 core_set_initialized(void);
void	 core_set_uninitialized(void);
/* The barrier while unsealed (borrowed, under the lock), else NULL. */
struct barrier *core_barrier(void);

/*
 * Cluster identity, read from storage at unseal by seal.c and shown by
 * sys/health and sys/seal-status while unsealed ("" otherwise).
 * core_cluster copies both without the core lock.
 */
void	 core_set_cluster(const char *name, const char *id);
void	 core_cluster(char *name, size_t, char *id, size_t);

/* The Vault API version coffer answers as. */
#define CORE_VAULT_VERSION	"1.14.8"

/*
 * Barrier-protected storage; CF_ESEALED unless unsealed.  Writes are
 * refused with CF_ESTANDBY unless active: a standby never writes.
 */
int	 core_get(const char *, struct buf *)
	    __attribute__((warn_unused_result));
int	 core_put(const char *, const void *, size_t)
	    __attribute__((warn_unused_result));
int	 core_del(const char *) __attribute__((warn_unused_result));
int	 core_list(const char *, struct strv *)
	    __attribute__((warn_unused_result));
int	 core_batch(const struct storage_op *, size_t)
	    __attribute__((warn_unused_result));

/*
 * Telemetry: how many barrier gets, puts, deletes and lists were made
 * (those refused as sealed or standby not counted) and their total time
 * in nanoseconds, read without a lock.
 */
enum { CORE_OP_GET, CORE_OP_PUT, CORE_OP_DEL, CORE_OP_LIST, CORE_NOPS };
void	 core_op_stats(unsigned long long n[CORE_NOPS],
	    unsigned long long ns[CORE_NOPS]);

/*
 * JSON documents in barrier-protected storage, the form most records
 * take.  get: *out owned by the caller; CF_ENOTFOUND if absent or if key
 * is not a valid storage key (a name no record can have).
 */
int	 core_get_json(const char *, json_t **)
	    __attribute__((warn_unused_result));
int	 core_put_json(const char *, const json_t *)
	    __attribute__((warn_unused_result));
/*
 * core_batch where one of ops puts doc's text (as jsonutil_emit wrote
 * it) at key: the document cache keeps doc for key instead of dropping
 * it when it held key or key was just read (see jsoncache_write).
 * Takes the caller's reference to doc, whatever the outcome: a writer
 * hands over the document it built rather than have it copied.
 */
int	 core_batch_json(const struct storage_op *, size_t, const char *key,
	    json_t *doc) __attribute__((warn_unused_result));
/*
 * The direct children of prefix as a JSON array for a {"keys": [...]}
 * answer; *out is NULL when there are none (the caller answers 404).
 */
int	 core_list_json(const char *prefix, json_t **out)
	    __attribute__((warn_unused_result));
/* Delete every key under prefix (which ends in '/'), all or none. */
int	 core_del_prefix(const char *prefix)
	    __attribute__((warn_unused_result));

#endif /* COFFER_CORE_CORE_H */
