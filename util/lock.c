/*
 * lock.c -- checked pthread locks and the per-thread lock-order check.
 *
 * The check keeps, per thread, a stack of the locks it holds: the lock's
 * address, its level, the expression the caller passed, and where it
 * was taken.  Taking a lock compares the new level with every held one
 * (the stack is short: a handful in practice) before blocking, so a
 * violation aborts instead of deadlocking.  Messages are formatted into
 * a stack buffer and written to stderr with one write(2), like log.c's,
 * then abort() leaves a core (or a sanitizer's report) to look at.
 *
 * The switch is an atomic read once from the environment; unit tests
 * may set it.  See lock.h for the levels and why.
 *
 * In util/, the bottom layer of leaf helpers (tests/layers.py): it
 * includes headers of util/ only.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lock.h"

struct held {
	const void	*lock;
	int		 level;
	const char	*name;
	const char	*file;
	int		 line;
};

/* -1: not read yet; 0: off; 1: on. */
static atomic_int		 checking = -1;
static _Thread_local struct held held[LOCK_HELD_MAX];
static _Thread_local int	 nheld;

static void	lock_die(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));
static void	held_push(const void *, int, const char *, const char *,
		    int);
static void	held_order(const void *, int, const char *, const char *,
		    int);
static void	held_pop(const void *, const char *, const char *, int);
static int	held_find(const void *);

const char *
lock_level_name(int level)
{
	switch (level) {
	case LOCK_CORE:
		return "core";
	case LOCK_KEYS:
		return "keys";
	case LOCK_CHANGE:
		return "change";
	case LOCK_RECORD:
		return "record";
	case LOCK_TABLE:
		return "table";
	case LOCK_STORAGE_LOCK:
		return "storage-lock";
	case LOCK_STORAGE:
		return "storage";
	case LOCK_LEAF:
		return "leaf";
	case LOCK_LEAF_INNER:
		return "leaf-inner";
	case LOCK_LEAF_INNER2:
		return "leaf-inner2";
	default:
		return "?";
	}
}

int
lock_check_enabled(void)
{
	const char	*v;
	int		 on;

	if ((on = atomic_load_explicit(&checking,
	    memory_order_relaxed)) >= 0)
		return on;
	/* A race here is harmless: every thread reads the same value. */
	v = getenv("COFFER_LOCK_CHECK");
	on = v != NULL && strcmp(v, "1") == 0;
	atomic_store_explicit(&checking, on, memory_order_relaxed);
	return on;
}

void
lock_check_set(int on)
{
	atomic_store_explicit(&checking, on != 0, memory_order_relaxed);
}

int
lock_held_count(void)
{
	return nheld;
}

/* Write the message and every lock held, then abort. */
static void
lock_die(const char *fmt, ...)
{
	char		 msg[2048];
	va_list		 ap;
	size_t		 len;
	int		 i, n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	len = n < 0 ? 0 : (size_t)n >= sizeof(msg) ? sizeof(msg) - 1 :
	    (size_t)n;
	for (i = nheld - 1; i >= 0 && len < sizeof(msg) - 1; i--) {
		n = snprintf(msg + len, sizeof(msg) - len,
		    "\n  held: %s (level %d, %s) taken at %s:%d",
		    held[i].name, held[i].level,
		    lock_level_name(held[i].level), held[i].file,
		    held[i].line);
		if (n < 0)
			break;
		len += (size_t)n >= sizeof(msg) - len ?
		    sizeof(msg) - len - 1 : (size_t)n;
	}
	if (len < sizeof(msg) - 1)
		msg[len++] = '\n';
	(void)!write(STDERR_FILENO, msg, len);
	abort();
}

static int
held_find(const void *lock)
{
	int	 i;

	for (i = nheld - 1; i >= 0; i--)
		if (held[i].lock == lock)
			return i;
	return -1;
}

/* Abort unless level is above every level this thread holds. */
static void
held_order(const void *lock, int level, const char *name, const char *file,
    int line)
{
	int	 i;

	for (i = nheld - 1; i >= 0; i--) {
		if (held[i].lock == lock)
			lock_die("lock: %s:%d: %s (level %d, %s) taken again:"
			    " already held since %s:%d", file, line, name,
			    level, lock_level_name(level), held[i].file,
			    held[i].line);
		if (held[i].level >= level)
			lock_die("lock order: %s:%d: %s (level %d, %s) taken"
			    " while holding %s (level %d, %s) taken at %s:%d",
			    file, line, name, level, lock_level_name(level),
			    held[i].name, held[i].level,
			    lock_level_name(held[i].level), held[i].file,
			    held[i].line);
	}
	if (nheld == LOCK_HELD_MAX)
		lock_die("lock: %s:%d: %s: more than %d locks held", file,
		    line, name, LOCK_HELD_MAX);
}

static void
held_push(const void *lock, int level, const char *name, const char *file,
    int line)
{
	held[nheld].lock = lock;
	held[nheld].level = level;
	held[nheld].name = name;
	held[nheld].file = file;
	held[nheld].line = line;
	nheld++;
}

static void
held_pop(const void *lock, const char *name, const char *file, int line)
{
	int	 i;

	if ((i = held_find(lock)) < 0)
		lock_die("lock: %s:%d: %s released but not held by this"
		    " thread", file, line, name);
	memmove(&held[i], &held[i + 1], (size_t)(nheld - i - 1) *
	    sizeof(held[0]));
	nheld--;
}

static void
check_rc(int rc, const char *call, const char *name, const char *file,
    int line)
{
	if (rc != 0)
		lock_die("lock: %s:%d: %s(%s): %s", file, line, call, name,
		    strerror(rc));
}

void
lock_mutex_at(pthread_mutex_t *m, int level, const char *name,
    const char *file, int line)
{
	int	 on = lock_check_enabled();

	if (on)
		held_order(m, level, name, file, line);
	check_rc(pthread_mutex_lock(m), "pthread_mutex_lock", name, file,
	    line);
	if (on)
		held_push(m, level, name, file, line);
}

int
lock_mutex_timed_at(pthread_mutex_t *m, int level,
    const struct timespec *abstime, const char *name, const char *file,
    int line)
{
	int	 on = lock_check_enabled(), rc;

	if (on)
		held_order(m, level, name, file, line);
	if ((rc = pthread_mutex_timedlock(m, abstime)) == ETIMEDOUT)
		return rc;
	check_rc(rc, "pthread_mutex_timedlock", name, file, line);
	if (on)
		held_push(m, level, name, file, line);
	return 0;
}

void
unlock_mutex_at(pthread_mutex_t *m, const char *name, const char *file,
    int line)
{
	if (lock_check_enabled())
		held_pop(m, name, file, line);
	check_rc(pthread_mutex_unlock(m), "pthread_mutex_unlock", name, file,
	    line);
}

void
lock_read_at(pthread_rwlock_t *l, int level, const char *name,
    const char *file, int line)
{
	int	 on = lock_check_enabled();

	if (on)
		held_order(l, level, name, file, line);
	check_rc(pthread_rwlock_rdlock(l), "pthread_rwlock_rdlock", name,
	    file, line);
	if (on)
		held_push(l, level, name, file, line);
}

void
lock_write_at(pthread_rwlock_t *l, int level, const char *name,
    const char *file, int line)
{
	int	 on = lock_check_enabled();

	if (on)
		held_order(l, level, name, file, line);
	check_rc(pthread_rwlock_wrlock(l), "pthread_rwlock_wrlock", name,
	    file, line);
	if (on)
		held_push(l, level, name, file, line);
}

void
unlock_rw_at(pthread_rwlock_t *l, const char *name, const char *file,
    int line)
{
	if (lock_check_enabled())
		held_pop(l, name, file, line);
	check_rc(pthread_rwlock_unlock(l), "pthread_rwlock_unlock", name,
	    file, line);
}

void
cond_wait_at(pthread_cond_t *cv, pthread_mutex_t *m, const char *name,
    const char *file, int line)
{
	if (lock_check_enabled() && held_find(m) < 0)
		lock_die("lock: %s:%d: waiting on %s, not held by this thread",
		    file, line, name);
	check_rc(pthread_cond_wait(cv, m), "pthread_cond_wait", name, file,
	    line);
}

int
cond_timedwait_at(pthread_cond_t *cv, pthread_mutex_t *m,
    const struct timespec *abstime, const char *name, const char *file,
    int line)
{
	int	 rc;

	if (lock_check_enabled() && held_find(m) < 0)
		lock_die("lock: %s:%d: waiting on %s, not held by this thread",
		    file, line, name);
	if ((rc = pthread_cond_timedwait(cv, m, abstime)) == ETIMEDOUT)
		return rc;
	check_rc(rc, "pthread_cond_timedwait", name, file, line);
	return 0;
}
