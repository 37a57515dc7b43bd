/*
 * fuzz_jsondoc.c -- libFuzzer target for util/jsondoc.c, the parser of
 * stored documents, against jansson's own.
 *
 * jsondoc_parse() promises jansson's answer for any text: the same
 * value, with members in the same order, or an error where json_loadb
 * gives one.  Both parse the input; their compact dumps (which keep
 * member order and tell an integer from a real) must be equal, and
 * both must fail together.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "err.h"
#include "jsondoc.h"

#include "fuzz_driver.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t	 je;
	json_t		*ours = NULL, *theirs;
	char		*a, *b;
	int		 rc;

	rc = jsondoc_parse((const char *)data, size, &ours);
	theirs = json_loadb((const char *)data, size, 0, &je);
	if (theirs == NULL) {
		if (rc == CF_OK)
			abort();	/* accepted what jansson refuses */
		return 0;
	}
	if (rc != CF_OK)
		abort();		/* refused what jansson accepts */
	a = json_dumps(ours, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_ENCODE_ANY);
	b = json_dumps(theirs, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_ENCODE_ANY);
	if (a == NULL || b == NULL || strcmp(a, b) != 0)
		abort();
	free(a);
	free(b);
	json_decref(ours);
	json_decref(theirs);
	return 0;
}
