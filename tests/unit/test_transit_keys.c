/*
 * test_transit_keys.c -- the transit key store without a server: key
 * records round trips, encryption and decryption with associated data,
 * tampering, version bounds, Vault's "vault:v<N>:" prefix, HMACs checked
 * against libsodium with the stored HMAC key, and Ed25519 signatures.
 * The per-mount cache needs the core and is covered by test_transit.py.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "transit_keys.h"

/* A sealed key of type t with n fresh versions. */
static struct tkey *
new_key(int t, long long n)
{
	struct tkey	*k;
	long long	 v;

	assert_non_null(k = tkey_alloc("k1", t, n));
	k->min_dec = 1;
	for (v = 1; v <= n; v++)
		tkey_fill(k, v);
	assert_int_equal(tkey_seal(k), CF_OK);
	return k;
}

static void
put_str(struct buf *b, const char *s)
{
	buf_reset(b);
	assert_int_equal(buf_reserve(b, strlen(s) + 1), CF_OK);
	memcpy(b->data, s, strlen(s));
	b->len = strlen(s);
}

static void
test_names_and_types(void **state)
{
	int	 t;

	(void)state;
	assert_true(tkey_name_is_valid("a"));
	assert_true(tkey_name_is_valid("my-key.v1_x"));
	assert_false(tkey_name_is_valid(""));
	assert_false(tkey_name_is_valid("-a"));
	assert_false(tkey_name_is_valid("a."));
	assert_false(tkey_name_is_valid("a/b"));
	assert_int_equal(tkey_type_parse("ed25519", &t), CF_OK);
	assert_int_equal(t, TR_ED25519);
	assert_string_equal(tkey_type_name(TR_CHACHA20_POLY1305),
	    "chacha20-poly1305");
	assert_int_equal(tkey_type_parse("rsa-2048", &t), CF_EINVAL);
	assert_null(tkey_type_unusable(TR_CHACHA20_POLY1305));
}

static void
test_round_trip(void **state)
{
	struct tkey	*k = new_key(TR_CHACHA20_POLY1305, 3), *p = NULL;
	struct buf	 pt = BUF_INIT, ad = BUF_INIT, out = BUF_INIT;
	json_t		*j;
	char		*ct = NULL, why[TR_WHY_LEN];
	long long	 ver;

	(void)state;
	k->min_enc = 2;
	k->deletion_allowed = 1;
	put_str(&pt, "attack at dawn");
	put_str(&ad, "context");
	assert_int_equal(tkey_encrypt(k, 2, &pt, &ad, &ct), CF_OK);
	assert_int_equal(strncmp(ct, "vault:v2:", 9), 0);
	/* The record opens into a key that decrypts what k encrypted. */
	assert_non_null(j = tkey_emit(k));
	assert_int_equal(tkey_parse("k1", j, &p), CF_OK);
	json_decref(j);
	assert_int_equal(p->latest, 3);
	assert_int_equal(p->min_enc, 2);
	assert_int_equal(p->deletion_allowed, 1);
	assert_int_equal(tkey_decrypt(p, ct, &ad, &out, &ver, why), CF_OK);
	assert_int_equal(ver, 2);
	assert_int_equal(out.len, pt.len);
	assert_memory_equal(out.data, pt.data, pt.len);
	/* Other associated data does not open it. */
	put_str(&ad, "other");
	assert_int_equal(tkey_decrypt(p, ct, &ad, &out, &ver, why),
	    CF_EINVAL);
	assert_string_equal(why, "cipher: message authentication failed");
	free(ct);
	buf_free(&pt);
	buf_free(&ad);
	buf_free(&out);
	tkey_free(k);
	tkey_free(p);
}

static void
test_tamper_and_versions(void **state)
{
	struct tkey	*k = new_key(TR_CHACHA20_POLY1305, 2), *c;
	struct buf	 pt = BUF_INIT, ad = BUF_INIT, out = BUF_INIT;
	char		*ct = NULL, why[TR_WHY_LEN];
	const char	*rest;
	long long	 ver;
	size_t		 i;

	(void)state;
	put_str(&pt, "x");
	assert_int_equal(tkey_encrypt(k, 1, &pt, &ad, &ct), CF_OK);
	/* A flipped payload character fails authentication or base64. */
	i = strlen(ct) - 5;
	ct[i] = ct[i] == 'A' ? 'B' : 'A';
	assert_int_equal(tkey_decrypt(k, ct, &ad, &out, &ver, why),
	    CF_EINVAL);
	assert_int_equal(tkey_decrypt(k, "nope", &ad, &out, &ver, why),
	    CF_EINVAL);
	assert_string_equal(why, "invalid ciphertext: no prefix");
	assert_int_equal(tkey_decrypt(k, "vault:v3:AAAA", &ad, &out, &ver,
	    why), CF_EINVAL);
	assert_string_equal(why, "invalid ciphertext: version is too new");
	/* v0 is Vault's old first version: it counts as 1. */
	assert_int_equal(tkey_split_prefixed("vault:v0:xy", "hmac", &ver,
	    &rest, why), CF_OK);
	assert_int_equal(ver, 1);
	assert_string_equal(rest, "xy");
	/* Versions below min_dec no longer open. */
	assert_non_null(c = tkey_copy(k, 3));
	tkey_fill(c, 3);
	c->min_dec = 2;
	assert_int_equal(tkey_seal(c), CF_OK);
	assert_int_equal(tkey_dec_version(c, 1, "ciphertext", why),
	    CF_EINVAL);
	assert_int_equal(tkey_enc_version(c, 0, &ver, why), CF_OK);
	assert_int_equal(ver, 3);
	c->min_enc = 3;
	assert_int_equal(tkey_enc_version(c, 2, &ver, why), CF_EINVAL);
	assert_int_equal(tkey_enc_version(c, 4, &ver, why), CF_EINVAL);
	free(ct);
	buf_free(&pt);
	buf_free(&ad);
	buf_free(&out);
	tkey_free(k);
	tkey_free(c);
}

static void
test_hmac_and_sign(void **state)
{
	struct tkey	*k = new_key(TR_ED25519, 2);
	struct buf	 in = BUF_INIT, sig = BUF_INIT;
	uint8_t		 mac[crypto_auth_hmacsha512_BYTES];
	uint8_t		 want[crypto_auth_hmacsha256_BYTES];
	uint8_t		 hk[TR_KEYLEN];
	crypto_auth_hmacsha256_state	 s;
	json_t		*j;
	const char	*b64;
	size_t		 n;

	(void)state;
	assert_int_equal(tkey_hmac_len("sha2-256"), 32);
	assert_int_equal(tkey_hmac_len("sha2-512"), 64);
	assert_int_equal(tkey_hmac_len("md5"), 0);
	put_str(&in, "message");
	/* The HMAC is version 2's stored hmac_key over the input. */
	assert_non_null(j = tkey_emit(k));
	b64 = json_string_value(json_object_get(json_object_get(
	    json_object_get(j, "keys"), "2"), "hmac_key"));
	assert_non_null(b64);
	assert_int_equal(sodium_base642bin(hk, sizeof(hk), b64, strlen(b64),
	    NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
	assert_int_equal(n, TR_KEYLEN);
	json_decref(j);
	tkey_hmac(k, 2, 32, &in, mac);
	crypto_auth_hmacsha256_init(&s, hk, sizeof(hk));
	crypto_auth_hmacsha256_update(&s, (const uint8_t *)in.data, in.len);
	crypto_auth_hmacsha256_final(&s, want);
	assert_memory_equal(mac, want, sizeof(want));
	tkey_hmac(k, 1, 32, &in, mac);
	assert_memory_not_equal(mac, want, sizeof(want));
	/* Signatures verify with their version only, and not once altered. */
	assert_int_equal(buf_reserve(&sig, crypto_sign_BYTES), CF_OK);
	tkey_sign(k, 2, &in, (uint8_t *)sig.data);
	sig.len = crypto_sign_BYTES;
	assert_true(tkey_sig_is_valid(k, 2, &in, &sig));
	assert_false(tkey_sig_is_valid(k, 1, &in, &sig));
	sig.data[0] ^= 0x01;
	assert_false(tkey_sig_is_valid(k, 2, &in, &sig));
	sig.len--;
	assert_false(tkey_sig_is_valid(k, 2, &in, &sig));
	assert_non_null(k->pub);
	buf_free(&in);
	buf_free(&sig);
	tkey_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_types),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_tamper_and_versions),
		cmocka_unit_test(test_hmac_and_sign),
	};

	if (sodium_init() < 0)
		return 1;
	log_setlevel(LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
