/*
 * test_strutil.c -- string helpers (util/strutil.c).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "strutil.h"

static void
test_lower(void **state)
{
	char	 s[] = "MiXeD-Case_09/Path";
	char	 empty[] = "";
	/* Bytes above 0x7f (here UTF-8 "É") are left alone. */
	char	 utf8[] = "\xc3\x89T\xc3\xa9";

	(void)state;
	assert_ptr_equal(strutil_lower(s), s);
	assert_string_equal(s, "mixed-case_09/path");
	assert_ptr_equal(strutil_lower(empty), empty);
	assert_string_equal(empty, "");
	assert_string_equal(strutil_lower(utf8), "\xc3\x89t\xc3\xa9");
	assert_null(strutil_lower(NULL));
}

static void
test_lower_stops_at_nul(void **state)
{
	char	 s[] = "AB\0CD";

	(void)state;
	strutil_lower(s);
	assert_memory_equal(s, "ab\0CD", sizeof(s));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lower),
		cmocka_unit_test(test_lower_stops_at_nul),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
