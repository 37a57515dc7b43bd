/*
 * approle_sid.c -- AppRole secret IDs: generating them (random or
 * custom) with their limits, metadata and CIDR lists, lookup and
 * destroy by ID or accessor, taking a use at login, and tidy.  Every
 * change to a secret ID's records runs under the mount's lock; see
 * approle.c for the storage layout.
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
#include "cidr.h"
#include "core.h"
#include "err.h"
#include "paths.h"
#include "req.h"
#include "router.h"
#include "timeutil.h"
#include "token.h"
#include "token_cidrs.h"
#include "uuid4.h"

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
	if ((rc = ar_strict_cidrs(req, resp, "cidr_list", "CIDR blocks", 0, &cl,
	    NULL)) != CF_OK || (rc = cidrs_subset(resp, json_object_get(role,
	    "secret_id_bound_cidrs"), cl, 1)) != CF_OK ||
	    (rc = ar_strict_cidrs(req, resp, "token_bound_cidrs",
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
	if ((rc = ar_id_hash(m, sid, h)) != CF_OK)
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
	if ((rc = ar_get_json(ar_key(m, "sid/", name, h), &old)) == CF_OK) {
		rc = resp_fail(resp, CF_EINVAL, "secret_id is already "
		    "registered");
		goto out;
	}
	if (rc != CF_ENOTFOUND)
		goto out;
	if ((rc = ar_put_json(ar_key(m, "sid/", name, h), rec)) != CF_OK ||
	    (rc = ar_put_json(ar_key(m, "acc/", name, acc), idx)) != CF_OK)
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
		rc = ar_del_key(ar_key(m, "acc/", name, acc));
	if (rc == CF_OK)
		rc = ar_del_key(ar_key(m, "sid/", name, h));
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
		if (!paths_name_ok(v, strlen(v)) || (rc = ar_get_json(ar_key(m,
		    "acc/", name, v), &idx)) == CF_ENOTFOUND) {
			rc = resp_fail(resp, CF_EINVAL, "failed to find "
			    "accessor entry for secret_id_accessor: \"%s\"", v);
			goto out;
		}
		if (rc != CF_OK)
			goto out;
		hv = json_string_value(json_object_get(idx, "hash"));
		strlcpy(h, hv != NULL ? hv : "", sizeof(h));
	} else if ((rc = ar_id_hash(m, v, h)) != CF_OK)
		goto out;
	if ((rc = ar_get_json(ar_key(m, "sid/", name, h), &rec)) ==
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

/*
 * Take one use of the secret ID with hash h: CF_OK with *rec (owned)
 * if it is valid, CF_ENOTFOUND if it is unknown, expired or used up.
 * The last use deletes it, and so does finding it expired.
 */
int
ar_sid_consume(struct mount *m, const char *name, const char *h, json_t **rec)
{
	struct approle	*ar = m->ctx;
	long long	 left;
	int		 rc;

	ar_lock(ar);
	if ((rc = ar_get_json(ar_key(m, "sid/", name, h), rec)) != CF_OK)
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
		rc = ar_put_json(ar_key(m, "sid/", name, h), *rec);
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
int
ar_sid_cidr_check(struct request *req, struct response *resp, json_t *role,
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
	if ((p = ar_key(m, "sid/", "", NULL)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	rc = core_list(p, &roles);
	free(p);
	for (i = 0; i < roles.n && rc == CF_OK; i++) {
		roles.v[i][strcspn(roles.v[i], "/")] = '\0';
		strv_free(&ids);
		if ((p = ar_key(m, "sid/", roles.v[i], "")) == NULL) {
			rc = CF_ENOMEM;
			break;
		}
		rc = core_list(p, &ids);
		free(p);
		for (j = 0; j < ids.n && rc == CF_OK; j++) {
			rc = ar_get_json(ar_key(m, "sid/", roles.v[i],
			    ids.v[j]), &rec);
			if (rc == CF_OK && sid_is_expired(rec, now))
				rc = sid_remove(m, roles.v[i], ids.v[j], rec);
			json_decref(rec);
			rec = NULL;
		}
		/* Accessors whose secret ID is gone. */
		strv_free(&ids);
		if (rc != CF_OK || (p = ar_key(m, "acc/", roles.v[i], "")) ==
		    NULL)
			break;
		rc = core_list(p, &ids);
		free(p);
		for (j = 0; j < ids.n && rc == CF_OK; j++) {
			if ((rc = ar_get_json(ar_key(m, "acc/", roles.v[i],
			    ids.v[j]), &rec)) != CF_OK)
				break;
			h = json_string_value(json_object_get(rec, "hash"));
			if ((p = ar_key(m, "sid/", roles.v[i], h != NULL ? h :
			    "")) == NULL)
				rc = CF_ENOMEM;
			else {
				json_t	*s = NULL;

				if ((rc = core_get_json(p, &s)) == CF_ENOTFOUND)
					rc = ar_del_key(ar_key(m, "acc/",
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

int
ar_tidy(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)req;
	(void)a;
	return tidy(m, resp);
}

/*
 * The secret-ID handlers: each looks the role up (Vault's 404 if it is
 * missing), then does what tells them apart.
 */
#define AR_SID_FN(fn, call)						\
int									\
fn(struct mount *m, struct request *req, struct response *resp,	\
    const struct path_args *a)						\
{									\
	char	 name[AR_NAME_MAX + 1];					\
	json_t	*role;							\
	int	 rc;							\
									\
	(void)req;							\
	if ((rc = ar_role_get(m, resp, a, name, &role)) == CF_OK)	\
		rc = (call);						\
	json_decref(role);						\
	return rc;							\
}
AR_SID_FN(ar_secret_ids, ar_list_under(resp, ar_key(m, "acc/",
    name, "")))
AR_SID_FN(ar_secret_id, secret_id_generate(m, req, resp, name, role, 0))
AR_SID_FN(ar_custom_secret_id, secret_id_generate(m, req, resp, name,
    role, 1))
AR_SID_FN(ar_sid_lookup, secret_id_op(m, req, resp, name, 0, 0))
AR_SID_FN(ar_sid_destroy, secret_id_op(m, req, resp, name, 0, 1))
AR_SID_FN(ar_acc_lookup, secret_id_op(m, req, resp, name, 1, 0))
AR_SID_FN(ar_acc_destroy, secret_id_op(m, req, resp, name, 1, 1))
#undef AR_SID_FN
