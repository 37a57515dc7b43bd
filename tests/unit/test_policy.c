/*
 * test_policy.c -- the ACL policy parser: every construct, every error
 * with its line, the JSON form, and the built-in policy texts.
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

#include "buf.h"
#include "err.h"
#include "policy.h"

static struct policy *
parse_ok(const char *text)
{
	struct policy	*p = NULL;
	struct buf	 err = BUF_INIT;

	if (policy_parse("Test", text, strlen(text), &p, &err) != CF_OK)
		fail_msg("unexpected error: %s", err.data);
	assert_non_null(p);
	buf_free(&err);
	return p;
}

/* The parse must fail with a message holding each of the wanted parts. */
static void
parse_err(const char *text, const char *want, const char *want2)
{
	struct policy	*p = NULL;
	struct buf	 err = BUF_INIT;

	assert_int_equal(policy_parse("t", text, strlen(text), &p, &err),
	    CF_EINVAL);
	assert_null(p);
	assert_non_null(err.data);
	if (strncmp(err.data, "failed to parse policy: ", 24) != 0)
		fail_msg("error \"%s\" lacks the prefix", err.data);
	if (strstr(err.data, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.data, want);
	if (want2 != NULL && strstr(err.data, want2) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.data, want2);
	buf_free(&err);
}

static const struct policy_rule *
rule(const struct policy *p, const char *path)
{
	size_t	 i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->rules[i].path, path) == 0)
			return &p->rules[i];
	fail_msg("no rule \"%s\"", path);
	return NULL;
}

static void
test_capabilities(void **state)
{
	struct policy		*p;
	const struct policy_rule *r;

	(void)state;
	p = parse_ok("path \"secret/data/app/*\" {\n"
	    "  capabilities = [\"create\", \"read\", \"update\", \"patch\","
	    " \"delete\", \"list\"]\n}\n"
	    "path \"secret/metadata/+/config\" { capabilities = [\"read\"] }\n"
	    "path \"/sys/mounts\" { capabilities = [\"sudo\", \"read\"] }\n"
	    "path \"secret/none\" { capabilities = [] }\n"
	    "path \"events/*\" { capabilities = [\"subscribe\"] }\n");
	assert_string_equal(p->name, "test");
	assert_int_equal(p->n, 5);
	r = &p->rules[0];
	assert_string_equal(r->path, "secret/data/app/");
	assert_int_equal(r->kind, POLICY_PREFIX);
	assert_int_equal(r->line, 1);
	assert_int_equal(r->caps, POLICY_CAP_CREATE | POLICY_CAP_READ |
	    POLICY_CAP_UPDATE | POLICY_CAP_PATCH | POLICY_CAP_DELETE |
	    POLICY_CAP_LIST);
	r = &p->rules[1];
	assert_string_equal(r->path, "secret/metadata/+/config");
	assert_int_equal(r->kind, POLICY_SEGMENT);
	assert_int_equal(r->line, 4);
	assert_int_equal(r->caps, POLICY_CAP_READ);
	/* The leading slash goes. */
	r = &p->rules[2];
	assert_string_equal(r->path, "sys/mounts");
	assert_int_equal(r->kind, POLICY_EXACT);
	assert_int_equal(r->caps, POLICY_CAP_SUDO | POLICY_CAP_READ);
	assert_int_equal(rule(p, "secret/none")->caps, 0);
	assert_int_equal(rule(p, "events/")->caps, POLICY_CAP_SUBSCRIBE);
	policy_free(p);
}

static void
test_kinds(void **state)
{
	struct policy	*p;

	(void)state;
	p = parse_ok("path \"+\" { capabilities = [\"read\"] }\n"
	    "path \"+/a\" { capabilities = [\"read\"] }\n"
	    "path \"a/+/b*\" { capabilities = [\"read\"] }\n"
	    "path \"a/x+y\" { capabilities = [\"read\"] }\n"
	    "path \"a/+b\" { capabilities = [\"read\"] }\n"
	    "path \"*\" { capabilities = [\"read\"] }\n"
	    "path \"a*b\" { capabilities = [\"read\"] }\n");
	assert_int_equal(rule(p, "+")->kind, POLICY_SEGMENT);
	assert_int_equal(rule(p, "+/a")->kind, POLICY_SEGMENT);
	/* A segment rule keeps its trailing star. */
	assert_int_equal(rule(p, "a/+/b*")->kind, POLICY_SEGMENT);
	/* A '+' inside a segment is literal... */
	assert_int_equal(rule(p, "a/x+y")->kind, POLICY_EXACT);
	/* ...but "/+" anywhere makes the kind segment, as in Vault. */
	assert_int_equal(rule(p, "a/+b")->kind, POLICY_SEGMENT);
	assert_int_equal(rule(p, "")->kind, POLICY_PREFIX);
	/* A star not at the end is literal. */
	assert_int_equal(rule(p, "a*b")->kind, POLICY_EXACT);
	policy_free(p);
}

static void
test_deny(void **state)
{
	struct policy	*p;

	(void)state;
	p = parse_ok("path \"a\" { capabilities = [\"deny\"] }\n"
	    "path \"b\" { capabilities = [\"read\", \"deny\", \"update\"] }\n"
	    "path \"c\" { capabilities = [\"read\"]\n policy = \"deny\" }\n"
	    /* Nothing after deny is examined, as in Vault. */
	    "path \"d\" { capabilities = [\"deny\"]\n"
	    "  max_wrapping_ttl = \"bogus\" }\n");
	assert_int_equal(rule(p, "a")->caps, POLICY_CAP_DENY);
	assert_int_equal(rule(p, "b")->caps, POLICY_CAP_DENY);
	assert_int_equal(rule(p, "c")->caps, POLICY_CAP_DENY);
	assert_int_equal(rule(p, "d")->caps, POLICY_CAP_DENY);
	assert_int_equal(rule(p, "d")->max_wrap, 0);
	policy_free(p);
}

static void
test_shorthand(void **state)
{
	struct policy	*p;
	unsigned	 w;

	(void)state;
	w = POLICY_CAP_CREATE | POLICY_CAP_READ | POLICY_CAP_UPDATE |
	    POLICY_CAP_DELETE | POLICY_CAP_LIST;
	p = parse_ok("path \"r\" { policy = \"read\" }\n"
	    "path \"w\" { policy = \"write\" }\n"
	    "path \"s\" { policy = \"sudo\" }\n"
	    "path \"d\" { policy = \"deny\" }\n"
	    "path \"m\" { policy = \"read\"\n capabilities = [\"patch\"] }\n");
	assert_int_equal(rule(p, "r")->caps, POLICY_CAP_READ | POLICY_CAP_LIST);
	/* write has no patch: it predates the capability. */
	assert_int_equal(rule(p, "w")->caps, w);
	assert_int_equal(rule(p, "s")->caps, w | POLICY_CAP_SUDO);
	assert_int_equal(rule(p, "d")->caps, POLICY_CAP_DENY);
	assert_int_equal(rule(p, "m")->caps, POLICY_CAP_READ |
	    POLICY_CAP_LIST | POLICY_CAP_PATCH);
	policy_free(p);

	parse_err("path \"x\" {\n  policy = \"rw\"\n}\n",
	    "path \"x\": invalid policy \"rw\"", "line 2");
}

static void
test_parameters(void **state)
{
	struct policy		*p;
	const struct policy_rule *r;
	json_t			*v;

	(void)state;
	p = parse_ok("path \"secret/*\" {\n"
	    "  capabilities = [\"create\", \"update\"]\n"
	    "  allowed_parameters = {\n"
	    "    \"Foo\" = [\"a*\", \"*b\", 3, true]\n"
	    "    \"*\"   = []\n"
	    "  }\n"
	    "  denied_parameters {\n"
	    "    bar = []\n"
	    "  }\n"
	    "  required_parameters = [\"Need\", \"need\", \"other\"]\n"
	    "}\n");
	r = rule(p, "secret/");
	assert_non_null(r->allowed);
	assert_int_equal(json_object_size(r->allowed), 2);
	/* Names are lowercased; values keep their JSON types. */
	v = json_object_get(r->allowed, "foo");
	assert_non_null(v);
	assert_int_equal(json_array_size(v), 4);
	assert_string_equal(json_string_value(json_array_get(v, 0)), "a*");
	assert_true(json_is_integer(json_array_get(v, 2)));
	assert_int_equal(json_integer_value(json_array_get(v, 2)), 3);
	assert_true(json_is_true(json_array_get(v, 3)));
	assert_int_equal(json_array_size(json_object_get(r->allowed, "*")), 0);
	assert_non_null(json_object_get(r->denied, "bar"));
	/* Required names are lowercased and deduplicated. */
	assert_int_equal(r->required.n, 2);
	assert_string_equal(r->required.v[0], "need");
	assert_string_equal(r->required.v[1], "other");
	policy_free(p);

	/* No parameters at all: NULL maps. */
	p = parse_ok("path \"a\" { capabilities = [\"read\"] }");
	assert_null(p->rules[0].allowed);
	assert_null(p->rules[0].denied);
	assert_int_equal(p->rules[0].required.n, 0);
	policy_free(p);

	parse_err("path \"a\" {\n capabilities = [\"read\"]\n"
	    " allowed_parameters = [\"x\"]\n}\n", "allowed_parameters",
	    "line 3");
	parse_err("path \"a\" {\n capabilities = [\"read\"]\n"
	    " denied_parameters = {\n  x = \"y\"\n }\n}\n",
	    "denied_parameters", "line 4");
	parse_err("path \"a\" {\n capabilities = [\"read\"]\n"
	    " required_parameters = \"x\"\n}\n", "required_parameters",
	    "line 3");
	/*
	 * A number JSON cannot hold is the client's error, not "out of
	 * memory" (found by tests/fuzz/fuzz_policy.c), nor clamped.
	 */
	parse_err("path \"a\" {\n allowed_parameters = {\n"
	    "  x = [1, 1e999]\n }\n}\n",
	    "allowed_parameters: the number 1e999 is out of range", "line 3");
	parse_err("{\"path\": {\"a\": {\"denied_parameters\":\n"
	    " {\"x\": [[99999999999999999999]]}}}}",
	    "denied_parameters: the number 99999999999999999999 is out of "
	    "range", "line 2");
	p = parse_ok("path \"a\" {\n allowed_parameters = {\n"
	    "  x = [9223372036854775807, 1e308, 1e-999]\n }\n}\n");
	v = json_object_get(p->rules[0].allowed, "x");
	assert_int_equal(json_integer_value(json_array_get(v, 0)),
	    9223372036854775807LL);
	assert_true(json_is_real(json_array_get(v, 1)));
	policy_free(p);
}

static void
test_wrapping_ttl(void **state)
{
	struct policy	*p;

	(void)state;
	p = parse_ok("path \"a\" {\n capabilities = [\"read\"]\n"
	    " min_wrapping_ttl = 90\n max_wrapping_ttl = \"1h\"\n}\n"
	    "path \"b\" {\n capabilities = [\"read\"]\n"
	    " min_wrapping_ttl = \"30m\"\n}\n");
	assert_int_equal(rule(p, "a")->min_wrap, 90);
	assert_int_equal(rule(p, "a")->max_wrap, 3600);
	assert_int_equal(rule(p, "b")->min_wrap, 1800);
	assert_int_equal(rule(p, "b")->max_wrap, 0);
	policy_free(p);

	parse_err("path \"a\" {\n capabilities = [\"read\"]\n"
	    " min_wrapping_ttl = \"1h\"\n max_wrapping_ttl = \"10m\"\n}\n",
	    "max_wrapping_ttl cannot be less than min_wrapping_ttl",
	    "line 4");
	parse_err("path \"a\" {\n capabilities = [\"read\"]\n"
	    " max_wrapping_ttl = \"soon\"\n}\n",
	    "error parsing max_wrapping_ttl", "line 3");
	parse_err("path \"a\" {\n capabilities = [\"read\"]\n"
	    " min_wrapping_ttl = [1]\n}\n",
	    "error parsing min_wrapping_ttl", "line 3");
}

/* The JSON form gives the same rules as the HCL form. */
static void
test_json(void **state)
{
	struct policy	*h, *j;
	size_t		 i;

	(void)state;
	h = parse_ok("path \"secret/data/app/*\" {\n"
	    "  capabilities = [\"create\",\"read\",\"update\",\"patch\","
	    "\"delete\",\"list\"]\n}\n"
	    "path \"secret/metadata/+/config\" { capabilities = [\"read\"] }\n"
	    "path \"sys/mounts\" { policy = \"read\" }\n"
	    "path \"secret/data/app/root\" { capabilities = [\"deny\"] }\n"
	    "path \"p\" { capabilities = [\"update\"]\n"
	    "  allowed_parameters = { \"k\" = [\"v\"] } }\n");
	j = parse_ok("{\"path\": {\n"
	    " \"secret/data/app/*\": {\"capabilities\": [\"create\",\"read\","
	    "\"update\",\"patch\",\"delete\",\"list\"]},\n"
	    " \"secret/metadata/+/config\": {\"capabilities\": [\"read\"]},\n"
	    " \"sys/mounts\": {\"policy\": \"read\"},\n"
	    " \"secret/data/app/root\": {\"capabilities\": [\"deny\"]},\n"
	    " \"p\": [{\"capabilities\": [\"update\"],"
	    " \"allowed_parameters\": {\"k\": [\"v\"]}}]\n"
	    "}}\n");
	assert_int_equal(h->n, j->n);
	for (i = 0; i < h->n; i++) {
		assert_string_equal(h->rules[i].path, j->rules[i].path);
		assert_int_equal(h->rules[i].kind, j->rules[i].kind);
		assert_int_equal(h->rules[i].caps, j->rules[i].caps);
	}
	assert_true(json_equal(rule(h, "p")->allowed, rule(j, "p")->allowed));
	/* JSON lines are the lines of the pattern keys. */
	assert_int_equal(rule(j, "sys/mounts")->line, 4);
	policy_free(h);
	policy_free(j);

	parse_err("{\"path\": {\"a\": {\"capabilities\": [\"read\"],\n"
	    "\"bogus\": 1}}}", "path \"a\": invalid key \"bogus\"",
	    "line 2");
}

static void
test_heredoc(void **state)
{
	struct policy	*p;

	(void)state;
	/* A heredoc comment inside a block; lines after it still count. */
	p = parse_ok("path \"a\" {\n"
	    "  comment = <<EOT\n"
	    "Granted to the build robots.\n"
	    "Ask ops before changing.\n"
	    "EOT\n"
	    "  capabilities = [\"read\"]\n"
	    "}\n"
	    "path \"b\" {\n capabilities = [\"list\"]\n}\n");
	assert_int_equal(rule(p, "a")->caps, POLICY_CAP_READ);
	assert_int_equal(rule(p, "b")->line, 8);
	policy_free(p);
	parse_err("path \"a\" {\n  comment = <<EOT\nx\ny\nEOT\n}\n"
	    "path \"b\" {\n capabilities = [\"reed\"]\n}\n",
	    "path \"b\": invalid capability \"reed\"", "line 8");
}

static void
test_errors(void **state)
{
	(void)state;
	/* Syntax errors from the HCL parser keep their line. */
	parse_err("path \"a\" {\n  capabilities = [\"read\"\n}\n",
	    "line 3: ", NULL);
	parse_err("\n\npath \"a\" {\n", "line ", NULL);
	/* Unknown capability: the line of the element. */
	parse_err("path \"secret/*\" {\n  capabilities = [\n    \"read\",\n"
	    "    \"reed\"\n  ]\n}\n",
	    "path \"secret/*\": invalid capability \"reed\"", "on line 4");
	/* Capabilities are case-sensitive, as in Vault. */
	parse_err("path \"a\" { capabilities = [\"Read\"] }",
	    "invalid capability \"Read\"", "line 1");
	parse_err("path \"a\" { capabilities = [\"root\"] }",
	    "invalid capability \"root\"", "line 1");
	/* Unknown key in a path block. */
	parse_err("path \"a\" {\n  capabilities = [\"read\"]\n"
	    "  capabilites = [\"list\"]\n}\n",
	    "path \"a\": invalid key \"capabilites\"", "on line 3");
	/* Unknown key at the top. */
	parse_err("name = \"x\"\n\npaths \"a\" { capabilities = [] }\n",
	    "invalid key \"paths\"", "line 3");
	/* Wrong types. */
	parse_err("path \"a\" {\n capabilities = \"read\"\n}\n",
	    "capabilities must be a list of strings", "line 2");
	parse_err("path \"a\" {\n capabilities = [\"read\",\n 7]\n}\n",
	    "capabilities must be a list of strings", "line 3");
	parse_err("path \"a\" {\n policy = [\"read\"]\n}\n",
	    "policy must be a string", "line 2");
	parse_err("path = \"a\"\n", "path must be a block", "line 1");
	parse_err("path \"a\" \"b\" { capabilities = [] }\n",
	    "path \"a\": invalid key \"b\"", "line 1");
	parse_err("{\"path\": {\n\"a\": 3}}", "path \"a\": expected a block",
	    "line 2");
	parse_err("{\"path\": {\"a\": [{\"capabilities\": []},\n\"x\"]}}",
	    "path \"a\": expected a block", "line 2");
	parse_err("name = 3\n", "name must be a string", "line 1");
	/* Wildcards. */
	parse_err("\npath \"a/+*\" { capabilities = [\"read\"] }\n",
	    "invalid use of wildcards ('+*' is forbidden)", "line 2");
	parse_err("path \"a/{{identity.entity.id\" { capabilities = [] }\n",
	    "templating", "line 1");
}

static void
test_misc(void **state)
{
	struct policy	*p;

	(void)state;
	/* An empty document, and one with only a name, are valid. */
	p = parse_ok("");
	assert_int_equal(p->n, 0);
	policy_free(p);
	p = parse_ok("# nothing\nname = \"ignored\"\n");
	assert_int_equal(p->n, 0);
	policy_free(p);

	/* Names are trimmed and lowercased. */
	{
		struct buf	 err = BUF_INIT;

		assert_int_equal(policy_parse("  Dev-Team ", "", 0, &p, &err),
		    CF_OK);
		assert_string_equal(p->name, "dev-team");
		policy_free(p);
		buf_free(&err);
	}

	/* The same pattern twice stays two rules; the ACL merges them. */
	p = parse_ok("path \"a\" { capabilities = [\"read\"] }\n"
	    "path \"a\" { capabilities = [\"list\"] }\n");
	assert_int_equal(p->n, 2);
	policy_free(p);

	/* Enterprise keys and comments are accepted and ignored. */
	p = parse_ok("path \"a\" {\n capabilities = [\"read\"]\n"
	    " comment = \"why\"\n mfa_methods = [\"m\"]\n"
	    " control_group = { factor \"f\" { identity { approvals = 1 } } }\n"
	    " subscribe_event_types = [\"kv*\"]\n}\n");
	assert_int_equal(p->rules[0].caps, POLICY_CAP_READ);
	policy_free(p);

	/* Templated rules are kept and flagged. */
	p = parse_ok("path \"a/{{identity.entity.id}}/*\" {\n"
	    " capabilities = [\"read\"]\n}\n"
	    "path \"b\" { capabilities = [\"read\"] }\n");
	assert_true(p->templated);
	assert_true(p->rules[0].templated);
	assert_false(p->rules[1].templated);
	policy_free(p);

	assert_string_equal(policy_cap_name(POLICY_CAP_PATCH), "patch");
	assert_string_equal(policy_cap_name(POLICY_CAP_DENY), "deny");
	assert_null(policy_cap_name(POLICY_CAP_READ | POLICY_CAP_LIST));
	assert_null(policy_cap_name(0));
}

static void
test_builtin(void **state)
{
	struct policy		*p;
	const struct policy_rule *r;
	size_t			 i, tpl = 0;

	(void)state;
	p = parse_ok(policy_default_text());
	assert_int_equal(p->n, 18);
	for (i = 0; i < p->n; i++)
		tpl += p->rules[i].templated;
	assert_int_equal(tpl, 2);
	assert_int_equal(rule(p, "auth/token/lookup-self")->caps,
	    POLICY_CAP_READ);
	assert_int_equal(rule(p, "auth/token/renew-self")->caps,
	    POLICY_CAP_UPDATE);
	assert_int_equal(rule(p, "auth/token/revoke-self")->caps,
	    POLICY_CAP_UPDATE);
	assert_int_equal(rule(p, "sys/capabilities-self")->caps,
	    POLICY_CAP_UPDATE);
	assert_int_equal(rule(p, "sys/internal/ui/resultant-acl")->caps,
	    POLICY_CAP_READ);
	assert_int_equal(rule(p, "sys/renew")->caps, POLICY_CAP_UPDATE);
	assert_int_equal(rule(p, "sys/leases/renew")->caps, POLICY_CAP_UPDATE);
	assert_int_equal(rule(p, "sys/leases/lookup")->caps,
	    POLICY_CAP_UPDATE);
	r = rule(p, "cubbyhole/");
	assert_int_equal(r->kind, POLICY_PREFIX);
	assert_int_equal(r->caps, POLICY_CAP_CREATE | POLICY_CAP_READ |
	    POLICY_CAP_UPDATE | POLICY_CAP_DELETE | POLICY_CAP_LIST);
	assert_int_equal(rule(p, "sys/wrapping/wrap")->caps,
	    POLICY_CAP_UPDATE);
	assert_int_equal(rule(p, "sys/wrapping/lookup")->caps,
	    POLICY_CAP_UPDATE);
	assert_int_equal(rule(p, "sys/wrapping/unwrap")->caps,
	    POLICY_CAP_UPDATE);
	assert_int_equal(rule(p, "sys/tools/hash")->caps, POLICY_CAP_UPDATE);
	assert_int_equal(rule(p, "sys/tools/hash/")->kind, POLICY_PREFIX);
	assert_int_equal(rule(p, "sys/control-group/request")->caps,
	    POLICY_CAP_UPDATE);
	r = rule(p, "identity/oidc/provider/+/authorize");
	assert_int_equal(r->kind, POLICY_SEGMENT);
	assert_int_equal(r->caps, POLICY_CAP_READ | POLICY_CAP_UPDATE);
	assert_true(rule(p, "identity/entity/id/{{identity.entity.id}}")->
	    templated);
	policy_free(p);

	p = parse_ok(policy_response_wrapping_text());
	assert_int_equal(p->n, 2);
	assert_int_equal(rule(p, "cubbyhole/response")->caps,
	    POLICY_CAP_CREATE | POLICY_CAP_READ);
	assert_int_equal(rule(p, "sys/wrapping/unwrap")->caps,
	    POLICY_CAP_UPDATE);
	policy_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_deny),
		cmocka_unit_test(test_shorthand),
		cmocka_unit_test(test_parameters),
		cmocka_unit_test(test_wrapping_ttl),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_heredoc),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_misc),
		cmocka_unit_test(test_builtin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
