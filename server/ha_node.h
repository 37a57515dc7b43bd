/*
 * ha_node.h -- this node and the others, as the HA modules (ha.c,
 * ha_forward.c, ha_echo.c) and sys/leader share them (see ha_node.c).
 */
#ifndef COFFER_SERVER_HA_NODE_H
#define COFFER_SERVER_HA_NODE_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <sodium.h>

#include "req.h"

struct buf;
struct storage;

#define HA_ADDR_MAX		512	/* api_addr and cluster_addr */
#define HA_HOST_MAX		256
/* How far apart two nodes' clocks may be for a MAC'd message. */
#define HA_SKEW_MS		60000LL

/*
 * This node as its holder record, its echo and sys/ha-status name it;
 * set by ha_register.
 */
struct ha_self {
	char		 id[REQ_ID_LEN + 1];	/* random, per process */
	char		 host[HA_HOST_MAX];
	const char	*api;			/* api_addr, "" if none */
	const char	*cluster;		/* cluster_addr, "" if none */
};
const struct ha_self	*ha_self(void);

/*
 * When ha_stop began (monotonic ms), 0 while running: forwards in
 * flight end soon after, and none waits for an active node any more.
 */
long long	 ha_stop_at(void);

/* From ha_register and ha_start: whether HA is on, the store. */
void	 ha_node_init(int ha_enabled, const char *api_addr,
	    const char *cluster_addr);
void	 ha_node_store(struct storage *);
/* From ha_stop: transfers in flight end soon (ha_stop_at). */
void	 ha_node_stopping(void);

/*
 * The active node's api_addr and cluster_addr (this node's own when it
 * is active), copied into the caller's buffers, "" when unknown.
 * CF_OK, CF_ENOTFOUND when no node holds the lock, CF_EIO.  Takes no
 * core lock.
 */
int	 ha_leader(char *api, size_t, char *cluster, size_t)
	    __attribute__((warn_unused_result));

/*
 * The key nodes MAC their messages to each other with (the echo, the
 * forwarded client address), derived from the keyring, under the core
 * read lock: CF_ESEALED when sealed, CF_ESTANDBY when this node's role
 * is not want_active.
 */
int	 ha_node_key(int want_active, uint8_t key[crypto_auth_KEYBYTES])
	    __attribute__((warn_unused_result));

/* The connection cache every transfer shares.  From ha_start. */
int	 ha_node_start(void) __attribute__((warn_unused_result));
/* base + "/v1/" + req's path (escaped) and query, into out. */
int	 ha_target_url(const char *base, const struct request *,
	    struct buf *out) __attribute__((warn_unused_result));
/* The options every transfer to the active node shares. */
int	 ha_transfer_setup(CURL *, const char *url, long timeout_ms)
	    __attribute__((warn_unused_result));

#endif /* COFFER_SERVER_HA_NODE_H */
