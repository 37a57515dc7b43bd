/*
 * shamir.h -- Shamir secret sharing over GF(2^8), in Vault's format.
 *
 * A share is the secret's length of y-values followed by one
 * x-coordinate byte, so a 32-byte key gives 33-byte shares that Vault's
 * tools read and write alike.  The field is AES's (x^8+x^4+x^3+x+1),
 * and every operation on secret bytes runs in constant time.
 * Stateless and thread-safe.
 *
 * In seal/, the seal's cryptography (tests/layers.py): it includes
 * util/ and backends/ headers only.  The key hierarchy over it is
 * server/keys.c, the sys/ seal-family handlers server/seal.c,
 * server/sys_seal.c and server/sys_rekey.c.
 */
#ifndef COFFER_SEAL_SHAMIR_H
#define COFFER_SEAL_SHAMIR_H

#include <stddef.h>
#include <stdint.h>

#define SHAMIR_MAX_SHARES	255
#define SHAMIR_MAX_SECRET	1024

/*
 * Split secret (1..SHAMIR_MAX_SECRET bytes) into parts shares, any
 * threshold of which combine (2 <= threshold <= parts <= 255).
 * shares[i] are caller buffers of len + 1 bytes (keep them in
 * sodium_malloc memory).  The random polynomial is wiped before
 * returning.  CF_OK, CF_EINVAL or CF_ENOMEM.
 */
int	 shamir_split(const uint8_t *secret, size_t len, unsigned parts,
	    unsigned threshold, uint8_t *const *shares)
	    __attribute__((warn_unused_result));

/*
 * Combine n shares of share_len bytes into secret (share_len - 1
 * bytes).  CF_EINVAL if n < 2, share_len < 2, or two shares have the
 * same x.  Too few shares give a wrong secret, not an error: Shamir
 * cannot tell.
 */
int	 shamir_combine(const uint8_t *const *shares, size_t n,
	    size_t share_len, uint8_t *secret)
	    __attribute__((warn_unused_result));

/* Multiply in GF(2^8), constant time (exposed for tests). */
uint8_t	 shamir_gf_mul(uint8_t, uint8_t);

#endif /* COFFER_SEAL_SHAMIR_H */
