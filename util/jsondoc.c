/*
 * jsondoc.c -- JSON text into jansson values, fast for the documents
 * coffer stores.
 *
 * Every read of a record that is not in core's document cache parses
 * it, and jansson's parser costs some 200 instructions a byte: it
 * reads one byte at a time through a callback, copies each token into
 * a growing buffer, then copies strings again to decode them.  This
 * parser walks the text once and builds the same jansson values
 * straight from it: objects and arrays (members in their order, a
 * repeated key's last value winning, as jansson's), strings with any
 * escape, integers, true, false and null.  It refuses what it does not
 * do exactly as jansson does -- reals, integers of 19 digits or more,
 * \u0000, nesting deeper than JSONDOC_DEPTH, anything invalid -- and
 * then the text is parsed again by json_loadb, whose answer (value or
 * error) is the one returned.  So the result is always jansson's; only
 * its cost differs.
 *
 * A reader that looks at a few members of a stored object (a KV read
 * at a secret's metadata) has the others checked but not built: no
 * allocation for what nobody reads, and still jansson's answer, less
 * those members.
 *
 * Strings with escapes are decoded into a struct buf (keys into a
 * buffer on the stack), both wiped: strings may be secrets.  Values
 * are allocated through jansson, whose allocator (util/jsonmem.c)
 * wipes them when freed.
 *
 * In util/, the bottom layer of leaf helpers (tests/layers.py): it
 * includes headers of util/ only.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "jsondoc.h"
#include "jsonutil.h"

#define JSONDOC_DEPTH	64		/* deeper: left to jansson */
#define JSONDOC_KEYBUF	128	/* longer keys with escapes: jansson's */

struct jp {
	const unsigned char	*p;
	const unsigned char	*end;
	struct buf		 scratch;	/* decoded strings (wiped) */
};

static json_t	*parse_value(struct jp *, int, int);

/* Past the plain bytes at jp->p; *hi |= whether any is 0x80 or above. */
static void
skip_plain(struct jp *jp, int *hi)
{
	unsigned char	 c;

	while (jp->p < jp->end) {
		if (jp->end - jp->p >= 8 && json_plain8(jp->p)) {
			jp->p += 8;
			continue;
		}
		if ((c = *jp->p) >= 0x80)
			*hi = 1;
		else if (!json_plain_byte(c))
			break;
		jp->p++;
	}
}

static void
skip_ws(struct jp *jp)
{
	while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\n' ||
	    *jp->p == '\r' || *jp->p == '\t'))
		jp->p++;
}

static int
hex4(const unsigned char *s, unsigned *v)
{
	unsigned	 x = 0;
	int		 i;

	for (i = 0; i < 4; i++) {
		x <<= 4;
		if (s[i] >= '0' && s[i] <= '9')
			x |= s[i] - '0';
		else if (s[i] >= 'a' && s[i] <= 'f')
			x |= s[i] - 'a' + 10;
		else if (s[i] >= 'A' && s[i] <= 'F')
			x |= s[i] - 'A' + 10;
		else
			return 0;
	}
	*v = x;
	return 1;
}

/*
 * Decode the escape at jp->p (just past the backslash) into out (room
 * for 4 bytes); its length, or 0 if jansson must judge it.
 */
static size_t
unescape(struct jp *jp, unsigned char *out)
{
	unsigned	 c, lo;

	if (jp->p >= jp->end)
		return 0;
	switch (*jp->p++) {
	case '"':	*out = '"';	return 1;
	case '\\':	*out = '\\';	return 1;
	case '/':	*out = '/';	return 1;
	case 'b':	*out = '\b';	return 1;
	case 'f':	*out = '\f';	return 1;
	case 'n':	*out = '\n';	return 1;
	case 'r':	*out = '\r';	return 1;
	case 't':	*out = '\t';	return 1;
	case 'u':
		break;
	default:
		return 0;
	}
	if (jp->end - jp->p < 4 || !hex4(jp->p, &c) || c == 0)
		return 0;
	jp->p += 4;
	if (c >= 0xdc00 && c <= 0xdfff)
		return 0;			/* a lone low surrogate */
	if (c >= 0xd800 && c <= 0xdbff) {
		if (jp->end - jp->p < 6 || jp->p[0] != '\\' ||
		    jp->p[1] != 'u' || !hex4(jp->p + 2, &lo) ||
		    lo < 0xdc00 || lo > 0xdfff)
			return 0;
		jp->p += 6;
		c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (c < 0x80) {
		out[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (unsigned char)(0xc0 | c >> 6);
		out[1] = (unsigned char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (unsigned char)(0xe0 | c >> 12);
		out[1] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
		out[2] = (unsigned char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | c >> 18);
	out[1] = (unsigned char)(0x80 | (c >> 12 & 0x3f));
	out[2] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
	out[3] = (unsigned char)(0x80 | (c & 0x3f));
	return 4;
}

/*
 * The string at jp->p (past its opening quote): *s and *n point at its
 * bytes, in the text itself when it has no escape, else decoded into
 * key (keycap bytes; longer: 0) when key is not NULL, or into
 * jp->scratch.  *ascii is 1 when every byte is below 0x80 (no UTF-8
 * check needed).  0 if jansson must judge.
 */
static int
scan_string(struct jp *jp, unsigned char *key, size_t keycap, const char **s,
    size_t *n, int *ascii)
{
	const unsigned char	*start = jp->p, *run;
	unsigned char		 u[4];
	size_t			 k, len = 0;
	int			 hi = 0;

	skip_plain(jp, &hi);
	if (jp->p >= jp->end || *jp->p < 0x20)
		return 0;
	if (*jp->p == '"') {
		*s = (const char *)start;
		*n = (size_t)(jp->p - start);
		*ascii = !hi;
		jp->p++;
		return 1;
	}
	/* Escapes: the plain run so far, then escape by escape. */
	if (key == NULL)
		buf_reset(&jp->scratch);
	run = start;
	for (;;) {
		k = (size_t)(jp->p - run);
		if (key != NULL) {
			if (len + k > keycap)
				return 0;
			memcpy(key + len, run, k);
		} else if (buf_append(&jp->scratch, run, k) != CF_OK)
			return 0;
		len += k;
		if (*jp->p == '"')
			break;
		jp->p++;			/* the backslash */
		if ((k = unescape(jp, u)) == 0)
			return 0;
		hi |= u[0] >= 0x80;
		if (key != NULL) {
			if (len + k > keycap)
				return 0;
			memcpy(key + len, u, k);
		} else if (buf_append(&jp->scratch, u, k) != CF_OK)
			return 0;
		len += k;
		run = jp->p;
		skip_plain(jp, &hi);
		if (jp->p >= jp->end || *jp->p < 0x20)
			return 0;
	}
	jp->p++;
	*s = key != NULL ? (const char *)key : jp->scratch.data;
	*n = len;
	*ascii = !hi;
	return 1;
}

/*
 * What a value checked but not built returns: a singleton, which no
 * caller frees and json_decref leaves alone.
 */
#define SKIPPED		json_null()

/*
 * The string s (n bytes) as a value, or SKIPPED when not build; NULL
 * if it is not valid UTF-8 (jansson's own check judges).
 */
static json_t *
string_value(const char *s, size_t n, int ascii, int build)
{
	json_t	*v;

	if (ascii)
		return build ? json_stringn_nocheck(s, n) : SKIPPED;
	if ((v = json_stringn(s, n)) == NULL || build)
		return v;
	json_decref(v);
	return SKIPPED;
}

static json_t *
parse_string(struct jp *jp, int build)
{
	const char	*s;
	size_t		 n;
	int		 ascii;

	if (!scan_string(jp, NULL, 0, &s, &n, &ascii))
		return NULL;
	return string_value(s, n, ascii, build);
}

/* An integer of at most 18 digits (no overflow), as jansson reads it. */
static json_t *
parse_number(struct jp *jp, int build)
{
	json_int_t	 v = 0;
	int		 neg = 0, nd = 0;

	if (*jp->p == '-') {
		neg = 1;
		jp->p++;
	}
	if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9')
		return NULL;
	if (*jp->p == '0' && jp->end - jp->p > 1 && jp->p[1] >= '0' &&
	    jp->p[1] <= '9')
		return NULL;			/* a leading zero */
	for (; jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9'; jp->p++) {
		if (++nd > 18)
			return NULL;
		v = v * 10 + (*jp->p - '0');
	}
	/* A fraction or an exponent: a real, left to jansson. */
	if (jp->p < jp->end && (*jp->p == '.' || *jp->p == 'e' ||
	    *jp->p == 'E'))
		return NULL;
	return build ? json_integer(neg ? -v : v) : SKIPPED;
}

static json_t *
parse_word(struct jp *jp, const char *w, size_t n, json_t *v)
{
	if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, w, n) != 0)
		return NULL;
	jp->p += n;
	return v;
}

/* 1 if the n bytes at k are one of names (NULL-terminated). */
static int
is_member(const char *k, size_t n, const char *const *names)
{
	for (; *names != NULL; names++)
		if (strncmp(*names, k, n) == 0 && (*names)[n] == '\0')
			return 1;
	return 0;
}

/*
 * The object at jp->p (past its '{'), built when build, keeping only
 * the members named in keep unless keep is NULL; the others are
 * checked as thoroughly, but not built.
 */
static json_t *
parse_object(struct jp *jp, int depth, int build, const char *const *keep)
{
	unsigned char	 key[JSONDOC_KEYBUF];
	const char	*k;
	size_t		 kn;
	json_t		*o = SKIPPED, *v;
	int		 ascii, rc, sub;

	if (build && (o = json_object()) == NULL)
		return NULL;
	skip_ws(jp);
	if (jp->p < jp->end && *jp->p == '}') {
		jp->p++;
		return o;
	}
	for (;;) {
		skip_ws(jp);
		if (jp->p >= jp->end || *jp->p != '"')
			goto fail;
		jp->p++;
		if (!scan_string(jp, key, sizeof(key), &k, &kn, &ascii))
			goto fail;
		skip_ws(jp);
		if (jp->p >= jp->end || *jp->p != ':')
			goto fail;
		jp->p++;
		sub = build && (keep == NULL || is_member(k, kn, keep));
		if ((v = parse_value(jp, depth + 1, sub)) == NULL)
			goto fail;
		if (sub)
			rc = ascii ? json_object_setn_new_nocheck(o, k, kn,
			    v) : json_object_setn_new(o, k, kn, v);
		else		/* a key not kept is checked as UTF-8 still */
			rc = string_value(k, kn, ascii, 0) != NULL ? 0 : -1;
		if (rc != 0)
			goto fail;
		skip_ws(jp);
		if (jp->p < jp->end && *jp->p == ',') {
			jp->p++;
			continue;
		}
		if (jp->p < jp->end && *jp->p == '}') {
			jp->p++;
			break;
		}
		goto fail;
	}
	sodium_memzero(key, sizeof(key));
	return o;
 fail:
	sodium_memzero(key, sizeof(key));
	json_decref(o);
	return NULL;
}

static json_t *
parse_array(struct jp *jp, int depth, int build)
{
	json_t	*a = SKIPPED, *v;

	if (build && (a = json_array()) == NULL)
		return NULL;
	skip_ws(jp);
	if (jp->p < jp->end && *jp->p == ']') {
		jp->p++;
		return a;
	}
	for (;;) {
		if ((v = parse_value(jp, depth + 1, build)) == NULL)
			goto fail;
		if (build && json_array_append_new(a, v) != 0)
			goto fail;
		skip_ws(jp);
		if (jp->p < jp->end && *jp->p == ',') {
			jp->p++;
			continue;
		}
		if (jp->p < jp->end && *jp->p == ']') {
			jp->p++;
			break;
		}
		goto fail;
	}
	return a;
 fail:
	json_decref(a);
	return NULL;
}

/*
 * The value at jp->p, or SKIPPED once checked when not build; NULL if
 * jansson must judge (or out of memory).
 */
static json_t *
parse_value(struct jp *jp, int depth, int build)
{
	if (depth > JSONDOC_DEPTH)
		return NULL;
	skip_ws(jp);
	if (jp->p >= jp->end)
		return NULL;
	switch (*jp->p) {
	case '{':
		jp->p++;
		return parse_object(jp, depth, build, NULL);
	case '[':
		jp->p++;
		return parse_array(jp, depth, build);
	case '"':
		jp->p++;
		return parse_string(jp, build);
	case 't':
		return parse_word(jp, "true", 4, json_true());
	case 'f':
		return parse_word(jp, "false", 5, json_false());
	case 'n':
		return parse_word(jp, "null", 4, json_null());
	default:
		return parse_number(jp, build);
	}
}

/*
 * Drop the members of o (an object, or else left alone) not named in
 * keep (NULL-terminated).
 */
static void
drop_others(json_t *o, const char *const *keep)
{
	const char	*k;
	json_t		*v;
	void		*tmp;

	json_object_foreach_safe(o, tmp, k, v)
		if (!is_member(k, strlen(k), keep))
			json_object_del(o, k);
}

/* jsondoc_parse, keeping only keep's members if keep is not NULL. */
static int
parse_doc(const char *s, size_t len, const char *const *keep, json_t **out)
{
	struct jp	 jp;
	json_error_t	 je;

	*out = NULL;
	jp.p = (const unsigned char *)s;
	jp.end = jp.p + len;
	buf_init(&jp.scratch);
	skip_ws(&jp);
	if (jp.p < jp.end && *jp.p == '{') {
		jp.p++;
		*out = parse_object(&jp, 0, 1, keep);
	} else if (jp.p < jp.end && *jp.p == '[')
		*out = parse_value(&jp, 0, 1);
	if (*out != NULL) {
		skip_ws(&jp);
		if (jp.p != jp.end) {
			json_decref(*out);
			*out = NULL;
		}
	}
	buf_free(&jp.scratch);
	if (*out != NULL)
		return CF_OK;
	/* Refused here: jansson's answer, whatever it is. */
	if ((*out = json_loadb(s, len, 0, &je)) != NULL) {
		if (keep != NULL)
			drop_others(*out, keep);
		return CF_OK;
	}
	return json_error_code(&je) == json_error_out_of_memory ? CF_ENOMEM :
	    CF_EINVAL;
}

int
jsondoc_parse(const char *s, size_t len, json_t **out)
{
	return parse_doc(s, len, NULL, out);
}

int
jsondoc_parse_members(const char *s, size_t len, const char *const *keep,
    json_t **out)
{
	return parse_doc(s, len, keep, out);
}
