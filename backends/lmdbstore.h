/*
 * lmdbstore.h -- what the LMDB storage's four files share (lmdb.c: the
 * environment, the map and the vtable; lmdb_read.c: get and list;
 * lmdb_write.c: writes and the group commit; lmdb_ha.c: cofferd.lock
 * and the HA lock).  Only storage.h's storage_lmdb_ops leaves the
 * backend; nothing outside backends/lmdb*.c includes this.  Not
 * "lmdb.h": with one -I per folder that name would hide liblmdb's.
 *
 * Threads: map_lock (rwlock) around every transaction; the group
 * commit's queue has its own mutex (group_commit.h).  ha_mu
 * guards the HA lock state and serializes the lock methods; ha_cv wakes
 * a lock_wait that lock_release cancels.
 */
#ifndef COFFER_BACKENDS_LMDBSTORE_H
#define COFFER_BACKENDS_LMDBSTORE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "buf.h"
#include "group_commit.h"
#include "storage.h"

#define LMDB_INITIAL_MAP	((size_t)64 * 1024 * 1024)
#define LMDB_MAX_MAP		((size_t)1 << 40)	/* 1 TiB: give up */
/*
 * Every thread that reads keeps a reader slot (lmdb.c): room for two HA
 * nodes at the most worker threads cofferd allows (1024 each), and
 * their other threads, twice over.
 */
#define LMDB_MAX_READERS	4094
#define LMDB_MAX_VALUE		((size_t)UINT32_MAX)	/* LMDB's limit */
#define LMDB_LOCK_FILE		"cofferd.lock"
#define LMDB_LOCK_OPEN		0	/* byte: one process, or HA nodes */
#define LMDB_LOCK_ACTIVE	1	/* byte: the HA lock */
#define LMDB_LOCK_RECORD	2	/* byte: guards the holder record */
#define LMDB_LOCK_POLL_MS	5	/* lock_wait retries this often */

struct lmdbstore {
	struct storage		 st;		/* must stay first */
	MDB_env			*env;
	MDB_dbi			 dbi;
	size_t			 maxkey;
	pthread_rwlock_t	 map_lock;
	struct group_commit	 writes;	/* one leader: one writer */
	int			 lockfd;	/* cofferd.lock; holds our locks */
	char			*lockpath;
	int			 ha;		/* opened with ha_enabled */
	pthread_mutex_t		 ha_mu;
	pthread_cond_t		 ha_cv;		/* CLOCK_MONOTONIC */
	int			 held;		/* byte 1; under ha_mu */
	unsigned int		 cancel;	/* bumped by release; ha_mu */
};

/* lmdb.c */
struct lmdbstore *lmdbstore_from(struct storage *);
/*
 * Run fn(ls, txn, arg) in a transaction of its own under map_lock for
 * reading: read-only unless write.  A write transaction commits when fn
 * returns 0; any other transaction is aborted.  On MDB_MAP_FULL (grow)
 * or MDB_MAP_RESIZED (adopt another process's size) the map is resized
 * and fn runs again, so fn must leave what it fills as it found it
 * when it fails.  CF_OK, CF_ENOTFOUND for MDB_NOTFOUND, or a failure
 * (logged, naming what).
 */
int	 lmdbstore_txn(struct lmdbstore *, int write,
	    int (*fn)(struct lmdbstore *, MDB_txn *, void *), void *arg,
	    const char *what);

/* lmdb_read.c */
int	 lmdbstore_get(struct storage *, const char *key, struct buf *val);
int	 lmdbstore_list(struct storage *, const char *prefix,
	    struct strv *out);

/* lmdb_write.c */
/* group_commit_fn: the requests in one write transaction (arg: ls). */
int	 lmdbstore_commit(void *arg, const struct group_req *first,
	    const struct group_req *stop);
int	 lmdbstore_batch(struct storage *, const struct storage_op *,
	    size_t);
int	 lmdbstore_del_prefix(struct storage *, const char *prefix);

/* lmdb_ha.c */
/*
 * Open cofferd.lock in dir and take byte 0: alone without HA, shared
 * with other HA nodes with it.
 */
int	 lmdbstore_lockfile(struct lmdbstore *, const char *dir);
int	 lmdbstore_lock_try(struct storage *, const char *holder, int *got);
int	 lmdbstore_lock_wait(struct storage *, const char *holder, int ms,
	    int *got);
int	 lmdbstore_lock_release(struct storage *);
int	 lmdbstore_lock_holder(struct storage *, struct buf *out);
int	 lmdbstore_lock_check(struct storage *);

#endif /* COFFER_BACKENDS_LMDBSTORE_H */
