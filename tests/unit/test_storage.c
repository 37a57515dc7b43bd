/*
 * test_storage.c -- one conformance suite, run unchanged against every
 * storage backend: lmdb, file and inmem, each plain and wrapped in an
 * unarmed faultstore (whose wrapping must change nothing).  The fault
 * tests then arm it and check that the Nth call fails with CF_EIO and
 * has no effect, and that the calls around it are untouched.
 *
 * Each test opens a fresh store in a new temporary directory under /tmp
 * and removes it afterwards.  Tests that need durability (reopen, crash)
 * or a backend's own machinery (two LMDB processes, map growth, the file
 * backend's journal and lock) skip the backends they do not apply to.
 *
 * postgresql runs the same suite when COFFER_TEST_PG_URL names a test
 * database (make check starts one with tests/pgtest.sh); each fixture
 * gets a table of its own, named after its directory, dropped at
 * teardown.  Without the variable the postgresql groups are skipped,
 * saying so.
 *
 * The crash tests fork a writer (several threads) that reports each
 * acknowledged write through a pipe, kill it with SIGKILL at a random
 * moment, reopen the store and check every acknowledged write, and that
 * the write in flight is either absent or whole.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
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
#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "storage.h"
#include "faultstore.h"

#define MIB		(1024 * 1024)
#define CRASH_ROUNDS	5
#define CRASH_THREADS	4

/* A backend name "fault:lmdb" is lmdb wrapped in a faultstore. */
#define FAULT_PREFIX	"fault:"

struct fixture {
	const char	*backend;	/* as given to open_store */
	char		 dir[64];
	struct storage	*st;
};

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(path);
}

#define PG_URL_ENV	"COFFER_TEST_PG_URL"
#define PG_HA_TIMEOUT	"1000ms"
#define PG_HA_TIMEOUT_MS 1000

/* The test table of a fixture directory: "t_" and its random tail. */
static void
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
static void
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
static int
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

static int
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
static int
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

static int
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

static int setup_lmdb(void **s) { return setup(s, "lmdb"); }
static int setup_file(void **s) { return setup(s, "file"); }
static int setup_inmem(void **s) { return setup(s, "inmem"); }
static int setup_fault_lmdb(void **s) { return setup(s, "fault:lmdb"); }
static int setup_fault_file(void **s) { return setup(s, "fault:file"); }
static int setup_fault_inmem(void **s) { return setup(s, "fault:inmem"); }
static int setup_pg(void **s) { return setup(s, "postgresql"); }
static int setup_fault_pg(void **s) { return setup(s, "fault:postgresql"); }

static int
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
	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static void
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

static pid_t
test_fork(void)
{
	pid_t	 pid;

	fflush(NULL);
	if ((pid = fork()) == 0)
		alarm(CHILD_ALARM_SECONDS);
	return pid;
}

/* waitpid(pid, status, 0), bounded: the child is killed at the limit. */
static pid_t
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

static void
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
static pid_t
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

static int
is_wrapped(const struct fixture *fx)
{
	return strncmp(fx->backend, FAULT_PREFIX, strlen(FAULT_PREFIX)) == 0;
}

/* The backend under any faultstore. */
static const char *
inner_name(const struct fixture *fx)
{
	return fx->backend + (is_wrapped(fx) ? strlen(FAULT_PREFIX) : 0);
}

static int
is_durable(const struct fixture *fx)
{
	return strcmp(inner_name(fx), "inmem") != 0;
}

static int
is_backend(const struct fixture *fx, const char *name)
{
	return strcmp(inner_name(fx), name) == 0;
}

/* Backends with an HA lock, unwrapped (the lock tests run on these). */
static int
has_ha(const struct fixture *fx)
{
	return !is_wrapped(fx) && (is_backend(fx, "lmdb") ||
	    is_backend(fx, "postgresql"));
}

static void
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

static void
check_missing(struct storage *st, const char *key)
{
	struct buf	 b = BUF_INIT;

	assert_int_equal(storage_get(st, key, &b), CF_ENOTFOUND);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void
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
static void
fill(unsigned char *p, size_t len, unsigned int seed)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(seed * 131u + i * 7u + (i >> 12));
}

static void
test_put_get_overwrite_delete(void **state)
{
	struct fixture	*fx = *state;
	struct buf	 b = BUF_INIT;

	check_missing(fx->st, "a");
	/* A failed get leaves the caller's buffer empty. */
	assert_int_equal(buf_set(&b, "stale", 5), CF_OK);
	assert_int_equal(storage_get(fx->st, "a", &b), CF_ENOTFOUND);
	assert_int_equal(b.len, 0);
	assert_int_equal(storage_put(fx->st, "a", "one", 3), CF_OK);
	check_value(fx->st, "a", "one", 3);
	assert_int_equal(storage_put(fx->st, "a", "second", 6), CF_OK);
	check_value(fx->st, "a", "second", 6);
	assert_int_equal(storage_put(fx->st, "a", "3", 1), CF_OK);
	check_value(fx->st, "a", "3", 1);
	assert_int_equal(storage_put(fx->st, "empty", "", 0), CF_OK);
	check_value(fx->st, "empty", "", 0);
	assert_int_equal(storage_put(fx->st, "null", NULL, 0), CF_OK);
	check_value(fx->st, "null", "", 0);
	assert_int_equal(storage_del(fx->st, "a"), CF_OK);
	check_missing(fx->st, "a");
	/* Deleting what is not there is not an error. */
	assert_int_equal(storage_del(fx->st, "a"), CF_OK);
	assert_int_equal(storage_del(fx->st, "never/was"), CF_OK);
	assert_int_equal(storage_del(fx->st, "empty/x"), CF_OK);
	check_value(fx->st, "empty", "", 0);
	if (is_durable(fx)) {
		assert_int_equal(storage_put(fx->st, "p/q", "v", 1), CF_OK);
		reopen(fx);
		check_value(fx->st, "p/q", "v", 1);
		check_value(fx->st, "empty", "", 0);
		check_missing(fx->st, "a");
	}
	buf_free(&b);
}

static void
test_list_semantics(void **state)
{
	struct fixture		*fx = *state;
	static const char *const keys[] = { "b", "a", "a/x", "a/y/z", "a-b",
	    "a.b", "a0", "c/d/e", "c/f", "a/y/w", "a/x2" };
	static const char *const top[] = { "a", "a-b", "a.b", "a/", "a0",
	    "b", "c/" };
	static const char *const in_a[] = { "x", "x2", "y/" };
	static const char *const in_ay[] = { "w", "z" };
	static const char *const in_c[] = { "d/", "f" };
	static const char *const top2[] = { "a", "a-b", "a.b", "a/", "a0",
	    "b" };
	struct strv		 sv = STRV_INIT;
	size_t			 i;

	expect_list(fx->st, "", NULL, 0);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_int_equal(storage_put(fx->st, keys[i], "v", 1), CF_OK);
	/* "a" is a value and a folder: both come back, the folder once. */
	expect_list(fx->st, "", top, 7);
	expect_list(fx->st, "a/", in_a, 3);
	expect_list(fx->st, "a/y/", in_ay, 2);
	expect_list(fx->st, "c/", in_c, 2);
	expect_list(fx->st, "nothing/", NULL, 0);
	expect_list(fx->st, "b/", NULL, 0);	/* a value, not a folder */
	expect_list(fx->st, "a/x/", NULL, 0);
	/* list appends: what the caller had stays first. */
	assert_int_equal(strv_push(&sv, "zzz"), CF_OK);
	assert_int_equal(storage_list(fx->st, "c/", &sv), CF_OK);
	assert_int_equal(sv.n, 3);
	assert_string_equal(sv.v[0], "zzz");
	assert_string_equal(sv.v[1], "d/");
	strv_free(&sv);
	/* A folder disappears with its last key. */
	assert_int_equal(storage_del(fx->st, "c/d/e"), CF_OK);
	expect_list(fx->st, "c/", in_c + 1, 1);
	assert_int_equal(storage_del(fx->st, "c/f"), CF_OK);
	expect_list(fx->st, "c/", NULL, 0);
	expect_list(fx->st, "", top2, 6);
	/* Deleting the value "a" leaves the folder "a/". */
	assert_int_equal(storage_del(fx->st, "a"), CF_OK);
	expect_list(fx->st, "", top2 + 1, 5);
	expect_list(fx->st, "a/", in_a, 3);
	if (is_durable(fx)) {
		reopen(fx);
		expect_list(fx->st, "", top2 + 1, 5);
		expect_list(fx->st, "a/y/", in_ay, 2);
	}
}

static void
test_binary_and_sizes(void **state)
{
	struct fixture	*fx = *state;
	static const size_t sizes[] = { 0, 1, 4096, MIB, 8 * MIB };
	size_t		 nsizes = sizeof(sizes) / sizeof(sizes[0]);
	unsigned char	*v, all[256];
	char		 key[32];
	size_t		 i;

	v = malloc(8 * MIB);
	assert_non_null(v);
	randombytes_buf(v, 8 * MIB);
	v[0] = 0;
	v[4095] = 0;
	v[8 * MIB - 1] = 0;
	for (i = 0; i < nsizes; i++) {
		snprintf(key, sizeof(key), "bin/%zu", sizes[i]);
		assert_int_equal(storage_put(fx->st, key, v, sizes[i]), CF_OK);
	}
	for (i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)i;
	assert_int_equal(storage_put(fx->st, "bytes", all, sizeof(all)),
	    CF_OK);
	assert_int_equal(storage_put(fx->st, "nul", "a\0b\0", 4), CF_OK);
	if (is_durable(fx))
		reopen(fx);
	for (i = 0; i < nsizes; i++) {
		snprintf(key, sizeof(key), "bin/%zu", sizes[i]);
		check_value(fx->st, key, v, sizes[i]);
	}
	check_value(fx->st, "nul", "a\0b\0", 4);
	check_value(fx->st, "bytes", all, sizeof(all));
	/* Shrinking and growing a value in place. */
	assert_int_equal(storage_put(fx->st, "bin/8388608", "x", 1), CF_OK);
	check_value(fx->st, "bin/8388608", "x", 1);
	assert_int_equal(storage_put(fx->st, "bin/1", v, MIB), CF_OK);
	check_value(fx->st, "bin/1", v, MIB);
	free(v);
}

static void
test_many_keys(void **state)
{
	struct fixture		*fx = *state;
	static const char *const top[] = { "many/", "solo" };
	struct strv		 sv = STRV_INIT;
	char			 key[64], val[64];
	size_t			 i, n = 10000;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "many/k%06zu", i);
		snprintf(val, sizeof(val), "value-%zu", i);
		assert_int_equal(storage_put(fx->st, key, val, strlen(val)),
		    CF_OK);
	}
	assert_int_equal(storage_put(fx->st, "many/sub/x", "x", 1), CF_OK);
	assert_int_equal(storage_put(fx->st, "solo", "s", 1), CF_OK);
	assert_int_equal(storage_list(fx->st, "many/", &sv), CF_OK);
	assert_int_equal(sv.n, n + 1);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "k%06zu", i);
		assert_string_equal(sv.v[i], key);
	}
	assert_string_equal(sv.v[n], "sub/");
	strv_free(&sv);
	/* Ten thousand keys in one folder are one entry of its parent. */
	expect_list(fx->st, "", top, 2);
	for (i = 0; i < n; i += 997) {
		snprintf(key, sizeof(key), "many/k%06zu", i);
		snprintf(val, sizeof(val), "value-%zu", i);
		check_value(fx->st, key, val, strlen(val));
	}
	check_missing(fx->st, "many/k010000");
}

static void
test_odd_keys(void **state)
{
	struct fixture	*fx = *state;
	char		 longseg[400], uniseg[301], longkey[STORAGE_KEY_MAX + 1];
	char		 folder[512], prefix[512], pct[71];
	char		 k1[512], k2[512], k3[512];
	const char	*odd[] = { "h\xc3\xa9llo/w\xc3\xb6rld", "with space",
	    "per%cent", "%41", "A", "_under", "__", "a/_b", "_/_", "~tilde",
	    "dot.dot", ".hidden/x", "..x", "x/...", "q?&=#*\\\"'<>|:",
	    "\xf0\x9f\x94\x91/key", "~", "%", "+", NULL, NULL, NULL };
	size_t		 nodd = sizeof(odd) / sizeof(odd[0]), i;
	struct strv	 sv = STRV_INIT;

	/* 399 bytes of 'L', and 150 two-byte characters (300 bytes). */
	memset(longseg, 'L', sizeof(longseg) - 1);
	longseg[sizeof(longseg) - 1] = '\0';
	for (i = 0; i < 300; i += 2)
		memcpy(uniseg + i, "\xc3\xa9", 2);
	uniseg[300] = '\0';
	/* The longest key: 511 bytes, segments of 100. */
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	for (i = 100; i < STORAGE_KEY_MAX - 1; i += 101)
		longkey[i] = '/';
	odd[nodd - 3] = longseg;
	odd[nodd - 2] = uniseg;
	odd[nodd - 1] = longkey;
	for (i = 0; i < nodd; i++)
		assert_int_equal(storage_put(fx->st, odd[i], odd[i],
		    strlen(odd[i])), CF_OK);
	if (is_durable(fx))
		reopen(fx);
	for (i = 0; i < nodd; i++)
		check_value(fx->st, odd[i], odd[i], strlen(odd[i]));
	assert_int_equal(storage_list(fx->st, "", &sv), CF_OK);
	for (i = 0; i < nodd; i++) {
		const char	*slash = strchr(odd[i], '/');

		if (slash == NULL)
			assert_true(strv_has(&sv, odd[i]));
		else {
			snprintf(prefix, sizeof(prefix), "%.*s",
			    (int)(slash - odd[i] + 1), odd[i]);
			assert_true(strv_has(&sv, prefix));
		}
	}
	for (i = 1; i < sv.n; i++)
		assert_true(strcmp(sv.v[i - 1], sv.v[i]) < 0);
	strv_free(&sv);
	expect_list(fx->st, "_/", (const char *const[]){ "_" }, 1);
	expect_list(fx->st, "x/", (const char *const[]){ "..." }, 1);

	/*
	 * Long segments as folders and values at once, one inside another:
	 * list gives their true names back, and deletes remove the folders.
	 */
	memset(pct, '%', sizeof(pct) - 1);
	pct[sizeof(pct) - 1] = '\0';
	snprintf(k1, sizeof(k1), "%s/%s/leaf", uniseg, pct);
	snprintf(k2, sizeof(k2), "%s/%s", uniseg, pct);
	snprintf(k3, sizeof(k3), "%s/x", longseg);
	assert_int_equal(storage_put(fx->st, k1, "deep", 4), CF_OK);
	assert_int_equal(storage_put(fx->st, k2, "u", 1), CF_OK);
	assert_int_equal(storage_put(fx->st, k3, "x", 1), CF_OK);
	snprintf(prefix, sizeof(prefix), "%s/", uniseg);
	snprintf(folder, sizeof(folder), "%s/", longseg);
	assert_int_equal(storage_list(fx->st, "", &sv), CF_OK);
	assert_true(strv_has(&sv, prefix));
	assert_true(strv_has(&sv, uniseg));
	assert_true(strv_has(&sv, folder));
	assert_true(strv_has(&sv, longseg));
	strv_free(&sv);
	snprintf(folder, sizeof(folder), "%s/", pct);
	expect_list(fx->st, prefix, (const char *const[]){ pct, folder }, 2);
	snprintf(prefix, sizeof(prefix), "%s/%s/", uniseg, pct);
	expect_list(fx->st, prefix, (const char *const[]){ "leaf" }, 1);
	if (is_durable(fx))
		reopen(fx);
	check_value(fx->st, k1, "deep", 4);
	check_value(fx->st, k2, "u", 1);
	check_value(fx->st, k3, "x", 1);
	assert_int_equal(storage_del(fx->st, k1), CF_OK);
	assert_int_equal(storage_del(fx->st, k2), CF_OK);
	assert_int_equal(storage_del(fx->st, k3), CF_OK);
	snprintf(prefix, sizeof(prefix), "%s/", uniseg);
	snprintf(folder, sizeof(folder), "%s/", longseg);
	expect_list(fx->st, prefix, NULL, 0);
	assert_int_equal(storage_list(fx->st, "", &sv), CF_OK);
	assert_false(strv_has(&sv, prefix));
	assert_false(strv_has(&sv, folder));
	assert_true(strv_has(&sv, uniseg));
	assert_true(strv_has(&sv, longseg));
	strv_free(&sv);
	/* A long folder can be made again after that. */
	snprintf(k1, sizeof(k1), "%s/again", uniseg);
	assert_int_equal(storage_put(fx->st, k1, "1", 1), CF_OK);
	expect_list(fx->st, prefix, (const char *const[]){ "again" }, 1);
}

static void
test_invalid_keys(void **state)
{
	struct fixture		*fx = *state;
	const char		*bad[] = { "", "/a", "a/", "a//b", "..", ".",
	    "a/../b", "a/./b", "a/..", "./a", "/", "tab\there", "nl\n",
	    "del\x7f" };
	char			 toolong[STORAGE_KEY_MAX + 2], *huge;
	struct storage_op	 op;
	struct buf		 b = BUF_INIT;
	struct strv		 sv = STRV_INIT;
	size_t			 i;

	memset(toolong, 'x', sizeof(toolong) - 1);
	toolong[sizeof(toolong) - 1] = '\0';
	huge = malloc(4001);
	assert_non_null(huge);
	memset(huge, 'h', 4000);
	for (i = 100; i < 4000; i += 100)
		huge[i] = '/';
	huge[4000] = '\0';
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(storage_put(fx->st, bad[i], "v", 1),
		    CF_EINVAL);
		assert_int_equal(storage_get(fx->st, bad[i], &b), CF_EINVAL);
		assert_int_equal(storage_del(fx->st, bad[i]), CF_EINVAL);
	}
	/* Keys are limited to STORAGE_KEY_MAX bytes (storage.h). */
	assert_int_equal(storage_put(fx->st, toolong, "v", 1), CF_EINVAL);
	assert_int_equal(storage_put(fx->st, huge, "v", 1), CF_EINVAL);
	assert_int_equal(storage_get(fx->st, huge, &b), CF_EINVAL);
	assert_int_equal(storage_put(fx->st, "ok", NULL, 1), CF_EINVAL);
	op.kind = (enum storage_op_kind)7;
	op.key = "ok";
	op.val = "v";
	op.len = 1;
	assert_int_equal(storage_batch(fx->st, &op, 1), CF_EINVAL);
	assert_int_equal(storage_list(fx->st, "a", &sv), CF_EINVAL);
	assert_int_equal(storage_list(fx->st, "a//", &sv), CF_EINVAL);
	assert_int_equal(storage_list(fx->st, "../", &sv), CF_EINVAL);
	assert_int_equal(storage_list(fx->st, "/", &sv), CF_EINVAL);
	/* Nothing got in. */
	assert_int_equal(storage_list(fx->st, "", &sv), CF_OK);
	assert_int_equal(sv.n, 0);
	strv_free(&sv);
	buf_free(&b);
	free(huge);
}

static void
test_batch(void **state)
{
	struct fixture		*fx = *state;
	struct storage_op	 ops[5] = {
		{ STORAGE_OP_PUT, "b/1", "one", 3 },
		{ STORAGE_OP_PUT, "b/2", "two", 3 },
		{ STORAGE_OP_DEL, "b/old", NULL, 0 },
		{ STORAGE_OP_PUT, "b/1", "uno", 3 },
		{ STORAGE_OP_DEL, "b/never", NULL, 0 },
	};
	struct storage_op	 bad[3] = {
		{ STORAGE_OP_PUT, "b/3", "three", 5 },
		{ STORAGE_OP_DEL, "b/2", NULL, 0 },
		{ STORAGE_OP_PUT, "b//x", "bad", 3 },
	};
	struct storage_op	 big[100], one = { STORAGE_OP_DEL, "b/2", NULL,
	    0 };
	char			 keys[100][16];
	size_t			 i;

	assert_int_equal(storage_put(fx->st, "b/old", "x", 1), CF_OK);
	assert_int_equal(storage_batch(fx->st, ops, 5), CF_OK);
	check_value(fx->st, "b/1", "uno", 3);
	check_value(fx->st, "b/2", "two", 3);
	check_missing(fx->st, "b/old");
	check_missing(fx->st, "b/never");
	/* One bad key anywhere: nothing at all is applied. */
	assert_int_equal(storage_batch(fx->st, bad, 3), CF_EINVAL);
	check_missing(fx->st, "b/3");
	check_value(fx->st, "b/2", "two", 3);
	assert_int_equal(storage_batch(fx->st, NULL, 0), CF_OK);
	/* Put then delete the same key in one batch: deleted. */
	for (i = 0; i < 100; i++) {
		snprintf(keys[i], sizeof(keys[i]), "big/%03zu", i);
		big[i].kind = STORAGE_OP_PUT;
		big[i].key = keys[i];
		big[i].val = keys[i];
		big[i].len = strlen(keys[i]);
	}
	big[99].kind = STORAGE_OP_DEL;
	big[99].key = keys[0];
	assert_int_equal(storage_batch(fx->st, big, 100), CF_OK);
	check_missing(fx->st, "big/000");
	check_value(fx->st, "big/098", "big/098", 7);
	check_missing(fx->st, "big/099");
	assert_int_equal(storage_batch(fx->st, &one, 1), CF_OK);
	check_missing(fx->st, "b/2");
	if (is_durable(fx)) {
		reopen(fx);
		check_value(fx->st, "b/1", "uno", 3);
		check_missing(fx->st, "b/2");
		check_value(fx->st, "big/050", "big/050", 7);
		check_missing(fx->st, "big/000");
	}
}

struct worker {
	struct storage	*st;
	int		 id;
	int		 failures;
};

/* Each thread owns "t<id>/": it can check exactly what it reads. */
static void *
worker_run(void *arg)
{
	struct worker		*w = arg;
	struct buf		 b = BUF_INIT;
	struct strv		 sv = STRV_INIT;
	struct storage_op	 ops[2];
	char			 key[64], key2[64], val[64], val2[64];
	int			 i;

	for (i = 0; i < 150; i++) {
		snprintf(key, sizeof(key), "t%d/k%d", w->id, i);
		snprintf(val, sizeof(val), "%d:%d", w->id, i);
		if (storage_put(w->st, key, val, strlen(val)) != CF_OK)
			w->failures++;
		if (storage_get(w->st, key, &b) != CF_OK ||
		    b.len != strlen(val) || memcmp(b.data, val, b.len) != 0)
			w->failures++;
		if (i % 3 == 0) {
			/* Overwrite by batch, deleting the previous key. */
			snprintf(val2, sizeof(val2), "%d:%d:b", w->id, i);
			snprintf(key2, sizeof(key2), "t%d/k%d", w->id, i - 1);
			ops[0].kind = STORAGE_OP_PUT;
			ops[0].key = key;
			ops[0].val = val2;
			ops[0].len = strlen(val2);
			ops[1].kind = STORAGE_OP_DEL;
			ops[1].key = key2;
			ops[1].val = NULL;
			ops[1].len = 0;
			if (storage_batch(w->st, ops, i > 0 ? 2 : 1) != CF_OK)
				w->failures++;
			if (storage_get(w->st, key, &b) != CF_OK ||
			    b.len != strlen(val2) ||
			    memcmp(b.data, val2, b.len) != 0)
				w->failures++;
			if (i > 0 && storage_get(w->st, key2, &b) !=
			    CF_ENOTFOUND)
				w->failures++;
		}
		if (i % 25 == 0) {
			if (storage_list(w->st, "", &sv) != CF_OK)
				w->failures++;
			strv_free(&sv);
		}
	}
	buf_free(&b);
	return NULL;
}

static void
test_threads(void **state)
{
	struct fixture	*fx = *state;
	pthread_t	 t[8];
	struct worker	 w[8];
	struct strv	 sv = STRV_INIT;
	char		 key[64], val[64];
	int		 i, k, present;

	for (i = 0; i < 8; i++) {
		w[i].st = fx->st;
		w[i].id = i;
		w[i].failures = 0;
		assert_int_equal(pthread_create(&t[i], NULL, worker_run,
		    &w[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	if (is_durable(fx))
		reopen(fx);
	expect_list(fx->st, "", (const char *const[]){ "t0/", "t1/", "t2/",
	    "t3/", "t4/", "t5/", "t6/", "t7/" }, 8);
	/* Exactly the keys the batches did not delete, with their values. */
	for (i = 0; i < 8; i++) {
		present = 0;
		for (k = 0; k < 150; k++) {
			snprintf(key, sizeof(key), "t%d/k%d", i, k);
			if ((k + 1) % 3 == 0 && k + 1 < 150) {
				check_missing(fx->st, key);
				continue;
			}
			if (k % 3 == 0)
				snprintf(val, sizeof(val), "%d:%d:b", i, k);
			else
				snprintf(val, sizeof(val), "%d:%d", i, k);
			check_value(fx->st, key, val, strlen(val));
			present++;
		}
		snprintf(key, sizeof(key), "t%d/", i);
		assert_int_equal(storage_list(fx->st, key, &sv), CF_OK);
		assert_int_equal(sv.n, (size_t)present);
		strv_free(&sv);
	}
}

/* Two processes write one LMDB directory at the same time. */
static void
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
static void
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
		usleep(10000 + (unsigned int)(rand() % 190000));
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

static void
test_crash(void **state)
{
	struct fixture	*fx = *state;

	if (!is_durable(fx))
		skip();
	crash_rounds(fx, 0);
}

static void
test_crash_batch(void **state)
{
	struct fixture	*fx = *state;

	if (!is_durable(fx))
		skip();
	crash_rounds(fx, 1);
}

/* Write a file under dir with the given bytes. */
static void
write_raw(const char *dir, const char *rel, const void *p, size_t len)
{
	char	 path[256];
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	close(fd);
}

/* Append one journal op: [u8 kind][u32 klen][key][u32 vlen][val]. */
static void
journal_op(struct buf *j, int kind, const char *key, const char *val)
{
	uint8_t	 b[5];
	size_t	 kl = strlen(key), vl = val != NULL ? strlen(val) : 0;

	b[0] = (uint8_t)kind;
	b[1] = 0;
	b[2] = 0;
	b[3] = (uint8_t)(kl >> 8);
	b[4] = (uint8_t)kl;
	assert_int_equal(buf_append(j, b, 5), CF_OK);
	assert_int_equal(buf_append(j, key, kl), CF_OK);
	b[0] = 0;
	b[1] = 0;
	b[2] = (uint8_t)(vl >> 8);
	b[3] = (uint8_t)vl;
	assert_int_equal(buf_append(j, b, 4), CF_OK);
	assert_int_equal(buf_append(j, val, vl), CF_OK);
}

/*
 * The file backend after a crash: a committed journal (".journal") is
 * replayed at open, an uncommitted one (".journal.tmp") is dropped, and
 * temporary files and the folders they alone kept are swept.
 */
static void
test_file_recovery(void **state)
{
	struct fixture	*fx = *state;
	struct buf	 j = BUF_INIT, t = BUF_INIT;
	char		 path[256];

	if (!is_backend(fx, "file"))
		skip();
	assert_int_equal(storage_put(fx->st, "j/old", "old", 3), CF_OK);
	assert_int_equal(storage_put(fx->st, "j/keep", "keep", 4), CF_OK);
	assert_int_equal(storage_put(fx->st, "gone/x", "x", 1), CF_OK);
	storage_close(fx->st);
	fx->st = NULL;

	assert_int_equal(buf_append(&j, "\0\0\0\3", 4), CF_OK);
	journal_op(&j, STORAGE_OP_PUT, "j/a", "1");
	journal_op(&j, STORAGE_OP_DEL, "j/old", NULL);
	journal_op(&j, STORAGE_OP_PUT, "j/new/deep", "2");
	write_raw(fx->dir, ".journal", j.data, j.len);
	assert_int_equal(buf_append(&t, "\0\0\0\1", 4), CF_OK);
	journal_op(&t, STORAGE_OP_PUT, "j/never", "3");
	write_raw(fx->dir, ".journal.tmp", t.data, t.len);
	/* A crash mid-put, and a folder kept alive by leftovers only. */
	write_raw(fx->dir, "j/.tmp-7", "junk", 4);
	snprintf(path, sizeof(path), "%s/stale", fx->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	write_raw(fx->dir, "stale/.tmp-1", "junk", 4);
	snprintf(path, sizeof(path), "%s/.mkdir-3", fx->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	write_raw(fx->dir, ".mkdir-3/.name", "half", 4);

	assert_int_equal(open_store(fx->backend, fx->dir, &fx->st), CF_OK);
	check_value(fx->st, "j/a", "1", 1);
	check_missing(fx->st, "j/old");
	check_value(fx->st, "j/new/deep", "2", 1);
	check_value(fx->st, "j/keep", "keep", 4);
	check_missing(fx->st, "j/never");
	expect_list(fx->st, "", (const char *const[]){ "gone/", "j/" }, 2);
	expect_list(fx->st, "j/", (const char *const[]){ "a", "keep",
	    "new/" }, 3);
	snprintf(path, sizeof(path), "%s/.journal", fx->dir);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/.journal.tmp", fx->dir);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/j/.tmp-7", fx->dir);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/.mkdir-3", fx->dir);
	assert_int_equal(access(path, F_OK), -1);

	/* A committed journal that cannot be read stops open. */
	storage_close(fx->st);
	fx->st = NULL;
	write_raw(fx->dir, ".journal", j.data, j.len - 1);
	assert_int_equal(open_store(fx->backend, fx->dir, &fx->st), CF_EIO);
	assert_null(fx->st);
	write_raw(fx->dir, ".journal", j.data, j.len);
	assert_int_equal(open_store(fx->backend, fx->dir, &fx->st), CF_OK);
	check_value(fx->st, "j/a", "1", 1);
	buf_free(&j);
	buf_free(&t);
}

/* A file store belongs to one handle: a second open is refused. */
static void
test_file_lock(void **state)
{
	struct fixture	*fx = *state;
	struct storage	*st2 = NULL;

	if (!is_backend(fx, "file"))
		skip();
	assert_int_equal(open_store("file", fx->dir, &st2), CF_EIO);
	assert_null(st2);
	storage_close(fx->st);
	fx->st = NULL;
	assert_int_equal(open_store("file", fx->dir, &st2), CF_OK);
	storage_close(st2);
	assert_int_equal(open_store(fx->backend, fx->dir, &fx->st), CF_OK);
}

/* open makes the directory, private, and fails cleanly without one. */
static void
test_open(void **state)
{
	struct fixture	*fx = *state;
	struct storage	*st2 = NULL;
	struct stat	 sb;
	char		 path[128];

	/* A directory's life; postgresql has test_pg_open instead. */
	if (!is_durable(fx) || is_backend(fx, "postgresql"))
		skip();
	snprintf(path, sizeof(path), "%s/sub", fx->dir);
	assert_int_equal(open_store(fx->backend, path, &st2), CF_OK);
	assert_int_equal(storage_put(st2, "k", "v", 1), CF_OK);
	storage_close(st2);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0700);
	st2 = NULL;
	assert_int_equal(open_store(fx->backend, NULL, &st2), CF_EINVAL);
	assert_null(st2);
	snprintf(path, sizeof(path), "%s/no/such/parent", fx->dir);
	assert_int_equal(open_store(fx->backend, path, &st2), CF_EIO);
	assert_null(st2);
	assert_int_equal(open_store("nosuch", fx->dir, &st2), CF_EINVAL);
	assert_string_equal(storage_name(fx->st),
	    is_wrapped(fx) ? "fault" : fx->backend);
}

/*
 * The faultstore, armed: the Nth call of the kinds armed for fails with
 * CF_EIO and changes nothing; the calls before and after it, and calls
 * of other kinds, pass through.  Each kind in turn.
 */
static void
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
static void
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

static void
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
static void
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
static void
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

/* Milliseconds on the monotonic clock. */
static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for a child and expect it to have exited with 0. */
static void
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
static pid_t
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

/*
 * One process per LMDB directory: a second non-HA open is refused
 * whether the first is an HA node or not, and an HA node is refused
 * beside a non-HA process; the refused process changes nothing.
 */
static void
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

/*
 * Stores without HA: every lock method is CF_ENOTSUP, ha_enabled refused.
 * postgresql has HA (test_pg_ha_*), and without ha_enabled answers as
 * lmdb does (test_pg_no_ha).
 */
static void
test_lock_unsupported(void **state)
{
	struct fixture	*fx = *state;
	struct storage	*st2 = NULL;
	struct buf	 b = BUF_INIT;
	int		 got = 1;

	if (is_backend(fx, "lmdb") || is_backend(fx, "postgresql"))
		skip();
	assert_int_equal(storage_lock_try(fx->st, "x", &got), CF_ENOTSUP);
	assert_int_equal(got, 0);
	got = 1;
	assert_int_equal(storage_lock_wait(fx->st, "x", 10, &got),
	    CF_ENOTSUP);
	assert_int_equal(got, 0);
	assert_int_equal(storage_lock_release(fx->st), CF_ENOTSUP);
	assert_int_equal(storage_lock_holder(fx->st, &b), CF_ENOTSUP);
	assert_int_equal(storage_lock_check(fx->st), CF_ENOTSUP);
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
static void
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
static void
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
	int		 fds[2], got = 1;

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
	assert_int_equal(storage_lock_holder(fx->st, &b), CF_ENOTFOUND);
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
static void
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
static void
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

/*
 * Delete by prefix: everything under the folder goes, in one call,
 * and nothing beside it, even where LIKE would match more ('_' and '%'
 * are wildcards there, '\\' its escape).
 */
static void
test_del_prefix(void **state)
{
	struct fixture	*fx = *state;
	const char	*gone[] = { "m/a", "m/b/c", "m/b/d/e", "m/%", "m/_/x" };
	const char	*kept[] = { "m", "m_/x", "mm/x", "m%/y", "n/z", "mb/c",
	    "b\\/k", "bX/k", "m0/q" };
	size_t		 i;

	for (i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		assert_int_equal(storage_put(fx->st, gone[i], "g", 1), CF_OK);
	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		assert_int_equal(storage_put(fx->st, kept[i], kept[i],
		    strlen(kept[i])), CF_OK);
	/* LIKE-special prefixes list only their own folder. */
	expect_list(fx->st, "m_/", (const char *const[]){ "x" }, 1);
	expect_list(fx->st, "m%/", (const char *const[]){ "y" }, 1);
	expect_list(fx->st, "b\\/", (const char *const[]){ "k" }, 1);
	assert_int_equal(storage_del_prefix(fx->st, "m/"), CF_OK);
	if (is_durable(fx))
		reopen(fx);
	for (i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		check_missing(fx->st, gone[i]);
	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		check_value(fx->st, kept[i], kept[i], strlen(kept[i]));
	expect_list(fx->st, "m/", NULL, 0);
	/* '_' and '%' and '\\' are themselves, not wildcards. */
	assert_int_equal(storage_del_prefix(fx->st, "m_/"), CF_OK);
	check_missing(fx->st, "m_/x");
	check_value(fx->st, "mm/x", "mm/x", 4);
	check_value(fx->st, "mb/c", "mb/c", 4);
	assert_int_equal(storage_del_prefix(fx->st, "m%/"), CF_OK);
	check_missing(fx->st, "m%/y");
	check_value(fx->st, "m0/q", "m0/q", 4);
	assert_int_equal(storage_del_prefix(fx->st, "b\\/"), CF_OK);
	check_missing(fx->st, "b\\/k");
	check_value(fx->st, "bX/k", "bX/k", 4);
	/* Nothing there is fine; "" (everything) and a non-folder are not. */
	assert_int_equal(storage_del_prefix(fx->st, "nothing/"), CF_OK);
	assert_int_equal(storage_del_prefix(fx->st, ""), CF_EINVAL);
	assert_int_equal(storage_del_prefix(fx->st, "n"), CF_EINVAL);
	assert_int_equal(storage_del_prefix(fx->st, "../"), CF_EINVAL);
	check_value(fx->st, "n/z", "n/z", 3);
	check_value(fx->st, "m", "m", 1);
}

/* Each backend checks its own configuration keys. */
static void
test_conf_check(void **state)
{
	char	 why[256];

	(void)state;
	assert_int_equal(storage_conf_check("lmdb", "table", "x", why,
	    sizeof(why)), CF_EINVAL);
	assert_non_null(strstr(why, "unknown key \"table\""));
	assert_int_equal(storage_conf_check("file", "max_parallel", "1", why,
	    sizeof(why)), CF_EINVAL);
	assert_int_equal(storage_conf_check("inmem", "x", "1", why,
	    sizeof(why)), CF_EINVAL);
	assert_int_equal(storage_conf_check("nosuch", "x", "1", why,
	    sizeof(why)), CF_EINVAL);
	assert_int_equal(storage_conf_check("postgresql", "connection_url",
	    "postgres://u:p@h/db", why, sizeof(why)), CF_OK);
	assert_int_equal(storage_conf_check("postgresql", "connection_url",
	    "", why, sizeof(why)), CF_EINVAL);
	assert_int_equal(storage_conf_check("postgresql", "table",
	    "vault_kv_store", why, sizeof(why)), CF_OK);
	assert_int_equal(storage_conf_check("postgresql", "table",
	    "kv\"; DROP TABLE x; --", why, sizeof(why)), CF_EINVAL);
	assert_int_equal(storage_conf_check("postgresql", "ha_table", "",
	    why, sizeof(why)), CF_EINVAL);
	assert_int_equal(storage_conf_check("postgresql", "max_parallel",
	    "128", why, sizeof(why)), CF_OK);
	assert_int_equal(storage_conf_check("postgresql", "max_parallel",
	    "0", why, sizeof(why)), CF_EINVAL);
	assert_int_equal(storage_conf_check("postgresql", "max_parallel",
	    "many", why, sizeof(why)), CF_EINVAL);
	assert_int_equal(storage_conf_check("postgresql", "skip_create_table",
	    "true", why, sizeof(why)), CF_OK);
	assert_int_equal(storage_conf_check("postgresql", "skip_create_table",
	    "yes please", why, sizeof(why)), CF_EINVAL);
	assert_int_equal(storage_conf_check("postgresql", "path", "/d", why,
	    sizeof(why)), CF_EINVAL);
	assert_non_null(strstr(why, "unknown key \"path\""));
}

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

/* Opening: settings, the environment's URL, Vault's table layout. */
static void
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
static void
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
static void
test_pg_no_ha(void **state)
{
	struct fixture	*fx = *state;
	struct buf	 b = BUF_INIT;
	int		 got = 1;

	if (!is_backend(fx, "postgresql") || is_wrapped(fx))
		skip();
	assert_int_equal(storage_lock_try(fx->st, "x", &got), CF_ENOTSUP);
	assert_int_equal(got, 0);
	got = 1;
	assert_int_equal(storage_lock_wait(fx->st, "x", 10, &got),
	    CF_ENOTSUP);
	assert_int_equal(got, 0);
	assert_int_equal(storage_lock_release(fx->st), CF_ENOTSUP);
	assert_int_equal(storage_lock_holder(fx->st, &b), CF_ENOTSUP);
	assert_int_equal(storage_lock_check(fx->st), CF_ENOTSUP);
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
static void
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
static void
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
static void
test_pg_ha_session_lost(void **state)
{
	struct fixture	*fx = *state;
	long long	 t0;
	int		 got = 0;

	if (!is_backend(fx, "postgresql") || is_wrapped(fx))
		skip();
	reopen_ha(fx);
	assert_int_equal(storage_lock_try(fx->st, "{\"id\":\"a\"}", &got),
	    CF_OK);
	assert_int_equal(got, 1);
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

#define T(fn, setupfn)	cmocka_unit_test_setup_teardown(fn, setupfn, teardown)
#define BACKEND_TESTS(s)						\
	T(test_put_get_overwrite_delete, s),				\
	T(test_list_semantics, s),					\
	T(test_binary_and_sizes, s),					\
	T(test_many_keys, s),						\
	T(test_odd_keys, s),						\
	T(test_invalid_keys, s),					\
	T(test_batch, s),						\
	T(test_threads, s),						\
	T(test_open, s),						\
	T(test_two_processes, s),					\
	T(test_map_growth, s),						\
	T(test_file_recovery, s),					\
	T(test_file_lock, s),						\
	T(test_crash, s),						\
	T(test_crash_batch, s),						\
	T(test_lmdb_one_process, s),					\
	T(test_lock_unsupported, s),					\
	T(test_ha_mutual_exclusion, s),					\
	T(test_ha_holder_sigkill, s),					\
	T(test_ha_wait_timeout, s),					\
	T(test_ha_lock_lost, s),					\
	T(test_fault_each_kind, s),					\
	T(test_fault_sticky, s),					\
	T(test_fault_parse, s),						\
	T(test_fault_armfile, s),					\
	T(test_fault_threads, s),					\
	T(test_del_prefix, s),						\
	T(test_pg_open, s),						\
	T(test_pg_reconnect, s),					\
	T(test_pg_no_ha, s),						\
	T(test_pg_ha_fence, s),						\
	T(test_pg_ha_pause, s),						\
	T(test_pg_ha_session_lost, s)

int
main(void)
{
	const struct CMUnitTest lmdb_tests[] = { BACKEND_TESTS(setup_lmdb) };
	const struct CMUnitTest file_tests[] = { BACKEND_TESTS(setup_file) };
	const struct CMUnitTest inmem_tests[] = {
	    BACKEND_TESTS(setup_inmem) };
	const struct CMUnitTest fault_lmdb_tests[] = {
	    BACKEND_TESTS(setup_fault_lmdb) };
	const struct CMUnitTest fault_file_tests[] = {
	    BACKEND_TESTS(setup_fault_file) };
	const struct CMUnitTest fault_inmem_tests[] = {
	    BACKEND_TESTS(setup_fault_inmem) };
	const struct CMUnitTest pg_tests[] = { BACKEND_TESTS(setup_pg) };
	const struct CMUnitTest fault_pg_tests[] = {
	    BACKEND_TESTS(setup_fault_pg) };
	const struct CMUnitTest conf_tests[] = {
	    cmocka_unit_test(test_conf_check) };
	int	 failed = 0;

	if (sodium_init() < 0)
		return 1;
	/* Expected failures (a refused open) would clutter the output. */
	log_setlevel(LOG_LVL_ERROR);
	srand((unsigned int)time(NULL) ^ (unsigned int)getpid());
	failed += cmocka_run_group_tests_name("lmdb", lmdb_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("file", file_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("inmem", inmem_tests, NULL,
	    NULL);
	failed += cmocka_run_group_tests_name("fault:lmdb", fault_lmdb_tests,
	    NULL, NULL);
	failed += cmocka_run_group_tests_name("fault:file", fault_file_tests,
	    NULL, NULL);
	failed += cmocka_run_group_tests_name("fault:inmem",
	    fault_inmem_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("conf", conf_tests, NULL, NULL);
	if (getenv(PG_URL_ENV) == NULL || *getenv(PG_URL_ENV) == '\0') {
		printf("[ SKIPPED  ] postgresql: %s is not set (make check "
		    "starts a test database with tests/pgtest.sh)\n",
		    PG_URL_ENV);
		return failed != 0;
	}
	failed += cmocka_run_group_tests_name("postgresql", pg_tests, NULL,
	    NULL);
	failed += cmocka_run_group_tests_name("fault:postgresql",
	    fault_pg_tests, NULL, NULL);
	return failed != 0;
}
