/*
 * test_jsonmem.c -- jansson's allocator: failures noted per thread.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <pthread.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "jsonmem.h"

static void
test_no_failure(void **state)
{
	json_t	*o;

	(void)state;
	jsonmem_reset();
	o = json_pack("{s:s, s:i}", "a", "b", "c", 1);
	assert_non_null(o);
	assert_int_equal(json_object_size(o), 2);
	assert_int_equal(jsonmem_failed(), 0);
	json_decref(o);
}

/* A response built without checking results is caught anyway. */
static void
test_failure_is_noted(void **state)
{
	json_t	*o;
	int	 i;

	(void)state;
	jsonmem_reset();
	o = json_object();
	assert_non_null(o);
	jsonmem_fail_after(1);
	for (i = 0; i < 4; i++)
		(void)json_object_set_new(o, "k", json_string("v"));
	jsonmem_fail_after(0);
	assert_int_equal(json_object_size(o), 0);
	assert_int_equal(jsonmem_failed(), 1);
	jsonmem_reset();
	assert_int_equal(jsonmem_failed(), 0);
	json_decref(o);
}

static void *
other_thread(void *arg)
{
	json_t	*o = json_string("x");

	*(int *)arg = jsonmem_failed();
	json_decref(o);
	return NULL;
}

static void
test_failures_are_per_thread(void **state)
{
	pthread_t	 t;
	int		 seen = -1;

	(void)state;
	jsonmem_reset();
	jsonmem_fail_after(1);
	assert_null(json_string("y"));
	jsonmem_fail_after(0);
	assert_int_equal(jsonmem_failed(), 1);
	assert_int_equal(pthread_create(&t, NULL, other_thread, &seen), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(seen, 0);
	jsonmem_reset();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_failure),
		cmocka_unit_test(test_failure_is_noted),
		cmocka_unit_test(test_failures_are_per_thread),
	};

	jsonmem_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
