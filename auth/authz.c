/*
 * authz.c -- the router's view of tokens and ACLs.
 *
 * A thin table over token.c and acl.c, so that the router needs neither
 * header: authentication is token_authenticate, the check before a body
 * is read is token_check, and a request is allowed when the token is
 * root or its ACL grants the operation (with sudo on root-protected
 * paths, and within the policy's wrapping TTL limits).  No state of its own; thread-safe as the calls it makes.
 */
#include "config.h"

#include <stddef.h>

#include <jansson.h>

#include "acl.h"
#include "authz.h"
#include "err.h"
#include "router.h"
#include "token.h"

static int
authz_allowed(const struct auth_ctx *ac, const char *path, int op,
    json_t *data, long long wrap_ttl)
{
	int	 rc, sudo;

	if (ac->is_root)
		return CF_OK;
	rc = acl_check_wrap(ac->acl, path, op, data, wrap_ttl, &sudo);
	if (rc == CF_OK && acl_path_needs_sudo(path) && !sudo)
		rc = CF_EDENIED;
	return rc;
}

static const struct router_auth_ops authz_ops = {
	.authenticate = token_authenticate,
	.check = token_check,
	.allowed = authz_allowed,
	.free_ctx = token_auth_ctx_free,
};

void
authz_register(void)
{
	router_auth(&authz_ops);
}
