/*
 * seal.c -- the seal's front (seal.h): sys/init and dev mode's
 * initialization, the cluster's identity, and the registration of
 * every seal route and hook.
 *
 * The seal is four modules, from the bottom: seal/shares.c collects
 * shares towards a goal; keys.c owns the key hierarchy (seal
 * configuration, root key, keyring storage; init, unseal, rotate,
 * rekey and HA reload as they touch them); sys_seal.c answers
 * sys/unseal, sys/seal-status, sys/seal, sys/step-down, sys/rotate and
 * sys/key-status; sys_rekey.c answers sys/generate-root/... and
 * sys/rekey/....  This file answers sys/init and ties them together.
 *
 * Behaviour follows Vault 1.14's handlers, check by check and in the
 * same order (http/sys_init.go, vault/init.go), so that clients see the
 * same status and text for the same mistake.  The shares and root
 * token being returned live in sodium_malloc memory, and response JSON
 * carrying them is freed through jansson's wiping allocator.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "body.h"
#include "buf.h"
#include "core.h"
#include "err.h"
#include "ha.h"
#include "jsonutil.h"
#include "keys.h"
#include "log.h"
#include "req.h"
#include "router.h"
#include "seal.h"
#include "shares.h"
#include "storage.h"
#include "sys_rekey.h"
#include "sys_seal.h"
#include "token.h"
#include "uuid4.h"

#define CLUSTER_KEY		"core/cluster"

#define KEY_LEN			KEYS_KEY_LEN
#define SHARE_MAX		SHARES_SHARE_MAX

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
	if ((rc = sys_seal_check_shares(*n, *t, "invalid seal configuration: ",
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

/*
 * Initialize under the core write lock: a new KEK, root key and keyring,
 * stored in one batch; then a root token, made while briefly unsealed.
 * Vault leaves the node sealed afterwards, and so does this unless
 * kek_out is given (dev mode), which receives the KEK and keeps the
 * node unsealed.  Otherwise resp gets the shares and the root token.
 * The shares are made before anything is stored, so that a failure
 * there leaves the node uninitialized rather than without shares; a
 * failure after the keys are stored is undone (keys_init_undo).
 */
static int
do_init(int n, int t, const char *root_id, struct response *resp,
    uint8_t *kek_out, char *token_out)
{
	uint8_t		*kek = NULL;
	char		*token = NULL;
	json_t		*o = NULL;
	int		 rc, stored = 0;

	if ((kek = sodium_malloc(KEY_LEN)) == NULL ||
	    (token = sodium_malloc(TOKEN_MAX_LEN + 1)) == NULL ||
	    (o = json_object()) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	if ((rc = sys_seal_new_kek(kek, n, t, o)) != CF_OK ||
	    (rc = keys_install(kek, n, t, &stored)) != CF_OK)
		goto out;
	/* With HA, init holds the storage lock: active for the root token. */
	if ((rc = core_become_active()) != CF_OK) {
		core_seal();
		goto out;
	}
	if ((rc = token_create_root(root_id, "auth/token/root", token)) !=
	    CF_OK) {
		core_seal();
		goto out;
	}
	if (kek_out != NULL) {
		memcpy(kek_out, kek, KEY_LEN);
		strlcpy(token_out, token, TOKEN_MAX_LEN + 1);
		goto out;
	}
	core_seal();
	if (json_object_set_new(o, "root_token", json_string(token)) != 0) {
		rc = CF_ENOMEM;
		goto out;
	}
	rc = sys_seal_reply_secret(resp, o);
	o = NULL;
 out:
	if (rc != CF_OK && stored) {
		if (core_state() == CORE_UNSEALED)
			core_seal();
		keys_init_undo();
	}
	json_decref(o);			/* wiping allocator */
	sodium_free(kek);		/* each wipes */
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
		if (core_state() == CORE_UNSEALED || keys_read_config(&cn, &ct,
		    &init) != CF_OK)
			init = core_state() != CORE_UNINITIALIZED;
		o = json_pack("{s:b}", "initialized", init);
		core_unlock();
		resp->raw = 1;
		return resp_data(resp, o);
	}
	if ((rc = body_need_update(req, resp)) != CF_OK ||
	    (rc = body_need(req, resp)) != CF_OK ||
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
	    (rc = keys_load_config()) != CF_OK)
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

/*
 * The stored cluster record into *out (NULL if none): CF_OK,
 * CF_ENOTFOUND, or the failure.
 */
static int
cluster_get(json_t **out)
{
	struct buf	 b = BUF_INIT;
	json_error_t	 e;
	int		 rc;

	*out = NULL;
	rc = core_get(CLUSTER_KEY, &b);
	if (rc == CF_OK && (*out = json_loadb(b.data, b.len, 0, &e)) == NULL)
		rc = CF_EINTERNAL;
	buf_free(&b);
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
	char		 id[REQ_ID_LEN + 1], gen[64];
	const char	*cn = core_conf()->cluster_name, *name, *sid;
	uint8_t		 r[4];
	int		 rc;

	rc = cluster_get(&j);
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
	json_t		*j = NULL;
	const char	*name, *sid;
	int		 rc;

	if ((rc = cluster_get(&j)) == CF_ENOTFOUND)
		rc = CF_OK;
	else if (rc == CF_OK && (name = json_string_value(json_object_get(j,
	    "name"))) != NULL && (sid = json_string_value(json_object_get(j,
	    "id"))) != NULL)
		core_set_cluster(name, sid);
	json_decref(j);
	return rc;
}

/*
 * Seal hook: every key and share the seal holds is wiped and its
 * region freed, so nothing of them stays in the process.
 */
static int
seal_forget(void)
{
	(void)keys_forget();
	sys_rekey_forget(1);
	return CF_OK;
}

/* Leave-active hook: share attempts belong to the active node. */
static int
drop_attempts(void)
{
	sys_rekey_forget(0);
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
	if ((rc = keys_load_config()) == CF_OK) {
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
	sys_seal_register();
	sys_rekey_register();
	core_on_unseal(peek_cluster);
	core_on_seal(seal_forget);
	core_on_active(keys_reload);
	core_on_active(load_cluster);
	core_on_standby(drop_attempts);
}

int
seal_load(void)
{
	return keys_load_config();
}
