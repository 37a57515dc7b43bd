/*
 * sys_leases.c -- the lease endpoints of sys/.
 *
 * coffer has no dynamic secrets: its leases are those of service tokens
 * and wrapping tokens, "<creation path>/h<salted token id>", indexed by
 * the token store (token_lease_*).  A lease's times are its token's;
 * revoking a lease revokes the token with its whole subtree.  Token
 * leases are renewed through auth/token/renew*, never here, so renewal
 * answers only with Vault's refusals.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "req.h"
#include "sys.h"
#include "sys_leases.h"
#include "timeutil.h"
#include "token.h"

#define UNSUPPORTED	"1 error occurred:\n\t* unsupported path\n\n"

static int
method_not_allowed(struct response *resp)
{
	resp->err_empty = 1;
	return CF_EMETHOD;
}

static int
is_write(const struct request *req)
{
	return req->op == REQ_UPDATE || req->op == REQ_CREATE;
}

/*
 * What follows base in rel: NULL if rel is not base or "base/...";
 * else "" or the text after "base/".
 */
static const char *
suffix(const char *rel, const char *base)
{
	size_t	 len = strlen(base);

	if (strncmp(rel, base, len) != 0)
		return NULL;
	if (rel[len] == '\0')
		return rel + len;
	return rel[len] == '/' ? rel + len + 1 : NULL;
}

/* The lease id of a request: the body's, else the URL's (may be NULL). */
static int
lease_arg(struct request *req, struct response *resp, const char *url,
    const char **id)
{
	int	 rc;

	*id = NULL;
	if ((rc = req_str(req, resp, "lease_id", id, NULL)) != CF_OK)
		return rc;
	if (*id == NULL || **id == '\0')
		*id = url != NULL && *url != '\0' ? url : NULL;
	if (*id == NULL)
		return resp_fail(resp, CF_EINVAL,
		    "lease_id must be specified");
	return CF_OK;
}

/*
 * The token entry behind a lease, with its hash; CF_ENOTFOUND when
 * either is gone (then a dangling index record is dropped).
 */
static int
lease_entry(const char *id, char *hash, json_t **e)
{
	int	 rc;

	*e = NULL;
	if ((rc = token_lease_hash(id, hash)) != CF_OK)
		return rc;
	if ((rc = token_entry(hash, e)) == CF_ENOTFOUND)
		(void)!token_lease_forget(id);
	return rc;
}

static void
put_time(json_t *o, const char *key, long long t)
{
	char	 ts[64];

	if (t <= 0) {
		json_object_set_new(o, key, json_null());
		return;
	}
	time_format_rfc3339(ts, sizeof(ts), t, 0);
	json_object_set_new(o, key, json_string(ts));
}

static int
lease_lookup(struct request *req, struct response *resp)
{
	char		 hash[TOKEN_HASH_LEN + 1];
	const char	*id = NULL;
	json_t		*e = NULL, *o;
	long long	 exp, now = (long long)time(NULL);
	int		 rc;

	if ((rc = req_str(req, resp, "lease_id", &id, NULL)) != CF_OK)
		return rc;
	if (id == NULL || *id == '\0')
		return resp_fail(resp, CF_EINVAL,
		    "lease_id must be specified");
	if ((rc = lease_entry(id, hash, &e)) == CF_ENOTFOUND)
		return resp_fail(resp, CF_EINVAL, "invalid lease");
	if (rc != CF_OK)
		return rc;
	exp = json_integer_value(json_object_get(e, "expire_time"));
	if ((o = json_object()) == NULL) {
		json_decref(e);
		return CF_ENOMEM;
	}
	put_time(o, "expire_time", exp);
	json_object_set_new(o, "id", json_string(id));
	put_time(o, "issue_time", json_integer_value(json_object_get(e,
	    "creation_time")));
	put_time(o, "last_renewal", json_integer_value(json_object_get(e,
	    "last_renewal")));
	json_object_set_new(o, "renewable", json_boolean(exp > now &&
	    json_is_true(json_object_get(e, "renewable"))));
	json_object_set_new(o, "ttl", json_integer(exp > 0 ? exp - now : 0));
	json_decref(e);
	return resp_data(resp, o);
}

static int
lease_list(const char *prefix, struct response *resp)
{
	struct strv	 sv = STRV_INIT;
	struct buf	 p = BUF_INIT;
	json_t		*keys = NULL;
	size_t		 i;
	int		 rc;

	if ((rc = buf_puts(&p, prefix)) != CF_OK ||
	    (p.len > 0 && p.data[p.len - 1] != '/' &&
	    (rc = buf_puts(&p, "/")) != CF_OK))
		goto out;
	if ((rc = token_lease_list(p.len > 0 ? p.data : "", &sv)) != CF_OK)
		goto out;
	if (sv.n == 0) {
		resp->err_empty = 1;
		rc = CF_ENOTFOUND;
		goto out;
	}
	if ((keys = json_array()) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	for (i = 0; i < sv.n; i++)
		if (json_array_append_new(keys, json_string(sv.v[i])) != 0) {
			json_decref(keys);
			rc = CF_ENOMEM;
			goto out;
		}
	rc = resp_data(resp, json_pack("{s:o}", "keys", keys));
 out:
	buf_free(&p);
	strv_free(&sv);
	return rc;
}

/* PUT sys/leases/lookup, LIST sys/leases/lookup/<prefix>. */
static int
sys_leases_lookup(struct request *req, struct response *resp)
{
	const char	*rest = suffix(req->rel, "leases/lookup");

	if (req->op == REQ_LIST)
		return lease_list(rest, resp);
	if (!is_write(req))
		return method_not_allowed(resp);
	if (*rest != '\0')
		return resp_fail(resp, CF_ENOTFOUND, UNSUPPORTED);
	return lease_lookup(req, resp);
}

/* sys/leases/renew[/<id>], sys/renew[/<id>]: the order of Vault's checks. */
static int
sys_leases_renew(struct request *req, struct response *resp)
{
	char		 hash[TOKEN_HASH_LEN + 1];
	const char	*url, *id;
	json_t		*e = NULL;
	long long	 inc, exp;
	int		 rc;

	if (!is_write(req))
		return method_not_allowed(resp);
	if ((url = suffix(req->rel, "leases/renew")) == NULL)
		url = suffix(req->rel, "renew");
	if ((rc = lease_arg(req, resp, url, &id)) != CF_OK ||
	    (rc = req_duration(req, resp, "increment", &inc, NULL)) != CF_OK)
		return rc;
	if ((rc = lease_entry(id, hash, &e)) == CF_ENOTFOUND)
		return resp_fail(resp, CF_EINVAL, "lease not found");
	if (rc != CF_OK)
		return rc;
	exp = json_integer_value(json_object_get(e, "expire_time"));
	if (exp == 0)
		rc = resp_fail(resp, CF_EINVAL, "lease is not renewable");
	else if (exp <= (long long)time(NULL))
		rc = resp_fail(resp, CF_EINVAL, "lease expired");
	else if (!json_is_true(json_object_get(e, "renewable")))
		rc = resp_fail(resp, CF_EINVAL, "lease is not renewable");
	else
		rc = resp_fail(resp, CF_EINVAL,
		    "tokens cannot be renewed through this endpoint");
	json_decref(e);
	return rc;
}

/* Revoke one lease: its token and subtree, then its record. */
static int
revoke_one(const char *id, int force)
{
	char	 hash[TOKEN_HASH_LEN + 1];
	int	 rc;

	if ((rc = token_lease_hash(id, hash)) == CF_ENOTFOUND)
		return CF_OK;
	if (rc == CF_OK)
		rc = token_revoke(hash, 0);
	if (rc != CF_OK && !force)
		return rc;
	return token_lease_forget(id);
}

/* sys/leases/revoke[/<id>], sys/revoke[/<id>]. */
static int
sys_leases_revoke(struct request *req, struct response *resp)
{
	const char	*url, *id;
	int		 rc, sync = 1;

	if (!is_write(req))
		return method_not_allowed(resp);
	if ((url = suffix(req->rel, "leases/revoke")) == NULL)
		url = suffix(req->rel, "revoke");
	if ((rc = lease_arg(req, resp, url, &id)) != CF_OK ||
	    (rc = req_bool(req, resp, "sync", &sync, NULL)) != CF_OK)
		return rc;
	/*
	 * Without sync Vault answers before its expiration manager runs;
	 * coffer's revocation is as quick as the answer, so it is done
	 * first either way and only the answer differs.
	 */
	if ((rc = revoke_one(id, 0)) != CF_OK)
		return rc;
	if (!sync) {
		resp->raw = 1;
		resp->status = 202;
	}
	return CF_OK;
}

/* Every lease id below prefix (ending in '/'), depth first, into out. */
static int
collect(const char *prefix, struct strv *out)
{
	struct strv	 sv = STRV_INIT;
	struct buf	 p = BUF_INIT;
	size_t		 i, len;
	int		 rc;

	if ((rc = token_lease_list(prefix, &sv)) != CF_OK)
		goto out;
	for (i = 0; i < sv.n && rc == CF_OK; i++) {
		buf_free(&p);
		if ((rc = buf_puts(&p, prefix)) != CF_OK ||
		    (rc = buf_puts(&p, sv.v[i])) != CF_OK)
			break;
		len = strlen(sv.v[i]);
		if (len > 0 && sv.v[i][len - 1] == '/')
			rc = collect(p.data, out);
		else
			rc = strv_push(out, p.data);
	}
 out:
	buf_free(&p);
	strv_free(&sv);
	return rc;
}

/*
 * revoke-prefix and revoke-force: a prefix without a trailing '/' that
 * is itself a lease id revokes that lease alone; otherwise every lease
 * below prefix + "/".  force: errors are ignored, records dropped.
 */
static int
revoke_prefix(struct request *req, struct response *resp, const char *prefix,
    int force)
{
	char		 hash[TOKEN_HASH_LEN + 1];
	struct strv	 ids = STRV_INIT;
	struct buf	 p = BUF_INIT;
	size_t		 i, len = strlen(prefix);
	int		 rc, sync = 1;

	if (!force && (rc = req_bool(req, resp, "sync", &sync, NULL)) !=
	    CF_OK)
		return rc;
	if (len > 0 && prefix[len - 1] != '/' &&
	    token_lease_hash(prefix, hash) == CF_OK)
		rc = strv_push(&ids, prefix);
	else if ((rc = buf_puts(&p, prefix)) == CF_OK &&
	    (len == 0 || prefix[len - 1] != '/'))
		rc = buf_puts(&p, "/");
	if (rc == CF_OK && ids.n == 0)
		rc = collect(p.data, &ids);
	for (i = 0; i < ids.n && rc == CF_OK; i++) {
		if ((rc = revoke_one(ids.v[i], force)) == CF_OK)
			continue;
		if (force)
			rc = CF_OK;
		else
			rc = resp_fail(resp, CF_EINVAL, "failed to revoke "
			    "\"%s\" (%zu / %zu): %s", ids.v[i], i + 1, ids.n,
			    cf_strerror(rc));
	}
	if (rc == CF_OK && !sync) {
		resp->raw = 1;
		resp->status = 202;
	}
	buf_free(&p);
	strv_free(&ids);
	return rc;
}

static int
sys_leases_revoke_prefix(struct request *req, struct response *resp)
{
	const char	*prefix;

	if (!is_write(req))
		return method_not_allowed(resp);
	if ((prefix = suffix(req->rel, "leases/revoke-prefix")) == NULL)
		prefix = suffix(req->rel, "revoke-prefix");
	if (prefix == NULL || *prefix == '\0')
		return resp_fail(resp, CF_ENOTFOUND, UNSUPPORTED);
	return revoke_prefix(req, resp, prefix, 0);
}

static int
sys_leases_revoke_force(struct request *req, struct response *resp)
{
	const char	*prefix;

	if (!is_write(req))
		return method_not_allowed(resp);
	if ((prefix = suffix(req->rel, "leases/revoke-force")) == NULL)
		prefix = suffix(req->rel, "revoke-force");
	if (prefix == NULL || *prefix == '\0')
		return resp_fail(resp, CF_ENOTFOUND, UNSUPPORTED);
	return revoke_prefix(req, resp, prefix, 1);
}

/*
 * sys/leases/tidy: drop index records whose token is gone and revoke
 * leases past their expiry.  It is quick enough to finish before the
 * answer, which is Vault's "started" all the same.
 */
static int
sys_leases_tidy(struct request *req, struct response *resp)
{
	char		 hash[TOKEN_HASH_LEN + 1];
	struct strv	 ids = STRV_INIT;
	json_t		*e;
	long long	 exp, now = (long long)time(NULL);
	size_t		 i;
	int		 rc;

	if (!is_write(req))
		return method_not_allowed(resp);
	rc = collect("", &ids);
	for (i = 0; i < ids.n && rc == CF_OK; i++) {
		if (lease_entry(ids.v[i], hash, &e) != CF_OK)
			continue;
		exp = json_integer_value(json_object_get(e, "expire_time"));
		json_decref(e);
		if (exp != 0 && exp <= now)
			rc = revoke_one(ids.v[i], 0);
	}
	strv_free(&ids);
	if (rc != CF_OK)
		return rc;
	return resp_tidy_started(resp);
}

/*
 * GET sys/leases?type=irrevocable and sys/leases/count: coffer's
 * revocations never fail in the background, so none is irrevocable.
 */
static int
sys_leases_irrevocable(struct request *req, struct response *resp)
{
	const char	*type = NULL;
	int		 count, rc;

	count = strcmp(req->rel, "leases/count") == 0;
	if (req->op != REQ_READ)
		return method_not_allowed(resp);
	if ((rc = req_str(req, resp, "type", &type, NULL)) != CF_OK)
		return rc;
	if (type == NULL || strcmp(type, "irrevocable") != 0)
		return resp_fail(resp, CF_ENOTFOUND, UNSUPPORTED);
	if (count)
		return resp_data(resp, json_pack("{s:{}, s:i}", "counts",
		    "lease_count", 0));
	return resp_data(resp, json_pack("{s:i, s:[]}", "lease_count", 0,
	    "leases"));
}

void
sys_leases_register(void)
{
	sys_route("leases", 0, sys_leases_irrevocable);
	sys_route("leases/count", 0, sys_leases_irrevocable);
	sys_route("leases/lookup", 1, sys_leases_lookup);
	sys_route("leases/renew", 1, sys_leases_renew);
	sys_route("leases/revoke", 1, sys_leases_revoke);
	sys_route("leases/revoke-prefix", 1, sys_leases_revoke_prefix);
	sys_route("leases/revoke-force", 1, sys_leases_revoke_force);
	sys_route("leases/tidy", 0, sys_leases_tidy);
	sys_route("renew", 1, sys_leases_renew);
	sys_route("revoke", 1, sys_leases_revoke);
	sys_route("revoke-prefix", 1, sys_leases_revoke_prefix);
	sys_route("revoke-force", 1, sys_leases_revoke_force);
}
