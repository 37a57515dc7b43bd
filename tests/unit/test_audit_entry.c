/*
 * test_audit_entry.c -- an audit entry's text, written in one pass.
 *
 * The hashes are libsodium's one-shot HMAC-SHA256 under the salt; the
 * text is Vault's shape with what Vault hashes hashed (and nothing
 * else), members left out when empty, lists elided when asked, and raw
 * devices given the clear values.  Strings escape as jansson's do.
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
#include <sodium.h>

#include "audit_entry.h"
#include "buf.h"
#include "err.h"
#include "jsonutil.h"
#include "req.h"
#include "router.h"
#include "token.h"

#define SALT	"5b6c3b8e-3f39-4bd4-9b7e-2d0c1c2f7a11"
/* Longer than a SHA-256 block: the inner hash takes two compressions. */
#define LONG_IN	"0123456789abcdef0123456789abcdef0123456789abcdef01234567890"

/* "hmac-sha256:<hex>" by libsodium's one-shot HMAC. */
static void
ref_hash(const char *s, char *out)
{
	unsigned char	 mac[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256_state	 st;

	crypto_auth_hmacsha256_init(&st, (const unsigned char *)SALT,
	    strlen(SALT));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)s,
	    strlen(s));
	crypto_auth_hmacsha256_final(&st, mac);
	memcpy(out, "hmac-sha256:", 12);
	sodium_bin2hex(out + 12, 65, mac, sizeof(mac));
}

static void
test_hash_is_hmac_of_salt(void **state)
{
	struct audit_fmt	 f;
	char			 a[77], b[77];
	const char		*in[] = { "", "x", "hvs.abcdef", LONG_IN };
	size_t			 i;

	(void)state;
	memset(&f, 0, sizeof(f));
	audit_fmt_init(&f, SALT);
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		audit_fmt_hash(&f, in[i], strlen(in[i]), a);
		ref_hash(in[i], b);
		assert_string_equal(a, b);
	}
	audit_fmt_wipe(&f);
}

static void
test_emit_str_matches_jansson(void **state)
{
	struct buf	 b = BUF_INIT;
	const char	*in[] = { "", "plain", "q\"b\\s/", "\n\t\b\f\r\x01\x1f",
	    "caf\xc3\xa9 \xf0\x9f\x94\x91" };
	json_t		*j;
	char		*ref;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		buf_reset(&b);
		assert_int_equal(jsonutil_emit_str(in[i], strlen(in[i]), &b),
		    CF_OK);
		j = json_string(in[i]);
		ref = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
		assert_string_equal(b.data, ref);
		free(ref);
		json_decref(j);
	}
	buf_reset(&b);
	assert_int_equal(buf_puts(&b, "kept"), CF_OK);
	assert_int_equal(jsonutil_emit_str("\xff", 1, &b), CF_EINVAL);
	assert_string_equal(b.data, "kept");
	buf_free(&b);
}

struct fixture {
	struct backend_ops	 ops;
	struct mount		 m;
	struct auth_ctx		 auth;
	struct request		 req;
	struct response		 resp;
	struct audit_fmt	 f;
	char			 path[64];
	char			 token[32];
};

static void
fixture_init(struct fixture *x)
{
	memset(x, 0, sizeof(*x));
	x->m.path = (char *)"secret/";
	x->m.type = (char *)"kv";
	strlcpy(x->m.accessor, "kv_1234", sizeof(x->m.accessor));
	x->m.ops = &x->ops;
	strlcpy(x->auth.accessor, "acc123", sizeof(x->auth.accessor));
	x->auth.entry = json_pack("{s:s, s:[s], s:s, s:i, s:i}",
	    "display_name", "token", "policies", "p1", "type", "service",
	    "creation_ttl", 60, "issue_time", 1700000000);
	strlcpy(x->req.id, "0c6a5a53-7e1b-4b5f-9f43-6b0c3a0f0b11",
	    sizeof(x->req.id));
	strlcpy(x->path, "secret/data/app", sizeof(x->path));
	strlcpy(x->token, "hvs.tok", sizeof(x->token));
	x->req.path = x->path;
	x->req.op = REQ_UPDATE;
	x->req.mount = &x->m;
	x->req.token = x->token;
	x->req.auth = &x->auth;
	x->req.remote_addr = "127.0.0.1";
	x->req.data = json_pack("{s:{s:s, s:i, s:b}}", "data", "pw",
	    "s3cret", "n", 7, "t", 1);
	audit_fmt_init(&x->f, SALT);
	x->f.hmac_accessor = 1;
	x->f.prefix = "";
}

static void
fixture_fini(struct fixture *x)
{
	json_decref(x->auth.entry);
	json_decref(x->req.data);
	json_decref(x->resp.data);
	audit_fmt_wipe(&x->f);
}

/* e's text for f, parsed (the "time" checked and dropped). */
static json_t *
emit_parsed(struct fixture *x, int response, int err)
{
	struct audit_entry	 e;
	struct buf		 b = BUF_INIT;
	json_t			*j;
	size_t			 n;

	audit_entry_init(&e, &x->req, &x->resp, err, response);
	assert_int_equal(audit_entry_emit(&x->f, &e, &b), CF_OK);
	n = strlen(x->f.prefix);
	assert_memory_equal(b.data, x->f.prefix, n);
	assert_true(b.len > n && b.data[b.len - 1] == '\n');
	assert_null(memchr(b.data, '\n', b.len - 1));
	j = json_loads(b.data + n, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "time")),
	    e.time);
	json_object_del(j, "time");
	buf_free(&b);
	return j;
}

static void
expect(json_t *got, const char *fmt, ...)
{
	va_list		 ap;
	json_t		*want;
	char		*g, *w;

	va_start(ap, fmt);
	want = json_vpack_ex(NULL, 0, fmt, ap);
	va_end(ap);
	assert_non_null(want);
	g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
	w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(g, w);
	free(g);
	free(w);
	json_decref(want);
	json_decref(got);
}

static void
test_request_entry_hashed(void **state)
{
	struct fixture	 x;
	json_t		*j;
	char		 ht[77], ha[77], hp[77], hn[77];

	(void)state;
	fixture_init(&x);
	ref_hash("hvs.tok", ht);
	ref_hash("acc123", ha);
	ref_hash("s3cret", hp);
	ref_hash("7", hn);
	expect(emit_parsed(&x, 0, CF_OK),
	    "{s:s, s:{s:s, s:s, s:s, s:[s], s:[s], s:{s:b}, s:s, s:i, s:s},"
	    " s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:s,"
	    " s:{s:{s:s, s:s, s:b}}, s:s}}",
	    "type", "request",
	    "auth", "client_token", ht, "accessor", ha, "display_name",
	    "token", "policies", "p1", "token_policies", "p1",
	    "policy_results", "allowed", 1, "token_type", "service",
	    "token_ttl", 60, "token_issue_time", "2023-11-14T22:13:20Z",
	    "request", "id", x.req.id, "operation", "update", "mount_point",
	    "secret/", "mount_type", "kv", "mount_accessor", "kv_1234",
	    "mount_running_version", "v0.15.0+builtin", "mount_class",
	    "secret", "client_token", ht, "client_token_accessor", ha,
	    "namespace", "id", "root", "path", "secret/data/app",
	    "data", "data", "pw", hp, "n", hn, "t", 1,
	    "remote_address", "127.0.0.1");
	/* Accessors in clear without hmac_accessor; everything with raw. */
	x.f.hmac_accessor = 0;
	x.f.prefix = "@cee: ";
	j = emit_parsed(&x, 0, CF_OK);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(j, "request"), "client_token_accessor")),
	    "acc123");
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(j, "auth"), "client_token")), ht);
	json_decref(j);
	x.f.log_raw = 1;
	j = emit_parsed(&x, 0, CF_OK);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(j, "auth"), "client_token")), "hvs.tok");
	expect(json_incref(json_object_get(json_object_get(j, "request"),
	    "data")), "{s:{s:s, s:i, s:b}}", "data", "pw", "s3cret", "n", 7,
	    "t", 1);
	json_decref(j);
	fixture_fini(&x);
}

static void
test_response_entry(void **state)
{
	struct fixture	 x;
	json_t		*j;
	char		 ha[77], hb[77], hx[77];

	(void)state;
	fixture_init(&x);
	x.req.op = REQ_LIST;
	x.resp.data = json_pack("{s:[s, s], s:{s:{}}, s:s}", "keys", "a",
	    "b", "key_info", "a", "other", "x");
	ref_hash("a", ha);
	ref_hash("b", hb);
	ref_hash("x", hx);
	j = emit_parsed(&x, 1, CF_OK);
	expect(json_incref(json_object_get(json_object_get(j, "response"),
	    "data")), "{s:[s, s], s:{s:{}}, s:s}", "keys", ha, hb,
	    "key_info", "a", "other", hx);
	json_decref(j);
	/* elide_list_responses: counts, only on a LIST. */
	x.f.elide = 1;
	j = emit_parsed(&x, 1, CF_OK);
	expect(json_incref(json_object_get(json_object_get(j, "response"),
	    "data")), "{s:i, s:i, s:s}", "keys", 2, "key_info", 1, "other",
	    hx);
	json_decref(j);
	/* A refusal: the reason in data, hashed; an internal error on top. */
	x.f.log_raw = 1;
	j = emit_parsed(&x, 1, CF_EINVAL);
	expect(json_incref(json_object_get(json_object_get(j, "response"),
	    "data")), "{s:s}", "error", cf_strerror(CF_EINVAL));
	json_decref(j);
	j = emit_parsed(&x, 1, CF_EDENIED);
	assert_string_equal(json_string_value(json_object_get(j, "error")),
	    cf_strerror(CF_EDENIED));
	assert_null(json_object_get(json_object_get(j, "response"), "data"));
	assert_false(json_is_true(json_object_get(json_object_get(
	    json_object_get(j, "auth"), "policy_results"), "allowed")));
	json_decref(j);
	fixture_fini(&x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_is_hmac_of_salt),
		cmocka_unit_test(test_emit_str_matches_jansson),
		cmocka_unit_test(test_request_entry_hashed),
		cmocka_unit_test(test_response_entry),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
