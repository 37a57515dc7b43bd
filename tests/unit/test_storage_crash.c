/*
 * test_storage_crash.c -- durability under SIGKILL.  A forked writer
 * (several threads) reports each acknowledged write through a pipe and
 * is killed at a random moment; the reopened store must hold every
 * acknowledged write, and the write in flight absent or whole.  Runs
 * on the durable backends.
 */
#include "config.h"

#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
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
#include "storage.h"
#include "storage_harness.h"

#define CRASH_ROUNDS	5
#define CRASH_THREADS	4
#define CRASH_FIRST_ACK_MS	30000	/* a child's first write, at most */

/* The value for key number i: its size varies with i (1..20000). */
static size_t
crash_value(unsigned int t, unsigned int i, unsigned char *out)
{
	size_t	 len = 1 + (i * 7919u + t * 104729u) % 20000u;

	fill(out, len, i * 16u + t);
	return len;
}

struct crasher {
	struct storage	*st;
	unsigned int	 round, t;
	int		 fd;
	int		 batch;
};

/*
 * In the child: write numbered keys, one put (or batch of four puts and
 * a delete) at a time, and acknowledge each after it returned.
 */
static void *
crasher_run(void *arg)
{
	struct crasher		*c = arg;
	struct storage_op	 ops[5];
	unsigned char		*val;
	char			 keys[5][64];
	uint32_t		 ack;
	unsigned int		 i, j;

	if ((val = malloc(4 * 20001)) == NULL)
		_exit(4);
	for (i = 0;; i++) {
		if (!c->batch) {
			snprintf(keys[0], sizeof(keys[0]), "crash/%u/%u/%u",
			    c->round, c->t, i);
			ops[0].kind = STORAGE_OP_PUT;
			ops[0].key = keys[0];
			ops[0].val = val;
			ops[0].len = crash_value(c->t, i, val);
			if (storage_put(c->st, keys[0], val, ops[0].len) !=
			    CF_OK)
				_exit(2);
		} else {
			for (j = 0; j < 4; j++) {
				snprintf(keys[j], sizeof(keys[j]),
				    "crash/%u/%u/%u/%u", c->round, c->t, i, j);
				ops[j].kind = STORAGE_OP_PUT;
				ops[j].key = keys[j];
				ops[j].val = val + j * 20001;
				ops[j].len = crash_value(c->t, i * 4 + j,
				    val + j * 20001);
			}
			/* Each batch deletes a marker the previous one put. */
			snprintf(keys[4], sizeof(keys[4]), "crash/%u/%u/m%u",
			    c->round, c->t, i);
			ops[4].kind = STORAGE_OP_DEL;
			ops[4].key = keys[4];
			ops[4].val = NULL;
			ops[4].len = 0;
			snprintf(keys[3], sizeof(keys[3]), "crash/%u/%u/m%u",
			    c->round, c->t, i + 1);
			if (storage_batch(c->st, ops, 5) != CF_OK)
				_exit(2);
		}
		/* Acknowledged: one pipe write of 4 bytes is atomic. */
		ack = c->t << 24 | i;
		if (write(c->fd, &ack, sizeof(ack)) != sizeof(ack))
			_exit(3);
	}
	return NULL;
}

/* Check thread t's writes: all of 0..acked-1, and acked whole or not. */
static void
crash_check(struct storage *st, unsigned int round, unsigned int t,
    unsigned int acked, int batch)
{
	struct buf	 b = BUF_INIT;
	unsigned char	*val;
	char		 key[64];
	unsigned int	 i, j, found;
	size_t		 len;
	int		 rc;

	val = malloc(20001);
	assert_non_null(val);
	for (i = 0; i <= acked; i++) {
		found = 0;
		for (j = 0; j < (batch ? 3u : 1u); j++) {
			if (batch)
				snprintf(key, sizeof(key), "crash/%u/%u/%u/%u",
				    round, t, i, j);
			else
				snprintf(key, sizeof(key), "crash/%u/%u/%u",
				    round, t, i);
			len = crash_value(t, batch ? i * 4 + j : i, val);
			rc = storage_get(st, key, &b);
			if (i < acked)
				assert_int_equal(rc, CF_OK);
			else if (rc == CF_ENOTFOUND)
				continue;
			assert_int_equal(rc, CF_OK);
			/* Never a torn value, even for the one in flight. */
			assert_int_equal(b.len, len);
			assert_memory_equal(b.data, val, len);
			found++;
		}
		if (batch && i == acked)
			assert_true(found == 0 || found == 3);
		if (!batch)
			continue;
		/* The marker of batch i+1 exists iff batch i+1 did not run. */
		snprintf(key, sizeof(key), "crash/%u/%u/m%u", round, t, i);
		rc = storage_get(st, key, &b);
		if (i < acked && i > 0)
			assert_int_equal(rc, CF_ENOTFOUND);
		if (i == acked && found == 3 && i > 0)
			assert_int_equal(rc, CF_ENOTFOUND);
		if (i == acked && found == 0 && i > 0)
			assert_int_equal(rc, CF_OK);
	}
	buf_free(&b);
	free(val);
}

static void
crash_rounds(struct fixture *fx, int batch)
{
	pthread_t	 th[CRASH_THREADS];
	struct crasher	 c[CRASH_THREADS];
	struct storage	*st2;
	unsigned int	 acked[CRASH_THREADS], round, t, total = 0;
	uint32_t	 ack;
	int		 fds[2];
	pid_t		 pid;
	struct pollfd	 pfd;

	for (round = 0; round < CRASH_ROUNDS; round++) {
		/* The file backend allows one process at a time. */
		storage_close(fx->st);
		fx->st = NULL;
		assert_int_equal(pipe(fds), 0);
		pid = test_fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			if (open_store(fx->backend, fx->dir, &st2) != CF_OK)
				_exit(1);
			for (t = 0; t < CRASH_THREADS; t++) {
				c[t].st = st2;
				c[t].round = round;
				c[t].t = t;
				c[t].fd = fds[1];
				c[t].batch = batch;
				if (pthread_create(&th[t], NULL, crasher_run,
				    &c[t]) != 0)
					_exit(5);
			}
			for (;;)
				pause();
		}
		close(fds[1]);
		/*
		 * The kill comes at a random point once the writers are
		 * acknowledging: a slow start (a sanitized build opening a
		 * database session) must not leave a round with nothing to
		 * check.
		 */
		pfd.fd = fds[0];
		pfd.events = POLLIN;
		assert_int_equal(poll(&pfd, 1, CRASH_FIRST_ACK_MS), 1);
		usleep((unsigned int)(rand() % 190000));
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(wait_child(pid, NULL), pid);
		memset(acked, 0, sizeof(acked));
		while (read(fds[0], &ack, sizeof(ack)) == sizeof(ack)) {
			t = ack >> 24;
			assert_true(t < CRASH_THREADS);
			/* One thread's acknowledgements come in order. */
			assert_int_equal(ack & 0xffffff, acked[t]);
			acked[t]++;
			total++;
		}
		close(fds[0]);
		assert_int_equal(open_store(fx->backend, fx->dir, &fx->st),
		    CF_OK);
		for (t = 0; t < CRASH_THREADS; t++)
			crash_check(fx->st, round, t, acked[t], batch);
	}
	/* Without acknowledged writes the test would prove nothing. */
	assert_true(total > 0);
}

void
test_crash(void **state)
{
	struct fixture	*fx = *state;

	if (!is_durable(fx))
		skip();
	crash_rounds(fx, 0);
}

void
test_crash_batch(void **state)
{
	struct fixture	*fx = *state;

	if (!is_durable(fx))
		skip();
	crash_rounds(fx, 1);
}
