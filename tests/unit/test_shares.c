/*
 * test_shares.c -- the share collection behind unseal, generate-root,
 * rekey and verification: repeats, progress, combination at the goal,
 * Vault's combine errors, and what reset, drop and release keep.
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

#include "err.h"
#include "shamir.h"
#include "shares.h"

#define N	5
#define T	3

static uint8_t	 key[SHARES_KEY_LEN];
static uint8_t	 parts[N][SHARES_SHARE_MAX];

static int
setup(void **state)
{
	uint8_t	*p[N];
	int	 i;

	(void)state;
	if (sodium_init() < 0)
		return -1;
	randombytes_buf(key, sizeof(key));
	for (i = 0; i < N; i++)
		p[i] = parts[i];
	return shamir_split(key, SHARES_KEY_LEN, N, T, p) == CF_OK ? 0 : -1;
}

static void
test_goal(void **state)
{
	struct shares		 s = { 0 };
	enum shares_step	 step;
	const char		*why;
	uint8_t			*out;

	(void)state;
	assert_non_null(out = sodium_malloc(SHARES_KEY_LEN));
	assert_int_equal(shares_start(&s), CF_OK);
	assert_int_equal(s.started, 1);
	assert_int_equal(strlen(s.nonce), UUID4_LEN);
	assert_int_equal(shares_offer(&s, parts[0], SHARES_KEY_LEN + 1, T, out,
	    &step, &why), CF_OK);
	assert_int_equal(step, SHARES_MORE);
	assert_int_equal(shares_offer(&s, parts[0], SHARES_KEY_LEN + 1, T, out,
	    &step, &why), CF_OK);
	assert_int_equal(step, SHARES_REPEAT);
	assert_int_equal(s.n, 1);
	assert_int_equal(shares_offer(&s, parts[3], SHARES_KEY_LEN + 1, T, out,
	    &step, &why), CF_OK);
	assert_int_equal(step, SHARES_MORE);
	assert_int_equal(shares_offer(&s, parts[1], SHARES_KEY_LEN + 1, T, out,
	    &step, &why), CF_OK);
	assert_int_equal(step, SHARES_COMBINED);
	assert_memory_equal(out, key, SHARES_KEY_LEN);
	/* Spent, but the collection and its nonce stay. */
	assert_int_equal(s.n, 0);
	assert_int_equal(s.started, 1);
	assert_int_equal(strlen(s.nonce), UUID4_LEN);
	shares_release(&s);
	assert_null(s.region);
	assert_int_equal(s.started, 0);
	assert_string_equal(s.nonce, "");
	sodium_free(out);
}

static void
test_errors(void **state)
{
	struct shares		 s = { 0 };
	enum shares_step	 step;
	const char		*why;
	uint8_t			*out, one[SHARES_KEY_LEN];
	int			 done;

	(void)state;
	assert_non_null(out = sodium_malloc(SHARES_KEY_LEN));
	/* Shares of different lengths: Vault's text. */
	assert_int_equal(shares_offer(&s, parts[0], SHARES_KEY_LEN + 1, 2, out,
	    &step, &why), CF_OK);
	assert_int_equal(shares_offer(&s, parts[1], SHARES_KEY_LEN, 2, out,
	    &step, &why), CF_EINVAL);
	assert_int_equal(step, SHARES_COMBINED);
	assert_string_equal(why, "all parts must be the same length");
	assert_int_equal(s.n, 0);
	/* One share of the wrong length cannot be the key. */
	assert_int_equal(shares_offer(&s, parts[0], SHARES_KEY_LEN + 1, 1, out,
	    &step, &why), CF_EDENIED);
	/* One share of the key's length is the key. */
	randombytes_buf(one, sizeof(one));
	assert_int_equal(shares_offer(&s, one, sizeof(one), 1, out, &step,
	    &why), CF_OK);
	assert_int_equal(step, SHARES_COMBINED);
	assert_memory_equal(out, one, sizeof(one));
	/* Below the goal nothing combines; a lower goal then does. */
	assert_int_equal(shares_add(&s, parts[2], SHARES_KEY_LEN + 1, &done),
	    CF_OK);
	assert_int_equal(shares_add(&s, parts[4], SHARES_KEY_LEN + 1, &done),
	    CF_OK);
	assert_int_equal(shares_reach(&s, T, out, &done, &why), CF_OK);
	assert_int_equal(done, 0);
	assert_int_equal(shares_reach(&s, 2, out, &done, &why), CF_OK);
	assert_int_equal(done, 1);
	/* Two of a threshold-3 split combine, but not to the key. */
	assert_memory_not_equal(out, key, SHARES_KEY_LEN);
	/* Too long a share is refused. */
	assert_int_equal(shares_add(&s, parts[0], SHARES_SHARE_MAX + 1, &done),
	    CF_EINVAL);
	shares_reset(&s);
	assert_int_equal(s.n, 0);
	assert_non_null(s.region);
	shares_release(&s);
	sodium_free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_goal),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
