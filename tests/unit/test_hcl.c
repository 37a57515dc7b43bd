/*
 * test_hcl.c -- the HCL parser (each construct, each error with its
 * line, the JSON form) and the configuration loader built on it.
 */
#include "config.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "hcl.h"
#include "log.h"
#include "../testutil.h"

static struct hcl_node *
parse_ok(const char *text)
{
	struct hcl_node	*root;
	struct buf	 err = BUF_INIT;
	int		 rc;

	rc = hcl_parse(text, strlen(text), "t", &root, &err);
	if (rc != CF_OK)
		fail_msg("unexpected error: %s", err.data);
	buf_free(&err);
	return root;
}

static void
parse_err(const char *text, size_t len, const char *want)
{
	struct hcl_node	*root;
	struct buf	 err = BUF_INIT;

	assert_int_equal(hcl_parse(text, len, "t", &root, &err), CF_EINVAL);
	assert_null(root);
	if (strstr(err.data, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.data, want);
	buf_free(&err);
}

static void
test_constructs(void **state)
{
	struct hcl_node		*r;
	const struct hcl_node	*n, *m;

	(void)state;
	r = parse_ok("# comment\n// another\n/* block\ncomment */\n"
	    "a = \"x\\\"y\\u00e9\"\nb = 42\nc = -1.5\nd = true\n"
	    "e = [1, \"two\", [3],]\nf = { g = false, h = \"i\" }\n"
	    "storage \"lmdb\" {\n  path = \"/p\"\n}\n"
	    "path \"secret/*\" \"x\" { capabilities = [\"read\"] }\n"
	    "h = <<EOT\nline 1\n  line 2\nEOT\n"
	    "i = <<-EOT\n    indented\n    EOT\n");
	n = hcl_get(r, "a");
	assert_int_equal(n->type, HCL_STRING);
	assert_string_equal(n->str, "x\"y\xc3\xa9");
	assert_int_equal(n->line, 5);
	assert_string_equal(hcl_get(r, "b")->str, "42");
	assert_string_equal(hcl_get(r, "c")->str, "-1.5");
	assert_true(hcl_get(r, "d")->boolean);
	n = hcl_get(r, "e");
	assert_int_equal(n->type, HCL_LIST);
	assert_int_equal(n->child->next->next->type, HCL_LIST);
	assert_false(hcl_get(hcl_get(r, "f"), "g")->boolean);
	n = hcl_get(hcl_get(r, "storage"), "lmdb");
	assert_non_null(n);
	assert_string_equal(hcl_get(n, "path")->str, "/p");
	assert_int_equal(hcl_get(n, "path")->line, 12);
	m = hcl_get(hcl_get(hcl_get(r, "path"), "secret/*"), "x");
	assert_non_null(m);
	assert_int_equal(hcl_get(m, "capabilities")->type, HCL_LIST);
	assert_string_equal(hcl_get(r, "h")->str, "line 1\n  line 2\n");
	assert_string_equal(hcl_get(r, "i")->str, "    indented\n");
	hcl_free(r);
}

static void
test_json_form(void **state)
{
	struct hcl_node	*r;

	(void)state;
	r = parse_ok("{\n \"storage\": {\"file\": {\"path\": \"/d\"}},\n"
	    " \"n\": 5, \"l\": [true, null]\n}");
	assert_string_equal(hcl_get(hcl_get(hcl_get(r, "storage"), "file"),
	    "path")->str, "/d");
	assert_int_equal(hcl_get(hcl_get(r, "storage"), "file")->line, 2);
	assert_int_equal(hcl_get(r, "l")->child->next->type, HCL_NULL);
	hcl_free(r);
}

static void
test_errors(void **state)
{
	char	 deep[400];
	size_t	 i;

	(void)state;
	parse_err("a = 1\nb = \"open\n", 16, "t:2: unterminated string");
	parse_err("a = 1\n\nstorag\n", 14, "t:3:");
	parse_err("a = bare\n", 9, "double quotes");
	parse_err("x {\n a = 1\n", 11, "missing '}'");
	parse_err("a = [1, 2\n", 10, "unterminated list");
	parse_err("/* never\nclosed", 15, "t:1: unterminated comment");
	parse_err("h = <<EOT\nno end\n", 17, "unterminated heredoc");
	parse_err("a = 1\n\0b = 2", 12, "t:2: NUL byte");
	parse_err("a = \"\xff\"\n", 8, "invalid UTF-8");
	parse_err("a = \"\\q\"\n", 9, "unknown escape");
	parse_err("{\"a\": 1,, }", 11, "t:1:");
	parse_err("{\"a\": 1} x", 10, "after the JSON");
	for (i = 0; i < sizeof(deep) - 8; i += 2) {
		deep[i] = 'a';
		deep[i + 1] = '{';
	}
	memcpy(deep, "x = ", 4);
	for (i = 4; i < 300; i++)
		deep[i] = '[';
	deep[300] = '\0';
	parse_err(deep, 300, "nesting deeper");
}

/* Write text to dir/name and return the path (static storage). */
static const char *
write_file(const char *dir, const char *name, const char *text)
{
	static char	 path[512];
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void
test_conf(void **state)
{
	char		 dir[] = "/tmp/coffer-conf-XXXXXX";
	struct conf	 c;
	struct buf	 errs = BUF_INIT;
	const char	*p;

	(void)state;
	assert_non_null(mkdtemp(dir));
	p = write_file(dir, "a.hcl",
	    "storage \"lmdb\" { path = \"/d\"\n ha_enabled = \"true\" }\n"
	    "listener \"tcp\" { address = \"127.0.0.1:9\"\n"
	    "  tls_disable = 1\n  max_request_size = 1024 }\n"
	    "default_lease_ttl = \"1h\"\nmax_lease_ttl = 7200\n"
	    "log_level = \"debug\"\nlog_format = \"json\"\n"
	    "disable_mlock = true\nworker_threads = 8\n"
	    "cluster_name = \"c1\"\napi_addr = \"http://x\"\nui = true\n");
	conf_init(&c);
	assert_int_equal(c.worker_threads, 128);
	assert_int_equal(c.default_lease_ttl, 768 * 3600);
	assert_int_equal(conf_load(&c, p, &errs), CF_OK);
	assert_int_equal(conf_finish(&c, &errs), CF_OK);
	assert_string_equal(c.storage_type, "lmdb");
	assert_string_equal(c.storage_path, "/d");
	assert_true(c.ha_enabled);
	assert_int_equal(c.nlisteners, 1);
	assert_int_equal(c.listeners[0].max_request_size, 1024);
	assert_true(c.listeners[0].tls_disable);
	assert_int_equal(c.default_lease_ttl, 3600);
	assert_int_equal(c.max_lease_ttl, 7200);
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	assert_true(c.log_json);
	assert_int_equal(c.worker_threads, 8);
	/* A second file adds a listener; a second storage is refused. */
	p = write_file(dir, "b.json", "{\"listener\": {\"tcp\": "
	    "{\"address\": \"127.0.0.1:10\", \"tls_disable\": true}}}");
	assert_int_equal(conf_load(&c, p, &errs), CF_OK);
	assert_int_equal(c.nlisteners, 2);
	p = write_file(dir, "c.hcl", "storage \"file\" { path = \"/e\" }\n");
	assert_int_equal(conf_load(&c, p, &errs), CF_EINVAL);
	assert_non_null(strstr(errs.data, "already configured"));
	conf_free(&c);

	/* Every error of a file is reported with its line. */
	buf_reset(&errs);
	p = write_file(dir, "bad.hcl", "storage \"lmdb\" {}\n"
	    "listener \"tcp\" { tls_disable = \"maybe\" }\nbogus = 1\n"
	    "log_level = \"loud\"\nworker_threads = 0\n"
	    "default_lease_ttl = \"2d\"\n");
	conf_init(&c);
	assert_int_equal(conf_load(&c, p, &errs), CF_EINVAL);
	assert_non_null(strstr(errs.data, "bad.hcl:1: storage \"lmdb\" needs"));
	assert_non_null(strstr(errs.data, "bad.hcl:2: tls_disable"));
	assert_non_null(strstr(errs.data, "bad.hcl:3: unknown key \"bogus\""));
	assert_non_null(strstr(errs.data, "bad.hcl:4: log_level"));
	assert_non_null(strstr(errs.data, "bad.hcl:5: worker_threads"));
	assert_non_null(strstr(errs.data, "bad.hcl:6: default_lease_ttl"));
	assert_null(c.storage_type);		/* nothing taken */
	conf_free(&c);

	/* TLS needs its files; default above max is refused. */
	buf_reset(&errs);
	p = write_file(dir, "tls.hcl", "storage \"inmem\" {}\n"
	    "listener \"tcp\" {}\n");
	conf_init(&c);
	assert_int_equal(conf_load(&c, p, &errs), CF_EINVAL);
	assert_non_null(strstr(errs.data, "tls_cert_file"));
	conf_free(&c);
	buf_reset(&errs);
	p = write_file(dir, "ttl.hcl", "storage \"inmem\" {}\n"
	    "listener \"tcp\" { tls_disable = true }\n"
	    "default_lease_ttl = \"2h\"\nmax_lease_ttl = \"1h\"\n");
	conf_init(&c);
	assert_int_equal(conf_load(&c, p, &errs), CF_OK);
	assert_int_equal(conf_finish(&c, &errs), CF_EINVAL);
	conf_free(&c);
	/* No storage, no listener. */
	buf_reset(&errs);
	conf_init(&c);
	assert_int_equal(conf_finish(&c, &errs), CF_EINVAL);
	assert_non_null(strstr(errs.data, "no storage"));
	assert_non_null(strstr(errs.data, "no listener"));
	conf_free(&c);
	/* A directory: every .hcl and .json file in name order. */
	unlink(write_file(dir, "bad.hcl", ""));
	unlink(write_file(dir, "c.hcl", ""));
	unlink(write_file(dir, "tls.hcl", ""));
	unlink(write_file(dir, "ttl.hcl", ""));
	write_file(dir, "ignored.txt", "junk");
	buf_reset(&errs);
	conf_init(&c);
	assert_int_equal(conf_load(&c, dir, &errs), CF_OK);
	assert_int_equal(c.nlisteners, 2);
	assert_string_equal(c.listeners[1].address, "127.0.0.1:10");
	conf_free(&c);
	buf_free(&errs);
	test_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_constructs),
		cmocka_unit_test(test_json_form),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
