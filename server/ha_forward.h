/*
 * ha_forward.h -- a standby's forwarding of requests to the active
 * node (see ha_forward.c).  Registered by ha.c; http.c checks the
 * client address a standby forwards.
 */
#ifndef COFFER_SERVER_HA_FORWARD_H
#define COFFER_SERVER_HA_FORWARD_H

struct request;
struct response;

/*
 * The header a standby adds to each request it forwards: the client's
 * address as the standby decided it (its listener's X-Forwarded-For
 * rules included), the time and a MAC under the echo key over both and
 * the request's method and path.  The active node takes the address
 * from it, so a token bound by CIDR works through a standby; a client
 * cannot forge it without the key.
 */
#define HA_CLIENT_HEADER	"X-Coffer-Client"

/* The router's forwarder (router_forward_fn), registered by ha.c. */
int	 ha_forward(struct request *, struct response *, int probe,
	    int *done);

/*
 * On the active node: if value (HA_CLIENT_HEADER of a forwarded
 * request) carries a valid MAC made within the echo's clock skew, make
 * its address req->remote_addr.  Otherwise the TCP peer (the standby)
 * stays the client address.  Takes the core read lock.
 */
void	 ha_forwarded_client(struct request *req, const char *value);

#endif /* COFFER_SERVER_HA_FORWARD_H */
