/*
 * probes.c -- test programs for ./configure, one per #if TEST_X block.
 * Each must compile with -Werror and exit 0 for HAVE_X to be 1.
 */
#if defined(__linux__)
#define _GNU_SOURCE 1
#endif
#define _DEFAULT_SOURCE 1

#if TEST_SODIUM
#include <sodium.h>
int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	/* 1.0.18 is the oldest release with everything we call. */
	return sodium_library_version_major() < 10;
}
#endif

#if TEST_LMDB
#include <lmdb.h>
int
main(void)
{
	MDB_env	*env;

	if (mdb_env_create(&env) != 0)
		return 1;
	mdb_env_close(env);
	return 0;
}
#endif

#if TEST_JANSSON
#include <jansson.h>
int
main(void)
{
	json_t	*j = json_object();

	json_decref(j);
	return JANSSON_VERSION_HEX < 0x020c00;
}
#endif

#if TEST_CIVETWEB
#include <stddef.h>
#include <civetweb.h>
int
main(void)
{
	return mg_version() == NULL;
}
#endif

#if TEST_CURL
#include <curl/curl.h>
int
main(void)
{
	return curl_version() == NULL;
}
#endif

#if TEST_CMOCKA
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
static void
t(void **state)
{
	(void)state;
	assert_true(1);
}
int
main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(t) };

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif

#if TEST_STRLCPY
#include <string.h>
int
main(void)
{
	char	 b[4];

	return strlcpy(b, "abcdef", sizeof(b)) != 6;
}
#endif

#if TEST_STRTONUM
#include <stdlib.h>
int
main(void)
{
	const char	*e;

	return strtonum("12", 0, 20, &e) != 12;
}
#endif

#if TEST_EXPLICIT_BZERO
#include <string.h>
int
main(void)
{
	char	 b[4] = "abc";

	explicit_bzero(b, sizeof(b));
	return b[0] != 0;
}
#endif

#if TEST_RWLOCK_KIND
#include <pthread.h>
int
main(void)
{
	pthread_rwlockattr_t	 a;

	pthread_rwlockattr_init(&a);
	return pthread_rwlockattr_setkind_np(&a,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP) != 0;
}
#endif

#if TEST_MLOCKALL
#include <sys/mman.h>
int
main(void)
{
	(void)mlockall;
	return 0;
}
#endif
