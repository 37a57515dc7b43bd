/*
 * test_hmac256.c -- util/hmac256.c gives RFC 2104's HMAC-SHA256: the
 * RFC 4231 vectors, and libsodium's crypto_auth_hmacsha256 for random
 * keys and messages of every length around the block size.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "hmac256.h"

static void
test_rfc4231(void **state)
{
	struct hmac256_key	 k;
	unsigned char		 key[131], out[HMAC256_LEN];
	char			 hex[2 * HMAC256_LEN + 1];
	const char		*m2 = "what do ya want for nothing?";
	const char		*m6 = "Test Using Larger Than Block-Size Key - "
	    "Hash Key First";

	(void)state;
	memset(key, 0x0b, 20);
	hmac256_init(&k, key, 20);
	hmac256(&k, "Hi There", 8, out);
	sodium_bin2hex(hex, sizeof(hex), out, sizeof(out));
	assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b"
	    "881dc200c9833da726e9376c2e32cff7");
	hmac256_init(&k, "Jefe", 4);
	hmac256(&k, m2, strlen(m2), out);
	sodium_bin2hex(hex, sizeof(hex), out, sizeof(out));
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843");
	memset(key, 0xaa, sizeof(key));
	hmac256_init(&k, key, sizeof(key));
	hmac256(&k, m6, strlen(m6), out);
	sodium_bin2hex(hex, sizeof(hex), out, sizeof(out));
	assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f"
	    "8e0bc6213728c5140546040f0ee37f54");
	hmac256_wipe(&k);
}

static void
test_as_libsodium(void **state)
{
	struct hmac256_key		 k;
	crypto_auth_hmacsha256_state	 s;
	unsigned char			 key[200], msg[300];
	unsigned char			 a[HMAC256_LEN], b[HMAC256_LEN];
	size_t				 kl, ml;

	(void)state;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(msg, sizeof(msg));
	for (kl = 0; kl < sizeof(key); kl += kl < 70 ? 1 : 13)
		for (ml = 0; ml < sizeof(msg); ml += ml < 130 ? 1 : 17) {
			hmac256_init(&k, key, kl);
			hmac256(&k, msg, ml, a);
			crypto_auth_hmacsha256_init(&s, key, kl);
			crypto_auth_hmacsha256_update(&s, msg, ml);
			crypto_auth_hmacsha256_final(&s, b);
			assert_memory_equal(a, b, sizeof(a));
			/* The key is used again, unchanged. */
			hmac256(&k, msg, ml, b);
			assert_memory_equal(a, b, sizeof(a));
		}
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_rfc4231),
		cmocka_unit_test(test_as_libsodium),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
