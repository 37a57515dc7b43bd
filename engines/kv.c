/*
 * kv.c -- the KV secrets engine, version 1 (plain) and 2 (versioned).
 *
 * Version 1 stores each secret's JSON object at <view><key>; it lives
 * here whole.  For version 2 this file holds the path table, Vault's
 * answers to paths v2 does not serve, and the upgrade from v1; the
 * records themselves (versions, metadata, config) are kv2.c's.  A mount
 * is one or the other by its options.version, read per request.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "core.h"
#include "err.h"
#include "jsonutil.h"
#include "kv.h"
#include "kv2.h"
#include "paths.h"
#include "req.h"
#include "router.h"
#include "storage.h"
#include "timeutil.h"

static int
is_v2(const struct mount *m)
{
	const char	*v = json_string_value(json_object_get(m->options,
	    "version"));

	return v != NULL && strcmp(v, "2") == 0;
}

static int
list_keys(const char *prefix, struct response *resp)
{
	json_t	*keys;
	int	 rc;

	if ((rc = core_list_json(prefix, &keys)) != CF_OK || keys == NULL)
		return rc;		/* none: 404 {"errors":[]} */
	return resp_data(resp, json_pack("{s:o}", "keys", keys));
}

static long long
effective_ttl(const struct mount *m)
{
	long long	 d = json_integer_value(json_object_get(m->config,
	    "default_lease_ttl"));

	return d > 0 ? d : core_conf()->default_lease_ttl;
}

/* The mount's max lease TTL, or the system's. */
static long long
effective_max_ttl(const struct mount *m)
{
	long long	 d = json_integer_value(json_object_get(m->config,
	    "max_lease_ttl"));

	return d > 0 ? d : core_conf()->max_lease_ttl;
}

/*
 * The lease duration a v1 secret asks for with "ttl" (or "lease"): as
 * Vault does, a value that is no duration leaves the mount's default.
 * Unlike Vault, which hands a negative value back as it is and wraps a
 * huge one, a negative value also means the default and the result is
 * capped at the mount's max TTL.
 */
static long long
v1_ttl(const struct mount *m, json_t *j)
{
	json_t		*t;
	long long	 ttl = effective_ttl(m), v, max = effective_max_ttl(m);

	if ((t = json_object_get(j, "ttl")) == NULL)
		t = json_object_get(j, "lease");
	if (json_is_string(t) && duration_parse(json_string_value(t), &v) ==
	    CF_OK)
		ttl = v;
	else if (json_is_integer(t) && json_integer_value(t) >= 0)
		ttl = json_integer_value(t);
	return max > 0 && ttl > max ? max : ttl;
}

/* ---- version 1 ---- */

static int
v1_handle(struct mount *m, struct request *req, struct response *resp)
{
	char		*key = NULL;
	json_t		*j = NULL;
	int		 rc;

	if (req->op == REQ_LIST) {
		key = kv2_key(m, req->rel, "", -1);
		rc = list_keys(key, resp);
		free(key);
		return rc;
	}
	if (*req->rel == '\0')
		return req->op == REQ_READ ? CF_OK : resp_fail(resp, CF_EINVAL,
		    "missing key");
	key = kv2_key(m, req->rel, "", -1);
	switch (req->op) {
	case REQ_READ:
		if ((rc = core_get_json(key, &j)) == CF_ENOTFOUND) {
			rc = CF_OK;
			break;
		}
		if (rc != CF_OK)
			break;
		resp->lease_duration = v1_ttl(m, j);
		rc = resp_data(resp, j);
		j = NULL;
		break;
	case REQ_CREATE:
	case REQ_UPDATE:
		if (json_object_size(req->data) == 0) {
			rc = resp_fail(resp, CF_EINVAL, "missing data fields");
			break;
		}
		rc = core_put_json(key, req->data);
		break;
	case REQ_DELETE:
		rc = key != NULL ? core_del(key) : CF_ENOMEM;
		break;
	default:
		rc = resp_fail(resp, CF_EMETHOD,
		    "1 error occurred:\n\t* unsupported operation\n\n");
	}
	json_decref(j);
	free(key);
	return rc;
}

static int
v1_any(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)a;
	return v1_handle(m, req, resp);
}

static const struct path_entry v1_entries[] = {
	{ "*", PATH_READ | PATH_WRITE | PATH_DELETE | PATH_LIST, v1_any },
	{ NULL, 0, NULL }
};

static const struct path_table v1_paths = {
	.variant = "v1",
	.entries = v1_entries,
};

static int
invalid_v2(struct response *resp, const char *what)
{
	resp->status = 404;
	resp_warn(resp, "Invalid path for a versioned K/V secrets engine. See "
	    "the API docs for the appropriate API endpoints to use. If using "
	    "the Vault CLI, use 'vault kv %s' for this operation.", what);
	return CF_OK;
}

static int
starts(const char *rel, const char *word, const char **rest)
{
	size_t	 len = strlen(word);

	if (strncmp(rel, word, len) != 0 || rel[len] != '/')
		return 0;
	*rest = rel + len + 1;
	return 1;
}

/* Vault's answer to a path or operation that v2 does not serve. */
static int
v2_miss(struct request *req, struct response *resp, enum path_result r)
{
	int	 op = req->op;

	(void)r;
	return invalid_v2(resp, op == REQ_LIST ? "list" : op == REQ_READ ?
	    "get" : op == REQ_DELETE ? "delete" : op == REQ_PATCH ? "patch" :
	    "put");
}

/* The captured key of data/\*: a secret, not a folder. */
static int
is_secret(const char *k)
{
	return *k != '\0' && k[strlen(k) - 1] != '/';
}

static int
v2_config(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)a;
	return kv2_config_op(m, req, resp);
}

static int
v2_data_read(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	if (!is_secret(a->v[0]))
		return v2_miss(req, resp, PATH_NOPATH);
	return kv2_data_read(m, req, resp, a->v[0], 0);
}

static int
v2_data_write(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	if (!is_secret(a->v[0]))
		return v2_miss(req, resp, PATH_NOPATH);
	return kv2_data_write(m, req, resp, a->v[0], req->op == REQ_PATCH);
}

/* DELETE data/<key>: soft-delete the current version. */
static int
v2_data_delete(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	const char	*k = a->v[0];
	json_t		*meta;
	char		 num[32];
	int		 rc;

	if (!is_secret(k))
		return v2_miss(req, resp, PATH_NOPATH);
	if ((rc = kv2_meta_load(m, k, &meta)) != CF_OK || meta == NULL)
		return rc;
	snprintf(num, sizeof(num), "%lld", (long long)
	    json_integer_value(json_object_get(meta, "current_version")));
	json_decref(meta);
	json_object_set_new(req->data, "versions", json_pack("[s]", num));
	return kv2_versions_op(m, req, resp, k, 0);
}

static int
v2_meta_list(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	char	*p = kv2_key(m, "m/", a->v[0], -1);
	int	 rc;

	(void)req;
	rc = list_keys(p, resp);
	free(p);
	return rc;
}

static int
v2_meta_read(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)req;
	return kv2_meta_read(m, resp, a->v[0]);
}

static int
v2_meta_write(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return kv2_meta_write(m, req, resp, a->v[0]);
}

static int
v2_meta_delete(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)req;
	(void)resp;
	return kv2_meta_delete(m, a->v[0]);
}

static int
v2_delete(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return kv2_versions_op(m, req, resp, a->v[0], 0);
}

static int
v2_undelete(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return kv2_versions_op(m, req, resp, a->v[0], 1);
}

static int
v2_destroy(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return kv2_versions_op(m, req, resp, a->v[0], 2);
}

static int
v2_subkeys(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return kv2_data_read(m, req, resp, a->v[0], 1);
}

static const struct path_entry v2_entries[] = {
	{ "config", PATH_READ | PATH_WRITE, v2_config },
	{ "data/*", PATH_READ, v2_data_read },
	{ "data/*", PATH_WRITE | PATH_PATCH, v2_data_write },
	{ "data/*", PATH_DELETE, v2_data_delete },
	{ "metadata/*", PATH_LIST, v2_meta_list },
	{ "metadata/*", PATH_READ, v2_meta_read },
	{ "metadata/*", PATH_WRITE, v2_meta_write },
	{ "metadata/*", PATH_DELETE, v2_meta_delete },
	{ "delete/*", PATH_WRITE, v2_delete },
	{ "undelete/*", PATH_WRITE, v2_undelete },
	{ "destroy/*", PATH_WRITE, v2_destroy },
	{ "subkeys/*", PATH_READ, v2_subkeys },
	{ NULL, 0, NULL }
};

static const struct path_table v2_paths = {
	.variant = "v2",
	.entries = v2_entries,
	.miss = v2_miss,
};

/* Every v1 key under prefix (relative to the view), depth first. */
static int
collect(const struct mount *m, const char *prefix, struct strv *out)
{
	struct strv	 sv = STRV_INIT;
	char		*p, *sub;
	size_t		 i;
	int		 rc;

	if ((p = kv2_key(m, prefix, "", -1)) == NULL)
		return CF_ENOMEM;
	rc = core_list(p, &sv);
	free(p);
	for (i = 0; i < sv.n && rc == CF_OK; i++) {
		if (asprintf(&sub, "%s%s", prefix, sv.v[i]) == -1) {
			rc = CF_ENOMEM;
			break;
		}
		if (sv.v[i][strlen(sv.v[i]) - 1] == '/')
			rc = collect(m, sub, out);
		else
			rc = strv_push(out, sub);
		free(sub);
	}
	strv_free(&sv);
	return rc;
}

int
kv_upgrade(struct mount *m)
{
	struct storage_op	 ops[3];
	struct strv		 keys = STRV_INIT;
	struct buf		 mb = BUF_INIT, vb = BUF_INIT;
	json_t			*meta, *val;
	char			 now[64], *old, *mk, *dk;
	size_t			 i;
	int			 rc;

	/* What a v1 secret named "config" left cached is not v2's. */
	(void)kv2_forget();
	if ((rc = collect(m, "", &keys)) != CF_OK)
		goto out;
	kv2_now(now, sizeof(now));
	for (i = 0; i < keys.n && rc == CF_OK; i++) {
		old = kv2_key(m, keys.v[i], "", -1);
		mk = kv2_key(m, "m/", keys.v[i], -1);
		dk = kv2_key(m, "v/", keys.v[i], 1);
		meta = kv2_new_meta();
		val = NULL;
		if (old == NULL || mk == NULL || dk == NULL || meta == NULL ||
		    (rc = core_get_json(old, &val)) != CF_OK)
			rc = rc != CF_OK ? rc : CF_ENOMEM;
		else {
			json_object_set_new(meta, "current_version",
			    json_integer(1));
			json_object_set_new(json_object_get(meta, "versions"),
			    "1", json_pack("{s:s, s:s, s:b}", "created_time",
			    now, "deletion_time", "", "destroyed", 0));
			buf_reset(&mb);
			buf_reset(&vb);
			if ((rc = jsonutil_emit(meta, &mb)) == CF_OK &&
			    (rc = jsonutil_emit(val, &vb)) == CF_OK) {
				/* New records and the old one go together. */
				ops[0] = (struct storage_op){ STORAGE_OP_PUT,
				    dk, vb.data, vb.len };
				ops[1] = (struct storage_op){ STORAGE_OP_PUT,
				    mk, mb.data, mb.len };
				ops[2] = (struct storage_op){ STORAGE_OP_DEL,
				    old, NULL, 0 };
				rc = core_batch(ops, 3);
			}
		}
		json_decref(meta);
		json_decref(val);
		free(old);
		free(mk);
		free(dk);
	}
 out:
	strv_free(&keys);
	buf_free(&mb);
	buf_free(&vb);
	return rc;
}

static int
kv_handle(struct mount *m, struct request *req, struct response *resp)
{
	return paths_dispatch(is_v2(m) ? &v2_paths : &v1_paths, m, req, resp);
}

/* create vs update for the ACL: does the secret exist? */
static int
kv_exists(struct mount *m, struct request *req, int *exists)
{
	struct buf	 b = BUF_INIT;
	const char	*k = NULL;
	char		*key = NULL;
	int		 rc;

	*exists = 0;
	if (!is_v2(m))
		key = kv2_key(m, req->rel, "", -1);
	else if (starts(req->rel, "data", &k) ||
	    starts(req->rel, "metadata", &k))
		/* Read once, for the handler too. */
		return kv2_meta_exists(m, k, exists);
	else {
		*exists = 1;		/* everything else is an update */
		return CF_OK;
	}
	if (key == NULL)
		return CF_ENOMEM;
	if (!storage_key_is_valid(key))
		rc = CF_ENOTFOUND;
	else
		rc = core_get(key, &b);
	free(key);
	buf_free(&b);
	if (rc == CF_OK)
		*exists = 1;
	return rc == CF_ENOTFOUND || rc == CF_OK ? CF_OK : rc;
}

static const struct path_table *const kv_tables[] = {
	&v1_paths, &v2_paths, NULL
};

static const struct backend_ops kv_ops = {
	.type = "kv",
	.open = kv2_open,
	.close = kv2_close,
	.handle = kv_handle,
	.paths = kv_tables,
	.exists = kv_exists,
	.upgrade = kv_upgrade,
};

void
kv_register(void)
{
	router_register(&kv_ops);
	core_on_standby(kv2_forget);
}
