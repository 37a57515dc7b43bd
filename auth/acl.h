/*
 * acl.h -- a token's policies compiled into one ACL, and the checks
 * every request goes through.
 *
 * An ACL is built once from a set of parsed policies (auth/policy.h)
 * and never changes afterwards, so any number of threads may check
 * against it at once without a lock.  It is reference counted: the
 * token store may cache one ACL per policy set and hand each request a
 * reference (acl_ref), and whoever holds a reference drops it with
 * acl_free().  Checks read no storage and take no lock; caching and
 * invalidation on policy writes are the caller's business.
 *
 * Matching follows Vault 1.14 (contract sections 1.4 to 1.9): exactly
 * one rule applies to a path, the most specific one, and capabilities
 * of other matching rules are never added.  Root-protected paths
 * (section 2) also need sudo on that rule.
 */
#ifndef COFFER_AUTH_ACL_H
#define COFFER_AUTH_ACL_H

#include <stddef.h>

#include <jansson.h>

#include "policy.h"

struct strv;

/* The capability bits, under this module's prefix too. */
#define ACL_CAP_DENY		POLICY_CAP_DENY
#define ACL_CAP_CREATE		POLICY_CAP_CREATE
#define ACL_CAP_READ		POLICY_CAP_READ
#define ACL_CAP_UPDATE		POLICY_CAP_UPDATE
#define ACL_CAP_DELETE		POLICY_CAP_DELETE
#define ACL_CAP_LIST		POLICY_CAP_LIST
#define ACL_CAP_SUDO		POLICY_CAP_SUDO
#define ACL_CAP_PATCH		POLICY_CAP_PATCH
#define ACL_CAP_SUBSCRIBE	POLICY_CAP_SUBSCRIBE

struct acl;

/*
 * Compile n policies (borrowed; the ACL keeps its own copies, so they
 * may be freed afterwards) into *out, holding one reference.  Rules
 * with the same pattern and kind in several policies (or twice in one)
 * merge: capabilities are ORed unless either side denies, in which case
 * deny alone remains; parameter lists are concatenated per name, an
 * empty list (any value) winning; required parameters are unioned;
 * wrapping TTLs keep the smallest non-zero value.  Templated rules are
 * dropped (coffer has no identity).  With is_root the policies are
 * ignored and everything is allowed.  policies may be NULL when n is 0.
 * CF_OK or CF_ENOMEM.
 */
int	 acl_new(struct policy *const *policies, size_t n, int is_root,
	    struct acl **out) __attribute__((warn_unused_result));

/* Take one more reference to a; returns a.  Thread-safe. */
struct acl	*acl_ref(struct acl *a);

/* Drop one reference; the last frees the ACL.  NULL is a no-op. */
void	 acl_free(struct acl *a);

/* 1 if a was built with is_root, else 0. */
int	 acl_is_root(const struct acl *a);

/*
 * The capability bits (ACL_CAP_*) of the one rule that applies to path,
 * found as for a list operation (so the trailing-slash fallbacks of
 * contract 1.7 apply), parameters ignored, as sys/capabilities does.
 * 0 when no rule applies (or a is NULL); ACL_CAP_DENY alone when the
 * rule denies; every grant (POLICY_CAP_ALL) for a root ACL.
 */
unsigned acl_capabilities(const struct acl *a, const char *path);

/*
 * May op (enum req_op, core/req.h) be done on path (the full request
 * path after "/v1/", including the mount; a list path carries its
 * trailing '/') with request data params (an object, or NULL)?
 * Returns CF_OK or CF_EDENIED.  The rule chosen must grant the
 * operation's capability; for read, create, update and patch the data
 * must also satisfy its required, denied and allowed parameters; a
 * rule with min_wrapping_ttl or max_wrapping_ttl denies (this entry
 * point never sees a wrapped request; see acl_check_wrap); and when
 * acl_path_needs_sudo(path) the rule must also grant sudo.  REQ_HEAD is
 * granted by no capability, only by a root ACL (Vault's header
 * operation).  *sudo (may be NULL) is set to 1 if the chosen rule
 * grants sudo (always for a root ACL), else 0, even on denial.  A NULL
 * acl denies.  Thread-safe; takes no lock.
 */
int	 acl_check(const struct acl *a, const char *path, int op,
	    json_t *params, int *sudo) __attribute__((warn_unused_result));

/*
 * acl_check() for a request asking for a response wrapped with
 * wrap_ttl seconds, checked against the rule's min_wrapping_ttl and
 * max_wrapping_ttl as Vault does: -1 (no X-Vault-Wrap-TTL header)
 * fails either limit; a header of 0 wraps nothing yet passes a
 * max_wrapping_ttl alone.
 */
int	 acl_check_wrap(const struct acl *a, const char *path, int op,
	    json_t *params, long long wrap_ttl, int *sudo)
	    __attribute__((warn_unused_result));

/*
 * 1 if a grants anything at or below mount (e.g. "secret/"), as
 * Vault's hasMountAccess: a capability on the mount path itself, or on
 * an exact, prefix or segment rule that reaches below it.  Rules that
 * deny are passed over.  sys/internal/ui/mounts asks it before telling
 * a token which mount a path is on.
 */
int	 acl_mount_access(const struct acl *a, const char *mount);

/*
 * 1 if path (full, after "/v1/") is one of Vault's root-protected
 * paths (contract section 2.2: the sys/ and auth/token/ lists), else 0.
 * As Vault does, only the longest listed entry that is a string prefix
 * of path is tested: a prefix entry (written with a trailing star)
 * matches, an exact entry ("sys/audit") must equal path.
 */
int	 acl_path_needs_sudo(const char *path);

/*
 * The ACL's rules as sys/internal/ui/resultant-acl shows them:
 * {"exact_paths": {p: {"capabilities": [...]}}, "glob_paths": {...},
 * "root": bool}.  Glob paths are shown with their '*'.  Owned; NULL on
 * ENOMEM.
 */
json_t	*acl_emit(const struct acl *a);

/*
 * Append to out (normally empty) the capability names of caps for
 * sys/capabilities: ["root"] when is_root; ["deny"] when caps has deny
 * or no capability; otherwise the names sorted alphabetically
 * ("create", "delete", "list", "patch", "read", "subscribe", "sudo",
 * "update").  CF_OK or CF_ENOMEM.
 */
int	 acl_capability_names(unsigned caps, int is_root, struct strv *out)
	    __attribute__((warn_unused_result));

#endif /* COFFER_AUTH_ACL_H */
