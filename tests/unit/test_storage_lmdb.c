/*
 * test_storage_lmdb.c -- what only LMDB has: two processes on one
 * directory (as HA nodes), a map that grows under a second process,
 * and one non-HA process per directory.  The plain lmdb run only.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "buf.h"
#include "err.h"
#include "lmdbstore.h"
#include "storage.h"
#include "storage_harness.h"

/* Two processes write one LMDB directory at the same time. */
void
test_two_processes(void **state)
{
	struct fixture	*fx = *state;
	struct storage	*st2;
	struct buf	 b = BUF_INIT;
	struct strv	 sv = STRV_INIT;
	char		 key[64];
	pid_t		 pid;
	int		 status, i, seen = 0;

	/* lmdb's own locks, across handles: the plain lmdb run. */
	if (!is_backend(fx, "lmdb") || is_wrapped(fx))
		skip();
	/* Processes share a directory only as HA nodes. */
	reopen_ha(fx);
	assert_int_equal(storage_put(fx->st, "shared/parent", "p", 1), CF_OK);
	pid = test_fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* An environment of its own: never one across fork. */
		if (open_store_ha("lmdb", fx->dir, &st2) != CF_OK)
			_exit(1);
		if (storage_get(st2, "shared/parent", &b) != CF_OK)
			_exit(2);
		for (i = 0; i < 200; i++) {
			snprintf(key, sizeof(key), "shared/c/%03d", i);
			if (storage_put(st2, key, key, strlen(key)) != CF_OK)
				_exit(3);
		}
		storage_close(st2);
		_exit(0);
	}
	/* Meanwhile the parent reads and writes through its own handle. */
	for (i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "shared/p/%03d", i);
		assert_int_equal(storage_put(fx->st, key, key, strlen(key)),
		    CF_OK);
		assert_int_equal(storage_list(fx->st, "shared/c/", &sv),
		    CF_OK);
		assert_true(sv.n >= (size_t)seen);
		seen = (int)sv.n;
		strv_free(&sv);
	}
	assert_int_equal(wait_child(pid, &status), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	for (i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "shared/c/%03d", i);
		check_value(fx->st, key, key, strlen(key));
	}
	expect_list(fx->st, "shared/", (const char *const[]){ "c/", "p/",
	    "parent" }, 3);
	buf_free(&b);
}

/*
 * The map starts at 64 MiB.  A child fills more than that (its map
 * grows), the parent then reads through a map that is too small (it
 * must adopt the child's size) and writes past the child's size (its
 * map grows again).
 */
void
test_map_growth(void **state)
{
	struct fixture	*fx = *state;
	struct storage	*st2;
	unsigned char	*v, *w;
	char		 key[32];
	pid_t		 pid;
	int		 status, i;

	/* lmdb's own locks, across handles: the plain lmdb run. */
	if (!is_backend(fx, "lmdb") || is_wrapped(fx))
		skip();
	reopen_ha(fx);
	v = malloc(8 * MIB);
	w = malloc(8 * MIB);
	assert_non_null(v);
	assert_non_null(w);
	pid = test_fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (open_store_ha("lmdb", fx->dir, &st2) != CF_OK)
			_exit(1);
		for (i = 0; i < 9; i++) {
			snprintf(key, sizeof(key), "big/c%d", i);
			fill(v, 8 * MIB, (unsigned int)i);
			if (storage_put(st2, key, v, 8 * MIB) != CF_OK)
				_exit(2);
		}
		storage_close(st2);
		_exit(0);
	}
	assert_int_equal(wait_child(pid, &status), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	fill(v, 8 * MIB, 8);
	check_value(fx->st, "big/c8", v, 8 * MIB);
	for (i = 0; i < 9; i++) {
		snprintf(key, sizeof(key), "big/p%d", i);
		fill(v, 8 * MIB, 100u + (unsigned int)i);
		assert_int_equal(storage_put(fx->st, key, v, 8 * MIB), CF_OK);
	}
	reopen(fx);
	for (i = 0; i < 9; i++) {
		snprintf(key, sizeof(key), "big/c%d", i);
		fill(w, 8 * MIB, (unsigned int)i);
		check_value(fx->st, key, w, 8 * MIB);
		snprintf(key, sizeof(key), "big/p%d", i);
		fill(w, 8 * MIB, 100u + (unsigned int)i);
		check_value(fx->st, key, w, 8 * MIB);
	}
	free(v);
	free(w);
}

/*
 * One process per LMDB directory: a second non-HA open is refused
 * whether the first is an HA node or not, and an HA node is refused
 * beside a non-HA process; the refused process changes nothing.
 */
void
test_lmdb_one_process(void **state)
{
	struct fixture	*fx = *state;
	struct storage	*st2;
	struct stat	 before, after;
	char		 path[128];
	pid_t		 pid;
	int		 i;

	/* lmdb's own locks, across handles: the plain lmdb run. */
	if (!is_backend(fx, "lmdb") || is_wrapped(fx))
		skip();
	assert_int_equal(storage_put(fx->st, "k", "v", 1), CF_OK);
	snprintf(path, sizeof(path), "%s/data.mdb", fx->dir);
	assert_int_equal(stat(path, &before), 0);
	for (i = 0; i < 4; i++) {
		if (i == 2)
			reopen_ha(fx);
		pid = test_fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			st2 = NULL;
			/* i: 0 and 2 plain, 1 and 3 HA. */
			if (i == 3) {
				if (open_store_ha("lmdb", fx->dir, &st2) !=
				    CF_OK)
					_exit(1);
				storage_close(st2);
				_exit(0);
			}
			if ((i == 1 ? open_store_ha("lmdb", fx->dir, &st2) :
			    open_store("lmdb", fx->dir, &st2)) != CF_EIO ||
			    st2 != NULL)
				_exit(1);
			_exit(0);
		}
		expect_child_ok(pid);
	}
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(before.st_size, after.st_size);
	assert_int_equal(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
	assert_int_equal(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
	check_value(fx->st, "k", "v", 1);
	/* The lock is LMDB's neighbour, never LMDB's own lock.mdb. */
	snprintf(path, sizeof(path), "%s/cofferd.lock", fx->dir);
	assert_int_equal(stat(path, &after), 0);
	/* Without HA there is no HA lock to take. */
	reopen(fx);
	{
		struct buf	 b = BUF_INIT;
		int		 got = 1;

		assert_int_equal(storage_lock_try(fx->st, "x", &got),
		    CF_ENOTSUP);
		assert_int_equal(got, 0);
		assert_int_equal(storage_lock_holder(fx->st, &b), CF_ENOTSUP);
		assert_int_equal(storage_lock_check(fx->st), CF_ENOTSUP);
	}
}

/* mdb_reader_list's callback: count this process's slots, and in *arg's
 * second int those that hold a snapshot (txnid not "-"). */
static int
count_slots(const char *line, void *arg)
{
	int		*n = arg;
	long		 pid;
	char		 tid[32], txnid[32];

	if (sscanf(line, "%ld %31s %31s", &pid, tid, txnid) != 3 ||
	    pid != (long)getpid())
		return 0;
	n[0]++;
	if (strcmp(txnid, "-") != 0)
		n[1]++;
	return 0;
}

/* This process's reader slots, and how many of them hold a snapshot. */
static void
reader_slots(struct storage *st, int *slots, int *held)
{
	int	 n[2] = { 0, 0 };

	assert_true(mdb_reader_list(lmdbstore_from(st)->env, count_slots,
	    n) >= 0);
	*slots = n[0];
	*held = n[1];
}

static void *
read_once(void *arg)
{
	struct buf	 b = BUF_INIT;
	int		 rc;

	rc = storage_get(arg, "k", &b);
	buf_free(&b);
	return rc == CF_OK ? arg : NULL;
}

/*
 * A thread's reads share one reader slot, kept between them without a
 * snapshot (a reset transaction: it blocks no writer and pins no page),
 * and each read sees the newest commit.  A thread's exit and the
 * store's close free their slots.
 */
void
test_lmdb_kept_reader(void **state)
{
	struct fixture	*fx = *state;
	pthread_t	 th;
	void		*ret;
	int		 i, slots, held;

	if (!is_backend(fx, "lmdb") || is_wrapped(fx))
		skip();
	assert_int_equal(storage_put(fx->st, "k", "v1", 2), CF_OK);
	reader_slots(fx->st, &slots, &held);
	assert_int_equal(slots, 0);
	for (i = 0; i < 100; i++)
		check_value(fx->st, "k", "v1", 2);
	reader_slots(fx->st, &slots, &held);
	assert_int_equal(slots, 1);
	assert_int_equal(held, 0);
	/* A write, then the same thread's read: never the old value. */
	assert_int_equal(storage_put(fx->st, "k", "v2", 2), CF_OK);
	check_value(fx->st, "k", "v2", 2);
	assert_int_equal(storage_del(fx->st, "k"), CF_OK);
	check_missing(fx->st, "k");
	assert_int_equal(storage_put(fx->st, "k", "v3", 2), CF_OK);
	/* Another thread's slot goes with the thread. */
	assert_int_equal(pthread_create(&th, NULL, read_once, fx->st), 0);
	assert_int_equal(pthread_join(th, &ret), 0);
	assert_ptr_equal(ret, fx->st);
	reader_slots(fx->st, &slots, &held);
	assert_int_equal(slots, 1);
	/* Close frees the slot; the reopened store reads at once. */
	reopen(fx);
	reader_slots(fx->st, &slots, &held);
	assert_int_equal(slots, 0);
	check_value(fx->st, "k", "v3", 2);
	reader_slots(fx->st, &slots, &held);
	assert_int_equal(slots, 1);
	assert_int_equal(held, 0);
}
