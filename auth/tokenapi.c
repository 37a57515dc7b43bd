/*
 * tokenapi.c -- the auth/token/ backend: create, look up, renew and
 * revoke tokens over HTTP.
 *
 * Every path needs a token (the router checks it and the ACL); the
 * extra sudo rules of token creation are checked here against the
 * caller's ACL on the path of the call, as Vault does.  Storage and
 * hashing belong to token.c.
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

#define TOKENAPI_TIDY_SECONDS	60
#define TOKENAPI_RENEW_HOOKS	8

/* Login methods' renewal checks, by mount type; written at startup. */
static struct {
	const char	*type;
	int		(*fn)(struct mount *, json_t *, struct response *,
			    struct login_renew *);
} renew_hooks[TOKENAPI_RENEW_HOOKS];

static int	 token_renew_handler(struct request *, struct response *,
		    int);

static int
has_sudo(const struct request *req)
{
	int	 sudo = 0;

	if (req->auth->is_root)
		return 1;
	if (acl_check(req->auth->acl, req->path, REQ_UPDATE, NULL, &sudo) !=
	    CF_OK)
		return 0;
	return sudo;
}

static int
entry_has_policy(json_t *e, const char *p)
{
	json_t	*v;
	size_t	 i;

	json_array_foreach(json_object_get(e, "policies"), i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), p) == 0)
			return 1;
	return 0;
}

/*
 * "token-<display name>" as Vault makes it: every character other than
 * an ASCII letter, digit or '-' becomes one '-' (a multibyte UTF-8
 * character counts once), then one trailing '-' is dropped.  Vault
 * keeps the whole name, so the result is on the heap, as long as the
 * request allows; owned by the caller (free()), NULL if out of memory.
 */
static char *
display_name(const char *in)
{
	const unsigned char	*p;
	char			*out;
	size_t			 n = 0;

	if (*in == '\0')
		return strdup("token");
	if ((out = malloc(strlen(in) + sizeof("token-"))) == NULL)
		return NULL;
	memcpy(out, "token-", 6);
	n = 6;
	for (p = (const unsigned char *)in; *p != '\0'; p++) {
		if (*p < 0x80) {
			out[n++] = isalnum(*p) || *p == '-' ? (char)*p : '-';
			continue;
		}
		out[n++] = '-';
		if (*p >= 0xc0)		/* a lead byte: skip what follows */
			while ((p[1] & 0xc0) == 0x80)
				p++;
	}
	if (out[n - 1] == '-')
		n--;
	out[n] = '\0';
	return out;
}

/*
 * The durations of token creation, which Vault parses itself rather
 * than through its field schema: a negative one answers "<name> must
 * be positive".
 */
static int
create_duration(struct request *req, struct response *resp, const char *key,
    long long *out, int *present)
{
	json_t		*v = json_object_get(req->data, key);
	const char	*s;
	long long	 n;

	if (json_is_integer(v) && json_integer_value(v) < 0)
		return resp_fail(resp, CF_EINVAL, "%s must be positive", key);
	if (json_is_real(v) && json_real_value(v) <= -1)
		return resp_fail(resp, CF_EINVAL, "%s must be positive", key);
	if (json_is_string(v)) {
		s = json_string_value(v);
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '-' && duration_parse(s + 1, &n) == CF_OK && n > 0)
			return resp_fail(resp, CF_EINVAL, "%s must be positive",
			    key);
	}
	return req_duration(req, resp, key, out, present);
}

static int
is_batch(json_t *e)
{
	const char	*t = json_string_value(json_object_get(e, "type"));

	return t != NULL && strcmp(t, "batch") == 0;
}

static json_t *
auth_block(const char *token, json_t *e)
{
	json_t	*pols = json_object_get(e, "policies");
	long long exp = json_integer_value(json_object_get(e, "expire_time"));
	long long at = json_integer_value(json_object_get(e, "issue_time"));
	/* The TTL granted when expire_time was set, not what is left now. */
	long long ttl = exp > 0 ? exp - (at > 0 ? at : (long long)time(NULL)) :
	    0;

	return json_pack("{s:s, s:O, s:O, s:O, s:O, s:I, s:O, s:s, s:s, "
	    "s:O, s:n, s:O}",
	    "client_token", token,
	    "accessor", json_object_get(e, "accessor"),
	    "policies", pols, "token_policies", pols,
	    "metadata", json_object_get(e, "meta"),
	    "lease_duration", (json_int_t)(ttl > 0 ? ttl : 0),
	    "renewable", json_object_get(e, "renewable"),
	    "entity_id", "", "token_type", is_batch(e) ? "batch" : "service",
	    "orphan", json_object_get(e, "orphan"),
	    "mfa_requirement",
	    "num_uses", json_object_get(e, "num_uses"));
}

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
	    "type", is_batch(e) ? "batch" : "service");
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

/*
 * The TTLs of tokens issued under path: its auth mount's tuned
 * default_lease_ttl and max_lease_ttl, else the system's.
 */
static void
mount_ttls(const char *path, long long *def, long long *max)
{
	struct mount	*m;
	long long	 v;

	*def = core_conf()->default_lease_ttl;
	*max = core_conf()->max_lease_ttl;
	if (path == NULL || (m = router_mount_get(path)) == NULL)
		return;
	if ((v = json_integer_value(json_object_get(m->config,
	    "max_lease_ttl"))) > 0)
		*max = v;
	if ((v = json_integer_value(json_object_get(m->config,
	    "default_lease_ttl"))) > 0)
		*def = v;
	if (*def > *max)
		*def = *max;
	router_mount_put(m);
}

/* The new token's policies, by Vault's rules for tokens without roles. */
static int
child_policies(struct request *req, struct response *resp, int sudo,
    struct strv *out)
{
	struct strv	 asked = STRV_INIT;
	json_t		*pe = req->auth->entry, *v;
	size_t		 i;
	int		 rc, present, no_default = 0;

	if ((rc = req_bool(req, resp, "no_default_policy", &no_default,
	    NULL)) != CF_OK)
		goto out;
	v = json_object_get(req->data, "policies");
	if (v != NULL && json_is_string(v))	/* one name, never split */
		rc = strv_push(&asked, json_string_value(v));
	else
		rc = req_strlist(req, resp, "policies", &asked, &present);
	if (rc != CF_OK)
		goto out;
	for (i = 0; i < asked.n; i++)
		strutil_lower(asked.v[i]);
	if (asked.n == 0) {
		json_array_foreach(json_object_get(pe, "policies"), i, v)
			if ((rc = strv_push(out, json_string_value(v))) !=
			    CF_OK)
				goto out;
	} else {
		for (i = 0; i < asked.n; i++) {
			if (strcmp(asked.v[i], "response-wrapping") == 0) {
				rc = resp_fail(resp, CF_EINVAL, "cannot assign "
				    "policy \"response-wrapping\"");
				goto out;
			}
			if (!sudo && !req->auth->is_root &&
			    !entry_has_policy(pe, asked.v[i])) {
				rc = resp_fail(resp, CF_EINVAL, "child policies "
				    "must be subset of parent");
				goto out;
			}
			if (!strv_has(out, asked.v[i]) &&
			    (rc = strv_push(out, asked.v[i])) != CF_OK)
				goto out;
		}
		if ((sudo || entry_has_policy(pe, "default")) &&
		    !strv_has(out, "default") &&
		    (rc = strv_push(out, "default")) != CF_OK)
			goto out;
	}
	if (strv_has(out, "root")) {
		if (!req->auth->is_root) {
			rc = resp_fail(resp, CF_EINVAL, "root tokens may not be "
			    "created without parent token being root");
			goto out;
		}
		/* root is exclusive. */
		strv_free(out);
		rc = strv_push(out, "root");
		goto out;
	}
	if (no_default) {
		for (i = 0; i < out->n; i++)
			if (strcmp(out->v[i], "default") == 0) {
				free(out->v[i]);
				out->v[i] = out->v[--out->n];
				break;
			}
	}
	strv_sort(out);
 out:
	strv_free(&asked);
	return rc;
}

/*
 * Policies for create/<role>: the asked ones (or the role's allowed
 * list) must be allowed and not disallowed by the role; the parent's
 * own policies do not matter, as in Vault.
 */
static int
role_policies(struct request *req, struct response *resp, json_t *role,
    struct strv *out)
{
	struct strv	 asked = STRV_INIT, allowed = STRV_INIT;
	struct strv	 denied = STRV_INIT;
	json_t		*v;
	size_t		 i;
	int		 rc, nodef = 0;

	json_array_foreach(json_object_get(role, "allowed_policies"), i, v)
		if ((rc = strv_push(&allowed, json_string_value(v))) != CF_OK)
			goto out;
	json_array_foreach(json_object_get(role, "disallowed_policies"), i, v)
		if ((rc = strv_push(&denied, json_string_value(v))) != CF_OK)
			goto out;
	if ((rc = req_strlist(req, resp, "policies", &asked, NULL)) != CF_OK ||
	    (rc = req_bool(req, resp, "no_default_policy", &nodef, NULL)) !=
	    CF_OK)
		goto out;
	if (asked.n == 0)
		for (i = 0; i < allowed.n && rc == CF_OK; i++)
			rc = strv_push(&asked, allowed.v[i]);
	for (i = 0; i < asked.n && rc == CF_OK; i++) {
		if (strcmp(asked.v[i], "default") == 0)
			continue;
		if (strv_has(&denied, asked.v[i])) {
			rc = resp_fail(resp, CF_EINVAL, "token policy \"%s\" is "
			    "disallowed by this role", asked.v[i]);
			goto out;
		}
		if (allowed.n > 0 && !strv_has(&allowed, asked.v[i])) {
			rc = resp_fail(resp, CF_EINVAL, "token policies must be "
			    "subset of the role's allowed policies");
			goto out;
		}
		if (!strv_has(out, asked.v[i]))
			rc = strv_push(out, asked.v[i]);
	}
	if (rc == CF_OK && !nodef && !json_is_true(json_object_get(role,
	    "token_no_default_policy")) && !strv_has(&denied, "default") &&
	    !strv_has(out, "default"))
		rc = strv_push(out, "default");
	strv_sort(out);
 out:
	strv_free(&asked);
	strv_free(&allowed);
	strv_free(&denied);
	return rc;
}

static int
token_create_handler(struct request *req, struct response *resp, int orphan,
    json_t *role)
{
	struct token_params	 tp;
	struct strv		 pols = STRV_INIT;
	const char		*id = NULL, *dn = "", *type = NULL;
	char			*token = NULL, *dname = NULL;
	json_t			*e = NULL, *meta, *v;
	long long		 ttl = 0, maxttl = 0, period = 0, uses = 0;
	long long		 mount_max, mount_def;
	int			 rc, no_parent = 0, renewable = 1, sudo, have_ttl;
	int			 pe_uses, batch = 0;
	char			*btoken = NULL;

	mount_ttls(req->path, &mount_def, &mount_max);
	sudo = has_sudo(req);
	pe_uses = (int)json_integer_value(json_object_get(req->auth->entry,
	    "num_uses"));
	if (pe_uses > 0 || json_integer_value(json_object_get(
	    req->auth->entry, "num_uses")) < 0)
		return resp_fail(resp, CF_EINVAL, "restricted use token cannot "
		    "generate child tokens");
	if ((rc = req_str(req, resp, "id", &id, NULL)) != CF_OK ||
	    (rc = req_str(req, resp, "display_name", &dn, NULL)) != CF_OK ||
	    (rc = req_str(req, resp, "type", &type, NULL)) != CF_OK ||
	    (rc = req_bool(req, resp, "no_parent", &no_parent, NULL)) != CF_OK ||
	    (rc = req_bool(req, resp, "renewable", &renewable, NULL)) != CF_OK ||
	    (rc = create_duration(req, resp, "ttl", &ttl, &have_ttl)) !=
	    CF_OK ||
	    (rc = create_duration(req, resp, "explicit_max_ttl", &maxttl,
	    NULL)) != CF_OK ||
	    (rc = create_duration(req, resp, "period", &period, NULL)) !=
	    CF_OK ||
	    (rc = req_int(req, resp, "num_uses", &uses, NULL)) != CF_OK)
		goto out;
	if (!have_ttl && (rc = create_duration(req, resp, "lease", &ttl,
	    &have_ttl)) != CF_OK)
		goto out;
	if (dn == NULL)
		dn = "";
	if (uses < 0) {
		rc = resp_fail(resp, CF_EINVAL,
		    "number of uses cannot be negative");
		goto out;
	}
	if (is_batch(req->auth->entry)) {
		rc = resp_fail(resp, CF_EINVAL,
		    "batch tokens cannot create more tokens");
		goto out;
	}
	if (type != NULL && strcmp(type, "service") != 0 &&
	    strcmp(type, "batch") != 0) {
		rc = resp_fail(resp, CF_EINVAL, "invalid 'token_type' value");
		goto out;
	}
	batch = type != NULL && strcmp(type, "batch") == 0;
	if (batch && (uses > 0 || period > 0 || maxttl > 0)) {
		rc = resp_fail(resp, CF_EINVAL, "batch tokens cannot have "
		    "\"%s\" set", uses > 0 ? "num_uses" : period > 0 ?
		    "period" : "explicit_max_ttl");
		goto out;
	}
	if (no_parent && !orphan && !sudo) {
		rc = resp_fail(resp, CF_EINVAL, "root or sudo privileges "
		    "required to create orphan token");
		goto out;
	}
	if (id != NULL && *id != '\0') {
		if (!sudo) {
			rc = resp_fail(resp, CF_EINVAL, "root or sudo "
			    "privileges required to specify token id");
			goto out;
		}
		if (strncmp(id, "hvs.", 4) == 0 || strncmp(id, "s.", 2) == 0 ||
		    strchr(id, '.') != NULL || strlen(id) > TOKEN_MAX_LEN) {
			rc = resp_fail(resp, CF_EINVAL, "custom token ID cannot "
			    "have the 'hvs.' or 's.' prefix or a '.' in the "
			    "value");
			goto out;
		}
	} else
		id = NULL;
	if (period > 0 && !sudo && role == NULL) {
		rc = resp_fail(resp, CF_EINVAL, "root or sudo privileges "
		    "required to create periodic token");
		goto out;
	}
	/* Vault's client sends "" for unset: only a real alias is news. */
	if ((v = json_object_get(req->data, "entity_alias")) != NULL &&
	    !json_is_null(v) && !(json_is_string(v) &&
	    *json_string_value(v) == '\0'))
		resp_warn(resp, "entity_alias is ignored: coffer has no "
		    "identity store");
	if (role != NULL) {
		long long	 rp = json_integer_value(json_object_get(role,
		    "token_period"));
		long long	 rm = json_integer_value(json_object_get(role,
		    "token_explicit_max_ttl"));

		if ((rc = role_policies(req, resp, role, &pols)) != CF_OK)
			goto out;
		if (json_is_true(json_object_get(role, "orphan")))
			orphan = 1;
		if (!json_is_true(json_object_get(role, "renewable")))
			renewable = 0;
		if (rp > 0 && (period == 0 || rp < period))
			period = rp;
		if (rm > 0 && (maxttl == 0 || rm < maxttl))
			maxttl = rm;
	} else if ((rc = child_policies(req, resp, sudo, &pols)) != CF_OK)
		goto out;
	/* TTLs: the default, capped by the effective max. */
	if (maxttl > 0 && maxttl < mount_max)
		mount_max = maxttl;
	if (period > 0)
		ttl = period < mount_max ? period : mount_max;
	else if (!have_ttl || ttl == 0) {
		if (strv_has(&pols, "root") && json_integer_value(
		    json_object_get(req->auth->entry, "expire_time")) == 0)
			ttl = 0;	/* a root child of a root parent */
		else
			ttl = mount_def;
	}
	if (ttl > mount_max) {
		ttl = mount_max;
		resp_warn(resp, "TTL exceeded the effective max_ttl; TTL value "
		    "is capped accordingly");
	}
	meta = json_object_get(req->data, "meta");
	if (meta != NULL && !json_is_object(meta) && !json_is_null(meta)) {
		rc = resp_fail(resp, CF_EINVAL, "meta must be a map of strings");
		goto out;
	}
	if ((dname = display_name(dn)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	memset(&tp, 0, sizeof(tp));
	tp.id = id;
	tp.policies = &pols;
	tp.meta = meta != NULL && json_is_object(meta) ? meta : NULL;
	tp.parent = orphan || no_parent ? NULL : req->auth->hash;
	tp.path = req->path;
	tp.display_name = dname;
	tp.ttl = ttl;
	tp.explicit_max_ttl = maxttl;
	tp.period = period;
	tp.num_uses = uses;
	tp.renewable = renewable;
	/* A role's list, or without a role the parent's (Vault's rule). */
	tp.bound_cidrs = role != NULL ? json_object_get(role,
	    "token_bound_cidrs") : json_object_get(req->auth->entry,
	    "bound_cidrs");
	if (batch) {
		if (strv_has(&pols, "root")) {
			rc = resp_fail(resp, CF_EINVAL,
			    "batch tokens cannot be root tokens");
			goto out;
		}
		if (ttl == 0)
			ttl = mount_def;
		tp.ttl = ttl;
		tp.renewable = 0;
		if ((rc = token_create_batch(&tp, &btoken, &e)) != CF_OK)
			goto out;
		if ((resp->auth = auth_block(btoken, e)) == NULL)
			rc = CF_ENOMEM;
		else
			json_object_set_new(resp->auth, "accessor",
			    json_string(""));
		resp->wipe = 1;
		goto out;
	}
	if ((token = sodium_malloc(TOKEN_MAX_LEN + 1)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	if ((rc = token_create(&tp, token, &e)) == CF_EINVAL) {
		rc = resp_fail(resp, CF_EINVAL,
		    "cannot create a token with a duplicate ID");
		goto out;
	}
	if (rc != CF_OK)
		goto out;
	if ((resp->auth = auth_block(token, e)) == NULL)
		rc = CF_ENOMEM;
	resp->wipe = 1;
 out:
	json_decref(e);
	free(dname);
	strv_free(&pols);
	sodium_free(token);
	sodium_free(btoken);
	return rc;
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

static int
token_lookup_handler(struct request *req, struct response *resp, int self)
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
			auth_ctx_free(ac);
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

static int
token_lookup_accessor(struct request *req, struct response *resp)
{
	json_t	*e = NULL;
	int	 rc;

	if ((rc = token_entry_by_accessor(req, resp, &e)) != CF_OK)
		return rc;
	rc = resp_data(resp, lookup_data("", e));
	json_decref(e);
	return rc;
}

static int
token_revoke_handler(struct request *req, struct response *resp, int self,
    int orphan)
{
	char		 hash[TOKEN_HASH_LEN + 1];
	const char	*tok;
	int		 rc;

	if (orphan && !has_sudo(req))
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

static int
token_revoke_accessor(struct request *req, struct response *resp)
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
	router_mount_put(m);
	return rc;
}

static int
token_renew_handler(struct request *req, struct response *resp, int self)
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
	mount_ttls(json_string_value(json_object_get(e, "path")), &def, &max);
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
	if ((resp->auth = auth_block(tok, e)) == NULL)
		rc = CF_ENOMEM;
	resp->wipe = 1;
 out:
	json_decref(e);
	return rc;
}

#define ROLE_PREFIX	"sys/token/role/"

static int
role_load(const char *name, json_t **out)
{
	char	*k = NULL;
	int	 rc;

	*out = NULL;
	if (asprintf(&k, "%s%s", ROLE_PREFIX, name) == -1)
		return CF_ENOMEM;
	rc = core_get_json(k, out);
	free(k);
	return rc;
}

/*
 * token_bound_cidrs, or its deprecated alias bound_cidrs; the new name
 * wins when both are given, with Vault's warning.
 */
static int
role_cidrs(struct request *req, struct response *resp, json_t *r)
{
	json_t	*list = NULL;
	int	 rc, present;

	if ((rc = token_cidrs_read(req, resp, "token_bound_cidrs",
	    "error parsing bound_cidrs: ", &list, &present)) != CF_OK)
		return rc;
	if (present) {
		if (json_object_get(req->data, "bound_cidrs") != NULL)
			resp_warn(resp, "Both 'token_bound_cidrs' and "
			    "deprecated 'bound_cidrs' value supplied, ignoring "
			    "the deprecated value");
	} else if ((rc = token_cidrs_read(req, resp, "bound_cidrs",
	    "error parsing bound_cidrs: ", &list, &present)) != CF_OK)
		return rc;
	if (present)
		json_object_set_new(r, "token_bound_cidrs", list);
	return CF_OK;
}

static int
role_write(struct request *req, struct response *resp, const char *name)
{
	struct strv	 sv = STRV_INIT;
	json_t		*r = NULL, *arr;
	char		*k = NULL;
	long long	 v;
	size_t		 i;
	int		 rc, present, bv;
	static const char *const lists[] = { "allowed_policies",
	    "disallowed_policies" };
	static const char *const durs[][2] = {
		{ "token_period", "period" },
		{ "token_explicit_max_ttl", "explicit_max_ttl" },
	};

	if ((rc = role_load(name, &r)) == CF_ENOTFOUND) {
		r = json_pack("{s:s, s:[], s:[], s:b, s:b, s:i, s:i, s:b, "
		    "s:s, s:s}", "name", name, "allowed_policies",
		    "disallowed_policies", "orphan", 0, "renewable", 1,
		    "token_period", 0, "token_explicit_max_ttl", 0,
		    "token_no_default_policy", 0, "path_suffix", "",
		    "token_type", "default-service");
		rc = r != NULL ? CF_OK : CF_ENOMEM;
	}
	if (rc != CF_OK)
		goto out;
	for (i = 0; i < 2; i++) {
		strv_free(&sv);
		if ((rc = req_strlist(req, resp, lists[i], &sv, &present)) !=
		    CF_OK)
			goto out;
		if (!present)
			continue;
		arr = json_array();
		for (size_t j = 0; j < sv.n; j++)
			json_array_append_new(arr, json_string(sv.v[j]));
		json_object_set_new(r, lists[i], arr);
	}
	for (i = 0; i < 2; i++) {
		if ((rc = req_duration(req, resp, durs[i][0], &v,
		    &present)) != CF_OK)
			goto out;
		if (!present && (rc = req_duration(req, resp, durs[i][1], &v,
		    &present)) != CF_OK)
			goto out;
		if (present)
			json_object_set_new(r, durs[i][0], json_integer(v));
		if (present && i == 1 && core_conf()->max_lease_ttl > 0 &&
		    v > core_conf()->max_lease_ttl)
			resp_warn(resp, "Given explicit max TTL of %lld is "
			    "greater than system/mount allowed value of %lld "
			    "seconds; until this is fixed attempting to create "
			    "tokens against this role will result in an error",
			    v, core_conf()->max_lease_ttl);
	}
	if ((rc = role_cidrs(req, resp, r)) != CF_OK)
		goto out;
	if ((rc = req_bool(req, resp, "orphan", &bv, &present)) != CF_OK)
		goto out;
	if (present)
		json_object_set_new(r, "orphan", json_boolean(bv));
	if ((rc = req_bool(req, resp, "renewable", &bv, &present)) != CF_OK)
		goto out;
	if (present)
		json_object_set_new(r, "renewable", json_boolean(bv));
	if ((rc = req_bool(req, resp, "token_no_default_policy", &bv,
	    &present)) != CF_OK)
		goto out;
	if (present)
		json_object_set_new(r, "token_no_default_policy",
		    json_boolean(bv));
	{
		const char	*t = NULL;

		if ((rc = req_str(req, resp, "token_type", &t, NULL)) != CF_OK)
			goto out;
		if (t != NULL && strcmp(t, "service") != 0 &&
		    strcmp(t, "default-service") != 0 &&
		    strcmp(t, "default") != 0) {
			rc = resp_fail(resp, CF_EINVAL, "batch tokens are not "
			    "supported by coffer");
			goto out;
		}
	}
	if (asprintf(&k, "%s%s", ROLE_PREFIX, name) == -1) {
		rc = CF_ENOMEM;
		goto out;
	}
	rc = core_put_json(k, r);
 out:
	free(k);
	json_decref(r);
	strv_free(&sv);
	return rc;
}

static int
list_prefix(const char *prefix, struct response *resp)
{
	json_t	*keys;
	int	 rc;

	if ((rc = core_list_json(prefix, &keys)) != CF_OK || keys == NULL)
		return rc;
	return resp_data(resp, json_pack("{s:o}", "keys", keys));
}

static int
roles_handler(struct request *req, struct response *resp, const char *name)
{
	json_t	*r = NULL;
	char	*k = NULL;
	int	 rc;

	switch (req->op) {
	case REQ_READ:
		if ((rc = role_load(name, &r)) == CF_ENOTFOUND)
			return CF_OK;
		if (rc == CF_OK && json_object_get(r, "token_bound_cidrs") ==
		    NULL)
			json_object_set_new(r, "token_bound_cidrs",
			    json_array());
		if (rc == CF_OK)
			rc = resp_data(resp, r);
		return rc;
	case REQ_CREATE:
	case REQ_UPDATE:
		return role_write(req, resp, name);
	case REQ_DELETE:
		if (asprintf(&k, "%s%s", ROLE_PREFIX, name) == -1)
			return CF_ENOMEM;
		rc = storage_key_is_valid(k) ? core_del(k) : CF_OK;
		free(k);
		return rc;
	default:
		return resp_fail(resp, CF_EMETHOD,
		    "1 error occurred:\n\t* unsupported operation\n\n");
	}
}

/* Every stored token, as (hash, entry) pairs, for tidy and accessors. */
static int
each_token(int (*fn)(const char *, json_t *, void *), void *arg)
{
	struct strv	 sv = STRV_INIT;
	json_t		*e;
	size_t		 i;
	int		 rc;

	if ((rc = core_list("sys/token/id/", &sv)) != CF_OK)
		return rc;
	for (i = 0; i < sv.n && rc == CF_OK; i++) {
		if (token_entry(sv.v[i], &e) != CF_OK)
			continue;
		rc = fn(sv.v[i], e, arg);
		json_decref(e);
	}
	strv_free(&sv);
	return rc;
}

static int
add_accessor(const char *hash, json_t *e, void *arg)
{
	(void)hash;
	json_array_append(arg, json_object_get(e, "accessor"));
	return CF_OK;
}

static int
revoke_if_expired(const char *hash, json_t *e, void *arg)
{
	long long	 exp = json_integer_value(json_object_get(e,
	    "expire_time"));

	if (exp != 0 && exp <= (long long)time(NULL)) {
		++*(int *)arg;
		return token_revoke(hash, 0);
	}
	return CF_OK;
}

/* Remove every expired token; the count goes to the log. */
static int
tidy(void)
{
	int	 n = 0, rc;

	rc = each_token(revoke_if_expired, &n);
	if (n > 0)
		log_info("token: tidy revoked %d expired tokens", n);
	return rc;
}

static int
renew_accessor(struct request *req, struct response *resp)
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
	rc = token_renew_handler(req, resp, 1);
	if (rc == CF_OK && resp->auth != NULL)
		json_object_set_new(resp->auth, "client_token",
		    json_string(""));
	json_decref(e);
	return rc;
}

static int
tok_create_role(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	json_t	*role = NULL;
	int	 rc;

	(void)m;
	if ((rc = role_load(a->v[0], &role)) == CF_ENOTFOUND)
		return resp_fail(resp, CF_EINVAL, "unknown role %s", a->v[0]);
	if (rc != CF_OK)
		return rc;
	rc = token_create_handler(req, resp, 0, role);
	json_decref(role);
	return rc;
}

static int
tok_roles(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)m;
	(void)req;
	(void)a;
	return list_prefix(ROLE_PREFIX, resp);
}

static int
tok_role(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)m;
	return roles_handler(req, resp, a->v[0]);
}

static int
tok_accessors(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	json_t	*keys = json_array();
	int	 rc;

	(void)m;
	(void)req;
	(void)a;
	if ((rc = each_token(add_accessor, keys)) != CF_OK) {
		json_decref(keys);
		return rc;
	}
	if (json_array_size(keys) == 0) {
		json_decref(keys);
		return CF_OK;
	}
	return resp_data(resp, json_pack("{s:o}", "keys", keys));
}

static int
tok_tidy(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	int	 rc;

	(void)m;
	(void)req;
	(void)a;
	if ((rc = tidy()) != CF_OK)
		return rc;
	resp->status = 202;
	return resp_warn(resp, "Tidy operation successfully started. "
	    "Any information from the operation will be printed to "
	    "the server's logs.");
}

/* The handlers that take no capture, by what tells them apart. */
#define TOK_FN(fn, call)						\
static int								\
fn(struct mount *m, struct request *req, struct response *resp,	\
    const struct path_args *a)						\
{									\
	(void)m;							\
	(void)a;							\
	return call;							\
}
TOK_FN(tok_renew_accessor, renew_accessor(req, resp))
TOK_FN(tok_create, token_create_handler(req, resp, 0, NULL))
TOK_FN(tok_create_orphan, token_create_handler(req, resp, 1, NULL))
TOK_FN(tok_lookup_self, token_lookup_handler(req, resp, 1))
TOK_FN(tok_lookup, token_lookup_handler(req, resp, 0))
TOK_FN(tok_lookup_accessor, token_lookup_accessor(req, resp))
TOK_FN(tok_revoke_self, token_revoke_handler(req, resp, 1, 0))
TOK_FN(tok_revoke, token_revoke_handler(req, resp, 0, 0))
TOK_FN(tok_revoke_orphan, token_revoke_handler(req, resp, 0, 1))
TOK_FN(tok_revoke_accessor, token_revoke_accessor(req, resp))
TOK_FN(tok_renew_self, token_renew_handler(req, resp, 1))
TOK_FN(tok_renew, token_renew_handler(req, resp, 0))
#undef TOK_FN

/* Role names: a single non-empty segment. */
static int
tok_capture_ok(const char *name, const char *value)
{
	(void)name;
	return *value != '\0';
}

static const struct path_entry token_entries[] = {
	{ "create/:role_name", PATH_WRITE, tok_create_role },
	{ "roles/", PATH_LIST, tok_roles },
	/* PATCH reaches roles_handler, which answers 405. */
	{ "roles/:role_name", PATH_READ | PATH_WRITE | PATH_DELETE |
	    PATH_PATCH, tok_role },
	{ "accessors/", PATH_LIST, tok_accessors },
	{ "tidy", PATH_WRITE, tok_tidy },
	{ "renew-accessor", PATH_WRITE, tok_renew_accessor },
	{ "create", PATH_WRITE, tok_create },
	{ "create-orphan", PATH_WRITE, tok_create_orphan },
	{ "lookup-self", PATH_READ | PATH_WRITE, tok_lookup_self },
	{ "lookup", PATH_READ | PATH_WRITE, tok_lookup },
	{ "lookup-accessor", PATH_WRITE, tok_lookup_accessor },
	{ "revoke-self", PATH_WRITE, tok_revoke_self },
	{ "revoke", PATH_WRITE, tok_revoke },
	{ "revoke-orphan", PATH_WRITE, tok_revoke_orphan },
	{ "revoke-accessor", PATH_WRITE, tok_revoke_accessor },
	{ "renew-self", PATH_WRITE, tok_renew_self },
	{ "renew", PATH_WRITE, tok_renew },
	{ NULL, 0, NULL }
};

/* A path or operation not served is 404 here, whichever it is. */
static int
tok_miss(struct request *req, struct response *resp, enum path_result r)
{
	(void)req;
	(void)r;
	return paths_fail(resp, PATH_NOPATH);
}

static const struct path_table token_paths = {
	.entries = token_entries,
	.capture_ok = tok_capture_ok,
	.miss = tok_miss,
};

int
tokenapi_login(const struct login *l, struct response *resp)
{
	struct token_params	 tp;
	struct strv		 pols = STRV_INIT;
	char			*token = NULL;
	json_t			*e = NULL;
	long long		 max, def, ttl;
	size_t			 i;
	int			 rc = CF_OK;

	for (i = 0; i < l->policies->n && rc == CF_OK; i++) {
		if (strcmp(l->policies->v[i], "root") == 0) {
			rc = resp_fail(resp, CF_EINVAL,
			    "auth methods cannot create root tokens");
			goto out;
		}
		if (!strv_has(&pols, l->policies->v[i]))
			rc = strv_push(&pols, l->policies->v[i]);
	}
	if (rc == CF_OK && !l->no_default_policy && !strv_has(&pols, "default"))
		rc = strv_push(&pols, "default");
	if (rc != CF_OK)
		goto out;
	strv_sort(&pols);
	mount_ttls(l->path, &def, &max);
	if (l->max_ttl > 0 && l->max_ttl < max)
		max = l->max_ttl;
	ttl = l->period > 0 ? l->period : l->ttl > 0 ? l->ttl : def;
	if (ttl > max)
		ttl = max;
	memset(&tp, 0, sizeof(tp));
	tp.policies = &pols;
	tp.meta = l->meta;
	tp.path = l->path;
	tp.display_name = l->display_name;
	tp.ttl = ttl;
	tp.period = l->period;
	tp.num_uses = l->num_uses;
	tp.max_ttl = l->max_ttl;
	tp.renewable = 1;
	tp.bound_cidrs = l->bound_cidrs;
	if ((token = sodium_malloc(TOKEN_MAX_LEN + 1)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	if ((rc = token_create(&tp, token, &e)) != CF_OK)
		goto out;
	if ((resp->auth = auth_block(token, e)) == NULL)
		rc = CF_ENOMEM;
	resp->wipe = 1;
 out:
	json_decref(e);
	strv_free(&pols);
	sodium_free(token);
	return rc;
}

static const struct backend_ops token_ops = {
	.type = "token",
	.is_auth = 1,
	.table = &token_paths,
};

static int
mount_token(void)
{
	struct mount	*m;
	char		 why[128];
	int		 rc;

	if ((m = mount_new("auth/token/", &token_ops)) == NULL)
		return CF_ENOMEM;
	m->builtin = 1;
	free(m->description);
	if ((m->description = strdup("token based credentials")) == NULL) {
		mount_free(m);
		return CF_ENOMEM;
	}
	if ((rc = router_mount(m, why, sizeof(why))) != CF_OK)
		mount_free(m);
	return rc;
}

/*
 * The tidy thread: once a minute, while active, revoke expired
 * tokens.  It waits on a condition variable (never holding the core
 * lock while waiting), so stopping it is immediate.
 */
static pthread_t	 tidy_thread;
static pthread_mutex_t	 tidy_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 tidy_cv = PTHREAD_COND_INITIALIZER;
static int		 tidy_stop, tidy_running;

static void *
tidy_run(void *arg)
{
	struct timespec	 ts;

	(void)arg;
	lock_mutex(&tidy_mu, LOCK_LEAF);
	while (!tidy_stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += TOKENAPI_TIDY_SECONDS;
		(void)cond_timedwait(&tidy_cv, &tidy_mu, &ts);
		if (tidy_stop)
			break;
		unlock_mutex(&tidy_mu);
		core_rdlock();
		/* Only the active node tidies: a standby never writes. */
		if (core_is_active() && tidy() != CF_OK)
			log_warnx("token: tidy failed");
		core_unlock();
		lock_mutex(&tidy_mu, LOCK_LEAF);
	}
	unlock_mutex(&tidy_mu);
	return NULL;
}

void
tokenapi_tidy_start(void)
{
	if (pthread_create(&tidy_thread, NULL, tidy_run, NULL) == 0) {
		tidy_running = 1;
		pthread_setname_np(tidy_thread, "coffer-tidy");
	} else
		log_warn("token: cannot start the tidy thread");
}

void
tokenapi_tidy_stop(void)
{
	if (!tidy_running)
		return;
	lock_mutex(&tidy_mu, LOCK_LEAF);
	tidy_stop = 1;
	pthread_cond_signal(&tidy_cv);
	unlock_mutex(&tidy_mu);
	pthread_join(tidy_thread, NULL);
	tidy_running = 0;
}

void
tokenapi_register(void)
{
	router_register(&token_ops);
	core_on_active(mount_token);
}
