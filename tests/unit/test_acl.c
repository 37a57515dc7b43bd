/*
 * test_acl.c -- rule matching, priority, merging, parameters, sudo and
 * the capability names of compiled ACLs.  Policies come from
 * policy_parse(), so the tests read like the policies operators write.
 *
 * One file past 800 lines, on purpose: its 13 tests check one module
 * (acl.c) through one short harness (acl_of() builds an ACL from
 * policy texts, RUN() checks a table of path, operation, parameters
 * and verdict), and each test is little more than its policies and
 * table.  Split by concern, the harness would become a header of its
 * own for files of a few tables each, and rules that interact
 * (priority, merging, parameters, wrapping bounds) would be read
 * apart.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "acl.h"
#include "buf.h"
#include "err.h"
#include "policy.h"
#include "req.h"

#define ALLOW	CF_OK
#define DENY	CF_EDENIED

struct check {
	const char	*path;
	int		 op;
	const char	*params;	/* JSON object text or NULL */
	int		 want;
};

/* An ACL from up to four policy texts (NULL-terminated). */
static struct acl *
acl_of(const char *t1, const char *t2, const char *t3, const char *t4)
{
	const char	*texts[4] = { t1, t2, t3, t4 };
	struct policy	*p[4] = { NULL, NULL, NULL, NULL };
	struct buf	 err = BUF_INIT;
	struct acl	*a = NULL;
	size_t		 i, n = 0;

	for (i = 0; i < 4 && texts[i] != NULL; i++, n++)
		if (policy_parse("p", texts[i], strlen(texts[i]), &p[i],
		    &err) != CF_OK)
			fail_msg("policy %zu: %s", i, err.data);
	assert_int_equal(acl_new(p, n, 0, &a), CF_OK);
	/* The ACL must not depend on the policies it was built from. */
	for (i = 0; i < n; i++)
		policy_free(p[i]);
	buf_free(&err);
	return a;
}

static struct acl *
acl1(const char *text)
{
	return acl_of(text, NULL, NULL, NULL);
}

static const char *
opname(int op)
{
	static const char *const names[] = { "read", "create", "update",
	    "delete", "list", "patch", "head" };

	return op >= 0 && op <= REQ_HEAD ? names[op] : "?";
}

static void
run_checks(const struct acl *a, const struct check *c, size_t n)
{
	json_t		*params;
	json_error_t	 jerr;
	size_t		 i;
	int		 rc;

	for (i = 0; i < n; i++) {
		params = NULL;
		if (c[i].params != NULL &&
		    (params = json_loads(c[i].params, 0, &jerr)) == NULL)
			fail_msg("bad test JSON %s", c[i].params);
		rc = acl_check(a, c[i].path, c[i].op, params, NULL);
		json_decref(params);
		if (rc != c[i].want)
			fail_msg("%s %s %s: got %s, want %s", opname(c[i].op),
			    c[i].path, c[i].params ? c[i].params : "",
			    rc == CF_OK ? "allow" : "deny",
			    c[i].want == CF_OK ? "allow" : "deny");
	}
}

#define RUN(a, t)	run_checks((a), (t), sizeof(t) / sizeof((t)[0]))

static void
test_exact_glob_plus(void **state)
{
	struct acl		*a;
	static const struct check t[] = {
		{ "secret/foo", REQ_READ, NULL, ALLOW },
		{ "/secret/foo", REQ_READ, NULL, ALLOW },
		{ "secret/foo/", REQ_READ, NULL, DENY },
		{ "secret/foo/bar", REQ_READ, NULL, DENY },
		{ "secret/fo", REQ_READ, NULL, DENY },
		{ "secret/foo", REQ_UPDATE, NULL, DENY },
		/* Glob prefix is a string prefix, not a segment one. */
		{ "pre/abc", REQ_READ, NULL, ALLOW },
		{ "pre/abc/d/e", REQ_READ, NULL, ALLOW },
		{ "pre/a", REQ_READ, NULL, ALLOW },
		{ "pre/", REQ_READ, NULL, DENY },
		{ "pre/b", REQ_READ, NULL, DENY },
		/* '+' is exactly one segment. */
		{ "seg/a/x", REQ_READ, NULL, ALLOW },
		{ "seg//x", REQ_READ, NULL, ALLOW },
		{ "seg/a/b/x", REQ_READ, NULL, DENY },
		{ "seg/a/x/y", REQ_READ, NULL, DENY },
		{ "seg/a", REQ_READ, NULL, DENY },
		{ "seg/a/y", REQ_READ, NULL, DENY },
		/* '+' then a trailing star: the last segment is a prefix. */
		{ "two/a/bcd", REQ_READ, NULL, ALLOW },
		{ "two/a/bcd/e/f", REQ_READ, NULL, ALLOW },
		{ "two/a/b", REQ_READ, NULL, ALLOW },
		{ "two/a/c", REQ_READ, NULL, DENY },
		{ "two/a", REQ_READ, NULL, DENY },
		/* Only the last segment is matched as a prefix. */
		{ "twox/a/bcd", REQ_READ, NULL, DENY },
		{ "two/ax/bcd", REQ_READ, NULL, ALLOW },
		/* An empty last segment before the star matches anything. */
		{ "any/a/", REQ_READ, NULL, ALLOW },
		{ "any/a/zz/y", REQ_READ, NULL, ALLOW },
		{ "any/a", REQ_READ, NULL, DENY },
		/* Leading '+'. */
		{ "x/lead", REQ_READ, NULL, ALLOW },
		{ "x/y/lead", REQ_READ, NULL, DENY },
		/* A '+' inside a segment, or a star not at the end: literal. */
		{ "lit/x+y", REQ_READ, NULL, ALLOW },
		{ "lit/xay", REQ_READ, NULL, DENY },
		{ "star/a*b", REQ_READ, NULL, ALLOW },
		{ "star/aXb", REQ_READ, NULL, DENY },
		/* "a/+b" is a segment-kind rule whose "+b" is literal. */
		{ "plusb/+b", REQ_READ, NULL, ALLOW },
		{ "plusb/xb", REQ_READ, NULL, DENY },
		{ "nothing/here", REQ_READ, NULL, DENY },
	};

	(void)state;
	a = acl1("path \"secret/foo\" { capabilities = [\"read\"] }\n"
	    "path \"pre/a*\" { capabilities = [\"read\"] }\n"
	    "path \"seg/+/x\" { capabilities = [\"read\"] }\n"
	    "path \"two/+/b*\" { capabilities = [\"read\"] }\n"
	    "path \"any/+/*\" { capabilities = [\"read\"] }\n"
	    "path \"+/lead\" { capabilities = [\"read\"] }\n"
	    "path \"lit/x+y\" { capabilities = [\"read\"] }\n"
	    "path \"star/a*b\" { capabilities = [\"read\"] }\n"
	    "path \"plusb/+b\" { capabilities = [\"read\"] }\n");
	RUN(a, t);
	acl_free(a);

	/* Without any segment rule the longest prefix decides. */
	a = acl1("path \"k/*\" { capabilities = [\"read\"] }\n"
	    "path \"k/ab*\" { capabilities = [\"list\"] }\n"
	    "path \"k/a*\" { capabilities = [\"update\"] }\n"
	    "path \"*\" { capabilities = [\"delete\"] }\n");
	assert_int_equal(acl_capabilities(a, "k/abc"), ACL_CAP_LIST);
	assert_int_equal(acl_capabilities(a, "k/axe"), ACL_CAP_UPDATE);
	assert_int_equal(acl_capabilities(a, "k/b"), ACL_CAP_READ);
	assert_int_equal(acl_capabilities(a, "zzz"), ACL_CAP_DELETE);
	assert_int_equal(acl_capabilities(a, ""), ACL_CAP_DELETE);
	acl_free(a);
}

/*
 * Each rule of contract 1.7 decides one pair of patterns; each case is
 * built so that the rule after it in the order would pick the other.
 */
static void
test_priority(void **state)
{
	static const struct {
		const char	*winner;
		const char	*loser;
		const char	*path;
	} t[] = {
		/* 1: first wildcard later beats not-ending-in-star. */
		{ "foo/a*", "foo/+", "foo/abc" },
		/* 1 beats fewer '+' segments. */
		{ "foo/bar/+/+", "foo/+/bar/x", "foo/bar/bar/x" },
		/* 1 beats length. */
		{ "foo/bar/+", "foo/+/longer", "foo/bar/longer" },
		{ "foo/bar/+/baz", "foo/+/bar/baz", "foo/bar/bar/baz" },
		/* 2: not ending in star beats fewer '+' and length. */
		{ "foo/+/+", "foo/+/abc*", "foo/x/abcd" },
		{ "foo/+", "foo/*", "foo/x" },
		{ "foo/+/bar", "foo/+/ba*", "foo/x/bar" },
		/* 3: fewer '+' beats length. */
		{ "foo/+/b/c*", "foo/+/+/cde*", "foo/a/b/cdef" },
		/* 4: the longer pattern. */
		{ "foo/+/bar/ba*", "foo/+/bar/b*", "foo/x/bar/bat" },
		/* 5: the lexicographically greater (tie-break only). */
		{ "a/+b/+", "a/+/+c", "a/+b/+c" },
	};
	struct acl	*a;
	char		 text[512];
	size_t		 i;
	int		 order;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		/* Both document orders, so nothing depends on it. */
		for (order = 0; order < 2; order++) {
			snprintf(text, sizeof(text),
			    "path \"%s\" { capabilities = [\"%s\"] }\n"
			    "path \"%s\" { capabilities = [\"%s\"] }\n",
			    order ? t[i].loser : t[i].winner,
			    order ? "update" : "read",
			    order ? t[i].winner : t[i].loser,
			    order ? "read" : "update");
			a = acl1(text);
			if (acl_capabilities(a, t[i].path) != ACL_CAP_READ)
				fail_msg("%s: \"%s\" should beat \"%s\" "
				    "(got caps %#x)", t[i].path, t[i].winner,
				    t[i].loser, acl_capabilities(a, t[i].path));
			assert_int_equal(acl_check(a, t[i].path, REQ_READ,
			    NULL, NULL), CF_OK);
			assert_int_equal(acl_check(a, t[i].path, REQ_UPDATE,
			    NULL, NULL), CF_EDENIED);
			acl_free(a);
		}
	}
}

/* One rule applies: broader grants never add, broader denies never win. */
static void
test_one_rule(void **state)
{
	struct acl		*a;
	static const struct check t[] = {
		/* Glob grants read, exact rule update: foo is unreadable. */
		{ "secret/foo", REQ_READ, NULL, DENY },
		{ "secret/foo", REQ_UPDATE, NULL, ALLOW },
		{ "secret/bar", REQ_READ, NULL, ALLOW },
		{ "secret/bar", REQ_UPDATE, NULL, DENY },
		/* A deny on the broad rule does not reach a narrow grant. */
		{ "locked/open", REQ_READ, NULL, ALLOW },
		{ "locked/other", REQ_READ, NULL, DENY },
		/* An exact rule with no capabilities blocks the glob. */
		{ "kv/blocked", REQ_READ, NULL, DENY },
		{ "kv/other", REQ_READ, NULL, ALLOW },
		/* A narrow glob beats a broad one, adding nothing. */
		{ "deep/a/b", REQ_READ, NULL, DENY },
		{ "deep/a/b", REQ_UPDATE, NULL, ALLOW },
		{ "deep/c", REQ_READ, NULL, ALLOW },
	};

	(void)state;
	a = acl1("path \"secret/*\" { capabilities = [\"read\"] }\n"
	    "path \"secret/foo\" { capabilities = [\"update\"] }\n"
	    "path \"locked/*\" { capabilities = [\"deny\"] }\n"
	    "path \"locked/open\" { capabilities = [\"read\"] }\n"
	    "path \"kv/*\" { capabilities = [\"read\", \"list\"] }\n"
	    "path \"kv/blocked\" { capabilities = [] }\n"
	    "path \"deep/*\" { capabilities = [\"read\", \"list\"] }\n"
	    "path \"deep/a/*\" { capabilities = [\"update\"] }\n");
	RUN(a, t);
	assert_int_equal(acl_capabilities(a, "secret/foo"), ACL_CAP_UPDATE);
	assert_int_equal(acl_capabilities(a, "kv/blocked"), 0);
	assert_int_equal(acl_capabilities(a, "locked/x"), ACL_CAP_DENY);
	assert_int_equal(acl_capabilities(a, "deep/a/b"), ACL_CAP_UPDATE);
	acl_free(a);
}

/* The trailing-slash fallbacks of list operations (1.7 steps 2 and 3). */
static void
test_list_fallbacks(void **state)
{
	struct acl		*a;
	static const struct check t[] = {
		/* Step 2: "secret/metadata/app" grants LIST on ".../app/". */
		{ "secret/metadata/app/", REQ_LIST, NULL, ALLOW },
		{ "secret/metadata/app/", REQ_READ, NULL, DENY },
		{ "secret/metadata/app", REQ_LIST, NULL, ALLOW },
		/*
		 * Step 3 before step 4: "foo/+" matches "foo/bar" and so
		 * wins over the deny glob under "foo/bar/" for a
		 * list; any other operation on "foo/bar/" gets the deny.
		 */
		{ "foo/bar/", REQ_LIST, NULL, ALLOW },
		{ "foo/bar/", REQ_READ, NULL, DENY },
		{ "foo/bar/x", REQ_LIST, NULL, DENY },
		/* An exact rule for the slashed path comes first. */
		{ "ex/", REQ_LIST, NULL, DENY },
		{ "ex", REQ_LIST, NULL, ALLOW },
	};

	(void)state;
	a = acl1("path \"secret/metadata/app\" { capabilities = [\"list\"] }\n"
	    "path \"foo/bar/*\" { capabilities = [\"deny\"] }\n"
	    "path \"foo/+\" { capabilities = [\"list\", \"read\"] }\n"
	    "path \"ex/\" { capabilities = [\"read\"] }\n"
	    "path \"ex\" { capabilities = [\"list\"] }\n");
	RUN(a, t);
	/* sys/capabilities computes as a list. */
	assert_int_equal(acl_capabilities(a, "foo/bar/"),
	    ACL_CAP_LIST | ACL_CAP_READ);
	assert_int_equal(acl_capabilities(a, "secret/metadata/app/"),
	    ACL_CAP_LIST);
	acl_free(a);
}

static void
test_ops(void **state)
{
	struct acl		*a;
	static const struct check t[] = {
		{ "r", REQ_READ, NULL, ALLOW },
		{ "r", REQ_LIST, NULL, DENY },
		{ "r", REQ_HEAD, NULL, DENY },
		{ "c", REQ_CREATE, NULL, ALLOW },
		{ "c", REQ_UPDATE, NULL, DENY },
		{ "u", REQ_UPDATE, NULL, ALLOW },
		{ "u", REQ_CREATE, NULL, DENY },
		{ "u", REQ_PATCH, NULL, DENY },
		{ "p", REQ_PATCH, NULL, ALLOW },
		{ "p", REQ_UPDATE, NULL, DENY },
		{ "d", REQ_DELETE, NULL, ALLOW },
		{ "d", REQ_READ, NULL, DENY },
		{ "l/", REQ_LIST, NULL, ALLOW },
		/* sudo grants no operation by itself. */
		{ "s", REQ_READ, NULL, DENY },
		{ "s", REQ_UPDATE, NULL, DENY },
		/* Neither does subscribe. */
		{ "e", REQ_READ, NULL, DENY },
		/* All but head. */
		{ "all", REQ_READ, NULL, ALLOW },
		{ "all", REQ_HEAD, NULL, DENY },
		{ "all", 99, NULL, DENY },
	};
	int			 sudo;

	(void)state;
	a = acl1("path \"r\" { capabilities = [\"read\"] }\n"
	    "path \"c\" { capabilities = [\"create\"] }\n"
	    "path \"u\" { capabilities = [\"update\"] }\n"
	    "path \"p\" { capabilities = [\"patch\"] }\n"
	    "path \"d\" { capabilities = [\"delete\"] }\n"
	    "path \"l/\" { capabilities = [\"list\"] }\n"
	    "path \"s\" { capabilities = [\"sudo\"] }\n"
	    "path \"e\" { capabilities = [\"subscribe\"] }\n"
	    "path \"all\" { capabilities = [\"create\", \"read\", \"update\","
	    " \"patch\", \"delete\", \"list\", \"sudo\"] }\n");
	RUN(a, t);
	sudo = -1;
	assert_int_equal(acl_check(a, "s", REQ_READ, NULL, &sudo), DENY);
	assert_int_equal(sudo, 1);
	sudo = -1;
	assert_int_equal(acl_check(a, "r", REQ_READ, NULL, &sudo), ALLOW);
	assert_int_equal(sudo, 0);
	sudo = -1;
	assert_int_equal(acl_check(a, "none", REQ_READ, NULL, &sudo), DENY);
	assert_int_equal(sudo, 0);
	acl_free(a);

	/* A NULL ACL, or an empty one, denies. */
	assert_int_equal(acl_check(NULL, "r", REQ_READ, NULL, NULL), DENY);
	assert_int_equal(acl_capabilities(NULL, "r"), 0);
	assert_int_equal(acl_new(NULL, 0, 0, &a), CF_OK);
	assert_int_equal(acl_check(a, "r", REQ_READ, NULL, NULL), DENY);
	assert_false(acl_is_root(a));
	acl_free(a);
}

static void
test_merge(void **state)
{
	struct acl		*a;
	static const struct check t[] = {
		/* Same pattern in two policies: capabilities OR. */
		{ "secret/x", REQ_READ, NULL, ALLOW },
		{ "secret/x/", REQ_LIST, NULL, ALLOW },
		{ "secret/x", REQ_UPDATE, NULL, DENY },
		/* Deny in either policy wins over grants in others. */
		{ "gone", REQ_READ, NULL, DENY },
		{ "gone", REQ_UPDATE, NULL, DENY },
		/* "both" and "both*" are different kinds: never merged. */
		{ "both", REQ_READ, NULL, ALLOW },
		{ "both", REQ_DELETE, NULL, DENY },
		{ "bothx", REQ_DELETE, NULL, ALLOW },
		{ "bothx", REQ_READ, NULL, DENY },
		/* Allowed values concatenate. */
		{ "pv", REQ_UPDATE, "{\"k\":\"one\"}", ALLOW },
		{ "pv", REQ_UPDATE, "{\"k\":\"two\"}", ALLOW },
		{ "pv", REQ_UPDATE, "{\"k\":\"three\"}", DENY },
		/* An empty list (any value) on one side wins. */
		{ "pe", REQ_UPDATE, "{\"k\":\"whatever\"}", ALLOW },
		{ "pe", REQ_UPDATE, "{\"j\":\"x\"}", DENY },
		{ "pf", REQ_UPDATE, "{\"k\":\"whatever\"}", ALLOW },
		/* Denied values concatenate. */
		{ "pd", REQ_UPDATE, "{\"k\":\"bad1\"}", DENY },
		{ "pd", REQ_UPDATE, "{\"k\":\"bad2\"}", DENY },
		{ "pd", REQ_UPDATE, "{\"k\":\"good\"}", ALLOW },
		/* Required parameters union. */
		{ "pr", REQ_UPDATE, "{\"a\":1}", DENY },
		{ "pr", REQ_UPDATE, "{\"b\":1}", DENY },
		{ "pr", REQ_UPDATE, "{\"a\":1,\"b\":1}", ALLOW },
		/*
		 * One policy without constraints and one allowing only "k":
		 * as in Vault the merged rule allows only "k".
		 */
		{ "pq", REQ_UPDATE, "{\"k\":\"x\"}", ALLOW },
		{ "pq", REQ_UPDATE, "{\"z\":\"x\"}", DENY },
	};

	(void)state;
	a = acl_of(
	    "path \"secret/*\" { capabilities = [\"read\"] }\n"
	    "path \"gone\" { capabilities = [\"read\"] }\n"
	    "path \"both\" { capabilities = [\"read\"] }\n"
	    "path \"pv\" { capabilities = [\"update\"]\n"
	    "  allowed_parameters = { k = [\"one\"] } }\n"
	    "path \"pe\" { capabilities = [\"update\"]\n"
	    "  allowed_parameters = { k = [\"one\"] } }\n"
	    "path \"pf\" { capabilities = [\"update\"]\n"
	    "  allowed_parameters = { k = [] } }\n"
	    "path \"pd\" { capabilities = [\"update\"]\n"
	    "  denied_parameters = { k = [\"bad1\"] } }\n"
	    "path \"pr\" { capabilities = [\"update\"]\n"
	    "  required_parameters = [\"a\"] }\n"
	    "path \"pq\" { capabilities = [\"update\"] }\n",
	    "path \"secret/*\" { capabilities = [\"list\"] }\n"
	    "path \"gone\" { capabilities = [\"deny\"] }\n"
	    "path \"both*\" { capabilities = [\"delete\"] }\n"
	    "path \"pv\" { capabilities = [\"update\"]\n"
	    "  allowed_parameters = { k = [\"two\"] } }\n"
	    "path \"pe\" { capabilities = [\"update\"]\n"
	    "  allowed_parameters = { K = [] } }\n"
	    "path \"pf\" { capabilities = [\"update\"]\n"
	    "  allowed_parameters = { k = [\"one\"] } }\n"
	    "path \"pd\" { capabilities = [\"update\"]\n"
	    "  denied_parameters = { k = [\"bad2\"] } }\n"
	    "path \"pr\" { capabilities = [\"update\"]\n"
	    "  required_parameters = [\"b\"] }\n"
	    "path \"pq\" { capabilities = [\"update\"]\n"
	    "  allowed_parameters = { k = [] } }\n",
	    /* A third policy granting more on "gone" changes nothing. */
	    "path \"gone\" { capabilities = [\"update\", \"sudo\"] }\n",
	    NULL);
	RUN(a, t);
	assert_int_equal(acl_capabilities(a, "secret/x"),
	    ACL_CAP_READ | ACL_CAP_LIST);
	assert_int_equal(acl_capabilities(a, "gone"), ACL_CAP_DENY);
	acl_free(a);

	/* The same pattern twice in one document merges too. */
	a = acl1("path \"d\" { capabilities = [\"read\"] }\n"
	    "path \"d\" { capabilities = [\"list\"] }\n"
	    "path \"x\" { capabilities = [\"deny\"] }\n"
	    "path \"x\" { capabilities = [\"read\"] }\n");
	assert_int_equal(acl_capabilities(a, "d"), ACL_CAP_READ | ACL_CAP_LIST);
	assert_int_equal(acl_capabilities(a, "x"), ACL_CAP_DENY);
	acl_free(a);
}

static void
test_parameters(void **state)
{
	struct acl		*a;
	static const struct check t[] = {
		/* Allowed values, exact and globbed. */
		{ "al", REQ_UPDATE, "{\"foo\":\"bar\"}", ALLOW },
		{ "al", REQ_UPDATE, "{\"foo\":\"bazinga\"}", ALLOW },
		{ "al", REQ_UPDATE, "{\"foo\":\"xqux\"}", ALLOW },
		{ "al", REQ_UPDATE, "{\"foo\":\"amidb\"}", ALLOW },
		{ "al", REQ_UPDATE, "{\"foo\":\"mid\"}", ALLOW },
		{ "al", REQ_UPDATE, "{\"foo\":\"nope\"}", DENY },
		{ "al", REQ_UPDATE, "{\"foo\":\"barx\"}", DENY },
		{ "al", REQ_UPDATE, "{\"foo\":\"ba\"}", DENY },
		/* Request keys are matched lowercased. */
		{ "al", REQ_UPDATE, "{\"FOO\":\"bar\"}", ALLOW },
		{ "al", REQ_UPDATE, "{\"FOO\":\"nope\"}", DENY },
		/* A key not listed, with no "*": denied. */
		{ "al", REQ_UPDATE, "{\"foo\":\"bar\",\"other\":1}", DENY },
		/* No data at all: allowed. */
		{ "al", REQ_UPDATE, NULL, ALLOW },
		{ "al", REQ_UPDATE, "{}", ALLOW },
		/* Constraints apply to read, create, update and patch only. */
		{ "al", REQ_CREATE, "{\"foo\":\"nope\"}", DENY },
		{ "al", REQ_PATCH, "{\"foo\":\"nope\"}", DENY },
		{ "al", REQ_READ, "{\"foo\":\"nope\"}", DENY },
		{ "al", REQ_DELETE, "{\"foo\":\"nope\"}", ALLOW },
		{ "al/", REQ_LIST, "{\"foo\":\"nope\"}", ALLOW },
		/* A lone "*" value is literal: only "*" matches it. */
		{ "lone", REQ_UPDATE, "{\"foo\":\"*\"}", ALLOW },
		{ "lone", REQ_UPDATE, "{\"foo\":\"abc\"}", DENY },
		/* "*" key alone: anything. */
		{ "star", REQ_UPDATE, "{\"a\":1,\"b\":[2]}", ALLOW },
		/* "*" key alone allows everything, whatever its values. */
		{ "star1", REQ_UPDATE, "{\"*\":\"y\",\"b\":2}", ALLOW },
		/* "*" key with others: unlisted keys free, listed checked. */
		{ "mix", REQ_UPDATE, "{\"a\":1}", ALLOW },
		{ "mix", REQ_UPDATE, "{\"a\":1,\"foo\":\"x\"}", ALLOW },
		{ "mix", REQ_UPDATE, "{\"a\":1,\"foo\":\"y\"}", DENY },
		/* Empty value list: any value of that key. */
		{ "any", REQ_UPDATE, "{\"foo\":{\"deep\":1}}", ALLOW },
		{ "any", REQ_UPDATE, "{\"bar\":1}", DENY },
		/* Non-strings need equality; null matches only null. */
		{ "typ", REQ_UPDATE, "{\"n\":3}", ALLOW },
		{ "typ", REQ_UPDATE, "{\"n\":\"3\"}", DENY },
		{ "typ", REQ_UPDATE, "{\"n\":4}", DENY },
		{ "typ", REQ_UPDATE, "{\"b\":true}", ALLOW },
		{ "typ", REQ_UPDATE, "{\"b\":false}", DENY },
		{ "typ", REQ_UPDATE, "{\"s\":null}", ALLOW },
		{ "typ", REQ_UPDATE, "{\"s\":\"null\"}", DENY },
		{ "typ", REQ_UPDATE, "{\"t\":null}", DENY },
		{ "typ", REQ_UPDATE, "{\"l\":[\"x\",\"y\"]}", ALLOW },
		{ "typ", REQ_UPDATE, "{\"l\":[\"x\"]}", DENY },
		/* Denied: an empty list denies any value. */
		{ "dn", REQ_UPDATE, "{\"foo\":\"x\"}", DENY },
		{ "dn", REQ_UPDATE, "{\"Foo\":\"x\"}", DENY },
		{ "dn", REQ_UPDATE, "{\"bar\":\"good\"}", ALLOW },
		{ "dn", REQ_UPDATE, "{\"bar\":\"bad-1\"}", DENY },
		{ "dn", REQ_UPDATE, "{\"other\":\"x\"}", ALLOW },
		/* Denied "*": any data at all is denied... */
		{ "dstar", REQ_UPDATE, "{\"a\":1}", DENY },
		/* ...but no data is fine. */
		{ "dstar", REQ_UPDATE, "{}", ALLOW },
		/* Denied is checked before allowed. */
		{ "both", REQ_UPDATE, "{\"foo\":\"x\"}", DENY },
		{ "both", REQ_UPDATE, "{\"bar\":\"x\"}", ALLOW },
		/* Required: checked even with no data, by lowercase name. */
		{ "req", REQ_UPDATE, NULL, DENY },
		{ "req", REQ_UPDATE, "{}", DENY },
		{ "req", REQ_UPDATE, "{\"other\":1}", DENY },
		{ "req", REQ_UPDATE, "{\"name\":\"x\"}", ALLOW },
		{ "req", REQ_UPDATE, "{\"NAME\":\"x\"}", DENY },
		{ "req", REQ_DELETE, NULL, ALLOW },
	};

	(void)state;
	a = acl_of("path \"al*\" {\n capabilities = [\"create\", \"read\","
	    " \"update\", \"patch\", \"delete\", \"list\"]\n"
	    " allowed_parameters = {\n"
	    "  \"Foo\" = [\"bar\", \"baz*\", \"*qux\", \"*mid*\"]\n }\n}\n"
	    "path \"lone\" { capabilities = [\"update\"]\n"
	    " allowed_parameters = { foo = [\"*\"] } }\n"
	    "path \"star\" { capabilities = [\"update\"]\n"
	    " allowed_parameters = { \"*\" = [] } }\n"
	    "path \"star1\" { capabilities = [\"update\"]\n"
	    " allowed_parameters = { \"*\" = [\"x\"] } }\n"
	    "path \"mix\" { capabilities = [\"update\"]\n"
	    " allowed_parameters = { \"*\" = [], foo = [\"x\"] } }\n"
	    "path \"any\" { capabilities = [\"update\"]\n"
	    " allowed_parameters = { foo = [] } }\n"
	    "path \"dn\" { capabilities = [\"update\"]\n"
	    " denied_parameters = { foo = [], bar = [\"bad*\"] } }\n"
	    "path \"dstar\" { capabilities = [\"update\"]\n"
	    " denied_parameters = { \"*\" = [] } }\n"
	    "path \"both\" { capabilities = [\"update\"]\n"
	    " denied_parameters = { foo = [] }\n"
	    " allowed_parameters = { foo = [], bar = [] } }\n"
	    "path \"req\" { capabilities = [\"update\", \"delete\"]\n"
	    " required_parameters = [\"Name\"] }\n",
	    "{\"path\": {\"typ\": {\"capabilities\": [\"update\"],\n"
	    " \"allowed_parameters\": {\"n\": [3], \"b\": [true],"
	    " \"s\": [null], \"t\": [\"x\"], \"l\": [[\"x\",\"y\"]]}}}}",
	    NULL, NULL);
	RUN(a, t);
	acl_free(a);
}

static void
test_wrapping(void **state)
{
	struct acl	*a;

	(void)state;
	a = acl1("path \"max\" { capabilities = [\"read\"]\n"
	    " max_wrapping_ttl = \"1h\" }\n"
	    "path \"min\" { capabilities = [\"read\"]\n"
	    " min_wrapping_ttl = 60 }\n");
	/* A rule with either bound needs a wrapped request. */
	assert_int_equal(acl_check(a, "max", REQ_READ, NULL, NULL), DENY);
	assert_int_equal(acl_check(a, "min", REQ_READ, NULL, NULL), DENY);
	assert_int_equal(acl_check_wrap(a, "max", REQ_READ, NULL, 3600, NULL),
	    ALLOW);
	assert_int_equal(acl_check_wrap(a, "max", REQ_READ, NULL, 3601, NULL),
	    DENY);
	assert_int_equal(acl_check_wrap(a, "min", REQ_READ, NULL, 59, NULL),
	    DENY);
	assert_int_equal(acl_check_wrap(a, "min", REQ_READ, NULL, 60, NULL),
	    ALLOW);
	acl_free(a);

	/* Merging keeps the smallest of each; max below min then denies. */
	a = acl_of("path \"w\" { capabilities = [\"read\"]\n"
	    " min_wrapping_ttl = 100\n max_wrapping_ttl = 500 }\n",
	    "path \"w\" { capabilities = [\"read\"]\n"
	    " max_wrapping_ttl = 200 }\n",
	    "path \"v\" { capabilities = [\"read\"]\n"
	    " min_wrapping_ttl = 300 }\n"
	    "path \"u\" { capabilities = [\"read\"]\n"
	    " min_wrapping_ttl = 300 }\n",
	    "path \"v\" { capabilities = [\"read\"]\n"
	    " max_wrapping_ttl = 200 }\n"
	    "path \"u\" { capabilities = [\"read\"]\n"
	    " min_wrapping_ttl = 100 }\n");
	assert_int_equal(acl_check_wrap(a, "w", REQ_READ, NULL, 150, NULL),
	    ALLOW);
	assert_int_equal(acl_check_wrap(a, "w", REQ_READ, NULL, 300, NULL),
	    DENY);
	assert_int_equal(acl_check_wrap(a, "v", REQ_READ, NULL, 250, NULL),
	    DENY);
	assert_int_equal(acl_check_wrap(a, "u", REQ_READ, NULL, 150, NULL),
	    ALLOW);
	assert_int_equal(acl_check_wrap(a, "u", REQ_READ, NULL, 50, NULL),
	    DENY);
	acl_free(a);
}

static void
test_root(void **state)
{
	static const char text[] = "path \"*\" { capabilities = [\"deny\"] }";
	struct policy	*p = NULL;
	struct buf	 err = BUF_INIT;
	struct acl	*a;
	struct strv	 names = STRV_INIT;
	json_t		*data;
	int		 sudo = 0, op;

	(void)state;
	/* Policies given with is_root are ignored, even a deny. */
	assert_int_equal(policy_parse("x", text, strlen(text), &p, &err),
	    CF_OK);
	assert_int_equal(acl_new(&p, 1, 1, &a), CF_OK);
	policy_free(p);
	assert_true(acl_is_root(a));
	for (op = REQ_READ; op <= REQ_HEAD; op++)
		assert_int_equal(acl_check(a, "anything/at/all", op,
		    NULL, NULL), ALLOW);
	data = json_pack("{s:s}", "type", "file");
	assert_int_equal(acl_check(a, "sys/audit/file", REQ_UPDATE, data,
	    &sudo), ALLOW);
	json_decref(data);
	assert_int_equal(sudo, 1);
	assert_int_equal(acl_capabilities(a, "x"), POLICY_CAP_ALL);
	assert_int_equal(acl_capability_names(acl_capabilities(a, "x"),
	    acl_is_root(a), &names), CF_OK);
	assert_int_equal(names.n, 1);
	assert_string_equal(names.v[0], "root");
	strv_free(&names);
	acl_free(a);
	buf_free(&err);
}

/* One concrete path under each entry of contract section 2.2. */
static const char *const sudo_paths[] = {
	"sys/auth/userpass", "sys/auth/userpass/tune", "sys/auth/",
	"sys/remount",
	"sys/audit",
	"sys/audit/file", "sys/audit/",
	"sys/raw",
	"sys/raw/core/mounts", "sys/raw/",
	"sys/replication/primary/secondary-token",
	"sys/replication/performance/primary/secondary-token",
	"sys/replication/dr/primary/secondary-token",
	"sys/replication/reindex",
	"sys/replication/dr/reindex",
	"sys/replication/performance/reindex",
	"sys/rotate",
	"sys/config/cors",
	"sys/config/auditing/request-headers",
	"sys/config/auditing/request-headers/X-Foo",
	"sys/config/ui/headers/X-Custom",
	"sys/plugins/catalog/secret/kv", "sys/plugins/catalog/auth",
	"sys/plugins/catalog/",
	"sys/revoke-prefix/aws/creds",
	"sys/revoke-force/aws/creds",
	"sys/leases/revoke-prefix/aws/",
	"sys/leases/revoke-force/aws/creds",
	"sys/leases/lookup/aws/creds/", "sys/leases/lookup/",
	"sys/storage/raft/snapshot-auto/config/daily",
	"sys/leases",
	"sys/internal/inspect/router/root",
	"auth/token/accessors/", "auth/token/accessors",
	"auth/token/accessorsX",
	"auth/token/revoke-orphan/abc",
	"/sys/rotate",
};

/* Close to protected paths, but not protected. */
static const char *const plain_paths[] = {
	"sys/mounts", "sys/mounts/foo", "sys/mounts/foo/tune",
	"auth/token/create-orphan", "auth/token/create",
	"auth/token/create/role", "auth/token/revoke-orphan",
	"auth/token/lookup", "auth/token/accessor",
	"sys/auth", "sys/authx", "sys/remount/x", "sys/remountx",
	"sys/auditx", "sys/audit-hash/file", "sys/rawx", "sys/raw-x/y",
	"sys/rotate/config", "sys/rotatex", "sys/config/cors/x",
	"sys/config/auditing", "sys/config/ui/headers",
	"sys/plugins/catalog", "sys/revoke-prefix", "sys/revoke",
	"sys/leases/lookup", "sys/leases/renew", "sys/leases/revoke",
	"sys/leasesx", "sys/leases/x", "sys/internal/inspect",
	"sys/internal/ui/mounts", "sys/policy/x", "sys/policies/acl/x",
	"sys/capabilities", "sys/capabilities-self", "sys/seal",
	"sys/step-down", "sys/replication/status",
	"secret/sys/auth/x", "", "sys/", "auth/", "auth/token/",
};

static void
test_sudo_paths(void **state)
{
	struct acl	*plain, *sudo_acl;
	char		 text[512];
	size_t		 i;
	int		 op, sudo;

	(void)state;
	for (i = 0; i < sizeof(sudo_paths) / sizeof(sudo_paths[0]); i++) {
		if (!acl_path_needs_sudo(sudo_paths[i]))
			fail_msg("%s should need sudo", sudo_paths[i]);
		snprintf(text, sizeof(text), "path \"%s\" { capabilities = "
		    "[\"create\", \"read\", \"update\", \"delete\", "
		    "\"list\", \"patch\"] }\n", sudo_paths[i]);
		plain = acl1(text);
		snprintf(text, sizeof(text), "path \"%s\" { capabilities = "
		    "[\"create\", \"read\", \"update\", \"delete\", "
		    "\"list\", \"patch\", \"sudo\"] }\n", sudo_paths[i]);
		sudo_acl = acl1(text);
		for (op = REQ_READ; op <= REQ_PATCH; op++) {
			/* A list path is checked with its exact rule. */
			sudo = -1;
			if (acl_check(plain, sudo_paths[i], op, NULL,
			    &sudo) != CF_EDENIED)
				fail_msg("%s %s allowed without sudo",
				    opname(op), sudo_paths[i]);
			assert_int_equal(sudo, 0);
			if (acl_check(sudo_acl, sudo_paths[i], op, NULL,
			    &sudo) != CF_OK)
				fail_msg("%s %s denied with sudo",
				    opname(op), sudo_paths[i]);
			assert_int_equal(sudo, 1);
		}
		acl_free(plain);
		acl_free(sudo_acl);
	}
	for (i = 0; i < sizeof(plain_paths) / sizeof(plain_paths[0]); i++) {
		if (acl_path_needs_sudo(plain_paths[i]))
			fail_msg("%s should not need sudo", plain_paths[i]);
		snprintf(text, sizeof(text), "path \"%s\" { capabilities = "
		    "[\"update\"] }\n", plain_paths[i]);
		plain = acl1(text);
		if (acl_check(plain, plain_paths[i], REQ_UPDATE, NULL,
		    NULL) != CF_OK)
			fail_msg("update %s denied", plain_paths[i]);
		acl_free(plain);
	}
	assert_false(acl_path_needs_sudo(NULL));
}

static void
test_names(void **state)
{
	static const struct {
		unsigned	 caps;
		int		 root;
		const char	*want;
	} t[] = {
		{ 0, 0, "deny" },
		{ ACL_CAP_DENY, 0, "deny" },
		{ ACL_CAP_DENY | ACL_CAP_READ, 0, "deny" },
		{ ACL_CAP_READ, 0, "read" },
		{ ACL_CAP_UPDATE | ACL_CAP_READ | ACL_CAP_CREATE, 0,
		    "create,read,update" },
		{ POLICY_CAP_ALL, 0,
		    "create,delete,list,patch,read,subscribe,sudo,update" },
		{ ACL_CAP_SUDO | ACL_CAP_LIST, 0, "list,sudo" },
		{ 0, 1, "root" },
		{ ACL_CAP_READ, 1, "root" },
	};
	struct strv	 v;
	struct buf	 got = BUF_INIT;
	size_t		 i, j;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		strv_init(&v);
		assert_int_equal(acl_capability_names(t[i].caps, t[i].root,
		    &v), CF_OK);
		buf_reset(&got);
		for (j = 0; j < v.n; j++)
			assert_int_equal(buf_printf(&got, "%s%s",
			    j ? "," : "", v.v[j]), CF_OK);
		assert_string_equal(got.data, t[i].want);
		strv_free(&v);
	}
	buf_free(&got);
}

/* The default policy as an ACL: what every token can do. */
static void
test_default_policy(void **state)
{
	struct acl		*a;
	static const struct check t[] = {
		{ "auth/token/lookup-self", REQ_READ, NULL, ALLOW },
		{ "auth/token/lookup-self", REQ_UPDATE, NULL, DENY },
		{ "auth/token/renew-self", REQ_UPDATE, NULL, ALLOW },
		{ "auth/token/revoke-self", REQ_UPDATE, NULL, ALLOW },
		{ "auth/token/create", REQ_UPDATE, NULL, DENY },
		{ "sys/capabilities-self", REQ_UPDATE, NULL, ALLOW },
		{ "cubbyhole/a/b", REQ_CREATE, NULL, ALLOW },
		{ "cubbyhole/a/", REQ_LIST, NULL, ALLOW },
		{ "cubbyhole/a", REQ_PATCH, NULL, DENY },
		{ "sys/tools/hash/sha2-256", REQ_UPDATE, NULL, ALLOW },
		{ "identity/oidc/provider/p/authorize", REQ_READ, NULL, ALLOW },
		{ "identity/oidc/provider/p/q/authorize", REQ_READ, NULL,
		    DENY },
		/* Templated rules are dropped, so never match literally. */
		{ "identity/entity/id/{{identity.entity.id}}", REQ_READ, NULL,
		    DENY },
		{ "secret/x", REQ_READ, NULL, DENY },
		{ "sys/mounts", REQ_READ, NULL, DENY },
	};

	(void)state;
	a = acl1(policy_default_text());
	RUN(a, t);
	acl_free(a);
}

static void
test_refcount(void **state)
{
	struct acl	*a, *b;

	(void)state;
	a = acl1("path \"x\" { capabilities = [\"read\"] }");
	b = acl_ref(a);
	assert_ptr_equal(a, b);
	acl_free(a);
	/* Still alive through the second reference (ASan would tell). */
	assert_int_equal(acl_check(b, "x", REQ_READ, NULL, NULL), ALLOW);
	acl_free(b);
	acl_free(NULL);
	assert_null(acl_ref(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_glob_plus),
		cmocka_unit_test(test_priority),
		cmocka_unit_test(test_one_rule),
		cmocka_unit_test(test_list_fallbacks),
		cmocka_unit_test(test_ops),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_parameters),
		cmocka_unit_test(test_wrapping),
		cmocka_unit_test(test_root),
		cmocka_unit_test(test_sudo_paths),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_default_policy),
		cmocka_unit_test(test_refcount),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
