/*
 * test_core.c -- the state machine of core/core.c over inmem storage,
 * with test keyrings as barriers and recording hooks: uninitialized,
 * sealed, unsealed and active in that order, the hooks of each step
 * run in order (seal and leave-active ones in reverse) and counted, a
 * failing hook undoing its step, standby without HA's shortcut, the
 * document cache dropped on seal and on writes, storage refused while
 * sealed and writes while standby, and values written only encrypted.
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
#include "jsoncache.h"
#include "log.h"
#include "storage.h"

static struct storage	*st;
static char		 trail[256];	/* hook names, in call order */
static const char	*fail_hook;	/* the hook that fails, or NULL */

/* Note a hook's call; fail if it is the one named. */
static int
hook(const char *name)
{
	size_t	 len = strlen(trail);

	snprintf(trail + len, sizeof(trail) - len, "%s%s",
	    len > 0 ? " " : "", name);
	return fail_hook != NULL && strcmp(fail_hook, name) == 0 ? CF_EIO :
	    CF_OK;
}

/* Two hooks of each kind: unseal, seal, become-active, leave-active. */
#define HOOK(name)	static int name(void) { return hook(#name); }
HOOK(u1)
HOOK(u2)
HOOK(s1)
HOOK(s2)
HOOK(a1)
HOOK(a2)
HOOK(b1)
HOOK(b2)
#undef HOOK

/* How many times name is in the trail. */
static int
calls(const char *name)
{
	const char	*p = trail;
	size_t		 len = strlen(name);
	int		 n = 0;

	while ((p = strstr(p, name)) != NULL) {
		if ((p == trail || p[-1] == ' ') &&
		    (p[len] == ' ' || p[len] == '\0'))
			n++;
		p += len;
	}
	return n;
}

static struct barrier *
test_barrier(void)
{
	struct barrier	*b;

	assert_int_equal(barrier_new(&b), CF_OK);
	assert_int_equal(barrier_keyring_init(b), CF_OK);
	return b;
}

/* The same keyring in a second barrier, as an unseal reads it back. */
static struct barrier *
copy_barrier(const struct barrier *from)
{
	struct barrier	*b;
	struct buf	 kr = BUF_INIT;

	assert_int_equal(barrier_new(&b), CF_OK);
	assert_int_equal(barrier_keyring_emit(from, &kr), CF_OK);
	assert_int_equal(barrier_keyring_parse(b, kr.data, kr.len), CF_OK);
	buf_free(&kr);
	return b;
}

static int
unseal(struct barrier *b)
{
	int	 rc;

	trail[0] = '\0';
	core_wrlock();
	rc = core_unseal(b);
	core_unlock();
	return rc;
}

static void
seal(void)
{
	trail[0] = '\0';
	core_wrlock();
	core_seal();
	core_unlock();
}

/* A core over fresh inmem storage; *state: 1 for HA, else NULL. */
static int
setup(void **state)
{
	struct core_conf	 cc = { 3600, 86400, "test", NULL, 0 };
	struct storage_conf	 sc = { NULL, 0, NULL, 0 };

	cc.ha_enabled = *state != NULL;
	trail[0] = '\0';
	fail_hook = NULL;
	jsoncache_clear();
	if (storage_open("inmem", &sc, &st) != CF_OK ||
	    core_init(st, &cc) != CF_OK)
		return -1;
	return core_state() == CORE_UNINITIALIZED ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	fail_hook = NULL;
	core_fini();
	storage_close(st);
	st = NULL;
	return 0;
}

static void
test_init_states(void **state)
{
	struct core_conf	 cc = { 3600, 86400, "test", NULL, 0 };

	(void)state;
	/* Empty storage: uninitialized; and sealed once initialized. */
	assert_int_equal(core_state(), CORE_UNINITIALIZED);
	assert_false(core_is_active());
	assert_null(core_barrier());
	core_set_initialized();
	assert_int_equal(core_state(), CORE_SEALED);
	core_set_uninitialized();
	assert_int_equal(core_state(), CORE_UNINITIALIZED);
	/* A seal configuration in storage means initialized. */
	core_fini();
	assert_int_equal(storage_put(st, "core/seal-config", "{}", 2), CF_OK);
	assert_int_equal(core_init(st, &cc), CF_OK);
	assert_int_equal(core_state(), CORE_SEALED);
	assert_ptr_equal(core_storage(), st);
	assert_int_equal(core_conf()->max_lease_ttl, 86400);
	/* Unsealed is not undone by these. */
	assert_int_equal(unseal(test_barrier()), CF_OK);
	core_set_uninitialized();
	core_set_initialized();
	assert_int_equal(core_state(), CORE_UNSEALED);
	/* That unseal ran the hooks as any other. */
	assert_string_equal(trail, "u1 u2 a1 a2");
}

static void
test_unseal_seal_order(void **state)
{
	struct barrier	*b = test_barrier();
	long long	 sec;
	long		 nsec;

	(void)state;
	core_set_initialized();
	assert_int_equal(unseal(b), CF_OK);
	/* Unseal hooks, then (no HA) become-active ones, in order. */
	assert_string_equal(trail, "u1 u2 a1 a2");
	assert_int_equal(core_state(), CORE_UNSEALED);
	assert_true(core_is_active());
	assert_ptr_equal(core_barrier(), b);
	core_active_time(&sec, &nsec);
	assert_true(sec > 0);
	/* Sealing leaves active first; both in reverse. */
	seal();
	assert_string_equal(trail, "b2 b1 s2 s1");
	assert_int_equal(core_state(), CORE_SEALED);
	assert_false(core_is_active());
	assert_null(core_barrier());
	core_active_time(&sec, &nsec);
	assert_true(sec == 0 && nsec == 0);
	/* Again: each hook once per transition. */
	assert_int_equal(unseal(test_barrier()), CF_OK);
	assert_int_equal(calls("u1") + calls("u2") + calls("a1") +
	    calls("a2"), 4);
	assert_int_equal(calls("s1") + calls("b1"), 0);
}

static void
test_ha_standby(void **state)
{
	struct buf	 v = BUF_INIT;

	(void)state;
	core_set_initialized();
	/* With HA, unsealing leaves the node standby. */
	assert_int_equal(unseal(test_barrier()), CF_OK);
	assert_string_equal(trail, "u1 u2");
	assert_int_equal(core_state(), CORE_UNSEALED);
	assert_false(core_is_active());
	/* A standby reads but never writes. */
	assert_int_equal(core_get("a/k", &v), CF_ENOTFOUND);
	assert_int_equal(core_put("a/k", "v", 1), CF_ESTANDBY);
	assert_int_equal(core_del("a/k"), CF_ESTANDBY);
	assert_int_equal(core_del_prefix("a/"), CF_ESTANDBY);
	trail[0] = '\0';
	core_wrlock();
	assert_int_equal(core_become_active(), CF_OK);
	core_unlock();
	assert_string_equal(trail, "a1 a2");
	assert_true(core_is_active());
	assert_int_equal(core_put("a/k", "v", 1), CF_OK);
	/* Becoming active twice runs nothing. */
	trail[0] = '\0';
	core_wrlock();
	assert_int_equal(core_become_active(), CF_OK);
	core_leave_active();
	core_unlock();
	assert_string_equal(trail, "b2 b1");
	assert_false(core_is_active());
	assert_int_equal(core_state(), CORE_UNSEALED);
	assert_int_equal(core_get("a/k", &v), CF_OK);
	assert_memory_equal(v.data, "v", 1);
	assert_int_equal(core_put("a/k", "w", 1), CF_ESTANDBY);
	buf_free(&v);
}

static void
test_failed_unseal_hook(void **state)
{
	struct buf	 v = BUF_INIT;

	(void)state;
	core_set_initialized();
	fail_hook = "u2";
	assert_int_equal(unseal(test_barrier()), CF_EIO);
	/* No later hook, no become-active; sealed again by the seal hooks. */
	assert_int_equal(calls("u1") + calls("u2"), 2);
	assert_int_equal(calls("a1") + calls("a2"), 0);
	assert_int_equal(calls("s1") + calls("s2"), 2);
	assert_int_equal(core_state(), CORE_SEALED);
	assert_false(core_is_active());
	assert_null(core_barrier());
	assert_int_equal(core_get("a/k", &v), CF_ESEALED);
	/* The next attempt, without the fault, unseals. */
	fail_hook = NULL;
	assert_int_equal(unseal(test_barrier()), CF_OK);
	assert_true(core_is_active());
}

static void
test_failed_active_hook(void **state)
{
	(void)state;
	core_set_initialized();
	fail_hook = "a2";
	/* Without HA a node that cannot become active seals again. */
	assert_int_equal(unseal(test_barrier()), CF_EIO);
	assert_int_equal(calls("a1") + calls("a2"), 2);
	/* What a1 loaded is dropped once, and the seal hooks ran. */
	assert_int_equal(calls("b1"), 1);
	assert_int_equal(calls("b2"), 1);
	assert_int_equal(calls("s1") + calls("s2"), 2);
	assert_int_equal(core_state(), CORE_SEALED);
	assert_false(core_is_active());
	assert_null(core_barrier());
}

static void
test_failed_active_hook_ha(void **state)
{
	(void)state;
	core_set_initialized();
	assert_int_equal(unseal(test_barrier()), CF_OK);
	fail_hook = "a1";
	trail[0] = '\0';
	core_wrlock();
	assert_int_equal(core_become_active(), CF_EIO);
	core_unlock();
	/* With HA it stays unsealed, standby, a2 never run. */
	assert_string_equal(trail, "a1 b2 b1");
	assert_int_equal(core_state(), CORE_UNSEALED);
	assert_false(core_is_active());
	assert_int_equal(core_put("a/k", "v", 1), CF_ESTANDBY);
}

static void
test_sealed_refuses(void **state)
{
	struct storage_op	 op = { STORAGE_OP_PUT, "a/k", "v", 1 };
	struct strv		 sv = STRV_INIT;
	struct buf		 v = BUF_INIT;
	unsigned long long	 n0[CORE_NOPS], n1[CORE_NOPS], ns[CORE_NOPS];
	json_t			*j = NULL, *doc = json_pack("{s:i}", "v", 1);
	int			 i;

	(void)state;
	core_op_stats(n0, ns);
	/* Uninitialized and sealed alike: nothing through the barrier. */
	for (i = 0; i < 2; i++) {
		if (i == 1)
			core_set_initialized();
		assert_int_equal(core_get("a/k", &v), CF_ESEALED);
		assert_int_equal(core_put("a/k", "v", 1), CF_ESEALED);
		assert_int_equal(core_del("a/k"), CF_ESEALED);
		assert_int_equal(core_list("a/", &sv), CF_ESEALED);
		assert_int_equal(core_batch(&op, 1), CF_ESEALED);
		assert_int_equal(core_get_json("a/k", &j), CF_ESEALED);
		assert_null(j);
		assert_int_equal(core_put_json("a/k", doc), CF_ESEALED);
		assert_int_equal(core_del_prefix("a/"), CF_ESEALED);
	}
	/* Refusals are not counted as operations. */
	core_op_stats(n1, ns);
	for (i = 0; i < CORE_NOPS; i++)
		assert_true(n1[i] == n0[i]);
	/* Unsealed, the same calls work; sealed again, refused again. */
	assert_int_equal(unseal(test_barrier()), CF_OK);
	assert_int_equal(core_put_json("a/k", doc), CF_OK);
	assert_int_equal(core_get_json("a/k", &j), CF_OK);
	assert_true(json_equal(j, doc));
	json_decref(j);
	core_op_stats(n1, ns);
	assert_true(n1[CORE_OP_PUT] == n0[CORE_OP_PUT] + 1);
	assert_true(n1[CORE_OP_GET] == n0[CORE_OP_GET] + 1);
	seal();
	assert_int_equal(core_get_json("a/k", &j), CF_ESEALED);
	assert_int_equal(core_get("a/k", &v), CF_ESEALED);
	json_decref(doc);
	buf_free(&v);
	strv_free(&sv);
}

static void
test_seal_drops_cache(void **state)
{
	unsigned long long	 t;
	json_t			*j = NULL, *c;
	json_t			*doc = json_pack("{s:s}", "v", "one");
	json_t			*doc2 = json_pack("{s:s}", "v", "two");

	(void)state;
	core_set_initialized();
	assert_int_equal(unseal(test_barrier()), CF_OK);
	assert_int_equal(core_put_json("c/doc", doc), CF_OK);
	/* Read twice: the second miss keeps it. */
	assert_int_equal(core_get_json("c/doc", &j), CF_OK);
	json_decref(j);
	assert_int_equal(core_get_json("c/doc", &j), CF_OK);
	json_decref(j);
	assert_non_null(c = jsoncache_get("c/doc", &t));
	json_decref(c);
	/* A write drops it, and the reader sees the new document. */
	assert_int_equal(core_put_json("c/doc", doc2), CF_OK);
	assert_null(jsoncache_get("c/doc", &t));
	assert_int_equal(core_get_json("c/doc", &j), CF_OK);
	assert_true(json_equal(j, doc2));
	json_decref(j);
	assert_int_equal(core_get_json("c/doc", &j), CF_OK);
	json_decref(j);
	assert_non_null(c = jsoncache_get("c/doc", &t));
	json_decref(c);
	/* Sealing empties the cache. */
	seal();
	assert_null(jsoncache_get("c/doc", &t));
	json_decref(doc);
	json_decref(doc2);
}

/* core_read_json_members's reader: a copy of what it was given. */
static int
seen_fn(const json_t *doc, void *arg)
{
	json_t	**seen = arg;

	json_decref(*seen);
	*seen = json_deep_copy(doc);
	return *seen != NULL ? CF_OK : CF_ENOMEM;
}

/*
 * A first miss builds only the members asked for; a second miss, which
 * the cache keeps, the whole document; a hit gives the whole document.
 */
static void
test_read_members(void **state)
{
	static const char *const	 keep[] = { "a", "c", NULL };
	json_t				*seen = NULL;
	json_t				*doc = json_pack("{s:i, s:s, s:{s:b}}",
	    "a", 1, "b", "not kept", "c", "d", 1);
	json_t				*some = json_pack("{s:i, s:{s:b}}",
	    "a", 1, "c", "d", 1);

	(void)state;
	core_set_initialized();
	assert_int_equal(unseal(test_barrier()), CF_OK);
	assert_int_equal(core_put_json("r/doc", doc), CF_OK);
	assert_int_equal(core_read_json_members("r/doc", keep, seen_fn,
	    &seen), CF_OK);
	assert_true(json_equal(seen, some));
	assert_int_equal(core_read_json_members("r/doc", keep, seen_fn,
	    &seen), CF_OK);
	assert_true(json_equal(seen, doc));
	json_decref(seen);
	seen = NULL;
	assert_int_equal(core_read_json_members("r/doc", keep, seen_fn,
	    &seen), CF_OK);
	assert_true(json_equal(seen, doc));
	assert_int_equal(core_read_json_members("r/none", keep, seen_fn,
	    &seen), CF_ENOTFOUND);
	seal();
	json_decref(seen);
	json_decref(doc);
	json_decref(some);
}

static void
test_barrier_storage(void **state)
{
	struct barrier	*b = test_barrier();
	struct buf	 raw = BUF_INIT, v = BUF_INIT;
	struct strv	 sv = STRV_INIT;

	(void)state;
	core_set_initialized();
	assert_int_equal(unseal(copy_barrier(b)), CF_OK);
	assert_int_equal(core_put("s/k1", "plaintext", 9), CF_OK);
	assert_int_equal(core_put("s/k2", "x", 1), CF_OK);
	/* Storage holds only ciphertext, bound to its path. */
	assert_int_equal(storage_get(st, "s/k1", &raw), CF_OK);
	assert_null(memmem(raw.data, raw.len, "plaintext", 9));
	assert_int_equal(core_list("s/", &sv), CF_OK);
	assert_int_equal(sv.n, 2);
	/* Sealed and unsealed with the same keyring: readable. */
	seal();
	assert_int_equal(unseal(copy_barrier(b)), CF_OK);
	assert_int_equal(core_get("s/k1", &v), CF_OK);
	assert_memory_equal(v.data, "plaintext", 9);
	/* Under another keyring: not. */
	seal();
	assert_int_equal(unseal(test_barrier()), CF_OK);
	assert_int_not_equal(core_get("s/k1", &v), CF_OK);
	assert_int_equal(core_del("s/k1"), CF_OK);
	assert_int_equal(core_get("s/k1", &v), CF_ENOTFOUND);
	barrier_free(b);
	buf_free(&raw);
	buf_free(&v);
	strv_free(&sv);
}

int
main(void)
{
	static int	 ha = 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_states, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unseal_seal_order, setup,
		    teardown),
		cmocka_unit_test_prestate_setup_teardown(test_ha_standby,
		    setup, teardown, &ha),
		cmocka_unit_test_setup_teardown(test_failed_unseal_hook, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_failed_active_hook, setup,
		    teardown),
		cmocka_unit_test_prestate_setup_teardown(
		    test_failed_active_hook_ha, setup, teardown, &ha),
		cmocka_unit_test_setup_teardown(test_sealed_refuses, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_seal_drops_cache, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_read_members, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_barrier_storage, setup,
		    teardown),
	};

	if (sodium_init() < 0)
		return 1;
	log_setlevel(LOG_LVL_ERROR);	/* the failing hooks warn */
	core_on_unseal(u1);
	core_on_unseal(u2);
	core_on_seal(s1);
	core_on_seal(s2);
	core_on_active(a1);
	core_on_active(a2);
	core_on_standby(b1);
	core_on_standby(b2);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
