/*
 * hmac256.h -- HMAC-SHA256 under a key set once, for the MACs taken on
 * every request: the token store's lookup hash and audit entries'.
 *
 * The key's inner and outer SHA-256 states are computed when it is set,
 * so a MAC of a short message costs two compressions, and those run on
 * OpenSSL's SHA-256, which uses the CPU's SHA extensions where it has
 * them (several times faster than libsodium's portable code).  The
 * result is RFC 2104's, the same as libsodium's crypto_auth_hmacsha256
 * (tests/unit/test_hmac256.c holds them to it).
 *
 * A key's states let anyone compute its MACs: keep one in sodium_malloc
 * memory where the key is a secret, and wipe it with hmac256_wipe.
 */
#ifndef COFFER_UTIL_HMAC256_H
#define COFFER_UTIL_HMAC256_H

#include <stddef.h>

#define OPENSSL_SUPPRESS_DEPRECATED	/* SHA256_CTX: no EVP allocation */
#include <openssl/sha.h>

#define HMAC256_LEN	32

struct hmac256_key {
	SHA256_CTX	 inner;		/* after the key XOR ipad block */
	SHA256_CTX	 outer;		/* after the key XOR opad block */
};

void	 hmac256_init(struct hmac256_key *, const void *key, size_t len);
void	 hmac256(const struct hmac256_key *, const void *msg, size_t len,
	    unsigned char out[HMAC256_LEN]);
void	 hmac256_wipe(struct hmac256_key *);

#endif /* COFFER_UTIL_HMAC256_H */
