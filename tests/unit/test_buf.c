/*
 * test_buf.c -- struct buf and struct strv.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "err.h"

static void
test_append_grows(void **state)
{
	struct buf	 b = BUF_INIT;
	size_t		 i;

	(void)state;
	for (i = 0; i < 10000; i++)
		assert_int_equal(buf_append(&b, "ab", 2), CF_OK);
	assert_int_equal(b.len, 20000);
	assert_int_equal(b.data[b.len], '\0');
	assert_memory_equal(b.data + 19998, "ab", 2);
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void
test_printf_and_reset(void **state)
{
	struct buf	 b = BUF_INIT;

	(void)state;
	assert_int_equal(buf_printf(&b, "%s-%d", "x", 42), CF_OK);
	assert_string_equal(b.data, "x-42");
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_int_equal(buf_set(&b, "a\0b", 3), CF_OK);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 3);
	buf_free(&b);
	buf_free(&b);		/* twice is fine */
}

static int	 cut_printf(struct buf *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
cut_printf(struct buf *b, size_t cut, const char *fmt, ...)
{
	va_list	 ap;
	int	 rc;

	va_start(ap, fmt);
	rc = buf_vprintf_cut(b, cut, fmt, ap);
	va_end(ap);
	return rc;
}

/* The text is appended and cut as vsnprintf() into a char[cut] cuts. */
static void
test_vprintf_cut(void **state)
{
	struct buf	 b = BUF_INIT;

	(void)state;
	assert_int_equal(buf_puts(&b, "p:"), CF_OK);
	assert_int_equal(cut_printf(&b, 8, "%s-%d", "ab", 7), CF_OK);
	assert_string_equal(b.data, "p:ab-7");
	assert_int_equal(b.len, 6);
	/* char[8] keeps 7 bytes of "0123456789". */
	assert_int_equal(cut_printf(&b, 8, "%s", "0123456789"), CF_OK);
	assert_int_equal(b.len, 13);
	assert_string_equal(b.data + 6, "0123456");
	assert_int_equal(cut_printf(&b, 0, "%s", "x"), CF_OK);
	assert_int_equal(cut_printf(&b, 1, "%s", "x"), CF_OK);
	assert_int_equal(b.len, 13);
	assert_string_equal(b.data, "p:ab-70123456");
	buf_free(&b);
}

static void
test_strv(void **state)
{
	struct strv	 sv = STRV_INIT;
	size_t		 i;
	char		 k[16];

	(void)state;
	for (i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "k%03zu", 99 - i);
		assert_int_equal(strv_push(&sv, k), CF_OK);
	}
	assert_int_equal(strv_pushn(&sv, "abcdef", 3), CF_OK);
	strv_sort(&sv);
	assert_int_equal(sv.n, 101);
	assert_string_equal(sv.v[0], "abc");
	assert_string_equal(sv.v[1], "k000");
	assert_string_equal(sv.v[100], "k099");
	assert_true(strv_has(&sv, "k050"));
	assert_false(strv_has(&sv, "k100"));
	strv_free(&sv);
	assert_int_equal(sv.n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_grows),
		cmocka_unit_test(test_printf_and_reset),
		cmocka_unit_test(test_vprintf_cut),
		cmocka_unit_test(test_strv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
