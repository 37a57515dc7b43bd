/*
 * transit.c -- the transit secrets engine: encryption as a service.
 *
 * Named keys live behind the barrier at <view>policy/<name>, each a
 * ring of versions with their key material.  A request loads the key it
 * names, decodes the version it needs into sodium_malloc memory, uses
 * it and wipes it before answering: no key material outlives a request,
 * so sealing leaves none behind.  Key changes (create, rotate, config)
 * are serialized by one mutex per mount.
 *
 * Ciphertexts are "vault:v<N>:" + base64(nonce || ciphertext || tag),
 * with 12-byte nonces, as Vault's; HMACs and signatures use the same
 * prefix.  Types: aes256-gcm96 (where the CPU has AES-NI, as libsodium
 * requires), chacha20-poly1305 and ed25519.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "core.h"
#include "err.h"
#include "req.h"
#include "router.h"
#include "transit.h"

#define KEYLEN		32
#define NONCELEN	12
#define TAGLEN		16

enum ktype { K_AES, K_CHACHA, K_ED25519 };

struct transit {
	pthread_mutex_t	 mu;		/* key creation and changes */
};

/* One version's secrets, decoded for the length of a request. */
struct kver {
	uint8_t	*key;		/* sodium_malloc: KEYLEN (ed25519: seed) */
	uint8_t	*hmac;		/* sodium_malloc: KEYLEN */
};

static int
type_parse(const char *s, int *t)
{
	if (s == NULL || strcmp(s, "aes256-gcm96") == 0)
		*t = K_AES;
	else if (strcmp(s, "chacha20-poly1305") == 0)
		*t = K_CHACHA;
	else if (strcmp(s, "ed25519") == 0)
		*t = K_ED25519;
	else
		return CF_EINVAL;
	if (*t == K_AES && !crypto_aead_aes256gcm_is_available())
		return CF_ENOTSUP;
	return CF_OK;
}

static int
key_type(json_t *k)
{
	int	 t = K_AES;

	(void)type_parse(json_string_value(json_object_get(k, "type")), &t);
	return t;
}

static char *
pkey(const struct mount *m, const char *name)
{
	char	*k = NULL;

	if (asprintf(&k, "%spolicy/%s", m->view, name) == -1)
		return NULL;
	return k;
}

static int
load_key(const struct mount *m, const char *name, json_t **out)
{
	char	*k = pkey(m, name);
	int	 rc = core_get_json(k, out);

	free(k);
	return rc;
}

static int
save_key(const struct mount *m, const char *name, json_t *key)
{
	char	*k = pkey(m, name);
	int	 rc = core_put_json(k, key);

	free(k);
	return rc;
}

static char *
b64(const uint8_t *p, size_t len)
{
	size_t	 cap = sodium_base64_ENCODED_LEN(len,
	    sodium_base64_VARIANT_ORIGINAL);
	char	*s;

	if ((s = malloc(cap)) == NULL)
		return NULL;
	return sodium_bin2base64(s, cap, p, len,
	    sodium_base64_VARIANT_ORIGINAL);
}

/* Decode base64 into a new sodium_malloc'd or plain buffer. */
static int
unb64(const char *s, struct buf *out)
{
	size_t	 len = strlen(s), n;

	buf_reset(out);
	if (buf_reserve(out, len + 1) != CF_OK)
		return CF_ENOMEM;
	if (sodium_base642bin((uint8_t *)out->data, len + 1, s, len, NULL, &n,
	    NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return CF_EINVAL;
	out->len = n;
	return CF_OK;
}

/* A new version's material, appended to the key's "keys". */
static int
add_version(json_t *key, int type)
{
	uint8_t		*k = NULL, *h = NULL, pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t		 sk[crypto_sign_SECRETKEYBYTES];
	char		*ks = NULL, *hs = NULL, *pks = NULL, num[32];
	long long	 n = json_integer_value(json_object_get(key,
	    "latest_version")) + 1;
	json_t		*v;
	int		 rc = CF_ENOMEM;

	if ((k = sodium_malloc(KEYLEN)) == NULL ||
	    (h = sodium_malloc(KEYLEN)) == NULL)
		goto out;
	randombytes_buf(k, KEYLEN);
	randombytes_buf(h, KEYLEN);
	if ((ks = b64(k, KEYLEN)) == NULL || (hs = b64(h, KEYLEN)) == NULL)
		goto out;
	v = json_pack("{s:s, s:s, s:I}", "key", ks, "hmac_key", hs,
	    "creation_time", (json_int_t)time(NULL));
	if (v == NULL)
		goto out;
	if (type == K_ED25519) {
		crypto_sign_seed_keypair(pk, sk, k);
		sodium_memzero(sk, sizeof(sk));
		if ((pks = b64(pk, sizeof(pk))) == NULL) {
			json_decref(v);
			goto out;
		}
		json_object_set_new(v, "public_key", json_string(pks));
	}
	snprintf(num, sizeof(num), "%lld", n);
	json_object_set_new(json_object_get(key, "keys"), num, v);
	json_object_set_new(key, "latest_version", json_integer(n));
	rc = CF_OK;
 out:
	if (ks != NULL) {
		sodium_memzero(ks, strlen(ks));
		free(ks);
	}
	if (hs != NULL) {
		sodium_memzero(hs, strlen(hs));
		free(hs);
	}
	free(pks);
	sodium_free(k);
	sodium_free(h);
	return rc;
}

static void
kver_free(struct kver *kv)
{
	sodium_free(kv->key);
	sodium_free(kv->hmac);
	kv->key = kv->hmac = NULL;
}

/* Decode version n's material into kv. */
static int
kver_load(json_t *key, long long n, struct kver *kv)
{
	struct buf	 b = BUF_INIT;
	char		 num[32];
	json_t		*v;
	int		 rc = CF_EINVAL;

	memset(kv, 0, sizeof(*kv));
	snprintf(num, sizeof(num), "%lld", n);
	if ((v = json_object_get(json_object_get(key, "keys"), num)) == NULL)
		return CF_ENOTFOUND;
	if ((kv->key = sodium_malloc(KEYLEN)) == NULL ||
	    (kv->hmac = sodium_malloc(KEYLEN)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	if (unb64(json_string_value(json_object_get(v, "key")), &b) !=
	    CF_OK || b.len != KEYLEN)
		goto out;
	memcpy(kv->key, b.data, KEYLEN);
	if (unb64(json_string_value(json_object_get(v, "hmac_key")), &b) !=
	    CF_OK || b.len != KEYLEN)
		goto out;
	memcpy(kv->hmac, b.data, KEYLEN);
	rc = CF_OK;
 out:
	buf_free(&b);
	if (rc != CF_OK)
		kver_free(kv);
	return rc;
}

/* "vault:v3:..." -> version 3 and the payload after it. */
static int
split_prefixed(const char *s, long long *ver, const char **rest)
{
	char	*end;

	if (s == NULL || strncmp(s, "vault:v", 7) != 0)
		return CF_EINVAL;
	*ver = strtoll(s + 7, &end, 10);
	if (end == s + 7 || *end != ':' || *ver <= 0)
		return CF_EINVAL;
	*rest = end + 1;
	return CF_OK;
}

static int
do_encrypt(json_t *key, const char *pt_b64, long long want, char **out,
    long long *used, const char **why)
{
	struct buf	 pt = BUF_INIT, ct = BUF_INIT;
	struct kver	 kv;
	unsigned long long clen;
	long long	 n = want > 0 ? want : json_integer_value(
	    json_object_get(key, "latest_version"));
	char		*enc = NULL;
	int		 rc, t = key_type(key);

	*out = NULL;
	if (t == K_ED25519) {
		*why = "key type ed25519 does not support encryption";
		return CF_EINVAL;
	}
	if (n < json_integer_value(json_object_get(key,
	    "min_encryption_version"))) {
		*why = "requested version for encryption is less than the "
		    "minimum encryption key version";
		return CF_EINVAL;
	}
	if (pt_b64 == NULL || unb64(pt_b64, &pt) != CF_OK) {
		buf_free(&pt);
		*why = "failed to base64-decode plaintext";
		return CF_EINVAL;
	}
	if ((rc = kver_load(key, n, &kv)) != CF_OK) {
		buf_free(&pt);
		*why = "invalid key version";
		return rc == CF_ENOTFOUND ? CF_EINVAL : rc;
	}
	if ((rc = buf_reserve(&ct, NONCELEN + pt.len + TAGLEN)) != CF_OK)
		goto out;
	randombytes_buf(ct.data, NONCELEN);
	if (t == K_AES)
		crypto_aead_aes256gcm_encrypt((uint8_t *)ct.data + NONCELEN,
		    &clen, (const uint8_t *)pt.data, pt.len, NULL, 0, NULL,
		    (const uint8_t *)ct.data, kv.key);
	else
		crypto_aead_chacha20poly1305_ietf_encrypt((uint8_t *)ct.data +
		    NONCELEN, &clen, (const uint8_t *)pt.data, pt.len, NULL, 0,
		    NULL, (const uint8_t *)ct.data, kv.key);
	ct.len = NONCELEN + (size_t)clen;
	if ((enc = b64((const uint8_t *)ct.data, ct.len)) == NULL ||
	    asprintf(out, "vault:v%lld:%s", n, enc) == -1) {
		*out = NULL;
		rc = CF_ENOMEM;
		goto out;
	}
	*used = n;
 out:
	free(enc);
	kver_free(&kv);
	buf_free(&pt);
	buf_free(&ct);
	return rc;
}

/* Decrypt into out (plaintext bytes, caller wipes via buf_free). */
static int
do_decrypt(json_t *key, const char *ctext, struct buf *out, long long *ver,
    const char **why)
{
	struct buf	 ct = BUF_INIT;
	struct kver	 kv;
	unsigned long long plen;
	const char	*rest;
	int		 rc, t = key_type(key), bad;

	memset(&kv, 0, sizeof(kv));
	if (split_prefixed(ctext, ver, &rest) != CF_OK ||
	    unb64(rest, &ct) != CF_OK || ct.len < NONCELEN + TAGLEN) {
		*why = "invalid ciphertext: could not decode";
		rc = CF_EINVAL;
		goto out;
	}
	if (*ver < json_integer_value(json_object_get(key,
	    "min_decryption_version"))) {
		*why = "ciphertext or signature version is disallowed by policy "
		    "(too old)";
		rc = CF_EINVAL;
		goto out;
	}
	if (kver_load(key, *ver, &kv) != CF_OK) {
		*why = "invalid ciphertext: no matching key version";
		rc = CF_EINVAL;
		goto out;
	}
	if ((rc = buf_reserve(out, ct.len)) != CF_OK)
		goto out;
	if (t == K_AES)
		bad = crypto_aead_aes256gcm_decrypt((uint8_t *)out->data, &plen,
		    NULL, (const uint8_t *)ct.data + NONCELEN,
		    ct.len - NONCELEN, NULL, 0, (const uint8_t *)ct.data,
		    kv.key);
	else
		bad = crypto_aead_chacha20poly1305_ietf_decrypt(
		    (uint8_t *)out->data, &plen, NULL,
		    (const uint8_t *)ct.data + NONCELEN, ct.len - NONCELEN,
		    NULL, 0, (const uint8_t *)ct.data, kv.key);
	if (bad != 0) {
		*why = "cipher: message authentication failed";
		rc = CF_EINVAL;
		goto out;
	}
	out->len = (size_t)plen;
 out:
	kver_free(&kv);
	buf_free(&ct);
	return rc;
}

static int
name_of(const char *rel, const char *word, const char **name)
{
	size_t	 len = strlen(word);

	if (strncmp(rel, word, len) != 0 || rel[len] != '/' ||
	    rel[len + 1] == '\0' || strchr(rel + len + 1, '/') != NULL)
		return 0;
	*name = rel + len + 1;
	return 1;
}

static json_t *
key_info(const char *name, json_t *key)
{
	json_t		*keys = json_object(), *v, *o;
	const char	*num;
	int		 t = key_type(key);

	json_object_foreach(json_object_get(key, "keys"), num, v) {
		if (t == K_ED25519)
			json_object_set_new(keys, num, json_pack("{s:O, s:s, "
			    "s:O}", "public_key", json_object_get(v,
			    "public_key"), "name", "ed25519", "creation_time",
			    json_object_get(v, "creation_time")));
		else
			json_object_set(keys, num, json_object_get(v,
			    "creation_time"));
	}
	o = json_pack("{s:s, s:O, s:o, s:O, s:O, s:O, s:O, s:O, s:b, s:b, "
	    "s:b, s:b, s:b, s:b}",
	    "name", name, "type", json_object_get(key, "type"),
	    "keys", keys,
	    "latest_version", json_object_get(key, "latest_version"),
	    "min_decryption_version", json_object_get(key,
	    "min_decryption_version"),
	    "min_encryption_version", json_object_get(key,
	    "min_encryption_version"),
	    "deletion_allowed", json_object_get(key, "deletion_allowed"),
	    "exportable", json_object_get(key, "exportable"),
	    "supports_encryption", t != K_ED25519,
	    "supports_decryption", t != K_ED25519,
	    "supports_signing", t == K_ED25519,
	    "supports_derivation", 0, "derived", 0,
	    "allow_plaintext_backup", 0);
	return o;
}

/* Load the named key, creating it (aes256-gcm96) when create is set. */
static int
get_or_create(struct mount *m, const char *name, const char *type,
    int create, json_t **key, const char **why)
{
	struct transit	*tr = m->ctx;
	int		 rc, t;

	if ((rc = load_key(m, name, key)) != CF_ENOTFOUND || !create)
		return rc;
	if ((rc = type_parse(type, &t)) != CF_OK) {
		*why = rc == CF_ENOTSUP ? "aes256-gcm96 needs a CPU with AES "
		    "instructions here; use chacha20-poly1305" :
		    "unknown key type";
		return CF_EINVAL;
	}
	pthread_mutex_lock(&tr->mu);
	if ((rc = load_key(m, name, key)) == CF_ENOTFOUND) {
		*key = json_pack("{s:s, s:i, s:i, s:i, s:b, s:b, s:{}}",
		    "type", type != NULL ? type : "aes256-gcm96",
		    "latest_version", 0, "min_decryption_version", 1,
		    "min_encryption_version", 0, "deletion_allowed", 0,
		    "exportable", 0, "keys");
		if (*key == NULL)
			rc = CF_ENOMEM;
		else if ((rc = add_version(*key, t)) == CF_OK)
			rc = save_key(m, name, *key);
	}
	pthread_mutex_unlock(&tr->mu);
	return rc;
}

static int
keys_handler(struct mount *m, struct request *req, struct response *resp,
    const char *name)
{
	struct transit	*tr = m->ctx;
	const char	*type = NULL, *why = NULL;
	json_t		*key = NULL;
	char		*k;
	int		 rc, t;

	switch (req->op) {
	case REQ_READ:
		if ((rc = load_key(m, name, &key)) == CF_ENOTFOUND)
			return CF_OK;
		if (rc == CF_OK)
			rc = resp_data(resp, key_info(name, key));
		break;
	case REQ_CREATE:
	case REQ_UPDATE:
		if ((rc = req_str(req, resp, "type", &type, NULL)) != CF_OK)
			return rc;
		if ((rc = type_parse(type, &t)) != CF_OK)
			return resp_fail(resp, CF_EINVAL, rc == CF_ENOTSUP ?
			    "aes256-gcm96 needs a CPU with AES instructions "
			    "here; use chacha20-poly1305" :
			    "unknown key type %s", type != NULL ? type : "");
		rc = get_or_create(m, name, type, 1, &key, &why);
		if (rc == CF_EINVAL)
			rc = resp_fail(resp, CF_EINVAL, "%s", why);
		break;
	case REQ_DELETE:
		pthread_mutex_lock(&tr->mu);
		if ((rc = load_key(m, name, &key)) == CF_OK &&
		    !json_is_true(json_object_get(key, "deletion_allowed")))
			rc = resp_fail(resp, CF_EINVAL, "deletion is not "
			    "allowed for this key");
		else if (rc == CF_OK) {
			k = pkey(m, name);
			rc = k != NULL ? core_del(k) : CF_ENOMEM;
			free(k);
		} else if (rc == CF_ENOTFOUND)
			rc = CF_OK;
		pthread_mutex_unlock(&tr->mu);
		break;
	default:
		rc = resp_fail(resp, CF_EMETHOD,
		    "1 error occurred:\n\t* unsupported operation\n\n");
	}
	json_decref(key);
	return rc;
}

static int
rotate_or_config(struct mount *m, struct request *req, struct response *resp,
    const char *name, int config)
{
	struct transit	*tr = m->ctx;
	json_t		*key = NULL;
	long long	 v, latest;
	int		 rc, b, present;

	pthread_mutex_lock(&tr->mu);
	if ((rc = load_key(m, name, &key)) == CF_ENOTFOUND) {
		rc = resp_fail(resp, CF_EINVAL, "key not found");
		goto out;
	}
	if (rc != CF_OK)
		goto out;
	latest = json_integer_value(json_object_get(key, "latest_version"));
	if (!config) {
		if ((rc = add_version(key, key_type(key))) == CF_OK)
			rc = save_key(m, name, key);
		goto out;
	}
	if ((rc = req_int(req, resp, "min_decryption_version", &v,
	    &present)) != CF_OK)
		goto out;
	if (present) {
		if (v <= 0 || v > latest) {
			rc = resp_fail(resp, CF_EINVAL, "min_decryption_version "
			    "must be between 1 and the latest version");
			goto out;
		}
		json_object_set_new(key, "min_decryption_version",
		    json_integer(v));
	}
	if ((rc = req_int(req, resp, "min_encryption_version", &v,
	    &present)) != CF_OK)
		goto out;
	if (present) {
		if (v < 0 || v > latest) {
			rc = resp_fail(resp, CF_EINVAL, "min_encryption_version "
			    "must be between 0 and the latest version");
			goto out;
		}
		json_object_set_new(key, "min_encryption_version",
		    json_integer(v));
	}
	if ((rc = req_bool(req, resp, "deletion_allowed", &b, &present)) !=
	    CF_OK)
		goto out;
	if (present)
		json_object_set_new(key, "deletion_allowed", json_boolean(b));
	if ((rc = req_bool(req, resp, "exportable", &b, &present)) != CF_OK)
		goto out;
	if (present) {
		if (!b && json_is_true(json_object_get(key, "exportable"))) {
			rc = resp_fail(resp, CF_EINVAL, "export cannot be "
			    "disabled on a key that already has it enabled");
			goto out;
		}
		json_object_set_new(key, "exportable", json_boolean(b));
	}
	rc = save_key(m, name, key);
 out:
	pthread_mutex_unlock(&tr->mu);
	json_decref(key);
	return rc;
}

/* Run one encrypt/decrypt/rewrap item; result object or error. */
static json_t *
crypt_item(json_t *key, json_t *item, int what, const char **why, int *rc)
{
	struct buf	 pt = BUF_INIT;
	const char	*in;
	char		*ct = NULL, *pb = NULL;
	long long	 ver = 0, used = 0;
	json_t		*o = NULL, *kv;

	*why = NULL;
	kv = json_object_get(item, "key_version");
	if (kv != NULL && json_is_integer(kv))
		ver = json_integer_value(kv);
	if (what == 0) {
		in = json_string_value(json_object_get(item, "plaintext"));
		if (in == NULL) {
			*why = "missing plaintext to encrypt";
			*rc = CF_EINVAL;
			return NULL;
		}
		if ((*rc = do_encrypt(key, in, ver, &ct, &used, why)) ==
		    CF_OK)
			o = json_pack("{s:s, s:I}", "ciphertext", ct,
			    "key_version", (json_int_t)used);
	} else {
		in = json_string_value(json_object_get(item, "ciphertext"));
		if (in == NULL) {
			*why = "missing ciphertext to decrypt";
			*rc = CF_EINVAL;
			return NULL;
		}
		if ((*rc = do_decrypt(key, in, &pt, &ver, why)) != CF_OK)
			goto out;
		if (what == 1) {
			if ((pb = b64((const uint8_t *)pt.data, pt.len)) ==
			    NULL) {
				*rc = CF_ENOMEM;
				goto out;
			}
			o = json_pack("{s:s}", "plaintext", pb);
		} else {
			/* rewrap: decrypt, then encrypt with the latest. */
			if ((pb = b64((const uint8_t *)pt.data, pt.len)) ==
			    NULL || (*rc = do_encrypt(key, pb, 0, &ct, &used,
			    why)) != CF_OK)
				goto out;
			o = json_pack("{s:s, s:I}", "ciphertext", ct,
			    "key_version", (json_int_t)used);
		}
	}
 out:
	if (pb != NULL) {
		sodium_memzero(pb, strlen(pb));
		free(pb);
	}
	free(ct);
	buf_free(&pt);
	if (o == NULL && *rc == CF_OK)
		*rc = CF_ENOMEM;
	return o;
}

static int
crypt_handler(struct mount *m, struct request *req, struct response *resp,
    const char *name, int what)
{
	json_t		*key = NULL, *batch, *results, *item, *o;
	const char	*why = NULL, *type = NULL;
	size_t		 i;
	int		 rc, irc;

	if ((rc = req_str(req, resp, "type", &type, NULL)) != CF_OK)
		return rc;
	if (json_object_get(req->data, "context") != NULL &&
	    !json_is_null(json_object_get(req->data, "context")))
		return resp_fail(resp, CF_EINVAL, "key derivation (context) is "
		    "not supported by coffer");
	rc = get_or_create(m, name, type, what == 0, &key, &why);
	if (rc == CF_ENOTFOUND)
		return resp_fail(resp, CF_EINVAL, "encryption key not found");
	if (rc == CF_EINVAL)
		return resp_fail(resp, CF_EINVAL, "%s", why);
	if (rc != CF_OK)
		return rc;
	resp->wipe = 1;
	batch = json_object_get(req->data, "batch_input");
	if (batch != NULL && !json_is_null(batch)) {
		if (!json_is_array(batch)) {
			rc = resp_fail(resp, CF_EINVAL, "batch_input must be a "
			    "list");
			goto out;
		}
		results = json_array();
		json_array_foreach(batch, i, item) {
			o = crypt_item(key, item, what, &why, &irc);
			if (o == NULL)
				o = json_pack("{s:s}", "error", why != NULL ?
				    why : cf_strerror(irc));
			json_array_append_new(results, o);
		}
		rc = resp_data(resp, json_pack("{s:o}", "batch_results",
		    results));
		goto out;
	}
	o = crypt_item(key, req->data, what, &why, &irc);
	if (o == NULL)
		rc = irc == CF_EINVAL ? resp_fail(resp, CF_EINVAL, "%s", why) :
		    irc;
	else
		rc = resp_data(resp, o);
 out:
	json_decref(key);
	return rc;
}

static int
datakey_handler(struct mount *m, struct request *req, struct response *resp,
    const char *kind, const char *name)
{
	json_t		*key = NULL, *o;
	uint8_t		*dk = NULL;
	char		*pb = NULL, *ct = NULL;
	const char	*why = NULL;
	long long	 bits = 256, used;
	int		 rc;

	if (strcmp(kind, "plaintext") != 0 && strcmp(kind, "wrapped") != 0)
		return resp_fail(resp, CF_EINVAL, "invalid type %s", kind);
	if ((rc = req_int(req, resp, "bits", &bits, NULL)) != CF_OK)
		return rc;
	if (bits != 128 && bits != 256 && bits != 512)
		return resp_fail(resp, CF_EINVAL, "invalid bits value");
	if ((rc = load_key(m, name, &key)) == CF_ENOTFOUND)
		return resp_fail(resp, CF_EINVAL, "encryption key not found");
	if (rc != CF_OK)
		return rc;
	if ((dk = sodium_malloc((size_t)bits / 8)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	randombytes_buf(dk, (size_t)bits / 8);
	if ((pb = b64(dk, (size_t)bits / 8)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	if ((rc = do_encrypt(key, pb, 0, &ct, &used, &why)) != CF_OK) {
		rc = rc == CF_EINVAL ? resp_fail(resp, CF_EINVAL, "%s", why) :
		    rc;
		goto out;
	}
	o = json_pack("{s:s, s:I}", "ciphertext", ct, "key_version",
	    (json_int_t)used);
	if (o != NULL && kind[0] == 'p')
		json_object_set_new(o, "plaintext", json_string(pb));
	resp->wipe = 1;
	rc = resp_data(resp, o);
 out:
	if (pb != NULL) {
		sodium_memzero(pb, strlen(pb));
		free(pb);
	}
	free(ct);
	sodium_free(dk);
	json_decref(key);
	return rc;
}

/* "sha2-256" (default) or "sha2-512": digest length, or 0. */
static size_t
algo_len(const char *a)
{
	if (a == NULL || strcmp(a, "sha2-256") == 0)
		return 32;
	if (strcmp(a, "sha2-512") == 0)
		return 64;
	return 0;
}

static int
mac_of(const struct kver *kv, size_t alen, const struct buf *in,
    uint8_t *mac)
{
	if (alen == 32)
		crypto_auth_hmacsha256(mac, (const uint8_t *)in->data, in->len,
		    kv->hmac);
	else {
		crypto_auth_hmacsha512_state	 st;

		crypto_auth_hmacsha512_init(&st, kv->hmac, KEYLEN);
		crypto_auth_hmacsha512_update(&st, (const uint8_t *)in->data,
		    in->len);
		crypto_auth_hmacsha512_final(&st, mac);
		sodium_memzero(&st, sizeof(st));
	}
	return CF_OK;
}

/* hmac, sign and verify. */
static int
mac_sign_handler(struct mount *m, struct request *req, struct response *resp,
    const char *name, const char *algo, int what)
{
	struct buf	 in = BUF_INIT, sig = BUF_INIT;
	struct kver	 kv;
	json_t		*key = NULL;
	const char	*input = NULL, *given = NULL, *a = algo, *rest;
	uint8_t		 mac[64], pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t		 sk[crypto_sign_SECRETKEYBYTES];
	uint8_t		 s[crypto_sign_BYTES];
	char		*enc = NULL, *out = NULL;
	long long	 ver = 0;
	size_t		 alen;
	int		 rc, t;

	memset(&kv, 0, sizeof(kv));
	/* Vault reads both names; hvac sends hash_algorithm. */
	if (a == NULL && (rc = req_str(req, resp, "hash_algorithm", &a,
	    NULL)) != CF_OK)
		return rc;
	if (a == NULL && (rc = req_str(req, resp, "algorithm", &a, NULL)) !=
	    CF_OK)
		return rc;
	if ((alen = algo_len(a)) == 0)
		return resp_fail(resp, CF_EINVAL, "unsupported algorithm %s",
		    a);
	if ((rc = req_str(req, resp, "input", &input, NULL)) != CF_OK)
		return rc;
	if (input == NULL || unb64(input, &in) != CF_OK) {
		rc = resp_fail(resp, CF_EINVAL, "unable to decode input as "
		    "base64");
		goto out;
	}
	if ((rc = load_key(m, name, &key)) == CF_ENOTFOUND) {
		rc = resp_fail(resp, CF_EINVAL, "signing key not found");
		goto out;
	}
	if (rc != CF_OK)
		goto out;
	t = key_type(key);
	if (what == 1 && t != K_ED25519) {
		rc = resp_fail(resp, CF_EINVAL, "key type %s does not support "
		    "signing", json_string_value(json_object_get(key, "type")));
		goto out;
	}
	if (what == 2) {
		/* verify: an hmac or a signature, "vault:vN:...". */
		if ((rc = req_str(req, resp, "hmac", &given, NULL)) != CF_OK)
			goto out;
		if (given == NULL && (rc = req_str(req, resp, "signature",
		    &given, NULL)) != CF_OK)
			goto out;
		if (given == NULL || split_prefixed(given, &ver, &rest) !=
		    CF_OK || unb64(rest, &sig) != CF_OK) {
			rc = resp_fail(resp, CF_EINVAL, "invalid hmac or "
			    "signature: could not decode");
			goto out;
		}
		if (ver < json_integer_value(json_object_get(key,
		    "min_decryption_version"))) {
			rc = resp_fail(resp, CF_EINVAL, "ciphertext or "
			    "signature version is disallowed by policy (too "
			    "old)");
			goto out;
		}
	} else
		ver = json_integer_value(json_object_get(key,
		    "latest_version"));
	if ((rc = kver_load(key, ver, &kv)) != CF_OK) {
		rc = resp_fail(resp, CF_EINVAL, "invalid key version");
		goto out;
	}
	if (what == 2) {
		int	 ok;

		if (json_object_get(req->data, "signature") != NULL &&
		    t == K_ED25519) {
			crypto_sign_seed_keypair(pk, sk, kv.key);
			ok = sig.len == crypto_sign_BYTES &&
			    crypto_sign_verify_detached((const uint8_t *)
			    sig.data, (const uint8_t *)in.data, in.len,
			    pk) == 0;
		} else {
			mac_of(&kv, alen, &in, mac);
			ok = sig.len == alen &&
			    sodium_memcmp(mac, sig.data, alen) == 0;
		}
		rc = resp_data(resp, json_pack("{s:b}", "valid", ok));
		goto out;
	}
	if (what == 0) {
		mac_of(&kv, alen, &in, mac);
		enc = b64(mac, alen);
	} else {
		crypto_sign_seed_keypair(pk, sk, kv.key);
		crypto_sign_detached(s, NULL, (const uint8_t *)in.data, in.len,
		    sk);
		enc = b64(s, sizeof(s));
	}
	if (enc == NULL || asprintf(&out, "vault:v%lld:%s", ver, enc) == -1) {
		out = NULL;
		rc = CF_ENOMEM;
		goto out;
	}
	rc = resp_data(resp, what == 0 ? json_pack("{s:s}", "hmac", out) :
	    json_pack("{s:s, s:I}", "signature", out, "key_version",
	    (json_int_t)ver));
 out:
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(mac, sizeof(mac));
	kver_free(&kv);
	json_decref(key);
	buf_free(&in);
	buf_free(&sig);
	free(enc);
	free(out);
	return rc;
}

static int
hash_handler(struct request *req, struct response *resp, const char *algo)
{
	struct buf	 in = BUF_INIT;
	const char	*input = NULL, *a = algo, *fmt = NULL;
	uint8_t		 sum[64];
	char		 out[160], *enc;
	size_t		 alen;
	int		 rc;

	if (a == NULL && (rc = req_str(req, resp, "algorithm", &a, NULL)) !=
	    CF_OK)
		return rc;
	if ((rc = req_str(req, resp, "input", &input, NULL)) != CF_OK ||
	    (rc = req_str(req, resp, "format", &fmt, NULL)) != CF_OK)
		return rc;
	if ((alen = algo_len(a)) == 0)
		return resp_fail(resp, CF_EINVAL, "unsupported algorithm %s",
		    a);
	if (fmt != NULL && strcmp(fmt, "hex") != 0 &&
	    strcmp(fmt, "base64") != 0)
		return resp_fail(resp, CF_EINVAL, "unsupported encoding "
		    "format %s; must be \"hex\" or \"base64\"", fmt);
	if (input == NULL || unb64(input, &in) != CF_OK) {
		buf_free(&in);
		return resp_fail(resp, CF_EINVAL, "unable to decode input as "
		    "base64");
	}
	if (alen == 32)
		crypto_hash_sha256(sum, (const uint8_t *)in.data, in.len);
	else
		crypto_hash_sha512(sum, (const uint8_t *)in.data, in.len);
	buf_free(&in);
	if (fmt != NULL && strcmp(fmt, "hex") == 0)
		return resp_data(resp, json_pack("{s:s}", "sum",
		    sodium_bin2hex(out, sizeof(out), sum, alen)));
	if ((enc = b64(sum, alen)) == NULL)
		return CF_ENOMEM;
	rc = resp_data(resp, json_pack("{s:s}", "sum", enc));
	free(enc);
	return rc;
}

static int
random_handler(struct request *req, struct response *resp, const char *arg)
{
	const char	*fmt = NULL;
	long long	 n = 32;
	uint8_t		*r;
	char		*enc;
	int		 rc;

	if ((rc = req_int(req, resp, "bytes", &n, NULL)) != CF_OK ||
	    (rc = req_str(req, resp, "format", &fmt, NULL)) != CF_OK)
		return rc;
	if (arg != NULL) {
		char	*end;

		n = strtoll(arg, &end, 10);
		if (*end != '\0') {
			fmt = arg;
			n = 32;
			if ((rc = req_int(req, resp, "bytes", &n, NULL)) !=
			    CF_OK)
				return rc;
		}
	}
	if (n < 1 || n > 1024 * 128)
		return resp_fail(resp, CF_EINVAL, "number of bytes must be "
		    "between 1 and 131072");
	if (fmt != NULL && strcmp(fmt, "hex") != 0 &&
	    strcmp(fmt, "base64") != 0)
		return resp_fail(resp, CF_EINVAL, "unsupported encoding "
		    "format %s; must be \"hex\" or \"base64\"", fmt);
	if ((r = malloc((size_t)n)) == NULL)
		return CF_ENOMEM;
	randombytes_buf(r, (size_t)n);
	if (fmt != NULL && strcmp(fmt, "hex") == 0) {
		if ((enc = malloc((size_t)n * 2 + 1)) != NULL)
			sodium_bin2hex(enc, (size_t)n * 2 + 1, r, (size_t)n);
	} else
		enc = b64(r, (size_t)n);
	free(r);
	if (enc == NULL)
		return CF_ENOMEM;
	rc = resp_data(resp, json_pack("{s:s}", "random_bytes", enc));
	free(enc);
	return rc;
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

static int
transit_handle(struct mount *m, struct request *req, struct response *resp)
{
	const char	*rel = req->rel, *name, *slash;
	char		 word[32], arg[128];
	int		 w = req->op == REQ_UPDATE || req->op == REQ_CREATE;
	size_t		 len;

	if (req->op == REQ_LIST && strcmp(rel, "keys/") == 0)
		return list_keys(m, resp);
	if (name_of(rel, "keys", &name))
		return keys_handler(m, req, resp, name);
	/* keys/<name>/rotate and keys/<name>/config */
	if (w && strncmp(rel, "keys/", 5) == 0 &&
	    (slash = strrchr(rel + 5, '/')) != NULL) {
		len = (size_t)(slash - (rel + 5));
		if (len == 0 || len >= sizeof(arg))
			goto unsupported;
		memcpy(arg, rel + 5, len);
		arg[len] = '\0';
		if (strchr(arg, '/') == NULL && strcmp(slash, "/rotate") == 0)
			return rotate_or_config(m, req, resp, arg, 0);
		if (strchr(arg, '/') == NULL && strcmp(slash, "/config") == 0)
			return rotate_or_config(m, req, resp, arg, 1);
		goto unsupported;
	}
	if (!w)
		goto unsupported;
	if (strcmp(rel, "hash") == 0)
		return hash_handler(req, resp, NULL);
	if (strcmp(rel, "random") == 0)
		return random_handler(req, resp, NULL);
	/* word/<a>[/<b>] */
	if ((slash = strchr(rel, '/')) == NULL ||
	    (size_t)(slash - rel) >= sizeof(word))
		goto unsupported;
	memcpy(word, rel, (size_t)(slash - rel));
	word[slash - rel] = '\0';
	strlcpy(arg, slash + 1, sizeof(arg));
	name = arg;
	{
		char	*sub = strchr(arg, '/');
		const char *second = NULL;

		if (sub != NULL) {
			*sub = '\0';
			second = sub + 1;
		}
		if (*arg == '\0')
			goto unsupported;
		if (strcmp(word, "encrypt") == 0 && second == NULL)
			return crypt_handler(m, req, resp, name, 0);
		if (strcmp(word, "decrypt") == 0 && second == NULL)
			return crypt_handler(m, req, resp, name, 1);
		if (strcmp(word, "rewrap") == 0 && second == NULL)
			return crypt_handler(m, req, resp, name, 2);
		if (strcmp(word, "hmac") == 0)
			return mac_sign_handler(m, req, resp, name, second, 0);
		if (strcmp(word, "sign") == 0 && second == NULL)
			return mac_sign_handler(m, req, resp, name, NULL, 1);
		if (strcmp(word, "verify") == 0)
			return mac_sign_handler(m, req, resp, name, second, 2);
		if (strcmp(word, "datakey") == 0 && second != NULL)
			return datakey_handler(m, req, resp, arg, second);
		if (strcmp(word, "hash") == 0 && second == NULL)
			return hash_handler(req, resp, arg);
		if (strcmp(word, "random") == 0 && second == NULL)
			return random_handler(req, resp, arg);
	}
 unsupported:
	return resp_fail(resp, CF_ENOTFOUND,
	    "1 error occurred:\n\t* unsupported path\n\n");
}

static int
transit_open(struct mount *m)
{
	struct transit	*tr;

	if ((tr = calloc(1, sizeof(*tr))) == NULL)
		return CF_ENOMEM;
	pthread_mutex_init(&tr->mu, NULL);
	m->ctx = tr;
	return CF_OK;
}

static void
transit_close(struct mount *m)
{
	struct transit	*tr = m->ctx;

	pthread_mutex_destroy(&tr->mu);
	free(tr);
	m->ctx = NULL;
}

static const struct backend_ops transit_ops = {
	.type = "transit",
	.open = transit_open,
	.close = transit_close,
	.handle = transit_handle,
};

void
transit_register(void)
{
	router_register(&transit_ops);
}
