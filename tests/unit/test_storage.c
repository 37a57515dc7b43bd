/*
 * test_storage.c -- one conformance suite, run unchanged against every
 * storage backend: lmdb, file and inmem.
 *
 * Each test opens a fresh store in a new temporary directory and
 * removes it afterwards.  The crash test forks a writer that reports
 * each acknowledged put through a pipe, kills it with SIGKILL at a
 * random moment, reopens the store and checks every acknowledged value.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
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
#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "storage.h"

struct fixture {
	const char	*backend;
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

static int
setup(void **state, const char *backend)
{
	struct fixture		*fx;
	struct storage_conf	 sc;

	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx->backend = backend;
	strlcpy(fx->dir, "/tmp/coffer-storage-XXXXXX", sizeof(fx->dir));
	assert_non_null(mkdtemp(fx->dir));
	memset(&sc, 0, sizeof(sc));
	sc.path = fx->dir;
	assert_int_equal(storage_open(backend, &sc, &fx->st), CF_OK);
	*state = fx;
	return 0;
}

static int setup_lmdb(void **s) { return setup(s, "lmdb"); }
static int setup_file(void **s) { return setup(s, "file"); }
static int setup_inmem(void **s) { return setup(s, "inmem"); }

static int
teardown(void **state)
{
	struct fixture	*fx = *state;

	storage_close(fx->st);
	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static void
reopen(struct fixture *fx)
{
	struct storage_conf	 sc;

	storage_close(fx->st);
	memset(&sc, 0, sizeof(sc));
	sc.path = fx->dir;
	assert_int_equal(storage_open(fx->backend, &sc, &fx->st), CF_OK);
}

static int
durable(const struct fixture *fx)
{
	return strcmp(fx->backend, "inmem") != 0;
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
expect_list(struct storage *st, const char *prefix, const char *const *want,
    size_t n)
{
	struct strv	 sv = STRV_INIT;
	size_t		 i;

	assert_int_equal(storage_list(st, prefix, &sv), CF_OK);
	assert_int_equal(sv.n, n);
	for (i = 0; i < n; i++)
		assert_string_equal(sv.v[i], want[i]);
	strv_free(&sv);
}

static void
test_put_get_overwrite_delete(void **state)
{
	struct fixture	*fx = *state;
	struct buf	 b = BUF_INIT;

	assert_int_equal(storage_get(fx->st, "a", &b), CF_ENOTFOUND);
	assert_int_equal(b.len, 0);
	assert_int_equal(storage_put(fx->st, "a", "one", 3), CF_OK);
	check_value(fx->st, "a", "one", 3);
	assert_int_equal(storage_put(fx->st, "a", "second", 6), CF_OK);
	check_value(fx->st, "a", "second", 6);
	assert_int_equal(storage_put(fx->st, "empty", "", 0), CF_OK);
	check_value(fx->st, "empty", "", 0);
	assert_int_equal(storage_del(fx->st, "a"), CF_OK);
	assert_int_equal(storage_get(fx->st, "a", &b), CF_ENOTFOUND);
	assert_int_equal(storage_del(fx->st, "a"), CF_OK);
	assert_int_equal(storage_del(fx->st, "never/was"), CF_OK);
	if (durable(fx)) {
		assert_int_equal(storage_put(fx->st, "p/q", "v", 1), CF_OK);
		reopen(fx);
		check_value(fx->st, "p/q", "v", 1);
		check_value(fx->st, "empty", "", 0);
	}
	buf_free(&b);
}

static void
test_list_semantics(void **state)
{
	struct fixture		*fx = *state;
	static const char *const keys[] = { "b", "a", "a/x", "a/y/z", "a-b",
	    "a0", "c/d/e", "c/f" };
	static const char *const top[] = { "a", "a-b", "a/", "a0", "b",
	    "c/" };
	static const char *const in_a[] = { "x", "y/" };
	static const char *const in_c[] = { "d/", "f" };
	size_t			 i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_int_equal(storage_put(fx->st, keys[i], "v", 1), CF_OK);
	expect_list(fx->st, "", top, 6);
	expect_list(fx->st, "a/", in_a, 2);
	expect_list(fx->st, "c/", in_c, 2);
	expect_list(fx->st, "nothing/", NULL, 0);
	/* A folder disappears with its last key. */
	assert_int_equal(storage_del(fx->st, "c/d/e"), CF_OK);
	expect_list(fx->st, "c/", in_c + 1, 1);
	assert_int_equal(storage_del(fx->st, "c/f"), CF_OK);
	expect_list(fx->st, "c/", NULL, 0);
	{
		static const char *const top2[] = { "a", "a-b", "a/", "a0",
		    "b" };

		expect_list(fx->st, "", top2, 5);
	}
}

static void
test_binary_and_sizes(void **state)
{
	struct fixture	*fx = *state;
	static const size_t sizes[] = { 1, 4096, 1024 * 1024,
	    8 * 1024 * 1024 };
	unsigned char	*v;
	char		 key[32];
	size_t		 i;

	v = malloc(sizes[3]);
	assert_non_null(v);
	randombytes_buf(v, sizes[3]);
	v[0] = 0;
	v[sizes[3] / 2] = 0;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(key, sizeof(key), "bin/%zu", sizes[i]);
		assert_int_equal(storage_put(fx->st, key, v, sizes[i]), CF_OK);
	}
	if (durable(fx))
		reopen(fx);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(key, sizeof(key), "bin/%zu", sizes[i]);
		check_value(fx->st, key, v, sizes[i]);
	}
	assert_int_equal(storage_put(fx->st, "nul", "a\0b\0", 4), CF_OK);
	check_value(fx->st, "nul", "a\0b\0", 4);
	free(v);
}

static void
test_many_keys(void **state)
{
	struct fixture	*fx = *state;
	struct strv	 sv = STRV_INIT;
	char		 key[64], val[64];
	/* fsync per file is slow: the file backend gets fewer keys. */
	size_t		 i, n = strcmp(fx->backend, "file") == 0 ? 2000 :
	    10000;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "many/k%06zu", i);
		snprintf(val, sizeof(val), "value-%zu", i);
		assert_int_equal(storage_put(fx->st, key, val, strlen(val)),
		    CF_OK);
	}
	assert_int_equal(storage_list(fx->st, "many/", &sv), CF_OK);
	assert_int_equal(sv.n, n);
	assert_string_equal(sv.v[0], "k000000");
	snprintf(key, sizeof(key), "k%06zu", n - 1);
	assert_string_equal(sv.v[n - 1], key);
	strv_free(&sv);
	for (i = 0; i < n; i += 997) {
		snprintf(key, sizeof(key), "many/k%06zu", i);
		snprintf(val, sizeof(val), "value-%zu", i);
		check_value(fx->st, key, val, strlen(val));
	}
}

static void
test_odd_keys(void **state)
{
	struct fixture	*fx = *state;
	char		 longseg[400], longkey[STORAGE_KEY_MAX + 1];
	const char	*odd[] = { "h\xc3\xa9llo/w\xc3\xb6rld", "with space",
	    "per%cent", "_under", "a/_b", "~tilde", "dot.dot", ".hidden/x",
	    "q?&=#", NULL, NULL };
	struct strv	 sv = STRV_INIT;
	size_t		 i;

	memset(longseg, 'L', sizeof(longseg) - 1);
	longseg[sizeof(longseg) - 1] = '\0';
	odd[9] = longseg;
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	for (i = 100; i < STORAGE_KEY_MAX - 1; i += 101)
		longkey[i] = '/';
	odd[10] = longkey;
	for (i = 0; i < 11; i++)
		assert_int_equal(storage_put(fx->st, odd[i], odd[i],
		    strlen(odd[i])), CF_OK);
	if (durable(fx))
		reopen(fx);
	for (i = 0; i < 11; i++)
		check_value(fx->st, odd[i], odd[i], strlen(odd[i]));
	assert_int_equal(storage_list(fx->st, "", &sv), CF_OK);
	assert_true(strv_has(&sv, "with space"));
	assert_true(strv_has(&sv, "per%cent"));
	assert_true(strv_has(&sv, "_under"));
	assert_true(strv_has(&sv, "~tilde"));
	assert_true(strv_has(&sv, ".hidden/"));
	assert_true(strv_has(&sv, "h\xc3\xa9llo/"));
	assert_true(strv_has(&sv, longseg));
	strv_free(&sv);
	/* A long folder name comes back whole too. */
	memcpy(longseg + 350, "/leaf", 6);
	assert_int_equal(storage_put(fx->st, longseg, "x", 1), CF_OK);
	longseg[351] = '\0';
	assert_int_equal(storage_list(fx->st, "", &sv), CF_OK);
	assert_true(strv_has(&sv, longseg));
	strv_free(&sv);
}

static void
test_invalid_keys(void **state)
{
	struct fixture	*fx = *state;
	const char	*bad[] = { "", "/a", "a/", "a//b", "..", ".", "a/../b",
	    "a/./b", "tab\there", "nl\n" };
	char		 toolong[STORAGE_KEY_MAX + 2];
	struct buf	 b = BUF_INIT;
	struct strv	 sv = STRV_INIT;
	size_t		 i;

	memset(toolong, 'x', sizeof(toolong) - 1);
	toolong[sizeof(toolong) - 1] = '\0';
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(storage_put(fx->st, bad[i], "v", 1),
		    CF_EINVAL);
		assert_int_equal(storage_get(fx->st, bad[i], &b), CF_EINVAL);
		assert_int_equal(storage_del(fx->st, bad[i]), CF_EINVAL);
	}
	assert_int_equal(storage_put(fx->st, toolong, "v", 1), CF_EINVAL);
	assert_int_equal(storage_list(fx->st, "a", &sv), CF_EINVAL);
	assert_int_equal(storage_list(fx->st, "a//", &sv), CF_EINVAL);
	assert_int_equal(storage_list(fx->st, "../", &sv), CF_EINVAL);
	assert_int_equal(storage_list(fx->st, "", &sv), CF_OK);
	assert_int_equal(sv.n, 0);
	strv_free(&sv);
	buf_free(&b);
}

static void
test_batch(void **state)
{
	struct fixture		*fx = *state;
	struct storage_op	 ops[4] = {
		{ STORAGE_OP_PUT, "b/1", "one", 3 },
		{ STORAGE_OP_PUT, "b/2", "two", 3 },
		{ STORAGE_OP_DEL, "b/old", NULL, 0 },
		{ STORAGE_OP_PUT, "b/1", "uno", 3 },
	};
	struct storage_op	 bad[2] = {
		{ STORAGE_OP_PUT, "b/3", "three", 5 },
		{ STORAGE_OP_PUT, "b//x", "bad", 3 },
	};
	struct buf		 b = BUF_INIT;

	assert_int_equal(storage_put(fx->st, "b/old", "x", 1), CF_OK);
	assert_int_equal(storage_batch(fx->st, ops, 4), CF_OK);
	check_value(fx->st, "b/1", "uno", 3);
	check_value(fx->st, "b/2", "two", 3);
	assert_int_equal(storage_get(fx->st, "b/old", &b), CF_ENOTFOUND);
	assert_int_equal(storage_batch(fx->st, bad, 2), CF_EINVAL);
	assert_int_equal(storage_get(fx->st, "b/3", &b), CF_ENOTFOUND);
	assert_int_equal(storage_batch(fx->st, NULL, 0), CF_OK);
	if (durable(fx)) {
		reopen(fx);
		check_value(fx->st, "b/1", "uno", 3);
	}
	buf_free(&b);
}

struct worker {
	struct storage	*st;
	int		 id;
	int		 failures;
};

static void *
worker_run(void *arg)
{
	struct worker	*w = arg;
	struct buf	 b = BUF_INIT;
	char		 key[64], val[64];
	int		 i;

	for (i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "t%d/k%d", w->id, i);
		snprintf(val, sizeof(val), "%d:%d", w->id, i);
		if (storage_put(w->st, key, val, strlen(val)) != CF_OK)
			w->failures++;
		if (storage_get(w->st, key, &b) != CF_OK ||
		    b.len != strlen(val) || memcmp(b.data, val, b.len) != 0)
			w->failures++;
		if (i % 50 == 0) {
			struct strv	 sv = STRV_INIT;

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
	int		 i;

	for (i = 0; i < 8; i++) {
		w[i].st = fx->st;
		w[i].id = i;
		w[i].failures = 0;
		assert_int_equal(pthread_create(&t[i], NULL, worker_run,
		    &w[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].failures, 0);
	}
	assert_int_equal(storage_list(fx->st, "t3/", &sv), CF_OK);
	assert_int_equal(sv.n, 200);
	strv_free(&sv);
}

/* Two processes share one LMDB directory. */
static void
test_two_processes(void **state)
{
	struct fixture		*fx = *state;
	struct storage_conf	 sc;
	struct storage		*st2;
	pid_t			 pid;
	int			 status;

	if (strcmp(fx->backend, "lmdb") != 0)
		skip();
	assert_int_equal(storage_put(fx->st, "shared/parent", "p", 1), CF_OK);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* A fresh environment of its own, never one across fork. */
		memset(&sc, 0, sizeof(sc));
		sc.path = fx->dir;
		if (storage_open("lmdb", &sc, &st2) != CF_OK)
			_exit(1);
		if (storage_put(st2, "shared/child", "c", 1) != CF_OK)
			_exit(2);
		storage_close(st2);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	check_value(fx->st, "shared/child", "c", 1);
}

/* The value for key number i, of a size that varies with i. */
static size_t
crash_value(unsigned int i, unsigned char *out)
{
	size_t	 len = 1 + (i * 7919u) % 20000u, j;

	for (j = 0; j < len; j++)
		out[j] = (unsigned char)(i * 31u + j);
	return len;
}

static void
test_crash(void **state)
{
	struct fixture		*fx = *state;
	struct storage_conf	 sc;
	struct storage		*st2;
	unsigned char		*val;
	unsigned int		 acked, i, round;
	char			 key[64];
	int			 fds[2];
	pid_t			 pid;
	ssize_t			 n;
	size_t			 len;

	if (!durable(fx))
		skip();
	val = malloc(20001);
	assert_non_null(val);
	srand((unsigned int)time(NULL));
	for (round = 0; round < 5; round++) {
		storage_close(fx->st);
		assert_int_equal(pipe(fds), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			memset(&sc, 0, sizeof(sc));
			sc.path = fx->dir;
			if (storage_open(fx->backend, &sc, &st2) != CF_OK)
				_exit(1);
			for (i = 0;; i++) {
				snprintf(key, sizeof(key), "crash/%u/%u",
				    round, i);
				len = crash_value(i, val);
				if (storage_put(st2, key, val, len) != CF_OK)
					_exit(2);
				/* Acknowledged: the put returned. */
				if (write(fds[1], &i, sizeof(i)) !=
				    sizeof(i))
					_exit(3);
			}
		}
		close(fds[1]);
		usleep(10000 + (unsigned int)(rand() % 190000));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		acked = 0;
		while ((n = read(fds[0], &i, sizeof(i))) == sizeof(i))
			acked = i + 1;
		close(fds[0]);
		memset(&sc, 0, sizeof(sc));
		sc.path = fx->dir;
		assert_int_equal(storage_open(fx->backend, &sc, &fx->st),
		    CF_OK);
		assert_true(acked > 0);
		for (i = 0; i < acked; i++) {
			snprintf(key, sizeof(key), "crash/%u/%u", round, i);
			len = crash_value(i, val);
			check_value(fx->st, key, val, len);
		}
	}
	free(val);
}

#define BACKEND_TESTS(setupfn)						\
	cmocka_unit_test_setup_teardown(test_put_get_overwrite_delete,	\
	    setupfn, teardown),						\
	cmocka_unit_test_setup_teardown(test_list_semantics, setupfn,	\
	    teardown),							\
	cmocka_unit_test_setup_teardown(test_binary_and_sizes, setupfn,	\
	    teardown),							\
	cmocka_unit_test_setup_teardown(test_many_keys, setupfn,	\
	    teardown),							\
	cmocka_unit_test_setup_teardown(test_odd_keys, setupfn,	\
	    teardown),							\
	cmocka_unit_test_setup_teardown(test_invalid_keys, setupfn,	\
	    teardown),							\
	cmocka_unit_test_setup_teardown(test_batch, setupfn, teardown),	\
	cmocka_unit_test_setup_teardown(test_threads, setupfn,	\
	    teardown),							\
	cmocka_unit_test_setup_teardown(test_two_processes, setupfn,	\
	    teardown),							\
	cmocka_unit_test_setup_teardown(test_crash, setupfn, teardown)

int
main(void)
{
	const struct CMUnitTest lmdb_tests[] = { BACKEND_TESTS(setup_lmdb) };
	const struct CMUnitTest file_tests[] = { BACKEND_TESTS(setup_file) };
	const struct CMUnitTest inmem_tests[] = {
	    BACKEND_TESTS(setup_inmem) };
	int	 failed = 0;

	if (sodium_init() < 0)
		return 1;
	failed += cmocka_run_group_tests_name("lmdb", lmdb_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("file", file_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("inmem", inmem_tests, NULL,
	    NULL);
	return failed != 0;
}
