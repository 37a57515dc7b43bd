/*
 * fuzz_storage_key.c -- libFuzzer target for the storage key checks
 * (backends/storage.c), which every backend relies on.
 *
 * The input, up to its first NUL, is tried as a key and as a list
 * prefix.  storage_key_is_valid() must agree with the rule in
 * storage.c, written again here: 1 to STORAGE_KEY_MAX bytes, no control
 * bytes, no empty, "." or ".." segment (so no leading, trailing or
 * double slash).  A prefix is "" or a valid key and one '/', at most
 * STORAGE_KEY_MAX bytes in all (a longer one could prefix no key).  A
 * valid key must then round-trip through the inmem backend.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "storage.h"

#define FUZZ_SETUP	open_store
#include "fuzz_driver.h"

static struct storage	*st;

static int
key_ok(const char *k, size_t len)
{
	size_t	 i, start = 0;

	if (len == 0 || len > STORAGE_KEY_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)k[i] < 0x20 || (unsigned char)k[i] == 0x7f)
			return 0;
	for (i = 0; i <= len; i++) {
		if (i < len && k[i] != '/')
			continue;
		if (i == start || (i - start == 1 && k[start] == '.') ||
		    (i - start == 2 && k[start] == '.' && k[start + 1] == '.'))
			return 0;
		start = i + 1;
	}
	return 1;
}

/* The inmem store valid keys round-trip through. */
static void
open_store(void)
{
	struct storage_conf	 sc;

	memset(&sc, 0, sizeof(sc));
	if (storage_open("inmem", &sc, &st) != CF_OK)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf	 val = BUF_INIT;
	struct strv	 list = STRV_INIT;
	char		*k;
	size_t		 len;
	int		 valid, rc;

	if (size > 4 * STORAGE_KEY_MAX)
		return 0;
	if ((k = malloc(size + 1)) == NULL)
		abort();
	memcpy(k, data, size);
	k[size] = '\0';
	len = strlen(k);

	valid = storage_key_is_valid(k);
	if (valid != key_ok(k, len))
		abort();

	rc = storage_list(st, k, &list);
	if (len == 0 || (len <= STORAGE_KEY_MAX && k[len - 1] == '/' &&
	    key_ok(k, len - 1))) {
		if (rc != CF_OK || list.n != 0)
			abort();
	} else if (rc != CF_EINVAL)
		abort();
	strv_free(&list);

	rc = storage_put(st, k, data, size);
	if (rc != (valid ? CF_OK : CF_EINVAL))
		abort();
	if (valid) {
		if (storage_get(st, k, &val) != CF_OK || val.len != size ||
		    (size > 0 && memcmp(val.data, data, size) != 0))
			abort();
		if (storage_del(st, k) != CF_OK ||
		    storage_get(st, k, &val) != CF_ENOTFOUND)
			abort();
	} else if (storage_get(st, k, &val) != CF_EINVAL ||
	    storage_del(st, k) != CF_EINVAL)
		abort();
	buf_free(&val);
	free(k);
	return 0;
}
