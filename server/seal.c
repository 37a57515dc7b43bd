/*
 * seal.c -- the keys that protect everything: init, unseal, seal, key
 * rotation, rekey and generate-root.
 *
 * Key hierarchy.  Shamir shares combine to the unseal key (KEK); the KEK
 * decrypts the root key stored at "core/root-key"; the root key decrypts
 * the keyring at "core/keyring"; the keyring's terms encrypt every other
 * value (barrier.c).  The seal configuration at "core/seal-config" is
 * the only clear-text record, and it holds no secret.
 *
 * Memory.  Submitted shares, the KEK, the root key (kept while unsealed,
 * for sys/rotate and rekey), generated shares and root tokens being
 * returned live in sodium_malloc regions and are wiped on every path
 * that drops them.  Response JSON carrying secrets is freed through
 * jansson's wiping allocator, and response bodies through struct buf.
 *
 * Locking.  seal_mu guards the three share-collecting attempts (unseal,
 * generate-root, rekey) and the cached seal configuration; it nests
 * inside the core lock.  State changes take the core write lock, so a
 * seal waits for requests in flight and later requests see 503.
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
#include "log.h"
#include "req.h"
#include "router.h"
#include "seal.h"
#include "shamir.h"
#include "storage.h"
#include "sys.h"
#include "token.h"

#define SEAL_CONFIG_KEY		"core/seal-config"
#define ROOT_KEY_KEY		"core/root-key"
#define KEYRING_KEY		"core/keyring"
#define CLUSTER_KEY		"core/cluster"

#define KEY_LEN			32		/* KEK and root key */
#define SHARE_MAX		33		/* 32 key bytes + x */
#define SHARE_MIN		16
#define OTP_LEN			28
#define OTP_LEN_OLD		26

/* Shares collected towards one goal, in one sodium_malloc region. */
struct attempt {
	uint8_t		*shares;		/* SHAMIR_MAX_SHARES * SHARE_MAX */
	size_t		 lens[SHAMIR_MAX_SHARES];
	int		 n;
	char		 nonce[REQ_ID_LEN + 1];
	int		 started;
};

static pthread_mutex_t	 seal_mu = PTHREAD_MUTEX_INITIALIZER;
static int		 cfg_n, cfg_t;		/* cached seal config */
static struct attempt	 unseal_att, genroot_att, rekey_att;
static uint8_t		*root_key;		/* while unsealed */
static char		*genroot_otp;		/* sodium_malloc */
static int		 rekey_n, rekey_t;
static int		 rekey_verify;		/* require_verification */
static uint8_t		*rekey_kek;		/* new KEK awaiting verification */
static struct attempt	 verify_att;		/* new shares being verified */

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

static void
attempt_clear(struct attempt *a)
{
	if (a->shares != NULL)
		sodium_memzero(a->shares, SHAMIR_MAX_SHARES * SHARE_MAX);
	memset(a->lens, 0, sizeof(a->lens));
	a->n = 0;
	a->nonce[0] = '\0';
	a->started = 0;
}

static int
attempt_ready(struct attempt *a)
{
	if (a->shares == NULL &&
	    (a->shares = sodium_malloc(SHAMIR_MAX_SHARES * SHARE_MAX)) == NULL)
		return CF_ENOMEM;
	return CF_OK;
}

/*
 * Add a share unless an identical one is held (compared in constant
 * time).  *dup says it was a repeat.
 */
static int
attempt_add(struct attempt *a, const uint8_t *share, size_t len, int *dup)
{
	int	 i, rc;

	*dup = 0;
	if ((rc = attempt_ready(a)) != CF_OK)
		return rc;
	for (i = 0; i < a->n; i++)
		if (a->lens[i] == len && sodium_memcmp(a->shares +
		    (size_t)i * SHARE_MAX, share, len) == 0) {
			*dup = 1;
			return CF_OK;
		}
	if (a->n == SHAMIR_MAX_SHARES)
		return CF_EINVAL;
	memcpy(a->shares + (size_t)a->n * SHARE_MAX, share, len);
	a->lens[a->n++] = len;
	return CF_OK;
}

/*
 * Combine the attempt's shares into kek (KEY_LEN bytes of sodium_malloc
 * memory).  With one share it is the key itself.
 */
static int
attempt_combine(const struct attempt *a, uint8_t *kek, const char **why)
{
	const uint8_t	*parts[SHAMIR_MAX_SHARES];
	int		 i;

	*why = NULL;
	if (a->n == 1) {
		if (a->lens[0] != KEY_LEN) {
			*why = "invalid key: key must be 32 bytes";
			return CF_EINVAL;
		}
		memcpy(kek, a->shares, KEY_LEN);
		return CF_OK;
	}
	for (i = 0; i < a->n; i++) {
		if (a->lens[i] != KEY_LEN + 1) {
			*why = "invalid key: failed to compute combined key: "
			    "all parts must be the same length";
			return CF_EINVAL;
		}
		parts[i] = a->shares + (size_t)i * SHARE_MAX;
	}
	if (shamir_combine(parts, (size_t)a->n, KEY_LEN + 1, kek) != CF_OK) {
		*why = "invalid key: failed to compute combined key: "
		    "duplicate part detected";
		return CF_EINVAL;
	}
	return CF_OK;
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
 * Vault's rule: hex if it decodes to 16..33 bytes, else padded standard
 * base64; then the length check.
 */
static int
decode_share(const char *s, uint8_t *out, size_t *len, struct response *resp)
{
	uint8_t	 tmp[SHARE_MAX + 64];
	size_t	 slen = strlen(s), n = 0;
	int	 rc = CF_OK;

	if (slen % 2 == 0 && slen / 2 <= sizeof(tmp) &&
	    sodium_hex2bin(tmp, sizeof(tmp), s, slen, NULL, &n, NULL) == 0 &&
	    n == slen / 2 && n >= SHARE_MIN && n <= SHARE_MAX)
		goto ok;
	if (slen > ((sizeof(tmp) + 2) / 3) * 4 ||
	    sodium_base642bin(tmp, sizeof(tmp), s, slen, NULL, &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0) {
		rc = resp_fail(resp, CF_EINVAL,
		    "'key' must be a valid hex or base64 string");
		goto out;
	}
	if (n < SHARE_MIN) {
		rc = resp_fail(resp, CF_EINVAL,
		    "invalid key: key is shorter than minimum 16 bytes");
		goto out;
	}
	if (n > SHARE_MAX) {
		rc = resp_fail(resp, CF_EINVAL,
		    "invalid key: key is longer than maximum 33 bytes");
		goto out;
	}
 ok:
	memcpy(out, tmp, n);
	*len = n;
 out:
	sodium_memzero(tmp, sizeof(tmp));
	return rc;
}

/* Raw handlers decode a JSON body; an empty one is Go's "EOF". */
static int
need_body(struct request *req, struct response *resp)
{
	if (req->body_empty)
		return resp_fail(resp, CF_EINVAL, "EOF");
	return CF_OK;
}

static int
method_is(struct request *req, struct response *resp, int a, int b)
{
	if (req->op == a || req->op == b)
		return CF_OK;
	resp->err_empty = 1;
	return CF_EMETHOD;
}

/* Read the clear seal configuration into cfg_n and cfg_t. */
static int
load_seal_config(void)
{
	struct buf	 b = BUF_INIT;
	json_t		*j;
	json_error_t	 e;
	int		 rc;

	rc = storage_get(core_storage(), SEAL_CONFIG_KEY, &b);
	if (rc == CF_ENOTFOUND) {
		cfg_n = cfg_t = 0;
		return CF_OK;
	}
	if (rc != CF_OK)
		return rc;
	if ((j = json_loadb(b.data, b.len, 0, &e)) == NULL) {
		buf_free(&b);
		return CF_EINTERNAL;
	}
	cfg_n = (int)json_integer_value(json_object_get(j, "secret_shares"));
	cfg_t = (int)json_integer_value(json_object_get(j,
	    "secret_threshold"));
	json_decref(j);
	buf_free(&b);
	return CF_OK;
}

static int
store_seal_config_op(int n, int t, struct buf *out)
{
	json_t	*j;
	int	 rc;

	j = json_pack("{s:s, s:i, s:i, s:n, s:s, s:b, s:i}", "type", "shamir",
	    "secret_shares", n, "secret_threshold", t, "pgp_keys", "nonce",
	    "", "backup", 0, "stored_shares", 1);
	if (j == NULL)
		return CF_ENOMEM;
	rc = json_emit(j, out);
	json_decref(j);
	return rc;
}

/* The seal-status object, under at least the core read lock. */
static json_t *
status_object(void)
{
	int	 st = core_state();
	json_t	*o;

	mu_lock();
	o = json_pack("{s:s, s:b, s:b, s:i, s:i, s:i, s:s, s:s, s:s, s:b}",
	    "type", "shamir",
	    "initialized", st != CORE_UNINITIALIZED,
	    "sealed", st != CORE_UNSEALED,
	    "t", cfg_t, "n", cfg_n,
	    "progress", st == CORE_SEALED ? unseal_att.n : 0,
	    "nonce", st == CORE_SEALED ? unseal_att.nonce : "",
	    "version", CORE_VAULT_VERSION,
	    "build_date", COFFER_BUILD_DATE,
	    "migration", 0);
	mu_unlock();
	if (o == NULL)
		return NULL;
	if (st == CORE_UNSEALED) {
		json_object_set_new(o, "cluster_name",
		    json_string(core_cluster_name()));
		json_object_set_new(o, "cluster_id",
		    json_string(core_cluster_id()));
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
	core_rdlock();
	rc = reply_status(resp);
	core_unlock();
	return rc;
}

/* Add "keys" and "keys_base64" for n shares of len bytes each. */
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
	json_object_set(o, "keys", hex);
	json_object_set(o, "keys_base64", b64);
 out:
	json_decref(hex);
	json_decref(b64);
	sodium_free(txt);
	return rc;
}

/* Split kek into n shares (t of which unseal) into shares (n*SHARE_MAX). */
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

/* Vault's checks on a share count and threshold, with its messages. */
static int
check_shares(long long n, long long t, struct response *resp)
{
	if (n < 1)
		return resp_fail(resp, CF_EINVAL, "invalid seal configuration: "
		    "shares must be at least one");
	if (t < 1)
		return resp_fail(resp, CF_EINVAL, "invalid seal configuration: "
		    "threshold must be at least one");
	if (n > 1 && t == 1)
		return resp_fail(resp, CF_EINVAL, "invalid seal configuration: "
		    "threshold must be greater than one for multiple shares");
	if (n > 255)
		return resp_fail(resp, CF_EINVAL, "invalid seal configuration: "
		    "shares must be less than 256");
	if (t > 255)
		return resp_fail(resp, CF_EINVAL, "invalid seal configuration: "
		    "threshold must be less than 256");
	if (t > n)
		return resp_fail(resp, CF_EINVAL, "invalid seal configuration: "
		    "threshold cannot be larger than shares");
	return CF_OK;
}

/* An integer field of a raw body: absent is 0; a non-integer is 400. */
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

/* Wrap root under kek and the keyring under root, as storage ops. */
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
	buf_free(&ring);
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
	attempt_clear(&rekey_att);
	attempt_clear(&verify_att);
	sodium_free(rekey_kek);		/* wipes */
	rekey_kek = NULL;
	rekey_verify = 0;
}

static int
drop_root_key(void)
{
	sodium_free(root_key);		/* wipes */
	root_key = NULL;
	mu_lock();
	attempt_clear(&genroot_att);
	rekey_reset();
	sodium_free(genroot_otp);
	genroot_otp = NULL;
	mu_unlock();
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
		    "cipher: message authentication failed");
		goto out;
	}
	if ((rc = storage_get(st, KEYRING_KEY, &ct)) != CF_OK)
		goto out;
	if (barrier_key_decrypt((const uint8_t *)root.data, KEYRING_KEY,
	    ct.data, ct.len, &ring) != CF_OK) {
		rc = resp_fail(resp, CF_EINTERNAL, "keyring does not decrypt");
		goto out;
	}
	if ((rc = barrier_new(&b)) != CF_OK ||
	    (rc = barrier_keyring_parse(b, ring.data, ring.len)) != CF_OK)
		goto out;
	if ((rc = hold_root_key((const uint8_t *)root.data)) != CF_OK)
		goto out;
	rc = core_unsealed(b);
	b = NULL;			/* the core's now, even on failure */
 out:
	barrier_free(b);
	buf_free(&ct);
	buf_free(&root);
	buf_free(&ring);
	return rc;
}

/* Vault refuses PGP and recovery parameters it cannot honour. */
static int
check_unsupported(struct request *req, struct response *resp)
{
	static const char *const rec[] = { "recovery_shares",
	    "recovery_threshold", "recovery_pgp_keys" };
	char	 bad[128] = "";
	json_t	*v;
	size_t	 i;

	for (i = 0; i < 3; i++) {
		v = get_ci(req->data, rec[i]);
		if (v != NULL && !(json_is_integer(v) &&
		    json_integer_value(v) == 0) && !(json_is_array(v) &&
		    json_array_size(v) == 0)) {
			size_t	 used = strlen(bad);

			snprintf(bad + used, sizeof(bad) - used, "%s%s",
			    used > 0 ? "," : "", rec[i]);
		}
	}
	if (bad[0] != '\0')
		return resp_fail(resp, CF_EINVAL, "parameters %s not "
		    "applicable to seal type shamir", bad);
	v = get_ci(req->data, "pgp_keys");
	if (v != NULL && !(json_is_array(v) && json_array_size(v) == 0))
		return resp_fail(resp, CF_EINVAL, "pgp_keys are not supported "
		    "by coffer; omit them to receive the shares in clear");
	v = get_ci(req->data, "root_token_pgp_key");
	if (v != NULL && !(json_is_string(v) && *json_string_value(v) == '\0'))
		return resp_fail(resp, CF_EINVAL, "root_token_pgp_key is not "
		    "supported by coffer; omit it");
	return CF_OK;
}

/*
 * Initialize: new KEK, root key and keyring, stored in one batch with
 * the seal configuration last to count; then a root token, made while
 * briefly unsealed under the write lock, and sealed again.
 */
static int
do_init(int n, int t, const char *root_id, struct response *resp,
    uint8_t *kek_out, char *token_out)
{
	struct storage_op	 ops[3];
	struct buf		 rootct = BUF_INIT, ringct = BUF_INIT;
	struct buf		 cfg = BUF_INIT;
	struct barrier		*b = NULL;
	uint8_t			*kek = NULL, *root = NULL, *shares = NULL;
	char			*token = NULL;
	size_t			 share_len;
	json_t			*o = NULL;
	int			 rc;

	if ((kek = sodium_malloc(KEY_LEN)) == NULL ||
	    (root = sodium_malloc(KEY_LEN)) == NULL ||
	    (shares = sodium_malloc((size_t)n * SHARE_MAX)) == NULL ||
	    (token = sodium_malloc(TOKEN_MAX_LEN + 1)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	randombytes_buf(kek, KEY_LEN);
	randombytes_buf(root, KEY_LEN);
	if ((rc = barrier_new(&b)) != CF_OK ||
	    (rc = barrier_keyring_init(b)) != CF_OK ||
	    (rc = wrap_keys(kek, root, b, &rootct, &ringct)) != CF_OK ||
	    (rc = store_seal_config_op(n, t, &cfg)) != CF_OK)
		goto out;
	ops[0] = (struct storage_op){ STORAGE_OP_PUT, ROOT_KEY_KEY,
	    rootct.data, rootct.len };
	ops[1] = (struct storage_op){ STORAGE_OP_PUT, KEYRING_KEY,
	    ringct.data, ringct.len };
	ops[2] = (struct storage_op){ STORAGE_OP_PUT, SEAL_CONFIG_KEY,
	    cfg.data, cfg.len };
	if ((rc = storage_batch(core_storage(), ops, 3)) != CF_OK)
		goto out;
	mu_lock();
	cfg_n = n;
	cfg_t = t;
	mu_unlock();
	core_set_initialized();
	if ((rc = hold_root_key(root)) != CF_OK)
		goto out;
	rc = core_unsealed(b);
	b = NULL;
	if (rc != CF_OK)
		goto out;
	rc = token_create_root(root_id, "auth/token/root", token);
	if (rc != CF_OK) {
		core_sealed();
		goto out;
	}
	if (kek_out != NULL) {
		/* Dev mode stays unsealed and hands the key back. */
		memcpy(kek_out, kek, KEY_LEN);
		strlcpy(token_out, token, TOKEN_MAX_LEN + 1);
		goto out;
	}
	core_sealed();
	if ((rc = make_shares(kek, n, t, shares, &share_len)) != CF_OK)
		goto out;
	if ((o = json_object()) == NULL ||
	    (rc = emit_shares(o, shares, SHARE_MAX, n, share_len)) != CF_OK ||
	    json_object_set_new(o, "root_token", json_string(token)) != 0) {
		rc = rc != CF_OK ? rc : CF_ENOMEM;
		goto out;
	}
	resp->raw = 1;
	resp->wipe = 1;
	rc = resp_data(resp, o);
	o = NULL;
 out:
	json_decref(o);
	barrier_free(b);
	buf_free(&rootct);
	buf_free(&ringct);
	buf_free(&cfg);
	sodium_free(kek);
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
	int		 rc;

	if (req->op == REQ_READ) {
		core_rdlock();
		o = json_pack("{s:b}", "initialized",
		    core_state() != CORE_UNINITIALIZED);
		core_unlock();
		resp->raw = 1;
		return resp_data(resp, o);
	}
	if ((rc = method_is(req, resp, REQ_UPDATE, REQ_UPDATE)) != CF_OK ||
	    (rc = need_body(req, resp)) != CF_OK ||
	    (rc = check_unsupported(req, resp)) != CF_OK ||
	    (rc = body_int(req, resp, "secret_shares", &n)) != CF_OK ||
	    (rc = body_int(req, resp, "secret_threshold", &t)) != CF_OK ||
	    (rc = check_shares(n, t, resp)) != CF_OK)
		return rc;
	core_wrlock();
	if (core_state() != CORE_UNINITIALIZED)
		rc = resp_fail(resp, CF_EINVAL, "Vault is already initialized");
	else
		rc = do_init((int)n, (int)t, NULL, resp, NULL, NULL);
	core_unlock();
	if (rc == CF_OK)
		log_info("seal: initialized with %lld shares, threshold %lld",
		    n, t);
	else if (resp->err[0] == '\0')
		resp_fail(resp, CF_EINVAL, "initialization failed: %s",
		    cf_strerror(rc));
	return rc == CF_OK ? CF_OK : CF_EINVAL;
}

static int
sys_unseal(struct request *req, struct response *resp)
{
	uint8_t		*share = NULL, *kek = NULL;
	size_t		 len;
	json_t		*key, *reset, *migrate;
	const char	*why;
	int		 rc, dup, st;

	if ((rc = method_is(req, resp, REQ_UPDATE, REQ_UPDATE)) != CF_OK ||
	    (rc = need_body(req, resp)) != CF_OK)
		return rc;
	key = get_ci(req->data, "key");
	reset = get_ci(req->data, "reset");
	migrate = get_ci(req->data, "migrate");
	if ((key != NULL && !json_is_string(key)) ||
	    (reset != NULL && !json_is_boolean(reset)) ||
	    (migrate != NULL && !json_is_boolean(migrate)))
		return resp_fail(resp, CF_EINVAL, "failed to parse JSON input: "
		    "key must be a string, reset and migrate booleans");
	core_wrlock();
	st = core_state();
	if (migrate != NULL && json_is_true(migrate)) {
		rc = resp_fail(resp, CF_EINTERNAL, "can't perform a seal "
		    "migration, no migration seal found");
		goto out;
	}
	if (reset != NULL && json_is_true(reset)) {
		if (st == CORE_UNSEALED)
			rc = resp_fail(resp, CF_EINVAL, "vault is unsealed");
		else {
			mu_lock();
			attempt_clear(&unseal_att);
			mu_unlock();
			rc = reply_status(resp);
		}
		goto out;
	}
	if (key == NULL || *json_string_value(key) == '\0') {
		rc = resp_fail(resp, CF_EINVAL, "'key' must be specified in "
		    "request body as JSON, or 'reset' set to true");
		goto out;
	}
	if (st == CORE_UNINITIALIZED) {
		rc = resp_fail(resp, CF_EINVAL, "Vault is not initialized");
		goto out;
	}
	if ((share = sodium_malloc(SHARE_MAX)) == NULL ||
	    (kek = sodium_malloc(KEY_LEN)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	if ((rc = decode_share(json_string_value(key), share, &len, resp)) !=
	    CF_OK)
		goto out;
	if (st == CORE_UNSEALED) {
		rc = reply_status(resp);
		goto out;
	}
	mu_lock();
	if ((rc = attempt_add(&unseal_att, share, len, &dup)) == CF_OK &&
	    unseal_att.n == 1 && !dup)
		uuid_generate(unseal_att.nonce);
	if (rc != CF_OK || unseal_att.n < cfg_t) {
		mu_unlock();
		if (rc == CF_OK)
			rc = reply_status(resp);
		goto out;
	}
	rc = attempt_combine(&unseal_att, kek, &why);
	attempt_clear(&unseal_att);	/* whatever the outcome */
	mu_unlock();
	if (rc != CF_OK) {
		rc = resp_fail(resp, CF_EINVAL, "%s", why);
		goto out;
	}
	if ((rc = unseal_with(kek, resp)) == CF_OK) {
		log_info("seal: unsealed");
		rc = reply_status(resp);
	}
 out:
	core_unlock();
	sodium_free(share);
	sodium_free(kek);
	return rc;
}

/*
 * Authorize a token for a root-protected operation on path: a root
 * token, or a policy granting update and sudo.  Under the read lock.
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

static int
sys_seal(struct request *req, struct response *resp)
{
	int	 rc;

	if ((rc = method_is(req, resp, REQ_UPDATE, REQ_UPDATE)) != CF_OK)
		return rc;
	core_rdlock();
	if (core_state() != CORE_UNSEALED) {
		core_unlock();
		resp->status = 204;
		return CF_OK;
	}
	rc = authorize_sudo(req, resp, "sys/seal");
	core_unlock();
	if (rc != CF_OK)
		return rc;
	/* Requests in flight hold the read lock: this waits for them. */
	core_wrlock();
	if (core_state() == CORE_UNSEALED)
		core_sealed();
	core_unlock();
	resp->status = 204;
	return CF_OK;
}

/* encryptions since the active term was installed. */
static atomic_ullong	 encryptions_base;

static int
sys_key_status(struct request *req, struct response *resp)
{
	struct barrier	*b = core_barrier();
	char		 ts[64];
	json_t		*o;

	if (req->op != REQ_READ) {
		resp->err_empty = 1;
		return CF_EMETHOD;
	}
	time_format_rfc3339(ts, sizeof(ts), barrier_install_time(b), 0);
	o = json_pack("{s:i, s:s, s:I}", "term", (int)barrier_term(b),
	    "install_time", ts, "encryptions",
	    (json_int_t)(barrier_encryptions(b) -
	    atomic_load(&encryptions_base)));
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
	buf_free(&ring);
	buf_free(&ct);
	return rc;
}

static int
sys_rotate(struct request *req, struct response *resp)
{
	struct barrier	*b;
	uint32_t	 term;
	int		 rc;

	if ((rc = method_is(req, resp, REQ_UPDATE, REQ_UPDATE)) != CF_OK)
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
	b = core_barrier();
	if ((rc = barrier_rotate(b, &term)) == CF_OK &&
	    (rc = store_keyring(b)) == CF_OK) {
		atomic_store(&encryptions_base, barrier_encryptions(b));
		log_info("seal: rotated to key term %u", term);
	}
	core_unlock();
	if (rc != CF_OK)
		return resp_fail(resp, CF_EINTERNAL, "failed to create new "
		    "encryption key: %s", cf_strerror(rc));
	resp->status = 204;
	return CF_OK;
}

/*
 * Verify that the attempt's shares give the stored KEK, and return the
 * KEK.  Caller holds seal_mu and the core lock.
 */
static int
attempt_verify(struct attempt *a, uint8_t *kek, struct response *resp,
    const char *prefix)
{
	struct buf	 ct = BUF_INIT, root = BUF_INIT;
	const char	*why;
	int		 rc;

	if ((rc = attempt_combine(a, kek, &why)) != CF_OK)
		return resp_fail(resp, CF_EINVAL, "%s%s", prefix, why);
	if ((rc = storage_get(core_storage(), ROOT_KEY_KEY, &ct)) == CF_OK &&
	    barrier_key_decrypt(kek, ROOT_KEY_KEY, ct.data, ct.len, &root) !=
	    CF_OK)
		rc = resp_fail(resp, CF_EINVAL, "%sunable to retrieve stored "
		    "keys: invalid key: cipher: message authentication failed",
		    prefix);
	buf_free(&ct);
	buf_free(&root);
	return rc;
}

static int
genroot_status(struct response *resp, const char *otp, const char *encoded,
    int complete)
{
	json_t	*o;

	o = json_pack("{s:s, s:b, s:i, s:i, s:b, s:s, s:s, s:s, s:s, s:i}",
	    "nonce", genroot_att.nonce, "started", genroot_att.started,
	    "progress", genroot_att.n, "required", cfg_t,
	    "complete", complete, "encoded_token", encoded,
	    "encoded_root_token", encoded, "pgp_fingerprint", "",
	    "otp", otp, "otp_length", complete || genroot_att.n > 0 ? 0 :
	    OTP_LEN);
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

static int
sys_genroot_attempt(struct request *req, struct response *resp)
{
	json_t		*otp;
	const char	*o;
	char		*gen = NULL;
	size_t		 len;
	int		 rc = CF_OK;

	core_rdlock();
	if (core_state() != CORE_UNSEALED) {
		core_unlock();
		return resp_fail(resp, core_state() == CORE_UNINITIALIZED ?
		    CF_EINVAL : CF_ESEALED, core_state() ==
		    CORE_UNINITIALIZED ? "server is not yet initialized" :
		    "Vault is sealed");
	}
	mu_lock();
	switch (req->op) {
	case REQ_READ:
		rc = genroot_status(resp, "", "", 0);
		break;
	case REQ_DELETE:
		attempt_clear(&genroot_att);
		sodium_free(genroot_otp);
		genroot_otp = NULL;
		resp->status = 204;
		break;
	case REQ_UPDATE:
		if (genroot_att.started) {
			rc = resp_fail(resp, CF_EINVAL,
			    "root generation already in progress");
			break;
		}
		otp = get_ci(req->data, "otp");
		if (otp != NULL && !json_is_string(otp)) {
			rc = resp_fail(resp, CF_EINVAL, "otp must be a string");
			break;
		}
		if (get_ci(req->data, "pgp_key") != NULL &&
		    (otp == NULL || *json_string_value(otp) == '\0')) {
			rc = resp_fail(resp, CF_EINVAL, "pgp_key is not "
			    "supported by coffer; use an OTP");
			break;
		}
		o = otp != NULL ? json_string_value(otp) : "";
		len = strlen(o);
		if (len != 0 && len != OTP_LEN && len != OTP_LEN_OLD) {
			rc = resp_fail(resp, CF_EINVAL,
			    "OTP string is wrong length");
			break;
		}
		if ((genroot_otp = sodium_malloc(OTP_LEN + 1)) == NULL ||
		    (rc = attempt_ready(&genroot_att)) != CF_OK) {
			rc = CF_ENOMEM;
			break;
		}
		if (len == 0) {
			random_base62(genroot_otp, OTP_LEN);
			gen = genroot_otp;
		} else
			strlcpy(genroot_otp, o, OTP_LEN + 1);
		genroot_att.started = 1;
		uuid_generate(genroot_att.nonce);
		rc = genroot_status(resp, gen != NULL ? gen : "", "", 0);
		break;
	default:
		resp->err_empty = 1;
		rc = CF_EMETHOD;
	}
	mu_unlock();
	core_unlock();
	return rc;
}

/* Check "nonce" against an attempt's. */
static int
check_nonce(struct request *req, struct response *resp,
    const struct attempt *a, const char *what)
{
	json_t	*n = get_ci(req->data, "nonce");

	if (n == NULL || !json_is_string(n) ||
	    strcmp(json_string_value(n), a->nonce) != 0)
		return resp_fail(resp, CF_EINVAL, "incorrect nonce supplied; "
		    "nonce for this %s operation is \"%s\"", what, a->nonce);
	return CF_OK;
}

/*
 * The steps every share-collecting update shares: a "key" in the body,
 * the attempt's nonce, a share that decodes, and one not given before.
 * what names the operation in messages.  Under seal_mu.
 */
static int
take_share(struct request *req, struct response *resp, struct attempt *a,
    const char *what)
{
	uint8_t	*share;
	json_t	*key;
	size_t	 len;
	int	 rc, dup;

	key = get_ci(req->data, "key");
	if (key == NULL || !json_is_string(key) ||
	    *json_string_value(key) == '\0')
		return resp_fail(resp, CF_EINVAL,
		    "'key' must be specified in request body as JSON");
	if ((rc = check_nonce(req, resp, a, what)) != CF_OK)
		return rc;
	if ((share = sodium_malloc(SHARE_MAX)) == NULL)
		return CF_ENOMEM;
	if ((rc = decode_share(json_string_value(key), share, &len, resp)) ==
	    CF_OK && (rc = attempt_add(a, share, len, &dup)) == CF_OK && dup)
		rc = resp_fail(resp, CF_EINVAL, "given key has already been "
		    "provided during this %s operation", what);
	sodium_free(share);
	return rc;
}

/* Drop an attempt's shares after a failed combination; keep its nonce. */
static void
attempt_drop_shares(struct attempt *a)
{
	a->n = 0;
	sodium_memzero(a->shares, SHAMIR_MAX_SHARES * SHARE_MAX);
}

/* Mint the new root token and encode it with the OTP. */
static int
genroot_finish(struct response *resp)
{
	char	*token = NULL, *x = NULL, *enc = NULL;
	size_t	 len = strlen(genroot_otp), i, elen;
	int	 rc;

	elen = sodium_base64_ENCODED_LEN(len,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	if ((token = sodium_malloc(TOKEN_MAX_LEN + 1)) == NULL ||
	    (x = sodium_malloc(len)) == NULL ||
	    (enc = sodium_malloc(elen)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	/* As long as the OTP: "hvs." + 24 today, "s." + 24 for old clients. */
	if (len == OTP_LEN) {
		memcpy(token, "hvs.", 4);
		random_base62(token + 4, len - 4);
	} else {
		memcpy(token, "s.", 2);
		random_base62(token + 2, len - 2);
	}
	if ((rc = token_create_root(token, "auth/token/root", token)) !=
	    CF_OK)
		goto out;
	for (i = 0; i < len; i++)
		x[i] = token[i] ^ genroot_otp[i];
	sodium_bin2base64(enc, elen, (const unsigned char *)x, len,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	genroot_att.n = cfg_t;
	rc = genroot_status(resp, "", enc, 1);
	log_info("seal: a new root token was generated");
 out:
	sodium_free(token);
	sodium_free(x);
	sodium_free(enc);
	return rc;
}

static int
sys_genroot_update(struct request *req, struct response *resp)
{
	uint8_t	*kek = NULL;
	int	 rc;

	if ((rc = method_is(req, resp, REQ_UPDATE, REQ_UPDATE)) != CF_OK ||
	    (rc = need_body(req, resp)) != CF_OK)
		return rc;
	core_rdlock();
	mu_lock();
	if (core_state() != CORE_UNSEALED) {
		rc = resp_fail(resp, CF_ESEALED, "Vault is sealed");
		goto out;
	}
	if (!genroot_att.started) {
		rc = resp_fail(resp, CF_EINVAL, "no root generation in progress");
		goto out;
	}
	if ((rc = take_share(req, resp, &genroot_att, "root generation")) !=
	    CF_OK)
		goto out;
	if (genroot_att.n < cfg_t) {
		rc = genroot_status(resp, "", "", 0);
		goto out;
	}
	if ((kek = sodium_malloc(KEY_LEN)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	if ((rc = attempt_verify(&genroot_att, kek, resp, "root generation "
	    "aborted: ")) != CF_OK) {
		/* The attempt and its nonce stay for another try. */
		attempt_drop_shares(&genroot_att);
		goto out;
	}
	rc = genroot_finish(resp);
	attempt_clear(&genroot_att);
	sodium_free(genroot_otp);
	genroot_otp = NULL;
 out:
	mu_unlock();
	core_unlock();
	sodium_free(kek);
	return rc;
}

static int
rekey_status(struct response *resp)
{
	json_t	*o;

	o = json_pack("{s:s, s:b, s:i, s:i, s:i, s:i, s:n, s:b, s:b}",
	    "nonce", rekey_att.nonce, "started", rekey_att.started,
	    "t", rekey_att.started ? rekey_t : 0,
	    "n", rekey_att.started ? rekey_n : 0,
	    "progress", rekey_att.n, "required", cfg_t,
	    "pgp_fingerprints", "backup", 0, "verification_required",
	    rekey_verify);
	if (o != NULL && verify_att.nonce[0] != '\0')
		json_object_set_new(o, "verification_nonce",
		    json_string(verify_att.nonce));
	resp->raw = 1;
	return resp_data(resp, o);
}

static int
rekey_precheck(struct response *resp)
{
	if (core_state() == CORE_UNINITIALIZED || core_state() == CORE_SEALED)
		return resp_fail(resp, CF_EUNAVAIL, core_state() ==
		    CORE_SEALED ? "Vault is sealed" : "node is not active");
	return CF_OK;
}

static int
sys_rekey_init(struct request *req, struct response *resp)
{
	long long	 n, t;
	json_t		*v;
	int		 rc;

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
		if ((rc = need_body(req, resp)) != CF_OK)
			break;
		if (rekey_att.started) {
			rc = resp_fail(resp, CF_EINVAL,
			    "rekey already in progress");
			break;
		}
		v = get_ci(req->data, "pgp_keys");
		if (v != NULL && json_array_size(v) > 0) {
			rc = resp_fail(resp, CF_EINVAL, "pgp_keys are not "
			    "supported by coffer");
			break;
		}
		v = get_ci(req->data, "backup");
		if (v != NULL && json_is_true(v)) {
			rc = resp_fail(resp, CF_EINVAL, "cannot request a "
			    "backup of the new keys without providing PGP "
			    "keys");
			break;
		}
		v = get_ci(req->data, "require_verification");
		rekey_verify = v != NULL && json_is_true(v);
		if ((rc = body_int(req, resp, "secret_shares", &n)) != CF_OK ||
		    (rc = body_int(req, resp, "secret_threshold", &t)) !=
		    CF_OK)
			break;
		if (t > n) {
			rc = resp_fail(resp, CF_EINVAL, "provided threshold "
			    "greater than the total shares");
			break;
		}
		if ((rc = check_shares(n, t, resp)) != CF_OK)
			break;
		if ((rc = attempt_ready(&rekey_att)) != CF_OK)
			break;
		rekey_n = (int)n;
		rekey_t = (int)t;
		rekey_att.started = 1;
		uuid_generate(rekey_att.nonce);
		rc = rekey_status(resp);
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
 * Rekey: the new KEK wraps a new root key, the root key the keyring;
 * stored in one batch with the new seal configuration, after which the
 * old shares no longer open anything.
 */
static int
rekey_commit(const uint8_t *kek)
{
	struct storage_op	 ops[3];
	struct buf		 rootct = BUF_INIT, ringct = BUF_INIT;
	struct buf		 cfg = BUF_INIT;
	uint8_t			*root;
	int			 rc;

	if ((root = sodium_malloc(KEY_LEN)) == NULL)
		return CF_ENOMEM;
	randombytes_buf(root, KEY_LEN);
	if ((rc = wrap_keys(kek, root, core_barrier(), &rootct, &ringct)) !=
	    CF_OK ||
	    (rc = store_seal_config_op(rekey_n, rekey_t, &cfg)) != CF_OK)
		goto out;
	ops[0] = (struct storage_op){ STORAGE_OP_PUT, ROOT_KEY_KEY,
	    rootct.data, rootct.len };
	ops[1] = (struct storage_op){ STORAGE_OP_PUT, KEYRING_KEY,
	    ringct.data, ringct.len };
	ops[2] = (struct storage_op){ STORAGE_OP_PUT, SEAL_CONFIG_KEY,
	    cfg.data, cfg.len };
	if ((rc = storage_batch(core_storage(), ops, 3)) != CF_OK ||
	    (rc = hold_root_key(root)) != CF_OK)
		goto out;
	cfg_n = rekey_n;
	cfg_t = rekey_t;
	log_info("seal: rekeyed to %d shares, threshold %d", cfg_n, cfg_t);
 out:
	buf_free(&rootct);
	buf_free(&ringct);
	buf_free(&cfg);
	sodium_free(root);
	return rc;
}

/*
 * The current shares were accepted: make the new KEK and its shares,
 * and either commit now or, with verification, keep the KEK until the
 * new shares come back.
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
	    "verification_required", rekey_verify)) == NULL ||
	    (rc = emit_shares(o, shares, SHARE_MAX, rekey_n, share_len)) !=
	    CF_OK) {
		rc = rc != CF_OK ? rc : CF_ENOMEM;
		goto out;
	}
	if (rekey_verify) {
		if ((rc = attempt_ready(&verify_att)) != CF_OK)
			goto out;
		verify_att.started = 1;
		uuid_generate(verify_att.nonce);
		json_object_set_new(o, "verification_nonce",
		    json_string(verify_att.nonce));
		rekey_kek = kek;
		kek = NULL;
	} else if ((rc = rekey_commit(kek)) != CF_OK)
		goto out;
	resp->raw = 1;
	resp->wipe = 1;
	rc = resp_data(resp, o);
	o = NULL;
 out:
	json_decref(o);
	sodium_free(kek);
	sodium_free(shares);
	return rc;
}

static int
sys_rekey_update(struct request *req, struct response *resp)
{
	uint8_t	*kek = NULL;
	int	 rc;

	if ((rc = method_is(req, resp, REQ_UPDATE, REQ_UPDATE)) != CF_OK ||
	    (rc = need_body(req, resp)) != CF_OK)
		return rc;
	/* The root key and keyring are rewrapped: exclusive. */
	core_wrlock();
	mu_lock();
	if ((rc = rekey_precheck(resp)) != CF_OK)
		goto out;
	if (!rekey_att.started) {
		rc = resp_fail(resp, CF_EINVAL, "no barrier rekey in progress");
		goto out;
	}
	if (rekey_kek != NULL) {
		rc = resp_fail(resp, CF_EINVAL, "rekey verification in "
		    "progress; submit the new shares to sys/rekey/verify");
		goto out;
	}
	if ((rc = take_share(req, resp, &rekey_att, "rekey")) != CF_OK)
		goto out;
	if (rekey_att.n < cfg_t) {
		rc = rekey_status(resp);
		goto out;
	}
	if ((kek = sodium_malloc(KEY_LEN)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	if ((rc = attempt_verify(&rekey_att, kek, resp, "")) != CF_OK) {
		attempt_drop_shares(&rekey_att);
		goto out;
	}
	rc = rekey_finish(resp);
	if (rekey_verify)
		attempt_drop_shares(&rekey_att);	/* spent; verify next */
	else
		rekey_reset();
 out:
	mu_unlock();
	core_unlock();
	sodium_free(kek);
	return rc;
}

static int
verify_status(struct response *resp, int complete)
{
	json_t	*o;

	if (complete)
		o = json_pack("{s:s, s:b}", "nonce", verify_att.nonce,
		    "complete", 1);
	else
		o = json_pack("{s:s, s:b, s:i, s:i, s:i}", "nonce",
		    verify_att.nonce, "started", verify_att.started, "t",
		    rekey_t, "n", rekey_n, "progress", verify_att.n);
	resp->raw = 1;
	return resp_data(resp, o);
}

/*
 * Verification: the new shares come back; when enough combine to the
 * pending KEK, the rekey is committed.
 */
static int
sys_rekey_verify(struct request *req, struct response *resp)
{
	uint8_t		*kek = NULL;
	const char	*why;
	int		 rc;

	core_wrlock();
	mu_lock();
	if ((rc = rekey_precheck(resp)) != CF_OK)
		goto out;
	if (rekey_kek == NULL) {
		rc = resp_fail(resp, CF_EINVAL, "no rekey verification in "
		    "progress");
		goto out;
	}
	switch (req->op) {
	case REQ_READ:
		rc = verify_status(resp, 0);
		goto out;
	case REQ_DELETE:
		/* Start the verification over, with a new nonce. */
		attempt_clear(&verify_att);
		verify_att.started = 1;
		uuid_generate(verify_att.nonce);
		rc = verify_status(resp, 0);
		goto out;
	case REQ_UPDATE:
		break;
	default:
		resp->err_empty = 1;
		rc = CF_EMETHOD;
		goto out;
	}
	if ((rc = take_share(req, resp, &verify_att, "rekey verification")) !=
	    CF_OK)
		goto out;
	if ((kek = sodium_malloc(KEY_LEN)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	if (verify_att.n < rekey_t) {
		rc = verify_status(resp, 0);
		goto out;
	}
	rc = attempt_combine(&verify_att, kek, &why);
	if (rc != CF_OK || sodium_memcmp(kek, rekey_kek, KEY_LEN) != 0) {
		attempt_drop_shares(&verify_att);
		rc = resp_fail(resp, CF_EINVAL, "rekey verification failed: "
		    "the shares do not combine to the new key");
		goto out;
	}
	if ((rc = rekey_commit(rekey_kek)) == CF_OK)
		rc = verify_status(resp, 1);
	rekey_reset();
 out:
	mu_unlock();
	core_unlock();
	sodium_free(kek);
	return rc;
}

/* Unseal hook: the cluster's name and id, made at first unseal. */
static int
load_cluster(void)
{
	struct buf	 b = BUF_INIT;
	json_t		*j = NULL;
	json_error_t	 e;
	char		 id[REQ_ID_LEN + 1], name[64];
	const char	*cn = core_conf()->cluster_name;
	uint8_t		 r[4];
	int		 rc;

	rc = core_get(CLUSTER_KEY, &b);
	if (rc == CF_ENOTFOUND) {
		uuid_generate(id);
		randombytes_buf(r, sizeof(r));
		snprintf(name, sizeof(name), "vault-cluster-%02x%02x%02x%02x",
		    r[0], r[1], r[2], r[3]);
		j = json_pack("{s:s, s:s}", "name", cn != NULL ? cn : name,
		    "id", id);
		buf_reset(&b);
		if (j == NULL || (rc = json_emit(j, &b)) != CF_OK ||
		    (rc = core_put(CLUSTER_KEY, b.data, b.len)) != CF_OK)
			goto out;
	} else if (rc != CF_OK)
		goto out;
	else if ((j = json_loadb(b.data, b.len, 0, &e)) == NULL) {
		rc = CF_EINTERNAL;
		goto out;
	}
	core_set_cluster(json_string_value(json_object_get(j, "name")) ?
	    json_string_value(json_object_get(j, "name")) : "",
	    json_string_value(json_object_get(j, "id")) ?
	    json_string_value(json_object_get(j, "id")) : "");
	rc = CF_OK;
 out:
	json_decref(j);
	buf_free(&b);
	return rc;
}

int
seal_dev_init(const char *root_token_id, struct buf *key_b64,
    struct buf *root_token)
{
	struct response	 resp;
	uint8_t		*kek = NULL;
	char		*token = NULL, b64[64];
	int		 rc;

	resp_init(&resp);
	if ((kek = sodium_malloc(KEY_LEN)) == NULL ||
	    (token = sodium_malloc(TOKEN_MAX_LEN + 1)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	core_wrlock();
	if ((rc = load_seal_config()) == CF_OK)
		rc = do_init(1, 1, root_token_id, &resp, kek, token);
	core_unlock();
	if (rc != CF_OK)
		goto out;
	sodium_bin2base64(b64, sizeof(b64), kek, KEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
	if ((rc = buf_puts(key_b64, b64)) == CF_OK)
		rc = buf_puts(root_token, token);
	sodium_memzero(b64, sizeof(b64));
 out:
	resp_fini(&resp);
	sodium_free(kek);
	sodium_free(token);
	return rc;
}

void
seal_register(void)
{
	router_raw("sys/init", 0, sys_init);
	router_raw("sys/unseal", 0, sys_unseal);
	router_raw("sys/seal-status", 0, sys_seal_status);
	router_raw("sys/seal", 0, sys_seal);
	router_raw("sys/rotate", 0, sys_rotate);
	router_raw("sys/generate-root/attempt", 0, sys_genroot_attempt);
	router_raw("sys/generate-root/update", 0, sys_genroot_update);
	router_raw("sys/rekey/init", 0, sys_rekey_init);
	router_raw("sys/rekey/update", 0, sys_rekey_update);
	router_raw("sys/rekey/verify", 0, sys_rekey_verify);
	sys_route("key-status", 0, sys_key_status);
	core_on_unseal(load_cluster);
	core_on_seal(drop_root_key);
}

int
seal_load(void)
{
	return load_seal_config();
}
