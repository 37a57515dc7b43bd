/*
 * lmdb.c -- storage in one LMDB environment (data.mdb, lock.mdb).
 *
 * One environment per process, opened with MDB_NOTLS so that any worker
 * thread may run a transaction, and never with MDB_NOSYNC, MDB_MAPASYNC,
 * MDB_WRITEMAP or MDB_NOMEMINIT: a write returns only after its commit
 * is on disk, and freed pages never carry old secrets.  Every vtable
 * call begins and ends its own transaction and copies values out before
 * it ends.  Several cofferd processes may share a directory: LMDB's lock
 * file coordinates their readers and serializes their writers.
 *
 * The map grows as needed.  It starts at LMDB_INITIAL_MAP; a commit
 * that finds it full doubles it and retries.  Resizing requires that no
 * transaction of this process is open, so every transaction holds
 * map_lock for reading and a resize takes it for writing (the lock
 * prefers writers, so a stream of readers cannot starve a resize).  When
 * another process grew the map, LMDB answers MDB_MAP_RESIZED and we
 * adopt its size the same way.
 *
 * Group commit: LMDB has one writer at a time and each commit syncs the
 * disk, so a commit per put caps writes at the disk's sync rate.
 * Writers queue instead; the first to find no commit running becomes the
 * leader, applies every queued request in one transaction, commits once
 * and hands each request the shared result.  A writer returns only after
 * the commit holding its request returned.  Requests are validated
 * before they join, so none should fail on its own; if the group fails
 * anyway, the leader commits each request alone, so that no writer gets
 * another's error.
 *
 * Threads: map_lock (rwlock) around every transaction; q_mu and q_cv
 * guard the queue.  q_mu is never held across a transaction.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "storage.h"

#define LMDB_INITIAL_MAP	((size_t)64 * 1024 * 1024)
#define LMDB_MAX_MAP		((size_t)1 << 40)	/* 1 TiB: give up */
#define LMDB_MAX_READERS	1022
#define LMDB_MAX_VALUE		((size_t)UINT32_MAX)	/* LMDB's limit */

/* One writer's request waiting for a group commit; on its stack. */
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
	size_t			 maxkey;
	pthread_rwlock_t	 map_lock;
	pthread_mutex_t		 q_mu;
	pthread_cond_t		 q_cv;
	struct lmdbstore_req	*q_head, *q_tail;	/* under q_mu */
	int			 committing;		/* under q_mu */
};

static struct lmdbstore *
lmdbstore_from(struct storage *st)
{
	if (st->ops != &storage_lmdb_ops)
		CF_BUG("not an lmdb storage");
	return (struct lmdbstore *)st;
}

static void
lmdbstore_map_rdlock(struct lmdbstore *ls)
{
	if (pthread_rwlock_rdlock(&ls->map_lock) != 0)
		abort();
}

static void
lmdbstore_map_wrlock(struct lmdbstore *ls)
{
	if (pthread_rwlock_wrlock(&ls->map_lock) != 0)
		abort();
}

static void
lmdbstore_map_unlock(struct lmdbstore *ls)
{
	if (pthread_rwlock_unlock(&ls->map_lock) != 0)
		abort();
}

static void
lmdbstore_q_lock(struct lmdbstore *ls)
{
	if (pthread_mutex_lock(&ls->q_mu) != 0)
		abort();
}

static void
lmdbstore_q_unlock(struct lmdbstore *ls)
{
	if (pthread_mutex_unlock(&ls->q_mu) != 0)
		abort();
}

/* An LMDB result as a cf_err, logging real failures. */
static int
lmdbstore_err(int rc, const char *what)
{
	if (rc == 0)
		return CF_OK;
	if (rc == MDB_NOTFOUND)
		return CF_ENOTFOUND;
	log_warnx("lmdb: %s: %s", what, mdb_strerror(rc));
	return rc == ENOMEM ? CF_ENOMEM : CF_EIO;
}

/*
 * After MDB_MAP_FULL (grow) or MDB_MAP_RESIZED (adopt another process's
 * size).  No transaction of ours may be open: take map_lock for writing.
 */
static int
lmdbstore_resize(struct lmdbstore *ls, int grow)
{
	MDB_envinfo	 info;
	size_t		 size = 0;
	int		 rc;

	lmdbstore_map_wrlock(ls);
	if (grow) {
		if ((rc = mdb_env_info(ls->env, &info)) == 0) {
			size = info.me_mapsize * 2;
			if (size > LMDB_MAX_MAP)
				rc = MDB_MAP_FULL;
		}
	} else
		rc = 0;
	/* 0 adopts the size in the file, or at least the used size. */
	if (rc == 0)
		rc = mdb_env_set_mapsize(ls->env, size);
	lmdbstore_map_unlock(ls);
	if (rc != 0)
		return lmdbstore_err(rc, grow ? "growing the map" :
		    "adopting the map size");
	if (grow)
		log_info("lmdb: map grown to %zu MiB", size >> 20);
	return CF_OK;
}

static void
lmdbstore_free(struct lmdbstore *ls)
{
	if (ls->env != NULL)
		mdb_env_close(ls->env);
	pthread_rwlock_destroy(&ls->map_lock);
	pthread_mutex_destroy(&ls->q_mu);
	pthread_cond_destroy(&ls->q_cv);
	free(ls);
}

static int
lmdbstore_locks_init(struct lmdbstore *ls)
{
	pthread_rwlockattr_t	 attr;
	int			 rc;

	if (pthread_rwlockattr_init(&attr) != 0)
		return CF_EINTERNAL;
#if HAVE_PTHREAD_RWLOCKATTR_SETKIND_NP
	pthread_rwlockattr_setkind_np(&attr,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
	rc = pthread_rwlock_init(&ls->map_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (rc != 0)
		return CF_EINTERNAL;
	if (pthread_mutex_init(&ls->q_mu, NULL) != 0) {
		pthread_rwlock_destroy(&ls->map_lock);
		return CF_EINTERNAL;
	}
	if (pthread_cond_init(&ls->q_cv, NULL) != 0) {
		pthread_mutex_destroy(&ls->q_mu);
		pthread_rwlock_destroy(&ls->map_lock);
		return CF_EINTERNAL;
	}
	return CF_OK;
}

/*
 * fsync a directory, so that entries just made in it (the store's own
 * directory, data.mdb, lock.mdb) survive power loss.  Best effort.
 */
static void
lmdbstore_sync_dir(const char *path, int parent)
{
	char	*copy = NULL, *slash;
	int	 fd;

	if (parent) {
		if ((copy = strdup(path)) == NULL)
			return;
		if ((slash = strrchr(copy, '/')) == NULL) {
			copy[0] = '.';
			copy[1] = '\0';
		} else if (slash == copy)
			slash[1] = '\0';
		else
			*slash = '\0';
		path = copy;
	}
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		if (fsync(fd) == -1)
			log_warn("lmdb: fsync %s", path);
		close(fd);
	}
	free(copy);
}

static int
lmdbstore_open(const struct storage_conf *conf, struct storage **out)
{
	struct lmdbstore	*ls;
	MDB_txn			*txn;
	int			 rc, dead, created = 0;

	if (conf->path == NULL || conf->path[0] == '\0') {
		log_warnx("lmdb: storage needs a path");
		return CF_EINVAL;
	}
	if (mkdir(conf->path, 0700) == 0)
		created = 1;
	else if (errno != EEXIST) {
		log_warn("lmdb: %s", conf->path);
		return CF_EIO;
	}
	if ((ls = calloc(1, sizeof(*ls))) == NULL)
		return CF_ENOMEM;
	ls->st.ops = &storage_lmdb_ops;
	if (lmdbstore_locks_init(ls) != CF_OK) {
		free(ls);
		return CF_EINTERNAL;
	}
	if ((rc = mdb_env_create(&ls->env)) != 0) {
		ls->env = NULL;
		goto fail;
	}
	if ((rc = mdb_env_set_mapsize(ls->env, LMDB_INITIAL_MAP)) != 0 ||
	    (rc = mdb_env_set_maxreaders(ls->env, LMDB_MAX_READERS)) != 0 ||
	    (rc = mdb_env_open(ls->env, conf->path, MDB_NOTLS, 0600)) != 0)
		goto fail;
	/* Another process may have grown the map beyond our default. */
	if ((rc = mdb_env_set_mapsize(ls->env, 0)) != 0)
		goto fail;
	/* Free reader slots that killed processes left behind. */
	if ((rc = mdb_reader_check(ls->env, &dead)) != 0)
		goto fail;
	if (dead > 0)
		log_info("lmdb: %s: cleared %d stale readers", conf->path,
		    dead);
	ls->maxkey = (size_t)mdb_env_get_maxkeysize(ls->env);
	if ((rc = mdb_txn_begin(ls->env, NULL, 0, &txn)) != 0)
		goto fail;
	if ((rc = mdb_dbi_open(txn, NULL, 0, &ls->dbi)) != 0) {
		mdb_txn_abort(txn);
		goto fail;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto fail;
	if (created)
		lmdbstore_sync_dir(conf->path, 1);
	lmdbstore_sync_dir(conf->path, 0);
	*out = &ls->st;
	return CF_OK;
 fail:
	log_warnx("lmdb: cannot open %s: %s", conf->path, mdb_strerror(rc));
	lmdbstore_free(ls);
	return rc == ENOMEM ? CF_ENOMEM : CF_EIO;
}

static void
lmdbstore_close(struct storage *st)
{
	lmdbstore_free(lmdbstore_from(st));
}

static int
lmdbstore_get(struct storage *st, const char *key, struct buf *val)
{
	struct lmdbstore	*ls = lmdbstore_from(st);
	MDB_txn			*txn;
	MDB_val			 k, v;
	int			 rc;

	k.mv_size = strlen(key);
	k.mv_data = (void *)(uintptr_t)key;
	for (;;) {
		lmdbstore_map_rdlock(ls);
		rc = mdb_txn_begin(ls->env, NULL, MDB_RDONLY, &txn);
		if (rc == 0) {
			if ((rc = mdb_get(txn, ls->dbi, &k, &v)) == 0 &&
			    buf_set(val, v.mv_data, v.mv_size) != CF_OK)
				rc = ENOMEM;
			/* The copy is made: v dies with the transaction. */
			mdb_txn_abort(txn);
		}
		lmdbstore_map_unlock(ls);
		if (rc != MDB_MAP_RESIZED)
			break;
		if (lmdbstore_resize(ls, 0) != CF_OK)
			return CF_EIO;
	}
	if (rc != 0)
		buf_reset(val);
	return lmdbstore_err(rc, "get");
}

/* Apply ops in txn; 0 or an LMDB error. */
static int
lmdbstore_apply(struct lmdbstore *ls, MDB_txn *txn,
    const struct storage_op *ops, size_t n)
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
		} else if ((rc = mdb_del(txn, ls->dbi, &k, NULL)) ==
		    MDB_NOTFOUND)
			rc = 0;		/* deleting nothing is fine */
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * Commit the requests first..stop (exclusive) in one write transaction,
 * growing or adopting the map size as LMDB asks.
 */
static int
lmdbstore_commit(struct lmdbstore *ls, struct lmdbstore_req *first,
    struct lmdbstore_req *stop)
{
	struct lmdbstore_req	*r;
	MDB_txn			*txn;
	int			 rc;

	for (;;) {
		lmdbstore_map_rdlock(ls);
		if ((rc = mdb_txn_begin(ls->env, NULL, 0, &txn)) == 0) {
			for (r = first; r != stop && rc == 0; r = r->next)
				rc = lmdbstore_apply(ls, txn, r->ops, r->n);
			if (rc == 0)
				rc = mdb_txn_commit(txn);	/* syncs */
			else
				mdb_txn_abort(txn);
		}
		lmdbstore_map_unlock(ls);
		if (rc == MDB_MAP_FULL || rc == MDB_MAP_RESIZED) {
			if (lmdbstore_resize(ls, rc == MDB_MAP_FULL) != CF_OK)
				return CF_EIO;
			continue;
		}
		return lmdbstore_err(rc, "commit");
	}
}

/* Checks LMDB would make inside a transaction, made before joining. */
static int
lmdbstore_check(const struct lmdbstore *ls, const struct storage_op *ops,
    size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (strlen(ops[i].key) > ls->maxkey)
			return CF_EINVAL;
		if (ops[i].kind == STORAGE_OP_PUT &&
		    ops[i].len > LMDB_MAX_VALUE)
			return CF_ETOOBIG;
	}
	return CF_OK;
}

static int
lmdbstore_write(struct lmdbstore *ls, const struct storage_op *ops,
    size_t n)
{
	struct lmdbstore_req	 me, *group, *r;
	int			 rc;

	if ((rc = lmdbstore_check(ls, ops, n)) != CF_OK)
		return rc;
	memset(&me, 0, sizeof(me));
	me.ops = ops;
	me.n = n;
	lmdbstore_q_lock(ls);
	if (ls->q_tail != NULL)
		ls->q_tail->next = &me;
	else
		ls->q_head = &me;
	ls->q_tail = &me;
	while (!me.done && ls->committing)
		if (pthread_cond_wait(&ls->q_cv, &ls->q_mu) != 0)
			abort();
	if (me.done) {
		/* A leader committed our request. */
		lmdbstore_q_unlock(ls);
		return me.rc;
	}
	/* Leader: take the whole queue (us included) as one group. */
	ls->committing = 1;
	group = ls->q_head;
	ls->q_head = ls->q_tail = NULL;
	lmdbstore_q_unlock(ls);

	rc = lmdbstore_commit(ls, group, NULL);
	if (rc != CF_OK && group->next != NULL) {
		/* Nothing was applied; give each request its own result. */
		for (r = group; r != NULL; r = r->next)
			r->rc = lmdbstore_commit(ls, r, r->next);
	} else
		for (r = group; r != NULL; r = r->next)
			r->rc = rc;
	rc = me.rc;

	/* Once done is set a waiter may return: touch no r after that. */
	lmdbstore_q_lock(ls);
	for (r = group; r != NULL; ) {
		struct lmdbstore_req *next = r->next;

		r->done = 1;
		r = next;
	}
	ls->committing = 0;
	if (pthread_cond_broadcast(&ls->q_cv) != 0)
		abort();
	lmdbstore_q_unlock(ls);
	return rc;
}

static int
lmdbstore_put(struct storage *st, const char *key, const void *val,
    size_t len)
{
	struct storage_op	 op = { STORAGE_OP_PUT, key, val, len };

	return lmdbstore_write(lmdbstore_from(st), &op, 1);
}

static int
lmdbstore_del(struct storage *st, const char *key)
{
	struct storage_op	 op = { STORAGE_OP_DEL, key, NULL, 0 };

	return lmdbstore_write(lmdbstore_from(st), &op, 1);
}

static int
lmdbstore_batch(struct storage *st, const struct storage_op *ops, size_t n)
{
	return lmdbstore_write(lmdbstore_from(st), ops, n);
}

static int
lmdbstore_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Walk the keys under prefix in txn, appending direct children to out. */
static int
lmdbstore_walk(struct lmdbstore *ls, MDB_txn *txn, const char *prefix,
    struct strv *out)
{
	MDB_cursor	*cur;
	MDB_val		 k, v;
	MDB_cursor_op	 op;
	char		 bound[STORAGE_KEY_MAX + 2];
	size_t		 plen = strlen(prefix), seg;
	const char	*rest, *slash;
	int		 rc;

	if ((rc = mdb_cursor_open(txn, ls->dbi, &cur)) != 0)
		return rc;
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
		if (strv_pushn(out, rest, seg) != CF_OK) {
			rc = ENOMEM;
			break;
		}
		if (slash == NULL || plen + seg > STORAGE_KEY_MAX)
			continue;
		/*
		 * Jump over the folder: every key under "prefix/name/" sorts
		 * below "prefix/name0", since '0' follows '/'.
		 */
		memcpy(bound, k.mv_data, plen + seg);
		bound[plen + seg - 1] = '/' + 1;
		k.mv_size = plen + seg;
		k.mv_data = bound;
		op = MDB_SET_RANGE;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
lmdbstore_list(struct storage *st, const char *prefix, struct strv *out)
{
	struct lmdbstore	*ls = lmdbstore_from(st);
	MDB_txn			*txn;
	size_t			 n0 = out->n;
	int			 rc;

	for (;;) {
		lmdbstore_map_rdlock(ls);
		if ((rc = mdb_txn_begin(ls->env, NULL, MDB_RDONLY, &txn)) ==
		    0) {
			rc = lmdbstore_walk(ls, txn, prefix, out);
			mdb_txn_abort(txn);
		}
		lmdbstore_map_unlock(ls);
		if (rc != MDB_MAP_RESIZED)
			break;
		if (lmdbstore_resize(ls, 0) != CF_OK)
			return CF_EIO;
	}
	if (rc != 0) {
		/* Leave out as we found it. */
		while (out->n > n0)
			free(out->v[--out->n]);
		return lmdbstore_err(rc, "list");
	}
	/*
	 * Keys order "a-b" < "a/x" < "a0", but the entry "a/" must sort as
	 * itself, after "a-b" and "a.b"; sort what we added.
	 */
	if (out->n - n0 > 1)
		qsort(out->v + n0, out->n - n0, sizeof(*out->v),
		    lmdbstore_strcmp);
	return CF_OK;
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
