/*
 * transit_keys.h -- the transit engine's keys: named keys, their
 * versions, their stored records and the cryptography done with them.
 *
 * transit.c and transit_data.c (the HTTP handlers) and transit_store.c
 * (the per-mount store and cache) are the callers.  They read a key's
 * settings through struct tkey but never its material, which stays in
 * this module's sodium_malloc block; see transit_keys.c.
 */
#ifndef COFFER_ENGINES_TRANSIT_KEYS_H
#define COFFER_ENGINES_TRANSIT_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sodium.h>

struct buf;

#define TR_KEYLEN	32
#define TR_NONCELEN	12
#define TR_TAGLEN	16
#define TR_B64KEYLEN	sodium_base64_ENCODED_LEN(TR_KEYLEN, \
			    sodium_base64_VARIANT_ORIGINAL)
#define TR_WHY_LEN	256	/* room for a 400 reason ("why") */

enum tr_type {
	TR_AES256_GCM96,
	TR_CHACHA20_POLY1305,
	TR_ED25519
};

/*
 * One named key as loaded.  Immutable once sealed (tkey_seal) and in
 * the cache: a change copies it (tkey_copy), edits the copy and commits
 * that.  Callers may read the settings; secret is this module's.
 */
struct tkey {
	char		*name;
	int		 type;		/* enum tr_type */
	long long	 latest;	/* versions are 1..latest */
	long long	 min_dec;	/* >= 1 */
	long long	 min_enc;	/* 0: any */
	int		 deletion_allowed;
	int		 exportable;
	int		 plaintext_backup;
	long long	*ctime;		/* [latest] creation, unix seconds */
	char		(*pub)[TR_B64KEYLEN]; /* ed25519: [latest] or NULL */
	uint8_t		*secret;	/* sodium_malloc, latest * TR_VERLEN */
	unsigned	 refs;		/* under the store's lock */
	unsigned long	 used;		/* LRU tick, under the store's lock */
};

/* ---- names and types --------------------------------------------- */

/* 1 if s is a valid key name (Vault's GenericNameRegex), else 0. */
int		 tkey_name_is_valid(const char *s);

/* The type named s into *t: CF_OK, or CF_EINVAL if unknown. */
int		 tkey_type_parse(const char *s, int *t)
		    __attribute__((warn_unused_result));

/* Vault's name of type t (static storage). */
const char	*tkey_type_name(int t);

/* Why type t cannot be used on this host (static text), or NULL. */
const char	*tkey_type_unusable(int t);

/* ---- base64 ------------------------------------------------------ */

/* Standard padded base64 of p[0..len) as a new string (free()), or NULL. */
char		*tkey_b64_new(const uint8_t *p, size_t len);

/*
 * Decode standard padded base64 s into out (a wiped buffer), skipping
 * CR and LF as Go does.  CF_EINVAL puts Go's text ("illegal base64 data
 * at input byte N") after prefix into why (TR_WHY_LEN bytes);
 * CF_ENOMEM.
 */
int		 tkey_b64_decode(const char *s, struct buf *out,
		    const char *prefix, char *why)
		    __attribute__((warn_unused_result));

/* ---- keys -------------------------------------------------------- */

/*
 * An empty key with room for n versions, its material zeroed and
 * writable; NULL when out of memory.  Owned: tkey_free, or hand it to
 * tkey_commit.
 */
struct tkey	*tkey_alloc(const char *name, int type, long long n);

/* Free (and so wipe) k; NULL is fine.  Only for keys nobody shares. */
void		 tkey_free(struct tkey *k);

/* Fill version v (1..k->latest) of a writable key with fresh material. */
void		 tkey_fill(struct tkey *k, long long v);

/*
 * A writable copy of k's settings and versions with room for n >=
 * k->latest versions (the new ones zeroed), or NULL.
 */
struct tkey	*tkey_copy(const struct tkey *k, long long n);

/* Make k's material read-only: CF_OK or CF_EINTERNAL. */
int		 tkey_seal(struct tkey *k) __attribute__((warn_unused_result));

/*
 * The stored record j into a new sealed key named name (*out, owned).
 * CF_EINTERNAL for a damaged record, CF_ENOMEM.
 */
int		 tkey_parse(const char *name, json_t *j, struct tkey **out)
		    __attribute__((warn_unused_result));

/*
 * The record to store for k, or NULL when out of memory.  Owned; it
 * holds base64 key material in jansson memory, which the installed
 * allocator wipes when it is freed.
 */
json_t		*tkey_emit(const struct tkey *k);

/* ---- cryptography ------------------------------------------------ */

/*
 * The version to encrypt with when the client asks for want (0: the
 * latest), or CF_EINVAL with Vault's reason in why.
 */
int		 tkey_enc_version(const struct tkey *k, long long want,
		    long long *ver, char *why)
		    __attribute__((warn_unused_result));

/*
 * Check a version found in a ciphertext or signature (what names it in
 * the reason) against k's range: CF_OK or CF_EINVAL with why.
 */
int		 tkey_dec_version(const struct tkey *k, long long ver,
		    const char *what, char *why)
		    __attribute__((warn_unused_result));

/*
 * "vault:v<N>:<payload>" into N (0 counts as 1) and the payload (a
 * pointer into s), or CF_EINVAL with Vault's reason in why.
 */
int		 tkey_split_prefixed(const char *s, const char *what,
		    long long *ver, const char **rest, char *why)
		    __attribute__((warn_unused_result));

/*
 * Encrypt pt with associated data ad under version ver (checked by the
 * caller) of an AEAD key into *out, "vault:v<ver>:..." (owned).
 * CF_ENOMEM.
 */
int		 tkey_encrypt(const struct tkey *k, long long ver,
		    const struct buf *pt, const struct buf *ad, char **out)
		    __attribute__((warn_unused_result));

/*
 * Open "vault:v<N>:..." with ad into pt (a wiped buffer); *ver is N.
 * CF_EINVAL with Vault's reason in why (bad prefix, version out of
 * range, bad base64, failed authentication), CF_ENOMEM.
 */
int		 tkey_decrypt(const struct tkey *k, const char *text,
		    const struct buf *ad, struct buf *pt, long long *ver,
		    char *why) __attribute__((warn_unused_result));

/* Digest length of "sha2-256" or "sha2-512", or 0 for anything else. */
size_t		 tkey_hmac_len(const char *algo);

/* The HMAC (alen from tkey_hmac_len) of in under version ver into mac. */
void		 tkey_hmac(const struct tkey *k, long long ver, size_t alen,
		    const struct buf *in, uint8_t *mac);

/* The Ed25519 signature of in by version ver into sig. */
void		 tkey_sign(const struct tkey *k, long long ver,
		    const struct buf *in, uint8_t sig[crypto_sign_BYTES]);

/* 1 if sig is version ver's valid Ed25519 signature of in, else 0. */
int		 tkey_sig_is_valid(const struct tkey *k, long long ver,
		    const struct buf *in, const struct buf *sig);

#endif /* COFFER_ENGINES_TRANSIT_KEYS_H */
