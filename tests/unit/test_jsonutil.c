/*
 * test_jsonutil.c -- jsonutil_emit writes jansson's own compact text.
 *
 * Every case is compared with json_dump_callback(JSON_COMPACT |
 * JSON_ENCODE_ANY), byte for byte: fixed edge cases, then thousands of
 * random documents mixing every kind of value, control characters, NUL
 * bytes, multi-byte characters and odd keys.  A string jansson refuses
 * to write (not UTF-8) is refused too, and leaves the buffer as it was.
 */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "jsonutil.h"

static int
ref_cb(const char *p, size_t n, void *arg)
{
	return buf_append(arg, p, n) == CF_OK ? 0 : -1;
}

/* Both writers on j: the same text, or both refuse. */
static void
same_as_jansson(const json_t *j)
{
	struct buf	 mine = BUF_INIT, ref = BUF_INIT;
	int		 r1, r2;

	r1 = json_dump_callback(j, ref_cb, &ref, JSON_COMPACT |
	    JSON_ENCODE_ANY);
	assert_int_equal(buf_append(&mine, "x", 1), CF_OK);
	r2 = jsonutil_emit(j, &mine);
	if (r1 != 0) {
		assert_int_not_equal(r2, CF_OK);
		assert_int_equal(mine.len, 1);	/* nothing half-written */
	} else {
		assert_int_equal(r2, CF_OK);
		assert_int_equal(mine.len, ref.len + 1);
		assert_memory_equal(mine.data + 1, ref.data, ref.len);
	}
	buf_free(&mine);
	buf_free(&ref);
}

static void
test_edges(void **state)
{
	static const char	 ctl[] = "a\"b\\c\b\f\n\r\t\x01\x1f\x7f/</";
	json_t			*j;

	(void)state;
	j = json_pack("{s:n, s:b, s:b, s:I, s:I, s:I, s:I, s:s, s:[], "
	    "s:{}, s:f, s:f, s:f}", "null", "t", 1, "f", 0,
	    "max", (json_int_t)LLONG_MAX, "min", (json_int_t)LLONG_MIN,
	    "zero", (json_int_t)0, "neg", (json_int_t)-7, "ctl", ctl,
	    "ea", "eo", "r1", 1.0, "r2", -0.000001, "r3", 1e300);
	assert_non_null(j);
	json_object_set_new(j, "nul", json_stringn("a\0b", 3));
	json_object_setn_new(j, "k\0ey", 4, json_string("v"));
	json_object_set_new(j, "utf8", json_string("\xc3\xa9\xe2\x82\xac"
	    "\xf0\x9f\x94\x91 \xe2\x80\xa8"));
	json_object_set_new(j, "\"quoted\\key\n", json_integer(1));
	same_as_jansson(j);
	json_decref(j);
	j = json_string("top-level");
	same_as_jansson(j);
	json_decref(j);
	j = json_integer(-1);
	same_as_jansson(j);
	json_decref(j);
	j = json_pack("[[[[]]], {\"a\":[1,{\"b\":null}]}]");
	same_as_jansson(j);
	json_decref(j);
}

/*
 * The writer skips plain 8-byte words whole: each byte that needs a
 * second look (an escape, a control, DEL, UTF-8 of 2 to 4 bytes, bytes
 * that are not UTF-8) at every place in strings of up to 40 bytes, so
 * across and at every word boundary, written as jansson writes it.
 */
static void
test_words(void **state)
{
	static const char *const odd[] = { "\"", "\\", "\n", "\x01",
	    "\x1f", "\x7f", "\x20", "\xc3\xa9", "\xe2\x82\xac",
	    "\xf0\x9f\x94\x91", "\xff", "\xc3", "\x80" };
	char		 str[64];
	json_t		*j;
	size_t		 len, pos, i, k;

	(void)state;
	for (len = 0; len <= 40; len++)
		for (pos = 0; pos <= len; pos++)
			for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
				memset(str, 'a', len);
				k = strlen(odd[i]);
				memcpy(str + pos, odd[i], k);
				/* nocheck: bad UTF-8 must reach the writer. */
				j = json_stringn_nocheck(str, len + k);
				assert_non_null(j);
				same_as_jansson(j);
				json_decref(j);
			}
}

static void
test_not_utf8(void **state)
{
	static const char *const bad[] = {
		"\xff", "\xc0\x80", "\xe0\x80\x80", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "\xc3", "ok\xe2\x82", "\x80"
	};
	json_t	*j;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = json_pack("{s:o}", "k", json_string_nocheck(bad[i]));
		assert_non_null(j);
		same_as_jansson(j);
		json_decref(j);
	}
}

/* A random string: ASCII, controls, NULs and multi-byte characters. */
static json_t *
random_string(void)
{
	static const char *const pieces[] = {
		"a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\x01",
		"\x1f", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x94\x91",
		"\xe2\x80\xa8", "hvs.", "{}", "[", ":"
	};
	char	 s[64];
	size_t	 n = 0, len, p;
	int	 i, count = rand() % 8;

	for (i = 0; i < count; i++) {
		if (rand() % 10 == 0) {
			s[n++] = '\0';
			continue;
		}
		p = (size_t)rand() % (sizeof(pieces) / sizeof(pieces[0]));
		len = strlen(pieces[p]);
		memcpy(s + n, pieces[p], len);
		n += len;
	}
	return json_stringn(s, n);
}

static json_t *
random_value(int depth)
{
	json_t	*j, *k;
	int	 i, n;

	switch (rand() % (depth > 4 ? 6 : 8)) {
	case 0:
		return json_null();
	case 1:
		return json_boolean(rand() % 2);
	case 2:
		return json_integer((json_int_t)rand() * (rand() % 2 ? 1 :
		    -1) * (rand() % 3 == 0 ? 1000003 : 1));
	case 3:
		return json_real((double)rand() / 7.0);
	case 4:
	case 5:
		return random_string();
	case 6:
		j = json_array();
		n = rand() % 5;
		for (i = 0; i < n; i++)
			json_array_append_new(j, random_value(depth + 1));
		return j;
	default:
		j = json_object();
		n = rand() % 5;
		for (i = 0; i < n; i++) {
			k = random_string();
			json_object_setn_new(j, json_string_value(k),
			    json_string_length(k), random_value(depth + 1));
			json_decref(k);
		}
		return j;
	}
}

static void
test_random_documents(void **state)
{
	json_t	*j;
	int	 i;

	(void)state;
	srand(1);
	for (i = 0; i < 5000; i++) {
		j = random_value(0);
		assert_non_null(j);
		same_as_jansson(j);
		json_decref(j);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_not_utf8),
		cmocka_unit_test(test_random_documents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
