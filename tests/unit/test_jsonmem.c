/*
 * test_jsonmem.c -- jansson's, libcurl's and OpenSSL's allocator:
 * failures noted per thread; realloc, calloc and strdup keep the size
 * header, and every block is wiped before it goes back to the system.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/crypto.h>

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

static size_t	 expect_len;	/* header + size of the block freed next */
static int	 released, released_dirty;

/* Stands in for free(): was the whole block wiped? */
static void
check_release(void *p)
{
	const unsigned char	*b = p;
	size_t			 i;

	released++;
	for (i = 0; i < expect_len; i++)
		if (b[i] != 0)
			released_dirty++;
	free(p);
}

static void
test_realloc_moves_and_wipes(void **state)
{
	char	*p, *q, *r;

	(void)state;
	jsonmem_set_release(check_release);
	released = released_dirty = 0;
	assert_non_null(p = jsonmem_realloc(NULL, 32));
	assert_int_equal(jsonmem_size(p), 32);
	memset(p, 'A', 32);
	expect_len = 16 + 32;
	assert_non_null(q = jsonmem_realloc(p, 64));
	assert_int_equal(released, 1);
	assert_int_equal(released_dirty, 0);
	assert_int_equal(jsonmem_size(q), 64);
	assert_memory_equal(q, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 32);
	memset(q + 32, 'B', 32);
	expect_len = 16 + 64;
	assert_non_null(r = jsonmem_realloc(q, 8));
	assert_int_equal(released, 2);
	assert_int_equal(released_dirty, 0);
	assert_int_equal(jsonmem_size(r), 8);
	assert_memory_equal(r, "AAAAAAAA", 8);

	/* A failed realloc leaves the block as it was, unfreed. */
	jsonmem_reset();
	jsonmem_fail_after(1);
	assert_null(jsonmem_realloc(r, 4096));
	jsonmem_fail_after(0);
	assert_int_equal(jsonmem_failed(), 1);
	jsonmem_reset();
	assert_int_equal(released, 2);
	assert_int_equal(jsonmem_size(r), 8);
	assert_memory_equal(r, "AAAAAAAA", 8);
	expect_len = 16 + 8;
	jsonmem_free(r);
	assert_int_equal(released, 3);
	assert_int_equal(released_dirty, 0);
	jsonmem_free(NULL);
	assert_int_equal(released, 3);
	jsonmem_set_release(NULL);
}

static void
test_calloc_and_strdup(void **state)
{
	unsigned char	*p;
	char		*s;
	size_t		 i;

	(void)state;
	jsonmem_set_release(check_release);
	released = released_dirty = 0;
	assert_non_null(p = jsonmem_calloc(10, 7));
	assert_int_equal(jsonmem_size(p), 70);
	for (i = 0; i < 70; i++)
		assert_int_equal(p[i], 0);
	memset(p, 0xff, 70);
	expect_len = 16 + 70;
	jsonmem_free(p);
	assert_non_null(s = jsonmem_strdup("X-Vault-Token: s.secret"));
	assert_string_equal(s, "X-Vault-Token: s.secret");
	assert_int_equal(jsonmem_size(s), sizeof("X-Vault-Token: s.secret"));
	expect_len = 16 + sizeof("X-Vault-Token: s.secret");
	jsonmem_free(s);
	assert_int_equal(released, 2);
	assert_int_equal(released_dirty, 0);

	jsonmem_reset();
	assert_null(jsonmem_calloc(SIZE_MAX / 2, 3));
	assert_int_equal(jsonmem_failed(), 1);
	jsonmem_reset();
	assert_int_equal(released, 2);
	jsonmem_set_release(NULL);
}

/* OpenSSL's blocks (TLS record buffers) come from here and are wiped. */
static void
test_openssl_allocates_here(void **state)
{
	unsigned char	*p;

	(void)state;
	jsonmem_set_release(check_release);
	released = released_dirty = 0;
	assert_non_null(p = OPENSSL_malloc(40));
	assert_int_equal(jsonmem_size(p), 40);
	memset(p, 0xff, 40);
	expect_len = 16 + 40;
	assert_non_null(p = OPENSSL_realloc(p, 100));
	assert_int_equal(jsonmem_size(p), 100);
	assert_int_equal(released, 1);
	memset(p, 0xff, 100);
	expect_len = 16 + 100;
	OPENSSL_free(p);
	assert_int_equal(released, 2);
	assert_int_equal(released_dirty, 0);
	jsonmem_set_release(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_failure),
		cmocka_unit_test(test_failure_is_noted),
		cmocka_unit_test(test_failures_are_per_thread),
		cmocka_unit_test(test_realloc_moves_and_wipes),
		cmocka_unit_test(test_calloc_and_strdup),
		cmocka_unit_test(test_openssl_allocates_here),
	};

	jsonmem_install();
	if (jsonmem_install_openssl() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
