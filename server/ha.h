/*
 * ha.h -- high availability: one active node per store, the others
 * standby, forwarding to it.
 *
 * One HA thread per node (ha_enabled only).  While the node is
 * unsealed and not active, it waits for the storage HA lock holding
 * no other lock; once it has it, it takes the core write lock and
 * makes the node active (core_become_active, whose first hook reloads
 * the keyring and seal configuration another node may have changed).
 * It leaves active on step-down, seal, shutdown or when the storage
 * says the lock was lost, checked every 250 ms and at once when the
 * backend's fence refuses a write: core write lock (requests in flight finish),
 * leave-active hooks, and only then the lock is released.  After a
 * step-down it does not compete for HA_STEPDOWN_PAUSE_MS, so another
 * standby takes over.
 *
 * A standby forwards every request but sys/init, sys/seal-status,
 * sys/seal, sys/unseal, sys/leader and sys/health to the active node's
 * api_addr (from the lock's holder record), without the core lock, and
 * relays the answer unchanged.
 *
 * A standby also announces itself to the active node every 5 s (an
 * echo to sys/ha-echo, authenticated by a key derived from the
 * keyring, never a token); the active node lists those it heard from
 * in sys/ha-status.
 */
#ifndef COFFER_SERVER_HA_H
#define COFFER_SERVER_HA_H

#include <stddef.h>

#include <jansson.h>

struct request;
struct response;
struct storage;

#define HA_STEPDOWN_PAUSE_MS	10000	/* no competing after a step-down */

/*
 * Note this node's api_addr and cluster_addr (may be NULL; borrowed
 * for the life of the process; they go into the holder record, the
 * echo and sys/ha-status) and its host name; with HA, register the
 * router's forwarder, the echo handler and the core hooks that wake
 * the HA thread.  From main, before any thread.
 */
void	 ha_register(int ha_enabled, const char *api_addr,
	    const char *cluster_addr);

/*
 * Start the HA and echo threads on st (borrowed until ha_stop).  CF_OK
 * (also without HA), CF_ENOMEM or CF_EINTERNAL.
 */
int	 ha_start(struct storage *) __attribute__((warn_unused_result));

/*
 * Leave active if active (a standby takes over at once), release the
 * lock and join the thread.  From main at shutdown; a no-op without HA.
 */
void	 ha_stop(void);

/* Ask the HA thread to step down; returns at once.  Any thread. */
void	 ha_step_down(void);

/*
 * For sys/init on an HA node: take the storage lock for the time of
 * the init, if nobody holds it (*taken then says to release it with
 * ha_init_end).  CF_OK with *taken 0 when this node holds it already;
 * CF_ESTANDBY when another node does.  Call without the core lock.
 */
int	 ha_init_begin(int *taken) __attribute__((warn_unused_result));
void	 ha_init_end(int taken);

#endif /* COFFER_SERVER_HA_H */
