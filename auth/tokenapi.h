/*
 * tokenapi.h -- the auth/token/ backend: create, look up, renew and
 * revoke tokens over HTTP.  Always mounted; cannot be disabled.
 */
#ifndef COFFER_AUTH_TOKENAPI_H
#define COFFER_AUTH_TOKENAPI_H

/* Backend type and unseal hook that mounts auth/token/. */
void	 tokenapi_register(void);

#endif /* COFFER_AUTH_TOKENAPI_H */
