/*
 * lmdb.c -- storage in one LMDB environment (data.mdb, lock.mdb), and
 * the HA lock in a lock file of our own (cofferd.lock).
 *
 * One environment per process, opened with MDB_NOTLS so that any worker
 * thread may run a transaction, and never with MDB_NOSYNC, MDB_MAPASYNC,
 * MDB_WRITEMAP or MDB_NOMEMINIT: a write returns only after its commit
 * is on disk, and freed pages never carry old secrets.  Every vtable
 * call begins and ends its own transaction and copies values out before
 * it ends.
 *
 * One process per directory, unless every process sharing it is an HA
 * node (ha_enabled).  cofferd keeps facts from storage in memory (the
 * seal configuration, the keyring, mount tables, policies, transit
 * keys), so two ordinary processes on one store would overwrite each
 * other's keys and tables; only HA nodes, of which one is active and
 * the others forward to it, may share.  LMDB's own lock.mdb cannot
 * enforce this (it coordinates readers and writers, and classic fcntl
 * locks on it vanish when any descriptor for it closes), so open takes
 * an open-file-description lock (F_OFD_SETLK) on cofferd.lock before it
 * touches the environment:
 *   byte 0	every process: write-locked without HA (alone), read-locked
 *		by HA nodes (shared among them, never with a non-HA one);
 *   byte 1	the HA lock: write-locked by the active node;
 *   byte 2	guards the holder record, the file's contents: written
 *		under its write lock together with taking byte 1, read
 *		under its read lock together with testing byte 1.
 * The kernel drops a process's locks the moment it dies, so a standby
 * can take over at once, and a record is shown only while its holder
 * lives.  The file is never renamed or removed; lock_check notices when
 * someone else did.
 *
 * LMDB itself coordinates the readers and serializes the writers of HA
 * nodes sharing a directory.
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
 * guard the queue.  q_mu is never held across a transaction.  ha_mu
 * guards the HA lock state and serializes the lock methods; ha_cv wakes
 * a lock_wait that lock_release cancels.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "buf.h"
#include "err.h"
#include "lock.h"
#include "log.h"
#include "storage.h"

#define LMDB_INITIAL_MAP	((size_t)64 * 1024 * 1024)
#define LMDB_MAX_MAP		((size_t)1 << 40)	/* 1 TiB: give up */
#define LMDB_MAX_READERS	1022
#define LMDB_MAX_VALUE		((size_t)UINT32_MAX)	/* LMDB's limit */
#define LMDB_LOCK_FILE		"cofferd.lock"
#define LMDB_LOCK_OPEN		0	/* byte: one process, or HA nodes */
#define LMDB_LOCK_ACTIVE	1	/* byte: the HA lock */
#define LMDB_LOCK_RECORD	2	/* byte: guards the holder record */
#define LMDB_LOCK_POLL_MS	5	/* lock_wait retries this often */

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
	int			 lockfd;	/* cofferd.lock; holds our locks */
	char			*lockpath;
	int			 ha;		/* opened with ha_enabled */
	pthread_mutex_t		 ha_mu;
	pthread_cond_t		 ha_cv;		/* CLOCK_MONOTONIC */
	int			 held;		/* byte 1; under ha_mu */
	unsigned int		 cancel;	/* bumped by release; ha_mu */
};

static int	lmdbstore_lock_release(struct storage *);

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
	lock_read(&ls->map_lock, LOCK_STORAGE);
}

static void
lmdbstore_map_wrlock(struct lmdbstore *ls)
{
	lock_write(&ls->map_lock, LOCK_STORAGE);
}

static void
lmdbstore_map_unlock(struct lmdbstore *ls)
{
	unlock_rw(&ls->map_lock);
}

static void
lmdbstore_q_lock(struct lmdbstore *ls)
{
	lock_mutex(&ls->q_mu, LOCK_STORAGE);
}

static void
lmdbstore_q_unlock(struct lmdbstore *ls)
{
	unlock_mutex(&ls->q_mu);
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
 * Take the map out of mlockall's MCL_FUTURE (cofferd locks its memory
 * before it opens storage).  The map holds only what the barrier
 * encrypted and is backed by data.mdb, never by swap, so locking it
 * protects nothing; locked, every first read of a page pays for pinning
 * it, and a million stored secrets stay pinned in RSS and count against
 * RLIMIT_MEMLOCK.  Without mlock this changes nothing.  After open and
 * after every remap (resize).
 */
static void
lmdbstore_map_unpin(struct lmdbstore *ls)
{
	struct stat	 sb;
	FILE		*f;
	char		 line[4096];
	unsigned long	 lo, hi, ino;
	unsigned int	 maj, min;
	mdb_filehandle_t fd;

	/*
	 * LMDB does not say where its map is (me_mapaddr is set only with
	 * MDB_FIXEDMAP): find data.mdb's mappings by device and inode.
	 */
	if (mdb_env_get_fd(ls->env, &fd) != 0 || fstat(fd, &sb) == -1)
		return;
	if ((f = fopen("/proc/self/maps", "re")) == NULL)
		return;			/* not Linux: nothing is unlocked */
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%lx-%lx %*s %*s %x:%x %lu", &lo, &hi, &maj,
		    &min, &ino) != 5 || ino != (unsigned long)sb.st_ino ||
		    makedev(maj, min) != sb.st_dev)
			continue;
		if (munlock((void *)(uintptr_t)lo, hi - lo) == -1)
			log_warn("lmdb: munlock of the map");
	}
	fclose(f);
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
	if (rc == 0 && (rc = mdb_env_set_mapsize(ls->env, size)) == 0)
		lmdbstore_map_unpin(ls);
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
	if (ls->lockfd != -1)
		close(ls->lockfd);	/* drops every lock we hold */
	free(ls->lockpath);
	pthread_rwlock_destroy(&ls->map_lock);
	pthread_mutex_destroy(&ls->q_mu);
	pthread_cond_destroy(&ls->q_cv);
	pthread_mutex_destroy(&ls->ha_mu);
	pthread_cond_destroy(&ls->ha_cv);
	free(ls);
}

static int
lmdbstore_locks_init(struct lmdbstore *ls)
{
	pthread_rwlockattr_t	 attr;
	pthread_condattr_t	 cattr;
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
	if (pthread_mutex_init(&ls->ha_mu, NULL) != 0) {
		pthread_cond_destroy(&ls->q_cv);
		pthread_mutex_destroy(&ls->q_mu);
		pthread_rwlock_destroy(&ls->map_lock);
		return CF_EINTERNAL;
	}
	rc = CF_EINTERNAL;
	if (pthread_condattr_init(&cattr) == 0) {
		if (pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC) == 0 &&
		    pthread_cond_init(&ls->ha_cv, &cattr) == 0)
			rc = CF_OK;
		pthread_condattr_destroy(&cattr);
	}
	if (rc != CF_OK) {
		pthread_mutex_destroy(&ls->ha_mu);
		pthread_cond_destroy(&ls->q_cv);
		pthread_mutex_destroy(&ls->q_mu);
		pthread_rwlock_destroy(&ls->map_lock);
	}
	return rc;
}

/*
 * An open-file-description lock on one byte of the lock file: type is
 * F_RDLCK, F_WRLCK or F_UNLCK.  0 or errno (EAGAIN when another
 * description holds a conflicting lock and wait is 0).
 */
static int
lmdbstore_ofd(int fd, short type, off_t byte, int wait)
{
	struct flock	 fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = byte;
	fl.l_len = 1;
	fl.l_pid = 0;			/* required for OFD locks */
	while (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) == -1) {
		if (errno == EINTR)
			continue;
		return errno == EACCES ? EAGAIN : errno;
	}
	return 0;
}

/*
 * Open cofferd.lock and take byte 0: alone without HA, shared with
 * other HA nodes with it.  Before the environment is opened, so a
 * refused process writes nothing.
 */
static int
lmdbstore_lockfile(struct lmdbstore *ls, const char *dir)
{
	int	 rc;

	if (asprintf(&ls->lockpath, "%s/%s", dir, LMDB_LOCK_FILE) == -1) {
		ls->lockpath = NULL;
		return CF_ENOMEM;
	}
	if ((ls->lockfd = open(ls->lockpath, O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		log_warn("lmdb: %s", ls->lockpath);
		return CF_EIO;
	}
	rc = lmdbstore_ofd(ls->lockfd, ls->ha ? F_RDLCK : F_WRLCK,
	    LMDB_LOCK_OPEN, 0);
	if (rc == EAGAIN) {
		if (ls->ha)
			log_warnx("lmdb: %s is in use by another cofferd "
			    "process without ha_enabled; HA nodes cannot "
			    "share it with that process", dir);
		else
			log_warnx("lmdb: %s is in use by another cofferd "
			    "process; processes share a storage directory "
			    "only as HA nodes (ha_enabled = true in every "
			    "one)", dir);
		return CF_EIO;
	}
	if (rc != 0) {
		errno = rc;
		log_warn("lmdb: locking %s", ls->lockpath);
		return CF_EIO;
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
	ls->lockfd = -1;
	ls->ha = conf->ha_enabled;
	if (lmdbstore_locks_init(ls) != CF_OK) {
		free(ls);
		return CF_EINTERNAL;
	}
	if ((rc = lmdbstore_lockfile(ls, conf->path)) != CF_OK) {
		lmdbstore_free(ls);
		return rc;
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
	lmdbstore_map_unpin(ls);
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
	struct lmdbstore	*ls = lmdbstore_from(st);

	(void)lmdbstore_lock_release(st);
	lmdbstore_free(ls);
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
		cond_wait(&ls->q_cv, &ls->q_mu);
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
		strv_truncate(out, n0);
		return lmdbstore_err(rc, "list");
	}
	/*
	 * Keys order "a-b" < "a/x" < "a0", but the entry "a/" must sort as
	 * itself, after "a-b" and "a.b"; sort what we added.
	 */
	strv_sort_from(out, n0);
	return CF_OK;
}

static void
lmdbstore_ha_lock(struct lmdbstore *ls)
{
	lock_mutex(&ls->ha_mu, LOCK_LEAF);
}

static void
lmdbstore_ha_unlock(struct lmdbstore *ls)
{
	unlock_mutex(&ls->ha_mu);
}

/* 1 while the path still names the file our descriptor has open. */
static int
lmdbstore_lockfile_is_ours(const struct lmdbstore *ls)
{
	struct stat	 a, b;

	if (fstat(ls->lockfd, &a) == -1 || stat(ls->lockpath, &b) == -1)
		return 0;
	return a.st_nlink > 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Replace the holder record.  Under byte 2's write lock. */
static int
lmdbstore_record_write(struct lmdbstore *ls, const char *holder)
{
	size_t	 len = strlen(holder), off = 0;
	ssize_t	 n;

	if (ftruncate(ls->lockfd, 0) == -1)
		return CF_EIO;
	while (off < len) {
		n = pwrite(ls->lockfd, holder + off, len - off, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return CF_EIO;
		off += (size_t)n;
	}
	return CF_OK;
}

/* Read the holder record into out.  Under byte 2's lock. */
static int
lmdbstore_record_read(struct lmdbstore *ls, struct buf *out)
{
	char	 rec[STORAGE_HOLDER_MAX];
	size_t	 off = 0;
	ssize_t	 n;

	while (off < sizeof(rec)) {
		n = pread(ls->lockfd, rec + off, sizeof(rec) - off,
		    (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n < 0)
			return CF_EIO;
		if (n == 0)
			break;
		off += (size_t)n;
	}
	/* A holder that wrote nothing yet cannot be seen: byte 2. */
	if (off == 0)
		return CF_ENOTFOUND;
	return buf_set(out, rec, off);
}

/* lock_try under ha_mu. */
static int
lmdbstore_try_locked(struct lmdbstore *ls, const char *holder, int *got)
{
	int	 rc, err;

	*got = 0;
	if (ls->held) {
		*got = 1;
		return CF_OK;
	}
	if (!lmdbstore_lockfile_is_ours(ls)) {
		log_warnx("lmdb: %s was removed or replaced; restart every "
		    "node", ls->lockpath);
		return CF_EIO;
	}
	if ((err = lmdbstore_ofd(ls->lockfd, F_WRLCK, LMDB_LOCK_RECORD, 1)) !=
	    0) {
		errno = err;
		log_warn("lmdb: locking %s", ls->lockpath);
		return CF_EIO;
	}
	err = lmdbstore_ofd(ls->lockfd, F_WRLCK, LMDB_LOCK_ACTIVE, 0);
	if (err == 0) {
		if ((rc = lmdbstore_record_write(ls, holder)) == CF_OK) {
			ls->held = 1;
			*got = 1;
		} else {
			log_warn("lmdb: writing %s", ls->lockpath);
			(void)lmdbstore_ofd(ls->lockfd, F_UNLCK,
			    LMDB_LOCK_ACTIVE, 0);
		}
	} else if (err == EAGAIN)
		rc = CF_OK;		/* another node holds it */
	else {
		errno = err;
		log_warn("lmdb: locking %s", ls->lockpath);
		rc = CF_EIO;
	}
	(void)lmdbstore_ofd(ls->lockfd, F_UNLCK, LMDB_LOCK_RECORD, 0);
	return rc;
}

static int
lmdbstore_lock_try(struct storage *st, const char *holder, int *got)
{
	struct lmdbstore	*ls = lmdbstore_from(st);
	int			 rc;

	*got = 0;
	if (!ls->ha)
		return CF_ENOTSUP;
	lmdbstore_ha_lock(ls);
	rc = lmdbstore_try_locked(ls, holder, got);
	lmdbstore_ha_unlock(ls);
	return rc;
}

static void
lmdbstore_ms_after(struct timespec *ts, long long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int
lmdbstore_ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec &&
	    a->tv_nsec < b->tv_nsec);
}

/*
 * The kernel has no timed OFD lock, so try every LMDB_LOCK_POLL_MS
 * until the deadline, sleeping on ha_cv so that lock_release (at
 * shutdown) ends the wait at once.
 */
static int
lmdbstore_lock_wait(struct storage *st, const char *holder, int ms,
    int *got)
{
	struct lmdbstore	*ls = lmdbstore_from(st);
	struct timespec		 deadline, next;
	unsigned int		 cancel;
	int			 rc;

	*got = 0;
	if (!ls->ha)
		return CF_ENOTSUP;
	lmdbstore_ms_after(&deadline, ms > 0 ? ms : 0);
	lmdbstore_ha_lock(ls);
	cancel = ls->cancel;
	for (;;) {
		if ((rc = lmdbstore_try_locked(ls, holder, got)) != CF_OK ||
		    *got)
			break;
		lmdbstore_ms_after(&next, LMDB_LOCK_POLL_MS);
		if (!lmdbstore_ts_before(&next, &deadline)) {
			lmdbstore_ms_after(&next, 0);
			if (!lmdbstore_ts_before(&next, &deadline))
				break;		/* the time ran out */
			next = deadline;
		}
		(void)cond_timedwait(&ls->ha_cv, &ls->ha_mu, &next);
		if (ls->cancel != cancel)
			break;			/* lock_release: give up */
	}
	lmdbstore_ha_unlock(ls);
	return rc;
}

static int
lmdbstore_lock_release(struct storage *st)
{
	struct lmdbstore	*ls = lmdbstore_from(st);
	int			 err;

	if (!ls->ha)
		return CF_ENOTSUP;
	lmdbstore_ha_lock(ls);
	ls->cancel++;
	if (pthread_cond_broadcast(&ls->ha_cv) != 0)
		abort();
	if (ls->held) {
		/* Clear the record, then let go; readers see one or none. */
		if (lmdbstore_ofd(ls->lockfd, F_WRLCK, LMDB_LOCK_RECORD, 1) ==
		    0) {
			if (ftruncate(ls->lockfd, 0) == -1)
				log_warn("lmdb: clearing %s", ls->lockpath);
		}
		if ((err = lmdbstore_ofd(ls->lockfd, F_UNLCK, LMDB_LOCK_ACTIVE,
		    0)) != 0) {
			errno = err;
			log_warn("lmdb: unlocking %s", ls->lockpath);
		}
		(void)lmdbstore_ofd(ls->lockfd, F_UNLCK, LMDB_LOCK_RECORD, 0);
		ls->held = 0;
	}
	lmdbstore_ha_unlock(ls);
	return CF_OK;
}

static int
lmdbstore_lock_holder(struct storage *st, struct buf *out)
{
	struct lmdbstore	*ls = lmdbstore_from(st);
	struct flock		 fl;
	int			 rc, err;

	if (!ls->ha)
		return CF_ENOTSUP;
	lmdbstore_ha_lock(ls);
	if ((err = lmdbstore_ofd(ls->lockfd, F_RDLCK, LMDB_LOCK_RECORD, 1)) !=
	    0) {
		errno = err;
		log_warn("lmdb: locking %s", ls->lockpath);
		rc = CF_EIO;
		goto out;
	}
	if (!ls->held) {
		/* Our own locks never conflict: ask only when not ours. */
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		fl.l_start = LMDB_LOCK_ACTIVE;
		fl.l_len = 1;
		if (fcntl(ls->lockfd, F_OFD_GETLK, &fl) == -1) {
			log_warn("lmdb: testing %s", ls->lockpath);
			rc = CF_EIO;
			goto unlock;
		}
		if (fl.l_type == F_UNLCK) {
			rc = CF_ENOTFOUND;	/* nobody, or a dead node */
			goto unlock;
		}
	}
	rc = lmdbstore_record_read(ls, out);
 unlock:
	(void)lmdbstore_ofd(ls->lockfd, F_UNLCK, LMDB_LOCK_RECORD, 0);
 out:
	lmdbstore_ha_unlock(ls);
	return rc;
}

static int
lmdbstore_lock_check(struct storage *st)
{
	struct lmdbstore	*ls = lmdbstore_from(st);
	int			 rc = CF_OK;

	if (!ls->ha)
		return CF_ENOTSUP;
	lmdbstore_ha_lock(ls);
	if (!ls->held)
		rc = CF_ESTANDBY;
	else if (!lmdbstore_lockfile_is_ours(ls)) {
		/* Another node could lock a new file: we are no longer alone. */
		log_warnx("lmdb: %s was removed or replaced: HA lock lost",
		    ls->lockpath);
		(void)lmdbstore_ofd(ls->lockfd, F_UNLCK, LMDB_LOCK_ACTIVE, 0);
		ls->held = 0;
		rc = CF_ESTANDBY;
	}
	lmdbstore_ha_unlock(ls);
	return rc;
}

/* Delete the keys under prefix in txn with a cursor; 0 or an error. */
static int
lmdbstore_del_walk(struct lmdbstore *ls, MDB_txn *txn, const char *prefix)
{
	MDB_cursor	*cur;
	MDB_val		 k, v;
	size_t		 plen = strlen(prefix);
	int		 rc;

	if ((rc = mdb_cursor_open(txn, ls->dbi, &cur)) != 0)
		return rc;
	k.mv_size = plen;
	k.mv_data = (void *)(uintptr_t)prefix;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size >= plen &&
	    memcmp(k.mv_data, prefix, plen) == 0) {
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		/* Seek again rather than trust the cursor after a delete. */
		k.mv_size = plen;
		k.mv_data = (void *)(uintptr_t)prefix;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * One write transaction of its own, outside the group commit: LMDB
 * serializes it with the group leader's, and it commits (and syncs)
 * once however many keys it removes.
 */
static int
lmdbstore_del_prefix(struct storage *st, const char *prefix)
{
	struct lmdbstore	*ls = lmdbstore_from(st);
	MDB_txn			*txn;
	int			 rc;

	for (;;) {
		lmdbstore_map_rdlock(ls);
		if ((rc = mdb_txn_begin(ls->env, NULL, 0, &txn)) == 0) {
			if ((rc = lmdbstore_del_walk(ls, txn, prefix)) == 0)
				rc = mdb_txn_commit(txn);
			else
				mdb_txn_abort(txn);
		}
		lmdbstore_map_unlock(ls);
		if (rc == MDB_MAP_FULL || rc == MDB_MAP_RESIZED) {
			if (lmdbstore_resize(ls, rc == MDB_MAP_FULL) != CF_OK)
				return CF_EIO;
			continue;
		}
		return lmdbstore_err(rc, "delete prefix");
	}
}

/* Nothing to configure beyond path and ha_enabled. */
static int
lmdbstore_conf_check(const char *key, const char *val, char *why,
    size_t whylen)
{
	(void)val;
	snprintf(why, whylen, "unknown key \"%s\" in storage \"lmdb\"",
	    key);
	return CF_EINVAL;
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
	.lock_try = lmdbstore_lock_try,
	.lock_wait = lmdbstore_lock_wait,
	.lock_release = lmdbstore_lock_release,
	.lock_holder = lmdbstore_lock_holder,
	.lock_check = lmdbstore_lock_check,
	.conf_check = lmdbstore_conf_check,
	.del_prefix = lmdbstore_del_prefix,
};
