/*
 * tokenapi_ops.c -- auth/token/lookup*, renew* and revoke*: by the
 * token sent, the caller's own or an accessor, and the renewal checks
 * that login methods register (tokenapi_renew_hook).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "acl.h"
#include "buf.h"
#include "core.h"
#include "err.h"
#include "lock.h"
#include "log.h"
#include "paths.h"
#include "req.h"
#include "router.h"
#include "storage.h"
#include "strutil.h"
#include "timeutil.h"
#include "token.h"
#include "tokenapi.h"
#include "tokenapi_int.h"

#define TOKENAPI_RENEW_HOOKS	8

/* Login methods' renewal checks, by mount type; written at startup. */
static struct {
	const char	*type;
	int		(*fn)(struct mount *, json_t *, struct response *,
			    struct login_renew *);
} renew_hooks[TOKENAPI_RENEW_HOOKS];

/* The lookup shape of an entry; id is the token as sent, or "". */
static json_t *
lookup_data(const char *id, json_t *e)
{
	long long	 exp, now = (long long)time(NULL);
	char		 ts[64];
	json_t		*o;

	exp = json_integer_value(json_object_get(e, "expire_time"));
	o = json_pack("{s:O, s:O, s:O, s:O, s:s, s:O, s:s, s:O, s:O, s:O, "
	    "s:O, s:O, s:I, s:s}",
	    "accessor", json_object_get(e, "accessor"),
	    "creation_time", json_object_get(e, "creation_time"),
	    "creation_ttl", json_object_get(e, "creation_ttl"),
	    "display_name", json_object_get(e, "display_name"),
	    "entity_id", "",
	    "explicit_max_ttl", json_object_get(e, "explicit_max_ttl"),
	    "id", id,
	    "meta", json_object_get(e, "meta"),
	    "num_uses", json_object_get(e, "num_uses"),
	    "orphan", json_object_get(e, "orphan"),
	    "path", json_object_get(e, "path"),
	    "policies", json_object_get(e, "policies"),
	    "ttl", (json_int_t)(exp > now ? exp - now : 0),
	    "type", tapi_is_batch(e) ? "batch" : "service");
	if (o == NULL)
		return NULL;
	if (exp > 0) {
		time_format_rfc3339(ts, sizeof(ts), exp, 0);
		json_object_set_new(o, "expire_time", json_string(ts));
		time_format_rfc3339(ts, sizeof(ts), json_integer_value(
		    json_object_get(e, "issue_time")), 0);
		json_object_set_new(o, "issue_time", json_string(ts));
		json_object_set(o, "renewable",
		    json_object_get(e, "renewable"));
	} else
		json_object_set_new(o, "expire_time", json_null());
	if (json_integer_value(json_object_get(e, "period")) > 0)
		json_object_set(o, "period", json_object_get(e, "period"));
	if (json_array_size(json_object_get(e, "bound_cidrs")) > 0)
		json_object_set(o, "bound_cidrs", json_object_get(e,
		    "bound_cidrs"));
	return o;
}

/* The hash of the token named in the body ("token"), or the caller's. */
static int
target_hash(struct request *req, struct response *resp, int self,
    char *hash, const char **tok)
{
	int	 rc;

	*tok = req->token;
	if (self) {
		memcpy(hash, req->auth->hash, TOKEN_HASH_LEN + 1);
		return CF_OK;
	}
	if ((rc = req_str(req, resp, "token", tok, NULL)) != CF_OK)
		return rc;
	if (*tok == NULL || **tok == '\0')
		return resp_fail(resp, CF_EINVAL, "missing token ID");
	return token_hash(*tok, hash);
}

int
tapi_lookup(struct request *req, struct response *resp, int self)
{
	char		 hash[TOKEN_HASH_LEN + 1];
	struct auth_ctx	*ac = NULL;
	const char	*tok;
	json_t		*e = NULL;
	int		 rc;

	/*
	 * The caller's own entry is copied: it may be the token cache's,
	 * which no response shares.
	 */
	if (self) {
		e = json_deep_copy(req->auth->entry);
		tok = req->token;
	} else {
		if ((rc = req_str(req, resp, "token", &tok, NULL)) != CF_OK)
			return rc;
		if (tok == NULL || *tok == '\0') {
			tok = req->token;
			e = json_deep_copy(req->auth->entry);
		} else if (strncmp(tok, "hvb.", 4) == 0) {
			/*
			 * A batch token is stored nowhere: it is its own
			 * entry, as Vault's lookup opens it, and it is a
			 * "bad token" once expired or orphaned by its
			 * parent's revocation.
			 */
			if ((rc = token_peek(tok, &ac)) == CF_EDENIED)
				return resp_fail(resp, CF_EDENIED,
				    "bad token");
			if (rc != CF_OK)
				return rc;
			e = json_deep_copy(ac->entry);
			token_auth_ctx_free(ac);
		} else {
			if ((rc = token_hash(tok, hash)) != CF_OK)
				return rc;
			rc = token_entry(hash, &e);
			if (rc == CF_ENOTFOUND ||
			    (rc == CF_OK && json_integer_value(json_object_get(
			    e, "expire_time")) != 0 && json_integer_value(
			    json_object_get(e, "expire_time")) <=
			    (long long)time(NULL))) {
				json_decref(e);
				return resp_fail(resp, CF_EDENIED, "bad token");
			}
			if (rc != CF_OK)
				return rc;
		}
	}
	resp->wipe = 1;
	rc = resp_data(resp, lookup_data(tok, e));
	json_decref(e);
	return rc;
}

int
tapi_lookup_accessor(struct request *req, struct response *resp)
{
	json_t	*e = NULL;
	int	 rc;

	if ((rc = token_entry_by_accessor(req, resp, &e)) != CF_OK)
		return rc;
	rc = resp_data(resp, lookup_data("", e));
	json_decref(e);
	return rc;
}

int
tapi_revoke(struct request *req, struct response *resp, int self,
    int orphan)
{
	char		 hash[TOKEN_HASH_LEN + 1];
	const char	*tok;
	int		 rc;

	if (orphan && !tapi_has_sudo(req))
		return resp_fail(resp, CF_EINVAL, "root or sudo privileges "
		    "required to revoke and orphan");
	if ((rc = target_hash(req, resp, self, hash, &tok)) != CF_OK)
		return rc;
	if (strncmp(tok, "hvb.", 4) == 0)
		return resp_fail(resp, CF_EINVAL,
		    "batch tokens cannot be revoked");
	if (orphan) {
		json_t	*e = NULL;

		if (token_entry(hash, &e) != CF_OK)
			return resp_fail(resp, CF_EINVAL,
			    "token to revoke not found");
		json_decref(e);
	}
	return token_revoke(hash, orphan);
}

int
tapi_revoke_accessor(struct request *req, struct response *resp)
{
	char	 hash[TOKEN_HASH_LEN + 1];
	int	 rc, found;

	if ((rc = token_accessor_field(req, resp, hash, &found)) != CF_OK)
		return rc;
	if (!found)
		return resp_warn(resp, "No token found with this accessor");
	return token_revoke(hash, 0);
}

void
tokenapi_renew_hook(const char *type, int (*fn)(struct mount *, json_t *,
    struct response *, struct login_renew *))
{
	size_t	 i;

	for (i = 0; i < TOKENAPI_RENEW_HOOKS; i++)
		if (renew_hooks[i].type == NULL) {
			renew_hooks[i].type = type;
			renew_hooks[i].fn = fn;
			return;
		}
	CF_BUG("too many renewal hooks");
}

/*
 * Ask the login method that issued e for its current settings; *hooked
 * is 0 for tokens no method answers for.
 */
static int
renew_check(json_t *e, struct response *resp, struct login_renew *lr,
    int *hooked)
{
	struct mount	*m;
	const char	*path = json_string_value(json_object_get(e, "path"));
	size_t		 i;
	int		 rc = CF_OK;

	memset(lr, 0, sizeof(*lr));
	*hooked = 0;
	if (path == NULL || strncmp(path, "auth/", 5) != 0 ||
	    (m = router_mount_get(path)) == NULL)
		return CF_OK;
	for (i = 0; i < TOKENAPI_RENEW_HOOKS && renew_hooks[i].type != NULL;
	    i++)
		if (strcmp(renew_hooks[i].type, m->ops->type) == 0) {
			rc = renew_hooks[i].fn(m, e, resp, lr);
			*hooked = 1;
			break;
		}
	router_mount_unref(m);
	return rc;
}

int
tapi_renew(struct request *req, struct response *resp, int self)
{
	struct login_renew lr;
	char		 hash[TOKEN_HASH_LEN + 1];
	const char	*tok;
	json_t		*e = NULL;
	long long	 inc = 0, ttl, now = (long long)time(NULL), maxexp;
	long long	 period, def, max, lmax;
	int		 rc, hooked;

	if ((rc = target_hash(req, resp, self, hash, &tok)) != CF_OK ||
	    (rc = req_duration(req, resp, "increment", &inc, NULL)) != CF_OK)
		return rc;
	if (tok != NULL && strncmp(tok, "hvb.", 4) == 0)
		return resp_fail(resp, CF_EINVAL,
		    "batch tokens cannot be renewed");
	if ((rc = token_entry(hash, &e)) == CF_ENOTFOUND)
		return resp_fail(resp, CF_EINVAL, "token not found");
	if (rc != CF_OK)
		return rc;
	if (json_integer_value(json_object_get(e, "expire_time")) == 0) {
		rc = resp_fail(resp, CF_EINVAL, "invalid lease ID");
		goto out;
	}
	if (!json_is_true(json_object_get(e, "renewable"))) {
		rc = resp_fail(resp, CF_EINVAL, "lease is not renewable");
		goto out;
	}
	if ((rc = renew_check(e, resp, &lr, &hooked)) != CF_OK || lr.gone)
		goto out;
	tapi_mount_ttls(json_string_value(json_object_get(e, "path")), &def,
	    &max);
	period = json_integer_value(json_object_get(e, "period"));
	lmax = json_integer_value(json_object_get(e, "max_ttl"));
	ttl = json_integer_value(json_object_get(e, "creation_ttl"));
	/* A login method's current settings replace those of the login. */
	if (hooked) {
		period = lr.period;
		lmax = lr.max_ttl;
		ttl = lr.ttl > 0 ? lr.ttl : def;
	}
	if (period > 0)
		ttl = period;
	else if (inc > 0)
		ttl = inc;
	/*
	 * Capped by the issuing mount's max TTL and the login's
	 * token_max_ttl.  Stored values may predate the duration bounds:
	 * add saturating.
	 */
	if (lmax > 0 && lmax < max)
		max = lmax;
	maxexp = time_add(json_integer_value(json_object_get(e,
	    "creation_time")), max);
	if (json_integer_value(json_object_get(e, "max_expire")) > 0 &&
	    json_integer_value(json_object_get(e, "max_expire")) < maxexp)
		maxexp = json_integer_value(json_object_get(e, "max_expire"));
	if (period > 0 && json_integer_value(json_object_get(e,
	    "max_expire")) == 0)
		maxexp = time_add(now, ttl);
	if (time_add(now, ttl) > maxexp) {
		ttl = maxexp - now;
		resp_warn(resp, "TTL exceeded the effective max_ttl; TTL value "
		    "is capped accordingly");
	}
	json_object_set_new(e, "expire_time", json_integer(time_add(now,
	    ttl)));
	json_object_set_new(e, "issue_time", json_integer(now));
	json_object_set_new(e, "last_renewal", json_integer(now));
	if ((rc = token_entry_put(hash, e)) != CF_OK)
		goto out;
	rc = tapi_auth_reply(resp, tok, e);
 out:
	json_decref(e);
	return rc;
}

int
tapi_renew_accessor(struct request *req, struct response *resp)
{
	char		 hash[TOKEN_HASH_LEN + 1];
	const char	*acc = NULL;
	json_t		*e = NULL;
	int		 rc;

	if ((rc = req_str(req, resp, "accessor", &acc, NULL)) != CF_OK)
		return rc;
	if (acc == NULL || *acc == '\0')
		return resp_fail(resp, CF_EINVAL, "missing accessor");
	if (token_accessor_hash(acc, hash) != CF_OK)
		return resp_fail(resp, CF_EINVAL, "invalid accessor");
	memcpy(req->auth->hash, hash, sizeof(hash));
	rc = tapi_renew(req, resp, 1);
	if (rc == CF_OK && resp->auth != NULL)
		json_object_set_new(resp->auth, "client_token",
		    json_string(""));
	json_decref(e);
	return rc;
}
