/*
 * kv2_meta.c -- KV version 2's metadata and version paths: metadata/
 * (read, write, delete of the record and every version), and delete/,
 * undelete/ and destroy/ of listed versions.  Each change is one
 * storage batch under the secret's stripe (kv2_stripe).  Shared
 * parts: kv2.c.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "core.h"
#include "err.h"
#include "jsonutil.h"
#include "kv2.h"
#include "kv2_priv.h"
#include "lock.h"
#include "paths.h"
#include "req.h"
#include "router.h"
#include "storage.h"
#include "timeutil.h"

/* One element of "versions" as an integer, or CF_EINVAL. */
static int
version_num(json_t *e, long long *n)
{
	const char	*s;
	char		*end;

	if (json_is_integer(e)) {
		*n = json_integer_value(e);
		return CF_OK;
	}
	if (!json_is_string(e))
		return CF_EINVAL;
	s = json_string_value(e);
	while (*s == ' ')
		s++;
	if (*s == '\0')
		return CF_EINVAL;
	errno = 0;
	*n = strtoll(s, &end, 10);
	while (*end == ' ')
		end++;
	return errno == 0 && *end == '\0' ? CF_OK : CF_EINVAL;
}

/*
 * Versions from {"versions": [1,2]} or "1,2", as Vault's comma int
 * slice: anything that is not an integer is refused with Vault's text.
 * Numbers are kept in canonical form, the keys of "versions" in the
 * metadata; numbers no version has (0, -1) are skipped later, as Vault
 * skips them.
 */
static int
asked_versions(struct request *req, struct response *resp, struct strv *out,
    const char *missing)
{
	json_t		*v = json_object_get(req->data, "versions"), *e;
	struct strv	 parts = STRV_INIT;
	json_t		*tmp = NULL;
	size_t		 i;
	long long	 n;
	char		 num[32];
	int		 rc = CF_OK;

	if (json_is_integer(v) || json_is_array(v))
		tmp = json_incref(v);
	else if (v != NULL && !json_is_null(v)) {
		if ((rc = req_strlist(req, resp, "versions", &parts, NULL)) !=
		    CF_OK)
			goto out;
		if ((tmp = json_array()) == NULL) {
			rc = CF_ENOMEM;
			goto out;
		}
		for (i = 0; i < parts.n; i++)
			json_array_append_new(tmp, json_string(parts.v[i]));
	}
	if (json_is_integer(tmp)) {
		json_decref(tmp);
		if ((tmp = json_pack("[O]", v)) == NULL) {
			rc = CF_ENOMEM;
			goto out;
		}
	}
	json_array_foreach(tmp, i, e) {
		if (version_num(e, &n) != CF_OK) {
			if (json_is_string(e))
				rc = resp_fail(resp, CF_EINVAL, "Field "
				    "validation failed: error converting input "
				    "for field \"versions\": cannot parse "
				    "'[%zu]' as int: strconv.ParseInt: parsing "
				    "\"%s\": invalid syntax", i,
				    json_string_value(e));
			else
				rc = resp_fail(resp, CF_EINVAL, "Field "
				    "validation failed: error converting input "
				    "for field \"versions\": '[%zu]' expected "
				    "type 'int'", i);
			goto out;
		}
		snprintf(num, sizeof(num), "%lld", n);
		if ((rc = strv_push(out, num)) != CF_OK)
			goto out;
	}
	if (out->n == 0)
		rc = resp_fail(resp, CF_EINVAL, "%s", missing);
 out:
	json_decref(tmp);
	strv_free(&parts);
	return rc;
}

/* delete (soft), undelete and destroy of listed versions. */
int
kv2_versions_op(struct mount *m, struct request *req, struct response *resp,
    const char *k, int what)
{
	struct strv		 vs = STRV_INIT, dks = STRV_INIT;
	struct storage_op	*ops = NULL;
	struct buf		 mbuf = BUF_INIT;
	pthread_mutex_t		*mu;
	json_t			*meta = NULL, *v;
	char			*mkey, *dk, now[64];
	size_t			 i, nops = 0;
	int			 rc;

	if ((rc = asked_versions(req, resp, &vs, what == 2 ?
	    "no version number provided" : "No version number provided")) !=
	    CF_OK) {
		strv_free(&vs);
		return rc;
	}
	if ((mkey = kv2_key(m, "m/", k, -1)) == NULL) {
		strv_free(&vs);
		return CF_ENOMEM;
	}
	mu = kv2_stripe(mkey);
	lock_mutex(mu, LOCK_RECORD);
	if ((rc = core_get_json(mkey, &meta)) == CF_ENOTFOUND) {
		rc = CF_OK;
		goto out;
	}
	if (rc != CF_OK)
		goto out;
	kv2_now(now, sizeof(now));
	for (i = 0; i < vs.n && rc == CF_OK; i++) {
		v = json_object_get(json_object_get(meta, "versions"),
		    vs.v[i]);
		if (v == NULL || json_is_true(json_object_get(v, "destroyed")))
			continue;
		if (what == 0 && !kv2_is_deleted(v))
			json_object_set_new(v, "deletion_time",
			    json_string(now));
		else if (what == 1)
			json_object_set_new(v, "deletion_time",
			    json_string(""));
		else if (what == 2) {
			json_object_set_new(v, "destroyed", json_true());
			if ((dk = kv2_key(m, "v/", k, atoll(vs.v[i]))) ==
			    NULL) {
				rc = CF_ENOMEM;
				break;
			}
			rc = strv_push(&dks, dk);
			free(dk);
		}
	}
	/* Destroyed data and the metadata saying so go in one batch. */
	if (rc == CF_OK && (ops = calloc(dks.n + 1, sizeof(*ops))) == NULL)
		rc = CF_ENOMEM;
	if (rc == CF_OK && (rc = jsonutil_emit(meta, &mbuf)) == CF_OK) {
		for (nops = 0; nops < dks.n; nops++)
			ops[nops] = (struct storage_op){ STORAGE_OP_DEL,
			    dks.v[nops], NULL, 0 };
		ops[nops] = (struct storage_op){ STORAGE_OP_PUT, mkey,
		    mbuf.data, mbuf.len };
		rc = core_batch(ops, nops + 1);
	}
 out:
	unlock_mutex(mu);
	strv_free(&dks);
	free(ops);
	buf_free(&mbuf);
	free(mkey);
	json_decref(meta);
	strv_free(&vs);
	return rc;
}

int
kv2_meta_read(struct mount *m, struct response *resp, const char *k)
{
	json_t	*meta, *o, *vers, *v, *cm;
	char	 dva[32];
	const char *num;
	int	 rc;

	if ((rc = kv2_meta_load(m, k, &meta)) != CF_OK || meta == NULL)
		return rc;
	kv2_duration_text(json_integer_value(json_object_get(meta,
	    "delete_version_after")), dva, sizeof(dva));
	vers = json_object();
	json_object_foreach(json_object_get(meta, "versions"), num, v)
		json_object_set(vers, num, v);
	cm = json_object_get(meta, "custom_metadata");
	o = json_pack("{s:O, s:O, s:O, s:O, s:s, s:O, s:O, s:O, s:o}",
	    "cas_required", json_object_get(meta, "cas_required"),
	    "created_time", json_object_get(meta, "created_time"),
	    "current_version", json_object_get(meta, "current_version"),
	    "custom_metadata", cm != NULL ? cm : json_null(),
	    "delete_version_after", dva,
	    "max_versions", json_object_get(meta, "max_versions"),
	    "oldest_version", json_object_get(meta, "oldest_version"),
	    "updated_time", json_object_get(meta, "updated_time"),
	    "versions", vers);
	json_decref(meta);
	return resp_data(resp, o);
}

int
kv2_meta_write(struct mount *m, struct request *req, struct response *resp,
    const char *k)
{
	pthread_mutex_t	*mu;
	json_t		*meta = NULL, *cm, *out, *v;
	const char	*ck;
	char		*mkey, now[64];
	long long	 maxv, dva;
	int		 rc, cas, has_max, has_cas, has_dva;

	if ((rc = req_int(req, resp, "max_versions", &maxv, &has_max)) !=
	    CF_OK || (rc = req_bool(req, resp, "cas_required", &cas,
	    &has_cas)) != CF_OK || (rc = req_duration(req, resp,
	    "delete_version_after", &dva, &has_dva)) != CF_OK)
		return rc;
	cm = json_object_get(req->data, "custom_metadata");
	if (cm != NULL && !json_is_object(cm) && !json_is_null(cm))
		return resp_fail(resp, CF_EINVAL, "custom_metadata validation "
		    "failed: must be a map");
	if (has_max && (maxv < 0 || maxv > UINT32_MAX))
		return resp_fail(resp, CF_EINVAL, "max_versions must be "
		    "positive");
	if (json_is_object(cm)) {
		if (json_object_size(cm) > 64)
			return resp_fail(resp, CF_EINVAL, "custom_metadata "
			    "validation failed: payload must contain at most "
			    "64 keys");
		json_object_foreach(cm, ck, v)
			if (strlen(ck) == 0 || strlen(ck) > 128 ||
			    !json_is_string(v) ||
			    strlen(json_string_value(v)) == 0 ||
			    strlen(json_string_value(v)) > 512)
				return resp_fail(resp, CF_EINVAL,
				    "custom_metadata validation failed: keys "
				    "of 1 to 128 bytes, string values of 1 to "
				    "512 bytes");
	}
	if (!has_max && !has_cas && !has_dva && cm == NULL)
		return CF_OK;
	if ((mkey = kv2_key(m, "m/", k, -1)) == NULL)
		return CF_ENOMEM;
	mu = kv2_stripe(mkey);
	lock_mutex(mu, LOCK_RECORD);
	if ((rc = kv2_meta_get(mkey, &meta)) == CF_ENOTFOUND) {
		meta = kv2_new_meta();
		rc = meta != NULL ? CF_OK : CF_ENOMEM;
	}
	if (rc != CF_OK)
		goto out;
	if (has_max)
		json_object_set_new(meta, "max_versions", json_integer(maxv));
	if (has_cas)
		json_object_set_new(meta, "cas_required", json_boolean(cas));
	if (has_dva)
		json_object_set_new(meta, "delete_version_after",
		    json_integer(dva));
	if (cm != NULL) {
		out = json_is_object(cm) ? json_deep_copy(cm) : json_null();
		json_object_set_new(meta, "custom_metadata", out);
	}
	kv2_now(now, sizeof(now));
	json_object_set_new(meta, "updated_time", json_string(now));
	rc = core_put_json(mkey, meta);
 out:
	unlock_mutex(mu);
	free(mkey);
	json_decref(meta);
	return rc;
}

int
kv2_meta_delete(struct mount *m, const char *k)
{
	struct strv		 dks = STRV_INIT;
	struct storage_op	*ops = NULL;
	pthread_mutex_t		*mu;
	json_t			*meta = NULL, *v;
	const char		*num;
	char			*mkey, *dk;
	size_t			 i;
	int			 rc;

	if ((mkey = kv2_key(m, "m/", k, -1)) == NULL)
		return CF_ENOMEM;
	mu = kv2_stripe(mkey);
	lock_mutex(mu, LOCK_RECORD);
	if ((rc = core_get_json(mkey, &meta)) == CF_OK) {
		json_object_foreach(json_object_get(meta, "versions"), num, v) {
			if ((dk = kv2_key(m, "v/", k, atoll(num))) == NULL) {
				rc = CF_ENOMEM;
				break;
			}
			rc = strv_push(&dks, dk);
			free(dk);
			if (rc != CF_OK)
				break;
		}
		/* All or nothing: never metadata listing deleted versions. */
		if (rc == CF_OK && (rc = strv_push(&dks, mkey)) == CF_OK &&
		    (ops = calloc(dks.n, sizeof(*ops))) == NULL)
			rc = CF_ENOMEM;
		for (i = 0; rc == CF_OK && i < dks.n; i++)
			ops[i] = (struct storage_op){ STORAGE_OP_DEL, dks.v[i],
			    NULL, 0 };
		if (rc == CF_OK)
			rc = core_batch(ops, dks.n);
	} else if (rc == CF_ENOTFOUND)
		rc = CF_OK;
	unlock_mutex(mu);
	strv_free(&dks);
	free(ops);
	free(mkey);
	json_decref(meta);
	return rc;
}
