/*
 * kv2.c -- KV version 2's shared parts and the mount's config.
 *
 * Per secret, one metadata record at <view>m/<key> (versions, settings,
 * custom metadata) and one record per version at <view>v/<key>/<n>; the
 * mount's settings live at <view>config.  The path table, v1 and the
 * v1-to-v2 upgrade are kv.c's; the data paths (read, write, patch) are
 * kv2_data.c's, the metadata and version paths (metadata, delete,
 * undelete, destroy) kv2_meta.c's.  This file owns what they share
 * (kv2_priv.h): storage keys, the striped mutex, a version's metadata
 * as clients see it, the config (cached per mount on the active node)
 * and the metadata an existence check read for the write after it.
 *
 * Concurrent writers to one secret are serialized by a striped mutex on
 * the key's hash, so check-and-set and version numbers are exact.  The
 * stripes are initialized once, on first use.  The config cache lives
 * in the mount's ctx (kv2_open, kv2_close) and is valid while
 * config_epoch stands still: a config write, an upgrade and leaving
 * active move it.
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
/*
 * A writer holds its stripe across the durable write, so two writers of
 * different secrets on one stripe wait a whole commit for each other:
 * enough stripes that the writers a busy server has in flight rarely
 * share one.
 */
#define KV_STRIPES		1024

static pthread_mutex_t	 stripes[KV_STRIPES];
static pthread_once_t	 stripes_once = PTHREAD_ONCE_INIT;

static void
stripes_init(void)
{
	size_t	 i;

	for (i = 0; i < KV_STRIPES; i++)
		pthread_mutex_init(&stripes[i], NULL);
}

pthread_mutex_t *
kv2_stripe(const char *key)
{
	uint64_t	 h;

	pthread_once(&stripes_once, stripes_init);
	crypto_shorthash((unsigned char *)&h, (const unsigned char *)key,
	    strlen(key), (const unsigned char *)"coffer-kv-stripe");
	return &stripes[h % KV_STRIPES];
}

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
int
kv2_config_get(const struct mount *m, struct kv2_config *out)
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

/* Empty sn: what the last existence check read is let go. */
static void
seen_clear(struct kv2_seen *sn)
{
	free(sn->key);
	json_decref(sn->doc);
	sn->key = NULL;
	sn->doc = NULL;
	sn->stamp = 0;
}

static void
seen_free(void *p)
{
	if (p == NULL)
		return;
	seen_clear(p);
	free(p);
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
	seen_clear(sn);
	return sn;
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
	rc = core_take_json(mkey, &doc, &stamp);
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
int
kv2_meta_get(const char *mkey, json_t **meta)
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
	if (sn != NULL)
		seen_clear(sn);
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

int
kv2_meta_load(const struct mount *m, const char *k, json_t **meta)
{
	char	*key;
	int	 rc;

	*meta = NULL;
	if ((key = kv2_key(m, "m/", k, -1)) == NULL)
		return CF_ENOMEM;
	rc = core_get_json(key, meta);
	free(key);
	return rc == CF_ENOTFOUND ? CF_OK : rc;
}

void
kv2_now(char *out, size_t cap)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	time_format_rfc3339(out, cap, ts.tv_sec, ts.tv_nsec);
}

void
kv2_duration_text(long long s, char *out, size_t cap)
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
 * A copy of v (NULL: NULL).  json_deep_copy only for what has members:
 * it sets up a table against cycles on every call, a cost that a
 * string, a boolean or a null, most of what a version's metadata holds,
 * does not need.
 */
static json_t *
value_copy(const json_t *v)
{
	if (v == NULL)
		return NULL;
	switch (json_typeof(v)) {
	case JSON_STRING:	/* valid UTF-8 already: no check again */
		return json_stringn_nocheck(json_string_value(v),
		    json_string_length(v));
	case JSON_INTEGER:
		return json_integer(json_integer_value(v));
	case JSON_TRUE:
		return json_true();
	case JSON_FALSE:
		return json_false();
	case JSON_NULL:
		return json_null();
	default:		/* objects, arrays, reals */
		return json_deep_copy(v);
	}
}

/*
 * The metadata of one version as clients see it: copies, never meta's
 * own values (meta may be the document cache's); NULL if one is
 * missing.  Built member by member: json_pack's format costs more than
 * the copies on every read.
 */
json_t *
kv2_version_meta(const json_t *meta, long long n)
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
		    value_copy(from[i])) != 0)
			goto fail;
	if (json_object_set_new_nocheck(md, "version",
	    json_integer((json_int_t)n)) != 0)
		goto fail;
	return md;
 fail:
	json_decref(md);
	return NULL;
}


int
kv2_is_deleted(const json_t *v)
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


int
kv2_config_op(struct mount *m, struct request *req, struct response *resp)
{
	json_t		*c = load_config(m), *o;
	char		 dva[32], *key;
	long long	 maxv, d;
	int		 rc, cas, hm, hc, hd;

	if (req->op == REQ_READ) {
		kv2_duration_text(json_integer_value(json_object_get(c,
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

