/*
 * uuid.h -- random UUIDs (version 4) as text, for request ids,
 * accessors and AppRole secret-id accessors.
 *
 * A leaf helper (util/) over libsodium's randombytes_buf, which is
 * thread-safe once sodium_init has run.
 */
#ifndef COFFER_UTIL_UUID_H
#define COFFER_UTIL_UUID_H

#define UUID_LEN	36		/* text, without the NUL */

/* Fill id with a fresh random UUID v4 text (37 bytes with NUL). */
void	 uuid_generate(char *);

#endif /* COFFER_UTIL_UUID_H */
