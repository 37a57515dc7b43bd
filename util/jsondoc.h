/*
 * jsondoc.h -- JSON text into jansson values, fast for the documents
 * coffer stores.
 *
 * A leaf helper (util/): it knows jansson and nothing of requests.
 */
#ifndef COFFER_UTIL_JSONDOC_H
#define COFFER_UTIL_JSONDOC_H

#include <stddef.h>

#include <jansson.h>

/*
 * Parse the len bytes at s, an object or an array, into *out (the
 * caller's): the value json_loadb(s, len, 0, ...) gives, or CF_EINVAL
 * where it fails.  The common case (what jsonutil_emit writes: compact,
 * integers, strings) takes one pass with no intermediate copies; any
 * other input, including every invalid one, is left to jansson.
 * CF_ENOMEM.
 */
int	 jsondoc_parse(const char *s, size_t len, json_t **out)
	    __attribute__((warn_unused_result));
/*
 * jsondoc_parse for a reader that needs only some members of an object:
 * the value it gives without the members whose names are not in keep
 * (NULL-terminated).  Those are checked as strictly but never built,
 * which saves their allocations; an array is parsed whole.  The same
 * errors as jsondoc_parse's.
 */
int	 jsondoc_parse_members(const char *s, size_t len,
	    const char *const *keep, json_t **out)
	    __attribute__((warn_unused_result));

#endif /* COFFER_UTIL_JSONDOC_H */
