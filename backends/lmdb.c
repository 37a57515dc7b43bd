/*
 * lmdb.c -- storage in one LMDB environment (data.mdb, lock.mdb): the
 * environment's open and close, the map's size, growth and remap, its
 * release from mlockall, the transaction wrapper every method runs in,
 * and the vtable.  Reads are in lmdb_read.c, writes and the group
 * commit in lmdb_write.c, cofferd.lock (one process per directory, or
 * HA nodes) and the HA lock in lmdb_ha.c; lmdbstore.h is what they
 * share.
 *
 * One environment per process, opened with MDB_NOTLS so that any worker
 * thread may run a transaction, and never with MDB_NOSYNC, MDB_MAPASYNC,
 * MDB_WRITEMAP or MDB_NOMEMINIT: a write returns only after its commit
 * is on disk, and freed pages never carry old secrets.  Every vtable
 * call runs in its own transaction and copies values out before it
 * ends; a read's is the calling thread's kept one, renewed for the call
 * and reset after it (see lmdbstore_reader below).
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
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "buf.h"
#include "err.h"
#include "lmdbstore.h"
#include "lock.h"
#include "log.h"
#include "storage.h"

struct lmdbstore *
lmdbstore_from(struct storage *st)
{
	if (st->ops != &storage_lmdb_ops)
		CF_BUG("not an lmdb storage");
	return (struct lmdbstore *)st;
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

	lock_write(&ls->map_lock, LOCK_STORAGE);
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
	unlock_rw(&ls->map_lock);
	if (rc != 0)
		return lmdbstore_err(rc, grow ? "growing the map" :
		    "adopting the map size");
	if (grow)
		log_info("lmdb: map grown to %zu MiB", size >> 20);
	return CF_OK;
}

/*
 * This thread's read transaction on one store, kept reset between its
 * reads (mdb_txn_reset / mdb_txn_renew): a reset transaction holds its
 * reader slot but no snapshot, so it pins no page and blocks no writer,
 * and each renew reads the newest commit.  It saves a read the
 * allocation and the reader-table lock of mdb_txn_begin.  A thread has
 * one, for the store it read last; rd_head lists every thread's so
 * that close aborts them (every call has returned then) before the
 * environment closes, and a thread's exit aborts its own.
 */
struct lmdbstore_reader {
	_Atomic(struct lmdbstore *) ls;		/* NULL: txn is NULL */
	MDB_txn			*txn;
	struct lmdbstore_reader	*next;		/* under rd_mu */
};

static pthread_mutex_t		 rd_mu = PTHREAD_MUTEX_INITIALIZER;
static struct lmdbstore_reader	*rd_head;	/* under rd_mu */
static pthread_key_t		 rd_key;
static pthread_once_t		 rd_once = PTHREAD_ONCE_INIT;
static int			 rd_key_ok;

/* End rd's kept transaction, if it has one (rd_mu held). */
static void
reader_drop(struct lmdbstore_reader *rd)
{
	if (atomic_load(&rd->ls) != NULL)
		mdb_txn_abort(rd->txn);
	rd->txn = NULL;
	atomic_store(&rd->ls, NULL);
}

/* Thread exit: abort the thread's transaction, if its store is open. */
static void
reader_exit(void *p)
{
	struct lmdbstore_reader	*rd = p, **pp;

	lock_mutex(&rd_mu, LOCK_LEAF);
	reader_drop(rd);
	for (pp = &rd_head; *pp != NULL; pp = &(*pp)->next)
		if (*pp == rd) {
			*pp = rd->next;
			break;
		}
	unlock_mutex(&rd_mu);
	free(rd);
}

/*
 * fork: the child must never end the parent's transactions (a reader
 * slot lives in lock.mdb, shared with the parent): it forgets them.
 */
static void
reader_fork_prepare(void)
{
	lock_mutex(&rd_mu, LOCK_LEAF);
}

static void
reader_fork_parent(void)
{
	unlock_mutex(&rd_mu);
}

static void
reader_fork_child(void)
{
	struct lmdbstore_reader	*rd;

	for (rd = rd_head; rd != NULL; rd = rd->next) {
		rd->txn = NULL;
		atomic_store(&rd->ls, NULL);
	}
	unlock_mutex(&rd_mu);
}

static void
reader_key_init(void)
{
	rd_key_ok = pthread_key_create(&rd_key, reader_exit) == 0 &&
	    pthread_atfork(reader_fork_prepare, reader_fork_parent,
	    reader_fork_child) == 0;
}

/* Abort every thread's transaction on ls: it closes. */
static void
reader_close_all(struct lmdbstore *ls)
{
	struct lmdbstore_reader	*rd;

	lock_mutex(&rd_mu, LOCK_LEAF);
	for (rd = rd_head; rd != NULL; rd = rd->next)
		if (atomic_load(&rd->ls) == ls)
			reader_drop(rd);
	unlock_mutex(&rd_mu);
}

/*
 * This thread's reader (NULL: none could be made, begin and abort a
 * transaction instead), holding no transaction on another store.
 */
static struct lmdbstore_reader *
reader_get(struct lmdbstore *ls)
{
	struct lmdbstore_reader	*rd;
	struct lmdbstore	*other;

	if (pthread_once(&rd_once, reader_key_init) != 0 || !rd_key_ok)
		return NULL;
	if ((rd = pthread_getspecific(rd_key)) == NULL) {
		if ((rd = calloc(1, sizeof(*rd))) == NULL)
			return NULL;
		if (pthread_setspecific(rd_key, rd) != 0) {
			free(rd);
			return NULL;
		}
		lock_mutex(&rd_mu, LOCK_LEAF);
		rd->next = rd_head;
		rd_head = rd;
		unlock_mutex(&rd_mu);
	}
	if ((other = atomic_load(&rd->ls)) != NULL && other != ls) {
		/* Under rd_mu: the other store's close may be walking. */
		lock_mutex(&rd_mu, LOCK_LEAF);
		reader_drop(rd);
		unlock_mutex(&rd_mu);
	}
	return rd;
}

/*
 * Begin a read-only transaction (map_lock held): renew the thread's
 * kept one, or begin one and keep it.  *kept: end it with
 * reader_end, else with mdb_txn_abort.
 */
static int
reader_begin(struct lmdbstore *ls, MDB_txn **txn,
    struct lmdbstore_reader **kept)
{
	struct lmdbstore_reader	*rd;
	int			 rc;

	*kept = NULL;
	if ((rd = reader_get(ls)) == NULL)
		return mdb_txn_begin(ls->env, NULL, MDB_RDONLY, txn);
	if (atomic_load(&rd->ls) == ls) {
		if ((rc = mdb_txn_renew(rd->txn)) == 0) {
			*txn = rd->txn;
			*kept = rd;
			return 0;
		}
		/* MDB_MAP_RESIZED or worse: start again from nothing. */
		lock_mutex(&rd_mu, LOCK_LEAF);
		reader_drop(rd);
		unlock_mutex(&rd_mu);
		return rc;
	}
	if ((rc = mdb_txn_begin(ls->env, NULL, MDB_RDONLY, txn)) != 0)
		return rc;
	lock_mutex(&rd_mu, LOCK_LEAF);
	rd->txn = *txn;
	atomic_store(&rd->ls, ls);
	unlock_mutex(&rd_mu);
	*kept = rd;
	return 0;
}

int
lmdbstore_txn(struct lmdbstore *ls, int write,
    int (*fn)(struct lmdbstore *, MDB_txn *, void *), void *arg,
    const char *what)
{
	struct lmdbstore_reader	*kept = NULL;
	MDB_txn			*txn;
	int			 rc;

	for (;;) {
		lock_read(&ls->map_lock, LOCK_STORAGE);
		if (write)
			rc = mdb_txn_begin(ls->env, NULL, 0, &txn);
		else
			rc = reader_begin(ls, &txn, &kept);
		if (rc == 0) {
			if ((rc = fn(ls, txn, arg)) == 0 && write)
				rc = mdb_txn_commit(txn);	/* syncs */
			else if (kept != NULL)
				mdb_txn_reset(txn);	/* drops the snapshot */
			else
				mdb_txn_abort(txn);
		}
		unlock_rw(&ls->map_lock);
		if (rc == MDB_MAP_RESIZED || (write && rc == MDB_MAP_FULL)) {
			if (lmdbstore_resize(ls, rc == MDB_MAP_FULL) != CF_OK)
				return CF_EIO;
			continue;
		}
		return lmdbstore_err(rc, what);
	}
}

static void
lmdbstore_free(struct lmdbstore *ls)
{
	if (ls->env != NULL) {
		reader_close_all(ls);
		mdb_env_close(ls->env);
	}
	if (ls->lockfd != -1)
		close(ls->lockfd);	/* drops every lock we hold */
	free(ls->lockpath);
	pthread_rwlock_destroy(&ls->map_lock);
	group_commit_destroy(&ls->writes);
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
	if (group_commit_init(&ls->writes, 1, 0, lmdbstore_commit, ls) !=
	    CF_OK) {
		pthread_rwlock_destroy(&ls->map_lock);
		return CF_EINTERNAL;
	}
	if (pthread_mutex_init(&ls->ha_mu, NULL) != 0) {
		group_commit_destroy(&ls->writes);
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
		group_commit_destroy(&ls->writes);
		pthread_rwlock_destroy(&ls->map_lock);
	}
	return rc;
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
	.put = storage_put_by_batch,
	.del = storage_del_by_batch,
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
