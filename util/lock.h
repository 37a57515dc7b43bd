/*
 * lock.h -- checked pthread locks, with a per-thread lock-order check.
 *
 * Every mutex and rwlock in cofferd is taken and released through these
 * macros.  A pthread call that fails (EDEADLK, EINVAL, EPERM, ...) is a
 * broken invariant: the wrapper prints which call failed, on which lock
 * and where, and aborts, as STYLE.md asks.  Nothing returns an error to
 * the caller except a timed lock's ETIMEDOUT.
 *
 * Lock order.  Each acquisition names a level, and a thread may only
 * take a lock whose level is above every level it already holds.  The
 * levels are numbers with gaps, so a module's documented order inside
 * one of core.h's four groups is a sub-level:
 *
 *   1  LOCK_CORE          core.lock
 *      LOCK_KEYS          keys_lock (seal config, root key): inside core
 *      LOCK_CHANGE        serialised changes: mount_table.c's mutex (before
 *                         the router), audit.c's chg_mu (before its
 *                         table lock)
 *      LOCK_RECORD        a record's read-modify-write, held across
 *                         storage and cache calls: kv2's key stripes,
 *                         a token's use count, a wrapping token's use,
 *                         approle's records, a transit key change
 *   2  LOCK_TABLE         at most one table or cache: router, policy
 *                         cache, token cache stripe, audit table,
 *                         transit key cache, approle salt
 *   3  LOCK_STORAGE_LOCK  a backend's HA lock connection (postgresql's
 *                         lk_mu, held across round trips; before ha_mu)
 *      LOCK_STORAGE       locks inside storage backends
 *   4  LOCK_LEAF          leaves: audit devices, the HA and cluster
 *                         mutexes, the body budget, the gate, metrics'
 *                         slot list, the token tidy and userpass waits,
 *                         a jsoncache slot (core's reads take it under
 *                         a table lock; nothing is called under it)
 *      LOCK_LEAF_INNER    the one lock a leaf may nest: a metrics slot
 *                         under the slot list, a socket audit device's
 *                         mutex under the device's fd lock, a curl
 *                         share's connection cache under its share lock
 *      LOCK_LEAF_INNER2   curl's DNS cache under its connection cache
 *
 * Equal levels do not nest either: two table locks, two kv2 stripes or
 * a read lock taken twice (a deadlock once a writer queues) all abort.
 * A violation prints both locks (the expression passed, its level, the
 * file:line of each acquisition) and every lock the thread holds, then
 * aborts.  Release order is not checked: releasing early cannot
 * deadlock.
 *
 * When the check is on.  It is on when the environment has
 * COFFER_LOCK_CHECK=1, read once, at the first lock call (before any
 * thread, in practice).  A run-time switch rather than a compile flag,
 * so that the integration suite checks the very binary that ships:
 * tests/integration/conftest.py and `make check-unit` set it, and a
 * debug run sets it by hand.  Off, each call costs one relaxed atomic
 * load besides the pthread call; on, a small per-thread stack of held
 * locks (LOCK_HELD_MAX deep; deeper aborts).
 *
 * Threads: every function is thread-safe; the bookkeeping is the
 * calling thread's own.  A lock must be released by the thread that
 * took it (as POSIX requires anyway); with the check on, releasing a
 * lock the thread does not hold aborts.
 *
 * In util/, the bottom layer of leaf helpers (tests/layers.py): it
 * includes headers of util/ only.
 */
#ifndef COFFER_UTIL_LOCK_H
#define COFFER_UTIL_LOCK_H

#include <pthread.h>
#include <time.h>

enum lock_level {
	LOCK_CORE = 10,
	LOCK_KEYS = 12,
	LOCK_CHANGE = 14,
	LOCK_RECORD = 16,
	LOCK_TABLE = 20,
	LOCK_STORAGE_LOCK = 28,
	LOCK_STORAGE = 30,
	LOCK_LEAF = 40,
	LOCK_LEAF_INNER = 42,
	LOCK_LEAF_INNER2 = 44
};

#define LOCK_HELD_MAX	16

/* The initialiser of a static array of 64 mutexes: a table's stripes. */
#define LOCK_MUTEX8	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, \
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, \
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, \
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER
#define LOCK_MUTEX64_INIT { LOCK_MUTEX8, LOCK_MUTEX8, LOCK_MUTEX8, \
	LOCK_MUTEX8, LOCK_MUTEX8, LOCK_MUTEX8, LOCK_MUTEX8, LOCK_MUTEX8 }

/*
 * The calls.  m is a pthread_mutex_t *, l a pthread_rwlock_t *, cv a
 * pthread_cond_t *, lvl an enum lock_level.  The waits keep m held in
 * the bookkeeping (it is held again when they return); they return 0,
 * or ETIMEDOUT for a timed wait, and abort on any other result.
 * lock_mutex_timed returns 0 or ETIMEDOUT (then m is not held).
 */
#define lock_mutex(m, lvl)	lock_mutex_at((m), (lvl), #m, __FILE__, __LINE__)
#define lock_mutex_timed(m, lvl, abs) \
	lock_mutex_timed_at((m), (lvl), (abs), #m, __FILE__, __LINE__)
#define unlock_mutex(m)		unlock_mutex_at((m), #m, __FILE__, __LINE__)
#define lock_read(l, lvl)	lock_read_at((l), (lvl), #l, __FILE__, __LINE__)
#define lock_write(l, lvl)	lock_write_at((l), (lvl), #l, __FILE__, __LINE__)
#define unlock_rw(l)		unlock_rw_at((l), #l, __FILE__, __LINE__)
#define cond_wait(cv, m)	cond_wait_at((cv), (m), #m, __FILE__, __LINE__)
#define cond_timedwait(cv, m, abs) \
	cond_timedwait_at((cv), (m), (abs), #m, __FILE__, __LINE__)

void	 lock_mutex_at(pthread_mutex_t *, int, const char *, const char *,
	    int);
int	 lock_mutex_timed_at(pthread_mutex_t *, int, const struct timespec *,
	    const char *, const char *, int);
void	 unlock_mutex_at(pthread_mutex_t *, const char *, const char *, int);
void	 lock_read_at(pthread_rwlock_t *, int, const char *, const char *,
	    int);
void	 lock_write_at(pthread_rwlock_t *, int, const char *, const char *,
	    int);
void	 unlock_rw_at(pthread_rwlock_t *, const char *, const char *, int);
void	 cond_wait_at(pthread_cond_t *, pthread_mutex_t *, const char *,
	    const char *, int);
int	 cond_timedwait_at(pthread_cond_t *, pthread_mutex_t *,
	    const struct timespec *, const char *, const char *, int);

/* 1 if the order check is on (COFFER_LOCK_CHECK=1, read once). */
int	 lock_check_enabled(void);
/*
 * Turn the check on or off for the whole process, overriding the
 * environment: for unit tests, before any lock is held.
 */
void	 lock_check_set(int);
/* The number of locks the calling thread holds (0 with the check off). */
int	 lock_held_count(void);
/* A level's name ("core", "table", ...); "?" if it has none. */
const char *lock_level_name(int);

#endif /* COFFER_UTIL_LOCK_H */
