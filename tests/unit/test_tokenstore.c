/*
 * test_tokenstore.c -- the token store of auth/token.c on a core
 * unsealed over inmem storage with a fresh keyring: a token is found by
 * its text and by its accessor, num_uses are spent (and the last use
 * revokes), an expired token is refused and removed, revocation takes
 * the subtree or orphans it, bound_cidrs are checked against the
 * client's address before a use is spent, and the entry cache answers
 * a second lookup until a write of the entry drops it.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "barrier.h"
#include "buf.h"
#include "core.h"
#include "err.h"
#include "log.h"
#include "storage.h"
#include "token.h"

static struct storage	*st;
static char		 revoked[8][TOKEN_HASH_LEN + 1];	/* by the hook */
static size_t		 nrevoked;

/* A token, its text in sodium_malloc memory as token_create wants. */
struct tok {
	char	*text;
	char	 hash[TOKEN_HASH_LEN + 1];
	char	 accessor[64];
};

static int
on_revoke(const char *hash)
{
	if (nrevoked < sizeof(revoked) / sizeof(revoked[0]))
		strlcpy(revoked[nrevoked], hash, sizeof(revoked[0]));
	nrevoked++;
	return CF_OK;
}

static int
was_revoked(const char *hash)
{
	size_t	 i;

	for (i = 0; i < nrevoked && i < sizeof(revoked) / sizeof(revoked[0]);
	    i++)
		if (strcmp(revoked[i], hash) == 0)
			return 1;
	return 0;
}

/* Create a "default" token; parent NULL for an orphan. */
static void
mk(struct tok *t, const struct tok *parent, long long ttl, long long uses,
    json_t *cidrs)
{
	struct token_params	 tp;
	struct strv		 pols = STRV_INIT;
	json_t			*e = NULL;

	memset(t, 0, sizeof(*t));
	assert_non_null(t->text = sodium_malloc(TOKEN_MAX_LEN + 1));
	assert_int_equal(strv_push(&pols, "default"), CF_OK);
	memset(&tp, 0, sizeof(tp));
	tp.policies = &pols;
	tp.parent = parent != NULL ? parent->hash : NULL;
	tp.path = "auth/token/create";
	tp.display_name = "token";
	tp.ttl = ttl;
	tp.num_uses = uses;
	tp.renewable = 1;
	tp.bound_cidrs = cidrs;
	assert_int_equal(token_create(&tp, t->text, &e), CF_OK);
	assert_non_null(e);
	assert_int_equal(token_hash(t->text, t->hash), CF_OK);
	strlcpy(t->accessor, json_string_value(json_object_get(e,
	    "accessor")), sizeof(t->accessor));
	json_decref(e);
	strv_free(&pols);
}

static void
rm(struct tok *t)
{
	sodium_free(t->text);
	t->text = NULL;
}

static int
authn(const struct tok *t, const char *addr)
{
	struct auth_ctx	*ac = NULL;
	int		 rc;

	rc = token_authenticate(t->text, addr, &ac);
	assert_true(rc == CF_OK ? ac != NULL : ac == NULL);
	token_auth_ctx_free(ac);
	return rc;
}

static int
exists(const struct tok *t)
{
	json_t	*e = NULL;
	int	 rc;

	rc = token_entry(t->hash, &e);
	json_decref(e);
	assert_true(rc == CF_OK || rc == CF_ENOTFOUND);
	return rc == CF_OK;
}

static json_int_t
stored_int(const struct tok *t, const char *key)
{
	json_t		*e = NULL;
	json_int_t	 v;

	assert_int_equal(token_entry(t->hash, &e), CF_OK);
	v = json_integer_value(json_object_get(e, key));
	json_decref(e);
	return v;
}

/* Rewrite a token's entry behind the store's back (its cache too). */
static void
poke_expired(const struct tok *t, int through_store)
{
	char	 key[128];
	json_t	*e = NULL;

	assert_int_equal(token_entry(t->hash, &e), CF_OK);
	json_object_set_new(e, "expire_time", json_integer(1));
	if (through_store)
		assert_int_equal(token_entry_put(t->hash, e), CF_OK);
	else {
		snprintf(key, sizeof(key), "sys/token/id/%s", t->hash);
		assert_int_equal(core_put_json(key, e), CF_OK);
	}
	json_decref(e);
}

static int
setup(void **state)
{
	struct core_conf	 cc = { 3600, 86400, "test", NULL, 0 };
	struct storage_conf	 sc = { NULL, 0, NULL, 0 };
	struct barrier		*b = NULL;
	int			 rc;

	(void)state;
	if (storage_open("inmem", &sc, &st) != CF_OK ||
	    storage_put(st, "core/seal-config", "{}", 2) != CF_OK ||
	    core_init(st, &cc) != CF_OK)
		return -1;
	if (barrier_new(&b) != CF_OK || barrier_keyring_init(b) != CF_OK) {
		barrier_free(b);
		return -1;
	}
	/* Becoming active loads the salt (token_store_load). */
	core_wrlock();
	rc = core_unseal(b);
	core_unlock();
	nrevoked = 0;
	return rc == CF_OK && core_is_active() ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	core_fini();		/* leaving active wipes the salt */
	storage_close(st);
	st = NULL;
	return 0;
}

static void
test_create_lookup(void **state)
{
	struct auth_ctx	*ac = NULL;
	struct tok	 t, u;
	char		 h[TOKEN_HASH_LEN + 1], *root;
	json_t		*e = NULL;

	(void)state;
	mk(&t, NULL, 3600, 0, NULL);
	assert_int_equal(strncmp(t.text, "hvs.", 4), 0);
	assert_int_equal(strlen(t.text), 28);
	assert_int_equal(token_authenticate(t.text, "127.0.0.1", &ac), CF_OK);
	assert_string_equal(ac->hash, t.hash);
	assert_string_equal(ac->accessor, t.accessor);
	assert_false(ac->is_root);
	assert_non_null(ac->acl);
	assert_string_equal(json_string_value(json_object_get(ac->entry,
	    "display_name")), "token");
	token_auth_ctx_free(ac);
	/* By accessor: the same token. */
	assert_int_equal(token_accessor_hash(t.accessor, h), CF_OK);
	assert_string_equal(h, t.hash);
	assert_int_equal(token_entry(h, &e), CF_OK);
	assert_string_equal(json_string_value(json_object_get(e, "accessor")),
	    t.accessor);
	assert_true(json_is_true(json_object_get(e, "orphan")));
	json_decref(e);
	/* Two tokens differ in text, hash and accessor. */
	mk(&u, NULL, 3600, 0, NULL);
	assert_string_not_equal(u.text, t.text);
	assert_string_not_equal(u.hash, t.hash);
	assert_string_not_equal(u.accessor, t.accessor);
	/* Unknown tokens and accessors. */
	assert_int_equal(token_authenticate("hvs.nosuch", NULL, &ac),
	    CF_EDENIED);
	assert_null(ac);
	assert_int_equal(token_authenticate(NULL, NULL, &ac), CF_EDENIED);
	assert_int_equal(token_authenticate("", NULL, &ac), CF_EDENIED);
	assert_int_equal(token_check("hvs.nosuch", NULL), CF_EDENIED);
	assert_int_equal(token_accessor_hash("nosuch", h), CF_ENOTFOUND);
	/* A root token with a custom id; the id cannot be taken twice. */
	assert_non_null(root = sodium_malloc(TOKEN_MAX_LEN + 1));
	assert_int_equal(token_create_root("my-root", "auth/token/root",
	    root), CF_OK);
	assert_string_equal(root, "my-root");
	assert_int_equal(token_authenticate("my-root", NULL, &ac), CF_OK);
	assert_true(ac->is_root);
	token_auth_ctx_free(ac);
	assert_int_equal(token_create_root("my-root", "auth/token/root",
	    root), CF_EINVAL);
	sodium_free(root);
	rm(&t);
	rm(&u);
}

static void
test_num_uses(void **state)
{
	struct auth_ctx	*ac = NULL;
	struct tok	 t;

	(void)state;
	mk(&t, NULL, 3600, 2, NULL);
	/* A check spends nothing. */
	assert_int_equal(token_check(t.text, NULL), CF_OK);
	assert_int_equal(token_check(t.text, NULL), CF_OK);
	assert_int_equal(stored_int(&t, "num_uses"), 2);
	/* Each authentication spends one; the caller sees what is left. */
	assert_int_equal(token_authenticate(t.text, NULL, &ac), CF_OK);
	assert_int_equal(json_integer_value(json_object_get(ac->entry,
	    "num_uses")), 1);
	token_auth_ctx_free(ac);
	assert_int_equal(stored_int(&t, "num_uses"), 1);
	/* The last use is allowed and revokes the token. */
	assert_int_equal(authn(&t, NULL), CF_OK);
	assert_false(exists(&t));
	assert_true(was_revoked(t.hash));
	assert_int_equal(authn(&t, NULL), CF_EDENIED);
	assert_int_equal(token_check(t.text, NULL), CF_EDENIED);
	rm(&t);
}

static void
test_expiry(void **state)
{
	struct tok	 t, forever;
	char		 h[TOKEN_HASH_LEN + 1];

	(void)state;
	mk(&t, NULL, 3600, 0, NULL);
	mk(&forever, NULL, 0, 0, NULL);
	assert_true(stored_int(&t, "expire_time") > (json_int_t)time(NULL));
	assert_int_equal(stored_int(&forever, "expire_time"), 0);
	assert_int_equal(authn(&t, NULL), CF_OK);
	poke_expired(&t, 1);
	/* Refused by the check, without removing it ... */
	assert_int_equal(token_check(t.text, NULL), CF_EDENIED);
	assert_true(exists(&t));
	/* ... and by authentication, which removes it and its accessor. */
	assert_int_equal(authn(&t, NULL), CF_EDENIED);
	assert_false(exists(&t));
	assert_int_equal(token_accessor_hash(t.accessor, h), CF_ENOTFOUND);
	assert_int_equal(authn(&forever, NULL), CF_OK);
	rm(&t);
	rm(&forever);
}

static void
test_revoke_tree(void **state)
{
	struct tok	 p, c1, c2, g, other;
	char		 h[TOKEN_HASH_LEN + 1];

	(void)state;
	mk(&p, NULL, 3600, 0, NULL);
	mk(&c1, &p, 3600, 0, NULL);
	mk(&c2, &p, 3600, 0, NULL);
	mk(&g, &c1, 3600, 0, NULL);
	mk(&other, NULL, 3600, 0, NULL);
	assert_int_equal(authn(&g, NULL), CF_OK);	/* cached now */
	assert_int_equal(token_revoke(p.hash, 0), CF_OK);
	/* Children first, each through the hook, all of them gone. */
	assert_int_equal(nrevoked, 4);
	assert_string_equal(revoked[3], p.hash);
	assert_true(was_revoked(c1.hash) && was_revoked(c2.hash) &&
	    was_revoked(g.hash));
	assert_false(exists(&p) || exists(&c1) || exists(&c2) || exists(&g));
	assert_int_equal(authn(&g, NULL), CF_EDENIED);
	assert_int_equal(authn(&c2, NULL), CF_EDENIED);
	assert_int_equal(token_accessor_hash(c1.accessor, h), CF_ENOTFOUND);
	/* Others live on; revoking a missing token is no error. */
	assert_int_equal(authn(&other, NULL), CF_OK);
	assert_int_equal(token_revoke(p.hash, 0), CF_OK);
	rm(&p);
	rm(&c1);
	rm(&c2);
	rm(&g);
	rm(&other);
}

static void
test_revoke_orphans(void **state)
{
	struct tok	 p, c;
	json_t		*e = NULL;

	(void)state;
	mk(&p, NULL, 3600, 0, NULL);
	mk(&c, &p, 3600, 0, NULL);
	assert_int_equal(token_entry(c.hash, &e), CF_OK);
	assert_string_equal(json_string_value(json_object_get(e, "parent")),
	    p.hash);
	assert_false(json_is_true(json_object_get(e, "orphan")));
	json_decref(e);
	assert_int_equal(authn(&c, NULL), CF_OK);
	assert_int_equal(token_revoke(p.hash, 1), CF_OK);
	assert_false(exists(&p));
	assert_int_equal(authn(&p, NULL), CF_EDENIED);
	/* The child stays, an orphan now, and still authenticates. */
	assert_int_equal(authn(&c, NULL), CF_OK);
	assert_int_equal(token_entry(c.hash, &e), CF_OK);
	assert_string_equal(json_string_value(json_object_get(e, "parent")),
	    "");
	assert_true(json_is_true(json_object_get(e, "orphan")));
	json_decref(e);
	assert_false(was_revoked(c.hash));
	rm(&p);
	rm(&c);
}

static void
test_bound_cidrs(void **state)
{
	struct tok	 t, u, forever;
	json_t		*cidrs = json_pack("[s, s]", "10.0.0.0/8",
			    "192.0.2.7/32");

	(void)state;
	assert_non_null(cidrs);
	mk(&t, NULL, 3600, 0, cidrs);
	assert_int_equal(authn(&t, "10.1.2.3"), CF_OK);
	assert_int_equal(authn(&t, "192.0.2.7"), CF_OK);
	assert_int_equal(authn(&t, "192.0.2.8"), CF_EDENIED);
	assert_int_equal(authn(&t, "127.0.0.1"), CF_EDENIED);
	/* A bound token with no client address is refused. */
	assert_int_equal(authn(&t, NULL), CF_EDENIED);
	assert_int_equal(token_check(t.text, "10.9.9.9"), CF_OK);
	assert_int_equal(token_check(t.text, "127.0.0.1"), CF_EDENIED);
	/* Refused before a use is spent. */
	mk(&u, NULL, 3600, 3, cidrs);
	assert_int_equal(authn(&u, "127.0.0.1"), CF_EDENIED);
	assert_int_equal(stored_int(&u, "num_uses"), 3);
	assert_int_equal(authn(&u, "10.0.0.1"), CF_OK);
	assert_int_equal(stored_int(&u, "num_uses"), 2);
	/* A token that never expires keeps no list, as in Vault. */
	mk(&forever, NULL, 0, 0, cidrs);
	assert_int_equal(authn(&forever, "127.0.0.1"), CF_OK);
	json_decref(cidrs);
	rm(&t);
	rm(&u);
	rm(&forever);
}

static void
test_cache(void **state)
{
	struct tok	 t, u;

	(void)state;
	mk(&t, NULL, 3600, 0, NULL);
	assert_int_equal(authn(&t, NULL), CF_OK);	/* read and cached */
	/*
	 * Storage now says expired, but nothing told the store: the
	 * second lookup is the cache's.
	 */
	poke_expired(&t, 0);
	assert_int_equal(authn(&t, NULL), CF_OK);
	assert_int_equal(token_check(t.text, NULL), CF_OK);
	/* A write through the store drops it: storage's answer again. */
	poke_expired(&t, 1);
	assert_int_equal(token_check(t.text, NULL), CF_EDENIED);
	assert_int_equal(authn(&t, NULL), CF_EDENIED);
	assert_false(exists(&t));
	/* Tokens that count uses are never cached. */
	mk(&u, NULL, 3600, 5, NULL);
	assert_int_equal(authn(&u, NULL), CF_OK);
	poke_expired(&u, 0);
	assert_int_equal(authn(&u, NULL), CF_EDENIED);
	rm(&t);
	rm(&u);
}

static void
test_sealed(void **state)
{
	struct tok	 t;
	char		 h[TOKEN_HASH_LEN + 1];

	(void)state;
	mk(&t, NULL, 3600, 0, NULL);
	assert_int_equal(authn(&t, NULL), CF_OK);
	core_wrlock();
	core_seal();
	core_unlock();
	/* The salt is gone with the seal, and the cache with it. */
	assert_int_equal(token_hash(t.text, h), CF_ESEALED);
	assert_int_not_equal(authn(&t, NULL), CF_OK);
	rm(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_lookup, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_num_uses, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoke_tree, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_revoke_orphans, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bound_cidrs, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sealed, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	log_setlevel(LOG_LVL_WARN);	/* not every seal and unseal */
	core_on_active(token_store_load);
	core_on_standby(token_store_unload);
	token_on_revoke(on_revoke);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
