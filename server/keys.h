/*
 * keys.h -- the key hierarchy behind the seal: the seal configuration,
 * the root key, the keyring's storage, and how they change (init,
 * unseal, rotate, rekey, an HA takeover).
 *
 * Shamir shares combine to the unseal key (KEK); the KEK decrypts the
 * root key; the root key decrypts the keyring; the keyring's terms
 * encrypt every stored value (barrier.h).  Only the seal configuration
 * ("core/seal-config") is stored in clear.
 *
 * keys_lock guards the cached seal configuration and the held root key;
 * the seal's handlers take it for their share collections too.  It
 * nests inside the core lock.  "Under keys_lock" below means the caller
 * holds it; the other functions take it themselves.
 */
#ifndef COFFER_SERVER_KEYS_H
#define COFFER_SERVER_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "shares.h"

#define KEYS_KEY_LEN	SHARES_KEY_LEN		/* KEK and root key */

struct barrier;

void	 keys_lock(void);
void	 keys_unlock(void);

/* The cached seal configuration: shares and threshold.  Under keys_lock. */
int	 keys_shares(void);
int	 keys_threshold(void);

/*
 * Read the clear seal configuration from storage into *n and *t, and
 * *present: whether the store is initialized.  Read each time it
 * matters while sealed, never remembered across requests: on a store
 * shared by HA nodes another node may have initialized or rekeyed it.
 */
int	 keys_read_config(int *, int *, int *)
	    __attribute__((warn_unused_result));

/*
 * Bring the cached configuration and the core's initialized state in
 * line with storage.  Under the core write lock, while not unsealed.
 */
int	 keys_load_config(void);

/*
 * Split kek into n shares, t of which combine, at SHARES_SHARE_MAX
 * strides in shares; *share_len is each share's length.  One share is
 * the key itself (Vault does not split then).
 */
int	 keys_make_shares(const uint8_t *, int, int, uint8_t *, size_t *)
	    __attribute__((warn_unused_result));

/*
 * Initialize: a new root key and keyring, wrapped under kek and stored
 * with the seal configuration (n, t) in one batch, then unsealed (the
 * barrier is the core's).  *stored says the keys reached storage: a
 * failure after that is undone with keys_init_undo.  Under the core
 * write lock, uninitialized.
 */
int	 keys_install(const uint8_t *, int, int, int *)
	    __attribute__((warn_unused_result));

/*
 * Undo an init that failed after its keys were stored: every key in
 * storage goes, and the node is uninitialized again.  Under the core
 * write lock, sealed.
 */
void	 keys_init_undo(void);

/*
 * Open the stored keys with kek and unseal; *wrong_key says kek does
 * not open the root key (the return is then CF_EDENIED).  Under the
 * core write lock.  On success the barrier belongs to the core.
 */
int	 keys_unseal(const uint8_t *, int *)
	    __attribute__((warn_unused_result));

/*
 * Does kek open the stored root key, and is that the root key in use?
 * CF_OK, CF_EDENIED, or a storage error.  Under keys_lock.
 */
int	 keys_kek_opens_root(const uint8_t *)
	    __attribute__((warn_unused_result));

/*
 * Rotate the barrier's keyring to a new term and store it.  If it
 * cannot be stored, the old keyring is put back; *restore_failed says
 * that failed too (the caller must seal).  Under the core write lock.
 */
int	 keys_rotate(struct barrier *, uint32_t *, int *)
	    __attribute__((warn_unused_result));

/* Encryptions under the active term since it came in. */
unsigned long long keys_encryptions(struct barrier *);

/*
 * Commit a rekey: a new root key wrapped under the new kek, stored with
 * the new configuration (n, t).  Under the core write lock and
 * keys_lock.
 */
int	 keys_rekey(const uint8_t *, int, int)
	    __attribute__((warn_unused_result));

/* Become-active hook: the keys as another node may have left them. */
int	 keys_reload(void) __attribute__((warn_unused_result));

/* Seal hook: wipe the held root key. */
int	 keys_forget(void);

#endif /* COFFER_SERVER_KEYS_H */
