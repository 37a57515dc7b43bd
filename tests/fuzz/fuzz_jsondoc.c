/*
 * fuzz_jsondoc.c -- libFuzzer target for util/jsondoc.c, the parser of
 * stored documents, against jansson's own.
 *
 * jsondoc_parse() promises jansson's answer for any text: the same
 * value, with members in the same order, or an error where json_loadb
 * gives one.  Both parse the input; their compact dumps (which keep
 * member order and tell an integer from a real) must be equal, and
 * both must fail together.  jsondoc_parse_members() promises the same
 * less the members it was not asked for: checked against jansson's
 * value with those members deleted.
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

static const char *const keep[] = { "a", "versions", "", NULL };

/* Abort unless x and y dump the same (member order kept). */
static void
same(const json_t *x, const json_t *y)
{
	char	*a, *b;

	a = json_dumps(x, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_ENCODE_ANY);
	b = json_dumps(y, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_ENCODE_ANY);
	if (a == NULL || b == NULL || strcmp(a, b) != 0)
		abort();
	free(a);
	free(b);
}

/* theirs (an object) without the members keep does not name. */
static void
drop_unkept(json_t *theirs)
{
	const char	*k;
	json_t		*v;
	void		*tmp;
	size_t		 i;
	int		 kept;

	json_object_foreach_safe(theirs, tmp, k, v) {
		for (kept = 0, i = 0; keep[i] != NULL; i++)
			kept |= strcmp(keep[i], k) == 0;
		if (!kept)
			json_object_del(theirs, k);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t	 je;
	json_t		*ours = NULL, *some = NULL, *theirs;
	int		 rc, rc_some;

	rc = jsondoc_parse((const char *)data, size, &ours);
	rc_some = jsondoc_parse_members((const char *)data, size, keep,
	    &some);
	theirs = json_loadb((const char *)data, size, 0, &je);
	if (theirs == NULL) {
		if (rc == CF_OK || rc_some == CF_OK)
			abort();	/* accepted what jansson refuses */
		return 0;
	}
	if (rc != CF_OK || rc_some != CF_OK)
		abort();		/* refused what jansson accepts */
	same(ours, theirs);
	if (json_is_object(theirs))
		drop_unkept(theirs);
	same(some, theirs);
	json_decref(ours);
	json_decref(some);
	json_decref(theirs);
	return 0;
}
