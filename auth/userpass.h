/*
 * userpass.h -- the userpass auth method: users with passwords.
 *
 * Only the registration is public; mounts reach the method through its
 * struct backend_ops (router.h), and logins issue tokens through
 * tokenapi_login().  Threading and hashing costs: see userpass.c.
 */
#ifndef COFFER_AUTH_USERPASS_H
#define COFFER_AUTH_USERPASS_H

/*
 * Register the "userpass" backend type; called once from
 * modules.c at startup, before any thread.
 */
void	 userpass_register(void);

#endif /* COFFER_AUTH_USERPASS_H */
