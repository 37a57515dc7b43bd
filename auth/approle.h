/*
 * approle.h -- the AppRole auth method: machines log in with a role ID
 * and a secret ID.
 *
 * Only the registration is public; mounts reach the method through its
 * struct backend_ops (router.h), and logins issue tokens through
 * tokenapi_login().  Storage layout and locking: see approle.c.
 */
#ifndef COFFER_AUTH_APPROLE_H
#define COFFER_AUTH_APPROLE_H

/*
 * Register the "approle" backend type; called once from
 * modules.c at startup, before any thread.
 */
void	 approle_register(void);

#endif /* COFFER_AUTH_APPROLE_H */
