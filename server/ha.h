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

#define HA_ADDR_MAX		512	/* api_addr and cluster_addr */
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
 * The header a standby adds to each request it forwards: the client's
 * address as the standby decided it (its listener's X-Forwarded-For
 * rules included), the time and a MAC under the echo key over both and
 * the request's method and path.  The active node takes the address
 * from it, so a token bound by CIDR works through a standby; a client
 * cannot forge it without the key.
 */
#define HA_CLIENT_HEADER	"X-Coffer-Client"

/*
 * On the active node: if value (HA_CLIENT_HEADER of a forwarded
 * request) carries a valid MAC made within the echo's clock skew, make
 * its address req->remote_addr.  Otherwise the TCP peer (the standby)
 * stays the client address.  Takes the core read lock.
 */
void	 ha_forwarded_client(struct request *req, const char *value);

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
 * The active node's api_addr and cluster_addr (this node's own when it
 * is active), copied into the caller's buffers, "" when unknown.
 * CF_OK, CF_ENOTFOUND when no node holds the lock, CF_EIO.  Takes no
 * core lock.
 */
int	 ha_leader(char *api, size_t, char *cluster, size_t)
	    __attribute__((warn_unused_result));

/*
 * sys/ha-status's node list: this node, and when it is the active
 * node every standby whose echo arrived within the last three echo
 * intervals, sorted by api_address.  *out is the caller's.  CF_OK,
 * CF_ENOMEM.  Takes no core lock.
 */
int	 ha_status(json_t **out) __attribute__((warn_unused_result));

/*
 * For sys/init on an HA node: take the storage lock for the time of
 * the init, if nobody holds it (*taken then says to release it with
 * ha_init_end).  CF_OK with *taken 0 when this node holds it already;
 * CF_ESTANDBY when another node does.  Call without the core lock.
 */
int	 ha_init_begin(int *taken) __attribute__((warn_unused_result));
void	 ha_init_end(int taken);

#endif /* COFFER_SERVER_HA_H */
