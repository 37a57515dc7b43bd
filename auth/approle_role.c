/*
 * approle_role.c -- AppRole roles: their settings (the token_* set
 * read by loginfields.c plus AppRole's own), their role_id and its
 * index, and the role/ handlers.  Writes run under the mount's lock;
 * see approle.c for the storage layout.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "approle_int.h"
#include "buf.h"
#include "core.h"
#include "err.h"
#include "loginfields.h"
#include "paths.h"
#include "req.h"
#include "router.h"
#include "token.h"
#include "token_cidrs.h"
#include "uuid4.h"

/* Role settings: the token_* set of contract 5.1 plus AppRole's own. */
static const struct loginfield rolefields[] = {
	{ "token_ttl", NULL, LF_DUR, 0 },
	{ "token_max_ttl", NULL, LF_DUR, 0 },
	{ "token_period", "period", LF_DUR, 0 },
	{ "token_explicit_max_ttl", NULL, LF_DUR, 0 },
	{ "token_num_uses", NULL, LF_INT, 0 },
	{ "token_no_default_policy", NULL, LF_BOOL, 0 },
	{ "token_policies", "policies", LF_LIST, 0 },
	{ "token_type", NULL, LF_TYPE, 0 },
	{ "secret_id_num_uses", NULL, LF_INT, 0 },
	{ "secret_id_ttl", NULL, LF_DUR, 0 },
	{ "bind_secret_id", NULL, LF_BOOL, 0 },
	/* Vault fixes local_secret_ids at creation. */
	{ "local_secret_ids", NULL, LF_BOOL, 1 },
};
#define NROLEFIELDS	(sizeof(rolefields) / sizeof(rolefields[0]))

/* A role's two lists: secret_id_bound_cidrs and token_bound_cidrs. */
static int
read_role_cidrs(struct request *req, struct response *resp, json_t *r)
{
	json_t		*list = NULL;
	const char	*key = "secret_id_bound_cidrs";
	int		 rc, present;

	if (json_object_get(req->data, key) == NULL &&
	    json_object_get(req->data, "bound_cidr_list") != NULL)
		key = "bound_cidr_list";
	if ((rc = ar_strict_cidrs(req, resp, key, "CIDR blocks", 0, &list,
	    &present)) != CF_OK)
		return rc;
	if (present)
		json_object_set_new(r, "secret_id_bound_cidrs", list);
	if ((rc = token_cidrs_read(req, resp, "token_bound_cidrs", "", &list,
	    &present)) != CF_OK)
		return rc;
	if (present)
		json_object_set_new(r, "token_bound_cidrs", list);
	return CF_OK;
}

/* Role settings from the request into r (see loginfields.h). */
static int
read_role_fields(struct request *req, struct response *resp, json_t *r,
    int creating)
{
	int	 rc;

	if ((rc = loginfields_read(req, resp, rolefields, NROLEFIELDS, r,
	    creating)) != CF_OK ||
	    (rc = read_role_cidrs(req, resp, r)) != CF_OK)
		return rc;
	if (!json_is_true(json_object_get(r, "bind_secret_id")) &&
	    json_array_size(json_object_get(r, "secret_id_bound_cidrs")) == 0)
		return resp_fail(resp, CF_EINVAL, "at least one constraint "
		    "should be enabled on the role");
	return loginfields_check_ttl(resp, r);
}

static json_t *
role_view(json_t *r)
{
	json_t	*o;

	o = json_pack("{s:b, s:b, s:O, s:I, s:I}",
	    "bind_secret_id", json_is_true(json_object_get(r,
	    "bind_secret_id")),
	    "local_secret_ids", json_is_true(json_object_get(r,
	    "local_secret_ids")),
	    "secret_id_bound_cidrs", json_array_size(json_object_get(r,
	    "secret_id_bound_cidrs")) > 0 ? json_object_get(r,
	    "secret_id_bound_cidrs") : json_null(),
	    "secret_id_num_uses", json_integer_value(json_object_get(r,
	    "secret_id_num_uses")),
	    "secret_id_ttl", json_integer_value(json_object_get(r,
	    "secret_id_ttl")));
	if (o == NULL)
		return NULL;
	if (loginfields_view(o, r, rolefields, NROLEFIELDS) != CF_OK) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/*
 * Point role_id at name, unless another role holds it; drop old's
 * index.  Under ar->mu.
 */
static int
role_id_claim(struct mount *m, struct response *resp, const char *name,
    const char *rid, const char *old)
{
	json_t	*idx = NULL;
	char	 h[AR_HASH_HEX];
	int	 rc;

	if ((rc = ar_id_hash(m, rid, h)) != CF_OK)
		return rc;
	rc = ar_get_json(ar_key(m, "roleid/", h, NULL), &idx);
	if (rc == CF_OK && strcmp(json_string_value(json_object_get(idx,
	    "role")) != NULL ? json_string_value(json_object_get(idx, "role")) :
	    "", name) != 0)
		rc = resp_fail(resp, CF_EINVAL, "role_id already in use");
	else if (rc == CF_OK || rc == CF_ENOTFOUND) {
		json_decref(idx);
		if ((idx = json_pack("{s:s}", "role", name)) == NULL)
			rc = CF_ENOMEM;
		else
			rc = ar_put_json(ar_key(m, "roleid/", h, NULL), idx);
	}
	json_decref(idx);
	if (rc != CF_OK || old == NULL || strcmp(old, rid) == 0)
		return rc;
	if ((rc = ar_id_hash(m, old, h)) != CF_OK)
		return rc;
	return ar_del_key(ar_key(m, "roleid/", h, NULL));
}

/* POST role/<name> (full) or role/<name>/role-id (role_id only). */
static int
role_write(struct mount *m, struct request *req, struct response *resp,
    const char *name, int only_role_id)
{
	struct approle	*ar = m->ctx;
	json_t		*r = NULL;
	const char	*rid = NULL;
	char		 uuid[REQ_ID_LEN + 1], *old = NULL;
	int		 rc, creating;

	if ((rc = req_str(req, resp, "role_id", &rid, NULL)) != CF_OK)
		return rc;
	if (rid != NULL && strlen(rid) > AR_ID_MAX)
		return resp_fail(resp, CF_EINVAL, "role_id is too long");
	if (only_role_id && (rid == NULL || *rid == '\0'))
		return resp_fail(resp, CF_EINVAL, "missing role_id");
	ar_lock(ar);
	rc = ar_get_json(ar_key(m, "role/", name, NULL), &r);
	creating = rc == CF_ENOTFOUND;
	if (creating) {
		uuid4_random(uuid);
		r = json_pack("{s:b, s:s}", "bind_secret_id", 1, "role_id",
		    uuid);
		rc = r != NULL ? CF_OK : CF_ENOMEM;
	}
	if (rc != CF_OK)
		goto out;
	if (!only_role_id && (rc = read_role_fields(req, resp, r, creating)) !=
	    CF_OK)
		goto out;
	if (!creating && (old = strdup(json_string_value(json_object_get(r,
	    "role_id")) != NULL ? json_string_value(json_object_get(r,
	    "role_id")) : "")) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	if (rid != NULL && *rid != '\0')
		json_object_set_new(r, "role_id", json_string(rid));
	if ((rc = role_id_claim(m, resp, name, json_string_value(
	    json_object_get(r, "role_id")), old)) != CF_OK)
		goto out;
	rc = ar_put_json(ar_key(m, "role/", name, NULL), r);
 out:
	ar_unlock(ar);
	free(old);
	json_decref(r);
	return rc;
}

static int
role_delete(struct mount *m, const char *name)
{
	struct approle	*ar = m->ctx;
	json_t		*r = NULL;
	char		 h[AR_HASH_HEX];
	int		 rc;

	ar_lock(ar);
	if ((rc = ar_get_json(ar_key(m, "role/", name, NULL), &r)) != CF_OK) {
		if (rc == CF_ENOTFOUND)
			rc = CF_OK;
		goto out;
	}
	if ((rc = ar_id_hash(m, json_string_value(json_object_get(r,
	    "role_id")) != NULL ? json_string_value(json_object_get(r,
	    "role_id")) : "", h)) != CF_OK ||
	    (rc = ar_del_key(ar_key(m, "roleid/", h, NULL))) != CF_OK)
		goto out;
	if ((rc = ar_del_prefix(ar_key(m, "sid/", name, ""))) != CF_OK ||
	    (rc = ar_del_prefix(ar_key(m, "acc/", name, ""))) != CF_OK)
		goto out;
	rc = ar_del_key(ar_key(m, "role/", name, NULL));
 out:
	ar_unlock(ar);
	json_decref(r);
	return rc;
}

int
ar_roles(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)req;
	(void)a;
	return ar_list_under(resp, ar_key(m, "role/", "", NULL));
}

int
ar_role_read(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	char	 name[AR_NAME_MAX + 1];
	json_t	*role = NULL;
	int	 rc;

	(void)req;
	ar_role_name(a, name);
	if ((rc = ar_get_json(ar_key(m, "role/", name, NULL), &role)) == CF_OK)
		rc = resp_data(resp, role_view(role));
	json_decref(role);
	return rc == CF_ENOTFOUND ? CF_OK : rc;	/* 404 */
}

int
ar_role_write(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	char	 name[AR_NAME_MAX + 1];

	ar_role_name(a, name);
	return role_write(m, req, resp, name, 0);
}

int
ar_role_delete(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	char	 name[AR_NAME_MAX + 1];

	(void)req;
	(void)resp;
	ar_role_name(a, name);
	return role_delete(m, name);
}

/* role/<name>/role-id: read it, or write it (write), on a known role. */
static int
role_id_do(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a, int write)
{
	char	 name[AR_NAME_MAX + 1];
	json_t	*role;
	int	 rc;

	if ((rc = ar_role_get(m, resp, a, name, &role)) != CF_OK)
		goto out;
	if (write)
		rc = role_write(m, req, resp, name, 1);
	else
		rc = resp_data(resp, json_pack("{s:O}", "role_id",
		    json_object_get(role, "role_id")));
 out:
	json_decref(role);
	return rc;
}

int
ar_role_id_read(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return role_id_do(m, req, resp, a, 0);
}

int
ar_role_id_write(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return role_id_do(m, req, resp, a, 1);
}
