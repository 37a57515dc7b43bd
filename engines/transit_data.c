/*
 * transit_data.c -- what the transit engine does with a client's data:
 * encrypt, decrypt, rewrap, hmac, sign and verify (each once over the
 * request or over every item of batch_input), datakey, and the keyless
 * hash and random.
 *
 * transit.c parses the path, looks the key up (creating it for
 * encrypt's upsert) and calls in here with a reference it keeps and
 * releases; the key's material stays behind transit_keys.c's calls.
 * Each item answers a 400 reason in why (TR_WHY_LEN) or a cf_err, and
 * run_items turns those into Vault's batch_results and status.
 * Plaintexts, data keys and random bytes are wiped once sent.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "core.h"
#include "err.h"
#include "req.h"
#include "router.h"
#include "transit_data.h"
#include "transit_keys.h"
#include "transit_store.h"

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

/*
 * Encrypt pt (with ad) under the version the client asks for (want;
 * 0: the latest) into the answer {ciphertext, key_version}.
 */
static int
encrypt_into(struct tr_op *op, long long want, const struct buf *pt,
    const struct buf *ad, json_t **out, char *why)
{
	char		*ct = NULL;
	long long	 ver;
	int		 rc;

	if ((rc = tkey_enc_version(op->k, want, &ver, why)) != CF_OK ||
	    (rc = tkey_encrypt(op->k, ver, pt, ad, &ct)) != CF_OK)
		return rc;
	if ((*out = json_pack("{s:s, s:I}", "ciphertext", ct, "key_version",
	    (json_int_t)ver)) == NULL)
		rc = CF_ENOMEM;
	free(ct);
	return rc;
}

/*
 * Open the item's ciphertext in, with its associated data (into ad),
 * into pt; *ver is the version it names.
 */
static int
open_item(struct tr_op *op, json_t *item, const char *in, struct buf *ad,
    struct buf *pt, long long *ver, char *why)
{
	int	 rc;

	if (in == NULL || *in == '\0') {
		snprintf(why, TR_WHY_LEN, "missing ciphertext to decrypt");
		return CF_EINVAL;
	}
	if ((rc = item_ad(op, item, ad, why)) != CF_OK)
		return rc;
	return tkey_decrypt(op->k, in, ad, pt, ver, why);
}

static int
encrypt_item(struct tr_op *op, json_t *item, json_t **out, char *why)
{
	struct buf	 pt = BUF_INIT, ad = BUF_INIT;
	const char	*in;
	long long	 want;
	int		 rc;

	if ((rc = check_aead(op->k, "encryption", why)) != CF_OK ||
	    (rc = item_str(item, "plaintext", &in, why)) != CF_OK ||
	    (rc = item_int(item, "key_version", &want, why)) != CF_OK)
		return rc;
	if (in == NULL) {
		snprintf(why, TR_WHY_LEN, "missing plaintext to encrypt");
		return CF_EINVAL;
	}
	if ((rc = tkey_b64_decode(in, &pt, "", why)) == CF_OK &&
	    (rc = item_ad(op, item, &ad, why)) == CF_OK)
		rc = encrypt_into(op, want, &pt, &ad, out, why);
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
	    (rc = item_str(item, "ciphertext", &in, why)) != CF_OK ||
	    (rc = open_item(op, item, in, &ad, &pt, &ver, why)) != CF_OK)
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
	long long	 old, want;
	int		 rc;

	if ((rc = check_aead(op->k, "encryption", why)) == CF_OK &&
	    (rc = item_str(item, "ciphertext", &in, why)) == CF_OK &&
	    (rc = item_int(item, "key_version", &want, why)) == CF_OK &&
	    (rc = open_item(op, item, in, &ad, &pt, &old, why)) == CF_OK)
		rc = encrypt_into(op, want, &pt, &ad, out, why);
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

int
tdata_run(struct request *req, struct response *resp, struct tkey *k,
    const char *algo, enum tdata_op what)
{
	static const tr_item_fn fns[] = {
		encrypt_item, decrypt_item, rewrap_item,
		hmac_item, sign_item, verify_item
	};
	struct tr_op	 op;

	memset(&op, 0, sizeof(op));
	op.k = k;
	op.algo = algo;
	return run_items(req, resp, &op, fns[what]);
}

int
tdata_datakey(struct mount *m, struct request *req, struct response *resp,
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
	tkey_unref(m->ctx, op.k);
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

int
tdata_hash(struct request *req, struct response *resp, const char *algo)
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
int
tdata_random(struct request *req, struct response *resp, const char *a,
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
