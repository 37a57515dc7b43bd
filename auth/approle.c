/*
 * approle.c -- the AppRole auth method: machines log in with a role ID
 * and a secret ID.
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
#include "timeutil.h"
#include "token.h"
#include "tokenapi.h"
#include "uuid4.h"

#define AR_NAME_MAX	PATHS_NAME_MAX
#define AR_HASH_HEX	(2 * crypto_auth_hmacsha256_BYTES + 1)
#define AR_ID_MAX	1024		/* custom role and secret IDs */

struct approle {
	pthread_mutex_t	 mu;		/* records' read-modify-writes */
	pthread_mutex_t	 smu;		/* salt; taken after mu */
	uint8_t		*salt;		/* sodium_malloc, or NULL until used */
};

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

static void
ar_lock(struct approle *ar)
{
	lock_mutex(&ar->mu, LOCK_RECORD);
}

static void
ar_unlock(struct approle *ar)
{
	unlock_mutex(&ar->mu);
}

/* <view><a><b>[/<c>]: a new string, or NULL. */
static char *
key_of(const struct mount *m, const char *a, const char *b, const char *c)
{
	char	*k = NULL;

	if (asprintf(&k, "%s%s%s%s%s", m->view, a, b, c != NULL ? "/" : "",
	    c != NULL ? c : "") == -1)
		return NULL;
	return k;
}

/* core_get_json / core_put_json / core_del on a key_of() result. */
static int
get_json(char *key, json_t **out)
{
	int	 rc = key != NULL ? core_get_json(key, out) : CF_ENOMEM;

	free(key);
	return rc;
}

static int
put_json(char *key, json_t *j)
{
	int	 rc = key != NULL ? core_put_json(key, j) : CF_ENOMEM;

	free(key);
	return rc;
}

static int
del_key(char *key)
{
	int	 rc = key != NULL ? core_del(key) : CF_ENOMEM;

	free(key);
	return rc == CF_ENOTFOUND ? CF_OK : rc;
}

/* Delete everything under a key_of() prefix ending in '/'. */
static int
del_prefix(char *prefix)
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
	if ((k = key_of(m, "salt", "", NULL)) == NULL ||
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
static int
id_hash(struct mount *m, const char *id, char *hex)
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
static int
strict_cidrs(struct request *req, struct response *resp, const char *key,
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
	if ((rc = strict_cidrs(req, resp, key, "CIDR blocks", 0, &list,
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
	json_t		*p = json_object_get(r, "token_policies"), *o;
	const char	*t = json_string_value(json_object_get(r,
	    "token_type"));

#define RI(k)	json_integer_value(json_object_get(r, (k)))
	o = json_pack("{s:b, s:b, s:O, s:I, s:I, s:o, s:I, s:I, s:I, s:I, "
	    "s:I, s:b, s:s, s:o}",
	    "bind_secret_id", json_is_true(json_object_get(r,
	    "bind_secret_id")),
	    "local_secret_ids", json_is_true(json_object_get(r,
	    "local_secret_ids")),
	    "secret_id_bound_cidrs", json_array_size(json_object_get(r,
	    "secret_id_bound_cidrs")) > 0 ? json_object_get(r,
	    "secret_id_bound_cidrs") : json_null(),
	    "secret_id_num_uses", RI("secret_id_num_uses"),
	    "secret_id_ttl", RI("secret_id_ttl"),
	    "token_policies", p != NULL ? json_incref(p) : json_array(),
	    "token_ttl", RI("token_ttl"),
	    "token_max_ttl", RI("token_max_ttl"),
	    "token_explicit_max_ttl", RI("token_explicit_max_ttl"),
	    "token_num_uses", RI("token_num_uses"),
	    "token_period", RI("token_period"),
	    "token_no_default_policy", json_is_true(json_object_get(r,
	    "token_no_default_policy")),
	    "token_type", t != NULL ? t : "default",
	    "token_bound_cidrs", json_object_get(r, "token_bound_cidrs") !=
	    NULL ? json_incref(json_object_get(r, "token_bound_cidrs")) :
	    json_array());
#undef RI
	if (o == NULL)
		return NULL;
	loginfields_view_legacy(o, r, rolefields, NROLEFIELDS);
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

	if ((rc = id_hash(m, rid, h)) != CF_OK)
		return rc;
	rc = get_json(key_of(m, "roleid/", h, NULL), &idx);
	if (rc == CF_OK && strcmp(json_string_value(json_object_get(idx,
	    "role")) != NULL ? json_string_value(json_object_get(idx, "role")) :
	    "", name) != 0)
		rc = resp_fail(resp, CF_EINVAL, "role_id already in use");
	else if (rc == CF_OK || rc == CF_ENOTFOUND) {
		json_decref(idx);
		if ((idx = json_pack("{s:s}", "role", name)) == NULL)
			rc = CF_ENOMEM;
		else
			rc = put_json(key_of(m, "roleid/", h, NULL), idx);
	}
	json_decref(idx);
	if (rc != CF_OK || old == NULL || strcmp(old, rid) == 0)
		return rc;
	if ((rc = id_hash(m, old, h)) != CF_OK)
		return rc;
	return del_key(key_of(m, "roleid/", h, NULL));
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
	rc = get_json(key_of(m, "role/", name, NULL), &r);
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
	rc = put_json(key_of(m, "role/", name, NULL), r);
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
	if ((rc = get_json(key_of(m, "role/", name, NULL), &r)) != CF_OK) {
		if (rc == CF_ENOTFOUND)
			rc = CF_OK;
		goto out;
	}
	if ((rc = id_hash(m, json_string_value(json_object_get(r,
	    "role_id")) != NULL ? json_string_value(json_object_get(r,
	    "role_id")) : "", h)) != CF_OK ||
	    (rc = del_key(key_of(m, "roleid/", h, NULL))) != CF_OK)
		goto out;
	if ((rc = del_prefix(key_of(m, "sid/", name, ""))) != CF_OK ||
	    (rc = del_prefix(key_of(m, "acc/", name, ""))) != CF_OK)
		goto out;
	rc = del_key(key_of(m, "role/", name, NULL));
 out:
	ar_unlock(ar);
	json_decref(r);
	return rc;
}

/* A list as Go's %q prints a []string: ["a" "b"]. */
static int
quote_list(struct buf *b, json_t *list)
{
	json_t	*v;
	size_t	 i;
	int	 rc;

	rc = buf_puts(b, "[");
	json_array_foreach(list, i, v)
		if (rc == CF_OK)
			rc = buf_printf(b, "%s\"%s\"", i > 0 ? " " : "",
			    json_string_value(v));
	return rc == CF_OK ? buf_puts(b, "]") : rc;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Every block of sub must lie inside one of the role's list (none: no
 * constraint); else Vault's 500 text, which prints the role's list
 * deduplicated and sorted.  wrap: in multierror form, as at write time.
 */
static int
cidrs_subset(struct response *resp, json_t *role_list, json_t *sub,
    int wrap)
{
	struct strv	 rs = STRV_INIT;
	struct cidr	 o, in;
	struct buf	 a = BUF_INIT, b = BUF_INIT;
	json_t		*v, *rl = NULL;
	size_t		 i, j;
	int		 rc = CF_OK, ok = 1, found;

	if (json_array_size(sub) == 0 || json_array_size(role_list) == 0)
		return CF_OK;
	json_array_foreach(role_list, i, v)
		if (!strv_has(&rs, json_string_value(v)) &&
		    (rc = strv_push(&rs, json_string_value(v))) != CF_OK)
			goto out;
	qsort(rs.v, rs.n, sizeof(*rs.v), str_cmp);
	json_array_foreach(sub, i, v) {
		found = 0;
		if (cidr_parse(json_string_value(v), &in, NULL, 0) == CF_OK)
			for (j = 0; j < rs.n && !found; j++)
				found = cidr_parse(rs.v[j], &o, NULL, 0) ==
				    CF_OK && cidr_within(&o, &in);
		ok = ok && found;
	}
	if (ok)
		goto out;
	if ((rl = json_array()) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	for (i = 0; i < rs.n; i++)
		json_array_append_new(rl, json_string(rs.v[i]));
	if ((rc = quote_list(&a, rl)) != CF_OK ||
	    (rc = quote_list(&b, sub)) != CF_OK)
		goto out;
	resp->status = 500;
	resp->err_public = 1;
	rc = resp_fail(resp, CF_EINVAL, "%sfailed to verify subset "
	    "relationship between CIDR blocks on the role %s and CIDR blocks "
	    "on the secret ID %s: %%!w(<nil>)%s", wrap ?
	    "1 error occurred:\n\t* " : "", a.data, b.data, wrap ? "\n\n" :
	    "");
 out:
	json_decref(rl);
	strv_free(&rs);
	buf_free(&a);
	buf_free(&b);
	return rc;
}

/*
 * Secret ID metadata: a JSON object of strings, given as such or as its
 * JSON text (hvac sends both forms), or "k=v,k2=v2".  *out owned.
 */
static int
parse_metadata(struct request *req, struct response *resp, json_t **out)
{
	json_t		*v = json_object_get(req->data, "metadata"), *m = NULL;
	json_t		*x;
	json_error_t	 je;
	const char	*s, *k, *eq, *comma;
	char		*key;

	*out = NULL;
	if (v == NULL || json_is_null(v) || (json_is_string(v) &&
	    *json_string_value(v) == '\0'))
		return (*out = json_object()) != NULL ? CF_OK : CF_ENOMEM;
	if (json_is_object(v))
		m = json_incref(v);
	else if (json_is_string(v)) {
		s = json_string_value(v);
		if (*s == '{')
			m = json_loads(s, 0, &je);
		else if ((m = json_object()) != NULL) {
			/* k=v pairs separated by commas */
			for (; *s != '\0'; s = *comma != '\0' ? comma + 1 :
			    comma) {
				if ((comma = strchr(s, ',')) == NULL)
					comma = s + strlen(s);
				eq = memchr(s, '=', (size_t)(comma - s));
				if (eq == NULL || eq == s ||
				    (key = strndup(s, (size_t)(eq - s))) ==
				    NULL) {
					json_decref(m);
					m = NULL;
					break;
				}
				json_object_set_new(m, key, json_stringn(eq + 1,
				    (size_t)(comma - eq - 1)));
				free(key);
			}
		}
	}
	if (m == NULL || !json_is_object(m))
		goto bad;
	json_object_foreach(m, k, x)
		if (!json_is_string(x))
			goto bad;
	*out = m;
	return CF_OK;
 bad:
	json_decref(m);
	return resp_fail(resp, CF_EINVAL, "failed to parse metadata: want a "
	    "JSON object of strings or k=v pairs");
}

/* POST role/<name>/secret-id and .../custom-secret-id. */
static int
secret_id_generate(struct mount *m, struct request *req,
    struct response *resp, const char *name, json_t *role, int custom)
{
	struct approle	*ar = m->ctx;
	char		*sid = NULL, acc[REQ_ID_LEN + 1], h[AR_HASH_HEX];
	const char	*given = NULL;
	json_t		*rec = NULL, *idx = NULL, *meta = NULL, *old = NULL;
	json_t		*cl = NULL, *tbc = NULL;
	long long	 uses, ttl, n = 0, t = 0, now = (long long)time(NULL);
	long long	 max;
	int		 rc, locked = 0;

	if ((rc = req_int(req, resp, "num_uses", &n, NULL)) != CF_OK ||
	    (rc = req_duration(req, resp, "ttl", &t, NULL)) != CF_OK)
		return rc;
	if (!json_is_true(json_object_get(role, "bind_secret_id")))
		return resp_fail(resp, CF_EINVAL, "bind_secret_id is not set "
		    "on the role");
	uses = json_integer_value(json_object_get(role, "secret_id_num_uses"));
	ttl = json_integer_value(json_object_get(role, "secret_id_ttl"));
	/* A secret ID may tighten the role's limits, never loosen them. */
	if (n < 0)
		return resp_fail(resp, CF_EINVAL, "num_uses cannot be "
		    "negative");
	if (uses > 0 && n > uses)
		return resp_fail(resp, CF_EINVAL, "num_uses cannot be higher "
		    "than the role's secret_id_num_uses");
	if (ttl > 0 && t > ttl)
		return resp_fail(resp, CF_EINVAL, "ttl cannot be longer than "
		    "the role's secret_id_ttl");
	if (n > 0)
		uses = n;
	if (t > 0)
		ttl = t;
	/* As Vault: a secret ID outlives neither the mount's max TTL. */
	max = json_integer_value(json_object_get(m->config, "max_lease_ttl"));
	if (max <= 0)
		max = core_conf()->max_lease_ttl;
	if (max > 0 && (ttl < 0 || ttl > max))
		ttl = max;
	if ((rc = parse_metadata(req, resp, &meta)) != CF_OK)
		return rc;
	if ((rc = strict_cidrs(req, resp, "cidr_list", "CIDR blocks", 0, &cl,
	    NULL)) != CF_OK || (rc = cidrs_subset(resp, json_object_get(role,
	    "secret_id_bound_cidrs"), cl, 1)) != CF_OK ||
	    (rc = strict_cidrs(req, resp, "token_bound_cidrs",
	    "token CIDR blocks", 1, &tbc, NULL)) != CF_OK ||
	    (rc = cidrs_subset(resp, json_object_get(role,
	    "token_bound_cidrs"), tbc, 1)) != CF_OK)
		goto out;
	if (custom) {
		if ((rc = req_str(req, resp, "secret_id", &given, NULL)) !=
		    CF_OK)
			goto out;
		if (given == NULL || *given == '\0') {
			rc = resp_fail(resp, CF_EINVAL, "missing secret_id");
			goto out;
		}
		if (strlen(given) > AR_ID_MAX) {
			rc = resp_fail(resp, CF_EINVAL, "secret_id is too "
			    "long");
			goto out;
		}
		sid = strdup(given);
	} else if ((sid = malloc(REQ_ID_LEN + 1)) != NULL)
		uuid4_random(sid);
	if (sid == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	uuid4_random(acc);
	if ((rc = id_hash(m, sid, h)) != CF_OK)
		goto out;
	rec = json_pack("{s:s, s:I, s:I, s:I, s:I, s:O}", "accessor", acc,
	    "num_uses", (json_int_t)uses, "ttl", (json_int_t)ttl,
	    "created", (json_int_t)now,
	    "expires", (json_int_t)(ttl > 0 ? time_add(now, ttl) : 0),
	    "metadata", meta);
	if (rec != NULL && json_array_size(cl) > 0)
		json_object_set(rec, "cidr_list", cl);
	if (rec != NULL && json_array_size(tbc) > 0)
		json_object_set(rec, "token_bound_cidrs", tbc);
	idx = json_pack("{s:s}", "hash", h);
	if (rec == NULL || idx == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	ar_lock(ar);
	locked = 1;
	if ((rc = get_json(key_of(m, "sid/", name, h), &old)) == CF_OK) {
		rc = resp_fail(resp, CF_EINVAL, "secret_id is already "
		    "registered");
		goto out;
	}
	if (rc != CF_ENOTFOUND)
		goto out;
	if ((rc = put_json(key_of(m, "sid/", name, h), rec)) != CF_OK ||
	    (rc = put_json(key_of(m, "acc/", name, acc), idx)) != CF_OK)
		goto out;
	resp->wipe = 1;
	rc = resp_data(resp, json_pack("{s:s, s:s, s:I, s:I}", "secret_id",
	    sid, "secret_id_accessor", acc, "secret_id_num_uses",
	    (json_int_t)uses, "secret_id_ttl", (json_int_t)ttl));
 out:
	if (locked)
		ar_unlock(ar);
	if (sid != NULL) {
		sodium_memzero(sid, strlen(sid));
		free(sid);
	}
	json_decref(rec);
	json_decref(idx);
	json_decref(meta);
	json_decref(old);
	json_decref(cl);
	json_decref(tbc);
	return rc;
}

static json_t *
sid_view(json_t *rec)
{
	char	 c[64], e[64] = "0001-01-01T00:00:00Z";

	time_format_rfc3339(c, sizeof(c), json_integer_value(json_object_get(
	    rec, "created")), 0);
	if (json_integer_value(json_object_get(rec, "expires")) > 0)
		time_format_rfc3339(e, sizeof(e), json_integer_value(
		    json_object_get(rec, "expires")), 0);
	return json_pack("{s:o, s:s, s:s, s:s, s:O, s:O, s:O, s:O, s:o}",
	    "cidr_list", json_object_get(rec, "cidr_list") != NULL ?
	    json_incref(json_object_get(rec, "cidr_list")) : json_array(),
	    "creation_time", c, "expiration_time", e,
	    "last_updated_time", c, "metadata", json_object_get(rec,
	    "metadata"), "secret_id_accessor", json_object_get(rec,
	    "accessor"), "secret_id_num_uses", json_object_get(rec,
	    "num_uses"), "secret_id_ttl", json_object_get(rec, "ttl"),
	    "token_bound_cidrs", json_object_get(rec, "token_bound_cidrs") !=
	    NULL ? json_incref(json_object_get(rec, "token_bound_cidrs")) :
	    json_array());
}

/* Remove a secret ID's record and accessor entry; under ar->mu. */
static int
sid_remove(struct mount *m, const char *name, const char *h, json_t *rec)
{
	const char	*acc = json_string_value(json_object_get(rec,
	    "accessor"));
	int		 rc = CF_OK;

	if (acc != NULL)
		rc = del_key(key_of(m, "acc/", name, acc));
	if (rc == CF_OK)
		rc = del_key(key_of(m, "sid/", name, h));
	return rc;
}

static int
sid_is_expired(json_t *rec, long long now)
{
	long long	 exp = json_integer_value(json_object_get(rec,
	    "expires"));

	return exp > 0 && exp <= now;
}

/* lookup/destroy by secret ID or by accessor. */
static int
secret_id_op(struct mount *m, struct request *req, struct response *resp,
    const char *name, int by_accessor, int destroy)
{
	struct approle	*ar = m->ctx;
	const char	*v = NULL, *hv;
	json_t		*rec = NULL, *idx = NULL;
	char		 h[AR_HASH_HEX];
	int		 rc;

	if ((rc = req_str(req, resp, by_accessor ? "secret_id_accessor" :
	    "secret_id", &v, NULL)) != CF_OK)
		return rc;
	if (v == NULL || *v == '\0')
		return resp_fail(resp, CF_EINVAL, by_accessor ?
		    "missing secret_id_accessor" : "missing secret_id");
	ar_lock(ar);
	if (by_accessor) {
		if (!paths_name_ok(v, strlen(v)) || (rc = get_json(key_of(m,
		    "acc/", name, v), &idx)) == CF_ENOTFOUND) {
			rc = resp_fail(resp, CF_EINVAL, "failed to find "
			    "accessor entry for secret_id_accessor: \"%s\"", v);
			goto out;
		}
		if (rc != CF_OK)
			goto out;
		hv = json_string_value(json_object_get(idx, "hash"));
		strlcpy(h, hv != NULL ? hv : "", sizeof(h));
	} else if ((rc = id_hash(m, v, h)) != CF_OK)
		goto out;
	if ((rc = get_json(key_of(m, "sid/", name, h), &rec)) ==
	    CF_ENOTFOUND) {
		rc = CF_OK;		/* 204, as Vault */
		goto out;
	}
	if (rc != CF_OK)
		goto out;
	if (destroy)
		rc = sid_remove(m, name, h, rec);
	else
		rc = resp_data(resp, sid_view(rec));
 out:
	ar_unlock(ar);
	json_decref(rec);
	json_decref(idx);
	return rc;
}

/* The smaller of two limits where 0 means none. */
static long long
min_limit(long long a, long long b)
{
	if (a <= 0)
		return b;
	if (b <= 0)
		return a;
	return a < b ? a : b;
}

/*
 * Take one use of the secret ID with hash h: CF_OK with *rec (owned)
 * if it is valid, CF_ENOTFOUND if it is unknown, expired or used up.
 * The last use deletes it, and so does finding it expired.
 */
static int
sid_consume(struct mount *m, const char *name, const char *h, json_t **rec)
{
	struct approle	*ar = m->ctx;
	long long	 left;
	int		 rc;

	ar_lock(ar);
	if ((rc = get_json(key_of(m, "sid/", name, h), rec)) != CF_OK)
		goto out;
	if (sid_is_expired(*rec, (long long)time(NULL))) {
		if ((rc = sid_remove(m, name, h, *rec)) == CF_OK)
			rc = CF_ENOTFOUND;
		goto out;
	}
	left = json_integer_value(json_object_get(*rec, "num_uses"));
	if (left == 1)
		rc = sid_remove(m, name, h, *rec);
	else if (left > 1) {
		json_object_set_new(*rec, "num_uses", json_integer(left - 1));
		rc = put_json(key_of(m, "sid/", name, h), *rec);
	}
 out:
	ar_unlock(ar);
	if (rc != CF_OK) {
		json_decref(*rec);
		*rec = NULL;
	}
	return rc;
}

/*
 * A secret ID's cidr_list against the client address, after its use was
 * taken.  Vault words the refusal differently for secret IDs with
 * unlimited uses and with counted ones; both are 400s.
 */
static int
sid_cidr_check(struct request *req, struct response *resp, json_t *role,
    json_t *rec)
{
	json_t		*cl = json_object_get(rec, "cidr_list");
	const char	*ip = req->remote_addr != NULL ? req->remote_addr : "";
	unsigned char	 a[16];
	int		 rc, unlimited;

	unlimited = json_integer_value(json_object_get(rec, "num_uses")) == 0;
	if ((rc = cidrs_subset(resp, json_object_get(role,
	    "secret_id_bound_cidrs"), cl, 0)) != CF_OK)
		return rc;
	if (json_array_size(cl) == 0 || token_cidrs_contain(cl, ip))
		return CF_OK;
	if (unlimited && cidr_ip(ip, a) == 0)
		return resp_fail(resp, CF_EINVAL, "invalid IP address");
	if (unlimited)
		return resp_fail(resp, CF_EINVAL, "source address \"%s\" "
		    "unauthorized through CIDR restrictions on the secret ID",
		    ip);
	return resp_fail(resp, CF_EINVAL, "source address \"%s\" "
	    "unauthorized by CIDR restrictions on the secret ID: %s", ip,
	    cidr_ip(ip, a) == 0 ? "invalid IP address" : "%!w(<nil>)");
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
	if (!paths_name_ok(name, strlen(name)) || (rc = get_json(key_of(m,
	    "role/", name, NULL), &role)) == CF_ENOTFOUND)
		return resp_fail(resp, CF_EINTERNAL, "1 error occurred:\n\t* "
		    "failed to renew entry: role \"%s\" does not exist during "
		    "renewal\n\n", name);
	resp->status = 0;
	resp->err_public = 0;
	if (rc != CF_OK)
		return rc;
	out->ttl = json_integer_value(json_object_get(role, "token_ttl"));
	out->max_ttl = min_limit(json_integer_value(json_object_get(role,
	    "token_max_ttl")), json_integer_value(json_object_get(role,
	    "token_explicit_max_ttl")));
	out->period = json_integer_value(json_object_get(role,
	    "token_period"));
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
	json_t		*v;
	char		 h[AR_HASH_HEX];
	size_t		 i;
	int		 rc;

	if ((rc = req_str(req, resp, "role_id", &rid, NULL)) != CF_OK ||
	    (rc = req_str(req, resp, "secret_id", &sid, NULL)) != CF_OK)
		return rc;
	if (rid == NULL || *rid == '\0')
		return resp_fail(resp, CF_EINVAL, "missing role_id");
	if ((rc = id_hash(m, rid, h)) != CF_OK)
		return rc;
	rc = get_json(key_of(m, "roleid/", h, NULL), &idx);
	if (rc == CF_OK && ((name = json_string_value(json_object_get(idx,
	    "role"))) == NULL || (rc = get_json(key_of(m, "role/", name, NULL),
	    &role)) == CF_ENOTFOUND))
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
		if ((rc = id_hash(m, sid, h)) != CF_OK)
			goto out;
		if ((rc = sid_consume(m, name, h, &rec)) == CF_ENOTFOUND) {
			rc = resp_fail(resp, CF_EINVAL, "invalid role or "
			    "secret ID");
			goto out;
		}
		if (rc != CF_OK || (rc = sid_cidr_check(req, resp, role,
		    rec)) != CF_OK)
			goto out;
	}
	if ((rc = role_cidr_check(req, resp, role)) != CF_OK)
		goto out;
	json_array_foreach(json_object_get(role, "token_policies"), i, v)
		if ((rc = strv_push(&pols, json_string_value(v))) != CF_OK)
			goto out;
	if ((meta = json_deep_copy(json_object_get(rec, "metadata"))) == NULL &&
	    (meta = json_object()) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	json_object_set_new(meta, "role_name", json_string(name));
	memset(&l, 0, sizeof(l));
	l.path = req->path;
	l.display_name = "approle";
	l.policies = &pols;
	l.meta = meta;
	l.ttl = json_integer_value(json_object_get(role, "token_ttl"));
	/* A login token is new: both maxima bound it from now. */
	l.max_ttl = min_limit(json_integer_value(json_object_get(role,
	    "token_max_ttl")), json_integer_value(json_object_get(role,
	    "token_explicit_max_ttl")));
	l.period = json_integer_value(json_object_get(role, "token_period"));
	l.num_uses = json_integer_value(json_object_get(role,
	    "token_num_uses"));
	l.no_default_policy = json_is_true(json_object_get(role,
	    "token_no_default_policy"));
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

/*
 * POST tidy/secret-id: remove expired secret IDs and accessor entries
 * left without a secret ID.  Runs to completion before answering (a
 * mount holds few enough), then answers 202 with Vault's warning.
 */
static int
tidy(struct mount *m, struct response *resp)
{
	struct approle	*ar = m->ctx;
	struct strv	 roles = STRV_INIT, ids = STRV_INIT;
	json_t		*rec = NULL;
	const char	*h;
	char		*p;
	long long	 now = (long long)time(NULL);
	size_t		 i, j;
	int		 rc;

	ar_lock(ar);
	if ((p = key_of(m, "sid/", "", NULL)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	rc = core_list(p, &roles);
	free(p);
	for (i = 0; i < roles.n && rc == CF_OK; i++) {
		roles.v[i][strcspn(roles.v[i], "/")] = '\0';
		strv_free(&ids);
		if ((p = key_of(m, "sid/", roles.v[i], "")) == NULL) {
			rc = CF_ENOMEM;
			break;
		}
		rc = core_list(p, &ids);
		free(p);
		for (j = 0; j < ids.n && rc == CF_OK; j++) {
			rc = get_json(key_of(m, "sid/", roles.v[i], ids.v[j]),
			    &rec);
			if (rc == CF_OK && sid_is_expired(rec, now))
				rc = sid_remove(m, roles.v[i], ids.v[j], rec);
			json_decref(rec);
			rec = NULL;
		}
		/* Accessors whose secret ID is gone. */
		strv_free(&ids);
		if (rc != CF_OK || (p = key_of(m, "acc/", roles.v[i], "")) ==
		    NULL)
			break;
		rc = core_list(p, &ids);
		free(p);
		for (j = 0; j < ids.n && rc == CF_OK; j++) {
			if ((rc = get_json(key_of(m, "acc/", roles.v[i],
			    ids.v[j]), &rec)) != CF_OK)
				break;
			h = json_string_value(json_object_get(rec, "hash"));
			if ((p = key_of(m, "sid/", roles.v[i], h != NULL ? h :
			    "")) == NULL)
				rc = CF_ENOMEM;
			else {
				json_t	*s = NULL;

				if ((rc = core_get_json(p, &s)) == CF_ENOTFOUND)
					rc = del_key(key_of(m, "acc/",
					    roles.v[i], ids.v[j]));
				json_decref(s);
				free(p);
			}
			json_decref(rec);
			rec = NULL;
		}
	}
	if (rc == CF_ENOTFOUND)
		rc = CF_OK;
 out:
	ar_unlock(ar);
	strv_free(&roles);
	strv_free(&ids);
	if (rc != CF_OK)
		return rc;
	return resp_tidy_started(resp);
}

/* The role's name, lower-cased as stored, into name. */
static void
role_name(const struct path_args *a, char name[AR_NAME_MAX + 1])
{
	strlcpy(name, a->v[0], AR_NAME_MAX + 1);
	strutil_lower(name);
}

/* The stored role called a->v[0] into *role, or Vault's 404. */
static int
role_get(struct mount *m, struct response *resp, const struct path_args *a,
    char name[AR_NAME_MAX + 1], json_t **role)
{
	int	 rc;

	role_name(a, name);
	*role = NULL;
	if ((rc = get_json(key_of(m, "role/", name, NULL), role)) ==
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
ar_roles(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)req;
	(void)a;
	return list_under(resp, key_of(m, "role/", "", NULL));
}

static int
ar_tidy(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)req;
	(void)a;
	return tidy(m, resp);
}

static int
ar_role_read(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	char	 name[AR_NAME_MAX + 1];
	json_t	*role = NULL;
	int	 rc;

	(void)req;
	role_name(a, name);
	if ((rc = get_json(key_of(m, "role/", name, NULL), &role)) == CF_OK)
		rc = resp_data(resp, role_view(role));
	json_decref(role);
	return rc == CF_ENOTFOUND ? CF_OK : rc;	/* 404 */
}

static int
ar_role_write(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	char	 name[AR_NAME_MAX + 1];

	role_name(a, name);
	return role_write(m, req, resp, name, 0);
}

static int
ar_role_delete(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	char	 name[AR_NAME_MAX + 1];

	(void)req;
	(void)resp;
	role_name(a, name);
	return role_delete(m, name);
}

static int
ar_role_id_read(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	char	 name[AR_NAME_MAX + 1];
	json_t	*role;
	int	 rc;

	(void)req;
	if ((rc = role_get(m, resp, a, name, &role)) == CF_OK)
		rc = resp_data(resp, json_pack("{s:O}", "role_id",
		    json_object_get(role, "role_id")));
	json_decref(role);
	return rc;
}

static int
ar_role_id_write(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	char	 name[AR_NAME_MAX + 1];
	json_t	*role;
	int	 rc;

	if ((rc = role_get(m, resp, a, name, &role)) == CF_OK)
		rc = role_write(m, req, resp, name, 1);
	json_decref(role);
	return rc;
}

static int
ar_secret_ids(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	char	 name[AR_NAME_MAX + 1];
	json_t	*role;
	int	 rc;

	(void)req;
	if ((rc = role_get(m, resp, a, name, &role)) == CF_OK)
		rc = list_under(resp, key_of(m, "acc/", name, ""));
	json_decref(role);
	return rc;
}

static int
secret_id_new(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a, int custom)
{
	char	 name[AR_NAME_MAX + 1];
	json_t	*role;
	int	 rc;

	if ((rc = role_get(m, resp, a, name, &role)) == CF_OK)
		rc = secret_id_generate(m, req, resp, name, role, custom);
	json_decref(role);
	return rc;
}

static int
ar_secret_id(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return secret_id_new(m, req, resp, a, 0);
}

static int
ar_custom_secret_id(struct mount *m, struct request *req,
    struct response *resp, const struct path_args *a)
{
	return secret_id_new(m, req, resp, a, 1);
}

static int
secret_id_do(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a, int by_accessor, int destroy)
{
	char	 name[AR_NAME_MAX + 1];
	json_t	*role;
	int	 rc;

	if ((rc = role_get(m, resp, a, name, &role)) == CF_OK)
		rc = secret_id_op(m, req, resp, name, by_accessor, destroy);
	json_decref(role);
	return rc;
}

static int
ar_sid_lookup(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return secret_id_do(m, req, resp, a, 0, 0);
}

static int
ar_sid_destroy(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return secret_id_do(m, req, resp, a, 0, 1);
}

static int
ar_acc_lookup(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return secret_id_do(m, req, resp, a, 1, 0);
}

static int
ar_acc_destroy(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return secret_id_do(m, req, resp, a, 1, 1);
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
