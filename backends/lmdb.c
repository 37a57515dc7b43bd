/*
 * lmdb.c -- storage in one LMDB environment.
 *
 * One environment per process, opened with MDB_NOTLS so that any worker
 * thread may run a transaction, and never with MDB_NOSYNC, MDB_MAPASYNC,
 * MDB_WRITEMAP or MDB_NOMEMINIT: a put returns only after its commit is
 * on disk, and freed pages never carry old secrets.  Several cofferd
 * processes may share a directory: LMDB's lock file coordinates them.
 *
 * The map grows as needed.  Resizing requires that no transaction of
 * this process is open, so every transaction holds map_lock for reading
 * and a resize takes it for writing.
 *
 * Group commit: LMDB has one writer at a time and each commit syncs the
 * disk, so concurrent writers queue; the first to find no commit running
 * becomes the leader, applies every queued request in one transaction
 * and wakes the others with the shared result.  A request that fails on
 * its own (never expected after the wrappers checked keys) makes the
 * leader retry the group one request per transaction, so no writer is
 * failed for another's fault.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "storage.h"

#define LMDB_INITIAL_MAP	(64UL * 1024 * 1024)

/* One writer's request waiting for a group commit. */
struct lmdbstore_req {
	const struct storage_op	*ops;
	size_t			 n;
	int			 rc;
	int			 done;
	struct lmdbstore_req	*next;
};

struct lmdbstore {
	struct storage		 st;		/* must stay first */
	MDB_env			*env;
	MDB_dbi			 dbi;
	pthread_rwlock_t	 map_lock;
	pthread_mutex_t		 q_mu;
	pthread_cond_t		 q_cv;
	struct lmdbstore_req	*q_head, *q_tail;
	int			 committing;
};

static struct lmdbstore *
lmdbstore_from(struct storage *st)
{
	if (st->ops != &storage_lmdb_ops)
		CF_BUG("not an lmdb storage");
	return (struct lmdbstore *)st;
}

static void
map_rdlock(struct lmdbstore *ls)
{
	if (pthread_rwlock_rdlock(&ls->map_lock) != 0)
		abort();
}

static void
map_unlock(struct lmdbstore *ls)
{
	if (pthread_rwlock_unlock(&ls->map_lock) != 0)
		abort();
}

static int
map_err(int rc, const char *what)
{
	if (rc == MDB_NOTFOUND)
		return CF_ENOTFOUND;
	log_warnx("lmdb: %s: %s", what, mdb_strerror(rc));
	return rc == ENOMEM ? CF_ENOMEM : CF_EIO;
}

/* Double the map; called with no transaction of ours open. */
static int
grow_map(struct lmdbstore *ls)
{
	MDB_envinfo	 info;
	int		 rc;

	if (pthread_rwlock_wrlock(&ls->map_lock) != 0)
		abort();
	mdb_env_info(ls->env, &info);
	rc = mdb_env_set_mapsize(ls->env, info.me_mapsize * 2);
	map_unlock(ls);
	if (rc != 0)
		return map_err(rc, "growing the map");
	log_info("lmdb: map grown to %zu MiB", info.me_mapsize * 2 >> 20);
	return CF_OK;
}

/* Adopt a size another process set (MDB_MAP_RESIZED). */
static int
adopt_map(struct lmdbstore *ls)
{
	int	 rc;

	if (pthread_rwlock_wrlock(&ls->map_lock) != 0)
		abort();
	rc = mdb_env_set_mapsize(ls->env, 0);
	map_unlock(ls);
	return rc == 0 ? CF_OK : map_err(rc, "adopting the map size");
}

static int
lmdbstore_open(const struct storage_conf *conf, struct storage **out)
{
	struct lmdbstore	*ls;
	MDB_txn			*txn;
	int			 rc;

	if (conf->path == NULL) {
		log_warnx("lmdb: storage needs a path");
		return CF_EINVAL;
	}
	if (mkdir(conf->path, 0700) == -1 && errno != EEXIST) {
		log_warn("lmdb: %s", conf->path);
		return CF_EIO;
	}
	if ((ls = calloc(1, sizeof(*ls))) == NULL)
		return CF_ENOMEM;
	ls->st.ops = &storage_lmdb_ops;
	pthread_rwlock_init(&ls->map_lock, NULL);
	pthread_mutex_init(&ls->q_mu, NULL);
	pthread_cond_init(&ls->q_cv, NULL);
	if ((rc = mdb_env_create(&ls->env)) != 0)
		goto fail;
	if ((rc = mdb_env_set_mapsize(ls->env, LMDB_INITIAL_MAP)) != 0 ||
	    (rc = mdb_env_set_maxreaders(ls->env, 1022)) != 0 ||
	    (rc = mdb_env_open(ls->env, conf->path, MDB_NOTLS, 0600)) != 0)
		goto fail;
	/* Another process may already have grown the map beyond ours. */
	mdb_env_set_mapsize(ls->env, 0);
	if ((rc = mdb_txn_begin(ls->env, NULL, 0, &txn)) != 0)
		goto fail;
	if ((rc = mdb_dbi_open(txn, NULL, 0, &ls->dbi)) != 0) {
		mdb_txn_abort(txn);
		goto fail;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto fail;
	*out = &ls->st;
	return CF_OK;
 fail:
	log_warnx("lmdb: cannot open %s: %s", conf->path, mdb_strerror(rc));
	if (ls->env != NULL)
		mdb_env_close(ls->env);
	pthread_rwlock_destroy(&ls->map_lock);
	pthread_mutex_destroy(&ls->q_mu);
	pthread_cond_destroy(&ls->q_cv);
	free(ls);
	return CF_EIO;
}

static void
lmdbstore_close(struct storage *st)
{
	struct lmdbstore	*ls = lmdbstore_from(st);

	mdb_env_close(ls->env);
	pthread_rwlock_destroy(&ls->map_lock);
	pthread_mutex_destroy(&ls->q_mu);
	pthread_cond_destroy(&ls->q_cv);
	free(ls);
}

static int
lmdbstore_get(struct storage *st, const char *key, struct buf *val)
{
	struct lmdbstore	*ls = lmdbstore_from(st);
	MDB_txn			*txn;
	MDB_val			 k, v;
	int			 rc;

	for (;;) {
		map_rdlock(ls);
		rc = mdb_txn_begin(ls->env, NULL, MDB_RDONLY, &txn);
		if (rc == 0) {
			k.mv_size = strlen(key);
			k.mv_data = (void *)(uintptr_t)key;
			rc = mdb_get(txn, ls->dbi, &k, &v);
			if (rc == 0)
				rc = buf_set(val, v.mv_data, v.mv_size) ==
				    CF_OK ? 0 : ENOMEM;
			mdb_txn_abort(txn);
		}
		map_unlock(ls);
		if (rc != MDB_MAP_RESIZED)
			break;
		if (adopt_map(ls) != CF_OK)
			return CF_EIO;
	}
	return rc == 0 ? CF_OK : map_err(rc, "get");
}

/* Apply ops in txn; an LMDB error code or 0. */
static int
apply_ops(struct lmdbstore *ls, MDB_txn *txn, const struct storage_op *ops,
    size_t n)
{
	MDB_val	 k, v;
	size_t	 i;
	int	 rc;

	for (i = 0; i < n; i++) {
		k.mv_size = strlen(ops[i].key);
		k.mv_data = (void *)(uintptr_t)ops[i].key;
		if (ops[i].kind == STORAGE_OP_PUT) {
			v.mv_size = ops[i].len;
			v.mv_data = (void *)(uintptr_t)(ops[i].val != NULL ?
			    ops[i].val : "");
			rc = mdb_put(txn, ls->dbi, &k, &v, 0);
		} else {
			rc = mdb_del(txn, ls->dbi, &k, NULL);
			if (rc == MDB_NOTFOUND)
				rc = 0;
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* One write transaction over a list of requests, growing the map. */
static int
commit_group(struct lmdbstore *ls, struct lmdbstore_req *first,
    struct lmdbstore_req *stop)
{
	struct lmdbstore_req	*r;
	MDB_txn			*txn;
	int			 rc;

	for (;;) {
		map_rdlock(ls);
		rc = mdb_txn_begin(ls->env, NULL, 0, &txn);
		if (rc == 0) {
			for (r = first; r != stop && rc == 0; r = r->next)
				rc = apply_ops(ls, txn, r->ops, r->n);
			if (rc == 0)
				rc = mdb_txn_commit(txn);
			else
				mdb_txn_abort(txn);
		}
		map_unlock(ls);
		if (rc == MDB_MAP_FULL) {
			if (grow_map(ls) != CF_OK)
				return CF_EIO;
			continue;
		}
		if (rc == MDB_MAP_RESIZED) {
			if (adopt_map(ls) != CF_OK)
				return CF_EIO;
			continue;
		}
		return rc == 0 ? CF_OK : map_err(rc, "commit");
	}
}

static int
write_ops(struct lmdbstore *ls, const struct storage_op *ops, size_t n)
{
	struct lmdbstore_req	 me, *group, *r, *next;
	int			 rc;

	memset(&me, 0, sizeof(me));
	me.ops = ops;
	me.n = n;
	pthread_mutex_lock(&ls->q_mu);
	if (ls->q_tail != NULL)
		ls->q_tail->next = &me;
	else
		ls->q_head = &me;
	ls->q_tail = &me;
	while (!me.done && ls->committing)
		pthread_cond_wait(&ls->q_cv, &ls->q_mu);
	if (me.done) {
		pthread_mutex_unlock(&ls->q_mu);
		return me.rc;
	}
	/* Leader: take the whole queue and commit it as one group. */
	ls->committing = 1;
	group = ls->q_head;
	ls->q_head = ls->q_tail = NULL;
	pthread_mutex_unlock(&ls->q_mu);

	rc = commit_group(ls, group, NULL);
	if (rc != CF_OK && group->next != NULL) {
		/* Someone's request failed: give each its own result. */
		for (r = group; r != NULL; r = r->next)
			r->rc = commit_group(ls, r, r->next);
	} else
		for (r = group; r != NULL; r = r->next)
			r->rc = rc;

	pthread_mutex_lock(&ls->q_mu);
	for (r = group; r != NULL; r = next) {
		next = r->next;
		r->done = 1;
	}
	ls->committing = 0;
	pthread_cond_broadcast(&ls->q_cv);
	pthread_mutex_unlock(&ls->q_mu);
	return me.rc;
}

static int
lmdbstore_put(struct storage *st, const char *key, const void *val,
    size_t len)
{
	struct storage_op	 op = { STORAGE_OP_PUT, key, val, len };

	return write_ops(lmdbstore_from(st), &op, 1);
}

static int
lmdbstore_del(struct storage *st, const char *key)
{
	struct storage_op	 op = { STORAGE_OP_DEL, key, NULL, 0 };

	return write_ops(lmdbstore_from(st), &op, 1);
}

static int
lmdbstore_batch(struct storage *st, const struct storage_op *ops, size_t n)
{
	return write_ops(lmdbstore_from(st), ops, n);
}

static int
lmdbstore_list(struct storage *st, const char *prefix, struct strv *out)
{
	struct lmdbstore	*ls = lmdbstore_from(st);
	MDB_txn			*txn;
	MDB_cursor		*cur;
	MDB_val			 k, v;
	size_t			 plen = strlen(prefix), seg;
	const char		*rest, *slash;
	char			*last = NULL;
	int			 rc, op;

	map_rdlock(ls);
	if ((rc = mdb_txn_begin(ls->env, NULL, MDB_RDONLY, &txn)) != 0) {
		map_unlock(ls);
		if (rc == MDB_MAP_RESIZED && adopt_map(ls) == CF_OK)
			return lmdbstore_list(st, prefix, out);
		return map_err(rc, "list");
	}
	if ((rc = mdb_cursor_open(txn, ls->dbi, &cur)) != 0)
		goto out;
	k.mv_size = plen;
	k.mv_data = (void *)(uintptr_t)prefix;
	op = plen > 0 ? MDB_SET_RANGE : MDB_FIRST;
	while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
			break;
		rest = (const char *)k.mv_data + plen;
		slash = memchr(rest, '/', k.mv_size - plen);
		seg = slash != NULL ? (size_t)(slash - rest) + 1 :
		    k.mv_size - plen;
		if (last != NULL && strlen(last) == seg &&
		    memcmp(last, rest, seg) == 0)
			continue;
		if (strv_pushn(out, rest, seg) != CF_OK) {
			rc = ENOMEM;
			break;
		}
		last = out->v[out->n - 1];
		if (slash != NULL) {
			/*
			 * Skip the rest of this folder: seek past
			 * "prefix" + "name/" by seeking to "name0" ('/'+1).
			 */
			char	*skip;

			if ((skip = malloc(plen + seg)) == NULL) {
				rc = ENOMEM;
				break;
			}
			memcpy(skip, prefix, plen);
			memcpy(skip + plen, rest, seg);
			skip[plen + seg - 1] = '/' + 1;
			k.mv_size = plen + seg;
			k.mv_data = skip;
			rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
			free(skip);
			if (rc != 0)
				break;
			op = MDB_GET_CURRENT;
		}
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	mdb_cursor_close(cur);
 out:
	mdb_txn_abort(txn);
	map_unlock(ls);
	strv_sort(out);
	return rc == 0 ? CF_OK : map_err(rc, "list");
}

const struct storage_ops storage_lmdb_ops = {
	.name = "lmdb",
	.version = STORAGE_OPS_VERSION,
	.open = lmdbstore_open,
	.close = lmdbstore_close,
	.get = lmdbstore_get,
	.put = lmdbstore_put,
	.del = lmdbstore_del,
	.list = lmdbstore_list,
	.batch = lmdbstore_batch,
};
