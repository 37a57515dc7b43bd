/*
 * reqparse.c -- check and parse what a client sends: path, query, body.
 *
 * Nothing here trusts the client's text.  The body is scanned once,
 * iteratively, for depth and size before jansson (which recurses once
 * per level on a worker's stack) sees it; a NUL is refused wherever it
 * would silently cut a C string short (a path, a query value, a JSON
 * string: jansson refuses "\u0000" unless asked not to).
 *
 * Threads: pure functions of their arguments and the request they fill.
 *
 * In core/, the request pipeline under auth/ and engines/
 * (tests/layers.py): it includes util/, backends/ and seal/ headers,
 * never those of the layers that register with it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "req.h"
#include "reqparse.h"

static int
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* How many '%' in s start no two-digit escape. */
static size_t
bare_percents(const char *s, size_t len)
{
	size_t	 i, n = 0;

	for (i = 0; i < len; i++)
		if (s[i] == '%' && (i + 2 >= len || !is_hex(s[i + 1]) ||
		    !is_hex(s[i + 2])))
			n++;
	return n;
}

/* 1 if every '%' in s starts a two-digit escape. */
static int
escapes_valid(const char *s, size_t len)
{
	return bare_percents(s, len) == 0;
}

/* 1 if s is valid UTF-8 without control characters. */
static int
is_printable_utf8(const unsigned char *s)
{
	int	 n;

	while (*s != '\0') {
		if (*s < 0x20 || *s == 0x7f)
			return 0;
		if (*s < 0x80) {
			s++;
			continue;
		}
		n = (*s & 0xe0) == 0xc0 ? 1 : (*s & 0xf0) == 0xe0 ? 2 :
		    (*s & 0xf8) == 0xf0 ? 3 : -1;
		if (n < 0 || *s == 0xc0 || *s == 0xc1 || *s > 0xf4)
			return 0;
		for (s++; n > 0; n--, s++)
			if ((*s & 0xc0) != 0x80)
				return 0;
	}
	return 1;
}

static int
has_dot_segment(const char *p)
{
	const char	*seg = p;
	size_t		 len;

	for (;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		len = (size_t)(p - seg);
		if ((len == 1 && seg[0] == '.') ||
		    (len == 2 && seg[0] == '.' && seg[1] == '.'))
			return 1;
		if (*p == '\0')
			return 0;
		seg = p + 1;
	}
}

int
reqparse_path(struct request *req, struct response *resp,
    const char *decoded, size_t rawlen)
{
	size_t	 len, i;

	if (decoded == NULL || strncmp(decoded, "/v1/", 4) != 0) {
		resp->err_empty = 1;
		return CF_ENOTFOUND;
	}
	/*
	 * civetweb decodes in place, so a decoded "%00" leaves the rest of
	 * the path after a NUL, inside the bytes the raw URI took; without
	 * one, those bytes are leftovers of the raw text, never NUL.
	 */
	len = strlen(decoded);
	for (i = len + 1; i < rawlen; i++)
		if (decoded[i] == '\0')
			return resp_fail(resp, CF_EINVAL,
			    "invalid path: contains a NUL character");
	/*
	 * civetweb keeps a '%' that starts no valid escape as it is, and
	 * "%25" decodes to a '%' too.  Each valid escape shortened the text
	 * by two bytes, so more bare '%' than escapes means at least one
	 * was never an escape.
	 */
	if (bare_percents(decoded, len) > (rawlen - len) / 2)
		return resp_fail(resp, CF_EINVAL,
		    "invalid path: invalid URL escape");
	if (!is_printable_utf8((const unsigned char *)decoded) ||
	    has_dot_segment(decoded + 4))
		return resp_fail(resp, CF_EINVAL, "invalid path: %s",
		    "must be printable UTF-8 without '.' or '..' segments");
	if ((req->path = strdup(decoded + 4)) == NULL)
		return CF_ENOMEM;
	return CF_OK;
}

static int
is_true_value(const char *v)
{
	return strcmp(v, "1") == 0 || strcmp(v, "t") == 0 ||
	    strcmp(v, "T") == 0 || strcmp(v, "TRUE") == 0 ||
	    strcmp(v, "true") == 0 || strcmp(v, "True") == 0;
}

static int
is_false_value(const char *v)
{
	return strcmp(v, "0") == 0 || strcmp(v, "f") == 0 ||
	    strcmp(v, "F") == 0 || strcmp(v, "FALSE") == 0 ||
	    strcmp(v, "false") == 0 || strcmp(v, "False") == 0;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return (c | 0x20) - 'a' + 10;
}

/*
 * Decode one query component of len bytes ('+' is a space) into a new
 * string.  NULL with *bad set for an invalid escape or a NUL; NULL
 * alone on ENOMEM.
 */
static char *
query_decode(const char *s, size_t len, int *bad)
{
	char	*out;
	size_t	 i, n = 0;

	*bad = 0;
	if (!escapes_valid(s, len)) {
		*bad = 1;
		return NULL;
	}
	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		if (s[i] == '%') {
			out[n++] = (char)(hex_value(s[i + 1]) << 4 |
			    hex_value(s[i + 2]));
			i += 2;
		} else
			out[n++] = s[i] == '+' ? ' ' : s[i];
	}
	out[n] = '\0';
	if (strlen(out) != n) {
		sodium_memzero(out, n);
		free(out);
		*bad = 1;
		return NULL;
	}
	return out;
}

static void
free_wiped(char *s)
{
	if (s != NULL) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

int
reqparse_query(struct request *req, struct response *resp, int *as_list)
{
	const char	*q = req->query, *amp, *eq;
	char		*key = NULL, *val = NULL;
	size_t		 klen, vlen;
	int		 bad, rc = CF_OK;

	*as_list = 0;
	while (q != NULL && *q != '\0') {
		amp = strchr(q, '&');
		if (amp == NULL)
			amp = q + strlen(q);
		eq = memchr(q, '=', (size_t)(amp - q));
		klen = (size_t)((eq != NULL ? eq : amp) - q);
		vlen = eq != NULL ? (size_t)(amp - eq - 1) : 0;
		if (klen > 0) {
			key = query_decode(q, klen, &bad);
			if (key != NULL)
				val = query_decode(eq != NULL ? eq + 1 : "",
				    vlen, &bad);
			if (key == NULL || val == NULL) {
				rc = bad ? resp_fail(resp, CF_EINVAL,
				    "invalid query string") : CF_ENOMEM;
				goto out;
			}
			if (strcmp(key, "list") == 0) {
				if (is_true_value(val))
					*as_list = 1;
				else if (!is_false_value(val)) {
					resp->err_empty = 1;
					rc = CF_EINVAL;
					goto out;
				}
			} else if (json_object_get(req->data, key) == NULL &&
			    json_object_set_new(req->data, key,
			    json_string(val)) != 0) {
				rc = resp_fail(resp, CF_EINVAL,
				    "invalid query string");
				goto out;
			}
			free(key);
			free_wiped(val);
			key = val = NULL;
		}
		q = *amp == '&' ? amp + 1 : amp;
	}
 out:
	free(key);
	free_wiped(val);
	return rc;
}

int
reqparse_json_limits(const char *buf, size_t len, char *why, size_t whylen)
{
	size_t	 i, depth = 0, elements = 0;
	int	 in_string = 0;

	for (i = 0; i < len; i++) {
		if (in_string) {
			if (buf[i] == '\\')
				i++;		/* the escaped byte */
			else if (buf[i] == '"')
				in_string = 0;
			continue;
		}
		switch (buf[i]) {
		case '"':
			in_string = 1;
			break;
		case '[':
		case '{':
			if (++depth > REQ_JSON_MAX_DEPTH) {
				snprintf(why, whylen, "error parsing JSON: "
				    "nesting deeper than %d levels",
				    REQ_JSON_MAX_DEPTH);
				return CF_EINVAL;
			}
			elements++;
			break;
		case ']':
		case '}':
			if (depth > 0)
				depth--;
			break;
		case ',':
		case ':':
			elements++;
			break;
		default:
			break;
		}
		if (elements > REQ_JSON_MAX_ELEMENTS) {
			snprintf(why, whylen, "error parsing JSON: more than "
			    "%d values", REQ_JSON_MAX_ELEMENTS);
			return CF_EINVAL;
		}
	}
	return CF_OK;
}

/* "a=b&c=d" bodies (Content-Type: application/x-www-form-urlencoded). */
static int
parse_form(struct request *req, struct response *resp)
{
	const char	*saved = req->query;
	int		 as_list, rc;

	/* A struct buf ends in a NUL; one before it would cut the form. */
	if (memchr(req->body.data, '\0', req->body.len) != NULL)
		return resp_fail(resp, CF_EINVAL, "invalid form body");
	req->query = req->body.data;
	rc = reqparse_query(req, resp, &as_list);
	req->query = saved;
	return rc;
}

int
reqparse_body(struct request *req, struct response *resp)
{
	json_error_t	 jerr;
	json_t		*j;
	char		 why[128];
	size_t		 i;

	for (i = 0; i < req->body.len; i++)
		if (req->body.data[i] != ' ' && req->body.data[i] != '\t' &&
		    req->body.data[i] != '\r' && req->body.data[i] != '\n')
			break;
	if (i == req->body.len) {
		req->body_empty = 1;
		return CF_OK;
	}
	if (req->content_type != NULL && strncasecmp(req->content_type,
	    "application/x-www-form-urlencoded", 33) == 0 &&
	    req->body.data[i] != '{' && req->body.data[i] != '[')
		return parse_form(req, resp);
	if (reqparse_json_limits(req->body.data, req->body.len, why,
	    sizeof(why)) != CF_OK)
		return resp_fail(resp, CF_EINVAL, "%s", why);
	/* No JSON_ALLOW_NUL: "\u0000" would cut a token or path short. */
	j = json_loadb(req->body.data, req->body.len, JSON_DECODE_ANY, &jerr);
	if (json_is_null(j)) {
		/* Vault decodes a null body into no parameters at all. */
		json_decref(j);
		req->body_empty = 1;
		return CF_OK;
	}
	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		return resp_fail(resp, CF_EINVAL, "error parsing JSON");
	}
	json_decref(req->data);
	req->data = j;
	req->data_json = 1;
	return CF_OK;
}
