/*
 * sys_rekey.c -- the HTTP handlers of sys/generate-root/attempt and
 * /update, and sys/rekey/init, /update and /verify (sys_rekey.h).
 *
 * Owns the share collections of a root generation, a rekey and the
 * rekey's verification, the OTP, and the new KEK awaiting
 * verification; the stored keys change in keys.c.  Behaviour follows
 * Vault 1.14's handlers, check by check and in the same order
 * (http/sys_{rekey,generate_root}.go and vault/{rekey,generate_root}.go).
 * One deliberate change: Vault answers 500 for an invalid rekey
 * configuration and for rekey shares that do not open the root key; a
 * 500 here would hide the text (http.c), so those are 400 with Vault's
 * text.
 *
 * Memory and locking.  Shares, KEKs, the OTP and root tokens being
 * returned live in sodium_malloc memory and are wiped on every path
 * that drops them; everything here is under keys_lock, which nests
 * inside the core lock.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "body.h"
#include "core.h"
#include "err.h"
#include "keys.h"
#include "log.h"
#include "req.h"
#include "router.h"
#include "shares.h"
#include "sys_rekey.h"
#include "sys_seal.h"
#include "token.h"

#define KEY_LEN			KEYS_KEY_LEN
#define SHARE_MAX		SHARES_SHARE_MAX
#define OTP_LEN			28		/* "hvs." + 24 */
#define OTP_LEN_OLD		26		/* "s." + 24, Vault 1.0-1.9 */

/* Vault's text when shares combine to a key that opens nothing. */
#define AUTH_FAILED		"cipher: message authentication failed"

static struct shares	 genroot_att, rekey_att;
static char		*genroot_otp;		/* sodium_malloc */
static int		 rekey_n, rekey_t;
static int		 rekey_verify;		/* require_verification */
static uint8_t		*rekey_kek;		/* new KEK awaiting verification */
static struct shares	 verify_att;		/* new shares being verified */

/* Forget a rekey and its pending key.  Under keys_lock. */
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

/* Forget a root generation and its OTP.  Under keys_lock. */
static void
genroot_reset(void)
{
	shares_reset(&genroot_att);
	sodium_free(genroot_otp);	/* wipes */
	genroot_otp = NULL;
}

/*
 * Offer a share of the current unseal key (generate-root, rekey): Vault
 * repeats "generation" in its text for a share given twice, whatever
 * the operation.  *more says the threshold is not reached yet; at the
 * threshold the shares combine into kek, which must open the root key
 * in use (denied starts the message when it does not).  Under
 * keys_lock, unsealed.
 */
static int
offer_current(struct response *resp, struct shares *s, const char *what,
    const char *nonce, const uint8_t *share, size_t len, uint8_t *kek,
    const char *denied, int *more)
{
	enum shares_step	 step;
	const char		*why;
	int			 rc;

	*more = 0;
	if ((rc = sys_seal_offer(resp, s, what, "generation", nonce,
	    share, len, keys_threshold(), kek, &step, &why)) != CF_OK &&
	    step != SHARES_COMBINED)
		return rc;
	if (step == SHARES_MORE) {
		*more = 1;
		return CF_OK;
	}
	if (rc == CF_EINVAL)
		return resp_fail(resp, CF_EINVAL, "failed to compute root "
		    "key: %s", why);
	if (rc == CF_OK)
		rc = keys_kek_opens_root(kek);
	if (rc == CF_EDENIED)
		return resp_fail(resp, CF_EINVAL, "%s" AUTH_FAILED, denied);
	return rc;
}

/*
 * The generate-root status object.  otp_length is the length an OTP
 * must have (GET and the attempt's start) or 0 (update replies), as
 * Vault answers.  Under keys_lock.
 */
static int
genroot_status(struct response *resp, const char *otp, int otp_length,
    const char *encoded, int complete)
{
	json_t	*o;

	o = json_pack("{s:s, s:b, s:i, s:i, s:b, s:s, s:s, s:s, s:s, s:i}",
	    "nonce", genroot_att.nonce, "started", genroot_att.started,
	    "progress", complete ? keys_threshold() : genroot_att.n,
	    "required", keys_threshold(),
	    "complete", complete, "encoded_token", encoded,
	    "encoded_root_token", encoded, "pgp_fingerprint", "",
	    "otp", otp, "otp_length", otp_length);
	return sys_seal_reply_secret(resp, o);
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
 * get a 26-character "s." token.  Under keys_lock, unsealed.
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
	keys_lock();
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
	keys_unlock();
	core_unlock();
	return rc;
}

/*
 * Mint the new root token, as long as the OTP ("hvs." + 24 for 28
 * characters, "s." + 24 for 26), and encode it: raw standard base64 of
 * token XOR OTP.  Under keys_lock.
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
	const char	*nonce;
	int		 rc, st, more;

	if ((rc = body_need_update(req, resp)) != CF_OK ||
	    (rc = body_need(req, resp)) != CF_OK)
		return rc;
	if ((share = sodium_malloc(SHARE_MAX)) == NULL ||
	    (kek = sodium_malloc(KEY_LEN)) == NULL) {
		sodium_free(share);
		return CF_ENOMEM;
	}
	if ((rc = body_str(req, resp, "nonce", &nonce)) != CF_OK ||
	    (rc = sys_seal_share(req, resp, share, &len, "invalid key: ")) !=
	    CF_OK)
		goto out_free;
	core_rdlock();
	keys_lock();
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
	if ((rc = offer_current(resp, &genroot_att, "root generation", nonce,
	    share, len, kek, "root generation aborted: root key verification "
	    "failed: ", &more)) != CF_OK)
		goto out;
	if (more) {
		rc = genroot_status(resp, "", 0, "", 0);
		goto out;
	}
	if ((rc = genroot_finish(resp)) == CF_OK)
		genroot_reset();
 out:
	keys_unlock();
	core_unlock();
 out_free:
	sodium_free(share);		/* wipes */
	sodium_free(kek);
	return rc;
}

/* The rekey status object.  Under keys_lock. */
static int
rekey_status(struct response *resp)
{
	json_t	*o;

	o = json_pack("{s:s, s:b, s:i, s:i, s:i, s:i, s:n, s:b, s:b}",
	    "nonce", rekey_att.nonce, "started", rekey_att.started,
	    "t", rekey_t, "n", rekey_n, "progress", rekey_att.n,
	    "required", keys_threshold(), "pgp_fingerprints", "backup", 0,
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

/*
 * Run op under the core lock (exclusive with excl) and keys_lock, once
 * rekey_precheck lets it.
 */
static int
rekey_locked(struct request *req, struct response *resp, int excl,
    int (*op)(struct request *, struct response *))
{
	int	 rc;

	if (excl)
		core_wrlock();
	else
		core_rdlock();
	keys_lock();
	if ((rc = rekey_precheck(resp)) == CF_OK)
		rc = op(req, resp);
	keys_unlock();
	core_unlock();
	return rc;
}

/* Start a rekey from the body of PUT sys/rekey/init.  Under keys_lock. */
static int
rekey_start(struct request *req, struct response *resp)
{
	long long	 n, t, stored;
	size_t		 npgp;
	int		 rc, backup, verify;

	if ((rc = body_need(req, resp)) != CF_OK ||
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
	if ((rc = sys_seal_check_shares(n, t, "invalid rekey seal "
	    "configuration: ", resp)) != CF_OK)
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
rekey_init_op(struct request *req, struct response *resp)
{
	switch (req->op) {
	case REQ_READ:
		return rekey_status(resp);
	case REQ_DELETE:
		rekey_reset();
		resp->status = 204;
		return CF_OK;
	case REQ_UPDATE:
		return rekey_start(req, resp);
	default:
		resp->err_empty = 1;
		return CF_EMETHOD;
	}
}

static int
sys_rekey_init(struct request *req, struct response *resp)
{
	return rekey_locked(req, resp, 0, rekey_init_op);
}

/*
 * The current shares were accepted: make the new KEK and its shares,
 * and either commit now or, with verification, keep the KEK until the
 * new shares come back.  Under keys_lock.
 */
static int
rekey_finish(struct response *resp)
{
	uint8_t		*kek = NULL;
	json_t		*o = NULL;
	int		 rc;

	if ((kek = sodium_malloc(KEY_LEN)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	if ((o = json_pack("{s:s, s:b, s:n, s:b, s:b}", "nonce",
	    rekey_att.nonce, "complete", 1, "pgp_fingerprints", "backup", 0,
	    "verification_required", rekey_verify)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	if ((rc = sys_seal_new_kek(kek, rekey_n, rekey_t, o)) != CF_OK)
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
	} else if ((rc = keys_rekey(kek, rekey_n, rekey_t)) != CF_OK)
		goto out;
	rc = sys_seal_reply_secret(resp, o);
	o = NULL;
 out:
	json_decref(o);			/* wiping allocator */
	sodium_free(kek);		/* wipes */
	return rc;
}

static int
sys_rekey_update(struct request *req, struct response *resp)
{
	uint8_t		*share = NULL, *kek = NULL;
	size_t		 len;
	const char	*nonce;
	int		 rc, more;

	if ((share = sodium_malloc(SHARE_MAX)) == NULL ||
	    (kek = sodium_malloc(KEY_LEN)) == NULL) {
		sodium_free(share);
		return CF_ENOMEM;
	}
	/* The root key and keyring may be rewrapped: exclusive. */
	core_wrlock();
	keys_lock();
	if ((rc = rekey_precheck(resp)) != CF_OK ||
	    (rc = body_need(req, resp)) != CF_OK ||
	    (rc = body_str(req, resp, "nonce", &nonce)) != CF_OK ||
	    (rc = sys_seal_share(req, resp, share, &len, "")) != CF_OK)
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
	if ((rc = offer_current(resp, &rekey_att, "rekey", nonce, share, len,
	    kek, "failed to read root key: failed to decrypt keys from "
	    "storage: ", &more)) != CF_OK)
		goto out;
	if (more) {
		rc = rekey_status(resp);
		goto out;
	}
	if ((rc = rekey_finish(resp)) == CF_OK && !rekey_verify)
		rekey_reset();
 out:
	keys_unlock();
	core_unlock();
	sodium_free(share);		/* wipes */
	sodium_free(kek);
	return rc;
}

/* The verification status object.  Under keys_lock. */
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
	if ((rc = body_need(req, resp)) != CF_OK ||
	    (rc = body_str(req, resp, "nonce", &nonce)) != CF_OK ||
	    (rc = sys_seal_share(req, resp, share, &len, "")) != CF_OK)
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
	if ((rc = sys_seal_offer(resp, &verify_att, "verify", "verify", nonce,
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
	if ((rc = keys_rekey(rekey_kek, rekey_n, rekey_t)) != CF_OK)
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
verify_op(struct request *req, struct response *resp)
{
	int	 rc;

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
	return rc;
}

/* The verification changes the stored keys: exclusive. */
static int
sys_rekey_verify(struct request *req, struct response *resp)
{
	return rekey_locked(req, resp, 1, verify_op);
}

void
sys_rekey_forget(int release)
{
	keys_lock();
	genroot_reset();
	rekey_reset();
	if (release) {
		shares_release(&genroot_att);
		shares_release(&rekey_att);
		shares_release(&verify_att);
	}
	keys_unlock();
}

void
sys_rekey_register(void)
{
	router_raw("sys/generate-root/attempt", 0, sys_genroot_attempt);
	router_raw("sys/generate-root/update", 0, sys_genroot_update);
	router_raw("sys/rekey/init", 0, sys_rekey_init);
	router_raw("sys/rekey/update", 0, sys_rekey_update);
	router_raw("sys/rekey/verify", 0, sys_rekey_verify);
}
