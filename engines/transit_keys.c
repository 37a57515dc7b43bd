/*
 * transit_keys.c -- the transit engine's keys: their records and the
 * cryptography done with them.
 *
 * Named keys live behind the barrier at <view>policy/<name>, one JSON
 * record each: settings plus a ring of versions 1..latest_version with
 * their material in base64.  Each version has a cipher key (or Ed25519
 * seed), an HMAC key and the Ed25519 secret derived from the seed.
 * Ciphertexts are 12-byte nonce || ciphertext || tag, the nonce size
 * Vault's AES-GCM and IETF ChaCha20-Poly1305 use.
 *
 * A struct tkey is immutable once built: its material sits in one
 * sodium_malloc block (guard pages, mlock, no core dump) of TR_VERLEN
 * slots, made read-only after it is filled.  A change (create, rotate,
 * config) copies the key and edits the copy.  That layout is private to
 * this file: the record codec and the cryptography are here because
 * both work on it.  Where keys are read, stored and cached per mount is
 * transit_store.c's, which sees a key only through transit_keys.h.
 *
 * This module knows nothing of HTTP: reasons for a 400 go back as text
 * in a caller's why buffer, and transit.c and transit_data.c turn them
 * into responses.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "paths.h"
#include "transit_keys.h"

/* Per version: cipher key (or ed25519 seed), HMAC key, ed25519 secret. */
#define TR_VERLEN	(2 * TR_KEYLEN + crypto_sign_SECRETKEYBYTES)

static const char *const tr_type_names[] = {
	"aes256-gcm96", "chacha20-poly1305", "ed25519"
};

/* ---- small helpers ----------------------------------------------- */

/* Vault's GenericNameRegex: \w(([\w-.]+)?\w)? */
int
tkey_name_is_valid(const char *s)
{
	return paths_name_ok(s, strlen(s));
}

int
tkey_type_parse(const char *s, int *t)
{
	size_t	 i;

	for (i = 0; i < sizeof(tr_type_names) / sizeof(tr_type_names[0]); i++)
		if (strcmp(s, tr_type_names[i]) == 0) {
			*t = (int)i;
			return CF_OK;
		}
	return CF_EINVAL;
}

const char *
tkey_type_name(int t)
{
	return tr_type_names[t];
}

/*
 * Why a type cannot be used here, or NULL.  libsodium's AES-GCM exists
 * only with AES-NI and PCLMUL; a key made elsewhere may still reach a
 * host without them through a restored store.
 */
const char *
tkey_type_unusable(int t)
{
	if (t == TR_AES256_GCM96 && !crypto_aead_aes256gcm_is_available())
		return "key type aes256-gcm96 needs a CPU with AES-NI and "
		    "PCLMUL, which this host lacks; use chacha20-poly1305";
	return NULL;
}

static uint8_t *
ver_secret(const struct tkey *k, long long v)
{
	return k->secret + (size_t)(v - 1) * TR_VERLEN;
}

/* Base64 (standard, padded) of len bytes into a new string. */
char *
tkey_b64_new(const uint8_t *p, size_t len)
{
	size_t	 cap = sodium_base64_ENCODED_LEN(len,
	    sodium_base64_VARIANT_ORIGINAL);
	char	*s;

	if ((s = malloc(cap)) == NULL)
		return NULL;
	return sodium_bin2base64(s, cap, p, len,
	    sodium_base64_VARIANT_ORIGINAL);
}

/*
 * Decode standard padded base64 into out (a wiped buffer).  CR and LF
 * are skipped as Go's decoder does.  On failure, why gets Go's text
 * ("illegal base64 data at input byte N") after prefix.
 */
int
tkey_b64_decode(const char *s, struct buf *out, const char *prefix,
    char *why)
{
	const char	*end = NULL;
	size_t		 len = strlen(s), n = 0;

	buf_reset(out);
	if (buf_reserve(out, len / 4 * 3 + 4) != CF_OK)
		return CF_ENOMEM;
	if (sodium_base642bin((uint8_t *)out->data, len / 4 * 3 + 4, s, len,
	    "\r\n", &n, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != s + len) {
		snprintf(why, TR_WHY_LEN, "%sillegal base64 data at input "
		    "byte %zu", prefix, end != NULL && end < s + len ?
		    (size_t)(end - s) : len);
		buf_reset(out);
		return CF_EINVAL;
	}
	out->len = n;
	return CF_OK;
}
/* ---- keys: build, parse, emit, free ------------------------------ */

void
tkey_free(struct tkey *k)
{
	if (k == NULL)
		return;
	sodium_free(k->secret);		/* wipes; read-only is fine */
	free(k->ctime);
	free(k->pub);
	free(k->name);
	free(k);
}

/* An empty key with room for n versions (secret writable). */
struct tkey *
tkey_alloc(const char *name, int type, long long n)
{
	struct tkey	*k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	k->type = type;
	k->latest = n;
	if ((k->name = strdup(name)) == NULL ||
	    (k->ctime = calloc((size_t)n, sizeof(*k->ctime))) == NULL ||
	    (type == TR_ED25519 &&
	    (k->pub = calloc((size_t)n, sizeof(*k->pub))) == NULL) ||
	    (k->secret = sodium_malloc((size_t)n * TR_VERLEN)) == NULL) {
		tkey_free(k);
		return NULL;
	}
	sodium_memzero(k->secret, (size_t)n * TR_VERLEN);
	return k;
}

/* Fill version v with fresh material. */
void
tkey_fill(struct tkey *k, long long v)
{
	uint8_t	*s = ver_secret(k, v);
	uint8_t	 pk[crypto_sign_PUBLICKEYBYTES];

	randombytes_buf(s, 2 * TR_KEYLEN);
	k->ctime[v - 1] = (long long)time(NULL);
	if (k->type == TR_ED25519) {
		crypto_sign_seed_keypair(pk, s + 2 * TR_KEYLEN, s);
		sodium_bin2base64(k->pub[v - 1], TR_B64KEYLEN, pk, sizeof(pk),
		    sodium_base64_VARIANT_ORIGINAL);
	}
}

/* Copy k's settings and versions into a new key with n >= k->latest. */
struct tkey *
tkey_copy(const struct tkey *k, long long n)
{
	struct tkey	*c;

	if ((c = tkey_alloc(k->name, k->type, n)) == NULL)
		return NULL;
	c->min_dec = k->min_dec;
	c->min_enc = k->min_enc;
	c->deletion_allowed = k->deletion_allowed;
	c->exportable = k->exportable;
	c->plaintext_backup = k->plaintext_backup;
	memcpy(c->ctime, k->ctime, (size_t)k->latest * sizeof(*c->ctime));
	if (k->pub != NULL)
		memcpy(c->pub, k->pub, (size_t)k->latest * sizeof(*c->pub));
	memcpy(c->secret, k->secret, (size_t)k->latest * TR_VERLEN);
	return c;
}

/* Seal a finished key's material against writes. */
int
tkey_seal(struct tkey *k)
{
	return sodium_mprotect_readonly(k->secret) == 0 ? CF_OK : CF_EINTERNAL;
}

/* Decode 32 base64-encoded bytes straight into secret memory. */
static int
b64_key_into(const char *s, uint8_t *dst)
{
	size_t	 n = 0;

	if (s == NULL || sodium_base642bin(dst, TR_KEYLEN, s, strlen(s), NULL,
	    &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || n != TR_KEYLEN)
		return CF_EINTERNAL;
	return CF_OK;
}

/* The stored record into a key (material into sodium memory). */
int
tkey_parse(const char *name, json_t *j, struct tkey **out)
{
	struct tkey	*k = NULL;
	json_t		*keys = json_object_get(j, "keys"), *v;
	const char	*ts = json_string_value(json_object_get(j, "type"));
	uint8_t		*s, pk[crypto_sign_PUBLICKEYBYTES];
	long long	 n, i;
	char		 num[32];
	int		 t, rc = CF_EINTERNAL;

	*out = NULL;
	n = json_integer_value(json_object_get(j, "latest_version"));
	if (ts == NULL || tkey_type_parse(ts, &t) != CF_OK || n < 1 ||
	    n > 1000000 || !json_is_object(keys))
		return CF_EINTERNAL;
	if ((k = tkey_alloc(name, t, n)) == NULL)
		return CF_ENOMEM;
	k->min_dec = json_integer_value(json_object_get(j,
	    "min_decryption_version"));
	if (k->min_dec < 1)
		k->min_dec = 1;
	k->min_enc = json_integer_value(json_object_get(j,
	    "min_encryption_version"));
	k->deletion_allowed = json_is_true(json_object_get(j,
	    "deletion_allowed"));
	k->exportable = json_is_true(json_object_get(j, "exportable"));
	k->plaintext_backup = json_is_true(json_object_get(j,
	    "allow_plaintext_backup"));
	for (i = 1; i <= n; i++) {
		snprintf(num, sizeof(num), "%lld", i);
		if ((v = json_object_get(keys, num)) == NULL)
			goto out;
		s = ver_secret(k, i);
		if (b64_key_into(json_string_value(json_object_get(v, "key")),
		    s) != CF_OK || b64_key_into(json_string_value(
		    json_object_get(v, "hmac_key")), s + TR_KEYLEN) != CF_OK)
			goto out;
		k->ctime[i - 1] = json_integer_value(json_object_get(v,
		    "creation_time"));
		if (t == TR_ED25519) {
			crypto_sign_seed_keypair(pk, s + 2 * TR_KEYLEN, s);
			sodium_bin2base64(k->pub[i - 1], TR_B64KEYLEN, pk,
			    sizeof(pk), sodium_base64_VARIANT_ORIGINAL);
		}
	}
	if ((rc = tkey_seal(k)) != CF_OK)
		goto out;
	*out = k;
	k = NULL;
 out:
	tkey_free(k);
	return rc;
}

/* The record to store for k (base64 material in wiped jansson memory). */
json_t *
tkey_emit(const struct tkey *k)
{
	json_t		*j, *keys, *v;
	char		 kb[TR_B64KEYLEN], hb[TR_B64KEYLEN], num[32];
	const uint8_t	*s;
	long long	 i;

	keys = json_object();
	j = json_pack("{s:s, s:I, s:I, s:I, s:b, s:b, s:b, s:o}",
	    "type", tr_type_names[k->type],
	    "latest_version", (json_int_t)k->latest,
	    "min_decryption_version", (json_int_t)k->min_dec,
	    "min_encryption_version", (json_int_t)k->min_enc,
	    "deletion_allowed", k->deletion_allowed,
	    "exportable", k->exportable,
	    "allow_plaintext_backup", k->plaintext_backup,
	    "keys", keys);
	if (j == NULL)
		return NULL;
	for (i = 1; i <= k->latest; i++) {
		s = ver_secret(k, i);
		sodium_bin2base64(kb, sizeof(kb), s, TR_KEYLEN,
		    sodium_base64_VARIANT_ORIGINAL);
		sodium_bin2base64(hb, sizeof(hb), s + TR_KEYLEN, TR_KEYLEN,
		    sodium_base64_VARIANT_ORIGINAL);
		v = json_pack("{s:s, s:s, s:I}", "key", kb, "hmac_key", hb,
		    "creation_time", (json_int_t)k->ctime[i - 1]);
		sodium_memzero(kb, sizeof(kb));
		sodium_memzero(hb, sizeof(hb));
		snprintf(num, sizeof(num), "%lld", i);
		if (v == NULL || json_object_set_new(keys, num, v) != 0) {
			json_decref(j);
			return NULL;
		}
		if (k->pub != NULL)
			json_object_set_new(v, "public_key",
			    json_string(k->pub[i - 1]));
	}
	return j;
}

/* ---- encryption primitives ------------------------------------- */

/* The version to encrypt with, or a 400 reason. */
int
tkey_enc_version(const struct tkey *k, long long want, long long *ver,
    char *why)
{
	const char	*w = NULL;

	if (want == 0)
		want = k->latest;
	else if (want < 0)
		w = "requested version for encryption is negative";
	else if (want > k->latest)
		w = "requested version for encryption is higher than the "
		    "latest key version";
	if (w == NULL && want < k->min_enc)
		w = "requested version for encryption is less than the minimum "
		    "encryption key version";
	if (w != NULL) {
		snprintf(why, TR_WHY_LEN, "%s", w);
		return CF_EINVAL;
	}
	*ver = want;
	return CF_OK;
}

/* Seal pt with version ver into "vault:v<ver>:...". */
int
tkey_encrypt(const struct tkey *k, long long ver, const struct buf *pt,
    const struct buf *ad, char **out)
{
	struct buf		 ct = BUF_INIT;
	const uint8_t		*key = ver_secret(k, ver);
	unsigned long long	 clen = 0;
	char			*enc = NULL;
	int			 rc;

	*out = NULL;
	if ((rc = buf_reserve(&ct, TR_NONCELEN + pt->len + TR_TAGLEN)) !=
	    CF_OK)
		return rc;
	randombytes_buf(ct.data, TR_NONCELEN);
	if (k->type == TR_AES256_GCM96)
		crypto_aead_aes256gcm_encrypt((uint8_t *)ct.data + TR_NONCELEN,
		    &clen, (const uint8_t *)pt->data, pt->len,
		    (const uint8_t *)ad->data, ad->len, NULL,
		    (const uint8_t *)ct.data, key);
	else
		crypto_aead_chacha20poly1305_ietf_encrypt((uint8_t *)ct.data +
		    TR_NONCELEN, &clen, (const uint8_t *)pt->data, pt->len,
		    (const uint8_t *)ad->data, ad->len, NULL,
		    (const uint8_t *)ct.data, key);
	ct.len = TR_NONCELEN + (size_t)clen;
	if ((enc = tkey_b64_new((const uint8_t *)ct.data, ct.len)) == NULL ||
	    asprintf(out, "vault:v%lld:%s", ver, enc) == -1) {
		*out = NULL;
		rc = CF_ENOMEM;
	}
	free(enc);
	buf_free(&ct);
	return rc;
}

/*
 * "vault:v<N>:<payload>" -> N and the payload, with Vault's messages.
 * what names the thing in messages ("ciphertext", "signature").
 */
int
tkey_split_prefixed(const char *s, const char *what, long long *ver,
    const char **rest, char *why)
{
	const char	*colon;
	char		*end;

	if (strncmp(s, "vault:v", 7) != 0) {
		snprintf(why, TR_WHY_LEN, "invalid %s: no prefix", what);
		return CF_EINVAL;
	}
	if ((colon = strchr(s + 7, ':')) == NULL) {
		snprintf(why, TR_WHY_LEN, "invalid %s: wrong number of fields",
		    what);
		return CF_EINVAL;
	}
	*ver = strtoll(s + 7, &end, 10);
	if (end == s + 7 || end != colon || *ver < 0 || *ver > 1000000) {
		snprintf(why, TR_WHY_LEN, "invalid %s: version number could "
		    "not be decoded", what);
		return CF_EINVAL;
	}
	if (*ver == 0)			/* Vault's first keys counted from 0 */
		*ver = 1;
	*rest = colon + 1;
	return CF_OK;
}

/* Check a version found in a ciphertext or signature against k. */
int
tkey_dec_version(const struct tkey *k, long long ver, const char *what,
    char *why)
{
	if (ver > k->latest) {
		snprintf(why, TR_WHY_LEN, "invalid %s: version is too new",
		    what);
		return CF_EINVAL;
	}
	if (ver < k->min_dec) {
		snprintf(why, TR_WHY_LEN, "ciphertext or signature version is "
		    "disallowed by policy (too old)");
		return CF_EINVAL;
	}
	return CF_OK;
}

/* Open "vault:v<N>:..." into pt; *ver is N. */
int
tkey_decrypt(const struct tkey *k, const char *text, const struct buf *ad,
    struct buf *pt, long long *ver, char *why)
{
	struct buf		 ct = BUF_INIT;
	const char		*rest;
	const uint8_t		*key;
	unsigned long long	 plen = 0;
	int			 rc, bad;

	if ((rc = tkey_split_prefixed(text, "ciphertext", ver, &rest,
	    why)) != CF_OK || (rc = tkey_dec_version(k, *ver, "ciphertext",
	    why)) != CF_OK)
		return rc;
	if ((rc = tkey_b64_decode(rest, &ct, "", why)) != CF_OK) {
		if (rc == CF_EINVAL)
			snprintf(why, TR_WHY_LEN, "invalid ciphertext: could "
			    "not decode base64");
		goto out;
	}
	if (ct.len < TR_NONCELEN + TR_TAGLEN) {
		snprintf(why, TR_WHY_LEN, "invalid ciphertext length");
		rc = CF_EINVAL;
		goto out;
	}
	buf_reset(pt);
	if ((rc = buf_reserve(pt, ct.len)) != CF_OK)
		goto out;
	key = ver_secret(k, *ver);
	if (k->type == TR_AES256_GCM96)
		bad = crypto_aead_aes256gcm_decrypt((uint8_t *)pt->data, &plen,
		    NULL, (const uint8_t *)ct.data + TR_NONCELEN,
		    ct.len - TR_NONCELEN, (const uint8_t *)ad->data, ad->len,
		    (const uint8_t *)ct.data, key);
	else
		bad = crypto_aead_chacha20poly1305_ietf_decrypt(
		    (uint8_t *)pt->data, &plen, NULL,
		    (const uint8_t *)ct.data + TR_NONCELEN,
		    ct.len - TR_NONCELEN, (const uint8_t *)ad->data, ad->len,
		    (const uint8_t *)ct.data, key);
	if (bad != 0) {
		snprintf(why, TR_WHY_LEN, "cipher: message authentication "
		    "failed");
		rc = CF_EINVAL;
		goto out;
	}
	pt->len = (size_t)plen;
 out:
	buf_free(&ct);
	return rc;
}

/* ---- hmac and signatures ---------------------------------------- */

/* "sha2-256" or "sha2-512": digest length, or 0. */
size_t
tkey_hmac_len(const char *a)
{
	if (strcmp(a, "sha2-256") == 0)
		return crypto_auth_hmacsha256_BYTES;
	if (strcmp(a, "sha2-512") == 0)
		return crypto_auth_hmacsha512_BYTES;
	return 0;
}

static void
hmac_of(const uint8_t *key, size_t alen, const struct buf *in, uint8_t *mac)
{
	crypto_auth_hmacsha256_state	 s256;
	crypto_auth_hmacsha512_state	 s512;

	/* The _init forms take a key of any length; ours are 32 bytes. */
	if (alen == crypto_auth_hmacsha256_BYTES) {
		crypto_auth_hmacsha256_init(&s256, key, TR_KEYLEN);
		crypto_auth_hmacsha256_update(&s256, (const uint8_t *)in->data,
		    in->len);
		crypto_auth_hmacsha256_final(&s256, mac);
		sodium_memzero(&s256, sizeof(s256));
	} else {
		crypto_auth_hmacsha512_init(&s512, key, TR_KEYLEN);
		crypto_auth_hmacsha512_update(&s512, (const uint8_t *)in->data,
		    in->len);
		crypto_auth_hmacsha512_final(&s512, mac);
		sodium_memzero(&s512, sizeof(s512));
	}
}

void
tkey_hmac(const struct tkey *k, long long ver, size_t alen,
    const struct buf *in, uint8_t *mac)
{
	hmac_of(ver_secret(k, ver) + TR_KEYLEN, alen, in, mac);
}

void
tkey_sign(const struct tkey *k, long long ver, const struct buf *in,
    uint8_t sig[crypto_sign_BYTES])
{
	crypto_sign_detached(sig, NULL, (const uint8_t *)in->data, in->len,
	    ver_secret(k, ver) + 2 * TR_KEYLEN);
}

int
tkey_sig_is_valid(const struct tkey *k, long long ver, const struct buf *in,
    const struct buf *sig)
{
	uint8_t	 pk[crypto_sign_PUBLICKEYBYTES];

	crypto_sign_ed25519_sk_to_pk(pk, ver_secret(k, ver) + 2 * TR_KEYLEN);
	return sig->len == crypto_sign_BYTES &&
	    crypto_sign_verify_detached((const uint8_t *)sig->data,
	    (const uint8_t *)in->data, in->len, pk) == 0;
}
