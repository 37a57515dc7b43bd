/*
 * seal.h -- the keys that protect everything: init, unseal, seal,
 * key rotation, rekey and generate-root.
 *
 * Key hierarchy: the Shamir shares combine to the unseal key; the
 * unseal key decrypts the root key; the root key decrypts the keyring;
 * the keyring's terms encrypt every stored value (barrier.h).  Only the
 * seal configuration ("core/seal-config") is stored in clear.
 *
 * Every key, share and root token lives in sodium_malloc memory and is
 * wiped on every path that drops it, errors included.
 */
#ifndef COFFER_SERVER_SEAL_H
#define COFFER_SERVER_SEAL_H

struct buf;

/*
 * Register the raw routes (sys/init, sys/unseal, sys/seal-status,
 * sys/seal, sys/generate-root/..., sys/rekey/...), the logical sys/ routes
 * (sys/key-status, sys/rotate) and the unseal/seal hooks.  Called once
 * from main before any thread.
 */
void	 seal_register(void);

/* Read the seal configuration from storage (after core_init). */
int	 seal_load(void) __attribute__((warn_unused_result));

/*
 * Dev mode: initialize with one share, unseal, and return the unseal
 * key (base64) and root token in the caller's bufs (wiped by buf_free).
 * root_token_id may be NULL (generate one).
 */
int	 seal_dev_init(const char *root_token_id, struct buf *key_b64,
	    struct buf *root_token) __attribute__((warn_unused_result));

#endif /* COFFER_SERVER_SEAL_H */
