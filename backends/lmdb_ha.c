/*
 * lmdb_ha.c -- the LMDB storage's lock file (cofferd.lock): who may
 * open the store, and the HA lock.
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
 * Threads: ha_mu guards the HA lock state (held, cancel) and
 * serializes the lock methods; ha_cv wakes a lock_wait that
 * lock_release cancels.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "lmdbstore.h"
#include "lock.h"
#include "log.h"
#include "storage.h"

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
int
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

int
lmdbstore_lock_try(struct storage *st, const char *holder, int *got)
{
	struct lmdbstore	*ls = lmdbstore_from(st);
	int			 rc;

	*got = 0;
	if (!ls->ha)
		return CF_ENOTSUP;
	lock_mutex(&ls->ha_mu, LOCK_LEAF);
	rc = lmdbstore_try_locked(ls, holder, got);
	unlock_mutex(&ls->ha_mu);
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
int
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
	lock_mutex(&ls->ha_mu, LOCK_LEAF);
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
	unlock_mutex(&ls->ha_mu);
	return rc;
}

int
lmdbstore_lock_release(struct storage *st)
{
	struct lmdbstore	*ls = lmdbstore_from(st);
	int			 err;

	if (!ls->ha)
		return CF_ENOTSUP;
	lock_mutex(&ls->ha_mu, LOCK_LEAF);
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
	unlock_mutex(&ls->ha_mu);
	return CF_OK;
}

int
lmdbstore_lock_holder(struct storage *st, struct buf *out)
{
	struct lmdbstore	*ls = lmdbstore_from(st);
	struct flock		 fl;
	int			 rc, err;

	if (!ls->ha)
		return CF_ENOTSUP;
	lock_mutex(&ls->ha_mu, LOCK_LEAF);
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
	unlock_mutex(&ls->ha_mu);
	return rc;
}

int
lmdbstore_lock_check(struct storage *st)
{
	struct lmdbstore	*ls = lmdbstore_from(st);
	int			 rc = CF_OK;

	if (!ls->ha)
		return CF_ENOTSUP;
	lock_mutex(&ls->ha_mu, LOCK_LEAF);
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
	unlock_mutex(&ls->ha_mu);
	return rc;
}
