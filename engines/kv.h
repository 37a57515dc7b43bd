/*
 * kv.h -- the KV secrets engine, version 1 (plain) and 2 (versioned).
 */
#ifndef COFFER_ENGINES_KV_H
#define COFFER_ENGINES_KV_H

struct mount;

/*
 * Turn a version 1 mount's data into version 2: each secret becomes
 * version 1 of a versioned secret.  The kv backend's ops->upgrade:
 * sys/mounts tune calls it when options.version goes from 1 to 2, under
 * the core read lock.
 */
int	 kv_upgrade(struct mount *) __attribute__((warn_unused_result));

/* Register the "kv" backend type; called once from modules.c. */
void	 kv_register(void);

#endif /* COFFER_ENGINES_KV_H */
