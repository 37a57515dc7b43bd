/*
 * transit.c -- the transit secrets engine: encryption as a service.
 *
 * This file holds the HTTP side: the path table, request fields, Vault's
 * messages and status codes, the key management endpoints (keys/<name>,
 * rotate, config), and the lookup (or encrypt's upsert) of the key a
 * data request names.  The work on the data itself -- each item of
 * encrypt, decrypt, rewrap, hmac, sign and verify, batch_input, datakey,
 * hash and random -- is transit_data.c's.  Keys themselves -- their
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
 * gets is released with tkey_unref on its one exit path.
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
#include "transit_data.h"
#include "transit_keys.h"
#include "transit_store.h"

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
	tkey_unref(m->ctx, k);
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
	tkey_unref(tr, k);
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
	tkey_unref(tr, now);
	tkey_unref(tr, k);
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
	tkey_unref(tr, now);
	tkey_free(c);
	tkey_unref(tr, k);
	tkey_store_unlock(tr);
	return rc;
}


/* ---- requests with a key ----------------------------------------- */

/* encrypt, decrypt and rewrap; encrypt may create the key (upsert). */
static int
crypt_handler(struct mount *m, struct request *req, struct response *resp,
    const char *name, enum tdata_op what)
{
	struct tkey	*k = NULL;
	const char	*type = NULL;
	int		 rc, t, created = 0;

	if (what == TDATA_ENCRYPT && req->op == REQ_CREATE) {
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
		rc = key_upsert(m, req, resp, name, t, &k, &created);
		if (rc == CF_OK && !created)
			rc = resp_warn(resp, "Attempted creation of the key "
			    "during the encrypt operation, but it was created "
			    "beforehand");
	} else
		rc = tkey_get(m, name, &k);
	if (rc == CF_ENOTFOUND)
		return resp_fail(resp, CF_EINVAL, "encryption key not found");
	if (rc == CF_OK)
		rc = tdata_run(req, resp, k, NULL, what);
	tkey_unref(m->ctx, k);
	return rc;
}

/* hmac, sign and verify; algo from the URL or NULL. */
static int
mac_handler(struct mount *m, struct request *req, struct response *resp,
    const char *name, const char *algo, enum tdata_op what)
{
	struct tkey	*k = NULL;
	const char	*a = algo, *marsh = NULL;
	int		 rc;

	/* Vault reads hash_algorithm, then algorithm; hvac sends either. */
	if (a == NULL && what != TDATA_HMAC && (rc = req_str(req, resp,
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
	if (tkey_hmac_len(a) == 0 && what == TDATA_HMAC)
		return resp_fail(resp, CF_EINVAL, "unsupported algorithm %s",
		    a);
	if ((rc = tkey_get(m, name, &k)) == CF_ENOTFOUND)
		return resp_fail(resp, CF_EINVAL, what == TDATA_HMAC ?
		    "encryption key not found" : what == TDATA_SIGN ?
		    "signing key not found" :
		    "signature verification key not found");
	if (rc != CF_OK)
		return rc;
	if (what == TDATA_SIGN && k->type != TR_ED25519)
		rc = resp_fail(resp, CF_EINVAL, "key type %s does not support "
		    "signing", tkey_type_name(k->type));
	else
		rc = tdata_run(req, resp, k, a, what);
	tkey_unref(m->ctx, k);
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
	tkey_unref(m->ctx, k);
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
	return tdata_hash(req, resp, a->n > 0 ? a->v[0] : NULL);
}

static int
tr_random(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)m;
	return tdata_random(req, resp, a->n > 0 ? a->v[0] : NULL,
	    a->n > 1 ? a->v[1] : NULL);
}

static int
tr_encrypt(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return crypt_handler(m, req, resp, a->v[0], TDATA_ENCRYPT);
}

static int
tr_decrypt(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return crypt_handler(m, req, resp, a->v[0], TDATA_DECRYPT);
}

static int
tr_rewrap(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return crypt_handler(m, req, resp, a->v[0], TDATA_REWRAP);
}

static int
tr_datakey(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return tdata_datakey(m, req, resp, a->v[0], a->v[1]);
}

static int
tr_hmac(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return mac_handler(m, req, resp, a->v[0], a->n > 1 ? a->v[1] : NULL,
	    TDATA_HMAC);
}

static int
tr_sign(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return mac_handler(m, req, resp, a->v[0], a->n > 1 ? a->v[1] : NULL,
	    TDATA_SIGN);
}

static int
tr_verify(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return mac_handler(m, req, resp, a->v[0], a->n > 1 ? a->v[1] : NULL,
	    TDATA_VERIFY);
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
	tkey_unref(m->ctx, k);
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
	.table = &transit_paths,
	.exists = transit_exists,
};

void
transit_register(void)
{
	router_register(&transit_ops);
}
