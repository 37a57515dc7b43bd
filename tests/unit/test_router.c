/*
 * test_router.c -- the mount table and the request pipeline of
 * core/router.c, with fake backends and a fake authorization table on a
 * core unsealed over inmem storage: the mount that a path reaches (a
 * mount's own path without its slash included, nested mounts refused),
 * Vault's 404, the raw routes of the seal family in every state, the
 * token and ACL checks in their order (existence check first), and
 * router_precheck's answers before a body is read.
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

#include "barrier.h"
#include "buf.h"
#include "core.h"
#include "err.h"
#include "log.h"
#include "req.h"
#include "router.h"
#include "storage.h"
#include "token.h"

/* What the fakes saw, reset by new_req(). */
static struct {
	int		 handled;	/* backend handle calls */
	char		 mount[64];	/* the mount handle got */
	char		 rel[128];	/* and req->rel */
	int		 authn;		/* authenticate calls */
	int		 checks;	/* check calls */
	int		 allowed;	/* allowed calls */
	int		 allowed_op;	/* the op allowed saw */
	char		 allowed_path[128];
	int		 freed;		/* free_ctx calls */
	int		 raw;		/* raw route calls */
	char		 raw_path[128];
} seen;

static struct storage	*st;

/* Fills the response with where the request landed. */
static int
fake_handle(struct mount *m, struct request *req, struct response *resp)
{
	seen.handled++;
	strlcpy(seen.mount, m->path, sizeof(seen.mount));
	strlcpy(seen.rel, req->rel, sizeof(seen.rel));
	return resp_data(resp, json_pack("{s:s}", "mount", m->path));
}

/* "login" and "login/..." need no token, as an auth method's do. */
static int
fake_unauth(const struct mount *m, const char *rel, int op)
{
	(void)m;
	(void)op;
	return strncmp(rel, "login", 5) == 0;
}

/* Only "present" exists: a write elsewhere is a create. */
static int
fake_exists(struct mount *m, struct request *req, int *exists)
{
	(void)m;
	*exists = strcmp(req->rel, "present") == 0;
	return CF_OK;
}

static const struct backend_ops fake_ops = {
	.type = "fake",
	.handle = fake_handle,
	.is_unauthenticated = fake_unauth,
	.exists = fake_exists,
};

static const struct backend_ops fake_auth_ops = {
	.type = "fakeauth",
	.is_auth = 1,
	.handle = fake_handle,
	.is_unauthenticated = fake_unauth,
};

/* "good" is a live token; anything else is not. */
static int
fa_authenticate(const char *token, const char *addr, struct auth_ctx **out)
{
	(void)addr;
	seen.authn++;
	*out = NULL;
	if (token == NULL || strcmp(token, "good") != 0)
		return CF_EDENIED;
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return CF_ENOMEM;
	return CF_OK;
}

static int
fa_check(const char *token, const char *addr)
{
	(void)addr;
	seen.checks++;
	return token != NULL && strcmp(token, "good") == 0 ? CF_OK :
	    CF_EDENIED;
}

/* The ACL: anything under a "forbidden" segment is denied. */
static int
fa_allowed(const struct auth_ctx *ac, const char *path, int op, json_t *data,
    long long wrap_ttl)
{
	(void)data;
	(void)wrap_ttl;
	assert_non_null(ac);
	seen.allowed++;
	seen.allowed_op = op;
	strlcpy(seen.allowed_path, path, sizeof(seen.allowed_path));
	return strstr(path, "forbidden") != NULL ? CF_EDENIED : CF_OK;
}

static void
fa_free(struct auth_ctx *ac)
{
	seen.freed++;
	free(ac);
}

static const struct router_auth_ops fake_authz = {
	.authenticate = fa_authenticate,
	.check = fa_check,
	.allowed = fa_allowed,
	.free_ctx = fa_free,
};

static int
raw_fn(struct request *req, struct response *resp)
{
	(void)resp;
	seen.raw++;
	strlcpy(seen.raw_path, req->path, sizeof(seen.raw_path));
	return CF_OK;
}

static void
new_req(struct request *req, struct response *resp, int op,
    const char *path, const char *token)
{
	memset(&seen, 0, sizeof(seen));
	memset(req, 0, sizeof(*req));
	req->op = op;
	req->path = strdup(path);
	req->token = token != NULL ? strdup(token) : NULL;
	req->data = json_object();
	req->remote_addr = "127.0.0.1";
	assert_non_null(req->path);
	assert_non_null(req->data);
	resp_init(resp);
}

static void
free_req(struct request *req, struct response *resp)
{
	free(req->path);
	free(req->token);
	json_decref(req->data);
	resp_fini(resp);
}

/* Run one request; its result, with resp's error text in err. */
static int
route(int op, const char *path, const char *token, char *err, size_t len)
{
	struct request	 req;
	struct response	 resp;
	int		 rc;

	new_req(&req, &resp, op, path, token);
	rc = router_handle(&req, &resp);
	if (err != NULL)
		strlcpy(err, resp.err, len);
	free_req(&req, &resp);
	return rc;
}

static int
precheck(int op, const char *path, const char *token, int *raw, char *err,
    size_t len)
{
	struct request	 req;
	struct response	 resp;
	int		 rc;

	new_req(&req, &resp, op, path, token);
	rc = router_precheck(&req, &resp, raw);
	if (err != NULL)
		strlcpy(err, resp.err, len);
	free_req(&req, &resp);
	return rc;
}

static void
do_mount(const char *path, const struct backend_ops *ops)
{
	struct mount	*m;
	char		 why[256];

	assert_non_null(m = router_mount_new(path, ops));
	assert_int_equal(router_mount(m, why, sizeof(why)), CF_OK);
}

static void
do_unmount(const char *path)
{
	struct mount	*m;

	assert_int_equal(router_unmount(path, &m), CF_OK);
	router_mount_unref(m);
}

static void
unseal(void)
{
	struct barrier	*b;

	assert_int_equal(barrier_new(&b), CF_OK);
	assert_int_equal(barrier_keyring_init(b), CF_OK);
	core_wrlock();
	assert_int_equal(core_unseal(b), CF_OK);
	core_unlock();
	assert_int_equal(core_state(), CORE_UNSEALED);
	assert_true(core_is_active());
}

static void
seal(void)
{
	core_wrlock();
	core_seal();
	core_unlock();
	assert_int_equal(core_state(), CORE_SEALED);
}

/* An unsealed core with "secret/", "sys/" and two auth mounts. */
static int
setup(void **state)
{
	struct core_conf	 cc = { 3600, 86400, "test", NULL, 0 };
	struct storage_conf	 sc = { NULL, 0, NULL, 0 };

	(void)state;
	if (storage_open("inmem", &sc, &st) != CF_OK ||
	    storage_put(st, "core/seal-config", "{}", 2) != CF_OK ||
	    core_init(st, &cc) != CF_OK || core_state() != CORE_SEALED)
		return -1;
	unseal();
	do_mount("secret/", &fake_ops);
	do_mount("sys/", &fake_ops);
	do_mount("auth/token/", &fake_auth_ops);
	do_mount("auth/userpass/", &fake_auth_ops);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	router_clear();
	core_fini();
	storage_close(st);
	st = NULL;
	return 0;
}

static void
test_longest_prefix(void **state)
{
	struct mount	*m;

	(void)state;
	assert_int_equal(route(REQ_READ, "secret/a/b", "good", NULL, 0),
	    CF_OK);
	assert_int_equal(seen.handled, 1);
	assert_string_equal(seen.mount, "secret/");
	assert_string_equal(seen.rel, "a/b");
	assert_string_equal(seen.allowed_path, "secret/a/b");
	assert_int_equal(route(REQ_READ, "auth/userpass/users/bob", "good",
	    NULL, 0), CF_OK);
	assert_string_equal(seen.mount, "auth/userpass/");
	assert_string_equal(seen.rel, "users/bob");
	assert_int_equal(route(REQ_READ, "auth/token/lookup-self", "good",
	    NULL, 0), CF_OK);
	assert_string_equal(seen.mount, "auth/token/");
	assert_string_equal(seen.rel, "lookup-self");
	/* The same answers from the table itself. */
	assert_non_null(m = router_mount_get("auth/userpass/login/x"));
	assert_string_equal(m->path, "auth/userpass/");
	router_mount_unref(m);
	assert_null(router_mount_get("auth/"));
	assert_null(router_mount_exact("secret"));
	assert_non_null(m = router_mount_exact("secret/"));
	router_mount_unref(m);
}

static void
test_nested_mounts(void **state)
{
	struct mount	*m;
	char		 why[256];

	(void)state;
	/* A mount inside another, or around it, is refused. */
	assert_non_null(m = router_mount_new("secret/team/", &fake_ops));
	assert_int_equal(router_mount(m, why, sizeof(why)), CF_EINVAL);
	assert_string_equal(why, "path is already in use at secret/");
	mount_free(m);
	assert_non_null(m = router_mount_new("auth/", &fake_ops));
	assert_int_equal(router_mount(m, why, sizeof(why)), CF_EINVAL);
	assert_string_equal(why, "path is already in use at auth/token/");
	mount_free(m);
	/* A sibling that shares a prefix but not a segment is not. */
	do_mount("secretive/", &fake_ops);
	assert_int_equal(route(REQ_READ, "secretive/x", "good", NULL, 0),
	    CF_OK);
	assert_string_equal(seen.mount, "secretive/");
	assert_string_equal(seen.rel, "x");
	assert_int_equal(route(REQ_READ, "secret/x", "good", NULL, 0),
	    CF_OK);
	assert_string_equal(seen.mount, "secret/");
	/* Once secret/ is gone, secret/team/ may be mounted and serve. */
	do_unmount("secret/");
	do_mount("secret/team/", &fake_ops);
	assert_int_equal(route(REQ_READ, "secret/team/x", "good", NULL, 0),
	    CF_OK);
	assert_string_equal(seen.mount, "secret/team/");
	assert_string_equal(seen.rel, "x");
	assert_int_equal(route(REQ_READ, "secret/x", "good", NULL, 0),
	    CF_ENOTFOUND);
	assert_int_equal(seen.handled, 0);
	do_unmount("secret/team/");
	do_unmount("secretive/");
	do_mount("secret/", &fake_ops);
}

static void
test_mount_without_slash(void **state)
{
	(void)state;
	/* "secret" reaches "secret/" with an empty rest. */
	assert_int_equal(route(REQ_READ, "secret", "good", NULL, 0), CF_OK);
	assert_int_equal(seen.handled, 1);
	assert_string_equal(seen.mount, "secret/");
	assert_string_equal(seen.rel, "");
	assert_int_equal(route(REQ_READ, "auth/userpass", "good", NULL, 0),
	    CF_OK);
	assert_string_equal(seen.mount, "auth/userpass/");
	assert_string_equal(seen.rel, "");
	/* Only the slash may be missing. */
	assert_int_equal(route(REQ_READ, "secre", "good", NULL, 0),
	    CF_ENOTFOUND);
	assert_int_equal(route(REQ_READ, "secretx/a", "good", NULL, 0),
	    CF_ENOTFOUND);
	assert_int_equal(seen.handled, 0);
}

static void
test_not_found(void **state)
{
	char	 err[1024];

	(void)state;
	assert_int_equal(route(REQ_READ, "nosuch/a", "good", err,
	    sizeof(err)), CF_ENOTFOUND);
	assert_string_equal(err,
	    "no handler for route \"nosuch/a\". route entry not found.");
	/* The route is looked up before the token. */
	assert_int_equal(route(REQ_READ, "nosuch/a", NULL, NULL, 0),
	    CF_ENOTFOUND);
	assert_int_equal(seen.authn, 0);
	assert_int_equal(seen.handled, 0);
}

static void
test_raw_routes(void **state)
{
	int	 raw;

	(void)state;
	/* Exact: sys/health only; prefix: sys/generate-root and below. */
	assert_int_equal(route(REQ_READ, "sys/health", NULL, NULL, 0), CF_OK);
	assert_int_equal(seen.raw, 1);
	assert_int_equal(seen.handled, 0);
	assert_int_equal(seen.authn, 0);
	assert_int_equal(route(REQ_UPDATE, "sys/generate-root/attempt", NULL,
	    NULL, 0), CF_OK);
	assert_int_equal(seen.raw, 1);
	assert_string_equal(seen.raw_path, "sys/generate-root/attempt");
	assert_int_equal(route(REQ_READ, "sys/generate-root", NULL, NULL, 0),
	    CF_OK);
	assert_int_equal(seen.raw, 1);
	/* Not raw: they go to the sys/ mount, which wants a token. */
	assert_int_equal(route(REQ_READ, "sys/health/x", "good", NULL, 0),
	    CF_OK);
	assert_int_equal(seen.raw, 0);
	assert_string_equal(seen.rel, "health/x");
	assert_int_equal(route(REQ_READ, "sys/generate-rootx", "good", NULL,
	    0), CF_OK);
	assert_int_equal(seen.raw, 0);
	assert_string_equal(seen.rel, "generate-rootx");
	assert_int_equal(route(REQ_READ, "sys/healthy", NULL, NULL, 0),
	    CF_EDENIED);
	assert_int_equal(seen.raw, 0);
	/* Raw routes are answered sealed; the rest is 503. */
	seal();
	assert_int_equal(route(REQ_READ, "sys/health", NULL, NULL, 0), CF_OK);
	assert_int_equal(seen.raw, 1);
	assert_int_equal(precheck(REQ_READ, "sys/generate-root/update", NULL,
	    &raw, NULL, 0), CF_OK);
	assert_int_equal(raw, 1);
	assert_int_equal(precheck(REQ_READ, "sys/mounts", "good", &raw, NULL,
	    0), CF_ESEALED);
	assert_int_equal(raw, 0);
	unseal();
}

static void
test_sealed(void **state)
{
	char	 err[1024];

	(void)state;
	seal();
	assert_int_equal(route(REQ_READ, "secret/a", "good", err,
	    sizeof(err)), CF_ESEALED);
	assert_string_equal(err, "Vault is sealed");
	/* Sealed comes before the route: no 404 while sealed. */
	assert_int_equal(route(REQ_READ, "nosuch/a", "good", err,
	    sizeof(err)), CF_ESEALED);
	assert_int_equal(seen.handled + seen.authn, 0);
	unseal();
	assert_int_equal(route(REQ_READ, "secret/a", "good", NULL, 0), CF_OK);
	assert_int_equal(seen.handled, 1);
}

static void
test_token_and_acl(void **state)
{
	char	 err[1024];

	(void)state;
	/* No token, or an unknown one: 403 before the ACL. */
	assert_int_equal(route(REQ_READ, "secret/a", NULL, err, sizeof(err)),
	    CF_EDENIED);
	assert_string_equal(err, "permission denied");
	assert_int_equal(seen.allowed + seen.handled, 0);
	assert_int_equal(route(REQ_READ, "secret/a", "bad", err, sizeof(err)),
	    CF_EDENIED);
	assert_int_equal(seen.authn, 1);
	assert_int_equal(seen.allowed + seen.handled, 0);
	/* The ACL denies: its own text, no handler, the context freed. */
	assert_int_equal(route(REQ_READ, "secret/forbidden/x", "good", err,
	    sizeof(err)), CF_EDENIED);
	assert_string_equal(err,
	    "1 error occurred:\n\t* permission denied\n\n");
	assert_int_equal(seen.allowed, 1);
	assert_int_equal(seen.handled, 0);
	assert_int_equal(seen.freed, 1);
	/* Allowed: the handler runs and the context is freed once. */
	assert_int_equal(route(REQ_READ, "secret/ok", "good", NULL, 0),
	    CF_OK);
	assert_int_equal(seen.allowed, 1);
	assert_int_equal(seen.allowed_op, REQ_READ);
	assert_int_equal(seen.handled, 1);
	assert_int_equal(seen.freed, 1);
	/* An unauthenticated path needs no token and sees no ACL. */
	assert_int_equal(route(REQ_UPDATE, "auth/userpass/login/bob", NULL,
	    NULL, 0), CF_OK);
	assert_int_equal(seen.handled, 1);
	assert_int_equal(seen.authn + seen.allowed, 0);
}

static void
test_existence_check(void **state)
{
	char	 err[1024];

	(void)state;
	/* A write to a missing path is a create for the ACL ... */
	assert_int_equal(route(REQ_UPDATE, "secret/absent", "good", NULL, 0),
	    CF_OK);
	assert_int_equal(seen.allowed_op, REQ_CREATE);
	/* ... to an existing one an update. */
	assert_int_equal(route(REQ_UPDATE, "secret/present", "good", NULL, 0),
	    CF_OK);
	assert_int_equal(seen.allowed_op, REQ_UPDATE);
	/* A backend without an existence check: always update. */
	assert_int_equal(route(REQ_UPDATE, "auth/token/absent", "good", NULL,
	    0), CF_OK);
	assert_int_equal(seen.allowed_op, REQ_UPDATE);
	/* No write to a directory; a LIST gets its trailing slash. */
	assert_int_equal(route(REQ_UPDATE, "secret/dir/", "good", err,
	    sizeof(err)), CF_EINVAL);
	assert_string_equal(err, "cannot write to a path ending in '/'");
	assert_int_equal(seen.handled, 0);
	assert_int_equal(route(REQ_LIST, "secret/dir", "good", NULL, 0),
	    CF_OK);
	assert_string_equal(seen.allowed_path, "secret/dir/");
	assert_string_equal(seen.rel, "dir/");
}

static void
test_precheck(void **state)
{
	char	 err[1024];
	int	 raw = -1;

	(void)state;
	assert_int_equal(precheck(REQ_UPDATE, "secret/a", "good", &raw, NULL,
	    0), CF_OK);
	assert_int_equal(raw, 0);
	/* It checks the token without authenticating (no use spent). */
	assert_int_equal(seen.checks, 1);
	assert_int_equal(seen.authn + seen.allowed + seen.handled, 0);
	assert_int_equal(precheck(REQ_UPDATE, "secret/a", "bad", &raw, err,
	    sizeof(err)), CF_EDENIED);
	assert_string_equal(err, "permission denied");
	assert_int_equal(precheck(REQ_UPDATE, "secret/a", NULL, &raw, NULL,
	    0), CF_EDENIED);
	assert_int_equal(precheck(REQ_UPDATE, "nosuch/a", "good", &raw, err,
	    sizeof(err)), CF_ENOTFOUND);
	assert_string_equal(err,
	    "no handler for route \"nosuch/a\". route entry not found.");
	assert_int_equal(seen.checks, 0);
	/* A login path is let through without a token. */
	assert_int_equal(precheck(REQ_UPDATE, "auth/userpass/login/bob", NULL,
	    &raw, NULL, 0), CF_OK);
	assert_int_equal(seen.checks, 0);
	/* The raw family is marked, and nothing else is looked at. */
	assert_int_equal(precheck(REQ_UPDATE, "sys/health", NULL, &raw, NULL,
	    0), CF_OK);
	assert_int_equal(raw, 1);
	assert_int_equal(seen.checks + seen.raw, 0);
	seal();
	assert_int_equal(precheck(REQ_UPDATE, "secret/a", "good", &raw, err,
	    sizeof(err)), CF_ESEALED);
	assert_string_equal(err, "Vault is sealed");
	assert_int_equal(seen.checks, 0);
	unseal();
}

static void
test_mount_paths(void **state)
{
	struct strv	 sv = STRV_INIT;

	(void)state;
	assert_int_equal(router_mount_paths(1, &sv), CF_OK);
	assert_int_equal(sv.n, 2);
	assert_string_equal(sv.v[0], "auth/token/");
	assert_string_equal(sv.v[1], "auth/userpass/");
	strv_free(&sv);
	assert_int_equal(router_mount_paths(0, &sv), CF_OK);
	assert_int_equal(sv.n, 2);
	assert_string_equal(sv.v[0], "secret/");
	assert_string_equal(sv.v[1], "sys/");
	strv_free(&sv);
	assert_ptr_equal(router_backend_lookup("fake"), &fake_ops);
	assert_null(router_backend_lookup("nosuch"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_longest_prefix, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_nested_mounts, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mount_without_slash, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_not_found, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_raw_routes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sealed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_and_acl, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_existence_check, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_precheck, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mount_paths, setup,
		    teardown),
	};

	if (sodium_init() < 0)
		return 1;
	log_setlevel(LOG_LVL_WARN);	/* not every seal and unseal */
	router_register(&fake_ops);
	router_register(&fake_auth_ops);
	router_auth(&fake_authz);
	router_raw("sys/health", 0, raw_fn);
	router_raw("sys/generate-root", 1, raw_fn);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
