/*
 * sys_leases.h -- the sys/leases paths and the old sys/renew, sys/revoke,
 * sys/revoke-prefix and sys/revoke-force paths: lookup, listing,
 * renewal and revocation of the leases coffer issues (service and
 * wrapping tokens, auth/token.h).
 */
#ifndef COFFER_SERVER_SYS_LEASES_H
#define COFFER_SERVER_SYS_LEASES_H

/* Register the routes above.  Called once from modules_register. */
void	 sys_leases_register(void);

#endif /* COFFER_SERVER_SYS_LEASES_H */
