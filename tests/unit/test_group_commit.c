/*
 * test_group_commit.c -- the queue that joins concurrent writers'
 * batches into shared transactions (backends/group_commit.c).
 *
 * The commit function here is a fake: it records each group it is
 * given and can be held, so a test can queue writers behind a group in
 * flight and see exactly how the next groups are formed.
 */
#include "config.h"

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

#include "err.h"
#include "group_commit.h"

#define MAX_GROUPS	64
#define WRITERS		8

/* What the fake commit saw; guarded by mu. */
static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 cv = PTHREAD_COND_INITIALIZER;
static int		 hold;		/* commits wait while set */
static int		 in_commit;	/* commits running now */
static int		 max_in_commit;
static int		 ngroups;
static size_t		 group_reqs[MAX_GROUPS];
static size_t		 group_ops[MAX_GROUPS];
static int		 committed[WRITERS + 1];	/* by writer's key */

static void
reset(void)
{
	pthread_mutex_lock(&mu);
	hold = in_commit = max_in_commit = ngroups = 0;
	memset(group_reqs, 0, sizeof(group_reqs));
	memset(group_ops, 0, sizeof(group_ops));
	memset(committed, 0, sizeof(committed));
	pthread_mutex_unlock(&mu);
}

/*
 * A group fails (CF_EIO) if it holds the op keyed "bad", and is fenced
 * (CF_ESTANDBY) if it holds "fenced".  A writer's op key is its number,
 * so the test can tell who was committed.
 */
static int
fake_commit(void *arg, const struct group_req *first,
    const struct group_req *stop)
{
	const struct group_req	*r;
	size_t			 reqs = 0, ops = 0, i;
	int			 bad = 0, fenced = 0, rc;

	(void)arg;
	pthread_mutex_lock(&mu);
	in_commit++;
	if (in_commit > max_in_commit)
		max_in_commit = in_commit;
	while (hold)
		pthread_cond_wait(&cv, &mu);
	for (r = first; r != stop; r = r->next) {
		reqs++;
		ops += r->n;
		for (i = 0; i < r->n; i++) {
			bad |= strcmp(r->ops[i].key, "bad") == 0;
			fenced |= strcmp(r->ops[i].key, "fenced") == 0;
		}
	}
	rc = fenced ? CF_ESTANDBY : bad ? CF_EIO : CF_OK;
	for (r = first; r != stop && rc == CF_OK; r = r->next)
		for (i = 0; i < r->n; i++)
			committed[atoi(r->ops[i].key)]++;
	if (ngroups < MAX_GROUPS) {
		group_reqs[ngroups] = reqs;
		group_ops[ngroups] = ops;
	}
	ngroups++;
	in_commit--;
	pthread_mutex_unlock(&mu);
	return rc;
}

struct writer {
	struct group_commit	*gc;
	struct storage_op	 ops[2];
	size_t			 n;
	char			 key[16];
	pthread_t		 t;
	int			 rc;
};

static void *
writer_main(void *arg)
{
	struct writer	*w = arg;

	w->rc = group_commit_write(w->gc, w->ops, w->n);
	return NULL;
}

static void
writer_start(struct writer *w, struct group_commit *gc, const char *key,
    size_t n)
{
	size_t	 i;

	memset(w, 0, sizeof(*w));
	w->gc = gc;
	w->n = n;
	snprintf(w->key, sizeof(w->key), "%s", key);
	for (i = 0; i < n; i++) {
		w->ops[i].kind = STORAGE_OP_PUT;
		w->ops[i].key = w->key;
		w->ops[i].val = "v";
		w->ops[i].len = 1;
	}
	assert_int_equal(pthread_create(&w->t, NULL, writer_main, w), 0);
}

/* Writers queued in gc, not yet taken by a leader. */
static size_t
queued(struct group_commit *gc)
{
	const struct group_req	*r;
	size_t			 n = 0;

	pthread_mutex_lock(&gc->mu);
	for (r = gc->head; r != NULL; r = r->next)
		n++;
	pthread_mutex_unlock(&gc->mu);
	return n;
}

static void
wait_for(int *what, int want)
{
	for (;;) {
		pthread_mutex_lock(&mu);
		if (*what == want) {
			pthread_mutex_unlock(&mu);
			return;
		}
		pthread_mutex_unlock(&mu);
		usleep(1000);
	}
}

static void
wait_queued(struct group_commit *gc, size_t want)
{
	while (queued(gc) != want)
		usleep(1000);
}

static void
release(void)
{
	pthread_mutex_lock(&mu);
	hold = 0;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/*
 * Start writers from..to-1 of w, each keyed by its number with n
 * operations; if in_order, each is queued before the next starts.
 */
static void
start_numbered(struct writer *w, struct group_commit *gc, int from, int to,
    size_t n, int in_order)
{
	char	 key[8];
	int	 i;

	for (i = from; i < to; i++) {
		snprintf(key, sizeof(key), "%d", i);
		writer_start(&w[i], gc, key, n);
		if (in_order)
			wait_queued(gc, (size_t)(i - from + 1));
	}
}

/* Join writers 0..n-1 of w: each got CF_OK and was committed once. */
static void
join_committed(struct writer *w, int n)
{
	int	 i;

	for (i = 0; i < n; i++) {
		pthread_join(w[i].t, NULL);
		assert_int_equal(w[i].rc, CF_OK);
		assert_int_equal(committed[i], (int)w[i].n);
	}
}

/*
 * With one leader, start writer 0 and hold its commit; then queue
 * writers 1..n-1 of w behind it, keyed by keys[i - 1] with nops[i - 1]
 * operations.  release() lets them go.
 */
static void
queue_behind_held(struct group_commit *gc, struct writer *w, int n,
    const char *const *keys, const size_t *nops)
{
	int	 i;

	reset();
	assert_int_equal(group_commit_init(gc, 1, 0, fake_commit, NULL),
	    CF_OK);
	hold = 1;
	writer_start(&w[0], gc, "0", 1);
	wait_for(&in_commit, 1);
	for (i = 1; i < n; i++)
		writer_start(&w[i], gc, keys[i - 1], nops[i - 1]);
	wait_queued(gc, (size_t)(n - 1));
}

/*
 * One leader: while its group is held, every later writer queues; the
 * next leader takes all of them as one group.
 */
static void
test_writers_behind_a_commit_share_one(void **state)
{
	struct group_commit	 gc;
	struct writer		 w[WRITERS];

	(void)state;
	reset();
	assert_int_equal(group_commit_init(&gc, 1, 0, fake_commit, NULL),
	    CF_OK);
	hold = 1;
	start_numbered(w, &gc, 0, 1, 1, 0);
	wait_for(&in_commit, 1);
	start_numbered(w, &gc, 1, WRITERS, 2, 0);
	wait_queued(&gc, WRITERS - 1);
	release();
	join_committed(w, WRITERS);
	assert_int_equal(ngroups, 2);
	assert_int_equal(group_reqs[0], 1);
	assert_int_equal(group_reqs[1], WRITERS - 1);
	assert_int_equal(group_ops[1], 2 * (WRITERS - 1));
	group_commit_destroy(&gc);
}

/* A group takes whole requests up to max_ops operations. */
static void
test_groups_stop_at_max_ops(void **state)
{
	struct group_commit	 gc;
	struct writer		 w[WRITERS];
	int			 g;

	(void)state;
	reset();
	assert_int_equal(group_commit_init(&gc, 1, 5, fake_commit, NULL),
	    CF_OK);
	hold = 1;
	start_numbered(w, &gc, 0, 1, 1, 0);
	wait_for(&in_commit, 1);
	start_numbered(w, &gc, 1, WRITERS, 2, 1);
	release();
	join_committed(w, WRITERS);
	/* 7 writers of 2 operations, at most 5 per group: 2, 2, 2, 1. */
	assert_int_equal(ngroups, 5);
	for (g = 1; g < ngroups; g++)
		assert_true(group_ops[g] <= 5);
	assert_int_equal(group_reqs[1], 2);
	assert_int_equal(group_reqs[4], 1);
	group_commit_destroy(&gc);
}

/*
 * When a group fails, each writer commits its batch alone: the bad one
 * gets the error, the others are committed and get CF_OK.
 */
static void
test_failed_group_commits_each_alone(void **state)
{
	struct group_commit	 gc;
	struct writer		 w[4];
	int			 i;

	(void)state;
	queue_behind_held(&gc, w, 4, (const char *const[]){ "1", "bad", "3" },
	    (const size_t[]){ 1, 1, 2 });
	release();
	for (i = 0; i < 4; i++)
		pthread_join(w[i].t, NULL);
	assert_int_equal(w[0].rc, CF_OK);
	assert_int_equal(w[1].rc, CF_OK);
	assert_int_equal(w[2].rc, CF_EIO);
	assert_int_equal(w[3].rc, CF_OK);
	assert_int_equal(committed[1], 1);
	assert_int_equal(committed[3], 2);
	/* The first, the failed group of three, then three alone. */
	assert_int_equal(ngroups, 5);
	assert_int_equal(group_reqs[1], 3);
	group_commit_destroy(&gc);
}

/* A fenced group is every member's answer: none commits alone. */
static void
test_fenced_group_is_everyones(void **state)
{
	struct group_commit	 gc;
	struct writer		 w[3];
	int			 i;

	(void)state;
	queue_behind_held(&gc, w, 3, (const char *const[]){ "1", "fenced" },
	    (const size_t[]){ 1, 1 });
	release();
	for (i = 0; i < 3; i++)
		pthread_join(w[i].t, NULL);
	assert_int_equal(w[0].rc, CF_OK);
	assert_int_equal(w[1].rc, CF_ESTANDBY);
	assert_int_equal(w[2].rc, CF_ESTANDBY);
	assert_int_equal(committed[1], 0);
	assert_int_equal(ngroups, 2);
	group_commit_destroy(&gc);
}

/* No more than max_leaders groups commit at once, and that many do. */
static void
test_leaders_are_bounded(void **state)
{
	struct group_commit	 gc;
	struct writer		 w[WRITERS];

	(void)state;
	reset();
	assert_int_equal(group_commit_init(&gc, 3, 0, fake_commit, NULL),
	    CF_OK);
	hold = 1;
	start_numbered(w, &gc, 0, WRITERS, 1, 0);
	wait_for(&in_commit, 3);
	wait_queued(&gc, WRITERS - 3);
	release();
	join_committed(w, WRITERS);
	assert_int_equal(max_in_commit, 3);
	group_commit_destroy(&gc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writers_behind_a_commit_share_one),
		cmocka_unit_test(test_groups_stop_at_max_ops),
		cmocka_unit_test(test_failed_group_commits_each_alone),
		cmocka_unit_test(test_fenced_group_is_everyones),
		cmocka_unit_test(test_leaders_are_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
