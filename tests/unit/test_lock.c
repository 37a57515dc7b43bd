/*
 * test_lock.c -- checked locks and the lock-order check (util/lock.c).
 *
 * A violation aborts the process, so each bad order runs in a forked
 * child whose stderr goes to a pipe: the parent checks that the child
 * died of SIGABRT and said what it should.
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lock.h"

static pthread_rwlock_t	 core_l = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t	 keys_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t	 tab_a = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t	 tab_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t	 store_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t	 leaf_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t	 inner_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 leaf_cv = PTHREAD_COND_INITIALIZER;

/*
 * Run fn in a child with the check set to on; return its wait status
 * and what it wrote to stderr in out.
 */
static int
in_child(void (*fn)(void), int on, char *out, size_t outlen)
{
	pid_t	 pid;
	ssize_t	 n;
	size_t	 len = 0;
	int	 p[2], status;

	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		if (dup2(p[1], STDERR_FILENO) < 0)
			_exit(2);
		lock_check_set(on);
		fn();
		_exit(0);
	}
	assert_true(pid > 0);
	close(p[1]);
	while (len < outlen - 1 &&
	    (n = read(p[0], out + len, outlen - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void
assert_aborted(int status)
{
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void
test_in_order(void **state)
{
	struct timespec	 ts;

	(void)state;
	lock_check_set(1);
	lock_read(&core_l, LOCK_CORE);
	lock_mutex(&keys_m, LOCK_KEYS);
	lock_write(&tab_a, LOCK_TABLE);
	lock_mutex(&store_m, LOCK_STORAGE);
	lock_mutex(&leaf_m, LOCK_LEAF);
	lock_mutex(&inner_m, LOCK_LEAF_INNER);
	assert_int_equal(lock_held_count(), 6);
	/* A wait keeps its mutex held in the bookkeeping. */
	unlock_mutex(&inner_m);
	clock_gettime(CLOCK_REALTIME, &ts);
	assert_int_equal(cond_timedwait(&leaf_cv, &leaf_m, &ts), ETIMEDOUT);
	assert_int_equal(lock_held_count(), 5);
	/* Release order is free; then the levels are free again. */
	unlock_rw(&core_l);
	unlock_mutex(&leaf_m);
	unlock_mutex(&store_m);
	unlock_rw(&tab_a);
	unlock_mutex(&keys_m);
	assert_int_equal(lock_held_count(), 0);
	lock_mutex(&tab_b, LOCK_TABLE);
	lock_mutex(&store_m, LOCK_STORAGE);
	unlock_mutex(&store_m);
	unlock_mutex(&tab_b);
	assert_int_equal(lock_held_count(), 0);
	lock_check_set(0);
}

/* The message names both lines: TC_LINE + 4 and + 5. */
enum { TC_LINE = __LINE__ };
static void
table_then_core(void)
{
	lock_read(&tab_a, LOCK_TABLE);
	lock_write(&core_l, LOCK_CORE);
}

static void
test_out_of_order(void **state)
{
	char	 out[4096], want[256];
	int	 status;

	(void)state;
	status = in_child(table_then_core, 1, out, sizeof(out));
	assert_aborted(status);
	snprintf(want, sizeof(want), "lock order: %s:%d: &core_l (level 10,"
	    " core) taken while holding &tab_a (level 20, table) taken at"
	    " %s:%d", __FILE__, TC_LINE + 5, __FILE__, TC_LINE + 4);
	assert_non_null(strstr(out, want));
	/* Then every lock held, with where it was taken. */
	snprintf(want, sizeof(want), "held: &tab_a (level 20, table) taken"
	    " at %s:%d", __FILE__, TC_LINE + 4);
	assert_non_null(strstr(out, want));
}

static void
two_tables(void)
{
	lock_write(&tab_a, LOCK_TABLE);
	lock_mutex(&tab_b, LOCK_TABLE);
}

static void
leaf_then_storage(void)
{
	lock_mutex(&leaf_m, LOCK_LEAF);
	lock_mutex(&store_m, LOCK_STORAGE);
}

static void
read_twice(void)
{
	lock_read(&core_l, LOCK_CORE);
	lock_read(&core_l, LOCK_CORE);
}

static void
unlock_unheld(void)
{
	unlock_mutex(&leaf_m);
}

static void
test_other_violations(void **state)
{
	char	 out[4096];

	(void)state;
	/* At most one table lock. */
	assert_aborted(in_child(two_tables, 1, out, sizeof(out)));
	assert_non_null(strstr(out, "&tab_b (level 20, table) taken while"
	    " holding &tab_a (level 20, table)"));
	/* Nothing below a leaf. */
	assert_aborted(in_child(leaf_then_storage, 1, out, sizeof(out)));
	assert_non_null(strstr(out, "&store_m (level 30, storage) taken"
	    " while holding &leaf_m (level 40, leaf)"));
	/* A read lock twice deadlocks once a writer queues. */
	assert_aborted(in_child(read_twice, 1, out, sizeof(out)));
	assert_non_null(strstr(out, "&core_l (level 10, core) taken again"));
	/* A release the thread does not own. */
	assert_aborted(in_child(unlock_unheld, 1, out, sizeof(out)));
	assert_non_null(strstr(out, "&leaf_m released but not held"));
}

static void
test_check_off(void **state)
{
	char	 out[4096];
	int	 status;

	(void)state;
	status = in_child(table_then_core, 0, out, sizeof(out));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(out, "");
	status = in_child(two_tables, 0, out, sizeof(out));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* An error-checking mutex reports EPERM for an unlock it did not lock. */
static void
failed_unlock(void)
{
	pthread_mutexattr_t	 a;
	pthread_mutex_t		 m;

	if (pthread_mutexattr_init(&a) != 0 ||
	    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK) != 0 ||
	    pthread_mutex_init(&m, &a) != 0)
		_exit(3);
	unlock_mutex(&m);
}

static void
test_failed_call(void **state)
{
	char	 out[4096];

	(void)state;
	/* With the check off the pthread result alone catches it. */
	assert_aborted(in_child(failed_unlock, 0, out, sizeof(out)));
	assert_non_null(strstr(out, "pthread_mutex_unlock(&m): "));
	assert_non_null(strstr(out, strerror(EPERM)));
}

static atomic_int	 store_taken;

static void *
hold_store(void *arg)
{
	struct timespec	 ts;

	(void)arg;
	lock_mutex(&store_m, LOCK_STORAGE);
	atomic_store(&store_taken, 1);
	ts.tv_sec = 0;
	ts.tv_nsec = 200 * 1000 * 1000;
	nanosleep(&ts, NULL);
	unlock_mutex(&store_m);
	return NULL;
}

static void
test_timed(void **state)
{
	pthread_t	 t;
	struct timespec	 ts;

	(void)state;
	lock_check_set(1);
	assert_int_equal(pthread_create(&t, NULL, hold_store, NULL), 0);
	while (!atomic_load(&store_taken))
		sched_yield();
	/* A timed-out lock is not held. */
	clock_gettime(CLOCK_REALTIME, &ts);
	assert_int_equal(lock_mutex_timed(&store_m, LOCK_STORAGE, &ts),
	    ETIMEDOUT);
	assert_int_equal(lock_held_count(), 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	assert_int_equal(lock_mutex_timed(&store_m, LOCK_STORAGE, &ts), 0);
	assert_int_equal(lock_held_count(), 1);
	unlock_mutex(&store_m);
	assert_int_equal(pthread_join(t, NULL), 0);
	lock_check_set(0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_other_violations),
		cmocka_unit_test(test_check_off),
		cmocka_unit_test(test_failed_call),
		cmocka_unit_test(test_timed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
