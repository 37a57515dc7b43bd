/*
 * approle.h -- the AppRole auth method: machines log in with a role ID
 * and a secret ID.
 */
#ifndef COFFER_AUTH_APPROLE_H
#define COFFER_AUTH_APPROLE_H

/* Register the "approle" backend type; called once from modules.c. */
void	 approle_register(void);

#endif /* COFFER_AUTH_APPROLE_H */
