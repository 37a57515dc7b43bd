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
 * The one definition of a plain byte, which a JSON string holds as it
 * is and which the writer and the parser pass without a second look:
 * ASCII from 0x20, neither '"' nor '\\'.  Bytes from 0x80 are UTF-8,
 * which each side checks its own way.
 */
static inline int
json_plain_byte(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/*
 * 1 if each of the 8 bytes at p is a json_plain_byte.  Both the writer
 * and the parser skip such words whole, so a large value costs a few
 * instructions per 8 bytes, not several per byte.  A word this refuses
 * goes byte by byte.
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
