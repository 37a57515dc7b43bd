/*
 * mounts.h -- the persistent mount tables: secrets engines (sys/mounts)
 * and auth methods (sys/auth).
 *
 * Tables are stored behind the barrier at "core/mounts" and "core/auth"
 * and loaded into the router at unseal.  Each mount's data lives under
 * its own storage view, "logical/<uuid>/" or "auth/<uuid>/", so that no
 * engine can reach another's.  Built-in mounts (sys/, auth/token/) are
 * made by their modules and are not stored here.
 */
#ifndef COFFER_SERVER_MOUNTS_H
#define COFFER_SERVER_MOUNTS_H

/* Routes and unseal hooks; called once from modules.c. */
void	 mounts_register(void);

/*
 * Dev mode: mount secret/ as KV version 2.  Caller holds the core read
 * lock, unsealed.
 */
int	 mounts_dev_setup(void) __attribute__((warn_unused_result));

#endif /* COFFER_SERVER_MOUNTS_H */
