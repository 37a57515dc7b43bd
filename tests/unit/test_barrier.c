/*
 * test_barrier.c -- value encryption: round trips, tampering, moved
 * values, key rotation, the keyring's serialization, and the storage
 * wrappers over the inmem backend.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "barrier.h"
#include "buf.h"
#include "err.h"
#include "log.h"
#include "storage.h"

static struct barrier *
new_barrier(void)
{
	struct barrier	*b;

	assert_int_equal(barrier_new(&b), CF_OK);
	assert_int_equal(barrier_keyring_init(b), CF_OK);
	return b;
}

static void
test_round_trip(void **state)
{
	static const size_t sizes[] = { 0, 1, 64, 4096, 1024 * 1024 };
	struct barrier	*b = new_barrier();
	struct buf	 ct = BUF_INIT, pt = BUF_INIT;
	unsigned char	*v = malloc(sizes[4]);
	size_t		 i;

	(void)state;
	randombytes_buf(v, sizes[4]);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(barrier_encrypt(b, "p/x", v, sizes[i], &ct),
		    CF_OK);
		assert_true(ct.len > sizes[i]);
		assert_int_equal(barrier_decrypt(b, "p/x", ct.data, ct.len,
		    &pt), CF_OK);
		assert_int_equal(pt.len, sizes[i]);
		if (sizes[i] > 0)
			assert_memory_equal(pt.data, v, sizes[i]);
	}
	free(v);
	buf_free(&ct);
	buf_free(&pt);
	barrier_free(b);
}

static void
test_tamper_and_move(void **state)
{
	struct barrier	*b = new_barrier();
	struct buf	 ct = BUF_INIT, ct2 = BUF_INIT, pt = BUF_INIT;
	size_t		 i;

	(void)state;
	assert_int_equal(barrier_encrypt(b, "a", "secret value", 12, &ct),
	    CF_OK);
	for (i = 0; i < ct.len; i++) {
		ct.data[i] ^= 0x01;
		assert_int_not_equal(barrier_decrypt(b, "a", ct.data, ct.len,
		    &pt), CF_OK);
		assert_int_equal(pt.len, 0);
		ct.data[i] ^= 0x01;
	}
	/* The path is the associated data: a moved value does not open. */
	assert_int_not_equal(barrier_decrypt(b, "b", ct.data, ct.len, &pt),
	    CF_OK);
	/* Truncated and garbage input fail without crashing. */
	for (i = 0; i < ct.len; i++)
		assert_int_not_equal(barrier_decrypt(b, "a", ct.data, i, &pt),
		    CF_OK);
	assert_int_not_equal(barrier_decrypt(b, "a", "x", 1, &pt), CF_OK);
	/* A random nonce: the same value encrypts differently. */
	assert_int_equal(barrier_encrypt(b, "a", "secret value", 12, &ct2),
	    CF_OK);
	assert_int_equal(ct.len, ct2.len);
	assert_memory_not_equal(ct.data, ct2.data, ct.len);
	buf_free(&ct);
	buf_free(&ct2);
	buf_free(&pt);
	barrier_free(b);
}

static uint32_t
term_of(const struct buf *ct)
{
	const uint8_t	*p = (const uint8_t *)ct->data;

	return (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 8 | p[4];
}

static void
test_rotation_and_keyring(void **state)
{
	struct barrier	*b = new_barrier(), *c;
	struct buf	 old = BUF_INIT, nw = BUF_INIT, pt = BUF_INIT;
	struct buf	 ring = BUF_INIT;
	uint32_t	 term;

	(void)state;
	assert_int_equal(barrier_term(b), 1);
	assert_int_equal(barrier_encrypt(b, "k", "v1", 2, &old), CF_OK);
	assert_int_equal(term_of(&old), 1);
	assert_int_equal(barrier_rotate(b, &term), CF_OK);
	assert_int_equal(term, 2);
	assert_int_equal(barrier_rotate(b, &term), CF_OK);
	assert_int_equal(barrier_term(b), 3);
	assert_int_equal(barrier_encrypt(b, "k", "v3", 2, &nw), CF_OK);
	assert_int_equal(term_of(&nw), 3);
	assert_int_equal(barrier_decrypt(b, "k", old.data, old.len, &pt),
	    CF_OK);
	assert_memory_equal(pt.data, "v1", 2);

	/* The keyring survives emit and parse, every term included. */
	assert_int_equal(barrier_keyring_emit(b, &ring), CF_OK);
	assert_int_equal(barrier_new(&c), CF_OK);
	assert_int_equal(barrier_keyring_parse(c, ring.data, ring.len), CF_OK);
	assert_int_equal(barrier_term(c), 3);
	assert_int_equal(barrier_decrypt(c, "k", old.data, old.len, &pt),
	    CF_OK);
	assert_int_equal(barrier_decrypt(c, "k", nw.data, nw.len, &pt), CF_OK);
	assert_memory_equal(pt.data, "v3", 2);
	assert_int_equal(barrier_install_time(c), barrier_install_time(b));
	/* Another keyring cannot read them. */
	barrier_free(c);
	c = new_barrier();
	assert_int_not_equal(barrier_decrypt(c, "k", old.data, old.len, &pt),
	    CF_OK);
	/* Garbage keyrings are refused. */
	assert_int_equal(barrier_keyring_parse(c, "CKR1", 4), CF_EINVAL);
	ring.data[5] ^= 1;
	assert_int_equal(barrier_keyring_parse(c, ring.data, ring.len - 1),
	    CF_EINVAL);
	barrier_free(c);
	barrier_free(b);
	buf_free(&old);
	buf_free(&nw);
	buf_free(&pt);
	buf_free(&ring);
}

static void
test_key_encrypt(void **state)
{
	uint8_t		 k1[32], k2[32];
	struct buf	 ct = BUF_INIT, pt = BUF_INIT;

	(void)state;
	randombytes_buf(k1, sizeof(k1));
	randombytes_buf(k2, sizeof(k2));
	assert_int_equal(barrier_key_encrypt(k1, "core/x", "root", 4, &ct),
	    CF_OK);
	assert_int_equal(barrier_key_decrypt(k1, "core/x", ct.data, ct.len,
	    &pt), CF_OK);
	assert_memory_equal(pt.data, "root", 4);
	assert_int_equal(barrier_key_decrypt(k2, "core/x", ct.data, ct.len,
	    &pt), CF_EINVAL);
	assert_int_equal(barrier_key_decrypt(k1, "core/y", ct.data, ct.len,
	    &pt), CF_EINVAL);
	buf_free(&ct);
	buf_free(&pt);
}

static void
test_storage_wrappers(void **state)
{
	struct barrier		*b = new_barrier();
	struct storage		*st;
	struct storage_conf	 sc = { NULL, 0, NULL, 0 };
	struct buf		 raw = BUF_INIT, pt = BUF_INIT;
	struct storage_op	 ops[2] = {
		{ STORAGE_OP_PUT, "x/1", "one", 3 },
		{ STORAGE_OP_PUT, "x/2", "two", 3 },
	};

	(void)state;
	assert_int_equal(storage_open("inmem", &sc, &st), CF_OK);
	assert_int_equal(barrier_put(b, st, "x/0", "zero", 4), CF_OK);
	assert_int_equal(barrier_batch(b, st, ops, 2), CF_OK);
	/* What storage holds is not the plaintext. */
	assert_int_equal(storage_get(st, "x/1", &raw), CF_OK);
	assert_null(memmem(raw.data, raw.len, "one", 3));
	assert_int_equal(barrier_get(b, st, "x/1", &pt), CF_OK);
	assert_memory_equal(pt.data, "one", 3);
	assert_int_equal(barrier_get(b, st, "x/0", &pt), CF_OK);
	assert_memory_equal(pt.data, "zero", 4);
	/* Copy x/1's ciphertext to x/2: it must not open there. */
	assert_int_equal(storage_put(st, "x/2", raw.data, raw.len), CF_OK);
	assert_int_not_equal(barrier_get(b, st, "x/2", &pt), CF_OK);
	assert_int_equal(barrier_get(b, st, "x/none", &pt), CF_ENOTFOUND);
	storage_close(st);
	barrier_free(b);
	buf_free(&raw);
	buf_free(&pt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_tamper_and_move),
		cmocka_unit_test(test_rotation_and_keyring),
		cmocka_unit_test(test_key_encrypt),
		cmocka_unit_test(test_storage_wrappers),
	};

	if (sodium_init() < 0)
		return 1;
	log_setlevel(LOG_LVL_ERROR);	/* tamper tests warn by design */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
