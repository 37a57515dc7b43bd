/*
 * request.c -- one request of a command with its error message; see
 * request.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "format.h"
#include "request.h"
#include "util.h"

static int	 vrequest(struct cli *, struct client **, const char *,
		    const char *, json_t *, json_t *, int, json_t **,
		    const char *, va_list)
		    __attribute__((format(printf, 9, 0)));

static int
vrequest(struct cli *cli, struct client **cp, const char *method,
    const char *path, json_t *query, json_t *body, int read,
    json_t **secret, const char *what, va_list ap)
{
	va_list	 aq;
	char	*err = NULL, *w;
	int	 n;

	if (*cp == NULL && (*cp = cli_client(cli, 0)) == NULL)
		return 2;
	if (client_logical(*cp, method, path, query, body, read, secret,
	    &err) == 0)
		return 0;
	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, what, aq);
	va_end(aq);
	w = xmalloc(n > 0 ? (size_t)n + 1 : 1);
	(void)vsnprintf(w, n > 0 ? (size_t)n + 1 : 1, what, ap);
	cli_error("%s: %s", w, err != NULL ? err : "");
	wipefree(w);
	wipefree(err);
	return 2;
}

int
request(struct cli *cli, struct client **cp, const char *method,
    const char *path, json_t *query, json_t *body, int read,
    json_t **secret, const char *what, ...)
{
	va_list	 ap;
	int	 rc;

	va_start(ap, what);
	rc = vrequest(cli, cp, method, path, query, body, read, secret,
	    what, ap);
	va_end(ap);
	return rc;
}

int
request_read(struct cli *cli, struct client **cp, const char *path,
    json_t *query, json_t **secret, const char *what, ...)
{
	va_list	 ap;
	int	 rc;

	va_start(ap, what);
	rc = vrequest(cli, cp, "GET", path, query, NULL, 1, secret, what,
	    ap);
	va_end(ap);
	if (rc == 0 && *secret == NULL) {
		cli_error("No value found at %s", path);
		rc = 2;
	}
	return rc;
}

int
request_list(struct cli *cli, struct client **cp, const char *path,
    int bare)
{
	json_t	*q, *s = NULL, *d;
	int	 rc;

	q = json_pack("{s:s}", "list", "true");
	if ((rc = request(cli, cp, "GET", path, q, NULL, 1, &s,
	    "Error listing %s", path)) != 0)
		goto out;
	rc = 2;
	if (s == NULL) {
		if (strcmp(cli->format, "table") != 0)
			puts("{}");
		else
			cli_error("No value found at %s", path);
		goto out;
	}
	d = json_object_get(s, "data");
	if (bare && (d == NULL || json_is_null(d)))
		rc = fmt_secret(cli, s);
	else if (!json_is_array(json_object_get(d, "keys")))
		cli_error("No entries found at %s", path);
	else
		rc = fmt_list(cli, s, path);
 out:
	json_decref(q);
	json_decref(s);
	return rc;
}

int
request_data(struct cli *cli, struct client **cp, const char *path,
    json_t **data, const char *what)
{
	json_t	*s = NULL;
	int	 rc;

	*data = NULL;
	if ((rc = request(cli, cp, "GET", path, NULL, NULL, 0, &s, "%s",
	    what)) != 0)
		return rc;
	*data = json_incref(json_object_get(s, "data"));
	json_decref(s);
	if (!json_is_object(*data)) {
		json_decref(*data);
		*data = json_object();
	}
	return 0;
}
