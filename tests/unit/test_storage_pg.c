/*
 * test_storage_pg.c -- what only postgresql has: its settings and
 * Vault's table layout, reconnecting after lost sessions, and its HA
 * lock's fencing, a paused holder and a lost session.  Runs when
 * COFFER_TEST_PG_URL names a test database (tests/pgtest.sh).
 */
#include "config.h"

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
#include <libpq-fe.h>

#include "buf.h"
#include "err.h"
#include "storage.h"
#include "storage_harness.h"

/* One text cell of a query on the test database, or "" on error. */
static void
pg_query1(const char *sql, char *out, size_t len)
{
	PGconn		*c;
	PGresult	*res;

	out[0] = '\0';
	c = PQconnectdb(getenv(PG_URL_ENV));
	if (PQstatus(c) == CONNECTION_OK) {
		res = PQexec(c, sql);
		if (PQresultStatus(res) == PGRES_TUPLES_OK &&
		    PQntuples(res) > 0)
			snprintf(out, len, "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	PQfinish(c);
}

/* Reopen fx's store with HA and take the lock as holder "a". */
static void
take_as_a(struct fixture *fx)
{
	int	 got = 0;

	reopen_ha(fx);
	assert_int_equal(storage_lock_try(fx->st, "{\"id\":\"a\"}", &got),
	    CF_OK);
	assert_int_equal(got, 1);
}

/* Opening: settings, the environment's URL, Vault's table layout. */
void
test_pg_open(void **state)
{
	struct fixture		*fx = *state;
	struct storage		*st2 = NULL;
	struct storage_conf	 sc;
	struct storage_kv	 kv[4];
	char			 table[64], sql[256], got[128];

	if (!is_backend(fx, "postgresql") || is_wrapped(fx))
		skip();
	pg_table(fx->dir, table, sizeof(table));
	/* Vault's split: parent_path, path and key. */
	assert_int_equal(storage_put(fx->st, "a/b/c", "v", 1), CF_OK);
	assert_int_equal(storage_put(fx->st, "top", "t", 1), CF_OK);
	snprintf(sql, sizeof(sql), "SELECT parent_path || '|' || path || '|' "
	    "|| key FROM \"%s\" WHERE key = 'c'", table);
	pg_query1(sql, got, sizeof(got));
	assert_string_equal(got, "/a/|/a/b/|c");
	snprintf(sql, sizeof(sql), "SELECT parent_path || '|' || path || '|' "
	    "|| key FROM \"%s\" WHERE key = 'top'", table);
	pg_query1(sql, got, sizeof(got));
	assert_string_equal(got, "|/|top");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_indexes WHERE "
	    "tablename = '%s' AND indexdef LIKE '%%(parent_path)%%'", table);
	pg_query1(sql, got, sizeof(got));
	assert_string_equal(got, "1");

	/* No URL at all, a path, HA, an unknown key: refused. */
	make_conf("postgresql", fx->dir, &sc, kv, table, sizeof(table));
	sc.nopts = 0;
	assert_int_equal(storage_open("postgresql", &sc, &st2), CF_EINVAL);
	make_conf("postgresql", fx->dir, &sc, kv, table, sizeof(table));
	sc.path = fx->dir;
	assert_int_equal(storage_open("postgresql", &sc, &st2), CF_EINVAL);
	make_conf("postgresql", fx->dir, &sc, kv, table, sizeof(table));
	kv[2].key = "bogus";
	kv[2].val = "1";
	sc.nopts = 3;
	assert_int_equal(storage_open("postgresql", &sc, &st2), CF_EINVAL);
	assert_null(st2);

	/* Nobody listening: CF_EIO, at once. */
	make_conf("postgresql", fx->dir, &sc, kv, table, sizeof(table));
	kv[0].val = "postgres://coffer@127.0.0.1:1/postgres";
	assert_int_equal(storage_open("postgresql", &sc, &st2), CF_EIO);
	assert_null(st2);
	/* ... unless the environment gives the right URL, which wins. */
	assert_int_equal(setenv("VAULT_PG_CONNECTION_URL", getenv(PG_URL_ENV),
	    1), 0);
	assert_int_equal(storage_open("postgresql", &sc, &st2), CF_OK);
	assert_int_equal(unsetenv("VAULT_PG_CONNECTION_URL"), 0);
	check_value(st2, "a/b/c", "v", 1);
	storage_close(st2);
	st2 = NULL;

	/* skip_create_table: a missing table is not made, open fails. */
	make_conf("postgresql", fx->dir, &sc, kv, table, sizeof(table));
	kv[1].val = "t_not_there";
	kv[2].key = "skip_create_table";
	kv[2].val = "true";
	kv[3].key = "max_parallel";
	kv[3].val = "2";
	sc.nopts = 4;
	assert_int_equal(storage_open("postgresql", &sc, &st2), CF_EIO);
	assert_null(st2);
	pg_query1("SELECT count(*) FROM pg_tables WHERE tablename = "
	    "'t_not_there'", got, sizeof(got));
	assert_string_equal(got, "0");
	assert_string_equal(storage_name(fx->st), "postgresql");
}

/*
 * Sessions killed under the store (as by a database restart): the
 * next calls reconnect by themselves and succeed.
 */
void
test_pg_reconnect(void **state)
{
	struct fixture	*fx = *state;
	struct strv	 sv = STRV_INIT;
	char		 got[32];
	int		 round;

	if (!is_backend(fx, "postgresql"))
		skip();
	assert_int_equal(storage_put(fx->st, "r/k", "v1", 2), CF_OK);
	for (round = 0; round < 3; round++) {
		pg_query1("SELECT count(pg_terminate_backend(pid)) FROM "
		    "pg_stat_activity WHERE application_name = 'cofferd'",
		    got, sizeof(got));
		assert_true(atoi(got) >= 1);
		check_value(fx->st, "r/k", "v1", 2);
		assert_int_equal(storage_put(fx->st, "r/k2", "v2", 2), CF_OK);
		assert_int_equal(storage_list(fx->st, "r/", &sv), CF_OK);
		assert_int_equal(sv.n, 2);
		strv_free(&sv);
	}
}

/* Without ha_enabled, postgresql has no HA lock: CF_ENOTSUP. */
void
test_pg_no_ha(void **state)
{
	struct fixture	*fx = *state;

	if (!is_backend(fx, "postgresql") || is_wrapped(fx))
		skip();
	expect_no_ha(fx->st);
}

/* End the HA lock sessions of this test database; how many ended. */
static int
pg_kill_lock_sessions(void)
{
	char	 got[32];

	pg_query1("SELECT count(pg_terminate_backend(pid)) FROM "
	    "pg_stat_activity WHERE application_name = 'cofferd-ha'",
	    got, sizeof(got));
	return atoi(got);
}

/*
 * Fencing: a holder whose lock session ended (as when the server ends a
 * paused node's session) is deposed by the next holder, and every write
 * it still attempts (put, delete, batch, delete by prefix) fails with
 * CF_ESTANDBY and changes nothing; its lock_check says so at once.  Not
 * holding, nothing is written either.
 */
void
test_pg_ha_fence(void **state)
{
	struct fixture		*fx = *state;
	struct storage		*b = NULL;
	struct storage_op	 ops[2] = {
		{ STORAGE_OP_PUT, "f/x", "old", 3 },
		{ STORAGE_OP_DEL, "f/k", NULL, 0 }
	};
	const struct storage_op	 late[2] = {
		{ STORAGE_OP_PUT, "f/x", "new", 3 },
		{ STORAGE_OP_DEL, "f/k", NULL, 0 }
	};
	long long		 t0;
	char			 table[64], sql[256];
	int			 got = 0;

	if (!is_backend(fx, "postgresql") || is_wrapped(fx))
		skip();
	reopen_ha(fx);
	/* Not holding: refused before anything is sent. */
	assert_int_equal(storage_put(fx->st, "f/k", "v", 1), CF_ESTANDBY);
	assert_int_equal(storage_lock_try(fx->st, "{\"id\":\"a\"}", &got),
	    CF_OK);
	assert_int_equal(got, 1);
	assert_int_equal(storage_put(fx->st, "f/k", "a1", 2), CF_OK);
	assert_int_equal(storage_batch(fx->st, ops, 1), CF_OK);

	/* A new epoch behind a's back: a whole batch is fenced in SQL. */
	pg_table(fx->dir, table, sizeof(table));
	snprintf(sql, sizeof(sql), "UPDATE vault_ha_locks SET ha_identity = "
	    "(ha_identity::bigint + 1)::text WHERE ha_key = 'coffer/%s'",
	    table);
	assert_int_equal(pg_exec(sql), 0);
	assert_int_equal(storage_batch(fx->st, late, 2), CF_ESTANDBY);
	assert_int_equal(storage_lock_check(fx->st), CF_ESTANDBY);
	check_value(fx->st, "f/x", "old", 3);
	check_value(fx->st, "f/k", "a1", 2);
	assert_int_equal(storage_lock_release(fx->st), CF_OK);
	assert_int_equal(storage_lock_try(fx->st, "{\"id\":\"a\"}", &got),
	    CF_OK);
	assert_int_equal(got, 1);

	/* Again: a single write is fenced in its own statement. */
	assert_int_equal(pg_exec(sql), 0);
	assert_int_equal(storage_put(fx->st, "f/k", "a2", 2), CF_ESTANDBY);
	assert_int_equal(storage_lock_check(fx->st), CF_ESTANDBY);
	check_value(fx->st, "f/k", "a1", 2);
	assert_int_equal(storage_lock_release(fx->st), CF_OK);
	assert_int_equal(storage_lock_try(fx->st, "{\"id\":\"a\"}", &got),
	    CF_OK);
	assert_int_equal(got, 1);
	assert_int_equal(storage_put(fx->st, "f/k", "a1", 2), CF_OK);

	assert_int_equal(open_store_ha("postgresql", fx->dir, &b), CF_OK);
	assert_int_equal(storage_lock_try(b, "{\"id\":\"b\"}", &got), CF_OK);
	assert_int_equal(got, 0);
	assert_true(pg_kill_lock_sessions() >= 1);
	t0 = now_ms();
	assert_int_equal(storage_lock_wait(b, "{\"id\":\"b\"}", 5000, &got),
	    CF_OK);
	assert_int_equal(got, 1);
	assert_true(now_ms() - t0 < 1000);
	assert_int_equal(storage_put(b, "f/k", "b1", 2), CF_OK);

	/* a writes before it noticed: each write fails, nothing lands. */
	assert_int_equal(storage_put(fx->st, "f/k", "a2", 2), CF_ESTANDBY);
	assert_int_equal(storage_lock_check(fx->st), CF_ESTANDBY);
	assert_int_equal(storage_del(fx->st, "f/k"), CF_ESTANDBY);
	assert_int_equal(storage_batch(fx->st, ops, 2), CF_ESTANDBY);
	assert_int_equal(storage_del_prefix(fx->st, "f/"), CF_ESTANDBY);
	check_value(b, "f/k", "b1", 2);
	check_value(b, "f/x", "old", 3);
	check_value(fx->st, "f/k", "b1", 2);
	assert_int_equal(storage_lock_check(b), CF_OK);
	/* The fenced node lets go; b's record stays the one shown. */
	assert_int_equal(storage_lock_release(fx->st), CF_OK);
	{
		struct buf	 rec = BUF_INIT;

		assert_int_equal(storage_lock_holder(fx->st, &rec), CF_OK);
		assert_string_equal(rec.data, "{\"id\":\"b\"}");
		buf_free(&rec);
	}
	assert_int_equal(storage_del_prefix(b, "f/"), CF_OK);
	check_missing(b, "f/k");
	storage_close(b);
}

/*
 * A paused holder (SIGSTOP): the server ends its silent session within
 * ha_session_timeout, another node takes the lock within that plus a
 * second, and once resumed the paused node reports the lock lost and
 * lands no write.
 */
void
test_pg_ha_pause(void **state)
{
	struct fixture	*fx = *state;
	struct storage	*st;
	long long	 t0, dt;
	char		 c;
	pid_t		 pid;
	int		 up[2], down[2], got = 0, rc;

	if (!is_backend(fx, "postgresql") || is_wrapped(fx))
		skip();
	reopen_ha(fx);
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid = test_fork_ha(fx);
	assert_true(pid >= 0);
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		if (open_store_ha("postgresql", fx->dir, &st) != CF_OK)
			_exit(1);
		if (storage_lock_wait(st, "{\"id\":\"a\"}", 5000, &got) !=
		    CF_OK || !got)
			_exit(2);
		if (storage_put(st, "p/k", "a", 1) != CF_OK)
			_exit(3);
		if (write(up[1], "h", 1) != 1 || read(down[0], &c, 1) != 1)
			_exit(4);
		/* Resumed: the lock is gone, and so is any write. */
		c = (char)(storage_lock_check(st) == CF_ESTANDBY ? 'l' : 'L');
		if (write(up[1], &c, 1) != 1)
			_exit(5);
		rc = storage_put(st, "p/k", "late", 4);
		c = (char)(rc == CF_ESTANDBY ? 'f' : 'F');
		if (write(up[1], &c, 1) != 1)
			_exit(6);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	assert_int_equal(read(up[0], &c, 1), 1);
	assert_int_equal(kill(pid, SIGSTOP), 0);
	t0 = now_ms();
	assert_int_equal(storage_lock_wait(fx->st, "{\"id\":\"b\"}",
	    PG_HA_TIMEOUT_MS + 3000, &got), CF_OK);
	dt = now_ms() - t0;
	assert_int_equal(got, 1);
	assert_true(dt < PG_HA_TIMEOUT_MS + 1000);
	assert_int_equal(kill(pid, SIGCONT), 0);
	assert_int_equal(write(down[1], "g", 1), 1);
	assert_int_equal(read(up[0], &c, 1), 1);
	assert_int_equal(c, 'l');
	assert_int_equal(read(up[0], &c, 1), 1);
	assert_int_equal(c, 'f');
	expect_child_ok(pid);
	check_value(fx->st, "p/k", "a", 1);
	close(up[0]);
	close(down[1]);
}

/*
 * A holder whose lock session breaks reports the lock lost before the
 * session timeout passes, from the heartbeat alone.
 */
void
test_pg_ha_session_lost(void **state)
{
	struct fixture	*fx = *state;
	long long	 t0;
	int		 got = 0;

	if (!is_backend(fx, "postgresql") || is_wrapped(fx))
		skip();
	take_as_a(fx);
	usleep(PG_HA_TIMEOUT_MS * 1000);	/* heartbeats keep it */
	assert_int_equal(storage_lock_check(fx->st), CF_OK);
	assert_true(pg_kill_lock_sessions() >= 1);
	t0 = now_ms();
	while (storage_lock_check(fx->st) == CF_OK)
		usleep(10000);
	assert_true(now_ms() - t0 < PG_HA_TIMEOUT_MS);
	/* Released and taken again on a new session. */
	assert_int_equal(storage_lock_release(fx->st), CF_OK);
	assert_int_equal(storage_lock_wait(fx->st, "{\"id\":\"a\"}", 2000,
	    &got), CF_OK);
	assert_int_equal(got, 1);
	assert_int_equal(storage_put(fx->st, "s/k", "v", 1), CF_OK);
}

struct pg_inflight {
	struct storage	*st;
	const char	*holder;	/* lock_wait with this record, */
	const char	*val;		/* else a put of this value */
	int		 rc, got;
	volatile int	 done;
};

static void *
pg_inflight_run(void *arg)
{
	struct pg_inflight	*w = arg;

	if (w->holder != NULL)
		w->rc = storage_lock_wait(w->st, w->holder, 10000, &w->got);
	else
		w->rc = storage_put(w->st, "g/x", w->val, strlen(w->val));
	w->done = 1;
	return NULL;
}

/* Wait up to 5 s for a lock of this type to be waited for. */
static int
pg_lock_awaited(const char *locktype)
{
	char		 sql[160], got[32];
	long long	 t0 = now_ms();

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_locks WHERE "
	    "locktype = '%s' AND NOT granted", locktype);
	while (now_ms() - t0 < 5000) {
		pg_query1(sql, got, sizeof(got));
		if (atoi(got) > 0)
			return 1;
		usleep(20000);
	}
	return 0;
}

/*
 * The fence holds a takeover back: a write of the holder that checked
 * its epoch and is still running (here waiting for a row another
 * session locked) keeps the next holder's epoch bump waiting, so that
 * write commits before the takeover; once it has, the new holder's
 * epoch fences the old one's next write.
 */
void
test_pg_ha_fence_inflight(void **state)
{
	struct fixture		*fx = *state;
	struct storage		*b = NULL;
	struct pg_inflight	 wa = { NULL, NULL, "a1", -1, 0, 0 };
	struct pg_inflight	 wb = { NULL, "{\"id\":\"b\"}", NULL, -1, 0, 0 };
	pthread_t		 ta, tb;
	PGconn			*blk;
	PGresult		*res;
	char			 table[64], sql[256];
	int			 killed, a_waits, b_waits, early;
	int			 committed;

	if (!is_backend(fx, "postgresql") || is_wrapped(fx))
		skip();
	take_as_a(fx);
	assert_int_equal(storage_put(fx->st, "g/x", "a0", 2), CF_OK);
	assert_int_equal(open_store_ha("postgresql", fx->dir, &b), CF_OK);

	/* Another session locks the row: a's next write waits for it. */
	pg_table(fx->dir, table, sizeof(table));
	blk = PQconnectdb(getenv(PG_URL_ENV));
	assert_int_equal(PQstatus(blk), CONNECTION_OK);
	snprintf(sql, sizeof(sql), "BEGIN; SELECT 1 FROM \"%s\" WHERE "
	    "path = '/g/' AND key = 'x' FOR UPDATE", table);
	res = PQexec(blk, sql);
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	PQclear(res);
	/*
	 * Between the threads' start and their end nothing asserts: a
	 * failure there would leave the row locked and the test hanging.
	 */
	wa.st = fx->st;
	assert_int_equal(pthread_create(&ta, NULL, pg_inflight_run, &wa), 0);
	a_waits = pg_lock_awaited("transactionid");

	/* a's session ends; b gets the HA lock, its bump must wait. */
	killed = pg_kill_lock_sessions();
	wb.st = b;
	assert_int_equal(pthread_create(&tb, NULL, pg_inflight_run, &wb), 0);
	b_waits = pg_lock_awaited("advisory");
	usleep(200000);
	early = wa.done || wb.done;

	/* The row is free: a's write commits, then b takes over. */
	res = PQexec(blk, "COMMIT");
	committed = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	PQfinish(blk);
	assert_int_equal(pthread_join(ta, NULL), 0);
	assert_int_equal(pthread_join(tb, NULL), 0);
	assert_true(a_waits);
	assert_true(killed >= 1);
	assert_true(b_waits);
	assert_false(early);
	assert_true(committed);
	assert_int_equal(wa.rc, CF_OK);
	assert_int_equal(wb.rc, CF_OK);
	assert_int_equal(wb.got, 1);
	check_value(b, "g/x", "a1", 2);

	/* From now on b writes, and a is fenced. */
	assert_int_equal(storage_put(b, "g/x", "b1", 2), CF_OK);
	assert_int_equal(storage_put(fx->st, "g/x", "a2", 2), CF_ESTANDBY);
	assert_int_equal(storage_lock_check(fx->st), CF_ESTANDBY);
	check_value(b, "g/x", "b1", 2);
	assert_int_equal(storage_lock_release(fx->st), CF_OK);
	assert_int_equal(storage_del_prefix(b, "g/"), CF_OK);
	storage_close(b);
}
