/*
 * format.c -- table, JSON and YAML output; the YAML text itself is
 * yaml.c.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "flags.h"
#include "format.h"
#include "util.h"
#include "yaml.h"

static int	 is_durkey(const char *);
static void	 valstr(const char *, json_t *, struct sbuf *);
static size_t	 codepoints(const char *);
static void	 quoted_list(json_t *, struct sbuf *);

static int
is_durkey(const char *k)
{
	static const char *exact[] = { "period", "ttl", "duration",
	    "lease_max", "ttl_max", NULL };
	static const char *suffix[] = { "_period", "_ttl", "_duration",
	    NULL };
	size_t	 i, n, m;

	if (k == NULL)
		return 0;
	for (i = 0; exact[i] != NULL; i++)
		if (strcmp(k, exact[i]) == 0)
			return 1;
	n = strlen(k);
	for (i = 0; suffix[i] != NULL; i++) {
		m = strlen(suffix[i]);
		if (n >= m && strcmp(k + n - m, suffix[i]) == 0)
			return 1;
	}
	return 0;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char *
fmt_jstr(json_t *o, const char *k)
{
	const char	*s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

static void
valstr(const char *key, json_t *v, struct sbuf *b)
{
	const char	**keys;
	char		 h[64];
	size_t		 i, n;

	switch (json_typeof(v)) {
	case JSON_STRING:
		sbuf_add(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		if (is_durkey(key)) {
			flags_human(json_integer_value(v), h, sizeof(h));
			sbuf_puts(b, h);
		} else
			sbuf_printf(b, "%lld",
			    (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		sbuf_real(b, json_real_value(v));
		break;
	case JSON_TRUE:
		sbuf_puts(b, "true");
		break;
	case JSON_FALSE:
		sbuf_puts(b, "false");
		break;
	case JSON_NULL:
		sbuf_puts(b, "<nil>");
		break;
	case JSON_ARRAY:
		sbuf_puts(b, "[");
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				sbuf_puts(b, " ");
			valstr(NULL, json_array_get(v, i), b);
		}
		sbuf_puts(b, "]");
		break;
	case JSON_OBJECT:
		keys = sorted_keys(v, &n);
		sbuf_puts(b, "map[");
		for (i = 0; i < n; i++) {
			if (i > 0)
				sbuf_puts(b, " ");
			sbuf_printf(b, "%s:", keys[i]);
			valstr(NULL, json_object_get(v, keys[i]), b);
		}
		sbuf_puts(b, "]");
		free(keys);
		break;
	}
}

char *
fmt_value(const char *key, json_t *v)
{
	struct sbuf	 b = { 0 };

	if (v == NULL)
		return xstrdup("<nil>");
	valstr(key, v, &b);
	return sbuf_take(&b);
}

static size_t
codepoints(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

void
fmt_row(json_t *rows, const char *k, const char *v)
{
	json_t	*r = json_array();

	json_array_append_new(r, json_string(k));
	json_array_append_new(r, json_string(v));
	json_array_append_new(rows, r);
}

void
fmt_table(json_t *rows, int headed)
{
	json_t		*row, *cells, *out;
	size_t		*w = NULL, ncol = 0, i, j, len;
	char		*c;
	const char	*s;

	out = json_array();
	json_array_foreach(rows, i, row) {
		cells = json_array();
		for (j = 0; j < json_array_size(row); j++) {
			s = json_string_value(json_array_get(row, j));
			c = trim(xstrdup(s != NULL ? s : ""));
			json_array_append_new(cells, json_string(*c == '\0' ?
			    "n/a" : c));
			wipefree(c);
		}
		json_array_append_new(out, cells);
		if (i == 0 && headed) {
			cells = json_array();
			for (j = 0; j < json_array_size(row); j++) {
				s = json_string_value(json_array_get(row, j));
				c = xstrdup(s != NULL ? s : "");
				memset(c, '-', strlen(c));
				json_array_append_new(cells, json_string(c));
				free(c);
			}
			json_array_append_new(out, cells);
		}
	}
	json_array_foreach(out, i, row)
		if (json_array_size(row) > ncol)
			ncol = json_array_size(row);
	w = xmalloc(sizeof(*w) * (ncol + 1));
	memset(w, 0, sizeof(*w) * (ncol + 1));
	json_array_foreach(out, i, row)
		for (j = 0; j < json_array_size(row); j++) {
			len = json_string_length(json_array_get(row, j));
			if (len > w[j])
				w[j] = len;
		}
	json_array_foreach(out, i, row) {
		for (j = 0; j < json_array_size(row); j++) {
			s = json_string_value(json_array_get(row, j));
			fputs(s, stdout);
			if (j + 1 < json_array_size(row))
				printf("%*s", (int)(w[j] - codepoints(s) + 4),
				    "");
		}
		putchar('\n');
	}
	free(w);
	json_decref(out);
}

void
fmt_objrows(json_t *rows, json_t *obj)
{
	const char	**keys;
	size_t		 n, i;
	char		*v;

	if (!json_is_object(obj))
		return;
	keys = sorted_keys(obj, &n);
	for (i = 0; i < n; i++) {
		v = fmt_value(keys[i], json_object_get(obj, keys[i]));
		fmt_row(rows, keys[i], v);
		wipefree(v);
	}
	free(keys);
}

/*
 * Greedy wrapping at width, continuation lines indented by ind; pre
 * and post (colour escapes or "") around the whole text.
 */
static void
wrap(FILE *fp, const char *text, size_t width, const char *first,
    const char *ind, const char *pre, const char *post)
{
	char	*copy, *w, *save = NULL;
	size_t	 col;

	copy = xstrdup(text);
	fputs(pre, fp);
	fputs(first, fp);
	col = strlen(first);
	for (w = strtok_r(copy, " \n", &save); w != NULL;
	    w = strtok_r(NULL, " \n", &save)) {
		if (col > strlen(first) && col + 1 + strlen(w) > width) {
			fprintf(fp, "\n%s", ind);
			col = strlen(ind);
		} else if (col > strlen(first)) {
			fputc(' ', fp);
			col++;
		}
		fputs(w, fp);
		col += strlen(w);
	}
	fputs(post, fp);
	fputc('\n', fp);
	free(copy);
}

void
cli_para(FILE *fp, const char *text)
{
	wrap(fp, text, 78, "", "", "", "");
}

void
cli_para_warn(const char *text)
{
	wrap(stderr, text, 78, "", "", cli_colour(1, 0), cli_colour(1, 1));
}

void
fmt_warnings(struct cli *cli, json_t *secret)
{
	json_t	*w = json_object_get(secret, "warnings"), *e;
	size_t	 i;

	if (strcmp(cli->format, "table") != 0 || json_array_size(w) == 0)
		return;
	cli_warn("WARNING! The following warnings were returned from "
	    "Vault:\n");
	json_array_foreach(w, i, e)
		if (json_is_string(e))
			wrap(stderr, json_string_value(e), 76, "  * ", "  ",
			    cli_colour(1, 0), cli_colour(1, 1));
	cli_warn("%s", "");
}

json_t *
fmt_sorted(json_t *v)
{
	const char	**keys;
	json_t		*o, *e;
	size_t		 n, i;

	if (json_is_object(v)) {
		keys = sorted_keys(v, &n);
		o = json_object();
		for (i = 0; i < n; i++)
			json_object_set_new(o, keys[i],
			    fmt_sorted(json_object_get(v, keys[i])));
		free(keys);
		return o;
	}
	if (json_is_array(v)) {
		o = json_array();
		json_array_foreach(v, i, e)
			json_array_append_new(o, fmt_sorted(e));
		return o;
	}
	return json_incref(v);
}

static json_t *
orz(json_t *v, json_t *dflt)
{
	if (v == NULL)
		return dflt;
	json_decref(dflt);
	return fmt_sorted(v);
}

json_t *
fmt_envelope(json_t *s)
{
	static const char *ak[] = { "client_token", "accessor", "policies",
	    "token_policies", "identity_policies", "metadata", "orphan",
	    "entity_id", "lease_duration", "renewable", "mfa_requirement",
	    NULL };
	static const char *wk[] = { "token", "accessor", "ttl",
	    "creation_time", "creation_path", "wrapped_accessor", NULL };
	json_t	*e, *a, *src, *dflt;
	size_t	 i;

	e = json_object();
	json_object_set_new(e, "request_id",
	    orz(json_object_get(s, "request_id"), json_string("")));
	json_object_set_new(e, "lease_id",
	    orz(json_object_get(s, "lease_id"), json_string("")));
	json_object_set_new(e, "lease_duration",
	    orz(json_object_get(s, "lease_duration"), json_integer(0)));
	json_object_set_new(e, "renewable",
	    orz(json_object_get(s, "renewable"), json_false()));
	json_object_set_new(e, "data",
	    orz(json_object_get(s, "data"), json_null()));
	json_object_set_new(e, "warnings",
	    orz(json_object_get(s, "warnings"), json_null()));
	if (json_is_object(src = json_object_get(s, "auth"))) {
		a = json_object();
		for (i = 0; ak[i] != NULL; i++) {
			if (strcmp(ak[i], "orphan") == 0 ||
			    strcmp(ak[i], "renewable") == 0)
				dflt = json_false();
			else if (strcmp(ak[i], "lease_duration") == 0)
				dflt = json_integer(0);
			else if (strcmp(ak[i], "client_token") == 0 ||
			    strcmp(ak[i], "accessor") == 0 ||
			    strcmp(ak[i], "entity_id") == 0)
				dflt = json_string("");
			else
				dflt = json_null();
			json_object_set_new(a, ak[i],
			    orz(json_object_get(src, ak[i]), dflt));
		}
		json_object_set_new(e, "auth", a);
	}
	if (json_is_object(src = json_object_get(s, "wrap_info"))) {
		a = json_object();
		for (i = 0; wk[i] != NULL; i++)
			json_object_set_new(a, wk[i],
			    orz(json_object_get(src, wk[i]),
			    strcmp(wk[i], "ttl") == 0 ? json_integer(0) :
			    json_string("")));
		json_object_set_new(e, "wrap_info", a);
	}
	return e;
}

int
fmt_doc(struct cli *cli, json_t *doc)
{
	struct sbuf	 b = { 0 };
	char		*s;

	if (strcmp(cli->format, "yaml") == 0 ||
	    strcmp(cli->format, "yml") == 0) {
		yaml_doc(doc, &b);
		s = trim(sbuf_take(&b));
		printf("%s\n", s);
		wipefree(s);
		return 0;
	}
	if (strcmp(cli->format, "pretty") == 0) {
		fputs("Could not parse output: cannot use the pretty "
		    "formatter for this type\n", stderr);
		return 1;
	}
	s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	    JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
	if (s == NULL) {
		fputs("Could not parse output: cannot encode JSON\n", stderr);
		return 1;
	}
	printf("%s\n", s);
	json_strfree(s);
	return 0;
}

static void
quoted_list(json_t *a, struct sbuf *b)
{
	json_t		*e;
	const char	*p;
	size_t		 i;

	sbuf_puts(b, "[");
	json_array_foreach(a, i, e) {
		if (i > 0)
			sbuf_puts(b, " ");
		sbuf_puts(b, "\"");
		for (p = json_string_value(e); p != NULL && *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				sbuf_printf(b, "\\%c", *p);
			else if ((unsigned char)*p < 0x20)
				sbuf_printf(b, "\\x%02x", (unsigned char)*p);
			else
				sbuf_add(b, p, 1);
		}
		sbuf_puts(b, "\"");
	}
	sbuf_puts(b, "]");
}

int
fmt_secret(struct cli *cli, json_t *s)
{
	static const char *pk[] = { "token_policies", "identity_policies",
	    "policies", NULL };
	json_t		*rows, *a, *w, *env;
	struct sbuf	 b = { 0 };
	const char	*lid;
	const char	**keys;
	long long	 ld;
	char		 h[64], *v;
	size_t		 i, n;
	int		 rc;

	if (strcmp(cli->format, "table") != 0) {
		env = fmt_envelope(s);
		rc = fmt_doc(cli, env);
		json_decref(env);
		return rc;
	}
	fmt_warnings(cli, s);
	rows = json_array();
	fmt_row(rows, "Key", "Value");
	ld = json_integer_value(json_object_get(s, "lease_duration"));
	lid = json_string_value(json_object_get(s, "lease_id"));
	if (ld > 0) {
		flags_human(ld, h, sizeof(h));
		if (lid != NULL && *lid != '\0') {
			fmt_row(rows, "lease_id", lid);
			fmt_row(rows, "lease_duration", h);
			fmt_row(rows, "lease_renewable", json_is_true(
			    json_object_get(s, "renewable")) ? "true" :
			    "false");
		} else
			fmt_row(rows, "refresh_interval", h);
	}
	if (json_is_object(a = json_object_get(s, "auth"))) {
		v = fmt_value(NULL, json_object_get(a, "client_token"));
		fmt_row(rows, "token", v);
		wipefree(v);
		v = fmt_value(NULL, json_object_get(a, "accessor"));
		fmt_row(rows, "token_accessor", v);
		free(v);
		ld = json_integer_value(json_object_get(a, "lease_duration"));
		if (ld == 0)
			snprintf(h, sizeof(h), "\xe2\x88\x9e");
		else
			flags_human(ld, h, sizeof(h));
		fmt_row(rows, "token_duration", h);
		fmt_row(rows, "token_renewable", json_is_true(
		    json_object_get(a, "renewable")) ? "true" : "false");
		for (i = 0; pk[i] != NULL; i++) {
			quoted_list(json_object_get(a, pk[i]), &b);
			fmt_row(rows, pk[i], sbuf_str(&b));
			sbuf_free(&b);
		}
		if (json_is_object(w = json_object_get(a, "metadata"))) {
			keys = sorted_keys(w, &n);
			for (i = 0; i < n; i++) {
				sbuf_printf(&b, "token_meta_%s", keys[i]);
				v = fmt_value(NULL, json_object_get(w,
				    keys[i]));
				fmt_row(rows, sbuf_str(&b), v);
				free(v);
				sbuf_free(&b);
			}
			free(keys);
		}
	}
	if (json_is_object(w = json_object_get(s, "wrap_info"))) {
		static const char *wk[][2] = {
		    { "token", "wrapping_token:" },
		    { "accessor", "wrapping_accessor:" },
		    { "ttl", "wrapping_token_ttl:" },
		    { "creation_time", "wrapping_token_creation_time:" },
		    { "creation_path", "wrapping_token_creation_path:" } };

		for (i = 0; i < 5; i++) {
			v = fmt_value(i == 2 ? "ttl" : NULL,
			    json_object_get(w, wk[i][0]));
			fmt_row(rows, wk[i][1], v);
			wipefree(v);
		}
		lid = json_string_value(json_object_get(w,
		    "wrapped_accessor"));
		if (lid != NULL && *lid != '\0')
			fmt_row(rows, "wrapped_accessor:", lid);
	}
	fmt_objrows(rows, json_object_get(s, "data"));
	if (json_array_size(rows) > 1)
		fmt_table(rows, 1);
	json_decref(rows);
	return 0;
}

json_t *
fmt_field_value(json_t *s, const char *name, json_t **tmp)
{
	static const char *af[][2] = { { "token", "client_token" },
	    { "token_accessor", "accessor" },
	    { "token_duration", "lease_duration" },
	    { "token_renewable", "renewable" },
	    { "token_policies", "token_policies" },
	    { "identity_policies", "identity_policies" },
	    { "policies", "policies" }, { NULL, NULL } };
	static const char *wf[][2] = { { "wrapping_token", "token" },
	    { "wrapping_accessor", "accessor" },
	    { "wrapping_token_ttl", "ttl" },
	    { "wrapping_token_creation_time", "creation_time" },
	    { "wrapping_token_creation_path", "creation_path" },
	    { "wrapped_accessor", "wrapped_accessor" }, { NULL, NULL } };
	static const char *top[] = { "lease_duration", "lease_id",
	    "request_id", "renewable", NULL };
	json_t	*a, *d;
	size_t	 i;

	*tmp = NULL;
	d = json_object_get(s, "data");
	if (json_is_object(a = json_object_get(s, "auth"))) {
		for (i = 0; af[i][0] != NULL; i++)
			if (strcmp(name, af[i][0]) == 0)
				return json_object_get(a, af[i][1]);
	} else if (json_is_object(a = json_object_get(s, "wrap_info"))) {
		for (i = 0; wf[i][0] != NULL; i++)
			if (strcmp(name, wf[i][0]) == 0)
				return json_object_get(a, wf[i][1]);
	} else {
		for (i = 0; top[i] != NULL; i++)
			if (strcmp(name, top[i]) == 0)
				return json_object_get(s, top[i]);
		if (strcmp(name, "refresh_interval") == 0)
			return json_object_get(s, "lease_duration");
		if (strcmp(name, "data") == 0)
			return json_object_get(d, "data") != NULL ?
			    json_object_get(d, "data") : d;
	}
	return json_object_get(d, name);
}

int
fmt_field(struct cli *cli, json_t *s, const char *name)
{
	json_t	*tmp, *v;
	char	*str;
	int	 rc = 0;

	v = fmt_field_value(s, name, &tmp);
	if (v == NULL || json_is_null(v)) {
		cli_error("Field \"%s\" not present in secret", name);
		json_decref(tmp);
		return 1;
	}
	if (strcmp(cli->format, "table") == 0 ||
	    strcmp(cli->format, "raw") == 0) {
		str = fmt_value(NULL, v);
		fputs(str, stdout);
		if (cli->color)
			putchar('\n');
		wipefree(str);
	} else {
		v = fmt_sorted(v);
		rc = fmt_doc(cli, v);
		json_decref(v);
	}
	json_decref(tmp);
	return rc;
}

int
fmt_list(struct cli *cli, json_t *s, const char *path)
{
	json_t		*keys = json_object_get(json_object_get(s, "data"),
			    "keys"), *rows, *e, *info, *cols;
	const char	**k, **ck;
	size_t		 i, j, n = 0, nc;

	(void)path;
	if (strcmp(cli->format, "table") != 0)
		return fmt_doc(cli, cli->detailed ? s : keys);
	fmt_warnings(cli, s);
	k = xmalloc(sizeof(*k) * (json_array_size(keys) + 1));
	json_array_foreach(keys, i, e) {
		if (!json_is_string(e)) {
			char *v = fmt_value(NULL, e);

			fprintf(stderr, "Could not parse output: %s is not a "
			    "string\n", v);
			free(v);
			free(k);
			return 1;
		}
		k[n++] = json_string_value(e);
	}
	qsort(k, n, sizeof(*k), cmpstr);
	info = json_object_get(json_object_get(s, "data"), "key_info");
	cols = json_object();
	if (cli->detailed && json_is_object(info))
		for (i = 0; i < n; i++) {
			const char	*f;
			json_t		*fv;

			json_object_foreach(json_object_get(info, k[i]), f, fv)
				json_object_set_new(cols, f, json_true());
		}
	ck = sorted_keys(cols, &nc);
	rows = json_array();
	e = json_array();
	json_array_append_new(e, json_string("Keys"));
	for (j = 0; j < nc; j++)
		json_array_append_new(e, json_string(ck[j]));
	json_array_append_new(rows, e);
	for (i = 0; i < n; i++) {
		json_t	*ki = json_object_get(info, k[i]), *cv;

		e = json_array();
		json_array_append_new(e, json_string(k[i]));
		for (j = 0; j < nc; j++) {
			char	*v;

			cv = json_object_get(ki, ck[j]);
			v = cv != NULL ? fmt_value(ck[j], cv) : xstrdup("n/a");
			json_array_append_new(e, json_string(v));
			free(v);
		}
		json_array_append_new(rows, e);
	}
	fmt_table(rows, 1);
	json_decref(rows);
	json_decref(cols);
	free(ck);
	free(k);
	return 0;
}

void
fmt_header(const char *title, size_t total)
{
	long	 e = (long)total - (long)strlen(title) - 2;
	long	 i;

	if (e <= 0)
		e = 4;
	if (e % 2 == 1)
		e++;
	for (i = 0; i < e / 2; i++)
		putchar('=');
	printf(" %s ", title);
	for (i = 0; i < e / 2; i++)
		putchar('=');
	putchar('\n');
}
