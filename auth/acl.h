/*
 * acl.h -- ACL checks: a token's compiled policies against a request.
 *
 * An ACL is immutable once built and may be shared between threads.
 * acl_check takes no lock and reads no storage.
 */
#ifndef COFFER_AUTH_ACL_H
#define COFFER_AUTH_ACL_H

#include <stddef.h>

#include <jansson.h>

struct policy;
struct strv;

enum acl_cap {
	ACL_CAP_DENY	= 1 << 0,
	ACL_CAP_CREATE	= 1 << 1,
	ACL_CAP_READ	= 1 << 2,
	ACL_CAP_UPDATE	= 1 << 3,
	ACL_CAP_DELETE	= 1 << 4,
	ACL_CAP_LIST	= 1 << 5,
	ACL_CAP_SUDO	= 1 << 6,
	ACL_CAP_PATCH	= 1 << 7
};

struct acl;

/* Build an ACL from n policies (borrowed); is_root allows everything. */
int	 acl_new(struct policy *const *, size_t, int is_root, struct acl **)
	    __attribute__((warn_unused_result));
void	 acl_free(struct acl *);
/* Capabilities of the one rule that applies to path. */
unsigned acl_capabilities(const struct acl *, const char *path);
/*
 * CF_OK if op (enum req_op) on path is allowed with these parameters,
 * else CF_EDENIED.  *sudo (may be NULL) says whether the rule grants
 * sudo.
 */
int	 acl_check(const struct acl *, const char *path, int op, json_t *,
	    int *sudo) __attribute__((warn_unused_result));
/* 1 if path is one of Vault's root-protected paths. */
int	 acl_path_needs_sudo(const char *path);
/* Capability names for sys/capabilities. */
int	 acl_capability_names(unsigned caps, int is_root, struct strv *)
	    __attribute__((warn_unused_result));

#endif /* COFFER_AUTH_ACL_H */
