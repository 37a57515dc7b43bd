/*
 * approle.c -- the AppRole auth method: machines log in with a role ID
 * and a secret ID.
 *
 * Storage under the mount's view:
 *   role/<name>              the role (settings, role_id)
 *   roleid/<role_id>         the role's name, to find it at login
 *   sid/<name>/<hmac>        a secret ID's record, keyed by an HMAC of
 *                            the secret ID under a per-mount salt
 *   acc/<name>/<accessor>    the accessor's HMAC, for listing/destroy
 *   salt                     the per-mount HMAC key
 * Secret IDs are therefore never stored in clear.  Uses of a secret ID
 * are counted under one mutex per mount, so concurrent logins never
 * exceed secret_id_num_uses.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "approle.h"
#include "buf.h"
#include "core.h"
#include "err.h"
#include "req.h"
#include "router.h"
#include "storage.h"
#include "tokenapi.h"

struct approle {
	pthread_mutex_t	 mu;
};

static char *
key_of(const struct mount *m, const char *a, const char *b, const char *c)
{
	char	*k = NULL;

	if (asprintf(&k, "%s%s%s%s%s", m->view, a, b, c != NULL ? "/" : "",
	    c != NULL ? c : "") == -1)
		return NULL;
	return k;
}

/* core_get_json and core_put_json, freeing the key made by key_of. */
static int
get_json(char *key, json_t **out)
{
	int	 rc = core_get_json(key, out);

	free(key);
	return rc;
}

static int
put_json(char *key, json_t *j)
{
	int	 rc = core_put_json(key, j);

	free(key);
	return rc;
}

/* The per-mount salt, made on first use. */
static int
salt_get(const struct mount *m, uint8_t *salt)
{
	struct buf	 b = BUF_INIT;
	char		*k = key_of(m, "salt", "", NULL);
	int		 rc;

	if (k == NULL)
		return CF_ENOMEM;
	if ((rc = core_get(k, &b)) == CF_ENOTFOUND) {
		randombytes_buf(salt, crypto_auth_hmacsha256_KEYBYTES);
		rc = core_put(k, salt, crypto_auth_hmacsha256_KEYBYTES);
	} else if (rc == CF_OK) {
		if (b.len != crypto_auth_hmacsha256_KEYBYTES)
			rc = CF_EINTERNAL;
		else
			memcpy(salt, b.data, b.len);
	}
	free(k);
	buf_free(&b);
	return rc;
}

static int
sid_hash(const struct mount *m, const char *sid, char *hex)
{
	uint8_t	 salt[crypto_auth_hmacsha256_KEYBYTES];
	uint8_t	 mac[crypto_auth_hmacsha256_BYTES];
	int	 rc;

	if ((rc = salt_get(m, salt)) != CF_OK)
		return rc;
	crypto_auth_hmacsha256(mac, (const uint8_t *)sid, strlen(sid), salt);
	sodium_bin2hex(hex, 65, mac, sizeof(mac));
	sodium_memzero(salt, sizeof(salt));
	return CF_OK;
}

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

static json_t *
role_view(json_t *r)
{
	json_t	*p = json_object_get(r, "token_policies");

	return json_pack("{s:O, s:b, s:I, s:I, s:o, s:o, s:I, s:I, s:I, s:I, "
	    "s:n, s:[], s:b, s:s}",
	    "bind_secret_id", json_object_get(r, "bind_secret_id"),
	    "local_secret_ids", 0,
	    "secret_id_num_uses", json_integer_value(json_object_get(r,
	    "secret_id_num_uses")),
	    "secret_id_ttl", json_integer_value(json_object_get(r,
	    "secret_id_ttl")),
	    "token_policies", p != NULL ? json_incref(p) : json_array(),
	    "policies", p != NULL ? json_incref(p) : json_array(),
	    "token_ttl", json_integer_value(json_object_get(r, "token_ttl")),
	    "token_max_ttl", json_integer_value(json_object_get(r,
	    "token_max_ttl")),
	    "token_num_uses", json_integer_value(json_object_get(r,
	    "token_num_uses")),
	    "token_period", json_integer_value(json_object_get(r,
	    "token_period")),
	    "secret_id_bound_cidrs", "token_bound_cidrs",
	    "token_no_default_policy", 0, "token_type", "default");
}

static int
role_write(struct mount *m, struct request *req, struct response *resp,
    const char *name)
{
	static const char *const ints[][2] = {
		{ "secret_id_num_uses", NULL }, { "token_num_uses", NULL },
	};
	static const char *const durs[][2] = {
		{ "secret_id_ttl", NULL }, { "token_ttl", NULL },
		{ "token_max_ttl", NULL }, { "token_period", "period" },
	};
	struct strv	 pols = STRV_INIT;
	json_t		*r = NULL, *old = NULL, *arr;
	const char	*rid = NULL;
	char		 uuid[REQ_ID_LEN + 1];
	long long	 v;
	size_t		 i;
	int		 rc, present, b;

	rc = get_json(key_of(m, "role/", name, NULL), &r);
	if (rc == CF_ENOTFOUND) {
		uuid_generate(uuid);
		r = json_pack("{s:b, s:s}", "bind_secret_id", 1, "role_id",
		    uuid);
		rc = r != NULL ? CF_OK : CF_ENOMEM;
	}
	if (rc != CF_OK)
		goto out;
	for (i = 0; i < 2; i++) {
		if ((rc = req_int(req, resp, ints[i][0], &v, &present)) !=
		    CF_OK)
			goto out;
		if (present) {
			if (v < 0) {
				rc = resp_fail(resp, CF_EINVAL, "%s cannot be "
				    "negative", ints[i][0]);
				goto out;
			}
			json_object_set_new(r, ints[i][0], json_integer(v));
		}
	}
	for (i = 0; i < 4; i++) {
		if ((rc = req_duration(req, resp, durs[i][0], &v, &present)) !=
		    CF_OK)
			goto out;
		if (!present && durs[i][1] != NULL && (rc = req_duration(req,
		    resp, durs[i][1], &v, &present)) != CF_OK)
			goto out;
		if (present)
			json_object_set_new(r, durs[i][0], json_integer(v));
	}
	if ((rc = req_bool(req, resp, "bind_secret_id", &b, &present)) !=
	    CF_OK)
		goto out;
	if (present) {
		if (!b) {
			rc = resp_fail(resp, CF_EINVAL, "at least one "
			    "constraint should be enabled on the role");
			goto out;
		}
		json_object_set_new(r, "bind_secret_id", json_boolean(b));
	}
	if ((rc = req_strlist(req, resp, "token_policies", &pols,
	    &present)) != CF_OK)
		goto out;
	if (!present && (rc = req_strlist(req, resp, "policies", &pols,
	    &present)) != CF_OK)
		goto out;
	if (present) {
		arr = json_array();
		for (i = 0; i < pols.n; i++) {
			lower(pols.v[i]);
			json_array_append_new(arr, json_string(pols.v[i]));
		}
		json_object_set_new(r, "token_policies", arr);
	}
	if ((rc = req_str(req, resp, "role_id", &rid, NULL)) != CF_OK)
		goto out;
	if (rid != NULL && *rid != '\0') {
		if (get_json(key_of(m, "roleid/", rid, NULL), &old) == CF_OK &&
		    strcmp(json_string_value(json_object_get(old, "role")) ?
		    json_string_value(json_object_get(old, "role")) : "",
		    name) != 0) {
			rc = resp_fail(resp, CF_EINVAL, "role_id already in "
			    "use");
			goto out;
		}
		json_object_set_new(r, "role_id", json_string(rid));
	}
	rc = put_json(key_of(m, "role/", name, NULL), r);
	if (rc == CF_OK) {
		json_t	*idx = json_pack("{s:s}", "role", name);

		rc = put_json(key_of(m, "roleid/", json_string_value(
		    json_object_get(r, "role_id")), NULL), idx);
		json_decref(idx);
	}
 out:
	json_decref(r);
	json_decref(old);
	strv_free(&pols);
	return rc;
}

/* Remove every key under prefix (a role's secret IDs). */
static int
wipe(char *prefix)
{
	int	 rc;

	if (prefix == NULL)
		return CF_ENOMEM;
	rc = core_del_prefix(prefix);
	free(prefix);
	return rc;
}

static int
secret_id_generate(struct mount *m, struct request *req,
    struct response *resp, const char *name, json_t *role, int custom)
{
	char		 sid[REQ_ID_LEN + 1], acc[REQ_ID_LEN + 1], hash[65];
	const char	*given = NULL, *md = NULL;
	json_t		*rec = NULL, *idx = NULL, *meta = NULL;
	long long	 uses, ttl, n, t, now = (long long)time(NULL);
	int		 rc, pn, pt;

	if ((rc = req_str(req, resp, "metadata", &md, NULL)) != CF_OK ||
	    (rc = req_int(req, resp, "num_uses", &n, &pn)) != CF_OK ||
	    (rc = req_duration(req, resp, "ttl", &t, &pt)) != CF_OK)
		return rc;
	if (custom) {
		if ((rc = req_str(req, resp, "secret_id", &given, NULL)) !=
		    CF_OK)
			return rc;
		if (given == NULL || *given == '\0')
			return resp_fail(resp, CF_EINVAL, "missing secret_id");
		strlcpy(sid, given, sizeof(sid));
	} else
		uuid_generate(sid);
	uuid_generate(acc);
	if (md != NULL && *md != '\0') {
		json_error_t	 je;

		if ((meta = json_loads(md, 0, &je)) == NULL ||
		    !json_is_object(meta)) {
			json_decref(meta);
			return resp_fail(resp, CF_EINVAL, "failed to parse "
			    "metadata: must be a JSON object of strings");
		}
	}
	uses = json_integer_value(json_object_get(role, "secret_id_num_uses"));
	ttl = json_integer_value(json_object_get(role, "secret_id_ttl"));
	/* A secret ID may only tighten the role's limits. */
	if (pn && n > 0 && (uses == 0 || n < uses))
		uses = n;
	if (pt && t > 0 && (ttl == 0 || t < ttl))
		ttl = t;
	if ((rc = sid_hash(m, sid, hash)) != CF_OK)
		goto out;
	rec = json_pack("{s:s, s:I, s:I, s:I, s:I, s:o}", "accessor", acc,
	    "num_uses", (json_int_t)uses, "ttl", (json_int_t)ttl,
	    "created", (json_int_t)now,
	    "expires", (json_int_t)(ttl > 0 ? now + ttl : 0),
	    "metadata", meta != NULL ? json_incref(meta) : json_object());
	idx = json_pack("{s:s}", "hash", hash);
	if (rec == NULL || idx == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	if ((rc = put_json(key_of(m, "sid/", name, hash), rec)) != CF_OK ||
	    (rc = put_json(key_of(m, "acc/", name, acc), idx)) != CF_OK)
		goto out;
	resp->wipe = 1;
	rc = resp_data(resp, json_pack("{s:s, s:s, s:I, s:I}", "secret_id",
	    sid, "secret_id_accessor", acc, "secret_id_num_uses",
	    (json_int_t)uses, "secret_id_ttl", (json_int_t)ttl));
 out:
	sodium_memzero(sid, sizeof(sid));
	json_decref(rec);
	json_decref(idx);
	json_decref(meta);
	return rc;
}

static json_t *
sid_view(json_t *rec)
{
	char	 c[64], e[64] = "";

	time_format_rfc3339(c, sizeof(c), json_integer_value(json_object_get(
	    rec, "created")), 0);
	if (json_integer_value(json_object_get(rec, "expires")) > 0)
		time_format_rfc3339(e, sizeof(e), json_integer_value(
		    json_object_get(rec, "expires")), 0);
	return json_pack("{s:n, s:s, s:s, s:s, s:O, s:O, s:O, s:O, s:n}",
	    "cidr_list", "creation_time", c, "expiration_time", e,
	    "last_updated_time", c, "metadata", json_object_get(rec,
	    "metadata"), "secret_id_accessor", json_object_get(rec,
	    "accessor"), "secret_id_num_uses", json_object_get(rec,
	    "num_uses"), "secret_id_ttl", json_object_get(rec, "ttl"),
	    "token_bound_cidrs");
}

/* lookup/destroy by secret ID or by accessor. */
static int
secret_id_op(struct mount *m, struct request *req, struct response *resp,
    const char *name, int by_accessor, int destroy)
{
	const char	*v = NULL;
	json_t		*rec = NULL, *idx = NULL;
	char		 hash[65], *k;
	int		 rc;

	if ((rc = req_str(req, resp, by_accessor ? "secret_id_accessor" :
	    "secret_id", &v, NULL)) != CF_OK)
		return rc;
	if (v == NULL || *v == '\0')
		return resp_fail(resp, CF_EINVAL, by_accessor ?
		    "missing secret_id_accessor" : "missing secret_id");
	if (by_accessor) {
		if ((rc = get_json(key_of(m, "acc/", name, v), &idx)) != CF_OK)
			return rc == CF_ENOTFOUND ? resp_fail(resp, CF_EINVAL,
			    "failed to find accessor entry for "
			    "secret_id_accessor: %s", v) : rc;
		strlcpy(hash, json_string_value(json_object_get(idx, "hash")) ?
		    json_string_value(json_object_get(idx, "hash")) : "",
		    sizeof(hash));
		json_decref(idx);
	} else if ((rc = sid_hash(m, v, hash)) != CF_OK)
		return rc;
	if ((rc = get_json(key_of(m, "sid/", name, hash), &rec)) ==
	    CF_ENOTFOUND)
		return CF_OK;
	if (rc != CF_OK)
		return rc;
	if (destroy) {
		if ((k = key_of(m, "acc/", name, json_string_value(
		    json_object_get(rec, "accessor")))) != NULL) {
			rc = core_del(k);
			free(k);
		}
		if (rc == CF_OK && (k = key_of(m, "sid/", name, hash)) != NULL) {
			rc = core_del(k);
			free(k);
		}
	} else
		rc = resp_data(resp, sid_view(rec));
	json_decref(rec);
	return rc;
}

static int
login(struct mount *m, struct request *req, struct response *resp)
{
	struct approle	*ar = m->ctx;
	struct login	 l;
	struct strv	 pols = STRV_INIT;
	const char	*rid = NULL, *sid = NULL, *name;
	json_t		*idx = NULL, *role = NULL, *rec = NULL, *meta = NULL, *v;
	char		 hash[65], *k;
	long long	 left, exp;
	size_t		 i;
	int		 rc;

	if ((rc = req_str(req, resp, "role_id", &rid, NULL)) != CF_OK ||
	    (rc = req_str(req, resp, "secret_id", &sid, NULL)) != CF_OK)
		return rc;
	if (rid == NULL || *rid == '\0')
		return resp_fail(resp, CF_EINVAL, "missing role_id");
	if (get_json(key_of(m, "roleid/", rid, NULL), &idx) != CF_OK ||
	    (name = json_string_value(json_object_get(idx, "role"))) == NULL ||
	    get_json(key_of(m, "role/", name, NULL), &role) != CF_OK) {
		rc = resp_fail(resp, CF_EINVAL, "invalid role or secret ID");
		goto out;
	}
	if (sid == NULL || *sid == '\0') {
		rc = resp_fail(resp, CF_EINVAL, "missing secret_id");
		goto out;
	}
	if ((rc = sid_hash(m, sid, hash)) != CF_OK)
		goto out;
	/* Counting a use is a read-modify-write: one at a time. */
	pthread_mutex_lock(&ar->mu);
	rc = get_json(key_of(m, "sid/", name, hash), &rec);
	exp = json_integer_value(json_object_get(rec, "expires"));
	if (rc == CF_ENOTFOUND || (rc == CF_OK && exp > 0 &&
	    exp <= (long long)time(NULL))) {
		pthread_mutex_unlock(&ar->mu);
		rc = resp_fail(resp, CF_EINVAL, "invalid role or secret ID");
		goto out;
	}
	if (rc == CF_OK && (left = json_integer_value(json_object_get(rec,
	    "num_uses"))) > 0) {
		if (left == 1) {
			if ((k = key_of(m, "acc/", name, json_string_value(
			    json_object_get(rec, "accessor")))) != NULL) {
				rc = core_del(k);
				free(k);
			}
			if (rc == CF_OK &&
			    (k = key_of(m, "sid/", name, hash)) != NULL) {
				rc = core_del(k);
				free(k);
			}
		} else {
			json_object_set_new(rec, "num_uses",
			    json_integer(left - 1));
			rc = put_json(key_of(m, "sid/", name, hash), rec);
		}
	}
	pthread_mutex_unlock(&ar->mu);
	if (rc != CF_OK)
		goto out;
	json_array_foreach(json_object_get(role, "token_policies"), i, v)
		if ((rc = strv_push(&pols, json_string_value(v))) != CF_OK)
			goto out;
	meta = json_deep_copy(json_object_get(rec, "metadata"));
	if (meta == NULL)
		meta = json_object();
	json_object_set_new(meta, "role_name", json_string(name));
	memset(&l, 0, sizeof(l));
	l.path = req->path;
	l.display_name = "approle";
	l.policies = &pols;
	l.meta = meta;
	l.ttl = json_integer_value(json_object_get(role, "token_ttl"));
	l.max_ttl = json_integer_value(json_object_get(role, "token_max_ttl"));
	l.period = json_integer_value(json_object_get(role, "token_period"));
	l.num_uses = json_integer_value(json_object_get(role,
	    "token_num_uses"));
	rc = tokenapi_login(&l, resp);
 out:
	sodium_memzero(hash, sizeof(hash));
	json_decref(idx);
	json_decref(role);
	json_decref(rec);
	json_decref(meta);
	strv_free(&pols);
	return rc;
}

static int
list_under(struct response *resp, char *prefix)
{
	json_t	*keys;
	int	 rc;

	if (prefix == NULL)
		return CF_ENOMEM;
	rc = core_list_json(prefix, &keys);
	free(prefix);
	if (rc != CF_OK || keys == NULL)
		return rc;
	return resp_data(resp, json_pack("{s:o}", "keys", keys));
}

static int
role_handler(struct mount *m, struct request *req, struct response *resp,
    char *name, const char *sub)
{
	json_t	*role = NULL;
	int	 rc, w = req->op == REQ_UPDATE || req->op == REQ_CREATE;

	lower(name);
	if (sub == NULL) {
		if (w)
			return role_write(m, req, resp, name);
		if ((rc = get_json(key_of(m, "role/", name, NULL), &role)) ==
		    CF_ENOTFOUND)
			return req->op == REQ_DELETE ? CF_OK : CF_OK;
		if (rc != CF_OK)
			return rc;
		if (req->op == REQ_READ)
			rc = resp_data(resp, role_view(role));
		else if (req->op == REQ_DELETE) {
			char	*k;

			rc = wipe(key_of(m, "sid/", name, ""));
			if (rc == CF_OK)
				rc = wipe(key_of(m, "acc/", name, ""));
			if (rc == CF_OK && (k = key_of(m, "roleid/",
			    json_string_value(json_object_get(role,
			    "role_id")), NULL)) != NULL) {
				rc = core_del(k);
				free(k);
			}
			if (rc == CF_OK && (k = key_of(m, "role/", name,
			    NULL)) != NULL) {
				rc = core_del(k);
				free(k);
			}
		} else
			rc = resp_fail(resp, CF_EMETHOD,
			    "1 error occurred:\n\t* unsupported operation\n\n");
		json_decref(role);
		return rc;
	}
	if ((rc = get_json(key_of(m, "role/", name, NULL), &role)) ==
	    CF_ENOTFOUND) {
		resp->status = 404;
		return resp_fail(resp, CF_ENOTFOUND, "role \"%s\" does not "
		    "exist", name);
	}
	if (rc != CF_OK)
		return rc;
	if (strcmp(sub, "role-id") == 0) {
		if (req->op == REQ_READ)
			rc = resp_data(resp, json_pack("{s:O}", "role_id",
			    json_object_get(role, "role_id")));
		else if (w)
			rc = role_write(m, req, resp, name);
		else
			rc = resp_fail(resp, CF_EMETHOD, "1 error occurred:\n"
			    "\t* unsupported operation\n\n");
	} else if (req->op == REQ_LIST && (strcmp(sub, "secret-id") == 0 ||
	    strcmp(sub, "secret-id/") == 0))
		rc = list_under(resp, key_of(m, "acc/", name, ""));
	else if (strcmp(sub, "secret-id") == 0 && w)
		rc = secret_id_generate(m, req, resp, name, role, 0);
	else if (strcmp(sub, "custom-secret-id") == 0 && w)
		rc = secret_id_generate(m, req, resp, name, role, 1);
	else if (strcmp(sub, "secret-id/lookup") == 0 && w)
		rc = secret_id_op(m, req, resp, name, 0, 0);
	else if (strcmp(sub, "secret-id/destroy") == 0 &&
	    (w || req->op == REQ_DELETE))
		rc = secret_id_op(m, req, resp, name, 0, 1);
	else if (strcmp(sub, "secret-id-accessor/lookup") == 0 && w)
		rc = secret_id_op(m, req, resp, name, 1, 0);
	else if (strcmp(sub, "secret-id-accessor/destroy") == 0 &&
	    (w || req->op == REQ_DELETE))
		rc = secret_id_op(m, req, resp, name, 1, 1);
	else
		rc = resp_fail(resp, CF_ENOTFOUND,
		    "1 error occurred:\n\t* unsupported path\n\n");
	json_decref(role);
	return rc;
}

static int
approle_handle(struct mount *m, struct request *req, struct response *resp)
{
	const char	*rel = req->rel, *slash;
	char		 name[128];
	size_t		 len;

	if (strcmp(rel, "login") == 0 &&
	    (req->op == REQ_UPDATE || req->op == REQ_CREATE))
		return login(m, req, resp);
	if (req->op == REQ_LIST && strcmp(rel, "role/") == 0)
		return list_under(resp, key_of(m, "role/", "", NULL));
	if (strncmp(rel, "role/", 5) == 0 && rel[5] != '\0') {
		slash = strchr(rel + 5, '/');
		len = slash != NULL ? (size_t)(slash - (rel + 5)) :
		    strlen(rel + 5);
		if (len > 0 && len < sizeof(name)) {
			memcpy(name, rel + 5, len);
			name[len] = '\0';
			return role_handler(m, req, resp, name,
			    slash != NULL && slash[1] != '\0' ? slash + 1 :
			    NULL);
		}
	}
	return resp_fail(resp, CF_ENOTFOUND,
	    "1 error occurred:\n\t* unsupported path\n\n");
}

static int
approle_unauth(const struct mount *m, const char *rel, int op)
{
	(void)m;
	(void)op;
	return strcmp(rel, "login") == 0;
}

static int
approle_exists(struct mount *m, struct request *req, int *exists)
{
	json_t	*r = NULL;
	char	 name[128];
	int	 rc;

	*exists = 1;
	if (strncmp(req->rel, "role/", 5) != 0 ||
	    strchr(req->rel + 5, '/') != NULL)
		return CF_OK;
	strlcpy(name, req->rel + 5, sizeof(name));
	lower(name);
	rc = get_json(key_of(m, "role/", name, NULL), &r);
	*exists = rc == CF_OK;
	json_decref(r);
	return rc == CF_OK || rc == CF_ENOTFOUND ? CF_OK : rc;
}

static int
approle_open(struct mount *m)
{
	struct approle	*ar;

	if ((ar = calloc(1, sizeof(*ar))) == NULL)
		return CF_ENOMEM;
	pthread_mutex_init(&ar->mu, NULL);
	m->ctx = ar;
	return CF_OK;
}

static void
approle_close(struct mount *m)
{
	struct approle	*ar = m->ctx;

	pthread_mutex_destroy(&ar->mu);
	free(ar);
	m->ctx = NULL;
}

static const struct backend_ops approle_ops = {
	.type = "approle",
	.is_auth = 1,
	.open = approle_open,
	.close = approle_close,
	.handle = approle_handle,
	.exists = approle_exists,
	.is_unauthenticated = approle_unauth,
};

void
approle_register(void)
{
	router_register(&approle_ops);
}
