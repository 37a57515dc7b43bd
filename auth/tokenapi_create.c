/*
 * tokenapi_create.c -- auth/token/create, create-orphan and
 * create/<role>: the new token's policies, TTLs, display name and
 * parent by Vault's rules, including the sudo checks of creation.
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
char *
tapi_display_name(const char *in)
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

int
tapi_create(struct request *req, struct response *resp, int orphan,
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

	tapi_mount_ttls(req->path, &mount_def, &mount_max);
	sudo = tapi_has_sudo(req);
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
	if (tapi_is_batch(req->auth->entry)) {
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
	if ((dname = tapi_display_name(dn)) == NULL) {
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
		if ((rc = tapi_auth_reply(resp, btoken, e)) == CF_OK)
			json_object_set_new(resp->auth, "accessor",
			    json_string(""));
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
	rc = tapi_auth_reply(resp, token, e);
 out:
	json_decref(e);
	free(dname);
	strv_free(&pols);
	sodium_free(token);
	sodium_free(btoken);
	return rc;
}
