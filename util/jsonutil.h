/*
 * jsonutil.h -- JSON text out of jansson values, into a wiped buffer.
 *
 * A leaf helper (util/): it knows jansson and struct buf, nothing of
 * requests.  The text may carry secrets (a response, a stored entry),
 * so it goes to a struct buf, which is wiped when freed, and never to a
 * string jansson allocates.
 */
#ifndef COFFER_UTIL_JSONUTIL_H
#define COFFER_UTIL_JSONUTIL_H

#include <jansson.h>

struct buf;

/* Append the compact JSON text of j to out (a wiped buffer). */
int	 jsonutil_emit(const json_t *, struct buf *)
	    __attribute__((warn_unused_result));
/*
 * Append the JSON text of the string s (n bytes), escaped as
 * jsonutil_emit escapes strings.  CF_EINVAL, with nothing appended, if
 * s is not valid UTF-8 (jansson would not hold it); CF_ENOMEM.
 */
int	 jsonutil_emit_str(const char *, size_t, struct buf *)
	    __attribute__((warn_unused_result));

#endif /* COFFER_UTIL_JSONUTIL_H */
