/*
 * transit.c -- the transit secrets engine: encryption as a service.
 *
 * Named keys live behind the barrier at <view>policy/<name>, one JSON
 * record each: settings plus a ring of versions 1..latest_version with
 * their material in base64.  Clients never see key material; they send
 * base64 plaintext and get "vault:v<N>:" + base64(nonce || ciphertext ||
 * tag) back, with 12-byte nonces as Vault's AES-GCM and IETF
 * ChaCha20-Poly1305 use.  HMACs and signatures carry the same prefix.
 * Types: aes256-gcm96 (libsodium implements it only on CPUs with AES-NI
 * and PCLMUL; elsewhere it is refused with a 400 naming the reason),
 * chacha20-poly1305 and ed25519.  Key derivation, convergent encryption,
 * export and backup are not implemented and answer a clear 400 or 404.
 *
 * Loaded keys are cached per mount (struct transit in m->ctx) so that an
 * encryption costs no storage read and no JSON parsing.  A struct tkey
 * is immutable once built: its material sits in one sodium_malloc block
 * (guard pages, mlock, no core dump), made read-only after it is
 * filled.  A change (create, rotate, config, delete) builds a new tkey,
 * writes the record and swaps the cache entry; requests still holding
 * the old one finish with it and the last reference frees (and so
 * wipes) it.  The cache holds at most TR_CACHE_MAX keys per mount, least
 * recently used out first, because every sodium_malloc block costs
 * several mappings and the process has a finite number of them.  Sealing
 * unmounts every mount, and transit_close() frees every cached key, so
 * no key material outlives the unsealed state.
 *
 * Threads: tr->mu guards the cache array, tick and reference counts; it
 * is held for a storage read on a cache miss, never for cryptography.
 * tr->wmu serializes changes (read-modify-write of a record) and is
 * taken before tr->mu.  Both rank with the other cache locks (after the
 * core lock, before the storage backends' locks).  Handlers run under
 * the core read lock, as everywhere.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "core.h"
#include "err.h"
#include "paths.h"
#include "req.h"
#include "router.h"
#include "timeutil.h"
#include "transit.h"

#define TR_KEYLEN	32
#define TR_NONCELEN	12
#define TR_TAGLEN	16
/* Per version: cipher key (or ed25519 seed), HMAC key, ed25519 secret. */
#define TR_VERLEN	(2 * TR_KEYLEN + crypto_sign_SECRETKEYBYTES)
#define TR_B64KEYLEN	sodium_base64_ENCODED_LEN(TR_KEYLEN, \
			    sodium_base64_VARIANT_ORIGINAL)
#define TR_CACHE_MAX	128
#define TR_NAME_MAX	128
#define TR_RANDOM_MAX	(128 * 1024)	/* Vault's limit for random bytes */
#define TR_WHY_LEN	256

enum tr_type {
	TR_AES256_GCM96,
	TR_CHACHA20_POLY1305,
	TR_ED25519
};

static const char *const tr_type_names[] = {
	"aes256-gcm96", "chacha20-poly1305", "ed25519"
};

/* One named key as loaded.  Immutable once in the cache. */
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
	unsigned	 refs;		/* under tr->mu; the cache holds one */
	unsigned long	 used;		/* LRU tick, under tr->mu */
};

struct transit {
	pthread_mutex_t	 mu;		/* cache, refs, tick */
	pthread_mutex_t	 wmu;		/* changes; taken before mu */
	struct tkey	*cache[TR_CACHE_MAX];
	size_t		 n;
	unsigned long	 tick;
};

/* What one batch item (or a whole single request) is processed with. */
struct tr_op {
	struct tkey	*k;
	const char	*algo;		/* hmac/verify: sha2-256 or sha2-512 */
	json_t		*top;		/* req->data, for fields items lack */
};

typedef int	(*tr_item_fn)(struct tr_op *, json_t *item, json_t **out,
		    char *why);

/* ---- locks ------------------------------------------------------- */

static void
tr_lock(pthread_mutex_t *mu)
{
	if (pthread_mutex_lock(mu) != 0)
		abort();
}

static void
tr_unlock(pthread_mutex_t *mu)
{
	if (pthread_mutex_unlock(mu) != 0)
		abort();
}

/* ---- small helpers ----------------------------------------------- */

/* Vault's GenericNameRegex: \w(([\w-.]+)?\w)? */
static int
name_is_valid(const char *s)
{
	size_t	 i, len = strlen(s);

	if (len == 0 || len > TR_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (isalnum((unsigned char)s[i]) || s[i] == '_')
			continue;
		if ((s[i] == '-' || s[i] == '.') && i > 0 && i < len - 1)
			continue;
		return 0;
	}
	return 1;
}

static int
type_parse(const char *s, int *t)
{
	size_t	 i;

	for (i = 0; i < sizeof(tr_type_names) / sizeof(tr_type_names[0]); i++)
		if (strcmp(s, tr_type_names[i]) == 0) {
			*t = (int)i;
			return CF_OK;
		}
	return CF_EINVAL;
}

/*
 * Why a type cannot be used here, or NULL.  libsodium's AES-GCM exists
 * only with AES-NI and PCLMUL; a key made elsewhere may still reach a
 * host without them through a restored store.
 */
static const char *
type_unusable(int t)
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
static char *
b64_new(const uint8_t *p, size_t len)
{
	size_t	 cap = sodium_base64_ENCODED_LEN(len,
	    sodium_base64_VARIANT_ORIGINAL);
	char	*s;

	if ((s = malloc(cap)) == NULL)
		return NULL;
	return sodium_bin2base64(s, cap, p, len,
	    sodium_base64_VARIANT_ORIGINAL);
}

/* Wipe and free a string that held secret text. */
static void
str_wipe_free(char *s)
{
	if (s == NULL)
		return;
	sodium_memzero(s, strlen(s));
	free(s);
}

/*
 * Decode standard padded base64 into out (a wiped buffer).  CR and LF
 * are skipped as Go's decoder does.  On failure, why gets Go's text
 * ("illegal base64 data at input byte N") after prefix.
 */
static int
b64_decode(const char *s, struct buf *out, const char *prefix, char *why)
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

/* A string field of an item: CF_OK (NULL if absent) or a 400. */
static int
item_str(json_t *item, const char *key, const char **out, char *why)
{
	json_t	*v = json_object_get(item, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return CF_OK;
	if (!json_is_string(v)) {
		snprintf(why, TR_WHY_LEN, "'%s' expected type 'string'", key);
		return CF_EINVAL;
	}
	*out = json_string_value(v);
	return CF_OK;
}

/* An integer field (JSON integer or digits in a string); 0 if absent. */
static int
item_int(json_t *item, const char *key, long long *out, char *why)
{
	json_t	*v = json_object_get(item, key);
	char	*end;

	*out = 0;
	if (v == NULL || json_is_null(v))
		return CF_OK;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return CF_OK;
	}
	if (json_is_string(v) && *json_string_value(v) != '\0') {
		*out = strtoll(json_string_value(v), &end, 10);
		if (*end == '\0')
			return CF_OK;
	}
	snprintf(why, TR_WHY_LEN, "'%s' expected type 'int'", key);
	return CF_EINVAL;
}

/* 1 if the field is present with a non-empty value. */
static int
has_value(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_string(v))
		return *json_string_value(v) != '\0';
	return !json_is_false(v);
}

/* ---- keys: build, parse, emit, free ------------------------------ */

static void
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
static struct tkey *
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
static void
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
static struct tkey *
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
static int
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
static int
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
	if (ts == NULL || type_parse(ts, &t) != CF_OK || n < 1 ||
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
static json_t *
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

/* ---- the cache --------------------------------------------------- */

static char *
record_path(const struct mount *m, const char *name)
{
	char	*p = NULL;

	if (asprintf(&p, "%spolicy/%s", m->view, name) == -1)
		return NULL;
	return p;
}

static void
tkey_put(struct transit *tr, struct tkey *k)
{
	int	 last;

	if (k == NULL)
		return;
	tr_lock(&tr->mu);
	last = --k->refs == 0;
	tr_unlock(&tr->mu);
	if (last)
		tkey_free(k);
}

/* Index of name in the cache, or -1; under tr->mu. */
static int
cache_find(struct transit *tr, const char *name)
{
	size_t	 i;

	for (i = 0; i < tr->n; i++)
		if (strcmp(tr->cache[i]->name, name) == 0)
			return (int)i;
	return -1;
}

/*
 * Drop the cache's reference to entry i; under tr->mu.  The key is
 * returned when that was the last reference, to be freed (which means
 * munmap) after the lock is released.
 */
static struct tkey *
cache_drop(struct transit *tr, size_t i)
{
	struct tkey	*k = tr->cache[i];

	tr->cache[i] = tr->cache[--tr->n];
	return --k->refs == 0 ? k : NULL;
}

/*
 * Put k in the cache (replacing any entry of that name), taking the
 * reference the caller passes in; under tr->mu.  Returns a key to free
 * after unlocking, or NULL.
 */
static struct tkey *
cache_insert(struct transit *tr, struct tkey *k)
{
	struct tkey	*gone = NULL;
	size_t		 i, lru;
	int		 at;

	if ((at = cache_find(tr, k->name)) >= 0)
		gone = cache_drop(tr, (size_t)at);
	else if (tr->n == TR_CACHE_MAX) {
		for (lru = 0, i = 1; i < tr->n; i++)
			if (tr->cache[i]->used < tr->cache[lru]->used)
				lru = i;
		gone = cache_drop(tr, lru);
	}
	k->used = ++tr->tick;
	tr->cache[tr->n++] = k;
	return gone;
}

/*
 * The named key with a reference for the caller (release with
 * tkey_put).  CF_ENOTFOUND if there is none.  A miss reads storage
 * under tr->mu, so that a concurrent change cannot slip an older record
 * into the cache after its own swap.
 */
static int
tkey_get(struct mount *m, const char *name, struct tkey **out)
{
	struct transit	*tr = m->ctx;
	struct tkey	*k = NULL, *gone = NULL;
	json_t		*j = NULL;
	char		*p;
	int		 at, rc;

	*out = NULL;
	tr_lock(&tr->mu);
	if ((at = cache_find(tr, name)) >= 0) {
		k = tr->cache[at];
		k->refs++;
		k->used = ++tr->tick;
		tr_unlock(&tr->mu);
		*out = k;
		return CF_OK;
	}
	if ((p = record_path(m, name)) == NULL)
		rc = CF_ENOMEM;
	else
		rc = core_get_json(p, &j);
	free(p);
	if (rc == CF_OK && (rc = tkey_parse(name, j, &k)) == CF_OK) {
		k->refs = 2;		/* the cache's and the caller's */
		gone = cache_insert(tr, k);
		*out = k;
	}
	tr_unlock(&tr->mu);
	json_decref(j);			/* wiped by the jansson allocator */
	tkey_free(gone);
	return rc;
}

/*
 * Store k as name's record and make it the cached key, consuming the
 * caller's reference; with out, hand back a new reference to it.
 * Called with tr->wmu held.
 */
static int
tkey_commit(struct mount *m, struct tkey *k, struct tkey **out)
{
	struct transit	*tr = m->ctx;
	struct tkey	*gone;
	json_t		*j;
	char		*p = NULL;
	int		 rc;

	if (out != NULL)
		*out = NULL;
	if ((j = tkey_emit(k)) == NULL || (p = record_path(m, k->name)) ==
	    NULL) {
		json_decref(j);
		tkey_free(k);
		return CF_ENOMEM;
	}
	rc = core_put_json(p, j);
	free(p);
	json_decref(j);
	if (rc != CF_OK) {
		tkey_free(k);
		return rc;
	}
	k->refs = out != NULL ? 2 : 1;
	tr_lock(&tr->mu);
	gone = cache_insert(tr, k);
	tr_unlock(&tr->mu);
	tkey_free(gone);
	if (out != NULL)
		*out = k;
	return CF_OK;
}

/* Forget name (after its record was deleted); tr->wmu held. */
static void
cache_forget(struct transit *tr, const char *name)
{
	struct tkey	*gone = NULL;
	int		 at;

	tr_lock(&tr->mu);
	if ((at = cache_find(tr, name)) >= 0)
		gone = cache_drop(tr, (size_t)at);
	tr_unlock(&tr->mu);
	tkey_free(gone);
}

/* ---- reading keys ------------------------------------------------ */

static json_t *
key_info(const struct tkey *k)
{
	json_t		*keys = json_object(), *o;
	char		 num[32], ts[64];
	long long	 i;

	if (keys == NULL)
		return NULL;
	for (i = 1; i <= k->latest; i++) {
		snprintf(num, sizeof(num), "%lld", i);
		if (k->type == TR_ED25519) {
			time_format_rfc3339(ts, sizeof(ts), k->ctime[i - 1], 0);
			json_object_set_new(keys, num, json_pack("{s:s, s:s, "
			    "s:s, s:s}", "name", "ed25519", "public_key",
			    k->pub[i - 1], "creation_time", ts,
			    "certificate_chain", ""));
		} else
			json_object_set_new(keys, num,
			    json_integer(k->ctime[i - 1]));
	}
	o = json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:i, s:b, s:b, s:b, "
	    "s:b, s:b, s:b, s:b, s:b, s:i, s:b}",
	    "name", k->name,
	    "type", tr_type_names[k->type],
	    "keys", keys,
	    "latest_version", (json_int_t)k->latest,
	    "min_decryption_version", (json_int_t)k->min_dec,
	    "min_encryption_version", (json_int_t)k->min_enc,
	    "min_available_version", 0,
	    "deletion_allowed", k->deletion_allowed,
	    "exportable", k->exportable,
	    "allow_plaintext_backup", k->plaintext_backup,
	    "supports_encryption", k->type != TR_ED25519,
	    "supports_decryption", k->type != TR_ED25519,
	    "supports_signing", k->type == TR_ED25519,
	    /* coffer derives no keys, whatever the type could do. */
	    "supports_derivation", 0,
	    "derived", 0,
	    "auto_rotate_period", 0,
	    "imported_key", 0);
	return o;
}

static int
list_keys(struct mount *m, struct response *resp)
{
	json_t	*keys;
	char	*p = NULL;
	int	 rc;

	if (asprintf(&p, "%spolicy/", m->view) == -1)
		return CF_ENOMEM;
	rc = core_list_json(p, &keys);
	free(p);
	if (rc != CF_OK || keys == NULL)
		return rc;
	return resp_data(resp, json_pack("{s:o}", "keys", keys));
}

/* ---- key management ---------------------------------------------- */

/*
 * Fields of keys/<name> and of encrypt's upsert that coffer cannot
 * honour: refuse them rather than create a key that differs from the
 * one asked for.
 */
static int
check_create_fields(struct request *req, struct response *resp)
{
	long long	 arp = 0;
	int		 rc;

	if (has_value(req->data, "convergent_encryption") &&
	    !has_value(req->data, "derived"))
		return resp_fail(resp, CF_EINVAL, "convergent encryption "
		    "requires derivation to be enabled");
	if (has_value(req->data, "derived") ||
	    has_value(req->data, "convergent_encryption"))
		return resp_fail(resp, CF_EINVAL, "key derivation and "
		    "convergent encryption are not supported by coffer");
	if ((rc = req_duration(req, resp, "auto_rotate_period", &arp, NULL)) !=
	    CF_OK)
		return rc;
	if (arp != 0)
		return resp_fail(resp, CF_EINVAL, "automatic key rotation "
		    "(auto_rotate_period) is not supported by coffer");
	if (has_value(req->data, "key_size"))
		return resp_fail(resp, CF_EINVAL, "key_size is not valid for "
		    "the key types coffer supports");
	return CF_OK;
}

/* type (NULL: aes256-gcm96) into *t, or a 400 in resp. */
static int
check_type(struct response *resp, const char *type, int *t)
{
	const char	*why;

	if (type == NULL || *type == '\0')
		type = "aes256-gcm96";
	if (type_parse(type, t) != CF_OK)
		return resp_fail(resp, CF_EINVAL, "unknown key type %s: coffer "
		    "supports aes256-gcm96, chacha20-poly1305 and ed25519",
		    type);
	if ((why = type_unusable(*t)) != NULL)
		return resp_fail(resp, CF_EINVAL, "%s", why);
	return CF_OK;
}

/*
 * Create name with version 1 unless it exists; *created says which.
 * On success *out holds a reference to the key.
 */
static int
key_upsert(struct mount *m, struct request *req, struct response *resp,
    const char *name, int type, struct tkey **out, int *created)
{
	struct transit	*tr = m->ctx;
	struct tkey	*k = NULL;
	int		 rc, b;

	*created = 0;
	tr_lock(&tr->wmu);
	if ((rc = tkey_get(m, name, out)) != CF_ENOTFOUND)
		goto out;
	if ((k = tkey_alloc(name, type, 1)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	k->min_dec = 1;
	if (req_bool(req, resp, "exportable", &b, NULL) == CF_OK)
		k->exportable = b;
	if (req_bool(req, resp, "allow_plaintext_backup", &b, NULL) == CF_OK)
		k->plaintext_backup = b;
	tkey_fill(k, 1);
	if ((rc = tkey_seal(k)) != CF_OK) {
		tkey_free(k);
		goto out;
	}
	if ((rc = tkey_commit(m, k, out)) == CF_OK)
		*created = 1;
 out:
	tr_unlock(&tr->wmu);
	return rc;
}

static int
key_write(struct mount *m, struct request *req, struct response *resp,
    const char *name)
{
	struct tkey	*k = NULL;
	const char	*type = NULL;
	int		 rc, t, b, created;

	if ((rc = req_str(req, resp, "type", &type, NULL)) != CF_OK ||
	    (rc = check_type(resp, type, &t)) != CF_OK ||
	    (rc = check_create_fields(req, resp)) != CF_OK ||
	    (rc = req_bool(req, resp, "exportable", &b, NULL)) != CF_OK ||
	    (rc = req_bool(req, resp, "allow_plaintext_backup", &b, NULL)) !=
	    CF_OK)
		return rc;
	if ((rc = key_upsert(m, req, resp, name, t, &k, &created)) != CF_OK)
		return rc;
	if (!created)
		rc = resp_warn(resp, "key %s already existed", name);
	if (rc == CF_OK)
		rc = resp_data(resp, key_info(k));
	tkey_put(m->ctx, k);
	return rc;
}

static int
key_delete(struct mount *m, struct response *resp, const char *name)
{
	struct transit	*tr = m->ctx;
	struct tkey	*k = NULL;
	char		*p;
	int		 rc;

	tr_lock(&tr->wmu);
	if ((rc = tkey_get(m, name, &k)) == CF_ENOTFOUND) {
		rc = resp_fail(resp, CF_EINVAL, "error deleting policy %s: "
		    "could not delete key; not found", name);
		goto out;
	}
	if (rc != CF_OK)
		goto out;
	if (!k->deletion_allowed) {
		rc = resp_fail(resp, CF_EINVAL, "error deleting policy %s: "
		    "deletion is not allowed for this key", name);
		goto out;
	}
	if ((p = record_path(m, name)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	rc = core_del(p);
	free(p);
	if (rc == CF_OK || rc == CF_ENOTFOUND) {
		cache_forget(tr, name);
		rc = CF_OK;
	}
 out:
	tkey_put(tr, k);
	tr_unlock(&tr->wmu);
	return rc;
}

static int
key_rotate(struct mount *m, struct response *resp, const char *name)
{
	struct transit	*tr = m->ctx;
	struct tkey	*k = NULL, *c = NULL, *now = NULL;
	int		 rc;

	tr_lock(&tr->wmu);
	if ((rc = tkey_get(m, name, &k)) == CF_ENOTFOUND) {
		rc = resp_fail(resp, CF_EINVAL, "key not found");
		goto out;
	}
	if (rc != CF_OK)
		goto out;
	if ((c = tkey_copy(k, k->latest + 1)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	tkey_fill(c, c->latest);
	if ((rc = tkey_seal(c)) != CF_OK) {
		tkey_free(c);
		goto out;
	}
	if ((rc = tkey_commit(m, c, &now)) == CF_OK)
		rc = resp_data(resp, key_info(now));
 out:
	tkey_put(tr, now);
	tkey_put(tr, k);
	tr_unlock(&tr->wmu);
	return rc;
}

static int
key_config(struct mount *m, struct request *req, struct response *resp,
    const char *name)
{
	struct transit	*tr = m->ctx;
	struct tkey	*k = NULL, *c = NULL, *now = NULL;
	long long	 v;
	int		 rc, b, present;

	tr_lock(&tr->wmu);
	if ((rc = tkey_get(m, name, &k)) == CF_ENOTFOUND) {
		rc = resp_fail(resp, CF_EINVAL, "no existing key named %s "
		    "could be found", name);
		goto out;
	}
	if (rc != CF_OK)
		goto out;
	if ((c = tkey_copy(k, k->latest)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	if ((rc = req_int(req, resp, "min_decryption_version", &v,
	    &present)) != CF_OK)
		goto out;
	if (present) {
		if (v < 0) {
			rc = resp_fail(resp, CF_EINVAL, "min decryption "
			    "version cannot be negative");
			goto out;
		}
		if (v == 0) {
			v = 1;
			if ((rc = resp_warn(resp, "since Vault 0.3, transit "
			    "key numbering starts at 1; forcing minimum to "
			    "1")) != CF_OK)
				goto out;
		}
		if (v > c->latest) {
			rc = resp_fail(resp, CF_EINVAL, "cannot set min "
			    "decryption version of %lld, latest key version is "
			    "%lld", v, c->latest);
			goto out;
		}
		c->min_dec = v;
	}
	if ((rc = req_int(req, resp, "min_encryption_version", &v,
	    &present)) != CF_OK)
		goto out;
	if (present) {
		if (v < 0) {
			rc = resp_fail(resp, CF_EINVAL, "min encryption "
			    "version cannot be negative");
			goto out;
		}
		if (v > c->latest) {
			rc = resp_fail(resp, CF_EINVAL, "cannot set min "
			    "encryption version of %lld, latest key version is "
			    "%lld", v, c->latest);
			goto out;
		}
		c->min_enc = v;
	}
	if (c->min_enc > 0 && c->min_enc < c->min_dec) {
		rc = resp_fail(resp, CF_EINVAL, "requested minimum encryption "
		    "version %lld is less than requested minimum decryption "
		    "version %lld", c->min_enc, c->min_dec);
		goto out;
	}
	if ((rc = req_bool(req, resp, "deletion_allowed", &b, &present)) !=
	    CF_OK)
		goto out;
	if (present)
		c->deletion_allowed = b;
	/* Once set, exportable and allow_plaintext_backup stay set. */
	if ((rc = req_bool(req, resp, "exportable", &b, &present)) != CF_OK)
		goto out;
	if (present && b)
		c->exportable = 1;
	if ((rc = req_bool(req, resp, "allow_plaintext_backup", &b,
	    &present)) != CF_OK)
		goto out;
	if (present && b)
		c->plaintext_backup = 1;
	if ((rc = req_duration(req, resp, "auto_rotate_period", &v,
	    &present)) != CF_OK)
		goto out;
	if (present && v != 0) {
		rc = resp_fail(resp, CF_EINVAL, "automatic key rotation "
		    "(auto_rotate_period) is not supported by coffer");
		goto out;
	}
	if ((rc = tkey_seal(c)) != CF_OK)
		goto out;
	rc = tkey_commit(m, c, &now);
	c = NULL;			/* consumed, whatever the result */
	if (rc == CF_OK)
		rc = resp_data(resp, key_info(now));
 out:
	tkey_put(tr, now);
	tkey_free(c);
	tkey_put(tr, k);
	tr_unlock(&tr->wmu);
	return rc;
}

/* ---- encryption -------------------------------------------------- */

/* The version to encrypt with, or a 400 reason. */
static int
enc_version(const struct tkey *k, long long want, long long *ver, char *why)
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

/* Optional base64 associated data of an item into ad. */
static int
item_ad(struct tr_op *op, json_t *item, struct buf *ad, char *why)
{
	const char	*s;
	int		 rc;

	if ((rc = item_str(item, "associated_data", &s, why)) != CF_OK)
		return rc;
	if (s == NULL && item != op->top &&
	    (rc = item_str(op->top, "associated_data", &s, why)) != CF_OK)
		return rc;
	if (s == NULL)
		return CF_OK;
	return b64_decode(s, ad, "failed to base64-decode associated data: ",
	    why);
}

/* Seal pt with version ver into "vault:v<ver>:...". */
static int
seal_text(const struct tkey *k, long long ver, const struct buf *pt,
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
	if ((enc = b64_new((const uint8_t *)ct.data, ct.len)) == NULL ||
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
static int
split_prefixed(const char *s, const char *what, long long *ver,
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
static int
dec_version(const struct tkey *k, long long ver, const char *what,
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
static int
open_text(const struct tkey *k, const char *text, const struct buf *ad,
    struct buf *pt, long long *ver, char *why)
{
	struct buf		 ct = BUF_INIT;
	const char		*rest;
	const uint8_t		*key;
	unsigned long long	 plen = 0;
	int			 rc, bad;

	if ((rc = split_prefixed(text, "ciphertext", ver, &rest, why)) !=
	    CF_OK || (rc = dec_version(k, *ver, "ciphertext", why)) != CF_OK)
		return rc;
	if ((rc = b64_decode(rest, &ct, "", why)) != CF_OK) {
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

/* A key that encrypts, or a 400 reason. */
static int
check_aead(const struct tkey *k, const char *verb, char *why)
{
	const char	*w;

	if (k->type == TR_ED25519) {
		snprintf(why, TR_WHY_LEN, "message %s not supported for key "
		    "type ed25519", verb);
		return CF_EINVAL;
	}
	if ((w = type_unusable(k->type)) != NULL) {
		snprintf(why, TR_WHY_LEN, "%s", w);
		return CF_EINVAL;
	}
	return CF_OK;
}

static int
encrypt_item(struct tr_op *op, json_t *item, json_t **out, char *why)
{
	struct buf	 pt = BUF_INIT, ad = BUF_INIT;
	const char	*in;
	char		*ct = NULL;
	long long	 want, ver;
	int		 rc;

	if ((rc = check_aead(op->k, "encryption", why)) != CF_OK ||
	    (rc = item_str(item, "plaintext", &in, why)) != CF_OK ||
	    (rc = item_int(item, "key_version", &want, why)) != CF_OK)
		return rc;
	if (in == NULL) {
		snprintf(why, TR_WHY_LEN, "missing plaintext to encrypt");
		return CF_EINVAL;
	}
	if ((rc = b64_decode(in, &pt, "", why)) != CF_OK ||
	    (rc = item_ad(op, item, &ad, why)) != CF_OK ||
	    (rc = enc_version(op->k, want, &ver, why)) != CF_OK ||
	    (rc = seal_text(op->k, ver, &pt, &ad, &ct)) != CF_OK)
		goto out;
	if ((*out = json_pack("{s:s, s:I}", "ciphertext", ct, "key_version",
	    (json_int_t)ver)) == NULL)
		rc = CF_ENOMEM;
 out:
	free(ct);
	buf_free(&pt);
	buf_free(&ad);
	return rc;
}

static int
decrypt_item(struct tr_op *op, json_t *item, json_t **out, char *why)
{
	struct buf	 pt = BUF_INIT, ad = BUF_INIT;
	const char	*in;
	char		*pb = NULL;
	long long	 ver;
	int		 rc;

	if ((rc = check_aead(op->k, "decryption", why)) != CF_OK ||
	    (rc = item_str(item, "ciphertext", &in, why)) != CF_OK)
		return rc;
	if (in == NULL || *in == '\0') {
		snprintf(why, TR_WHY_LEN, "missing ciphertext to decrypt");
		return CF_EINVAL;
	}
	if ((rc = item_ad(op, item, &ad, why)) != CF_OK ||
	    (rc = open_text(op->k, in, &ad, &pt, &ver, why)) != CF_OK)
		goto out;
	if ((pb = b64_new((const uint8_t *)pt.data, pt.len)) == NULL ||
	    (*out = json_pack("{s:s}", "plaintext", pb)) == NULL)
		rc = CF_ENOMEM;
 out:
	str_wipe_free(pb);
	buf_free(&pt);
	buf_free(&ad);
	return rc;
}

static int
rewrap_item(struct tr_op *op, json_t *item, json_t **out, char *why)
{
	struct buf	 pt = BUF_INIT, ad = BUF_INIT;
	const char	*in;
	char		*ct = NULL;
	long long	 old, want, ver;
	int		 rc;

	if ((rc = check_aead(op->k, "encryption", why)) != CF_OK ||
	    (rc = item_str(item, "ciphertext", &in, why)) != CF_OK ||
	    (rc = item_int(item, "key_version", &want, why)) != CF_OK)
		return rc;
	if (in == NULL || *in == '\0') {
		snprintf(why, TR_WHY_LEN, "missing ciphertext to decrypt");
		return CF_EINVAL;
	}
	if ((rc = item_ad(op, item, &ad, why)) != CF_OK ||
	    (rc = open_text(op->k, in, &ad, &pt, &old, why)) != CF_OK ||
	    (rc = enc_version(op->k, want, &ver, why)) != CF_OK ||
	    (rc = seal_text(op->k, ver, &pt, &ad, &ct)) != CF_OK)
		goto out;
	if ((*out = json_pack("{s:s, s:I}", "ciphertext", ct, "key_version",
	    (json_int_t)ver)) == NULL)
		rc = CF_ENOMEM;
 out:
	free(ct);
	buf_free(&pt);
	buf_free(&ad);
	return rc;
}

/* ---- hmac, sign, verify ------------------------------------------ */

/* "sha2-256" or "sha2-512": digest length, or 0. */
static size_t
algo_len(const char *a)
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

/* The item's input, base64-decoded. */
static int
item_input(json_t *item, struct buf *in, char *why)
{
	const char	*s;
	int		 rc;

	if ((rc = item_str(item, "input", &s, why)) != CF_OK)
		return rc;
	if (s == NULL) {
		snprintf(why, TR_WHY_LEN, "missing input");
		return CF_EINVAL;
	}
	return b64_decode(s, in, "unable to decode input as base64: ", why);
}

/* Version for hmac and sign: the item's, the request's, or the latest. */
static int
use_version(struct tr_op *op, json_t *item, long long *ver, char *why)
{
	long long	 want;
	int		 rc;

	if ((rc = item_int(item, "key_version", &want, why)) != CF_OK)
		return rc;
	if (want == 0 && item != op->top &&
	    (rc = item_int(op->top, "key_version", &want, why)) != CF_OK)
		return rc;
	if (want == 0)
		want = op->k->latest;
	if (want < 0 || want > op->k->latest) {
		snprintf(why, TR_WHY_LEN, "invalid key version %lld", want);
		return CF_EINVAL;
	}
	if (want < op->k->min_enc) {
		snprintf(why, TR_WHY_LEN, "cannot use key version %lld: "
		    "version is too old (disallowed by policy)", want);
		return CF_EINVAL;
	}
	*ver = want;
	return CF_OK;
}

static int
prefixed_out(const char *field, long long ver, const uint8_t *p, size_t len,
    int with_version, json_t **out)
{
	char	*enc, *s = NULL;
	int	 rc = CF_ENOMEM;

	if ((enc = b64_new(p, len)) != NULL &&
	    asprintf(&s, "vault:v%lld:%s", ver, enc) != -1) {
		*out = with_version ? json_pack("{s:s, s:I}", field, s,
		    "key_version", (json_int_t)ver) : json_pack("{s:s}", field,
		    s);
		if (*out != NULL)
			rc = CF_OK;
		free(s);
	}
	free(enc);
	return rc;
}

static int
hmac_item(struct tr_op *op, json_t *item, json_t **out, char *why)
{
	struct buf	 in = BUF_INIT;
	uint8_t		 mac[crypto_auth_hmacsha512_BYTES];
	size_t		 alen = algo_len(op->algo);
	long long	 ver;
	int		 rc;

	if ((rc = use_version(op, item, &ver, why)) != CF_OK ||
	    (rc = item_input(item, &in, why)) != CF_OK)
		goto out;
	hmac_of(ver_secret(op->k, ver) + TR_KEYLEN, alen, &in, mac);
	rc = prefixed_out("hmac", ver, mac, alen, 0, out);
	sodium_memzero(mac, sizeof(mac));
 out:
	buf_free(&in);
	return rc;
}

static int
sign_item(struct tr_op *op, json_t *item, json_t **out, char *why)
{
	struct buf	 in = BUF_INIT;
	uint8_t		 sig[crypto_sign_BYTES];
	long long	 ver;
	int		 rc;

	if ((rc = use_version(op, item, &ver, why)) != CF_OK ||
	    (rc = item_input(item, &in, why)) != CF_OK)
		goto out;
	/* Ed25519 hashes for itself: hash_algorithm does not apply. */
	crypto_sign_detached(sig, NULL, (const uint8_t *)in.data, in.len,
	    ver_secret(op->k, ver) + 2 * TR_KEYLEN);
	rc = prefixed_out("signature", ver, sig, sizeof(sig), 1, out);
 out:
	buf_free(&in);
	return rc;
}

static int
verify_item(struct tr_op *op, json_t *item, json_t **out, char *why)
{
	struct buf	 in = BUF_INIT, given = BUF_INIT;
	const char	*sig, *mac, *rest;
	uint8_t		 want[crypto_auth_hmacsha512_BYTES];
	uint8_t		 pk[crypto_sign_PUBLICKEYBYTES];
	size_t		 alen = algo_len(op->algo);
	long long	 ver;
	int		 rc, ok;

	if ((rc = item_str(item, "signature", &sig, why)) != CF_OK ||
	    (rc = item_str(item, "hmac", &mac, why)) != CF_OK)
		return rc;
	if (sig != NULL && mac != NULL) {
		snprintf(why, TR_WHY_LEN, "provide one of 'signature' or "
		    "'hmac'");
		return CF_EINVAL;
	}
	if (sig == NULL && mac == NULL) {
		snprintf(why, TR_WHY_LEN, "neither a 'signature' nor an 'hmac' "
		    "were given to verify");
		return CF_EINVAL;
	}
	if (mac != NULL && alen == 0) {
		snprintf(why, TR_WHY_LEN, "unsupported algorithm %s", op->algo);
		return CF_EINVAL;
	}
	if (sig != NULL && op->k->type != TR_ED25519) {
		snprintf(why, TR_WHY_LEN, "key type %s does not support "
		    "verification", tr_type_names[op->k->type]);
		return CF_EINVAL;
	}
	if ((rc = item_input(item, &in, why)) != CF_OK ||
	    (rc = split_prefixed(sig != NULL ? sig : mac, sig != NULL ?
	    "signature" : "hmac", &ver, &rest, why)) != CF_OK ||
	    (rc = dec_version(op->k, ver, sig != NULL ? "signature" : "hmac",
	    why)) != CF_OK)
		goto out;
	if ((rc = b64_decode(rest, &given, "", why)) != CF_OK) {
		if (rc == CF_EINVAL)
			snprintf(why, TR_WHY_LEN, "invalid %s: could not "
			    "decode base64", sig != NULL ? "signature" :
			    "hmac");
		goto out;
	}
	if (sig != NULL) {
		crypto_sign_ed25519_sk_to_pk(pk, ver_secret(op->k, ver) +
		    2 * TR_KEYLEN);
		ok = given.len == crypto_sign_BYTES &&
		    crypto_sign_verify_detached((const uint8_t *)given.data,
		    (const uint8_t *)in.data, in.len, pk) == 0;
	} else {
		hmac_of(ver_secret(op->k, ver) + TR_KEYLEN, alen, &in, want);
		ok = given.len == alen &&
		    sodium_memcmp(want, given.data, alen) == 0;
		sodium_memzero(want, sizeof(want));
	}
	if ((*out = json_pack("{s:b}", "valid", ok)) == NULL)
		rc = CF_ENOMEM;
 out:
	buf_free(&in);
	buf_free(&given);
	return rc;
}

/* ---- single and batch requests ----------------------------------- */

/*
 * Run fn over batch_input, or once over the request itself.  As Vault
 * 1.14 does, a batch with failed items still answers batch_results, with
 * 400 (500 for internal failures) unless partial_failure_response_code
 * asks for another status and at least one item succeeded; each result
 * echoes its item's "reference".
 */
static int
run_items(struct request *req, struct response *resp, struct tr_op *op,
    tr_item_fn fn)
{
	json_t		*batch, *results = NULL, *item, *o, *ref;
	char		 why[TR_WHY_LEN];
	long long	 code;
	size_t		 i;
	int		 rc, ok = 0, uerr = 0, ierr = 0, present;

	op->top = req->data;
	resp->wipe = 1;			/* plaintexts and data keys */
	batch = json_object_get(req->data, "batch_input");
	if (batch == NULL || json_is_null(batch)) {
		o = NULL;
		why[0] = '\0';
		rc = fn(op, req->data, &o, why);
		if (rc == CF_EINVAL)
			return resp_fail(resp, CF_EINVAL, "%s", why);
		if (rc != CF_OK)
			return rc;
		return resp_data(resp, o);
	}
	if (!json_is_array(batch))
		return resp_fail(resp, CF_EINVAL, "failed to parse batch "
		    "input: source data must be an array");
	if (json_array_size(batch) == 0)
		return resp_fail(resp, CF_EINVAL, "missing batch input to "
		    "process");
	json_array_foreach(batch, i, item)
		if (!json_is_object(item))
			return resp_fail(resp, CF_EINVAL, "failed to parse "
			    "batch input: [%zu] expected a map", i);
	if ((rc = req_int(req, resp, "partial_failure_response_code", &code,
	    &present)) != CF_OK)
		return rc;
	if ((results = json_array()) == NULL)
		return CF_ENOMEM;
	json_array_foreach(batch, i, item) {
		o = NULL;
		why[0] = '\0';
		rc = fn(op, item, &o, why);
		if (rc == CF_OK)
			ok++;
		else {
			json_decref(o);
			if (rc == CF_EINVAL)
				uerr++;
			else
				ierr++;
			o = json_pack("{s:s}", "error", rc == CF_EINVAL ? why :
			    "internal error");
		}
		ref = json_object_get(item, "reference");
		if (o == NULL || json_object_set_new(o, "reference",
		    json_string(json_is_string(ref) ? json_string_value(ref) :
		    "")) != 0 || json_array_append_new(results, o) != 0) {
			json_decref(o);
			json_decref(results);
			return CF_ENOMEM;
		}
	}
	if ((rc = resp_data(resp, json_pack("{s:o}", "batch_results",
	    results))) != CF_OK)
		return rc;
	if (uerr == 0 && ierr == 0)
		return CF_OK;
	resp->status = uerr > 0 ? 400 : 500;
	if (present && ok > 0) {
		if (code < 1 || code > 599)
			return resp_warn(resp, "invalid HTTP response code "
			    "override from partial_failure_response_code, "
			    "reverting to %d", resp->status);
		resp->status = (int)code;
	}
	return CF_OK;
}

/* encrypt (what 0), decrypt (1) and rewrap (2). */
static int
crypt_handler(struct mount *m, struct request *req, struct response *resp,
    const char *name, int what)
{
	static const tr_item_fn fns[] = {
		encrypt_item, decrypt_item, rewrap_item
	};
	struct tr_op	 op;
	const char	*type = NULL;
	int		 rc, t, created = 0;

	memset(&op, 0, sizeof(op));
	if (what == 0 && req->op == REQ_CREATE) {
		/*
		 * The key is missing and the token may create: upsert.  A
		 * context would ask for a derived key, which coffer lacks.
		 */
		if (has_value(req->data, "context"))
			return resp_fail(resp, CF_EINVAL, "key derivation "
			    "(context) is not supported by coffer");
		if ((rc = req_str(req, resp, "type", &type, NULL)) != CF_OK ||
		    (rc = check_type(resp, type, &t)) != CF_OK ||
		    (rc = check_create_fields(req, resp)) != CF_OK)
			return rc;
		rc = key_upsert(m, req, resp, name, t, &op.k, &created);
		if (rc == CF_OK && !created)
			rc = resp_warn(resp, "Attempted creation of the key "
			    "during the encrypt operation, but it was created "
			    "beforehand");
	} else
		rc = tkey_get(m, name, &op.k);
	if (rc == CF_ENOTFOUND)
		return resp_fail(resp, CF_EINVAL, "encryption key not found");
	if (rc == CF_OK)
		rc = run_items(req, resp, &op, fns[what]);
	tkey_put(m->ctx, op.k);
	return rc;
}

/* hmac (0), sign (1), verify (2); algo from the URL or NULL. */
static int
mac_handler(struct mount *m, struct request *req, struct response *resp,
    const char *name, const char *algo, int what)
{
	static const tr_item_fn fns[] = { hmac_item, sign_item, verify_item };
	struct tr_op	 op;
	const char	*a = algo, *marsh = NULL;
	int		 rc;

	memset(&op, 0, sizeof(op));
	/* Vault reads hash_algorithm, then algorithm; hvac sends either. */
	if (a == NULL && what != 0 && (rc = req_str(req, resp,
	    "hash_algorithm", &a, NULL)) != CF_OK)
		return rc;
	if (a == NULL && (rc = req_str(req, resp, "algorithm", &a, NULL)) !=
	    CF_OK)
		return rc;
	if (a == NULL || *a == '\0')
		a = "sha2-256";
	if ((rc = req_str(req, resp, "marshaling_algorithm", &marsh, NULL)) !=
	    CF_OK)
		return rc;
	if (marsh != NULL && *marsh != '\0' && strcmp(marsh, "asn1") != 0)
		return resp_fail(resp, CF_EINVAL, "unsupported marshaling "
		    "algorithm %s", marsh);
	/* Ed25519 signatures ignore the hash; HMACs need one we have. */
	if (algo_len(a) == 0 && what == 0)
		return resp_fail(resp, CF_EINVAL, "unsupported algorithm %s",
		    a);
	op.algo = a;
	if ((rc = tkey_get(m, name, &op.k)) == CF_ENOTFOUND)
		return resp_fail(resp, CF_EINVAL, what == 0 ? "encryption key "
		    "not found" : what == 1 ? "signing key not found" :
		    "signature verification key not found");
	if (rc != CF_OK)
		return rc;
	if (what == 1 && op.k->type != TR_ED25519)
		rc = resp_fail(resp, CF_EINVAL, "key type %s does not support "
		    "signing", tr_type_names[op.k->type]);
	else
		rc = run_items(req, resp, &op, fns[what]);
	tkey_put(m->ctx, op.k);
	return rc;
}

static int
datakey_handler(struct mount *m, struct request *req, struct response *resp,
    const char *kind, const char *name)
{
	struct tr_op	 op;
	struct buf	 dk = BUF_INIT, ad = BUF_INIT;
	long long	 bits = 0, ver;
	char		*pb = NULL, *ct = NULL, why[TR_WHY_LEN];
	json_t		*o;
	int		 rc, plain;

	memset(&op, 0, sizeof(op));
	if (strcmp(kind, "plaintext") == 0)
		plain = 1;
	else if (strcmp(kind, "wrapped") == 0)
		plain = 0;
	else
		return resp_fail(resp, CF_EINVAL, "Invalid path, must be "
		    "'plaintext' or 'wrapped'");
	if ((rc = req_int(req, resp, "bits", &bits, NULL)) != CF_OK)
		return rc;
	if (bits == 0)
		bits = 256;
	if (bits != 128 && bits != 256 && bits != 512)
		return resp_fail(resp, CF_EINVAL, "invalid bits value");
	if ((rc = tkey_get(m, name, &op.k)) == CF_ENOTFOUND)
		return resp_fail(resp, CF_EINVAL, "encryption key not found");
	if (rc != CF_OK)
		return rc;
	op.top = req->data;
	why[0] = '\0';
	if ((rc = check_aead(op.k, "encryption", why)) != CF_OK ||
	    (rc = item_ad(&op, req->data, &ad, why)) != CF_OK ||
	    (rc = enc_version(op.k, 0, &ver, why)) != CF_OK ||
	    (rc = buf_reserve(&dk, (size_t)bits / 8)) != CF_OK)
		goto out;
	randombytes_buf(dk.data, (size_t)bits / 8);
	dk.len = (size_t)bits / 8;
	if ((rc = seal_text(op.k, ver, &dk, &ad, &ct)) != CF_OK)
		goto out;
	resp->wipe = 1;
	o = json_pack("{s:s, s:I}", "ciphertext", ct, "key_version",
	    (json_int_t)ver);
	if (o != NULL && plain) {
		if ((pb = b64_new((const uint8_t *)dk.data, dk.len)) == NULL ||
		    json_object_set_new(o, "plaintext", json_string(pb)) != 0) {
			json_decref(o);
			o = NULL;
		}
	}
	rc = resp_data(resp, o);
 out:
	if (rc == CF_EINVAL)
		rc = resp_fail(resp, CF_EINVAL, "%s", why);
	str_wipe_free(pb);
	free(ct);
	buf_free(&dk);
	buf_free(&ad);
	tkey_put(m->ctx, op.k);
	return rc;
}

/* ---- keyless helpers: hash and random ---------------------------- */

static int
check_format(struct response *resp, const char *fmt)
{
	if (strcmp(fmt, "hex") != 0 && strcmp(fmt, "base64") != 0)
		return resp_fail(resp, CF_EINVAL, "unsupported encoding format "
		    "%s; must be \"hex\" or \"base64\"", fmt);
	return CF_OK;
}

/* bytes as hex or base64 into {field: text}. */
static int
encoded_out(struct response *resp, const char *field, const char *fmt,
    const uint8_t *p, size_t len)
{
	char	*s;
	int	 rc;

	if (strcmp(fmt, "hex") == 0) {
		if ((s = malloc(len * 2 + 1)) != NULL)
			sodium_bin2hex(s, len * 2 + 1, p, len);
	} else
		s = b64_new(p, len);
	if (s == NULL)
		return CF_ENOMEM;
	rc = resp_data(resp, json_pack("{s:s}", field, s));
	free(s);
	return rc;
}

static int
hash_handler(struct request *req, struct response *resp, const char *algo)
{
	struct buf	 in = BUF_INIT;
	const char	*input = NULL, *a = algo, *fmt = NULL;
	uint8_t		 sum[crypto_hash_sha512_BYTES];
	char		 why[TR_WHY_LEN];
	size_t		 alen;
	int		 rc;

	if (a == NULL && (rc = req_str(req, resp, "algorithm", &a, NULL)) !=
	    CF_OK)
		return rc;
	if ((rc = req_str(req, resp, "input", &input, NULL)) != CF_OK ||
	    (rc = req_str(req, resp, "format", &fmt, NULL)) != CF_OK)
		return rc;
	if (a == NULL || *a == '\0')
		a = "sha2-256";
	if (fmt == NULL || *fmt == '\0')
		fmt = "hex";		/* Vault's default for hash */
	if ((alen = algo_len(a)) == 0)
		return resp_fail(resp, CF_EINVAL, "unsupported hash algorithm "
		    "%s", a);
	if ((rc = check_format(resp, fmt)) != CF_OK)
		return rc;
	if (input == NULL)
		return resp_fail(resp, CF_EINVAL, "missing input");
	if ((rc = b64_decode(input, &in, "unable to decode input as base64: ",
	    why)) != CF_OK) {
		buf_free(&in);
		return rc == CF_EINVAL ? resp_fail(resp, CF_EINVAL, "%s", why) :
		    rc;
	}
	if (alen == crypto_hash_sha256_BYTES)
		crypto_hash_sha256(sum, (const uint8_t *)in.data, in.len);
	else
		crypto_hash_sha512(sum, (const uint8_t *)in.data, in.len);
	buf_free(&in);
	return encoded_out(resp, "sum", fmt, sum, alen);
}

/* random, random/<bytes>, random/<source>[/<bytes>]. */
static int
random_handler(struct request *req, struct response *resp, const char *a,
    const char *b)
{
	const char	*fmt = NULL, *num = NULL;
	long long	 n = 32;
	uint8_t		*r;
	char		*end;
	int		 rc, present;

	if ((rc = req_int(req, resp, "bytes", &n, &present)) != CF_OK ||
	    (rc = req_str(req, resp, "format", &fmt, NULL)) != CF_OK)
		return rc;
	if (!present)
		n = 32;
	if (a != NULL && (strcmp(a, "platform") == 0 ||
	    strcmp(a, "seal") == 0 || strcmp(a, "all") == 0))
		num = b;	/* every source is the platform's here */
	else if (b != NULL)
		return resp_fail(resp, CF_ENOTFOUND,
		    "1 error occurred:\n\t* unsupported path\n\n");
	else
		num = a;
	if (num != NULL) {
		n = strtoll(num, &end, 10);
		if (*num == '\0' || *end != '\0')
			return resp_fail(resp, CF_EINVAL, "error parsing "
			    "url-set byte count: %s", num);
	}
	if (fmt == NULL || *fmt == '\0')
		fmt = "base64";
	if (n < 1)
		return resp_fail(resp, CF_EINVAL, "\"bytes\" cannot be less "
		    "than 1");
	if (n > TR_RANDOM_MAX)
		return resp_fail(resp, CF_EINVAL, "\"bytes\" should be less "
		    "than %d", TR_RANDOM_MAX);
	if ((rc = check_format(resp, fmt)) != CF_OK)
		return rc;
	if ((r = malloc((size_t)n)) == NULL)
		return CF_ENOMEM;
	randombytes_buf(r, (size_t)n);
	rc = encoded_out(resp, "random_bytes", fmt, r, (size_t)n);
	sodium_memzero(r, (size_t)n);	/* may become someone's key */
	free(r);
	return rc;
}

/* ---- routing ----------------------------------------------------- */

/*
 * Each entry's handler takes the captures in pattern order; ":name"
 * is a key name (name_is_valid), anything else any segment.
 */
static int
tr_keys(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)req;
	(void)a;
	return list_keys(m, resp);
}

static int
tr_key_read(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	struct tkey	*k;
	int		 rc;

	(void)req;
	if ((rc = tkey_get(m, a->v[0], &k)) == CF_ENOTFOUND)
		return CF_OK;	/* 404 */
	if (rc == CF_OK)
		rc = resp_data(resp, key_info(k));
	tkey_put(m->ctx, k);
	return rc;
}

static int
tr_key_write(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return key_write(m, req, resp, a->v[0]);
}

static int
tr_key_delete(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)req;
	return key_delete(m, resp, a->v[0]);
}

static int
tr_key_rotate(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)req;
	return key_rotate(m, resp, a->v[0]);
}

static int
tr_key_config(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return key_config(m, req, resp, a->v[0]);
}

static int
tr_hash(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)m;
	return hash_handler(req, resp, a->n > 0 ? a->v[0] : NULL);
}

static int
tr_random(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)m;
	return random_handler(req, resp, a->n > 0 ? a->v[0] : NULL,
	    a->n > 1 ? a->v[1] : NULL);
}

static int
tr_encrypt(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return crypt_handler(m, req, resp, a->v[0], 0);
}

static int
tr_decrypt(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return crypt_handler(m, req, resp, a->v[0], 1);
}

static int
tr_rewrap(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return crypt_handler(m, req, resp, a->v[0], 2);
}

static int
tr_datakey(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return datakey_handler(m, req, resp, a->v[0], a->v[1]);
}

static int
tr_hmac(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return mac_handler(m, req, resp, a->v[0], a->n > 1 ? a->v[1] : NULL,
	    0);
}

static int
tr_sign(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return mac_handler(m, req, resp, a->v[0], a->n > 1 ? a->v[1] : NULL,
	    1);
}

static int
tr_verify(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return mac_handler(m, req, resp, a->v[0], a->n > 1 ? a->v[1] : NULL,
	    2);
}

static int
tr_capture_ok(const char *name, const char *value)
{
	return strcmp(name, "name") != 0 || name_is_valid(value);
}

static const struct path_entry transit_entries[] = {
	{ "keys/", PATH_LIST, tr_keys },
	{ "keys/:name", PATH_READ, tr_key_read },
	{ "keys/:name", PATH_WRITE, tr_key_write },
	{ "keys/:name", PATH_DELETE, tr_key_delete },
	{ "keys/:name/rotate", PATH_WRITE, tr_key_rotate },
	{ "keys/:name/config", PATH_WRITE, tr_key_config },
	{ "hash", PATH_WRITE, tr_hash },
	{ "hash/:algorithm", PATH_WRITE, tr_hash },
	{ "random", PATH_WRITE, tr_random },
	{ "random/:source_or_bytes", PATH_WRITE, tr_random },
	{ "random/:source/:bytes", PATH_WRITE, tr_random },
	{ "encrypt/:name", PATH_WRITE, tr_encrypt },
	{ "decrypt/:name", PATH_WRITE, tr_decrypt },
	{ "rewrap/:name", PATH_WRITE, tr_rewrap },
	{ "datakey/:plaintext_or_wrapped/:name", PATH_WRITE, tr_datakey },
	{ "hmac/:name", PATH_WRITE, tr_hmac },
	{ "hmac/:name/:algorithm", PATH_WRITE, tr_hmac },
	{ "sign/:name", PATH_WRITE, tr_sign },
	{ "sign/:name/:algorithm", PATH_WRITE, tr_sign },
	{ "verify/:name", PATH_WRITE, tr_verify },
	{ "verify/:name/:algorithm", PATH_WRITE, tr_verify },
	{ NULL, 0, NULL }
};

static const struct path_table transit_paths = {
	.entries = transit_entries,
	.capture_ok = tr_capture_ok,
};

static const struct path_table *const transit_tables[] = {
	&transit_paths, NULL
};

static int
transit_handle(struct mount *m, struct request *req, struct response *resp)
{
	return paths_dispatch(&transit_paths, m, req, resp);
}

/*
 * encrypt/<name> creates the key when it is missing, so the ACL must
 * see "create" then (as Vault's existence check does); everything else
 * is an update.
 */
static int
transit_exists(struct mount *m, struct request *req, int *exists)
{
	struct tkey	*k = NULL;
	const char	*name;
	int		 rc;

	*exists = 1;
	if (strncmp(req->rel, "encrypt/", 8) != 0)
		return CF_OK;
	name = req->rel + 8;
	if (!name_is_valid(name))
		return CF_OK;		/* the handler answers 404 */
	rc = tkey_get(m, name, &k);
	tkey_put(m->ctx, k);
	if (rc == CF_ENOTFOUND)
		*exists = 0;
	return rc == CF_OK || rc == CF_ENOTFOUND ? CF_OK : rc;
}

static int
transit_open(struct mount *m)
{
	struct transit	*tr;

	if ((tr = calloc(1, sizeof(*tr))) == NULL)
		return CF_ENOMEM;
	if (pthread_mutex_init(&tr->mu, NULL) != 0) {
		free(tr);
		return CF_ENOMEM;
	}
	if (pthread_mutex_init(&tr->wmu, NULL) != 0) {
		pthread_mutex_destroy(&tr->mu);
		free(tr);
		return CF_ENOMEM;
	}
	m->ctx = tr;
	return CF_OK;
}

/*
 * The mount is going (unmount or seal) and no request holds it, so the
 * cache's references are the last: freeing wipes every key.
 */
static void
transit_close(struct mount *m)
{
	struct transit	*tr = m->ctx;
	size_t		 i;

	for (i = 0; i < tr->n; i++)
		tkey_free(tr->cache[i]);
	tr->n = 0;
	pthread_mutex_destroy(&tr->mu);
	pthread_mutex_destroy(&tr->wmu);
	free(tr);
	m->ctx = NULL;
}

static const struct backend_ops transit_ops = {
	.type = "transit",
	.open = transit_open,
	.close = transit_close,
	.handle = transit_handle,
	.paths = transit_tables,
	.exists = transit_exists,
};

void
transit_register(void)
{
	router_register(&transit_ops);
}
