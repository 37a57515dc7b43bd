/*
 * test_shamir.c -- split and combine, Vault's share format, and the
 * field arithmetic checked against an independent table-based version.
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

/* Reference field arithmetic with log/exp tables over generator 3. */
static uint8_t	 ref_exp[512], ref_log[256];

static void
ref_init(void)
{
	unsigned int	 x = 1, i;

	for (i = 0; i < 255; i++) {
		ref_exp[i] = ref_exp[i + 255] = (uint8_t)x;
		ref_log[x] = (uint8_t)i;
		/* x *= 3 in GF(2^8) */
		x ^= (x << 1) ^ ((x & 0x80) ? 0x11b : 0);
		x &= 0xff;
	}
}

static uint8_t
ref_mul(uint8_t a, uint8_t b)
{
	if (a == 0 || b == 0)
		return 0;
	return ref_exp[ref_log[a] + ref_log[b]];
}

static void
test_field(void **state)
{
	unsigned int	 a, b;

	(void)state;
	assert_int_equal(shamir_gf_mul(0x53, 0xca), 0x01);
	assert_int_equal(shamir_gf_mul(0x57, 0x83), 0xc1);
	for (a = 0; a < 256; a++)
		for (b = 0; b < 256; b++)
			assert_int_equal(shamir_gf_mul((uint8_t)a, (uint8_t)b),
			    ref_mul((uint8_t)a, (uint8_t)b));
}

/* Reference combine: Lagrange at 0 with the table arithmetic. */
static void
ref_combine(uint8_t *const *s, size_t n, size_t len, uint8_t *out)
{
	size_t	 i, j, b;
	uint8_t	 num, den, basis;

	memset(out, 0, len);
	for (i = 0; i < n; i++) {
		num = den = 1;
		for (j = 0; j < n; j++) {
			if (j == i)
				continue;
			num = ref_mul(num, s[j][len]);
			den = ref_mul(den, s[j][len] ^ s[i][len]);
		}
		basis = ref_mul(num, ref_exp[255 - ref_log[den]]);
		for (b = 0; b < len; b++)
			out[b] ^= ref_mul(s[i][b], basis);
	}
}

static uint8_t **
alloc_shares(unsigned n, size_t len)
{
	uint8_t		**s = calloc(n, sizeof(*s));
	unsigned	  i;

	assert_non_null(s);
	for (i = 0; i < n; i++)
		assert_non_null(s[i] = malloc(len + 1));
	return s;
}

static void
free_shares(uint8_t **s, unsigned n)
{
	unsigned	 i;

	for (i = 0; i < n; i++)
		free(s[i]);
	free(s);
}

static void
test_format(void **state)
{
	uint8_t		 secret[32], **s;
	unsigned	 i, j;

	(void)state;
	randombytes_buf(secret, sizeof(secret));
	s = alloc_shares(255, 32);
	assert_int_equal(shamir_split(secret, 32, 255, 3, s), CF_OK);
	for (i = 0; i < 255; i++) {
		assert_int_not_equal(s[i][32], 0);
		for (j = 0; j < i; j++)
			assert_int_not_equal(s[i][32], s[j][32]);
	}
	free_shares(s, 255);
}

static void
test_round_trips(void **state)
{
	uint8_t		 secret[32], out[32], ref[32], **s;
	const uint8_t	*pick[255];
	unsigned	 parts, ti, t, i, start;
	unsigned	 ts[3];

	(void)state;
	s = alloc_shares(255, 32);
	for (parts = 2; parts <= 255; parts++) {
		ts[0] = 2;
		ts[1] = parts / 2 < 2 ? 2 : parts / 2;
		ts[2] = parts;
		for (ti = 0; ti < 3; ti++) {
			t = ts[ti];
			randombytes_buf(secret, sizeof(secret));
			assert_int_equal(shamir_split(secret, 32, parts, t, s),
			    CF_OK);
			/* A random window of t shares combines. */
			start = randombytes_uniform(parts - t + 1);
			for (i = 0; i < t; i++)
				pick[i] = s[start + i];
			assert_int_equal(shamir_combine(pick, t, 33, out),
			    CF_OK);
			assert_memory_equal(out, secret, 32);
			if (parts < 40) {
				ref_combine((uint8_t *const *)pick, t, 32, ref);
				assert_memory_equal(ref, secret, 32);
			}
			/* One share fewer gives something else. */
			if (t > 2) {
				assert_int_equal(shamir_combine(pick, t - 1,
				    33, out), CF_OK);
				assert_memory_not_equal(out, secret, 32);
			}
		}
	}
	free_shares(s, 255);
}

static void
test_every_subset(void **state)
{
	uint8_t		 secret[32], out[32], **s;
	const uint8_t	*pick[3];
	unsigned	 a, b, c, n = 0;

	(void)state;
	randombytes_buf(secret, sizeof(secret));
	s = alloc_shares(5, 32);
	assert_int_equal(shamir_split(secret, 32, 5, 3, s), CF_OK);
	for (a = 0; a < 5; a++)
		for (b = a + 1; b < 5; b++)
			for (c = b + 1; c < 5; c++) {
				pick[0] = s[c];
				pick[1] = s[a];
				pick[2] = s[b];
				assert_int_equal(shamir_combine(pick, 3, 33,
				    out), CF_OK);
				assert_memory_equal(out, secret, 32);
				n++;
			}
	assert_int_equal(n, 10);
	free_shares(s, 5);
}

static void
test_errors(void **state)
{
	uint8_t		 secret[32] = { 1 }, out[32], **s;
	const uint8_t	*pick[3];

	(void)state;
	s = alloc_shares(3, 32);
	assert_int_equal(shamir_split(secret, 32, 3, 1, s), CF_EINVAL);
	assert_int_equal(shamir_split(secret, 32, 2, 3, s), CF_EINVAL);
	assert_int_equal(shamir_split(secret, 32, 256, 3, s), CF_EINVAL);
	assert_int_equal(shamir_split(secret, 0, 3, 2, s), CF_EINVAL);
	assert_int_equal(shamir_split(secret, 32, 3, 2, s), CF_OK);
	pick[0] = s[0];
	pick[1] = s[0];
	assert_int_equal(shamir_combine(pick, 2, 33, out), CF_EINVAL);
	pick[1] = s[1];
	assert_int_equal(shamir_combine(pick, 1, 33, out), CF_EINVAL);
	assert_int_equal(shamir_combine(pick, 2, 1, out), CF_EINVAL);
	s[2][32] = 0;
	pick[2] = s[2];
	assert_int_equal(shamir_combine(pick, 3, 33, out), CF_EINVAL);
	free_shares(s, 3);
}

/* Shares made by hand with the reference field: f(x) = 0x42 + 0x11x. */
static void
test_known_answer(void **state)
{
	uint8_t		 s1[2], s2[2], out[1];
	const uint8_t	*pick[2] = { s1, s2 };

	(void)state;
	s1[0] = 0x42 ^ ref_mul(0x11, 0x05);
	s1[1] = 0x05;
	s2[0] = 0x42 ^ ref_mul(0x11, 0xa0);
	s2[1] = 0xa0;
	assert_int_equal(shamir_combine(pick, 2, 2, out), CF_OK);
	assert_int_equal(out[0], 0x42);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_field),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_every_subset),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_known_answer),
	};

	if (sodium_init() < 0)
		return 1;
	ref_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
