/*
 * kv2.c -- KV version 2's records: versions, metadata and config.
 *
 * Per secret, one metadata record at <view>m/<key> (versions, settings,
 * custom metadata) and one record per version at <view>v/<key>/<n>; a
 * write puts the new version, the metadata and any pruning in one
 * storage batch, so a crash never separates them.  The mount's settings
 * live at <view>config.  The path table, v1 and the v1-to-v2 upgrade
 * are kv.c's; this file owns what a v2 record looks like.
 *
 * Concurrent writers to one secret are serialized by a striped mutex on
 * the key's hash, so check-and-set and version numbers are exact.  The
 * stripes are initialized once, on first use.
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
#include "lock.h"
#include "paths.h"
#include "req.h"
#include "router.h"
#include "storage.h"
#include "timeutil.h"

#define KV_STRIPES		64
#define KV_DEFAULT_VERSIONS	10

static pthread_mutex_t	 stripes[KV_STRIPES];
static pthread_once_t	 stripes_once = PTHREAD_ONCE_INIT;

static void
stripes_init(void)
{
	size_t	 i;

	for (i = 0; i < KV_STRIPES; i++)
		pthread_mutex_init(&stripes[i], NULL);
}

static pthread_mutex_t *
stripe(const char *key)
{
	uint64_t	 h;

	pthread_once(&stripes_once, stripes_init);
	crypto_shorthash((unsigned char *)&h, (const unsigned char *)key,
	    strlen(key), (const unsigned char *)"coffer-kv-stripe");
	return &stripes[h % KV_STRIPES];
}

/* What a write takes from the mount's config. */
struct kv2_config {
	long long	 max_versions;
	long long	 dva;		/* delete_version_after, seconds */
	int		 cas_required;
};

/*
 * A kv mount's ctx: its config as last read on this active node,
 * absent or not, valid while config_epoch has not moved since.
 */
struct kv2_ctx {
	pthread_mutex_t		 mu;
	int			 has;
	unsigned long long	 epoch;
	struct kv2_config	 cfg;
};

/* Moved by every config write, upgrade and change of role. */
static atomic_ullong	 config_epoch = 1;

int
kv2_open(struct mount *m)
{
	struct kv2_ctx	*cx;

	if ((cx = calloc(1, sizeof(*cx))) == NULL)
		return CF_ENOMEM;
	if (pthread_mutex_init(&cx->mu, NULL) != 0) {
		free(cx);
		return CF_ENOMEM;
	}
	m->ctx = cx;
	return CF_OK;
}

void
kv2_close(struct mount *m)
{
	struct kv2_ctx	*cx = m->ctx;

	if (cx == NULL)
		return;
	pthread_mutex_destroy(&cx->mu);
	free(cx);
	m->ctx = NULL;
}

int
kv2_forget(void)
{
	atomic_fetch_add(&config_epoch, 1);
	return CF_OK;
}

/*
 * The mount's config for a write: from its ctx while this node is
 * active and nothing moved config_epoch, else from storage (absent: all
 * zero), kept in the ctx unless the epoch moved during the read.
 */
static int
config_get(const struct mount *m, struct kv2_config *out)
{
	struct kv2_ctx		*cx = m->ctx;
	unsigned long long	 e = atomic_load(&config_epoch);
	json_t			*c = NULL;
	char			*k;
	int			 rc, hit = 0, keep = cx != NULL &&
				    core_is_active();

	if (keep) {
		lock_mutex(&cx->mu, LOCK_LEAF);
		if ((hit = cx->has && cx->epoch == e))
			*out = cx->cfg;
		unlock_mutex(&cx->mu);
		if (hit)
			return CF_OK;
	}
	if ((k = kv2_key(m, "config", "", -1)) == NULL)
		return CF_ENOMEM;
	rc = core_get_json(k, &c);
	free(k);
	if (rc != CF_OK && rc != CF_ENOTFOUND)
		return rc;
	out->max_versions = json_integer_value(json_object_get(c,
	    "max_versions"));
	out->dva = json_integer_value(json_object_get(c,
	    "delete_version_after"));
	out->cas_required = json_is_true(json_object_get(c, "cas_required"));
	json_decref(c);
	if (keep) {
		lock_mutex(&cx->mu, LOCK_LEAF);
		if (atomic_load(&config_epoch) == e) {
			cx->cfg = *out;
			cx->epoch = e;
			cx->has = 1;
		}
		unlock_mutex(&cx->mu);
	}
	return CF_OK;
}

/*
 * What this thread's last existence check read of a metadata record:
 * its key, a copy of the document (NULL: absent) and the cache's stamp
 * of the read.  The write that follows on the same thread takes it
 * under the record's stripe if the stamp says nothing wrote the record
 * since, and reads storage only otherwise.  A thread-specific value,
 * freed with the thread.
 */
struct kv2_seen {
	char			*key;
	json_t			*doc;
	unsigned long long	 stamp;
};

static pthread_key_t	 seen_key;
static pthread_once_t	 seen_once = PTHREAD_ONCE_INIT;

static void
seen_free(void *p)
{
	struct kv2_seen	*sn = p;

	if (sn == NULL)
		return;
	free(sn->key);
	json_decref(sn->doc);
	free(sn);
}

static void
seen_init(void)
{
	if (pthread_key_create(&seen_key, seen_free) != 0)
		abort();
}

/* This thread's record, emptied; NULL when out of memory. */
static struct kv2_seen *
seen_reset(void)
{
	struct kv2_seen	*sn;

	pthread_once(&seen_once, seen_init);
	if ((sn = pthread_getspecific(seen_key)) == NULL) {
		if ((sn = calloc(1, sizeof(*sn))) == NULL)
			return NULL;
		if (pthread_setspecific(seen_key, sn) != 0) {
			free(sn);
			return NULL;
		}
	}
	free(sn->key);
	json_decref(sn->doc);
	sn->key = NULL;
	sn->doc = NULL;
	sn->stamp = 0;
	return sn;
}

/* core_read_json_stamp's reader: a copy of the document. */
static int
copy_fn(const json_t *doc, void *arg)
{
	json_t	**out = arg;

	return (*out = json_deep_copy(doc)) != NULL ? CF_OK : CF_ENOMEM;
}

int
kv2_meta_exists(struct mount *m, const char *k, int *exists)
{
	struct kv2_seen		*sn;
	unsigned long long	 stamp;
	json_t			*doc = NULL;
	char			*mkey;
	int			 rc;

	*exists = 0;
	if ((sn = seen_reset()) == NULL ||
	    (mkey = kv2_key(m, "m/", k, -1)) == NULL)
		return CF_ENOMEM;
	rc = core_read_json_stamp(mkey, copy_fn, &doc, &stamp);
	if (rc == CF_OK)
		*exists = 1;
	if ((rc == CF_OK || rc == CF_ENOTFOUND) && stamp != 0) {
		sn->key = mkey;
		sn->doc = doc;
		sn->stamp = stamp;
		mkey = NULL;
		doc = NULL;
	}
	free(mkey);
	json_decref(doc);
	return rc == CF_ENOTFOUND ? CF_OK : rc;
}

/*
 * The metadata at mkey for a writer holding its stripe: what this
 * thread's existence check read if still current, else from storage.
 * CF_ENOTFOUND if there is none.
 */
static int
meta_get(const char *mkey, json_t **meta)
{
	struct kv2_seen	*sn;
	int		 rc;

	*meta = NULL;
	pthread_once(&seen_once, seen_init);
	sn = pthread_getspecific(seen_key);
	if (sn != NULL && sn->key != NULL && strcmp(sn->key, mkey) == 0 &&
	    core_json_is_current(mkey, sn->stamp)) {
		*meta = sn->doc;
		sn->doc = NULL;
		rc = *meta != NULL ? CF_OK : CF_ENOTFOUND;
	} else
		rc = core_get_json(mkey, meta);
	if (sn != NULL) {
		free(sn->key);
		json_decref(sn->doc);
		sn->key = NULL;
		sn->doc = NULL;
		sn->stamp = 0;
	}
	return rc;
}

char *
kv2_key(const struct mount *m, const char *a, const char *b, long long n)
{
	char	 num[32] = "";
	char	*k;
	size_t	 lv = strlen(m->view), la = strlen(a), lb = strlen(b), ln = 0;

	/* Concatenated by hand: every read makes two of these. */
	if (n >= 0)
		ln = (size_t)snprintf(num, sizeof(num), "/%lld", n);
	if ((k = malloc(lv + la + lb + ln + 1)) == NULL)
		return NULL;
	memcpy(k, m->view, lv);
	memcpy(k + lv, a, la);
	memcpy(k + lv + la, b, lb);
	memcpy(k + lv + la + lb, num, ln + 1);
	return k;
}

void
kv2_now(char *out, size_t cap)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	time_format_rfc3339(out, cap, ts.tv_sec, ts.tv_nsec);
}

static void
duration_text(long long s, char *out, size_t cap)
{
	long long	 h = s / 3600, mi = (s % 3600) / 60, se = s % 60;

	if (s < 0)
		snprintf(out, cap, "%llds", s);
	else if (h > 0)
		snprintf(out, cap, "%lldh%lldm%llds", h, mi, se);
	else if (mi > 0)
		snprintf(out, cap, "%lldm%llds", mi, se);
	else
		snprintf(out, cap, "%llds", se);
}

static json_t *
load_config(const struct mount *m)
{
	json_t	*c = NULL;
	char	*k = kv2_key(m, "config", "", -1);

	(void)!core_get_json(k, &c);	/* absent: the defaults below */
	free(k);
	if (c == NULL)
		c = json_pack("{s:i, s:b, s:i}", "max_versions", 0,
		    "cas_required", 0, "delete_version_after", 0);
	return c;
}

/*
 * The metadata of one version as clients see it: copies, never meta's
 * own values (meta may be the document cache's); NULL if one is
 * missing.  Built member by member: json_pack's format costs more than
 * the copies on every read.
 */
static json_t *
version_meta(const json_t *meta, long long n)
{
	static const char *const	 names[] = { "created_time",
	    "custom_metadata", "deletion_time", "destroyed" };
	const json_t			*from[4];
	char				 num[32];
	json_t				*v, *md;
	size_t				 i;

	snprintf(num, sizeof(num), "%lld", n);
	v = json_object_get(json_object_get(meta, "versions"), num);
	from[0] = json_object_get(v, "created_time");
	from[1] = json_object_get(meta, "custom_metadata");
	from[2] = json_object_get(v, "deletion_time");
	from[3] = json_object_get(v, "destroyed");
	if ((md = json_object()) == NULL)
		return NULL;
	/* set_new takes the copy even when it fails (NULL: missing). */
	for (i = 0; i < 4; i++)
		if (json_object_set_new_nocheck(md, names[i],
		    json_deep_copy(from[i])) != 0)
			goto fail;
	if (json_object_set_new_nocheck(md, "version",
	    json_integer((json_int_t)n)) != 0)
		goto fail;
	return md;
 fail:
	json_decref(md);
	return NULL;
}

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
is_deleted(const json_t *v)
{
	const char	*d = json_string_value(json_object_get(v,
	    "deletion_time"));
	char		 now[64];

	if (json_is_true(json_object_get(v, "destroyed")))
		return 1;
	if (d == NULL || *d == '\0')
		return 0;
	kv2_now(now, sizeof(now));
	return strcmp(d, now) <= 0;
}

/* The version asked for: ?version=N, N <= 0 meaning current. */
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

/* core_read_json's reader: no copy of the metadata, only of md. */
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
	mv->deleted = is_deleted(v);
	return (mv->md = version_meta(meta, mv->n)) != NULL ? CF_OK :
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
	rc = core_read_json(key, meta_view_fn, &mv);
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

json_t *
kv2_new_meta(void)
{
	char	 now[64];

	kv2_now(now, sizeof(now));
	return json_pack("{s:s, s:s, s:i, s:i, s:i, s:b, s:i, s:n, s:{}}",
	    "created_time", now, "updated_time", now, "current_version", 0,
	    "oldest_version", 0, "max_versions", 0, "cas_required", 0,
	    "delete_version_after", 0, "custom_metadata", "versions");
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
	json_t			*merged = NULL, *vers, *old = NULL;
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
	mu = stripe(mkey);
	lock_mutex(mu, LOCK_RECORD);
	rc = meta_get(mkey, &meta);
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
	if ((rc = config_get(m, &cfg)) != CF_OK)
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
		if (cur == 0 || is_deleted(json_object_get(json_object_get(
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
	/* The next write of k finds its metadata in the cache. */
	if ((rc = core_batch_json(ops, nops, mkey, meta)) != CF_OK)
		goto out;
	resp->wipe = 1;
	rc = resp_data(resp, version_meta(meta, n));
 out:
	unlock_mutex(mu);
	for (i = 0; i < 64; i++)
		free(dkeys[i]);
	free(mkey);
	json_decref(meta);
	json_decref(merged);
	json_decref(old);
	buf_free(&payload);
	buf_free(&mbuf);
	return rc;
}

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
	mu = stripe(mkey);
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
		if (what == 0 && !is_deleted(v))
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
	json_t	*meta = NULL, *o, *vers, *v, *cm;
	char	*key = kv2_key(m, "m/", k, -1), dva[32];
	const char *num;
	int	 rc;

	rc = core_get_json(key, &meta);
	free(key);
	if (rc == CF_ENOTFOUND)
		return CF_OK;
	if (rc != CF_OK)
		return rc;
	duration_text(json_integer_value(json_object_get(meta,
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
	mu = stripe(mkey);
	lock_mutex(mu, LOCK_RECORD);
	if ((rc = meta_get(mkey, &meta)) == CF_ENOTFOUND) {
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
	mu = stripe(mkey);
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

int
kv2_config_op(struct mount *m, struct request *req, struct response *resp)
{
	json_t		*c = load_config(m), *o;
	char		 dva[32], *key;
	long long	 maxv, d;
	int		 rc, cas, hm, hc, hd;

	if (req->op == REQ_READ) {
		duration_text(json_integer_value(json_object_get(c,
		    "delete_version_after")), dva, sizeof(dva));
		o = json_pack("{s:O, s:s, s:O}", "cas_required",
		    json_object_get(c, "cas_required"),
		    "delete_version_after", dva,
		    "max_versions", json_object_get(c, "max_versions"));
		json_decref(c);
		return resp_data(resp, o);
	}
	if ((rc = req_int(req, resp, "max_versions", &maxv, &hm)) != CF_OK ||
	    (rc = req_bool(req, resp, "cas_required", &cas, &hc)) != CF_OK ||
	    (rc = req_duration(req, resp, "delete_version_after", &d, &hd)) !=
	    CF_OK) {
		json_decref(c);
		return rc;
	}
	/*
	 * Vault stores max_versions as a uint32, so -1 wraps there to
	 * 4294967295; coffer refuses it, as it does on metadata.
	 */
	if (hm && (maxv < 0 || maxv > UINT32_MAX)) {
		json_decref(c);
		return resp_fail(resp, CF_EINVAL, "max_versions must be "
		    "positive");
	}
	if (hm)
		json_object_set_new(c, "max_versions", json_integer(maxv));
	if (hc)
		json_object_set_new(c, "cas_required", json_boolean(cas));
	if (hd)
		json_object_set_new(c, "delete_version_after",
		    json_integer(d));
	key = kv2_key(m, "config", "", -1);
	rc = core_put_json(key, c);
	/* After the write: a read in flight may not keep the old one. */
	(void)kv2_forget();
	free(key);
	json_decref(c);
	return rc;
}

