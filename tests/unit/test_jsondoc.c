/*
 * test_jsondoc.c -- jsondoc_parse gives json_loadb's answer for every
 * text, valid or not (same value, same member order, failure where it
 * fails), and parses the documents coffer stores with fewer
 * allocations than jansson's parser; jsondoc_parse_members gives the
 * same less the members it was not asked for, building none of them.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "err.h"
#include "jsondoc.h"

#define META	"{\"cas_required\":false,\"created_time\":" \
	"\"2025-12-02T05:33:40.123456789Z\",\"current_version\":1," \
	"\"custom_metadata\":null,\"delete_version_after\":0," \
	"\"max_versions\":0,\"oldest_version\":0,\"updated_time\":" \
	"\"2025-12-02T05:33:40.123456789Z\",\"versions\":{\"1\":" \
	"{\"created_time\":\"2025-12-02T05:33:40.123456789Z\"," \
	"\"deletion_time\":\"\",\"destroyed\":false}}}"

static long	 nalloc;

static void *
count_malloc(size_t n)
{
	nalloc++;
	return malloc(n);
}

/* What jsondoc_parse_members keeps: some of META's and the texts'. */
static const char *const	 keep_some[] = { "current_version", "versions",
    "custom_metadata", "a", "s", "k\xc3\xa9y\n", NULL };

/*
 * jsondoc_parse (keep NULL) or jsondoc_parse_members (keep) on len
 * bytes of s against want, jansson's answer (NULL: it refuses s);
 * takes want.
 */
static void
check_parse(const char *s, size_t len, const char *const *keep, json_t *want)
{
	json_t	*got = NULL;
	char	*a, *b;
	int	 rc;

	rc = keep == NULL ? jsondoc_parse(s, len, &got) :
	    jsondoc_parse_members(s, len, keep, &got);
	if (want == NULL) {
		if (rc != CF_EINVAL || got != NULL)
			fail_msg("jansson refuses %.*s, we give %d (keep %s)",
			    (int)len, s, rc, keep != NULL ? "some" : "all");
		return;
	}
	if (rc != CF_OK || got == NULL)
		fail_msg("jansson parses %.*s, we give %d (keep %s)", (int)len,
		    s, rc, keep != NULL ? "some" : "all");
	if (!json_equal(want, got))
		fail_msg("different values for %.*s", (int)len, s);
	a = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
	b = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
	assert_non_null(a);
	assert_non_null(b);
	assert_string_equal(a, b);	/* member order too */
	free(a);
	free(b);
	json_decref(want);
	json_decref(got);
}

/*
 * A copy of v less, if it is an object, the members keep_some does not
 * name.
 */
static json_t *
kept_part(const json_t *v)
{
	json_t		*c, *m;
	const char	*k;
	void		*tmp;
	size_t		 i;

	if (v == NULL)
		return NULL;
	assert_non_null(c = json_deep_copy(v));
	if (json_is_object(c))
		json_object_foreach_safe(c, tmp, k, m) {
			for (i = 0; keep_some[i] != NULL; i++)
				if (strcmp(keep_some[i], k) == 0)
					break;
			if (keep_some[i] == NULL)
				json_object_del(c, k);
		}
	return c;
}

/*
 * Compare jsondoc_parse, and jsondoc_parse_members with keep_some, with
 * json_loadb on len bytes of s.
 */
static void
same_as_jansson(const char *s, size_t len)
{
	json_error_t	 je;
	json_t		*want;

	want = json_loadb(s, len, 0, &je);
	check_parse(s, len, keep_some, kept_part(want));
	check_parse(s, len, NULL, want);
}

static void
same(const char *s)
{
	same_as_jansson(s, strlen(s));
}

static void
test_valid(void **state)
{
	(void)state;
	same(META);
	same("{\"data\":{\"v\":\"xxxxxxxxxxxxxxxx\"}}");
	same("{}");
	same("[]");
	same(" \t\r\n{ \"a\" : [ 1 , 2 , [ 3 , { } ] ] , \"b\" : { } } \n");
	same("[true,false,null,0,-0,7,-42,123456789012345678]");
	same("{\"a\":1,\"b\":2,\"a\":3}");	/* the last one wins */
	same("{\"z\":1,\"y\":2,\"x\":3,\"w\":4,\"v\":5,\"u\":6,\"t\":7,"
	    "\"s\":8,\"r\":9,\"q\":10}");
	same("{\"e\":\"q\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"}");
	same("{\"u\":\"\\u00e9\\u20AC\\ud83d\\ude00\\u001f\\u0041\"}");
	same("{\"k\\u00e9y\\n\":1,\"\\\"\":2}");
	same("{\"s\":\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"}");
	same("{\"h\xc3\xa9\":\"x\"}");
	same("{\"s\":1,\"b\":{\"s\":2,\"c\":[1,\"x\\n\",{}]},\"s\":3}");
	same("[\"\",\"\\\\\",\"a\\\\\",\"\\\\a\"]");
}

static void
test_left_to_jansson(void **state)
{
	char	*s;
	size_t	 i;

	(void)state;
	/* Valid, but not the fast path's: jansson answers. */
	same("[1.5,-0.25,1e3,2E-2,0.0]");
	same("[1234567890123456789,-9223372036854775808]");
	same("[9223372036854775807]");
	/* Invalid: jansson's error. */
	same("[9223372036854775808]");
	same("{\"s\":\"\\u0000\"}");
	same("{\"\\u0000\":1}");
	same("{\"s\":\"\\ud800\"}");
	same("{\"s\":\"\\udc00\"}");
	same("{\"s\":\"\\ud800\\u0041\"}");
	same("{\"s\":\"\\x\"}");
	same("{\"s\":\"\\u12g4\"}");
	same("{\"s\":\"\xff\"}");
	same("{\"s\":\"\xc0\x80\"}");
	same("{\"s\":\"\xed\xa0\x80\"}");
	same("{\"\xff\":1}");
	same("{\"s\":\"a\x01" "b\"}");
	same("{\"s\":\"a\tb\"}");
	same("[01]");
	same("[-]");
	same("[-a]");
	same("[1.]");
	same("[1x]");
	same("[tru]");
	same("[nul]");
	same("[falsey]");
	same("[1,]");
	same("[,1]");
	same("{\"a\":1,}");
	same("{\"a\" 1}");
	same("{1:2}");
	same("{\"a\":1}x");
	same("{\"a\":1}{}");
	same("{\"a\":\"abc");
	same("{\"a\":");
	same("{\"a");
	same("[\"\\u12");
	same("[\"\\");
	same("");
	same("   ");
	same("1");
	same("\"s\"");
	same("null");
	same_as_jansson("{\"a\":1}\0", 8);
	same_as_jansson("{\"a\":\"b\0c\"}", 11);
	/* Deep: past the fast path's depth, and past jansson's. */
	for (i = 100; i <= 3000; i += 2900) {
		assert_non_null(s = calloc(2 * i + 1, 1));
		memset(s, '[', i);
		memset(s + i, ']', i);
		same(s);
		free(s);
	}
	/* A long key with an escape, a long escaped string. */
	assert_non_null(s = malloc(1100));
	memset(s, 'k', 1099);
	s[1099] = '\0';
	memcpy(s, "{\"\\n", 4);
	memcpy(s + 300, "\":\"\\t", 5);
	memcpy(s + 1096, "\"}", 3);
	same(s);
	free(s);
}

/* Seeded texts with random bytes changed, cut or doubled: same answers. */
static void
test_mutations(void **state)
{
	static const char *const	 seeds[] = { META,
	    "{\"a\":[1,-2,{\"b\":\"c\\n\\u00e9\\ud83d\\ude00\"}],\"d\":null}",
	    "[\"h\xc3\xa9\",true,false,\"\\\"\\\\\",{},[]]" };
	static const char		 alphabet[] = "{}[]\":,\\u0123456789"
	    "abcdefnrt-+.eE \t\n\x01\x7f\x80\xc3\xa9\xed\xf0\xff";
	char				 t[1024];
	size_t				 i, len, k, n;
	unsigned int			 r = 1;

	(void)state;
	for (i = 0; i < 20000; i++) {
		const char	*s = seeds[i % 3];

		len = strlen(s);
		memcpy(t, s, len);
		n = 1 + i % 4;
		for (k = 0; k < n; k++) {
			r = r * 1103515245 + 12345;
			switch (r >> 28 & 3) {
			case 0:		/* cut */
				len = (r >> 8) % (len + 1);
				break;
			case 1:		/* a repeated stretch */
				if (len > 0 && len < sizeof(t) / 2) {
					size_t	 at = (r >> 8) % len;

					memmove(t + at + (len - at) / 2 + 1,
					    t + at, len - at);
					len += (len - at) / 2 + 1;
				}
				break;
			default:	/* one byte */
				if (len > 0)
					t[(r >> 8) % len] = alphabet[(r >> 16) %
					    (sizeof(alphabet) - 1)];
				break;
			}
		}
		same_as_jansson(t, len);
	}
}

static void
test_fewer_allocations(void **state)
{
	json_error_t	 je;
	json_t		*j;
	long		 jansson, ours;

	(void)state;
	json_set_alloc_funcs(count_malloc, free);
	nalloc = 0;
	assert_non_null(j = json_loadb(META, strlen(META), 0, &je));
	jansson = nalloc;
	json_decref(j);
	nalloc = 0;
	assert_int_equal(jsondoc_parse(META, strlen(META), &j), CF_OK);
	ours = nalloc;
	json_decref(j);
	json_set_alloc_funcs(malloc, free);
	if (ours >= jansson)
		fail_msg("%ld allocations, jansson's parser %ld", ours,
		    jansson);
}

/* Members not kept cost no allocation: fewer than the whole parse's. */
static void
test_members_fewer_allocations(void **state)
{
	json_t	*j;
	long	 whole, some;

	(void)state;
	json_set_alloc_funcs(count_malloc, free);
	nalloc = 0;
	assert_int_equal(jsondoc_parse(META, strlen(META), &j), CF_OK);
	whole = nalloc;
	json_decref(j);
	nalloc = 0;
	assert_int_equal(jsondoc_parse_members(META, strlen(META), keep_some,
	    &j),
	    CF_OK);
	some = nalloc;
	assert_int_equal(json_object_size(j), 3);
	assert_int_equal(json_integer_value(json_object_get(j,
	    "current_version")), 1);
	assert_non_null(json_object_get(json_object_get(j, "versions"), "1"));
	json_decref(j);
	json_set_alloc_funcs(malloc, free);
	if (some >= whole - 8)
		fail_msg("%ld allocations, the whole document's %ld", some,
		    whole);
}

/*
 * The parser skips plain 8-byte words whole: each byte a string's plain
 * run stops at or notes (an escape, a control, DEL, UTF-8 of 2 to 4
 * bytes, bytes that are not UTF-8) at every place in strings of up to
 * 40 bytes, parsed as jansson parses them.
 */
static void
test_words(void **state)
{
	static const char *const odd[] = { "\\\"", "\\\\", "\\n",
	    "\\u00e9", "\"", "\n", "\x01", "\x1f", "\x7f", "\xc3\xa9",
	    "\xe2\x82\xac", "\xf0\x9f\x94\x91", "\xff", "\xc3", "\x80" };
	char		 str[64], text[128];
	size_t		 len, pos, i, k;
	int		 n;

	(void)state;
	for (len = 0; len <= 40; len++)
		for (pos = 0; pos <= len; pos++)
			for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
				k = strlen(odd[i]);
				memset(str, 'a', len);
				memcpy(str + pos, odd[i], k);
				str[len + k] = '\0';
				/* As a value, and as a key. */
				n = snprintf(text, sizeof(text),
				    "{\"v\":\"%s\"}", str);
				same_as_jansson(text, (size_t)n);
				n = snprintf(text, sizeof(text),
				    "{\"%s\":1}", str);
				same_as_jansson(text, (size_t)n);
			}
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_left_to_jansson),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_fewer_allocations),
		cmocka_unit_test(test_members_fewer_allocations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
