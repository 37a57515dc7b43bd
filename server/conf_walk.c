/*
 * conf_walk.c -- reading the values of a parsed configuration tree:
 * strings, booleans, numbers and durations as Vault takes them, each
 * error reported as "FILE:LINE: message" and counted.  The blocks are
 * walked by conf.c (the top level and storage) and conf_listener.c.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "conf_walk.h"
#include "err.h"
#include "hcl.h"
#include "timeutil.h"

void
conf_walk_error(struct conf_walk *w, int line, const char *fmt, ...)
{
	va_list	 ap;

	(void)!buf_printf(w->errs, "%s:%d: ", w->file, line);
	va_start(ap, fmt);
	(void)!buf_vprintf_cut(w->errs, 512, fmt, ap);
	va_end(ap);
	(void)!buf_puts(w->errs, "\n");
	w->nerr++;
}

int
conf_walk_string(struct conf_walk *w, const struct hcl_node *n, char **out)
{
	if (n->type != HCL_STRING) {
		conf_walk_error(w, n->line, "%s must be a string, not a %s",
		    n->key, hcl_type_name(n->type));
		return -1;
	}
	free(*out);
	if ((*out = strdup(n->str)) == NULL) {
		conf_walk_error(w, n->line, "out of memory");
		return -1;
	}
	return 0;
}

/* Vault accepts true, "true", 1 and "1" alike. */
int
conf_walk_bool(struct conf_walk *w, const struct hcl_node *n, int *out)
{
	if (n->type == HCL_BOOL) {
		*out = n->boolean;
		return 0;
	}
	if (n->type == HCL_STRING || n->type == HCL_NUMBER) {
		if (strcasecmp(n->str, "true") == 0 ||
		    strcmp(n->str, "1") == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(n->str, "false") == 0 ||
		    strcmp(n->str, "0") == 0) {
			*out = 0;
			return 0;
		}
	}
	conf_walk_error(w, n->line, "%s must be true or false", n->key);
	return -1;
}

int
conf_walk_int(struct conf_walk *w, const struct hcl_node *n, long long min,
    long long max, long long *out)
{
	const char	*errstr;

	if (n->type == HCL_NUMBER || n->type == HCL_STRING) {
		*out = strtonum(n->str, min, max, &errstr);
		if (errstr == NULL)
			return 0;
		conf_walk_error(w, n->line, "%s is %s (%lld to %lld): %s",
		    n->key, errstr, min, max, n->str);
		return -1;
	}
	conf_walk_error(w, n->line, "%s must be a number", n->key);
	return -1;
}

int
conf_walk_duration(struct conf_walk *w, const struct hcl_node *n,
    long long *out)
{
	if (n->type == HCL_NUMBER || n->type == HCL_STRING) {
		if (duration_parse(n->str, out) == CF_OK)
			return 0;
	}
	conf_walk_error(w, n->line, "%s must be a duration such as \"768h\", "
	    "\"30m\" or a number of seconds", n->key);
	return -1;
}
