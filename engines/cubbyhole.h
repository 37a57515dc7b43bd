/*
 * cubbyhole.h -- per-token private storage, mounted at cubbyhole/.
 */
#ifndef COFFER_ENGINES_CUBBYHOLE_H
#define COFFER_ENGINES_CUBBYHOLE_H

/* Register the "cubbyhole" type and the token revocation hook. */
void	 cubbyhole_register(void);

#endif /* COFFER_ENGINES_CUBBYHOLE_H */
