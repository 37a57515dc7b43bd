/*
 * fuzz_duration.c -- libFuzzer target for duration_parse()
 * (util/timeutil.c), Vault's duration syntax ("90", "1h30m", "1.5s").
 *
 * Any NUL-terminated input must parse to a non-negative number of
 * seconds or fail with CF_EINVAL, without overflow (UBSan watches the
 * conversions).  A parsed value written back as plain digits must
 * parse to itself, and so must "Ns" while doubles hold it exactly.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "req.h"
#include "timeutil.h"

#include "fuzz_driver.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*s, again[64];
	long long	 v = -1, w;
	int		 rc;

	if (size > 4096)
		return 0;
	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	rc = duration_parse(s, &v);
	if (rc == CF_OK) {
		if (v < 0)
			abort();
		(void)snprintf(again, sizeof(again), "%llds", v);
		w = -1;
		if (v <= (1LL << 53) &&
		    (duration_parse(again, &w) != CF_OK || w != v))
			abort();
		(void)snprintf(again, sizeof(again), "%lld", v);
		w = -1;
		if (duration_parse(again, &w) != CF_OK || w != v)
			abort();
	} else if (rc != CF_EINVAL)
		abort();
	free(s);
	return 0;
}
