/*
 * jsonutil.c -- JSON text out of jansson values, into a wiped buffer.
 *
 * The text is written straight into the struct buf, so it never sits in
 * a buffer that is freed without a wipe.  It is jansson's own compact
 * text (json_dumps with JSON_COMPACT | JSON_ENCODE_ANY), byte for byte:
 * keys in the object's order, '"', '\\' and control characters escaped
 * (\b \f \n \r \t, else \u00XX in capitals), other characters as they
 * are, and a string that is not valid UTF-8 refused.  coffer writes it
 * itself because every response and every stored entry goes through
 * here, and jansson's writer calls back once per token and formats each
 * integer with snprintf; tests/unit/test_jsonutil.c compares the two on
 * random documents.  Reals, rare here, are left to jansson.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "jsonutil.h"

#define EMIT_DEPTH_MAX	2048	/* deeper than any document coffer keeps */

/* buf_append, without the call when the bytes fit: tokens are short. */
static inline int
put(struct buf *out, const void *p, size_t n)
{
	if (out->data != NULL && out->cap - out->len > n) {
		memcpy(out->data + out->len, p, n);
		out->len += n;
		out->data[out->len] = '\0';
		return CF_OK;
	}
	return buf_append(out, p, n);
}

static int
emit_cb(const char *p, size_t n, void *arg)
{
	return buf_append(arg, p, n) == CF_OK ? 0 : -1;
}

/*
 * The length of the UTF-8 sequence at s (of at most n bytes), or 0 if it
 * is not one jansson accepts: no overlong forms, no surrogates, nothing
 * past U+10FFFF.
 */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	uint32_t	 cp;
	size_t		 len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

static int
emit_string(const char *str, size_t n, struct buf *out)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 i = 0, run, k;
	char			 esc[6];
	int			 rc;

	/* Room for the plain case at once: a large value grows no buffer. */
	if ((rc = buf_reserve(out, n + 2)) != CF_OK ||
	    (rc = put(out, "\"", 1)) != CF_OK)
		return rc;
	while (i < n) {
		/* A run of bytes that go out as they are. */
		for (run = i; run < n; ) {
			if (n - run >= 8 && json_plain8(s + run)) {
				run += 8;
				continue;
			}
			if (s[run] >= 0x80) {
				if ((k = utf8_len(s + run, n - run)) == 0)
					return CF_EINVAL;
				run += k;
				continue;
			}
			if (!json_plain_byte(s[run]))
				break;
			run++;
		}
		if (run > i && (rc = put(out, str + i, run - i)) !=
		    CF_OK)
			return rc;
		if ((i = run) == n)
			break;
		esc[0] = '\\';
		k = 2;
		switch (s[i]) {
		case '"':  esc[1] = '"';  break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b';  break;
		case '\f': esc[1] = 'f';  break;
		case '\n': esc[1] = 'n';  break;
		case '\r': esc[1] = 'r';  break;
		case '\t': esc[1] = 't';  break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[s[i] >> 4];
			esc[5] = hex[s[i] & 0xf];
			k = 6;
			break;
		}
		if ((rc = put(out, esc, k)) != CF_OK)
			return rc;
		i++;
	}
	return put(out, "\"", 1);
}

static int
emit_integer(json_int_t v, struct buf *out)
{
	char			 d[24];
	size_t			 i = sizeof(d);
	unsigned long long	 u;

	/* The magnitude as unsigned: -LLONG_MIN does not fit a long long. */
	u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	do {
		d[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		d[--i] = '-';
	return put(out, d + i, sizeof(d) - i);
}

static int
emit_value(const json_t *j, struct buf *out, int depth)
{
	const char	*k;
	json_t		*v;
	size_t		 i, n;
	int		 rc, first = 1;

	if (depth > EMIT_DEPTH_MAX)
		return CF_EINVAL;
	switch (json_typeof(j)) {
	case JSON_NULL:
		return put(out, "null", 4);
	case JSON_TRUE:
		return put(out, "true", 4);
	case JSON_FALSE:
		return put(out, "false", 5);
	case JSON_INTEGER:
		return emit_integer(json_integer_value(j), out);
	case JSON_STRING:
		return emit_string(json_string_value(j),
		    json_string_length(j), out);
	case JSON_REAL:
		return json_dump_callback(j, emit_cb, out, JSON_COMPACT |
		    JSON_ENCODE_ANY) == 0 ? CF_OK : CF_ENOMEM;
	case JSON_ARRAY:
		if ((rc = put(out, "[", 1)) != CF_OK)
			return rc;
		n = json_array_size(j);
		for (i = 0; i < n; i++)
			if ((i > 0 && (rc = put(out, ",", 1)) !=
			    CF_OK) || (rc = emit_value(json_array_get(j, i),
			    out, depth + 1)) != CF_OK)
				return rc;
		return put(out, "]", 1);
	case JSON_OBJECT:
		if ((rc = put(out, "{", 1)) != CF_OK)
			return rc;
		/* Cast: the iteration reads only. */
		json_object_foreach((json_t *)j, k, v) {
			if ((!first && (rc = put(out, ",", 1)) !=
			    CF_OK) || (rc = emit_string(k, json_object_iter_key_len(
			    json_object_key_to_iter(k)), out)) != CF_OK ||
			    (rc = put(out, ":", 1)) != CF_OK ||
			    (rc = emit_value(v, out, depth + 1)) != CF_OK)
				return rc;
			first = 0;
		}
		return put(out, "}", 1);
	}
	return CF_EINVAL;
}

int
jsonutil_emit(const json_t *j, struct buf *out)
{
	size_t	 start = out->len;
	int	 rc;

	if (j == NULL)
		return CF_ENOMEM;	/* as json_dump_callback refuses it */
	if ((rc = emit_value(j, out, 0)) != CF_OK) {
		/* Nothing half-written stays: wipe what was appended. */
		if (out->data != NULL) {
			memset(out->data + start, 0, out->len - start);
			out->len = start;
			out->data[start] = '\0';
		}
		return rc == CF_EINVAL ? CF_ENOMEM : rc;
	}
	return CF_OK;
}

int
jsonutil_emit_str(const char *s, size_t n, struct buf *out)
{
	size_t	 start = out->len;
	int	 rc;

	if ((rc = emit_string(s, n, out)) != CF_OK && out->data != NULL) {
		memset(out->data + start, 0, out->len - start);
		out->len = start;
		out->data[start] = '\0';
	}
	return rc;
}
