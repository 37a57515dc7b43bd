/*
 * test_jsoncache.c -- the decoded-document cache keeps what it was
 * given once a key misses twice, hands out copies, never keeps a
 * document read before a write of its key, and stays within its byte
 * budget.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "err.h"
#include "jsoncache.h"

/* The ticket of key's second miss in a row: one that admits. */
static unsigned long long
second_miss(const char *key)
{
	unsigned long long	 t;

	assert_null(jsoncache_get(key, &t));
	assert_null(jsoncache_get(key, &t));
	return t;
}

static void
test_hit_is_a_copy(void **state)
{
	unsigned long long	 t;
	json_t			*d, *c1, *c2;

	(void)state;
	jsoncache_clear();
	d = json_pack("{s:i, s:[s]}", "v", 1, "l", "x");
	jsoncache_put("a/k", d, 20, second_miss("a/k"));
	json_object_set_new(d, "v", json_integer(2));	/* the caller's */
	c1 = jsoncache_get("a/k", &t);
	assert_non_null(c1);
	assert_int_equal(json_integer_value(json_object_get(c1, "v")), 1);
	json_object_set_new(c1, "v", json_integer(3));
	c2 = jsoncache_get("a/k", &t);
	assert_int_equal(json_integer_value(json_object_get(c2, "v")), 1);
	assert_ptr_not_equal(c1, c2);
	json_decref(c1);
	json_decref(c2);
	json_decref(d);
	assert_null(jsoncache_get("a/other", &t));
}

/* A first miss's ticket does not admit, a second miss's does. */
static void
test_admits(void **state)
{
	unsigned long long	 t;

	(void)state;
	jsoncache_clear();
	assert_null(jsoncache_get("m/k", &t));
	assert_false(jsoncache_admits(t));
	assert_true(jsoncache_admits(second_miss("m/k")));
}

static void
test_read_once_is_not_kept(void **state)
{
	unsigned long long	 t;
	json_t			*d = json_pack("{s:s}", "v", "x"), *c;

	(void)state;
	jsoncache_clear();
	assert_null(jsoncache_get("o/k", &t));
	jsoncache_put("o/k", d, 9, t);
	assert_null(jsoncache_get("o/k", &t));	/* first read: no copy */
	jsoncache_put("o/k", d, 9, t);		/* second: kept */
	c = jsoncache_get("o/k", &t);
	assert_non_null(c);
	json_decref(c);
	json_decref(d);
}

static void
test_write_during_read_is_not_kept(void **state)
{
	unsigned long long	 t;
	json_t			*old, *c;

	(void)state;
	jsoncache_clear();
	/* A reader misses and reads storage; a writer drops meanwhile. */
	t = second_miss("b/k");
	old = json_pack("{s:s}", "v", "old");
	jsoncache_drop("b/k");
	jsoncache_put("b/k", old, 11, t);
	assert_null(jsoncache_get("b/k", &t));
	/* The next reader's fill is kept. */
	jsoncache_put("b/k", old, 11, t);
	json_decref(old);
	c = jsoncache_get("b/k", &t);
	assert_non_null(c);
	json_decref(c);
	/* A write drops it. */
	jsoncache_drop("b/k");
	assert_null(jsoncache_get("b/k", &t));
}

static void
test_clear_and_size(void **state)
{
	unsigned long long	 t, t2;
	json_t			*d = json_pack("{s:s}", "v", "x"), *c;

	(void)state;
	jsoncache_clear();
	t = second_miss("c/k");
	jsoncache_put("c/k", d, 9, t);
	c = jsoncache_get("c/k", &t2);
	assert_non_null(c);
	json_decref(c);
	/* A fill that started before a clear is not kept either. */
	jsoncache_clear();
	t = second_miss("c/k");
	jsoncache_clear();
	jsoncache_put("c/k", d, 9, t);
	assert_null(jsoncache_get("c/k", &t2));
	/* Too big a document is not kept. */
	t = second_miss("c/k");
	jsoncache_put("c/k", d, JSONCACHE_DOC_MAX + 1, t);
	assert_null(jsoncache_get("c/k", &t2));
	json_decref(d);
	jsoncache_clear();
}

static void
test_byte_budget(void **state)
{
	json_t	*d = json_pack("{s:s}", "v", "x"), *c;
	char	 key[32];
	unsigned long long t;
	int	 i, kept = 0;

	(void)state;
	jsoncache_clear();
	for (i = 0; i < 4000; i++) {
		snprintf(key, sizeof(key), "d/%d", i);
		jsoncache_put(key, d, JSONCACHE_DOC_MAX, second_miss(key));
	}
	for (i = 0; i < 4000; i++) {
		snprintf(key, sizeof(key), "d/%d", i);
		if ((c = jsoncache_get(key, &t)) != NULL)
			kept++;
		json_decref(c);
	}
	assert_true(kept > 0);
	assert_true(kept <= (int)(JSONCACHE_BYTES_MAX / JSONCACHE_DOC_MAX));
	/* Room again once they are gone. */
	jsoncache_clear();
	jsoncache_put("d/0", d, JSONCACHE_DOC_MAX, second_miss("d/0"));
	c = jsoncache_get("d/0", &t);
	assert_non_null(c);
	json_decref(c);
	json_decref(d);
	jsoncache_clear();
}

static int
peek_v(const json_t *doc, void *arg)
{
	*(json_int_t *)arg = json_integer_value(json_object_get(doc, "v"));
	return CF_OK;
}

static void
test_peek(void **state)
{
	unsigned long long	 t;
	json_int_t		 v = 0;
	json_t			*d = json_pack("{s:i}", "v", 7);
	int			 rc = -1;

	(void)state;
	jsoncache_clear();
	assert_int_equal(jsoncache_peek("p/k", peek_v, &v, &t, &rc), 0);
	assert_int_equal(rc, -1);
	assert_int_equal(jsoncache_peek("p/k", peek_v, &v, &t, &rc), 0);
	jsoncache_put("p/k", d, 7, t);		/* second miss: kept */
	assert_int_equal(jsoncache_peek("p/k", peek_v, &v, &t, &rc), 1);
	assert_int_equal(rc, CF_OK);
	assert_int_equal(v, 7);
	json_decref(d);
	jsoncache_clear();
}

/* jsoncache_peek's reader for a ticket alone. */
static int
peek_none(const json_t *doc, void *arg)
{
	(void)doc;
	(void)arg;
	return CF_OK;
}

/* A ticket as core_batch_json takes one, before its write. */
static unsigned long long
write_ticket(const char *key)
{
	unsigned long long	 t;
	int			 rc;

	(void)jsoncache_peek(key, peek_none, NULL, &t, &rc);
	return t;
}

static json_int_t
cached_v(const char *key)
{
	unsigned long long	 t;
	json_t			*c;
	json_int_t		 v;

	if ((c = jsoncache_get(key, &t)) == NULL)
		return -1;
	v = json_integer_value(json_object_get(c, "v"));
	json_decref(c);
	return v;
}

/* A new document {"v": v}, for jsoncache_write to take. */
static json_t *
doc_v(int v)
{
	return json_pack("{s:i}", "v", v);
}

static void
test_write_through(void **state)
{
	unsigned long long	 t, fill;
	json_t			*d1 = doc_v(1), *given;

	(void)state;
	jsoncache_clear();
	/* Read (a miss), then written: the new document is kept. */
	assert_null(jsoncache_get("w/k", &t));
	jsoncache_write("w/k", doc_v(1), 7, write_ticket("w/k"));
	assert_int_equal(cached_v("w/k"), 1);
	/* Written again while kept: replaced, not dropped. */
	jsoncache_write("w/k", doc_v(2), 7, write_ticket("w/k"));
	assert_int_equal(cached_v("w/k"), 2);
	/* The document given is kept as it is: no copy. */
	given = doc_v(4);
	jsoncache_write("w/k", json_incref(given), 7, write_ticket("w/k"));
	assert_int_equal(given->refcount, 2);
	json_decref(given);
	assert_int_equal(cached_v("w/k"), 4);
	/* Another write of w/k between the ticket and this one: dropped. */
	t = write_ticket("w/k");
	jsoncache_write("w/k", doc_v(1), 7, write_ticket("w/k"));
	jsoncache_write("w/k", doc_v(3), 7, t);
	assert_int_equal(cached_v("w/k"), -1);
	/* A clear (seal, role change) after the ticket: nothing kept. */
	assert_null(jsoncache_get("w/k", &t));
	t = write_ticket("w/k");
	jsoncache_clear();
	jsoncache_write("w/k", doc_v(3), 7, t);
	assert_int_equal(cached_v("w/k"), -1);
	/* A key written without a read before it is not kept. */
	jsoncache_write("w/n", doc_v(1), 7, write_ticket("w/n"));
	assert_int_equal(cached_v("w/n"), -1);
	/* A fill that read before the write is stale: the write's stays. */
	assert_null(jsoncache_get("w/f", &fill));
	assert_null(jsoncache_get("w/f", &fill));
	jsoncache_write("w/f", doc_v(3), 7, write_ticket("w/f"));
	jsoncache_put("w/f", d1, 7, fill);
	assert_int_equal(cached_v("w/f"), 3);
	/* Over the size of one document: dropped, not kept. */
	jsoncache_write("w/f", doc_v(1), JSONCACHE_DOC_MAX + 1,
	    write_ticket("w/f"));
	assert_int_equal(cached_v("w/f"), -1);
	json_decref(d1);
	jsoncache_clear();
}

/*
 * A take hands over the cached document itself and empties the slot;
 * its ticket stays current until a write or drop, and the write that
 * follows is kept.  A take that misses gives NULL.
 */
static void
test_take(void **state)
{
	unsigned long long	 t;
	json_t			*d = doc_v(5), *got;

	(void)state;
	jsoncache_clear();
	assert_null(jsoncache_take("t/k", &t));
	assert_null(jsoncache_get("t/k", &t));
	jsoncache_put("t/k", d, 7, t);		/* missed twice: kept */
	assert_int_equal(cached_v("t/k"), 5);
	got = jsoncache_take("t/k", &t);
	assert_non_null(got);
	assert_int_equal(json_integer_value(json_object_get(got, "v")), 5);
	json_decref(got);
	assert_true(jsoncache_is_current("t/k", t));
	assert_int_equal(cached_v("t/k"), -1);	/* taken out */
	jsoncache_write("t/k", doc_v(6), 7, write_ticket("t/k"));
	assert_int_equal(cached_v("t/k"), 6);	/* the write's is kept */
	assert_false(jsoncache_is_current("t/k", t));
	json_decref(d);
	jsoncache_clear();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_is_a_copy),
		cmocka_unit_test(test_admits),
		cmocka_unit_test(test_read_once_is_not_kept),
		cmocka_unit_test(test_write_during_read_is_not_kept),
		cmocka_unit_test(test_clear_and_size),
		cmocka_unit_test(test_byte_budget),
		cmocka_unit_test(test_peek),
		cmocka_unit_test(test_write_through),
		cmocka_unit_test(test_take),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
