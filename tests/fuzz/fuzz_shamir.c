/*
 * fuzz_shamir.c -- libFuzzer target for Shamir combine (seal/shamir.c),
 * the code that reads unseal shares sent by clients.
 *
 * Input: one byte n, then n shares of equal length (the rest of the
 * input divided by n, any remainder ignored).  shamir_combine() must
 * read only those bytes, write only share_len - 1 bytes, and fail
 * exactly when shamir.h says so: fewer than two or more than 255
 * shares, shares shorter than two bytes or holding more than
 * SHAMIR_MAX_SECRET, an x of 0, or two equal x.  The same bytes also
 * drive a round trip: the start of the input is split and any
 * threshold shares of it, in a fuzzed order, must give it back.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "shamir.h"

#include "fuzz_driver.h"

#define RT_MAX_SECRET	64
#define RT_MAX_PARTS	10

static int
combine_must_fail(const uint8_t *const *sh, size_t n, size_t share_len)
{
	size_t	 i, j;

	if (n < 2 || n > SHAMIR_MAX_SHARES || share_len < 2 ||
	    share_len - 1 > SHAMIR_MAX_SECRET)
		return 1;
	for (i = 0; i < n; i++) {
		if (sh[i][share_len - 1] == 0)
			return 1;
		for (j = 0; j < i; j++)
			if (sh[i][share_len - 1] == sh[j][share_len - 1])
				return 1;
	}
	return 0;
}

static void
combine_raw(const uint8_t *data, size_t size)
{
	const uint8_t	*sh[256];
	uint8_t		*copy, *secret;
	size_t		 n, share_len, i;
	int		 rc;

	n = data[0];
	share_len = n > 0 ? (size - 1) / n : 0;
	/* Each share in its own allocation, so ASan sees any overread. */
	for (i = 0; i < n; i++) {
		if ((copy = malloc(share_len > 0 ? share_len : 1)) == NULL)
			abort();
		memcpy(copy, data + 1 + i * share_len, share_len);
		sh[i] = copy;
	}
	if ((secret = malloc(share_len > 1 ? share_len - 1 : 1)) == NULL)
		abort();
	rc = shamir_combine(sh, n, share_len, secret);
	if (combine_must_fail(sh, n, share_len)) {
		if (rc != CF_EINVAL)
			abort();
	} else if (rc != CF_OK)
		abort();
	free(secret);
	for (i = 0; i < n; i++)
		free((void *)sh[i]);
}

static void
round_trip(const uint8_t *data, size_t size)
{
	uint8_t		*shares[RT_MAX_PARTS], out[RT_MAX_SECRET];
	const uint8_t	*pick[RT_MAX_PARTS];
	unsigned	 parts, threshold, i, j, k;
	size_t		 len;

	if (size < 4)
		return;
	parts = 2 + data[0] % (RT_MAX_PARTS - 1);
	threshold = 2 + data[1] % (parts - 1);
	len = 1 + data[2] % RT_MAX_SECRET;
	if (len > size - 3)
		len = size - 3;
	data += 3;
	size -= 3;
	for (i = 0; i < parts; i++)
		if ((shares[i] = malloc(len + 1)) == NULL)
			abort();
	if (shamir_split(data, len, parts, threshold, shares) != CF_OK)
		abort();
	/* threshold distinct shares, chosen by the input bytes. */
	for (i = 0, k = 0; i < threshold; i++) {
		k = (k + (i < size ? data[i] : 1)) % parts;
		for (j = 0; j < i; j++)
			if (pick[j] == shares[k]) {
				k = (k + 1) % parts;
				j = (unsigned)-1;	/* start over */
			}
		pick[i] = shares[k];
	}
	if (shamir_combine(pick, threshold, len + 1, out) != CF_OK ||
	    memcmp(out, data, len) != 0)
		abort();
	for (i = 0; i < parts; i++)
		free(shares[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	combine_raw(data, size);
	round_trip(data, size);
	return 0;
}
