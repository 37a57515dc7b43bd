/*
 * yaml.c -- a JSON value as YAML, written as Go's yaml.v2 writes it
 * (vault's -format=yaml): sorted keys, unindented sequences, strings
 * quoted only where a plain scalar would read back as something else.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "util.h"
#include "yaml.h"

static void	 y_string(const char *, int, struct sbuf *);
static void	 y_node(json_t *, int, int, struct sbuf *);
static void	 y_scalar(json_t *, int, struct sbuf *);
static int	 y_plain_ok(const char *);

static int
y_plain_ok(const char *s)
{
	static const char *special[] = { "true", "false", "yes", "no", "on",
	    "off", "y", "n", "null", "~", NULL };
	const char	*p;
	char		*end;
	size_t		 i, n = strlen(s);

	if (n == 0)
		return 0;
	for (i = 0; special[i] != NULL; i++)
		if (strcasecmp(s, special[i]) == 0)
			return 0;
	(void)strtod(s, &end);
	if (*end == '\0')
		return 0;
	/* yaml.v2 reads 2006-01-02... as a timestamp, so quotes it. */
	if (n >= 8 && isdigit((unsigned char)s[0]) &&
	    isdigit((unsigned char)s[1]) && isdigit((unsigned char)s[2]) &&
	    isdigit((unsigned char)s[3]) && s[4] == '-' &&
	    isdigit((unsigned char)s[5]) && strchr(s + 5, '-') != NULL)
		return 0;
	if (strchr("-?:,[]{}#&*!|>'\"%@`", s[0]) != NULL || s[0] == ' ' ||
	    s[n - 1] == ' ' || s[n - 1] == ':')
		return -1;
	if (strstr(s, ": ") != NULL || strstr(s, " #") != NULL)
		return -1;
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return -2;
	return 1;
}

static void
y_string(const char *s, int indent, struct sbuf *b)
{
	const char	*p;
	int		 ok;

	if (strchr(s, '\n') != NULL && y_plain_ok("x") == 1) {
		int only_text = 1;

		for (p = s; *p != '\0'; p++)
			if (((unsigned char)*p < 0x20 && *p != '\n') ||
			    *p == 0x7f)
				only_text = 0;
		if (only_text) {
			sbuf_puts(b, s[strlen(s) - 1] == '\n' ? "|" : "|-");
			for (p = s; *p != '\0'; ) {
				const char *nl = strchr(p, '\n');
				size_t len = nl ? (size_t)(nl - p) : strlen(p);

				sbuf_puts(b, "\n");
				if (len > 0)
					sbuf_printf(b, "%*s", indent + 2, "");
				sbuf_add(b, p, len);
				p += len;
				if (*p == '\n')
					p++;
			}
			return;
		}
	}
	ok = y_plain_ok(s);
	if (ok == 1) {
		sbuf_puts(b, s);
	} else if (ok == -1) {
		sbuf_puts(b, "'");
		for (p = s; *p != '\0'; p++)
			sbuf_puts(b, *p == '\'' ? "''" : (char[]){ *p, 0 });
		sbuf_puts(b, "'");
	} else {
		sbuf_puts(b, "\"");
		for (p = s; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				sbuf_printf(b, "\\%c", *p);
			else if (*p == '\n')
				sbuf_puts(b, "\\n");
			else if (*p == '\t')
				sbuf_puts(b, "\\t");
			else if ((unsigned char)*p < 0x20 || *p == 0x7f)
				sbuf_printf(b, "\\x%02X", (unsigned char)*p);
			else
				sbuf_add(b, p, 1);
		}
		sbuf_puts(b, "\"");
	}
}

static void
y_scalar(json_t *v, int indent, struct sbuf *b)
{
	if (json_is_string(v))
		y_string(json_string_value(v), indent, b);
	else if (json_is_object(v))
		sbuf_puts(b, "{}");
	else if (json_is_array(v))
		sbuf_puts(b, "[]");
	else if (json_is_null(v))
		sbuf_puts(b, "null");
	else if (json_is_integer(v))
		sbuf_printf(b, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		sbuf_real(b, json_real_value(v));
	else
		sbuf_puts(b, json_is_true(v) ? "true" : "false");
}

static int
y_nested(json_t *v)
{
	return (json_is_object(v) && json_object_size(v) > 0) ||
	    (json_is_array(v) && json_array_size(v) > 0);
}

/* Emit v at indent; skip: the first line is already positioned. */
static void
y_node(json_t *v, int indent, int skip, struct sbuf *b)
{
	const char	**keys;
	json_t		*e;
	size_t		 n, i;

	if (json_is_object(v) && json_object_size(v) > 0) {
		keys = sorted_keys(v, &n);
		for (i = 0; i < n; i++) {
			e = json_object_get(v, keys[i]);
			if (!(i == 0 && skip))
				sbuf_printf(b, "%*s", indent, "");
			y_string(keys[i], indent, b);
			sbuf_puts(b, ":");
			if (json_is_object(e) && y_nested(e)) {
				sbuf_puts(b, "\n");
				y_node(e, indent + 2, 0, b);
			} else if (y_nested(e)) {
				sbuf_puts(b, "\n");
				y_node(e, indent, 0, b);
			} else {
				sbuf_puts(b, " ");
				y_scalar(e, indent, b);
				sbuf_puts(b, "\n");
			}
		}
		free(keys);
	} else if (json_is_array(v) && json_array_size(v) > 0) {
		json_array_foreach(v, i, e) {
			if (!(i == 0 && skip))
				sbuf_printf(b, "%*s", indent, "");
			sbuf_puts(b, "- ");
			if (y_nested(e))
				y_node(e, indent + 2, 1, b);
			else {
				y_scalar(e, indent, b);
				sbuf_puts(b, "\n");
			}
		}
	} else {
		y_scalar(v, indent, b);
		sbuf_puts(b, "\n");
	}
}

void
yaml_doc(json_t *doc, struct sbuf *b)
{
	y_node(doc, 0, 0, b);
}
