/*
 * authz.h -- the router's view of tokens and ACLs.
 *
 * The router (core/) sits below auth/ and may not include it; this
 * module hands it token lookup and the ACL check as a struct
 * router_auth_ops (router.h).
 */
#ifndef COFFER_AUTH_AUTHZ_H
#define COFFER_AUTH_AUTHZ_H

/* Register the ops with the router; called once from modules.c. */
void	 authz_register(void);

#endif /* COFFER_AUTH_AUTHZ_H */
