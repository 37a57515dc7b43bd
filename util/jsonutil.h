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

#include <stdint.h>
#include <string.h>

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

/*
 * 1 if none of the 8 bytes at p needs a second look inside a JSON
 * string: each is ASCII from 0x20, and neither '"' nor '\\'.  Both the
 * writer and the parser skip such words whole, so a large value costs a
 * few instructions per 8 bytes, not several per byte.  A word this
 * refuses goes byte by byte, as before.
 */
static inline int
json_plain8(const unsigned char *p)
{
	const uint64_t	 ones = 0x0101010101010101ULL;
	const uint64_t	 high = ones * 0x80;
	uint64_t	 w, q, b;

	memcpy(&w, p, sizeof(w));
	q = w ^ (ones * '"');
	b = w ^ (ones * '\\');
	/* (x - ones) & ~x has a byte's high bit set where x has a zero. */
	return ((w | ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) |
	    ((b - ones) & ~b)) & high) == 0;
}

#endif /* COFFER_UTIL_JSONUTIL_H */
