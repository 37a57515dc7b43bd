/*
 * mounts.h -- sys/mounts and sys/auth: the handlers that list, read,
 * enable and disable secrets engines and auth methods, and
 * sys/internal/ui/mounts.
 *
 * The tables they change, stored behind the barrier and loaded into the
 * router on becoming active, are kept by mount_table.c; tune and
 * remount are in mounts_tune.c.
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
