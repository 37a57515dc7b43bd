/*
 * uuid4.h -- random UUIDs (version 4) as text, for request ids,
 * accessors and AppRole secret-id accessors.
 *
 * A leaf helper (util/) over libsodium's randombytes_buf, which is
 * thread-safe once sodium_init has run.
 */
#ifndef COFFER_UTIL_UUID4_H
#define COFFER_UTIL_UUID4_H

#define UUID4_LEN	36		/* text, without the NUL */

/* Fill id with a fresh random UUID v4 text (37 bytes with NUL). */
void	 uuid4_random(char *);
/*
 * The UUID v4 text of 16 random bytes u (its version and variant bits
 * set in u), for callers that draw their random bytes in bulk.
 */
void	 uuid4_format(unsigned char u[16], char *);

#endif /* COFFER_UTIL_UUID4_H */
