/*
 * test_paths.c -- the path table matcher of core/paths.c: literal and
 * captured segments, "*", the order of entries, trailing slashes, LIST
 * paths, the capture check and what a miss is.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "paths.h"
#include "req.h"

static int
h_a(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)m;
	(void)req;
	(void)resp;
	(void)a;
	return 1;
}

static int
h_b(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)m;
	(void)req;
	(void)resp;
	(void)a;
	return 2;
}

static int
h_c(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)m;
	(void)req;
	(void)resp;
	(void)a;
	return 3;
}

/* Names of one to eight lower-case letters; other captures anything. */
static int
check_name(const char *name, const char *value)
{
	size_t	 i, n = strlen(value);

	if (strcmp(name, "name") != 0)
		return 1;
	if (n == 0 || n > 8)
		return 0;
	for (i = 0; i < n; i++)
		if (value[i] < 'a' || value[i] > 'z')
			return 0;
	return 1;
}

static const struct path_entry entries[] = {
	{ "keys/", PATH_LIST, h_a },
	{ "keys/:name", PATH_READ, h_a },
	{ "keys/:name", PATH_WRITE, h_b },
	{ "keys/:name/rotate", PATH_WRITE, h_c },
	{ "keys/:name/:field", PATH_READ, h_b },
	{ "datakey/:kind/:name", PATH_WRITE, h_a },
	{ "data/*", PATH_READ | PATH_PATCH, h_c },
	{ "config", PATH_READ, h_a },
	{ NULL, 0, NULL }
};

static const struct path_table table = {
	.entries = entries,
	.capture_ok = check_name,
};

static enum path_result
match(const char *rel, int op, const struct path_entry **e,
    struct path_args *a)
{
	return paths_match(&table, rel, op, e, a);
}

static void
test_literal(void **state)
{
	const struct path_entry	*e;
	struct path_args	 a;

	(void)state;
	assert_int_equal(match("config", REQ_READ, &e, &a), PATH_MATCH);
	assert_ptr_equal(e, &entries[7]);
	assert_int_equal(a.n, 0);
	/* No prefix, no extension, no trailing slash. */
	assert_int_equal(match("conf", REQ_READ, &e, &a), PATH_NOPATH);
	assert_int_equal(match("configs", REQ_READ, &e, &a), PATH_NOPATH);
	assert_int_equal(match("config/", REQ_READ, &e, &a), PATH_NOPATH);
	assert_int_equal(match("config/x", REQ_READ, &e, &a), PATH_NOPATH);
	assert_int_equal(match("", REQ_READ, &e, &a), PATH_NOPATH);
	assert_null(e);
}

static void
test_captures(void **state)
{
	const struct path_entry	*e;
	struct path_args	 a;

	(void)state;
	assert_int_equal(match("keys/abc", REQ_READ, &e, &a), PATH_MATCH);
	assert_ptr_equal(e->fn, h_a);
	assert_int_equal(a.n, 1);
	assert_string_equal(a.v[0], "abc");
	assert_int_equal(match("datakey/wrapped/k", REQ_UPDATE, &e, &a),
	    PATH_MATCH);
	assert_int_equal(a.n, 2);
	assert_string_equal(a.v[0], "wrapped");
	assert_string_equal(a.v[1], "k");
	/* One segment each: more segments are another path. */
	assert_int_equal(match("datakey/a/b/c", REQ_UPDATE, &e, &a),
	    PATH_NOPATH);
	/* The check refuses a bad :name, so the path is not there. */
	assert_int_equal(match("keys/ABC", REQ_READ, &e, &a), PATH_NOPATH);
	assert_int_equal(match("keys/abc!", REQ_UPDATE, &e, &a),
	    PATH_NOPATH);
	/* ... but not the other captures, which may even be empty. */
	assert_int_equal(match("datakey//k", REQ_UPDATE, &e, &a),
	    PATH_MATCH);
	assert_string_equal(a.v[0], "");
	assert_string_equal(a.v[1], "k");
	assert_int_equal(match("keys/abc/", REQ_READ, &e, &a), PATH_MATCH);
	assert_ptr_equal(e, &entries[4]);
	assert_string_equal(a.v[1], "");
}

static void
test_rest(void **state)
{
	const struct path_entry	*e;
	struct path_args	 a;

	(void)state;
	assert_int_equal(match("data/a/b/c", REQ_READ, &e, &a), PATH_MATCH);
	assert_ptr_equal(e->fn, h_c);
	assert_int_equal(a.n, 1);
	assert_string_equal(a.v[0], "a/b/c");
	assert_int_equal(match("data/", REQ_PATCH, &e, &a), PATH_MATCH);
	assert_string_equal(a.v[0], "");
	assert_int_equal(match("data/x/", REQ_READ, &e, &a), PATH_MATCH);
	assert_string_equal(a.v[0], "x/");
	/* "*" follows the '/': the bare word is another path. */
	assert_int_equal(match("data", REQ_READ, &e, &a), PATH_NOPATH);
	assert_int_equal(match("database", REQ_READ, &e, &a), PATH_NOPATH);
}

static void
test_precedence(void **state)
{
	const struct path_entry	*e;
	struct path_args	 a;

	(void)state;
	/* The same pattern, one entry per operation. */
	assert_int_equal(match("keys/k", REQ_READ, &e, &a), PATH_MATCH);
	assert_ptr_equal(e->fn, h_a);
	assert_int_equal(match("keys/k", REQ_CREATE, &e, &a), PATH_MATCH);
	assert_ptr_equal(e->fn, h_b);
	/* The literal entry comes first and takes its operations ... */
	assert_int_equal(match("keys/k/rotate", REQ_UPDATE, &e, &a),
	    PATH_MATCH);
	assert_ptr_equal(e->fn, h_c);
	assert_int_equal(a.n, 1);
	/* ... and the capture after it takes the others. */
	assert_int_equal(match("keys/k/rotate", REQ_READ, &e, &a),
	    PATH_MATCH);
	assert_ptr_equal(e, &entries[4]);
	assert_string_equal(a.v[0], "k");
	assert_string_equal(a.v[1], "rotate");
}

static void
test_operations(void **state)
{
	const struct path_entry	*e;
	struct path_args	 a;

	(void)state;
	/* The path is there, the operation is not: 405, not 404. */
	assert_int_equal(match("keys/k", REQ_DELETE, &e, &a), PATH_NOOP);
	assert_null(e);
	assert_int_equal(match("config", REQ_UPDATE, &e, &a), PATH_NOOP);
	assert_int_equal(match("data/x", REQ_DELETE, &e, &a), PATH_NOOP);
	assert_int_equal(match("keys/k/rotate", REQ_DELETE, &e, &a),
	    PATH_NOOP);
	assert_int_equal(match("nothing", REQ_DELETE, &e, &a), PATH_NOPATH);
	assert_int_equal(match("keys/k", -1, &e, &a), PATH_NOOP);
	assert_int_equal(match("keys/k", 40, &e, &a), PATH_NOOP);
}

static void
test_list_paths(void **state)
{
	const struct path_entry	*e;
	struct path_args	 a;

	(void)state;
	/* The router makes LIST paths end in '/'. */
	assert_int_equal(match("keys/", REQ_LIST, &e, &a), PATH_MATCH);
	assert_ptr_equal(e, &entries[0]);
	/* "keys/" is "keys" too, for every operation. */
	assert_int_equal(match("keys", REQ_LIST, &e, &a), PATH_MATCH);
	assert_ptr_equal(e, &entries[0]);
	assert_int_equal(match("keys", REQ_READ, &e, &a), PATH_NOOP);
	assert_int_equal(match("keys/", REQ_READ, &e, &a), PATH_NOOP);
	/* A LIST below a capture is not the list of keys. */
	assert_int_equal(match("keys/k/", REQ_LIST, &e, &a), PATH_NOOP);
	assert_int_equal(match("keys//", REQ_LIST, &e, &a), PATH_NOPATH);
}

static void
test_long(void **state)
{
	const struct path_entry	*e;
	struct path_args	 a;
	char			 p[PATH_MAXLEN + 16];

	(void)state;
	memset(p, 'x', sizeof(p) - 1);
	p[sizeof(p) - 1] = '\0';
	memcpy(p, "data/", 5);
	assert_int_equal(match(p, REQ_READ, &e, &a), PATH_NOPATH);
	p[PATH_MAXLEN - 2] = '\0';
	assert_int_equal(match(p, REQ_READ, &e, &a), PATH_MATCH);
	assert_int_equal(strlen(a.v[0]), PATH_MAXLEN - 2 - 5);
}

static void
test_dump(void **state)
{
	char	 out[4096];
	FILE	*f;
	size_t	 n;

	(void)state;
	assert_non_null(f = fmemopen(out, sizeof(out), "w"));
	paths_dump(f, "engine", "test", &table);
	n = ftell(f);
	fclose(f);
	out[n] = '\0';
	assert_string_equal(out,
	    "engine test - keys/ list\n"
	    "engine test - keys/:name read,create,update\n"
	    "engine test - keys/:name/rotate create,update\n"
	    "engine test - keys/:name/:field read\n"
	    "engine test - datakey/:kind/:name create,update\n"
	    "engine test - data/* read,patch\n"
	    "engine test - config read\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal),
		cmocka_unit_test(test_captures),
		cmocka_unit_test(test_rest),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_operations),
		cmocka_unit_test(test_list_paths),
		cmocka_unit_test(test_long),
		cmocka_unit_test(test_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
