/*
 * sys_seal.c -- the seal's HTTP handlers (sys_seal.h): sys/unseal,
 * sys/seal-status, sys/seal, sys/step-down, sys/rotate and
 * sys/key-status, and the share helpers that sys/init
 * (seal.c) and generate-root and rekey (sys_rekey.c) share.
 *
 * Handlers check requests and answer; the keys themselves change in
 * keys.c.  Behaviour follows Vault 1.14's handlers, check by check and
 * in the same order (http/sys_seal.go, vault/core.go), so that clients
 * see the same status and text for the same mistake.
 *
 * Memory.  A submitted share is decoded from its text in a heap buffer
 * that is wiped before it is freed; shares and the KEK they make live
 * in sodium_malloc memory (shares.c).  The unseal collection is under
 * keys_lock.  State changes take the core write lock, so a seal waits
 * for requests in flight and later requests see 503.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "acl.h"
#include "audit.h"
#include "barrier.h"
#include "body.h"
#include "core.h"
#include "err.h"
#include "ha.h"
#include "keys.h"
#include "log.h"
#include "req.h"
#include "router.h"
#include "shares.h"
#include "storage.h"
#include "sys.h"
#include "sys_seal.h"
#include "timeutil.h"
#include "token.h"

#define KEY_LEN			KEYS_KEY_LEN
#define SHARE_MAX		SHARES_SHARE_MAX
#define SHARE_MIN		16		/* Vault's AES-128 minimum */

/* Vault's text when shares combine to a key that opens nothing. */
#define AUTH_FAILED		"cipher: message authentication failed"

static struct shares	 unseal_att;		/* under keys_lock */


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


/*
 * The seal-status object.  No core lock needed: the state is an atomic
 * and the rest is under keys_lock or read from storage.
 */
static json_t *
status_object(void)
{
	int	 st = core_state(), n, t, init;
	char	 name[128], id[64];
	json_t	*o;

	/* While sealed, storage says (another node may have changed it). */
	if (st == CORE_UNSEALED || keys_read_config(&n, &t, &init) != CF_OK) {
		keys_lock();
		n = keys_shares();
		t = keys_threshold();
		keys_unlock();
		init = st != CORE_UNINITIALIZED;
	}
	keys_lock();
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
	keys_unlock();
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

int
sys_seal_reply_secret(struct response *resp, json_t *o)
{
	resp->raw = 1;
	resp->wipe = 1;
	return resp_data(resp, o);
}

int
sys_seal_reply_status(struct response *resp)
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
	rc = sys_seal_reply_status(resp);
	return rc;
}

/*
 * Add "keys" and "keys_base64" for n shares of len bytes each, stride
 * bytes apart.
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

int
sys_seal_new_kek(uint8_t *kek, int n, int t, json_t *o)
{
	uint8_t	*shares;
	size_t	 share_len;
	int	 rc;

	if ((shares = sodium_malloc((size_t)n * SHARE_MAX)) == NULL)
		return CF_ENOMEM;
	randombytes_buf(kek, KEY_LEN);
	if ((rc = keys_make_shares(kek, n, t, shares, &share_len)) == CF_OK)
		rc = emit_shares(o, shares, SHARE_MAX, n, share_len);
	sodium_free(shares);		/* wipes */
	return rc;
}

int
sys_seal_check_shares(long long n, long long t, const char *prefix,
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

int
sys_seal_share(struct request *req, struct response *resp, uint8_t *share,
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

int
sys_seal_offer(struct response *resp, struct shares *s, const char *what,
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

static int
sys_unseal(struct request *req, struct response *resp)
{
	uint8_t		*share = NULL, *kek = NULL;
	size_t		 len;
	const char	*key, *why;
	int		 rc, dup, done = 0, st, reset, migrate, wrong;

	if ((rc = body_need_update(req, resp)) != CF_OK ||
	    (rc = body_need(req, resp)) != CF_OK ||
	    (rc = body_str(req, resp, "key", &key)) != CF_OK ||
	    (rc = body_bool(req, resp, "reset", &reset)) != CF_OK ||
	    (rc = body_bool(req, resp, "migrate", &migrate)) != CF_OK)
		return rc;
	core_wrlock();
	/* Sealed: the seal configuration as storage has it now. */
	if (core_state() != CORE_UNSEALED && (rc = keys_load_config()) !=
	    CF_OK)
		goto out;
	st = core_state();
	if (reset) {
		if (st == CORE_UNSEALED)
			rc = resp_fail(resp, CF_EINVAL, "vault is unsealed");
		else {
			keys_lock();
			shares_reset(&unseal_att);
			keys_unlock();
			rc = sys_seal_reply_status(resp);
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
		rc = sys_seal_reply_status(resp);
		goto out;
	}
	keys_lock();
	if ((rc = shares_add(&unseal_att, share, len, &dup)) == CF_OK &&
	    unseal_att.n == 1 && !dup)
		shares_renonce(&unseal_att);
	if (rc == CF_OK)
		rc = shares_reach(&unseal_att, keys_threshold(), kek, &done,
		    &why);
	if (done)
		shares_reset(&unseal_att);	/* whatever the outcome */
	keys_unlock();
	if (!done) {
		if (rc == CF_OK)
			rc = sys_seal_reply_status(resp);
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
	if ((rc = keys_unseal(kek, &wrong)) == CF_EDENIED && wrong) {
		rc = resp_fail(resp, CF_EINVAL, "unable to retrieve stored "
		    "keys: invalid key: failed to decrypt keys from storage: "
		    AUTH_FAILED);
		goto out;
	}
	if (rc == CF_OK) {
		log_info("seal: unsealed");
		rc = sys_seal_reply_status(resp);
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
 * a policy denial its one-error list.  The token's context stays in
 * req->auth for the audit entries (raw_done frees it).
 */
static int
authorize_sudo(struct request *req, struct response *resp, const char *path)
{
	int	 rc, sudo = 0;

	if ((rc = token_authenticate(req->token, req->remote_addr,
	    &req->auth)) != CF_OK) {
		req->auth = NULL;
		if (rc == CF_EDENIED)
			return resp_fail(resp, CF_EDENIED, "permission denied");
		return rc;
	}
	if (!req->auth->is_root && (acl_check(req->auth->acl, path,
	    REQ_UPDATE, req->data, &sudo) != CF_OK || !sudo))
		rc = resp_fail(resp, CF_EDENIED,
		    "1 error occurred:\n\t* permission denied\n\n");
	return rc;
}

/*
 * The request entry of sys/seal or sys/step-down, written with no core
 * lock held once the token is known (Vault logs none for an unknown
 * token), before the request goes on or is refused with rc.  When no
 * device can log it, the request fails with Vault's text for these two.
 */
static int
audit_raw_request(struct request *req, struct response *resp, int rc)
{
	if (req->auth == NULL || audit_log_request(req, resp, rc) == CF_OK)
		return rc;
	resp_fini(resp);
	resp_init(resp);
	resp->status = 500;
	resp->err_public = 1;
	return resp_fail(resp, CF_EINTERNAL, "failed to audit request, "
	    "cannot continue");
}

/* A raw route is done with the token it checked. */
static void
raw_done(struct request *req)
{
	token_auth_ctx_free(req->auth);
	req->auth = NULL;
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

	if ((rc = body_need_update(req, resp)) != CF_OK)
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
	rc = audit_raw_request(req, resp, rc);
	raw_done(req);
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
		core_seal();
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

	if ((rc = body_need_update(req, resp)) != CF_OK)
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
	rc = audit_raw_request(req, resp, rc);
	raw_done(req);
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
	char			 ts[64];
	json_t			*o;

	if (req->op != REQ_READ) {
		resp->err_empty = 1;
		return CF_EMETHOD;
	}
	time_format_rfc3339(ts, sizeof(ts), barrier_install_time(b), 0);
	o = json_pack("{s:i, s:s, s:I}", "term", (int)barrier_term(b),
	    "install_time", ts, "encryptions",
	    (json_int_t)keys_encryptions(b));
	resp->inject = 1;
	return resp_data(resp, o);
}

/* The keyring gets a new term: no reader may be in the barrier. */
static int
rotate_keyring(struct response *resp)
{
	uint32_t	 term;
	int		 rc, restore_failed;

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
	rc = keys_rotate(core_barrier(), &term, &restore_failed);
	if (restore_failed) {
		/* Nothing used the new term yet: sealing loses nothing. */
		log_warnx("seal: cannot restore the keyring; sealing");
		core_seal();
	}
	core_unlock();
	if (rc != CF_OK)
		return resp_fail(resp, CF_EINTERNAL, "failed to create new "
		    "encryption key: %s", cf_strerror(rc));
	resp->status = 204;
	return CF_OK;
}

/*
 * sys/rotate is a logical path in Vault, but it changes the keyring,
 * which needs the core write lock that a logical handler (run under the
 * read lock) cannot take: so it is a raw route that checks the token
 * and sudo itself, with the router's messages, and is logged as the
 * router logs a request: both entries, with sys/'s mount.
 */
static int
sys_rotate(struct request *req, struct response *resp)
{
	int	 rc, arc;

	if ((rc = body_need_update(req, resp)) != CF_OK)
		return rc;
	core_rdlock();
	if (core_state() != CORE_UNSEALED) {
		core_unlock();
		return resp_fail(resp, CF_ESEALED, "Vault is sealed");
	}
	rc = authorize_sudo(req, resp, "sys/rotate");
	req->mount = router_mount_get(req->path);
	core_unlock();
	if ((arc = audit_log_request(req, resp, rc)) != CF_OK) {
		rc = arc;
		goto out;
	}
	if (rc == CF_OK)
		rc = rotate_keyring(resp);
	if ((arc = audit_log_response(req, resp, rc)) != CF_OK)
		rc = arc;
 out:
	router_mount_unref(req->mount);
	req->mount = NULL;
	raw_done(req);
	return rc;
}

void
sys_seal_register(void)
{
	router_raw("sys/unseal", 0, sys_unseal);
	router_raw("sys/seal-status", 0, sys_seal_status);
	router_raw("sys/seal", 0, sys_seal);
	router_raw("sys/step-down", 0, sys_step_down);
	router_raw("sys/rotate", 0, sys_rotate);
	sys_route("key-status", 0, sys_key_status);
}
