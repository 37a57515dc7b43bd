/*
 * barrier.h -- encrypt and decrypt every stored value.
 *
 * Values are sealed with XChaCha20-Poly1305 under the active key term
 * of a keyring; the storage path is the associated data, so a value
 * copied to another path will not open, and any flipped bit fails.
 * Layout: version byte, 4-byte big-endian term, 24-byte nonce, then
 * ciphertext and tag.  Older terms stay in the keyring so that data
 * written before a rotation stays readable.
 *
 * The keyring lives in one sodium_malloc region, read-only while in
 * use.  Encrypt, decrypt, get, put and batch take a const barrier and
 * may run on many threads at once; init, rotate and parse change the
 * keyring and must run under the core write lock (no reader active),
 * because page protection changes apply to every thread.
 *
 * In seal/, the seal's cryptography (tests/layers.py): it includes
 * util/ and backends/ headers only.  The key hierarchy over it is
 * server/keys.c, the sys/ seal-family handlers server/seal.c,
 * server/sys_seal.c and server/sys_rekey.c.
 */
#ifndef COFFER_SEAL_BARRIER_H
#define COFFER_SEAL_BARRIER_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct storage;
struct storage_op;

#define BARRIER_KEY_LEN		32

struct barrier;

/* An empty keyring.  CF_OK or CF_ENOMEM. */
int	 barrier_new(struct barrier **) __attribute__((warn_unused_result));
/* Wipe and free everything; NULL is fine. */
void	 barrier_free(struct barrier *);
/* Term 1 with a random key. */
int	 barrier_keyring_init(struct barrier *)
	    __attribute__((warn_unused_result));
/* Add term N+1 with a random key and make it active. */
int	 barrier_rotate(struct barrier *, uint32_t *)
	    __attribute__((warn_unused_result));
uint32_t barrier_term(const struct barrier *);
/* Values encrypted by this barrier so far (all terms). */
unsigned long long barrier_encryptions(const struct barrier *);
/* Unix time the active term was installed. */
long long barrier_install_time(const struct barrier *);
/*
 * Derive len bytes (crypto_kdf's limits: 16..64) for the purpose named
 * by ctx (8 characters) and id from the oldest term's key, which every
 * node that opened this keyring holds and which no rotation or rekey
 * changes.  out should be sodium_malloc'd or wiped by the caller.
 * CF_OK, CF_EINVAL (bad len, empty keyring).
 */
int	 barrier_derive(const struct barrier *, uint64_t id, const char *ctx,
	    uint8_t *out, size_t len) __attribute__((warn_unused_result));

/*
 * The keyring as plaintext bytes, to be stored encrypted under the root
 * key.  out holds key material: the caller frees it with buf_free(),
 * which wipes.  parse replaces the keyring; CF_EINVAL on bad input.
 */
int	 barrier_keyring_emit(const struct barrier *, struct buf *)
	    __attribute__((warn_unused_result));
int	 barrier_keyring_parse(struct barrier *, const void *, size_t)
	    __attribute__((warn_unused_result));

/* Seal pt for path under the active term; out is reset then filled. */
int	 barrier_encrypt(const struct barrier *, const char *path,
	    const void *pt, size_t len, struct buf *out)
	    __attribute__((warn_unused_result));
/* The same under a given term of the keyring (CF_ENOTFOUND if absent). */
int	 barrier_encrypt_term(const struct barrier *, uint32_t term,
	    const char *path, const void *pt, size_t len, struct buf *out)
	    __attribute__((warn_unused_result));
/*
 * Open ct stored at path.  CF_EINTERNAL (logged without the value) if it
 * was tampered with, moved, or names an unknown term; out left empty.
 */
int	 barrier_decrypt(const struct barrier *, const char *path,
	    const void *ct, size_t len, struct buf *out)
	    __attribute__((warn_unused_result));

/* The same AEAD under a given key, for the root key and the keyring. */
int	 barrier_key_encrypt(const uint8_t *key, const char *aad,
	    const void *pt, size_t len, struct buf *out)
	    __attribute__((warn_unused_result));
int	 barrier_key_decrypt(const uint8_t *key, const char *aad,
	    const void *ct, size_t len, struct buf *out)
	    __attribute__((warn_unused_result));

/* Storage through the barrier (deletes and lists need no key). */
int	 barrier_get(const struct barrier *, struct storage *, const char *,
	    struct buf *) __attribute__((warn_unused_result));
int	 barrier_put(const struct barrier *, struct storage *, const char *,
	    const void *, size_t) __attribute__((warn_unused_result));
int	 barrier_batch(const struct barrier *, struct storage *,
	    const struct storage_op *, size_t)
	    __attribute__((warn_unused_result));

#endif /* COFFER_SEAL_BARRIER_H */
