/*
 * approle.c -- the AppRole auth method: machines log in with a role ID
 * and a secret ID.  This file owns the mount (its context, salt and
 * storage keys), login and the renewal of login tokens, and the path
 * table; roles are in approle_role.c, secret IDs in approle_sid.c,
 * what they share in approle_int.h.
 *
 * Storage under the mount's view:
 *   salt                     the per-mount HMAC-SHA256 key (32 bytes)
 *   role/<name>              a role: settings and its role_id
 *   roleid/<hmac(role_id)>   {"role": name}, to find the role at login
 *   sid/<name>/<hmac(sid)>   a secret ID's record (uses left, expiry,
 *                            metadata, accessor)
 *   acc/<name>/<accessor>    {"hash": hmac(sid)}, for listing and for
 *                            lookup and destroy by accessor
 * Secret IDs and role IDs appear in storage only as HMACs under the
 * salt, which lives behind the barrier like everything else; while the
 * mount is open the salt is also held in sodium_malloc memory, wiped on
 * close (unmount or seal).  A stolen store without the barrier key
 * shows neither; with it, the secret IDs still cannot be read back.
 *
 * Threads: ar->mu serializes every read-modify-write of this mount's
 * records (counting a secret ID's use, role_id changes, secret ID
 * creation and removal, the salt's first creation), so concurrent
 * logins never exceed secret_id_num_uses and two roles cannot claim one
 * role_id.  It ranks with the other cache locks: after the core lock,
 * before the storage backends' locks.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "approle.h"
#include "approle_int.h"
#include "buf.h"
#include "cidr.h"
#include "core.h"
#include "err.h"
#include "lock.h"
#include "loginfields.h"
#include "paths.h"
#include "req.h"
#include "router.h"
#include "strutil.h"
#include "token.h"
#include "token_cidrs.h"
#include "tokenapi.h"

void
ar_lock(struct approle *ar)
{
	lock_mutex(&ar->mu, LOCK_RECORD);
}

void
ar_unlock(struct approle *ar)
{
	unlock_mutex(&ar->mu);
}

/* <view><a><b>[/<c>]: a new string, or NULL. */
char *
ar_key(const struct mount *m, const char *a, const char *b, const char *c)
{
	char	*k = NULL;

	if (asprintf(&k, "%s%s%s%s%s", m->view, a, b, c != NULL ? "/" : "",
	    c != NULL ? c : "") == -1)
		return NULL;
	return k;
}

/* core_get_json / core_put_json / core_del on an ar_key() result. */
int
ar_get_json(char *key, json_t **out)
{
	int	 rc = key != NULL ? core_get_json(key, out) : CF_ENOMEM;

	free(key);
	return rc;
}

int
ar_put_json(char *key, json_t *j)
{
	int	 rc = key != NULL ? core_put_json(key, j) : CF_ENOMEM;

	free(key);
	return rc;
}

int
ar_del_key(char *key)
{
	int	 rc = key != NULL ? core_del(key) : CF_ENOMEM;

	free(key);
	return rc == CF_ENOTFOUND ? CF_OK : rc;
}

/* Delete everything under an ar_key() prefix ending in '/'. */
int
ar_del_prefix(char *prefix)
{
	int	 rc = prefix != NULL ? core_del_prefix(prefix) : CF_ENOMEM;

	free(prefix);
	return rc;
}

/*
 * The mount's salt, read or made on first use under ar->smu, so that
 * two first requests cannot each store a different one.
 */
static int
salt_load(struct mount *m)
{
	struct approle	*ar = m->ctx;
	struct buf	 b = BUF_INIT;
	uint8_t		*s = NULL;
	char		*k = NULL;
	int		 rc = CF_OK;

	lock_mutex(&ar->smu, LOCK_TABLE);
	if (ar->salt != NULL)
		goto out;
	if ((k = ar_key(m, "salt", "", NULL)) == NULL ||
	    (s = sodium_malloc(crypto_auth_hmacsha256_KEYBYTES)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	if ((rc = core_get(k, &b)) == CF_ENOTFOUND) {
		randombytes_buf(s, crypto_auth_hmacsha256_KEYBYTES);
		rc = core_put(k, s, crypto_auth_hmacsha256_KEYBYTES);
	} else if (rc == CF_OK) {
		if (b.len == crypto_auth_hmacsha256_KEYBYTES)
			memcpy(s, b.data, b.len);
		else
			rc = CF_EINTERNAL;
	}
	if (rc == CF_OK) {
		ar->salt = s;
		s = NULL;
	}
 out:
	unlock_mutex(&ar->smu);
	free(k);
	buf_free(&b);
	sodium_free(s);
	return rc;
}

/* Hex HMAC of an ID under the mount's salt (hex: AR_HASH_HEX bytes). */
int
ar_id_hash(struct mount *m, const char *id, char *hex)
{
	struct approle	*ar = m->ctx;
	uint8_t		 mac[crypto_auth_hmacsha256_BYTES];
	int		 rc;

	if ((rc = salt_load(m)) != CF_OK)
		return rc;
	crypto_auth_hmacsha256(mac, (const uint8_t *)id, strlen(id),
	    ar->salt);
	sodium_bin2hex(hex, AR_HASH_HEX, mac, sizeof(mac));
	sodium_memzero(mac, sizeof(mac));
	return CF_OK;
}


/*
 * A list in CIDR notation only (AppRole's secret_id_bound_cidrs,
 * cidr_list, and a secret ID's token_bound_cidrs): *out the entries,
 * as given or (fmt) as tokens echo them.  Vault answers a bad entry
 * with a 500 naming it; what is the "CIDR blocks" or "token CIDR
 * blocks" of its text.
 */
int
ar_strict_cidrs(struct request *req, struct response *resp, const char *key,
    const char *what, int fmt, json_t **out, int *present)
{
	struct strv	 sv = STRV_INIT;
	struct cidr	 c;
	char		 why[512], txt[CIDR_TEXT_MAX];
	size_t		 i;
	int		 rc, p = 0;

	*out = NULL;
	if ((rc = req_strlist(req, resp, key, &sv, &p)) != CF_OK || !p)
		goto out;
	if ((*out = json_array()) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	for (i = 0; i < sv.n; i++) {
		if (cidr_parse_cidr(sv.v[i], &c, why, sizeof(why)) != CF_OK) {
			resp->status = 500;
			resp->err_public = 1;
			rc = resp_fail(resp, CF_EINVAL, "1 error occurred:\n\t* "
			    "failed to validate %s: %s\n\n", what, why);
			goto out;
		}
		if (fmt)
			cidr_format(&c, txt, sizeof(txt));
		if (json_array_append_new(*out, json_string(fmt ? txt :
		    sv.v[i])) != 0) {
			rc = CF_ENOMEM;
			goto out;
		}
	}
 out:
	if (present != NULL)
		*present = p;
	if (rc != CF_OK) {
		json_decref(*out);
		*out = NULL;
	}
	strv_free(&sv);
	return rc;
}

/* The role's secret_id_bound_cidrs, whether secret IDs are bound or not. */
static int
role_cidr_check(struct request *req, struct response *resp, json_t *role)
{
	json_t		*rl = json_object_get(role, "secret_id_bound_cidrs");
	const char	*ip = req->remote_addr != NULL ? req->remote_addr : "";
	unsigned char	 a[16];

	if (json_array_size(rl) == 0 || token_cidrs_contain(rl, ip))
		return CF_OK;
	return resp_fail(resp, CF_EINVAL, "source address \"%s\" "
	    "unauthorized by CIDR restrictions on the role: %s", ip,
	    cidr_ip(ip, a) == 0 ? "invalid IP address" : "%!w(<nil>)");
}

/*
 * Renewal of a login token (Vault's pathLoginRenew): refused once its
 * role is gone, else under the role's token_ttl, token_max_ttl and
 * token_period as they are now.  Policies are not compared, as in
 * Vault.
 */
static int
ar_renew(struct mount *m, json_t *e, struct response *resp,
    struct login_renew *out)
{
	const char	*name;
	json_t		*role = NULL;
	int		 rc;

	name = json_string_value(json_object_get(json_object_get(e, "meta"),
	    "role_name"));
	resp->status = 500;
	resp->err_public = 1;
	if (name == NULL || *name == '\0')
		return resp_fail(resp, CF_EINTERNAL, "1 error occurred:\n\t* "
		    "failed to renew entry: failed to fetch role_name during "
		    "renewal\n\n");
	if (!paths_name_ok(name, strlen(name)) || (rc = ar_get_json(ar_key(m,
	    "role/", name, NULL), &role)) == CF_ENOTFOUND)
		return resp_fail(resp, CF_EINTERNAL, "1 error occurred:\n\t* "
		    "failed to renew entry: role \"%s\" does not exist during "
		    "renewal\n\n", name);
	resp->status = 0;
	resp->err_public = 0;
	if (rc != CF_OK)
		return rc;
	loginfields_renew(role, out);
	json_decref(role);
	return CF_OK;
}

static int
login(struct mount *m, struct request *req, struct response *resp)
{
	struct login	 l;
	struct strv	 pols = STRV_INIT;
	const char	*rid = NULL, *sid = NULL, *name;
	json_t		*idx = NULL, *role = NULL, *rec = NULL, *meta = NULL;
	char		 h[AR_HASH_HEX];
	int		 rc;

	if ((rc = req_str(req, resp, "role_id", &rid, NULL)) != CF_OK ||
	    (rc = req_str(req, resp, "secret_id", &sid, NULL)) != CF_OK)
		return rc;
	if (rid == NULL || *rid == '\0')
		return resp_fail(resp, CF_EINVAL, "missing role_id");
	if ((rc = ar_id_hash(m, rid, h)) != CF_OK)
		return rc;
	rc = ar_get_json(ar_key(m, "roleid/", h, NULL), &idx);
	if (rc == CF_OK && ((name = json_string_value(json_object_get(idx,
	    "role"))) == NULL || (rc = ar_get_json(ar_key(m, "role/", name,
	    NULL), &role)) == CF_ENOTFOUND))
		rc = CF_ENOTFOUND;
	if (rc == CF_ENOTFOUND) {
		rc = resp_fail(resp, CF_EINVAL, "invalid role or secret ID");
		goto out;
	}
	if (rc != CF_OK)
		goto out;
	if (json_is_true(json_object_get(role, "bind_secret_id"))) {
		if (sid == NULL || *sid == '\0') {
			rc = resp_fail(resp, CF_EINVAL, "missing secret_id");
			goto out;
		}
		if ((rc = ar_id_hash(m, sid, h)) != CF_OK)
			goto out;
		if ((rc = ar_sid_consume(m, name, h, &rec)) == CF_ENOTFOUND) {
			rc = resp_fail(resp, CF_EINVAL, "invalid role or "
			    "secret ID");
			goto out;
		}
		if (rc != CF_OK || (rc = ar_sid_cidr_check(req, resp, role,
		    rec)) != CF_OK)
			goto out;
	}
	if ((rc = role_cidr_check(req, resp, role)) != CF_OK)
		goto out;
	if ((meta = json_deep_copy(json_object_get(rec, "metadata"))) == NULL &&
	    (meta = json_object()) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	json_object_set_new(meta, "role_name", json_string(name));
	memset(&l, 0, sizeof(l));
	if ((rc = loginfields_login(role, &l, &pols)) != CF_OK)
		goto out;
	l.path = req->path;
	l.display_name = "approle";
	l.meta = meta;
	/* Not checked here: the token's first use from outside is. */
	l.bound_cidrs = json_array_size(json_object_get(rec,
	    "token_bound_cidrs")) > 0 ? json_object_get(rec,
	    "token_bound_cidrs") : json_object_get(role, "token_bound_cidrs");
	rc = tokenapi_login(&l, resp);
 out:
	sodium_memzero(h, sizeof(h));
	json_decref(idx);
	json_decref(role);
	json_decref(rec);
	json_decref(meta);
	strv_free(&pols);
	return rc;
}

int
ar_list_under(struct response *resp, char *prefix)
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

/* The role's name, lower-cased as stored, into name. */
void
ar_role_name(const struct path_args *a, char name[AR_NAME_MAX + 1])
{
	strlcpy(name, a->v[0], AR_NAME_MAX + 1);
	strutil_lower(name);
}

/* The stored role called a->v[0] into *role, or Vault's 404. */
int
ar_role_get(struct mount *m, struct response *resp, const struct path_args *a,
    char name[AR_NAME_MAX + 1], json_t **role)
{
	int	 rc;

	ar_role_name(a, name);
	*role = NULL;
	if ((rc = ar_get_json(ar_key(m, "role/", name, NULL), role)) ==
	    CF_ENOTFOUND) {
		resp->status = 404;
		return resp_fail(resp, CF_EINVAL, "role \"%s\" does not exist",
		    name);
	}
	return rc;
}

static int
ar_login(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)a;
	return login(m, req, resp);
}

static int
ar_capture_ok(const char *name, const char *value)
{
	(void)name;
	return paths_name_ok(value, strlen(value));
}

static const struct path_entry approle_entries[] = {
	{ "login", PATH_WRITE, ar_login },
	{ "role/", PATH_LIST, ar_roles },
	{ "tidy/secret-id", PATH_WRITE, ar_tidy },
	{ "role/:role_name", PATH_READ, ar_role_read },
	{ "role/:role_name", PATH_WRITE, ar_role_write },
	{ "role/:role_name", PATH_DELETE, ar_role_delete },
	{ "role/:role_name/role-id", PATH_READ, ar_role_id_read },
	{ "role/:role_name/role-id", PATH_WRITE, ar_role_id_write },
	{ "role/:role_name/secret-id", PATH_WRITE, ar_secret_id },
	{ "role/:role_name/secret-id/", PATH_LIST, ar_secret_ids },
	{ "role/:role_name/custom-secret-id", PATH_WRITE,
	    ar_custom_secret_id },
	{ "role/:role_name/secret-id/lookup", PATH_WRITE, ar_sid_lookup },
	{ "role/:role_name/secret-id/destroy", PATH_WRITE | PATH_DELETE,
	    ar_sid_destroy },
	{ "role/:role_name/secret-id-accessor/lookup", PATH_WRITE,
	    ar_acc_lookup },
	{ "role/:role_name/secret-id-accessor/destroy", PATH_WRITE |
	    PATH_DELETE, ar_acc_destroy },
	{ NULL, 0, NULL }
};

static const struct path_table approle_paths = {
	.entries = approle_entries,
	.capture_ok = ar_capture_ok,
};

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
	char	 name[AR_NAME_MAX + 1];
	size_t	 len;
	int	 rc;

	*exists = 1;
	if (strncmp(req->rel, "role/", 5) != 0 ||
	    strchr(req->rel + 5, '/') != NULL)
		return CF_OK;
	len = strlen(req->rel + 5);
	if (!paths_name_ok(req->rel + 5, len))
		return CF_OK;
	memcpy(name, req->rel + 5, len + 1);
	strutil_lower(name);
	rc = ar_get_json(ar_key(m, "role/", name, NULL), &r);
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
	if (pthread_mutex_init(&ar->mu, NULL) != 0) {
		free(ar);
		return CF_ENOMEM;
	}
	if (pthread_mutex_init(&ar->smu, NULL) != 0) {
		pthread_mutex_destroy(&ar->mu);
		free(ar);
		return CF_ENOMEM;
	}
	m->ctx = ar;
	return CF_OK;
}

/* Unmount or seal: wipe the salt. */
static void
approle_close(struct mount *m)
{
	struct approle	*ar = m->ctx;

	sodium_free(ar->salt);
	pthread_mutex_destroy(&ar->mu);
	pthread_mutex_destroy(&ar->smu);
	free(ar);
	m->ctx = NULL;
}

static const struct backend_ops approle_ops = {
	.type = "approle",
	.is_auth = 1,
	.open = approle_open,
	.close = approle_close,
	.table = &approle_paths,
	.exists = approle_exists,
	.is_unauthenticated = approle_unauth,
};

void
approle_register(void)
{
	router_register(&approle_ops);
	tokenapi_renew_hook("approle", ar_renew);
}
