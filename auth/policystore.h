/*
 * policystore.h -- stored ACL policies, their endpoints, and the cache
 * of compiled ACLs every authenticated request uses.
 *
 * Policies live behind the barrier at "sys/policy/<name>".  Compiled
 * ACLs are cached per sorted set of policy names; any policy write or
 * delete empties the cache, so a change applies to the next request of
 * every token: an ACL compiled from text read before the change is
 * never cached.  Lookups take the cache's read lock only and read no
 * storage once a set is cached.
 */
#ifndef COFFER_AUTH_POLICYSTORE_H
#define COFFER_AUTH_POLICYSTORE_H

struct acl;
struct strv;

/*
 * A referenced ACL for a token's policies (released with acl_free).
 * Unknown policy names grant nothing.  Caller holds the core read lock.
 */
int	 policystore_acl(const struct strv *policies, struct acl **out)
	    __attribute__((warn_unused_result));

/* Routes and unseal/seal hooks; called once from modules.c. */
void	 policystore_register(void);

#endif /* COFFER_AUTH_POLICYSTORE_H */
