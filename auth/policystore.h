/*
 * policystore.h -- stored ACL policies and the cache of compiled ACLs
 * every authenticated request uses.  The sys/policy* endpoints over it
 * are in server/sys_policy.c.
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

#include <stddef.h>

#include <jansson.h>

struct acl;
struct strv;

/*
 * A referenced ACL for a token's policies (released with acl_free).
 * Unknown policy names grant nothing.  Caller holds the core read lock.
 */
int	 policystore_acl(const struct strv *policies, struct acl **out)
	    __attribute__((warn_unused_result));

/*
 * The stored entry of policy name ({"name", "policy"}; owned, release
 * with json_decref) if its text parses.  CF_ENOTFOUND if there is none;
 * CF_EINVAL if the stored text no longer parses.  Core read lock held.
 */
int	 policystore_get(const char *name, json_t **raw)
	    __attribute__((warn_unused_result));
/*
 * Store text (already checked with policy_parse) as policy name, then
 * empty the ACL cache.  Core read lock held; storage errors as core_put.
 */
int	 policystore_put(const char *name, const char *text, size_t len)
	    __attribute__((warn_unused_result));
/* Delete policy name and empty the ACL cache; results as core_del. */
int	 policystore_del(const char *name)
	    __attribute__((warn_unused_result));
/* Append the stored policy names to out (not "root"). */
int	 policystore_list(struct strv *out)
	    __attribute__((warn_unused_result));

/* Unseal/seal hooks; called once from modules.c. */
void	 policystore_register(void);

#endif /* COFFER_AUTH_POLICYSTORE_H */
