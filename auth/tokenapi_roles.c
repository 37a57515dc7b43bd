/*
 * tokenapi_roles.c -- auth/token/roles/<name>: token roles, stored
 * under ROLE_PREFIX behind the barrier, read, written and deleted.
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
#include "token_cidrs.h"
#include "tokenapi.h"
#include "tokenapi_int.h"

int
tapi_role_load(const char *name, json_t **out)
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

	if ((rc = tapi_role_load(name, &r)) == CF_ENOTFOUND) {
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

int
tapi_list_prefix(const char *prefix, struct response *resp)
{
	json_t	*keys;
	int	 rc;

	if ((rc = core_list_json(prefix, &keys)) != CF_OK || keys == NULL)
		return rc;
	return resp_data(resp, json_pack("{s:o}", "keys", keys));
}

int
tapi_roles(struct request *req, struct response *resp, const char *name)
{
	json_t	*r = NULL;
	char	*k = NULL;
	int	 rc;

	switch (req->op) {
	case REQ_READ:
		if ((rc = tapi_role_load(name, &r)) == CF_ENOTFOUND)
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
