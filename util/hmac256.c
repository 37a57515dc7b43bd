/*
 * hmac256.c -- HMAC-SHA256 with the key's states computed once (see
 * hmac256.h).  Every copy of a state and every digest is wiped after
 * use.
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "hmac256.h"

#define BLOCK	64

void
hmac256_init(struct hmac256_key *k, const void *key, size_t len)
{
	unsigned char	 pad[BLOCK], kh[HMAC256_LEN];
	size_t		 i;

	memset(pad, 0, sizeof(pad));
	if (len > BLOCK) {		/* RFC 2104: a long key is hashed */
		SHA256(key, len, kh);
		memcpy(pad, kh, sizeof(kh));
	} else if (len > 0)
		memcpy(pad, key, len);
	for (i = 0; i < BLOCK; i++)
		pad[i] ^= 0x36;
	SHA256_Init(&k->inner);
	SHA256_Update(&k->inner, pad, BLOCK);
	for (i = 0; i < BLOCK; i++)
		pad[i] ^= 0x36 ^ 0x5c;
	SHA256_Init(&k->outer);
	SHA256_Update(&k->outer, pad, BLOCK);
	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(kh, sizeof(kh));
}

void
hmac256(const struct hmac256_key *k, const void *msg, size_t len,
    unsigned char out[HMAC256_LEN])
{
	SHA256_CTX	 c;
	unsigned char	 ih[HMAC256_LEN];

	c = k->inner;
	SHA256_Update(&c, msg, len);
	SHA256_Final(ih, &c);
	c = k->outer;
	SHA256_Update(&c, ih, sizeof(ih));
	SHA256_Final(out, &c);
	sodium_memzero(&c, sizeof(c));
	sodium_memzero(ih, sizeof(ih));
}

void
hmac256_wipe(struct hmac256_key *k)
{
	sodium_memzero(k, sizeof(*k));
}
