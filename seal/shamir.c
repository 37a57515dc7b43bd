/*
 * shamir.c -- Shamir secret sharing over GF(2^8), in Vault's format.
 *
 * Each secret byte is the constant term of its own random polynomial
 * of degree threshold - 1; share i holds the polynomials' values at a
 * random, distinct, non-zero x.  Combining is Lagrange interpolation at
 * x = 0.  Multiplication is shift-and-add with masks and inversion is
 * a^254, so no table lookup or branch depends on a secret byte.
 *
 * In seal/, the seal's cryptography (tests/layers.py): it includes
 * util/ and backends/ headers only.  The key hierarchy over it is
 * server/keys.c, the sys/ seal-family handlers server/seal.c,
 * server/sys_seal.c and server/sys_rekey.c.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "err.h"
#include "shamir.h"

uint8_t
shamir_gf_mul(uint8_t a, uint8_t b)
{
	uint8_t	 r = 0, mask;
	int	 i;

	for (i = 0; i < 8; i++) {
		mask = (uint8_t)-(b & 1);
		r ^= a & mask;
		mask = (uint8_t)-(a >> 7);
		a = (uint8_t)((a << 1) ^ (0x1b & mask));
		b >>= 1;
	}
	return r;
}

/* a^254 = a^-1 for a != 0 (and 0 for 0), by square-and-multiply. */
static uint8_t
gf_inv(uint8_t a)
{
	uint8_t	 r = 1, base = a;
	int	 e = 254;

	while (e > 0) {
		if (e & 1)		/* e is public: no secret branch */
			r = shamir_gf_mul(r, base);
		base = shamir_gf_mul(base, base);
		e >>= 1;
	}
	return r;
}

/* Horner's rule: the polynomial with coefficients c[0..n) at x. */
static uint8_t
poly_eval(const uint8_t *c, size_t n, uint8_t x)
{
	uint8_t	 y = 0;
	size_t	 i;

	for (i = n; i > 0; i--)
		y = shamir_gf_mul(y, x) ^ c[i - 1];
	return y;
}

int
shamir_split(const uint8_t *secret, size_t len, unsigned parts,
    unsigned threshold, uint8_t *const *shares)
{
	uint8_t		*coef = NULL, xs[SHAMIR_MAX_SHARES];
	uint8_t		 perm[255];
	unsigned	 i, j;
	size_t		 b;
	int		 rc = CF_OK;

	if (len == 0 || len > SHAMIR_MAX_SECRET || threshold < 2 ||
	    parts < threshold || parts > SHAMIR_MAX_SHARES)
		return CF_EINVAL;
	/* Distinct non-zero x: the first parts of a shuffle of 1..255. */
	for (i = 0; i < 255; i++)
		perm[i] = (uint8_t)(i + 1);
	for (i = 254; i > 0; i--) {
		j = randombytes_uniform(i + 1);
		uint8_t t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	memcpy(xs, perm, parts);
	if ((coef = sodium_malloc(threshold)) == NULL)
		return CF_ENOMEM;
	for (b = 0; b < len; b++) {
		coef[0] = secret[b];
		randombytes_buf(coef + 1, threshold - 1);
		for (i = 0; i < parts; i++)
			shares[i][b] = poly_eval(coef, threshold, xs[i]);
	}
	for (i = 0; i < parts; i++)
		shares[i][len] = xs[i];
	sodium_free(coef);		/* wipes the polynomials */
	sodium_memzero(perm, sizeof(perm));
	return rc;
}

int
shamir_combine(const uint8_t *const *shares, size_t n, size_t share_len,
    uint8_t *secret)
{
	uint8_t		 xs[SHAMIR_MAX_SHARES], basis[SHAMIR_MAX_SHARES];
	uint8_t		 num, den, acc;
	size_t		 i, j, b, len;

	if (n < 2 || n > SHAMIR_MAX_SHARES || share_len < 2 ||
	    share_len - 1 > SHAMIR_MAX_SECRET)
		return CF_EINVAL;
	len = share_len - 1;
	for (i = 0; i < n; i++) {
		xs[i] = shares[i][len];
		if (xs[i] == 0)
			return CF_EINVAL;
		for (j = 0; j < i; j++)
			if (xs[j] == xs[i])
				return CF_EINVAL;
	}
	/* Lagrange basis at 0: prod x_j / (x_j - x_i); minus is xor. */
	for (i = 0; i < n; i++) {
		num = den = 1;
		for (j = 0; j < n; j++) {
			if (j == i)
				continue;
			num = shamir_gf_mul(num, xs[j]);
			den = shamir_gf_mul(den, xs[j] ^ xs[i]);
		}
		basis[i] = shamir_gf_mul(num, gf_inv(den));
	}
	for (b = 0; b < len; b++) {
		acc = 0;
		for (i = 0; i < n; i++)
			acc ^= shamir_gf_mul(shares[i][b], basis[i]);
		secret[b] = acc;
	}
	sodium_memzero(&acc, sizeof(acc));
	return CF_OK;
}
