/*
 * audit_jsonx.c -- an audit entry as JSONx, for devices with format
 * "jsonx": the entry's JSON text read back and written as IBM's JSON
 * in XML (json:object, json:string, ... elements with a name attribute),
 * members sorted by name as Vault's encoder sorts them.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit_jsonx.h"
#include "buf.h"
#include "err.h"

/* Text for XML: &, <, >, quotes and the line controls as references. */
static void
xml_text(struct buf *b, const char *s, size_t n, int *rc)
{
	const char	*rep;
	char		 one[2] = { 0, 0 };
	size_t		 i;

	for (i = 0; i < n && *rc == CF_OK; i++) {
		switch (s[i]) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&#34;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		case '\t':
			rep = "&#x9;";
			break;
		case '\n':
			rep = "&#xA;";
			break;
		case '\r':
			rep = "&#xD;";
			break;
		default:
			one[0] = s[i];
			rep = one;
			break;
		}
		*rc = buf_puts(b, rep);
	}
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void	jsonx_value(struct buf *, const char *, const json_t *, int *);

/* o's members as JSONx, in byte order of their names. */
static void
jsonx_members(struct buf *b, const json_t *o, int *rc)
{
	const char	*k, **keys;
	json_t		*c;
	size_t		 i, n = json_object_size(o);

	if ((keys = calloc(n + 1, sizeof(*keys))) == NULL) {
		*rc = CF_ENOMEM;
		return;
	}
	i = 0;
	json_object_foreach((json_t *)o, k, c)
		keys[i++] = k;
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 0; i < n && *rc == CF_OK; i++)
		jsonx_value(b, keys[i], json_object_get(o, keys[i]), rc);
	free(keys);
}

/*
 * v as JSONx (IBM's XML form of JSON, as Vault writes it): an element
 * per value, members in byte order of their names, name as an
 * attribute.
 */
static void
jsonx_value(struct buf *b, const char *name, const json_t *v, int *rc)
{
	const char	*tag;
	char		 num[64];
	json_t		*c;
	size_t		 i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		tag = "object";
		break;
	case JSON_ARRAY:
		tag = "array";
		break;
	case JSON_STRING:
		tag = "string";
		break;
	case JSON_INTEGER:
	case JSON_REAL:
		tag = "number";
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		tag = "boolean";
		break;
	default:
		tag = "null";
		break;
	}
	if (*rc == CF_OK)
		*rc = buf_printf(b, "<json:%s", tag);
	if (name != NULL && *rc == CF_OK) {
		*rc = buf_puts(b, " name=\"");
		xml_text(b, name, strlen(name), rc);
		if (*rc == CF_OK)
			*rc = buf_puts(b, "\"");
	}
	if (json_is_null(v)) {
		if (*rc == CF_OK)
			*rc = buf_puts(b, " />");
		return;
	}
	if (*rc == CF_OK)
		*rc = buf_puts(b, ">");
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		jsonx_members(b, v, rc);
		break;
	case JSON_ARRAY:
		json_array_foreach(v, i, c)
			jsonx_value(b, NULL, c, rc);
		break;
	case JSON_STRING:
		xml_text(b, json_string_value(v), json_string_length(v), rc);
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		if (*rc == CF_OK)
			*rc = buf_puts(b, num);
		break;
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		if (*rc == CF_OK)
			*rc = buf_puts(b, num);
		break;
	default:
		if (*rc == CF_OK)
			*rc = buf_puts(b, json_is_true(v) ? "true" : "false");
		break;
	}
	if (*rc == CF_OK)
		*rc = buf_printf(b, "</json:%s>", tag);
}

int
audit_jsonx(const char *json, size_t len, struct buf *out)
{
	json_error_t	 e;
	json_t		*o;
	int		 rc = CF_OK;

	if ((o = json_loadb(json, len, 0, &e)) == NULL)
		return CF_ENOMEM;
	jsonx_members(out, o, &rc);
	json_decref(o);
	return rc;
}
