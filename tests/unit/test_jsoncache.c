/*
 * test_jsoncache.c -- the decoded-document cache keeps what it was
 * given, hands out copies, and never keeps a document read before a
 * write of its key.
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

#include "jsoncache.h"

static void
test_hit_is_a_copy(void **state)
{
	unsigned long long	 gen;
	json_t			*d, *c1, *c2;

	(void)state;
	jsoncache_clear();
	assert_null(jsoncache_get("a/k", &gen));
	d = json_pack("{s:i, s:[s]}", "v", 1, "l", "x");
	jsoncache_put("a/k", d, 20, gen);
	json_object_set_new(d, "v", json_integer(2));	/* the caller's */
	c1 = jsoncache_get("a/k", &gen);
	assert_non_null(c1);
	assert_int_equal(json_integer_value(json_object_get(c1, "v")), 1);
	json_object_set_new(c1, "v", json_integer(3));
	c2 = jsoncache_get("a/k", &gen);
	assert_int_equal(json_integer_value(json_object_get(c2, "v")), 1);
	assert_ptr_not_equal(c1, c2);
	json_decref(c1);
	json_decref(c2);
	json_decref(d);
	assert_null(jsoncache_get("a/other", &gen));
}

static void
test_write_during_read_is_not_kept(void **state)
{
	unsigned long long	 gen;
	json_t			*old;

	(void)state;
	jsoncache_clear();
	/* A reader misses and reads storage; a writer drops meanwhile. */
	assert_null(jsoncache_get("b/k", &gen));
	old = json_pack("{s:s}", "v", "old");
	jsoncache_drop("b/k");
	jsoncache_put("b/k", old, 11, gen);
	assert_null(jsoncache_get("b/k", &gen));
	/* The next reader's fill is kept. */
	jsoncache_put("b/k", old, 11, gen);
	json_decref(old);
	old = jsoncache_get("b/k", &gen);
	assert_non_null(old);
	json_decref(old);
	/* A write drops it. */
	jsoncache_drop("b/k");
	assert_null(jsoncache_get("b/k", &gen));
}

static void
test_clear_and_size(void **state)
{
	unsigned long long	 gen, gen2;
	json_t			*d = json_pack("{s:s}", "v", "x"), *c;

	(void)state;
	assert_null(jsoncache_get("c/k", &gen));
	jsoncache_put("c/k", d, 9, gen);
	c = jsoncache_get("c/k", &gen2);
	assert_non_null(c);
	json_decref(c);
	/* A fill that started before a clear is not kept either. */
	jsoncache_clear();
	assert_null(jsoncache_get("c/k", &gen2));
	jsoncache_put("c/k", d, 9, gen);
	assert_null(jsoncache_get("c/k", &gen2));
	/* Too big a document is not kept. */
	jsoncache_put("c/k", d, JSONCACHE_DOC_MAX + 1, gen2);
	assert_null(jsoncache_get("c/k", &gen2));
	json_decref(d);
	jsoncache_clear();
}

static void
test_byte_budget(void **state)
{
	unsigned long long	 gen;
	json_t			*d = json_pack("{s:s}", "v", "x"), *c;
	char			 key[32];
	int			 i, kept = 0;

	(void)state;
	jsoncache_clear();
	for (i = 0; i < 4000; i++) {
		snprintf(key, sizeof(key), "d/%d", i);
		assert_null(jsoncache_get(key, &gen));
		jsoncache_put(key, d, JSONCACHE_DOC_MAX, gen);
	}
	for (i = 0; i < 4000; i++) {
		snprintf(key, sizeof(key), "d/%d", i);
		if ((c = jsoncache_get(key, &gen)) != NULL)
			kept++;
		json_decref(c);
	}
	assert_true(kept > 0);
	assert_true(kept <= (int)(JSONCACHE_BYTES_MAX / JSONCACHE_DOC_MAX));
	/* Room again once they are gone. */
	jsoncache_clear();
	assert_null(jsoncache_get("d/0", &gen));
	jsoncache_put("d/0", d, JSONCACHE_DOC_MAX, gen);
	c = jsoncache_get("d/0", &gen);
	assert_non_null(c);
	json_decref(c);
	json_decref(d);
	jsoncache_clear();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_is_a_copy),
		cmocka_unit_test(test_write_during_read_is_not_kept),
		cmocka_unit_test(test_clear_and_size),
		cmocka_unit_test(test_byte_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
