/*
 * seal.c -- the keys that protect everything: init, unseal, seal, key
 * rotation, rekey and generate-root.
 *
 * Key hierarchy.  Shamir shares combine to the unseal key (KEK); the KEK
 * decrypts the root key stored at "core/root-key"; the root key decrypts
 * the keyring at "core/keyring"; the keyring's terms encrypt every other
 * value (barrier.c).  The seal configuration at "core/seal-config" is
 * the only clear-text record, and it holds no secret.  With one share
 * the KEK is not split: the single share is the KEK itself, as in Vault.
 *
 * Memory.  Submitted shares, the KEK, the root key (kept while unsealed,
 * for sys/rotate and rekey), generated shares and root tokens being
 * returned live in sodium_malloc regions and are wiped on every path
 * that drops them.  Response JSON carrying secrets is freed through
 * jansson's wiping allocator, and response bodies through struct buf.
 * A share is decoded from its text in a heap buffer that is wiped
 * before it is freed.
 *
 * Behaviour follows Vault 1.14's handlers, check by check and in the
 * same order (http/sys_{init,seal,rekey,generate_root}.go and
 * vault/{init,core,rekey,generate_root}.go), so that clients see the
 * same status and text for the same mistake.  Two deliberate changes:
 * Vault answers 500 for an invalid rekey configuration and for rekey
 * shares that do not open the root key; a 500 here would hide the text
 * (http.c), so those are 400 with Vault's text.
 *
 * Locking.  seal_mu guards the three share-collecting attempts (unseal,
 * generate-root, rekey), the cached seal configuration and the held
 * root key; it nests inside the core lock.  State changes take the core
 * write lock, so a seal waits for requests in flight and later requests
 * see 503.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "acl.h"
#include "barrier.h"
#include "buf.h"
#include "core.h"
#include "err.h"
#include "ha.h"
#include "jsonutil.h"
#include "log.h"
#include "req.h"
#include "router.h"
#include "seal.h"
#include "shamir.h"
#include "shares.h"
#include "storage.h"
#include "sys.h"
#include "timeutil.h"
#include "token.h"
#include "uuid4.h"

#define SEAL_CONFIG_KEY		"core/seal-config"
#define ROOT_KEY_KEY		"core/root-key"
#define KEYRING_KEY		"core/keyring"
#define CLUSTER_KEY		"core/cluster"
/*
 * The root key once more, sealed under keyring term 1, which every
 * node that ever unsealed holds: how a standby that takes over learns
 * a root key another node's rekey made (its old one no longer opens
 * the keyring).
 */
#define ROOT_KEY_T1_KEY		"core/root-key-t1"

#define KEY_LEN			SHARES_KEY_LEN	/* KEK and root key */
#define SHARE_MAX		SHARES_SHARE_MAX
#define SHARE_MIN		16		/* Vault's AES-128 minimum */
#define OTP_LEN			28		/* "hvs." + 24 */
#define OTP_LEN_OLD		26		/* "s." + 24, Vault 1.0-1.9 */

/* Vault's text when shares combine to a key that opens nothing. */
#define AUTH_FAILED		"cipher: message authentication failed"

static pthread_mutex_t	 seal_mu = PTHREAD_MUTEX_INITIALIZER;
static int		 cfg_n, cfg_t;		/* cached seal config */
static struct shares	 unseal_att, genroot_att, rekey_att;
static uint8_t		*root_key;		/* while unsealed */
static char		*genroot_otp;		/* sodium_malloc */
static int		 rekey_n, rekey_t;
static int		 rekey_verify;		/* require_verification */
static uint8_t		*rekey_kek;		/* new KEK awaiting verification */
static struct shares	 verify_att;		/* new shares being verified */
/* Encryptions counted by the barrier when the active term came in. */
static atomic_ullong	 encryptions_base;

static void
mu_lock(void)
{
	if (pthread_mutex_lock(&seal_mu) != 0)
		abort();
}

static void
mu_unlock(void)
{
	if (pthread_mutex_unlock(&seal_mu) != 0)
		abort();
}

/* A member of obj whose name matches key ignoring case, as Go decodes. */
static json_t *
get_ci(json_t *obj, const char *key)
{
	const char	*k;
	json_t		*v;

	json_object_foreach(obj, k, v)
		if (strcasecmp(k, key) == 0)
			return json_is_null(v) ? NULL : v;
	return NULL;
}

/*
 * Decode a share's text with Vault's rule: hex if it decodes to 16..33
 * bytes, else padded standard base64; anything else is a 400.  *len is
 * the decoded length, which may exceed SHARE_MAX: out (SHARE_MAX bytes)
 * is filled only when it fits, and the caller checks the length with
 * share_check_len() where Vault does.
 */
static int
share_decode(const char *s, uint8_t *out, size_t *len, struct response *resp)
{
	uint8_t		*tmp;
	const char	*end = NULL;
	size_t		 slen = strlen(s), cap = slen + 1, n = 0;
	int		 rc = CF_OK;

	*len = 0;
	if ((tmp = malloc(cap)) == NULL)
		return CF_ENOMEM;
	if (slen % 2 == 0 && sodium_hex2bin(tmp, cap, s, slen, NULL, &n,
	    &end) == 0 && end == s + slen && n >= SHARE_MIN && n <= SHARE_MAX)
		goto ok;
	if (sodium_base642bin(tmp, cap, s, slen, NULL, &n, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || end != s + slen) {
		rc = resp_fail(resp, CF_EINVAL,
		    "'key' must be a valid hex or base64 string");
		goto out;
	}
 ok:
	if (n <= SHARE_MAX)
		memcpy(out, tmp, n);
	*len = n;
 out:
	sodium_memzero(tmp, cap);
	free(tmp);
	return rc;
}

/* Vault's length check on a decoded share; prefix starts the message. */
static int
share_check_len(size_t len, const char *prefix, struct response *resp)
{
	if (len < SHARE_MIN)
		return resp_fail(resp, CF_EINVAL, "%skey is shorter than "
		    "minimum %d bytes", prefix, SHARE_MIN);
	if (len > SHARE_MAX)
		return resp_fail(resp, CF_EINVAL, "%skey is longer than "
		    "maximum %d bytes", prefix, SHARE_MAX);
	return CF_OK;
}

/* Raw handlers decode a JSON body; an empty one is Go's "EOF". */
static int
need_body(struct request *req, struct response *resp)
{
	if (req->body_empty)
		return resp_fail(resp, CF_EINVAL, "EOF");
	return CF_OK;
}

/* A 405 unless the request is a PUT or POST. */
static int
need_update(struct request *req, struct response *resp)
{
	if (req->op == REQ_UPDATE)
		return CF_OK;
	resp->err_empty = 1;
	return CF_EMETHOD;
}

/*
 * Typed body fields, as Go's decoder sees them: absent or null is the
 * zero value, a value of another type fails the whole request.
 */
static int
body_int(struct request *req, struct response *resp, const char *key,
    long long *out)
{
	json_t	*v = get_ci(req->data, key);

	*out = 0;
	if (v == NULL)
		return CF_OK;
	if (!json_is_integer(v))
		return resp_fail(resp, CF_EINVAL, "failed to parse JSON input: "
		    "%s must be an integer", key);
	*out = json_integer_value(v);
	return CF_OK;
}

static int
body_bool(struct request *req, struct response *resp, const char *key,
    int *out)
{
	json_t	*v = get_ci(req->data, key);

	*out = 0;
	if (v == NULL)
		return CF_OK;
	if (!json_is_boolean(v))
		return resp_fail(resp, CF_EINVAL, "failed to parse JSON input: "
		    "%s must be a boolean", key);
	*out = json_is_true(v);
	return CF_OK;
}

static int
body_str(struct request *req, struct response *resp, const char *key,
    const char **out)
{
	json_t	*v = get_ci(req->data, key);

	*out = "";
	if (v == NULL)
		return CF_OK;
	if (!json_is_string(v))
		return resp_fail(resp, CF_EINVAL, "failed to parse JSON input: "
		    "%s must be a string", key);
	*out = json_string_value(v);
	return CF_OK;
}

/* A list of strings; *n is its length (0 when absent). */
static int
body_strlist(struct request *req, struct response *resp, const char *key,
    size_t *n)
{
	json_t	*v = get_ci(req->data, key), *e;
	size_t	 i;

	*n = 0;
	if (v == NULL)
		return CF_OK;
	if (!json_is_array(v))
		goto bad;
	json_array_foreach(v, i, e)
		if (!json_is_string(e))
			goto bad;
	*n = json_array_size(v);
	return CF_OK;
 bad:
	return resp_fail(resp, CF_EINVAL, "failed to parse JSON input: "
	    "%s must be a list of strings", key);
}

/*
 * Read the clear seal configuration from storage into *n and *t, and
 * *present: whether the store is initialized.  Read each time it
 * matters while sealed, never remembered across requests: on a store
 * shared by HA nodes another node may have initialized or rekeyed it.
 */
static int
read_seal_config(int *n, int *t, int *present)
{
	struct buf	 b = BUF_INIT;
	json_t		*j;
	json_error_t	 e;
	int		 rc;

	*n = *t = *present = 0;
	rc = storage_get(core_storage(), SEAL_CONFIG_KEY, &b);
	if (rc == CF_ENOTFOUND)
		return CF_OK;
	if (rc != CF_OK)
		return rc;
	if ((j = json_loadb(b.data, b.len, 0, &e)) == NULL) {
		buf_free(&b);
		return CF_EINTERNAL;
	}
	*n = (int)json_integer_value(json_object_get(j, "secret_shares"));
	*t = (int)json_integer_value(json_object_get(j, "secret_threshold"));
	*present = 1;
	json_decref(j);
	buf_free(&b);
	return CF_OK;
}

/*
 * Bring cfg_n, cfg_t and the core's initialized state in line with
 * storage.  Under the core write lock, while not unsealed.
 */
static int
load_seal_config(void)
{
	int	 n, t, present, rc;

	if ((rc = read_seal_config(&n, &t, &present)) != CF_OK)
		return rc;
	mu_lock();
	cfg_n = n;
	cfg_t = t;
	mu_unlock();
	if (present)
		core_set_initialized();
	else
		core_set_uninitialized();
	return CF_OK;
}

/* The clear seal configuration record, Vault's shape. */
static int
seal_config_emit(int n, int t, struct buf *out)
{
	json_t	*j;
	int	 rc;

	j = json_pack("{s:s, s:i, s:i, s:n, s:s, s:b, s:i}", "type", "shamir",
	    "secret_shares", n, "secret_threshold", t, "pgp_keys", "nonce",
	    "", "backup", 0, "stored_shares", 1);
	if (j == NULL)
		return CF_ENOMEM;
	rc = jsonutil_emit(j, out);
	json_decref(j);
	return rc;
}

/*
 * The seal-status object.  No core lock needed: the state is an atomic
 * and the rest is under seal_mu or read from storage.
 */
static json_t *
status_object(void)
{
	int	 st = core_state(), n, t, init;
	char	 name[128], id[64];
	json_t	*o;

	/* While sealed, storage says (another node may have changed it). */
	if (st == CORE_UNSEALED || read_seal_config(&n, &t, &init) != CF_OK) {
		mu_lock();
		n = cfg_n;
		t = cfg_t;
		mu_unlock();
		init = st != CORE_UNINITIALIZED;
	}
	mu_lock();
	o = json_pack("{s:s, s:b, s:b, s:i, s:i, s:i, s:s, s:s, s:s, s:b}",
	    "type", "shamir",
	    "initialized", init,
	    "sealed", st != CORE_UNSEALED,
	    "t", t, "n", n,
	    "progress", st == CORE_SEALED ? unseal_att.n : 0,
	    "nonce", st == CORE_SEALED ? unseal_att.nonce : "",
	    "version", CORE_VAULT_VERSION,
	    "build_date", COFFER_BUILD_DATE,
	    "migration", 0);
	mu_unlock();
	if (o == NULL)
		return NULL;
	if (st == CORE_UNSEALED) {
		core_cluster(name, sizeof(name), id, sizeof(id));
		json_object_set_new(o, "cluster_name", json_string(name));
		json_object_set_new(o, "cluster_id", json_string(id));
	}
	json_object_set_new(o, "recovery_seal", json_false());
	json_object_set_new(o, "storage_type",
	    json_string(storage_name(core_storage())));
	return o;
}

static int
reply_status(struct response *resp)
{
	resp->raw = 1;
	return resp_data(resp, status_object());
}

static int
sys_seal_status(struct request *req, struct response *resp)
{
	int	 rc;

	if (req->op != REQ_READ) {
		resp->err_empty = 1;
		return CF_EMETHOD;
	}
	/* Without the core lock: a probe never waits behind a drain. */
	rc = reply_status(resp);
	return rc;
}

/*
 * Add "keys" and "keys_base64" for n shares of len bytes each, stride
 * bytes apart.  The text passes through one sodium_malloc buffer; the
 * JSON strings die through the wiping allocator.
 */
static int
emit_shares(json_t *o, const uint8_t *shares, size_t stride, int n,
    size_t len)
{
	json_t	*hex, *b64;
	char	*txt;
	size_t	 cap = len * 2 + 1 > sodium_base64_ENCODED_LEN(len,
	    sodium_base64_VARIANT_ORIGINAL) ? len * 2 + 1 :
	    sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	int	 i, rc = CF_OK;

	if ((txt = sodium_malloc(cap)) == NULL)
		return CF_ENOMEM;
	hex = json_array();
	b64 = json_array();
	if (hex == NULL || b64 == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		sodium_bin2hex(txt, cap, shares + (size_t)i * stride, len);
		if (json_array_append_new(hex, json_string(txt)) != 0) {
			rc = CF_ENOMEM;
			goto out;
		}
		sodium_bin2base64(txt, cap, shares + (size_t)i * stride, len,
		    sodium_base64_VARIANT_ORIGINAL);
		if (json_array_append_new(b64, json_string(txt)) != 0) {
			rc = CF_ENOMEM;
			goto out;
		}
	}
	if (json_object_set(o, "keys", hex) != 0 ||
	    json_object_set(o, "keys_base64", b64) != 0)
		rc = CF_ENOMEM;
 out:
	json_decref(hex);
	json_decref(b64);
	sodium_free(txt);
	return rc;
}

/*
 * Split kek into n shares, t of which combine, at SHARE_MAX strides in
 * shares.  One share is the key itself (Vault does not split then).
 */
static int
make_shares(const uint8_t *kek, int n, int t, uint8_t *shares,
    size_t *share_len)
{
	uint8_t	*ptrs[SHAMIR_MAX_SHARES];
	int	 i;

	if (n == 1) {
		memcpy(shares, kek, KEY_LEN);
		*share_len = KEY_LEN;
		return CF_OK;
	}
	for (i = 0; i < n; i++)
		ptrs[i] = shares + (size_t)i * SHARE_MAX;
	*share_len = KEY_LEN + 1;
	return shamir_split(kek, KEY_LEN, (unsigned)n, (unsigned)t, ptrs);
}

/*
 * Vault's SealConfig.Validate, with its messages after prefix
 * ("invalid seal configuration: " for init, "invalid rekey seal
 * configuration: " for rekey).
 */
static int
check_shares(long long n, long long t, const char *prefix,
    struct response *resp)
{
	const char	*why = NULL;

	if (n < 1)
		why = "shares must be at least one";
	else if (t < 1)
		why = "threshold must be at least one";
	else if (n > 1 && t == 1)
		why = "threshold must be greater than one for multiple shares";
	else if (n > 255)
		why = "shares must be less than 256";
	else if (t > 255)
		why = "threshold must be less than 256";
	else if (t > n)
		why = "threshold cannot be larger than shares";
	if (why != NULL)
		return resp_fail(resp, CF_EINVAL, "%s%s", prefix, why);
	return CF_OK;
}

/* Wrap root under kek and the keyring under root, for storage. */
static int
wrap_keys(const uint8_t *kek, const uint8_t *root, const struct barrier *b,
    struct buf *rootct, struct buf *ringct)
{
	struct buf	 ring = BUF_INIT;
	int		 rc;

	if ((rc = barrier_key_encrypt(kek, ROOT_KEY_KEY, root, KEY_LEN,
	    rootct)) != CF_OK)
		goto out;
	if ((rc = barrier_keyring_emit(b, &ring)) != CF_OK)
		goto out;
	rc = barrier_key_encrypt(root, KEYRING_KEY, ring.data, ring.len,
	    ringct);
 out:
	buf_free(&ring);		/* wipes the clear keyring */
	return rc;
}

/*
 * Store the wrapped root key, the wrapped keyring and the seal
 * configuration in one batch: either the old keys or the new ones
 * open the node, never a mix.
 */
static int
store_keys(const uint8_t *kek, const uint8_t *root, const struct barrier *b,
    int n, int t)
{
	struct storage_op	 ops[4];
	struct buf		 rootct = BUF_INIT, ringct = BUF_INIT;
	struct buf		 cfg = BUF_INIT, t1ct = BUF_INIT;
	int			 rc;

	if ((rc = wrap_keys(kek, root, b, &rootct, &ringct)) != CF_OK ||
	    (rc = barrier_encrypt_term(b, 1, ROOT_KEY_T1_KEY, root, KEY_LEN,
	    &t1ct)) != CF_OK ||
	    (rc = seal_config_emit(n, t, &cfg)) != CF_OK)
		goto out;
	ops[0] = (struct storage_op){ STORAGE_OP_PUT, ROOT_KEY_KEY,
	    rootct.data, rootct.len };
	ops[1] = (struct storage_op){ STORAGE_OP_PUT, KEYRING_KEY,
	    ringct.data, ringct.len };
	ops[2] = (struct storage_op){ STORAGE_OP_PUT, ROOT_KEY_T1_KEY,
	    t1ct.data, t1ct.len };
	ops[3] = (struct storage_op){ STORAGE_OP_PUT, SEAL_CONFIG_KEY,
	    cfg.data, cfg.len };
	rc = storage_batch(core_storage(), ops, 4);
 out:
	buf_free(&t1ct);
	buf_free(&rootct);
	buf_free(&ringct);
	buf_free(&cfg);
	return rc;
}

/* Keep a copy of the root key while unsealed (rotate and rekey use it). */
static int
hold_root_key(const uint8_t *root)
{
	if (root_key == NULL && (root_key = sodium_malloc(KEY_LEN)) == NULL)
		return CF_ENOMEM;
	sodium_mprotect_readwrite(root_key);
	memcpy(root_key, root, KEY_LEN);
	sodium_mprotect_readonly(root_key);
	return CF_OK;
}

/* Forget a rekey and its pending key.  Under seal_mu. */
static void
rekey_reset(void)
{
	shares_reset(&rekey_att);
	shares_reset(&verify_att);
	sodium_free(rekey_kek);		/* wipes */
	rekey_kek = NULL;
	rekey_verify = 0;
	rekey_n = rekey_t = 0;
}

/* Forget a root generation and its OTP.  Under seal_mu. */
static void
genroot_reset(void)
{
	shares_reset(&genroot_att);
	sodium_free(genroot_otp);	/* wipes */
	genroot_otp = NULL;
}

/*
 * Seal hook: every key and share this module holds is wiped and its
 * region freed, so nothing of them stays in the process.
 */
static int
seal_forget(void)
{
	mu_lock();
	sodium_free(root_key);		/* wipes */
	root_key = NULL;
	genroot_reset();
	rekey_reset();
	shares_release(&genroot_att);
	shares_release(&rekey_att);
	shares_release(&verify_att);
	mu_unlock();
	atomic_store(&encryptions_base, 0);
	return CF_OK;
}

/*
 * Open the stored keys with kek and unseal.  Under the core write lock.
 * On success the barrier belongs to the core.
 */
static int
unseal_with(const uint8_t *kek, struct response *resp)
{
	struct storage	*st = core_storage();
	struct buf	 ct = BUF_INIT, root = BUF_INIT, ring = BUF_INIT;
	struct barrier	*b = NULL;
	int		 rc;

	if ((rc = storage_get(st, ROOT_KEY_KEY, &ct)) != CF_OK)
		goto out;
	if (barrier_key_decrypt(kek, ROOT_KEY_KEY, ct.data, ct.len, &root) !=
	    CF_OK || root.len != KEY_LEN) {
		rc = resp_fail(resp, CF_EINVAL, "unable to retrieve stored "
		    "keys: invalid key: failed to decrypt keys from storage: "
		    AUTH_FAILED);
		goto out;
	}
	if ((rc = storage_get(st, KEYRING_KEY, &ct)) != CF_OK)
		goto out;
	if (barrier_key_decrypt((const uint8_t *)root.data, KEYRING_KEY,
	    ct.data, ct.len, &ring) != CF_OK) {
		log_warnx("seal: the keyring does not open with the root key");
		rc = CF_EINTERNAL;
		goto out;
	}
	if ((rc = barrier_new(&b)) != CF_OK ||
	    (rc = barrier_keyring_parse(b, ring.data, ring.len)) != CF_OK)
		goto out;
	mu_lock();
	rc = hold_root_key((const uint8_t *)root.data);
	mu_unlock();
	if (rc != CF_OK)
		goto out;
	atomic_store(&encryptions_base, 0);
	rc = core_unsealed(b);
	b = NULL;			/* the core's now, even on failure */
 out:
	barrier_free(b);
	buf_free(&ct);
	buf_free(&root);		/* wipes */
	buf_free(&ring);		/* wipes */
	return rc;
}

/*
 * Check sys/init's body as Vault 1.14 does, in its order: types, the
 * auto-unseal parameters a Shamir seal refuses, the PGP key count, the
 * share configuration.  PGP encryption is not implemented: a request
 * that asks for it is refused with a clear 400 rather than answered
 * with shares in clear.
 */
static int
init_params(struct request *req, struct response *resp, long long *n,
    long long *t)
{
	static const char *const rec[] = { "recovery_shares",
	    "recovery_threshold", "recovery_pgp_keys" };
	long long	 stored, rs, rt;
	size_t		 npgp, nrpgp, used;
	const char	*rootpgp;
	char		 bad[128] = "";
	int		 rc, present[3], i;

	if ((rc = body_int(req, resp, "secret_shares", n)) != CF_OK ||
	    (rc = body_int(req, resp, "secret_threshold", t)) != CF_OK ||
	    (rc = body_int(req, resp, "stored_shares", &stored)) != CF_OK ||
	    (rc = body_strlist(req, resp, "pgp_keys", &npgp)) != CF_OK ||
	    (rc = body_int(req, resp, "recovery_shares", &rs)) != CF_OK ||
	    (rc = body_int(req, resp, "recovery_threshold", &rt)) != CF_OK ||
	    (rc = body_strlist(req, resp, "recovery_pgp_keys", &nrpgp)) !=
	    CF_OK ||
	    (rc = body_str(req, resp, "root_token_pgp_key", &rootpgp)) !=
	    CF_OK)
		return rc;
	present[0] = rs != 0;
	present[1] = rt != 0;
	present[2] = nrpgp != 0;
	for (i = 0; i < 3; i++) {
		if (!present[i])
			continue;
		used = strlen(bad);
		snprintf(bad + used, sizeof(bad) - used, "%s%s",
		    used > 0 ? "," : "", rec[i]);
	}
	if (bad[0] != '\0')
		return resp_fail(resp, CF_EINVAL, "parameters %s not "
		    "applicable to seal type shamir", bad);
	if (npgp > 0 && (long long)npgp != *n)
		return resp_fail(resp, CF_EINVAL,
		    "incorrect number of PGP keys");
	if ((rc = check_shares(*n, *t, "invalid seal configuration: ",
	    resp)) != CF_OK)
		return rc;
	if (npgp > 0)
		return resp_fail(resp, CF_EINVAL, "pgp_keys are not supported "
		    "by coffer; omit them to receive the shares in clear");
	if (rootpgp[0] != '\0')
		return resp_fail(resp, CF_EINVAL, "root_token_pgp_key is not "
		    "supported by coffer; omit it");
	return CF_OK;
}

/* Delete every key under prefix ("" for all), depth first. */
static int
delete_tree(struct storage *st, const char *prefix)
{
	struct strv	 kids = STRV_INIT;
	struct buf	 path = BUF_INIT;
	size_t		 i;
	int		 rc;

	if ((rc = storage_list(st, prefix, &kids)) != CF_OK)
		goto out;
	for (i = 0; i < kids.n && rc == CF_OK; i++) {
		buf_reset(&path);
		if ((rc = buf_printf(&path, "%s%s", prefix, kids.v[i])) !=
		    CF_OK)
			break;
		if (path.len > 0 && path.data[path.len - 1] == '/')
			rc = delete_tree(st, path.data);
		else
			rc = storage_del(st, path.data);
	}
 out:
	strv_free(&kids);
	buf_free(&path);
	return rc;
}

/*
 * Undo an init that failed after its keys were stored: the caller never
 * got the shares, so nobody could ever unseal.  The store was
 * uninitialized and its root key and keyring are now this attempt's, so
 * nothing else in it could be read any more: remove every key, the
 * seal configuration (the mark of an initialized store) first, and the
 * node is uninitialized again, ready for another sys/init.  Under the
 * core write lock, sealed.
 */
static void
init_undo(void)
{
	struct storage	*st = core_storage();
	int		 rc;

	if ((rc = storage_del(st, SEAL_CONFIG_KEY)) == CF_OK)
		rc = delete_tree(st, "");
	if (rc != CF_OK) {
		log_warnx("seal: initialization failed after storing its keys "
		    "and could not be undone (%s): stop cofferd, empty the "
		    "storage and initialize again", cf_errname(rc));
		(void)load_seal_config();
		return;
	}
	mu_lock();
	cfg_n = cfg_t = 0;
	mu_unlock();
	core_set_uninitialized();
	log_warnx("seal: initialization failed after storing its keys; "
	    "undone, the node is uninitialized");
}

/*
 * Initialize under the core write lock: a new KEK, root key and keyring,
 * stored in one batch; then a root token, made while briefly unsealed.
 * Vault leaves the node sealed afterwards, and so does this unless
 * kek_out is given (dev mode), which receives the KEK and keeps the
 * node unsealed.  Otherwise resp gets the shares and the root token.
 * The shares are made before anything is stored, so that a failure
 * there leaves the node uninitialized rather than without shares; a
 * failure after the keys are stored is undone (init_undo).
 */
static int
do_init(int n, int t, const char *root_id, struct response *resp,
    uint8_t *kek_out, char *token_out)
{
	struct barrier	*b = NULL;
	uint8_t		*kek = NULL, *root = NULL, *shares = NULL;
	char		*token = NULL;
	size_t		 share_len;
	json_t		*o = NULL;
	int		 rc, stored = 0;

	if ((kek = sodium_malloc(KEY_LEN)) == NULL ||
	    (root = sodium_malloc(KEY_LEN)) == NULL ||
	    (shares = sodium_malloc((size_t)n * SHARE_MAX)) == NULL ||
	    (token = sodium_malloc(TOKEN_MAX_LEN + 1)) == NULL ||
	    (o = json_object()) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	randombytes_buf(kek, KEY_LEN);
	randombytes_buf(root, KEY_LEN);
	if ((rc = make_shares(kek, n, t, shares, &share_len)) != CF_OK ||
	    (rc = emit_shares(o, shares, SHARE_MAX, n, share_len)) != CF_OK)
		goto out;
	if ((rc = barrier_new(&b)) != CF_OK ||
	    (rc = barrier_keyring_init(b)) != CF_OK ||
	    (rc = store_keys(kek, root, b, n, t)) != CF_OK)
		goto out;
	stored = 1;
	mu_lock();
	cfg_n = n;
	cfg_t = t;
	rc = hold_root_key(root);
	mu_unlock();
	core_set_initialized();
	if (rc != CF_OK)
		goto out;
	atomic_store(&encryptions_base, 0);
	rc = core_unsealed(b);
	b = NULL;
	if (rc != CF_OK)
		goto out;
	/* With HA, init holds the storage lock: active for the root token. */
	if ((rc = core_become_active()) != CF_OK) {
		core_sealed();
		goto out;
	}
	if ((rc = token_create_root(root_id, "auth/token/root", token)) !=
	    CF_OK) {
		core_sealed();
		goto out;
	}
	if (kek_out != NULL) {
		memcpy(kek_out, kek, KEY_LEN);
		strlcpy(token_out, token, TOKEN_MAX_LEN + 1);
		goto out;
	}
	core_sealed();
	if (json_object_set_new(o, "root_token", json_string(token)) != 0) {
		rc = CF_ENOMEM;
		goto out;
	}
	resp->raw = 1;
	resp->wipe = 1;
	rc = resp_data(resp, o);
	o = NULL;
 out:
	if (rc != CF_OK && stored) {
		if (core_state() == CORE_UNSEALED)
			core_sealed();
		init_undo();
	}
	json_decref(o);			/* wiping allocator */
	barrier_free(b);
	sodium_free(kek);		/* each wipes */
	sodium_free(root);
	sodium_free(shares);
	sodium_free(token);
	return rc;
}

static int
sys_init(struct request *req, struct response *resp)
{
	long long	 n, t;
	json_t		*o;
	int		 rc, cn, ct, init, taken = 0;

	if (req->op == REQ_READ) {
		core_rdlock();
		/* While sealed, storage says, not what we remember. */
		if (core_state() == CORE_UNSEALED || read_seal_config(&cn, &ct,
		    &init) != CF_OK)
			init = core_state() != CORE_UNINITIALIZED;
		o = json_pack("{s:b}", "initialized", init);
		core_unlock();
		resp->raw = 1;
		return resp_data(resp, o);
	}
	if ((rc = need_update(req, resp)) != CF_OK ||
	    (rc = need_body(req, resp)) != CF_OK ||
	    (rc = init_params(req, resp, &n, &t)) != CF_OK)
		return rc;
	/*
	 * Concurrent inits serialize here; the loser is "already".  Check
	 * storage itself, not what this process remembers, and only while
	 * holding the store: alone without HA (storage refuses a second
	 * process), or the HA lock.
	 */
	if ((rc = ha_init_begin(&taken)) != CF_OK) {
		if (rc == CF_ESTANDBY)
			return resp_fail(resp, CF_EINVAL, "Vault is already "
			    "initialized");
		return rc;
	}
	core_wrlock();
	if (core_conf()->ha_enabled &&
	    storage_lock_check(core_storage()) != CF_OK)
		rc = resp_fail(resp, CF_EINVAL, "cannot initialize: this node "
		    "does not hold the storage lock");
	else if (core_state() != CORE_UNSEALED &&
	    (rc = load_seal_config()) != CF_OK)
		;
	else if (core_state() != CORE_UNINITIALIZED)
		rc = resp_fail(resp, CF_EINVAL, "Vault is already initialized");
	else
		rc = do_init((int)n, (int)t, NULL, resp, NULL, NULL);
	core_unlock();
	ha_init_end(taken);
	if (rc == CF_OK) {
		log_info("seal: initialized with %lld shares, threshold %lld",
		    n, t);
		return CF_OK;
	}
	/* Vault answers every init failure with a 400. */
	if (resp->err[0] == '\0')
		resp_fail(resp, CF_EINVAL, "initialization failed: %s",
		    cf_strerror(rc));
	return CF_EINVAL;
}

static int
sys_unseal(struct request *req, struct response *resp)
{
	uint8_t		*share = NULL, *kek = NULL;
	size_t		 len;
	const char	*key, *why;
	int		 rc, dup, done = 0, st, reset, migrate;

	if ((rc = need_update(req, resp)) != CF_OK ||
	    (rc = need_body(req, resp)) != CF_OK ||
	    (rc = body_str(req, resp, "key", &key)) != CF_OK ||
	    (rc = body_bool(req, resp, "reset", &reset)) != CF_OK ||
	    (rc = body_bool(req, resp, "migrate", &migrate)) != CF_OK)
		return rc;
	core_wrlock();
	/* Sealed: the seal configuration as storage has it now. */
	if (core_state() != CORE_UNSEALED && (rc = load_seal_config()) !=
	    CF_OK)
		goto out;
	st = core_state();
	if (reset) {
		if (st == CORE_UNSEALED)
			rc = resp_fail(resp, CF_EINVAL, "vault is unsealed");
		else {
			mu_lock();
			shares_reset(&unseal_att);
			mu_unlock();
			rc = reply_status(resp);
		}
		goto out;
	}
	if (key[0] == '\0') {
		rc = resp_fail(resp, CF_EINVAL, "'key' must be specified in "
		    "request body as JSON, or 'reset' set to true");
		goto out;
	}
	if ((share = sodium_malloc(SHARE_MAX)) == NULL ||
	    (kek = sodium_malloc(KEY_LEN)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	if ((rc = share_decode(key, share, &len, resp)) != CF_OK)
		goto out;
	if (migrate) {
		rc = resp_fail(resp, CF_EINTERNAL, "can't perform a seal "
		    "migration, no migration seal found");
		goto out;
	}
	if (st == CORE_UNINITIALIZED) {
		rc = resp_fail(resp, CF_EINVAL, "Vault is not initialized");
		goto out;
	}
	if ((rc = share_check_len(len, "invalid key: ", resp)) != CF_OK)
		goto out;
	if (st == CORE_UNSEALED) {
		rc = reply_status(resp);
		goto out;
	}
	mu_lock();
	if ((rc = shares_add(&unseal_att, share, len, &dup)) == CF_OK &&
	    unseal_att.n == 1 && !dup)
		shares_renonce(&unseal_att);
	if (rc == CF_OK)
		rc = shares_reach(&unseal_att, cfg_t, kek, &done, &why);
	if (done)
		shares_reset(&unseal_att);	/* whatever the outcome */
	mu_unlock();
	if (!done) {
		if (rc == CF_OK)
			rc = reply_status(resp);
		goto out;
	}
	if (rc == CF_EINVAL) {
		rc = resp_fail(resp, CF_EINVAL, "invalid key: failed to "
		    "compute combined key: %s", why);
		goto out;
	}
	if (rc != CF_OK) {
		rc = resp_fail(resp, CF_EINVAL, "unable to retrieve stored "
		    "keys: invalid key: failed to decrypt keys from storage: "
		    AUTH_FAILED);
		goto out;
	}
	if ((rc = unseal_with(kek, resp)) == CF_OK) {
		log_info("seal: unsealed");
		rc = reply_status(resp);
	}
 out:
	core_unlock();
	sodium_free(share);		/* wipes */
	sodium_free(kek);
	return rc;
}

/*
 * Authorize a token for a root-protected operation on path: a root
 * token, or a policy granting update and sudo.  Under the core lock.
 * A missing or unknown token gets Vault's bare "permission denied",
 * a policy denial its one-error list.
 */
static int
authorize_sudo(struct request *req, struct response *resp, const char *path)
{
	struct auth_ctx	*ac = NULL;
	int		 rc, sudo = 0;

	if ((rc = token_authenticate(req->token, &ac)) != CF_OK) {
		if (rc == CF_EDENIED)
			return resp_fail(resp, CF_EDENIED, "permission denied");
		return rc;
	}
	if (!ac->is_root && (acl_check(ac->acl, path, REQ_UPDATE, req->data,
	    &sudo) != CF_OK || !sudo))
		rc = resp_fail(resp, CF_EDENIED,
		    "1 error occurred:\n\t* permission denied\n\n");
	auth_ctx_free(ac);
	return rc;
}

/* Vault: only the active node seals; a standby is restarted instead. */
static int
seal_refused_on_standby(struct response *resp)
{
	resp->status = 500;
	resp->err_public = 1;
	return resp_fail(resp, CF_EINTERNAL, "vault cannot seal when in "
	    "standby mode; please restart instead");
}

static int
sys_seal(struct request *req, struct response *resp)
{
	int	 rc;

	if ((rc = need_update(req, resp)) != CF_OK)
		return rc;
	core_rdlock();
	if (core_state() != CORE_UNSEALED) {
		/* Vault: sealing a sealed node is a no-op, no token needed. */
		core_unlock();
		resp->status = 204;
		return CF_OK;
	}
	if (!core_is_active()) {
		core_unlock();
		return seal_refused_on_standby(resp);
	}
	rc = authorize_sudo(req, resp, "sys/seal");
	core_unlock();
	if (rc != CF_OK)
		return rc;
	/*
	 * Requests in flight hold the read lock: this waits for them, and
	 * the lock prefers writers, so later requests queue behind the seal
	 * and then see 503.
	 */
	core_wrlock();
	if (core_state() == CORE_UNSEALED && !core_is_active()) {
		/* Stepped down while this request waited: now a standby. */
		core_unlock();
		return seal_refused_on_standby(resp);
	}
	if (core_state() == CORE_UNSEALED) {
		core_sealed();
		log_info("seal: sealed by request %s", req->id);
	}
	core_unlock();
	resp->status = 204;
	return CF_OK;
}

/*
 * sys/step-down: without HA a no-op with no token check; sealed 503;
 * on the active node the HA thread steps down after the 204 (a standby
 * never gets here: the router forwarded the request to the active).
 */
static int
sys_step_down(struct request *req, struct response *resp)
{
	int	 rc;

	if ((rc = need_update(req, resp)) != CF_OK)
		return rc;
	if (!core_conf()->ha_enabled) {
		resp->status = 204;
		return CF_OK;
	}
	core_rdlock();
	if (core_state() != CORE_UNSEALED)
		rc = resp_fail(resp, CF_ESEALED, "Vault is sealed");
	else
		rc = authorize_sudo(req, resp, "sys/step-down");
	core_unlock();
	if (rc != CF_OK)
		return rc;
	log_info("seal: step-down requested by request %s", req->id);
	ha_step_down();
	resp->status = 204;
	return CF_OK;
}

static int
sys_key_status(struct request *req, struct response *resp)
{
	struct barrier		*b = core_barrier();
	unsigned long long	 enc, base;
	char			 ts[64];
	json_t			*o;

	if (req->op != REQ_READ) {
		resp->err_empty = 1;
		return CF_EMETHOD;
	}
	time_format_rfc3339(ts, sizeof(ts), barrier_install_time(b), 0);
	enc = barrier_encryptions(b);
	base = atomic_load(&encryptions_base);
	o = json_pack("{s:i, s:s, s:I}", "term", (int)barrier_term(b),
	    "install_time", ts, "encryptions",
	    (json_int_t)(enc > base ? enc - base : 0));
	resp->inject = 1;
	return resp_data(resp, o);
}

/* Store the keyring again, wrapped under the held root key. */
static int
store_keyring(const struct barrier *b)
{
	struct buf	 ring = BUF_INIT, ct = BUF_INIT;
	int		 rc;

	if ((rc = barrier_keyring_emit(b, &ring)) == CF_OK &&
	    (rc = barrier_key_encrypt(root_key, KEYRING_KEY, ring.data,
	    ring.len, &ct)) == CF_OK)
		rc = storage_put(core_storage(), KEYRING_KEY, ct.data, ct.len);
	buf_free(&ring);		/* wipes */
	buf_free(&ct);
	return rc;
}

/*
 * sys/rotate is a logical path in Vault, but it changes the keyring,
 * which needs the core write lock that a logical handler (run under the
 * read lock) cannot take: so it is a raw route that checks the token
 * and sudo itself, with the router's messages.
 */
static int
sys_rotate(struct request *req, struct response *resp)
{
	struct buf	 prev = BUF_INIT;
	struct barrier	*b;
	uint32_t	 term;
	int		 rc, restore_failed = 0;

	if ((rc = need_update(req, resp)) != CF_OK)
		return rc;
	core_rdlock();
	if (core_state() != CORE_UNSEALED) {
		core_unlock();
		return resp_fail(resp, CF_ESEALED, "Vault is sealed");
	}
	rc = authorize_sudo(req, resp, "sys/rotate");
	core_unlock();
	if (rc != CF_OK)
		return rc;
	/* The keyring changes: no reader may be in the barrier. */
	core_wrlock();
	if (core_state() != CORE_UNSEALED) {
		core_unlock();
		return resp_fail(resp, CF_ESEALED, "Vault is sealed");
	}
	if (!core_is_active()) {
		/* Stepped down meanwhile: a standby never writes. */
		core_unlock();
		return resp_fail(resp, CF_EUNAVAIL, "node is not active");
	}
	b = core_barrier();
	mu_lock();
	/*
	 * Keep the keyring as it was: if the new one cannot be stored, the
	 * new term must not encrypt anything, or a restart would lose it.
	 */
	if ((rc = barrier_keyring_emit(b, &prev)) == CF_OK &&
	    (rc = barrier_rotate(b, &term)) == CF_OK) {
		if ((rc = store_keyring(b)) == CF_OK) {
			atomic_store(&encryptions_base,
			    barrier_encryptions(b));
			log_info("seal: rotated to key term %u", term);
		} else if (barrier_keyring_parse(b, prev.data, prev.len) !=
		    CF_OK)
			restore_failed = 1;
	}
	mu_unlock();
	if (restore_failed) {
		/* Nothing used the new term yet: sealing loses nothing. */
		log_warnx("seal: cannot restore the keyring; sealing");
		core_sealed();
	}
	core_unlock();
	buf_free(&prev);		/* wipes */
	if (rc != CF_OK)
		return resp_fail(resp, CF_EINTERNAL, "failed to create new "
		    "encryption key: %s", cf_strerror(rc));
	resp->status = 204;
	return CF_OK;
}

/*
 * The share in the body's "key" for generate-root and rekey: given,
 * decodable, and of a possible length (prefix starts that message).
 */
static int
share_from_body(struct request *req, struct response *resp, uint8_t *share,
    size_t *len, const char *prefix)
{
	const char	*key;
	int		 rc;

	if ((rc = body_str(req, resp, "key", &key)) != CF_OK)
		return rc;
	if (key[0] == '\0')
		return resp_fail(resp, CF_EINVAL,
		    "'key' must be specified in request body as JSON");
	if ((rc = share_decode(key, share, len, resp)) != CF_OK)
		return rc;
	return share_check_len(*len, prefix, resp);
}

/*
 * Does kek open the stored root key, and is that the root key in use?
 * CF_OK, CF_EDENIED, or a storage error.  Under seal_mu.
 */
static int
kek_opens_root(const uint8_t *kek)
{
	struct buf	 ct = BUF_INIT, root = BUF_INIT;
	int		 rc;

	if ((rc = storage_get(core_storage(), ROOT_KEY_KEY, &ct)) != CF_OK)
		goto out;
	if (barrier_key_decrypt(kek, ROOT_KEY_KEY, ct.data, ct.len, &root) !=
	    CF_OK || root.len != KEY_LEN || root_key == NULL ||
	    sodium_memcmp(root.data, root_key, KEY_LEN) != 0)
		rc = CF_EDENIED;
 out:
	buf_free(&ct);
	buf_free(&root);		/* wipes */
	return rc;
}

/*
 * Offer a share to a started collection whose nonce the client echoes:
 * what names the operation in Vault's nonce text, repeat in its text
 * for a share given twice.  *step and *why as shares_offer's; a
 * failure answered here leaves *step short of SHARES_COMBINED.
 */
static int
offer_share(struct response *resp, struct shares *s, const char *what,
    const char *repeat, const char *nonce, const uint8_t *share, size_t len,
    int goal, uint8_t *kek, enum shares_step *step, const char **why)
{
	int	 rc;

	*step = SHARES_MORE;
	if (strcmp(nonce, s->nonce) != 0)
		return resp_fail(resp, CF_EINVAL, "incorrect nonce supplied; "
		    "nonce for this %s operation is \"%s\"", what, s->nonce);
	if ((rc = shares_offer(s, share, len, goal, kek, step, why)) ==
	    CF_OK && *step == SHARES_REPEAT)
		rc = resp_fail(resp, CF_EINVAL, "given key has already been "
		    "provided during this %s operation", repeat);
	return rc;
}

/*
 * The generate-root status object.  otp_length is the length an OTP
 * must have (GET and the attempt's start) or 0 (update replies), as
 * Vault answers.  Under seal_mu.
 */
static int
genroot_status(struct response *resp, const char *otp, int otp_length,
    const char *encoded, int complete)
{
	json_t	*o;

	o = json_pack("{s:s, s:b, s:i, s:i, s:b, s:s, s:s, s:s, s:s, s:i}",
	    "nonce", genroot_att.nonce, "started", genroot_att.started,
	    "progress", complete ? cfg_t : genroot_att.n, "required", cfg_t,
	    "complete", complete, "encoded_token", encoded,
	    "encoded_root_token", encoded, "pgp_fingerprint", "",
	    "otp", otp, "otp_length", otp_length);
	resp->raw = 1;
	resp->wipe = 1;
	return resp_data(resp, o);
}

static void
random_base62(char *out, size_t len)
{
	static const char	 alnum[] = "0123456789"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	size_t			 i;

	for (i = 0; i < len; i++)
		out[i] = alnum[randombytes_uniform(62)];
	out[len] = '\0';
}

/*
 * Start a root generation.  Vault 1.14 takes an OTP of exactly 28
 * characters; clients of Vault 1.0-1.9 (and their tests) send 26, and
 * get a 26-character "s." token.  Under seal_mu, unsealed.
 */
static int
genroot_start(const char *otp, struct response *resp)
{
	int	 rc, gen = otp[0] == '\0';

	if (genroot_att.started)
		return resp_fail(resp, CF_EINVAL,
		    "root generation already in progress");
	if ((rc = shares_ready(&genroot_att)) != CF_OK)
		return rc;
	if ((genroot_otp = sodium_malloc(OTP_LEN + 1)) == NULL)
		return CF_ENOMEM;
	if (gen)
		random_base62(genroot_otp, OTP_LEN);
	else
		strlcpy(genroot_otp, otp, OTP_LEN + 1);
	if ((rc = shares_start(&genroot_att)) != CF_OK)
		return rc;
	log_info("seal: root generation started");
	return genroot_status(resp, gen ? genroot_otp : "", OTP_LEN, "", 0);
}

static int
sys_genroot_attempt(struct request *req, struct response *resp)
{
	const char	*otp = "", *pgp = "";
	size_t		 len;
	int		 rc, st;

	switch (req->op) {
	case REQ_READ:
	case REQ_DELETE:
		break;
	case REQ_UPDATE:
		/* An empty body is {} here, unlike the other raw handlers. */
		if ((rc = body_str(req, resp, "otp", &otp)) != CF_OK ||
		    (rc = body_str(req, resp, "pgp_key", &pgp)) != CF_OK)
			return rc;
		len = strlen(otp);
		if (len != 0 && len != OTP_LEN && len != OTP_LEN_OLD)
			return resp_fail(resp, CF_EINVAL,
			    "OTP string is wrong length");
		if (len == 0 && pgp[0] != '\0')
			return resp_fail(resp, CF_EINVAL, "pgp_key is not "
			    "supported by coffer; use an OTP");
		break;
	default:
		resp->err_empty = 1;
		return CF_EMETHOD;
	}
	core_rdlock();
	st = core_state();
	if (st != CORE_UNSEALED) {
		core_unlock();
		if (req->op == REQ_READ && st == CORE_UNINITIALIZED)
			return resp_fail(resp, CF_EINVAL,
			    "server is not yet initialized");
		return resp_fail(resp, CF_ESEALED, "Vault is sealed");
	}
	mu_lock();
	switch (req->op) {
	case REQ_READ:
		rc = genroot_status(resp, "", OTP_LEN, "", 0);
		break;
	case REQ_DELETE:
		genroot_reset();
		resp->status = 204;
		rc = CF_OK;
		break;
	default:
		if ((rc = genroot_start(otp, resp)) != CF_OK &&
		    !genroot_att.started) {
			sodium_free(genroot_otp);
			genroot_otp = NULL;
		}
		break;
	}
	mu_unlock();
	core_unlock();
	return rc;
}

/*
 * Mint the new root token, as long as the OTP ("hvs." + 24 for 28
 * characters, "s." + 24 for 26), and encode it: raw standard base64 of
 * token XOR OTP.  Under seal_mu.
 */
static int
genroot_finish(struct response *resp)
{
	char	*id = NULL, *token = NULL, *x = NULL, *enc = NULL;
	size_t	 len = strlen(genroot_otp), i, elen;
	int	 rc;

	elen = sodium_base64_ENCODED_LEN(len,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	if ((id = sodium_malloc(len + 1)) == NULL ||
	    (token = sodium_malloc(TOKEN_MAX_LEN + 1)) == NULL ||
	    (x = sodium_malloc(len)) == NULL ||
	    (enc = sodium_malloc(elen)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	if (len == OTP_LEN) {
		memcpy(id, "hvs.", 4);
		random_base62(id + 4, len - 4);
	} else {
		memcpy(id, "s.", 2);
		random_base62(id + 2, len - 2);
	}
	if ((rc = token_create_root(id, "auth/token/root", token)) != CF_OK)
		goto out;
	if (strlen(token) != len) {
		rc = CF_EINTERNAL;
		goto out;
	}
	for (i = 0; i < len; i++)
		x[i] = token[i] ^ genroot_otp[i];
	sodium_bin2base64(enc, elen, (const unsigned char *)x, len,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	rc = genroot_status(resp, "", 0, enc, 1);
	log_info("seal: a new root token was generated");
 out:
	sodium_free(id);		/* each wipes */
	sodium_free(token);
	sodium_free(x);
	sodium_free(enc);
	return rc;
}

static int
sys_genroot_update(struct request *req, struct response *resp)
{
	uint8_t		*share = NULL, *kek = NULL;
	size_t		 len;
	const char	*nonce, *why;
	enum shares_step step;
	int		 rc, st;

	if ((rc = need_update(req, resp)) != CF_OK ||
	    (rc = need_body(req, resp)) != CF_OK)
		return rc;
	if ((share = sodium_malloc(SHARE_MAX)) == NULL ||
	    (kek = sodium_malloc(KEY_LEN)) == NULL) {
		sodium_free(share);
		return CF_ENOMEM;
	}
	if ((rc = body_str(req, resp, "nonce", &nonce)) != CF_OK ||
	    (rc = share_from_body(req, resp, share, &len, "invalid key: ")) !=
	    CF_OK)
		goto out_free;
	core_rdlock();
	mu_lock();
	st = core_state();
	if (st == CORE_UNINITIALIZED) {
		rc = resp_fail(resp, CF_EINVAL, "Vault is not initialized");
		goto out;
	}
	if (st != CORE_UNSEALED) {
		rc = resp_fail(resp, CF_ESEALED, "Vault is sealed");
		goto out;
	}
	if (!genroot_att.started) {
		rc = resp_fail(resp, CF_EINVAL, "no root generation in progress");
		goto out;
	}
	/* The shares are spent whatever happens; the attempt stays. */
	if ((rc = offer_share(resp, &genroot_att, "root generation",
	    "generation", nonce, share, len, cfg_t, kek, &step, &why)) !=
	    CF_OK && step != SHARES_COMBINED)
		goto out;
	if (step == SHARES_MORE) {
		rc = genroot_status(resp, "", 0, "", 0);
		goto out;
	}
	if (rc == CF_EINVAL) {
		rc = resp_fail(resp, CF_EINVAL, "failed to compute root key: "
		    "%s", why);
		goto out;
	}
	if (rc == CF_OK)
		rc = kek_opens_root(kek);
	if (rc == CF_EDENIED) {
		rc = resp_fail(resp, CF_EINVAL, "root generation aborted: "
		    "root key verification failed: " AUTH_FAILED);
		goto out;
	}
	if (rc != CF_OK)
		goto out;
	if ((rc = genroot_finish(resp)) == CF_OK)
		genroot_reset();
 out:
	mu_unlock();
	core_unlock();
 out_free:
	sodium_free(share);		/* wipes */
	sodium_free(kek);
	return rc;
}

/* The rekey status object.  Under seal_mu. */
static int
rekey_status(struct response *resp)
{
	json_t	*o;

	o = json_pack("{s:s, s:b, s:i, s:i, s:i, s:i, s:n, s:b, s:b}",
	    "nonce", rekey_att.nonce, "started", rekey_att.started,
	    "t", rekey_t, "n", rekey_n, "progress", rekey_att.n,
	    "required", cfg_t, "pgp_fingerprints", "backup", 0,
	    "verification_required", rekey_verify);
	if (o != NULL && verify_att.nonce[0] != '\0')
		json_object_set_new(o, "verification_nonce",
		    json_string(verify_att.nonce));
	resp->raw = 1;
	return resp_data(resp, o);
}

/*
 * Vault answers rekey requests on a sealed node from its standby check:
 * without HA, 503 "node is not active"; with HA, 503 "Vault is sealed".
 */
static int
rekey_precheck(struct response *resp)
{
	if (core_is_active())
		return CF_OK;
	/* A standby that was active when the router looked. */
	if (core_state() == CORE_UNSEALED)
		return resp_fail(resp, CF_EUNAVAIL, "node is not active");
	return resp_fail(resp, CF_EUNAVAIL, "%s", core_conf()->ha_enabled ?
	    "Vault is sealed" : "node is not active");
}

/* Start a rekey from the body of PUT sys/rekey/init.  Under seal_mu. */
static int
rekey_start(struct request *req, struct response *resp)
{
	long long	 n, t, stored;
	size_t		 npgp;
	int		 rc, backup, verify;

	if ((rc = need_body(req, resp)) != CF_OK ||
	    (rc = body_int(req, resp, "secret_shares", &n)) != CF_OK ||
	    (rc = body_int(req, resp, "secret_threshold", &t)) != CF_OK ||
	    (rc = body_int(req, resp, "stored_shares", &stored)) != CF_OK ||
	    (rc = body_strlist(req, resp, "pgp_keys", &npgp)) != CF_OK ||
	    (rc = body_bool(req, resp, "backup", &backup)) != CF_OK ||
	    (rc = body_bool(req, resp, "require_verification", &verify)) !=
	    CF_OK)
		return rc;
	if (backup && npgp == 0)
		return resp_fail(resp, CF_EINVAL, "cannot request a backup of "
		    "the new keys without providing PGP keys for encryption");
	if (npgp > 0 && (long long)npgp != n)
		return resp_fail(resp, CF_EINVAL,
		    "incorrect number of PGP keys for rekey");
	if (t > n)
		return resp_fail(resp, CF_EINVAL,
		    "provided threshold greater than the total shares");
	if ((rc = check_shares(n, t, "invalid rekey seal configuration: ",
	    resp)) != CF_OK)
		return rc;
	if (rekey_att.started)
		return resp_fail(resp, CF_EINVAL, "rekey already in progress");
	if (npgp > 0)
		return resp_fail(resp, CF_EINVAL, "pgp_keys are not supported "
		    "by coffer; omit them to receive the shares in clear");
	if ((rc = shares_start(&rekey_att)) != CF_OK)
		return rc;
	rekey_n = (int)n;
	rekey_t = (int)t;
	rekey_verify = verify;
	log_info("seal: rekey started: %d shares, threshold %d", rekey_n,
	    rekey_t);
	return rekey_status(resp);
}

static int
sys_rekey_init(struct request *req, struct response *resp)
{
	int	 rc;

	core_rdlock();
	mu_lock();
	if ((rc = rekey_precheck(resp)) != CF_OK)
		goto out;
	switch (req->op) {
	case REQ_READ:
		rc = rekey_status(resp);
		break;
	case REQ_DELETE:
		rekey_reset();
		resp->status = 204;
		break;
	case REQ_UPDATE:
		rc = rekey_start(req, resp);
		break;
	default:
		resp->err_empty = 1;
		rc = CF_EMETHOD;
	}
 out:
	mu_unlock();
	core_unlock();
	return rc;
}

/*
 * Commit a rekey: a new root key wrapped under the new KEK, and the
 * keyring under the new root key, stored with the new seal
 * configuration in one batch; from then on only the new shares open
 * the node.  The data keys do not change.  Under the core write lock
 * and seal_mu.
 */
static int
rekey_commit(const uint8_t *kek)
{
	uint8_t	*root;
	int	 rc;

	if ((root = sodium_malloc(KEY_LEN)) == NULL)
		return CF_ENOMEM;
	randombytes_buf(root, KEY_LEN);
	if ((rc = store_keys(kek, root, core_barrier(), rekey_n, rekey_t)) ==
	    CF_OK && (rc = hold_root_key(root)) == CF_OK) {
		cfg_n = rekey_n;
		cfg_t = rekey_t;
		log_info("seal: rekeyed to %d shares, threshold %d", cfg_n,
		    cfg_t);
	}
	sodium_free(root);		/* wipes */
	return rc;
}

/*
 * The current shares were accepted: make the new KEK and its shares,
 * and either commit now or, with verification, keep the KEK until the
 * new shares come back.  Under seal_mu.
 */
static int
rekey_finish(struct response *resp)
{
	uint8_t		*kek = NULL, *shares = NULL;
	size_t		 share_len;
	json_t		*o = NULL;
	int		 rc;

	if ((kek = sodium_malloc(KEY_LEN)) == NULL ||
	    (shares = sodium_malloc((size_t)rekey_n * SHARE_MAX)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	randombytes_buf(kek, KEY_LEN);
	if ((rc = make_shares(kek, rekey_n, rekey_t, shares, &share_len)) !=
	    CF_OK)
		goto out;
	if ((o = json_pack("{s:s, s:b, s:n, s:b, s:b}", "nonce",
	    rekey_att.nonce, "complete", 1, "pgp_fingerprints", "backup", 0,
	    "verification_required", rekey_verify)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	if ((rc = emit_shares(o, shares, SHARE_MAX, rekey_n, share_len)) !=
	    CF_OK)
		goto out;
	if (rekey_verify) {
		if ((rc = shares_ready(&verify_att)) != CF_OK)
			goto out;
		shares_drop(&verify_att);
		shares_renonce(&verify_att);
		if (json_object_set_new(o, "verification_nonce",
		    json_string(verify_att.nonce)) != 0) {
			rc = CF_ENOMEM;
			goto out;
		}
		rekey_kek = kek;
		kek = NULL;
	} else if ((rc = rekey_commit(kek)) != CF_OK)
		goto out;
	resp->raw = 1;
	resp->wipe = 1;
	rc = resp_data(resp, o);
	o = NULL;
 out:
	json_decref(o);			/* wiping allocator */
	sodium_free(kek);
	sodium_free(shares);
	return rc;
}

static int
sys_rekey_update(struct request *req, struct response *resp)
{
	uint8_t		*share = NULL, *kek = NULL;
	size_t		 len;
	const char	*nonce, *why;
	enum shares_step step;
	int		 rc;

	if ((share = sodium_malloc(SHARE_MAX)) == NULL ||
	    (kek = sodium_malloc(KEY_LEN)) == NULL) {
		sodium_free(share);
		return CF_ENOMEM;
	}
	/* The root key and keyring may be rewrapped: exclusive. */
	core_wrlock();
	mu_lock();
	if ((rc = rekey_precheck(resp)) != CF_OK ||
	    (rc = need_body(req, resp)) != CF_OK ||
	    (rc = body_str(req, resp, "nonce", &nonce)) != CF_OK ||
	    (rc = share_from_body(req, resp, share, &len, "")) != CF_OK)
		goto out;
	if (!rekey_att.started) {
		rc = resp_fail(resp, CF_EINVAL, "no barrier rekey in progress");
		goto out;
	}
	if (rekey_kek != NULL) {
		rc = resp_fail(resp, CF_EINVAL, "rekey operation already "
		    "finished; verification must be performed; nonce for the "
		    "verification operation is \"%s\"", verify_att.nonce);
		goto out;
	}
	/* Vault's repeat text, "generation" included. */
	if ((rc = offer_share(resp, &rekey_att, "rekey", "generation", nonce,
	    share, len, cfg_t, kek, &step, &why)) != CF_OK &&
	    step != SHARES_COMBINED)
		goto out;
	if (step == SHARES_MORE) {
		rc = rekey_status(resp);
		goto out;
	}
	if (rc == CF_EINVAL) {
		rc = resp_fail(resp, CF_EINVAL, "failed to compute root key: "
		    "%s", why);
		goto out;
	}
	if (rc == CF_OK)
		rc = kek_opens_root(kek);
	if (rc == CF_EDENIED) {
		rc = resp_fail(resp, CF_EINVAL, "failed to read root key: "
		    "failed to decrypt keys from storage: " AUTH_FAILED);
		goto out;
	}
	if (rc != CF_OK)
		goto out;
	if ((rc = rekey_finish(resp)) == CF_OK && !rekey_verify)
		rekey_reset();
 out:
	mu_unlock();
	core_unlock();
	sodium_free(share);		/* wipes */
	sodium_free(kek);
	return rc;
}

/* The verification status object.  Under seal_mu. */
static int
verify_status(struct response *resp)
{
	json_t	*o;

	o = json_pack("{s:s, s:b, s:i, s:i, s:i}", "nonce", verify_att.nonce,
	    "started", rekey_kek != NULL, "t", rekey_t, "n", rekey_n,
	    "progress", verify_att.n);
	resp->raw = 1;
	return resp_data(resp, o);
}

/* Take one of the new shares back; commit when enough agree. */
static int
verify_update(struct request *req, struct response *resp)
{
	uint8_t		*share = NULL, *kek = NULL;
	size_t		 len;
	const char	*nonce, *why;
	enum shares_step step;
	json_t		*o;
	int		 rc;

	if ((share = sodium_malloc(SHARE_MAX)) == NULL ||
	    (kek = sodium_malloc(KEY_LEN)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	if ((rc = need_body(req, resp)) != CF_OK ||
	    (rc = body_str(req, resp, "nonce", &nonce)) != CF_OK ||
	    (rc = share_from_body(req, resp, share, &len, "")) != CF_OK)
		goto out;
	if (!rekey_att.started) {
		rc = resp_fail(resp, CF_EINVAL, "no rekey in progress");
		goto out;
	}
	if (rekey_kek == NULL) {
		rc = resp_fail(resp, CF_EINVAL,
		    "no rekey verification in progress");
		goto out;
	}
	if ((rc = offer_share(resp, &verify_att, "verify", "verify", nonce,
	    share, len, rekey_t, kek, &step, &why)) != CF_OK &&
	    step != SHARES_COMBINED)
		goto out;
	if (step == SHARES_MORE) {
		rc = verify_status(resp);
		goto out;
	}
	if (rc == CF_OK && sodium_memcmp(kek, rekey_kek, KEY_LEN) != 0)
		rc = CF_EDENIED;
	if (rc != CF_OK) {
		/* A failed round gets a fresh nonce, as in Vault. */
		shares_renonce(&verify_att);
		if (rc == CF_EINVAL)
			rc = resp_fail(resp, CF_EINVAL, "failed to compute "
			    "key for verification: %s", why);
		else
			rc = resp_fail(resp, CF_EINVAL, "rekey verification "
			    "failed; incorrect key shares supplied");
		goto out;
	}
	if ((rc = rekey_commit(rekey_kek)) != CF_OK)
		goto out;
	o = json_pack("{s:s, s:b}", "nonce", verify_att.nonce, "complete", 1);
	resp->raw = 1;
	rc = resp_data(resp, o);
	rekey_reset();
 out:
	sodium_free(share);		/* wipes */
	sodium_free(kek);
	return rc;
}

/*
 * Verification: the new shares come back before the rekey is committed,
 * so a rekey whose shares were lost in transit changes nothing.
 */
static int
sys_rekey_verify(struct request *req, struct response *resp)
{
	int	 rc;

	core_wrlock();
	mu_lock();
	if ((rc = rekey_precheck(resp)) != CF_OK)
		goto out;
	switch (req->op) {
	case REQ_DELETE:
		/* Start the verification over, with a new nonce. */
		if (rekey_att.started) {
			shares_drop(&verify_att);
			shares_renonce(&verify_att);
		}
		/* FALLTHROUGH */
	case REQ_READ:
		if (!rekey_att.started)
			rc = resp_fail(resp, CF_EINVAL,
			    "no rekey configuration found");
		else
			rc = verify_status(resp);
		break;
	case REQ_UPDATE:
		rc = verify_update(req, resp);
		break;
	default:
		resp->err_empty = 1;
		rc = CF_EMETHOD;
	}
 out:
	mu_unlock();
	core_unlock();
	return rc;
}

/*
 * Unseal hook: the cluster's name and id, made at the first unseal and
 * kept behind the barrier.  A cluster_name in the configuration wins
 * over the stored one and is stored, as Vault does.
 */
static int
load_cluster(void)
{
	struct buf	 b = BUF_INIT;
	json_t		*j = NULL;
	json_error_t	 e;
	char		 id[REQ_ID_LEN + 1], gen[64];
	const char	*cn = core_conf()->cluster_name, *name, *sid;
	uint8_t		 r[4];
	int		 rc;

	rc = core_get(CLUSTER_KEY, &b);
	if (rc == CF_OK && (j = json_loadb(b.data, b.len, 0, &e)) == NULL)
		rc = CF_EINTERNAL;
	if (rc != CF_OK && rc != CF_ENOTFOUND)
		goto out;
	name = j != NULL ? json_string_value(json_object_get(j, "name")) :
	    NULL;
	sid = j != NULL ? json_string_value(json_object_get(j, "id")) : NULL;
	if (cn != NULL && cn[0] == '\0')
		cn = NULL;
	if (name == NULL || sid == NULL || (cn != NULL &&
	    strcmp(cn, name) != 0)) {
		if (sid == NULL) {
			uuid4_random(id);
			sid = id;
		}
		if (cn == NULL && name == NULL) {
			randombytes_buf(r, sizeof(r));
			snprintf(gen, sizeof(gen),
			    "vault-cluster-%02x%02x%02x%02x", r[0], r[1], r[2],
			    r[3]);
			cn = gen;
		}
		if (cn == NULL)
			cn = name;
		json_decref(j);
		if ((j = json_pack("{s:s, s:s}", "name", cn, "id", sid)) ==
		    NULL) {
			rc = CF_ENOMEM;
			goto out;
		}
		buf_reset(&b);
		if ((rc = jsonutil_emit(j, &b)) != CF_OK ||
		    (rc = core_put(CLUSTER_KEY, b.data, b.len)) != CF_OK)
			goto out;
		name = json_string_value(json_object_get(j, "name"));
		sid = json_string_value(json_object_get(j, "id"));
	}
	core_set_cluster(name, sid);
	rc = CF_OK;
 out:
	json_decref(j);
	buf_free(&b);
	return rc;
}

/*
 * Unseal hook: the cluster's identity as stored, read-only (a standby
 * shows it in sys/health; the active node makes it if missing).
 */
static int
peek_cluster(void)
{
	struct buf	 b = BUF_INIT;
	json_t		*j = NULL;
	json_error_t	 e;
	const char	*name, *sid;
	int		 rc;

	if ((rc = core_get(CLUSTER_KEY, &b)) == CF_ENOTFOUND)
		rc = CF_OK;
	else if (rc == CF_OK) {
		if ((j = json_loadb(b.data, b.len, 0, &e)) == NULL)
			rc = CF_EINTERNAL;
		else if ((name = json_string_value(json_object_get(j,
		    "name"))) != NULL && (sid = json_string_value(
		    json_object_get(j, "id"))) != NULL)
			core_set_cluster(name, sid);
	}
	json_decref(j);
	buf_free(&b);
	return rc;
}

/*
 * Become-active hook, first of all: another node may have rotated the
 * keyring, rekeyed (a new root key) or changed the shares while this
 * one was standby.  Read the seal configuration and the keyring again;
 * if the held root key no longer opens it, the new root key is in
 * ROOT_KEY_T1_KEY under keyring term 1, which this node holds.  Under
 * the core write lock (the keyring changes).
 */
static int
reload_keys(void)
{
	struct storage	*st = core_storage();
	struct barrier	*b = core_barrier();
	struct buf	 ct = BUF_INIT, ring = BUF_INIT, root = BUF_INIT;
	int		 n, t, present, rc;

	if ((rc = read_seal_config(&n, &t, &present)) != CF_OK)
		goto out;
	if ((rc = storage_get(st, KEYRING_KEY, &ct)) != CF_OK)
		goto out;
	mu_lock();
	if (present) {
		cfg_n = n;
		cfg_t = t;
	}
	rc = barrier_key_decrypt(root_key, KEYRING_KEY, ct.data, ct.len,
	    &ring);
	mu_unlock();
	if (rc != CF_OK) {
		if ((rc = storage_get(st, ROOT_KEY_T1_KEY, &root)) != CF_OK ||
		    (rc = barrier_decrypt(b, ROOT_KEY_T1_KEY, root.data,
		    root.len, &ring)) != CF_OK || ring.len != KEY_LEN) {
			log_warnx("seal: the stored keyring does not open with "
			    "the keys this node holds");
			rc = CF_EINTERNAL;
			goto out;
		}
		buf_reset(&root);
		if ((rc = buf_set(&root, ring.data, KEY_LEN)) != CF_OK)
			goto out;
		mu_lock();
		if ((rc = hold_root_key((const uint8_t *)root.data)) == CF_OK)
			rc = barrier_key_decrypt(root_key, KEYRING_KEY,
			    ct.data, ct.len, &ring);
		mu_unlock();
		if (rc != CF_OK)
			goto out;
		log_info("seal: the root key changed on another node");
	}
	if ((rc = barrier_keyring_parse(b, ring.data, ring.len)) == CF_OK)
		atomic_store(&encryptions_base, barrier_encryptions(b));
 out:
	buf_free(&ct);
	buf_free(&ring);		/* each wipes */
	buf_free(&root);
	return rc;
}

/* Leave-active hook: share attempts belong to the active node. */
static int
drop_attempts(void)
{
	mu_lock();
	genroot_reset();
	rekey_reset();
	mu_unlock();
	return CF_OK;
}

int
seal_dev_init(const char *root_token_id, struct buf *key_b64,
    struct buf *root_token)
{
	struct response	 resp;
	uint8_t		*kek = NULL;
	char		*token = NULL, *b64 = NULL;
	size_t		 cap = sodium_base64_ENCODED_LEN(KEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
	int		 rc;

	resp_init(&resp);
	if ((kek = sodium_malloc(KEY_LEN)) == NULL ||
	    (token = sodium_malloc(TOKEN_MAX_LEN + 1)) == NULL ||
	    (b64 = sodium_malloc(cap)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	core_wrlock();
	if ((rc = load_seal_config()) == CF_OK) {
		if (core_state() != CORE_UNINITIALIZED)
			rc = CF_EINVAL;
		else
			rc = do_init(1, 1, root_token_id, &resp, kek, token);
	}
	core_unlock();
	if (rc != CF_OK)
		goto out;
	sodium_bin2base64(b64, cap, kek, KEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
	if ((rc = buf_puts(key_b64, b64)) == CF_OK)
		rc = buf_puts(root_token, token);
 out:
	resp_fini(&resp);
	sodium_free(kek);		/* each wipes */
	sodium_free(token);
	sodium_free(b64);
	return rc;
}

void
seal_register(void)
{
	router_raw("sys/init", 0, sys_init);
	router_raw("sys/unseal", 0, sys_unseal);
	router_raw("sys/seal-status", 0, sys_seal_status);
	router_raw("sys/seal", 0, sys_seal);
	router_raw("sys/step-down", 0, sys_step_down);
	router_raw("sys/rotate", 0, sys_rotate);
	router_raw("sys/generate-root/attempt", 0, sys_genroot_attempt);
	router_raw("sys/generate-root/update", 0, sys_genroot_update);
	router_raw("sys/rekey/init", 0, sys_rekey_init);
	router_raw("sys/rekey/update", 0, sys_rekey_update);
	router_raw("sys/rekey/verify", 0, sys_rekey_verify);
	sys_route("key-status", 0, sys_key_status);
	core_on_unseal(peek_cluster);
	core_on_seal(seal_forget);
	core_on_active(reload_keys);
	core_on_active(load_cluster);
	core_on_standby(drop_attempts);
}

int
seal_load(void)
{
	return load_seal_config();
}
