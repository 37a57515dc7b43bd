/*
 * userpass.h -- the userpass auth method: users with passwords.
 */
#ifndef COFFER_AUTH_USERPASS_H
#define COFFER_AUTH_USERPASS_H

/* Register the "userpass" backend type; called once from modules.c. */
void	 userpass_register(void);

#endif /* COFFER_AUTH_USERPASS_H */
