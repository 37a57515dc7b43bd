/*
 * tokenapi.h -- the auth/token/ backend: create, look up, renew and
 * revoke tokens over HTTP.  Always mounted; cannot be disabled.
 */
#ifndef COFFER_AUTH_TOKENAPI_H
#define COFFER_AUTH_TOKENAPI_H

#include <jansson.h>

struct response;
struct strv;

/* What a login method knows about the token it wants issued. */
struct login {
	const char		*path;		/* the login request's path */
	const char		*display_name;	/* "userpass-alice" */
	const struct strv	*policies;	/* token_policies */
	json_t			*meta;		/* borrowed */
	long long		 ttl, max_ttl, period, num_uses;
	int			 no_default_policy;
	json_t			*bound_cidrs;	/* borrowed; or NULL */
};

/*
 * Issue an orphan service token for a successful login and put Vault's
 * auth block in resp->auth.  TTLs follow the mount defaults when 0.
 */
int	 tokenapi_login(const struct login *, struct response *)
	    __attribute__((warn_unused_result));

/*
 * The background thread that revokes expired tokens every minute while
 * unsealed.  Start after the HTTP workers, stop before core_fini().
 */
void	 tokenapi_tidy_start(void);
void	 tokenapi_tidy_stop(void);

/* Backend type and unseal hook that mounts auth/token/. */
void	 tokenapi_register(void);

#endif /* COFFER_AUTH_TOKENAPI_H */
