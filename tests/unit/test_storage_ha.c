/*
 * test_storage_ha.c -- the HA lock, on the backends that have one
 * (lmdb and postgresql, unwrapped): one holder among racing processes,
 * a killed holder's lock freed, bounded and cancelled waits, a lost
 * lock noticed; and CF_ENOTSUP from the backends without one.
 */
#include "config.h"

#include <sys/mman.h>

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "storage.h"
#include "storage_harness.h"

/*
 * Stores without HA: every lock method is CF_ENOTSUP, ha_enabled refused.
 * postgresql has HA (test_pg_ha_*), and without ha_enabled answers as
 * lmdb does (test_pg_no_ha).
 */
void
test_lock_unsupported(void **state)
{
	struct fixture	*fx = *state;
	struct storage	*st2 = NULL;

	if (is_backend(fx, "lmdb") || is_backend(fx, "postgresql"))
		skip();
	expect_no_ha(fx->st);
	assert_int_equal(open_store_ha(fx->backend, fx->dir, &st2),
	    CF_EINVAL);
	assert_null(st2);
}

#define HA_RACERS	4
#define HA_ROUNDS	15

/*
 * Several HA processes compete for the lock; a shared counter of
 * holders must never pass one.
 */
void
test_ha_mutual_exclusion(void **state)
{
	struct fixture	*fx = *state;
	struct storage	*st;
	atomic_int	*inside;
	char		 rec[64];
	pid_t		 pid[HA_RACERS];
	int		 i, r, got;

	/* The HA lock across processes: plain lmdb and postgresql. */
	if (!has_ha(fx))
		skip();
	reopen_ha(fx);
	/* The racers fork from a process with no storage threads running. */
	storage_close(fx->st);
	fx->st = NULL;
	inside = mmap(NULL, sizeof(*inside) * 2, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(inside != MAP_FAILED);
	atomic_init(&inside[0], 0);
	atomic_init(&inside[1], 0);	/* turns taken, all processes */
	for (i = 0; i < HA_RACERS; i++) {
		pid[i] = test_fork();
		assert_true(pid[i] >= 0);
		if (pid[i] != 0)
			continue;
		if (open_store_ha(inner_name(fx), fx->dir, &st) != CF_OK)
			_exit(1);
		snprintf(rec, sizeof(rec), "{\"id\":\"racer-%d\"}", i);
		for (r = 0; r < HA_ROUNDS; r++) {
			if (storage_lock_wait(st, rec, 10000, &got) != CF_OK ||
			    !got)
				_exit(2);
			if (storage_lock_check(st) != CF_OK)
				_exit(3);
			if (atomic_fetch_add(&inside[0], 1) != 0)
				_exit(4);	/* two holders at once */
			atomic_fetch_add(&inside[1], 1);
			usleep(1000);
			atomic_fetch_sub(&inside[0], 1);
			if (storage_lock_release(st) != CF_OK ||
			    storage_lock_check(st) != CF_ESTANDBY)
				_exit(5);
		}
		storage_close(st);
		_exit(0);
	}
	for (i = 0; i < HA_RACERS; i++)
		expect_child_ok(pid[i]);
	assert_int_equal(atomic_load(&inside[1]), HA_RACERS * HA_ROUNDS);
	munmap(inside, sizeof(*inside) * 2);
}

/*
 * The holder's record is visible to other nodes while it lives and
 * gone the moment it is killed; the lock is free again within 100 ms.
 */
void
test_ha_holder_sigkill(void **state)
{
	static const char rec[] = "{\"id\":\"node-a\",\"api_addr\":"
	    "\"http://127.0.0.1:8200\",\"cluster_addr\":"
	    "\"https://127.0.0.1:8201\",\"since\":\"2024-01-01T00:00:00Z\"}";
	struct fixture	*fx = *state;
	struct buf	 b = BUF_INIT;
	long long	 t0;
	char		 c;
	pid_t		 pid;
	int		 fds[2], got = 1, rc;

	/* The HA lock across processes: plain lmdb and postgresql. */
	if (!has_ha(fx))
		skip();
	reopen_ha(fx);
	assert_int_equal(storage_lock_holder(fx->st, &b), CF_ENOTFOUND);
	pid = spawn_holder(fx, rec, fds);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	assert_int_equal(storage_lock_holder(fx->st, &b), CF_OK);
	assert_int_equal(b.len, strlen(rec));
	assert_memory_equal(b.data, rec, b.len);
	assert_int_equal(storage_lock_try(fx->st, "{\"id\":\"node-b\"}", &got),
	    CF_OK);
	assert_int_equal(got, 0);
	assert_int_equal(storage_lock_check(fx->st), CF_ESTANDBY);

	t0 = now_ms();
	assert_int_equal(kill(pid, SIGKILL), 0);
	/*
	 * The lock moves when its holder's process dies, not after a
	 * timeout (2 s for postgresql's session): well under a second,
	 * with room for a loaded machine.
	 */
	assert_int_equal(storage_lock_wait(fx->st, "{\"id\":\"node-b\"}",
	    5000, &got), CF_OK);
	assert_int_equal(got, 1);
	assert_true(now_ms() - t0 < 1000);
	assert_int_equal(wait_child(pid, NULL), pid);
	assert_int_equal(storage_lock_check(fx->st), CF_OK);
	assert_int_equal(storage_lock_holder(fx->st, &b), CF_OK);
	assert_string_equal(b.data, "{\"id\":\"node-b\"}");

	/* Killed while nobody took over: no record shown at all. */
	assert_int_equal(storage_lock_release(fx->st), CF_OK);
	assert_int_equal(storage_lock_holder(fx->st, &b), CF_ENOTFOUND);
	pid = spawn_holder(fx, rec, fds);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	assert_int_equal(storage_lock_holder(fx->st, &b), CF_OK);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(wait_child(pid, NULL), pid);
	/*
	 * A file lock goes with the process; postgresql's advisory lock
	 * goes when the server's backend has seen the connection close,
	 * a few milliseconds later: wait for it, within the session
	 * timeout.
	 */
	t0 = now_ms();
	while ((rc = storage_lock_holder(fx->st, &b)) == CF_OK &&
	    now_ms() - t0 < 2000)
		usleep(5000);
	assert_int_equal(rc, CF_ENOTFOUND);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

struct canceller {
	struct storage	*st;
	int		 delay_ms;
};

static void *
cancel_run(void *arg)
{
	struct canceller	*c = arg;

	usleep((useconds_t)c->delay_ms * 1000);
	if (storage_lock_release(c->st) != CF_OK)
		abort();
	return NULL;
}

/*
 * lock_wait gives up when its time runs out, with got 0, and at once
 * when lock_release cancels it (shutdown); a free lock comes at once.
 */
void
test_ha_wait_timeout(void **state)
{
	struct fixture	*fx = *state;
	struct canceller c;
	pthread_t	 th;
	long long	 t0, dt;
	char		 ch;
	pid_t		 pid;
	int		 fds[2], got = 1;

	/* The HA lock across processes: plain lmdb and postgresql. */
	if (!has_ha(fx))
		skip();
	reopen_ha(fx);
	pid = spawn_holder(fx, "{\"id\":\"a\"}", fds);
	assert_int_equal(read(fds[0], &ch, 1), 1);
	close(fds[0]);

	t0 = now_ms();
	assert_int_equal(storage_lock_wait(fx->st, "{\"id\":\"b\"}", 200,
	    &got), CF_OK);
	dt = now_ms() - t0;
	assert_int_equal(got, 0);
	assert_true(dt >= 200);
	assert_true(dt < 1000);
	got = 1;
	assert_int_equal(storage_lock_wait(fx->st, "{\"id\":\"b\"}", 0, &got),
	    CF_OK);
	assert_int_equal(got, 0);

	c.st = fx->st;
	c.delay_ms = 50;
	assert_int_equal(pthread_create(&th, NULL, cancel_run, &c), 0);
	t0 = now_ms();
	assert_int_equal(storage_lock_wait(fx->st, "{\"id\":\"b\"}", 10000,
	    &got), CF_OK);
	dt = now_ms() - t0;
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(got, 0);
	assert_true(dt < 2000);
	assert_int_equal(storage_lock_check(fx->st), CF_ESTANDBY);

	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(wait_child(pid, NULL), pid);
	t0 = now_ms();
	assert_int_equal(storage_lock_wait(fx->st, "{\"id\":\"b\"}", 10000,
	    &got), CF_OK);
	assert_int_equal(got, 1);
	assert_true(now_ms() - t0 < 1000);	/* not a timeout: see above */
	/* Taking a lock already held is a no-op that says so. */
	assert_int_equal(storage_lock_try(fx->st, "{\"id\":\"b\"}", &got),
	    CF_OK);
	assert_int_equal(got, 1);
}

/* A lock file removed under the holder counts as a lost lock. */
void
test_ha_lock_lost(void **state)
{
	struct fixture	*fx = *state;
	char		 path[128];
	int		 got = 0;

	/* lmdb's own locks, across handles: the plain lmdb run. */
	if (!is_backend(fx, "lmdb") || is_wrapped(fx))
		skip();
	reopen_ha(fx);
	assert_int_equal(storage_lock_try(fx->st, "{\"id\":\"a\"}", &got),
	    CF_OK);
	assert_int_equal(got, 1);
	assert_int_equal(storage_lock_check(fx->st), CF_OK);
	snprintf(path, sizeof(path), "%s/cofferd.lock", fx->dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(storage_lock_check(fx->st), CF_ESTANDBY);
	assert_int_equal(storage_lock_try(fx->st, "{\"id\":\"a\"}", &got),
	    CF_EIO);
	assert_int_equal(got, 0);
}
