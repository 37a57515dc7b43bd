/*
 * storage_harness.c -- the fixture and helpers the test_storage files
 * share (storage_harness.h): opening each backend by name, the test
 * database's tables, bounded children, and the common checks.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <ctype.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "buf.h"
#include "err.h"
#include "faultstore.h"
#include "storage.h"
#include "storage_harness.h"
#include "../testutil.h"

/* The test table of a fixture directory: "t_" and its random tail. */
void
pg_table(const char *dir, char *out, size_t len)
{
	const char	*tail;
	size_t		 i;

	tail = strrchr(dir, '-') != NULL ? strrchr(dir, '-') + 1 : dir;
	snprintf(out, len, "t_%s", tail);
	for (i = 0; out[i] != '\0'; i++)
		if (!isalnum((unsigned char)out[i]))
			out[i] = '_';
}

/*
 * The configuration of backend for dir: a path, or for postgresql the
 * test database and a table named after dir (kv has room for two).
 */
void
make_conf(const char *backend, const char *dir, struct storage_conf *sc,
    struct storage_kv *kv, char *table, size_t tlen)
{
	memset(sc, 0, sizeof(*sc));
	if (strcmp(backend, "postgresql") != 0) {
		sc->path = dir;
		return;
	}
	pg_table(dir != NULL ? dir : "none", table, tlen);
	kv[0].key = "connection_url";
	kv[0].val = getenv(PG_URL_ENV) != NULL ? getenv(PG_URL_ENV) : "";
	kv[1].key = "table";
	kv[1].val = table;
	sc->opts = kv;
	sc->nopts = 2;
}

/* Run one SQL command on the test database; 0 on success. */
int
pg_exec(const char *sql)
{
	PGconn		*c;
	PGresult	*res;
	int		 ok;

	c = PQconnectdb(getenv(PG_URL_ENV));
	if (PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		return -1;
	}
	res = PQexec(c, sql);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK;
	PQclear(res);
	PQfinish(c);
	return ok ? 0 : -1;
}

int
open_store(const char *backend, const char *dir, struct storage **st)
{
	struct storage_conf	 sc;
	struct storage_kv	 kv[2];
	struct storage		*inner = NULL;
	size_t			 plen = strlen(FAULT_PREFIX);
	char			 table[64];
	int			 rc;

	if (strncmp(backend, FAULT_PREFIX, plen) != 0) {
		make_conf(backend, dir, &sc, kv, table, sizeof(table));
		return storage_open(backend, &sc, st);
	}
	make_conf(backend + plen, dir, &sc, kv, table, sizeof(table));
	if ((rc = storage_open(backend + plen, &sc, &inner)) != CF_OK)
		return rc;
	if ((rc = faultstore_wrap(inner, NULL, st)) != CF_OK)
		storage_close(inner);
	return rc;
}

/* Open as an HA node: the only way processes share a directory. */
int
open_store_ha(const char *backend, const char *dir, struct storage **st)
{
	struct storage_conf	 sc;
	struct storage_kv	 kv[3];
	char			 table[64];

	make_conf(backend, dir, &sc, kv, table, sizeof(table));
	sc.ha_enabled = 1;
	if (strcmp(backend, "postgresql") == 0) {
		/* The shortest session timeout: the tests wait less. */
		kv[2].key = "ha_session_timeout";
		kv[2].val = PG_HA_TIMEOUT;
		sc.nopts = 3;
	}
	return storage_open(backend, &sc, st);
}

int
setup(void **state, const char *backend)
{
	struct fixture	*fx;

	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx->backend = backend;
	strlcpy(fx->dir, "/tmp/coffer-storage-XXXXXX", sizeof(fx->dir));
	assert_non_null(mkdtemp(fx->dir));
	assert_int_equal(open_store(backend, fx->dir, &fx->st), CF_OK);
	*state = fx;
	return 0;
}


int
teardown(void **state)
{
	struct fixture	*fx = *state;
	char		 table[64], sql[128];

	storage_close(fx->st);
	if (strstr(fx->backend, "postgresql") != NULL) {
		pg_table(fx->dir, table, sizeof(table));
		snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS \"%s\"",
		    table);
		assert_int_equal(pg_exec(sql), 0);
	}
	test_rmtree(fx->dir);
	free(fx);
	return 0;
}

void
reopen(struct fixture *fx)
{
	storage_close(fx->st);
	fx->st = NULL;
	assert_int_equal(open_store(fx->backend, fx->dir, &fx->st), CF_OK);
}

/*
 * Children of a test never outlive it: a child that hangs (a lock never
 * granted, a server that never answers) is killed by its alarm, and a
 * parent that waits longer than CHILD_WAIT_SECONDS kills it and fails.
 * A hang is then a failed test with its name, not a stalled suite.
 */
#define CHILD_ALARM_SECONDS	120
#define CHILD_WAIT_SECONDS	150

pid_t
test_fork(void)
{
	pid_t	 pid;

	fflush(NULL);
	if ((pid = fork()) == 0)
		alarm(CHILD_ALARM_SECONDS);
	return pid;
}

/* waitpid(pid, status, 0), bounded: the child is killed at the limit. */
pid_t
wait_child(pid_t pid, int *status)
{
	struct timespec	 nap = { 0, 10 * 1000 * 1000 };
	pid_t		 got;
	int		 i;

	for (i = 0; i < CHILD_WAIT_SECONDS * 100; i++) {
		if ((got = waitpid(pid, status, WNOHANG)) != 0)
			return got;
		nanosleep(&nap, NULL);
	}
	fprintf(stderr, "child %d still running after %d s: killed\n",
	    (int)pid, CHILD_WAIT_SECONDS);
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	return -1;
}

void
reopen_ha(struct fixture *fx)
{
	storage_close(fx->st);
	fx->st = NULL;
	assert_int_equal(open_store_ha(fx->backend, fx->dir, &fx->st), CF_OK);
}

/*
 * test_fork() for a test whose parent holds an HA store: PostgreSQL's
 * runs a heartbeat thread, and a child forked beside a running thread
 * can inherit a lock that thread held (AddressSanitizer's allocator
 * hung a child so).  The parent's store is closed across the fork and
 * opened again after it; its tables already exist.
 */
pid_t
test_fork_ha(struct fixture *fx)
{
	pid_t	 pid;

	storage_close(fx->st);
	fx->st = NULL;
	if ((pid = test_fork()) == 0)
		return 0;
	assert_int_equal(open_store_ha(fx->backend, fx->dir, &fx->st), CF_OK);
	return pid;
}

int
is_wrapped(const struct fixture *fx)
{
	return strncmp(fx->backend, FAULT_PREFIX, strlen(FAULT_PREFIX)) == 0;
}

/* The backend under any faultstore. */
const char *
inner_name(const struct fixture *fx)
{
	return fx->backend + (is_wrapped(fx) ? strlen(FAULT_PREFIX) : 0);
}

int
is_durable(const struct fixture *fx)
{
	return strcmp(inner_name(fx), "inmem") != 0;
}

int
is_backend(const struct fixture *fx, const char *name)
{
	return strcmp(inner_name(fx), name) == 0;
}

/* Backends with an HA lock, unwrapped (the lock tests run on these). */
int
has_ha(const struct fixture *fx)
{
	return !is_wrapped(fx) && (is_backend(fx, "lmdb") ||
	    is_backend(fx, "postgresql"));
}

void
check_value(struct storage *st, const char *key, const void *val,
    size_t len)
{
	struct buf	 b = BUF_INIT;

	assert_int_equal(storage_get(st, key, &b), CF_OK);
	assert_int_equal(b.len, len);
	if (len > 0)
		assert_memory_equal(b.data, val, len);
	buf_free(&b);
}

void
check_missing(struct storage *st, const char *key)
{
	struct buf	 b = BUF_INIT;

	assert_int_equal(storage_get(st, key, &b), CF_ENOTFOUND);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

void
expect_no_ha(struct storage *st)
{
	struct buf	 b = BUF_INIT;
	int		 got = 1;

	assert_int_equal(storage_lock_try(st, "x", &got), CF_ENOTSUP);
	assert_int_equal(got, 0);
	got = 1;
	assert_int_equal(storage_lock_wait(st, "x", 10, &got), CF_ENOTSUP);
	assert_int_equal(got, 0);
	assert_int_equal(storage_lock_release(st), CF_ENOTSUP);
	assert_int_equal(storage_lock_holder(st, &b), CF_ENOTSUP);
	assert_int_equal(storage_lock_check(st), CF_ENOTSUP);
	buf_free(&b);
}

void
expect_list(struct storage *st, const char *prefix, const char *const *want,
    size_t n)
{
	struct strv	 sv = STRV_INIT;
	size_t		 i;

	assert_int_equal(storage_list(st, prefix, &sv), CF_OK);
	for (i = 0; i < sv.n && i < n; i++)
		assert_string_equal(sv.v[i], want[i]);
	assert_int_equal(sv.n, n);
	strv_free(&sv);
}

/* A byte pattern that differs per seed: catches swapped values. */
void
fill(unsigned char *p, size_t len, unsigned int seed)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(seed * 131u + i * 7u + (i >> 12));
}

/* Milliseconds on the monotonic clock. */
long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for a child and expect it to have exited with 0. */
void
expect_child_ok(pid_t pid)
{
	int	 status;

	assert_int_equal(wait_child(pid, &status), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/*
 * A child that opens fx's store as an HA node, takes the lock with record rec,
 * writes one byte to fd once it holds it, and waits to be killed.
 */
pid_t
spawn_holder(struct fixture *fx, const char *rec, int fds[2])
{
	struct storage	*st;
	pid_t		 pid;
	int		 got;

	assert_int_equal(pipe(fds), 0);
	pid = test_fork_ha(fx);
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		if (open_store_ha(inner_name(fx), fx->dir, &st) != CF_OK)
			_exit(1);
		if (storage_lock_wait(st, rec, 5000, &got) != CF_OK || !got)
			_exit(2);
		if (write(fds[1], "h", 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	close(fds[1]);
	return pid;
}
