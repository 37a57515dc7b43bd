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
 * Lock order (never take them the other way round):
 *   1. core lock (read for requests, write for transitions)
 *   2. at most one of the router, policy and token cache locks
 *   3. locks inside storage backends
 *   4. the log sink (a leaf)
 *
 * While unsealed, core_get/put/del/list/batch go through the barrier
 * (every value encrypted, the path as associated data).  Callers hold
 * the read lock.  Keys under "core/seal-config" and "core/lock" are the
 * only ones written in clear, through core_storage().
 */
#ifndef COFFER_SERVER_CORE_H
#define COFFER_SERVER_CORE_H

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
 * A hook run under the core write lock right after unsealing (to load
 * mounts, policies, tokens) or right before sealing (to drop caches and
 * wipe keys).  An unseal hook's failure aborts the unseal.
 */
typedef int	(*core_hook)(void);

/* Start with storage st (borrowed; closed by the caller after fini). */
int	 core_init(struct storage *, const struct core_conf *)
	    __attribute__((warn_unused_result));
void	 core_fini(void);
void	 core_on_unseal(core_hook);
void	 core_on_seal(core_hook);

void	 core_rdlock(void);
void	 core_wrlock(void);
void	 core_unlock(void);

/* The state; stable while the caller holds the lock. */
int	 core_state(void);
const struct core_conf *core_conf(void);
struct storage *core_storage(void);

/*
 * Called by seal.c under the write lock.  core_unsealed takes ownership
 * of the barrier (freed, wiped, on seal), runs the unseal hooks and
 * becomes CORE_UNSEALED; on a hook failure it seals again and returns
 * the error.  core_sealed runs the seal hooks, frees the barrier and
 * becomes CORE_SEALED.  core_set_initialized moves from uninitialized
 * to sealed, core_set_uninitialized back (seal.c, after reading storage
 * or undoing a failed init).
 */
int	 core_unsealed(struct barrier *) __attribute__((warn_unused_result));
void	 core_sealed(void);
void	 core_set_initialized(void);
void	 core_set_uninitialized(void);
/* The barrier while unsealed (borrowed, under the lock), else NULL. */
struct barrier *core_barrier(void);

/*
 * Cluster identity, read from storage at unseal by seal.c and shown by
 * sys/health and sys/seal-status while unsealed ("" otherwise).
 */
void	 core_set_cluster(const char *name, const char *id);
const char *core_cluster_name(void);
const char *core_cluster_id(void);

/* The Vault API version coffer answers as. */
#define CORE_VAULT_VERSION	"1.14.8"

/* Barrier-protected storage; CF_ESEALED unless unsealed. */
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
 * JSON documents in barrier-protected storage, the form most records
 * take.  get: *out owned by the caller; CF_ENOTFOUND if absent or if key
 * is not a valid storage key (a name no record can have).
 */
int	 core_get_json(const char *, json_t **)
	    __attribute__((warn_unused_result));
int	 core_put_json(const char *, const json_t *)
	    __attribute__((warn_unused_result));
/*
 * The direct children of prefix as a JSON array for a {"keys": [...]}
 * answer; *out is NULL when there are none (the caller answers 404).
 */
int	 core_list_json(const char *prefix, json_t **out)
	    __attribute__((warn_unused_result));
/* Delete every key under prefix (which ends in '/'), depth first. */
int	 core_del_prefix(const char *prefix)
	    __attribute__((warn_unused_result));

#endif /* COFFER_SERVER_CORE_H */
