/*
 * transit.c -- the transit secrets engine: encryption as a service.
 *
 * This file holds the HTTP side: the path table, request fields, Vault's
 * messages and status codes, batch_input, and the key management
 * endpoints (keys/<name>, rotate, config).  Keys themselves -- their
 * record, the per-mount cache, versions, and the cryptography -- belong
 * to transit_keys.c; nothing here touches key material.
 *
 * Clients send base64 plaintext and get "vault:v<N>:" + base64(nonce ||
 * ciphertext || tag) back; HMACs and signatures carry the same prefix.
 * Types: aes256-gcm96 (libsodium implements it only on CPUs with AES-NI
 * and PCLMUL; elsewhere it is refused with a 400 naming the reason),
 * chacha20-poly1305 and ed25519.  Key derivation, convergent encryption,
 * export and backup are not implemented and answer a clear 400 or 404.
 *
 * Threads: handlers run under the core read lock, as everywhere.  A
 * change (create, rotate, config, delete) holds the mount's change lock
 * (tkey_store_lock) across its read-modify-write; every key a handler
 * gets is released with tkey_put on its one exit path.
 */
#include "config.h"

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
#include "transit_keys.h"

#define TR_RANDOM_MAX	(128 * 1024)	/* Vault's limit for random bytes */

/* What one batch item (or a whole single request) is processed with. */
struct tr_op {
	struct tkey	*k;
	const char	*algo;		/* hmac/verify: sha2-256 or sha2-512 */
	json_t		*top;		/* req->data, for fields items lack */
};

typedef int	(*tr_item_fn)(struct tr_op *, json_t *item, json_t **out,
		    char *why);

/* Wipe and free a string that held secret text. */
static void
str_wipe_free(char *s)
{
	if (s == NULL)
		return;
	sodium_memzero(s, strlen(s));
	free(s);
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
	    "type", tkey_type_name(k->type),
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
	int	 rc;

	if ((rc = tkey_list(m, &keys)) != CF_OK || keys == NULL)
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
	if (tkey_type_parse(type, t) != CF_OK)
		return resp_fail(resp, CF_EINVAL, "unknown key type %s: coffer "
		    "supports aes256-gcm96, chacha20-poly1305 and ed25519",
		    type);
	if ((why = tkey_type_unusable(*t)) != NULL)
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
	struct tkey_store	*tr = m->ctx;
	struct tkey	*k = NULL;
	int		 rc, b;

	*created = 0;
	tkey_store_lock(tr);
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
	tkey_store_unlock(tr);
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
	struct tkey_store	*tr = m->ctx;
	struct tkey	*k = NULL;
	int		 rc;

	tkey_store_lock(tr);
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
	rc = tkey_del(m, name);
 out:
	tkey_put(tr, k);
	tkey_store_unlock(tr);
	return rc;
}

static int
key_rotate(struct mount *m, struct response *resp, const char *name)
{
	struct tkey_store	*tr = m->ctx;
	struct tkey	*k = NULL, *c = NULL, *now = NULL;
	int		 rc;

	tkey_store_lock(tr);
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
	tkey_store_unlock(tr);
	return rc;
}

static int
key_config(struct mount *m, struct request *req, struct response *resp,
    const char *name)
{
	struct tkey_store	*tr = m->ctx;
	struct tkey	*k = NULL, *c = NULL, *now = NULL;
	long long	 v;
	int		 rc, b, present;

	tkey_store_lock(tr);
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
	tkey_store_unlock(tr);
	return rc;
}

/* ---- encryption -------------------------------------------------- */
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
	return tkey_b64_decode(s, ad, "failed to base64-decode associated "
	    "data: ", why);
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
	if ((w = tkey_type_unusable(k->type)) != NULL) {
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
	if ((rc = tkey_b64_decode(in, &pt, "", why)) != CF_OK ||
	    (rc = item_ad(op, item, &ad, why)) != CF_OK ||
	    (rc = tkey_enc_version(op->k, want, &ver, why)) != CF_OK ||
	    (rc = tkey_encrypt(op->k, ver, &pt, &ad, &ct)) != CF_OK)
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
	    (rc = tkey_decrypt(op->k, in, &ad, &pt, &ver, why)) != CF_OK)
		goto out;
	if ((pb = tkey_b64_new((const uint8_t *)pt.data, pt.len)) == NULL ||
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
	    (rc = tkey_decrypt(op->k, in, &ad, &pt, &old, why)) != CF_OK ||
	    (rc = tkey_enc_version(op->k, want, &ver, why)) != CF_OK ||
	    (rc = tkey_encrypt(op->k, ver, &pt, &ad, &ct)) != CF_OK)
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
	return tkey_b64_decode(s, in, "unable to decode input as base64: ",
	    why);
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

	if ((enc = tkey_b64_new(p, len)) != NULL &&
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
	size_t		 alen = tkey_hmac_len(op->algo);
	long long	 ver;
	int		 rc;

	if ((rc = use_version(op, item, &ver, why)) != CF_OK ||
	    (rc = item_input(item, &in, why)) != CF_OK)
		goto out;
	tkey_hmac(op->k, ver, alen, &in, mac);
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
	tkey_sign(op->k, ver, &in, sig);
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
	size_t		 alen = tkey_hmac_len(op->algo);
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
		    "verification", tkey_type_name(op->k->type));
		return CF_EINVAL;
	}
	if ((rc = item_input(item, &in, why)) != CF_OK ||
	    (rc = tkey_split_prefixed(sig != NULL ? sig : mac, sig != NULL ?
	    "signature" : "hmac", &ver, &rest, why)) != CF_OK ||
	    (rc = tkey_dec_version(op->k, ver, sig != NULL ? "signature" :
	    "hmac", why)) != CF_OK)
		goto out;
	if ((rc = tkey_b64_decode(rest, &given, "", why)) != CF_OK) {
		if (rc == CF_EINVAL)
			snprintf(why, TR_WHY_LEN, "invalid %s: could not "
			    "decode base64", sig != NULL ? "signature" :
			    "hmac");
		goto out;
	}
	if (sig != NULL) {
		ok = tkey_sig_is_valid(op->k, ver, &in, &given);
	} else {
		tkey_hmac(op->k, ver, alen, &in, want);
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
	if (tkey_hmac_len(a) == 0 && what == 0)
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
		    "signing", tkey_type_name(op.k->type));
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
	    (rc = tkey_enc_version(op.k, 0, &ver, why)) != CF_OK ||
	    (rc = buf_reserve(&dk, (size_t)bits / 8)) != CF_OK)
		goto out;
	randombytes_buf(dk.data, (size_t)bits / 8);
	dk.len = (size_t)bits / 8;
	if ((rc = tkey_encrypt(op.k, ver, &dk, &ad, &ct)) != CF_OK)
		goto out;
	resp->wipe = 1;
	o = json_pack("{s:s, s:I}", "ciphertext", ct, "key_version",
	    (json_int_t)ver);
	if (o != NULL && plain) {
		if ((pb = tkey_b64_new((const uint8_t *)dk.data, dk.len)) ==
		    NULL || json_object_set_new(o, "plaintext", json_string(pb)) != 0) {
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
		s = tkey_b64_new(p, len);
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
	if ((alen = tkey_hmac_len(a)) == 0)
		return resp_fail(resp, CF_EINVAL, "unsupported hash algorithm "
		    "%s", a);
	if ((rc = check_format(resp, fmt)) != CF_OK)
		return rc;
	if (input == NULL)
		return resp_fail(resp, CF_EINVAL, "missing input");
	if ((rc = tkey_b64_decode(input, &in, "unable to decode input as "
	    "base64: ", why)) != CF_OK) {
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
 * is a key name (tkey_name_is_valid), anything else any segment.
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
	return strcmp(name, "name") != 0 || tkey_name_is_valid(value);
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
	if (!tkey_name_is_valid(name))
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
	if ((m->ctx = tkey_store_new()) == NULL)
		return CF_ENOMEM;
	return CF_OK;
}

/*
 * The mount is going (unmount or seal) and no request holds it, so the
 * cache's references are the last: freeing wipes every key.
 */
static void
transit_close(struct mount *m)
{
	tkey_store_free(m->ctx);
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
