/*
 * kv2_data.c -- KV version 2's data paths: read (data/, subkeys/),
 * write and patch (data/).
 *
 * A write puts the new version, the metadata and any pruning in one
 * storage batch, under the secret's stripe (kv2_stripe), so a crash
 * never separates them and check-and-set is exact.  It takes the
 * metadata its existence check read when nothing wrote it since
 * (kv2_meta_get) and the mount's config from its cache
 * (kv2_config_get): one storage read at most.  Shared parts: kv2.c.
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

#define KV_DEFAULT_VERSIONS	10

/* {a: x, b: y}, taking x and y (NULL: fails) as json_pack's "o" does. */
static json_t *
pair_new(const char *a, json_t *x, const char *b, json_t *y)
{
	json_t	*o;

	if ((o = json_object()) == NULL) {
		json_decref(x);
		json_decref(y);
		return NULL;
	}
	if (json_object_set_new_nocheck(o, a, x) != 0) {
		json_decref(y);
		json_decref(o);
		return NULL;
	}
	if (json_object_set_new_nocheck(o, b, y) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int
asked_version(struct request *req, struct response *resp, const json_t *meta,
    long long *n)
{
	long long	 v = 0;
	int		 rc;

	if ((rc = req_int(req, resp, "version", &v, NULL)) != CF_OK)
		return rc;
	*n = v > 0 ? v : json_integer_value(json_object_get(meta,
	    "current_version"));
	return CF_OK;
}

/*
 * subkeys: every leaf becomes null, nested objects keep their keys
 * down to depth levels (-1: all); an empty object becomes null.
 */
static void
to_subkeys(json_t *obj, int depth)
{
	const char	*k;
	json_t		*v;

	json_object_foreach(obj, k, v) {
		if (json_is_object(v) && json_object_size(v) > 0 &&
		    depth != 1)
			to_subkeys(v, depth > 0 ? depth - 1 : depth);
		else
			json_object_set_new(obj, k, json_null());
	}
}

/* What data_read takes from a secret's metadata. */
struct meta_view {
	struct request	*req;
	struct response	*resp;
	long long	 n;		/* the version asked for */
	int		 found;		/* that version is in the metadata */
	int		 deleted;
	json_t		*md;		/* its version_meta, the caller's */
};

/*
 * The metadata members meta_view_fn reads: a miss parses no others
 * (the created and updated times, the settings).
 */
static const char *const	 meta_view_members[] = { "current_version",
    "versions", "custom_metadata", NULL };

/*
 * core_read_json_members's reader (meta_view_members only): no copy of
 * the metadata, only of md.
 */
static int
meta_view_fn(const json_t *meta, void *arg)
{
	struct meta_view	*mv = arg;
	const json_t		*v;
	char			 num[32];
	int			 rc;

	if ((rc = asked_version(mv->req, mv->resp, meta, &mv->n)) != CF_OK)
		return rc;
	snprintf(num, sizeof(num), "%lld", mv->n);
	if ((v = json_object_get(json_object_get(meta, "versions"), num)) ==
	    NULL)
		return CF_OK;			/* 404, no errors */
	mv->found = 1;
	mv->deleted = kv2_is_deleted(v);
	return (mv->md = kv2_version_meta(meta, mv->n)) != NULL ? CF_OK :
	    CF_ENOMEM;
}

int
kv2_data_read(struct mount *m, struct request *req, struct response *resp,
    const char *k, int subkeys)
{
	struct meta_view	 mv = { req, resp, 0, 0, 0, NULL };
	json_t			*d = NULL;
	char			*key;
	int			 rc;

	key = kv2_key(m, "m/", k, -1);
	rc = core_read_json_members(key, meta_view_members, meta_view_fn, &mv);
	free(key);
	if (rc == CF_ENOTFOUND)
		return CF_OK;
	if (rc != CF_OK || !mv.found)
		goto out;
	if (mv.deleted) {
		/* hvac tells "deleted" from "missing" by this body. */
		resp->status = 404;
		rc = resp_data(resp, json_pack("{s:n, s:o}", "data",
		    "metadata", mv.md));
		mv.md = NULL;
		goto out;
	}
	key = kv2_key(m, "v/", k, mv.n);
	rc = core_get_json(key, &d);
	free(key);
	if (rc != CF_OK) {
		rc = rc == CF_ENOTFOUND ? CF_OK : rc;
		goto out;
	}
	if (subkeys) {
		long long	 depth = 0;

		if ((rc = req_int(req, resp, "depth", &depth, NULL)) != CF_OK)
			goto out;
		to_subkeys(d, depth > 0 ? (int)depth : -1);
		rc = resp_data(resp, pair_new("subkeys", d, "metadata",
		    mv.md));
	} else
		rc = resp_data(resp, pair_new("data", d, "metadata", mv.md));
	d = NULL;
	mv.md = NULL;
 out:
	json_decref(mv.md);
	json_decref(d);
	return rc;
}

/* RFC 7396: merge patch into target (both objects). */
static void
merge_patch(json_t *target, json_t *patch)
{
	const char	*k;
	json_t		*v, *t;

	json_object_foreach(patch, k, v) {
		if (json_is_null(v))
			json_object_del(target, k);
		else if (json_is_object(v)) {
			t = json_object_get(target, k);
			if (!json_is_object(t)) {
				t = json_object();
				json_object_set_new(target, k, t);
			}
			merge_patch(t, v);
		} else
			json_object_set(target, k, v);
	}
}

int
kv2_data_write(struct mount *m, struct request *req, struct response *resp,
    const char *k, int patch)
{
	struct storage_op	 ops[64];
	struct buf		 payload = BUF_INIT, mbuf = BUF_INIT;
	pthread_mutex_t		*mu;
	struct kv2_config	 cfg;
	json_t			*meta = NULL, *data, *opts, *cas;
	json_t			*merged = NULL, *vers, *old = NULL, *md = NULL;
	char			 now[64], num[32], *mkey = NULL;
	char			*dkeys[64] = { NULL };
	long long		 cur, n, maxv, oldest, dva;
	size_t			 nops = 0, i;
	int			 rc;

	data = json_object_get(req->data, "data");
	if (data == NULL || json_is_null(data))
		return resp_fail(resp, CF_EINVAL, "no data provided");
	if (!json_is_object(data))
		return resp_fail(resp, CF_EINVAL, "data must be an object");
	opts = json_object_get(req->data, "options");
	cas = json_object_get(opts, "cas");
	if (cas != NULL && !json_is_integer(cas) && !json_is_null(cas))
		return resp_fail(resp, CF_EINVAL,
		    "error parsing check-and-set parameter");
	if ((mkey = kv2_key(m, "m/", k, -1)) == NULL)
		return CF_ENOMEM;
	mu = kv2_stripe(mkey);
	lock_mutex(mu, LOCK_RECORD);
	rc = kv2_meta_get(mkey, &meta);
	if (rc == CF_ENOTFOUND) {
		if (patch) {
			rc = CF_OK;		/* 404 */
			resp->status = 404;
			resp->err_empty = 1;
			rc = CF_ENOTFOUND;
			goto out;
		}
		meta = kv2_new_meta();
		rc = CF_OK;
	}
	if (rc != CF_OK || meta == NULL) {
		rc = rc != CF_OK ? rc : CF_ENOMEM;
		goto out;
	}
	if ((rc = kv2_config_get(m, &cfg)) != CF_OK)
		goto out;
	cur = json_integer_value(json_object_get(meta, "current_version"));
	if (cas == NULL && (json_is_true(json_object_get(meta,
	    "cas_required")) || cfg.cas_required)) {
		rc = resp_fail(resp, CF_EINVAL,
		    "check-and-set parameter required for this call");
		goto out;
	}
	if (cas != NULL && json_is_integer(cas) &&
	    json_integer_value(cas) != cur) {
		rc = resp_fail(resp, CF_ECONFLICT, "check-and-set parameter did "
		    "not match the current version");
		goto out;
	}
	if (patch) {
		snprintf(num, sizeof(num), "%lld", cur);
		if (cur == 0 || kv2_is_deleted(json_object_get(json_object_get(
		    meta, "versions"), num))) {
			resp->err_empty = 1;
			rc = CF_ENOTFOUND;
			goto out;
		}
		char *dk = kv2_key(m, "v/", k, cur);
		rc = core_get_json(dk, &old);
		free(dk);
		if (rc != CF_OK)
			goto out;
		merge_patch(old, data);
		merged = old;
		old = NULL;
		data = merged;
	}
	n = cur + 1;
	kv2_now(now, sizeof(now));
	vers = json_object_get(meta, "versions");
	snprintf(num, sizeof(num), "%lld", n);
	dva = json_integer_value(json_object_get(meta, "delete_version_after"));
	if (dva <= 0 || (cfg.dva > 0 && cfg.dva < dva))
		dva = cfg.dva;
	{
		char	 del[64] = "";

		if (dva > 0) {
			struct timespec	 ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			/* A stored setting may predate the bound. */
			time_format_rfc3339(del, sizeof(del), time_add(
			    ts.tv_sec, dva), ts.tv_nsec);
		}
		json_object_set_new(vers, num, json_pack("{s:s, s:s, s:b}",
		    "created_time", now, "deletion_time", del, "destroyed",
		    0));
	}
	json_object_set_new(meta, "current_version", json_integer(n));
	json_object_set_new(meta, "updated_time", json_string(now));
	if ((rc = jsonutil_emit(data, &payload)) != CF_OK)
		goto out;
	dkeys[0] = kv2_key(m, "v/", k, n);
	ops[nops++] = (struct storage_op){ STORAGE_OP_PUT, dkeys[0],
	    payload.data, payload.len };
	/* Prune beyond max_versions: the larger setting, or 10. */
	maxv = json_integer_value(json_object_get(meta, "max_versions"));
	if (cfg.max_versions > maxv)
		maxv = cfg.max_versions;
	if (maxv <= 0)
		maxv = KV_DEFAULT_VERSIONS;
	oldest = json_integer_value(json_object_get(meta, "oldest_version"));
	if (oldest == 0)
		oldest = 1;
	while (n - oldest + 1 > maxv && nops < 60) {
		snprintf(num, sizeof(num), "%lld", oldest);
		json_object_del(vers, num);
		dkeys[nops] = kv2_key(m, "v/", k, oldest);
		ops[nops] = (struct storage_op){ STORAGE_OP_DEL, dkeys[nops],
		    NULL, 0 };
		nops++;
		oldest++;
		json_object_set_new(meta, "oldest_version",
		    json_integer(oldest));
	}
	if ((rc = jsonutil_emit(meta, &mbuf)) != CF_OK)
		goto out;
	ops[nops++] = (struct storage_op){ STORAGE_OP_PUT, mkey, mbuf.data,
	    mbuf.len };
	for (i = 0; i < nops; i++)
		if (ops[i].key == NULL) {
			rc = CF_ENOMEM;
			goto out;
		}
	/* The answer before meta goes to the cache with the write. */
	if ((md = kv2_version_meta(meta, n)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	/* The next write of k finds its metadata in the cache. */
	rc = core_batch_json(ops, nops, mkey, meta);
	meta = NULL;
	if (rc != CF_OK)
		goto out;
	resp->wipe = 1;
	rc = resp_data(resp, md);
	md = NULL;
 out:
	unlock_mutex(mu);
	for (i = 0; i < 64; i++)
		free(dkeys[i]);
	free(mkey);
	json_decref(meta);
	json_decref(md);
	json_decref(merged);
	json_decref(old);
	buf_free(&payload);
	buf_free(&mbuf);
	return rc;
}

