/*
 * test_storage_conform.c -- the conformance suite: get, put, delete,
 * list, batch, delete by prefix, odd and invalid keys, sizes, threads
 * and opening, alike on every backend (inmem skips what needs a
 * reopen); and each backend's check of its configuration keys.
 */
#include "config.h"

#include <sys/stat.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "storage.h"
#include "storage_harness.h"

void
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

void
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

void
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

void
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

void
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

void
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

void
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

void
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

struct crosser {
	struct storage	*st;
	int		 id;
	int		 failures;
};

#define CROSS_ROUNDS	25

/*
 * Each round one batch puts x/s1 and x/s2 (the odd writers in the
 * other order) and the writer's own key, all with the same value.
 */
static void *
crosser_run(void *arg)
{
	struct crosser		*c = arg;
	struct storage_op	 ops[3];
	char			 own[32], val[32];
	int			 r;

	snprintf(own, sizeof(own), "x/t%d", c->id);
	for (r = 0; r < CROSS_ROUNDS; r++) {
		snprintf(val, sizeof(val), "%d:%d", c->id, r);
		ops[0] = (struct storage_op){ STORAGE_OP_PUT,
		    c->id % 2 ? "x/s2" : "x/s1", val, strlen(val) };
		ops[1] = (struct storage_op){ STORAGE_OP_PUT,
		    c->id % 2 ? "x/s1" : "x/s2", val, strlen(val) };
		ops[2] = (struct storage_op){ STORAGE_OP_PUT, own, val,
		    strlen(val) };
		if (storage_batch(c->st, ops, 3) != CF_OK)
			c->failures++;
	}
	return NULL;
}

/*
 * Concurrent batches that write the same two keys in opposite orders
 * all succeed (a backend with row locks must not deadlock them) and
 * stay whole: both keys end with the value of the same batch.
 */
void
test_batch_crossing(void **state)
{
	struct fixture	*fx = *state;
	pthread_t	 t[8];
	struct crosser	 c[8];
	struct buf	 s1 = BUF_INIT, s2 = BUF_INIT;
	char		 key[32], val[32];
	int		 i;

	for (i = 0; i < 8; i++) {
		c[i].st = fx->st;
		c[i].id = i;
		c[i].failures = 0;
		assert_int_equal(pthread_create(&t[i], NULL, crosser_run,
		    &c[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(c[i].failures, 0);
	}
	for (i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "x/t%d", i);
		snprintf(val, sizeof(val), "%d:%d", i, CROSS_ROUNDS - 1);
		check_value(fx->st, key, val, strlen(val));
	}
	assert_int_equal(storage_get(fx->st, "x/s1", &s1), CF_OK);
	assert_int_equal(storage_get(fx->st, "x/s2", &s2), CF_OK);
	assert_int_equal(s1.len, s2.len);
	assert_memory_equal(s1.data, s2.data, s1.len);
	buf_free(&s1);
	buf_free(&s2);
}

/* open makes the directory, private, and fails cleanly without one. */
void
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
 * Delete by prefix: everything under the folder goes, in one call,
 * and nothing beside it, even where LIKE would match more ('_' and '%'
 * are wildcards there, '\\' its escape).
 */
void
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
void
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

/* The key rule of storage.h, written out plainly, segment by segment. */
static int
key_rule(const char *k)
{
	const char	*seg, *end;
	size_t		 len = strlen(k), i, n;

	if (len == 0 || len > STORAGE_KEY_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)k[i] < 0x20 || (unsigned char)k[i] == 0x7f)
			return 0;
	for (seg = k;; seg = end + 1) {
		end = strchr(seg, '/');
		n = end != NULL ? (size_t)(end - seg) : strlen(seg);
		if (n == 0 || (n <= 2 && strncmp(seg, "..", n) == 0))
			return 0;
		if (end == NULL)
			return 1;
	}
}

/*
 * storage_key_is_valid agrees with the rule on every key of up to six
 * bytes from the bytes that matter to it, and at the length limit.
 */
void
test_key_rule(void **state)
{
	static const char	 alpha[] = "a./\x01\x1f\x7f\xc3 0";
	const size_t		 na = sizeof(alpha) - 1;
	char			 k[STORAGE_KEY_MAX + 2];
	size_t			 len, i, n, x;

	(void)state;
	for (len = 1; len <= 6; len++) {
		for (n = 1, i = 0; i < len; i++)
			n *= na;
		for (x = 0; x < n; x++) {
			size_t	 r = x;

			for (i = 0; i < len; i++, r /= na)
				k[i] = alpha[r % na];
			k[len] = '\0';
			if (storage_key_is_valid(k) != key_rule(k))
				fail_msg("key of %zu bytes, number %zu", len,
				    x);
		}
	}
	assert_false(storage_key_is_valid(NULL));
	for (len = STORAGE_KEY_MAX - 2; len <= STORAGE_KEY_MAX + 1; len++)
		for (i = 0; i < 4; i++) {
			memset(k, 'x', len);
			k[len] = '\0';
			k[len - 1 - i] = i % 2 == 0 ? '.' : '/';
			if (i >= 2)
				k[len - 2] = '.';
			assert_int_equal(storage_key_is_valid(k), key_rule(k));
		}
}
