/*
 * test_storage_fault.c -- the faultstore armed (test_storage.c runs
 * every backend wrapped in it unarmed): the Nth call of the armed
 * kinds fails with CF_EIO and has no effect, the calls around it and
 * of other kinds pass; sticky faults, the spec syntax, the arm file of
 * cofferd-fault, and one failure among threads.  Runs on wrapped
 * backends only.
 */
#include "config.h"

#include <fcntl.h>
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

#include "buf.h"
#include "err.h"
#include "faultstore.h"
#include "storage.h"
#include "storage_harness.h"

/*
 * The faultstore, armed: the Nth call of the kinds armed for fails with
 * CF_EIO and changes nothing; the calls before and after it, and calls
 * of other kinds, pass through.  Each kind in turn.
 */
void
test_fault_each_kind(void **state)
{
	struct fixture		*fx = *state;
	struct buf		 b = BUF_INIT;
	struct strv		 sv = STRV_INIT;
	struct storage_op	 ops[2] = {
		{ STORAGE_OP_PUT, "f/new", "n", 1 },
		{ STORAGE_OP_DEL, "f/a", NULL, 0 },
	};

	if (!is_wrapped(fx))
		skip();
	assert_int_equal(storage_put(fx->st, "f/a", "old", 3), CF_OK);
	assert_int_equal(storage_put(fx->st, "f/d", "x", 1), CF_OK);
	/* Unarmed, nothing is counted. */
	assert_int_equal(faultstore_counted(fx->st), 0);

	assert_int_equal(faultstore_arm(fx->st, "get:2"), CF_OK);
	check_value(fx->st, "f/a", "old", 3);
	assert_int_equal(storage_put(fx->st, "f/p", "p", 1), CF_OK);
	assert_int_equal(buf_set(&b, "stale", 5), CF_OK);
	assert_int_equal(storage_get(fx->st, "f/a", &b), CF_EIO);
	assert_int_equal(b.len, 0);
	check_value(fx->st, "f/a", "old", 3);
	assert_int_equal(faultstore_counted(fx->st), 3);
	assert_int_equal(faultstore_failed(fx->st), 1);

	assert_int_equal(faultstore_arm(fx->st, "put:2"), CF_OK);
	assert_int_equal(storage_put(fx->st, "f/p", "q", 1), CF_OK);
	check_value(fx->st, "f/p", "q", 1);
	assert_int_equal(storage_put(fx->st, "f/a", "new", 3), CF_EIO);
	assert_int_equal(storage_put(fx->st, "f/p", "r", 1), CF_OK);
	check_value(fx->st, "f/a", "old", 3);
	check_value(fx->st, "f/p", "r", 1);
	assert_int_equal(faultstore_counted(fx->st), 3);
	assert_int_equal(faultstore_failed(fx->st), 1);

	assert_int_equal(faultstore_arm(fx->st, "del:2"), CF_OK);
	assert_int_equal(storage_del(fx->st, "f/p"), CF_OK);
	assert_int_equal(storage_del(fx->st, "f/d"), CF_EIO);
	check_value(fx->st, "f/d", "x", 1);
	assert_int_equal(storage_del(fx->st, "f/d"), CF_OK);
	check_missing(fx->st, "f/d");

	assert_int_equal(faultstore_arm(fx->st, "list:2"), CF_OK);
	expect_list(fx->st, "f/", (const char *const[]){ "a" }, 1);
	assert_int_equal(storage_list(fx->st, "f/", &sv), CF_EIO);
	assert_int_equal(sv.n, 0);
	expect_list(fx->st, "f/", (const char *const[]){ "a" }, 1);

	/* A failed batch applies none of its operations. */
	assert_int_equal(faultstore_arm(fx->st, "batch:2"), CF_OK);
	assert_int_equal(storage_batch(fx->st, ops, 1), CF_OK);
	assert_int_equal(storage_del(fx->st, "f/new"), CF_OK);
	assert_int_equal(storage_batch(fx->st, ops, 2), CF_EIO);
	check_missing(fx->st, "f/new");
	check_value(fx->st, "f/a", "old", 3);
	assert_int_equal(faultstore_failed(fx->st), 1);

	/* What failed never reached the disk either. */
	if (is_durable(fx)) {
		reopen(fx);
		check_value(fx->st, "f/a", "old", 3);
		check_missing(fx->st, "f/d");
		check_missing(fx->st, "f/new");
	}
	buf_free(&b);
	strv_free(&sv);
}

/* "+": the Nth call and every later one of those kinds fail. */
void
test_fault_sticky(void **state)
{
	struct fixture		*fx = *state;
	struct storage_op	 op = { STORAGE_OP_PUT, "s/c", "c", 1 };

	if (!is_wrapped(fx))
		skip();
	assert_int_equal(faultstore_arm(fx->st, "writes:2+"), CF_OK);
	assert_int_equal(storage_put(fx->st, "s/a", "a", 1), CF_OK);
	check_value(fx->st, "s/a", "a", 1);
	assert_int_equal(storage_put(fx->st, "s/b", "b", 1), CF_EIO);
	assert_int_equal(storage_del(fx->st, "s/a"), CF_EIO);
	assert_int_equal(storage_batch(fx->st, &op, 1), CF_EIO);
	/* Reads are not armed: they still see the store. */
	check_value(fx->st, "s/a", "a", 1);
	expect_list(fx->st, "s/", (const char *const[]){ "a" }, 1);
	assert_int_equal(faultstore_counted(fx->st), 4);
	assert_int_equal(faultstore_failed(fx->st), 3);
	faultstore_disarm(fx->st);
	assert_int_equal(storage_put(fx->st, "s/b", "b", 1), CF_OK);
	check_value(fx->st, "s/b", "b", 1);
	/* A bad spec is refused and leaves the store as it was. */
	assert_int_equal(faultstore_arm(fx->st, "put:0"), CF_EINVAL);
	assert_int_equal(storage_put(fx->st, "s/c", "c", 1), CF_OK);
}

void
test_fault_parse(void **state)
{
	struct fixture		*fx = *state;
	static const char *const bad[] = { "", "put", "put:", ":1", "put:0",
	    "put:-1", "put:1x", "put:+", "put:1++", "nosuch:1", "put,,del:1",
	    "put,:1", "PUT:1", "put:1000000001" };
	char			 longspec[200];
	unsigned long		 n;
	unsigned int		 mask;
	size_t			 i;
	int			 sticky;

	if (!is_wrapped(fx))
		skip();
	assert_int_equal(faultstore_parse("all:1", &mask, &n, &sticky),
	    CF_OK);
	assert_int_equal(mask, FAULTSTORE_ALL);
	assert_int_equal(n, 1);
	assert_int_equal(sticky, 0);
	assert_int_equal(faultstore_parse("get,batch:17+\n", &mask, &n,
	    &sticky), CF_OK);
	assert_int_equal(mask, FAULTSTORE_GET | FAULTSTORE_BATCH);
	assert_int_equal(n, 17);
	assert_int_equal(sticky, 1);
	assert_int_equal(faultstore_parse("reads,del:3", &mask, &n, &sticky),
	    CF_OK);
	assert_int_equal(mask, FAULTSTORE_GET | FAULTSTORE_LIST |
	    FAULTSTORE_DEL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mask = 99;
		if (faultstore_parse(bad[i], &mask, &n, &sticky) != CF_EINVAL)
			fail_msg("spec \"%s\" accepted", bad[i]);
		assert_int_equal(mask, 99);
	}
	/* Valid but longer than a spec may be: refused, not cut short. */
	for (i = 0; i + 4 < sizeof(longspec); i += 4)
		memcpy(longspec + i, "put,", 4);
	strlcpy(longspec + i - 4, "put:1", sizeof(longspec) - (i - 4));
	assert_true(strlen(longspec) > 128);
	assert_int_equal(faultstore_parse(longspec, &mask, &n, &sticky),
	    CF_EINVAL);
}

/* Create the arm file at once, as a test of cofferd-fault does. */
static void
write_arm(const char *arm, const char *spec)
{
	char	 tmp[128];
	int	 fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", arm);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, spec, strlen(spec)), (ssize_t)strlen(spec));
	close(fd);
	assert_int_equal(rename(tmp, arm), 0);
}

/*
 * Armed from outside, as bin/cofferd-fault is: the first call after the
 * arm file appears reads and removes it, and the count starts there.
 */
void
test_fault_armfile(void **state)
{
	struct fixture	*fx = *state;
	struct storage	*inner = NULL;
	char		 arm[96];
	int		 i;

	if (!is_wrapped(fx))
		skip();
	snprintf(arm, sizeof(arm), "%s.arm", fx->dir);
	storage_close(fx->st);
	fx->st = NULL;
	assert_int_equal(open_store(inner_name(fx), fx->dir, &inner), CF_OK);
	assert_int_equal(faultstore_wrap(inner, arm, &fx->st), CF_OK);
	for (i = 0; i < 5; i++)
		assert_int_equal(storage_put(fx->st, "a/k", "v", 1), CF_OK);
	assert_int_equal(faultstore_counted(fx->st), 0);
	/* A bad spec is dropped, and the store stays unarmed. */
	write_arm(arm, "put:zero\n");
	assert_int_equal(storage_put(fx->st, "a/k", "v", 1), CF_OK);
	assert_int_equal(access(arm, F_OK), -1);
	assert_int_equal(storage_put(fx->st, "a/k", "v", 1), CF_OK);
	write_arm(arm, "put:2\n");
	check_value(fx->st, "a/k", "v", 1);	/* arms; not counted */
	assert_int_equal(access(arm, F_OK), -1);
	assert_int_equal(storage_put(fx->st, "a/k", "w", 1), CF_OK);
	assert_int_equal(storage_put(fx->st, "a/k", "x", 1), CF_EIO);
	check_value(fx->st, "a/k", "w", 1);
	assert_int_equal(storage_put(fx->st, "a/k", "y", 1), CF_OK);
	assert_int_equal(faultstore_counted(fx->st), 3);
	assert_int_equal(faultstore_failed(fx->st), 1);
}

struct fault_worker {
	struct storage	*st;
	int		 id;
	int		 eio, other;
};

static void *
fault_worker_run(void *arg)
{
	struct fault_worker	*w = arg;
	char			 key[32];
	int			 i, rc;

	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "t%d/%d", w->id, i);
		rc = storage_put(w->st, key, key, strlen(key));
		if (rc == CF_EIO)
			w->eio++;
		else if (rc != CF_OK)
			w->other++;
	}
	return NULL;
}

/* Four threads put at once: exactly one call, the 150th, fails. */
void
test_fault_threads(void **state)
{
	struct fixture		*fx = *state;
	struct fault_worker	 w[4];
	pthread_t		 th[4];
	struct strv		 sv = STRV_INIT;
	char			 prefix[8];
	size_t			 present = 0;
	int			 i, eio = 0;

	if (!is_wrapped(fx))
		skip();
	assert_int_equal(faultstore_arm(fx->st, "put:150"), CF_OK);
	for (i = 0; i < 4; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].st = fx->st;
		w[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL,
		    fault_worker_run, &w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].other, 0);
		eio += w[i].eio;
		snprintf(prefix, sizeof(prefix), "t%d/", i);
		assert_int_equal(storage_list(fx->st, prefix, &sv), CF_OK);
		present += sv.n;
		strv_free(&sv);
	}
	assert_int_equal(eio, 1);
	assert_int_equal(present, 399);
	assert_int_equal(faultstore_counted(fx->st), 400);
}
