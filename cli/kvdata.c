/*
 * kvdata.c -- K=V arguments, @file and stdin.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "kvdata.h"
#include "util.h"

static void	 add(json_t *, const char *, json_t *);

/* A second value for a key turns it into an array, in order. */
static void
add(json_t *o, const char *k, json_t *v)
{
	json_t	*old = json_object_get(o, k), *a;

	if (old == NULL) {
		json_object_set_new(o, k, v);
		return;
	}
	if (json_is_array(old)) {
		json_array_append_new(old, v);
		return;
	}
	a = json_array();
	json_array_append(a, old);
	json_array_append_new(a, v);
	json_object_set_new(o, k, a);
}

int
kvdata_parse(int argc, char **argv, json_t **out, char **err)
{
	struct sbuf	 b = { 0 }, e = { 0 };
	json_error_t	 jerr;
	json_t		*o, *j;
	const char	*a, *eq, *val;
	char		*key;
	int		 i, stdin_used = 0;

	o = json_object();
	for (i = 0; i < argc; i++) {
		a = argv[i];
		if (*a == '\0')
			continue;
		if (strcmp(a, "-") == 0 || (a[0] == '@' &&
		    strchr(a, '=') == NULL)) {
			if (strcmp(a, "-") == 0 && stdin_used++) {
				sbuf_printf(&e, "invalid key/value pair "
				    "\"%s\": stdin already consumed", a);
				goto fail;
			}
			if ((strcmp(a, "-") == 0 ?
			    read_all_fd(STDIN_FILENO, &b) :
			    read_file(a + 1, &b)) == -1) {
				sbuf_printf(&e, "invalid key/value pair "
				    "\"%s\": error reading file: %s", a,
				    strerror(errno));
				goto fail;
			}
			j = json_loadb(sbuf_str(&b), b.len, 0, &jerr);
			sbuf_free(&b);
			if (!json_is_object(j)) {
				sbuf_printf(&e, "%s", j == NULL ? jerr.text :
				    "json: cannot unmarshal into an object");
				json_decref(j);
				goto fail;
			}
			json_object_update(o, j);
			json_decref(j);
			continue;
		}
		if ((eq = strchr(a, '=')) == NULL) {
			sbuf_printf(&e, "invalid key/value pair \"%s\": "
			    "format must be key=value", a);
			goto fail;
		}
		key = xstrndup(a, eq - a);
		val = eq + 1;
		if (val[0] == '@') {
			if (read_file(val + 1, &b) == -1) {
				sbuf_printf(&e, "invalid key/value pair "
				    "\"%s\": error reading file: %s", a,
				    strerror(errno));
				free(key);
				goto fail;
			}
			add(o, key, json_stringn(sbuf_str(&b), b.len));
			sbuf_free(&b);
		} else if (strcmp(val, "-") == 0) {
			if (stdin_used++ || read_all_fd(STDIN_FILENO,
			    &b) == -1) {
				sbuf_printf(&e, "invalid key/value pair "
				    "\"%s\": stdin already consumed", a);
				free(key);
				goto fail;
			}
			add(o, key, json_stringn(sbuf_str(&b), b.len));
			sbuf_free(&b);
		} else if (val[0] == '\\' && val[1] == '@')
			add(o, key, json_string(val + 1));
		else
			add(o, key, json_string(val));
		free(key);
	}
	*out = o;
	return 0;
 fail:
	json_decref(o);
	sbuf_free(&b);
	*err = sbuf_take(&e);
	return -1;
}

int
kvdata_strings(json_t *o, char **err)
{
	struct sbuf	 b = { 0 };
	const char	*k;
	json_t		*v;
	char		 t[64];

	json_object_foreach(o, k, v) {
		if (json_is_string(v))
			continue;
		if (json_is_integer(v))
			snprintf(t, sizeof(t), "%" JSON_INTEGER_FORMAT,
			    json_integer_value(v));
		else if (json_is_real(v))
			snprintf(t, sizeof(t), "%.17g", json_real_value(v));
		else if (json_is_boolean(v))
			strlcpy(t, json_is_true(v) ? "1" : "0", sizeof(t));
		else if (json_is_null(v))
			t[0] = '\0';
		else {
			sbuf_printf(&b, "failed to convert values to strings: "
			    "'%s' expected type 'string', got unconvertible "
			    "type '%s'", k, json_is_array(v) ? "[]interface {}" :
			    "map[string]interface {}");
			*err = sbuf_take(&b);
			return -1;
		}
		json_object_set_new(o, k, json_string(t));
	}
	return 0;
}
