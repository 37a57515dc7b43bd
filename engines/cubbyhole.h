/*
 * cubbyhole.h -- per-token private storage, mounted at cubbyhole/.
 */
#ifndef COFFER_ENGINES_CUBBYHOLE_H
#define COFFER_ENGINES_CUBBYHOLE_H

#include <jansson.h>

/* Register the "cubbyhole" type and the token revocation hook. */
void	 cubbyhole_register(void);

/*
 * A token's own cubbyhole entry rel, for the server itself (response
 * wrapping keeps a wrapped response in the wrapping token's cubbyhole).
 * hash is the token's keyed hash (token_hash).  get: *out owned, or
 * CF_ENOTFOUND.  CF_EINTERNAL before the cubbyhole mount exists.
 * Called under the core read lock.
 */
int	 cubbyhole_put(const char *hash, const char *rel, const json_t *)
	    __attribute__((warn_unused_result));
int	 cubbyhole_get(const char *hash, const char *rel, json_t **out)
	    __attribute__((warn_unused_result));

#endif /* COFFER_ENGINES_CUBBYHOLE_H */
