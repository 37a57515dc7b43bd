/*
 * ha_echo.h -- the standbys' echo to the active node, and the node
 * list of sys/ha-status (see ha_echo.c).  Started and stopped by ha.c.
 */
#ifndef COFFER_SERVER_HA_ECHO_H
#define COFFER_SERVER_HA_ECHO_H

#include <jansson.h>

struct request;
struct response;

/* The echo thread (a standby's echo every 5 s); CF_OK, CF_EINTERNAL. */
int	 ha_echo_start(void) __attribute__((warn_unused_result));
void	 ha_echo_stop(void);

/* POST sys/ha-echo (a raw route): a standby announces itself. */
int	 ha_echo(struct request *, struct response *);

/* Core hook (active, standby): forget the nodes heard so far. */
int	 ha_echo_forget(void);

/*
 * sys/ha-status's node list: this node, and when it is the active
 * node every standby whose echo arrived within the last three echo
 * intervals, sorted by api_address.  *out is the caller's.  CF_OK,
 * CF_ENOMEM.  Takes no core lock.
 */
int	 ha_status(json_t **out) __attribute__((warn_unused_result));

#endif /* COFFER_SERVER_HA_ECHO_H */
