/*
 * tokenapi.h -- the auth/token/ backend: create, look up, renew and
 * revoke tokens over HTTP.  Always mounted; cannot be disabled.
 */
#ifndef COFFER_AUTH_TOKENAPI_H
#define COFFER_AUTH_TOKENAPI_H

#include <jansson.h>

struct mount;
struct response;
struct strv;

/* What a login method knows about the token it wants issued. */
struct login {
	const char		*path;		/* the login request's path */
	const char		*display_name;	/* "userpass-alice" */
	const struct strv	*policies;	/* token_policies */
	json_t			*meta;		/* borrowed */
	long long		 ttl, max_ttl, period, num_uses;
	long long		 explicit_max_ttl;	/* the token's own cap */
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
 * What a login method answers when a token it issued is renewed (Vault's
 * pathLoginRenew): its user's or role's token settings as they are now,
 * which the renewal uses instead of those copied at login.  gone = 1:
 * nothing is renewed and the answer is an empty 204, as Vault gives for
 * a deleted userpass user.
 */
struct login_renew {
	long long		 ttl, max_ttl, period;
	int			 gone;
};

/*
 * Make fn the renewal check of tokens issued under auth mounts of type
 * (e.g. "userpass").  fn gets the mount, the token's entry (borrowed;
 * its "meta" names the user or role) and resp; it fills *out and
 * returns CF_OK, or fails the renewal with an error text in resp.  It
 * runs under the core read lock.  Startup only, before any thread.
 */
void	 tokenapi_renew_hook(const char *type, int (*fn)(struct mount *,
	    json_t *entry, struct response *, struct login_renew *out));

/*
 * The background thread that revokes expired tokens every minute while
 * unsealed.  Start after the HTTP workers, stop before core_fini().
 */
void	 tokenapi_tidy_start(void);
void	 tokenapi_tidy_stop(void);

/* Backend type and unseal hook that mounts auth/token/. */
void	 tokenapi_register(void);

#endif /* COFFER_AUTH_TOKENAPI_H */
